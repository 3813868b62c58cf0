//! Weir's embedded log (the `weir-log` crate) behind the same consumer and producer traits
//! as a broker, so a job moves between them by `properties.bootstrap.servers` alone.

use std::path::Path;
use std::time::{Duration, Instant};

use weir_log::{Log, NewRecord, ReadLimits, TopicConfig};

use super::{LogConsumer, LogProducer, Message, PartitionOffset};
use crate::{Error, Result};

/// Partitions of a topic a producer creates by writing to it (Kafka's `num.partitions`).
pub const DEFAULT_PARTITIONS: u32 = 1;

fn log_err(e: weir_log::Error) -> Error {
    Error::External(format!("embedded log: {e}"))
}

fn partition_id(p: i32) -> Result<u32> {
    u32::try_from(p).map_err(|_| Error::Internal(format!("negative partition {p}")))
}

pub fn open_log(dir: &Path) -> Result<Log> {
    Log::open(dir).map_err(|e| {
        Error::External(format!(
            "embedded log in '{}' (option 'properties.bootstrap.servers'): {e}",
            dir.display()
        ))
    })
}

/// Creates `topic` unless it exists.
pub fn create_topic(dir: &Path, topic: &str, partitions: i32) -> Result<()> {
    open_log(dir)?
        .create_topic_if_not_exists(topic, partition_id(partitions)?, TopicConfig::default())
        .map_err(log_err)?;
    Ok(())
}

/// Reads assigned partitions of the embedded log.
pub struct EmbeddedConsumer {
    log: Log,
    group: Option<String>,
    /// Assigned partitions and the next offset of each.
    assigned: Vec<(String, u32, i64)>,
    /// The partition to read first on the next poll (turns go round).
    turn: usize,
}

impl EmbeddedConsumer {
    pub fn open(dir: &Path, group: Option<&str>) -> Result<Self> {
        Ok(Self {
            log: open_log(dir)?,
            group: group.map(str::to_string),
            assigned: Vec::new(),
            turn: 0,
        })
    }
}

impl LogConsumer for EmbeddedConsumer {
    fn partitions(
        &mut self,
        topics: &[String],
        pattern: Option<&regex::Regex>,
    ) -> Result<Vec<(String, i32)>> {
        let mut out = Vec::new();
        for t in topics {
            let info = self.log.topic(t).map_err(log_err)?;
            out.extend((0..info.partitions).map(|p| (t.clone(), p as i32)));
        }
        if let Some(pattern) = pattern {
            for info in self.log.topics().map_err(log_err)? {
                if pattern.is_match(&info.name) && !topics.contains(&info.name) {
                    out.extend((0..info.partitions).map(|p| (info.name.clone(), p as i32)));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn watermarks(&mut self, topic: &str, partition: i32) -> Result<(i64, i64)> {
        let p = partition_id(partition)?;
        Ok((
            self.log.start_offset(topic, p).map_err(log_err)?,
            self.log.end_offset(topic, p).map_err(log_err)?,
        ))
    }

    fn committed(&mut self, topic: &str, partition: i32) -> Result<Option<i64>> {
        match &self.group {
            Some(g) => self
                .log
                .committed(g, topic, partition_id(partition)?)
                .map_err(log_err),
            None => Ok(None),
        }
    }

    fn offset_for_time(&mut self, topic: &str, partition: i32, ts: i64) -> Result<i64> {
        let p = partition_id(partition)?;
        match self
            .log
            .offset_for_timestamp(topic, p, ts)
            .map_err(log_err)?
        {
            Some((offset, _)) => Ok(offset),
            None => self.log.end_offset(topic, p).map_err(log_err),
        }
    }

    fn assign(&mut self, positions: &[PartitionOffset]) -> Result<()> {
        self.assigned = positions
            .iter()
            .map(|p| Ok((p.topic.clone(), partition_id(p.partition)?, p.offset)))
            .collect::<Result<_>>()?;
        self.turn = 0;
        Ok(())
    }

    fn poll(
        &mut self,
        max: usize,
        timeout: Duration,
        each: &mut dyn FnMut(Message<'_>) -> Result<()>,
    ) -> Result<usize> {
        if self.assigned.is_empty() {
            std::thread::sleep(timeout);
            return Ok(0);
        }
        let deadline = Instant::now() + timeout;
        loop {
            // One partition's records per poll, taking turns, so each batch the source
            // builds holds one partition and no partition starves.
            let n = self.assigned.len();
            for k in 0..n {
                let i = (self.turn + k) % n;
                let (topic, partition, next) = &self.assigned[i];
                let records = self
                    .log
                    .read_with(
                        topic,
                        *partition,
                        *next,
                        ReadLimits {
                            max_records: max,
                            ..ReadLimits::default()
                        },
                    )
                    .map_err(log_err)?;
                if records.is_empty() {
                    continue;
                }
                let count = records.len();
                for r in &records {
                    each(Message {
                        topic,
                        partition: *partition as i32,
                        offset: r.offset,
                        timestamp: Some(r.timestamp),
                        log_append_time: false,
                        key: r.key.as_deref(),
                        value: r.value.as_deref(),
                    })?;
                }
                let last = records[count - 1].offset;
                self.assigned[i].2 = last + 1;
                self.turn = (i + 1) % n;
                return Ok(count);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(0);
            }
            // Wait for new records on the first partition (others are checked again after).
            let (topic, partition, next) = &self.assigned[self.turn % n];
            let wait = (deadline - now).min(Duration::from_millis(20));
            self.log
                .wait_for(topic, *partition, *next, wait)
                .map_err(log_err)?;
        }
    }

    fn commit(&mut self, positions: &[PartitionOffset]) -> Result<()> {
        let Some(group) = &self.group else {
            return Ok(());
        };
        let offsets: Vec<weir_log::CommittedOffset> = positions
            .iter()
            .map(|p| {
                Ok(weir_log::CommittedOffset {
                    topic: p.topic.clone(),
                    partition: partition_id(p.partition)?,
                    offset: p.offset,
                })
            })
            .collect::<Result<_>>()?;
        self.log.commit_offsets(group, &offsets).map_err(log_err)
    }
}

/// Records a producer holds before it appends them (one write per partition per batch).
const BUFFER_RECORDS: usize = 4096;

/// A queued record: partition (None: by key), key, value, timestamp.
type Buffered = (Option<i32>, Option<Vec<u8>>, Option<Vec<u8>>, Option<i64>);

/// Appends to the embedded log, in batches, as a Kafka producer does: records become visible
/// when a batch is appended (every few thousand records, and at [`LogProducer::flush`]).
pub struct EmbeddedProducer {
    log: Log,
    /// Topics written to, and the largest record each takes (`max_message_bytes`).
    known_topics: std::collections::HashMap<String, u32>,
    buffer: Vec<(String, Vec<Buffered>)>,
    buffered: usize,
}

impl EmbeddedProducer {
    pub fn open(dir: &Path) -> Result<Self> {
        Ok(Self {
            log: open_log(dir)?,
            known_topics: Default::default(),
            buffer: Vec::new(),
            buffered: 0,
        })
    }

    /// Appends everything buffered.
    fn write_out(&mut self) -> Result<()> {
        for (topic, records) in &mut self.buffer {
            let mut keyed: Vec<NewRecord<'_>> = Vec::new();
            for (partition, key, value, timestamp) in records.iter() {
                let record = NewRecord {
                    key: key.as_deref(),
                    value: value.as_deref(),
                    timestamp: *timestamp,
                    ..NewRecord::default()
                };
                match partition {
                    Some(p) => {
                        self.log
                            .append(topic, partition_id(*p)?, record)
                            .map_err(log_err)?;
                    }
                    None => keyed.push(record),
                }
            }
            self.log.produce_batch(topic, &keyed).map_err(log_err)?;
            records.clear();
        }
        self.buffered = 0;
        Ok(())
    }
}

impl LogProducer for EmbeddedProducer {
    fn partition_count(&mut self, topic: &str) -> Result<i32> {
        let info = self
            .log
            .create_topic_if_not_exists(topic, DEFAULT_PARTITIONS, TopicConfig::default())
            .map_err(log_err)?;
        self.known_topics
            .insert(topic.to_string(), info.config.max_message_bytes);
        Ok(info.partitions as i32)
    }

    fn send(
        &mut self,
        topic: &str,
        partition: Option<i32>,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        timestamp: Option<i64>,
    ) -> Result<()> {
        if !self.known_topics.contains_key(topic) {
            // Kafka's auto.create.topics.enable: writing creates the topic.
            self.partition_count(topic)?;
        }
        // Refused here rather than when the buffer is written out, so the error is about
        // this record (Kafka's MESSAGE_TOO_LARGE).
        let size = NewRecord {
            key,
            value,
            timestamp,
            ..NewRecord::default()
        }
        .encoded_len();
        if let Some(&max) = self.known_topics.get(topic) {
            if size > max as usize {
                return Err(Error::External(format!(
                    "embedded log: topic '{topic}': a record of {size} bytes is larger than the topic's max_message_bytes ({max})"
                )));
            }
        }
        let record = (
            partition,
            key.map(<[u8]>::to_vec),
            value.map(<[u8]>::to_vec),
            timestamp,
        );
        match self.buffer.iter_mut().find(|(t, _)| t == topic) {
            Some((_, records)) => records.push(record),
            None => self.buffer.push((topic.to_string(), vec![record])),
        }
        self.buffered += 1;
        if self.buffered >= BUFFER_RECORDS {
            self.write_out()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.write_out()?;
        self.log.flush().map_err(log_err)
    }
}
