//! `AVG` as Flink types it: the average of an integer column (TINYINT, SMALLINT, INT, BIGINT)
//! is of the column's type, the sum (a BIGINT that wraps on overflow) divided by the count
//! and truncated toward zero. Other types are DataFusion's `AVG`. Registered under the name
//! `avg`, so it replaces DataFusion's for every query. Its state, `(count, sum)`, merges, so
//! window panes and snapshots work as for any aggregate.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array};
use arrow::datatypes::{DataType, Field, FieldRef, Int64Type};
use datafusion::common::{plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility,
};

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FlinkAvg {
    inner: Arc<AggregateUDF>,
    signature: Signature,
    aliases: Vec<String>,
}

impl FlinkAvg {
    pub fn new() -> Self {
        Self {
            inner: datafusion::functions_aggregate::average::avg_udaf(),
            signature: Signature::user_defined(Volatility::Immutable),
            aliases: vec!["mean".into()],
        }
    }
}

impl Default for FlinkAvg {
    fn default() -> Self {
        Self::new()
    }
}

fn integer(dt: &DataType) -> bool {
    dt.is_integer()
}

impl AggregateUDFImpl for FlinkAvg {
    fn name(&self) -> &str {
        "avg"
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let [t] = arg_types else {
            return plan_err!("AVG takes one argument");
        };
        Ok(vec![match t {
            t if integer(t) => t.clone(),
            DataType::Decimal32(..)
            | DataType::Decimal64(..)
            | DataType::Decimal128(..)
            | DataType::Decimal256(..)
            | DataType::Duration(_) => t.clone(),
            DataType::Float16 | DataType::Float32 | DataType::Float64 | DataType::Null => {
                DataType::Float64
            }
            other => {
                return plan_err!(
                    "AVG takes a number, not {}",
                    crate::sql::types::SqlType::flink_name_of(other)
                )
            }
        }])
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [t] if integer(t) => Ok(t.clone()),
            _ => self.inner.return_type(arg_types),
        }
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let input = args.expr_fields[0].data_type();
        if integer(input) {
            return Ok(Box::new(IntAvg {
                sum: 0,
                count: 0,
                distinct: args.is_distinct.then(HashSet::new),
                out: args.return_type().clone(),
            }));
        }
        self.inner.accumulator(args)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let input = args.input_fields[0].data_type();
        if !integer(input) {
            return self.inner.state_fields(args);
        }
        let field = |name: &str, dt: DataType| -> FieldRef {
            Arc::new(Field::new(format!("{}[{name}]", args.name), dt, true))
        };
        Ok(if args.is_distinct {
            vec![field(
                "distinct",
                DataType::List(Arc::new(Field::new_list_field(DataType::Int64, true))),
            )]
        } else {
            vec![
                field("count", DataType::Int64),
                field("sum", DataType::Int64),
            ]
        })
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        let input = args.expr_fields[0].data_type();
        if integer(input) {
            return !args.is_distinct;
        }
        self.inner.groups_accumulator_supported(args)
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        let input = args.expr_fields[0].data_type();
        if integer(input) {
            return Ok(Box::new(IntAvgGroups {
                sums: vec![],
                counts: vec![],
                out: args.return_type().clone(),
            }));
        }
        self.inner.create_groups_accumulator(args)
    }
}

/// `sum / count` truncated toward zero, of `out`'s type; NULL for no values.
fn averages(sums: &[i64], counts: &[i64], out: &DataType) -> Result<ArrayRef> {
    let values: Int64Array = sums
        .iter()
        .zip(counts)
        .map(|(s, c)| (*c > 0).then(|| s.wrapping_div(*c)))
        .collect();
    Ok(arrow::compute::cast(&values, out)?)
}

fn int64(array: &ArrayRef) -> Result<ArrayRef> {
    Ok(arrow::compute::cast(array, &DataType::Int64)?)
}

/// One group's integer average.
#[derive(Debug)]
struct IntAvg {
    sum: i64,
    count: i64,
    /// The values seen, for `AVG(DISTINCT x)`.
    distinct: Option<HashSet<i64>>,
    out: DataType,
}

impl Accumulator for IntAvg {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let values = int64(&values[0])?;
        for v in values.as_primitive::<Int64Type>().iter().flatten() {
            match &mut self.distinct {
                Some(seen) => {
                    seen.insert(v);
                }
                None => {
                    self.sum = self.sum.wrapping_add(v);
                    self.count += 1;
                }
            }
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let (sum, count) = match &self.distinct {
            Some(seen) => (
                seen.iter().fold(0i64, |a, v| a.wrapping_add(*v)),
                seen.len() as i64,
            ),
            None => (self.sum, self.count),
        };
        let array = averages(&[sum], &[count], &self.out)?;
        ScalarValue::try_from_array(&array, 0)
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.distinct.as_ref().map_or(0, |s| s.capacity() * 8)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(match &self.distinct {
            Some(seen) => {
                let values: Vec<ScalarValue> =
                    seen.iter().map(|v| ScalarValue::Int64(Some(*v))).collect();
                vec![ScalarValue::List(ScalarValue::new_list_nullable(
                    &values,
                    &DataType::Int64,
                ))]
            }
            None => vec![
                ScalarValue::Int64(Some(self.count)),
                ScalarValue::Int64(Some(self.sum)),
            ],
        })
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        match &mut self.distinct {
            Some(seen) => {
                let lists = states[0].as_list::<i32>();
                for row in 0..lists.len() {
                    if lists.is_null(row) {
                        continue;
                    }
                    let values = int64(&lists.value(row))?;
                    seen.extend(values.as_primitive::<Int64Type>().iter().flatten());
                }
            }
            None => {
                let counts = int64(&states[0])?;
                let sums = int64(&states[1])?;
                let counts = counts.as_primitive::<Int64Type>();
                let sums = sums.as_primitive::<Int64Type>();
                for row in 0..counts.len() {
                    if counts.is_valid(row) && sums.is_valid(row) {
                        self.count += counts.value(row);
                        self.sum = self.sum.wrapping_add(sums.value(row));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Integer averages of many groups at once.
#[derive(Debug)]
struct IntAvgGroups {
    sums: Vec<i64>,
    counts: Vec<i64>,
    out: DataType,
}

impl IntAvgGroups {
    /// Adds `sums[i]`/`counts[i]` (or one value with a count of 1) to `groups[i]`.
    fn add(
        &mut self,
        groups: &[usize],
        sums: &ArrayRef,
        counts: Option<&ArrayRef>,
        filter: Option<&BooleanArray>,
        total: usize,
    ) -> Result<()> {
        self.sums.resize(total, 0);
        self.counts.resize(total, 0);
        let sums = int64(sums)?;
        let sums = sums.as_primitive::<Int64Type>();
        let counts = match counts {
            Some(c) => Some(int64(c)?),
            None => None,
        };
        let counts = counts.as_ref().map(|c| c.as_primitive::<Int64Type>());
        for (row, group) in groups.iter().enumerate() {
            if filter.is_some_and(|f| !f.is_valid(row) || !f.value(row)) || sums.is_null(row) {
                continue;
            }
            let count = match counts {
                Some(c) if c.is_null(row) => continue,
                Some(c) => c.value(row),
                None => 1,
            };
            self.sums[*group] = self.sums[*group].wrapping_add(sums.value(row));
            self.counts[*group] += count;
        }
        Ok(())
    }
}

impl GroupsAccumulator for IntAvgGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.add(
            group_indices,
            &values[0],
            None,
            opt_filter,
            total_num_groups,
        )
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let sums = emit_to.take_needed(&mut self.sums);
        let counts = emit_to.take_needed(&mut self.counts);
        averages(&sums, &counts, &self.out)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let sums = emit_to.take_needed(&mut self.sums);
        let counts = emit_to.take_needed(&mut self.counts);
        Ok(vec![
            Arc::new(Int64Array::from(counts)),
            Arc::new(Int64Array::from(sums)),
        ])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.add(
            group_indices,
            &values[1],
            Some(&values[0]),
            opt_filter,
            total_num_groups,
        )
    }

    fn size(&self) -> usize {
        (self.sums.capacity() + self.counts.capacity()) * std::mem::size_of::<i64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int32Array;

    #[test]
    fn averages_truncate_toward_zero_and_merge() {
        let mut a = IntAvgGroups {
            sums: vec![],
            counts: vec![],
            out: DataType::Int32,
        };
        let values: ArrayRef = Arc::new(Int32Array::from(vec![Some(-7), Some(5), None, Some(3)]));
        a.update_batch(&[values], &[0, 0, 0, 1], None, 2).unwrap();
        // A second pane's state merged in: group 1 gets 4 more (sum 1 + 3 = 4, count 2).
        let mut b = IntAvgGroups {
            sums: vec![],
            counts: vec![],
            out: DataType::Int32,
        };
        let more: ArrayRef = Arc::new(Int32Array::from(vec![Some(1)]));
        b.update_batch(&[more], &[0], None, 1).unwrap();
        let state = b.state(EmitTo::All).unwrap();
        a.merge_batch(&state, &[1], None, 2).unwrap();
        let out = a.evaluate(EmitTo::All).unwrap();
        let out = out.as_primitive::<arrow::datatypes::Int32Type>();
        assert_eq!(out.value(0), -1, "(-7 + 5) / 2 truncates toward zero");
        assert_eq!(out.value(1), 2, "(3 + 1) / 2");
    }

    #[test]
    fn distinct_and_empty() {
        let mut acc = IntAvg {
            sum: 0,
            count: 0,
            distinct: Some(HashSet::new()),
            out: DataType::Int64,
        };
        assert_eq!(acc.evaluate().unwrap(), ScalarValue::Int64(None));
        let values: ArrayRef = Arc::new(Int64Array::from(vec![1, 1, 2]));
        acc.update_batch(&[values]).unwrap();
        assert_eq!(acc.evaluate().unwrap(), ScalarValue::Int64(Some(1)));
    }
}
