//! Validation every kind shares beyond its name, and the ConfigMap and Secret rules: kube's
//! `ValidateObjectMeta` for labels and annotations (k8s.io/apimachinery
//! `pkg/apis/meta/v1/validation` and `pkg/api/validation/objectmeta.go`), and
//! `ValidateConfigMap`/`ValidateSecret` with their updates (`pkg/apis/core/validation`): data
//! keys, and what `immutable: true` freezes.

use super::common::qualified_name_errors;
use crate::ResourceType;
use apimachinery::field::{forbidden, immutable, invalid, too_long, Errors};
use serde_json::{Map, Value};

const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const CONFIG_KEY_MSG: &str = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
/// kube's `TotalAnnotationSizeLimitB`.
const ANNOTATIONS_MAX_BYTES: usize = 256 * 1024;
const IMMUTABLE_SET: &str = "field is immutable when `immutable` is set";

/// The map at `key` of `parent`, its keys sorted (Go visits a map in no set order; sorted
/// keys make the order of several errors stable).
fn sorted<'a>(parent: Option<&'a Value>, key: &str) -> Vec<(&'a String, &'a Value)> {
    let mut entries: Vec<_> = parent
        .and_then(|p| p.get(key))
        .and_then(Value::as_object)
        .map(Map::iter)
        .into_iter()
        .flatten()
        .collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

/// The messages of apimachinery's `IsValidLabelValue`, empty when valid.
fn label_value_errors(v: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    if v.len() > 63 {
        out.push("must be no more than 63 characters");
    }
    let ok = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.';
    let bytes = v.as_bytes();
    let valid = v.is_empty()
        || (bytes.iter().all(|b| ok(*b))
            && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
            && bytes.last().is_some_and(u8::is_ascii_alphanumeric));
    if !valid {
        out.push(LABEL_VALUE_MSG);
    }
    out
}

/// `metadata.labels` and `metadata.annotations` of any object.
pub(super) fn validate(obj: &Value, errs: &mut Errors) {
    let meta = obj.get("metadata");
    for (k, v) in sorted(meta, "labels") {
        for msg in qualified_name_errors(k) {
            errs.push(invalid("metadata.labels", k, &msg));
        }
        let v = v.as_str().unwrap_or_default();
        for msg in label_value_errors(v) {
            errs.push(invalid("metadata.labels", v, msg));
        }
    }
    let mut total = 0;
    for (k, v) in sorted(meta, "annotations") {
        // Annotation keys are qualified names in any case.
        for msg in qualified_name_errors(&k.to_ascii_lowercase()) {
            errs.push(invalid("metadata.annotations", k, &msg));
        }
        total += k.len() + v.as_str().map_or(0, str::len);
    }
    if total > ANNOTATIONS_MAX_BYTES {
        errs.push(too_long("metadata.annotations", ANNOTATIONS_MAX_BYTES as i64));
    }
}

/// The messages of apimachinery's `IsConfigMapKey`, empty when valid.
fn config_key_errors(key: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    if key.len() > 253 {
        out.push("must be no more than 253 characters");
    }
    let ok = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.';
    if key.is_empty() || !key.bytes().all(ok) {
        out.push(CONFIG_KEY_MSG);
    }
    match key {
        "." => out.push("must not be '.'"),
        ".." => out.push("must not be '..'"),
        k if k.starts_with("..") => out.push("must not start with '..'"),
        _ => {}
    }
    out
}

/// The data keys of a ConfigMap or Secret.
pub(super) fn validate_data(rt: &ResourceType, obj: &Value, errs: &mut Errors) {
    let bags: &[&str] = match (rt.group, rt.kind) {
        ("", "ConfigMap") => &["data", "binaryData"],
        ("", "Secret") => &["data"],
        _ => return,
    };
    for bag in bags {
        for (key, _) in sorted(Some(obj), bag) {
            let field = format!("{bag}[{key}]");
            for msg in config_key_errors(key) {
                errs.push(invalid(&field, key, msg));
            }
            if *bag == "data"
                && rt.kind == "ConfigMap"
                && obj.pointer("/binaryData").and_then(|b| b.get(key)).is_some()
            {
                errs.push(invalid(&field, key, "duplicate of key present in binaryData"));
            }
        }
    }
}

/// What an update of an immutable ConfigMap or Secret may not change, and a Secret's type.
pub(super) fn validate_data_update(rt: &ResourceType, new: &Value, old: &Value, errs: &mut Errors) {
    let bags: &[&str] = match (rt.group, rt.kind) {
        ("", "ConfigMap") => &["data", "binaryData"],
        ("", "Secret") => {
            immutable(new, old, "/type", "type", errs);
            &["data"]
        }
        _ => return,
    };
    if old.get("immutable") != Some(&Value::Bool(true)) {
        return;
    }
    if new.get("immutable") != Some(&Value::Bool(true)) {
        errs.push(forbidden("immutable", IMMUTABLE_SET));
    }
    let present = |v: &Value, bag: &str| v.get(bag).filter(|d| !d.is_null()).cloned();
    for bag in bags {
        if present(new, bag) != present(old, bag) {
            errs.push(forbidden(bag, IMMUTABLE_SET));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalog;
    use serde_json::json;

    fn messages(errs: &Errors) -> Vec<String> {
        errs.iter().map(|e| format!("{}: {}", e.field, e.message)).collect()
    }

    #[test]
    fn labels_and_annotations_as_kube_checks_them() {
        let mut errs = Vec::new();
        validate(&json!({"metadata": {"labels": {"ok": "fine", "a b": "c", "k": "-bad"}}}), &mut errs);
        let m = messages(&errs);
        assert_eq!(m.len(), 2, "{m:?}");
        assert!(m[0].starts_with("metadata.labels: Invalid value: \"a b\": name part must consist"), "{m:?}");
        assert!(m[1].starts_with("metadata.labels: Invalid value: \"-bad\": a valid label must be"), "{m:?}");
        let mut errs = Vec::new();
        let big = "x".repeat(ANNOTATIONS_MAX_BYTES);
        validate(&json!({"metadata": {"annotations": {"Example.COM/Key": "v", "k": big}}}), &mut errs);
        assert_eq!(messages(&errs), ["metadata.annotations: Too long: may not be more than 262144 bytes"]);
    }

    #[test]
    fn config_keys_and_immutable_data() {
        let c = Catalog::builtin();
        let cm = c.lookup("", "v1", "configmaps").unwrap();
        let mut errs = Vec::new();
        validate_data(
            cm,
            &json!({"data": {"bad key": "v", "..x": "v", "ok": "v"}, "binaryData": {"ok": ""}}),
            &mut errs,
        );
        let m = messages(&errs);
        assert_eq!(m.len(), 3, "{m:?}");
        assert_eq!(m[0], "data[..x]: Invalid value: \"..x\": must not start with '..'");
        assert!(m[1].starts_with("data[bad key]: Invalid value: \"bad key\": a valid config key"), "{m:?}");
        assert_eq!(m[2], "data[ok]: Invalid value: \"ok\": duplicate of key present in binaryData");
        let old = json!({"data": {"k": "v"}, "immutable": true});
        let mut errs = Vec::new();
        validate_data_update(cm, &json!({"data": {"k": "w"}, "immutable": true}), &old, &mut errs);
        assert_eq!(messages(&errs), ["data: Forbidden: field is immutable when `immutable` is set"]);
        let mut errs = Vec::new();
        validate_data_update(cm, &old, &old, &mut errs);
        assert!(errs.is_empty());
    }
}
