//! Flink's `json` format: decodes JSON lines into Arrow batches with Flink's conversions
//! (objects read into STRING columns as their JSON text, numbers parsed from strings, SQL or
//! ISO-8601 timestamps) and its error options (`json.fail-on-missing-field`,
//! `json.ignore-parse-errors`). A bad line never leaves a half-written row behind.
//!
//! The decoder is driven by the table's schema and builds no JSON tree: a serde visitor walks
//! each line once, matches every key to its column (trying the column the same key position
//! named on the previous line first), converts the value straight into a [`Cell`] of that
//! column's type and validates unknown fields without keeping them. A row's cells are staged
//! (strings as ranges of one reused text buffer) and appended to the builders only once the
//! whole line parsed and converted. Objects and arrays read into a STRING column are written
//! as the compact JSON text serde_json's `Value` would print (keys in their order); the rare
//! line where such an object repeats a key (or has more than [`MAX_NESTED_KEYS`] keys) is
//! decoded again through a `serde_json::Value`, the reference path, which keeps the last
//! value at the first key's place.

use std::fmt::{self, Write as _};

use arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder,
    Float64Builder, Int16Builder, Int32Builder, Int64Builder, Int8Builder, ListBuilder,
    StringBuilder, TimestampMicrosecondBuilder, TimestampMillisecondBuilder,
    TimestampNanosecondBuilder,
};
use arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Number, Value};

use crate::{Error, Result};

mod scan;

/// `json.timestamp-format.standard`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampStandard {
    /// `2026-02-12 10:30:00.000`
    Sql,
    /// `2026-02-12T10:30:00.000Z`
    Iso8601,
}

#[derive(Debug, Clone, Copy)]
pub struct JsonOptions {
    pub fail_on_missing_field: bool,
    pub ignore_parse_errors: bool,
    pub timestamp_standard: TimestampStandard,
}

impl Default for JsonOptions {
    fn default() -> Self {
        Self {
            fail_on_missing_field: false,
            ignore_parse_errors: false,
            timestamp_standard: TimestampStandard::Sql,
        }
    }
}

/// Nested objects read into STRING with more keys than this go through the `Value` path (the
/// duplicate-key check is quadratic).
const MAX_NESTED_KEYS: usize = 32;

/// Key positions remembered from the previous line (longer lines look their extra keys up).
const MAX_KEY_POSITIONS: usize = 256;

/// A value converted for one column, held until the whole row converted.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    /// A string: `start..end` of the row's text buffer.
    Text(usize, usize),
    Bool(bool),
    Int(i64),
    Float(f64),
    Decimal(i128),
    /// Nanoseconds since the epoch.
    Timestamp(i64),
    Date(i32),
    List(Vec<Cell>),
}

/// What the line said about one column.
#[derive(Debug, Clone, PartialEq)]
enum Slot {
    Missing,
    Value(Cell),
    /// The value did not convert (the message, without the field name).
    Failed(String),
}

/// The row being decoded: one slot per column and the text its strings point into.
#[derive(Default)]
struct Row {
    slots: Vec<Slot>,
    text: String,
    /// A nested object repeated a key (or was large): decode the line through a `Value`.
    needs_tree: bool,
}

impl Row {
    fn reset(&mut self, columns: usize) {
        if self.slots.len() == columns {
            // Most slots hold a plain cell: overwrite only what holds something to drop.
            for slot in &mut self.slots {
                if !matches!(slot, Slot::Missing) {
                    *slot = Slot::Missing;
                }
            }
        } else {
            self.slots.clear();
            self.slots.resize(columns, Slot::Missing);
        }
        self.text.clear();
        self.needs_tree = false;
    }
}

/// Column names, and what each key position named on the previous line: lines of one
/// source usually list their keys in the same order, so one comparison finds the column (or
/// tells that the key is none of them).
struct KeyIndex {
    names: Vec<Box<str>>,
    last: Vec<LastKey>,
}

/// What a key position named on the previous line.
enum LastKey {
    Column(usize),
    /// A key that names no column.
    Unknown(Box<str>),
}

impl KeyIndex {
    fn find(&mut self, position: usize, key: &str) -> Option<usize> {
        match self.last.get(position) {
            Some(LastKey::Column(c)) if self.names.get(*c).is_some_and(|n| **n == *key) => {
                return Some(*c)
            }
            Some(LastKey::Unknown(k)) if **k == *key => return None,
            _ => {}
        }
        let found = self.names.iter().position(|n| **n == *key);
        let entry = match found {
            Some(c) => LastKey::Column(c),
            None => LastKey::Unknown(key.into()),
        };
        if let Some(slot) = self.last.get_mut(position) {
            *slot = entry;
        } else if position == self.last.len() && position < MAX_KEY_POSITIONS {
            self.last.push(entry);
        }
        found
    }
}

/// One column's builder, typed so that appending needs no downcast.
enum ColumnBuilder {
    Bool(BooleanBuilder),
    Int8(Int8Builder),
    Int16(Int16Builder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Float32(Float32Builder),
    Float64(Float64Builder),
    Decimal(Decimal128Builder),
    Date(Date32Builder),
    Millis(TimestampMillisecondBuilder),
    Micros(TimestampMicrosecondBuilder),
    Nanos(TimestampNanosecondBuilder),
    List(ListBuilder<Box<dyn ArrayBuilder>>, DataType),
    Str(StringBuilder),
    /// A column the query does not read: its values are parsed (the line must still be
    /// valid JSON) but not converted, and the column is all NULL.
    Skipped(DataType),
}

impl ColumnBuilder {
    fn new(dt: &DataType) -> Self {
        match dt {
            DataType::Boolean => Self::Bool(BooleanBuilder::new()),
            DataType::Int8 => Self::Int8(Int8Builder::new()),
            DataType::Int16 => Self::Int16(Int16Builder::new()),
            DataType::Int32 => Self::Int32(Int32Builder::new()),
            DataType::Int64 => Self::Int64(Int64Builder::new()),
            DataType::Float32 => Self::Float32(Float32Builder::new()),
            DataType::Float64 => Self::Float64(Float64Builder::new()),
            DataType::Decimal128(p, s) => {
                Self::Decimal(Decimal128Builder::new().with_data_type(DataType::Decimal128(*p, *s)))
            }
            DataType::Date32 => Self::Date(Date32Builder::new()),
            DataType::Timestamp(TimeUnit::Millisecond, tz) => {
                Self::Millis(TimestampMillisecondBuilder::new().with_timezone_opt(tz.clone()))
            }
            DataType::Timestamp(TimeUnit::Microsecond, tz) => {
                Self::Micros(TimestampMicrosecondBuilder::new().with_timezone_opt(tz.clone()))
            }
            DataType::Timestamp(_, tz) => {
                Self::Nanos(TimestampNanosecondBuilder::new().with_timezone_opt(tz.clone()))
            }
            DataType::List(f) => Self::List(
                ListBuilder::new(builder_for(f.data_type())).with_field(f.clone()),
                f.data_type().clone(),
            ),
            _ => Self::Str(StringBuilder::new()),
        }
    }

    fn append(&mut self, cell: &Cell, text: &str) {
        let int = match cell {
            Cell::Int(v) => Some(*v),
            _ => None,
        };
        let float = match cell {
            Cell::Float(f) => Some(*f),
            _ => None,
        };
        let ts = match cell {
            Cell::Timestamp(ns) => Some(*ns),
            _ => None,
        };
        match self {
            Self::Bool(b) => b.append_option(match cell {
                Cell::Bool(v) => Some(*v),
                _ => None,
            }),
            Self::Int8(b) => b.append_option(int.map(|v| v as i8)),
            Self::Int16(b) => b.append_option(int.map(|v| v as i16)),
            Self::Int32(b) => b.append_option(int.map(|v| v as i32)),
            Self::Int64(b) => b.append_option(int),
            Self::Float32(b) => b.append_option(float.map(|f| f as f32)),
            Self::Float64(b) => b.append_option(float),
            Self::Decimal(b) => b.append_option(match cell {
                Cell::Decimal(d) => Some(*d),
                _ => None,
            }),
            Self::Date(b) => b.append_option(match cell {
                Cell::Date(d) => Some(*d),
                _ => None,
            }),
            Self::Millis(b) => b.append_option(ts.map(|ns| ns.div_euclid(1_000_000))),
            Self::Micros(b) => b.append_option(ts.map(|ns| ns.div_euclid(1_000))),
            Self::Nanos(b) => b.append_option(ts),
            Self::List(b, item) => match cell {
                Cell::List(items) => {
                    for c in items {
                        append(b.values().as_mut(), item, c, text);
                    }
                    b.append(true);
                }
                _ => b.append(false),
            },
            Self::Str(b) => b.append_option(cell_text(cell, text)),
            Self::Skipped(_) => {}
        }
    }

    fn finish(&mut self, rows: usize) -> ArrayRef {
        match self {
            Self::Bool(b) => ArrayBuilder::finish(b),
            Self::Int8(b) => ArrayBuilder::finish(b),
            Self::Int16(b) => ArrayBuilder::finish(b),
            Self::Int32(b) => ArrayBuilder::finish(b),
            Self::Int64(b) => ArrayBuilder::finish(b),
            Self::Float32(b) => ArrayBuilder::finish(b),
            Self::Float64(b) => ArrayBuilder::finish(b),
            Self::Decimal(b) => ArrayBuilder::finish(b),
            Self::Date(b) => ArrayBuilder::finish(b),
            Self::Millis(b) => ArrayBuilder::finish(b),
            Self::Micros(b) => ArrayBuilder::finish(b),
            Self::Nanos(b) => ArrayBuilder::finish(b),
            Self::List(b, _) => ArrayBuilder::finish(b),
            Self::Str(b) => ArrayBuilder::finish(b),
            Self::Skipped(dt) => arrow::array::new_null_array(dt, rows),
        }
    }
}

fn cell_text<'t>(cell: &Cell, text: &'t str) -> Option<&'t str> {
    match cell {
        Cell::Text(start, end) => text.get(*start..*end),
        _ => None,
    }
}

/// Decodes JSON lines into batches of a fixed schema.
pub struct JsonDecoder {
    schema: SchemaRef,
    options: JsonOptions,
    types: Vec<DataType>,
    columns: Vec<ColumnBuilder>,
    /// Columns that must not be null (the rowtime attribute): a null there is a row error.
    required: Vec<bool>,
    /// Columns left unread ([`JsonDecoder::skip_columns`]).
    skipped: Vec<bool>,
    rows: usize,
    keys: KeyIndex,
    row: Row,
    /// Strings with escapes, for the fast path ([`scan`]).
    scratch: String,
    /// Whether lines go to the fast path first (tests turn it off to compare).
    scan: bool,
}

impl JsonDecoder {
    pub fn new(schema: SchemaRef, options: JsonOptions, required_columns: &[usize]) -> Self {
        let types: Vec<DataType> = schema
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let columns = types.iter().map(ColumnBuilder::new).collect();
        let mut required = vec![false; types.len()];
        for &i in required_columns {
            if let Some(r) = required.get_mut(i) {
                *r = true;
            }
        }
        let keys = KeyIndex {
            names: schema
                .fields()
                .iter()
                .map(|f| f.name().as_str().into())
                .collect(),
            last: Vec::new(),
        };
        Self {
            schema,
            options,
            skipped: vec![false; types.len()],
            types,
            columns,
            required,
            rows: 0,
            keys,
            row: Row::default(),
            scratch: String::new(),
            scan: true,
        }
    }

    /// Leaves the columns marked `true` unread: their values are parsed as JSON but neither
    /// converted nor checked (a value of the wrong type, or a missing field under
    /// `json.fail-on-missing-field`, is no error there), and the column comes out NULL. The
    /// rowtime column is always read. Flink's json format pushes projections down the same way.
    pub fn skip_columns(&mut self, skip: &[bool]) {
        for (i, column) in self.columns.iter_mut().enumerate() {
            let required = self.required.get(i).copied().unwrap_or(false);
            if skip.get(i).copied().unwrap_or(false) && !required {
                *column = ColumnBuilder::Skipped(self.types[i].clone());
                self.skipped[i] = true;
            }
        }
    }

    pub fn ignores_parse_errors(&self) -> bool {
        self.options.ignore_parse_errors
    }

    pub fn buffered_rows(&self) -> usize {
        self.rows
    }

    /// Decodes one line. `Ok(false)`: the line was malformed and skipped
    /// (`json.ignore-parse-errors`); an error when the options say the job must fail.
    pub fn decode_line(&mut self, line: &str) -> std::result::Result<bool, String> {
        self.decode_with(line, false)
    }

    fn decode_with(&mut self, line: &str, tree: bool) -> std::result::Result<bool, String> {
        match self.convert_line(line, tree) {
            Ok(()) => {
                for (column, slot) in self.columns.iter_mut().zip(&self.row.slots) {
                    let cell = match slot {
                        Slot::Value(cell) => cell,
                        _ => &Cell::Null,
                    };
                    column.append(cell, &self.row.text);
                }
                self.rows += 1;
                Ok(true)
            }
            Err(_) if self.options.ignore_parse_errors => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Fills the row's slots from the line (`tree`: through a `serde_json::Value`), then
    /// applies the missing-field, conversion and rowtime rules column by column.
    fn convert_line(&mut self, line: &str, tree: bool) -> std::result::Result<(), String> {
        self.row.reset(self.types.len());
        let scanned = !tree
            && self.scan
            && scan::scan_line(
                line,
                scan::Target {
                    keys: &mut self.keys,
                    types: &self.types,
                    skipped: &self.skipped,
                    ts: self.options.timestamp_standard,
                    row: &mut self.row,
                    scratch: &mut self.scratch,
                },
            )
            .is_some();
        if !scanned && !tree {
            // The serde path: everything the scanner leaves to it, errors included.
            self.row.reset(self.types.len());
            let mut de = serde_json::Deserializer::from_str(line);
            let seed = RowSeed {
                keys: &mut self.keys,
                types: &self.types,
                skipped: &self.skipped,
                ts: self.options.timestamp_standard,
                row: &mut self.row,
            };
            let object = seed
                .deserialize(&mut de)
                .and_then(|object| de.end().map(|()| object))
                .map_err(|e| format!("not valid JSON ({e})"))?;
            if !object {
                return Err("a JSON object was expected".into());
            }
        }
        if tree || self.row.needs_tree {
            self.fill_from_tree(line)?;
        }
        let ignore = self.options.ignore_parse_errors;
        for (i, slot) in self.row.slots.iter_mut().enumerate() {
            if self.skipped[i] {
                continue;
            }
            let name = || self.schema.field(i).name();
            let null = match slot {
                Slot::Missing if self.options.fail_on_missing_field => {
                    return Err(format!("field '{}' is missing", name()))
                }
                // With json.ignore-parse-errors a value that does not convert is NULL and the
                // row stays, as in Flink; without it the row fails.
                Slot::Failed(e) if !ignore => return Err(format!("field '{}': {e}", name())),
                Slot::Missing | Slot::Failed(_) => {
                    *slot = Slot::Value(Cell::Null);
                    true
                }
                Slot::Value(cell) => matches!(cell, Cell::Null),
            };
            if null && self.required.get(i).copied().unwrap_or(false) {
                return Err(format!(
                    "field '{}' is the table's rowtime (WATERMARK FOR) and must not be null",
                    name()
                ));
            }
        }
        Ok(())
    }

    /// The reference path: the line as a `serde_json::Value`, each column looked up by name.
    fn fill_from_tree(&mut self, line: &str) -> std::result::Result<(), String> {
        self.row.reset(self.types.len());
        let value: Value =
            serde_json::from_str(line).map_err(|e| format!("not valid JSON ({e})"))?;
        let Value::Object(map) = value else {
            return Err("a JSON object was expected".into());
        };
        let ts = self.options.timestamp_standard;
        for (i, slot) in self.row.slots.iter_mut().enumerate() {
            if self.skipped[i] {
                continue;
            }
            let field = self.schema.field(i);
            *slot = match map.get(field.name()) {
                None => Slot::Missing,
                Some(v) => match convert(v, field.data_type(), ts, &mut self.row.text) {
                    Ok(cell) => Slot::Value(cell),
                    Err(e) => Slot::Failed(e),
                },
            };
        }
        Ok(())
    }

    /// The rows decoded so far as a batch; the decoder starts empty again.
    pub fn flush(&mut self) -> Result<RecordBatch> {
        let rows = self.rows;
        let columns: Vec<ArrayRef> = self.columns.iter_mut().map(|b| b.finish(rows)).collect();
        self.rows = 0;
        RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(|e| Error::Internal(format!("json decoder built a bad batch: {e}")))
    }
}

// ---------------------------------------------------------------------------------------
// The streaming path: serde visitors over the line.

/// The whole line: `true` when it was an object (its columns are in the row's slots).
struct RowSeed<'a> {
    keys: &'a mut KeyIndex,
    types: &'a [DataType],
    skipped: &'a [bool],
    ts: TimestampStandard,
    row: &'a mut Row,
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_bool<E>(self, _: bool) -> std::result::Result<bool, E> {
        Ok(false)
    }

    fn visit_i64<E>(self, _: i64) -> std::result::Result<bool, E> {
        Ok(false)
    }

    fn visit_u64<E>(self, _: u64) -> std::result::Result<bool, E> {
        Ok(false)
    }

    fn visit_f64<E>(self, _: f64) -> std::result::Result<bool, E> {
        Ok(false)
    }

    fn visit_str<E>(self, _: &str) -> std::result::Result<bool, E> {
        Ok(false)
    }

    fn visit_unit<E>(self) -> std::result::Result<bool, E> {
        Ok(false)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<bool, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(false)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<bool, A::Error> {
        let mut position = 0;
        while let Some(column) = map.next_key_seed(KeySeed {
            keys: &mut *self.keys,
            position,
        })? {
            position += 1;
            let read = column.filter(|i| !self.skipped.get(*i).copied().unwrap_or(false));
            match read.and_then(|i| Some((i, self.types.get(i)?))) {
                Some((i, dt)) => {
                    let converted = map.next_value_seed(ValueSeed {
                        dt,
                        ts: self.ts,
                        text: &mut self.row.text,
                        needs_tree: &mut self.row.needs_tree,
                    })?;
                    if let Some(slot) = self.row.slots.get_mut(i) {
                        // A repeated key: the last value wins, as in a `Value` object.
                        *slot = match converted {
                            Ok(cell) => Slot::Value(cell),
                            Err(e) => Slot::Failed(e),
                        };
                    }
                }
                None => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(true)
    }
}

/// An object key: the column it names, if any.
struct KeySeed<'a> {
    keys: &'a mut KeyIndex,
    position: usize,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E>(self, key: &str) -> std::result::Result<Self::Value, E> {
        Ok(self.keys.find(self.position, key))
    }
}

/// A value no column reads: parsed as strictly as a `Value` would be (numbers in range,
/// escapes and surrogates checked) so that the same lines are malformed, but kept nowhere.
struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(SkipVisitor)
    }
}

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = Skip;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> std::result::Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_i64<E>(self, _: i64) -> std::result::Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_u64<E>(self, _: u64) -> std::result::Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_f64<E>(self, _: f64) -> std::result::Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_str<E>(self, _: &str) -> std::result::Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_unit<E>(self) -> std::result::Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Skip, A::Error> {
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(Skip)
    }
}

/// One column's value, converted to its type. The inner error (a value that does not
/// convert) does not stop the parse: the rest of the line must still be valid JSON.
struct ValueSeed<'a> {
    dt: &'a DataType,
    ts: TimestampStandard,
    text: &'a mut String,
    needs_tree: &'a mut bool,
}

type Converted = std::result::Result<Cell, String>;

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Converted;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Converted, D::Error> {
        d.deserialize_any(self)
    }
}

impl ValueSeed<'_> {
    fn scalar<E>(self, s: Scalar<'_>) -> std::result::Result<Converted, E> {
        Ok(convert_scalar(s, self.dt, self.ts, self.text))
    }

    /// An object or array (`write` prints it as JSON text into the buffer): the text for a
    /// STRING column, a conversion error for any other.
    fn composite<E>(
        self,
        write: impl FnOnce(&mut String, &mut bool) -> std::result::Result<(), E>,
    ) -> std::result::Result<Converted, E> {
        let start = self.text.len();
        write(self.text, self.needs_tree)?;
        if reads_json_text(self.dt) {
            return Ok(Ok(Cell::Text(start, self.text.len())));
        }
        let err = type_error(self.text.get(start..).unwrap_or_default(), self.dt);
        self.text.truncate(start);
        Ok(Err(err))
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Converted;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> std::result::Result<Converted, E> {
        self.scalar(Scalar::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> std::result::Result<Converted, E> {
        self.scalar(Scalar::Num(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> std::result::Result<Converted, E> {
        self.scalar(Scalar::Num(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> std::result::Result<Converted, E> {
        match Number::from_f64(v) {
            Some(n) => self.scalar(Scalar::Num(n)),
            // What a `Value` makes of a non-finite number.
            None => Ok(Ok(Cell::Null)),
        }
    }

    fn visit_str<E>(self, v: &str) -> std::result::Result<Converted, E> {
        self.scalar(Scalar::Str(v))
    }

    fn visit_unit<E>(self) -> std::result::Result<Converted, E> {
        Ok(Ok(Cell::Null))
    }

    fn visit_none<E>(self) -> std::result::Result<Converted, E> {
        Ok(Ok(Cell::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Converted, A::Error> {
        let DataType::List(item) = self.dt else {
            return self.composite(|text, needs_tree| write_seq(seq, text, needs_tree));
        };
        let mut items = Vec::new();
        let mut first_error = None;
        while let Some(converted) = seq.next_element_seed(ValueSeed {
            dt: item.data_type(),
            ts: self.ts,
            text: &mut *self.text,
            needs_tree: &mut *self.needs_tree,
        })? {
            match converted {
                Ok(cell) => items.push(cell),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Ok(match first_error {
            Some(e) => Err(e),
            None => Ok(Cell::List(items)),
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<Converted, A::Error> {
        self.composite(|text, needs_tree| write_map(map, text, needs_tree))
    }
}

/// Any JSON value printed as compact JSON text, as `Value`'s `Display` prints it.
struct JsonText<'a> {
    text: &'a mut String,
    needs_tree: &'a mut bool,
}

impl<'de> DeserializeSeed<'de> for JsonText<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for JsonText<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> std::result::Result<(), E> {
        self.text.push_str(if v { "true" } else { "false" });
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> std::result::Result<(), E> {
        write_number(self.text, v.into());
        Ok(())
    }

    fn visit_u64<E>(self, v: u64) -> std::result::Result<(), E> {
        write_number(self.text, v.into());
        Ok(())
    }

    fn visit_f64<E>(self, v: f64) -> std::result::Result<(), E> {
        match Number::from_f64(v) {
            Some(n) => write_number(self.text, n),
            None => self.text.push_str("null"),
        }
        Ok(())
    }

    fn visit_str<E>(self, v: &str) -> std::result::Result<(), E> {
        write_json_str(self.text, v);
        Ok(())
    }

    fn visit_unit<E>(self) -> std::result::Result<(), E> {
        self.text.push_str("null");
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> std::result::Result<(), A::Error> {
        write_seq(seq, self.text, self.needs_tree)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<(), A::Error> {
        write_map(map, self.text, self.needs_tree)
    }
}

fn write_seq<'de, A: SeqAccess<'de>>(
    mut seq: A,
    text: &mut String,
    needs_tree: &mut bool,
) -> std::result::Result<(), A::Error> {
    text.push('[');
    let mut first = true;
    loop {
        let mark = text.len();
        if !first {
            text.push(',');
        }
        let more = seq
            .next_element_seed(JsonText {
                text: &mut *text,
                needs_tree: &mut *needs_tree,
            })?
            .is_some();
        if !more {
            text.truncate(mark);
            break;
        }
        first = false;
    }
    text.push(']');
    Ok(())
}

fn write_map<'de, A: MapAccess<'de>>(
    mut map: A,
    text: &mut String,
    needs_tree: &mut bool,
) -> std::result::Result<(), A::Error> {
    text.push('{');
    // The printed keys so far (ranges of `text`): a `Value` object keeps one entry per key.
    let mut keys = [(0usize, 0usize); MAX_NESTED_KEYS];
    let mut count = 0;
    loop {
        let mark = text.len();
        if count > 0 {
            text.push(',');
        }
        let key_start = text.len();
        if map.next_key_seed(KeyText(&mut *text))?.is_none() {
            text.truncate(mark);
            break;
        }
        let key = (key_start, text.len());
        let seen = keys.get(..count).unwrap_or_default();
        if count == MAX_NESTED_KEYS
            || seen
                .iter()
                .any(|&(s, e)| text.get(s..e) == text.get(key.0..key.1))
        {
            *needs_tree = true;
        } else if let Some(k) = keys.get_mut(count) {
            *k = key;
            count += 1;
        }
        text.push(':');
        map.next_value_seed(JsonText {
            text: &mut *text,
            needs_tree: &mut *needs_tree,
        })?;
    }
    text.push('}');
    Ok(())
}

/// An object key printed as a JSON string.
struct KeyText<'a>(&'a mut String);

impl<'de> DeserializeSeed<'de> for KeyText<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyText<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E>(self, v: &str) -> std::result::Result<(), E> {
        write_json_str(self.0, v);
        Ok(())
    }
}

/// `s` as a JSON string literal, escaped exactly as serde_json prints it.
fn write_json_str(text: &mut String, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        text.push('"');
        text.push_str(s);
        text.push('"');
    } else {
        let _ = write!(text, "{}", Value::String(s.to_owned()));
    }
}

fn write_number(text: &mut String, n: Number) {
    let _ = write!(text, "{}", Value::Number(n));
}

// ---------------------------------------------------------------------------------------
// Flink's conversions, shared by both paths.

/// A JSON scalar other than null.
enum Scalar<'a> {
    Bool(bool),
    Num(Number),
    Str(&'a str),
}

impl fmt::Display for Scalar<'_> {
    /// As `Value`'s `Display` prints it (the JSON text).
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Self::Bool(b) => write!(f, "{b}"),
            Self::Num(n) => write!(f, "{}", Value::Number(n.clone())),
            Self::Str(s) => {
                let mut text = String::new();
                write_json_str(&mut text, s);
                f.write_str(&text)
            }
        }
    }
}

/// Whether a column of this type reads objects and arrays as their JSON text (STRING, and the
/// types the decoder has no conversion for).
fn reads_json_text(dt: &DataType) -> bool {
    !matches!(
        dt,
        DataType::Boolean
            | DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::Float32
            | DataType::Float64
            | DataType::Decimal128(..)
            | DataType::Date32
            | DataType::Timestamp(..)
            | DataType::List(_)
    )
}

/// The error for a JSON value (`json`, its text) of a kind the column's type cannot read.
fn type_error(json: &str, dt: &DataType) -> String {
    let what = match dt {
        DataType::Boolean => "BOOLEAN",
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => "an integer",
        DataType::Float32 | DataType::Float64 => "a floating point number",
        DataType::Decimal128(..) => "DECIMAL",
        DataType::Date32 => "DATE",
        DataType::Timestamp(..) => "TIMESTAMP",
        DataType::List(_) => "ARRAY",
        _ => "STRING",
    };
    format!("cannot read {json} as {what}")
}

fn push_text(text: &mut String, s: &str) -> Cell {
    let start = text.len();
    text.push_str(s);
    Cell::Text(start, text.len())
}

fn convert_scalar(
    v: Scalar<'_>,
    dt: &DataType,
    ts: TimestampStandard,
    text: &mut String,
) -> std::result::Result<Cell, String> {
    Ok(match dt {
        DataType::Utf8 => match v {
            Scalar::Str(s) => push_text(text, s),
            other => {
                let start = text.len();
                let _ = write!(text, "{other}");
                Cell::Text(start, text.len())
            }
        },
        DataType::Boolean => match v {
            Scalar::Bool(b) => Cell::Bool(b),
            Scalar::Str(s) => Cell::Bool(s.trim().eq_ignore_ascii_case("true")),
            other => return Err(type_error(&other.to_string(), dt)),
        },
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
            let n = match &v {
                Scalar::Num(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.trunc() as i64)),
                Scalar::Str(s) => s.trim().parse::<i64>().ok(),
                Scalar::Bool(_) => None,
            }
            .ok_or_else(|| type_error(&v.to_string(), dt))?;
            let (lo, hi) = match dt {
                DataType::Int8 => (i8::MIN as i64, i8::MAX as i64),
                DataType::Int16 => (i16::MIN as i64, i16::MAX as i64),
                DataType::Int32 => (i32::MIN as i64, i32::MAX as i64),
                _ => (i64::MIN, i64::MAX),
            };
            if n < lo || n > hi {
                return Err(format!("{n} is out of range for {dt}"));
            }
            Cell::Int(n)
        }
        DataType::Float32 | DataType::Float64 => Cell::Float(
            match &v {
                Scalar::Num(n) => n.as_f64(),
                Scalar::Str(s) => s.trim().parse::<f64>().ok(),
                Scalar::Bool(_) => None,
            }
            .ok_or_else(|| type_error(&v.to_string(), dt))?,
        ),
        DataType::Decimal128(p, s) => match v {
            Scalar::Num(n) => Cell::Decimal(parse_decimal(&n.to_string(), *p, *s)?),
            Scalar::Str(text) => Cell::Decimal(parse_decimal(text.trim(), *p, *s)?),
            other => return Err(type_error(&other.to_string(), dt)),
        },
        DataType::Date32 => match v {
            Scalar::Str(s) => Cell::Date(
                parse_date(s.trim())
                    .ok_or_else(|| format!("cannot read '{s}' as DATE (yyyy-MM-dd)"))?,
            ),
            other => return Err(type_error(&other.to_string(), dt)),
        },
        DataType::Timestamp(..) => match v {
            Scalar::Str(s) => Cell::Timestamp(parse_timestamp(s.trim(), ts)?),
            other => return Err(type_error(&other.to_string(), dt)),
        },
        DataType::List(_) => return Err(type_error(&v.to_string(), dt)),
        _ => {
            let start = text.len();
            let _ = write!(text, "{v}");
            Cell::Text(start, text.len())
        }
    })
}

/// A `Value` converted to a column's type (the reference path; list items too).
fn convert(
    v: &Value,
    dt: &DataType,
    ts: TimestampStandard,
    text: &mut String,
) -> std::result::Result<Cell, String> {
    match v {
        Value::Null => Ok(Cell::Null),
        Value::Bool(b) => convert_scalar(Scalar::Bool(*b), dt, ts, text),
        Value::Number(n) => convert_scalar(Scalar::Num(n.clone()), dt, ts, text),
        Value::String(s) => convert_scalar(Scalar::Str(s), dt, ts, text),
        Value::Array(items) if matches!(dt, DataType::List(_)) => {
            let DataType::List(f) = dt else {
                return Err(type_error(&v.to_string(), dt));
            };
            Ok(Cell::List(
                items
                    .iter()
                    .map(|item| convert(item, f.data_type(), ts, text))
                    .collect::<std::result::Result<_, _>>()?,
            ))
        }
        composite if reads_json_text(dt) => Ok(push_text(text, &composite.to_string())),
        composite => Err(type_error(&composite.to_string(), dt)),
    }
}

fn builder_for(dt: &DataType) -> Box<dyn ArrayBuilder> {
    match dt {
        DataType::Boolean => Box::new(BooleanBuilder::new()),
        DataType::Int8 => Box::new(Int8Builder::new()),
        DataType::Int16 => Box::new(Int16Builder::new()),
        DataType::Int32 => Box::new(Int32Builder::new()),
        DataType::Int64 => Box::new(Int64Builder::new()),
        DataType::Float32 => Box::new(Float32Builder::new()),
        DataType::Float64 => Box::new(Float64Builder::new()),
        DataType::Decimal128(p, s) => {
            Box::new(Decimal128Builder::new().with_data_type(DataType::Decimal128(*p, *s)))
        }
        DataType::Date32 => Box::new(Date32Builder::new()),
        DataType::Timestamp(TimeUnit::Millisecond, tz) => {
            Box::new(TimestampMillisecondBuilder::new().with_timezone_opt(tz.clone()))
        }
        DataType::Timestamp(TimeUnit::Microsecond, tz) => {
            Box::new(TimestampMicrosecondBuilder::new().with_timezone_opt(tz.clone()))
        }
        DataType::Timestamp(_, tz) => {
            Box::new(TimestampNanosecondBuilder::new().with_timezone_opt(tz.clone()))
        }
        DataType::List(f) => {
            Box::new(ListBuilder::new(builder_for(f.data_type())).with_field(f.clone()))
        }
        _ => Box::new(StringBuilder::new()),
    }
}

macro_rules! push {
    ($b:expr, $t:ty, $v:expr) => {
        if let Some(b) = $b.as_any_mut().downcast_mut::<$t>() {
            b.append_option($v);
        }
    };
}

/// Appends a list item to its (type-erased) builder.
fn append(builder: &mut dyn ArrayBuilder, dt: &DataType, cell: &Cell, text: &str) {
    let int = match cell {
        Cell::Int(v) => Some(*v),
        _ => None,
    };
    let float = match cell {
        Cell::Float(f) => Some(*f),
        _ => None,
    };
    match dt {
        DataType::Boolean => push!(
            builder,
            BooleanBuilder,
            match cell {
                Cell::Bool(b) => Some(*b),
                _ => None,
            }
        ),
        DataType::Int8 => push!(builder, Int8Builder, int.map(|v| v as i8)),
        DataType::Int16 => push!(builder, Int16Builder, int.map(|v| v as i16)),
        DataType::Int32 => push!(builder, Int32Builder, int.map(|v| v as i32)),
        DataType::Int64 => push!(builder, Int64Builder, int),
        DataType::Float32 => push!(builder, Float32Builder, float.map(|f| f as f32)),
        DataType::Float64 => push!(builder, Float64Builder, float),
        DataType::Decimal128(..) => push!(
            builder,
            Decimal128Builder,
            match cell {
                Cell::Decimal(d) => Some(*d),
                _ => None,
            }
        ),
        DataType::Date32 => push!(
            builder,
            Date32Builder,
            match cell {
                Cell::Date(d) => Some(*d),
                _ => None,
            }
        ),
        DataType::Timestamp(unit, _) => {
            let v = match cell {
                Cell::Timestamp(ns) => Some(*ns),
                _ => None,
            };
            match unit {
                TimeUnit::Millisecond => push!(
                    builder,
                    TimestampMillisecondBuilder,
                    v.map(|ns| ns.div_euclid(1_000_000))
                ),
                TimeUnit::Microsecond => push!(
                    builder,
                    TimestampMicrosecondBuilder,
                    v.map(|ns| ns.div_euclid(1_000))
                ),
                _ => push!(builder, TimestampNanosecondBuilder, v),
            }
        }
        DataType::List(f) => {
            if let Some(b) = builder
                .as_any_mut()
                .downcast_mut::<ListBuilder<Box<dyn ArrayBuilder>>>()
            {
                match cell {
                    Cell::List(items) => {
                        for item in items {
                            append(b.values().as_mut(), f.data_type(), item, text);
                        }
                        b.append(true);
                    }
                    _ => b.append(false),
                }
            }
        }
        _ => push!(builder, StringBuilder, cell_text(cell, text)),
    }
}

fn parse_decimal(text: &str, precision: u8, scale: i8) -> std::result::Result<i128, String> {
    let bad = || format!("cannot read '{text}' as DECIMAL({precision}, {scale})");
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(bad());
    }
    let scale = scale.max(0) as usize;
    let mut value: i128 = 0;
    for c in int_part.chars() {
        let d = c.to_digit(10).ok_or_else(bad)?;
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(d as i128))
            .ok_or_else(bad)?;
    }
    let mut frac = frac_part.chars();
    for _ in 0..scale {
        let d = match frac.next() {
            Some(c) => c.to_digit(10).ok_or_else(bad)?,
            None => 0,
        };
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(d as i128))
            .ok_or_else(bad)?;
    }
    // Round half up on the first dropped digit, as BigDecimal.setScale(HALF_UP) does.
    if let Some(c) = frac.next() {
        if c.to_digit(10).ok_or_else(bad)? >= 5 {
            value += 1;
        }
    }
    if value >= 10i128.pow(precision as u32) {
        return Err(format!(
            "'{text}' does not fit DECIMAL({precision}, {scale})"
        ));
    }
    Ok(if negative { -value } else { value })
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn parse_date(s: &str) -> Option<i32> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: i64 = s[0..4].parse().ok()?;
    let m: u32 = s[5..7].parse().ok()?;
    let d: u32 = s[8..10].parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(days_from_civil(y, m, d) as i32)
}

/// Parses a timestamp in Flink's SQL (`yyyy-MM-dd HH:mm:ss[.f...]`) or ISO-8601
/// (`yyyy-MM-ddTHH:mm:ss[.f...][Z|±hh:mm]`) form into nanoseconds since the epoch (UTC).
pub fn parse_timestamp(s: &str, standard: TimestampStandard) -> std::result::Result<i64, String> {
    let (sep, name) = match standard {
        TimestampStandard::Sql => (b' ', "SQL 'yyyy-MM-dd HH:mm:ss.SSS'"),
        TimestampStandard::Iso8601 => (b'T', "ISO-8601 'yyyy-MM-ddTHH:mm:ss.SSS'"),
    };
    let bad = || {
        format!("cannot read '{s}' as a TIMESTAMP in the {name} format (json.timestamp-format.standard)")
    };
    let b = s.as_bytes();
    if b.len() < 19 || b[10] != sep || b[13] != b':' || b[16] != b':' {
        return Err(bad());
    }
    let days = parse_date(&s[..10]).ok_or_else(bad)? as i64;
    let hh: i64 = s[11..13].parse().map_err(|_| bad())?;
    let mm: i64 = s[14..16].parse().map_err(|_| bad())?;
    let ss: i64 = s[17..19].parse().map_err(|_| bad())?;
    if hh > 23 || mm > 59 || ss > 59 {
        return Err(bad());
    }
    let mut rest = &s[19..];
    let mut nanos: i64 = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 || digits > 9 {
            return Err(bad());
        }
        let mut v: i64 = frac[..digits].parse().map_err(|_| bad())?;
        for _ in digits..9 {
            v *= 10;
        }
        nanos = v;
        rest = &frac[digits..];
    }
    let mut offset_s: i64 = 0;
    if standard == TimestampStandard::Iso8601 && !rest.is_empty() {
        if rest == "Z" {
        } else if (rest.starts_with('+') || rest.starts_with('-'))
            && rest.len() == 6
            && &rest[3..4] == ":"
        {
            let h: i64 = rest[1..3].parse().map_err(|_| bad())?;
            let m: i64 = rest[4..6].parse().map_err(|_| bad())?;
            offset_s = (h * 3600 + m * 60) * if rest.starts_with('-') { -1 } else { 1 };
        } else {
            return Err(bad());
        }
    } else if !rest.is_empty() {
        return Err(bad());
    }
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss - offset_s;
    Ok(secs * 1_000_000_000 + nanos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Field, Schema, TimestampMillisecondType};
    use std::sync::Arc;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, true),
            Field::new("n", DataType::Int32, true),
            Field::new("meta", DataType::Utf8, true),
            Field::new("ts", DataType::Timestamp(TimeUnit::Millisecond, None), true),
            Field::new(
                "tags",
                DataType::List(Arc::new(Field::new("element", DataType::Utf8, true))),
                true,
            ),
        ]))
    }

    #[test]
    fn decodes_with_flink_conversions() {
        let mut d = JsonDecoder::new(schema(), JsonOptions::default(), &[]);
        assert_eq!(
            d.decode_line(r#"{"id":"a","n":"42","meta":{"k":1},"ts":"2026-02-12 10:30:00.250","tags":["x","y"]}"#),
            Ok(true)
        );
        assert_eq!(d.decode_line(r#"{"id":7}"#), Ok(true));
        let b = d.flush().unwrap();
        assert_eq!(b.num_rows(), 2);
        assert_eq!(b.column(0).as_string::<i32>().value(1), "7");
        assert_eq!(
            b.column(1)
                .as_primitive::<arrow::datatypes::Int32Type>()
                .value(0),
            42
        );
        assert_eq!(b.column(2).as_string::<i32>().value(0), r#"{"k":1}"#);
        let ts = b.column(3).as_primitive::<TimestampMillisecondType>();
        assert_eq!(ts.value(0), 1_770_892_200_250);
        assert!(ts.is_null(1));
        assert_eq!(b.column(4).as_list::<i32>().value(0).len(), 2);
    }

    #[test]
    fn bad_rows_fail_or_are_skipped_whole() {
        let mut strict = JsonDecoder::new(schema(), JsonOptions::default(), &[]);
        let err = strict.decode_line(r#"{"id":"a","n":"x"}"#).unwrap_err();
        assert!(err.contains("field 'n'"), "{err}");
        let mut lenient = JsonDecoder::new(
            schema(),
            JsonOptions {
                ignore_parse_errors: true,
                ..JsonOptions::default()
            },
            &[3],
        );
        assert_eq!(
            lenient.decode_line(r#"{"id":"a","n":1,"ts":"2026-02-12 10:30:00"}"#),
            Ok(true)
        );
        assert_eq!(lenient.decode_line(r#"{"id":"b","n":"x"}"#), Ok(false));
        assert_eq!(lenient.decode_line("{not json"), Ok(false));
        assert_eq!(
            lenient.decode_line(r#"{"id":"c","n":1}"#),
            Ok(false),
            "null rowtime is a bad row"
        );
        let b = lenient.flush().unwrap();
        assert_eq!(b.num_rows(), 1);
        assert_eq!(b.column(0).as_string::<i32>().value(0), "a");
    }

    #[test]
    fn skipped_columns_are_null_and_unchecked_but_the_line_must_be_json() {
        let opts = JsonOptions {
            fail_on_missing_field: true,
            ..JsonOptions::default()
        };
        let mut d = JsonDecoder::new(schema(), opts, &[3]);
        // Skip n, meta and tags, and ask to skip ts too: the rowtime is read regardless.
        d.skip_columns(&[false, true, true, true, true]);
        // n is not an INT, tags is missing: neither matters once skipped.
        assert_eq!(
            d.decode_line(r#"{"id":"a","n":"x","meta":{"k":[1,2]},"ts":"2026-02-12 10:30:00"}"#),
            Ok(true)
        );
        assert_eq!(
            d.decode_line(r#"{"n":1,"meta":null,"ts":"2026-02-12 10:30:01","tags":[]}"#)
                .unwrap_err(),
            "field 'id' is missing"
        );
        assert!(d
            .decode_line(r#"{"id":"b","n":1,"meta":{"k":tru},"ts":"2026-02-12 10:30:02"}"#)
            .unwrap_err()
            .contains("not valid JSON"));
        assert!(d
            .decode_line(r#"{"id":"c","ts":"2026-02-12 10:30:02","tags":[]}"#)
            .is_ok());
        assert!(d
            .decode_line(r#"{"id":"c","n":2,"tags":[]}"#)
            .unwrap_err()
            .contains("'ts' is missing"));
        let b = d.flush().unwrap();
        assert_eq!(b.num_rows(), 2);
        assert_eq!(b.column(0).as_string::<i32>().value(1), "c");
        for skipped in [1, 2, 4] {
            assert_eq!(b.column(skipped).null_count(), 2, "column {skipped}");
            assert_eq!(
                b.column(skipped).data_type(),
                schema().field(skipped).data_type()
            );
        }
        let ts = b.column(3).as_primitive::<TimestampMillisecondType>();
        assert_eq!(ts.value(1), 1_770_892_202_000);
    }

    #[test]
    fn missing_fields_fail_when_asked() {
        let opts = JsonOptions {
            fail_on_missing_field: true,
            ..JsonOptions::default()
        };
        let mut d = JsonDecoder::new(schema(), opts, &[]);
        assert!(d
            .decode_line(r#"{"id":"a"}"#)
            .unwrap_err()
            .contains("'n' is missing"));
    }

    #[test]
    fn timestamp_standards_are_strict() {
        let sql = TimestampStandard::Sql;
        let iso = TimestampStandard::Iso8601;
        assert_eq!(
            parse_timestamp("1970-01-01 00:00:01", sql),
            Ok(1_000_000_000)
        );
        assert!(parse_timestamp("1970-01-01T00:00:01", sql).is_err());
        assert_eq!(
            parse_timestamp("1970-01-01T00:00:01Z", iso),
            Ok(1_000_000_000)
        );
        assert_eq!(
            parse_timestamp("1970-01-01T01:00:01+01:00", iso),
            Ok(1_000_000_000)
        );
        assert_eq!(
            parse_timestamp("2026-02-12T10:30:00.5Z", iso),
            Ok(1_770_892_200_500_000_000)
        );
        assert!(parse_timestamp("2026-13-12 10:30:00", sql).is_err());
    }

    #[test]
    fn decimals_round_half_up() {
        assert_eq!(parse_decimal("12.345", 10, 2), Ok(1235));
        assert_eq!(parse_decimal("-0.5", 10, 0), Ok(-1));
        assert!(parse_decimal("1234", 3, 0).is_err());
    }

    /// A schema with every type the decoder converts to.
    fn wide() -> SchemaRef {
        let list = |dt| DataType::List(Arc::new(Field::new("element", dt, true)));
        Arc::new(Schema::new(vec![
            Field::new("s", DataType::Utf8, true),
            Field::new("i", DataType::Int32, true),
            Field::new("b", DataType::Int64, true),
            Field::new("t", DataType::Int8, true),
            Field::new("f", DataType::Float64, true),
            Field::new("r", DataType::Float32, true),
            Field::new("ok", DataType::Boolean, true),
            Field::new("d", DataType::Decimal128(10, 2), true),
            Field::new("day", DataType::Date32, true),
            Field::new("ts", DataType::Timestamp(TimeUnit::Millisecond, None), true),
            Field::new("tags", list(DataType::Utf8), true),
            Field::new("nums", list(DataType::Int32), true),
            Field::new("nested", list(list(DataType::Int64)), true),
        ]))
    }

    /// Decodes `lines` with the streaming decoder and through a `serde_json::Value` (the
    /// reference path, what the decoder did before it streamed), asserting the same outcome
    /// for every line (row, skipped, or the same error) and the same batch; returns it.
    fn same_as_tree(opts: JsonOptions, required: &[usize], lines: &[&str]) -> RecordBatch {
        let mut fast = JsonDecoder::new(wide(), opts, required);
        let mut tree = JsonDecoder::new(wide(), opts, required);
        for line in lines {
            assert_eq!(
                fast.decode_line(line),
                tree.decode_with(line, true),
                "{line}"
            );
        }
        let batch = fast.flush().unwrap();
        assert_eq!(batch, tree.flush().unwrap());
        batch
    }

    const EDGE_LINES: &[&str] = &[
        r#"{"s":"plain","i":1,"b":-9007199254740993,"t":"12","f":1.5,"r":"2.25","ok":true,"d":"12.345","day":"2026-02-12","ts":"2026-02-12 10:30:00.123","tags":["a",null,"c"],"nums":[1,"2",3.9],"nested":[[1],[],null]}"#,
        r#"{"s":"q\"uote\\back\/slash\n\t\u00e9\ud83d\ude00"}"#,
        r#"{"s": { "k" : [1, 2.0, 1e2, -0, 0.1, true, null, "x\u0001y\"", {"a": {}}], "\u00e9": "\u00e9" } }"#,
        r#"{"s":{"a":1,"b":2,"a":3}}"#,
        r#"{"s":[{"a":1,"a":{"b":1,"b":2}}]}"#,
        r#"{"i":1,"i":2}"#,
        r#"{"i":"x","i":3}"#,
        r#"{"i":3,"i":"x"}"#,
        r#"{"s":null,"i":null,"tags":null,"ts":null,"d":null}"#,
        r#"{"i":" 42 ","f":"1e3","ok":"TRUE","d":7,"r":3}"#,
        r#"{"s":12.50}"#,
        r#"{"s":true}"#,
        r#"{"s":18446744073709551615}"#,
        r#"{"b":18446744073709551615}"#,
        r#"{"b":1.9e300}"#,
        r#"{"i":-2.7}"#,
        r#"{"t":300}"#,
        r#"{"i":{"a":1}}"#,
        r#"{"tags":{"a":[1]}}"#,
        r#"{"tags":"a"}"#,
        r#"{"nums":[1,"x",true]}"#,
        r#"{"ts":5}"#,
        r#"{"ts":"2026-02-12T10:30:00"}"#,
        r#"{"day":true}"#,
        r#"{"day":" 2026-02-31"}"#,
        r#"{"ok":1}"#,
        r#"{"ok":"yes"}"#,
        r#"{"d":[1]}"#,
        r#"{"d":"123456789.5"}"#,
        r#"{"f":[]}"#,
        r#"{"f":"nan?"}"#,
        r#"{"s":"a""#,
        r#"{"s":"a"}x"#,
        r#"{"s":"a",}"#,
        r#"[1,{"s":2}]"#,
        r#""s""#,
        "null",
        "",
        r#"{"s":"a","junk":1e400}"#,
        r#"{"junk":"\ud800","s":"a"}"#,
        r#"{"s":"\ud800"}"#,
        r#"{"s":1e400}"#,
        r#"{"s":"a","junk":{"x":[1,{"y":null}]},"i":5}"#,
        r#"{"i":2,"s":"reordered"}"#,
        r#"{"zz":0,"s":"unknown first"}"#,
        r#"{"\u0073":"escaped key"}"#,
        r#"{"s":"x\u0000y"}"#,
    ];

    #[test]
    fn streaming_matches_the_value_path_on_edge_cases() {
        let strict = JsonOptions::default();
        let lenient = JsonOptions {
            ignore_parse_errors: true,
            ..strict
        };
        let missing = JsonOptions {
            fail_on_missing_field: true,
            ..strict
        };
        let iso = JsonOptions {
            timestamp_standard: TimestampStandard::Iso8601,
            ..lenient
        };
        for opts in [strict, lenient, missing, iso] {
            for line in EDGE_LINES {
                same_as_tree(opts, &[], &[line]);
            }
            same_as_tree(opts, &[9], EDGE_LINES);
        }
        // All lines in one batch, lenient: the bad ones are skipped whole.
        let b = same_as_tree(lenient, &[], EDGE_LINES);
        assert!(b.num_rows() > 20, "{}", b.num_rows());
    }

    /// Lines made of random pieces (keys of `wide()` and unknown ones, strings with escapes,
    /// numbers in every form, nesting, odd spacing, some broken): the scanner, the serde
    /// path and the `Value` path must agree on every one.
    #[test]
    fn the_scanner_agrees_with_serde_on_generated_lines() {
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let keys = [
            "s", "i", "b", "t", "f", "r", "ok", "d", "day", "ts", "tags", "nums", "nested", "zz",
            "\\u0073", "k\\\"q",
        ];
        let numbers = [
            "0",
            "-0",
            "7",
            "-12",
            "42",
            "300",
            "2147483648",
            "-9007199254740993",
            "9223372036854775807",
            "18446744073709551615",
            "123456789012345678901",
            "0.5",
            "-2.7",
            "1.50",
            "0.1",
            "3.14159",
            "1e2",
            "1E-3",
            "2.5e+3",
            "1.7976931348623157e308",
            "2.2250738585072014e-308",
            "1e400",
            "9007199254740993.0",
            "0.30000000000000004",
            "12345.678e-10",
            "01",
            "1.",
            ".5",
            "-",
            "1e",
            "4.9e-324",
        ];
        let strings = [
            "\"plain\"",
            "\"\"",
            "\"q\\\"uote\\\\b\\/s\\n\\t\"",
            "\"\\u00e9t\\u00e9\"",
            "\"\\ud83d\\ude00\"",
            "\"\\ud800\"",
            "\"\\udc00x\"",
            "\"x\\u0000y\"",
            "\"\\x\"",
            "\"été ✓\"",
            "\" 42 \"",
            "\"1e3\"",
            "\"TRUE\"",
            "\"2026-02-12\"",
            "\"2026-02-12 10:30:00.123\"",
            "\"2026-02-12T10:30:00Z\"",
            "\"12.345\"",
            "\"a\u{1}b\"",
        ];
        let value = |depth: usize, next: &mut dyn FnMut(usize) -> usize| -> String {
            fn build(
                depth: usize,
                next: &mut dyn FnMut(usize) -> usize,
                numbers: &[&str],
                strings: &[&str],
            ) -> String {
                match next(if depth > 2 { 5 } else { 8 }) {
                    0 | 1 => numbers[next(numbers.len())].to_string(),
                    2 | 3 => strings[next(strings.len())].to_string(),
                    4 => ["true", "false", "null", "nul", "True"][next(5)].to_string(),
                    5 | 6 => {
                        let n = next(4);
                        let items: Vec<String> = (0..n)
                            .map(|_| build(depth + 1, next, numbers, strings))
                            .collect();
                        format!("[{}]", items.join([",", " , "][next(2)]))
                    }
                    _ => {
                        let n = next(3);
                        let items: Vec<String> = (0..n)
                            .map(|i| {
                                format!("\"k{i}\":{}", build(depth + 1, next, numbers, strings))
                            })
                            .collect();
                        format!("{{{}}}", items.join(","))
                    }
                }
            }
            build(depth, next, &numbers, &strings)
        };
        let mut lines = Vec::new();
        for _ in 0..4000 {
            let fields = next(6);
            let parts: Vec<String> = (0..fields)
                .map(|_| {
                    let key = keys[next(keys.len())];
                    let v = value(0, &mut next);
                    [format!("\"{key}\":{v}"), format!(" \"{key}\" :\t{v} ")][next(2)].clone()
                })
                .collect();
            let mut line = format!("{{{}}}", parts.join(","));
            match next(40) {
                0 => line.push('x'),
                1 => line.insert(0, ' '),
                2 => {
                    line.pop();
                }
                3 => line = line.replacen(':', "", 1),
                _ => {}
            }
            lines.push(line);
        }
        let strict = JsonOptions::default();
        let lenient = JsonOptions {
            ignore_parse_errors: true,
            ..strict
        };
        let mut scanned = 0;
        let mut rows = 0;
        for opts in [strict, lenient] {
            let mut fast = JsonDecoder::new(wide(), opts, &[]);
            let mut serde = JsonDecoder::new(wide(), opts, &[]);
            serde.scan = false;
            let mut tree = JsonDecoder::new(wide(), opts, &[]);
            for line in &lines {
                let got = fast.decode_line(line);
                assert_eq!(got, serde.decode_line(line), "{line}");
                assert_eq!(got, tree.decode_with(line, true), "{line}");
                if got == Ok(true) {
                    rows += 1;
                    let (a, b) = (fast.flush().unwrap(), serde.flush().unwrap());
                    assert_eq!(a, b, "{line}");
                    assert_eq!(a, tree.flush().unwrap(), "{line}");
                }
            }
            scanned += lines
                .iter()
                .filter(|l| {
                    let mut d = JsonDecoder::new(wide(), opts, &[]);
                    d.row.reset(d.types.len());
                    scan::scan_line(
                        l,
                        scan::Target {
                            keys: &mut d.keys,
                            types: &d.types,
                            skipped: &d.skipped,
                            ts: opts.timestamp_standard,
                            row: &mut d.row,
                            scratch: &mut d.scratch,
                        },
                    )
                    .is_some()
                })
                .count();
        }
        // Most lines must decode, and the scanner take most, for the comparison to mean much.
        eprintln!("{rows} rows, {scanned} scanned of {}", 2 * lines.len());
        assert!(rows > lines.len() / 2, "{rows} rows of {}", 2 * lines.len());
        assert!(
            scanned > lines.len() / 2,
            "the scanner took {scanned} of {}",
            2 * lines.len()
        );
    }

    fn strings(b: &RecordBatch, col: usize) -> Vec<Option<String>> {
        let a = b.column(col).as_string::<i32>();
        (0..a.len())
            .map(|i| (!a.is_null(i)).then(|| a.value(i).to_string()))
            .collect()
    }

    #[test]
    fn strings_escapes_and_nested_json_text() {
        let lines = [
            r#"{"s":"q\"uote\\back\/slash\n\t\u00e9\ud83d\ude00"}"#,
            r#"{"s": { "a" : 1, "b":[true, null, 2.50, "\u00e9\n"] } }"#,
            r#"{"s":{"a":1,"b":2,"a":3}}"#,
            r#"{"s":12.50}"#,
            r#"{"s":false}"#,
            r#"{"\u0073":"escaped key"}"#,
            r#"{"s":null}"#,
            r#"{"i":1}"#,
        ];
        let b = same_as_tree(JsonOptions::default(), &[], &lines);
        let want = [
            Some("q\"uote\\back/slash\n\té😀"),
            Some(r#"{"a":1,"b":[true,null,2.5,"é\n"]}"#),
            // A repeated key: the last value, in the first key's place.
            Some(r#"{"a":3,"b":2}"#),
            Some("12.5"),
            Some("false"),
            Some("escaped key"),
            None,
            None,
        ];
        assert_eq!(strings(&b, 0), want.map(|s| s.map(str::to_string)).to_vec());
    }

    #[test]
    fn repeated_keys_keep_the_last_value() {
        let b = same_as_tree(
            JsonOptions::default(),
            &[],
            &[
                r#"{"i":1,"i":2}"#,
                r#"{"i":"x","i":3}"#,
                r#"{"i":4,"i":null}"#,
            ],
        );
        let i = b.column(1).as_primitive::<arrow::datatypes::Int32Type>();
        assert_eq!((i.value(0), i.value(1), i.is_null(2)), (2, 3, true));
        let mut d = JsonDecoder::new(wide(), JsonOptions::default(), &[]);
        let err = d.decode_line(r#"{"i":3,"i":"x"}"#).unwrap_err();
        assert_eq!(err, r#"field 'i': cannot read "x" as an integer"#);
    }

    #[test]
    fn numbers_and_strings_convert_both_ways() {
        let b = same_as_tree(
            JsonOptions::default(),
            &[],
            &[
                r#"{"s":7,"i":" 42 ","b":-3.9,"f":"1e3","r":2,"ok":"TRUE","d":7}"#,
                r#"{"s":"x","i":1,"b":"12","f":0.5,"r":"0.25","ok":"no","d":"0.125"}"#,
            ],
        );
        assert_eq!(strings(&b, 0), vec![Some("7".into()), Some("x".into())]);
        let i = b.column(1).as_primitive::<arrow::datatypes::Int32Type>();
        assert_eq!((i.value(0), i.value(1)), (42, 1));
        let big = b.column(2).as_primitive::<arrow::datatypes::Int64Type>();
        assert_eq!((big.value(0), big.value(1)), (-3, 12));
        let f = b.column(4).as_primitive::<arrow::datatypes::Float64Type>();
        assert_eq!((f.value(0), f.value(1)), (1000.0, 0.5));
        let r = b.column(5).as_primitive::<arrow::datatypes::Float32Type>();
        assert_eq!((r.value(0), r.value(1)), (2.0, 0.25));
        let ok = b.column(6).as_boolean();
        assert_eq!((ok.value(0), ok.value(1)), (true, false));
        let d = b
            .column(7)
            .as_primitive::<arrow::datatypes::Decimal128Type>();
        assert_eq!((d.value(0), d.value(1)), (700, 13));
    }

    #[test]
    fn arrays_read_into_array_columns() {
        let b = same_as_tree(
            JsonOptions::default(),
            &[],
            &[r#"{"tags":["a",null,{"k":1}],"nums":[1,"2",3.9],"nested":[[1],[],null]}"#],
        );
        let tags = b.column(10).as_list::<i32>().value(0);
        let tags = tags.as_string::<i32>();
        assert_eq!(
            (tags.value(0), tags.is_null(1), tags.value(2)),
            ("a", true, r#"{"k":1}"#)
        );
        let nums = b.column(11).as_list::<i32>().value(0);
        let nums = nums.as_primitive::<arrow::datatypes::Int32Type>();
        assert_eq!(nums.values().to_vec(), vec![1, 2, 3]);
        let nested = b.column(12).as_list::<i32>().value(0);
        let nested = nested.as_list::<i32>();
        assert_eq!(
            (
                nested.value(0).len(),
                nested.value(1).len(),
                nested.is_null(2)
            ),
            (1, 0, true)
        );
    }

    #[test]
    fn malformed_lines_mid_batch_leave_no_partial_row() {
        let opts = JsonOptions {
            ignore_parse_errors: true,
            ..JsonOptions::default()
        };
        let mut d = JsonDecoder::new(wide(), opts, &[9]);
        let ts = r#""ts":"2026-02-12 10:30:00""#;
        let lines = [
            format!(r#"{{"s":"one","i":1,{ts}}}"#),
            // Strings and numbers parsed before the syntax error must not leak into a row.
            format!(r#"{{"s":"half","i":2,{ts},"tags":["x""#),
            format!(r#"{{"s":"two","i":3,{ts}}}"#),
            r#"{"s":"no rowtime","i":4}"#.to_string(),
            format!(r#"{{"s":"bad int","i":"x",{ts}}}"#),
            format!(r#"{{"i":6,{ts},"s":"three"}}"#),
        ];
        let outcomes: Vec<_> = lines.iter().map(|l| d.decode_line(l)).collect();
        assert_eq!(
            outcomes,
            vec![Ok(true), Ok(false), Ok(true), Ok(false), Ok(true), Ok(true)]
        );
        let b = d.flush().unwrap();
        assert_eq!(
            strings(&b, 0),
            vec![
                Some("one".into()),
                Some("two".into()),
                Some("bad int".into()),
                Some("three".into())
            ]
        );
        let i = b.column(1).as_primitive::<arrow::datatypes::Int32Type>();
        assert_eq!(
            (0..4)
                .map(|r| i.is_valid(r).then(|| i.value(r)))
                .collect::<Vec<_>>(),
            vec![Some(1), Some(3), None, Some(6)],
            "a value that does not convert is NULL with json.ignore-parse-errors"
        );
        assert_eq!(b.column(10).null_count(), 4);
    }

    #[test]
    fn missing_fields_and_invalid_lines_report_as_before() {
        let opts = JsonOptions {
            fail_on_missing_field: true,
            ..JsonOptions::default()
        };
        let mut d = JsonDecoder::new(wide(), opts, &[]);
        assert_eq!(
            d.decode_line(r#"{"s":"a"}"#).unwrap_err(),
            "field 'i' is missing"
        );
        let mut d = JsonDecoder::new(wide(), JsonOptions::default(), &[]);
        assert_eq!(
            d.decode_line("[1]").unwrap_err(),
            "a JSON object was expected"
        );
        let err = d.decode_line(r#"{"s":"a","junk":1e400}"#).unwrap_err();
        assert!(
            err.starts_with("not valid JSON (number out of range"),
            "{err}"
        );
        let err = d.decode_line(r#"{"i":{"a":[1, 2]}}"#).unwrap_err();
        assert_eq!(err, r#"field 'i': cannot read {"a":[1,2]} as an integer"#);
    }
}
