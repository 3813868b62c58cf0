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
}

impl Projection {
    pub fn new(exprs: Vec<Arc<dyn PhysicalExpr>>, schema: SchemaRef) -> Self {
        Self { exprs, schema }
    }
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
