//! A scalar function defined by plain functions: how its arguments are coerced, its return
//! type (which may depend on a literal argument, such as a time unit), and a kernel over
//! whole arrays. Most of Weir's Flink functions are one of these.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

/// The argument types a call is coerced to, from the types it was called with.
pub type CoerceFn = fn(&str, &[DataType]) -> Result<Vec<DataType>>;
/// The return type from the (coerced) argument types and the literal arguments.
pub type ReturnFn = fn(&[DataType], &[Option<&ScalarValue>]) -> Result<DataType>;
/// The result for arrays of `rows` rows (scalar arguments are expanded), of the return type.
pub type EvalFn = fn(&[ArrayRef], usize, &DataType) -> Result<ArrayRef>;

#[derive(Debug)]
pub struct Udf {
    name: &'static str,
    aliases: Vec<String>,
    signature: Signature,
    coerce: CoerceFn,
    returns: ReturnFn,
    eval: EvalFn,
}

// Functions are told apart by name (each name is registered once); function pointers do not
// compare reliably.
impl PartialEq for Udf {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.aliases == other.aliases
    }
}

impl Eq for Udf {}

impl std::hash::Hash for Udf {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.aliases.hash(state);
    }
}

impl Udf {
    pub fn new(name: &'static str, coerce: CoerceFn, returns: ReturnFn, eval: EvalFn) -> Self {
        Self {
            name,
            aliases: vec![],
            signature: Signature::user_defined(Volatility::Immutable),
            coerce,
            returns,
            eval,
        }
    }

    pub fn with_aliases(mut self, aliases: &[&str]) -> Self {
        self.aliases = aliases.iter().map(|a| a.to_string()).collect();
        self
    }
}

impl ScalarUDFImpl for Udf {
    fn name(&self) -> &str {
        self.name
    }
    fn aliases(&self) -> &[String] {
        &self.aliases
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        (self.coerce)(self.name, arg_types)
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        (self.returns)(arg_types, &vec![None; arg_types.len()])
    }
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let types: Vec<DataType> = args
            .arg_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let dt = (self.returns)(&types, args.scalar_arguments)?;
        Ok(Arc::new(Field::new(self.name, dt, true)))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let arrays = args
            .args
            .iter()
            .map(|a| a.to_array(n))
            .collect::<Result<Vec<_>>>()?;
        let out = (self.eval)(&arrays, n, args.return_field.data_type())?;
        if out.len() != n {
            return exec_err!("{} produced {} rows for {n}", self.name, out.len());
        }
        Ok(ColumnarValue::Array(out))
    }
}

// ---------------------------------------------------------------------------------------------
// Coercion helpers.

/// Checks the number of arguments, naming the function as SQL spells it.
pub fn arity(name: &str, types: &[DataType], min: usize, max: usize) -> Result<()> {
    if types.len() < min || types.len() > max {
        let expected = if min == max {
            format!("{min}")
        } else {
            format!("{min} to {max}")
        };
        return plan_err!(
            "{} takes {expected} arguments, got {}",
            name.to_uppercase(),
            types.len()
        );
    }
    Ok(())
}

pub fn is_string(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
    )
}

pub fn is_integer(dt: &DataType) -> bool {
    dt.is_integer() || matches!(dt, DataType::Null)
}

pub fn is_temporal(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 | DataType::Null
    )
}

/// A string argument (any string type or NULL) as Utf8.
pub fn string_arg(name: &str, position: usize, dt: &DataType) -> Result<DataType> {
    if is_string(dt) {
        Ok(DataType::Utf8)
    } else {
        plan_err!(
            "argument {} of {} must be a STRING, not {}",
            position + 1,
            name.to_uppercase(),
            crate::sql::types::SqlType::flink_name_of(dt)
        )
    }
}

/// An integer argument as BIGINT.
pub fn integer_arg(name: &str, position: usize, dt: &DataType) -> Result<DataType> {
    if is_integer(dt) {
        Ok(DataType::Int64)
    } else {
        plan_err!(
            "argument {} of {} must be an integer, not {}",
            position + 1,
            name.to_uppercase(),
            crate::sql::types::SqlType::flink_name_of(dt)
        )
    }
}

/// A DATE or TIMESTAMP argument as it is (NULL as TIMESTAMP(3)).
pub fn temporal_arg(name: &str, position: usize, dt: &DataType) -> Result<DataType> {
    match dt {
        DataType::Null => Ok(DataType::Timestamp(
            arrow::datatypes::TimeUnit::Millisecond,
            None,
        )),
        DataType::Date64 => Ok(DataType::Date32),
        dt if is_temporal(dt) => Ok(dt.clone()),
        dt => plan_err!(
            "argument {} of {} must be a DATE or TIMESTAMP, not {}",
            position + 1,
            name.to_uppercase(),
            crate::sql::types::SqlType::flink_name_of(dt)
        ),
    }
}

/// A literal string argument (a time unit, a type name), upper-cased.
pub fn literal_text(name: &str, what: &str, arg: Option<&Option<&ScalarValue>>) -> Result<String> {
    match arg {
        Some(Some(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::LargeUtf8(Some(s))
            | ScalarValue::Utf8View(Some(s)),
        )) => Ok(s.to_ascii_uppercase()),
        _ => plan_err!("{} needs a literal {what}", name.to_uppercase()),
    }
}

// ---------------------------------------------------------------------------------------------
// Reading arguments.

/// Text at `row` of a Utf8 array, or `None` for NULL.
pub fn text(array: &ArrayRef, row: usize) -> Option<&str> {
    let a = array.as_string_opt::<i32>()?;
    (!a.is_null(row)).then(|| a.value(row))
}

/// An integer argument (cast to BIGINT) as options.
pub fn integers(array: &ArrayRef) -> Result<Vec<Option<i64>>> {
    let a = arrow::compute::cast(array, &DataType::Int64)?;
    Ok(a.as_primitive::<arrow::datatypes::Int64Type>()
        .iter()
        .collect())
}
