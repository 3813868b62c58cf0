//! Window assignment: appends `window_start`, `window_end` and `window_time` (end - 1 ms)
//! columns computed from the rowtime column, vectorised. They hold the row's *pane*: for
//! TUMBLE that is its window; for HOP and CUMULATE, whose windows overlap, the window
//! aggregation turns panes into windows.

use std::fmt;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, TimestampMillisecondArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit, TimestampMillisecondType};
use arrow::record_batch::RecordBatch;

use crate::sql::query::{WindowKind, WINDOW_END, WINDOW_START, WINDOW_TIME};
use crate::{Error, Result};

/// The Arrow type of window bounds: Flink's TIMESTAMP(3).
pub fn window_bound_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, None)
}

pub struct WindowAssigner {
    time_column: usize,
    kind: WindowKind,
    schema: SchemaRef,
}

impl WindowAssigner {
    /// `input` is the source schema; the output schema adds the three window columns.
    pub fn new(input: &Schema, time_column: usize, kind: WindowKind) -> Self {
        let mut fields: Vec<Field> = input.fields().iter().map(|f| f.as_ref().clone()).collect();
        for name in [WINDOW_START, WINDOW_END, WINDOW_TIME] {
            fields.push(Field::new(name, window_bound_type(), true));
        }
        Self {
            time_column,
            kind,
            schema: Arc::new(Schema::new(fields)),
        }
    }

    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    pub fn assign(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let ts = event_time_millis(batch.column(self.time_column))?;
        let kind = self.kind;
        let pane = kind.pane_ms();
        let starts: TimestampMillisecondArray = ts.unary(|t| kind.pane_start(t));
        let ends: TimestampMillisecondArray = starts.unary(|s| s + pane);
        let times: TimestampMillisecondArray = ends.unary(|e| e - 1);
        let mut columns = batch.columns().to_vec();
        columns.push(Arc::new(starts));
        columns.push(Arc::new(ends));
        columns.push(Arc::new(times));
        RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(|e| Error::Internal(format!("window assignment built a bad batch: {e}")))
    }
}

impl fmt::Display for WindowAssigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "WindowAssigner: {} panes of {}ms on column #{}",
            self.kind.name(),
            self.kind.pane_ms(),
            self.time_column
        )
    }
}

/// A timestamp column as milliseconds since the epoch.
pub fn event_time_millis(column: &ArrayRef) -> Result<TimestampMillisecondArray> {
    let ms = match column.data_type() {
        DataType::Timestamp(TimeUnit::Millisecond, None) => column.clone(),
        _ => cast(column, &window_bound_type())
            .map_err(|e| Error::Internal(format!("rowtime column is not a timestamp: {e}")))?,
    };
    Ok(ms.as_primitive::<TimestampMillisecondType>().clone())
}
