//! Flink built-in functions that DataFusion lacks or spells differently, registered as
//! DataFusion UDFs, plus Weir's own `PERCENTILE_APPROX`.

pub mod json_value;
pub mod modulo;
pub mod null_strict;
pub mod time;
pub mod to_string;

use std::sync::Arc;

use datafusion::logical_expr::{AggregateUDF, ScalarUDF};

/// Every scalar function Weir adds or replaces, for registration in a planning session.
pub fn scalar() -> Vec<ScalarUDF> {
    vec![
        ScalarUDF::from(json_value::JsonValue::new()),
        ScalarUDF::from(json_value::JsonQuery::new()),
        ScalarUDF::from(json_value::JsonExists::new()),
        ScalarUDF::from(time::DateFormat::new()),
        ScalarUDF::from(time::ToTimestamp::new()),
        ScalarUDF::from(time::FromUnixtime::new()),
        ScalarUDF::from(time::UnixTimestamp::new()),
        ScalarUDF::from(time::Proctime::new()),
        ScalarUDF::from(to_string::FlinkToString::new()),
        ScalarUDF::from(modulo::Mod::new()),
        ScalarUDF::from(null_strict::NullStrict::new(
            datafusion::functions::core::greatest(),
        )),
        ScalarUDF::from(null_strict::NullStrict::new(
            datafusion::functions::core::least(),
        )),
        ScalarUDF::from(null_strict::NullStrict::new(
            datafusion::functions::string::concat(),
        )),
    ]
}

/// Aggregates Weir adds. `PERCENTILE_APPROX(value, p)` (beyond Flink, as in Spark) is
/// DataFusion's t-digest `approx_percentile_cont`: mergeable, so it works over window panes
/// and in snapshots.
pub fn aggregate() -> Vec<Arc<AggregateUDF>> {
    let percentile =
        datafusion::functions_aggregate::approx_percentile_cont::approx_percentile_cont_udaf();
    vec![Arc::new(
        percentile
            .as_ref()
            .clone()
            .with_aliases(["percentile_approx"]),
    )]
}
