//! weir-engine: runs Flink SQL scripts on an embedded streaming engine built on Arrow and
//! DataFusion. Front ends (CLI, desktop shell, gateway) call [`run_script`], [`Session`] and
//! [`duckdb_sink::query_duckdb`]; the modules below are the engine's layers.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod catalog;
pub mod connectors;
pub mod duckdb_sink;
pub mod error;
pub mod format;
pub mod functions;
pub mod job;
pub mod operators;
pub mod plan;
pub mod session;
pub mod sql;

use std::collections::HashMap;
use std::path::PathBuf;

pub use error::{Error, Result};
pub use session::{QueryResult, Session};
pub use weir_api::{ResultPage, RunReport};

/// How a script runs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Relative paths in `WITH (...)` options resolve against this folder (the script's own).
    pub base_dir: PathBuf,
    /// How many result rows to keep in [`RunReport::preview`].
    pub preview_rows: usize,
    /// Whether `print` sinks write to standard output.
    pub print_to_stdout: bool,
    /// Values for `${NAME}` in option strings; the environment is consulted after these.
    pub vars: HashMap<String, String>,
    /// Asks the running jobs to drain or cancel (unbounded sources run until asked).
    pub control: job::JobControl,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            base_dir: PathBuf::from("."),
            preview_rows: 100,
            print_to_stdout: true,
            vars: HashMap::new(),
            control: job::JobControl::default(),
        }
    }
}

/// Runs a Flink SQL script (`SET`, `CREATE TABLE`, `INSERT INTO`, `SELECT`) on bounded
/// inputs to completion.
pub fn run_script(text: &str, options: &RunOptions) -> Result<RunReport> {
    Session::new(options.clone()).execute(text)
}
