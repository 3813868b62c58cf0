//! The building blocks of the studio's pages: editor, status line, result table, chart.
//! Each takes signals from its page and holds no state of its own beyond the DOM.

pub mod chart;
pub mod editor;
pub mod result_table;
pub mod status_line;

pub use chart::Chart;
pub use editor::Editor;
pub use result_table::ResultTable;
pub use status_line::{RunState, StatusLine};
