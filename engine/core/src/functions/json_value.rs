//! Flink's JSON path functions, with its defaults for empty and error cases:
//! `JSON_VALUE(json, path)`: the scalar at the path as STRING (NULL for objects, arrays,
//! absent paths and text that is not JSON); `JSON_QUERY(json, path)`: the object or array at
//! the path as JSON text (NULL otherwise); `JSON_EXISTS(json, path)`: whether the path exists
//! (FALSE for text that is not JSON). Paths: `$`, `.key`, `['key']`, `[n]`, `lax`/`strict`.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, StringBuilder};
use arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
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
            signature: Signature::string(2, Volatility::Immutable),
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

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

fn parse_path(path: &str) -> Option<Vec<Step>> {
    let path = path.trim();
    let path = path
        .strip_prefix("lax")
        .or_else(|| path.strip_prefix("strict"))
        .unwrap_or(path)
        .trim();
    let mut rest = path.strip_prefix('$')?;
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
    Some(steps)
}

/// The value at the path, or `None` when the text is not JSON or the path is absent.
fn find(json: &str, steps: &[Step]) -> Option<Value> {
    let value: Value = serde_json::from_str(json).ok()?;
    let mut current = &value;
    for step in steps {
        current = match step {
            Step::Key(k) => current.as_object()?.get(k)?,
            Step::Index(i) => current.as_array()?.get(*i)?,
        };
    }
    Some(current.clone())
}

/// `JSON_VALUE`'s result: scalars as text.
fn lookup(json: &str, steps: &[Step]) -> Option<String> {
    match find(json, steps)? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Object(_) | Value::Array(_) => None,
    }
}

/// `JSON_QUERY`'s result: objects and arrays as JSON text.
fn query(json: &str, steps: &[Step]) -> Option<String> {
    match find(json, steps)? {
        v @ (Value::Object(_) | Value::Array(_)) => Some(v.to_string()),
        _ => None,
    }
}

impl JsonPathFunction {
    /// One row's result as text, or as "true"/"false" for JSON_EXISTS.
    fn apply(&self, json: Option<&str>, steps: &[Step]) -> Option<String> {
        let json = json?;
        match self.kind {
            Kind::Value => lookup(json, steps),
            Kind::Query => query(json, steps),
            Kind::Exists => Some(find(json, steps).is_some().to_string()),
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

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(match self.kind {
            Kind::Exists => DataType::Boolean,
            _ => DataType::Utf8,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = self.name().to_ascii_uppercase();
        let [json, path] = args.args.as_slice() else {
            return exec_err!("{name} takes a JSON string and a path");
        };
        let n = args.number_rows;
        let json = arrow::compute::cast(&json.to_array(n)?, &DataType::Utf8)?;
        let json = json.as_string::<i32>();
        let paths = arrow::compute::cast(&path.to_array(n)?, &DataType::Utf8)?;
        let paths = paths.as_string::<i32>();
        // A constant path (the usual case) is parsed once.
        let constant = match path {
            ColumnarValue::Scalar(
                ScalarValue::Utf8(Some(p))
                | ScalarValue::LargeUtf8(Some(p))
                | ScalarValue::Utf8View(Some(p)),
            ) => match parse_path(p) {
                Some(steps) => Some(steps),
                None => return exec_err!("{name}: '{p}' is not a JSON path such as '$.a.b'"),
            },
            _ => None,
        };
        let results = (0..n).map(|i| {
            let text = (!json.is_null(i)).then(|| json.value(i));
            match &constant {
                Some(steps) => self.apply(text, steps),
                None if paths.is_null(i) => None,
                None => parse_path(paths.value(i)).and_then(|steps| self.apply(text, &steps)),
            }
        });
        let array: ArrayRef = match self.kind {
            // NULL in, NULL out; otherwise whether the path exists.
            Kind::Exists => Arc::new(
                results
                    .map(|r| r.map(|r| r == "true"))
                    .collect::<BooleanArray>(),
            ),
            _ => {
                let mut out = StringBuilder::with_capacity(n, n * 8);
                for r in results {
                    out.append_option(r);
                }
                Arc::new(out.finish())
            }
        };
        Ok(ColumnarValue::Array(array))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let steps = parse_path("$.a.b[1]").unwrap();
        assert_eq!(
            steps,
            vec![Step::Key("a".into()), Step::Key("b".into()), Step::Index(1)]
        );
        assert_eq!(
            parse_path("lax $['x y']").unwrap(),
            vec![Step::Key("x y".into())]
        );
        assert!(parse_path("a.b").is_none());
    }

    #[test]
    fn query_and_exists() {
        let j = r#"{"a": {"b": [1, 2]}, "n": null, "s": "x"}"#;
        let steps = |p: &str| parse_path(p).unwrap();
        assert_eq!(query(j, &steps("$.a")).as_deref(), Some(r#"{"b":[1,2]}"#));
        assert_eq!(query(j, &steps("$.a.b")).as_deref(), Some("[1,2]"));
        assert_eq!(query(j, &steps("$.s")), None, "scalars give NULL");
        let exists = JsonExists::new();
        assert_eq!(
            exists.apply(Some(j), &steps("$.n")).as_deref(),
            Some("true")
        );
        assert_eq!(
            exists.apply(Some(j), &steps("$.zz")).as_deref(),
            Some("false")
        );
        assert_eq!(
            exists.apply(Some("nope"), &steps("$")).as_deref(),
            Some("false")
        );
    }

    #[test]
    fn lookups_follow_flink_defaults() {
        let j = r#"{"duration_ms": 1500, "ok": true, "name": "x", "nested": {"k": [1, 2]}}"#;
        let get = |p: &str| lookup(j, &parse_path(p).unwrap());
        assert_eq!(get("$.duration_ms").as_deref(), Some("1500"));
        assert_eq!(get("$.ok").as_deref(), Some("true"));
        assert_eq!(get("$.nested.k[1]").as_deref(), Some("2"));
        assert_eq!(get("$.nested"), None, "objects give NULL");
        assert_eq!(get("$.missing"), None);
        assert_eq!(lookup("not json", &parse_path("$.a").unwrap()), None);
    }
}
