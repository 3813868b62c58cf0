//! The `print` connector: writes every row as Flink does (`+I[a, 1]`), optionally prefixed
//! with `print-identifier`, to standard output or standard error.

use std::io::Write;

use arrow::record_batch::RecordBatch;
use weir_api::SinkReport;

use super::{parse_bool, Sink};
use crate::format::row_print;
use crate::operators::group_aggregate::RowKind;
use crate::sql::TableDef;
use crate::Result;

pub struct PrintSink {
    table: String,
    prefix: String,
    to_stderr: bool,
    /// When false (tests, the desktop app) rows are counted but not printed.
    enabled: bool,
    rows: u64,
}

impl PrintSink {
    pub fn open(def: &TableDef, enabled: bool) -> Self {
        let prefix = def
            .option("print-identifier")
            .map(|(v, _)| format!("{v}> "))
            .unwrap_or_default();
        let to_stderr = def
            .option("standard-error")
            .and_then(|(v, _)| parse_bool(v))
            .unwrap_or(false);
        Self {
            table: def.name.clone(),
            prefix,
            to_stderr,
            enabled,
            rows: 0,
        }
    }
}

impl Sink for PrintSink {
    fn write_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        if self.enabled {
            let mut text = String::new();
            let kinds = crate::operators::group_aggregate::row_kinds(batch);
            let values = crate::operators::group_aggregate::without_op(batch);
            for row in 0..batch.num_rows() {
                text.push_str(&self.prefix);
                let kind = kinds
                    .map(|k| RowKind::from_i8(k.value(row)))
                    .unwrap_or(RowKind::Insert);
                text.push_str(&row_print(&values, row, kind));
                text.push('\n');
            }
            if self.to_stderr {
                std::io::stderr().lock().write_all(text.as_bytes())?;
            } else {
                std::io::stdout().lock().write_all(text.as_bytes())?;
            }
        }
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        Ok(())
    }

    fn report(&self) -> SinkReport {
        SinkReport {
            table: self.table.clone(),
            connector: "print".into(),
            rows_written: self.rows,
            duckdb: None,
        }
    }
}
