//! Whether a schema is structural (kube's `schema.ValidateStructural`): a `type`
//! everywhere outside value validations (unless `x-kubernetes-int-or-string` or
//! `x-kubernetes-preserve-unknown-fields`), nothing but value validation under `allOf`,
//! `anyOf`, `oneOf` and `not`, every property they name also specified structurally, an
//! object at the root and for embedded resources, metadata restricted to `name` and
//! `generateName`. Errors are sorted by their text, as kube sorts them.

use crate::path::{child, error_string, index, key};
use crate::props::{Items, Props};
use crate::regex_go;
use apimachinery::field::{forbidden, invalid, invalid_rendered, required_because, Errors};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Root,
    Item,
    Field,
}

/// kube's `NewStructural` refusals: keywords a structural schema cannot hold at all.
/// Returns the first one met, as kube's error.
pub fn new_structural_error(s: &Props) -> Option<String> {
    let own = if !s.id.is_empty() {
        Some("OpenAPIV3Schema 'id' is not supported")
    } else if !s.schema.is_empty() {
        Some("OpenAPIV3Schema 'schema' is not supported")
    } else if s.reference.as_deref().is_some_and(|r| !r.is_empty()) {
        Some("OpenAPIV3Schema '$ref' is not supported")
    } else if !s.pattern_properties.is_empty() {
        Some("OpenAPIV3Schema 'patternProperties' is not supported")
    } else if !s.dependencies.is_empty() {
        Some("OpenAPIV3Schema 'dependencies' is not supported")
    } else if s.additional_items.is_some() {
        Some("OpenAPIV3Schema 'additionalItems' is not supported")
    } else if !s.definitions.is_empty() {
        Some("OpenAPIV3Schema 'definitions' is not supported")
    } else if s.x_preserve_unknown_fields == Some(false) {
        Some("internal error: 'x-kubernetes-preserve-unknown-fields' must be true or undefined")
    } else {
        None
    };
    if let Some(e) = own {
        return Some(e.to_string());
    }
    match &s.items {
        Some(Items::Array(list)) if !list.is_empty() => {
            return Some("OpenAPIV3Schema 'items' must be a schema, but is an array".into())
        }
        Some(Items::Schema(i)) => {
            if let Some(e) = new_structural_error(i) {
                return Some(e);
            }
        }
        _ => {}
    }
    s.not
        .iter()
        .map(|n| n.as_ref())
        .chain(&s.all_of)
        .chain(&s.any_of)
        .chain(&s.one_of)
        .chain(s.properties.values())
        .chain(s.additional_schema())
        .find_map(new_structural_error)
}

fn is_type_only(p: &Props, t: &str) -> bool {
    *p == Props { type_: t.to_string(), ..Props::default() }
}

fn int_or_string_any_of(list: &[Props]) -> bool {
    list.len() == 2 && is_type_only(&list[0], "integer") && is_type_only(&list[1], "string")
}

/// `anyOf: [{type: integer}, {type: string}]`.
pub fn is_int_or_string_any_of(s: &Props) -> bool {
    int_or_string_any_of(&s.any_of)
}

/// `allOf: [{anyOf: [{type: integer}, {type: string}]}, ...]`.
pub fn is_int_or_string_all_of(s: &Props) -> bool {
    s.all_of.first().is_some_and(|first| int_or_string_any_of(&first.any_of))
}

/// kube's `ValidateStructural` at `path`, errors sorted by text.
pub fn validate_structural(path: &str, s: &Props) -> Errors {
    let mut errs = Errors::new();
    invariants(s, Level::Root, path, &mut errs);
    completeness(s, path, &mut errs);
    errs.sort_by_key(error_string);
    errs
}

fn invariants(s: &Props, lvl: Level, path: &str, errs: &mut Errors) {
    if s.type_ == "array" && s.items_schema().is_none() {
        errs.push(required_because(&child(path, "items"), "must be specified"));
    }
    if let Some(item) = s.items_schema() {
        invariants(item, Level::Item, &child(path, "items"), errs);
    }
    for (k, v) in &s.properties {
        invariants(v, Level::Field, &key(&child(path, "properties"), k), errs);
    }
    if let Some(ap) = &s.additional_properties {
        if lvl == Level::Root {
            errs.push(forbidden(&child(path, "additionalProperties"), "must not be used at the root"));
        }
        if let Some(sch) = &ap.schema {
            invariants(sch, Level::Field, &child(path, "additionalProperties"), errs);
        }
    }
    let preserve = s.preserves_unknown_fields();
    if s.x_int_or_string && preserve {
        errs.push(invalid_rendered(
            &child(path, "x-kubernetes-preserve-unknown-fields"),
            "true",
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    if s.x_int_or_string && s.x_embedded_resource {
        errs.push(invalid_rendered(
            &child(path, "x-kubernetes-embedded-resource"),
            "true",
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    value_validation(s, is_int_or_string_any_of(s), is_int_or_string_all_of(s), lvl, path, errs);

    let check_metadata = lvl == Level::Root || s.x_embedded_resource;
    if s.x_embedded_resource && s.type_ != "object" {
        if s.type_.is_empty() {
            errs.push(required_because(
                &child(path, "type"),
                "must be object if x-kubernetes-embedded-resource is true",
            ));
        } else {
            errs.push(invalid(
                &child(path, "type"),
                &s.type_,
                "must be object if x-kubernetes-embedded-resource is true",
            ));
        }
    } else if s.type_.is_empty() && !s.x_int_or_string && !preserve {
        let detail = match lvl {
            Level::Root => "must not be empty at the root",
            Level::Item => "must not be empty for specified array items",
            Level::Field => "must not be empty for specified object fields",
        };
        errs.push(required_because(&child(path, "type"), detail));
    }
    if s.x_embedded_resource && s.additional_properties.is_some() {
        errs.push(forbidden(
            &child(path, "additionalProperties"),
            "must not be used if x-kubernetes-embedded-resource is set",
        ));
    }
    if lvl == Level::Root && !s.type_.is_empty() && s.type_ != "object" {
        errs.push(invalid(&child(path, "type"), &s.type_, "must be object at the root"));
    }
    for meta in ["kind", "apiVersion"] {
        if let Some(p) = s.properties.get(meta).filter(|_| check_metadata) {
            if p.type_ != "string" {
                errs.push(invalid(
                    &child(&key(&child(path, "properties"), meta), "type"),
                    &p.type_,
                    "must be string",
                ));
            }
        }
    }
    if let Some(meta) = s.properties.get("metadata") {
        metadata_invariants(meta, check_metadata, lvl, &key(&child(path, "properties"), "metadata"), errs);
    }
    if s.x_embedded_resource && !preserve && s.properties.is_empty() {
        errs.push(required_because(
            &child(path, "properties"),
            "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
        ));
    }
}

fn metadata_invariants(s: &Props, check_metadata: bool, lvl: Level, path: &str, errs: &mut Errors) {
    if check_metadata && s.type_ != "object" {
        errs.push(invalid(&child(path, "type"), &s.type_, "must be object"));
    }
    if lvl == Level::Root {
        // Only `type: object`, `name` and `generateName` (and a default, checked elsewhere)
        // may be said about the root's metadata; value validations and extensions may not.
        let mut rest = s.clone();
        let only_names = rest.properties.keys().all(|k| k == "name" || k == "generateName");
        if only_names {
            rest.properties.clear();
        }
        rest.type_.clear();
        rest.default = None;
        // Fields NewStructural does not carry do not count.
        rest.id.clear();
        rest.schema.clear();
        rest.reference = None;
        rest.pattern_properties.clear();
        rest.dependencies.clear();
        rest.additional_items = None;
        rest.definitions.clear();
        if let Some(Items::Array(_)) = rest.items {
            rest.items = None;
        }
        if rest != Props::default() {
            errs.push(forbidden(path, "must not specify anything other than name and generateName, but metadata is implicitly specified"));
        }
    }
}

fn value_validation(
    s: &Props,
    skip_any_of: bool,
    skip_first_all_of_any_of: bool,
    lvl: Level,
    path: &str,
    errs: &mut Errors,
) {
    if !skip_any_of {
        for (i, a) in s.any_of.iter().enumerate() {
            nested(a, false, lvl, &index(&child(path, "anyOf"), i), errs);
        }
    }
    for (i, a) in s.all_of.iter().enumerate() {
        nested(a, skip_first_all_of_any_of && i == 0, lvl, &index(&child(path, "allOf"), i), errs);
    }
    for (i, a) in s.one_of.iter().enumerate() {
        nested(a, false, lvl, &index(&child(path, "oneOf"), i), errs);
    }
    if let Some(n) = &s.not {
        nested(n, false, lvl, &child(path, "not"), errs);
    }
    if !s.pattern.is_empty() {
        if let Err(e) = regex_go::compile(&s.pattern) {
            errs.push(invalid(
                &child(path, "pattern"),
                &s.pattern,
                &format!("must be a valid regular expression, but isn't: {e}"),
            ));
        }
    }
}

fn nested(v: &Props, skip_any_of: bool, lvl: Level, path: &str, errs: &mut Errors) {
    value_validation(v, skip_any_of, false, lvl, path, errs);
    if let Some(item) = v.items_schema() {
        nested(item, false, lvl, &child(path, "items"), errs);
    }
    for (k, f) in &v.properties {
        nested(f, false, Level::Field, &key(&child(path, "properties"), k), errs);
    }
    if !v.type_.is_empty() {
        errs.push(forbidden(&child(path, "type"), "must be empty to be structural"));
    }
    if v.additional_properties.as_ref().is_some_and(|a| a.allows || a.schema.is_some()) {
        errs.push(forbidden(&child(path, "additionalProperties"), "must be undefined to be structural"));
    }
    if v.default.is_some() {
        errs.push(forbidden(&child(path, "default"), "must be undefined to be structural"));
    }
    if !v.title.is_empty() {
        errs.push(forbidden(&child(path, "title"), "must be empty to be structural"));
    }
    if !v.description.is_empty() {
        errs.push(forbidden(&child(path, "description"), "must be empty to be structural"));
    }
    if v.nullable {
        errs.push(forbidden(&child(path, "nullable"), "must be false to be structural"));
    }
    if v.preserves_unknown_fields() {
        errs.push(forbidden(
            &child(path, "x-kubernetes-preserve-unknown-fields"),
            "must be false to be structural",
        ));
    }
    if v.x_embedded_resource {
        errs.push(forbidden(
            &child(path, "x-kubernetes-embedded-resource"),
            "must be false to be structural",
        ));
    }
    if v.x_int_or_string {
        errs.push(forbidden(&child(path, "x-kubernetes-int-or-string"), "must be false to be structural"));
    }
    if !v.x_list_map_keys.is_empty() {
        errs.push(forbidden(&child(path, "x-kubernetes-list-map-keys"), "must be empty to be structural"));
    }
    if v.x_list_type.is_some() {
        errs.push(forbidden(&child(path, "x-kubernetes-list-type"), "must be undefined to be structural"));
    }
    if v.x_map_type.is_some() {
        errs.push(forbidden(&child(path, "x-kubernetes-map-type"), "must be undefined to be structural"));
    }
    if !v.x_validations.is_empty() {
        errs.push(forbidden(&child(path, "x-kubernetes-validations"), "must be empty to be structural"));
    }
    if v.properties.contains_key("metadata") {
        errs.push(forbidden(
            &key(&child(path, "properties"), "metadata"),
            "must not be specified in a nested context",
        ));
    }
}

/// Every property, items or additionalProperties a value validation names must also be
/// specified outside value validations.
fn completeness(s: &Props, path: &str, errs: &mut Errors) {
    vv_completeness(s, Some(s), path, path, errs);
}

fn vv_completeness(v: &Props, s: Option<&Props>, s_path: &str, v_path: &str, errs: &mut Errors) {
    if s.is_none() {
        errs.push(required_because(s_path, &format!("because it is defined in {}", display(v_path))));
        return;
    }
    if let Some(n) = &v.not {
        nested_completeness(n, s, s_path, &child(v_path, "not"), errs);
    }
    for (name, list) in [("allOf", &v.all_of), ("anyOf", &v.any_of), ("oneOf", &v.one_of)] {
        for (i, a) in list.iter().enumerate() {
            nested_completeness(a, s, s_path, &index(&child(v_path, name), i), errs);
        }
    }
}

fn nested_completeness(v: &Props, s: Option<&Props>, s_path: &str, v_path: &str, errs: &mut Errors) {
    let Some(s) = s else {
        errs.push(required_because(s_path, &format!("because it is defined in {}", display(v_path))));
        return;
    };
    vv_completeness(v, Some(s), s_path, v_path, errs);
    if let Some(vi) = v.items_schema() {
        nested_completeness(vi, s.items_schema(), &child(s_path, "items"), &child(v_path, "items"), errs);
    }
    for (k, vf) in &v.properties {
        let sp = key(&child(s_path, "properties"), k);
        let vp = key(&child(v_path, "properties"), k);
        match s.properties.get(k) {
            Some(sf) => nested_completeness(vf, Some(sf), &sp, &vp, errs),
            None => errs.push(required_because(&sp, &format!("because it is defined in {}", display(&vp)))),
        }
    }
}

/// `field.Path.String()` of a possibly empty (nil) path.
fn display(p: &str) -> &str {
    if p.is_empty() {
        "<nil>"
    } else {
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(schema: serde_json::Value) -> Vec<String> {
        let mut errs = Vec::new();
        let p = Props::parse(&schema, "", &mut errs);
        assert!(errs.is_empty());
        validate_structural("spec.validation.openAPIV3Schema", &p).iter().map(error_string).collect()
    }

    #[test]
    fn types_are_required_outside_value_validation() {
        assert_eq!(
            check(json!({"type": "object", "properties": {"spec": {"properties": {"a": {"type": "string"}}}}})),
            vec!["spec.validation.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields"]
        );
        assert_eq!(
            check(json!({"properties": {"a": {"type": "array", "items": {}}}})),
            vec![
                "spec.validation.openAPIV3Schema.properties[a].items.type: Required value: must not be empty for specified array items",
                "spec.validation.openAPIV3Schema.type: Required value: must not be empty at the root",
            ]
        );
        assert!(check(json!({"type": "object", "properties": {
            "x": {"x-kubernetes-int-or-string": true},
            "y": {"x-kubernetes-preserve-unknown-fields": true},
            "z": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]}
        }}))
        .is_empty());
    }

    #[test]
    fn value_validations_stay_value_validations() {
        assert_eq!(
            check(json!({"type": "object", "properties": {"a": {"type": "string", "anyOf": [{"type": "string", "description": "d"}]}}})),
            vec![
                "spec.validation.openAPIV3Schema.properties[a].anyOf[0].description: Forbidden: must be empty to be structural",
                "spec.validation.openAPIV3Schema.properties[a].anyOf[0].type: Forbidden: must be empty to be structural",
            ]
        );
        assert_eq!(
            check(json!({"type": "object", "properties": {"a": {"type": "object"}}, "allOf": [{"properties": {"a": {"properties": {"b": {"minLength": 1}}}}}]})),
            vec!["spec.validation.openAPIV3Schema.properties[a].properties[b]: Required value: because it is defined in spec.validation.openAPIV3Schema.allOf[0].properties[a].properties[b]"]
        );
    }

    #[test]
    fn metadata_embedded_and_root() {
        assert_eq!(
            check(json!({"type": "object", "properties": {"metadata": {"type": "object", "properties": {"labels": {"type": "object"}}}}})),
            vec!["spec.validation.openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified"]
        );
        assert!(check(json!({"type": "object", "properties": {"metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 10}}}}})).is_empty());
        assert_eq!(
            check(json!({"type": "object", "additionalProperties": {"type": "string"}, "properties": {"e": {"x-kubernetes-embedded-resource": true, "type": "string"}}})),
            vec![
                "spec.validation.openAPIV3Schema.additionalProperties: Forbidden: must not be used at the root",
                "spec.validation.openAPIV3Schema.properties[e].properties: Required value: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
                "spec.validation.openAPIV3Schema.properties[e].type: Invalid value: \"string\": must be object if x-kubernetes-embedded-resource is true",
            ]
        );
        assert_eq!(
            check(json!({"type": "array", "items": {"type": "string", "pattern": "[a"}})),
            vec![
                "spec.validation.openAPIV3Schema.items.pattern: Invalid value: \"[a\": must be a valid regular expression, but isn't: error parsing regexp: missing closing ]: `[a`",
                "spec.validation.openAPIV3Schema.type: Invalid value: \"array\": must be object at the root",
            ]
        );
    }
}
