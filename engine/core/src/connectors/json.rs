//! Flink's `json` format: decodes JSON lines into Arrow batches with Flink's conversions
//! (objects read into STRING columns as their JSON text, numbers parsed from strings, SQL or
//! ISO-8601 timestamps) and its error options (`json.fail-on-missing-field`,
//! `json.ignore-parse-errors`). A bad line never leaves a half-written row behind.

use arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder,
    Float64Builder, Int16Builder, Int32Builder, Int64Builder, Int8Builder, ListBuilder,
    StringBuilder, TimestampMicrosecondBuilder, TimestampMillisecondBuilder,
    TimestampNanosecondBuilder,
};
use arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use serde_json::Value;

use crate::{Error, Result};

/// `json.timestamp-format.standard`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampStandard {
    /// `2026-02-12 10:30:00.000`
    Sql,
    /// `2026-02-12T10:30:00.000Z`
    Iso8601,
}

#[derive(Debug, Clone, Copy)]
pub struct JsonOptions {
    pub fail_on_missing_field: bool,
    pub ignore_parse_errors: bool,
    pub timestamp_standard: TimestampStandard,
}

impl Default for JsonOptions {
    fn default() -> Self {
        Self {
            fail_on_missing_field: false,
            ignore_parse_errors: false,
            timestamp_standard: TimestampStandard::Sql,
        }
    }
}

/// A value converted for one column, held until the whole row converted.
#[derive(Debug, Clone)]
enum Cell {
    Null,
    Str(String),
    Bool(bool),
    Int(i64),
    Float(f64),
    Decimal(i128),
    /// Nanoseconds since the epoch.
    Timestamp(i64),
    Date(i32),
    List(Vec<Cell>),
}

/// Decodes JSON lines into batches of a fixed schema.
pub struct JsonDecoder {
    schema: SchemaRef,
    options: JsonOptions,
    builders: Vec<Box<dyn ArrayBuilder>>,
    /// Columns that must not be null (the rowtime attribute): a null there is a row error.
    required: Vec<bool>,
    rows: usize,
    cells: Vec<Cell>,
}

impl JsonDecoder {
    pub fn new(schema: SchemaRef, options: JsonOptions, required_columns: &[usize]) -> Self {
        let builders = schema
            .fields()
            .iter()
            .map(|f| builder_for(f.data_type()))
            .collect();
        let mut required = vec![false; schema.fields().len()];
        for &i in required_columns {
            if let Some(r) = required.get_mut(i) {
                *r = true;
            }
        }
        Self {
            schema,
            options,
            builders,
            required,
            rows: 0,
            cells: Vec::new(),
        }
    }

    pub fn ignores_parse_errors(&self) -> bool {
        self.options.ignore_parse_errors
    }

    pub fn buffered_rows(&self) -> usize {
        self.rows
    }

    /// Decodes one line. `Ok(false)`: the line was malformed and skipped
    /// (`json.ignore-parse-errors`); an error when the options say the job must fail.
    pub fn decode_line(&mut self, line: &str) -> std::result::Result<bool, String> {
        match self.convert_line(line) {
            Ok(()) => {
                for (i, cell) in self.cells.drain(..).enumerate() {
                    append(
                        self.builders[i].as_mut(),
                        self.schema.field(i).data_type(),
                        cell,
                    );
                }
                self.rows += 1;
                Ok(true)
            }
            Err(_) if self.options.ignore_parse_errors => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn convert_line(&mut self, line: &str) -> std::result::Result<(), String> {
        self.cells.clear();
        let value: Value =
            serde_json::from_str(line).map_err(|e| format!("not valid JSON ({e})"))?;
        let Value::Object(map) = value else {
            return Err("a JSON object was expected".into());
        };
        for (i, field) in self.schema.fields().iter().enumerate() {
            let cell = match map.get(field.name()) {
                None if self.options.fail_on_missing_field => {
                    return Err(format!("field '{}' is missing", field.name()))
                }
                None | Some(Value::Null) => Cell::Null,
                // With json.ignore-parse-errors a value that does not convert is NULL and the
                // row stays, as in Flink; without it the row fails.
                Some(v) => match convert(v, field.data_type(), self.options.timestamp_standard) {
                    Ok(cell) => cell,
                    Err(_) if self.options.ignore_parse_errors => Cell::Null,
                    Err(e) => return Err(format!("field '{}': {e}", field.name())),
                },
            };
            if self.required[i] && matches!(cell, Cell::Null) {
                return Err(format!(
                    "field '{}' is the table's rowtime (WATERMARK FOR) and must not be null",
                    field.name()
                ));
            }
            self.cells.push(cell);
        }
        Ok(())
    }

    /// The rows decoded so far as a batch; the decoder starts empty again.
    pub fn flush(&mut self) -> Result<RecordBatch> {
        let columns: Vec<ArrayRef> = self.builders.iter_mut().map(|b| b.finish()).collect();
        self.rows = 0;
        RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(|e| Error::Internal(format!("json decoder built a bad batch: {e}")))
    }
}

fn builder_for(dt: &DataType) -> Box<dyn ArrayBuilder> {
    match dt {
        DataType::Boolean => Box::new(BooleanBuilder::new()),
        DataType::Int8 => Box::new(Int8Builder::new()),
        DataType::Int16 => Box::new(Int16Builder::new()),
        DataType::Int32 => Box::new(Int32Builder::new()),
        DataType::Int64 => Box::new(Int64Builder::new()),
        DataType::Float32 => Box::new(Float32Builder::new()),
        DataType::Float64 => Box::new(Float64Builder::new()),
        DataType::Decimal128(p, s) => {
            Box::new(Decimal128Builder::new().with_data_type(DataType::Decimal128(*p, *s)))
        }
        DataType::Date32 => Box::new(Date32Builder::new()),
        DataType::Timestamp(TimeUnit::Millisecond, tz) => {
            Box::new(TimestampMillisecondBuilder::new().with_timezone_opt(tz.clone()))
        }
        DataType::Timestamp(TimeUnit::Microsecond, tz) => {
            Box::new(TimestampMicrosecondBuilder::new().with_timezone_opt(tz.clone()))
        }
        DataType::Timestamp(_, tz) => {
            Box::new(TimestampNanosecondBuilder::new().with_timezone_opt(tz.clone()))
        }
        DataType::List(f) => {
            Box::new(ListBuilder::new(builder_for(f.data_type())).with_field(f.clone()))
        }
        _ => Box::new(StringBuilder::new()),
    }
}

macro_rules! push {
    ($b:expr, $t:ty, $v:expr) => {
        if let Some(b) = $b.as_any_mut().downcast_mut::<$t>() {
            b.append_option($v);
        }
    };
}

fn append(builder: &mut dyn ArrayBuilder, dt: &DataType, cell: Cell) {
    let int = |c: &Cell| match c {
        Cell::Int(v) => Some(*v),
        _ => None,
    };
    match dt {
        DataType::Boolean => push!(
            builder,
            BooleanBuilder,
            match cell {
                Cell::Bool(b) => Some(b),
                _ => None,
            }
        ),
        DataType::Int8 => push!(builder, Int8Builder, int(&cell).map(|v| v as i8)),
        DataType::Int16 => push!(builder, Int16Builder, int(&cell).map(|v| v as i16)),
        DataType::Int32 => push!(builder, Int32Builder, int(&cell).map(|v| v as i32)),
        DataType::Int64 => push!(builder, Int64Builder, int(&cell)),
        DataType::Float32 => push!(
            builder,
            Float32Builder,
            match cell {
                Cell::Float(f) => Some(f as f32),
                _ => None,
            }
        ),
        DataType::Float64 => push!(
            builder,
            Float64Builder,
            match cell {
                Cell::Float(f) => Some(f),
                _ => None,
            }
        ),
        DataType::Decimal128(..) => push!(
            builder,
            Decimal128Builder,
            match cell {
                Cell::Decimal(d) => Some(d),
                _ => None,
            }
        ),
        DataType::Date32 => push!(
            builder,
            Date32Builder,
            match cell {
                Cell::Date(d) => Some(d),
                _ => None,
            }
        ),
        DataType::Timestamp(unit, _) => {
            let v = match cell {
                Cell::Timestamp(ns) => Some(ns),
                _ => None,
            };
            match unit {
                TimeUnit::Millisecond => push!(
                    builder,
                    TimestampMillisecondBuilder,
                    v.map(|ns| ns.div_euclid(1_000_000))
                ),
                TimeUnit::Microsecond => push!(
                    builder,
                    TimestampMicrosecondBuilder,
                    v.map(|ns| ns.div_euclid(1_000))
                ),
                _ => push!(builder, TimestampNanosecondBuilder, v),
            }
        }
        DataType::List(f) => {
            if let Some(b) = builder
                .as_any_mut()
                .downcast_mut::<ListBuilder<Box<dyn ArrayBuilder>>>()
            {
                match cell {
                    Cell::List(items) => {
                        for item in items {
                            append(b.values().as_mut(), f.data_type(), item);
                        }
                        b.append(true);
                    }
                    _ => b.append(false),
                }
            }
        }
        _ => push!(
            builder,
            StringBuilder,
            match cell {
                Cell::Str(s) => Some(s),
                _ => None,
            }
        ),
    }
}

fn convert(v: &Value, dt: &DataType, ts: TimestampStandard) -> std::result::Result<Cell, String> {
    Ok(match dt {
        DataType::Utf8 => Cell::Str(match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }),
        DataType::Boolean => match v {
            Value::Bool(b) => Cell::Bool(*b),
            Value::String(s) => Cell::Bool(s.trim().eq_ignore_ascii_case("true")),
            other => return Err(format!("cannot read {other} as BOOLEAN")),
        },
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
            let n = match v {
                Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.trunc() as i64)),
                Value::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            }
            .ok_or_else(|| format!("cannot read {v} as an integer"))?;
            let (lo, hi) = match dt {
                DataType::Int8 => (i8::MIN as i64, i8::MAX as i64),
                DataType::Int16 => (i16::MIN as i64, i16::MAX as i64),
                DataType::Int32 => (i32::MIN as i64, i32::MAX as i64),
                _ => (i64::MIN, i64::MAX),
            };
            if n < lo || n > hi {
                return Err(format!("{n} is out of range for {dt}"));
            }
            Cell::Int(n)
        }
        DataType::Float32 | DataType::Float64 => Cell::Float(
            match v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            }
            .ok_or_else(|| format!("cannot read {v} as a floating point number"))?,
        ),
        DataType::Decimal128(p, s) => {
            let text = match v {
                Value::Number(n) => n.to_string(),
                Value::String(s) => s.trim().to_string(),
                other => return Err(format!("cannot read {other} as DECIMAL")),
            };
            Cell::Decimal(parse_decimal(&text, *p, *s)?)
        }
        DataType::Date32 => match v {
            Value::String(s) => {
                let days = parse_date(s.trim())
                    .ok_or_else(|| format!("cannot read '{s}' as DATE (yyyy-MM-dd)"))?;
                Cell::Date(days)
            }
            other => return Err(format!("cannot read {other} as DATE")),
        },
        DataType::Timestamp(..) => match v {
            Value::String(s) => Cell::Timestamp(parse_timestamp(s.trim(), ts)?),
            other => return Err(format!("cannot read {other} as TIMESTAMP")),
        },
        DataType::List(f) => match v {
            Value::Array(items) => Cell::List(
                items
                    .iter()
                    .map(|item| match item {
                        Value::Null => Ok(Cell::Null),
                        item => convert(item, f.data_type(), ts),
                    })
                    .collect::<std::result::Result<_, _>>()?,
            ),
            other => return Err(format!("cannot read {other} as ARRAY")),
        },
        _ => Cell::Str(v.to_string()),
    })
}

fn parse_decimal(text: &str, precision: u8, scale: i8) -> std::result::Result<i128, String> {
    let bad = || format!("cannot read '{text}' as DECIMAL({precision}, {scale})");
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(bad());
    }
    let scale = scale.max(0) as usize;
    let mut value: i128 = 0;
    for c in int_part.chars() {
        let d = c.to_digit(10).ok_or_else(bad)?;
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(d as i128))
            .ok_or_else(bad)?;
    }
    let mut frac = frac_part.chars();
    for _ in 0..scale {
        let d = match frac.next() {
            Some(c) => c.to_digit(10).ok_or_else(bad)?,
            None => 0,
        };
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(d as i128))
            .ok_or_else(bad)?;
    }
    // Round half up on the first dropped digit, as BigDecimal.setScale(HALF_UP) does.
    if let Some(c) = frac.next() {
        if c.to_digit(10).ok_or_else(bad)? >= 5 {
            value += 1;
        }
    }
    if value >= 10i128.pow(precision as u32) {
        return Err(format!(
            "'{text}' does not fit DECIMAL({precision}, {scale})"
        ));
    }
    Ok(if negative { -value } else { value })
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn parse_date(s: &str) -> Option<i32> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: i64 = s[0..4].parse().ok()?;
    let m: u32 = s[5..7].parse().ok()?;
    let d: u32 = s[8..10].parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(days_from_civil(y, m, d) as i32)
}

/// Parses a timestamp in Flink's SQL (`yyyy-MM-dd HH:mm:ss[.f...]`) or ISO-8601
/// (`yyyy-MM-ddTHH:mm:ss[.f...][Z|±hh:mm]`) form into nanoseconds since the epoch (UTC).
pub fn parse_timestamp(s: &str, standard: TimestampStandard) -> std::result::Result<i64, String> {
    let (sep, name) = match standard {
        TimestampStandard::Sql => (b' ', "SQL 'yyyy-MM-dd HH:mm:ss.SSS'"),
        TimestampStandard::Iso8601 => (b'T', "ISO-8601 'yyyy-MM-ddTHH:mm:ss.SSS'"),
    };
    let bad = || {
        format!("cannot read '{s}' as a TIMESTAMP in the {name} format (json.timestamp-format.standard)")
    };
    let b = s.as_bytes();
    if b.len() < 19 || b[10] != sep || b[13] != b':' || b[16] != b':' {
        return Err(bad());
    }
    let days = parse_date(&s[..10]).ok_or_else(bad)? as i64;
    let hh: i64 = s[11..13].parse().map_err(|_| bad())?;
    let mm: i64 = s[14..16].parse().map_err(|_| bad())?;
    let ss: i64 = s[17..19].parse().map_err(|_| bad())?;
    if hh > 23 || mm > 59 || ss > 59 {
        return Err(bad());
    }
    let mut rest = &s[19..];
    let mut nanos: i64 = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 || digits > 9 {
            return Err(bad());
        }
        let mut v: i64 = frac[..digits].parse().map_err(|_| bad())?;
        for _ in digits..9 {
            v *= 10;
        }
        nanos = v;
        rest = &frac[digits..];
    }
    let mut offset_s: i64 = 0;
    if standard == TimestampStandard::Iso8601 && !rest.is_empty() {
        if rest == "Z" {
        } else if (rest.starts_with('+') || rest.starts_with('-'))
            && rest.len() == 6
            && &rest[3..4] == ":"
        {
            let h: i64 = rest[1..3].parse().map_err(|_| bad())?;
            let m: i64 = rest[4..6].parse().map_err(|_| bad())?;
            offset_s = (h * 3600 + m * 60) * if rest.starts_with('-') { -1 } else { 1 };
        } else {
            return Err(bad());
        }
    } else if !rest.is_empty() {
        return Err(bad());
    }
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss - offset_s;
    Ok(secs * 1_000_000_000 + nanos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Field, Schema, TimestampMillisecondType};
    use std::sync::Arc;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, true),
            Field::new("n", DataType::Int32, true),
            Field::new("meta", DataType::Utf8, true),
            Field::new("ts", DataType::Timestamp(TimeUnit::Millisecond, None), true),
            Field::new(
                "tags",
                DataType::List(Arc::new(Field::new("element", DataType::Utf8, true))),
                true,
            ),
        ]))
    }

    #[test]
    fn decodes_with_flink_conversions() {
        let mut d = JsonDecoder::new(schema(), JsonOptions::default(), &[]);
        assert_eq!(
            d.decode_line(r#"{"id":"a","n":"42","meta":{"k":1},"ts":"2026-02-12 10:30:00.250","tags":["x","y"]}"#),
            Ok(true)
        );
        assert_eq!(d.decode_line(r#"{"id":7}"#), Ok(true));
        let b = d.flush().unwrap();
        assert_eq!(b.num_rows(), 2);
        assert_eq!(b.column(0).as_string::<i32>().value(1), "7");
        assert_eq!(
            b.column(1)
                .as_primitive::<arrow::datatypes::Int32Type>()
                .value(0),
            42
        );
        assert_eq!(b.column(2).as_string::<i32>().value(0), r#"{"k":1}"#);
        let ts = b.column(3).as_primitive::<TimestampMillisecondType>();
        assert_eq!(ts.value(0), 1_770_892_200_250);
        assert!(ts.is_null(1));
        assert_eq!(b.column(4).as_list::<i32>().value(0).len(), 2);
    }

    #[test]
    fn bad_rows_fail_or_are_skipped_whole() {
        let mut strict = JsonDecoder::new(schema(), JsonOptions::default(), &[]);
        let err = strict.decode_line(r#"{"id":"a","n":"x"}"#).unwrap_err();
        assert!(err.contains("field 'n'"), "{err}");
        let mut lenient = JsonDecoder::new(
            schema(),
            JsonOptions {
                ignore_parse_errors: true,
                ..JsonOptions::default()
            },
            &[3],
        );
        assert_eq!(
            lenient.decode_line(r#"{"id":"a","n":1,"ts":"2026-02-12 10:30:00"}"#),
            Ok(true)
        );
        assert_eq!(lenient.decode_line(r#"{"id":"b","n":"x"}"#), Ok(false));
        assert_eq!(lenient.decode_line("{not json"), Ok(false));
        assert_eq!(
            lenient.decode_line(r#"{"id":"c","n":1}"#),
            Ok(false),
            "null rowtime is a bad row"
        );
        let b = lenient.flush().unwrap();
        assert_eq!(b.num_rows(), 1);
        assert_eq!(b.column(0).as_string::<i32>().value(0), "a");
    }

    #[test]
    fn missing_fields_fail_when_asked() {
        let opts = JsonOptions {
            fail_on_missing_field: true,
            ..JsonOptions::default()
        };
        let mut d = JsonDecoder::new(schema(), opts, &[]);
        assert!(d
            .decode_line(r#"{"id":"a"}"#)
            .unwrap_err()
            .contains("'n' is missing"));
    }

    #[test]
    fn timestamp_standards_are_strict() {
        let sql = TimestampStandard::Sql;
        let iso = TimestampStandard::Iso8601;
        assert_eq!(
            parse_timestamp("1970-01-01 00:00:01", sql),
            Ok(1_000_000_000)
        );
        assert!(parse_timestamp("1970-01-01T00:00:01", sql).is_err());
        assert_eq!(
            parse_timestamp("1970-01-01T00:00:01Z", iso),
            Ok(1_000_000_000)
        );
        assert_eq!(
            parse_timestamp("1970-01-01T01:00:01+01:00", iso),
            Ok(1_000_000_000)
        );
        assert_eq!(
            parse_timestamp("2026-02-12T10:30:00.5Z", iso),
            Ok(1_770_892_200_500_000_000)
        );
        assert!(parse_timestamp("2026-13-12 10:30:00", sql).is_err());
    }

    #[test]
    fn decimals_round_half_up() {
        assert_eq!(parse_decimal("12.345", 10, 2), Ok(1235));
        assert_eq!(parse_decimal("-0.5", 10, 0), Ok(-1));
        assert!(parse_decimal("1234", 3, 0).is_err());
    }
}
