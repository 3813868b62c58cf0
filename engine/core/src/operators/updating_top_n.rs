//! UpdatingTopN: Top-N without a window over an updating input (`+I`, `-U`, `+U`, `-D`), as
//! Flink 1.20 runs it, with the strategy its planner picks:
//!
//! - [`Strategy::Retract`] (Flink's `RetractableTopNFunction`): every row of a partition is
//!   kept, sorted by its sort key (rows with equal keys in arrival order). An accumulating row
//!   (`+I`, `+U`) enters after the rows that tie with it; a retraction (`-U`, `-D`) removes the
//!   equal row. With the row number selected, every row whose rank changed is updated (`-U`
//!   at its old rank, `+U` of the row that holds the rank now), a row entering a partition with
//!   fewer than N rows is inserted (`+I`) and one leaving it deleted (`-D`); without it, the row
//!   entering or leaving the top N is inserted or deleted.
//! - [`Strategy::UpdateFast`] (Flink's `UpdatableTopNFunction`), when the input has a unique
//!   key containing the partition key and each sort column can only move a row up (a COUNT or
//!   MAX sorted descending, a MIN ascending, a grouping column): only the top N rows are kept,
//!   by that key; `-U` input rows are ignored (Flink's input sends none), and an update of a
//!   kept row moves it up, shifting the rows it passes.
//!
//!   With N = 1, Flink runs `FastTop1Function` instead: the kept row is replaced (`-U`/`+U`)
//!   only by a row sorting strictly before it.
//!
//! Both emit exactly the changes the Flink functions emit, in their order. State is forgotten
//! after `table.exec.state.ttl` (processing time) without a write: per sort key (`Retract`, as
//! Flink's per-sort-key data state) or per row (`UpdateFast`).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{ArrayRef, Int8Array};
use arrow::compute::SortOptions;
use arrow::datatypes::Schema;
use arrow::record_batch::RecordBatch;
use arrow::row::{OwnedRow, Row, RowConverter, SortField};
use datafusion::physical_expr::PhysicalExpr;
use weir_api::JobMetrics;

use super::group_aggregate::RowKind;
use super::top_n::{arrow_err, Change, RankKeys};
use super::Operator;
use crate::{Error, Result};

/// How Flink's planner runs a Top-N over an updating input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    /// `RetractStrategy`: all rows kept, retractions honoured.
    Retract,
    /// `UpdateFastStrategy`: the input's unique key (column indices); only the top N kept.
    UpdateFast(Vec<usize>),
}

const SNAPSHOT_KIND: &str = "UpdatingTopN";

/// The row number of rows emitted without one: it is not selected, or N is 1 and Flink
/// replaces it with the constant 1 (its `RankNumberColumnRemoveRule`).
const CONSTANT_RANK: i64 = 1;

pub struct UpdatingTopN {
    keys: RankKeys,
    strategy: Strategy,
    limit: usize,
    /// Whether the query selects the row number (Flink's `outputRankNumber`).
    with_rank: bool,
    ttl: Option<Duration>,
    /// The unique key of a row (`UpdateFast`).
    row_key: Option<RowConverter>,
    retract: HashMap<Box<[u8]>, BTreeMap<OwnedRow, SortKeyRows>>,
    update: HashMap<Box<[u8]>, Buffer>,
}

/// The rows of one sort key in arrival order, and when they were last written.
struct SortKeyRows {
    rows: Vec<OwnedRow>,
    written: Instant,
}

/// `UpdateFast`'s top rows of a partition: unique keys by sort key (in arrival order within a
/// sort key), and each unique key's row.
#[derive(Default)]
struct Buffer {
    sorted: BTreeMap<OwnedRow, Vec<OwnedRow>>,
    rows: HashMap<OwnedRow, Kept>,
    count: usize,
}

struct Kept {
    row: OwnedRow,
    sort_key: OwnedRow,
    written: Instant,
}

impl Buffer {
    fn put(&mut self, sort_key: &OwnedRow, row_key: &OwnedRow) {
        self.sorted
            .entry(sort_key.clone())
            .or_default()
            .push(row_key.clone());
        self.count += 1;
    }

    fn remove(&mut self, sort_key: &OwnedRow, row_key: &OwnedRow) {
        if let Some(keys) = self.sorted.get_mut(sort_key) {
            if let Some(i) = keys.iter().position(|k| k == row_key) {
                keys.remove(i);
                self.count -= 1;
            }
            if keys.is_empty() {
                self.sorted.remove(sort_key);
            }
        }
    }

    /// The rank of a kept row: 1 + the rows before it.
    fn rank(&self, sort_key: &OwnedRow, row_key: &OwnedRow) -> usize {
        let mut rank = 1;
        for (k, keys) in &self.sorted {
            if k == sort_key {
                return rank + keys.iter().position(|r| r == row_key).unwrap_or(keys.len());
            }
            rank += keys.len();
        }
        rank
    }

    /// Whether a row with `sort_key` belongs to the top `limit` (Flink's
    /// `checkSortKeyInBufferRange`).
    fn in_range(&self, sort_key: &OwnedRow, limit: usize) -> bool {
        match self.sorted.last_key_value() {
            None => true,
            Some((worst, _)) => sort_key < worst || self.count < limit,
        }
    }

    fn row(&self, row_key: &OwnedRow) -> Option<&OwnedRow> {
        self.rows.get(row_key).map(|k| &k.row)
    }

    fn forget_older_than(&mut self, ttl: Duration, now: Instant) {
        let stale: Vec<(OwnedRow, OwnedRow)> = self
            .rows
            .iter()
            .filter(|(_, k)| now.duration_since(k.written) > ttl)
            .map(|(rk, k)| (rk.clone(), k.sort_key.clone()))
            .collect();
        for (row_key, sort_key) in stale {
            self.rows.remove(&row_key);
            self.remove(&sort_key, &row_key);
        }
    }
}

impl UpdatingTopN {
    /// `input` is the schema of the rows (without the row kind); `output` the plan's Window
    /// schema (input + rn).
    #[allow(clippy::too_many_arguments)]
    pub fn try_new(
        partition: Vec<Arc<dyn PhysicalExpr>>,
        order: Vec<(Arc<dyn PhysicalExpr>, SortOptions)>,
        strategy: Strategy,
        limit: usize,
        with_rank: bool,
        ttl: Option<Duration>,
        input: &Schema,
        output: &Schema,
    ) -> Result<Self> {
        let row_key = match &strategy {
            Strategy::Retract => None,
            Strategy::UpdateFast(columns) => Some(
                RowConverter::new(
                    columns
                        .iter()
                        .map(|&c| {
                            input
                                .fields()
                                .get(c)
                                .map(|f| SortField::new(f.data_type().clone()))
                                .ok_or_else(|| {
                                    Error::Internal(format!("Top-N unique key column {c} missing"))
                                })
                        })
                        .collect::<Result<Vec<_>>>()?,
                )
                .map_err(arrow_err)?,
            ),
        };
        Ok(Self {
            keys: RankKeys::try_new(partition, order, input, output)?,
            strategy,
            limit,
            with_rank,
            ttl,
            row_key,
            retract: HashMap::new(),
            update: HashMap::new(),
        })
    }

    /// Whether the row-number algorithms run: Flink drops the row number of a top 1 (it is
    /// the constant 1) and runs the ones without it.
    fn numbered(&self) -> bool {
        self.with_rank && self.limit > 1
    }

    /// The unique keys of the rows of `batch` (`UpdateFast`).
    fn row_keys(&self, batch: &RecordBatch) -> Result<Option<arrow::row::Rows>> {
        let (Some(converter), Strategy::UpdateFast(columns)) = (&self.row_key, &self.strategy)
        else {
            return Ok(None);
        };
        let columns: Vec<ArrayRef> = columns.iter().map(|&c| batch.column(c).clone()).collect();
        Ok(Some(
            converter.convert_columns(&columns).map_err(arrow_err)?,
        ))
    }

    // ---- Retract (RetractableTopNFunction) ----

    fn retract_accumulate(
        &mut self,
        partition: &[u8],
        key: Row<'_>,
        row: Row<'_>,
        now: Instant,
        out: &mut Vec<Change>,
    ) {
        let (limit, with_rank) = (self.limit, self.numbered());
        let sorted = self.retract.entry(partition.into()).or_default();
        let key = key.owned();
        // The row joins its sort key first (after the rows that tie with it); the rows of the
        // other keys are what the emission walks.
        let entry = sorted.entry(key.clone()).or_insert_with(|| SortKeyRows {
            rows: Vec::new(),
            written: now,
        });
        entry.rows.push(row.owned());
        entry.written = now;
        if with_rank {
            let mut rank = 0;
            let mut current: Option<OwnedRow> = None;
            for (k, e) in sorted.iter() {
                if rank > limit {
                    break;
                }
                if current.is_none() && *k == key {
                    rank += e.rows.len();
                    current = Some(row.owned());
                } else if let Some(cur) = current.as_mut() {
                    for previous in &e.rows {
                        if rank > limit {
                            break;
                        }
                        push(out, previous, rank, RowKind::UpdateBefore, limit);
                        push(out, cur, rank, RowKind::UpdateAfter, limit);
                        *cur = previous.clone();
                        rank += 1;
                    }
                } else {
                    rank += e.rows.len();
                }
            }
            if rank <= limit {
                if let Some(cur) = &current {
                    push(out, cur, rank, RowKind::Insert, limit);
                }
            }
        } else {
            let mut rank = 0;
            let mut found = false;
            let mut collect = false;
            let mut delete = None;
            for (k, e) in sorted.iter() {
                if rank > limit {
                    break;
                }
                if !found && *k == key {
                    rank += e.rows.len();
                    collect = (1..=limit).contains(&rank);
                    found = true;
                } else if found {
                    let last = rank + e.rows.len();
                    if last <= limit {
                        rank = last;
                    } else {
                        delete = e.rows.get(limit - rank).cloned();
                        break;
                    }
                } else {
                    rank += e.rows.len();
                }
            }
            if let Some(d) = delete {
                out.push((d, CONSTANT_RANK, RowKind::Delete));
            }
            if collect {
                out.push((row.owned(), CONSTANT_RANK, RowKind::Insert));
            }
        }
    }

    fn retract_remove(
        &mut self,
        partition: &[u8],
        key: Row<'_>,
        row: Row<'_>,
        now: Instant,
        out: &mut Vec<Change>,
    ) {
        let (limit, with_rank) = (self.limit, self.numbered());
        let Some(sorted) = self.retract.get_mut(partition) else {
            return; // a retraction of a row never seen (or forgotten): nothing to change
        };
        let mut removed = false;
        if with_rank {
            let mut rank = 0;
            let mut previous: Option<OwnedRow> = None;
            for (k, e) in sorted.iter_mut() {
                if rank > limit {
                    break;
                }
                if !removed && k.row() == key {
                    let mut i = 0;
                    while i < e.rows.len() && rank <= limit {
                        if !removed && e.rows[i].row() == row {
                            previous = Some(e.rows.remove(i));
                            e.written = now;
                            removed = true;
                        } else {
                            if removed {
                                if let Some(p) = &previous {
                                    push(out, p, rank, RowKind::UpdateBefore, limit);
                                }
                                push(out, &e.rows[i], rank, RowKind::UpdateAfter, limit);
                                previous = Some(e.rows[i].clone());
                            }
                            i += 1;
                        }
                        rank += 1;
                    }
                } else if removed {
                    for current in &e.rows {
                        if rank > limit {
                            break;
                        }
                        if let Some(p) = &previous {
                            push(out, p, rank, RowKind::UpdateBefore, limit);
                        }
                        push(out, current, rank, RowKind::UpdateAfter, limit);
                        previous = Some(current.clone());
                        rank += 1;
                    }
                } else {
                    rank += e.rows.len();
                }
            }
            if rank <= limit {
                if let Some(p) = &previous {
                    push(out, p, rank, RowKind::Delete, limit);
                }
            }
        } else {
            let mut next = 1;
            for (k, e) in sorted.iter_mut() {
                if next > limit {
                    break;
                }
                if !removed && k.row() == key {
                    let mut i = 0;
                    while i < e.rows.len() && next <= limit {
                        if !removed && e.rows[i].row() == row {
                            let r = e.rows.remove(i);
                            e.written = now;
                            out.push((r, CONSTANT_RANK, RowKind::Delete));
                            removed = true;
                            // `next` stays: the following row takes the removed one's rank.
                            continue;
                        }
                        if removed && next == limit {
                            out.push((e.rows[i].clone(), CONSTANT_RANK, RowKind::Insert));
                        }
                        next += 1;
                        i += 1;
                    }
                } else if removed {
                    let last = next + e.rows.len() - 1;
                    if last < limit {
                        next = last + 1;
                    } else {
                        if let Some(r) = e.rows.get(limit - next) {
                            out.push((r.clone(), CONSTANT_RANK, RowKind::Insert));
                        }
                        break;
                    }
                } else {
                    next += e.rows.len();
                }
            }
        }
        // A row past the top N (or not reached) is removed without changing the result.
        let owned_key = key.owned();
        if !removed {
            if let Some(e) = sorted.get_mut(&owned_key) {
                if let Some(i) = e.rows.iter().position(|r| r.row() == row) {
                    e.rows.remove(i);
                    e.written = now;
                }
            }
        }
        if sorted.get(&owned_key).is_some_and(|e| e.rows.is_empty()) {
            sorted.remove(&owned_key);
        }
        if sorted.is_empty() {
            self.retract.remove(partition);
        }
    }

    // ---- UpdateFast (UpdatableTopNFunction) ----

    fn update(
        &mut self,
        partition: &[u8],
        key: Row<'_>,
        row_key: Row<'_>,
        row: Row<'_>,
        now: Instant,
        out: &mut Vec<Change>,
    ) {
        let (limit, with_rank) = (self.limit, self.numbered());
        let buffer = self.update.entry(partition.into()).or_default();
        let (key, row_key) = (key.owned(), row_key.owned());
        let kept = |row: OwnedRow, sort_key: &OwnedRow| Kept {
            row,
            sort_key: sort_key.clone(),
            written: now,
        };
        if limit == 1 {
            // Flink's `FastTop1Function`: the kept row is replaced only by a row that sorts
            // strictly before it (whatever its unique key); the partition key is then the
            // result's key, so the change is an update.
            let current = buffer
                .rows
                .iter()
                .next()
                .map(|(rk, k)| (rk.clone(), k.row.clone(), k.sort_key.clone()));
            match current {
                None => {
                    buffer.put(&key, &row_key);
                    buffer.rows.insert(row_key, kept(row.owned(), &key));
                    out.push((row.owned(), 1, RowKind::Insert));
                }
                Some((old_row_key, old_row, old_key)) if key < old_key => {
                    buffer.remove(&old_key, &old_row_key);
                    buffer.rows.remove(&old_row_key);
                    buffer.put(&key, &row_key);
                    buffer.rows.insert(row_key, kept(row.owned(), &key));
                    out.push((old_row, 1, RowKind::UpdateBefore));
                    out.push((row.owned(), 1, RowKind::UpdateAfter));
                }
                Some(_) => {}
            }
            return;
        }
        if let Some(old) = buffer.rows.get(&row_key) {
            let (old_row, old_key) = (old.row.clone(), old.sort_key.clone());
            if !with_rank {
                if old_key != key {
                    buffer.remove(&old_key, &row_key);
                    buffer.put(&key, &row_key);
                }
                buffer.rows.insert(row_key, kept(row.owned(), &key));
                out.push((old_row, CONSTANT_RANK, RowKind::UpdateBefore));
                out.push((row.owned(), CONSTANT_RANK, RowKind::UpdateAfter));
                return;
            }
            if old_key == key {
                // Same sort key, same rank: only the row changes.
                let rank = buffer.rank(&key, &row_key);
                buffer.rows.insert(row_key, kept(row.owned(), &key));
                push(out, &old_row, rank, RowKind::UpdateBefore, limit);
                push(out, &row.owned(), rank, RowKind::UpdateAfter, limit);
                return;
            }
            let old_rank = buffer.rank(&old_key, &row_key);
            buffer.remove(&old_key, &row_key);
            buffer.put(&key, &row_key);
            buffer.rows.insert(row_key.clone(), kept(row.owned(), &key));
            if key < old_key {
                emit_moved_up(
                    buffer,
                    &key,
                    row.owned(),
                    Some((&old_key, &old_row, old_rank)),
                    limit,
                    out,
                );
            } else {
                // The sort key went down, against the order's monotonicity (Flink logs it and
                // emits what `emitRecordsWithRowNumberIgnoreStateError` emits).
                let new_rank = buffer.rank(&key, &row_key);
                let mut rank = 0;
                let mut previous: Option<OwnedRow> = None;
                for keys in buffer.sorted.values() {
                    if rank > new_rank {
                        break;
                    }
                    for rk in keys {
                        rank += 1;
                        let current = buffer.row(rk).cloned();
                        if old_rank <= rank {
                            if rank == old_rank {
                                push(out, &old_row, old_rank, RowKind::UpdateBefore, limit);
                            } else if let Some(p) = &previous {
                                push(out, p, rank, RowKind::UpdateBefore, limit);
                                push(out, p, rank - 1, RowKind::UpdateAfter, limit);
                                if rank == new_rank {
                                    push(out, &row.owned(), rank, RowKind::UpdateAfter, limit);
                                }
                            }
                        }
                        previous = current;
                    }
                }
            }
        } else if buffer.in_range(&key, limit) {
            buffer.put(&key, &row_key);
            buffer.rows.insert(row_key, kept(row.owned(), &key));
            if with_rank {
                emit_moved_up(buffer, &key, row.owned(), None, limit, out);
            } else {
                if buffer.count > limit {
                    if let Some((last_key, keys)) = buffer.sorted.last_key_value() {
                        if let Some(last) = keys.last().cloned() {
                            let last_key = last_key.clone();
                            buffer.remove(&last_key, &last);
                            if let Some(k) = buffer.rows.remove(&last) {
                                out.push((k.row, CONSTANT_RANK, RowKind::Delete));
                            }
                        }
                    }
                }
                out.push((row.owned(), CONSTANT_RANK, RowKind::Insert));
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn process_row(
        &mut self,
        partition: &[u8],
        key: Row<'_>,
        row_key: Option<Row<'_>>,
        row: Row<'_>,
        kind: RowKind,
        now: Instant,
        out: &mut Vec<Change>,
    ) {
        let accumulate = matches!(kind, RowKind::Insert | RowKind::UpdateAfter);
        if let Some(ttl) = self.ttl {
            if let Some(sorted) = self.retract.get_mut(partition) {
                sorted.retain(|_, e| now.duration_since(e.written) <= ttl);
            }
            if let Some(buffer) = self.update.get_mut(partition) {
                buffer.forget_older_than(ttl, now);
            }
        }
        match row_key {
            // Flink's UpdateFast input carries no retractions: its upstream sends only the
            // new version of a row.
            Some(row_key) => {
                if accumulate {
                    self.update(partition, key, row_key, row, now, out);
                }
            }
            None if accumulate => self.retract_accumulate(partition, key, row, now, out),
            None => self.retract_remove(partition, key, row, now, out),
        }
    }
}

/// Records a change with a rank, as Flink's `collect*` do: only ranks in 1..=N are emitted.
fn push(out: &mut Vec<Change>, row: &OwnedRow, rank: usize, kind: RowKind, limit: usize) {
    if (1..=limit).contains(&rank) {
        out.push((row.clone(), rank as i64, kind));
    }
}

/// `UpdatableTopNFunction.emitRecordsWithRowNumber`: the row (already in the buffer under
/// `key`) is new (`old` is `None`) or moved up from `old` = (sort key, row, rank). The rows it
/// passes move down one rank; rows pushed out of the top N are forgotten.
fn emit_moved_up(
    buffer: &mut Buffer,
    key: &OwnedRow,
    input: OwnedRow,
    old: Option<(&OwnedRow, &OwnedRow, usize)>,
    limit: usize,
    out: &mut Vec<Change>,
) {
    let mut rank = 0;
    let mut current = input;
    let mut current_is_input = false;
    let mut found = false;
    let mut old_retracted = false;
    let mut last_visited: Option<OwnedRow> = None;
    for (k, keys) in &buffer.sorted {
        if rank > limit {
            break;
        }
        last_visited = Some(k.clone());
        if !found && k == key {
            rank += keys.len();
            current_is_input = true;
            found = true;
        } else if found {
            let passes = match old {
                None => true,
                Some((old_key, _, _)) => k <= old_key,
            };
            if !passes {
                break;
            }
            for rk in keys {
                let bound_ok = match old {
                    None => rank <= limit,
                    Some((_, _, old_rank)) => rank < old_rank,
                };
                if !bound_ok {
                    break;
                }
                let Some(previous) = buffer.row(rk).cloned() else {
                    continue;
                };
                push(out, &previous, rank, RowKind::UpdateBefore, limit);
                if let Some((_, old_row, old_rank)) = old {
                    if current_is_input && !old_retracted {
                        // The same unique key: its old row is retracted first.
                        push(out, old_row, old_rank, RowKind::UpdateBefore, limit);
                        old_retracted = true;
                    }
                }
                push(out, &current, rank, RowKind::UpdateAfter, limit);
                current = previous;
                current_is_input = false;
                rank += 1;
            }
        } else {
            rank += keys.len();
        }
    }
    if rank <= limit {
        match old {
            None => push(out, &current, rank, RowKind::Insert, limit),
            Some((_, old_row, old_rank)) => {
                if !old_retracted {
                    push(out, old_row, old_rank, RowKind::UpdateBefore, limit);
                }
                push(out, &current, rank, RowKind::UpdateAfter, limit);
            }
        }
        return;
    }
    // Sort keys after the last one visited are out of the top N: forget them.
    let Some(last) = last_visited else {
        return;
    };
    let beyond: Vec<OwnedRow> = buffer
        .sorted
        .range((std::ops::Bound::Excluded(last), std::ops::Bound::Unbounded))
        .map(|(k, _)| k.clone())
        .collect();
    for k in beyond {
        if let Some(keys) = buffer.sorted.remove(&k) {
            buffer.count -= keys.len();
            for rk in keys {
                buffer.rows.remove(&rk);
            }
        }
    }
}

impl fmt::Display for UpdatingTopN {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let strategy = match &self.strategy {
            Strategy::Retract => "RetractStrategy".to_string(),
            Strategy::UpdateFast(columns) => {
                let names: Vec<String> = columns
                    .iter()
                    .filter_map(|&c| self.keys.input.fields().get(c))
                    .map(|f| f.name().clone())
                    .collect();
                format!("UpdateFastStrategy[{}]", names.join(", "))
            }
        };
        write!(
            f,
            "TopN (updating, {strategy}): top {} {}{}",
            self.limit,
            self.keys,
            if self.with_rank {
                ", with row number"
            } else {
                ""
            }
        )?;
        if let Some(ttl) = self.ttl {
            write!(f, ", state ttl={}ms", ttl.as_millis())?;
        }
        Ok(())
    }
}

impl Operator for UpdatingTopN {
    fn process_batch(
        &mut self,
        batch: RecordBatch,
        _: &mut JobMetrics,
    ) -> Result<Vec<RecordBatch>> {
        let now = Instant::now();
        let kinds: Option<Int8Array> = super::group_aggregate::is_changelog(&batch)
            .then(|| {
                use arrow::array::AsArray;
                batch
                    .columns()
                    .last()
                    .and_then(|c| c.as_primitive_opt::<arrow::datatypes::Int8Type>())
                    .cloned()
            })
            .flatten();
        let [partitions, keys, rows] = self.keys.convert(&batch)?;
        let row_keys = self.row_keys(&batch)?;
        let global = self.keys.global();
        let mut out = Vec::new();
        for i in 0..batch.num_rows() {
            let kind = kinds
                .as_ref()
                .map_or(RowKind::Insert, |k| RowKind::from_i8(k.value(i)));
            self.process_row(
                if global {
                    &[]
                } else {
                    partitions.row(i).data()
                },
                keys.row(i),
                row_keys.as_ref().map(|r| r.row(i)),
                rows.row(i),
                kind,
                now,
                &mut out,
            );
        }
        self.keys.output(&out)
    }

    /// The kept rows (`__row<i>`), partition by partition, best first (rows with equal sort
    /// keys in arrival order), each with its last write; keys are computed again on restore.
    fn snapshot(&mut self) -> Result<Option<RecordBatch>> {
        let mut rows = Vec::new();
        for sorted in self.retract.values() {
            for e in sorted.values() {
                rows.extend(e.rows.iter().map(|r| (r.row(), e.written)));
            }
        }
        for buffer in self.update.values() {
            for keys in buffer.sorted.values() {
                for rk in keys {
                    if let Some(k) = buffer.rows.get(rk) {
                        rows.push((k.row.row(), k.written));
                    }
                }
            }
        }
        Ok(Some(self.keys.snapshot(SNAPSHOT_KIND, rows)?))
    }

    fn restore(&mut self, snapshot: &RecordBatch) -> Result<()> {
        let (batch, written) = self.keys.restore(snapshot, SNAPSHOT_KIND)?;
        let [partitions, keys, rows] = self.keys.convert(&batch)?;
        let row_keys = self.row_keys(&batch)?;
        self.retract.clear();
        self.update.clear();
        for (i, written) in written.into_iter().enumerate() {
            let partition: Box<[u8]> = if self.keys.global() {
                Box::new([])
            } else {
                partitions.row(i).data().into()
            };
            let key = keys.row(i).owned();
            let row = rows.row(i).owned();
            match &row_keys {
                Some(row_keys) => {
                    let row_key = row_keys.row(i).owned();
                    let buffer = self.update.entry(partition).or_default();
                    buffer.put(&key, &row_key);
                    buffer.rows.insert(
                        row_key,
                        Kept {
                            row,
                            sort_key: key,
                            written,
                        },
                    );
                }
                None => {
                    let e = self
                        .retract
                        .entry(partition)
                        .or_default()
                        .entry(key)
                        .or_insert_with(|| SortKeyRows {
                            rows: Vec::new(),
                            written,
                        });
                    e.rows.push(row);
                    e.written = e.written.max(written);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field};
    use datafusion::physical_expr::expressions::Column;

    fn input() -> Schema {
        Schema::new(vec![
            Field::new("k", DataType::Utf8, true),
            Field::new("v", DataType::Int64, true),
        ])
    }

    fn top2(strategy: Strategy, ttl: Option<Duration>) -> UpdatingTopN {
        let input = input();
        let mut output = input.fields().to_vec();
        output.push(Arc::new(Field::new("rn", DataType::Int64, false)));
        UpdatingTopN::try_new(
            vec![],
            vec![(
                Arc::new(Column::new("v", 1)) as Arc<dyn PhysicalExpr>,
                SortOptions {
                    descending: true,
                    nulls_first: false,
                },
            )],
            strategy,
            2,
            true,
            ttl,
            &input,
            &Schema::new(output),
        )
        .unwrap()
    }

    /// A changelog batch of (k, v, kind).
    fn changes(rows: &[(&str, i64, RowKind)]) -> RecordBatch {
        let mut fields = input().fields().to_vec();
        fields.push(Arc::new(Field::new(
            super::super::group_aggregate::OP_COLUMN,
            DataType::Int8,
            false,
        )));
        RecordBatch::try_new(
            Arc::new(Schema::new(fields)),
            vec![
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))),
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.1))),
                Arc::new(Int8Array::from_iter_values(rows.iter().map(|r| r.2 as i8))),
            ],
        )
        .unwrap()
    }

    fn run(op: &mut UpdatingTopN, rows: &[(&str, i64, RowKind)]) -> Vec<String> {
        let out = op
            .process_batch(changes(rows), &mut JobMetrics::default())
            .unwrap();
        out.iter()
            .flat_map(|b| {
                use arrow::array::AsArray;
                let k = b.column(0).as_string::<i32>().clone();
                let v = b
                    .column(1)
                    .as_primitive::<arrow::datatypes::Int64Type>()
                    .clone();
                let rn = b
                    .column(2)
                    .as_primitive::<arrow::datatypes::Int64Type>()
                    .clone();
                let op = b
                    .column(3)
                    .as_primitive::<arrow::datatypes::Int8Type>()
                    .clone();
                (0..b.num_rows())
                    .map(|i| {
                        format!(
                            "{} {} {} {}",
                            RowKind::from_i8(op.value(i)).short(),
                            k.value(i),
                            v.value(i),
                            rn.value(i)
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn state_ttl_forgets_rows_not_written_for_longer() {
        for strategy in [Strategy::Retract, Strategy::UpdateFast(vec![0])] {
            // Without a TTL the second row passes the first, which moves down.
            let mut kept = top2(strategy.clone(), None);
            run(&mut kept, &[("a", 1, RowKind::Insert)]);
            assert_eq!(
                run(&mut kept, &[("b", 2, RowKind::Insert)]),
                ["-U a 1 1", "+U b 2 1", "+I a 1 2"],
                "{strategy:?}"
            );
            // With one, the first row is forgotten: the second is alone, and the first's
            // retraction changes nothing.
            let mut forgetting = top2(strategy.clone(), Some(Duration::from_millis(1)));
            run(&mut forgetting, &[("a", 1, RowKind::Insert)]);
            std::thread::sleep(Duration::from_millis(20));
            assert_eq!(
                run(&mut forgetting, &[("b", 2, RowKind::Insert)]),
                ["+I b 2 1"],
                "{strategy:?}"
            );
            assert!(
                run(&mut forgetting, &[("a", 1, RowKind::UpdateBefore)]).is_empty(),
                "{strategy:?}"
            );
        }
    }

    #[test]
    fn a_retraction_moves_the_next_row_up() {
        let mut op = top2(Strategy::Retract, None);
        run(
            &mut op,
            &[
                ("a", 3, RowKind::Insert),
                ("b", 2, RowKind::Insert),
                ("c", 1, RowKind::Insert),
            ],
        );
        // a leaves: b and c move up one rank each, and c enters the top 2.
        assert_eq!(
            run(&mut op, &[("a", 3, RowKind::Delete)]),
            ["-U a 3 1", "+U b 2 1", "-U b 2 2", "+U c 1 2"]
        );
        // b leaves: c moves up, and rank 2 is empty.
        assert_eq!(
            run(&mut op, &[("b", 2, RowKind::UpdateBefore)]),
            ["-U b 2 1", "+U c 1 1", "-D c 1 2"]
        );
    }
}
