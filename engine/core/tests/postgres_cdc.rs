//! The `postgres-cdc` connector against a real PostgreSQL: scripts/postgres.sh starts it and
//! prints WEIR_TEST_PG (scripts/test.sh does both). The snapshot, changes as a changelog with
//! the declared types, resuming from the slot after a restart, and errors that name the option.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use postgres::{Client, NoTls};
use weir_api::JobMetrics;
use weir_engine::connectors::{open_source, Poll, Source, SourceOffset};
use weir_engine::format::row_print;
use weir_engine::operators::group_aggregate::{row_kinds, without_op, RowKind};
use weir_engine::sql::{parse_script, Statement, TableDef};
use weir_engine::{RunOptions, Session};

/// The test server's connection, a libpq `key=value` string.
fn server() -> HashMap<String, String> {
    let text = std::env::var("WEIR_TEST_PG").unwrap_or_else(|_| {
        panic!(
            "WEIR_TEST_PG is not set: these tests need the project's PostgreSQL. Start it with \
             `export \"$(scripts/postgres.sh start)\"` (scripts/test.sh does this)"
        )
    });
    text.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
        .collect()
}

fn connect(database: &str) -> Client {
    let s = server();
    postgres::Config::new()
        .host(&s["host"])
        .port(s["port"].parse().unwrap())
        .user(&s["user"])
        .password(&s["password"])
        .dbname(database)
        .connect(NoTls)
        .unwrap()
}

/// Drops a slot (when no one reads it), its publication and a table.
fn cleanup(db: &mut Client, table: &str, slot: &str) {
    db.batch_execute(&format!(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '{slot}' AND NOT active; \
         DROP PUBLICATION IF EXISTS {slot}; DROP TABLE IF EXISTS {table}"
    ))
    .unwrap();
}

/// A PostgreSQL table of the test database with its own slot name, dropped with its slot and
/// publication at the end. `{t}` in SQL stands for the table's name.
struct Fixture {
    table: String,
    slot: String,
    db: Client,
}

impl Fixture {
    fn new(name: &str, ddl: &str) -> Fixture {
        let table = format!("{name}_{}", std::process::id());
        let slot = format!("s_{table}");
        let mut db = connect(&server()["dbname"]);
        cleanup(&mut db, &table, &slot);
        let mut f = Fixture { table, slot, db };
        f.exec(ddl);
        f
    }

    fn exec(&mut self, sql: &str) {
        self.db
            .batch_execute(&sql.replace("{t}", &self.table))
            .unwrap();
    }

    /// The Weir table reading this one: `columns` as declared, extra options appended.
    fn def(&self, columns: &str, extra: &[(&str, &str)]) -> TableDef {
        let s = server();
        let mut options = vec![
            ("connector", "postgres-cdc".to_string()),
            ("hostname", s["host"].clone()),
            ("port", s["port"].clone()),
            ("username", s["user"].clone()),
            ("password", s["password"].clone()),
            ("database-name", s["dbname"].clone()),
            ("schema-name", "public".to_string()),
            ("table-name", self.table.clone()),
            ("slot.name", self.slot.clone()),
            ("decoding.plugin.name", "pgoutput".to_string()),
        ];
        for (k, v) in extra {
            match options.iter_mut().find(|(key, _)| key == k) {
                Some(o) => o.1 = v.to_string(),
                None => options.push((k, v.to_string())),
            }
        }
        let with: Vec<String> = options
            .iter()
            .map(|(k, v)| format!("'{k}' = '{v}'"))
            .collect();
        table_def(&format!(
            "CREATE TABLE cdc ({columns}) WITH (\n{})",
            with.join(",\n")
        ))
    }

    /// The slot's confirmed position, if the slot exists.
    fn slot_position(&mut self) -> Option<String> {
        self.db
            .query_opt(
                "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1",
                &[&self.slot],
            )
            .unwrap()
            .map(|r| r.get(0))
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        cleanup(&mut self.db, &self.table, &self.slot);
    }
}

fn table_def(sql: &str) -> TableDef {
    match parse_script(sql, &HashMap::new()).unwrap().remove(0) {
        Statement::CreateTable(t) => *t,
        other => panic!("{other:?}"),
    }
}

fn open(def: &TableDef) -> Box<dyn Source> {
    match open_source(def, Path::new(".")) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    }
}

fn open_error(def: &TableDef) -> String {
    match open_source(def, Path::new(".")) {
        Ok(_) => panic!("opened"),
        Err(e) => e.to_string(),
    }
}

/// Rows as Flink's print sink writes them: `+I[a, 1]`.
fn printed(batch: &RecordBatch) -> Vec<String> {
    let kinds = row_kinds(batch).expect("a changelog batch");
    let values = without_op(batch);
    (0..batch.num_rows())
        .map(|r| row_print(&values, r, RowKind::from_i8(kinds.value(r))))
        .collect()
}

/// Everything the source has until it is idle (or ends).
fn read_until_idle(source: &mut dyn Source) -> Vec<String> {
    let mut metrics = JobMetrics::default();
    let mut rows = Vec::new();
    loop {
        match source.poll_batch(&mut metrics).unwrap() {
            Poll::Batch(b) => rows.extend(printed(&b)),
            Poll::Idle | Poll::End => break,
            Poll::PartitionBatch(..) => panic!("postgres-cdc has one partition"),
        }
    }
    assert_eq!(metrics.rows_read, rows.len() as u64);
    rows
}

fn sorted(mut rows: Vec<String>) -> Vec<String> {
    rows.sort();
    rows
}

const TYPED_TABLE: &str = "CREATE TABLE {t} (id text PRIMARY KEY, n integer, amount numeric(12, 3), \
    price double precision, at timestamp(6), note text, flag boolean, day date, meta jsonb); \
    ALTER TABLE {t} REPLICA IDENTITY FULL; \
    INSERT INTO {t} VALUES \
    ('a', 1, 12.345, 1.5, '2026-02-12 10:30:00.123456', 'it''s \"quoted\"', true, '2026-02-12', '{\"k\": 1}'), \
    ('b', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), \
    ('ü', -7, -0.001, -2.25e10, '1999-12-31 23:59:59.999999', 'Grüße 🌊', false, '1999-12-31', '[]')";

const TYPED_COLUMNS: &str =
    "id STRING, n INT, amount DECIMAL(10, 2), price DOUBLE, at TIMESTAMP(3), \
    note STRING, flag BOOLEAN, day DATE, meta STRING, PRIMARY KEY (id) NOT ENFORCED";

#[test]
fn snapshot_then_inserts_updates_deletes_as_a_typed_changelog() {
    let mut f = Fixture::new("typed", TYPED_TABLE);
    let def = f.def(TYPED_COLUMNS, &[("scan.snapshot.fetch.size", "2")]);
    let mut source = open(&def);
    assert_eq!(
        source.schema().fields().last().unwrap().name(),
        "__op",
        "a changelog source's batches end with the row kind"
    );
    assert_eq!(
        sorted(read_until_idle(source.as_mut())),
        [
            "+I[a, 1, 12.35, 1.5, 2026-02-12 10:30:00.123, it's \"quoted\", true, 2026-02-12, {\"k\": 1}]",
            "+I[b, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL]",
            "+I[ü, -7, 0.00, -22500000000.0, 1999-12-31 23:59:59.999, Grüße 🌊, false, 1999-12-31, []]",
        ]
    );
    f.exec(
        "INSERT INTO {t} VALUES ('c', 3, 1, 0.5, '2026-01-01 00:00:00', 'new', true, '2026-01-01', 'null'); \
         BEGIN; UPDATE {t} SET n = 2, note = 'x' WHERE id = 'a'; DELETE FROM {t} WHERE id = 'b'; COMMIT",
    );
    assert_eq!(
        read_until_idle(source.as_mut()),
        [
            "+I[c, 3, 1.00, 0.5, 2026-01-01 00:00:00.000, new, true, 2026-01-01, null]",
            "-U[a, 1, 12.35, 1.5, 2026-02-12 10:30:00.123, it's \"quoted\", true, 2026-02-12, {\"k\": 1}]",
            "+U[a, 2, 12.35, 1.5, 2026-02-12 10:30:00.123, x, true, 2026-02-12, {\"k\": 1}]",
            "-D[b, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL]",
        ]
    );
    let SourceOffset::Postgres { lsn } = source.offset() else {
        panic!("{:?}", source.offset())
    };
    assert!(lsn > 0);
}

#[test]
fn default_replica_identity_gives_the_key_in_update_before_and_delete() {
    let mut f = Fixture::new(
        "keyed",
        "CREATE TABLE {t} (id int PRIMARY KEY, v text); INSERT INTO {t} VALUES (1, 'one')",
    );
    let mut source = open(&f.def("id INT, v STRING", &[]));
    assert_eq!(read_until_idle(source.as_mut()), ["+I[1, one]"]);
    f.exec("UPDATE {t} SET v = 'uno' WHERE id = 1; UPDATE {t} SET id = 2 WHERE id = 1; DELETE FROM {t}");
    assert_eq!(
        read_until_idle(source.as_mut()),
        [
            "-U[1, NULL]",
            "+U[1, uno]",
            "-U[1, NULL]",
            "+U[2, uno]",
            "-D[2, NULL]"
        ],
        "without REPLICA IDENTITY FULL only the key of the old row is known"
    );
    drop(source);
    // changelog-mode upsert: no -U rows.
    let mut f2 = Fixture::new("upsert", "CREATE TABLE {t} (id int PRIMARY KEY, v text)");
    let def = f2.def(
        "id INT, v STRING, PRIMARY KEY (id) NOT ENFORCED",
        &[("changelog-mode", "upsert")],
    );
    let mut source = open(&def);
    assert!(read_until_idle(source.as_mut()).is_empty());
    f2.exec("INSERT INTO {t} VALUES (1, 'a'); UPDATE {t} SET v = 'b'; DELETE FROM {t}");
    assert_eq!(
        read_until_idle(source.as_mut()),
        ["+I[1, a]", "+U[1, b]", "-D[1, NULL]"]
    );
}

#[test]
fn unchanged_large_values_come_from_the_full_old_row_or_fail_clearly() {
    // 64 kB of hex does not compress enough to stay inline: PostgreSQL stores it out of line
    // and does not log it again when an update leaves it unchanged.
    let big = "(SELECT string_agg(md5(i::text), '') FROM generate_series(1, 2000) i)";
    let mut f = Fixture::new(
        "toast",
        &format!("CREATE TABLE {{t}} (id int PRIMARY KEY, n int, doc text); ALTER TABLE {{t}} REPLICA IDENTITY FULL; INSERT INTO {{t}} VALUES (1, 0, {big})"),
    );
    let mut source = open(&f.def("id INT, n INT, doc STRING", &[]));
    let snapshot = read_until_idle(source.as_mut());
    assert_eq!(snapshot.len(), 1);
    f.exec("UPDATE {t} SET n = 1");
    let changes = read_until_idle(source.as_mut());
    assert_eq!(changes.len(), 2);
    assert!(
        changes[1].starts_with("+U[1, 1, c4ca4238"),
        "{}",
        &changes[1][..40]
    );
    assert_eq!(
        changes[1].len(),
        snapshot[0].len(),
        "the unchanged document is whole"
    );
    drop(source);

    let mut g = Fixture::new(
        "toastkey",
        &format!("CREATE TABLE {{t}} (id int PRIMARY KEY, n int, doc text); INSERT INTO {{t}} VALUES (1, 0, {big})"),
    );
    let mut source = open(&g.def("id INT, n INT, doc STRING", &[]));
    read_until_idle(source.as_mut());
    g.exec("UPDATE {t} SET n = 1");
    let mut metrics = JobMetrics::default();
    let err = loop {
        match source.poll_batch(&mut metrics) {
            Ok(Poll::Batch(_)) => continue,
            Ok(other) => panic!("{other:?}"),
            Err(e) => break e.to_string(),
        }
    };
    assert!(
        err.contains("column 'doc'") && err.contains("REPLICA IDENTITY FULL"),
        "{err}"
    );
}

#[test]
fn a_restarted_source_resumes_after_the_last_commit_without_loss_or_repeats() {
    let mut f = Fixture::new(
        "resume",
        "CREATE TABLE {t} (id int PRIMARY KEY, v text); INSERT INTO {t} VALUES (1, 'a')",
    );
    let def = f.def("id INT, v STRING", &[]);
    let mut source = open(&def);
    assert_eq!(read_until_idle(source.as_mut()), ["+I[1, a]"]);
    assert_eq!(
        f.slot_position(),
        None,
        "the slot is created only when the snapshot is committed"
    );
    source.commit().unwrap();
    let after_snapshot = f.slot_position().expect("the slot exists after the commit");
    f.exec("INSERT INTO {t} VALUES (2, 'b')");
    assert_eq!(read_until_idle(source.as_mut()), ["+I[2, b]"]);
    source.commit().unwrap();
    let acknowledged = f.slot_position().unwrap();
    assert_ne!(acknowledged, after_snapshot, "commit moved the slot");
    drop(source);

    // Changes while no job runs are kept by the slot.
    f.exec("INSERT INTO {t} VALUES (3, 'c'); UPDATE {t} SET v = 'bb' WHERE id = 2");
    let mut source = open(&def);
    assert_eq!(
        read_until_idle(source.as_mut()),
        ["+I[3, c]", "-U[2, NULL]", "+U[2, bb]"],
        "no snapshot again, nothing before the commit, nothing lost"
    );
    source.commit().unwrap();
    drop(source);
    let mut source = open(&def);
    assert!(read_until_idle(source.as_mut()).is_empty());
}

#[test]
fn changes_not_committed_are_delivered_again_after_a_restart() {
    let mut f = Fixture::new("redeliver", "CREATE TABLE {t} (id int PRIMARY KEY)");
    let def = f.def("id INT", &[]);
    let mut source = open(&def);
    assert!(read_until_idle(source.as_mut()).is_empty());
    source.commit().unwrap();
    f.exec("INSERT INTO {t} VALUES (1); INSERT INTO {t} VALUES (2)");
    assert_eq!(read_until_idle(source.as_mut()), ["+I[1]", "+I[2]"]);
    drop(source); // no commit: the sink did not take them
    let mut source = open(&def);
    assert_eq!(read_until_idle(source.as_mut()), ["+I[1]", "+I[2]"]);
    source.commit().unwrap();
    drop(source);
    let mut source = open(&def);
    assert!(read_until_idle(source.as_mut()).is_empty());
}

#[test]
fn a_snapshot_not_committed_is_taken_again() {
    let mut f = Fixture::new(
        "resnap",
        "CREATE TABLE {t} (id int PRIMARY KEY); INSERT INTO {t} SELECT generate_series(1, 5)",
    );
    let def = f.def("id INT", &[("scan.snapshot.fetch.size", "2")]);
    let mut source = open(&def);
    let mut metrics = JobMetrics::default();
    let Poll::Batch(first) = source.poll_batch(&mut metrics).unwrap() else {
        panic!()
    };
    assert_eq!(first.num_rows(), 2);
    source.commit().unwrap(); // mid-snapshot: nothing is durable yet
    drop(source);
    assert_eq!(f.slot_position(), None);
    let mut source = open(&def);
    assert_eq!(read_until_idle(source.as_mut()).len(), 5);
}

#[test]
fn concurrent_writes_around_the_snapshot_are_neither_lost_nor_repeated() {
    let mut f = Fixture::new(
        "race",
        "CREATE TABLE {t} (id int PRIMARY KEY, v int); ALTER TABLE {t} REPLICA IDENTITY FULL; \
         INSERT INTO {t} SELECT i, 0 FROM generate_series(1, 200) i",
    );
    let def = f.def("id INT, v INT", &[("scan.snapshot.fetch.size", "50")]);
    // A writer inserts and updates rows, one transaction each, while the source opens.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let table = f.table.clone();
        std::thread::spawn(move || {
            let mut db = connect(&server()["dbname"]);
            let mut id = 1000;
            while !stop.load(Ordering::Relaxed) {
                db.batch_execute(&format!(
                    "INSERT INTO {table} VALUES ({id}, 0); UPDATE {table} SET v = v + 1 WHERE id = {}",
                    id % 200 + 1
                ))
                .unwrap();
                id += 1;
            }
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(50));
    let mut source = open(&def);
    std::thread::sleep(std::time::Duration::from_millis(100));
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    // Apply the changelog; it must end where the table is, each row inserted once.
    let mut state: BTreeMap<String, String> = BTreeMap::new();
    for row in read_until_idle(source.as_mut()) {
        let (kind, rest) = row.split_at(2);
        let values = rest.trim_start_matches('[').trim_end_matches(']');
        let (id, v) = values.split_once(", ").unwrap();
        match kind {
            "+I" => assert!(
                state.insert(id.into(), v.into()).is_none(),
                "{id} inserted twice"
            ),
            "-U" | "-D" => {
                assert_eq!(state.remove(id).as_deref(), Some(v), "retracting {row}")
            }
            "+U" => assert!(state.insert(id.into(), v.into()).is_none()),
            other => panic!("{other}"),
        }
    }
    let table: BTreeMap<String, String> =
        f.db.query(&format!("SELECT id::text, v::text FROM {}", f.table), &[])
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
    assert!(table.len() > 200, "the writer ran");
    assert_eq!(state, table);
}

#[test]
fn snapshot_mode_reads_the_table_and_ends_without_a_slot() {
    let mut f = Fixture::new(
        "snaponly",
        "CREATE TABLE {t} (id int); INSERT INTO {t} VALUES (1), (2)",
    );
    let def = f.def("id INT", &[("scan.startup.mode", "snapshot")]);
    let mut source = open(&def);
    let mut metrics = JobMetrics::default();
    let mut rows = 0;
    loop {
        match source.poll_batch(&mut metrics).unwrap() {
            Poll::Batch(b) => rows += b.num_rows(),
            Poll::End => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(rows, 2);
    assert_eq!(f.slot_position(), None);
}

#[test]
fn an_idle_table_lets_the_slot_move_past_other_tables_changes() {
    let mut f = Fixture::new("quiet", "CREATE TABLE {t} (id int PRIMARY KEY)");
    f.exec("DROP TABLE IF EXISTS {t}_busy; CREATE TABLE {t}_busy (x int)");
    let def = f.def(
        "id INT",
        &[
            ("scan.startup.mode", "latest-offset"),
            ("heartbeat.interval.ms", "1ms"),
        ],
    );
    let mut source = open(&def);
    let start = f.slot_position().unwrap();
    f.exec("INSERT INTO {t}_busy SELECT generate_series(1, 1000)");
    // The first idle poll writes a heartbeat, the next decodes it.
    assert!(read_until_idle(source.as_mut()).is_empty());
    assert!(read_until_idle(source.as_mut()).is_empty());
    source.commit().unwrap();
    let moved = f.slot_position().unwrap();
    let past: bool =
        f.db.query_one(
            "SELECT $1::text::pg_lsn > $2::text::pg_lsn",
            &[&moved, &start],
        )
        .unwrap()
        .get(0);
    assert!(past, "slot at {moved}, created at {start}");
    f.exec("DROP TABLE {t}_busy");
}

#[test]
fn bad_options_and_tables_are_errors_naming_what_is_wrong() {
    let mut f = Fixture::new(
        "errors",
        "CREATE TABLE {t} (id int PRIMARY KEY, n int); CREATE TABLE {t}_nokey (id int); \
         CREATE TABLE {t}_nothing (id int PRIMARY KEY); ALTER TABLE {t}_nothing REPLICA IDENTITY NOTHING",
    );
    let t = f.table.clone();
    let cases: Vec<(TableDef, &str)> = vec![
        (
            f.def("id INT", &[("password", "wrong")]),
            "option 'password': PostgreSQL at",
        ),
        (
            f.def("id INT", &[("port", "1")]),
            "option 'hostname': cannot connect to PostgreSQL at 127.0.0.1:1",
        ),
        (
            f.def("id INT", &[("database-name", "no_such_db")]),
            "option 'database-name'",
        ),
        (
            f.def("id INT", &[("schema-name", "no_such_schema")]),
            "option 'schema-name': database 'weir_test' has no schema 'no_such_schema'",
        ),
        (
            f.def("id INT", &[("table-name", "no_such_table")]),
            "option 'table-name': database 'weir_test' has no table public.no_such_table",
        ),
        (
            f.def("id INT, zzz STRING", &[]),
            "column 'zzz' is not in PostgreSQL table",
        ),
        (
            f.def("id INT, n BOOLEAN", &[]),
            "column 'n' is declared BOOLEAN but is integer",
        ),
        (f.def("n INT", &[]), "declare column 'id'"),
        (
            f.def("id INT", &[("table-name", &format!("{t}_nokey"))]),
            "has no primary key",
        ),
        (
            f.def("id INT", &[("table-name", &format!("{t}_nothing"))]),
            "REPLICA IDENTITY NOTHING",
        ),
        (
            f.def(
                "id INT",
                &[
                    ("debezium.publication.name", "no_such_pub"),
                    ("debezium.publication.autocreate.mode", "disabled"),
                ],
            ),
            "option 'debezium.publication.name': publication 'no_such_pub' does not exist",
        ),
    ];
    for (def, says) in cases {
        let err = open_error(&def);
        assert!(err.contains(says), "expected «{says}» in: {err}");
    }
    // The same slot cannot be read by two jobs at once.
    let def = f.def("id INT", &[("scan.startup.mode", "latest-offset")]);
    let first = open(&def);
    let err = open_error(&def);
    assert!(
        err.contains("option 'slot.name'") && err.contains("another Weir job"),
        "{err}"
    );
    drop(first);
    f.exec("DROP TABLE {t}_nokey; DROP TABLE {t}_nothing");
}

#[test]
fn a_role_without_replication_is_told_how_to_fix_it() {
    let mut f = Fixture::new("norepl", "CREATE TABLE {t} (id int PRIMARY KEY)");
    let role = format!("weir_norepl_{}", std::process::id());
    f.exec(&format!(
        "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN PASSWORD 'pw'; GRANT SELECT ON {{t}} TO {role}; \
         CREATE PUBLICATION {} FOR TABLE {{t}}",
        f.slot
    ));
    let def = f.def("id INT", &[("username", &role), ("password", "pw")]);
    let err = open_error(&def);
    f.exec(&format!("DROP OWNED BY {role}; DROP ROLE {role}"));
    assert!(
        err.contains("option 'username'") && err.contains("REPLICATION"),
        "{err}"
    );
}

/// The MATIH job (sample-jobs/matih/state-transition-cdc.sql), as written, with MATIH's
/// catalog (sample-jobs/matih/catalog.sql): it plans as a changelog projection, an append-only
/// sink refuses it, and drained runs keep the keyed DuckDB table equal to the PostgreSQL table
/// through inserts, updates and deletes, each run resuming from the slot.
#[test]
fn the_matih_state_transition_job_archives_the_table_into_duckdb() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let matih = root.join("sample-jobs/matih");
    let job = std::fs::read_to_string(matih.join("state-transition-cdc.sql")).unwrap();
    let catalog = std::fs::read_to_string(matih.join("catalog.sql")).unwrap();
    let ddl = std::fs::read_to_string(matih.join("fsm_state_transitions.pg.sql")).unwrap();
    // The job names database ai_service and slot flink_fsm_cdc: the test owns both on the
    // test server.
    let mut admin = connect(&server()["dbname"]);
    if admin
        .query_opt(
            "SELECT 1 FROM pg_database WHERE datname = 'ai_service'",
            &[],
        )
        .unwrap()
        .is_none()
    {
        admin.batch_execute("CREATE DATABASE ai_service").unwrap();
    }
    let mut db = connect("ai_service");
    let drop_all = "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'flink_fsm_cdc' AND NOT active; \
         DROP PUBLICATION IF EXISTS flink_fsm_cdc; DROP TABLE IF EXISTS fsm_state_transitions";
    db.batch_execute(drop_all).unwrap();
    db.batch_execute(&ddl).unwrap();
    db.batch_execute(
        "INSERT INTO fsm_state_transitions (entity_type, entity_id, tenant_id, from_state, to_state, triggered_by, metadata, created_at) VALUES \
         ('session_phase', 's-1', 't-1', 'idle', 'active', 'u-1', '{\"turn\": 1}', '2026-02-12 10:30:00.5+00'), \
         ('session_phase', 's-2', 't-1', 'idle', 'active', NULL, NULL, '2026-02-12 10:31:00+00')",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let s = server();
    let vars: HashMap<String, String> = [
        ("PG_HOST", s["host"].clone()),
        ("PG_PORT", s["port"].clone()),
        ("DATABASE_USER", s["user"].clone()),
        ("DATABASE_PASSWORD", s["password"].clone()),
        ("WEIR_OUT_DIR", out.path().display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let session = || {
        let options = RunOptions {
            base_dir: matih.clone(),
            print_to_stdout: false,
            vars: vars.clone(),
            ..RunOptions::default()
        };
        // Drained: the job stops once caught up, and commits (which moves the slot).
        options.control.drain();
        let mut session = Session::new(options);
        session.execute_init(&catalog).unwrap();
        session
    };

    let plans = session().explain_script(&job).unwrap();
    let plan = plans.last().unwrap();
    assert!(
        plan.contains("Source: fsm_transitions_cdc") && plan.contains("Projection"),
        "{plan}"
    );
    // An append-only sink refuses the changelog, naming both ends.
    let append = "CREATE TABLE archive (transition_id STRING, entity_type STRING, entity_id STRING, tenant_id STRING, \
        from_state STRING, to_state STRING, triggered_by STRING, trigger_reason STRING, metadata STRING, \
        event_timestamp TIMESTAMP(3)) WITH ('connector' = 'filesystem', 'path' = 'unused', 'format' = 'json');\n";
    let err = session()
        .execute(&format!(
            "{append}{}",
            job.replace(
                "INSERT INTO polaris.matih_analytics.state_transition_log",
                "INSERT INTO archive"
            )
        ))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("only takes appends")
            && err
                .contains("the changelog source 'fsm_transitions_cdc' (connector 'postgres-cdc')"),
        "{err}"
    );

    let archived = || -> Vec<String> {
        let page = weir_engine::duckdb_sink::query_duckdb(
            &out.path().join("matih.duckdb"),
            "SELECT entity_id, to_state, coalesce(triggered_by, '-'), coalesce(metadata, '-'), CAST(event_timestamp AS VARCHAR) \
             FROM matih_analytics.state_transition_log ORDER BY entity_id",
            100,
        )
        .unwrap();
        page.rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect()
    };
    let report = session().execute(&job).unwrap();
    assert_eq!(report.sinks[0].rows_written, 2);
    assert_eq!(
        archived(),
        [
            "s-1|active|u-1|{\"turn\": 1}|2026-02-12 10:30:00.5",
            "s-2|active|-|-|2026-02-12 10:31:00"
        ]
    );
    db.batch_execute(
        "UPDATE fsm_state_transitions SET to_state = 'done' WHERE entity_id = 's-1'; \
         DELETE FROM fsm_state_transitions WHERE entity_id = 's-2'; \
         INSERT INTO fsm_state_transitions (entity_type, entity_id, tenant_id, from_state, to_state, created_at) \
         VALUES ('agent', 'a-9', 't-2', 'idle', 'busy', '2026-02-12 11:00:00+00')",
    )
    .unwrap();
    let report = session().execute(&job).unwrap();
    assert_eq!(
        report.sinks[0].rows_written, 4,
        "resumed from the slot: -U, +U, -D, +I and no snapshot"
    );
    assert_eq!(
        archived(),
        [
            "a-9|busy|-|-|2026-02-12 11:00:00",
            "s-1|done|u-1|{\"turn\": 1}|2026-02-12 10:30:00.5"
        ]
    );
    db.batch_execute(drop_all).unwrap();
}
