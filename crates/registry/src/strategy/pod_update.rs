//! What an update may change in a Pod's spec, as kube's `ValidatePodUpdate`
//! (`pkg/apis/core/validation/validation.go`): the containers' and init containers' images,
//! `activeDeadlineSeconds` (set or lowered, never removed), tolerations (added, or their
//! `tolerationSeconds` changed), scheduling gates (removed), a negative
//! `terminationGracePeriodSeconds` set to 1, and while the pod is gated its node selector and
//! node affinity. Anything else is `pod updates may not change fields other than ...`;
//! resources change through `pods/resize` (not served: it needs a kubelet).
//!
//! kube appends a go-cmp diff of the two specs to that message; kubeward does not.

use apimachinery::field::{cause, invalid};
use apimachinery::field::{forbidden, invalid_number, required, Errors};
use apimachinery::CauseType;
use serde_json::{Map, Value};

const UPDATABLE: &str = "pod updates may not change fields other than `spec.containers[*].image`,\
`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing \
tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

const MAX_INT32: i64 = i32::MAX as i64;

fn list<'a>(spec: &'a Value, key: &str) -> &'a [Value] {
    spec.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// Field errors of a Pod update (beyond those of the new Pod alone).
pub(super) fn validate(new: &Value, old: &Value, errs: &mut Errors) {
    let empty = Value::Object(Map::new());
    let new_spec = new.get("spec").unwrap_or(&empty);
    let old_spec = old.get("spec").unwrap_or(&empty);
    for key in ["containers", "initContainers"] {
        let (n, o) = (list(new_spec, key), list(old_spec, key));
        if n.len() != o.len() {
            errs.push(forbidden(&format!("spec.{key}"), "pod updates may not add or remove containers"));
            return;
        }
        for (i, c) in n.iter().enumerate() {
            let image = c.get("image").and_then(Value::as_str).unwrap_or_default();
            if image.is_empty() {
                errs.push(required(&format!("spec.{key}[{i}].image")));
            } else if image.trim() != image {
                errs.push(invalid(
                    &format!("spec.{key}[{i}].image"),
                    image,
                    "must not have leading or trailing whitespace",
                ));
            }
        }
    }
    let deadline = |s: &Value| s.get("activeDeadlineSeconds").and_then(Value::as_i64);
    match (deadline(new_spec), deadline(old_spec)) {
        (Some(n), _) if !(0..=MAX_INT32).contains(&n) => {
            errs.push(invalid_number(
                "spec.activeDeadlineSeconds",
                n,
                &format!("must be between 0 and {MAX_INT32}, inclusive"),
            ));
            return;
        }
        (Some(n), Some(o)) if o < n => {
            errs.push(invalid_number(
                "spec.activeDeadlineSeconds",
                n,
                "must be less than or equal to previous value",
            ));
            return;
        }
        (None, Some(_)) => errs.push(cause(
            CauseType::FieldValueInvalid,
            "spec.activeDeadlineSeconds",
            "Invalid value: \"null\": must not update from a positive integer to nil value".into(),
        )),
        _ => {}
    }
    only_added_tolerations(list(new_spec, "tolerations"), list(old_spec, "tolerations"), errs);
    only_deleted_gates(list(new_spec, "schedulingGates"), list(old_spec, "schedulingGates"), errs);

    let mut munged = new_spec.clone();
    let Some(m) = munged.as_object_mut() else { return };
    for key in ["containers", "initContainers"] {
        if let Some(containers) = m.get_mut(key).and_then(Value::as_array_mut) {
            for (c, old_c) in containers.iter_mut().zip(list(old_spec, key)) {
                if let (Some(c), Some(image)) = (c.as_object_mut(), old_c.get("image")) {
                    c.insert("image".into(), image.clone());
                }
            }
        }
    }
    for key in ["activeDeadlineSeconds", "schedulingGates", "tolerations"] {
        copy_field(m, old_spec, key);
    }
    let grace = |s: &Value| s.get("terminationGracePeriodSeconds").and_then(Value::as_i64);
    if grace(old_spec).is_some_and(|g| g < 0) && grace(new_spec) == Some(1) {
        copy_field(m, old_spec, "terminationGracePeriodSeconds");
    }
    // A gated pod's node selector and node affinity may be made more specific (kube checks
    // how; kubeward lets the change through).
    if !list(old_spec, "schedulingGates").is_empty() {
        copy_field(m, old_spec, "nodeSelector");
        let old_node_affinity = old_spec.pointer("/affinity/nodeAffinity").cloned();
        match (m.get_mut("affinity").and_then(Value::as_object_mut), old_node_affinity) {
            (Some(a), Some(na)) => {
                a.insert("nodeAffinity".into(), na);
            }
            (Some(a), None) => {
                a.remove("nodeAffinity");
            }
            (None, Some(na)) => {
                m.insert("affinity".into(), serde_json::json!({ "nodeAffinity": na }));
            }
            (None, None) => {}
        }
    }
    if !semantically_equal(&munged, old_spec) {
        errs.push(forbidden("spec", UPDATABLE));
    }
}

fn copy_field(m: &mut Map<String, Value>, old: &Value, key: &str) {
    match old.get(key) {
        Some(v) => m.insert(key.into(), v.clone()),
        None => m.remove(key),
    };
}

/// kube's `Semantic.DeepEqual` on JSON: an absent field, `null`, `[]` and `{}` are the same
/// (nil and empty slices and maps compare equal; kubeward keeps no typed form to tell a
/// pointer to an empty struct apart, and lets that pass).
fn semantically_equal(a: &Value, b: &Value) -> bool {
    fn blank(v: &Value) -> bool {
        match v {
            Value::Null => true,
            Value::Array(a) => a.is_empty(),
            Value::Object(o) => o.values().all(blank),
            _ => false,
        }
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.iter().all(|(k, v)| y.get(k).map_or(blank(v), |w| semantically_equal(v, w)))
                && y.iter().all(|(k, w)| x.contains_key(k) || blank(w))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| semantically_equal(v, w))
        }
        _ => a == b || (blank(a) && blank(b)),
    }
}

fn only_added_tolerations(new: &[Value], old: &[Value], errs: &mut Errors) {
    let without_seconds = |t: &Value| {
        let mut t = t.clone();
        if let Some(o) = t.as_object_mut() {
            o.remove("tolerationSeconds");
        }
        t
    };
    for o in old {
        let o = without_seconds(o);
        if !new.iter().any(|n| semantically_equal(&without_seconds(n), &o)) {
            errs.push(forbidden(
                "spec.tolerations",
                "existing toleration can not be modified except its tolerationSeconds",
            ));
            return;
        }
    }
}

fn only_deleted_gates(new: &[Value], old: &[Value], errs: &mut Errors) {
    let name = |g: &Value| g.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
    let old: Vec<String> = old.iter().map(name).collect();
    for (i, g) in new.iter().enumerate() {
        let gate = name(g);
        if !old.contains(&gate) {
            errs.push(forbidden(
                &format!("spec.schedulingGates[{i}].name"),
                &format!("only deletion is allowed, but found new scheduling gate '{gate}'"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(spec: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec})
    }

    fn errors(new: Value, old: Value) -> Vec<String> {
        let mut errs = Vec::new();
        validate(&pod(new), &pod(old), &mut errs);
        errs.into_iter().map(|c| format!("{}: {}", c.field, c.message)).collect()
    }

    fn base() -> Value {
        json!({"containers": [{"name": "c", "image": "nginx",
            "resources": {"requests": {"cpu": "100m"}}}],
            "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}],
            "schedulingGates": [{"name": "a"}, {"name": "b"}]})
    }

    #[test]
    fn images_deadlines_tolerations_and_gates_may_change() {
        let mut new = base();
        new["containers"][0]["image"] = json!("nginx:2");
        new["activeDeadlineSeconds"] = json!(60);
        new["tolerations"][0]["tolerationSeconds"] = json!(10);
        new["tolerations"].as_array_mut().unwrap().push(json!({"key": "x", "operator": "Exists"}));
        new["schedulingGates"] = json!([{"name": "b"}]);
        new["nodeSelector"] = json!({"zone": "a"});
        assert_eq!(errors(new, base()), Vec::<String>::new());
        // Empty and absent are the same.
        let mut same = base();
        same["volumes"] = json!([]);
        same["nodeSelector"] = json!({});
        assert_eq!(errors(same, base()), Vec::<String>::new());
    }

    #[test]
    fn resources_and_other_fields_may_not() {
        let mut new = base();
        new["containers"][0]["resources"]["requests"]["cpu"] = json!("200m");
        let errs = errors(new, base());
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].starts_with(
            "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`"
        ));
        let mut new = base();
        new["containers"].as_array_mut().unwrap().push(json!({"name": "d", "image": "x"}));
        assert_eq!(
            errors(new, base()),
            ["spec.containers: Forbidden: pod updates may not add or remove containers"]
        );
        let mut new = base();
        new["tolerations"] = json!([]);
        assert_eq!(
            errors(new, base()),
            ["spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"]
        );
        let mut new = base();
        new["schedulingGates"] = json!([{"name": "a"}, {"name": "c"}]);
        assert_eq!(
            errors(new, base()),
            ["spec.schedulingGates[1].name: Forbidden: only deletion is allowed, but found new scheduling gate 'c'"]
        );
        let mut old = base();
        old["activeDeadlineSeconds"] = json!(30);
        let mut new = old.clone();
        new["activeDeadlineSeconds"] = json!(60);
        assert_eq!(
            errors(new, old),
            ["spec.activeDeadlineSeconds: Invalid value: 60: must be less than or equal to previous value"]
        );
    }
}
