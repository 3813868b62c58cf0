//! WindowAggregate: event-time window aggregation for TUMBLE, HOP and CUMULATE windows.
//! Rows are accumulated per pane (Flink's "slice": the window for TUMBLE, the slide for HOP,
//! the step for CUMULATE) and per key in DataFusion `GroupsAccumulator`s, so a row costs one
//! update however many windows contain it. When the watermark passes a window's end, the
//! window's panes are merged through the accumulators' intermediate state (`state` /
//! `merge_batch`), one row per key is emitted, and panes no later window needs are dropped.
//! A row is late, dropped and counted, when every window containing it has fired, as in Flink.
//! A snapshot holds every open pane's intermediate state; restoring merges it back.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, TimestampMillisecondArray, UInt32Array,
};
use arrow::compute::{cast, filter_record_batch, take_record_batch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimestampMillisecondType};
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, Rows, SortField};
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};
use datafusion::physical_expr::aggregate::AggregateFunctionExpr;
use datafusion::physical_expr::{GroupsAccumulatorAdapter, PhysicalExpr};
use weir_api::JobMetrics;

use super::late::LateRows;
use super::window_assigner::window_bound_type;
use super::Operator;
use crate::sql::query::WindowKind;
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
    /// The input column holding each row's pane start (the `window_start` column).
    pane_start: Arc<dyn PhysicalExpr>,
    kind: WindowKind,
    /// The GROUP BY expressions in order, as the output schema lays them out.
    slots: Vec<GroupSlot>,
    keys: Vec<Arc<dyn PhysicalExpr>>,
    aggregates: Vec<AggregateCall>,
    /// Group columns then aggregate columns, as the logical plan's Aggregate node says.
    schema: SchemaRef,
    converter: RowConverter,
    state: State,
    late: LateRows,
}

/// Open panes by start; the watermark decides which windows fire.
struct State {
    panes: BTreeMap<i64, Groups>,
    /// The last watermark seen; `None` before the first.
    watermark: Option<i64>,
    /// The end of the last window fired: windows fire once, in order of their ends.
    fired_until: Option<i64>,
}

/// Groups by key: key rows, their index, one accumulator per aggregate call.
struct Groups {
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

/// Schema metadata keys of a snapshot.
const WATERMARK_KEY: &str = "weir.watermark";
const FIRED_KEY: &str = "weir.fired_until";
const START_COLUMN: &str = "__pane_start";

impl WindowAggregate {
    /// `input` is the schema of the rows it aggregates (late rows keep their columns).
    #[allow(clippy::too_many_arguments)]
    pub fn try_new(
        pane_start: Arc<dyn PhysicalExpr>,
        kind: WindowKind,
        slots: Vec<GroupSlot>,
        keys: Vec<Arc<dyn PhysicalExpr>>,
        key_types: Vec<DataType>,
        aggregates: Vec<AggregateCall>,
        schema: SchemaRef,
        input: &Schema,
    ) -> Result<Self> {
        let converter = RowConverter::new(key_types.into_iter().map(SortField::new).collect())
            .map_err(arrow_err)?;
        Ok(Self {
            late: LateRows::new(input),
            pane_start,
            kind,
            slots,
            keys,
            aggregates,
            schema,
            converter,
            state: State {
                panes: BTreeMap::new(),
                watermark: None,
                fired_until: None,
            },
        })
    }

    fn new_groups(&self) -> Result<Groups> {
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
        Ok(Groups {
            index: HashMap::new(),
            keys: self.converter.empty_rows(0, 0),
            accumulators,
        })
    }

    /// The group index of every key row, adding new keys to `groups`.
    fn group_indices(&self, groups: &mut Groups, keys: &Rows) -> Vec<usize> {
        keys.iter()
            .map(|row| {
                let bytes: &[u8] = row.as_ref();
                match groups.index.get(bytes) {
                    Some(i) => *i,
                    None => {
                        let i = groups.index.len();
                        groups.index.insert(bytes.into(), i);
                        groups.keys.push(row);
                        i
                    }
                }
            })
            .collect()
    }

    /// Adds the rows of `batch`, all of which belong to the pane starting at `start`.
    fn accumulate(&mut self, start: i64, batch: &RecordBatch) -> Result<()> {
        let n = batch.num_rows();
        let mut pane = match self.state.panes.remove(&start) {
            Some(p) => p,
            None => self.new_groups()?,
        };
        let group_indices = if self.keys.is_empty() {
            // GROUP BY the window alone: one group.
            if pane.index.is_empty() {
                pane.index.insert(Box::default(), 0);
            }
            vec![0; n]
        } else {
            let key_columns: Vec<ArrayRef> = self
                .keys
                .iter()
                .map(|k| k.evaluate(batch).and_then(|v| v.into_array(n)))
                .collect::<std::result::Result<_, _>>()
                .map_err(df)?;
            let rows = self
                .converter
                .convert_columns(&key_columns)
                .map_err(arrow_err)?;
            self.group_indices(&mut pane, &rows)
        };
        let total = pane.index.len();
        for (call, acc) in self.aggregates.iter().zip(pane.accumulators.iter_mut()) {
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
        self.state.panes.insert(start, pane);
        Ok(())
    }

    /// Takes a pane's intermediate state; the pane keeps it when `keep`.
    fn take_state(&self, pane: &mut Groups, keep: bool) -> Result<Vec<Vec<ArrayRef>>> {
        let groups = pane.index.len();
        let mut states = Vec::with_capacity(pane.accumulators.len());
        for acc in pane.accumulators.iter_mut() {
            states.push(acc.state(EmitTo::All).map_err(df)?);
        }
        if keep {
            // Taking the state emptied the accumulators: merge it back.
            pane.accumulators = self.merge_into_new(&states, groups)?;
        }
        Ok(states)
    }

    /// New accumulators holding the given intermediate state of `groups` groups.
    fn merge_into_new(
        &self,
        states: &[Vec<ArrayRef>],
        groups: usize,
    ) -> Result<Vec<Box<dyn GroupsAccumulator>>> {
        let mut accumulators = self.new_groups()?.accumulators;
        let indices: Vec<usize> = (0..groups).collect();
        for (acc, state) in accumulators.iter_mut().zip(states) {
            acc.merge_batch(state, &indices, None, groups).map_err(df)?;
        }
        Ok(accumulators)
    }

    /// The window `[start, end)` as one set of groups: its single pane when no later window
    /// needs that pane, otherwise a merge of its panes' states.
    fn window_groups(&mut self, start: i64, end: i64) -> Result<Option<Groups>> {
        let starts: Vec<i64> = self
            .state
            .panes
            .range(start..end)
            .map(|(s, _)| *s)
            .collect();
        if starts.is_empty() {
            return Ok(None);
        }
        if let [only] = starts.as_slice() {
            if self.kind.last_window_end(*only) <= end {
                return Ok(self.state.panes.remove(only));
            }
        }
        let mut window = self.new_groups()?;
        for s in starts {
            let Some(mut pane) = self.state.panes.remove(&s) else {
                continue;
            };
            let keep = self.kind.last_window_end(s) > end;
            let states = self.take_state(&mut pane, keep)?;
            let mapping = if self.keys.is_empty() {
                if window.index.is_empty() {
                    window.index.insert(Box::default(), 0);
                }
                vec![0; pane.index.len()]
            } else {
                self.group_indices(&mut window, &pane.keys)
            };
            let total = window.index.len();
            for (acc, state) in window.accumulators.iter_mut().zip(&states) {
                acc.merge_batch(state, &mapping, None, total).map_err(df)?;
            }
            if keep {
                self.state.panes.insert(s, pane);
            }
        }
        Ok(Some(window))
    }

    /// Emits one row per group of the window `[start, end)`.
    fn emit(&self, start: i64, end: i64, mut groups: Groups) -> Result<RecordBatch> {
        let count = groups.index.len();
        let keys = if self.keys.is_empty() {
            vec![]
        } else {
            self.converter
                .convert_rows(groups.keys.iter())
                .map_err(arrow_err)?
        };
        let bound =
            |v: i64| -> ArrayRef { Arc::new(TimestampMillisecondArray::from(vec![v; count])) };
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        for slot in &self.slots {
            columns.push(match slot {
                GroupSlot::WindowStart => bound(start),
                GroupSlot::WindowEnd => bound(end),
                GroupSlot::WindowTime => bound(end - 1),
                GroupSlot::Key(i) => keys
                    .get(*i)
                    .cloned()
                    .ok_or_else(|| Error::Internal("missing key column".into()))?,
            });
        }
        for acc in groups.accumulators.iter_mut() {
            columns.push(acc.evaluate(EmitTo::All).map_err(df)?);
        }
        // Align types with the plan (window bounds are TIMESTAMP(3); keys keep their types).
        super::batch_of(&self.schema, columns, count)
    }

    /// The snapshot schema: pane start, key columns, then every accumulator's state fields.
    fn snapshot_schema(&self) -> Result<Schema> {
        let mut fields = vec![Field::new(START_COLUMN, window_bound_type(), false)];
        for (i, t) in self.key_types().iter().enumerate() {
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

    /// Why the row at `i`, whose pane starts at `starts[i]`, is late.
    fn late_reason(
        &self,
        starts: &TimestampMillisecondArray,
        i: usize,
        watermark: Option<i64>,
    ) -> String {
        use super::late::timestamp_text as t;
        if starts.is_null(i) {
            return "the rowtime is NULL".into();
        }
        let end = self.kind.last_window_end(starts.value(i));
        let start = self.kind.window_start(end);
        let window = match self.kind {
            WindowKind::Tumble { .. } => "window",
            _ => "last window of the row",
        };
        format!(
            "{window} [{}, {}) has fired (watermark {})",
            t(start),
            t(end),
            watermark.map(t).unwrap_or_default()
        )
    }

    fn key_types(&self) -> Vec<DataType> {
        self.converter
            .convert_rows(std::iter::empty())
            .map(|cols| cols.iter().map(|c| c.data_type().clone()).collect())
            .unwrap_or_default()
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
            "WindowAggregate: {} panes of {}ms, keys=[{}], aggregates=[{}]",
            self.kind.name(),
            self.kind.pane_ms(),
            keys.join(", "),
            aggs.join(", ")
        )
    }
}

impl Operator for WindowAggregate {
    fn late_rows(&mut self) -> Option<&mut LateRows> {
        Some(&mut self.late)
    }

    fn process_batch(
        &mut self,
        batch: RecordBatch,
        metrics: &mut JobMetrics,
    ) -> Result<Vec<RecordBatch>> {
        let n = batch.num_rows();
        let starts = self
            .pane_start
            .evaluate(&batch)
            .and_then(|v| v.into_array(n))
            .map_err(df)?;
        let starts = if starts.data_type() == &window_bound_type() {
            starts
        } else {
            cast(&starts, &window_bound_type()).map_err(arrow_err)?
        };
        let starts = starts.as_primitive::<TimestampMillisecondType>();
        // Late rows: every window containing their pane has fired.
        let kind = self.kind;
        let on_time: BooleanArray = match self.state.watermark {
            Some(wm) => starts
                .iter()
                .map(|s| Some(matches!(s, Some(s) if kind.last_window_end(s) - 1 > wm)))
                .collect(),
            None => starts.iter().map(|s| Some(s.is_some())).collect(),
        };
        let late = n - on_time.true_count();
        if late > 0 {
            let rows: Vec<u32> = (0..n as u32)
                .filter(|i| !on_time.value(*i as usize))
                .collect();
            let wm = self.state.watermark;
            let reasons = rows
                .iter()
                .map(|i| self.late_reason(starts, *i as usize, wm))
                .collect();
            self.late.record(&batch, rows, reasons, wm, metrics)?;
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
        // Most batches touch one or two panes: split by pane start.
        let first = starts.value(0);
        if starts.values().iter().all(|s| *s == first) {
            self.accumulate(first, &batch)?;
        } else {
            let mut by_pane: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
            for (i, s) in starts.values().iter().enumerate() {
                by_pane.entry(*s).or_default().push(i as u32);
            }
            for (start, rows) in by_pane {
                let part =
                    take_record_batch(&batch, &UInt32Array::from(rows)).map_err(arrow_err)?;
                self.accumulate(start, &part)?;
            }
        }
        Ok(vec![])
    }

    fn snapshot(&mut self) -> Result<Option<RecordBatch>> {
        let mut metadata = HashMap::new();
        if let Some(wm) = self.state.watermark {
            metadata.insert(WATERMARK_KEY.to_string(), wm.to_string());
        }
        if let Some(f) = self.state.fired_until {
            metadata.insert(FIRED_KEY.to_string(), f.to_string());
        }
        let schema = self.snapshot_schema()?;
        let mut columns: Vec<Vec<ArrayRef>> = vec![Vec::new(); schema.fields().len()];
        let starts: Vec<i64> = self.state.panes.keys().copied().collect();
        for start in starts {
            let Some(mut pane) = self.state.panes.remove(&start) else {
                continue;
            };
            let groups = pane.index.len();
            let mut col = 0;
            columns[col]
                .push(Arc::new(TimestampMillisecondArray::from(vec![start; groups])) as ArrayRef);
            col += 1;
            if !self.keys.is_empty() {
                for key in self
                    .converter
                    .convert_rows(pane.keys.iter())
                    .map_err(arrow_err)?
                {
                    columns[col].push(key);
                    col += 1;
                }
            }
            for state in self.take_state(&mut pane, true)? {
                for a in state {
                    columns[col].push(a);
                    col += 1;
                }
            }
            self.state.panes.insert(start, pane);
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
        let schema = Arc::new(Schema::new(fields).with_metadata(metadata));
        Ok(Some(
            RecordBatch::try_new(schema, arrays).map_err(arrow_err)?,
        ))
    }

    fn restore(&mut self, state: &RecordBatch) -> Result<()> {
        let number = |key: &str| -> Result<Option<i64>> {
            state
                .schema()
                .metadata()
                .get(key)
                .map(|w| {
                    w.parse::<i64>()
                        .map_err(|e| Error::Data(format!("bad {key} in a snapshot: {e}")))
                })
                .transpose()
        };
        self.state = State {
            panes: BTreeMap::new(),
            watermark: number(WATERMARK_KEY)?,
            fired_until: number(FIRED_KEY)?,
        };
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
        let mut by_pane: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
        for (i, s) in starts.values().iter().enumerate() {
            by_pane.entry(*s).or_default().push(i as u32);
        }
        let key_count = self.key_types().len();
        for (start, rows) in by_pane {
            let part = take_record_batch(state, &UInt32Array::from(rows)).map_err(arrow_err)?;
            let groups = part.num_rows();
            let mut pane = self.new_groups()?;
            if key_count == 0 {
                pane.index.insert(Box::default(), 0);
            } else {
                let keys = self
                    .converter
                    .convert_columns(&part.columns()[1..1 + key_count])
                    .map_err(arrow_err)?;
                self.group_indices(&mut pane, &keys);
            }
            let mut col = 1 + key_count;
            let mut states = Vec::new();
            for call in &self.aggregates {
                let n = call.function.state_fields().map_err(df)?.len();
                states.push(part.columns()[col..col + n].to_vec());
                col += n;
            }
            pane.accumulators = self.merge_into_new(&states, groups)?;
            self.state.panes.insert(start, pane);
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
        let (Some(first), Some(last)) = (
            self.state.panes.keys().next().copied(),
            self.state.panes.keys().next_back().copied(),
        ) else {
            return Ok(vec![]);
        };
        let Some((period, offset)) = self.kind.firing_period() else {
            return Err(Error::Internal(
                "pane aggregation of a window without a firing grid".into(),
            ));
        };
        // Window ends on the grid, from the first one after the earliest pane (or after the
        // last window fired) up to the last window of the latest pane.
        let first_end = first + period - (first - offset).rem_euclid(period);
        let mut end = match self.state.fired_until {
            Some(f) => first_end.max(f + period),
            None => first_end,
        };
        let last_end = self.kind.last_window_end(last);
        let mut out = Vec::new();
        while end <= last_end && end.saturating_sub(1) <= watermark {
            let start = self.kind.window_start(end);
            self.state.fired_until = Some(end);
            match self.window_groups(start, end)? {
                Some(groups) => {
                    out.push(self.emit(start, end, groups)?);
                    metrics.windows_fired += 1;
                    end += period;
                }
                None => {
                    // No data in this window, so none before the next pane: skip to the first
                    // window end after that pane's start.
                    let Some(next) = self.state.panes.range(end..).next().map(|(s, _)| *s) else {
                        break;
                    };
                    end = (end + period).max(next + period - (next - offset).rem_euclid(period));
                }
            }
        }
        // Panes whose last window has fired are no longer needed.
        let kind = self.kind;
        self.state
            .panes
            .retain(|s, _| kind.last_window_end(*s) - 1 > watermark);
        Ok(out)
    }
}
