//! Arrow values as people and JSON see them: result pages for the UI, JSON lines for the
//! filesystem sink, `+I[...]` rows for the print sink.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{
    DataType, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type,
    UInt32Type, UInt64Type, UInt8Type,
};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use serde_json::Value;
use weir_api::{Column, ResultPage};

use crate::sql::types::SqlType;

fn options() -> FormatOptions<'static> {
    FormatOptions::default()
        .with_null("NULL")
        .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.3f"))
        .with_timestamp_tz_format(Some("%Y-%m-%d %H:%M:%S%.3f"))
}

/// The value at `row` as JSON: numbers stay numbers, timestamps become SQL-formatted strings.
pub fn cell_json(array: &ArrayRef, row: usize) -> Value {
    if array.is_null(row) {
        return Value::Null;
    }
    macro_rules! num {
        ($t:ty) => {
            Value::from(array.as_primitive::<$t>().value(row))
        };
    }
    match array.data_type() {
        DataType::Boolean => Value::Bool(array.as_boolean().value(row)),
        DataType::Int8 => num!(Int8Type),
        DataType::Int16 => num!(Int16Type),
        DataType::Int32 => num!(Int32Type),
        DataType::Int64 => num!(Int64Type),
        DataType::UInt8 => num!(UInt8Type),
        DataType::UInt16 => num!(UInt16Type),
        DataType::UInt32 => num!(UInt32Type),
        DataType::UInt64 => num!(UInt64Type),
        DataType::Float32 => float(array.as_primitive::<Float32Type>().value(row) as f64),
        DataType::Float64 => float(array.as_primitive::<Float64Type>().value(row)),
        DataType::Utf8 => Value::String(array.as_string::<i32>().value(row).to_string()),
        DataType::LargeUtf8 => Value::String(array.as_string::<i64>().value(row).to_string()),
        DataType::Utf8View => Value::String(array.as_string_view().value(row).to_string()),
        DataType::List(_) => {
            let list = array.as_list::<i32>().value(row);
            Value::Array((0..list.len()).map(|i| cell_json(&list, i)).collect())
        }
        DataType::Decimal128(_, _) => {
            let text = cell_text(array, row);
            text.parse::<f64>()
                .map(float)
                .unwrap_or(Value::String(text))
        }
        _ => Value::String(cell_text(array, row)),
    }
}

fn float(f: f64) -> Value {
    serde_json::Number::from_f64(f)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// The value at `row` as text (`NULL` for nulls).
pub fn cell_text(array: &ArrayRef, row: usize) -> String {
    match ArrayFormatter::try_new(array.as_ref(), &options()) {
        Ok(f) => f.value(row).to_string(),
        Err(_) => "?".into(),
    }
}

/// The columns of a page of rows of `schema`, with Flink's type names.
pub fn columns_of(schema: &arrow::datatypes::Schema) -> Vec<Column> {
    schema
        .fields()
        .iter()
        .map(|f| Column {
            name: f.name().clone(),
            data_type: SqlType::flink_name_of(f.data_type()),
        })
        .collect()
}

/// Appends up to `limit` rows of `batch` to `page`; counts all rows in `total_rows`.
pub fn append_to_page(page: &mut ResultPage, batch: &RecordBatch, limit: usize) {
    if page.columns.is_empty() {
        page.columns = columns_of(&batch.schema());
    }
    let room = limit.saturating_sub(page.rows.len()).min(batch.num_rows());
    for row in 0..room {
        page.rows
            .push(batch.columns().iter().map(|c| cell_json(c, row)).collect());
    }
    page.total_rows += batch.num_rows() as u64;
}

/// One row as a JSON object keyed by column name (the `json` format's encoding).
pub fn row_json_object(batch: &RecordBatch, row: usize) -> Value {
    let schema = batch.schema();
    let map = schema
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(f, c)| (f.name().clone(), cell_json(c, row)))
        .collect::<serde_json::Map<_, _>>();
    Value::Object(map)
}

/// One row as Flink's print sink writes it: `+I[a, 1, 2026-02-12 10:30:00.000]`.
pub fn row_print(
    batch: &RecordBatch,
    row: usize,
    kind: crate::operators::group_aggregate::RowKind,
) -> String {
    let cells: Vec<String> = batch.columns().iter().map(|c| cell_text(c, row)).collect();
    format!("{}[{}]", kind.short(), cells.join(", "))
}

pub use arrow::record_batch::RecordBatch;

/// Batches as a text table.
pub fn pretty(batches: &[RecordBatch]) -> crate::Result<String> {
    arrow::util::pretty::pretty_format_batches_with_options(batches, &options())
        .map(|t| t.to_string())
        .map_err(|e| crate::Error::Internal(format!("cannot format rows: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Float64Array, StringArray, TimestampMillisecondArray};
    use std::sync::Arc;

    #[test]
    fn page_and_print_formats() {
        let batch = RecordBatch::try_from_iter(vec![
            (
                "t",
                Arc::new(StringArray::from(vec![Some("a"), None])) as ArrayRef,
            ),
            (
                "x",
                Arc::new(Float64Array::from(vec![1.5, 2.0])) as ArrayRef,
            ),
            (
                "ts",
                Arc::new(TimestampMillisecondArray::from(vec![0, 1_770_892_200_250])) as ArrayRef,
            ),
        ])
        .unwrap();
        let mut page = ResultPage::default();
        append_to_page(&mut page, &batch, 1);
        assert_eq!(page.total_rows, 2);
        assert_eq!(page.rows.len(), 1);
        assert_eq!(page.columns[2].data_type, "TIMESTAMP(3)");
        assert_eq!(
            page.rows[0][2],
            Value::String("1970-01-01 00:00:00.000".into())
        );
        assert_eq!(
            row_print(
                &batch,
                1,
                crate::operators::group_aggregate::RowKind::UpdateBefore
            ),
            "-U[NULL, 2.0, 2026-02-12 10:30:00.250]"
        );
        assert_eq!(row_json_object(&batch, 0)["x"], serde_json::json!(1.5));
    }
}
