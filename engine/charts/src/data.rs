//! Turns a page of result rows into the series a line chart draws: one series per distinct
//! value of the series column, points (time, value) sorted by time. Every fault in the page
//! (missing column, unreadable value) is reported with the column and row it is in.

use std::collections::BTreeMap;

use serde_json::Value;
use weir_api::ResultPage;

use crate::time::parse_timestamp;
use crate::{Error, LineChartSpec, Result};

/// One line of the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The value of the series column, as text (`(null)` for SQL NULL).
    pub name: String,
    /// (milliseconds since the epoch, value), in increasing time.
    pub points: Vec<(i64, f64)>,
}

/// Everything the drawing code needs: the series, sorted by name, and the data's extent.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartData {
    pub series: Vec<Series>,
    /// Smallest and largest time of any point; `None` when there are no points.
    pub x_extent: Option<(i64, i64)>,
    /// Smallest and largest value of any point; `None` when there are no points.
    pub y_extent: Option<(f64, f64)>,
}

/// Reads the spec's three columns from every row. Rows whose y value is NULL are skipped
/// (a gap, as SQL means it); a NULL time is an error since the point has no place.
pub fn extract(page: &ResultPage, spec: &LineChartSpec) -> Result<ChartData> {
    let x_col = column(page, &spec.x)?;
    let y_col = column(page, &spec.y)?;
    let s_col = column(page, &spec.series)?;

    let mut by_name: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    for (row_index, row) in page.rows.iter().enumerate() {
        let row_number = row_index + 1;
        let cell = |col: usize| row.get(col).unwrap_or(&Value::Null);
        let name = series_name(cell(s_col));
        let points = by_name.entry(name).or_default();
        let Some(y) = number(cell(y_col), &spec.y, row_number)? else {
            continue;
        };
        let x = timestamp(cell(x_col), &spec.x, row_number)?;
        points.push((x, y));
    }

    let mut x_extent: Option<(i64, i64)> = None;
    let mut y_extent: Option<(f64, f64)> = None;
    let series = by_name
        .into_iter()
        .map(|(name, mut points)| {
            points.sort_by_key(|(x, _)| *x);
            for &(x, y) in &points {
                x_extent = Some(x_extent.map_or((x, x), |(lo, hi)| (lo.min(x), hi.max(x))));
                y_extent = Some(y_extent.map_or((y, y), |(lo, hi)| (lo.min(y), hi.max(y))));
            }
            Series { name, points }
        })
        .collect();
    Ok(ChartData {
        series,
        x_extent,
        y_extent,
    })
}

fn column(page: &ResultPage, name: &str) -> Result<usize> {
    page.column_index(name).ok_or_else(|| Error::MissingColumn {
        column: name.to_string(),
        available: page
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

fn series_name(value: &Value) -> String {
    match value {
        Value::Null => "(null)".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn bad(column: &str, row: usize, value: &Value, expected: &'static str) -> Error {
    Error::BadValue {
        column: column.to_string(),
        row,
        value: value.to_string(),
        expected,
    }
}

/// A numeric cell: a JSON number, or a string holding one (DECIMALs may arrive as text).
fn number(value: &Value, column: &str, row: usize) -> Result<Option<f64>> {
    const EXPECTED: &str = "a number";
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_f64()
            .filter(|f| f.is_finite())
            .map(Some)
            .ok_or_else(|| bad(column, row, value, EXPECTED)),
        Value::String(s) => match s.trim().parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Some(f)),
            _ => Err(bad(column, row, value, EXPECTED)),
        },
        _ => Err(bad(column, row, value, EXPECTED)),
    }
}

fn timestamp(value: &Value, column: &str, row: usize) -> Result<i64> {
    const EXPECTED: &str = "a timestamp like 2026-02-12 10:30:00.000";
    value
        .as_str()
        .and_then(parse_timestamp)
        .ok_or_else(|| bad(column, row, value, EXPECTED))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use weir_api::Column;

    fn page(rows: Vec<Vec<Value>>) -> ResultPage {
        let columns = [
            ("window_end", "TIMESTAMP(3)"),
            ("tenant_id", "STRING"),
            ("rate", "DOUBLE"),
        ]
        .into_iter()
        .map(|(name, ty)| Column {
            name: name.into(),
            data_type: ty.into(),
        })
        .collect();
        let total_rows = rows.len() as u64;
        ResultPage {
            columns,
            rows,
            total_rows,
        }
    }

    fn spec() -> LineChartSpec {
        LineChartSpec {
            title: "t".into(),
            x: "window_end".into(),
            y: "rate".into(),
            series: "tenant_id".into(),
        }
    }

    #[test]
    fn groups_rows_by_series_and_sorts_by_time() {
        let data = extract(
            &page(vec![
                vec![json!("2026-02-12 10:30:00.000"), json!("b"), json!(2.0)],
                vec![json!("2026-02-12 10:15:00.000"), json!("b"), json!(1)],
                vec![json!("2026-02-12 10:15:00.000"), json!("a"), json!("0.5")],
                vec![json!("2026-02-12 10:45:00.000"), json!("a"), Value::Null],
            ]),
            &spec(),
        );
        let Ok(data) = data else { panic!("{data:?}") };
        let names: Vec<&str> = data.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(data.series[0].points.len(), 1, "the NULL value is a gap");
        let b: Vec<f64> = data.series[1].points.iter().map(|p| p.1).collect();
        assert_eq!(b, [1.0, 2.0]);
        assert_eq!(data.y_extent, Some((0.5, 2.0)));
    }

    #[test]
    fn bad_values_name_column_and_row() {
        let err = extract(
            &page(vec![
                vec![json!("2026-02-12 10:30:00.000"), json!("a"), json!(1)],
                vec![json!("10:30"), json!("a"), json!(1)],
            ]),
            &spec(),
        );
        let Err(err) = err else {
            panic!("expected an error")
        };
        assert_eq!(
            err.to_string(),
            "column `window_end`, row 2: expected a timestamp like 2026-02-12 10:30:00.000, got \"10:30\""
        );
        let err = extract(
            &page(vec![vec![
                json!("2026-02-12 10:30:00.000"),
                json!("a"),
                json!("lots"),
            ]]),
            &spec(),
        );
        let Err(err) = err else {
            panic!("expected an error")
        };
        assert_eq!(
            err.to_string(),
            "column `rate`, row 1: expected a number, got \"lots\""
        );
    }
}
