//! MutatingAdmissionPolicies on custom resources (issue 18) through kubectl 1.33: a CRD's
//! objects mutated by ApplyConfiguration merged along the CRD's structural schema (a
//! list-map merged by its key, a granular map merged by key, an atomic list refused with
//! kube's message, the added item defaulted from the schema) and by JSONPatch (a `test`
//! that fails leaves the object alone, a field the schema lacks is pruned); and a
//! binding under `matchPolicy: Equivalent` applying to the other served version of the
//! CRD (the policy sees the version it matched, the object is stored at the request's),
//! while `Exact` does not. The expected objects are kube-apiserver 1.34's answers to the
//! same requests.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::more::{retry, Cluster};
use support::{get_json, kubectl_or_missing, Kubectl, Output, Server};

/// Two served versions with one schema; v1 is stored.
const CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: &schema
        type: object
        properties:
          spec:
            type: object
            properties:
              replicas: {type: integer}
              tier: {type: string}
              tags:
                type: array
                items: {type: string}
              ports:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [name]
                items:
                  type: object
                  required: [name]
                  properties:
                    name: {type: string}
                    port: {type: integer}
                    protocol: {type: string, default: TCP}
              settings:
                type: object
                additionalProperties: {type: string}
  - name: v1beta1
    served: true
    storage: false
    schema:
      openAPIV3Schema: *schema
"#;

fn create(server: &Server, k: &Kubectl, name: &str, yaml: &str) -> Output {
    let f = server.file(name, yaml);
    k.run(&["create", "-f", f.to_str().expect("utf-8")])
}

fn setup(server: &Server, k: &Kubectl) {
    create(server, k, "crd.yaml", CRD).assert_ok();
    let (ok, out) = retry(Duration::from_secs(10), || {
        let out =
            k.run(&["wait", "--for=condition=Established", "crd/widgets.stable.example.com", "--timeout=5s"]);
        (out.ok(), out.to_string())
    });
    assert!(ok, "the CRD was not established: {out}");
    k.ok(&["create", "namespace", "apps"]);
}

/// A policy over widget creates at `version` (`matchPolicy` as given) and its binding.
fn policy(name: &str, version: &str, match_policy: &str, mutations: &str) -> String {
    format!(
        r#"apiVersion: admissionregistration.k8s.io/v1beta1
kind: MutatingAdmissionPolicy
metadata:
  name: {name}
spec:
  reinvocationPolicy: Never
  matchConstraints:
    matchPolicy: {match_policy}
    resourceRules:
    - apiGroups: ["stable.example.com"]
      apiVersions: ["{version}"]
      operations: ["CREATE"]
      resources: ["widgets"]
  mutations:
{mutations}
---
apiVersion: admissionregistration.k8s.io/v1beta1
kind: MutatingAdmissionPolicyBinding
metadata:
  name: {name}
spec:
  policyName: {name}
"#
    )
}

/// A widget at `version` with an `http` port, a tag and a setting.
fn widget(name: &str, version: &str, replicas: i64) -> String {
    format!(
        r#"apiVersion: stable.example.com/{version}
kind: Widget
metadata:
  name: {name}
  namespace: apps
spec:
  replicas: {replicas}
  tags: [a]
  ports: [{{name: http, port: 80}}]
  settings: {{color: blue}}
"#
    )
}

/// Creates the widget with a server-side dry run until `done` holds of the answer (the
/// policy applies once the server's informer has it), then for real; the stored object.
fn create_widget(server: &Server, k: &Kubectl, yaml: &str, done: impl Fn(&Value) -> bool) -> Value {
    let f = server.file("widget.yaml", yaml);
    let path = f.to_str().expect("utf-8");
    let (ok, last) = retry(Duration::from_secs(10), || {
        let out = k.run(&["create", "-f", path, "--dry-run=server", "-o", "json"]);
        let v: Value = serde_json::from_str(&out.stdout).unwrap_or(Value::Null);
        (out.ok() && done(&v), out.to_string())
    });
    assert!(ok, "the policy did not apply: {last}");
    let out = k.run(&["create", "-f", path, "-o", "json"]);
    out.assert_ok();
    serde_json::from_str(&out.stdout).unwrap_or(Value::Null)
}

const MERGE_AND_PATCH: &str = r#"  - patchType: ApplyConfiguration
    applyConfiguration:
      expression: >
        Object{spec: Object.spec{
          ports: [Object.spec.ports{name: "metrics", port: 9090}],
          settings: {"managed-by": "policy"}
        }}
  - patchType: JSONPatch
    jsonPatch:
      expression: >
        [JSONPatch{op: "add", path: "/spec/tier", value: object.spec.replicas > 2 ? "large" : "small"},
         JSONPatch{op: "add", path: "/metadata/labels", value: {"matched": request.resource.version}}]
"#;

#[test]
fn a_crds_objects_are_merged_along_its_schema_and_patched() {
    let server = Server::start();
    let Some(k) = kubectl_or_missing(&server, "1.33") else { return };
    setup(&server, &k);
    create(&server, &k, "merge.yaml", &policy("widget-defaults", "v1", "Equivalent", MERGE_AND_PATCH))
        .assert_ok();
    let w = create_widget(&server, &k, &widget("big", "v1", 3), |w| w["spec"]["tier"].is_string());
    // The ports list-map merged by name (the new item defaulted from the schema), the
    // granular map merged by key, the atomic tags kept, the JSON patch's values.
    assert_eq!(
        w["spec"],
        json!({
            "ports": [
                {"name": "http", "port": 80, "protocol": "TCP"},
                {"name": "metrics", "port": 9090, "protocol": "TCP"}
            ],
            "replicas": 3,
            "settings": {"color": "blue", "managed-by": "policy"},
            "tags": ["a"],
            "tier": "large"
        }),
        "{w}"
    );
    assert_eq!(w["metadata"]["labels"], json!({"matched": "v1"}), "{w}");
    let stored = get_json(&k, &["widget", "big", "-n", "apps"]);
    assert_eq!(stored["spec"], w["spec"]);
    let small = create_widget(&server, &k, &widget("small", "v1", 1), |w| w["spec"]["tier"].is_string());
    assert_eq!(small["spec"]["tier"], "small", "{small}");

    // An atomic list is not merged: kube refuses to replace it from an apply configuration.
    k.ok(&["delete", "mutatingadmissionpolicy", "widget-defaults"]);
    let tags = "  - patchType: ApplyConfiguration\n    applyConfiguration:\n      expression: 'Object{spec: Object.spec{tags: [\"b\"]}}'\n";
    create(&server, &k, "tags.yaml", &policy("widget-tags", "v1", "Equivalent", tags)).assert_ok();
    let message = "policy 'widget-tags' with binding 'widget-tags' denied request: error applying patch: invalid ApplyConfiguration: may not mutate atomic arrays, maps or structs: .spec.tags";
    let f = server.file("atomic.yaml", &widget("atomic", "v1", 1));
    let (ok, last) = retry(Duration::from_secs(10), || {
        let out = k.run(&["create", "-f", f.to_str().expect("utf-8")]);
        (out.stderr.trim() == format!("The widgets \"atomic\" is invalid: : {message}"), out.to_string())
    });
    assert!(ok, "{last}");
}

#[test]
fn a_json_patch_test_that_fails_leaves_the_object_and_unknown_fields_are_pruned() {
    let server = Server::start();
    let Some(k) = kubectl_or_missing(&server, "1.33") else { return };
    setup(&server, &k);
    let patch = r#"  - patchType: JSONPatch
    jsonPatch:
      expression: >
        [JSONPatch{op: "test", path: "/spec/replicas", value: 3},
         JSONPatch{op: "add", path: "/spec/extra", value: "x"},
         JSONPatch{op: "add", path: "/spec/ports/-", value: {"name": "debug"}}]
"#;
    create(&server, &k, "extra.yaml", &policy("widget-extra", "v1", "Equivalent", patch)).assert_ok();
    let w = create_widget(&server, &k, &widget("three", "v1", 3), |w| {
        w["spec"]["ports"].as_array().is_some_and(|p| p.len() == 2)
    });
    // `extra` is not in the schema: pruned, as kube prunes a mutated custom resource.
    assert_eq!(
        w["spec"],
        json!({
            "ports": [
                {"name": "http", "port": 80, "protocol": "TCP"},
                {"name": "debug", "protocol": "TCP"}
            ],
            "replicas": 3,
            "settings": {"color": "blue"},
            "tags": ["a"]
        }),
        "{w}"
    );
    // The test fails for one replica: the patch is not applied, the request admitted.
    let out = create(&server, &k, "one.yaml", &widget("one", "v1", 1));
    out.assert_ok();
    let one = get_json(&k, &["widget", "one", "-n", "apps"]);
    assert_eq!(one["spec"]["ports"], json!([{"name": "http", "port": 80, "protocol": "TCP"}]), "{one}");
}

#[test]
fn equivalent_matches_the_other_served_version_and_exact_does_not() {
    let server = Server::start();
    let Some(k) = kubectl_or_missing(&server, "1.33") else { return };
    setup(&server, &k);
    // Written for v1 only; a v1beta1 create is the same object under Equivalent.
    create(&server, &k, "merge.yaml", &policy("widget-defaults", "v1", "Equivalent", MERGE_AND_PATCH))
        .assert_ok();
    let w = create_widget(&server, &k, &widget("beta", "v1beta1", 3), |w| w["spec"]["tier"].is_string());
    assert_eq!(w["apiVersion"], "stable.example.com/v1beta1", "{w}");
    // The policy saw the version it matched.
    assert_eq!(w["metadata"]["labels"], json!({"matched": "v1"}), "{w}");
    assert_eq!(w["spec"]["tier"], "large", "{w}");
    let ports: Vec<&str> =
        w["spec"]["ports"].as_array().into_iter().flatten().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(ports, ["http", "metrics"], "{w}");
    let stored = get_json(&k, &["widgets.v1beta1.stable.example.com", "beta", "-n", "apps"]);
    assert_eq!(stored["spec"], w["spec"]);
    assert_eq!(stored["apiVersion"], "stable.example.com/v1beta1");

    // Exact: a policy written for v1beta1 leaves v1 creates alone and changes v1beta1 ones.
    k.ok(&["delete", "mutatingadmissionpolicy", "widget-defaults"]);
    let tier = "  - patchType: JSONPatch\n    jsonPatch:\n      expression: '[JSONPatch{op: \"add\", path: \"/spec/tier\", value: \"exact-\" + request.resource.version}]'\n";
    create(&server, &k, "exact.yaml", &policy("widget-exact", "v1beta1", "Exact", tier)).assert_ok();
    let beta = create_widget(&server, &k, &widget("beta2", "v1beta1", 1), |w| w["spec"]["tier"].is_string());
    assert_eq!(beta["spec"]["tier"], "exact-v1beta1", "{beta}");
    create(&server, &k, "v1.yaml", &widget("plain", "v1", 1)).assert_ok();
    let plain = get_json(&k, &["widget", "plain", "-n", "apps"]);
    assert!(plain["spec"].get("tier").is_none(), "{plain}");
    // The same policy under Equivalent changes v1 creates too, at the version it matched.
    let yaml = policy("widget-exact", "v1beta1", "Equivalent", tier);
    let f = server.file("equivalent.yaml", &yaml);
    k.ok(&["replace", "-f", f.to_str().expect("utf-8")]);
    let v1 = create_widget(&server, &k, &widget("now", "v1", 1), |w| w["spec"]["tier"].is_string());
    assert_eq!(v1["spec"]["tier"], "exact-v1beta1", "{v1}");
    assert_eq!(v1["apiVersion"], "stable.example.com/v1", "{v1}");
}
