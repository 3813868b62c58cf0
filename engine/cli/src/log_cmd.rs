//! `weir log`: the embedded log from the command line, in the manner of rpk/kcat — list,
//! create and delete topics, produce lines from stdin, consume values, show consumer groups,
//! apply retention — and `weir log bench`, its write/read throughput as a table.

use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use weir_log::{Log, NewRecord, ReadLimits, TopicConfig};

#[derive(Args)]
pub struct LogArgs {
    #[command(subcommand)]
    command: LogCommand,
}

#[derive(Args)]
struct DirArg {
    /// The log's folder.
    #[arg(long)]
    dir: PathBuf,
}

#[derive(Subcommand)]
enum LogCommand {
    /// List topics with their partitions' offsets and sizes.
    Topics(DirArg),
    /// Create a topic.
    Create(CreateArgs),
    /// Delete a topic and its records.
    Delete {
        #[command(flatten)]
        dir: DirArg,
        topic: String,
    },
    /// Append the lines of stdin to a topic, one record per line.
    Produce(ProduceArgs),
    /// Print a topic's records (values, one per line) from an offset or a group's position.
    Consume(ConsumeArgs),
    /// List consumer groups, their committed offsets and lag.
    Groups(DirArg),
    /// Delete the segments past each topic's retention now.
    Retention(DirArg),
    /// Write N ~200-byte JSON events to a fresh log, read them back, print the throughput.
    Bench(LogBenchArgs),
}

#[derive(Args)]
struct CreateArgs {
    #[command(flatten)]
    dir: DirArg,
    topic: String,
    #[arg(long, default_value_t = 1)]
    partitions: u32,
    /// retention.ms; -1 keeps records forever. Default: 7 days.
    #[arg(long)]
    retention_ms: Option<i64>,
    /// retention.bytes per partition. Default: no limit.
    #[arg(long)]
    retention_bytes: Option<u64>,
    /// segment.bytes. Default: 128 MiB.
    #[arg(long)]
    segment_bytes: Option<u64>,
    /// Succeed (and change nothing) if the topic exists.
    #[arg(long)]
    if_not_exists: bool,
}

#[derive(Args)]
struct ProduceArgs {
    #[command(flatten)]
    dir: DirArg,
    topic: String,
    /// Write to this partition (default: Kafka's partitioner, by key or sticky).
    #[arg(long, short)]
    partition: Option<u32>,
    /// Split each line at the first SEP into key and value (kcat's -K).
    #[arg(long, short = 'K', value_name = "SEP")]
    key_separator: Option<String>,
    /// Partitions of the topic if it does not exist yet (it is created, as a broker with
    /// auto.create.topics.enable would).
    #[arg(long, default_value_t = 1)]
    partitions: u32,
}

#[derive(Args)]
struct ConsumeArgs {
    #[command(flatten)]
    dir: DirArg,
    topic: String,
    /// Only this partition (default: all, one after the other).
    #[arg(long, short)]
    partition: Option<u32>,
    /// Where to start: earliest, latest, an offset, or @TIMESTAMP_MS (first record at or
    /// after that time). With --group, only used when the group has no committed offset.
    #[arg(long, short, default_value = "earliest")]
    offset: String,
    /// Read as this consumer group: start at its committed offsets and commit after.
    #[arg(long, short)]
    group: Option<String>,
    /// Stop after this many records in total.
    #[arg(long, short = 'c')]
    count: Option<u64>,
    /// Keep waiting for new records instead of stopping at the end (one partition only).
    #[arg(long, short)]
    follow: bool,
    /// Print partition, offset, timestamp and key before each value, tab-separated.
    #[arg(long, short)]
    verbose: bool,
}

#[derive(Args)]
pub struct LogBenchArgs {
    /// How many events.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Partitions of the bench topic (events keyed by user, Kafka's partitioner).
    #[arg(long, default_value_t = 1)]
    partitions: u32,
    /// Records per append (one write system call each).
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// Parent folder of the bench's fresh log (default: the temp folder).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Keep the log folder afterwards.
    #[arg(long)]
    keep: bool,
}

pub fn log(args: LogArgs) -> Result<()> {
    match args.command {
        LogCommand::Topics(d) => topics(&Log::open(&d.dir)?),
        LogCommand::Create(a) => create(a),
        LogCommand::Delete { dir, topic } => Ok(Log::open(&dir.dir)?.delete_topic(&topic)?),
        LogCommand::Produce(a) => produce(a),
        LogCommand::Consume(a) => consume(a),
        LogCommand::Groups(d) => groups(&Log::open(&d.dir)?),
        LogCommand::Retention(d) => {
            let r = Log::open(&d.dir)?.enforce_retention()?;
            println!(
                "deleted {} segment(s), {} bytes",
                r.segments_deleted, r.bytes_deleted
            );
            for (t, p) in r.skipped_locked {
                println!("skipped {t}-{p}: written by another process");
            }
            Ok(())
        }
        LogCommand::Bench(a) => bench(a),
    }
}

fn topics(log: &Log) -> Result<()> {
    let mut rows = Vec::new();
    for t in log.topics()? {
        for p in log.partitions(&t.name)? {
            rows.push(vec![
                t.name.clone(),
                p.partition.to_string(),
                p.start_offset.to_string(),
                p.end_offset.to_string(),
                (p.end_offset - p.start_offset).to_string(),
                p.size_bytes.to_string(),
                p.segments.to_string(),
            ]);
        }
    }
    print_table(
        &[
            "topic",
            "partition",
            "start",
            "end",
            "records",
            "bytes",
            "segments",
        ],
        &rows,
    );
    Ok(())
}

fn create(a: CreateArgs) -> Result<()> {
    let log = Log::open(&a.dir.dir)?;
    let mut config = TopicConfig::default();
    if let Some(ms) = a.retention_ms {
        config.retention_ms = (ms >= 0).then_some(ms);
    }
    config.retention_bytes = a.retention_bytes;
    if let Some(b) = a.segment_bytes {
        config.segment_bytes = b;
    }
    let info = if a.if_not_exists {
        log.create_topic_if_not_exists(&a.topic, a.partitions, config)?
    } else {
        log.create_topic(&a.topic, a.partitions, config)?
    };
    println!("topic {} ({} partition(s))", info.name, info.partitions);
    Ok(())
}

fn produce(a: ProduceArgs) -> Result<()> {
    let log = Log::open(&a.dir.dir)?;
    if !log.topic_exists(&a.topic)? {
        log.create_topic(&a.topic, a.partitions, TopicConfig::default())?;
        eprintln!("created topic {} ({} partition(s))", a.topic, a.partitions);
    }
    let stdin = std::io::stdin().lock();
    let mut lines: Vec<String> = Vec::with_capacity(1000);
    let mut total = 0u64;
    let mut flush = |lines: &mut Vec<String>| -> Result<()> {
        let records: Vec<NewRecord<'_>> = lines
            .iter()
            .map(
                |l| match a.key_separator.as_deref().and_then(|s| l.split_once(s)) {
                    Some((k, v)) => NewRecord::new(v.as_bytes()).with_key(k.as_bytes()),
                    None => NewRecord::new(l.as_bytes()),
                },
            )
            .collect();
        match a.partition {
            Some(p) => {
                log.append_batch(&a.topic, p, &records)?;
            }
            None => {
                log.produce_batch(&a.topic, &records)?;
            }
        }
        total += records.len() as u64;
        lines.clear();
        Ok(())
    };
    let mut bytes = 0usize;
    for line in stdin.lines() {
        let line = line.context("cannot read stdin")?;
        bytes += line.len();
        lines.push(line);
        if lines.len() >= 1000 || bytes >= 1 << 20 {
            flush(&mut lines)?;
            bytes = 0;
        }
    }
    flush(&mut lines)?;
    log.sync()?;
    eprintln!("produced {total} record(s) to {}", a.topic);
    Ok(())
}

/// Where a consumer starts in a partition, per `--offset`.
fn start_offset(log: &Log, topic: &str, p: u32, spec: &str) -> Result<i64> {
    Ok(match spec {
        "earliest" | "beginning" => log.start_offset(topic, p)?,
        "latest" | "end" => log.end_offset(topic, p)?,
        s if s.starts_with('@') => {
            let ts: i64 = s[1..]
                .parse()
                .with_context(|| format!("--offset {s}: expected @TIMESTAMP_MS"))?;
            match log.offset_for_timestamp(topic, p, ts)? {
                Some((offset, _)) => offset,
                None => log.end_offset(topic, p)?,
            }
        }
        s => s.parse().with_context(|| {
            format!("--offset {s}: expected earliest, latest, a number or @TIMESTAMP_MS")
        })?,
    })
}

fn consume(a: ConsumeArgs) -> Result<()> {
    let log = Log::open(&a.dir.dir)?;
    let info = log.topic(&a.topic)?;
    let partitions: Vec<u32> = match a.partition {
        Some(p) => vec![p],
        None => (0..info.partitions).collect(),
    };
    if a.follow && partitions.len() != 1 {
        bail!("--follow reads one partition: add --partition");
    }
    let out = std::io::stdout().lock();
    let mut out = BufWriter::new(out);
    let mut left = a.count.unwrap_or(u64::MAX);
    for p in partitions {
        let committed = match &a.group {
            Some(g) => log.committed(g, &a.topic, p)?,
            None => None,
        };
        let mut at = match committed {
            Some(o) => o,
            None => start_offset(&log, &a.topic, p, &a.offset)?,
        };
        while left > 0 {
            let limits = ReadLimits {
                max_records: left.min(10_000) as usize,
                ..ReadLimits::default()
            };
            let records = log.read_with(&a.topic, p, at, limits)?;
            if records.is_empty() {
                if !a.follow {
                    break;
                }
                out.flush()?;
                log.wait_for(&a.topic, p, at, Duration::from_millis(500))?;
                continue;
            }
            for r in &records {
                if a.verbose {
                    let key = r.key.as_deref().map(String::from_utf8_lossy);
                    write!(
                        out,
                        "{p}\t{}\t{}\t{}\t",
                        r.offset,
                        r.timestamp,
                        key.as_deref().unwrap_or("")
                    )?;
                }
                out.write_all(r.value.as_deref().unwrap_or(b""))?;
                out.write_all(b"\n")?;
            }
            left -= records.len() as u64;
            at = records.last().map_or(at, |r| r.offset + 1);
            if let Some(g) = &a.group {
                log.commit(g, &a.topic, p, at)?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

fn groups(log: &Log) -> Result<()> {
    let mut rows = Vec::new();
    for g in log.groups()? {
        for c in log.group_offsets(&g)? {
            let lag = log
                .end_offset(&c.topic, c.partition)
                .map(|end| (end - c.offset).max(0).to_string())
                .unwrap_or_else(|_| "?".into());
            rows.push(vec![
                g.clone(),
                c.topic,
                c.partition.to_string(),
                c.offset.to_string(),
                lag,
            ]);
        }
    }
    print_table(&["group", "topic", "partition", "committed", "lag"], &rows);
    Ok(())
}

fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    crate::bench::print_markdown(headers, rows);
}

// ---------------------------------------------------------------------------------------
// weir log bench
// ---------------------------------------------------------------------------------------

/// A ~200-byte JSON event of the demo's kind, deterministic in `i`; returns its user id.
fn bench_event(out: &mut Vec<u8>, i: u64, ts_ms: i64) -> u64 {
    const TYPES: [&str; 4] = ["page_view", "click", "add_to_cart", "purchase"];
    let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let user = (h >> 20) % 50_000;
    out.clear();
    let _ = write!(
        out,
        r#"{{"event_id":"evt-{i:012}","user_id":"user-{user:05}","session_id":"s-{:08x}","type":"{}","page":"/products/{}","amount":{}.{:02},"ts":{ts_ms},"ua":"Mozilla/5.0"}}"#,
        (h >> 8) as u32,
        TYPES[(h % 4) as usize],
        (h >> 32) % 10_000,
        (h >> 40) % 500,
        (h >> 50) % 100,
    );
    user
}

fn dir_bytes(dir: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(_) => e.metadata().map_or(0, |m| m.len()),
            Err(_) => 0,
        })
        .sum()
}

struct Phase {
    name: &'static str,
    events: u64,
    bytes: u64,
    seconds: f64,
}

fn bench(a: LogBenchArgs) -> Result<()> {
    if a.events == 0 || a.batch == 0 || a.partitions == 0 {
        bail!("--events, --batch and --partitions must be at least 1");
    }
    let parent = a.dir.clone().unwrap_or_else(std::env::temp_dir);
    let dir = parent.join(format!(
        "weir-log-bench-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
    ));
    let result = run_bench(&a, &dir);
    if !a.keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

fn run_bench(a: &LogBenchArgs, dir: &Path) -> Result<()> {
    // Generate first (not timed): one buffer of values and their keys.
    let start_ms = 1_770_890_400_000i64;
    let mut data: Vec<u8> = Vec::with_capacity(a.events as usize * 210);
    let mut spans: Vec<(usize, usize, [u8; 10])> = Vec::with_capacity(a.events as usize);
    let mut event = Vec::with_capacity(256);
    for i in 0..a.events {
        let user = bench_event(&mut event, i, start_ms + i as i64 * 10);
        let mut key = [0u8; 10];
        let _ = write!(&mut key[..], "user-{user:05}");
        spans.push((data.len(), event.len(), key));
        data.extend_from_slice(&event);
    }
    let payload = data.len() as u64;
    eprintln!(
        "log bench: {} events, {:.0} bytes on average, into {}",
        a.events,
        payload as f64 / a.events as f64,
        dir.display()
    );
    let mut phases = Vec::new();

    let log = Log::open(dir)?;
    let config = TopicConfig {
        retention_ms: None,
        ..TopicConfig::default()
    };
    log.create_topic("bench", a.partitions, config)?;
    let t = Instant::now();
    let mut batch: Vec<NewRecord<'_>> = Vec::with_capacity(a.batch);
    for (k, chunk) in spans.chunks(a.batch).enumerate() {
        batch.clear();
        batch.extend(chunk.iter().enumerate().map(|(j, (at, len, key))| {
            let i = (k * a.batch + j) as i64;
            NewRecord::new(&data[*at..at + len])
                .with_key(key)
                .with_timestamp(start_ms + i * 10)
        }));
        if a.partitions == 1 {
            log.append_batch("bench", 0, &batch)?;
        } else {
            log.produce_batch("bench", &batch)?;
        }
    }
    phases.push(Phase {
        name: "write (append_batch, no fsync)",
        events: a.events,
        bytes: payload,
        seconds: t.elapsed().as_secs_f64(),
    });
    let t = Instant::now();
    log.sync()?;
    phases.push(Phase {
        name: "sync (fsync)",
        events: a.events,
        bytes: payload,
        seconds: t.elapsed().as_secs_f64(),
    });

    for (name, in_place) in [
        ("read (owned records)", false),
        ("read_each (in place)", true),
    ] {
        let (n, bytes, seconds) = read_back(&log, a.partitions, in_place)?;
        if n != a.events || bytes != payload {
            bail!(
                "{name}: read back {n} events / {bytes} bytes, wrote {} / {payload}",
                a.events
            );
        }
        phases.push(Phase {
            name,
            events: n,
            bytes,
            seconds,
        });
    }
    drop(log);

    let t = Instant::now();
    let log = Log::open(dir)?;
    let (n, bytes, _) = read_back(&log, a.partitions, false)?;
    if n != a.events {
        bail!("after reopen: read back {n} events, wrote {}", a.events);
    }
    phases.push(Phase {
        name: "reopen + read (owned)",
        events: n,
        bytes,
        seconds: t.elapsed().as_secs_f64(),
    });

    let t = Instant::now();
    let probes = 1000u64;
    for k in 0..probes {
        let ts = start_ms + ((k * 7919) % a.events) as i64 * 10;
        let mut found = false;
        for p in 0..a.partitions {
            found |= log.offset_for_timestamp("bench", p, ts)?.is_some();
        }
        if !found {
            bail!("no offset for timestamp {ts}");
        }
    }
    phases.push(Phase {
        name: "offset_for_timestamp (lookups)",
        events: probes,
        bytes: 0,
        seconds: t.elapsed().as_secs_f64(),
    });

    let on_disk = dir_bytes(dir);
    let rows: Vec<Vec<String>> = phases
        .iter()
        .map(|p| {
            vec![
                p.name.to_string(),
                p.events.to_string(),
                format!("{:.3}", p.seconds),
                format!("{:.2}M", p.events as f64 / p.seconds / 1e6),
                if p.bytes == 0 {
                    "-".into()
                } else {
                    format!("{:.0}", p.bytes as f64 / p.seconds / 1e6)
                },
            ]
        })
        .collect();
    print_table(
        &["phase", "events", "seconds", "events/s", "MB/s (payload)"],
        &rows,
    );
    println!();
    println!(
        "payload {:.1} MB, on disk {:.1} MB ({:.2}x), {} partition(s), {} record(s) per append",
        payload as f64 / 1e6,
        on_disk as f64 / 1e6,
        on_disk as f64 / payload as f64,
        a.partitions,
        a.batch
    );
    Ok(())
}

/// Reads every partition of the bench topic to its end, 1000 records per read (a Kafka
/// consumer's `max.poll.records` is 500), as owned records or in place:
/// (events, value bytes, seconds).
fn read_back(log: &Log, partitions: u32, in_place: bool) -> Result<(u64, u64, f64)> {
    let t = Instant::now();
    let (mut n, mut bytes) = (0u64, 0u64);
    let limits = ReadLimits {
        max_records: 1_000,
        max_bytes: 16 << 20,
    };
    for p in 0..partitions {
        let mut at = log.start_offset("bench", p)?;
        loop {
            let next = if in_place {
                log.read_each("bench", p, at, limits, |r| {
                    n += 1;
                    bytes += r.value.map_or(0, <[u8]>::len) as u64;
                    true
                })?
            } else {
                let records = log.read_with("bench", p, at, limits)?;
                n += records.len() as u64;
                bytes += records
                    .iter()
                    .map(|r| r.value.as_ref().map_or(0, Vec::len) as u64)
                    .sum::<u64>();
                records.last().map_or(at, |r| r.offset + 1)
            };
            if next == at {
                break;
            }
            at = next;
        }
    }
    Ok((n, bytes, t.elapsed().as_secs_f64()))
}
