//! SessionAggregate: SESSION windows. Per key, a row opens the proto-session
//! `[ts, ts + gap)`; sessions that overlap merge (their accumulators through
//! `state`/`merge_batch`). A session `[first, last + gap)` fires when the watermark passes its
//! end. A row is late, dropped and counted, when its proto-session is behind the watermark
//! and overlaps no open session of its key, as in Flink's merging window operator.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, TimestampMillisecondArray, UInt32Array};
use arrow::compute::{cast, filter_record_batch, take_record_batch};
use arrow::datatypes::{DataType, SchemaRef, TimestampMillisecondType};
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, Rows, SortField};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::Accumulator;
use datafusion::physical_expr::PhysicalExpr;
use weir_api::JobMetrics;

use super::late::LateRows;
use super::window_aggregate::{AggregateCall, GroupSlot};
use super::window_assigner::window_bound_type;
use super::{state, Operator};
use crate::{Error, Result};

pub struct SessionAggregate {
    /// The input column holding each row's timestamp (the `window_start` column).
    start: Arc<dyn PhysicalExpr>,
    gap_ms: i64,
    slots: Vec<GroupSlot>,
    keys: Vec<Arc<dyn PhysicalExpr>>,
    aggregates: Vec<AggregateCall>,
    schema: SchemaRef,
    converter: RowConverter,
    /// Keys seen, by their row encoding; `sessions[i]` are key i's open sessions by start.
    index: HashMap<Box<[u8]>, usize>,
    key_rows: Rows,
    sessions: Vec<Vec<Session>>,
    watermark: Option<i64>,
    late: LateRows,
}

/// One open session of one key.
struct Session {
    start: i64,
    /// The last row's time plus the gap.
    end: i64,
    accumulators: Vec<Box<dyn Accumulator>>,
}

fn df(e: datafusion::error::DataFusionError) -> Error {
    Error::Data(format!("aggregation failed: {e}"))
}

fn arrow_err(e: arrow::error::ArrowError) -> Error {
    Error::Internal(format!("aggregation failed: {e}"))
}

impl SessionAggregate {
    /// `input` is the schema of the rows it aggregates (late rows keep their columns).
    #[allow(clippy::too_many_arguments)]
    pub fn try_new(
        start: Arc<dyn PhysicalExpr>,
        gap_ms: i64,
        slots: Vec<GroupSlot>,
        keys: Vec<Arc<dyn PhysicalExpr>>,
        key_types: Vec<DataType>,
        aggregates: Vec<AggregateCall>,
        schema: SchemaRef,
        input: &arrow::datatypes::Schema,
    ) -> Result<Self> {
        let converter = RowConverter::new(key_types.into_iter().map(SortField::new).collect())
            .map_err(arrow_err)?;
        let key_rows = converter.empty_rows(0, 0);
        Ok(Self {
            start,
            gap_ms,
            slots,
            keys,
            aggregates,
            schema,
            converter,
            index: HashMap::new(),
            key_rows,
            sessions: Vec::new(),
            watermark: None,
            late: LateRows::new(input),
        })
    }

    fn new_accumulators(&self) -> Result<Vec<Box<dyn Accumulator>>> {
        self.aggregates
            .iter()
            .map(|c| c.function.create_accumulator().map_err(df))
            .collect()
    }

    /// Adds `rows` of `batch` (all of one key and within `[start, end)`) to `session`.
    fn update(&self, session: &mut Session, batch: &RecordBatch) -> Result<()> {
        for (call, acc) in self.aggregates.iter().zip(session.accumulators.iter_mut()) {
            let rows = match &call.filter {
                Some(f) => {
                    let mask = f
                        .evaluate(batch)
                        .and_then(|v| v.into_array(batch.num_rows()))
                        .map_err(df)?;
                    let mask = mask
                        .as_boolean_opt()
                        .ok_or_else(|| Error::Internal("FILTER is not boolean".into()))?;
                    filter_record_batch(batch, mask).map_err(arrow_err)?
                }
                None => batch.clone(),
            };
            let n = rows.num_rows();
            let values: Vec<ArrayRef> = call
                .function
                .expressions()
                .iter()
                .map(|e| e.evaluate(&rows).and_then(|v| v.into_array(n)))
                .collect::<std::result::Result<_, _>>()
                .map_err(df)?;
            acc.update_batch(&values).map_err(df)?;
        }
        Ok(())
    }

    /// Merges `other`'s accumulators into `into`.
    fn merge(into: &mut Session, mut other: Session) -> Result<()> {
        into.start = into.start.min(other.start);
        into.end = into.end.max(other.end);
        for (a, b) in into
            .accumulators
            .iter_mut()
            .zip(other.accumulators.iter_mut())
        {
            let state: Vec<ArrayRef> = b
                .state()
                .map_err(df)?
                .into_iter()
                .map(|s| s.to_array())
                .collect::<std::result::Result<_, _>>()
                .map_err(df)?;
            a.merge_batch(&state).map_err(df)?;
        }
        Ok(())
    }
}

impl fmt::Display for SessionAggregate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let aggs: Vec<String> = self
            .aggregates
            .iter()
            .map(|a| a.function.name().to_string())
            .collect();
        let keys: Vec<String> = self.keys.iter().map(|k| k.to_string()).collect();
        write!(
            f,
            "SessionAggregate: gap={}ms, keys=[{}], aggregates=[{}]",
            self.gap_ms,
            keys.join(", "),
            aggs.join(", ")
        )
    }
}

impl Operator for SessionAggregate {
    fn late_rows(&mut self) -> Option<&mut LateRows> {
        Some(&mut self.late)
    }

    fn process_batch(
        &mut self,
        batch: RecordBatch,
        metrics: &mut JobMetrics,
    ) -> Result<Vec<RecordBatch>> {
        let n = batch.num_rows();
        let times = self
            .start
            .evaluate(&batch)
            .and_then(|v| v.into_array(n))
            .map_err(df)?;
        let times = cast(&times, &window_bound_type()).map_err(arrow_err)?;
        let times = times.as_primitive::<TimestampMillisecondType>().clone();
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
        // Rows by key, in time order.
        let mut by_key: HashMap<usize, Vec<(i64, u32)>> = HashMap::new();
        let mut late: Vec<(u32, String)> = Vec::new();
        for i in 0..n {
            if times.is_null(i) {
                late.push((i as u32, "the rowtime is NULL".into()));
                continue;
            }
            let bytes: &[u8] = if self.keys.is_empty() {
                &[]
            } else {
                rows.row(i).data()
            };
            let key = match self.index.get(bytes) {
                Some(k) => *k,
                None => {
                    let k = self.index.len();
                    self.index.insert(bytes.into(), k);
                    if !self.keys.is_empty() {
                        self.key_rows.push(rows.row(i));
                    }
                    self.sessions.push(Vec::new());
                    k
                }
            };
            by_key
                .entry(key)
                .or_default()
                .push((times.value(i), i as u32));
        }
        let gap = self.gap_ms;
        for (key, mut entries) in by_key {
            entries.sort_unstable();
            let mut open = std::mem::take(&mut self.sessions[key]);
            // Each row: late, or merged with the sessions its proto-session overlaps.
            let mut members: Vec<Vec<u32>> = vec![Vec::new(); open.len()];
            for (ts, row) in entries {
                let (lo, hi) = (ts, ts + gap);
                let overlapping: Vec<usize> = (0..open.len())
                    .filter(|s| open[*s].start < hi && lo < open[*s].end)
                    .collect();
                if overlapping.is_empty() && self.watermark.is_some_and(|wm| hi - 1 <= wm) {
                    use super::late::timestamp_text as t;
                    late.push((
                        row,
                        format!(
                            "session [{}, {}) of the row is behind the watermark ({}) and joins no open session",
                            t(lo),
                            t(hi),
                            self.watermark.map(t).unwrap_or_default()
                        ),
                    ));
                    continue;
                }
                let target = match overlapping.first() {
                    Some(t) => *t,
                    None => {
                        open.push(Session {
                            start: lo,
                            end: hi,
                            accumulators: self.new_accumulators()?,
                        });
                        members.push(Vec::new());
                        open.len() - 1
                    }
                };
                open[target].start = open[target].start.min(lo);
                open[target].end = open[target].end.max(hi);
                members[target].push(row);
                // Sessions the new row bridges merge into the first (highest index first).
                for other in overlapping.into_iter().skip(1).rev() {
                    let merged = open.remove(other);
                    let rows = members.remove(other);
                    Self::merge(&mut open[target], merged)?;
                    members[target].extend(rows);
                }
            }
            for (session, rows) in open.iter_mut().zip(&members) {
                if !rows.is_empty() {
                    let part = take_record_batch(&batch, &UInt32Array::from(rows.clone()))
                        .map_err(arrow_err)?;
                    self.update(session, &part)?;
                }
            }
            open.sort_by_key(|s| s.start);
            self.sessions[key] = open;
        }
        if !late.is_empty() {
            late.sort_unstable();
            let (rows, reasons) = late.into_iter().unzip();
            self.late
                .record(&batch, rows, reasons, self.watermark, metrics)?;
        }
        Ok(vec![])
    }

    fn process_watermark(
        &mut self,
        watermark: i64,
        metrics: &mut JobMetrics,
    ) -> Result<Vec<RecordBatch>> {
        if self.watermark.is_some_and(|w| w >= watermark) {
            return Ok(vec![]);
        }
        self.watermark = Some(watermark);
        // Every session whose end is at or behind the watermark, in order of end, then key.
        let mut fired: Vec<(i64, i64, usize, Session)> = Vec::new();
        for (key, sessions) in self.sessions.iter_mut().enumerate() {
            let (done, open): (Vec<Session>, Vec<Session>) = std::mem::take(sessions)
                .into_iter()
                .partition(|s| s.end - 1 <= watermark);
            *sessions = open;
            fired.extend(done.into_iter().map(|s| (s.end, s.start, key, s)));
        }
        if fired.is_empty() {
            return Ok(vec![]);
        }
        fired.sort_by_key(|(end, start, key, _)| (*end, *start, *key));
        let count = fired.len();
        let keys = if self.keys.is_empty() {
            vec![]
        } else {
            self.converter
                .convert_rows(fired.iter().map(|(_, _, k, _)| self.key_rows.row(*k)))
                .map_err(arrow_err)?
        };
        let bounds = |f: &dyn Fn(i64, i64) -> i64| -> ArrayRef {
            Arc::new(
                fired
                    .iter()
                    .map(|(e, s, _, _)| Some(f(*s, *e)))
                    .collect::<TimestampMillisecondArray>(),
            )
        };
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        for slot in &self.slots {
            columns.push(match slot {
                GroupSlot::WindowStart => bounds(&|s, _| s),
                GroupSlot::WindowEnd => bounds(&|_, e| e),
                GroupSlot::WindowTime => bounds(&|_, e| e - 1),
                GroupSlot::Key(i) => keys
                    .get(*i)
                    .cloned()
                    .ok_or_else(|| Error::Internal("missing key column".into()))?,
            });
        }
        for j in 0..self.aggregates.len() {
            let values = fired
                .iter_mut()
                .map(|(_, _, _, s)| s.accumulators[j].evaluate())
                .collect::<std::result::Result<Vec<ScalarValue>, _>>()
                .map_err(df)?;
            columns.push(ScalarValue::iter_to_array(values).map_err(df)?);
        }
        metrics.windows_fired += count as u64;
        Ok(vec![super::batch_of(&self.schema, columns, count)?])
    }

    /// One row per open session: the key columns (`__key<i>`), `__start`, `__end` and the
    /// accumulators' intermediate state (`__acc<i>`); the watermark in the metadata.
    fn snapshot(&mut self) -> Result<Option<RecordBatch>> {
        let mut owners = Vec::new();
        let mut bounds = Vec::new();
        let mut states = Vec::new();
        for (key, sessions) in self.sessions.iter_mut().enumerate() {
            for session in sessions.iter_mut() {
                owners.push(key);
                bounds.push((session.start, session.end));
                states.push(state::take_state(
                    &self.aggregates,
                    &mut session.accumulators,
                )?);
            }
        }
        let mut b = state::SnapshotBuilder::new(SNAPSHOT_KIND, owners.len());
        if let Some(wm) = self.watermark {
            b.meta(WATERMARK_KEY, wm);
        }
        if !self.keys.is_empty() {
            let keys = self
                .converter
                .convert_rows(owners.iter().map(|k| self.key_rows.row(*k)))
                .map_err(arrow_err)?;
            for (i, k) in keys.into_iter().enumerate() {
                b.column(format!("__key{i}"), k);
            }
        }
        let column = |f: fn(&(i64, i64)) -> i64| -> ArrayRef {
            Arc::new(TimestampMillisecondArray::from_iter_values(
                bounds.iter().map(f),
            ))
        };
        b.column("__start", column(|(s, _)| *s));
        b.column("__end", column(|(_, e)| *e));
        b.scalar_columns("__acc", &state::state_types(&self.aggregates)?, &states)?;
        Ok(Some(b.finish()?))
    }

    fn restore(&mut self, snapshot: &RecordBatch) -> Result<()> {
        let r = state::SnapshotReader::new(snapshot, SNAPSHOT_KIND)?;
        let keys = r.columns("__key", self.keys.len())?;
        let starts = r.millis("__start")?;
        let ends = r.millis("__end")?;
        let accs = r.columns("__acc", state::state_types(&self.aggregates)?.len())?;
        let rows = self.converter.convert_columns(&keys).map_err(arrow_err)?;
        self.index.clear();
        self.key_rows = self.converter.empty_rows(0, 0);
        self.sessions.clear();
        self.watermark = r.meta_i64(WATERMARK_KEY)?;
        for i in 0..r.rows() {
            let bytes: &[u8] = if self.keys.is_empty() {
                &[]
            } else {
                rows.row(i).data()
            };
            let key = match self.index.get(bytes) {
                Some(k) => *k,
                None => {
                    let k = self.index.len();
                    self.index.insert(bytes.into(), k);
                    if !self.keys.is_empty() {
                        self.key_rows.push(rows.row(i));
                    }
                    self.sessions.push(Vec::new());
                    k
                }
            };
            self.sessions[key].push(Session {
                start: starts[i],
                end: ends[i],
                accumulators: state::restore_accumulators(&self.aggregates, &accs, i)?,
            });
        }
        for sessions in &mut self.sessions {
            sessions.sort_by_key(|s| s.start);
        }
        Ok(())
    }
}

const SNAPSHOT_KIND: &str = "SessionAggregate";
const WATERMARK_KEY: &str = "weir.watermark";
