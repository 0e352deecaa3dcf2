//! The protobuf side of encoding: the message Go's protobuf marshaller writes for the Go struct
//! that a JSON object decodes into, one rule per kind of field, for the generated code
//! (`generated/`) to call. The inverse of [`crate::json`], rule for rule:
//!
//! - a non-pointer scalar is always written (gogo-protobuf writes a non-nullable field even
//!   when zero): its value, or the zero value when the JSON leaves it out or is `null`
//!   ([`Obj::value`]);
//! - a pointer (scalar or struct) is written when the JSON has a non-null value
//!   ([`Obj::pointer`]);
//! - a non-pointer struct is always written, the zero struct when absent
//!   ([`Obj::struct_value`]); an embedded struct reads its fields from the same object
//!   ([`Obj::inline`]);
//! - a slice or map is its elements, none when absent or `null` ([`Obj::list`], [`Obj::map`]);
//! - `[]byte` is standard base64, absent or `null` when nil ([`Obj::bytes`]).
//!
//! Fields the message does not know are dropped, as Go's JSON decoder drops them. A value of the
//! wrong JSON type is refused with [`ProtobufError::Encode`], as Go's decoder refuses it.
//!
//! Recursion follows the JSON value, whose depth serde_json's parser bounds (128 levels) for
//! every value the server holds.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{Map, Value};

use crate::ProtobufError;

/// The message Go marshals for the Go value this JSON decodes into.
pub(crate) trait FromJson: Sized {
    fn from_json(v: &Value) -> Result<Self, ProtobufError>;
}

/// A message whose Go type is a struct, read from an object (its own, or the one it is
/// embedded in).
pub(crate) trait FromFields: Sized {
    fn from_fields(o: &Obj<'_>) -> Result<Self, ProtobufError>;
}

/// `FromJson` for a struct message: `null` is the zero struct, an object its fields.
macro_rules! struct_from_json {
    ($t:ty) => {
        impl FromJson for $t {
            fn from_json(v: &Value) -> Result<Self, ProtobufError> {
                crate::encode::object_of(v, |o| <$t as FromFields>::from_fields(o))
            }
        }
    };
}
pub(crate) use struct_from_json;

/// Runs `read` on the object `v` (an empty one for `null`); any other JSON is refused.
pub(crate) fn object_of<T>(
    v: &Value,
    read: impl FnOnce(&Obj<'_>) -> Result<T, ProtobufError>,
) -> Result<T, ProtobufError> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    match v {
        Value::Object(map) => read(&Obj(map)),
        Value::Null => read(&Obj(EMPTY.get_or_init(Map::new))),
        other => Err(wrong_type("object", other)),
    }
}

/// A Go slice type whose protobuf form is a message of `items`.
pub(crate) fn slice_from_json<T: FromJson>(v: &Value) -> Result<Vec<T>, ProtobufError> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items.iter().map(T::from_json).collect(),
        other => Err(wrong_type("array", other)),
    }
}

/// Go's decoder's complaint about a JSON value of the wrong type.
pub(crate) fn wrong_type(want: &str, got: &Value) -> ProtobufError {
    let got = match got {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    ProtobufError::Encode(format!("json: cannot unmarshal {got} into a Go value of type {want}"))
}

impl FromJson for String {
    fn from_json(v: &Value) -> Result<Self, ProtobufError> {
        match v {
            Value::String(s) => Ok(s.clone()),
            other => Err(wrong_type("string", other)),
        }
    }
}

impl FromJson for bool {
    fn from_json(v: &Value) -> Result<Self, ProtobufError> {
        v.as_bool().ok_or_else(|| wrong_type("bool", v))
    }
}

impl FromJson for i64 {
    /// An integer; Go refuses a fraction or an exponent form that is not integral.
    fn from_json(v: &Value) -> Result<Self, ProtobufError> {
        if let Some(i) = v.as_i64() {
            return Ok(i);
        }
        match v.as_f64() {
            // Exact: integral and within i64's range.
            Some(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(f as i64),
            _ => Err(wrong_type("int64", v)),
        }
    }
}

impl FromJson for i32 {
    fn from_json(v: &Value) -> Result<Self, ProtobufError> {
        let wide = i64::from_json(v).map_err(|_| wrong_type("int32", v))?;
        i32::try_from(wide).map_err(|_| wrong_type("int32", v))
    }
}

impl FromJson for f64 {
    fn from_json(v: &Value) -> Result<Self, ProtobufError> {
        v.as_f64().ok_or_else(|| wrong_type("float64", v))
    }
}

impl FromJson for Vec<u8> {
    /// `[]byte`: standard base64.
    fn from_json(v: &Value) -> Result<Self, ProtobufError> {
        match v {
            Value::String(s) => base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(|e| ProtobufError::Encode(format!("illegal base64 data: {e}"))),
            other => Err(wrong_type("[]uint8", other)),
        }
    }
}

/// The JSON object a message is read from.
pub(crate) struct Obj<'a>(&'a Map<String, Value>);

impl Obj<'_> {
    /// The member `key` unless absent or `null`.
    fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    /// A non-pointer scalar: always written, zero when absent.
    pub(crate) fn value<T: FromJson + Default>(&self, key: &str) -> Result<Option<T>, ProtobufError> {
        match self.get(key) {
            Some(v) => T::from_json(v).map(Some),
            None => Ok(Some(T::default())),
        }
    }

    /// A pointer to a scalar or a struct: written when present.
    pub(crate) fn pointer<T: FromJson>(&self, key: &str) -> Result<Option<T>, ProtobufError> {
        self.get(key).map(T::from_json).transpose()
    }

    /// A pointer to a message prost boxes (a recursive one).
    pub(crate) fn pointer_boxed<T: FromJson>(&self, key: &str) -> Result<Option<Box<T>>, ProtobufError> {
        Ok(self.pointer(key)?.map(Box::new))
    }

    /// A non-pointer struct: always written, the zero struct when absent.
    pub(crate) fn struct_value<T: FromJson>(&self, key: &str) -> Result<Option<T>, ProtobufError> {
        T::from_json(self.get(key).unwrap_or(&Value::Null)).map(Some)
    }

    /// An embedded struct (`json:",inline"`): its fields are this object's.
    pub(crate) fn inline<T: FromFields>(&self) -> Result<Option<T>, ProtobufError> {
        T::from_fields(self).map(Some)
    }

    /// A slice.
    pub(crate) fn list<T: FromJson>(&self, key: &str) -> Result<Vec<T>, ProtobufError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items.iter().map(T::from_json).collect(),
            Some(other) => Err(wrong_type("array", other)),
        }
    }

    /// A map with string keys.
    pub(crate) fn map<T: FromJson>(&self, key: &str) -> Result<BTreeMap<String, T>, ProtobufError> {
        match self.get(key) {
            None => Ok(BTreeMap::new()),
            Some(Value::Object(members)) => {
                members.iter().map(|(k, v)| Ok((k.clone(), T::from_json(v)?))).collect()
            }
            Some(other) => Err(wrong_type("map", other)),
        }
    }

    /// A `[]byte`: standard base64, nil when absent.
    pub(crate) fn bytes(&self, key: &str) -> Result<Option<Vec<u8>>, ProtobufError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => Vec::<u8>::from_json(v).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: &Value) -> Obj<'_> {
        match v {
            Value::Object(m) => Obj(m),
            _ => panic!("test objects are objects"),
        }
    }

    #[test]
    fn scalars_follow_go_pointer_rules() {
        let v = json!({"a": "x", "b": null, "n": 3, "f": 2.0, "t": true});
        let o = obj(&v);
        assert_eq!(o.value::<String>("a").unwrap(), Some("x".into()));
        assert_eq!(o.value::<String>("b").unwrap(), Some(String::new()));
        assert_eq!(o.value::<String>("missing").unwrap(), Some(String::new()));
        assert_eq!(o.pointer::<String>("b").unwrap(), None);
        assert_eq!(o.pointer::<i32>("n").unwrap(), Some(3));
        assert_eq!(o.value::<i64>("f").unwrap(), Some(2));
        assert_eq!(o.value::<bool>("t").unwrap(), Some(true));
        assert!(o.value::<i32>("a").is_err());
        assert!(o.value::<String>("n").is_err());
    }

    #[test]
    fn ints_refuse_fractions_and_overflow() {
        assert!(i64::from_json(&json!(1.5)).is_err());
        assert!(i32::from_json(&json!(3_000_000_000i64)).is_err());
        assert_eq!(i32::from_json(&json!(-7)).unwrap(), -7);
    }

    #[test]
    fn slices_maps_and_bytes() {
        let v = json!({"l": [1, 2], "m": {"k": "aGk="}, "b": "aGk=", "e": "", "bad": "***"});
        let o = obj(&v);
        assert_eq!(o.list::<i64>("l").unwrap(), vec![1, 2]);
        assert_eq!(o.list::<i64>("none").unwrap(), Vec::<i64>::new());
        assert!(o.list::<i64>("m").is_err());
        assert_eq!(o.map::<String>("m").unwrap().get("k").map(String::as_str), Some("aGk="));
        assert_eq!(o.bytes("b").unwrap(), Some(b"hi".to_vec()));
        assert_eq!(o.bytes("e").unwrap(), Some(Vec::new()));
        assert_eq!(o.bytes("none").unwrap(), None);
        assert!(o.bytes("bad").is_err());
        assert_eq!(slice_from_json::<String>(&Value::Null).unwrap(), Vec::<String>::new());
    }
}
