//! `managedFields` as kube-apiserver records them beyond a client's own writes (issue #20's
//! differential run found each of these): a create is recorded before the create strategy
//! sets what it sets, the empty object an update is compared with is Go's, and the server's
//! own controllers' writes carry their managers (kube-controller-manager, kube-apiserver,
//! clusterrole-aggregation-controller, validatingadmissionpolicy-status). Real kubectl 1.33.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::more::{retry, Cluster};
use support::{Kubectl, Server};

fn get(k: &Kubectl, args: &[&str]) -> Value {
    support::get_json_managed(k, args)
}

/// The fields of the entry of `manager` with `operation` (and `subresource`), if any.
fn fields<'a>(obj: &'a Value, manager: &str, operation: &str, subresource: &str) -> Option<&'a Value> {
    obj["metadata"]["managedFields"]
        .as_array()?
        .iter()
        .find(|e| {
            e["manager"] == manager
                && e["operation"] == operation
                && e["subresource"].as_str().unwrap_or_default() == subresource
        })
        .map(|e| &e["fieldsV1"])
}

fn apply(server: &Server, k: &Kubectl, name: &str, yaml: &str) {
    let path = server.file(name, yaml);
    k.ok(&["create", "-f", path.to_str().unwrap_or_default()]);
}

#[test]
fn creates_are_recorded_before_the_create_strategy() {
    let server = Server::start();
    let Some(k) = support::kubectl_or_missing(&server, "1.33") else { return };

    // A Namespace: its name label is a default (recorded), its `kubernetes` finalizer comes
    // from the create strategy (not recorded) and stays on an update that leaves it out.
    k.ok(&["create", "namespace", "team-a"]);
    let ns = get(&k, &["namespace", "team-a"]);
    let creator = fields(&ns, "kubectl-create", "Update", "").unwrap_or_else(|| panic!("{ns}"));
    assert!(creator.pointer("/f:metadata/f:labels/f:kubernetes.io~1metadata.name").is_some(), "{creator}");
    assert!(creator.get("f:spec").is_none(), "{creator}");
    assert_eq!(ns["spec"]["finalizers"], serde_json::json!(["kubernetes"]));
    let mut updated = ns.clone();
    updated["spec"] = serde_json::json!({});
    updated["metadata"]["labels"]["team"] = "a".into();
    let path = server.file("ns.json", &updated.to_string());
    k.ok(&["replace", "-f", path.to_str().unwrap_or_default()]);
    assert_eq!(get(&k, &["namespace", "team-a"])["spec"]["finalizers"], serde_json::json!(["kubernetes"]));

    // A Job: the selector and pod labels it generates are not the creator's fields.
    apply(
        &server,
        &k,
        "job.yaml",
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: once, namespace: team-a}\nspec:\n  template:\n    \
         spec:\n      restartPolicy: Never\n      containers: [{name: c, image: busybox}]\n",
    );
    let job = get(&k, &["-n", "team-a", "job", "once"]);
    let creator = fields(&job, "kubectl-create", "Update", "").unwrap_or_else(|| panic!("{job}"));
    assert!(job["spec"]["selector"]["matchLabels"].get("batch.kubernetes.io/controller-uid").is_some());
    assert!(creator.pointer("/f:spec/f:selector").is_none(), "{creator}");
    assert!(creator.pointer("/f:spec/f:template/f:metadata/f:labels/f:job-name").is_none(), "{creator}");
    // Defaults are the creator's, as kube's decoding sets them.
    assert!(creator.pointer("/f:spec/f:backoffLimit").is_some(), "{creator}");

    // A ReplicationController without replicas: the default 1 is recorded (Go's empty object
    // has no replicas to compare it with).
    apply(
        &server,
        &k,
        "rc.yaml",
        "apiVersion: v1\nkind: ReplicationController\nmetadata: {name: rc, namespace: team-a}\nspec:\n  \
         selector: {app: rc}\n  template:\n    metadata: {labels: {app: rc}}\n    spec:\n      containers: \
         [{name: c, image: busybox}]\n",
    );
    let rc = get(&k, &["-n", "team-a", "rc", "rc"]);
    assert_eq!(rc["spec"]["replicas"], 1);
    let creator = fields(&rc, "kubectl-create", "Update", "").unwrap_or_else(|| panic!("{rc}"));
    assert!(creator.pointer("/f:spec/f:replicas").is_some(), "{creator}");
}

#[test]
fn the_servers_own_writers_have_entries() {
    let server = Server::start();
    let Some(k) = support::kubectl_or_missing(&server, "1.33") else { return };

    // The resource quota controller's status write.
    k.ok(&["create", "quota", "q", "--hard=pods=10"]);
    let (ok, out) = retry(Duration::from_secs(20), || {
        let q = get(&k, &["quota", "q"]);
        let f = fields(&q, "kube-controller-manager", "Update", "status").cloned();
        (f.is_some_and(|f| f.pointer("/f:status/f:used/f:pods").is_some()), q.to_string())
    });
    assert!(ok, "no kube-controller-manager status entry: {out}");

    // The CRD status (names accepted, established) written as kube-apiserver.
    let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: \
               gizmos.example.com}\nspec:\n  group: example.com\n  names: {plural: gizmos, kind: Gizmo}\n  \
               scope: Namespaced\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema: \
               {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}\n";
    apply(&server, &k, "crd.yaml", crd);
    let (ok, out) = retry(Duration::from_secs(20), || {
        let c = get(&k, &["crd", "gizmos.example.com"]);
        let f = fields(&c, "kube-apiserver", "Update", "status").cloned();
        (f.is_some_and(|f| f.pointer("/f:status/f:acceptedNames").is_some()), c.to_string())
    });
    assert!(ok, "no kube-apiserver status entry on the CRD: {out}");
    let c = get(&k, &["crd", "gizmos.example.com"]);
    let creator = fields(&c, "kubectl-create", "Update", "").unwrap_or_else(|| panic!("{c}"));
    // The conversion strategy and list kind are defaults (recorded); `names` was in Go's
    // empty CRD already, so it is no new node of its own.
    assert!(creator.pointer("/f:spec/f:conversion/f:strategy").is_some(), "{creator}");
    assert!(creator.pointer("/f:spec/f:names/f:listKind").is_some(), "{creator}");
    assert!(creator.pointer("/f:spec/f:names/.").is_none(), "{creator}");

    // The clusterrole aggregation controller applies the rules it aggregates.
    k.ok(&["create", "clusterrole", "gizmo-reader", "--verb=get", "--resource=gizmos.example.com"]);
    k.ok(&["label", "clusterrole", "gizmo-reader", "rbac.example.com/aggregate-to-reader=true"]);
    apply(
        &server,
        &k,
        "agg.yaml",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: reader}\naggregationRule:\n  \
         clusterRoleSelectors:\n  - matchLabels: {rbac.example.com/aggregate-to-reader: \"true\"}\nrules: []\n",
    );
    let (ok, out) = retry(Duration::from_secs(20), || {
        let r = get(&k, &["clusterrole", "reader"]);
        let f = fields(&r, "clusterrole-aggregation-controller", "Apply", "").cloned();
        let aggregated = r["rules"].as_array().is_some_and(|a| !a.is_empty());
        (aggregated && f.is_some_and(|f| f.get("f:rules").is_some()), r.to_string())
    });
    assert!(ok, "no clusterrole-aggregation-controller entry: {out}");
}
