//! Flink's time functions with Flink's names, arguments and Java-style patterns
//! (`yyyy-MM-dd HH:mm:ss.SSS`): `DATE_FORMAT`, `TO_TIMESTAMP`, `FROM_UNIXTIME`,
//! `UNIX_TIMESTAMP`, and `PROCTIME()` (the time a row is processed). Times are UTC (the only `table.local-time-zone` Weir accepts). Text
//! that does not parse gives NULL, as in Flink.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Int64Builder, StringBuilder, TimestampMillisecondBuilder,
};
use arrow::datatypes::{DataType, TimeUnit, TimestampMillisecondType};
use chrono::{DateTime, NaiveDateTime};
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};

/// Flink's default timestamp pattern.
const DEFAULT_PATTERN: &str = "yyyy-MM-dd HH:mm:ss";

/// A Java `DateTimeFormatter` pattern as a chrono format string.
pub fn java_to_chrono(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // Quoted literal text; '' is a quote.
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '\'' {
                push_literal(&mut out, chars[j]);
                j += 1;
            }
            if j == i + 1 {
                out.push('\'');
            }
            i = j + 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|d| **d == c).count();
        let spec = match (c, run) {
            ('y', 2) => "%y".to_string(),
            ('y', _) | ('u', _) => "%Y".to_string(),
            ('M', 1) => "%-m".to_string(),
            ('M', 2) => "%m".to_string(),
            ('M', 3) => "%b".to_string(),
            ('M', _) => "%B".to_string(),
            ('d', 1) => "%-d".to_string(),
            ('d', _) => "%d".to_string(),
            ('D', _) => "%j".to_string(),
            ('H', 1) => "%-H".to_string(),
            ('H', _) => "%H".to_string(),
            ('h', 1) => "%-I".to_string(),
            ('h', _) => "%I".to_string(),
            ('m', 1) => "%-M".to_string(),
            ('m', _) => "%M".to_string(),
            ('s', 1) => "%-S".to_string(),
            ('s', _) => "%S".to_string(),
            ('S', n) => format!("%{}f", n.min(9)),
            ('a', _) => "%p".to_string(),
            ('E', 1..=3) => "%a".to_string(),
            ('E', _) => "%A".to_string(),
            ('Z', _) => "%z".to_string(),
            ('X', _) | ('x', _) => "%:z".to_string(),
            _ => {
                for _ in 0..run {
                    push_literal(&mut out, c);
                }
                i += run;
                continue;
            }
        };
        out.push_str(&spec);
        i += run;
    }
    out
}

fn push_literal(out: &mut String, c: char) {
    if c == '%' {
        out.push_str("%%");
    } else {
        out.push(c);
    }
}

/// Milliseconds since the epoch of `TO_TIMESTAMP(text[, pattern])`: without a pattern,
/// Flink's default `yyyy-M[M]-d[d][ H[H]:m[m]:s[s][.fraction]]`; with one, the Java pattern,
/// falling back (as Flink does) to `java.sql.Timestamp.valueOf` / `Date.valueOf`.
fn parse_millis(text: &str, pattern: Option<&str>) -> Option<i64> {
    let parsed = match pattern {
        Some(p) => NaiveDateTime::parse_from_str(text, &java_to_chrono(p))
            .ok()
            .or_else(|| {
                // A pattern without a time part names a date.
                chrono::NaiveDate::parse_from_str(text, &java_to_chrono(p))
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
            })
            .or_else(|| super::java_time::parse_sql_timestamp(text))?,
        None => super::java_time::parse_default_timestamp(text)?,
    };
    Some(parsed.and_utc().timestamp_millis())
}

/// `ms` (UTC) formatted with a Java pattern; an error for a pattern Java rejects.
fn format_millis(ms: i64, pattern: &str) -> Result<Option<String>> {
    let Some(dt) = DateTime::from_timestamp_millis(ms) else {
        return Ok(None);
    };
    match super::java_time::format(&dt.naive_utc(), pattern) {
        Ok(text) => Ok(Some(text)),
        Err(e) => exec_err!("the date format pattern '{pattern}': {e}"),
    }
}

/// Argument `i` as UTF-8 strings (NULLs stay NULL).
fn strings(args: &[ColumnarValue], i: usize, n: usize) -> Result<Option<ArrayRef>> {
    match args.get(i) {
        Some(a) => Ok(Some(arrow::compute::cast(
            &a.to_array(n)?,
            &DataType::Utf8,
        )?)),
        None => Ok(None),
    }
}

fn text_at(array: &Option<ArrayRef>, row: usize) -> Option<&str> {
    let a = array.as_ref()?.as_string_opt::<i32>()?;
    (!a.is_null(row)).then(|| a.value(row))
}

macro_rules! udf {
    ($name:ident, $sql:literal, $volatility:expr) => {
        #[derive(Debug, PartialEq, Eq, Hash)]
        pub struct $name {
            signature: Signature,
        }

        impl $name {
            pub fn new() -> Self {
                // Any arguments, or none (`UNIX_TIMESTAMP()`, `PROCTIME()`); arity is checked
                // when called, with the function's name.
                Self {
                    signature: Signature::one_of(
                        vec![TypeSignature::Nullary, TypeSignature::VariadicAny],
                        $volatility,
                    ),
                }
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl $name {
            fn sql_name(&self) -> &'static str {
                $sql
            }
        }
    };
}

udf!(DateFormat, "date_format", Volatility::Immutable);
udf!(ToTimestamp, "to_timestamp", Volatility::Immutable);
udf!(FromUnixtime, "from_unixtime", Volatility::Immutable);
udf!(UnixTimestamp, "unix_timestamp", Volatility::Volatile);
udf!(Proctime, "proctime", Volatility::Volatile);
udf!(CurrentWatermark, "current_watermark", Volatility::Volatile);

thread_local! {
    /// The watermark of the input whose rows the operators on this thread are processing
    /// (each job runs on a thread of its own); `None` before the first one.
    static WATERMARK: std::cell::Cell<Option<i64>> = const { std::cell::Cell::new(None) };
}

/// Sets what `CURRENT_WATERMARK` returns on this thread, before rows go through operators.
pub fn set_current_watermark(watermark: Option<i64>) {
    WATERMARK.with(|w| w.set(watermark));
}

/// `CURRENT_WATERMARK(rowtime)`: the watermark the rows see when they are processed (rows
/// before the one that moves it see the earlier value), NULL before the first watermark, of
/// the rowtime's type, as in Flink. `WHERE CURRENT_WATERMARK(ts) IS NULL OR ts >
/// CURRENT_WATERMARK(ts)` keeps the rows that are not late.
impl ScalarUDFImpl for CurrentWatermark {
    fn name(&self) -> &str {
        self.sql_name()
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match args {
            [t @ DataType::Timestamp(..)] => Ok(t.clone()),
            _ => datafusion::common::plan_err!(
                "CURRENT_WATERMARK takes the table's rowtime attribute (a TIMESTAMP(3) or TIMESTAMP_LTZ(3) column)"
            ),
        }
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        check_arity(self.name(), &args.args, 1, 1)?;
        let watermark = WATERMARK
            .with(std::cell::Cell::get)
            // The end of input's watermark is not a time.
            .filter(|w| *w != i64::MAX);
        let ty = args.return_field.data_type().clone();
        let millis = datafusion::common::ScalarValue::TimestampMillisecond(watermark, None);
        Ok(ColumnarValue::Scalar(millis.cast_to(&ty)?))
    }
}

impl ScalarUDFImpl for Proctime {
    fn name(&self) -> &str {
        self.sql_name()
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    /// Flink's processing-time attribute is a TIMESTAMP_LTZ(3).
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Timestamp(
            TimeUnit::Millisecond,
            Some("UTC".into()),
        ))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        check_arity(self.name(), &args.args, 0, 0)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default();
        let array =
            TimestampMillisecondBuilder::with_capacity(args.number_rows).with_timezone("UTC");
        let mut array = array;
        for _ in 0..args.number_rows {
            array.append_value(now);
        }
        Ok(ColumnarValue::Array(Arc::new(array.finish())))
    }
}

fn check_arity(name: &str, args: &[ColumnarValue], min: usize, max: usize) -> Result<()> {
    if args.len() < min || args.len() > max {
        return exec_err!(
            "{} takes {min} to {max} arguments, got {}",
            name.to_uppercase(),
            args.len()
        );
    }
    Ok(())
}

/// A TIMESTAMP, or a string read as `yyyy-MM-dd HH:mm:ss` the lenient way Java's
/// `SimpleDateFormat` reads it (what `DATE_FORMAT` of a STRING does), as epoch milliseconds.
fn timestamps(arg: &ColumnarValue, n: usize) -> Result<Vec<Option<i64>>> {
    let array = arg.to_array(n)?;
    match array.data_type() {
        DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 => {
            let ms =
                arrow::compute::cast(&array, &DataType::Timestamp(TimeUnit::Millisecond, None))?;
            Ok(ms
                .as_primitive::<TimestampMillisecondType>()
                .iter()
                .collect())
        }
        _ => {
            let text = arrow::compute::cast(&array, &DataType::Utf8)?;
            let text = text.as_string::<i32>();
            Ok((0..n)
                .map(|i| {
                    (!text.is_null(i))
                        .then(|| super::java_time::parse_lenient(text.value(i), DEFAULT_PATTERN))
                        .flatten()
                        .map(|t| t.and_utc().timestamp_millis())
                })
                .collect())
        }
    }
}

impl ScalarUDFImpl for DateFormat {
    fn name(&self) -> &str {
        self.sql_name()
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        check_arity(self.name(), &args.args, 2, 2)?;
        let n = args.number_rows;
        let times = timestamps(&args.args[0], n)?;
        let patterns = strings(&args.args, 1, n)?;
        let mut out = StringBuilder::new();
        for (i, t) in times.into_iter().enumerate() {
            match t.zip(text_at(&patterns, i)) {
                Some((t, p)) => out.append_option(format_millis(t, p)?),
                None => out.append_null(),
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

impl ScalarUDFImpl for ToTimestamp {
    fn name(&self) -> &str {
        self.sql_name()
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Timestamp(TimeUnit::Millisecond, None))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        check_arity(self.name(), &args.args, 1, 2)?;
        let n = args.number_rows;
        let text = strings(&args.args, 0, n)?;
        let patterns = strings(&args.args, 1, n)?;
        let mut out = TimestampMillisecondBuilder::new();
        for i in 0..n {
            let pattern = if patterns.is_some() {
                text_at(&patterns, i)
            } else {
                None
            };
            let value = match (text_at(&text, i), patterns.is_some(), pattern) {
                (Some(t), false, _) => parse_millis(t, None),
                (Some(t), true, Some(p)) => parse_millis(t, Some(p)),
                _ => None,
            };
            out.append_option(value);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

impl ScalarUDFImpl for FromUnixtime {
    fn name(&self) -> &str {
        self.sql_name()
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        check_arity(self.name(), &args.args, 1, 2)?;
        let n = args.number_rows;
        let seconds = arrow::compute::cast(&args.args[0].to_array(n)?, &DataType::Int64)?;
        let seconds = seconds.as_primitive::<arrow::datatypes::Int64Type>();
        let patterns = strings(&args.args, 1, n)?;
        let mut out = StringBuilder::new();
        for i in 0..n {
            let pattern = if patterns.is_some() {
                text_at(&patterns, i)
            } else {
                Some(DEFAULT_PATTERN)
            };
            let value = (!seconds.is_null(i))
                .then(|| seconds.value(i).checked_mul(1000))
                .flatten()
                .zip(pattern);
            match value {
                Some((ms, p)) => out.append_option(format_millis(ms, p)?),
                None => out.append_null(),
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

impl ScalarUDFImpl for UnixTimestamp {
    fn name(&self) -> &str {
        self.sql_name()
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        check_arity(self.name(), &args.args, 0, 2)?;
        let n = args.number_rows;
        let mut out = Int64Builder::new();
        if args.args.is_empty() {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or_default();
            for _ in 0..n {
                out.append_value(now);
            }
        } else {
            let text = strings(&args.args, 0, n)?;
            let patterns = strings(&args.args, 1, n)?;
            for i in 0..n {
                let pattern = if patterns.is_some() {
                    text_at(&patterns, i)
                } else {
                    Some(DEFAULT_PATTERN)
                };
                // Java's SimpleDateFormat: lenient, text after the pattern ignored.
                let value = text_at(&text, i)
                    .zip(pattern)
                    .and_then(|(t, p)| super::java_time::parse_lenient(t, p));
                out.append_option(value.map(|t| t.and_utc().timestamp()));
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_patterns() {
        assert_eq!(
            java_to_chrono("yyyy-MM-dd HH:mm:ss.SSS"),
            "%Y-%m-%d %H:%M:%S.%3f"
        );
        assert_eq!(java_to_chrono("yyyy-MM-dd'T'HH:mm"), "%Y-%m-%dT%H:%M");
        assert_eq!(java_to_chrono("d/M/yy 100%"), "%-d/%-m/%y 100%%");
    }

    #[test]
    fn parse_and_format() {
        let ms = parse_millis("2026-02-12 10:30:00", None).unwrap();
        assert_eq!(ms, 1_770_892_200_000);
        assert_eq!(
            parse_millis("2026-02-12 10:30:00.250", None),
            Some(ms + 250)
        );
        assert_eq!(
            parse_millis("12/02/2026", Some("dd/MM/yyyy")),
            Some(1_770_854_400_000)
        );
        assert_eq!(parse_millis("nope", None), None);
        assert_eq!(
            format_millis(ms + 250, "yyyy-MM-dd'T'HH:mm:ss.SSS")
                .unwrap()
                .as_deref(),
            Some("2026-02-12T10:30:00.250")
        );
    }
}
