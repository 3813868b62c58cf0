//! The `kafka` and `upsert-kafka` connectors, with Flink's option names. A table's topics
//! live on a Kafka-protocol broker (Kafka, Redpanda: through librdkafka) or, when
//! `properties.bootstrap.servers` is `embedded` (or `embedded://DIR`), in Weir's embedded
//! log; the same job moves between them by that one setting.

pub mod client;
pub mod embedded;
mod rows;
pub mod sink;
pub mod source;

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::Effect::{Honoured, RuntimeOnly};
use super::{opt, OptionSpec, PartitionOffset};
use crate::sql::TableDef;
use crate::{Error, Result};

pub use sink::KafkaSink;
pub use source::KafkaSource;

/// Options both Kafka connectors take.
pub(crate) const COMMON: &[OptionSpec] = &[
    opt("connector", true, Honoured, "'kafka' or 'upsert-kafka'"),
    opt(
        "properties.bootstrap.servers",
        true,
        Honoured,
        "host:port[,host:port]; 'embedded' or 'embedded://DIR' for Weir's embedded log",
    ),
    opt(
        "properties.*",
        false,
        Honoured,
        "passed to the Kafka client as they are (group.id, security.protocol, sasl.*, ssl.*...)",
    ),
    opt("key.format", false, Honoured, "json | csv | raw"),
    opt(
        "key.fields-prefix",
        false,
        Honoured,
        "a prefix of key columns' names that the key's fields lack",
    ),
    opt("value.format", false, Honoured, "json | csv | raw"),
    opt(
        "value.fields-include",
        false,
        Honoured,
        "ALL (default) or EXCEPT_KEY",
    ),
    opt("sink.parallelism", false, RuntimeOnly, "sink parallelism"),
    opt(
        "sink.buffer-flush.max-rows",
        false,
        RuntimeOnly,
        "buffering of upserts",
    ),
    opt(
        "sink.buffer-flush.interval",
        false,
        RuntimeOnly,
        "buffering of upserts",
    ),
];

/// What a Kafka table may declare as `METADATA` columns (Flink's keys; `headers` and
/// `leader-epoch` are not offered yet).
pub const METADATA: &[super::MetadataSpec] = &[
    super::MetadataSpec {
        key: "topic",
        ty: "STRING NOT NULL",
        writable: false,
    },
    super::MetadataSpec {
        key: "partition",
        ty: "INT NOT NULL",
        writable: false,
    },
    super::MetadataSpec {
        key: "offset",
        ty: "BIGINT NOT NULL",
        writable: false,
    },
    super::MetadataSpec {
        key: "timestamp",
        ty: "TIMESTAMP_LTZ(3) NOT NULL",
        writable: true,
    },
    super::MetadataSpec {
        key: "timestamp-type",
        ty: "STRING NOT NULL",
        writable: false,
    },
];

/// The key columns a table names in `key.fields` (upsert-kafka: its primary key), as
/// positions in its declared columns.
pub(crate) fn key_columns(def: &TableDef) -> Result<Vec<usize>> {
    let upsert = def
        .option("connector")
        .is_some_and(|(c, _)| c == "upsert-kafka");
    let names: Vec<String> = if upsert {
        def.primary_key.clone()
    } else {
        def.option("key.fields")
            .map(|(v, _)| {
                v.split(';')
                    .map(|n| n.trim().to_string())
                    .filter(|n| !n.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    };
    names
        .iter()
        .map(|n| {
            def.columns
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(n) && c.metadata.is_none())
                .ok_or_else(|| option_error(def, "key.fields", format!("no physical column '{n}'")))
        })
        .collect()
}

/// Whether the value holds only the columns the key does not (`'value.fields-include' =
/// 'EXCEPT_KEY'`).
pub(crate) fn value_except_key(def: &TableDef) -> bool {
    def.option("value.fields-include")
        .is_some_and(|(v, _)| v.eq_ignore_ascii_case("EXCEPT_KEY"))
}

/// The schema a key format reads or writes: the key columns, named without
/// `key.fields-prefix`.
pub(crate) fn key_schema(def: &TableDef, columns: &[usize]) -> arrow::datatypes::Schema {
    let prefix = def.option("key.fields-prefix").map_or("", |(p, _)| p);
    arrow::datatypes::Schema::new(
        columns
            .iter()
            .map(|&i| {
                let c = &def.columns[i];
                let name = c.name.strip_prefix(prefix).unwrap_or(&c.name);
                arrow::datatypes::Field::new(name, c.ty.to_arrow(), true)
            })
            .collect::<Vec<_>>(),
    )
}

pub const KAFKA_OPTIONS: &[OptionSpec] = &[
    opt(
        "topic",
        false,
        Honoured,
        "the topic, or several separated by ';'",
    ),
    opt(
        "topic-pattern",
        false,
        Honoured,
        "a regular expression over topic names (sources)",
    ),
    opt(
        "format",
        false,
        Honoured,
        "json | csv | raw (the value's format)",
    ),
    opt(
        "key.fields",
        false,
        Honoured,
        "columns that make the message key, separated by ';'",
    ),
    opt(
        "scan.startup.mode",
        false,
        Honoured,
        "earliest-offset | latest-offset | group-offsets (default) | timestamp | specific-offsets",
    ),
    opt(
        "scan.startup.specific-offsets",
        false,
        Honoured,
        "'partition:0,offset:42;partition:1,offset:300'",
    ),
    opt(
        "scan.startup.timestamp-millis",
        false,
        Honoured,
        "start at the first record at or after this time",
    ),
    opt(
        "scan.bounded.mode",
        false,
        Honoured,
        "unbounded (default) | latest-offset | group-offsets | timestamp | specific-offsets",
    ),
    opt(
        "scan.bounded.specific-offsets",
        false,
        Honoured,
        "where each partition ends",
    ),
    opt(
        "scan.bounded.timestamp-millis",
        false,
        Honoured,
        "end before the first record at or after this time",
    ),
    opt(
        "scan.topic-partition-discovery.interval",
        false,
        RuntimeOnly,
        "partition discovery",
    ),
    opt(
        "scan.watermark.idle-timeout",
        false,
        Honoured,
        "a partition without records for this long stops holding the watermark back",
    ),
    opt(
        "scan.watermark.emit.strategy",
        false,
        RuntimeOnly,
        "watermark emission",
    ),
    opt(
        "scan.watermark.alignment.group",
        false,
        RuntimeOnly,
        "watermark alignment",
    ),
    opt(
        "scan.watermark.alignment.max-drift",
        false,
        RuntimeOnly,
        "watermark alignment",
    ),
    opt("scan.parallelism", false, RuntimeOnly, "source parallelism"),
    opt(
        "sink.partitioner",
        false,
        Honoured,
        "default | fixed | round-robin",
    ),
    opt(
        "sink.delivery-guarantee",
        false,
        Honoured,
        "at-least-once (default) | none",
    ),
    opt(
        "sink.semantic",
        false,
        Honoured,
        "deprecated name of sink.delivery-guarantee",
    ),
    opt(
        "sink.transactional-id-prefix",
        false,
        RuntimeOnly,
        "transactions (exactly-once)",
    ),
];

pub const UPSERT_KAFKA_OPTIONS: &[OptionSpec] = &[
    opt("topic", true, Honoured, "the topic"),
    opt(
        "scan.watermark.idle-timeout",
        false,
        Honoured,
        "a partition without records for this long stops holding the watermark back",
    ),
];

/// Where a table's topics live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cluster {
    /// A Kafka-protocol broker; `properties` are the table's `properties.*` without the prefix.
    Broker {
        bootstrap: String,
        properties: Vec<(String, String)>,
    },
    /// Weir's embedded log in this folder.
    Embedded { dir: PathBuf },
}

/// Where `embedded` logs live unless a path is given: `$WEIR_LOG_DIR`, else
/// `$XDG_DATA_HOME/weir/log` (`~/.local/share/weir/log`).
pub fn default_log_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("WEIR_LOG_DIR") {
        return PathBuf::from(dir);
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    data.join("weir").join("log")
}

/// Reads `properties.bootstrap.servers` (and the other `properties.*`).
pub fn cluster(def: &TableDef, base: &Path) -> Result<Cluster> {
    let (servers, _) = def
        .option("properties.bootstrap.servers")
        .ok_or_else(|| Error::Option {
            table: def.name.clone(),
            option: "properties.bootstrap.servers".into(),
            message: "is required".into(),
            span: def.span,
        })?;
    let servers = servers.trim();
    if servers == "embedded" || servers == "embedded:" || servers == "embedded://" {
        return Ok(Cluster::Embedded {
            dir: default_log_dir(),
        });
    }
    if let Some(path) = servers.strip_prefix("embedded://") {
        return Ok(Cluster::Embedded {
            dir: super::resolve_path(path, base),
        });
    }
    let properties = def
        .options
        .iter()
        .filter_map(|(k, v, _)| {
            k.strip_prefix("properties.")
                .filter(|k| *k != "bootstrap.servers")
                .map(|k| (k.to_string(), v.clone()))
        })
        .collect();
    Ok(Cluster::Broker {
        bootstrap: servers.to_string(),
        properties,
    })
}

/// One record as a log returns it.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
    /// Milliseconds since the epoch, when the record has a time.
    pub timestamp: Option<i64>,
    /// Whether the broker stamped the time (`LogAppendTime`) rather than the producer.
    pub log_append_time: bool,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
}

/// Reading a log: a broker through librdkafka, or the embedded log. Partitions are read by
/// explicit assignment (as Flink's Kafka source does); a consumer group, when given, only
/// stores committed offsets.
pub trait LogConsumer: Send {
    /// Every partition of `topics` and of topics matching `pattern`, sorted.
    fn partitions(
        &mut self,
        topics: &[String],
        pattern: Option<&regex::Regex>,
    ) -> Result<Vec<(String, i32)>>;
    /// (log start, high watermark) of a partition.
    fn watermarks(&mut self, topic: &str, partition: i32) -> Result<(i64, i64)>;
    /// Whether reading from `next` has reached the partition's end (its high watermark);
    /// a broker that is away for now is "not yet".
    fn at_end(&mut self, topic: &str, partition: i32, next: i64) -> Result<bool> {
        Ok(next >= self.watermarks(topic, partition)?.1)
    }
    /// The group's committed offset of a partition.
    fn committed(&mut self, topic: &str, partition: i32) -> Result<Option<i64>>;
    /// The first offset whose record time is at or after `ts`; the high watermark if none.
    fn offset_for_time(&mut self, topic: &str, partition: i32, ts: i64) -> Result<i64>;
    /// Reads these partitions from these offsets from now on.
    fn assign(&mut self, positions: &[PartitionOffset]) -> Result<()>;
    /// Hands up to `max` records to `each`, waiting at most `timeout` for the first.
    fn poll(
        &mut self,
        max: usize,
        timeout: Duration,
        each: &mut dyn FnMut(Message<'_>) -> Result<()>,
    ) -> Result<usize>;
    /// Stores the group's offsets (the next offset to read of each partition).
    fn commit(&mut self, positions: &[PartitionOffset]) -> Result<()>;
}

/// Writing a log.
pub trait LogProducer: Send {
    /// Checks that `topic` can be written (a broker answers and takes the credentials).
    fn check(&mut self, _topic: &str) -> Result<()> {
        Ok(())
    }
    /// How many partitions `topic` has (created as the log's default if missing).
    fn partition_count(&mut self, topic: &str) -> Result<i32>;
    /// Queues a record; `partition` None lets the key choose (Kafka's murmur2 partitioner);
    /// `timestamp` None stamps it with the time of sending.
    fn send(
        &mut self,
        topic: &str,
        partition: Option<i32>,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        timestamp: Option<i64>,
    ) -> Result<()>;
    /// Waits until every queued record is acknowledged; fails if any was not.
    fn flush(&mut self) -> Result<()>;
}

/// Opens a consumer of the table's cluster; `group` is `properties.group.id`.
pub fn open_consumer(cluster: &Cluster, group: Option<&str>) -> Result<Box<dyn LogConsumer>> {
    match cluster {
        Cluster::Broker {
            bootstrap,
            properties,
        } => Ok(Box::new(client::RdConsumer::new(
            bootstrap, group, properties,
        )?)),
        Cluster::Embedded { dir } => Ok(Box::new(embedded::EmbeddedConsumer::open(dir, group)?)),
    }
}

/// Opens a producer to the table's cluster.
pub fn open_producer(cluster: &Cluster) -> Result<Box<dyn LogProducer>> {
    match cluster {
        Cluster::Broker {
            bootstrap,
            properties,
        } => Ok(Box::new(client::RdProducer::new(bootstrap, properties)?)),
        Cluster::Embedded { dir } => Ok(Box::new(embedded::EmbeddedProducer::open(dir)?)),
    }
}

/// Creates `topic` with `partitions` partitions if it does not exist yet.
pub fn create_topic(cluster: &Cluster, topic: &str, partitions: i32) -> Result<()> {
    match cluster {
        Cluster::Broker {
            bootstrap,
            properties,
        } => client::create_topic(bootstrap, properties, topic, partitions),
        Cluster::Embedded { dir } => embedded::create_topic(dir, topic, partitions),
    }
}

/// The topics a table names (`topic`, several separated by ';').
pub fn topics(def: &TableDef) -> Vec<String> {
    def.option("topic")
        .map(|(v, _)| {
            v.split(';')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Puts the table and its topic(s) in front of a log's error.
pub(crate) fn in_table(table: &str, topic: &str, e: Error) -> Error {
    match e {
        Error::External(m) => Error::External(format!("table '{table}', topic '{topic}': {m}")),
        other => other,
    }
}

/// An option error of `def`.
pub(crate) fn option_error(def: &TableDef, option: &str, message: impl Into<String>) -> Error {
    Error::Option {
        table: def.name.clone(),
        option: option.into(),
        message: message.into(),
        span: def.option(option).map(|(_, s)| s).unwrap_or(def.span),
    }
}

/// Reads `'partition:0,offset:42;partition:1,offset:300'`.
pub fn parse_specific_offsets(def: &TableDef, key: &str) -> Result<Vec<(i32, i64)>> {
    let Some((text, _)) = def.option(key) else {
        return Err(option_error(def, key, "is required by the chosen mode"));
    };
    let mut out = Vec::new();
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let mut partition = None;
        let mut offset = None;
        for kv in part.split(',') {
            match kv.split_once(':').map(|(k, v)| (k.trim(), v.trim())) {
                Some(("partition", v)) => partition = v.parse::<i32>().ok(),
                Some(("offset", v)) => offset = v.parse::<i64>().ok(),
                _ => {}
            }
        }
        match (partition, offset) {
            (Some(p), Some(o)) => out.push((p, o)),
            _ => {
                return Err(option_error(
                    def,
                    key,
                    format!("cannot read '{part}': expected 'partition:N,offset:M'"),
                ))
            }
        }
    }
    Ok(out)
}
