use serde_json::{json, Value};

use super::*;
use crate::patch::{builtin_patch_meta, FieldDef, NoMeta, PatchError, StructMeta};

fn pod() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "web",
            "labels": {"app": "web", "tier": "front"},
            "finalizers": ["a", "b"],
            "ownerReferences": [{"uid": "u1", "name": "rs1", "kind": "ReplicaSet"}]
        },
        "spec": {
            "containers": [
                {"name": "c", "image": "nginx:1", "args": ["-x"],
                 "ports": [{"containerPort": 80}, {"containerPort": 443, "name": "https"}],
                 "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
                {"name": "d", "image": "sidecar:1"}
            ],
            "tolerations": [{"key": "k1", "operator": "Exists"}],
            "securityContext": {"runAsUser": 1000}
        },
        "status": {
            "conditions": [
                {"type": "Ready", "status": "False"},
                {"type": "Initialized", "status": "True"}
            ]
        }
    })
}

fn smp(original: &Value, patch: Value) -> Result<Value, PatchError> {
    let meta = builtin_patch_meta("", "Pod").unwrap();
    strategic_merge_patch(original, &patch, meta)
}

fn ok(original: &Value, patch: Value) -> Value {
    smp(original, patch).unwrap()
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect()
}

fn failed(e: PatchError) -> String {
    match e {
        PatchError::StrategicMergeFailed(m) => m,
        other => panic!("expected StrategicMergeFailed, got {other:?}"),
    }
}

#[test]
fn kubectl_patch_updates_one_container() {
    let p = pod();
    let got = ok(&p, json!({"spec": {"containers": [{"name": "c", "image": "nginx:2"}]}}));
    let cs = &got["spec"]["containers"];
    assert_eq!(names(cs), ["c", "d"]);
    assert_eq!(cs[0]["image"], "nginx:2");
    assert_eq!(cs[0]["args"], json!(["-x"]), "untouched fields stay");
    assert_eq!(cs[0]["ports"], p["spec"]["containers"][0]["ports"]);
    assert_eq!(cs[1], p["spec"]["containers"][1]);
    assert_eq!(got["metadata"], p["metadata"]);
    // Patching the second container keeps the order too.
    let got = ok(&p, json!({"spec": {"containers": [{"name": "d", "image": "sidecar:2"}]}}));
    assert_eq!(names(&got["spec"]["containers"]), ["c", "d"]);
    assert_eq!(got["spec"]["containers"][1]["image"], "sidecar:2");
}

#[test]
fn new_items_without_order_directive_go_first_as_in_kube() {
    let got = ok(&pod(), json!({"spec": {"containers": [{"name": "e", "image": "new"}]}}));
    assert_eq!(names(&got["spec"]["containers"]), ["e", "c", "d"]);
}

#[test]
fn nested_merge_lists_merge_by_their_keys() {
    let got = ok(
        &pod(),
        json!({"spec": {"containers": [{"name": "c",
            "env": [{"name": "B", "value": "two"}, {"name": "C", "value": "3"}],
            "ports": [{"containerPort": 443, "protocol": "TCP"}]}]}}),
    );
    let c = &got["spec"]["containers"][0];
    assert_eq!(
        c["env"],
        json!([{"name": "A", "value": "1"}, {"name": "B", "value": "two"}, {"name": "C", "value": "3"}])
    );
    assert_eq!(
        c["ports"],
        json!([{"containerPort": 80}, {"containerPort": 443, "name": "https", "protocol": "TCP"}])
    );
}

#[test]
fn lists_without_strategy_are_replaced() {
    let got = ok(
        &pod(),
        json!({"spec": {"tolerations": [{"key": "k2", "operator": "Exists"}],
                        "containers": [{"name": "c", "args": ["-y"]}]}}),
    );
    assert_eq!(got["spec"]["tolerations"], json!([{"key": "k2", "operator": "Exists"}]));
    assert_eq!(got["spec"]["containers"][0]["args"], json!(["-y"]));
}

#[test]
fn null_deletes_and_maps_merge() {
    let got = ok(&pod(), json!({"metadata": {"labels": {"tier": null, "env": "prod"}}}));
    assert_eq!(got["metadata"]["labels"], json!({"app": "web", "env": "prod"}));
    let got = ok(&pod(), json!({"spec": {"securityContext": null}}));
    assert!(got["spec"].get("securityContext").is_none());
    let got = ok(&pod(), json!({"spec": {"containers": [{"name": "c", "args": null}]}}));
    assert!(got["spec"]["containers"][0].get("args").is_none());
    // A null for a missing key is ignored; nulls inside new subtrees are dropped.
    let got = ok(&pod(), json!({"spec": {"missing": null, "nodeSelector": {"a": "1", "b": null}}}));
    assert!(got["spec"].get("missing").is_none());
    assert_eq!(got["spec"]["nodeSelector"], json!({"a": "1"}));
}

#[test]
fn type_changes_replace() {
    let got = ok(&pod(), json!({"spec": {"securityContext": ["odd"]}}));
    assert_eq!(got["spec"]["securityContext"], json!(["odd"]));
    let got = ok(&pod(), json!({"spec": {"tolerations": {"k": 1}}}));
    assert_eq!(got["spec"]["tolerations"], json!({"k": 1}));
}

#[test]
fn primitive_merge_lists_are_unioned() {
    let got = ok(&pod(), json!({"metadata": {"finalizers": ["c", "a"]}}));
    // kube's order: patch items first unless the original orders them before.
    assert_eq!(got["metadata"]["finalizers"], json!(["c", "a", "b"]));
    let got = ok(&pod(), json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}));
    assert_eq!(got["metadata"]["finalizers"], json!(["b"]));
    let got =
        ok(&pod(), json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"], "finalizers": ["z"]}}));
    assert_eq!(got["metadata"]["finalizers"], json!(["z", "a"]));
    // Deleting from a list that is not there does nothing.
    let got =
        ok(&json!({"metadata": {}}), json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}));
    assert_eq!(got, json!({"metadata": {}}));
}

#[test]
fn owner_references_merge_by_uid() {
    let got = ok(
        &pod(),
        json!({"metadata": {"ownerReferences": [{"uid": "u1", "controller": true}, {"uid": "u2", "name": "x"}]}}),
    );
    assert_eq!(
        got["metadata"]["ownerReferences"],
        json!([{"uid": "u1", "name": "rs1", "kind": "ReplicaSet", "controller": true}, {"uid": "u2", "name": "x"}])
    );
}

#[test]
fn status_conditions_merge_by_type() {
    let got = ok(&pod(), json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}));
    assert_eq!(
        got["status"]["conditions"],
        json!([{"type": "Ready", "status": "True"}, {"type": "Initialized", "status": "True"}])
    );
}

#[test]
fn patch_directives_in_lists() {
    let p = pod();
    let got = ok(&p, json!({"spec": {"containers": [{"name": "x", "image": "i"}, {"$patch": "replace"}]}}));
    assert_eq!(got["spec"]["containers"], json!([{"name": "x", "image": "i"}]));
    let got = ok(&p, json!({"spec": {"containers": [{"name": "d", "$patch": "delete"}]}}));
    assert_eq!(names(&got["spec"]["containers"]), ["c"]);
    let got =
        ok(&p, json!({"spec": {"containers": [{"name": "c", "env": [{"name": "A", "$patch": "delete"}]}]}}));
    assert_eq!(got["spec"]["containers"][0]["env"], json!([{"name": "B", "value": "2"}]));
    let e = failed(smp(&p, json!({"spec": {"containers": [{"$patch": "delete"}]}})).unwrap_err());
    assert_eq!(e, "map: map[$patch:delete] does not contain declared merge key: name");
    let e = failed(smp(&p, json!({"spec": {"containers": [{"name": "c", "$patch": "merge"}]}})).unwrap_err());
    assert_eq!(e, "merging lists cannot yet be specified in the patch");
    let e = failed(smp(&p, json!({"spec": {"containers": [{"name": "c", "$patch": "bogus"}]}})).unwrap_err());
    assert_eq!(e, "unknown patch type: bogus in map: map[$patch:bogus name:c]");
}

#[test]
fn patch_directives_in_maps() {
    let p = pod();
    let got = ok(&p, json!({"metadata": {"labels": {"$patch": "replace", "only": "this"}}}));
    assert_eq!(got["metadata"]["labels"], json!({"only": "this"}));
    let got = ok(&p, json!({"spec": {"securityContext": {"$patch": "delete"}}}));
    assert_eq!(got["spec"]["securityContext"], json!({}));
    let e = failed(smp(&p, json!({"metadata": {"labels": {"$patch": 1}}})).unwrap_err());
    assert!(e.starts_with("unknown patch type: 1 in map: map[$patch:1]"), "{e}");
    // A `$patch: delete` map for a missing key adds nothing; `replace` adds the map.
    let got = ok(
        &p,
        json!({"spec": {"dnsConfig": {"$patch": "delete"}, "nodeSelector": {"$patch": "replace", "a": "b"}}}),
    );
    assert!(got["spec"].get("dnsConfig").is_none());
    assert_eq!(got["spec"]["nodeSelector"], json!({"a": "b"}));
}

#[test]
fn retain_keys_clears_other_fields() {
    let d = json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
    let meta = builtin_patch_meta("apps", "Deployment").unwrap();
    let got = strategic_merge_patch(
        &d,
        &json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": null}}}),
        meta,
    )
    .unwrap();
    assert_eq!(got["spec"]["strategy"], json!({"type": "Recreate"}));
    let e = strategic_merge_patch(
        &d,
        &json!({"spec": {"strategy": {"$retainKeys": ["type"], "other": 1}}}),
        meta,
    );
    assert_eq!(e, Err(PatchError::BadPatchFormat("invalid patch format of retainKeys")));
    let e = strategic_merge_patch(&d, &json!({"spec": {"strategy": {"$retainKeys": "type"}}}), meta);
    assert_eq!(e, Err(PatchError::BadPatchFormat("invalid patch format of retainKeys")));
}

/// The body `kubectl apply` (client-side) sends when an image changes.
#[test]
fn kubectl_apply_patch_applies_cleanly() {
    let last = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"annotations":{},"name":"web"},"spec":{"containers":[{"image":"nginx:2","name":"c"}]}}"#;
    let patch = json!({
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": format!("{last}\n")}},
        "spec": {
            "$setElementOrder/containers": [{"name": "c"}],
            "containers": [{"image": "nginx:2", "name": "c"}]
        }
    });
    let got = ok(&pod(), patch);
    assert_eq!(names(&got["spec"]["containers"]), ["c", "d"]);
    assert_eq!(got["spec"]["containers"][0]["image"], "nginx:2");
    assert!(got["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
        .as_str()
        .unwrap()
        .starts_with("{\"apiVersion\""));
    assert!(got.to_string().find('$').is_none(), "no directive is left behind");
}

#[test]
fn set_element_order_orders_merged_lists() {
    let got = ok(
        &pod(),
        json!({"spec": {
            "$setElementOrder/containers": [{"name": "d"}, {"name": "e"}, {"name": "c"}],
            "containers": [{"name": "e", "image": "new"}]
        }}),
    );
    assert_eq!(names(&got["spec"]["containers"]), ["d", "e", "c"]);
    // Apply removing a container: a delete item plus the new order.
    let got = ok(
        &pod(),
        json!({"spec": {
            "$setElementOrder/containers": [{"name": "c"}],
            "containers": [{"$patch": "delete", "name": "d"}]
        }}),
    );
    assert_eq!(names(&got["spec"]["containers"]), ["c"]);
    // Nested order directive inside a merged item, and an order-only change.
    let got = ok(
        &pod(),
        json!({"spec": {
            "$setElementOrder/containers": [{"name": "c"}, {"name": "d"}],
            "containers": [{"name": "c",
                "$setElementOrder/ports": [{"containerPort": 443}, {"containerPort": 8080}, {"containerPort": 80}],
                "ports": [{"containerPort": 8080}]}]
        }}),
    );
    let ports: Vec<i64> = got["spec"]["containers"][0]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["containerPort"].as_i64().unwrap())
        .collect();
    assert_eq!(ports, [443, 8080, 80]);
    let got = ok(&pod(), json!({"metadata": {"$setElementOrder/finalizers": ["b", "a"]}}));
    assert_eq!(got["metadata"]["finalizers"], json!(["b", "a"]));
    // Items the order list does not name keep their server position.
    let got =
        ok(&pod(), json!({"metadata": {"$setElementOrder/finalizers": ["c", "a"], "finalizers": ["c"]}}));
    assert_eq!(got["metadata"]["finalizers"], json!(["c", "a", "b"]));
    // For a new list the patch's items are taken.
    let got = ok(
        &json!({"spec": {}}),
        json!({"spec": {"$setElementOrder/containers": [{"name": "a"}], "containers": [{"name": "a", "env": [{"name": "X", "value": null}]}]}}),
    );
    assert_eq!(got["spec"]["containers"], json!([{"name": "a", "env": [{"name": "X"}]}]));
}

#[test]
fn set_element_order_errors() {
    let e = failed(
        smp(
            &pod(),
            json!({"spec": {"$setElementOrder/containers": [{"name": "c"}], "containers": [{"name": "e"}]}}),
        )
        .unwrap_err(),
    );
    assert_eq!(
        e,
        "the order in patch list:\n[map[name:e]]\n doesn't match $setElementOrder list:\n[map[name:c]]"
    );
    assert_eq!(
        smp(&pod(), json!({"spec": {"$setElementOrder": []}})),
        Err(PatchError::BadPatchFormat("invalid patch format of setElementOrder list"))
    );
    let e = failed(smp(&pod(), json!({"spec": {"$setElementOrder/containers": {"name": "c"}}})).unwrap_err());
    assert_eq!(e, "expected a slice, but received a map");
    let e =
        failed(smp(&pod(), json!({"spec": {"$setElementOrder/containers": [{"nom": "c"}]}})).unwrap_err());
    assert_eq!(e, "map: map[nom:c] does not contain declared merge key: name");
}

#[test]
fn other_errors() {
    let e = failed(smp(&pod(), json!({"spec": {"containers": [{"image": "foo"}]}})).unwrap_err());
    assert_eq!(e, "map: map[image:foo] does not contain declared merge key: name");
    assert_eq!(
        smp(&json!({"metadata": {"finalizers": []}}), json!({"metadata": {"finalizers": [["x"]]}})),
        Err(PatchError::ListOfLists)
    );
    let e = failed(smp(&pod(), json!({"metadata": {"finalizers": [["x"]]}})).unwrap_err());
    assert_eq!(e, "list element types are not identical: [[a b] [[x]]]");
    let e = failed(smp(&pod(), json!({"metadata": {"finalizers": [1]}})).unwrap_err());
    assert_eq!(e, "list element types are not identical: [[a b] [1]]");
    assert_eq!(
        smp(&pod(), json!({"metadata": {"$deleteFromPrimitiveList": ["a"]}})),
        Err(PatchError::BadPatchFormat("invalid patch format of primitive list"))
    );
    assert_eq!(
        smp(&pod(), json!([1])),
        Err(PatchError::Decode(
            "json: cannot unmarshal array into Go value of type map[string]interface {}".into()
        ))
    );
    // A merge list of objects with no merge key declared.
    static BAD: StructMeta = StructMeta { fields: &[FieldDef::merge_set("items")] };
    let e = failed(
        strategic_merge_patch(&json!({"items": [{"a": 1}]}), &json!({"items": [{"a": 2}]}), &BAD)
            .unwrap_err(),
    );
    assert_eq!(e, "cannot merge lists without merge key for items");
}

#[test]
fn unknown_types_follow_default_rules() {
    let got = strategic_merge_patch(
        &json!({"a": {"b": 1, "c": [1, 2]}, "l": [{"name": "x"}]}),
        &json!({"a": {"c": [3], "d": true}, "l": [{"name": "y"}]}),
        &NoMeta,
    )
    .unwrap();
    assert_eq!(got, json!({"a": {"b": 1, "c": [3], "d": true}, "l": [{"name": "y"}]}));
    let got = strategic_merge_patch(&Value::Null, &json!({"a": 1}), &NoMeta).unwrap();
    assert_eq!(got, json!({"a": 1}));
}

#[test]
fn new_values_are_cleaned_of_directives() {
    let got = ok(
        &json!({"spec": {}}),
        json!({"spec": {"affinity": {"$retainKeys": ["x"], "x": {"$setElementOrder/y": [], "y": [1]},
                                     "list": [{"$patch": "delete", "name": "gone"}, {"name": "kept"}]}}}),
    );
    assert_eq!(got, json!({"spec": {"affinity": {"x": {"y": [1]}, "list": [{"name": "kept"}]}}}));
}

#[test]
fn depth_guard() {
    let mut deep = json!(1);
    for _ in 0..(MAX_PATCH_DEPTH + 1) {
        deep = json!({"a": deep});
    }
    assert_eq!(
        strategic_merge_patch(&json!({}), &deep, &NoMeta),
        Err(PatchError::TooDeep { limit: MAX_PATCH_DEPTH })
    );
    // The deepest allowed patch over an equally deep object merges without trouble.
    let mut patch = json!({"leaf": 2});
    let mut orig = json!({"leaf": 1, "other": true});
    for _ in 0..(MAX_PATCH_DEPTH - 1) {
        patch = json!({"a": patch});
        orig = json!({"a": orig});
    }
    let got = strategic_merge_patch(&orig, &patch, &NoMeta).unwrap();
    let mut cur = &got;
    for _ in 0..(MAX_PATCH_DEPTH - 1) {
        cur = &cur["a"];
    }
    assert_eq!(cur, &json!({"leaf": 2, "other": true}));
}

#[test]
fn large_lists_merge_in_linear_time() {
    let n = 20_000;
    let orig = json!({"spec": {"containers": (0..n).map(|i| json!({"name": format!("c{i}"), "image": "a"})).collect::<Vec<_>>()}});
    let patch = json!({"spec": {"containers": (0..n).rev().map(|i| json!({"name": format!("c{i}"), "image": "b"})).collect::<Vec<_>>()}});
    let start = std::time::Instant::now();
    let got = ok(&orig, patch);
    let took = start.elapsed();
    let cs = got["spec"]["containers"].as_array().unwrap();
    assert_eq!(cs.len(), n);
    assert!(cs.iter().all(|c| c["image"] == "b"));
    // Everything is in the patch, so the patch's order wins.
    assert_eq!(cs[0]["name"], format!("c{}", n - 1));
    assert!(took.as_secs() < 10, "took {took:?}");
}
