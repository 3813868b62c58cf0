//! `weir-log`: Weir's embedded log, a durable local topic store with Kafka's semantics —
//! topics of partitions, offsets, record timestamps and lookup by time, consumer groups'
//! committed offsets, retention by time and size — in a folder, with no broker.
//!
//! ```no_run
//! use weir_log::{Log, NewRecord, TopicConfig};
//! # fn main() -> weir_log::Result<()> {
//! let log = Log::open("/tmp/weir-log")?;
//! log.create_topic_if_not_exists("events", 4, TopicConfig::default())?;
//! let (partition, offset) = log.produce("events", NewRecord::new(br#"{"a":1}"#).with_key(b"user-7"))?;
//! let records = log.read("events", partition, offset, 100)?;
//! log.commit("my-group", "events", partition, offset + 1)?;
//! # Ok(()) }
//! ```
//!
//! # Guarantees
//! - **Visibility.** An append is visible to every reader, in this process or another one,
//!   when it returns; a reader never sees part of a record (frames carry a CRC and readers
//!   only read up to the last whole, checked frame).
//! - **Durability.** An appended record survives the crash of the process when the append
//!   returns (it is in the OS's page cache). It survives the crash of the machine after
//!   [`Log::sync`] returns. Topic creation/deletion and consumer-group commits are fsynced
//!   before they return. After a crash, a torn record at the end of a partition (and anything
//!   after it) is cut off when a writer next opens the partition; earlier records are kept.
//! - **One writer per partition.** The first append to a partition takes an exclusive lock
//!   on its `writer.lock` file, held until the [`Log`] is dropped; another process that
//!   appends to it gets [`Error::PartitionLocked`]. Reading needs no lock. [`Log::open`] of a
//!   folder already open in this process returns the same shared log, so threads and
//!   connectors of one process can write the same partitions.
//! - **Offsets** start at 0 and grow by one per record, per partition, as Kafka's. Reading
//!   below the log start (after retention) or above the end is [`Error::OffsetOutOfRange`];
//!   reading at the end returns no records.
//!
//! The on-disk format is described in `docs/LOG.md`.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod error;
mod fsutil;
mod groups;
mod partition;
mod partitioner;
mod record;
mod segment;
mod topic;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Duration;

pub use error::{Error, Result};
pub use groups::CommittedOffset;
pub use partitioner::{murmur2, partition_for_key};
pub use record::{Header, HeaderIter, NewRecord, Record, RecordRef};
pub use topic::{
    validate_topic_name, PartitionInfo, TopicConfig, TopicInfo, DEFAULT_MAX_MESSAGE_BYTES,
    DEFAULT_RETENTION_MS, DEFAULT_SEGMENT_BYTES, MAX_TOPIC_NAME_LEN, MIN_SEGMENT_BYTES,
};

use error::io;
use fsutil::{atomic_write, now_ms};
use groups::GroupStore;
use partition::Partition;
use topic::TopicFile;

/// How many bytes of null-key records go to one partition before the next one is picked
/// (Kafka's sticky partitioning switches when a batch fills: `batch.size`, 16 KiB).
pub const STICKY_BATCH_BYTES: usize = 16 * 1024;

/// Limits of one [`Log::read_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadLimits {
    /// At most this many records.
    pub max_records: usize,
    /// About this many bytes of records (as stored); at least one record is returned when
    /// there is one, however large (Kafka's `fetch.max.bytes` rule).
    pub max_bytes: usize,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_records: 500,
            max_bytes: 50 << 20,
        }
    }
}

/// What [`Log::enforce_retention`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub segments_deleted: usize,
    pub bytes_deleted: u64,
    /// Partitions another process writes: it applies their retention, not this one.
    pub skipped_locked: Vec<(String, u32)>,
}

/// An embedded log in a folder. Cheap to clone (shared); `Send + Sync`.
#[derive(Clone, Debug)]
pub struct Log {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    topics: Mutex<HashMap<String, Arc<Topic>>>,
    groups: GroupStore,
}

#[derive(Debug)]
struct Topic {
    file: TopicFile,
    partitions: Vec<Arc<Partition>>,
    /// (partition, bytes sent to it) for null-key records.
    sticky: Mutex<(u32, usize)>,
}

impl Topic {
    fn partition(&self, p: u32) -> Result<&Arc<Partition>> {
        self.partitions
            .get(p as usize)
            .ok_or_else(|| Error::UnknownPartition {
                topic: self.file.info.name.clone(),
                partition: p,
                partitions: self.file.info.partitions,
            })
    }

    /// The sticky partition for a null-key record of `len` bytes.
    fn sticky(&self, len: usize) -> u32 {
        let mut s = lock(&self.sticky);
        let p = s.0;
        s.1 += len;
        if s.1 >= STICKY_BATCH_BYTES {
            s.0 = (s.0 + 1) % self.file.info.partitions.max(1);
            s.1 = 0;
        }
        p
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The logs open in this process, by canonical folder, so two `open`s share one writer.
fn registry() -> &'static Mutex<HashMap<PathBuf, Weak<Inner>>> {
    static OPEN: OnceLock<Mutex<HashMap<PathBuf, Weak<Inner>>>> = OnceLock::new();
    OPEN.get_or_init(Default::default)
}

impl Log {
    /// Opens the log in `dir`, creating the folder if needed. Opening a folder this process
    /// already has open returns the same log. Opening reads nothing else: partitions are
    /// loaded (and recovered, for writing) when first used.
    pub fn open(dir: impl AsRef<Path>) -> Result<Log> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir.join("topics")).map_err(io("cannot create", dir))?;
        let dir = dir.canonicalize().map_err(io("cannot resolve", dir))?;
        let mut open = lock(registry());
        open.retain(|_, w| w.strong_count() > 0);
        if let Some(inner) = open.get(&dir).and_then(Weak::upgrade) {
            return Ok(Log { inner });
        }
        let inner = Arc::new(Inner {
            groups: GroupStore::new(&dir),
            dir: dir.clone(),
            topics: Mutex::new(HashMap::new()),
        });
        open.insert(dir, Arc::downgrade(&inner));
        Ok(Log { inner })
    }

    /// The log's folder (canonical).
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    fn topics_dir(&self) -> PathBuf {
        self.inner.dir.join("topics")
    }

    fn topic_dir(&self, name: &str) -> PathBuf {
        self.topics_dir().join(name)
    }

    /// Holds the lock that serializes topic creation and deletion across processes.
    fn meta_lock(&self) -> Result<std::fs::File> {
        let path = self.inner.dir.join("meta.lock");
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io("cannot open", &path))?;
        f.lock().map_err(io("cannot lock", &path))?;
        Ok(f)
    }

    fn read_topic_file(&self, name: &str) -> Result<Option<TopicFile>> {
        let path = self.topic_dir(name).join("topic.json");
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|source| Error::Metadata { path, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("cannot read", &path)(e)),
        }
    }

    /// The cached topic, loaded from disk on first use.
    fn load_topic(&self, name: &str) -> Result<Arc<Topic>> {
        if let Some(t) = lock(&self.inner.topics).get(name) {
            return Ok(Arc::clone(t));
        }
        validate_topic_name(name)?;
        let Some(file) = self.read_topic_file(name)? else {
            return Err(Error::UnknownTopic {
                topic: name.to_string(),
            });
        };
        let mut topics = lock(&self.inner.topics);
        if let Some(t) = topics.get(name) {
            return Ok(Arc::clone(t));
        }
        let t = Arc::new(self.topic_from(file));
        topics.insert(name.to_string(), Arc::clone(&t));
        Ok(t)
    }

    fn topic_from(&self, file: TopicFile) -> Topic {
        let dir = self.topic_dir(&file.info.name);
        let partitions = (0..file.info.partitions)
            .map(|p| Arc::new(Partition::new(&file.info.name, p, dir.join(p.to_string()))))
            .collect();
        Topic {
            file,
            partitions,
            sticky: Mutex::new((0, 0)),
        }
    }

    fn partition(&self, topic: &str, partition: u32) -> Result<Arc<Partition>> {
        let t = self.load_topic(topic)?;
        t.partition(partition).map(Arc::clone)
    }

    // ---- topics ------------------------------------------------------------------------

    /// Creates a topic of `partitions` partitions. [`Error::TopicExists`] if it exists.
    pub fn create_topic(
        &self,
        name: &str,
        partitions: u32,
        config: TopicConfig,
    ) -> Result<TopicInfo> {
        self.create(name, partitions, config, false)
    }

    /// Creates a topic unless one of that name exists; returns the topic as it now is (the
    /// existing one keeps its partition count and config).
    pub fn create_topic_if_not_exists(
        &self,
        name: &str,
        partitions: u32,
        config: TopicConfig,
    ) -> Result<TopicInfo> {
        self.create(name, partitions, config, true)
    }

    fn create(
        &self,
        name: &str,
        partitions: u32,
        config: TopicConfig,
        exist_ok: bool,
    ) -> Result<TopicInfo> {
        validate_topic_name(name)?;
        if partitions == 0 {
            return Err(Error::InvalidConfig {
                topic: name.to_string(),
                option: "partitions".into(),
                reason: "must be at least 1".into(),
            });
        }
        config.validate(name)?;
        let _meta = self.meta_lock()?;
        if let Some(existing) = self.read_topic_file(name)? {
            if exist_ok {
                return Ok(existing.info);
            }
            return Err(Error::TopicExists {
                topic: name.to_string(),
            });
        }
        let dir = self.topic_dir(name);
        // A folder without topic.json is a creation cut short: start it again.
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(io("cannot clear", &dir))?;
        }
        for p in 0..partitions {
            let pdir = dir.join(p.to_string());
            std::fs::create_dir_all(&pdir).map_err(io("cannot create", &pdir))?;
        }
        let created_ms = now_ms();
        let file = TopicFile {
            info: TopicInfo {
                name: name.to_string(),
                partitions,
                config,
                created_ms,
            },
            id: format!("{created_ms}-{}-{}", std::process::id(), next_id()),
        };
        let bytes = serde_json::to_vec_pretty(&file).map_err(|source| Error::Metadata {
            path: dir.join("topic.json"),
            source,
        })?;
        // topic.json last: its presence is what makes the topic exist.
        atomic_write(&dir.join("topic.json"), &bytes)?;
        fsutil::sync_dir(&self.topics_dir())?;
        let info = file.info.clone();
        lock(&self.inner.topics).insert(name.to_string(), Arc::new(self.topic_from(file)));
        Ok(info)
    }

    /// All topics, by name.
    pub fn topics(&self) -> Result<Vec<TopicInfo>> {
        let dir = self.topics_dir();
        let rd = std::fs::read_dir(&dir).map_err(io("cannot list", &dir))?;
        let mut out = Vec::new();
        for entry in rd {
            let entry = entry.map_err(io("cannot list", &dir))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if validate_topic_name(&name).is_err() {
                continue;
            }
            if let Some(file) = self.read_topic_file(&name)? {
                out.push(file.info);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// One topic's metadata, read from disk (so a topic another process created or
    /// recreated is seen). [`Error::UnknownTopic`] if it does not exist.
    pub fn topic(&self, name: &str) -> Result<TopicInfo> {
        validate_topic_name(name)?;
        let Some(file) = self.read_topic_file(name)? else {
            lock(&self.inner.topics).remove(name);
            return Err(Error::UnknownTopic {
                topic: name.to_string(),
            });
        };
        let mut topics = lock(&self.inner.topics);
        if topics.get(name).is_some_and(|t| t.file.id != file.id) {
            topics.remove(name);
        }
        Ok(file.info)
    }

    /// Whether the topic exists.
    pub fn topic_exists(&self, name: &str) -> Result<bool> {
        match self.topic(name) {
            Ok(_) => Ok(true),
            Err(Error::UnknownTopic { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Offsets and sizes of every partition of a topic.
    pub fn partitions(&self, topic: &str) -> Result<Vec<PartitionInfo>> {
        let t = self.load_topic(topic)?;
        t.partitions.iter().map(|p| partition_info(p)).collect()
    }

    /// Offsets and size of one partition.
    pub fn partition_info(&self, topic: &str, partition: u32) -> Result<PartitionInfo> {
        let p = self.partition(topic, partition)?;
        partition_info(&p)
    }

    /// Deletes a topic and its records. Fails with [`Error::PartitionLocked`] while another
    /// process writes one of its partitions. Committed offsets of groups stay (as Kafka's
    /// do until they expire).
    pub fn delete_topic(&self, name: &str) -> Result<()> {
        let t = self.load_topic(name)?;
        let _meta = self.meta_lock()?;
        // Own every partition: nobody else may be writing while the files go.
        let mut taken = Vec::new();
        for p in &t.partitions {
            let owned = p.is_owned();
            if let Err(e) = p.acquire() {
                taken.iter().for_each(|q: &&Arc<Partition>| q.release());
                return Err(e);
            }
            if !owned {
                taken.push(p);
            }
        }
        let dir = self.topic_dir(name);
        let trash = self.inner.dir.join("trash");
        std::fs::create_dir_all(&trash).map_err(io("cannot create", &trash))?;
        let gone = trash.join(format!("{name}-{}-{}", now_ms(), next_id()));
        std::fs::rename(&dir, &gone).map_err(io("cannot move to trash", &dir))?;
        fsutil::sync_dir(&self.topics_dir())?;
        for p in &t.partitions {
            p.forget();
        }
        lock(&self.inner.topics).remove(name);
        drop(t);
        std::fs::remove_dir_all(&gone).map_err(io("cannot delete", &gone))?;
        Ok(())
    }

    // ---- producing ---------------------------------------------------------------------

    /// Appends one record to a partition; returns its offset.
    pub fn append(&self, topic: &str, partition: u32, record: NewRecord<'_>) -> Result<i64> {
        self.append_batch(topic, partition, &[record])
    }

    /// Appends records to a partition with consecutive offsets; returns the first one's
    /// (the end offset if `records` is empty). One write to the file per batch: batches are
    /// how to append fast.
    pub fn append_batch(
        &self,
        topic: &str,
        partition: u32,
        records: &[NewRecord<'_>],
    ) -> Result<i64> {
        let t = self.load_topic(topic)?;
        let p = t.partition(partition)?;
        if records.is_empty() {
            return p.end_offset();
        }
        p.append(records, &t.file.info.config)
    }

    /// The partition Kafka's default partitioner gives a record: murmur2 of the key for a
    /// keyed record, the sticky partition (switching every [`STICKY_BATCH_BYTES`]) for a
    /// null key.
    pub fn partition_for(&self, topic: &str, record: &NewRecord<'_>) -> Result<u32> {
        let t = self.load_topic(topic)?;
        Ok(choose(&t, record))
    }

    /// Appends a record to the partition Kafka's default partitioner picks (see
    /// [`Log::partition_for`]); returns (partition, offset).
    pub fn produce(&self, topic: &str, record: NewRecord<'_>) -> Result<(u32, i64)> {
        let t = self.load_topic(topic)?;
        let p = choose(&t, &record);
        let offset = t.partition(p)?.append(&[record], &t.file.info.config)?;
        Ok((p, offset))
    }

    /// Appends records, each to the partition Kafka's default partitioner picks, one write
    /// per partition; returns each record's (partition, offset), in input order. Records of
    /// one partition keep their input order.
    pub fn produce_batch(&self, topic: &str, records: &[NewRecord<'_>]) -> Result<Vec<(u32, i64)>> {
        let t = self.load_topic(topic)?;
        let chosen: Vec<u32> = records.iter().map(|r| choose(&t, r)).collect();
        let mut out = vec![(0u32, 0i64); records.len()];
        let mut by_partition: Vec<Vec<usize>> = vec![Vec::new(); t.partitions.len()];
        for (i, &p) in chosen.iter().enumerate() {
            by_partition[p as usize].push(i);
        }
        let mut batch = Vec::new();
        for (p, idx) in by_partition.iter().enumerate() {
            if idx.is_empty() {
                continue;
            }
            batch.clear();
            batch.extend(idx.iter().map(|&i| records[i]));
            let first = t.partitions[p].append(&batch, &t.file.info.config)?;
            for (k, &i) in idx.iter().enumerate() {
                out[i] = (p as u32, first + k as i64);
            }
        }
        Ok(out)
    }

    /// fsyncs every partition this process appended to: all records appended before the
    /// call survive a machine crash once it returns.
    pub fn sync(&self) -> Result<()> {
        let topics: Vec<Arc<Topic>> = lock(&self.inner.topics).values().cloned().collect();
        for t in topics {
            for p in &t.partitions {
                p.sync()?;
            }
        }
        Ok(())
    }

    /// Same as [`Log::sync`]: appends need no flush to be visible (each append is written to
    /// the file before it returns). Kept for code written against a Kafka producer.
    pub fn flush(&self) -> Result<()> {
        self.sync()
    }

    // ---- reading -----------------------------------------------------------------------

    /// Up to `max_records` records from `offset` on. Empty when `offset` is the end offset;
    /// [`Error::OffsetOutOfRange`] below the start or above the end.
    pub fn read(
        &self,
        topic: &str,
        partition: u32,
        offset: i64,
        max_records: usize,
    ) -> Result<Vec<Record>> {
        self.read_with(
            topic,
            partition,
            offset,
            ReadLimits {
                max_records,
                ..ReadLimits::default()
            },
        )
    }

    /// [`Log::read`] with a byte limit too. May return fewer records than the limits allow
    /// (a read stops at the end of a segment); read again from the next offset.
    pub fn read_with(
        &self,
        topic: &str,
        partition: u32,
        offset: i64,
        limits: ReadLimits,
    ) -> Result<Vec<Record>> {
        self.partition(topic, partition)?
            .read(offset, limits.max_records, limits.max_bytes)
    }

    /// [`Log::read_with`] without copying: each record is handed to `f` in place, borrowing
    /// the read buffer (no allocation per record), until the limits are reached or `f`
    /// returns false (that record counts as handed). Returns the offset to read next: one
    /// past the last record handed, or `offset` when there was none.
    pub fn read_each(
        &self,
        topic: &str,
        partition: u32,
        offset: i64,
        limits: ReadLimits,
        f: impl FnMut(RecordRef<'_>) -> bool,
    ) -> Result<i64> {
        self.partition(topic, partition)?
            .read_each(offset, limits.max_records, limits.max_bytes, f)
    }

    /// The log start offset: the oldest record kept (0 until retention deletes something).
    pub fn start_offset(&self, topic: &str, partition: u32) -> Result<i64> {
        self.partition(topic, partition)?.start_offset()
    }

    /// The log end offset (the high watermark): the offset the next record will get.
    pub fn end_offset(&self, topic: &str, partition: u32) -> Result<i64> {
        self.partition(topic, partition)?.end_offset()
    }

    /// Kafka's ListOffsets by time: the first offset (in log order) whose record timestamp is
    /// at or above `timestamp_ms`, with that timestamp; `None` when no record is that new
    /// (a Kafka consumer's `offsetsForTimes` gives null then).
    pub fn offset_for_timestamp(
        &self,
        topic: &str,
        partition: u32,
        timestamp_ms: i64,
    ) -> Result<Option<(i64, i64)>> {
        self.partition(topic, partition)?
            .offset_for_timestamp(timestamp_ms)
    }

    /// Waits until the partition holds a record at `offset` (or beyond), at most `timeout`;
    /// returns whether it does. Wakes at once for appends from this process and within a
    /// few milliseconds for appends from another.
    pub fn wait_for(
        &self,
        topic: &str,
        partition: u32,
        offset: i64,
        timeout: Duration,
    ) -> Result<bool> {
        self.partition(topic, partition)?.wait_for(offset, timeout)
    }

    // ---- consumer groups ---------------------------------------------------------------

    /// Commits a group's offset for a partition: the next offset it will read (last
    /// processed + 1, as Kafka). Durable when this returns.
    pub fn commit(&self, group: &str, topic: &str, partition: u32, offset: i64) -> Result<()> {
        self.commit_offsets(
            group,
            &[CommittedOffset {
                topic: topic.to_string(),
                partition,
                offset,
            }],
        )
    }

    /// Commits several offsets of a group at once (all or none).
    pub fn commit_offsets(&self, group: &str, offsets: &[CommittedOffset]) -> Result<()> {
        validate_group(group)?;
        for o in offsets {
            self.load_topic(&o.topic)?.partition(o.partition)?;
            if o.offset < 0 {
                return Err(Error::InvalidOffset {
                    group: group.to_string(),
                    topic: o.topic.clone(),
                    partition: o.partition,
                    offset: o.offset,
                });
            }
        }
        self.inner.groups.update(|all| {
            let g = all.groups.entry(group.to_string()).or_default();
            for o in offsets {
                g.entry(o.topic.clone())
                    .or_default()
                    .insert(o.partition, o.offset);
            }
        })
    }

    /// The offset a group committed for a partition, if any.
    pub fn committed(&self, group: &str, topic: &str, partition: u32) -> Result<Option<i64>> {
        let all = self.inner.groups.load()?;
        Ok(all
            .groups
            .get(group)
            .and_then(|g| g.get(topic))
            .and_then(|t| t.get(&partition))
            .copied())
    }

    /// Every offset a group committed, by topic and partition.
    pub fn group_offsets(&self, group: &str) -> Result<Vec<CommittedOffset>> {
        let all = self.inner.groups.load()?;
        let Some(g) = all.groups.get(group) else {
            return Ok(Vec::new());
        };
        Ok(g.iter()
            .flat_map(|(topic, ps)| {
                ps.iter().map(move |(&partition, &offset)| CommittedOffset {
                    topic: topic.clone(),
                    partition,
                    offset,
                })
            })
            .collect())
    }

    /// The groups that committed offsets, by name.
    pub fn groups(&self) -> Result<Vec<String>> {
        Ok(self.inner.groups.load()?.groups.into_keys().collect())
    }

    /// Forgets a group's committed offsets.
    pub fn delete_group(&self, group: &str) -> Result<()> {
        self.inner.groups.update(|all| {
            all.groups.remove(group);
        })
    }

    // ---- retention ---------------------------------------------------------------------

    /// Applies every topic's retention now (appends apply it too, each time a segment rolls).
    /// Partitions another process writes are skipped and listed.
    pub fn enforce_retention(&self) -> Result<RetentionReport> {
        self.enforce_retention_at(now_ms())
    }

    /// [`Log::enforce_retention`] as if the clock read `now_ms`.
    pub fn enforce_retention_at(&self, now_ms: i64) -> Result<RetentionReport> {
        let mut report = RetentionReport::default();
        for info in self.topics()? {
            let t = self.load_topic(&info.name)?;
            for p in &t.partitions {
                let owned = p.is_owned();
                match p.enforce_retention(&t.file.info.config, now_ms) {
                    Ok(r) => {
                        report.segments_deleted += r.segments;
                        report.bytes_deleted += r.bytes;
                    }
                    Err(Error::PartitionLocked { .. }) => {
                        report.skipped_locked.push((info.name.clone(), p.id));
                    }
                    Err(e) => return Err(e),
                }
                if !owned {
                    p.release();
                }
            }
        }
        Ok(report)
    }
}

fn choose(t: &Topic, record: &NewRecord<'_>) -> u32 {
    match record.key {
        Some(key) => partition_for_key(key, t.file.info.partitions),
        None => t.sticky(record.encoded_len()),
    }
}

fn partition_info(p: &Partition) -> Result<PartitionInfo> {
    let (start_offset, end_offset, size_bytes, segments) = p.stats()?;
    Ok(PartitionInfo {
        partition: p.id,
        start_offset,
        end_offset,
        size_bytes,
        segments,
    })
}

fn validate_group(group: &str) -> Result<()> {
    if group.is_empty() {
        return Err(Error::InvalidGroup {
            group: group.to_string(),
            reason: "empty".into(),
        });
    }
    Ok(())
}

/// A number unique within this process, for temporary names.
fn next_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}
