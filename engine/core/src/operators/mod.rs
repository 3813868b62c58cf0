//! Streaming operators. Each sees Arrow record batches and watermarks, never single rows,
//! and has an explicit lifecycle: process batches, react to watermarks (which may emit
//! results), and close at the end of input. Stateful operators keep their state in
//! DataFusion accumulators whose `state()`/`merge_batch()` are what checkpoints store.

pub mod calc;
pub mod deduplicate;
pub mod group_aggregate;
pub mod interval_join;
pub mod join;
pub mod late;
pub mod session_aggregate;
pub mod state;
pub mod top_n;
pub mod union;
pub mod updating_top_n;
pub mod window_aggregate;
pub mod window_assigner;
pub mod window_join;
pub mod window_top_n;

use arrow::array::ArrayRef;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use weir_api::JobMetrics;

use crate::Result;

pub use calc::{Filter, Projection};
pub use deduplicate::Deduplicate;
pub use group_aggregate::GroupAggregate;
pub use session_aggregate::SessionAggregate;
pub use top_n::TopN;
pub use updating_top_n::UpdatingTopN;
pub use window_aggregate::WindowAggregate;
pub use window_assigner::WindowAssigner;
pub use window_top_n::WindowTopN;

/// A streaming operator in a linear pipeline.
pub trait Operator: Send + std::fmt::Display {
    /// Processes one batch; returns the batches to pass downstream.
    fn process_batch(
        &mut self,
        batch: RecordBatch,
        metrics: &mut JobMetrics,
    ) -> Result<Vec<RecordBatch>>;

    /// The event-time watermark advanced to `watermark` (milliseconds): no row with a
    /// smaller timestamp is expected any more. Returns batches it makes final.
    fn process_watermark(
        &mut self,
        watermark: i64,
        metrics: &mut JobMetrics,
    ) -> Result<Vec<RecordBatch>> {
        let _ = (watermark, metrics);
        Ok(vec![])
    }

    /// The operator's state for a checkpoint, as one batch; `None` for stateless operators.
    /// Taking a snapshot does not change what the operator will emit.
    fn snapshot(&mut self) -> Result<Option<RecordBatch>> {
        Ok(None)
    }

    /// The late rows of an operator that judges rows late against the watermark (window
    /// aggregations): they are counted there, and kept when the job routes them to a table.
    fn late_rows(&mut self) -> Option<&mut late::LateRows> {
        None
    }

    /// Restores a snapshot, before the operator sees any batch.
    fn restore(&mut self, state: &RecordBatch) -> Result<()> {
        let _ = state;
        Ok(())
    }
}

/// An operator with two inputs (a join): each batch comes from one side; the watermark it
/// sees is the smaller of its inputs'. The same lifecycle as [`Operator`].
pub trait TwoInputOperator: Send + std::fmt::Display {
    /// Processes one batch of `side`; returns the batches to pass downstream.
    fn process_batch(
        &mut self,
        side: join::Side,
        batch: RecordBatch,
        metrics: &mut JobMetrics,
    ) -> Result<Vec<RecordBatch>>;

    /// The combined watermark advanced to `watermark` (milliseconds).
    fn process_watermark(
        &mut self,
        watermark: i64,
        metrics: &mut JobMetrics,
    ) -> Result<Vec<RecordBatch>> {
        let _ = (watermark, metrics);
        Ok(vec![])
    }

    /// The watermark passed to the operators after the join when its own is `watermark`:
    /// the same, unless the join emits rows older than its watermark (an interval join holds
    /// it back, as Flink does).
    fn output_watermark(&self, watermark: i64) -> i64 {
        watermark
    }

    /// The late rows of a join that judges rows late (window and interval joins), as
    /// [`Operator::late_rows`]: both inputs' rows, as JSON with their side.
    fn late_rows(&mut self) -> Option<&mut late::LateRows> {
        None
    }

    /// Both sides' state for a checkpoint, as one batch. Taking a snapshot does not change
    /// what the operator will emit.
    fn snapshot(&mut self) -> Result<Option<RecordBatch>>;

    /// Restores a snapshot, before the operator sees any batch.
    fn restore(&mut self, state: &RecordBatch) -> Result<()>;
}

/// An operator with any number of inputs, each read on its own (its source, watermarks and
/// operators): the job loop drives joins (two inputs) and unions (N) through it. Each batch
/// comes from one input; the watermark it sees is the smallest of its inputs'.
pub trait MultiInputOperator: Send + std::fmt::Display {
    /// Processes one batch of input `input`; returns the batches to pass downstream.
    fn process_batch(
        &mut self,
        input: usize,
        batch: RecordBatch,
        metrics: &mut JobMetrics,
    ) -> Result<Vec<RecordBatch>>;

    /// The combined watermark advanced to `watermark` (milliseconds).
    fn process_watermark(
        &mut self,
        watermark: i64,
        metrics: &mut JobMetrics,
    ) -> Result<Vec<RecordBatch>>;

    /// The watermark later operators see once the inputs' combined watermark is `watermark`
    /// (an interval join holds it back by its bounds).
    fn output_watermark(&self, watermark: i64) -> i64 {
        watermark
    }

    /// The rows it judges late, as [`Operator::late_rows`].
    fn late_rows(&mut self) -> Option<&mut late::LateRows> {
        None
    }
}

/// A join as a [`MultiInputOperator`]: input 0 is its left side, 1 its right.
pub struct TwoInputs(pub Box<dyn TwoInputOperator>);

impl std::fmt::Display for TwoInputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl MultiInputOperator for TwoInputs {
    fn process_batch(
        &mut self,
        input: usize,
        batch: RecordBatch,
        metrics: &mut JobMetrics,
    ) -> Result<Vec<RecordBatch>> {
        let side = match input {
            0 => join::Side::Left,
            _ => join::Side::Right,
        };
        self.0.process_batch(side, batch, metrics)
    }

    fn process_watermark(
        &mut self,
        watermark: i64,
        metrics: &mut JobMetrics,
    ) -> Result<Vec<RecordBatch>> {
        self.0.process_watermark(watermark, metrics)
    }

    fn output_watermark(&self, watermark: i64) -> i64 {
        self.0.output_watermark(watermark)
    }

    fn late_rows(&mut self) -> Option<&mut late::LateRows> {
        self.0.late_rows()
    }
}

/// A batch of `schema` from `columns`, each cast to its field's type where it differs (an
/// operator's arrays may be of a compatible type: window bounds, state results, key columns).
pub fn batch_of(schema: &SchemaRef, columns: Vec<ArrayRef>, rows: usize) -> Result<RecordBatch> {
    let columns = columns
        .into_iter()
        .zip(schema.fields())
        .map(|(c, f)| {
            if c.data_type() == f.data_type() {
                Ok(c)
            } else {
                arrow::compute::cast(&c, f.data_type())
            }
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| crate::Error::Internal(format!("an operator built a bad batch: {e}")))?;
    let options = arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(rows));
    RecordBatch::try_new_with_options(schema.clone(), columns, &options)
        .map_err(|e| crate::Error::Internal(format!("an operator built a bad batch: {e}")))
}

/// Passes `batch` through `ops` in order.
pub fn push_batch(
    ops: &mut [Box<dyn Operator>],
    batch: RecordBatch,
    metrics: &mut JobMetrics,
) -> Result<Vec<RecordBatch>> {
    let mut batches = vec![batch];
    for op in ops.iter_mut() {
        let mut next = Vec::with_capacity(batches.len());
        for b in batches {
            if b.num_rows() > 0 {
                next.extend(op.process_batch(b, metrics)?);
            }
        }
        batches = next;
    }
    Ok(batches.into_iter().filter(|b| b.num_rows() > 0).collect())
}

/// Passes a watermark through `ops`: what an operator emits for it flows through the
/// operators after it before they see the watermark, as in Flink.
pub fn push_watermark(
    ops: &mut [Box<dyn Operator>],
    watermark: i64,
    metrics: &mut JobMetrics,
) -> Result<Vec<RecordBatch>> {
    let mut out = Vec::new();
    for i in 0..ops.len() {
        let produced = ops[i].process_watermark(watermark, metrics)?;
        for b in produced {
            out.extend(push_batch(&mut ops[i + 1..], b, metrics)?);
        }
    }
    Ok(out)
}
