//! A schema written back as `apiextensions.k8s.io/v1` JSON (what the OpenAPI documents
//! publish).

use super::{Items, Props, ValidationRule};
use serde_json::{Map, Value};

impl Props {
    /// The schema as JSON, keywords named as in `apiextensions.k8s.io/v1`.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        let put_str = |m: &mut Map<String, Value>, k: &str, v: &str| {
            if !v.is_empty() {
                m.insert(k.into(), Value::String(v.into()));
            }
        };
        put_str(&mut m, "id", &self.id);
        put_str(&mut m, "$schema", &self.schema);
        if let Some(r) = &self.reference {
            m.insert("$ref".into(), Value::String(r.clone()));
        }
        put_str(&mut m, "description", &self.description);
        put_str(&mut m, "type", &self.type_);
        put_str(&mut m, "format", &self.format);
        put_str(&mut m, "title", &self.title);
        if let Some(d) = &self.default {
            m.insert("default".into(), d.clone());
        }
        let num = |f: f64| serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null);
        let int_or_float = |f: f64| {
            if f.fract() == 0.0 && f.abs() < 9.0e15 {
                Value::from(f as i64)
            } else {
                num(f)
            }
        };
        if let Some(x) = self.maximum {
            m.insert("maximum".into(), int_or_float(x));
        }
        if self.exclusive_maximum {
            m.insert("exclusiveMaximum".into(), Value::Bool(true));
        }
        if let Some(x) = self.minimum {
            m.insert("minimum".into(), int_or_float(x));
        }
        if self.exclusive_minimum {
            m.insert("exclusiveMinimum".into(), Value::Bool(true));
        }
        for (k, v) in [
            ("maxLength", self.max_length),
            ("minLength", self.min_length),
            ("maxItems", self.max_items),
            ("minItems", self.min_items),
        ] {
            if let Some(v) = v {
                m.insert(k.into(), Value::from(v));
            }
        }
        put_str(&mut m, "pattern", &self.pattern);
        if self.unique_items {
            m.insert("uniqueItems".into(), Value::Bool(true));
        }
        if let Some(x) = self.multiple_of {
            m.insert("multipleOf".into(), int_or_float(x));
        }
        if !self.enum_.is_empty() {
            m.insert("enum".into(), Value::Array(self.enum_.clone()));
        }
        for (k, v) in [("maxProperties", self.max_properties), ("minProperties", self.min_properties)] {
            if let Some(v) = v {
                m.insert(k.into(), Value::from(v));
            }
        }
        if !self.required.is_empty() {
            m.insert("required".into(), Value::from(self.required.clone()));
        }
        match &self.items {
            Some(Items::Schema(s)) => {
                m.insert("items".into(), s.to_value());
            }
            Some(Items::Array(list)) => {
                m.insert("items".into(), Value::Array(list.iter().map(Props::to_value).collect()));
            }
            None => {}
        }
        for (k, list) in [("allOf", &self.all_of), ("oneOf", &self.one_of), ("anyOf", &self.any_of)] {
            if !list.is_empty() {
                m.insert(k.into(), Value::Array(list.iter().map(Props::to_value).collect()));
            }
        }
        if let Some(n) = &self.not {
            m.insert("not".into(), n.to_value());
        }
        for (k, map) in [
            ("properties", &self.properties),
            ("patternProperties", &self.pattern_properties),
            ("definitions", &self.definitions),
        ] {
            if !map.is_empty() {
                m.insert(
                    k.into(),
                    Value::Object(map.iter().map(|(k, v)| (k.clone(), v.to_value())).collect()),
                );
            }
        }
        for (k, sb) in [
            ("additionalProperties", &self.additional_properties),
            ("additionalItems", &self.additional_items),
        ] {
            if let Some(sb) = sb {
                let v = match &sb.schema {
                    Some(s) => s.to_value(),
                    None => Value::Bool(sb.allows),
                };
                m.insert(k.into(), v);
            }
        }
        if !self.dependencies.is_empty() {
            let deps = self
                .dependencies
                .iter()
                .map(|(k, d)| {
                    (k.clone(), d.as_ref().map(Props::to_value).unwrap_or(Value::Array(Vec::new())))
                })
                .collect();
            m.insert("dependencies".into(), Value::Object(deps));
        }
        if let Some(d) = &self.external_docs {
            let mut dm = Map::new();
            put_str(&mut dm, "description", &d.description);
            put_str(&mut dm, "url", &d.url);
            m.insert("externalDocs".into(), Value::Object(dm));
        }
        if let Some(e) = &self.example {
            m.insert("example".into(), e.clone());
        }
        if self.nullable {
            m.insert("nullable".into(), Value::Bool(true));
        }
        if let Some(p) = self.x_preserve_unknown_fields {
            m.insert("x-kubernetes-preserve-unknown-fields".into(), Value::Bool(p));
        }
        if self.x_embedded_resource {
            m.insert("x-kubernetes-embedded-resource".into(), Value::Bool(true));
        }
        if self.x_int_or_string {
            m.insert("x-kubernetes-int-or-string".into(), Value::Bool(true));
        }
        if !self.x_list_map_keys.is_empty() {
            m.insert("x-kubernetes-list-map-keys".into(), Value::from(self.x_list_map_keys.clone()));
        }
        if let Some(t) = &self.x_list_type {
            m.insert("x-kubernetes-list-type".into(), Value::String(t.clone()));
        }
        if let Some(t) = &self.x_map_type {
            m.insert("x-kubernetes-map-type".into(), Value::String(t.clone()));
        }
        if !self.x_validations.is_empty() {
            let rules = self.x_validations.iter().map(ValidationRule::to_value).collect();
            m.insert("x-kubernetes-validations".into(), Value::Array(rules));
        }
        Value::Object(m)
    }
}

impl ValidationRule {
    /// The rule as JSON, fields named as in `apiextensions.k8s.io/v1`.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("rule".into(), Value::String(self.rule.clone()));
        for (k, v) in [("message", &self.message), ("messageExpression", &self.message_expression)] {
            if !v.is_empty() {
                m.insert(k.into(), Value::String(v.clone()));
            }
        }
        if let Some(r) = &self.reason {
            m.insert("reason".into(), Value::String(r.clone()));
        }
        if !self.field_path.is_empty() {
            m.insert("fieldPath".into(), Value::String(self.field_path.clone()));
        }
        if let Some(o) = self.optional_old_self {
            m.insert("optionalOldSelf".into(), Value::Bool(o));
        }
        Value::Object(m)
    }
}
