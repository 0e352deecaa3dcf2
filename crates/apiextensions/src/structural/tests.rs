//! A custom resource through a compiled version: validation in kube's order, pruning with
//! the dropped paths, defaulting, schema queries.

use super::*;
use crate::path::error_string;
use serde_json::json;

fn widget() -> Structural {
    let crd = json!({"spec": {"group": "example.com", "scope": "Namespaced",
    "names": {"kind": "Widget", "listKind": "WidgetList", "plural": "widgets"},
    "versions": [{"name": "v1", "served": true, "storage": true,
        "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}},
        "schema": {"openAPIV3Schema": {"type": "object", "properties": {
            "spec": {"type": "object", "properties": {
                "replicas": {"type": "integer", "default": 1},
                "color": {"type": "string", "enum": ["red", "blue"]},
                "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["port"],
                          "items": {"type": "object", "required": ["port"], "properties": {"port": {"type": "integer"}}}},
                "template": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true}
            }},
            "status": {"type": "object", "properties": {"replicas": {"type": "integer", "maximum": 10}}}
        }}}}]}});
    Structural::from_crd(&crd, "v1").unwrap_or_else(|e| panic!("{e}"))
}

fn errs(s: &Structural, obj: &Value) -> Vec<String> {
    s.validate(obj, None).iter().map(error_string).collect()
}

#[test]
fn validates_in_kube_order() {
    let s = widget();
    assert_eq!(
        errs(&s, &json!({"apiVersion": "example.com/v2", "kind": "Widget"})),
        vec![r#"apiVersion: Invalid value: "example.com/v2": must be example.com/v1"#]
    );
    let obj = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "Bad_Name"},
        "spec": {"replicas": -1, "color": "pink", "tags": ["a", "a"], "ports": [{"port": 80}, {"port": 80}],
                 "template": {"kind": "Pod", "metadata": {"name": "p"}}}});
    assert_eq!(
        errs(&s, &obj),
        vec![
            r#"metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"#,
            r#"spec.color: Unsupported value: "pink": supported values: "red", "blue""#,
            ".spec.replicas: Invalid value: -1: should be a non-negative integer",
            "spec.template.apiVersion: Required value",
            r#"spec.tags[1]: Duplicate value: "a""#,
            r#"spec.ports[1]: Duplicate value: {"port":80}"#,
        ]
    );
}

/// A custom resource's own labels and annotations are checked as any object's (Kubernetes'
/// e2e CRDValidationRatcheting tests count on an invalid label being refused).
#[test]
fn labels_and_annotations_are_validated() {
    let s = widget();
    let obj = json!({"apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w", "labels": {"#bad": ">x"}, "annotations": {"ok/fine": "v"}}});
    let got = errs(&s, &obj);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        got[0].starts_with(r##"metadata.labels: Invalid value: "#bad": name part must consist of"##),
        "{got:?}"
    );
    assert!(got[1].starts_with(r#"metadata.labels: Invalid value: ">x": a valid label must be"#), "{got:?}");
    let updated: Vec<String> = s.validate(&obj, Some(&obj)).iter().map(error_string).collect();
    assert_eq!(updated, got, "on update too");
}

#[test]
fn status_updates_validate_the_status_schema() {
    let s = widget();
    let old = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"replicas": 1}});
    let mut new = old.clone();
    new["status"] = json!({"replicas": 15});
    let got: Vec<String> = s.validate_status(&new, &old).iter().map(error_string).collect();
    assert_eq!(
        got,
        vec!["status.replicas: Invalid value: 15: replicas in body should be less than or equal to 10"]
    );
}

#[test]
fn prunes_and_defaults() {
    let s = widget();
    let mut obj = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "bogus": 1},
        "spec": {"extra": true, "color": null, "template": {"apiVersion": "v1", "kind": "Pod", "any": 1}}});
    let dropped = s.prune(&mut obj);
    assert_eq!(dropped, vec!["metadata.bogus", "spec.extra"]);
    s.default(&mut obj);
    assert_eq!(
        obj,
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
               "spec": {"replicas": 1, "template": {"apiVersion": "v1", "kind": "Pod", "any": 1}}})
    );
}

#[test]
fn node_queries_for_apply() {
    let s = widget();
    let ports = s.node_at(&[Step::Field("spec"), Step::Field("ports")]).unwrap_or_default();
    assert_eq!(ports.list_type.as_deref(), Some("map"));
    assert_eq!(ports.list_map_keys, vec!["port"]);
    let spec = s.node_at(&[Step::Field("spec")]).unwrap_or_default();
    assert_eq!((spec.type_.as_str(), spec.map_type.as_deref()), ("object", Some("granular")));
    let port = s
        .node_at(&[Step::Field("spec"), Step::Field("ports"), Step::Item, Step::Field("port")])
        .unwrap_or_default();
    assert_eq!(port.type_, "integer");
    assert!(s.node_at(&[Step::Field("spec"), Step::Field("nope")]).is_none());
    assert!(s.node_at(&[Step::Field("spec"), Step::Field("template")]).is_some_and(|n| n.embedded_resource));
}

#[test]
fn cel_rules_run_after_schema_validation() {
    let crd = json!({"spec": {"group": "example.com", "scope": "Namespaced", "names": {"kind": "Widget"},
    "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object", "properties": {
        "spec": {"type": "object", "x-kubernetes-validations": [{"rule": "self.min <= self.max", "message": "min must not exceed max"}],
                 "properties": {"min": {"type": "integer"}, "max": {"type": "integer"}, "mode": {"type": "string", "enum": ["a"]}}}
    }}}}]}});
    let s = Structural::from_crd(&crd, "v1").unwrap_or_else(|e| panic!("{e}"));
    let obj = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"min": 5, "max": 1}});
    assert_eq!(errs(&s, &obj), vec![r#"spec: Invalid value: "object": min must not exceed max"#]);
    let mut blocked = obj.clone();
    blocked["spec"]["mode"] = json!("b");
    assert_eq!(
        errs(&s, &blocked),
        vec![
            r#"spec.mode: Unsupported value: "b": supported values: "a""#,
            "<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation",
        ]
    );
    let ok = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"min": 1, "max": 5}});
    assert!(errs(&s, &ok).is_empty());
}

/// The bench's Widget (no embedded resource) and a schema with one: the walks for embedded
/// objects are skipped only where there is none, with the same results as the full walks.
#[test]
fn walks_for_embedded_objects_are_skipped_only_without_them() {
    let bench: Value = serde_json::from_str(include_str!("../../../bench/data/widget-crd.json")).unwrap();
    let plain = || Structural::from_crd(&bench, "v1").unwrap();
    assert!(!plain().embedded_below);
    assert!(widget().embedded_below);
    let objects = [
        json!({"apiVersion": "bench.kubeward.io/v1", "kind": "Widget",
            "metadata": {"name": "w", "namespace": "n", "bogus": 1, "labels": {"a": "b"}, "generateName": 7},
            "spec": {"image": "x", "owner": "o", "minReplicas": 1, "maxReplicas": 2, "extra": {"metadata": 1},
                "env": {"metadata": "x"}, "ports": [{"name": "a", "port": 1, "metadata": {}}]}}),
        json!({"apiVersion": 5, "kind": ["Widget"], "metadata": "no", "spec": {"metadata": {"name": 1}}}),
        json!({"apiVersion": "bench.kubeward.io/v1", "kind": "Widget", "metadata": {"name": "Bad_Name", "uid": 3}}),
    ];
    for obj in objects {
        let (skipping, mut walking) = (plain(), plain());
        walking.embedded_below = true;
        let (mut a, mut b) = (obj.clone(), obj.clone());
        assert_eq!(skipping.prune(&mut a), walking.prune(&mut b), "{obj}");
        assert_eq!(a, b);
        assert_eq!(errs(&skipping, &obj), errs(&walking, &obj), "{obj}");
        assert_eq!(errs(&skipping, &a), errs(&walking, &a), "{a}");
    }
}
