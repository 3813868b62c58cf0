//! The `datagen` connector as Flink defines it: rows of random or sequential values at
//! `rows-per-second`, for ever or `number-of-rows` of them (or until a sequence ends).
//!
//! Unlike Flink's, the random values are a pure function of (table name, row number, column):
//! two runs of a job generate the same rows, and a source restored from its offset (the rows
//! emitted) goes on exactly where it stopped, without keeping any state.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Float64Array, Int64Array, ListArray,
    StringArray, TimestampMillisecondArray,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, SchemaRef};
use arrow::record_batch::RecordBatch;
use weir_api::JobMetrics;

use super::Effect::Honoured;
use super::{opt, OptionSpec, Poll, Source, SourceOffset};
use crate::session::parse_duration_ms;
use crate::sql::types::SqlType;
use crate::sql::TableDef;
use crate::{Error, Result};

pub const OPTIONS: &[OptionSpec] = &[
    opt("connector", true, Honoured, "'datagen'"),
    opt("rows-per-second", false, Honoured, "the pace of generation (default 10000)"),
    opt("number-of-rows", false, Honoured, "how many rows in all (default: unbounded)"),
    opt("scan.parallelism", false, super::Effect::RuntimeOnly, "source parallelism"),
    opt("fields.*", false, Honoured, "per column: fields.<col>.kind ('random' | 'sequence'), .min, .max, .max-past, .length, .var-len, .start, .end, .null-rate"),
];

/// The per-column options (`fields.<column>.<option>`).
const FIELD_OPTIONS: &[&str] = &[
    "kind",
    "min",
    "max",
    "max-past",
    "length",
    "var-len",
    "start",
    "end",
    "null-rate",
];

/// Rows per batch at most.
const BATCH_ROWS: u64 = 8192;

/// How one column's values are made.
#[derive(Debug, Clone)]
enum Gen {
    /// `start`, `start + 1`, ... `end` (numbers, or their text for string columns).
    Sequence {
        start: i64,
        end: i64,
    },
    Random(Random),
}

#[derive(Debug, Clone)]
enum Random {
    Int {
        min: i64,
        max: i64,
    },
    Float {
        min: f64,
        max: f64,
    },
    Bool,
    /// Hexadecimal text (as Flink's), `length` characters or up to `length` with `var-len`.
    Text {
        length: u64,
        var_len: bool,
    },
    Bytes {
        length: u64,
        var_len: bool,
    },
    /// Milliseconds before the source opened, up to `max_past`.
    Time {
        max_past: i64,
    },
    /// Days before the source opened, up to `max_past` milliseconds.
    Date {
        max_past: i64,
    },
    Array {
        length: u64,
        element: Box<Random>,
    },
}

#[derive(Debug, Clone)]
struct Column {
    gen: Gen,
    null_rate: f64,
    ty: DataType,
}

/// One `fields.<column>.<option>` value, with errors that name the option.
struct FieldOptions<'a> {
    def: &'a TableDef,
    column: &'a str,
}

impl FieldOptions<'_> {
    fn key(&self, option: &str) -> String {
        format!("fields.{}.{option}", self.column)
    }

    fn raw(&self, option: &str) -> Option<&str> {
        self.def.option(&self.key(option)).map(|(v, _)| v.trim())
    }

    fn error(&self, option: &str, message: impl Into<String>) -> Error {
        let key = self.key(option);
        Error::Option {
            table: self.def.name.clone(),
            span: self
                .def
                .option(&key)
                .map(|(_, s)| s)
                .unwrap_or(self.def.span),
            option: key,
            message: message.into(),
        }
    }

    fn parse<T: std::str::FromStr>(&self, option: &str, what: &str) -> Result<Option<T>> {
        match self.raw(option) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| self.error(option, format!("expected {what}, found '{v}'"))),
        }
    }
}

fn integer_bounds(ty: &SqlType) -> Option<(i64, i64)> {
    Some(match ty {
        SqlType::TinyInt => (i8::MIN.into(), i8::MAX.into()),
        SqlType::SmallInt => (i16::MIN.into(), i16::MAX.into()),
        SqlType::Int => (i32::MIN.into(), i32::MAX.into()),
        SqlType::BigInt => (i64::MIN, i64::MAX),
        _ => return None,
    })
}

fn random_of(
    f: &FieldOptions<'_>,
    ty: &SqlType,
    allowed: &mut Vec<&'static str>,
) -> Result<Random> {
    let length = |allowed: &mut Vec<&'static str>, default: u64| -> Result<u64> {
        allowed.push("length");
        Ok(f.parse("length", "a whole number")?.unwrap_or(default))
    };
    Ok(match ty {
        SqlType::TinyInt | SqlType::SmallInt | SqlType::Int | SqlType::BigInt => {
            allowed.extend(["min", "max"]);
            let (lo, hi) = integer_bounds(ty).unwrap_or((i64::MIN, i64::MAX));
            let min = f.parse("min", "a whole number")?.unwrap_or(lo);
            let max = f.parse("max", "a whole number")?.unwrap_or(hi);
            if min > max || min < lo || max > hi {
                return Err(f.error(
                    "min",
                    format!("min {min} and max {max} must be in order and within the column's type ({lo}..{hi})"),
                ));
            }
            Random::Int { min, max }
        }
        SqlType::Float | SqlType::Double | SqlType::Decimal { .. } => {
            allowed.extend(["min", "max"]);
            let (lo, hi) = match ty {
                SqlType::Float => (f64::from(f32::MIN), f64::from(f32::MAX)),
                SqlType::Decimal { precision, scale } => {
                    let whole = 10f64.powi(i32::from(*precision) - i32::from(*scale));
                    (-whole + 1.0, whole - 1.0)
                }
                _ => (f64::MIN, f64::MAX),
            };
            let min = f.parse("min", "a number")?.unwrap_or(lo);
            let max = f.parse("max", "a number")?.unwrap_or(hi);
            if min > max {
                return Err(f.error("min", format!("min {min} is above max {max}")));
            }
            Random::Float { min, max }
        }
        SqlType::Boolean => Random::Bool,
        SqlType::String => {
            allowed.push("var-len");
            Random::Text {
                length: length(allowed, 100)?,
                var_len: f.parse("var-len", "'true' or 'false'")?.unwrap_or(false),
            }
        }
        SqlType::Bytes => {
            allowed.push("var-len");
            Random::Bytes {
                length: length(allowed, 100)?,
                var_len: f.parse("var-len", "'true' or 'false'")?.unwrap_or(false),
            }
        }
        SqlType::Timestamp { .. } | SqlType::TimestampLtz { .. } | SqlType::Date => {
            allowed.push("max-past");
            let max_past = match f.raw("max-past") {
                None => 0,
                Some(v) => parse_duration_ms(v).ok_or_else(|| {
                    f.error(
                        "max-past",
                        format!("expected a duration such as '5s', found '{v}'"),
                    )
                })?,
            };
            if matches!(ty, SqlType::Date) {
                Random::Date { max_past }
            } else {
                Random::Time { max_past }
            }
        }
        SqlType::Array(element) if matches!(**element, SqlType::Array(_) | SqlType::Map(..)) => {
            return Err(Error::Unsupported {
                construct: format!("datagen values of nested ARRAY column '{}'", f.column),
                span: f.def.span,
            })
        }
        SqlType::Array(element) => {
            let length = length(allowed, 3)?;
            // The elements take the column's other options (min, max...).
            let element = random_of(f, element, allowed)?;
            Random::Array {
                length,
                element: Box::new(element),
            }
        }
        SqlType::Map(..) => {
            return Err(Error::Unsupported {
                construct: format!("datagen values of MAP column '{}'", f.column),
                span: f.def.span,
            })
        }
    })
}

/// The generators of a table's columns, every option checked.
fn columns(def: &TableDef) -> Result<Vec<Column>> {
    for (key, _, span) in &def.options {
        let Some(rest) = key.strip_prefix("fields.") else {
            continue;
        };
        let Some((column, option)) = rest.rsplit_once('.') else {
            return Err(Error::Option {
                table: def.name.clone(),
                option: key.clone(),
                message: "expected fields.<column>.<option>".into(),
                span: *span,
            });
        };
        if def.column(column).is_none() {
            return Err(Error::Option {
                table: def.name.clone(),
                option: key.clone(),
                message: format!("the table has no physical column '{column}'"),
                span: *span,
            });
        }
        if !FIELD_OPTIONS.contains(&option) {
            return Err(Error::Option {
                table: def.name.clone(),
                option: key.clone(),
                message: format!(
                    "not a datagen field option; they are: {}",
                    FIELD_OPTIONS.join(", ")
                ),
                span: *span,
            });
        }
    }
    let mut out = Vec::new();
    for c in &def.columns {
        let f = FieldOptions {
            def,
            column: &c.name,
        };
        let mut allowed = vec!["kind", "null-rate"];
        let gen = match f.raw("kind").unwrap_or("random") {
            "random" => Gen::Random(random_of(&f, &c.ty, &mut allowed)?),
            "sequence" => {
                allowed.extend(["start", "end"]);
                let numeric = integer_bounds(&c.ty).is_some()
                    || matches!(
                        c.ty,
                        SqlType::String
                            | SqlType::Float
                            | SqlType::Double
                            | SqlType::Decimal { .. }
                    );
                if !numeric {
                    return Err(f.error(
                        "kind",
                        format!(
                            "a sequence needs a number or string column; '{}' is {:?}",
                            c.name, c.ty
                        ),
                    ));
                }
                let start = f.parse("start", "a whole number")?;
                let end = f.parse("end", "a whole number")?;
                match (start, end) {
                    (Some(start), Some(end)) if start <= end => Gen::Sequence { start, end },
                    (Some(start), Some(end)) => {
                        return Err(f.error("start", format!("start {start} is above end {end}")))
                    }
                    (None, _) => return Err(f.error("start", "is required by a sequence")),
                    (_, None) => return Err(f.error("end", "is required by a sequence")),
                }
            }
            other => {
                return Err(f.error("kind", format!("'{other}' is not one of: random, sequence")))
            }
        };
        for option in FIELD_OPTIONS {
            if !allowed.contains(option) && f.raw(option).is_some() {
                return Err(f.error(
                    option,
                    format!(
                        "does not apply to column '{}' ({:?}) of kind '{}'",
                        c.name,
                        c.ty,
                        f.raw("kind").unwrap_or("random")
                    ),
                ));
            }
        }
        let null_rate: f64 = f.parse("null-rate", "a number from 0 to 1")?.unwrap_or(0.0);
        if !(0.0..=1.0).contains(&null_rate) {
            return Err(f.error("null-rate", format!("{null_rate} is not between 0 and 1")));
        }
        out.push(Column {
            gen,
            null_rate,
            ty: c.ty.to_arrow(),
        });
    }
    Ok(out)
}

/// Checks a datagen table's options (run by [`super::validate`]).
pub fn check(def: &TableDef) -> Result<()> {
    columns(def)?;
    rate(def)?;
    count(def)?;
    Ok(())
}

fn rate(def: &TableDef) -> Result<f64> {
    match def.option("rows-per-second") {
        None => Ok(10_000.0),
        Some((v, span)) => match v.trim().parse::<f64>() {
            Ok(r) if r > 0.0 => Ok(r),
            _ => Err(Error::Option {
                table: def.name.clone(),
                option: "rows-per-second".into(),
                message: format!("expected a positive number, found '{v}'"),
                span,
            }),
        },
    }
}

fn count(def: &TableDef) -> Result<Option<u64>> {
    match def.option("number-of-rows") {
        None => Ok(None),
        Some((v, span)) => v.trim().parse().map(Some).map_err(|_| Error::Option {
            table: def.name.clone(),
            option: "number-of-rows".into(),
            message: format!("expected a whole number, found '{v}'"),
            span,
        }),
    }
}

/// SplitMix64: a well-mixed 64-bit value of `x`.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The random draw number `draw` of a cell.
fn draw(seed: u64, row: u64, column: usize, draw: u64) -> u64 {
    mix(seed ^ mix(row ^ mix((column as u64) << 32 ^ draw)))
}

fn unit(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// An integer in `[min, max]` from `x`.
fn between(x: u64, min: i64, max: i64) -> i64 {
    let span = (max as i128 - min as i128 + 1) as u128;
    (min as i128 + (u128::from(x) % span) as i128) as i64
}

pub struct DatagenSource {
    schema: SchemaRef,
    columns: Vec<Column>,
    seed: u64,
    /// When the source opened (random times are before it).
    now_ms: i64,
    rate: f64,
    /// Rows in all, when bounded.
    total: Option<u64>,
    emitted: u64,
    started: Instant,
}

impl DatagenSource {
    pub fn open(def: &TableDef) -> Result<Self> {
        let columns = columns(def)?;
        let sequence_rows = columns
            .iter()
            .filter_map(|c| match c.gen {
                Gen::Sequence { start, end } => Some((end as i128 - start as i128 + 1) as u64),
                Gen::Random(_) => None,
            })
            .min();
        let total = match (count(def)?, sequence_rows) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default();
        Ok(Self {
            schema: Arc::new(def.arrow_schema()),
            columns,
            seed: def.name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            }),
            now_ms,
            rate: rate(def)?,
            total,
            emitted: 0,
            started: Instant::now(),
        })
    }

    /// Rows `[from, to)` of column `i`.
    fn column(&self, i: usize, from: u64, to: u64) -> Result<ArrayRef> {
        let c = &self.columns[i];
        let null = |row: u64| c.null_rate > 0.0 && unit(draw(self.seed, row, i, 0)) < c.null_rate;
        let rows = from..to;
        let array: ArrayRef = match &c.gen {
            Gen::Sequence { start, .. } => {
                let values = rows.map(|r| (!null(r)).then(|| start + r as i64));
                if c.ty == DataType::Utf8 {
                    Arc::new(StringArray::from_iter(
                        values.map(|v| v.map(|v| v.to_string())),
                    ))
                } else {
                    Arc::new(Int64Array::from_iter(values))
                }
            }
            Gen::Random(random) => {
                let valid: Vec<bool> = rows.clone().map(|r| !null(r)).collect();
                self.random(random, i, rows, Some(&valid), 1)?
            }
        };
        if array.data_type() == &c.ty {
            Ok(array)
        } else {
            Ok(arrow::compute::cast(&array, &c.ty)?)
        }
    }

    /// Random values of rows `rows` of column `i`; `per_row` values per row (array elements).
    fn random(
        &self,
        random: &Random,
        i: usize,
        rows: std::ops::Range<u64>,
        valid: Option<&[bool]>,
        per_row: u64,
    ) -> Result<ArrayRef> {
        let seed = self.seed;
        let rows_n = (rows.end - rows.start) as usize;
        // Draw 0 decides nulls; element k of a row uses draws from 1 + 2k.
        let cells = rows
            .clone()
            .flat_map(|r| (0..per_row).map(move |k| (r, 1 + 2 * k)));
        let ok = |n: usize| valid.is_none_or(|v| v[n / per_row as usize]);
        Ok(match random {
            Random::Int { min, max } => {
                Arc::new(Int64Array::from_iter(cells.enumerate().map(
                    |(n, (r, d))| ok(n).then(|| between(draw(seed, r, i, d), *min, *max)),
                )))
            }
            Random::Float { min, max } => Arc::new(Float64Array::from_iter(cells.enumerate().map(
                |(n, (r, d))| {
                    ok(n).then(|| {
                        let u = unit(draw(seed, r, i, d));
                        // Written so that the full f64 range does not overflow to infinity.
                        min + u * max - u * min
                    })
                },
            ))),
            Random::Bool => Arc::new(BooleanArray::from_iter(
                cells
                    .enumerate()
                    .map(|(n, (r, d))| ok(n).then(|| draw(seed, r, i, d) & 1 == 1)),
            )),
            Random::Text { length, var_len } => {
                Arc::new(StringArray::from_iter(cells.enumerate().map(
                    |(n, (r, d))| ok(n).then(|| hex(seed, r, i, d, *length, *var_len)),
                )))
            }
            Random::Bytes { length, var_len } => {
                let values: Vec<Option<Vec<u8>>> = cells
                    .enumerate()
                    .map(|(n, (r, d))| {
                        ok(n).then(|| {
                            let len = sized(seed, r, i, d, *length, *var_len);
                            (0..len)
                                .map(|k| draw(seed, r, i, d + 1 + (k << 20)) as u8)
                                .collect()
                        })
                    })
                    .collect();
                Arc::new(BinaryArray::from_iter(values))
            }
            Random::Time { max_past } => Arc::new(TimestampMillisecondArray::from_iter(
                cells.enumerate().map(|(n, (r, d))| {
                    ok(n).then(|| self.now_ms - between(draw(seed, r, i, d), 0, *max_past))
                }),
            )),
            Random::Date { max_past } => Arc::new(Date32Array::from_iter(cells.enumerate().map(
                |(n, (r, d))| {
                    ok(n).then(|| {
                        let ms = self.now_ms - between(draw(seed, r, i, d), 0, *max_past);
                        ms.div_euclid(86_400_000) as i32
                    })
                },
            ))),
            Random::Array { length, element } => {
                // Row r's elements are its draws 1, 3, 5...: independent of the batch.
                let values = self.random(element, i, rows, None, *length)?;
                let offsets =
                    OffsetBuffer::from_lengths(std::iter::repeat_n(*length as usize, rows_n));
                let field = Arc::new(Field::new("element", values.data_type().clone(), true));
                let nulls = valid.map(|v| arrow::buffer::NullBuffer::from(v.to_vec()));
                Arc::new(ListArray::try_new(field, offsets, values, nulls)?)
            }
        })
    }
}

/// The length of a variable-length value: 1 to `length` with `var_len`, else `length`.
fn sized(seed: u64, row: u64, column: usize, d: u64, length: u64, var_len: bool) -> u64 {
    if var_len && length > 0 {
        1 + draw(seed, row, column, d) % length
    } else {
        length
    }
}

fn hex(seed: u64, row: u64, column: usize, d: u64, length: u64, var_len: bool) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let len = sized(seed, row, column, d, length, var_len);
    let mut out = String::with_capacity(len as usize);
    let mut bits = 0u64;
    for k in 0..len {
        if k % 16 == 0 {
            bits = draw(seed, row, column, d + 1 + (k << 20));
        }
        out.push(char::from(DIGITS[(bits & 15) as usize]));
        bits >>= 4;
    }
    out
}

impl Source for DatagenSource {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn poll_batch(&mut self, metrics: &mut JobMetrics) -> Result<Poll> {
        let left = self
            .total
            .map_or(u64::MAX, |t| t.saturating_sub(self.emitted));
        if left == 0 {
            return Ok(Poll::End);
        }
        // The pace: batches of a tenth of a second's rows, each due when its first row is, so
        // that batch boundaries (and so the changes of an updating query) do not depend on
        // timing.
        let size = ((self.rate / 10.0).ceil() as u64).clamp(1, BATCH_ROWS);
        let due_in = self.emitted as f64 / self.rate - self.started.elapsed().as_secs_f64();
        if due_in > 0.0 {
            std::thread::sleep(Duration::from_secs_f64(due_in.min(0.1)));
            return Ok(Poll::Idle);
        }
        let n = size.min(left);
        let from = self.emitted;
        let columns = (0..self.columns.len())
            .map(|i| self.column(i, from, from + n))
            .collect::<Result<Vec<_>>>()?;
        let options =
            arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(n as usize));
        let batch = RecordBatch::try_new_with_options(self.schema.clone(), columns, &options)?;
        self.emitted += n;
        metrics.rows_read += n;
        Ok(Poll::Batch(batch))
    }

    fn offset(&self) -> SourceOffset {
        SourceOffset::Rows {
            emitted: self.emitted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::script::{parse_script, Statement};
    use std::collections::HashMap;

    fn source(sql: &str) -> DatagenSource {
        match parse_script(sql, &HashMap::new()).unwrap().remove(0) {
            Statement::CreateTable(t) => DatagenSource::open(&t).unwrap(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rows_do_not_depend_on_batch_boundaries() {
        let g = source(
            "CREATE TABLE g (a INT, s STRING, d DATE, xs ARRAY<BIGINT>, b BYTES, t TIMESTAMP_LTZ(3)) WITH (
               'connector' = 'datagen', 'fields.a.null-rate' = '0.3', 'fields.s.var-len' = 'true',
               'fields.s.length' = '9', 'fields.d.max-past' = '30 d', 'fields.xs.length' = '4',
               'fields.xs.min' = '5', 'fields.b.length' = '3', 'fields.t.max-past' = '1 h')",
        );
        for i in 0..g.columns.len() {
            let whole = g.column(i, 0, 100).unwrap();
            let parts = [g.column(i, 0, 37).unwrap(), g.column(i, 37, 100).unwrap()];
            let joined = arrow::compute::concat(&[parts[0].as_ref(), parts[1].as_ref()]).unwrap();
            assert_eq!(whole.as_ref(), joined.as_ref(), "column {i}");
            assert_eq!(whole.data_type(), g.schema.field(i).data_type());
        }
        let s = g.column(1, 0, 500).unwrap();
        let s = s.as_any().downcast_ref::<StringArray>().unwrap();
        let lengths: std::collections::BTreeSet<usize> = s.iter().flatten().map(str::len).collect();
        assert_eq!(lengths, (1..=9).collect());
        assert!(s
            .iter()
            .flatten()
            .all(|v| v.bytes().all(|c| c.is_ascii_hexdigit())));
        let a = g.column(0, 0, 1000).unwrap();
        assert!((200..400).contains(&a.null_count()), "{}", a.null_count());
        let xs = g.column(3, 0, 10).unwrap();
        let xs = xs.as_any().downcast_ref::<ListArray>().unwrap();
        assert!(xs.iter().flatten().all(|l| l.len() == 4));
    }

    #[test]
    fn a_sequence_bounds_the_source_and_keeps_pace() {
        let mut g = source(
            "CREATE TABLE g (id INT) WITH ('connector' = 'datagen', 'rows-per-second' = '200',
               'fields.id.kind' = 'sequence', 'fields.id.start' = '-5', 'fields.id.end' = '44')",
        );
        let mut metrics = JobMetrics::default();
        let mut ids = Vec::new();
        let started = Instant::now();
        loop {
            match g.poll_batch(&mut metrics).unwrap() {
                Poll::Batch(b) => {
                    // A tenth of a second's rows per batch.
                    assert!(b.num_rows() <= 20);
                    let a = b
                        .column(0)
                        .as_any()
                        .downcast_ref::<arrow::array::Int32Array>()
                        .unwrap();
                    ids.extend(a.values().iter().copied());
                }
                Poll::Idle => {}
                Poll::End => break,
                Poll::PartitionBatch(..) => unreachable!(),
            }
        }
        assert_eq!(ids, (-5..=44).collect::<Vec<_>>());
        assert_eq!(g.offset(), SourceOffset::Rows { emitted: 50 });
        // 50 rows at 200/s: the last batch is due at 0.15 s.
        assert!(started.elapsed() >= Duration::from_millis(140));
    }
}
