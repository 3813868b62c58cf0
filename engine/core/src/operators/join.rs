//! SymmetricHashJoin: an inner equi-join of two streams. Each side keeps its rows in a hash
//! table by join key; a new row probes the other side's table and every match is emitted
//! (left columns, then right columns), then the row joins its own side's table. With
//! append-only inputs the result is append-only, as Flink's regular inner join. A residual
//! condition (`ON a.k = b.k AND a.ts BETWEEN b.ts - INTERVAL ... AND b.ts`) filters the
//! matches, so interval joins give Flink's rows too (their state is not yet cleaned by time).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::{cast, filter_record_batch, interleave};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, SortField};
use datafusion::physical_expr::PhysicalExpr;
use weir_api::JobMetrics;

use crate::{Error, Result};

/// Which input a batch comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Left,
    Right,
}

/// One side's rows: its batches, and per join key where its rows are.
#[derive(Default)]
struct SideState {
    batches: Vec<RecordBatch>,
    index: HashMap<Box<[u8]>, Vec<(usize, usize)>>,
    rows: usize,
}

pub struct SymmetricHashJoin {
    left_keys: Vec<Arc<dyn PhysicalExpr>>,
    right_keys: Vec<Arc<dyn PhysicalExpr>>,
    /// Evaluated on the joined row.
    filter: Option<Arc<dyn PhysicalExpr>>,
    schema: SchemaRef,
    left_width: usize,
    converter: RowConverter,
    left: SideState,
    right: SideState,
}

fn arrow_err(e: arrow::error::ArrowError) -> Error {
    Error::Internal(format!("join failed: {e}"))
}

fn df(e: datafusion::error::DataFusionError) -> Error {
    Error::Data(format!("join failed: {e}"))
}

impl SymmetricHashJoin {
    pub fn try_new(
        left_keys: Vec<Arc<dyn PhysicalExpr>>,
        right_keys: Vec<Arc<dyn PhysicalExpr>>,
        key_types: Vec<arrow::datatypes::DataType>,
        filter: Option<Arc<dyn PhysicalExpr>>,
        schema: SchemaRef,
        left_width: usize,
    ) -> Result<Self> {
        let converter = RowConverter::new(key_types.into_iter().map(SortField::new).collect())
            .map_err(arrow_err)?;
        Ok(Self {
            left_keys,
            right_keys,
            filter,
            schema,
            left_width,
            converter,
            left: SideState::default(),
            right: SideState::default(),
        })
    }

    /// Rows kept in the join's state, both sides.
    pub fn state_rows(&self) -> usize {
        self.left.rows + self.right.rows
    }

    /// Joins a batch from one side with everything seen on the other; keeps the batch.
    pub fn process(
        &mut self,
        side: Side,
        batch: RecordBatch,
        _: &mut JobMetrics,
    ) -> Result<Vec<RecordBatch>> {
        let n = batch.num_rows();
        let key_exprs = match side {
            Side::Left => &self.left_keys,
            Side::Right => &self.right_keys,
        };
        let key_columns: Vec<ArrayRef> = key_exprs
            .iter()
            .map(|k| k.evaluate(&batch).and_then(|v| v.into_array(n)))
            .collect::<std::result::Result<_, _>>()
            .map_err(df)?;
        let key_columns = key_columns
            .iter()
            .zip(
                self.converter
                    .convert_rows(std::iter::empty())
                    .map_err(arrow_err)?,
            )
            .map(|(c, t)| {
                if c.data_type() == t.data_type() {
                    Ok(c.clone())
                } else {
                    cast(c, t.data_type())
                }
            })
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(arrow_err)?;
        let keys = self
            .converter
            .convert_columns(&key_columns)
            .map_err(arrow_err)?;
        // A NULL key matches nothing, as in SQL.
        let has_null = |i: usize| key_columns.iter().any(|c| c.is_null(i));
        let (own, other) = match side {
            Side::Left => (&mut self.left, &self.right),
            Side::Right => (&mut self.right, &self.left),
        };
        let batch_index = own.batches.len();
        let mut this_rows = Vec::new();
        let mut other_rows = Vec::new();
        for i in 0..n {
            if has_null(i) {
                continue;
            }
            let key: &[u8] = keys.row(i).data();
            if let Some(matches) = other.index.get(key) {
                for m in matches {
                    this_rows.push((0usize, i));
                    other_rows.push(*m);
                }
            }
            own.index
                .entry(key.into())
                .or_default()
                .push((batch_index, i));
        }
        own.rows += n;
        let output = if this_rows.is_empty() {
            None
        } else {
            // Matched columns of this batch and of the other side's stored batches.
            let this_columns = (0..batch.num_columns()).map(|c| {
                let arrays = [batch.column(c).as_ref()];
                interleave(&arrays, &this_rows)
            });
            let other_columns =
                (0..other.batches.first().map_or(0, |b| b.num_columns())).map(|c| {
                    let arrays: Vec<&dyn Array> =
                        other.batches.iter().map(|b| b.column(c).as_ref()).collect();
                    interleave(&arrays, &other_rows)
                });
            let (this_columns, other_columns): (Vec<_>, Vec<_>) = (
                this_columns
                    .collect::<std::result::Result<_, _>>()
                    .map_err(arrow_err)?,
                other_columns
                    .collect::<std::result::Result<_, _>>()
                    .map_err(arrow_err)?,
            );
            let columns = match side {
                Side::Left => [this_columns, other_columns].concat(),
                Side::Right => [other_columns, this_columns].concat(),
            };
            Some(super::batch_of(&self.schema, columns, this_rows.len())?)
        };
        own.batches.push(batch);
        let Some(joined) = output else {
            return Ok(vec![]);
        };
        let joined = match &self.filter {
            Some(f) => {
                let mask = f
                    .evaluate(&joined)
                    .and_then(|v| v.into_array(joined.num_rows()))
                    .map_err(df)?;
                let mask = mask
                    .as_boolean_opt()
                    .ok_or_else(|| Error::Internal("join condition is not boolean".into()))?;
                filter_record_batch(&joined, mask).map_err(arrow_err)?
            }
            None => joined,
        };
        Ok(vec![joined])
    }
}

impl fmt::Display for SymmetricHashJoin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pairs: Vec<String> = self
            .left_keys
            .iter()
            .zip(&self.right_keys)
            .map(|(l, r)| format!("{l} = {r}"))
            .collect();
        write!(f, "SymmetricHashJoin (inner): {}", pairs.join(" AND "))?;
        if let Some(filter) = &self.filter {
            write!(f, " AND {filter}")?;
        }
        write!(f, " [left has {} columns]", self.left_width)
    }
}
