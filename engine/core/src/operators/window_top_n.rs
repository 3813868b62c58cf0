//! WindowTopN: Flink's window Top-N, `ROW_NUMBER() OVER (PARTITION BY window_start,
//! window_end [, k] ORDER BY ...) <= N` over a window aggregation. The aggregation emits each
//! fired window whole, in one batch, so ranking needs no state: rows are sorted by partition
//! then order, the first N of every partition are kept and numbered. Append-only, as in Flink.

use std::fmt;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, UInt32Array};
use arrow::compute::{lexsort_to_indices, take_record_batch, SortColumn, SortOptions};
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, SortField};
use datafusion::physical_expr::PhysicalExpr;
use weir_api::JobMetrics;

use super::Operator;
use crate::{Error, Result};

pub struct WindowTopN {
    partition: Vec<Arc<dyn PhysicalExpr>>,
    /// ORDER BY expressions with their direction (`descending`, `nulls_first`).
    order: Vec<(Arc<dyn PhysicalExpr>, SortOptions)>,
    limit: usize,
    /// The input columns and the row number.
    schema: SchemaRef,
    converter: RowConverter,
}

fn arrow_err(e: arrow::error::ArrowError) -> Error {
    Error::Internal(format!("window Top-N failed: {e}"))
}

fn df(e: datafusion::error::DataFusionError) -> Error {
    Error::Data(format!("window Top-N failed: {e}"))
}

impl WindowTopN {
    pub fn try_new(
        partition: Vec<Arc<dyn PhysicalExpr>>,
        order: Vec<(Arc<dyn PhysicalExpr>, SortOptions)>,
        limit: usize,
        input: &Schema,
        output: &Schema,
    ) -> Result<Self> {
        let types = partition
            .iter()
            .map(|p| p.data_type(input))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(df)?;
        let converter = RowConverter::new(types.into_iter().map(SortField::new).collect())
            .map_err(arrow_err)?;
        let fields: Vec<Field> = output
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect();
        Ok(Self {
            partition,
            order,
            limit,
            schema: Arc::new(Schema::new(fields)),
            converter,
        })
    }
}

impl fmt::Display for WindowTopN {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let partition: Vec<String> = self.partition.iter().map(|p| p.to_string()).collect();
        let order: Vec<String> = self
            .order
            .iter()
            .map(|(e, o)| format!("{e} {}", if o.descending { "DESC" } else { "ASC" }))
            .collect();
        write!(
            f,
            "WindowTopN: top {} per [{}] by [{}]",
            self.limit,
            partition.join(", "),
            order.join(", ")
        )
    }
}

impl Operator for WindowTopN {
    fn process_batch(
        &mut self,
        batch: RecordBatch,
        _: &mut JobMetrics,
    ) -> Result<Vec<RecordBatch>> {
        let n = batch.num_rows();
        let eval = |e: &Arc<dyn PhysicalExpr>| {
            e.evaluate(&batch).and_then(|v| v.into_array(n)).map_err(df)
        };
        let partition = self
            .partition
            .iter()
            .map(eval)
            .collect::<Result<Vec<ArrayRef>>>()?;
        let mut sort: Vec<SortColumn> = partition
            .iter()
            .map(|values| SortColumn {
                values: values.clone(),
                options: None,
            })
            .collect();
        for (e, options) in &self.order {
            sort.push(SortColumn {
                values: eval(e)?,
                options: Some(*options),
            });
        }
        let sorted = lexsort_to_indices(&sort, None).map_err(arrow_err)?;
        let keys = self
            .converter
            .convert_columns(&partition)
            .map_err(arrow_err)?;
        let mut kept = Vec::new();
        let mut ranks = Vec::new();
        let mut previous: Option<usize> = None;
        let mut rank = 0usize;
        for i in sorted.values().iter().map(|i| *i as usize) {
            let same = previous.is_some_and(|p| keys.row(p) == keys.row(i));
            rank = if same { rank + 1 } else { 1 };
            previous = Some(i);
            if rank <= self.limit {
                kept.push(i as u32);
                ranks.push(rank as i64);
            }
        }
        let top = take_record_batch(&batch, &UInt32Array::from(kept)).map_err(arrow_err)?;
        let mut columns = top.columns()[..self.schema.fields().len() - 1].to_vec();
        columns.push(Arc::new(Int64Array::from(ranks)));
        let out = super::batch_of(&self.schema, columns, top.num_rows())?;
        Ok(vec![out])
    }
}
