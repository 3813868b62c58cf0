//! Flink's calendar functions: `TIMESTAMPADD`, `TIMESTAMPDIFF`, `FLOOR`/`CEIL(x TO unit)`,
//! `EXTRACT(unit FROM x)` and `YEAR()` ... `SECOND()`, `TO_TIMESTAMP_LTZ(n, 0|3)` and
//! `TO_DATE`. The SQL front end turns the unit keywords into string literals
//! (`sql::functions`), so each function here takes its unit as a literal first argument.
//! Times are UTC (the only `table.local-time-zone` Weir accepts).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Date32Array, Int32Array, Int64Array, TimestampMicrosecondArray,
    TimestampMillisecondArray, TimestampNanosecondArray, TimestampSecondArray,
};
use arrow::datatypes::{DataType, Float64Type, TimeUnit};
use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::ScalarUDF;

use super::udf::{self, literal_text, Udf};

/// The time units of `TIMESTAMPADD`, `TIMESTAMPDIFF`, `FLOOR` and `CEIL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Millisecond,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Unit {
    pub fn parse(text: &str) -> Option<Unit> {
        let text = text.trim().to_ascii_uppercase();
        let text = text.strip_prefix("SQL_TSI_").unwrap_or(&text);
        Some(match text {
            "MILLISECOND" => Unit::Millisecond,
            "SECOND" => Unit::Second,
            "MINUTE" => Unit::Minute,
            "HOUR" => Unit::Hour,
            "DAY" => Unit::Day,
            "WEEK" => Unit::Week,
            "MONTH" => Unit::Month,
            "QUARTER" => Unit::Quarter,
            "YEAR" => Unit::Year,
            _ => return None,
        })
    }

    /// The unit's length in milliseconds, for the units of fixed length.
    fn millis(self) -> Option<i64> {
        Some(match self {
            Unit::Millisecond => 1,
            Unit::Second => 1_000,
            Unit::Minute => 60_000,
            Unit::Hour => 3_600_000,
            Unit::Day => 86_400_000,
            Unit::Week => 7 * 86_400_000,
            _ => return None,
        })
    }

    /// The unit in months, for the calendar units.
    fn months(self) -> Option<i64> {
        Some(match self {
            Unit::Month => 1,
            Unit::Quarter => 3,
            Unit::Year => 12,
            _ => return None,
        })
    }

    /// Whether the result of adding it to a DATE is still a DATE.
    fn whole_days(self) -> bool {
        !matches!(
            self,
            Unit::Millisecond | Unit::Second | Unit::Minute | Unit::Hour
        )
    }
}

/// The unit in argument `i`, which must be a literal naming one of `allowed`.
fn unit_arg(name: &str, args: &[Option<&ScalarValue>], allowed: &[Unit]) -> Result<Unit> {
    let text = literal_text(name, "time unit", args.first())?;
    match Unit::parse(&text) {
        Some(u) if allowed.contains(&u) => Ok(u),
        _ => plan_err!("{} does not take the time unit {text}", name.to_uppercase()),
    }
}

const ADD_UNITS: &[Unit] = &[
    Unit::Second,
    Unit::Minute,
    Unit::Hour,
    Unit::Day,
    Unit::Week,
    Unit::Month,
    Unit::Quarter,
    Unit::Year,
];
const ROUND_UNITS: &[Unit] = &[
    Unit::Millisecond,
    Unit::Second,
    Unit::Minute,
    Unit::Hour,
    Unit::Day,
    Unit::Week,
    Unit::Month,
    Unit::Quarter,
    Unit::Year,
];

// ---------------------------------------------------------------------------------------------
// DATE and TIMESTAMP arrays as date-times.

fn per_second(unit: TimeUnit) -> i64 {
    match unit {
        TimeUnit::Second => 1,
        TimeUnit::Millisecond => 1_000,
        TimeUnit::Microsecond => 1_000_000,
        TimeUnit::Nanosecond => 1_000_000_000,
    }
}

fn to_datetime(value: i64, unit: TimeUnit) -> Option<NaiveDateTime> {
    let ps = per_second(unit);
    let secs = value.div_euclid(ps);
    let nanos = value.rem_euclid(ps) * (1_000_000_000 / ps);
    DateTime::from_timestamp(secs, nanos as u32).map(|d| d.naive_utc())
}

fn from_datetime(dt: NaiveDateTime, unit: TimeUnit) -> Option<i64> {
    let utc = dt.and_utc();
    let ps = per_second(unit);
    utc.timestamp()
        .checked_mul(ps)?
        .checked_add(utc.timestamp_subsec_nanos() as i64 / (1_000_000_000 / ps))
}

const EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

/// A DATE or TIMESTAMP array as date-times (a DATE at midnight).
fn read(array: &ArrayRef) -> Result<Vec<Option<NaiveDateTime>>> {
    match array.data_type() {
        DataType::Date32 => Ok(array
            .as_primitive::<arrow::datatypes::Date32Type>()
            .iter()
            .map(|d| {
                d.and_then(|d| EPOCH.checked_add_signed(Duration::try_days(d as i64)?))
                    .map(|d| d.and_time(NaiveTime::MIN))
            })
            .collect()),
        DataType::Timestamp(unit, _) => {
            let unit = *unit;
            let raw = arrow::compute::cast(array, &DataType::Int64)?;
            Ok(raw
                .as_primitive::<arrow::datatypes::Int64Type>()
                .iter()
                .map(|v| v.and_then(|v| to_datetime(v, unit)))
                .collect())
        }
        DataType::Null => Ok(vec![None; array.len()]),
        other => exec_err!("expected a DATE or TIMESTAMP, got {other}"),
    }
}

/// Date-times as an array of `dt` (DATE or TIMESTAMP).
fn write(values: Vec<Option<NaiveDateTime>>, dt: &DataType) -> Result<ArrayRef> {
    Ok(match dt {
        DataType::Date32 => Arc::new(Date32Array::from(
            values
                .into_iter()
                .map(|v| v.and_then(|v| i32::try_from((v.date() - EPOCH).num_days()).ok()))
                .collect::<Vec<_>>(),
        )),
        DataType::Timestamp(unit, tz) => {
            let raw: Vec<Option<i64>> = values
                .into_iter()
                .map(|v| v.and_then(|v| from_datetime(v, *unit)))
                .collect();
            match unit {
                TimeUnit::Second => {
                    Arc::new(TimestampSecondArray::from(raw).with_timezone_opt(tz.clone()))
                }
                TimeUnit::Millisecond => {
                    Arc::new(TimestampMillisecondArray::from(raw).with_timezone_opt(tz.clone()))
                }
                TimeUnit::Microsecond => {
                    Arc::new(TimestampMicrosecondArray::from(raw).with_timezone_opt(tz.clone()))
                }
                TimeUnit::Nanosecond => {
                    Arc::new(TimestampNanosecondArray::from(raw).with_timezone_opt(tz.clone()))
                }
            }
        }
        other => return exec_err!("cannot write date-times as {other}"),
    })
}

// ---------------------------------------------------------------------------------------------
// Calendar arithmetic.

/// `t` plus `months` months; the day is clamped to the last day of the month it lands in.
fn add_months(t: NaiveDateTime, months: i64) -> Option<NaiveDateTime> {
    let date = if months >= 0 {
        t.date()
            .checked_add_months(Months::new(u32::try_from(months).ok()?))?
    } else {
        t.date()
            .checked_sub_months(Months::new(u32::try_from(-months).ok()?))?
    };
    Some(date.and_time(t.time()))
}

/// Whole months from `d1` to `d0` (Calcite's `DateTimeUtils.subtractMonths` on dates).
fn months_between_dates(d0: NaiveDate, d1: NaiveDate) -> i64 {
    if d0 < d1 {
        return -months_between_dates(d1, d0);
    }
    // No month has more than 31 days, so this estimate is never too large.
    let mut m = (d0 - d1).num_days() / 31;
    loop {
        let next = |k: i64| {
            d1.checked_add_months(Months::new(k as u32))
                .unwrap_or(NaiveDate::MAX)
        };
        if next(m) >= d0 || next(m + 1) > d0 {
            return m;
        }
        m += 1;
    }
}

/// Whole months from `t1` to `t0`: a month is not complete until the time of day is reached
/// on the day the month ends (Calcite's `subtractMonths` on timestamps).
fn months_between(t0: NaiveDateTime, t1: NaiveDateTime) -> i64 {
    let mut months = months_between_dates(t0.date(), t1.date());
    if let Some(end) = add_months(t1, months) {
        if end.date() == t0.date() && t0.time() < t1.time() {
            months -= 1;
        }
    }
    months
}

/// `TIMESTAMPDIFF(unit, a, b)` as Flink computes it: an INT, truncated toward zero, that wraps
/// on overflow; WEEK is the wrapped number of seconds divided by 604800.
fn timestamp_diff(unit: Unit, a: NaiveDateTime, b: NaiveDateTime) -> Option<i32> {
    if let Some(months) = unit.months() {
        return Some((months_between(b, a) as i32) / (months as i32));
    }
    let nanos = (b - a).num_nanoseconds().map(i128::from).or_else(|| {
        let d = b - a;
        Some(i128::from(d.num_seconds()) * 1_000_000_000 + i128::from(d.subsec_nanos()))
    })?;
    let millis = nanos / 1_000_000;
    if unit == Unit::Week {
        let seconds = (millis / 1000) as i64 as i32;
        return Some(seconds / 604_800);
    }
    let per = i128::from(unit.millis()?);
    Some((millis / per) as i64 as i32)
}

fn timestamp_add(unit: Unit, n: i64, t: NaiveDateTime) -> Option<NaiveDateTime> {
    if let Some(months) = unit.months() {
        return add_months(t, n.checked_mul(months)?);
    }
    t.checked_add_signed(Duration::try_milliseconds(n.checked_mul(unit.millis()?)?)?)
}

/// The start of the `unit` holding `t` (weeks start on Sunday).
fn floor_to(unit: Unit, t: NaiveDateTime) -> Option<NaiveDateTime> {
    let date = t.date();
    let midnight = |d: NaiveDate| Some(d.and_time(NaiveTime::MIN));
    match unit {
        Unit::Millisecond => {
            let nanos = t.nanosecond() / 1_000_000 * 1_000_000;
            t.with_nanosecond(nanos)
        }
        Unit::Second | Unit::Minute | Unit::Hour => {
            let step = unit.millis()? / 1000;
            let secs = t.and_utc().timestamp();
            DateTime::from_timestamp(secs - secs.rem_euclid(step), 0).map(|d| d.naive_utc())
        }
        Unit::Day => midnight(date),
        Unit::Week => midnight(date - Duration::days(date.weekday().num_days_from_sunday() as i64)),
        Unit::Month => midnight(date.with_day(1)?),
        Unit::Quarter => midnight(NaiveDate::from_ymd_opt(
            date.year(),
            (date.month0() / 3) * 3 + 1,
            1,
        )?),
        Unit::Year => midnight(NaiveDate::from_ymd_opt(date.year(), 1, 1)?),
    }
}

/// The smallest start of a `unit` at or after `t`.
fn ceil_to(unit: Unit, t: NaiveDateTime) -> Option<NaiveDateTime> {
    let floor = floor_to(unit, t)?;
    if floor == t {
        return Some(t);
    }
    timestamp_add(unit, 1, floor)
}

/// `EXTRACT(unit FROM t)` as a BIGINT; `None` for a unit Flink does not have.
pub fn extract(unit: &str, t: NaiveDateTime) -> Option<i64> {
    let date = t.date();
    let year = date.year() as i64;
    let nanos = t.nanosecond().min(999_999_999) as i64;
    Some(match unit {
        "MILLENNIUM" => {
            if year > 0 {
                (year + 999) / 1000
            } else {
                (year - 999) / 1000
            }
        }
        "CENTURY" => {
            if year > 0 {
                (year + 99) / 100
            } else {
                (year - 99) / 100
            }
        }
        "DECADE" => year / 10,
        "YEAR" => year,
        "ISOYEAR" => date.iso_week().year() as i64,
        "QUARTER" => date.month0() as i64 / 3 + 1,
        "MONTH" => date.month() as i64,
        "WEEK" => date.iso_week().week() as i64,
        "DAY" | "DAYOFMONTH" => date.day() as i64,
        "DOY" | "DAYOFYEAR" => date.ordinal() as i64,
        "DOW" | "DAYOFWEEK" => date.weekday().num_days_from_sunday() as i64 + 1,
        "ISODOW" => date.weekday().number_from_monday() as i64,
        "HOUR" => t.hour() as i64,
        "MINUTE" => t.minute() as i64,
        "SECOND" => t.second() as i64,
        "MILLISECOND" => nanos / 1_000_000,
        "MICROSECOND" => nanos / 1_000,
        "NANOSECOND" => nanos,
        // Seconds since 1970, truncated toward zero.
        "EPOCH" => {
            let utc = t.and_utc();
            let secs = utc.timestamp();
            if secs < 0 && utc.timestamp_subsec_nanos() > 0 {
                secs + 1
            } else {
                secs
            }
        }
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// The functions.

fn coerce_unit_temporal(name: &str, types: &[DataType]) -> Result<Vec<DataType>> {
    udf::arity(name, types, 2, 2)?;
    Ok(vec![
        udf::string_arg(name, 0, &types[0])?,
        udf::temporal_arg(name, 1, &types[1])?,
    ])
}

fn add_coerce(name: &str, types: &[DataType]) -> Result<Vec<DataType>> {
    udf::arity(name, types, 3, 3)?;
    Ok(vec![
        udf::string_arg(name, 0, &types[0])?,
        udf::integer_arg(name, 1, &types[1])?,
        udf::temporal_arg(name, 2, &types[2])?,
    ])
}

fn add_returns(types: &[DataType], args: &[Option<&ScalarValue>]) -> Result<DataType> {
    let unit = unit_arg("timestampadd", args, ADD_UNITS)?;
    Ok(match types.get(2) {
        // A DATE plus hours is a TIMESTAMP (Flink's is TIMESTAMP(6)).
        Some(DataType::Date32) if !unit.whole_days() => {
            DataType::Timestamp(TimeUnit::Microsecond, None)
        }
        Some(dt) => dt.clone(),
        None => return plan_err!("TIMESTAMPADD takes a unit, an amount and a time"),
    })
}

fn add_eval(args: &[ArrayRef], _: usize, out: &DataType) -> Result<ArrayRef> {
    let n = udf::integers(&args[1])?;
    let t = read(&args[2])?;
    let values = (0..t.len())
        .map(|i| {
            let unit = udf::text(&args[0], i).and_then(Unit::parse)?;
            timestamp_add(unit, n[i]?, t[i]?)
        })
        .collect();
    write(values, out)
}

fn diff_coerce(name: &str, types: &[DataType]) -> Result<Vec<DataType>> {
    udf::arity(name, types, 3, 3)?;
    Ok(vec![
        udf::string_arg(name, 0, &types[0])?,
        udf::temporal_arg(name, 1, &types[1])?,
        udf::temporal_arg(name, 2, &types[2])?,
    ])
}

fn diff_returns(_: &[DataType], args: &[Option<&ScalarValue>]) -> Result<DataType> {
    unit_arg("timestampdiff", args, ADD_UNITS)?;
    Ok(DataType::Int32)
}

fn diff_eval(args: &[ArrayRef], _: usize, _: &DataType) -> Result<ArrayRef> {
    let a = read(&args[1])?;
    let b = read(&args[2])?;
    let values: Int32Array = (0..a.len())
        .map(|i| {
            let unit = udf::text(&args[0], i).and_then(Unit::parse)?;
            timestamp_diff(unit, a[i]?, b[i]?)
        })
        .collect();
    Ok(Arc::new(values))
}

fn round_returns(types: &[DataType], args: &[Option<&ScalarValue>]) -> Result<DataType> {
    unit_arg("FLOOR/CEIL", args, ROUND_UNITS)?;
    match types.get(1) {
        Some(dt) => Ok(dt.clone()),
        None => plan_err!("FLOOR/CEIL(x TO unit) takes a time and a unit"),
    }
}

fn round_eval(
    args: &[ArrayRef],
    out: &DataType,
    round: fn(Unit, NaiveDateTime) -> Option<NaiveDateTime>,
) -> Result<ArrayRef> {
    let t = read(&args[1])?;
    let values = (0..t.len())
        .map(|i| {
            let unit = udf::text(&args[0], i).and_then(Unit::parse)?;
            round(unit, t[i]?)
        })
        .collect();
    write(values, out)
}

fn extract_returns(_: &[DataType], args: &[Option<&ScalarValue>]) -> Result<DataType> {
    let unit = literal_text("EXTRACT", "time unit", args.first())?;
    if extract(&unit, NaiveDateTime::MIN).is_none() {
        return plan_err!("EXTRACT does not take the time unit {unit}");
    }
    Ok(DataType::Int64)
}

fn extract_eval(args: &[ArrayRef], _: usize, _: &DataType) -> Result<ArrayRef> {
    let t = read(&args[1])?;
    let values: Int64Array = (0..t.len())
        .map(|i| {
            let unit = udf::text(&args[0], i)?.to_ascii_uppercase();
            extract(&unit, t[i]?)
        })
        .collect();
    Ok(Arc::new(values))
}

fn coerce_temporal(name: &str, types: &[DataType]) -> Result<Vec<DataType>> {
    udf::arity(name, types, 1, 1)?;
    Ok(vec![udf::temporal_arg(name, 0, &types[0])?])
}

fn bigint(_: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Int64)
}

fn part(args: &[ArrayRef], unit: &str) -> Result<ArrayRef> {
    let t = read(&args[0])?;
    Ok(Arc::new(
        t.into_iter()
            .map(|t| extract(unit, t?))
            .collect::<Int64Array>(),
    ))
}

fn ltz_coerce(name: &str, types: &[DataType]) -> Result<Vec<DataType>> {
    udf::arity(name, types, 2, 2)?;
    let value = match &types[0] {
        DataType::Null => DataType::Int64,
        dt if dt.is_integer() => DataType::Int64,
        DataType::Float32 | DataType::Float64 => DataType::Float64,
        dt @ DataType::Decimal128(..) => dt.clone(),
        other => {
            return plan_err!(
                "TO_TIMESTAMP_LTZ takes a number, not {}",
                crate::sql::types::SqlType::flink_name_of(other)
            )
        }
    };
    Ok(vec![value, udf::integer_arg(name, 1, &types[1])?])
}

fn ltz_returns(_: &[DataType], args: &[Option<&ScalarValue>]) -> Result<DataType> {
    match args.get(1).copied().flatten().map(|p| p.cast_to(&DataType::Int64)) {
        Some(Ok(ScalarValue::Int64(Some(0 | 3)))) => Ok(DataType::Timestamp(
            TimeUnit::Millisecond,
            Some("UTC".into()),
        )),
        _ => plan_err!(
            "TO_TIMESTAMP_LTZ(numeric, precision) takes a literal precision: 0 for seconds or 3 for milliseconds"
        ),
    }
}

/// Epoch milliseconds of `TO_TIMESTAMP_LTZ(v, precision)`, as Flink computes them: integers
/// are seconds (0) or milliseconds (3); a DOUBLE of seconds keeps its milliseconds; a DECIMAL
/// is truncated to whole seconds or milliseconds.
fn ltz_eval(args: &[ArrayRef], _: usize, _: &DataType) -> Result<ArrayRef> {
    let precision = udf::integers(&args[1])?;
    let v = &args[0];
    let millis: Vec<Option<i64>> = match v.data_type() {
        DataType::Float64 => v
            .as_primitive::<Float64Type>()
            .iter()
            .zip(&precision)
            .map(|(x, p)| match (x?, (*p)?) {
                (x, 0) => Some((x * 1000.0) as i64),
                (x, _) => Some(x as i64),
            })
            .collect(),
        DataType::Decimal128(_, scale) => {
            let unit = 10i128
                .checked_pow(u32::try_from(*scale).unwrap_or(0))
                .unwrap_or(1);
            v.as_primitive::<arrow::datatypes::Decimal128Type>()
                .iter()
                .zip(&precision)
                .map(|(x, p)| {
                    let whole = i64::try_from(x? / unit).ok()?;
                    match (*p)? {
                        0 => whole.checked_mul(1000),
                        _ => Some(whole),
                    }
                })
                .collect()
        }
        _ => udf::integers(v)?
            .into_iter()
            .zip(&precision)
            .map(|(x, p)| match (x?, (*p)?) {
                (x, 0) => x.checked_mul(1000),
                (x, _) => Some(x),
            })
            .collect(),
    };
    Ok(Arc::new(
        TimestampMillisecondArray::from(millis).with_timezone("UTC"),
    ))
}

fn to_date_coerce(name: &str, types: &[DataType]) -> Result<Vec<DataType>> {
    udf::arity(name, types, 1, 2)?;
    types
        .iter()
        .enumerate()
        .map(|(i, t)| udf::string_arg(name, i, t))
        .collect()
}

fn date_type(_: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Date32)
}

/// `TO_DATE(text)` reads `y-m-d` before the first space; `TO_DATE(text, pattern)` reads the
/// pattern as Java's `SimpleDateFormat` does (leniently).
fn to_date_eval(args: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let days = (0..n).map(|i| {
        let text = udf::text(&args[0], i)?;
        let date = match args.get(1) {
            None => super::java_time::parse_date(text)?,
            Some(p) => super::java_time::parse_lenient(text, udf::text(p, i)?)?.date(),
        };
        i32::try_from((date - EPOCH).num_days()).ok()
    });
    Ok(Arc::new(days.collect::<Date32Array>()))
}

/// The functions of this module.
pub fn functions() -> Vec<ScalarUDF> {
    let temporal_parts: [(&'static str, super::udf::EvalFn); 10] = [
        ("year", |a, _, _| part(a, "YEAR")),
        ("quarter", |a, _, _| part(a, "QUARTER")),
        ("month", |a, _, _| part(a, "MONTH")),
        ("week", |a, _, _| part(a, "WEEK")),
        ("dayofyear", |a, _, _| part(a, "DOY")),
        ("dayofmonth", |a, _, _| part(a, "DAY")),
        ("dayofweek", |a, _, _| part(a, "DOW")),
        ("hour", |a, _, _| part(a, "HOUR")),
        ("minute", |a, _, _| part(a, "MINUTE")),
        ("second", |a, _, _| part(a, "SECOND")),
    ];
    let mut out = vec![
        Udf::new("timestampadd", add_coerce, add_returns, add_eval),
        Udf::new("timestampdiff", diff_coerce, diff_returns, diff_eval),
        Udf::new(
            FLOOR_TIME,
            coerce_unit_temporal,
            round_returns,
            |a, _, out| round_eval(a, out, floor_to),
        ),
        Udf::new(
            CEIL_TIME,
            coerce_unit_temporal,
            round_returns,
            |a, _, out| round_eval(a, out, ceil_to),
        ),
        // EXTRACT(unit FROM x) is planned as date_part('unit', x).
        Udf::new(
            "date_part",
            coerce_unit_temporal,
            extract_returns,
            extract_eval,
        )
        .with_aliases(&["datepart"]),
        Udf::new("to_timestamp_ltz", ltz_coerce, ltz_returns, ltz_eval),
        Udf::new("to_date", to_date_coerce, date_type, to_date_eval),
    ];
    for (name, eval) in temporal_parts {
        out.push(Udf::new(name, coerce_temporal, bigint, eval));
    }
    out.into_iter().map(ScalarUDF::from).collect()
}

/// The functions `FLOOR(x TO unit)` and `CEIL(x TO unit)` are rewritten to.
pub const FLOOR_TIME: &str = "weir_floor_time";
pub const CEIL_TIME: &str = "weir_ceil_time";

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").unwrap()
    }

    #[test]
    fn month_differences_follow_calcite() {
        let diff = |a: &str, b: &str| timestamp_diff(Unit::Month, t(a), t(b)).unwrap();
        assert_eq!(diff("2026-01-31 10:00:00", "2026-02-28 10:00:00"), 1);
        assert_eq!(diff("2026-01-31 10:00:00", "2026-02-28 09:00:00"), 0);
        // Not symmetric: the time-of-day rule applies to the later end only.
        assert_eq!(diff("2026-01-15 10:00:00", "2026-03-15 09:59:59"), 1);
        assert_eq!(diff("2026-03-15 09:59:59", "2026-01-15 10:00:00"), -2);
        assert_eq!(
            timestamp_diff(
                Unit::Year,
                t("2026-03-01 00:00:00"),
                t("2024-02-29 00:00:00")
            ),
            Some(-2)
        );
    }

    #[test]
    fn fixed_differences_truncate_and_wrap() {
        let a = t("1970-01-01 00:00:00");
        let b = t("2100-01-01 00:00:00");
        assert_eq!(timestamp_diff(Unit::Second, a, b), Some(-192_522_496));
        assert_eq!(timestamp_diff(Unit::Week, a, b), Some(-318));
        assert_eq!(timestamp_diff(Unit::Day, a, b), Some(47_482));
        assert_eq!(
            timestamp_diff(
                Unit::Minute,
                t("2026-02-12 10:00:00"),
                t("2026-02-12 09:58:30")
            ),
            Some(-1)
        );
    }

    #[test]
    fn adding_clamps_to_month_end() {
        assert_eq!(
            timestamp_add(Unit::Month, 1, t("2026-01-31 10:00:00")),
            Some(t("2026-02-28 10:00:00"))
        );
        assert_eq!(
            timestamp_add(Unit::Quarter, -13, t("2026-03-15 09:59:59")),
            Some(t("2022-12-15 09:59:59"))
        );
    }

    #[test]
    fn rounding_to_units() {
        let x = t("2026-02-12 10:17:33.250");
        assert_eq!(floor_to(Unit::Week, x), Some(t("2026-02-08 00:00:00")));
        assert_eq!(ceil_to(Unit::Week, x), Some(t("2026-02-15 00:00:00")));
        assert_eq!(ceil_to(Unit::Quarter, x), Some(t("2026-04-01 00:00:00")));
        assert_eq!(ceil_to(Unit::Second, x), Some(t("2026-02-12 10:17:34")));
        let boundary = t("2026-02-01 00:00:00");
        assert_eq!(ceil_to(Unit::Month, boundary), Some(boundary));
        assert_eq!(
            floor_to(Unit::Second, t("1969-12-31 23:59:59.500")),
            Some(t("1969-12-31 23:59:59"))
        );
    }

    #[test]
    fn extracting_parts() {
        let x = t("2027-01-01 00:00:00");
        assert_eq!(extract("WEEK", x), Some(53));
        assert_eq!(extract("ISOYEAR", x), Some(2026));
        assert_eq!(extract("DOW", t("2026-02-15 10:00:00")), Some(1));
        assert_eq!(extract("ISODOW", t("2026-02-15 10:00:00")), Some(7));
        assert_eq!(
            extract("MILLISECOND", t("2026-02-12 10:17:33.250")),
            Some(250)
        );
        assert_eq!(extract("CENTURY", x), Some(21));
        assert_eq!(extract("EPOCH", t("1969-12-31 23:59:59.500")), Some(0));
        assert_eq!(extract("FORTNIGHT", x), None);
    }
}
