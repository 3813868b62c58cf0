//! One partition: its folder of segments, the state readers share (segments, start and end
//! offsets), and the single writer that appends, rolls segments, recovers a torn tail and
//! applies retention. Readers never take the writer's lock: they read bytes the state says
//! are whole, so they never see a partly written record.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::error::{io, Error, Result};
use crate::fsutil::{now_ms, read_exact_at};
use crate::record::{
    check, encode_batch, for_each_record, frame_len, peek, Batch, Frame, NewRecord, Record,
    RecordRef, BATCH_HEADER, FRAME_PREFIX,
};

/// The largest batch frame an append writes (more records make more frames): a read of one
/// offset decodes at most this much.
pub(crate) const FRAME_TARGET: usize = 256 << 10;
/// An append writes its frames once this many bytes are ready (or at its end, or when it
/// rolls a segment).
const WRITE_CHUNK: usize = 8 << 20;
use crate::segment::{index_path, parse_log_name, Segment, SegmentFile, Tail, CHUNK, MAGIC_LEN};
use crate::topic::TopicConfig;

/// What [`Partition::enforce_retention`] removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Removed {
    pub segments: usize,
    pub bytes: u64,
}

/// The shared view of a partition's segments.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// Oldest first; never empty once loaded.
    segments: Vec<Segment>,
    /// Whether this process holds the writer lock (then the state is the truth and needs no
    /// refresh from disk).
    owned: bool,
    loaded: bool,
}

impl State {
    fn start(&self) -> i64 {
        self.segments.first().map_or(0, Segment::base_offset)
    }

    fn end(&self) -> i64 {
        self.segments.last().map_or(0, |s| s.end_offset)
    }
}

/// The writer's own handles, present while this process owns the partition.
#[derive(Debug)]
struct Writer {
    /// Holds the exclusive lock on `writer.lock` for as long as it is open.
    _lock: File,
    /// Write handle of the active (last) segment.
    active: File,
    /// Segments rolled since the last `sync`, still to be fsynced, and whether the folder
    /// gained files since then.
    unsynced: Vec<(File, PathBuf)>,
    dir_dirty: bool,
    buf: Vec<u8>,
}

#[derive(Debug)]
pub(crate) struct Partition {
    pub topic: String,
    pub id: u32,
    pub dir: PathBuf,
    state: Mutex<State>,
    appended: Condvar,
    writer: Mutex<Option<Writer>>,
}

/// Where a read starts: the segment holding the offset, the byte to scan from, and how many
/// bytes of it are whole.
struct ReadPlan {
    file: Arc<SegmentFile>,
    from: u64,
    valid: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the state half-updated in a way that
    // matters more than stopping would: the data on disk is the truth and is rescanned.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Partition {
    pub fn new(topic: &str, id: u32, dir: PathBuf) -> Self {
        Partition {
            topic: topic.to_string(),
            id,
            dir,
            state: Mutex::new(State::default()),
            appended: Condvar::new(),
            writer: Mutex::new(None),
        }
    }

    fn ctx(&self) -> (&str, u32) {
        (&self.topic, self.id)
    }

    fn corrupt(&self, path: &Path, position: u64, reason: &str) -> Error {
        Error::Corrupt {
            topic: self.topic.clone(),
            partition: self.id,
            path: path.to_path_buf(),
            position,
            reason: reason.to_string(),
        }
    }

    /// The segment files on disk, by base offset.
    fn list_bases(&self) -> Result<Vec<i64>> {
        let rd = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io("cannot list", &self.dir)(e)),
        };
        let mut bases = Vec::new();
        for entry in rd {
            let entry = entry.map_err(io("cannot list", &self.dir))?;
            if let Some(base) = entry.file_name().to_str().and_then(parse_log_name) {
                bases.push(base);
            }
        }
        bases.sort_unstable();
        Ok(bases)
    }

    /// Brings the state up to what is on disk (segments added or removed by the writer in
    /// another process, frames appended to the last one). A no-op when this process writes.
    fn refresh(&self, st: &mut State) -> Result<()> {
        if st.owned {
            return Ok(());
        }
        // Fast path: the last segment grew.
        if let Some(last) = st.segments.last_mut() {
            let len = last
                .file
                .file
                .metadata()
                .map_err(io("cannot stat", &last.file.path))?
                .len();
            if len > last.size {
                let before = last.size;
                last.scan_to(len)?;
                if last.size > before {
                    return Ok(());
                }
            }
        }
        let bases = self.list_bases()?;
        st.segments
            .retain(|s| bases.binary_search(&s.base_offset()).is_ok());
        for &base in &bases {
            if let Some(seg) = st.segments.iter_mut().find(|s| s.base_offset() == base) {
                let len = seg
                    .file
                    .file
                    .metadata()
                    .map_err(io("cannot stat", &seg.file.path))?
                    .len();
                if len > seg.size {
                    seg.scan_to(len)?;
                }
                continue;
            }
            // A reader may trust the last segment's index too: the writer saves it when it
            // closes, and it is ignored as soon as the segment has grown.
            let (seg, _, _) = match Segment::open(&self.dir, base, true, self.ctx()) {
                Ok(s) => s,
                // Deleted by retention between the listing and the open.
                Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                    continue;
                }
                Err(e) => return Err(e),
            };
            let at = st.segments.partition_point(|s| s.base_offset() < base);
            st.segments.insert(at, seg);
        }
        st.loaded = true;
        Ok(())
    }

    fn state(&self) -> Result<MutexGuard<'_, State>> {
        let mut st = lock(&self.state);
        if !st.loaded {
            self.refresh(&mut st)?;
        }
        Ok(st)
    }

    /// Takes the writer lock if this process does not hold it yet, and recovers the
    /// partition: every segment is cut back to its whole, checked frames (a torn tail after
    /// a crash goes), and an empty partition gets its first segment.
    fn writer<'a>(&'a self, w: &mut MutexGuard<'a, Option<Writer>>) -> Result<()> {
        if w.is_some() {
            return Ok(());
        }
        std::fs::create_dir_all(&self.dir).map_err(io("cannot create", &self.dir))?;
        let lock_path = self.dir.join("writer.lock");
        let lock_file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(io("cannot open", &lock_path))?;
        match lock_file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::PartitionLocked {
                    topic: self.topic.clone(),
                    partition: self.id,
                    path: lock_path,
                })
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io("cannot lock", &lock_path)(e)),
        }
        let mut st = lock(&self.state);
        // Reload everything from disk: only the sealed segments' index files are trusted,
        // the last segment is scanned whole.
        let bases = self.list_bases()?;
        let mut segments: Vec<Segment> = Vec::with_capacity(bases.len().max(1));
        for (k, &base) in bases.iter().enumerate() {
            let is_last = k + 1 == bases.len();
            let (seg, tail, len) = Segment::open(&self.dir, base, !is_last, self.ctx())?;
            if tail != Tail::Clean || len != seg.size {
                // A torn tail: cut the file back to its last whole record.
                let f = OpenOptions::new()
                    .write(true)
                    .open(&seg.file.path)
                    .map_err(io("cannot open", &seg.file.path))?;
                if len < MAGIC_LEN {
                    f.set_len(0)
                        .map_err(io("cannot truncate", &seg.file.path))?;
                    (&f).write_all(crate::segment::MAGIC)
                        .map_err(io("cannot write", &seg.file.path))?;
                } else {
                    f.set_len(seg.size)
                        .map_err(io("cannot truncate", &seg.file.path))?;
                }
                f.sync_all().map_err(io("cannot sync", &seg.file.path))?;
                let _ = std::fs::remove_file(index_path(&self.dir, base));
            }
            if let Some(prev) = segments.last() {
                if seg.base_offset() < prev.end_offset {
                    return Err(self.corrupt(
                        &seg.file.path,
                        0,
                        "segment overlaps the previous one",
                    ));
                }
            }
            segments.push(seg);
        }
        if segments.is_empty() {
            segments.push(Segment::create(&self.dir, 0)?);
        }
        let active = open_for_append(segments.last().map(|s| &s.file.path))?;
        st.segments = segments;
        st.owned = true;
        st.loaded = true;
        **w = Some(Writer {
            _lock: lock_file,
            active,
            unsynced: Vec::new(),
            dir_dirty: true,
            buf: Vec::with_capacity(CHUNK),
        });
        Ok(())
    }

    /// Releases the writer lock (after writing the active segment's index, so the next open
    /// is quick).
    pub fn release(&self) {
        let mut w = lock(&self.writer);
        if w.take().is_some() {
            let mut st = lock(&self.state);
            if let Some(last) = st.segments.last() {
                let _ = last.write_index(&self.dir);
            }
            st.owned = false;
        }
    }

    /// Appends `records` with consecutive offsets; returns the first one's. Visible to
    /// readers (in this and other processes) when this returns; durable after [`sync`].
    /// The records go out in batch frames of at most [`FRAME_TARGET`] bytes, one write per
    /// segment they land in. If an error stops a batch that spans segments, the frames
    /// written before it stay (with their offsets); no partial frame ever does.
    ///
    /// [`sync`]: Partition::sync
    pub fn append(&self, records: &[NewRecord<'_>], config: &TopicConfig) -> Result<i64> {
        for r in records {
            let size = r.encoded_len();
            if size > config.max_message_bytes as usize {
                return Err(Error::RecordTooLarge {
                    topic: self.topic.clone(),
                    partition: self.id,
                    size,
                    max: config.max_message_bytes,
                });
            }
        }
        let mut w = lock(&self.writer);
        self.writer(&mut w)?;
        let Some(writer) = w.as_mut() else {
            return Err(self.corrupt(&self.dir, 0, "writer missing after open"));
        };
        let now = now_ms();
        let (mut seg_pos, mut offset) = {
            let st = lock(&self.state);
            let last = st
                .segments
                .last()
                .ok_or_else(|| self.corrupt(&self.dir, 0, "no active segment"))?;
            (last.size, last.end_offset)
        };
        let first = offset;
        let mut pending: Vec<(u64, Batch)> = Vec::new();
        writer.buf.clear();
        let mut i = 0;
        let mut rolled = false;
        while i < records.len() {
            let at = writer.buf.len();
            let file_pos = seg_pos + at as u64;
            let room = config.segment_bytes.saturating_sub(file_pos) as usize;
            let meta = encode_batch(
                &mut writer.buf,
                offset,
                &records[i..],
                room.min(FRAME_TARGET),
                now,
            );
            let len = writer.buf.len() - at;
            if file_pos + len as u64 > config.segment_bytes && file_pos > MAGIC_LEN {
                // Not even one record fits: write what is ready, start a new segment.
                writer.buf.truncate(at);
                self.write_frames(writer, seg_pos, &mut pending)?;
                self.roll(writer)?;
                rolled = true;
                seg_pos = MAGIC_LEN;
                continue;
            }
            pending.push((
                file_pos,
                Batch {
                    len,
                    base_offset: offset,
                    count: meta.count as u32,
                    max_ts: meta.max_ts,
                },
            ));
            i += meta.count;
            offset += meta.count as i64;
            if writer.buf.len() >= WRITE_CHUNK {
                // A long batch goes out in pieces, so memory stays bounded.
                let written = writer.buf.len() as u64;
                self.write_frames(writer, seg_pos, &mut pending)?;
                seg_pos += written;
            }
        }
        self.write_frames(writer, seg_pos, &mut pending)?;
        drop(w);
        if rolled {
            self.enforce_retention(config, now)?;
        }
        Ok(first)
    }

    /// Writes the writer's buffer (whole frames) at `pos` of the active segment, then makes
    /// the frames visible. On failure the file is cut back to `pos`.
    fn write_frames(
        &self,
        writer: &mut Writer,
        pos: u64,
        frames: &mut Vec<(u64, Batch)>,
    ) -> Result<()> {
        if writer.buf.is_empty() {
            return Ok(());
        }
        let written = writer
            .active
            .seek(SeekFrom::Start(pos))
            .and_then(|_| writer.active.write_all(&writer.buf));
        if let Err(e) = written {
            let _ = writer.active.set_len(pos);
            return Err(io("cannot append to", self.active_path()?)(e));
        }
        writer.buf.clear();
        {
            let mut st = lock(&self.state);
            if let Some(last) = st.segments.last_mut() {
                for (at, batch) in frames.drain(..) {
                    last.note_batch(at, &batch);
                }
            }
        }
        self.appended.notify_all();
        Ok(())
    }

    fn active_path(&self) -> Result<PathBuf> {
        let st = lock(&self.state);
        st.segments
            .last()
            .map(|s| s.file.path.clone())
            .ok_or_else(|| self.corrupt(&self.dir, 0, "no active segment"))
    }

    /// Seals the active segment (writes its index) and starts a new one at the end offset.
    fn roll(&self, writer: &mut Writer) -> Result<()> {
        let (end, sealed) = {
            let st = lock(&self.state);
            let last = st
                .segments
                .last()
                .ok_or_else(|| self.corrupt(&self.dir, 0, "no active segment"))?;
            (last.end_offset, last.clone())
        };
        sealed.write_index(&self.dir)?;
        let seg = Segment::create(&self.dir, end)?;
        let active = open_for_append(Some(&seg.file.path))?;
        let old = std::mem::replace(&mut writer.active, active);
        writer.unsynced.push((old, sealed.file.path.clone()));
        writer.dir_dirty = true;
        lock(&self.state).segments.push(seg);
        Ok(())
    }

    /// fsyncs what this process appended since the last sync (segments rolled meanwhile,
    /// the active one, the folder's new entries): every record appended before this call
    /// survives a crash of the machine.
    pub fn sync(&self) -> Result<()> {
        let mut w = lock(&self.writer);
        if let Some(writer) = w.as_mut() {
            for (file, path) in &writer.unsynced {
                file.sync_data().map_err(io("cannot sync", path))?;
            }
            writer.unsynced.clear();
            let path = self.active_path()?;
            writer.active.sync_data().map_err(io("cannot sync", path))?;
            if writer.dir_dirty {
                crate::fsutil::sync_dir(&self.dir)?;
                writer.dir_dirty = false;
            }
        }
        Ok(())
    }

    pub fn start_offset(&self) -> Result<i64> {
        let mut st = self.state()?;
        self.refresh(&mut st)?;
        Ok(st.start())
    }

    pub fn end_offset(&self) -> Result<i64> {
        let mut st = self.state()?;
        self.refresh(&mut st)?;
        Ok(st.end())
    }

    /// (start offset, end offset, bytes on disk, segment count).
    pub fn stats(&self) -> Result<(i64, i64, u64, usize)> {
        let mut st = self.state()?;
        self.refresh(&mut st)?;
        Ok((
            st.start(),
            st.end(),
            st.segments.iter().map(|s| s.size).sum(),
            st.segments.len(),
        ))
    }

    fn out_of_range(&self, offset: i64, st: &State) -> Error {
        Error::OffsetOutOfRange {
            topic: self.topic.clone(),
            partition: self.id,
            offset,
            start: st.start(),
            end: st.end(),
        }
    }

    /// Records from `offset` on, at most `max_records` and about `max_bytes` of them (at
    /// least one record when there is one, as Kafka's fetch). Empty at the end of the log.
    pub fn read(&self, offset: i64, max_records: usize, max_bytes: usize) -> Result<Vec<Record>> {
        let mut out = Vec::with_capacity(max_records.min(4096));
        self.read_each(offset, max_records, max_bytes, |r| {
            out.push(r.to_record());
            true
        })?;
        Ok(out)
    }

    /// [`Partition::read`] handing each record to `f` in place, until `f` returns false;
    /// returns the offset after the last record handed (or `offset` when none was).
    pub fn read_each(
        &self,
        offset: i64,
        max_records: usize,
        max_bytes: usize,
        mut f: impl FnMut(RecordRef<'_>) -> bool,
    ) -> Result<i64> {
        let plan = {
            let mut st = self.state()?;
            if offset >= st.end() || offset < st.start() {
                self.refresh(&mut st)?;
            }
            if offset < st.start() || offset > st.end() {
                return Err(self.out_of_range(offset, &st));
            }
            if offset == st.end() || max_records == 0 {
                return Ok(offset);
            }
            // The first segment with records at or after `offset` (offsets may have gaps).
            let Some(seg) = st.segments.iter().find(|s| s.end_offset > offset) else {
                return Ok(offset);
            };
            ReadPlan {
                file: Arc::clone(&seg.file),
                from: seg.position_for(offset),
                valid: seg.size,
            }
        };
        let (mut count, mut bytes, mut next) = (0usize, 0usize, offset);
        self.walk(&plan, |frame, at| {
            let Some(batch) = peek(frame) else {
                return Err(self.corrupt(&plan.file.path, at, "frame header cut"));
            };
            if batch.end_offset() <= offset {
                return Ok(true);
            }
            if !matches!(check(frame), Frame::Valid(_)) {
                return Err(self.corrupt(&plan.file.path, at, "CRC mismatch"));
            }
            let mut more = true;
            let whole = for_each_record(frame, |r| {
                if r.offset < offset {
                    return true;
                }
                if count > 0 && bytes + r.size > max_bytes {
                    more = false;
                    return false;
                }
                bytes += r.size;
                count += 1;
                next = r.offset + 1;
                more = f(r) && count < max_records;
                more
            });
            if whole.is_none() {
                return Err(self.corrupt(&plan.file.path, at, "records do not fill the batch"));
            }
            Ok(more)
        })?;
        Ok(next)
    }

    /// The first offset whose record timestamp is at or above `ts`, with that timestamp
    /// (Kafka's ListOffsets by time); `None` if every record is older.
    pub fn offset_for_timestamp(&self, ts: i64) -> Result<Option<(i64, i64)>> {
        let plan = {
            let mut st = self.state()?;
            self.refresh(&mut st)?;
            let Some(seg) = st.segments.iter().find(|s| s.max_ts >= ts) else {
                return Ok(None);
            };
            ReadPlan {
                file: Arc::clone(&seg.file),
                from: seg.position_for_time(ts),
                valid: seg.size,
            }
        };
        let mut found = None;
        self.walk(&plan, |frame, at| {
            match check(frame) {
                Frame::Valid(batch) if batch.max_ts < ts => return Ok(true),
                Frame::Valid(_) => {}
                Frame::Invalid(reason) => return Err(self.corrupt(&plan.file.path, at, reason)),
                Frame::Incomplete => return Err(self.corrupt(&plan.file.path, at, "frame cut")),
            }
            let whole = for_each_record(frame, |r| {
                if r.timestamp >= ts {
                    found = Some((r.offset, r.timestamp));
                    return false;
                }
                true
            });
            if whole.is_none() {
                return Err(self.corrupt(&plan.file.path, at, "records do not fill the batch"));
            }
            Ok(found.is_none())
        })?;
        Ok(found)
    }

    /// Calls `f` with each frame of the plan's segment from `plan.from` and its position,
    /// until `f` says stop or the whole frames end. Reads 64 KiB first (a read near its
    /// index entry needs little), then 1 MiB per system call.
    fn walk(&self, plan: &ReadPlan, f: impl FnMut(&[u8], u64) -> Result<bool>) -> Result<()> {
        // The read buffer is kept per thread: a fresh megabyte per read would cost a mmap
        // and page faults each time.
        thread_local! {
            static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        BUF.with(|cell| match cell.try_borrow_mut() {
            Ok(mut buf) => {
                let result = self.walk_with(plan, &mut buf, f);
                if buf.len() > 4 * CHUNK {
                    *buf = Vec::new();
                }
                result
            }
            Err(_) => self.walk_with(plan, &mut Vec::new(), f),
        })
    }

    fn walk_with(
        &self,
        plan: &ReadPlan,
        buf: &mut Vec<u8>,
        mut f: impl FnMut(&[u8], u64) -> Result<bool>,
    ) -> Result<()> {
        let path = &plan.file.path;
        let file = &plan.file.file;
        let mut pos = plan.from; // file position of buf[0]
        let mut chunk = 64 << 10;
        while pos < plan.valid {
            let mut have = ((plan.valid - pos) as usize).min(chunk);
            chunk = CHUNK;
            if buf.len() < have {
                buf.resize(have, 0);
            }
            read_exact_at(file, &mut buf[..have], pos).map_err(io("cannot read", path))?;
            let mut i = 0usize;
            while have - i >= FRAME_PREFIX {
                let len = frame_len(&buf[i..]);
                if len < BATCH_HEADER {
                    return Err(self.corrupt(path, pos + i as u64, "frame length out of range"));
                }
                if i + len > have {
                    if i > 0 {
                        break;
                    }
                    // One frame larger than what was read: read the rest of it.
                    if pos + len as u64 > plan.valid {
                        return Err(self.corrupt(path, pos, "frame runs past the valid end"));
                    }
                    if buf.len() < len {
                        buf.resize(len, 0);
                    }
                    read_exact_at(file, &mut buf[have..len], pos + have as u64)
                        .map_err(io("cannot read", path))?;
                    have = len;
                }
                if !f(&buf[i..i + len], pos + i as u64)? {
                    return Ok(());
                }
                i += len;
            }
            if i == 0 {
                return Err(self.corrupt(path, pos, "frame header cut"));
            }
            pos += i as u64;
        }
        Ok(())
    }

    /// Waits until the log has a record at `offset` (its end passed it) or `timeout` ran out.
    /// Wakes at once on appends in this process; polls every few milliseconds for appends
    /// by another process.
    pub fn wait_for(&self, offset: i64, timeout: Duration) -> Result<bool> {
        let deadline = Instant::now() + timeout;
        let mut st = self.state()?;
        loop {
            self.refresh(&mut st)?;
            if st.end() > offset {
                return Ok(true);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            let step = (deadline - now).min(Duration::from_millis(10));
            st = self
                .appended
                .wait_timeout(st, step)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }

    /// Deletes whole segments past the topic's retention, oldest first (Kafka's
    /// `retention.ms`: a segment whose newest record is older; `retention.bytes`: while the
    /// partition would stay at or above the limit without it). An expired active segment is
    /// rolled first so it can go; the log start moves to the first kept segment's base.
    pub fn enforce_retention(&self, config: &TopicConfig, now: i64) -> Result<Removed> {
        if config.retention_ms.is_none() && config.retention_bytes.is_none() {
            return Ok(Removed::default());
        }
        let mut w = lock(&self.writer);
        self.writer(&mut w)?;
        let Some(writer) = w.as_mut() else {
            return Ok(Removed::default());
        };
        let cutoff = config.retention_ms.map(|ms| now.saturating_sub(ms));
        let expired =
            |s: &Segment| cutoff.is_some_and(|c| s.end_offset > s.base_offset() && s.max_ts < c);
        // Every segment expired, the active one included: roll so it can be deleted.
        let roll_active = {
            let st = lock(&self.state);
            st.segments.iter().all(expired)
                && st.segments.last().is_some_and(|s| s.size > MAGIC_LEN)
        };
        if roll_active {
            self.roll(writer)?;
        }
        let doomed: Vec<Segment> = {
            let mut st = lock(&self.state);
            let mut total: u64 = st.segments.iter().map(|s| s.size).sum();
            let mut n = 0;
            while n + 1 < st.segments.len() {
                let s = &st.segments[n];
                let by_time = expired(s);
                let by_size = config
                    .retention_bytes
                    .is_some_and(|limit| total.saturating_sub(s.size) >= limit);
                if !(by_time || by_size) {
                    break;
                }
                total -= s.size;
                n += 1;
            }
            st.segments.drain(..n).collect()
        };
        let mut removed = Removed::default();
        for s in doomed {
            let base = s.base_offset();
            std::fs::remove_file(&s.file.path).map_err(io("cannot delete", &s.file.path))?;
            let _ = std::fs::remove_file(index_path(&self.dir, base));
            removed.segments += 1;
            removed.bytes += s.size;
        }
        Ok(removed)
    }

    /// Drops the writer lock and every cached segment, without writing anything (the
    /// partition's files are being deleted).
    pub fn forget(&self) {
        lock(&self.writer).take();
        let mut st = lock(&self.state);
        *st = State::default();
    }

    /// Whether this process holds the partition's writer lock.
    pub fn is_owned(&self) -> bool {
        lock(&self.writer).is_some()
    }

    /// Takes the writer lock (and recovers the partition) without appending.
    pub fn acquire(&self) -> Result<()> {
        let mut w = lock(&self.writer);
        self.writer(&mut w)
    }
}

impl Drop for Partition {
    fn drop(&mut self) {
        self.release();
    }
}

fn open_for_append(path: Option<&PathBuf>) -> Result<File> {
    let Some(path) = path else {
        return Err(Error::Io {
            action: "cannot open",
            path: PathBuf::new(),
            source: std::io::ErrorKind::NotFound.into(),
        });
    };
    OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io("cannot open for append", path))
}
