//! JSON merge patch (RFC 7386, `application/merge-patch+json`): objects merge key by
//! key, `null` deletes, anything else (lists included) replaces.

use serde_json::{Map, Value};

use super::limits::{depth, MAX_PATCH_DEPTH};
use super::PatchError;

/// Applies a merge patch to `original`. A patch that is not an object replaces the
/// document, as the RFC says; the server rejects such results when decoding them.
pub fn json_merge_patch(original: &Value, patch: &Value) -> Result<Value, PatchError> {
    if depth(patch) > MAX_PATCH_DEPTH {
        return Err(PatchError::TooDeep { limit: MAX_PATCH_DEPTH });
    }
    let mut doc = original.clone();
    merge_into(&mut doc, patch);
    Ok(doc)
}

/// Recursion is bounded by the patch's depth, checked by the caller.
fn merge_into(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(t) = target else {
        return;
    };
    for (k, v) in p {
        if v.is_null() {
            t.shift_remove(k);
        } else {
            merge_into(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mp(o: Value, p: Value) -> Value {
        json_merge_patch(&o, &p).unwrap()
    }

    #[test]
    fn rfc7386_examples() {
        // The test cases of RFC 7386 appendix A.
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "b"}), json!({"b": "c"}), json!({"a": "b", "b": "c"})),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (json!({"a": "b", "b": "c"}), json!({"a": null}), json!({"b": "c"})),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (json!({"a": {"b": "c"}}), json!({"a": {"b": "d", "c": null}}), json!({"a": {"b": "d"}})),
            (json!({"a": [{"b": "c"}]}), json!({"a": [1]}), json!({"a": [1]})),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a": "b"}), json!(["c"]), json!(["c"])),
            (json!({"a": "foo"}), json!(null), json!(null)),
            (json!({"a": "foo"}), json!("bar"), json!("bar")),
            (json!({"e": null}), json!({"a": 1}), json!({"e": null, "a": 1})),
            (json!([1, 2]), json!({"a": "b", "c": null}), json!({"a": "b"})),
            (json!({}), json!({"a": {"bb": {"ccc": null}}}), json!({"a": {"bb": {}}})),
        ];
        for (o, p, want) in cases {
            assert_eq!(mp(o.clone(), p.clone()), want, "{o} + {p}");
        }
    }

    #[test]
    fn kube_objects() {
        let pod = json!({"metadata": {"name": "web", "labels": {"app": "web", "tier": "front"}},
                         "spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}});
        // Deleting a label with null.
        let got = mp(pod.clone(), json!({"metadata": {"labels": {"tier": null}}}));
        assert_eq!(got["metadata"]["labels"], json!({"app": "web"}));
        // Lists are replaced whole.
        let got = mp(pod.clone(), json!({"spec": {"containers": [{"name": "b", "image": "z"}]}}));
        assert_eq!(got["spec"]["containers"], json!([{"name": "b", "image": "z"}]));
        assert_eq!(got["metadata"], pod["metadata"]);
    }

    #[test]
    fn key_order_is_kept() {
        let got = mp(json!({"a": 1, "b": 2, "c": 3}), json!({"a": null, "d": 4}));
        let keys: Vec<&String> = got.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["b", "c", "d"]);
    }

    #[test]
    fn too_deep_patch_is_refused() {
        let mut p = json!(1);
        for _ in 0..(MAX_PATCH_DEPTH + 1) {
            p = json!({"a": p});
        }
        assert_eq!(json_merge_patch(&json!({}), &p), Err(PatchError::TooDeep { limit: MAX_PATCH_DEPTH }));
        let mut ok = json!(1);
        for _ in 0..MAX_PATCH_DEPTH {
            ok = json!({"a": ok});
        }
        assert_eq!(json_merge_patch(&json!({}), &ok).unwrap(), ok);
    }
}
