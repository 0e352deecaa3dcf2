use super::*;
use crate::testing::MemoryContext;
use serde_json::json;

fn node_user(name: &str) -> UserInfo {
    UserInfo::new(format!("system:node:{name}"), vec!["system:nodes".into(), "system:authenticated".into()])
}

fn req(op: Operation, gvk: (&str, &str, &str), resource: &str, ns: &str, name: &str) -> AdmissionRequest {
    AdmissionRequest::new(op, gvk, resource, ns, name, node_user("n1"))
}

fn mirror_pod() -> Value {
    json!({"metadata": {"name": "static-web", "namespace": "ns", "annotations": {MIRROR: "x"},
        "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "n1", "uid": "u1", "controller": true}]},
        "spec": {"nodeName": "n1", "containers": [{"name": "c"}]}})
}

fn ctx() -> MemoryContext {
    let ctx = MemoryContext::new();
    ctx.put("", "nodes", json!({"metadata": {"name": "n1", "uid": "u1"}}));
    ctx.put(
        "",
        "pods",
        json!({"metadata": {"name": "mine", "namespace": "ns", "uid": "pu1"}, "spec": {"nodeName": "n1"}}),
    );
    ctx.put(
        "",
        "pods",
        json!({"metadata": {"name": "theirs", "namespace": "ns", "uid": "pu2"}, "spec": {"nodeName": "n2"}}),
    );
    ctx
}

#[tokio::test]
async fn non_nodes_are_ignored_and_identity_needs_the_group() {
    let ctx = ctx();
    let mut r = req(Operation::Create, ("", "v1", "Pod"), "pods", "ns", "")
        .with_object(json!({"metadata": {"name": "p"}}));
    r.user = UserInfo::new("system:node:n1", vec![]);
    NodeRestriction.validate(&r, &ctx).await.unwrap();
    r.user = UserInfo::new("system:node:", vec!["system:nodes".into()]);
    let e = NodeRestriction.validate(&r, &ctx).await.unwrap_err();
    assert_eq!(e.message, "pods \"p\" is forbidden: could not determine node from user \"system:node:\"");
}

#[tokio::test]
async fn mirror_pod_rules() {
    let ctx = ctx();
    let create = |pod: Value| req(Operation::Create, ("", "v1", "Pod"), "pods", "ns", "").with_object(pod);
    NodeRestriction.validate(&create(mirror_pod()), &ctx).await.unwrap();
    let mut plain = mirror_pod();
    plain["metadata"]["annotations"] = json!({});
    let e = NodeRestriction.validate(&create(plain), &ctx).await.unwrap_err();
    assert_eq!(e.message, "pods \"static-web\" is forbidden: pod does not have \"kubernetes.io/config.mirror\" annotation, node \"n1\" can only create mirror pods");
    let mut other = mirror_pod();
    other["spec"]["nodeName"] = json!("n2");
    let e = NodeRestriction.validate(&create(other), &ctx).await.unwrap_err();
    assert!(e.message.ends_with("node \"n1\" can only create pods with spec.nodeName set to itself"));
    let mut secret = mirror_pod();
    secret["spec"]["volumes"] = json!([{"name": "s", "secret": {"secretName": "db"}}]);
    let e = NodeRestriction.validate(&create(secret), &ctx).await.unwrap_err();
    assert!(e.message.ends_with("node \"n1\" can not create pods that reference secrets"));
    let mut cm = mirror_pod();
    cm["spec"]["containers"][0]["env"] =
        json!([{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}]);
    let e = NodeRestriction.validate(&create(cm), &ctx).await.unwrap_err();
    assert!(e.message.ends_with("node \"n1\" can not create pods that reference configmaps"));
    let mut uid = mirror_pod();
    uid["metadata"]["ownerReferences"][0]["uid"] = json!("zz");
    let e = NodeRestriction.validate(&create(uid), &ctx).await.unwrap_err();
    assert!(e.message.ends_with("node n1 UID mismatch: expected zz got u1"));
}

#[tokio::test]
async fn delete_evict_and_status_only_for_own_pods() {
    let ctx = ctx();
    NodeRestriction
        .validate(&req(Operation::Delete, ("", "v1", "Pod"), "pods", "ns", "mine"), &ctx)
        .await
        .unwrap();
    let e = NodeRestriction
        .validate(&req(Operation::Delete, ("", "v1", "Pod"), "pods", "ns", "theirs"), &ctx)
        .await
        .unwrap_err();
    assert_eq!(
        e.message,
        "pods \"theirs\" is forbidden: node \"n1\" can only delete pods with spec.nodeName set to itself"
    );
    let evict = req(Operation::Create, ("", "v1", "Eviction"), "pods", "ns", "theirs")
        .with_kind("policy", "v1", "Eviction")
        .with_subresource("eviction");
    let e = NodeRestriction.validate(&evict, &ctx).await.unwrap_err();
    assert!(e.message.ends_with("node n1 can only evict pods with spec.nodeName set to itself"));
    let old = json!({"metadata": {"name": "mine", "labels": {"a": "1"}}, "spec": {"nodeName": "n1"}});
    let mut new = old.clone();
    new["metadata"]["labels"]["a"] = json!("2");
    let st = req(Operation::Update, ("", "v1", "Pod"), "pods", "ns", "mine")
        .with_subresource("status")
        .with_object(new)
        .with_old_object(old.clone());
    let e = NodeRestriction.validate(&st, &ctx).await.unwrap_err();
    assert!(e.message.ends_with("node \"n1\" cannot update labels through pod status"));
    let st = req(Operation::Update, ("", "v1", "Pod"), "pods", "ns", "mine")
        .with_subresource("status")
        .with_object(old.clone())
        .with_old_object(old);
    NodeRestriction.validate(&st, &ctx).await.unwrap();
    let upd = req(Operation::Update, ("", "v1", "Pod"), "pods", "ns", "mine").with_object(json!({}));
    let e = NodeRestriction.validate(&upd, &ctx).await.unwrap_err();
    assert!(e
        .message
        .ends_with("unexpected operation \"UPDATE\", node \"n1\" can only create and delete mirror pods"));
    let exec =
        req(Operation::Create, ("", "v1", "PodExecOptions"), "pods", "ns", "mine").with_subresource("exec");
    let e = NodeRestriction.validate(&exec, &ctx).await.unwrap_err();
    assert!(e
        .message
        .ends_with("unexpected pod subresource \"exec\", only 'status' and 'eviction' are allowed"));
}

#[tokio::test]
async fn node_object_rules() {
    let ctx = ctx();
    let other = req(Operation::Update, ("", "v1", "Node"), "nodes", "", "n2")
        .with_object(json!({}))
        .with_old_object(json!({}));
    let e = NodeRestriction.validate(&other, &ctx).await.unwrap_err();
    assert_eq!(e.message, "nodes \"n2\" is forbidden: node \"n1\" is not allowed to modify node \"n2\"");
    let create = req(Operation::Create, ("", "v1", "Node"), "nodes", "", "")
        .with_object(json!({"metadata": {"name": "n1", "labels": {"kubernetes.io/hostname": "n1",
            "node-restriction.kubernetes.io/pool": "secure", "node-role.kubernetes.io/master": "", "example.com/x": "y"}}}));
    let e = NodeRestriction.validate(&create, &ctx).await.unwrap_err();
    assert_eq!(e.message, "nodes \"n1\" is forbidden: node \"n1\" is not allowed to set the following labels: node-restriction.kubernetes.io/pool, node-role.kubernetes.io/master");
    let old = json!({"metadata": {"name": "n1", "labels": {"node-restriction.kubernetes.io/pool": "a", "node.kubernetes.io/x": "1"}},
        "spec": {"taints": [{"key": "k", "effect": "NoSchedule"}]}});
    let mut new = old.clone();
    new["metadata"]["labels"]["node.kubernetes.io/x"] = json!("2");
    NodeRestriction
        .validate(
            &req(Operation::Update, ("", "v1", "Node"), "nodes", "", "n1")
                .with_object(new.clone())
                .with_old_object(old.clone()),
            &ctx,
        )
        .await
        .unwrap();
    new["metadata"]["labels"].as_object_mut().unwrap().remove("node-restriction.kubernetes.io/pool");
    let e = NodeRestriction
        .validate(
            &req(Operation::Update, ("", "v1", "Node"), "nodes", "", "n1")
                .with_object(new.clone())
                .with_old_object(old.clone()),
            &ctx,
        )
        .await
        .unwrap_err();
    assert_eq!(
        e.message,
        "nodes \"n1\" is forbidden: is not allowed to modify labels: node-restriction.kubernetes.io/pool"
    );
    let mut tainted = old.clone();
    tainted["spec"]["taints"] = json!([]);
    let e = NodeRestriction
        .validate(
            &req(Operation::Update, ("", "v1", "Node"), "nodes", "", "n1")
                .with_object(tainted)
                .with_old_object(old),
            &ctx,
        )
        .await
        .unwrap_err();
    assert!(e.message.ends_with("node \"n1\" is not allowed to modify taints"));
}

#[tokio::test]
async fn leases_tokens_and_pvcs() {
    let ctx = ctx();
    let lease = |ns: &str, name: &str| {
        req(Operation::Create, ("coordination.k8s.io", "v1", "Lease"), "leases", ns, "")
            .with_object(json!({"metadata": {"name": name}}))
    };
    NodeRestriction.validate(&lease("kube-node-lease", "n1"), &ctx).await.unwrap();
    let e = NodeRestriction.validate(&lease("default", "n1"), &ctx).await.unwrap_err();
    assert!(e.message.ends_with("can only access leases in the \"kube-node-lease\" system namespace"));
    let e = NodeRestriction.validate(&lease("kube-node-lease", "n2"), &ctx).await.unwrap_err();
    assert_eq!(e.message, "leases.coordination.k8s.io \"n2\" is forbidden: can only access node lease with the same name as the requesting node");
    let token = |r: Value| {
        req(Operation::Create, ("", "v1", "TokenRequest"), "serviceaccounts", "ns", "default")
            .with_kind("authentication.k8s.io", "v1", "TokenRequest")
            .with_subresource("token")
            .with_object(json!({"spec": {"boundObjectRef": r}}))
    };
    NodeRestriction
        .validate(&token(json!({"apiVersion": "v1", "kind": "Pod", "name": "mine", "uid": "pu1"})), &ctx)
        .await
        .unwrap();
    let e = NodeRestriction.validate(&token(json!(null)), &ctx).await.unwrap_err();
    assert_eq!(
        e.message,
        "serviceaccounts \"default\" is forbidden: node requested token not bound to a pod"
    );
    let e = NodeRestriction
        .validate(&token(json!({"apiVersion": "v1", "kind": "Pod", "name": "theirs", "uid": "pu2"})), &ctx)
        .await
        .unwrap_err();
    assert!(e.message.ends_with("node requested token bound to a pod scheduled on a different node"));
    let pvc =
        req(Operation::Update, ("", "v1", "PersistentVolumeClaim"), "persistentvolumeclaims", "ns", "data")
            .with_object(json!({}));
    let e = NodeRestriction.validate(&pvc, &ctx).await.unwrap_err();
    assert_eq!(e.message, "persistentvolumeclaims \"data\" is forbidden: may only update PVC status");
    let old = json!({"metadata": {"name": "data", "resourceVersion": "1"}, "spec": {"x": 1}, "status": {"phase": "Bound"}});
    let mut new = old.clone();
    new["metadata"]["resourceVersion"] = json!("2");
    new["status"]["capacity"] = json!({"storage": "1Gi"});
    let ok =
        req(Operation::Update, ("", "v1", "PersistentVolumeClaim"), "persistentvolumeclaims", "ns", "data")
            .with_subresource("status")
            .with_object(new.clone())
            .with_old_object(old.clone());
    NodeRestriction.validate(&ok, &ctx).await.unwrap();
    new["spec"]["x"] = json!(2);
    let bad =
        req(Operation::Update, ("", "v1", "PersistentVolumeClaim"), "persistentvolumeclaims", "ns", "data")
            .with_subresource("status")
            .with_object(new)
            .with_old_object(old);
    assert_eq!(NodeRestriction.validate(&bad, &ctx).await.unwrap_err().code, 403);
}
