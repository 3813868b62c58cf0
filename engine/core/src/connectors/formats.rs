//! Message formats of log connectors (Kafka, the embedded log): `json`, `csv` and `raw`, as
//! Flink defines them, for keys and values. A [`Decoder`] turns message bytes into rows of a
//! schema; an [`Encoder`] turns rows into message bytes.

use std::sync::Arc;

use arrow::array::{new_null_array, Array, ArrayRef, BinaryArray, StringArray, StringBuilder};
use arrow::compute::CastOptions;
use arrow::datatypes::{DataType, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;

use super::json::{JsonDecoder, JsonOptions, TimestampStandard};
use super::parse_bool;
use crate::format::{cell_text, row_json_object};
use crate::sql::TableDef;
use crate::{Error, Result};

/// The formats log connectors read and write.
pub const FORMATS: &[&str] = &["json", "csv", "raw"];

/// A format's options, declared once; validation accepts them under the format's prefix
/// (`json.x` with `'format'`, `value.json.x` with `'value.format'`, `key.json.x`).
pub fn format_options(format: &str) -> &'static [super::OptionSpec] {
    match format {
        "json" => super::JSON_OPTIONS,
        "csv" => CSV_OPTIONS,
        _ => &[],
    }
}

use super::Effect::{Honoured, RuntimeOnly};
const CSV_OPTIONS: &[super::OptionSpec] = &[
    super::opt(
        "csv.field-delimiter",
        false,
        Honoured,
        "one character (default ',')",
    ),
    super::opt(
        "csv.quote-character",
        false,
        Honoured,
        "one character (default '\"')",
    ),
    super::opt(
        "csv.disable-quote-character",
        false,
        Honoured,
        "no quoting at all",
    ),
    super::opt(
        "csv.allow-comments",
        false,
        Honoured,
        "skip lines starting with '#'",
    ),
    super::opt(
        "csv.ignore-parse-errors",
        false,
        Honoured,
        "null a bad field instead of failing",
    ),
    super::opt(
        "csv.null-literal",
        false,
        Honoured,
        "the text read and written as NULL",
    ),
    super::opt(
        "csv.array-element-delimiter",
        false,
        RuntimeOnly,
        "array elements",
    ),
    super::opt(
        "csv.escape-character",
        false,
        RuntimeOnly,
        "escape character",
    ),
    super::opt(
        "csv.write-bigdecimal-in-scientific-notation",
        false,
        RuntimeOnly,
        "decimals",
    ),
];

/// Reads the JSON format's options of `def` written under `prefix` (`""`, `"value."`).
pub fn json_options(def: &TableDef, prefix: &str) -> Result<JsonOptions> {
    let key = |k: &str| format!("{prefix}{k}");
    let flag = |k: &str| {
        def.option(&key(k))
            .and_then(|(v, _)| parse_bool(v))
            .unwrap_or(false)
    };
    let standard_key = key("json.timestamp-format.standard");
    let options = JsonOptions {
        fail_on_missing_field: flag("json.fail-on-missing-field"),
        ignore_parse_errors: flag("json.ignore-parse-errors"),
        timestamp_standard: match def.option(&standard_key) {
            None => TimestampStandard::Sql,
            Some((v, span)) => match v.to_ascii_uppercase().as_str() {
                "SQL" => TimestampStandard::Sql,
                "ISO-8601" => TimestampStandard::Iso8601,
                _ => {
                    return Err(Error::Option {
                        table: def.name.clone(),
                        option: standard_key,
                        message: format!("expected 'SQL' or 'ISO-8601', found '{v}'"),
                        span,
                    })
                }
            },
        },
    };
    if options.fail_on_missing_field && options.ignore_parse_errors {
        let option = key("json.ignore-parse-errors");
        let span = def.option(&option).map(|(_, s)| s).unwrap_or(def.span);
        return Err(Error::Option {
            table: def.name.clone(),
            option,
            message: "cannot be true together with 'json.fail-on-missing-field' (as in Flink)"
                .into(),
            span,
        });
    }
    Ok(options)
}

/// CSV settings.
#[derive(Debug, Clone)]
pub struct CsvOptions {
    pub delimiter: char,
    pub quote: Option<char>,
    pub allow_comments: bool,
    pub ignore_parse_errors: bool,
    pub null_literal: Option<String>,
}

fn csv_options(def: &TableDef, prefix: &str) -> Result<CsvOptions> {
    let get = |k: &str| def.option(&format!("{prefix}{k}"));
    let one_char = |k: &str, default: char| -> Result<char> {
        match get(k) {
            None => Ok(default),
            Some((v, span)) => {
                let v = if v == "\\t" { "\t" } else { v };
                let mut chars = v.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Ok(c),
                    _ => Err(Error::Option {
                        table: def.name.clone(),
                        option: format!("{prefix}{k}"),
                        message: format!("expected one character, found '{v}'"),
                        span,
                    }),
                }
            }
        }
    };
    let flag = |k: &str| get(k).and_then(|(v, _)| parse_bool(v)).unwrap_or(false);
    Ok(CsvOptions {
        delimiter: one_char("csv.field-delimiter", ',')?,
        quote: if flag("csv.disable-quote-character") {
            None
        } else {
            Some(one_char("csv.quote-character", '"')?)
        },
        allow_comments: flag("csv.allow-comments"),
        ignore_parse_errors: flag("csv.ignore-parse-errors"),
        null_literal: get("csv.null-literal").map(|(v, _)| v.to_string()),
    })
}

/// Decodes message bytes into rows of a schema.
pub enum Decoder {
    Json(JsonDecoder),
    Csv(CsvDecoder),
    Raw(RawDecoder),
}

impl Decoder {
    /// The decoder for `format` (option `format_key` of `def`, at `prefix`) over `schema`;
    /// `rowtime` lists columns a row must have (the watermark's).
    pub fn new(
        def: &TableDef,
        format_key: &str,
        prefix: &str,
        schema: SchemaRef,
        rowtime: &[usize],
    ) -> Result<Self> {
        let (format, span) = def.option(format_key).unwrap_or(("json", def.span));
        match format {
            "json" => Ok(Self::Json(JsonDecoder::new(
                schema,
                json_options(def, prefix)?,
                rowtime,
            ))),
            "csv" => Ok(Self::Csv(CsvDecoder::new(
                schema,
                csv_options(def, prefix)?,
            ))),
            "raw" => {
                let ok = schema.fields().len() == 1
                    && matches!(
                        schema.field(0).data_type(),
                        DataType::Utf8 | DataType::Binary
                    );
                if !ok {
                    return Err(Error::Option {
                        table: def.name.clone(),
                        option: format_key.into(),
                        message: "the 'raw' format reads a single STRING or BYTES column".into(),
                        span,
                    });
                }
                Ok(Self::Raw(RawDecoder::new(schema)))
            }
            other => Err(Error::Option {
                table: def.name.clone(),
                option: format_key.into(),
                message: format!(
                    "unknown format '{other}'; Weir reads: {}",
                    FORMATS.join(", ")
                ),
                span,
            }),
        }
    }

    /// Leaves the columns marked `true` unread where the format can (JSON: see
    /// [`JsonDecoder::skip_columns`]); other formats read every column.
    pub fn skip_columns(&mut self, skip: &[bool]) {
        if let Self::Json(d) = self {
            d.skip_columns(skip);
        }
    }

    /// Adds one message; `Ok(false)` when it was malformed and skipped as the options say.
    pub fn decode(&mut self, bytes: Option<&[u8]>) -> std::result::Result<bool, String> {
        match self {
            Self::Json(d) => {
                let Some(bytes) = bytes else {
                    // A tombstone has no row (Flink's json format skips null messages).
                    return Ok(false);
                };
                match std::str::from_utf8(bytes) {
                    Ok(text) => d.decode_line(text.trim()),
                    Err(_) if d.ignores_parse_errors() => Ok(false),
                    Err(e) => Err(format!("not UTF-8: {e}")),
                }
            }
            Self::Csv(d) => d.decode(bytes),
            Self::Raw(d) => {
                d.values.push(bytes.map(<[u8]>::to_vec));
                Ok(true)
            }
        }
    }

    pub fn buffered_rows(&self) -> usize {
        match self {
            Self::Json(d) => d.buffered_rows(),
            Self::Csv(d) => d.rows,
            Self::Raw(d) => d.values.len(),
        }
    }

    pub fn flush(&mut self) -> Result<RecordBatch> {
        match self {
            Self::Json(d) => d.flush(),
            Self::Csv(d) => d.flush(),
            Self::Raw(d) => d.flush(),
        }
    }
}

/// The `raw` format: the message is the single column's value.
pub struct RawDecoder {
    schema: SchemaRef,
    values: Vec<Option<Vec<u8>>>,
}

impl RawDecoder {
    fn new(schema: SchemaRef) -> Self {
        Self {
            schema,
            values: Vec::new(),
        }
    }

    fn flush(&mut self) -> Result<RecordBatch> {
        let values = std::mem::take(&mut self.values);
        let column: ArrayRef = match self.schema.field(0).data_type() {
            DataType::Binary => Arc::new(BinaryArray::from_iter(values)),
            _ => Arc::new(StringArray::from_iter(
                values
                    .into_iter()
                    .map(|v| v.map(|b| String::from_utf8_lossy(&b).into_owned())),
            )),
        };
        Ok(RecordBatch::try_new(self.schema.clone(), vec![column])?)
    }
}

/// The `csv` format: fields by position; text is cast to each column's type.
pub struct CsvDecoder {
    schema: SchemaRef,
    options: CsvOptions,
    columns: Vec<StringBuilder>,
    rows: usize,
}

impl CsvDecoder {
    fn new(schema: SchemaRef, options: CsvOptions) -> Self {
        let columns = schema
            .fields()
            .iter()
            .map(|_| StringBuilder::new())
            .collect();
        Self {
            schema,
            options,
            columns,
            rows: 0,
        }
    }

    fn decode(&mut self, bytes: Option<&[u8]>) -> std::result::Result<bool, String> {
        let Some(bytes) = bytes else { return Ok(false) };
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t.trim_end_matches(['\r', '\n']),
            Err(_) if self.options.ignore_parse_errors => return Ok(false),
            Err(e) => return Err(format!("not UTF-8: {e}")),
        };
        if self.options.allow_comments && text.starts_with('#') {
            return Ok(false);
        }
        let fields = split_csv(text, self.options.delimiter, self.options.quote);
        if fields.len() != self.columns.len() && !self.options.ignore_parse_errors {
            return Err(format!(
                "expected {} fields, found {}",
                self.columns.len(),
                fields.len()
            ));
        }
        for (i, builder) in self.columns.iter_mut().enumerate() {
            match fields.get(i) {
                Some(f) if Some(f.as_str()) != self.options.null_literal.as_deref() => {
                    builder.append_value(f)
                }
                _ => builder.append_null(),
            }
        }
        self.rows += 1;
        Ok(true)
    }

    fn flush(&mut self) -> Result<RecordBatch> {
        let safe = self.options.ignore_parse_errors;
        let mut columns = Vec::with_capacity(self.columns.len());
        for (builder, field) in self.columns.iter_mut().zip(self.schema.fields()) {
            let text: ArrayRef = Arc::new(builder.finish());
            let options = CastOptions {
                safe,
                ..Default::default()
            };
            let column = arrow::compute::cast_with_options(&text, field.data_type(), &options)
                .map_err(|e| {
                    Error::Data(format!(
                        "csv column '{}': {e} (set 'csv.ignore-parse-errors' = 'true' to read bad fields as NULL)",
                        field.name()
                    ))
                })?;
            columns.push(column);
        }
        self.rows = 0;
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }
}

/// Splits one CSV line; quoted fields may hold the delimiter and doubled quotes.
fn split_csv(line: &str, delimiter: char, quote: Option<char>) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if Some(c) == quote {
            if quoted && chars.peek() == quote.as_ref() {
                field.push(c);
                chars.next();
            } else {
                quoted = !quoted;
            }
        } else if c == delimiter && !quoted {
            fields.push(std::mem::take(&mut field));
        } else {
            field.push(c);
        }
    }
    fields.push(field);
    fields
}

/// Encodes rows (a batch without `__op`) into message bytes.
#[derive(Debug, Clone)]
pub enum Encoder {
    Json { ignore_null_fields: bool },
    Csv(CsvOptions),
    Raw,
}

impl Encoder {
    pub fn new(def: &TableDef, format_key: &str, prefix: &str, schema: &Schema) -> Result<Self> {
        let (format, span) = def.option(format_key).unwrap_or(("json", def.span));
        match format {
            "json" => Ok(Self::Json {
                ignore_null_fields: def
                    .option(&format!("{prefix}json.encode.ignore-null-fields"))
                    .and_then(|(v, _)| parse_bool(v))
                    .unwrap_or(false),
            }),
            "csv" => Ok(Self::Csv(csv_options(def, prefix)?)),
            "raw" if schema.fields().len() == 1 => Ok(Self::Raw),
            "raw" => Err(Error::Option {
                table: def.name.clone(),
                option: format_key.into(),
                message: "the 'raw' format writes a single column".into(),
                span,
            }),
            other => Err(Error::Option {
                table: def.name.clone(),
                option: format_key.into(),
                message: format!(
                    "unknown format '{other}'; Weir writes: {}",
                    FORMATS.join(", ")
                ),
                span,
            }),
        }
    }

    /// Appends the encoding of `row` to `out`.
    pub fn encode(&self, batch: &RecordBatch, row: usize, out: &mut Vec<u8>) -> Result<()> {
        match self {
            Self::Json { ignore_null_fields } => {
                let mut value = row_json_object(batch, row);
                if *ignore_null_fields {
                    if let serde_json::Value::Object(map) = &mut value {
                        map.retain(|_, v| !v.is_null());
                    }
                }
                serde_json::to_writer(out, &value)
                    .map_err(|e| Error::Internal(format!("json encoding failed: {e}")))
            }
            Self::Csv(o) => {
                for (i, column) in batch.columns().iter().enumerate() {
                    if i > 0 {
                        out.extend_from_slice(o.delimiter.to_string().as_bytes());
                    }
                    if column.is_null(row) {
                        out.extend_from_slice(o.null_literal.as_deref().unwrap_or("").as_bytes());
                        continue;
                    }
                    let text = cell_text(column, row);
                    match o.quote {
                        Some(q) if text.contains([o.delimiter, q, '\n', '\r']) => {
                            let doubled = text.replace(q, &format!("{q}{q}"));
                            out.extend_from_slice(format!("{q}{doubled}{q}").as_bytes());
                        }
                        _ => out.extend_from_slice(text.as_bytes()),
                    }
                }
                Ok(())
            }
            Self::Raw => {
                let column = batch.column(0);
                if let Some(b) = column.as_any().downcast_ref::<BinaryArray>() {
                    out.extend_from_slice(b.value(row));
                } else {
                    out.extend_from_slice(cell_text(column, row).as_bytes());
                }
                Ok(())
            }
        }
    }
}

/// A batch of `schema` with every column NULL (for key-only or value-only decoding).
pub fn null_columns(schema: &Schema, rows: usize) -> Vec<ArrayRef> {
    schema
        .fields()
        .iter()
        .map(|f| new_null_array(f.data_type(), rows))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_split_with_quotes() {
        assert_eq!(
            split_csv("a,\"b,c\",\"d\"\"e\"", ',', Some('"')),
            vec!["a", "b,c", "d\"e"]
        );
        assert_eq!(split_csv("a;b", ';', None), vec!["a", "b"]);
        assert_eq!(split_csv("", ',', Some('"')), vec![""]);
    }
}
