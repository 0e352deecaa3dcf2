//! The `definitions` of the `/openapi/v2` document: every schema of the catalog (the same
//! k8s-openapi schemas the v3 documents serve) in Swagger 2.0 form, encoded as gnostic's
//! `openapi.v2.Schema`. kubectl validates a kind that has no PATCH operation (the review
//! kinds) on the client against these, finding each by its `x-kubernetes-group-version-kind`.
//!
//! From v3 to v2, as kube-openapi writes both: `#/components/schemas/` references become
//! `#/definitions/`, `allOf: [{$ref}]` with siblings becomes `$ref` beside its description,
//! IntOrString is `type: string, format: int-or-string` and Quantity `type: string`.
//! Extensions (`x-kubernetes-*`) are carried as YAML (JSON is YAML) in `NamedAny`.

use prost::Message;
use serde_json::{Map, Value};

use crate::schema::REF_PREFIX;
use crate::v2::{Any, NamedAny};

const V2_REF_PREFIX: &str = "#/definitions/";

/// `openapi.v2.Definitions`.
#[derive(Clone, PartialEq, Message)]
pub struct Definitions {
    #[prost(message, repeated, tag = "1")]
    pub additional_properties: Vec<NamedSchema>,
}

/// `openapi.v2.NamedSchema`.
#[derive(Clone, PartialEq, Message)]
pub struct NamedSchema {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(message, optional, boxed, tag = "2")]
    pub value: Option<Box<Schema>>,
}

/// `openapi.v2.Schema`, the fields kube's schemas use.
#[derive(Clone, PartialEq, Message)]
pub struct Schema {
    #[prost(string, tag = "1")]
    pub r#ref: String,
    #[prost(string, tag = "2")]
    pub format: String,
    #[prost(string, tag = "3")]
    pub title: String,
    #[prost(string, tag = "4")]
    pub description: String,
    #[prost(string, repeated, tag = "19")]
    pub required: Vec<String>,
    #[prost(message, repeated, tag = "20")]
    pub r#enum: Vec<Any>,
    #[prost(message, optional, tag = "21")]
    pub additional_properties: Option<AdditionalPropertiesItem>,
    #[prost(message, optional, tag = "22")]
    pub r#type: Option<TypeItem>,
    #[prost(message, optional, tag = "23")]
    pub items: Option<ItemsItem>,
    #[prost(message, repeated, tag = "24")]
    pub all_of: Vec<Schema>,
    #[prost(message, optional, tag = "25")]
    pub properties: Option<Properties>,
    #[prost(message, repeated, tag = "31")]
    pub vendor_extension: Vec<NamedAny>,
}

/// `openapi.v2.AdditionalPropertiesItem` (a oneof: a schema or a boolean).
#[derive(Clone, PartialEq, Message)]
pub struct AdditionalPropertiesItem {
    #[prost(message, optional, boxed, tag = "1")]
    pub schema: Option<Box<Schema>>,
    #[prost(bool, optional, tag = "2")]
    pub boolean: Option<bool>,
}

/// `openapi.v2.TypeItem`.
#[derive(Clone, PartialEq, Message)]
pub struct TypeItem {
    #[prost(string, repeated, tag = "1")]
    pub value: Vec<String>,
}

/// `openapi.v2.ItemsItem`.
#[derive(Clone, PartialEq, Message)]
pub struct ItemsItem {
    #[prost(message, repeated, tag = "1")]
    pub schema: Vec<Schema>,
}

/// `openapi.v2.Properties`.
#[derive(Clone, PartialEq, Message)]
pub struct Properties {
    #[prost(message, repeated, tag = "1")]
    pub additional_properties: Vec<NamedSchema>,
}

/// Every definition, sorted by name, in v2 form.
pub(crate) fn definitions(defs: &Map<String, Value>) -> Definitions {
    let mut names: Vec<&String> = defs.keys().collect();
    names.sort();
    let additional_properties = names
        .into_iter()
        .map(|name| NamedSchema { name: name.clone(), value: Some(Box::new(schema(&defs[name]))) })
        .collect();
    Definitions { additional_properties }
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn v2_ref(r: &str) -> String {
    match r.strip_prefix(REF_PREFIX) {
        Some(name) => format!("{V2_REF_PREFIX}{name}"),
        None => r.to_owned(),
    }
}

fn yaml(v: &Value) -> Any {
    Any { yaml: format!("{v}\n") }
}

/// One schema in v2 form.
pub(crate) fn schema(v: &Value) -> Schema {
    let mut out = Schema { description: text(v, "description"), ..Schema::default() };
    // `allOf: [{$ref}]` beside a description is v3's spelling of v2's `$ref` + description.
    let single_ref = match v.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
        Some([only]) => only.get("$ref").and_then(Value::as_str),
        _ => None,
    };
    if let Some(r) = v.get("$ref").and_then(Value::as_str).or(single_ref) {
        out.r#ref = v2_ref(r);
        // Extensions stay beside the reference (Status's `details` list type, a patch strategy).
        out.vendor_extension = extensions(v);
        return out;
    }
    out.format = text(v, "format");
    out.title = text(v, "title");
    let ty = match v.get("type").and_then(Value::as_str) {
        Some(t) => Some(t.to_owned()),
        // IntOrString and Quantity: `oneOf` in v3, a string in v2.
        None if v.get("oneOf").is_some() => Some("string".to_owned()),
        None => None,
    };
    out.r#type = ty.map(|t| TypeItem { value: vec![t] });
    out.required = v
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    out.r#enum = v.get("enum").and_then(Value::as_array).into_iter().flatten().map(yaml).collect();
    if let Some(items) = v.get("items") {
        out.items = Some(ItemsItem { schema: vec![schema(items)] });
    }
    out.additional_properties = match v.get("additionalProperties") {
        Some(Value::Bool(b)) => Some(AdditionalPropertiesItem { schema: None, boolean: Some(*b) }),
        Some(s @ Value::Object(_)) => {
            Some(AdditionalPropertiesItem { schema: Some(Box::new(schema(s))), boolean: None })
        }
        _ => None,
    };
    out.all_of = match (single_ref, v.get("allOf").and_then(Value::as_array)) {
        (None, Some(all)) => all.iter().map(schema).collect(),
        _ => Vec::new(),
    };
    if let Some(Value::Object(props)) = v.get("properties") {
        let mut names: Vec<&String> = props.keys().collect();
        names.sort();
        let additional_properties = names
            .into_iter()
            .map(|n| NamedSchema { name: n.clone(), value: Some(Box::new(schema(&props[n]))) })
            .collect();
        out.properties = Some(Properties { additional_properties });
    }
    out.vendor_extension = extensions(v);
    out
}

/// The schema's `x-` extensions, sorted by name.
fn extensions(v: &Value) -> Vec<NamedAny> {
    let mut extensions: Vec<(&String, &Value)> =
        v.as_object().into_iter().flatten().filter(|(k, _)| k.starts_with("x-")).collect();
    extensions.sort_by_key(|(k, _)| *k);
    extensions.into_iter().map(|(k, x)| NamedAny { name: k.clone(), value: Some(yaml(x)) }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn v3_shapes_become_v2_shapes() {
        let meta = schema(
            &json!({"allOf": [{"$ref": "#/components/schemas/io.k8s.X"}], "description": "d", "default": {}}),
        );
        assert_eq!((meta.r#ref.as_str(), meta.description.as_str()), ("#/definitions/io.k8s.X", "d"));
        let ios =
            schema(&json!({"format": "int-or-string", "oneOf": [{"type": "integer"}, {"type": "string"}]}));
        assert_eq!(ios.r#type, Some(TypeItem { value: vec!["string".into()] }));
        assert_eq!(ios.format, "int-or-string");
        let pod = schema(
            &json!({"type": "object", "properties": {"b": {"type": "string"}, "a": {"type": "integer"}},
            "x-kubernetes-group-version-kind": [{"group": "", "kind": "Pod", "version": "v1"}]}),
        );
        let props = pod.properties.unwrap().additional_properties;
        assert_eq!(props.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(
            pod.vendor_extension[0].value.as_ref().unwrap().yaml,
            "[{\"group\":\"\",\"kind\":\"Pod\",\"version\":\"v1\"}]\n"
        );
    }
}
