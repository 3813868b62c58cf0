//! Flink's NULL rule for `GREATEST`, `LEAST` and `CONCAT`: the result is NULL when any
//! argument is NULL. DataFusion's versions skip NULLs (as PostgreSQL does); this wrapper runs
//! DataFusion's function and nulls the rows where an argument is NULL.

use std::sync::Arc;

use arrow::array::{Array, BooleanArray};
use arrow::compute::nullif;
use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct NullStrict {
    inner: Arc<ScalarUDF>,
}

impl NullStrict {
    pub fn new(inner: Arc<ScalarUDF>) -> Self {
        Self { inner }
    }
}

impl ScalarUDFImpl for NullStrict {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn signature(&self) -> &Signature {
        self.inner.signature()
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.inner.return_field_from_args(args)
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        // Rows where some argument is NULL.
        let mut any_null: Option<BooleanArray> = None;
        for arg in &args.args {
            let nulls = match arg {
                ColumnarValue::Scalar(s) if s.is_null() => BooleanArray::from(vec![true; n]),
                ColumnarValue::Scalar(_) => continue,
                ColumnarValue::Array(a) => match a.logical_nulls() {
                    Some(nulls) => BooleanArray::from_iter(nulls.iter().map(|valid| Some(!valid))),
                    None => continue,
                },
            };
            any_null = Some(match any_null {
                Some(acc) => arrow::compute::or(&acc, &nulls)?,
                None => nulls,
            });
        }
        let all_scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let result = self.inner.invoke_with_args(args)?;
        let Some(mask) = any_null else {
            return Ok(result);
        };
        let array = result.into_array(n)?;
        let nulled = nullif(&array, &mask)?;
        if all_scalar && n == 1 {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
                &nulled, 0,
            )?));
        }
        Ok(ColumnarValue::Array(nulled))
    }
}
