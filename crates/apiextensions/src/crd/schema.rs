//! The per-keyword rules of a CRD's schema (kube's
//! `ValidateCustomResourceDefinitionOpenAPISchema` and `specStandardValidatorV3`): keywords
//! kube does not support, `uniqueItems`, `additionalProperties` beside `properties`,
//! defaults where pruning could not tell them apart, list and map types and their keys,
//! and the static checks of `x-kubernetes-validations` rules.
//!
//! Schema errors and CEL errors are kept apart, as kube keeps them: CEL rules are only
//! compiled where the schema at and below them is free of errors.

use crate::path::{child, index, key};
use crate::props::{Items, Props};
use apimachinery::field::{forbidden, invalid, invalid_rendered, not_supported, required_because, Errors};
use apimachinery::gofmt::go_json;
use serde_json::Value;

/// What the walk carries down (kube's `specStandardValidator` and `validationOptions`).
#[derive(Clone, Default)]
pub struct Ctx {
    pub allow_defaults: bool,
    pub disallow_defaults_reason: String,
    pub inside_resource_meta: bool,
    pub require_valid_property_type: bool,
    pub require_atomic_set_type: bool,
    pub require_map_list_keys_map_set_validation: bool,
    /// The highest path under which `oldSelf` cannot be correlated, if any.
    pub uncorrelatable: Option<String>,
    /// How many times a rule here may run per object (0 counts as 1).
    pub cardinality: u64,
    /// Whether the node is the resource root (rules see `apiVersion`, `kind`, `metadata`).
    pub is_root: bool,
}

impl Ctx {
    fn with_forbidden_defaults(&self, reason: &str) -> Ctx {
        Ctx { allow_defaults: false, disallow_defaults_reason: reason.to_string(), ..self.clone() }
    }

    fn with_forbid_old_self(&self, path: &str) -> Ctx {
        if self.uncorrelatable.is_some() {
            return self.clone();
        }
        Ctx { uncorrelatable: Some(path.to_string()), ..self.clone() }
    }
}

/// A hook compiling the `x-kubernetes-validations` of one schema node once its schema is
/// free of errors; it appends CEL errors.
pub trait RuleCompiler {
    fn compile(&mut self, s: &Props, path: &str, ctx: &Ctx, errs: &mut Errors);
}

/// Schema errors and CEL errors of one subtree.
#[derive(Default)]
pub struct SchemaErrors {
    pub schema: Errors,
    pub cel: Errors,
}

impl SchemaErrors {
    fn append(&mut self, other: SchemaErrors) {
        self.schema.extend(other.schema);
        self.cel.extend(other.cel);
    }

    /// Schema errors, then CEL errors.
    pub fn all(self) -> Errors {
        let mut out = self.schema;
        out.extend(self.cel);
        out
    }
}

const OPENAPI_V3_TYPES: [&str; 6] = ["array", "boolean", "integer", "number", "object", "string"];
const SUPPORTED_REASONS: [&str; 4] =
    ["FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"];

/// `specStandardValidatorV3.validate`.
fn standard(s: &Props, path: &str, ctx: &Ctx, errs: &mut Errors) {
    if ctx.require_valid_property_type && !s.type_.is_empty() && !OPENAPI_V3_TYPES.contains(&s.type_.as_str())
    {
        errs.push(not_supported(&child(path, "type"), &s.type_, &OPENAPI_V3_TYPES));
    }
    if s.default.is_some() && !ctx.allow_defaults {
        let mut detail = "must not be set".to_string();
        if !ctx.disallow_defaults_reason.is_empty() {
            detail.push(' ');
            detail.push_str(&ctx.disallow_defaults_reason);
        }
        errs.push(forbidden(&child(path, "default"), &detail));
    }
    if !s.id.is_empty() {
        errs.push(forbidden(&child(path, "id"), "id is not supported"));
    }
    if s.additional_items.is_some() {
        errs.push(forbidden(&child(path, "additionalItems"), "additionalItems is not supported"));
    }
    if !s.pattern_properties.is_empty() {
        errs.push(forbidden(&child(path, "patternProperties"), "patternProperties is not supported"));
    }
    if !s.definitions.is_empty() {
        errs.push(forbidden(&child(path, "definitions"), "definitions is not supported"));
    }
    if !s.dependencies.is_empty() {
        errs.push(forbidden(&child(path, "dependencies"), "dependencies is not supported"));
    }
    if s.reference.is_some() {
        errs.push(forbidden(&child(path, "$ref"), "$ref is not supported"));
    }
    if s.type_ == "null" {
        errs.push(forbidden(
            &child(path, "type"),
            "type cannot be set to null, use nullable as an alternative",
        ));
    }
    if matches!(&s.items, Some(Items::Array(list)) if !list.is_empty()) {
        errs.push(forbidden(&child(path, "items"), "items must be a schema object and not an array"));
    }
    if ctx.inside_resource_meta && s.x_embedded_resource {
        errs.push(forbidden(
            &child(path, "x-kubernetes-embedded-resource"),
            "must not be used inside of resource meta",
        ));
    }
}

fn has_newlines(s: &str) -> bool {
    s.contains(['\n', '\r'])
}

/// Whether a map of this `x-kubernetes-map-type` lets `oldSelf` follow its entries.
fn map_is_correlatable(map_type: Option<&str>) -> bool {
    map_type.is_none_or(|t| t == "granular")
}

/// kube's `ValidateCustomResourceDefinitionOpenAPISchema`. `is_root` is the schema's root;
/// `cel` compiles rules where the subtree is free of schema errors (None: skip CEL).
pub fn validate_schema(
    s: &Props,
    path: &str,
    ctx: &Ctx,
    is_root: bool,
    cel: &mut Option<&mut dyn RuleCompiler>,
) -> SchemaErrors {
    let mut all = SchemaErrors::default();
    standard(s, path, ctx, &mut all.schema);

    if s.unique_items {
        all.schema.push(forbidden(
            &child(path, "uniqueItems"),
            "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
        ));
    }
    if let Some(ap) = &s.additional_properties {
        if !s.properties.is_empty() && (!ap.allows || ap.schema.is_some()) {
            all.schema.push(forbidden(
                &child(path, "additionalProperties"),
                "additionalProperties and properties are mutual exclusive",
            ));
        }
        if let Some(sub) = &ap.schema {
            let mut sub_ctx = if ctx.inside_resource_meta {
                ctx.with_forbidden_defaults("inside additionalProperties applying to object metadata")
            } else {
                ctx.clone()
            };
            sub_ctx.cardinality = ctx.cardinality.max(1).saturating_mul(crate::cel::max_elements(s).max(1));
            all.append(validate_schema(sub, &child(path, "additionalProperties"), &sub_ctx, false, cel));
        }
    }
    for (name, prop) in &s.properties {
        let mut sub = ctx.clone();
        if !map_is_correlatable(s.x_map_type.as_deref()) {
            sub = sub.with_forbid_old_self(path);
        }
        if (is_root || s.x_embedded_resource) && matches!(name.as_str(), "metadata" | "kind" | "apiVersion") {
            sub.inside_resource_meta = true;
            if is_root {
                sub = sub.with_forbidden_defaults(&format!("in top-level {name}"));
            }
        }
        all.append(validate_schema(prop, &key(&child(path, "properties"), name), &sub, false, cel));
    }
    // Under logical junctors and the refused keywords, CEL is not compiled.
    let mut none: Option<&mut dyn RuleCompiler> = None;
    if let Some(n) = &s.not {
        all.append(validate_schema(n, &child(path, "not"), ctx, false, &mut none));
    }
    for (kw, list) in [("allOf", &s.all_of), ("oneOf", &s.one_of), ("anyOf", &s.any_of)] {
        for (i, sub) in list.iter().enumerate() {
            all.append(validate_schema(sub, &index(&child(path, kw), i), ctx, false, &mut none));
        }
    }
    for (k, sub) in &s.definitions {
        all.append(validate_schema(sub, &key(&child(path, "definitions"), k), ctx, false, &mut none));
    }
    if let Some(items) = &s.items {
        let mut sub = if s.x_list_type.as_deref() != Some("map") {
            ctx.with_forbid_old_self(path)
        } else {
            ctx.clone()
        };
        sub.cardinality = ctx.cardinality.max(1).saturating_mul(crate::cel::max_elements(s).max(1));
        match items {
            Items::Schema(item) => all.append(validate_schema(item, &child(path, "items"), &sub, false, cel)),
            Items::Array(list) => {
                for (i, item) in list.iter().enumerate() {
                    all.append(validate_schema(item, &index(&child(path, "items"), i), &sub, false, cel));
                }
            }
        }
    }
    for (k, dep) in &s.dependencies {
        if let Some(dep) = dep {
            all.append(validate_schema(dep, &key(&child(path, "dependencies"), k), ctx, false, &mut none));
        }
    }
    if s.x_preserve_unknown_fields == Some(false) {
        all.schema.push(invalid_rendered(
            &child(path, "x-kubernetes-preserve-unknown-fields"),
            "false",
            "must be true or undefined",
        ));
    }
    list_and_map_types(s, path, ctx, &mut all.schema);
    rules(s, path, &mut all.schema);

    if !s.x_validations.is_empty() && all.schema.is_empty() {
        if let Some(c) = cel.as_deref_mut() {
            let node_ctx = Ctx { is_root, ..ctx.clone() };
            c.compile(s, path, &node_ctx, &mut all.cel);
        }
    }
    all
}

fn list_and_map_types(s: &Props, path: &str, ctx: &Ctx, errs: &mut Errors) {
    if s.x_map_type.is_some() && s.type_ != "object" {
        if s.type_.is_empty() {
            errs.push(required_because(
                &child(path, "type"),
                "must be object if x-kubernetes-map-type is specified",
            ));
        } else {
            errs.push(invalid(
                &child(path, "type"),
                &s.type_,
                "must be object if x-kubernetes-map-type is specified",
            ));
        }
    }
    if let Some(mt) = s.x_map_type.as_deref().filter(|t| *t != "atomic" && *t != "granular") {
        errs.push(not_supported(&child(path, "x-kubernetes-map-type"), mt, &["atomic", "granular"]));
    }
    let list_type = s.x_list_type.as_deref();
    if list_type.is_some() && s.type_ != "array" {
        if s.type_.is_empty() {
            errs.push(required_because(
                &child(path, "type"),
                "must be array if x-kubernetes-list-type is specified",
            ));
        } else {
            errs.push(invalid(
                &child(path, "type"),
                &s.type_,
                "must be array if x-kubernetes-list-type is specified",
            ));
        }
    } else if ctx.require_atomic_set_type && list_type == Some("set") {
        if let Some(is) = s.items_schema() {
            match is.type_.as_str() {
                "array" if is.x_list_type.as_deref().is_some_and(|t| t != "atomic") => {
                    let lt = is.x_list_type.as_deref().unwrap_or_default();
                    errs.push(invalid(
                        &child(&child(path, "items"), "x-kubernetes-list-type"),
                        lt,
                        "must be atomic as item of a list with x-kubernetes-list-type=set",
                    ));
                }
                "object" if is.x_map_type.as_deref() != Some("atomic") => {
                    // kube prints the items' list type here (nil for an object).
                    let rendered = is.x_list_type.as_deref().map(apimachinery::quote::go_quote);
                    errs.push(invalid_rendered(
                        &child(&child(path, "items"), "x-kubernetes-map-type"),
                        rendered.as_deref().unwrap_or("null"),
                        "must be atomic as item of a list with x-kubernetes-list-type=set",
                    ));
                }
                _ => {}
            }
        }
    }
    if let Some(lt) = list_type.filter(|t| !matches!(*t, "atomic" | "set" | "map")) {
        errs.push(not_supported(&child(path, "x-kubernetes-list-type"), lt, &["atomic", "set", "map"]));
    }
    if !s.x_list_map_keys.is_empty() {
        match list_type {
            None => errs.push(required_because(
                &child(path, "x-kubernetes-list-type"),
                "must be map if x-kubernetes-list-map-keys is non-empty",
            )),
            Some(lt) if lt != "map" => errs.push(invalid(
                &child(path, "x-kubernetes-list-type"),
                lt,
                "must be map if x-kubernetes-list-map-keys is non-empty",
            )),
            _ => {}
        }
    }
    if list_type == Some("map") {
        let keys_json = go_json(&Value::from(s.x_list_map_keys.clone()));
        if s.x_list_map_keys.is_empty() {
            errs.push(required_because(
                &child(path, "x-kubernetes-list-map-keys"),
                "must not be empty if x-kubernetes-list-type is map",
            ));
        }
        match &s.items {
            None => errs.push(required_because(
                &child(path, "items"),
                "must have a schema if x-kubernetes-list-type is map",
            )),
            Some(Items::Array(list)) => errs.push(invalid_rendered(
                &child(path, "items"),
                &crate::crd::gorender::items_array(list),
                "must only have a single schema if x-kubernetes-list-type is map",
            )),
            Some(Items::Schema(is)) if is.type_ != "object" => errs.push(invalid(
                &child(&child(path, "items"), "type"),
                &is.type_,
                "must be object if parent array's x-kubernetes-list-type is map",
            )),
            Some(Items::Schema(is)) => {
                let mut seen: Vec<&str> = Vec::new();
                for k in &s.x_list_map_keys {
                    match is.properties.get(k) {
                        Some(p) if p.type_ == "array" || p.type_ == "object" => errs.push(invalid(
                            &child(&key(&child(&child(path, "items"), "properties"), k), "type"),
                            &is.type_,
                            "must be a scalar type if parent array's x-kubernetes-list-type is map",
                        )),
                        Some(_) => {}
                        None => errs.push(invalid_rendered(
                            &child(path, "x-kubernetes-list-map-keys"),
                            &keys_json,
                            "entries must all be names of item properties",
                        )),
                    }
                    if seen.contains(&k.as_str()) {
                        errs.push(invalid_rendered(
                            &child(path, "x-kubernetes-list-map-keys"),
                            &keys_json,
                            "must not contain duplicate entries",
                        ));
                    }
                    seen.push(k);
                }
            }
        }
    }
    if ctx.require_map_list_keys_map_set_validation {
        errs.extend(map_list_keys_map_set(s, path));
    }
}

/// kube's `validateMapListKeysMapSet`: items of set and map lists are not nullable, and a
/// map list's keys are required or defaulted, never nullable.
pub fn map_list_keys_map_set(s: &Props, path: &str) -> Errors {
    let mut errs = Errors::new();
    let (Some(is), Some(lt)) = (s.items_schema(), s.x_list_type.as_deref()) else { return errs };
    if lt != "set" && lt != "map" {
        return errs;
    }
    let items = child(path, "items");
    if is.nullable {
        errs.push(forbidden(
            &child(&items, "nullable"),
            &format!("cannot be nullable when x-kubernetes-list-type is {lt}"),
        ));
    }
    if lt == "map" {
        for k in &s.x_list_map_keys {
            let Some(p) = is.properties.get(k) else { continue };
            let kp = key(&child(&items, "properties"), k);
            if !is.required.contains(k) && p.default.is_none() {
                errs.push(required_because(
                    &child(&kp, "default"),
                    "this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property",
                ));
            }
            if p.nullable {
                errs.push(forbidden(
                    &child(&kp, "nullable"),
                    "this property is in x-kubernetes-list-map-keys, so it cannot be nullable",
                ));
            }
        }
    }
    errs
}

/// The static checks of `x-kubernetes-validations` (before any compilation).
fn rules(s: &Props, path: &str, errs: &mut Errors) {
    for (i, rule) in s.x_validations.iter().enumerate() {
        let rp = index(&child(path, "x-kubernetes-validations"), i);
        let trimmed_rule = rule.rule.trim();
        let trimmed_msg = rule.message.trim();
        if trimmed_rule.is_empty() {
            errs.push(required_because(&child(&rp, "rule"), "rule is not specified"));
        } else if !rule.message.is_empty() && trimmed_msg.is_empty() {
            errs.push(invalid(&child(&rp, "message"), &rule.message, "must be non-empty if specified"));
        } else if has_newlines(trimmed_msg) {
            errs.push(invalid(&child(&rp, "message"), &rule.message, "must not contain line breaks"));
        } else if has_newlines(trimmed_rule) && trimmed_msg.is_empty() {
            errs.push(required_because(
                &child(&rp, "message"),
                "message must be specified if rule contains line breaks",
            ));
        }
        if !rule.message_expression.is_empty() && rule.message_expression.trim().is_empty() {
            errs.push(required_because(
                &child(&rp, "messageExpression"),
                "messageExpression must be non-empty if specified",
            ));
        }
        if let Some(reason) = rule.reason.as_deref().filter(|r| !SUPPORTED_REASONS.contains(r)) {
            errs.push(not_supported(&child(&rp, "reason"), reason, &SUPPORTED_REASONS));
        }
        if !rule.field_path.is_empty() && rule.field_path.trim().is_empty() {
            errs.push(invalid(&child(&rp, "fieldPath"), &rule.field_path, "must be non-empty if specified"));
        }
        if has_newlines(&rule.field_path) {
            errs.push(invalid(&child(&rp, "fieldPath"), &rule.field_path, "must not contain line breaks"));
        }
        if !rule.field_path.is_empty()
            && crate::crd::structural::new_structural_error(s).is_none()
            && crate::fieldpath::valid_field_path(&rule.field_path, s, true).is_err()
        {
            errs.push(invalid(&child(&rp, "fieldPath"), &rule.field_path, "must be a valid path"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::error_string;
    use serde_json::json;

    fn check(schema: serde_json::Value) -> Vec<String> {
        let mut errs = Vec::new();
        let p = Props::parse(&schema, "", &mut errs);
        let ctx = Ctx {
            allow_defaults: true,
            require_valid_property_type: true,
            require_atomic_set_type: true,
            require_map_list_keys_map_set_validation: true,
            ..Ctx::default()
        };
        let mut none = None;
        validate_schema(&p, "s", &ctx, true, &mut none).all().iter().map(error_string).collect()
    }

    #[test]
    fn refused_keywords() {
        assert_eq!(
            check(json!({"type": "object", "uniqueItems": true, "$ref": "#/x", "properties": {"a": {"type": "foo"}, "b": {"type": "null"}}})),
            vec![
                "s.$ref: Forbidden: $ref is not supported",
                "s.uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
                r#"s.properties[a].type: Unsupported value: "foo": supported values: "array", "boolean", "integer", "number", "object", "string""#,
                r#"s.properties[b].type: Unsupported value: "null": supported values: "array", "boolean", "integer", "number", "object", "string""#,
                "s.properties[b].type: Forbidden: type cannot be set to null, use nullable as an alternative",
            ]
        );
        assert_eq!(
            check(
                json!({"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "string"}})
            ),
            vec![
                "s.additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive"
            ]
        );
        assert_eq!(
            check(json!({"type": "object", "properties": {"metadata": {"type": "object", "default": {}}}})),
            vec!["s.properties[metadata].default: Forbidden: must not be set in top-level metadata"]
        );
    }

    #[test]
    fn list_types() {
        assert_eq!(
            check(json!({"type": "object", "properties": {
                "a": {"type": "string", "x-kubernetes-list-type": "set"},
                "b": {"type": "array", "x-kubernetes-list-type": "map", "items": {"type": "object", "properties": {"k": {"type": "string"}}}, "x-kubernetes-list-map-keys": ["k", "z"]},
                "c": {"type": "array", "x-kubernetes-list-type": "bag", "items": {"type": "string"}},
                "d": {"type": "array", "x-kubernetes-list-map-keys": ["k"], "items": {"type": "string"}},
            }})),
            vec![
                r#"s.properties[a].type: Invalid value: "string": must be array if x-kubernetes-list-type is specified"#,
                r#"s.properties[b].x-kubernetes-list-map-keys: Invalid value: ["k","z"]: entries must all be names of item properties"#,
                "s.properties[b].items.properties[k].default: Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property",
                r#"s.properties[c].x-kubernetes-list-type: Unsupported value: "bag": supported values: "atomic", "set", "map""#,
                "s.properties[d].x-kubernetes-list-type: Required value: must be map if x-kubernetes-list-map-keys is non-empty",
            ]
        );
        assert_eq!(
            check(json!({"type": "object", "properties": {"s": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "object"}}}})),
            vec!["s.properties[s].items.x-kubernetes-map-type: Invalid value: null: must be atomic as item of a list with x-kubernetes-list-type=set"]
        );
    }

    #[test]
    fn rule_statics() {
        assert_eq!(
            check(json!({"type": "object", "x-kubernetes-validations": [
                {"rule": " "},
                {"rule": "a\nb"},
                {"rule": "x", "reason": "Nope"},
                {"rule": "x", "fieldPath": ".nope"},
            ]})),
            vec![
                "s.x-kubernetes-validations[0].rule: Required value: rule is not specified",
                "s.x-kubernetes-validations[1].message: Required value: message must be specified if rule contains line breaks",
                r#"s.x-kubernetes-validations[2].reason: Unsupported value: "Nope": supported values: "FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired""#,
                r#"s.x-kubernetes-validations[3].fieldPath: Invalid value: ".nope": must be a valid path"#,
            ]
        );
    }
}
