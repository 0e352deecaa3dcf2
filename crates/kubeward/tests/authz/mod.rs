//! Shared pieces of the authorizer end-to-end tests: client certificates for curl, Status
//! assertions, the Node authorizer fixture (nodes, secrets, a configmap and a pod bound to
//! n1) and the SubjectAccessReview webhook's answers and server wiring.

use super::support::more::webhook::Webhook;
use super::support::more::{b64_encode, load_ca, retry, write_pair, Cluster, FlagServer, Http};
use super::support::{Kubectl, Output};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

/// How long a change in the store may take to reach the Node authorizer's graph.
pub const GRAPH_DELAY: Duration = Duration::from_secs(5);

/// A client certificate for `user` in `groups` from the cluster CA, written as files for
/// curl: (cert path, key path).
pub fn cert_files(c: &impl Cluster, user: &str, groups: &[&str]) -> (String, String) {
    let ca = load_ca(&c.pki(), "ca");
    let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
    let issued = ca.issue_client(user, &groups).expect("issue client cert");
    let name = user.replace(':', "_");
    write_pair(&c.scratch_dir("certs"), &name, &issued.cert_pem, &issued.key_pem)
}

/// `curl` with a client certificate from [`cert_files`].
pub fn curl_as(c: &impl Cluster, cert: &(String, String), path: &str, extra: &[&str]) -> Http {
    let mut args = vec!["--cert", cert.0.as_str(), "--key", cert.1.as_str()];
    args.extend_from_slice(extra);
    c.curl(path, &args)
}

/// Asserts a kube `Status` body: code, reason and the exact message.
#[track_caller]
pub fn assert_status(http: &Http, code: u16, reason: &str, message: &str) {
    assert_eq!(http.status, code, "{http}");
    let v = http.json();
    assert_eq!(v["kind"], "Status", "{http}");
    assert_eq!(v["code"], code, "{http}");
    assert_eq!(v["reason"], reason, "{http}");
    assert_eq!(v["message"], message, "{http}");
}

/// Asserts kubectl failed with exactly this server error line on stderr.
#[track_caller]
pub fn assert_kubectl_error(out: &Output, line: &str) {
    assert!(!out.ok(), "kubectl succeeded: {out}");
    assert!(out.stderr.lines().any(|l| l.trim_end() == line), "stderr lacks the line {line:?}: {out}");
}

/// Applies a YAML manifest as the admin.
pub fn apply(c: &impl Cluster, name: &str, yaml: &str) {
    let file = c.file(name, yaml);
    c.admin().ok(&["apply", "-f", &file.display().to_string()]);
}

/// Nodes n1 and n2; secret s1 and configmap c1 used by pod p1 on n1 (the secret through an
/// env var, the configmap through a volume); secret s2 used by nobody.
pub const NODE_FIXTURE: &str = r#"
apiVersion: v1
kind: Node
metadata: {name: n1}
---
apiVersion: v1
kind: Node
metadata: {name: n2}
---
apiVersion: v1
kind: Secret
metadata: {name: s1, namespace: default}
stringData: {password: one}
---
apiVersion: v1
kind: Secret
metadata: {name: s2, namespace: default}
stringData: {password: two}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c1, namespace: default}
data: {mode: fast}
---
apiVersion: v1
kind: Pod
metadata: {name: p1, namespace: default}
spec:
  nodeName: n1
  containers:
  - name: app
    image: registry.example/app:1
    env:
    - name: PASSWORD
      valueFrom:
        secretKeyRef: {name: s1, key: password}
    volumeMounts:
    - {name: config, mountPath: /config}
  volumes:
  - name: config
    configMap: {name: c1}
"#;

/// kube's 403 text for a node reading a namespaced object it has no pod for.
pub fn no_relationship(resource: &str, name: &str) -> String {
    format!(
        "{resource} \"{name}\" is forbidden: User \"system:node:n1\" cannot get resource \"{resource}\" \
         in API group \"\" in the namespace \"default\": no relationship found between node 'n1' and this object"
    )
}

/// The kubectl of node n1 (client certificate CN=system:node:n1, O=system:nodes).
pub fn node_n1(c: &impl Cluster) -> Kubectl {
    c.kubectl_user("system:node:n1", &["system:nodes"])
}

/// Waits until node n1 can read secret s1 (the graph is fed asynchronously).
pub fn wait_for_graph(node: &Kubectl) {
    let (ok, last) = retry(GRAPH_DELAY, || {
        let out = node.run(&["get", "secret", "s1", "-n", "default", "-o", "name"]);
        (out.ok(), out.to_string())
    });
    assert!(ok, "node n1 cannot read s1 within {GRAPH_DELAY:?} of creating p1: {last}");
}

// ---------------------------------------------------------------- webhook

/// The authorization webhook: wendy may get and list pods; dave is denied pods outright;
/// every other question gets no opinion.
pub fn sar_answer(review: &Value) -> Value {
    let spec = &review["spec"];
    let attrs = &spec["resourceAttributes"];
    let pods = attrs["resource"] == "pods" && attrs["group"].is_null();
    let read = matches!(attrs["verb"].as_str(), Some("get" | "list"));
    let status = match spec["user"].as_str() {
        Some("wendy") if pods && read => json!({"allowed": true, "reason": "wendy reads pods"}),
        Some("dave") if pods => json!({"allowed": false, "denied": true, "reason": "blocked by policy"}),
        _ => json!({"allowed": false}),
    };
    json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "status": status})
}

/// A kubeconfig naming the webhook and trusting its CA.
pub fn webhook_kubeconfig(hook: &Webhook) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: authz\n  cluster:\n    server: {}\n    \
         certificate-authority-data: {}\nusers:\n- name: apiserver\n  user: {{}}\ncontexts:\n- name: webhook\n  \
         context: {{cluster: authz, user: apiserver}}\ncurrent-context: webhook\n",
        hook.url,
        b64_encode(&hook.ca_pem)
    )
}

pub fn webhook_server(hook: &Webhook) -> FlagServer {
    let kubeconfig = webhook_kubeconfig(hook);
    FlagServer::start(|dir: &Path| {
        let path = dir.join("authz-webhook.kubeconfig");
        std::fs::write(&path, &kubeconfig).expect("write webhook kubeconfig");
        vec![
            "--authorization-mode=Node,Webhook,RBAC".into(),
            "--authorization-webhook-config-file".into(),
            path.display().to_string(),
        ]
    })
}

/// The reviews the webhook got for `user`.
pub fn reviews_for(hook: &Webhook, user: &str) -> Vec<Value> {
    let calls = hook.calls.lock().expect("calls").clone();
    calls.into_iter().filter(|c| c["spec"]["user"] == user).collect()
}

pub fn is_list_pods(review: &Value) -> bool {
    let a = &review["spec"]["resourceAttributes"];
    a["verb"] == "list" && a["resource"] == "pods" && a["namespace"] == "default"
}
