//! The differential conformance suite without Java: every `conformance/cases/*/job.sql` runs
//! in Weir and its sink rows are compared with Flink 1.20.3's checked-in `flink.jsonl`, the
//! way `scripts/conformance.py` compares them (docs/CONFORMANCE.md).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use weir_engine::{RunOptions, Session};

const GOLDEN: &str = "flink.jsonl";
const KNOWN: &str = "known-difference.md";
const REL_TOL: f64 = 1e-9;

fn cases_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conformance/cases")
}

// ---------------------------------------------------------------------------------------------
// The script: statements and the sink's TIMESTAMP columns.

/// Splits a script at top-level semicolons, skipping `--` comments and quoted text.
fn split_statements(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let (mut statements, mut current, mut i) = (Vec::new(), String::new(), 0);
    while i < chars.len() {
        let c = chars[i];
        if c == '-' && chars.get(i + 1) == Some(&'-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '\'' || c == '`' || c == '"' {
            let mut j = i + 1;
            while j < chars.len() {
                if chars[j] == c {
                    if chars.get(j + 1) == Some(&c) {
                        j += 2;
                        continue;
                    }
                    break;
                }
                j += 1;
            }
            current.extend(&chars[i..(j + 1).min(chars.len())]);
            i = j + 1;
            continue;
        }
        if c == ';' {
            statements.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
        i += 1;
    }
    statements.push(current);
    statements
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The last part of a possibly qualified, possibly back-quoted table name, lower-cased.
fn table_name(word: &str) -> String {
    word.replace('`', "")
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_lowercase()
}

/// `(table, [(column, type)])` of a `CREATE [TEMPORARY] TABLE [IF NOT EXISTS] name (...)`.
fn create_table_columns(statement: &str) -> Option<(String, Vec<(String, String)>)> {
    let open = statement.find('(')?;
    let head: Vec<String> = statement[..open]
        .split_whitespace()
        .map(|w| w.to_uppercase())
        .collect();
    if head.first().map(String::as_str) != Some("CREATE") || !head.iter().any(|w| w == "TABLE") {
        return None;
    }
    let name = table_name(statement[..open].split_whitespace().last()?);
    let (mut depth, mut parts, mut current) = (0, Vec::new(), String::new());
    for c in statement[open..].chars() {
        match c {
            '(' => {
                depth += 1;
                if depth == 1 {
                    continue;
                }
            }
            ')' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    parts.push(current);
    let columns = parts
        .iter()
        .filter_map(|part| {
            let mut words = part.trim().splitn(2, char::is_whitespace);
            let column = words.next()?;
            let ty = words.next()?.trim();
            let keyword = column.to_uppercase();
            if ["WATERMARK", "PRIMARY", "CONSTRAINT"].contains(&keyword.as_str()) {
                return None;
            }
            Some((column.trim_matches('`').to_string(), ty.to_string()))
        })
        .collect();
    Some((name, columns))
}

/// Names of the TIMESTAMP columns of the table the script's `INSERT INTO` writes.
fn sink_timestamp_columns(script: &str) -> Vec<String> {
    let mut tables = HashMap::new();
    let mut target = None;
    for statement in split_statements(script) {
        if let Some((name, columns)) = create_table_columns(&statement) {
            tables.insert(name, columns);
        }
        let words: Vec<&str> = statement.split_whitespace().take(3).collect();
        if words.len() == 3
            && words[0].eq_ignore_ascii_case("INSERT")
            && words[1].eq_ignore_ascii_case("INTO")
        {
            target = Some(table_name(words[2]));
        }
    }
    let columns = target.and_then(|t| tables.remove(&t)).unwrap_or_default();
    columns
        .into_iter()
        .filter(|(_, ty)| ty.to_uppercase().starts_with("TIMESTAMP"))
        .map(|(name, _)| name)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Values compared by meaning: numbers as f64 within a relative tolerance, timestamps as
// instants, strings exactly, NULL equal to NULL.

#[derive(Debug, Clone, PartialEq)]
enum Canon {
    Null,
    Bool(bool),
    Num(f64),
    Ts(i128),
    Str(String),
    List(Vec<Canon>),
    Json(String),
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Epoch nanoseconds of `YYYY-MM-DD HH:MM[:SS[.fff]]`, with `T` instead of the space and an
/// optional trailing `Z`.
fn parse_timestamp(text: &str) -> Option<i128> {
    let text = text.strip_suffix('Z').unwrap_or(text);
    let b = text.as_bytes();
    if b.len() < 16 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b' ' || b[10] == b'T') {
        return None;
    }
    let num = |s: &str| -> Option<i64> {
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())
            .flatten()
    };
    let (y, mo, d) = (num(&text[0..4])?, num(&text[5..7])?, num(&text[8..10])?);
    let (h, mi) = (num(&text[11..13])?, num(&text[14..16])?);
    if b[13] != b':' {
        return None;
    }
    let (mut s, mut nanos) = (0, 0i128);
    let rest = &text[16..];
    if !rest.is_empty() {
        let rest = rest.strip_prefix(':')?;
        let (secs, frac) = rest.split_once('.').unwrap_or((rest, ""));
        if secs.len() != 2 || frac.len() > 9 {
            return None;
        }
        s = num(secs)?;
        if !frac.is_empty() {
            nanos = i128::from(num(&format!("{frac:0<9}"))?);
        }
    }
    let seconds = days_from_civil(y, mo, d) * 86_400 + h * 3_600 + mi * 60 + s;
    Some(i128::from(seconds) * 1_000_000_000 + nanos)
}

fn canon_value(value: &Value, is_timestamp: bool) -> Canon {
    match value {
        Value::Null => Canon::Null,
        Value::Bool(b) => Canon::Bool(*b),
        Value::Number(n) => Canon::Num(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => match is_timestamp.then(|| parse_timestamp(s)).flatten() {
            Some(ns) => Canon::Ts(ns),
            None => Canon::Str(s.clone()),
        },
        Value::Array(items) => Canon::List(items.iter().map(|v| canon_value(v, false)).collect()),
        Value::Object(_) => Canon::Json(value.to_string()),
    }
}

fn values_equal(a: &Canon, b: &Canon) -> bool {
    match (a, b) {
        (Canon::Num(x), Canon::Num(y)) => {
            x == y || (x.is_nan() && y.is_nan()) || (x - y).abs() <= REL_TOL * x.abs().max(y.abs())
        }
        (Canon::List(x), Canon::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_equal(p, q))
        }
        _ => a == b,
    }
}

type Row = serde_json::Map<String, Value>;
type CanonRow = Vec<(String, Canon)>;

fn canon_row(row: &Row, ts_columns: &[String]) -> CanonRow {
    let mut out: CanonRow = row
        .iter()
        .map(|(k, v)| (k.clone(), canon_value(v, ts_columns.contains(k))))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn rows_equal(a: &CanonRow, b: &CanonRow) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|((ka, va), (kb, vb))| ka == kb && values_equal(va, vb))
}

/// Rows of `expected` that `actual` lacks and rows of `actual` that `expected` lacks, as
/// multisets.
fn compare(expected: &[Row], actual: &[Row], ts_columns: &[String]) -> (Vec<Row>, Vec<Row>) {
    let actual_canon: Vec<CanonRow> = actual.iter().map(|r| canon_row(r, ts_columns)).collect();
    let mut used = vec![false; actual.len()];
    let mut missing = Vec::new();
    for row in expected {
        let e = canon_row(row, ts_columns);
        match (0..actual.len()).find(|&j| !used[j] && rows_equal(&e, &actual_canon[j])) {
            Some(j) => used[j] = true,
            None => missing.push(row.clone()),
        }
    }
    let extra = (0..actual.len())
        .filter(|&j| !used[j])
        .map(|j| actual[j].clone())
        .collect();
    (missing, extra)
}

// ---------------------------------------------------------------------------------------------

fn read_jsonl(path: &Path, rows: &mut Vec<Row>) {
    let text = std::fs::read_to_string(path).unwrap();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(Value::Object(row)) => rows.push(row),
            other => panic!("{}:{}: not a JSON object: {other:?}", path.display(), n + 1),
        }
    }
}

/// Rows of the committed files under `dir`; hidden (in-progress) files are skipped.
fn read_output(dir: &Path, rows: &mut Vec<Row>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    paths.sort();
    for path in paths {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        if path.is_dir() {
            read_output(&path, rows);
        } else {
            read_jsonl(&path, rows);
        }
    }
}

fn show(rows: &[Row]) -> String {
    let mut text: Vec<String> = rows
        .iter()
        .take(4)
        .map(|r| Value::Object(r.clone()).to_string())
        .collect();
    if rows.len() > 4 {
        text.push(format!("... ({} rows)", rows.len()));
    }
    text.join("; ")
}

/// Runs one case in Weir: `Ok(None)` when its rows match Flink's, `Ok(Some(how))` when they
/// differ, `Err` when the script fails.
fn run_case(dir: &Path) -> Result<Option<String>, String> {
    let script = std::fs::read_to_string(dir.join("job.sql")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let output = out.path().join("output");
    let vars = HashMap::from([
        (
            "INPUT".to_string(),
            dir.join("input").to_string_lossy().to_string(),
        ),
        ("OUTPUT".to_string(), output.to_string_lossy().to_string()),
    ]);
    let mut session = Session::new(RunOptions {
        base_dir: dir.to_path_buf(),
        print_to_stdout: false,
        vars,
        ..RunOptions::default()
    });
    session.execute(&script).map_err(|e| e.to_string())?;
    let mut actual = Vec::new();
    read_output(&output, &mut actual);
    let mut expected = Vec::new();
    read_jsonl(&dir.join(GOLDEN), &mut expected);
    let (missing, extra) = compare(&expected, &actual, &sink_timestamp_columns(&script));
    if missing.is_empty() && extra.is_empty() {
        return Ok(None);
    }
    let mut how = Vec::new();
    if !missing.is_empty() {
        how.push(format!("Flink only: {}", show(&missing)));
    }
    if !extra.is_empty() {
        how.push(format!("Weir only: {}", show(&extra)));
    }
    Ok(Some(how.join("\n    ")))
}

#[test]
fn conformance_cases_match_flink_golden_files() {
    let root = cases_dir();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("job.sql").is_file())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 30,
        "expected the conformance cases in {}",
        root.display()
    );
    let (mut passing, mut known, mut failures) = (0, 0, Vec::new());
    for dir in &cases {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let is_known = dir.join(KNOWN).is_file();
        match (run_case(dir), is_known) {
            (Ok(None), false) => passing += 1,
            (Ok(None), true) => failures.push(format!(
                "{name}: matches Flink now; delete its {KNOWN} (and update docs/CONFORMANCE.md)"
            )),
            (Ok(Some(_)) | Err(_), true) => known += 1,
            (Ok(Some(how)), false) => failures.push(format!("{name}: rows differ\n    {how}")),
            (Err(e), false) => failures.push(format!("{name}: Weir failed: {e}")),
        }
    }
    println!(
        "conformance: {passing}/{} cases match Flink 1.20.3; {known} known difference(s)",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} conformance case(s) fail ({passing} pass, {known} known differences):\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn timestamps_and_numbers_compare_by_value() {
    assert_eq!(
        parse_timestamp("2026-02-12 10:15:00"),
        parse_timestamp("2026-02-12T10:15:00.000Z")
    );
    assert_eq!(
        parse_timestamp("1970-01-01 00:00:01.5"),
        Some(1_500_000_000)
    );
    assert_eq!(
        parse_timestamp("2026-02-12 10:15"),
        parse_timestamp("2026-02-12 10:15:00")
    );
    assert_eq!(parse_timestamp("10:15:00"), None);
    assert!(values_equal(
        &Canon::Num(2.0),
        &Canon::Num(2.000_000_000_000_1)
    ));
    assert!(!values_equal(&Canon::Num(2.0), &Canon::Num(2.5)));
    let row = |text: &str| match serde_json::from_str(text).unwrap() {
        Value::Object(r) => r,
        _ => unreachable!(),
    };
    let ts = vec!["t".to_string()];
    let flink = [
        row(r#"{"t":"2026-02-12 10:15:00","n":1}"#),
        row(r#"{"t":"2026-02-12 10:15:00","n":1}"#),
    ];
    let weir = [
        row(r#"{"n":1.0,"t":"2026-02-12 10:15:00.000"}"#),
        row(r#"{"n":1,"t":"2026-02-12 10:15:00.001"}"#),
    ];
    let (missing, extra) = compare(&flink, &weir, &ts);
    assert_eq!((missing.len(), extra.len()), (1, 1));
    assert_eq!(
        sink_timestamp_columns(
            "-- c;\nCREATE TABLE `out` (a TIMESTAMP(3), b DECIMAL(10, 2), `c` TIMESTAMP_LTZ(3), WATERMARK FOR a AS a) WITH ('x' = ';');\nINSERT INTO out SELECT 1"
        ),
        vec!["a".to_string(), "c".to_string()]
    );
}
