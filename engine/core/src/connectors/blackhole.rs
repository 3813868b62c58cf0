//! The `blackhole` connector as Flink defines it: a sink that takes every row (appends and
//! changes) and keeps none; for measuring a job without the cost of writing its output.

use arrow::record_batch::RecordBatch;
use weir_api::SinkReport;

use super::Sink;
use crate::operators::group_aggregate::without_op;
use crate::sql::TableDef;
use crate::Result;

pub struct BlackholeSink {
    table: String,
    rows: u64,
}

impl BlackholeSink {
    pub fn open(def: &TableDef) -> Self {
        Self {
            table: def.name.clone(),
            rows: 0,
        }
    }
}

impl Sink for BlackholeSink {
    fn write_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        self.rows += without_op(batch).num_rows() as u64;
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        Ok(())
    }

    fn report(&self) -> SinkReport {
        SinkReport {
            table: self.table.clone(),
            connector: "blackhole".into(),
            rows_written: self.rows,
            duckdb: None,
        }
    }
}
