//! The json decoder's fast path: a scanner for the lines sources send almost always (one
//! flat object; strings, numbers, booleans and nulls; arrays where the column is an ARRAY),
//! which fills the row's slots exactly as the serde visitors would, without their machinery.
//!
//! It answers only where it knows serde_json's answer. Whatever else it meets (an object or
//! array read into a STRING column, a number serde_json would round differently or reject,
//! an invalid escape, malformed JSON, nesting deeper than [`MAX_DEPTH`]) makes it give up
//! with `None`, and the line is decoded again by the serde path, which then also produces the
//! error message. So every error text comes from one place, and a test compares the two paths
//! on generated lines.

use arrow::datatypes::DataType;
use serde_json::Number;

use super::{convert_scalar, Cell, KeyIndex, Row, Scalar, Slot, TimestampStandard};

/// Nesting the scanner skips through before leaving the line to serde (which allows 128).
const MAX_DEPTH: usize = 64;

/// Powers of ten that are exact in an f64.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// A decoded string: a range of the line (no escapes), or the scratch buffer.
#[derive(Clone, Copy)]
enum Text {
    Line(usize, usize),
    Scratch,
}

/// What the columns of the line are: their types, which are skipped, and the row to fill.
pub(super) struct Target<'a> {
    pub keys: &'a mut KeyIndex,
    pub types: &'a [DataType],
    pub skipped: &'a [bool],
    pub ts: TimestampStandard,
    pub row: &'a mut Row,
    /// Reused for strings with escapes.
    pub scratch: &'a mut String,
}

struct Scanner<'a> {
    line: &'a str,
    bytes: &'a [u8],
    at: usize,
}

/// Fills `target.row` from `line`; `None` when the serde path must decode it instead (the
/// row is then in no particular state: the caller resets it).
pub(super) fn scan_line(line: &str, target: Target<'_>) -> Option<()> {
    let Target {
        keys,
        types,
        skipped,
        ts,
        row,
        scratch,
    } = target;
    let mut s = Scanner {
        line,
        bytes: line.as_bytes(),
        at: 0,
    };
    s.space();
    s.expect(b'{')?;
    s.space();
    if s.peek()? == b'}' {
        s.at += 1;
    } else {
        let mut position = 0;
        loop {
            s.expect(b'"')?;
            let key = s.string(scratch)?;
            let column = {
                let key = s.text(key, scratch);
                keys.find(position, key)
            };
            position += 1;
            s.space();
            s.expect(b':')?;
            s.space();
            match column.filter(|i| !skipped.get(*i).copied().unwrap_or(true)) {
                Some(i) => {
                    let dt = types.get(i)?;
                    let converted = s.value(dt, ts, &mut row.text, scratch)?;
                    let slot = row.slots.get_mut(i)?;
                    // A repeated key: the last value wins, as in the serde path.
                    *slot = match converted {
                        Ok(cell) => Slot::Value(cell),
                        Err(e) => Slot::Failed(e),
                    };
                }
                None => s.skip(0, scratch)?,
            }
            s.space();
            match s.next()? {
                b',' => s.space(),
                b'}' => break,
                _ => return None,
            }
        }
    }
    s.space();
    (s.at == s.bytes.len()).then_some(())
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        Some(b)
    }

    fn expect(&mut self, b: u8) -> Option<()> {
        (self.next()? == b).then_some(())
    }

    fn space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.bytes.get(self.at..end)? == word).then(|| self.at = end)
    }

    fn text<'s>(&self, t: Text, scratch: &'s str) -> &'s str
    where
        'a: 's,
    {
        match t {
            Text::Line(start, end) => self.line.get(start..end).unwrap_or_default(),
            Text::Scratch => scratch,
        }
    }

    /// The string after an opening quote, up to and past its closing quote.
    fn string(&mut self, scratch: &mut String) -> Option<Text> {
        let start = self.at;
        let end = special_byte(self.bytes, start);
        if self.bytes.get(end) == Some(&b'"') {
            self.at = end + 1;
            return Some(Text::Line(start, end));
        }
        // Escapes (or a control character, or the end of the line): build it in scratch.
        scratch.clear();
        let mut from = start;
        let mut at = end;
        loop {
            match *self.bytes.get(at)? {
                b'"' => {
                    scratch.push_str(self.line.get(from..at)?);
                    self.at = at + 1;
                    return Some(Text::Scratch);
                }
                b'\\' => {
                    scratch.push_str(self.line.get(from..at)?);
                    at = self.escape(at + 1, scratch)?;
                    from = at;
                }
                // A raw control character: serde_json rejects it.
                _ => return None,
            }
            at = special_byte(self.bytes, at);
        }
    }

    /// One escape after its backslash, pushed to `out`; where the string goes on.
    fn escape(&self, at: usize, out: &mut String) -> Option<usize> {
        let c = match *self.bytes.get(at)? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let high = self.hex4(at + 1)?;
                let (code, next) = match high {
                    0xD800..=0xDBFF => {
                        // A surrogate pair; a lone surrogate is an error in serde_json.
                        if self.bytes.get(at + 5..at + 7)? != b"\\u" {
                            return None;
                        }
                        let low = self.hex4(at + 7)?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return None;
                        }
                        (0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00), at + 11)
                    }
                    0xDC00..=0xDFFF => return None,
                    _ => (high, at + 5),
                };
                out.push(char::from_u32(code)?);
                return Some(next);
            }
            _ => return None,
        };
        out.push(c);
        Some(at + 1)
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let digits = self.line.get(at..at + 4)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(digits, 16).ok()
    }

    /// A number, as serde_json (without `float_roundtrip`) reads it, where that is exactly
    /// one integer or one correctly rounded operation; otherwise `None`.
    fn number(&mut self) -> Option<Number> {
        let negative = self.peek()? == b'-';
        if negative {
            self.at += 1;
        }
        let mut significand: u64 = 0;
        let mut digits = 0usize;
        let first = self.peek()?;
        if !first.is_ascii_digit() {
            return None;
        }
        if first == b'0' {
            self.at += 1;
            // A leading zero stands alone (serde_json: "invalid number").
            if self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return None;
            }
        } else {
            while let Some(b @ b'0'..=b'9') = self.peek() {
                significand = significand
                    .checked_mul(10)?
                    .checked_add(u64::from(b - b'0'))?;
                digits += 1;
                self.at += 1;
            }
        }
        let mut exponent: i64 = 0;
        let mut float = false;
        if self.peek() == Some(b'.') {
            float = true;
            self.at += 1;
            let before = self.at;
            while let Some(b @ b'0'..=b'9') = self.peek() {
                significand = significand
                    .checked_mul(10)?
                    .checked_add(u64::from(b - b'0'))?;
                digits += 1;
                exponent -= 1;
                self.at += 1;
            }
            if self.at == before {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            float = true;
            self.at += 1;
            let sign = match self.peek()? {
                b'-' => {
                    self.at += 1;
                    -1
                }
                b'+' => {
                    self.at += 1;
                    1
                }
                _ => 1,
            };
            let before = self.at;
            let mut e: i64 = 0;
            while let Some(b @ b'0'..=b'9') = self.peek() {
                e = e.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
                self.at += 1;
                if e > 1000 {
                    return None;
                }
            }
            if self.at == before {
                return None;
            }
            exponent += sign * e;
        }
        if !float {
            // Integers up to 18 digits are exact either way; serde_json reads -0 as a float.
            if digits > 18 || (negative && significand == 0) {
                return None;
            }
            let v = i64::try_from(significand).ok()?;
            return Some(if negative {
                Number::from(-v)
            } else {
                Number::from(significand)
            });
        }
        // serde_json: the significand as f64, times or divided by one power of ten. Both
        // exact inputs, so one correctly rounded operation, when they fit here.
        if significand > (1u64 << 53) || digits > 19 {
            return None;
        }
        let pow = *POW10.get(usize::try_from(exponent.unsigned_abs()).ok()?)?;
        let magnitude = significand as f64;
        let f = if exponent >= 0 {
            magnitude * pow
        } else {
            magnitude / pow
        };
        Number::from_f64(if negative { -f } else { f })
    }

    /// A value converted for a column of type `dt`; `None` to leave the line to serde.
    fn value(
        &mut self,
        dt: &DataType,
        ts: TimestampStandard,
        text: &mut String,
        scratch: &mut String,
    ) -> Option<Result<Cell, String>> {
        let scalar = match self.peek()? {
            b'"' => {
                self.at += 1;
                let t = self.string(scratch)?;
                let s = self.text(t, scratch);
                return Some(convert_scalar(Scalar::Str(s), dt, ts, text));
            }
            b'n' => {
                self.literal(b"null")?;
                return Some(Ok(Cell::Null));
            }
            b't' => {
                self.literal(b"true")?;
                Scalar::Bool(true)
            }
            b'f' => {
                self.literal(b"false")?;
                Scalar::Bool(false)
            }
            b'[' => {
                let DataType::List(item) = dt else {
                    // An array read into text: the serde path prints it.
                    return None;
                };
                self.at += 1;
                return self.list(item.data_type(), ts, text, scratch);
            }
            b'-' | b'0'..=b'9' => Scalar::Num(self.number()?),
            _ => return None,
        };
        Some(convert_scalar(scalar, dt, ts, text))
    }

    /// The items of an array (after its `[`) for an ARRAY column, as the serde path converts
    /// them: the first item that does not convert fails the value.
    fn list(
        &mut self,
        item: &DataType,
        ts: TimestampStandard,
        text: &mut String,
        scratch: &mut String,
    ) -> Option<Result<Cell, String>> {
        if matches!(item, DataType::List(_)) {
            return None;
        }
        let mut items = Vec::new();
        let mut first_error = None;
        self.space();
        if self.peek()? == b']' {
            self.at += 1;
            return Some(Ok(Cell::List(items)));
        }
        loop {
            self.space();
            if matches!(self.peek()?, b'[' | b'{') {
                return None;
            }
            match self.value(item, ts, text, scratch)? {
                Ok(cell) => items.push(cell),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
            self.space();
            match self.next()? {
                b',' => {}
                b']' => break,
                _ => return None,
            }
        }
        Some(match first_error {
            Some(e) => Err(e),
            None => Ok(Cell::List(items)),
        })
    }

    /// Passes over a value no column reads, checking it as serde_json would.
    fn skip(&mut self, depth: usize, scratch: &mut String) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => {
                self.at += 1;
                self.string(scratch).map(|_| ())
            }
            b'n' => self.literal(b"null"),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'-' | b'0'..=b'9' => self.number().map(|_| ()),
            b'[' => {
                self.at += 1;
                self.space();
                if self.peek()? == b']' {
                    self.at += 1;
                    return Some(());
                }
                loop {
                    self.space();
                    self.skip(depth + 1, scratch)?;
                    self.space();
                    match self.next()? {
                        b',' => {}
                        b']' => return Some(()),
                        _ => return None,
                    }
                }
            }
            b'{' => {
                self.at += 1;
                self.space();
                if self.peek()? == b'}' {
                    self.at += 1;
                    return Some(());
                }
                loop {
                    self.space();
                    self.expect(b'"')?;
                    self.string(scratch)?;
                    self.space();
                    self.expect(b':')?;
                    self.space();
                    self.skip(depth + 1, scratch)?;
                    self.space();
                    match self.next()? {
                        b',' => {}
                        b'}' => return Some(()),
                        _ => return None,
                    }
                }
            }
            _ => None,
        }
    }
}

/// The first byte at or after `from` that ends a plain run of string text: a quote, a
/// backslash or a control character (or the end). Eight bytes at a time.
fn special_byte(bytes: &[u8], mut from: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = bytes.get(from..from + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let quote = w ^ (ONES * u64::from(b'"'));
        let backslash = w ^ (ONES * u64::from(b'\\'));
        // A zero byte in `quote`/`backslash`, or a byte below 0x20 in `w`.
        let found = (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (w.wrapping_sub(ONES * 0x20) & !w);
        let found = found & HIGH;
        if found != 0 {
            // Borrows run from low bytes to high, so the lowest flag is a true one.
            return from + (found.trailing_zeros() / 8) as usize;
        }
        from += 8;
    }
    while let Some(&b) = bytes.get(from) {
        if b == b'"' || b == b'\\' || b < 0x20 {
            return from;
        }
        from += 1;
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::special_byte;

    #[test]
    fn special_bytes_are_found_in_every_lane() {
        for len in 0..20 {
            for at in 0..len {
                for special in [b'"', b'\\', 0x00, 0x1f] {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = special;
                    assert_eq!(special_byte(&bytes, 0), at, "{len} {at} {special}");
                }
                // Multi-byte UTF-8 and bytes just above the control range are text.
                let mut bytes = vec![0xC3u8; len];
                bytes[at] = 0x20;
                assert_eq!(special_byte(&bytes, 0), len);
            }
        }
    }
}
