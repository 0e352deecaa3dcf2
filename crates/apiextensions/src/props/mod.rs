//! `JSONSchemaProps`: one node of a CRD's `openAPIV3Schema`, read from JSON into a typed
//! tree (kube's internal `apiextensions.JSONSchemaProps`) and written back.
//!
//! Reading is bounded: a schema nested deeper than [`MAX_SCHEMA_DEPTH`] is cut there with a
//! cause, and a keyword of the wrong JSON type becomes a cause instead of a panic (kube's
//! decoder would answer 400; kubeward's typed round trip normally catches it first).
//! Writing back to JSON is in `json.rs`.

use apimachinery::field::{forbidden, invalid_rendered};
use apimachinery::gofmt::go_bad_value;
use apimachinery::status::StatusCause;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// How deep schemas may nest (properties, items, additionalProperties, allOf, ... each
/// count one level). kube has no such limit beyond its request size; kubeward bounds its
/// recursion.
pub const MAX_SCHEMA_DEPTH: usize = 100;

/// `items`: one schema for every element, or (refused by CRD validation) one per index.
#[derive(Debug, Clone, PartialEq)]
pub enum Items {
    Schema(Box<Props>),
    Array(Vec<Props>),
}

/// `additionalProperties` / `additionalItems`: a boolean or a schema.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaOrBool {
    pub allows: bool,
    pub schema: Option<Box<Props>>,
}

/// One `x-kubernetes-validations` rule.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ValidationRule {
    pub rule: String,
    pub message: String,
    pub message_expression: String,
    pub reason: Option<String>,
    pub field_path: String,
    pub optional_old_self: Option<bool>,
}

/// `externalDocs`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExternalDocs {
    pub description: String,
    pub url: String,
}

/// A JSON schema node as a CRD carries it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Props {
    pub id: String,
    pub schema: String,
    pub reference: Option<String>,
    pub description: String,
    pub type_: String,
    pub format: String,
    pub title: String,
    pub default: Option<Value>,
    pub maximum: Option<f64>,
    pub exclusive_maximum: bool,
    pub minimum: Option<f64>,
    pub exclusive_minimum: bool,
    pub max_length: Option<i64>,
    pub min_length: Option<i64>,
    pub pattern: String,
    pub max_items: Option<i64>,
    pub min_items: Option<i64>,
    pub unique_items: bool,
    pub multiple_of: Option<f64>,
    pub enum_: Vec<Value>,
    pub max_properties: Option<i64>,
    pub min_properties: Option<i64>,
    pub required: Vec<String>,
    pub items: Option<Items>,
    pub all_of: Vec<Props>,
    pub one_of: Vec<Props>,
    pub any_of: Vec<Props>,
    pub not: Option<Box<Props>>,
    pub properties: BTreeMap<String, Props>,
    pub additional_properties: Option<SchemaOrBool>,
    pub pattern_properties: BTreeMap<String, Props>,
    /// `dependencies`: a schema or a list of property names per key (kube refuses both).
    pub dependencies: BTreeMap<String, Option<Props>>,
    pub additional_items: Option<SchemaOrBool>,
    pub definitions: BTreeMap<String, Props>,
    pub external_docs: Option<ExternalDocs>,
    pub example: Option<Value>,
    pub nullable: bool,
    pub x_preserve_unknown_fields: Option<bool>,
    pub x_embedded_resource: bool,
    pub x_int_or_string: bool,
    pub x_list_map_keys: Vec<String>,
    pub x_list_type: Option<String>,
    pub x_map_type: Option<String>,
    pub x_validations: Vec<ValidationRule>,
}

/// Reads schemas, collecting what cannot be read.
struct Reader<'a> {
    errs: &'a mut Vec<StatusCause>,
}

fn join(path: &str, child: &str) -> String {
    if path.is_empty() {
        child.to_string()
    } else {
        format!("{path}.{child}")
    }
}

impl Reader<'_> {
    fn bad(&mut self, path: &str, v: &Value, what: &str) {
        self.errs.push(invalid_rendered(path, &go_bad_value(v), &format!("must be {what}")));
    }

    fn string(&mut self, m: &Map<String, Value>, key: &str, path: &str) -> String {
        match m.get(key) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(v) => {
                self.bad(&join(path, key), v, "a string");
                String::new()
            }
        }
    }

    fn opt_string(&mut self, m: &Map<String, Value>, key: &str, path: &str) -> Option<String> {
        match m.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(v) => {
                self.bad(&join(path, key), v, "a string");
                None
            }
        }
    }

    fn boolean(&mut self, m: &Map<String, Value>, key: &str, path: &str) -> Option<bool> {
        match m.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(v) => {
                self.bad(&join(path, key), v, "a boolean");
                None
            }
        }
    }

    fn float(&mut self, m: &Map<String, Value>, key: &str, path: &str) -> Option<f64> {
        match m.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => n.as_f64(),
            Some(v) => {
                self.bad(&join(path, key), v, "a number");
                None
            }
        }
    }

    fn int(&mut self, m: &Map<String, Value>, key: &str, path: &str) -> Option<i64> {
        match m.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64(),
            Some(v) => {
                self.bad(&join(path, key), v, "an integer");
                None
            }
        }
    }

    fn strings(&mut self, m: &Map<String, Value>, key: &str, path: &str) -> Vec<String> {
        match m.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(s) => out.push(s.clone()),
                        v => self.bad(&format!("{}[{i}]", join(path, key)), v, "a string"),
                    }
                }
                out
            }
            Some(v) => {
                self.bad(&join(path, key), v, "a list of strings");
                Vec::new()
            }
        }
    }

    fn schema_list(&mut self, m: &Map<String, Value>, key: &str, path: &str, depth: usize) -> Vec<Props> {
        match m.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| self.props(item, &format!("{}[{i}]", join(path, key)), depth + 1))
                .collect(),
            Some(v) => {
                self.bad(&join(path, key), v, "a list of schemas");
                Vec::new()
            }
        }
    }

    fn schema_map(
        &mut self,
        m: &Map<String, Value>,
        key: &str,
        path: &str,
        depth: usize,
    ) -> BTreeMap<String, Props> {
        match m.get(key) {
            None | Some(Value::Null) => BTreeMap::new(),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(k, v)| (k.clone(), self.props(v, &format!("{}[{k}]", join(path, key)), depth + 1)))
                .collect(),
            Some(v) => {
                self.bad(&join(path, key), v, "an object of schemas");
                BTreeMap::new()
            }
        }
    }

    fn schema_or_bool(
        &mut self,
        m: &Map<String, Value>,
        key: &str,
        path: &str,
        depth: usize,
    ) -> Option<SchemaOrBool> {
        match m.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(SchemaOrBool { allows: *b, schema: None }),
            Some(v @ Value::Object(_)) => Some(SchemaOrBool {
                allows: true,
                schema: Some(Box::new(self.props(v, &join(path, key), depth + 1))),
            }),
            Some(v) => {
                self.bad(&join(path, key), v, "a boolean or a schema");
                None
            }
        }
    }

    fn rules(&mut self, m: &Map<String, Value>, path: &str) -> Vec<ValidationRule> {
        let key = "x-kubernetes-validations";
        let Some(v) = m.get(key) else { return Vec::new() };
        let Value::Array(items) = v else {
            if !v.is_null() {
                self.bad(&join(path, key), v, "a list of rules");
            }
            return Vec::new();
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let p = format!("{}[{i}]", join(path, key));
            let Value::Object(r) = item else {
                self.bad(&p, item, "an object");
                continue;
            };
            out.push(ValidationRule {
                rule: self.string(r, "rule", &p),
                message: self.string(r, "message", &p),
                message_expression: self.string(r, "messageExpression", &p),
                reason: self.opt_string(r, "reason", &p),
                field_path: self.string(r, "fieldPath", &p),
                optional_old_self: self.boolean(r, "optionalOldSelf", &p),
            });
        }
        out
    }

    fn props(&mut self, v: &Value, path: &str, depth: usize) -> Props {
        let Value::Object(m) = v else {
            if !v.is_null() {
                self.bad(path, v, "an object");
            }
            return Props::default();
        };
        if depth > MAX_SCHEMA_DEPTH {
            self.errs.push(forbidden(
                path,
                &format!("must not nest schemas more than {MAX_SCHEMA_DEPTH} levels deep"),
            ));
            return Props::default();
        }
        let items = match m.get("items") {
            None | Some(Value::Null) => None,
            Some(item @ Value::Object(_)) => {
                Some(Items::Schema(Box::new(self.props(item, &join(path, "items"), depth + 1))))
            }
            Some(Value::Array(_)) => Some(Items::Array(self.schema_list(m, "items", path, depth))),
            Some(v) => {
                self.bad(&join(path, "items"), v, "a schema or a list of schemas");
                None
            }
        };
        let dependencies = match m.get("dependencies") {
            Some(Value::Object(deps)) => deps
                .iter()
                .map(|(k, d)| {
                    let p = format!("{}[{k}]", join(path, "dependencies"));
                    (k.clone(), if d.is_object() { Some(self.props(d, &p, depth + 1)) } else { None })
                })
                .collect(),
            None | Some(Value::Null) => BTreeMap::new(),
            Some(v) => {
                self.bad(&join(path, "dependencies"), v, "an object");
                BTreeMap::new()
            }
        };
        let external_docs = match m.get("externalDocs") {
            Some(Value::Object(d)) => Some(ExternalDocs {
                description: self.string(d, "description", &join(path, "externalDocs")),
                url: self.string(d, "url", &join(path, "externalDocs")),
            }),
            _ => None,
        };
        let enum_ = match m.get("enum") {
            Some(Value::Array(values)) => values.clone(),
            None | Some(Value::Null) => Vec::new(),
            Some(v) => {
                self.bad(&join(path, "enum"), v, "a list");
                Vec::new()
            }
        };
        let not = match m.get("not") {
            None | Some(Value::Null) => None,
            Some(n) => Some(Box::new(self.props(n, &join(path, "not"), depth + 1))),
        };
        Props {
            id: self.string(m, "id", path),
            schema: self.string(m, "$schema", path),
            reference: self.opt_string(m, "$ref", path),
            description: self.string(m, "description", path),
            type_: self.string(m, "type", path),
            format: self.string(m, "format", path),
            title: self.string(m, "title", path),
            default: m.get("default").filter(|d| !d.is_null()).cloned(),
            maximum: self.float(m, "maximum", path),
            exclusive_maximum: self.boolean(m, "exclusiveMaximum", path).unwrap_or(false),
            minimum: self.float(m, "minimum", path),
            exclusive_minimum: self.boolean(m, "exclusiveMinimum", path).unwrap_or(false),
            max_length: self.int(m, "maxLength", path),
            min_length: self.int(m, "minLength", path),
            pattern: self.string(m, "pattern", path),
            max_items: self.int(m, "maxItems", path),
            min_items: self.int(m, "minItems", path),
            unique_items: self.boolean(m, "uniqueItems", path).unwrap_or(false),
            multiple_of: self.float(m, "multipleOf", path),
            enum_,
            max_properties: self.int(m, "maxProperties", path),
            min_properties: self.int(m, "minProperties", path),
            required: self.strings(m, "required", path),
            items,
            all_of: self.schema_list(m, "allOf", path, depth),
            one_of: self.schema_list(m, "oneOf", path, depth),
            any_of: self.schema_list(m, "anyOf", path, depth),
            not,
            properties: self.schema_map(m, "properties", path, depth),
            additional_properties: self.schema_or_bool(m, "additionalProperties", path, depth),
            pattern_properties: self.schema_map(m, "patternProperties", path, depth),
            dependencies,
            additional_items: self.schema_or_bool(m, "additionalItems", path, depth),
            definitions: self.schema_map(m, "definitions", path, depth),
            external_docs,
            example: m.get("example").filter(|d| !d.is_null()).cloned(),
            nullable: self.boolean(m, "nullable", path).unwrap_or(false),
            x_preserve_unknown_fields: self.boolean(m, "x-kubernetes-preserve-unknown-fields", path),
            x_embedded_resource: self.boolean(m, "x-kubernetes-embedded-resource", path).unwrap_or(false),
            x_int_or_string: self.boolean(m, "x-kubernetes-int-or-string", path).unwrap_or(false),
            x_list_map_keys: self.strings(m, "x-kubernetes-list-map-keys", path),
            x_list_type: self.opt_string(m, "x-kubernetes-list-type", path),
            x_map_type: self.opt_string(m, "x-kubernetes-map-type", path),
            x_validations: self.rules(m, path),
        }
    }
}

impl Props {
    /// Reads a schema; what cannot be read is pushed to `errs` (with field paths under
    /// `path`) and left at its zero value.
    pub fn parse(v: &Value, path: &str, errs: &mut Vec<StatusCause>) -> Props {
        Reader { errs }.props(v, path, 0)
    }

    /// The item schema, when `items` is a single schema.
    pub fn items_schema(&self) -> Option<&Props> {
        match &self.items {
            Some(Items::Schema(s)) => Some(s),
            _ => None,
        }
    }

    /// The schema of `additionalProperties`, when it is one.
    pub fn additional_schema(&self) -> Option<&Props> {
        self.additional_properties.as_ref().and_then(|a| a.schema.as_deref())
    }

    /// Whether `x-kubernetes-preserve-unknown-fields: true`.
    pub fn preserves_unknown_fields(&self) -> bool {
        self.x_preserve_unknown_fields == Some(true)
    }

    /// Whether `pred` holds for this node or any schema under it (kube's `SchemaHas`).
    pub fn has(&self, pred: &dyn Fn(&Props) -> bool) -> bool {
        if pred(self) {
            return true;
        }
        let nested = match &self.items {
            Some(Items::Schema(s)) => s.has(pred),
            Some(Items::Array(list)) => list.iter().any(|s| s.has(pred)),
            None => false,
        };
        nested
            || self.all_of.iter().chain(&self.any_of).chain(&self.one_of).any(|s| s.has(pred))
            || self.not.as_ref().is_some_and(|s| s.has(pred))
            || self.properties.values().any(|s| s.has(pred))
            || self.additional_schema().is_some_and(|s| s.has(pred))
            || self.pattern_properties.values().any(|s| s.has(pred))
            || self.additional_items.as_ref().and_then(|a| a.schema.as_deref()).is_some_and(|s| s.has(pred))
            || self.definitions.values().any(|s| s.has(pred))
            || self.dependencies.values().flatten().any(|s| s.has(pred))
    }
}

mod json;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_and_writes_a_schema() {
        let v = json!({
            "type": "object",
            "required": ["spec"],
            "properties": {
                "spec": {"type": "object", "properties": {
                    "replicas": {"type": "integer", "minimum": 0, "default": 1},
                    "ports": {"type": "array", "x-kubernetes-list-type": "map",
                              "x-kubernetes-list-map-keys": ["port"],
                              "items": {"type": "object", "required": ["port"],
                                        "properties": {"port": {"type": "integer"}}}},
                    "any": {"x-kubernetes-preserve-unknown-fields": true},
                    "size": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]}
                }, "x-kubernetes-validations": [{"rule": "self.replicas >= 0", "message": "m"}]}
            }
        });
        let mut errs = Vec::new();
        let p = Props::parse(&v, "", &mut errs);
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(p.to_value(), v);
        let spec = &p.properties["spec"];
        assert_eq!(spec.properties["replicas"].minimum, Some(0.0));
        assert_eq!(spec.x_validations[0].rule, "self.replicas >= 0");
        assert!(spec.properties["any"].preserves_unknown_fields());
    }

    #[test]
    fn wrong_types_and_depth_are_causes() {
        let mut errs = Vec::new();
        Props::parse(&json!({"type": 5, "properties": {"a": {"maxLength": "x"}}}), "s", &mut errs);
        let msgs: Vec<String> = errs.iter().map(|c| format!("{}: {}", c.field, c.message)).collect();
        assert_eq!(
            msgs,
            vec![
                "s.type: Invalid value: 5: must be a string",
                r#"s.properties[a].maxLength: Invalid value: "x": must be an integer"#
            ]
        );
        let mut deep = json!({"type": "string"});
        for _ in 0..(MAX_SCHEMA_DEPTH + 5) {
            deep = json!({"type": "array", "items": deep});
        }
        let mut errs = Vec::new();
        Props::parse(&deep, "", &mut errs);
        assert_eq!(errs.len(), 1);
        assert!(errs[0].message.contains("more than 100 levels"), "{:?}", errs[0]);
    }
}
