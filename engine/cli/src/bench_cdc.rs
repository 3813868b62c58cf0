//! `weir bench --postgres-cdc`: rows per second out of the `postgres-cdc` source, for the
//! snapshot of a table and for a stream of inserts and updates, against the PostgreSQL that
//! WEIR_TEST_PG names (default: the project's, `scripts/postgres.sh start`).

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use weir_engine::connectors::{open_source, Poll, Source};
use weir_engine::sql::{parse_script, Statement, TableDef};

/// The project's test server (scripts/postgres.sh).
const DEFAULT_SERVER: &str = "host=127.0.0.1 port=54329 user=weir password=weir dbname=weir_test";
const TABLE: &str = "weir_bench_cdc";
const SLOT: &str = "weir_bench_cdc";
/// Rows per transaction of the change stream.
const TRANSACTION_ROWS: usize = 100;

fn server() -> HashMap<String, String> {
    std::env::var("WEIR_TEST_PG")
        .unwrap_or_else(|_| DEFAULT_SERVER.to_string())
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
        .collect()
}

fn get<'a>(s: &'a HashMap<String, String>, key: &str) -> Result<&'a str> {
    s.get(key)
        .map(String::as_str)
        .with_context(|| format!("WEIR_TEST_PG has no '{key}'"))
}

fn connect(s: &HashMap<String, String>) -> Result<postgres::Client> {
    postgres::Config::new()
        .host(get(s, "host")?)
        .port(get(s, "port")?.parse()?)
        .user(get(s, "user")?)
        .password(get(s, "password")?)
        .dbname(get(s, "dbname")?)
        .connect(postgres::NoTls)
        .context("cannot connect to PostgreSQL: start it with scripts/postgres.sh start, or set WEIR_TEST_PG")
}

fn definition(s: &HashMap<String, String>, fetch: usize) -> Result<TableDef> {
    let sql = format!(
        "CREATE TABLE cdc (id BIGINT, tenant_id STRING, state STRING, n INT, amount DECIMAL(12, 2), created_at TIMESTAMP(3), metadata STRING, PRIMARY KEY (id) NOT ENFORCED) WITH (\
         'connector' = 'postgres-cdc', 'hostname' = '{}', 'port' = '{}', 'username' = '{}', 'password' = '{}', \
         'database-name' = '{}', 'schema-name' = 'public', 'table-name' = '{TABLE}', 'slot.name' = '{SLOT}', \
         'scan.snapshot.fetch.size' = '{fetch}')",
        get(s, "host")?,
        get(s, "port")?,
        get(s, "user")?,
        get(s, "password")?,
        get(s, "dbname")?
    );
    match parse_script(&sql, &HashMap::new())?.pop() {
        Some(Statement::CreateTable(def)) => Ok(*def),
        _ => bail!("the bench's DDL did not parse as CREATE TABLE"),
    }
}

fn reset(db: &mut postgres::Client) -> Result<()> {
    db.batch_execute(&format!(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '{SLOT}'; \
         DROP PUBLICATION IF EXISTS {SLOT}; DROP TABLE IF EXISTS {TABLE}; \
         CREATE TABLE {TABLE} (id bigint PRIMARY KEY, tenant_id text, state text, n int, amount numeric(12, 2), \
         created_at timestamp(3), metadata jsonb); ALTER TABLE {TABLE} REPLICA IDENTITY FULL"
    ))?;
    Ok(())
}

/// `INSERT`s of rows `from..to` (server-side generated), `per` rows per transaction.
fn insert(db: &mut postgres::Client, from: usize, to: usize, per: usize) -> Result<()> {
    let mut start = from;
    while start < to {
        let end = (start + per).min(to);
        db.batch_execute(&format!(
            "INSERT INTO {TABLE} SELECT i, 'tenant-' || (i % 100), 'active', (i % 1000)::int, (i % 10000) / 100.0, \
             timestamp '2026-02-12 10:00:00' + i * interval '1 millisecond', jsonb_build_object('turn', i % 7) \
             FROM generate_series({start}, {}) i",
            end - 1
        ))?;
        start = end;
    }
    Ok(())
}

/// Polls until `rows` rows came; commits after every batch when `commit_each`, else once at
/// the end. The seconds it took.
fn read(source: &mut dyn Source, rows: usize, commit_each: bool) -> Result<f64> {
    let mut metrics = weir_api::JobMetrics::default();
    let started = Instant::now();
    let mut got = 0;
    while got < rows {
        match source.poll_batch(&mut metrics)? {
            Poll::Batch(b) | Poll::PartitionBatch(_, b) => {
                got += b.num_rows();
                if commit_each {
                    source.commit()?;
                }
            }
            Poll::Idle => {}
            Poll::End => bail!("the source ended after {got} of {rows} rows"),
        }
    }
    source.commit()?;
    let seconds = started.elapsed().as_secs_f64();
    if got != rows {
        bail!("expected {rows} rows, got {got}");
    }
    Ok(seconds)
}

struct Measured {
    what: String,
    rows: usize,
    seconds: f64,
}

/// Measures the snapshot and the change stream of `rows` rows and prints a table.
pub fn bench_postgres_cdc(rows: u64, _dir: &Path) -> Result<()> {
    let rows = usize::try_from(rows)?;
    let s = server();
    let mut db = connect(&s)?;
    let mut results = Vec::new();

    for fetch in [1024, 8192] {
        eprintln!("bench: postgres-cdc snapshot of {rows} rows, fetch size {fetch}");
        reset(&mut db)?;
        insert(&mut db, 0, rows, 100_000)?;
        let started = Instant::now();
        let mut source = open_source(&definition(&s, fetch)?, Path::new("."))?;
        let seconds = read(source.as_mut(), rows, false)?;
        results.push(Measured {
            what: format!(
                "snapshot, fetch size {fetch} (open: {:.2} s)",
                started.elapsed().as_secs_f64() - seconds
            ),
            rows,
            seconds,
        });
    }

    for commit_each in [true, false] {
        let when = if commit_each {
            "commit after each batch"
        } else {
            "commit at the end"
        };
        // Inserts, written while the source is not reading, then read in one go.
        eprintln!("bench: postgres-cdc stream of {rows} inserts, {when}");
        reset(&mut db)?;
        let def = definition(&s, 8192)?;
        let mut source = open_source(&def, Path::new("."))?;
        insert(&mut db, 0, rows, TRANSACTION_ROWS)?;
        let seconds = read(source.as_mut(), rows, commit_each)?;
        results.push(Measured {
            what: format!("stream: inserts ({TRANSACTION_ROWS} per transaction), {when}"),
            rows,
            seconds,
        });
        // Updates of every row (REPLICA IDENTITY FULL): a -U and a +U each.
        eprintln!("bench: postgres-cdc stream of {rows} updates, {when}");
        let mut start = 0;
        while start < rows {
            db.batch_execute(&format!(
                "UPDATE {TABLE} SET n = n + 1, state = 'done' WHERE id >= {start} AND id < {}",
                start + TRANSACTION_ROWS
            ))?;
            start += TRANSACTION_ROWS;
        }
        let seconds = read(source.as_mut(), 2 * rows, commit_each)?;
        results.push(Measured {
            what: format!(
                "stream: updates ({TRANSACTION_ROWS} per transaction, -U and +U), {when}"
            ),
            rows: 2 * rows,
            seconds,
        });
    }
    db.batch_execute(&format!(
        "SELECT pg_drop_replication_slot('{SLOT}'); DROP PUBLICATION {SLOT}; DROP TABLE {TABLE}"
    ))?;

    let version: String = db.query_one("SHOW server_version", &[])?.get(0);
    let cells: Vec<Vec<String>> = results
        .iter()
        .map(|m| {
            vec![
                m.what.clone(),
                m.rows.to_string(),
                format!("{:.2}", m.seconds),
                format!("{:.0}k", m.rows as f64 / m.seconds / 1e3),
            ]
        })
        .collect();
    println!();
    crate::bench::print_markdown(&["what", "rows out", "seconds", "rows/s"], &cells);
    println!();
    println!(
        "Rows of 7 columns (BIGINT key, STRING, STRING, INT, DECIMAL(12, 2), TIMESTAMP(3), jsonb as STRING) \
         read by the postgres-cdc source from PostgreSQL {version} at {}:{} into Arrow batches \
         (time from the first poll until every row came, commits included; the open, which creates \
         the publication and slot and starts the snapshot, is shown apart).",
        get(&s, "host")?,
        get(&s, "port")?
    );
    Ok(())
}
