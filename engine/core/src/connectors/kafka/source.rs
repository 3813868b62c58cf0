//! Reads a table's topics: every partition by assignment, from where `scan.startup.mode`
//! says, until `scan.bounded.mode` says stop (or for ever). Each poll hands the job rows of
//! one partition, so that watermarks are generated per partition as Flink does.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::time::Duration;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use weir_api::JobMetrics;

use super::rows::{RowPlan, Rows};
use super::{
    cluster, in_table, open_consumer, option_error, parse_specific_offsets, topics, LogConsumer,
};
use crate::connectors::{PartitionOffset, Poll, Source, SourceOffset};
use crate::sql::TableDef;
use crate::{Error, Result};

/// Records read per poll at most.
const POLL_RECORDS: usize = 8192;
/// How long a poll waits for the first record.
const POLL_WAIT: Duration = Duration::from_millis(100);

/// One assigned partition.
struct Split {
    topic: String,
    partition: i32,
    /// The next offset to read.
    next: i64,
    /// Where reading stops (bounded mode), exclusive.
    stop: Option<i64>,
    rows: Rows,
}

impl Split {
    fn done(&self) -> bool {
        self.stop.is_some_and(|s| self.next >= s)
    }
}

pub struct KafkaSource {
    table: String,
    /// The table's `topic` (or `topic-pattern`), for errors.
    topics: String,
    schema: SchemaRef,
    consumer: Box<dyn LogConsumer>,
    splits: Vec<Split>,
    index: HashMap<(String, i32), usize>,
    pending: VecDeque<(usize, RecordBatch)>,
    /// What parse errors say to do.
    format_hint: &'static str,
}

/// Where reading starts or stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Earliest,
    Latest,
    Group,
    Timestamp,
    Specific,
    Unbounded,
}

fn mode(def: &TableDef, key: &str, default: Mode, allowed: &[(&str, Mode)]) -> Result<Mode> {
    let Some((v, _)) = def.option(key) else {
        return Ok(default);
    };
    allowed
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(v.trim()))
        .map(|(_, m)| *m)
        .ok_or_else(|| {
            let names: Vec<&str> = allowed.iter().map(|(n, _)| *n).collect();
            option_error(
                def,
                key,
                format!("'{v}' is not one of: {}", names.join(", ")),
            )
        })
}

fn millis(def: &TableDef, key: &str) -> Result<i64> {
    def.option(key)
        .and_then(|(v, _)| v.trim().parse::<i64>().ok())
        .ok_or_else(|| option_error(def, key, "expected milliseconds since the epoch"))
}

impl KafkaSource {
    pub fn open(def: &TableDef, base: &Path) -> Result<Self> {
        // Fails on bad format and key options before touching the network.
        let plan = RowPlan::new(def)?;
        let schema = plan.schema();
        let group = def
            .option("properties.group.id")
            .map(|(v, _)| v.to_string());
        let named = topics(def);
        let described = def
            .option("topic")
            .or(def.option("topic-pattern"))
            .map_or("", |(t, _)| t)
            .to_string();
        let in_table = |e| in_table(&def.name, &described, e);
        let mut consumer =
            open_consumer(&cluster(def, base)?, group.as_deref()).map_err(in_table)?;

        let pattern = match def.option("topic-pattern") {
            Some((p, _)) => Some(regex::Regex::new(&format!("^(?:{p})$")).map_err(|e| {
                option_error(
                    def,
                    "topic-pattern",
                    format!("not a regular expression: {e}"),
                )
            })?),
            None => None,
        };
        if named.is_empty() && pattern.is_none() {
            return Err(option_error(
                def,
                "topic",
                "a source needs 'topic' or 'topic-pattern'",
            ));
        }
        let partitions = consumer
            .partitions(&named, pattern.as_ref())
            .map_err(in_table)?;

        use Mode::*;
        let start = mode(
            def,
            "scan.startup.mode",
            Group,
            &[
                ("earliest-offset", Earliest),
                ("latest-offset", Latest),
                ("group-offsets", Group),
                ("timestamp", Timestamp),
                ("specific-offsets", Specific),
            ],
        )?;
        let stop = mode(
            def,
            "scan.bounded.mode",
            Unbounded,
            &[
                ("unbounded", Unbounded),
                ("latest-offset", Latest),
                ("group-offsets", Group),
                ("timestamp", Timestamp),
                ("specific-offsets", Specific),
            ],
        )?;
        let start_specific = if start == Specific {
            parse_specific_offsets(def, "scan.startup.specific-offsets")?
        } else {
            vec![]
        };
        let stop_specific = if stop == Specific {
            parse_specific_offsets(def, "scan.bounded.specific-offsets")?
        } else {
            vec![]
        };
        let reset = def
            .option("properties.auto.offset.reset")
            .map(|(v, _)| v.to_ascii_lowercase());

        let mut splits = Vec::new();
        for (topic, partition) in partitions {
            let (low, high) = consumer.watermarks(&topic, partition)?;
            let next = match start {
                Earliest => low,
                Latest => high,
                Timestamp => consumer.offset_for_time(
                    &topic,
                    partition,
                    millis(def, "scan.startup.timestamp-millis")?,
                )?,
                Specific => start_specific
                    .iter()
                    .find(|(p, _)| *p == partition)
                    .map(|(_, o)| *o)
                    .unwrap_or(low),
                Group | Unbounded => match consumer.committed(&topic, partition)? {
                    Some(o) => o,
                    None => match reset.as_deref() {
                        Some("earliest") | Some("smallest") => low,
                        Some("latest") | Some("largest") => high,
                        _ => {
                            return Err(option_error(
                                def,
                                "scan.startup.mode",
                                format!(
                                    "group-offsets: the group {} has no committed offset for {topic}/{partition}; set 'properties.auto.offset.reset' to 'earliest' or 'latest', or another startup mode (Flink fails here too)",
                                    group.as_deref().map(|g| format!("'{g}'")).unwrap_or_else(|| "(no 'properties.group.id')".into())
                                ),
                            ))
                        }
                    },
                },
            }
            .clamp(low, high);
            let stop_at = match stop {
                Unbounded => None,
                Latest => Some(high),
                Group => Some(consumer.committed(&topic, partition)?.unwrap_or(high)),
                Timestamp => Some(consumer.offset_for_time(
                    &topic,
                    partition,
                    millis(def, "scan.bounded.timestamp-millis")?,
                )?),
                Specific => Some(
                    stop_specific
                        .iter()
                        .find(|(p, _)| *p == partition)
                        .map(|(_, o)| *o)
                        .unwrap_or(high),
                ),
                Earliest => Some(low),
            };
            splits.push(Split {
                next,
                stop: stop_at,
                rows: plan.rows(def, &topic, partition)?,
                topic,
                partition,
            });
        }
        let positions: Vec<PartitionOffset> = splits
            .iter()
            .map(|s| PartitionOffset {
                topic: s.topic.clone(),
                partition: s.partition,
                offset: s.next,
            })
            .collect();
        consumer.assign(&positions)?;
        let index = splits
            .iter()
            .enumerate()
            .map(|(i, s)| ((s.topic.clone(), s.partition), i))
            .collect();
        let format = def
            .option("value.format")
            .or(def.option("format"))
            .map(|(v, _)| v)
            .unwrap_or("json");
        Ok(Self {
            table: def.name.clone(),
            topics: described.clone(),
            schema,
            consumer,
            splits,
            index,
            pending: VecDeque::new(),
            format_hint: if format == "csv" {
                "csv.ignore-parse-errors"
            } else {
                "json.ignore-parse-errors"
            },
        })
    }

    fn positions(&self) -> Vec<PartitionOffset> {
        self.splits
            .iter()
            .map(|s| PartitionOffset {
                topic: s.topic.clone(),
                partition: s.partition,
                offset: s.next,
            })
            .collect()
    }
}

impl Source for KafkaSource {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn partitions(&self) -> usize {
        self.splits.len()
    }

    fn project(&mut self, needed: &[bool]) {
        for split in &mut self.splits {
            split.rows.project(needed);
        }
    }

    fn poll_batch(&mut self, metrics: &mut JobMetrics) -> Result<Poll> {
        if let Some((p, b)) = self.pending.pop_front() {
            return Ok(Poll::PartitionBatch(p, b));
        }
        if self.splits.iter().all(Split::done) {
            return Ok(Poll::End);
        }
        let Self {
            consumer,
            splits,
            index,
            table,
            format_hint,
            ..
        } = self;
        consumer.poll(POLL_RECORDS, POLL_WAIT, &mut |m| {
            let Some(&i) = index.get(&(m.topic.to_string(), m.partition)) else {
                return Ok(());
            };
            let split = &mut splits[i];
            if m.offset < split.next || split.done() {
                return Ok(());
            }
            split.next = m.offset + 1;
            match split.rows.add(&m) {
                Ok(true) => metrics.rows_read += 1,
                Ok(false) => metrics.parse_errors_skipped += 1,
                Err(e) => {
                    return Err(Error::Data(format!(
                        "table '{table}': {}/{} offset {}: {e} (set '{format_hint}' = 'true' to skip such records)",
                        m.topic, m.partition, m.offset
                    )))
                }
            }
            Ok(())
        })
        .map_err(|e| in_table(&self.table, &self.topics, e))?;
        for (i, split) in self.splits.iter_mut().enumerate() {
            if split.rows.buffered_rows() > 0 {
                self.pending.push_back((i, split.rows.flush()?));
            }
        }
        Ok(match self.pending.pop_front() {
            Some((p, b)) => Poll::PartitionBatch(p, b),
            None if self.splits.iter().all(Split::done) => Poll::End,
            None => Poll::Idle,
        })
    }

    fn offset(&self) -> SourceOffset {
        SourceOffset::Log {
            positions: self.positions(),
        }
    }

    fn caught_up(&mut self) -> Result<bool> {
        if !self.pending.is_empty() {
            return Ok(false);
        }
        for s in &self.splits {
            if s.done() {
                continue;
            }
            let at_end = self
                .consumer
                .at_end(&s.topic, s.partition, s.next)
                .map_err(|e| in_table(&self.table, &self.topics, e))?;
            if !at_end {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn commit(&mut self) -> Result<()> {
        let positions = self.positions();
        self.consumer
            .commit(&positions)
            .map_err(|e| in_table(&self.table, &self.topics, e))
    }
}
