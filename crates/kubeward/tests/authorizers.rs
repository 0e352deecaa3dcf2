//! End-to-end tests of the authorizer chain that `kubeward up` builds from
//! `--authorization-mode`, driven with real kubectl and curl.
//!
//! Owns: the Node authorizer of the default `Node,RBAC` chain (a node reads only what its
//! pods reference, follows pod deletions, and its 403s carry kube's reasons), `kubectl auth
//! can-i` for node identities (direct and impersonated), ABAC with a policy file (and the
//! refusal to start on a bad line), the SubjectAccessReview webhook (allow, deny with a
//! reason, caching, and kube's 500 when it fails and nobody else allows), and `AlwaysAllow`.
//!
//! Expected texts come from /work/shared/golden/node-authz.md and status-messages.md §2.

mod authz;
mod support;

use authz::{
    apply, assert_kubectl_error, assert_status, cert_files, curl_as, is_list_pods, no_relationship, node_n1,
    reviews_for, sar_answer, wait_for_graph, webhook_server, GRAPH_DELAY, NODE_FIXTURE,
};
use serde_json::{json, Value};
use std::process::Command;
use std::time::{Duration, Instant};
use support::more::webhook::Webhook;
use support::more::{retry, Cluster, FlagServer};
use support::{run, Server, COMMAND_TIMEOUT};

// ---------------------------------------------------------------- Node

#[test]
fn node_reads_only_what_its_pods_reference() {
    let server = Server::start();
    apply(&server, "node-fixture.yaml", NODE_FIXTURE);
    let node = node_n1(&server);
    wait_for_graph(&node);

    let out = node.ok(&["get", "secret", "s1", "-n", "default", "-o", "json"]);
    let secret: Value = serde_json::from_str(&out.stdout).expect("secret json");
    assert_eq!(support::more::b64_decode(secret["data"]["password"].as_str().unwrap_or("")), "one");
    node.ok(&["get", "configmap", "c1", "-n", "default", "-o", "name"])
        .assert_stdout_contains("configmap/c1");

    // Nobody on n1 uses s2: kubectl and the raw Status carry the Node authorizer's reason.
    let out = node.run(&["get", "secret", "s2", "-n", "default"]);
    assert_kubectl_error(
        &out,
        &format!("Error from server (Forbidden): {}", no_relationship("secrets", "s2")),
    );
    let cert = cert_files(&server, "system:node:n1", &["system:nodes"]);
    let http = curl_as(&server, &cert, "/api/v1/namespaces/default/secrets/s2", &[]);
    assert_status(&http, 403, "Forbidden", &no_relationship("secrets", "s2"));
    assert_eq!(http.json()["details"], json!({"name": "s2", "kind": "secrets"}), "{http}");

    // A node may not list secrets (no name to relate), nor write the ones it may read.
    let http = curl_as(&server, &cert, "/api/v1/namespaces/default/secrets", &[]);
    assert_status(
        &http,
        403,
        "Forbidden",
        "secrets is forbidden: User \"system:node:n1\" cannot list resource \"secrets\" in API group \"\" \
         in the namespace \"default\": No Object name found",
    );
    let http = curl_as(&server, &cert, "/api/v1/namespaces/default/secrets/s1", &["-X", "DELETE"]);
    assert_status(
        &http,
        403,
        "Forbidden",
        "secrets \"s1\" is forbidden: User \"system:node:n1\" cannot delete resource \"secrets\" in API group \"\" \
         in the namespace \"default\": can only read resources of this type",
    );

    // The same certificate without the system:nodes group is no node: RBAC alone, no reason.
    let impostor = server.kubectl_user("system:node:n1", &[]);
    let out = impostor.run(&["get", "secret", "s1", "-n", "default"]);
    assert_kubectl_error(
        &out,
        "Error from server (Forbidden): secrets \"s1\" is forbidden: User \"system:node:n1\" cannot get \
         resource \"secrets\" in API group \"\" in the namespace \"default\"",
    );
}

#[test]
fn node_updates_its_own_node_object_only() {
    let server = Server::start();
    apply(&server, "node-fixture.yaml", NODE_FIXTURE);
    let node = node_n1(&server);

    node.ok(&["get", "node", "n1", "-o", "name"]).assert_stdout_contains("node/n1");
    node.ok(&["label", "node", "n1", "e2e.example/ready=yes"]);
    let out =
        server.admin().ok(&["get", "node", "n1", "-o", "jsonpath={.metadata.labels.e2e\\.example/ready}"]);
    assert_eq!(out.stdout.trim(), "yes", "{out}");

    // kubectl reads before it labels: with AuthorizeNodeWithSelectors (1.34) n1 cannot even
    // read n2 (NodeRestriction, unit-tested in the admission crate, refuses the write too).
    let out = node.run(&["label", "node", "n2", "e2e.example/ready=yes"]);
    assert_kubectl_error(
        &out,
        "Error from server (Forbidden): nodes \"n2\" is forbidden: User \"system:node:n1\" cannot get resource \"nodes\" in API group \"\" at the cluster scope: node 'n1' cannot read 'n2', only its own Node object",
    );
    let out = server.admin().ok(&["get", "node", "n2", "-o", "jsonpath={.metadata.labels}"]);
    assert!(!out.stdout.contains("e2e.example/ready"), "n2 was labelled by n1: {out}");
}

#[test]
fn node_cannot_read_other_node_objects() {
    let server = Server::start();
    apply(&server, "node-fixture.yaml", NODE_FIXTURE);
    let cert = cert_files(&server, "system:node:n1", &["system:nodes"]);
    let http = curl_as(&server, &cert, "/api/v1/nodes/n1", &[]);
    assert_eq!(http.status, 200, "{http}");
    let http = curl_as(&server, &cert, "/api/v1/nodes/n2", &[]);
    assert_status(
        &http,
        403,
        "Forbidden",
        "nodes \"n2\" is forbidden: User \"system:node:n1\" cannot get resource \"nodes\" in API group \"\" \
         at the cluster scope: node 'n1' cannot read 'n2', only its own Node object",
    );
    let http = curl_as(&server, &cert, "/api/v1/nodes", &[]);
    assert_status(
        &http,
        403,
        "Forbidden",
        "nodes is forbidden: User \"system:node:n1\" cannot list resource \"nodes\" in API group \"\" \
         at the cluster scope: node 'n1' cannot read all nodes, only its own Node object",
    );
}

#[test]
fn node_loses_a_secret_when_its_pod_goes() {
    let server = Server::start();
    apply(&server, "node-fixture.yaml", NODE_FIXTURE);
    let node = node_n1(&server);
    wait_for_graph(&node);

    server.admin().ok(&[
        "delete",
        "pod",
        "p1",
        "-n",
        "default",
        "--grace-period=0",
        "--force",
        "--wait=false",
    ]);
    let deleted = Instant::now();
    let (ok, last) = retry(GRAPH_DELAY, || {
        let out = node.run(&["get", "secret", "s1", "-n", "default"]);
        (!out.ok(), out.to_string())
    });
    assert!(ok, "node n1 still reads s1 {GRAPH_DELAY:?} after its pod was deleted: {last}");
    eprintln!("s1 refused {:?} after the pod's deletion", deleted.elapsed());
    assert!(last.contains(&no_relationship("secrets", "s1")), "{last}");
    let out = node.run(&["get", "configmap", "c1", "-n", "default"]);
    assert_kubectl_error(
        &out,
        &format!("Error from server (Forbidden): {}", no_relationship("configmaps", "c1")),
    );

    // A new pod on n1 that uses s2 opens s2, and s1 stays closed.
    apply(
        &server,
        "p2.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p2, namespace: default}\nspec:\n  nodeName: n1\n  \
         containers: [{name: app, image: registry.example/app:1}]\n  volumes: [{name: s, secret: {secretName: s2}}]\n",
    );
    let (ok, last) = retry(GRAPH_DELAY, || {
        let out = node.run(&["get", "secret", "s2", "-n", "default", "-o", "name"]);
        (out.ok(), out.to_string())
    });
    assert!(ok, "node n1 cannot read s2 after p2 was bound to it: {last}");
    assert!(!node.run(&["get", "secret", "s1", "-n", "default"]).ok());
}

// ---------------------------------------------------------------- can-i

#[test]
fn can_i_for_a_node_matches_the_node_authorizer() {
    let server = Server::start();
    apply(&server, "node-fixture.yaml", NODE_FIXTURE);
    let node = node_n1(&server);
    wait_for_graph(&node);

    // The node's own questions.
    let out = node.ok(&["auth", "can-i", "get", "secrets/s1", "-n", "default"]);
    assert_eq!(out.stdout.trim(), "yes", "{out}");
    let out = node.run(&["auth", "can-i", "get", "secrets/s2", "-n", "default"]);
    out.assert_code(1);
    assert_eq!(out.stdout.trim(), "no - no relationship found between node 'n1' and this object", "{out}");
    let out = node.ok(&["auth", "can-i", "get", "configmaps/c1", "-n", "default"]);
    assert_eq!(out.stdout.trim(), "yes", "{out}");

    // The per-object grants (s1, c1) are not rules: `--list` does not show them.
    let out = node.ok(&["auth", "can-i", "--list", "-n", "default"]);
    out.assert_stdout_contains("selfsubjectaccessreviews.authorization.k8s.io");
    assert!(!out.stdout.lines().any(|l| l.starts_with("secrets")), "secrets listed for a node: {out}");

    // The admin asks the same questions impersonating the node: same answers.
    let admin = server.admin();
    let imp = ["--as", "system:node:n1", "--as-group", "system:nodes", "-n", "default"];
    let ask = |what: &str| {
        let mut args = vec!["auth", "can-i", "get", what];
        args.extend_from_slice(&imp);
        admin.run(&args)
    };
    let out = ask("secrets/s1");
    out.assert_ok();
    assert_eq!(out.stdout.trim(), "yes", "{out}");
    let out = ask("secrets/s2");
    out.assert_code(1);
    assert_eq!(out.stdout.trim(), "no - no relationship found between node 'n1' and this object", "{out}");
    let out = ask("configmaps/c1");
    assert_eq!(out.stdout.trim(), "yes", "{out}");
    // Without the group the impersonated user is no node.
    let out = admin.run(&["auth", "can-i", "get", "secrets/s1", "--as", "system:node:n1", "-n", "default"]);
    out.assert_code(1);
    assert_eq!(out.stdout.trim(), "no", "{out}");

    // Impersonated reads follow the same rules as the node's own.
    let mut args = vec!["get", "secret", "s1", "-o", "name"];
    args.extend_from_slice(&imp);
    admin.ok(&args).assert_stdout_contains("secret/s1");
    let mut args = vec!["get", "secret", "s2"];
    args.extend_from_slice(&imp);
    assert_kubectl_error(
        &admin.run(&args),
        &format!("Error from server (Forbidden): {}", no_relationship("secrets", "s2")),
    );
}

#[test]
fn can_i_list_for_a_node_is_incomplete() {
    let server = Server::start();
    let cert = cert_files(&server, "system:node:n1", &["system:nodes"]);
    let body = r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectRulesReview","spec":{"namespace":"default"}}"#;
    let http = curl_as(
        &server,
        &cert,
        "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
        &["-X", "POST", "-H", "Content-Type: application/json", "--data", body],
    );
    assert_eq!(http.status, 201, "{http}");
    let status = &http.json()["status"];
    assert_eq!(status["incomplete"], true, "{http}");
    assert_eq!(status["evaluationError"], "node authorizer does not support user rule resolution", "{http}");
    // What kubectl makes of it.
    let out = node_n1(&server).ok(&["auth", "can-i", "--list", "-n", "default"]);
    // kubectl 1.32 prints `Warning:`; older versions `warning:`.
    assert!(
        out.stderr.to_lowercase().contains(
            "warning: the list may be incomplete: node authorizer does not support user rule resolution"
        ),
        "{out}"
    );
}

// ---------------------------------------------------------------- ABAC

const ALICE_POLICY: &str = r#"{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"user":"alice","namespace":"dev","resource":"pods","readonly":true}}"#;

#[test]
fn abac_policy_file_grants_read_only_access() {
    let server = FlagServer::start(|dir| {
        let path = dir.join("policy.jsonl");
        let text = format!("# alice reads pods in dev\n{ALICE_POLICY}\n\n");
        std::fs::write(&path, text).expect("write policy");
        vec![
            "--authorization-mode=ABAC,RBAC".into(),
            "--authorization-policy-file".into(),
            path.display().to_string(),
        ]
    });
    server.admin().ok(&["create", "namespace", "dev"]);
    let alice = server.kubectl_user("alice", &[]);
    let out = alice.ok(&["get", "pods", "-n", "dev"]);
    assert!(out.stderr.contains("No resources found in dev namespace."), "{out}");

    let no_policy = |verb: &str, ns: &str| {
        format!(
            "pods is forbidden: User \"alice\" cannot {verb} resource \"pods\" in API group \"\" in the \
             namespace \"{ns}\": No policy matched."
        )
    };
    let out = alice.run(&["run", "web", "--image=registry.example/web:1", "-n", "dev"]);
    assert_kubectl_error(&out, &format!("Error from server (Forbidden): {}", no_policy("create", "dev")));
    let out = alice.run(&["get", "pods", "-n", "default"]);
    assert_kubectl_error(&out, &format!("Error from server (Forbidden): {}", no_policy("list", "default")));

    let cert = cert_files(&server, "alice", &[]);
    let http = curl_as(&server, &cert, "/api/v1/namespaces/default/pods", &[]);
    assert_status(&http, 403, "Forbidden", &no_policy("list", "default"));
    let http = curl_as(&server, &cert, "/api/v1/namespaces/dev/pods", &[]);
    assert_eq!(http.status, 200, "{http}");
    assert_eq!(http.json()["kind"], "PodList", "{http}");
    // The admin is still allowed by RBAC, after ABAC.
    server.admin().ok(&["get", "pods", "-n", "default"]);
}

#[test]
fn abac_bad_policy_line_stops_the_server() {
    let dir = tempfile::Builder::new().prefix("kubeward-abac-").tempdir().expect("temp dir");
    let policy = dir.path().join("policy.jsonl");
    let text = format!("{ALICE_POLICY}\n\n# a comment\n{{\"apiVersion\": \"abac.authorization.kubernetes.io/v1beta1\", \"spec\": \n");
    std::fs::write(&policy, text).expect("write policy");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubeward"));
    cmd.arg("up")
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["--secure-port", "0", "--bind-address", "127.0.0.1", "--authorization-mode=ABAC,RBAC"])
        .arg("--authorization-policy-file")
        .arg(&policy);
    let out = run(cmd, Duration::from_secs(30));
    assert!(!out.timed_out, "the server kept running with a bad policy file: {out}");
    assert!(!out.ok(), "the server started with a bad policy file: {out}");
    assert!(!out.stdout.contains("kubeward is ready"), "{out}");
    let needle = format!("error reading policy file {}, line 4", policy.display());
    assert!(out.stderr.contains(&needle), "stderr lacks {needle:?}: {out}");
}

// ---------------------------------------------------------------- Webhook

#[test]
fn webhook_allows_denies_caches_and_fails_closed() {
    let hook = Webhook::start_raw("/authorize", sar_answer);
    let server = webhook_server(&hook);
    let admin = server.admin();
    // dave and rita may list pods by RBAC; the webhook comes first.
    admin.ok(&["create", "role", "pod-reader", "--verb=get,list", "--resource=pods", "-n", "default"]);
    admin.ok(&["create", "rolebinding", "readers", "--role=pod-reader", "--user=dave", "--user=rita"]);

    // wendy: allowed by the webhook alone (no RBAC grant).
    let wendy = server.kubectl_user("wendy", &["webhook-users"]);
    let out = wendy.ok(&["get", "pods", "-n", "default"]);
    assert!(out.stderr.contains("No resources found in default namespace."), "{out}");
    let review =
        reviews_for(&hook, "wendy").into_iter().find(is_list_pods).expect("a review for wendy's list");
    assert_eq!(review["apiVersion"], "authorization.k8s.io/v1", "{review}");
    assert_eq!(review["kind"], "SubjectAccessReview", "{review}");
    let groups = review["spec"]["groups"].as_array().cloned().unwrap_or_default();
    assert!(
        groups.contains(&json!("webhook-users")) && groups.contains(&json!("system:authenticated")),
        "{review}"
    );
    assert_eq!(review["spec"]["resourceAttributes"]["version"], "v1", "{review}");

    // The allowed answer is cached: the same request again is not re-sent. The certificate is
    // another one than kubectl's, so another credential id (a user's extra, part of the
    // review): its first request asks the webhook.
    let wendy_cert = cert_files(&server, "wendy", &["webhook-users"]);
    let http = curl_as(&server, &wendy_cert, "/api/v1/namespaces/default/pods", &[]);
    assert_eq!(http.status, 200, "{http}");
    let sent = reviews_for(&hook, "wendy").iter().filter(|r| is_list_pods(r)).count();
    for _ in 0..3 {
        let http = curl_as(&server, &wendy_cert, "/api/v1/namespaces/default/pods", &[]);
        assert_eq!(http.status, 200, "{http}");
    }
    assert_eq!(reviews_for(&hook, "wendy").iter().filter(|r| is_list_pods(r)).count(), sent, "cache missed");
    // The webhook's allow covers reads only; RBAC has nothing for wendy.
    let http = curl_as(
        &server,
        &wendy_cert,
        "/api/v1/namespaces/default/pods",
        &["-X", "POST", "-H", "Content-Type: application/json", "--data", r#"{"metadata":{"name":"x"}}"#],
    );
    assert_status(
        &http,
        403,
        "Forbidden",
        "pods is forbidden: User \"wendy\" cannot create resource \"pods\" in API group \"\" in the namespace \"default\"",
    );

    // dave: the webhook's Deny ends the chain although RBAC would allow; its reason is appended.
    let denied = "pods is forbidden: User \"dave\" cannot list resource \"pods\" in API group \"\" in the \
                  namespace \"default\": blocked by policy";
    let dave = server.kubectl_user("dave", &[]);
    assert_kubectl_error(
        &dave.run(&["get", "pods", "-n", "default"]),
        &format!("Error from server (Forbidden): {denied}"),
    );
    let dave_cert = cert_files(&server, "dave", &[]);
    assert_status(
        &curl_as(&server, &dave_cert, "/api/v1/namespaces/default/pods", &[]),
        403,
        "Forbidden",
        denied,
    );

    // The webhook goes away.
    drop(hook);
    // erin: the webhook fails and nobody allows -> 500, not 403.
    let erin = cert_files(&server, "erin", &[]);
    let asked = Instant::now();
    let http = curl_as(&server, &erin, "/api/v1/namespaces/default/pods", &[]);
    eprintln!("the failing webhook answered after {:?} (retries with backoff)", asked.elapsed());
    assert_eq!(http.status, 500, "{http}");
    let v = http.json();
    assert_eq!(
        (v["kind"].as_str(), v["reason"].as_str(), v["code"].as_u64()),
        (Some("Status"), Some("InternalError"), Some(500)),
        "{http}"
    );
    let message = v["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("Internal error occurred: "), "{http}");
    eprintln!("with the webhook gone: {message}");
    // rita: the webhook fails but RBAC, later in the chain, allows.
    let rita = cert_files(&server, "rita", &[]);
    let http = curl_as(&server, &rita, "/api/v1/namespaces/default/pods", &[]);
    assert_eq!(http.status, 200, "{http}");
    // wendy's cached allow still answers; the admin still works.
    let http = curl_as(&server, &wendy_cert, "/api/v1/namespaces/default/pods", &[]);
    assert_eq!(http.status, 200, "{http}");
    admin.ok(&["get", "namespaces", "-o", "name"]).assert_stdout_contains("namespace/default");
}

#[test]
fn webhook_is_not_asked_about_system_masters() {
    let hook = Webhook::start_raw("/authorize", sar_answer);
    let server = webhook_server(&hook);
    // (The kubeconfig `kubeward up` writes is kubeward-admin, bound by RBAC, not system:masters.)
    let root = cert_files(&server, "root", &["system:masters"]);
    let http = curl_as(&server, &root, "/api/v1/namespaces/kube-system/secrets", &[]);
    assert_eq!(http.status, 200, "{http}");
    // A control: the webhook is wired and sees other users.
    let wendy = cert_files(&server, "wendy", &[]);
    assert_eq!(curl_as(&server, &wendy, "/api/v1/namespaces/default/pods", &[]).status, 200);
    assert!(!reviews_for(&hook, "wendy").is_empty(), "the webhook never saw wendy");
    let asked = reviews_for(&hook, "root");
    assert!(asked.is_empty(), "the webhook was asked about a system:masters user: {asked:?}");
}

// ---------------------------------------------------------------- AlwaysAllow

#[test]
fn always_allow_warns_and_allows_everyone() {
    let server = FlagServer::start(|_| vec!["--authorization-mode=AlwaysAllow".into()]);
    let log = server.log();
    assert!(
        log.lines().any(|l| l.contains("WARN") && l.contains("AlwaysAllow")),
        "no warning about AlwaysAllow in the log:\n{log}"
    );
    let jane = server.kubectl_user("jane", &[]);
    let out = jane.ok(&["get", "pods", "-n", "default"]);
    assert!(out.stderr.contains("No resources found in default namespace."), "{out}");
    jane.ok(&["get", "secrets", "-n", "kube-system"]);
    let http = curl_as(&server, &cert_files(&server, "jane", &[]), "/api/v1/nodes", &[]);
    assert_eq!(http.status, 200, "{http}");
}

#[test]
fn unknown_mode_stops_the_server() {
    // An unknown mode is refused at start with kube's message.
    let dir = tempfile::Builder::new().prefix("kubeward-modes-").tempdir().expect("temp dir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubeward"));
    cmd.arg("up").arg("--data-dir").arg(dir.path()).args([
        "--secure-port",
        "0",
        "--bind-address",
        "127.0.0.1",
        "--authorization-mode=Node,rbac",
    ]);
    let out = run(cmd, COMMAND_TIMEOUT);
    assert!(!out.timed_out && !out.ok(), "{out}");
    out.assert_stderr_contains("authorization-mode \"rbac\" is not a valid mode");
}
