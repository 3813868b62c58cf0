//! `weir seed`: realistic, deterministic events for the seed platforms' topics (MATIH's three
//! AI topics, an event-sourced order log, AppHub's user events, Livepeer's streaming events),
//! written to Weir's embedded log or a Kafka broker. The generators are pure functions of the
//! seed and the options (same inputs, same bytes); `weir bench` writes the MATIH ones to files.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use clap::{Args, ValueEnum};
use weir_engine::connectors::json::{parse_timestamp, TimestampStandard};
use weir_engine::connectors::kafka::{self, Cluster};

/// 2026-02-12 10:00:00.000 UTC, in milliseconds since the epoch: the default `--start`.
pub const DEFAULT_START_MS: i64 = 1_770_890_400_000;
/// A late record is at least this far behind the newest event time already written to its
/// topic: twice the MATIH jobs' 30 s watermark delay, so it is behind every job's watermark.
pub const LATE_MIN_MS: i64 = 60_000;
/// Late records are held back for between 90 s and this much more (event time).
const LATE_SPREAD_MS: u64 = 20 * 60_000;

// ---------------------------------------------------------------------------------------
// Randomness, time and JSON text
// ---------------------------------------------------------------------------------------

/// SplitMix64: tiny, fast and deterministic.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Exponentially distributed with this mean.
    fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
    /// An index drawn with these weights.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let mut roll = self.below(total);
        for (i, &w) in weights.iter().enumerate() {
            if roll < u64::from(w) {
                return i;
            }
            roll -= u64::from(w);
        }
        weights.len().saturating_sub(1)
    }
}

/// (year, month, day) of a day number since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn push_date_time(out: &mut String, ms: i64, sep: char) {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}{sep}{:02}:{:02}:{:02}.{:03}",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    );
}

/// Flink's SQL timestamp format: `2026-02-12 10:30:00.000`.
pub fn push_timestamp(out: &mut String, ms: i64) {
    push_date_time(out, ms, ' ');
}

/// ISO-8601 in UTC: `2026-02-12T10:30:00.000Z`.
pub fn push_iso_timestamp(out: &mut String, ms: i64) {
    push_date_time(out, ms, 'T');
    out.push('Z');
}

/// A JSON string literal.
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    // Almost every generated string needs no escape: copy it whole.
    if !s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes a JSON object field by field, straight into a `String` (no DOM: the generators
/// write millions of records).
struct Obj<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Obj<'a> {
    fn new(out: &'a mut String) -> Self {
        out.push('{');
        Self { out, first: true }
    }
    fn key(&mut self, k: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.out.push('"');
        self.out.push_str(k);
        self.out.push_str("\":");
        self.out
    }
    fn str(&mut self, k: &str, v: &str) -> &mut Self {
        push_json_string(self.key(k), v);
        self
    }
    fn opt_str(&mut self, k: &str, v: Option<&str>) -> &mut Self {
        match v {
            Some(v) => self.str(k, v),
            None => self.null(k),
        }
    }
    fn int(&mut self, k: &str, v: i64) -> &mut Self {
        let _ = write!(self.key(k), "{v}");
        self
    }
    fn float(&mut self, k: &str, v: f64, decimals: usize) -> &mut Self {
        let _ = write!(self.key(k), "{v:.decimals$}");
        self
    }
    fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        self.key(k).push_str(if v { "true" } else { "false" });
        self
    }
    fn null(&mut self, k: &str) -> &mut Self {
        self.key(k).push_str("null");
        self
    }
    /// `"k":"2026-02-12 10:30:00.000"`
    fn sql_time(&mut self, k: &str, ms: i64) -> &mut Self {
        let out = self.key(k);
        out.push('"');
        push_timestamp(out, ms);
        out.push('"');
        self
    }
    fn str_array(&mut self, k: &str, items: &[&str]) -> &mut Self {
        let out = self.key(k);
        out.push('[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_json_string(out, item);
        }
        out.push(']');
        self
    }
    /// `"k":"<prefix><a random UUID>"`
    fn uuid(&mut self, k: &str, prefix: &str, rng: &mut Rng) -> &mut Self {
        let out = self.key(k);
        out.push('"');
        out.push_str(prefix);
        push_uuid(out, rng);
        out.push('"');
        self
    }
    /// `"k":"123"`: a number as text.
    fn int_text(&mut self, k: &str, v: i64) -> &mut Self {
        let _ = write!(self.key(k), "\"{v}\"");
        self
    }
    /// A nested object; close it with [`Obj::end`] before writing the next field here.
    fn obj(&mut self, k: &str) -> Obj<'_> {
        Obj::new(self.key(k))
    }
    fn end(&mut self) {
        self.out.push('}');
    }
}

/// `prefix` and 8 hex digits of a fresh 32-bit id, e.g. `sess-1a2b3c4d` for width 8.
fn push_hex_id(out: &mut String, rng: &mut Rng, prefix: &str, digits: usize) {
    let bits = (digits * 4).min(64);
    let mask = if bits == 64 {
        u64::MAX
    } else {
        (1 << bits) - 1
    };
    let _ = write!(out, "{prefix}{:0digits$x}", rng.next_u64() & mask);
}

fn hex_id(rng: &mut Rng, prefix: &str, digits: usize) -> String {
    let mut s = String::with_capacity(prefix.len() + digits);
    push_hex_id(&mut s, rng, prefix, digits);
    s
}

/// A random (version 4) UUID's text.
fn push_uuid(out: &mut String, rng: &mut Rng) {
    let (a, b) = (rng.next_u64(), rng.next_u64());
    let _ = write!(
        out,
        "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        8 + (b >> 62),
        (b >> 48) & 0xfff,
        b & 0xffff_ffff_ffff
    );
}

/// An Ethereum-style address (Livepeer's gateways and orchestrators).
fn eth_address(rng: &mut Rng) -> String {
    format!(
        "0x{:016x}{:016x}{:08x}",
        rng.next_u64(),
        rng.next_u64(),
        rng.next_u64() >> 32
    )
}

/// Money with two decimals from cents.
fn money(cents: u64) -> f64 {
    cents as f64 / 100.0
}

// ---------------------------------------------------------------------------------------
// Topics, records and the options every generator takes
// ---------------------------------------------------------------------------------------

/// The seed platforms' topics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topic {
    StateChanges,
    AgentTraces,
    LlmOps,
    Orders,
    AppHub,
    Livepeer,
}

impl Topic {
    /// The topic's name on the log.
    pub fn name(self) -> &'static str {
        match self {
            Topic::StateChanges => "matih.ai.state-changes",
            Topic::AgentTraces => "matih.ai.agent-traces",
            Topic::LlmOps => "matih.ai.llm-ops",
            Topic::Orders => "domain.orders.events",
            Topic::AppHub => "apphub.streaming.input",
            Topic::Livepeer => "streaming_events",
        }
    }

    /// Distinct per topic, so topics are not shifted copies of each other.
    fn salt(self) -> u64 {
        match self {
            Topic::StateChanges => 1,
            Topic::AgentTraces => 2,
            Topic::LlmOps => 3,
            Topic::Orders => 4,
            Topic::AppHub => 5,
            Topic::Livepeer => 6,
        }
    }

    /// The watermark delay of the sample job that reads the topic (sample-jobs/): jitter must
    /// stay below it or on-time records would be late. Orders and Livepeer have no sample job
    /// yet; they get MATIH's 30 s.
    pub fn watermark_delay_ms(self) -> u64 {
        match self {
            Topic::AppHub => 5_000,
            _ => 30_000,
        }
    }

    /// Whether malformed and duplicate records are mixed in (the topics a quality gate reads).
    pub fn has_quality_faults(self) -> bool {
        self == Topic::Livepeer
    }
}

/// What `--dataset` chooses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Dataset {
    /// MATIH: matih.ai.state-changes, matih.ai.agent-traces, matih.ai.llm-ops.
    Matih,
    /// AppHub: apphub.streaming.input.
    Apphub,
    /// Event-sourced orders: domain.orders.events.
    Orders,
    /// Livepeer: streaming_events (with malformed and duplicate records).
    Livepeer,
    /// All of the above.
    All,
}

impl Dataset {
    pub fn topics(self) -> &'static [Topic] {
        match self {
            Dataset::Matih => &[Topic::StateChanges, Topic::AgentTraces, Topic::LlmOps],
            Dataset::Apphub => &[Topic::AppHub],
            Dataset::Orders => &[Topic::Orders],
            Dataset::Livepeer => &[Topic::Livepeer],
            Dataset::All => &[
                Topic::StateChanges,
                Topic::AgentTraces,
                Topic::LlmOps,
                Topic::Orders,
                Topic::AppHub,
                Topic::Livepeer,
            ],
        }
    }
}

/// How a malformed record is broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malformation {
    /// Not JSON: the text is cut short.
    BadJson,
    /// A required field is missing.
    MissingField,
    /// A required field has the wrong JSON type.
    WrongType,
}

/// Why a record is where it is in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Written within the jitter of the newest event time.
    OnTime,
    /// Held back: written at least [`LATE_MIN_MS`] behind the newest event time.
    Late,
    /// The exact bytes of an earlier record, sent again (a producer's retry).
    Duplicate,
    Malformed(Malformation),
}

/// One generated record, in the order it is written.
#[derive(Clone, Debug)]
pub struct Record {
    pub key: String,
    pub value: String,
    /// The event's time (also of a malformed record, whose text may not say it).
    pub event_ms: i64,
    pub kind: Kind,
}

impl Default for Record {
    fn default() -> Self {
        Self {
            key: String::new(),
            value: String::new(),
            event_ms: 0,
            kind: Kind::OnTime,
        }
    }
}

/// What every generator takes. Shares are parts per million of the records written.
#[derive(Clone, Debug)]
pub struct GenOptions {
    pub seed: u64,
    pub start_ms: i64,
    /// Mean event-time gap between consecutive events of one topic.
    pub interval_ms: u64,
    /// Events are written up to this much (exclusive) after their event time.
    pub jitter_ms: u64,
    pub late_ppm: u32,
    /// Only on topics with quality faults ([`Topic::has_quality_faults`]).
    pub malformed_ppm: u32,
    /// Only on topics with quality faults.
    pub duplicate_ppm: u32,
}

impl Default for GenOptions {
    fn default() -> Self {
        Self {
            seed: 42,
            start_ms: DEFAULT_START_MS,
            interval_ms: 1_000,
            jitter_ms: 3_000,
            late_ppm: 0,
            malformed_ppm: 0,
            duplicate_ppm: 0,
        }
    }
}

/// The generator of one topic.
pub trait Source {
    fn topic(&self) -> Topic;
    /// The (approximate) time of the next record: generators of several topics are merged by it.
    fn peek_ms(&self) -> i64;
    /// Writes the next record into `rec`.
    fn next_into(&mut self, rec: &mut Record);
}

/// The generator of `topic`.
pub fn generator(topic: Topic, options: &GenOptions) -> Box<dyn Source> {
    match topic {
        Topic::StateChanges => Box::new(TopicGen::new(topic, StateChanges, options)),
        Topic::AgentTraces => Box::new(TopicGen::new(topic, AgentTraces, options)),
        Topic::LlmOps => Box::new(TopicGen::new(topic, LlmOps, options)),
        Topic::Orders => Box::new(TopicGen::new(topic, Orders, options)),
        Topic::AppHub => Box::new(TopicGen::new(topic, AppHub, options)),
        Topic::Livepeer => {
            let mut rng = Rng(options.seed ^ 0x5EED_11FE_9EE5);
            Box::new(TopicGen::new(topic, Livepeer::new(&mut rng), options))
        }
    }
}

// ---------------------------------------------------------------------------------------
// The scheduler: entities with lifecycles, event time, jitter, late and faulty records
// ---------------------------------------------------------------------------------------

/// One topic's kind of entity (a session, an order, a stream) and what it writes.
trait Model {
    type Entity;
    /// Mean number of events an entity writes over its life. Entities start at random
    /// (exponential gaps of `MEAN_EVENTS * interval`), so a topic carries about one event per
    /// interval once as many are running as start (Little's law).
    const MEAN_EVENTS: f64;
    fn spawn(&mut self, rng: &mut Rng) -> Self::Entity;
    /// Writes the entity's next event at event time `ts` into `rec` (key and value), and
    /// returns the wait until its following one, or None after its last.
    fn step(
        &mut self,
        rng: &mut Rng,
        e: &mut Self::Entity,
        ts: i64,
        rec: &mut Record,
    ) -> Option<u64>;
    /// Breaks a valid record the way `how` says (topics with quality faults only).
    fn malform(&self, rng: &mut Rng, value: &mut String, how: Malformation) {
        let _ = how;
        cut_short(rng, value);
    }
}

/// Cuts a record's text short (a producer that died mid-write): any strict prefix of a JSON
/// object is not JSON. At least half stays, so the record is still told apart by its id.
fn cut_short(rng: &mut Rng, value: &mut String) {
    let half = value.len() / 2;
    let keep = half + rng.below(value.len().saturating_sub(half + 1) as u64) as usize;
    value.truncate(keep.max(1));
}

struct Slot<E> {
    entity: E,
    /// The entity's last event time: its events stay in order even with jitter.
    last_ms: i64,
}

/// The generic generator: runs a model's entities on an event-time clock.
struct TopicGen<M: Model> {
    topic: Topic,
    model: M,
    rng: Rng,
    start_ms: i64,
    jitter_ms: u64,
    spawn_gap_ms: f64,
    retry_ms: i64,
    /// Per generated event (not per written record), so the shares of written records come
    /// out as the options say: duplicates add records.
    malformed_ppm: u32,
    late_ppm: u32,
    duplicate_ppm: u32,
    slots: Vec<Option<Slot<M::Entity>>>,
    free: Vec<usize>,
    /// (due time, sequence, slot) of every running entity's next event.
    due: BinaryHeap<Reverse<(i64, u64, usize)>>,
    /// Records to write later (late ones and duplicates), by (time to write, sequence).
    held: BTreeMap<(i64, u64), Record>,
    next_spawn: i64,
    seq: u64,
    /// The newest event time written (of records that parse).
    max_seen: i64,
}

impl<M: Model> TopicGen<M> {
    fn new(topic: Topic, model: M, o: &GenOptions) -> Self {
        let (malformed, duplicate) = if topic.has_quality_faults() {
            (o.malformed_ppm, o.duplicate_ppm)
        } else {
            (0, 0)
        };
        // A share d of written records are duplicates: per generated event, malformed and
        // late scale by 1/(1-d), and each on-time valid event is re-sent with probability
        // d / ((1-d) * its share).
        let d = f64::from(duplicate) / 1e6;
        let m = f64::from(malformed) / 1e6 / (1.0 - d);
        let l = f64::from(o.late_ppm) / 1e6 / (1.0 - d);
        let valid = (1.0 - m - l).max(1e-9);
        let dup = d / ((1.0 - d) * valid);
        let ppm = |p: f64| (p * 1e6).round().clamp(0.0, 1e6) as u32;
        Self {
            topic,
            model,
            rng: Rng(o.seed ^ topic.salt().wrapping_mul(0xD6E8_FEB8_6659_FD93)),
            start_ms: o.start_ms,
            jitter_ms: o.jitter_ms,
            spawn_gap_ms: M::MEAN_EVENTS * o.interval_ms.max(1) as f64,
            retry_ms: o.interval_ms.max(1000) as i64,
            malformed_ppm: ppm(m),
            late_ppm: ppm(l),
            duplicate_ppm: ppm(dup),
            slots: Vec::new(),
            free: Vec::new(),
            due: BinaryHeap::new(),
            held: BTreeMap::new(),
            next_spawn: o.start_ms,
            seq: 0,
            max_seen: i64::MIN,
        }
    }

    fn schedule(&mut self, at: i64, slot: usize) {
        self.seq += 1;
        self.due.push(Reverse((at, self.seq, slot)));
    }

    fn hold(&mut self, at: i64, rec: Record) {
        self.seq += 1;
        self.held.insert((at, self.seq), rec);
    }

    fn spawn(&mut self) {
        let entity = self.model.spawn(&mut self.rng);
        let slot = Slot {
            entity,
            last_ms: i64::MIN,
        };
        let ix = match self.free.pop() {
            Some(ix) => {
                self.slots[ix] = Some(slot);
                ix
            }
            None => {
                self.slots.push(Some(slot));
                self.slots.len() - 1
            }
        };
        let at = self.next_spawn;
        self.schedule(at, ix);
        self.next_spawn += self.rng.exp(self.spawn_gap_ms) as i64;
    }
}

impl<M: Model> Source for TopicGen<M> {
    fn topic(&self) -> Topic {
        self.topic
    }

    fn peek_ms(&self) -> i64 {
        let due = self.due.peek().map_or(i64::MAX, |r| r.0 .0);
        let held = self.held.first_key_value().map_or(i64::MAX, |(k, _)| k.0);
        due.min(held).min(self.next_spawn)
    }

    fn next_into(&mut self, rec: &mut Record) {
        loop {
            let t_due = self.due.peek().map_or(i64::MAX, |r| r.0 .0);
            let t_held = self.held.first_key_value().map_or(i64::MAX, |(k, _)| k.0);
            if t_held <= t_due && t_held <= self.next_spawn {
                let Some(((at, seq), held)) = self.held.pop_first() else {
                    continue;
                };
                if held.kind == Kind::Late
                    && held.event_ms > self.max_seen.saturating_sub(LATE_MIN_MS)
                {
                    // Not far enough behind yet (a quiet stretch): wait for newer events.
                    self.held.insert((at + self.retry_ms, seq), held);
                    continue;
                }
                *rec = held;
                return;
            }
            if self.next_spawn < t_due {
                self.spawn();
                continue;
            }
            let Some(Reverse((t, _, ix))) = self.due.pop() else {
                continue;
            };
            let Some(Some(slot)) = self.slots.get_mut(ix) else {
                continue;
            };
            // The event happened up to `jitter` before it is written, after the entity's last.
            let delay = self.rng.below(self.jitter_ms) as i64;
            let ts = (t - delay)
                .max(self.start_ms)
                .max(slot.last_ms.saturating_add(1));
            slot.last_ms = ts;
            rec.key.clear();
            rec.value.clear();
            rec.event_ms = ts;
            rec.kind = Kind::OnTime;
            match self.model.step(&mut self.rng, &mut slot.entity, ts, rec) {
                Some(wait) => self.schedule(t + wait.max(1) as i64, ix),
                None => {
                    self.slots[ix] = None;
                    self.free.push(ix);
                }
            }
            let roll = self.rng.below(1_000_000) as u32;
            if roll < self.malformed_ppm {
                let how = match self.rng.below(3) {
                    0 => Malformation::BadJson,
                    1 => Malformation::MissingField,
                    _ => Malformation::WrongType,
                };
                self.model.malform(&mut self.rng, &mut rec.value, how);
                rec.kind = Kind::Malformed(how);
                return;
            }
            if roll < self.malformed_ppm + self.late_ppm {
                let mut late = rec.clone();
                late.kind = Kind::Late;
                let at = t + 90_000 + self.rng.below(LATE_SPREAD_MS) as i64;
                self.hold(at, late);
                continue;
            }
            self.max_seen = self.max_seen.max(ts);
            if self.rng.below(1_000_000) < u64::from(self.duplicate_ppm) {
                // Re-sent before the event is `jitter` old, so it is not late.
                let window = (ts + self.jitter_ms as i64 - t).max(0) as u64;
                let at = t + self.rng.below(window) as i64;
                let mut dup = rec.clone();
                dup.kind = Kind::Duplicate;
                self.hold(at, dup);
            }
            return;
        }
    }
}

// ---------------------------------------------------------------------------------------
// MATIH (seed 000): state changes, agent traces, LLM operations
// ---------------------------------------------------------------------------------------

const TENANTS: [&str; 8] = [
    "acme-health",
    "globex-retail",
    "initech-bank",
    "umbrella-labs",
    "stark-energy",
    "wayne-logistics",
    "hooli-media",
    "tyrell-robotics",
];
/// Bigger tenants send more.
const TENANT_WEIGHTS: [u32; 8] = [24, 18, 14, 12, 10, 9, 7, 6];
const TENANT_USERS: [u64; 8] = [60, 45, 30, 25, 20, 18, 12, 10];
const AGENTS: [&str; 6] = [
    "sql-agent",
    "viz-agent",
    "router-agent",
    "docs-agent",
    "python-agent",
    "search-agent",
];
const AGENT_WEIGHTS: [u32; 6] = [30, 20, 20, 12, 10, 8];

/// `acme` of `acme-health`.
fn tenant_short(tenant: usize) -> &'static str {
    let t = TENANTS[tenant];
    t.split('-').next().unwrap_or(t)
}

fn user_of(rng: &mut Rng, tenant: usize) -> String {
    format!(
        "u-{}-{:03}",
        tenant_short(tenant),
        rng.below(TENANT_USERS[tenant])
    )
}

/// The envelope's first fields: `{"event_id":"evt-<uuid>","event_type":..,"tenant_id":..`.
fn matih_head<'a>(out: &'a mut String, rng: &mut Rng, event_type: &str, tenant: usize) -> Obj<'a> {
    let mut o = Obj::new(out);
    o.uuid("event_id", "evt-", rng)
        .str("event_type", event_type)
        .str("tenant_id", TENANTS[tenant]);
    o
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SessionEnd {
    Completed,
    /// Waits for input, then the reaper abandons it.
    Idle,
    /// Abandoned from the active state (an error, the user left).
    Dropped,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SessionPhase {
    Created,
    Active,
    Awaiting,
    End,
}

struct Session {
    id: String,
    tenant: usize,
    user: String,
    /// An agent's run (entity_type 'agent') rather than a chat session.
    agent: bool,
    phase: SessionPhase,
    state: &'static str,
    rounds: u32,
    turns: u32,
    created_ms: i64,
    end: SessionEnd,
}

/// `matih.ai.state-changes`: chat sessions move created -> active [-> awaiting_input ->
/// active]* -> completed (metadata: duration_ms, turn_count) or abandoned (by the reaper:
/// triggered_by null); agent runs move idle -> running -> completed or failed.
struct StateChanges;

enum Meta<'a> {
    Absent,
    Null,
    Text(&'a str),
}

#[allow(clippy::too_many_arguments)]
fn write_state_change(
    rec: &mut Record,
    rng: &mut Rng,
    s: &Session,
    from: Option<&str>,
    to: &str,
    triggered_by: Option<&str>,
    metadata: Meta<'_>,
    ts: i64,
) {
    let (event_type, entity_type) = if s.agent {
        ("agent.state_changed", "agent")
    } else {
        ("session.state_changed", "session_phase")
    };
    let mut o = matih_head(&mut rec.value, rng, event_type, s.tenant);
    o.str("entity_type", entity_type)
        .str("entity_id", &s.id)
        .opt_str("from_state", from)
        .str("to_state", to)
        .opt_str("triggered_by", triggered_by);
    match metadata {
        Meta::Absent => {}
        Meta::Null => {
            o.null("metadata");
        }
        Meta::Text(m) => {
            o.str("metadata", m);
        }
    }
    // A field the job's table does not declare: readers ignore it.
    o.int("schema_version", 1).sql_time("timestamp", ts).end();
    rec.key.push_str(&s.id);
}

impl Model for StateChanges {
    type Entity = Session;
    // Sessions (80%): 3 + 2 * 7/6 rounds + 0.18 idle waits; agent runs (20%): 2.
    const MEAN_EVENTS: f64 = 4.8;

    fn spawn(&mut self, rng: &mut Rng) -> Session {
        let tenant = rng.weighted(&TENANT_WEIGHTS);
        let agent = rng.chance(20);
        let (id, user) = if agent {
            (
                format!(
                    "{}/{}",
                    tenant_short(tenant),
                    AGENTS[rng.weighted(&AGENT_WEIGHTS)]
                ),
                format!("u-{}-agent-runner", tenant_short(tenant)),
            )
        } else {
            (hex_id(rng, "sess-", 12), user_of(rng, tenant))
        };
        let end = match rng.below(100) {
            0..=71 => SessionEnd::Completed,
            72..=89 => SessionEnd::Idle,
            _ => SessionEnd::Dropped,
        };
        Session {
            id,
            tenant,
            user,
            agent,
            phase: SessionPhase::Created,
            state: "created",
            rounds: rng.pick(&[0, 0, 1, 1, 2, 3]),
            turns: 1,
            created_ms: 0,
            end,
        }
    }

    fn step(&mut self, rng: &mut Rng, s: &mut Session, ts: i64, rec: &mut Record) -> Option<u64> {
        if s.agent {
            return if s.phase == SessionPhase::Created {
                s.phase = SessionPhase::End;
                s.created_ms = ts;
                write_state_change(
                    rec,
                    rng,
                    s,
                    Some("idle"),
                    "running",
                    Some(&s.user),
                    Meta::Null,
                    ts,
                );
                Some(rng.range(2_000, 90_000))
            } else {
                // Agent runs carry duration_ms too: a job that forgets the session filter
                // gets different averages.
                let (to, meta) = if rng.chance(85) {
                    (
                        "completed",
                        format!(
                            "{{\"duration_ms\":{},\"turn_count\":{}}}",
                            ts - s.created_ms,
                            rng.range(1, 30)
                        ),
                    )
                } else {
                    ("failed", "{\"error\":\"tool timeout\"}".to_string())
                };
                write_state_change(
                    rec,
                    rng,
                    s,
                    Some("running"),
                    to,
                    Some(&s.user),
                    Meta::Text(&meta),
                    ts,
                );
                None
            };
        }
        match s.phase {
            SessionPhase::Created => {
                s.created_ms = ts;
                let meta = format!(
                    "{{\"channel\":\"{}\"}}",
                    rng.pick(&["web", "web", "slack", "api", "teams"])
                );
                let meta = if rng.chance(70) {
                    Meta::Text(&meta)
                } else {
                    Meta::Null
                };
                write_state_change(rec, rng, s, None, "created", Some(&s.user), meta, ts);
                s.phase = SessionPhase::Active;
                Some(rng.range(300, 4_000))
            }
            SessionPhase::Active => {
                let meta = if rng.chance(50) {
                    Meta::Absent
                } else {
                    Meta::Null
                };
                write_state_change(
                    rec,
                    rng,
                    s,
                    Some(s.state),
                    "active",
                    Some(&s.user),
                    meta,
                    ts,
                );
                s.state = "active";
                if s.rounds > 0 || s.end == SessionEnd::Idle {
                    s.phase = SessionPhase::Awaiting;
                    Some(rng.range(20_000, 180_000))
                } else {
                    s.phase = SessionPhase::End;
                    Some(rng.range(30_000, 600_000))
                }
            }
            SessionPhase::Awaiting => {
                let meta = format!("{{\"turn\":{}}}", s.turns);
                let meta = if rng.chance(40) {
                    Meta::Text(&meta)
                } else {
                    Meta::Null
                };
                write_state_change(
                    rec,
                    rng,
                    s,
                    Some("active"),
                    "awaiting_input",
                    Some(&s.user),
                    meta,
                    ts,
                );
                s.state = "awaiting_input";
                s.turns += 1;
                if s.rounds > 0 {
                    s.rounds -= 1;
                    s.phase = SessionPhase::Active;
                    Some(rng.range(5_000, 120_000))
                } else {
                    // Only idle sessions wait without a round left: the reaper ends them.
                    s.phase = SessionPhase::End;
                    Some(rng.range(300_000, 900_000))
                }
            }
            SessionPhase::End => {
                match s.end {
                    SessionEnd::Completed => {
                        // Turns that did not leave the active state count too.
                        let turns = s.turns + rng.below(7) as u32;
                        let mut meta = format!(
                            "{{\"duration_ms\":{},\"turn_count\":{turns}",
                            ts - s.created_ms
                        );
                        if rng.chance(30) {
                            let model = rng.pick(&["gpt-4o", "claude-sonnet-4", "llama-3.1-70b"]);
                            let _ = write!(meta, ",\"model\":\"{model}\"");
                        }
                        meta.push('}');
                        write_state_change(
                            rec,
                            rng,
                            s,
                            Some(s.state),
                            "completed",
                            Some(&s.user),
                            Meta::Text(&meta),
                            ts,
                        );
                    }
                    SessionEnd::Idle | SessionEnd::Dropped => {
                        let reason = if s.end == SessionEnd::Idle {
                            "idle_timeout"
                        } else {
                            rng.pick(&["user_left", "error"])
                        };
                        let meta = format!("{{\"reason\":\"{reason}\"}}");
                        write_state_change(
                            rec,
                            rng,
                            s,
                            Some(s.state),
                            "abandoned",
                            None,
                            Meta::Text(&meta),
                            ts,
                        );
                    }
                }
                None
            }
        }
    }
}

const TOOLS: [&str; 6] = ["sql", "search", "chart", "python", "http", "retrieval"];
const AGENT_ERRORS: [&str; 5] = [
    "tool timeout after 30s",
    "rate limited by provider (429)",
    "sql error: relation \"orders_v2\" does not exist",
    "context length exceeded (131072 tokens)",
    "tool returned invalid JSON",
];

struct Trace {
    session_id: String,
    trace_id: String,
    tenant: usize,
    agent_id: String,
    started: bool,
    steps_left: u32,
    tools: Vec<&'static str>,
    started_ms: i64,
    tokens_in: u64,
    tokens_out: u64,
    cost: f64,
}

/// `matih.ai.agent-traces`: an agent's run in a session: started, 0-4 tool calls, then
/// completed (totals of latency, tokens, cost and the tools used) or failed (an error message).
struct AgentTraces;

/// Claude Sonnet's list prices, USD per token (input, output).
const AGENT_PRICE: (f64, f64) = (3.0 / 1e6, 15.0 / 1e6);

impl Model for AgentTraces {
    type Entity = Trace;
    const MEAN_EVENTS: f64 = 4.0;

    fn spawn(&mut self, rng: &mut Rng) -> Trace {
        let tenant = rng.weighted(&TENANT_WEIGHTS);
        Trace {
            session_id: hex_id(rng, "sess-", 12),
            trace_id: hex_id(rng, "tr-", 16),
            tenant,
            agent_id: format!(
                "{}/{}",
                TENANTS[tenant],
                AGENTS[rng.weighted(&AGENT_WEIGHTS)]
            ),
            started: false,
            steps_left: rng.below(5) as u32,
            tools: Vec::new(),
            started_ms: 0,
            tokens_in: 0,
            tokens_out: 0,
            cost: 0.0,
        }
    }

    fn step(&mut self, rng: &mut Rng, t: &mut Trace, ts: i64, rec: &mut Record) -> Option<u64> {
        let (action, next) = if !t.started {
            t.started = true;
            t.started_ms = ts;
            ("started", Some(rng.range(100, 2_000)))
        } else if t.steps_left > 0 {
            t.steps_left -= 1;
            ("tool_call", Some(0))
        } else if rng.chance(92) {
            ("completed", None)
        } else {
            ("failed", None)
        };
        let event_type = format!("agent.{action}");
        let mut o = matih_head(&mut rec.value, rng, &event_type, t.tenant);
        o.str("trace_id", &t.trace_id)
            .str("agent_id", &t.agent_id)
            .str("action", action)
            .str("session_id", &t.session_id);
        let wait = match action {
            "started" => {
                o.null("latency_ms")
                    .null("tokens_input")
                    .null("tokens_output")
                    .null("cost_usd")
                    .str_array("tools_used", &[])
                    .null("error_message");
                next
            }
            "tool_call" => {
                let tool = TOOLS[rng.below(TOOLS.len() as u64) as usize];
                let latency = if rng.chance(3) {
                    rng.range(5_000, 30_000)
                } else {
                    rng.range(20, 3_000)
                };
                let (tin, tout) = (rng.range(200, 4_000), rng.range(20, 800));
                let cost = tin as f64 * AGENT_PRICE.0 + tout as f64 * AGENT_PRICE.1;
                t.tokens_in += tin;
                t.tokens_out += tout;
                t.cost += cost;
                if !t.tools.contains(&tool) {
                    t.tools.push(tool);
                }
                o.int("latency_ms", latency as i64)
                    .int("tokens_input", tin as i64)
                    .int("tokens_output", tout as i64)
                    .float("cost_usd", cost, 6)
                    .str_array("tools_used", &[tool])
                    .null("error_message");
                Some(latency + rng.range(200, 4_000))
            }
            _ => {
                let (tin, tout) = (rng.range(300, 4_000), rng.range(50, 1_500));
                t.tokens_in += tin;
                t.tokens_out += tout;
                t.cost += tin as f64 * AGENT_PRICE.0 + tout as f64 * AGENT_PRICE.1;
                o.int("latency_ms", ts - t.started_ms)
                    .int("tokens_input", t.tokens_in as i64)
                    .int("tokens_output", t.tokens_out as i64)
                    .float("cost_usd", t.cost, 6)
                    .str_array("tools_used", &t.tools);
                if action == "failed" {
                    o.str("error_message", rng.pick(&AGENT_ERRORS));
                } else {
                    o.null("error_message");
                }
                None
            }
        };
        o.sql_time("timestamp", ts).end();
        rec.key.push_str(&t.session_id);
        wait
    }
}

/// (provider, model, USD per 1M input tokens, per 1M output tokens, ms per output token).
const LLM_MODELS: [(&str, &str, f64, f64, f64); 6] = [
    ("openai", "gpt-4o", 2.5, 10.0, 12.0),
    ("openai", "gpt-4o-mini", 0.15, 0.6, 6.0),
    ("anthropic", "claude-sonnet-4", 3.0, 15.0, 14.0),
    ("anthropic", "claude-haiku-4", 0.8, 4.0, 7.0),
    ("azure", "gpt-4o", 2.5, 10.0, 13.0),
    ("vllm", "llama-3.1-70b", 0.2, 0.2, 20.0),
];
const LLM_WEIGHTS: [u32; 6] = [25, 20, 22, 13, 12, 8];

struct LlmSession {
    session_id: String,
    tenant: usize,
    model: usize,
    calls_left: u32,
}

/// `matih.ai.llm-ops`: a session's LLM calls (1-9, a few seconds apart), mostly to one model;
/// cache hits are fast and free, failures have no output and an error_type.
struct LlmOps;

impl Model for LlmOps {
    type Entity = LlmSession;
    const MEAN_EVENTS: f64 = 5.0;

    fn spawn(&mut self, rng: &mut Rng) -> LlmSession {
        LlmSession {
            session_id: hex_id(rng, "sess-", 12),
            tenant: rng.weighted(&TENANT_WEIGHTS),
            model: rng.weighted(&LLM_WEIGHTS),
            calls_left: rng.range(1, 9) as u32,
        }
    }

    fn step(
        &mut self,
        rng: &mut Rng,
        s: &mut LlmSession,
        ts: i64,
        rec: &mut Record,
    ) -> Option<u64> {
        let model = if rng.chance(80) {
            s.model
        } else {
            rng.weighted(&LLM_WEIGHTS)
        };
        let (provider, name, price_in, price_out, ms_per_token) = LLM_MODELS[model];
        let cache_hit = rng.chance(15);
        let success = cache_hit || !rng.chance(4);
        let tokens_in = rng.range(50, 8_000);
        // Most answers are short; a few are long (and slow).
        let tokens_out = match (success, rng.below(100)) {
            (false, _) => 0,
            (true, 0..=69) => rng.range(10, 300),
            (true, 70..=94) => rng.range(300, 1_200),
            (true, _) => rng.range(1_200, 4_000),
        };
        let (latency, cost) = if cache_hit {
            (rng.range(4, 60), 0.0)
        } else if success {
            (
                rng.range(150, 900) + (tokens_out as f64 * ms_per_token) as u64,
                (tokens_in as f64 * price_in + tokens_out as f64 * price_out) / 1e6,
            )
        } else {
            (rng.range(200, 30_000), tokens_in as f64 * price_in / 1e6)
        };
        let mut o = matih_head(&mut rec.value, rng, "llm.request", s.tenant);
        let request_id = hex_id(rng, "req-", 16);
        o.str("request_id", &request_id)
            .str("session_id", &s.session_id);
        if rng.chance(1) {
            o.null("provider").null("model");
        } else {
            o.str("provider", provider).str("model", name);
        }
        o.int("tokens_input", tokens_in as i64)
            .int("tokens_output", tokens_out as i64)
            .float("cost_usd", cost, 6)
            .int("latency_ms", latency as i64)
            .bool("cache_hit", cache_hit)
            .bool("success", success);
        if success {
            o.null("error_type");
        } else {
            o.str(
                "error_type",
                rng.pick(&["rate_limit", "timeout", "server_error", "content_filter"]),
            );
        }
        o.sql_time("timestamp", ts).end();
        rec.key.push_str(&s.session_id);
        s.calls_left -= 1;
        (s.calls_left > 0).then(|| rng.range(1_000, 30_000))
    }
}

// ---------------------------------------------------------------------------------------
// Event-sourced orders (seed 001)
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum OrderStage {
    New,
    Placed,
    Confirmed,
    Shipped,
    Done,
}

struct Order {
    id: String,
    tenant: &'static str,
    customer: String,
    cents: u64,
    currency: &'static str,
    items: u64,
    version: i64,
    stage: OrderStage,
    correlation: String,
    /// The next event cancels the order.
    cancel: bool,
}

/// `domain.orders.events`: the seed's event envelope (event_id, event_type, entity_type,
/// entity_id, tenant_id, ISO-8601 timestamp, version, data, metadata); an order's events are
/// OrderPlaced -> OrderConfirmed -> OrderShipped -> OrderDelivered, or end in OrderCancelled;
/// `version` counts the order's events (1, 2, ...).
struct Orders;

const ORDER_TENANTS: [&str; 4] = ["tenant-789", "tenant-412", "tenant-233", "tenant-905"];

impl Model for Orders {
    type Entity = Order;
    // 1 + 0.92 * (1 + 0.97 * 2 + 0.03) + 0.08
    const MEAN_EVENTS: f64 = 3.8;

    fn spawn(&mut self, rng: &mut Rng) -> Order {
        let tenant = ORDER_TENANTS[rng.weighted(&[50, 25, 15, 10])];
        // Most orders are small, a few are large.
        let cents = if rng.chance(10) {
            rng.range(20_000, 250_000)
        } else {
            rng.range(599, 19_999)
        };
        Order {
            id: format!("order-{}", rng.range(100_000, 9_999_999)),
            tenant,
            customer: format!("cust-{}", rng.range(100, 40_000)),
            cents,
            currency: ["USD", "EUR", "GBP"][rng.weighted(&[70, 20, 10])],
            items: rng.range(1, 6),
            version: 0,
            stage: OrderStage::New,
            correlation: hex_id(rng, "req-", 12),
            cancel: false,
        }
    }

    fn step(&mut self, rng: &mut Rng, o: &mut Order, ts: i64, rec: &mut Record) -> Option<u64> {
        o.version += 1;
        let mut cancel_reason = "";
        let (event_type, source, next) = if o.cancel {
            cancel_reason = match o.stage {
                OrderStage::Confirmed => "out_of_stock",
                _ => rng.pick(&["customer_request", "payment_failed"]),
            };
            o.stage = OrderStage::Done;
            ("OrderCancelled", "order-service", None)
        } else {
            match o.stage {
                OrderStage::New => {
                    o.stage = OrderStage::Placed;
                    o.cancel = rng.chance(8);
                    let wait = if o.cancel {
                        rng.range(60_000, 1_200_000)
                    } else {
                        rng.range(2_000, 300_000)
                    };
                    ("OrderPlaced", "order-service", Some(wait))
                }
                OrderStage::Placed => {
                    o.stage = OrderStage::Confirmed;
                    o.cancel = rng.chance(3);
                    let wait = if o.cancel {
                        rng.range(300_000, 3_600_000)
                    } else {
                        rng.range(600_000, 10_800_000)
                    };
                    ("OrderConfirmed", "payment-service", Some(wait))
                }
                OrderStage::Confirmed => {
                    o.stage = OrderStage::Shipped;
                    (
                        "OrderShipped",
                        "fulfillment-service",
                        Some(rng.range(1_800_000, 21_600_000)),
                    )
                }
                OrderStage::Shipped | OrderStage::Done => {
                    o.stage = OrderStage::Done;
                    ("OrderDelivered", "fulfillment-service", None)
                }
            }
        };
        let mut e = Obj::new(&mut rec.value);
        e.uuid("event_id", "evt-", rng)
            .str("event_type", event_type)
            .str("entity_type", "Order")
            .str("entity_id", &o.id)
            .str("tenant_id", o.tenant);
        {
            let out = e.key("timestamp");
            out.push('"');
            push_iso_timestamp(out, ts);
            out.push('"');
        }
        e.int("version", o.version);
        let mut data = e.obj("data");
        match event_type {
            "OrderPlaced" => {
                data.str("customer_id", &o.customer)
                    .float("amount", money(o.cents), 2)
                    .str("currency", o.currency)
                    .int("items", o.items as i64);
            }
            "OrderConfirmed" => {
                let payment = hex_id(rng, "pay-", 10);
                data.str("payment_id", &payment)
                    .float("amount", money(o.cents), 2)
                    .str("currency", o.currency);
            }
            "OrderShipped" => {
                let carrier = rng.pick(&["UPS", "DHL", "FedEx", "USPS"]);
                let tracking = hex_id(rng, "1Z", 16).to_uppercase();
                data.str("carrier", carrier)
                    .str("tracking_number", &tracking)
                    .str("warehouse", rng.pick(&["ams-1", "rno-2", "lhr-3"]));
            }
            "OrderDelivered" => {
                data.str(
                    "delivered_to",
                    rng.pick(&["front_door", "mailroom", "pickup_point"]),
                );
            }
            _ => {
                data.str("reason", cancel_reason)
                    .float("refund_amount", money(o.cents), 2)
                    .str("currency", o.currency);
            }
        }
        data.end();
        let mut meta = e.obj("metadata");
        meta.str("source", source)
            .str("correlation_id", &o.correlation);
        meta.end();
        e.end();
        rec.key.push_str(&o.id);
        next
    }
}

// ---------------------------------------------------------------------------------------
// AppHub (seed 002)
// ---------------------------------------------------------------------------------------

struct Visit {
    user: String,
    left: u32,
}

/// `apphub.streaming.input`: users' visits, 3-40 events a few seconds apart, for the sample
/// job's 1-minute tumbling aggregation per user_id. Fields: event_id, user_id, event_type,
/// value (DOUBLE: seconds on a page, 1 per click, ms of an API call, an amount), event_time.
struct AppHub;

const APPHUB_USERS: f64 = 2_000.0;

impl Model for AppHub {
    type Entity = Visit;
    const MEAN_EVENTS: f64 = 21.5;

    fn spawn(&mut self, rng: &mut Rng) -> Visit {
        // A few users are much busier than most.
        let u = rng.unit();
        Visit {
            user: format!("user-{:04}", (APPHUB_USERS * u * u * u) as u64),
            left: rng.range(3, 40) as u32,
        }
    }

    fn step(&mut self, rng: &mut Rng, v: &mut Visit, ts: i64, rec: &mut Record) -> Option<u64> {
        let (event_type, value) = match rng.weighted(&[55, 30, 10, 3, 2]) {
            0 => ("page_view", rng.range(10, 1_200) as f64 / 10.0),
            1 => ("click", 1.0),
            2 => ("api_call", rng.range(20, 1_500) as f64),
            3 => ("purchase", money(rng.range(500, 30_000))),
            _ => ("error", 1.0),
        };
        let mut o = Obj::new(&mut rec.value);
        o.uuid("event_id", "evt-", rng)
            .str("user_id", &v.user)
            .str("event_type", event_type)
            .float("value", value, 2)
            .sql_time("event_time", ts)
            .end();
        rec.key.push_str(&v.user);
        v.left -= 1;
        (v.left > 0).then(|| rng.range(500, 20_000))
    }
}

// ---------------------------------------------------------------------------------------
// Livepeer (seed 004)
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum StreamPhase {
    Request,
    NoOrchestrator,
    FirstIngest,
    RunnerReceived,
    RunnerSent,
    FirstProcessed,
    FewProcessed,
    StartupError,
    Running,
    Closed,
}

struct LiveStream {
    stream_id: String,
    request_id: String,
    pipeline_id: String,
    pipeline: &'static str,
    gateway: usize,
    orchestrator: usize,
    phase: StreamPhase,
    /// Status and ingest-metrics ticks left while running (5 s apart, alternating).
    ticks_left: u32,
    tick: u32,
    start_ms: i64,
    restarts: i64,
    params_hash: String,
    bytes_in: u64,
    bytes_out: u64,
    packets: u64,
    lost: u64,
}

/// `streaming_events`: Livepeer gateways' event envelope (id, type, timestamp as Unix
/// milliseconds in a string, gateway, data). A stream's life: stream_trace events
/// (gateway_receive_stream_request, first ingest and processed segments, few processed
/// segments), then ai_stream_status and stream_ingest_metrics every 5 s in turn, now and then
/// ai_stream_events (params_update, error) and an orchestrator_swap, and finally
/// gateway_ingest_stream_closed; some find no orchestrator or fail to start.
struct Livepeer {
    gateways: Vec<String>,
    orchestrators: Vec<(String, String)>,
}

const PIPELINES: [&str; 4] = [
    "streamdiffusion",
    "streamdiffusion-sdxl",
    "comfyui",
    "live-video-to-video",
];
const PROMPTS: [&str; 5] = [
    "cyberpunk city at night, neon",
    "watercolor portrait, soft light",
    "anime style, studio ghibli",
    "oil painting of a harbor",
    "pixel art, 16-bit",
];

impl Livepeer {
    fn new(rng: &mut Rng) -> Self {
        let gateways = (0..3).map(|_| eth_address(rng)).collect();
        let orchestrators = (0..12)
            .map(|i| {
                let host = ["livepeer.cloud", "orch.xyz", "ai-orch.net"][i % 3];
                (eth_address(rng), format!("https://orch-{i}.{host}:8935"))
            })
            .collect();
        Self {
            gateways,
            orchestrators,
        }
    }

    /// `"data":{... "stream_id","request_id","pipeline_id","pipeline","orchestrator_info"`
    fn context(&self, d: &mut Obj<'_>, s: &LiveStream, with_orchestrator: bool) {
        d.str("stream_id", &s.stream_id)
            .str("request_id", &s.request_id)
            .str("pipeline_id", &s.pipeline_id)
            .str("pipeline", s.pipeline);
        let mut orch = d.obj("orchestrator_info");
        match self.orchestrators.get(s.orchestrator) {
            Some((address, url)) if with_orchestrator => {
                orch.str("address", address).str("url", url);
            }
            _ => {
                orch.str("address", "").str("url", "");
            }
        }
        orch.end();
    }

    fn trace(&self, rec: &mut Record, rng: &mut Rng, s: &LiveStream, ts: i64, subtype: &str) {
        self.envelope(rec, rng, s, ts, "stream_trace", |lp, d| {
            d.str("type", subtype).int("timestamp", ts);
            let with_orch = !matches!(
                subtype,
                "gateway_receive_stream_request" | "gateway_no_orchestrators_available"
            );
            lp.context(d, s, with_orch);
        });
    }

    fn envelope(
        &self,
        rec: &mut Record,
        rng: &mut Rng,
        s: &LiveStream,
        ts: i64,
        family: &str,
        data: impl FnOnce(&Self, &mut Obj<'_>),
    ) {
        let mut o = Obj::new(&mut rec.value);
        o.uuid("id", "", rng)
            .str("type", family)
            .int_text("timestamp", ts)
            .str(
                "gateway",
                self.gateways.get(s.gateway).map_or("", String::as_str),
            );
        let mut d = o.obj("data");
        data(self, &mut d);
        d.end();
        o.end();
        rec.key.push_str(&s.stream_id);
    }
}

impl Model for Livepeer {
    type Entity = LiveStream;
    // ~91% run 1-12 min at 2 events per 10 s (~78) plus 7 lifecycle events.
    const MEAN_EVENTS: f64 = 78.0;

    fn spawn(&mut self, rng: &mut Rng) -> LiveStream {
        LiveStream {
            stream_id: hex_id(rng, "stream-", 12),
            request_id: hex_id(rng, "", 8),
            pipeline_id: hex_id(rng, "pip_", 16),
            pipeline: PIPELINES[rng.weighted(&[50, 20, 20, 10])],
            gateway: rng.below(self.gateways.len() as u64) as usize,
            orchestrator: rng.below(self.orchestrators.len() as u64) as usize,
            phase: StreamPhase::Request,
            ticks_left: (rng.range(60_000, 720_000) / 5_000) as u32,
            tick: 0,
            start_ms: 0,
            restarts: 0,
            params_hash: hex_id(rng, "", 16),
            bytes_in: 0,
            bytes_out: 0,
            packets: 0,
            lost: 0,
        }
    }

    fn step(
        &mut self,
        rng: &mut Rng,
        s: &mut LiveStream,
        ts: i64,
        rec: &mut Record,
    ) -> Option<u64> {
        use StreamPhase::*;
        match s.phase {
            Request => {
                s.start_ms = ts;
                self.trace(rec, rng, s, ts, "gateway_receive_stream_request");
                s.phase = match rng.below(100) {
                    0..=3 => NoOrchestrator,
                    _ => FirstIngest,
                };
                Some(rng.range(100, 2_000))
            }
            NoOrchestrator => {
                self.trace(rec, rng, s, ts, "gateway_no_orchestrators_available");
                None
            }
            FirstIngest => {
                self.trace(rec, rng, s, ts, "gateway_send_first_ingest_segment");
                s.phase = RunnerReceived;
                Some(rng.range(50, 500))
            }
            RunnerReceived => {
                self.trace(rec, rng, s, ts, "runner_receive_first_ingest_segment");
                s.phase = if rng.chance(5) {
                    StartupError
                } else {
                    RunnerSent
                };
                Some(rng.range(500, 8_000))
            }
            RunnerSent => {
                self.trace(rec, rng, s, ts, "runner_send_first_processed_segment");
                s.phase = FirstProcessed;
                Some(rng.range(50, 300))
            }
            FirstProcessed => {
                self.trace(rec, rng, s, ts, "gateway_receive_first_processed_segment");
                s.phase = FewProcessed;
                Some(rng.range(1_000, 3_000))
            }
            FewProcessed => {
                self.trace(rec, rng, s, ts, "gateway_receive_few_processed_segments");
                s.phase = Running;
                Some(rng.range(1_000, 5_000))
            }
            StartupError => {
                self.envelope(rec, rng, s, ts, "ai_stream_events", |lp, d| {
                    d.str("type", "error")
                        .str("message", "runner failed to start: CUDA out of memory");
                    lp.context(d, s, true);
                });
                s.phase = Closed;
                Some(rng.range(1_000, 10_000))
            }
            Running if s.ticks_left == 0 => {
                self.trace(rec, rng, s, ts, "gateway_ingest_stream_closed");
                None
            }
            Running => {
                s.ticks_left -= 1;
                s.tick += 1;
                let roll = rng.below(1_000);
                if roll < 15 {
                    // A new prompt from the user.
                    s.params_hash = hex_id(rng, "", 16);
                    let prompt = rng.pick(&PROMPTS);
                    let seed = rng.below(1 << 31) as i64;
                    let strength = rng.range(30, 90) as f64 / 100.0;
                    self.envelope(rec, rng, s, ts, "ai_stream_events", |lp, d| {
                        d.str("type", "params_update");
                        let mut p = d.obj("params");
                        p.str("prompt", prompt)
                            .int("seed", seed)
                            .float("strength", strength, 2)
                            .int("num_inference_steps", 50);
                        p.end();
                        lp.context(d, s, true);
                    });
                } else if roll < 20 {
                    s.orchestrator = rng.below(self.orchestrators.len() as u64) as usize;
                    s.restarts = 0;
                    self.envelope(rec, rng, s, ts, "stream_trace", |lp, d| {
                        d.str("type", "orchestrator_swap").int("timestamp", ts).str(
                            "message",
                            "swapping orchestrator: inference fps below threshold",
                        );
                        lp.context(d, s, true);
                    });
                } else if roll < 23 {
                    let message =
                        rng.pick(&["pipeline restart: frame timeout", "control channel closed"]);
                    self.envelope(rec, rng, s, ts, "ai_stream_events", |lp, d| {
                        d.str("type", "error").str("message", message);
                        lp.context(d, s, true);
                    });
                    s.restarts += 1;
                } else if s.tick.is_multiple_of(2) {
                    let degraded = rng.chance(6);
                    let input_fps = if degraded {
                        rng.range(50, 150) as f64 / 10.0
                    } else {
                        rng.range(280, 300) as f64 / 10.0
                    };
                    let output_fps = (input_fps * rng.range(55, 98) as f64 / 100.0).max(0.0);
                    let state = if degraded {
                        "DEGRADED_INPUT"
                    } else if output_fps < 12.0 {
                        "DEGRADED_INFERENCE"
                    } else {
                        "ONLINE"
                    };
                    let last_error = (s.restarts > 0).then_some("pipeline restart: frame timeout");
                    self.envelope(rec, rng, s, ts, "ai_stream_status", |lp, d| {
                        d.str("type", "status");
                        lp.context(d, s, true);
                        d.str("state", state).int("start_time", s.start_ms);
                        let mut input = d.obj("input_status");
                        input
                            .float("fps", input_fps, 2)
                            .int("last_input_time", ts - 40);
                        input.end();
                        let mut inf = d.obj("inference_status");
                        inf.float("fps", output_fps, 2)
                            .int("last_output_time", ts - 55)
                            .str("last_params_hash", &s.params_hash)
                            .opt_str("last_error", last_error)
                            .int("restart_count", s.restarts);
                        inf.end();
                        d.int("timestamp", ts);
                    });
                } else {
                    let received = rng.range(1_400, 1_600);
                    let lost = if rng.chance(10) { rng.range(1, 40) } else { 0 };
                    s.packets += received;
                    s.lost += lost;
                    s.bytes_in += rng.range(1_500_000, 2_600_000);
                    s.bytes_out += rng.range(1_200_000, 2_400_000);
                    let loss_pct = 100.0 * lost as f64 / (received + lost) as f64;
                    let jitter = rng.range(1, 30) as f64 / 1_000.0;
                    let rtt = rng.range(15, 180) as f64 / 1_000.0;
                    let quality = match loss_pct {
                        p if p > 1.0 => "poor",
                        p if p > 0.2 => "fair",
                        _ => "good",
                    };
                    let secs = (ts - s.start_ms) as f64 / 1_000.0;
                    let latency = rng.range(120, 900) as f64 / 1_000.0;
                    self.envelope(rec, rng, s, ts, "stream_ingest_metrics", |_, d| {
                        d.int("timestamp", ts)
                            .str("stream_id", &s.stream_id)
                            .str("pipeline_id", &s.pipeline_id)
                            .str("request_id", &s.request_id);
                        let mut stats = d.obj("stats");
                        let mut pc = stats.obj("peer_conn_stats");
                        pc.str("id", &format!("PC_{}", s.request_id))
                            .int("bytes_received", s.bytes_in as i64)
                            .int("bytes_sent", s.bytes_out as i64);
                        pc.end();
                        let out = stats.key("track_stats");
                        out.push('[');
                        for (i, kind) in ["video", "audio"].iter().enumerate() {
                            if i > 0 {
                                out.push(',');
                            }
                            let mut t = Obj::new(out);
                            t.str("type", kind)
                                .float("jitter", jitter, 4)
                                .int("packets_lost", s.lost as i64)
                                .int("packets_received", s.packets as i64)
                                .float("packet_loss_pct", loss_pct, 3)
                                .float("rtt", rtt, 3)
                                .float("last_input_ts", secs, 3)
                                .float("last_output_ts", (secs - latency).max(0.0), 3)
                                .float("latency", latency, 3);
                            t.end();
                        }
                        out.push(']');
                        stats.str("conn_quality", quality);
                        stats.end();
                    });
                }
                Some(rng.range(4_500, 5_500))
            }
            Closed => {
                self.trace(rec, rng, s, ts, "gateway_ingest_stream_closed");
                None
            }
        }
    }

    fn malform(&self, rng: &mut Rng, value: &mut String, how: Malformation) {
        let parsed = serde_json::from_str::<serde_json::Value>(value);
        let (Malformation::MissingField | Malformation::WrongType, Ok(mut v)) = (how, parsed)
        else {
            cut_short(rng, value);
            return;
        };
        let field = rng.pick(&["id", "type", "timestamp", "data", "data.stream_id"]);
        if how == Malformation::MissingField {
            match field.split_once('.') {
                Some((outer, inner)) => {
                    if let Some(obj) = v.get_mut(outer).and_then(|d| d.as_object_mut()) {
                        obj.remove(inner);
                    }
                }
                None => {
                    if let Some(obj) = v.as_object_mut() {
                        obj.remove(field);
                    }
                }
            }
        } else {
            let slot = match field.split_once('.') {
                Some((outer, inner)) => v.get_mut(outer).and_then(|d| d.get_mut(inner)),
                None => v.get_mut(field),
            };
            if let Some(slot) = slot {
                *slot = match field {
                    // A producer that sends ISO text where milliseconds belong.
                    "timestamp" => serde_json::Value::String("2026-02-12T10:00:00Z".into()),
                    // The payload double-encoded as a string.
                    "data" => serde_json::Value::String(slot.to_string()),
                    _ => serde_json::Value::from(rng.below(1_000_000)),
                };
            }
        }
        *value = v.to_string();
    }
}

// ---------------------------------------------------------------------------------------
// The command
// ---------------------------------------------------------------------------------------

#[derive(Args, Clone, Debug)]
pub struct SeedArgs {
    /// Which platform's topics to write.
    #[arg(long, value_enum, default_value_t = Dataset::All)]
    pub dataset: Dataset,
    /// Events per topic.
    #[arg(long, default_value_t = 10_000)]
    pub events: u64,
    /// Write at most this many events per second (all topics together); default: as fast as
    /// possible. Event time stays synthetic: the rate only paces the writes.
    #[arg(long, value_name = "EVENTS_PER_SEC")]
    pub rate: Option<f64>,
    /// Seed of the generators: the same seed and options give the same records.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Event time of the first events (UTC), 'YYYY-MM-DD HH:MM:SS[.mmm]'.
    #[arg(long, default_value = "2026-02-12 10:00:00")]
    pub start: String,
    /// Mean event-time gap between two events of one topic (ms).
    #[arg(long, default_value_t = 1_000)]
    pub interval_ms: u64,
    /// Events are written up to this long after their event time (ms); must stay below the
    /// sample jobs' watermark delay (5 s for AppHub, 30 s for MATIH).
    #[arg(long, default_value_t = 3_000)]
    pub jitter_ms: u64,
    /// Percent of records written late: a minute or more behind the newest event time, so
    /// behind the jobs' watermarks.
    #[arg(long, default_value_t = 0.5)]
    pub late_percent: f64,
    /// Percent of Livepeer records that are malformed (bad JSON, a missing required field, a
    /// wrong type).
    #[arg(long, default_value_t = 2.0)]
    pub malformed_percent: f64,
    /// Percent of Livepeer records that are exact duplicates of an earlier one (same id).
    #[arg(long, default_value_t = 2.0)]
    pub duplicate_percent: f64,
    /// Partitions of topics that do not exist yet.
    #[arg(long, default_value_t = 3)]
    pub partitions: i32,
    /// A Kafka-protocol broker, host:port[,host:port]; default: Weir's embedded log.
    #[arg(long, conflicts_with = "log_dir")]
    pub brokers: Option<String>,
    /// The embedded log's folder (default: $WEIR_LOG_DIR, else ~/.local/share/weir/log).
    #[arg(long)]
    pub log_dir: Option<PathBuf>,
    /// No progress on stderr and no table on stdout.
    #[arg(long)]
    pub quiet: bool,
}

impl Default for SeedArgs {
    /// The same values as the command line's defaults.
    fn default() -> Self {
        Self {
            dataset: Dataset::All,
            events: 10_000,
            rate: None,
            seed: 42,
            start: "2026-02-12 10:00:00".into(),
            interval_ms: 1_000,
            jitter_ms: 3_000,
            late_percent: 0.5,
            malformed_percent: 2.0,
            duplicate_percent: 2.0,
            partitions: 3,
            brokers: None,
            log_dir: None,
            quiet: false,
        }
    }
}

/// Milliseconds since the epoch of `--start`.
fn parse_start(text: &str) -> Result<i64> {
    let text = text.trim();
    parse_timestamp(text, TimestampStandard::Sql)
        .or_else(|_| parse_timestamp(text, TimestampStandard::Iso8601))
        .map(|ns| ns.div_euclid(1_000_000))
        .map_err(|_| {
            anyhow!("--start: cannot read '{text}': expected 'YYYY-MM-DD HH:MM:SS[.mmm]' (UTC)")
        })
}

fn percent_to_ppm(option: &str, percent: f64) -> Result<u32> {
    if !(0.0..100.0).contains(&percent) {
        bail!("{option}: expected a percentage from 0 to below 100, got {percent}");
    }
    Ok((percent * 10_000.0).round() as u32)
}

impl SeedArgs {
    /// The generators' options, after checking every option.
    pub fn gen_options(&self) -> Result<GenOptions> {
        let topics = self.dataset.topics();
        if let Some(t) = topics
            .iter()
            .filter(|t| self.jitter_ms >= t.watermark_delay_ms())
            .min_by_key(|t| t.watermark_delay_ms())
        {
            bail!(
                "--jitter-ms {}: must stay below the watermark delay of {}'s job ({} ms), or on-time events would be late; --late-percent makes late events",
                self.jitter_ms,
                t.name(),
                t.watermark_delay_ms()
            );
        }
        if self.interval_ms == 0 {
            bail!("--interval-ms: must be at least 1");
        }
        if self.partitions < 1 {
            bail!("--partitions: must be at least 1");
        }
        if let Some(rate) = self.rate {
            if !(rate > 0.0 && rate.is_finite()) {
                bail!("--rate: expected events per second above 0, got {rate}");
            }
        }
        let late_ppm = percent_to_ppm("--late-percent", self.late_percent)?;
        let malformed_ppm = percent_to_ppm("--malformed-percent", self.malformed_percent)?;
        let duplicate_ppm = percent_to_ppm("--duplicate-percent", self.duplicate_percent)?;
        if u64::from(late_ppm) + u64::from(malformed_ppm) + u64::from(duplicate_ppm) >= 900_000 {
            bail!("--late-percent, --malformed-percent and --duplicate-percent: together they must stay below 90");
        }
        Ok(GenOptions {
            seed: self.seed,
            start_ms: parse_start(&self.start)?,
            interval_ms: self.interval_ms,
            jitter_ms: self.jitter_ms,
            late_ppm,
            malformed_ppm,
            duplicate_ppm,
        })
    }

    pub fn cluster(&self) -> Cluster {
        match &self.brokers {
            Some(b) => Cluster::Broker {
                bootstrap: b.clone(),
                properties: Vec::new(),
            },
            None => Cluster::Embedded {
                dir: self.log_dir.clone().unwrap_or_else(kafka::default_log_dir),
            },
        }
    }
}

/// What was written to one topic.
#[derive(Clone, Debug, Default)]
pub struct TopicReport {
    pub topic: &'static str,
    pub events: u64,
    pub late: u64,
    pub malformed: u64,
    pub duplicates: u64,
    pub bytes: u64,
    /// The oldest and newest event time written (ms).
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
}

impl TopicReport {
    fn add(&mut self, rec: &Record) {
        self.events += 1;
        self.bytes += rec.value.len() as u64;
        match rec.kind {
            Kind::OnTime => {}
            Kind::Late => self.late += 1,
            Kind::Duplicate => self.duplicates += 1,
            Kind::Malformed(_) => self.malformed += 1,
        }
        self.first_ms = Some(self.first_ms.map_or(rec.event_ms, |m| m.min(rec.event_ms)));
        self.last_ms = Some(self.last_ms.map_or(rec.event_ms, |m| m.max(rec.event_ms)));
    }
}

/// What `weir seed` wrote, per topic.
#[derive(Clone, Debug)]
pub struct SeedReport {
    /// Where: "Kafka at HOST:PORT" or "the embedded log in DIR".
    pub target: String,
    pub topics: Vec<TopicReport>,
    pub seconds: f64,
}

impl SeedReport {
    pub fn events(&self) -> u64 {
        self.topics.iter().map(|t| t.events).sum()
    }
}

/// Progress on stderr: rewritten in place about ten times a second on a terminal, a line
/// every few seconds otherwise.
struct Progress {
    total: u64,
    started: Instant,
    last: Instant,
    every: Duration,
    tty: bool,
    quiet: bool,
}

impl Progress {
    fn new(total: u64, quiet: bool) -> Self {
        let tty = std::io::stderr().is_terminal();
        let now = Instant::now();
        Self {
            total,
            started: now,
            last: now,
            every: Duration::from_millis(if tty { 100 } else { 5_000 }),
            tty,
            quiet,
        }
    }

    /// Whether it is time to show progress again.
    fn due(&mut self, now: Instant) -> bool {
        if now.duration_since(self.last) < self.every {
            return false;
        }
        self.last = now;
        true
    }

    fn show(&self, written: u64, done: bool) {
        if self.quiet {
            return;
        }
        let secs = self.started.elapsed().as_secs_f64();
        let rate = if secs > 0.0 {
            written as f64 / secs
        } else {
            0.0
        };
        let eta = if done {
            String::new()
        } else if rate > 0.0 {
            format!("  ETA {:.0} s", (self.total - written) as f64 / rate)
        } else {
            "  ETA ?".into()
        };
        let line = format!(
            "seed: {written}/{} events  {rate:.0} events/s{eta}",
            self.total
        );
        let mut err = std::io::stderr().lock();
        let _ = if self.tty {
            write!(err, "\r{line}\x1b[K{}", if done { "\n" } else { "" })
        } else {
            writeln!(err, "{line}")
        };
        let _ = err.flush();
    }
}

fn engine_err(e: weir_engine::Error) -> anyhow::Error {
    anyhow!("{}", e.to_api())
}

/// Writes the events `args` describes and reports what went where. `weir demo` calls it.
pub fn seed(args: &SeedArgs) -> Result<SeedReport> {
    let options = args.gen_options()?;
    let cluster = args.cluster();
    let target = match &cluster {
        Cluster::Broker { bootstrap, .. } => format!("Kafka at {bootstrap}"),
        Cluster::Embedded { dir } => format!("the embedded log in {}", dir.display()),
    };
    let topics = args.dataset.topics();
    for t in topics {
        kafka::create_topic(&cluster, t.name(), args.partitions).map_err(engine_err)?;
    }
    let mut producer = kafka::open_producer(&cluster).map_err(engine_err)?;
    let mut sources: Vec<Box<dyn Source>> =
        topics.iter().map(|&t| generator(t, &options)).collect();
    let mut reports: Vec<TopicReport> = topics
        .iter()
        .map(|t| TopicReport {
            topic: t.name(),
            ..TopicReport::default()
        })
        .collect();
    let total = args.events * topics.len() as u64;
    let mut progress = Progress::new(total, args.quiet);
    let mut last_flush = Instant::now();
    let flush_every = Duration::from_millis(if args.rate.is_some() { 100 } else { 1_000 });
    let mut rec = Record::default();
    let started = Instant::now();
    for written in 1..=total {
        // Topics advance together: the one whose next event is oldest goes first.
        let Some(i) = (0..sources.len())
            .filter(|&i| reports[i].events < args.events)
            .min_by_key(|&i| (sources[i].peek_ms(), i))
        else {
            break;
        };
        let source = &mut sources[i];
        source.next_into(&mut rec);
        producer
            .send(
                source.topic().name(),
                None,
                Some(rec.key.as_bytes()),
                Some(rec.value.as_bytes()),
                None,
            )
            .map_err(engine_err)?;
        reports[i].add(&rec);
        if let Some(rate) = args.rate {
            let due = started + Duration::from_secs_f64(written as f64 / rate);
            let now = Instant::now();
            if due > now + Duration::from_millis(1) {
                std::thread::sleep(due - now);
            }
        }
        // The clock is read every few records when writing flat out, every record when paced.
        if args.rate.is_none() && !written.is_multiple_of(64) {
            continue;
        }
        let now = Instant::now();
        if progress.due(now) {
            progress.show(written, false);
        }
        // Paced writes become visible as they go; fast ones in big batches.
        if now.duration_since(last_flush) >= flush_every {
            producer.flush().map_err(engine_err)?;
            last_flush = now;
        }
    }
    producer.flush().map_err(engine_err)?;
    let report = SeedReport {
        target,
        topics: reports,
        seconds: started.elapsed().as_secs_f64(),
    };
    progress.show(report.events(), true);
    Ok(report)
}

fn time_text(ms: Option<i64>) -> String {
    let mut s = String::new();
    match ms {
        Some(ms) => push_timestamp(&mut s, ms),
        None => s.push('-'),
    }
    s
}

/// `weir seed`.
pub fn run(args: SeedArgs) -> Result<()> {
    let report = seed(&args)?;
    if args.quiet {
        return Ok(());
    }
    let headers = [
        "topic",
        "events",
        "late",
        "malformed",
        "duplicates",
        "MB",
        "event time from",
        "to",
    ];
    let rows: Vec<Vec<String>> = report
        .topics
        .iter()
        .map(|t| {
            vec![
                t.topic.to_string(),
                t.events.to_string(),
                t.late.to_string(),
                t.malformed.to_string(),
                t.duplicates.to_string(),
                format!("{:.1}", t.bytes as f64 / 1e6),
                time_text(t.first_ms),
                time_text(t.last_ms),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..headers.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].len())
                .chain([headers[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(s, w)| format!("{s:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
    };
    println!("{}", line(headers.iter().map(|h| h.to_string()).collect()));
    for r in rows {
        println!("{}", line(r));
    }
    let events = report.events();
    println!(
        "{events} events in {:.2} s ({:.0} events/s) to {}",
        report.seconds,
        events as f64 / report.seconds.max(1e-9),
        report.target
    );
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // main.rs denies it crate-wide; tests may unwrap
mod tests {
    use super::*;
    use serde_json::{json, Value};
    use std::collections::{BTreeMap, HashMap, HashSet};
    use std::path::Path;

    fn options(seed: u64) -> GenOptions {
        GenOptions {
            seed,
            late_ppm: 10_000,
            malformed_ppm: 20_000,
            duplicate_ppm: 30_000,
            ..GenOptions::default()
        }
    }

    fn records(topic: Topic, o: &GenOptions, n: usize) -> Vec<Record> {
        let mut g = generator(topic, o);
        (0..n)
            .map(|_| {
                let mut r = Record::default();
                g.next_into(&mut r);
                r
            })
            .collect()
    }

    /// Milliseconds since the epoch of `YYYY-MM-DD HH:MM:SS.mmm` (or ISO-8601 with `T`/`Z`),
    /// by counting days: independent of the generators' calendar code.
    fn ms_of(text: &str) -> i64 {
        let t = text.trim_end_matches('Z');
        assert_eq!(t.len(), 23, "{text}");
        assert!(matches!(t.as_bytes()[10], b' ' | b'T'), "{text}");
        let num = |r: std::ops::Range<usize>| t[r].parse::<i64>().unwrap();
        let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let (y, mo, d) = (num(0..4), num(5..7), num(8..10));
        let mut days: i64 = (1970..y).map(|y| if leap(y) { 366 } else { 365 }).sum();
        let month_days = [
            31,
            if leap(y) { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        days += month_days[..(mo - 1) as usize].iter().sum::<i64>() + d - 1;
        days * 86_400_000
            + num(11..13) * 3_600_000
            + num(14..16) * 60_000
            + num(17..19) * 1_000
            + num(20..23)
    }

    /// The event time a record's text states.
    fn event_time(topic: Topic, v: &Value) -> Option<i64> {
        match topic {
            Topic::AppHub => v["event_time"].as_str().map(ms_of),
            Topic::Livepeer => v["timestamp"].as_str()?.parse().ok(),
            _ => v["timestamp"].as_str().map(ms_of),
        }
    }

    /// Livepeer's quality gate, from the envelope's contract: a JSON object with text `id`
    /// and `type`, `timestamp` as Unix milliseconds in text, and a `data` object with a text
    /// `stream_id`.
    fn livepeer_valid(text: &str) -> Option<Value> {
        let v: Value = serde_json::from_str(text).ok()?;
        v["id"].as_str()?;
        v["type"].as_str()?;
        v["timestamp"].as_str()?.parse::<i64>().ok()?;
        v["data"]["stream_id"].as_str()?;
        Some(v)
    }

    /// Whether `count` of `n` is a plausible binomial draw with this share (5 sigma), after
    /// allowing `missing` records the generator had not written yet when it stopped.
    fn share_ok(count: usize, n: usize, ppm: u32, missing: f64) -> bool {
        let p = f64::from(ppm) / 1e6;
        let mean = n as f64 * p;
        let sd = (mean * (1.0 - p)).sqrt().max(1.0);
        let c = count as f64;
        c <= mean + 5.0 * sd && c >= mean - 5.0 * sd - missing
    }

    #[test]
    fn timestamps_are_flink_sql_and_iso_text() {
        let mut s = String::new();
        push_timestamp(&mut s, DEFAULT_START_MS + 30 * 60_000 + 7);
        assert_eq!(s, "2026-02-12 10:30:00.007");
        s.clear();
        push_iso_timestamp(&mut s, 951_782_400_000); // 2000-02-29 00:00:00 UTC
        assert_eq!(s, "2000-02-29T00:00:00.000Z");
        assert_eq!(
            ms_of("2026-02-12 10:30:00.007"),
            DEFAULT_START_MS + 1_800_007
        );
        assert_eq!(
            parse_start("2026-02-12 10:00:00").unwrap(),
            DEFAULT_START_MS
        );
        assert_eq!(
            parse_start("2026-02-12T10:00:01.5Z").unwrap(),
            DEFAULT_START_MS + 1_500
        );
        assert!(parse_start("yesterday").is_err());
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        for &topic in Dataset::All.topics() {
            let a = records(topic, &options(7), 3_000);
            let b = records(topic, &options(7), 3_000);
            let c = records(topic, &options(8), 3_000);
            for (x, y) in a.iter().zip(&b) {
                assert_eq!((&x.key, &x.value), (&y.key, &y.value), "{}", topic.name());
            }
            let same = a.iter().zip(&c).filter(|(x, y)| x.value == y.value).count();
            assert_eq!(same, 0, "{}: another seed, other records", topic.name());
        }
    }

    /// Runs `n` entities of a model to their end; the mean number of events each wrote.
    fn mean_events<M: Model>(mut model: M, n: u64) -> f64 {
        let mut rng = Rng(7);
        let mut rec = Record::default();
        let mut events = 0u64;
        for _ in 0..n {
            let mut e = model.spawn(&mut rng);
            let mut ts = DEFAULT_START_MS;
            loop {
                rec.key.clear();
                rec.value.clear();
                events += 1;
                match model.step(&mut rng, &mut e, ts, &mut rec) {
                    Some(wait) => ts += wait.max(1) as i64,
                    None => break,
                }
            }
        }
        events as f64 / n as f64
    }

    #[test]
    fn models_write_their_declared_mean_number_of_events() {
        fn check<M: Model>(name: &str, model: M, n: u64) {
            let mean = mean_events(model, n);
            let want = M::MEAN_EVENTS;
            assert!(
                (mean - want).abs() / want < 0.05,
                "{name}: {mean} events per entity, MEAN_EVENTS says {want}"
            );
        }
        check("state-changes", StateChanges, 20_000);
        check("agent-traces", AgentTraces, 20_000);
        check("llm-ops", LlmOps, 20_000);
        check("orders", Orders, 20_000);
        check("apphub", AppHub, 10_000);
        check("livepeer", Livepeer::new(&mut Rng(1)), 3_000);
    }

    #[test]
    fn a_topic_carries_about_one_event_per_interval() {
        let o = GenOptions::default();
        for topic in [
            Topic::StateChanges,
            Topic::AgentTraces,
            Topic::LlmOps,
            Topic::AppHub,
        ] {
            let recs = records(topic, &o, 20_000);
            let span = recs.iter().map(|r| r.event_ms).max().unwrap() - o.start_ms;
            let per_event = span as f64 / 20_000.0;
            assert!(
                (per_event - 1_000.0).abs() < 120.0,
                "{}: one event per {per_event:.0} ms",
                topic.name()
            );
        }
    }

    #[test]
    fn event_times_stay_within_the_jitter_except_the_late_share() {
        let o = GenOptions {
            jitter_ms: 4_000,
            ..options(11)
        };
        let n = 30_000;
        for &topic in Dataset::All.topics() {
            let recs = records(topic, &o, n);
            let mut max_seen: Option<i64> = None;
            let mut late = 0;
            for r in &recs {
                let v = if topic == Topic::Livepeer {
                    match livepeer_valid(&r.value) {
                        Some(v) => v,
                        None => continue,
                    }
                } else {
                    serde_json::from_str(&r.value).unwrap()
                };
                let ts = event_time(topic, &v).unwrap();
                assert_eq!(ts, r.event_ms);
                assert!(ts >= o.start_ms, "{}: before --start", r.value);
                if let Some(max) = max_seen {
                    let lag = max - ts;
                    if lag >= LATE_MIN_MS {
                        late += 1;
                        assert_eq!(r.kind, Kind::Late, "{}", r.value);
                    } else {
                        assert!(
                            lag < o.jitter_ms as i64,
                            "{}: {lag} ms behind the newest event: {}",
                            topic.name(),
                            r.value
                        );
                        assert_ne!(r.kind, Kind::Late, "{}", r.value);
                    }
                }
                max_seen = Some(max_seen.map_or(ts, |m| m.max(ts)));
            }
            // Late records still held when generation stops: about 1% of ~700 events.
            assert!(
                share_ok(late, n, o.late_ppm, 15.0),
                "{}: {late} late records of {n}",
                topic.name()
            );
        }
    }

    #[test]
    fn livepeer_malformed_and_duplicate_shares_are_as_asked() {
        let o = options(5);
        let n = 40_000;
        let recs = records(Topic::Livepeer, &o, n);
        let mut seen: HashMap<&str, &str> = HashMap::new();
        let (mut bad_json, mut invalid, mut dups) = (0, 0, 0);
        for r in &recs {
            if let Some(key) = seen.get(r.value.as_str()) {
                // The exact bytes again, under the same key.
                dups += 1;
                assert_eq!(*key, r.key);
                assert_eq!(r.kind, Kind::Duplicate);
                continue;
            }
            assert_ne!(r.kind, Kind::Duplicate);
            seen.insert(&r.value, &r.key);
            if serde_json::from_str::<Value>(&r.value).is_err() {
                bad_json += 1;
                assert_eq!(r.kind, Kind::Malformed(Malformation::BadJson));
            } else if livepeer_valid(&r.value).is_none() {
                invalid += 1;
                assert!(matches!(
                    r.kind,
                    Kind::Malformed(Malformation::MissingField | Malformation::WrongType)
                ));
            } else {
                assert!(!matches!(r.kind, Kind::Malformed(_)), "{}", r.value);
            }
        }
        assert!(
            share_ok(bad_json + invalid, n, o.malformed_ppm, 0.0),
            "{bad_json} + {invalid} malformed of {n}"
        );
        assert!(
            share_ok(dups, n, o.duplicate_ppm, 5.0),
            "{dups} duplicates of {n}"
        );
        // About a third are not JSON; the rest miss a field or have a wrong type.
        assert!(
            bad_json * 5 > bad_json + invalid,
            "{bad_json} of {}",
            bad_json + invalid
        );
        assert!(
            invalid * 2 > bad_json + invalid,
            "{invalid} of {}",
            bad_json + invalid
        );
    }

    #[test]
    fn other_topics_have_no_malformed_or_duplicate_records() {
        let o = options(9);
        for topic in [Topic::StateChanges, Topic::Orders, Topic::AppHub] {
            let recs = records(topic, &o, 5_000);
            let distinct: HashSet<&str> = recs.iter().map(|r| r.value.as_str()).collect();
            assert_eq!(distinct.len(), recs.len(), "{}", topic.name());
            for r in &recs {
                serde_json::from_str::<Value>(&r.value).unwrap();
            }
        }
    }

    /// The sample job's source table, reading `dir` instead of its topic.
    fn sample_source_ddl(job: &str, dir: &Path, extra: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../sample-jobs")
            .join(job);
        let text = std::fs::read_to_string(path).unwrap();
        let start = text.find("CREATE ").unwrap();
        let end = start + text[start..].find(") WITH (").unwrap();
        format!(
            "{}) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'json'{extra});\n",
            &text[start..end],
            dir.display()
        )
    }

    fn write_values(dir: &Path, recs: &[Record]) {
        std::fs::create_dir_all(dir).unwrap();
        let mut text = String::new();
        for r in recs {
            text.push_str(&r.value);
            text.push('\n');
        }
        std::fs::write(dir.join("part-0.json"), text).unwrap();
    }

    fn run_select(script: &str) -> (weir_engine::RunReport, Vec<Value>) {
        let mut session = weir_engine::Session::new(weir_engine::RunOptions {
            print_to_stdout: false,
            ..Default::default()
        });
        let (report, results) = session.execute_collect(script).unwrap();
        let rows = results
            .iter()
            .flat_map(|r| r.batches.iter())
            .flat_map(|b| {
                (0..b.num_rows()).map(move |i| weir_engine::format::row_json_object(b, i))
            })
            .collect();
        (report, rows)
    }

    /// A topic, the sample job reading it, a query, and the row expected from a record.
    type Case = (Topic, &'static str, &'static str, fn(&Value) -> Value);

    /// Every record decodes with the column types of the job that reads it (no parse-error
    /// skipping), to the values its text holds.
    #[test]
    fn records_read_with_the_sample_jobs_column_types() {
        let tmp = tempfile::tempdir().unwrap();
        let o = options(3);
        let n = 3_000;
        let cases: [Case; 4] = [
            (
                Topic::StateChanges,
                "matih/session-analytics.sql",
                "SELECT event_id, tenant_id, entity_type, entity_id, from_state, to_state, triggered_by, metadata, CAST(JSON_VALUE(metadata, '$.duration_ms') AS DOUBLE) AS duration_ms, CAST(JSON_VALUE(metadata, '$.turn_count') AS DOUBLE) AS turn_count, `timestamp` FROM state_changes_source",
                |v| {
                    let meta = v.get("metadata").and_then(Value::as_str);
                    let parsed: Option<Value> = meta.map(|m| serde_json::from_str(m).unwrap());
                    let num = |k: &str| parsed.as_ref().and_then(|m| m.get(k)).and_then(Value::as_f64);
                    json!({
                        "event_id": v["event_id"], "tenant_id": v["tenant_id"],
                        "entity_type": v["entity_type"], "entity_id": v["entity_id"],
                        "from_state": v["from_state"], "to_state": v["to_state"],
                        "triggered_by": v["triggered_by"], "metadata": meta,
                        "duration_ms": num("duration_ms"), "turn_count": num("turn_count"),
                        "timestamp": v["timestamp"],
                    })
                },
            ),
            (
                Topic::AgentTraces,
                "matih/agent-performance-agg.sql",
                "SELECT event_id, agent_id, action, session_id, latency_ms, tokens_input, tokens_output, cost_usd, tools_used, error_message, `timestamp` FROM agent_traces_source",
                |v| {
                    json!({
                        "event_id": v["event_id"], "agent_id": v["agent_id"],
                        "action": v["action"], "session_id": v["session_id"],
                        "latency_ms": v["latency_ms"], "tokens_input": v["tokens_input"],
                        "tokens_output": v["tokens_output"], "cost_usd": v["cost_usd"],
                        "tools_used": v["tools_used"], "error_message": v["error_message"],
                        "timestamp": v["timestamp"],
                    })
                },
            ),
            (
                Topic::LlmOps,
                "matih/llm-operations-agg.sql",
                "SELECT event_id, request_id, session_id, provider, model, tokens_input, tokens_output, cost_usd, latency_ms, cache_hit, success, error_type, `timestamp` FROM llm_ops_source",
                |v| {
                    json!({
                        "event_id": v["event_id"], "request_id": v["request_id"],
                        "session_id": v["session_id"], "provider": v["provider"],
                        "model": v["model"], "tokens_input": v["tokens_input"],
                        "tokens_output": v["tokens_output"], "cost_usd": v["cost_usd"],
                        "latency_ms": v["latency_ms"], "cache_hit": v["cache_hit"],
                        "success": v["success"], "error_type": v["error_type"],
                        "timestamp": v["timestamp"],
                    })
                },
            ),
            (
                Topic::AppHub,
                "apphub/tumbling-window.sql",
                "SELECT user_id, event_type, `value`, event_time FROM apphub_input",
                |v| {
                    json!({
                        "user_id": v["user_id"], "event_type": v["event_type"],
                        "value": v["value"], "event_time": v["event_time"],
                    })
                },
            ),
        ];
        for (topic, job, select, expect) in cases {
            let recs = records(topic, &o, n);
            let dir = tmp.path().join(topic.name());
            write_values(&dir, &recs);
            let (report, rows) =
                run_select(&format!("{}{select};", sample_source_ddl(job, &dir, "")));
            assert_eq!(report.metrics.parse_errors_skipped, 0);
            assert_eq!(rows.len(), n, "{}", topic.name());
            for (row, rec) in rows.iter().zip(&recs) {
                let v: Value = serde_json::from_str(&rec.value).unwrap();
                assert_eq!(row, &expect(&v), "{}: {}", topic.name(), rec.value);
            }
        }
    }

    /// The orders envelope with an ISO-8601 `TIMESTAMP_LTZ` and `data`/`metadata` as text.
    #[test]
    fn order_events_read_as_flink_would_declare_them() {
        let tmp = tempfile::tempdir().unwrap();
        let recs = records(Topic::Orders, &options(4), 3_000);
        write_values(tmp.path(), &recs);
        let script = format!(
            "CREATE TEMPORARY TABLE order_events (
                event_id STRING, event_type STRING, entity_type STRING, entity_id STRING,
                tenant_id STRING, `timestamp` TIMESTAMP_LTZ(3), version INT, data STRING,
                metadata STRING,
                WATERMARK FOR `timestamp` AS `timestamp` - INTERVAL '30' SECOND
            ) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'json',
                    'json.timestamp-format.standard' = 'ISO-8601');
            SELECT event_id, event_type, entity_id, version,
                CAST(JSON_VALUE(data, '$.amount') AS DOUBLE) AS amount,
                JSON_VALUE(metadata, '$.source') AS source, `timestamp`
            FROM order_events;",
            tmp.path().display()
        );
        let (_, rows) = run_select(&script);
        assert_eq!(rows.len(), recs.len());
        for (row, rec) in rows.iter().zip(&recs) {
            let v: Value = serde_json::from_str(&rec.value).unwrap();
            let ts = v["timestamp"].as_str().unwrap();
            let expected = json!({
                "event_id": v["event_id"], "event_type": v["event_type"],
                "entity_id": v["entity_id"], "version": v["version"],
                "amount": v["data"]["amount"], "source": v["metadata"]["source"],
                "timestamp": ts.replace('T', " ").trim_end_matches('Z'),
            });
            assert_eq!(row, &expected, "{}", rec.value);
        }
    }

    /// A Flink reader with 'json.ignore-parse-errors' skips exactly the records that are not
    /// JSON, reads a timestamp that is missing or not a number as NULL, and lets the rest
    /// through, duplicates included.
    #[test]
    fn livepeer_records_through_a_lenient_json_reader() {
        let tmp = tempfile::tempdir().unwrap();
        let recs = records(Topic::Livepeer, &options(6), 10_000);
        write_values(tmp.path(), &recs);
        let parsed: Vec<Value> = recs
            .iter()
            .filter_map(|r| serde_json::from_str(&r.value).ok())
            .collect();
        let unreadable = recs.len() - parsed.len();
        let no_time = parsed
            .iter()
            .filter(|v| {
                v["timestamp"]
                    .as_str()
                    .and_then(|t| t.parse::<i64>().ok())
                    .is_none()
            })
            .count();
        assert!(unreadable > 0 && no_time > 0);
        let script = format!(
            "CREATE TEMPORARY TABLE streaming_events (
                id STRING, type STRING, `timestamp` BIGINT, gateway STRING, data STRING
            ) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'json',
                    'json.ignore-parse-errors' = 'true');
            SELECT id, type, `timestamp` FROM streaming_events;",
            tmp.path().display()
        );
        let (report, rows) = run_select(&script);
        assert_eq!(report.metrics.parse_errors_skipped as usize, unreadable);
        assert_eq!(rows.len(), recs.len() - unreadable);
        let null_times = rows.iter().filter(|r| r["timestamp"].is_null()).count();
        assert_eq!(null_times, no_time);
        let mut ids = HashSet::new();
        let repeated = rows
            .iter()
            .filter(|r| r["id"].is_string() && !ids.insert(r["id"].to_string()))
            .count();
        let duplicates = recs.iter().filter(|r| r.kind == Kind::Duplicate).count();
        assert_eq!(repeated, duplicates);
    }

    /// Records without late ones: a late record still held back when generation stops would
    /// be missing from its entity's history.
    fn lifecycle_records(topic: Topic, seed: u64) -> Vec<Record> {
        let o = GenOptions {
            late_ppm: 0,
            ..options(seed)
        };
        records(topic, &o, 20_000)
    }

    fn by_key(recs: &[Record], field: &str) -> BTreeMap<String, Vec<Value>> {
        let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for r in recs {
            let v: Value = serde_json::from_str(&r.value).unwrap();
            out.entry(v[field].as_str().unwrap().to_string())
                .or_default()
                .push(v);
        }
        for events in out.values_mut() {
            events.sort_by_key(|v| ms_of(v["timestamp"].as_str().unwrap()));
        }
        out
    }

    #[test]
    fn sessions_follow_their_state_machine() {
        let recs = lifecycle_records(Topic::StateChanges, 12);
        let mut completed = 0;
        for (id, events) in by_key(&recs, "entity_id") {
            if events[0]["entity_type"] != "session_phase" {
                continue;
            }
            assert_eq!(events[0]["to_state"], "created", "{id}");
            assert!(events[0]["from_state"].is_null(), "{id}");
            let created = ms_of(events[0]["timestamp"].as_str().unwrap());
            for pair in events.windows(2) {
                assert_eq!(pair[1]["from_state"], pair[0]["to_state"], "{id}");
                let allowed: &[&str] = match pair[0]["to_state"].as_str().unwrap() {
                    "created" => &["active"],
                    "active" => &["awaiting_input", "completed", "abandoned"],
                    "awaiting_input" => &["active", "abandoned"],
                    other => panic!("{id}: an event after {other}"),
                };
                assert!(
                    allowed.contains(&pair[1]["to_state"].as_str().unwrap()),
                    "{id}"
                );
            }
            let last = &events[events.len() - 1];
            match last["to_state"].as_str().unwrap() {
                "completed" => {
                    completed += 1;
                    let meta: Value =
                        serde_json::from_str(last["metadata"].as_str().unwrap()).unwrap();
                    let ts = ms_of(last["timestamp"].as_str().unwrap());
                    assert_eq!(meta["duration_ms"], json!(ts - created), "{id}");
                    assert!(meta["turn_count"].as_i64().unwrap() >= 1, "{id}");
                    assert!(last["triggered_by"].is_string(), "{id}");
                }
                // The reaper abandons sessions: no user.
                "abandoned" => assert!(last["triggered_by"].is_null(), "{id}"),
                _ => {}
            }
        }
        assert!(completed > 500, "{completed} completed sessions");
    }

    #[test]
    fn agent_traces_add_up_on_completion() {
        let recs = lifecycle_records(Topic::AgentTraces, 13);
        for (id, events) in by_key(&recs, "trace_id") {
            assert_eq!(events[0]["action"], "started", "{id}");
            let started = ms_of(events[0]["timestamp"].as_str().unwrap());
            let Some(last) = events
                .last()
                .filter(|e| e["action"] != "tool_call" && events.len() > 1)
            else {
                continue;
            };
            let calls = &events[1..events.len() - 1];
            assert!(calls.iter().all(|e| e["action"] == "tool_call"), "{id}");
            let sum = |k: &str| calls.iter().map(|e| e[k].as_i64().unwrap()).sum::<i64>();
            assert!(
                last["tokens_input"].as_i64().unwrap() > sum("tokens_input"),
                "{id}"
            );
            assert!(
                last["tokens_output"].as_i64().unwrap() > sum("tokens_output"),
                "{id}"
            );
            let ts = ms_of(last["timestamp"].as_str().unwrap());
            assert_eq!(last["latency_ms"], json!(ts - started), "{id}");
            let mut tools: Vec<&str> = calls
                .iter()
                .map(|e| e["tools_used"][0].as_str().unwrap())
                .collect();
            tools.dedup();
            let used: HashSet<&str> = last["tools_used"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap())
                .collect();
            assert_eq!(used, tools.into_iter().collect::<HashSet<_>>(), "{id}");
            assert_eq!(
                last["error_message"].is_string(),
                last["action"] == "failed",
                "{id}: error_message is set on failures only"
            );
        }
    }

    #[test]
    fn orders_follow_their_lifecycle() {
        let recs = lifecycle_records(Topic::Orders, 14);
        let mut delivered = 0;
        for (id, events) in by_key(&recs, "entity_id") {
            for (i, e) in events.iter().enumerate() {
                assert_eq!(e["version"], json!(i + 1), "{id}");
            }
            let types: Vec<&str> = events
                .iter()
                .map(|e| e["event_type"].as_str().unwrap())
                .collect();
            assert_eq!(types[0], "OrderPlaced", "{id}");
            for pair in types.windows(2) {
                let allowed: &[&str] = match pair[0] {
                    "OrderPlaced" => &["OrderConfirmed", "OrderCancelled"],
                    "OrderConfirmed" => &["OrderShipped", "OrderCancelled"],
                    "OrderShipped" => &["OrderDelivered"],
                    other => panic!("{id}: an event after {other}"),
                };
                assert!(allowed.contains(&pair[1]), "{id}: {types:?}");
            }
            delivered += usize::from(types.last() == Some(&"OrderDelivered"));
        }
        assert!(delivered > 100, "{delivered} delivered orders");
    }
}
