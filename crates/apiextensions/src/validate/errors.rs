//! `enum` (with Go's value conversions) and kube's translation of kube-openapi errors into
//! field errors (`kubeOpenAPIResultToFieldErrors`).

use super::{Code, OErr, Res, IN};
use crate::path::{child, Path};
use crate::props::Props;
use apimachinery::field::{
    cause, invalid_rendered, not_supported_rendered, required, too_long, too_many, type_invalid, Errors,
};
use apimachinery::gofmt::{go_bad_value, go_json};
use apimachinery::status::CauseType;
use serde_json::Value;

/// `reflect.Value.Convert` of a decoded JSON value to the type of an enum value, for the
/// cases Go allows between JSON types: numbers to numbers (truncating), integers to
/// strings (as a rune).
fn convert_like(data: &Value, like: &Value) -> Option<Value> {
    match (data, like) {
        (Value::Number(d), Value::Number(l)) => {
            if l.is_i64() {
                let f = d.as_f64()?;
                Some(Value::from(d.as_i64().unwrap_or(f as i64)))
            } else {
                Some(serde_json::Number::from_f64(d.as_f64()?).map(Value::Number).unwrap_or(Value::Null))
            }
        }
        (Value::Number(d), Value::String(_)) if d.is_i64() => {
            let c =
                d.as_i64().and_then(|i| u32::try_from(i).ok()).and_then(char::from_u32).unwrap_or('\u{fffd}');
            Some(Value::String(c.to_string()))
        }
        (Value::String(_), Value::String(_))
        | (Value::Bool(_), Value::Bool(_))
        | (Value::Array(_), Value::Array(_))
        | (Value::Object(_), Value::Object(_)) => Some(data.clone()),
        _ => None,
    }
}

pub(super) fn enum_check(s: &Props, path: &Path<'_>, data: &Value) -> Res {
    if s.enum_.is_empty() {
        return Res::default();
    }
    for e in &s.enum_ {
        if e.is_null() {
            continue;
        }
        if !data.is_null() && convert_like(data, e).as_ref() == Some(e) {
            return Res::default();
        }
    }
    let listed: Vec<String> = s.enum_.iter().map(go_v).collect();
    Res::err(OErr {
        code: Code::Enum,
        name: path.to_string(),
        value: Some(data.clone()),
        valid: 0,
        values: s.enum_.clone(),
        message: format!("{path} in {IN} should be one of [{}]", listed.join(" ")),
    })
}

/// Go's `%v` of a decoded JSON value.
fn go_v(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => apimachinery::gofmt::go_number(n),
        Value::Bool(b) => b.to_string(),
        Value::Null => "<nil>".into(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_v).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            format!(
                "map[{}]",
                keys.iter().map(|k| format!("{k}:{}", go_v(&m[*k]))).collect::<Vec<_>>().join(" ")
            )
        }
    }
}

/// kube's `kubeOpenAPIResultToFieldErrors`: field errors under `prefix` (kube's nil path
/// when empty, which prints `<nil>` for errors at the root).
pub(crate) fn to_field_errors(prefix: &str, res: Res) -> Errors {
    let mut out = Errors::new();
    let root = if prefix.is_empty() { "<nil>".to_string() } else { prefix.to_string() };
    for e in res.errors {
        if e.code == Code::Plain {
            out.push(invalid_rendered(&root, "\"\"", &e.message));
            continue;
        }
        let path = if !e.name.is_empty() && e.name != "." {
            child(prefix, e.name.trim_start_matches('.'))
        } else {
            root.clone()
        };
        let rendered = e.value.as_ref().map(go_bad_value).unwrap_or_else(|| "\"\"".into());
        out.push(match e.code {
            Code::Required => required(&path),
            Code::Enum => {
                let values: Vec<String> = e
                    .values
                    .iter()
                    .map(|v| if let Value::String(s) = v { s.clone() } else { go_json(v) })
                    .collect();
                not_supported_rendered(&path, &rendered, &values)
            }
            Code::TooLong => too_long(&path, e.valid),
            Code::MaxItems | Code::TooManyProperties => {
                too_many(&path, e.value.as_ref().and_then(Value::as_i64).unwrap_or(-1), e.valid)
            }
            Code::InvalidType => type_invalid(&path, &rendered, &e.message),
            _ => cause(
                CauseType::FieldValueInvalid,
                &path,
                format!("Invalid value: {rendered}: {}", e.message),
            ),
        });
    }
    out
}
