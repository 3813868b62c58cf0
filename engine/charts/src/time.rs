//! SQL timestamps (`2026-02-12 10:30:00.000`) as milliseconds since the epoch, and the time
//! axis built from them: tick positions on round clock times and their labels (`HH:MM`).
//! Timestamps carry no zone (Flink's `TIMESTAMP(3)`); they are read and shown as written.

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// Parses `YYYY-MM-DD HH:MM:SS[.fraction]` (also with `T` between date and time, a trailing
/// `Z`, or no seconds) into milliseconds since 1970-01-01 00:00:00. `None` when malformed.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let text = text.trim();
    let text = text.strip_suffix('Z').unwrap_or(text);
    let (date, time) = match text.split_once([' ', 'T']) {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let mut date_parts = date.split('-');
    let year: i64 = number(date_parts.next()?, 4, 4)?;
    let month: i64 = number(date_parts.next()?, 1, 2)?;
    let day: i64 = number(date_parts.next()?, 1, 2)?;
    if date_parts.next().is_some() || !(1..=12).contains(&month) {
        return None;
    }
    if day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut millis = days_from_civil(year, month, day) * DAY_MS;
    if let Some(time) = time {
        let (hms, fraction) = match time.split_once('.') {
            Some((hms, fraction)) => (hms, Some(fraction)),
            None => (time, None),
        };
        let mut parts = hms.split(':');
        let hour: i64 = number(parts.next()?, 1, 2)?;
        let minute: i64 = number(parts.next()?, 1, 2)?;
        let second: i64 = match parts.next() {
            Some(s) => number(s, 1, 2)?,
            None => 0,
        };
        if parts.next().is_some() || hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        millis += ((hour * 60 + minute) * 60 + second) * 1000;
        if let Some(fraction) = fraction {
            if fraction.is_empty() || fraction.len() > 9 {
                return None;
            }
            // Keep milliseconds: the first three digits, right-padded with zeros.
            let digits: String = fraction.chars().chain("000".chars()).take(3).collect();
            let _: i64 = number(fraction, 1, 9)?;
            millis += number::<i64>(&digits, 3, 3)?;
        }
    }
    Some(millis)
}

/// A clock time split into its civil parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: i64,
    pub day: i64,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
}

impl Civil {
    /// Splits milliseconds since the epoch into date and time of day.
    pub fn from_millis(millis: i64) -> Self {
        let days = millis.div_euclid(DAY_MS);
        let in_day = millis.rem_euclid(DAY_MS) / 1000;
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: in_day / 3600,
            minute: in_day / 60 % 60,
            second: in_day % 60,
        }
    }

    /// `2026-02-12`
    pub fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// The day number since the epoch, to tell whether two times share a date.
    fn day_key(&self) -> (i64, i64, i64) {
        (self.year, self.month, self.day)
    }
}

/// Tick positions and labels for a time axis.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeAxis {
    /// Ticks in increasing order, each with its label.
    pub ticks: Vec<(i64, String)>,
    /// The date every point falls on, when they all share one; it is then shown once, in the
    /// axis description, and tick labels carry only the time of day.
    pub single_date: Option<String>,
}

impl TimeAxis {
    /// The label of the tick at `millis`, or a plain time of day for any other value.
    pub fn label(&self, millis: i64) -> String {
        match self.ticks.binary_search_by_key(&millis, |(t, _)| *t) {
            Ok(i) => self.ticks[i].1.clone(),
            Err(_) => hh_mm(&Civil::from_millis(millis), false),
        }
    }
}

/// Round steps for ticks, from one second to four weeks.
const STEPS_MS: [i64; 21] = [
    1_000,
    2_000,
    5_000,
    10_000,
    15_000,
    30_000,
    60_000,
    2 * 60_000,
    5 * 60_000,
    10 * 60_000,
    15 * 60_000,
    30 * 60_000,
    3_600_000,
    2 * 3_600_000,
    3 * 3_600_000,
    6 * 3_600_000,
    12 * 3_600_000,
    DAY_MS,
    2 * DAY_MS,
    7 * DAY_MS,
    28 * DAY_MS,
];

/// Ticks on round clock times between `start` and `end` (inclusive), at most `max_ticks` of
/// them (at least two are allowed). Labels are `HH:MM` (`HH:MM:SS` for steps under a minute);
/// when the range spans several dates, the first tick of each date also shows `MM-DD`.
pub fn time_axis(start: i64, end: i64, max_ticks: usize) -> TimeAxis {
    let (start, end) = if start <= end {
        (start, end)
    } else {
        (end, start)
    };
    let max_ticks = max_ticks.max(2) as i64;
    let span = end - start;
    let step = STEPS_MS
        .iter()
        .copied()
        .find(|step| span / step < max_ticks)
        .unwrap_or_else(|| {
            let weeks = span / (7 * DAY_MS) / max_ticks + 1;
            weeks * 7 * DAY_MS
        });
    let with_seconds = step < 60_000;
    let first = start.div_euclid(step) * step + if start.rem_euclid(step) == 0 { 0 } else { step };
    let first_civil = Civil::from_millis(start);
    let last_civil = Civil::from_millis(end);
    let single_date = (first_civil.day_key() == last_civil.day_key()).then(|| first_civil.date());

    let mut ticks = Vec::new();
    let mut previous_day = None;
    let mut t = first;
    while t <= end {
        let civil = Civil::from_millis(t);
        let time = hh_mm(&civil, with_seconds);
        let label = if single_date.is_none() && previous_day != Some(civil.day_key()) {
            format!("{:02}-{:02} {time}", civil.month, civil.day)
        } else {
            time
        };
        previous_day = Some(civil.day_key());
        ticks.push((t, label));
        t += step;
    }
    TimeAxis { ticks, single_date }
}

fn hh_mm(civil: &Civil, with_seconds: bool) -> String {
    if with_seconds {
        format!("{:02}:{:02}:{:02}", civil.hour, civil.minute, civil.second)
    } else {
        format!("{:02}:{:02}", civil.hour, civil.minute)
    }
}

/// Parses an all-digit field of `min..=max` characters.
fn number<T: std::str::FromStr>(text: &str, min: usize, max: usize) -> Option<T> {
    if text.len() < min || text.len() > max || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flink_sql_timestamps() {
        // 2026-02-12 is day 20496 since the epoch.
        let day = 20_496 * DAY_MS;
        assert_eq!(parse_timestamp("2026-02-12 00:00:00.000"), Some(day));
        assert_eq!(
            parse_timestamp("2026-02-12 10:30:00.000"),
            Some(day + 10 * 3_600_000 + 30 * 60_000)
        );
        assert_eq!(
            parse_timestamp("2026-02-12 10:30:05.5"),
            Some(day + 37_805_500)
        );
        assert_eq!(
            parse_timestamp("2026-02-12T10:30:05.123456Z"),
            Some(day + 37_805_123)
        );
        assert_eq!(parse_timestamp("2026-02-12 10:30"), Some(day + 37_800_000));
        assert_eq!(parse_timestamp("2026-02-12"), Some(day));
        assert_eq!(parse_timestamp("1970-01-01 00:00:00"), Some(0));
        assert_eq!(parse_timestamp("1969-12-31 23:59:59"), Some(-1000));
    }

    #[test]
    fn rejects_malformed_timestamps() {
        for bad in [
            "",
            "yesterday",
            "2026-13-01 00:00:00",
            "2026-02-30 00:00:00",
            "2026-02-12 24:00:00",
            "2026-02-12 10:61:00",
            "2026-02-12 10:30:00.",
            "2026-02-12 10:30:00.12a",
            "26-02-12 10:30:00",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn civil_round_trips() {
        for millis in [0, -1, 951_782_400_000, 1_770_892_200_000, 4_102_444_800_000] {
            let c = Civil::from_millis(millis);
            let text = format!("{} {:02}:{:02}:{:02}", c.date(), c.hour, c.minute, c.second);
            assert_eq!(
                parse_timestamp(&text),
                Some(millis.div_euclid(1000) * 1000),
                "{text}"
            );
        }
    }

    #[test]
    fn ticks_fall_on_round_clock_times() {
        let start = parse_timestamp("2026-02-12 10:07:00").unwrap_or_default();
        let end = parse_timestamp("2026-02-12 12:00:00").unwrap_or_default();
        let axis = time_axis(start, end, 8);
        let labels: Vec<&str> = axis.ticks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(
            labels,
            ["10:15", "10:30", "10:45", "11:00", "11:15", "11:30", "11:45", "12:00"]
        );
        assert_eq!(axis.single_date.as_deref(), Some("2026-02-12"));
    }

    #[test]
    fn ticks_show_the_date_when_it_changes() {
        let start = parse_timestamp("2026-02-12 20:00:00").unwrap_or_default();
        let end = parse_timestamp("2026-02-13 04:00:00").unwrap_or_default();
        let axis = time_axis(start, end, 6);
        let labels: Vec<&str> = axis.ticks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(
            labels,
            ["02-12 20:00", "22:00", "02-13 00:00", "02:00", "04:00"]
        );
        assert_eq!(axis.single_date, None);
    }
}
