//! The SQL editor: a monospace textarea with a line-number gutter that marks the line of the
//! last error and puts the caret where the error points. Ctrl+Enter runs the job.

use leptos::html;
use leptos::prelude::*;
use weir_api::Span;

#[component]
pub fn Editor(
    sql: RwSignal<String>,
    #[prop(into)] error_span: Signal<Option<Span>>,
    on_run: Callback<()>,
) -> impl IntoView {
    let textarea = NodeRef::<html::Textarea>::new();
    let gutter = NodeRef::<html::Div>::new();

    // Put the caret on the error, so the user sees where the engine stopped.
    Effect::new(move |_| {
        let (Some(span), Some(area)) = (error_span.get(), textarea.get_untracked()) else {
            return;
        };
        let offset = utf16_offset(&sql.get_untracked(), span);
        let _ = area.focus();
        let _ = area.set_selection_range(offset, offset);
    });

    let lines = move || {
        let count = sql.with(|s| s.lines().count().max(1));
        let bad = error_span.get().map(|s| s.line as usize);
        (1..=count)
            .map(|n| {
                let class = if Some(n) == bad { "ln bad" } else { "ln" };
                view! { <div class=class>{n}</div> }
            })
            .collect_view()
    };

    view! {
        <div class="editor">
            <div class="gutter" node_ref=gutter aria-hidden="true">{lines}</div>
            <textarea
                id="editor"
                node_ref=textarea
                spellcheck="false"
                autocomplete="off"
                wrap="off"
                prop:value=move || sql.get()
                on:input=move |ev| sql.set(event_target_value(&ev))
                on:scroll=move |_| {
                    if let (Some(area), Some(g)) = (textarea.get_untracked(), gutter.get_untracked()) {
                        g.set_scroll_top(area.scroll_top());
                    }
                }
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    if (ev.ctrl_key() || ev.meta_key()) && ev.key() == "Enter" {
                        ev.prevent_default();
                        on_run.run(());
                    }
                }
            ></textarea>
        </div>
    }
}

/// The textarea offset (in UTF-16 code units, as the DOM counts) of a 1-based line/column.
fn utf16_offset(text: &str, span: Span) -> u32 {
    let mut offset = 0usize;
    for (i, line) in text.split('\n').enumerate() {
        if i + 1 == span.line as usize {
            let col = line
                .chars()
                .take(span.column.saturating_sub(1) as usize)
                .map(char::len_utf16)
                .sum::<usize>();
            return (offset + col) as u32;
        }
        offset += line.chars().map(char::len_utf16).sum::<usize>() + 1;
    }
    offset.saturating_sub(1) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_count_lines_and_columns_from_one() {
        let text = "SET a;\nSELECT é FROM t;";
        assert_eq!(utf16_offset(text, Span { line: 1, column: 1 }), 0);
        assert_eq!(utf16_offset(text, Span { line: 2, column: 1 }), 7);
        assert_eq!(
            utf16_offset(
                text,
                Span {
                    line: 2,
                    column: 10
                }
            ),
            16
        );
        assert_eq!(utf16_offset(text, Span { line: 9, column: 1 }), 23);
    }
}
