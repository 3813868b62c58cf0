//! The `kafka` and `upsert-kafka` connectors against both places topics live: Weir's
//! embedded log (a fresh folder) and a real Kafka-protocol broker (nisshi, started by
//! `scripts/kafka.sh start`; its address comes from `WEIR_TEST_KAFKA`). Every behaviour is
//! checked on both, so one setting moves a job between them.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use weir_engine::connectors::kafka::{create_topic, open_consumer, open_producer, Cluster};
use weir_engine::connectors::PartitionOffset;
use weir_engine::job::JobControl;
use weir_engine::{RunOptions, Session};

/// The broker's address; the tests fail (not skip) without one, since CI starts it.
fn broker() -> String {
    std::env::var("WEIR_TEST_KAFKA").unwrap_or_else(|_| {
        panic!("WEIR_TEST_KAFKA is not set: start a broker with `scripts/kafka.sh start` and export `scripts/kafka.sh env`")
    })
}

/// Both places, as `properties.bootstrap.servers` values.
fn places(dir: &Path) -> Vec<String> {
    vec![
        format!("embedded://{}", dir.join("log").display()),
        broker(),
    ]
}

fn cluster_of(servers: &str) -> Cluster {
    match servers.strip_prefix("embedded://") {
        Some(dir) => Cluster::Embedded { dir: dir.into() },
        None => Cluster::Broker {
            bootstrap: servers.to_string(),
            properties: vec![],
        },
    }
}

/// A topic name no earlier run used (the broker keeps its topics).
fn fresh_topic(what: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "weir-test-{what}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

fn produce(servers: &str, topic: &str, records: &[(Option<&str>, Option<&str>)]) {
    let mut producer = open_producer(&cluster_of(servers)).unwrap();
    for (k, v) in records {
        producer
            .send(
                topic,
                None,
                k.map(str::as_bytes),
                v.map(str::as_bytes),
                None,
            )
            .unwrap();
    }
    producer.flush().unwrap();
}

/// Every record of a topic: (partition, key, value).
fn read_all(servers: &str, topic: &str) -> Vec<(i32, Option<String>, Option<String>)> {
    read_records(servers, topic)
        .into_iter()
        .map(|r| (r.partition, r.key, r.value))
        .collect()
}

/// A record as a consumer sees it.
#[derive(Debug, Clone)]
struct Rec {
    partition: i32,
    offset: i64,
    timestamp: Option<i64>,
    key: Option<String>,
    value: Option<String>,
}

/// Every record of a topic, read by a plain consumer (not through SQL).
fn read_records(servers: &str, topic: &str) -> Vec<Rec> {
    read_records_of(&cluster_of(servers), topic)
}

fn read_records_of(cluster: &Cluster, topic: &str) -> Vec<Rec> {
    let mut consumer = open_consumer(cluster, None).unwrap();
    let partitions = consumer.partitions(&[topic.to_string()], None).unwrap();
    let mut end = BTreeMap::new();
    let mut positions = Vec::new();
    for (t, p) in &partitions {
        let (low, high) = consumer.watermarks(t, *p).unwrap();
        end.insert(*p, high);
        positions.push(PartitionOffset {
            topic: t.clone(),
            partition: *p,
            offset: low,
        });
    }
    consumer.assign(&positions).unwrap();
    let total: i64 = partitions
        .iter()
        .map(|(_, p)| end[p] - positions.iter().find(|x| x.partition == *p).unwrap().offset)
        .sum();
    let mut out = Vec::new();
    let text = |b: Option<&[u8]>| b.map(|b| String::from_utf8_lossy(b).into_owned());
    for _ in 0..100 {
        if out.len() as i64 >= total {
            break;
        }
        consumer
            .poll(10_000, Duration::from_millis(200), &mut |m| {
                out.push(Rec {
                    partition: m.partition,
                    offset: m.offset,
                    timestamp: m.timestamp,
                    key: text(m.key),
                    value: text(m.value),
                });
                Ok(())
            })
            .unwrap();
    }
    out
}

/// Starts `script` on a thread of its own (an unbounded job runs until drained or cancelled
/// through the control returned).
fn spawn_job(
    dir: std::path::PathBuf,
    script: String,
) -> (
    JobControl,
    std::thread::JoinHandle<weir_engine::Result<weir_api::RunReport>>,
) {
    let control = JobControl::default();
    let options = RunOptions {
        base_dir: dir,
        print_to_stdout: false,
        control: control.clone(),
        ..RunOptions::default()
    };
    let job = std::thread::spawn(move || Session::new(options).execute(&script));
    (control, job)
}

fn session(dir: &Path) -> Session {
    Session::new(RunOptions {
        base_dir: dir.to_path_buf(),
        print_to_stdout: false,
        ..RunOptions::default()
    })
}

/// The rows of an ad-hoc query as sorted text lines.
fn query_rows(dir: &Path, script: &str) -> Vec<String> {
    let (_, results) = session(dir).execute_collect(script).unwrap();
    let result = results.last().unwrap();
    let mut rows = Vec::new();
    for b in &result.batches {
        for r in 0..b.num_rows() {
            rows.push(
                b.columns()
                    .iter()
                    .map(|c| weir_engine::format::cell_text(c, r))
                    .collect::<Vec<_>>()
                    .join(","),
            );
        }
    }
    rows.sort();
    rows
}

fn source_ddl(servers: &str, topic: &str, extra: &str) -> String {
    format!(
        "CREATE TABLE src (k STRING, v INT) WITH ('connector' = 'kafka', 'topic' = '{topic}', \
         'properties.bootstrap.servers' = '{servers}', 'format' = 'json'{extra});"
    )
}

const BOUNDED: &str = ", 'scan.bounded.mode' = 'latest-offset'";

#[test]
fn sql_round_trip_keys_land_on_kafkas_partitions() {
    let dir = tempfile::tempdir().unwrap();
    for servers in places(dir.path()) {
        let topic = fresh_topic("roundtrip");
        create_topic(&cluster_of(&servers), &topic, 3).unwrap();
        let input: Vec<String> = (0..30)
            .map(|i| format!(r#"{{"k":"key{}","v":{i}}}"#, i % 7))
            .collect();
        std::fs::write(dir.path().join("in.json"), input.join("\n")).unwrap();
        let script = format!(
            "CREATE TABLE f (k STRING, v INT) WITH ('connector' = 'filesystem', 'path' = 'in.json', 'format' = 'json');
             CREATE TABLE t (k STRING, v INT) WITH ('connector' = 'kafka', 'topic' = '{topic}', \
             'properties.bootstrap.servers' = '{servers}', 'format' = 'json', 'key.format' = 'raw', 'key.fields' = 'k');
             INSERT INTO t SELECT k, v FROM f;"
        );
        let report = session(dir.path()).execute(&script).unwrap();
        assert_eq!(report.metrics.rows_written, 30, "{servers}");

        let records = read_all(&servers, &topic);
        assert_eq!(records.len(), 30, "{servers}");
        for (partition, key, value) in &records {
            let key = key.as_deref().unwrap();
            // Kafka's default partitioner: murmur2(key) & 0x7fffffff % 3.
            assert_eq!(
                *partition,
                weir_log::partition_for_key(key.as_bytes(), 3) as i32,
                "{servers}: {key}"
            );
            assert!(value
                .as_deref()
                .unwrap()
                .contains(&format!(r#""k":"{key}""#)));
        }

        let rows = query_rows(
            dir.path(),
            &format!(
                "{} SELECT k, v FROM src;",
                source_ddl(
                    &servers,
                    &topic,
                    &format!(", 'scan.startup.mode' = 'earliest-offset'{BOUNDED}")
                )
            ),
        );
        let mut expected: Vec<String> = (0..30).map(|i| format!("key{},{i}", i % 7)).collect();
        expected.sort();
        assert_eq!(rows, expected, "{servers}");
    }
}

#[test]
fn startup_modes_choose_where_reading_starts() {
    let dir = tempfile::tempdir().unwrap();
    for servers in places(dir.path()) {
        let topic = fresh_topic("modes");
        create_topic(&cluster_of(&servers), &topic, 1).unwrap();
        let first: Vec<String> = (0..5).map(|i| format!(r#"{{"k":"a","v":{i}}}"#)).collect();
        let records: Vec<(Option<&str>, Option<&str>)> =
            first.iter().map(|v| (None, Some(v.as_str()))).collect();
        produce(&servers, &topic, &records);
        std::thread::sleep(Duration::from_millis(20));
        let cut = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis();
        std::thread::sleep(Duration::from_millis(20));
        let second: Vec<String> = (5..10).map(|i| format!(r#"{{"k":"b","v":{i}}}"#)).collect();
        let records: Vec<(Option<&str>, Option<&str>)> =
            second.iter().map(|v| (None, Some(v.as_str()))).collect();
        produce(&servers, &topic, &records);

        let count = |extra: &str| {
            query_rows(
                dir.path(),
                &format!("{} SELECT v FROM src;", source_ddl(&servers, &topic, extra)),
            )
            .len()
        };
        assert_eq!(
            count(&format!(
                ", 'scan.startup.mode' = 'earliest-offset'{BOUNDED}"
            )),
            10
        );
        assert_eq!(
            count(&format!(", 'scan.startup.mode' = 'latest-offset'{BOUNDED}")),
            0
        );
        assert_eq!(
            count(&format!(
                ", 'scan.startup.mode' = 'timestamp', 'scan.startup.timestamp-millis' = '{cut}'{BOUNDED}"
            )),
            5,
            "{servers}"
        );
        assert_eq!(
            count(&format!(
                ", 'scan.startup.mode' = 'specific-offsets', 'scan.startup.specific-offsets' = 'partition:0,offset:3'{BOUNDED}"
            )),
            7
        );
        assert_eq!(
            count(", 'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'specific-offsets', 'scan.bounded.specific-offsets' = 'partition:0,offset:4'"),
            4
        );

        // group-offsets: nothing committed and no reset policy is an error naming the option.
        let group = fresh_topic("group");
        let err = session(dir.path())
            .execute_collect(&format!(
                "{} SELECT v FROM src;",
                source_ddl(
                    &servers,
                    &topic,
                    &format!(", 'properties.group.id' = '{group}'{BOUNDED}")
                )
            ))
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("option 'scan.startup.mode'"),
            "{err}"
        );
        // With a reset policy the group reads everything and commits at the end; the next
        // run resumes after what it committed.
        let grouped = format!(
            ", 'properties.group.id' = '{group}', 'properties.auto.offset.reset' = 'earliest'{BOUNDED}"
        );
        assert_eq!(count(&grouped), 10, "{servers}");
        let third: Vec<String> = (10..13)
            .map(|i| format!(r#"{{"k":"c","v":{i}}}"#))
            .collect();
        let records: Vec<(Option<&str>, Option<&str>)> =
            third.iter().map(|v| (None, Some(v.as_str()))).collect();
        produce(&servers, &topic, &records);
        let rows = query_rows(
            dir.path(),
            &format!(
                "{} SELECT v FROM src;",
                source_ddl(&servers, &topic, &grouped)
            ),
        );
        assert_eq!(rows, vec!["10", "11", "12"], "{servers}");
    }
}

#[test]
fn upsert_kafka_writes_keys_and_tombstones() {
    let dir = tempfile::tempdir().unwrap();
    for servers in places(dir.path()) {
        let topic = fresh_topic("upsert");
        create_topic(&cluster_of(&servers), &topic, 2).unwrap();
        let input = ["a", "b", "a", "c", "a", "b"]
            .iter()
            .map(|k| format!(r#"{{"k":"{k}"}}"#))
            .collect::<Vec<_>>();
        std::fs::write(dir.path().join("keys.json"), input.join("\n")).unwrap();
        let script = format!(
            "CREATE TABLE f (k STRING) WITH ('connector' = 'filesystem', 'path' = 'keys.json', 'format' = 'json');
             CREATE TABLE counts (k STRING, n BIGINT, PRIMARY KEY (k) NOT ENFORCED) WITH (
               'connector' = 'upsert-kafka', 'topic' = '{topic}', 'properties.bootstrap.servers' = '{servers}',
               'key.format' = 'json', 'value.format' = 'json');
             INSERT INTO counts SELECT k, COUNT(*) FROM f GROUP BY k;"
        );
        session(dir.path()).execute(&script).unwrap();
        // The last record of each key holds its final count; no update-befores were written.
        let mut last = BTreeMap::new();
        let records = read_all(&servers, &topic);
        assert!((3..=6).contains(&records.len()), "{servers}: {records:?}");
        for (_, key, value) in records {
            last.insert(key.unwrap(), value.unwrap());
        }
        assert_eq!(
            last,
            BTreeMap::from([
                (r#"{"k":"a"}"#.to_string(), r#"{"k":"a","n":3}"#.to_string()),
                (r#"{"k":"b"}"#.to_string(), r#"{"k":"b","n":2}"#.to_string()),
                (r#"{"k":"c"}"#.to_string(), r#"{"k":"c","n":1}"#.to_string()),
            ])
        );
    }
}

#[test]
fn metadata_columns_and_except_key_on_write_and_read() {
    let dir = tempfile::tempdir().unwrap();
    for servers in places(dir.path()) {
        let topic = fresh_topic("metadata");
        create_topic(&cluster_of(&servers), &topic, 3).unwrap();
        let input: Vec<String> = (0..12)
            .map(|i| {
                format!(
                    r#"{{"id":"user-{}","v":{i},"at":"2026-02-12 10:30:{:02}.{:03}"}}"#,
                    i % 5,
                    i,
                    i * 7
                )
            })
            .collect();
        std::fs::write(dir.path().join("in.json"), input.join("\n")).unwrap();
        // The key holds `id` only, the value `v` only; the record's time is `at`.
        let table = |extra: &str| {
            format!(
                "CREATE TABLE t (id STRING, v INT, at TIMESTAMP_LTZ(3) METADATA FROM 'timestamp'{extra}) WITH (
                   'connector' = 'kafka', 'topic' = '{topic}', 'properties.bootstrap.servers' = '{servers}',
                   'key.format' = 'json', 'key.fields' = 'id', 'value.format' = 'json',
                   'value.fields-include' = 'EXCEPT_KEY', 'scan.startup.mode' = 'earliest-offset',
                   'scan.bounded.mode' = 'latest-offset');"
            )
        };
        let write = format!(
            "CREATE TABLE f (id STRING, v INT, at TIMESTAMP_LTZ(3)) WITH ('connector' = 'filesystem', 'path' = 'in.json', 'format' = 'json');
             {}
             INSERT INTO t SELECT id, v, at FROM f;",
            table(", part INT METADATA FROM 'partition' VIRTUAL, off BIGINT METADATA FROM 'offset' VIRTUAL")
        );
        session(dir.path()).execute(&write).unwrap();
        let records = read_records(&servers, &topic);
        assert_eq!(records.len(), 12, "{servers}");
        // 2026-02-12 10:30:00 UTC in milliseconds.
        let base = 1_770_892_200_000i64;
        for r in &records {
            let value = r.value.as_deref().unwrap();
            let v: i64 = value
                .strip_prefix(r#"{"v":"#)
                .and_then(|x| x.strip_suffix('}'))
                .unwrap_or_else(|| panic!("{servers}: the value holds `v` only: {value}"))
                .parse()
                .unwrap();
            assert_eq!(
                r.key.as_deref(),
                Some(format!(r#"{{"id":"user-{}"}}"#, v % 5).as_str()),
                "{servers}"
            );
            assert_eq!(
                r.timestamp,
                Some(base + v * 1000 + v * 7),
                "{servers}: {r:?}"
            );
        }
        // Read back through SQL: key and value columns joined, metadata from each record.
        let rows = query_rows(
            dir.path(),
            &format!(
                "{}
                 SELECT id, v, part, off, tt, src = '{topic}' FROM t;",
                table(", part INT METADATA FROM 'partition' VIRTUAL, off BIGINT METADATA FROM 'offset' VIRTUAL, tt STRING METADATA FROM 'timestamp-type' VIRTUAL, src STRING METADATA FROM 'topic' VIRTUAL")
            ),
        );
        let mut expected: Vec<String> = records
            .iter()
            .map(|r| {
                let value = r.value.as_deref().unwrap();
                let v = &value[5..value.len() - 1];
                let id = &r.key.as_deref().unwrap()[7..13];
                format!("{id},{v},{},{},CreateTime,true", r.partition, r.offset)
            })
            .collect();
        expected.sort();
        assert_eq!(rows, expected, "{servers}");
    }
}

#[test]
fn a_delete_becomes_a_tombstone() {
    use arrow::array::{Int8Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;
    use weir_engine::connectors::Sink;
    let dir = tempfile::tempdir().unwrap();
    for servers in places(dir.path()) {
        let topic = fresh_topic("tombstone");
        create_topic(&cluster_of(&servers), &topic, 1).unwrap();
        let ddl = format!(
            "CREATE TABLE u (k STRING, v STRING, PRIMARY KEY (k) NOT ENFORCED) WITH ('connector' = 'upsert-kafka', \
             'topic' = '{topic}', 'properties.bootstrap.servers' = '{servers}', 'key.format' = 'raw', 'value.format' = 'json')"
        );
        let def = match weir_engine::sql::parse_script(&ddl, &Default::default())
            .unwrap()
            .remove(0)
        {
            weir_engine::sql::Statement::CreateTable(t) => *t,
            _ => unreachable!(),
        };
        let mut sink = weir_engine::connectors::kafka::KafkaSink::open(&def, dir.path()).unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Utf8, true),
            Field::new("v", DataType::Utf8, true),
            Field::new("__op", DataType::Int8, false),
        ]));
        let batch = arrow::record_batch::RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec!["x", "x", "x", "x"])),
                Arc::new(StringArray::from(vec!["1", "1", "2", "2"])),
                // +I, -U (dropped), +U, -D
                Arc::new(Int8Array::from(vec![0, 1, 2, 3])),
            ],
        )
        .unwrap();
        sink.write_batch(&batch).unwrap();
        sink.finish().unwrap();
        let records = read_all(&servers, &topic);
        let values: Vec<Option<String>> = records.into_iter().map(|(_, _, v)| v).collect();
        assert_eq!(
            values,
            vec![
                Some(r#"{"k":"x","v":"1"}"#.to_string()),
                Some(r#"{"k":"x","v":"2"}"#.to_string()),
                None
            ],
            "{servers}"
        );
    }
}

#[test]
fn malformed_records_are_counted_or_fail_with_their_offset() {
    let dir = tempfile::tempdir().unwrap();
    for servers in places(dir.path()) {
        let topic = fresh_topic("bad");
        create_topic(&cluster_of(&servers), &topic, 1).unwrap();
        produce(
            &servers,
            &topic,
            &[
                (None, Some(r#"{"k":"a","v":1}"#)),
                (None, Some("{not json")),
                (None, Some(r#"{"k":"b","v":"x"}"#)),
                (None, Some(r#"{"k":"c","v":3}"#)),
            ],
        );
        let start = format!(", 'scan.startup.mode' = 'earliest-offset'{BOUNDED}");
        let err = session(dir.path())
            .execute_collect(&format!(
                "{} SELECT * FROM src;",
                source_ddl(&servers, &topic, &start)
            ))
            .err()
            .unwrap();
        assert!(
            err.to_string().contains(&format!("{topic}/0 offset 1"))
                && err.to_string().contains("json.ignore-parse-errors"),
            "{err}"
        );
        let (report, results) = session(dir.path())
            .execute_collect(&format!(
                "{} SELECT k FROM src;",
                source_ddl(
                    &servers,
                    &topic,
                    &format!("{start}, 'json.ignore-parse-errors' = 'true'")
                )
            ))
            .unwrap();
        let rows: usize = results[0].batches.iter().map(|b| b.num_rows()).sum();
        // The bad field of row 3 reads as NULL and keeps its row (Flink's behaviour).
        assert_eq!(rows, 3, "{servers}");
        assert_eq!(report.metrics.parse_errors_skipped, 1, "{servers}");
    }
}

#[test]
fn an_unbounded_job_drains_on_request_and_fires_its_windows() {
    let dir = tempfile::tempdir().unwrap();
    for servers in places(dir.path()) {
        let topic = fresh_topic("drain");
        create_topic(&cluster_of(&servers), &topic, 2).unwrap();
        let out = dir.path().join(format!("out-{}", topic));
        let script = format!(
            "CREATE TABLE ev (k STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH (
               'connector' = 'kafka', 'topic' = '{topic}', 'properties.bootstrap.servers' = '{servers}',
               'format' = 'json', 'scan.startup.mode' = 'earliest-offset');
             CREATE TABLE o (ws TIMESTAMP(3), k STRING, n BIGINT) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'json');
             INSERT INTO o SELECT window_start, k, COUNT(*) FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end, k;",
            out.display()
        );
        let (control, job) = spawn_job(dir.path().to_path_buf(), script);
        let records: Vec<String> = (0..40)
            .map(|i| format!(r#"{{"k":"k{}","ts":"2026-01-01 00:00:{:02}"}}"#, i % 2, i))
            .collect();
        let records: Vec<(Option<&str>, Option<&str>)> = records
            .iter()
            .map(|v| (Some("x"), Some(v.as_str())))
            .collect();
        produce(&servers, &topic, &records);
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            !job.is_finished(),
            "an unbounded job runs until asked to stop"
        );
        control.drain();
        let report = job.join().unwrap().unwrap();
        assert_eq!(report.metrics.rows_read, 40, "{servers}");
        // Four 10 s windows of two keys each: 8 rows, the last ones fired by the drain.
        assert_eq!(report.metrics.rows_written, 8, "{servers}");
    }
}

#[test]
fn a_statement_set_runs_its_unbounded_inserts_together() {
    let dir = tempfile::tempdir().unwrap();
    for servers in places(dir.path()) {
        let topic = fresh_topic("set");
        create_topic(&cluster_of(&servers), &topic, 2).unwrap();
        let out = dir.path().join(format!("out-{topic}"));
        // One view read by both INSERTs; each INSERT reads the topic unbounded.
        let script = format!(
            "CREATE TABLE ev (k STRING, v INT) WITH (
               'connector' = 'kafka', 'topic' = '{topic}', 'properties.bootstrap.servers' = '{servers}',
               'format' = 'json', 'scan.startup.mode' = 'earliest-offset');
             CREATE TEMPORARY VIEW checked AS SELECT k, v, v % 2 = 0 AS even FROM ev WHERE k IS NOT NULL;
             CREATE TABLE evens (k STRING, v INT) WITH ('connector' = 'filesystem', 'path' = '{0}/evens', 'format' = 'json');
             CREATE TABLE odds (k STRING, v INT) WITH ('connector' = 'filesystem', 'path' = '{0}/odds', 'format' = 'json');
             EXECUTE STATEMENT SET BEGIN
               INSERT INTO evens SELECT k, v FROM checked WHERE even;
               INSERT INTO odds SELECT k, v FROM checked c WHERE NOT c.even;
             END;",
            out.display()
        );
        let (control, job) = spawn_job(dir.path().to_path_buf(), script);
        let records: Vec<String> = (0..30)
            .map(|i| match i {
                7 => r#"{"v":7}"#.to_string(),
                _ => format!(r#"{{"k":"k{}","v":{i}}}"#, i % 3),
            })
            .collect();
        let records: Vec<(Option<&str>, Option<&str>)> =
            records.iter().map(|v| (None, Some(v.as_str()))).collect();
        produce(&servers, &topic, &records);
        // Both jobs of the set start (each reads the topic).
        for _ in 0..100 {
            if control.started() >= 2 {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(!job.is_finished(), "{servers}: the set runs until drained");
        control.drain();
        let report = job.join().unwrap().unwrap();
        assert_eq!(
            report.metrics.rows_read, 60,
            "{servers}: each INSERT reads the topic"
        );
        assert_eq!(report.sinks.len(), 2);
        let lines = |name: &str| -> Vec<String> {
            let mut rows = Vec::new();
            for f in std::fs::read_dir(out.join(name)).unwrap() {
                let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
                rows.extend(text.lines().map(str::to_string));
            }
            rows.sort();
            rows
        };
        let expect = |even: bool| -> Vec<String> {
            let mut rows: Vec<String> = (0..30)
                .filter(|i| *i != 7 && (i % 2 == 0) == even)
                .map(|i| format!(r#"{{"k":"k{}","v":{i}}}"#, i % 3))
                .collect();
            rows.sort();
            rows
        };
        assert_eq!(lines("evens"), expect(true), "{servers}");
        assert_eq!(lines("odds"), expect(false), "{servers}");
    }
}

/// The nisshi binary (`scripts/kafka.sh env` prints `WEIR_TEST_NISSHI`), for the tests that
/// need a broker of their own.
fn nisshi() -> std::path::PathBuf {
    std::env::var_os("WEIR_TEST_NISSHI")
        .map(Into::into)
        .unwrap_or_else(|| {
            panic!("WEIR_TEST_NISSHI is not set: build nisshi with `scripts/kafka.sh install` and export `scripts/kafka.sh env`")
        })
}

/// A private nisshi broker on a free loopback port with its own data folder (sqlite
/// storage), for tests that kill it or require authentication: the shared broker on
/// `WEIR_TEST_KAFKA` is never disturbed. Killed when dropped.
struct PrivateBroker {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<std::process::Child>,
}

impl PrivateBroker {
    fn start(authentication: bool) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut broker = Self {
            dir: tempfile::tempdir().unwrap(),
            port,
            child: None,
        };
        broker.spawn(authentication);
        broker
    }

    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("nisshi.log")).unwrap_or_default()
    }

    /// Starts the broker on its port and data, and waits until it accepts connections.
    fn spawn(&mut self, authentication: bool) {
        assert!(self.child.is_none(), "the broker is running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("nisshi.log"))
            .unwrap();
        let url = format!("tcp://{}", self.address());
        let mut command = std::process::Command::new(nisshi());
        command
            .current_dir(self.dir.path())
            .args(["broker", "--listener-url", &url])
            .args(["--advertised-listener-url", &url])
            .args(["--storage-engine", "sqlite://nisshi.db"])
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        if authentication {
            command.arg("--authentication");
        }
        self.child = Some(command.spawn().unwrap());
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(self.address()).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "nisshi did not start: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the broker (SIGKILL: no orderly shutdown) and waits for it to exit.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Creates a SCRAM-SHA-512 user. `nisshi user create` talks plaintext without
    /// authenticating, so the broker runs without `--authentication` meanwhile; the user is
    /// kept in its storage, and the broker is started again with authentication required.
    fn create_user(&mut self, name: &str, password: &str) {
        self.kill();
        self.spawn(false);
        let out = std::process::Command::new(nisshi())
            .current_dir(self.dir.path())
            .args(["user", "create", "--broker"])
            .arg(format!("tcp://{}", self.address()))
            .args(["--mechanism", "scram512", name, password])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "nisshi user create: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        self.kill();
        self.spawn(true);
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The next offsets the group committed, summed over the topic's partitions.
fn committed_total(servers: &str, group: &str, topic: &str) -> i64 {
    let Ok(mut consumer) = open_consumer(&cluster_of(servers), Some(group)) else {
        return 0;
    };
    let Ok(partitions) = consumer.partitions(&[topic.to_string()], None) else {
        return 0;
    };
    partitions
        .iter()
        .map(|(t, p)| consumer.committed(t, *p).ok().flatten().unwrap_or(0))
        .sum()
}

/// Waits until `cond` holds, failing the test after `secs` seconds.
fn wait_until(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Records per restart test: keys `k0000`... with `v` their number, half of them produced
/// before the broker is killed and half after it is back.
const RESTART_N: usize = 400;

/// Runs `sink_ddl` (a table `out` on the broker at the given address, or elsewhere) and
/// `insert` (reading `src`) as an unbounded job with 200 ms checkpoints on a private broker,
/// kills the broker (SIGKILL) once the first half has been committed, starts it again on the
/// same port and data, produces the second half, and drains the job once all of it is
/// committed. Returns the broker (still running), the folder of the job and its report.
fn run_across_a_restart(
    sink_ddl: impl Fn(&str) -> String,
    insert: &str,
) -> (PrivateBroker, tempfile::TempDir, weir_engine::RunReport) {
    const N: usize = RESTART_N;
    let mut broker = PrivateBroker::start(false);
    let servers = broker.address();
    let dir = tempfile::tempdir().unwrap();
    let topic = fresh_topic("restart");
    let group = fresh_topic("restart-group");
    create_topic(&cluster_of(&servers), &topic, 2).unwrap();
    let records: Vec<(String, String)> = (0..N)
        .map(|i| (format!("k{i:04}"), format!(r#"{{"k":"k{i:04}","v":{i}}}"#)))
        .collect();
    let send = |servers: &str, part: &[(String, String)]| {
        let part: Vec<(Option<&str>, Option<&str>)> = part
            .iter()
            .map(|(k, v)| (Some(k.as_str()), Some(v.as_str())))
            .collect();
        produce(servers, &topic, &part);
    };
    send(&servers, &records[..N / 2]);

    let script = format!(
        "SET 'execution.checkpointing.interval' = '200ms';
         CREATE TABLE src (k STRING, v INT) WITH ('connector' = 'kafka', 'topic' = '{topic}',
           'properties.bootstrap.servers' = '{servers}', 'properties.group.id' = '{group}',
           'scan.startup.mode' = 'earliest-offset', 'format' = 'json');
         {}
         {insert}",
        sink_ddl(&servers)
    );
    let (control, job) = spawn_job(dir.path().to_path_buf(), script);
    // The group's offsets move after the sink committed: the first half has landed.
    wait_until(60, "the first half is committed", || {
        committed_total(&servers, &group, &topic) == (N / 2) as i64 || job.is_finished()
    });
    assert!(!job.is_finished(), "{:?}", job.join());

    broker.kill();
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !job.is_finished(),
        "the job outlives a broker restart: {:?}",
        job.join()
    );
    broker.spawn(false);
    send(&servers, &records[N / 2..]);
    wait_until(90, "the second half is committed", || {
        committed_total(&servers, &group, &topic) == N as i64 || job.is_finished()
    });
    control.drain();
    let report = job
        .join()
        .unwrap()
        .unwrap_or_else(|e| panic!("the job failed: {e}\nbroker log:\n{}", broker.log()));
    assert_eq!(report.metrics.rows_read, N as u64);
    (broker, dir, report)
}

#[test]
fn a_broker_restart_mid_job_loses_and_repeats_no_rows() {
    // Each key once: a count per key above 1 would be a row read twice.
    let (_broker, dir, _) = run_across_a_restart(
        |_| {
            "CREATE TABLE out (k STRING, n BIGINT, total INT, PRIMARY KEY (k) NOT ENFORCED)
               WITH ('connector' = 'duckdb', 'path' = 'out.duckdb', 'table-name' = 'out');"
                .to_string()
        },
        "INSERT INTO out SELECT k, COUNT(*), SUM(v) FROM src GROUP BY k;",
    );
    let rows = weir_engine::duckdb_sink::query_duckdb(
        &dir.path().join("out.duckdb"),
        "SELECT k, n, total FROM out ORDER BY k",
        usize::MAX,
    )
    .unwrap()
    .rows;
    let got: Vec<(String, i64, i64)> = rows
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_string(),
                r[1].as_i64().unwrap(),
                r[2].as_i64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, i64, i64)> = (0..RESTART_N)
        .map(|i| (format!("k{i:04}"), 1, i as i64))
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn a_kafka_sink_rides_out_a_restart_of_its_broker() {
    // The source reads the shared broker; the sink writes to a private one, killed while
    // rows keep coming: they wait in the producer's queue until it is back.
    const N: usize = RESTART_N;
    let source = broker();
    let mut sink = PrivateBroker::start(false);
    let dir = tempfile::tempdir().unwrap();
    let topic = fresh_topic("restart-in");
    let out = fresh_topic("restart-out");
    let group = fresh_topic("restart-group");
    create_topic(&cluster_of(&source), &topic, 2).unwrap();
    create_topic(&cluster_of(&sink.address()), &out, 2).unwrap();
    let records: Vec<(String, String)> = (0..N)
        .map(|i| (format!("k{i:04}"), format!(r#"{{"k":"k{i:04}","v":{i}}}"#)))
        .collect();
    let send = |part: &[(String, String)]| {
        let part: Vec<(Option<&str>, Option<&str>)> = part
            .iter()
            .map(|(k, v)| (Some(k.as_str()), Some(v.as_str())))
            .collect();
        produce(&source, &topic, &part);
    };
    send(&records[..N / 2]);
    let script = format!(
        "SET 'execution.checkpointing.interval' = '200ms';
         CREATE TABLE src (k STRING, v INT) WITH ('connector' = 'kafka', 'topic' = '{topic}',
           'properties.bootstrap.servers' = '{source}', 'properties.group.id' = '{group}',
           'scan.startup.mode' = 'earliest-offset', 'format' = 'json');
         CREATE TABLE out (k STRING, v INT) WITH ('connector' = 'kafka', 'topic' = '{out}',
           'properties.bootstrap.servers' = '{}', 'format' = 'json');
         INSERT INTO out SELECT k, v FROM src;",
        sink.address()
    );
    let (control, job) = spawn_job(dir.path().to_path_buf(), script);
    wait_until(60, "the first half is committed", || {
        committed_total(&source, &group, &topic) == (N / 2) as i64 || job.is_finished()
    });
    sink.kill();
    send(&records[N / 2..]);
    std::thread::sleep(Duration::from_secs(3));
    assert!(!job.is_finished(), "{:?}", job.join());
    // Nothing is acknowledged while the sink's broker is away.
    assert_eq!(committed_total(&source, &group, &topic), (N / 2) as i64);
    sink.spawn(false);
    wait_until(90, "the second half is committed", || {
        committed_total(&source, &group, &topic) == N as i64 || job.is_finished()
    });
    control.drain();
    let report = job
        .join()
        .unwrap()
        .unwrap_or_else(|e| panic!("the job failed: {e}\nbroker log:\n{}", sink.log()));
    assert_eq!(report.metrics.rows_written, N as u64);
    let mut values: Vec<String> = read_all(&sink.address(), &out)
        .into_iter()
        .filter_map(|(_, _, v)| v)
        .collect();
    values.sort();
    let expected: Vec<String> = records.into_iter().map(|(_, v)| v).collect();
    assert_eq!(values, expected);
}

#[test]
fn a_broker_gone_for_good_fails_the_job_and_keeps_what_was_committed() {
    const N: usize = 100;
    let mut broker = PrivateBroker::start(false);
    let servers = broker.address();
    let dir = tempfile::tempdir().unwrap();
    let topic = fresh_topic("gone");
    let group = fresh_topic("gone-group");
    create_topic(&cluster_of(&servers), &topic, 1).unwrap();
    let records: Vec<String> = (0..N)
        .map(|i| format!(r#"{{"k":"k{i:04}","v":{i}}}"#))
        .collect();
    let records: Vec<(Option<&str>, Option<&str>)> =
        records.iter().map(|v| (None, Some(v.as_str()))).collect();
    produce(&servers, &topic, &records);
    let script = format!(
        "SET 'execution.checkpointing.interval' = '200ms';
         CREATE TABLE src (k STRING, v INT) WITH ('connector' = 'kafka', 'topic' = '{topic}',
           'properties.bootstrap.servers' = '{servers}', 'properties.group.id' = '{group}',
           'scan.startup.mode' = 'earliest-offset', 'format' = 'json');
         CREATE TABLE out (k STRING, v INT, PRIMARY KEY (k) NOT ENFORCED)
           WITH ('connector' = 'duckdb', 'path' = 'out.duckdb', 'table-name' = 'out');
         INSERT INTO out SELECT k, v FROM src;"
    );
    let options = RunOptions {
        base_dir: dir.path().to_path_buf(),
        print_to_stdout: false,
        ..RunOptions::default()
    };
    let job = std::thread::spawn(move || Session::new(options).execute(&script));
    wait_until(60, "the rows are committed", || {
        committed_total(&servers, &group, &topic) == N as i64 || job.is_finished()
    });
    broker.kill();
    let killed = std::time::Instant::now();
    wait_until(120, "the job gives up on the broker", || job.is_finished());
    let waited = killed.elapsed();
    let err = job.join().unwrap().err().unwrap().to_string();
    // It waited for the broker for the outage limit (60 s), not for ever.
    assert!(
        (Duration::from_secs(55)..Duration::from_secs(100)).contains(&waited),
        "{waited:?}: {err}"
    );
    assert!(
        err.contains("unreachable for")
            && err.contains(&format!("table 'src', topic '{topic}'"))
            && err.contains(&format!("'{servers}'"))
            && err.contains("'properties.bootstrap.servers'"),
        "{err}"
    );
    let rows = weir_engine::duckdb_sink::query_duckdb(
        &dir.path().join("out.duckdb"),
        "SELECT COUNT(*), SUM(v)::BIGINT FROM out",
        usize::MAX,
    )
    .unwrap()
    .rows;
    assert_eq!(rows[0][0].as_i64(), Some(N as i64));
    assert_eq!(rows[0][1].as_i64(), Some((0..N as i64).sum()));
}

#[test]
fn sasl_credentials_are_checked_fast_and_never_shown() {
    const USER: &str = "weir-user";
    const RIGHT: &str = "right-secret-7391";
    const WRONG: &str = "wrong-secret-5528";
    let mut broker = PrivateBroker::start(false);
    broker.create_user(USER, RIGHT);
    let servers = broker.address();
    let dir = tempfile::tempdir().unwrap();
    let topic = fresh_topic("sasl");
    let properties = |password: &str| -> Vec<(String, String)> {
        [
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.username", USER),
            ("sasl.password", password),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    };
    create_topic(
        &Cluster::Broker {
            bootstrap: servers.clone(),
            properties: properties(RIGHT),
        },
        &topic,
        1,
    )
    .unwrap();
    // Without credentials the broker refuses the client.
    assert!(create_topic(&cluster_of(&servers), &fresh_topic("anon"), 1).is_err());

    let table = format!(
        "CREATE TABLE t (k STRING, v INT) WITH ('connector' = 'kafka', 'topic' = '{topic}',
           'properties.bootstrap.servers' = '{servers}', 'format' = 'json',
           'properties.security.protocol' = 'SASL_PLAINTEXT', 'properties.sasl.mechanism' = 'SCRAM-SHA-512',
           'properties.sasl.username' = '${{KAFKA_USER}}', 'properties.sasl.password' = '${{KAFKA_PASSWORD}}',
           'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset');"
    );
    let write = format!("{table} INSERT INTO t VALUES ('a', 1), ('b', 2);");
    let read = format!("{table} SELECT k, v FROM t;");
    let session = |password: &str| {
        Session::new(RunOptions {
            base_dir: dir.path().to_path_buf(),
            print_to_stdout: false,
            vars: [
                ("KAFKA_USER".to_string(), USER.to_string()),
                ("KAFKA_PASSWORD".to_string(), password.to_string()),
            ]
            .into(),
            ..RunOptions::default()
        })
    };

    let report = session(RIGHT).execute(&write).unwrap();
    assert_eq!(report.metrics.rows_written, 2);
    let (_, results) = session(RIGHT).execute_collect(&read).unwrap();
    let mut rows: Vec<String> = results[0]
        .batches
        .iter()
        .flat_map(|b| {
            (0..b.num_rows()).map(move |r| {
                format!(
                    "{},{}",
                    weir_engine::format::cell_text(b.column(0), r),
                    weir_engine::format::cell_text(b.column(1), r)
                )
            })
        })
        .collect();
    rows.sort();
    assert_eq!(rows, vec!["a,1", "b,2"]);

    for (what, script) in [("write", &write), ("read", &read)] {
        let started = std::time::Instant::now();
        let err = session(WRONG)
            .execute_collect(script)
            .err()
            .unwrap_or_else(|| panic!("{what}: a wrong password is refused"))
            .to_string();
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{what}: failed after {:?}: {err}",
            started.elapsed()
        );
        assert!(
            err.to_lowercase().contains("authentication")
                && err.contains(&servers)
                && err.contains("properties.bootstrap.servers"),
            "{what}: {err}"
        );
        assert!(
            !err.contains(WRONG) && !err.contains(RIGHT),
            "{what}: the password shows: {err}"
        );
    }
    // Nothing was written with the wrong password.
    let cluster = Cluster::Broker {
        bootstrap: servers.clone(),
        properties: properties(RIGHT),
    };
    assert_eq!(read_records_of(&cluster, &topic).len(), 2);
}

/// The number in "record of N bytes" of an error.
fn record_size_in(err: &str) -> usize {
    let at = err
        .find("record of ")
        .unwrap_or_else(|| panic!("no record size in: {err}"));
    err[at + "record of ".len()..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no record size in: {err}"))
}

#[test]
fn an_oversized_record_fails_the_sink_naming_it_and_keeps_what_was_committed() {
    const BIG: usize = 2_000_000;
    let dir = tempfile::tempdir().unwrap();
    for servers in places(dir.path()) {
        let topic = fresh_topic("big-write");
        create_topic(&cluster_of(&servers), &topic, 1).unwrap();
        let table = format!(
            "CREATE TABLE big_out (k STRING, v STRING) WITH ('connector' = 'kafka', 'topic' = '{topic}',
               'properties.bootstrap.servers' = '{servers}', 'format' = 'json');"
        );
        session(dir.path())
            .execute(&format!(
                "{table} INSERT INTO big_out VALUES ('a', 'small'), ('b', 'small');"
            ))
            .unwrap();
        let lines = [
            r#"{"k":"c","v":"small"}"#.to_string(),
            format!(r#"{{"k":"huge","v":"{}"}}"#, "x".repeat(BIG)),
            r#"{"k":"d","v":"small"}"#.to_string(),
        ];
        std::fs::write(dir.path().join("big.json"), lines.join("\n")).unwrap();
        let err = session(dir.path())
            .execute(&format!(
                "CREATE TABLE f (k STRING, v STRING) WITH ('connector' = 'filesystem', 'path' = 'big.json', 'format' = 'json');
                 {table} INSERT INTO big_out SELECT k, v FROM f;"
            ))
            .err()
            .unwrap_or_else(|| panic!("{servers}: a record over the limit is refused"))
            .to_string();
        assert!(
            err.contains("table 'big_out'") && err.contains(&format!("topic '{topic}'")),
            "{servers}: {err}"
        );
        let size = record_size_in(&err);
        assert!((BIG..BIG + 100).contains(&size), "{servers}: {err}");
        if !servers.starts_with("embedded") {
            assert!(err.contains("'properties.message.max.bytes'"), "{err}");
            // The client's limit is the table's to set.
            let err = session(dir.path())
                .execute(&format!(
                    "CREATE TABLE small_out (k STRING, v STRING) WITH ('connector' = 'kafka', 'topic' = '{topic}',
                       'properties.bootstrap.servers' = '{servers}', 'format' = 'json',
                       'properties.message.max.bytes' = '1000');
                     INSERT INTO small_out VALUES ('e', '{}');",
                    "z".repeat(1500)
                ))
                .err()
                .unwrap()
                .to_string();
            assert!(err.contains("table 'small_out'"), "{err}");
            assert!((1500..1600).contains(&record_size_in(&err)), "{err}");
        }

        // The rows of the first job are still there; the huge one is not.
        let records = read_all(&servers, &topic);
        let values: Vec<String> = records.into_iter().filter_map(|(_, _, v)| v).collect();
        assert!(values.iter().all(|v| v.len() < 100), "{servers}");
        for k in ["a", "b"] {
            assert!(
                values.contains(&format!(r#"{{"k":"{k}","v":"small"}}"#)),
                "{servers}: {values:?}"
            );
        }
    }
}

#[test]
fn a_record_larger_than_the_fetch_limits_is_still_read() {
    const BIG: usize = 300_000;
    let dir = tempfile::tempdir().unwrap();
    for servers in places(dir.path()) {
        let topic = fresh_topic("big-read");
        create_topic(&cluster_of(&servers), &topic, 1).unwrap();
        let big = format!(r#"{{"k":"big","v":"{}"}}"#, "y".repeat(BIG));
        produce(
            &servers,
            &topic,
            &[
                (None, Some(r#"{"k":"a","v":"small"}"#)),
                (None, Some(big.as_str())),
                (None, Some(r#"{"k":"b","v":"small"}"#)),
            ],
        );
        let script = |limits: &str| {
            format!(
                "CREATE TABLE src (k STRING, v STRING) WITH ('connector' = 'kafka', 'topic' = '{topic}',
                   'properties.bootstrap.servers' = '{servers}', 'format' = 'json', {limits},
                   'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset');
                 SELECT k, CHAR_LENGTH(v) FROM src;"
            )
        };
        // Fetches of at most 10 kB still return a record of 300 kB whole (as Kafka's fetch
        // does since KIP-74: the first record of a partition even when it is larger).
        let rows = query_rows(
            dir.path(),
            &script(
                "'properties.message.max.bytes' = '10000', 'properties.fetch.max.bytes' = '10000', \
                 'properties.max.partition.fetch.bytes' = '10000'",
            ),
        );
        assert_eq!(
            rows,
            vec!["a,5".to_string(), "b,5".to_string(), format!("big,{BIG}")],
            "{servers}"
        );
        // librdkafka refuses a fetch limit below its message limit; the error says which
        // options, for which table.
        if !servers.starts_with("embedded") {
            let err = session(dir.path())
                .execute_collect(&script("'properties.fetch.max.bytes' = '10000'"))
                .err()
                .unwrap()
                .to_string();
            assert!(
                err.contains("table 'src'")
                    && err.contains("'properties.*'")
                    && err.contains("fetch.max.bytes"),
                "{err}"
            );
        }
    }
}

/// A loopback port nothing listens on.
fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    drop(listener);
    address
}

#[test]
fn an_unreachable_broker_fails_source_and_sink_in_bounded_time() {
    let dir = tempfile::tempdir().unwrap();
    let servers = closed_port();
    let table = format!(
        "CREATE TABLE t (k STRING, v INT) WITH ('connector' = 'kafka', 'topic' = 'nowhere',
           'properties.bootstrap.servers' = '{servers}', 'format' = 'json',
           'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset');"
    );
    for (what, script) in [
        ("source", format!("{table} SELECT * FROM t;")),
        ("sink", format!("{table} INSERT INTO t VALUES ('a', 1);")),
    ] {
        let started = std::time::Instant::now();
        let err = session(dir.path())
            .execute_collect(&script)
            .err()
            .unwrap_or_else(|| panic!("{what}: nothing listens on {servers}"))
            .to_string();
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{what}: failed after {:?}: {err}",
            started.elapsed()
        );
        assert!(
            err.contains("table 't', topic 'nowhere'")
                && err.contains(&format!("'{servers}'"))
                && err.contains("'properties.bootstrap.servers'"),
            "{what}: {err}"
        );
    }
}
