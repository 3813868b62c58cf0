//! WindowJoin: Flink's window join, `TABLE(TUMBLE(...)) L [INNER|LEFT|RIGHT|FULL] JOIN
//! TABLE(TUMBLE(...)) R ON L.window_start = R.window_start AND L.window_end = R.window_end AND
//! L.k = R.k` (also HOP and CUMULATE, and window aggregations on either side). Each side's
//! rows wait in their window; when the watermark reaches `window_end - 1` the window's rows
//! are joined per key, as Flink's `WindowJoinOperator` joins them, and forgotten. The result
//! is append-only: an outer row without a match is emitted once, padded with NULLs. A row
//! whose window has already fired is late: dropped and counted (`late_rows_dropped`), and
//! kept for `weir.late-rows.table` when the job routes late rows.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use arrow::array::{Array, BinaryArray, BooleanArray, Int64Array, Int8Array};
use arrow::datatypes::{DataType, Schema};
use arrow::record_batch::RecordBatch;
use datafusion::physical_expr::PhysicalExpr;
use weir_api::JobMetrics;

use super::join::{JoinCore, JoinType, Joined, Side};
use super::late::{timestamp_text, LateRows};
use super::state::{SnapshotBuilder, SnapshotReader};
use super::window_assigner::event_time_millis;
use super::TwoInputOperator;
use crate::Result;

/// A row waiting for its window: its join key, the row, and whether its key has a NULL.
struct Waiting {
    key: Box<[u8]>,
    row: Box<[u8]>,
    null_key: bool,
}

pub struct WindowJoin {
    core: JoinCore,
    /// The `window_end` column of each side's rows.
    left_end: usize,
    right_end: usize,
    watermark: i64,
    left: BTreeMap<i64, Vec<Waiting>>,
    right: BTreeMap<i64, Vec<Waiting>>,
    /// Rows whose window had fired.
    late: LateRows,
}

impl WindowJoin {
    #[allow(clippy::too_many_arguments)]
    pub fn try_new(
        left_keys: Vec<Arc<dyn PhysicalExpr>>,
        right_keys: Vec<Arc<dyn PhysicalExpr>>,
        key_types: Vec<DataType>,
        filter: Option<Arc<dyn PhysicalExpr>>,
        schema: &Schema,
        left_width: usize,
        join_type: JoinType,
        left_end: usize,
        right_end: usize,
    ) -> Result<Self> {
        Ok(Self {
            core: JoinCore::try_new(
                left_keys, right_keys, key_types, filter, schema, left_width, join_type,
            )?,
            left_end,
            right_end,
            watermark: i64::MIN,
            left: BTreeMap::new(),
            right: BTreeMap::new(),
            late: LateRows::of_inputs(),
        })
    }

    /// Joins the rows of one window, key by key, as Flink's window join operators do.
    fn join_window(&self, left: &[Waiting], right: &[Waiting]) -> Result<Option<RecordBatch>> {
        // Rows by key, keys in order of first arrival; a NULL key is a group of its own.
        let mut groups: Vec<(Vec<usize>, Vec<usize>)> = Vec::new();
        let mut index: HashMap<&[u8], usize> = HashMap::new();
        for (side, rows) in [(0, left), (1, right)] {
            for (i, w) in rows.iter().enumerate() {
                let g = if w.null_key {
                    groups.push((vec![], vec![]));
                    groups.len() - 1
                } else {
                    *index.entry(&w.key).or_insert_with(|| {
                        groups.push((vec![], vec![]));
                        groups.len() - 1
                    })
                };
                if side == 0 {
                    groups[g].0.push(i);
                } else {
                    groups[g].1.push(i);
                }
            }
        }
        let mut pairs = Vec::new();
        for (ls, rs) in &groups {
            for l in ls {
                for r in rs {
                    pairs.push((&*left[*l].row, &*right[*r].row));
                }
            }
        }
        let ok = self.core.matches(&pairs)?;
        let jt = self.core.join_type;
        let mut out: Vec<Joined<'_>> = Vec::new();
        let mut p = 0;
        for (ls, rs) in &groups {
            // The pair (ls[a], rs[b]) is ok[base + a * rs.len() + b].
            let base = p;
            p += ls.len() * rs.len();
            let m = |a: usize, b: usize| ok[base + a * rs.len() + b];
            match jt {
                JoinType::Inner | JoinType::Left | JoinType::Full => {
                    let mut right_matched = vec![false; rs.len()];
                    for (a, l) in ls.iter().enumerate() {
                        let mut matched = false;
                        for (b, r) in rs.iter().enumerate() {
                            if m(a, b) {
                                out.push((Some(&left[*l].row), Some(&right[*r].row)));
                                matched = true;
                                right_matched[b] = true;
                            }
                        }
                        if !matched && jt != JoinType::Inner {
                            out.push((Some(&left[*l].row), None));
                        }
                    }
                    if jt == JoinType::Full {
                        for (b, r) in rs.iter().enumerate() {
                            if !right_matched[b] {
                                out.push((None, Some(&right[*r].row)));
                            }
                        }
                    }
                }
                JoinType::Right => {
                    for (b, r) in rs.iter().enumerate() {
                        let mut matched = false;
                        for (a, l) in ls.iter().enumerate() {
                            if m(a, b) {
                                out.push((Some(&left[*l].row), Some(&right[*r].row)));
                                matched = true;
                            }
                        }
                        if !matched {
                            out.push((None, Some(&right[*r].row)));
                        }
                    }
                }
            }
        }
        if out.is_empty() {
            return Ok(None);
        }
        Ok(Some(self.core.joined(&out)?))
    }
}

impl TwoInputOperator for WindowJoin {
    fn process_batch(
        &mut self,
        side: Side,
        batch: RecordBatch,
        metrics: &mut JobMetrics,
    ) -> Result<Vec<RecordBatch>> {
        super::join::refuse_changelog(&batch)?;
        let encoded = self.core.encode(side, &batch)?;
        let (end_column, state) = match side {
            Side::Left => (self.left_end, &mut self.left),
            Side::Right => (self.right_end, &mut self.right),
        };
        let ends = event_time_millis(batch.column(end_column))?;
        let mut late = Vec::new();
        let mut reasons = Vec::new();
        for i in 0..batch.num_rows() {
            // A window's rows are complete once it fired: later ones are late.
            let Some(end) = ends.is_valid(i).then(|| ends.value(i)) else {
                late.push(i as u32);
                reasons.push("the rowtime is NULL".to_string());
                continue;
            };
            if end - 1 <= self.watermark {
                late.push(i as u32);
                reasons.push(format!(
                    "its window ending at {} has fired (watermark {})",
                    timestamp_text(end),
                    timestamp_text(self.watermark)
                ));
                continue;
            }
            state.entry(end).or_default().push(Waiting {
                key: encoded.keys.row(i).data().into(),
                row: encoded.rows.row(i).data().into(),
                null_key: encoded.null_key[i],
            });
        }
        let watermark = (self.watermark > i64::MIN).then_some(self.watermark);
        self.late
            .record_side(side.name(), &batch, late, reasons, watermark, metrics)?;
        Ok(vec![])
    }

    fn late_rows(&mut self) -> Option<&mut LateRows> {
        Some(&mut self.late)
    }

    fn process_watermark(
        &mut self,
        watermark: i64,
        _: &mut JobMetrics,
    ) -> Result<Vec<RecordBatch>> {
        if watermark <= self.watermark {
            return Ok(vec![]);
        }
        self.watermark = watermark;
        // Windows whose end - 1 <= watermark fire, in order of their end.
        let Some(bound) = watermark.checked_add(2) else {
            let left = std::mem::take(&mut self.left);
            let right = std::mem::take(&mut self.right);
            return self.fire(left, right);
        };
        let left_rest = self.left.split_off(&bound);
        let right_rest = self.right.split_off(&bound);
        let left = std::mem::replace(&mut self.left, left_rest);
        let right = std::mem::replace(&mut self.right, right_rest);
        self.fire(left, right)
    }

    fn snapshot(&mut self) -> Result<Option<RecordBatch>> {
        let mut sides = Vec::new();
        let mut ends = Vec::new();
        let mut keys: Vec<&[u8]> = Vec::new();
        let mut rows: Vec<&[u8]> = Vec::new();
        let mut nulls = Vec::new();
        for (side, state) in [(0i8, &self.left), (1i8, &self.right)] {
            for (end, waiting) in state {
                for w in waiting {
                    sides.push(side);
                    ends.push(*end);
                    keys.push(&w.key);
                    rows.push(&w.row);
                    nulls.push(w.null_key);
                }
            }
        }
        let mut b = SnapshotBuilder::new(SNAPSHOT_KIND, sides.len());
        b.column("__side", Arc::new(Int8Array::from(sides)));
        b.column("__window_end", Arc::new(Int64Array::from(ends)));
        b.column("__key", Arc::new(BinaryArray::from_iter_values(keys)));
        b.column("__row", Arc::new(BinaryArray::from_iter_values(rows)));
        b.column("__null_key", Arc::new(BooleanArray::from(nulls)));
        b.meta(WATERMARK_KEY, self.watermark);
        Ok(Some(b.finish()?))
    }

    fn restore(&mut self, state: &RecordBatch) -> Result<()> {
        let r = SnapshotReader::new(state, SNAPSHOT_KIND)?;
        let sides = r.primitive::<arrow::datatypes::Int8Type>("__side")?;
        let ends = r.primitive::<arrow::datatypes::Int64Type>("__window_end")?;
        let keys = r.binary("__key")?;
        let rows = r.binary("__row")?;
        let nulls = r.boolean("__null_key")?;
        if let Some(wm) = r.meta_i64(WATERMARK_KEY)? {
            self.watermark = wm;
        }
        for i in 0..r.rows() {
            let target = if sides.value(i) == 0 {
                &mut self.left
            } else {
                &mut self.right
            };
            target.entry(ends.value(i)).or_default().push(Waiting {
                key: keys.value(i).into(),
                row: rows.value(i).into(),
                null_key: nulls.value(i),
            });
        }
        Ok(())
    }
}

/// The operator kind named in a window join's snapshot, and its watermark's metadata key.
const SNAPSHOT_KIND: &str = "WindowJoin";
const WATERMARK_KEY: &str = "weir.watermark";

impl WindowJoin {
    fn fire(
        &self,
        mut left: BTreeMap<i64, Vec<Waiting>>,
        mut right: BTreeMap<i64, Vec<Waiting>>,
    ) -> Result<Vec<RecordBatch>> {
        let mut ends: Vec<i64> = left.keys().chain(right.keys()).copied().collect();
        ends.sort_unstable();
        ends.dedup();
        let mut out = Vec::new();
        for end in ends {
            let l = left.remove(&end).unwrap_or_default();
            let r = right.remove(&end).unwrap_or_default();
            out.extend(self.join_window(&l, &r)?);
        }
        Ok(out)
    }
}

impl fmt::Display for WindowJoin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WindowJoin ({}): ", self.core.join_type.name())?;
        super::join::describe_core(&self.core, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operators::join::tests::{key, run, Step};

    fn side_fields(prefix: &str) -> Vec<arrow::datatypes::Field> {
        crate::operators::join::tests::side_fields(prefix, "window_end")
    }

    fn rows(prefix: &str, rows: &[(&str, i64, i64)]) -> RecordBatch {
        crate::operators::join::tests::side_rows(prefix, "window_end", rows)
    }

    fn join(join_type: JoinType) -> WindowJoin {
        let mut fields = side_fields("l");
        fields.extend(side_fields("r"));
        WindowJoin::try_new(
            key(0),
            key(0),
            vec![DataType::Utf8],
            None,
            &Schema::new(fields),
            3,
            join_type,
            2,
            2,
        )
        .unwrap()
    }

    fn script() -> Vec<Step> {
        vec![
            Step::Rows(
                Side::Left,
                rows("l", &[("a", 1, 10), ("b", 2, 10), ("a", 3, 20)]),
            ),
            Step::Rows(Side::Right, rows("r", &[("a", 10, 10), ("c", 30, 10)])),
            Step::Watermark(5),
            // Snapshot here in the test below.
            Step::Rows(Side::Right, rows("r", &[("a", 11, 20), ("b", 21, 10)])),
            Step::Watermark(9),
            // The window ending at 10 has fired: these are late.
            Step::Rows(Side::Left, rows("l", &[("c", 4, 10)])),
            Step::Rows(Side::Right, rows("r", &[("b", 22, 10)])),
            Step::Watermark(i64::MAX),
        ]
    }

    #[test]
    fn windows_join_when_the_watermark_passes_their_end_and_late_rows_are_dropped() {
        let mut m = JobMetrics::default();
        let out = run(&mut join(JoinType::Full), script(), &mut m);
        let w10 = "1970-01-01 00:00:00.010";
        let w20 = "1970-01-01 00:00:00.020";
        assert_eq!(
            out,
            [
                format!("+I a 1 {w10} a 10 {w10}"),
                format!("+I b 2 {w10} b 21 {w10}"),
                format!("+I NULL NULL NULL c 30 {w10}"),
                format!("+I a 3 {w20} a 11 {w20}"),
            ]
        );
        assert_eq!(m.late_rows_dropped, 2);
    }

    #[test]
    fn snapshot_and_restore_mid_stream_give_the_same_output() {
        let mut m = JobMetrics::default();
        let expected = run(&mut join(JoinType::Left), script(), &mut m);
        let mut steps = script();
        let rest = steps.split_off(3);
        let mut first = join(JoinType::Left);
        let mut got = run(&mut first, steps, &mut m);
        let state = first.snapshot().unwrap().unwrap();
        let mut restored = join(JoinType::Left);
        restored.restore(&state).unwrap();
        let mut late = JobMetrics::default();
        got.extend(run(&mut restored, rest, &mut late));
        assert_eq!(got, expected);
        // The restored watermark still makes the late rows late.
        assert_eq!(late.late_rows_dropped, 2);
    }
}
