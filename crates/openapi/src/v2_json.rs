//! The `/openapi/v2` document in JSON, what kube serves when the client does not ask for
//! protobuf (Kubernetes' e2e tests read the definitions of custom resources this way, and
//! compare them with their CRD's schema whole). Same content as the protobuf form ([`crate::v2`]):
//! the PATCH operations and every definition, but each schema keeps all its fields (the
//! protobuf messages hold only those kubectl reads).
//!
//! From v3 to v2, as kube-openapi writes both (see [`crate::v2_schema`]): `#/components/schemas/`
//! references become `#/definitions/`, `allOf: [{$ref}]` beside a description becomes `$ref`
//! beside it (its `default: {}` dropped), IntOrString and Quantity (`oneOf` in v3) are
//! `type: string`. A custom resource's definitions are kube's own v2 conversion already and
//! pass through unchanged.

use serde_json::{json, Map, Value};

use crate::schema::REF_PREFIX;
use crate::v2::PatchPath;

const V2_REF_PREFIX: &str = "#/definitions/";

/// Nesting beyond this is not converted further (schemas are trees of bounded depth; this
/// only keeps a malformed one from exhausting the stack).
const MAX_DEPTH: usize = 64;

/// The whole document.
pub(crate) fn document(patches: &[PatchPath], version: &str, definitions: &Map<String, Value>) -> Value {
    // Go writes maps with sorted keys.
    let mut sorted: Vec<&PatchPath> = patches.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut paths = Map::new();
    for p in sorted {
        let mut parameters = vec![
            query("dryRun", "string", "When present, indicates that modifications should not be persisted."),
            query(
                "fieldManager",
                "string",
                "fieldManager is a name associated with the actor or entity that is making these changes.",
            ),
        ];
        if p.field_validation {
            parameters.push(query("fieldValidation", "string", "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields."));
        }
        parameters.push(query("force", "boolean", "Force is going to \"force\" Apply requests."));
        let operation = json!({
            "description": format!("partially update the specified {}", p.kind),
            "consumes": crate::paths::PATCH_CONTENT_TYPES,
            "produces": ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"],
            "tags": [p.tag],
            "operationId": p.operation_id,
            "parameters": parameters,
            "x-kubernetes-action": "patch",
            "x-kubernetes-group-version-kind": {"group": p.group, "kind": p.kind, "version": p.version},
        });
        paths.insert(p.path.clone(), json!({ "patch": operation }));
    }
    let mut names: Vec<&String> = definitions.keys().collect();
    names.sort();
    let definitions: Map<String, Value> =
        names.into_iter().map(|k| (k.clone(), schema(&definitions[k], 0))).collect();
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": version},
        "paths": paths,
        "definitions": definitions,
        "securityDefinitions": {"BearerToken": {
            "description": "Bearer Token authentication", "type": "apiKey", "name": "authorization", "in": "header"
        }},
        "security": [{"BearerToken": []}],
    })
}

fn query(name: &str, ty: &str, description: &str) -> Value {
    json!({"uniqueItems": true, "type": ty, "description": description, "name": name, "in": "query"})
}

fn v2_ref(r: &str) -> String {
    match r.strip_prefix(REF_PREFIX) {
        Some(name) => format!("{V2_REF_PREFIX}{name}"),
        None => r.to_owned(),
    }
}

/// One schema in v2 form, every field kept.
pub(crate) fn schema(v: &Value, depth: usize) -> Value {
    let Some(object) = v.as_object() else { return v.clone() };
    if depth > MAX_DEPTH {
        return v.clone();
    }
    let single_ref = match object.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
        Some([only]) => only.get("$ref").and_then(Value::as_str),
        _ => None,
    };
    if let Some(r) = object.get("$ref").and_then(Value::as_str).or(single_ref) {
        let mut out = Map::new();
        if let Some(d) = object.get("description") {
            out.insert("description".into(), d.clone());
        }
        out.insert("$ref".into(), Value::String(v2_ref(r)));
        // Extensions stay beside the reference (Status's `details` list type, a patch strategy).
        out.extend(object.iter().filter(|(k, _)| k.starts_with("x-")).map(|(k, x)| (k.clone(), x.clone())));
        return Value::Object(out);
    }
    let mut out = Map::new();
    for (key, value) in object {
        let converted = match key.as_str() {
            // IntOrString and Quantity: `oneOf` in v3, a string in v2.
            "oneOf" if !object.contains_key("type") => {
                out.insert("type".into(), Value::String("string".into()));
                continue;
            }
            // kube's v2 carries no defaults (its v3 does).
            "default" => continue,
            "items" | "additionalProperties" | "not" => schema(value, depth + 1),
            "allOf" | "anyOf" | "oneOf" => match value {
                Value::Array(all) => Value::Array(all.iter().map(|s| schema(s, depth + 1)).collect()),
                other => other.clone(),
            },
            "properties" | "patternProperties" | "definitions" => match value {
                Value::Object(props) => {
                    Value::Object(props.iter().map(|(k, s)| (k.clone(), schema(s, depth + 1))).collect())
                }
                other => other.clone(),
            },
            _ => value.clone(),
        };
        out.insert(key.clone(), converted);
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_shapes_become_v2_shapes_with_every_field() {
        let meta = schema(
            &json!({"allOf": [{"$ref": "#/components/schemas/io.k8s.X"}], "description": "d", "default": {}}),
            0,
        );
        assert_eq!(meta, json!({"description": "d", "$ref": "#/definitions/io.k8s.X"}));
        let ios = schema(
            &json!({"format": "int-or-string", "oneOf": [{"type": "integer"}, {"type": "string"}]}),
            0,
        );
        assert_eq!(ios, json!({"format": "int-or-string", "type": "string"}));
        let spec = schema(
            &json!({"type": "object", "required": ["a"], "properties": {
                "a": {"type": "integer", "minimum": 1, "maximum": 5},
                "b": {"type": "array", "items": {"$ref": "#/components/schemas/io.k8s.Y"}, "maxItems": 3},
                "c": {"type": "string", "pattern": "^x", "enum": ["x", "xy"]}},
              "x-kubernetes-preserve-unknown-fields": true}),
            0,
        );
        assert_eq!(
            spec,
            json!({"type": "object", "required": ["a"], "properties": {
                "a": {"type": "integer", "minimum": 1, "maximum": 5},
                "b": {"type": "array", "items": {"$ref": "#/definitions/io.k8s.Y"}, "maxItems": 3},
                "c": {"type": "string", "pattern": "^x", "enum": ["x", "xy"]}},
              "x-kubernetes-preserve-unknown-fields": true})
        );
    }

    #[test]
    fn the_document_lists_patch_operations_and_definitions() {
        let patch = PatchPath {
            path: "/api/v1/namespaces/{namespace}/configmaps/{name}".into(),
            operation_id: "patchCoreV1NamespacedConfigMap".into(),
            tag: "core_v1".into(),
            group: String::new(),
            version: "v1".into(),
            kind: "ConfigMap".into(),
            field_validation: true,
        };
        let mut defs = Map::new();
        defs.insert("io.k8s.api.core.v1.ConfigMap".into(), json!({"type": "object"}));
        let doc = document(&[patch], "1.33", &defs);
        assert_eq!(doc["swagger"], "2.0");
        assert_eq!(doc["info"], json!({"title": "Kubernetes", "version": "1.33"}));
        assert_eq!(doc["security"], json!([{"BearerToken": []}]));
        assert_eq!(doc["securityDefinitions"]["BearerToken"]["name"], "authorization");
        let op = &doc["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]["patch"];
        assert_eq!(
            op["x-kubernetes-group-version-kind"],
            json!({"group": "", "kind": "ConfigMap", "version": "v1"})
        );
        assert_eq!(op["parameters"].as_array().map(Vec::len), Some(4));
        assert_eq!(doc["definitions"]["io.k8s.api.core.v1.ConfigMap"], json!({"type": "object"}));
    }
}
