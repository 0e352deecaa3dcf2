//! The apiextensions.k8s.io/v1 messages whose Go types write their own JSON (`MarshalJSON` in
//! k8s.io/apiextensions-apiserver `pkg/apis/apiextensions/v1/marshal.go`): `JSON` (embedded
//! JSON, a CRD schema's `default`, `example` and `enum` values) and the three "this or that"
//! wrappers of `JSONSchemaProps`. The generated code calls these like any other message.

use k8s_pb::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    Json, JsonSchemaPropsOrArray, JsonSchemaPropsOrBool, JsonSchemaPropsOrStringArray,
};
use serde_json::Value;

use crate::json::ToJson;
use crate::values::raw_json;
use crate::ProtobufError;

impl ToJson for Json {
    /// The raw bytes, which must be JSON; absent or empty, `null`.
    fn to_json(&self) -> Result<Value, ProtobufError> {
        let Json { raw } = self;
        match raw.as_deref() {
            Some(raw) if !raw.is_empty() => raw_json(Some(raw), "JSON"),
            _ => Ok(Value::Null),
        }
    }
}

impl ToJson for JsonSchemaPropsOrBool {
    /// The schema when there is one, else the boolean.
    fn to_json(&self) -> Result<Value, ProtobufError> {
        let JsonSchemaPropsOrBool { allows, schema } = self;
        match schema {
            Some(schema) => schema.to_json(),
            None => Ok(Value::Bool(allows.unwrap_or(false))),
        }
    }
}

impl ToJson for JsonSchemaPropsOrArray {
    /// The list of schemas when it is not empty, else the one schema (or `null`).
    fn to_json(&self) -> Result<Value, ProtobufError> {
        let JsonSchemaPropsOrArray { schema, j_son_schemas } = self;
        if !j_son_schemas.is_empty() {
            let items = j_son_schemas.iter().map(ToJson::to_json).collect::<Result<Vec<_>, _>>()?;
            return Ok(Value::Array(items));
        }
        match schema {
            Some(schema) => schema.to_json(),
            None => Ok(Value::Null),
        }
    }
}

impl ToJson for JsonSchemaPropsOrStringArray {
    /// The property names when there are some, else the schema (or `null`).
    fn to_json(&self) -> Result<Value, ProtobufError> {
        let JsonSchemaPropsOrStringArray { schema, property } = self;
        if !property.is_empty() {
            return Ok(Value::Array(property.iter().map(|p| Value::String(p.clone())).collect()));
        }
        match schema {
            Some(schema) => schema.to_json(),
            None => Ok(Value::Null),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_pb::apiextensions_apiserver::pkg::apis::apiextensions::v1::JsonSchemaProps;
    use serde_json::json;

    fn schema(kind: &str) -> JsonSchemaProps {
        JsonSchemaProps { r#type: Some(kind.into()), ..Default::default() }
    }

    #[test]
    fn json_is_its_raw_bytes_or_null() {
        let raw = |b: &[u8]| Json { raw: Some(b.to_vec()) };
        assert_eq!(raw(br#"{"a":[1,"x"]}"#).to_json().unwrap(), json!({"a": [1, "x"]}));
        assert_eq!(raw(b"").to_json().unwrap(), Value::Null);
        assert_eq!(Json { raw: None }.to_json().unwrap(), Value::Null);
        assert!(raw(b"\xa1\x01").to_json().is_err(), "CBOR is not JSON");
    }

    #[test]
    fn or_bool_prefers_the_schema() {
        let with_schema =
            JsonSchemaPropsOrBool { allows: Some(false), schema: Some(Box::new(schema("string"))) };
        assert_eq!(with_schema.to_json().unwrap(), json!({"type": "string"}));
        assert_eq!(
            JsonSchemaPropsOrBool { allows: Some(true), schema: None }.to_json().unwrap(),
            json!(true)
        );
        assert_eq!(JsonSchemaPropsOrBool::default().to_json().unwrap(), json!(false));
    }

    #[test]
    fn or_array_prefers_the_list() {
        let list = JsonSchemaPropsOrArray {
            schema: Some(Box::new(schema("object"))),
            j_son_schemas: vec![schema("string"), schema("integer")],
        };
        assert_eq!(list.to_json().unwrap(), json!([{"type": "string"}, {"type": "integer"}]));
        let one = JsonSchemaPropsOrArray { schema: Some(Box::new(schema("object"))), j_son_schemas: vec![] };
        assert_eq!(one.to_json().unwrap(), json!({"type": "object"}));
        assert_eq!(JsonSchemaPropsOrArray::default().to_json().unwrap(), Value::Null);
    }

    #[test]
    fn or_string_array_prefers_the_names() {
        let names =
            JsonSchemaPropsOrStringArray { schema: Some(schema("object")), property: vec!["a".into()] };
        assert_eq!(names.to_json().unwrap(), json!(["a"]));
        let one = JsonSchemaPropsOrStringArray { schema: Some(schema("object")), property: vec![] };
        assert_eq!(one.to_json().unwrap(), json!({"type": "object"}));
        assert_eq!(JsonSchemaPropsOrStringArray::default().to_json().unwrap(), Value::Null);
    }
}
