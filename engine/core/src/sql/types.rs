//! Flink SQL column types and their Arrow representation.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, TimeUnit};

/// A column type as written in Flink DDL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlType {
    String,
    Boolean,
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    Float,
    Double,
    Decimal {
        precision: u8,
        scale: i8,
    },
    Date,
    /// `TIMESTAMP(p)`: wall-clock time without a zone.
    Timestamp {
        precision: u8,
    },
    /// `TIMESTAMP_LTZ(p)`: an instant.
    TimestampLtz {
        precision: u8,
    },
    Array(Box<SqlType>),
    Map(Box<SqlType>, Box<SqlType>),
    Bytes,
}

impl SqlType {
    /// The Arrow type Weir uses for values of this type.
    pub fn to_arrow(&self) -> DataType {
        match self {
            SqlType::String => DataType::Utf8,
            SqlType::Boolean => DataType::Boolean,
            SqlType::TinyInt => DataType::Int8,
            SqlType::SmallInt => DataType::Int16,
            SqlType::Int => DataType::Int32,
            SqlType::BigInt => DataType::Int64,
            SqlType::Float => DataType::Float32,
            SqlType::Double => DataType::Float64,
            SqlType::Decimal { precision, scale } => DataType::Decimal128(*precision, *scale),
            SqlType::Date => DataType::Date32,
            SqlType::Timestamp { precision } => DataType::Timestamp(time_unit(*precision), None),
            SqlType::TimestampLtz { precision } => {
                DataType::Timestamp(time_unit(*precision), Some("UTC".into()))
            }
            SqlType::Array(inner) => {
                DataType::List(Arc::new(Field::new("element", inner.to_arrow(), true)))
            }
            SqlType::Map(k, v) => DataType::Map(
                Arc::new(Field::new(
                    "entries",
                    DataType::Struct(
                        vec![
                            Field::new("key", k.to_arrow(), false),
                            Field::new("value", v.to_arrow(), true),
                        ]
                        .into(),
                    ),
                    false,
                )),
                false,
            ),
            SqlType::Bytes => DataType::Binary,
        }
    }

    /// The Flink spelling of an Arrow type, for result headers.
    pub fn flink_name_of(dt: &DataType) -> String {
        match dt {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "STRING".into(),
            DataType::Boolean => "BOOLEAN".into(),
            DataType::Int8 => "TINYINT".into(),
            DataType::Int16 => "SMALLINT".into(),
            DataType::Int32 => "INT".into(),
            DataType::Int64 => "BIGINT".into(),
            DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
                "BIGINT".into()
            }
            DataType::Float32 => "FLOAT".into(),
            DataType::Float64 => "DOUBLE".into(),
            DataType::Decimal128(p, s) => format!("DECIMAL({p}, {s})"),
            DataType::Date32 => "DATE".into(),
            DataType::Timestamp(unit, tz) => {
                let p = match unit {
                    TimeUnit::Second => 0,
                    TimeUnit::Millisecond => 3,
                    TimeUnit::Microsecond => 6,
                    TimeUnit::Nanosecond => 9,
                };
                if tz.is_some() {
                    format!("TIMESTAMP_LTZ({p})")
                } else {
                    format!("TIMESTAMP({p})")
                }
            }
            DataType::List(f) | DataType::LargeList(f) => {
                format!("ARRAY<{}>", Self::flink_name_of(f.data_type()))
            }
            DataType::Binary | DataType::LargeBinary => "BYTES".into(),
            DataType::Null => "NULL".into(),
            other => other.to_string(),
        }
    }
}

fn time_unit(precision: u8) -> TimeUnit {
    match precision {
        0..=3 => TimeUnit::Millisecond,
        4..=6 => TimeUnit::Microsecond,
        _ => TimeUnit::Nanosecond,
    }
}
