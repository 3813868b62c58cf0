//! PostgreSQL values in their text output format (what `pgoutput` sends and what a simple-query
//! `FETCH` returns) read into Arrow columns of the Flink types the table declares, plus which
//! PostgreSQL column types each Flink type may be read from. The session's settings make the
//! text unambiguous: `DateStyle = ISO`, `TimeZone = UTC`, `bytea_output = hex`.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder,
    Float64Builder, Int16Builder, Int32Builder, Int64Builder, Int8Builder, StringBuilder,
    TimestampMicrosecondBuilder, TimestampMillisecondBuilder, TimestampNanosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

use crate::operators::group_aggregate::{RowKind, OP_COLUMN};
use crate::sql::types::SqlType;

/// Built-in type OIDs (`pg_type.oid`), stable across PostgreSQL versions.
pub mod oid {
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const OID: u32 = 26;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const DATE: u32 = 1082;
    pub const TIMESTAMP: u32 = 1114;
    pub const TIMESTAMPTZ: u32 = 1184;
    pub const NUMERIC: u32 = 1700;
}

/// Whether a column of PostgreSQL type `base_oid` (domains resolved to their base type) can be
/// read as the declared Flink type. STRING reads any type's text.
pub fn compatible(ty: &SqlType, base_oid: u32) -> bool {
    use oid::*;
    match ty {
        SqlType::String => true,
        SqlType::Boolean => base_oid == BOOL,
        SqlType::TinyInt | SqlType::SmallInt => base_oid == INT2,
        SqlType::Int => matches!(base_oid, INT2 | INT4),
        SqlType::BigInt => matches!(base_oid, INT2 | INT4 | INT8 | OID),
        SqlType::Float => base_oid == FLOAT4,
        SqlType::Double => matches!(base_oid, FLOAT4 | FLOAT8 | NUMERIC | INT2 | INT4 | INT8),
        SqlType::Decimal { .. } => matches!(base_oid, NUMERIC | INT2 | INT4 | INT8),
        SqlType::Date => base_oid == DATE,
        SqlType::Timestamp { .. } | SqlType::TimestampLtz { .. } => {
            matches!(base_oid, TIMESTAMP | TIMESTAMPTZ)
        }
        SqlType::Bytes => base_oid == BYTEA,
        SqlType::Array(_) | SqlType::Map(..) => false,
    }
}

/// The Flink types this connector reads; ARRAY and MAP are not.
pub fn supported(ty: &SqlType) -> bool {
    !matches!(ty, SqlType::Array(_) | SqlType::Map(..))
}

/// One declared column being built.
enum Builder {
    String(StringBuilder),
    Boolean(BooleanBuilder),
    Int8(Int8Builder),
    Int16(Int16Builder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Float32(Float32Builder),
    Float64(Float64Builder),
    Decimal(Decimal128Builder, u8, i8),
    Date(Date32Builder),
    Millis(TimestampMillisecondBuilder),
    Micros(TimestampMicrosecondBuilder),
    Nanos(TimestampNanosecondBuilder),
    Binary(BinaryBuilder),
}

impl Builder {
    fn new(ty: &DataType) -> Option<Builder> {
        Some(match ty {
            DataType::Utf8 => Builder::String(StringBuilder::new()),
            DataType::Boolean => Builder::Boolean(BooleanBuilder::new()),
            DataType::Int8 => Builder::Int8(Int8Builder::new()),
            DataType::Int16 => Builder::Int16(Int16Builder::new()),
            DataType::Int32 => Builder::Int32(Int32Builder::new()),
            DataType::Int64 => Builder::Int64(Int64Builder::new()),
            DataType::Float32 => Builder::Float32(Float32Builder::new()),
            DataType::Float64 => Builder::Float64(Float64Builder::new()),
            DataType::Decimal128(p, s) => {
                Builder::Decimal(Decimal128Builder::new().with_data_type(ty.clone()), *p, *s)
            }
            DataType::Date32 => Builder::Date(Date32Builder::new()),
            DataType::Timestamp(TimeUnit::Millisecond, tz) => {
                Builder::Millis(TimestampMillisecondBuilder::new().with_timezone_opt(tz.clone()))
            }
            DataType::Timestamp(TimeUnit::Microsecond, tz) => {
                Builder::Micros(TimestampMicrosecondBuilder::new().with_timezone_opt(tz.clone()))
            }
            DataType::Timestamp(TimeUnit::Nanosecond, tz) => {
                Builder::Nanos(TimestampNanosecondBuilder::new().with_timezone_opt(tz.clone()))
            }
            DataType::Binary => Builder::Binary(BinaryBuilder::new()),
            _ => return None,
        })
    }

    fn append_null(&mut self) {
        match self {
            Builder::String(b) => b.append_null(),
            Builder::Boolean(b) => b.append_null(),
            Builder::Int8(b) => b.append_null(),
            Builder::Int16(b) => b.append_null(),
            Builder::Int32(b) => b.append_null(),
            Builder::Int64(b) => b.append_null(),
            Builder::Float32(b) => b.append_null(),
            Builder::Float64(b) => b.append_null(),
            Builder::Decimal(b, ..) => b.append_null(),
            Builder::Date(b) => b.append_null(),
            Builder::Millis(b) => b.append_null(),
            Builder::Micros(b) => b.append_null(),
            Builder::Nanos(b) => b.append_null(),
            Builder::Binary(b) => b.append_null(),
        }
    }

    /// Appends the value PostgreSQL wrote as `text`; `None` when it cannot be read.
    fn append_text(&mut self, text: &[u8]) -> Option<()> {
        let s = std::str::from_utf8(text).ok()?;
        match self {
            Builder::String(b) => b.append_value(s),
            Builder::Boolean(b) => b.append_value(match s {
                "t" | "true" => true,
                "f" | "false" => false,
                _ => return None,
            }),
            Builder::Int8(b) => b.append_value(s.parse().ok()?),
            Builder::Int16(b) => b.append_value(s.parse().ok()?),
            Builder::Int32(b) => b.append_value(s.parse().ok()?),
            Builder::Int64(b) => b.append_value(s.parse().ok()?),
            Builder::Float32(b) => b.append_value(s.parse().ok()?),
            Builder::Float64(b) => b.append_value(s.parse().ok()?),
            Builder::Decimal(b, p, sc) => b.append_value(parse_decimal(s, *p, *sc)?),
            Builder::Date(b) => b.append_value(parse_date(s)?),
            Builder::Millis(b) => b.append_value(parse_timestamp_nanos(s)?.div_euclid(1_000_000)),
            Builder::Micros(b) => b.append_value(parse_timestamp_nanos(s)?.div_euclid(1_000)),
            Builder::Nanos(b) => b.append_value(parse_timestamp_nanos(s)?),
            Builder::Binary(b) => b.append_value(parse_bytea(s)?),
        }
        Some(())
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::String(b) => Arc::new(b.finish()),
            Builder::Boolean(b) => Arc::new(b.finish()),
            Builder::Int8(b) => Arc::new(b.finish()),
            Builder::Int16(b) => Arc::new(b.finish()),
            Builder::Int32(b) => Arc::new(b.finish()),
            Builder::Int64(b) => Arc::new(b.finish()),
            Builder::Float32(b) => Arc::new(b.finish()),
            Builder::Float64(b) => Arc::new(b.finish()),
            Builder::Decimal(b, ..) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::Millis(b) => Arc::new(b.finish()),
            Builder::Micros(b) => Arc::new(b.finish()),
            Builder::Nanos(b) => Arc::new(b.finish()),
            Builder::Binary(b) => Arc::new(b.finish()),
        }
    }
}

/// A value that could not be read: which column, and the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadValue {
    pub column: usize,
    pub text: String,
}

/// Builds changelog batches (the declared columns, then [`OP_COLUMN`]) row by row.
pub struct ChangelogBuilder {
    schema: SchemaRef,
    columns: Vec<Builder>,
    ops: Int8Builder,
    rows: usize,
}

impl ChangelogBuilder {
    /// `fields` are the declared columns; `None` if one has a type this module cannot build.
    pub fn new(fields: &[Field]) -> Option<ChangelogBuilder> {
        let columns = fields
            .iter()
            .map(|f| Builder::new(f.data_type()))
            .collect::<Option<Vec<_>>>()?;
        let mut all: Vec<Field> = fields.to_vec();
        all.push(Field::new(OP_COLUMN, DataType::Int8, false));
        Some(ChangelogBuilder {
            schema: Arc::new(Schema::new(all)),
            columns,
            ops: Int8Builder::new(),
            rows: 0,
        })
    }

    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Appends a row: `value(i)` is declared column `i`'s text, `None` for NULL. On error the
    /// builder is left with a partial row and must not be finished (the job fails).
    pub fn push<'v>(
        &mut self,
        kind: RowKind,
        mut value: impl FnMut(usize) -> Option<&'v [u8]>,
    ) -> Result<(), BadValue> {
        for (i, builder) in self.columns.iter_mut().enumerate() {
            match value(i) {
                None => builder.append_null(),
                Some(text) => builder.append_text(text).ok_or_else(|| BadValue {
                    column: i,
                    text: String::from_utf8_lossy(text).into_owned(),
                })?,
            }
        }
        self.ops.append_value(kind as i8);
        self.rows += 1;
        Ok(())
    }

    /// The rows pushed so far as one batch; the builder is empty again.
    pub fn finish(&mut self) -> crate::Result<RecordBatch> {
        let mut arrays: Vec<ArrayRef> = self.columns.iter_mut().map(Builder::finish).collect();
        arrays.push(Arc::new(self.ops.finish()));
        let options = RecordBatchOptions::new().with_row_count(Some(self.rows));
        self.rows = 0;
        RecordBatch::try_new_with_options(self.schema.clone(), arrays, &options)
            .map_err(|e| crate::Error::Internal(format!("postgres-cdc built a bad batch: {e}")))
    }
}

/// `numeric` text (`-12.3450`) as a DECIMAL(p, s) value, rounded half away from zero to `s`
/// digits as Flink's casts do; `None` for NaN, infinities or a value that does not fit.
fn parse_decimal(s: &str, precision: u8, scale: i8) -> Option<i128> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part
        .bytes()
        .chain(frac_part.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let scale = usize::try_from(scale).ok()?;
    let mut value: i128 = 0;
    for b in int_part.bytes() {
        value = value.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
    }
    let frac = frac_part.as_bytes();
    for i in 0..scale {
        let d = frac.get(i).map(|b| b - b'0').unwrap_or(0);
        value = value.checked_mul(10)?.checked_add(i128::from(d))?;
    }
    if frac.get(scale).is_some_and(|d| *d >= b'5') {
        value = value.checked_add(1)?;
    }
    if value >= 10i128.checked_pow(u32::from(precision))? {
        return None;
    }
    Some(if negative { -value } else { value })
}

/// `YYYY-MM-DD` (ISO DateStyle; ` BC` for years before 1) as days since 1970-01-01.
fn parse_date(s: &str) -> Option<i32> {
    let (date, bc) = match s.strip_suffix(" BC") {
        Some(d) => (d, true),
        None => (s, false),
    };
    let days = civil_days(date, bc)?;
    i32::try_from(days).ok()
}

fn civil_days(date: &str, bc: bool) -> Option<i64> {
    let mut parts = date.splitn(3, '-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    // Year 1 BC is year 0 in the proleptic Gregorian calendar chrono uses.
    let year = if bc { 1 - year } else { year };
    let d = chrono::NaiveDate::from_ymd_opt(year, month, day)?;
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
    Some(d.signed_duration_since(epoch).num_days())
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]][ BC]` as nanoseconds since the epoch, UTC: a
/// `timestamptz` (with an offset) is converted to UTC; a `timestamp` is its wall-clock time.
fn parse_timestamp_nanos(s: &str) -> Option<i64> {
    let (s, bc) = match s.strip_suffix(" BC") {
        Some(rest) => (rest, true),
        None => (s, false),
    };
    let (date, time) = s.split_once(' ')?;
    let days = civil_days(date, bc)?;
    // The zone offset starts at the first sign after the seconds.
    let (clock, offset) = match time.find(['+', '-']) {
        Some(i) => (&time[..i], Some(&time[i..])),
        None => (time, None),
    };
    let (hms, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let mut hms = hms.splitn(3, ':');
    let h: i64 = hms.next()?.parse().ok()?;
    let m: i64 = hms.next()?.parse().ok()?;
    let sec: i64 = hms.next()?.parse().ok()?;
    if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut nanos: i64 = 0;
    for i in 0..9 {
        nanos = nanos * 10
            + fraction
                .as_bytes()
                .get(i)
                .map_or(0, |b| i64::from(b - b'0'));
    }
    let mut seconds = days
        .checked_mul(86_400)?
        .checked_add(h * 3600 + m * 60 + sec)?;
    if let Some(offset) = offset {
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let mut parts = offset[1..].splitn(3, ':');
        let oh: i64 = parts.next()?.parse().ok()?;
        let om: i64 = parts.next().map_or(Some(0), |p| p.parse().ok())?;
        let os: i64 = parts.next().map_or(Some(0), |p| p.parse().ok())?;
        seconds -= sign * (oh * 3600 + om * 60 + os);
    }
    seconds.checked_mul(1_000_000_000)?.checked_add(nanos)
}

/// `bytea` in hex output (`\x0a1b`).
fn parse_bytea(s: &str) -> Option<Vec<u8>> {
    let hex = s.strip_prefix("\\x")?;
    if hex.len() % 2 != 0 {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::cell_text;

    #[test]
    fn decimals_round_half_up_and_refuse_overflow() {
        assert_eq!(parse_decimal("12.345", 10, 2), Some(1235));
        assert_eq!(parse_decimal("-12.344", 10, 2), Some(-1234));
        assert_eq!(parse_decimal("-12.345", 10, 2), Some(-1235));
        assert_eq!(parse_decimal("7", 10, 2), Some(700));
        assert_eq!(parse_decimal("0.5", 3, 0), Some(1));
        assert_eq!(parse_decimal("999.995", 5, 2), None, "rounds to 1000.00");
        assert_eq!(parse_decimal("NaN", 10, 2), None);
        assert_eq!(parse_decimal("Infinity", 10, 2), None);
        assert_eq!(parse_decimal("", 10, 2), None);
    }

    #[test]
    fn timestamps_dates_and_zones() {
        // 2026-02-12 10:30:00.123456 UTC
        let base = 1_770_892_200_123_456_000;
        assert_eq!(
            parse_timestamp_nanos("2026-02-12 10:30:00.123456"),
            Some(base)
        );
        assert_eq!(
            parse_timestamp_nanos("2026-02-12 12:30:00.123456+02"),
            Some(base)
        );
        assert_eq!(
            parse_timestamp_nanos("2026-02-12 05:00:00.123456-05:30"),
            Some(base)
        );
        assert_eq!(
            parse_timestamp_nanos("1969-12-31 23:59:59.5"),
            Some(-500_000_000)
        );
        assert_eq!(parse_timestamp_nanos("infinity"), None);
        assert_eq!(parse_date("1970-01-02"), Some(1));
        assert_eq!(parse_date("0001-01-01 BC"), parse_date("0000-01-01"));
        assert_eq!(parse_bytea("\\x00ff"), Some(vec![0, 255]));
        assert_eq!(parse_bytea("\\x0"), None);
    }

    #[test]
    fn builder_makes_a_changelog_batch_of_the_declared_types() {
        let fields = [
            Field::new("s", DataType::Utf8, true),
            Field::new("n", DataType::Decimal128(6, 2), true),
            Field::new("t", DataType::Timestamp(TimeUnit::Millisecond, None), true),
            Field::new("b", DataType::Boolean, true),
        ];
        let mut b = ChangelogBuilder::new(&fields).unwrap();
        let row1: [Option<&[u8]>; 4] = [
            Some("it's \"ü\"".as_bytes()),
            Some(b"1.005"),
            Some(b"2026-02-12 10:30:00.1239"),
            Some(b"t"),
        ];
        b.push(RowKind::Insert, |i| row1[i]).unwrap();
        b.push(RowKind::Delete, |_| None).unwrap();
        let batch = b.finish().unwrap();
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(batch.schema().field(4).name(), OP_COLUMN);
        let row: Vec<String> = (0..5).map(|c| cell_text(batch.column(c), 0)).collect();
        assert_eq!(
            row,
            ["it's \"ü\"", "1.01", "2026-02-12 10:30:00.123", "true", "0"]
        );
        assert!(batch.column(1).is_null(1));
        assert_eq!(cell_text(batch.column(4), 1), "3");
        let err = b.push(RowKind::Insert, |i| {
            [Some(&b"x"[..]), Some(b"abc"), None, None][i]
        });
        assert_eq!(
            err,
            Err(BadValue {
                column: 1,
                text: "abc".into()
            })
        );
    }

    #[test]
    fn type_compatibility() {
        assert!(compatible(&SqlType::String, 3802), "jsonb read as text");
        assert!(compatible(&SqlType::BigInt, oid::INT4));
        assert!(!compatible(&SqlType::Int, oid::INT8), "would overflow");
        assert!(compatible(
            &SqlType::Timestamp { precision: 3 },
            oid::TIMESTAMPTZ
        ));
        assert!(!compatible(&SqlType::Boolean, 25));
    }
}
