//! The policy the peer benchmark (`benches/peers.rs`) expresses three ways: N RoleBindings,
//! one per namespace `ns-<i>`, each binding the user `user-<i>` to the ClusterRole `reader`
//! (get/list/watch pods), plus `cluster-admin` for the group `system:masters`.
//!
//! The allow is `get pods` by the middle user in its namespace; the deny is `delete` of
//! the same pod. `cargo bench -p authz-bench` prints a summary line per N.

use apimachinery::{Attributes, UserInfo};
use serde_json::{json, Value};

/// Verbs of the `reader` role.
pub const READER_VERBS: &[&str] = &["get", "list", "watch"];

/// The RBAC objects for N bindings.
pub fn rbac_objects(n: usize) -> Vec<Value> {
    let mut objs = vec![
        json!({"kind": "ClusterRole", "metadata": {"name": "reader"},
            "rules": [{"verbs": READER_VERBS, "apiGroups": [""], "resources": ["pods"]}]}),
        json!({"kind": "ClusterRole", "metadata": {"name": "cluster-admin"},
            "rules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]}),
        json!({"kind": "ClusterRoleBinding", "metadata": {"name": "cluster-admin"},
            "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "Group", "name": "system:masters"}]}),
    ];
    for i in 0..n {
        objs.push(
            json!({"kind": "RoleBinding", "metadata": {"name": format!("b-{i}"), "namespace": namespace(i)},
            "roleRef": {"kind": "ClusterRole", "name": "reader"},
            "subjects": [{"kind": "User", "name": user(i)}]}),
        );
    }
    objs
}

pub fn user(i: usize) -> String {
    format!("user-{i}")
}

pub fn namespace(i: usize) -> String {
    format!("ns-{i}")
}

/// The request of the middle user (`verb` pods `web-0` in its namespace).
pub fn request(n: usize, verb: &str) -> Attributes {
    let i = n / 2;
    Attributes {
        user: UserInfo::new(user(i), vec!["system:authenticated".into()]),
        verb: verb.into(),
        resource_request: true,
        api_version: "v1".into(),
        resource: "pods".into(),
        namespace: namespace(i),
        name: "web-0".into(),
        ..Default::default()
    }
}
