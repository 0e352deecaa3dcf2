//! AuthorizationConfiguration: decoding, kube's defaults and its validation texts.

use super::*;

fn invalid(text: &str) -> String {
    match parse(text).and_then(|c| validate(&c, &[]).map(|_| c)) {
        Err(e) => e.to_string(),
        Ok(c) => panic!("accepted: {c:?}"),
    }
}

const KUBECONFIG_ABSENT: &str = "/nonexistent/kubeward/webhook.kubeconfig";

#[test]
fn every_version_decodes_with_kubes_defaults() {
    for version in VERSIONS {
        let text = format!(
            "apiVersion: apiserver.config.k8s.io/{version}\nkind: AuthorizationConfiguration\nauthorizers:\n- type: Node\n  name: node\n- type: Webhook\n  name: first.example.com\n  webhook:\n    timeout: 3s\n    subjectAccessReviewVersion: v1\n    failurePolicy: Deny\n    connectionInfo:\n      type: KubeConfigFile\n      kubeConfigFile: /etc/w.kubeconfig\n"
        );
        let c = parse(&text).unwrap();
        assert_eq!(c.authorizers.len(), 2);
        let w = c.authorizers[1].webhook.as_ref().unwrap();
        assert_eq!(
            (w.authorized_ttl, w.unauthorized_ttl),
            (GoDuration(300_000_000_000), GoDuration(30_000_000_000))
        );
        assert!(w.cache_authorized_requests && w.cache_unauthorized_requests);
        assert_eq!(w.timeout, GoDuration(3_000_000_000));
    }
}

#[test]
fn kube_decoding_errors() {
    assert_eq!(
        invalid("apiVersion: apiserver.config.k8s.io/v2\nkind: AuthorizationConfiguration\n"),
        "failed to load AuthorizationConfiguration from file: no kind \"AuthorizationConfiguration\" is registered for version \"apiserver.config.k8s.io/v2\" in scheme"
    );
    assert_eq!(
        invalid("apiVersion: apiserver.config.k8s.io/v1\nkind: AuthorizationConfiguration\nauthorizers:\n- type: Node\n  nmae: node\n"),
        "failed to load AuthorizationConfiguration from file: strict decoding error: unknown field \"authorizers[0].nmae\""
    );
    let e = invalid("apiVersion: apiserver.config.k8s.io/v1\nkind: AuthorizationConfiguration\nauthorizers:\n- type: Webhook\n  name: w\n  webhook:\n    timeout: soon\n");
    assert_eq!(e, "failed to load AuthorizationConfiguration from file: time: invalid duration \"soon\"");
}

#[test]
fn kube_validation_errors() {
    assert_eq!(
        invalid("apiVersion: apiserver.config.k8s.io/v1\nkind: AuthorizationConfiguration\n"),
        "authorizers: Required value: at least one authorization mode must be defined"
    );
    let text = format!(
        r#"apiVersion: apiserver.config.k8s.io/v1
kind: AuthorizationConfiguration
authorizers:
- type: Magic
  name: magic
- type: RBAC
  name: rbac
- type: RBAC
  name: rbac2
- type: Node
  name: NODE
  webhook: {{}}
- type: Webhook
  name: w
- type: Webhook
  name: w2
  webhook:
    timeout: 45s
    subjectAccessReviewVersion: v2
    failurePolicy: Allow
    connectionInfo:
      type: KubeConfigFile
      kubeConfigFile: {KUBECONFIG_ABSENT}
    matchConditions:
    - expression: request.user
    - expression: "request.user == 'a'"
    - expression: "request.user == 'a'"
- type: Webhook
  name: w3
  webhook:
    timeout: 5s
    subjectAccessReviewVersion: v1
    failurePolicy: NoOpinion
    connectionInfo:
      type: InClusterConfig
"#
    );
    let e = invalid(&text);
    let expected = [
        r#"authorizers[0].type: Unsupported value: "Magic": supported values: "ABAC", "AlwaysAllow", "AlwaysDeny", "Node", "RBAC", "Webhook""#,
        r#"authorizers[2].type: Duplicate value: "RBAC""#,
        r#"authorizers[3].name: Invalid value: "NODE": authorizer name is invalid: a lowercase RFC 1123 subdomain"#,
        r#"authorizers[3].webhook: Invalid value: "non-null": may only be specified when type=Webhook"#,
        "authorizers[4].webhook: Required value: required when type=Webhook",
        r#"authorizers[5].timeout: Invalid value: "45s": must be > 0s and <= 30s"#,
        r#"authorizers[5].subjectAccessReviewVersion: Unsupported value: "v2": supported values: "v1", "v1beta1""#,
        "authorizers[5].matchConditionSubjectAccessReviewVersion: Required value: required if match conditions are specified",
        r#"authorizers[5].failurePolicy: Unsupported value: "Allow": supported values: "NoOpinion", "Deny""#,
        r#"authorizers[5].connectionInfo.kubeConfigFile: Invalid value: "/nonexistent/kubeward/webhook.kubeconfig": error loading file: stat /nonexistent/kubeward/webhook.kubeconfig: no such file or directory"#,
        r#"authorizers[5].matchConditions[0].expression: Invalid value: "request.user": must evaluate to bool but got string"#,
        r#"authorizers[5].matchConditions[2].expression: Duplicate value: "request.user == 'a'""#,
        r#"authorizers[6].connectionInfo.type: Invalid value: "InClusterConfig": InClusterConfig is not allowed"#,
    ];
    assert!(e.starts_with('[') && e.ends_with(']'), "{e}");
    let mut at = 0;
    for want in expected {
        let found = e[at..].find(want).map(|i| i + at);
        assert!(found.is_some(), "missing, or out of order: {want}\nin {e}");
        at = found.unwrap_or(at);
    }
}

#[test]
fn kube_apiserver_checks_names_and_required_types() {
    let text = "apiVersion: apiserver.config.k8s.io/v1\nkind: AuthorizationConfiguration\nauthorizers:\n- type: Node\n  name: nodes\n- type: AlwaysAllow\n  name: alwaysallow\n";
    let c = parse(text).unwrap();
    assert_eq!(
        validate(&c, &["RBAC".into(), "Node".into()]).unwrap_err().to_string(),
        "[expected name node for authorizer Node instead of nodes, missing required types: [RBAC]]"
    );
}

#[test]
fn go_duration_strings() {
    for (nanos, want) in [
        (0, "0s"),
        (45_000_000_000, "45s"),
        (90_000_000_000, "1m30s"),
        (3_600_000_000_000, "1h0m0s"),
        (1_500_000_000, "1.5s"),
        (-5_000_000_000, "-5s"),
        (250_000_000, "250ms"),
    ] {
        assert_eq!(go_duration_string(GoDuration(nanos)), want);
    }
}
