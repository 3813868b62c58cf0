//! The `duckdb` connector: appends a job's rows to a table in a DuckDB database file (the
//! table and its schema are created when missing), and reads such tables back for front ends.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use duckdb::{AccessMode, Config, Connection};
use weir_api::{DuckDbTarget, ResultPage, SinkReport};

use crate::connectors::{resolve_path, Sink};
use crate::format::append_to_page;
use crate::sql::types::SqlType;
use crate::sql::TableDef;
use crate::{Error, Result};

/// Appends to a DuckDB table.
pub struct DuckDbSink {
    table: String,
    path: PathBuf,
    schema_name: Option<String>,
    table_name: String,
    conn: Option<Connection>,
    rows: u64,
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// The DuckDB column type for a Flink type.
fn duckdb_type(ty: &SqlType) -> String {
    match ty {
        SqlType::String => "VARCHAR".into(),
        SqlType::Boolean => "BOOLEAN".into(),
        SqlType::TinyInt => "TINYINT".into(),
        SqlType::SmallInt => "SMALLINT".into(),
        SqlType::Int => "INTEGER".into(),
        SqlType::BigInt => "BIGINT".into(),
        SqlType::Float => "REAL".into(),
        SqlType::Double => "DOUBLE".into(),
        SqlType::Decimal { precision, scale } => format!("DECIMAL({precision}, {scale})"),
        SqlType::Date => "DATE".into(),
        SqlType::Timestamp { .. } => "TIMESTAMP".into(),
        SqlType::TimestampLtz { .. } => "TIMESTAMPTZ".into(),
        SqlType::Array(inner) => format!("{}[]", duckdb_type(inner)),
        SqlType::Map(k, v) => format!("MAP({}, {})", duckdb_type(k), duckdb_type(v)),
        SqlType::Bytes => "BLOB".into(),
    }
}

/// Timestamps go to DuckDB in microseconds, its TIMESTAMP unit.
fn duckdb_arrow_type(dt: &DataType) -> DataType {
    match dt {
        DataType::Timestamp(_, tz) => DataType::Timestamp(TimeUnit::Microsecond, tz.clone()),
        DataType::List(f) => DataType::List(Arc::new(Field::new(
            f.name(),
            duckdb_arrow_type(f.data_type()),
            f.is_nullable(),
        ))),
        other => other.clone(),
    }
}

impl DuckDbSink {
    pub fn open(def: &TableDef, base: &Path) -> Result<Self> {
        let option = |key: &str| def.option(key).map(|(v, _)| v).unwrap_or_default();
        let path = resolve_path(option("path"), base);
        let full = option("table-name");
        let (schema_name, table_name) = match full.rsplit_once('.') {
            Some((s, t)) => (Some(s.to_string()), t.to_string()),
            None => (None, full.to_string()),
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::External(format!("cannot create {}: {e}", parent.display())))?;
        }
        let conn = Connection::open(&path).map_err(|e| Error::Option {
            table: def.name.clone(),
            option: "path".into(),
            message: format!("cannot open DuckDB database '{}': {e}", path.display()),
            span: def.option("path").map(|(_, s)| s).unwrap_or(def.span),
        })?;
        let qualified = match &schema_name {
            Some(s) => {
                conn.execute_batch(&format!("CREATE SCHEMA IF NOT EXISTS {}", quote(s)))?;
                format!("{}.{}", quote(s), quote(&table_name))
            }
            None => quote(&table_name),
        };
        let columns: Vec<String> = def
            .columns
            .iter()
            .map(|c| format!("{} {}", quote(&c.name), duckdb_type(&c.ty)))
            .collect();
        conn.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS {qualified} ({})",
            columns.join(", ")
        ))?;
        let existing: usize = conn.query_row(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = ? AND table_schema = ?",
            duckdb::params![table_name, schema_name.clone().unwrap_or_else(|| "main".into())],
            |r| r.get(0),
        )?;
        if existing != def.columns.len() {
            return Err(Error::Option {
                table: def.name.clone(),
                option: "table-name".into(),
                message: format!(
                    "DuckDB table {full} exists with {existing} columns but the DDL declares {}",
                    def.columns.len()
                ),
                span: def.option("table-name").map(|(_, s)| s).unwrap_or(def.span),
            });
        }
        Ok(Self {
            table: def.name.clone(),
            path,
            schema_name,
            table_name,
            conn: Some(conn),
            rows: 0,
        })
    }
}

impl Sink for DuckDbSink {
    fn write_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        if crate::operators::group_aggregate::is_changelog(batch) {
            return Err(Error::Internal(format!(
                "the append-only table '{}' was given an updating result",
                self.table
            )));
        }
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let Some(conn) = self.conn.as_ref() else {
            return Err(Error::Internal("duckdb sink written after finish".into()));
        };
        let fields: Vec<Field> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), duckdb_arrow_type(f.data_type()), true))
            .collect();
        let columns: Vec<ArrayRef> = batch
            .columns()
            .iter()
            .zip(&fields)
            .map(|(c, f)| cast(c, f.data_type()))
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| Error::Internal(format!("cannot convert a batch for DuckDB: {e}")))?;
        let converted = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
            .map_err(|e| Error::Internal(format!("cannot convert a batch for DuckDB: {e}")))?;
        let mut appender = match &self.schema_name {
            Some(s) => conn.appender_to_db(&self.table_name, s)?,
            None => conn.appender(&self.table_name)?,
        };
        appender.append_record_batch(converted)?;
        appender.flush()?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if let Some(conn) = self.conn.take() {
            conn.execute_batch("CHECKPOINT")?;
            conn.close().map_err(|(_, e)| Error::from(e))?;
        }
        Ok(())
    }

    fn report(&self) -> SinkReport {
        let table = match &self.schema_name {
            Some(s) => format!("{s}.{}", self.table_name),
            None => self.table_name.clone(),
        };
        SinkReport {
            table: self.table.clone(),
            connector: "duckdb".into(),
            rows_written: self.rows,
            duckdb: Some(DuckDbTarget {
                path: self.path.display().to_string(),
                table,
            }),
        }
    }
}

/// Runs a read-only SQL query against a DuckDB database file and returns up to `max_rows`
/// rows (with the total count).
pub fn query_duckdb(path: &Path, sql: &str, max_rows: usize) -> Result<ResultPage> {
    if !path.exists() {
        return Err(Error::External(format!(
            "no DuckDB database at {}",
            path.display()
        )));
    }
    let config = Config::default().access_mode(AccessMode::ReadOnly)?;
    let conn = Connection::open_with_flags(path, config)?;
    let mut stmt = conn.prepare(sql)?;
    let mut page = ResultPage::default();
    let batches = stmt.query_arrow([])?;
    // Columns come from the result's schema, so a result without rows still has them.
    page.columns = crate::format::columns_of(&batches.get_schema());
    for batch in batches {
        append_to_page(&mut page, &batch, max_rows);
    }
    Ok(page)
}
