use super::*;

fn req(method: &str, path: &str) -> RequestInfo {
    RequestInfo::new(method, path, None)
}

fn user(name: &str, groups: &[&str]) -> UserInfo {
    UserInfo::new(name, groups.iter().map(|g| g.to_string()).collect())
}

fn policy(text: &str) -> Policy {
    match Policy::parse(text) {
        Ok((p, _)) => p,
        Err(problems) => panic!("{problems:?}"),
    }
}

fn problems(text: &str) -> Vec<String> {
    Policy::parse(text).expect_err("the policy is refused").iter().map(|p| p.to_string()).collect()
}

const HEAD: &str = "apiVersion: audit.k8s.io/v1\nkind: Policy\n";

#[test]
fn first_matching_rule_wins_and_no_match_is_none() {
    let p = policy(&format!(
        "{HEAD}omitStages: [RequestReceived]\nrules:\n\
         - level: None\n  users: [system:kube-proxy]\n  verbs: [watch]\n\
         - level: RequestResponse\n  userGroups: [dev]\n  resources:\n  - group: \"\"\n    resources: [pods/log, \"*/status\"]\n\
         - level: Request\n  resources:\n  - group: apps\n    resources: [deployments]\n    resourceNames: [web]\n\
         - level: Metadata\n  namespaces: [kube-system]\n  omitStages: [ResponseStarted]\n\
         - level: Metadata\n  nonResourceURLs: [/healthz*, /version]\n  omitManagedFields: true\n"
    ));
    let proxy = user("system:kube-proxy", &[]);
    let dev = user("jane", &["dev"]);
    let eval = |u: Option<&UserInfo>, m: &str, p2: &str| p.evaluate(u, &req(m, p2));
    assert_eq!(eval(Some(&proxy), "GET", "/api/v1/pods").level, Level::None, "a list is no rule's");
    let w = p.evaluate(Some(&proxy), &RequestInfo::new("GET", "/api/v1/pods", Some("watch=true")));
    assert_eq!(w.level, Level::None);
    assert_eq!(eval(Some(&dev), "GET", "/api/v1/namespaces/d/pods/x/log").level, Level::RequestResponse);
    assert_eq!(eval(Some(&dev), "PUT", "/api/v1/namespaces/d/pods/x/status").level, Level::RequestResponse);
    assert_eq!(
        eval(Some(&dev), "GET", "/api/v1/namespaces/d/pods/x").level,
        Level::None,
        "pods alone is not pods/log"
    );
    assert_eq!(eval(None, "GET", "/api/v1/namespaces/d/pods/x/log").level, Level::None, "no user, no group");
    let web = eval(None, "GET", "/apis/apps/v1/namespaces/d/deployments/web");
    assert_eq!(web.level, Level::Request);
    assert!(web.omit_stages.contains(Stage::RequestReceived), "the policy's omitStages apply to every rule");
    assert_eq!(eval(None, "GET", "/apis/apps/v1/namespaces/d/deployments/api").level, Level::None);
    let ks = eval(None, "GET", "/api/v1/namespaces/kube-system/configmaps");
    assert_eq!(ks.level, Level::Metadata);
    assert!(
        ks.omit_stages.contains(Stage::ResponseStarted) && ks.omit_stages.contains(Stage::RequestReceived)
    );
    assert!(!ks.omit_stages.contains(Stage::ResponseComplete));
    let h = eval(None, "GET", "/healthz/ready");
    assert_eq!((h.level, h.omit_managed_fields), (Level::Metadata, true));
    assert_eq!(eval(None, "GET", "/version").level, Level::Metadata);
    assert_eq!(eval(None, "GET", "/versions").level, Level::None);
    assert_eq!(eval(None, "GET", "/api/v1/namespaces/x/secrets").level, Level::None);
    assert!(!eval(None, "GET", "/api/v1/namespaces/x/secrets").omit_stages.contains(Stage::Panic));
}

fn resource_matches(pattern: &str, resource: &str, sub: &str) -> bool {
    ResourcePattern::parse(pattern).matches(resource, sub)
}

#[test]
fn resource_patterns_as_kube() {
    assert!(resource_matches("*", "pods", "log"));
    assert!(resource_matches("pods", "pods", ""));
    assert!(!resource_matches("pods", "pods", "log"));
    assert!(resource_matches("pods/log", "pods", "log"));
    assert!(resource_matches("*/log", "pods", "log"));
    assert!(!resource_matches("*/log", "pods", ""));
    assert!(resource_matches("pods/*", "pods", "log"));
    assert!(resource_matches("pods/*", "pods", ""));
    assert!(!resource_matches("pods/*", "services", ""));
    assert!(!resource_matches("*/*", "pods", "log"), "only a subresource named `*`");
    assert!(!resource_matches("pods/log", "pods", ""));
}

#[test]
fn omit_managed_fields_rule_overrides_policy() {
    let p = policy(&format!(
        "{HEAD}omitManagedFields: true\nrules:\n- level: Request\n  verbs: [create]\n  omitManagedFields: false\n- level: Request\n"
    ));
    assert!(!p.evaluate(None, &req("POST", "/api/v1/namespaces/d/configmaps")).omit_managed_fields);
    assert!(p.evaluate(None, &req("PUT", "/api/v1/namespaces/d/configmaps/x")).omit_managed_fields);
}

#[test]
fn secret_bodies_need_secrets_named() {
    let p = policy(&format!(
        "{HEAD}rules:\n- level: Request\n  resources:\n  - group: \"\"\n    resources: [secrets]\n- level: RequestResponse\n"
    ));
    let s = p.evaluate(None, &req("POST", "/api/v1/namespaces/d/secrets"));
    assert!(s.secret_bodies && s.level == Level::Request);
    let wild = policy(&format!("{HEAD}rules:\n- level: RequestResponse\n"));
    assert!(!wild.evaluate(None, &req("POST", "/api/v1/namespaces/d/secrets")).secret_bodies);
    let default = Policy::default_metadata().evaluate(None, &req("GET", "/api/v1/namespaces/d/secrets/x"));
    assert_eq!((default.level, default.secret_bodies), (Level::Metadata, false));
}

#[test]
fn garbled_policies_name_the_line_and_reason() {
    let p = problems(&format!("{HEAD}rules:\n- level: Everything\n"));
    assert_eq!(
        p,
        [
            r#"line 4: rules[0].level: Unsupported value: "Everything": supported values: "None", "Metadata", "Request", "RequestResponse""#
        ]
    );
    let p = problems(&format!("{HEAD}rules:\n- level: None\n- verbs: [get]\n  users: [a]\n"));
    assert_eq!(p, ["line 5: rules[1].level: Required value"]);
    let p = problems(&format!("{HEAD}rules:\n- level: None\n  omitStages: [ResponseDone]\n"));
    assert_eq!(
        p,
        [
            r#"line 5: rules[0].omitStages[0]: Invalid value: "ResponseDone": allowed stages are RequestReceived,ResponseStarted,ResponseComplete,Panic"#
        ]
    );
    let p = problems(&format!("{HEAD}rules:\n- level: None\n  nonResourceURLs:\n  - healthz\n  - /a*b\n"));
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(p[0].starts_with(
        "line 6: rules[0].nonResourceURLs[0]: Invalid value: \"healthz\": non-resource URL rules must begin"
    ));
    assert!(p[1].starts_with(
        "line 7: rules[0].nonResourceURLs[1]: Invalid value: \"/a*b\": non-resource URL wildcards"
    ));
    let p = problems(&format!("{HEAD}rules:\n- level: None\n  namespaces: [a]\n  nonResourceURLs: [/x]\n"));
    assert_eq!(p.len(), 1);
    assert!(p[0].starts_with(
        "line 4: rules[0].nonResourceURLs: Invalid value: []string{\"/x\"}: rules cannot apply to both"
    ));
    let p = problems(&format!(
        "{HEAD}rules:\n- level: None\n  resources:\n  - group: Apps/v1\n  - resourceNames: [x]\n"
    ));
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(
        p[0].starts_with(
            "line 6: rules[0].resources.group: Invalid value: \"Apps/v1\": a lowercase RFC 1123 subdomain"
        ),
        "{p:?}"
    );
    assert!(p[1].starts_with("line 7: rules[0].resources.resourceNames: Invalid value: []string{\"x\"}: using resourceNames requires"), "{p:?}");
    assert_eq!(problems(&format!("{HEAD}rules: []\n")), ["loaded illegal policy with 0 rules"]);
    let p = problems("apiVersion: audit.k8s.io/v1beta1\nkind: Policy\nrules:\n- level: None\n");
    assert_eq!(
        p,
        [
            r#"line 1: apiVersion: Unsupported value: "audit.k8s.io/v1beta1": supported values: "audit.k8s.io/v1""#
        ]
    );
    // Syntax and type errors come from the YAML reader, with their line.
    let p = problems(&format!("{HEAD}rules:\n- level: None\n  verbs: get\n"));
    assert!(p[0].starts_with("line 5: "), "{p:?}");
    let p = problems(&format!("{HEAD}rules:\n- level: None\n   users: [a\n"));
    assert!(p[0].starts_with("line "), "{p:?}");
}

#[test]
fn unknown_fields_are_warned_about() {
    let (_, warnings) =
        Policy::parse(&format!("{HEAD}metadata:\n  name: x\nrules:\n- level: None\n  verb: [get]\n"))
            .unwrap();
    assert_eq!(warnings, ["rules[0].verb"]);
}

#[test]
fn the_bench_policies_give_the_bench_get_the_same_events() {
    // bench/run's audit policy row compares these two policies: for its ConfigMap GET they must
    // decide alike, so that the row measures the evaluation alone.
    let realistic = policy(include_str!("../../../../bench/audit-policy.yaml"));
    let one_rule = policy(include_str!("../../../../bench/audit-policy-metadata.yaml"));
    let admin = user("kubeward-admin", &["kubeward:admins", "system:authenticated"]);
    let get = req("GET", "/api/v1/namespaces/bench-list/configmaps/cm-0");
    let (a, b) = (realistic.evaluate(Some(&admin), &get), one_rule.evaluate(Some(&admin), &get));
    // At Metadata no body is recorded, so whether a rule names Secrets (`secret_bodies`) and
    // omitManagedFields change nothing in the event.
    assert_eq!((a.level, a.omit_stages), (b.level, b.omit_stages));
    assert_eq!(a.level, Level::Metadata);
    assert!(a.omit_stages.contains(Stage::RequestReceived));
    // The realistic one is a real policy: its earlier rules drop, and its later ones record more.
    let node = user("system:node:n1", &["system:nodes"]);
    assert_eq!(realistic.evaluate(Some(&node), &req("GET", "/api/v1/nodes/n1")).level, Level::None);
    assert_eq!(realistic.evaluate(Some(&admin), &req("GET", "/healthz")).level, Level::None);
    assert_eq!(
        realistic.evaluate(Some(&admin), &req("GET", "/api/v1/namespaces/d/pods/p")).level,
        Level::Request
    );
    let create = req("POST", "/apis/apps/v1/namespaces/d/deployments");
    assert_eq!(realistic.evaluate(Some(&admin), &create).level, Level::RequestResponse);
    assert_eq!(
        realistic.evaluate(Some(&admin), &req("GET", "/apis/example.com/v1/widgets")).level,
        Level::Metadata
    );
}
