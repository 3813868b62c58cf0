//! IntervalJoin: Flink's time-interval join of two append-only streams on event time, `L
//! [INNER|LEFT|RIGHT|FULL] JOIN R ON L.k = R.k AND R.ts BETWEEN L.ts - INTERVAL ... AND L.ts +
//! INTERVAL ...`, as Flink 1.20's `RowTimeIntervalJoin` runs it. A pair matches when `lower <=
//! L.ts - R.ts <= upper` (Flink's `leftLowerBound`/`leftUpperBound`) and the rest of `ON` holds.
//! Each side keeps its rows by key and rowtime; an arriving row joins the other side's rows of
//! its key within its interval at once, and is kept while the other side can still bring it a
//! match. Once the join's watermark passes the end of a row's interval the row is forgotten
//! and, on an outer side, emitted padded with NULLs if it never matched: the result is
//! append-only. A row arriving when the watermark has already passed its interval joins
//! what is still kept but is not stored; an outer one without a match comes padded at once,
//! an inner one without a match is dropped and counted (`late_rows_dropped`; kept for
//! `weir.late-rows.table` when the job routes late rows). The output
//! watermark is held back by the longer reach of the two sides, as Flink holds it back.

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

/// A kept row: the row, and whether it has matched a row of the other side (Flink's
/// "emitted" flag: an outer row that has is never padded).
struct Kept {
    row: Box<[u8]>,
    matched: bool,
}

/// One side's kept rows: by key, then rowtime (for probing a key's interval), and the keys
/// with rows at each rowtime (for forgetting rows in time order).
#[derive(Default)]
struct SideRows {
    by_key: HashMap<Box<[u8]>, BTreeMap<i64, Vec<Kept>>>,
    by_time: BTreeMap<i64, Vec<Box<[u8]>>>,
}

impl SideRows {
    fn keep(&mut self, key: &[u8], time: i64, kept: Kept) {
        let times = self.by_key.entry(key.into()).or_default();
        let at = times.entry(time).or_default();
        if at.is_empty() {
            // The first row of this key at this time: register it for forgetting.
            self.by_time.entry(time).or_default().push(key.into());
        }
        at.push(kept);
    }

    fn rows(&self) -> usize {
        self.by_key
            .values()
            .flat_map(|t| t.values())
            .map(Vec::len)
            .sum()
    }
}

pub struct IntervalJoin {
    core: JoinCore,
    /// The rowtime column of each side's rows.
    left_time: usize,
    right_time: usize,
    /// A pair matches when `lower <= left.ts - right.ts <= upper` (milliseconds).
    lower: i64,
    upper: i64,
    /// The join's watermark (the smaller of its inputs').
    watermark: i64,
    left: SideRows,
    right: SideRows,
    /// Inner rows that arrived behind the watermark and matched nothing.
    late: LateRows,
}

impl IntervalJoin {
    #[allow(clippy::too_many_arguments)]
    pub fn try_new(
        left_keys: Vec<Arc<dyn PhysicalExpr>>,
        right_keys: Vec<Arc<dyn PhysicalExpr>>,
        key_types: Vec<DataType>,
        filter: Option<Arc<dyn PhysicalExpr>>,
        schema: &Schema,
        left_width: usize,
        join_type: JoinType,
        (left_time, right_time): (usize, usize),
        (lower, upper): (i64, i64),
    ) -> Result<Self> {
        Ok(Self {
            core: JoinCore::try_new(
                left_keys, right_keys, key_types, filter, schema, left_width, join_type,
            )?,
            left_time,
            right_time,
            lower,
            upper,
            watermark: i64::MIN,
            left: SideRows::default(),
            right: SideRows::default(),
            late: LateRows::of_inputs(),
        })
    }

    /// How long after its own rowtime a row of `side` can still be matched by a row of the
    /// other side (Flink's `leftRelativeSize` and `rightRelativeSize`).
    fn reach(&self, side: Side) -> i64 {
        match side {
            Side::Left => self.lower.saturating_neg(),
            Side::Right => self.upper,
        }
    }

    /// The rowtimes of the other side's rows that a row of `side` at `time` matches.
    fn interval(&self, side: Side, time: i64) -> (i64, i64) {
        match side {
            Side::Left => (
                time.saturating_sub(self.upper),
                time.saturating_sub(self.lower),
            ),
            Side::Right => (
                time.saturating_add(self.lower),
                time.saturating_add(self.upper),
            ),
        }
    }

    /// Flink's interval join with `lower > upper` matches nothing: rows are never kept.
    fn empty(&self) -> bool {
        self.lower > self.upper
    }

    /// Rows kept in the join's state, both sides.
    pub fn state_rows(&self) -> usize {
        self.left.rows() + self.right.rows()
    }

    /// Forgets the rows of `side` whose interval the watermark has passed; the padded rows of
    /// those that never matched, on an outer side.
    fn expire(&mut self, side: Side, watermark: i64) -> Vec<Box<[u8]>> {
        let reach = self.reach(side);
        let outer = self.core.join_type.outer(side);
        let rows = match side {
            Side::Left => &mut self.left,
            Side::Right => &mut self.right,
        };
        // Rows with `time + reach < watermark` go (Flink's expiration time is `watermark -
        // reach - 1`); all of them at the end of input.
        let expired = if watermark == i64::MAX {
            std::mem::take(&mut rows.by_time)
        } else {
            let keep = rows.by_time.split_off(&watermark.saturating_sub(reach));
            std::mem::replace(&mut rows.by_time, keep)
        };
        let mut padded = Vec::new();
        for (time, keys) in expired {
            for key in keys {
                let Some(times) = rows.by_key.get_mut(&key) else {
                    continue;
                };
                for kept in times.remove(&time).unwrap_or_default() {
                    if outer && !kept.matched {
                        padded.push(kept.row);
                    }
                }
                if times.is_empty() {
                    rows.by_key.remove(&key);
                }
            }
        }
        padded
    }
}

impl TwoInputOperator for IntervalJoin {
    fn process_batch(
        &mut self,
        side: Side,
        batch: RecordBatch,
        metrics: &mut JobMetrics,
    ) -> Result<Vec<RecordBatch>> {
        super::join::refuse_changelog(&batch)?;
        let n = batch.num_rows();
        let encoded = self.core.encode(side, &batch)?;
        let time_column = match side {
            Side::Left => self.left_time,
            Side::Right => self.right_time,
        };
        let times = event_time_millis(batch.column(time_column))?;
        let time = |i: usize| times.is_valid(i).then(|| times.value(i));
        let other = match side {
            Side::Left => &self.right,
            Side::Right => &self.left,
        };
        // Every (row, kept row of the other side in its interval): `(row, time, index)`.
        let mut candidates: Vec<(usize, i64, usize)> = Vec::new();
        let mut pairs: Vec<(&[u8], &[u8])> = Vec::new();
        for i in 0..n {
            let Some(t) = time(i).filter(|_| !encoded.null_key[i] && !self.empty()) else {
                continue;
            };
            let Some(times) = other.by_key.get(encoded.keys.row(i).data()) else {
                continue;
            };
            let (from, to) = self.interval(side, t);
            let row = encoded.rows.row(i).data();
            for (other_time, kept) in times.range(from..=to) {
                for (j, k) in kept.iter().enumerate() {
                    candidates.push((i, *other_time, j));
                    pairs.push(match side {
                        Side::Left => (row, &k.row),
                        Side::Right => (&k.row, row),
                    });
                }
            }
        }
        let ok = self.core.matches(&pairs)?;
        drop(pairs);
        let outer = self.core.join_type.outer(side);
        let reach = self.reach(side);
        // The output, row by row: its matches, then its padded row when it is not kept and
        // matched nothing. `keep`: the rows to store, with whether they matched.
        let mut out: Vec<Joined<'_>> = Vec::new();
        let mut matched_other: Vec<(usize, i64, usize)> = Vec::new();
        let mut keep: Vec<(usize, i64, bool)> = Vec::new();
        let (mut late, mut reasons) = (Vec::new(), Vec::new());
        let mut next = 0;
        for i in 0..n {
            let row = encoded.rows.row(i).data();
            let mut matched = false;
            while next < candidates.len() && candidates[next].0 == i {
                if ok[next] {
                    let (_, t, j) = candidates[next];
                    let theirs = other
                        .by_key
                        .get(encoded.keys.row(i).data())
                        .and_then(|times| times.get(&t))
                        .and_then(|kept| kept.get(j))
                        .map(|k| &*k.row);
                    out.push(match side {
                        Side::Left => (Some(row), theirs),
                        Side::Right => (theirs, Some(row)),
                    });
                    matched = true;
                    matched_other.push(candidates[next]);
                }
                next += 1;
            }
            // Kept while the other side may still bring a match (its watermark is behind the
            // end of the row's interval), as Flink keeps it.
            let kept = match time(i) {
                Some(t) if !self.empty() => self.watermark < t.saturating_add(reach),
                _ => false,
            };
            if kept {
                if let Some(t) = time(i) {
                    keep.push((i, t, matched));
                }
            } else if !matched {
                if outer {
                    out.push(match side {
                        Side::Left => (Some(row), None),
                        Side::Right => (None, Some(row)),
                    });
                } else if !self.empty() {
                    late.push(i as u32);
                    reasons.push(match time(i) {
                        None => "the rowtime is NULL".to_string(),
                        Some(t) => format!(
                            "the interval of the row (until {}) is behind the watermark ({}) and it matched no kept row",
                            timestamp_text(t.saturating_add(reach)),
                            timestamp_text(self.watermark)
                        ),
                    });
                }
            }
        }
        let joined = if out.is_empty() {
            None
        } else {
            Some(self.core.joined(&out)?)
        };
        drop(out);
        let watermark = (self.watermark > i64::MIN).then_some(self.watermark);
        self.late
            .record_side(side.name(), &batch, late, reasons, watermark, metrics)?;
        // Rows of the other side that matched are never padded.
        if self.core.join_type.outer(side.other()) {
            let other = match side {
                Side::Left => &mut self.right,
                Side::Right => &mut self.left,
            };
            for (i, t, j) in matched_other {
                if let Some(k) = other
                    .by_key
                    .get_mut(encoded.keys.row(i).data())
                    .and_then(|times| times.get_mut(&t))
                    .and_then(|kept| kept.get_mut(j))
                {
                    k.matched = true;
                }
            }
        }
        let own = match side {
            Side::Left => &mut self.left,
            Side::Right => &mut self.right,
        };
        for (i, t, matched) in keep {
            own.keep(
                encoded.keys.row(i).data(),
                t,
                Kept {
                    row: encoded.rows.row(i).data().into(),
                    matched,
                },
            );
        }
        Ok(joined.into_iter().collect())
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
        let left = self.expire(Side::Left, watermark);
        let right = self.expire(Side::Right, watermark);
        if left.is_empty() && right.is_empty() {
            return Ok(vec![]);
        }
        let out: Vec<Joined<'_>> = left
            .iter()
            .map(|l| (Some(&**l), None))
            .chain(right.iter().map(|r| (None, Some(&**r))))
            .collect();
        Ok(vec![self.core.joined(&out)?])
    }

    fn output_watermark(&self, watermark: i64) -> i64 {
        // Flink's KeyedCoProcessOperatorWithWatermarkDelay: a padded row may be as old as the
        // longer reach behind the watermark.
        if watermark == i64::MAX {
            return watermark;
        }
        let delay = self.reach(Side::Left).max(self.reach(Side::Right)).max(0);
        watermark.saturating_sub(delay)
    }

    fn snapshot(&mut self) -> Result<Option<RecordBatch>> {
        let mut sides = Vec::new();
        let mut times = Vec::new();
        let mut keys: Vec<&[u8]> = Vec::new();
        let mut rows: Vec<&[u8]> = Vec::new();
        let mut matched = Vec::new();
        for (side, state) in [(0i8, &self.left), (1i8, &self.right)] {
            for (key, by_time) in &state.by_key {
                for (time, kept) in by_time {
                    for k in kept {
                        sides.push(side);
                        times.push(*time);
                        keys.push(key);
                        rows.push(&k.row);
                        matched.push(k.matched);
                    }
                }
            }
        }
        let mut b = SnapshotBuilder::new(SNAPSHOT_KIND, sides.len());
        b.column("__side", Arc::new(Int8Array::from(sides)));
        b.column("__time", Arc::new(Int64Array::from(times)));
        b.column("__key", Arc::new(BinaryArray::from_iter_values(keys)));
        b.column("__row", Arc::new(BinaryArray::from_iter_values(rows)));
        b.column("__matched", Arc::new(BooleanArray::from(matched)));
        b.meta(WATERMARK_KEY, self.watermark);
        Ok(Some(b.finish()?))
    }

    fn restore(&mut self, state: &RecordBatch) -> Result<()> {
        let r = SnapshotReader::new(state, SNAPSHOT_KIND)?;
        let sides = r.primitive::<arrow::datatypes::Int8Type>("__side")?;
        let times = r.primitive::<arrow::datatypes::Int64Type>("__time")?;
        let keys = r.binary("__key")?;
        let rows = r.binary("__row")?;
        let matched = r.boolean("__matched")?;
        if let Some(wm) = r.meta_i64(WATERMARK_KEY)? {
            self.watermark = wm;
        }
        for i in 0..r.rows() {
            let target = if sides.value(i) == 0 {
                &mut self.left
            } else {
                &mut self.right
            };
            target.keep(
                keys.value(i),
                times.value(i),
                Kept {
                    row: rows.value(i).into(),
                    matched: matched.value(i),
                },
            );
        }
        Ok(())
    }
}

/// The operator kind named in an interval join's snapshot, and its watermark's metadata key.
const SNAPSHOT_KIND: &str = "IntervalJoin";
const WATERMARK_KEY: &str = "weir.watermark";

impl fmt::Display for IntervalJoin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IntervalJoin ({}): ", self.core.join_type.name())?;
        super::join::describe_core(&self.core, f)?;
        write!(
            f,
            ", left rowtime #{} - right rowtime #{} between {} ms and {} ms",
            self.left_time, self.right_time, self.lower, self.upper
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operators::join::tests::{key, lines, run, Step};

    fn side_fields(prefix: &str) -> Vec<arrow::datatypes::Field> {
        crate::operators::join::tests::side_fields(prefix, "ts")
    }

    fn rows(prefix: &str, rows: &[(&str, i64, i64)]) -> RecordBatch {
        crate::operators::join::tests::side_rows(prefix, "ts", rows)
    }

    /// `r.ts BETWEEN l.ts - 5 AND l.ts + 10`, i.e. `-10 <= l.ts - r.ts <= 5`.
    fn join(join_type: JoinType) -> IntervalJoin {
        let mut fields = side_fields("l");
        fields.extend(side_fields("r"));
        IntervalJoin::try_new(
            key(0),
            key(0),
            vec![DataType::Utf8],
            None,
            &Schema::new(fields),
            3,
            join_type,
            (2, 2),
            (-10, 5),
        )
        .unwrap()
    }

    fn script() -> Vec<Step> {
        vec![
            Step::Rows(
                Side::Left,
                rows("l", &[("a", 1, 100), ("b", 2, 100), ("a", 3, 120)]),
            ),
            // a 10 matches a@100 (l.ts - r.ts = -5), not a@120 (15 > 5).
            Step::Rows(Side::Right, rows("r", &[("a", 10, 105), ("c", 30, 100)])),
            Step::Watermark(101),
            // Snapshot here in the tests below.
            // a 11 at 118 matches a@120 (2) and not a@100 (-18 < -10).
            Step::Rows(Side::Right, rows("r", &[("a", 11, 118), ("b", 21, 200)])),
            // Left rows with ts + 10 < 111 and right rows with ts + 5 < 111 go: a@100 and a 10
            // matched and are not padded, b@100 and c 30 never did and are.
            Step::Watermark(111),
            // Late: a left row at 90 can only match right rows up to 100: not kept; it
            // matches nothing kept and is padded (LEFT) or dropped (INNER).
            Step::Rows(Side::Left, rows("l", &[("c", 4, 90)])),
            // b@200 would match a left row in [190, 210]; b@205 comes and matches.
            Step::Rows(Side::Left, rows("l", &[("b", 5, 205)])),
            Step::Watermark(i64::MAX),
        ]
    }

    fn t(ms: i64) -> String {
        crate::operators::late::timestamp_text(ms)
    }

    #[test]
    fn rows_join_within_their_interval_and_outer_rows_are_padded_once_it_passed() {
        let mut m = JobMetrics::default();
        let mut op = join(JoinType::Full);
        let out = run(&mut op, script(), &mut m);
        assert_eq!(
            out,
            [
                format!("+I a 1 {} a 10 {}", t(100), t(105)),
                format!("+I a 3 {} a 11 {}", t(120), t(118)),
                // Watermark 111: left rows with ts + 10 < 111, right rows with ts + 5 < 111.
                format!("+I b 2 {} NULL NULL NULL", t(100)),
                format!("+I NULL NULL NULL c 30 {}", t(100)),
                // The late row: padded at once.
                format!("+I c 4 {} NULL NULL NULL", t(90)),
                format!("+I b 5 {} b 21 {}", t(205), t(200)),
            ]
        );
        assert_eq!(m.late_rows_dropped, 0);
        assert_eq!(op.state_rows(), 0);
    }

    #[test]
    fn inner_join_drops_and_counts_late_rows_and_forgets_expired_ones() {
        let mut m = JobMetrics::default();
        let mut op = join(JoinType::Inner);
        let out = run(&mut op, script(), &mut m);
        assert_eq!(
            out,
            [
                format!("+I a 1 {} a 10 {}", t(100), t(105)),
                format!("+I a 3 {} a 11 {}", t(120), t(118)),
                format!("+I b 5 {} b 21 {}", t(205), t(200)),
            ]
        );
        assert_eq!(m.late_rows_dropped, 1);
        assert_eq!(op.state_rows(), 0);
        // A right row at 100 is forgotten once the watermark passes 105: a left row at 95,
        // which would match it, arrives after that and finds nothing (and is late itself:
        // right rows up to 105 are all it could match).
        let mut op = join(JoinType::Inner);
        op.process_batch(Side::Right, rows("r", &[("a", 1, 100)]), &mut m)
            .unwrap();
        assert_eq!(op.state_rows(), 1);
        op.process_watermark(106, &mut m).unwrap();
        assert_eq!(op.state_rows(), 0);
        let out = op
            .process_batch(Side::Left, rows("l", &[("a", 2, 95)]), &mut m)
            .unwrap();
        assert!(out.is_empty());
        assert_eq!(m.late_rows_dropped, 2);
    }

    #[test]
    fn the_output_watermark_is_held_back_by_the_longer_reach() {
        let op = join(JoinType::Left);
        assert_eq!(op.output_watermark(1000), 990);
        assert_eq!(op.output_watermark(i64::MAX), i64::MAX);
    }

    #[test]
    fn bounds_that_cannot_hold_match_nothing_and_pad_at_once() {
        let mut fields = side_fields("l");
        fields.extend(side_fields("r"));
        let mut op = IntervalJoin::try_new(
            key(0),
            key(0),
            vec![DataType::Utf8],
            None,
            &Schema::new(fields),
            3,
            JoinType::Left,
            (2, 2),
            (5, -5),
        )
        .unwrap();
        let mut m = JobMetrics::default();
        op.process_batch(Side::Right, rows("r", &[("a", 1, 100)]), &mut m)
            .unwrap();
        let out = op
            .process_batch(Side::Left, rows("l", &[("a", 2, 100)]), &mut m)
            .unwrap();
        assert_eq!(lines(&out), [format!("+I a 2 {} NULL NULL NULL", t(100))]);
        assert_eq!(op.state_rows(), 0);
    }

    #[test]
    fn snapshot_and_restore_mid_stream_give_the_same_output() {
        for join_type in [JoinType::Left, JoinType::Right, JoinType::Full] {
            let mut m = JobMetrics::default();
            let expected = run(&mut join(join_type), script(), &mut m);
            let mut steps = script();
            let rest = steps.split_off(3);
            let mut first = join(join_type);
            let mut got = run(&mut first, steps, &mut m);
            let state = first.snapshot().unwrap().unwrap();
            assert_eq!(state.num_rows(), first.state_rows());
            assert!(state.num_rows() > 0);
            let mut restored = join(join_type);
            restored.restore(&state).unwrap();
            let after = run(&mut restored, rest, &mut m);
            // Without the state, the rows after the split differ.
            let without = run(&mut join(join_type), script().split_off(3), &mut m);
            assert_ne!(after, without, "{join_type:?}");
            got.extend(after);
            assert_eq!(got, expected, "{join_type:?}");
        }
    }
}
