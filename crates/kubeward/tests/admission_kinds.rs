//! The admission plugins kube enables by default that act on the newer kinds, through
//! kubectl: Priority, DefaultStorageClass, StorageObjectInUseProtection (with the
//! protection controller that lets a claim go once no Pod uses it), PersistentVolumeClaimResize,
//! RuntimeClass, DefaultIngressClass.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::more::{retry, Cluster, FlagServer};
use support::Kubectl;

fn apply(server: &FlagServer, k: &Kubectl, name: &str, yaml: &str) -> support::Output {
    let file = server.file(name, yaml);
    k.run(&["apply", "-f", &file.display().to_string()])
}

fn get(k: &Kubectl, args: &[&str]) -> Value {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "json"]);
    serde_json::from_str(&k.ok(&all).stdout).expect("json")
}

fn pod(name: &str, extra: &str) -> String {
    format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n{extra}  containers:\n  - name: c\n    image: nginx:1.27\n")
}

#[test]
fn priority_and_runtime_classes_resolve_on_pod_create() {
    let server = FlagServer::start(|_| vec![]);
    let k = server.admin();
    apply(&server, &k, "critical.yaml", &pod("critical", "  priorityClassName: system-node-critical\n"))
        .assert_ok();
    let p = get(&k, &["pod", "critical"]);
    assert_eq!(
        (p["spec"]["priority"].as_i64(), p["spec"]["preemptionPolicy"].as_str()),
        (Some(2000001000), Some("PreemptLowerPriority")),
        "{p}"
    );
    apply(&server, &k, "plain.yaml", &pod("plain", "")).assert_ok();
    assert_eq!(get(&k, &["pod", "plain"])["spec"]["priority"].as_i64(), Some(0));
    let out = apply(&server, &k, "gold.yaml", &pod("gold", "  priorityClassName: gold\n"));
    out.assert_code(1)
        .assert_stderr_contains(r#"pods "gold" is forbidden: no PriorityClass with name gold was found"#);
    // A global default PriorityClass, then it applies to Pods that name none.
    apply(&server, &k, "pc.yaml", "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata:\n  name: batch\nvalue: 1000\nglobalDefault: true\n").assert_ok();
    apply(&server, &k, "later.yaml", &pod("later", "")).assert_ok();
    let p = get(&k, &["pod", "later"]);
    assert_eq!(
        (p["spec"]["priority"].as_i64(), p["spec"]["priorityClassName"].as_str()),
        (Some(1000), Some("batch")),
        "{p}"
    );

    apply(&server, &k, "rc.yaml", "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata:\n  name: gvisor\nhandler: runsc\noverhead:\n  podFixed:\n    memory: 120Mi\nscheduling:\n  nodeSelector:\n    sandbox: gvisor\n").assert_ok();
    apply(&server, &k, "sandboxed.yaml", &pod("sandboxed", "  runtimeClassName: gvisor\n")).assert_ok();
    let p = get(&k, &["pod", "sandboxed"]);
    assert_eq!(p["spec"]["overhead"]["memory"], "120Mi", "{p}");
    assert_eq!(p["spec"]["nodeSelector"]["sandbox"], "gvisor", "{p}");
    let out = apply(&server, &k, "kata.yaml", &pod("kata", "  runtimeClassName: kata\n"));
    out.assert_code(1).assert_stderr_contains(r#"pod rejected: RuntimeClass "kata" not found"#);
}

#[test]
fn claims_get_the_default_class_protection_and_resize_rules() {
    let server = FlagServer::start(|_| vec![]);
    let k = server.admin();
    apply(&server, &k, "sc.yaml", "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: fast\n  annotations:\n    storageclass.kubernetes.io/is-default-class: \"true\"\nprovisioner: example.com/fast\nallowVolumeExpansion: false\n").assert_ok();
    apply(&server, &k, "pvc.yaml", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n").assert_ok();
    let c = get(&k, &["pvc", "data"]);
    assert_eq!(c["spec"]["storageClassName"], "fast", "{c}");
    assert_eq!(c["metadata"]["finalizers"], serde_json::json!(["kubernetes.io/pvc-protection"]), "{c}");

    // Growing a bound claim of a class that does not expand: kube's 403.
    k.ok(&[
        "patch",
        "pvc",
        "data",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"phase":"Bound"}}"#,
    ]);
    let out = k.run(&[
        "patch",
        "pvc",
        "data",
        "--type=merge",
        "-p",
        r#"{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}"#,
    ]);
    out.assert_code(1).assert_stderr_contains(
        r#"persistentvolumeclaims "data" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize"#,
    );

    // A claim in use stays until its Pod goes.
    let user = "  volumes:\n  - name: d\n    persistentVolumeClaim:\n      claimName: data\n";
    apply(&server, &k, "user.yaml", &pod("user", user)).assert_ok();
    k.ok(&["delete", "pvc", "data", "--wait=false"]);
    std::thread::sleep(Duration::from_secs(1));
    let c = get(&k, &["pvc", "data"]);
    assert!(c["metadata"]["deletionTimestamp"].is_string(), "{c}");
    k.ok(&["delete", "pod", "user"]);
    let (gone, last) = retry(Duration::from_secs(40), || {
        let out = k.run(&["get", "pvc", "data"]);
        (!out.ok() && out.stderr.contains("not found"), out.to_string())
    });
    assert!(gone, "the claim outlived its last Pod: {last}");

    // Ingresses get the default IngressClass.
    apply(&server, &k, "ic.yaml", "apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata:\n  name: nginx\n  annotations:\n    ingressclass.kubernetes.io/is-default-class: \"true\"\nspec:\n  controller: k8s.io/ingress-nginx\n").assert_ok();
    k.ok(&["create", "ingress", "web", "--rule=example.com/=web:80"]);
    assert_eq!(get(&k, &["ingress", "web"])["spec"]["ingressClassName"], "nginx");
}

#[test]
fn a_plugin_kubeward_lacks_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_kubeward"));
    cmd.args(["up", "--secure-port", "0", "--enable-admission-plugins", "EventRateLimit"])
        .arg("--data-dir")
        .arg(dir.path());
    let out = support::run(cmd, Duration::from_secs(60));
    assert!(!out.ok(), "started with a plugin it does not implement: {out}");
    assert!(out.stderr.contains(r#"plugin "EventRateLimit" is not implemented by kubeward"#), "{out}");
}
