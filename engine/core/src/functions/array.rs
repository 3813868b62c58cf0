//! Flink's array functions where DataFusion differs: element access `arr[i]` (1-based; any
//! index outside 1..=CARDINALITY gives NULL, where DataFusion counts negative indexes from the
//! end), `ARRAY_CONTAINS` (a NULL needle finds NULL elements) and `CARDINALITY` (an INT).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int32Array, Int64Array};
use arrow::datatypes::{DataType, Field};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::type_coercion::binary::comparison_coercion;
use datafusion::logical_expr::ScalarUDF;

use super::udf::{self, Udf};

/// The element field of a list type, if it is one.
fn element(dt: &DataType) -> Option<&Arc<Field>> {
    match dt {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => Some(f),
        _ => None,
    }
}

/// A list argument as `List` (the type Weir's arrays have).
fn list_arg(name: &str, dt: &DataType) -> Result<DataType> {
    match (dt, element(dt)) {
        (DataType::Null, _) => Ok(DataType::List(Arc::new(Field::new(
            "element",
            DataType::Null,
            true,
        )))),
        (_, Some(f)) => Ok(DataType::List(f.clone())),
        _ => plan_err!(
            "{} takes an ARRAY, not {}",
            name.to_uppercase(),
            crate::sql::types::SqlType::flink_name_of(dt)
        ),
    }
}

fn as_list(array: &ArrayRef) -> Result<ArrayRef> {
    match array.data_type() {
        DataType::List(_) => Ok(array.clone()),
        dt => match element(dt) {
            Some(f) => Ok(arrow::compute::cast(array, &DataType::List(f.clone()))?),
            None => exec_err!("expected an ARRAY, got {dt}"),
        },
    }
}

fn element_coerce(name: &str, types: &[DataType]) -> Result<Vec<DataType>> {
    udf::arity(name, types, 2, 2)?;
    Ok(vec![
        list_arg(name, &types[0])?,
        udf::integer_arg(name, 1, &types[1])?,
    ])
}

fn element_returns(types: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    match types.first().and_then(element) {
        Some(f) => Ok(f.data_type().clone()),
        None => plan_err!("element access needs an ARRAY"),
    }
}

/// `arr[i]`: the i-th element (from 1), NULL outside the array.
fn element_eval(args: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let list = as_list(&args[0])?;
    let list = list.as_list::<i32>();
    let index = udf::integers(&args[1])?;
    let offsets = list.value_offsets();
    let positions: Int64Array = (0..n)
        .map(|row| {
            if list.is_null(row) {
                return None;
            }
            let i = index[row]?;
            let (start, end) = (offsets[row] as i64, offsets[row + 1] as i64);
            (i >= 1 && i <= end - start).then(|| start + i - 1)
        })
        .collect();
    Ok(arrow::compute::take(
        list.values().as_ref(),
        &positions,
        None,
    )?)
}

fn contains_coerce(name: &str, types: &[DataType]) -> Result<Vec<DataType>> {
    udf::arity(name, types, 2, 2)?;
    let list = list_arg(name, &types[0])?;
    let Some(element) = element(&list).map(|f| f.data_type().clone()) else {
        return plan_err!("ARRAY_CONTAINS takes an ARRAY");
    };
    let needle = &types[1];
    let common = if element == DataType::Null {
        needle.clone()
    } else if needle == &DataType::Null {
        element.clone()
    } else {
        match comparison_coercion(&element, needle) {
            Some(t) => t,
            None => {
                return plan_err!(
                    "ARRAY_CONTAINS cannot look for a {} in an ARRAY<{}>",
                    crate::sql::types::SqlType::flink_name_of(needle),
                    crate::sql::types::SqlType::flink_name_of(&element)
                )
            }
        }
    };
    Ok(vec![
        DataType::List(Arc::new(Field::new("element", common.clone(), true))),
        common,
    ])
}

fn boolean(_: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Boolean)
}

/// `ARRAY_CONTAINS(arr, x)`: whether an element equals `x`; with a NULL `x`, whether an
/// element is NULL; NULL for a NULL array.
fn contains_eval(args: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let list = as_list(&args[0])?;
    let list = list.as_list::<i32>();
    let needles = &args[1];
    let mut out = Vec::with_capacity(n);
    for row in 0..n {
        if list.is_null(row) {
            out.push(None);
            continue;
        }
        let items = list.value(row);
        if needles.is_null(row) {
            out.push(Some(items.null_count() > 0));
            continue;
        }
        let needle = ScalarValue::try_from_array(needles, row)?.cast_to(items.data_type())?;
        let equal = arrow::compute::kernels::cmp::eq(&items, &needle.to_scalar()?)?;
        out.push(Some(equal.true_count() > 0));
    }
    Ok(Arc::new(BooleanArray::from(out)))
}

fn cardinality_coerce(name: &str, types: &[DataType]) -> Result<Vec<DataType>> {
    udf::arity(name, types, 1, 1)?;
    match &types[0] {
        DataType::Map(..) => Ok(vec![types[0].clone()]),
        dt => Ok(vec![list_arg(name, dt)?]),
    }
}

fn int(_: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Int32)
}

/// `CARDINALITY(arr)` (or of a MAP): the number of elements (entries) as an INT.
fn cardinality_eval(args: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let array = &args[0];
    let (offsets, nulls): (Vec<i32>, _) = match array.data_type() {
        DataType::Map(..) => {
            let map = array.as_map();
            (map.value_offsets().to_vec(), map.nulls().cloned())
        }
        _ => {
            let list = as_list(array)?;
            let list = list.as_list::<i32>();
            (list.value_offsets().to_vec(), list.nulls().cloned())
        }
    };
    let out: Int32Array = (0..n)
        .map(|row| {
            let valid = nulls.as_ref().is_none_or(|b| b.is_valid(row));
            valid.then(|| offsets[row + 1] - offsets[row])
        })
        .collect();
    Ok(Arc::new(out))
}

/// The functions of this module.
pub fn functions() -> Vec<ScalarUDF> {
    vec![
        // arr[i] is planned as array_element(arr, i).
        Udf::new(
            "array_element",
            element_coerce,
            element_returns,
            element_eval,
        )
        .with_aliases(&["list_element", "array_extract", "list_extract"]),
        Udf::new("array_contains", contains_coerce, boolean, contains_eval),
        Udf::new("cardinality", cardinality_coerce, int, cardinality_eval),
    ]
    .into_iter()
    .map(ScalarUDF::from)
    .collect()
}
