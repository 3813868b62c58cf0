//! Flink's JSON path functions. A path is `[lax|strict] $...` with `.key`, `['key']` and `[n]`
//! steps; without a mode it is strict, as in Flink. In strict mode a missing key or index, a
//! JSON null, an object or array where `JSON_VALUE` wants a scalar, and text that is not JSON
//! are *errors*; in lax mode they are *empty*.
//!
//! - `JSON_VALUE(json, path [RETURNING type] [{NULL | ERROR | DEFAULT x} ON EMPTY]
//!   [{NULL | ERROR | DEFAULT x} ON ERROR])`: the scalar at the path, NULL when empty or an
//!   error unless the clauses say otherwise. The SQL front end rewrites the clauses to five
//!   more arguments: `JSON_VALUE(json, path, 'INT', 'DEFAULT', 0, 'NULL', NULL)`.
//!   Integers keep their digits, other numbers read as Java doubles (`1000.0`, `1.0E-7`).
//!   RETURNING takes the types Flink 1.20 takes: STRING (VARCHAR), INT, DOUBLE, BOOLEAN. Where
//!   the JSON value has another type, Flink 1.20 fails the job (a `ClassCastException`);
//!   Weir converts it as `CAST` would and applies ON ERROR when that fails.
//! - `JSON_QUERY(json, path)`: the object or array at the path as JSON text, NULL otherwise.
//! - `JSON_EXISTS(json, path)`: whether the path leads to a value that is not JSON null
//!   (FALSE for text that is not JSON).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Builder, Int32Builder, StringBuilder,
};
use arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use serde_json::Value;

/// Which of the three functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Value,
    Query,
    Exists,
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct JsonPathFunction {
    kind: Kind,
    signature: Signature,
}

impl JsonPathFunction {
    fn new(kind: Kind) -> Self {
        Self {
            kind,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// `JSON_VALUE`.
pub struct JsonValue;
/// `JSON_QUERY`.
pub struct JsonQuery;
/// `JSON_EXISTS`.
pub struct JsonExists;

impl JsonValue {
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> JsonPathFunction {
        JsonPathFunction::new(Kind::Value)
    }
}

impl JsonQuery {
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> JsonPathFunction {
        JsonPathFunction::new(Kind::Query)
    }
}

impl JsonExists {
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> JsonPathFunction {
        JsonPathFunction::new(Kind::Exists)
    }
}

/// The types `RETURNING` takes (Flink 1.20's code generator takes no others), as they are
/// passed to the function after the rewrite.
pub const RETURNING_TYPES: &[(&str, DataType)] = &[
    ("STRING", DataType::Utf8),
    ("INT", DataType::Int32),
    ("DOUBLE", DataType::Float64),
    ("BOOLEAN", DataType::Boolean),
];

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone, PartialEq)]
struct Path {
    lax: bool,
    steps: Vec<Step>,
}

/// A path, or `None` when it is not one (an error in both modes, as in Flink).
fn parse_path(path: &str) -> Option<Path> {
    let trimmed = path.trim_start();
    let (lax, rest) = match trimmed.split_once(char::is_whitespace) {
        Some((mode, rest)) if mode.eq_ignore_ascii_case("lax") => (true, rest),
        Some((mode, rest)) if mode.eq_ignore_ascii_case("strict") => (false, rest),
        _ => (false, path),
    };
    let mut rest = rest.trim().strip_prefix('$')?;
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end == 0 {
                return None;
            }
            steps.push(Step::Key(r[..end].to_string()));
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = r[..end].trim();
            if let Some(q) = inner.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
                steps.push(Step::Key(q.to_string()));
            } else if let Some(q) = inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                steps.push(Step::Key(q.to_string()));
            } else {
                steps.push(Step::Index(inner.parse().ok()?));
            }
            rest = &r[end + 1..];
        } else {
            return None;
        }
    }
    Some(Path { lax, steps })
}

/// What a path gives in a document.
#[derive(Debug, PartialEq)]
enum Found {
    /// A value that is not JSON null.
    Value(Value),
    /// Nothing: lax mode's missing path, JSON null, or text that is not JSON.
    Empty,
    /// Strict mode's missing path, JSON null or text that is not JSON; an invalid path.
    Error(String),
}

fn find(json: &str, path: Option<&Path>) -> Found {
    let Some(path) = path else {
        return Found::Error("not a JSON path such as '$.a.b'".into());
    };
    let failed = |why: String| {
        if path.lax {
            Found::Empty
        } else {
            Found::Error(why)
        }
    };
    let value: Value = match serde_json::from_str(json) {
        Ok(v) => v,
        Err(e) => return failed(format!("the text is not JSON: {e}")),
    };
    let mut current = &value;
    for step in &path.steps {
        let next = match step {
            Step::Key(k) => current.as_object().and_then(|o| o.get(k)),
            Step::Index(i) => current.as_array().and_then(|a| a.get(*i)),
        };
        current = match next {
            Some(v) => v,
            None => return failed(format!("no value at {step:?}")),
        };
    }
    match current {
        Value::Null => failed("the value is JSON null".into()),
        v => Found::Value(v.clone()),
    }
}

/// A JSON scalar as Flink's `JSON_VALUE` writes it: integers as written, other numbers as Java
/// doubles.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        Value::Number(n) => n.as_f64().map(|f| super::to_string::java_double(f, false)),
        Value::Null | Value::Object(_) | Value::Array(_) => None,
    }
}

/// One typed result (or NULL) of `JSON_VALUE`.
#[derive(Debug, Clone, PartialEq)]
enum Typed {
    Null,
    Text(String),
    Int(i32),
    Double(f64),
    Bool(bool),
}

/// The scalar as the RETURNING type, or `None` when it does not convert.
fn convert(value: &Value, returning: &DataType) -> Option<Typed> {
    match returning {
        DataType::Int32 => match value {
            Value::Number(n) => match n.as_i64() {
                Some(i) => i32::try_from(i).ok().map(Typed::Int),
                None => {
                    let f = n.as_f64()?.trunc();
                    (f >= i32::MIN as f64 && f <= i32::MAX as f64).then_some(Typed::Int(f as i32))
                }
            },
            Value::String(s) => s.trim().parse().ok().map(Typed::Int),
            _ => None,
        },
        DataType::Float64 => match value {
            Value::Number(n) => n.as_f64().map(Typed::Double),
            Value::String(s) => s.trim().parse().ok().map(Typed::Double),
            _ => None,
        },
        DataType::Boolean => match value {
            Value::Bool(b) => Some(Typed::Bool(*b)),
            Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Some(Typed::Bool(true)),
            Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Some(Typed::Bool(false)),
            _ => None,
        },
        _ => scalar_text(value).map(Typed::Text),
    }
}

/// `ON EMPTY` / `ON ERROR` behaviour.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Behavior {
    Null,
    Error,
    Default,
}

impl Behavior {
    fn parse(text: Option<&str>) -> Result<Behavior> {
        match text.map(|t| t.to_ascii_uppercase()).as_deref() {
            None | Some("NULL") => Ok(Behavior::Null),
            Some("ERROR") => Ok(Behavior::Error),
            Some("DEFAULT") => Ok(Behavior::Default),
            Some(other) => exec_err!("JSON_VALUE: unknown ON EMPTY/ON ERROR behaviour {other}"),
        }
    }
}

/// The clauses of one `JSON_VALUE` call, per row.
struct Clauses {
    returning: DataType,
    on_empty: Behavior,
    empty_default: Option<ArrayRef>,
    on_error: Behavior,
    error_default: Option<ArrayRef>,
}

fn default_at(array: &Option<ArrayRef>, row: usize, returning: &DataType) -> Result<Typed> {
    let Some(array) = array else {
        return Ok(Typed::Null);
    };
    if array.is_null(row) {
        return Ok(Typed::Null);
    }
    Ok(match returning {
        DataType::Int32 => Typed::Int(
            array
                .as_primitive::<arrow::datatypes::Int32Type>()
                .value(row),
        ),
        DataType::Float64 => Typed::Double(
            array
                .as_primitive::<arrow::datatypes::Float64Type>()
                .value(row),
        ),
        DataType::Boolean => Typed::Bool(array.as_boolean().value(row)),
        _ => Typed::Text(array.as_string::<i32>().value(row).to_string()),
    })
}

/// One row of `JSON_VALUE`.
fn json_value(json: &str, path: Option<&Path>, c: &Clauses, row: usize) -> Result<Typed> {
    let error = |why: String| -> Result<Typed> {
        match c.on_error {
            Behavior::Null => Ok(Typed::Null),
            Behavior::Default => default_at(&c.error_default, row, &c.returning),
            Behavior::Error => exec_err!("JSON_VALUE (ERROR ON ERROR): {why}"),
        }
    };
    let empty = || -> Result<Typed> {
        match c.on_empty {
            Behavior::Null => Ok(Typed::Null),
            Behavior::Default => default_at(&c.empty_default, row, &c.returning),
            Behavior::Error => exec_err!("JSON_VALUE (ERROR ON EMPTY): the path gives no value"),
        }
    };
    let lax = path.is_some_and(|p| p.lax);
    match find(json, path) {
        Found::Error(why) => error(why),
        Found::Empty => empty(),
        Found::Value(Value::Object(_) | Value::Array(_)) if lax => empty(),
        Found::Value(v @ (Value::Object(_) | Value::Array(_))) => {
            error(format!("strict mode needs a scalar, found {v}"))
        }
        Found::Value(v) => match convert(&v, &c.returning) {
            Some(t) => Ok(t),
            None => error(format!(
                "{v} is not a {}",
                crate::sql::types::SqlType::flink_name_of(&c.returning)
            )),
        },
    }
}

/// `JSON_QUERY`'s result: objects and arrays as JSON text.
fn query(json: &str, path: Option<&Path>) -> Option<String> {
    match find(json, path) {
        Found::Value(v @ (Value::Object(_) | Value::Array(_))) => Some(v.to_string()),
        _ => None,
    }
}

fn exists(json: &str, path: Option<&Path>) -> bool {
    matches!(find(json, path), Found::Value(_))
}

fn text_of(args: &[ColumnarValue], i: usize, n: usize) -> Result<Option<ArrayRef>> {
    match args.get(i) {
        Some(a) => Ok(Some(arrow::compute::cast(
            &a.to_array(n)?,
            &DataType::Utf8,
        )?)),
        None => Ok(None),
    }
}

/// The literal text of argument `i` (a type or behaviour the rewrite put there).
fn literal(args: &[ColumnarValue], i: usize) -> Option<String> {
    match args.get(i) {
        Some(ColumnarValue::Scalar(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::LargeUtf8(Some(s))
            | ScalarValue::Utf8View(Some(s)),
        )) => Some(s.clone()),
        _ => None,
    }
}

fn returning_type(name: &str) -> Option<DataType> {
    RETURNING_TYPES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, t)| t.clone())
}

impl JsonPathFunction {
    fn arity(&self) -> (usize, usize) {
        match self.kind {
            Kind::Value => (2, 7),
            _ => (2, 2),
        }
    }
}

impl ScalarUDFImpl for JsonPathFunction {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Value => "json_value",
            Kind::Query => "json_query",
            Kind::Exists => "json_exists",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let (min, max) = self.arity();
        super::udf::arity(self.name(), arg_types, min, max)?;
        if arg_types.len() != min && arg_types.len() != max {
            return plan_err!("JSON_VALUE takes a JSON text and a path");
        }
        arg_types
            .iter()
            .enumerate()
            .map(|(i, t)| match i {
                // The DEFAULT values keep their type; they are cast to the RETURNING type.
                4 | 6 => Ok(t.clone()),
                _ => super::udf::string_arg(self.name(), i, t),
            })
            .collect()
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(match self.kind {
            Kind::Exists => DataType::Boolean,
            _ => DataType::Utf8,
        })
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let dt = match (self.kind, args.scalar_arguments.get(2)) {
            (Kind::Value, Some(arg)) => {
                let name = super::udf::literal_text("JSON_VALUE", "RETURNING type", Some(arg))?;
                match returning_type(&name) {
                    Some(t) => t,
                    None => return plan_err!("JSON_VALUE cannot return {name}"),
                }
            }
            _ => self.return_type(&[])?,
        };
        Ok(Arc::new(Field::new(self.name(), dt, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = self.name().to_ascii_uppercase();
        let n = args.number_rows;
        let a = &args.args;
        let (Some(json), Some(paths)) = (text_of(a, 0, n)?, text_of(a, 1, n)?) else {
            return exec_err!("{name} takes a JSON string and a path");
        };
        let json = json.as_string::<i32>();
        let paths = paths.as_string::<i32>();
        // A constant path (the usual case) is parsed once.
        let constant = literal(a, 1).map(|p| parse_path(&p));
        let path_at = |i: usize| -> Option<Option<Path>> {
            if paths.is_null(i) {
                return None;
            }
            Some(match &constant {
                Some(p) => p.clone(),
                None => parse_path(paths.value(i)),
            })
        };
        let array: ArrayRef = match self.kind {
            Kind::Exists => Arc::new(
                (0..n)
                    .map(|i| {
                        let path = path_at(i)?;
                        (!json.is_null(i)).then(|| exists(json.value(i), path.as_ref()))
                    })
                    .collect::<BooleanArray>(),
            ),
            Kind::Query => {
                let mut out = StringBuilder::with_capacity(n, n * 8);
                for i in 0..n {
                    let path = path_at(i);
                    out.append_option(match path {
                        Some(p) if !json.is_null(i) => query(json.value(i), p.as_ref()),
                        _ => None,
                    });
                }
                Arc::new(out.finish())
            }
            Kind::Value => {
                let returning = match literal(a, 2) {
                    Some(t) => returning_type(&t).unwrap_or(DataType::Utf8),
                    None => DataType::Utf8,
                };
                let cast_default = |i: usize| -> Result<Option<ArrayRef>> {
                    match a.get(i) {
                        Some(v) => Ok(Some(arrow::compute::cast(&v.to_array(n)?, &returning)?)),
                        None => Ok(None),
                    }
                };
                let clauses = Clauses {
                    on_empty: Behavior::parse(literal(a, 3).as_deref())?,
                    empty_default: cast_default(4)?,
                    on_error: Behavior::parse(literal(a, 5).as_deref())?,
                    error_default: cast_default(6)?,
                    returning: returning.clone(),
                };
                // As in Flink, a NULL argument (a DEFAULT value included) makes the result NULL.
                let default_null = |i: usize| {
                    let null_at = |b: Behavior, d: &Option<ArrayRef>| {
                        b == Behavior::Default && d.as_ref().is_some_and(|d| d.is_null(i))
                    };
                    null_at(clauses.on_empty, &clauses.empty_default)
                        || null_at(clauses.on_error, &clauses.error_default)
                };
                let mut results = Vec::with_capacity(n);
                for i in 0..n {
                    let row = match path_at(i) {
                        Some(p) if !json.is_null(i) && !default_null(i) => {
                            json_value(json.value(i), p.as_ref(), &clauses, i)?
                        }
                        _ => Typed::Null,
                    };
                    results.push(row);
                }
                typed_array(results, &returning)
            }
        };
        Ok(ColumnarValue::Array(array))
    }
}

fn typed_array(values: Vec<Typed>, returning: &DataType) -> ArrayRef {
    match returning {
        DataType::Int32 => {
            let mut b = Int32Builder::with_capacity(values.len());
            for v in values {
                b.append_option(match v {
                    Typed::Int(i) => Some(i),
                    _ => None,
                });
            }
            Arc::new(b.finish())
        }
        DataType::Float64 => {
            let mut b = Float64Builder::with_capacity(values.len());
            for v in values {
                b.append_option(match v {
                    Typed::Double(d) => Some(d),
                    _ => None,
                });
            }
            Arc::new(b.finish())
        }
        DataType::Boolean => Arc::new(
            values
                .into_iter()
                .map(|v| match v {
                    Typed::Bool(b) => Some(b),
                    _ => None,
                })
                .collect::<BooleanArray>(),
        ),
        _ => {
            let mut b = StringBuilder::with_capacity(values.len(), values.len() * 8);
            for v in values {
                b.append_option(match v {
                    Typed::Text(t) => Some(t),
                    _ => None,
                });
            }
            Arc::new(b.finish())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> Path {
        parse_path(p).unwrap()
    }

    fn value(json: &str, p: &str) -> Typed {
        let clauses = Clauses {
            returning: DataType::Utf8,
            on_empty: Behavior::Null,
            empty_default: None,
            on_error: Behavior::Null,
            error_default: None,
        };
        json_value(json, Some(&path(p)), &clauses, 0).unwrap()
    }

    #[test]
    fn paths_and_modes() {
        assert_eq!(
            path("$.a.b[1]").steps,
            vec![Step::Key("a".into()), Step::Key("b".into()), Step::Index(1)]
        );
        assert!(!path("$.a").lax, "strict without a mode");
        assert!(path("LAX $['x y']").lax);
        assert_eq!(path("lax $['x y']").steps, vec![Step::Key("x y".into())]);
        assert!(parse_path("a.b").is_none());
    }

    #[test]
    fn strict_errors_and_lax_empties() {
        let j = r#"{"n": null, "o": {"k": 1}}"#;
        assert!(matches!(find(j, Some(&path("$.missing"))), Found::Error(_)));
        assert_eq!(find(j, Some(&path("lax $.missing"))), Found::Empty);
        assert!(matches!(find(j, Some(&path("$.n"))), Found::Error(_)));
        assert_eq!(find(j, Some(&path("lax $.n"))), Found::Empty);
        assert!(matches!(find("nope", Some(&path("$"))), Found::Error(_)));
        assert_eq!(find("nope", Some(&path("lax $"))), Found::Empty);
        assert!(matches!(find(j, None), Found::Error(_)));
    }

    #[test]
    fn numbers_read_as_flink_writes_them() {
        let j = r#"{"i": 1500, "f": 1.50, "e": 1e3, "t": 0.0000001, "b": true, "s": "x"}"#;
        assert_eq!(value(j, "$.i"), Typed::Text("1500".into()));
        assert_eq!(value(j, "$.f"), Typed::Text("1.5".into()));
        assert_eq!(value(j, "$.e"), Typed::Text("1000.0".into()));
        assert_eq!(value(j, "$.t"), Typed::Text("1.0E-7".into()));
        assert_eq!(value(j, "$.b"), Typed::Text("true".into()));
        assert_eq!(value(j, "$.o"), Typed::Null);
    }

    #[test]
    fn clauses_pick_the_default() {
        let int = |on_empty, on_error| Clauses {
            returning: DataType::Int32,
            on_empty,
            empty_default: Some(Arc::new(arrow::array::Int32Array::from(vec![-2])) as ArrayRef),
            on_error,
            error_default: Some(Arc::new(arrow::array::Int32Array::from(vec![-1])) as ArrayRef),
        };
        let c = int(Behavior::Default, Behavior::Default);
        let run = |j: &str, p: &str, c: &Clauses| json_value(j, Some(&path(p)), c, 0).unwrap();
        assert_eq!(run(r#"{"n": 5}"#, "$.n", &c), Typed::Int(5));
        assert_eq!(run(r#"{"n": {"k": 1}}"#, "$.n", &c), Typed::Int(-1));
        assert_eq!(run(r#"{"n": {"k": 1}}"#, "lax $.n", &c), Typed::Int(-2));
        assert_eq!(run(r#"{"n": "12"}"#, "$.n", &c), Typed::Int(12));
        assert_eq!(run(r#"{"n": "x"}"#, "$.n", &c), Typed::Int(-1));
        let failing = int(Behavior::Error, Behavior::Error);
        assert!(json_value("{}", Some(&path("lax $.n")), &failing, 0).is_err());
        assert!(json_value("{}", Some(&path("$.n")), &failing, 0).is_err());
    }

    #[test]
    fn query_and_exists() {
        let j = r#"{"a": {"b": [1, 2]}, "n": null, "s": "x"}"#;
        assert_eq!(
            query(j, Some(&path("$.a"))).as_deref(),
            Some(r#"{"b":[1,2]}"#)
        );
        assert_eq!(query(j, Some(&path("$.a.b"))).as_deref(), Some("[1,2]"));
        assert_eq!(query(j, Some(&path("$.s"))), None, "scalars give NULL");
        assert!(!exists(j, Some(&path("$.n"))), "JSON null does not exist");
        assert!(exists(j, Some(&path("$.s"))));
        assert!(!exists("nope", Some(&path("$"))));
    }
}
