//! apimachinery value types whose JSON form is a scalar: `intstr.IntOrString` (a number or a
//! string) and `resource.Quantity` (a string). Field numbers are those of apimachinery's
//! `pkg/util/intstr/generated.proto` and `pkg/api/resource/generated.proto`.

use prost::Message;
use serde_json::Value;

use crate::json::ToJson;

/// `intstr.IntOrString`: `type` 0 carries `intVal`, `type` 1 carries `strVal`.
#[derive(Clone, PartialEq, Message)]
pub struct IntOrString {
    #[prost(int64, optional, tag = "1")]
    pub r#type: Option<i64>,
    #[prost(int32, optional, tag = "2")]
    pub int_val: Option<i32>,
    #[prost(string, optional, tag = "3")]
    pub str_val: Option<String>,
}

impl IntOrString {
    /// The integer form (`type` 0).
    pub fn int(value: i32) -> Self {
        IntOrString { r#type: Some(0), int_val: Some(value), str_val: Some(String::new()) }
    }

    /// The string form (`type` 1).
    pub fn string(value: &str) -> Self {
        IntOrString { r#type: Some(1), int_val: Some(0), str_val: Some(value.to_owned()) }
    }
}

impl ToJson for IntOrString {
    /// A JSON string for `type` 1, else a JSON number (Go marshals the zero value as `0`).
    fn to_json(&self) -> Value {
        if self.r#type == Some(1) {
            Value::from(self.str_val.clone().unwrap_or_default())
        } else {
            Value::from(self.int_val.unwrap_or(0))
        }
    }
}

/// `resource.Quantity`: its canonical string, e.g. `100m` or `128Mi`.
#[derive(Clone, PartialEq, Message)]
pub struct Quantity {
    #[prost(string, optional, tag = "1")]
    pub string: Option<String>,
}

impl Quantity {
    /// A quantity from its string form.
    pub fn new(value: &str) -> Self {
        Quantity { string: Some(value.to_owned()) }
    }
}

impl ToJson for Quantity {
    /// The string; an empty quantity is the zero quantity, which Go marshals as `"0"`.
    fn to_json(&self) -> Value {
        match self.string.as_deref() {
            Some(s) if !s.is_empty() => Value::from(s),
            _ => Value::from("0"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn int_or_string_follows_its_type() {
        assert_eq!(IntOrString::int(8080).to_json(), json!(8080));
        assert_eq!(IntOrString::string("http").to_json(), json!("http"));
        assert_eq!(IntOrString::string("25%").to_json(), json!("25%"));
        assert_eq!(IntOrString::default().to_json(), json!(0));
    }

    #[test]
    fn int_or_string_decodes_recorded_bytes() {
        // targetPort as kubectl 1.33 sent it: type 0, intVal 8080, strVal "".
        let int =
            IntOrString::decode([0x08, 0x00, 0x10, 0x90, 0x3f, 0x1a, 0x00].as_slice()).expect("decodes");
        assert_eq!(int.to_json(), json!(8080));
        // targetPort "http": type 1, intVal 0, strVal "http".
        let named =
            IntOrString::decode([0x08, 0x01, 0x10, 0x00, 0x1a, 0x04, b'h', b't', b't', b'p'].as_slice())
                .expect("decodes");
        assert_eq!(named.to_json(), json!("http"));
    }

    #[test]
    fn quantity_is_its_string() {
        assert_eq!(Quantity::new("128Mi").to_json(), json!("128Mi"));
        assert_eq!(Quantity::default().to_json(), json!("0"));
    }
}
