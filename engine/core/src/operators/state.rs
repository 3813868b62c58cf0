//! What the stateful operators share to snapshot and restore themselves: state as one Arrow
//! batch (columns named `__...`, scalars in the schema's metadata), accumulators' intermediate
//! state taken without disturbing them, and processing-time access stamps (for
//! `table.exec.state.ttl`) kept as wall-clock milliseconds, so time a job spends stopped
//! counts, as it does for Flink's state TTL.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arrow::array::{new_empty_array, ArrayRef, AsArray, TimestampMillisecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit, TimestampMillisecondType};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::Accumulator;

use super::window_aggregate::AggregateCall;
use crate::{Error, Result};

/// The column of a snapshot holding each entry's last access (processing time).
pub const LAST_ACCESS: &str = "__last_access";
/// Schema metadata key of a snapshot's operator kind, checked when restoring.
pub const KIND_KEY: &str = "weir.operator";

fn arrow_err(e: arrow::error::ArrowError) -> Error {
    Error::Internal(format!("snapshot failed: {e}"))
}

fn df(e: datafusion::error::DataFusionError) -> Error {
    Error::Data(format!("snapshot failed: {e}"))
}

/// Builds snapshots column by column.
pub struct SnapshotBuilder {
    fields: Vec<Field>,
    columns: Vec<ArrayRef>,
    metadata: HashMap<String, String>,
    rows: usize,
}

impl SnapshotBuilder {
    /// A snapshot of `rows` entries of an operator of `kind`.
    pub fn new(kind: &str, rows: usize) -> Self {
        Self {
            fields: Vec::new(),
            columns: Vec::new(),
            metadata: HashMap::from([(KIND_KEY.to_string(), kind.to_string())]),
            rows,
        }
    }

    pub fn column(&mut self, name: impl Into<String>, array: ArrayRef) {
        self.fields
            .push(Field::new(name, array.data_type().clone(), true));
        self.columns.push(array);
    }

    /// Columns of `types` built from `values` (one `Vec` per entry, one value per column).
    pub fn scalar_columns(
        &mut self,
        prefix: &str,
        types: &[DataType],
        values: &[Vec<ScalarValue>],
    ) -> Result<()> {
        for (j, t) in types.iter().enumerate() {
            let array = if values.is_empty() {
                new_empty_array(t)
            } else {
                ScalarValue::iter_to_array(values.iter().map(|v| v[j].clone())).map_err(df)?
            };
            self.column(format!("{prefix}{j}"), array);
        }
        Ok(())
    }

    pub fn meta(&mut self, key: &str, value: impl ToString) {
        self.metadata.insert(key.to_string(), value.to_string());
    }

    /// Last accesses as wall-clock milliseconds.
    pub fn last_access(&mut self, stamps: impl Iterator<Item = Instant>) {
        let clock = Clock::now();
        let array: TimestampMillisecondArray = stamps.map(|s| Some(clock.to_wall(s))).collect();
        self.column(LAST_ACCESS, Arc::new(array));
    }

    pub fn finish(self) -> Result<RecordBatch> {
        let schema = Arc::new(Schema::new(self.fields).with_metadata(self.metadata));
        let options = RecordBatchOptions::new().with_row_count(Some(self.rows));
        RecordBatch::try_new_with_options(schema, self.columns, &options).map_err(arrow_err)
    }
}

/// Reads a snapshot back.
pub struct SnapshotReader<'a> {
    batch: &'a RecordBatch,
}

impl<'a> SnapshotReader<'a> {
    /// Checks that `batch` is a snapshot of an operator of `kind`.
    pub fn new(batch: &'a RecordBatch, kind: &str) -> Result<Self> {
        match batch.schema().metadata().get(KIND_KEY) {
            Some(k) if k == kind => Ok(Self { batch }),
            other => Err(Error::Data(format!(
                "cannot restore a {} snapshot into a {kind} operator",
                other.map(String::as_str).unwrap_or("foreign")
            ))),
        }
    }

    pub fn rows(&self) -> usize {
        self.batch.num_rows()
    }

    pub fn column(&self, name: &str) -> Result<&'a ArrayRef> {
        self.batch
            .column_by_name(name)
            .ok_or_else(|| Error::Data(format!("the snapshot has no column {name}")))
    }

    fn typed<T: ?Sized>(
        &self,
        name: &str,
        cast: impl FnOnce(&'a ArrayRef) -> Option<&'a T>,
    ) -> Result<&'a T> {
        cast(self.column(name)?)
            .ok_or_else(|| Error::Data(format!("the snapshot's column {name} has the wrong type")))
    }

    /// Column `name` as an array of `T`'s values.
    pub fn primitive<T: arrow::datatypes::ArrowPrimitiveType>(
        &self,
        name: &str,
    ) -> Result<&'a arrow::array::PrimitiveArray<T>> {
        use arrow::array::AsArray;
        self.typed(name, |c| c.as_primitive_opt::<T>())
    }

    /// Column `name` as bytes.
    pub fn binary(&self, name: &str) -> Result<&'a arrow::array::BinaryArray> {
        use arrow::array::AsArray;
        self.typed(name, |c| c.as_binary_opt::<i32>())
    }

    /// Column `name` as booleans.
    pub fn boolean(&self, name: &str) -> Result<&'a arrow::array::BooleanArray> {
        use arrow::array::AsArray;
        self.typed(name, |c| c.as_boolean_opt())
    }

    /// The columns `{prefix}0`, `{prefix}1`, ... up to `count`.
    pub fn columns(&self, prefix: &str, count: usize) -> Result<Vec<ArrayRef>> {
        (0..count)
            .map(|j| self.column(&format!("{prefix}{j}")).cloned())
            .collect()
    }

    pub fn meta_i64(&self, key: &str) -> Result<Option<i64>> {
        self.batch
            .schema()
            .metadata()
            .get(key)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|e| Error::Data(format!("bad {key} in a snapshot: {e}")))
            })
            .transpose()
    }

    /// The last accesses, as instants of this process.
    pub fn last_access(&self) -> Result<Vec<Instant>> {
        let column = self.column(LAST_ACCESS)?;
        let column =
            arrow::compute::cast(column, &DataType::Timestamp(TimeUnit::Millisecond, None))
                .map_err(arrow_err)?;
        let clock = Clock::now();
        Ok(column
            .as_primitive::<TimestampMillisecondType>()
            .iter()
            .map(|ms| clock.to_instant(ms.unwrap_or(clock.wall_ms)))
            .collect())
    }

    /// The timestamps (milliseconds) of a column.
    pub fn millis(&self, name: &str) -> Result<Vec<i64>> {
        let column = arrow::compute::cast(
            self.column(name)?,
            &DataType::Timestamp(TimeUnit::Millisecond, None),
        )
        .map_err(arrow_err)?;
        Ok(column
            .as_primitive::<TimestampMillisecondType>()
            .values()
            .to_vec())
    }
}

/// The wall clock and the monotonic clock read together, to convert between them.
struct Clock {
    instant: Instant,
    wall_ms: i64,
}

impl Clock {
    fn now() -> Self {
        let wall_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Self {
            instant: Instant::now(),
            wall_ms,
        }
    }

    fn to_wall(&self, at: Instant) -> i64 {
        let ago = self.instant.saturating_duration_since(at).as_millis() as i64;
        self.wall_ms - ago
    }

    /// An instant as long ago as `wall_ms` is; the process's earliest instant when it cannot
    /// go back that far (the entry then is as old as anything can be).
    fn to_instant(&self, wall_ms: i64) -> Instant {
        let ago = Duration::from_millis(self.wall_ms.saturating_sub(wall_ms).max(0) as u64);
        let mut back = ago;
        loop {
            if let Some(i) = self.instant.checked_sub(back) {
                return i;
            }
            back /= 2;
            if back.is_zero() {
                return self.instant;
            }
        }
    }
}

/// The intermediate state of `accumulators` (one value per state field), which are rebuilt
/// from it so that taking it changes nothing (some accumulators give their state away).
pub fn take_state(
    calls: &[AggregateCall],
    accumulators: &mut [Box<dyn Accumulator>],
) -> Result<Vec<ScalarValue>> {
    let mut values = Vec::new();
    for (call, acc) in calls.iter().zip(accumulators.iter_mut()) {
        let state = acc.state().map_err(df)?;
        let arrays = state
            .iter()
            .map(|s| s.to_array())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(df)?;
        let mut fresh = call.function.create_accumulator().map_err(df)?;
        fresh.merge_batch(&arrays).map_err(df)?;
        *acc = fresh;
        values.extend(state);
    }
    Ok(values)
}

/// The types of the state fields of `calls`, in the order [`take_state`] gives them.
pub fn state_types(calls: &[AggregateCall]) -> Result<Vec<DataType>> {
    let mut types = Vec::new();
    for call in calls {
        for f in call.function.state_fields().map_err(df)? {
            types.push(f.data_type().clone());
        }
    }
    Ok(types)
}

/// New accumulators holding row `row` of the state columns `state` (as [`take_state`] laid
/// them out).
pub fn restore_accumulators(
    calls: &[AggregateCall],
    state: &[ArrayRef],
    row: usize,
) -> Result<Vec<Box<dyn Accumulator>>> {
    let mut column = 0;
    let mut accumulators = Vec::with_capacity(calls.len());
    for call in calls {
        let n = call.function.state_fields().map_err(df)?.len();
        let slices: Vec<ArrayRef> = state
            .get(column..column + n)
            .ok_or_else(|| Error::Data("the snapshot lacks accumulator state".into()))?
            .iter()
            .map(|a| a.slice(row, 1))
            .collect();
        column += n;
        let mut acc = call.function.create_accumulator().map_err(df)?;
        acc.merge_batch(&slices).map_err(df)?;
        accumulators.push(acc);
    }
    Ok(accumulators)
}

/// The values of row `row` of `columns`.
pub fn row_values(columns: &[ArrayRef], row: usize) -> Result<Vec<ScalarValue>> {
    columns
        .iter()
        .map(|c| ScalarValue::try_from_array(c.as_ref(), row).map_err(df))
        .collect()
}
