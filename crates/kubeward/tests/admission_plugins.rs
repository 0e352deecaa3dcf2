//! Admission end to end (issue 5): NamespaceLifecycle, LimitRanger, ResourceQuota,
//! PodSecurity and a validating admission webhook served by the test itself, each seen
//! through kubectl's own error output.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::more::webhook::Webhook;
use support::more::{self, retry, Cluster};
use support::{Kubectl, Output, Server};

fn json_of(out: &Output) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

fn apply(server: &Server, admin: &Kubectl, name: &str, yaml: &str) -> Output {
    let f = server.file(name, yaml);
    admin.run(&["apply", "-f", f.to_str().expect("utf-8")])
}

fn pod_yaml(name: &str, ns: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  containers:\n  - name: c\n    image: nginx\n"
    )
}

#[test]
fn namespace_lifecycle() {
    let server = Server::start();
    let admin = server.admin();

    let f = server
        .file("lost.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: missing\n");
    let out = admin.run(&["create", "-f", f.to_str().expect("utf-8")]);
    out.assert_code(1);
    assert_eq!(
        out.stderr.trim(),
        format!(
            r#"Error from server (NotFound): error when creating "{}": namespaces "missing" not found"#,
            f.display()
        ),
        "{out}"
    );
    // Typed `kubectl create` wraps the same Status in its own words.
    let out = admin.run(&["create", "configmap", "x", "-n", "missing"]);
    out.assert_code(1);
    assert_eq!(
        out.stderr.trim(),
        r#"error: failed to create configmap: namespaces "missing" not found"#,
        "{out}"
    );

    for ns in ["default", "kube-system", "kube-public"] {
        let out = admin.run(&["delete", "namespace", ns]);
        out.assert_code(1);
        assert_eq!(
            out.stderr.trim(),
            format!(
                r#"Error from server (Forbidden): namespaces "{ns}" is forbidden: this namespace may not be deleted"#
            ),
            "{out}"
        );
    }

    // A namespace with content is emptied and removed.
    admin.ok(&["create", "namespace", "doomed"]);
    admin.ok(&["create", "configmap", "cm", "-n", "doomed", "--from-literal=a=b"]);
    admin.ok(&["create", "secret", "generic", "s", "-n", "doomed", "--from-literal=a=b"]);
    admin.ok(&["create", "role", "r", "-n", "doomed", "--verb=get", "--resource=pods"]);
    admin.ok(&["create", "namespace", "kept"]);
    admin.ok(&["create", "configmap", "cm", "-n", "kept", "--from-literal=a=b"]);
    admin.ok(&["delete", "namespace", "doomed", "--wait=false"]);
    let (ok, last) = retry(Duration::from_secs(10), || {
        let out = admin.run(&["get", "namespace", "doomed"]);
        (out.code == Some(1) && out.stderr.contains(r#"namespaces "doomed" not found"#), out.to_string())
    });
    assert!(ok, "namespace doomed still exists 10 s after deletion: {last}");
    // Its objects went with it; a namespace of the same name starts empty.
    admin.ok(&["create", "namespace", "doomed"]);
    for kind in ["configmap/cm", "secret/s", "role/r"] {
        let out = admin.run(&["get", kind, "-n", "doomed"]);
        out.assert_code(1).assert_stderr_contains("not found");
    }
    admin.ok(&["get", "configmap", "cm", "-n", "kept"]);
}

#[test]
fn limit_range_defaults_pod_resources() {
    let server = Server::start();
    let admin = server.admin();
    let out = apply(
        &server,
        &admin,
        "limits.yaml",
        r#"apiVersion: v1
kind: LimitRange
metadata:
  name: defaults
spec:
  limits:
  - type: Container
    default:
      cpu: 500m
      memory: 256Mi
    defaultRequest:
      cpu: 100m
      memory: 64Mi
    max:
      cpu: "1"
"#,
    );
    out.assert_ok();
    admin.ok(&["run", "plain", "--image=nginx"]);
    let pod = json_of(&admin.ok(&["get", "pod", "plain", "-o", "json"]));
    let res = &pod["spec"]["containers"][0]["resources"];
    assert_eq!(res["limits"], json!({"cpu": "500m", "memory": "256Mi"}), "{pod}");
    assert_eq!(res["requests"], json!({"cpu": "100m", "memory": "64Mi"}), "{pod}");
    let note = pod["metadata"]["annotations"]["kubernetes.io/limit-ranger"].as_str().unwrap_or_default();
    assert!(note.starts_with("LimitRanger plugin set: "), "kube's annotation is missing: {pod}");

    // Explicit values are kept; above max is refused with kube's message.
    let out = apply(
        &server,
        &admin,
        "big.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: big\nspec:\n  containers:\n  - name: c\n    image: nginx\n    resources:\n      limits:\n        cpu: \"2\"\n",
    );
    out.assert_code(1);
    out.assert_stderr_contains(
        r#"pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2"#,
    );
}

const QUOTA: &str =
    "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: q\nspec:\n  hard:\n    pods: \"1\"\n";

/// `kubectl create quota` (1.32 sends protobuf for typed creates).
#[test]
fn kubectl_create_quota() {
    let server = Server::start();
    let admin = server.admin();
    admin.ok(&["create", "quota", "q", "--hard=pods=1"]).assert_stdout_contains("resourcequota/q created");
    let out = admin.ok(&["get", "quota", "q", "-o", "json"]);
    assert_eq!(json_of(&out)["spec"]["hard"], json!({"pods": "1"}), "{out}");
}

#[test]
fn resource_quota_limits_pod_count() {
    let server = Server::start();
    let admin = server.admin();
    apply(&server, &admin, "quota.yaml", QUOTA).assert_ok().assert_stdout_contains("resourcequota/q created");

    let (ok, last) = retry(Duration::from_secs(10), || {
        let out = apply(&server, &admin, "p1.yaml", &pod_yaml("p1", "default"));
        (out.ok(), out.to_string())
    });
    assert!(ok, "the first pod under a pods=1 quota was refused: {last}");
    let out = apply(&server, &admin, "p2.yaml", &pod_yaml("p2", "default"));
    out.assert_code(1);
    let want = r#"Error from server (Forbidden): error when creating "#;
    out.assert_stderr_contains(want).assert_stderr_contains(
        r#"pods "p2" is forbidden: exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1"#,
    );

    let (ok, last) = retry(Duration::from_secs(10), || {
        let out = admin.ok(&["get", "quota", "q", "-o", "yaml"]);
        let v: Value = apimachinery::yaml::from_str(&out.stdout).expect("yaml");
        (v["status"]["used"]["pods"] == "1" && v["status"]["hard"]["pods"] == "1", out.stdout)
    });
    assert!(ok, "quota status does not show used pods=1: {last}");
    // Other namespaces are not limited by it.
    admin.ok(&["create", "namespace", "free"]);
    let (ok, last) = retry(Duration::from_secs(5), || {
        let a = apply(&server, &admin, "f1.yaml", &pod_yaml("f1", "free"));
        let b = apply(&server, &admin, "f2.yaml", &pod_yaml("f2", "free"));
        (a.ok() && b.ok(), format!("{a}\n{b}"))
    });
    assert!(ok, "a quota in default limited namespace free: {last}");
}

/// The quota controller: a new quota's status is counted at once from what the namespace
/// holds, a change of its hard limits is counted again, and a change of its status alone is
/// left as written until the next full resync (as kube's controller does). Kubernetes' e2e
/// ResourceQuota tests wait for this status before anything else.
#[test]
fn resource_quota_status_is_calculated_by_the_controller() {
    let server = Server::start();
    let admin = server.admin();
    admin.ok(&["create", "namespace", "counted"]);
    admin.ok(&["create", "secret", "generic", "s1", "-n", "counted", "--from-literal=a=b"]);
    let quota = "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: q\n  namespace: counted\nspec:\n  hard:\n    secrets: \"5\"\n    pods: \"10\"\n    requests.cpu: 1000m\n    resourcequotas: \"2\"\n";
    apply(&server, &admin, "counted.yaml", quota).assert_ok();
    let status =
        || json_of(&admin.ok(&["get", "quota", "q", "-n", "counted", "-o", "json"]))["status"].clone();
    let (ok, last) = retry(Duration::from_secs(10), || {
        let s = status();
        (
            s["used"] == json!({"pods": "0", "requests.cpu": "0", "resourcequotas": "1", "secrets": "1"}),
            s.to_string(),
        )
    });
    assert!(ok, "the new quota's usage was not counted: {last}");
    assert_eq!(
        status()["hard"],
        json!({"pods": "10", "requests.cpu": "1", "resourcequotas": "2", "secrets": "5"}),
        "status.hard is the spec's, as kube writes quantities"
    );

    admin.ok(&[
        "patch",
        "quota",
        "q",
        "-n",
        "counted",
        "--type=merge",
        "-p",
        r#"{"spec":{"hard":{"configmaps":"3"}}}"#,
    ]);
    let (ok, last) = retry(Duration::from_secs(10), || {
        let s = status();
        // kube-root-ca.crt is the namespace's one ConfigMap.
        (s["hard"]["configmaps"] == "3" && s["used"]["configmaps"] == "1", s.to_string())
    });
    assert!(ok, "a new hard limit was not counted: {last}");

    admin.ok(&[
        "patch",
        "quota",
        "q",
        "-n",
        "counted",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"hard":{"configmaps":"9"}}}"#,
    ]);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(status()["hard"]["configmaps"], "9", "a status-only change waits for the full resync");
}

/// kube's quota controller gives usage back when objects go away.
#[test]
fn resource_quota_usage_is_released_on_delete() {
    let server = Server::start();
    let admin = server.admin();
    apply(&server, &admin, "quota.yaml", QUOTA).assert_ok();
    let (ok, last) = retry(Duration::from_secs(10), || {
        let out = apply(&server, &admin, "p1.yaml", &pod_yaml("p1", "default"));
        (out.ok(), out.to_string())
    });
    assert!(ok, "the first pod was refused: {last}");
    admin.ok(&["delete", "pod", "p1", "--wait=false"]);
    let (ok, last) = retry(Duration::from_secs(10), || {
        let out = apply(&server, &admin, "p2.yaml", &pod_yaml("p2", "default"));
        (out.ok(), out.to_string())
    });
    assert!(ok, "quota usage was not released within 10 s of deleting the only pod: {last}");
}

#[test]
fn pod_security_restricted_refuses_privileged_pods() {
    let server = Server::start();
    let admin = server.admin();
    admin.ok(&["create", "namespace", "locked"]);
    admin.ok(&["label", "namespace", "locked", "pod-security.kubernetes.io/enforce=restricted"]);
    let out = apply(
        &server,
        &admin,
        "priv.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: priv\n  namespace: locked\nspec:\n  containers:\n  - name: c\n    image: nginx\n    securityContext:\n      privileged: true\n",
    );
    out.assert_code(1);
    out.assert_stderr_contains(r#"pods "priv" is forbidden: violates PodSecurity "restricted:latest": "#)
        .assert_stderr_contains(r#"privileged (container "c" must not set securityContext.privileged=true)"#)
        .assert_stderr_contains(
            r#"runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true)"#,
        );

    // A pod that meets the restricted profile is admitted.
    let out = apply(
        &server,
        &admin,
        "good.yaml",
        r#"apiVersion: v1
kind: Pod
metadata:
  name: good
  namespace: locked
spec:
  securityContext:
    runAsNonRoot: true
    seccompProfile:
      type: RuntimeDefault
  containers:
  - name: c
    image: nginx
    securityContext:
      allowPrivilegeEscalation: false
      capabilities:
        drop: ["ALL"]
"#,
    );
    out.assert_ok();
    // Without the label the privileged pod is fine (baseline is not enforced by default).
    let out = apply(
        &server,
        &admin,
        "priv-default.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: priv\nspec:\n  containers:\n  - name: c\n    image: nginx\n    securityContext:\n      privileged: true\n",
    );
    out.assert_ok();
}

fn deny_forbidden_names(request: &Value) -> Value {
    let name = request["name"].as_str().or_else(|| request["object"]["metadata"]["name"].as_str());
    match name {
        Some(n) if n.starts_with("forbidden-") => json!({
            "allowed": false,
            // kube passes the webhook's Status through: its reason is what kubectl prints.
            "status": {"code": 403, "reason": "Forbidden", "message": format!("configmap name {n} is reserved")},
        }),
        _ => json!({"allowed": true}),
    }
}

#[test]
fn validating_webhook_denies_with_its_message() {
    let server = Server::start();
    let admin = server.admin();
    let hook = Webhook::start("/validate", deny_forbidden_names);
    let config = json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "e2e-deny"},
        "webhooks": [{
            "name": "deny.e2e.kubeward.io",
            "clientConfig": {"url": hook.url, "caBundle": more::b64_encode(&hook.ca_pem)},
            "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                       "resources": ["configmaps"], "scope": "Namespaced"}],
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
            "failurePolicy": "Fail",
            "timeoutSeconds": 5,
        }],
    });
    let f = server.file("webhook.json", &config.to_string());
    // Client-side validation is off: see `webhook_configuration_passes_kubectl_validation`.
    admin.ok(&["apply", "--validate=false", "-f", f.to_str().expect("utf-8")]);

    let denied = r#"admission webhook "deny.e2e.kubeward.io" denied the request: configmap name forbidden-one is reserved"#;
    let f = server.file("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: forbidden-one\n");
    let want = format!(r#"Error from server (Forbidden): error when creating "{}": {denied}"#, f.display());
    let (ok, last) = retry(Duration::from_secs(10), || {
        let out = admin.run(&["create", "-f", f.to_str().expect("utf-8")]);
        (out.code == Some(1) && out.stderr.trim() == want, out.to_string())
    });
    assert!(ok, "want {want:?}, got: {last}");
    // Typed `kubectl create` words it its own way around the same Status message.
    let out = admin.run(&["create", "configmap", "forbidden-one", "--from-literal=a=b"]);
    out.assert_code(1);
    assert_eq!(out.stderr.trim(), format!("error: failed to create configmap: {denied}"), "{out}");
    admin.run(&["get", "configmap", "forbidden-one"]).assert_code(1);
    // The Status over HTTP: the webhook's code and message.
    let h = server.admin_curl(
        "/api/v1/namespaces/default/configmaps",
        &[
            "--http1.1",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "--data",
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"forbidden-one"}}"#,
        ],
    );
    assert_eq!(h.status, 403, "{h}");
    assert_eq!(h.json()["message"], denied, "{h}");
    assert_eq!(h.json()["reason"], "Forbidden", "{h}");

    // Other names pass through the webhook and are stored.
    let before = hook.call_count();
    admin.ok(&["create", "configmap", "fine", "--from-literal=a=b"]);
    assert!(hook.call_count() > before, "the allowed create did not call the webhook");
    let calls = hook.calls.lock().expect("calls").clone();
    let last = calls.last().expect("a call");
    assert_eq!(last["operation"], "CREATE", "{last}");
    assert_eq!(last["namespace"], "default", "{last}");
    assert_eq!(last["resource"], json!({"group": "", "version": "v1", "resource": "configmaps"}), "{last}");
    assert_eq!(last["userInfo"]["username"], "kubeward-admin", "{last}");
    assert_eq!(last["object"]["data"], json!({"a": "b"}), "{last}");

    // Resources outside the rules are not sent.
    let before = hook.call_count();
    admin.ok(&["create", "secret", "generic", "forbidden-secret", "--from-literal=a=b"]);
    assert_eq!(hook.call_count(), before, "a Secret create was sent to a configmaps-only webhook");

    // failurePolicy Fail: with the webhook gone, matching requests are refused.
    drop(hook);
    let out = admin.run(&["create", "configmap", "after", "--from-literal=a=b"]);
    out.assert_code(1).assert_stderr_contains(r#"failed calling webhook "deny.e2e.kubeward.io""#);
}

/// `kubectl apply` validates against the server's OpenAPI schema by default.
#[test]
fn webhook_configuration_passes_kubectl_validation() {
    let server = Server::start();
    let admin = server.admin();
    let f = server.file(
        "webhook.yaml",
        r#"apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: e2e-validate
webhooks:
- name: v.e2e.kubeward.io
  clientConfig:
    url: https://127.0.0.1:9/validate
  rules:
  - apiGroups: [""]
    apiVersions: ["v1"]
    operations: ["CREATE"]
    resources: ["configmaps"]
  sideEffects: None
  admissionReviewVersions: ["v1"]
  failurePolicy: Ignore
"#,
    );
    admin.ok(&["apply", "-f", f.to_str().expect("utf-8")]).assert_stdout_contains(
        "validatingwebhookconfiguration.admissionregistration.k8s.io/e2e-validate created",
    );
    admin.ok(&["explain", "validatingwebhookconfiguration.webhooks.clientConfig"]);
}
