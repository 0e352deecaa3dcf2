//! The two ways a mutation changes an object (kube's `patch` package of the
//! MutatingAdmissionPolicy plugin): an apply configuration merged along the kind's
//! schema as server-side apply merges it ([`apply_configuration`], kube's
//! `ApplyStructuredMergeDiff`, refusing atomic lists, maps and structs in the
//! configuration), and an RFC 6902 JSON patch ([`json_patch`]; a failed `test` leaves the
//! object as it was). Errors are kube's texts.

use crate::types::ObjectSchema;
use fieldmanager::schema::{resolve, ListKind, Shape};
use fieldmanager::typed::{merge, validate};
use fieldmanager::{Node, Schema};
use serde_json::Value;

/// Deepest nesting walked when looking for atomic values (JSON decoding bounds objects
/// far below this).
const MAX_DEPTH: usize = 512;

/// kube's `findAtomics`: the paths of the configuration's values the schema makes atomic
/// (a granular struct's declared fields are followed, list items by index).
fn find_atomics(
    schema: &dyn Schema,
    node: Node,
    value: &Value,
    path: &mut String,
    out: &mut Vec<String>,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    match (resolve(schema, node, Some(value)), value) {
        (Shape::Map(map), Value::Object(fields)) => {
            if map.atomic {
                out.push(path.clone());
            }
            for (key, child) in fields {
                if let Some(field) = schema.field(node, key) {
                    let len = path.len();
                    path.push('.');
                    path.push_str(key);
                    find_atomics(schema, field, child, path, out, depth + 1);
                    path.truncate(len);
                }
            }
        }
        (Shape::List(list), Value::Array(items)) => {
            if matches!(list.kind, ListKind::Atomic) {
                out.push(path.clone());
            }
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                find_atomics(schema, list.element, item, path, out, depth + 1);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// `patch` (an `Object` built by the expression) merged into `object` along `schema`:
/// kube's `ApplyStructuredMergeDiff` and the errors it wraps (`error applying patch:
/// ...`). The configuration takes the object's `apiVersion` and `kind`.
pub fn apply_configuration(schema: &ObjectSchema, object: &Value, patch: Value) -> Result<Value, String> {
    let mut patch = patch;
    if let (Some(p), Some(o)) = (patch.as_object_mut(), object.as_object()) {
        for key in ["apiVersion", "kind"] {
            if let Some(v) = o.get(key) {
                p.insert(key.into(), v.clone());
            }
        }
    }
    let wrap = |e: String| format!("error applying patch: {e}");
    let (tree, root) = (schema.schema.as_ref(), schema.root);
    let errors = validate::validate(tree, root, &patch);
    if !errors.is_empty() {
        return Err(wrap(format!(
            "failed to convert patch object to typed object: {}",
            validate::join_errors(&errors)
        )));
    }
    let mut atomics = Vec::new();
    find_atomics(tree, root, &patch, &mut String::new(), &mut atomics, 0);
    if !atomics.is_empty() {
        return Err(wrap(format!(
            "invalid ApplyConfiguration: may not mutate atomic arrays, maps or structs: {}",
            atomics.join(", ")
        )));
    }
    let errors = validate::validate(tree, root, object);
    if !errors.is_empty() {
        return Err(wrap(format!(
            "failed to convert original object to typed object: {}",
            validate::join_errors(&errors)
        )));
    }
    merge::merge(tree, root, object, &patch)
        .map_err(|errors| wrap(format!("failed to merge patch: {}", validate::join_errors(&errors))))
}

/// Whether a JSON patch failed on a `test` operation (kube leaves the object as it was).
fn is_test_failure(e: &json_patch::PatchError) -> bool {
    matches!(e, json_patch::PatchError { kind: json_patch::PatchErrorKind::TestFailed, .. })
}

/// `ops` (the expression's `JSONPatch` list as JSON) applied to `object`: the patched
/// object, the object unchanged when a `test` failed, or kube's `JSON Patch: ...` error.
pub fn json_patch(object: &Value, ops: Value) -> Result<Value, String> {
    let patch: json_patch::Patch = serde_json::from_value(ops).map_err(|e| format!("JSON Patch: {e}"))?;
    let mut patched = object.clone();
    match json_patch::patch(&mut patched, &patch) {
        Ok(()) => Ok(patched),
        Err(e) if is_test_failure(&e) => Ok(object.clone()),
        Err(e) => Err(format!("JSON Patch: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldmanager::schema::builtin::Builtin;
    use serde_json::json;
    use std::sync::Arc;

    fn pods() -> ObjectSchema {
        ObjectSchema { schema: Arc::new(Builtin), root: Builtin::root("", "v1", "Pod").unwrap() }
    }

    fn pod() -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": "nginx", "args": ["-x"]}]}})
    }

    #[test]
    fn a_configuration_merges_as_server_side_apply() {
        let out = apply_configuration(
            &pods(),
            &pod(),
            json!({"metadata": {"labels": {"team": "blue"}}, "spec": {"containers": [{"name": "proxy", "image": "envoy"}]}}),
        )
        .unwrap();
        assert_eq!(out["metadata"]["labels"], json!({"app": "web", "team": "blue"}));
        // Containers are a list keyed by name: the new one joins the old.
        assert_eq!(
            out["spec"]["containers"],
            json!([{"name": "app", "image": "nginx", "args": ["-x"]}, {"name": "proxy", "image": "envoy"}])
        );
    }

    #[test]
    fn kube_refuses_atomic_values_and_undeclared_fields() {
        let e = apply_configuration(
            &pods(),
            &pod(),
            json!({"spec": {"containers": [{"name": "app", "args": ["-y"]}]}}),
        )
        .unwrap_err();
        assert_eq!(
            e,
            "error applying patch: invalid ApplyConfiguration: may not mutate atomic arrays, maps or structs: .spec.containers[0].args"
        );
        let e = apply_configuration(&pods(), &pod(), json!({"spec": {"nope": 1}})).unwrap_err();
        assert_eq!(
            e,
            "error applying patch: failed to convert patch object to typed object: .spec.nope: field not declared in schema"
        );
    }

    #[test]
    fn json_patches_apply_and_a_failed_test_changes_nothing() {
        let out =
            json_patch(&pod(), json!([{"op": "add", "path": "/metadata/labels/x", "value": "y"}])).unwrap();
        assert_eq!(out["metadata"]["labels"]["x"], "y");
        let same = json_patch(
            &pod(),
            json!([{"op": "test", "path": "/metadata/name", "value": "other"}, {"op": "remove", "path": "/metadata/labels"}]),
        )
        .unwrap();
        assert_eq!(same, pod());
        let e =
            json_patch(&pod(), json!([{"op": "replace", "path": "/spec/nope/x", "value": 1}])).unwrap_err();
        assert!(e.starts_with("JSON Patch: "), "{e}");
    }
}
