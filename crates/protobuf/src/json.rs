//! The JSON side of decoding: what Go's `encoding/json` writes for a decoded Go struct, one rule
//! per kind of field, for the generated code (`generated/`) to call.
//!
//! A protobuf field is `Option` (absent or present) or repeated; its Go field decides the JSON:
//!
//! - a non-pointer scalar is its value, the zero value when absent, left out when zero under
//!   `omitempty` ([`Fields::value`]);
//! - a pointer (scalar or struct) is written when present, even when zero; when absent it is
//!   left out under `omitempty`, else `null` ([`Fields::pointer`]);
//! - a non-pointer struct is always written, `omitempty` or not; absent, it is the zero struct
//!   ([`Fields::struct_value`]); under `omitzero` a zero one is left out
//!   ([`Fields::struct_omitzero`]); an embedded struct's fields are inlined ([`Fields::inline`]);
//! - a slice or map with no element is left out under `omitempty`, else `null` (protobuf
//!   decodes no element as a nil slice or map) ([`Fields::list`], [`Fields::map`]);
//! - `[]byte` is standard base64; nil is left out or `null`, and present but empty is `""`
//!   unless `omitempty` ([`Fields::bytes`]).
//!
//! Map keys come out sorted, as Go sorts them.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{Map, Value};

use crate::ProtobufError;

/// The JSON Go writes for a value of this type.
pub(crate) trait ToJson {
    fn to_json(&self) -> Result<Value, ProtobufError>;
}

/// A message whose Go type is a struct: its fields, written into an object (its own, or the one
/// it is embedded in).
pub(crate) trait ToFields {
    fn to_fields(&self, f: &mut Fields) -> Result<(), ProtobufError>;
}

/// `ToJson` for a struct message: the object of its fields.
macro_rules! struct_json {
    ($t:ty) => {
        impl ToJson for $t {
            fn to_json(&self) -> Result<Value, ProtobufError> {
                let mut f = Fields::default();
                self.to_fields(&mut f)?;
                Ok(f.into_value())
            }
        }
    };
}
pub(crate) use struct_json;

/// A Go slice type whose protobuf form is a message of `items` (`ExtraValue`): the items, or
/// `null` when there are none (a nil slice).
pub(crate) fn slice_json<T: ToJson>(items: &[T]) -> Result<Value, ProtobufError> {
    if items.is_empty() {
        return Ok(Value::Null);
    }
    items.iter().map(ToJson::to_json).collect::<Result<Vec<_>, _>>().map(Value::Array)
}

/// A Go scalar: its JSON value and whether it is Go's zero value.
pub(crate) trait Scalar: ToJson + Default {
    fn is_zero(&self) -> bool;
}

impl ToJson for String {
    fn to_json(&self) -> Result<Value, ProtobufError> {
        Ok(Value::from(self.as_str()))
    }
}

impl Scalar for String {
    fn is_zero(&self) -> bool {
        self.is_empty()
    }
}

macro_rules! number {
    ($($t:ty),*) => {$(
        impl ToJson for $t {
            fn to_json(&self) -> Result<Value, ProtobufError> {
                Ok(Value::from(*self))
            }
        }
        impl Scalar for $t {
            fn is_zero(&self) -> bool {
                *self == 0
            }
        }
    )*};
}
number!(i32, i64);

impl ToJson for bool {
    fn to_json(&self) -> Result<Value, ProtobufError> {
        Ok(Value::from(*self))
    }
}

impl Scalar for bool {
    fn is_zero(&self) -> bool {
        !*self
    }
}

/// Below this, an integral float is an exact integer and Go writes it without a fraction.
const EXACT_INTEGERS: f64 = 9_007_199_254_740_992.0; // 2^53

impl ToJson for f64 {
    /// Go writes an integral float without a fraction (`1`, not `1.0`), as a JSON body's
    /// number would be read; it refuses NaN and the infinities (`json: unsupported value`).
    fn to_json(&self) -> Result<Value, ProtobufError> {
        if self.fract() == 0.0 && self.abs() < EXACT_INTEGERS {
            // Exact: |self| < 2^53 and integral.
            return Ok(Value::from(*self as i64));
        }
        serde_json::Number::from_f64(*self)
            .map(Value::Number)
            .ok_or_else(|| ProtobufError::Json(format!("json: unsupported value: {self}")))
    }
}

impl Scalar for f64 {
    fn is_zero(&self) -> bool {
        *self == 0.0
    }
}

impl ToJson for Vec<u8> {
    /// `[]byte`: standard base64.
    fn to_json(&self) -> Result<Value, ProtobufError> {
        Ok(Value::from(base64::engine::general_purpose::STANDARD.encode(self)))
    }
}

/// The object being built, in Go's field order.
#[derive(Default)]
pub(crate) struct Fields(Map<String, Value>);

impl Fields {
    pub(crate) fn into_value(self) -> Value {
        Value::Object(self.0)
    }

    fn put(&mut self, key: &str, value: Value) {
        self.0.insert(key.to_owned(), value);
    }

    /// An absent pointer, slice or map: left out under `omitempty`, else `null`.
    fn nil(&mut self, key: &str, omitempty: bool) {
        if !omitempty {
            self.put(key, Value::Null);
        }
    }

    /// A non-pointer scalar.
    pub(crate) fn value<T: Scalar>(
        &mut self,
        key: &str,
        v: &Option<T>,
        omitempty: bool,
    ) -> Result<(), ProtobufError> {
        let zero = T::default();
        let v = v.as_ref().unwrap_or(&zero);
        if !(omitempty && v.is_zero()) {
            self.put(key, v.to_json()?);
        }
        Ok(())
    }

    /// A pointer to a scalar or a struct.
    pub(crate) fn pointer<T: ToJson>(
        &mut self,
        key: &str,
        v: &Option<T>,
        omitempty: bool,
    ) -> Result<(), ProtobufError> {
        match v {
            Some(v) => self.put(key, v.to_json()?),
            None => self.nil(key, omitempty),
        }
        Ok(())
    }

    /// A pointer to a message prost boxes (a recursive one: a CRD schema's `items`, `not`,
    /// `additionalProperties`, `additionalItems`).
    pub(crate) fn pointer_boxed<T: ToJson>(
        &mut self,
        key: &str,
        v: &Option<Box<T>>,
        omitempty: bool,
    ) -> Result<(), ProtobufError> {
        match v {
            Some(v) => self.put(key, v.as_ref().to_json()?),
            None => self.nil(key, omitempty),
        }
        Ok(())
    }

    /// A non-pointer struct: always written.
    pub(crate) fn struct_value<T: ToJson + Default>(
        &mut self,
        key: &str,
        v: &Option<T>,
    ) -> Result<(), ProtobufError> {
        let value = match v {
            Some(v) => v.to_json()?,
            None => T::default().to_json()?,
        };
        self.put(key, value);
        Ok(())
    }

    /// A non-pointer `metav1.Time` or `MicroTime` under `omitzero`: left out when zero (whose
    /// JSON is `null`).
    pub(crate) fn struct_omitzero<T: ToJson + Default>(
        &mut self,
        key: &str,
        v: &Option<T>,
    ) -> Result<(), ProtobufError> {
        let value = match v {
            Some(v) => v.to_json()?,
            None => Value::Null,
        };
        if !value.is_null() {
            self.put(key, value);
        }
        Ok(())
    }

    /// An embedded struct (`json:",inline"`): its fields join this object.
    pub(crate) fn inline<T: ToFields + Default>(&mut self, v: &Option<T>) -> Result<(), ProtobufError> {
        match v {
            Some(v) => v.to_fields(self),
            None => T::default().to_fields(self),
        }
    }

    /// A slice.
    pub(crate) fn list<T: ToJson>(
        &mut self,
        key: &str,
        v: &[T],
        omitempty: bool,
    ) -> Result<(), ProtobufError> {
        if v.is_empty() {
            self.nil(key, omitempty);
            return Ok(());
        }
        let items = v.iter().map(ToJson::to_json).collect::<Result<Vec<_>, _>>()?;
        self.put(key, Value::Array(items));
        Ok(())
    }

    /// A map with string keys.
    pub(crate) fn map<T: ToJson>(
        &mut self,
        key: &str,
        v: &BTreeMap<String, T>,
        omitempty: bool,
    ) -> Result<(), ProtobufError> {
        if v.is_empty() {
            self.nil(key, omitempty);
            return Ok(());
        }
        let mut object = Map::new();
        for (k, item) in v {
            object.insert(k.clone(), item.to_json()?);
        }
        self.put(key, Value::Object(object));
        Ok(())
    }

    /// A `[]byte`.
    pub(crate) fn bytes(
        &mut self,
        key: &str,
        v: &Option<Vec<u8>>,
        omitempty: bool,
    ) -> Result<(), ProtobufError> {
        match v {
            None => self.nil(key, omitempty),
            Some(b) if b.is_empty() && omitempty => {}
            Some(b) => self.put(key, b.to_json()?),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn built(fill: impl FnOnce(&mut Fields) -> Result<(), ProtobufError>) -> Value {
        let mut f = Fields::default();
        fill(&mut f).expect("writes");
        f.into_value()
    }

    #[test]
    fn scalars_follow_go_pointer_and_omitempty_rules() {
        let none: Option<String> = None;
        let empty = Some(String::new());
        let v = built(|f| {
            f.value("a", &none, false)?;
            f.value("b", &empty, true)?;
            f.value("c", &Some(0i32), false)?;
            f.pointer("d", &empty, true)?;
            f.pointer("e", &none, true)?;
            f.pointer("f", &none, false)?;
            f.value("g", &Some(false), false)?;
            f.value("h", &Some(false), true)
        });
        assert_eq!(v, json!({"a": "", "c": 0, "d": "", "f": null, "g": false}));
    }

    #[test]
    fn floats_print_as_go_prints_them() {
        assert_eq!(1.0f64.to_json().unwrap().to_string(), "1");
        assert_eq!((-3.0f64).to_json().unwrap().to_string(), "-3");
        assert_eq!(0.5f64.to_json().unwrap().to_string(), "0.5");
        assert_eq!(1e300f64.to_json().unwrap(), json!(1e300));
        assert!(f64::NAN.to_json().is_err());
        assert!(f64::INFINITY.to_json().is_err());
    }

    #[test]
    fn slices_maps_and_bytes() {
        let no: Vec<String> = Vec::new();
        let map: BTreeMap<String, Vec<u8>> = [("k".to_owned(), b"hi".to_vec())].into();
        let v = built(|f| {
            f.list("a", &no, true)?;
            f.list("b", &no, false)?;
            f.list("c", &[1i64, 2], true)?;
            f.map("d", &BTreeMap::<String, String>::new(), false)?;
            f.map("e", &map, true)?;
            f.bytes("f", &Some(Vec::new()), false)?;
            f.bytes("g", &Some(Vec::new()), true)?;
            f.bytes("h", &None, false)
        });
        assert_eq!(v, json!({"b": null, "c": [1, 2], "d": null, "e": {"k": "aGk="}, "f": "", "h": null}));
        assert_eq!(slice_json::<String>(&[]).unwrap(), Value::Null);
        assert!(f64::NAN.to_json().is_err());
    }
}
