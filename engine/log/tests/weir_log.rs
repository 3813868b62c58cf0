//! Integration tests of the embedded log through its public API: round trips, segment rolls,
//! reopen, crash recovery, time lookup, retention, consumer groups, Kafka's partitioner,
//! readers in another thread and in another process.

use std::path::Path;
use std::time::Duration;

use weir_log::{
    murmur2, partition_for_key, CommittedOffset, Header, Log, NewRecord, ReadLimits, Record,
    TopicConfig,
};

fn small_segments() -> TopicConfig {
    TopicConfig {
        segment_bytes: 1024,
        retention_ms: None,
        ..TopicConfig::default()
    }
}

fn value(i: usize) -> Vec<u8> {
    format!("{{\"id\":{i},\"payload\":\"{}\"}}", "x".repeat(i % 50)).into_bytes()
}

/// Every record of a partition, read in pieces of `step`.
fn read_all(log: &Log, topic: &str, partition: u32, step: usize) -> Vec<Record> {
    let mut out = Vec::new();
    let mut at = log.start_offset(topic, partition).unwrap();
    loop {
        let got = log.read(topic, partition, at, step).unwrap();
        if got.is_empty() {
            return out;
        }
        at = got.last().unwrap().offset + 1;
        out.extend(got);
    }
}

fn segment_files(dir: &Path, topic: &str, partition: u32) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> =
        std::fs::read_dir(dir.join("topics").join(topic).join(partition.to_string()))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .collect();
    files.sort();
    files
}

#[test]
fn round_trip_keeps_offsets_keys_values_headers_and_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path()).unwrap();
    log.create_topic("events", 1, TopicConfig::default())
        .unwrap();
    let headers = [Header {
        key: "source".into(),
        value: Some(b"test".to_vec()),
    }];
    let first = log
        .append(
            "events",
            0,
            NewRecord::new(b"a")
                .with_key(b"k")
                .with_timestamp(1000)
                .with_headers(&headers),
        )
        .unwrap();
    let second = log
        .append_batch(
            "events",
            0,
            &[
                NewRecord::new(b"b").with_timestamp(2000),
                NewRecord::default().with_timestamp(3000),
            ],
        )
        .unwrap();
    assert_eq!((first, second), (0, 1));
    let got = log.read("events", 0, 0, 10).unwrap();
    let summary: Vec<_> = got
        .iter()
        .map(|r| (r.offset, r.timestamp, r.key.clone(), r.value.clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (0, 1000, Some(b"k".to_vec()), Some(b"a".to_vec())),
            (1, 2000, None, Some(b"b".to_vec())),
            (2, 3000, None, None),
        ]
    );
    assert_eq!(got[0].headers, headers.to_vec());
    assert_eq!(log.end_offset("events", 0).unwrap(), 3);
    // Reading at the end is empty, past it is out of range (Kafka's fetch).
    assert_eq!(log.read("events", 0, 3, 10).unwrap(), vec![]);
    let err = log.read("events", 0, 4, 10).unwrap_err();
    assert_eq!(err.code(), "log.offset_out_of_range");
    assert!(err.to_string().contains("events-0"), "{err}");
    // Reading from the middle starts at that offset.
    assert_eq!(log.read("events", 0, 1, 10).unwrap()[0].offset, 1);
}

#[test]
fn a_record_without_timestamp_gets_the_append_time() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path()).unwrap();
    log.create_topic("t", 1, TopicConfig::default()).unwrap();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    log.append("t", 0, NewRecord::new(b"v")).unwrap();
    let after = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let ts = log.read("t", 0, 0, 1).unwrap()[0].timestamp;
    assert!(before <= ts && ts <= after, "{before} <= {ts} <= {after}");
}

#[test]
fn many_segments_roll_and_reads_cross_them() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path()).unwrap();
    log.create_topic("t", 1, small_segments()).unwrap();
    let values: Vec<Vec<u8>> = (0..2000).map(value).collect();
    // Half one by one, half in batches of 37 (batches span segment boundaries).
    for v in &values[..1000] {
        log.append("t", 0, NewRecord::new(v)).unwrap();
    }
    for chunk in values[1000..].chunks(37) {
        let batch: Vec<_> = chunk.iter().map(|v| NewRecord::new(v)).collect();
        log.append_batch("t", 0, &batch).unwrap();
    }
    let info = log.partition_info("t", 0).unwrap();
    assert_eq!((info.start_offset, info.end_offset), (0, 2000));
    assert!(info.segments > 100, "{} segments", info.segments);
    assert_eq!(segment_files(dir.path(), "t", 0).len(), info.segments);
    for f in segment_files(dir.path(), "t", 0) {
        // No segment grows past segment_bytes (no single record is larger than one).
        assert!(
            std::fs::metadata(&f).unwrap().len() <= 1024,
            "{}",
            f.display()
        );
    }
    for step in [1, 7, 5000] {
        let got = read_all(&log, "t", 0, step);
        assert_eq!(got.len(), 2000, "step {step}");
        for (i, r) in got.iter().enumerate() {
            assert_eq!(r.offset, i as i64);
            assert_eq!(r.value.as_deref(), Some(&values[i][..]));
        }
    }
    // A read from any offset starts exactly there.
    for at in [0, 1, 13, 999, 1000, 1500, 1999] {
        assert_eq!(
            log.read("t", 0, at, 1).unwrap()[0].value.as_deref(),
            Some(&values[at as usize][..])
        );
    }
}

#[test]
fn a_batch_of_many_megabytes_is_written_in_pieces_and_read_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path()).unwrap();
    let config = TopicConfig {
        segment_bytes: 4 << 20,
        ..TopicConfig::default()
    };
    log.create_topic("t", 1, config).unwrap();
    let values: Vec<Vec<u8>> = (0..60_000)
        .map(|i| format!("{i:0>200}").into_bytes())
        .collect();
    let batch: Vec<_> = values.iter().map(|v| NewRecord::new(v)).collect();
    assert_eq!(log.append_batch("t", 0, &batch).unwrap(), 0);
    assert_eq!(log.append("t", 0, NewRecord::new(b"last")).unwrap(), 60_000);
    let info = log.partition_info("t", 0).unwrap();
    assert!(info.segments >= 3, "{info:?}");
    let got = read_all(&log, "t", 0, 7_000);
    assert_eq!(got.len(), 60_001);
    for (r, v) in got.iter().zip(&values) {
        assert_eq!(r.value.as_ref(), Some(v));
    }
}

#[test]
fn read_each_hands_the_same_records_in_place_and_says_where_to_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path()).unwrap();
    log.create_topic("t", 1, small_segments()).unwrap();
    let headers = [Header {
        key: "h".into(),
        value: None,
    }];
    for i in 0..300 {
        let v = value(i);
        let r = NewRecord::new(&v)
            .with_timestamp(i as i64)
            .with_headers(if i % 3 == 0 { &headers } else { &[] });
        log.append("t", 0, r).unwrap();
    }
    let owned = read_all(&log, "t", 0, 1000);
    let mut seen = Vec::new();
    let mut at = 0;
    loop {
        let limits = ReadLimits {
            max_records: 41,
            ..ReadLimits::default()
        };
        let next = log
            .read_each("t", 0, at, limits, |r| {
                assert_eq!(r.headers().count(), usize::from(r.offset % 3 == 0));
                seen.push(r.to_record());
                true
            })
            .unwrap();
        if next == at {
            break;
        }
        assert_eq!(next, seen.last().unwrap().offset + 1);
        at = next;
    }
    assert_eq!(seen, owned);
    assert_eq!(seen.len(), 300);
    // Stopping early: the record that said stop is the last one handed.
    log.create_topic("one-segment", 1, TopicConfig::default())
        .unwrap();
    let batch: Vec<_> = (0..20).map(|_| NewRecord::new(b"v")).collect();
    log.append_batch("one-segment", 0, &batch).unwrap();
    let mut handed = Vec::new();
    let next = log
        .read_each("one-segment", 0, 10, ReadLimits::default(), |r| {
            handed.push(r.offset);
            r.offset < 14
        })
        .unwrap();
    assert_eq!((handed, next), (vec![10, 11, 12, 13, 14], 15));
}

#[test]
fn read_limits_bytes_but_returns_at_least_one_record() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path()).unwrap();
    log.create_topic("t", 1, TopicConfig::default()).unwrap();
    let big = vec![b'x'; 10_000];
    let batch: Vec<_> = (0..5).map(|_| NewRecord::new(&big)).collect();
    log.append_batch("t", 0, &batch).unwrap();
    let limits = |max_bytes| ReadLimits {
        max_records: 100,
        max_bytes,
    };
    assert_eq!(log.read_with("t", 0, 0, limits(10)).unwrap().len(), 1);
    assert_eq!(log.read_with("t", 0, 0, limits(25_000)).unwrap().len(), 2);
    assert_eq!(log.read_with("t", 0, 0, limits(1 << 20)).unwrap().len(), 5);
}

#[test]
fn a_record_over_max_message_bytes_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path()).unwrap();
    let config = TopicConfig {
        max_message_bytes: 1000,
        ..TopicConfig::default()
    };
    log.create_topic("t", 1, config).unwrap();
    let big = vec![0u8; 2000];
    let err = log
        .append_batch("t", 0, &[NewRecord::new(b"ok"), NewRecord::new(&big)])
        .unwrap_err();
    assert_eq!(err.code(), "log.record_too_large");
    assert_eq!(log.end_offset("t", 0).unwrap(), 0);
}

#[test]
fn reopen_after_drop_keeps_everything_and_offsets_continue() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<Vec<u8>> = (0..500).map(value).collect();
    {
        let log = Log::open(dir.path()).unwrap();
        log.create_topic("t", 2, small_segments()).unwrap();
        for (i, v) in values.iter().enumerate() {
            log.append(
                "t",
                (i % 2) as u32,
                NewRecord::new(v).with_timestamp(i as i64),
            )
            .unwrap();
        }
        log.commit("g", "t", 1, 42).unwrap();
    }
    let log = Log::open(dir.path()).unwrap();
    let info = log.topic("t").unwrap();
    assert_eq!((info.partitions, info.config.segment_bytes), (2, 1024));
    for p in 0..2u32 {
        let got = read_all(&log, "t", p, 64);
        let want: Vec<&Vec<u8>> = values.iter().skip(p as usize).step_by(2).collect();
        assert_eq!(got.len(), want.len());
        for (r, w) in got.iter().zip(want) {
            assert_eq!(r.value.as_ref(), Some(w));
        }
    }
    assert_eq!(log.append("t", 0, NewRecord::new(b"next")).unwrap(), 250);
    assert_eq!(log.committed("g", "t", 1).unwrap(), Some(42));
    // And a third open, after the appends of the second, still sees all.
    drop(log);
    let log = Log::open(dir.path()).unwrap();
    assert_eq!(log.end_offset("t", 0).unwrap(), 251);
    assert_eq!(read_all(&log, "t", 0, 1000).len(), 251);
}

#[test]
fn a_torn_tail_is_cut_on_open_and_earlier_records_survive() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<Vec<u8>> = (0..100).map(value).collect();
    {
        let log = Log::open(dir.path()).unwrap();
        log.create_topic("t", 1, TopicConfig::default()).unwrap();
        // One append per record: each is its own batch frame.
        for v in &values {
            log.append("t", 0, NewRecord::new(v)).unwrap();
        }
    }
    // A crash in the middle of writing the last record: its last 5 bytes never made it.
    let seg = segment_files(dir.path(), "t", 0).pop().unwrap();
    let len = std::fs::metadata(&seg).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(len - 5)
        .unwrap();
    let log = Log::open(dir.path()).unwrap();
    // A reader sees the 99 whole records.
    assert_eq!(log.end_offset("t", 0).unwrap(), 99);
    let got = read_all(&log, "t", 0, 1000);
    assert_eq!(got.len(), 99);
    assert_eq!(got[98].value.as_deref(), Some(&values[98][..]));
    // The writer cuts the torn record off and goes on from there.
    assert_eq!(log.append("t", 0, NewRecord::new(b"after")).unwrap(), 99);
    let got = read_all(&log, "t", 0, 1000);
    assert_eq!(got.len(), 100);
    assert_eq!(got[99].value.as_deref(), Some(&b"after"[..]));
    drop(log);
    let log = Log::open(dir.path()).unwrap();
    assert_eq!(read_all(&log, "t", 0, 7).len(), 100);
}

#[test]
fn garbage_after_the_last_record_is_cut_on_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = Log::open(dir.path()).unwrap();
        log.create_topic("t", 1, TopicConfig::default()).unwrap();
        for i in 0..10 {
            log.append("t", 0, NewRecord::new(&value(i))).unwrap();
        }
    }
    // A crash that left zeros (a file extended but never written) and then noise.
    let seg = segment_files(dir.path(), "t", 0).pop().unwrap();
    let clean_len = std::fs::metadata(&seg).unwrap().len();
    let mut f = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
    std::io::Write::write_all(&mut f, &[0u8; 100]).unwrap();
    drop(f);
    let log = Log::open(dir.path()).unwrap();
    assert_eq!(log.end_offset("t", 0).unwrap(), 10);
    assert_eq!(log.append("t", 0, NewRecord::new(b"x")).unwrap(), 10);
    assert!(std::fs::metadata(&seg).unwrap().len() > clean_len);
    assert_eq!(read_all(&log, "t", 0, 100).len(), 11);
}

#[test]
fn offset_for_timestamp_is_the_first_offset_at_or_after_the_time() {
    // Out-of-order CreateTimes: mostly rising, with stragglers 700 ms late.
    let ts: Vec<i64> = (0..3000i64)
        .map(|i| {
            if i % 10 == 3 {
                1_000 + i * 5 - 700
            } else {
                1_000 + i * 5
            }
        })
        .collect();
    let expected = |target: i64| {
        ts.iter()
            .position(|&t| t >= target)
            .map(|i| (i as i64, ts[i]))
    };
    // Tiny segments (no index entries, many segments) and larger ones (the sparse time
    // index inside each segment decides where the scan starts).
    for segment_bytes in [1024, 64 << 10] {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(dir.path()).unwrap();
        let config = TopicConfig {
            segment_bytes,
            retention_ms: None,
            ..TopicConfig::default()
        };
        log.create_topic("t", 1, config).unwrap();
        for chunk in ts.chunks(7) {
            let vals: Vec<Vec<u8>> = chunk
                .iter()
                .map(|t| format!("{t:>100}").into_bytes())
                .collect();
            let batch: Vec<_> = chunk
                .iter()
                .zip(&vals)
                .map(|(&t, v)| NewRecord::new(v).with_timestamp(t))
                .collect();
            log.append_batch("t", 0, &batch).unwrap();
        }
        let segments = log.partition_info("t", 0).unwrap().segments;
        assert!(segments >= 5, "{segments} segments");
        let targets: Vec<i64> = [
            i64::MIN,
            0,
            300,
            1_000,
            1_001,
            1_004,
            1_005,
            15_990,
            15_995,
            15_996,
            20_000,
        ]
        .into_iter()
        .chain((0..17_000).step_by(97))
        .collect();
        for &target in &targets {
            assert_eq!(
                log.offset_for_timestamp("t", 0, target).unwrap(),
                expected(target),
                "target {target}, segment_bytes {segment_bytes}"
            );
        }
        // After a reopen the time index comes from the index files and a scan: same answers.
        drop(log);
        let log = Log::open(dir.path()).unwrap();
        for &target in &targets {
            assert_eq!(
                log.offset_for_timestamp("t", 0, target).unwrap(),
                expected(target),
                "after reopen: target {target}, segment_bytes {segment_bytes}"
            );
        }
        // Reads from any offset start there, index or not.
        for at in (0..3000).step_by(31) {
            let got = log.read("t", 0, at, 1).unwrap();
            assert_eq!(got[0].offset, at);
            assert_eq!(got[0].timestamp, ts[at as usize]);
        }
    }
}

#[test]
fn retention_by_size_deletes_the_oldest_segments_and_moves_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path()).unwrap();
    let config = TopicConfig {
        segment_bytes: 1024,
        retention_bytes: Some(8 * 1024),
        retention_ms: None,
        ..TopicConfig::default()
    };
    log.create_topic("t", 1, config).unwrap();
    let values: Vec<Vec<u8>> = (0..2000).map(value).collect();
    for chunk in values.chunks(10) {
        let batch: Vec<_> = chunk.iter().map(|v| NewRecord::new(v)).collect();
        log.append_batch("t", 0, &batch).unwrap();
    }
    log.enforce_retention().unwrap();
    let info = log.partition_info("t", 0).unwrap();
    // Kafka's rule: delete the oldest while what remains stays at or above the limit.
    assert!(info.size_bytes >= 8 * 1024 - 1024, "{info:?}");
    assert!(info.size_bytes < 8 * 1024 + 1024, "{info:?}");
    assert!(info.start_offset > 1000, "{info:?}");
    assert_eq!(info.end_offset, 2000);
    let err = log.read("t", 0, info.start_offset - 1, 10).unwrap_err();
    assert_eq!(err.code(), "log.offset_out_of_range");
    let kept = read_all(&log, "t", 0, 50);
    assert_eq!(kept.len() as i64, 2000 - info.start_offset);
    for r in &kept {
        assert_eq!(r.value.as_deref(), Some(&values[r.offset as usize][..]));
    }
    // The files are gone from disk too, and a reopen agrees on the start.
    assert_eq!(segment_files(dir.path(), "t", 0).len(), info.segments);
    drop(log);
    let log = Log::open(dir.path()).unwrap();
    assert_eq!(log.start_offset("t", 0).unwrap(), info.start_offset);
}

#[test]
fn retention_by_time_deletes_segments_whose_newest_record_is_too_old() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path()).unwrap();
    let config = TopicConfig {
        segment_bytes: 1024,
        retention_ms: Some(60_000),
        ..TopicConfig::default()
    };
    log.create_topic("t", 1, config).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // 0..600 ten minutes old and older, 600..800 within the last minute. Appends apply
    // retention themselves each time a segment rolls.
    for i in 0..800i64 {
        let ts = if i < 600 {
            now - 600_000 - (600 - i)
        } else {
            now - 30_000 + i
        };
        log.append(
            "t",
            0,
            NewRecord::new(&value(i as usize)).with_timestamp(ts),
        )
        .unwrap();
    }
    log.enforce_retention().unwrap();
    let start = log.start_offset("t", 0).unwrap();
    // Every old record whose segment holds no recent one is gone; every recent one stays.
    assert!(start <= 600, "{start}");
    assert!(start > 500, "{start}");
    let kept = read_all(&log, "t", 0, 100);
    assert_eq!(kept.first().unwrap().offset, start);
    assert_eq!(kept.len() as i64, 800 - start);

    // Later, everything is expired, the active segment too: the log empties, offsets go on.
    let report = log.enforce_retention_at(now + 3_600_000).unwrap();
    assert!(report.segments_deleted > 0);
    assert_eq!(log.start_offset("t", 0).unwrap(), 800);
    assert_eq!(log.end_offset("t", 0).unwrap(), 800);
    assert_eq!(log.read("t", 0, 800, 10).unwrap(), vec![]);
    assert_eq!(log.append("t", 0, NewRecord::new(b"new")).unwrap(), 800);
}

#[test]
fn consumer_group_commits_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = Log::open(dir.path()).unwrap();
        log.create_topic("a", 3, TopicConfig::default()).unwrap();
        log.create_topic("b", 1, TopicConfig::default()).unwrap();
        log.commit("g1", "a", 0, 10).unwrap();
        log.commit("g1", "a", 0, 12).unwrap();
        log.commit_offsets(
            "g1",
            &[
                CommittedOffset {
                    topic: "a".into(),
                    partition: 2,
                    offset: 7,
                },
                CommittedOffset {
                    topic: "b".into(),
                    partition: 0,
                    offset: 0,
                },
            ],
        )
        .unwrap();
        log.commit("g2", "b", 0, 99).unwrap();
        assert_eq!(
            log.commit("g1", "a", 0, -1).unwrap_err().code(),
            "log.invalid_offset"
        );
        assert_eq!(
            log.commit("g1", "zzz", 0, 1).unwrap_err().code(),
            "log.unknown_topic"
        );
        assert_eq!(
            log.commit("g1", "a", 3, 1).unwrap_err().code(),
            "log.unknown_partition"
        );
        assert_eq!(
            log.commit("", "a", 0, 1).unwrap_err().code(),
            "log.invalid_group"
        );
    }
    let log = Log::open(dir.path()).unwrap();
    assert_eq!(
        log.groups().unwrap(),
        vec!["g1".to_string(), "g2".to_string()]
    );
    assert_eq!(log.committed("g1", "a", 0).unwrap(), Some(12));
    assert_eq!(log.committed("g1", "a", 1).unwrap(), None);
    assert_eq!(log.committed("g1", "a", 2).unwrap(), Some(7));
    assert_eq!(log.committed("g2", "b", 0).unwrap(), Some(99));
    assert_eq!(log.committed("nobody", "b", 0).unwrap(), None);
    assert_eq!(
        log.group_offsets("g1").unwrap(),
        vec![
            CommittedOffset {
                topic: "a".into(),
                partition: 0,
                offset: 12
            },
            CommittedOffset {
                topic: "a".into(),
                partition: 2,
                offset: 7
            },
            CommittedOffset {
                topic: "b".into(),
                partition: 0,
                offset: 0
            },
        ]
    );
    log.delete_group("g2").unwrap();
    assert_eq!(log.groups().unwrap(), vec!["g1".to_string()]);
}

#[test]
fn commits_from_many_threads_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path()).unwrap();
    log.create_topic("t", 8, TopicConfig::default()).unwrap();
    std::thread::scope(|s| {
        for p in 0..8u32 {
            let log = log.clone();
            s.spawn(move || {
                for k in 0..5 {
                    log.commit("g", "t", p, i64::from(p) * 100 + k).unwrap();
                }
            });
        }
    });
    for p in 0..8u32 {
        assert_eq!(
            log.committed("g", "t", p).unwrap(),
            Some(i64::from(p) * 100 + 4)
        );
    }
}

/// Kafka's murmur2 test vectors, from `UtilsTest.testMurmur2` in apache/kafka
/// (clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java).
#[test]
fn murmur2_matches_kafkas_test_vectors() {
    let cases: [(&[u8], i32); 6] = [
        (b"21", -973_932_308),
        (b"foobar", -790_332_482),
        (b"a-little-bit-long-string", -985_981_536),
        (b"a-little-bit-longer-string", -1_486_304_829),
        (
            b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
            -58_897_971,
        ),
        (b"abc", 479_470_107),
    ];
    for (key, hash) in cases {
        assert_eq!(murmur2(key), hash, "{}", String::from_utf8_lossy(key));
    }
}

/// Partitions computed with kafka-python 3.0.12's `kafka.partitioner.default.murmur2`
/// (`(murmur2(key) & 0x7fffffff) % n`, the Java client's `Utils.toPositive(...) % n`), for
/// 3, 4, 7, 12 and 100 partitions.
#[test]
fn keyed_records_land_on_the_partition_a_kafka_producer_picks() {
    let cases: [(&[u8], [u32; 5]); 8] = [
        (b"21", [0, 0, 3, 0, 40]),
        (b"foobar", [0, 2, 0, 6, 66]),
        (b"a-little-bit-long-string", [2, 0, 1, 8, 12]),
        (b"a-little-bit-longer-string", [2, 3, 0, 11, 19]),
        (b"abc", [0, 3, 4, 3, 7]),
        (b"", [0, 1, 2, 9, 81]),
        (b"user-7", [2, 0, 2, 8, 64]),
        (b"\xff\xfe\x00\x01\x80", [0, 2, 6, 6, 74]),
    ];
    for (key, parts) in cases {
        for (n, want) in [3u32, 4, 7, 12, 100].into_iter().zip(parts) {
            assert_eq!(partition_for_key(key, n), want, "{key:?} % {n}");
        }
    }
    // produce() routes by the same rule.
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path()).unwrap();
    log.create_topic("t", 7, TopicConfig::default()).unwrap();
    let (p, _) = log
        .produce("t", NewRecord::new(b"v").with_key(b"21"))
        .unwrap();
    assert_eq!(p, 3);
    let batch = [
        NewRecord::new(b"1").with_key(b"foobar"),
        NewRecord::new(b"2").with_key(b"abc"),
        NewRecord::new(b"3").with_key(b"foobar"),
    ];
    let placed = log.produce_batch("t", &batch).unwrap();
    assert_eq!(placed, vec![(0, 0), (4, 0), (0, 1)]);
    assert_eq!(log.read("t", 0, 0, 10).unwrap().len(), 2);
}

#[test]
fn null_keys_stick_to_a_partition_for_a_batch_then_move_on() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path()).unwrap();
    log.create_topic("t", 4, TopicConfig::default()).unwrap();
    let v = vec![b'x'; 1000];
    let mut seen = Vec::new();
    for _ in 0..200 {
        seen.push(log.produce("t", NewRecord::new(&v)).unwrap().0);
    }
    // Runs of about 16 KiB (a Kafka batch) on one partition, then the next one.
    let record_len = NewRecord::new(&v).encoded_len();
    let per_run = weir_log::STICKY_BATCH_BYTES.div_ceil(record_len);
    for run in seen.chunks(per_run) {
        assert!(run.iter().all(|&p| p == run[0]), "{seen:?}");
    }
    let mut used: Vec<u32> = seen.clone();
    used.sort_unstable();
    used.dedup();
    assert_eq!(used, vec![0, 1, 2, 3]);
}

#[test]
fn topics_are_created_listed_and_deleted_with_kafkas_errors() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path()).unwrap();
    assert_eq!(
        log.create_topic("bad name", 1, TopicConfig::default())
            .unwrap_err()
            .code(),
        "log.invalid_topic_name"
    );
    assert_eq!(
        log.create_topic("t", 0, TopicConfig::default())
            .unwrap_err()
            .code(),
        "log.invalid_config"
    );
    let info = log.create_topic("t", 3, TopicConfig::default()).unwrap();
    assert_eq!(info.partitions, 3);
    assert_eq!(
        log.create_topic("t", 3, TopicConfig::default())
            .unwrap_err()
            .code(),
        "log.topic_exists"
    );
    // if_not_exists returns the existing topic, unchanged.
    assert_eq!(
        log.create_topic_if_not_exists("t", 9, TopicConfig::default())
            .unwrap(),
        info
    );
    log.create_topic("a.b_c-d", 1, TopicConfig::default())
        .unwrap();
    let names: Vec<String> = log.topics().unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(names, vec!["a.b_c-d", "t"]);
    assert_eq!(log.topic("nope").unwrap_err().code(), "log.unknown_topic");
    assert_eq!(
        log.read("nope", 0, 0, 1).unwrap_err().code(),
        "log.unknown_topic"
    );
    assert_eq!(
        log.append("t", 3, NewRecord::new(b"x")).unwrap_err().code(),
        "log.unknown_partition"
    );

    log.append("t", 1, NewRecord::new(b"x")).unwrap();
    log.delete_topic("t").unwrap();
    assert!(!log.topic_exists("t").unwrap());
    assert_eq!(
        log.append("t", 1, NewRecord::new(b"x")).unwrap_err().code(),
        "log.unknown_topic"
    );
    assert!(!dir.path().join("topics").join("t").exists());
    // A new topic of the same name starts empty.
    log.create_topic("t", 1, TopicConfig::default()).unwrap();
    assert_eq!(log.append("t", 0, NewRecord::new(b"y")).unwrap(), 0);
}

#[test]
fn a_reader_thread_sees_appends_as_they_happen_and_never_a_partial_record() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path()).unwrap();
    log.create_topic("t", 1, small_segments()).unwrap();
    const N: usize = 20_000;
    std::thread::scope(|s| {
        let reader = {
            let log = log.clone();
            s.spawn(move || {
                let mut next = 0i64;
                while next < N as i64 {
                    assert!(log.wait_for("t", 0, next, Duration::from_secs(10)).unwrap());
                    for r in log.read("t", 0, next, 333).unwrap() {
                        assert_eq!(r.offset, next);
                        assert_eq!(r.value.unwrap(), value(next as usize));
                        next += 1;
                    }
                }
                next
            })
        };
        for chunk in (0..N).collect::<Vec<_>>().chunks(97) {
            let vals: Vec<Vec<u8>> = chunk.iter().map(|&i| value(i)).collect();
            let batch: Vec<_> = vals.iter().map(|v| NewRecord::new(v)).collect();
            log.append_batch("t", 0, &batch).unwrap();
        }
        assert_eq!(reader.join().unwrap(), N as i64);
    });
}

#[test]
fn threads_appending_to_one_partition_get_distinct_consecutive_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path()).unwrap();
    log.create_topic("t", 1, small_segments()).unwrap();
    let placed: Vec<(i64, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let log = log.clone();
                s.spawn(move || {
                    (0..300)
                        .map(|i| {
                            let v = format!("thread {t} record {i}");
                            (log.append("t", 0, NewRecord::new(v.as_bytes())).unwrap(), v)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let mut offsets: Vec<i64> = placed.iter().map(|(o, _)| *o).collect();
    offsets.sort_unstable();
    assert_eq!(offsets, (0..1200).collect::<Vec<_>>());
    let got = read_all(&log, "t", 0, 100);
    for (offset, v) in placed {
        assert_eq!(got[offset as usize].value.as_deref(), Some(v.as_bytes()));
    }
}

#[test]
fn a_second_writer_on_a_locked_partition_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path()).unwrap();
    log.create_topic("t", 2, TopicConfig::default()).unwrap();
    // Another process holding partition 1's writer lock.
    let lock_path = dir.path().join("topics/t/1/writer.lock");
    let other = std::fs::File::create(&lock_path).unwrap();
    other.lock().unwrap();
    let err = log.append("t", 1, NewRecord::new(b"x")).unwrap_err();
    assert_eq!(err.code(), "log.partition_locked");
    assert!(err.to_string().contains("t-1"), "{err}");
    // Partition 0 is free; deleting the topic is refused while partition 1 is held.
    assert_eq!(log.append("t", 0, NewRecord::new(b"x")).unwrap(), 0);
    assert_eq!(
        log.delete_topic("t").unwrap_err().code(),
        "log.partition_locked"
    );
    // Retention skips it and says so.
    let report = log.enforce_retention().unwrap();
    assert_eq!(report.skipped_locked, vec![("t".to_string(), 1)]);
    drop(other);
    assert_eq!(log.append("t", 1, NewRecord::new(b"x")).unwrap(), 0);
}

#[test]
fn opening_the_same_folder_twice_in_a_process_shares_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let a = Log::open(dir.path()).unwrap();
    let b = Log::open(dir.path().join(".")).unwrap();
    a.create_topic("t", 1, TopicConfig::default()).unwrap();
    assert_eq!(a.append("t", 0, NewRecord::new(b"1")).unwrap(), 0);
    assert_eq!(b.append("t", 0, NewRecord::new(b"2")).unwrap(), 1);
    assert_eq!(a.read("t", 0, 0, 10).unwrap().len(), 2);
}

const CHILD_DIR: &str = "WEIR_LOG_TEST_CHILD_DIR";

/// Not a test on its own: the writer process of
/// `a_reader_in_another_process_sees_appends_and_the_lock_holds`, started by it.
#[test]
#[ignore]
fn child_writer_process() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let dir = Path::new(&dir);
    let log = Log::open(dir).unwrap();
    log.append("t", 0, NewRecord::new(&value(0))).unwrap();
    std::fs::write(dir.join("child-has-lock"), b"").unwrap();
    for chunk in (1..5000).collect::<Vec<_>>().chunks(50) {
        let vals: Vec<Vec<u8>> = chunk.iter().map(|&i| value(i)).collect();
        let batch: Vec<_> = vals.iter().map(|v| NewRecord::new(v)).collect();
        log.append_batch("t", 0, &batch).unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    while !dir.join("parent-done").exists() {
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_reader_in_another_process_sees_appends_and_the_lock_holds() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path()).unwrap();
    log.create_topic("t", 1, small_segments()).unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "child_writer_process",
            "--nocapture",
        ])
        .env(CHILD_DIR, dir.path())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let marker = dir.path().join("child-has-lock");
    let t0 = std::time::Instant::now();
    while !marker.exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "child never started"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        log.append("t", 0, NewRecord::new(b"x")).unwrap_err().code(),
        "log.partition_locked"
    );
    let mut next = 0i64;
    while next < 5000 {
        assert!(
            log.wait_for("t", 0, next, Duration::from_secs(30)).unwrap(),
            "stuck at {next}"
        );
        for r in log.read("t", 0, next, 1000).unwrap() {
            assert_eq!(r.offset, next);
            assert_eq!(r.value.unwrap(), value(next as usize));
            next += 1;
        }
    }
    std::fs::write(dir.path().join("parent-done"), b"").unwrap();
    assert!(child.wait().unwrap().success());
    // The child is gone and its lock with it: this process can write now.
    assert_eq!(log.append("t", 0, NewRecord::new(b"x")).unwrap(), 5000);
}
