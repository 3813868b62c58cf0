//! The result table: the first rows a run wrote, with column names and SQL types; numbers
//! right-aligned, NULL dimmed, and a footer saying how many of the rows are shown.

use leptos::prelude::*;
use serde_json::Value;
use weir_api::ResultPage;

#[component]
pub fn ResultTable(#[prop(into)] page: Signal<Option<ResultPage>>) -> impl IntoView {
    move || match page.get() {
        None => view! {
            <div class="empty" id="result-empty">"Run the job to see the rows it writes."</div>
        }
        .into_any(),
        Some(page) => {
            let shown = page.rows.len();
            let total = page.total_rows;
            let head = page
                .columns
                .iter()
                .map(|c| {
                    view! {
                        <th>
                            <div class="col-name">{c.name.clone()}</div>
                            <div class="col-type">{c.data_type.clone()}</div>
                        </th>
                    }
                })
                .collect_view();
            let body = page
                .rows
                .into_iter()
                .map(|row| {
                    let cells = row
                        .iter()
                        .map(|v| {
                            let (text, class) = cell(v);
                            let full = match v {
                                Value::String(s) => s.clone(),
                                other => other.to_string(),
                            };
                            view! { <td class=class title=full>{text}</td> }
                        })
                        .collect_view();
                    view! { <tr>{cells}</tr> }
                })
                .collect_view();
            view! {
                <div class="table-wrap">
                    <table id="result-table">
                        <thead><tr>{head}</tr></thead>
                        <tbody>{body}</tbody>
                    </table>
                </div>
                <div class="table-foot">{format!("Showing {shown} of {total} rows")}</div>
            }
            .into_any()
        }
    }
}

/// A cell's text and CSS class.
fn cell(value: &Value) -> (String, &'static str) {
    match value {
        Value::Null => ("NULL".into(), "null"),
        Value::Bool(b) => (b.to_string(), "bool"),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => (group_thousands(&i.to_string()), "num"),
            (None, Some(f)) => (format_float(f), "num"),
            _ => (n.to_string(), "num"),
        },
        Value::String(s) => (trim_zero_fraction(s).to_owned(), "str"),
        other => (other.to_string(), "str"),
    }
}

/// `2026-02-12 10:00:00.000` as `2026-02-12 10:00:00`: a zero fraction of a second says
/// nothing and costs a column's width. Other strings are left alone.
fn trim_zero_fraction(s: &str) -> &str {
    let b = s.as_bytes();
    let looks_like_timestamp =
        b.len() > 20 && b[4] == b'-' && b[10] == b' ' && b[13] == b':' && b[19] == b'.';
    if looks_like_timestamp && s[20..].bytes().all(|c| c == b'0') {
        &s[..19]
    } else {
        s
    }
}

/// Up to three decimals, without trailing zeros, digits grouped by thousands.
fn format_float(f: f64) -> String {
    let s = format!("{f:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    match s.split_once('.') {
        Some((int, frac)) => format!("{}.{frac}", group_thousands(int)),
        None => group_thousands(s),
    }
}

/// `-1234567` as `-1,234,567`.
fn group_thousands(int: &str) -> String {
    let (sign, digits) = int.split_at(usize::from(int.starts_with('-')));
    let mut out = String::with_capacity(int.len() + digits.len() / 3);
    out.push_str(sign);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_formatted_for_reading() {
        assert_eq!(cell(&Value::Null), ("NULL".into(), "null"));
        assert_eq!(cell(&serde_json::json!(12)), ("12".into(), "num"));
        assert_eq!(cell(&serde_json::json!(0.666_666)), ("0.667".into(), "num"));
        assert_eq!(cell(&serde_json::json!(2.5)), ("2.5".into(), "num"));
        assert_eq!(
            cell(&serde_json::json!(514_877.833_3)),
            ("514,877.833".into(), "num")
        );
        assert_eq!(
            cell(&serde_json::json!(-1_234_567)),
            ("-1,234,567".into(), "num")
        );
        assert_eq!(cell(&serde_json::json!(999)), ("999".into(), "num"));
        assert_eq!(
            cell(&serde_json::json!("acme-health")),
            ("acme-health".into(), "str")
        );
    }
}
