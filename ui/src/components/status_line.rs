//! The status line under the toolbar: what the studio is doing, the last run's counters, or
//! the last error with the line and column it points at.

use leptos::prelude::*;
use weir_api::{ApiError, RunReport, Span};

/// Where the page is in its life: loading the job, idle, running, or after a run.
#[derive(Debug, Clone, PartialEq)]
pub enum RunState {
    Loading,
    Idle,
    Running,
    Done(RunReport),
    Failed(ApiError),
}

impl RunState {
    /// The position in the script the last error points at.
    pub fn error_span(&self) -> Option<Span> {
        match self {
            RunState::Failed(e) => e.span,
            _ => None,
        }
    }
}

#[component]
pub fn StatusLine(#[prop(into)] state: Signal<RunState>) -> impl IntoView {
    let class = move || {
        let kind = match state.get() {
            RunState::Loading | RunState::Idle => "idle",
            RunState::Running => "running",
            RunState::Done(_) => "ok",
            RunState::Failed(_) => "error",
        };
        format!("status {kind}")
    };
    view! {
        <div id="status" class=class role="status">
            // The " " between spans are for copied text and screen readers; the flex gap lays
            // them out.
            {move || match state.get() {
                RunState::Loading => view! { <span>"Loading the job…"</span> }.into_any(),
                RunState::Idle => view! { <span>"Ready. Press Run to execute the job."</span> }.into_any(),
                RunState::Running => view! { <span class="spinner"></span><span>"Running the job…"</span> }.into_any(),
                RunState::Done(report) => {
                    let m = report.metrics;
                    view! {
                        <span class="badge">"Succeeded"</span> " "
                        <span class="metric"><b>{m.rows_written}</b>" rows written"</span> " "
                        <span class="metric"><b>{m.late_rows_dropped}</b>" late rows dropped"</span> " "
                        <span class="metric"><b>{m.parse_errors_skipped}</b>" parse errors skipped"</span> " "
                        <span class="metric"><b>{report.elapsed_ms}</b>" ms"</span>
                    }
                    .into_any()
                }
                RunState::Failed(err) => {
                    let at = err.span.map(|s| format!(" at line {}, column {}", s.line, s.column));
                    view! {
                        <span class="badge">"Failed"</span> " "
                        <span class="code">{err.code}{at}":"</span> " "
                        <span class="message">{err.message}</span>
                    }
                    .into_any()
                }
            }}
        </div>
    }
}
