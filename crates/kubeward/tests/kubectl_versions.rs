//! kubectl 1.27 through 1.33 against a real `kubeward up`: one server per version, the
//! everyday commands a user types, checked on exit codes and on what kubectl prints.

mod support;

use std::time::Duration;
use support::{Kubectl, Output, Server};

const MANIFEST: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: default
data:
  greeting: hello
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: default
  labels:
    app: web
spec:
  containers:
  - name: web
    image: nginx:1.27
    ports:
    - containerPort: 80
"#;

const SSA_MANIFEST: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n  namespace: default\ndata:\n  mode: server-side\n";

/// The header cells of the first line of a table kubectl printed.
fn header(out: &Output) -> Vec<String> {
    out.stdout.lines().next().unwrap_or_default().split_whitespace().map(str::to_string).collect()
}

/// The first cells of every row after the header.
fn first_column(out: &Output) -> Vec<String> {
    out.stdout.lines().skip(1).filter_map(|l| l.split_whitespace().next()).map(str::to_string).collect()
}

fn everyday_commands(version: &str) {
    let server = Server::start();
    let Some(k) = server.kubectl(version) else {
        support::missing(&format!("kubectl {version}"));
        return;
    };
    let manifest = server.scratch("manifests").join("web.yaml");
    std::fs::write(&manifest, MANIFEST).expect("write manifest");
    let manifest = manifest.to_str().expect("utf-8 path");

    check_version(&k, version);
    check_cluster_info(&k, &server);
    check_api_resources(&k);
    check_namespaces(&k);

    let out = k.ok(&["create", "-f", manifest]);
    out.assert_stdout_contains("configmap/web-config created").assert_stdout_contains("pod/web created");

    let out = k.ok(&["get", "pods"]);
    assert_eq!(header(&out), ["NAME", "READY", "STATUS", "RESTARTS", "AGE"], "{out}");
    assert_eq!(first_column(&out), ["web"], "{out}");

    let out = k.ok(&["get", "pod", "web", "-o", "yaml"]);
    let pod: serde_json::Value =
        apimachinery::yaml::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(pod["kind"].as_str(), Some("Pod"), "{out}");
    assert_eq!(pod["metadata"]["name"].as_str(), Some("web"), "{out}");
    assert_eq!(pod["metadata"]["namespace"].as_str(), Some("default"), "{out}");
    assert_eq!(pod["spec"]["containers"][0]["image"].as_str(), Some("nginx:1.27"), "{out}");
    assert!(pod["metadata"]["uid"].as_str().is_some_and(|u| !u.is_empty()), "no uid: {out}");
    assert!(pod["metadata"]["resourceVersion"].as_str().is_some(), "no resourceVersion: {out}");

    // The objects exist (created above), so both applies patch; the second changes nothing.
    for round in 0..2 {
        let out = k.ok(&["apply", "-f", manifest]);
        for obj in ["configmap/web-config", "pod/web"] {
            let said = out.stdout.lines().find(|l| l.starts_with(obj)).unwrap_or_default();
            assert!(
                said.ends_with(" configured") || said.ends_with(" unchanged"),
                "apply round {round}: {obj}: {out}"
            );
        }
        if round == 1 {
            // Client-side apply records the manifest it applied.
            let out = k.ok(&["get", "configmap", "web-config", "-o", "json"]);
            let cm: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
            let last = &cm["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"];
            assert!(last.as_str().is_some_and(|s| s.contains("hello")), "{out}");
        }
    }

    // Server-side apply creates when absent, then applies again without conflict.
    let ssa = server.scratch("manifests").join("ssa.yaml");
    std::fs::write(&ssa, SSA_MANIFEST).expect("write manifest");
    let ssa = ssa.to_str().expect("utf-8 path");
    for _ in 0..2 {
        k.ok(&["apply", "--server-side", "-f", ssa])
            .assert_stdout_contains("configmap/ssa serverside-applied");
    }
    let out = k.ok(&["get", "configmap", "ssa", "-o", "jsonpath={.data.mode}"]);
    assert_eq!(out.stdout, "server-side", "{out}");
    k.ok(&["delete", "-f", ssa]);

    let out = k.ok(&["describe", "pod", "web"]);
    out.assert_stdout_contains("Name:").assert_stdout_contains("web").assert_stdout_contains("nginx:1.27");
    assert!(out.stdout.lines().any(|l| l.starts_with("Namespace:") && l.ends_with("default")), "{out}");

    let out = k.ok(&["explain", "pods"]);
    out.assert_stdout_contains("KIND:").assert_stdout_contains("Pod").assert_stdout_contains("FIELDS:");
    assert!(out.stdout.lines().any(|l| l.trim_start().starts_with("spec")), "{out}");

    check_watch(&k);

    let out = k.ok(&["auth", "can-i", "list", "pods"]);
    assert_eq!(out.stdout.trim(), "yes", "{out}");
    let out = k.ok(&["auth", "can-i", "create", "clusterroles.rbac.authorization.k8s.io"]);
    assert_eq!(out.stdout.trim(), "yes", "{out}");

    // 1.27 asks v1beta1 (then v1alpha1), 1.28+ ask v1 first.
    let out = k.ok(&["auth", "whoami"]);
    assert!(
        out.stdout.lines().any(|l| l.starts_with("Username") && l.trim_end().ends_with("kubeward-admin")),
        "kubectl {version}: {out}"
    );

    let out = k.ok(&["delete", "-f", manifest]);
    out.assert_stdout_contains("configmap \"web-config\" deleted")
        .assert_stdout_contains("pod \"web\" deleted");
    let out = k.run(&["get", "pod", "web"]);
    out.assert_code(1).assert_stderr_contains(r#"Error from server (NotFound): pods "web" not found"#);
    let out = k.run(&["get", "configmap", "web-config"]);
    out.assert_code(1)
        .assert_stderr_contains(r#"Error from server (NotFound): configmaps "web-config" not found"#);
}

fn check_version(k: &Kubectl, version: &str) {
    // 1.27 prints version.Info{...}; later versions print `Server Version: v1.x.y`.
    let out = k.ok(&["version"]);
    let server_line = out.stdout.lines().find(|l| l.starts_with("Server Version: ")).unwrap_or_default();
    assert!(server_line.contains("v1."), "no server version: {out}");
    // kubeward serves the 1.33 API level: kubectl 1.32 and 1.33 see no version skew.
    let minor: u32 = version.split('.').nth(1).and_then(|m| m.parse().ok()).unwrap_or_default();
    if minor >= 32 {
        assert!(!out.stderr.contains("version difference"), "kubectl warns about skew: {out}");
    }
    let out = k.ok(&["version", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("version json");
    let client = v["clientVersion"]["gitVersion"].as_str().unwrap_or_default();
    assert!(client.starts_with(&format!("v{version}.")), "wrong kubectl binary: {out}");
    for key in ["major", "minor", "gitVersion", "platform"] {
        assert!(v["serverVersion"][key].as_str().is_some_and(|s| !s.is_empty()), "{key}: {out}");
    }
}

fn check_cluster_info(k: &Kubectl, server: &Server) {
    let out = k.ok(&["cluster-info"]);
    // kubectl colours the output; look for the pieces.
    out.assert_stdout_contains("Kubernetes control plane").assert_stdout_contains(&server.url);
}

fn check_api_resources(k: &Kubectl) {
    let out = k.ok(&["api-resources"]);
    let row = |name: &str| out.stdout.lines().find(|l| l.split_whitespace().next() == Some(name));
    for (name, gv, kind) in [
        ("pods", "v1", "Pod"),
        ("namespaces", "v1", "Namespace"),
        ("configmaps", "v1", "ConfigMap"),
        ("deployments", "apps/v1", "Deployment"),
        ("clusterroles", "rbac.authorization.k8s.io/v1", "ClusterRole"),
        ("rolebindings", "rbac.authorization.k8s.io/v1", "RoleBinding"),
        ("leases", "coordination.k8s.io/v1", "Lease"),
        ("selfsubjectaccessreviews", "authorization.k8s.io/v1", "SelfSubjectAccessReview"),
    ] {
        let line = row(name).unwrap_or_else(|| panic!("api-resources lacks {name}: {out}"));
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert!(cells.contains(&gv) && cells.last() == Some(&kind), "{name}: {line:?}");
    }
    let pods = row("pods").unwrap_or_default();
    assert!(pods.split_whitespace().any(|c| c == "po"), "pods short name: {pods:?}");
    let out = k.ok(&["api-resources", "-o", "name"]);
    let names: Vec<&str> = out.stdout.lines().collect();
    for n in ["pods", "deployments.apps", "clusterroles.rbac.authorization.k8s.io"] {
        assert!(names.contains(&n), "api-resources -o name lacks {n}: {out}");
    }
}

fn check_namespaces(k: &Kubectl) {
    let out = k.ok(&["get", "ns"]);
    assert_eq!(header(&out), ["NAME", "STATUS", "AGE"], "{out}");
    let names = first_column(&out);
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        assert!(names.iter().any(|n| n == ns), "get ns lacks {ns}: {out}");
    }
    assert!(out.stdout.lines().skip(1).all(|l| l.contains("Active")), "{out}");
}

/// `get pods -w` prints the current row, then exits when its request timeout ends.
fn check_watch(k: &Kubectl) {
    let started = std::time::Instant::now();
    let out = k.run(&["get", "pods", "-w", "--request-timeout=3s"]);
    assert!(!out.timed_out, "watch did not end at its request timeout: {out}");
    out.assert_code(0);
    assert_eq!(header(&out), ["NAME", "READY", "STATUS", "RESTARTS", "AGE"], "{out}");
    assert!(first_column(&out).iter().any(|n| n == "web"), "{out}");
    assert!(started.elapsed() < Duration::from_secs(30), "watch took {:?}", started.elapsed());
}

#[test]
fn kubectl_1_27() {
    everyday_commands("1.27");
}

#[test]
fn kubectl_1_28() {
    everyday_commands("1.28");
}

#[test]
fn kubectl_1_29() {
    everyday_commands("1.29");
}

#[test]
fn kubectl_1_30() {
    everyday_commands("1.30");
}

#[test]
fn kubectl_1_31() {
    everyday_commands("1.31");
}

#[test]
fn kubectl_1_32() {
    everyday_commands("1.32");
}

#[test]
fn kubectl_1_33() {
    everyday_commands("1.33");
}
