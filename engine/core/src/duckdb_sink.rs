//! The `duckdb` connector: a table sink in a DuckDB database file, and ad-hoc reads of it.

use std::path::Path;

use crate::{Error, Result};
use weir_api::ResultPage;

/// Runs a read-only SQL query against a DuckDB database file and returns up to `max_rows`
/// rows (with the total count).
pub fn query_duckdb(path: &Path, sql: &str, max_rows: usize) -> Result<ResultPage> {
    let _ = (path, sql, max_rows);
    Err(Error::Internal("the engine is being built".into()))
}
