//! Records as callers see them ([`Record`], [`NewRecord`], [`Header`]) and as segment files
//! store them: in batches, as Kafka does. One append writes one or more batch frames; a
//! frame is checked by its CRC as a whole, so a reader sees all of a batch or none of it.
//!
//! Frame (little endian): `length u32` (of what follows the CRC), `crc32 u32` (of those
//! bytes), `base offset i64`, `record count u32`, `first timestamp i64`, `max timestamp i64`,
//! then the records. Record: `timestamp delta` (zigzag varint, from the first timestamp),
//! `key length + 1` (varint, 0 = null) and key, `value length + 1` and value, `header count`
//! (varint), per header `key length` (varint) and UTF-8 key, `value length + 1` and value.
//! The records of a batch have consecutive offsets from its base offset.

/// A record header, as Kafka's: a string key and nullable bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    pub key: String,
    pub value: Option<Vec<u8>>,
}

/// A record read back from the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Its position in the partition: 0 for the first record ever appended, then +1 each.
    pub offset: i64,
    /// Milliseconds since the Unix epoch: the producer's (Kafka's CreateTime), or the time of
    /// the append when the producer gave none.
    pub timestamp: i64,
    /// `None` is Kafka's null key.
    pub key: Option<Vec<u8>>,
    /// `None` is Kafka's null value (a tombstone).
    pub value: Option<Vec<u8>>,
    pub headers: Vec<Header>,
}

/// A record to append. Borrows its bytes, so a producer can point into its own buffers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NewRecord<'a> {
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    /// Milliseconds since the Unix epoch; `None` stamps the record with the time of the append.
    pub timestamp: Option<i64>,
    pub headers: &'a [Header],
}

impl<'a> NewRecord<'a> {
    /// A record with this value, no key, no headers, stamped at append time.
    pub fn new(value: &'a [u8]) -> Self {
        NewRecord {
            value: Some(value),
            ..NewRecord::default()
        }
    }

    pub fn with_key(mut self, key: &'a [u8]) -> Self {
        self.key = Some(key);
        self
    }

    pub fn with_timestamp(mut self, timestamp_ms: i64) -> Self {
        self.timestamp = Some(timestamp_ms);
        self
    }

    pub fn with_headers(mut self, headers: &'a [Header]) -> Self {
        self.headers = headers;
        self
    }

    /// The size of this record stored in a batch of its own, in bytes: what the topic's
    /// `max_message_bytes` limits.
    pub fn encoded_len(&self) -> usize {
        BATCH_HEADER + self.body_len(0)
    }

    /// The size of the record inside a batch, given its timestamp delta.
    fn body_len(&self, ts_delta: i64) -> usize {
        varint_len(zigzag(ts_delta))
            + nullable_len(self.key)
            + nullable_len(self.value)
            + varint_len(self.headers.len() as u64)
            + self
                .headers
                .iter()
                .map(|h| {
                    varint_len(h.key.len() as u64) + h.key.len() + nullable_len(h.value.as_deref())
                })
                .sum::<usize>()
    }
}

/// Length and CRC, before what the CRC covers.
pub(crate) const FRAME_PREFIX: usize = 8;
/// Length, CRC, base offset, count, first and max timestamp.
pub(crate) const BATCH_HEADER: usize = FRAME_PREFIX + 8 + 4 + 8 + 8;
/// No frame is ever larger: a length above it is damage, not a batch.
pub(crate) const MAX_FRAME: usize = 1 << 30;

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn varint_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

fn nullable_len(b: Option<&[u8]>) -> usize {
    match b {
        Some(b) => varint_len(b.len() as u64 + 1) + b.len(),
        None => 1,
    }
}

fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn put_nullable(buf: &mut Vec<u8>, b: Option<&[u8]>) {
    match b {
        Some(b) => {
            put_varint(buf, b.len() as u64 + 1);
            buf.extend_from_slice(b);
        }
        None => buf.push(0),
    }
}

/// What one [`encode_batch`] wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BatchMeta {
    pub count: usize,
    pub max_ts: i64,
}

/// Appends to `buf` one batch frame of the first records of `records`, from `base_offset`:
/// as many as fit in `budget` bytes, and at least one. Records without a timestamp get `now`.
pub(crate) fn encode_batch(
    buf: &mut Vec<u8>,
    base_offset: i64,
    records: &[NewRecord<'_>],
    budget: usize,
    now: i64,
) -> BatchMeta {
    let start = buf.len();
    let first_ts = records.first().and_then(|r| r.timestamp).unwrap_or(now);
    buf.extend_from_slice(&[0u8; BATCH_HEADER]);
    let mut max_ts = i64::MIN;
    let mut count = 0usize;
    for r in records {
        let ts = r.timestamp.unwrap_or(now);
        let delta = ts.wrapping_sub(first_ts);
        if count > 0 && buf.len() - start + r.body_len(delta) > budget {
            break;
        }
        put_varint(buf, zigzag(delta));
        put_nullable(buf, r.key);
        put_nullable(buf, r.value);
        put_varint(buf, r.headers.len() as u64);
        for h in r.headers {
            put_varint(buf, h.key.len() as u64);
            buf.extend_from_slice(h.key.as_bytes());
            put_nullable(buf, h.value.as_deref());
        }
        max_ts = max_ts.max(ts);
        count += 1;
    }
    let len = buf.len() - start - FRAME_PREFIX;
    let h = &mut buf[start..start + BATCH_HEADER];
    h[0..4].copy_from_slice(&(len as u32).to_le_bytes());
    h[8..16].copy_from_slice(&base_offset.to_le_bytes());
    h[16..20].copy_from_slice(&(count as u32).to_le_bytes());
    h[20..28].copy_from_slice(&first_ts.to_le_bytes());
    h[28..36].copy_from_slice(&max_ts.to_le_bytes());
    let crc = crc32fast::hash(&buf[start + FRAME_PREFIX..]);
    buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    BatchMeta { count, max_ts }
}

/// A batch's header fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Batch {
    /// The whole frame's length in bytes.
    pub len: usize,
    pub base_offset: i64,
    pub count: u32,
    pub max_ts: i64,
}

impl Batch {
    /// One past its last record's offset.
    pub fn end_offset(&self) -> i64 {
        self.base_offset + i64::from(self.count)
    }
}

/// What the bytes at a position hold.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    /// A whole frame whose CRC matches.
    Valid(Batch),
    /// The buffer ends before the frame does: more bytes are needed to tell.
    Incomplete,
    /// The bytes are not a frame the log wrote (bad length, CRC mismatch, no records).
    Invalid(&'static str),
}

/// The frame length the prefix of `buf` announces (it needs 4 bytes).
pub(crate) fn frame_len(buf: &[u8]) -> usize {
    FRAME_PREFIX + u32_at(buf, 0) as usize
}

/// Reads a batch's header without checking its CRC (for skipping over frames already
/// checked). `None` if `buf` is shorter than a header.
pub(crate) fn peek(buf: &[u8]) -> Option<Batch> {
    if buf.len() < BATCH_HEADER {
        return None;
    }
    Some(Batch {
        len: frame_len(buf),
        base_offset: i64_at(buf, 8),
        count: u32_at(buf, 16),
        max_ts: i64_at(buf, 28),
    })
}

/// Checks the frame at the start of `buf`: length and CRC.
pub(crate) fn check(buf: &[u8]) -> Frame {
    if buf.len() < FRAME_PREFIX {
        return Frame::Incomplete;
    }
    let len = frame_len(buf);
    if !(BATCH_HEADER..=MAX_FRAME).contains(&len) {
        return Frame::Invalid("frame length out of range");
    }
    let Some(frame) = buf.get(..len) else {
        return Frame::Incomplete;
    };
    if crc32fast::hash(&frame[FRAME_PREFIX..]) != u32_at(frame, 4) {
        return Frame::Invalid("CRC mismatch");
    }
    match peek(frame) {
        Some(b) if b.count > 0 => Frame::Valid(b),
        _ => Frame::Invalid("empty batch"),
    }
}

/// A record read in place: its bytes borrow the log's read buffer, so looking at it costs
/// no allocation ([`crate::Log::read_each`]). [`RecordRef::to_record`] makes an owned copy.
#[derive(Clone, Copy, Debug)]
pub struct RecordRef<'a> {
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    headers: &'a [u8],
    header_count: u64,
    /// Its bytes in the batch (what byte limits count).
    pub(crate) size: usize,
}

impl<'a> RecordRef<'a> {
    /// The headers, in order: (key, value).
    pub fn headers(&self) -> HeaderIter<'a> {
        HeaderIter {
            cur: Cursor {
                buf: self.headers,
                pos: 0,
            },
            left: self.header_count,
        }
    }

    /// An owned copy.
    pub fn to_record(&self) -> Record {
        Record {
            offset: self.offset,
            timestamp: self.timestamp,
            key: self.key.map(<[u8]>::to_vec),
            value: self.value.map(<[u8]>::to_vec),
            headers: self
                .headers()
                .map(|(key, value)| Header {
                    key: key.to_string(),
                    value: value.map(<[u8]>::to_vec),
                })
                .collect(),
        }
    }
}

/// The headers of a [`RecordRef`].
#[derive(Clone, Debug)]
pub struct HeaderIter<'a> {
    cur: Cursor<'a>,
    left: u64,
}

impl<'a> Iterator for HeaderIter<'a> {
    type Item = (&'a str, Option<&'a [u8]>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        // The layout was checked when the record was read: these cannot fail.
        let klen = usize::try_from(self.cur.varint()?).ok()?;
        let key = std::str::from_utf8(self.cur.take(klen)?).ok()?;
        let value = self.cur.nullable()?;
        Some((key, value))
    }
}

/// Calls `f` with each record of a checked frame until it returns false. `None` if the
/// records do not fill the frame exactly (a frame the log did not write).
pub(crate) fn for_each_record<'a>(
    frame: &'a [u8],
    mut f: impl FnMut(RecordRef<'a>) -> bool,
) -> Option<()> {
    let batch = peek(frame)?;
    let first_ts = i64_at(frame, 20);
    let mut cur = Cursor {
        buf: frame.get(..batch.len)?,
        pos: BATCH_HEADER,
    };
    for i in 0..batch.count {
        let start = cur.pos;
        let timestamp = first_ts.wrapping_add(unzigzag(cur.varint()?));
        let key = cur.nullable()?;
        let value = cur.nullable()?;
        let header_count = cur.varint()?;
        let hstart = cur.pos;
        for _ in 0..header_count {
            let klen = usize::try_from(cur.varint()?).ok()?;
            std::str::from_utf8(cur.take(klen)?).ok()?;
            cur.nullable()?;
        }
        let rec = RecordRef {
            offset: batch.base_offset + i64::from(i),
            timestamp,
            key,
            value,
            headers: &cur.buf[hstart..cur.pos],
            header_count,
            size: cur.pos - start,
        };
        if !f(rec) {
            return Some(());
        }
    }
    (cur.pos == batch.len).then_some(())
}

#[derive(Clone, Debug)]
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.buf.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.buf.get(self.pos)?;
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }

    fn nullable(&mut self) -> Option<Option<&'a [u8]>> {
        match self.varint()? {
            0 => Some(None),
            n => Some(Some(self.take(usize::try_from(n - 1).ok()?)?)),
        }
    }
}

pub(crate) fn u32_at(buf: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&buf[at..at + 4]);
    u32::from_le_bytes(b)
}

pub(crate) fn i64_at(buf: &[u8], at: usize) -> i64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[at..at + 8]);
    i64::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(frame: &[u8]) -> Vec<Record> {
        let mut out = Vec::new();
        for_each_record(frame, |r| {
            out.push(r.to_record());
            true
        })
        .unwrap();
        out
    }

    #[test]
    fn a_batch_decodes_to_what_was_encoded() {
        let headers = vec![
            Header {
                key: "trace".into(),
                value: Some(b"abc".to_vec()),
            },
            Header {
                key: "empty".into(),
                value: None,
            },
        ];
        let big = vec![7u8; 300];
        let input = [
            NewRecord::new(b"{\"a\":1}")
                .with_key(b"k1")
                .with_headers(&headers)
                .with_timestamp(1_700_000_000_123),
            // Earlier than the first: a negative delta.
            NewRecord::new(&big).with_timestamp(1_600_000_000_000),
            NewRecord::default(),
            NewRecord::new(b"").with_key(b""),
        ];
        let mut buf = vec![0xAA; 3]; // frames start anywhere in the buffer
        let meta = encode_batch(&mut buf, 42, &input, usize::MAX, 5);
        assert_eq!(
            meta,
            BatchMeta {
                count: 4,
                max_ts: 1_700_000_000_123
            }
        );
        let frame = &buf[3..];
        let Frame::Valid(b) = check(frame) else {
            panic!("{:?}", check(frame));
        };
        assert_eq!((b.len, b.base_offset, b.count), (frame.len(), 42, 4));
        let got = records(frame);
        let want = vec![
            Record {
                offset: 42,
                timestamp: 1_700_000_000_123,
                key: Some(b"k1".to_vec()),
                value: Some(b"{\"a\":1}".to_vec()),
                headers,
            },
            Record {
                offset: 43,
                timestamp: 1_600_000_000_000,
                key: None,
                value: Some(big.clone()),
                headers: vec![],
            },
            // No timestamp: the append's `now`. Null key and value stay null...
            Record {
                offset: 44,
                timestamp: 5,
                key: None,
                value: None,
                headers: vec![],
            },
            // ...and empty ones stay empty.
            Record {
                offset: 45,
                timestamp: 5,
                key: Some(vec![]),
                value: Some(vec![]),
                headers: vec![],
            },
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn encoded_len_is_the_size_of_a_batch_of_one() {
        let headers = [Header {
            key: "h".into(),
            value: Some(vec![1; 200]),
        }];
        for r in [
            NewRecord::new(b"v"),
            NewRecord::new(&[0u8; 1000]).with_key(b"key"),
            NewRecord::default().with_headers(&headers),
        ] {
            let mut buf = Vec::new();
            encode_batch(&mut buf, 0, &[r], usize::MAX, 0);
            assert_eq!(buf.len(), r.encoded_len());
        }
    }

    #[test]
    fn a_batch_stops_at_its_budget_but_takes_at_least_one_record() {
        let v = [b'x'; 100];
        let input = vec![NewRecord::new(&v).with_timestamp(1); 10];
        let mut buf = Vec::new();
        let meta = encode_batch(&mut buf, 0, &input, 350, 0);
        assert_eq!(meta.count, 3);
        assert!(buf.len() <= 350);
        let mut one = Vec::new();
        assert_eq!(encode_batch(&mut one, 0, &input, 10, 0).count, 1);
    }

    #[test]
    fn a_cut_frame_is_incomplete_and_a_flipped_bit_is_invalid() {
        let mut buf = Vec::new();
        encode_batch(
            &mut buf,
            7,
            &[NewRecord::new(b"hello world")],
            usize::MAX,
            8,
        );
        for cut in 0..buf.len() {
            assert_eq!(check(&buf[..cut]), Frame::Incomplete, "cut at {cut}");
        }
        let mut bad = buf.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0x01;
        assert_eq!(check(&bad), Frame::Invalid("CRC mismatch"));
        assert_eq!(
            check(&[0u8; 64]),
            Frame::Invalid("frame length out of range")
        );
    }

    #[test]
    fn varints_and_zigzag_round_trip_at_their_edges() {
        for v in [
            0i64,
            1,
            -1,
            63,
            -64,
            64,
            i64::MAX,
            i64::MIN,
            1 << 40,
            -(1 << 40),
        ] {
            assert_eq!(unzigzag(zigzag(v)), v);
            let mut buf = Vec::new();
            put_varint(&mut buf, zigzag(v));
            assert_eq!(buf.len(), varint_len(zigzag(v)));
            let mut cur = Cursor { buf: &buf, pos: 0 };
            assert_eq!(cur.varint(), Some(zigzag(v)));
        }
    }
}
