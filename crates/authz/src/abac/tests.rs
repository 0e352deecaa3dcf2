use super::*;

fn user(name: &str, groups: &[&str]) -> UserInfo {
    UserInfo::new(name, groups.iter().map(|g| g.to_string()).collect())
}

fn res(u: UserInfo, verb: &str, ns: &str, group: &str, resource: &str) -> Attributes {
    Attributes {
        user: u,
        verb: verb.into(),
        resource_request: true,
        namespace: ns.into(),
        api_group: group.into(),
        resource: resource.into(),
        ..Default::default()
    }
}

fn path(u: UserInfo, verb: &str, p: &str) -> Attributes {
    Attributes { user: u, verb: verb.into(), path: p.into(), ..Default::default() }
}

const FILE: &str = r#"
# kube's example policies
{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": {"user": "alice", "namespace": "*", "resource": "*", "apiGroup": "*"}}
{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": {"user": "kubelet", "namespace": "*", "resource": "pods", "readonly": true}}
   # an indented comment
{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": {"user": "bob", "namespace": "projectCaribou", "resource": "pods", "readonly": true}}
{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": {"group": "system:authenticated", "readonly": true, "nonResourcePath": "/api*"}}
{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": {"user": "*", "readonly": true, "nonResourcePath": "/version"}}
{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": {"group": "ops", "namespace": "prod", "resource": "deployments", "apiGroup": "apps"}}

{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": {"namespace": "*", "resource": "*", "apiGroup": "*"}}
"#;

fn authz() -> AbacAuthorizer {
    AbacAuthorizer::parse(FILE, "policy.jsonl").unwrap()
}

fn allowed(a: &AbacAuthorizer, attrs: &Attributes) -> bool {
    match a.authorize(attrs) {
        Decision::Allow(r) => {
            assert_eq!(r, "");
            true
        }
        Decision::NoOpinion(r) => {
            assert_eq!(r, NO_POLICY_MATCHED);
            false
        }
        Decision::Deny(r) => panic!("ABAC never denies: {r}"),
    }
}

#[test]
fn loads_and_skips_comments_and_blank_lines() {
    assert_eq!(authz().policies().len(), 7);
}

#[test]
fn user_policies() {
    let a = authz();
    let alice = user("alice", &[]);
    assert!(allowed(&a, &res(alice.clone(), "delete", "x", "apps", "deployments")));
    assert!(allowed(&a, &res(alice, "create", "", "", "namespaces")));
    let kubelet = user("kubelet", &[]);
    assert!(allowed(&a, &res(kubelet.clone(), "list", "any", "", "pods")));
    assert!(!allowed(&a, &res(kubelet.clone(), "create", "any", "", "pods")));
    assert!(!allowed(&a, &res(kubelet, "get", "any", "", "secrets")));
    // apiGroup unset in a v1beta1 policy means the core group only.
    let bob = user("bob", &[]);
    assert!(allowed(&a, &res(bob.clone(), "watch", "projectCaribou", "", "pods")));
    assert!(!allowed(&a, &res(bob.clone(), "get", "projectCaribou", "apps", "pods")));
    assert!(!allowed(&a, &res(bob.clone(), "get", "other", "", "pods")));
    assert!(!allowed(&a, &res(bob, "update", "projectCaribou", "", "pods")));
}

#[test]
fn group_policies_and_non_resource_paths() {
    let a = authz();
    let carol = user("carol", &["system:authenticated"]);
    assert!(allowed(&a, &path(carol.clone(), "get", "/api")));
    assert!(allowed(&a, &path(carol.clone(), "get", "/apis/apps/v1")));
    assert!(!allowed(&a, &path(carol.clone(), "post", "/apis/apps/v1")));
    assert!(!allowed(&a, &path(carol.clone(), "get", "/healthz")));
    // `user: "*"` became the group system:authenticated.
    assert!(allowed(&a, &path(carol.clone(), "get", "/version")));
    assert!(!allowed(&a, &path(user("anon", &["system:unauthenticated"]), "get", "/version")));
    // A non-resource policy never grants a resource request and vice versa.
    assert!(!allowed(&a, &res(carol, "get", "", "", "api")));
    assert!(!allowed(&a, &path(user("alice", &[]), "get", "/healthz")));
    let ops = user("dan", &["ops"]);
    assert!(allowed(&a, &res(ops.clone(), "patch", "prod", "apps", "deployments")));
    assert!(!allowed(&a, &res(ops, "patch", "dev", "apps", "deployments")));
}

#[test]
fn a_policy_without_subject_matches_nobody() {
    let a = AbacAuthorizer::parse(
        r#"{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": {"namespace": "*", "resource": "*", "apiGroup": "*"}}"#,
        "p",
    )
    .unwrap();
    assert!(!allowed(&a, &res(user("x", &["system:authenticated"]), "get", "ns", "", "pods")));
}

#[test]
fn legacy_unversioned_lines_use_v0_defaults() {
    let a = AbacAuthorizer::parse(
        "{\"user\": \"admin\"}\n{\"readonly\": true, \"resource\": \"pods\"}\n{\"group\": \"*\", \"namespace\": \"ns1\"}\n",
        "legacy",
    )
    .unwrap();
    let p = a.policies();
    assert_eq!(
        p[0],
        PolicySpec {
            user: "admin".into(),
            api_group: "*".into(),
            resource: "*".into(),
            namespace: "*".into(),
            non_resource_path: "*".into(),
            ..Default::default()
        }
    );
    assert_eq!(p[1].group, ALL_AUTHENTICATED);
    assert_eq!((p[1].namespace.as_str(), p[1].non_resource_path.as_str()), ("*", ""));
    assert_eq!(
        (p[2].user.as_str(), p[2].group.as_str(), p[2].resource.as_str()),
        ("", ALL_AUTHENTICATED, "*")
    );
    let admin = user("admin", &[]);
    assert!(allowed(&a, &res(admin.clone(), "delete", "x", "apps", "deployments")));
    assert!(allowed(&a, &path(admin, "post", "/anything")));
    let someone = user("someone", &["system:authenticated"]);
    assert!(allowed(&a, &res(someone.clone(), "get", "x", "batch", "pods")));
    assert!(allowed(&a, &res(someone.clone(), "delete", "ns1", "", "secrets")));
    assert!(!allowed(&a, &res(someone, "delete", "ns2", "", "pods")));
    assert!(!allowed(&a, &res(user("anon", &["system:unauthenticated"]), "get", "x", "", "pods")));
}

#[test]
fn errors_carry_line_numbers() {
    let text = "# header\n\n{\"user\": \"a\"}\n{\"user\": 5}\n";
    let err = AbacAuthorizer::parse(text, "/etc/p.jsonl").unwrap_err();
    match &err {
        AbacError::Line { line, data, .. } => assert_eq!((*line, data.as_str()), (4, "{\"user\": 5}")),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().starts_with("error reading policy file /etc/p.jsonl, line 4: {\"user\": 5}: "));
    let err = AbacAuthorizer::parse("{not json", "f").unwrap_err();
    assert!(err.to_string().starts_with("error reading policy file f, line 1: {not json: "), "{err}");
    let err = AbacAuthorizer::parse("[1]", "f").unwrap_err();
    assert!(err.to_string().ends_with("a policy must be a JSON object"), "{err}");
    let missing = AbacAuthorizer::from_file(Path::new("/nonexistent/policy")).unwrap_err();
    assert!(matches!(missing, AbacError::Open { .. }), "{missing}");
}

#[test]
fn loads_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("abac.jsonl");
    std::fs::write(&file, FILE).unwrap();
    let a = AbacAuthorizer::from_file(&file).unwrap();
    assert_eq!(a.policies().len(), 7);
}

#[test]
fn rules_for_lists_matching_policies() {
    let a = authz();
    let rules = a.rules_for(&user("bob", &["system:authenticated"]), "projectCaribou");
    assert_eq!(
        rules.resource_rules,
        vec![ResourceRule {
            verbs: vec!["get".into(), "list".into(), "watch".into()],
            api_groups: vec!["".into()],
            resources: vec!["pods".into()],
            resource_names: vec![],
        }]
    );
    // kube matches the policy's namespace even for non-resource policies: an unset one
    // only shows for the empty namespace.
    assert!(rules.non_resource_rules.is_empty());
    let cluster = a.rules_for(&user("carol", &["system:authenticated"]), "");
    let urls: Vec<_> = cluster.non_resource_rules.iter().map(|r| r.non_resource_urls[0].as_str()).collect();
    assert_eq!(urls, ["/api*", "/version"]);
    assert!(!rules.incomplete);
    let other_ns = a.rules_for(&user("bob", &[]), "default");
    assert!(other_ns.resource_rules.is_empty() && other_ns.non_resource_rules.is_empty());
    let alice = a.rules_for(&user("alice", &[]), "default");
    assert_eq!(alice.resource_rules[0].verbs, vec!["*".to_string()]);
}

#[test]
fn index_agrees_with_a_scan() {
    let a = authz();
    let users = [
        user("alice", &[]),
        user("bob", &["ops"]),
        user("kubelet", &["system:authenticated"]),
        user("zed", &["system:authenticated", "ops"]),
    ];
    for u in &users {
        for verb in ["get", "list", "delete", "patch"] {
            for (ns, group, resource) in
                [("prod", "apps", "deployments"), ("projectCaribou", "", "pods"), ("", "", "nodes")]
            {
                let attrs = res(u.clone(), verb, ns, group, resource);
                let scan = a.policies().iter().any(|p| p.matches(&attrs));
                assert_eq!(a.authorize(&attrs).is_allowed(), scan, "{attrs:?}");
            }
            let attrs = path(u.clone(), verb, "/apis/x");
            assert_eq!(a.authorize(&attrs).is_allowed(), a.policies().iter().any(|p| p.matches(&attrs)));
        }
    }
}
