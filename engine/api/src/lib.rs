//! Types on the wire between Weir's engine and its front ends (CLI, desktop shell, UI).
//! No heavy dependencies: this crate also builds for `wasm32-unknown-unknown`.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use serde::{Deserialize, Serialize};

/// A position in a SQL script, 1-based, as an editor shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub line: u32,
    pub column: u32,
}

impl std::fmt::Display for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// An error as the UI receives it: a stable code, a message for people, and where in the
/// script it is when the fault is in the script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.span {
            Some(span) => write!(f, "{} at {}: {}", self.code, span, self.message),
            None => write!(f, "{}: {}", self.code, self.message),
        }
    }
}

impl std::error::Error for ApiError {}

/// One column of a page of rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// The SQL type as Flink spells it (`STRING`, `BIGINT`, `TIMESTAMP(3)`, ...).
    pub data_type: String,
}

/// A page of result rows. Values are JSON: numbers, strings, booleans, null; timestamps are
/// strings in SQL form (`2026-02-12 10:30:00.000`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResultPage {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<serde_json::Value>>,
    /// How many rows the whole result has; `rows` may hold only the first of them.
    pub total_rows: u64,
}

impl ResultPage {
    /// Index of the column named `name`, ignoring ASCII case.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    }
}

/// Counters of one job run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobMetrics {
    /// Rows decoded from sources.
    pub rows_read: u64,
    /// Input rows skipped as malformed (`json.ignore-parse-errors`).
    pub parse_errors_skipped: u64,
    /// Rows dropped because their window had already fired (behind the watermark).
    pub late_rows_dropped: u64,
    /// Rows written to sinks.
    pub rows_written: u64,
    /// Windows fired by windowed aggregations.
    pub windows_fired: u64,
    /// Firings timed: each time a watermark made operators emit results, the time from the
    /// source handing over the rows that moved the watermark (or the watermark's creation,
    /// for idleness and the end of input) until the sink took the last result.
    #[serde(default)]
    pub firings_timed: u64,
    /// The sum of those times, in microseconds (mean = sum / firings_timed).
    #[serde(default)]
    pub firing_latency_total_us: u64,
    /// The longest of those times, in microseconds.
    #[serde(default)]
    pub firing_latency_max_us: u64,
}

impl JobMetrics {
    /// Records one firing's latency.
    pub fn record_firing(&mut self, latency: std::time::Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.firings_timed += 1;
        self.firing_latency_total_us = self.firing_latency_total_us.saturating_add(us);
        self.firing_latency_max_us = self.firing_latency_max_us.max(us);
    }

    /// Adds another run's counters (a statement set's jobs, a script's statements).
    pub fn add(&mut self, m: &JobMetrics) {
        self.rows_read += m.rows_read;
        self.parse_errors_skipped += m.parse_errors_skipped;
        self.late_rows_dropped += m.late_rows_dropped;
        self.rows_written += m.rows_written;
        self.windows_fired += m.windows_fired;
        self.firings_timed += m.firings_timed;
        self.firing_latency_total_us = self
            .firing_latency_total_us
            .saturating_add(m.firing_latency_total_us);
        self.firing_latency_max_us = self.firing_latency_max_us.max(m.firing_latency_max_us);
    }
}

/// What one sink received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinkReport {
    /// The table name used in `INSERT INTO`.
    pub table: String,
    /// The connector (`duckdb`, `print`, `filesystem`).
    pub connector: String,
    pub rows_written: u64,
    /// For `duckdb` sinks: the database file and the table in it, so that front ends can read
    /// and chart what the job wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duckdb: Option<DuckDbTarget>,
}

/// A table in a DuckDB database file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuckDbTarget {
    /// Absolute path of the database file.
    pub path: String,
    /// The table, possibly schema-qualified (`matih_analytics.session_analytics`).
    pub table: String,
}

/// The outcome of running a script to completion on bounded inputs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Statements executed, in order (`SET`, `CREATE TABLE`, `INSERT INTO`).
    pub statements: usize,
    pub sinks: Vec<SinkReport>,
    pub metrics: JobMetrics,
    /// The first rows each query produced, for previews (the last query's rows).
    pub preview: Option<ResultPage>,
    pub elapsed_ms: u64,
}

/// A job the studio's editor can open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleJob {
    /// Shown above the editor: `matih/session-analytics.sql`.
    pub name: String,
    pub sql: String,
}

/// What the studio shows after a run: the engine's report, the first rows the sink wrote,
/// and a chart of them when the rows have the columns the chart needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudioRun {
    pub report: RunReport,
    pub rows: ResultPage,
    /// A PNG, base64-encoded (the UI shows it as a `data:` URL).
    pub chart_png_base64: Option<String>,
    /// Why there is no chart, when the rows could not be charted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart_error: Option<ApiError>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_json_is_pinned() {
        let err = ApiError {
            code: "sql.unsupported".into(),
            message: "MATCH_RECOGNIZE is not supported yet".into(),
            span: Some(Span { line: 3, column: 7 }),
        };
        let json = serde_json::to_string(&err).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"code":"sql.unsupported","message":"MATCH_RECOGNIZE is not supported yet","span":{"line":3,"column":7}}"#
        );
        let no_span = ApiError { span: None, ..err };
        let json = serde_json::to_string(&no_span).unwrap_or_default();
        assert!(!json.contains("span"), "{json}");
    }

    #[test]
    fn column_lookup_ignores_case() {
        let page = ResultPage {
            columns: vec![Column {
                name: "Tenant_ID".into(),
                data_type: "STRING".into(),
            }],
            rows: vec![],
            total_rows: 0,
        };
        assert_eq!(page.column_index("tenant_id"), Some(0));
        assert_eq!(page.column_index("nope"), None);
    }
}
