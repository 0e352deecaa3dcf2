//! The OpenAPI kube publishes for a CRD version (kube's `controller/openapi/builder`): the
//! kind's schema with `apiVersion`, `kind` and a `metadata` reference to `ObjectMeta`
//! (also inside embedded resources), `x-kubernetes-group-version-kind` and
//! `x-kubernetes-selectable-fields`, int-or-string unfolded into `anyOf`; and its list
//! kind. The v2 form drops what Swagger 2.0 cannot say (`allOf`, `anyOf`, `oneOf`, `not`,
//! `nullable`, defaults) and, as kube does, publishes a bare `{type: object}` where
//! kubectl's v2 validation would otherwise refuse valid objects (preserved unknown fields).

use crate::crd::structural::{is_int_or_string_all_of, is_int_or_string_any_of};
use crate::props::{Items, Props};
use crate::structural::Structural;
use serde_json::{json, Map, Value};

const API_VERSION_DESC: &str = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const KIND_DESC: &str = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";
const EMBEDDED_API_VERSION_DESC: &str = "apiVersion defines the versioned schema of this representation of an object. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const EMBEDDED_KIND_DESC: &str = "kind is a string value representing the type of this object. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";
const METADATA_DESC: &str = "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
const LIST_METADATA_DESC: &str = "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";

/// A `metadata` property: a reference to `model` with kube's description. Swagger 2.0 keeps
/// the description beside the `$ref`; OpenAPI v3 ignores a `$ref`'s siblings, so kube wraps
/// the reference in `allOf` there (and `kubectl explain` shows the description, not the
/// referenced type's).
fn meta_ref(model: &str, description: &str, v2: bool) -> Value {
    if v2 {
        json!({"$ref": format!("#/definitions/{model}"), "description": description})
    } else {
        json!({"description": description, "allOf": [{"$ref": format!("#/components/schemas/{model}")}]})
    }
}

/// `group.version.Kind` with the group reversed (`com.example.v1.Widget`), kube's model name.
pub fn model_name(group: &str, version: &str, kind: &str) -> String {
    let mut parts: Vec<&str> = group.split('.').collect();
    parts.reverse();
    format!("{}.{version}.{kind}", parts.join("."))
}

/// kube's `Structural.Unfold`: int-or-string gets its `anyOf: [integer, string]`.
fn unfold(s: &mut Props) {
    if s.x_int_or_string && !is_int_or_string_any_of(s) && !is_int_or_string_all_of(s) {
        let alts = vec![
            Props { type_: "integer".into(), ..Props::default() },
            Props { type_: "string".into(), ..Props::default() },
        ];
        if s.any_of.is_empty() {
            s.any_of = alts;
        } else {
            s.all_of.insert(0, Props { any_of: alts, ..Props::default() });
        }
    }
    if let Some(Items::Schema(i)) = s.items.as_mut() {
        unfold(i);
    }
    for p in s.properties.values_mut() {
        unfold(p);
    }
    if let Some(a) = s.additional_properties.as_mut().and_then(|a| a.schema.as_deref_mut()) {
        unfold(a);
    }
}

/// kube's `ToStructuralOpenAPIV2` (and the v2 handler's default pruning).
fn to_v2(s: &mut Props) {
    s.all_of.clear();
    s.one_of.clear();
    s.any_of.clear();
    s.not = None;
    s.default = None;
    if s.nullable {
        s.type_.clear();
        s.nullable = false;
        s.items = None;
        s.properties.clear();
    }
    if s.preserves_unknown_fields() {
        s.items = None;
        s.properties.clear();
    }
    if s.items.is_none() && s.type_ == "array" {
        s.type_.clear();
    }
    if s.preserves_unknown_fields() && s.type_ == "object" {
        s.type_.clear();
    }
    let nullable_props: Vec<String> =
        s.properties.iter().filter(|(_, p)| p.nullable).map(|(k, _)| k.clone()).collect();
    s.required.retain(|r| !nullable_props.contains(r));
    if s.additional_schema().is_some_and(|a| a.nullable) {
        s.required.clear();
    }
    if let Some(Items::Schema(i)) = s.items.as_mut() {
        to_v2(i);
    }
    for p in s.properties.values_mut() {
        to_v2(p);
    }
    if let Some(a) = s.additional_properties.as_mut().and_then(|a| a.schema.as_deref_mut()) {
        to_v2(a);
    }
}

fn props_mut(v: &mut Value) -> Option<&mut Map<String, Value>> {
    let m = v.as_object_mut()?;
    m.entry("properties").or_insert_with(|| Value::Object(Map::new())).as_object_mut()
}

/// kube's `addEmbeddedProperties` over the JSON schema.
fn add_embedded(v: &mut Value, v2: bool) {
    let Some(m) = v.as_object_mut() else { return };
    if let Some(Value::Object(props)) = m.get_mut("properties") {
        for p in props.values_mut() {
            add_embedded(p, v2);
        }
    }
    if let Some(items) = m.get_mut("items") {
        add_embedded(items, v2);
    }
    if let Some(ap) = m.get_mut("additionalProperties").filter(|a| a.is_object()) {
        add_embedded(ap, v2);
    }
    let preserve = m.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    if preserve && v2 {
        return;
    }
    if m.get("x-kubernetes-embedded-resource") == Some(&Value::Bool(true)) {
        if let Some(props) = props_mut(v) {
            props.insert(
                "apiVersion".into(),
                json!({"type": "string", "description": EMBEDDED_API_VERSION_DESC}),
            );
            props.insert("kind".into(), json!({"type": "string", "description": EMBEDDED_KIND_DESC}));
            props.insert("metadata".into(), meta_ref(OBJECT_META, METADATA_DESC, v2));
        }
        if let Some(m) = v.as_object_mut() {
            let req = m.entry("required").or_insert_with(|| Value::Array(Vec::new()));
            if let Some(r) = req.as_array_mut() {
                for k in ["kind", "apiVersion"] {
                    if !r.iter().any(|x| x.as_str() == Some(k)) {
                        r.push(Value::String(k.into()));
                    }
                }
            }
        }
    }
}

impl Structural {
    fn kind_schema(&self, v2: bool) -> Value {
        let mut out = match &self.schema {
            None => json!({"type": "object"}),
            Some(s) if v2 && (s.preserves_unknown_fields() || self.preserve_unknown_fields) => {
                json!({"type": "object"})
            }
            Some(s) => {
                let mut s = s.clone();
                unfold(&mut s);
                if v2 {
                    to_v2(&mut s);
                }
                let mut v = s.to_value();
                if let Some(props) = props_mut(&mut v) {
                    props.insert("metadata".into(), meta_ref(OBJECT_META, METADATA_DESC, v2));
                    props.insert(
                        "apiVersion".into(),
                        json!({"type": "string", "description": API_VERSION_DESC}),
                    );
                    props.insert("kind".into(), json!({"type": "string", "description": KIND_DESC}));
                }
                add_embedded(&mut v, v2);
                v
            }
        };
        if let Some(m) = out.as_object_mut() {
            m.insert(
                "x-kubernetes-group-version-kind".into(),
                json!([{"group": self.group, "version": self.version, "kind": self.kind}]),
            );
            if !self.selectable_fields.is_empty() {
                let fields: Vec<Value> = self
                    .selectable_fields
                    .iter()
                    .map(|f| json!({"fieldPath": f.trim_start_matches('.')}))
                    .collect();
                m.insert("x-kubernetes-selectable-fields".into(), Value::Array(fields));
            }
        }
        out
    }

    fn list_schema(&self, v2: bool) -> Value {
        let prefix = if v2 { "#/definitions/" } else { "#/components/schemas/" };
        let mut s = json!({
            "type": "object",
            "description": format!("{} is a list of {}", self.list_kind, self.kind),
            "required": ["items"],
            "properties": {
                "items": {
                    "type": "array",
                    "items": {"$ref": format!("{prefix}{}", model_name(&self.group, &self.version, &self.kind))},
                    "description": format!("List of {}. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md", self.plural),
                },
                "metadata": meta_ref(LIST_META, LIST_METADATA_DESC, v2),
                "apiVersion": {"type": "string", "description": API_VERSION_DESC},
                "kind": {"type": "string", "description": KIND_DESC},
            },
            "x-kubernetes-group-version-kind": [{"group": self.group, "version": self.version, "kind": self.list_kind}],
        });
        if !self.selectable_fields.is_empty() {
            let fields: Vec<Value> = self
                .selectable_fields
                .iter()
                .map(|f| json!({"fieldPath": f.trim_start_matches('.')}))
                .collect();
            s["x-kubernetes-selectable-fields"] = Value::Array(fields);
        }
        s
    }

    /// The OpenAPI v3 schemas of the kind and its list, by model name, refs under
    /// `#/components/schemas/` (`ObjectMeta` and `ListMeta` from the built-in documents).
    pub fn openapi_v3(&self) -> Vec<(String, Value)> {
        vec![
            (model_name(&self.group, &self.version, &self.kind), self.kind_schema(false)),
            (model_name(&self.group, &self.version, &self.list_kind), self.list_schema(false)),
        ]
    }

    /// The Swagger 2.0 definitions of the kind and its list, refs under `#/definitions/`.
    pub fn openapi_v2(&self) -> Vec<(String, Value)> {
        vec![
            (model_name(&self.group, &self.version, &self.kind), self.kind_schema(true)),
            (model_name(&self.group, &self.version, &self.list_kind), self.list_schema(true)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn structural(schema: Value) -> Structural {
        let crd = json!({"spec": {"group": "stable.example.com", "scope": "Namespaced",
            "names": {"kind": "CronTab", "listKind": "CronTabList", "plural": "crontabs"},
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": schema},
                          "selectableFields": [{"jsonPath": ".spec.cronSpec"}]}]}});
        Structural::from_crd(&crd, "v1").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn v3_adds_type_meta_metadata_and_gvk() {
        let s = structural(json!({"type": "object", "properties": {
        "metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 10}}},
        "spec": {"type": "object", "properties": {
            "cronSpec": {"type": "string"},
            "port": {"x-kubernetes-int-or-string": true},
            "tpl": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true}
        }}}}));
        let v3 = s.openapi_v3();
        assert_eq!(v3[0].0, "com.example.stable.v1.CronTab");
        assert_eq!(v3[1].0, "com.example.stable.v1.CronTabList");
        let k = &v3[0].1;
        // kube's v3 form: the reference in allOf, so that its description is the field's.
        assert_eq!(
            k["properties"]["metadata"],
            json!({"description": METADATA_DESC,
                   "allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]})
        );
        assert_eq!(
            k["properties"]["spec"]["properties"]["tpl"]["properties"]["metadata"]["allOf"][0]["$ref"],
            json!("#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
        );
        assert_eq!(
            v3[1].1["properties"]["metadata"],
            json!({"description": LIST_METADATA_DESC,
                   "allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"}]})
        );
        assert_eq!(k["properties"]["apiVersion"]["type"], json!("string"));
        assert_eq!(
            k["x-kubernetes-group-version-kind"],
            json!([{"group": "stable.example.com", "version": "v1", "kind": "CronTab"}])
        );
        assert_eq!(k["x-kubernetes-selectable-fields"], json!([{"fieldPath": "spec.cronSpec"}]));
        assert_eq!(
            k["properties"]["spec"]["properties"]["port"]["anyOf"],
            json!([{"type": "integer"}, {"type": "string"}])
        );
        assert_eq!(k["properties"]["spec"]["properties"]["tpl"]["required"], json!(["kind", "apiVersion"]));
        assert_eq!(
            v3[1].1["properties"]["items"]["items"]["$ref"],
            json!("#/components/schemas/com.example.stable.v1.CronTab")
        );
    }

    #[test]
    fn v2_drops_what_swagger_cannot_say() {
        let s = structural(
            json!({"type": "object", "required": ["spec"], "properties": {"spec": {"type": "object",
            "required": ["a", "n"],
            "properties": {
                "a": {"type": "string", "default": "x", "oneOf": [{"pattern": "a"}]},
                "n": {"type": "object", "nullable": true, "properties": {"b": {"type": "string"}}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": {"c": {"type": "string"}}},
                "port": {"x-kubernetes-int-or-string": true}
            }}}}),
        );
        let v2 = s.openapi_v2();
        let spec = &v2[0].1["properties"]["spec"];
        assert_eq!(spec["required"], json!(["a"]));
        assert_eq!(spec["properties"]["a"], json!({"type": "string"}));
        assert_eq!(spec["properties"]["n"], json!({}));
        assert_eq!(spec["properties"]["free"], json!({"x-kubernetes-preserve-unknown-fields": true}));
        assert_eq!(spec["properties"]["port"], json!({"x-kubernetes-int-or-string": true}));
        assert_eq!(
            v2[0].1["properties"]["metadata"],
            json!({"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "description": METADATA_DESC})
        );

        let free = structural(json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}));
        assert_eq!(
            free.openapi_v2()[0].1,
            json!({"type": "object", "x-kubernetes-group-version-kind": [{"group": "stable.example.com", "version": "v1", "kind": "CronTab"}],
                   "x-kubernetes-selectable-fields": [{"fieldPath": "spec.cronSpec"}]})
        );
    }
}
