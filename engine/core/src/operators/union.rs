//! `UNION ALL`: the rows of every input, as they come, with the union's column names and
//! types (DataFusion coerces the inputs' types to the union's; a batch is cast where its
//! arrays still differ). Its watermark is the smallest of its inputs', as Flink's union
//! forwards it, which the job loop computes for every [`MultiInputOperator`]. No state.
//!
//! An updating input keeps its row kinds: its batches pass with their `__op` column, so the
//! union is updating when any input is, and then the rows of its append-only inputs are
//! inserts (`+I`).

use std::fmt;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use weir_api::JobMetrics;

use arrow::array::Int8Array;

use super::group_aggregate::{is_changelog, RowKind, OP_COLUMN};
use super::MultiInputOperator;
use crate::Result;

pub struct Union {
    schema: SchemaRef,
    /// The schema with the row-kind column, for batches of an updating input.
    changelog: SchemaRef,
    inputs: usize,
    /// Some input is updating: every batch leaves as a changelog.
    updating: bool,
}

impl Union {
    /// A union of `inputs` inputs producing `schema`; `updating` when one of them is.
    pub fn new(schema: SchemaRef, inputs: usize, updating: bool) -> Self {
        let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.push(Field::new(OP_COLUMN, DataType::Int8, false));
        Self {
            schema,
            changelog: std::sync::Arc::new(Schema::new(fields)),
            inputs,
            updating,
        }
    }
}

impl fmt::Display for Union {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Union: UNION ALL of {} inputs", self.inputs)
    }
}

impl MultiInputOperator for Union {
    fn process_batch(
        &mut self,
        _input: usize,
        batch: RecordBatch,
        _: &mut JobMetrics,
    ) -> Result<Vec<RecordBatch>> {
        let rows = batch.num_rows();
        let mut columns = batch.columns().to_vec();
        let schema = if is_changelog(&batch) {
            &self.changelog
        } else if self.updating {
            columns.push(std::sync::Arc::new(Int8Array::from(vec![
                RowKind::Insert
                    as i8;
                rows
            ])));
            &self.changelog
        } else {
            &self.schema
        };
        Ok(vec![super::batch_of(schema, columns, rows)?])
    }

    fn process_watermark(&mut self, _: i64, _: &mut JobMetrics) -> Result<Vec<RecordBatch>> {
        Ok(vec![])
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Array, Int32Array, Int64Array, StringArray};

    use super::*;

    #[test]
    fn takes_the_union_names_and_types_and_keeps_row_kinds() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Utf8, true),
            Field::new("v", DataType::Int64, true),
        ]));
        let mut union = Union::new(schema.clone(), 2, false);
        let other = Arc::new(Schema::new(vec![
            Field::new("name", DataType::Utf8, true),
            Field::new("n", DataType::Int32, true),
        ]));
        let batch = RecordBatch::try_new(
            other,
            vec![
                Arc::new(StringArray::from(vec!["a"])),
                Arc::new(Int32Array::from(vec![7])),
            ],
        )
        .unwrap();
        let out = union
            .process_batch(1, batch, &mut JobMetrics::default())
            .unwrap();
        assert_eq!(out[0].schema().field(0).name(), "k");
        let v = out[0]
            .column(1)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(v.value(0), 7);
        // A changelog batch keeps its row kinds.
        let changelog = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Utf8, true),
            Field::new("v", DataType::Int64, true),
            Field::new(OP_COLUMN, DataType::Int8, false),
        ]));
        let batch = RecordBatch::try_new(
            changelog,
            vec![
                Arc::new(StringArray::from(vec!["a"])),
                Arc::new(Int64Array::from(vec![1])),
                Arc::new(arrow::array::Int8Array::from(vec![3])),
            ],
        )
        .unwrap();
        let out = union
            .process_batch(0, batch, &mut JobMetrics::default())
            .unwrap();
        assert!(is_changelog(&out[0]));
        assert_eq!(out[0].column(2).len(), 1);
        // With an updating input, the rows of an append-only one are inserts.
        let mut union = Union::new(schema.clone(), 2, true);
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec!["a", "b"])),
                Arc::new(Int64Array::from(vec![1, 2])),
            ],
        )
        .unwrap();
        let out = union
            .process_batch(0, batch, &mut JobMetrics::default())
            .unwrap();
        let kinds = crate::operators::group_aggregate::row_kinds(&out[0]).unwrap();
        assert_eq!(kinds.values().to_vec(), vec![RowKind::Insert as i8; 2]);
    }
}
