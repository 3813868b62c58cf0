//! Errors of the embedded log, by whose fault they are: the caller's input (names, offsets,
//! configs), the machine (I/O, a partition locked by another process) or damaged files.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A topic name Kafka would refuse (empty, too long, `.`/`..`, or a character outside
    /// `[a-zA-Z0-9._-]`).
    #[error("invalid topic name '{topic}': {reason}")]
    InvalidTopicName { topic: String, reason: String },
    /// `create_topic` of a name that exists.
    #[error("topic '{topic}' already exists")]
    TopicExists { topic: String },
    /// The topic does not exist in this log.
    #[error("unknown topic '{topic}'")]
    UnknownTopic { topic: String },
    /// The partition is not in `0..partitions`.
    #[error("topic '{topic}' has {partitions} partition(s), there is no partition {partition}")]
    UnknownPartition {
        topic: String,
        partition: u32,
        partitions: u32,
    },
    /// A topic setting out of range (partition count, segment size, ...).
    #[error("topic '{topic}': invalid {option}: {reason}")]
    InvalidConfig {
        topic: String,
        option: String,
        reason: String,
    },
    /// A read or a timestamp lookup below the log start or above the end (Kafka's
    /// OFFSET_OUT_OF_RANGE). Reading exactly at `end` is not an error: it returns no records.
    #[error("{topic}-{partition}: offset {offset} is out of range [{start}, {end}]")]
    OffsetOutOfRange {
        topic: String,
        partition: u32,
        offset: i64,
        start: i64,
        end: i64,
    },
    /// A record larger than the topic's `max_message_bytes` (Kafka's MESSAGE_TOO_LARGE).
    #[error(
        "{topic}-{partition}: record of {size} bytes is larger than max_message_bytes ({max})"
    )]
    RecordTooLarge {
        topic: String,
        partition: u32,
        size: usize,
        max: u32,
    },
    /// Another process (or another open `Log` on the same folder) writes this partition.
    #[error(
        "{topic}-{partition} is being written by another process (lock {}); one writer per partition",
        path.display()
    )]
    PartitionLocked {
        topic: String,
        partition: u32,
        path: PathBuf,
    },
    /// A committed offset that cannot be one (negative).
    #[error("group '{group}': cannot commit offset {offset} for {topic}-{partition}")]
    InvalidOffset {
        group: String,
        topic: String,
        partition: u32,
        offset: i64,
    },
    /// A consumer group id that cannot be one (empty).
    #[error("invalid consumer group id '{group}': {reason}")]
    InvalidGroup { group: String, reason: String },
    /// A segment, index or metadata file holds bytes the log did not write (disk damage, or
    /// a file edited by hand). A torn tail after a crash is not this: it is truncated on open.
    #[error("{topic}-{partition}: corrupt data in {} at byte {position}: {reason}", path.display())]
    Corrupt {
        topic: String,
        partition: u32,
        path: PathBuf,
        position: u64,
        reason: String,
    },
    /// A metadata file (topic.json, consumer-offsets.json) does not parse.
    #[error("cannot parse {}: {source}", path.display())]
    Metadata {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// The file system failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// A short stable code, for the UI and for tests.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidTopicName { .. } => "log.invalid_topic_name",
            Error::TopicExists { .. } => "log.topic_exists",
            Error::UnknownTopic { .. } => "log.unknown_topic",
            Error::UnknownPartition { .. } => "log.unknown_partition",
            Error::InvalidConfig { .. } => "log.invalid_config",
            Error::OffsetOutOfRange { .. } => "log.offset_out_of_range",
            Error::RecordTooLarge { .. } => "log.record_too_large",
            Error::PartitionLocked { .. } => "log.partition_locked",
            Error::InvalidOffset { .. } => "log.invalid_offset",
            Error::InvalidGroup { .. } => "log.invalid_group",
            Error::Corrupt { .. } => "log.corrupt",
            Error::Metadata { .. } => "log.metadata",
            Error::Io { .. } => "log.io",
        }
    }
}

/// `map_err` helper: an I/O error with what was being done and to which file.
pub(crate) fn io(
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io {
        action,
        path,
        source,
    }
}
