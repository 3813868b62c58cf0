//! Records as callers see them ([`Record`], [`NewRecord`], [`Header`]) and as segment files
//! store them: one frame per record, `[body length u32][crc32 of body u32][body]`, little endian.
//!
//! Body: `offset i64, timestamp i64, key (i32 length, -1 = null, bytes), value (same),
//! header count u32, per header: key (u32 length, UTF-8), value (i32 length, -1 = null, bytes)`.

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

    /// The size of this record's frame on disk, in bytes.
    pub fn encoded_len(&self) -> usize {
        FRAME_HEADER
            + BODY_FIXED
            + self.key.map_or(0, <[u8]>::len)
            + self.value.map_or(0, <[u8]>::len)
            + self
                .headers
                .iter()
                .map(|h| 8 + h.key.len() + h.value.as_ref().map_or(0, Vec::len))
                .sum::<usize>()
    }
}

/// Length and CRC before each body.
pub(crate) const FRAME_HEADER: usize = 8;
/// offset, timestamp, key length, value length, header count.
pub(crate) const BODY_FIXED: usize = 8 + 8 + 4 + 4 + 4;
/// No frame body is ever larger: a length above it is damage, not a record.
pub(crate) const MAX_BODY: usize = 1 << 30;

/// Appends the frame of `record` at `offset`/`timestamp` to `buf`.
pub(crate) fn encode(buf: &mut Vec<u8>, offset: i64, timestamp: i64, record: &NewRecord<'_>) {
    let start = buf.len();
    buf.extend_from_slice(&[0u8; FRAME_HEADER]);
    buf.extend_from_slice(&offset.to_le_bytes());
    buf.extend_from_slice(&timestamp.to_le_bytes());
    put_nullable(buf, record.key);
    put_nullable(buf, record.value);
    buf.extend_from_slice(&(record.headers.len() as u32).to_le_bytes());
    for h in record.headers {
        buf.extend_from_slice(&(h.key.len() as u32).to_le_bytes());
        buf.extend_from_slice(h.key.as_bytes());
        put_nullable(buf, h.value.as_deref());
    }
    let body_len = buf.len() - start - FRAME_HEADER;
    let crc = crc32fast::hash(&buf[start + FRAME_HEADER..]);
    buf[start..start + 4].copy_from_slice(&(body_len as u32).to_le_bytes());
    buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

fn put_nullable(buf: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        Some(b) => {
            buf.extend_from_slice(&(b.len() as i32).to_le_bytes());
            buf.extend_from_slice(b);
        }
        None => buf.extend_from_slice(&(-1i32).to_le_bytes()),
    }
}

/// What the bytes at a position hold.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    /// A whole frame whose CRC matches: its length on disk, offset and timestamp.
    Valid {
        len: usize,
        offset: i64,
        timestamp: i64,
    },
    /// The buffer ends before the frame does: more bytes are needed to tell.
    Incomplete,
    /// The bytes are not a frame the log wrote (bad length, CRC mismatch, bad layout).
    Invalid(&'static str),
}

/// Checks the frame at the start of `buf` (CRC and layout) without decoding its payload.
pub(crate) fn check(buf: &[u8]) -> Frame {
    if buf.len() < FRAME_HEADER {
        return Frame::Incomplete;
    }
    let body_len = u32_at(buf, 0) as usize;
    if !(BODY_FIXED..=MAX_BODY).contains(&body_len) {
        return Frame::Invalid("frame length out of range");
    }
    let Some(body) = buf.get(FRAME_HEADER..FRAME_HEADER + body_len) else {
        return Frame::Incomplete;
    };
    if crc32fast::hash(body) != u32_at(buf, 4) {
        return Frame::Invalid("CRC mismatch");
    }
    if !layout_ok(body) {
        return Frame::Invalid("fields overrun the frame");
    }
    Frame::Valid {
        len: FRAME_HEADER + body_len,
        offset: i64_at(body, 0),
        timestamp: i64_at(body, 8),
    }
}

/// Decodes a frame that [`check`] found valid. `None` if it is not one.
pub(crate) fn decode(buf: &[u8]) -> Option<(Record, usize)> {
    let body_len = u32_at(buf, 0) as usize;
    let body = buf.get(FRAME_HEADER..FRAME_HEADER + body_len)?;
    if crc32fast::hash(body) != u32_at(buf, 4) {
        return None;
    }
    Some((parse_body(body)?, FRAME_HEADER + body_len))
}

/// Whether the body's lengths add up to its size, without copying anything out.
fn layout_ok(body: &[u8]) -> bool {
    let mut cur = Cursor { buf: body, pos: 16 };
    let mut walk = || -> Option<()> {
        cur.skip_nullable()?;
        cur.skip_nullable()?;
        for _ in 0..cur.u32()? {
            let len = cur.u32()? as usize;
            std::str::from_utf8(cur.take(len)?).ok()?;
            cur.skip_nullable()?;
        }
        Some(())
    };
    walk().is_some() && cur.pos == body.len()
}

fn parse_body(body: &[u8]) -> Option<Record> {
    let mut cur = Cursor { buf: body, pos: 16 };
    let key = cur.nullable()?;
    let value = cur.nullable()?;
    let count = cur.u32()? as usize;
    let mut headers = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        let len = cur.u32()? as usize;
        let key = String::from_utf8(cur.take(len)?.to_vec()).ok()?;
        let value = cur.nullable()?;
        headers.push(Header { key, value });
    }
    if cur.pos != body.len() {
        return None;
    }
    Some(Record {
        offset: i64_at(body, 0),
        timestamp: i64_at(body, 8),
        key,
        value,
        headers,
    })
}

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

    fn u32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn skip_nullable(&mut self) -> Option<()> {
        let len = self.u32()? as i32;
        if len != -1 {
            self.take(usize::try_from(len).ok()?)?;
        }
        Some(())
    }

    fn nullable(&mut self) -> Option<Option<Vec<u8>>> {
        let len = self.u32()? as i32;
        if len == -1 {
            return Some(None);
        }
        let len = usize::try_from(len).ok()?;
        Some(Some(self.take(len)?.to_vec()))
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

    fn frame(offset: i64, ts: i64, r: &NewRecord<'_>) -> Vec<u8> {
        let mut buf = Vec::new();
        encode(&mut buf, offset, ts, r);
        buf
    }

    #[test]
    fn a_frame_decodes_to_what_was_encoded() {
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
        let rec = NewRecord::new(b"{\"a\":1}")
            .with_key(b"k1")
            .with_headers(&headers);
        let buf = frame(42, 1_700_000_000_123, &rec);
        assert_eq!(buf.len(), rec.encoded_len());
        assert_eq!(
            check(&buf),
            Frame::Valid {
                len: buf.len(),
                offset: 42,
                timestamp: 1_700_000_000_123
            }
        );
        let (got, len) = decode(&buf).unwrap();
        assert_eq!(len, buf.len());
        assert_eq!(
            got,
            Record {
                offset: 42,
                timestamp: 1_700_000_000_123,
                key: Some(b"k1".to_vec()),
                value: Some(b"{\"a\":1}".to_vec()),
                headers,
            }
        );
    }

    #[test]
    fn null_key_and_null_value_stay_distinct_from_empty() {
        let null = frame(0, 0, &NewRecord::default());
        let empty = frame(0, 0, &NewRecord::new(b"").with_key(b""));
        let (n, _) = decode(&null).unwrap();
        let (e, _) = decode(&empty).unwrap();
        assert_eq!((n.key, n.value), (None, None));
        assert_eq!((e.key, e.value), (Some(vec![]), Some(vec![])));
    }

    #[test]
    fn a_cut_frame_is_incomplete_and_a_flipped_bit_is_invalid() {
        let buf = frame(7, 8, &NewRecord::new(b"hello world"));
        for cut in 0..buf.len() {
            assert_eq!(check(&buf[..cut]), Frame::Incomplete, "cut at {cut}");
        }
        let mut bad = buf.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0x01;
        assert_eq!(check(&bad), Frame::Invalid("CRC mismatch"));
        assert!(decode(&bad).is_none());
        assert_eq!(
            check(&[0u8; 16]),
            Frame::Invalid("frame length out of range")
        );
    }
}
