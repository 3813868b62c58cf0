//! Filter and Projection: stateless operators that evaluate DataFusion physical expressions
//! on each batch (Flink calls the pair "Calc").

use std::fmt;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray};
use arrow::compute::filter_record_batch;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::physical_expr::PhysicalExpr;
use weir_api::JobMetrics;

use super::group_aggregate::carry_op;
use super::Operator;
use crate::{Error, Result};

fn df(e: datafusion::error::DataFusionError) -> Error {
    Error::Data(format!("evaluating an expression failed: {e}"))
}

/// Keeps the rows for which `predicate` is true.
pub struct Filter {
    /// A boolean expression over the input schema.
    predicate: Arc<dyn PhysicalExpr>,
}

impl Filter {
    pub fn new(predicate: Arc<dyn PhysicalExpr>) -> Self {
        Self { predicate }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Filter: {}", self.predicate)
    }
}

impl Operator for Filter {
    fn process_batch(
        &mut self,
        batch: RecordBatch,
        _: &mut JobMetrics,
    ) -> Result<Vec<RecordBatch>> {
        let mask = self
            .predicate
            .evaluate(&batch)
            .map_err(df)?
            .into_array(batch.num_rows())
            .map_err(df)?;
        let mask = mask.as_boolean_opt().ok_or_else(|| {
            Error::Internal(format!(
                "filter predicate {} is not boolean",
                self.predicate
            ))
        })?;
        let out = filter_record_batch(&batch, mask).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(vec![out])
    }
}

/// Computes the output columns from expressions over the input.
pub struct Projection {
    exprs: Vec<Arc<dyn PhysicalExpr>>,
    /// The output schema (names and types as the query plan says).
    schema: SchemaRef,
    /// Over an updating GROUP BY: the input columns the expressions read. An update (`-U`
    /// then `+U`) that changes none of them is dropped, as Flink's aggregation, which only
    /// computes the columns read above it, emits nothing for it.
    unchanged_updates_dropped: Option<Vec<usize>>,
}

impl Projection {
    pub fn new(exprs: Vec<Arc<dyn PhysicalExpr>>, schema: SchemaRef) -> Self {
        Self {
            exprs,
            schema,
            unchanged_updates_dropped: None,
        }
    }

    /// Drops the updates of the input that change no column the expressions read (for a
    /// projection right over an updating GROUP BY).
    pub fn dropping_unchanged_updates(mut self) -> Self {
        let mut columns: Vec<usize> = self
            .exprs
            .iter()
            .flat_map(datafusion::physical_expr::utils::collect_columns)
            .map(|c| c.index())
            .collect();
        columns.sort_unstable();
        columns.dedup();
        self.unchanged_updates_dropped = Some(columns);
        self
    }
}

/// `batch` without its updates (`-U` right before `+U`) that change none of `columns`.
pub fn drop_unchanged_updates(batch: RecordBatch, columns: &[usize]) -> Result<RecordBatch> {
    use super::group_aggregate::RowKind;
    let Some(kinds) = super::group_aggregate::is_changelog(&batch)
        .then(|| {
            batch
                .columns()
                .last()
                .and_then(|c| c.as_primitive_opt::<arrow::datatypes::Int8Type>())
        })
        .flatten()
    else {
        return Ok(batch);
    };
    let arrays: Vec<ArrayRef> = columns.iter().map(|&c| batch.column(c).clone()).collect();
    let converter = arrow::row::RowConverter::new(
        arrays
            .iter()
            .map(|a| arrow::row::SortField::new(a.data_type().clone()))
            .collect(),
    )
    .map_err(|e| Error::Internal(e.to_string()))?;
    let rows = converter
        .convert_columns(&arrays)
        .map_err(|e| Error::Internal(e.to_string()))?;
    let n = batch.num_rows();
    let mut keep = vec![true; n];
    let mut i = 0;
    while i + 1 < n {
        if kinds.value(i) == RowKind::UpdateBefore as i8
            && kinds.value(i + 1) == RowKind::UpdateAfter as i8
            && rows.row(i) == rows.row(i + 1)
        {
            keep[i] = false;
            keep[i + 1] = false;
            i += 2;
        } else {
            i += 1;
        }
    }
    if keep.iter().all(|k| *k) {
        return Ok(batch);
    }
    filter_record_batch(&batch, &arrow::array::BooleanArray::from(keep))
        .map_err(|e| Error::Internal(e.to_string()))
}

impl fmt::Display for Projection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cols: Vec<String> = self
            .exprs
            .iter()
            .zip(self.schema.fields())
            .map(|(e, fl)| format!("{e} AS {}", fl.name()))
            .collect();
        write!(f, "Projection: {}", cols.join(", "))
    }
}

impl Operator for Projection {
    fn process_batch(
        &mut self,
        batch: RecordBatch,
        _: &mut JobMetrics,
    ) -> Result<Vec<RecordBatch>> {
        let batch = match &self.unchanged_updates_dropped {
            Some(columns) => drop_unchanged_updates(batch, columns)?,
            None => batch,
        };
        let n = batch.num_rows();
        let columns: Vec<ArrayRef> = self
            .exprs
            .iter()
            .map(|e| e.evaluate(&batch).and_then(|v| v.into_array(n)))
            .collect::<std::result::Result<_, _>>()
            .map_err(df)?;
        let options = RecordBatchOptions::new().with_row_count(Some(n));
        let out = RecordBatch::try_new_with_options(self.schema.clone(), columns, &options)
            .map_err(|e| Error::Internal(format!("projection built a bad batch: {e}")))?;
        Ok(vec![carry_op(&batch, out)?])
    }
}

/// Casts each column to the type of the table it is written to (by position), and renames
/// the columns to the table's names.
pub struct Conform {
    schema: SchemaRef,
}

impl Conform {
    pub fn new(schema: SchemaRef) -> Self {
        Self { schema }
    }
}

impl fmt::Display for Conform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cols: Vec<String> = self
            .schema
            .fields()
            .iter()
            .map(|c| format!("{} {}", c.name(), c.data_type()))
            .collect();
        write!(f, "Conform: {}", cols.join(", "))
    }
}

impl Operator for Conform {
    fn process_batch(
        &mut self,
        batch: RecordBatch,
        _: &mut JobMetrics,
    ) -> Result<Vec<RecordBatch>> {
        let columns: Vec<ArrayRef> = batch
            .columns()
            .iter()
            .zip(self.schema.fields())
            .map(|(c, f)| {
                if c.data_type() == f.data_type() {
                    Ok(c.clone())
                } else {
                    arrow::compute::cast(c, f.data_type())
                }
            })
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| Error::Data(format!("cannot convert a column for the sink: {e}")))?;
        let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        let out = RecordBatch::try_new_with_options(self.schema.clone(), columns, &options)
            .map_err(|e| Error::Internal(format!("conform built a bad batch: {e}")))?;
        Ok(vec![carry_op(&batch, out)?])
    }
}
