//! Late rows: what the window operators do with a row whose windows have all fired. As in
//! Flink, it is dropped and counted (`late_rows_dropped`); beyond Flink, when the job sets
//! `weir.late-rows.table`, it is also kept, with why it was late, and written to that table.
//! Every operator that judges lateness records its late rows here, so they all route them
//! the same way.

use std::fmt;
use std::sync::Arc;

use arrow::array::{ArrayRef, StringArray, TimestampMillisecondArray, UInt32Array};
use arrow::compute::take_record_batch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use weir_api::JobMetrics;

use crate::connectors::Sink;
use crate::sql::query::{WINDOW_END, WINDOW_START, WINDOW_TIME};
use crate::sql::TableDef;
use crate::{Error, Result};

/// The `SET` key naming the table late rows go to.
pub const LATE_ROWS_TABLE: &str = "weir.late-rows.table";

/// The columns a late row carries besides its own: why it was late, the watermark that
/// judged it, the operator that dropped it (as EXPLAIN names it), and the row as JSON.
pub const LATE_REASON: &str = "late_reason";
pub const LATE_WATERMARK: &str = "late_watermark";
pub const LATE_OPERATOR: &str = "late_operator";
pub const LATE_ROW: &str = "late_row";
/// For the late rows of a join: the input the row came from (`left` or `right`). The two
/// inputs have different columns, so a join's late rows carry only the row as JSON.
pub const LATE_SIDE: &str = "late_side";

/// The late rows of one operator: counted always, kept when routed to a table.
pub struct LateRows {
    /// The operator's input columns that make up a row (the window columns left out).
    columns: Vec<usize>,
    /// Those columns, then the late-row columns.
    schema: SchemaRef,
    /// Whether the rows come from the inputs of a join (`late_side` added, no own columns).
    sided: bool,
    /// Set when late rows are routed: the operator's name.
    operator: Option<String>,
    pending: Vec<RecordBatch>,
}

fn arrow_err(e: arrow::error::ArrowError) -> Error {
    Error::Internal(format!("cannot keep late rows: {e}"))
}

/// A millisecond timestamp as the engine prints it (`2026-02-12 10:00:00.000`).
pub fn timestamp_text(ms: i64) -> String {
    let array: ArrayRef = Arc::new(TimestampMillisecondArray::from(vec![ms]));
    crate::format::cell_text(&array, 0)
}

impl LateRows {
    /// Late rows of an operator whose input rows are of `input`.
    pub fn new(input: &Schema) -> Self {
        let columns = Self::row_columns(input);
        let mut fields: Vec<Field> = columns
            .iter()
            .map(|i| input.field(*i).clone().with_nullable(true))
            .collect();
        fields.extend([
            Field::new(LATE_REASON, DataType::Utf8, false),
            Field::new(
                LATE_WATERMARK,
                DataType::Timestamp(TimeUnit::Millisecond, None),
                true,
            ),
            Field::new(LATE_OPERATOR, DataType::Utf8, false),
            Field::new(LATE_ROW, DataType::Utf8, false),
        ]);
        Self {
            columns,
            schema: Arc::new(Schema::new(fields)),
            sided: false,
            operator: None,
            pending: Vec::new(),
        }
    }

    /// Late rows of an operator with two inputs of different columns (a join): `late_reason`,
    /// `late_watermark`, `late_operator`, `late_row` (the input's row as JSON, without window
    /// columns) and `late_side`.
    pub fn of_inputs() -> Self {
        let mut late = Self::new(&Schema::empty());
        let mut fields: Vec<Field> = late
            .schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields.push(Field::new(LATE_SIDE, DataType::Utf8, false));
        late.schema = Arc::new(Schema::new(fields));
        late.sided = true;
        late
    }

    /// The columns of `input` that make up a late row: all but the window columns (and
    /// columns named like the late-row columns).
    fn row_columns(input: &Schema) -> Vec<usize> {
        let own = [
            LATE_REASON,
            LATE_WATERMARK,
            LATE_OPERATOR,
            LATE_ROW,
            LATE_SIDE,
        ];
        input
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| {
                ![WINDOW_START, WINDOW_END, WINDOW_TIME].contains(&f.name().as_str())
                    && !own.contains(&f.name().as_str())
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// The columns of a late row: the row's own (without window columns), then
    /// `late_reason`, `late_watermark`, `late_operator`, `late_row`.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Keeps late rows from now on, naming them after `operator`.
    pub fn route(&mut self, operator: String) {
        self.operator = Some(operator);
    }

    /// Rows `late` of `batch` are late, for the reasons given (one per row): they are counted
    /// and, when routed, kept for the late-rows table.
    pub fn record(
        &mut self,
        batch: &RecordBatch,
        late: Vec<u32>,
        reasons: Vec<String>,
        watermark: Option<i64>,
        metrics: &mut JobMetrics,
    ) -> Result<()> {
        self.keep(batch, late, reasons, watermark, None, metrics)
    }

    /// Rows `late` of `batch`, from input `side` of a join (see [`LateRows::of_inputs`]),
    /// are late: counted and, when routed, kept.
    pub fn record_side(
        &mut self,
        side: &str,
        batch: &RecordBatch,
        late: Vec<u32>,
        reasons: Vec<String>,
        watermark: Option<i64>,
        metrics: &mut JobMetrics,
    ) -> Result<()> {
        self.keep(batch, late, reasons, watermark, Some(side), metrics)
    }

    fn keep(
        &mut self,
        batch: &RecordBatch,
        late: Vec<u32>,
        reasons: Vec<String>,
        watermark: Option<i64>,
        side: Option<&str>,
        metrics: &mut JobMetrics,
    ) -> Result<()> {
        metrics.late_rows_dropped += late.len() as u64;
        let Some(operator) = &self.operator else {
            return Ok(());
        };
        if late.is_empty() {
            return Ok(());
        }
        let n = late.len();
        let rows = take_record_batch(batch, &UInt32Array::from(late)).map_err(arrow_err)?;
        // The row in JSON: the operator's row columns, or a join input's own columns.
        let own: Vec<usize> = if self.sided {
            Self::row_columns(rows.schema().as_ref())
        } else {
            self.columns.clone()
        };
        let json_rows = rows.project(&own).map_err(arrow_err)?;
        let json: Vec<String> = (0..n)
            .map(|r| crate::format::row_json_object(&json_rows, r).to_string())
            .collect();
        let rows = rows.project(&self.columns).map_err(arrow_err)?;
        let mut columns = rows.columns().to_vec();
        columns.push(Arc::new(StringArray::from(reasons)));
        columns.push(Arc::new(TimestampMillisecondArray::from(vec![
            watermark;
            n
        ])));
        columns.push(Arc::new(StringArray::from(vec![operator.as_str(); n])));
        columns.push(Arc::new(StringArray::from(json)));
        if self.sided {
            columns.push(Arc::new(StringArray::from(vec![
                side.unwrap_or_default();
                n
            ])));
        }
        self.pending
            .push(super::batch_of(&self.schema, columns, n)?);
        Ok(())
    }

    /// The late rows kept since the last call.
    pub fn take(&mut self) -> Vec<RecordBatch> {
        std::mem::take(&mut self.pending)
    }
}

/// The table late rows are written to: its columns, each taken by name from a late row.
pub struct LateRowsSink {
    table: String,
    sink: Box<dyn Sink>,
    schema: SchemaRef,
}

/// Checks that `table` can take late rows of `late` (each of its columns is a late-row
/// column of a type that converts); the index of each column's source.
pub fn late_rows_mapping(table: &TableDef, late: &Schema) -> Result<Vec<usize>> {
    let target = table.arrow_schema();
    let mut mapping = Vec::with_capacity(target.fields().len());
    for f in target.fields() {
        let Ok(i) = late.index_of(f.name()) else {
            let names: Vec<&str> = late.fields().iter().map(|f| f.name().as_str()).collect();
            return Err(Error::Sql {
                message: format!(
                    "'{LATE_ROWS_TABLE}' names table '{}', whose column '{}' late rows do not have; late rows of this query have: {}",
                    table.name,
                    f.name(),
                    names.join(", ")
                ),
                span: table.span,
            });
        };
        let from = late.field(i).data_type();
        if from != f.data_type() && !arrow::compute::can_cast_types(from, f.data_type()) {
            return Err(Error::Sql {
                message: format!(
                    "'{LATE_ROWS_TABLE}' names table '{}', whose column '{}' ({}) cannot take the late rows' {} ({})",
                    table.name,
                    f.name(),
                    crate::sql::types::SqlType::flink_name_of(f.data_type()),
                    f.name(),
                    crate::sql::types::SqlType::flink_name_of(from),
                ),
                span: table.span,
            });
        }
        mapping.push(i);
    }
    Ok(mapping)
}

impl LateRowsSink {
    /// A sink for `table`, checked with [`late_rows_mapping`] against every layout of late
    /// rows the job has.
    pub fn new(table: &TableDef, sink: Box<dyn Sink>) -> Self {
        Self {
            table: table.name.clone(),
            sink,
            schema: Arc::new(table.arrow_schema()),
        }
    }

    /// Writes late rows (of a layout [`LateRows::schema`] gives: one operator's own columns,
    /// or a join's) to the table, each column taken by name.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let columns = self
            .schema
            .fields()
            .iter()
            .map(|f| {
                batch.column_by_name(f.name()).cloned().ok_or_else(|| {
                    Error::Internal(format!("late rows without column {}", f.name()))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let out = super::batch_of(&self.schema, columns, batch.num_rows())?;
        self.sink.write_batch(&out)
    }

    /// Commits what was written, with the job's sink.
    pub fn finish(&mut self) -> Result<()> {
        self.sink.finish()
    }

    pub fn report(&self) -> weir_api::SinkReport {
        self.sink.report()
    }
}

impl fmt::Display for LateRowsSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Late rows: to {}", self.table)
    }
}
