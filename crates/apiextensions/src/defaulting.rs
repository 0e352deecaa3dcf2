//! Defaulting (kube's `structuraldefaulting`): `default(obj)` fills absent fields, and
//! `null` in non-nullable fields, with the schema's defaults, then walks into what it set
//! so nested defaults apply too; `prune_nulls` drops non-nullable nulls that have no
//! default; `prune_defaults` prunes the default values themselves as the server does when
//! it serves a CRD; `validate_defaults` is the CRD-time check that every default is
//! pruned, valid against its schema and, inside metadata, valid metadata.

use crate::objectmeta;
use crate::path::child;
use crate::props::Props;
use crate::pruning::prune;
use crate::validate::{validate_value, Patterns};
use apimachinery::field::{invalid_rendered, Errors};
use apimachinery::gofmt::go_bad_value;
use serde_json::{Map, Value};

fn is_non_nullable_null(x: &Value, s: Option<&Props>) -> bool {
    x.is_null() && s.is_some_and(|s| !s.nullable)
}

/// Applies the defaults of `s` to `x` (kube's `structuraldefaulting.Default`).
pub fn default(x: &mut Value, s: &Props) {
    default_at(x, s, 0);
}

fn default_at(x: &mut Value, s: &Props, depth: usize) {
    if depth > crate::MAX_VALUE_DEPTH {
        return;
    }
    match x {
        Value::Object(m) => {
            for (k, prop) in &s.properties {
                let Some(d) = &prop.default else { continue };
                let missing = m.get(k).is_none_or(|v| is_non_nullable_null(v, Some(prop)));
                if missing {
                    m.insert(k.clone(), d.clone());
                }
            }
            let ap = s.additional_schema();
            for (k, v) in m.iter_mut() {
                // A string, number or boolean has nothing to default.
                if !is_container_or_null(v) {
                    continue;
                }
                if let Some(prop) = s.properties.get(k) {
                    default_at(v, prop, depth + 1);
                } else if let Some(ap) = ap {
                    if is_non_nullable_null(v, Some(ap)) {
                        if let Some(d) = &ap.default {
                            *v = d.clone();
                        }
                    }
                    default_at(v, ap, depth + 1);
                }
            }
        }
        Value::Array(items) => {
            let Some(is) = s.items_schema() else { return };
            for v in items.iter_mut() {
                if !is_container_or_null(v) {
                    continue;
                }
                if is_non_nullable_null(v, Some(is)) {
                    if let Some(d) = &is.default {
                        *v = d.clone();
                    }
                }
                default_at(v, is, depth + 1);
            }
        }
        _ => {}
    }
}

fn is_container_or_null(v: &Value) -> bool {
    matches!(v, Value::Object(_) | Value::Array(_) | Value::Null)
}

/// Drops `null` values of non-nullable fields that have no default (kube's
/// `PruneNonNullableNullsWithoutDefaults`); those with a default are left for `default`.
pub fn prune_nulls(x: &mut Value, s: Option<&Props>) {
    prune_nulls_at(x, s, 0);
}

fn field_schema<'a>(k: &str, s: Option<&'a Props>) -> Option<&'a Props> {
    let s = s?;
    s.properties.get(k).or_else(|| s.additional_schema())
}

fn prune_nulls_at(x: &mut Value, s: Option<&Props>, depth: usize) {
    if depth > crate::MAX_VALUE_DEPTH {
        return;
    }
    match x {
        Value::Object(m) => {
            if m.values().any(Value::is_null) {
                let drop: Vec<String> = m
                    .iter()
                    .filter(|(k, v)| {
                        let fs = field_schema(k, s);
                        v.is_null() && fs.is_some_and(|fs| !fs.nullable && fs.default.is_none())
                    })
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in drop {
                    m.remove(&k);
                }
            }
            // Only objects and lists hold nulls below them.
            for (k, v) in m.iter_mut() {
                if v.is_object() || v.is_array() {
                    prune_nulls_at(v, field_schema(k, s), depth + 1);
                }
            }
        }
        Value::Array(items) => {
            let is = s.and_then(Props::items_schema);
            for v in items.iter_mut().filter(|v| v.is_object() || v.is_array()) {
                prune_nulls_at(v, is, depth + 1);
            }
        }
        _ => {}
    }
}

/// The way from the resource root to a default value: the object built around a default
/// to prune it as a whole object would be pruned (kube's `SurroundingObjectFunc`).
#[derive(Clone)]
enum Step {
    Child(String),
    Index,
}

fn surround(focus: Value, steps: &[Step]) -> Value {
    let mut v = focus;
    for step in steps.iter().rev() {
        v = match step {
            Step::Child(k) => {
                let mut m = Map::new();
                m.insert(k.clone(), v);
                Value::Object(m)
            }
            Step::Index => Value::Array(vec![v]),
        };
    }
    v
}

fn extract(root: &Value, steps: &[Step]) -> Option<Value> {
    let mut v = root;
    for step in steps {
        v = match step {
            Step::Child(k) => v.as_object()?.get(k)?,
            Step::Index => v.as_array()?.first()?,
        };
    }
    Some(v.clone())
}

/// Prunes every default value of `s` as the server does when it serves the CRD (kube's
/// `PruneDefaults`), returning the pruned schema.
pub fn prune_defaults(s: &Props) -> Props {
    let mut out = s.clone();
    prune_defaults_at(&mut out, s, &mut Vec::new(), 0);
    out
}

fn prune_defaults_at(node: &mut Props, root: &Props, steps: &mut Vec<Step>, depth: usize) {
    if depth > crate::props::MAX_SCHEMA_DEPTH {
        return;
    }
    if let Some(d) = node.default.take() {
        let mut obj = surround(d.clone(), steps);
        if obj.is_object() {
            objectmeta::coerce(&mut obj, Some(root), true, true);
            prune(&mut obj, Some(root), true);
            node.default = extract(&obj, steps);
        } else {
            node.default = Some(d);
        }
    }
    if let Some(ap) = node.additional_properties.as_mut().and_then(|a| a.schema.as_deref_mut()) {
        steps.push(Step::Child("*".into()));
        prune_defaults_at(ap, root, steps, depth + 1);
        steps.pop();
    }
    if let Some(crate::props::Items::Schema(item)) = node.items.as_mut() {
        steps.push(Step::Index);
        prune_defaults_at(item, root, steps, depth + 1);
        steps.pop();
    }
    for (k, sub) in node.properties.iter_mut() {
        steps.push(Step::Child(k.clone()));
        prune_defaults_at(sub, root, steps, depth + 1);
        steps.pop();
    }
}

/// The rules of `s` on its default: as an update from the default to itself, then as a
/// create (kube checks both, for rules with `optionalOldSelf`).
fn cel_on_default(s: &Props, resource_root: bool, d: &Value, dpath: &str) -> Errors {
    let Some(tree) = crate::cel::RuleTree::build_at(s, resource_root) else { return Errors::new() };
    let mut errs = tree.evaluate_at(dpath, d, Some(d));
    if errs.is_empty() {
        errs = tree.evaluate_at(dpath, d, None);
    }
    errs
}

/// kube's `ValidateDefaults` of a schema at `path` (its resource root): each default must
/// validate against its schema, be pruned (when `require_pruned`), and inside `metadata`,
/// `apiVersion` or `kind` produce valid metadata.
pub fn validate_defaults(path: &str, s: &Props, require_pruned: bool) -> Errors {
    let mut root = s.clone();
    root.x_embedded_resource = true;
    let mut errs = Errors::new();
    check(path, &root, &root, &mut Vec::new(), false, require_pruned, &mut errs, 0);
    errs
}

#[allow(clippy::too_many_arguments)]
fn check(
    path: &str,
    s: &Props,
    root: &Props,
    steps: &mut Vec<Step>,
    inside_meta: bool,
    require_pruned: bool,
    errs: &mut Errors,
    depth: usize,
) {
    if depth > crate::props::MAX_SCHEMA_DEPTH {
        return;
    }
    let (root, inside_meta, own_steps) =
        if s.x_embedded_resource { (s, false, true) } else { (root, inside_meta, false) };
    let mut fresh = Vec::new();
    let steps: &mut Vec<Step> = if own_steps { &mut fresh } else { steps };
    if let Some(d) = &s.default {
        let dpath = child(path, "default");
        let patterns = Patterns::of(s);
        if inside_meta {
            let mut obj = surround(d.clone(), steps);
            if let Value::Object(m) = &mut obj {
                m.entry("kind").or_insert_with(|| Value::String("Validation".into()));
                m.entry("apiVersion").or_insert_with(|| Value::String("validation/v1".into()));
            }
            if let Err(e) = objectmeta::coerce_strict(&obj, Some(root)) {
                errs.push(invalid_rendered(
                    &dpath,
                    &go_bad_value(d),
                    &format!("must result in valid metadata: {e}"),
                ));
            } else {
                let me = objectmeta::validate_embedded(&obj, Some(root), true, "");
                if !me.is_empty() {
                    let texts: Vec<String> = me.iter().map(crate::path::error_string).collect();
                    errs.push(invalid_rendered(
                        &dpath,
                        &go_bad_value(d),
                        &format!("must result in valid metadata: {}", apimachinery::quote::aggregate(&texts)),
                    ));
                } else {
                    let ve = validate_value(s, &patterns, d, None, &dpath);
                    if ve.is_empty() {
                        errs.extend(cel_on_default(s, s.x_embedded_resource, d, &dpath));
                    }
                    errs.extend(ve);
                }
            }
        } else {
            if require_pruned {
                let mut pruned = d.clone();
                prune(&mut pruned, Some(s), s.x_embedded_resource);
                if pruned != *d {
                    errs.push(invalid_rendered(&dpath, &go_bad_value(d), "must not have unknown fields"));
                }
            }
            let me = if s.x_embedded_resource {
                objectmeta::validate_embedded(d, Some(s), true, &dpath)
            } else {
                Errors::new()
            };
            if !me.is_empty() {
                errs.extend(me);
            } else {
                let ve = validate_value(s, &patterns, d, None, &dpath);
                if ve.is_empty() {
                    errs.extend(cel_on_default(s, s.x_embedded_resource, d, &dpath));
                }
                errs.extend(ve);
            }
        }
    }
    if let Some(item) = s.items_schema() {
        steps.push(Step::Index);
        check(&child(path, "items"), item, root, steps, inside_meta, require_pruned, errs, depth + 1);
        steps.pop();
    }
    for (k, sub) in &s.properties {
        let sub_meta = inside_meta
            || (s.x_embedded_resource && matches!(k.as_str(), "metadata" | "apiVersion" | "kind"));
        steps.push(Step::Child(k.clone()));
        check(
            &crate::path::key(&child(path, "properties"), k),
            sub,
            root,
            steps,
            sub_meta,
            require_pruned,
            errs,
            depth + 1,
        );
        steps.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema(v: Value) -> Props {
        let mut errs = Vec::new();
        Props::parse(&v, "", &mut errs)
    }

    #[test]
    fn defaults_apply_nested_and_not_to_nullable_nulls() {
        let s = schema(
            json!({"type": "object", "properties": {"spec": {"type": "object", "default": {}, "properties": {
                "replicas": {"type": "integer", "default": 1},
                "mode": {"type": "string", "default": "auto"},
                "opt": {"type": "string", "nullable": true, "default": "x"},
                "list": {"type": "array", "items": {"type": "object", "properties": {"p": {"type": "integer", "default": 80}}}},
                "inner": {"type": "object", "default": {}, "properties": {"deep": {"type": "boolean", "default": true}}}
            }}}}),
        );
        let mut obj = json!({"apiVersion": "a/v1", "kind": "K"});
        default(&mut obj, &s);
        assert_eq!(obj["spec"], json!({"replicas": 1, "mode": "auto", "opt": "x", "inner": {"deep": true}}));
        let mut obj = json!({"spec": {"replicas": null, "opt": null, "list": [{}, {"p": 1}]}});
        default(&mut obj, &s);
        assert_eq!(obj["spec"]["replicas"], json!(1));
        assert_eq!(obj["spec"]["opt"], Value::Null);
        assert_eq!(obj["spec"]["list"], json!([{"p": 80}, {"p": 1}]));
    }

    #[test]
    fn nulls_without_defaults_are_pruned() {
        let s = schema(json!({"type": "object", "properties": {
            "a": {"type": "string"}, "b": {"type": "string", "nullable": true}, "c": {"type": "string", "default": "x"}
        }}));
        let mut obj = json!({"a": null, "b": null, "c": null, "d": null});
        prune_nulls(&mut obj, Some(&s));
        assert_eq!(obj, json!({"b": null, "c": null, "d": null}));
    }

    #[test]
    fn defaults_are_validated_and_must_be_pruned() {
        let s = schema(json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "replicas": {"type": "integer", "default": "one", "minimum": 0},
            "obj": {"type": "object", "properties": {"a": {"type": "string"}}, "default": {"a": "x", "b": 1}},
            "neg": {"type": "integer", "minimum": 0, "default": -1}
        }}}}));
        let got: Vec<String> = validate_defaults("spec.validation.openAPIV3Schema", &s, true)
            .iter()
            .map(crate::path::error_string)
            .collect();
        assert_eq!(
            got,
            vec![
                r#"spec.validation.openAPIV3Schema.properties[spec].properties[neg].default: Invalid value: -1: spec.validation.openAPIV3Schema.properties[spec].properties[neg].default in body should be greater than or equal to 0"#.replace("spec.validation.openAPIV3Schema.properties[spec].properties[neg].default in body", " in body"),
                r#"spec.validation.openAPIV3Schema.properties[spec].properties[obj].default: Invalid value: {"a":"x","b":1}: must not have unknown fields"#.to_string(),
                r#"spec.validation.openAPIV3Schema.properties[spec].properties[replicas].default: Invalid value: "string":  in body must be of type integer: "string""#.to_string(),
            ]
        );
    }
}

#[cfg(test)]
mod cel_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_must_pass_their_rules() {
        let mut e = Vec::new();
        let s = Props::parse(
            &json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
                "size": {"type": "integer", "default": 5, "x-kubernetes-validations": [{"rule": "self < 3", "message": "too big"}]}
            }}}}),
            "",
            &mut e,
        );
        let got: Vec<String> =
            validate_defaults("r", &s, true).iter().map(crate::path::error_string).collect();
        assert_eq!(
            got,
            vec![r#"r.properties[spec].properties[size].default: Invalid value: "integer": too big"#]
        );
    }
}
