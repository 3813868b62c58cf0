//! The planner: a parsed query becomes a DataFusion logical plan (typed and coerced by
//! DataFusion's analyzer), which is then turned node by node into a linear chain of streaming
//! operators over a single source. Nodes without a streaming operator yet are reported as
//! unsupported, at the keyword that introduced them.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::compute::can_cast_types;
use arrow::datatypes::{Schema, SchemaRef};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::catalog::default_table_source::provider_as_source;
use datafusion::common::config::ConfigOptions;
use datafusion::common::{DFSchema, DataFusionError, ScalarValue, TableReference};
use datafusion::datasource::empty::EmptyTable;
use datafusion::execution::context::SessionState;
use datafusion::execution::{FunctionRegistry, SessionStateBuilder};
use datafusion::logical_expr::{
    AggregateUDF, Expr, HigherOrderUDF, LogicalPlan, ScalarUDF, TableSource, WindowUDF,
};
use datafusion::optimizer::simplify_expressions::SimplifyExpressions;
use datafusion::optimizer::{Optimizer, OptimizerContext};
use datafusion::physical_expr::aggregate::LoweredAggregateBuilder;
use datafusion::physical_expr::execution_props::ExecutionProps;
use datafusion::physical_expr::{create_physical_expr, PhysicalExpr};
use datafusion::sql::planner::{ContextProvider, ParserOptions, SqlToRel};
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::tokenizer::TokenWithSpan;
use weir_api::Span;

use crate::operators::calc::Conform;
use crate::operators::window_aggregate::{AggregateCall, GroupSlot};
use crate::operators::{
    Filter, GroupAggregate, Operator, Projection, SessionAggregate, WindowAggregate, WindowAssigner,
};
use crate::sql::query::{
    keyword_span, ParsedQuery, WindowSpec, WINDOW_END, WINDOW_START, WINDOW_TIME,
};
use crate::sql::TableDef;
use crate::{Error, Result};

mod interval;

/// Where a planned query's rows come from.
// One per job, moved once: the size difference between the variants does not matter.
#[allow(clippy::large_enum_variant)]
pub enum PlannedSource {
    /// A declared table, with window assignment and its watermark when it has them.
    Table {
        def: TableDef,
        /// Adds the computed columns to what the connector decoded.
        computed: Option<Projection>,
        assigner: Option<WindowAssigner>,
        watermark: Option<Watermark>,
        /// Which columns of the connector's schema the job reads; the connector may leave
        /// the others NULL ([`crate::connectors::Source::project`]).
        needed: Vec<bool>,
    },
    /// Constant rows (`VALUES`, or `SELECT` without `FROM`).
    Values(Vec<RecordBatch>),
    /// Two inputs joined.
    Join(Box<JoinPlan>),
    /// The rows of several inputs (`UNION ALL`).
    Union(Box<UnionPlan>),
}

/// `UNION ALL` of tables, each with its own operators.
pub struct UnionPlan {
    pub inputs: Vec<PlannedQuery>,
    pub union: crate::operators::union::Union,
}

/// A join of two tables, each with its own operators: a regular join or a window join.
pub struct JoinPlan {
    pub left: PlannedQuery,
    pub right: PlannedQuery,
    pub join: Box<dyn crate::operators::TwoInputOperator>,
}

impl PlannedSource {
    /// The tables this source reads.
    pub fn tables(&self) -> Vec<&TableDef> {
        match self {
            PlannedSource::Table { def, .. } => vec![def],
            PlannedSource::Values(_) => vec![],
            PlannedSource::Join(j) => [j.left.source.tables(), j.right.source.tables()].concat(),
            PlannedSource::Union(u) => u.inputs.iter().flat_map(|i| i.source.tables()).collect(),
        }
    }
}

/// A bounded-out-of-orderness watermark on a source column.
#[derive(Debug, Clone, Copy)]
pub struct Watermark {
    pub column: usize,
    pub delay_ms: i64,
}

/// A query ready to run: a source, operators in order, and the schema of the rows it emits.
pub struct PlannedQuery {
    pub source: PlannedSource,
    pub operators: Vec<Box<dyn Operator>>,
    pub schema: SchemaRef,
    pub window: Option<WindowSpec>,
    /// The plan node that makes the result updating (a changelog), if any.
    pub updating: Option<String>,
}

/// Settings that shape a plan (from `SET`).
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// `table.exec.state.ttl`: how long idle state of an updating aggregation is kept.
    pub state_ttl: Option<std::time::Duration>,
}

impl fmt::Display for PlannedQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            PlannedSource::Table {
                def,
                computed,
                assigner,
                watermark,
                needed,
            } => {
                write!(f, "Source: {}", def.name)?;
                if let Some(w) = watermark {
                    write!(f, " (watermark on column #{} - {}ms)", w.column, w.delay_ms)?;
                }
                writeln!(f)?;
                if needed.contains(&false) {
                    let schema = def.arrow_schema();
                    let read: Vec<&str> = schema
                        .fields()
                        .iter()
                        .zip(needed)
                        .filter(|(_, n)| **n)
                        .map(|(f, _)| f.name().as_str())
                        .collect();
                    writeln!(
                        f,
                        "Reads: {} (the other columns are not decoded)",
                        read.join(", ")
                    )?;
                }
                if let Some(c) = computed {
                    writeln!(f, "Computed columns: {c}")?;
                }
                if let Some(a) = assigner {
                    writeln!(f, "{a}")?;
                }
            }
            PlannedSource::Join(j) => {
                writeln!(f, "Join left input:")?;
                for line in j.left.to_string().lines() {
                    writeln!(f, "  {line}")?;
                }
                writeln!(f, "Join right input:")?;
                for line in j.right.to_string().lines() {
                    writeln!(f, "  {line}")?;
                }
                writeln!(f, "{}", j.join)?;
            }
            PlannedSource::Union(u) => {
                for (i, input) in u.inputs.iter().enumerate() {
                    writeln!(f, "Union input {}:", i + 1)?;
                    for line in input.to_string().lines() {
                        writeln!(f, "  {line}")?;
                    }
                }
                writeln!(f, "{}", u.union)?;
            }
            PlannedSource::Values(b) => writeln!(
                f,
                "Values: {} row(s)",
                b.iter().map(|b| b.num_rows()).sum::<usize>()
            )?,
        }
        for op in &self.operators {
            writeln!(f, "{op}")?;
        }
        Ok(())
    }
}

/// The functions, options and tables DataFusion's SQL planner sees.
struct Provider {
    state: SessionState,
    tables: HashMap<String, SchemaRef>,
}

pub(crate) fn reference_key(name: &TableReference) -> String {
    match name {
        TableReference::Bare { table } => table.to_string(),
        TableReference::Partial { schema, table } => format!("{schema}.{table}"),
        TableReference::Full {
            catalog,
            schema,
            table,
        } => format!("{catalog}.{schema}.{table}"),
    }
}

impl ContextProvider for Provider {
    fn get_table_source(
        &self,
        name: TableReference,
    ) -> datafusion::common::Result<Arc<dyn TableSource>> {
        let key = reference_key(&name);
        match self.tables.get(&key) {
            Some(schema) => Ok(provider_as_source(Arc::new(EmptyTable::new(schema.clone())))),
            None => Err(DataFusionError::Plan(format!(
                "table '{key}' is not declared: add CREATE TABLE {key} (...) WITH (...) before the query"
            ))),
        }
    }
    fn get_function_meta(&self, name: &str) -> Option<Arc<ScalarUDF>> {
        self.state.scalar_functions().get(name).cloned()
    }
    fn get_higher_order_meta(&self, name: &str) -> Option<Arc<HigherOrderUDF>> {
        self.state.higher_order_functions().get(name).cloned()
    }
    fn get_aggregate_meta(&self, name: &str) -> Option<Arc<AggregateUDF>> {
        self.state.aggregate_functions().get(name).cloned()
    }
    fn get_window_meta(&self, name: &str) -> Option<Arc<WindowUDF>> {
        self.state.window_functions().get(name).cloned()
    }
    fn get_variable_type(&self, _: &[String]) -> Option<arrow::datatypes::DataType> {
        None
    }
    fn options(&self) -> &ConfigOptions {
        self.state.config_options()
    }
    fn udf_names(&self) -> Vec<String> {
        self.state.scalar_functions().keys().cloned().collect()
    }
    fn higher_order_function_names(&self) -> Vec<String> {
        self.state
            .higher_order_functions()
            .keys()
            .cloned()
            .collect()
    }
    fn udaf_names(&self) -> Vec<String> {
        self.state.aggregate_functions().keys().cloned().collect()
    }
    fn udwf_names(&self) -> Vec<String> {
        self.state.window_functions().keys().cloned().collect()
    }
    fn get_expr_planners(&self) -> &[Arc<dyn datafusion::logical_expr::planner::ExprPlanner>] {
        self.state.expr_planners()
    }
}

fn session_state() -> SessionState {
    let mut state = SessionStateBuilder::new().with_default_features().build();
    for udf in crate::functions::scalar() {
        // Replacing a built-in of the same name (TO_TIMESTAMP) is intended.
        let _previous = state.register_udf(Arc::new(udf));
    }
    for udaf in crate::functions::aggregate() {
        let _previous = state.register_udaf(udaf);
    }
    state
}

/// The column and N of `col = 1`, `col <= N` or `col < N + 1` (a ROW_NUMBER filter).
fn row_number_limit(predicate: &Expr) -> Option<(String, usize)> {
    use datafusion::logical_expr::{BinaryExpr, Operator as Op};
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = predicate else {
        return None;
    };
    let (Expr::Column(c), Expr::Literal(value, _)) = (left.as_ref(), right.as_ref()) else {
        return None;
    };
    let n = value.cast_to(&arrow::datatypes::DataType::Int64).ok()?;
    let ScalarValue::Int64(Some(n)) = n else {
        return None;
    };
    let limit = match (op, n) {
        (Op::Eq, 1) => 1,
        (Op::LtEq, n) if n >= 1 => n,
        (Op::Lt, n) if n >= 2 => n - 1,
        _ => return None,
    };
    Some((c.name.clone(), usize::try_from(limit).ok()?))
}

/// The tables a plan scans.
fn scanned_tables(plan: &LogicalPlan) -> Vec<String> {
    match plan {
        LogicalPlan::TableScan(scan) => vec![reference_key(&scan.table_name)],
        other => other
            .inputs()
            .into_iter()
            .flat_map(scanned_tables)
            .collect(),
    }
}

/// Whether a plan aggregates.
fn has_aggregate(plan: &LogicalPlan) -> bool {
    matches!(plan, LogicalPlan::Aggregate(_)) || plan.inputs().into_iter().any(has_aggregate)
}

/// `window_start` or `window_end` when `column` of `plan` passes one of a window TVF's
/// bounds through unchanged (renamed, filtered, grouped by).
fn window_origin(plan: &LogicalPlan, column: &str) -> Option<&'static str> {
    let through = |exprs: &[Expr], schema: &DFSchema, input: &LogicalPlan| {
        exprs.iter().zip(schema.fields()).find_map(|(e, f)| {
            if f.name() != column {
                return None;
            }
            match e.clone().unalias() {
                Expr::Column(c) => window_origin(input, &c.name),
                _ => None,
            }
        })
    };
    match plan {
        LogicalPlan::SubqueryAlias(s) => window_origin(&s.input, column),
        LogicalPlan::Filter(f) => window_origin(&f.input, column),
        LogicalPlan::Projection(p) => through(&p.expr, &p.schema, &p.input),
        LogicalPlan::Aggregate(a) => through(&a.group_expr, &a.schema, &a.input),
        LogicalPlan::TableScan(_) => [WINDOW_START, WINDOW_END]
            .into_iter()
            .find(|w| *w == column),
        _ => None,
    }
}

/// The Window output column that `column` of `plan` passes through unchanged, if any.
fn window_column(plan: &LogicalPlan, column: &str) -> Option<String> {
    match plan {
        LogicalPlan::SubqueryAlias(s) => window_column(&s.input, column),
        LogicalPlan::Projection(p) => p.expr.iter().zip(p.schema.fields()).find_map(|(e, f)| {
            if f.name() != column {
                return None;
            }
            match e.clone().unalias() {
                Expr::Column(c) => window_column(&p.input, &c.name),
                _ => None,
            }
        }),
        LogicalPlan::Window(w) => w
            .schema
            .fields()
            .last()
            .filter(|f| f.name() == column)
            .map(|f| f.name().clone()),
        _ => None,
    }
}

/// Where a column of a Top-N's input comes from, for Flink's choice of rank strategy.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ColumnOrigin {
    /// The `i`-th grouping column of the updating aggregation: constant for its row.
    Key(usize),
    /// An aggregate that only grows (COUNT, MAX) or only shrinks (MIN) while its group lives.
    Increasing,
    Decreasing,
    Other,
}

/// The origin of `column` of `plan`, through aliases and projections that pass it unchanged
/// down to a GROUP BY.
fn column_origin(plan: &LogicalPlan, column: &datafusion::common::Column) -> (ColumnOrigin, usize) {
    let through = |input: &LogicalPlan, i: usize| {
        let (qualifier, field) = input.schema().qualified_field(i);
        column_origin(input, &datafusion::common::Column::from((qualifier, field)))
    };
    let other = (ColumnOrigin::Other, 0);
    match plan {
        LogicalPlan::SubqueryAlias(s) => match s.schema.index_of_column(column) {
            Ok(i) => through(&s.input, i),
            Err(_) => other,
        },
        LogicalPlan::Projection(p) => match p.schema.index_of_column(column) {
            Ok(i) => match p.expr.get(i).map(strip_aliases) {
                Some(Expr::Column(c)) => column_origin(&p.input, c),
                _ => other,
            },
            Err(_) => other,
        },
        LogicalPlan::Aggregate(a) => {
            let Ok(i) = a.schema.index_of_column(column) else {
                return other;
            };
            let keys = a.group_expr.len();
            if i < keys {
                return (ColumnOrigin::Key(i), keys);
            }
            let origin = match a.aggr_expr.get(i - keys).map(strip_aliases) {
                Some(Expr::AggregateFunction(f)) => match f.func.name() {
                    "count" => ColumnOrigin::Increasing,
                    "max" => ColumnOrigin::Increasing,
                    "min" => ColumnOrigin::Decreasing,
                    _ => ColumnOrigin::Other,
                },
                _ => ColumnOrigin::Other,
            };
            (origin, keys)
        }
        _ => other,
    }
}

/// Whether `plan` is an aggregation, or projections and aliases right over one.
fn passes_aggregate(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Aggregate(_) => true,
        LogicalPlan::Projection(p) => passes_aggregate(&p.input),
        LogicalPlan::SubqueryAlias(s) => passes_aggregate(&s.input),
        _ => false,
    }
}

/// An expression under its aliases (`count(Int64(1)) AS count(*) AS cnt`).
fn strip_aliases(mut e: &Expr) -> &Expr {
    while let Expr::Alias(a) = e {
        e = &a.expr;
    }
    e
}

/// Flink's `UpdateFastStrategy` for a Top-N over an updating input: when the input passes
/// the grouping columns of an updating GROUP BY (its unique key) unchanged, the partition
/// columns are among them and every sort column can only move a row up (a grouping column; a
/// COUNT or MAX sorted descending; a MIN ascending). Returns the key's column indices in the
/// input; `None` means `RetractStrategy`. (Flink also proves a SUM monotonic from a filter on
/// its argument, such as `WHERE v > 0`; Weir runs such a SUM with `RetractStrategy`.)
fn update_fast_key(
    input: &LogicalPlan,
    partition_by: &[Expr],
    order_by: &[datafusion::logical_expr::SortExpr],
) -> Option<Vec<usize>> {
    let schema = input.schema();
    let origins: Vec<(ColumnOrigin, usize)> = (0..schema.fields().len())
        .map(|i| {
            let (qualifier, field) = schema.qualified_field(i);
            column_origin(input, &datafusion::common::Column::from((qualifier, field)))
        })
        .collect();
    let origin_of = |e: &Expr| match e {
        Expr::Column(c) => schema
            .index_of_column(c)
            .ok()
            .map_or(ColumnOrigin::Other, |i| origins[i].0),
        _ => ColumnOrigin::Other,
    };
    // The unique key: every grouping column, each once.
    let keys = origins.iter().find_map(|(o, n)| match o {
        ColumnOrigin::Other => None,
        _ => Some(*n),
    })?;
    let mut key_columns = vec![None; keys];
    for (i, (o, _)) in origins.iter().enumerate() {
        if let ColumnOrigin::Key(k) = o {
            key_columns[*k].get_or_insert(i);
        }
    }
    let key_columns: Vec<usize> = key_columns.into_iter().collect::<Option<_>>()?;
    if keys == 0 {
        return None;
    }
    let partition_in_key = partition_by
        .iter()
        .all(|e| matches!(origin_of(e), ColumnOrigin::Key(_)));
    let monotonic = !order_by.is_empty()
        && order_by.iter().all(|s| match origin_of(&s.expr) {
            ColumnOrigin::Key(_) => true,
            ColumnOrigin::Increasing => !s.asc,
            ColumnOrigin::Decreasing => s.asc,
            ColumnOrigin::Other => false,
        });
    (partition_in_key && monotonic).then_some(key_columns)
}

/// The Window column of the `WHERE rn <= N` right under projection `p` when `p` does not
/// select it.
fn dropped_row_number(p: &datafusion::logical_expr::Projection) -> Option<String> {
    let mut input = p.input.as_ref();
    while let LogicalPlan::SubqueryAlias(s) = input {
        input = s.input.as_ref();
    }
    let LogicalPlan::Filter(f) = input else {
        return None;
    };
    let (column, _) = row_number_limit(&f.predicate)?;
    let used = p
        .expr
        .iter()
        .any(|e| e.column_refs().iter().any(|c| c.name == column));
    if used {
        return None;
    }
    window_column(&f.input, &column)
}

/// A DataFusion error as a SQL error at the position DataFusion names, or at `fallback`.
fn plan_error(e: DataFusionError, fallback: Span) -> Error {
    let span = e
        .diagnostic()
        .and_then(|d| d.span)
        .map(|s| Span {
            line: s.start.line.max(1) as u32,
            column: s.start.column.max(1) as u32,
        })
        .unwrap_or(fallback);
    let message = match e.find_root() {
        DataFusionError::Plan(m)
        | DataFusionError::NotImplemented(m)
        | DataFusionError::Execution(m) => m.clone(),
        DataFusionError::SchemaError(s, _) => s.to_string(),
        other => other.to_string(),
    };
    if message.contains("Unsupported")
        || matches!(e.find_root(), DataFusionError::NotImplemented(_))
    {
        return Error::Unsupported {
            construct: message,
            span,
        };
    }
    Error::Sql { message, span }
}

struct Converter<'a> {
    catalog: &'a HashMap<String, TableDef>,
    shapes: &'a HashMap<String, Shape>,
    /// Names of the columns the query's expressions read, anywhere in the plan.
    referenced: &'a std::collections::HashSet<String>,
    window: Option<&'a WindowSpec>,
    /// The two window TVFs of a window join, handed to the join's sides.
    join_windows: &'a [WindowSpec],
    /// HOP and CUMULATE windows are used themselves (a window join without aggregation):
    /// rows are expanded into their windows at the scan.
    expand_windows: bool,
    tokens: &'a [TokenWithSpan],
    span: Span,
    props: ExecutionProps,
    source: Option<PlannedSource>,
    operators: Vec<Box<dyn Operator>>,
    /// Whether the window aggregation is planned: below it, the window columns hold panes.
    aggregated: bool,
    options: &'a PlanOptions,
    /// The node that made the stream updating, once one has.
    updating: Option<String>,
    /// Set while converting below a `WHERE rn <= N`: the Window column `rn` stands for, and N.
    row_number_filter: Option<(String, usize)>,
    /// Set while converting below a projection that drops the row number of the `WHERE rn <=
    /// N` right under it: that Window column (Top-N then emits without row numbers).
    row_number_dropped: Option<String>,
    /// Whether the join planned is an interval join, whose result keeps both inputs' rowtimes
    /// as time attributes (a query has one join at most).
    interval_join: bool,
}

impl Converter<'_> {
    /// HOP and CUMULATE windows overlap, so below their aggregation the window columns hold
    /// a row's pane, not its windows: they may only be grouped by.
    fn check_window_columns(&self, exprs: &[&Expr]) -> Result<()> {
        let Some(spec) = self.window else {
            return Ok(());
        };
        if self.aggregated
            || self.expand_windows
            || matches!(spec.kind, crate::sql::query::WindowKind::Tumble { .. })
        {
            return Ok(());
        }
        for e in exprs {
            if matches!(e, Expr::Column(_)) {
                continue;
            }
            if e.column_refs()
                .iter()
                .any(|c| [WINDOW_START, WINDOW_END, WINDOW_TIME].contains(&c.name.as_str()))
            {
                return Err(Error::Unsupported {
                    construct: format!("using window_start, window_end or window_time of a {} window outside its GROUP BY", spec.kind.name()),
                    span: spec.span,
                });
            }
        }
        Ok(())
    }

    /// A window TVF over a view (`sql::query` computes its window columns in projection
    /// `p`): the view's time column must be a time attribute, the rowtime of the table it
    /// reads passed through unchanged, as Flink requires.
    fn check_window_pane(&self, p: &datafusion::logical_expr::Projection) -> Result<()> {
        let Some(spec) = self.window.filter(|w| w.over_query) else {
            return Ok(());
        };
        let pane = crate::sql::query::window_pane_function(WINDOW_START);
        for e in &p.expr {
            let Expr::ScalarFunction(f) = e.clone().unalias() else {
                continue;
            };
            if f.func.name() != pane {
                continue;
            }
            // The legacy syntax names no table.
            let legacy = spec.table.is_none();
            let attribute = match f.args.first() {
                Some(Expr::Column(c)) => p
                    .input
                    .schema()
                    .index_of_column(c)
                    .is_ok_and(|i| self.is_rowtime(&p.input, i, legacy)),
                _ => false,
            };
            if !attribute {
                let ty = f
                    .args
                    .first()
                    .and_then(|a| {
                        use datafusion::logical_expr::ExprSchemable;
                        a.get_type(p.input.schema()).ok()
                    })
                    .map(|t| crate::sql::types::SqlType::flink_name_of(&t))
                    .unwrap_or_default();
                let message = match &spec.table {
                    None => format!(
                        "window aggregate can only be defined over a time attribute column (a table's WATERMARK column passed through unchanged), but '{}' of the subquery is {ty}",
                        spec.time_column
                    ),
                    Some(view) => format!(
                        "the window function requires the time column '{}' of view '{view}' to be a time attribute (a table's WATERMARK column passed through unchanged, also through an interval join; a regular join's result has none), but it is {ty}",
                        spec.time_column
                    ),
                };
                return Err(Error::Sql {
                    message,
                    span: spec.span,
                });
            }
        }
        Ok(())
    }

    /// Whether column `index` of `plan` is a time attribute: a scanned table's rowtime (its
    /// WATERMARK column) passed through unchanged (renamed, filtered, projected, through a
    /// UNION ALL whose every input passes one), or through a join. As in Flink, an interval
    /// join keeps both inputs' rowtimes as time attributes; a regular join keeps them only
    /// for the legacy `GROUP BY TUMBLE(...)` syntax (`through_joins`), whose time column
    /// Flink checks before it materialises the time attributes a regular join loses.
    fn is_rowtime(&self, plan: &LogicalPlan, index: usize, through_joins: bool) -> bool {
        match plan {
            LogicalPlan::SubqueryAlias(s) => self.is_rowtime(&s.input, index, through_joins),
            LogicalPlan::Filter(f) => self.is_rowtime(&f.input, index, through_joins),
            LogicalPlan::Projection(p) => match p.expr.get(index).map(|e| e.clone().unalias()) {
                Some(Expr::Column(c)) => p
                    .input
                    .schema()
                    .index_of_column(&c)
                    .is_ok_and(|i| self.is_rowtime(&p.input, i, through_joins)),
                _ => false,
            },
            LogicalPlan::Union(u) => u
                .inputs
                .iter()
                .all(|i| self.is_rowtime(i, index, through_joins)),
            LogicalPlan::Join(j) => {
                use datafusion::logical_expr::JoinType as J;
                let kept = through_joins || self.interval_join;
                let left = j.left.schema().fields().len();
                kept && matches!(j.join_type, J::Inner | J::Left | J::Right | J::Full)
                    && if index < left {
                        self.is_rowtime(&j.left, index, through_joins)
                    } else {
                        self.is_rowtime(&j.right, index - left, through_joins)
                    }
            }
            LogicalPlan::TableScan(scan) => {
                let Some(field) = scan.projected_schema.fields().get(index) else {
                    return false;
                };
                self.catalog
                    .get(&reference_key(&scan.table_name))
                    .and_then(|def| def.watermark.as_ref())
                    .is_some_and(|w| &w.column == field.name())
            }
            _ => false,
        }
    }

    fn unsupported(&self, construct: &str, keyword: Option<Keyword>) -> Error {
        let span = keyword
            .and_then(|k| keyword_span(self.tokens, k))
            .unwrap_or(self.span);
        Error::Unsupported {
            construct: construct.to_string(),
            span,
        }
    }

    fn physical(&self, expr: &Expr, schema: &DFSchema) -> Result<Arc<dyn PhysicalExpr>> {
        create_physical_expr(expr, schema, &self.props).map_err(|e| plan_error(e, self.span))
    }

    fn convert(&mut self, plan: &LogicalPlan) -> Result<()> {
        match plan {
            LogicalPlan::TableScan(scan) => {
                let key = reference_key(&scan.table_name);
                let def = self.catalog.get(&key).cloned().ok_or_else(|| {
                    Error::Internal(format!("planned a scan of unknown table {key}"))
                })?;
                let shape = self
                    .shapes
                    .get(&key)
                    .cloned()
                    .ok_or_else(|| Error::Internal(format!("no shape for {key}")))?;
                if crate::connectors::produces_changelog(&def) {
                    // A CDC table is a changelog: its rows are updated and deleted.
                    let connector = def.option("connector").map(|(c, _)| c).unwrap_or("?");
                    let node = format!(
                        "the changelog source '{}' (connector '{connector}')",
                        def.name
                    );
                    if let Some(spec) = self.window {
                        return Err(Error::Unsupported {
                            construct: format!("a {} window over {node}", spec.kind.name()),
                            span: spec.span,
                        });
                    }
                    self.updating = Some(node);
                }
                let source_schema = shape.schema.as_ref().clone();
                // The table's columns some expression reads (by name: a superset when
                // another table has a column of the same name), and the rowtime.
                let needed = {
                    let rowtime = def
                        .watermark
                        .as_ref()
                        .and_then(|w| source_schema.index_of(&w.column).ok());
                    let used = source_schema.fields().iter().enumerate().filter(|(i, f)| {
                        self.referenced.contains(f.name())
                            && scan.projection.as_ref().is_none_or(|p| p.contains(i))
                    });
                    needed_columns(
                        used.map(|(i, _)| i).chain(rowtime),
                        shape.computed.as_ref().map(|(exprs, _)| exprs.as_slice()),
                        def.arrow_schema().fields().len(),
                    )
                };
                let computed = shape
                    .computed
                    .map(|(exprs, schema)| Projection::new(exprs, schema));
                let watermark = def.watermark.as_ref().and_then(|w| {
                    source_schema
                        .index_of(&w.column)
                        .ok()
                        .map(|column| Watermark {
                            column,
                            delay_ms: w.delay_ms,
                        })
                });
                let assigner = match self.window {
                    // A TVF over a view: its window columns are computed after the view.
                    Some(spec) if spec.over_query => None,
                    Some(spec) => {
                        let rowtime = def.watermark.as_ref().map(|w| w.column.as_str());
                        if rowtime != Some(spec.time_column.as_str()) {
                            return Err(Error::Sql {
                                message: format!(
                                    "windows need an event-time attribute: '{}' is not declared with WATERMARK FOR on table '{}'",
                                    spec.time_column, def.name
                                ),
                                span: spec.span,
                            });
                        }
                        let column = source_schema
                            .index_of(&spec.time_column)
                            .map_err(|e| Error::Internal(e.to_string()))?;
                        Some(WindowAssigner::new(&source_schema, column, spec.kind))
                    }
                    None => None,
                };
                if let Some(indices) = &scan.projection {
                    let full = scan.source.schema();
                    let exprs: Vec<Arc<dyn PhysicalExpr>> = indices
                        .iter()
                        .map(|i| {
                            Arc::new(datafusion::physical_expr::expressions::Column::new(
                                full.field(*i).name(),
                                *i,
                            )) as Arc<dyn PhysicalExpr>
                        })
                        .collect();
                    self.operators.push(Box::new(Projection::new(
                        exprs,
                        Arc::new(scan.projected_schema.as_arrow().clone()),
                    )));
                }
                if let (Some(spec), true) = (self.window, self.expand_windows) {
                    let schema = scan.projected_schema.as_arrow();
                    if let (
                        crate::sql::query::WindowKind::Hop { .. }
                        | crate::sql::query::WindowKind::Cumulate { .. },
                        Ok(start),
                    ) = (spec.kind, schema.index_of(WINDOW_START))
                    {
                        self.operators.push(Box::new(
                            crate::operators::window_assigner::WindowExpand::new(
                                start,
                                schema.index_of(WINDOW_END).ok(),
                                schema.index_of(WINDOW_TIME).ok(),
                                spec.kind,
                            ),
                        ));
                    }
                }
                self.source = Some(PlannedSource::Table {
                    def,
                    computed,
                    assigner,
                    watermark,
                    needed,
                });
                Ok(())
            }
            LogicalPlan::Projection(p) => {
                let outer = self.row_number_dropped.clone();
                if let Some(dropped) = dropped_row_number(p) {
                    self.row_number_dropped = Some(dropped);
                }
                self.convert(&p.input)?;
                self.row_number_dropped = outer;
                self.check_window_pane(p)?;
                self.check_window_columns(&p.expr.iter().collect::<Vec<_>>())?;
                let exprs = p
                    .expr
                    .iter()
                    .map(|e| self.physical(e, p.input.schema()))
                    .collect::<Result<Vec<_>>>()?;
                let mut projection = Projection::new(exprs, Arc::new(p.schema.as_arrow().clone()));
                // Right over an updating GROUP BY, Flink computes only the columns read here.
                let over_group_aggregate = passes_aggregate(&p.input)
                    && self
                        .updating
                        .as_deref()
                        .is_some_and(|u| u.starts_with(GroupAggregate::NAME));
                if over_group_aggregate {
                    projection = projection.dropping_unchanged_updates();
                }
                self.operators.push(Box::new(projection));
                Ok(())
            }
            LogicalPlan::Filter(f) => {
                // `WHERE rn <= N` over ROW_NUMBER(): deduplication or window Top-N.
                let outer = self.row_number_filter.take();
                self.row_number_filter = row_number_limit(&f.predicate)
                    .and_then(|(c, n)| window_column(&f.input, &c).map(|w| (w, n)));
                self.convert(&f.input)?;
                self.row_number_filter = outer;
                self.check_window_columns(&[&f.predicate])?;
                let predicate = self.physical(&f.predicate, f.input.schema())?;
                self.operators.push(Box::new(Filter::new(predicate)));
                Ok(())
            }
            LogicalPlan::SubqueryAlias(s) => self.convert(&s.input),
            LogicalPlan::Aggregate(a) => {
                self.convert(&a.input)?;
                self.aggregate(a)
            }
            LogicalPlan::Values(v) => {
                let batch = values_batch(&v.values, v.schema.inner().clone(), &self.props)
                    .map_err(|e| plan_error(e, self.span))?;
                self.source = Some(PlannedSource::Values(vec![batch]));
                Ok(())
            }
            LogicalPlan::EmptyRelation(e) => {
                let rows = usize::from(e.produce_one_row);
                let options = RecordBatchOptions::new().with_row_count(Some(rows));
                let batch =
                    RecordBatch::try_new_with_options(Arc::new(Schema::empty()), vec![], &options)
                        .map_err(|e| Error::Internal(e.to_string()))?;
                self.source = Some(PlannedSource::Values(vec![batch]));
                Ok(())
            }
            LogicalPlan::Join(j) => self.join(j),
            LogicalPlan::Sort(_) => Err(self.unsupported("ORDER BY", Some(Keyword::ORDER))),
            LogicalPlan::Limit(_) => Err(self.unsupported("LIMIT", Some(Keyword::LIMIT))),
            LogicalPlan::Union(u) => self.union(u),
            LogicalPlan::Distinct(datafusion::logical_expr::Distinct::All(input)) => {
                // As Flink plans it: an aggregation grouped by every column, without aggregate
                // functions (a window aggregation over a window TVF, else updating).
                self.convert(input)?;
                let keys = input
                    .schema()
                    .columns()
                    .into_iter()
                    .map(Expr::Column)
                    .collect();
                let grouped =
                    datafusion::logical_expr::Aggregate::try_new(input.clone(), keys, vec![])
                        .map_err(|e| plan_error(e, self.span))?;
                let updating = self.updating.is_some();
                self.aggregate(&grouped)?;
                if !updating {
                    self.updating = self
                        .updating
                        .take()
                        .map(|node| format!("SELECT DISTINCT ({node})"));
                }
                Ok(())
            }
            LogicalPlan::Distinct(_) => {
                Err(self.unsupported("SELECT DISTINCT ON", Some(Keyword::DISTINCT)))
            }
            LogicalPlan::Window(w) => {
                self.convert(&w.input)?;
                self.deduplicate(w)
            }
            LogicalPlan::Unnest(_) => Err(self.unsupported("UNNEST", Some(Keyword::UNNEST))),
            LogicalPlan::Subquery(_) => Err(self.unsupported("subqueries", Some(Keyword::SELECT))),
            other => Err(self.unsupported(&format!("the plan node {}", other.display()), None)),
        }
    }

    /// A join of two tables (each with its own filters and projections): a regular equi-join
    /// (INNER, LEFT, RIGHT, FULL), a window join when both sides are window TVFs joined on
    /// their `window_start` and `window_end`, or an interval join when `ON` bounds each side's
    /// rowtime by the other's (`plan/interval.rs`).
    fn join(&mut self, j: &datafusion::logical_expr::Join) -> Result<()> {
        use crate::operators::join::JoinType;
        let join_type = match j.join_type {
            datafusion::logical_expr::JoinType::Inner => JoinType::Inner,
            datafusion::logical_expr::JoinType::Left => JoinType::Left,
            datafusion::logical_expr::JoinType::Right => JoinType::Right,
            datafusion::logical_expr::JoinType::Full => JoinType::Full,
            other => {
                return Err(self.unsupported(
                    &format!(
                        "{} joins (INNER, LEFT, RIGHT and FULL joins run)",
                        other.to_string().to_uppercase()
                    ),
                    Some(Keyword::JOIN),
                ))
            }
        };
        // Equalities between the two sides in ON are the join keys; the rest filters matches.
        let mut on: Vec<(Expr, Expr)> = j.on.clone();
        let mut residual = Vec::new();
        if let Some(filter) = &j.filter {
            use datafusion::logical_expr::{BinaryExpr, Operator as Op};
            let only = |e: &Expr, schema: &DFSchema| {
                let refs = e.column_refs();
                !refs.is_empty() && refs.iter().all(|c| schema.has_column(c))
            };
            for part in datafusion::logical_expr::utils::split_conjunction(filter) {
                match part {
                    Expr::BinaryExpr(BinaryExpr {
                        left,
                        op: Op::Eq,
                        right,
                    }) if only(left, j.left.schema()) && only(right, j.right.schema()) => {
                        on.push((left.as_ref().clone(), right.as_ref().clone()));
                    }
                    Expr::BinaryExpr(BinaryExpr {
                        left,
                        op: Op::Eq,
                        right,
                    }) if only(right, j.left.schema()) && only(left, j.right.schema()) => {
                        on.push((right.as_ref().clone(), left.as_ref().clone()));
                    }
                    other => residual.push(other.clone()),
                }
            }
        }
        if on.is_empty() {
            return Err(self.unsupported(
                "joins without an equality between the two sides",
                Some(Keyword::JOIN),
            ));
        }
        // A window TVF over a view (or a legacy group window over a subquery) of the join
        // assigns windows after it, from the join's result.
        if self.window.is_some_and(|w| !w.over_query) {
            return Err(self.unsupported(
                "a window TVF on one side of a join (a window join needs one on both sides)",
                Some(Keyword::JOIN),
            ));
        }
        // A window join: each side reads one of the two window TVFs.
        let side_window = |plan: &LogicalPlan| -> Option<&WindowSpec> {
            let tables = scanned_tables(plan);
            self.join_windows
                .iter()
                .find(|w| w.table.as_ref().is_some_and(|t| tables.contains(t)))
        };
        let windows = (side_window(&j.left), side_window(&j.right));
        let windowed = !self.join_windows.is_empty();
        let side = |this: &Self,
                    plan: &LogicalPlan,
                    window: Option<&WindowSpec>|
         -> Result<(PlannedQuery, Option<String>)> {
            let mut sub = Converter {
                catalog: this.catalog,
                shapes: this.shapes,
                referenced: this.referenced,
                window,
                join_windows: &[],
                expand_windows: window.is_some() && !has_aggregate(plan),
                tokens: this.tokens,
                span: this.span,
                props: ExecutionProps::new(),
                source: None,
                operators: Vec::new(),
                aggregated: false,
                options: this.options,
                updating: None,
                row_number_filter: None,
                row_number_dropped: None,
                interval_join: false,
            };
            sub.convert(plan)?;
            let source = sub
                .source
                .ok_or_else(|| Error::Internal("a join input without a source".into()))?;
            if !matches!(source, PlannedSource::Table { .. }) {
                return Err(this.unsupported(
                    "joins whose inputs are not tables (VALUES, nested joins)",
                    Some(Keyword::JOIN),
                ));
            }
            Ok((
                PlannedQuery {
                    source,
                    operators: sub.operators,
                    schema: Arc::new(plan.schema().as_arrow().clone()),
                    window: window.cloned(),
                    updating: sub.updating.clone(),
                },
                sub.updating,
            ))
        };
        let (left, left_updating) = side(self, &j.left, windows.0)?;
        let (right, right_updating) = side(self, &j.right, windows.1)?;
        // Flink's interval join: append-only inputs whose rowtimes bound each other in ON.
        let interval = if windowed || left_updating.is_some() || right_updating.is_some() {
            None
        } else {
            interval::extract(self, j, &mut on, &mut residual)
        };
        let residual = datafusion::logical_expr::utils::conjunction(residual);
        let mut left_keys = Vec::new();
        let mut right_keys = Vec::new();
        let mut key_types = Vec::new();
        let mut window_bounds = (None, None);
        for (l, r) in &on {
            if let (Expr::Column(lc), Expr::Column(rc)) = (l, r) {
                let lo = window_origin(&j.left, &lc.name);
                if lo.is_some() && lo == window_origin(&j.right, &rc.name) {
                    let at = |plan: &LogicalPlan, c| plan.schema().index_of_column(c).ok();
                    match lo {
                        Some(WINDOW_START) => window_bounds.0 = Some(()),
                        _ => {
                            window_bounds.1 = at(&j.left, lc).zip(at(&j.right, rc));
                        }
                    }
                }
            }
            let lp = self.physical(l, j.left.schema())?;
            let rp = self.physical(r, j.right.schema())?;
            let lt = lp
                .data_type(j.left.schema().as_arrow())
                .map_err(|e| plan_error(e, self.span))?;
            let rt = rp
                .data_type(j.right.schema().as_arrow())
                .map_err(|e| plan_error(e, self.span))?;
            // Both sides' keys are compared in one row format: the wider of the two types.
            let common =
                datafusion::logical_expr::type_coercion::binary::comparison_coercion(&lt, &rt)
                    .unwrap_or(lt);
            key_types.push(common);
            left_keys.push(lp);
            right_keys.push(rp);
        }
        let filter = match &residual {
            Some(f) => Some(self.physical(f, &j.schema)?),
            None => None,
        };
        let schema = j.schema.as_arrow();
        let left_width = j.left.schema().fields().len();
        let join: Box<dyn crate::operators::TwoInputOperator> = if windowed {
            let window_join_needs = "a join of window TVFs is a window join: both sides must be window TVFs of the same window, joined ON L.window_start = R.window_start AND L.window_end = R.window_end";
            let (Some(lw), Some(rw)) = windows else {
                return Err(self.unsupported(window_join_needs, Some(Keyword::JOIN)));
            };
            let (Some(()), Some((left_end, right_end))) = window_bounds else {
                return Err(self.unsupported(window_join_needs, Some(Keyword::JOIN)));
            };
            if let crate::sql::query::WindowKind::Session { .. } = lw.kind {
                return Err(Error::Unsupported {
                    construct: "SESSION windows in a window join".into(),
                    span: lw.span,
                });
            }
            if lw.kind != rw.kind {
                return Err(Error::Sql {
                    message: format!(
                        "a window join needs the same window on both sides, but they are {} and {}",
                        lw, rw
                    ),
                    span: rw.span,
                });
            }
            if let Some(node) = left_updating.as_ref().or(right_updating.as_ref()) {
                return Err(self.unsupported(
                    &format!("a window join of the updating result of {node}"),
                    Some(Keyword::JOIN),
                ));
            }
            Box::new(crate::operators::window_join::WindowJoin::try_new(
                left_keys, right_keys, key_types, filter, schema, left_width, join_type, left_end,
                right_end,
            )?)
        } else if let Some(bounds) = interval {
            self.interval_join = true;
            Box::new(crate::operators::interval_join::IntervalJoin::try_new(
                left_keys,
                right_keys,
                key_types,
                filter,
                schema,
                left_width,
                join_type,
                (bounds.left_time, bounds.right_time),
                (bounds.lower, bounds.upper),
            )?)
        } else {
            let join = crate::operators::join::StreamingJoin::try_new(
                left_keys,
                right_keys,
                key_types,
                filter,
                schema,
                left_width,
                join_type,
                left_updating.is_some() || right_updating.is_some(),
                self.options.state_ttl,
            )?;
            if join.updating() {
                self.updating = Some(format!("{join}"));
            }
            Box::new(join)
        };
        self.source = Some(PlannedSource::Join(Box::new(JoinPlan {
            left,
            right,
            join,
        })));
        Ok(())
    }

    /// `UNION ALL` of tables, each with its own filters, projections and aggregations: the
    /// job reads every input on its own and the union's watermark is the smallest of theirs.
    fn union(&mut self, u: &datafusion::logical_expr::Union) -> Result<()> {
        // `a UNION ALL b UNION ALL c` is planned as nested unions: one union of three.
        fn flatten<'p>(plan: &'p LogicalPlan, out: &mut Vec<&'p LogicalPlan>) {
            match plan {
                LogicalPlan::Union(u) => u.inputs.iter().for_each(|i| flatten(i, out)),
                other => out.push(other),
            }
        }
        let mut plans = Vec::new();
        u.inputs.iter().for_each(|i| flatten(i, &mut plans));
        let mut inputs = Vec::with_capacity(plans.len());
        for plan in plans {
            // A window TVF reads one table (or a view, whose window columns come after the
            // union): only the input that scans it assigns windows.
            // With two TVFs, each input reads the one over its table.
            let scanned = scanned_tables(plan);
            let window = self
                .window
                .filter(|w| w.over_query || w.table.as_ref().is_none_or(|t| scanned.contains(t)))
                .or_else(|| {
                    self.join_windows
                        .iter()
                        .find(|w| w.table.as_ref().is_some_and(|t| scanned.contains(t)))
                });
            if let Some(twice) = self.join_windows.iter().find(|w| {
                self.join_windows
                    .iter()
                    .filter(|o| o.table == w.table)
                    .count()
                    > 1
            }) {
                return Err(Error::Unsupported {
                    construct: format!(
                        "two window TVFs over the same table ('{}') in one query",
                        twice.table.as_deref().unwrap_or_default()
                    ),
                    span: twice.span,
                });
            }
            let mut sub = Converter {
                catalog: self.catalog,
                shapes: self.shapes,
                referenced: self.referenced,
                window,
                join_windows: &[],
                expand_windows: false,
                tokens: self.tokens,
                span: self.span,
                props: ExecutionProps::new(),
                source: None,
                operators: Vec::new(),
                aggregated: false,
                options: self.options,
                updating: None,
                row_number_filter: None,
                row_number_dropped: None,
                interval_join: false,
            };
            sub.convert(plan)?;
            let source = sub
                .source
                .ok_or_else(|| Error::Internal("a union input without a source".into()))?;
            if !matches!(source, PlannedSource::Table { .. }) {
                return Err(self.unsupported(
                    "UNION ALL of inputs that are not tables (VALUES, joins, unions in subqueries)",
                    Some(Keyword::UNION),
                ));
            }
            self.aggregated |= sub.aggregated;
            if self.updating.is_none() {
                self.updating = sub.updating.clone();
            }
            inputs.push(PlannedQuery {
                source,
                operators: sub.operators,
                schema: Arc::new(plan.schema().as_arrow().clone()),
                window: window.cloned(),
                updating: sub.updating,
            });
        }
        let union = crate::operators::union::Union::new(
            Arc::new(u.schema.as_arrow().clone()),
            inputs.len(),
            self.updating.is_some(),
        );
        self.source = Some(PlannedSource::Union(Box::new(UnionPlan { inputs, union })));
        Ok(())
    }

    /// `ROW_NUMBER() OVER (PARTITION BY k ORDER BY t [ASC|DESC])` kept only where it is 1.
    fn deduplicate(&mut self, w: &datafusion::logical_expr::logical_plan::Window) -> Result<()> {
        use datafusion::logical_expr::expr::WindowFunction;
        let not_dedup = |this: &Self, what: &str| this.unsupported(what, Some(Keyword::OVER));
        let [Expr::WindowFunction(function)] = w.window_expr.as_slice() else {
            return Err(not_dedup(
                self,
                "OVER windows other than ROW_NUMBER() for deduplication",
            ));
        };
        let WindowFunction { fun, params } = function.as_ref();
        if let name @ ("rank" | "dense_rank") = fun.name() {
            // Flink 1.20 ranks streams with ROW_NUMBER() only, windowed or not.
            let name = name.to_uppercase();
            let by_window = [WINDOW_START, WINDOW_END].iter().all(|b| {
                params
                    .partition_by
                    .iter()
                    .any(|e| matches!(e, Expr::Column(c) if c.name == *b))
            });
            let message = if by_window {
                format!("{name}() function is not supported on Window TopN, only ROW_NUMBER() is (as in Flink 1.20)")
            } else {
                format!("{name}() on a streaming table is not supported, only ROW_NUMBER() is (as in Flink 1.20)")
            };
            let span = self
                .tokens
                .iter()
                .find(|t| matches!(&t.token, datafusion::sql::sqlparser::tokenizer::Token::Word(w) if w.value.eq_ignore_ascii_case(&name)))
                .map(crate::sql::span_of)
                .unwrap_or(self.span);
            return Err(Error::Sql { message, span });
        }
        if fun.name() != "row_number" {
            return Err(not_dedup(
                self,
                &format!("the OVER window function {}", fun.name()),
            ));
        }
        let output = w
            .schema
            .fields()
            .last()
            .map(|f| f.name().clone())
            .unwrap_or_default();
        let limit = match &self.row_number_filter {
            Some((column, n)) if *column == output => *n,
            _ => {
                return Err(not_dedup(
                    self,
                    "ROW_NUMBER() without a `WHERE rn <= N` on it",
                ))
            }
        };
        // Window Top-N: partitioned by the window of a window aggregation below.
        let by_window = |name: &str| {
            params
                .partition_by
                .iter()
                .any(|e| matches!(e, Expr::Column(c) if c.name == name))
        };
        if self.aggregated && by_window(WINDOW_START) && by_window(WINDOW_END) {
            let input = w.input.schema();
            let partition = params
                .partition_by
                .iter()
                .map(|e| self.physical(e, input))
                .collect::<Result<Vec<_>>>()?;
            let order = params
                .order_by
                .iter()
                .map(|s| {
                    let options = arrow::compute::SortOptions {
                        descending: !s.asc,
                        nulls_first: s.nulls_first,
                    };
                    self.physical(&s.expr, input).map(|e| (e, options))
                })
                .collect::<Result<Vec<_>>>()?;
            let op = crate::operators::WindowTopN::try_new(
                partition,
                order,
                limit,
                input.as_arrow(),
                w.schema.as_arrow(),
            )?;
            self.operators.push(Box::new(op));
            return Ok(());
        }
        // Deduplication is `rn = 1` ordered by a time attribute, as in Flink; anything else
        // is Top-N.
        let by_time = params.order_by.len() == 1
            && params.order_by[0]
                .expr
                .column_refs()
                .iter()
                .all(|c| self.is_time_attribute(&c.name))
            && !params.order_by[0].expr.column_refs().is_empty();
        if limit != 1 || !by_time || params.partition_by.is_empty() {
            return self.top_n(w, limit, &output);
        }
        if let Some(node) = &self.updating {
            // As Flink 1.20's planner refuses it.
            return Err(Error::Sql {
                message: format!(
                    "Deduplicate doesn't support consuming update changes which is produced by {node}"
                ),
                span: self.span,
            });
        }
        let input = w.input.schema();
        let keys = params
            .partition_by
            .iter()
            .map(|e| self.physical(e, input))
            .collect::<Result<Vec<_>>>()?;
        let sort = &params.order_by[0];
        let order = self.physical(&sort.expr, input)?;
        let keep_last = !sort.asc;
        // Keeping the first row by processing time never revises a row: insert-only.
        let by_proctime = matches!(
            order.data_type(input.as_arrow()),
            Ok(arrow::datatypes::DataType::Timestamp(_, Some(_)))
        ) && sort
            .expr
            .column_refs()
            .iter()
            .all(|c| self.is_proctime(&c.name));
        let insert_only = !keep_last && by_proctime;
        let op = crate::operators::Deduplicate::try_new(
            keys,
            order,
            keep_last,
            insert_only,
            self.options.state_ttl,
            input.as_arrow(),
            w.schema.as_arrow(),
        )?;
        if !insert_only {
            self.updating = Some(format!("{op}"));
        }
        self.operators.push(Box::new(op));
        Ok(())
    }

    /// `ROW_NUMBER() OVER (PARTITION BY k ORDER BY ...) <= N` without a window: an updating
    /// Top-N.
    fn top_n(
        &mut self,
        w: &datafusion::logical_expr::logical_plan::Window,
        limit: usize,
        output: &str,
    ) -> Result<()> {
        let Some(Expr::WindowFunction(function)) = w.window_expr.first() else {
            return Err(Error::Internal("a Top-N without ROW_NUMBER()".into()));
        };
        let params = &function.params;
        if params.order_by.is_empty() {
            return Err(self.unsupported("Top-N without ORDER BY", Some(Keyword::OVER)));
        }
        let input = w.input.schema();
        let partition = params
            .partition_by
            .iter()
            .map(|e| self.physical(e, input))
            .collect::<Result<Vec<_>>>()?;
        let order = params
            .order_by
            .iter()
            .map(|s| {
                let options = arrow::compute::SortOptions {
                    descending: !s.asc,
                    nulls_first: s.nulls_first,
                };
                self.physical(&s.expr, input).map(|e| (e, options))
            })
            .collect::<Result<Vec<_>>>()?;
        let with_rank = self.row_number_dropped.as_deref() != Some(output);
        let op: Box<dyn Operator> = if self.updating.is_some() {
            // Over an updating input, with the strategy Flink's planner picks.
            use crate::operators::updating_top_n::Strategy;
            let strategy = update_fast_key(&w.input, &params.partition_by, &params.order_by)
                .map_or(Strategy::Retract, Strategy::UpdateFast);
            let op = crate::operators::UpdatingTopN::try_new(
                partition,
                order,
                strategy,
                limit,
                with_rank,
                self.options.state_ttl,
                input.as_arrow(),
                w.schema.as_arrow(),
            )?;
            Box::new(op)
        } else {
            Box::new(crate::operators::TopN::try_new(
                partition,
                order,
                limit,
                with_rank,
                self.options.state_ttl,
                input.as_arrow(),
                w.schema.as_arrow(),
            )?)
        };
        self.updating = Some(format!("{op}"));
        self.operators.push(op);
        Ok(())
    }

    /// Whether a column is the scanned table's rowtime (its WATERMARK column) or a computed
    /// `PROCTIME()` column.
    fn is_time_attribute(&self, column: &str) -> bool {
        let Some(PlannedSource::Table { def, .. }) = &self.source else {
            return false;
        };
        def.watermark.as_ref().is_some_and(|w| w.column == column) || self.is_proctime(column)
    }

    /// Whether a column is a computed `PROCTIME()` column of the scanned table.
    fn is_proctime(&self, column: &str) -> bool {
        let Some(PlannedSource::Table { def, .. }) = &self.source else {
            return false;
        };
        def.computed.iter().any(|c| {
            c.name == column
                && c.expr
                    .first()
                    .is_some_and(|t| t.token.to_string().eq_ignore_ascii_case("PROCTIME"))
        })
    }

    /// `GROUP BY` without a window: an updating aggregation emitting a changelog.
    fn group_aggregate(&mut self, a: &datafusion::logical_expr::Aggregate) -> Result<()> {
        let input = a.input.schema();
        let mut keys = Vec::new();
        let mut key_types = Vec::new();
        for e in &a.group_expr {
            if let Expr::GroupingSet(_) = e {
                return Err(
                    self.unsupported("GROUPING SETS, ROLLUP and CUBE", Some(Keyword::GROUP))
                );
            }
            let p = self.physical(e, input)?;
            key_types.push(
                p.data_type(input.as_arrow())
                    .map_err(|e| plan_error(e, self.span))?,
            );
            keys.push(p);
        }
        let mut aggregates = Vec::new();
        for e in &a.aggr_expr {
            let lowered = LoweredAggregateBuilder::new(e, input, input.as_arrow(), &self.props)
                .build()
                .map_err(|e| plan_error(e, self.span))?;
            if !lowered.order_bys.is_empty() {
                return Err(
                    self.unsupported("ORDER BY inside an aggregate call", Some(Keyword::ORDER))
                );
            }
            aggregates.push(AggregateCall {
                function: lowered.aggregate,
                filter: lowered.filter,
            });
        }
        let op = GroupAggregate::try_new(
            keys,
            key_types,
            aggregates,
            a.schema.as_arrow(),
            self.options.state_ttl,
        )?;
        self.updating = Some(format!("{op}"));
        self.operators.push(Box::new(op));
        Ok(())
    }

    fn aggregate(&mut self, a: &datafusion::logical_expr::Aggregate) -> Result<()> {
        let input = a.input.schema();
        if let Some(node) = &self.updating {
            return Err(self.unsupported(
                &format!("an aggregation over the updating result of {node}"),
                Some(Keyword::GROUP),
            ));
        }
        let Some(spec) = self.window else {
            return self.group_aggregate(a);
        };
        let mut slots = Vec::new();
        let mut keys = Vec::new();
        let mut key_types = Vec::new();
        for e in &a.group_expr {
            match e {
                Expr::Column(c) if c.name == WINDOW_START => slots.push(GroupSlot::WindowStart),
                Expr::Column(c) if c.name == WINDOW_END => slots.push(GroupSlot::WindowEnd),
                Expr::Column(c) if c.name == WINDOW_TIME => slots.push(GroupSlot::WindowTime),
                Expr::GroupingSet(_) => {
                    return Err(
                        self.unsupported("GROUPING SETS, ROLLUP and CUBE", Some(Keyword::GROUP))
                    )
                }
                other => {
                    let p = self.physical(other, input)?;
                    key_types.push(
                        p.data_type(input.as_arrow())
                            .map_err(|e| plan_error(e, self.span))?,
                    );
                    slots.push(GroupSlot::Key(keys.len()));
                    keys.push(p);
                }
            }
        }
        if !slots
            .iter()
            .any(|s| matches!(s, GroupSlot::WindowStart | GroupSlot::WindowEnd))
        {
            return Err(Error::Sql {
                message: "a windowed aggregation must GROUP BY window_start and window_end".into(),
                span: keyword_span(self.tokens, Keyword::GROUP).unwrap_or(spec.span),
            });
        }
        let start_index = input
            .index_of_column_by_name(None, WINDOW_START)
            .ok_or_else(|| Error::Sql {
                message: "window_start is not available to GROUP BY".into(),
                span: spec.span,
            })?;
        let window_start = Arc::new(datafusion::physical_expr::expressions::Column::new(
            WINDOW_START,
            start_index,
        )) as Arc<dyn PhysicalExpr>;
        let mut aggregates = Vec::new();
        for e in &a.aggr_expr {
            let lowered = LoweredAggregateBuilder::new(e, input, input.as_arrow(), &self.props)
                .build()
                .map_err(|e| plan_error(e, self.span))?;
            let (function, filter) = (lowered.aggregate, lowered.filter);
            if !lowered.order_bys.is_empty() {
                return Err(
                    self.unsupported("ORDER BY inside an aggregate call", Some(Keyword::ORDER))
                );
            }
            aggregates.push(AggregateCall { function, filter });
        }
        let schema = Arc::new(a.schema.as_arrow().clone());
        let op: Box<dyn Operator> = match spec.kind {
            crate::sql::query::WindowKind::Session { gap_ms } => {
                Box::new(SessionAggregate::try_new(
                    window_start,
                    gap_ms,
                    slots,
                    keys,
                    key_types,
                    aggregates,
                    schema,
                    input.as_arrow(),
                )?)
            }
            kind => Box::new(WindowAggregate::try_new(
                window_start,
                kind,
                slots,
                keys,
                key_types,
                aggregates,
                schema,
                input.as_arrow(),
            )?),
        };
        self.operators.push(op);
        self.aggregated = true;
        Ok(())
    }
}

/// Evaluates constant rows into one batch of `schema`.
fn values_batch(
    rows: &[Vec<Expr>],
    schema: SchemaRef,
    props: &ExecutionProps,
) -> datafusion::common::Result<RecordBatch> {
    let empty = DFSchema::empty();
    let one_row = RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &RecordBatchOptions::new().with_row_count(Some(1)),
    )?;
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for (c, field) in schema.fields().iter().enumerate() {
        let mut scalars = Vec::with_capacity(rows.len());
        for row in rows {
            let expr = row
                .get(c)
                .ok_or_else(|| DataFusionError::Plan("VALUES rows differ in length".into()))?;
            let value = create_physical_expr(expr, &empty, props)?.evaluate(&one_row)?;
            let scalar = match value {
                datafusion::logical_expr::ColumnarValue::Scalar(s) => s,
                datafusion::logical_expr::ColumnarValue::Array(a) => {
                    ScalarValue::try_from_array(&a, 0)?
                }
            };
            scalars.push(scalar.cast_to(field.data_type())?);
        }
        columns.push(ScalarValue::iter_to_array(scalars)?);
    }
    let options = RecordBatchOptions::new().with_row_count(Some(rows.len()));
    Ok(RecordBatch::try_new_with_options(
        schema, columns, &options,
    )?)
}

/// A table as queries see it: physical and computed columns in declared order, and the
/// expressions that compute the latter from the former.
#[derive(Clone)]
struct Shape {
    schema: SchemaRef,
    computed: Option<(Vec<Arc<dyn PhysicalExpr>>, SchemaRef)>,
}

/// The names of the columns that expressions of `plan` (and its subqueries) read, and of the
/// columns the plan outputs (what the sink takes).
fn referenced_columns(plan: &LogicalPlan) -> std::collections::HashSet<String> {
    use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
    let mut names: std::collections::HashSet<String> = plan
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let _ = plan.apply_with_subqueries(|node| {
        node.apply_expressions(|e| {
            e.apply(|x| {
                if let Expr::Column(c) = x {
                    names.insert(c.name.clone());
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    });
    names
}

/// The connector's columns (of `physical` in all) that the table's columns `used` read:
/// themselves, or what their computed-column expressions refer to.
fn needed_columns(
    used: impl Iterator<Item = usize>,
    computed: Option<&[Arc<dyn PhysicalExpr>]>,
    physical: usize,
) -> Vec<bool> {
    let mut needed = vec![false; physical];
    for i in used {
        match computed {
            Some(exprs) => {
                let Some(expr) = exprs.get(i) else { continue };
                for c in datafusion::physical_expr::utils::collect_columns(expr) {
                    if let Some(n) = needed.get_mut(c.index()) {
                        *n = true;
                    }
                }
            }
            None => {
                if let Some(n) = needed.get_mut(i) {
                    *n = true;
                }
            }
        }
    }
    needed
}

/// Plans a table's computed columns as `SELECT <columns in declared order> FROM <physical>`,
/// so they are typed and checked like any query (errors point into the DDL).
fn table_shape(def: &TableDef) -> Result<Shape> {
    let physical = Arc::new(def.arrow_schema());
    if def.computed.is_empty() {
        return Ok(Shape {
            schema: physical,
            computed: None,
        });
    }
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::parser::Parser;
    use datafusion::sql::sqlparser::tokenizer::Token;
    const PHYSICAL: &str = "__weir_physical";
    let word = |name: &str| TokenWithSpan::wrap(Token::make_word(name, Some('`')));
    let mut tokens = vec![TokenWithSpan::wrap(Token::make_keyword("SELECT"))];
    let mut physical_columns = def.columns.iter();
    let total = def.columns.len() + def.computed.len();
    for position in 0..total {
        if position > 0 {
            tokens.push(TokenWithSpan::wrap(Token::Comma));
        }
        match def.computed.iter().find(|c| c.position == position) {
            Some(c) => {
                tokens.extend(c.expr.iter().cloned());
                tokens.push(TokenWithSpan::wrap(Token::make_keyword("AS")));
                tokens.push(word(&c.name));
            }
            None => {
                let Some(col) = physical_columns.next() else {
                    return Err(Error::Internal(
                        "computed column positions out of order".into(),
                    ));
                };
                tokens.push(word(&col.name));
            }
        }
    }
    tokens.push(TokenWithSpan::wrap(Token::make_keyword("FROM")));
    tokens.push(word(PHYSICAL));
    let span = def.computed[0].span;
    let tokens = crate::sql::functions::rewrite_tokens(&tokens)?;
    let mut query = Parser::new(&GenericDialect {})
        .with_tokens_with_locations(tokens)
        .parse_query()
        .map_err(|e| crate::sql::query::parser_error(e, span))?;
    crate::sql::functions::rewrite_query(&mut query);
    let provider = Provider {
        state: session_state(),
        tables: HashMap::from([(PHYSICAL.to_string(), physical)]),
    };
    let plan = typed_plan(&provider, *query, span)?;
    let LogicalPlan::Projection(projection) = &plan else {
        return Err(Error::Unsupported {
            construct: "this computed column expression".into(),
            span,
        });
    };
    let props = ExecutionProps::new();
    let exprs = projection
        .expr
        .iter()
        .map(|e| {
            create_physical_expr(e, projection.input.schema(), &props)
                .map_err(|e| plan_error(e, span))
        })
        .collect::<Result<Vec<_>>>()?;
    let schema = Arc::new(projection.schema.as_arrow().clone());
    if let Some(wm) = def
        .watermark
        .as_ref()
        .filter(|w| def.computed.iter().any(|c| c.name == w.column))
    {
        let dt = schema
            .field_with_name(&wm.column)
            .map(|f| f.data_type().clone())
            .map_err(|e| Error::Internal(e.to_string()))?;
        if !matches!(dt, arrow::datatypes::DataType::Timestamp(..)) {
            return Err(Error::Sql {
                message: format!("the WATERMARK column '{}' must be a TIMESTAMP(3) or TIMESTAMP_LTZ(3), but its expression gives {}", wm.column, crate::sql::types::SqlType::flink_name_of(&dt)),
                span: wm.span,
            });
        }
    }
    Ok(Shape {
        schema: schema.clone(),
        computed: Some((exprs, schema)),
    })
}

/// DataFusion's logical plan of a query, typed by its analyzer and with expressions
/// simplified.
fn typed_plan(
    provider: &Provider,
    query: datafusion::sql::sqlparser::ast::Query,
    span: Span,
) -> Result<LogicalPlan> {
    // Flink identifiers are case-sensitive and STRING is Utf8.
    let options = ParserOptions {
        enable_ident_normalization: false,
        collect_spans: true,
        map_string_types_to_utf8view: false,
        parse_float_as_decimal: false,
        ..ParserOptions::default()
    };
    let planner = SqlToRel::new_with_options(provider, options);
    let plan = planner
        .sql_statement_to_plan(datafusion::sql::sqlparser::ast::Statement::Query(Box::new(
            query,
        )))
        .map_err(|e| plan_error(e, span))?;
    let plan = planned_by_name(plan, &provider.state).map_err(|e| plan_error(e, span))?;
    let plan = provider
        .state
        .analyzer()
        .execute_and_check(plan, provider.state.config_options(), |_, _| {})
        .map_err(|e| plan_error(e, span))?;
    // Before constant folding, so that constants are cast to text the way Flink writes them.
    let plan = flink_casts(plan, &provider.state).map_err(|e| plan_error(e, span))?;
    // Expression simplification only (constant folding, COALESCE to CASE...): DataFusion's
    // other optimizer rules assume batch execution and would reshape the streaming plan.
    Optimizer::with_rules(vec![Arc::new(SimplifyExpressions::new())])
        .optimize(plan, &OptimizerContext::new(), |_, _| {})
        .map_err(|e| plan_error(e, span))
}

/// Swaps the built-ins DataFusion's SQL planner calls for SQL syntax (`EXTRACT`, `SUBSTRING
/// ... FROM ... FOR`, `arr[i]`: `functions::PLANNED_BY_NAME`) for Weir's functions of the same
/// name, and recomputes the schemas above them (Flink's `EXTRACT` is a BIGINT, DataFusion's an
/// INT). Runs before type coercion, so the calls are coerced for Weir's functions.
fn planned_by_name(
    plan: LogicalPlan,
    state: &SessionState,
) -> datafusion::common::Result<LogicalPlan> {
    use datafusion::common::tree_node::{Transformed, TreeNode};
    use datafusion::logical_expr::expr::ScalarFunction;
    let registered = state.scalar_functions();
    plan.transform_up(|node| {
        let node = node.map_expressions(|e| {
            e.transform(|e| match e {
                Expr::ScalarFunction(f)
                    if crate::functions::PLANNED_BY_NAME.contains(&f.func.name()) =>
                {
                    match registered.get(f.func.name()) {
                        Some(udf) if !Arc::ptr_eq(udf, &f.func) => Ok(Transformed::yes(
                            Expr::ScalarFunction(ScalarFunction::new_udf(udf.clone(), f.args)),
                        )),
                        _ => Ok(Transformed::no(Expr::ScalarFunction(f))),
                    }
                }
                other => Ok(Transformed::no(other)),
            })
        })?;
        // A swapped function below may have changed a column's type.
        let transformed = node.transformed;
        let plan = node.data.recompute_schema()?;
        Ok(Transformed::new_transformed(plan, transformed))
    })
    .map(|t| t.data)
}

/// Rewrites `CAST(x AS STRING)` to Flink's text where Arrow's differs (booleans, floats,
/// timestamps, arrays).
fn flink_casts(plan: LogicalPlan, state: &SessionState) -> datafusion::common::Result<LogicalPlan> {
    use crate::functions::to_string::FlinkToString;
    use datafusion::common::tree_node::{Transformed, TreeNode};
    use datafusion::logical_expr::expr::{Cast, ScalarFunction};
    use datafusion::logical_expr::ExprSchemable;
    let Some(udf) = state.scalar_functions().get(FlinkToString::NAME).cloned() else {
        return Ok(plan);
    };
    plan.transform_up(|node| {
        let inputs: Vec<datafusion::common::DFSchemaRef> = node
            .inputs()
            .iter()
            .map(|i| Arc::clone(i.schema()))
            .collect();
        let [input] = inputs.as_slice() else {
            return Ok(Transformed::no(node));
        };
        let input = Arc::clone(input);
        node.map_expressions(|e| {
            e.transform(|e| match &e {
                Expr::Cast(Cast { expr, field })
                    if field.data_type() == &arrow::datatypes::DataType::Utf8 =>
                {
                    match expr.get_type(input.as_ref()) {
                        Ok(t) if FlinkToString::handles(&t) => {
                            let call = Expr::ScalarFunction(ScalarFunction::new_udf(
                                Arc::clone(&udf),
                                vec![expr.as_ref().clone()],
                            ));
                            Ok(Transformed::yes(
                                call.alias_if_changed(e.schema_name().to_string())?,
                            ))
                        }
                        _ => Ok(Transformed::no(e)),
                    }
                }
                _ => Ok(Transformed::no(e)),
            })
        })
    })
    .map(|t| t.data)
}

/// Plans a query over the declared tables.
pub fn plan_query(
    parsed: &ParsedQuery,
    catalog: &HashMap<String, TableDef>,
    options: &PlanOptions,
) -> Result<PlannedQuery> {
    let mut tables = HashMap::new();
    let mut shapes = HashMap::new();
    for (name, def) in catalog {
        let shape = table_shape(def)?;
        let schema = shape.schema.as_ref().clone();
        shapes.insert(name.clone(), shape);
        let window = parsed
            .window
            .iter()
            .filter(|w| !w.over_query)
            .find(|w| w.table.as_deref().is_none_or(|t| t == name))
            .or_else(|| {
                parsed
                    .join_windows
                    .iter()
                    .find(|w| w.table.as_deref() == Some(name.as_str()))
            });
        let schema = if let Some(window) = window {
            // The window columns: computed by the WindowAssigner at the source.
            let column = schema
                .fields()
                .iter()
                .position(|f| &window.time_column == f.name());
            match column {
                Some(i) => WindowAssigner::new(&schema, i, window.kind).schema(),
                None => Arc::new(schema),
            }
        } else {
            Arc::new(schema)
        };
        tables.insert(name.clone(), schema);
    }
    let mut state = session_state();
    if let Some(window) = parsed.window.as_ref().filter(|w| w.over_query) {
        for udf in crate::operators::window_assigner::WindowPane::all(window.kind) {
            let _previous = state.register_udf(Arc::new(udf));
        }
    }
    let provider = Provider { state, tables };
    let plan = typed_plan(&provider, *parsed.query.clone(), parsed.span)?;
    let referenced = referenced_columns(&plan);
    let mut converter = Converter {
        catalog,
        shapes: &shapes,
        referenced: &referenced,
        window: parsed.window.as_ref(),
        join_windows: &parsed.join_windows,
        expand_windows: false,
        tokens: &parsed.tokens,
        span: parsed.span,
        props: ExecutionProps::new(),
        source: None,
        operators: Vec::new(),
        aggregated: false,
        options,
        updating: None,
        row_number_filter: None,
        row_number_dropped: None,
        interval_join: false,
    };
    converter.convert(&plan)?;
    if let Some(spec) = &parsed.window {
        if !converter.aggregated
            && !matches!(spec.kind, crate::sql::query::WindowKind::Tumble { .. })
        {
            return Err(Error::Unsupported {
                construct: format!(
                    "a {} window without an aggregation over it",
                    spec.kind.name()
                ),
                span: spec.span,
            });
        }
    }
    let source = converter
        .source
        .ok_or_else(|| Error::Internal("the plan has no source".into()))?;
    if let (Some(spec), PlannedSource::Table { assigner: None, .. } | PlannedSource::Values(_)) =
        (parsed.window.as_ref().filter(|w| !w.over_query), &source)
    {
        return Err(Error::Sql {
            message: "the window's table is not read by this query".into(),
            span: spec.span,
        });
    }
    Ok(PlannedQuery {
        source,
        operators: converter.operators,
        schema: Arc::new(plan.schema().as_arrow().clone()),
        window: parsed.window.clone(),
        updating: converter.updating,
    })
}

/// Adds the cast to the sink's declared column types (by position, as Flink's INSERT does).
pub fn conform_to_sink(query: &mut PlannedQuery, sink: &TableDef, at: Span) -> Result<()> {
    use crate::connectors::{ConnectorSpec, Takes};
    let connector = sink.option("connector").map(|(c, _)| c).unwrap_or_default();
    let takes = ConnectorSpec::find(connector).map(|c| c.takes);
    if let Some(node) = &query.updating {
        let hint = match takes {
            Some(Takes::Updates) => None,
            Some(Takes::UpdatesWithPrimaryKey) if !sink.primary_key.is_empty() => None,
            Some(Takes::UpdatesWithPrimaryKey) => Some(
                "Declare PRIMARY KEY (...) NOT ENFORCED on the table to make it an upsert sink, or use a windowed aggregation",
            ),
            _ => Some(
                "Use a windowed aggregation, or a sink that takes updates ('print', or 'duckdb' with a PRIMARY KEY)",
            ),
        };
        if let Some(hint) = hint {
            return Err(Error::Sql {
                message: format!(
                    "table '{}' (connector '{connector}') only takes appends, but the query's result is updating: it is produced by {node}. {hint}",
                    sink.name
                ),
                span: at,
            });
        }
    }
    let target = Arc::new(sink.sink_schema());
    let produced = &query.schema;
    if produced.fields().len() != target.fields().len() {
        let names = |s: &Schema| {
            s.fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(Error::Sql {
            message: format!(
                "the query produces {} columns ({}) but table '{}' has {} ({})",
                produced.fields().len(),
                names(produced),
                sink.name,
                target.fields().len(),
                names(&target)
            ),
            span: at,
        });
    }
    for (i, (p, t)) in produced.fields().iter().zip(target.fields()).enumerate() {
        if p.data_type() != t.data_type() && !can_cast_types(p.data_type(), t.data_type()) {
            return Err(Error::Sql {
                message: format!(
                    "column {} of the query ('{}', {}) cannot be written to column '{}' ({}) of table '{}'",
                    i + 1,
                    p.name(),
                    crate::sql::types::SqlType::flink_name_of(p.data_type()),
                    t.name(),
                    crate::sql::types::SqlType::flink_name_of(t.data_type()),
                    sink.name
                ),
                span: at,
            });
        }
    }
    query.operators.push(Box::new(Conform::new(target.clone())));
    query.schema = target;
    Ok(())
}
