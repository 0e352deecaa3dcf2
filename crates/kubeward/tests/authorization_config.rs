//! `--authorization-config` end to end (issue 18): kube's AuthorizationConfiguration with
//! Node, RBAC and several webhooks, each with its own connection, CEL `matchConditions`
//! on the SubjectAccessReview, its SubjectAccessReview version and its failure policy;
//! the file reloaded without a restart (a bad file logged, the configuration in force
//! kept); kube's errors at start (with --authorization-mode, an invalid file).

#[allow(dead_code)] // the helpers the authorizers tests share; a few are used here
mod authz;
mod support;

use authz::{assert_status, cert_files, curl_as, webhook_kubeconfig};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::more::webhook::Webhook;
use support::more::{retry, Cluster, FlagServer};
use support::run;

/// The first webhook: wendy may read pods.
fn teams(review: &Value) -> Value {
    let spec = &review["spec"];
    let a = &spec["resourceAttributes"];
    let allowed = spec["user"] == "wendy"
        && a["resource"] == "pods"
        && matches!(a["verb"].as_str(), Some("get" | "list"));
    let status = if allowed {
        json!({"allowed": true, "reason": "wendy reads pods"})
    } else {
        json!({"allowed": false})
    };
    json!({"apiVersion": review["apiVersion"], "kind": "SubjectAccessReview", "status": status})
}

/// The second webhook (v1beta1 reviews): mallory is denied everything.
fn guard(review: &Value) -> Value {
    let status = if review["spec"]["user"] == "mallory" {
        json!({"allowed": false, "denied": true, "reason": "mallory is suspended"})
    } else {
        json!({"allowed": false})
    };
    json!({"apiVersion": review["apiVersion"], "kind": "SubjectAccessReview", "status": status})
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write file");
    path.display().to_string()
}

/// A webhook authorizer's entry.
fn webhook_entry(name: &str, kubeconfig: &str, failure: &str, version: &str, conditions: &[&str]) -> String {
    let mut s = format!(
        "- type: Webhook\n  name: {name}\n  webhook:\n    timeout: 3s\n    subjectAccessReviewVersion: {version}\n    matchConditionSubjectAccessReviewVersion: v1\n    failurePolicy: {failure}\n    connectionInfo:\n      type: KubeConfigFile\n      kubeConfigFile: {kubeconfig}\n"
    );
    if !conditions.is_empty() {
        s.push_str("    matchConditions:\n");
        for c in conditions {
            s.push_str(&format!("    - expression: {c:?}\n"));
        }
    }
    s
}

fn config(entries: &[String]) -> String {
    format!(
        "apiVersion: apiserver.config.k8s.io/v1\nkind: AuthorizationConfiguration\nauthorizers:\n- type: Node\n  name: node\n{}- type: RBAC\n  name: rbac\n",
        entries.concat()
    )
}

/// A kubeconfig naming a webhook that is gone.
fn dead_kubeconfig() -> String {
    let gone = Webhook::start_raw("/gone", teams);
    webhook_kubeconfig(&gone)
}

fn reviews(hook: &Webhook, user: &str) -> Vec<Value> {
    let calls = hook.calls.lock().expect("calls").clone();
    calls.into_iter().filter(|c| c["spec"]["user"] == user).collect()
}

#[test]
fn ordered_webhooks_with_their_own_connections_conditions_and_failure_policies() {
    let first = Webhook::start_raw("/teams", teams);
    let second = Webhook::start_raw("/guard", guard);
    let server = FlagServer::start(|dir| {
        let first_kc = write(dir, "teams.kubeconfig", &webhook_kubeconfig(&first));
        let second_kc = write(dir, "guard.kubeconfig", &webhook_kubeconfig(&second));
        let dead_kc = write(dir, "dead.kubeconfig", &dead_kubeconfig());
        let file = config(&[
            // Asked about the default namespace only.
            webhook_entry(
                "teams.example.com",
                &first_kc,
                "NoOpinion",
                "v1",
                &["has(request.resourceAttributes)", "request.resourceAttributes.namespace == 'default'"],
            ),
            webhook_entry(
                "guard.example.com",
                &second_kc,
                "Deny",
                "v1beta1",
                &["request.user == 'mallory' || request.user == 'wendy'"],
            ),
            // Both unreachable: erin's question fails closed, rita's falls through to RBAC.
            webhook_entry("closed.example.com", &dead_kc, "Deny", "v1", &["request.user == 'erin'"]),
            webhook_entry("open.example.com", &dead_kc, "NoOpinion", "v1", &["request.user == 'rita'"]),
        ]);
        vec!["--authorization-config".into(), write(dir, "authz.yaml", &file)]
    });
    let admin = server.admin();
    admin.ok(&["create", "role", "pod-reader", "--verb=get,list", "--resource=pods", "-n", "default"]);
    admin.ok(&[
        "create",
        "rolebinding",
        "readers",
        "--role=pod-reader",
        "--user=rita",
        "--user=erin",
        "--user=mallory",
    ]);

    // wendy: the first webhook allows in `default`.
    let wendy = cert_files(&server, "wendy", &["team-a"]);
    let http = curl_as(&server, &wendy, "/api/v1/namespaces/default/pods", &[]);
    assert_eq!(http.status, 200, "{http}");
    let asked = reviews(&first, "wendy");
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0]["apiVersion"], "authorization.k8s.io/v1");
    // Its match conditions keep it out of other namespaces: nobody allows there.
    let http = curl_as(&server, &wendy, "/api/v1/namespaces/kube-system/pods", &[]);
    assert_status(
        &http,
        403,
        "Forbidden",
        "pods is forbidden: User \"wendy\" cannot list resource \"pods\" in API group \"\" in the namespace \"kube-system\"",
    );
    assert_eq!(reviews(&first, "wendy").len(), 1, "asked about kube-system");
    // The second webhook was asked about kube-system (its condition holds), in v1beta1.
    let guard_review = reviews(&second, "wendy").pop().expect("the guard was asked about wendy");
    assert_eq!(guard_review["apiVersion"], "authorization.k8s.io/v1beta1", "{guard_review}");
    assert!(
        guard_review["spec"]["group"].as_array().is_some_and(|g| g.contains(&json!("team-a"))),
        "{guard_review}"
    );
    assert!(guard_review["spec"].get("groups").is_none(), "{guard_review}");

    // mallory: the guard's denial ends the chain before RBAC would allow.
    let mallory = cert_files(&server, "mallory", &[]);
    assert_status(
        &curl_as(&server, &mallory, "/api/v1/namespaces/default/pods", &[]),
        403,
        "Forbidden",
        "pods is forbidden: User \"mallory\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\": mallory is suspended",
    );

    // erin: a failed call under failurePolicy Deny fails the request (kube's 500), though
    // RBAC would allow.
    let erin = cert_files(&server, "erin", &[]);
    let http = curl_as(&server, &erin, "/api/v1/namespaces/default/pods", &[]);
    assert_eq!(http.status, 500, "{http}");
    assert_eq!(http.json()["reason"], "InternalError", "{http}");
    // rita: under NoOpinion the failure lets RBAC decide.
    let rita = cert_files(&server, "rita", &[]);
    assert_eq!(curl_as(&server, &rita, "/api/v1/namespaces/default/pods", &[]).status, 200);
    // The admin (RBAC) is not sent to any webhook whose conditions exclude it.
    admin.ok(&["get", "namespaces"]);
}

#[test]
fn the_file_is_reloaded_without_a_restart() {
    let hook = Webhook::start_raw("/teams", teams);
    let dir = tempfile::Builder::new().prefix("kubeward-authz-config-").tempdir().expect("temp dir");
    let kubeconfig = write(dir.path(), "teams.kubeconfig", &webhook_kubeconfig(&hook));
    let file = dir.path().join("authz.yaml");
    std::fs::write(&file, config(&[])).expect("write config");
    let path = file.display().to_string();
    let server = FlagServer::start(|_| vec!["--authorization-config".into(), path.clone()]);
    let wendy = cert_files(&server, "wendy", &[]);
    let list = |server: &FlagServer| curl_as(server, &wendy, "/api/v1/namespaces/default/pods", &[]).status;
    assert_eq!(list(&server), 403);

    // The webhook joins the chain.
    std::fs::write(&file, config(&[webhook_entry("teams.example.com", &kubeconfig, "NoOpinion", "v1", &[])]))
        .expect("rewrite config");
    let (ok, last) = retry(Duration::from_secs(15), || {
        let status = list(&server);
        (status == 200, status.to_string())
    });
    assert!(ok, "the reloaded webhook never allowed wendy: {last}\n{}", server.log());
    assert!(server.log().contains("reloaded authz config"), "{}", server.log());

    // A file that drops RBAC is refused (kube's text in the log): the chain stays.
    std::fs::write(
        &file,
        "apiVersion: apiserver.config.k8s.io/v1\nkind: AuthorizationConfiguration\nauthorizers:\n- type: Node\n  name: node\n",
    )
    .expect("rewrite config");
    let (seen, _) = retry(Duration::from_secs(15), || {
        let log = server.log();
        (log.contains("missing required types: [RBAC]"), String::new())
    });
    assert!(seen, "{}", server.log());
    assert_eq!(list(&server), 200);
    server.admin().ok(&["get", "namespaces"]);

    // Back without the webhook: wendy is refused again.
    std::fs::write(&file, config(&[])).expect("rewrite config");
    let (ok, last) = retry(Duration::from_secs(15), || {
        let status = list(&server);
        (status == 403, status.to_string())
    });
    assert!(ok, "wendy is still allowed: {last}");
}

/// Starts `kubeward up` with `flags` expecting it to refuse: its stderr.
fn refused(dir: &Path, flags: &[String]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubeward"));
    cmd.arg("up")
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(["--secure-port", "0", "--bind-address", "127.0.0.1"])
        .args(flags);
    let out = run(cmd, Duration::from_secs(60));
    assert!(!out.timed_out && !out.ok(), "{out}");
    out.stderr
}

#[test]
fn kube_errors_at_start() {
    let dir = tempfile::Builder::new().prefix("kubeward-authz-config-").tempdir().expect("temp dir");
    let good = write(dir.path(), "good.yaml", &config(&[]));
    let flag = |p: &str| vec!["--authorization-config".to_string(), p.to_string()];
    let mut both = flag(&good);
    both.push("--authorization-mode=RBAC".into());
    let err = refused(dir.path(), &both);
    assert!(
        err.contains("--authorization-config can not be specified when --authorization-mode or --authorization-webhook-* flags are defined"),
        "{err}"
    );
    let bad = write(
        dir.path(),
        "bad.yaml",
        "apiVersion: apiserver.config.k8s.io/v1beta1\nkind: AuthorizationConfiguration\nauthorizers:\n- type: RBAC\n  name: roles\n- type: Webhook\n  name: in-cluster\n  webhook:\n    timeout: 3s\n    subjectAccessReviewVersion: v1\n    failurePolicy: Deny\n    connectionInfo:\n      type: InClusterConfig\n",
    );
    let err = refused(dir.path(), &flag(&bad));
    assert!(err.contains("authorizers[1].connectionInfo.type: Invalid value: \"InClusterConfig\""), "{err}");
    let names = write(
        dir.path(),
        "names.yaml",
        "apiVersion: apiserver.config.k8s.io/v1alpha1\nkind: AuthorizationConfiguration\nauthorizers:\n- type: RBAC\n  name: roles\n",
    );
    let err = refused(dir.path(), &flag(&names));
    assert!(err.contains("expected name rbac for authorizer RBAC instead of roles"), "{err}");
}
