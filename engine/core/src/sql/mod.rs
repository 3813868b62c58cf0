//! The Flink SQL front end: a script becomes tokens with positions, then statements
//! (`SET`, `CREATE TABLE`, `INSERT INTO`, queries) that carry spans for error messages.

pub mod ddl;
pub mod functions;
pub mod query;
pub mod script;
pub mod types;

use datafusion::sql::sqlparser::tokenizer::{Location, TokenWithSpan};
use weir_api::Span;

pub use ddl::{ColumnDef, TableDef, WatermarkDef};
pub use script::{parse_script, Statement};

/// The span of a token as the API spells it.
pub fn span_of(token: &TokenWithSpan) -> Span {
    location_span(token.span.start)
}

pub fn location_span(loc: Location) -> Span {
    Span {
        line: loc.line.max(1) as u32,
        column: loc.column.max(1) as u32,
    }
}
