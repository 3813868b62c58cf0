//! Flink built-in functions that DataFusion lacks or spells differently, registered as
//! DataFusion UDFs, plus Weir's own `PERCENTILE_APPROX`. A function registered under the name
//! of a DataFusion built-in replaces it; [`PLANNED_BY_NAME`] lists the built-ins DataFusion's
//! SQL planner calls directly (for SQL syntax rather than a function call), which the planner
//! swaps for the registered function of the same name.

pub mod array;
pub mod avg;
pub mod datetime;
pub mod java_time;
pub mod json_value;
pub mod modulo;
pub mod null_strict;
pub mod string;
pub mod time;
pub mod to_string;
pub mod udf;

/// Built-ins DataFusion's SQL planner inserts for syntax, with the syntax: `EXTRACT(u FROM x)`
/// is `date_part`, `SUBSTRING(s FROM i FOR n)` is `substr`, `arr[i]` is `array_element`.
pub const PLANNED_BY_NAME: &[&str] = &["date_part", "substr", "array_element"];

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
        ScalarUDF::from(time::CurrentWatermark::new()),
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
        // Flink's REGEXP(s, re): whether any substring of s matches re.
        datafusion::functions::regex::regexp_like()
            .as_ref()
            .clone()
            .with_aliases(["regexp"]),
    ]
    .into_iter()
    .chain(datetime::functions())
    .chain(string::functions())
    .chain(array::functions())
    .collect()
}

/// Aggregates Weir adds or replaces. `PERCENTILE_APPROX(value, p)` (beyond Flink, as in Spark)
/// is DataFusion's t-digest `approx_percentile_cont`: mergeable, so it works over window panes
/// and in snapshots. `AVG` of integers is an integer, as in Flink.
pub fn aggregate() -> Vec<Arc<AggregateUDF>> {
    let percentile =
        datafusion::functions_aggregate::approx_percentile_cont::approx_percentile_cont_udaf();
    vec![
        Arc::new(
            percentile
                .as_ref()
                .clone()
                .with_aliases(["percentile_approx"]),
        ),
        Arc::new(AggregateUDF::from(avg::FlinkAvg::new())),
    ]
}
