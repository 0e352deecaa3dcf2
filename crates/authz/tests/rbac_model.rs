//! Property test: the indexed RBAC authorizer against the naive kube-style walk, over random
//! roles, bindings, edits and requests drawn from a small vocabulary (so they collide).

use apimachinery::{Attributes, Decision, UserInfo};
use authz::naive::NaiveRbac;
use authz::{Authorizer, RbacAuthorizer, RuleResolver, SubjectRules};
use proptest::prelude::*;
use serde_json::{json, Value};

const USERS: &[&str] = &["alice", "bob", "system:serviceaccount:ns1:sa", "system:serviceaccount:ns2:sa", ""];
const GROUPS: &[&str] = &["g1", "g2", "system:authenticated", ""];
const NAMESPACES: &[&str] = &["", "ns1", "ns2"];
const VERBS: &[&str] = &["get", "list", "*", ""];
const API_GROUPS: &[&str] = &["", "apps", "*"];
const RESOURCES: &[&str] = &["pods", "pods/exec", "*/exec", "*", "", "a/b", "deployments"];
const REQ_RESOURCES: &[(&str, &str)] =
    &[("pods", ""), ("pods", "exec"), ("a", "b"), ("a/b", ""), ("", ""), ("deployments", "exec")];
const NAMES: &[&str] = &["", "n1"];
const URLS: &[&str] = &["/healthz", "/healthz/*", "*", "/api", "", "/h*"];
const PATHS: &[&str] = &["/healthz", "/healthz/x", "/api", "", "/h", "/x"];
const ROLE_NAMES: &[&str] = &["r1", "r2", "missing"];
const BINDING_NAMES: &[&str] = &["b1", "b2", "b3"];

fn pick(list: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
    prop::sample::select(list)
}

fn subset(list: &'static [&'static str], max: usize) -> impl Strategy<Value = Vec<&'static str>> {
    prop::collection::vec(pick(list), 0..=max)
}

fn rule() -> impl Strategy<Value = Value> {
    (subset(VERBS, 2), subset(API_GROUPS, 2), subset(RESOURCES, 2), subset(NAMES, 1), subset(URLS, 2))
        .prop_map(|(v, g, r, n, u)| {
            json!({"verbs": v, "apiGroups": g, "resources": r, "resourceNames": n, "nonResourceURLs": u})
        })
}

fn role() -> impl Strategy<Value = Value> {
    (any::<bool>(), pick(&NAMESPACES[1..]), pick(ROLE_NAMES), prop::collection::vec(rule(), 0..3)).prop_map(
        |(cluster, ns, name, rules)| {
            if cluster {
                json!({"kind": "ClusterRole", "metadata": {"name": name}, "rules": rules})
            } else {
                json!({"kind": "Role", "metadata": {"name": name, "namespace": ns}, "rules": rules})
            }
        },
    )
}

fn subject() -> impl Strategy<Value = Value> {
    prop_oneof![
        pick(USERS).prop_map(|n| json!({"kind": "User", "name": n})),
        pick(GROUPS).prop_map(|n| json!({"kind": "Group", "name": n})),
        (pick(&["sa", "other"]), pick(NAMESPACES))
            .prop_map(|(n, ns)| json!({"kind": "ServiceAccount", "name": n, "namespace": ns})),
        pick(USERS).prop_map(|n| json!({"kind": "Robot", "name": n})),
    ]
}

fn binding() -> impl Strategy<Value = Value> {
    (
        any::<bool>(),
        pick(&NAMESPACES[1..]),
        pick(BINDING_NAMES),
        pick(&["Role", "ClusterRole", "Bogus"]),
        pick(ROLE_NAMES),
        prop::collection::vec(subject(), 0..3),
    )
        .prop_map(|(cluster, ns, name, rk, rn, subjects)| {
            let role_ref = json!({"apiGroup": "rbac.authorization.k8s.io", "kind": rk, "name": rn});
            if cluster {
                json!({"kind": "ClusterRoleBinding", "metadata": {"name": name}, "roleRef": role_ref, "subjects": subjects})
            } else {
                json!({"kind": "RoleBinding", "metadata": {"name": name, "namespace": ns}, "roleRef": role_ref, "subjects": subjects})
            }
        })
}

#[derive(Debug, Clone)]
enum Op {
    Upsert(Value),
    Remove(&'static str, &'static str, &'static str),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => role().prop_map(Op::Upsert),
        4 => binding().prop_map(Op::Upsert),
        1 => (
            pick(&["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"]),
            pick(NAMESPACES),
            pick(&["r1", "r2", "b1", "b2"])
        )
            .prop_map(|(k, ns, n)| Op::Remove(k, ns, n)),
    ]
}

fn request() -> impl Strategy<Value = Attributes> {
    (
        pick(USERS),
        subset(GROUPS, 2),
        pick(VERBS),
        any::<bool>(),
        pick(API_GROUPS),
        prop::sample::select(REQ_RESOURCES),
        pick(NAMESPACES),
        pick(NAMES),
        pick(PATHS),
    )
        .prop_map(|(u, groups, verb, resource_request, group, (res, sub), ns, name, path)| Attributes {
            user: UserInfo::new(u, groups.iter().map(|g| g.to_string()).collect()),
            verb: verb.into(),
            resource_request,
            path: path.into(),
            namespace: ns.into(),
            api_group: group.into(),
            resource: res.into(),
            subresource: sub.into(),
            name: name.into(),
            ..Default::default()
        })
}

fn sorted(mut rules: SubjectRules) -> (Vec<String>, Vec<String>, Vec<String>) {
    let mut r: Vec<String> = rules.resource_rules.iter().map(|x| format!("{x:?}")).collect();
    let mut n: Vec<String> = rules.non_resource_rules.iter().map(|x| format!("{x:?}")).collect();
    r.sort();
    n.sort();
    rules.evaluation_errors.sort();
    (r, n, rules.evaluation_errors)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn indexed_matches_naive(ops in prop::collection::vec(op(), 0..14), requests in prop::collection::vec(request(), 1..12)) {
        let indexed = RbacAuthorizer::new();
        let mut naive = NaiveRbac::new();
        for op in &ops {
            match op {
                Op::Upsert(obj) => {
                    indexed.upsert(obj).unwrap();
                    naive.upsert(obj).unwrap();
                }
                Op::Remove(kind, ns, name) => {
                    indexed.remove(kind, ns, name).unwrap();
                    naive.remove(kind, ns, name);
                }
            }
        }
        for attrs in &requests {
            let got = indexed.authorize(attrs);
            let want = naive.authorize(attrs);
            prop_assert_eq!(got.is_allowed(), want.is_allowed(), "{:?}", attrs);
            prop_assert_eq!(indexed.is_allowed(attrs), want.is_allowed());
            match &got {
                Decision::Allow(reason) => {
                    let reasons = naive.allowing_reasons(attrs);
                    prop_assert!(reasons.contains(reason), "{} not in {:?}", reason, reasons);
                    // ClusterRoleBindings are walked before RoleBindings, as in kube.
                    let crb = "RBAC: allowed by ClusterRoleBinding";
                    if reasons.iter().any(|r| r.starts_with(crb)) {
                        prop_assert!(reason.starts_with(crb), "{}", reason);
                    }
                }
                other => prop_assert_eq!(other, &want),
            }
            let explained = indexed.explain(attrs);
            prop_assert_eq!(explained.allowed, want.is_allowed());
            prop_assert_eq!(explained.reason.as_str(), got.reason());
            prop_assert_eq!(
                sorted(indexed.rules_for(&attrs.user, &attrs.namespace)),
                sorted(naive.rules_for(&attrs.user, &attrs.namespace))
            );
        }
    }
}
