//! Regular (non-windowed) equi-joins of two streams, as Flink's `StreamingJoinOperator` runs
//! them. Each side keeps its rows by join key; a row from one side probes the other side's
//! rows of its key, every match that also satisfies the rest of `ON` (the residual condition)
//! is emitted (left columns, then right columns), and the row joins its own side's state.
//!
//! INNER joins of append-only inputs are append-only. LEFT, RIGHT and FULL OUTER joins, and
//! joins of an updating input, emit a changelog exactly as Flink does: an outer row without a
//! match is emitted padded with NULLs (`+I`); when its first match arrives the padded row is
//! withdrawn (`-D`) before the joined row (`+I`); when its last match is retracted the joined
//! row is withdrawn (`-D`) and the padded row comes back (`+I`). On an inner side, a change
//! keeps its kind (`-U`/`+U` in, `-U`/`+U` out). Each stored row counts its copies and, on
//! an outer side, how many rows of the other side it matches.
//!
//! `table.exec.state.ttl` forgets a stored row once it has not been written (added, retracted
//! or re-counted) for longer, as Flink's join state TTL does (processing time).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{new_null_array, Array, ArrayRef, AsArray, BinaryArray, Int8Array, UInt64Array};
use arrow::compute::{cast, interleave};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, Rows, SortField};
use datafusion::physical_expr::PhysicalExpr;
use weir_api::JobMetrics;

use super::group_aggregate::{is_changelog, row_kinds, without_op, RowKind, OP_COLUMN};
use super::state::{SnapshotBuilder, SnapshotReader};
use super::TwoInputOperator;
use crate::{Error, Result};

/// Which input a batch comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Left,
    Right,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::Left => Side::Right,
            Side::Right => Side::Left,
        }
    }

    /// The side's name in a late row's `late_side`.
    pub fn name(self) -> &'static str {
        match self {
            Side::Left => "left",
            Side::Right => "right",
        }
    }
}

/// The join types Weir runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinType {
    Inner,
    Left,
    Right,
    Full,
}

impl JoinType {
    /// Whether rows of `side` without a match are emitted padded with NULLs.
    pub fn outer(self, side: Side) -> bool {
        matches!(
            (self, side),
            (JoinType::Left | JoinType::Full, Side::Left)
                | (JoinType::Right | JoinType::Full, Side::Right)
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            JoinType::Inner => "INNER",
            JoinType::Left => "LEFT OUTER",
            JoinType::Right => "RIGHT OUTER",
            JoinType::Full => "FULL OUTER",
        }
    }
}

pub(crate) fn arrow_err(e: arrow::error::ArrowError) -> Error {
    Error::Internal(format!("join failed: {e}"))
}

pub(crate) fn df(e: datafusion::error::DataFusionError) -> Error {
    Error::Data(format!("join failed: {e}"))
}

/// A batch of one side, encoded: its join keys and whole rows in Arrow's row format.
pub(crate) struct Encoded {
    pub keys: Rows,
    pub rows: Rows,
    /// Rows with a NULL in a key column: they match nothing, as in SQL.
    pub null_key: Vec<bool>,
}

/// What both kinds of join share: the keys, the residual condition, how rows are stored
/// (Arrow's row format, so state is plain bytes) and how joined rows are built.
pub(crate) struct JoinCore {
    pub left_keys: Vec<Arc<dyn PhysicalExpr>>,
    pub right_keys: Vec<Arc<dyn PhysicalExpr>>,
    key_converter: RowConverter,
    key_types: Vec<DataType>,
    left_rows: RowConverter,
    right_rows: RowConverter,
    /// Evaluated on the joined row.
    pub filter: Option<Arc<dyn PhysicalExpr>>,
    /// The joined row: left columns, then right columns, all nullable.
    pub schema: SchemaRef,
    pub left_width: usize,
    pub join_type: JoinType,
}

/// One output row: the left and right rows (`None`: padded with NULLs).
pub(crate) type Joined<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

impl JoinCore {
    pub fn try_new(
        left_keys: Vec<Arc<dyn PhysicalExpr>>,
        right_keys: Vec<Arc<dyn PhysicalExpr>>,
        key_types: Vec<DataType>,
        filter: Option<Arc<dyn PhysicalExpr>>,
        schema: &Schema,
        left_width: usize,
        join_type: JoinType,
    ) -> Result<Self> {
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect();
        let converter = |fields: &[Field]| {
            RowConverter::new(
                fields
                    .iter()
                    .map(|f| SortField::new(f.data_type().clone()))
                    .collect(),
            )
            .map_err(arrow_err)
        };
        if left_width > fields.len() {
            return Err(Error::Internal(
                "join: left side wider than the join".into(),
            ));
        }
        Ok(Self {
            left_keys,
            right_keys,
            key_converter: RowConverter::new(
                key_types.iter().cloned().map(SortField::new).collect(),
            )
            .map_err(arrow_err)?,
            key_types,
            left_rows: converter(&fields[..left_width])?,
            right_rows: converter(&fields[left_width..])?,
            filter,
            schema: Arc::new(Schema::new(fields)),
            left_width,
            join_type,
        })
    }

    pub fn rows_converter(&self, side: Side) -> &RowConverter {
        match side {
            Side::Left => &self.left_rows,
            Side::Right => &self.right_rows,
        }
    }

    fn side_fields(&self, side: Side) -> &[arrow::datatypes::FieldRef] {
        match side {
            Side::Left => &self.schema.fields()[..self.left_width],
            Side::Right => &self.schema.fields()[self.left_width..],
        }
    }

    /// Encodes a batch of `side` (without its row-kind column).
    pub fn encode(&self, side: Side, batch: &RecordBatch) -> Result<Encoded> {
        let n = batch.num_rows();
        let exprs = match side {
            Side::Left => &self.left_keys,
            Side::Right => &self.right_keys,
        };
        let key_columns = exprs
            .iter()
            .zip(&self.key_types)
            .map(|(k, t)| {
                let c = k
                    .evaluate(batch)
                    .and_then(|v| v.into_array(n))
                    .map_err(df)?;
                if c.data_type() == t {
                    Ok(c)
                } else {
                    cast(&c, t).map_err(arrow_err)
                }
            })
            .collect::<Result<Vec<ArrayRef>>>()?;
        let null_key = (0..n)
            .map(|i| key_columns.iter().any(|c| c.is_null(i)))
            .collect();
        let keys = self
            .key_converter
            .convert_columns(&key_columns)
            .map_err(arrow_err)?;
        let fields = self.side_fields(side);
        if batch.num_columns() != fields.len() {
            return Err(Error::Internal(format!(
                "join: a batch of {} columns for a side of {}",
                batch.num_columns(),
                fields.len()
            )));
        }
        let columns = batch
            .columns()
            .iter()
            .zip(fields)
            .map(|(c, f)| {
                if c.data_type() == f.data_type() {
                    Ok(c.clone())
                } else {
                    cast(c, f.data_type()).map_err(arrow_err)
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let rows = self
            .rows_converter(side)
            .convert_columns(&columns)
            .map_err(arrow_err)?;
        Ok(Encoded {
            keys,
            rows,
            null_key,
        })
    }

    /// The columns of one side for `rows` (`None`: NULLs).
    fn side_columns(&self, side: Side, rows: &[Option<&[u8]>]) -> Result<Vec<ArrayRef>> {
        let converter = self.rows_converter(side);
        let parser = converter.parser();
        let present: Vec<&[u8]> = rows.iter().flatten().copied().collect();
        let decoded = converter
            .convert_rows(present.iter().map(|b| parser.parse(b)))
            .map_err(arrow_err)?;
        let mut next = 0;
        let indices: Vec<(usize, usize)> = rows
            .iter()
            .map(|r| match r {
                Some(_) => {
                    next += 1;
                    (0, next - 1)
                }
                None => (1, 0),
            })
            .collect();
        decoded
            .iter()
            .zip(self.side_fields(side))
            .map(|(values, f)| {
                let nulls = new_null_array(f.data_type(), 1);
                interleave(&[values.as_ref(), nulls.as_ref()], &indices).map_err(arrow_err)
            })
            .collect()
    }

    /// The joined rows as a batch of [`JoinCore::schema`].
    pub fn joined(&self, rows: &[Joined<'_>]) -> Result<RecordBatch> {
        let left: Vec<Option<&[u8]>> = rows.iter().map(|r| r.0).collect();
        let right: Vec<Option<&[u8]>> = rows.iter().map(|r| r.1).collect();
        let mut columns = self.side_columns(Side::Left, &left)?;
        columns.extend(self.side_columns(Side::Right, &right)?);
        super::batch_of(&self.schema, columns, rows.len())
    }

    /// Whether each pair of rows satisfies the residual condition (all do without one).
    pub fn matches(&self, pairs: &[(&[u8], &[u8])]) -> Result<Vec<bool>> {
        let Some(filter) = &self.filter else {
            return Ok(vec![true; pairs.len()]);
        };
        if pairs.is_empty() {
            return Ok(vec![]);
        }
        let rows: Vec<Joined<'_>> = pairs.iter().map(|(l, r)| (Some(*l), Some(*r))).collect();
        let joined = self.joined(&rows)?;
        let mask = filter
            .evaluate(&joined)
            .and_then(|v| v.into_array(joined.num_rows()))
            .map_err(df)?;
        let mask = mask
            .as_boolean_opt()
            .ok_or_else(|| Error::Internal("join condition is not boolean".into()))?;
        // NULL is not true.
        Ok((0..mask.len())
            .map(|i| mask.is_valid(i) && mask.value(i))
            .collect())
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pairs: Vec<String> = self
            .left_keys
            .iter()
            .zip(&self.right_keys)
            .map(|(l, r)| format!("{l} = {r}"))
            .collect();
        write!(f, "{}", pairs.join(" AND "))?;
        if let Some(filter) = &self.filter {
            write!(f, " AND {filter}")?;
        }
        write!(f, " [left has {} columns]", self.left_width)
    }
}

/// A stored row: its copies and, on an outer side, how many rows of the other side it
/// matches (Flink's "number of associations").
struct Record {
    row: Arc<[u8]>,
    count: u64,
    associations: u64,
    written: Instant,
}

/// The rows of one key, in arrival order (a removed row's place goes to the last one), and
/// where each distinct row is.
#[derive(Default)]
struct KeyRows {
    records: Vec<Record>,
    position: HashMap<Arc<[u8]>, usize>,
}

impl KeyRows {
    fn push(&mut self, record: Record) {
        self.position.insert(record.row.clone(), self.records.len());
        self.records.push(record);
    }

    fn reindex(&mut self) {
        self.position = self
            .records
            .iter()
            .enumerate()
            .map(|(i, r)| (r.row.clone(), i))
            .collect();
    }
}

/// One side's rows by join key.
#[derive(Default)]
struct SideState {
    by_key: HashMap<Box<[u8]>, KeyRows>,
}

impl SideState {
    fn add(&mut self, key: &[u8], row: &[u8], associations: u64, now: Instant) {
        let rows = self.by_key.entry(key.into()).or_default();
        match rows.position.get(row) {
            Some(&i) => {
                let r = &mut rows.records[i];
                r.count += 1;
                r.associations = associations;
                r.written = now;
            }
            None => rows.push(Record {
                row: row.into(),
                count: 1,
                associations,
                written: now,
            }),
        }
    }

    /// Removes one copy of `row`; a retraction of a row never added changes nothing, as in
    /// Flink.
    fn retract(&mut self, key: &[u8], row: &[u8], now: Instant) {
        let Some(rows) = self.by_key.get_mut(key) else {
            return;
        };
        if let Some(&i) = rows.position.get(row) {
            let r = &mut rows.records[i];
            r.count -= 1;
            r.written = now;
            if r.count == 0 {
                rows.position.remove(row);
                rows.records.swap_remove(i);
                if let Some(moved) = rows.records.get(i) {
                    rows.position.insert(moved.row.clone(), i);
                }
            }
        }
        if rows.records.is_empty() {
            self.by_key.remove(key);
        }
    }

    fn expire(&mut self, ttl: Duration, now: Instant) {
        self.by_key.retain(|_, rows| {
            let before = rows.records.len();
            rows.records
                .retain(|r| now.duration_since(r.written) <= ttl);
            if rows.records.len() != before {
                rows.reindex();
            }
            !rows.records.is_empty()
        });
    }

    fn rows(&self) -> usize {
        self.by_key
            .values()
            .flat_map(|k| &k.records)
            .map(|r| r.count as usize)
            .sum()
    }
}

/// One output change: its kind, the left and right rows (`None`: NULLs).
type Change = (RowKind, Option<Box<[u8]>>, Option<Box<[u8]>>);

/// A regular join: Flink's streaming join, see the module documentation.
pub struct StreamingJoin {
    core: JoinCore,
    /// Whether the output is a changelog (outer, or an updating input).
    changelog: bool,
    /// The joined row, plus the row-kind column when the output is a changelog.
    schema: SchemaRef,
    ttl: Option<Duration>,
    left: SideState,
    right: SideState,
}

impl StreamingJoin {
    #[allow(clippy::too_many_arguments)]
    pub fn try_new(
        left_keys: Vec<Arc<dyn PhysicalExpr>>,
        right_keys: Vec<Arc<dyn PhysicalExpr>>,
        key_types: Vec<DataType>,
        filter: Option<Arc<dyn PhysicalExpr>>,
        schema: &Schema,
        left_width: usize,
        join_type: JoinType,
        updating_input: bool,
        ttl: Option<Duration>,
    ) -> Result<Self> {
        let core = JoinCore::try_new(
            left_keys, right_keys, key_types, filter, schema, left_width, join_type,
        )?;
        let changelog = join_type != JoinType::Inner || updating_input;
        let mut fields: Vec<Field> = core
            .schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        if changelog {
            fields.push(Field::new(OP_COLUMN, DataType::Int8, false));
        }
        Ok(Self {
            core,
            changelog,
            schema: Arc::new(Schema::new(fields)),
            ttl,
            left: SideState::default(),
            right: SideState::default(),
        })
    }

    /// Whether the output is a changelog.
    pub fn updating(&self) -> bool {
        self.changelog
    }

    /// Rows kept in the join's state, both sides.
    pub fn state_rows(&self) -> usize {
        self.left.rows() + self.right.rows()
    }

    fn output(&self, rows: Vec<Change>) -> Result<Vec<RecordBatch>> {
        if rows.is_empty() {
            return Ok(vec![]);
        }
        let joined: Vec<Joined<'_>> = rows
            .iter()
            .map(|(_, l, r)| (l.as_deref(), r.as_deref()))
            .collect();
        let batch = self.core.joined(&joined)?;
        if !self.changelog {
            return Ok(vec![batch]);
        }
        let mut columns = batch.columns().to_vec();
        columns.push(Arc::new(Int8Array::from_iter_values(
            rows.iter().map(|(k, _, _)| *k as i8),
        )));
        Ok(vec![super::batch_of(&self.schema, columns, rows.len())?])
    }
}

impl TwoInputOperator for StreamingJoin {
    fn process_batch(
        &mut self,
        side: Side,
        batch: RecordBatch,
        _: &mut JobMetrics,
    ) -> Result<Vec<RecordBatch>> {
        let now = Instant::now();
        if let Some(ttl) = self.ttl {
            self.left.expire(ttl, now);
            self.right.expire(ttl, now);
        }
        let n = batch.num_rows();
        let kinds: Vec<RowKind> = match row_kinds(&batch) {
            Some(k) => k.values().iter().map(|v| RowKind::from_i8(*v)).collect(),
            None => vec![RowKind::Insert; n],
        };
        let data = without_op(&batch);
        let encoded = self.core.encode(side, &data)?;
        let (own, other) = match side {
            Side::Left => (&mut self.left, &mut self.right),
            Side::Right => (&mut self.right, &mut self.left),
        };
        // Every (row, stored row of the other side with its key): rows of the other side do
        // not change while this batch is processed, only their association counts.
        let mut candidates: Vec<(usize, usize)> = Vec::new();
        let mut pairs: Vec<(&[u8], &[u8])> = Vec::new();
        for i in 0..n {
            if encoded.null_key[i] {
                continue;
            }
            let Some(records) = other
                .by_key
                .get(encoded.keys.row(i).data())
                .map(|k| &k.records)
            else {
                continue;
            };
            let row = encoded.rows.row(i).data();
            for (j, r) in records.iter().enumerate() {
                candidates.push((i, j));
                pairs.push(match side {
                    Side::Left => (row, &r.row),
                    Side::Right => (&r.row, row),
                });
            }
        }
        let ok = self.core.matches(&pairs)?;
        drop(pairs);
        let input_outer = self.core.join_type.outer(side);
        let other_outer = self.core.join_type.outer(side.other());
        let orient = |mine: Option<&[u8]>, theirs: Option<&[u8]>| match side {
            Side::Left => (mine.map(Box::from), theirs.map(Box::from)),
            Side::Right => (theirs.map(Box::from), mine.map(Box::from)),
        };
        let mut out = Vec::new();
        let mut next = 0;
        let mut matched: Vec<usize> = Vec::new();
        for (i, kind) in kinds.iter().copied().enumerate() {
            matched.clear();
            while next < candidates.len() && candidates[next].0 == i {
                if ok[next] {
                    matched.push(candidates[next].1);
                }
                next += 1;
            }
            let key = encoded.keys.row(i).data();
            let row = encoded.rows.row(i).data();
            let records = other.by_key.get_mut(key);
            let records = match records {
                Some(r) if !matched.is_empty() => r.records.as_mut_slice(),
                _ => &mut [],
            };
            let total: u64 = matched.iter().map(|j| records[*j].count).sum();
            let accumulate = matches!(kind, RowKind::Insert | RowKind::UpdateAfter);
            if accumulate {
                if total > 0 && other_outer {
                    // The other side's rows matched for the first time lose their padding.
                    for j in &matched {
                        let r = &mut records[*j];
                        if r.associations == 0 {
                            for _ in 0..r.count {
                                let (l, rt) = orient(None, Some(&r.row));
                                out.push((RowKind::Delete, l, rt));
                            }
                        }
                        r.associations += 1;
                        r.written = now;
                    }
                }
                if total == 0 {
                    if input_outer {
                        let (l, r) = orient(Some(row), None);
                        out.push((RowKind::Insert, l, r));
                    }
                } else {
                    let out_kind = if input_outer || other_outer {
                        RowKind::Insert
                    } else {
                        kind
                    };
                    for j in &matched {
                        for _ in 0..records[*j].count {
                            let (l, r) = orient(Some(row), Some(&records[*j].row));
                            out.push((out_kind, l, r));
                        }
                    }
                }
                own.add(key, row, total, now);
            } else {
                own.retract(key, row, now);
                if total == 0 {
                    if input_outer {
                        let (l, r) = orient(Some(row), None);
                        out.push((RowKind::Delete, l, r));
                    }
                } else {
                    let out_kind = if input_outer { RowKind::Delete } else { kind };
                    for j in &matched {
                        for _ in 0..records[*j].count {
                            let (l, r) = orient(Some(row), Some(&records[*j].row));
                            out.push((out_kind, l, r));
                        }
                    }
                    if other_outer {
                        // Rows of the other side that lost their last match are padded again.
                        for j in &matched {
                            let r = &mut records[*j];
                            if r.associations == 1 {
                                for _ in 0..r.count {
                                    let (l, rt) = orient(None, Some(&r.row));
                                    out.push((RowKind::Insert, l, rt));
                                }
                            }
                            r.associations = r.associations.saturating_sub(1);
                            r.written = now;
                        }
                    }
                }
            }
        }
        self.output(out)
    }

    fn snapshot(&mut self) -> Result<Option<RecordBatch>> {
        let mut sides = Vec::new();
        let mut keys: Vec<&[u8]> = Vec::new();
        let mut rows: Vec<&[u8]> = Vec::new();
        let mut counts = Vec::new();
        let mut associations = Vec::new();
        let mut written = Vec::new();
        for (side, state) in [(0i8, &self.left), (1i8, &self.right)] {
            for (key, rows_of_key) in &state.by_key {
                for r in &rows_of_key.records {
                    sides.push(side);
                    keys.push(key);
                    rows.push(&r.row);
                    counts.push(r.count);
                    associations.push(r.associations);
                    written.push(r.written);
                }
            }
        }
        let mut b = SnapshotBuilder::new(SNAPSHOT_KIND, sides.len());
        b.column("__side", Arc::new(Int8Array::from(sides)));
        b.column("__key", Arc::new(BinaryArray::from_iter_values(keys)));
        b.column("__row", Arc::new(BinaryArray::from_iter_values(rows)));
        b.column("__count", Arc::new(UInt64Array::from(counts)));
        b.column("__associations", Arc::new(UInt64Array::from(associations)));
        b.last_access(written.into_iter());
        Ok(Some(b.finish()?))
    }

    fn restore(&mut self, state: &RecordBatch) -> Result<()> {
        let r = SnapshotReader::new(state, SNAPSHOT_KIND)?;
        let sides = r.primitive::<arrow::datatypes::Int8Type>("__side")?;
        let keys = r.binary("__key")?;
        let rows = r.binary("__row")?;
        let counts = r.primitive::<arrow::datatypes::UInt64Type>("__count")?;
        let associations = r.primitive::<arrow::datatypes::UInt64Type>("__associations")?;
        for (i, written) in r.last_access()?.into_iter().enumerate() {
            let target = if sides.value(i) == 0 {
                &mut self.left
            } else {
                &mut self.right
            };
            target
                .by_key
                .entry(keys.value(i).into())
                .or_default()
                .push(Record {
                    row: rows.value(i).into(),
                    count: counts.value(i),
                    associations: associations.value(i),
                    written,
                });
        }
        Ok(())
    }
}

/// The operator kind named in a regular join's snapshot.
const SNAPSHOT_KIND: &str = "StreamingJoin";

impl fmt::Display for StreamingJoin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "StreamingJoin ({}{}): ",
            self.core.join_type.name(),
            if self.changelog { ", updating" } else { "" }
        )?;
        self.core.describe(f)?;
        if let Some(ttl) = self.ttl {
            write!(f, ", state ttl={}ms", ttl.as_millis())?;
        }
        Ok(())
    }
}

/// Whether `batch` is a changelog; used by the window and interval joins, which take appends
/// only.
pub(crate) fn refuse_changelog(batch: &RecordBatch) -> Result<()> {
    if is_changelog(batch) {
        return Err(Error::Internal(
            "a window or interval join over an updating input".into(),
        ));
    }
    Ok(())
}

pub(crate) fn describe_core(core: &JoinCore, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    core.describe(f)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use datafusion::physical_expr::expressions::Column;

    /// `(k STRING, v BIGINT)` on each side.
    pub fn side_schema(prefix: &str) -> Schema {
        Schema::new(vec![
            Field::new(format!("{prefix}k"), DataType::Utf8, true),
            Field::new(format!("{prefix}v"), DataType::Int64, true),
        ])
    }

    pub fn join_schema() -> Schema {
        let mut fields: Vec<Field> = side_schema("l")
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields.extend(side_schema("r").fields().iter().map(|f| f.as_ref().clone()));
        Schema::new(fields)
    }

    /// A join side's fields: `<prefix>k` STRING, `<prefix>v` BIGINT and a millisecond
    /// timestamp `<prefix><time>` (the rowtime of an interval join, window_end of a window join).
    pub fn side_fields(prefix: &str, time: &str) -> Vec<arrow::datatypes::Field> {
        use arrow::datatypes::{Field, TimeUnit};
        vec![
            Field::new(format!("{prefix}k"), DataType::Utf8, true),
            Field::new(format!("{prefix}v"), DataType::Int64, true),
            Field::new(
                format!("{prefix}{time}"),
                DataType::Timestamp(TimeUnit::Millisecond, None),
                true,
            ),
        ]
    }

    /// Rows `(key, value, time)` of a side of [`side_fields`].
    pub fn side_rows(prefix: &str, time: &str, rows: &[(&str, i64, i64)]) -> RecordBatch {
        use arrow::array::{ArrayRef, Int64Array, StringArray, TimestampMillisecondArray};
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.1))),
            Arc::new(TimestampMillisecondArray::from_iter_values(
                rows.iter().map(|r| r.2),
            )),
        ];
        let schema = arrow::datatypes::Schema::new(side_fields(prefix, time));
        RecordBatch::try_new(Arc::new(schema), columns).unwrap()
    }

    pub fn key(i: usize) -> Vec<Arc<dyn PhysicalExpr>> {
        vec![Arc::new(Column::new("k", i))]
    }

    /// A batch of one side; with kinds, a changelog.
    pub fn rows(prefix: &str, rows: &[(&str, i64)], kinds: Option<&[RowKind]>) -> RecordBatch {
        let mut fields: Vec<Field> = side_schema(prefix)
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.1))),
        ];
        if let Some(kinds) = kinds {
            fields.push(Field::new(OP_COLUMN, DataType::Int8, false));
            columns.push(Arc::new(Int8Array::from_iter_values(
                kinds.iter().map(|k| *k as i8),
            )));
        }
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
    }

    /// One input to a two-input operator under test.
    pub enum Step {
        Rows(Side, RecordBatch),
        Watermark(i64),
    }

    /// Feeds `steps` to `op`; its output as [`lines`].
    pub fn run(
        op: &mut dyn crate::operators::TwoInputOperator,
        steps: Vec<Step>,
        m: &mut JobMetrics,
    ) -> Vec<String> {
        let mut out = Vec::new();
        for step in steps {
            out.extend(match step {
                Step::Rows(side, b) => op.process_batch(side, b, m).unwrap(),
                Step::Watermark(wm) => op.process_watermark(wm, m).unwrap(),
            });
        }
        lines(&out)
    }

    /// Each row as `+I a 1 NULL NULL`.
    pub fn lines(batches: &[RecordBatch]) -> Vec<String> {
        let mut out = Vec::new();
        for b in batches {
            let kinds = row_kinds(b).cloned();
            let data = without_op(b);
            for i in 0..b.num_rows() {
                let kind = kinds
                    .as_ref()
                    .map_or(RowKind::Insert, |k| RowKind::from_i8(k.value(i)));
                let cells: Vec<String> = data
                    .columns()
                    .iter()
                    .map(|c| {
                        if c.is_null(i) {
                            "NULL".into()
                        } else {
                            crate::format::cell_text(c, i)
                        }
                    })
                    .collect();
                out.push(format!("{} {}", kind.short(), cells.join(" ")));
            }
        }
        out
    }

    fn join(join_type: JoinType, updating: bool, ttl: Option<Duration>) -> StreamingJoin {
        StreamingJoin::try_new(
            key(0),
            key(0),
            vec![DataType::Utf8],
            None,
            &join_schema(),
            2,
            join_type,
            updating,
            ttl,
        )
        .unwrap()
    }

    /// A LEFT join whose right input is updating (a GROUP BY's changelog).
    fn script() -> Vec<(Side, RecordBatch)> {
        use RowKind::*;
        vec![
            (Side::Left, rows("l", &[("a", 1), ("b", 2), ("a", 3)], None)),
            (Side::Right, rows("r", &[("a", 10)], Some(&[Insert]))),
            (Side::Left, rows("l", &[("c", 4)], None)),
            // Snapshot here in the test below.
            (
                Side::Right,
                rows(
                    "r",
                    &[("a", 10), ("a", 11), ("b", 20)],
                    Some(&[UpdateBefore, UpdateAfter, Insert]),
                ),
            ),
            (Side::Left, rows("l", &[("b", 5)], None)),
            (Side::Right, rows("r", &[("b", 20)], Some(&[Delete]))),
        ]
    }

    #[test]
    fn outer_join_changelog_follows_flink() {
        let mut op = join(JoinType::Left, true, None);
        let mut m = JobMetrics::default();
        let mut out = Vec::new();
        for (side, batch) in script() {
            out.extend(op.process_batch(side, batch, &mut m).unwrap());
        }
        assert_eq!(
            lines(&out),
            [
                "+I a 1 NULL NULL",
                "+I b 2 NULL NULL",
                "+I a 3 NULL NULL",
                "-D a 1 NULL NULL",
                "-D a 3 NULL NULL",
                "+I a 1 a 10",
                "+I a 3 a 10",
                "+I c 4 NULL NULL",
                // -U on the inner side keeps its kind; the orders lose their last match.
                "-U a 1 a 10",
                "-U a 3 a 10",
                "+I a 1 NULL NULL",
                "+I a 3 NULL NULL",
                "-D a 1 NULL NULL",
                "-D a 3 NULL NULL",
                "+I a 1 a 11",
                "+I a 3 a 11",
                "-D b 2 NULL NULL",
                "+I b 2 b 20",
                "+I b 5 b 20",
                "-D b 2 b 20",
                "-D b 5 b 20",
                "+I b 2 NULL NULL",
                "+I b 5 NULL NULL",
            ]
        );
    }

    #[test]
    fn snapshot_and_restore_mid_stream_give_the_same_output() {
        let mut m = JobMetrics::default();
        let mut whole = join(JoinType::Full, true, None);
        let mut expected = Vec::new();
        for (side, batch) in script() {
            expected.extend(whole.process_batch(side, batch, &mut m).unwrap());
        }
        let mut first = join(JoinType::Full, true, None);
        let mut got = Vec::new();
        let mut steps = script().into_iter();
        for (side, batch) in steps.by_ref().take(3) {
            got.extend(first.process_batch(side, batch, &mut m).unwrap());
        }
        let state = first.snapshot().unwrap().unwrap();
        assert_eq!(
            state.num_rows(),
            first.state_rows(),
            "one row per stored row"
        );
        let mut restored = join(JoinType::Full, true, None);
        restored.restore(&state).unwrap();
        let mut after = Vec::new();
        for (side, batch) in steps {
            after.extend(restored.process_batch(side, batch, &mut m).unwrap());
        }
        // The rows after the restore need the state from before it (the padded row of b is
        // withdrawn); a fresh operator without it gives other rows.
        let after_lines = lines(&after);
        assert!(after_lines.contains(&"-D b 2 NULL NULL".to_string()));
        let mut fresh = join(JoinType::Full, true, None);
        let rest: Vec<String> = script()
            .into_iter()
            .skip(3)
            .flat_map(|(side, b)| lines(&fresh.process_batch(side, b, &mut m).unwrap()))
            .collect();
        assert_ne!(rest, after_lines);
        got.extend(after);
        assert_eq!(lines(&got), lines(&expected));
    }

    #[test]
    fn state_ttl_forgets_rows_not_written_for_longer() {
        let mut m = JobMetrics::default();
        for (ttl, expected) in [
            (None, vec!["+I a 1 a 10"]),
            (Some(Duration::from_millis(1)), vec![]),
        ] {
            let mut op = join(JoinType::Inner, false, ttl);
            op.process_batch(Side::Left, rows("l", &[("a", 1)], None), &mut m)
                .unwrap();
            std::thread::sleep(Duration::from_millis(20));
            let out = op
                .process_batch(Side::Right, rows("r", &[("a", 10)], None), &mut m)
                .unwrap();
            assert_eq!(lines(&out), expected, "ttl {ttl:?}");
            // The right row arrived after the expiry check: it is kept.
            assert_eq!(op.state_rows(), if ttl.is_some() { 1 } else { 2 });
        }
    }

    #[test]
    fn restored_rows_keep_their_age_and_other_kinds_are_refused() {
        let mut m = JobMetrics::default();
        let ttl = Some(Duration::from_millis(30));
        let mut first = join(JoinType::Inner, false, ttl);
        first
            .process_batch(Side::Left, rows("l", &[("a", 1)], None), &mut m)
            .unwrap();
        std::thread::sleep(Duration::from_millis(60));
        let state = first.snapshot().unwrap().unwrap();
        let mut restored = join(JoinType::Inner, false, ttl);
        restored.restore(&state).unwrap();
        assert_eq!(restored.state_rows(), 1);
        // The row was last written 60 ms ago, longer than the TTL: it no longer matches.
        let out = restored
            .process_batch(Side::Right, rows("r", &[("a", 10)], None), &mut m)
            .unwrap();
        assert!(out.is_empty());
        let mut window_join = crate::operators::window_join::WindowJoin::try_new(
            key(0),
            key(0),
            vec![DataType::Utf8],
            None,
            &join_schema(),
            2,
            JoinType::Inner,
            1,
            1,
        )
        .unwrap();
        let err = window_join.restore(&state).unwrap_err().to_string();
        assert!(
            err.contains("cannot restore a StreamingJoin snapshot into a WindowJoin"),
            "{err}"
        );
    }

    #[test]
    fn inner_join_of_appends_is_append_only() {
        let mut m = JobMetrics::default();
        let mut op = join(JoinType::Inner, false, None);
        assert!(!op.updating());
        op.process_batch(
            Side::Right,
            rows("r", &[("a", 10), ("a", 10)], None),
            &mut m,
        )
        .unwrap();
        let out = op
            .process_batch(Side::Left, rows("l", &[("a", 1)], None), &mut m)
            .unwrap();
        assert!(!is_changelog(&out[0]));
        // Duplicates on the other side are matched once each.
        assert_eq!(lines(&out), ["+I a 1 a 10", "+I a 1 a 10"]);
    }
}
