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
    let mut consumer = open_consumer(&cluster_of(servers), None).unwrap();
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
        let control = JobControl::default();
        let options = RunOptions {
            base_dir: dir.path().to_path_buf(),
            print_to_stdout: false,
            control: control.clone(),
            ..RunOptions::default()
        };
        let job = std::thread::spawn(move || Session::new(options).execute(&script));
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
        let control = JobControl::default();
        let options = RunOptions {
            base_dir: dir.path().to_path_buf(),
            print_to_stdout: false,
            control: control.clone(),
            ..RunOptions::default()
        };
        let job = std::thread::spawn(move || Session::new(options).execute(&script));
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
