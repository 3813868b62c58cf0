//! `MOD(a, b)`: Flink's remainder function, the `%` operator under Flink's name. NULL when
//! either side is NULL; an error (as in Flink) when dividing by zero.

use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use arrow::datatypes::DataType;

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Mod {
    signature: Signature,
}

impl Mod {
    pub fn new() -> Self {
        Self {
            signature: Signature::numeric(2, Volatility::Immutable),
        }
    }
}

impl Default for Mod {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for Mod {
    fn name(&self) -> &str {
        "mod"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        // The wider of the two types.
        match arg_types {
            [a, b] => Ok(
                datafusion::logical_expr::type_coercion::binary::comparison_coercion(a, b)
                    .unwrap_or(b.clone()),
            ),
            _ => exec_err!("MOD takes two numbers"),
        }
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [a, b] = args.args.as_slice() else {
            return exec_err!("MOD takes two numbers");
        };
        let n = args.number_rows;
        let target = self.return_type(&[a.data_type(), b.data_type()])?;
        let a = arrow::compute::cast(&a.to_array(n)?, &target)?;
        let b = arrow::compute::cast(&b.to_array(n)?, &target)?;
        Ok(ColumnarValue::Array(arrow::compute::kernels::numeric::rem(
            &a, &b,
        )?))
    }
}
