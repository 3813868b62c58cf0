//! End-to-end tests of the `weir` binary: MATIH's session-analytics job run on the sample data
//! into DuckDB, checked row by row against values computed here from the input files; errors
//! that point into the script; the help texts; `weir seed` into the embedded log and a real
//! Kafka-protocol broker.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use weir_engine::connectors::kafka::{open_consumer, Cluster};
use weir_engine::connectors::PartitionOffset;
use weir_engine::{RunOptions, Session};

const WINDOW_MS: i64 = 15 * 60 * 1000;
const WATERMARK_DELAY_MS: i64 = 30 * 1000;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Runs `weir` with `args` from the repository's root.
fn weir(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(args)
        .current_dir(repo_root())
        .env_remove("WEIR_OUT_DIR")
        .output()
        .expect("the weir binary starts")
}

fn describe(output: &Output) -> String {
    format!(
        "exit: {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// One output row of session_analytics, or the row expected for one (window, tenant).
#[derive(Debug, Clone, PartialEq)]
struct SessionRow {
    window_start: i64,
    window_end: i64,
    tenant_id: String,
    total_sessions: i64,
    avg_duration_ms: Option<f64>,
    avg_turns: Option<f64>,
    completion_rate: f64,
    unique_users: i64,
    event_timestamp: i64,
}

/// Per (window start, tenant) accumulators, as the job's GROUP BY keeps them.
#[derive(Default)]
struct Group {
    sessions: HashSet<String>,
    durations: Vec<f64>,
    turns: Vec<f64>,
    completed: u64,
    users: HashSet<String>,
}

/// `JSON_VALUE(metadata, '$.<key>')` cast to DOUBLE. `metadata` is a STRING column: a JSON
/// string in the file is that text, a nested object is its JSON text.
fn metadata_number(event: &Value, key: &str) -> Option<f64> {
    let parsed;
    let object = match event.get("metadata")? {
        Value::String(text) => {
            parsed = serde_json::from_str::<Value>(text).ok()?;
            &parsed
        }
        other => other,
    };
    match object.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn text(event: &Value, key: &str) -> Option<String> {
    event.get(key).and_then(Value::as_str).map(str::to_string)
}

/// The job's result computed from the JSON-lines input without the engine: malformed lines
/// skipped, `entity_type = 'session_phase'`, 15-minute tumbling windows per tenant.
fn expected_session_analytics(dir: &Path) -> Vec<SessionRow> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() > 1, "sample data missing in {}", dir.display());

    let mut groups: BTreeMap<(i64, String), Group> = BTreeMap::new();
    let (mut malformed, mut read) = (0, 0);
    let mut max_seen = i64::MIN;
    for file in &files {
        for line in std::fs::read_to_string(file).unwrap().lines() {
            let Ok(event) = serde_json::from_str::<Value>(line) else {
                malformed += 1;
                continue;
            };
            read += 1;
            let stamp = text(&event, "timestamp").expect("every event has a timestamp");
            let ts = weir_charts::parse_timestamp(&stamp).expect("timestamps parse");
            let window_start = ts.div_euclid(WINDOW_MS) * WINDOW_MS;
            // The data promises no late rows even with the watermark advanced on every row
            // (Flink advances it less often, which only makes rows less late). Were one late,
            // the expected values would depend on watermark timing.
            let watermark = max_seen.saturating_sub(WATERMARK_DELAY_MS);
            assert!(
                window_start + WINDOW_MS - 1 > watermark,
                "{}: {stamp} would be late (watermark {watermark})",
                file.display()
            );
            max_seen = max_seen.max(ts);

            if event.get("entity_type").and_then(Value::as_str) != Some("session_phase") {
                continue;
            }
            let tenant = text(&event, "tenant_id").expect("tenant_id is NOT NULL");
            let group = groups.entry((window_start, tenant)).or_default();
            if let Some(id) = text(&event, "entity_id") {
                group.sessions.insert(id);
            }
            if let Some(user) = text(&event, "triggered_by") {
                group.users.insert(user);
            }
            group
                .durations
                .extend(metadata_number(&event, "duration_ms"));
            group.turns.extend(metadata_number(&event, "turn_count"));
            if event.get("to_state").and_then(Value::as_str) == Some("completed") {
                group.completed += 1;
            }
        }
    }
    assert_eq!(malformed, 3, "the sample data has 3 malformed lines");
    assert!(read > 1000, "only {read} events read");

    let avg = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    groups
        .into_iter()
        .map(|((window_start, tenant_id), g)| SessionRow {
            window_start,
            window_end: window_start + WINDOW_MS,
            tenant_id,
            total_sessions: g.sessions.len() as i64,
            avg_duration_ms: avg(&g.durations),
            avg_turns: avg(&g.turns),
            completion_rate: g.completed as f64 / g.sessions.len().max(1) as f64,
            unique_users: g.users.len() as i64,
            event_timestamp: window_start + WINDOW_MS,
        })
        .collect()
}

/// Every row of `matih_analytics.session_analytics`, ordered by window and tenant.
fn read_session_analytics(db: &Path) -> Vec<SessionRow> {
    let config = duckdb::Config::default()
        .access_mode(duckdb::AccessMode::ReadOnly)
        .unwrap();
    let conn = duckdb::Connection::open_with_flags(db, config).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT epoch_ms(window_start), epoch_ms(window_end), tenant_id, total_sessions,
                    avg_duration_ms, avg_turns, completion_rate, unique_users,
                    epoch_ms(event_timestamp)
             FROM matih_analytics.session_analytics
             ORDER BY window_start, tenant_id",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok(SessionRow {
            window_start: r.get(0)?,
            window_end: r.get(1)?,
            tenant_id: r.get(2)?,
            total_sessions: r.get(3)?,
            avg_duration_ms: r.get(4)?,
            avg_turns: r.get(5)?,
            completion_rate: r.get(6)?,
            unique_users: r.get(7)?,
            event_timestamp: r.get(8)?,
        })
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

fn close(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() <= 1e-9 * expected.abs().max(1.0)
}

fn close_opt(actual: Option<f64>, expected: Option<f64>) -> bool {
    match (actual, expected) {
        (Some(a), Some(e)) => close(a, e),
        (None, None) => true,
        _ => false,
    }
}

/// `weir run` of MATIH's session-analytics job writes, for every 15-minute window and tenant,
/// exactly the row the job's SQL means.
#[test]
fn session_analytics_matches_values_computed_from_the_input() {
    let out = tempfile::tempdir().unwrap();
    let define = format!("WEIR_OUT_DIR={}", out.path().display());
    let output = weir(&[
        "run",
        "sample-jobs/matih/session-analytics-files.sql",
        "-D",
        &define,
    ]);
    assert!(
        output.status.success(),
        "weir run failed\n{}",
        describe(&output)
    );

    let db = out.path().join("matih.duckdb");
    assert!(
        db.exists(),
        "no {} after the run\n{}",
        db.display(),
        describe(&output)
    );
    let actual = read_session_analytics(&db);
    let expected = expected_session_analytics(&repo_root().join("sample-jobs/data/state-changes"));

    // The sample spans 8 windows for each of 3 tenants.
    assert_eq!(expected.len(), 24, "the sample data changed shape");
    let keys = |rows: &[SessionRow]| -> Vec<(i64, String)> {
        rows.iter()
            .map(|r| (r.window_start, r.tenant_id.clone()))
            .collect()
    };
    assert_eq!(
        keys(&actual),
        keys(&expected),
        "one row per (window, tenant), no more, no less"
    );

    let mut mismatches = Vec::new();
    for (a, e) in actual.iter().zip(&expected) {
        let same = a.window_end == e.window_end
            && a.total_sessions == e.total_sessions
            && close_opt(a.avg_duration_ms, e.avg_duration_ms)
            && close_opt(a.avg_turns, e.avg_turns)
            && close(a.completion_rate, e.completion_rate)
            && a.unique_users == e.unique_users
            && a.event_timestamp == e.event_timestamp;
        if !same {
            mismatches.push(format!("  got      {a:?}\n  expected {e:?}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} rows differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );

    // The data exercises what it should: NULL averages, and sessions completing.
    assert!(expected.iter().any(|r| r.avg_duration_ms.is_none()));
    assert!(expected.iter().any(|r| r.completion_rate > 0.0));

    // The table is keyed by (window_start, tenant_id): a second run replaces the rows.
    let again = weir(&[
        "run",
        "sample-jobs/matih/session-analytics-files.sql",
        "-D",
        &define,
    ]);
    assert!(again.status.success(), "{}", describe(&again));
    assert_eq!(
        read_session_analytics(&db),
        actual,
        "a re-run changed the table"
    );
}

/// The primary key columns of every table in the `matih_analytics` schema of `db`.
fn primary_keys(db: &Path) -> BTreeMap<String, String> {
    let config = duckdb::Config::default()
        .access_mode(duckdb::AccessMode::ReadOnly)
        .unwrap();
    let conn = duckdb::Connection::open_with_flags(db, config).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT table_name, array_to_string(constraint_column_names, ', ')
             FROM duckdb_constraints()
             WHERE schema_name = 'matih_analytics' AND constraint_type = 'PRIMARY KEY'",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// `weir run -i catalog.sql job.sql`: the init file creates MATIH's four keyed tables in the
/// DuckDB catalog, the job writes into one; `weir query` reads it with the catalog's name.
#[test]
fn init_file_creates_the_matih_catalog_and_the_job_writes_into_it() {
    let out = tempfile::tempdir().unwrap();
    let define = format!("WEIR_OUT_DIR={}", out.path().display());
    let output = weir(&[
        "run",
        "-i",
        "sample-jobs/matih/catalog.sql",
        "sample-jobs/matih/session-analytics-files.sql",
        "-D",
        &define,
    ]);
    assert!(output.status.success(), "{}", describe(&output));
    let db = out.path().join("matih.duckdb");
    let keys = primary_keys(&db);
    let expected: BTreeMap<String, String> = [
        ("state_transition_log", "transition_id"),
        ("session_analytics", "window_start, tenant_id"),
        (
            "agent_performance_metrics",
            "window_start, tenant_id, agent_id",
        ),
        (
            "llm_operations_metrics",
            "window_start, tenant_id, provider, model",
        ),
    ]
    .into_iter()
    .map(|(t, k)| (t.to_string(), k.to_string()))
    .collect();
    assert_eq!(keys, expected);
    let rows = read_session_analytics(&db).len();
    assert_eq!(rows, 24);

    let db_arg = db.display().to_string();
    for (catalog, table) in [
        (Some("polaris"), "polaris.matih_analytics.session_analytics"),
        (Some("polaris"), "matih_analytics.session_analytics"),
        (None, "matih_analytics.session_analytics"),
    ] {
        let sql = format!("SELECT count(*) AS n FROM {table}");
        let mut args = vec!["query", "--db", &db_arg];
        if let Some(c) = catalog {
            args.extend(["--catalog", c]);
        }
        args.push(&sql);
        let output = weir(&args);
        assert!(output.status.success(), "{}", describe(&output));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.lines().any(|l| l.trim() == "24"),
            "{table}: {}",
            describe(&output)
        );
    }
}

/// An init file's relative paths resolve against its own folder; its errors name it.
#[test]
fn init_files_resolve_their_own_paths_and_name_themselves_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("conf")).unwrap();
    let init = dir.path().join("conf/init.sql");
    std::fs::write(
        &init,
        "CREATE CATALOG lake WITH ('type' = 'duckdb', 'path' = 'lake.duckdb');\nCREATE TABLE lake.db.t (k STRING, n BIGINT, PRIMARY KEY (k) NOT ENFORCED);\n",
    )
    .unwrap();
    let job = dir.path().join("job.sql");
    std::fs::write(
        &job,
        "INSERT INTO lake.db.t VALUES ('a', 1), ('b', 2), ('a', 3);\n",
    )
    .unwrap();
    let output = weir(&[
        "run",
        "--init",
        init.to_str().unwrap(),
        job.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", describe(&output));
    let lake = dir.path().join("conf/lake.duckdb");
    let conn = duckdb::Connection::open(&lake).unwrap();
    let rows: Vec<(String, i64)> = conn
        .prepare("SELECT k, n FROM db.t ORDER BY k")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    drop(conn);
    assert_eq!(rows, [("a".to_string(), 3), ("b".to_string(), 2)]);

    let bad = dir.path().join("conf/bad.sql");
    std::fs::write(&bad, "SET 'parallelism.default' = '1';\nSELECT 1;\n").unwrap();
    let output = weir(&["run", "-i", bad.to_str().unwrap(), job.to_str().unwrap()]);
    assert!(!output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("{}:2:1", bad.display()))
            && stderr.contains("an init file prepares the session"),
        "{}",
        describe(&output)
    );
}

/// A construct the engine does not support fails the run, and the message points at it.
#[test]
fn unsupported_construct_fails_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("in")).unwrap();
    std::fs::write(
        dir.path().join("in/part-000.json"),
        "{\"id\":\"a\",\"ts\":\"2026-02-12 10:00:00.000\"}\n",
    )
    .unwrap();
    let script = dir.path().join("pattern.sql");
    std::fs::write(
        &script,
        "CREATE TEMPORARY TABLE events (
    id STRING,
    ts TIMESTAMP(3),
    WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'in', 'format' = 'json');

SELECT *
FROM events MATCH_RECOGNIZE (
    ORDER BY ts
    MEASURES A.id AS first_id
    PATTERN (A B)
    DEFINE A AS A.id = 'a', B AS B.id = 'b'
) AS m;
",
    )
    .unwrap();
    let output = weir(&["run", script.to_str().unwrap()]);
    assert!(
        !output.status.success(),
        "MATCH_RECOGNIZE must not run\n{}",
        describe(&output)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.to_uppercase().contains("MATCH_RECOGNIZE"),
        "{}",
        describe(&output)
    );
    assert!(
        stderr.contains("line 8, column "),
        "the error must point at line 8\n{}",
        describe(&output)
    );
}

#[test]
fn help_texts_work() {
    let output = weir(&["--help"]);
    assert!(output.status.success(), "{}", describe(&output));
    let help = String::from_utf8_lossy(&output.stdout);
    for word in ["Usage", "run", "demo"] {
        assert!(help.contains(word), "`weir --help` lacks {word:?}\n{help}");
    }

    let output = weir(&["run", "--help"]);
    assert!(output.status.success(), "{}", describe(&output));
    let help = String::from_utf8_lossy(&output.stdout);
    for word in ["Usage", "-D", "NAME=VALUE", "--init"] {
        assert!(
            help.contains(word),
            "`weir run --help` lacks {word:?}\n{help}"
        );
    }
}

/// Runs `weir` with `args` and `stdin` as its standard input.
fn weir_with_stdin(args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the weir binary starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn log_produce_then_consume_with_a_group_resumes_where_it_committed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = weir(&["log", "create", "--dir", d, "orders", "--partitions", "3"]);
    assert!(out.status.success(), "{}", describe(&out));
    // Keys "21", "foobar", "apple" go to partitions 0, 0 and 1 of 3 (computed with
    // kafka-python 3.0.12's murmur2, as a Kafka producer would place them).
    let out = weir_with_stdin(
        &["log", "produce", "--dir", d, "orders", "-K", ":"],
        "21:first\nfoobar:second\napple:third\n",
    );
    assert!(out.status.success(), "{}", describe(&out));
    let out = weir(&["log", "consume", "--dir", d, "orders", "-g", "g", "-v"]);
    assert!(out.status.success(), "{}", describe(&out));
    let lines: Vec<Vec<String>> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect();
    let summary: Vec<(&str, &str, &str, &str)> = lines
        .iter()
        .map(|c| (c[0].as_str(), c[1].as_str(), c[3].as_str(), c[4].as_str()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("0", "0", "21", "first"),
            ("0", "1", "foobar", "second"),
            ("1", "0", "apple", "third"),
        ]
    );
    // The group committed: a second run prints only what came after.
    let out = weir_with_stdin(
        &["log", "produce", "--dir", d, "orders", "-p", "2"],
        "fourth\n",
    );
    assert!(out.status.success(), "{}", describe(&out));
    let out = weir(&["log", "consume", "--dir", d, "orders", "-g", "g"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "fourth\n");
    let out = weir(&["log", "groups", "--dir", d]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("| g     | orders | 2         | 1         | 0   |"),
        "{table}"
    );
    // Reading past the end names the topic and partition.
    let out = weir(&["log", "consume", "--dir", d, "orders", "-p", "2", "-o", "5"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("orders-2: offset 5 is out of range"),
        "{}",
        describe(&out)
    );
}

#[test]
fn log_bench_prints_its_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = weir(&[
        "log",
        "bench",
        "--events",
        "20000",
        "--partitions",
        "3",
        "--batch",
        "100",
        "--dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    for phase in [
        "write",
        "sync",
        "read (owned records)",
        "read_each (in place)",
        "reopen + read",
        "offset_for_timestamp",
    ] {
        assert!(text.contains(phase), "{text}");
    }
    // The bench cleans up after itself.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// The number a demo report line gives after `word` (`read    5000  ... late    13`).
fn counter(line: &str, word: &str) -> u64 {
    let mut parts = line.split_whitespace();
    parts.find(|p| *p == word);
    parts
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no '{word}' in {line}"))
}

/// `weir demo` runs the seed jobs live on the embedded log: every event the LLM-operations job
/// read and did not drop as late is counted in exactly one window of its DuckDB table, the
/// other jobs fill theirs, and the three charts are drawn.
#[test]
fn demo_runs_the_seed_jobs_live_and_draws_the_dashboards() {
    let out = tempfile::tempdir().unwrap();
    let pg = std::env::var("WEIR_TEST_PG").unwrap_or_else(|_| {
        panic!("WEIR_TEST_PG is not set: start PostgreSQL with `scripts/postgres.sh start`")
    });
    let output = weir(&[
        "demo",
        "--out",
        out.path().to_str().unwrap(),
        "--events",
        "3000",
        "--postgres",
        &pg,
    ]);
    assert!(output.status.success(), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let llm = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("MATIH LLM operations") && l.contains("read"))
        .unwrap_or_else(|| panic!("{}", describe(&output)));
    let (read, late) = (counter(llm, "read"), counter(llm, "late"));
    assert_eq!(read, 3000, "{llm}");

    let db = duckdb::Connection::open(out.path().join("matih.duckdb")).unwrap();
    let counted: i64 = db
        .query_row(
            "SELECT sum(total_requests) FROM matih_analytics.llm_operations_metrics",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(counted as u64, read - late, "{}", describe(&output));
    for table in ["session_analytics", "agent_performance_metrics"] {
        let n: i64 = db
            .query_row(
                &format!("SELECT count(*) FROM matih_analytics.{table}"),
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(n > 0, "{table} is empty\n{}", describe(&output));
    }
    // MATIH left the percentiles NULL; the demo's job computes them, ordered.
    let bad: i64 = db
        .query_row(
            "SELECT count(*) FROM matih_analytics.agent_performance_metrics
             WHERE p50_latency_ms IS NULL OR p50_latency_ms > p95_latency_ms OR p95_latency_ms > p99_latency_ms",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(bad, 0);
    demo_cdc_archived_every_transition(&db, &pg);
    demo_orders_match_a_fold_of_the_log(out.path());
    demo_quality_gate_routes_every_record(out.path(), &stdout);
    for chart in ["session-analytics", "agent-performance", "llm-operations"] {
        let png = std::fs::read(out.path().join(format!("{chart}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{chart}");
        let svg = std::fs::read_to_string(out.path().join(format!("{chart}.svg"))).unwrap();
        assert!(svg.contains("<svg"), "{chart}");
    }
}

// ---------------------------------------------------------------------------------------
// `weir seed`
// ---------------------------------------------------------------------------------------

const SEED_TOPICS: [&str; 6] = [
    "matih.ai.state-changes",
    "matih.ai.agent-traces",
    "matih.ai.llm-ops",
    "domain.orders.events",
    "apphub.streaming.input",
    "streaming_events",
];

/// The CDC job archived exactly the rows of PostgreSQL's table (what the demo wrote there).
fn demo_cdc_archived_every_transition(db: &duckdb::Connection, pg: &str) {
    let mut config: postgres::Config = pg.parse().unwrap();
    config.dbname("ai_service");
    let mut client = config.connect(postgres::NoTls).unwrap();
    let mut expected: Vec<(String, String, String, String)> = client
        .query(
            "SELECT id::text, entity_id, from_state, to_state FROM fsm_state_transitions",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    expected.sort();
    let mut stmt = db
        .prepare(
            "SELECT transition_id, entity_id, from_state, to_state FROM matih_analytics.state_transition_log",
        )
        .unwrap();
    let mut archived: Vec<(String, String, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    archived.sort();
    assert!(expected.len() > 1000, "{}", expected.len());
    assert_eq!(archived, expected);
}

/// The orders projection equals the seed's fold function applied here to the log's events:
/// status of the highest version, the amount of OrderPlaced, the number of events.
fn demo_orders_match_a_fold_of_the_log(out: &Path) {
    let events = read_topic(
        &embedded(&out.join("log")),
        "domain.orders.events",
        &BTreeMap::new(),
    );
    #[derive(Default, Debug, PartialEq)]
    struct Order {
        version: i64,
        status: String,
        amount: Option<String>,
        events: i64,
    }
    let mut folded: BTreeMap<String, Order> = BTreeMap::new();
    for (_, _, value) in &events {
        let e: Value = serde_json::from_str(value).unwrap();
        let o = folded.entry(text(&e, "entity_id").unwrap()).or_default();
        let kind = text(&e, "event_type").unwrap();
        let version = e["version"].as_i64().unwrap();
        o.events += 1;
        if kind == "OrderPlaced" {
            o.amount = Some(format!("{:.2}", e["data"]["amount"].as_f64().unwrap()));
        }
        if version > o.version {
            o.version = version;
            o.status = match kind.as_str() {
                "OrderPlaced" => "placed".into(),
                "OrderCancelled" => "cancelled".into(),
                other => other.to_lowercase().replace("order", ""),
            };
        }
    }
    let db = duckdb::Connection::open(out.join("orders.duckdb")).unwrap();
    let mut stmt = db
        .prepare("SELECT order_id, version, status, CAST(amount AS VARCHAR), events FROM order_current_state")
        .unwrap();
    let projected: BTreeMap<String, Order> = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Order {
                    version: r.get(1)?,
                    status: r.get(2)?,
                    amount: r.get(3)?,
                    events: r.get(4)?,
                },
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(folded.len() > 500, "{}", folded.len());
    assert_eq!(projected.len(), folded.len());
    for (id, o) in &folded {
        assert_eq!(projected.get(id), Some(o), "order {id}");
    }
}

/// Every Livepeer record lands in exactly one place: the malformed ones in the DLQ (each
/// with a reason), the first of each event id in the typed table, the other copies counted
/// in the quarantine.
fn demo_quality_gate_routes_every_record(out: &Path, stdout: &str) {
    let seeded = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("streaming_events ") && l.contains(" events ("))
        .unwrap_or_else(|| panic!("{stdout}"));
    // "streaming_events  3000 events (12 late, 51 malformed, 52 duplicates)"
    let before = |word: &str| -> u64 {
        let tokens: Vec<&str> = seeded.split_whitespace().collect();
        let at = tokens
            .iter()
            .position(|t| t.trim_matches(|c: char| !c.is_alphanumeric()) == word)
            .unwrap_or_else(|| panic!("no '{word}' in {seeded}"));
        tokens[at - 1].trim_start_matches('(').parse().unwrap()
    };
    let (events, malformed, duplicates) =
        (before("events"), before("malformed"), before("duplicates"));
    assert!(malformed > 0 && duplicates > 0, "{seeded}");
    let log = embedded(&out.join("log"));
    let dlq = read_topic(&log, "events.dlq.streaming_events.v1", &BTreeMap::new());
    assert_eq!(dlq.len() as u64, malformed);
    for (_, _, value) in &dlq {
        let v: Value = serde_json::from_str(value).unwrap();
        assert!(
            v["reason"].as_str().is_some_and(|r| !r.is_empty()),
            "{value}"
        );
        assert!(v["payload"].as_str().is_some(), "{value}");
    }
    // The quarantine's last record per event id holds how many copies arrived.
    let mut copies: BTreeMap<String, i64> = BTreeMap::new();
    for (_, key, value) in read_topic(
        &log,
        "events.quarantine.streaming_events.v1",
        &BTreeMap::new(),
    ) {
        let v: Value = serde_json::from_str(&value).unwrap();
        copies.insert(key, v["copies"].as_i64().unwrap());
    }
    let extra: i64 = copies.values().map(|c| c - 1).sum();
    assert_eq!(extra as u64, duplicates);
    let db = duckdb::Connection::open(out.join("livepeer.duckdb")).unwrap();
    let (rows, ids): (i64, i64) = db
        .query_row(
            "SELECT count(*), count(DISTINCT event_id) FROM streaming_events_typed",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(rows, ids);
    assert_eq!(rows as u64, events - malformed - duplicates);
}

fn embedded(dir: &Path) -> Cluster {
    Cluster::Embedded {
        dir: dir.to_path_buf(),
    }
}

/// The end offset of each partition of `topic` (none when the topic does not exist).
fn end_offsets(cluster: &Cluster, topic: &str) -> BTreeMap<i32, i64> {
    let mut consumer = open_consumer(cluster, None).unwrap();
    let Ok(partitions) = consumer.partitions(&[topic.to_string()], None) else {
        return BTreeMap::new();
    };
    partitions
        .iter()
        .map(|(t, p)| (*p, consumer.watermarks(t, *p).unwrap().1))
        .collect()
}

/// The records of `topic` after `from` (offsets per partition, else the start), partition by
/// partition in offset order: (partition, key, value).
fn read_topic(
    cluster: &Cluster,
    topic: &str,
    from: &BTreeMap<i32, i64>,
) -> Vec<(i32, String, String)> {
    let mut consumer = open_consumer(cluster, None).unwrap();
    let partitions = consumer.partitions(&[topic.to_string()], None).unwrap();
    let mut positions = Vec::new();
    let mut total = 0;
    for (t, p) in &partitions {
        let (low, high) = consumer.watermarks(t, *p).unwrap();
        let offset = from.get(p).copied().unwrap_or(low).max(low);
        total += high - offset;
        positions.push(PartitionOffset {
            topic: t.clone(),
            partition: *p,
            offset,
        });
    }
    consumer.assign(&positions).unwrap();
    let mut out = Vec::new();
    let text = |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).into_owned();
    for _ in 0..200 {
        if out.len() as i64 >= total {
            break;
        }
        consumer
            .poll(10_000, Duration::from_millis(200), &mut |m| {
                out.push((m.partition, text(m.key), text(m.value)));
                Ok(())
            })
            .unwrap();
    }
    assert_eq!(
        out.len() as i64,
        total,
        "{topic}: not every record came back"
    );
    out.sort_by_key(|r| r.0); // stable: offset order within a partition
    out
}

/// The `weir seed` table's row for `topic`, as its cells.
fn seed_row(stdout: &str, topic: &str) -> Vec<String> {
    stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(topic))
        .unwrap_or_else(|| panic!("no row for {topic} in\n{stdout}"))
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// The same seed writes the same records to two logs: every topic, partitioned by key
/// (all of a key's records in one partition), with the counts the table prints.
#[test]
fn seed_writes_the_same_records_twice_to_the_embedded_log() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    let seed = |log: &Path, seed: &str, quiet: bool| {
        let mut args = vec![
            "seed",
            "--events",
            "400",
            "--seed",
            seed,
            "--log-dir",
            log.to_str().unwrap(),
        ];
        if quiet {
            args.push("--quiet");
        }
        let output = weir(&args);
        assert!(output.status.success(), "{}", describe(&output));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let table = seed(&a, "5", false);
    assert_eq!(seed(&b, "5", true), "", "--quiet prints nothing");
    seed(&c, "6", true);
    for topic in SEED_TOPICS {
        let row = seed_row(&table, topic);
        assert_eq!(row[1], "400", "{topic}: {row:?}");
        let first = read_topic(&embedded(&a), topic, &BTreeMap::new());
        assert_eq!(first.len(), 400, "{topic}");
        assert_eq!(
            first,
            read_topic(&embedded(&b), topic, &BTreeMap::new()),
            "{topic}"
        );
        assert_ne!(
            first,
            read_topic(&embedded(&c), topic, &BTreeMap::new()),
            "{topic}"
        );
        assert_eq!(
            end_offsets(&embedded(&a), topic).len(),
            3,
            "{topic}: partitions"
        );
        let mut partition_of: HashMap<&str, i32> = HashMap::new();
        for (p, key, _) in &first {
            assert_eq!(
                *partition_of.entry(key).or_insert(*p),
                *p,
                "{topic}: key {key}"
            );
        }
        // Livepeer's quality gate has work: duplicates and malformed records, as counted.
        if topic == "streaming_events" {
            let mut seen = HashSet::new();
            let dups = first.iter().filter(|r| !seen.insert(&r.2)).count();
            let bad = first
                .iter()
                .filter(|r| serde_json::from_str::<Value>(&r.2).is_err())
                .count();
            assert_eq!(row[4], dups.to_string(), "duplicates: {row:?}");
            assert!(
                row[3].parse::<usize>().unwrap() >= bad,
                "malformed: {row:?}"
            );
        }
    }
}

/// MATIH's session-analytics source reads what `weir seed` wrote to the embedded log: every
/// record, and each one either counted in its window or dropped as late (the late ones the
/// generator wrote behind the watermark).
#[test]
fn session_analytics_source_reads_what_weir_seed_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let output = weir(&[
        "seed",
        "--dataset",
        "matih",
        "--events",
        "3000",
        "--late-percent",
        "3",
        "--log-dir",
        log.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let late_written: u64 = seed_row(&stdout, "matih.ai.state-changes")[2]
        .parse()
        .unwrap();
    assert!(late_written > 0, "{stdout}");

    let records = read_topic(&embedded(&log), "matih.ai.state-changes", &BTreeMap::new());
    let sessions = records
        .iter()
        .filter(|r| {
            let v: Value = serde_json::from_str(&r.2).unwrap();
            v["entity_type"] == "session_phase"
        })
        .count() as u64;

    let job = std::fs::read_to_string(repo_root().join("sample-jobs/matih/session-analytics.sql"))
        .unwrap();
    let start = job.find("CREATE TEMPORARY TABLE").unwrap();
    let end = start + job[start..].find(") WITH (").unwrap();
    let script = format!(
        "{}) WITH (
    'connector' = 'kafka',
    'topic' = 'matih.ai.state-changes',
    'properties.bootstrap.servers' = 'embedded://{}',
    'scan.startup.mode' = 'earliest-offset',
    'scan.bounded.mode' = 'latest-offset',
    'format' = 'json'
);
SELECT TUMBLE_START(`timestamp`, INTERVAL '15' MINUTE) AS window_start, tenant_id, COUNT(*) AS n
FROM state_changes_source
WHERE entity_type = 'session_phase'
GROUP BY TUMBLE(`timestamp`, INTERVAL '15' MINUTE), tenant_id;",
        &job[start..end],
        log.display()
    );
    let mut session = Session::new(RunOptions {
        print_to_stdout: false,
        ..RunOptions::default()
    });
    let (report, results) = session.execute_collect(&script).unwrap();
    assert_eq!(report.metrics.rows_read, 3000);
    let counted: i64 = results
        .last()
        .unwrap()
        .batches
        .iter()
        .flat_map(|b| (0..b.num_rows()).map(move |r| weir_engine::format::row_json_object(b, r)))
        .map(|row| row["n"].as_i64().unwrap())
        .sum();
    let dropped = report.metrics.late_rows_dropped;
    assert!(dropped > 0, "the late-row path is exercised");
    assert!(
        dropped <= late_written,
        "{dropped} dropped, {late_written} written late"
    );
    assert_eq!(counted as u64 + dropped, sessions);
}

/// `weir seed --brokers` writes to a real Kafka-protocol broker (nisshi, from
/// `scripts/kafka.sh start`; WEIR_TEST_KAFKA) exactly what it writes to the embedded log.
#[test]
fn seed_writes_the_same_records_to_a_kafka_broker() {
    let broker = std::env::var("WEIR_TEST_KAFKA").unwrap_or_else(|_| {
        panic!("WEIR_TEST_KAFKA is not set: start a broker with `scripts/kafka.sh start` and export `scripts/kafka.sh env`")
    });
    let kafka = Cluster::Broker {
        bootstrap: broker.clone(),
        properties: vec![],
    };
    // The broker keeps earlier runs' records: read from where they end.
    let before: Vec<BTreeMap<i32, i64>> =
        SEED_TOPICS.iter().map(|t| end_offsets(&kafka, t)).collect();
    let dir = tempfile::tempdir().unwrap();
    for target in [
        ["--brokers", broker.as_str()],
        ["--log-dir", dir.path().to_str().unwrap()],
    ] {
        let output = weir(&[
            "seed", "--events", "300", "--seed", "77", "--quiet", target[0], target[1],
        ]);
        assert!(output.status.success(), "{}", describe(&output));
    }
    for (topic, from) in SEED_TOPICS.iter().zip(&before) {
        let on_broker = read_topic(&kafka, topic, from);
        let on_log = read_topic(&embedded(dir.path()), topic, &BTreeMap::new());
        assert_eq!(on_broker.len(), 300, "{topic}");
        // Per key, the same records in the same order; the same partition when the topic has
        // as many partitions on both (Kafka's murmur2 partitioner on both).
        let per_key = |records: &[(i32, String, String)]| {
            let mut m: BTreeMap<String, Vec<(i32, String)>> = BTreeMap::new();
            for (p, k, v) in records {
                m.entry(k.clone()).or_default().push((*p, v.clone()));
            }
            m
        };
        let (b, l) = (per_key(&on_broker), per_key(&on_log));
        let same_partitions = end_offsets(&kafka, topic).len() == 3;
        assert_eq!(b.len(), l.len(), "{topic}");
        for ((kb, vb), (kl, vl)) in b.iter().zip(&l) {
            assert_eq!(kb, kl, "{topic}");
            let values = |v: &[(i32, String)]| v.iter().map(|x| x.1.clone()).collect::<Vec<_>>();
            assert_eq!(values(vb), values(vl), "{topic}: key {kb}");
            if same_partitions {
                assert_eq!(vb[0].0, vl[0].0, "{topic}: key {kb}");
            }
        }
    }
}

/// The cells of the Markdown table rows a bench printed (header and rule left out).
fn table_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("|-"))
        .skip(1)
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

/// A rate as the bench prints it (`1.23M`, `245k`, `812`).
fn rate(cell: &str) -> f64 {
    let (number, scale) = match cell.as_bytes().last() {
        Some(b'M') => (&cell[..cell.len() - 1], 1e6),
        Some(b'k') => (&cell[..cell.len() - 1], 1e3),
        _ => (cell, 1.0),
    };
    number
        .parse::<f64>()
        .unwrap_or_else(|_| panic!("not a rate: {cell}"))
        * scale
}

/// `weir bench --kafka-source` writes to the embedded log and to a real broker (nisshi, from
/// `scripts/kafka.sh start`; WEIR_TEST_KAFKA), reads every event back through the `kafka`
/// source and the LLM-operations sample job, and prints one row per place and stage.
#[test]
fn bench_kafka_source_prints_a_row_per_place_and_stage() {
    let broker = std::env::var("WEIR_TEST_KAFKA").unwrap_or_else(|_| {
        panic!("WEIR_TEST_KAFKA is not set: start a broker with `scripts/kafka.sh start` and export `scripts/kafka.sh env`")
    });
    let dir = tempfile::tempdir().unwrap();
    let out = weir(&[
        "bench",
        "--kafka-source",
        "--events",
        "3000",
        "--broker-events",
        "1000",
        "--brokers",
        &broker,
        "--dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let rows = table_rows(&text);
    let stages = [
        "produce (flushed)",
        "source raw -> blackhole",
        "source json (llm-ops) -> blackhole",
        "llm-operations job -> DuckDB",
    ];
    let places = [
        ("embedded log".to_string(), 3000),
        (format!("broker {broker}"), 1000),
    ];
    assert_eq!(rows.len(), places.len() * stages.len(), "{text}");
    for (place, events) in &places {
        for stage in stages {
            let row = rows
                .iter()
                .find(|r| &r[0] == place && r[1] == stage)
                .unwrap_or_else(|| panic!("no row for {place} / {stage}:\n{text}"));
            // place, stage, events, MB, seconds, events/s, MB/s
            assert_eq!(row[2], events.to_string(), "{text}");
            for (i, cell) in row.iter().enumerate().skip(3) {
                assert!(rate(cell) > 0.0, "column {i} of {place} / {stage}:\n{text}");
            }
        }
    }
    // The sample job's windows landed in the place's DuckDB catalog.
    let db = dir.path().join("kafka-source/embedded/matih.duckdb");
    let conn = duckdb::Connection::open(&db).unwrap();
    let (windows, requests): (i64, i64) = conn
        .query_row(
            "SELECT count(*), CAST(sum(total_requests) AS BIGINT) FROM matih_analytics.llm_operations_metrics",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(windows > 0);
    assert_eq!(requests, 3000, "every event is counted in one window");
}
