//! Unit tests of the indexed RBAC authorizer (kube's semantics, one behaviour per test).

use std::sync::Arc;

use apimachinery::{Attributes, Decision, UserInfo};
use serde_json::{json, Value};

use super::*;
use crate::{Authorizer, RuleResolver};

fn user(name: &str, groups: &[&str]) -> UserInfo {
    UserInfo::new(name, groups.iter().map(|g| g.to_string()).collect())
}

fn res(u: &UserInfo, verb: &str, group: &str, resource: &str, ns: &str, name: &str) -> Attributes {
    Attributes {
        user: u.clone(),
        verb: verb.into(),
        resource_request: true,
        api_group: group.into(),
        resource: resource.into(),
        namespace: ns.into(),
        name: name.into(),
        ..Default::default()
    }
}

fn path(u: &UserInfo, verb: &str, p: &str) -> Attributes {
    Attributes { user: u.clone(), verb: verb.into(), path: p.into(), ..Default::default() }
}

fn cluster_role(name: &str, rules: Value) -> Value {
    json!({"kind": "ClusterRole", "metadata": {"name": name}, "rules": rules})
}

fn role(ns: &str, name: &str, rules: Value) -> Value {
    json!({"kind": "Role", "metadata": {"name": name, "namespace": ns}, "rules": rules})
}

fn crb(name: &str, role: &str, subjects: Value) -> Value {
    json!({"kind": "ClusterRoleBinding", "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": subjects})
}

fn rb(ns: &str, name: &str, kind: &str, role: &str, subjects: Value) -> Value {
    json!({"kind": "RoleBinding", "metadata": {"name": name, "namespace": ns},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role},
        "subjects": subjects})
}

fn pod_reader() -> Value {
    json!([{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}])
}

fn authz(objs: &[Value]) -> RbacAuthorizer {
    RbacAuthorizer::from_objects(objs).unwrap()
}

#[test]
fn cluster_role_binding_grants_everywhere() {
    let a = authz(&[
        cluster_role("reader", pod_reader()),
        crb("read", "reader", json!([{"kind": "User", "name": "alice"}])),
    ]);
    let alice = user("alice", &[]);
    assert_eq!(
        a.authorize(&res(&alice, "list", "", "pods", "ns1", "")),
        Decision::Allow(
            r#"RBAC: allowed by ClusterRoleBinding "read" of ClusterRole "reader" to User "alice""#.into()
        )
    );
    assert!(a.is_allowed(&res(&alice, "get", "", "pods", "", "p")));
    assert_eq!(
        a.authorize(&res(&alice, "delete", "", "pods", "ns1", "p")),
        Decision::NoOpinion(String::new())
    );
    assert!(!a.is_allowed(&res(&user("bob", &[]), "get", "", "pods", "ns1", "p")));
}

#[test]
fn role_binding_grants_in_its_namespace_only() {
    let a = authz(&[
        role("ns1", "reader", pod_reader()),
        cluster_role("creader", pod_reader()),
        rb("ns1", "r1", "Role", "reader", json!([{"kind": "User", "name": "alice"}])),
        rb("ns2", "r2", "ClusterRole", "creader", json!([{"kind": "Group", "name": "devs"}])),
    ]);
    let alice = user("alice", &[]);
    assert_eq!(
        a.authorize(&res(&alice, "get", "", "pods", "ns1", "p")),
        Decision::Allow(r#"RBAC: allowed by RoleBinding "r1/ns1" of Role "reader" to User "alice""#.into())
    );
    assert!(!a.is_allowed(&res(&alice, "get", "", "pods", "ns2", "p")));
    assert!(!a.is_allowed(&res(&alice, "get", "", "pods", "", "p")));
    let dev = user("carol", &["devs"]);
    assert!(a.is_allowed(&res(&dev, "get", "", "pods", "ns2", "p")));
    assert!(!a.is_allowed(&res(&dev, "get", "", "pods", "ns1", "p")));
}

#[test]
fn role_binding_to_a_role_of_another_namespace_grants_nothing() {
    let a = authz(&[
        role("ns1", "reader", pod_reader()),
        rb("ns2", "r", "Role", "reader", json!([{"kind": "User", "name": "alice"}])),
    ]);
    let attrs = res(&user("alice", &[]), "get", "", "pods", "ns2", "p");
    assert_eq!(
        a.authorize(&attrs),
        Decision::NoOpinion(r#"RBAC: role.rbac.authorization.k8s.io "reader" not found"#.into())
    );
}

#[test]
fn service_account_subjects() {
    let a = authz(&[
        cluster_role("reader", pod_reader()),
        rb("ns1", "local", "ClusterRole", "reader", json!([{"kind": "ServiceAccount", "name": "builder"}])),
        crb("global", "reader", json!([{"kind": "ServiceAccount", "name": "bot", "namespace": "ops"}])),
        crb("nons", "reader", json!([{"kind": "ServiceAccount", "name": "ghost"}])),
    ]);
    let builder = user("system:serviceaccount:ns1:builder", &[]);
    assert_eq!(
        a.authorize(&res(&builder, "get", "", "pods", "ns1", "p")),
        Decision::Allow(
            r#"RBAC: allowed by RoleBinding "local/ns1" of ClusterRole "reader" to ServiceAccount "builder/ns1""#
                .into()
        )
    );
    assert!(!a.is_allowed(&res(
        &user("system:serviceaccount:ns2:builder", &[]),
        "get",
        "",
        "pods",
        "ns1",
        "p"
    )));
    assert!(a.is_allowed(&res(&user("system:serviceaccount:ops:bot", &[]), "list", "", "pods", "x", "")));
    // A ServiceAccount subject without a namespace in a ClusterRoleBinding names no one.
    assert!(!a.is_allowed(&res(&user("system:serviceaccount::ghost", &[]), "list", "", "pods", "x", "")));
}

#[test]
fn reason_names_first_applicable_subject() {
    let a = authz(&[
        cluster_role("reader", pod_reader()),
        crb("b", "reader", json!([{"kind": "Group", "name": "devs"}, {"kind": "User", "name": "alice"}])),
    ]);
    assert_eq!(
        a.authorize(&res(&user("alice", &["devs"]), "get", "", "pods", "", "")).reason(),
        r#"RBAC: allowed by ClusterRoleBinding "b" of ClusterRole "reader" to Group "devs""#
    );
}

#[test]
fn non_resource_urls() {
    let a = authz(&[
        cluster_role("probe", json!([{"verbs": ["get"], "nonResourceURLs": ["/healthz", "/healthz/*"]}])),
        crb("probe", "probe", json!([{"kind": "Group", "name": "system:authenticated"}])),
    ]);
    let u = user("u", &["system:authenticated"]);
    assert!(a.is_allowed(&path(&u, "get", "/healthz")));
    assert!(a.is_allowed(&path(&u, "get", "/healthz/etcd")));
    assert!(!a.is_allowed(&path(&u, "get", "/healthzz")));
    assert!(!a.is_allowed(&path(&u, "post", "/healthz")));
}

#[test]
fn missing_roles_are_skipped_and_reported() {
    let a = authz(&[
        cluster_role("reader", pod_reader()),
        crb("dangling", "nope", json!([{"kind": "User", "name": "alice"}])),
        crb("read", "reader", json!([{"kind": "User", "name": "alice"}])),
        crb("weird", "reader", json!([{"kind": "User", "name": "bob"}])),
    ]);
    let alice = user("alice", &[]);
    assert!(a.is_allowed(&res(&alice, "get", "", "pods", "", "")));
    assert_eq!(
        a.authorize(&res(&alice, "delete", "", "pods", "", "")),
        Decision::NoOpinion(r#"RBAC: clusterrole.rbac.authorization.k8s.io "nope" not found"#.into())
    );
    let rules = a.rules_for(&alice, "");
    assert_eq!(rules.resource_rules.len(), 1);
    assert_eq!(rules.evaluation_error(), r#"clusterrole.rbac.authorization.k8s.io "nope" not found"#);
    // A user without dangling bindings gets the plain empty reason.
    assert_eq!(
        a.authorize(&res(&user("bob", &[]), "delete", "", "pods", "", "")),
        Decision::NoOpinion("".into())
    );
    // Once the role appears, the binding grants.
    a.upsert(&cluster_role("nope", json!([{"verbs": ["delete"], "apiGroups": [""], "resources": ["pods"]}])))
        .unwrap();
    assert!(a.is_allowed(&res(&alice, "delete", "", "pods", "", "")));
}

#[test]
fn updates_and_removals_take_effect() {
    let a = authz(&[cluster_role("reader", pod_reader())]);
    let alice = user("alice", &[]);
    let get = res(&alice, "get", "", "pods", "ns", "p");
    assert!(!a.is_allowed(&get));
    a.upsert(&crb("b", "reader", json!([{"kind": "User", "name": "alice"}]))).unwrap();
    assert!(a.is_allowed(&get));
    assert_eq!(a.bindings(), 1);
    // Replacing the binding moves it to another subject.
    a.upsert(&crb("b", "reader", json!([{"kind": "User", "name": "bob"}]))).unwrap();
    assert!(!a.is_allowed(&get));
    assert!(a.is_allowed(&res(&user("bob", &[]), "get", "", "pods", "ns", "p")));
    assert_eq!(a.bindings(), 1);
    // Editing the role changes what the binding grants.
    a.upsert(&cluster_role(
        "reader",
        json!([{"verbs": ["watch"], "apiGroups": [""], "resources": ["pods"]}]),
    ))
    .unwrap();
    assert!(!a.is_allowed(&res(&user("bob", &[]), "get", "", "pods", "ns", "p")));
    assert!(a.is_allowed(&res(&user("bob", &[]), "watch", "", "pods", "ns", "")));
    assert_eq!(a.remove("ClusterRole", "", "reader"), Ok(true));
    assert!(!a.is_allowed(&res(&user("bob", &[]), "watch", "", "pods", "ns", "")));
    assert_eq!(a.roles(), 0);
    assert_eq!(a.remove("ClusterRoleBinding", "", "b"), Ok(true));
    assert_eq!(a.remove("ClusterRoleBinding", "", "b"), Ok(false));
    assert_eq!(a.bindings(), 0);
    assert_eq!(a.remove("Pod", "", "b"), Err(AuthzError::UnsupportedKind("Pod".into())));
    // Malformed objects are rejected and change nothing.
    assert!(a.upsert(&json!({"kind": "Role", "metadata": {"name": "x"}})).is_err());
    a.replace_all(&[cluster_role("r", pod_reader()), crb("c", "r", json!([{"kind": "User", "name": "z"}]))])
        .unwrap();
    assert_eq!((a.roles(), a.bindings()), (1, 1));
    assert!(a.is_allowed(&res(&user("z", &[]), "list", "", "pods", "", "")));
}

#[test]
fn explain_names_binding_role_and_rule() {
    let a = authz(&[
        cluster_role(
            "mixed",
            json!([{"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]},
                   {"verbs": ["create"], "apiGroups": [""], "resources": ["pods/exec"]}]),
        ),
        rb("prod", "ops", "ClusterRole", "mixed", json!([{"kind": "User", "name": "alice"}])),
    ]);
    let e = a.explain(&Attributes {
        subresource: "exec".into(),
        ..res(&user("alice", &[]), "create", "", "pods", "prod", "web-0")
    });
    assert!(e.allowed);
    assert_eq!(e.binding_kind, Some(BindingKind::RoleBinding));
    assert_eq!((e.binding_namespace.as_str(), e.binding_name.as_str()), ("prod", "ops"));
    assert_eq!((e.role_kind.as_str(), e.role_name.as_str()), ("ClusterRole", "mixed"));
    assert_eq!(e.rule_index, Some(1));
    assert_eq!(e.rule, Some(PolicyRule::resource(&["create"], &[""], &["pods/exec"])));
    assert_eq!(e.reason, r#"RBAC: allowed by RoleBinding "ops/prod" of ClusterRole "mixed" to User "alice""#);
    let denied = a.explain(&res(&user("alice", &[]), "delete", "", "pods", "prod", "web-0"));
    assert_eq!(denied, Explanation::default());
}

#[test]
fn rules_for_lists_applicable_rules_once_per_binding() {
    let a = authz(&[
        cluster_role("reader", pod_reader()),
        cluster_role("probe", json!([{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}])),
        crb("b1", "reader", json!([{"kind": "User", "name": "alice"}, {"kind": "Group", "name": "devs"}])),
        crb("b2", "probe", json!([{"kind": "Group", "name": "devs"}])),
        rb("ns1", "b3", "ClusterRole", "reader", json!([{"kind": "User", "name": "alice"}])),
    ]);
    let alice = user("alice", &["devs"]);
    let in_ns = a.rules_for(&alice, "ns1");
    assert_eq!((in_ns.resource_rules.len(), in_ns.non_resource_rules.len()), (2, 1));
    assert!(!in_ns.incomplete);
    let cluster = a.rules_for(&alice, "");
    assert_eq!((cluster.resource_rules.len(), cluster.non_resource_rules.len()), (1, 1));
}

#[test]
fn concurrent_reads_and_writes() {
    let a = Arc::new(authz(&[cluster_role("reader", pod_reader())]));
    let writer = {
        let a = a.clone();
        std::thread::spawn(move || {
            for i in 0..200 {
                let name = format!("u{i}");
                a.upsert(&crb(&name, "reader", json!([{"kind": "User", "name": name}]))).unwrap();
            }
        })
    };
    let reader = {
        let a = a.clone();
        std::thread::spawn(move || {
            let mut allowed = 0;
            for i in 0..2000 {
                if a.is_allowed(&res(&user(&format!("u{}", i % 200), &[]), "get", "", "pods", "", "")) {
                    allowed += 1;
                }
            }
            allowed
        })
    };
    writer.join().unwrap();
    let _ = reader.join().unwrap();
    for i in 0..200 {
        assert!(a.is_allowed(&res(&user(&format!("u{i}"), &[]), "get", "", "pods", "", "")));
    }
}

#[test]
fn cluster_role_bindings_are_walked_first() {
    let a = authz(&[
        cluster_role("reader", pod_reader()),
        rb("ns1", "a-local", "ClusterRole", "reader", json!([{"kind": "User", "name": "alice"}])),
        crb("z-global", "reader", json!([{"kind": "Group", "name": "devs"}])),
    ]);
    assert_eq!(
        a.authorize(&res(&user("alice", &["devs"]), "get", "", "pods", "ns1", "")).reason(),
        r#"RBAC: allowed by ClusterRoleBinding "z-global" of ClusterRole "reader" to Group "devs""#
    );
}

#[test]
fn many_groups_are_all_consulted() {
    let a = authz(&[
        cluster_role("reader", pod_reader()),
        rb("ns1", "late", "ClusterRole", "reader", json!([{"kind": "Group", "name": "g11"}])),
        crb("late-c", "reader", json!([{"kind": "Group", "name": "g10"}])),
    ]);
    let groups: Vec<String> = (0..12).map(|i| format!("g{i}")).collect();
    let many = UserInfo::new("m", groups);
    assert!(a.is_allowed(&res(&many, "get", "", "pods", "ns1", "")));
    assert_eq!(
        a.authorize(&res(&many, "get", "", "pods", "ns1", "")).reason(),
        r#"RBAC: allowed by ClusterRoleBinding "late-c" of ClusterRole "reader" to Group "g10""#
    );
    a.remove("ClusterRoleBinding", "", "late-c").unwrap();
    assert_eq!(
        a.authorize(&res(&many, "get", "", "pods", "ns1", "")).reason(),
        r#"RBAC: allowed by RoleBinding "late/ns1" of ClusterRole "reader" to Group "g11""#
    );
    assert!(!a.is_allowed(&res(&many, "get", "", "pods", "ns2", "")));
}
