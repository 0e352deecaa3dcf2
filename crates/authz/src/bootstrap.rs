//! kube's bootstrap RBAC policy: the default roles and bindings created at start.
//!
//! ClusterRoles, the controllers' ClusterRoles and ClusterRoleBindings, namespaced Roles and
//! RoleBindings come from kube's own golden files, embedded byte for byte
//! (`bootstrap/*.yaml`, kube 1.34). The other default ClusterRoleBindings are written here
//! from kube's policy source. The aggregated
//! roles (`admin`, `edit`, `view`) carry `rules: null` as kube stores them at creation; run
//! [`crate::aggregation::aggregate`] to fill them.

use serde_json::{json, Value};

const CLUSTER_ROLES: &str = include_str!("../bootstrap/cluster-roles.yaml");
const CONTROLLER_ROLES: &str = include_str!("../bootstrap/controller-roles.yaml");
const CONTROLLER_ROLE_BINDINGS: &str = include_str!("../bootstrap/controller-role-bindings.yaml");
const NAMESPACE_ROLES: &str = include_str!("../bootstrap/namespace-roles.yaml");
const NAMESPACE_ROLE_BINDINGS: &str = include_str!("../bootstrap/namespace-role-bindings.yaml");

/// Label and annotation every bootstrap object carries.
pub const BOOTSTRAPPING_LABEL: &str = "kubernetes.io/bootstrapping";
pub const BOOTSTRAPPING_VALUE: &str = "rbac-defaults";
pub const AUTOUPDATE_ANNOTATION: &str = "rbac.authorization.kubernetes.io/autoupdate";

fn items(yaml: &str) -> Vec<Value> {
    // The embedded files are fixed at build time and a test parses each of them, so a
    // failure here is a build defect, not an input error.
    let list: Value = apimachinery::yaml::from_str(yaml).expect("embedded bootstrap YAML parses");
    match list.get("items") {
        Some(Value::Array(items)) => items.clone(),
        _ => Vec::new(),
    }
}

/// The default ClusterRoles (31 of them; `admin`, `edit`, `view` still to be aggregated).
pub fn cluster_roles() -> Vec<Value> {
    items(CLUSTER_ROLES)
}

/// The controllers' ClusterRoles (`system:controller:*`, 37 of them).
pub fn controller_roles() -> Vec<Value> {
    items(CONTROLLER_ROLES)
}

/// The controllers' ClusterRoleBindings, each binding its controller's service account in
/// `kube-system`.
pub fn controller_role_bindings() -> Vec<Value> {
    items(CONTROLLER_ROLE_BINDINGS)
}

/// The default Roles, each with its `metadata.namespace` (`kube-system`, `kube-public`).
pub fn namespace_roles() -> Vec<Value> {
    items(NAMESPACE_ROLES)
}

/// The default RoleBindings, each with its `metadata.namespace`.
pub fn namespace_role_bindings() -> Vec<Value> {
    items(NAMESPACE_ROLE_BINDINGS)
}

fn cluster_role_binding(name: &str, subjects: Value) -> Value {
    let mut obj = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {
            "annotations": {AUTOUPDATE_ANNOTATION: "true"},
            "labels": {BOOTSTRAPPING_LABEL: BOOTSTRAPPING_VALUE},
            "name": name,
        },
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
    });
    if subjects.as_array().is_some_and(|s| !s.is_empty()) {
        obj["subjects"] = subjects;
    }
    obj
}

fn group(name: &str) -> Value {
    json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": name})
}

fn user(name: &str) -> Value {
    json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": name})
}

/// The default ClusterRoleBindings, each named after the ClusterRole it binds.
/// `system:node` has no subjects on purpose: nodes are authorized by the Node authorizer.
pub fn cluster_role_bindings() -> Vec<Value> {
    vec![
        cluster_role_binding("cluster-admin", json!([group("system:masters")])),
        cluster_role_binding("system:basic-user", json!([group("system:authenticated")])),
        cluster_role_binding("system:discovery", json!([group("system:authenticated")])),
        cluster_role_binding(
            "system:kube-controller-manager",
            json!([user("system:kube-controller-manager")]),
        ),
        cluster_role_binding(
            "system:kube-dns",
            json!([{"kind": "ServiceAccount", "name": "kube-dns", "namespace": "kube-system"}]),
        ),
        cluster_role_binding("system:kube-scheduler", json!([user("system:kube-scheduler")])),
        cluster_role_binding("system:monitoring", json!([group("system:monitoring")])),
        cluster_role_binding("system:node", json!([])),
        cluster_role_binding("system:node-proxier", json!([user("system:kube-proxy")])),
        cluster_role_binding(
            "system:public-info-viewer",
            json!([group("system:authenticated"), group("system:unauthenticated")]),
        ),
        cluster_role_binding(
            "system:service-account-issuer-discovery",
            json!([group("system:serviceaccounts")]),
        ),
        cluster_role_binding("system:volume-scheduler", json!([user("system:kube-scheduler")])),
    ]
}

/// Everything above, in creation order: roles before the bindings that name them.
pub fn all() -> Vec<Value> {
    let mut out = cluster_roles();
    out.extend(controller_roles());
    out.extend(namespace_roles());
    out.extend(cluster_role_bindings());
    out.extend(controller_role_bindings());
    out.extend(namespace_role_bindings());
    out
}

#[cfg(test)]
mod tests;
