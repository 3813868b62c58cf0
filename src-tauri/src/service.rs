//! The studio's service layer: plain functions behind the Tauri commands (load the sample job,
//! run a script, read back what its DuckDB sink wrote, chart it). No desktop needed: the unit
//! tests below run them directly.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use weir_api::{ApiError, DuckDbTarget, ResultPage};
use weir_engine::RunOptions;

/// The repository this binary was built from; the sample job and its data live there.
const REPO_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// The sample job's text, compiled in.
const SAMPLE_SQL: &str = include_str!("../../sample-jobs/matih/session-analytics-files.sql");

/// Rows sent to the table in the UI.
pub const TABLE_ROWS: usize = 50;
/// Rows read for the chart (a chart of more points than this is not readable anyway).
const CHART_ROWS: usize = 10_000;
/// The chart's size in pixels: the UI shows it at this size, or smaller in a narrow window.
const CHART_WIDTH: u32 = 720;
const CHART_HEIGHT: u32 = 300;

pub use weir_api::{SampleJob, StudioRun};

/// Where scripts run: the folder relative paths resolve against, and where sinks write.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// `base_dir` of the run (the sample job's folder).
    pub job_dir: PathBuf,
    /// `WEIR_OUT_DIR` for the script; `None` leaves it to the environment or the script's
    /// default (`out/` at the repository's root).
    pub out_dir: Option<PathBuf>,
}

impl Workspace {
    /// The sample job's folder in the repository; `WEIR_OUT_DIR` from the environment.
    pub fn sample() -> Self {
        Self {
            job_dir: Path::new(REPO_DIR).join("sample-jobs/matih"),
            out_dir: std::env::var_os("WEIR_OUT_DIR").map(PathBuf::from),
        }
    }
}

/// The job the studio opens with: MATIH's session analytics.
pub fn sample_job() -> SampleJob {
    SampleJob {
        name: "matih/session-analytics-files.sql".into(),
        sql: SAMPLE_SQL.into(),
    }
}

/// Runs `sql` to completion on a blocking thread (the engine and DuckDB block), then reads
/// back the rows of the first DuckDB sink and charts sessions per window per tenant.
pub async fn run_job(sql: String, workspace: Workspace) -> Result<StudioRun, ApiError> {
    tauri::async_runtime::spawn_blocking(move || run_job_blocking(&sql, &workspace))
        .await
        .map_err(|e| ApiError {
            code: "internal".into(),
            message: format!("the run's thread failed: {e}"),
            span: None,
        })?
}

/// [`run_job`] on the calling thread.
pub fn run_job_blocking(sql: &str, workspace: &Workspace) -> Result<StudioRun, ApiError> {
    let mut vars = HashMap::new();
    if let Some(out) = &workspace.out_dir {
        vars.insert("WEIR_OUT_DIR".to_string(), out.display().to_string());
    }
    let options = RunOptions {
        base_dir: workspace.job_dir.clone(),
        preview_rows: TABLE_ROWS,
        print_to_stdout: false,
        vars,
        control: Default::default(),
    };
    let report = weir_engine::run_script(sql, &options).map_err(|e| e.to_api())?;

    let Some(target) = report.sinks.iter().find_map(|s| s.duckdb.clone()) else {
        // No DuckDB sink: show what the last query produced, if anything.
        let rows = report.preview.clone().unwrap_or_default();
        return Ok(StudioRun {
            report,
            rows,
            chart_png_base64: None,
            chart_error: None,
        });
    };
    let all_rows = read_sink(&target)?;
    let (chart_png_base64, chart_error) = match chart(&all_rows) {
        Ok(png) => (
            Some(base64::engine::general_purpose::STANDARD.encode(png)),
            None,
        ),
        Err(e) => (None, Some(e)),
    };
    let mut rows = all_rows;
    rows.rows.truncate(TABLE_ROWS);
    Ok(StudioRun {
        report,
        rows,
        chart_png_base64,
        chart_error,
    })
}

/// Reads what a DuckDB sink wrote, ordered by window and tenant when it has those columns.
fn read_sink(target: &DuckDbTarget) -> Result<ResultPage, ApiError> {
    let path = Path::new(&target.path);
    let table = quote_table(&target.table);
    // The columns (a query with no rows still reports them).
    let columns =
        weir_engine::duckdb_sink::query_duckdb(path, &format!("SELECT * FROM {table} LIMIT 0"), 0)
            .map_err(|e| e.to_api())?
            .columns;
    let order: Vec<String> = ["window_start", "tenant_id"]
        .iter()
        .filter_map(|want| columns.iter().find(|c| c.name.eq_ignore_ascii_case(want)))
        .map(|c| quote_ident(&c.name))
        .collect();
    let order_by = if order.is_empty() {
        String::new()
    } else {
        format!(" ORDER BY {}", order.join(", "))
    };
    weir_engine::duckdb_sink::query_duckdb(
        path,
        &format!("SELECT * FROM {table}{order_by}"),
        CHART_ROWS,
    )
    .map_err(|e| e.to_api())
}

/// Sessions per window, one line per tenant.
fn chart(rows: &ResultPage) -> Result<Vec<u8>, ApiError> {
    let spec = weir_charts::LineChartSpec {
        title: "Sessions per window, by tenant".into(),
        x: "window_start".into(),
        y: "total_sessions".into(),
        series: "tenant_id".into(),
    };
    weir_charts::line_chart_png(rows, &spec, CHART_WIDTH, CHART_HEIGHT)
        .map_err(|e| ApiError::from(&e))
}

/// `a.b` as `"a"."b"`.
fn quote_table(name: &str) -> String {
    name.split('.')
        .map(quote_ident)
        .collect::<Vec<_>>()
        .join(".")
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_api::RunReport;

    fn temp_workspace(name: &str) -> Workspace {
        let out = std::env::temp_dir().join(format!("weir-studio-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        Workspace {
            out_dir: Some(out),
            ..Workspace::sample()
        }
    }

    #[test]
    fn sample_job_is_the_matih_session_analytics_script() {
        let job = sample_job();
        assert_eq!(job.name, "matih/session-analytics-files.sql");
        assert!(job
            .sql
            .contains("INSERT INTO polaris.matih_analytics.session_analytics"));
        assert!(Workspace::sample()
            .job_dir
            .join("session-analytics-files.sql")
            .is_file());
    }

    #[test]
    fn table_names_are_quoted_part_by_part() {
        assert_eq!(
            quote_table("matih_analytics.session_analytics"),
            r#""matih_analytics"."session_analytics""#
        );
        assert_eq!(quote_ident(r#"we"ird"#), r#""we""ird""#);
    }

    #[test]
    fn studio_run_json_is_pinned() {
        let run = StudioRun {
            report: RunReport::default(),
            rows: ResultPage::default(),
            chart_png_base64: None,
            chart_error: None,
        };
        let json = serde_json::to_string(&run).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"report":{"statements":0,"sinks":[],"metrics":{"rows_read":0,"parse_errors_skipped":0,"late_rows_dropped":0,"rows_written":0,"windows_fired":0,"firings_timed":0,"firing_latency_total_us":0,"firing_latency_max_us":0},"preview":null,"elapsed_ms":0},"rows":{"columns":[],"rows":[],"total_rows":0},"chart_png_base64":null}"#
        );
    }

    #[test]
    fn sample_job_runs_and_is_read_back_ordered_with_a_chart() {
        let workspace = temp_workspace("sample");
        let run = tauri::async_runtime::block_on(run_job(sample_job().sql, workspace.clone()))
            .unwrap_or_else(|e| panic!("the sample job failed: {e}"));
        assert!(run.report.metrics.rows_written > 0, "{:?}", run.report);
        assert_eq!(
            run.report.metrics.parse_errors_skipped, 3,
            "{:?}",
            run.report.metrics
        );
        let tenant = run.rows.column_index("tenant_id").unwrap_or(usize::MAX);
        let start = run.rows.column_index("window_start").unwrap_or(usize::MAX);
        let keys: Vec<(String, String)> = run
            .rows
            .rows
            .iter()
            .map(|r| (r[start].to_string(), r[tenant].to_string()))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "rows come ordered by window_start, tenant_id");
        assert!(
            keys.iter().any(|(_, t)| t.contains("acme-health")),
            "{keys:?}"
        );
        let png = run.chart_png_base64.unwrap_or_default();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png)
            .unwrap_or_default();
        assert!(
            bytes.starts_with(b"\x89PNG"),
            "a PNG chart: {:?}",
            run.chart_error
        );
        if let Some(out) = workspace.out_dir {
            let _ = std::fs::remove_dir_all(out);
        }
    }

    #[test]
    fn a_sql_error_reaches_the_ui_with_its_position() {
        let err = run_job_blocking("SELECT FROM WHERE;", &temp_workspace("bad"))
            .err()
            .unwrap_or_else(|| panic!("a broken script must fail"));
        assert!(err.code.starts_with("sql."), "{err:?}");
        assert!(err.span.is_some(), "{err:?}");
    }
}
