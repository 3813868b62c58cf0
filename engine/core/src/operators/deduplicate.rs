//! Deduplicate: Flink's deduplication query, `ROW_NUMBER() OVER (PARTITION BY k ORDER BY t)`
//! filtered to `= 1`. Keeping the first row per key (`ORDER BY t ASC`) emits `+I` for a key's
//! first row and, when a row with a smaller `t` arrives later (out-of-order event time), the
//! change `-U` old / `+U` new; keeping the last (`DESC`) replaces the row whenever a row with
//! a larger or equal `t` arrives. Keys idle longer than `table.exec.state.ttl` (processing
//! time) are forgotten: a duplicate after that passes again, as in Flink.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{ArrayRef, Int64Array, Int8Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::row::{OwnedRow, RowConverter, SortField};
use datafusion::physical_expr::PhysicalExpr;
use weir_api::JobMetrics;

use super::group_aggregate::{RowKind, OP_COLUMN};
use super::{state, Operator};
use crate::{Error, Result};

pub struct Deduplicate {
    keys: Vec<Arc<dyn PhysicalExpr>>,
    /// The ORDER BY expression; compared through the row format, so any orderable type works.
    order: Arc<dyn PhysicalExpr>,
    keep_last: bool,
    ttl: Option<Duration>,
    /// Input columns, the row number (always 1), and the row kind.
    schema: SchemaRef,
    key_converter: RowConverter,
    order_converter: RowConverter,
    /// The whole input row, to emit it again as `-U`.
    row_converter: RowConverter,
    /// Per key: the kept row's order value, the row itself, and when the key was last seen.
    kept: HashMap<Box<[u8]>, Kept>,
    /// How many input columns a row has (batches may carry more after them).
    input_width: usize,
    /// Keeping the first row by processing time never changes a row: an insert-only result.
    insert_only: bool,
}

/// A key's kept row: its order value, the row, and when the key was last seen.
type Kept = (OwnedRow, OwnedRow, Instant);

fn arrow_err(e: arrow::error::ArrowError) -> Error {
    Error::Internal(format!("deduplication failed: {e}"))
}

fn df(e: datafusion::error::DataFusionError) -> Error {
    Error::Data(format!("deduplication failed: {e}"))
}

impl Deduplicate {
    /// `input` is the schema of the rows; `output` the plan's Window schema (input + rn).
    #[allow(clippy::too_many_arguments)]
    pub fn try_new(
        keys: Vec<Arc<dyn PhysicalExpr>>,
        order: Arc<dyn PhysicalExpr>,
        keep_last: bool,
        insert_only: bool,
        ttl: Option<Duration>,
        input: &Schema,
        output: &Schema,
    ) -> Result<Self> {
        let key_types = keys
            .iter()
            .map(|k| k.data_type(input))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(df)?;
        let order_type = order.data_type(input).map_err(df)?;
        let key_converter = RowConverter::new(key_types.into_iter().map(SortField::new).collect())
            .map_err(arrow_err)?;
        let order_converter =
            RowConverter::new(vec![SortField::new(order_type)]).map_err(arrow_err)?;
        let row_converter = RowConverter::new(
            input
                .fields()
                .iter()
                .map(|f| SortField::new(f.data_type().clone()))
                .collect(),
        )
        .map_err(arrow_err)?;
        let mut fields: Vec<Field> = output
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect();
        fields.push(Field::new(OP_COLUMN, DataType::Int8, false));
        Ok(Self {
            keys,
            order,
            keep_last,
            ttl,
            schema: Arc::new(Schema::new(fields)),
            key_converter,
            order_converter,
            row_converter,
            kept: HashMap::new(),
            input_width: input.fields().len(),
            insert_only,
        })
    }
}

impl fmt::Display for Deduplicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<String> = self.keys.iter().map(|k| k.to_string()).collect();
        write!(
            f,
            "Deduplicate: keep {} row per [{}] by {}",
            if self.keep_last { "last" } else { "first" },
            keys.join(", "),
            self.order
        )?;
        if let Some(ttl) = self.ttl {
            write!(f, ", state ttl={}ms", ttl.as_millis())?;
        }
        Ok(())
    }
}

impl Operator for Deduplicate {
    fn process_batch(
        &mut self,
        batch: RecordBatch,
        _: &mut JobMetrics,
    ) -> Result<Vec<RecordBatch>> {
        let n = batch.num_rows();
        let now = Instant::now();
        if let Some(ttl) = self.ttl {
            self.kept
                .retain(|_, (_, _, seen)| now.duration_since(*seen) <= ttl);
        }
        let eval = |e: &Arc<dyn PhysicalExpr>| {
            e.evaluate(&batch).and_then(|v| v.into_array(n)).map_err(df)
        };
        let key_columns = self
            .keys
            .iter()
            .map(eval)
            .collect::<Result<Vec<ArrayRef>>>()?;
        let keys = self
            .key_converter
            .convert_columns(&key_columns)
            .map_err(arrow_err)?;
        let orders = self
            .order_converter
            .convert_columns(&[eval(&self.order)?])
            .map_err(arrow_err)?;
        let input = batch.columns()[..self.input_width].to_vec();
        let rows = self
            .row_converter
            .convert_columns(&input)
            .map_err(arrow_err)?;
        let mut out_rows: Vec<OwnedRow> = Vec::new();
        let mut kinds: Vec<i8> = Vec::new();
        for i in 0..n {
            let key: &[u8] = keys.row(i).data();
            let order = orders.row(i);
            match self.kept.get_mut(key) {
                None => {
                    self.kept
                        .insert(key.into(), (order.owned(), rows.row(i).owned(), now));
                    out_rows.push(rows.row(i).owned());
                    kinds.push(RowKind::Insert as i8);
                }
                Some((kept_order, kept_row, seen)) => {
                    *seen = now;
                    let replaces = if self.keep_last {
                        order >= kept_order.row()
                    } else {
                        order < kept_order.row()
                    };
                    if replaces {
                        out_rows.push(kept_row.clone());
                        kinds.push(RowKind::UpdateBefore as i8);
                        out_rows.push(rows.row(i).owned());
                        kinds.push(RowKind::UpdateAfter as i8);
                        *kept_order = order.owned();
                        *kept_row = rows.row(i).owned();
                    }
                }
            }
        }
        if kinds.is_empty() {
            return Ok(vec![]);
        }
        let count = kinds.len();
        let mut columns = self
            .row_converter
            .convert_rows(out_rows.iter().map(|r| r.row()))
            .map_err(arrow_err)?;
        columns.push(Arc::new(Int64Array::from(vec![1i64; count])));
        columns.push(Arc::new(Int8Array::from(kinds)));
        let out = super::batch_of(&self.schema, columns, count)?;
        if self.insert_only {
            // Every row is a +I: an insert-only result carries no row kinds.
            return Ok(vec![super::group_aggregate::without_op(&out)]);
        }
        Ok(vec![out])
    }

    /// One row per key: the key columns (`__key<i>`), the kept row's order value
    /// (`__order`), the kept row's columns (`__row<i>`) and the key's last access (for the
    /// state TTL).
    fn snapshot(&mut self) -> Result<Option<RecordBatch>> {
        let entries: Vec<(&Box<[u8]>, &Kept)> = self.kept.iter().collect();
        let mut b = state::SnapshotBuilder::new(SNAPSHOT_KIND, entries.len());
        let parser = self.key_converter.parser();
        let keys = self
            .key_converter
            .convert_rows(entries.iter().map(|(k, _)| parser.parse(k)))
            .map_err(arrow_err)?;
        for (i, k) in keys.into_iter().enumerate() {
            b.column(format!("__key{i}"), k);
        }
        let order = self
            .order_converter
            .convert_rows(entries.iter().map(|(_, (o, _, _))| o.row()))
            .map_err(arrow_err)?;
        for o in order {
            b.column("__order", o);
        }
        let rows = self
            .row_converter
            .convert_rows(entries.iter().map(|(_, (_, r, _))| r.row()))
            .map_err(arrow_err)?;
        for (i, c) in rows.into_iter().enumerate() {
            b.column(format!("__row{i}"), c);
        }
        b.last_access(entries.iter().map(|(_, (_, _, seen))| *seen));
        Ok(Some(b.finish()?))
    }

    fn restore(&mut self, snapshot: &RecordBatch) -> Result<()> {
        let r = state::SnapshotReader::new(snapshot, SNAPSHOT_KIND)?;
        let keys = r.columns("__key", self.keys.len())?;
        let order = r.column("__order")?.clone();
        let row_columns = r.columns("__row", self.input_width)?;
        let seen = r.last_access()?;
        let keys = self
            .key_converter
            .convert_columns(&keys)
            .map_err(arrow_err)?;
        let orders = self
            .order_converter
            .convert_columns(&[order])
            .map_err(arrow_err)?;
        let rows = self
            .row_converter
            .convert_columns(&row_columns)
            .map_err(arrow_err)?;
        self.kept = seen
            .into_iter()
            .enumerate()
            .map(|(i, seen)| {
                (
                    keys.row(i).data().into(),
                    (orders.row(i).owned(), rows.row(i).owned(), seen),
                )
            })
            .collect();
        Ok(())
    }
}

const SNAPSHOT_KIND: &str = "Deduplicate";
