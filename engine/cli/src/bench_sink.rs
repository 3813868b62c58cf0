//! `weir bench --duckdb-sink`: rows per second through the `duckdb` connector's sink, in
//! append mode and as an upsert sink (new keys, a re-run over the same keys, a GROUP BY
//! changelog of -U/+U pairs), on rows shaped like MATIH's session_analytics.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use weir_engine::connectors::open_sink;
use weir_engine::format::RecordBatch;
use weir_engine::sql::{parse_script, Statement, TableDef};

/// Rows per batch, as a source emits them.
const BATCH_ROWS: usize = 8192;
/// 2026-02-12 10:00:00.000 UTC, in milliseconds since the epoch.
const START_MS: i64 = 1_770_890_400_000;
const TENANTS: i64 = 100;

fn table(dir: &Path, name: &str, keyed: bool, options: &str) -> Result<TableDef> {
    let key = if keyed {
        ", PRIMARY KEY (window_start, tenant_id) NOT ENFORCED"
    } else {
        ""
    };
    let sql = format!(
        "CREATE TABLE {name} (window_start TIMESTAMP(3), tenant_id STRING, total_sessions BIGINT, avg_duration_ms DOUBLE, completion_rate DOUBLE, unique_users BIGINT{key}) WITH ('connector' = 'duckdb', 'path' = '{}', 'table-name' = 'bench.{name}'{options})",
        dir.join("sink.duckdb").display()
    );
    match parse_script(&sql, &HashMap::new())?.pop() {
        Some(Statement::CreateTable(def)) => Ok(*def),
        _ => bail!("the bench's DDL did not parse as CREATE TABLE"),
    }
}

/// `rows` rows whose keys are `key(i)` for the i-th row, values derived from `version`;
/// `kinds` gives each row's kind when the batches are a changelog.
fn batches(
    def: &TableDef,
    rows: usize,
    key: impl Fn(usize) -> (i64, i64),
    version: i64,
    kinds: Option<&dyn Fn(usize) -> i8>,
) -> Result<Vec<RecordBatch>> {
    use arrow::array::{ArrayRef, Float64Array, Int64Array, Int8Array, StringArray};
    use arrow::array::{TimestampMillisecondArray, TimestampMillisecondBuilder};
    let mut schema = def.arrow_schema();
    if kinds.is_some() {
        let mut fields: Vec<arrow::datatypes::Field> =
            schema.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.push(arrow::datatypes::Field::new(
            "__op",
            arrow::datatypes::DataType::Int8,
            false,
        ));
        schema = arrow::datatypes::Schema::new(fields);
    }
    let schema = Arc::new(schema);
    let mut out = Vec::new();
    let mut start = 0;
    while start < rows {
        let n = BATCH_ROWS.min(rows - start);
        let range = start..start + n;
        let mut ts = TimestampMillisecondBuilder::with_capacity(n);
        for i in range.clone() {
            ts.append_value(START_MS + key(i).0 * 900_000);
        }
        let ts: TimestampMillisecondArray = ts.finish();
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(ts),
            Arc::new(StringArray::from_iter_values(
                range.clone().map(|i| format!("tenant-{:03}", key(i).1)),
            )),
            Arc::new(Int64Array::from_iter_values(
                range.clone().map(|i| (i as i64 % 97) + version),
            )),
            Arc::new(Float64Array::from_iter_values(
                range
                    .clone()
                    .map(|i| (i % 1000) as f64 * 1.5 + version as f64),
            )),
            Arc::new(Float64Array::from_iter_values(
                range.clone().map(|i| (i % 100) as f64 / 100.0),
            )),
            Arc::new(Int64Array::from_iter_values(
                range.clone().map(|i| (i as i64 % 13) + version),
            )),
        ];
        if let Some(kind) = kinds {
            columns.push(Arc::new(Int8Array::from_iter_values(range.map(kind))));
        }
        out.push(RecordBatch::try_new(schema.clone(), columns)?);
        start += n;
    }
    Ok(out)
}

/// Writes `input` through the sink of `def` and commits; the seconds it took (opening the
/// sink included).
fn write_all(def: &TableDef, input: &[RecordBatch]) -> Result<f64> {
    let started = Instant::now();
    let mut sink = open_sink(def, Path::new("."), false)?;
    for batch in input {
        sink.write_batch(batch)?;
    }
    sink.finish()?;
    drop(sink);
    Ok(started.elapsed().as_secs_f64())
}

fn count(dir: &Path, table: &str) -> Result<u64> {
    let page = weir_engine::duckdb_sink::query_duckdb(
        &dir.join("sink.duckdb"),
        &format!("SELECT count(*) FROM bench.{table}"),
        1,
    )?;
    page.rows
        .first()
        .and_then(|r| r.first())
        .and_then(|v| v.as_u64())
        .context("no count")
}

struct Measured {
    mode: &'static str,
    rows: usize,
    seconds: f64,
    table_rows: u64,
}

/// Runs the sink modes over `rows` rows and prints a table.
pub fn bench_duckdb_sink(rows: u64, dir: &Path) -> Result<()> {
    let rows = usize::try_from(rows)?;
    std::fs::create_dir_all(dir)?;
    let dir = &std::fs::canonicalize(dir)?;
    let _ = std::fs::remove_file(dir.join("sink.duckdb"));
    let _ = std::fs::remove_file(dir.join("sink.duckdb.wal"));
    // Distinct (window, tenant) keys, as many as rows.
    let distinct = |i: usize| ((i as i64) / TENANTS, (i as i64) % TENANTS);
    let mut results = Vec::new();
    let mut run = |mode: &'static str, def: &TableDef, input: &[RecordBatch]| -> Result<()> {
        eprintln!("bench: duckdb sink, {mode}");
        let seconds = write_all(def, input)?;
        let name = def.name.clone();
        results.push(Measured {
            mode,
            rows: input.iter().map(|b| b.num_rows()).sum(),
            seconds,
            table_rows: count(dir, &name)?,
        });
        Ok(())
    };

    let append = table(dir, "appended", false, "")?;
    run(
        "append",
        &append,
        &batches(&append, rows, distinct, 0, None)?,
    )?;

    let keyed = table(dir, "keyed", true, "")?;
    run(
        "upsert, new keys",
        &keyed,
        &batches(&keyed, rows, distinct, 0, None)?,
    )?;
    run(
        "upsert, re-run (same keys)",
        &keyed,
        &batches(&keyed, rows, distinct, 1, None)?,
    )?;

    // A GROUP BY's changelog: rows/10 keys, each update a -U/+U pair.
    let keys = (rows / 10).max(1);
    let changelog = table(dir, "changelog", true, "")?;
    let pair_key = |i: usize| distinct((i / 2) % keys);
    let kind = |i: usize| if i.is_multiple_of(2) { 1 } else { 2 };
    run(
        "upsert, changelog -U/+U",
        &changelog,
        &batches(&changelog, rows, pair_key, 2, Some(&kind))?,
    )?;
    let every_batch = table(
        dir,
        "changelog_flush",
        true,
        &format!(", 'sink.buffer-flush.max-rows' = '{BATCH_ROWS}'"),
    )?;
    run(
        "upsert, changelog, merge per batch",
        &every_batch,
        &batches(&every_batch, rows, pair_key, 2, Some(&kind))?,
    )?;

    let headers = ["mode", "rows in", "seconds", "rows/s", "table rows"];
    let cells: Vec<Vec<String>> = results
        .iter()
        .map(|m| {
            vec![
                m.mode.to_string(),
                m.rows.to_string(),
                format!("{:.2}", m.seconds),
                format!("{:.0}k", m.rows as f64 / m.seconds / 1e3),
                m.table_rows.to_string(),
            ]
        })
        .collect();
    println!();
    crate::bench::print_markdown(&headers, &cells);
    println!();
    println!(
        "Rows shaped like session_analytics (6 columns, key (window_start, tenant_id)) in batches of {BATCH_ROWS}, \
         through the duckdb connector's sink into {} (one transaction per mode, committed at the end; \
         upserts staged and merged every {} rows unless the mode says otherwise).",
        dir.join("sink.duckdb").display(),
        weir_engine::duckdb_sink::DEFAULT_FLUSH_ROWS
    );
    Ok(())
}
