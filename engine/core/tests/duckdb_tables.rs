//! DuckDB tables end to end, against real DuckDB files: a keyed table takes a changelog and
//! ends with the final row per key, a window job rerun is idempotent, catalog names resolve to
//! DuckDB schemas and tables, and mistakes are errors at their position that create nothing.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};
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

/// The rows of `sql` over the database `db`, as JSON values.
fn rows(db: &Path, sql: &str) -> Vec<Vec<Value>> {
    query_duckdb(db, sql, usize::MAX).unwrap().rows
}

/// Clicks in three files (three source batches, so counts are updated across them): user `a`
/// reaches 3 in the second file, `c` in the third.
const CLICKS: [&[&str]; 3] = [&["a", "a", "b"], &["a", "c", "c"], &["b", "c", "d"]];

fn write_clicks(dir: &Path) -> BTreeMap<String, i64> {
    let mut counts = BTreeMap::new();
    for (i, users) in CLICKS.iter().enumerate() {
        let text: String = users
            .iter()
            .map(|u| {
                *counts.entry(u.to_string()).or_insert(0) += 1;
                format!("{{\"user_id\":\"{u}\",\"page\":\"p\"}}\n")
            })
            .collect();
        write(dir, &format!("clicks/{i}.json"), &text);
    }
    counts
}

const CLICKS_DDL: &str = "CREATE TEMPORARY TABLE clicks (user_id STRING, page STRING) WITH ('connector' = 'filesystem', 'path' = 'clicks', 'format' = 'json');";

fn as_pairs(rows: Vec<Vec<Value>>) -> Vec<(String, i64)> {
    rows.into_iter()
        .map(|r| (r[0].as_str().unwrap().to_string(), r[1].as_i64().unwrap()))
        .collect()
}

#[test]
fn a_group_by_changelog_ends_as_the_final_count_per_key() {
    let dir = tempfile::tempdir().unwrap();
    let counts = write_clicks(dir.path());
    let script = format!(
        "{CLICKS_DDL}
CREATE TABLE per_user (user_id STRING, n BIGINT, PRIMARY KEY (user_id) NOT ENFORCED)
WITH ('connector' = 'duckdb', 'path' = 'out.duckdb', 'table-name' = 'an.per_user');
INSERT INTO per_user SELECT user_id, COUNT(*) FROM clicks GROUP BY user_id;"
    );
    let report = session(dir.path()).execute(&script).unwrap();
    // The changelog had updates (-U/+U), not one row per key.
    assert!(report.sinks[0].rows_written > counts.len() as u64);
    let db = dir.path().join("out.duckdb");
    let expected: Vec<(String, i64)> = counts.into_iter().collect();
    assert_eq!(
        as_pairs(rows(&db, "SELECT user_id, n FROM an.per_user ORDER BY 1")),
        expected
    );
}

#[test]
fn a_row_that_leaves_a_having_result_is_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let counts = write_clicks(dir.path());
    let script = format!(
        "{CLICKS_DDL}
CREATE TABLE few (user_id STRING, n BIGINT, PRIMARY KEY (user_id) NOT ENFORCED)
WITH ('connector' = 'duckdb', 'path' = 'out.duckdb', 'table-name' = 'few');
INSERT INTO few SELECT user_id, COUNT(*) FROM clicks GROUP BY user_id HAVING COUNT(*) < 3;"
    );
    session(dir.path()).execute(&script).unwrap();
    let expected: Vec<(String, i64)> = counts.into_iter().filter(|(_, n)| *n < 3).collect();
    // `a` and `c` were in the result with 2 before they reached 3.
    assert_eq!(expected, [("b".to_string(), 2), ("d".to_string(), 1)]);
    assert_eq!(
        as_pairs(rows(
            &dir.path().join("out.duckdb"),
            "SELECT * FROM few ORDER BY 1"
        )),
        expected
    );
}

#[test]
fn rerunning_a_window_job_leaves_one_row_per_window_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut events = String::new();
    let mut expected: BTreeMap<(i64, String), i64> = BTreeMap::new();
    for i in 0..40i64 {
        let (k, sec) = (["x", "y", "z"][(i % 3) as usize], i * 2);
        events.push_str(&format!(
            "{{\"k\":\"{k}\",\"ts\":\"2026-01-01 00:{:02}:{:02}\"}}\n",
            sec / 60,
            sec % 60
        ));
        *expected.entry((sec / 30 * 30, k.to_string())).or_insert(0) += 1;
    }
    write(dir.path(), "ev/a.json", &events);
    let script =
        "CREATE TABLE ev (k STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'filesystem', 'path' = 'ev', 'format' = 'json');
CREATE TABLE per_window (window_start TIMESTAMP(3), k STRING, n BIGINT,
  PRIMARY KEY (window_start, k) NOT ENFORCED)
WITH ('connector' = 'duckdb', 'path' = 'out.duckdb', 'table-name' = 'w');
INSERT INTO per_window
SELECT window_start, k, COUNT(*) FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '30' SECOND))
GROUP BY window_start, window_end, k;";
    let db = dir.path().join("out.duckdb");
    let read = || {
        rows(
            &db,
            "SELECT epoch(window_start)::BIGINT - epoch(TIMESTAMP '2026-01-01')::BIGINT, k, n FROM w ORDER BY 1, 2",
        )
    };
    let expected: Vec<Vec<Value>> = expected
        .into_iter()
        .map(|((s, k), n)| vec![json!(s), json!(k), json!(n)])
        .collect();
    session(dir.path()).execute(script).unwrap();
    assert_eq!(read(), expected);
    session(dir.path()).execute(script).unwrap();
    assert_eq!(read(), expected, "the second run replaced, not appended");
}

const CATALOG: &str =
    "CREATE CATALOG polaris WITH ('type' = 'duckdb', 'path' = 'lake/polaris.duckdb');";

#[test]
fn catalog_tables_live_in_the_catalogs_duckdb_file() {
    let dir = tempfile::tempdir().unwrap();
    let counts = write_clicks(dir.path());
    let db = dir.path().join("lake/polaris.duckdb");
    let mut s = session(dir.path());
    // The init file creates the table (with its key) and nothing else.
    s.execute_init(&format!(
        "{CATALOG}
CREATE TABLE IF NOT EXISTS polaris.matih_analytics.per_user (
  user_id STRING, n BIGINT, PRIMARY KEY (user_id) NOT ENFORCED);"
    ))
    .unwrap();
    assert_eq!(
        rows(&db, "SELECT constraint_column_names::VARCHAR FROM duckdb_constraints() WHERE schema_name = 'matih_analytics' AND table_name = 'per_user' AND constraint_type = 'PRIMARY KEY'"),
        [[json!("[user_id]")]]
    );
    assert!(rows(&db, "SELECT * FROM matih_analytics.per_user").is_empty());
    let report = s
        .execute(&format!(
            "{CLICKS_DDL}
INSERT INTO polaris.matih_analytics.per_user SELECT user_id, COUNT(*) FROM clicks GROUP BY user_id;"
        ))
        .unwrap();
    let target = report.sinks[0].duckdb.clone().unwrap();
    assert_eq!(target.table, "matih_analytics.per_user");
    assert_eq!(Path::new(&target.path), db);
    let expected: Vec<(String, i64)> = counts.clone().into_iter().collect();
    assert_eq!(
        as_pairs(rows(
            &db,
            "SELECT * FROM matih_analytics.per_user ORDER BY 1"
        )),
        expected
    );

    // A later session knows the table from the file alone: its columns, and its key (so
    // this INSERT updates `a` rather than adding a row).
    session(dir.path())
        .execute(&format!(
            "{CATALOG}\nINSERT INTO polaris.matih_analytics.per_user VALUES ('a', 100);"
        ))
        .unwrap();
    let mut updated = counts.clone();
    updated.insert("a".into(), 100);
    let updated: Vec<(String, i64)> = updated.into_iter().collect();
    assert_eq!(
        as_pairs(rows(
            &db,
            "SELECT * FROM matih_analytics.per_user ORDER BY 1"
        )),
        updated
    );

    // USE makes shorter names resolve; a catalog table is also read as a bounded source,
    // including by a job that writes to another table of the same file.
    let (_, results) = session(dir.path())
        .execute_collect(&format!(
            "{CATALOG}
USE CATALOG polaris;
USE matih_analytics;
CREATE TABLE top (user_id STRING, n BIGINT);
INSERT INTO top SELECT user_id, n FROM per_user WHERE n > 2;
SELECT user_id FROM polaris.matih_analytics.top;"
        ))
        .unwrap();
    let expected_top = updated.iter().filter(|(_, n)| *n > 2).count() as i64;
    let read: usize = results[0].batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(read as i64, expected_top);
    assert_eq!(
        rows(&db, "SELECT count(*) FROM matih_analytics.top"),
        [[json!(expected_top)]]
    );
}

#[test]
fn create_database_and_default_database_place_tables() {
    let dir = tempfile::tempdir().unwrap();
    let script = "CREATE CATALOG c WITH ('type' = 'duckdb', 'path' = 'c.duckdb', 'default-database' = 'sales');
CREATE DATABASE c.sales;
CREATE DATABASE IF NOT EXISTS c.sales;
USE CATALOG c;
CREATE TABLE orders (id BIGINT);
INSERT INTO orders VALUES (1), (2);";
    // Flink's default catalog names the session's own tables, here one that does not exist.
    let e = error(
        dir.path(),
        &format!("{script}\nINSERT INTO default_catalog.default_database.scratch VALUES (1);"),
    );
    assert!(
        e.to_string()
            .contains("table 'default_catalog.default_database.scratch' is not declared"),
        "{e}"
    );
    // The script failed to plan: nothing was created.
    assert!(!dir.path().join("c.duckdb").exists());
    session(dir.path()).execute(script).unwrap();
    assert_eq!(
        rows(
            &dir.path().join("c.duckdb"),
            "SELECT sum(id)::BIGINT FROM sales.orders"
        ),
        [[json!(3)]]
    );
}

/// The error of running `script` in a fresh session of `dir`.
fn error(dir: &Path, script: &str) -> weir_engine::Error {
    match session(dir).execute(script) {
        Ok(_) => panic!("no error from\n{script}"),
        Err(e) => e,
    }
}

fn at(e: &weir_engine::Error) -> (u32, u32) {
    let span = e.span().unwrap_or_else(|| panic!("no position in {e}"));
    (span.line, span.column)
}

#[test]
fn catalog_mistakes_are_errors_at_their_position() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    let e = error(d, "INSERT INTO\n  lake.db.t VALUES (1);");
    assert_eq!((e.code(), at(&e)), ("sql.invalid", (2, 3)));
    assert!(
        e.to_string()
            .contains("catalog 'lake' is not declared (none is declared): add CREATE CATALOG lake"),
        "{e}"
    );

    let e = error(d, &format!("{CATALOG}\nSELECT * FROM\n  nope.db.t;"));
    assert_eq!(at(&e), (3, 3));
    assert!(
        e.to_string()
            .contains("catalog 'nope' is not declared (declared: polaris)"),
        "{e}"
    );

    let e = error(
        d,
        &format!("{CATALOG}\nINSERT INTO polaris.db.missing VALUES (1);"),
    );
    assert_eq!(at(&e), (2, 13));
    assert!(
        e.to_string()
            .contains("table 'polaris.db.missing' does not exist in catalog 'polaris'"),
        "{e}"
    );

    let e = error(
        d,
        "CREATE CATALOG p WITH ('type' = 'duckdb',\n 'pth' = 'x');",
    );
    assert_eq!((e.code(), at(&e)), ("sql.option", (2, 2)));
    assert!(
        e.to_string().contains(
            "catalog 'p': option 'pth': not an option of a duckdb catalog; did you mean 'path'?"
        ),
        "{e}"
    );

    let e = error(
        d,
        "CREATE CATALOG p WITH ('type' = 'iceberg', 'path' = 'x');",
    );
    assert_eq!(e.code(), "sql.unsupported");

    let e = error(d, "CREATE CATALOG p WITH ('type' = 'duckdb');");
    assert!(e.to_string().contains("option 'path': is required"), "{e}");

    let e = error(
        d,
        &format!("{CATALOG}\nCREATE CATALOG polaris WITH ('type' = 'duckdb', 'path' = 'y');"),
    );
    assert!(
        e.to_string().contains("catalog 'polaris' already exists"),
        "{e}"
    );

    let e = error(
        d,
        &format!("{CATALOG}\nCREATE TABLE polaris.db.t (a INT) WITH ('format-version' = '2');"),
    );
    assert_eq!((e.code(), at(&e)), ("sql.option", (2, 41)));
    assert!(e.to_string().contains("takes no WITH options"), "{e}");

    let e = error(d, &format!("{CATALOG}\nUSE CATALOG polar;"));
    assert_eq!(at(&e), (2, 13));

    let e = error(d, &format!("{CATALOG}\nUSE polaris.nodb;"));
    assert!(
        e.to_string()
            .contains("database 'nodb' does not exist in catalog 'polaris'"),
        "{e}"
    );

    // An append-only DuckDB table says how to make it take the changelog.
    let e = error(
        d,
        &format!(
            "{CLICKS_DDL}\nCREATE TABLE t (user_id STRING, n BIGINT) WITH ('connector' = 'duckdb', 'path' = 'x.duckdb', 'table-name' = 't');\nINSERT INTO t SELECT user_id, COUNT(*) FROM clicks GROUP BY user_id;"
        ),
    );
    assert_eq!(at(&e), (3, 13));
    assert!(
        e.to_string().contains(
            "table 't' (connector 'duckdb') only takes appends, but the query's result is updating"
        ),
        "{e}"
    );
    assert!(
        e.to_string().contains(
            "Declare PRIMARY KEY (...) NOT ENFORCED on the table to make it an upsert sink"
        ),
        "{e}"
    );

    // None of these created a database file.
    assert!(!d.join("lake").exists() && !d.join("x.duckdb").exists());

    // A table created twice in the catalog, across sessions.
    let create = format!("{CATALOG}\nCREATE TABLE polaris.db.t (a INT);");
    session(d).execute(&create).unwrap();
    let e = error(d, &create);
    assert_eq!(at(&e), (2, 1));
    assert!(
        e.to_string()
            .contains("table 'polaris.db.t' already exists in catalog 'polaris'"),
        "{e}"
    );
    session(d)
        .execute(&create.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS"))
        .unwrap();
}

#[test]
fn init_files_prepare_and_explain_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let e = session(d)
        .execute_init("SET 'parallelism.default' = '1';\nINSERT INTO t VALUES (1);")
        .unwrap_err();
    assert_eq!(at(&e), (2, 1));
    assert!(
        e.to_string().contains("an init file prepares the session"),
        "{e}"
    );

    let mut s = session(d);
    s.explain_init(&format!(
        "{CATALOG}\nCREATE TABLE polaris.db.t (k STRING, n BIGINT, PRIMARY KEY (k) NOT ENFORCED);"
    ))
    .unwrap();
    let plans = s
        .explain_script("INSERT INTO polaris.db.t VALUES ('a', 1);")
        .unwrap();
    assert!(
        plans[0].contains("Sink: polaris.db.t (duckdb, upsert on k)"),
        "{}",
        plans[0]
    );
    assert!(
        !d.join("lake").exists(),
        "EXPLAIN created the catalog's file"
    );
}
