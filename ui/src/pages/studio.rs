//! The studio page: the job's SQL in an editor, a Run button, and the run's outcome (status
//! line, the first rows the job wrote, a chart of them).

use leptos::prelude::*;
use leptos::task::spawn_local;
use weir_api::ResultPage;

use crate::api::{self, StudioRun};
use crate::components::{Chart, Editor, ResultTable, RunState, StatusLine};

#[component]
pub fn StudioPage() -> impl IntoView {
    let sql = RwSignal::new(String::new());
    let job_name = RwSignal::new(String::new());
    let state = RwSignal::new(RunState::Loading);
    // The last successful run stays on screen while the next one runs.
    let last_run = RwSignal::new(None::<StudioRun>);

    spawn_local(async move {
        match api::sample_job().await {
            Ok(job) => {
                job_name.set(job.name);
                sql.set(job.sql);
                state.set(RunState::Idle);
            }
            Err(e) => state.set(RunState::Failed(e)),
        }
    });

    let run = Callback::new(move |()| {
        if state.with_untracked(|s| matches!(s, RunState::Running | RunState::Loading)) {
            return;
        }
        state.set(RunState::Running);
        let text = sql.get_untracked();
        spawn_local(async move {
            match api::run_job(&text).await {
                Ok(run) => {
                    state.set(RunState::Done(run.report.clone()));
                    last_run.set(Some(run));
                }
                Err(e) => {
                    last_run.set(None);
                    state.set(RunState::Failed(e));
                }
            }
        });
    });

    let busy =
        Signal::derive(move || state.with(|s| matches!(s, RunState::Running | RunState::Loading)));
    let error_span = Signal::derive(move || state.with(|s| s.error_span()));
    let rows: Signal<Option<ResultPage>> =
        Signal::derive(move || last_run.with(|r| r.as_ref().map(|r| r.rows.clone())));
    let chart_png = Signal::derive(move || {
        last_run.with(|r| r.as_ref().and_then(|r| r.chart_png_base64.clone()))
    });
    let chart_error = Signal::derive(move || {
        last_run.with(|r| {
            r.as_ref()
                .and_then(|r| r.chart_error.as_ref().map(|e| e.message.clone()))
        })
    });
    let has_run = Signal::derive(move || last_run.with(Option::is_some));
    // The table the rows come from (the first DuckDB sink), shown in the card's title.
    let sink_table = move || {
        last_run.with(|r| {
            r.as_ref()
                .and_then(|r| r.report.sinks.iter().find_map(|s| s.duckdb.as_ref()))
                .map(|d| format!("· {}", d.table))
        })
    };

    view! {
        <div class="app">
            <header class="topbar">
                <div class="brand">
                    <img class="logo" src="icon.png" alt="" />
                    <span class="product">"Weir Studio"</span>
                </div>
                <div class="crumb">
                    <span class="crumb-dim">"jobs / "</span>
                    <span id="job-name">{move || job_name.get()}</span>
                </div>
                <div class="actions">
                    <span class="hint">"Ctrl+Enter"</span>
                    <button
                        id="run"
                        class="run"
                        disabled=move || busy.get()
                        on:click=move |_| run.run(())
                    >
                        {move || if state.with(|s| matches!(s, RunState::Running)) { "Running…" } else { "▶ Run" }}
                    </button>
                </div>
            </header>
            <main class="workspace">
                <section class="pane editor-pane">
                    <div class="pane-title">"Flink SQL"</div>
                    <Editor sql=sql error_span=error_span on_run=run />
                </section>
                <section class="pane results-pane">
                    <StatusLine state=state />
                    <div class="card">
                        <div class="card-title">"Sessions per window"</div>
                        <Chart png_base64=chart_png error=chart_error has_run=has_run />
                    </div>
                    <div class="card grow">
                        <div class="card-title">
                            "Rows written " <span class="card-sub">{sink_table}</span>
                        </div>
                        <ResultTable page=rows />
                    </div>
                </section>
            </main>
        </div>
    }
}
