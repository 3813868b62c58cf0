//! Recognises Flink's interval-join condition in a join's `ON`, as Flink's `IntervalJoinUtil`
//! extracts it: the conjuncts comparing a rowtime of one input with a rowtime of the other
//! (`<`, `<=`, `>`, `>=`, `BETWEEN`, with `+`/`-` intervals on either side), two of them
//! bounding the left rowtime from below and from above, or a single equality. Anything else
//! (one bound, two lower bounds, three time conditions, a condition that also reads other
//! columns) leaves the join a regular join, as in Flink.

use std::sync::Arc;

use arrow::array::{new_null_array, Array, ArrayRef, TimestampMillisecondArray};
use arrow::datatypes::{Field, Schema};
use arrow::record_batch::RecordBatch;
use datafusion::common::{Column, DFSchema};
use datafusion::logical_expr::{BinaryExpr, Expr, Join, LogicalPlan, Operator as Op};

use super::{reference_key, Converter};
use crate::operators::join::Side;
use crate::operators::window_assigner::event_time_millis;

/// An interval join's time condition: `lower <= left.ts - right.ts <= upper` (milliseconds,
/// Flink's `leftLowerBound` and `leftUpperBound`), on these rowtime columns of each input.
pub(super) struct IntervalBounds {
    pub left_time: usize,
    pub right_time: usize,
    pub lower: i64,
    pub upper: i64,
}

/// A comparison of one input's rowtime with the other's.
struct TimePredicate {
    op: Op,
    /// Whether the left input's rowtime is on the left of the comparison.
    left_first: bool,
    left_time: usize,
    right_time: usize,
    /// Both sides evaluated with the rowtimes at 0, as Flink reduces them; `None` when they
    /// do not reduce to a time.
    values: Option<(i64, i64)>,
}

impl TimePredicate {
    /// Flink's `computeWindowBoundFromPredicate`: the bound on `left.ts - right.ts` and
    /// whether it is the lower one.
    fn bound(&self) -> Option<(i64, bool)> {
        let (lhs, rhs) = self.values?;
        let lower = match self.op {
            Op::Gt | Op::GtEq => self.left_first,
            Op::Lt | Op::LtEq => !self.left_first,
            _ => true,
        };
        let offset = if self.left_first {
            rhs.checked_sub(lhs)?
        } else {
            lhs.checked_sub(rhs)?
        };
        let bound = match (self.op, self.left_first) {
            (Op::Lt, true) | (Op::Gt, false) => offset.checked_sub(1)?,
            (Op::Lt, false) | (Op::Gt, true) => offset.checked_add(1)?,
            _ => offset,
        };
        Some((bound, lower))
    }
}

/// Whether `column` of `plan` is a table's rowtime (its WATERMARK column) passed through
/// unchanged (renamed, filtered): what Flink keeps as a time attribute.
fn is_rowtime(plan: &LogicalPlan, column: &str, converter: &Converter<'_>) -> bool {
    match plan {
        LogicalPlan::SubqueryAlias(s) => is_rowtime(&s.input, column, converter),
        LogicalPlan::Filter(f) => is_rowtime(&f.input, column, converter),
        LogicalPlan::Projection(p) => p.expr.iter().zip(p.schema.fields()).any(|(e, f)| {
            let mut e = e;
            while let Expr::Alias(a) = e {
                e = &a.expr;
            }
            f.name() == column
                && matches!(e, Expr::Column(c) if is_rowtime(&p.input, &c.name, converter))
        }),
        LogicalPlan::TableScan(scan) => converter
            .catalog
            .get(&reference_key(&scan.table_name))
            .and_then(|def| def.watermark.as_ref())
            .is_some_and(|w| w.column == column),
        _ => false,
    }
}

/// Finds the interval condition of `j`: when there is one (and an equality key remains),
/// its conditions leave `on` and `residual`.
pub(super) fn extract(
    converter: &Converter<'_>,
    j: &Join,
    on: &mut Vec<(Expr, Expr)>,
    residual: &mut Vec<Expr>,
) -> Option<IntervalBounds> {
    // The input and position of a rowtime column of the join.
    let rowtime = |c: &Column| -> Option<(Side, usize)> {
        for (side, plan) in [(Side::Left, &j.left), (Side::Right, &j.right)] {
            if let Ok(i) = plan.schema().index_of_column(c) {
                return is_rowtime(plan, &c.name, converter).then_some((side, i));
            }
        }
        None
    };
    // Every conjunct, BETWEEN split in two as Calcite splits it; `Some(i)`: the equality of
    // columns `on[i]`, taken as a key unless it compares the rowtimes. An equality with an
    // expression (`A.ts = P.ts + INTERVAL ...`) stays a key: Flink computes the expression
    // into a column first, so it is a regular join there too.
    let mut parts: Vec<(Expr, Option<usize>)> = Vec::new();
    for (i, (l, r)) in on.iter().enumerate() {
        if let (Expr::Column(_), Expr::Column(_)) = (l, r) {
            parts.push((l.clone().eq(r.clone()), Some(i)));
        }
    }
    for e in residual.iter() {
        match e {
            Expr::Between(b) if !b.negated => {
                parts.push(((*b.expr).clone().gt_eq((*b.low).clone()), None));
                parts.push(((*b.expr).clone().lt_eq((*b.high).clone()), None));
            }
            other => parts.push((other.clone(), None)),
        }
    }
    let mut time = Vec::new();
    let mut rest = Vec::new();
    for (e, from) in parts {
        match time_predicate(converter, j, &e, &rowtime) {
            Some(p) => time.push((p, from)),
            None if from.is_none() => rest.push(e),
            None => {}
        }
    }
    // Flink's rules: one equality, or two range conditions, one bounding from below and one
    // from above.
    let (lower, upper) = match time.as_slice() {
        [(p, _)] if p.op == Op::Eq => {
            let (b, _) = p.bound()?;
            (b, b)
        }
        [(a, _), (b, _)] if a.op != Op::Eq && b.op != Op::Eq => match (a.bound()?, b.bound()?) {
            ((x, true), (y, false)) | ((y, false), (x, true)) => (x, y),
            _ => return None,
        },
        _ => return None,
    };
    let taken: Vec<usize> = time.iter().filter_map(|(_, from)| *from).collect();
    if taken.len() == on.len() {
        // Weir's joins need an equality key besides the time condition.
        return None;
    }
    let first = &time[0].0;
    let bounds = IntervalBounds {
        left_time: first.left_time,
        right_time: first.right_time,
        lower,
        upper,
    };
    let mut i = 0;
    on.retain(|_| {
        i += 1;
        !taken.contains(&(i - 1))
    });
    *residual = rest;
    Some(bounds)
}

/// `e` as a comparison of the two inputs' rowtimes (Flink's `identifyTimePredicate`): each
/// side of the comparison reads exactly one rowtime and no other column, from different
/// inputs.
fn time_predicate(
    converter: &Converter<'_>,
    j: &Join,
    e: &Expr,
    rowtime: &dyn Fn(&Column) -> Option<(Side, usize)>,
) -> Option<TimePredicate> {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = e else {
        return None;
    };
    if !matches!(op, Op::Eq | Op::Lt | Op::LtEq | Op::Gt | Op::GtEq) {
        return None;
    }
    let single = |side: &Expr| -> Option<(Side, usize, Column)> {
        let refs: Vec<&Column> = side.column_refs().into_iter().collect();
        let [c] = refs[..] else {
            return None;
        };
        let (s, i) = rowtime(c)?;
        Some((s, i, c.clone()))
    };
    let ((ls, li, lc), (rs, ri, rc)) = (single(left)?, single(right)?);
    if ls == rs {
        return None;
    }
    let left_first = ls == Side::Left;
    let (left_time, right_time) = if left_first { (li, ri) } else { (ri, li) };
    let values = offset(converter, &j.schema, left, &[&lc, &rc]).zip(offset(
        converter,
        &j.schema,
        right,
        &[&lc, &rc],
    ));
    Some(TimePredicate {
        op: *op,
        left_first,
        left_time,
        right_time,
        values,
    })
}

/// `e` evaluated with the rowtime columns `times` at 0 (milliseconds), as Flink's
/// `reduceTimeExpression` reduces a time condition's sides to constants.
fn offset(
    converter: &Converter<'_>,
    schema: &DFSchema,
    e: &Expr,
    times: &[&Column],
) -> Option<i64> {
    let physical = converter.physical(e, schema).ok()?;
    let positions: Vec<usize> = times
        .iter()
        .filter_map(|c| schema.index_of_column(c).ok())
        .collect();
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_nullable(true))
        .collect();
    let zero: ArrayRef = Arc::new(TimestampMillisecondArray::from(vec![0]));
    let columns = fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            if positions.contains(&i) {
                arrow::compute::cast(&zero, f.data_type()).ok()
            } else {
                Some(new_null_array(f.data_type(), 1))
            }
        })
        .collect::<Option<Vec<_>>>()?;
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).ok()?;
    let value = physical.evaluate(&batch).ok()?.into_array(1).ok()?;
    let ms = event_time_millis(&value).ok()?;
    (ms.len() == 1 && ms.is_valid(0)).then(|| ms.value(0))
}
