//! The chart pane: the PNG the shell drew with weir-charts, shown as a `data:` URL, or a
//! line saying why there is none.

use leptos::prelude::*;

#[component]
pub fn Chart(
    /// The PNG, base64-encoded.
    #[prop(into)]
    png_base64: Signal<Option<String>>,
    /// Why the rows could not be charted.
    #[prop(into)]
    error: Signal<Option<String>>,
    /// Whether a run has finished (before that, the pane says what will appear).
    #[prop(into)]
    has_run: Signal<bool>,
) -> impl IntoView {
    move || {
        match (png_base64.get(), error.get(), has_run.get()) {
        (Some(png), _, _) => view! {
            <img
                id="chart"
                class="chart"
                src=format!("data:image/png;base64,{png}")
                alt="Sessions per window, by tenant"
            />
        }
        .into_any(),
        (None, Some(why), _) => view! { <div class="empty" id="chart-empty">{why}</div> }.into_any(),
        (None, None, true) => view! {
            <div class="empty" id="chart-empty">"This job's rows have nothing to chart."</div>
        }
        .into_any(),
        (None, None, false) => view! {
            <div class="empty" id="chart-empty">"The chart of the job's output appears here after a run."</div>
        }
        .into_any(),
    }
    }
}
