//! Server-side apply end to end: real kubectl (1.27 and 1.33) and curl against the real
//! binary. Field ownership as kube records it (`managedFields`), conflicts between appliers
//! with kube's message, `--force-conflicts`, fields an applier stops applying removed,
//! fields other managers set kept, list-maps merged by key, client-side apply's upgrade
//! path both ways, and the Status bodies of the 422 and 409 answers.

mod support;

use serde_json::{json, Value};
use support::more::Cluster;
use support::{Kubectl, Server};

fn write(server: &Server, name: &str, text: &str) -> String {
    let path = server.scratch("ssa").join(name);
    std::fs::write(&path, text).expect("write manifest");
    path.display().to_string()
}

fn get(k: &Kubectl, args: &[&str]) -> Value {
    support::get_json_managed(k, args)
}

/// The managed fields entry of `manager` (and operation), if any.
fn entry<'a>(obj: &'a Value, manager: &str, operation: &str) -> Option<&'a Value> {
    obj["metadata"]["managedFields"]
        .as_array()?
        .iter()
        .find(|e| e["manager"] == manager && e["operation"] == operation)
}

fn owns(obj: &Value, manager: &str, operation: &str, pointer: &str) -> bool {
    entry(obj, manager, operation).and_then(|e| e["fieldsV1"].pointer(pointer)).is_some()
}

fn deployment(replicas: u32, labels: &str, containers: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
  labels:
    app: web{labels}
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:{containers}
"#
    )
}

const NGINX: &str = r#"
      - name: nginx
        image: nginx:1.25
        ports:
        - containerPort: 80"#;

fn appliers_conflicts_and_ownership(version: &str) {
    let server = Server::start();
    let Some(k) = server.kubectl(version) else {
        support::missing(&format!("kubectl {version}"));
        return;
    };
    let first = write(&server, "web.yaml", &deployment(2, "\n    tier: front", NGINX));
    k.ok(&["apply", "--server-side", "-f", &first])
        .assert_stdout_contains("deployment.apps/web serverside-applied");
    let obj = get(&k, &["deployment", "web"]);
    let applied = entry(&obj, "kubectl", "Apply").unwrap_or_else(|| panic!("no kubectl Apply entry: {obj}"));
    assert_eq!(applied["apiVersion"], "apps/v1");
    assert_eq!(applied["fieldsType"], "FieldsV1");
    assert_eq!(
        applied["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"nginx\"}"]
            ["f:ports"],
        json!({"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}}),
        "{applied}"
    );
    assert!(owns(&obj, "kubectl", "Apply", "/f:metadata/f:labels/f:tier"));

    // A second applier changing replicas conflicts with kubectl, in kube's words.
    let scale = write(
        &server,
        "scale.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: default\nspec:\n  replicas: 5\n",
    );
    let out = k.run(&["apply", "--server-side", "--field-manager=scaler", "-f", &scale]);
    assert!(!out.ok(), "{out}");
    out.assert_stderr_contains(r#"Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas"#);
    assert_eq!(get(&k, &["deployment", "web"])["spec"]["replicas"], 2);

    // --force-conflicts takes the field over.
    k.ok(&["apply", "--server-side", "--field-manager=scaler", "--force-conflicts", "-f", &scale]);
    let obj = get(&k, &["deployment", "web"]);
    assert_eq!(obj["spec"]["replicas"], 5);
    assert!(owns(&obj, "scaler", "Apply", "/f:spec/f:replicas"), "{obj}");
    assert!(!owns(&obj, "kubectl", "Apply", "/f:spec/f:replicas"), "{obj}");

    // Another manager (kubectl patch) sets an annotation; a sidecar applier adds a container.
    k.ok(&[
        "patch",
        "deployment",
        "web",
        "--type=merge",
        "-p",
        r#"{"metadata":{"annotations":{"note":"keep"}}}"#,
    ]);
    let sidecar = write(
        &server,
        "sidecar.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: default\nspec:\n  template:\n    spec:\n      containers:\n      - name: log\n        image: busybox:1.36\n",
    );
    k.ok(&["apply", "--server-side", "--field-manager=sidecar", "-f", &sidecar]);

    // kubectl applies again without the tier label and without replicas: the label goes,
    // the replicas (now the scaler's), the annotation and the sidecar stay.
    let second = write(&server, "web2.yaml", &deployment(5, "", NGINX).replace("  replicas: 5\n", ""));
    k.ok(&["apply", "--server-side", "-f", &second]);
    let obj = get(&k, &["deployment", "web"]);
    assert_eq!(obj["metadata"]["labels"], json!({"app": "web"}), "{obj}");
    assert_eq!(obj["metadata"]["annotations"]["note"], "keep");
    assert_eq!(obj["spec"]["replicas"], 5);
    let names: Vec<&str> = obj["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("the containers")
        .iter()
        .map(|c| c["name"].as_str().expect("a container's name"))
        .collect();
    assert_eq!(names, ["nginx", "log"], "{obj}");
    assert!(owns(&obj, "kubectl-patch", "Update", "/f:metadata/f:annotations/f:note"), "{obj}");
    assert!(owns(
        &obj,
        "sidecar",
        "Apply",
        "/f:spec/f:template/f:spec/f:containers/k:{\"name\":\"log\"}/f:image"
    ));

    // What --show-managed-fields prints: every manager, as kube shows them; without the
    // flag kubectl hides them.
    let yaml = k.ok(&["get", "deployment", "web", "-o", "yaml", "--show-managed-fields"]).stdout;
    for needle in [
        "managedFields:",
        "manager: kubectl\n",
        "manager: scaler",
        "manager: sidecar",
        "manager: kubectl-patch",
        "operation: Apply",
        "operation: Update",
        "fieldsType: FieldsV1",
        "f:replicas: {}",
    ] {
        assert!(yaml.contains(needle), "{needle:?} missing from:\n{yaml}");
    }
    let plain = k.ok(&["get", "deployment", "web", "-o", "yaml"]).stdout;
    assert!(!plain.contains("managedFields"), "{plain}");

    // A create records an Update entry for kubectl-create, including what defaults set.
    k.ok(&["create", "deployment", "made", "--image=nginx:1.25"]);
    let made = get(&k, &["deployment", "made"]);
    assert!(owns(&made, "kubectl-create", "Update", "/f:spec/f:template/f:spec/f:containers"), "{made}");
    let created = entry(&made, "kubectl-create", "Update").expect("kubectl-create's entry");
    assert!(created["time"].is_string(), "{made}");
}

#[test]
fn appliers_conflicts_and_ownership_kubectl_1_27() {
    appliers_conflicts_and_ownership("1.27");
}

#[test]
fn appliers_conflicts_and_ownership_kubectl_1_33() {
    appliers_conflicts_and_ownership("1.33");
}

fn config_map(name: &str, data: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: default\ndata:\n{data}")
}

fn client_side_apply_upgrade(version: &str) {
    let server = Server::start();
    let Some(k) = server.kubectl(version) else {
        support::missing(&format!("kubectl {version}"));
        return;
    };
    // Client-side apply, then server-side apply of a changed value: no conflict, kubectl
    // now owns the field through its Apply entry.
    let csa = write(&server, "csa.yaml", &config_map("csa", "  a: one\n  b: two\n"));
    k.ok(&["apply", "-f", &csa]);
    let obj = get(&k, &["configmap", "csa"]);
    assert!(owns(&obj, "kubectl-client-side-apply", "Update", "/f:data/f:a"), "{obj}");
    let ssa = write(&server, "csa2.yaml", &config_map("csa", "  a: uno\n  b: two\n"));
    k.ok(&["apply", "--server-side", "-f", &ssa]);
    let obj = get(&k, &["configmap", "csa"]);
    assert_eq!(obj["data"], json!({"a": "uno", "b": "two"}));
    assert!(owns(&obj, "kubectl", "Apply", "/f:data/f:a"), "{obj}");
    assert!(!owns(&obj, "kubectl-client-side-apply", "Update", "/f:data/f:a"), "{obj}");
    // The client-side annotation follows what kubectl applied server-side.
    let last = obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"].as_str();
    assert!(last.is_some_and(|l| l.contains("uno")), "{obj}");

    // The reverse: server-side first, then client-side apply changes a value.
    let first = write(&server, "rev.yaml", &config_map("rev", "  a: one\n"));
    k.ok(&["apply", "--server-side", "-f", &first]);
    let changed = write(&server, "rev2.yaml", &config_map("rev", "  a: two\n  c: three\n"));
    k.ok(&["apply", "-f", &changed]);
    let obj = get(&k, &["configmap", "rev"]);
    assert_eq!(obj["data"], json!({"a": "two", "c": "three"}));
    assert!(owns(&obj, "kubectl-client-side-apply", "Update", "/f:data/f:c"), "{obj}");
    // ... and server-side again: kubectl takes client-side apply's fields over.
    let again = write(&server, "rev3.yaml", &config_map("rev", "  a: four\n  c: three\n"));
    k.ok(&["apply", "--server-side", "-f", &again]);
    let obj = get(&k, &["configmap", "rev"]);
    assert_eq!(obj["data"], json!({"a": "four", "c": "three"}));
    assert!(owns(&obj, "kubectl", "Apply", "/f:data/f:a"), "{obj}");
}

#[test]
fn client_side_apply_upgrade_kubectl_1_27() {
    client_side_apply_upgrade("1.27");
}

#[test]
fn client_side_apply_upgrade_kubectl_1_33() {
    client_side_apply_upgrade("1.33");
}

const CM_PATH: &str = "/api/v1/namespaces/default/configmaps/raw";

fn apply_raw(server: &Server, query: &str, body: &str) -> support::more::Http {
    server.admin_curl(
        &format!("{CM_PATH}?{query}"),
        &["-X", "PATCH", "-H", "Content-Type: application/apply-patch+yaml", "--data-binary", body],
    )
}

#[test]
fn apply_status_bodies_over_http() {
    let server = Server::start();
    if !support::have_program("curl") {
        support::missing("curl");
        return;
    }
    let cm =
        |v: &str| format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: raw\ndata:\n  a: \"{v}\"\n");

    // No fieldManager: kube's 422.
    let r = apply_raw(&server, "", &cm("1"));
    assert_eq!(r.status, 422, "{r}");
    assert_eq!(
        r.json(),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
            "reason": "Invalid",
            "details": {"group": "meta.k8s.io", "kind": "PatchOptions",
                "causes": [{"reason": "FieldValueRequired", "message": "Required value: is required for apply patch", "field": "fieldManager"}]},
            "code": 422})
    );

    // A dry run computes the object and its managed fields but stores nothing.
    let r = apply_raw(&server, "fieldManager=one&dryRun=All", &cm("1"));
    assert_eq!(r.status, 201, "{r}");
    assert_eq!(r.json()["metadata"]["managedFields"][0]["manager"], "one");
    let gone = server.admin_curl(CM_PATH, &[]);
    assert_eq!(gone.status, 404, "{gone}");

    let r = apply_raw(&server, "fieldManager=one", &cm("1"));
    assert_eq!(r.status, 201, "{r}");
    let created = r.json();
    assert_eq!(
        created["metadata"]["managedFields"],
        json!([{"manager": "one", "operation": "Apply", "apiVersion": "v1",
            "time": created["metadata"]["managedFields"][0]["time"],
            "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:a": {}}}}])
    );

    // Another manager changing the value: 409 with one FieldManagerConflict cause.
    let r = apply_raw(&server, "fieldManager=two", &cm("2"));
    assert_eq!(r.status, 409, "{r}");
    assert_eq!(
        r.json(),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "Apply failed with 1 conflict: conflict with \"one\": .data.a",
            "reason": "Conflict",
            "details": {"causes": [{"reason": "FieldManagerConflict", "message": "conflict with \"one\"", "field": ".data.a"}]},
            "code": 409})
    );
    // force=true takes it.
    let r = apply_raw(&server, "fieldManager=two&force=true", &cm("2"));
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.json()["data"]["a"], "2");

    // force is for apply only.
    let r = server.admin_curl(
        &format!("{CM_PATH}?force=true"),
        &[
            "-X",
            "PATCH",
            "-H",
            "Content-Type: application/merge-patch+json",
            "--data-binary",
            r#"{"data":{"b":"x"}}"#,
        ],
    );
    assert_eq!(r.status, 422, "{r}");
    assert_eq!(
        r.json()["message"],
        "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for non-apply patch"
    );

    // A merge patch without fieldManager is recorded for the User-Agent's prefix.
    let r = server.admin_curl(
        CM_PATH,
        &[
            "-X",
            "PATCH",
            "-A",
            "my-tool/1.0",
            "-H",
            "Content-Type: application/merge-patch+json",
            "--data-binary",
            r#"{"data":{"b":"x"}}"#,
        ],
    );
    assert_eq!(r.status, 200, "{r}");
    let entries = r.json()["metadata"]["managedFields"].clone();
    let tool = entries.as_array().unwrap().iter().find(|e| e["manager"] == "my-tool").cloned();
    assert_eq!(tool.map(|t| t["fieldsV1"].clone()), Some(json!({"f:data": {"f:b": {}}})), "{entries}");
}
