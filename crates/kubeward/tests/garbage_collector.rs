//! The garbage collector through kubectl 1.33 (`kubectl delete --cascade=background|
//! foreground|orphan`): ConfigMaps and Secrets owned by a custom resource and by a
//! ConfigMap are deleted with their owner, a dependent with another owner only loses the
//! reference, a foreground owner waits for its blocking dependents (held by a finalizer of
//! their own), an orphaned owner's dependents stay without the reference, a cluster-scoped
//! owner's namespaced dependents go with it, an owner in another namespace counts as absent,
//! a dependency cycle deleted in the foreground does not block, and kube's per-kind default
//! (ReplicationControllers orphan) holds.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::more::Cluster;
use support::{eventually, get_json, Kubectl, Server};

const WAIT: Duration = Duration::from_secs(20);

const CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
"#;

fn apply(server: &Server, k: &Kubectl, name: &str, yaml: &str) {
    let path = server.file(name, yaml);
    k.ok(&["apply", "-f", path.to_str().unwrap_or_default()]);
}

fn uid(k: &Kubectl, args: &[&str]) -> String {
    let obj = get_json(k, args);
    obj["metadata"]["uid"].as_str().unwrap_or_else(|| panic!("no uid: {obj}")).to_string()
}

/// An ownerReferences entry (YAML flow) for an owner.
fn owner(api_version: &str, kind: &str, name: &str, uid: &str, block: bool) -> String {
    format!(
        "{{apiVersion: {api_version}, kind: {kind}, name: {name}, uid: {uid}, blockOwnerDeletion: {block}}}"
    )
}

fn configmap(ns: &str, name: &str, owners: &[String], finalizers: &[&str]) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {ns}\n  ownerReferences: [{}]\n  finalizers: [{}]\ndata: {{a: b}}\n",
        owners.join(", "),
        finalizers.join(", ")
    )
}

/// The object, or `None` once it is gone.
fn find(k: &Kubectl, args: &[&str]) -> Option<Value> {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "json", "--ignore-not-found"]);
    let out = k.ok(&all);
    (!out.stdout.trim().is_empty())
        .then(|| serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out}")))
}

#[track_caller]
fn gone(k: &Kubectl, args: &[&str]) {
    let done = eventually(WAIT, || find(k, args).is_none().then_some(()));
    assert!(done.is_some(), "{args:?} still exists: {:?}", find(k, args));
}

fn owner_uids(obj: &Value) -> Vec<String> {
    obj["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["uid"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn background_deletion_collects_dependents_of_a_custom_resource_and_a_configmap() {
    let server = Server::start();
    let Some(k) = support::kubectl_or_missing(&server, "1.33") else { return };
    apply(&server, &k, "crd.yaml", CRD);
    let established = eventually(WAIT, || {
        k.run(&["wait", "--for=condition=Established", "crd/gadgets.example.com", "--timeout=5s"])
            .ok()
            .then_some(())
    });
    assert!(established.is_some(), "the CRD was not established");
    let created = eventually(WAIT, || {
        let path = server.file(
            "gadget.yaml",
            "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g1, namespace: default}\n",
        );
        k.run(&["apply", "-f", path.to_str().unwrap_or_default()]).ok().then_some(())
    });
    assert!(created.is_some(), "the Gadget was not created");
    let g1 = uid(&k, &["gadget", "g1"]);
    apply(&server, &k, "keep.yaml", &configmap("default", "keep", &[], &[]));
    let keep = uid(&k, &["cm", "keep"]);

    let by_gadget = owner("example.com/v1", "Gadget", "g1", &g1, false);
    apply(&server, &k, "cm1.yaml", &configmap("default", "cm1", std::slice::from_ref(&by_gadget), &[]));
    apply(&server, &k, "secret1.yaml", &format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s1\n  namespace: default\n  ownerReferences: [{by_gadget}]\nstringData: {{a: b}}\n"
    ));
    let by_keep = owner("v1", "ConfigMap", "keep", &keep, false);
    apply(
        &server,
        &k,
        "shared.yaml",
        &configmap("default", "shared", &[by_gadget.clone(), by_keep.clone()], &[]),
    );
    // Owned by a ConfigMap, itself owning another: the chain goes.
    apply(&server, &k, "cm2.yaml", &configmap("default", "cm2", std::slice::from_ref(&by_gadget), &[]));
    let cm2 = uid(&k, &["cm", "cm2"]);
    apply(
        &server,
        &k,
        "cm3.yaml",
        &configmap("default", "cm3", &[owner("v1", "ConfigMap", "cm2", &cm2, false)], &[]),
    );

    k.ok(&["delete", "gadget", "g1", "--cascade=background"]);
    gone(&k, &["cm", "cm1"]);
    gone(&k, &["secret", "s1"]);
    gone(&k, &["cm", "cm2"]);
    gone(&k, &["cm", "cm3"]);
    // A dependent with an owner left only loses the dangling reference.
    let left = eventually(WAIT, || {
        let shared = find(&k, &["cm", "shared"])?;
        (owner_uids(&shared) == vec![keep.clone()]).then_some(())
    });
    assert!(left.is_some(), "shared: {:?}", find(&k, &["cm", "shared"]));

    // A dependent naming an owner that never existed (or is gone) is collected at once.
    let ghost = owner("v1", "ConfigMap", "ghost", "00000000-0000-0000-0000-000000000001", false);
    apply(&server, &k, "orphaned.yaml", &configmap("default", "orphaned", &[ghost], &[]));
    gone(&k, &["cm", "orphaned"]);
    // Deleting the owner with no policy: background, the kind's default.
    k.ok(&["delete", "cm", "keep"]);
    gone(&k, &["cm", "shared"]);
}

#[test]
fn foreground_deletion_waits_for_blocking_dependents() {
    let server = Server::start();
    let Some(k) = support::kubectl_or_missing(&server, "1.33") else { return };
    apply(&server, &k, "owner.yaml", &configmap("default", "owner", &[], &[]));
    let o = uid(&k, &["cm", "owner"]);
    // Held by a finalizer of its own, so the owner must wait.
    apply(
        &server,
        &k,
        "held.yaml",
        &configmap("default", "held", &[owner("v1", "ConfigMap", "owner", &o, true)], &["example.com/hold"]),
    );
    apply(
        &server,
        &k,
        "free.yaml",
        &configmap("default", "free", &[owner("v1", "ConfigMap", "owner", &o, false)], &[]),
    );

    k.ok(&["delete", "cm", "owner", "--cascade=foreground", "--wait=false"]);
    let marked = get_json(&k, &["cm", "owner"]);
    assert!(marked["metadata"]["deletionTimestamp"].is_string(), "{marked}");
    assert_eq!(marked["metadata"]["finalizers"], serde_json::json!(["foregroundDeletion"]), "{marked}");
    gone(&k, &["cm", "free"]);
    let held = eventually(WAIT, || {
        find(&k, &["cm", "held"]).filter(|h| h["metadata"]["deletionTimestamp"].is_string())
    });
    assert!(held.is_some(), "the blocking dependent was not deleted");
    // The owner stays while its blocking dependent does.
    std::thread::sleep(Duration::from_secs(2));
    assert!(find(&k, &["cm", "owner"]).is_some(), "the owner went before its blocking dependent");
    k.ok(&["patch", "cm", "held", "--type=merge", "-p", r#"{"metadata":{"finalizers":null}}"#]);
    gone(&k, &["cm", "held"]);
    gone(&k, &["cm", "owner"]);
}

#[test]
fn orphan_deletion_keeps_dependents_without_the_reference() {
    let server = Server::start();
    let Some(k) = support::kubectl_or_missing(&server, "1.33") else { return };
    apply(&server, &k, "owner.yaml", &configmap("default", "owner", &[], &[]));
    let o = uid(&k, &["cm", "owner"]);
    apply(&server, &k, "other.yaml", &configmap("default", "other", &[], &[]));
    let other = uid(&k, &["cm", "other"]);
    apply(
        &server,
        &k,
        "d1.yaml",
        &configmap("default", "d1", &[owner("v1", "ConfigMap", "owner", &o, true)], &[]),
    );
    apply(
        &server,
        &k,
        "d2.yaml",
        &configmap(
            "default",
            "d2",
            &[owner("v1", "ConfigMap", "owner", &o, false), owner("v1", "ConfigMap", "other", &other, false)],
            &[],
        ),
    );

    k.ok(&["delete", "cm", "owner", "--cascade=orphan"]);
    gone(&k, &["cm", "owner"]);
    let d1 = get_json(&k, &["cm", "d1"]);
    assert!(owner_uids(&d1).is_empty(), "{d1}");
    assert_eq!(owner_uids(&get_json(&k, &["cm", "d2"])), vec![other]);
    // Nothing collects them later either.
    std::thread::sleep(Duration::from_secs(2));
    assert!(find(&k, &["cm", "d1"]).is_some());

    // A ReplicationController orphans by default (kube's default for core/v1), through the
    // API without a policy.
    let rc = "apiVersion: v1\nkind: ReplicationController\nmetadata: {name: rc, namespace: default}\nspec:\n  replicas: 0\n  selector: {app: rc}\n  template:\n    metadata: {labels: {app: rc}}\n    spec: {containers: [{name: c, image: busybox}]}\n";
    apply(&server, &k, "rc.yaml", rc);
    let rc_uid = uid(&k, &["rc", "rc"]);
    apply(
        &server,
        &k,
        "rcdep.yaml",
        &configmap("default", "rcdep", &[owner("v1", "ReplicationController", "rc", &rc_uid, false)], &[]),
    );
    let out = server.admin_curl("/api/v1/namespaces/default/replicationcontrollers/rc", &["-X", "DELETE"]);
    assert_eq!(out.json()["metadata"]["finalizers"], serde_json::json!(["orphan"]), "{}", out.json());
    gone(&k, &["rc", "rc"]);
    assert!(owner_uids(&get_json(&k, &["cm", "rcdep"])).is_empty());
}

#[test]
fn cluster_scoped_owners_other_namespaces_and_cycles() {
    let server = Server::start();
    let Some(k) = support::kubectl_or_missing(&server, "1.33") else { return };
    // A cluster-scoped owner of a namespaced dependent.
    k.ok(&["create", "clusterrole", "gc-owner", "--verb=get", "--resource=pods"]);
    let role = uid(&k, &["clusterrole", "gc-owner"]);
    apply(
        &server,
        &k,
        "by-role.yaml",
        &configmap(
            "default",
            "by-role",
            &[owner("rbac.authorization.k8s.io/v1", "ClusterRole", "gc-owner", &role, false)],
            &[],
        ),
    );
    std::thread::sleep(Duration::from_secs(1));
    assert!(find(&k, &["cm", "by-role"]).is_some(), "collected while its cluster-scoped owner exists");
    k.ok(&["delete", "clusterrole", "gc-owner"]);
    gone(&k, &["cm", "by-role"]);

    // A namespaced owner named from another namespace counts as absent.
    k.ok(&["create", "namespace", "elsewhere"]);
    apply(&server, &k, "there.yaml", &configmap("default", "there", &[], &[]));
    let there = uid(&k, &["cm", "there"]);
    apply(
        &server,
        &k,
        "cross.yaml",
        &configmap("elsewhere", "cross", &[owner("v1", "ConfigMap", "there", &there, false)], &[]),
    );
    gone(&k, &["cm", "cross", "-n", "elsewhere"]);
    assert!(find(&k, &["cm", "there"]).is_some());

    // a -> b -> c -> a, every reference blocking: a foreground delete of one ends them all.
    for name in ["a", "b", "c"] {
        apply(&server, &k, &format!("{name}.yaml"), &configmap("default", name, &[], &[]));
    }
    let (a, b, c) = (uid(&k, &["cm", "a"]), uid(&k, &["cm", "b"]), uid(&k, &["cm", "c"]));
    let set_owner = |name: &str, owner_name: &str, owner_uid: &str| {
        let patch = format!(
            r#"{{"metadata":{{"ownerReferences":[{{"apiVersion":"v1","kind":"ConfigMap","name":"{owner_name}","uid":"{owner_uid}","blockOwnerDeletion":true}}]}}}}"#
        );
        k.ok(&["patch", "cm", name, "--type=merge", "-p", &patch]);
    };
    set_owner("b", "a", &a);
    set_owner("c", "b", &b);
    set_owner("a", "c", &c);
    k.ok(&["delete", "cm", "a", "--cascade=foreground", "--wait=false"]);
    for name in ["a", "b", "c"] {
        gone(&k, &["cm", name]);
    }
}
