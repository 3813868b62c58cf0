//! Runs one planned query to the end of its bounded input: the source's batches get window
//! columns and drive the watermark, flow through the operator chain, and reach the sink.
//! At the end of input a final watermark fires every open window, as Flink does.

use arrow::record_batch::RecordBatch;
use weir_api::{JobMetrics, ResultPage};

use crate::connectors::{Sink, Source};
use crate::format::append_to_page;
use crate::operators::window_assigner::event_time_millis;
use crate::operators::{push_batch, push_watermark, Operator};
use crate::plan::{PlannedQuery, PlannedSource};
use crate::Result;

/// How a job runs.
#[derive(Debug, Clone, Copy)]
pub struct JobConfig {
    /// Rows kept for the run report's preview.
    pub preview_rows: usize,
    /// `pipeline.auto-watermark-interval` in milliseconds (Flink's default: 200).
    pub watermark_interval_ms: i64,
}

impl Default for JobConfig {
    fn default() -> Self {
        Self {
            preview_rows: 100,
            watermark_interval_ms: 200,
        }
    }
}

/// Generates watermarks as Flink's watermark assigner does: after each row the watermark
/// candidate is `max(rowtime) - delay`, and it is emitted as soon as it exceeds the last
/// emitted watermark by more than the interval (both start at 0). Flink's wall-clock timer,
/// which also emits every interval, is left out so that results do not depend on timing.
struct WatermarkTracker {
    delay_ms: i64,
    column: usize,
    interval_ms: i64,
    current: i64,
    emitted: i64,
    /// The watermark operators have seen.
    pushed: i64,
    /// Window ends fall on `offset + k * period`: between two such points a watermark
    /// changes neither which windows fire nor which rows are late.
    firing: Option<(i64, i64)>,
}

impl WatermarkTracker {
    /// How many windows a watermark has fired (ends at or before `watermark + 1`).
    fn epoch(&self, watermark: i64) -> i64 {
        match self.firing {
            Some((period, offset)) => watermark
                .saturating_add(1)
                .saturating_sub(offset)
                .div_euclid(period),
            None => 0,
        }
    }

    /// The points of `batch` after which a watermark must reach the operators: where it fires
    /// windows (so that later rows of the batch are judged late as Flink would judge them),
    /// and at the end of the batch. `(rows before the point, watermark)`, in order.
    fn split_points(&mut self, batch: &RecordBatch) -> Result<Vec<(usize, i64)>> {
        let times = event_time_millis(batch.column(self.column))?;
        let mut points = Vec::new();
        for (i, t) in times.iter().enumerate() {
            let Some(t) = t else { continue };
            self.current = self.current.max(t.saturating_sub(self.delay_ms));
            if self.current - self.emitted > self.interval_ms {
                self.emitted = self.current;
                if self.firing.is_some() && self.epoch(self.emitted) != self.epoch(self.pushed) {
                    points.push((i + 1, self.emitted));
                    self.pushed = self.emitted;
                }
            }
        }
        if self.emitted > self.pushed {
            points.push((batch.num_rows(), self.emitted));
            self.pushed = self.emitted;
        }
        Ok(points)
    }
}

/// What an input produces, in order: batches, and watermarks after which they were made.
enum Event {
    Batch(RecordBatch),
    Watermark(i64),
}

/// A table read through its source: computed columns, watermarks as Flink generates them,
/// window assignment, then the operators that run on this input alone.
struct TableInput {
    source: Box<dyn Source>,
    computed: Option<crate::operators::Projection>,
    tracker: Option<WatermarkTracker>,
    assigner: Option<crate::operators::WindowAssigner>,
    operators: Vec<Box<dyn Operator>>,
}

impl TableInput {
    fn new(
        source: Box<dyn Source>,
        planned: PlannedSource,
        operators: Vec<Box<dyn Operator>>,
        window: Option<&crate::sql::query::WindowSpec>,
        config: &JobConfig,
    ) -> Result<Self> {
        let PlannedSource::Table {
            computed,
            assigner,
            watermark,
            ..
        } = planned
        else {
            return Err(crate::Error::Internal(
                "a table input without a table".into(),
            ));
        };
        let tracker = watermark.map(|w| WatermarkTracker {
            delay_ms: w.delay_ms,
            column: w.column,
            interval_ms: config.watermark_interval_ms.max(0),
            current: 0,
            emitted: 0,
            pushed: 0,
            firing: window.and_then(|w| w.kind.firing_period()),
        });
        Ok(Self {
            source,
            computed,
            tracker,
            assigner,
            operators,
        })
    }

    /// Reads one source batch and runs it through; `None` at the end of the input.
    fn step(&mut self, metrics: &mut JobMetrics) -> Result<Option<Vec<Event>>> {
        let Some(batch) = self.source.next_batch(metrics)? else {
            return Ok(None);
        };
        let mut events = Vec::new();
        let batch = match self.computed.as_mut() {
            Some(projection) => match projection.process_batch(batch, metrics)?.pop() {
                Some(b) => b,
                None => return Ok(Some(events)),
            },
            None => batch,
        };
        let points = match self.tracker.as_mut() {
            Some(t) => t.split_points(&batch)?,
            None => vec![],
        };
        let batch = match &self.assigner {
            Some(a) => a.assign(&batch)?,
            None => batch,
        };
        let ops: &mut [Box<dyn Operator>] = &mut self.operators;
        let mut start = 0;
        for (end, wm) in points {
            if end > start {
                events.extend(
                    push_batch(ops, batch.slice(start, end - start), metrics)?
                        .into_iter()
                        .map(Event::Batch),
                );
                start = end;
            }
            events.extend(
                push_watermark(ops, wm, metrics)?
                    .into_iter()
                    .map(Event::Batch),
            );
            events.push(Event::Watermark(wm));
        }
        if start < batch.num_rows() {
            events.extend(
                push_batch(ops, batch.slice(start, batch.num_rows() - start), metrics)?
                    .into_iter()
                    .map(Event::Batch),
            );
        }
        Ok(Some(events))
    }

    /// The end of the input: the maximum watermark fires everything still open.
    fn finish(&mut self, metrics: &mut JobMetrics) -> Result<Vec<Event>> {
        let mut events: Vec<Event> = push_watermark(&mut self.operators, i64::MAX, metrics)?
            .into_iter()
            .map(Event::Batch)
            .collect();
        events.push(Event::Watermark(i64::MAX));
        Ok(events)
    }
}

/// Runs `query` into `sink`, opening its tables' sources with `open`; keeps the first rows
/// written for the preview.
pub fn run(
    query: PlannedQuery,
    open: &dyn Fn(&crate::sql::TableDef) -> Result<Box<dyn Source>>,
    sink: &mut dyn Sink,
    config: &JobConfig,
    metrics: &mut JobMetrics,
) -> Result<ResultPage> {
    let PlannedQuery {
        source: planned,
        mut operators,
        window,
        ..
    } = query;
    let preview_rows = config.preview_rows;
    let mut preview = ResultPage::default();
    let mut emit =
        |batches: Vec<RecordBatch>, metrics: &mut JobMetrics, sink: &mut dyn Sink| -> Result<()> {
            for b in batches {
                sink.write_batch(&b)?;
                metrics.rows_written += b.num_rows() as u64;
                append_to_page(
                    &mut preview,
                    &crate::operators::group_aggregate::for_display(&b),
                    preview_rows,
                );
            }
            Ok(())
        };
    match planned {
        PlannedSource::Values(batches) => {
            for b in batches {
                metrics.rows_read += b.num_rows() as u64;
                let out = push_batch(&mut operators, b, metrics)?;
                emit(out, metrics, sink)?;
            }
            let out = push_watermark(&mut operators, i64::MAX, metrics)?;
            emit(out, metrics, sink)?;
        }
        PlannedSource::Table { ref def, .. } => {
            let source = open(def)?;
            let mut input = TableInput::new(source, planned, operators, window.as_ref(), config)?;
            while let Some(events) = input.step(metrics)? {
                for event in events {
                    if let Event::Batch(b) = event {
                        emit(vec![b], metrics, sink)?;
                    }
                }
            }
            for event in input.finish(metrics)? {
                if let Event::Batch(b) = event {
                    emit(vec![b], metrics, sink)?;
                }
            }
        }
        PlannedSource::Join(join) => {
            let crate::plan::JoinPlan {
                left,
                right,
                mut join,
            } = *join;
            let mut inputs = Vec::new();
            for side in [left, right] {
                let PlannedSource::Table { ref def, .. } = side.source else {
                    return Err(crate::Error::Internal(
                        "a join input without a table".into(),
                    ));
                };
                let source = open(def)?;
                inputs.push((
                    TableInput::new(source, side.source, side.operators, None, config)?,
                    false,
                    i64::MIN,
                ));
            }
            let mut watermark = i64::MIN;
            // Both inputs are read a batch at a time, in turn, until both end.
            while inputs.iter().any(|(_, done, _)| !done) {
                for (i, (input, done, side_wm)) in inputs.iter_mut().enumerate() {
                    if *done {
                        continue;
                    }
                    let events = match input.step(metrics)? {
                        Some(events) => events,
                        None => {
                            *done = true;
                            input.finish(metrics)?
                        }
                    };
                    let side = if i == 0 {
                        crate::operators::join::Side::Left
                    } else {
                        crate::operators::join::Side::Right
                    };
                    for event in events {
                        match event {
                            Event::Batch(b) => {
                                for joined in join.process(side, b, metrics)? {
                                    let out = push_batch(&mut operators, joined, metrics)?;
                                    emit(out, metrics, sink)?;
                                }
                            }
                            Event::Watermark(wm) => *side_wm = (*side_wm).max(wm),
                        }
                    }
                }
                // The join's watermark is the smaller of its inputs'.
                let combined = inputs
                    .iter()
                    .map(|(_, _, wm)| *wm)
                    .min()
                    .unwrap_or(i64::MIN);
                if combined > watermark {
                    watermark = combined;
                    let out = push_watermark(&mut operators, watermark, metrics)?;
                    emit(out, metrics, sink)?;
                }
            }
        }
    }
    sink.finish()?;
    Ok(preview)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use super::*;
    use crate::connectors::json::{JsonDecoder, JsonOptions};
    use crate::format::cell_text;
    use crate::plan::plan_query;
    use crate::sql::query::parse_query;
    use crate::sql::{parse_script, Statement};

    const DDL: &str = "CREATE TABLE ev (k STRING, v INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'filesystem', 'path' = 'x', 'format' = 'json')";
    const QUERY: &str = "SELECT window_start, k, COUNT(*), COUNT(DISTINCT v), SUM(v), AVG(v), MIN(v), MAX(v) FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end, k";

    fn plan() -> PlannedQuery {
        let mut catalog = HashMap::new();
        let mut query = None;
        for s in parse_script(&format!("{DDL}; {QUERY}"), &HashMap::new()).unwrap() {
            match s {
                Statement::CreateTable(t) => {
                    catalog.insert(t.name.clone(), *t);
                }
                Statement::Query { query: q, .. } => query = Some(q),
                _ => {}
            }
        }
        plan_query(
            &parse_query(query.unwrap()).unwrap(),
            &catalog,
            &Default::default(),
        )
        .unwrap()
    }

    fn batches() -> Vec<RecordBatch> {
        let def = match parse_script(DDL, &HashMap::new()).unwrap().remove(0) {
            Statement::CreateTable(t) => t,
            _ => unreachable!(),
        };
        let mut decoder =
            JsonDecoder::new(Arc::new(def.arrow_schema()), JsonOptions::default(), &[2]);
        (0..6)
            .map(|b| {
                for i in 0..5 {
                    let sec = b * 4 + i;
                    let line = format!(
                        r#"{{"k":"k{}","v":{},"ts":"2026-01-01 00:00:{sec:02}"}}"#,
                        i % 2,
                        (sec * 7) % 5
                    );
                    decoder.decode_line(&line).unwrap();
                }
                decoder.flush().unwrap()
            })
            .collect()
    }

    /// Feeds batches with window columns and watermarks through the operators.
    fn drive(
        query: &mut PlannedQuery,
        input: &[RecordBatch],
        metrics: &mut JobMetrics,
    ) -> Vec<String> {
        let PlannedSource::Table {
            assigner: Some(assigner),
            ..
        } = &query.source
        else {
            panic!()
        };
        let mut out = Vec::new();
        for b in input {
            let times = event_time_millis(b.column(2)).unwrap();
            let wm = arrow::compute::max(&times).unwrap() - 1000;
            let b = assigner.assign(b).unwrap();
            out.extend(push_batch(&mut query.operators, b, metrics).unwrap());
            out.extend(push_watermark(&mut query.operators, wm, metrics).unwrap());
        }
        rows_text(&out)
    }

    /// Every row as comma-separated text, in emission order.
    fn rows_text(batches: &[RecordBatch]) -> Vec<String> {
        batches
            .iter()
            .flat_map(|b| {
                (0..b.num_rows()).map(move |r| {
                    b.columns()
                        .iter()
                        .map(|c| cell_text(c, r))
                        .collect::<Vec<_>>()
                        .join(",")
                })
            })
            .collect()
    }

    fn finish(query: &mut PlannedQuery, metrics: &mut JobMetrics) -> Vec<String> {
        let out = push_watermark(&mut query.operators, i64::MAX, metrics).unwrap();
        rows_text(&out)
    }

    #[test]
    fn window_state_survives_snapshot_and_restore() {
        let input = batches();
        let mut metrics = JobMetrics::default();
        // The reference: one uninterrupted run.
        let mut whole = plan();
        let mut expected = drive(&mut whole, &input, &mut metrics);
        expected.extend(finish(&mut whole, &mut metrics));
        assert!(expected.len() >= 4, "{expected:?}");

        // Run half, snapshot, restore into a fresh plan, run the rest.
        let mut first = plan();
        let mut got = drive(&mut first, &input[..3], &mut metrics);
        let state = first.operators[0]
            .snapshot()
            .unwrap()
            .expect("window aggregation has state");
        assert!(state.num_rows() > 0, "open windows are in the snapshot");
        // Snapshotting does not disturb the running operator.
        let mut continued = got.clone();
        continued.extend(drive(&mut first, &input[3..], &mut metrics));
        continued.extend(finish(&mut first, &mut metrics));
        assert_eq!(continued, expected);

        let mut second = plan();
        second.operators[0].restore(&state).unwrap();
        got.extend(drive(&mut second, &input[3..], &mut metrics));
        got.extend(finish(&mut second, &mut metrics));
        assert_eq!(got, expected);
    }
}
