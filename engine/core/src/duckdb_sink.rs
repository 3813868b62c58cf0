//! The `duckdb` connector: writes a job's rows to a table in a DuckDB database file (the
//! table and its schema are created when missing): appended, or upserted by the table's
//! primary key when the DDL declares one; and reads such tables back for front ends.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Array, Int8Array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use duckdb::{AccessMode, Config, Connection};
use weir_api::{DuckDbTarget, JobMetrics, ResultPage, SinkReport};

use crate::connectors::{resolve_path, Poll, Sink, Source, SourceOffset};
use crate::format::append_to_page;
use crate::operators::group_aggregate::{self, RowKind};
use crate::sql::types::SqlType;
use crate::sql::TableDef;
use crate::{Error, Result};

/// The temporary table where an upsert sink stages rows until they are merged.
const STAGE: &str = "__weir_stage";
/// The staged row's kind (Flink's `RowKind` as Int8) and its order of arrival.
const STAGE_OP: &str = "__weir_op";
const STAGE_SEQ: &str = "__weir_seq";
/// Rows staged before an upsert sink merges them (`sink.buffer-flush.max-rows`).
pub const DEFAULT_FLUSH_ROWS: u64 = 100_000;

/// Writes to a DuckDB table: appends, or upserts by the DDL's primary key. Everything written
/// between two [`Sink::finish`] calls is one transaction, so readers see all of it or none.
pub struct DuckDbSink {
    table: String,
    path: PathBuf,
    schema_name: Option<String>,
    table_name: String,
    conn: Option<Connection>,
    rows: u64,
    /// A transaction is open: the writes since the last finish are in it.
    in_transaction: bool,
    /// Set for a table with a primary key.
    upsert: Option<Upsert>,
}

/// How a keyed table takes rows: staged in a temporary table, then merged by key, the last
/// change of each key winning.
struct Upsert {
    /// The `MERGE` of the staged rows into the table.
    merge: String,
    /// Rows staged since the last merge.
    staged: u64,
    /// The next staged row's sequence number.
    seq: i64,
    /// Merge when this many rows are staged (and at every finish).
    flush_rows: u64,
    /// Key columns: (position, name).
    keys: Vec<(usize, String)>,
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

/// `columns` converted to the Arrow types DuckDB's appender takes, under `names`.
fn for_duckdb(columns: &[ArrayRef], names: &[String]) -> Result<RecordBatch> {
    let fields: Vec<Field> = columns
        .iter()
        .zip(names)
        .map(|(c, name)| Field::new(name, duckdb_arrow_type(c.data_type()), true))
        .collect();
    let converted: Vec<ArrayRef> = columns
        .iter()
        .zip(&fields)
        .map(|(c, f)| {
            if c.data_type() == f.data_type() {
                Ok(c.clone())
            } else {
                cast(c, f.data_type())
            }
        })
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::Internal(format!("cannot convert a batch for DuckDB: {e}")))?;
    RecordBatch::try_new(Arc::new(Schema::new(fields)), converted)
        .map_err(|e| Error::Internal(format!("cannot convert a batch for DuckDB: {e}")))
}

/// The schema and table of a `table-name` option (`schema.table` or `table`).
fn split_table_name(full: &str) -> (Option<String>, String) {
    match full.rsplit_once('.') {
        Some((s, t)) => (Some(s.to_string()), t.to_string()),
        None => (None, full.to_string()),
    }
}

/// The read-write DuckDB instances this process has open, by file. DuckDB allows one
/// instance per file and process; jobs running side by side (the demo's four jobs write one
/// catalog) get connections to the same instance. Instances stay open until the process ends.
fn instances() -> &'static std::sync::Mutex<std::collections::HashMap<PathBuf, Connection>> {
    static OPEN: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<PathBuf, Connection>>,
    > = std::sync::OnceLock::new();
    OPEN.get_or_init(Default::default)
}

/// The key of a database file in [`instances`]: its absolute path, symlinks resolved as far
/// as they exist.
fn instance_key(path: &Path) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    match (
        path.parent().and_then(|d| d.canonicalize().ok()),
        path.file_name(),
    ) {
        (Some(dir), Some(name)) => dir.join(name),
        _ => path.to_path_buf(),
    }
}

/// A read-write connection to the database at `path`, sharing this process's instance.
pub fn connect(path: &Path) -> duckdb::Result<Connection> {
    let key = instance_key(path);
    let mut open = instances()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(c) = open.get(&key) {
        return c.try_clone();
    }
    let c = Connection::open(path)?;
    let clone = c.try_clone()?;
    open.insert(key, c);
    Ok(clone)
}

/// A connection for reading `path`: to this process's instance when it has one (a job of this
/// process writes it), else a read-only instance of its own.
pub fn connect_read_only(path: &Path) -> duckdb::Result<Connection> {
    let key = instance_key(path);
    if let Some(c) = instances()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&key)
    {
        return c.try_clone();
    }
    let config = Config::default().access_mode(AccessMode::ReadOnly)?;
    Connection::open_with_flags(path, config)
}

/// Opens the database file of a `duckdb` table, creating its folder.
fn open_database(def: &TableDef, path: &Path) -> Result<Connection> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::External(format!("cannot create {}: {e}", parent.display())))?;
    }
    connect(path).map_err(|e| Error::Option {
        table: def.name.clone(),
        option: "path".into(),
        message: format!("cannot open DuckDB database '{}': {e}", path.display()),
        span: def.option("path").map(|(_, s)| s).unwrap_or(def.span),
    })
}

/// Creates the schema and the table of `def` when missing (with its primary key, whose
/// columns are NOT NULL), and checks that an existing table fits the DDL. Returns the
/// table's name, quoted and schema-qualified.
fn ensure_table(conn: &Connection, def: &TableDef) -> Result<String> {
    let full = def.option("table-name").map(|(v, _)| v).unwrap_or_default();
    let (schema_name, table_name) = split_table_name(full);
    let qualified = match &schema_name {
        Some(s) => {
            conn.execute_batch(&format!("CREATE SCHEMA IF NOT EXISTS {}", quote(s)))?;
            format!("{}.{}", quote(s), quote(&table_name))
        }
        None => quote(&table_name),
    };
    let mut columns: Vec<String> = def
        .columns
        .iter()
        .map(|c| {
            let not_null = if def.primary_key.contains(&c.name) {
                " NOT NULL"
            } else {
                ""
            };
            format!("{} {}{not_null}", quote(&c.name), duckdb_type(&c.ty))
        })
        .collect();
    if !def.primary_key.is_empty() {
        let keys: Vec<String> = def.primary_key.iter().map(|k| quote(k)).collect();
        columns.push(format!("PRIMARY KEY ({})", keys.join(", ")));
    }
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {qualified} ({})",
        columns.join(", ")
    ))?;
    let schema = schema_name.unwrap_or_else(|| "main".into());
    let mismatch = |message: String| Error::Option {
        table: def.name.clone(),
        option: "table-name".into(),
        message,
        span: def.option("table-name").map(|(_, s)| s).unwrap_or(def.span),
    };
    // Rows are appended by position: the existing table must have the DDL's columns, in
    // its order (DuckDB names are case-insensitive).
    let existing: Vec<String> = conn
        .prepare(
            "SELECT column_name FROM information_schema.columns
             WHERE table_name = ? AND table_schema = ? ORDER BY ordinal_position",
        )?
        .query_map(duckdb::params![table_name, schema], |r| r.get(0))?
        .collect::<std::result::Result<_, _>>()?;
    if existing.len() != def.columns.len() {
        return Err(mismatch(format!(
            "DuckDB table {full} exists with {} columns but the DDL declares {}",
            existing.len(),
            def.columns.len()
        )));
    }
    if let Some((found, declared)) = existing
        .iter()
        .zip(&def.columns)
        .find(|(found, c)| !found.eq_ignore_ascii_case(&c.name))
    {
        return Err(mismatch(format!(
            "DuckDB table {full} has column '{found}' where the DDL declares '{}' (columns are written by position)",
            declared.name
        )));
    }
    let keys: Vec<String> = conn
        .prepare(
            "SELECT unnest(constraint_column_names) FROM duckdb_constraints()
             WHERE database_name = current_database() AND schema_name = ? AND table_name = ?
               AND constraint_type = 'PRIMARY KEY'",
        )?
        .query_map([&schema, &table_name], |r| r.get(0))?
        .collect::<std::result::Result<_, _>>()?;
    if !keys.is_empty() && !def.primary_key.is_empty() && keys != def.primary_key {
        return Err(mismatch(format!(
            "DuckDB table {full} has PRIMARY KEY ({}) but the DDL declares PRIMARY KEY ({})",
            keys.join(", "),
            def.primary_key.join(", ")
        )));
    }
    Ok(qualified)
}

/// Creates the DuckDB table of a `duckdb` table definition (a catalog's `CREATE TABLE`).
pub fn create_table(def: &TableDef, base: &Path) -> Result<()> {
    let path = resolve_path(def.option("path").map(|(v, _)| v).unwrap_or_default(), base);
    let conn = open_database(def, &path)?;
    ensure_table(&conn, def)?;
    conn.close().map_err(|(_, e)| Error::from(e))
}

/// Creates a schema (a catalog's `CREATE DATABASE`) in a DuckDB file.
pub fn create_schema(path: &Path, schema: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let conn = connect(path)?;
    conn.execute_batch(&format!("CREATE SCHEMA IF NOT EXISTS {}", quote(schema)))?;
    conn.close().map_err(|(_, e)| Error::from(e))
}

/// `MERGE INTO target` from the staged rows: per key the last change wins; `+I`/`+U` insert
/// or update, `-D` deletes, and so does a `-U` that no insert or update of its key follows
/// (a row the query no longer produces, as when HAVING stops holding).
fn merge_sql(target: &str, columns: &[String], keys: &[String]) -> String {
    let q = |c: &String| quote(c);
    let partition: Vec<String> = keys.iter().map(q).collect();
    let on: Vec<String> = keys
        .iter()
        .map(|k| format!("t.{k} = s.{k}", k = q(k)))
        .collect();
    let set: Vec<String> = columns
        .iter()
        .filter(|c| !keys.contains(c))
        .map(|c| format!("{c} = s.{c}", c = q(c)))
        .collect();
    let names: Vec<String> = columns.iter().map(q).collect();
    let values: Vec<String> = columns.iter().map(|c| format!("s.{}", q(c))).collect();
    let (delete, upsert) = (
        format!(
            "({}, {})",
            RowKind::UpdateBefore as i8,
            RowKind::Delete as i8
        ),
        format!(
            "({}, {})",
            RowKind::Insert as i8,
            RowKind::UpdateAfter as i8
        ),
    );
    let mut sql = format!(
        "MERGE INTO {target} AS t USING (SELECT * FROM temp.main.{stage} QUALIFY row_number() OVER (PARTITION BY {partition} ORDER BY {seq} DESC) = 1) AS s ON {on} WHEN MATCHED AND s.{op} IN {delete} THEN DELETE",
        stage = quote(STAGE),
        partition = partition.join(", "),
        seq = quote(STAGE_SEQ),
        on = on.join(" AND "),
        op = quote(STAGE_OP),
    );
    if !set.is_empty() {
        sql.push_str(&format!(" WHEN MATCHED THEN UPDATE SET {}", set.join(", ")));
    }
    sql.push_str(&format!(
        " WHEN NOT MATCHED AND s.{op} IN {upsert} THEN INSERT ({}) VALUES ({})",
        names.join(", "),
        values.join(", "),
        op = quote(STAGE_OP),
    ));
    sql
}

impl DuckDbSink {
    pub fn open(def: &TableDef, base: &Path) -> Result<Self> {
        let option = |key: &str| def.option(key).map(|(v, _)| v).unwrap_or_default();
        let path = resolve_path(option("path"), base);
        let (schema_name, table_name) = split_table_name(option("table-name"));
        let conn = open_database(def, &path)?;
        let qualified = ensure_table(&conn, def)?;
        let upsert = if def.primary_key.is_empty() {
            None
        } else {
            let flush_rows = match def.option("sink.buffer-flush.max-rows") {
                None => DEFAULT_FLUSH_ROWS,
                Some((v, span)) => {
                    v.trim()
                        .parse::<u64>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| Error::Option {
                            table: def.name.clone(),
                            option: "sink.buffer-flush.max-rows".into(),
                            message: format!("expected a number of rows above 0, found '{v}'"),
                            span,
                        })?
                }
            };
            let mut columns: Vec<String> = def
                .columns
                .iter()
                .map(|c| format!("{} {}", quote(&c.name), duckdb_type(&c.ty)))
                .collect();
            columns.push(format!("{} TINYINT", quote(STAGE_OP)));
            columns.push(format!("{} BIGINT", quote(STAGE_SEQ)));
            conn.execute_batch(&format!(
                "CREATE OR REPLACE TEMP TABLE {} ({})",
                quote(STAGE),
                columns.join(", ")
            ))?;
            let names: Vec<String> = def.columns.iter().map(|c| c.name.clone()).collect();
            let keys = def
                .primary_key
                .iter()
                .map(|k| {
                    names
                        .iter()
                        .position(|n| n == k)
                        .map(|i| (i, k.clone()))
                        .ok_or_else(|| {
                            Error::Internal(format!(
                                "key column '{k}' is not a column of {}",
                                def.name
                            ))
                        })
                })
                .collect::<Result<Vec<_>>>()?;
            Some(Upsert {
                merge: merge_sql(&qualified, &names, &def.primary_key),
                staged: 0,
                seq: 0,
                flush_rows,
                keys,
            })
        };
        Ok(Self {
            table: def.name.clone(),
            path,
            schema_name,
            table_name,
            conn: Some(conn),
            rows: 0,
            in_transaction: false,
            upsert,
        })
    }

    /// Merges the staged rows into the table and empties the stage.
    fn merge(conn: &Connection, upsert: &mut Upsert, table: &str) -> Result<()> {
        if upsert.staged == 0 {
            return Ok(());
        }
        conn.execute_batch(&upsert.merge)
            .map_err(|e| Error::External(format!("duckdb: upserting into '{table}': {e}")))?;
        conn.execute_batch(&format!("DELETE FROM temp.main.{}", quote(STAGE)))?;
        upsert.staged = 0;
        Ok(())
    }
}

impl Sink for DuckDbSink {
    fn write_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let Some(conn) = self.conn.as_ref() else {
            return Err(Error::Internal(
                "duckdb sink written after it was closed".into(),
            ));
        };
        if !self.in_transaction {
            conn.execute_batch("BEGIN TRANSACTION")?;
            self.in_transaction = true;
        }
        let n = batch.num_rows();
        match self.upsert.as_mut() {
            None => {
                if group_aggregate::is_changelog(batch) {
                    return Err(Error::Internal(format!(
                        "the append-only table '{}' was given an updating result",
                        self.table
                    )));
                }
                let names: Vec<String> = batch
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect();
                let converted = for_duckdb(batch.columns(), &names)?;
                let mut appender = match &self.schema_name {
                    Some(s) => conn.appender_to_db(&self.table_name, s)?,
                    None => conn.appender(&self.table_name)?,
                };
                appender.append_record_batch(converted)?;
                appender.flush()?;
            }
            Some(upsert) => {
                let values = group_aggregate::without_op(batch);
                for (i, name) in &upsert.keys {
                    if values.column(*i).null_count() > 0 {
                        return Err(Error::Data(format!(
                            "table '{}': column '{name}' is part of the PRIMARY KEY, so NOT NULL, but the query writes NULL into it",
                            self.table
                        )));
                    }
                }
                let kinds: ArrayRef = match group_aggregate::row_kinds(batch) {
                    Some(k) => Arc::new(k.clone()),
                    None => Arc::new(Int8Array::from(vec![RowKind::Insert as i8; n])),
                };
                let seq: ArrayRef = Arc::new(Int64Array::from_iter_values(
                    upsert.seq..upsert.seq + n as i64,
                ));
                let mut columns = values.columns().to_vec();
                columns.push(kinds);
                columns.push(seq);
                let mut names: Vec<String> = values
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect();
                names.push(STAGE_OP.into());
                names.push(STAGE_SEQ.into());
                let staged = for_duckdb(&columns, &names)?;
                let mut appender = conn.appender_to_catalog_and_db(STAGE, "temp", "main")?;
                appender.append_record_batch(staged)?;
                appender.flush()?;
                drop(appender);
                upsert.staged += n as u64;
                upsert.seq += n as i64;
                if upsert.staged >= upsert.flush_rows {
                    Self::merge(conn, upsert, &self.table)?;
                }
            }
        }
        self.rows += n as u64;
        Ok(())
    }

    /// Merges what is staged and commits the transaction: the commit point of the rows
    /// written since the last call. The sink stays open for more rows.
    fn finish(&mut self) -> Result<()> {
        let Some(conn) = self.conn.as_ref() else {
            return Ok(());
        };
        if let Some(upsert) = self.upsert.as_mut() {
            Self::merge(conn, upsert, &self.table)?;
        }
        if self.in_transaction {
            self.in_transaction = false;
            conn.execute_batch("COMMIT")?;
            // Fold the WAL into the file when no other job of this process is writing it
            // (they share one instance); otherwise DuckDB's automatic checkpoint does it later.
            // Committed rows are durable and visible either way.
            if let Err(e) = conn.execute_batch("CHECKPOINT") {
                if !e.to_string().contains("other write transactions") {
                    return Err(e.into());
                }
            }
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

impl Drop for DuckDbSink {
    /// Rows written since the last finish are rolled back: a failed job leaves nothing
    /// half-written.
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if self.in_transaction {
                // Closing would roll back too; saying so is clearer, and an error here has
                // nowhere to go.
                let _ = conn.execute_batch("ROLLBACK");
            }
            let _ = conn.close();
        }
    }
}

/// Reads a DuckDB table whole, as a bounded source: its rows in the table's order, in
/// batches of the table's declared schema. The database is read when the job starts and
/// closed at once, so the same job may write to the same file.
pub struct DuckDbSource {
    schema: SchemaRef,
    batches: std::collections::VecDeque<RecordBatch>,
    emitted: u64,
}

impl DuckDbSource {
    pub fn open(def: &TableDef, base: &Path) -> Result<Self> {
        let option = |key: &str| def.option(key).map(|(v, _)| v).unwrap_or_default();
        let path = resolve_path(option("path"), base);
        let missing = |message: String| Error::Option {
            table: def.name.clone(),
            option: "path".into(),
            message,
            span: def.option("path").map(|(_, s)| s).unwrap_or(def.span),
        };
        if !path.exists() {
            return Err(missing(format!("no DuckDB database at {}", path.display())));
        }
        let conn = connect_read_only(&path).map_err(|e| {
            missing(format!(
                "cannot open DuckDB database '{}': {e}",
                path.display()
            ))
        })?;
        let (schema_name, table_name) = split_table_name(option("table-name"));
        let qualified = match &schema_name {
            Some(s) => format!("{}.{}", quote(s), quote(&table_name)),
            None => quote(&table_name),
        };
        let columns: Vec<String> = def.columns.iter().map(|c| quote(&c.name)).collect();
        let schema: SchemaRef = Arc::new(def.arrow_schema());
        let mut stmt = conn
            .prepare(&format!("SELECT {} FROM {qualified}", columns.join(", ")))
            .map_err(|e| Error::Option {
                table: def.name.clone(),
                option: "table-name".into(),
                message: format!("cannot read {qualified} in {}: {e}", path.display()),
                span: def.option("table-name").map(|(_, s)| s).unwrap_or(def.span),
            })?;
        let mut batches = std::collections::VecDeque::new();
        for batch in stmt.query_arrow([])? {
            // DuckDB's types (microsecond timestamps...) become the declared ones.
            let columns: Vec<ArrayRef> = batch
                .columns()
                .iter()
                .zip(schema.fields())
                .map(|(c, f)| cast(c, f.data_type()))
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| {
                    Error::Data(format!(
                        "table '{}': cannot read a DuckDB column as declared: {e}",
                        def.name
                    ))
                })?;
            let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
            batches.push_back(
                RecordBatch::try_new_with_options(schema.clone(), columns, &options)
                    .map_err(|e| Error::Internal(format!("a DuckDB batch does not fit: {e}")))?,
            );
        }
        drop(stmt);
        conn.close().map_err(|(_, e)| Error::from(e))?;
        Ok(Self {
            schema,
            batches,
            emitted: 0,
        })
    }
}

impl Source for DuckDbSource {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn poll_batch(&mut self, metrics: &mut JobMetrics) -> Result<Poll> {
        let Some(batch) = self.batches.pop_front() else {
            return Ok(Poll::End);
        };
        metrics.rows_read += batch.num_rows() as u64;
        self.emitted += batch.num_rows() as u64;
        Ok(Poll::Batch(batch))
    }

    fn offset(&self) -> SourceOffset {
        SourceOffset::Rows {
            emitted: self.emitted,
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
    let conn = connect_read_only(path)?;
    page_of(&conn, sql, max_rows)
}

/// Like [`query_duckdb`], with the file attached under the name a script's catalog gives it,
/// so that `catalog.schema.table` reads as in the script (and `schema.table` still does).
pub fn query_catalog(path: &Path, catalog: &str, sql: &str, max_rows: usize) -> Result<ResultPage> {
    if !path.exists() {
        return Err(Error::External(format!(
            "no DuckDB database at {}",
            path.display()
        )));
    }
    let conn = Connection::open_in_memory()?;
    let file = path.display().to_string().replace('\'', "''");
    conn.execute_batch(&format!(
        "ATTACH '{file}' AS {name} (READ_ONLY); USE {name};",
        name = quote(catalog)
    ))?;
    page_of(&conn, sql, max_rows)
}

fn page_of(conn: &Connection, sql: &str, max_rows: usize) -> Result<ResultPage> {
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use arrow::array::{Int64Array, Int8Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::operators::group_aggregate::{RowKind, OP_COLUMN};
    use crate::sql::{parse_script, Statement};

    fn table(options: &str) -> TableDef {
        let sql = format!(
            "CREATE TABLE t (k STRING, n BIGINT, PRIMARY KEY (k) NOT ENFORCED) WITH ('connector' = 'duckdb', 'path' = 'db.duckdb', 'table-name' = 's.t'{options})"
        );
        match parse_script(&sql, &HashMap::new()).unwrap().remove(0) {
            Statement::CreateTable(t) => *t,
            other => panic!("{other:?}"),
        }
    }

    /// A changelog batch `(k, n, kind)`.
    fn changes(rows: &[(&str, i64, RowKind)]) -> RecordBatch {
        let schema = Schema::new(vec![
            Field::new("k", DataType::Utf8, true),
            Field::new("n", DataType::Int64, true),
            Field::new(OP_COLUMN, DataType::Int8, false),
        ]);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))),
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.1))),
                Arc::new(Int8Array::from_iter_values(rows.iter().map(|r| r.2 as i8))),
            ],
        )
        .unwrap()
    }

    /// Every row of s.t, by key.
    fn rows(dir: &Path) -> Vec<(String, i64)> {
        let conn = Connection::open(dir.join("db.duckdb")).unwrap();
        let mut stmt = conn.prepare("SELECT k, n FROM s.t ORDER BY k").unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    use RowKind::{Delete as D, Insert as I, UpdateAfter as UA, UpdateBefore as UB};

    #[test]
    fn changes_upsert_and_delete_by_key_the_last_change_winning() {
        // Merging after every row and once per commit must give the same table.
        for options in ["", ", 'sink.buffer-flush.max-rows' = '1'"] {
            let dir = tempfile::tempdir().unwrap();
            let mut sink = DuckDbSink::open(&table(options), dir.path()).unwrap();
            sink.write_batch(&changes(&[
                ("a", 1, I),
                ("b", 2, I),
                ("a", 1, UB),
                ("a", 5, UA),
                ("c", 3, I),
                ("b", 2, D),
            ]))
            .unwrap();
            sink.finish().unwrap();
            assert_eq!(rows(dir.path()), [("a".into(), 5), ("c".into(), 3)]);
            // A deleted key comes back; -U then +U in one batch is one update.
            sink.write_batch(&changes(&[("b", 7, I), ("c", 3, UB), ("c", 4, UA)]))
                .unwrap();
            sink.write_batch(&changes(&[("a", 5, D)])).unwrap();
            sink.finish().unwrap();
            assert_eq!(
                rows(dir.path()),
                [("b".into(), 7), ("c".into(), 4)],
                "{options}"
            );
            assert_eq!(sink.report().rows_written, 10);
        }
    }

    #[test]
    fn an_update_before_that_no_update_follows_deletes_the_row() {
        // HAVING COUNT(*) < 2 after a count goes from 1 to 2: only `-U[a, 1]` passes.
        let dir = tempfile::tempdir().unwrap();
        let mut sink = DuckDbSink::open(&table(""), dir.path()).unwrap();
        sink.write_batch(&changes(&[("a", 1, I), ("b", 1, I)]))
            .unwrap();
        sink.finish().unwrap();
        sink.write_batch(&changes(&[("a", 1, UB)])).unwrap();
        sink.finish().unwrap();
        assert_eq!(rows(dir.path()), [("b".into(), 1)]);
    }

    #[test]
    fn appends_into_a_keyed_table_are_upserts() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = DuckDbSink::open(&table(""), dir.path()).unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Utf8, true),
            Field::new("n", DataType::Int64, true),
        ]));
        let batch = |k: &[&str], n: &[i64]| {
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(StringArray::from_iter_values(k.iter().copied())),
                    Arc::new(Int64Array::from(n.to_vec())),
                ],
            )
            .unwrap()
        };
        sink.write_batch(&batch(&["a", "b", "a"], &[1, 2, 3]))
            .unwrap();
        sink.finish().unwrap();
        sink.write_batch(&batch(&["b"], &[9])).unwrap();
        sink.finish().unwrap();
        assert_eq!(rows(dir.path()), [("a".into(), 3), ("b".into(), 9)]);
    }

    #[test]
    fn rows_are_visible_only_once_finish_commits_them() {
        for keyed in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let mut def = table("");
            if !keyed {
                def.primary_key.clear();
            }
            let batch = |k: &str| {
                let b = changes(&[(k, 1, I)]);
                b.project(&[0, 1]).unwrap()
            };
            {
                let mut sink = DuckDbSink::open(&def, dir.path()).unwrap();
                sink.write_batch(&batch("a")).unwrap();
                sink.finish().unwrap();
                sink.write_batch(&batch("b")).unwrap();
                // The job fails here: the sink is dropped without a finish.
            }
            assert_eq!(rows(dir.path()), [("a".into(), 1)], "keyed: {keyed}");
        }
    }

    #[test]
    fn a_null_key_fails_and_names_the_column() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = DuckDbSink::open(&table(""), dir.path()).unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Utf8, true),
            Field::new("n", DataType::Int64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec![Some("a"), None])),
                Arc::new(Int64Array::from(vec![1, 2])),
            ],
        )
        .unwrap();
        let err = sink.write_batch(&batch).unwrap_err();
        assert_eq!(err.code(), "data.invalid");
        assert!(
            err.to_string()
                .contains("column 'k' is part of the PRIMARY KEY"),
            "{err}"
        );
    }

    #[test]
    fn the_table_is_created_with_the_primary_key_and_checked_against_it() {
        let dir = tempfile::tempdir().unwrap();
        drop(DuckDbSink::open(&table(""), dir.path()).unwrap());
        let conn = Connection::open(dir.path().join("db.duckdb")).unwrap();
        let key: String = conn
            .query_row(
                "SELECT constraint_column_names::VARCHAR FROM duckdb_constraints() WHERE schema_name = 's' AND table_name = 't' AND constraint_type = 'PRIMARY KEY'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(key, "[k]");
        drop(conn);
        let mut other = table("");
        other.primary_key = vec!["n".into()];
        let err = DuckDbSink::open(&other, dir.path()).err().unwrap();
        assert!(
            err.to_string()
                .contains("has PRIMARY KEY (k) but the DDL declares PRIMARY KEY (n)"),
            "{err}"
        );
        let mut renamed = table("");
        renamed.columns[1].name = "m".into();
        renamed.primary_key.clear();
        let err = DuckDbSink::open(&renamed, dir.path()).err().unwrap();
        assert!(
            err.to_string()
                .contains("has column 'n' where the DDL declares 'm'"),
            "{err}"
        );
        let err = DuckDbSink::open(&table(", 'sink.buffer-flush.max-rows' = '0'"), dir.path())
            .err()
            .unwrap();
        assert!(
            err.to_string()
                .contains("option 'sink.buffer-flush.max-rows': expected a number of rows above 0"),
            "{err}"
        );
    }

    #[test]
    fn a_source_reads_the_table_back_in_the_declared_types() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = DuckDbSink::open(&table(""), dir.path()).unwrap();
        sink.write_batch(&changes(&[("a", 1, I), ("b", 2, I)]))
            .unwrap();
        sink.finish().unwrap();
        drop(sink);
        let mut source = DuckDbSource::open(&table(""), dir.path()).unwrap();
        let mut metrics = JobMetrics::default();
        let Poll::Batch(batch) = source.poll_batch(&mut metrics).unwrap() else {
            panic!("a batch expected")
        };
        assert_eq!(batch.schema(), source.schema());
        assert_eq!(batch.num_rows(), 2);
        assert!(matches!(
            source.poll_batch(&mut metrics).unwrap(),
            Poll::End
        ));
        assert_eq!(source.offset(), SourceOffset::Rows { emitted: 2 });
        assert_eq!(metrics.rows_read, 2);
    }
}
