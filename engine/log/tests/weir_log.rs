//! Integration tests of the embedded log through its public API: round trips, segment rolls,
//! reopen, crash recovery, time lookup, retention, consumer groups, Kafka's partitioner,
//! concurrent readers.

use weir_log::{Log, NewRecord, TopicConfig};

#[test]
fn round_trip_keeps_offsets_keys_values_and_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path()).unwrap();
    log.create_topic("events", 1, TopicConfig::default())
        .unwrap();
    let first = log
        .append(
            "events",
            0,
            NewRecord::new(b"a").with_key(b"k").with_timestamp(1000),
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
    assert_eq!(log.end_offset("events", 0).unwrap(), 3);
    assert_eq!(log.read("events", 0, 3, 10).unwrap(), vec![]);
    assert_eq!(
        log.read("events", 0, 4, 10).unwrap_err().code(),
        "log.offset_out_of_range"
    );
}
