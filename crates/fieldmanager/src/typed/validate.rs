//! The checks an applied configuration passes before it is merged (structured-merge-diff's
//! validation of a typed object): scalars of the schema's kind, lists and maps where the
//! schema has them, no undeclared fields, list-map items with keys and without
//! duplicates. Messages are structured-merge-diff's, prefixed with the path.

use super::{list_item_element, segs_string, Seg};
use crate::path::PathElement;
use crate::schema::{resolve, resolve_map_field, ListKind, Node, Scalar, Schema, Shape};
use serde_json::Value;

/// Every problem of `value` as an object of the type `node`, as `path: message`.
pub fn validate(schema: &dyn Schema, node: Node, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    walk(schema, node, value, &mut Vec::new(), &mut errors);
    errors
}

/// structured-merge-diff's joined form of validation errors.
pub fn join_errors(errors: &[String]) -> String {
    match errors {
        [one] => one.clone(),
        many => {
            let mut s = String::from("errors:");
            for e in many {
                s.push_str("\n  ");
                s.push_str(e);
            }
            s
        }
    }
}

fn push(errors: &mut Vec<String>, path: &[Seg<'_>], msg: String) {
    let path = segs_string(path);
    errors.push(if path.is_empty() { msg } else { format!("{path}: {msg}") });
}

fn walk<'v>(
    schema: &dyn Schema,
    node: Node,
    value: &'v Value,
    path: &mut Vec<Seg<'v>>,
    errors: &mut Vec<String>,
) {
    match resolve(schema, node, Some(value)) {
        Shape::Invalid => push(errors, path, "schema error: invalid atom: inlined".into()),
        Shape::Scalar(s) => {
            if let Some(msg) = scalar_error(s, value) {
                push(errors, path, msg);
            }
        }
        Shape::List(list) => {
            let items = match value {
                Value::Null => return,
                Value::Array(items) => items,
                v => return push(errors, path, format!("expected list, got {}", go_v(v))),
            };
            let mut seen = std::collections::BTreeSet::new();
            for (i, item) in items.iter().enumerate() {
                let pe = if matches!(list.kind, ListKind::Atomic) {
                    PathElement::Index(i)
                } else {
                    match list_item_element(schema, &list, item) {
                        Ok(pe) => pe,
                        Err(e) => return push(errors, path, format!("element {i}: {e}")),
                    }
                };
                if !matches!(list.kind, ListKind::Atomic) && !seen.insert(pe.clone()) {
                    push(errors, path, format!("duplicate entries for key {pe}"));
                }
                path.push(Seg::Elem(pe));
                walk(schema, list.element, item, path, errors);
                path.pop();
            }
        }
        Shape::Map(_) => {
            let obj = match value {
                Value::Null => return,
                Value::Object(o) => o,
                v => return push(errors, path, format!("expected map, got {}", go_v(v))),
            };
            for (key, child) in obj {
                path.push(Seg::Field(key));
                match resolve_map_field(schema, node, key) {
                    (Some(n), _) | (None, Some(n)) => walk(schema, n, child, path, errors),
                    (None, None) => {
                        push(errors, path, "field not declared in schema".into());
                        path.pop();
                        return;
                    }
                }
                path.pop();
            }
        }
    }
}

fn scalar_error(s: Scalar, v: &Value) -> Option<String> {
    match (s, v) {
        (_, Value::Null) => None,
        (Scalar::Numeric, Value::Number(_)) => None,
        (Scalar::Numeric, v) => Some(format!("expected numeric (int or float), got {}", go_type(v))),
        (Scalar::String, Value::String(_)) => None,
        (Scalar::String, v) => {
            Some(format!("expected string, got &value.valueUnstructured{{Value:{}}}", go_sharp_v(v)))
        }
        (Scalar::Boolean, Value::Bool(_)) => None,
        (Scalar::Boolean, v) => Some(format!("expected boolean, got {}", go_v(v))),
        (Scalar::Any, Value::Array(_) | Value::Object(_)) => {
            Some(format!("expected any scalar, got {}", go_v(v)))
        }
        (Scalar::Any, _) => None,
    }
}

/// Go's `%T` of a decoded JSON value.
fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// Go's `%v` of a decoded JSON value behind structured-merge-diff's value wrapper.
fn go_v(v: &Value) -> String {
    format!("&{{{}}}", go_plain(v))
}

fn go_plain(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) => format!("[{}]", items.iter().map(go_plain).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys.iter().map(|k| format!("{k}:{}", go_plain(&m[*k]))).collect();
            format!("map[{}]", parts.join(" "))
        }
        other => other.to_string(),
    }
}

/// Go's `%#v` of a decoded JSON value.
fn go_sharp_v(v: &Value) -> String {
    match v {
        Value::Null => "interface {}(nil)".into(),
        Value::String(s) => apimachinery::status::quote(s),
        Value::Array(items) => {
            format!("[]interface {{}}{{{}}}", items.iter().map(go_sharp_v).collect::<Vec<_>>().join(", "))
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", apimachinery::status::quote(k), go_sharp_v(&m[*k])))
                .collect();
            format!("map[string]interface {{}}{{{}}}", parts.join(", "))
        }
        other => other.to_string(),
    }
}
