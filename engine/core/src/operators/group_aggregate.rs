//! GroupAggregate: `GROUP BY` without a window, an updating result. Each batch updates the
//! accumulators of the groups it touches and emits their change as a changelog, as Flink
//! does: `+I` for a new group, `-U` (the previous row) then `+U` (the new one) for a changed
//! group, nothing when the result did not change. Groups idle for longer than
//! `table.exec.state.ttl` (processing time) are forgotten, and start again with `+I`.
//!
//! Changelog batches carry the row kind in a last column named [`OP_COLUMN`] (Int8:
//! [`RowKind`]); stateless operators pass it along and sinks read it.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{Array, ArrayRef, Int8Array, UInt32Array};
use arrow::compute::take;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use arrow::row::{RowConverter, Rows, SortField};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::Accumulator;
use datafusion::physical_expr::PhysicalExpr;
use weir_api::JobMetrics;

use super::window_aggregate::AggregateCall;
use super::{state, Operator};
use crate::{Error, Result};

/// The column that carries each row's kind in a changelog batch.
pub const OP_COLUMN: &str = "__op";

/// Flink's row kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i8)]
pub enum RowKind {
    Insert = 0,
    UpdateBefore = 1,
    UpdateAfter = 2,
    Delete = 3,
}

impl RowKind {
    pub fn from_i8(v: i8) -> RowKind {
        match v {
            1 => RowKind::UpdateBefore,
            2 => RowKind::UpdateAfter,
            3 => RowKind::Delete,
            _ => RowKind::Insert,
        }
    }

    /// As Flink prints it: `+I`, `-U`, `+U`, `-D`.
    pub fn short(self) -> &'static str {
        match self {
            RowKind::Insert => "+I",
            RowKind::UpdateBefore => "-U",
            RowKind::UpdateAfter => "+U",
            RowKind::Delete => "-D",
        }
    }
}

/// Whether a batch is a changelog (its last column is the row kind).
pub fn is_changelog(batch: &RecordBatch) -> bool {
    let schema = batch.schema();
    schema
        .fields()
        .last()
        .is_some_and(|f| f.name() == OP_COLUMN)
}

/// The row kinds of a changelog batch, or `None` for an insert-only one.
pub fn row_kinds(batch: &RecordBatch) -> Option<&Int8Array> {
    if !is_changelog(batch) {
        return None;
    }
    batch
        .columns()
        .last()
        .and_then(|c| c.as_any().downcast_ref::<Int8Array>())
}

/// A batch without its row-kind column.
pub fn without_op(batch: &RecordBatch) -> RecordBatch {
    if is_changelog(batch) {
        batch
            .project(&(0..batch.num_columns() - 1).collect::<Vec<_>>())
            .unwrap_or_else(|_| batch.clone())
    } else {
        batch.clone()
    }
}

/// `output` with `input`'s row-kind column appended when `input` is a changelog.
pub fn carry_op(input: &RecordBatch, output: RecordBatch) -> Result<RecordBatch> {
    if !is_changelog(input) || is_changelog(&output) {
        return Ok(output);
    }
    let Some(op) = input.columns().last().cloned() else {
        return Ok(output);
    };
    let mut fields: Vec<Field> = output
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new(OP_COLUMN, DataType::Int8, false));
    let mut columns = output.columns().to_vec();
    columns.push(op);
    let options = RecordBatchOptions::new().with_row_count(Some(output.num_rows()));
    RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), columns, &options)
        .map_err(|e| Error::Internal(format!("cannot carry the row kind: {e}")))
}

/// A changelog batch as people read it: the row kind first, as a column `op` (`+I`, `-U`...).
pub fn for_display(batch: &RecordBatch) -> RecordBatch {
    let Some(kinds) = row_kinds(batch) else {
        return batch.clone();
    };
    let ops: ArrayRef = Arc::new(arrow::array::StringArray::from_iter_values(
        kinds.values().iter().map(|k| RowKind::from_i8(*k).short()),
    ));
    let rest = without_op(batch);
    let mut fields = vec![Field::new("op", DataType::Utf8, false)];
    fields.extend(rest.schema().fields().iter().map(|f| f.as_ref().clone()));
    let mut columns = vec![ops];
    columns.extend(rest.columns().iter().cloned());
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), columns, &options)
        .unwrap_or(rest)
}

pub struct GroupAggregate {
    keys: Vec<Arc<dyn PhysicalExpr>>,
    aggregates: Vec<AggregateCall>,
    /// Key columns then aggregate columns, as the plan's Aggregate node says, plus `__op`.
    schema: SchemaRef,
    converter: RowConverter,
    ttl: Option<Duration>,
    state: State,
}

/// Groups by key: their rows, accumulators, last emitted values and last access.
struct State {
    index: HashMap<Box<[u8]>, usize>,
    keys: Rows,
    groups: Vec<Group>,
}

struct Group {
    accumulators: Vec<Box<dyn Accumulator>>,
    emitted: Option<Vec<ScalarValue>>,
    touched: Instant,
    /// Forgotten by the state TTL: its slot is reused when its key comes back.
    expired: bool,
}

fn df(e: datafusion::error::DataFusionError) -> Error {
    Error::Data(format!("aggregation failed: {e}"))
}

fn arrow_err(e: arrow::error::ArrowError) -> Error {
    Error::Internal(format!("aggregation failed: {e}"))
}

impl GroupAggregate {
    /// How its `Display` (and so the plan's updating node) begins.
    pub const NAME: &'static str = "GroupAggregate (updating)";

    pub fn try_new(
        keys: Vec<Arc<dyn PhysicalExpr>>,
        key_types: Vec<DataType>,
        aggregates: Vec<AggregateCall>,
        plan_schema: &Schema,
        ttl: Option<Duration>,
    ) -> Result<Self> {
        let converter = RowConverter::new(key_types.into_iter().map(SortField::new).collect())
            .map_err(arrow_err)?;
        let mut fields: Vec<Field> = plan_schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect();
        fields.push(Field::new(OP_COLUMN, DataType::Int8, false));
        let keys_rows = converter.empty_rows(0, 0);
        Ok(Self {
            keys,
            aggregates,
            schema: Arc::new(Schema::new(fields)),
            converter,
            ttl,
            state: State {
                index: HashMap::new(),
                keys: keys_rows,
                groups: Vec::new(),
            },
        })
    }

    fn new_group(&self, now: Instant) -> Result<Group> {
        let accumulators = self
            .aggregates
            .iter()
            .map(|c| c.function.create_accumulator().map_err(df))
            .collect::<Result<_>>()?;
        Ok(Group {
            accumulators,
            emitted: None,
            touched: now,
            expired: false,
        })
    }
}

impl fmt::Display for GroupAggregate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let aggs: Vec<String> = self
            .aggregates
            .iter()
            .map(|a| a.function.name().to_string())
            .collect();
        let keys: Vec<String> = self.keys.iter().map(|k| k.to_string()).collect();
        write!(
            f,
            "{}: keys=[{}], aggregates=[{}]",
            Self::NAME,
            keys.join(", "),
            aggs.join(", ")
        )?;
        if let Some(ttl) = self.ttl {
            write!(f, ", state ttl={}ms", ttl.as_millis())?;
        }
        Ok(())
    }
}

impl Operator for GroupAggregate {
    fn process_batch(
        &mut self,
        batch: RecordBatch,
        _: &mut JobMetrics,
    ) -> Result<Vec<RecordBatch>> {
        if is_changelog(&batch) {
            return Err(Error::Internal(
                "GROUP BY over an updating input is not supported yet".into(),
            ));
        }
        let n = batch.num_rows();
        let now = Instant::now();
        if let Some(ttl) = self.ttl {
            for g in self
                .state
                .groups
                .iter_mut()
                .filter(|g| !g.expired && now.duration_since(g.touched) > ttl)
            {
                g.expired = true;
            }
        }
        // Group index of every row, in order of first appearance.
        let key_columns: Vec<ArrayRef> = self
            .keys
            .iter()
            .map(|k| k.evaluate(&batch).and_then(|v| v.into_array(n)))
            .collect::<std::result::Result<_, _>>()
            .map_err(df)?;
        let rows = self
            .converter
            .convert_columns(&key_columns)
            .map_err(arrow_err)?;
        let mut order: Vec<usize> = Vec::new();
        let mut members: HashMap<usize, Vec<u32>> = HashMap::new();
        for i in 0..n {
            let bytes: &[u8] = if self.keys.is_empty() {
                &[]
            } else {
                rows.row(i).data()
            };
            let g = match self.state.index.get(bytes) {
                Some(g) => *g,
                None => {
                    let g = self.state.groups.len();
                    self.state.index.insert(bytes.into(), g);
                    if !self.keys.is_empty() {
                        self.state.keys.push(rows.row(i));
                    }
                    let group = self.new_group(now)?;
                    self.state.groups.push(group);
                    g
                }
            };
            if self.state.groups[g].expired {
                self.state.groups[g] = self.new_group(now)?;
            }
            let entry = members.entry(g).or_insert_with(|| {
                order.push(g);
                Vec::new()
            });
            entry.push(i as u32);
        }
        // Argument values once per batch; each group takes its rows.
        let mut arguments: Vec<(Vec<ArrayRef>, Option<ArrayRef>)> =
            Vec::with_capacity(self.aggregates.len());
        for call in &self.aggregates {
            let values = call
                .function
                .expressions()
                .iter()
                .map(|e| e.evaluate(&batch).and_then(|v| v.into_array(n)))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(df)?;
            let filter = match &call.filter {
                Some(f) => Some(
                    f.evaluate(&batch)
                        .and_then(|v| v.into_array(n))
                        .map_err(df)?,
                ),
                None => None,
            };
            arguments.push((values, filter));
        }
        let mut out_keys: Vec<usize> = Vec::new();
        let mut out_values: Vec<Vec<ScalarValue>> = Vec::new();
        let mut out_kinds: Vec<i8> = Vec::new();
        for g in order {
            let indices = UInt32Array::from(members.remove(&g).unwrap_or_default());
            let group = &mut self.state.groups[g];
            group.touched = now;
            for ((values, filter), acc) in arguments.iter().zip(group.accumulators.iter_mut()) {
                let mut taken = values
                    .iter()
                    .map(|v| take(v, &indices, None))
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(arrow_err)?;
                if let Some(f) = filter {
                    let mask = take(f, &indices, None).map_err(arrow_err)?;
                    let mask = mask
                        .as_any()
                        .downcast_ref::<arrow::array::BooleanArray>()
                        .ok_or_else(|| Error::Internal("FILTER is not boolean".into()))?;
                    taken = taken
                        .iter()
                        .map(|a| arrow::compute::filter(a, mask))
                        .collect::<std::result::Result<Vec<_>, _>>()
                        .map_err(arrow_err)?;
                }
                acc.update_batch(&taken).map_err(df)?;
            }
            let new: Vec<ScalarValue> = group
                .accumulators
                .iter_mut()
                .map(|a| a.evaluate())
                .collect::<std::result::Result<_, _>>()
                .map_err(df)?;
            match group.emitted.replace(new.clone()) {
                None => {
                    out_keys.push(g);
                    out_values.push(new);
                    out_kinds.push(RowKind::Insert as i8);
                }
                Some(old) if old != new => {
                    out_keys.extend([g, g]);
                    out_values.extend([old, new]);
                    out_kinds.extend([RowKind::UpdateBefore as i8, RowKind::UpdateAfter as i8]);
                }
                Some(_) => {}
            }
        }
        if out_kinds.is_empty() {
            return Ok(vec![]);
        }
        let count = out_kinds.len();
        let mut columns: Vec<ArrayRef> = if self.keys.is_empty() {
            vec![]
        } else {
            self.converter
                .convert_rows(out_keys.iter().map(|g| self.state.keys.row(*g)))
                .map_err(arrow_err)?
        };
        for j in 0..self.aggregates.len() {
            columns.push(
                ScalarValue::iter_to_array(out_values.iter().map(|v| v[j].clone())).map_err(df)?,
            );
        }
        columns.push(Arc::new(Int8Array::from(out_kinds)));
        let out = super::batch_of(&self.schema, columns, count)?;
        Ok(vec![out])
    }

    /// One row per live group: its key columns (`__key<i>`), the accumulators' intermediate
    /// state (`__acc<i>`), the row it last emitted (`__out<j>`, for the next `-U`) and its last
    /// access (for the state TTL). Groups the TTL forgot are left out.
    fn snapshot(&mut self) -> Result<Option<RecordBatch>> {
        let live: Vec<usize> = (0..self.state.groups.len())
            .filter(|g| !self.state.groups[*g].expired)
            .collect();
        let mut states = Vec::with_capacity(live.len());
        let mut emitted = Vec::with_capacity(live.len());
        for g in &live {
            let group = &mut self.state.groups[*g];
            states.push(state::take_state(
                &self.aggregates,
                &mut group.accumulators,
            )?);
            let out = match &group.emitted {
                Some(v) => v.clone(),
                None => group
                    .accumulators
                    .iter_mut()
                    .map(|a| a.evaluate())
                    .collect::<std::result::Result<_, _>>()
                    .map_err(df)?,
            };
            emitted.push(out);
        }
        let mut b = state::SnapshotBuilder::new(SNAPSHOT_KIND, live.len());
        if !self.keys.is_empty() {
            let keys = self
                .converter
                .convert_rows(live.iter().map(|g| self.state.keys.row(*g)))
                .map_err(arrow_err)?;
            for (i, k) in keys.into_iter().enumerate() {
                b.column(format!("__key{i}"), k);
            }
        }
        b.scalar_columns("__acc", &state::state_types(&self.aggregates)?, &states)?;
        // The values keep the accumulators' own types, so that a restored row compares equal
        // to the same result computed again (the plan's types only serve an empty snapshot).
        let out_types: Vec<DataType> = self
            .schema
            .fields()
            .iter()
            .skip(self.keys.len())
            .take(self.aggregates.len())
            .map(|f| f.data_type().clone())
            .collect();
        b.scalar_columns("__out", &out_types, &emitted)?;
        b.last_access(live.iter().map(|g| self.state.groups[*g].touched));
        Ok(Some(b.finish()?))
    }

    fn restore(&mut self, snapshot: &RecordBatch) -> Result<()> {
        let r = state::SnapshotReader::new(snapshot, SNAPSHOT_KIND)?;
        let keys = r.columns("__key", self.keys.len())?;
        let accs = r.columns("__acc", state::state_types(&self.aggregates)?.len())?;
        let outs = r.columns("__out", self.aggregates.len())?;
        let touched = r.last_access()?;
        let rows = self.converter.convert_columns(&keys).map_err(arrow_err)?;
        self.state = State {
            index: HashMap::new(),
            keys: self.converter.empty_rows(0, 0),
            groups: Vec::new(),
        };
        for (i, touched) in touched.into_iter().enumerate() {
            let bytes: &[u8] = if self.keys.is_empty() {
                &[]
            } else {
                self.state.keys.push(rows.row(i));
                rows.row(i).data()
            };
            self.state.index.insert(bytes.into(), i);
            self.state.groups.push(Group {
                accumulators: state::restore_accumulators(&self.aggregates, &accs, i)?,
                emitted: Some(state::row_values(&outs, i)?),
                touched,
                expired: false,
            });
        }
        Ok(())
    }
}

const SNAPSHOT_KIND: &str = "GroupAggregate";
