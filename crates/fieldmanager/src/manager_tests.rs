//! Field manager scenarios, modeled on structured-merge-diff's merge tests (multiple
//! appliers, conflicts, force, removal, list-maps, sets, atomic lists and maps) and on
//! kube's managedfields tests (reset, capping, before-first-apply, last-applied upgrade).

use super::*;
use serde_json::json;

const T0: &str = "2024-01-01T00:00:00Z";
const T1: &str = "2024-01-01T00:01:00Z";
const T2: &str = "2024-01-01T00:02:00Z";

fn fm() -> FieldManager<'static> {
    FieldManager::for_kind("apps", "v1", "Deployment", "").with_reset_fields(&[&["status"]])
}

fn deployment(replicas: i64, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": image}]}
            }
        }
    })
}

/// Stored object: what the server keeps between requests (uid set).
fn stored(mut v: Value) -> Value {
    v["metadata"]["uid"] = json!("u-1");
    v
}

fn entries(obj: &Value) -> Vec<Value> {
    obj.pointer("/metadata/managedFields").and_then(Value::as_array).cloned().unwrap_or_default()
}

fn entry<'a>(obj: &'a Value, manager: &str) -> Option<&'a Value> {
    obj.pointer("/metadata/managedFields")?.as_array()?.iter().find(|e| e["manager"] == manager)
}

fn owns(obj: &Value, manager: &str, path: &[&str]) -> bool {
    let Some(e) = entry(obj, manager) else { return false };
    let set = crate::fieldsv1::from_fields_v1(&e["fieldsV1"]).unwrap();
    let path: Vec<PathElement> = path
        .iter()
        .map(|p| match p.strip_prefix("k:").or(p.strip_prefix("v:")) {
            Some(_) => PathElement::from_key(p).unwrap().unwrap(),
            None => PathElement::field(p),
        })
        .collect();
    set.has(&path)
}

#[test]
fn apply_creates_with_one_apply_entry() {
    let obj = fm().apply(None, &deployment(3, "nginx:1"), "kubectl", false, T0).unwrap();
    assert_eq!(obj["spec"]["replicas"], 3);
    let e = entries(&obj);
    assert_eq!(e.len(), 1);
    assert_eq!(
        e[0],
        json!({
            "manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1", "time": T0,
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:replicas": {}, "f:selector": {},
                    "f:template": {
                        "f:metadata": {"f:labels": {"f:app": {}}},
                        "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}, "f:name": {}}}}
                    }
                }
            }
        })
    );
}

#[test]
fn create_records_an_update_entry_like_kube() {
    let mut obj = deployment(1, "nginx:1");
    fm().update(None, &mut obj, "kubectl-create", T0);
    let e = entry(&obj, "kubectl-create").unwrap();
    assert_eq!(e["operation"], "Update");
    assert_eq!(e["apiVersion"], "apps/v1");
    // Labels were absent from the zero object: owned with "."; the template and the
    // containers list exist (empty) in Go's zero Deployment: no ".".
    assert_eq!(
        e["fieldsV1"],
        json!({
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {
                "f:replicas": {}, "f:selector": {},
                "f:template": {
                    "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                    "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}, "f:name": {}}}}
                }
            }
        })
    );
}

#[test]
fn conflicting_appliers_and_force() {
    let live = stored(fm().apply(None, &deployment(3, "nginx:1"), "alice", false, T0).unwrap());
    let err = fm().apply(Some(live.clone()), &deployment(5, "nginx:1"), "bob", false, T1).unwrap_err();
    let status = err.to_status();
    assert_eq!(status.code, 409);
    assert_eq!(status.message, r#"Apply failed with 1 conflict: conflict with "alice": .spec.replicas"#);
    let causes = &status.details.as_ref().unwrap().causes;
    assert_eq!(causes.len(), 1);
    assert_eq!(causes[0].field, ".spec.replicas");
    assert_eq!(causes[0].message, r#"conflict with "alice""#);
    assert_eq!(causes[0].reason, CauseType::FieldManagerConflict);

    let forced = fm().apply(Some(live.clone()), &deployment(5, "nginx:1"), "bob", true, T1).unwrap();
    assert_eq!(forced["spec"]["replicas"], 5);
    assert!(owns(&forced, "bob", &["spec", "replicas"]));
    assert!(!owns(&forced, "alice", &["spec", "replicas"]));
    // Fields both apply with the same value are shared.
    assert!(owns(&forced, "alice", &["spec", "selector"]) && owns(&forced, "bob", &["spec", "selector"]));
}

#[test]
fn several_conflicts_are_grouped_by_manager() {
    let live = stored(fm().apply(None, &deployment(3, "nginx:1"), "alice", false, T0).unwrap());
    let err =
        fm().apply(Some(live.clone()), &deployment(5, "nginx:2"), "bob", false, T1).unwrap_err().to_status();
    assert_eq!(
        err.message,
        "Apply failed with 2 conflicts: conflicts with \"alice\":\n- .spec.replicas\n- .spec.template.spec.containers[name=\"nginx\"].image"
    );
}

#[test]
fn update_takes_ownership_and_reapply_conflicts_with_the_updater() {
    let live = stored(fm().apply(None, &deployment(3, "nginx:1"), "kubectl", false, T0).unwrap());
    let mut edited = live.clone();
    edited["spec"]["replicas"] = json!(7);
    fm().update(Some(&live), &mut edited, "kubectl-edit", T1);
    assert!(owns(&edited, "kubectl-edit", &["spec", "replicas"]));
    assert!(!owns(&edited, "kubectl", &["spec", "replicas"]));
    let edited = stored(edited);
    let err = fm()
        .apply(Some(edited.clone()), &deployment(3, "nginx:1"), "kubectl", false, T2)
        .unwrap_err()
        .to_status();
    assert_eq!(
        err.message,
        r#"Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas"#
    );
    // Not applying the field any more leaves it to the updater.
    let mut config = deployment(3, "nginx:2");
    config["spec"].as_object_mut().unwrap().remove("replicas");
    let out = fm().apply(Some(edited.clone()), &config, "kubectl", false, T2).unwrap();
    assert_eq!(out["spec"]["replicas"], 7);
    assert_eq!(out["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:2");
}

#[test]
fn a_field_no_longer_applied_is_removed_unless_another_manager_owns_it() {
    let mut config = deployment(3, "nginx:1");
    config["metadata"]["labels"]["tier"] = json!("front");
    let live = stored(fm().apply(None, &config, "kubectl", false, T0).unwrap());
    let out = fm().apply(Some(live.clone()), &deployment(3, "nginx:1"), "kubectl", false, T1).unwrap();
    assert_eq!(out["metadata"]["labels"], json!({"app": "web"}));
    assert!(!owns(&out, "kubectl", &["metadata", "labels", "tier"]));

    // Another applier with the same label keeps it alive.
    let shared = stored(fm().apply(Some(live.clone()), &config, "other", false, T1).unwrap());
    let out = fm().apply(Some(shared.clone()), &deployment(3, "nginx:1"), "kubectl", false, T2).unwrap();
    assert_eq!(out["metadata"]["labels"]["tier"], "front");
    assert!(owns(&out, "other", &["metadata", "labels", "tier"]));
}

#[test]
fn list_map_items_merge_by_key() {
    let live = stored(fm().apply(None, &deployment(1, "nginx:1"), "a", false, T0).unwrap());
    let mut sidecar = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"template": {"spec": {"containers": [{"name": "log", "image": "busybox"}]}}}});
    let both = stored(fm().apply(Some(live.clone()), &sidecar, "b", false, T1).unwrap());
    let names: Vec<&str> = both["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["nginx", "log"]);
    assert!(owns(&both, "b", &["spec", "template", "spec", "containers", r#"k:{"name":"log"}"#, "image"]));
    // b drops its container: only b's item goes.
    sidecar["spec"]["template"]["spec"]["containers"] = json!([]);
    let out = fm().apply(Some(both.clone()), &sidecar, "b", false, T2).unwrap();
    let containers = out["spec"]["template"]["spec"]["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    assert_eq!(containers[0]["name"], "nginx");
}

#[test]
fn ports_key_on_container_port_and_defaulted_protocol() {
    let mut config = deployment(1, "nginx:1");
    config["spec"]["template"]["spec"]["containers"][0]["ports"] = json!([{"containerPort": 80}]);
    let obj = fm().apply(None, &config, "kubectl", false, T0).unwrap();
    assert!(owns(
        &obj,
        "kubectl",
        &[
            "spec",
            "template",
            "spec",
            "containers",
            r#"k:{"name":"nginx"}"#,
            "ports",
            r#"k:{"containerPort":80,"protocol":"TCP"}"#,
            "containerPort"
        ]
    ));
}

#[test]
fn sets_merge_by_value() {
    let cfg = |f: Value| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "finalizers": f}})
    };
    let live = stored(fm().apply(None, &cfg(json!(["a", "b"])), "one", false, T0).unwrap());
    let out = stored(fm().apply(Some(live.clone()), &cfg(json!(["c", "b"])), "two", false, T1).unwrap());
    assert_eq!(out["metadata"]["finalizers"], json!(["a", "c", "b"]));
    assert!(owns(&out, "two", &["metadata", "finalizers", r#"v:"c""#]));
    // "one" stops applying "a": removed; "b" is still two's.
    let out = fm().apply(Some(out.clone()), &cfg(json!(["b"])), "one", false, T2).unwrap();
    assert_eq!(out["metadata"]["finalizers"], json!(["c", "b"]));
}

#[test]
fn atomic_lists_and_maps_are_one_field() {
    let mut a = deployment(1, "nginx:1");
    a["spec"]["template"]["spec"]["containers"][0]["args"] = json!(["-a", "-b"]);
    let live = stored(fm().apply(None, &a, "one", false, T0).unwrap());
    assert!(owns(&live, "one", &["spec", "template", "spec", "containers", r#"k:{"name":"nginx"}"#, "args"]));
    let mut b = a.clone();
    b["spec"]["template"]["spec"]["containers"][0]["args"] = json!(["-c"]);
    let err = fm().apply(Some(live.clone()), &b, "two", false, T1).unwrap_err().to_status();
    assert!(err.message.ends_with(r#".spec.template.spec.containers[name="nginx"].args"#), "{}", err.message);
    // The selector is atomic: a different selector conflicts as a whole.
    let mut c = a.clone();
    c["spec"]["selector"] = json!({"matchLabels": {"app": "web", "x": "y"}});
    let err = fm().apply(Some(live.clone()), &c, "two", false, T1).unwrap_err().to_status();
    assert!(err.message.ends_with(": .spec.selector"), "{}", err.message);
}

#[test]
fn no_op_apply_keeps_the_entry_time() {
    let live = stored(fm().apply(None, &deployment(1, "nginx:1"), "kubectl", false, T0).unwrap());
    let again = fm().apply(Some(live.clone()), &deployment(1, "nginx:1"), "kubectl", false, T1).unwrap();
    assert_eq!(entry(&again, "kubectl").unwrap()["time"], T0);
}

#[test]
fn server_owned_metadata_is_never_owned() {
    let mut obj = deployment(1, "nginx:1");
    obj["metadata"]["uid"] = json!("x");
    obj["metadata"]["resourceVersion"] = json!("5");
    fm().update(None, &mut obj, "m", T0);
    let fields = &entry(&obj, "m").unwrap()["fieldsV1"]["f:metadata"];
    assert!(fields.get("f:uid").is_none() && fields.get("f:name").is_none());
    assert!(fields.get("f:resourceVersion").is_none() && fields.get("f:namespace").is_none());
    assert!(fields.get("f:labels").is_some());
}

#[test]
fn managed_fields_sent_on_update_reset_or_kept() {
    let live = stored(fm().apply(None, &deployment(1, "nginx:1"), "kubectl", false, T0).unwrap());
    // Not sent: the live ones carry on.
    let mut new = live.clone();
    new["metadata"].as_object_mut().unwrap().remove("managedFields");
    new["spec"]["replicas"] = json!(2);
    fm().update(Some(&live), &mut new, "edit", T1);
    assert!(entry(&new, "kubectl").is_some() && entry(&new, "edit").is_some());
    // `[]` and `[{}]` clear them.
    for reset in [json!([]), json!([{}])] {
        let mut new = live.clone();
        new["metadata"]["managedFields"] = reset;
        new["spec"]["replicas"] = json!(2);
        fm().update(Some(&live), &mut new, "edit", T1);
        assert!(new.pointer("/metadata/managedFields").is_none(), "{new}");
    }
    // Invalid ones are ignored: the live ones are used.
    let mut new = live.clone();
    new["metadata"]["managedFields"] = json!([{"manager": "x", "operation": "Nope"}]);
    fm().update(Some(&live), &mut new, "edit", T1);
    assert!(entry(&new, "kubectl").is_some() && entry(&new, "x").is_none());
    // Valid ones replace them.
    let mut new = live.clone();
    new["metadata"]["managedFields"] = json!([{"manager": "mine", "operation": "Update", "apiVersion": "apps/v1",
        "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:paused": {}}}}]);
    fm().update(Some(&live), &mut new, "edit", T1);
    assert!(entry(&new, "mine").is_some() && entry(&new, "kubectl").is_none());
}

#[test]
fn untracked_objects_stay_untracked_on_update_and_get_before_first_apply() {
    let live = stored(deployment(1, "nginx:1"));
    let mut new = live.clone();
    new["spec"]["replicas"] = json!(2);
    fm().update(Some(&live), &mut new, "edit", T1);
    assert!(new.pointer("/metadata/managedFields").is_none());

    let err = fm()
        .apply(Some(live.clone()), &deployment(4, "nginx:1"), "kubectl", false, T1)
        .unwrap_err()
        .to_status();
    assert_eq!(
        err.message,
        r#"Apply failed with 1 conflict: conflict with "before-first-apply" using apps/v1: .spec.replicas"#
    );
    let out = fm().apply(Some(live.clone()), &deployment(1, "nginx:1"), "kubectl", false, T1).unwrap();
    assert!(entry(&out, "before-first-apply").is_some());
    assert!(owns(&out, "kubectl", &["spec", "replicas"]));
}

#[test]
fn update_managers_are_capped_into_ancient_changes() {
    let mut live = stored(fm().apply(None, &deployment(1, "nginx:1"), "kubectl", false, T0).unwrap());
    for i in 0..12 {
        let mut new = live.clone();
        new["metadata"]["annotations"] = json!({ format!("a{i}"): "x" });
        let mut anns = live["metadata"].get("annotations").cloned().unwrap_or(json!({}));
        anns[format!("a{i}")] = json!("x");
        new["metadata"]["annotations"] = anns;
        fm().update(Some(&live), &mut new, &format!("m{i:02}"), &format!("2024-01-01T00:00:{:02}Z", i + 1));
        live = stored(new);
    }
    let e = entries(&live);
    let updaters: Vec<&str> =
        e.iter().filter(|x| x["operation"] == "Update").map(|x| x["manager"].as_str().unwrap()).collect();
    assert_eq!(updaters.len(), 10, "{updaters:?}");
    assert!(updaters.contains(&"ancient-changes"));
    assert!(!updaters.contains(&"m00") && !updaters.contains(&"m02") && updaters.contains(&"m11"));
    assert!(owns(&live, "ancient-changes", &["metadata", "annotations", "a0"]));
}

#[test]
fn kubectl_takes_over_what_client_side_apply_set() {
    // A client-side applied object: the annotation and a kubectl-client-side-apply entry.
    let mut obj = deployment(3, "nginx:1");
    let last = serde_json::to_string(&deployment(3, "nginx:1")).unwrap();
    obj["metadata"]["annotations"] = json!({ LAST_APPLIED: last });
    fm().update(None, &mut obj, "kubectl-client-side-apply", T0);
    let live = stored(obj);
    // Same values: no conflict, and the annotation now follows the applied configuration.
    let mut cfg = deployment(3, "nginx:2");
    cfg["metadata"]["annotations"] = json!({});
    cfg["metadata"].as_object_mut().unwrap().remove("annotations");
    let out = fm().apply(Some(live.clone()), &cfg, "kubectl", false, T1).unwrap();
    assert_eq!(out["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:2");
    let ann = out["metadata"]["annotations"][LAST_APPLIED].as_str().unwrap();
    assert!(ann.ends_with('\n') && ann.contains("nginx:2"), "{ann}");
    // Another manager gets no such pass.
    assert!(fm().apply(Some(live.clone()), &cfg, "someone", false, T1).is_err());
    // A field changed since the annotation was written is a real conflict.
    let mut changed = live.clone();
    changed["spec"]["replicas"] = json!(9);
    let cfg9 = deployment(4, "nginx:1");
    let err = fm().apply(Some(changed.clone()), &cfg9, "kubectl", false, T1).unwrap_err().to_status();
    assert!(err.message.contains(".spec.replicas"), "{}", err.message);
}

#[test]
fn apply_checks_type_meta_and_schema() {
    let mut wrong = deployment(1, "x");
    wrong["apiVersion"] = json!("apps/v1beta1");
    assert_eq!(
        fm().apply(None, &wrong, "k", false, T0).unwrap_err(),
        ApplyError::BadRequest("invalid object type: apps/v1beta1, Kind=Deployment".into())
    );
    let mut bad = deployment(1, "x");
    bad["spec"]["replicas"] = json!("three");
    let e = fm().apply(None, &bad, "k", false, T0).unwrap_err().to_status();
    assert_eq!(e.code, 500);
    assert_eq!(
        e.message,
        "failed to create typed patch object (default/web; apps/v1, Kind=Deployment): .spec.replicas: expected numeric (int or float), got string"
    );
    let mut unknown = deployment(1, "x");
    unknown["spec"]["bogus"] = json!(1);
    let e = fm().apply(None, &unknown, "k", false, T0).unwrap_err().to_status();
    assert!(e.message.ends_with(".spec.bogus: field not declared in schema"), "{}", e.message);
    let mut dup = deployment(1, "x");
    dup["spec"]["template"]["spec"]["containers"] = json!([{"name": "a"}, {"name": "a"}]);
    let e = fm().apply(None, &dup, "k", false, T0).unwrap_err().to_status();
    assert!(
        e.message.ends_with(r#".spec.template.spec.containers: duplicate entries for key [name="a"]"#),
        "{}",
        e.message
    );
    let mut with_mf = deployment(1, "x");
    with_mf["metadata"]["managedFields"] = json!([]);
    assert_eq!(
        fm().apply(None, &with_mf, "k", false, T0).unwrap_err(),
        ApplyError::BadRequest("metadata.managedFields must be nil".into())
    );
}

#[test]
fn status_subresource_entries_and_reset_fields() {
    let live = stored(fm().apply(None, &deployment(1, "nginx:1"), "kubectl", false, T0).unwrap());
    let status_fm =
        FieldManager::for_kind("apps", "v1", "Deployment", "status").with_reset_fields(&[&["spec"]]);
    let mut new = live.clone();
    new["status"] = json!({"replicas": 1});
    status_fm.update(Some(&live), &mut new, "kube-controller-manager", T1);
    let e = entry(&new, "kube-controller-manager").unwrap();
    assert_eq!(e["subresource"], "status");
    // The stored object has the (empty) status Go always writes: no ".".
    assert_eq!(e["fieldsV1"], json!({"f:status": {"f:replicas": {}}}));
    // Status sent to the main resource is not owned.
    let mut cfg = deployment(1, "nginx:1");
    cfg["status"] = json!({"replicas": 5});
    let out = fm().apply(Some(live.clone()), &cfg, "kubectl", false, T1).unwrap();
    assert!(!owns(&out, "kubectl", &["status", "replicas"]));
}

#[test]
fn deduced_schema_for_unknown_kinds() {
    let fm = FieldManager::for_kind("example.com", "v1", "Widget", "");
    let cfg = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
        "spec": {"size": 1, "tags": ["a"], "nested": {"x": 1}}});
    let obj = fm.apply(None, &cfg, "kubectl", false, T0).unwrap();
    let e = entry(&obj, "kubectl").unwrap();
    // Every map granular, every list atomic; apiVersion, kind and metadata.name stripped.
    assert_eq!(
        e["fieldsV1"],
        json!({"f:spec": {".": {}, "f:nested": {".": {}, "f:x": {}}, "f:size": {}, "f:tags": {}}})
    );
}

#[test]
fn field_manager_names() {
    assert_eq!(manager_from_user_agent("kubectl/v1.33.0 (linux/amd64) kubernetes/abc"), "kubectl");
    assert_eq!(manager_from_user_agent("python\u{7}-client"), "python-client");
    assert_eq!(manager_from_user_agent(&"a".repeat(300)).len(), 128);
    assert!(validate_field_manager("kubectl").is_empty());
    let causes = validate_field_manager(&"a".repeat(129));
    assert_eq!(causes[0].message, "Too long: may not be more than 128 bytes");
    let causes = validate_field_manager("a\u{7}");
    assert_eq!(causes[0].message, r#"Invalid value: "a\a": invalid character U+0007 (at position 1)"#);
}

/// The create path (one walk) records exactly what the general path does from the zero
/// value: built-in types with list-maps, sets, atomic lists, repeated keys, empty and null
/// values, reset fields, and a kind only the deduced schema knows.
#[test]
fn create_records_what_an_update_from_nothing_does() {
    let mut odd = deployment(2, "nginx:1");
    odd["metadata"]["annotations"] = json!({});
    odd["metadata"]["finalizers"] = json!(["a", "b", "a"]);
    odd["spec"]["template"]["spec"]["containers"] = json!([
        {"name": "a", "image": "x", "ports": [{"containerPort": 80, "protocol": "TCP"}], "args": ["1", "2"]},
        {"name": "b", "image": "y", "env": [{"name": "E", "value": "1"}, {"name": "E", "value": "2"}]},
        {"name": "a", "image": "z"},
        {"image": "no name"}
    ]);
    odd["spec"]["strategy"] = json!(null);
    odd["spec"]["template"]["spec"]["nodeSelector"] = json!({"k": "v"});
    odd["status"] = json!({"replicas": 1});
    let mut odd_reset = odd.clone();
    odd_reset["spec"]["template"]["metadata"] = json!({"labels": {"app": "x"}});
    let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "labels": {"a": "b"}}, "data": {"k": "v", "e": ""}, "binaryData": {}});
    let unknown = json!({"apiVersion": "example.com/v1", "kind": "Thing",
        "metadata": {"name": "t"}, "spec": {"list": [1, 2], "map": {"x": {"y": [{"z": 1}]}}}});
    let cases = [
        (fm(), deployment(1, "nginx:1")),
        (fm(), odd.clone()),
        (FieldManager::for_kind("apps", "v1", "Deployment", ""), odd),
        (FieldManager::for_kind("", "v1", "ConfigMap", ""), config_map),
        (FieldManager::for_kind("example.com", "v1", "Thing", ""), unknown),
        // Reset fields (a main resource's status) are left out of the fast path's entry too.
        (fm().with_reset_fields(&[&["status"], &["spec", "template", "metadata"]]), odd_reset),
    ];
    for (fm, obj) in cases {
        // The create path is the one taken (else both sides below are the general path).
        assert!(crate::typed::compare::added_to_empty(fm.schema, fm.root, &obj).is_some(), "{obj}");
        let mut fast = obj.clone();
        fm.update(None, &mut fast, "creator", T0);
        let mut general = obj.clone();
        set_managed_fields(&mut general, None);
        let managed = fm.record_update(&fm.zero(), &general, Managed::default(), "creator", T0);
        set_managed_fields(&mut general, managed.into_entries());
        assert_eq!(entries(&fast), entries(&general), "{obj}");
        assert_eq!(fast, general);
        assert!(!entries(&fast).is_empty(), "{obj}");
    }
}
