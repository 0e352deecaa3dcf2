//! `metadata` of the resource root and of embedded resources (kube's `schema/objectmeta`):
//! coercion to what `metav1.ObjectMeta` holds (unknown fields dropped and reported,
//! malformed ones dropped or refused), and validation of embedded resources: `apiVersion`
//! and `kind` present and well formed, `metadata` valid object metadata.

use crate::names::{dns1035_label, dns1123_label};
use crate::path::{child, key, Path};
use crate::props::Props;
use apimachinery::field::{invalid, invalid_rendered, required, Errors};
use apimachinery::gofmt::go_bad_value;
use apimachinery::selectors::validation::{label_value_errors, qualified_name_errors};
use serde_json::{Map, Value};

/// The JSON shape of each `ObjectMeta` field, for Go's decoding errors.
#[derive(Clone, Copy)]
enum Shape {
    Str,
    Int,
    Time,
    StrMap,
    StrList,
    ObjList,
}

const FIELDS: [(&str, Shape, &str); 15] = [
    ("name", Shape::Str, "string"),
    ("generateName", Shape::Str, "string"),
    ("namespace", Shape::Str, "string"),
    ("selfLink", Shape::Str, "string"),
    ("uid", Shape::Str, "types.UID"),
    ("resourceVersion", Shape::Str, "string"),
    ("generation", Shape::Int, "int64"),
    ("creationTimestamp", Shape::Time, "v1.Time"),
    ("deletionTimestamp", Shape::Time, "v1.Time"),
    ("deletionGracePeriodSeconds", Shape::Int, "int64"),
    ("labels", Shape::StrMap, "map[string]string"),
    ("annotations", Shape::StrMap, "map[string]string"),
    ("ownerReferences", Shape::ObjList, "[]v1.OwnerReference"),
    ("finalizers", Shape::StrList, "[]string"),
    ("managedFields", Shape::ObjList, "[]v1.ManagedFieldsEntry"),
];

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Go's decoding error for a malformed `ObjectMeta` field, or None when it decodes.
fn field_error(k: &str, v: &Value, shape: Shape, go_type: &str) -> Option<String> {
    let bad = |what: &Value, field: &str, ty: &str| {
        Some(format!(
            "json: cannot unmarshal {} into Go struct field ObjectMeta.{field} of type {ty}",
            json_kind(what)
        ))
    };
    if v.is_null() {
        return None;
    }
    match shape {
        Shape::Str if !v.is_string() => bad(v, k, go_type),
        Shape::Int if !v.is_i64() => bad(v, k, go_type),
        Shape::Time => match v.as_str() {
            None => bad(v, k, "string"),
            Some(s) if !s.is_empty() && chrono::DateTime::parse_from_rfc3339(s).is_err() => Some(format!(
                "parsing time {} as \"2006-01-02T15:04:05Z07:00\": cannot parse",
                apimachinery::quote::go_quote(s)
            )),
            _ => None,
        },
        Shape::StrMap => match v {
            Value::Object(m) => {
                m.values().find(|x| !x.is_string() && !x.is_null()).and_then(|x| bad(x, k, "string"))
            }
            _ => bad(v, k, go_type),
        },
        Shape::StrList => match v {
            Value::Array(a) => {
                a.iter().find(|x| !x.is_string() && !x.is_null()).and_then(|x| bad(x, k, "string"))
            }
            _ => bad(v, k, go_type),
        },
        Shape::ObjList => match v {
            Value::Array(a) => {
                a.iter().find(|x| !x.is_object() && !x.is_null()).and_then(|x| bad(x, k, go_type))
            }
            _ => bad(v, k, go_type),
        },
        _ => None,
    }
}

/// Reads `metadata` as `ObjectMeta` would: Err with Go's decoding message when a known
/// field is malformed (or metadata is not an object).
pub fn check_object_meta(meta: &Value) -> Result<(), String> {
    let Value::Object(m) = meta else {
        return Err(format!(
            "json: cannot unmarshal {} into Go value of type v1.ObjectMeta",
            json_kind(meta)
        ));
    };
    // The first malformed field in `FIELDS` order, found by walking the (few) fields the
    // metadata has rather than looking each known field up.
    let mut first: Option<(usize, String)> = None;
    for (k, v) in m {
        let Some(i) = FIELDS.iter().position(|(f, _, _)| f == k) else { continue };
        if first.as_ref().is_some_and(|(j, _)| *j < i) {
            continue;
        }
        if let Some((f, shape, ty)) = FIELDS.get(i) {
            if let Some(e) = field_error(f, v, *shape, ty) {
                first = Some((i, e));
            }
        }
    }
    match first {
        Some((_, e)) => Err(e),
        None => Ok(()),
    }
}

/// Keeps the `ObjectMeta` fields of `m`, dropping unknown ones (their paths pushed to
/// `unknown` under `prefix`) and, with `drop_invalid`, malformed ones.
fn coerce_meta(m: &mut Map<String, Value>, drop_invalid: bool, prefix: &str, unknown: &mut Vec<String>) {
    let mut drop = Vec::new();
    for (k, v) in m.iter() {
        match FIELDS.iter().find(|(f, _, _)| f == k) {
            None => {
                unknown.push(format!("{prefix}.{k}"));
                drop.push(k.clone());
            }
            Some((_, shape, ty)) if drop_invalid && field_error(k, v, *shape, ty).is_some() => {
                drop.push(k.clone())
            }
            _ => {}
        }
    }
    for k in drop {
        m.remove(&k);
    }
}

/// kube's `objectmeta.Coerce` (dropping invalid fields): the metadata of the root (when
/// `resource_root`) and of every embedded resource keeps only `ObjectMeta` fields;
/// `apiVersion`/`kind` that are not strings are dropped. Returns the dropped unknown paths.
pub fn coerce(obj: &mut Value, s: Option<&Props>, resource_root: bool, drop_invalid: bool) -> Vec<String> {
    let mut unknown = Vec::new();
    coerce_at(obj, s, resource_root, drop_invalid, &Path::At(""), &mut unknown, 0);
    unknown
}

fn coerce_at(
    x: &mut Value,
    s: Option<&Props>,
    embedded: bool,
    drop_invalid: bool,
    path: &Path<'_>,
    unknown: &mut Vec<String>,
    depth: usize,
) {
    if depth > crate::MAX_VALUE_DEPTH {
        return;
    }
    let Some(s) = s else { return };
    match x {
        Value::Object(m) => {
            if embedded {
                for k in ["apiVersion", "kind"] {
                    if drop_invalid && m.get(k).is_some_and(|v| !v.is_string()) {
                        m.remove(k);
                    }
                }
                if let Some(meta) = m.get_mut("metadata") {
                    match meta {
                        Value::Object(mm) => {
                            coerce_meta(mm, drop_invalid, &path.child("metadata").to_string(), unknown)
                        }
                        _ if drop_invalid => {
                            m.remove("metadata");
                        }
                        _ => {}
                    }
                }
            }
            for (k, v) in m.iter_mut() {
                if embedded && k == "metadata" {
                    continue;
                }
                if let Some(p) = s.properties.get(k) {
                    coerce_at(
                        v,
                        Some(p),
                        p.x_embedded_resource,
                        drop_invalid,
                        &path.child(k),
                        unknown,
                        depth + 1,
                    );
                } else if let Some(ap) = s.additional_schema() {
                    coerce_at(
                        v,
                        Some(ap),
                        ap.x_embedded_resource,
                        drop_invalid,
                        &path.key(k),
                        unknown,
                        depth + 1,
                    );
                }
            }
        }
        Value::Array(items) => {
            if let Some(is) = s.items_schema() {
                for (i, v) in items.iter_mut().enumerate() {
                    coerce_at(
                        v,
                        Some(is),
                        is.x_embedded_resource,
                        drop_invalid,
                        &path.index(i),
                        unknown,
                        depth + 1,
                    );
                }
            }
        }
        _ => {}
    }
}

/// kube's `objectmeta.Coerce` without dropping: Err with the first malformed field.
pub fn coerce_strict(obj: &Value, s: Option<&Props>) -> Result<(), String> {
    fn walk(x: &Value, s: Option<&Props>, embedded: bool, depth: usize) -> Result<(), String> {
        let Some(s) = s else { return Ok(()) };
        if depth > crate::MAX_VALUE_DEPTH {
            return Ok(());
        }
        match x {
            Value::Object(m) => {
                if embedded {
                    if let Some(meta) = m.get("metadata") {
                        check_object_meta(meta)?;
                    }
                }
                for (k, v) in m {
                    if let Some(p) = s.properties.get(k) {
                        walk(v, Some(p), p.x_embedded_resource, depth + 1)?;
                    } else if let Some(ap) = s.additional_schema() {
                        walk(v, Some(ap), ap.x_embedded_resource, depth + 1)?;
                    }
                }
                Ok(())
            }
            Value::Array(items) => {
                let is = s.items_schema();
                for v in items {
                    walk(v, is, is.is_some_and(|p| p.x_embedded_resource), depth + 1)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
    walk(obj, s, true, 0)
}

/// kube's `objectmeta.Validate`: every embedded resource under `s` (and `obj` itself when
/// `resource_root`) has a valid `apiVersion`, `kind` and `metadata`.
pub fn validate_embedded(obj: &Value, s: Option<&Props>, resource_root: bool, path: &str) -> Errors {
    let mut errs = Errors::new();
    let Some(s) = s else { return errs };
    walk_validate(obj, s, resource_root || s.x_embedded_resource, &Path::At(path), &mut errs, 0);
    errs
}

fn walk_validate(x: &Value, s: &Props, embedded: bool, path: &Path<'_>, errs: &mut Errors, depth: usize) {
    if depth > crate::MAX_VALUE_DEPTH {
        return;
    }
    match x {
        Value::Object(m) => {
            if embedded {
                validate_embedded_resource(m, &path.to_string(), errs);
            }
            for (k, v) in m {
                if let Some(p) = s.properties.get(k) {
                    walk_validate(v, p, p.x_embedded_resource, &path.child(k), errs, depth + 1);
                } else if let Some(ap) = s.additional_schema() {
                    walk_validate(v, ap, ap.x_embedded_resource, &path.key(k), errs, depth + 1);
                }
            }
        }
        Value::Array(items) => {
            if let Some(is) = s.items_schema() {
                for (i, v) in items.iter().enumerate() {
                    walk_validate(v, is, is.x_embedded_resource, &path.index(i), errs, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// `schema.ParseGroupVersion`'s error, if any.
fn parse_group_version(gv: &str) -> Result<(), String> {
    if gv.is_empty() || gv == "/" {
        return Ok(());
    }
    match gv.matches('/').count() {
        0 | 1 => Ok(()),
        _ => Err(format!("unexpected GroupVersion string: {gv}")),
    }
}

fn validate_embedded_resource(m: &Map<String, Value>, path: &str, errs: &mut Errors) {
    if !m.contains_key("apiVersion") {
        errs.push(required(&child(path, "apiVersion")));
    }
    if !m.contains_key("kind") {
        errs.push(required(&child(path, "kind")));
    }
    for (k, v) in m {
        match k.as_str() {
            "apiVersion" => match v.as_str() {
                None => errs.push(invalid_rendered(
                    &child(path, "apiVersion"),
                    &go_bad_value(v),
                    "must be a string",
                )),
                Some("") => errs.push(invalid(&child(path, "apiVersion"), "", "must not be empty")),
                Some(a) => {
                    if let Err(e) = parse_group_version(a) {
                        errs.push(invalid(&child(path, "apiVersion"), a, &e));
                    }
                }
            },
            "kind" => match v.as_str() {
                None => {
                    errs.push(invalid_rendered(&child(path, "kind"), &go_bad_value(v), "must be a string"))
                }
                Some("") => errs.push(invalid(&child(path, "kind"), "", "must not be empty")),
                Some(kind) => {
                    let e = dns1035_label(&kind.to_lowercase());
                    if !e.is_empty() {
                        errs.push(invalid(
                            &child(path, "kind"),
                            kind,
                            &format!("may have mixed case, but should otherwise match: {}", e.join(",")),
                        ));
                    }
                }
            },
            "metadata" => {
                let mp = child(path, "metadata");
                if let Err(e) = check_object_meta(v) {
                    errs.push(invalid_rendered(&mp, &go_bad_value(v), &e));
                } else {
                    validate_meta(v, &mp, errs);
                }
            }
            _ => {}
        }
    }
}

/// A custom resource's own `metadata.labels` and `metadata.annotations`, as kube's
/// `ValidateObjectMetaAccessor` checks every object's (keys in order, as kubeward reports them).
pub fn validate_labels_and_annotations(meta: &Value, errs: &mut Errors) {
    if let Some(Value::Object(labels)) = meta.get("labels") {
        let mut keys: Vec<&String> = labels.keys().collect();
        keys.sort();
        for k in keys {
            for m in qualified_name_errors(k) {
                errs.push(invalid("metadata.labels", k, &m));
            }
            let val = labels[k].as_str().unwrap_or_default();
            for m in label_value_errors(val) {
                errs.push(invalid("metadata.labels", val, &m));
            }
        }
    }
    if let Some(Value::Object(annotations)) = meta.get("annotations") {
        let mut keys: Vec<&String> = annotations.keys().collect();
        keys.sort();
        let mut total = 0;
        for k in keys {
            for m in qualified_name_errors(&k.to_ascii_lowercase()) {
                errs.push(invalid("metadata.annotations", k, &m));
            }
            total += k.len() + annotations[k].as_str().map_or(0, str::len);
        }
        if total > 256 * 1024 {
            errs.push(apimachinery::field::too_long("metadata.annotations", 256 * 1024));
        }
    }
}

/// `ValidateObjectMeta` with path-segment names, as kube checks embedded metadata.
fn validate_meta(meta: &Value, path: &str, errs: &mut Errors) {
    let s = |k: &str| meta.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let name = s("name");
    let generate_name = s("generateName");
    if !generate_name.is_empty() {
        for m in path_segment(&generate_name, true) {
            errs.push(invalid(&child(path, "generateName"), &generate_name, &m));
        }
    }
    if !name.is_empty() {
        for m in path_segment(&name, false) {
            errs.push(invalid(&child(path, "name"), &name, &m));
        }
    }
    let namespace = s("namespace");
    if !namespace.is_empty() {
        for m in dns1123_label(&namespace) {
            errs.push(invalid(&child(path, "namespace"), &namespace, &m));
        }
    }
    if let Some(Value::Object(labels)) = meta.get("labels") {
        for (k, v) in labels {
            for m in qualified_name_errors(k) {
                errs.push(invalid(&child(path, "labels"), k, &m));
            }
            let val = v.as_str().unwrap_or_default();
            for m in label_value_errors(val) {
                errs.push(invalid(&key(&child(path, "labels"), k), val, &m));
            }
        }
    }
    if let Some(Value::Object(annotations)) = meta.get("annotations") {
        let mut total = 0;
        for (k, v) in annotations {
            for m in qualified_name_errors(&k.to_lowercase()) {
                errs.push(invalid(&child(path, "annotations"), k, &m));
            }
            total += k.len() + v.as_str().map(str::len).unwrap_or(0);
        }
        if total > 256 * 1024 {
            errs.push(apimachinery::field::too_long(&child(path, "annotations"), 256 * 1024));
        }
    }
}

/// `IsPathSegmentName` / `IsPathSegmentPrefix`.
fn path_segment(name: &str, prefix: bool) -> Vec<String> {
    let mut out = Vec::new();
    if !prefix && (name == "." || name == "..") {
        out.push(format!("may not be '{name}'"));
    }
    for bad in ["/", "%"] {
        if name.contains(bad) {
            out.push(format!("may not contain '{bad}'"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Of several malformed fields, the one `ObjectMeta` declares first is reported, in
    /// whatever order the metadata has them.
    #[test]
    fn the_first_malformed_field_in_object_meta_order_is_reported() {
        let by_lookup = |meta: &Value| -> Result<(), String> {
            let m = meta.as_object().unwrap();
            for (k, shape, ty) in FIELDS {
                if let Some(e) = m.get(k).and_then(|v| field_error(k, v, shape, ty)) {
                    return Err(e);
                }
            }
            Ok(())
        };
        let metas = [
            json!({"labels": 1, "name": 2, "uid": "u"}),
            json!({"finalizers": "x", "generation": "1", "annotations": {"a": 1}, "other": 5}),
            json!({"creationTimestamp": 3, "namespace": "n", "labels": {"a": "b"}}),
            json!({"name": "n", "managedFields": {}, "ownerReferences": [1]}),
            json!({"name": "n", "namespace": "x"}),
            json!({}),
        ];
        for meta in metas {
            assert_eq!(check_object_meta(&meta), by_lookup(&meta), "{meta}");
        }
        assert!(check_object_meta(&json!({"labels": 1, "name": 2})).unwrap_err().contains("ObjectMeta.name"));
    }

    #[test]
    fn embedded_resources_are_checked() {
        let mut errs = Vec::new();
        let s = Props::parse(
            &json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
                "template": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true}
            }}}}),
            "",
            &mut errs,
        );
        let obj = json!({"spec": {"template": {"kind": "My Kind", "metadata": {"name": "a/b", "labels": {"x": 1}}}}});
        let got: Vec<String> =
            validate_embedded(&obj, Some(&s), false, "").iter().map(crate::path::error_string).collect();
        assert_eq!(
            got,
            vec![
                "spec.template.apiVersion: Required value",
                "spec.template.kind: Invalid value: \"My Kind\": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
                "spec.template.metadata: Invalid value: {\"labels\":{\"x\":1},\"name\":\"a/b\"}: json: cannot unmarshal number into Go struct field ObjectMeta.labels of type string",
            ]
        );
        let mut obj = json!({"metadata": {"name": "x", "bogus": 1}, "spec": {"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "extra": true}}}});
        let unknown = coerce(&mut obj, Some(&s), true, true);
        assert_eq!(unknown, vec!["metadata.bogus", "spec.template.metadata.extra"]);
        assert_eq!(obj["spec"]["template"]["metadata"], json!({"name": "p"}));
    }
}
