//! A session runs a script: `SET`, `CREATE TABLE`, `CREATE CATALOG` and `USE` build its
//! catalog, every `INSERT INTO` and query is planned and validated before the first job
//! starts, then catalog tables are created and jobs run, in order.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan};
use weir_api::{JobMetrics, RunReport, SinkReport, Span};

use crate::catalog::{CatalogDef, Catalogs};
use crate::connectors::{open_sink, open_source, resolve_path, validate, Role, Sink};
use crate::operators::late::LateRowsSink;
use crate::plan::{conform_to_sink, plan_query, PlannedQuery};
use crate::sql::query::parse_query;
use crate::sql::{parse_script, span_of, Statement, TableDef};
use crate::{Error, Result, RunOptions};

/// A planned job: a query and where its rows go.
struct Job {
    query: PlannedQuery,
    target: Target,
    config: crate::job::JobConfig,
    /// The statement set the INSERT belongs to: the jobs of one set run together.
    set: Option<Span>,
    /// `weir.late-rows.table`: the table late rows go to, and which late-row column each of
    /// its columns takes.
    late: Option<TableDef>,
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
    /// `CREATE TABLE` in a catalog: the table is created in the catalog's DuckDB file.
    CreateCatalogTable(Box<TableDef>),
    /// `CREATE DATABASE` in a catalog: a schema in its DuckDB file.
    CreateDatabase(Box<CatalogDef>, String),
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

/// What names resolve to while a script is planned: the session's tables, settings and
/// catalogs, copied so that a script that fails to plan changes nothing.
#[derive(Clone, Default)]
struct State {
    tables: HashMap<String, TableDef>,
    /// Views: their column names (empty: the query's own) and query.
    views: HashMap<String, (Vec<String>, Vec<TokenWithSpan>)>,
    config: BTreeMap<String, String>,
    catalogs: Catalogs,
}

impl State {
    /// The table `name` names: a session table (Flink's `default_catalog`), else a catalog
    /// table; `None` when no catalog applies and no session table has that name. Errors
    /// (undeclared catalog, missing catalog table) point at `span`.
    fn resolve(&self, name: &str, span: Span) -> Result<Option<TableDef>> {
        if let Some(def) = self.tables.get(Catalogs::session_name(name)) {
            return Ok(Some(def.clone()));
        }
        let Some(location) = self.catalogs.locate(name, span)? else {
            return Ok(None);
        };
        match self.catalogs.lookup(&location, span)? {
            Some(def) => Ok(Some(def)),
            None => Err(Error::Sql {
                message: format!(
                    "table '{}' does not exist in catalog '{}' ({}): create it with CREATE TABLE {} (...), in the script or in an init file (weir run -i)",
                    location.name(),
                    location.catalog.name,
                    location.catalog.path.display(),
                    location.name()
                ),
                span,
            }),
        }
    }

    /// The table an INSERT writes to.
    fn sink(&self, target: &str, span: Span) -> Result<TableDef> {
        self.resolve(target, span)?.ok_or_else(|| Error::Sql {
            message: format!(
                "table '{target}' is not declared: add CREATE TABLE {target} (...) WITH (...)"
            ),
            span,
        })
    }
}

/// How a script is taken.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Planned and run.
    Run,
    /// An init file (`weir run -i`): settings and definitions only, run.
    Init,
    /// Planned for EXPLAIN: catalog tables are not created, jobs do not run.
    Explain,
}

/// Runs scripts against a catalog of declared tables.
pub struct Session {
    options: RunOptions,
    state: State,
}

impl Session {
    pub fn new(options: RunOptions) -> Self {
        Self {
            options,
            state: State::default(),
        }
    }

    /// The value of a `SET` key.
    pub fn config(&self, key: &str) -> Option<&str> {
        self.state.config.get(key).map(String::as_str)
    }

    /// The folder relative paths of the next scripts resolve against (an init file's and the
    /// job's folders may differ). Tables and catalogs already declared keep their paths.
    pub fn set_base_dir(&mut self, dir: PathBuf) {
        self.options.base_dir = dir;
    }

    /// Runs every statement of `text`. Nothing runs unless the whole script plans.
    pub fn execute(&mut self, text: &str) -> Result<RunReport> {
        let (report, _) = self.execute_collect(text)?;
        Ok(report)
    }

    /// Runs an init file, as Flink's SQL client does with `-i`: `SET`, `CREATE` and `USE`
    /// statements that prepare the session; an INSERT or a query is an error at its position.
    pub fn execute_init(&mut self, text: &str) -> Result<RunReport> {
        let statements = parse_script(text, &self.options.vars)?;
        let (report, _) = self.run_statements(&statements, Mode::Init)?;
        Ok(report)
    }

    /// Like [`Session::execute`], also returning the rows of ad-hoc queries.
    pub fn execute_collect(&mut self, text: &str) -> Result<(RunReport, Vec<QueryResult>)> {
        let statements = parse_script(text, &self.options.vars)?;
        self.run_statements(&statements, Mode::Run)
    }

    /// The streaming plan of every query and INSERT in a script, as EXPLAIN prints it. The
    /// script's definitions are applied to the session (catalog tables are remembered, not
    /// created); nothing runs.
    pub fn explain_script(&mut self, text: &str) -> Result<Vec<String>> {
        let statements = parse_script(text, &self.options.vars)?;
        let mut state = self.state.clone();
        let steps = self.plan_statements(&statements, &mut state, Mode::Explain)?;
        self.state = state;
        Ok(steps
            .into_iter()
            .filter_map(|step| match step {
                Step::Run(job) => Some(describe(&job)),
                Step::Explain(text) => Some(text),
                Step::CreateCatalogTable(_) | Step::CreateDatabase(..) => None,
            })
            .collect())
    }

    /// An init file's statements prepare the session and print nothing: the same check as
    /// [`Session::execute_init`], for `weir run -i ... --explain`.
    pub fn explain_init(&mut self, text: &str) -> Result<()> {
        let statements = parse_script(text, &self.options.vars)?;
        check_init(&statements)?;
        self.explain_script(text).map(|_| ())
    }

    fn run_statements(
        &mut self,
        statements: &[Statement],
        mode: Mode,
    ) -> Result<(RunReport, Vec<QueryResult>)> {
        let started = Instant::now();
        if mode == Mode::Init {
            check_init(statements)?;
        }
        // Plan everything first against a copy of the session's state.
        let mut state = self.state.clone();
        let steps = self.plan_statements(statements, &mut state, mode)?;
        self.state = state;
        let mut report = RunReport {
            statements: statements.len(),
            ..RunReport::default()
        };
        let mut results = Vec::new();
        let mut steps = steps.into_iter().peekable();
        while let Some(step) = steps.next() {
            let job = match step {
                Step::Run(job) => *job,
                Step::Explain(text) => {
                    results.push(explain_result(text)?);
                    continue;
                }
                Step::CreateCatalogTable(def) => {
                    crate::duckdb_sink::create_table(&def, &self.options.base_dir)?;
                    continue;
                }
                Step::CreateDatabase(catalog, database) => {
                    crate::duckdb_sink::create_schema(&catalog.path, &database)?;
                    continue;
                }
            };
            // The INSERTs of one statement set run together, each on a thread of its own (as
            // Flink runs them as one job): unbounded ones could not run one after the other.
            let mut jobs = vec![job];
            while let Some(Step::Run(next)) = steps.peek() {
                if jobs[0].set.is_none() || next.set != jobs[0].set {
                    break;
                }
                if let Some(Step::Run(next)) = steps.next() {
                    jobs.push(*next);
                }
            }
            let base_dir = self.options.base_dir.as_path();
            let print = self.options.print_to_stdout;
            let outcomes: Vec<Result<JobOutcome>> = if jobs.len() == 1 {
                jobs.into_iter()
                    .map(|job| run_job(job, base_dir, print))
                    .collect()
            } else {
                std::thread::scope(|scope| {
                    let handles: Vec<_> = jobs
                        .into_iter()
                        .map(|job| scope.spawn(move || run_job(job, base_dir, print)))
                        .collect();
                    handles
                        .into_iter()
                        .map(|h| {
                            h.join().unwrap_or_else(|_| {
                                Err(Error::Internal("a job's thread stopped on a bug".into()))
                            })
                        })
                        .collect()
                })
            };
            for outcome in outcomes {
                let outcome = outcome?;
                report.metrics.add(&outcome.metrics);
                report.sinks.extend(outcome.sink_reports);
                if let Some(batches) = outcome.collected {
                    results.push(QueryResult {
                        schema: outcome.schema,
                        batches,
                        plan: None,
                    });
                }
                report.preview = Some(outcome.preview);
            }
        }
        report.elapsed_ms = started.elapsed().as_millis() as u64;
        Ok((report, results))
    }

    /// Plans `statements` in order against `state`, which they update.
    fn plan_statements(
        &self,
        statements: &[Statement],
        state: &mut State,
        mode: Mode,
    ) -> Result<Vec<Step>> {
        let mut steps = Vec::new();
        for statement in statements {
            match statement {
                Statement::Set { key, value, span } => {
                    check_set(key, value, *span)?;
                    state.config.insert(key.clone(), value.clone());
                }
                Statement::Reset { key, .. } => match key {
                    Some(k) => {
                        state.config.remove(k);
                    }
                    None => state.config.clear(),
                },
                Statement::CreateCatalog(decl) => {
                    state.catalogs.define(decl, &self.options.base_dir)?;
                }
                Statement::CreateDatabase {
                    name,
                    if_not_exists,
                    span,
                } => {
                    if let Some((catalog, database)) =
                        state
                            .catalogs
                            .create_database(name, *if_not_exists, *span)?
                    {
                        if mode != Mode::Explain {
                            steps.push(Step::CreateDatabase(Box::new(catalog), database));
                        }
                    }
                }
                Statement::Use {
                    catalog,
                    name,
                    span,
                } => state.catalogs.use_name(*catalog, name, *span)?,
                Statement::CreateTable(def) => {
                    // A table without a connector, outside TEMPORARY, belongs to the current
                    // or named catalog, as in Flink.
                    let location = if def.temporary || def.option("connector").is_some() {
                        None
                    } else {
                        state.catalogs.locate(&def.name, def.span)?
                    };
                    if let Some(location) = location {
                        if let Some(created) = state.catalogs.create(def, &location)? {
                            if mode != Mode::Explain {
                                steps.push(Step::CreateCatalogTable(Box::new(created)));
                            }
                        }
                        continue;
                    }
                    let name = Catalogs::session_name(&def.name).to_string();
                    if state.tables.contains_key(&name) {
                        if def.if_not_exists {
                            continue;
                        }
                        return Err(Error::Sql {
                            message: format!("table '{}' already exists", def.name),
                            span: def.span,
                        });
                    }
                    let mut def = (**def).clone();
                    def.name = name.clone();
                    self.anchor_paths(&mut def);
                    state.tables.insert(name, def);
                }
                Statement::Insert {
                    target,
                    target_span,
                    query,
                    statement_set,
                    ..
                } => {
                    let sink = state.sink(target, *target_span)?;
                    validate(&sink, Role::Sink)?;
                    let mut planned = self.plan(query, state)?;
                    conform_to_sink(&mut planned, &sink, *target_span)?;
                    let late = late_rows_target(&mut planned, state, *target_span)?;
                    steps.push(Step::Run(Box::new(Job {
                        query: planned,
                        target: Target::Table(sink),
                        config: self.job_config(&state.config),
                        set: *statement_set,
                        late,
                    })));
                }
                Statement::CreateView {
                    name,
                    columns,
                    query,
                    if_not_exists,
                    span,
                } => {
                    if state.views.contains_key(name) || state.tables.contains_key(name) {
                        if *if_not_exists {
                            continue;
                        }
                        return Err(Error::Sql {
                            message: format!("a table or view '{name}' already exists"),
                            span: *span,
                        });
                    }
                    // Planned now, so that errors in the view point at it when it is declared.
                    let planned = self.plan(query, state)?;
                    let width = planned.schema.fields().len();
                    if !columns.is_empty() && columns.len() != width {
                        return Err(Error::Sql {
                            message: format!(
                                "the view's column list names {} columns but its query gives {width}",
                                columns.len()
                            ),
                            span: *span,
                        });
                    }
                    state
                        .views
                        .insert(name.clone(), (columns.clone(), query.clone()));
                }
                Statement::Explain { inner, .. } => {
                    steps.push(Step::Explain(self.explain_statement(inner, state)?));
                }
                Statement::Query { query, span } => {
                    let mut planned = self.plan(query, state)?;
                    let late = late_rows_target(&mut planned, state, *span)?;
                    steps.push(Step::Run(Box::new(Job {
                        query: planned,
                        target: Target::Collect,
                        config: self.job_config(&state.config),
                        set: None,
                        late,
                    })));
                }
            }
        }
        Ok(steps)
    }

    /// A table's `path` made absolute against the folder of the script that declares it, so
    /// it stays right when a later script (the job after an init file) lives elsewhere.
    fn anchor_paths(&self, def: &mut TableDef) {
        for (key, value, _) in def.options.iter_mut() {
            if key == "path" {
                let path = resolve_path(value, &self.options.base_dir);
                *value = std::path::absolute(&path)
                    .unwrap_or(path)
                    .display()
                    .to_string();
            }
        }
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

    /// Plans a query: the tables it reads are the session's, plus the catalog tables its
    /// names resolve to.
    fn plan(&self, tokens: &[TokenWithSpan], state: &State) -> Result<PlannedQuery> {
        let tokens = &crate::sql::script::expand_views(tokens, &state.views)?;
        let parsed = parse_query(tokens.to_vec())?;
        let mut tables = state.tables.clone();
        let statement = datafusion::sql::parser::Statement::Statement(Box::new(
            datafusion::sql::sqlparser::ast::Statement::Query(parsed.query.clone()),
        ));
        let (references, _) = datafusion::sql::resolve::resolve_table_references(&statement, false)
            .map_err(|e| Error::Internal(format!("cannot list the query's tables: {e}")))?;
        for reference in references {
            let key = crate::plan::reference_key(&reference);
            if tables.contains_key(&key) {
                continue;
            }
            let span = reference_span(tokens, &key).unwrap_or(parsed.span);
            // Names that resolve to nothing are left to the planner, whose error says so.
            if let Some(def) = state.resolve(&key, span)? {
                tables.insert(key, def);
            }
        }
        let planned = plan_query(&parsed, &tables, &Self::plan_options(&state.config))?;
        for def in planned.source.tables() {
            validate(def, Role::Source)?;
        }
        Ok(planned)
    }

    /// The streaming plan of an INSERT or a query.
    fn explain_statement(&self, statement: &Statement, state: &State) -> Result<String> {
        match statement {
            Statement::Insert {
                target,
                target_span,
                query,
                ..
            } => {
                let sink = state.sink(target, *target_span)?;
                let mut planned = self.plan(query, state)?;
                conform_to_sink(&mut planned, &sink, *target_span)?;
                let late = late_rows_target(&mut planned, state, *target_span)?;
                Ok(describe(&Job {
                    query: planned,
                    target: Target::Table(sink),
                    config: self.job_config(&state.config),
                    set: None,
                    late,
                }))
            }
            Statement::Query { query, .. } => {
                Ok(format!("{}Sink: (query result)", self.plan(query, state)?))
            }
            other => Err(Error::Sql {
                message: "EXPLAIN needs a query or an INSERT".into(),
                span: other.span(),
            }),
        }
    }
}

/// The table `weir.late-rows.table` names, checked against the late rows of `query` (`None`
/// when it is not set, or when nothing in the query judges rows late). Errors name the option
/// and the table, at `span` (the statement's).
fn late_rows_target(
    query: &mut PlannedQuery,
    state: &State,
    span: Span,
) -> Result<Option<TableDef>> {
    use crate::operators::late::{late_rows_mapping, LATE_ROWS_TABLE};
    let Some(name) = state.config.get(LATE_ROWS_TABLE).map(|n| n.trim()) else {
        return Ok(None);
    };
    if name.is_empty() {
        return Ok(None);
    }
    // Every layout of late rows the job has: each operator's that judges lateness, in the
    // query and in the inputs of a join or union, and the join's own.
    let mut layouts: Vec<arrow::datatypes::SchemaRef> = Vec::new();
    let mut collect = |ops: &mut [Box<dyn crate::operators::Operator>]| {
        for op in ops {
            if let Some(l) = op.late_rows() {
                layouts.push(l.schema().clone());
            }
        }
    };
    collect(&mut query.operators);
    match &mut query.source {
        crate::plan::PlannedSource::Join(j) => {
            collect(&mut j.left.operators);
            collect(&mut j.right.operators);
            if let Some(l) = j.join.late_rows() {
                layouts.push(l.schema().clone());
            }
        }
        crate::plan::PlannedSource::Union(u) => {
            for input in &mut u.inputs {
                collect(&mut input.operators);
            }
        }
        _ => {}
    }
    if layouts.is_empty() {
        return Ok(None);
    }
    let def = state.resolve(name, span)?.ok_or_else(|| Error::Sql {
        message: format!(
            "'{LATE_ROWS_TABLE}' names table '{name}', which is not declared: add CREATE TABLE {name} (...) WITH (...) before the query"
        ),
        span,
    })?;
    validate(&def, Role::Sink)?;
    for late in &layouts {
        late_rows_mapping(&def, late)?;
    }
    Ok(Some(def))
}

/// A job's plan as EXPLAIN prints it.
fn describe(job: &Job) -> String {
    let late = match &job.late {
        Some(def) => format!("\nLate rows: {}", def.name),
        None => String::new(),
    };
    let text = match &job.target {
        Target::Table(sink) => {
            let key = if sink.primary_key.is_empty() {
                String::new()
            } else {
                format!(", upsert on {}", sink.primary_key.join(", "))
            };
            format!(
                "{}Sink: {} ({}{key})",
                job.query,
                sink.name,
                sink.option("connector").map(|(c, _)| c).unwrap_or("?")
            )
        }
        Target::Collect => format!("{}Sink: (query result)", job.query),
    };
    format!("{text}{late}")
}

/// An init file holds what prepares a session, not jobs.
fn check_init(statements: &[Statement]) -> Result<()> {
    for statement in statements {
        if let Statement::Insert { span, .. }
        | Statement::Query { span, .. }
        | Statement::Explain { span, .. } = statement
        {
            return Err(Error::Sql {
                message: "an init file prepares the session (SET, CREATE CATALOG, CREATE TABLE, USE): INSERT INTO and queries belong in the job's script".into(),
                span: *span,
            });
        }
    }
    Ok(())
}

/// Where the dotted name `name` is written among `tokens`, for errors about a reference.
fn reference_span(tokens: &[TokenWithSpan], name: &str) -> Option<Span> {
    let parts: Vec<&str> = name.split('.').collect();
    (0..tokens.len()).find_map(|i| {
        let matches = parts.iter().enumerate().all(|(n, part)| {
            let word = matches!(tokens.get(i + 2 * n).map(|t| &t.token), Some(Token::Word(w)) if w.value == *part);
            let dot = n == 0 || matches!(tokens.get(i + 2 * n - 1).map(|t| &t.token), Some(Token::Period));
            word && dot
        });
        matches.then(|| span_of(&tokens[i]))
    })
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
/// What running one job gave.
struct JobOutcome {
    metrics: JobMetrics,
    preview: weir_api::ResultPage,
    /// The late-rows table's first, then the job's sink's.
    sink_reports: Vec<SinkReport>,
    collected: Option<Vec<RecordBatch>>,
    schema: SchemaRef,
}

/// Runs a planned job to its end (or until its control stops it).
fn run_job(job: Job, base_dir: &Path, print_to_stdout: bool) -> Result<JobOutcome> {
    let mut metrics = JobMetrics::default();
    let open = |def: &TableDef| open_source(def, base_dir);
    let schema = job.query.schema.clone();
    let mut late_sink = None;
    let (preview, sink_report, collected) = guard(|| {
        late_sink = match &job.late {
            Some(def) => Some(LateRowsSink::new(
                def,
                open_sink(def, base_dir, print_to_stdout)?,
            )),
            None => None,
        };
        match &job.target {
            Target::Table(def) => {
                let mut sink = open_sink(def, base_dir, print_to_stdout)?;
                let preview = crate::job::run(
                    job.query,
                    &open,
                    sink.as_mut(),
                    late_sink.as_mut(),
                    &job.config,
                    &mut metrics,
                )?;
                Ok((preview, Some(sink.report()), None))
            }
            Target::Collect => {
                let mut sink = CollectSink::default();
                let preview = crate::job::run(
                    job.query,
                    &open,
                    &mut sink,
                    late_sink.as_mut(),
                    &job.config,
                    &mut metrics,
                )?;
                Ok((preview, None, Some(sink.batches)))
            }
        }
    })?;
    Ok(JobOutcome {
        metrics,
        preview,
        sink_reports: late_sink
            .map(|l| l.report())
            .into_iter()
            .chain(sink_report)
            .collect(),
        collected,
        schema,
    })
}

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
