//! Topics: their settings ([`TopicConfig`], Kafka's topic configs of the same names), what
//! [`crate::Log::topic`] reports ([`TopicInfo`], [`PartitionInfo`]), Kafka's rules for topic
//! names, and the `topic.json` file each topic folder keeps.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Kafka's default `retention.ms`: 7 days.
pub const DEFAULT_RETENTION_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// Weir's default `segment.bytes`: 128 MiB (Kafka's is 1 GiB; smaller segments let retention
/// free space sooner on a desktop).
pub const DEFAULT_SEGMENT_BYTES: u64 = 128 << 20;
/// Kafka's default `max.message.bytes`.
pub const DEFAULT_MAX_MESSAGE_BYTES: u32 = 1_048_588;
/// The smallest `segment_bytes` accepted.
pub const MIN_SEGMENT_BYTES: u64 = 1024;
/// Kafka's longest topic name.
pub const MAX_TOPIC_NAME_LEN: usize = 249;

/// A topic's settings. The defaults are Kafka's, except `segment_bytes`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TopicConfig {
    /// `retention.ms`: segments whose newest record is older than this are deleted.
    /// `None` keeps records forever (Kafka's `-1`). Default 7 days.
    pub retention_ms: Option<i64>,
    /// `retention.bytes`, per partition: the oldest segments are deleted while the partition
    /// would stay at or above this size without them. `None` (default): no limit.
    pub retention_bytes: Option<u64>,
    /// `segment.bytes`: a segment file is sealed and a new one started when the next batch
    /// would take it past this size. Default 128 MiB.
    pub segment_bytes: u64,
    /// `max.message.bytes`: the largest record (as stored) an append accepts.
    pub max_message_bytes: u32,
}

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            retention_ms: Some(DEFAULT_RETENTION_MS),
            retention_bytes: None,
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        }
    }
}

impl TopicConfig {
    pub(crate) fn validate(&self, topic: &str) -> Result<()> {
        let bad = |option: &str, reason: String| Error::InvalidConfig {
            topic: topic.to_string(),
            option: option.to_string(),
            reason,
        };
        if let Some(ms) = self.retention_ms {
            if ms < 0 {
                return Err(bad(
                    "retention_ms",
                    format!("{ms} is negative (use None to keep records forever)"),
                ));
            }
        }
        if self.segment_bytes < MIN_SEGMENT_BYTES {
            return Err(bad(
                "segment_bytes",
                format!(
                    "{} is below the minimum {MIN_SEGMENT_BYTES}",
                    self.segment_bytes
                ),
            ));
        }
        if self.max_message_bytes == 0 {
            return Err(bad("max_message_bytes", "must be at least 1".into()));
        }
        Ok(())
    }
}

/// A topic as [`crate::Log::topic`] and [`crate::Log::topics`] report it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicInfo {
    pub name: String,
    pub partitions: u32,
    pub config: TopicConfig,
    /// When the topic was created, in milliseconds since the Unix epoch.
    pub created_ms: i64,
}

/// One partition's offsets and size, as [`crate::Log::partition_info`] reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartitionInfo {
    pub partition: u32,
    /// The log start offset: the oldest record still kept.
    pub start_offset: i64,
    /// The log end offset (Kafka's high watermark here): the offset the next record gets.
    pub end_offset: i64,
    /// Bytes of whole records on disk, segment headers included.
    pub size_bytes: u64,
    pub segments: usize,
}

/// What `topic.json` holds: the info plus an id that tells a recreated topic from the old one.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct TopicFile {
    #[serde(flatten)]
    pub info: TopicInfo,
    pub id: String,
}

/// Kafka's topic name rules: 1 to 249 characters from `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<()> {
    let bad = |reason: &str| Error::InvalidTopicName {
        topic: name.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() {
        return Err(bad("empty"));
    }
    if name == "." || name == ".." {
        return Err(bad("'.' and '..' are not allowed"));
    }
    if name.len() > MAX_TOPIC_NAME_LEN {
        return Err(bad(&format!(
            "{} characters, the limit is {MAX_TOPIC_NAME_LEN}",
            name.len()
        )));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(bad(&format!(
            "character '{c}' is not allowed (only ASCII letters, digits, '.', '_' and '-')"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_follow_kafkas_rules() {
        for ok in ["a", "orders", "my.topic_v2-x", "...", &"x".repeat(249)] {
            assert!(validate_topic_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a b", "a/b", "é", "a:b", &"x".repeat(250)] {
            let err = validate_topic_name(bad).unwrap_err();
            assert_eq!(err.code(), "log.invalid_topic_name", "{bad}");
        }
    }

    #[test]
    fn config_json_fills_defaults_and_validation_names_the_option() {
        let c: TopicConfig = serde_json::from_str(r#"{"retention_bytes": 100}"#).unwrap();
        assert_eq!(c.retention_bytes, Some(100));
        assert_eq!(c.retention_ms, Some(DEFAULT_RETENTION_MS));
        let bad = TopicConfig {
            segment_bytes: 10,
            ..TopicConfig::default()
        };
        let err = bad.validate("t").unwrap_err().to_string();
        assert!(err.contains("segment_bytes"), "{err}");
    }
}
