//! A session runs a script: `SET` and `CREATE TABLE` build its catalog, every `INSERT INTO`
//! and query is planned and validated before the first job starts, then jobs run in order.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use weir_api::{JobMetrics, RunReport, SinkReport, Span};

use crate::connectors::{open_sink, open_source, validate, Role, Sink};
use crate::plan::{conform_to_sink, plan_query, PlannedQuery};
use crate::sql::query::parse_query;
use crate::sql::{parse_script, Statement, TableDef};
use crate::{Error, Result, RunOptions};

/// A planned job: a query and where its rows go.
struct Job {
    query: PlannedQuery,
    target: Target,
    config: crate::job::JobConfig,
}

enum Target {
    Table(TableDef),
    /// An ad-hoc query: rows are collected (and printed by the CLI).
    Collect,
}

/// What a script does once planned, in order.
enum Step {
    Run(Box<Job>),
    /// EXPLAIN: the plan's text is the result; nothing runs.
    Explain(String),
}

/// Keeps the rows of an ad-hoc query.
#[derive(Default)]
pub struct CollectSink {
    pub batches: Vec<RecordBatch>,
    rows: u64,
}

impl Sink for CollectSink {
    fn write_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        self.rows += batch.num_rows() as u64;
        // A changelog shows its row kinds as a leading `op` column, as Flink's SQL client does.
        self.batches
            .push(crate::operators::group_aggregate::for_display(batch));
        Ok(())
    }
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
    fn report(&self) -> SinkReport {
        SinkReport {
            table: "(query)".into(),
            connector: "collect".into(),
            rows_written: self.rows,
            duckdb: None,
        }
    }
}

/// The result of an ad-hoc query.
pub struct QueryResult {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    /// For EXPLAIN: the plan as text (also the single row of `batches`).
    pub plan: Option<String>,
}

/// A planned EXPLAIN: its text is the result.
fn explain_result(text: String) -> Result<QueryResult> {
    let schema = Arc::new(arrow::datatypes::Schema::new(vec![
        arrow::datatypes::Field::new("plan", arrow::datatypes::DataType::Utf8, false),
    ]));
    let column: arrow::array::ArrayRef =
        Arc::new(arrow::array::StringArray::from(vec![text.clone()]));
    let batch = RecordBatch::try_new(schema.clone(), vec![column])
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(QueryResult {
        schema,
        batches: vec![batch],
        plan: Some(text),
    })
}

/// Runs scripts against a catalog of declared tables.
pub struct Session {
    options: RunOptions,
    tables: HashMap<String, TableDef>,
    config: BTreeMap<String, String>,
}

impl Session {
    pub fn new(options: RunOptions) -> Self {
        Self {
            options,
            tables: HashMap::new(),
            config: BTreeMap::new(),
        }
    }

    /// Where relative paths of the next scripts resolve (a session that ran an init script
    /// from another folder, as `weir run -i` does).
    pub fn set_base_dir(&mut self, dir: std::path::PathBuf) {
        self.options.base_dir = dir;
    }

    /// The value of a `SET` key.
    pub fn config(&self, key: &str) -> Option<&str> {
        self.config.get(key).map(String::as_str)
    }

    /// Runs every statement of `text`. Nothing runs unless the whole script plans.
    pub fn execute(&mut self, text: &str) -> Result<RunReport> {
        let (report, _) = self.execute_collect(text)?;
        Ok(report)
    }

    /// Like [`Session::execute`], also returning the rows of ad-hoc queries.
    pub fn execute_collect(&mut self, text: &str) -> Result<(RunReport, Vec<QueryResult>)> {
        let started = Instant::now();
        let statements = parse_script(text, &self.options.vars)?;
        // Plan everything first against a copy of the catalog.
        let mut tables = self.tables.clone();
        let mut config = self.config.clone();
        let mut jobs = Vec::new();
        for statement in &statements {
            match statement {
                Statement::Set { key, value, span } => {
                    check_set(key, value, *span)?;
                    config.insert(key.clone(), value.clone());
                }
                Statement::Reset { key, .. } => match key {
                    Some(k) => {
                        config.remove(k);
                    }
                    None => config.clear(),
                },
                Statement::CreateTable(def) => {
                    if tables.contains_key(&def.name) {
                        if def.if_not_exists {
                            continue;
                        }
                        return Err(Error::Sql {
                            message: format!("table '{}' already exists", def.name),
                            span: def.span,
                        });
                    }
                    tables.insert(def.name.clone(), (**def).clone());
                }
                Statement::Insert {
                    target,
                    target_span,
                    query,
                    ..
                } => {
                    let sink = tables.get(target).cloned().ok_or_else(|| Error::Sql {
                        message: format!("table '{target}' is not declared: add CREATE TABLE {target} (...) WITH (...)"),
                        span: *target_span,
                    })?;
                    validate(&sink, Role::Sink)?;
                    let mut planned = self.plan(query.clone(), &tables, &config)?;
                    conform_to_sink(&mut planned, &sink, *target_span)?;
                    jobs.push(Step::Run(Box::new(Job {
                        query: planned,
                        target: Target::Table(sink),
                        config: self.job_config(&config),
                    })));
                }
                Statement::Explain { inner, .. } => {
                    jobs.push(Step::Explain(
                        self.explain_statement(inner, &tables, &config)?,
                    ));
                }
                Statement::Query { query, .. } => {
                    let planned = self.plan(query.clone(), &tables, &config)?;
                    jobs.push(Step::Run(Box::new(Job {
                        query: planned,
                        target: Target::Collect,
                        config: self.job_config(&config),
                    })));
                }
            }
        }
        self.tables = tables;
        self.config = config;
        let mut report = RunReport {
            statements: statements.len(),
            ..RunReport::default()
        };
        let mut results = Vec::new();
        for step in jobs {
            let job = match step {
                Step::Run(job) => *job,
                Step::Explain(text) => {
                    results.push(explain_result(text)?);
                    continue;
                }
            };
            let mut metrics = JobMetrics::default();
            let base_dir = self.options.base_dir.clone();
            let open = move |def: &TableDef| open_source(def, &base_dir);
            let schema = job.query.schema.clone();
            let (preview, sink_report, collected) = guard(|| match &job.target {
                Target::Table(def) => {
                    let mut sink =
                        open_sink(def, &self.options.base_dir, self.options.print_to_stdout)?;
                    let preview = crate::job::run(
                        job.query,
                        &open,
                        sink.as_mut(),
                        &job.config,
                        &mut metrics,
                    )?;
                    Ok((preview, Some(sink.report()), None))
                }
                Target::Collect => {
                    let mut sink = CollectSink::default();
                    let preview =
                        crate::job::run(job.query, &open, &mut sink, &job.config, &mut metrics)?;
                    Ok((preview, None, Some(sink.batches)))
                }
            })?;
            add_metrics(&mut report.metrics, &metrics);
            if let Some(r) = sink_report {
                report.sinks.push(r);
            }
            if let Some(batches) = collected {
                results.push(QueryResult {
                    schema,
                    batches,
                    plan: None,
                });
            }
            report.preview = Some(preview);
        }
        report.elapsed_ms = started.elapsed().as_millis() as u64;
        Ok((report, results))
    }

    /// The job settings in force after the `SET`s so far.
    fn job_config(&self, config: &BTreeMap<String, String>) -> crate::job::JobConfig {
        let watermark_interval_ms = config
            .get(WATERMARK_INTERVAL)
            .and_then(|v| parse_duration_ms(v))
            .unwrap_or(200);
        let duration = |key: &str| {
            config
                .get(key)
                .and_then(|v| parse_duration_ms(v))
                .filter(|ms| *ms > 0)
                .map(|ms| std::time::Duration::from_millis(ms as u64))
        };
        crate::job::JobConfig {
            preview_rows: self.options.preview_rows,
            watermark_interval_ms,
            idle_timeout: duration(IDLE_TIMEOUT),
            checkpoint_interval: duration(CHECKPOINT_INTERVAL),
            control: self.options.control.clone(),
        }
    }

    /// Planning settings in force after the `SET`s so far.
    fn plan_options(config: &BTreeMap<String, String>) -> crate::plan::PlanOptions {
        let state_ttl = config
            .get(STATE_TTL)
            .and_then(|v| parse_duration_ms(v))
            .filter(|ms| *ms > 0)
            .map(|ms| std::time::Duration::from_millis(ms as u64));
        crate::plan::PlanOptions { state_ttl }
    }

    fn plan(
        &self,
        tokens: Vec<datafusion::sql::sqlparser::tokenizer::TokenWithSpan>,
        tables: &HashMap<String, TableDef>,
        config: &BTreeMap<String, String>,
    ) -> Result<PlannedQuery> {
        let parsed = parse_query(tokens)?;
        let planned = plan_query(&parsed, tables, &Self::plan_options(config))?;
        for def in planned.source.tables() {
            validate(def, Role::Source)?;
        }
        Ok(planned)
    }

    /// The streaming plan of every query in a script, as EXPLAIN prints it; DDL and SET
    /// statements are applied to the session on the way.
    pub fn explain_script(&mut self, text: &str) -> Result<Vec<String>> {
        let mut plans = Vec::new();
        for statement in parse_script(text, &self.options.vars)? {
            match statement {
                Statement::CreateTable(def) => {
                    self.tables.insert(def.name.clone(), *def);
                }
                Statement::Set { key, value, .. } => {
                    self.config.insert(key, value);
                }
                Statement::Reset { .. } => {}
                Statement::Explain { inner, .. } => {
                    plans.push(self.explain_statement(&inner, &self.tables, &self.config)?)
                }
                other => plans.push(self.explain_statement(&other, &self.tables, &self.config)?),
            }
        }
        Ok(plans)
    }

    /// The streaming plan of an INSERT or a query.
    fn explain_statement(
        &self,
        statement: &Statement,
        tables: &HashMap<String, TableDef>,
        config: &BTreeMap<String, String>,
    ) -> Result<String> {
        match statement {
            Statement::Insert {
                target,
                target_span,
                query,
                ..
            } => {
                let sink = tables.get(target).cloned().ok_or_else(|| Error::Sql {
                    message: format!("table '{target}' is not declared"),
                    span: *target_span,
                })?;
                let mut planned = self.plan(query.clone(), tables, config)?;
                conform_to_sink(&mut planned, &sink, *target_span)?;
                Ok(format!(
                    "{planned}Sink: {} ({})",
                    sink.name,
                    sink.option("connector").map(|(c, _)| c).unwrap_or("?")
                ))
            }
            Statement::Query { query, .. } => Ok(format!(
                "{}Sink: (query result)",
                self.plan(query.clone(), tables, config)?
            )),
            other => Err(Error::Sql {
                message: "EXPLAIN needs a query or an INSERT".into(),
                span: other.span(),
            }),
        }
    }
}

/// `SET` keys that change results and that Weir does not honour yet are refused rather than
/// silently ignored. Keys that only tune Flink's runtime (parallelism, checkpointing, state
/// backends, mini-batching) and unknown keys are accepted, as Flink accepts them.
const WATERMARK_INTERVAL: &str = "pipeline.auto-watermark-interval";
const STATE_TTL: &str = "table.exec.state.ttl";
const IDLE_TIMEOUT: &str = "table.exec.source.idle-timeout";
const CHECKPOINT_INTERVAL: &str = "execution.checkpointing.interval";

/// A Flink duration (`200ms`, `200 ms`, `1s`, `2 min`, `1h`, a bare number of milliseconds).
pub fn parse_duration_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let amount: i64 = text[..digits].parse().ok()?;
    let unit = match text[digits..].trim().to_ascii_lowercase().as_str() {
        "" | "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1,
        "s" | "sec" | "secs" | "second" | "seconds" => 1_000,
        "m" | "min" | "mins" | "minute" | "minutes" => 60_000,
        "h" | "hour" | "hours" => 3_600_000,
        "d" | "day" | "days" => 86_400_000,
        _ => return None,
    };
    amount.checked_mul(unit)
}

fn check_set(key: &str, value: &str, span: Span) -> Result<()> {
    const UTC: &[&str] = &["UTC", "Z", "GMT", "Etc/UTC", "+00:00", "UTC+00:00"];
    match key {
        WATERMARK_INTERVAL | STATE_TTL | IDLE_TIMEOUT | CHECKPOINT_INTERVAL
            if parse_duration_ms(value).is_none() =>
        {
            Err(Error::Sql {
                message: format!(
                    "'{key}': cannot read '{value}' as a duration such as '200ms' or '1s'"
                ),
                span,
            })
        }
        "table.local-time-zone" if !UTC.iter().any(|z| z.eq_ignore_ascii_case(value.trim())) => {
            Err(Error::Unsupported {
                construct: format!("'table.local-time-zone' = '{value}' (Weir runs in UTC)"),
                span,
            })
        }
        "table.exec.emit.early-fire.enabled" | "table.exec.emit.late-fire.enabled"
            if value.trim() == "true" =>
        {
            Err(Error::Unsupported {
                construct: format!("'{key}' (early/late window firing)"),
                span,
            })
        }
        _ => Ok(()),
    }
}

/// Runs a job; a panic inside it (a bug in Weir or a library) becomes an error instead of
/// taking the process down.
fn guard<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Err(Error::Internal(format!("the job stopped on a bug: {what}")))
        }
    }
}

fn add_metrics(total: &mut JobMetrics, m: &JobMetrics) {
    total.rows_read += m.rows_read;
    total.parse_errors_skipped += m.parse_errors_skipped;
    total.late_rows_dropped += m.late_rows_dropped;
    total.rows_written += m.rows_written;
    total.windows_fired += m.windows_fired;
}
