//! Runs one planned query: the source's batches get window columns and drive the watermark,
//! flow through the operator chain, and reach the sink. Bounded input runs to its end, where
//! a final watermark fires every open window, as Flink does; unbounded input (a topic) runs
//! until the job's [`JobControl`] asks it to drain (stop once caught up, firing open windows,
//! as Flink's `stop --drain`) or to cancel.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatch;
use weir_api::{JobMetrics, ResultPage};

use crate::connectors::{Poll, Sink, Source};
use crate::format::append_to_page;
use crate::operators::late::LateRowsSink;
use crate::operators::window_assigner::event_time_millis;
use crate::operators::{push_batch, push_watermark, Operator};
use crate::plan::{PlannedQuery, PlannedSource};
use crate::Result;

/// How a job runs.
#[derive(Debug, Clone)]
pub struct JobConfig {
    /// Rows kept for the run report's preview.
    pub preview_rows: usize,
    /// `pipeline.auto-watermark-interval` in milliseconds (Flink's default: 200).
    pub watermark_interval_ms: i64,
    /// `table.exec.source.idle-timeout`, or a source's `scan.watermark.idle-timeout`: a
    /// partition with no rows for this long stops holding the watermark back.
    pub idle_timeout: Option<Duration>,
    /// `execution.checkpointing.interval`: how often the sink commits and the sources
    /// acknowledge what they read (consumer-group offsets). Without it, only at the end.
    pub checkpoint_interval: Option<Duration>,
    /// Stops an unbounded job.
    pub control: JobControl,
}

impl Default for JobConfig {
    fn default() -> Self {
        Self {
            preview_rows: 100,
            watermark_interval_ms: 200,
            idle_timeout: None,
            checkpoint_interval: None,
            control: JobControl::default(),
        }
    }
}

/// A handle that asks running jobs to stop, and tells how many have started reading; clones
/// share it.
#[derive(Debug, Clone, Default)]
pub struct JobControl(Arc<ControlState>);

#[derive(Debug, Default)]
struct ControlState {
    request: AtomicU8,
    /// Jobs that opened their sources (a `latest-offset` source has fixed where it starts).
    started: AtomicUsize,
}

/// What a job was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopRequest {
    /// Run until bounded input ends (unbounded input: forever).
    None,
    /// Stop as soon as every source has caught up, firing open windows with a final
    /// watermark, and commit (Flink's `stop --drain`).
    Drain,
    /// Stop now: open windows are not fired, nothing more is committed.
    Cancel,
}

impl JobControl {
    pub fn drain(&self) {
        // A cancel stays a cancel.
        let _ = self
            .0
            .request
            .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst);
    }
    pub fn cancel(&self) {
        self.0.request.store(2, Ordering::SeqCst);
    }
    pub fn request(&self) -> StopRequest {
        match self.0.request.load(Ordering::SeqCst) {
            0 => StopRequest::None,
            1 => StopRequest::Drain,
            _ => StopRequest::Cancel,
        }
    }
    /// How many jobs sharing this control have opened their sources.
    pub fn started(&self) -> usize {
        self.0.started.load(Ordering::SeqCst)
    }
    fn mark_started(&self) {
        self.0.started.fetch_add(1, Ordering::SeqCst);
    }
}

/// The watermark clock of one source partition.
#[derive(Debug, Clone)]
struct PartitionClock {
    /// `max(rowtime) - delay` so far.
    current: i64,
    /// The last watermark this partition emitted.
    emitted: i64,
    /// When it last had rows (for the idle timeout).
    last_rows: Instant,
    idle: bool,
}

/// Generates watermarks as Flink's watermark assigner does: after each row the watermark
/// candidate is `max(rowtime) - delay`, and it is emitted as soon as it exceeds the last
/// emitted watermark by more than the interval (both start at 0). Flink's wall-clock timer,
/// which also emits every interval, is left out so that results do not depend on timing.
/// A partitioned source has one clock per partition and its watermark is the smallest of the
/// partitions' that are not idle.
struct WatermarkTracker {
    delay_ms: i64,
    column: usize,
    interval_ms: i64,
    partitions: Vec<PartitionClock>,
    idle_timeout: Option<Duration>,
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

    /// The source's watermark: the smallest of its active partitions'. `None` when every
    /// partition is idle (the watermark then stays where it is).
    fn combined(&self) -> Option<i64> {
        self.partitions
            .iter()
            .filter(|p| !p.idle)
            .map(|p| p.emitted)
            .min()
    }

    fn clock(&mut self, partition: usize) -> &mut PartitionClock {
        if partition >= self.partitions.len() {
            let fresh = PartitionClock {
                current: 0,
                emitted: 0,
                last_rows: Instant::now(),
                idle: false,
            };
            self.partitions.resize(partition + 1, fresh);
        }
        &mut self.partitions[partition]
    }

    /// The points of `batch` (rows of `partition`) after which a watermark must reach the
    /// operators: where it fires windows (so that later rows of the batch are judged late as
    /// Flink would judge them), and at the end of the batch. `(rows before the point,
    /// watermark)`, in order.
    fn split_points(&mut self, partition: usize, batch: &RecordBatch) -> Result<Vec<(usize, i64)>> {
        let times = event_time_millis(batch.column(self.column))?;
        let (delay, interval) = (self.delay_ms, self.interval_ms);
        let clock = self.clock(partition);
        clock.last_rows = Instant::now();
        clock.idle = false;
        let mut points = Vec::new();
        for (i, t) in times.iter().enumerate() {
            let Some(t) = t else { continue };
            let clock = &mut self.partitions[partition];
            clock.current = clock.current.max(t.saturating_sub(delay));
            if clock.current - clock.emitted > interval {
                clock.emitted = clock.current;
                if let Some(wm) = self.combined() {
                    if wm > self.pushed
                        && self.firing.is_some()
                        && self.epoch(wm) != self.epoch(self.pushed)
                    {
                        points.push((i + 1, wm));
                        self.pushed = wm;
                    }
                }
            }
        }
        if let Some(wm) = self.combined().filter(|wm| *wm > self.pushed) {
            points.push((batch.num_rows(), wm));
            self.pushed = wm;
        }
        Ok(points)
    }

    /// Marks partitions without rows for the idle timeout as idle; the new watermark if that
    /// moved it.
    fn check_idle(&mut self) -> Option<i64> {
        let timeout = self.idle_timeout?;
        let mut changed = false;
        for p in &mut self.partitions {
            if !p.idle && p.last_rows.elapsed() >= timeout {
                p.idle = true;
                changed = true;
            }
        }
        let wm = self.combined()?;
        (changed && wm > self.pushed).then(|| {
            self.pushed = wm;
            wm
        })
    }
}

/// What an input produces, in order: batches, and watermarks after which they were made.
enum Event {
    Batch(RecordBatch),
    /// The watermark, and when the input that moved it arrived.
    Watermark(i64, Instant),
    /// The batches before this came from a watermark firing windows; the instant is when the
    /// input that moved the watermark arrived (for [`JobMetrics::record_firing`]).
    Fired(Instant),
}

/// What one step of an input gave.
enum Stepped {
    /// Rows (and watermarks) came.
    Events(Vec<Event>),
    /// The source has caught up; idle partitions may have moved the watermark.
    Idle(Vec<Event>),
    /// Bounded input ended.
    End,
}

/// A table read through its source: computed columns, watermarks as Flink generates them,
/// window assignment, then the operators that run on this input alone.
struct TableInput {
    source: Box<dyn Source>,
    computed: Option<crate::operators::Projection>,
    tracker: Option<WatermarkTracker>,
    assigner: Option<crate::operators::WindowAssigner>,
    operators: Vec<Box<dyn Operator>>,
    /// The last watermark pushed (what `CURRENT_WATERMARK` returns to the rows after it).
    watermark: Option<i64>,
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
            def,
            needed,
        } = planned
        else {
            return Err(crate::Error::Internal(
                "a table input without a table".into(),
            ));
        };
        let mut source = source;
        source.project(&needed);
        // A source's own 'scan.watermark.idle-timeout' wins over the job's setting.
        let idle_timeout = def
            .option("scan.watermark.idle-timeout")
            .and_then(|(v, _)| crate::session::parse_duration_ms(v))
            .filter(|ms| *ms > 0)
            .map(|ms| Duration::from_millis(ms as u64))
            .or(config.idle_timeout);
        let started = Instant::now();
        let tracker = watermark.map(|w| WatermarkTracker {
            delay_ms: w.delay_ms,
            column: w.column,
            interval_ms: config.watermark_interval_ms.max(0),
            partitions: vec![
                PartitionClock {
                    current: 0,
                    emitted: 0,
                    last_rows: started,
                    idle: false,
                };
                source.partitions().max(1)
            ],
            idle_timeout,
            pushed: 0,
            firing: window.and_then(|w| w.kind.firing_period()),
        });
        Ok(Self {
            source,
            computed,
            tracker,
            assigner,
            operators,
            watermark: None,
        })
    }

    /// Reads from the source once and runs what came through.
    fn step(&mut self, metrics: &mut JobMetrics) -> Result<Stepped> {
        let (partition, batch) = match self.source.poll_batch(metrics)? {
            Poll::Batch(b) => (0, b),
            Poll::PartitionBatch(p, b) => (p, b),
            Poll::End => return Ok(Stepped::End),
            Poll::Idle => {
                let mut events = Vec::new();
                if let Some(wm) = self.tracker.as_mut().and_then(|t| t.check_idle()) {
                    self.watermark(wm, Instant::now(), metrics, &mut events)?;
                }
                return Ok(Stepped::Idle(events));
            }
        };
        let arrived = Instant::now();
        let mut events = Vec::new();
        let batch = match self.computed.as_mut() {
            Some(projection) => match projection.process_batch(batch, metrics)?.pop() {
                Some(b) => b,
                None => return Ok(Stepped::Events(events)),
            },
            None => batch,
        };
        let points = match self.tracker.as_mut() {
            Some(t) => {
                let mut points = t.split_points(partition, &batch)?;
                if let Some(wm) = t.check_idle() {
                    points.push((batch.num_rows(), wm));
                }
                points
            }
            None => vec![],
        };
        let batch = match &self.assigner {
            Some(a) => a.assign(&batch)?,
            None => batch,
        };
        let mut start = 0;
        for (end, wm) in points {
            if end > start {
                self.rows(batch.slice(start, end - start), metrics, &mut events)?;
                start = end;
            }
            self.watermark(wm, arrived, metrics, &mut events)?;
        }
        if start < batch.num_rows() {
            self.rows(
                batch.slice(start, batch.num_rows() - start),
                metrics,
                &mut events,
            )?;
        }
        Ok(Stepped::Events(events))
    }

    fn rows(
        &mut self,
        batch: RecordBatch,
        metrics: &mut JobMetrics,
        events: &mut Vec<Event>,
    ) -> Result<()> {
        crate::functions::time::set_current_watermark(self.watermark);
        events.extend(
            push_batch(&mut self.operators, batch, metrics)?
                .into_iter()
                .map(Event::Batch),
        );
        Ok(())
    }

    fn watermark(
        &mut self,
        wm: i64,
        arrived: Instant,
        metrics: &mut JobMetrics,
        events: &mut Vec<Event>,
    ) -> Result<()> {
        self.watermark = Some(wm);
        crate::functions::time::set_current_watermark(self.watermark);
        let fired = push_watermark(&mut self.operators, wm, metrics)?;
        if !fired.is_empty() {
            events.extend(fired.into_iter().map(Event::Batch));
            events.push(Event::Fired(arrived));
        }
        events.push(Event::Watermark(wm, arrived));
        Ok(())
    }

    /// The end of the input: the maximum watermark fires everything still open.
    fn finish(&mut self, metrics: &mut JobMetrics) -> Result<Vec<Event>> {
        let mut events = Vec::new();
        self.watermark(i64::MAX, Instant::now(), metrics, &mut events)?;
        Ok(events)
    }
}

/// Commits the sink (and the late-rows table), then lets the sources acknowledge what they
/// read: a checkpoint.
fn checkpoint(
    sink: &mut dyn Sink,
    late: Option<&mut LateRowsSink>,
    inputs: &mut [&mut TableInput],
) -> Result<()> {
    sink.finish()?;
    if let Some(late) = late {
        late.finish()?;
    }
    for input in inputs {
        input.source.commit()?;
    }
    Ok(())
}

/// When the next checkpoint is due.
struct Checkpoints {
    interval: Option<Duration>,
    last: Instant,
}

impl Checkpoints {
    fn due(&mut self) -> bool {
        match self.interval {
            Some(i) if self.last.elapsed() >= i => {
                self.last = Instant::now();
                true
            }
            _ => false,
        }
    }
}

/// Lets the operators that judge rows late keep them for the late-rows table.
fn route_late_rows(operators: &mut [Box<dyn Operator>]) {
    for op in operators {
        let name = op.to_string();
        if let Some(late) = op.late_rows() {
            late.route(name);
        }
    }
}

/// Writes the late rows the operators kept to the late-rows table.
fn drain_late_rows(
    operators: &mut [Box<dyn Operator>],
    sink: Option<&mut LateRowsSink>,
) -> Result<()> {
    let Some(sink) = sink else {
        return Ok(());
    };
    for op in operators {
        if let Some(late) = op.late_rows() {
            for batch in late.take() {
                sink.write(&batch)?;
            }
        }
    }
    Ok(())
}

/// Runs `query` into `sink`, opening its tables' sources with `open`; keeps the first rows
/// written for the preview. Late rows go to `late` when given (`weir.late-rows.table`).
pub fn run(
    query: PlannedQuery,
    open: &dyn Fn(&crate::sql::TableDef) -> Result<Box<dyn Source>>,
    sink: &mut dyn Sink,
    mut late: Option<&mut LateRowsSink>,
    config: &JobConfig,
    metrics: &mut JobMetrics,
) -> Result<ResultPage> {
    let PlannedQuery {
        source: mut planned,
        mut operators,
        window,
        ..
    } = query;
    if late.is_some() {
        route_late_rows(&mut operators);
        match &mut planned {
            PlannedSource::Join(join) => {
                route_late_rows(&mut join.left.operators);
                route_late_rows(&mut join.right.operators);
            }
            PlannedSource::Union(union) => {
                for input in &mut union.inputs {
                    route_late_rows(&mut input.operators);
                }
            }
            _ => {}
        }
    }
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
    let mut checkpoints = Checkpoints {
        interval: config.checkpoint_interval,
        last: Instant::now(),
    };
    let control = &config.control;
    match planned {
        PlannedSource::Values(batches) => {
            control.mark_started();
            for b in batches {
                metrics.rows_read += b.num_rows() as u64;
                let out = push_batch(&mut operators, b, metrics)?;
                emit(out, metrics, sink)?;
            }
            let out = push_watermark(&mut operators, i64::MAX, metrics)?;
            emit(out, metrics, sink)?;
            drain_late_rows(&mut operators, late.as_deref_mut())?;
            sink.finish()?;
            if let Some(late) = late {
                late.finish()?;
            }
        }
        PlannedSource::Table { ref def, .. } => {
            let source = open(def)?;
            let mut input = TableInput::new(source, planned, operators, window.as_ref(), config)?;
            control.mark_started();
            loop {
                let request = control.request();
                if request == StopRequest::Cancel {
                    return Ok(preview);
                }
                let (events, ended) = match input.step(metrics)? {
                    Stepped::Events(events) => (events, false),
                    Stepped::Idle(events) => {
                        let drained = request == StopRequest::Drain && input.source.caught_up()?;
                        (events, drained)
                    }
                    Stepped::End => (Vec::new(), true),
                };
                for event in events {
                    match event {
                        Event::Batch(b) => emit(vec![b], metrics, sink)?,
                        Event::Fired(arrived) => metrics.record_firing(arrived.elapsed()),
                        Event::Watermark(..) => {}
                    }
                }
                drain_late_rows(&mut input.operators, late.as_deref_mut())?;
                if ended {
                    break;
                }
                if checkpoints.due() {
                    checkpoint(sink, late.as_deref_mut(), &mut [&mut input])?;
                }
            }
            for event in input.finish(metrics)? {
                match event {
                    Event::Batch(b) => emit(vec![b], metrics, sink)?,
                    Event::Fired(arrived) => metrics.record_firing(arrived.elapsed()),
                    Event::Watermark(..) => {}
                }
            }
            drain_late_rows(&mut input.operators, late.as_deref_mut())?;
            checkpoint(sink, late, &mut [&mut input])?;
        }
        PlannedSource::Join(_) | PlannedSource::Union(_) => {
            // A join (two inputs) or a union (any number): each input is read on its own.
            // CURRENT_WATERMARK after a join is the join's (held-back) output watermark, as
            // in Flink; after a union it stays the input's own, as Flink pushes the
            // expression below the union into every input.
            let joined = matches!(planned, PlannedSource::Join(_));
            let (inputs, mut combine): (
                Vec<PlannedQuery>,
                Box<dyn crate::operators::MultiInputOperator>,
            ) = match planned {
                PlannedSource::Join(join) => {
                    let crate::plan::JoinPlan { left, right, join } = *join;
                    (
                        vec![left, right],
                        Box::new(crate::operators::TwoInputs(join)),
                    )
                }
                PlannedSource::Union(union) => {
                    let crate::plan::UnionPlan { inputs, union } = *union;
                    (inputs, Box::new(union))
                }
                _ => {
                    return Err(crate::Error::Internal(
                        "a multi-input source without inputs".into(),
                    ))
                }
            };
            /// One input: its table input, whether it ended, its watermark.
            struct Side {
                input: TableInput,
                done: bool,
                idle: bool,
                watermark: i64,
            }
            if late.is_some() {
                let name = combine.to_string();
                if let Some(rows) = combine.late_rows() {
                    rows.route(name);
                }
            }
            let mut sides = Vec::new();
            for side in inputs {
                let PlannedSource::Table { ref def, .. } = side.source else {
                    return Err(crate::Error::Internal(format!(
                        "an input of {combine} without a table"
                    )));
                };
                let source = open(def)?;
                sides.push(Side {
                    input: TableInput::new(
                        source,
                        side.source,
                        side.operators,
                        side.window.as_ref(),
                        config,
                    )?,
                    done: false,
                    idle: false,
                    watermark: i64::MIN,
                });
            }
            control.mark_started();
            let mut watermark = i64::MIN;
            // The inputs are read a batch at a time, in turn, until all end.
            while sides.iter().any(|s| !s.done) {
                let request = control.request();
                if request == StopRequest::Cancel {
                    return Ok(preview);
                }
                let draining =
                    request == StopRequest::Drain && sides.iter().all(|s| s.done || s.idle);
                for i in 0..sides.len() {
                    // The smallest watermark of the other inputs.
                    let others = sides
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| *j != i)
                        .map(|(_, s)| s.watermark)
                        .min()
                        .unwrap_or(i64::MAX);
                    let side = &mut sides[i];
                    if side.done {
                        continue;
                    }
                    let events = match side.input.step(metrics)? {
                        Stepped::Events(events) => {
                            side.idle = false;
                            events
                        }
                        Stepped::Idle(events) if !draining || !side.input.source.caught_up()? => {
                            side.idle = true;
                            events
                        }
                        Stepped::Idle(mut events) => {
                            side.done = true;
                            events.extend(side.input.finish(metrics)?);
                            events
                        }
                        Stepped::End => {
                            side.done = true;
                            side.input.finish(metrics)?
                        }
                    };
                    for event in events {
                        match event {
                            Event::Batch(b) => {
                                // The watermark the rows see (events come in order, so
                                // the input's is still the one before them).
                                let seen = if joined {
                                    (watermark > i64::MIN)
                                        .then(|| combine.output_watermark(watermark))
                                } else {
                                    (side.watermark > i64::MIN).then_some(side.watermark)
                                };
                                crate::functions::time::set_current_watermark(seen);
                                for combined in combine.process_batch(i, b, metrics)? {
                                    let out = push_batch(&mut operators, combined, metrics)?;
                                    emit(out, metrics, sink)?;
                                }
                            }
                            // What an input's own windows emit goes into the join or
                            // union: what it passes on is what reaches the sink.
                            Event::Fired(_) => {}
                            Event::Watermark(wm, arrived) => {
                                side.watermark = side.watermark.max(wm);
                                // The combined watermark is the smallest of the inputs'.
                                let combined = side.watermark.min(others);
                                if combined > watermark {
                                    watermark = combined;
                                    if joined {
                                        crate::functions::time::set_current_watermark(Some(
                                            combine.output_watermark(watermark),
                                        ));
                                    }
                                    let mut fired = false;
                                    for out in combine.process_watermark(watermark, metrics)? {
                                        let out = push_batch(&mut operators, out, metrics)?;
                                        fired = true;
                                        emit(out, metrics, sink)?;
                                    }
                                    let out = push_watermark(
                                        &mut operators,
                                        combine.output_watermark(watermark),
                                        metrics,
                                    )?;
                                    fired |= !out.is_empty();
                                    emit(out, metrics, sink)?;
                                    if fired {
                                        metrics.record_firing(arrived.elapsed());
                                    }
                                }
                            }
                        }
                    }
                    drain_late_rows(&mut side.input.operators, late.as_deref_mut())?;
                }
                if let (Some(sink), Some(rows)) = (late.as_deref_mut(), combine.late_rows()) {
                    for batch in rows.take() {
                        sink.write(&batch)?;
                    }
                }
                drain_late_rows(&mut operators, late.as_deref_mut())?;
                if checkpoints.due() {
                    let mut inputs: Vec<&mut TableInput> =
                        sides.iter_mut().map(|s| &mut s.input).collect();
                    checkpoint(sink, late.as_deref_mut(), &mut inputs)?;
                }
            }
            let mut inputs: Vec<&mut TableInput> = sides.iter_mut().map(|s| &mut s.input).collect();
            checkpoint(sink, late, &mut inputs)?;
        }
    }
    Ok(preview)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use super::*;
    use crate::connectors::json::{JsonDecoder, JsonOptions};
    use crate::format::cell_text;
    use crate::plan::{plan_query, PlanOptions};
    use crate::sql::query::parse_query;
    use crate::sql::{parse_script, Statement};

    const DDL: &str = "CREATE TABLE ev (k STRING, v INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'filesystem', 'path' = 'x', 'format' = 'json')";
    const QUERY: &str = "SELECT window_start, k, COUNT(*), COUNT(DISTINCT v), SUM(v), AVG(v), MIN(v), MAX(v) FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end, k";
    /// Column `ts` of `ev`.
    const TS: usize = 2;

    fn plan_with(query: &str, options: &PlanOptions) -> PlannedQuery {
        let mut catalog = HashMap::new();
        let mut parsed = None;
        for s in parse_script(&format!("{DDL}; {query}"), &HashMap::new()).unwrap() {
            match s {
                Statement::CreateTable(t) => {
                    catalog.insert(t.name.clone(), *t);
                }
                Statement::Query { query: q, .. } => parsed = Some(q),
                _ => {}
            }
        }
        plan_query(&parse_query(parsed.unwrap()).unwrap(), &catalog, options).unwrap()
    }

    fn decode(lines: impl IntoIterator<Item = String>) -> RecordBatch {
        let def = match parse_script(DDL, &HashMap::new()).unwrap().remove(0) {
            Statement::CreateTable(t) => t,
            _ => unreachable!(),
        };
        let mut decoder =
            JsonDecoder::new(Arc::new(def.arrow_schema()), JsonOptions::default(), &[TS]);
        for line in lines {
            decoder.decode_line(&line).unwrap();
        }
        decoder.flush().unwrap()
    }

    fn batches() -> Vec<RecordBatch> {
        (0..6)
            .map(|b| {
                decode((0..5).map(|i| {
                    let sec = b * 4 + i;
                    format!(
                        r#"{{"k":"k{}","v":{},"ts":"2026-01-01 00:00:{sec:02}"}}"#,
                        i % 2,
                        (sec * 7) % 5
                    )
                }))
            })
            .collect()
    }

    /// Six batches of five rows, out of order within each batch, with keys that come and go
    /// and a gap of 8 s after the third batch (sessions end there).
    fn shuffled() -> Vec<RecordBatch> {
        (0..6)
            .map(|b| {
                decode((0..5).map(|i| {
                    let sec = b * 5 + [3, 0, 4, 1, 2][i] + if b >= 3 { 8 } else { 0 };
                    format!(
                        r#"{{"k":"k{}","v":{},"ts":"2026-01-01 00:00:{sec:02}"}}"#,
                        (i + b) % 3,
                        (sec * 7) % 5
                    )
                }))
            })
            .collect()
    }

    /// Feeds batches (with window columns when the query has a window) and, after each, the
    /// watermark `max(ts) - 1 s` through the operators.
    fn drive(
        query: &mut PlannedQuery,
        input: &[RecordBatch],
        metrics: &mut JobMetrics,
    ) -> Vec<String> {
        let PlannedSource::Table { assigner, .. } = &query.source else {
            panic!()
        };
        let mut out = Vec::new();
        for b in input {
            let times = event_time_millis(b.column(TS)).unwrap();
            let wm = arrow::compute::max(&times).unwrap() - 1000;
            let b = match assigner {
                Some(a) => a.assign(b).unwrap(),
                None => b.clone(),
            };
            out.extend(push_batch(&mut query.operators, b, metrics).unwrap());
            out.extend(push_watermark(&mut query.operators, wm, metrics).unwrap());
        }
        rows_text(&out)
    }

    /// Every row as comma-separated text, in emission order (a changelog's row kind last).
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

    /// The snapshot of every operator of a plan (`None` for stateless ones).
    fn snapshot_all(query: &mut PlannedQuery) -> Vec<Option<RecordBatch>> {
        query
            .operators
            .iter_mut()
            .map(|op| op.snapshot().unwrap())
            .collect()
    }

    fn restore_all(query: &mut PlannedQuery, states: &[Option<RecordBatch>]) {
        for (op, state) in query.operators.iter_mut().zip(states) {
            if let Some(state) = state {
                op.restore(state).unwrap();
            }
        }
    }

    /// Runs `query` over `input` whole, then again with a snapshot after `split` batches
    /// restored into a fresh plan, and asserts both give the same rows in the same order (the
    /// whole changelog for updating results), and that taking the snapshot changed nothing.
    /// Returns the rows and the snapshots.
    fn assert_snapshot_round_trip(
        query: &str,
        options: &PlanOptions,
        input: &[RecordBatch],
        split: usize,
    ) -> (Vec<String>, Vec<Option<RecordBatch>>) {
        let mut metrics = JobMetrics::default();
        let mut whole = plan_with(query, options);
        let mut expected = drive(&mut whole, input, &mut metrics);
        expected.extend(finish(&mut whole, &mut metrics));

        let mut first = plan_with(query, options);
        let mut got = drive(&mut first, &input[..split], &mut metrics);
        let states = snapshot_all(&mut first);
        assert!(
            states.iter().flatten().any(|s| s.num_rows() > 0),
            "the snapshot of {query} holds state"
        );
        let mut continued = got.clone();
        continued.extend(drive(&mut first, &input[split..], &mut metrics));
        continued.extend(finish(&mut first, &mut metrics));
        assert_eq!(continued, expected, "taking a snapshot changed the output");

        let mut second = plan_with(query, options);
        restore_all(&mut second, &states);
        got.extend(drive(&mut second, &input[split..], &mut metrics));
        got.extend(finish(&mut second, &mut metrics));
        assert_eq!(got, expected, "{query}");
        (expected, states)
    }

    #[test]
    fn window_state_survives_snapshot_and_restore() {
        let input = batches();
        let (rows, _) = assert_snapshot_round_trip(QUERY, &PlanOptions::default(), &input, 3);
        assert!(rows.len() >= 4, "{rows:?}");
    }

    #[test]
    fn deduplication_state_survives_snapshot_and_restore() {
        let input = shuffled();
        for order in ["ASC", "DESC"] {
            let query = format!("SELECT k, v, ts FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY ts {order}) AS rn FROM ev) WHERE rn = 1");
            let (rows, _) = assert_snapshot_round_trip(&query, &PlanOptions::default(), &input, 2);
            // Out-of-order rows revise the kept row: the changelog has updates.
            assert!(rows.iter().any(|r| r.ends_with(",1")), "{rows:?}");
        }
    }

    #[test]
    fn group_aggregate_state_survives_snapshot_and_restore() {
        let input = shuffled();
        let query =
            "SELECT k, COUNT(*), COUNT(DISTINCT v), SUM(v), AVG(v), MAX(v) FROM ev GROUP BY k";
        let (rows, _) = assert_snapshot_round_trip(query, &PlanOptions::default(), &input, 3);
        assert!(rows.iter().any(|r| r.ends_with(",2")), "{rows:?}");
        // Without keys: one global group.
        let query = "SELECT COUNT(*), SUM(v) FROM ev";
        assert_snapshot_round_trip(query, &PlanOptions::default(), &input, 1);
    }

    #[test]
    fn group_aggregate_snapshot_keeps_when_groups_were_last_seen() {
        let input = shuffled();
        let query = "SELECT k, COUNT(*) FROM ev GROUP BY k";
        let ttl = PlanOptions {
            state_ttl: Some(Duration::from_secs(3600)),
        };
        let mut metrics = JobMetrics::default();
        let mut first = plan_with(query, &ttl);
        drive(&mut first, &input[..1], &mut metrics);
        let states = snapshot_all(&mut first);
        let state = states.iter().flatten().next().unwrap().clone();
        // Restored as taken, the groups are fresh: the next row of k0 updates its count.
        let mut second = plan_with(query, &ttl);
        restore_all(&mut second, &states);
        let out = drive(&mut second, &input[1..2], &mut metrics);
        assert!(
            out.iter()
                .any(|r| r.starts_with("k0,") && r.ends_with(",1")),
            "{out:?}"
        );
        // Restored as if last seen two hours ago, beyond the TTL: k0 starts again with +I.
        let column = state
            .schema()
            .index_of(crate::operators::state::LAST_ACCESS)
            .unwrap();
        let old = arrow::compute::kernels::numeric::sub(
            state.column(column),
            &arrow::array::DurationMillisecondArray::new_scalar(2 * 3600 * 1000),
        )
        .unwrap();
        let mut columns = state.columns().to_vec();
        columns[column] = arrow::compute::cast(&old, state.column(column).data_type()).unwrap();
        let aged = RecordBatch::try_new(state.schema(), columns).unwrap();
        let mut third = plan_with(query, &ttl);
        // In the aggregation's place among the operators' snapshots.
        let aged: Vec<Option<RecordBatch>> = states
            .iter()
            .map(|s| s.as_ref().map(|_| aged.clone()))
            .collect();
        restore_all(&mut third, &aged);
        let out = drive(&mut third, &input[1..2], &mut metrics);
        assert!(
            !out.iter().any(|r| r.ends_with(",1") || r.ends_with(",2")),
            "{out:?}"
        );
        assert!(
            out.iter()
                .any(|r| r.starts_with("k0,") && r.ends_with(",0")),
            "{out:?}"
        );
    }

    #[test]
    fn distinct_state_survives_snapshot_and_restore_and_expires() {
        let input = shuffled();
        let query = "SELECT DISTINCT k, v FROM ev";
        let (rows, states) = assert_snapshot_round_trip(query, &PlanOptions::default(), &input, 1);
        // Only inserts: a repeated row changes nothing.
        assert!(rows.iter().all(|r| r.ends_with(",0")), "{rows:?}");
        let mut distinct = rows.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), rows.len(), "{rows:?}");
        // Restored as if last seen two hours ago, beyond a TTL of one hour: rows seen before
        // the snapshot pass again.
        let ttl = PlanOptions {
            state_ttl: Some(Duration::from_secs(3600)),
        };
        let state = states.iter().flatten().next().unwrap().clone();
        let column = state
            .schema()
            .index_of(crate::operators::state::LAST_ACCESS)
            .unwrap();
        // The snapshots of every operator, the aggregation's aged by `by_ms`.
        let aged = |by_ms: i64| -> Vec<Option<RecordBatch>> {
            let old = arrow::compute::kernels::numeric::sub(
                state.column(column),
                &arrow::array::DurationMillisecondArray::new_scalar(by_ms),
            )
            .unwrap();
            let mut columns = state.columns().to_vec();
            columns[column] = arrow::compute::cast(&old, state.column(column).data_type()).unwrap();
            let aged = RecordBatch::try_new(state.schema(), columns).unwrap();
            states
                .iter()
                .map(|s| s.as_ref().map(|_| aged.clone()))
                .collect()
        };
        let mut metrics = JobMetrics::default();
        let mut kept = plan_with(query, &ttl);
        restore_all(&mut kept, &aged(0));
        let fresh = drive(&mut kept, &input[..1], &mut metrics);
        assert!(fresh.is_empty(), "{fresh:?}");
        let mut expired = plan_with(query, &ttl);
        restore_all(&mut expired, &aged(2 * 3600 * 1000));
        let again = drive(&mut expired, &input[..1], &mut metrics);
        let mut first: Vec<String> = rows.iter().take(again.len()).cloned().collect();
        first.sort();
        let mut again_sorted = again.clone();
        again_sorted.sort();
        assert!(!again.is_empty());
        assert_eq!(again_sorted, first);
    }

    #[test]
    fn session_state_survives_snapshot_and_restore() {
        let input = shuffled();
        let query = "SELECT window_start, window_end, k, COUNT(*), COUNT(DISTINCT v), SUM(v) FROM TABLE(SESSION(TABLE ev PARTITION BY k, DESCRIPTOR(ts), INTERVAL '3' SECOND)) GROUP BY window_start, window_end, k";
        for split in [1, 3, 4] {
            let (rows, _) =
                assert_snapshot_round_trip(query, &PlanOptions::default(), &input, split);
            assert!(rows.len() >= 6, "{rows:?}");
        }
    }

    #[test]
    fn window_top_n_survives_snapshot_and_restore() {
        let input = shuffled();
        let query = "SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY c DESC, k) AS rn FROM (SELECT window_start, window_end, k, COUNT(*) AS c FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end, k)) WHERE rn <= 2";
        let (rows, states) = assert_snapshot_round_trip(query, &PlanOptions::default(), &input, 3);
        assert!(rows.len() >= 4, "{rows:?}");
        // The window aggregation holds the state; ranking a fired window needs none.
        assert_eq!(states.iter().flatten().count(), 1);
    }

    #[test]
    fn top_n_state_survives_snapshot_and_restore() {
        let input = shuffled();
        for select in ["*", "k, v, ts"] {
            let query = format!("SELECT {select} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC) AS rn FROM ev) WHERE rn <= 2");
            for split in [1, 3] {
                let (rows, _) =
                    assert_snapshot_round_trip(&query, &PlanOptions::default(), &input, split);
                assert!(rows.len() > 6, "{rows:?}");
            }
        }
    }

    #[test]
    fn top_n_over_an_updating_input_survives_snapshot_and_restore() {
        let input = shuffled();
        let text = |query: &str| {
            plan_with(query, &PlanOptions::default())
                .operators
                .iter()
                .map(|o| o.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        };
        // COUNT sorted descending only moves a group up: Flink's UpdateFastStrategy; sorted
        // ascending, or a SUM, needs RetractStrategy.
        for (order, strategy) in [
            ("c DESC", "UpdateFastStrategy[k, v]"),
            ("c ASC", "RetractStrategy"),
            ("s DESC", "RetractStrategy"),
        ] {
            for select in ["*", "k, v, c"] {
                let query = format!("SELECT {select} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY {order}) AS rn FROM (SELECT k, v, COUNT(*) AS c, SUM(v) AS s FROM ev GROUP BY k, v)) WHERE rn <= 2");
                let plan = text(&query);
                assert!(
                    plan.contains(&format!("TopN (updating, {strategy}): top 2")),
                    "{plan}"
                );
                for split in [1, 2, 4] {
                    let (rows, states) =
                        assert_snapshot_round_trip(&query, &PlanOptions::default(), &input, split);
                    // Rows leave the top 2, or change rank: not only inserts.
                    assert!(rows.iter().any(|r| !r.ends_with(",0")), "{rows:?}");
                    assert!(states.iter().flatten().count() >= 2, "{query}");
                }
            }
        }
    }

    #[test]
    fn row_number_one_by_time_deduplicates_and_otherwise_ranks() {
        let text = |query: &str| {
            plan_with(query, &PlanOptions::default())
                .operators
                .iter()
                .map(|o| o.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        };
        let by_time = text("SELECT k, v FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY ts DESC) AS rn FROM ev) WHERE rn = 1");
        assert!(by_time.contains("Deduplicate: keep last"), "{by_time}");
        let by_value = text("SELECT k, v FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC) AS rn FROM ev) WHERE rn = 1");
        assert!(by_value.contains("TopN (updating): top 1"), "{by_value}");
        assert!(!by_value.contains("with row number"), "{by_value}");
        let with_rank = text("SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC) AS rn FROM ev) WHERE rn <= 3");
        assert!(
            with_rank.contains("top 3 per [k@0] by [v@1 DESC], with row number"),
            "{with_rank}"
        );
    }
}
