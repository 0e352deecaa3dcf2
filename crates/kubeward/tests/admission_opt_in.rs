//! kube's security opt-in admission plugins through the real binary (AlwaysPullImages,
//! DenyServiceExternalIPs, PodNodeSelector, PodTolerationRestriction,
//! OwnerReferencesPermissionEnforcement), a plugin kubeward does not implement refused at
//! start, and webhook configurations validated as kube validates them, a Service-backed
//! webhook called through the Service's endpoints.

mod support;

use serde_json::{json, Value};
use std::process::Command;
use support::more::webhook::Webhook;
use support::more::{b64_encode, Cluster, FlagServer};
use support::run;

fn post(server: &FlagServer, path: &str, body: &Value, creds: &[&str]) -> support::more::Http {
    let body = body.to_string();
    let mut args = vec!["-X", "POST", "-H", "Content-Type: application/json", "--data", body.as_str()];
    args.extend_from_slice(creds);
    server.curl(path, &args)
}

fn admin_post(server: &FlagServer, path: &str, body: &Value) -> support::more::Http {
    let pki = server.pki();
    let (c, k) = (pki.join("admin.crt").display().to_string(), pki.join("admin.key").display().to_string());
    post(server, path, body, &["--cert", &c, "--key", &k])
}

#[test]
fn security_opt_in_plugins_act_as_kube_does() {
    if !support::have_program("curl") {
        return support::missing("curl");
    }
    let plugins = "NodeRestriction,AlwaysPullImages,DenyServiceExternalIPs,PodNodeSelector,PodTolerationRestriction,OwnerReferencesPermissionEnforcement";
    let server = FlagServer::start(|_| vec!["--enable-admission-plugins".into(), plugins.into()]);
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team", "annotations": {
        "scheduler.alpha.kubernetes.io/node-selector": "pool=team",
        "scheduler.alpha.kubernetes.io/defaultTolerations": r#"[{"key": "dedicated", "operator": "Equal", "value": "team", "effect": "NoSchedule"}]"#,
        // DefaultTolerationSeconds (on by default, before this plugin) adds the not-ready and
        // unreachable tolerations: a whitelist must allow them, in kube as here.
        "scheduler.alpha.kubernetes.io/tolerationsWhitelist": r#"[{"key": "dedicated", "operator": "Exists"}, {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists"},
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists"}, {"key": "node.kubernetes.io/unreachable", "operator": "Exists"}]"#}}});
    assert_eq!(admin_post(&server, "/api/v1/namespaces", &ns).status, 201);

    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}, "spec": {"containers": [
        {"name": "c", "image": "nginx", "imagePullPolicy": "IfNotPresent", "resources": {"requests": {"cpu": "100m"}}}]}});
    let h = admin_post(&server, "/api/v1/namespaces/team/pods", &pod);
    assert_eq!(h.status, 201, "{h}");
    let p = h.json();
    assert_eq!(p["spec"]["containers"][0]["imagePullPolicy"], "Always", "AlwaysPullImages: {h}");
    assert_eq!(p["spec"]["nodeSelector"], json!({"pool": "team"}), "PodNodeSelector: {h}");
    let keys: Vec<&str> =
        p["spec"]["tolerations"].as_array().into_iter().flatten().filter_map(|t| t["key"].as_str()).collect();
    assert!(
        keys.contains(&"dedicated") && keys.contains(&"node.kubernetes.io/memory-pressure"),
        "PodTolerationRestriction: {h}"
    );

    let mut clash = pod.clone();
    clash["metadata"]["name"] = json!("clash");
    clash["spec"]["nodeSelector"] = json!({"pool": "other"});
    let h = admin_post(&server, "/api/v1/namespaces/team/pods", &clash);
    assert_eq!(h.status, 403, "{h}");
    assert_eq!(h.json()["message"], "pods \"clash\" is forbidden: pod node label selector conflicts with its namespace node label selector");

    let mut gpu = pod.clone();
    gpu["metadata"]["name"] = json!("gpu");
    gpu["spec"]["tolerations"] = json!([{"key": "gpu", "operator": "Exists"}]);
    let h = admin_post(&server, "/api/v1/namespaces/team/pods", &gpu);
    assert_eq!(h.status, 500, "{h}");
    assert_eq!(h.json()["message"], "pod tolerations (possibly merged with namespace default tolerations) conflict with its namespace whitelist");

    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "lb"},
        "spec": {"ports": [{"port": 80}], "externalIPs": ["203.0.113.7"]}});
    let h = admin_post(&server, "/api/v1/namespaces/default/services", &svc);
    assert_eq!(
        (h.status, h.json()["message"].clone()),
        (403, json!("services \"lb\" is forbidden: Use of external IPs is denied by admission control")),
        "{h}"
    );

    // A user who may create ConfigMaps but not set finalizers on Deployments cannot block
    // a Deployment's deletion with an owner reference.
    let bind = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "dev-edit"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"kind": "User", "name": "dev"}]});
    assert_eq!(
        admin_post(&server, "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings", &bind)
            .status,
        201
    );
    let ca = support::more::load_ca(&server.pki(), "ca");
    let dev = ca.issue_client("dev", &[]).expect("dev cert");
    let (c, k) = support::more::write_pair(&server.scratch_dir("certs"), "dev", &dev.cert_pem, &dev.key_pem);
    let owned = |block: bool| {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("owned-{block}"), "ownerReferences": [
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "5e1f0b53-1c5d-4a0e-9b1f-2f1d3c4b5a6e", "blockOwnerDeletion": block}]}})
    };
    let rbac_settles = support::eventually(std::time::Duration::from_secs(10), || {
        let h = post(
            &server,
            "/api/v1/namespaces/default/configmaps",
            &owned(false),
            &["--cert", &c, "--key", &k],
        );
        (h.status == 201).then_some(h)
    });
    assert!(rbac_settles.is_some(), "dev creates a ConfigMap with a plain owner reference");
    let h =
        post(&server, "/api/v1/namespaces/default/configmaps", &owned(true), &["--cert", &c, "--key", &k]);
    assert_eq!(h.status, 403, "{h}");
    assert_eq!(h.json()["message"], "configmaps \"owned-true\" is forbidden: cannot set blockOwnerDeletion if an ownerReference refers to a resource you can't set finalizers on: , <nil>");
}

#[test]
fn a_plugin_kubeward_does_not_implement_refuses_the_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubeward"));
    cmd.arg("up").arg("--data-dir").arg(dir.path()).args([
        "--secure-port",
        "0",
        "--enable-admission-plugins",
        "EventRateLimit",
    ]);
    let out = run(cmd, std::time::Duration::from_secs(60));
    assert_eq!(out.code, Some(1), "{out}");
    assert!(
        out.stderr.contains("enable-admission-plugins plugin \"EventRateLimit\" is not implemented by kubeward; the implemented plugins are: AlwaysAdmit, NamespaceLifecycle"),
        "{out}"
    );
    assert!(
        out.stderr.contains("AlwaysPullImages")
            && out.stderr.contains("OwnerReferencesPermissionEnforcement"),
        "{out}"
    );
}

fn allow_all(_: &Value) -> Value {
    json!({"allowed": true, "warnings": ["seen by the service webhook"]})
}

#[test]
fn webhook_configurations_are_validated_and_services_resolved_through_endpoints() {
    if !support::have_program("curl") {
        return support::missing("curl");
    }
    let server = FlagServer::start(|_| Vec::new());
    let hook = Webhook::start_for("/validate", allow_all, &["checker.hooks.svc"]);
    let port: u16 = hook
        .url
        .rsplit(':')
        .next()
        .and_then(|p| p.split('/').next())
        .and_then(|p| p.parse().ok())
        .expect("port");
    let config = |extra: Value| {
        let mut w = json!({"name": "check.hooks.example.com", "sideEffects": "None", "admissionReviewVersions": ["v1"],
            "failurePolicy": "Fail", "timeoutSeconds": 5,
            "clientConfig": {"service": {"namespace": "hooks", "name": "checker", "path": "/validate", "port": 443}, "caBundle": b64_encode(&hook.ca_pem)},
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["configmaps"], "scope": "Namespaced"}]});
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            w[k] = v;
        }
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": "checker"}, "webhooks": [w]})
    };
    let path = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations";
    let h = admin_post(
        &server,
        path,
        &config(json!({"timeoutSeconds": 31, "clientConfig": {"url": "http://checker.example.com/"}})),
    );
    assert_eq!(h.status, 422, "{h}");
    let causes: Vec<String> = h.json()["details"]["causes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| format!("{}: {}", c["field"].as_str().unwrap_or(""), c["message"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        causes,
        [
            "webhooks[0].timeoutSeconds: Invalid value: 31: the timeout value must be between 1 and 30 seconds",
            "webhooks[0].clientConfig.url: Invalid value: \"http\": 'https' is the only allowed URL scheme; desired format: https://host[/path]",
        ],
        "{h}"
    );
    assert_eq!(admin_post(&server, path, &config(json!({}))).status, 201);

    // The Service is missing: a matching request is refused (failurePolicy Fail), saying why.
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}});
    let refused = support::eventually(std::time::Duration::from_secs(10), || {
        let h = admin_post(&server, "/api/v1/namespaces/default/configmaps", &cm);
        (h.status == 500).then_some(h)
    })
    .expect("the webhook applies");
    assert!(
        refused.body.contains(
            "failed calling webhook \\\"check.hooks.example.com\\\": service hooks/checker not found"
        ),
        "{refused}"
    );

    // With the Service and its endpoint (the webhook on 127.0.0.1), the webhook is called.
    for (p, body) in [
        (
            "/api/v1/namespaces",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "hooks"}}),
        ),
        (
            "/api/v1/namespaces/hooks/services",
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "checker"},
            "spec": {"ports": [{"name": "https", "port": 443, "targetPort": port}]}}),
        ),
        (
            "/api/v1/namespaces/hooks/endpoints",
            json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "checker"},
            "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": "https", "port": port}]}]}),
        ),
    ] {
        let h = admin_post(&server, p, &body);
        assert_eq!(h.status, 201, "{p}: {h}");
    }
    let before = hook.call_count();
    let h = admin_post(&server, "/api/v1/namespaces/default/configmaps", &cm);
    assert_eq!(h.status, 201, "{h}");
    assert!(hook.call_count() > before, "the Service's endpoint was called");
}
