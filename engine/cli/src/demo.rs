//! `weir demo`: the seed platforms' jobs running live on the embedded engine. It creates the
//! topics (in the embedded log, or on a broker with `--brokers`), starts MATIH's session,
//! agent and LLM-operations jobs and AppHub's tumbling-window job exactly as sample-jobs/
//! has them (they start at 'latest-offset', as MATIH's do), seeds events into the topics
//! while they run, drains the jobs (Flink's `stop --drain`: every window fires), then
//! prints what landed in DuckDB and draws the dashboards' charts.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use weir_engine::connectors::kafka::{create_topic, Cluster};
use weir_engine::job::JobControl;
use weir_engine::{RunOptions, Session};

#[derive(Args)]
pub struct DemoArgs {
    /// Where the DuckDB database, the embedded log and the charts go.
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    /// A Kafka/Redpanda broker (host:port) instead of the embedded log.
    #[arg(long)]
    pub brokers: Option<String>,
    /// Events seeded per topic.
    #[arg(long, default_value_t = 20_000)]
    pub events: u64,
    /// The generator's seed (same seed, same events).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// A PostgreSQL server (libpq `key=value ...`) for MATIH's state-transition CDC job: the
    /// demo creates database ai_service and its fsm_state_transitions table there and writes
    /// the seeded transitions into it. scripts/demo.sh passes the project's own server
    /// (scripts/postgres.sh); without it the CDC job is left out.
    #[arg(long, value_name = "CONNECTION")]
    pub postgres: Option<String>,
}

/// A job of the demo: its file under sample-jobs/ and what it writes.
struct DemoJob {
    file: &'static str,
    title: &'static str,
    /// How many INSERTs it runs (a statement set runs several together).
    inserts: usize,
    /// Whether it reads PostgreSQL (run only with `--postgres`).
    postgres: bool,
}

const JOBS: &[DemoJob] = &[
    DemoJob {
        file: "matih/state-transition-cdc.sql",
        title: "MATIH state-transition CDC",
        inserts: 1,
        postgres: true,
    },
    DemoJob {
        file: "matih/session-analytics.sql",
        title: "MATIH session analytics",
        inserts: 1,
        postgres: false,
    },
    DemoJob {
        file: "matih/agent-performance-agg.sql",
        title: "MATIH agent performance",
        inserts: 1,
        postgres: false,
    },
    DemoJob {
        file: "matih/llm-operations-agg.sql",
        title: "MATIH LLM operations",
        inserts: 1,
        postgres: false,
    },
    DemoJob {
        file: "apphub/tumbling-window.sql",
        title: "AppHub tumbling window",
        inserts: 1,
        postgres: false,
    },
    DemoJob {
        file: "orders/order-projection.sql",
        title: "Orders projection",
        inserts: 1,
        postgres: false,
    },
    DemoJob {
        file: "livepeer/quality-gate.sql",
        title: "Livepeer quality gate",
        inserts: 3,
        postgres: false,
    },
];

/// Topics and their partitions (MATIH's run 12 in production; 3 keep the demo small).
const TOPICS: &[&str] = &[
    "matih.ai.state-changes",
    "matih.ai.agent-traces",
    "matih.ai.llm-ops",
    "apphub.streaming.input",
    "apphub.streaming.aggregates",
    "domain.orders.events",
    "streaming_events",
    "events.dlq.streaming_events.v1",
    "events.quarantine.streaming_events.v1",
];
const PARTITIONS: i32 = 3;

/// The sample-jobs folder, from the working folder or from where this binary was built.
pub fn sample_jobs_dir() -> PathBuf {
    let relative = PathBuf::from("sample-jobs");
    if relative.join("matih").is_dir() {
        return relative;
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

/// Charts of the dashboards: (file stem, table, y column, series column, title).
const CHARTS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "session-analytics",
        "matih_analytics.session_analytics",
        "total_sessions",
        "tenant_id",
        "Sessions per 15-minute window, by tenant",
    ),
    (
        "agent-performance",
        "matih_analytics.agent_performance_metrics",
        "p95_latency_ms",
        "tenant_id",
        "p95 agent latency (ms) per 5-minute window, slowest agent of each tenant",
    ),
    (
        "llm-operations",
        "matih_analytics.llm_operations_metrics",
        "total_cost_usd",
        "provider",
        "LLM cost (USD) per 15-minute window, by provider",
    ),
];

pub fn demo(args: DemoArgs) -> Result<()> {
    let started = Instant::now();
    std::fs::create_dir_all(&args.out)?;
    let out = std::fs::canonicalize(&args.out)?;
    let jobs_dir = std::fs::canonicalize(sample_jobs_dir())
        .context("cannot find sample-jobs/ (run from the repository)")?;
    let db = out.join("matih.duckdb");
    for file in ["matih.duckdb", "orders.duckdb", "livepeer.duckdb"] {
        let path = out.join(file);
        if path.exists() {
            std::fs::remove_file(&path)?;
        }
    }
    let postgres = match &args.postgres {
        Some(connection) => {
            let pg_sql = jobs_dir.join("matih/fsm_state_transitions.pg.sql");
            let pg_sql = std::fs::read_to_string(&pg_sql)
                .with_context(|| format!("cannot read {}", pg_sql.display()))?;
            Some(crate::demo_cdc::prepare(connection, &pg_sql)?)
        }
        None => None,
    };
    let jobs: Vec<&DemoJob> = JOBS
        .iter()
        .filter(|j| !j.postgres || postgres.is_some())
        .collect();
    let (cluster, bootstrap) = match &args.brokers {
        Some(b) => (
            Cluster::Broker {
                bootstrap: b.clone(),
                properties: vec![],
            },
            b.clone(),
        ),
        None => {
            let dir = out.join("log");
            if dir.exists() {
                std::fs::remove_dir_all(&dir)?;
            }
            (
                Cluster::Embedded { dir: dir.clone() },
                format!("embedded://{}", dir.display()),
            )
        }
    };

    println!("[1/5] topics on {bootstrap}");
    for topic in TOPICS {
        create_topic(&cluster, topic, PARTITIONS).map_err(|e| anyhow::anyhow!("{e}"))?;
        println!("  {topic} ({PARTITIONS} partitions)");
    }

    println!("[2/5] starting {} jobs on the embedded engine", jobs.len());
    if postgres.is_none() {
        println!("  (no --postgres: MATIH's state-transition CDC job is left out)");
    }
    let control = JobControl::default();
    let mut vars = HashMap::from([
        ("KAFKA_BOOTSTRAP".to_string(), bootstrap.clone()),
        ("QUALITY_KAFKA_BOOTSTRAP".to_string(), bootstrap.clone()),
        ("WEIR_OUT_DIR".to_string(), out.display().to_string()),
    ]);
    if let Some(pg) = &postgres {
        vars.extend(pg.vars.iter().cloned());
    }
    let init_file = jobs_dir.join("matih/catalog.sql");
    let init = std::fs::read_to_string(&init_file)
        .with_context(|| format!("cannot read {}", init_file.display()))?;
    // The catalog's tables are created once, before the jobs (each job's session then only
    // declares them, which writes nothing: DuckDB refuses concurrent DDL on one catalog).
    Session::new(RunOptions {
        base_dir: init_file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
        print_to_stdout: false,
        vars: vars.clone(),
        ..RunOptions::default()
    })
    .execute_init(&init)
    .map_err(|e| anyhow::anyhow!("{}: {}", init_file.display(), e.to_api().message))?;
    let mut running = Vec::new();
    for &job in &jobs {
        let path = jobs_dir.join(job.file);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let options = RunOptions {
            base_dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            preview_rows: 0,
            print_to_stdout: false,
            vars: vars.clone(),
            control: control.clone(),
        };
        let init_options = RunOptions {
            base_dir: init_file
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
            ..options.clone()
        };
        let init = init.clone();
        let handle = std::thread::Builder::new()
            .name(job.file.to_string())
            .spawn(move || {
                // The catalog's init script, then the job, in one session (`weir run -i`).
                let mut session = Session::new(init_options);
                session.execute_init(&init)?;
                session.set_base_dir(options.base_dir.clone());
                session.execute(&text)
            })?;
        running.push((job, handle));
        println!("  {} ({})", job.title, job.file);
    }
    // The jobs start at 'latest-offset': seeding waits until each has fixed its start.
    let deadline = Instant::now() + Duration::from_secs(60);
    let inserts: usize = jobs.iter().map(|j| j.inserts).sum();
    while control.started() < inserts {
        if let Some(i) = running.iter().position(|(_, h)| h.is_finished()) {
            control.cancel();
            let (job, handle) = running.swap_remove(i);
            match handle.join() {
                Ok(Err(e)) => bail!("{} failed to start: {}", job.file, e.to_api().message),
                _ => bail!("{} stopped before it started reading", job.file),
            }
        }
        if Instant::now() > deadline {
            control.cancel();
            bail!("the jobs did not start within a minute");
        }
        std::thread::sleep(Duration::from_millis(20));
    }

    println!(
        "[3/5] seeding {} events per topic (seed {})",
        args.events, args.seed
    );
    let seed_args = crate::seed::SeedArgs {
        dataset: crate::seed::Dataset::All,
        events: args.events,
        seed: args.seed,
        partitions: PARTITIONS,
        brokers: args.brokers.clone(),
        log_dir: match &cluster {
            Cluster::Embedded { dir } => Some(dir.clone()),
            Cluster::Broker { .. } => None,
        },
        ..crate::seed::SeedArgs::default()
    };
    let seeded = crate::seed::seed(&seed_args).inspect_err(|_| control.cancel())?;
    for t in &seeded.topics {
        println!(
            "  {:<28} {:>7} events ({} late, {} malformed, {} duplicates)",
            t.topic, t.events, t.late, t.malformed, t.duplicates
        );
    }
    if let Some(pg) = &postgres {
        // The same generator options as the topics: the transitions are the ones published.
        let options = seed_args.gen_options().inspect_err(|_| control.cancel())?;
        let rows = pg
            .write_transitions(&options, args.events)
            .inspect_err(|_| control.cancel())?;
        println!(
            "  {:<28} {rows:>7} rows (PostgreSQL, the CDC job's table)",
            "fsm_state_transitions"
        );
    }

    println!("[4/5] draining the jobs (every open window fires)");
    control.drain();
    let mut failed = Vec::new();
    for (job, handle) in running {
        match handle.join() {
            Ok(Ok(report)) => {
                let m = &report.metrics;
                println!(
                    "  {:<28} read {:>7}  skipped {:>5}  late {:>5}",
                    job.title, m.rows_read, m.parse_errors_skipped, m.late_rows_dropped,
                );
                for sink in &report.sinks {
                    println!(
                        "    -> {:<36} {:>7} rows ({})",
                        sink.table, sink.rows_written, sink.connector
                    );
                }
            }
            Ok(Err(e)) => failed.push(format!("{}: {}", job.file, e.to_api().message)),
            Err(_) => failed.push(format!("{}: the job's thread panicked", job.file)),
        }
    }
    if !failed.is_empty() {
        bail!("jobs failed:\n  {}", failed.join("\n  "));
    }

    println!("[5/5] dashboards from {}", db.display());
    for (stem, table, y, series, title) in CHARTS {
        let page = weir_engine::duckdb_sink::query_duckdb(
            &db,
            &format!("SELECT count(*) AS windows, count(DISTINCT {series}) AS series, min(window_start) AS first_window, max(window_start) AS last_window FROM {table}"),
            1,
        )
        .map_err(|e| anyhow::anyhow!("{}", e.to_api()))?;
        println!("  {table}:");
        crate::print_page(&page);
        let spec = weir_charts::LineChartSpec {
            title: title.to_string(),
            x: "window_start".into(),
            y: y.to_string(),
            series: series.to_string(),
        };
        for ext in ["png", "svg"] {
            let path = out.join(format!("{stem}.{ext}"));
            // One line per series: the largest value of the window (several agents or
            // models of one tenant or provider share a window).
            let per_series = format!(
                "(SELECT window_start, {series}, max({y}) AS {y} FROM {table} GROUP BY ALL) AS t"
            );
            crate::draw(&db, &per_series, &spec, &path)?;
            println!("  {}", path.display());
        }
    }
    let summaries = [
        (
            postgres.is_some(),
            db.clone(),
            "SELECT to_state, count(*) AS transitions FROM matih_analytics.state_transition_log GROUP BY ALL ORDER BY 2 DESC LIMIT 5",
        ),
        (
            true,
            out.join("orders.duckdb"),
            "SELECT status, count(*) AS orders, sum(amount) AS amount FROM order_current_state GROUP BY ALL ORDER BY 2 DESC",
        ),
        (
            true,
            out.join("livepeer.duckdb"),
            "SELECT event_type, count(*) AS events, count(DISTINCT stream_id) AS streams FROM streaming_events_typed GROUP BY ALL ORDER BY 2 DESC",
        ),
    ];
    for (shown, file, sql) in summaries {
        if !shown {
            continue;
        }
        let page = weir_engine::duckdb_sink::query_duckdb(&file, sql, 10)
            .map_err(|e| anyhow::anyhow!("{}", e.to_api()))?;
        println!("  {}: {sql}", file.display());
        crate::print_page(&page);
    }
    println!("done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
