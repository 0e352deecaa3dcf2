//! Bootstrap policy against kube's golden data and a few well-known grants.

use std::collections::BTreeMap;
use std::path::PathBuf;

use apimachinery::{Attributes, UserInfo};
use serde_json::Value;

use super::*;
use crate::aggregation::aggregated;
use crate::policy::PolicyRule;
use crate::rbac::RbacAuthorizer;

fn rules_by_name(roles: &[Value]) -> BTreeMap<String, Vec<PolicyRule>> {
    roles
        .iter()
        .map(|r| {
            let name = r["metadata"]["name"].as_str().unwrap_or_default().to_string();
            let rules: Vec<PolicyRule> = match &r["rules"] {
                Value::Null => Vec::new(),
                v => serde_json::from_value(v.clone()).unwrap(),
            };
            (name, rules)
        })
        .collect()
}

#[test]
fn matches_golden_cluster_roles() {
    // CI lays shared/ beside the repository (`<manifest>/../../../shared`); a worktree may
    // sit deeper, so every ancestor is tried.
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let golden = manifest
        .ancestors()
        .map(|dir| dir.join("shared/golden/rbac-bootstrap/cluster-roles.yaml"))
        .find(|p| p.exists());
    let Some(text) = golden.and_then(|p| std::fs::read_to_string(p).ok()) else {
        testkit::skip("shared/golden/rbac-bootstrap/cluster-roles.yaml absent: golden comparison not made");
        return;
    };
    let list: Value = apimachinery::yaml::from_str(&text).unwrap();
    let golden = rules_by_name(list["items"].as_array().unwrap());
    let ours = rules_by_name(&cluster_roles());
    assert_eq!(ours.len(), 31);
    // The shared golden file may be an older kube's: the same roles, each of its rules in ours
    // (kube 1.34 added rules, for resource.k8s.io, and removed none).
    assert_eq!(ours.keys().collect::<Vec<_>>(), golden.keys().collect::<Vec<_>>());
    for (name, rules) in &golden {
        for rule in rules {
            assert!(ours[name].contains(rule), "{name}: {rule:?} missing");
        }
    }
}

#[test]
fn embedded_files_parse_with_expected_counts() {
    assert_eq!(cluster_roles().len(), 31);
    let roles = namespace_roles();
    assert_eq!(roles.len(), 7);
    assert!(roles.iter().all(|r| r["metadata"]["namespace"].as_str().is_some_and(|n| !n.is_empty())));
    assert_eq!(namespace_role_bindings().len(), 7);
    let crbs = cluster_role_bindings();
    for b in &crbs {
        assert_eq!(b["metadata"]["labels"][BOOTSTRAPPING_LABEL], "rbac-defaults");
        assert_eq!(b["metadata"]["annotations"][AUTOUPDATE_ANNOTATION], "true");
    }
    // Every default binding names an existing default role.
    let roles = cluster_roles();
    let names: Vec<&str> = roles.iter().filter_map(|r| r["metadata"]["name"].as_str()).collect();
    for b in &crbs {
        let role = b["roleRef"]["name"].as_str().unwrap();
        assert!(names.contains(&role), "{role}");
    }
    // Every controller role has its binding, to its controller's service account.
    let controllers = controller_roles();
    let bindings = controller_role_bindings();
    assert_eq!((controllers.len(), bindings.len()), (37, 37));
    for (role, binding) in controllers.iter().zip(&bindings) {
        assert_eq!(role["metadata"]["name"], binding["roleRef"]["name"]);
        assert_eq!(binding["subjects"][0]["namespace"], "kube-system");
    }
    // The whole policy loads into the authorizer.
    let authz = RbacAuthorizer::from_objects(&all()).unwrap();
    assert_eq!(authz.bindings(), crbs.len() + 37 + 7);
}

fn bootstrapped() -> RbacAuthorizer {
    let mut objs = aggregated(&cluster_roles());
    objs.extend(namespace_roles());
    objs.extend(cluster_role_bindings());
    objs.extend(namespace_role_bindings());
    RbacAuthorizer::from_objects(&objs).unwrap()
}

fn can(a: &RbacAuthorizer, user: &UserInfo, verb: &str, group: &str, resource: &str, ns: &str) -> bool {
    a.is_allowed(&Attributes {
        user: user.clone(),
        verb: verb.into(),
        resource_request: true,
        api_group: group.into(),
        resource: resource.into(),
        namespace: ns.into(),
        ..Default::default()
    })
}

fn can_path(a: &RbacAuthorizer, user: &UserInfo, verb: &str, path: &str) -> bool {
    a.is_allowed(&Attributes {
        user: user.clone(),
        verb: verb.into(),
        path: path.into(),
        ..Default::default()
    })
}

#[test]
fn well_known_grants() {
    let a = bootstrapped();
    let viewer = UserInfo::new("v", vec![]);
    a.upsert(&serde_json::json!({"kind": "RoleBinding", "metadata": {"name": "v", "namespace": "team"},
        "roleRef": {"kind": "ClusterRole", "name": "view"}, "subjects": [{"kind": "User", "name": "v"}]}))
        .unwrap();
    for verb in ["get", "list", "watch"] {
        assert!(can(&a, &viewer, verb, "", "pods", "team"), "view {verb} pods");
    }
    assert!(!can(&a, &viewer, "delete", "", "pods", "team"));
    assert!(!can(&a, &viewer, "get", "", "secrets", "team"));
    assert!(!can(&a, &viewer, "get", "", "pods", "other"));

    let admin = UserInfo::new("root", vec!["system:masters".into()]);
    assert!(can(&a, &admin, "escalate", "rbac.authorization.k8s.io", "clusterroles", ""));
    assert!(can_path(&a, &admin, "delete", "/anything"));
    let cluster_admin = rules_by_name(&cluster_roles()).remove("cluster-admin").unwrap();
    assert_eq!(
        cluster_admin,
        vec![PolicyRule::resource(&["*"], &["*"], &["*"]), PolicyRule::non_resource(&["*"], &["*"])]
    );

    let authed = UserInfo::new("someone", vec![]).with_authenticated_group();
    assert!(can_path(&a, &authed, "get", "/api"));
    assert!(can_path(&a, &authed, "get", "/apis/apps/v1"));
    assert!(can_path(&a, &authed, "get", "/version"));
    assert!(can_path(&a, &authed, "get", "/healthz"));
    assert!(can(&a, &authed, "create", "authorization.k8s.io", "selfsubjectaccessreviews", ""));
    assert!(!can(&a, &authed, "list", "", "pods", "default"));
    let anon = UserInfo::anonymous();
    assert!(can_path(&a, &anon, "get", "/healthz"));
    assert!(can_path(&a, &anon, "get", "/version"));
    assert!(!can_path(&a, &anon, "get", "/api"));
    let sa = UserInfo::new("system:serviceaccount:kube-system:kube-dns", vec![]);
    assert!(can(&a, &sa, "list", "", "services", ""));
    let scheduler = UserInfo::new("system:kube-scheduler", vec![]);
    assert!(can(&a, &scheduler, "create", "", "bindings", "default"));
}
