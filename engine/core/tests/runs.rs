//! End-to-end runs of scripts over files: JSON options, late-row counts, the DuckDB sink,
//! and errors that must name what is wrong without losing what was written.

use std::path::Path;

use weir_engine::duckdb_sink::query_duckdb;
use weir_engine::{RunOptions, Session};

fn session(dir: &Path) -> Session {
    Session::new(RunOptions {
        base_dir: dir.to_path_buf(),
        print_to_stdout: false,
        ..RunOptions::default()
    })
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const SOURCE: &str = "CREATE TABLE ev (k STRING, v INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'filesystem', 'path' = 'in', 'format' = 'json' OPTIONS);";

fn source(options: &str) -> String {
    SOURCE.replace(" OPTIONS", options)
}

#[test]
fn malformed_rows_are_skipped_and_counted_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "in/a.json",
        "{\"k\":\"a\",\"v\":1,\"ts\":\"2026-01-01 00:00:01\"}\n{broken\n{\"k\":\"a\",\"v\":\"NaN-ish\",\"ts\":\"2026-01-01 00:00:02\"}\n{\"k\":\"b\",\"v\":2,\"ts\":\"2026-01-01T00:00:03\"}\n\n{\"k\":\"b\",\"v\":3,\"ts\":\"2026-01-01 00:00:04\"}\n",
    );
    let script = format!(
        "{}\nSELECT k, SUM(v) FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end, k;",
        source(", 'json.ignore-parse-errors' = 'true'")
    );
    let (report, results) = session(dir.path()).execute_collect(&script).unwrap();
    // Broken JSON is skipped; a non-number INT becomes NULL and the row stays (Flink's rule);
    // an ISO timestamp under the SQL standard leaves the rowtime NULL, which skips the row.
    assert_eq!(report.metrics.parse_errors_skipped, 2);
    assert_eq!(report.metrics.rows_read, 3);
    let rows: usize = results[0].batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 2);
}

#[test]
fn malformed_rows_fail_the_job_with_file_and_line_by_default() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "in/a.json",
        "{\"k\":\"a\",\"v\":1,\"ts\":\"2026-01-01 00:00:01\"}\n{\"k\":\"a\",\"v\":\"x\",\"ts\":\"2026-01-01 00:00:02\"}\n",
    );
    let script = format!("{}\nSELECT k, v FROM ev;", source(""));
    let err = session(dir.path()).execute(&script).unwrap_err();
    let text = err.to_string();
    assert_eq!(err.code(), "data.invalid");
    assert!(text.contains("a.json:2: field 'v'"), "{text}");
    assert!(text.contains("json.ignore-parse-errors"), "{text}");
    // A query that does not read v does not decode it (Flink's json format takes the
    // projection too): the same file runs.
    let script = format!("{}\nSELECT k FROM ev;", source(""));
    let (report, results) = session(dir.path()).execute_collect(&script).unwrap();
    assert_eq!(report.metrics.rows_read, 2);
    let rows: usize = results[0].batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 2);
}

#[test]
fn missing_fields_are_null_or_errors_as_the_options_say() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "in/a.json",
        "{\"k\":\"a\",\"ts\":\"2026-01-01 00:00:01\"}\n",
    );
    let script = format!("{}\nSELECT k, v FROM ev;", source(""));
    let (_, results) = session(dir.path()).execute_collect(&script).unwrap();
    assert!(results[0].batches[0].column(1).is_null(0));
    let strict = format!(
        "{}\nSELECT k, v FROM ev;",
        source(", 'json.fail-on-missing-field' = 'true'")
    );
    let err = session(dir.path()).execute(&strict).unwrap_err();
    assert!(err.to_string().contains("field 'v' is missing"), "{err}");
    let both = format!(
        "{}\nSELECT k FROM ev;",
        source(", 'json.fail-on-missing-field' = 'true', 'json.ignore-parse-errors' = 'true'")
    );
    let err = session(dir.path()).execute(&both).unwrap_err();
    assert_eq!(err.code(), "sql.option");
}

#[test]
fn iso_timestamps_need_the_iso_standard() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "in/a.json",
        "{\"k\":\"a\",\"v\":1,\"ts\":\"2026-02-12T10:30:00Z\"}\n",
    );
    let script = format!(
        "{}\nSELECT k, ts FROM ev;",
        source(", 'json.timestamp-format.standard' = 'ISO-8601'")
    );
    let (_, results) = session(dir.path()).execute_collect(&script).unwrap();
    assert_eq!(
        weir_engine::format::cell_text(results[0].batches[0].column(1), 0),
        "2026-02-12 10:30:00.000"
    );
}

#[test]
fn late_rows_are_dropped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    // Two files, two batches: after the first the watermark is 00:00:19; the second file's
    // 00:00:05 row belongs to [00:00:00, 00:00:10), which has fired.
    write(dir.path(), "in/1.json", "{\"k\":\"a\",\"v\":1,\"ts\":\"2026-01-01 00:00:01\"}\n{\"k\":\"a\",\"v\":1,\"ts\":\"2026-01-01 00:00:20\"}\n");
    write(dir.path(), "in/2.json", "{\"k\":\"a\",\"v\":100,\"ts\":\"2026-01-01 00:00:05\"}\n{\"k\":\"a\",\"v\":1,\"ts\":\"2026-01-01 00:00:21\"}\n");
    let script = format!(
        "{}\nSELECT window_start, SUM(v) FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end;",
        source("")
    );
    let (report, results) = session(dir.path()).execute_collect(&script).unwrap();
    assert_eq!(report.metrics.late_rows_dropped, 1);
    assert_eq!(report.metrics.windows_fired, 2);
    let sums: Vec<String> = results[0]
        .batches
        .iter()
        .flat_map(|b| {
            (0..b.num_rows())
                .map(|r| weir_engine::format::cell_text(b.column(1), r))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(sums, vec!["1", "2"]);
}

#[test]
fn duckdb_sink_creates_schema_and_table_and_appends() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "in/a.json", "{\"k\":\"a\",\"v\":1,\"ts\":\"2026-01-01 00:00:01.250\"}\n{\"k\":\"b\",\"v\":2,\"ts\":\"2026-01-01 00:00:02\"}\n");
    let script = format!(
        "{}\nCREATE TABLE cat.db.out (k STRING, v BIGINT, ts TIMESTAMP(3)) WITH ('connector' = 'duckdb', 'path' = 'out/x.duckdb', 'table-name' = 'analytics.out');\nINSERT INTO cat.db.out SELECT k, v, ts FROM ev;",
        source("")
    );
    let report = session(dir.path()).execute(&script).unwrap();
    let target = report.sinks[0].duckdb.clone().unwrap();
    assert_eq!(target.table, "analytics.out");
    assert_eq!(report.sinks[0].rows_written, 2);
    let page = query_duckdb(
        Path::new(&target.path),
        "SELECT k, v, ts FROM analytics.out ORDER BY k",
        10,
    )
    .unwrap();
    assert_eq!(page.total_rows, 2);
    assert_eq!(page.rows[0][0], serde_json::json!("a"));
    assert_eq!(page.rows[0][1], serde_json::json!(1));
    assert_eq!(
        page.rows[0][2],
        serde_json::json!("2026-01-01 00:00:01.250")
    );
    assert_eq!(page.columns[1].data_type, "BIGINT");
    // A second run appends to the same table.
    session(dir.path()).execute(&script).unwrap();
    let page = query_duckdb(
        Path::new(&target.path),
        "SELECT count(*) AS n FROM analytics.out",
        10,
    )
    .unwrap();
    assert_eq!(page.rows[0][0], serde_json::json!(4));
    // A result without rows still names its columns.
    let empty = query_duckdb(
        Path::new(&target.path),
        "SELECT k, v FROM analytics.out WHERE false",
        10,
    )
    .unwrap();
    assert_eq!((empty.total_rows, empty.columns.len()), (0, 2));
}

#[test]
fn a_failing_job_keeps_what_earlier_jobs_wrote() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "in/a.json",
        "{\"k\":\"a\",\"v\":1,\"ts\":\"2026-01-01 00:00:01\"}\n",
    );
    write(dir.path(), "bad/a.json", "not json\n");
    let script = format!(
        "{}\nCREATE TABLE bad (k STRING) WITH ('connector' = 'filesystem', 'path' = 'bad', 'format' = 'json');\nCREATE TABLE out (k STRING) WITH ('connector' = 'duckdb', 'path' = 'o.duckdb', 'table-name' = 'o');\nINSERT INTO out SELECT k FROM ev;\nINSERT INTO out SELECT k FROM bad;",
        source("")
    );
    let err = session(dir.path()).execute(&script).unwrap_err();
    assert_eq!(err.code(), "data.invalid");
    let page = query_duckdb(&dir.path().join("o.duckdb"), "SELECT k FROM o", 10).unwrap();
    assert_eq!(page.total_rows, 1, "the first job's row stays");
}

#[test]
fn nothing_runs_when_a_later_statement_is_unsupported() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "in/a.json",
        "{\"k\":\"a\",\"v\":1,\"ts\":\"2026-01-01 00:00:01\"}\n",
    );
    let script = format!(
        "{}\nCREATE TABLE out (k STRING) WITH ('connector' = 'duckdb', 'path' = 'o.duckdb', 'table-name' = 'o');\nINSERT INTO out SELECT k FROM ev;\nINSERT INTO out SELECT k FROM ev ORDER BY k;",
        source("")
    );
    let err = session(dir.path()).execute(&script).unwrap_err();
    assert_eq!(err.code(), "sql.unsupported");
    assert_eq!(err.span().map(|s| (s.line, s.column)), Some((4, 34)));
    assert!(!dir.path().join("o.duckdb").exists(), "no job may start");
}

#[test]
fn filesystem_sink_commits_visible_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let script = "CREATE TABLE out (k STRING, n INT, ts TIMESTAMP(3)) WITH ('connector' = 'filesystem', 'path' = 'file://OUT', 'format' = 'json');\nINSERT INTO out VALUES ('a', 1, TIMESTAMP '2026-01-01 00:00:00'), ('b', NULL, NULL);"
        .replace("OUT", &dir.path().join("sink").display().to_string());
    session(dir.path()).execute(&script).unwrap();
    let files: Vec<_> = std::fs::read_dir(dir.path().join("sink"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    let name = files[0].file_name().unwrap().to_string_lossy().to_string();
    assert!(
        name.starts_with("part-") && name.ends_with(".json"),
        "{name}"
    );
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines[0],
        serde_json::json!({"k": "a", "n": 1, "ts": "2026-01-01 00:00:00.000"})
    );
    assert_eq!(lines[1]["n"], serde_json::Value::Null);
}

#[test]
fn explain_prints_the_streaming_plan_without_running() {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "{}\nEXPLAIN PLAN FOR SELECT window_start, COUNT(*) FROM TABLE(HOP(TABLE ev, DESCRIPTOR(ts), INTERVAL '1' MINUTE, INTERVAL '5' MINUTE)) WHERE v > 0 GROUP BY window_start, window_end;",
        source("")
    );
    // No input folder exists: EXPLAIN must not open the source.
    let (report, results) = session(dir.path()).execute_collect(&script).unwrap();
    assert_eq!(report.metrics.rows_read, 0);
    let plan = results[0].plan.clone().unwrap();
    for part in [
        "Source: ev",
        "Reads: v, ts (the other columns are not decoded)",
        "WindowAssigner: HOP panes of 60000ms",
        "Filter:",
        "WindowAggregate: HOP",
        "Sink: (query result)",
    ] {
        assert!(plan.contains(part), "{part} missing from\n{plan}");
    }
}

#[test]
fn window_join_drops_and_counts_rows_of_windows_already_joined() {
    let dir = tempfile::tempdir().unwrap();
    // The join reads a batch (a file) of each input in turn: after ev's first file (its
    // watermark 00:00:19) and rt's file (00:00:21) the join's watermark is 00:00:19 and
    // [00:00:00, 00:00:10) has been joined, so ev's second file's 00:00:05 row is late.
    write(dir.path(), "in/1.json", "{\"k\":\"a\",\"v\":1,\"ts\":\"2026-01-01 00:00:01\"}\n{\"k\":\"a\",\"v\":2,\"ts\":\"2026-01-01 00:00:20\"}\n");
    write(dir.path(), "in/2.json", "{\"k\":\"a\",\"v\":100,\"ts\":\"2026-01-01 00:00:05\"}\n{\"k\":\"a\",\"v\":3,\"ts\":\"2026-01-01 00:00:21\"}\n");
    write(dir.path(), "rt/1.json", "{\"k\":\"a\",\"w\":10,\"ts\":\"2026-01-01 00:00:02\"}\n{\"k\":\"a\",\"w\":20,\"ts\":\"2026-01-01 00:00:22\"}\n");
    let script = format!(
        "{}\nCREATE TABLE rt (k STRING, w INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'filesystem', 'path' = 'rt', 'format' = 'json');
        SELECT L.v, R.w FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND)) L
        JOIN TABLE(TUMBLE(TABLE rt, DESCRIPTOR(ts), INTERVAL '10' SECOND)) R
        ON L.window_start = R.window_start AND L.window_end = R.window_end AND L.k = R.k;",
        source("")
    );
    let (report, results) = session(dir.path()).execute_collect(&script).unwrap();
    assert_eq!(report.metrics.late_rows_dropped, 1);
    let mut rows: Vec<String> = results[0]
        .batches
        .iter()
        .flat_map(|b| {
            (0..b.num_rows())
                .map(|r| {
                    format!(
                        "{} {}",
                        weir_engine::format::cell_text(b.column(0), r),
                        weir_engine::format::cell_text(b.column(1), r)
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    rows.sort();
    assert_eq!(rows, ["1 10", "2 20", "3 20"]);
}

/// Each watermark that makes a window fire is timed from the input that moved it to the sink;
/// rows that fire nothing are not.
#[test]
fn firings_are_timed_from_the_input_to_the_sink() {
    let dir = tempfile::tempdir().unwrap();
    // Four 10-second windows (watermark = ts - 1 s): the rows at 00:00:12, :22 and :31 each
    // move the watermark past one window's end; the end of input fires the last.
    let rows: Vec<String> = [1, 4, 12, 15, 22, 31]
        .iter()
        .map(|s| format!(r#"{{"k":"a","v":1,"ts":"2026-01-01 00:00:{s:02}"}}"#))
        .collect();
    write(dir.path(), "in/a.json", &rows.join("\n"));
    let windowed = format!(
        "{}\nCREATE TABLE o (ws TIMESTAMP(3), n BIGINT) WITH ('connector' = 'blackhole');\nINSERT INTO o SELECT window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end;",
        source("")
    );
    let m = session(dir.path()).execute(&windowed).unwrap().metrics;
    assert_eq!(m.windows_fired, 4);
    assert_eq!(m.firings_timed, 4, "{m:?}");
    assert!(m.firing_latency_max_us * m.firings_timed >= m.firing_latency_total_us);
    let plain = format!(
        "{}\nCREATE TABLE p (k STRING) WITH ('connector' = 'blackhole');\nINSERT INTO p SELECT k FROM ev;",
        source("")
    );
    let m = session(dir.path()).execute(&plain).unwrap().metrics;
    assert_eq!((m.rows_written, m.firings_timed), (6, 0));
}

/// A window join's firings and an interval join's padded rows are timed like a window
/// aggregation's firings; an interval join's inner matches, emitted as rows arrive, are not.
#[test]
fn join_firings_are_timed() {
    let dir = tempfile::tempdir().unwrap();
    let rows = |rows: &[(&str, u32)]| {
        rows.iter()
            .map(|(k, s)| format!(r#"{{"k":"{k}","ts":"2026-01-01 00:00:{s:02}"}}"#))
            .collect::<Vec<_>>()
            .join("\n")
    };
    write(
        dir.path(),
        "l/a.json",
        &rows(&[("a", 1), ("c", 5), ("b", 12)]),
    );
    write(dir.path(), "r/a.json", &rows(&[("a", 2), ("b", 13)]));
    let tables = "CREATE TABLE lt (k STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'filesystem', 'path' = 'l', 'format' = 'json');
        CREATE TABLE rt (k STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'filesystem', 'path' = 'r', 'format' = 'json');
        CREATE TABLE o (a STRING, b STRING) WITH ('connector' = 'blackhole');";
    let metrics = |query: &str| {
        session(dir.path())
            .execute(&format!("{tables}\nINSERT INTO o {query};"))
            .unwrap()
            .metrics
    };
    // The left file, then the right: the join's watermark reaches 00:00:11 and fires the
    // window ending at 00:00:10; the end of input fires the one ending at 00:00:20.
    let m = metrics("SELECT L.k, R.k FROM TABLE(TUMBLE(TABLE lt, DESCRIPTOR(ts), INTERVAL '10' SECOND)) L JOIN TABLE(TUMBLE(TABLE rt, DESCRIPTOR(ts), INTERVAL '10' SECOND)) R ON L.window_start = R.window_start AND L.window_end = R.window_end AND L.k = R.k");
    assert_eq!((m.rows_written, m.firings_timed), (2, 2), "{m:?}");
    // a@01 and b@12 match on arrival; c@05 is padded when the watermark passes 00:00:07.
    let interval =
        "FROM lt L {} JOIN rt R ON L.k = R.k AND R.ts BETWEEN L.ts AND L.ts + INTERVAL '2' SECOND";
    let m = metrics(&format!(
        "SELECT L.k, R.k {}",
        interval.replace("{}", "LEFT")
    ));
    assert_eq!((m.rows_written, m.firings_timed), (3, 1), "{m:?}");
    let m = metrics(&format!("SELECT L.k, R.k {}", interval.replace("{}", "")));
    assert_eq!((m.rows_written, m.firings_timed), (2, 0), "{m:?}");
}
