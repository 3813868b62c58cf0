//! Writes a table's rows to a topic. `kafka` takes appends; `upsert-kafka` takes a changelog
//! keyed by the table's primary key: inserts and updates become records with the key,
//! deletes become tombstones (a null value), and update-befores are dropped, as in Flink.

use std::path::Path;

use arrow::array::Array;
use arrow::record_batch::RecordBatch;
use weir_api::SinkReport;

use super::{cluster, in_table, open_producer, option_error, topics, LogProducer};
use crate::connectors::formats::Encoder;
use crate::operators::group_aggregate::{row_kinds, without_op, RowKind};
use crate::sql::TableDef;
use crate::{Error, Result};

/// How records get their partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Partitioner {
    /// By key (murmur2), or the client's choice without a key.
    Default,
    /// Everything to partition 0 (Flink: each sink subtask to one partition).
    Fixed,
    /// In turn over the topic's partitions.
    RoundRobin { partitions: i32, next: i32 },
}

pub struct KafkaSink {
    table: String,
    connector: &'static str,
    topic: String,
    producer: Box<dyn LogProducer>,
    /// Key columns and their encoder.
    key: Option<(Vec<usize>, Encoder)>,
    /// Value columns and their encoder.
    value: (Vec<usize>, Encoder),
    /// The column of the record's timestamp (`METADATA FROM 'timestamp'`).
    timestamp: Option<usize>,
    upsert: bool,
    partitioner: Partitioner,
    rows: u64,
    key_buf: Vec<u8>,
    value_buf: Vec<u8>,
}

impl KafkaSink {
    pub fn open(def: &TableDef, base: &Path) -> Result<Self> {
        let upsert = def
            .option("connector")
            .is_some_and(|(c, _)| c == "upsert-kafka");
        let topic = match topics(def).as_slice() {
            [one] => one.clone(),
            _ => {
                return Err(option_error(
                    def,
                    "topic",
                    "a sink writes to exactly one topic",
                ))
            }
        };
        // Batches come in the table's writable columns (VIRTUAL metadata columns left out).
        let writable: Vec<&crate::sql::ColumnDef> = def.writable_columns().collect();
        let schema = def.sink_schema();
        let position = |name: &str| writable.iter().position(|c| c.name == name);
        if upsert && def.primary_key.is_empty() {
            return Err(Error::Sql {
                    message: format!(
                        "table '{}' (connector 'upsert-kafka') needs a PRIMARY KEY (...) NOT ENFORCED: it is the message key",
                        def.name
                    ),
                    span: def.span,
                });
        }
        // Key columns as declared, and as positions in the writable columns.
        let declared_keys = super::key_columns(def)?;
        let key_columns: Vec<usize> = declared_keys
            .iter()
            .filter_map(|&i| position(&def.columns[i].name))
            .collect();
        let key = if key_columns.is_empty() {
            None
        } else {
            if def.option("key.format").is_none() {
                return Err(option_error(
                    def,
                    "key.format",
                    "is required when the record has a key",
                ));
            }
            let key_schema = super::key_schema(def, &declared_keys);
            Some((
                key_columns.clone(),
                Encoder::new(def, "key.format", "key.", &key_schema)?,
            ))
        };
        let except_key = super::value_except_key(def);
        let value_columns: Vec<usize> = (0..writable.len())
            .filter(|&i| writable[i].metadata.is_none())
            .filter(|i| !(except_key && key_columns.contains(i)))
            .collect();
        let timestamp = writable
            .iter()
            .position(|c| c.metadata.as_ref().is_some_and(|m| m.key == "timestamp"));
        let value_schema = schema.project(&value_columns)?;
        let (format_key, prefix) = if def.option("value.format").is_some() {
            ("value.format", "value.")
        } else {
            ("format", "")
        };
        if upsert && def.option("value.format").is_none() {
            return Err(option_error(
                def,
                "value.format",
                "is required by 'upsert-kafka'",
            ));
        }
        let encoder = Encoder::new(def, format_key, prefix, &value_schema)?;
        match def.option("sink.delivery-guarantee").or(def.option("sink.semantic")) {
            Some((v, span)) if v.eq_ignore_ascii_case("exactly-once") || v.eq_ignore_ascii_case("exactly_once") => {
                return Err(Error::Unsupported {
                    construct: "'sink.delivery-guarantee' = 'exactly-once' (Kafka transactions); use 'at-least-once'".into(),
                    span,
                })
            }
            _ => {}
        }
        let mut producer = open_producer(&cluster(def, base)?)?;
        // Unreachable brokers and refused credentials fail here, before any row is read.
        producer
            .check(&topic)
            .map_err(|e| in_table(&def.name, &topic, e))?;
        let partitioner = match def.option("sink.partitioner").map(|(v, _)| v.trim()) {
            None | Some("default") => Partitioner::Default,
            Some("fixed") => Partitioner::Fixed,
            Some("round-robin") => Partitioner::RoundRobin {
                partitions: producer.partition_count(&topic)?.max(1),
                next: 0,
            },
            Some(other) => {
                return Err(option_error(
                    def,
                    "sink.partitioner",
                    format!("'{other}' is not one of: default, fixed, round-robin"),
                ))
            }
        };
        Ok(Self {
            table: def.name.clone(),
            connector: if upsert { "upsert-kafka" } else { "kafka" },
            topic,
            producer,
            key,
            value: (value_columns, encoder),
            timestamp,
            upsert,
            partitioner,
            rows: 0,
            key_buf: Vec::new(),
            value_buf: Vec::new(),
        })
    }
}

impl crate::connectors::Sink for KafkaSink {
    fn write_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        let kinds = row_kinds(batch).cloned();
        let rows = without_op(batch);
        if kinds.is_some() && !self.upsert {
            return Err(Error::Internal(format!(
                "the append-only table '{}' was given an updating result",
                self.table
            )));
        }
        let key_batch = match &self.key {
            Some((cols, _)) => Some(rows.project(cols)?),
            None => None,
        };
        let value_batch = rows.project(&self.value.0)?;
        let timestamps = match self.timestamp {
            Some(i) => {
                use arrow::datatypes::{DataType, TimeUnit};
                let millis = arrow::compute::cast(
                    rows.column(i),
                    &DataType::Timestamp(TimeUnit::Millisecond, None),
                )?;
                Some(arrow::compute::cast(&millis, &DataType::Int64)?)
            }
            None => None,
        };
        let timestamps = timestamps
            .as_ref()
            .and_then(|t| t.as_any().downcast_ref::<arrow::array::Int64Array>());
        for row in 0..rows.num_rows() {
            let kind = kinds
                .as_ref()
                .map(|k| RowKind::from_i8(k.value(row)))
                .unwrap_or(RowKind::Insert);
            if kind == RowKind::UpdateBefore {
                continue;
            }
            self.key_buf.clear();
            let key = match (&self.key, &key_batch) {
                (Some((_, encoder)), Some(kb)) => {
                    encoder.encode(kb, row, &mut self.key_buf)?;
                    Some(self.key_buf.as_slice())
                }
                _ => None,
            };
            self.value_buf.clear();
            let value = if kind == RowKind::Delete {
                None
            } else {
                self.value
                    .1
                    .encode(&value_batch, row, &mut self.value_buf)?;
                Some(self.value_buf.as_slice())
            };
            let partition = match &mut self.partitioner {
                Partitioner::Default => None,
                Partitioner::Fixed => Some(0),
                Partitioner::RoundRobin { partitions, next } => {
                    let p = *next;
                    *next = (*next + 1) % *partitions;
                    Some(p)
                }
            };
            let timestamp = timestamps.and_then(|t| t.is_valid(row).then(|| t.value(row)));
            self.producer
                .send(&self.topic, partition, key, value, timestamp)
                .map_err(|e| in_table(&self.table, &self.topic, e))?;
            self.rows += 1;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.producer
            .flush()
            .map_err(|e| in_table(&self.table, &self.topic, e))
    }

    fn report(&self) -> SinkReport {
        SinkReport {
            table: self.table.clone(),
            connector: self.connector.into(),
            rows_written: self.rows,
            duckdb: None,
        }
    }
}
