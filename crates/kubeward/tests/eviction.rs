//! pods/eviction and PodDisruptionBudgets through `kubectl drain` (which evicts and retries
//! on 429) and curl (kube's exact Status), with the disruption controller keeping budgets'
//! status from the Pods' readiness.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::more::{retry, Cluster, FlagServer};
use support::Kubectl;

const READY: &str = r#"{"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}}"#;

fn apply(server: &FlagServer, k: &Kubectl, name: &str, yaml: &str) {
    let file = server.file(name, yaml);
    k.ok(&["apply", "-f", &file.display().to_string()]);
}

fn pdb_allows(k: &Kubectl, want: &str) {
    let (ok, last) = retry(Duration::from_secs(30), || {
        let out = k.run(&["get", "pdb", "web", "-o", "jsonpath={.status.disruptionsAllowed}"]);
        (out.ok() && out.stdout == want, out.to_string())
    });
    assert!(ok, "the budget never allowed {want}: {last}");
}

fn evict(server: &FlagServer, pod: &str) -> support::more::Http {
    let body = format!(
        r#"{{"apiVersion":"policy/v1","kind":"Eviction","metadata":{{"name":"{pod}","namespace":"default"}}}}"#
    );
    server.admin_curl(
        &format!("/api/v1/namespaces/default/pods/{pod}/eviction"),
        &["-X", "POST", "-H", "Content-Type: application/json", "--data", &body],
    )
}

#[test]
fn drain_respects_the_disruption_budget() {
    let server = FlagServer::start(|_| vec![]);
    let k = server.admin();
    apply(&server, &k, "node.yaml", "apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n");
    for pod in ["web-1", "web-2"] {
        let yaml = format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {pod}\n  labels: {{app: web}}\nspec:\n  nodeName: n1\n  containers:\n  - name: c\n    image: nginx:1.27\n"
        );
        apply(&server, &k, &format!("{pod}.yaml"), &yaml);
        k.ok(&["patch", "pod", pod, "--subresource=status", "--type=merge", "-p", READY]);
    }
    k.ok(&["create", "pdb", "web", "--selector=app=web", "--min-available=2"]);
    pdb_allows(&k, "0");
    let pdb: Value = serde_json::from_str(&k.ok(&["get", "pdb", "web", "-o", "json"]).stdout).expect("json");
    assert_eq!(
        (pdb["status"]["currentHealthy"].as_i64(), pdb["status"]["expectedPods"].as_i64()),
        (Some(2), Some(2)),
        "{pdb}"
    );

    // kube's 429 with the budget named in a DisruptionBudget cause.
    let http = evict(&server, "web-1");
    assert_eq!(http.status, 429, "{http}");
    let v = http.json();
    assert_eq!(v["message"], "Cannot evict pod as it would violate the pod's disruption budget.", "{http}");
    assert_eq!(v["reason"], "TooManyRequests", "{http}");
    let cause = &v["details"]["causes"][0];
    assert_eq!(cause["reason"], "DisruptionBudget", "{http}");
    assert_eq!(
        cause["message"], "The disruption budget web needs 2 healthy pods and has 2 currently",
        "{http}"
    );
    let http = evict(&server, "nope");
    assert_eq!(
        (http.status, http.json()["message"].as_str()),
        (404, Some("pods \"nope\" not found")),
        "{http}"
    );

    // kubectl drain evicts, gets 429 and retries until its timeout.
    let out = k.run(&["drain", "n1", "--ignore-daemonsets", "--force", "--timeout=4s"]);
    assert!(!out.ok(), "drain went through a budget that allows nothing: {out}");
    assert!(out.stderr.contains("Cannot evict pod as it would violate the pod's disruption budget"), "{out}");
    assert_eq!(k.ok(&["get", "pods", "-o", "name"]).stdout.lines().count(), 2);

    // A budget that allows both: drain empties the node.
    k.ok(&["patch", "pdb", "web", "--type=merge", "-p", r#"{"spec":{"minAvailable":0}}"#]);
    pdb_allows(&k, "2");
    let out = k.ok(&["drain", "n1", "--ignore-daemonsets", "--force", "--timeout=30s"]);
    assert!(out.stdout.contains("node/n1 drained") || out.stdout.contains("evicted"), "{out}");
    let (gone, last) = retry(Duration::from_secs(20), || {
        let out = k.run(&["get", "pods", "-o", "name"]);
        (out.ok() && out.stdout.trim().is_empty(), out.to_string())
    });
    assert!(gone, "pods left after the drain: {last}");
    let node: Value = serde_json::from_str(&k.ok(&["get", "node", "n1", "-o", "json"]).stdout).expect("json");
    assert_eq!(node["spec"]["unschedulable"], true, "drain cordons: {node}");
}
