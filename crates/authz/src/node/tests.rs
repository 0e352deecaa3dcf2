use serde_json::json;

use super::*;

fn node_user(name: &str) -> UserInfo {
    UserInfo::new(format!("system:node:{name}"), vec![NODES_GROUP.into(), "system:authenticated".into()])
}

fn req(node: &str, verb: &str, group: &str, resource: &str, sub: &str, ns: &str, name: &str) -> Attributes {
    Attributes {
        user: node_user(node),
        verb: verb.into(),
        resource_request: true,
        api_group: group.into(),
        resource: resource.into(),
        subresource: sub.into(),
        namespace: ns.into(),
        name: name.into(),
        ..Default::default()
    }
}

fn get(node: &str, resource: &str, ns: &str, name: &str) -> Attributes {
    req(node, "get", "", resource, "", ns, name)
}

const NO_REL: &str = "no relationship found between node 'n1' and this object";

fn pod(ns: &str, name: &str, node: &str) -> Value {
    json!({
        "kind": "Pod",
        "metadata": {"namespace": ns, "name": name},
        "spec": {
            "nodeName": node,
            "serviceAccountName": "runner",
            "imagePullSecrets": [{"name": "pull"}],
            "containers": [{
                "name": "c",
                "env": [
                    {"name": "A", "valueFrom": {"secretKeyRef": {"name": "env-secret", "key": "k"}}},
                    {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "env-cm", "key": "k"}}}
                ],
                "envFrom": [{"secretRef": {"name": "from-secret"}}, {"configMapRef": {"name": "from-cm"}}]
            }],
            "initContainers": [{"name": "i", "envFrom": [{"secretRef": {"name": "init-secret"}}]}],
            "volumes": [
                {"name": "s", "secret": {"secretName": "vol-secret"}},
                {"name": "c", "configMap": {"name": "vol-cm"}},
                {"name": "p", "projected": {"sources": [{"secret": {"name": "proj-secret"}}, {"configMap": {"name": "proj-cm"}}]}},
                {"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
                {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}},
                {"name": "csi", "csi": {"driver": "d", "nodePublishSecretRef": {"name": "csi-secret"}}}
            ],
            "resourceClaims": [
                {"name": "gpu", "resourceClaimName": "shared-gpu"},
                {"name": "tpl", "resourceClaimTemplateName": "t"}
            ]
        },
        "status": {"resourceClaimStatuses": [{"name": "tpl", "resourceClaimName": "web-tpl-x1"}]}
    })
}

fn authz() -> NodeAuthorizer {
    let a = NodeAuthorizer::new();
    a.upsert(&pod("prod", "web", "n1")).unwrap();
    a.upsert(&json!({"kind": "PersistentVolume", "metadata": {"name": "pv-data"},
        "spec": {"claimRef": {"namespace": "prod", "name": "data"},
                 "csi": {"driver": "d", "nodeStageSecretRef": {"name": "stage-secret", "namespace": "storage"}},
                 "rbd": {"secretRef": {"name": "rbd-secret"}}}}))
        .unwrap();
    a.upsert(&json!({"kind": "VolumeAttachment", "metadata": {"name": "va-1"}, "spec": {"nodeName": "n1"}}))
        .unwrap();
    a.upsert(&json!({"kind": "ResourceSlice", "metadata": {"name": "slice-1"}, "spec": {"nodeName": "n1"}}))
        .unwrap();
    a
}

#[track_caller]
fn allowed(a: &NodeAuthorizer, attrs: &Attributes) {
    assert_eq!(a.authorize(attrs), Decision::Allow(String::new()), "{attrs:?}");
}

#[track_caller]
fn refused(a: &NodeAuthorizer, attrs: &Attributes, reason: &str) {
    assert_eq!(a.authorize(attrs), Decision::NoOpinion(reason.into()), "{attrs:?}");
}

#[test]
fn identity() {
    assert_eq!(node_identity(&node_user("n1")), Some("n1"));
    assert_eq!(node_identity(&UserInfo::new("system:node:n1", vec![])), None);
    assert_eq!(node_identity(&UserInfo::new("alice", vec![NODES_GROUP.into()])), None);
    let a = authz();
    // Not a node: no opinion, no reason.
    let mut attrs = get("n1", "secrets", "prod", "vol-secret");
    attrs.user = UserInfo::new("alice", vec![]);
    refused(&a, &attrs, "");
    attrs.user = UserInfo::new("system:node:", vec![NODES_GROUP.into()]);
    refused(&a, &attrs, "unknown node for user \"system:node:\"");
}

#[test]
fn secrets_and_configmaps_through_pods() {
    let a = authz();
    for s in ["pull", "env-secret", "from-secret", "init-secret", "vol-secret", "proj-secret", "csi-secret"] {
        allowed(&a, &get("n1", "secrets", "prod", s));
        allowed(&a, &req("n1", "watch", "", "secrets", "", "prod", s));
        refused(
            &a,
            &get("n2", "secrets", "prod", s),
            "no relationship found between node 'n2' and this object",
        );
    }
    for c in ["env-cm", "from-cm", "vol-cm", "proj-cm"] {
        allowed(&a, &req("n1", "list", "", "configmaps", "", "prod", c));
    }
    refused(&a, &get("n1", "secrets", "prod", "other"), NO_REL);
    refused(&a, &get("n1", "secrets", "dev", "vol-secret"), NO_REL);
    refused(
        &a,
        &req("n1", "update", "", "secrets", "", "prod", "vol-secret"),
        "can only read resources of this type",
    );
    refused(&a, &req("n1", "get", "", "secrets", "x", "prod", "vol-secret"), "cannot read subresource");
    refused(
        &a,
        &req("n1", "list", "", "secrets", "", "", ""),
        "can only read namespaced object of this type",
    );
    refused(&a, &req("n1", "list", "", "configmaps", "", "prod", ""), "No Object name found");
}

#[test]
fn claims_volumes_and_their_secrets() {
    let a = authz();
    allowed(&a, &get("n1", "persistentvolumeclaims", "prod", "data"));
    allowed(&a, &get("n1", "persistentvolumeclaims", "prod", "web-scratch"));
    allowed(&a, &get("n1", "persistentvolumes", "", "pv-data"));
    allowed(&a, &get("n1", "secrets", "storage", "stage-secret"));
    // A PV secret reference without a namespace takes the claim's.
    allowed(&a, &get("n1", "secrets", "prod", "rbd-secret"));
    refused(
        &a,
        &get("n2", "persistentvolumes", "", "pv-data"),
        "no relationship found between node 'n2' and this object",
    );
    refused(&a, &get("n1", "persistentvolumes", "", "pv-other"), NO_REL);
    refused(
        &a,
        &req("n1", "list", "", "persistentvolumes", "", "", ""),
        "can only get individual resources of this type",
    );
    refused(&a, &req("n1", "get", "", "persistentvolumes", "x", "", "pv-data"), "cannot get subresource");
    // PVC status: update and patch only.
    allowed(&a, &req("n1", "patch", "", "persistentvolumeclaims", "status", "prod", "data"));
    refused(
        &a,
        &req("n1", "get", "", "persistentvolumeclaims", "status", "prod", "data"),
        "can only get/update/patch this type",
    );
    refused(&a, &req("n1", "update", "", "persistentvolumeclaims", "status", "prod", "nope"), NO_REL);
    refused(
        &a,
        &req("n1", "update", "", "persistentvolumeclaims", "", "prod", "data"),
        "can only get individual resources of this type",
    );
    // Resource claims: named, and generated from a template (read from the pod status).
    allowed(&a, &req("n1", "get", "resource.k8s.io", "resourceclaims", "", "prod", "shared-gpu"));
    allowed(&a, &req("n1", "get", "resource.k8s.io", "resourceclaims", "", "prod", "web-tpl-x1"));
    refused(&a, &req("n1", "get", "resource.k8s.io", "resourceclaims", "", "prod", "t"), NO_REL);
    allowed(&a, &req("n1", "get", "storage.k8s.io", "volumeattachments", "", "", "va-1"));
    refused(
        &a,
        &req("n2", "get", "storage.k8s.io", "volumeattachments", "", "", "va-1"),
        "no relationship found between node 'n2' and this object",
    );
}

#[test]
fn service_account_tokens() {
    let a = authz();
    allowed(&a, &req("n1", "create", "", "serviceaccounts", "token", "prod", "runner"));
    refused(&a, &req("n1", "create", "", "serviceaccounts", "token", "prod", "default"), NO_REL);
    refused(
        &a,
        &req("n1", "get", "", "serviceaccounts", "", "prod", "runner"),
        "can only create tokens for individual service accounts",
    );
    refused(
        &a,
        &req("n1", "create", "", "serviceaccounts", "token", "prod", ""),
        "can only create tokens for individual service accounts",
    );
    refused(
        &a,
        &req("n1", "create", "", "serviceaccounts", "", "prod", "runner"),
        "can only create token subresource of serviceaccount",
    );
}

#[test]
fn leases_and_csinodes() {
    let a = authz();
    let lease =
        |verb: &str, ns: &str, name: &str| req("n1", verb, "coordination.k8s.io", "leases", "", ns, name);
    allowed(&a, &lease("update", "kube-node-lease", "n1"));
    allowed(&a, &lease("create", "kube-node-lease", ""));
    refused(
        &a,
        &lease("list", "kube-node-lease", ""),
        "can only get, create, update, patch, or delete a node lease",
    );
    refused(
        &a,
        &lease("get", "default", "n1"),
        "can only access leases in the \"kube-node-lease\" system namespace",
    );
    refused(
        &a,
        &lease("get", "kube-node-lease", "n2"),
        "can only access node lease with the same name as the requesting node",
    );
    let csi =
        |verb: &str, sub: &str, name: &str| req("n1", verb, "storage.k8s.io", "csinodes", sub, "", name);
    allowed(&a, &csi("get", "", "n1"));
    allowed(&a, &csi("create", "", "whatever"));
    refused(&a, &csi("watch", "", "n1"), "can only get, create, update, patch, or delete a CSINode");
    refused(&a, &csi("get", "status", "n1"), "cannot authorize CSINode subresources");
    refused(
        &a,
        &csi("delete", "", "n2"),
        "can only access CSINode with the same name as the requesting node",
    );
}

#[test]
fn resource_slices() {
    let a = authz();
    let slice = |verb: &str, sub: &str, name: &str| {
        req("n1", verb, "resource.k8s.io", "resourceslices", sub, "", name)
    };
    allowed(&a, &slice("create", "", ""));
    allowed(&a, &slice("delete", "", "slice-1"));
    allowed(&a, &slice("list", "", ""));
    refused(&a, &slice("update", "", "slice-2"), NO_REL);
    refused(&a, &slice("get", "status", "slice-1"), "cannot authorize ResourceSlice subresources");
    refused(&a, &slice("escalate", "", "slice-1"), "only the following verbs are allowed for a ResourceSlice: get, watch, list, create, update, patch, delete, deletecollection");
}

#[test]
fn static_rules_for_everything_else() {
    let a = authz();
    allowed(&a, &req("n1", "get", "", "nodes", "", "", "n1"));
    refused(
        &a,
        &req("n1", "get", "", "nodes", "", "", "n2"),
        "node 'n1' cannot read 'n2', only its own Node object",
    );
    refused(
        &a,
        &req("n1", "list", "", "nodes", "", "", ""),
        "node 'n1' cannot read all nodes, only its own Node object",
    );
    allowed(&a, &req("n1", "patch", "", "nodes", "status", "", "n1"));
    allowed(&a, &req("n1", "create", "", "events", "", "prod", ""));
    allowed(&a, &req("n1", "create", "certificates.k8s.io", "certificatesigningrequests", "", "", ""));
    allowed(&a, &req("n1", "create", "authentication.k8s.io", "tokenreviews", "", "", ""));
    refused(&a, &req("n1", "delete", "", "namespaces", "", "", "prod"), "");
    refused(&a, &req("n1", "get", "apps", "deployments", "", "prod", "web"), "");
    let path = Attributes {
        user: node_user("n1"),
        verb: "get".into(),
        path: "/healthz".into(),
        ..Default::default()
    };
    refused(&a, &path, "");
}

#[test]
fn graph_follows_updates_and_removals() {
    let a = authz();
    let secret = get("n1", "secrets", "prod", "vol-secret");
    allowed(&a, &secret);
    // A second pod on n2 referencing the same secret; then the first pod moves away.
    a.upsert(&pod("prod", "web-2", "n2")).unwrap();
    a.upsert(&pod("prod", "web", "n3")).unwrap();
    refused(&a, &secret, NO_REL);
    allowed(&a, &get("n2", "secrets", "prod", "vol-secret"));
    assert!(a.remove("Pod", "prod", "web-2").unwrap());
    refused(
        &a,
        &get("n2", "secrets", "prod", "vol-secret"),
        "no relationship found between node 'n2' and this object",
    );
    assert!(!a.remove("Pod", "prod", "web-2").unwrap());
    // The PV and its secrets follow the claim's pod.
    allowed(&a, &get("n3", "persistentvolumes", "", "pv-data"));
    assert!(a.remove("PersistentVolume", "", "pv-data").unwrap());
    refused(
        &a,
        &get("n3", "persistentvolumes", "", "pv-data"),
        "no relationship found between node 'n3' and this object",
    );
    refused(
        &a,
        &get("n3", "secrets", "storage", "stage-secret"),
        "no relationship found between node 'n3' and this object",
    );
    assert!(a.remove("VolumeAttachment", "", "va-1").unwrap());
    refused(&a, &req("n1", "get", "storage.k8s.io", "volumeattachments", "", "", "va-1"), NO_REL);
    // An unscheduled pod relates to nothing.
    let mut pending = pod("prod", "pending", "");
    pending["spec"].as_object_mut().unwrap().remove("nodeName");
    a.upsert(&pending).unwrap();
    assert_eq!(a.pods(), 1);
    // A node's config source ConfigMap.
    a.upsert(&json!({"kind": "Node", "metadata": {"name": "n1"},
        "spec": {"configSource": {"configMap": {"namespace": "kube-system", "name": "n1-config"}}}}))
        .unwrap();
    allowed(&a, &get("n1", "configmaps", "kube-system", "n1-config"));
    assert!(a.remove("Node", "", "n1").unwrap());
    refused(&a, &get("n1", "configmaps", "kube-system", "n1-config"), NO_REL);
    // PVCs are accepted; other kinds are errors.
    a.upsert(&json!({"kind": "PersistentVolumeClaim", "metadata": {"name": "c", "namespace": "prod"}}))
        .unwrap();
    assert!(a.upsert(&json!({"kind": "Secret", "metadata": {"name": "s"}})).is_err());
    assert!(a.upsert(&json!({"kind": "Pod"})).is_err());
}

#[test]
fn rules_for_node_users_is_incomplete() {
    let a = NodeAuthorizer::new();
    let r = a.rules_for(&node_user("n1"), "ns");
    assert!(r.incomplete);
    assert_eq!(r.evaluation_error(), RULES_UNSUPPORTED);
    assert_eq!(a.rules_for(&UserInfo::new("alice", vec![]), "ns"), SubjectRules::default());
}

#[test]
fn node_rules_come_from_the_bootstrap_role() {
    let rules = node_rules();
    assert!(rules.len() > 10, "{rules:?}");
    assert!(rules.iter().any(|r| r.resources.iter().any(|x| x == "nodes/status")));
}

#[test]
fn concurrent_updates_and_decisions() {
    let a = std::sync::Arc::new(authz());
    let writer = {
        let a = a.clone();
        std::thread::spawn(move || {
            for i in 0..200 {
                a.upsert(&pod("prod", &format!("p{i}"), "n9")).unwrap();
            }
        })
    };
    for _ in 0..200 {
        allowed(&a, &get("n1", "secrets", "prod", "vol-secret"));
    }
    writer.join().unwrap();
    assert_eq!(a.pods(), 201);
    allowed(&a, &get("n9", "secrets", "prod", "vol-secret"));
}

#[test]
fn replace_all_drops_what_the_list_no_longer_has() {
    let a = authz();
    a.upsert(&pod("prod", "batch", "n1")).unwrap();
    allowed(&a, &get("n1", "secrets", "prod", "vol-secret"));
    // The re-list after a cut watch holds only `batch`: `web` was deleted meanwhile.
    let mut batch = pod("prod", "batch", "n1");
    batch["spec"]["volumes"] = json!([]);
    batch["spec"]["containers"] = json!([{"name": "c"}]);
    a.replace_all("Pod", &[batch]).unwrap();
    assert_eq!(a.pods(), 1);
    refused(&a, &get("n1", "secrets", "prod", "vol-secret"), NO_REL);
    // Other kinds are untouched.
    allowed(&a, &req("n1", "get", "storage.k8s.io", "volumeattachments", "", "", "va-1"));
    a.replace_all("Pod", &[]).unwrap();
    assert_eq!(a.pods(), 0);
}
