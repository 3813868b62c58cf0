//! `CAST(x AS STRING)` as Flink writes it, for the types where Arrow's text differs: BOOLEAN
//! is `TRUE`/`FALSE`; TIMESTAMP(p) is `yyyy-MM-dd HH:mm:ss` plus exactly p fraction digits;
//! DOUBLE and FLOAT follow Java's `toString` (plain for 1e-3 <= |x| < 1e7, otherwise
//! `1.5E20`; always a fraction digit); ARRAY is `[a, NULL, c]` with its elements written the
//! same way. The planner rewrites such casts to this function.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use arrow::datatypes::{
    DataType, Float32Type, Float64Type, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
};
use chrono::DateTime;
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FlinkToString {
    signature: Signature,
}

impl FlinkToString {
    pub const NAME: &'static str = "weir_flink_to_string";

    pub fn new() -> Self {
        Self {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }

    /// Whether Flink's text for `dt` differs from Arrow's (so the cast must be rewritten).
    pub fn handles(dt: &DataType) -> bool {
        matches!(
            dt,
            DataType::Boolean
                | DataType::Float32
                | DataType::Float64
                | DataType::Timestamp(..)
                | DataType::List(_)
                | DataType::LargeList(_)
                | DataType::FixedSizeList(..)
        )
    }
}

impl Default for FlinkToString {
    fn default() -> Self {
        Self::new()
    }
}

/// Java's `Double.toString` from the shortest round-trip digits.
pub fn java_double(x: f64, float: bool) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    let abs = x.abs();
    if (1e-3..1e7).contains(&abs) {
        let text = if float {
            format!("{}", x as f32)
        } else {
            format!("{x}")
        };
        return if text.contains('.') {
            text
        } else {
            format!("{text}.0")
        };
    }
    let text = if float {
        format!("{:e}", x as f32)
    } else {
        format!("{x:e}")
    };
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let mantissa = if mantissa.contains('.') {
        mantissa.to_string()
    } else {
        format!("{mantissa}.0")
    };
    format!("{mantissa}E{exponent}")
}

fn timestamp_text(value: i64, unit: &TimeUnit) -> Option<String> {
    let (secs, nanos, digits) = match unit {
        TimeUnit::Second => (value, 0, 0),
        TimeUnit::Millisecond => (
            value.div_euclid(1_000),
            value.rem_euclid(1_000) * 1_000_000,
            3,
        ),
        TimeUnit::Microsecond => (
            value.div_euclid(1_000_000),
            value.rem_euclid(1_000_000) * 1_000,
            6,
        ),
        TimeUnit::Nanosecond => (
            value.div_euclid(1_000_000_000),
            value.rem_euclid(1_000_000_000),
            9,
        ),
    };
    let dt = DateTime::from_timestamp(secs, nanos as u32)?.naive_utc();
    let base = dt.format("%Y-%m-%d %H:%M:%S").to_string();
    if digits == 0 {
        return Some(base);
    }
    let fraction = format!("{nanos:09}");
    Some(format!("{base}.{}", &fraction[..digits]))
}

/// Each value of `array` as Flink's `CAST(x AS STRING)` writes it (`None` for NULL). Arrays
/// are `[a, NULL, c]`, their elements written the same way.
fn texts(array: &ArrayRef) -> Result<Vec<Option<String>>> {
    let mut out = Vec::with_capacity(array.len());
    macro_rules! each {
        ($values:expr, $f:expr) => {{
            let values = $values;
            for i in 0..values.len() {
                out.push((!values.is_null(i)).then(|| $f(values.value(i))).flatten());
            }
        }};
    }
    match array.data_type() {
        DataType::Boolean => each!(array.as_boolean(), |b: bool| Some(
            if b { "TRUE" } else { "FALSE" }.to_string()
        )),
        DataType::Float64 => each!(array.as_primitive::<Float64Type>(), |x: f64| Some(
            java_double(x, false)
        )),
        DataType::Float32 => each!(array.as_primitive::<Float32Type>(), |x: f32| Some(
            java_double(x as f64, true)
        )),
        DataType::Timestamp(unit, _) => {
            let unit = *unit;
            match unit {
                TimeUnit::Second => each!(array.as_primitive::<TimestampSecondType>(), |v| {
                    timestamp_text(v, &unit)
                }),
                TimeUnit::Millisecond => {
                    each!(array.as_primitive::<TimestampMillisecondType>(), |v| {
                        timestamp_text(v, &unit)
                    })
                }
                TimeUnit::Microsecond => {
                    each!(array.as_primitive::<TimestampMicrosecondType>(), |v| {
                        timestamp_text(v, &unit)
                    })
                }
                TimeUnit::Nanosecond => {
                    each!(array.as_primitive::<TimestampNanosecondType>(), |v| {
                        timestamp_text(v, &unit)
                    })
                }
            }
        }
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) => {
            let list = match array.data_type() {
                DataType::List(_) => array.clone(),
                DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
                    arrow::compute::cast(array, &DataType::List(f.clone()))?
                }
                _ => array.clone(),
            };
            let list = list.as_list::<i32>();
            let items = texts(list.values())?;
            let offsets = list.value_offsets();
            for row in 0..list.len() {
                if list.is_null(row) {
                    out.push(None);
                    continue;
                }
                let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
                let parts: Vec<&str> = items[start..end]
                    .iter()
                    .map(|t| t.as_deref().unwrap_or("NULL"))
                    .collect();
                out.push(Some(format!("[{}]", parts.join(", "))));
            }
        }
        _ => {
            let text = arrow::compute::cast(array, &DataType::Utf8)?;
            let text = text.as_string::<i32>();
            out.extend(text.iter().map(|t| t.map(str::to_string)));
        }
    }
    Ok(out)
}

impl ScalarUDFImpl for FlinkToString {
    fn name(&self) -> &str {
        Self::NAME
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [arg] = args.args.as_slice() else {
            return exec_err!("CAST takes one value");
        };
        let array: ArrayRef = arg.to_array(args.number_rows)?;
        let mut out = StringBuilder::new();
        for text in texts(&array)? {
            out.append_option(text);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_formats() {
        assert_eq!(java_double(1.0, false), "1.0");
        assert_eq!(java_double(0.001, false), "0.001");
        assert_eq!(java_double(0.0001, false), "1.0E-4");
        assert_eq!(java_double(1e7, false), "1.0E7");
        assert_eq!(java_double(1.5e20, false), "1.5E20");
        assert_eq!(java_double(-2.25, false), "-2.25");
        assert_eq!(java_double(123456.5, false), "123456.5");
        assert_eq!(
            timestamp_text(1_770_886_800_000, &TimeUnit::Millisecond).as_deref(),
            Some("2026-02-12 09:00:00.000")
        );
        assert_eq!(
            timestamp_text(1_770_886_801_250, &TimeUnit::Millisecond).as_deref(),
            Some("2026-02-12 09:00:01.250")
        );
    }
}
