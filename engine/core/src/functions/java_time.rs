//! Java's date-time text as Flink uses it: formatting with a `DateTimeFormatter` pattern in
//! the US locale (`DATE_FORMAT` of a TIMESTAMP), lenient parsing with a `SimpleDateFormat`
//! pattern (`DATE_FORMAT` of a STRING, `TO_DATE` with a pattern, `UNIX_TIMESTAMP`), and the
//! fixed parsers behind `TO_TIMESTAMP` and `TO_DATE` without a pattern.

use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// One element of a pattern: a run of one letter, or literal text.
#[derive(Debug, PartialEq)]
enum Piece {
    Field(char, usize),
    Literal(String),
}

/// Splits a Java pattern into letter runs and literal text (`'...'` quotes, `''` a quote).
fn pieces(pattern: &str) -> Vec<Piece> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    let mut literal = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            if chars.get(i + 1) == Some(&'\'') {
                literal.push('\'');
                i += 2;
                continue;
            }
            let mut j = i + 1;
            while j < chars.len() {
                if chars[j] == '\'' {
                    if chars.get(j + 1) == Some(&'\'') {
                        literal.push('\'');
                        j += 2;
                        continue;
                    }
                    break;
                }
                literal.push(chars[j]);
                j += 1;
            }
            i = j + 1;
            continue;
        }
        if c.is_ascii_alphabetic() {
            let run = chars[i..].iter().take_while(|d| **d == c).count();
            if !literal.is_empty() {
                out.push(Piece::Literal(std::mem::take(&mut literal)));
            }
            out.push(Piece::Field(c, run));
            i += run;
            continue;
        }
        literal.push(c);
        i += 1;
    }
    if !literal.is_empty() {
        out.push(Piece::Literal(literal));
    }
    out
}

fn padded(value: i64, width: usize) -> String {
    if value < 0 {
        format!("-{:0width$}", -value, width = width)
    } else {
        format!("{value:0width$}")
    }
}

/// A numeric field of at most `max` letters, padded to the letter count.
fn number(letter: char, count: usize, max: usize, value: i64) -> Result<String, String> {
    if count > max {
        return Err(format!("too many pattern letters: {letter}"));
    }
    Ok(padded(value, count))
}

/// Sunday = 0 ... Saturday = 6.
fn sunday_based(date: NaiveDate) -> i64 {
    date.weekday().num_days_from_sunday() as i64
}

/// The US week of the month: weeks start on Sunday, week 1 holds the 1st.
fn week_of_month(date: NaiveDate) -> i64 {
    let first = date.with_day(1).unwrap_or(date);
    (date.day0() as i64 + sunday_based(first)) / 7 + 1
}

/// The US week-based year and week: weeks start on Sunday; week 1 holds January 1st.
fn us_week(date: NaiveDate) -> (i32, i64) {
    let week_start = date - Duration::days(sunday_based(date));
    // The week holding next January 1st is week 1 of the next year.
    let next_year = date.year() + 1;
    if let Some(jan1) = NaiveDate::from_ymd_opt(next_year, 1, 1) {
        if week_start + Duration::days(6) >= jan1 {
            return (next_year, 1);
        }
    }
    let jan1 = date.with_ordinal(1).unwrap_or(date);
    (
        date.year(),
        (date.ordinal0() as i64 + sunday_based(jan1)) / 7 + 1,
    )
}

fn text_field(count: usize, full: &str) -> String {
    match count {
        1..=3 => full.chars().take(3).collect(),
        4 => full.to_string(),
        _ => full.chars().take(1).collect(),
    }
}

/// `dt` formatted as `DateTimeFormatter.ofPattern(pattern)` formats a `LocalDateTime` in the
/// US locale. Letters that need a zone (or that Java does not know) are an error, as in Java.
pub fn format(dt: &NaiveDateTime, pattern: &str) -> Result<String, String> {
    let mut out = String::new();
    let date = dt.date();
    let (hour, minute, second) = (dt.hour() as i64, dt.minute() as i64, dt.second() as i64);
    let nanos = dt.nanosecond().min(999_999_999) as i64;
    let year = date.year() as i64;
    let month = date.month() as i64;
    let quarter = (month - 1) / 3 + 1;
    for piece in pieces(pattern) {
        let (letter, count) = match piece {
            Piece::Literal(text) => {
                // Optional-section brackets print their content.
                out.extend(text.chars().filter(|c| *c != '[' && *c != ']'));
                continue;
            }
            Piece::Field(letter, count) => (letter, count),
        };
        let text = match letter {
            'G' => match count {
                1..=3 => "AD".to_string(),
                4 => "Anno Domini".to_string(),
                _ => "A".to_string(),
            },
            'y' | 'u' | 'Y' => {
                let value = if letter == 'Y' {
                    us_week(date).0 as i64
                } else {
                    year
                };
                if count == 2 {
                    padded(value.rem_euclid(100), 2)
                } else {
                    padded(value, count)
                }
            }
            'Q' | 'q' => match count {
                1 | 2 => padded(quarter, count),
                3 => format!("Q{quarter}"),
                4 => format!(
                    "{quarter}{} quarter",
                    ["st", "nd", "rd", "th"][(quarter - 1) as usize]
                ),
                _ => quarter.to_string(),
            },
            'M' | 'L' => match count {
                1 | 2 => padded(month, count),
                _ => text_field(count, MONTHS[(month - 1) as usize]),
            },
            'w' => number(letter, count, 2, us_week(date).1)?,
            'W' => number(letter, count, 1, week_of_month(date))?,
            'd' => number(letter, count, 2, date.day() as i64)?,
            'D' => number(letter, count, 3, date.ordinal() as i64)?,
            'E' => text_field(count, DAYS[sunday_based(date) as usize]),
            'e' | 'c' => match count {
                1 | 2 => padded(sunday_based(date) + 1, count),
                _ => text_field(count, DAYS[sunday_based(date) as usize]),
            },
            'a' => if hour < 12 { "AM" } else { "PM" }.to_string(),
            'h' => number(letter, count, 2, (hour + 11) % 12 + 1)?,
            'K' => number(letter, count, 2, hour % 12)?,
            'k' => number(letter, count, 2, if hour == 0 { 24 } else { hour })?,
            'H' => number(letter, count, 2, hour)?,
            'm' => number(letter, count, 2, minute)?,
            's' => number(letter, count, 2, second)?,
            'S' => {
                let digits = format!("{nanos:09}");
                let mut fraction: String = digits.chars().take(count).collect();
                while fraction.len() < count {
                    fraction.push('0');
                }
                fraction
            }
            'A' => padded(
                (hour * 3600 + minute * 60 + second) * 1000 + nanos / 1_000_000,
                count,
            ),
            'n' => padded(nanos, count),
            'N' => padded(
                (hour * 3600 + minute * 60 + second) * 1_000_000_000 + nanos,
                count,
            ),
            'V' | 'v' | 'z' | 'Z' | 'O' | 'X' | 'x' => {
                return Err(format!(
                    "pattern letter '{letter}' needs a time zone, and a TIMESTAMP has none"
                ))
            }
            other => return Err(format!("unknown pattern letter: {other}")),
        };
        out.push_str(&text);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Lenient parsing (SimpleDateFormat).

/// The value of each field a lenient parse read.
#[derive(Default)]
struct Fields {
    year: Option<i64>,
    two_digit_year: bool,
    month: Option<i64>,
    day: Option<i64>,
    hour: Option<i64>,
    hour12: Option<i64>,
    pm: Option<bool>,
    minute: Option<i64>,
    second: Option<i64>,
    millis: Option<i64>,
}

fn digits_at(text: &[char], at: usize, max: Option<usize>) -> Option<(i64, usize)> {
    let mut end = at;
    while end < text.len() && text[end].is_ascii_digit() && max.is_none_or(|m| end - at < m) {
        end += 1;
    }
    if end == at {
        return None;
    }
    let value: String = text[at..end].iter().collect();
    Some((value.parse().ok()?, end))
}

/// The index (0-based) of the name in `names` that `text` starts with (case-insensitive,
/// full name first, then its first three letters).
fn name_at(text: &[char], at: usize, names: &[&str]) -> Option<(usize, usize)> {
    let rest: String = text[at..].iter().collect::<String>().to_lowercase();
    for (i, name) in names.iter().enumerate() {
        if rest.starts_with(&name.to_lowercase()) {
            return Some((i, at + name.chars().count()));
        }
    }
    for (i, name) in names.iter().enumerate() {
        let short: String = name.chars().take(3).collect::<String>().to_lowercase();
        if rest.starts_with(&short) {
            return Some((i, at + 3));
        }
    }
    None
}

/// `text` read as `new SimpleDateFormat(pattern).parse(text)` reads it in UTC: numbers may
/// have fewer or more digits than letters, out-of-range fields roll over (month 13 is January
/// of the next year), and text after the pattern is ignored. `None` where Java throws a
/// `ParseException`.
pub fn parse_lenient(text: &str, pattern: &str) -> Option<NaiveDateTime> {
    let text: Vec<char> = text.chars().collect();
    let pieces = pieces(pattern);
    let mut fields = Fields::default();
    let mut at = 0;
    for (index, piece) in pieces.iter().enumerate() {
        match piece {
            Piece::Literal(literal) => {
                for c in literal.chars() {
                    if text.get(at) != Some(&c) {
                        return None;
                    }
                    at += 1;
                }
            }
            Piece::Field(letter, count) => {
                // A number directly followed by another number field reads exactly `count`
                // digits; otherwise as many as there are.
                let abutting = matches!(pieces.get(index + 1), Some(Piece::Field(next, _)) if "yMdHhKkmsSu".contains(*next));
                let width = abutting.then_some(*count);
                match letter {
                    'M' | 'L' if *count >= 3 => {
                        let (i, end) = name_at(&text, at, &MONTHS)?;
                        fields.month = Some(i as i64 + 1);
                        at = end;
                    }
                    'E' => {
                        let (_, end) = name_at(&text, at, &DAYS)?;
                        at = end;
                    }
                    'a' => {
                        let rest: String = text[at..].iter().take(2).collect::<String>();
                        match rest.to_ascii_uppercase().as_str() {
                            "AM" => fields.pm = Some(false),
                            "PM" => fields.pm = Some(true),
                            _ => return None,
                        }
                        at += 2;
                    }
                    'y' | 'u' | 'M' | 'L' | 'd' | 'H' | 'k' | 'h' | 'K' | 'm' | 's' | 'S' => {
                        let (value, end) = digits_at(&text, at, width)?;
                        match letter {
                            'y' | 'u' => {
                                fields.year = Some(value);
                                fields.two_digit_year = *count <= 2 && end - at == 2;
                            }
                            'M' | 'L' => fields.month = Some(value),
                            'd' => fields.day = Some(value),
                            'H' => fields.hour = Some(value),
                            'k' => fields.hour = Some(if value == 24 { 0 } else { value }),
                            'h' => fields.hour12 = Some(if value == 12 { 0 } else { value }),
                            'K' => fields.hour12 = Some(value),
                            'm' => fields.minute = Some(value),
                            's' => fields.second = Some(value),
                            _ => fields.millis = Some(value),
                        }
                        at = end;
                    }
                    _ => return None,
                }
            }
        }
    }
    let mut year = fields.year.unwrap_or(1970);
    if fields.two_digit_year {
        // Java reads two digits into the century that starts 80 years ago.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        let this_year = chrono::DateTime::from_timestamp(now, 0)
            .map(|d| d.year() as i64)
            .unwrap_or(1970);
        year += 2000;
        if year > this_year + 20 {
            year -= 100;
        }
    }
    let hour = match (fields.hour, fields.hour12) {
        (Some(h), _) => h,
        (None, Some(h)) => h + if fields.pm == Some(true) { 12 } else { 0 },
        (None, None) => {
            if fields.pm == Some(true) {
                12
            } else {
                0
            }
        }
    };
    let start = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, 1, 1)?;
    let months = fields.month.unwrap_or(1) - 1;
    let date = if months >= 0 {
        start.checked_add_months(Months::new(u32::try_from(months).ok()?))?
    } else {
        start.checked_sub_months(Months::new(u32::try_from(-months).ok()?))?
    };
    let midnight = date.and_time(NaiveTime::MIN);
    midnight
        .checked_add_signed(Duration::try_days(fields.day.unwrap_or(1) - 1)?)?
        .checked_add_signed(Duration::try_hours(hour)?)?
        .checked_add_signed(Duration::try_minutes(fields.minute.unwrap_or(0))?)?
        .checked_add_signed(Duration::try_seconds(fields.second.unwrap_or(0))?)?
        .checked_add_signed(Duration::try_milliseconds(fields.millis.unwrap_or(0))?)
}

// ---------------------------------------------------------------------------------------------
// Flink's fixed parsers.

/// Digits from `at`, between `min` and `max` of them.
fn digits(text: &[u8], at: usize, min: usize, max: usize) -> Option<(u32, usize)> {
    let mut end = at;
    while end < text.len() && end - at < max && text[end].is_ascii_digit() {
        end += 1;
    }
    if end - at < min {
        return None;
    }
    let value = std::str::from_utf8(&text[at..end]).ok()?.parse().ok()?;
    Some((value, end))
}

fn expect(text: &[u8], at: usize, c: u8) -> Option<usize> {
    (text.get(at) == Some(&c)).then_some(at + 1)
}

/// `TO_TIMESTAMP(text)`: `yyyy-M[M]-d[d]` with an optional ` H[H]:m[m]:s[s]` and an optional
/// fraction of up to nine digits, nothing else (Flink's `DEFAULT_TIMESTAMP_FORMATTER`).
pub fn parse_default_timestamp(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    let (year, at) = digits(b, 0, 4, 9)?;
    let at = expect(b, at, b'-')?;
    let (month, at) = digits(b, at, 1, 2)?;
    let at = expect(b, at, b'-')?;
    let (day, at) = digits(b, at, 1, 2)?;
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    if at == b.len() {
        return Some(date.and_time(NaiveTime::MIN));
    }
    let at = expect(b, at, b' ')?;
    let (hour, at) = digits(b, at, 1, 2)?;
    let at = expect(b, at, b':')?;
    let (minute, at) = digits(b, at, 1, 2)?;
    let at = expect(b, at, b':')?;
    let (second, mut at) = digits(b, at, 1, 2)?;
    let mut nanos = 0;
    if at < b.len() {
        at = expect(b, at, b'.')?;
        let (fraction, end) = digits(b, at, 0, 9).unwrap_or((0, at));
        nanos = fraction * 10u32.pow(9 - (end - at) as u32);
        at = end;
    }
    if at != b.len() {
        return None;
    }
    date.and_hms_nano_opt(hour, minute, second, nanos)
}

/// `java.sql.Timestamp.valueOf(text)` (with a space) or `java.sql.Date.valueOf(text)`: the
/// fallback of `TO_TIMESTAMP(text, pattern)` when the pattern does not match. Days up to 31
/// roll over into the next month, as the deprecated `Date` constructors do.
pub fn parse_sql_timestamp(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    let (date_text, time_text) = match text.split_once(' ') {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let mut parts = date_text.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if y.len() != 4
        || !(1..=2).contains(&m.len())
        || !(1..=2).contains(&d.len())
        || ![y, m, d].iter().all(|s| all_digits(s))
    {
        return None;
    }
    let (year, month, day): (i32, u32, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let first = NaiveDate::from_ymd_opt(year, month, 1)?.and_time(NaiveTime::MIN);
    let date = first.checked_add_signed(Duration::try_days(day - 1)?)?;
    let Some(time) = time_text else {
        return Some(date);
    };
    let mut hms = time.splitn(3, ':');
    let (h, mi, rest) = (hms.next()?, hms.next()?, hms.next()?);
    let (s, fraction) = match rest.split_once('.') {
        Some((s, f)) => (s, Some(f)),
        None => (rest, None),
    };
    let int = |s: &str| -> Option<i64> {
        let body = s.strip_prefix(['+', '-']).unwrap_or(s);
        if all_digits(body) {
            s.parse().ok()
        } else {
            None
        }
    };
    let nanos = match fraction {
        None => 0,
        Some(f) if all_digits(f) && f.len() <= 9 => {
            f.parse::<i64>().ok()? * 10i64.pow(9 - f.len() as u32)
        }
        Some(_) => return None,
    };
    date.checked_add_signed(Duration::try_hours(int(h)?)?)?
        .checked_add_signed(Duration::try_minutes(int(mi)?)?)?
        .checked_add_signed(Duration::try_seconds(int(s)?)?)?
        .checked_add_signed(Duration::nanoseconds(nanos))
}

/// `TO_DATE(text)`: the text before the first space as `y[-m[-d]]` (each part an integer,
/// surrounding spaces allowed), a valid date (Flink's `DateTimeUtils.parseDate`).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = match text.find(' ') {
        Some(space) if space > 0 => &text[..space],
        _ => text,
    };
    let int = |s: &str| -> Option<i32> {
        let s = s.trim();
        let body = s.strip_prefix(['+', '-']).unwrap_or(s);
        if body.is_empty() || !body.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let mut parts = text.splitn(3, '-');
    let year = int(parts.next()?)?;
    let month = parts.next().map(int).unwrap_or(Some(1))?;
    let day = parts.next().map(int).unwrap_or(Some(1))?;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").unwrap()
    }

    #[test]
    fn formats_like_date_time_formatter() {
        let t = at("2026-02-12 10:17:33.005");
        assert_eq!(
            format(&t, "yyyy-MM-dd HH:mm:ss.SSS").unwrap(),
            "2026-02-12 10:17:33.005"
        );
        assert_eq!(
            format(&t, "EEE MMM d, yy h:mm a").unwrap(),
            "Thu Feb 12, 26 10:17 AM"
        );
        assert_eq!(format(&t, "S|SS|SSSS u").unwrap(), "0|00|0050 2026");
        assert_eq!(
            format(&t, "yyyy-MM-dd'T'HH:mm:ss'Z' ''q").unwrap(),
            "2026-02-12T10:17:33Z '1"
        );
        let midnight = at("2026-12-31 00:00:00");
        // Dec 31 2026 is in the week holding Jan 1 2027: week 1 of the US week-based year.
        assert_eq!(
            format(&midnight, "EEEE MMMM D, w W Q QQ").unwrap(),
            "Thursday December 365, 1 5 4 04"
        );
        assert_eq!(
            format(&midnight, "hh KK kk HH H:m:s").unwrap(),
            "12 00 24 00 0:0:0"
        );
        assert!(format(&t, "yyyy z").is_err());
        assert!(format(&t, "ddd").is_err());
    }

    #[test]
    fn lenient_parse_rolls_over_and_ignores_the_rest() {
        let p = "yyyy-MM-dd HH:mm:ss";
        assert_eq!(
            parse_lenient("2026-2-3 4:5:6", p),
            Some(at("2026-02-03 04:05:06"))
        );
        assert_eq!(
            parse_lenient("2026-13-01 00:00:00", p),
            Some(at("2027-01-01 00:00:00"))
        );
        assert_eq!(
            parse_lenient("2026-02-30 10:00:00", p),
            Some(at("2026-03-02 10:00:00"))
        );
        assert_eq!(
            parse_lenient("2026-02-12 10:17:33.250xyz", p),
            Some(at("2026-02-12 10:17:33"))
        );
        assert_eq!(parse_lenient("2026-02-12", p), None);
        assert_eq!(
            parse_lenient("12/02/2026 1:05 PM", "dd/MM/yyyy h:mm a"),
            Some(at("2026-02-12 13:05:00"))
        );
        assert_eq!(
            parse_lenient("20260212", "yyyyMMdd"),
            Some(at("2026-02-12 00:00:00"))
        );
    }

    #[test]
    fn fixed_parsers() {
        assert_eq!(
            parse_default_timestamp("2026-2-3 4:5:6"),
            Some(at("2026-02-03 04:05:06"))
        );
        assert_eq!(
            parse_default_timestamp("2026-02-12 10:17:33.25"),
            Some(at("2026-02-12 10:17:33.250"))
        );
        assert_eq!(
            parse_default_timestamp("2026-02-12"),
            Some(at("2026-02-12 00:00:00"))
        );
        assert_eq!(parse_default_timestamp("2026-13-01 00:00:00"), None);
        assert_eq!(parse_default_timestamp("2026-02-12 10:17:33xyz"), None);
        assert_eq!(parse_default_timestamp("2026-02-12T10:17:33"), None);
        assert_eq!(
            parse_sql_timestamp("2026-02-30 10:00:00"),
            Some(at("2026-03-02 10:00:00"))
        );
        assert_eq!(
            parse_sql_timestamp("2026-2-3"),
            Some(at("2026-02-03 00:00:00"))
        );
        assert_eq!(parse_sql_timestamp("2026-02-03 10:00"), None);
        assert_eq!(
            parse_date("2026-02-12 10:17:33xyz"),
            NaiveDate::from_ymd_opt(2026, 2, 12)
        );
        assert_eq!(parse_date("2026-2-3"), NaiveDate::from_ymd_opt(2026, 2, 3));
        assert_eq!(parse_date("2026"), NaiveDate::from_ymd_opt(2026, 1, 1));
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("not a date"), None);
    }
}
