//! The default admission plugins as kubectl sees them: NamespaceLifecycle refuses objects in
//! a missing or terminating namespace; ServiceAccount gives Pods the `default` account.

mod support;

use support::Server;

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\n  namespace: default\nspec:\n  containers:\n  - name: app\n    image: busybox:1.36\n";

#[test]
fn default_admission_plugins() {
    let server = Server::start();
    let Some(k) = server.kubectl("") else {
        support::missing("kubectl");
        return;
    };

    // NamespaceLifecycle.
    let out = k.run(&["create", "configmap", "x", "-n", "nope", "--from-literal=a=b"]);
    out.assert_code(1).assert_stderr_contains(r#"namespaces "nope" not found"#);

    // ServiceAccount: a pod that names no account runs as `default`.
    let file = server.scratch("manifests").join("pod.yaml");
    std::fs::write(&file, POD).expect("write manifest");
    k.ok(&["create", "-f", file.to_str().expect("utf-8 path")]);
    let out = k.ok(&["get", "pod", "app", "-o", "jsonpath={.spec.serviceAccountName}"]);
    assert_eq!(out.stdout, "default", "{out}");
}
