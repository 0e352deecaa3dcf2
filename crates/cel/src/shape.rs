//! [`Shape`]: what the compiler knows of a variable before it sees a value: its type
//! where declared (an integer schema field is an `int`, a `date-time` string a
//! timestamp) and the size bounds a schema gives (`maxLength`, `maxItems`,
//! `maxProperties`). Values are converted by their shape ([`crate::value`]) and the cost
//! estimator prices an expression by the shapes it reads (the `estimate` pass); a missing
//! bound is the largest value a request can carry, as kube estimates it.

use crate::limits::MAX_REQUEST_SIZE_BYTES;
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// The declared type and size bounds of a value.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Shape {
    /// Anything (kube's `dyn`: `x-kubernetes-preserve-unknown-fields`, claims).
    #[default]
    Any,
    Bool,
    Int,
    UInt,
    Double,
    /// A string of at most `max_len` bytes (`None`: bounded by the request size).
    String {
        max_len: Option<u64>,
    },
    /// `format: byte`: base64 in JSON, bytes in CEL.
    Bytes {
        max_len: Option<u64>,
    },
    /// `format: date-time` (or `date`): an RFC 3339 string (or a `YYYY-MM-DD` date)
    /// in JSON, a timestamp in CEL.
    Timestamp,
    /// `format: duration`: a Go duration string in JSON, a duration in CEL.
    Duration,
    /// `x-kubernetes-int-or-string`.
    IntOrString,
    /// A list of at most `max_items` items of one shape.
    List {
        max_items: Option<u64>,
        items: Box<Shape>,
    },
    /// An object: named fields, and the shape of any other key (`additionalProperties`,
    /// `None`: other keys are not expected), at most `max_properties` entries. Declared
    /// fields are read by their CEL identifier (`self.foo__dash__bar`), other keys as
    /// map keys (`self['foo-bar']`), as kube does.
    Object {
        fields: BTreeMap<String, Shape>,
        additional: Option<Box<Shape>>,
        max_properties: Option<u64>,
        /// Whether declared fields are read by kube's escaped identifiers (a schema's
        /// properties: `self.__namespace__`), rather than by their names (a type kube
        /// declares, such as the admission request: `request.namespace`).
        escaped: bool,
    },
}

impl Shape {
    /// A list of `items` without a bound.
    pub fn list_of(items: Shape) -> Shape {
        Shape::List { max_items: None, items: Box::new(items) }
    }

    /// A map from strings to `values` without a bound.
    pub fn map_of(values: Shape) -> Shape {
        Shape::Object {
            fields: BTreeMap::new(),
            additional: Some(Box::new(values)),
            max_properties: None,
            escaped: false,
        }
    }

    /// An object with exactly these fields, read by their names (a type kube declares).
    pub fn object(fields: impl IntoIterator<Item = (&'static str, Shape)>) -> Shape {
        Shape::Object {
            fields: fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            additional: None,
            max_properties: None,
            escaped: false,
        }
    }

    /// The shape of a structural OpenAPI v3 schema (a CRD version's `openAPIV3Schema` or
    /// any node of it): `type`, `format`, `items`, `properties`, `additionalProperties`,
    /// `maxLength`, `maxItems`, `maxProperties`, `x-kubernetes-int-or-string`,
    /// `x-kubernetes-preserve-unknown-fields`. Nesting deeper than `MAX_VALUE_DEPTH` is
    /// `Any`.
    pub fn from_openapi_schema(schema: &Json) -> Shape {
        from_schema(schema, 0)
    }

    /// The shape of a field, by property name or by its CEL identifier
    /// (`foo__dash__bar` for `foo-bar`, see [`crate::escape`]); `None`: unknown field
    /// of an object that declares no additional properties, or a selection on a
    /// scalar or a list.
    pub fn field(&self, name: &str) -> Option<&Shape> {
        match self {
            Shape::Object { fields, additional, escaped, .. } => fields
                .get(name)
                .or_else(|| {
                    if !*escaped {
                        return None;
                    }
                    // A declared property read by its CEL identifier.
                    let property = crate::escape::unescape(name).filter(|p| p != name)?;
                    fields.get(&property)
                })
                .or(additional.as_deref()),
            // `dyn`: any selection compiles, and fails at run time if it must.
            Shape::Any | Shape::IntOrString => Some(&Shape::Any),
            _ => None,
        }
    }

    /// The shape of an element when iterating: list items, or map keys.
    pub fn element(&self) -> Shape {
        match self {
            Shape::List { items, .. } => (**items).clone(),
            Shape::Object { .. } => Shape::String { max_len: None },
            _ => Shape::Any,
        }
    }

    /// Whether every value of this shape is a scalar (bool, number, timestamp,
    /// duration): reading it costs nothing.
    pub fn is_scalar(&self) -> bool {
        matches!(
            self,
            Shape::Bool | Shape::Int | Shape::UInt | Shape::Double | Shape::Timestamp | Shape::Duration
        )
    }

    /// The most items (list), entries (map) or bytes (string, bytes) a value of this
    /// shape can hold.
    pub fn max_len(&self) -> u64 {
        let min_item = |s: &Shape| s.min_serialized_size().saturating_add(1);
        match self {
            Shape::String { max_len } | Shape::Bytes { max_len } => {
                max_len.unwrap_or(MAX_REQUEST_SIZE_BYTES.saturating_sub(2))
            }
            Shape::List { max_items, items } => {
                max_items.unwrap_or(MAX_REQUEST_SIZE_BYTES.saturating_sub(2) / min_item(items))
            }
            Shape::Object { fields, additional, max_properties, .. } => match (max_properties, additional) {
                (Some(n), _) => *n,
                (None, Some(values)) => {
                    // `"k":v,` at least: two quotes, a colon and the value.
                    MAX_REQUEST_SIZE_BYTES.saturating_sub(2) / min_item(values).saturating_add(3)
                }
                (None, None) => fields.len() as u64,
            },
            Shape::Any => MAX_REQUEST_SIZE_BYTES.saturating_sub(2) / 2,
            _ => 0,
        }
    }

    /// Cost units of a whole value of this shape at its largest: what scanning or
    /// copying it is charged at run time ([`crate::cost`]). Saturating.
    pub fn max_units(&self) -> u64 {
        self.units(0)
    }

    fn units(&self, depth: usize) -> u64 {
        if depth > crate::limits::MAX_VALUE_DEPTH {
            return MAX_REQUEST_SIZE_BYTES;
        }
        match self {
            Shape::String { .. } | Shape::Bytes { .. } => self.max_len().div_ceil(10),
            Shape::List { items, .. } => {
                self.max_len().saturating_mul(items.units(depth + 1).saturating_add(1))
            }
            Shape::Object { fields, additional, .. } => {
                let named = fields.iter().fold(0u64, |acc, (k, v)| {
                    acc.saturating_add(v.units(depth + 1)).saturating_add(1 + k.len() as u64 / 10)
                });
                match additional {
                    Some(values) => named.saturating_add(
                        self.max_len().saturating_mul(values.units(depth + 1).saturating_add(2)),
                    ),
                    None => named,
                }
            }
            // Unknown content: as if the whole request were one string.
            Shape::Any => MAX_REQUEST_SIZE_BYTES.div_ceil(10),
            Shape::IntOrString => MAX_REQUEST_SIZE_BYTES.div_ceil(10),
            _ => 0,
        }
    }

    /// Smallest JSON serialization of a value of this shape (kube's estimate of how
    /// many items fit in a request).
    fn min_serialized_size(&self) -> u64 {
        match self {
            Shape::Bool | Shape::Int | Shape::UInt | Shape::Double | Shape::IntOrString => 1,
            Shape::String { .. } | Shape::Bytes { .. } | Shape::Timestamp | Shape::Duration => 2,
            Shape::List { .. } | Shape::Object { .. } => 2,
            Shape::Any => 1,
        }
    }
}

fn from_schema(schema: &Json, depth: usize) -> Shape {
    if depth > crate::limits::MAX_VALUE_DEPTH {
        return Shape::Any;
    }
    let bound = |key: &str| schema.get(key).and_then(Json::as_u64);
    let flag = |key: &str| schema.get(key).and_then(Json::as_bool).unwrap_or(false);
    if flag("x-kubernetes-int-or-string") {
        return Shape::IntOrString;
    }
    let format = schema.get("format").and_then(Json::as_str).unwrap_or("");
    match schema.get("type").and_then(Json::as_str).unwrap_or("") {
        "boolean" => Shape::Bool,
        "integer" => Shape::Int,
        "number" => Shape::Double,
        "string" => match format {
            "byte" => Shape::Bytes { max_len: bound("maxLength") },
            "date-time" | "date" => Shape::Timestamp,
            "duration" => Shape::Duration,
            _ => Shape::String { max_len: bound("maxLength") },
        },
        "array" => Shape::List {
            max_items: bound("maxItems"),
            items: Box::new(schema.get("items").map_or(Shape::Any, |i| from_schema(i, depth + 1))),
        },
        "object" => {
            let fields: BTreeMap<String, Shape> = schema
                .get("properties")
                .and_then(Json::as_object)
                .map(|props| props.iter().map(|(k, v)| (k.clone(), from_schema(v, depth + 1))).collect())
                .unwrap_or_default();
            let additional = match schema.get("additionalProperties") {
                Some(Json::Bool(true)) => Some(Box::new(Shape::Any)),
                Some(s @ Json::Object(_)) => Some(Box::new(from_schema(s, depth + 1))),
                _ if flag("x-kubernetes-preserve-unknown-fields") => Some(Box::new(Shape::Any)),
                _ if fields.is_empty() && schema.get("properties").is_none() => Some(Box::new(Shape::Any)),
                _ => None,
            };
            Shape::Object { fields, additional, max_properties: bound("maxProperties"), escaped: true }
        }
        _ => Shape::Any,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schema_bounds_and_formats() {
        let s = Shape::from_openapi_schema(&json!({
            "type": "object",
            "properties": {
                "replicas": {"type": "integer"},
                "name": {"type": "string", "maxLength": 63},
                "at": {"type": "string", "format": "date-time"},
                "tags": {"type": "array", "maxItems": 10, "items": {"type": "string", "maxLength": 5}},
                "port": {"x-kubernetes-int-or-string": true},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}}
            }
        }));
        assert_eq!(s.field("replicas"), Some(&Shape::Int));
        assert_eq!(s.field("at"), Some(&Shape::Timestamp));
        assert_eq!(s.field("port"), Some(&Shape::IntOrString));
        assert_eq!(s.field("nope"), None);
        let tags = s.field("tags").unwrap();
        assert_eq!((tags.max_len(), tags.max_units()), (10, 10 * (1 + 1)));
        assert_eq!(s.field("name").unwrap().max_units(), 7);
        // Unbounded: what fits in a request.
        let labels = s.field("labels").unwrap();
        assert_eq!(labels.field("any"), Some(&Shape::String { max_len: None }));
        assert_eq!(labels.max_len(), (MAX_REQUEST_SIZE_BYTES - 2) / 6);
        let list = Shape::list_of(Shape::Int);
        assert_eq!(list.max_len(), (MAX_REQUEST_SIZE_BYTES - 2) / 2);
    }
}
