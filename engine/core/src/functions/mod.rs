//! Flink built-in functions that DataFusion lacks, registered as DataFusion UDFs.

pub mod json_value;

use datafusion::logical_expr::ScalarUDF;

/// Every function Weir adds, for registration in a planning session.
pub fn all() -> Vec<ScalarUDF> {
    vec![ScalarUDF::from(json_value::JsonValue::new())]
}
