//! Flink's string functions where DataFusion lacks them or counts differently: `SUBSTRING`
//! (a start of 0 means 1, a negative start counts from the end), `LOCATE`, `INITCAP` (only
//! ASCII letters and digits make words), `REGEXP_EXTRACT`, `REGEXP_REPLACE` (every match, the
//! replacement taken literally) and `SPLIT_INDEX`. Positions count characters, from 1.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int32Array, StringArray};
use arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::ScalarUDF;

use super::udf::{self, Udf};

fn utf8(_: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Utf8)
}

fn int(_: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Int32)
}

/// Coerces `(STRING..., INT...)`: `strings` leading string arguments, then integers, with
/// `min`..=`max` arguments in all.
fn strings_then_ints(
    name: &str,
    types: &[DataType],
    strings: usize,
    min: usize,
    max: usize,
) -> Result<Vec<DataType>> {
    udf::arity(name, types, min, max)?;
    types
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if i < strings {
                udf::string_arg(name, i, t)
            } else {
                udf::integer_arg(name, i, t)
            }
        })
        .collect()
}

/// Flink's `SUBSTRING(s, start[, length])` on characters (`BinaryStringDataUtil.substringSQL`).
pub fn substring(s: &str, start: i64, length: Option<i64>) -> Option<String> {
    if length.is_some_and(|l| l < 0) {
        return None;
    }
    let chars: Vec<char> = s.chars().collect();
    let count = chars.len() as i64;
    let from = if start > 0 {
        start - 1
    } else if start < 0 {
        count + start
    } else {
        0
    };
    if from >= count || from < 0 {
        return Some(String::new());
    }
    let end = match length {
        Some(l) if count - from >= l => from + l,
        _ => count,
    };
    Some(chars[from as usize..end as usize].iter().collect())
}

fn substring_eval(args: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let start = udf::integers(&args[1])?;
    let length = match args.get(2) {
        Some(a) => Some(udf::integers(a)?),
        None => None,
    };
    let out: StringArray = (0..n)
        .map(|i| {
            let s = udf::text(&args[0], i)?;
            let length = match &length {
                Some(l) => Some(l[i]?),
                None => None,
            };
            substring(s, start[i]?, length)
        })
        .collect();
    Ok(Arc::new(out))
}

/// `LOCATE(needle, haystack[, from])`: the 1-based character position of the first match at or
/// after `from`, 0 when there is none; an empty needle is at 1.
pub fn locate(needle: &str, haystack: &str, from: i64) -> i32 {
    if needle.is_empty() {
        return 1;
    }
    let skip = (from - 1).max(0) as usize;
    let Some((byte, _)) = haystack.char_indices().nth(skip) else {
        return 0;
    };
    match haystack[byte..].find(needle) {
        Some(at) => (skip + haystack[byte..byte + at].chars().count() + 1) as i32,
        None => 0,
    }
}

fn locate_eval(args: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let from = match args.get(2) {
        Some(a) => Some(udf::integers(a)?),
        None => None,
    };
    let out: Int32Array = (0..n)
        .map(|i| {
            let from = match &from {
                Some(f) => f[i]?,
                None => 1,
            };
            Some(locate(
                udf::text(&args[0], i)?,
                udf::text(&args[1], i)?,
                from,
            ))
        })
        .collect();
    Ok(Arc::new(out))
}

/// `INITCAP`: the first ASCII letter or digit after anything else is upper-cased, the ASCII
/// letters after it lower-cased; every other character ends a word and is kept as it is.
pub fn initcap(s: &str) -> String {
    let mut start = true;
    s.chars()
        .map(|c| {
            let word = c.is_ascii_alphanumeric();
            let out = match (start, word) {
                (true, true) => c.to_ascii_uppercase(),
                (false, true) => c.to_ascii_lowercase(),
                _ => c,
            };
            start = !word;
            out
        })
        .collect()
}

fn initcap_eval(args: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let out: StringArray = (0..n)
        .map(|i| udf::text(&args[0], i).map(initcap))
        .collect();
    Ok(Arc::new(out))
}

/// A compiled regular expression per distinct pattern text of a batch (usually one).
struct Patterns {
    last: Option<(String, Option<regex::Regex>)>,
}

impl Patterns {
    fn new() -> Self {
        Self { last: None }
    }

    /// The pattern compiled, or `None` when it is not a valid expression (Flink then gives
    /// NULL).
    fn get(&mut self, pattern: &str) -> Option<&regex::Regex> {
        let fresh = !matches!(&self.last, Some((p, _)) if p == pattern);
        if fresh {
            self.last = Some((pattern.to_string(), regex::Regex::new(pattern).ok()));
        }
        self.last.as_ref().and_then(|(_, r)| r.as_ref())
    }
}

/// `REGEXP_EXTRACT(s, pattern[, group])`: the group (0, the default, is the whole match) of
/// the first match; NULL without a match or for a group the pattern does not have.
fn regexp_extract_eval(args: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let group = match args.get(2) {
        Some(a) => Some(udf::integers(a)?),
        None => None,
    };
    let mut patterns = Patterns::new();
    let out: StringArray = (0..n)
        .map(|i| {
            let s = udf::text(&args[0], i)?;
            let group = match &group {
                Some(g) => usize::try_from(g[i]?).ok()?,
                None => 0,
            };
            let re = patterns.get(udf::text(&args[1], i)?)?;
            let captures = re.captures(s)?;
            if group >= captures.len() {
                return None;
            }
            // A group that took no part in the match is NULL, as in Java.
            captures.get(group).map(|m| m.as_str().to_string())
        })
        .collect();
    Ok(Arc::new(out))
}

/// `REGEXP_REPLACE(s, pattern, replacement)`: every match replaced by the replacement text as
/// it is (`$1` is not a group reference, as in Flink).
fn regexp_replace_eval(args: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let mut patterns = Patterns::new();
    let out: StringArray = (0..n)
        .map(|i| {
            let s = udf::text(&args[0], i)?;
            let replacement = udf::text(&args[2], i)?;
            let re = patterns.get(udf::text(&args[1], i)?)?;
            Some(re.replace_all(s, regex::NoExpand(replacement)).into_owned())
        })
        .collect();
    Ok(Arc::new(out))
}

/// `SPLIT_INDEX(s, separator, index)`: the 0-based piece of `s` split at every `separator`
/// (empty pieces kept; an empty separator splits at whitespace); NULL out of range.
pub fn split_index(s: &str, separator: &str, index: i64) -> Option<String> {
    let index = usize::try_from(index).ok()?;
    if s.is_empty() {
        return None;
    }
    if separator.is_empty() {
        return s.split(char::is_whitespace).nth(index).map(str::to_string);
    }
    s.split(separator).nth(index).map(str::to_string)
}

fn split_index_eval(args: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let index = udf::integers(&args[2])?;
    let out: StringArray = (0..n)
        .map(|i| split_index(udf::text(&args[0], i)?, udf::text(&args[1], i)?, index[i]?))
        .collect();
    Ok(Arc::new(out))
}

/// The functions of this module.
pub fn functions() -> Vec<ScalarUDF> {
    vec![
        // SUBSTRING(s FROM i FOR n) and SUBSTRING(s, i, n) are planned as substr(s, i, n).
        Udf::new(
            "substr",
            |name, t| strings_then_ints(name, t, 1, 2, 3),
            utf8,
            substring_eval,
        )
        .with_aliases(&["substring"]),
        Udf::new(
            "locate",
            |name, t| strings_then_ints(name, t, 2, 2, 3),
            int,
            locate_eval,
        ),
        Udf::new(
            "initcap",
            |name, t| strings_then_ints(name, t, 1, 1, 1),
            utf8,
            initcap_eval,
        ),
        Udf::new(
            "regexp_extract",
            |name, t| strings_then_ints(name, t, 2, 2, 3),
            utf8,
            regexp_extract_eval,
        ),
        Udf::new(
            "regexp_replace",
            |name, t| strings_then_ints(name, t, 3, 3, 3),
            utf8,
            regexp_replace_eval,
        ),
        Udf::new(
            "split_index",
            |name, t| strings_then_ints(name, t, 2, 3, 3),
            utf8,
            split_index_eval,
        ),
    ]
    .into_iter()
    .map(ScalarUDF::from)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substring_counts_like_flink() {
        assert_eq!(substring("hello", 0, Some(2)).as_deref(), Some("he"));
        assert_eq!(substring("hello", -2, None).as_deref(), Some("lo"));
        assert_eq!(substring("hello", -3, Some(2)).as_deref(), Some("ll"));
        assert_eq!(substring("hello", 9, None).as_deref(), Some(""));
        assert_eq!(substring("hello", -10, Some(12)).as_deref(), Some(""));
        assert_eq!(substring("hello", 2, Some(-1)), None);
        assert_eq!(substring("Zoë!", 3, Some(1)).as_deref(), Some("ë"));
    }

    #[test]
    fn locate_and_initcap() {
        assert_eq!(locate("b", "abcb", 3), 4);
        assert_eq!(locate("b", "abcb", 0), 2);
        assert_eq!(locate("", "abc", 9), 1);
        assert_eq!(locate("b", "abcb", 9), 0);
        assert_eq!(locate("é", "ÉCOLE élan", 1), 7);
        assert_eq!(
            initcap("hello wORLD-foo bar_baz 3rd"),
            "Hello World-Foo Bar_Baz 3rd"
        );
        assert_eq!(initcap("ÉCOLE élan"), "ÉCole éLan");
    }

    #[test]
    fn split_pieces() {
        assert_eq!(split_index("a,,c", ",", 1).as_deref(), Some(""));
        assert_eq!(split_index(",a,", ",", 2).as_deref(), Some(""));
        assert_eq!(split_index("a::b::c", "::", 2).as_deref(), Some("c"));
        assert_eq!(split_index("a,b", ",", 2), None);
        assert_eq!(split_index("a,b", ",", -1), None);
        assert_eq!(split_index("", ",", 0), None);
        assert_eq!(split_index("a b", "", 1).as_deref(), Some("b"));
    }
}
