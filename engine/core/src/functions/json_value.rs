//! `JSON_VALUE(json, path)`: the scalar at a JSON path as STRING, NULL when the text is not
//! JSON, the path is absent or points at an object or array (Flink's default
//! `NULL ON EMPTY NULL ON ERROR`). Paths: `$`, `.key`, `['key']`, `[n]`, optional `lax`/`strict`.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use serde_json::Value;

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct JsonValue {
    signature: Signature,
}

impl JsonValue {
    pub fn new() -> Self {
        Self {
            signature: Signature::string(2, Volatility::Immutable),
        }
    }
}

impl Default for JsonValue {
    fn default() -> Self {
        Self::new()
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

fn lookup(json: &str, steps: &[Step]) -> Option<String> {
    let value: Value = serde_json::from_str(json).ok()?;
    let mut current = &value;
    for step in steps {
        current = match step {
            Step::Key(k) => current.as_object()?.get(k)?,
            Step::Index(i) => current.as_array()?.get(*i)?,
        };
    }
    match current {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Object(_) | Value::Array(_) => None,
    }
}

impl ScalarUDFImpl for JsonValue {
    fn name(&self) -> &str {
        "json_value"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [json, path] = args.args.as_slice() else {
            return exec_err!("JSON_VALUE takes a JSON string and a path");
        };
        let n = args.number_rows;
        let json = json.to_array(n)?;
        let json = arrow::compute::cast(&json, &DataType::Utf8)?;
        let json = json.as_string::<i32>();
        let mut out = StringBuilder::with_capacity(n, n * 8);
        match path {
            ColumnarValue::Scalar(p) => {
                let steps = match p {
                    ScalarValue::Utf8(Some(p))
                    | ScalarValue::LargeUtf8(Some(p))
                    | ScalarValue::Utf8View(Some(p)) => match parse_path(p) {
                        Some(s) => s,
                        None => {
                            return exec_err!(
                                "JSON_VALUE: '{p}' is not a JSON path such as '$.a.b'"
                            )
                        }
                    },
                    _ => return Ok(ColumnarValue::Scalar(ScalarValue::Utf8(None))),
                };
                for i in 0..n {
                    out.append_option(if json.is_null(i) {
                        None
                    } else {
                        lookup(json.value(i), &steps)
                    });
                }
            }
            ColumnarValue::Array(paths) => {
                let paths = arrow::compute::cast(paths, &DataType::Utf8)?;
                let paths = paths.as_string::<i32>();
                for i in 0..n {
                    let v = if json.is_null(i) || paths.is_null(i) {
                        None
                    } else {
                        parse_path(paths.value(i)).and_then(|s| lookup(json.value(i), &s))
                    };
                    out.append_option(v);
                }
            }
        }
        let array: ArrayRef = Arc::new(out.finish());
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
