//! `weir bench --kafka-source`: MATIH llm-ops events (the generators of `weir seed`) written to
//! the embedded log and to a Kafka-protocol broker, then read back by the `kafka` table source
//! (raw bytes, then decoded as JSON) and by MATIH's LLM-operations sample job, timed per stage.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use weir_engine::connectors::kafka::{create_topic, open_producer, Cluster};
use weir_engine::{RunOptions, RunReport, Session};

use crate::seed;

/// Partitions of the bench topic, as `weir seed` and `weir demo` create them.
const PARTITIONS: i32 = 3;
/// The broker of `scripts/kafka.sh start`, unless WEIR_TEST_KAFKA or `--brokers` says another.
const DEFAULT_BROKER: &str = "127.0.0.1:19092";

/// The broker `--brokers` names, else WEIR_TEST_KAFKA, else the project's.
pub fn default_broker() -> String {
    std::env::var("WEIR_TEST_KAFKA").unwrap_or_else(|_| DEFAULT_BROKER.to_string())
}

/// The generated events: values back to back, and each one's key and span.
struct Events {
    data: Vec<u8>,
    /// (start in `data`, length, key).
    spans: Vec<(usize, usize, String)>,
}

impl Events {
    fn generate(n: u64, seed_value: u64) -> Self {
        let mut source =
            seed::generator(seed::Topic::LlmOps, &crate::bench::gen_options(seed_value));
        let mut record = seed::Record::default();
        let mut data = Vec::new();
        let mut spans = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
        for _ in 0..n {
            source.next_into(&mut record);
            spans.push((data.len(), record.value.len(), record.key.clone()));
            data.extend_from_slice(record.value.as_bytes());
        }
        Self { data, spans }
    }

    fn take(&self, n: u64) -> &[(usize, usize, String)] {
        &self.spans[..usize::try_from(n)
            .unwrap_or(usize::MAX)
            .min(self.spans.len())]
    }

    fn bytes(&self, n: u64) -> u64 {
        self.take(n).iter().map(|(_, len, _)| *len as u64).sum()
    }
}

/// One timed stage at one place.
struct Measured {
    place: String,
    stage: &'static str,
    events: u64,
    bytes: u64,
    seconds: f64,
}

/// Where the events go: the cluster, its `properties.bootstrap.servers`, the topic.
struct Place {
    name: String,
    cluster: Cluster,
    bootstrap: String,
    topic: String,
    /// The folder the sample job's DuckDB catalog goes to.
    out: PathBuf,
}

fn engine_err(e: weir_engine::Error) -> anyhow::Error {
    anyhow::anyhow!("{}", e.to_api().message)
}

/// Writes the first `n` events to the place's topic and waits until all are acknowledged.
fn produce(place: &Place, events: &Events, n: u64) -> Result<f64> {
    create_topic(&place.cluster, &place.topic, PARTITIONS).map_err(engine_err)?;
    let mut producer = open_producer(&place.cluster).map_err(engine_err)?;
    let started = Instant::now();
    for (at, len, key) in events.take(n) {
        producer
            .send(
                &place.topic,
                None,
                Some(key.as_bytes()),
                Some(&events.data[*at..at + len]),
                None,
            )
            .map_err(engine_err)?;
    }
    producer.flush().map_err(engine_err)?;
    Ok(started.elapsed().as_secs_f64())
}

/// The `WITH` options of a source that reads the whole topic and stops at its end.
fn source_options(place: &Place, format: &str) -> String {
    format!(
        "'connector' = 'kafka', 'topic' = '{}', 'properties.bootstrap.servers' = '{}', \
         'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset', \
         'format' = '{format}'",
        place.topic, place.bootstrap
    )
}

/// The llm-ops columns of MATIH's LLM-operations job (sample-jobs/matih/llm-operations-agg.sql).
const LLM_OPS_COLUMNS: &str = "event_id STRING, event_type STRING, tenant_id STRING NOT NULL, \
    request_id STRING, session_id STRING, provider STRING, `model` STRING, tokens_input INT, \
    tokens_output INT, cost_usd DOUBLE, latency_ms INT, cache_hit BOOLEAN, success BOOLEAN, \
    error_type STRING, `timestamp` TIMESTAMP(3)";

/// `INSERT INTO blackhole SELECT * FROM src`, the source's values as raw bytes or decoded.
fn blackhole_job(place: &Place, decode: bool) -> String {
    let (columns, format) = if decode {
        (
            format!(
                "{LLM_OPS_COLUMNS}, WATERMARK FOR `timestamp` AS `timestamp` - INTERVAL '30' SECOND"
            ),
            "json",
        )
    } else {
        ("v STRING".to_string(), "raw")
    };
    let sink_columns = if decode {
        LLM_OPS_COLUMNS.to_string()
    } else {
        "v STRING".to_string()
    };
    format!(
        "CREATE TEMPORARY TABLE src ({columns}) WITH ({});\n\
         CREATE TEMPORARY TABLE sink ({sink_columns}) WITH ('connector' = 'blackhole');\n\
         INSERT INTO sink SELECT * FROM src;\n",
        source_options(place, format)
    )
}

fn run_job(text: &str, base: &Path) -> Result<(RunReport, f64)> {
    let options = RunOptions {
        base_dir: base.to_path_buf(),
        preview_rows: 0,
        print_to_stdout: false,
        ..RunOptions::default()
    };
    let started = Instant::now();
    let report = weir_engine::run_script(text, &options).map_err(engine_err)?;
    Ok((report, started.elapsed().as_secs_f64()))
}

/// MATIH's LLM-operations job as sample-jobs/ has it, reading the bench topic from its start
/// to its end (the sample starts at 'latest-offset' and never ends), into the catalog's
/// DuckDB table under the place's folder. The rows read and the seconds, init file included.
fn run_sample_job(place: &Place) -> Result<(RunReport, f64)> {
    let jobs = std::fs::canonicalize(crate::demo::sample_jobs_dir())
        .context("cannot find sample-jobs/ (run from the repository)")?;
    let job_file = jobs.join("matih/llm-operations-agg.sql");
    let init_file = jobs.join("matih/catalog.sql");
    let text = std::fs::read_to_string(&job_file)
        .with_context(|| format!("cannot read {}", job_file.display()))?;
    let init = std::fs::read_to_string(&init_file)
        .with_context(|| format!("cannot read {}", init_file.display()))?;
    let mut job = text.clone();
    for (from, to) in [
        (
            "'scan.startup.mode' = 'latest-offset',",
            "'scan.startup.mode' = 'earliest-offset',\n    'scan.bounded.mode' = 'latest-offset',"
                .to_string(),
        ),
        (
            "'topic' = 'matih.ai.llm-ops',",
            format!("'topic' = '{}',", place.topic),
        ),
    ] {
        if !job.contains(from) {
            bail!(
                "{} no longer contains {from}: update engine/cli/src/bench_kafka.rs",
                job_file.display()
            );
        }
        job = job.replacen(from, &to, 1);
    }
    std::fs::create_dir_all(&place.out)?;
    let db = place.out.join("matih.duckdb");
    for file in [db.clone(), db.with_extension("duckdb.wal")] {
        if file.exists() {
            std::fs::remove_file(&file)?;
        }
    }
    let vars = HashMap::from([
        ("KAFKA_BOOTSTRAP".to_string(), place.bootstrap.clone()),
        ("WEIR_OUT_DIR".to_string(), place.out.display().to_string()),
    ]);
    let base = |file: &Path| file.parent().map(Path::to_path_buf).unwrap_or_default();
    let started = Instant::now();
    let mut session = Session::new(RunOptions {
        base_dir: base(&init_file),
        preview_rows: 0,
        print_to_stdout: false,
        vars,
        ..RunOptions::default()
    });
    session.execute_init(&init).map_err(engine_err)?;
    session.set_base_dir(base(&job_file));
    let report = session.execute(&job).map_err(engine_err)?;
    Ok((report, started.elapsed().as_secs_f64()))
}

/// Every stage at one place, `n` events.
fn bench_place(place: &Place, events: &Events, n: u64, out: &mut Vec<Measured>) -> Result<()> {
    let bytes = events.bytes(n);
    let mut push = |stage: &'static str, seconds: f64| {
        out.push(Measured {
            place: place.name.clone(),
            stage,
            events: n,
            bytes,
            seconds,
        })
    };
    eprintln!(
        "bench: {}: producing {n} events to {}",
        place.name, place.topic
    );
    push("produce (flushed)", produce(place, events, n)?);
    let check = |stage: &str, report: &RunReport| -> Result<()> {
        if report.metrics.rows_read != n {
            bail!(
                "{}: {stage} read {} rows, {n} were written",
                place.name,
                report.metrics.rows_read
            );
        }
        Ok(())
    };
    let base = place.out.clone();
    std::fs::create_dir_all(&base)?;
    for (stage, decode) in [
        ("source raw -> blackhole", false),
        ("source json (llm-ops) -> blackhole", true),
    ] {
        eprintln!("bench: {}: {stage}", place.name);
        let (report, seconds) = run_job(&blackhole_job(place, decode), &base)?;
        check(stage, &report)?;
        push(stage, seconds);
    }
    let stage = "llm-operations job -> DuckDB";
    eprintln!("bench: {}: {stage}", place.name);
    let (report, seconds) = run_sample_job(place)?;
    check(stage, &report)?;
    if report.metrics.rows_written == 0 {
        bail!("{}: {stage} wrote no rows", place.name);
    }
    push(stage, seconds);
    Ok(())
}

/// Rates for the table: never rounded to zero while positive.
fn fmt_rate(rate: f64) -> String {
    if rate >= 1e6 {
        format!("{:.2}M", rate / 1e6)
    } else if rate >= 1e4 {
        format!("{:.0}k", rate / 1e3)
    } else {
        format!("{rate:.0}")
    }
}

fn fmt_mb(mb: f64) -> String {
    if mb >= 100.0 {
        format!("{mb:.0}")
    } else if mb >= 1.0 {
        format!("{mb:.1}")
    } else {
        format!("{mb:.3}")
    }
}

/// `weir bench --kafka-source`: `events` events to the embedded log, `broker_events` to the
/// broker (0: the broker is skipped); prints the table.
pub fn bench_kafka_source(
    events: u64,
    broker_events: u64,
    brokers: &str,
    seed_value: u64,
    dir: &Path,
) -> Result<()> {
    if events == 0 && broker_events == 0 {
        bail!("--events and --broker-events are both 0: nothing to measure");
    }
    std::fs::create_dir_all(dir)?;
    let dir = std::fs::canonicalize(dir)?;
    let most = events.max(broker_events);
    let started = Instant::now();
    let generated = Events::generate(most, seed_value);
    let generate_seconds = started.elapsed().as_secs_f64();
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let mut places = Vec::new();
    if events > 0 {
        let log = dir.join("log");
        if log.exists() {
            std::fs::remove_dir_all(&log)?;
        }
        places.push((
            Place {
                name: "embedded log".into(),
                cluster: Cluster::Embedded { dir: log.clone() },
                bootstrap: format!("embedded://{}", log.display()),
                topic: "matih.ai.llm-ops".into(),
                out: dir.join("embedded"),
            },
            events,
        ));
    }
    if broker_events > 0 {
        places.push((
            Place {
                name: format!("broker {brokers}"),
                cluster: Cluster::Broker {
                    bootstrap: brokers.to_string(),
                    properties: Vec::new(),
                },
                bootstrap: brokers.to_string(),
                // A fresh topic: the broker keeps earlier runs' records.
                topic: format!("weir-bench.llm-ops.{stamp}"),
                out: dir.join("broker"),
            },
            broker_events,
        ));
    }
    let mut results = Vec::new();
    for (place, n) in &places {
        bench_place(place, &generated, *n, &mut results)
            .with_context(|| format!("at {}", place.name))?;
    }

    let headers = [
        "place", "stage", "events", "MB", "seconds", "events/s", "MB/s",
    ];
    let cells: Vec<Vec<String>> = results
        .iter()
        .map(|m| {
            let mb = m.bytes as f64 / 1e6;
            vec![
                m.place.clone(),
                m.stage.to_string(),
                m.events.to_string(),
                fmt_mb(mb),
                format!("{:.3}", m.seconds),
                fmt_rate(m.events as f64 / m.seconds),
                fmt_mb(mb / m.seconds),
            ]
        })
        .collect();
    println!();
    crate::bench::print_markdown(&headers, &cells);
    println!();
    println!(
        "MATIH llm-ops events from `weir seed`'s generator (seed {seed_value}, {:.0} bytes a value \
         on average; generating {most} took {generate_seconds:.2} s, not counted), keyed, to a topic \
         of {PARTITIONS} partitions. produce: send every event and flush. The jobs run in this \
         process, single-threaded, from 'earliest-offset' to 'latest-offset' (wall time includes \
         planning and opening the consumer); MB is the values' bytes. The llm-operations job is \
         sample-jobs/matih/llm-operations-agg.sql with catalog.sql, writing to {}/*/matih.duckdb.",
        generated.data.len() as f64 / most as f64,
        dir.display()
    );
    println!("{}", crate::bench::machine());
    Ok(())
}
