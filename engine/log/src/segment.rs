//! One segment of a partition: a `<base offset>.log` file of record frames after an 8-byte
//! magic, its in-memory sparse index (offset → byte position, with the largest timestamp seen
//! before each entry, which is the time index), and the `<base offset>.index` file that saves
//! that index when the segment is sealed so a reopen need not rescan it.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{io, Error, Result};
use crate::fsutil::{read_exact_at, replace_unsynced};
use crate::record::{check, frame_len, i64_at, Batch, Frame, FRAME_PREFIX};

/// The first bytes of every segment file (format version 1).
pub(crate) const MAGIC: &[u8; 8] = b"WEIRLOG1";
pub(crate) const MAGIC_LEN: u64 = MAGIC.len() as u64;
const INDEX_MAGIC: &[u8; 8] = b"WEIRIDX1";
/// A sparse index entry every this many bytes of frames (Kafka's `index.interval.bytes`).
pub(crate) const INDEX_INTERVAL: u64 = 4096;
/// Bytes read from a segment per system call when scanning or reading.
pub(crate) const CHUNK: usize = 1 << 20;

pub(crate) fn log_path(dir: &Path, base: i64) -> PathBuf {
    dir.join(format!("{base:020}.log"))
}

pub(crate) fn index_path(dir: &Path, base: i64) -> PathBuf {
    dir.join(format!("{base:020}.index"))
}

/// The base offset a segment file name stands for, if it is one.
pub(crate) fn parse_log_name(name: &str) -> Option<i64> {
    let digits = name.strip_suffix(".log")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A sparse index entry: the batch whose first record is `offset` starts at `position`, and
/// every record of the segment before it has a timestamp of at most `max_ts_before`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    pub offset: i64,
    pub position: u64,
    pub max_ts_before: i64,
}

/// An open segment file, shared by readers (positional reads need no lock).
#[derive(Debug)]
pub(crate) struct SegmentFile {
    pub base_offset: i64,
    pub path: PathBuf,
    pub file: File,
}

/// A segment and what is known of its valid prefix.
#[derive(Debug, Clone)]
pub(crate) struct Segment {
    pub file: Arc<SegmentFile>,
    /// Bytes of the file that hold whole, checked frames (the magic included).
    pub size: u64,
    /// One past the last record's offset; `base_offset` while empty.
    pub end_offset: i64,
    /// The largest record timestamp; `i64::MIN` while empty.
    pub max_ts: i64,
    pub index: Vec<IndexEntry>,
    /// Where the last index entry (or the magic) ends, to know when the next one is due.
    pub last_indexed: u64,
}

/// Why a scan stopped before the end of the file.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Tail {
    /// The valid frames reach the end of the file.
    Clean,
    /// The file ends inside a frame (a write in progress, or torn by a crash).
    Incomplete,
    /// Bytes that are not a frame (torn by a crash, or damaged).
    Invalid(&'static str),
}

impl Segment {
    pub fn base_offset(&self) -> i64 {
        self.file.base_offset
    }

    fn empty(file: SegmentFile) -> Self {
        let base = file.base_offset;
        Segment {
            file: Arc::new(file),
            size: MAGIC_LEN,
            end_offset: base,
            max_ts: i64::MIN,
            index: Vec::new(),
            last_indexed: MAGIC_LEN,
        }
    }

    /// Creates a new empty segment file (the writer's job).
    pub fn create(dir: &Path, base: i64) -> Result<Self> {
        let path = log_path(dir, base);
        let mut opts = std::fs::OpenOptions::new();
        opts.read(true).write(true).create(true).truncate(true);
        let file = opts
            .open(&path)
            .map_err(io("cannot create segment", &path))?;
        std::io::Write::write_all(&mut &file, MAGIC).map_err(io("cannot write", &path))?;
        Ok(Segment::empty(SegmentFile {
            base_offset: base,
            path,
            file,
        }))
    }

    /// Opens a segment file: from its index file when that matches the file's length and
    /// `trust_index`, else by scanning every frame. Returns how the valid frames end.
    pub fn open(
        dir: &Path,
        base: i64,
        trust_index: bool,
        ctx: (&str, u32),
    ) -> Result<(Self, Tail, u64)> {
        let path = log_path(dir, base);
        let file = File::open(&path).map_err(io("cannot open segment", &path))?;
        let len = file
            .metadata()
            .map_err(io("cannot stat segment", &path))?
            .len();
        let sf = SegmentFile {
            base_offset: base,
            path,
            file,
        };
        if len < MAGIC_LEN {
            // Created and not yet (or never) given its magic: an empty segment.
            let tail = if len == 0 {
                Tail::Clean
            } else {
                Tail::Incomplete
            };
            return Ok((Segment::empty(sf), tail, len));
        }
        let mut magic = [0u8; 8];
        read_exact_at(&sf.file, &mut magic, 0).map_err(io("cannot read", &sf.path))?;
        if &magic != MAGIC {
            return Err(Error::Corrupt {
                topic: ctx.0.to_string(),
                partition: ctx.1,
                path: sf.path.clone(),
                position: 0,
                reason: "not a weir-log segment (bad magic)".into(),
            });
        }
        if trust_index {
            if let Some(seg) = read_index(dir, &sf, len) {
                return Ok((seg, Tail::Clean, len));
            }
        }
        let mut seg = Segment::empty(sf);
        let tail = seg.scan_to(len)?;
        Ok((seg, tail, len))
    }

    /// Takes in the frames between `self.size` and `len` (the file's length), stopping at
    /// the first one that is incomplete or invalid; `self.size` ends after the last valid one.
    pub fn scan_to(&mut self, len: u64) -> Result<Tail> {
        let mut buf: Vec<u8> = Vec::new();
        let mut buf_pos = self.size; // file position of buf[0]
        let mut i = 0usize; // cursor in buf
        loop {
            let pos = buf_pos + i as u64;
            if pos >= len {
                return Ok(Tail::Clean);
            }
            match check(&buf[i..]) {
                Frame::Valid(batch) => {
                    if batch.base_offset < self.end_offset {
                        return Ok(Tail::Invalid("offsets go backwards"));
                    }
                    self.note_batch(pos, &batch);
                    i += batch.len;
                }
                Frame::Invalid(reason) => return Ok(Tail::Invalid(reason)),
                Frame::Incomplete => {
                    let have = buf.len() - i;
                    let need = if have >= 4 {
                        frame_len(&buf[i..])
                    } else {
                        FRAME_PREFIX
                    };
                    let avail = len - pos;
                    if (avail as usize) < need || have as u64 >= avail {
                        return Ok(Tail::Incomplete);
                    }
                    buf.drain(..i);
                    buf_pos = pos;
                    i = 0;
                    let want = (need.max(CHUNK) as u64).min(avail) as usize;
                    let start = buf.len();
                    buf.resize(want, 0);
                    read_exact_at(&self.file.file, &mut buf[start..], pos + start as u64)
                        .map_err(io("cannot read", &self.file.path))?;
                }
            }
        }
    }

    /// Takes in a whole, checked batch frame at `pos` (appended or scanned).
    pub fn note_batch(&mut self, pos: u64, batch: &Batch) {
        if pos >= self.last_indexed + INDEX_INTERVAL {
            self.index.push(IndexEntry {
                offset: batch.base_offset,
                position: pos,
                max_ts_before: self.max_ts,
            });
            self.last_indexed = pos;
        }
        self.size = pos + batch.len as u64;
        self.end_offset = batch.end_offset();
        self.max_ts = self.max_ts.max(batch.max_ts);
    }

    /// The position to start scanning from to find `offset`: the last indexed batch that
    /// starts at or before it.
    pub fn position_for(&self, offset: i64) -> u64 {
        let i = self.index.partition_point(|e| e.offset <= offset);
        if i == 0 {
            MAGIC_LEN
        } else {
            self.index[i - 1].position
        }
    }

    /// The position to start scanning from to find the first record with a timestamp at
    /// or above `ts`: the last entry before which every timestamp is below `ts`.
    pub fn position_for_time(&self, ts: i64) -> u64 {
        let i = self.index.partition_point(|e| e.max_ts_before < ts);
        if i == 0 {
            MAGIC_LEN
        } else {
            self.index[i - 1].position
        }
    }

    /// Saves the index so a reopen can skip the scan. Best effort for callers: a missing or
    /// stale index file only costs a scan.
    pub fn write_index(&self, dir: &Path) -> Result<()> {
        let mut out = Vec::with_capacity(48 + self.index.len() * 24);
        out.extend_from_slice(INDEX_MAGIC);
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&self.end_offset.to_le_bytes());
        out.extend_from_slice(&self.max_ts.to_le_bytes());
        out.extend_from_slice(&self.last_indexed.to_le_bytes());
        out.extend_from_slice(&(self.index.len() as u64).to_le_bytes());
        for e in &self.index {
            out.extend_from_slice(&e.offset.to_le_bytes());
            out.extend_from_slice(&e.position.to_le_bytes());
            out.extend_from_slice(&e.max_ts_before.to_le_bytes());
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        replace_unsynced(&index_path(dir, self.base_offset()), &out)
    }
}

/// Loads `<base>.index` if it is whole and describes exactly `len` bytes of the segment.
fn read_index(dir: &Path, sf: &SegmentFile, len: u64) -> Option<Segment> {
    let bytes = std::fs::read(index_path(dir, sf.base_offset)).ok()?;
    let body_len = bytes.len().checked_sub(4)?;
    let (body, crc) = bytes.split_at(body_len);
    if body.len() < 48 || &body[..8] != INDEX_MAGIC {
        return None;
    }
    if crc32fast::hash(body) != crate::record::u32_at(crc, 0) {
        return None;
    }
    let size = i64_at(body, 8) as u64;
    let count = i64_at(body, 40) as usize;
    if size != len || body.len() != 48 + count.checked_mul(24)? {
        return None;
    }
    let index = (0..count)
        .map(|k| {
            let at = 48 + k * 24;
            IndexEntry {
                offset: i64_at(body, at),
                position: i64_at(body, at + 8) as u64,
                max_ts_before: i64_at(body, at + 16),
            }
        })
        .collect();
    let file = SegmentFile {
        base_offset: sf.base_offset,
        path: sf.path.clone(),
        file: sf.file.try_clone().ok()?,
    };
    Some(Segment {
        file: Arc::new(file),
        size,
        end_offset: i64_at(body, 16),
        max_ts: i64_at(body, 24),
        index,
        last_indexed: i64_at(body, 32) as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{encode_batch, NewRecord};

    /// A segment of `n` single-record batches with 1 KiB values, appended as the writer does.
    fn write_segment(dir: &Path, n: i64) -> Segment {
        let mut seg = Segment::create(dir, 100).unwrap();
        let value = vec![b'v'; 1024];
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&seg.file.path)
            .unwrap();
        for k in 0..n {
            let mut buf = Vec::new();
            let r = NewRecord::new(&value).with_timestamp(10 * k);
            encode_batch(&mut buf, 100 + k, &[r], usize::MAX, 0);
            std::io::Write::write_all(&mut f, &buf).unwrap();
            let Frame::Valid(b) = check(&buf) else {
                panic!()
            };
            let pos = seg.size;
            seg.note_batch(pos, &b);
        }
        seg
    }

    #[test]
    fn the_sparse_index_has_an_entry_every_interval_and_finds_the_batch() {
        let dir = tempfile::tempdir().unwrap();
        let seg = write_segment(dir.path(), 40);
        // ~1 KiB frames, an entry every 4 KiB: about one frame in four.
        assert!((8..=10).contains(&seg.index.len()), "{:?}", seg.index);
        for w in seg.index.windows(2) {
            assert!(w[1].position - w[0].position >= INDEX_INTERVAL);
        }
        for e in &seg.index {
            assert_eq!(seg.position_for(e.offset), e.position);
            assert!(seg.position_for(e.offset - 1) < e.position);
            // Every record before the entry is older than the entry's own (10 ms apart).
            assert_eq!(e.max_ts_before, 10 * (e.offset - 100 - 1));
            assert!(seg.position_for_time(10 * (e.offset - 100)) <= e.position);
        }
        assert_eq!(seg.position_for(100), MAGIC_LEN);
        assert_eq!((seg.end_offset, seg.max_ts), (140, 390));
    }

    #[test]
    fn a_matching_index_file_is_used_and_a_stale_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let seg = write_segment(dir.path(), 40);
        seg.write_index(dir.path()).unwrap();
        let (from_index, tail, len) = Segment::open(dir.path(), 100, true, ("t", 0)).unwrap();
        assert_eq!((tail, len), (Tail::Clean, seg.size));
        assert_eq!(from_index.index, seg.index);
        assert_eq!(
            (
                from_index.end_offset,
                from_index.max_ts,
                from_index.last_indexed
            ),
            (seg.end_offset, seg.max_ts, seg.last_indexed)
        );
        // The log grew after the index was written: the index is ignored, the scan sees all.
        let other = tempfile::tempdir().unwrap();
        let more = write_segment(other.path(), 41);
        let extra = std::fs::read(&more.file.path).unwrap();
        let last = &extra[seg.size as usize..];
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&seg.file.path)
            .unwrap();
        std::io::Write::write_all(&mut f, last).unwrap();
        let (scanned, tail, _) = Segment::open(dir.path(), 100, true, ("t", 0)).unwrap();
        assert_eq!(tail, Tail::Clean);
        assert_eq!(scanned.end_offset, 141);
        assert_eq!(scanned.index, more.index);
        // A damaged index file is ignored too.
        std::fs::write(index_path(dir.path(), 100), b"WEIRIDX1 garbage").unwrap();
        let (scanned, _, _) = Segment::open(dir.path(), 100, true, ("t", 0)).unwrap();
        assert_eq!(scanned.end_offset, 141);
    }
}
