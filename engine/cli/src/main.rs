//! `weir`: the headless binary. Runs Flink SQL scripts on the embedded engine, the demo,
//! ad-hoc queries over DuckDB outputs, and charts of them.
#![deny(clippy::unwrap_used, clippy::expect_used)]

mod bench;
mod bench_cdc;
mod bench_kafka;
mod bench_sink;
mod demo;
mod demo_cdc;
mod log_cmd;
mod seed;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use weir_api::{ResultPage, RunReport};
use weir_engine::{RunOptions, Session};

#[derive(Parser)]
#[command(
    name = "weir",
    version,
    about = "Weir: run Flink SQL on an embedded streaming engine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a Flink SQL script (SET, CREATE TABLE, INSERT INTO, SELECT) on bounded inputs.
    Run(RunArgs),
    /// Run the demo: seed the topics, run MATIH's and AppHub's jobs live on them, then chart.
    Demo(demo::DemoArgs),
    /// Run SQL against a DuckDB database file a job wrote.
    Query(QueryArgs),
    /// Draw a line chart (PNG or SVG) from a DuckDB table.
    Chart(ChartArgs),
    /// Generate a deterministic data set and compare Weir with DuckDB (and Flink) on it.
    Bench(bench::BenchArgs),
    /// The embedded log: topics, produce, consume, groups, retention, bench.
    Log(log_cmd::LogArgs),
    /// Write realistic, deterministic events for the seed platforms' topics to Weir's
    /// embedded log or a Kafka broker.
    Seed(seed::SeedArgs),
}

#[derive(Args)]
struct RunArgs {
    /// The script. Relative paths in its WITH options resolve against its folder.
    file: PathBuf,
    /// Set a variable for `${NAME}` / `${NAME:-default}` in option values (repeatable).
    #[arg(short = 'D', value_name = "NAME=VALUE")]
    define: Vec<String>,
    /// An init script run before the job, as `sql-client.sh -i` does: SET, CREATE CATALOG,
    /// CREATE TABLE, USE (repeatable, run in order; relative paths in each resolve against
    /// its own folder).
    #[arg(short = 'i', long = "init", value_name = "FILE")]
    init: Vec<PathBuf>,
    /// Print the streaming plan of each query instead of running the script (init scripts
    /// are planned too; nothing is created).
    #[arg(long)]
    explain: bool,
    /// Print the run report as JSON.
    #[arg(long)]
    json: bool,
    /// Stop once every source has been read up to where it is now, after firing every window
    /// (Flink's `stop --drain`): runs a job over unbounded topics like a batch job. Without
    /// it such a job runs until Ctrl-C, which drains it the same way (a second Ctrl-C stops
    /// it at once).
    #[arg(long)]
    drain: bool,
}

#[derive(Args)]
struct QueryArgs {
    /// The DuckDB database file.
    #[arg(long)]
    db: PathBuf,
    /// The name the scripts give the file's catalog (`CREATE CATALOG polaris ...`), so that
    /// `polaris.matih_analytics.session_analytics` reads as in the job; `schema.table` and
    /// `table` work with or without it.
    #[arg(long)]
    catalog: Option<String>,
    /// The SQL to run.
    sql: String,
    /// At most this many rows are printed.
    #[arg(long, default_value_t = 100)]
    limit: usize,
}

#[derive(Args)]
struct ChartArgs {
    /// The DuckDB database file.
    #[arg(long)]
    db: PathBuf,
    /// The table to chart (schema-qualified if needed).
    #[arg(long)]
    table: String,
    /// The timestamp column on the x axis.
    #[arg(long, default_value = "window_start")]
    x: String,
    /// The numeric column on the y axis.
    #[arg(long)]
    y: String,
    /// One line per distinct value of this column.
    #[arg(long)]
    series: String,
    /// The chart's title.
    #[arg(long)]
    title: Option<String>,
    /// Output file: .png or .svg.
    #[arg(short, long)]
    out: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Demo(args) => demo::demo(args),
        Command::Query(args) => query(args),
        Command::Chart(args) => chart(args),
        Command::Bench(args) => bench::bench(args),
        Command::Log(args) => log_cmd::log(args),
        Command::Seed(args) => seed::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

fn parse_defines(defines: &[String]) -> Result<HashMap<String, String>> {
    defines
        .iter()
        .map(|d| match d.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => bail!("-D expects NAME=VALUE, got '{d}'"),
        })
        .collect()
}

/// An engine error with the script line it points at and a caret under the column.
fn explain_error(err: &weir_engine::Error, file: &Path, text: &str) -> anyhow::Error {
    let api = err.to_api();
    let mut msg = format!("error[{}]: {}", api.code, api.message);
    if let Some(span) = api.span {
        msg.push_str(&format!(
            "\n  --> {}:{}:{}",
            file.display(),
            span.line,
            span.column
        ));
        if let Some(line) = text.lines().nth(span.line.saturating_sub(1) as usize) {
            let caret = " ".repeat(span.column.saturating_sub(1) as usize);
            msg.push_str(&format!("\n   |\n   | {line}\n   | {caret}^"));
        }
    }
    anyhow::anyhow!(msg)
}

fn options_for(file: &Path, vars: HashMap<String, String>) -> RunOptions {
    let base_dir = file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let base_dir = if base_dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base_dir
    };
    RunOptions {
        base_dir,
        preview_rows: 20,
        print_to_stdout: true,
        vars,
        control: Default::default(),
    }
}

fn run(args: RunArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let vars = parse_defines(&args.define)?;
    let mut options = options_for(&args.file, vars.clone());
    let control = options.control.clone();
    if args.drain {
        control.drain();
    } else {
        let drained = std::sync::atomic::AtomicBool::new(false);
        let control = control.clone();
        // Failing to install the handler (another one is there) only loses the drain.
        let _ = ctrlc::set_handler(move || {
            if drained.swap(true, std::sync::atomic::Ordering::SeqCst) {
                eprintln!("weir: stopped");
                std::process::exit(130);
            }
            eprintln!("weir: draining (reading what the sources hold, firing every window); Ctrl-C again stops at once");
            control.drain();
        });
    }
    options.control = control;
    let mut session = Session::new(options);
    for init in &args.init {
        let init_text = std::fs::read_to_string(init)
            .with_context(|| format!("cannot read the init file {}", init.display()))?;
        session.set_base_dir(options_for(init, vars.clone()).base_dir);
        let done = if args.explain {
            session.explain_init(&init_text)
        } else {
            session.execute_init(&init_text).map(|_| ())
        };
        done.map_err(|e| explain_error(&e, init, &init_text))?;
    }
    session.set_base_dir(options_for(&args.file, vars).base_dir);
    if args.explain {
        let plans = session
            .explain_script(&text)
            .map_err(|e| explain_error(&e, &args.file, &text))?;
        for plan in plans {
            println!("{plan}");
        }
        return Ok(());
    }
    let (report, results) = session
        .execute_collect(&text)
        .map_err(|e| explain_error(&e, &args.file, &text))?;
    for result in &results {
        match &result.plan {
            Some(plan) => println!("{plan}"),
            None => print_batches(&result.batches)?,
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(())
}

fn print_batches(batches: &[weir_engine::format::RecordBatch]) -> Result<()> {
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    if rows > 0 {
        println!("{}", weir_engine::format::pretty(batches)?);
    }
    println!("{rows} row(s)");
    Ok(())
}

fn print_report(report: &RunReport) {
    let m = &report.metrics;
    for sink in &report.sinks {
        let at = sink
            .duckdb
            .as_ref()
            .map(|d| format!(" ({} in {})", d.table, d.path))
            .unwrap_or_default();
        println!(
            "{}: {} row(s) written by the {} connector{at}",
            sink.table, sink.rows_written, sink.connector
        );
    }
    println!(
        "{} statement(s) in {} ms: {} row(s) read, {} malformed row(s) skipped, {} late row(s) dropped, {} window(s) fired",
        report.statements, report.elapsed_ms, m.rows_read, m.parse_errors_skipped, m.late_rows_dropped, m.windows_fired
    );
    if m.firings_timed > 0 {
        println!(
            "results out after the watermark: {} firing(s), mean {:.1} ms, max {:.1} ms",
            m.firings_timed,
            m.firing_latency_total_us as f64 / m.firings_timed as f64 / 1000.0,
            m.firing_latency_max_us as f64 / 1000.0
        );
    }
}

pub(crate) fn print_page(page: &ResultPage) {
    let headers: Vec<String> = page.columns.iter().map(|c| c.name.clone()).collect();
    let cells: Vec<Vec<String>> = page
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Null => "NULL".into(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect();
    let widths: Vec<usize> = (0..headers.len())
        .map(|i| {
            cells
                .iter()
                .map(|r| r[i].len())
                .chain([headers[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |items: &[String]| {
        items
            .iter()
            .zip(&widths)
            .map(|(s, w)| format!("{s:<w$}"))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    println!("{}", line(&headers));
    println!(
        "{}",
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("-+-")
    );
    for r in &cells {
        println!("{}", line(r));
    }
    println!(
        "{} row(s){}",
        page.total_rows,
        if (page.rows.len() as u64) < page.total_rows {
            " (first shown)"
        } else {
            ""
        }
    );
}

fn query(args: QueryArgs) -> Result<()> {
    let page = match &args.catalog {
        Some(name) => {
            weir_engine::duckdb_sink::query_catalog(&args.db, name, &args.sql, args.limit)
        }
        None => weir_engine::duckdb_sink::query_duckdb(&args.db, &args.sql, args.limit),
    }
    .map_err(|e| anyhow::anyhow!("{}", e.to_api()))?;
    print_page(&page);
    Ok(())
}

pub(crate) fn draw(
    db: &Path,
    table: &str,
    spec: &weir_charts::LineChartSpec,
    out: &Path,
) -> Result<()> {
    let sql = format!(
        "SELECT {x}, {s}, {y} FROM {table} ORDER BY {x}, {s}",
        x = spec.x,
        s = spec.series,
        y = spec.y
    );
    let page = weir_engine::duckdb_sink::query_duckdb(db, &sql, usize::MAX)
        .map_err(|e| anyhow::anyhow!("{}", e.to_api()))?;
    let svg = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("svg"));
    if svg {
        std::fs::write(out, weir_charts::line_chart_svg(&page, spec, 1200, 600)?)?;
    } else {
        std::fs::write(out, weir_charts::line_chart_png(&page, spec, 1200, 600)?)?;
    }
    Ok(())
}

fn chart(args: ChartArgs) -> Result<()> {
    let spec = weir_charts::LineChartSpec {
        title: args
            .title
            .unwrap_or_else(|| format!("{} per {} by {}", args.y, args.x, args.series)),
        x: args.x,
        y: args.y,
        series: args.series,
    };
    draw(&args.db, &args.table, &spec, &args.out)?;
    println!("chart written to {}", args.out.display());
    Ok(())
}
