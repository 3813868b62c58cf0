//! Runs one planned query to the end of its bounded input: the source's batches get window
//! columns and drive the watermark, flow through the operator chain, and reach the sink.
//! At the end of input a final watermark fires every open window, as Flink does.

use arrow::record_batch::RecordBatch;
use weir_api::{JobMetrics, ResultPage};

use crate::connectors::{Sink, Source};
use crate::format::append_to_page;
use crate::operators::window_assigner::max_event_time;
use crate::operators::{push_batch, push_watermark, Operator};
use crate::plan::{PlannedQuery, PlannedSource};
use crate::Result;

/// Tracks the largest event time seen and the watermark derived from it.
struct WatermarkTracker {
    delay_ms: i64,
    column: usize,
    current: Option<i64>,
}

impl WatermarkTracker {
    /// The new watermark if this batch advanced it.
    fn observe(&mut self, batch: &RecordBatch) -> Result<Option<i64>> {
        let Some(max) = max_event_time(batch.column(self.column))? else {
            return Ok(None);
        };
        let candidate = max - self.delay_ms;
        if self.current.is_none_or(|c| candidate > c) {
            self.current = Some(candidate);
            return Ok(Some(candidate));
        }
        Ok(None)
    }
}

/// Runs `query` into `sink`; keeps the first `preview_rows` rows written.
pub fn run(
    query: PlannedQuery,
    source: Option<Box<dyn Source>>,
    sink: &mut dyn Sink,
    preview_rows: usize,
    metrics: &mut JobMetrics,
) -> Result<ResultPage> {
    let PlannedQuery {
        source: planned,
        mut operators,
        ..
    } = query;
    let mut preview = ResultPage::default();
    let mut emit =
        |batches: Vec<RecordBatch>, metrics: &mut JobMetrics, sink: &mut dyn Sink| -> Result<()> {
            for b in batches {
                sink.write_batch(&b)?;
                metrics.rows_written += b.num_rows() as u64;
                append_to_page(&mut preview, &b, preview_rows);
            }
            Ok(())
        };
    let ops: &mut [Box<dyn Operator>] = &mut operators;
    match planned {
        PlannedSource::Values(batches) => {
            for b in batches {
                metrics.rows_read += b.num_rows() as u64;
                let out = push_batch(ops, b, metrics)?;
                emit(out, metrics, sink)?;
            }
        }
        PlannedSource::Table {
            assigner,
            watermark,
            ..
        } => {
            let Some(mut source) = source else {
                return Err(crate::Error::Internal(
                    "a table query without its source".into(),
                ));
            };
            let mut tracker = watermark.map(|w| WatermarkTracker {
                delay_ms: w.delay_ms,
                column: w.column,
                current: None,
            });
            while let Some(batch) = source.next_batch(metrics)? {
                let advanced = match tracker.as_mut() {
                    Some(t) => t.observe(&batch)?,
                    None => None,
                };
                let batch = match &assigner {
                    Some(a) => a.assign(&batch)?,
                    None => batch,
                };
                let out = push_batch(ops, batch, metrics)?;
                emit(out, metrics, sink)?;
                if let Some(wm) = advanced {
                    let out = push_watermark(ops, wm, metrics)?;
                    emit(out, metrics, sink)?;
                }
            }
        }
    }
    // End of bounded input: the maximum watermark fires everything still open.
    let out = push_watermark(ops, i64::MAX, metrics)?;
    emit(out, metrics, sink)?;
    sink.finish()?;
    Ok(preview)
}
