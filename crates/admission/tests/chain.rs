//! The whole recommended chain on one pod: mutations from earlier plugins are what later
//! validating plugins see, and the first rejection stops the run.
#![allow(clippy::unwrap_used)]

use admission::testing::MemoryContext;
use admission::{AdmissionRequest, Chain, Operation, RECOMMENDED};
use apimachinery::UserInfo;
use serde_json::{json, Value};

fn setup(ns_labels: Value) -> MemoryContext {
    let ctx = MemoryContext::new();
    ctx.put_namespace("team", ns_labels, "Active");
    ctx.put("", "serviceaccounts", json!({"metadata": {"name": "default", "namespace": "team"}}));
    ctx.put(
        "",
        "limitranges",
        json!({"metadata": {"name": "lr", "namespace": "team"},
        "spec": {"limits": [{"type": "Container", "default": {"cpu": "200m", "memory": "128Mi"}}]}}),
    );
    ctx.put(
        "",
        "resourcequotas",
        json!({"metadata": {"name": "compute", "namespace": "team"},
        "spec": {"hard": {"pods": "1", "requests.cpu": "1", "limits.memory": "1Gi"}}}),
    );
    ctx
}

fn pod(name: &str) -> AdmissionRequest {
    AdmissionRequest::new(
        Operation::Create,
        ("", "v1", "Pod"),
        "pods",
        "team",
        name,
        UserInfo::new("alice", vec![]),
    )
    .with_object(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "team"},
            "spec": {"containers": [{"name": "app", "image": "nginx"}]}}))
}

#[tokio::test]
async fn recommended_chain_mutates_then_validates() {
    let chain = Chain::from_names(RECOMMENDED);
    let ctx = setup(json!({}));
    let mut req = pod("web");
    chain.run(&mut req, &ctx).await.unwrap();
    let p = req.object.unwrap();
    assert_eq!(p["spec"]["serviceAccountName"], "default");
    // LimitRanger's defaults satisfy the compute quota's "must specify" rule
    assert_eq!(p["spec"]["containers"][0]["resources"]["requests"]["cpu"], "200m");
    assert_eq!(p["spec"]["tolerations"].as_array().unwrap().len(), 2);
    // Priority: no class and no global default
    assert_eq!(p["spec"]["priority"], 0);
    assert_eq!(p["spec"]["preemptionPolicy"], "PreemptLowerPriority");
    let q = ctx.object("", "resourcequotas", "team", "compute").unwrap();
    assert_eq!(q["status"]["used"], json!({"limits.memory": "128Mi", "pods": "1", "requests.cpu": "200m"}));
    // second pod exceeds the pod count
    let e = chain.run(&mut pod("web2"), &ctx).await.unwrap_err();
    assert_eq!(e.message, "pods \"web2\" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=1, limited: pods=1");
}

#[tokio::test]
async fn pod_security_rejects_before_quota_is_charged() {
    let chain = Chain::from_names(RECOMMENDED);
    let ctx = setup(json!({"pod-security.kubernetes.io/enforce": "restricted"}));
    let e = chain.run(&mut pod("web"), &ctx).await.unwrap_err();
    assert!(e.message.starts_with("pods \"web\" is forbidden: violates PodSecurity \"restricted:latest\": "));
    let q = ctx.object("", "resourcequotas", "team", "compute").unwrap();
    assert!(q.get("status").is_none());
}

#[tokio::test]
async fn disabled_plugins_do_not_run() {
    let chain = Chain::from_flags(&[], &["ServiceAccount".to_string(), "ResourceQuota".to_string()]).unwrap();
    let ctx = MemoryContext::new();
    ctx.put_namespace("team", json!({}), "Active");
    let mut req = pod("web");
    chain.run(&mut req, &ctx).await.unwrap();
    assert!(req.object.unwrap()["spec"].get("serviceAccountName").is_none());
}

#[tokio::test]
async fn claims_get_the_default_class_and_protection_then_grow_only_where_allowed() {
    let chain = Chain::from_names(RECOMMENDED);
    let ctx = MemoryContext::new();
    ctx.put_namespace("team", json!({}), "Active");
    ctx.put(
        "storage.k8s.io",
        "storageclasses",
        json!({"metadata": {"name": "standard", "creationTimestamp": "2024-01-01T00:00:00Z",
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
               "provisioner": "example.com/disk", "allowVolumeExpansion": false}),
    );
    let claim = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": "team"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}});
    let mut req = AdmissionRequest::new(
        Operation::Create,
        ("", "v1", "PersistentVolumeClaim"),
        "persistentvolumeclaims",
        "team",
        "data",
        UserInfo::new("alice", vec![]),
    )
    .with_object(claim);
    chain.run(&mut req, &ctx).await.unwrap();
    let mut stored = req.object.unwrap();
    assert_eq!(stored["spec"]["storageClassName"], "standard");
    assert_eq!(stored["metadata"]["finalizers"], json!(["kubernetes.io/pvc-protection"]));
    stored["status"] = json!({"phase": "Bound"});
    let mut grown = stored.clone();
    grown["spec"]["resources"]["requests"]["storage"] = json!("2Gi");
    let mut req = AdmissionRequest::new(
        Operation::Update,
        ("", "v1", "PersistentVolumeClaim"),
        "persistentvolumeclaims",
        "team",
        "data",
        UserInfo::new("alice", vec![]),
    )
    .with_object(grown)
    .with_old_object(stored);
    let e = chain.run(&mut req, &ctx).await.unwrap_err();
    assert_eq!(e.message, "persistentvolumeclaims \"data\" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize");
}
