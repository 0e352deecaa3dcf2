//! ServiceAccounts end to end (issues 3 and 5): the TokenRequest API through
//! `kubectl create token`, bound and legacy Secret tokens, TokenReview, the ServiceAccount
//! admission plugin's projected token volume, and the grant story: a pod's identity is
//! denied, a ClusterRoleBinding to `view` lets it list pods.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::more::{self, retry, whoami, Cluster, FlagServer};
use support::Server;

const UNAUTHORIZED: &str = "error: You must be logged in to the server (Unauthorized)";

/// kube validates a TokenRequest before it looks at the ServiceAccount, with no name.
const TOO_SHORT: &str = r#"error: failed to create token: TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes"#;

fn sa_groups(ns: &str) -> Vec<String> {
    vec![
        "system:serviceaccounts".into(),
        format!("system:serviceaccounts:{ns}"),
        "system:authenticated".into(),
    ]
}

fn create_token(admin: &support::Kubectl, args: &[&str]) -> String {
    let mut all = vec!["create", "token"];
    all.extend_from_slice(args);
    let out = admin.ok(&all);
    let token = out.stdout.trim().to_string();
    assert_eq!(token.split('.').count(), 3, "not a JWT: {out}");
    token
}

fn json_of(out: &support::Output) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

#[test]
fn token_request_issues_working_tokens_within_kube_limits() {
    let server = Server::start();
    let admin = server.admin();
    admin.ok(&["create", "sa", "robot"]).assert_stdout_contains("serviceaccount/robot created");
    let token = create_token(&admin, &["robot", "--duration", "10m"]);

    let k = server.kubectl_bare("robot");
    let (u, g) = whoami(&k, &["--token", &token]).expect("the new token authenticates");
    assert_eq!(u, "system:serviceaccount:default:robot");
    assert_eq!(g, sa_groups("default"));

    // Shorter than kube's 10 minute minimum: refused by validation.
    let out = admin.run(&["create", "token", "robot", "--duration", "1m"]);
    out.assert_code(1);
    assert_eq!(out.stderr.trim(), TOO_SHORT, "{out}");
    // No such ServiceAccount: NotFound.
    let out = admin.run(&["create", "token", "ghost"]);
    out.assert_code(1).assert_stderr_contains(r#"serviceaccounts "ghost" not found"#);

    // TokenReview: the API a webhook-authenticated component uses.
    let review = |t: &str| {
        let body = serde_json::json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
            "spec": {"token": t}})
        .to_string();
        server.admin_curl(
            "/apis/authentication.k8s.io/v1/tokenreviews",
            &["-X", "POST", "-H", "Content-Type: application/json", "--data", &body],
        )
    };
    let h = review(&token);
    assert_eq!(h.status, 201, "{h}");
    let v = h.json();
    assert_eq!(v["kind"], "TokenReview", "{h}");
    assert_eq!(v["status"]["authenticated"], true, "{h}");
    assert_eq!(v["status"]["user"]["username"], "system:serviceaccount:default:robot", "{h}");
    assert_eq!(
        v["status"]["user"]["groups"],
        serde_json::json!([
            "system:serviceaccounts",
            "system:serviceaccounts:default",
            "system:authenticated"
        ]),
        "{h}"
    );
    let sa = json_of(&admin.ok(&["get", "sa", "robot", "-o", "json"]));
    assert_eq!(
        v["status"]["user"]["uid"], sa["metadata"]["uid"],
        "the user's uid is the ServiceAccount's: {h}"
    );
    assert!(v["status"].get("error").is_none_or(|e| e.as_str() == Some("")), "{h}");

    let h = review("garbage");
    assert_eq!(h.status, 201, "{h}");
    // Not authenticated: Go leaves `authenticated: false` out and says why.
    assert_eq!(h.json()["status"], serde_json::json!({"user": {}, "error": "invalid bearer token"}), "{h}");
    // TokenReview is a privileged API: the robot itself may not call it.
    let body = serde_json::json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
        "spec": {"token": "garbage"}})
    .to_string();
    let auth = format!("Authorization: Bearer {token}");
    let h = server.curl(
        "/apis/authentication.k8s.io/v1/tokenreviews",
        &["-X", "POST", "-H", "Content-Type: application/json", "-H", &auth, "--data", &body],
    );
    assert_eq!(h.status, 403, "{h}");
    assert_eq!(
        h.json()["message"],
        r#"tokenreviews.authentication.k8s.io is forbidden: User "system:serviceaccount:default:robot" cannot create resource "tokenreviews" in API group "authentication.k8s.io" at the cluster scope"#
    );

    // Deleting the ServiceAccount kills its tokens at once.
    admin.ok(&["delete", "sa", "robot"]);
    let out = k.run(&["--token", &token, "auth", "whoami"]);
    out.assert_code(1);
    assert_eq!(out.stderr.trim(), UNAUTHORIZED, "token of a deleted ServiceAccount: {out}");
    let st = review(&token).json()["status"].clone();
    assert_eq!(st, serde_json::json!({"user": {}, "error": r#"serviceaccounts "robot" not found"#}));

    // A new ServiceAccount of the same name does not revive the old token (new uid).
    admin.ok(&["create", "sa", "robot"]);
    let out = k.run(&["--token", &token, "auth", "whoami"]);
    assert_eq!(out.stderr.trim(), UNAUTHORIZED, "token of a recreated ServiceAccount: {out}");
}

#[test]
fn secret_bound_token_dies_with_its_secret() {
    let server = Server::start();
    let admin = server.admin();
    admin.ok(&["create", "sa", "robot"]);
    admin.ok(&["create", "secret", "generic", "s", "--from-literal=a=b"]);
    let token = create_token(
        &admin,
        &["robot", "--duration", "10m", "--bound-object-kind", "Secret", "--bound-object-name", "s"],
    );
    let k = server.kubectl_bare("robot");
    let (u, _) = whoami(&k, &["--token", &token]).expect("bound token works while the Secret exists");
    assert_eq!(u, "system:serviceaccount:default:robot");

    // Binding to an object that does not exist is refused.
    let out = admin.run(&[
        "create",
        "token",
        "robot",
        "--bound-object-kind",
        "Secret",
        "--bound-object-name",
        "nope",
    ]);
    out.assert_code(1).assert_stderr_contains(r#"secrets "nope" not found"#);

    admin.ok(&["delete", "secret", "s"]);
    let (ok, last) = retry(Duration::from_secs(5), || {
        let out = k.run(&["--token", &token, "auth", "whoami"]);
        (out.code == Some(1) && out.stderr.trim() == UNAUTHORIZED, out.to_string())
    });
    assert!(ok, "a token bound to a deleted Secret still works: {last}");
    // A new Secret of the same name has another uid: the token stays dead.
    admin.ok(&["create", "secret", "generic", "s", "--from-literal=a=b"]);
    let out = k.run(&["--token", &token, "auth", "whoami"]);
    assert_eq!(out.stderr.trim(), UNAUTHORIZED, "{out}");
}

#[test]
fn legacy_token_secret_is_filled_and_authenticates() {
    let server = Server::start();
    let admin = server.admin();
    admin.ok(&["create", "sa", "robot"]);
    let f = server.file(
        "legacy.yaml",
        r#"apiVersion: v1
kind: Secret
metadata:
  name: robot-token
  annotations:
    kubernetes.io/service-account.name: robot
type: kubernetes.io/service-account-token
"#,
    );
    admin.ok(&["apply", "-f", f.to_str().expect("utf-8")]);
    let mut secret = Value::Null;
    let (ok, last) = retry(Duration::from_secs(5), || {
        let out = admin.ok(&["get", "secret", "robot-token", "-o", "json"]);
        secret = json_of(&out);
        (secret["data"]["token"].is_string(), out.stdout)
    });
    assert!(ok, "data.token not filled in within 5 s: {last}");
    let data = &secret["data"];
    assert_eq!(more::b64_decode(data["namespace"].as_str().expect("namespace")), "default");
    assert_eq!(more::b64_decode(data["ca.crt"].as_str().expect("ca.crt")), server.ca_pem());
    let sa = json_of(&admin.ok(&["get", "sa", "robot", "-o", "json"]));
    assert_eq!(
        secret["metadata"]["annotations"]["kubernetes.io/service-account.uid"], sa["metadata"]["uid"],
        "{secret}"
    );
    let token = more::b64_decode(data["token"].as_str().expect("token"));

    let k = server.kubectl_bare("robot");
    let (u, g) = whoami(&k, &["--token", &token]).expect("the legacy token authenticates");
    assert_eq!(u, "system:serviceaccount:default:robot");
    assert_eq!(g, sa_groups("default"));

    // The token lives exactly as long as its Secret.
    admin.ok(&["delete", "secret", "robot-token"]);
    let (ok, last) = retry(Duration::from_secs(5), || {
        let out = k.run(&["--token", &token, "auth", "whoami"]);
        (out.stderr.trim() == UNAUTHORIZED, out.to_string())
    });
    assert!(ok, "legacy token works after its Secret was deleted: {last}");
}

const SAMPLE_POD: &str = r#"apiVersion: v1
kind: Pod
metadata:
  name: sample-pod
spec:
  serviceAccountName: sample-serviceaccount
  initContainers:
  - name: init
    image: busybox
  containers:
  - name: app
    image: nginx
  - name: sidecar
    image: busybox
"#;

/// The story of issue 5, step by step as a user would do it.
#[test]
fn service_account_story_denied_then_viewer() {
    let server = Server::start();
    let admin = server.admin();
    admin
        .ok(&["create", "serviceaccount", "sample-serviceaccount"])
        .assert_stdout_contains("serviceaccount/sample-serviceaccount created");
    let pod = server.file("pod.yaml", SAMPLE_POD);
    admin.ok(&["apply", "-f", pod.to_str().expect("utf-8")]).assert_stdout_contains("pod/sample-pod created");

    // The ServiceAccount admission plugin mounted the token volume in every container.
    let pod = json_of(&admin.ok(&["get", "pod", "sample-pod", "-o", "json"]));
    let spec = &pod["spec"];
    assert_eq!(spec["serviceAccountName"], "sample-serviceaccount", "{pod}");
    let volumes = spec["volumes"].as_array().expect("volumes");
    let vol = volumes
        .iter()
        .find(|v| v["name"].as_str().is_some_and(|n| n.starts_with("kube-api-access-")))
        .unwrap_or_else(|| panic!("no kube-api-access-* volume: {pod}"));
    let vol_name = vol["name"].as_str().expect("name");
    assert_eq!(vol_name.len(), "kube-api-access-".len() + 5, "kube's 5-character suffix: {vol_name}");
    let sources = vol["projected"]["sources"].as_array().expect("projected sources");
    assert_eq!(sources.len(), 3, "{vol}");
    assert_eq!(sources[0]["serviceAccountToken"]["path"], "token", "{vol}");
    assert_eq!(sources[0]["serviceAccountToken"]["expirationSeconds"], 3607, "{vol}");
    assert_eq!(sources[1]["configMap"]["name"], "kube-root-ca.crt", "{vol}");
    assert_eq!(sources[1]["configMap"]["items"][0]["key"], "ca.crt", "{vol}");
    assert_eq!(sources[1]["configMap"]["items"][0]["path"], "ca.crt", "{vol}");
    assert_eq!(sources[2]["downwardAPI"]["items"][0]["path"], "namespace", "{vol}");
    assert_eq!(sources[2]["downwardAPI"]["items"][0]["fieldRef"]["fieldPath"], "metadata.namespace", "{vol}");
    assert_eq!(vol["projected"]["defaultMode"], 420, "{vol}");
    for list in ["initContainers", "containers"] {
        for c in spec[list].as_array().expect("containers") {
            let mounts = c["volumeMounts"].as_array().unwrap_or_else(|| panic!("no mounts in {c}"));
            let m = mounts
                .iter()
                .find(|m| m["name"] == vol_name)
                .unwrap_or_else(|| panic!("container {} lacks the token mount: {c}", c["name"]));
            assert_eq!(m["mountPath"], "/var/run/secrets/kubernetes.io/serviceaccount", "{c}");
            assert_eq!(m["readOnly"], true, "{c}");
        }
    }

    // The pod's identity is denied ...
    let token = create_token(&admin, &["sample-serviceaccount", "--duration", "10m"]);
    let sa = server.kubectl_token("sample-sa", &token);
    let out = sa.run(&["get", "pods"]);
    out.assert_code(1);
    let denied = r#"Error from server (Forbidden): pods is forbidden: User "system:serviceaccount:default:sample-serviceaccount" cannot list resource "pods" in API group "" in the namespace "default""#;
    assert!(out.stderr.lines().any(|l| l == denied), "want {denied:?}: {out}");

    // ... until the admin binds it to the `view` ClusterRole.
    admin
        .ok(&[
            "create",
            "clusterrolebinding",
            "sample-view",
            "--clusterrole=view",
            "--serviceaccount=default:sample-serviceaccount",
        ])
        .assert_stdout_contains("clusterrolebinding.rbac.authorization.k8s.io/sample-view created");
    let (ok, last) = retry(Duration::from_secs(5), || {
        let out = sa.run(&["get", "pods"]);
        (out.ok() && out.stdout.contains("sample-pod"), out.to_string())
    });
    assert!(ok, "the ServiceAccount still cannot list pods 5 s after the binding: {last}");
    // view is read-only and excludes Secrets.
    let out = sa.run(&["delete", "pod", "sample-pod"]);
    out.assert_code(1).assert_stderr_contains(
        r#"pods "sample-pod" is forbidden: User "system:serviceaccount:default:sample-serviceaccount" cannot delete resource "pods" in API group "" in the namespace "default""#,
    );
    let out = sa.run(&["get", "secrets"]);
    out.assert_code(1).assert_stderr_contains(r#"cannot list resource "secrets""#);
}

#[test]
fn pods_need_an_existing_service_account() {
    let server = Server::start();
    let admin = server.admin();
    let f = server.file(
        "ghost.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  serviceAccountName: missing\n  containers:\n  - name: c\n    image: nginx\n",
    );
    let out = admin.run(&["create", "-f", f.to_str().expect("utf-8")]);
    out.assert_code(1);
    let want = r#"pods "p" is forbidden: error looking up service account default/missing: serviceaccount "missing" not found"#;
    out.assert_stderr_contains("Error from server (Forbidden): error when creating");
    out.assert_stderr_contains(want);

    // Over HTTP: a 403 Status with the same message.
    let body = serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"serviceAccountName": "missing", "containers": [{"name": "c", "image": "nginx"}]}})
    .to_string();
    let h = server.admin_curl(
        "/api/v1/namespaces/default/pods",
        &["-X", "POST", "-H", "Content-Type: application/json", "--data", &body],
    );
    assert_eq!(h.status, 403, "{h}");
    assert_eq!(h.json()["message"], want, "{h}");
    assert_eq!(h.json()["reason"], "Forbidden", "{h}");

    // automountServiceAccountToken: false on the pod means no token volume.
    let f = server.file(
        "nomount.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: q\nspec:\n  automountServiceAccountToken: false\n  containers:\n  - name: c\n    image: nginx\n",
    );
    admin.ok(&["create", "-f", f.to_str().expect("utf-8")]);
    let pod = json_of(&admin.ok(&["get", "pod", "q", "-o", "json"]));
    assert_eq!(pod["spec"]["serviceAccountName"], "default", "{pod}");
    let vols = pod["spec"]["volumes"].as_array().cloned().unwrap_or_default();
    assert!(vols.is_empty(), "a token volume despite automountServiceAccountToken: false: {pod}");
}

#[test]
fn new_namespaces_get_default_service_account_and_root_ca() {
    let server = Server::start();
    let admin = server.admin();
    admin.ok(&["create", "namespace", "fresh"]);
    let (ok, last) = retry(Duration::from_secs(5), || {
        let out = admin.run(&["get", "serviceaccount", "default", "-n", "fresh", "-o", "name"]);
        (out.ok() && out.stdout.trim() == "serviceaccount/default", out.to_string())
    });
    assert!(ok, "no default ServiceAccount in a new namespace within 5 s: {last}");
    let mut cm = Value::Null;
    let (ok, last) = retry(Duration::from_secs(5), || {
        let out = admin.run(&["get", "configmap", "kube-root-ca.crt", "-n", "fresh", "-o", "json"]);
        if out.ok() {
            cm = json_of(&out);
        }
        (out.ok(), out.to_string())
    });
    assert!(ok, "no kube-root-ca.crt ConfigMap in a new namespace within 5 s: {last}");
    assert_eq!(cm["data"]["ca.crt"].as_str(), Some(server.ca_pem().as_str()), "{cm}");
}

/// kube's root-ca-cert-publisher: a changed `kube-root-ca.crt` gets the cluster CA back
/// (Kubernetes' e2e "should guarantee kube-root-ca.crt exist in any namespace").
#[test]
fn a_changed_root_ca_config_map_is_reconciled() {
    let server = Server::start();
    let admin = server.admin();
    let (ok, last) = retry(Duration::from_secs(5), || {
        let out = admin.run(&["get", "configmap", "kube-root-ca.crt", "-o", "name"]);
        (out.ok(), out.to_string())
    });
    assert!(ok, "no kube-root-ca.crt in namespace default: {last}");
    let emptied = server.file(
        "root-ca.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kube-root-ca.crt\ndata:\n  ca.crt: \"\"\n",
    );
    admin.ok(&["replace", "-f", emptied.to_str().unwrap_or_default()]);
    let (ok, last) = retry(Duration::from_secs(10), || {
        let out = admin.run(&["get", "configmap", "kube-root-ca.crt", "-o", "json"]);
        let cm = if out.ok() { json_of(&out) } else { Value::Null };
        let ok = cm["data"]["ca.crt"].as_str() == Some(server.ca_pem().as_str())
            && cm["metadata"]["annotations"]["kubernetes.io/description"]
                .as_str()
                .is_some_and(|d| !d.is_empty());
        (ok, cm.to_string())
    });
    assert!(ok, "kube-root-ca.crt was not reconciled within 10 s: {last}");
}

/// kube's serviceaccounts controller watches ServiceAccounts and recreates `default` at once.
#[test]
fn deleted_default_service_account_comes_back() {
    let server = Server::start();
    let admin = server.admin();
    let (ok, last) = retry(Duration::from_secs(5), || {
        let out = admin.run(&["get", "serviceaccount", "default", "-o", "name"]);
        (out.ok(), out.to_string())
    });
    assert!(ok, "no default ServiceAccount in namespace default: {last}");
    admin.ok(&["delete", "serviceaccount", "default"]);
    let (ok, last) = retry(Duration::from_secs(10), || {
        let out = admin.run(&["get", "serviceaccount", "default", "-o", "name"]);
        (out.ok(), out.to_string())
    });
    assert!(ok, "the default ServiceAccount was not recreated within 10 s: {last}");
}

/// Oldest and newest kubectl: TokenRequest as each sends it, and `auth whoami` (v1beta1
/// SelfSubjectReview before 1.28's v1).
#[test]
fn token_request_and_whoami_across_kubectl_versions() {
    let server = Server::start();
    for version in ["1.27", "1.33"] {
        let Some(bin) = support::Kubectl::find(version) else {
            support::missing(&format!("kubectl {version}"));
            continue;
        };
        let admin = server.kubectl_with(version, "admin", &server.kubeconfig);
        let name = format!("robot-{}", version.replace('.', "-"));
        admin.ok(&["create", "serviceaccount", &name]);
        let out = admin.ok(&["create", "token", &name, "--duration", "10m"]);
        let token = out.stdout.trim().to_string();
        let bare = support::Kubectl::new(
            bin,
            &server.anonymous_kubeconfig(),
            &server.scratch_dir(&format!("cache-bare-{version}")),
        );
        let (u, g) = whoami(&bare, &["--token", &token]).unwrap_or_else(|o| panic!("kubectl {version}: {o}"));
        assert_eq!(u, format!("system:serviceaccount:default:{name}"), "kubectl {version}");
        assert_eq!(g, sa_groups("default"), "kubectl {version}");
        let out = admin.run(&["create", "token", &name, "--duration", "1m"]);
        out.assert_code(1);
        assert_eq!(out.stderr.trim(), TOO_SHORT, "kubectl {version}: {out}");
    }
}

/// `kubectl create token --audience vault`, then TokenReviews for `vault` (kubectl, curl and
/// the Python client, as Vault's Kubernetes auth sends it): kube authenticates the token for
/// the requested audiences (the API audiences when none are given) and answers their
/// intersection with the token's in `status.audiences`; no audience in common is not
/// authenticated, with the service-account authenticator's error
/// (k8s.io/kubernetes `pkg/registry/authentication/tokenreview/storage.go`,
/// `pkg/serviceaccount/jwt.go`).
#[test]
fn token_review_honours_spec_audiences() {
    const API: &str = "https://kubernetes.default.svc.cluster.local";
    let server = Server::start();
    let admin = server.admin();
    admin.ok(&["create", "sa", "vault-client"]);
    let vault = create_token(&admin, &["vault-client", "--audience", "vault"]);
    let api = create_token(&admin, &["vault-client"]);

    // kubectl create -f: the review comes back with its status.
    let dir = tempfile::tempdir().unwrap();
    let review = |token: &str, audiences: &[&str]| {
        let body = serde_json::json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
            "spec": {"token": token, "audiences": audiences}});
        let path = dir.path().join("review.json");
        std::fs::write(&path, body.to_string()).unwrap();
        let out = admin.ok(&["create", "-f", path.to_str().unwrap(), "-o", "json", "--validate=false"]);
        json_of(&out)["status"].clone()
    };
    let st = review(&vault, &["vault"]);
    assert_eq!(st["authenticated"], true, "{st}");
    assert_eq!(st["audiences"], serde_json::json!(["vault"]), "{st}");
    assert_eq!(st["user"]["username"], "system:serviceaccount:default:vault-client", "{st}");
    // Several audiences asked: the answer is those the token is for, in the asked order.
    let st = review(&vault, &["consul", "vault"]);
    assert_eq!(
        (st["authenticated"].clone(), st["audiences"].clone()),
        (true.into(), serde_json::json!(["vault"]))
    );
    // No audience in common: not authenticated (Go leaves `false` out), kube's error.
    let st = review(&vault, &["consul"]);
    assert_ne!(st["authenticated"], true, "{st}");
    assert_eq!(
        st["error"], r#"token audiences ["vault"] is invalid for the target audiences ["consul"]"#,
        "{st}"
    );
    // No audiences asked: the API audiences, which a vault token is not for.
    let st = review(&vault, &[]);
    assert_ne!(st["authenticated"], true, "{st}");
    assert_eq!(
        st["error"],
        format!(r#"token audiences ["vault"] is invalid for the target audiences ["{API}"]"#)
    );
    // An ordinary token: for the API audiences only.
    let st = review(&api, &[]);
    assert_eq!(
        (st["authenticated"].clone(), st["audiences"].clone()),
        (true.into(), serde_json::json!([API]))
    );
    assert_ne!(review(&api, &["vault"])["authenticated"], true);
    assert_eq!(review("garbage", &["vault"])["error"], "invalid bearer token");

    // The same over plain HTTP.
    let body = serde_json::json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
        "spec": {"token": vault, "audiences": ["vault"]}})
    .to_string();
    let h = server.admin_curl(
        "/apis/authentication.k8s.io/v1/tokenreviews",
        &["-X", "POST", "-H", "Content-Type: application/json", "--data", &body],
    );
    assert_eq!(h.status, 201, "{h}");
    assert_eq!(h.json()["status"]["audiences"], serde_json::json!(["vault"]), "{h}");

    // And through the Python client.
    let mut py = std::process::Command::new("python3");
    py.args(["-c", "import kubernetes"]);
    if !(support::have_program("python3") && support::run(py, support::COMMAND_TIMEOUT).ok()) {
        support::missing("python kubernetes client");
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/token_review.py");
    let python = |token: &str, audiences: &[&str]| {
        let mut cmd = std::process::Command::new("python3");
        cmd.arg(script).arg(&server.kubeconfig).arg(token).args(audiences);
        let out = support::run(cmd, support::COMMAND_TIMEOUT);
        out.assert_ok();
        serde_json::from_str::<Value>(out.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
    };
    let st = python(&vault, &["vault"]);
    assert_eq!(st["authenticated"], true, "{st}");
    assert_eq!(st["audiences"], serde_json::json!(["vault"]), "{st}");
    assert_eq!(st["user"], "system:serviceaccount:default:vault-client", "{st}");
    let st = python(&vault, &["consul"]);
    assert_ne!(st["authenticated"], true, "{st}");
    assert_eq!(st["error"], r#"token audiences ["vault"] is invalid for the target audiences ["consul"]"#);
}

/// Verifies a compact JWS with the JSON Web Key of the same `kid` from `keyset`, as a relying
/// party that only has the key set would (ring, not kubeward's code).
fn verify_with_jwks(token: &str, keyset: &Value) -> Result<(), String> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use ring::signature;
    let b64 = |s: &Value| URL_SAFE_NO_PAD.decode(s.as_str().unwrap_or_default()).map_err(|e| e.to_string());
    let (signing_input, sig) = token.rsplit_once('.').ok_or("not a JWS")?;
    let header: Value =
        serde_json::from_slice(&b64(&Value::from(token.split('.').next().unwrap_or_default()))?)
            .map_err(|e| e.to_string())?;
    let sig = b64(&Value::from(sig))?;
    let keys = keyset["keys"].as_array().ok_or("no keys")?;
    let key = keys.iter().find(|k| k["kid"] == header["kid"]).ok_or(format!("no key {}", header["kid"]))?;
    assert_eq!((&key["use"], &key["alg"]), (&Value::from("sig"), &header["alg"]), "{key}");
    let ok =
        match header["alg"].as_str() {
            Some("ES256") => {
                let point = [vec![4u8], b64(&key["x"])?, b64(&key["y"])?].concat();
                signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(signing_input.as_bytes(), &sig)
            }
            Some("RS256") => signature::RsaPublicKeyComponents { n: b64(&key["n"])?, e: b64(&key["e"])? }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, signing_input.as_bytes(), &sig),
            other => return Err(format!("unexpected alg {other:?}")),
        };
    ok.map_err(|_| "signature does not verify".to_string())
}

#[test]
fn issuer_discovery_publishes_the_keys_that_verify_tokens() {
    let server = Server::start();
    let admin = server.admin();
    // The discovery document, through kubectl as the admin.
    let config = json_of(&admin.ok(&["get", "--raw", "/.well-known/openid-configuration"]));
    assert_eq!(config["issuer"], "https://kubernetes.default.svc.cluster.local", "{config}");
    assert_eq!(config["jwks_uri"], format!("{}/openid/v1/jwks", server.url()), "{config}");
    assert_eq!(config["response_types_supported"], serde_json::json!(["id_token"]));
    assert_eq!(config["subject_types_supported"], serde_json::json!(["public"]));
    let algs = config["id_token_signing_alg_values_supported"].clone();
    // Both documents are listed at the root, as kube lists them.
    let root = json_of(&admin.ok(&["get", "--raw", "/"]));
    let paths: Vec<&str> = root["paths"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(
        paths.contains(&"/.well-known/openid-configuration") && paths.contains(&"/openid/v1/jwks"),
        "{root}"
    );

    // The OpenAPI v3 index names both documents, and each describes its operation.
    let index = json_of(&admin.ok(&["get", "--raw", "/openapi/v3"]));
    assert!(index["paths"].get("openid/v1/jwks").is_some(), "{index}");
    let doc = json_of(&admin.ok(&["get", "--raw", "/openapi/v3/.well-known/openid-configuration"]));
    let op = &doc["paths"]["/.well-known/openid-configuration/"]["get"];
    assert_eq!(op["operationId"], "getServiceAccountIssuerOpenIDConfiguration", "{doc}");

    // A ServiceAccount reads the key set with its own token (the default binding of
    // system:service-account-issuer-discovery to system:serviceaccounts), also at the
    // slash-ended path RBAC allows.
    admin.ok(&["create", "sa", "robot"]);
    let token = create_token(&admin, &["robot"]);
    let headers = server.scratch_dir("discovery").join("headers");
    let auth = format!("Authorization: Bearer {token}");
    let h = server.curl("/openid/v1/jwks", &["-H", &auth, "-D", headers.to_str().unwrap()]);
    assert_eq!(h.status, 200, "{h}");
    let head = std::fs::read_to_string(&headers).unwrap().to_ascii_lowercase();
    assert!(head.contains("content-type: application/jwk-set+json"), "{head}");
    assert!(head.contains("cache-control: public, max-age=3600"), "{head}");
    let keyset = h.json();
    assert_eq!(server.curl("/openid/v1/jwks/", &["-H", &auth]).json(), keyset);
    // go-restful's negotiation, as kube: a client that accepts only JSON is refused.
    let h = server.curl("/openid/v1/jwks", &["-H", &auth, "-H", "Accept: application/json"]);
    assert_eq!(h.status, 406, "{h}");
    assert_eq!(
        h.json()["message"],
        "406: Not Acceptable\n\nAvailable representations: application/jwk-set+json",
        "{h}"
    );
    let key_algs: Vec<&Value> = keyset["keys"].as_array().unwrap().iter().map(|k| &k["alg"]).collect();
    assert!(algs.as_array().unwrap().iter().all(|a| key_algs.contains(&a)), "{algs} vs {keyset}");

    // What a relying party does with it: a token made for it verifies with the published key,
    // and the same token with its payload altered does not.
    let token = create_token(&admin, &["robot", "--audience", "https://vault.example.com"]);
    verify_with_jwks(&token, &keyset).unwrap_or_else(|e| panic!("{e}: {keyset}"));
    let mut parts: Vec<String> = token.split('.').map(String::from).collect();
    parts[1] =
        more::b64_encode(r#"{"sub":"system:serviceaccount:kube-system:admin"}"#).trim_end_matches('=').into();
    assert!(verify_with_jwks(&parts.join("."), &keyset).is_err(), "an altered token verified");

    // Without credentials: 401, as for every other path but the health checks.
    let h = server.curl("/.well-known/openid-configuration", &[]);
    assert_eq!(h.status, 401, "{h}");
    assert_eq!(h.json()["reason"], "Unauthorized", "{h}");
    // A user without the role: 403 with kube's non-resource message.
    let k = server.kubectl_user("jane", &[]);
    let out = k.run(&["get", "--raw", "/openid/v1/jwks"]);
    out.assert_code(1);
    assert!(out.stderr.contains("Forbidden"), "{out}");
}

#[test]
fn issuer_discovery_follows_the_issuer_flags() {
    // An https issuer and --service-account-jwks-uri: published as given.
    let server = FlagServer::start(|_| {
        [
            "--service-account-issuer",
            "https://issuer.example.com",
            "--service-account-jwks-uri",
            "https://keys.example.com/jwks",
        ]
        .map(String::from)
        .to_vec()
    });
    let config = server.admin_curl("/.well-known/openid-configuration", &[]).json();
    assert_eq!(
        (config["issuer"].as_str(), config["jwks_uri"].as_str()),
        (Some("https://issuer.example.com"), Some("https://keys.example.com/jwks")),
        "{config}"
    );
    drop(server);
    // An issuer that is no https URL (kube's legacy name): the endpoints are off, as kube's.
    let server = FlagServer::start(|_| {
        ["--service-account-issuer", "kubernetes/serviceaccount"].map(String::from).to_vec()
    });
    let h = server.admin_curl("/.well-known/openid-configuration", &[]);
    assert_eq!(h.status, 404, "{h}");
    let root = server.admin_curl("/", &[]).json();
    assert!(!root["paths"].as_array().unwrap().iter().any(|p| p == "/openid/v1/jwks"), "{root}");
}
