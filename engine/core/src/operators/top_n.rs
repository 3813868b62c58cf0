//! TopN: Flink's Top-N without a window, `ROW_NUMBER() OVER (PARTITION BY k ORDER BY ...)`
//! filtered to `<= N` over an append-only input, an updating result emitted as Flink's
//! `AppendOnlyTopNFunction` emits it. Per partition the best N rows are kept in order (a row
//! tying with kept rows goes after them). When the row number is selected, a row entering at
//! rank r moves every row below it down one rank: `-U`/`+U` per rank from r to N, then `+I` at
//! the first free rank if the partition had fewer than N rows. Without the row number, the row
//! that falls out is retracted (`-D`) and the new one inserted (`+I`). Sort keys untouched for
//! longer than `table.exec.state.ttl` (processing time) are forgotten, as Flink's state TTL
//! forgets them.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{ArrayRef, Int64Array, Int8Array};
use arrow::compute::SortOptions;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::row::{OwnedRow, Row, RowConverter, SortField};
use datafusion::physical_expr::PhysicalExpr;
use weir_api::JobMetrics;

use super::group_aggregate::{RowKind, OP_COLUMN};
use super::{state, Operator};
use crate::{Error, Result};

pub struct TopN {
    keys: RankKeys,
    limit: usize,
    /// Whether the query selects the row number (Flink's `outputRankNumber`).
    with_rank: bool,
    ttl: Option<Duration>,
    partitions: HashMap<Box<[u8]>, Vec<Entry>>,
}

/// What every Top-N computes of its rows: the partition, the sort key and the row itself in
/// Arrow's row format (sort keys compare as the ORDER BY orders), and the output schema.
pub(super) struct RankKeys {
    partition: Vec<Arc<dyn PhysicalExpr>>,
    /// ORDER BY expressions with their direction; compared through the row format.
    order: Vec<(Arc<dyn PhysicalExpr>, SortOptions)>,
    /// Input columns, the row number, and the row kind.
    pub(super) schema: SchemaRef,
    pub(super) input: SchemaRef,
    partition_converter: RowConverter,
    order_converter: RowConverter,
    pub(super) row_converter: RowConverter,
}

/// The kept rows of one sort key, in arrival order, and when the key was last written.
struct Entry {
    key: OwnedRow,
    rows: Vec<OwnedRow>,
    written: Instant,
}

/// A row to emit: the row, its rank, its kind.
pub(super) type Change = (OwnedRow, i64, RowKind);

pub(super) fn arrow_err(e: arrow::error::ArrowError) -> Error {
    Error::Internal(format!("Top-N failed: {e}"))
}

pub(super) fn df(e: datafusion::error::DataFusionError) -> Error {
    Error::Data(format!("Top-N failed: {e}"))
}

const SNAPSHOT_KIND: &str = "TopN";

impl RankKeys {
    /// `input` is the schema of the rows; `output` the plan's Window schema (input + rn).
    pub(super) fn try_new(
        partition: Vec<Arc<dyn PhysicalExpr>>,
        order: Vec<(Arc<dyn PhysicalExpr>, SortOptions)>,
        input: &Schema,
        output: &Schema,
    ) -> Result<Self> {
        let partition_types = partition
            .iter()
            .map(|p| p.data_type(input))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(df)?;
        let order_fields = order
            .iter()
            .map(|(e, o)| {
                e.data_type(input)
                    .map(|t| SortField::new_with_options(t, *o))
            })
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(df)?;
        let row_fields = input
            .fields()
            .iter()
            .map(|f| SortField::new(f.data_type().clone()))
            .collect();
        let mut fields: Vec<Field> = output
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect();
        fields.push(Field::new(OP_COLUMN, DataType::Int8, false));
        Ok(Self {
            partition,
            order,
            schema: Arc::new(Schema::new(fields)),
            input: Arc::new(input.clone()),
            partition_converter: RowConverter::new(
                partition_types.into_iter().map(SortField::new).collect(),
            )
            .map_err(arrow_err)?,
            order_converter: RowConverter::new(order_fields).map_err(arrow_err)?,
            row_converter: RowConverter::new(row_fields).map_err(arrow_err)?,
        })
    }

    /// Whether the whole input is one partition (no PARTITION BY).
    pub(super) fn global(&self) -> bool {
        self.partition.is_empty()
    }

    /// The keys of the rows of `batch`: partition, sort key, the row itself.
    pub(super) fn convert(&self, batch: &RecordBatch) -> Result<[arrow::row::Rows; 3]> {
        let n = batch.num_rows();
        let eval =
            |e: &Arc<dyn PhysicalExpr>| e.evaluate(batch).and_then(|v| v.into_array(n)).map_err(df);
        let partition = self
            .partition
            .iter()
            .map(eval)
            .collect::<Result<Vec<ArrayRef>>>()?;
        let order = self
            .order
            .iter()
            .map(|(e, _)| eval(e))
            .collect::<Result<Vec<ArrayRef>>>()?;
        let width = self.input.fields().len();
        Ok([
            self.partition_converter
                .convert_columns(&partition)
                .map_err(arrow_err)?,
            self.order_converter
                .convert_columns(&order)
                .map_err(arrow_err)?,
            self.row_converter
                .convert_columns(&batch.columns()[..width])
                .map_err(arrow_err)?,
        ])
    }

    /// The changes as one output batch (rows, row numbers, row kinds); none when empty.
    pub(super) fn output(&self, out: &[Change]) -> Result<Vec<RecordBatch>> {
        if out.is_empty() {
            return Ok(vec![]);
        }
        let mut columns = self
            .row_converter
            .convert_rows(out.iter().map(|(r, _, _)| r.row()))
            .map_err(arrow_err)?;
        columns.push(Arc::new(Int64Array::from_iter_values(
            out.iter().map(|(_, rank, _)| *rank),
        )));
        columns.push(Arc::new(Int8Array::from_iter_values(
            out.iter().map(|(_, _, kind)| *kind as i8),
        )));
        Ok(vec![super::batch_of(&self.schema, columns, out.len())?])
    }

    /// Kept rows (best first within each partition) as a snapshot of `kind`: `__row<i>` and
    /// `__last_access`.
    pub(super) fn snapshot<'r>(
        &self,
        kind: &str,
        rows: Vec<(Row<'r>, Instant)>,
    ) -> Result<RecordBatch> {
        let mut b = state::SnapshotBuilder::new(kind, rows.len());
        let (rows, written): (Vec<_>, Vec<_>) = rows.into_iter().unzip();
        let columns = self.row_converter.convert_rows(rows).map_err(arrow_err)?;
        for (i, c) in columns.into_iter().enumerate() {
            b.column(format!("__row{i}"), c);
        }
        b.last_access(written.into_iter());
        b.finish()
    }

    /// A snapshot's rows back as a batch of the input, with their last accesses.
    pub(super) fn restore(
        &self,
        snapshot: &RecordBatch,
        kind: &str,
    ) -> Result<(RecordBatch, Vec<Instant>)> {
        let r = state::SnapshotReader::new(snapshot, kind)?;
        let columns = r.columns("__row", self.input.fields().len())?;
        let written = r.last_access()?;
        Ok((super::batch_of(&self.input, columns, r.rows())?, written))
    }
}

impl fmt::Display for RankKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let partition: Vec<String> = self.partition.iter().map(|p| p.to_string()).collect();
        let order: Vec<String> = self
            .order
            .iter()
            .map(|(e, o)| format!("{e} {}", if o.descending { "DESC" } else { "ASC" }))
            .collect();
        write!(
            f,
            "per [{}] by [{}]",
            partition.join(", "),
            order.join(", ")
        )
    }
}

impl TopN {
    /// `input` is the schema of the rows; `output` the plan's Window schema (input + rn).
    #[allow(clippy::too_many_arguments)]
    pub fn try_new(
        partition: Vec<Arc<dyn PhysicalExpr>>,
        order: Vec<(Arc<dyn PhysicalExpr>, SortOptions)>,
        limit: usize,
        with_rank: bool,
        ttl: Option<Duration>,
        input: &Schema,
        output: &Schema,
    ) -> Result<Self> {
        Ok(Self {
            keys: RankKeys::try_new(partition, order, input, output)?,
            limit,
            with_rank,
            ttl,
            partitions: HashMap::new(),
        })
    }

    /// Adds one row to its partition; the changes it makes to the result go to `out`.
    fn insert(
        &mut self,
        partition: &[u8],
        key: Row<'_>,
        row: Row<'_>,
        now: Instant,
        out: &mut Vec<Change>,
    ) {
        // A top 1 emits updates with or without the row number, as Flink's `FastTop1Function`.
        let (limit, with_rank) = (self.limit, self.with_rank || self.limit == 1);
        let entries = self.partitions.entry(partition.into()).or_default();
        if let Some(ttl) = self.ttl {
            entries.retain(|e| now.duration_since(e.written) <= ttl);
        }
        let count: usize = entries.iter().map(|e| e.rows.len()).sum();
        // A row enters when it sorts before the worst kept key, or when there is room.
        let enters = match entries.last() {
            None => true,
            Some(worst) => key < worst.key.row() || count < limit,
        };
        if !enters {
            return;
        }
        let at = match entries.binary_search_by(|e| e.key.row().cmp(&key)) {
            Ok(i) => {
                entries[i].rows.push(row.owned());
                entries[i].written = now;
                i
            }
            Err(i) => {
                entries.insert(
                    i,
                    Entry {
                        key: key.owned(),
                        rows: vec![row.owned()],
                        written: now,
                    },
                );
                i
            }
        };
        if with_rank {
            // The new row's rank, then every row after it moves down one, up to N.
            let mut rank = entries[..=at].iter().map(|e| e.rows.len()).sum::<usize>();
            let mut current = row.owned();
            'shift: for e in &entries[at + 1..] {
                for previous in &e.rows {
                    if rank > limit {
                        break 'shift;
                    }
                    out.push((previous.clone(), rank as i64, RowKind::UpdateBefore));
                    out.push((current, rank as i64, RowKind::UpdateAfter));
                    current = previous.clone();
                    rank += 1;
                }
            }
            if rank <= limit {
                out.push((current, rank as i64, RowKind::Insert));
            }
            // Rows past N never come back (the input only inserts): forget them.
            truncate(entries, limit);
        } else {
            let rank = entries[..=at].iter().map(|e| e.rows.len()).sum::<usize>();
            if count + 1 > limit {
                let Some(last) = entries.last_mut() else {
                    return;
                };
                let Some(dropped) = last.rows.pop() else {
                    return;
                };
                if last.rows.is_empty() {
                    entries.pop();
                }
                if dropped.row() == row {
                    return;
                }
                out.push((dropped, limit as i64, RowKind::Delete));
            }
            out.push((row.owned(), rank as i64, RowKind::Insert));
        }
    }
}

/// Keeps the first `limit` rows of sorted entries.
fn truncate(entries: &mut Vec<Entry>, limit: usize) {
    let mut kept = 0;
    let mut cut = entries.len();
    for (i, e) in entries.iter_mut().enumerate() {
        if kept >= limit {
            cut = i;
            break;
        }
        e.rows.truncate(limit - kept);
        kept += e.rows.len();
    }
    entries.truncate(cut);
}

impl fmt::Display for TopN {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TopN (updating): top {} {}{}",
            self.limit,
            self.keys,
            if self.with_rank {
                ", with row number"
            } else {
                ""
            }
        )?;
        if let Some(ttl) = self.ttl {
            write!(f, ", state ttl={}ms", ttl.as_millis())?;
        }
        Ok(())
    }
}

impl Operator for TopN {
    fn process_batch(
        &mut self,
        batch: RecordBatch,
        _: &mut JobMetrics,
    ) -> Result<Vec<RecordBatch>> {
        if super::group_aggregate::is_changelog(&batch) {
            return Err(Error::Internal(
                "an append-only Top-N was given an updating input".into(),
            ));
        }
        let now = Instant::now();
        let [partitions, keys, rows] = self.keys.convert(&batch)?;
        let mut out = Vec::new();
        let global = self.keys.global();
        for i in 0..batch.num_rows() {
            self.insert(
                if global {
                    &[]
                } else {
                    partitions.row(i).data()
                },
                keys.row(i),
                rows.row(i),
                now,
                &mut out,
            );
        }
        self.keys.output(&out)
    }

    /// The kept rows (`__row<i>`), partition by partition, best first, each with when its
    /// sort key was last written; partition and sort keys are computed again on restore.
    fn snapshot(&mut self) -> Result<Option<RecordBatch>> {
        let rows = self
            .partitions
            .values()
            .flatten()
            .flat_map(|e| e.rows.iter().map(|r| (r.row(), e.written)))
            .collect();
        Ok(Some(self.keys.snapshot(SNAPSHOT_KIND, rows)?))
    }

    fn restore(&mut self, snapshot: &RecordBatch) -> Result<()> {
        let (batch, written) = self.keys.restore(snapshot, SNAPSHOT_KIND)?;
        let [partitions, keys, rows] = self.keys.convert(&batch)?;
        self.partitions.clear();
        // Rows come best first within each partition: appending keeps the order.
        for (i, written) in written.into_iter().enumerate() {
            let partition: &[u8] = if self.keys.global() {
                &[]
            } else {
                partitions.row(i).data()
            };
            let entries = self.partitions.entry(partition.into()).or_default();
            let key = keys.row(i);
            match entries.last_mut() {
                Some(e) if e.key.row() == key => e.rows.push(rows.row(i).owned()),
                _ => entries.push(Entry {
                    key: key.owned(),
                    rows: vec![rows.row(i).owned()],
                    written,
                }),
            }
        }
        Ok(())
    }
}
