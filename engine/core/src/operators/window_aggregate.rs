//! WindowAggregate: event-time window aggregation. Rows are grouped per window (by its
//! `window_start`) and per key with DataFusion `GroupsAccumulator`s; a window fires when the
//! watermark passes its end, emitting one row per key, and its state is dropped. Rows whose
//! window has already fired are late: dropped and counted, as in Flink. A snapshot holds, per
//! open window and key, the accumulators' intermediate state (`GroupsAccumulator::state`);
//! restoring merges it back (`merge_batch`), so checkpoints need no per-function code.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, TimestampMillisecondArray, UInt32Array,
};
use arrow::compute::{cast, filter_record_batch, take_record_batch};
use arrow::datatypes::{Field, Schema, SchemaRef, TimestampMillisecondType};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use arrow::row::{RowConverter, Rows, SortField};
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};
use datafusion::physical_expr::aggregate::AggregateFunctionExpr;
use datafusion::physical_expr::{GroupsAccumulatorAdapter, PhysicalExpr};
use weir_api::JobMetrics;

use super::window_assigner::window_bound_type;
use super::Operator;
use crate::{Error, Result};

/// What one GROUP BY expression is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupSlot {
    WindowStart,
    WindowEnd,
    WindowTime,
    /// The n-th key expression.
    Key(usize),
}

/// One aggregate call: the function, its argument expressions and its FILTER clause.
pub struct AggregateCall {
    pub function: Arc<AggregateFunctionExpr>,
    pub filter: Option<Arc<dyn PhysicalExpr>>,
}

pub struct WindowAggregate {
    /// The input column holding each row's `window_start`.
    window_start: Arc<dyn PhysicalExpr>,
    size_ms: i64,
    /// The GROUP BY expressions in order, as the output schema lays them out.
    slots: Vec<GroupSlot>,
    keys: Vec<Arc<dyn PhysicalExpr>>,
    aggregates: Vec<AggregateCall>,
    /// Group columns then aggregate columns, as the logical plan's Aggregate node says.
    schema: SchemaRef,
    converter: RowConverter,
    state: State,
}

/// Open windows by start; the watermark decides when one fires.
struct State {
    windows: BTreeMap<i64, WindowState>,
    /// The last watermark seen; `None` before the first.
    watermark: Option<i64>,
}

/// The groups of one window: key rows, their index, one accumulator per aggregate call.
struct WindowState {
    index: HashMap<Box<[u8]>, usize>,
    keys: Rows,
    accumulators: Vec<Box<dyn GroupsAccumulator>>,
}

fn df(e: datafusion::error::DataFusionError) -> Error {
    Error::Data(format!("aggregation failed: {e}"))
}

fn arrow_err(e: arrow::error::ArrowError) -> Error {
    Error::Internal(format!("aggregation failed: {e}"))
}

impl WindowAggregate {
    pub fn try_new(
        window_start: Arc<dyn PhysicalExpr>,
        size_ms: i64,
        slots: Vec<GroupSlot>,
        keys: Vec<Arc<dyn PhysicalExpr>>,
        key_types: Vec<arrow::datatypes::DataType>,
        aggregates: Vec<AggregateCall>,
        schema: SchemaRef,
    ) -> Result<Self> {
        let converter = RowConverter::new(key_types.into_iter().map(SortField::new).collect())
            .map_err(arrow_err)?;
        Ok(Self {
            window_start,
            size_ms,
            slots,
            keys,
            aggregates,
            schema,
            converter,
            state: State {
                windows: BTreeMap::new(),
                watermark: None,
            },
        })
    }

    fn new_window(&self) -> Result<WindowState> {
        let accumulators = self
            .aggregates
            .iter()
            .map(|call| {
                let f = call.function.clone();
                if f.groups_accumulator_supported() {
                    f.create_groups_accumulator().map_err(df)
                } else {
                    Ok(Box::new(GroupsAccumulatorAdapter::new(move || {
                        f.create_accumulator()
                    })) as Box<dyn GroupsAccumulator>)
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(WindowState {
            index: HashMap::new(),
            keys: self.converter.empty_rows(0, 0),
            accumulators,
        })
    }

    /// Adds the rows of `batch`, all of which belong to the window starting at `start`.
    fn accumulate(&mut self, start: i64, batch: &RecordBatch) -> Result<()> {
        let n = batch.num_rows();
        let key_columns: Vec<ArrayRef> = self
            .keys
            .iter()
            .map(|k| k.evaluate(batch).and_then(|v| v.into_array(n)))
            .collect::<std::result::Result<_, _>>()
            .map_err(df)?;
        if !self.state.windows.contains_key(&start) {
            let w = self.new_window()?;
            self.state.windows.insert(start, w);
        }
        let Some(window) = self.state.windows.get_mut(&start) else {
            return Err(Error::Internal("window vanished".into()));
        };
        let group_indices = if self.keys.is_empty() {
            // GROUP BY the window alone: one group per window.
            if window.index.is_empty() {
                window.index.insert(Box::default(), 0);
            }
            vec![0; n]
        } else {
            let rows = self
                .converter
                .convert_columns(&key_columns)
                .map_err(arrow_err)?;
            let mut group_indices = Vec::with_capacity(n);
            for row in rows.iter() {
                let bytes: &[u8] = row.as_ref();
                let idx = match window.index.get(bytes) {
                    Some(i) => *i,
                    None => {
                        let i = window.index.len();
                        window.index.insert(bytes.into(), i);
                        window.keys.push(row);
                        i
                    }
                };
                group_indices.push(idx);
            }
            group_indices
        };
        let total = window.index.len();
        for (call, acc) in self.aggregates.iter().zip(window.accumulators.iter_mut()) {
            let values: Vec<ArrayRef> = call
                .function
                .expressions()
                .iter()
                .map(|e| e.evaluate(batch).and_then(|v| v.into_array(n)))
                .collect::<std::result::Result<_, _>>()
                .map_err(df)?;
            let filter = match &call.filter {
                Some(f) => Some(
                    f.evaluate(batch)
                        .and_then(|v| v.into_array(n))
                        .map_err(df)?,
                ),
                None => None,
            };
            let filter: Option<&BooleanArray> = filter.as_ref().and_then(|f| f.as_boolean_opt());
            acc.update_batch(&values, &group_indices, filter, total)
                .map_err(df)?;
        }
        Ok(())
    }

    /// Emits the window starting at `start` and drops its state.
    fn fire(&mut self, start: i64, mut window: WindowState) -> Result<RecordBatch> {
        let groups = window.index.len();
        let keys = self
            .converter
            .convert_rows(window.keys.iter())
            .map_err(arrow_err)?;
        let bound = |v: i64| -> Result<ArrayRef> {
            let a: ArrayRef = Arc::new(TimestampMillisecondArray::from(vec![v; groups]));
            Ok(a)
        };
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        for slot in &self.slots {
            columns.push(match slot {
                GroupSlot::WindowStart => bound(start)?,
                GroupSlot::WindowEnd => bound(start + self.size_ms)?,
                GroupSlot::WindowTime => bound(start + self.size_ms - 1)?,
                GroupSlot::Key(i) => keys
                    .get(*i)
                    .cloned()
                    .ok_or_else(|| Error::Internal("missing key column".into()))?,
            });
        }
        for acc in window.accumulators.iter_mut() {
            columns.push(acc.evaluate(EmitTo::All).map_err(df)?);
        }
        // Align types with the plan (window bounds are TIMESTAMP(3); keys keep their types).
        let columns = columns
            .into_iter()
            .zip(self.schema.fields())
            .map(|(c, f)| {
                if c.data_type() == f.data_type() {
                    Ok(c)
                } else {
                    cast(&c, f.data_type())
                }
            })
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(arrow_err)?;
        let options = RecordBatchOptions::new().with_row_count(Some(groups));
        RecordBatch::try_new_with_options(self.schema.clone(), columns, &options).map_err(arrow_err)
    }
}

/// Schema metadata key of the watermark in a snapshot.
const WATERMARK_KEY: &str = "weir.watermark";
const START_COLUMN: &str = "__window_start";

impl WindowAggregate {
    /// The snapshot schema: window start, key columns, then every accumulator's state fields.
    fn snapshot_schema(&self, key_types: &[arrow::datatypes::DataType]) -> Result<Schema> {
        let mut fields = vec![Field::new(START_COLUMN, window_bound_type(), false)];
        for (i, t) in key_types.iter().enumerate() {
            fields.push(Field::new(format!("__key{i}"), t.clone(), true));
        }
        for (j, call) in self.aggregates.iter().enumerate() {
            for f in call.function.state_fields().map_err(df)? {
                fields.push(Field::new(
                    format!("__acc{j}_{}", f.name()),
                    f.data_type().clone(),
                    true,
                ));
            }
        }
        Ok(Schema::new(fields))
    }

    fn key_types(&self) -> Vec<arrow::datatypes::DataType> {
        self.converter
            .convert_rows(std::iter::empty())
            .map(|cols| cols.iter().map(|c| c.data_type().clone()).collect())
            .unwrap_or_default()
    }

    /// Rebuilds a window's accumulators from intermediate state arrays.
    fn merge_into_new(
        &self,
        states: &[Vec<ArrayRef>],
        groups: usize,
    ) -> Result<Vec<Box<dyn GroupsAccumulator>>> {
        let fresh = self.new_window()?;
        let mut accumulators = fresh.accumulators;
        let indices: Vec<usize> = (0..groups).collect();
        for (acc, state) in accumulators.iter_mut().zip(states) {
            acc.merge_batch(state, &indices, None, groups).map_err(df)?;
        }
        Ok(accumulators)
    }
}

impl fmt::Display for WindowAggregate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let aggs: Vec<String> = self
            .aggregates
            .iter()
            .map(|a| a.function.name().to_string())
            .collect();
        let keys: Vec<String> = self.keys.iter().map(|k| k.to_string()).collect();
        write!(
            f,
            "WindowAggregate: size={}ms, keys=[{}], aggregates=[{}]",
            self.size_ms,
            keys.join(", "),
            aggs.join(", ")
        )
    }
}

impl Operator for WindowAggregate {
    fn process_batch(
        &mut self,
        batch: RecordBatch,
        metrics: &mut JobMetrics,
    ) -> Result<Vec<RecordBatch>> {
        let n = batch.num_rows();
        let starts = self
            .window_start
            .evaluate(&batch)
            .and_then(|v| v.into_array(n))
            .map_err(df)?;
        let starts = if starts.data_type() == &window_bound_type() {
            starts
        } else {
            cast(&starts, &window_bound_type()).map_err(arrow_err)?
        };
        let starts = starts.as_primitive::<TimestampMillisecondType>();
        // Late rows: their window's end is at or behind the watermark (it has fired).
        let size = self.size_ms;
        let on_time: BooleanArray = match self.state.watermark {
            Some(wm) => starts
                .iter()
                .map(|s| Some(matches!(s, Some(s) if s + size - 1 > wm)))
                .collect(),
            None => starts.iter().map(|s| Some(s.is_some())).collect(),
        };
        let late = n - on_time.true_count();
        if late > 0 {
            metrics.late_rows_dropped += late as u64;
        }
        let (batch, starts) = if late > 0 {
            let kept = filter_record_batch(&batch, &on_time).map_err(arrow_err)?;
            let kept_starts = arrow::compute::filter(starts, &on_time).map_err(arrow_err)?;
            (
                kept,
                kept_starts
                    .as_primitive::<TimestampMillisecondType>()
                    .clone(),
            )
        } else {
            (batch, starts.clone())
        };
        if batch.num_rows() == 0 {
            return Ok(vec![]);
        }
        // Most batches touch one or two windows: split by window start.
        let first = starts.value(0);
        if starts.values().iter().all(|s| *s == first) {
            self.accumulate(first, &batch)?;
        } else {
            let mut by_window: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
            for (i, s) in starts.values().iter().enumerate() {
                by_window.entry(*s).or_default().push(i as u32);
            }
            for (start, rows) in by_window {
                let part =
                    take_record_batch(&batch, &UInt32Array::from(rows)).map_err(arrow_err)?;
                self.accumulate(start, &part)?;
            }
        }
        Ok(vec![])
    }

    fn snapshot(&mut self) -> Result<Option<RecordBatch>> {
        let key_types = self.key_types();
        let mut schema = self.snapshot_schema(&key_types)?;
        if let Some(wm) = self.state.watermark {
            schema =
                schema.with_metadata(HashMap::from([(WATERMARK_KEY.to_string(), wm.to_string())]));
        }
        let schema = Arc::new(schema);
        let mut columns: Vec<Vec<ArrayRef>> = vec![Vec::new(); schema.fields().len()];
        let starts: Vec<i64> = self.state.windows.keys().copied().collect();
        for start in starts {
            let Some(mut window) = self.state.windows.remove(&start) else {
                continue;
            };
            let groups = window.index.len();
            let mut col = 0;
            columns[col]
                .push(Arc::new(TimestampMillisecondArray::from(vec![start; groups])) as ArrayRef);
            col += 1;
            if !self.keys.is_empty() {
                for key in self
                    .converter
                    .convert_rows(window.keys.iter())
                    .map_err(arrow_err)?
                {
                    columns[col].push(key);
                    col += 1;
                }
            }
            let mut states = Vec::with_capacity(window.accumulators.len());
            for acc in window.accumulators.iter_mut() {
                let state = acc.state(EmitTo::All).map_err(df)?;
                for a in &state {
                    columns[col].push(a.clone());
                    col += 1;
                }
                states.push(state);
            }
            // Taking the state emptied the accumulators: merge it back to carry on.
            window.accumulators = self.merge_into_new(&states, groups)?;
            self.state.windows.insert(start, window);
        }
        let arrays = columns
            .into_iter()
            .zip(schema.fields())
            .map(|(parts, f)| {
                if parts.is_empty() {
                    Ok(arrow::array::new_empty_array(f.data_type()))
                } else {
                    let refs: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
                    arrow::compute::concat(&refs)
                }
            })
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(arrow_err)?;
        // State arrays may differ in nullability or exact type from the declared fields.
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .zip(&arrays)
            .map(|(f, a)| Field::new(f.name(), a.data_type().clone(), true))
            .collect();
        let schema = Arc::new(Schema::new(fields).with_metadata(schema.metadata().clone()));
        Ok(Some(
            RecordBatch::try_new(schema, arrays).map_err(arrow_err)?,
        ))
    }

    fn restore(&mut self, state: &RecordBatch) -> Result<()> {
        self.state.windows.clear();
        self.state.watermark = state
            .schema()
            .metadata()
            .get(WATERMARK_KEY)
            .map(|w| {
                w.parse::<i64>()
                    .map_err(|e| Error::Data(format!("bad watermark in a snapshot: {e}")))
            })
            .transpose()?;
        if state.num_rows() == 0 {
            return Ok(());
        }
        if state.schema().field(0).name() != START_COLUMN {
            return Err(Error::Data("not a window aggregation snapshot".into()));
        }
        let starts = state
            .column(0)
            .as_primitive::<TimestampMillisecondType>()
            .clone();
        let mut by_window: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
        for (i, s) in starts.values().iter().enumerate() {
            by_window.entry(*s).or_default().push(i as u32);
        }
        let key_count = self.key_types().len();
        for (start, rows) in by_window {
            let part = take_record_batch(state, &UInt32Array::from(rows)).map_err(arrow_err)?;
            let groups = part.num_rows();
            let mut window = self.new_window()?;
            if key_count == 0 {
                window.index.insert(Box::default(), 0);
            } else {
                let keys = self
                    .converter
                    .convert_columns(&part.columns()[1..1 + key_count])
                    .map_err(arrow_err)?;
                for (i, row) in keys.iter().enumerate() {
                    window.index.insert(row.as_ref().into(), i);
                    window.keys.push(row);
                }
            }
            let mut col = 1 + key_count;
            let mut states = Vec::new();
            for call in &self.aggregates {
                let n = call.function.state_fields().map_err(df)?.len();
                states.push(part.columns()[col..col + n].to_vec());
                col += n;
            }
            window.accumulators = self.merge_into_new(&states, groups)?;
            self.state.windows.insert(start, window);
        }
        Ok(())
    }

    fn process_watermark(
        &mut self,
        watermark: i64,
        metrics: &mut JobMetrics,
    ) -> Result<Vec<RecordBatch>> {
        if self.state.watermark.is_some_and(|w| w >= watermark) {
            return Ok(vec![]);
        }
        self.state.watermark = Some(watermark);
        let mut out = Vec::new();
        while let Some(entry) = self.state.windows.first_entry() {
            let start = *entry.key();
            // Fires when the watermark reaches the window's last millisecond (end - 1).
            if start.saturating_add(self.size_ms - 1) > watermark {
                break;
            }
            let window = entry.remove();
            out.push(self.fire(start, window)?);
            metrics.windows_fired += 1;
        }
        Ok(out)
    }
}
