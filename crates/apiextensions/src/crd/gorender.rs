//! Bad values of CRD errors as kube prints them: `encoding/json.Marshal` of kube's
//! internal apiextensions types, which carry no JSON tags, so every Go field appears under
//! its Go name in declaration order, zero values included (`{"Name":"v1","Served":true,...}`).

use crate::crd::types::{Column, Subresources, Version};
use crate::props::{Items, Props, SchemaOrBool};
use apimachinery::gofmt::go_json;
use serde_json::Value;
use std::collections::BTreeMap;

struct Obj(String);

impl Obj {
    fn new() -> Obj {
        Obj(String::from("{"))
    }
    fn raw(&mut self, k: &str, v: &str) {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        self.0.push('"');
        self.0.push_str(k);
        self.0.push_str("\":");
        self.0.push_str(v);
    }
    fn str(&mut self, k: &str, v: &str) {
        self.raw(k, &go_json(&Value::String(v.into())));
    }
    fn bool(&mut self, k: &str, v: bool) {
        self.raw(k, if v { "true" } else { "false" });
    }
    fn done(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

fn opt_str(v: Option<&str>) -> String {
    v.map(|s| go_json(&Value::String(s.into()))).unwrap_or_else(|| "null".into())
}

fn opt_json(v: Option<&Value>) -> String {
    v.map(go_json).unwrap_or_else(|| "null".into())
}

fn opt_num<T: ToString>(v: Option<T>) -> String {
    v.map(|n| n.to_string()).unwrap_or_else(|| "null".into())
}

fn opt_float(v: Option<f64>) -> String {
    v.and_then(serde_json::Number::from_f64)
        .map(|n| go_json(&Value::Number(n)))
        .unwrap_or_else(|| "null".into())
}

fn strs(v: &[String]) -> String {
    if v.is_empty() {
        "null".into()
    } else {
        go_json(&Value::from(v.to_vec()))
    }
}

fn list<T>(items: &[T], f: impl Fn(&T) -> String) -> String {
    if items.is_empty() {
        return "null".into();
    }
    format!("[{}]", items.iter().map(f).collect::<Vec<_>>().join(","))
}

fn map(m: &BTreeMap<String, Props>) -> String {
    if m.is_empty() {
        return "null".into();
    }
    let body: Vec<String> =
        m.iter().map(|(k, v)| format!("{}:{}", go_json(&Value::String(k.clone())), schema(v))).collect();
    format!("{{{}}}", body.join(","))
}

fn schema_or_bool(v: Option<&SchemaOrBool>) -> String {
    match v {
        None => "null".into(),
        Some(sb) => {
            let mut o = Obj::new();
            o.bool("Allows", sb.allows);
            o.raw("Schema", &sb.schema.as_deref().map(schema).unwrap_or_else(|| "null".into()));
            o.done()
        }
    }
}

/// An internal `JSONSchemaPropsOrArray` holding a list.
pub fn items_array(list_: &[Props]) -> String {
    let mut o = Obj::new();
    o.raw("Schema", "null");
    o.raw("JSONSchemas", &list(list_, schema));
    o.done()
}

/// An internal `ValidationRule`.
pub fn rule(r: &crate::props::ValidationRule) -> String {
    let mut ro = Obj::new();
    ro.str("Rule", &r.rule);
    ro.str("Message", &r.message);
    ro.str("MessageExpression", &r.message_expression);
    ro.raw("Reason", &opt_str(r.reason.as_deref()));
    ro.str("FieldPath", &r.field_path);
    ro.raw("OptionalOldSelf", &opt_num(r.optional_old_self));
    ro.done()
}

/// An internal `JSONSchemaProps`.
pub fn schema(s: &Props) -> String {
    let mut o = Obj::new();
    o.str("ID", &s.id);
    o.str("Schema", &s.schema);
    o.raw("Ref", &opt_str(s.reference.as_deref()));
    o.str("Description", &s.description);
    o.str("Type", &s.type_);
    o.bool("Nullable", s.nullable);
    o.str("Format", &s.format);
    o.str("Title", &s.title);
    o.raw("Default", &opt_json(s.default.as_ref()));
    o.raw("Maximum", &opt_float(s.maximum));
    o.bool("ExclusiveMaximum", s.exclusive_maximum);
    o.raw("Minimum", &opt_float(s.minimum));
    o.bool("ExclusiveMinimum", s.exclusive_minimum);
    o.raw("MaxLength", &opt_num(s.max_length));
    o.raw("MinLength", &opt_num(s.min_length));
    o.str("Pattern", &s.pattern);
    o.raw("MaxItems", &opt_num(s.max_items));
    o.raw("MinItems", &opt_num(s.min_items));
    o.bool("UniqueItems", s.unique_items);
    o.raw("MultipleOf", &opt_float(s.multiple_of));
    o.raw("Enum", &if s.enum_.is_empty() { "null".into() } else { go_json(&Value::Array(s.enum_.clone())) });
    o.raw("MaxProperties", &opt_num(s.max_properties));
    o.raw("MinProperties", &opt_num(s.min_properties));
    o.raw("Required", &strs(&s.required));
    o.raw(
        "Items",
        &match &s.items {
            None => "null".into(),
            Some(Items::Array(l)) => items_array(l),
            Some(Items::Schema(i)) => {
                let mut io = Obj::new();
                io.raw("Schema", &schema(i));
                io.raw("JSONSchemas", "null");
                io.done()
            }
        },
    );
    o.raw("AllOf", &list(&s.all_of, schema));
    o.raw("OneOf", &list(&s.one_of, schema));
    o.raw("AnyOf", &list(&s.any_of, schema));
    o.raw("Not", &s.not.as_deref().map(schema).unwrap_or_else(|| "null".into()));
    o.raw("Properties", &map(&s.properties));
    o.raw("AdditionalProperties", &schema_or_bool(s.additional_properties.as_ref()));
    o.raw("PatternProperties", &map(&s.pattern_properties));
    o.raw(
        "Dependencies",
        &if s.dependencies.is_empty() {
            "null".into()
        } else {
            let body: Vec<String> = s
                .dependencies
                .iter()
                .map(|(k, d)| {
                    let mut dob = Obj::new();
                    dob.raw("Schema", &d.as_ref().map(schema).unwrap_or_else(|| "null".into()));
                    dob.raw("Property", "null");
                    format!("{}:{}", go_json(&Value::String(k.clone())), dob.done())
                })
                .collect();
            format!("{{{}}}", body.join(","))
        },
    );
    o.raw("AdditionalItems", &schema_or_bool(s.additional_items.as_ref()));
    o.raw("Definitions", &map(&s.definitions));
    o.raw(
        "ExternalDocs",
        &match &s.external_docs {
            None => "null".into(),
            Some(d) => {
                let mut e = Obj::new();
                e.str("Description", &d.description);
                e.str("URL", &d.url);
                e.done()
            }
        },
    );
    o.raw("Example", &opt_json(s.example.as_ref()));
    o.raw("XPreserveUnknownFields", &opt_num(s.x_preserve_unknown_fields));
    o.bool("XEmbeddedResource", s.x_embedded_resource);
    o.bool("XIntOrString", s.x_int_or_string);
    o.raw("XListMapKeys", &strs(&s.x_list_map_keys));
    o.raw("XListType", &opt_str(s.x_list_type.as_deref()));
    o.raw("XMapType", &opt_str(s.x_map_type.as_deref()));
    o.raw("XValidations", &list(&s.x_validations, rule));
    o.done()
}

fn subresources(s: Option<&Subresources>) -> String {
    let Some(s) = s else { return "null".into() };
    let mut o = Obj::new();
    o.raw("Status", if s.status { "{}" } else { "null" });
    o.raw(
        "Scale",
        &match &s.scale {
            None => "null".into(),
            Some(sc) => {
                let mut so = Obj::new();
                so.str("SpecReplicasPath", &sc.spec_replicas_path);
                so.str("StatusReplicasPath", &sc.status_replicas_path);
                so.raw("LabelSelectorPath", &opt_str(sc.label_selector_path.as_deref()));
                so.done()
            }
        },
    );
    o.done()
}

fn column(c: &Column) -> String {
    let mut o = Obj::new();
    o.str("Name", &c.name);
    o.str("Type", &c.type_);
    o.str("Format", &c.format);
    o.str("Description", &c.description);
    o.raw("Priority", &c.priority.to_string());
    o.str("JSONPath", &c.json_path);
    o.done()
}

/// An internal `[]CustomResourceDefinitionVersion`.
pub fn versions(vs: &[Version]) -> String {
    list(vs, |v| {
        let mut o = Obj::new();
        o.str("Name", &v.name);
        o.bool("Served", v.served);
        o.bool("Storage", v.storage);
        o.bool("Deprecated", v.deprecated);
        o.raw("DeprecationWarning", &opt_str(v.deprecation_warning.as_deref()));
        o.raw(
            "Schema",
            &match &v.schema {
                None => "null".into(),
                Some(sch) => {
                    let mut so = Obj::new();
                    so.raw("OpenAPIV3Schema", &sch.as_ref().map(schema).unwrap_or_else(|| "null".into()));
                    so.done()
                }
            },
        );
        o.raw("Subresources", &subresources(v.subresources.as_ref()));
        o.raw("AdditionalPrinterColumns", &list(&v.columns, column));
        o.raw(
            "SelectableFields",
            &list(&v.selectable_fields, |f| {
                let mut fo = Obj::new();
                fo.str("JSONPath", f);
                fo.done()
            }),
        );
        o.done()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_print_with_go_field_names() {
        let v = Version { name: "v1".into(), served: true, ..Version::default() };
        assert_eq!(
            versions(&[v]),
            r#"[{"Name":"v1","Served":true,"Storage":false,"Deprecated":false,"DeprecationWarning":null,"Schema":null,"Subresources":null,"AdditionalPrinterColumns":null,"SelectableFields":null}]"#
        );
        let s = Props { type_: "string".into(), ..Props::default() };
        assert!(schema(&s).starts_with(
            r#"{"ID":"","Schema":"","Ref":null,"Description":"","Type":"string","Nullable":false,"#
        ));
    }
}
