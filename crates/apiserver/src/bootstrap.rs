//! Objects every cluster starts with: the system namespaces, kube's default RBAC roles
//! and bindings, the system PriorityClasses, the suggested and mandatory FlowSchemas and
//! PriorityLevelConfigurations (created as kube's APF configuration producer creates them,
//! under its field manager), a local APIService per served group-version
//! (registry/src/bootstrap.rs), and the admin binding of `kubeward up`. Missing ones are
//! created at every start; existing ones are left as they are.

use crate::state::ApiState;
use serde_json::{json, Value};

pub const SYSTEM_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];
pub const ADMIN_BINDING: &str = "kubeward-admin";

/// kube's APF bootstrap ensurer's field manager.
const APF_PRODUCER: &str = "api-priority-and-fairness-config-producer-v1";

async fn ensure_object(state: &ApiState, obj: Value) -> Result<(), String> {
    ensure_object_as(state, obj, "kube-apiserver").await
}

async fn ensure_object_as(state: &ApiState, mut obj: Value, manager: &str) -> Result<(), String> {
    let group = obj.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    let group = group.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
    let rt = state.catalog.by_kind(group, &kind).ok_or_else(|| format!("unknown kind {kind}"))?;
    let ns = obj.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or_default().to_string();
    let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string();
    if state.objects.find(rt, &ns, &name).await.map_err(|e| e.message)?.is_some() {
        return Ok(());
    }
    crate::rest::field_manager::prepare_internal_create(rt, &mut obj, manager);
    if rt.namespaced {
        obj["metadata"]["namespace"] = json!(ns);
    }
    match state.objects.create(rt, &ns, &name, &obj).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_already_exists() => Ok(()),
        Err(e) => Err(e.message),
    }
}

/// `kubelet_user`: the user of kubeward's client certificate to kubelets, bound to
/// `system:kubelet-api-admin` (what a kubelet authorizing by SubjectAccessReview asks about
/// a log, exec or proxy request), when `kubeward up` made that certificate.
pub async fn ensure(
    state: &ApiState,
    admin_user: Option<&str>,
    kubelet_user: Option<&str>,
) -> Result<(), String> {
    for ns in SYSTEM_NAMESPACES {
        ensure_object(state, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))
            .await?;
    }
    for obj in authz::bootstrap::all() {
        ensure_object(state, obj).await?;
    }
    for obj in registry::bootstrap::system_priority_classes() {
        ensure_object(state, obj).await?;
    }
    let flow_control = registry::bootstrap::suggested_flow_control()
        .into_iter()
        .chain(registry::bootstrap::mandatory_flow_control());
    for obj in flow_control {
        ensure_object_as(state, obj, APF_PRODUCER).await?;
    }
    for obj in registry::bootstrap::local_api_services(state.catalog) {
        ensure_object(state, obj).await?;
    }
    if let Some(user) = admin_user {
        ensure_object(state, user_binding(ADMIN_BINDING, "cluster-admin", user)).await?;
    }
    if let Some(user) = kubelet_user {
        ensure_object(state, user_binding(KUBELET_CLIENT_BINDING, "system:kubelet-api-admin", user)).await?;
    }
    Ok(())
}

/// A ClusterRoleBinding of kubeward's own, giving `user` the ClusterRole `role`.
fn user_binding(name: &str, role: &str, user: &str) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "kubeward"}},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
    })
}

/// The ClusterRoleBinding of kubeward's kubelet client user (`kubeward up`).
pub const KUBELET_CLIENT_BINDING: &str = "kubeward:kubelet-api-admin";
