//! Rows of a Kafka table from records: the value format's columns, the key format's columns
//! (`'value.fields-include' = 'EXCEPT_KEY'`) and metadata columns (`offset`, `timestamp`...),
//! put together in the table's declared order, as Flink's Kafka deserializer does.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Int32Array, Int64Array, StringArray, TimestampMillisecondArray,
    UInt32Array,
};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use super::{key_columns, key_schema, value_except_key, Message};
use crate::connectors::formats::Decoder;
use crate::sql::TableDef;
use crate::{Error, Result};

/// A metadata column's source.
#[derive(Debug, Clone, Copy)]
enum Meta {
    Topic,
    Partition,
    Offset,
    Timestamp,
    TimestampType,
}

/// Where a declared column comes from.
#[derive(Debug, Clone, Copy)]
enum Origin {
    /// Column `i` of the value's rows.
    Value(usize),
    /// Column `i` of the key's rows.
    Key(usize),
    Meta(Meta),
}

/// How a table's rows are made from the records of one partition.
#[derive(Clone)]
pub(super) struct RowPlan {
    schema: SchemaRef,
    columns: Vec<Origin>,
    value_schema: SchemaRef,
    /// Key schema and its format, when the key holds columns the value does not.
    key_schema: Option<SchemaRef>,
    value_format: (&'static str, &'static str),
    /// Value columns a row must have (the watermark's).
    rowtime: Vec<usize>,
    /// Whether a column needs each record's offset or time (else they are not kept).
    per_record: bool,
    /// Value columns the query does not read ([`RowPlan::project`]).
    value_skipped: Vec<bool>,
}

impl RowPlan {
    pub(super) fn new(def: &TableDef) -> Result<Self> {
        let schema: SchemaRef = Arc::new(def.arrow_schema());
        let keys = if value_except_key(def) {
            if def.option("key.format").is_none() {
                return Err(super::option_error(
                    def,
                    "key.format",
                    "is required with 'value.fields-include' = 'EXCEPT_KEY' (the key holds those columns)",
                ));
            }
            let keys = key_columns(def)?;
            if keys.is_empty() {
                return Err(super::option_error(
                    def,
                    "key.fields",
                    "is required with 'value.fields-include' = 'EXCEPT_KEY'",
                ));
            }
            keys
        } else {
            vec![]
        };
        let mut columns = Vec::with_capacity(def.columns.len());
        let mut value_columns = Vec::new();
        for (i, c) in def.columns.iter().enumerate() {
            columns.push(match &c.metadata {
                Some(m) => Origin::Meta(match m.key.as_str() {
                    "topic" => Meta::Topic,
                    "partition" => Meta::Partition,
                    "offset" => Meta::Offset,
                    "timestamp" => Meta::Timestamp,
                    "timestamp-type" => Meta::TimestampType,
                    other => {
                        return Err(Error::Internal(format!(
                            "metadata key '{other}' passed validation but has no reader"
                        )))
                    }
                }),
                None => match keys.iter().position(|&k| k == i) {
                    Some(k) => Origin::Key(k),
                    None => {
                        value_columns.push(i);
                        Origin::Value(value_columns.len() - 1)
                    }
                },
            });
        }
        let rowtime = def
            .watermark
            .as_ref()
            .and_then(|w| {
                value_columns
                    .iter()
                    .position(|&i| def.columns[i].name == w.column)
            })
            .into_iter()
            .collect();
        let value_format = if def.option("value.format").is_some() {
            ("value.format", "value.")
        } else {
            ("format", "")
        };
        let per_record = columns.iter().any(|c| {
            matches!(
                c,
                Origin::Meta(Meta::Offset | Meta::Timestamp | Meta::TimestampType)
            )
        });
        let plan = Self {
            per_record,
            value_skipped: Vec::new(),
            value_schema: Arc::new(schema.project(&value_columns)?),
            key_schema: (!keys.is_empty()).then(|| Arc::new(key_schema(def, &keys))),
            schema,
            columns,
            value_format,
            rowtime,
        };
        // Fail on bad format options before touching the network.
        plan.rows(def, "", 0)?;
        Ok(plan)
    }

    /// Leaves the value columns that later operators do not read (`needed[i]` false for
    /// column `i` of the table) unconverted: they come out NULL.
    pub(super) fn project(&mut self, needed: &[bool]) {
        self.value_skipped = self
            .columns
            .iter()
            .enumerate()
            .filter(|(_, o)| matches!(o, Origin::Value(_)))
            .map(|(i, _)| !needed.get(i).copied().unwrap_or(true))
            .collect();
    }

    pub(super) fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// The builder of rows from records of `topic`/`partition`.
    pub(super) fn rows(&self, def: &TableDef, topic: &str, partition: i32) -> Result<Rows> {
        let (format_key, prefix) = self.value_format;
        let mut value = Decoder::new(
            def,
            format_key,
            prefix,
            self.value_schema.clone(),
            &self.rowtime,
        )?;
        value.skip_columns(&self.value_skipped);
        Ok(Rows {
            plan: self.clone(),
            topic: topic.to_string(),
            partition,
            value,
            key: match &self.key_schema {
                Some(s) => Some(Decoder::new(def, "key.format", "key.", s.clone(), &[])?),
                None => None,
            },
            key_rows: Vec::new(),
            keep: Vec::new(),
            dropped: false,
            offsets: Vec::new(),
            timestamps: Vec::new(),
            append_time: Vec::new(),
        })
    }
}

impl Rows {
    /// See [`RowPlan::project`]; before the first record.
    pub(super) fn project(&mut self, needed: &[bool]) {
        self.plan.project(needed);
        self.value.skip_columns(&self.plan.value_skipped);
    }
}

/// Rows being built from one partition's records.
pub(super) struct Rows {
    plan: RowPlan,
    topic: String,
    partition: i32,
    value: Decoder,
    key: Option<Decoder>,
    /// For each row: its row among the decoded keys (`None`: the record had no key).
    key_rows: Vec<Option<u32>>,
    /// For each row: whether it stays (false: its key was malformed and skipped).
    keep: Vec<bool>,
    dropped: bool,
    offsets: Vec<i64>,
    timestamps: Vec<Option<i64>>,
    append_time: Vec<bool>,
}

impl Rows {
    /// Adds one record; `Ok(false)` when it was malformed and skipped as the options say.
    pub(super) fn add(&mut self, m: &Message<'_>) -> std::result::Result<bool, String> {
        if !self.value.decode(m.value)? {
            return Ok(false);
        }
        if self.plan.per_record {
            self.offsets.push(m.offset);
            self.timestamps.push(m.timestamp);
            self.append_time.push(m.log_append_time);
        }
        let Some(key) = &mut self.key else {
            self.keep.push(true);
            return Ok(true);
        };
        match m.key {
            None => {
                self.key_rows.push(None);
                self.keep.push(true);
                Ok(true)
            }
            Some(bytes) => {
                let before = key.buffered_rows();
                let ok = key.decode(Some(bytes)).map_err(|e| format!("key: {e}"))?;
                self.key_rows.push(ok.then_some(before as u32));
                self.keep.push(ok);
                self.dropped |= !ok;
                Ok(ok)
            }
        }
    }

    pub(super) fn buffered_rows(&self) -> usize {
        self.keep.len()
    }

    /// The rows added since the last flush, in the table's declared columns.
    pub(super) fn flush(&mut self) -> Result<RecordBatch> {
        let n = self.keep.len();
        let value = self.value.flush()?;
        let key = match &mut self.key {
            Some(k) => {
                let batch = k.flush()?;
                let rows = UInt32Array::from(std::mem::take(&mut self.key_rows));
                let columns = batch
                    .columns()
                    .iter()
                    .map(|c| arrow::compute::take(c.as_ref(), &rows, None))
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                Some(columns)
            }
            None => None,
        };
        // Each metadata array is built once, whichever columns read it.
        let timestamps = std::mem::take(&mut self.timestamps);
        let append_time = std::mem::take(&mut self.append_time);
        let reads_type = self
            .plan
            .columns
            .iter()
            .any(|c| matches!(c, Origin::Meta(Meta::TimestampType)));
        let timestamp_types: ArrayRef = Arc::new(StringArray::from_iter(
            timestamps
                .iter()
                .zip(&append_time)
                .filter(|_| reads_type)
                .map(|(ts, append)| {
                    Some(match (ts, append) {
                        (None, _) => "NoTimestampType",
                        (Some(_), true) => "LogAppendTime",
                        (Some(_), false) => "CreateTime",
                    })
                }),
        ));
        let offsets: ArrayRef = Arc::new(Int64Array::from(std::mem::take(&mut self.offsets)));
        let timestamps: ArrayRef = Arc::new(TimestampMillisecondArray::from(timestamps));
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.plan.columns.len());
        for (from, field) in self.plan.columns.iter().zip(self.plan.schema.fields()) {
            let column: ArrayRef = match from {
                Origin::Value(i) => value.column(*i).clone(),
                Origin::Key(i) => match &key {
                    Some(k) => k[*i].clone(),
                    None => return Err(Error::Internal("a key column without a key".into())),
                },
                Origin::Meta(Meta::Topic) => Arc::new(StringArray::from_iter_values(
                    std::iter::repeat_n(self.topic.as_str(), n),
                )),
                Origin::Meta(Meta::Partition) => {
                    Arc::new(Int32Array::from(vec![self.partition; n]))
                }
                Origin::Meta(Meta::Offset) => offsets.clone(),
                Origin::Meta(Meta::Timestamp) => timestamps.clone(),
                Origin::Meta(Meta::TimestampType) => timestamp_types.clone(),
            };
            columns.push(if column.data_type() == field.data_type() {
                column
            } else {
                arrow::compute::cast(&column, field.data_type())?
            });
        }
        let options = arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(n));
        let batch = RecordBatch::try_new_with_options(self.plan.schema.clone(), columns, &options)?;
        let keep = std::mem::take(&mut self.keep);
        if std::mem::take(&mut self.dropped) {
            Ok(arrow::compute::filter_record_batch(
                &batch,
                &BooleanArray::from(keep),
            )?)
        } else {
            Ok(batch)
        }
    }
}
