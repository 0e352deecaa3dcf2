//! Values across the boundary: JSON (`serde_json::Value`, as objects are stored) into
//! CEL values typed by their [`Shape`], and CEL results back into JSON.
//!
//! JSON numbers are CEL `int` when integral and `double` otherwise, unless the shape
//! says: an `integer` field is an `int` (`2.0` too), a `number` field a `double`. A
//! `date-time` string is a timestamp and a `byte` string bytes when it parses as one,
//! and stays a string otherwise (schema validation reports it).

use crate::escape::escape_if_changed;
use crate::limits::MAX_VALUE_DEPTH;
use crate::reads::Reads;
use crate::shape::Shape;
use base64::Engine;
use cel::common::types::{CelList, CelMap, CelMapKey, CelString};
use cel::common::value::Val;
use cel::objects::{Key, Map, OptionalValue};
use cel::Value;
use serde_json::Value as Json;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// A JSON value could not be converted (too deep), or a CEL result has no JSON form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// Nesting beyond [`MAX_VALUE_DEPTH`].
    #[error("value nesting exceeds {MAX_VALUE_DEPTH} levels")]
    TooDeep,
    /// A CEL value that JSON cannot carry (a type, an opaque value, a non-finite double).
    #[error("unsupported result type {0}")]
    Unsupported(String),
}

/// Converts `json` into a CEL value typed by `shape`.
pub fn to_cel(json: &Json, shape: &Shape) -> Result<Value, ValueError> {
    convert(json, shape, 0)
}

fn convert(json: &Json, shape: &Shape, depth: usize) -> Result<Value, ValueError> {
    if depth > MAX_VALUE_DEPTH {
        return Err(ValueError::TooDeep);
    }
    Ok(match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match shape {
            Shape::Double => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            _ => {
                if let Some(i) = n.as_i64() {
                    Value::Int(i)
                } else if let Some(u) = n.as_u64() {
                    Value::UInt(u)
                } else {
                    let f = n.as_f64().unwrap_or(f64::NAN);
                    let integral = f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64;
                    if matches!(shape, Shape::Int | Shape::IntOrString) && integral {
                        Value::Int(f as i64)
                    } else {
                        Value::Float(f)
                    }
                }
            }
        },
        Json::String(s) => match shape {
            Shape::Timestamp => match parse_time(s) {
                Some(t) => Value::Timestamp(t),
                None => Value::String(Arc::new(s.clone())),
            },
            Shape::Bytes { .. } => match base64::engine::general_purpose::STANDARD.decode(s) {
                Ok(b) => Value::Bytes(Arc::new(b)),
                Err(_) => Value::String(Arc::new(s.clone())),
            },
            Shape::Duration => match crate::duration::parse_go_duration(s) {
                Some(d) => Value::Duration(d),
                None => Value::String(Arc::new(s.clone())),
            },
            _ => Value::String(Arc::new(s.clone())),
        },
        Json::Array(items) => {
            let item_shape = match shape {
                Shape::List { items, .. } => items.as_ref(),
                _ => &Shape::Any,
            };
            Value::List(Arc::new(
                items.iter().map(|i| convert(i, item_shape, depth + 1)).collect::<Result<_, _>>()?,
            ))
        }
        Json::Object(fields) => {
            let declared = match shape {
                Shape::Object { fields, escaped: true, .. } => Some(fields),
                _ => None,
            };
            let mut map = HashMap::with_capacity(fields.len());
            for (k, v) in fields {
                let field_shape = shape.field(k).unwrap_or(&Shape::Any);
                let key = declared
                    .filter(|d| d.contains_key(k))
                    .and_then(|_| escape_if_changed(k))
                    .unwrap_or_else(|| k.clone());
                map.insert(Key::String(Arc::new(key)), convert(v, field_shape, depth + 1)?);
            }
            Value::Map(Map { map: Arc::new(map) })
        }
    })
}

/// Converts `json` into an interpreter value typed by `shape`, borrowing its strings
/// (what [`Activation`](crate::Activation) binds: one pass, no copies of text).
pub(crate) fn to_val<'a>(json: &'a Json, shape: &Shape) -> Result<Box<dyn Val + 'a>, ValueError> {
    to_val_at(json, shape, 0)
}

fn to_val_at<'a>(json: &'a Json, shape: &Shape, depth: usize) -> Result<Box<dyn Val + 'a>, ValueError> {
    if depth > MAX_VALUE_DEPTH {
        return Err(ValueError::TooDeep);
    }
    Ok(match json {
        Json::Array(items) => {
            let item_shape = match shape {
                Shape::List { items, .. } => items.as_ref(),
                _ => &Shape::Any,
            };
            let items: Vec<Box<dyn Val + 'a>> =
                items.iter().map(|i| to_val_at(i, item_shape, depth + 1)).collect::<Result<_, _>>()?;
            Box::new(CelList::from(items))
        }
        Json::Object(members) => object_val(members, shape, depth, Only::All)?,
        Json::String(s) if !matches!(shape, Shape::Timestamp | Shape::Bytes { .. } | Shape::Duration) => {
            Box::new(CelString::from(s.as_str()))
        }
        // Scalars, and strings of a format: through the typed conversion.
        scalar => {
            convert(scalar, shape, depth)?.try_into().map_err(|_| ValueError::Unsupported("value".into()))?
        }
    })
}

/// [`to_val`] of an object with only the members whose CEL names are in `fields` (any
/// other value whole): what a program that reads only those fields sees the same way.
pub(crate) fn to_val_fields<'a>(
    json: &'a Json,
    shape: &Shape,
    fields: &BTreeSet<String>,
) -> Result<Box<dyn Val + 'a>, ValueError> {
    match json {
        Json::Object(members) => object_val(members, shape, 0, Only::Fields(fields)),
        other => to_val_at(other, shape, 0),
    }
}

/// [`to_val`] of what `reads` says is read: of an object, only the members it names,
/// each as it says; any other value whole.
pub(crate) fn to_val_reads<'a>(
    json: &'a Json,
    shape: &Shape,
    reads: &Reads,
) -> Result<Box<dyn Val + 'a>, ValueError> {
    reads_at(json, shape, reads, 0)
}

fn reads_at<'a>(
    json: &'a Json,
    shape: &Shape,
    reads: &Reads,
    depth: usize,
) -> Result<Box<dyn Val + 'a>, ValueError> {
    match json {
        Json::Object(members) if !reads.is_whole() => {
            if depth > MAX_VALUE_DEPTH {
                return Err(ValueError::TooDeep);
            }
            object_val(members, shape, depth, Only::Reads(reads))
        }
        other => to_val_at(other, shape, depth),
    }
}

/// The members of an object to convert.
#[derive(Clone, Copy)]
enum Only<'r> {
    All,
    /// Those named, whole.
    Fields(&'r BTreeSet<String>),
    /// Those read, as they are read.
    Reads(&'r Reads),
}

/// An object's members as a CEL map (those `only` names), each under its CEL name.
fn object_val<'a>(
    members: &'a serde_json::Map<String, Json>,
    shape: &Shape,
    depth: usize,
    only: Only<'_>,
) -> Result<Box<dyn Val + 'a>, ValueError> {
    let declared = match shape {
        Shape::Object { fields, escaped: true, .. } => Some(fields),
        _ => None,
    };
    let capacity = match only {
        Only::All => members.len(),
        Only::Fields(o) => o.len().min(members.len()),
        Only::Reads(r) => r.field_count().min(members.len()),
    };
    let mut map = HashMap::with_capacity(capacity);
    for (k, v) in members {
        // A declared property under its CEL identifier, when it differs.
        let ident = declared.filter(|d| d.contains_key(k)).and_then(|_| escape_if_changed(k));
        let name = ident.as_deref().unwrap_or(k.as_str());
        let reads = match only {
            Only::All => None,
            Only::Fields(o) if o.contains(name) => None,
            Only::Fields(_) => continue,
            Only::Reads(r) => match r.field(name) {
                Some(r) if r.is_whole() => None,
                Some(r) => Some(r),
                None => continue,
            },
        };
        let key = match ident {
            Some(ident) => CelString::from(ident),
            None => CelString::from(k.as_str()),
        };
        let field_shape = shape.field(k).unwrap_or(&Shape::Any);
        let value = match reads {
            None => to_val_at(v, field_shape, depth + 1)?,
            Some(r) => reads_at(v, field_shape, r, depth + 1)?,
        };
        map.insert(CelMapKey::String(key), value);
    }
    Ok(Box::new(CelMap::from(map)))
}

/// An RFC 3339 date-time, or a `YYYY-MM-DD` date (midnight UTC).
fn parse_time(s: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    chrono::DateTime::parse_from_rfc3339(s).ok().or_else(|| {
        let date = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
        Some(date.and_hms_opt(0, 0, 0)?.and_utc().fixed_offset())
    })
}

/// Converts a CEL result into JSON: maps with string, int, uint or bool keys become
/// objects (keys printed), timestamps RFC 3339 strings, durations Go duration strings,
/// bytes base64, an optional its value or `null`.
pub fn to_json(value: &Value) -> Result<Json, ValueError> {
    from_cel(value, 0)
}

fn from_cel(value: &Value, depth: usize) -> Result<Json, ValueError> {
    if depth > MAX_VALUE_DEPTH {
        return Err(ValueError::TooDeep);
    }
    Ok(match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::UInt(u) => Json::from(*u),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(Json::Number)
            .ok_or_else(|| ValueError::Unsupported(format!("double {f}")))?,
        Value::String(s) => Json::String(s.to_string()),
        Value::Bytes(b) => Json::String(base64::engine::general_purpose::STANDARD.encode(b.as_slice())),
        Value::Timestamp(t) => Json::String(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
        Value::Duration(d) => Json::String(crate::duration::format_cel_duration(*d)),
        Value::List(items) => {
            Json::Array(items.iter().map(|i| from_cel(i, depth + 1)).collect::<Result<_, _>>()?)
        }
        Value::Map(m) => {
            let mut out = serde_json::Map::with_capacity(m.map.len());
            let mut entries: Vec<(String, &Value)> = m.map.iter().map(|(k, v)| (key_text(k), v)).collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (k, v) in entries {
                out.insert(k, from_cel(v, depth + 1)?);
            }
            Json::Object(out)
        }
        // A struct (kube's `Object` types) is the object of its fields.
        Value::Struct(s) => {
            let mut out = serde_json::Map::new();
            for (k, v) in s.field_values() {
                let v = Value::try_from(v.as_ref()).map_err(|_| ValueError::Unsupported(k.clone()))?;
                out.insert(k, from_cel(&v, depth + 1)?);
            }
            Json::Object(out)
        }
        Value::Opaque(o) => match o.downcast_ref::<OptionalValue>() {
            Some(optional) => match optional.value() {
                Some(v) => from_cel(v, depth + 1)?,
                None => Json::Null,
            },
            None => return Err(ValueError::Unsupported(o.runtime_type_name().to_string())),
        },
        other => return Err(ValueError::Unsupported(type_name(other).to_string())),
    })
}

fn key_text(k: &Key) -> String {
    match k {
        Key::String(s) => s.to_string(),
        Key::Int(i) => i.to_string(),
        Key::Uint(u) => u.to_string(),
        Key::Bool(b) => b.to_string(),
    }
}

/// CEL's name of a value's type, for messages.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::List(_) => "list",
        Value::Map(_) => "map",
        Value::Function(..) => "function",
        Value::Int(_) => "int",
        Value::UInt(_) => "uint",
        Value::Float(_) => "double",
        Value::String(_) => "string",
        Value::Bytes(_) => "bytes",
        Value::Bool(_) => "bool",
        Value::Duration(_) => "google.protobuf.Duration",
        Value::Timestamp(_) => "google.protobuf.Timestamp",
        Value::Opaque(_) => "opaque",
        Value::Struct(_) => "struct",
        Value::Null => "null_type",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_follow_the_shape() {
        assert_eq!(to_cel(&json!(3), &Shape::Any), Ok(Value::Int(3)));
        assert_eq!(to_cel(&json!(3.5), &Shape::Any), Ok(Value::Float(3.5)));
        assert_eq!(to_cel(&json!(2.0), &Shape::Int), Ok(Value::Int(2)));
        assert_eq!(to_cel(&json!(2), &Shape::Double), Ok(Value::Float(2.0)));
        assert_eq!(to_cel(&json!(u64::MAX), &Shape::Any), Ok(Value::UInt(u64::MAX)));
    }

    #[test]
    fn formats_and_round_trip() {
        let t = to_cel(&json!("2024-01-02T03:04:05Z"), &Shape::Timestamp).unwrap();
        assert!(matches!(t, Value::Timestamp(_)));
        assert_eq!(to_json(&t), Ok(json!("2024-01-02T03:04:05Z")));
        assert_eq!(
            to_cel(&json!("not a time"), &Shape::Timestamp),
            Ok(Value::String(Arc::new("not a time".into())))
        );
        let doc = json!({"a": [1, "x", {"b": null}], "c": true});
        assert_eq!(to_json(&to_cel(&doc, &Shape::Any).unwrap()), Ok(doc));
    }

    #[test]
    fn depth_is_bounded() {
        let mut deep = json!(1);
        for _ in 0..(MAX_VALUE_DEPTH + 2) {
            deep = json!([deep]);
        }
        assert_eq!(to_cel(&deep, &Shape::Any), Err(ValueError::TooDeep));
    }
}
