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

/// Turns a row's pane into the windows that contain it, one row per window, for queries that
/// use HOP and CUMULATE windows themselves rather than aggregate over them (a window join).
/// TUMBLE needs none: its pane is its window.
pub struct WindowExpand {
    /// The `window_start`, `window_end` and `window_time` columns, where the input has them.
    start: usize,
    end: Option<usize>,
    time: Option<usize>,
    kind: WindowKind,
}

impl WindowExpand {
    pub fn new(start: usize, end: Option<usize>, time: Option<usize>, kind: WindowKind) -> Self {
        Self {
            start,
            end,
            time,
            kind,
        }
    }

    /// The `[start, end)` windows that contain the pane starting at `pane`.
    fn windows(&self, pane: i64) -> Vec<(i64, i64)> {
        match self.kind {
            WindowKind::Hop {
                slide_ms, size_ms, ..
            } => (1..=size_ms / slide_ms)
                .map(|k| pane + slide_ms * k)
                .map(|end| (end - size_ms, end))
                .collect(),
            WindowKind::Cumulate {
                step_ms,
                size_ms,
                offset_ms,
            } => {
                let start = pane - (pane - offset_ms).rem_euclid(size_ms);
                let first = (pane - start) / step_ms + 1;
                (first..=size_ms / step_ms)
                    .map(|k| (start, start + step_ms * k))
                    .collect()
            }
            _ => vec![(pane, pane + self.kind.pane_ms())],
        }
    }
}

impl crate::operators::Operator for WindowExpand {
    fn process_batch(
        &mut self,
        batch: RecordBatch,
        _: &mut weir_api::JobMetrics,
    ) -> Result<Vec<RecordBatch>> {
        let panes = event_time_millis(batch.column(self.start))?;
        let mut rows = Vec::new();
        let mut starts = Vec::new();
        let mut ends = Vec::new();
        for i in 0..batch.num_rows() {
            if panes.is_null(i) {
                continue;
            }
            for (s, e) in self.windows(panes.value(i)) {
                rows.push(i as u32);
                starts.push(s);
                ends.push(e);
            }
        }
        let indices = arrow::array::UInt32Array::from(rows);
        let mut columns = batch
            .columns()
            .iter()
            .map(|c| arrow::compute::take(c, &indices, None))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::Internal(format!("window expansion failed: {e}")))?;
        let bound = |values: Vec<i64>, like: &ArrayRef| -> Result<ArrayRef> {
            let a: ArrayRef = Arc::new(TimestampMillisecondArray::from(values));
            if a.data_type() == like.data_type() {
                Ok(a)
            } else {
                cast(&a, like.data_type())
                    .map_err(|e| Error::Internal(format!("window expansion failed: {e}")))
            }
        };
        let times: Vec<i64> = ends.iter().map(|e| e - 1).collect();
        columns[self.start] = bound(starts, &columns[self.start])?;
        if let Some(c) = self.end {
            columns[c] = bound(ends, &columns[c])?;
        }
        if let Some(c) = self.time {
            columns[c] = bound(times, &columns[c])?;
        }
        RecordBatch::try_new(batch.schema(), columns)
            .map(|b| vec![b])
            .map_err(|e| Error::Internal(format!("window expansion built a bad batch: {e}")))
    }
}

impl fmt::Display for WindowExpand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WindowExpand: {} panes into windows", self.kind.name())
    }
}

/// The window columns of a window TVF over a view, as functions of the view's rowtime column:
/// `window_start`, `window_end` and `window_time` of the row's pane, exactly what
/// [`WindowAssigner`] appends at a table's source. Registered for one query, with its
/// window.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct WindowPane {
    kind: WindowKind,
    /// Which bound: [`WINDOW_START`], [`WINDOW_END`] or [`WINDOW_TIME`].
    bound: &'static str,
    name: String,
    signature: datafusion::logical_expr::Signature,
}

impl WindowPane {
    /// The functions a rewritten TVF over a view calls (`sql::query` writes their names).
    pub fn all(kind: WindowKind) -> Vec<datafusion::logical_expr::ScalarUDF> {
        [WINDOW_START, WINDOW_END, WINDOW_TIME]
            .into_iter()
            .map(|bound| {
                datafusion::logical_expr::ScalarUDF::new_from_impl(Self {
                    kind,
                    bound,
                    name: crate::sql::query::window_pane_function(bound),
                    signature: datafusion::logical_expr::Signature::any(
                        1,
                        datafusion::logical_expr::Volatility::Immutable,
                    ),
                })
            })
            .collect()
    }
}

impl datafusion::logical_expr::ScalarUDFImpl for WindowPane {
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &datafusion::logical_expr::Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> datafusion::common::Result<DataType> {
        Ok(window_bound_type())
    }
    fn invoke_with_args(
        &self,
        args: datafusion::logical_expr::ScalarFunctionArgs,
    ) -> datafusion::common::Result<datafusion::logical_expr::ColumnarValue> {
        let [arg] = args.args.as_slice() else {
            return datafusion::common::exec_err!("{} takes one argument", self.name);
        };
        let column = arg.to_array(args.number_rows)?;
        let ts = event_time_millis(&column)
            .map_err(|e| datafusion::common::DataFusionError::Execution(e.to_string()))?;
        let kind = self.kind;
        let pane = kind.pane_ms();
        let out: TimestampMillisecondArray = match self.bound {
            WINDOW_START => ts.unary(|t| kind.pane_start(t)),
            WINDOW_END => ts.unary(|t| kind.pane_start(t) + pane),
            _ => ts.unary(|t| kind.pane_start(t) + pane - 1),
        };
        Ok(datafusion::logical_expr::ColumnarValue::Array(Arc::new(
            out,
        )))
    }
}
