//! Health and metrics through the real binary: kube's named checks on `/healthz`, `/livez`
//! and `/readyz` (`?verbose`, `?exclude=`, `/readyz/<check>`, the post-start hooks kubeward
//! does the job of), a lost etcd failing readyz; the `extension-apiserver-authentication`
//! ConfigMap behind one of those hooks;
//! `/metrics` in Prometheus' text format with kube's metric names, readable only with RBAC
//! on the non-resource URL (`system:monitoring`).

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::more::{load_ca, write_pair, Cluster};
use support::Server;

/// The verbose lines of the hooks (and of kube's `autoregister-completion` check after them).
fn hook_lines() -> String {
    let mut lines: String = POST_START_HOOKS.iter().map(|h| format!("[+]poststarthook/{h} ok\n")).collect();
    lines.push_str("[+]autoregister-completion ok\n");
    lines
}

/// kube-apiserver's post-start hooks kubeward does the job of, in kube's order.
const POST_START_HOOKS: &[&str] = &[
    "start-apiserver-admission-initializer",
    "generic-apiserver-start-informers",
    "priority-and-fairness-config-consumer",
    "storage-object-count-tracker-hook",
    "start-apiextensions-informers",
    "start-apiextensions-controllers",
    "crd-informer-synced",
    "start-system-namespaces-controller",
    "start-cluster-authentication-info-controller",
    "start-kube-apiserver-identity-lease-controller",
    "start-kube-apiserver-identity-lease-garbage-collector",
    "start-service-ip-repair-controllers",
    "rbac/bootstrap-roles",
    "scheduling/bootstrap-system-priority-classes",
    "bootstrap-controller",
    "start-kubernetes-service-cidr-controller",
    "start-kube-aggregator-informers",
    "apiservice-status-local-available-controller",
    "kube-apiserver-autoregistration",
];

#[test]
fn health_endpoints_run_kube_named_checks() {
    if !support::have_program("curl") {
        return support::missing("curl");
    }
    let server = Server::start();
    let h = server.admin_curl("/readyz?verbose", &[]);
    assert_eq!(h.status, 200, "{h}");
    let hooks = hook_lines();
    assert_eq!(
        h.body,
        format!("[+]ping ok\n[+]log ok\n[+]etcd ok\n[+]etcd-readiness ok\n[+]informer-sync ok\n{hooks}readyz check passed\n")
    );
    for endpoint in ["healthz", "livez"] {
        let h = server.admin_curl(&format!("/{endpoint}?verbose=1"), &[]);
        assert_eq!(
            (h.status, h.body),
            (200, format!("[+]ping ok\n[+]log ok\n[+]etcd ok\n{hooks}{endpoint} check passed\n"))
        );
    }
    // One hook alone, by its path (names with a slash included), as kubectl get --raw asks.
    for path in ["/readyz/poststarthook/rbac/bootstrap-roles", "/livez/poststarthook/crd-informer-synced"] {
        let h = server.admin_curl(path, &[]);
        assert_eq!((h.status, h.body.as_str()), (200, "ok"), "{path}");
    }
    // kube-aggregator's hooks are not kubeward's to claim.
    assert_eq!(
        server.admin_curl("/readyz/poststarthook/apiservice-registration-controller", &[]).status,
        404
    );
    let h = server.admin_curl(
        "/livez?verbose&exclude=etcd&exclude=nope&exclude=poststarthook/rbac/bootstrap-roles",
        &[],
    );
    let hooks = hooks.replace(
        "[+]poststarthook/rbac/bootstrap-roles ok",
        "[+]poststarthook/rbac/bootstrap-roles excluded: ok",
    );
    assert_eq!(
        (h.status, h.body),
        (
            200,
            format!("[+]ping ok\n[+]log ok\n[+]etcd excluded: ok\n{hooks}warn: some health checks cannot be excluded: no matches for \"nope\"\nlivez check passed\n")
        )
    );
    for path in ["/readyz/etcd", "/livez/ping", "/healthz/log", "/readyz/informer-sync"] {
        let h = server.admin_curl(path, &[]);
        assert_eq!((h.status, h.body.as_str()), (200, "ok"), "{path}");
    }
    assert_eq!(server.admin_curl("/livez/informer-sync", &[]).status, 404);
    // Anonymous clients get the answer without details of named checks.
    assert_eq!(server.curl("/readyz", &[]).body, "ok");
    assert_eq!(server.curl("/readyz/etcd", &[]).status, 401);
}

/// The PEM blocks' base64 text, whatever the line lengths.
fn pem_text(pem: &str) -> String {
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

#[test]
fn extension_apiserver_authentication_publishes_the_servers_trust() {
    if !support::have_program("curl") {
        return support::missing("curl");
    }
    let server = Server::start();
    let path = "/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication";
    let h = server.admin_curl(path, &[]);
    assert_eq!(h.status, 200, "{h}");
    let cm = h.json();
    let data = &cm["data"];
    let file = |name: &str| std::fs::read_to_string(server.pki().join(name)).expect("pki file");
    assert_eq!(pem_text(data["client-ca-file"].as_str().unwrap_or_default()), pem_text(&file("ca.crt")));
    assert_eq!(
        pem_text(data["requestheader-client-ca-file"].as_str().unwrap_or_default()),
        pem_text(&file("front-proxy-ca.crt"))
    );
    for (key, value) in [
        ("requestheader-allowed-names", r#"["front-proxy-client"]"#),
        ("requestheader-username-headers", r#"["X-Remote-User"]"#),
        ("requestheader-uid-headers", r#"["X-Remote-Uid"]"#),
        ("requestheader-group-headers", r#"["X-Remote-Group"]"#),
        ("requestheader-extra-headers-prefix", r#"["X-Remote-Extra-"]"#),
    ] {
        assert_eq!(data[key], value, "{key}: {cm}");
    }
    assert_eq!(data.as_object().map(|d| d.len()), Some(7), "{cm}");

    // A key taken out is put back; a deleted ConfigMap comes back (on their events).
    let patch = r#"{"data":{"requestheader-allowed-names":null}}"#;
    let h = server.admin_curl(
        path,
        &["-X", "PATCH", "-H", "Content-Type: application/merge-patch+json", "--data", patch],
    );
    assert_eq!(h.status, 200, "{h}");
    let restored = support::eventually(Duration::from_secs(10), || {
        let h = server.admin_curl(path, &[]);
        (h.status == 200 && h.json()["data"] == *data).then_some(())
    });
    assert!(restored.is_some(), "the removed key was not put back: {}", server.admin_curl(path, &[]));
    assert_eq!(server.admin_curl(path, &["-X", "DELETE"]).status, 200);
    let recreated = support::eventually(Duration::from_secs(10), || {
        let h = server.admin_curl(path, &[]);
        (h.status == 200 && h.json()["data"] == *data).then_some(h.json())
    })
    .expect("the deleted ConfigMap was not recreated");
    assert_ne!(recreated["metadata"]["uid"], cm["metadata"]["uid"]);
}

/// kube's system namespaces controller: a deleted `kube-node-lease` (the one system
/// namespace that may be deleted) comes back without a restart. The one-minute interval is
/// shortened to a second through the test-only variable.
#[test]
fn a_deleted_system_namespace_comes_back() {
    if !support::have_program("curl") {
        return support::missing("curl");
    }
    let server = support::more::FlagServer::start_env(
        |_| vec![],
        &[("KUBEWARD_TEST_SYSTEM_NAMESPACES_INTERVAL_SECONDS", "1")],
    );
    let path = "/api/v1/namespaces/kube-node-lease";
    let before = server.admin_curl(path, &[]);
    assert_eq!(before.status, 200, "{before}");
    assert_eq!(server.admin_curl(path, &["-X", "DELETE"]).status, 200);
    let back = support::eventually(Duration::from_secs(20), || {
        let h = server.admin_curl(path, &[]);
        let ns = (h.status == 200).then(|| h.json())?;
        let fresh = ns["metadata"]["uid"] != before.json()["metadata"]["uid"];
        (fresh && ns["status"]["phase"] == "Active").then_some(ns)
    });
    assert!(back.is_some(), "kube-node-lease did not come back: {}", server.admin_curl(path, &[]));
}

#[test]
fn metrics_speak_prometheus_with_kube_names_and_need_rbac() {
    if !support::have_program("curl") {
        return support::missing("curl");
    }
    let server = Server::start();
    assert_eq!(server.curl("/metrics", &[]).status, 401);
    let ca = load_ca(&server.pki(), "ca");
    let dir = server.scratch_dir("certs");
    let creds = |user: &str, groups: &[&str]| {
        let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        let c = ca.issue_client(user, &groups).expect("client cert");
        write_pair(&dir, user, &c.cert_pem, &c.key_pem)
    };
    let (jc, jk) = creds("jane", &[]);
    let h = server.curl("/metrics", &["--cert", &jc, "--key", &jk]);
    assert_eq!(h.status, 403, "{h}");
    assert!(h.body.contains("User \\\"jane\\\" cannot get path \\\"/metrics\\\""), "{h}");

    // Some traffic to count.
    for _ in 0..3 {
        assert_eq!(server.admin_curl("/api/v1/namespaces", &[]).status, 200);
    }
    assert_eq!(server.admin_curl("/api/v1/namespaces/default/configmaps/none", &[]).status, 404);
    // One create admitted, one refused by NamespaceLifecycle (its namespace does not exist).
    let cm = |ns: &str| {
        let body = format!(
            r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"m","namespace":"{ns}"}}}}"#
        );
        let path = format!("/api/v1/namespaces/{ns}/configmaps");
        server.admin_curl(&path, &["-X", "POST", "-H", "Content-Type: application/json", "-d", &body])
    };
    assert_eq!(cm("default").status, 201);
    let refused = cm("nowhere");
    assert_eq!(refused.status, 404, "{refused}");
    assert!(refused.body.contains(r#"namespaces \"nowhere\" not found"#), "{refused}");
    let (mc, mk) = creds("prometheus", &["system:monitoring"]);
    let text = support::eventually(Duration::from_secs(20), || {
        let h = server.curl("/metrics", &["--cert", &mc, "--key", &mk]);
        assert_eq!(h.status, 200, "{h}");
        h.body.contains("apiserver_storage_objects{resource=\"namespaces\"} 4").then_some(h.body)
    })
    .expect("storage objects counted");
    for line in [
        "# TYPE apiserver_request_total counter",
        "apiserver_request_total{code=\"200\",component=\"apiserver\",dry_run=\"\",group=\"\",resource=\"namespaces\",scope=\"cluster\",subresource=\"\",verb=\"LIST\",version=\"v1\"} 3",
        "apiserver_request_total{code=\"404\",component=\"apiserver\",dry_run=\"\",group=\"\",resource=\"configmaps\",scope=\"resource\",subresource=\"\",verb=\"GET\",version=\"v1\"} 1",
        "apiserver_request_total{code=\"403\",component=\"apiserver\",dry_run=\"\",group=\"\",resource=\"\",scope=\"\",subresource=\"/metrics\",verb=\"GET\",version=\"\"} 1",
        "# TYPE apiserver_request_duration_seconds histogram",
        "apiserver_request_duration_seconds_bucket{component=\"apiserver\",dry_run=\"\",group=\"\",resource=\"namespaces\",scope=\"cluster\",subresource=\"\",verb=\"LIST\",version=\"v1\",le=\"+Inf\"} 3",
        "apiserver_current_inflight_requests{request_kind=\"readOnly\"} 1",
        "apiserver_current_inflight_requests{request_kind=\"mutating\"} 0",
        "# TYPE authentication_attempts counter",
        "# TYPE apiserver_authorization_decisions_total counter",
        "apiserver_storage_objects{resource=\"clusterroles.rbac.authorization.k8s.io\"}",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
    let count = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    assert!(count("authentication_attempts{result=\"success\"}") >= 5);
    assert!(count("authentication_attempts{result=\"failure\"}") >= 1, "the anonymous /metrics request");
    assert!(count("apiserver_authorization_decisions_total{decision=\"denied\"}") >= 1, "jane's /metrics");

    // Admission: each plugin's and each phase's time, with kube's names and labels.
    for line in [
        "# TYPE apiserver_admission_controller_admission_duration_seconds histogram",
        "# TYPE apiserver_admission_step_admission_duration_seconds histogram",
        "apiserver_admission_controller_admission_duration_seconds_bucket{name=\"NamespaceLifecycle\",operation=\"CREATE\",rejected=\"true\",type=\"validate\",le=\"0.005\"}",
        "apiserver_admission_controller_admission_duration_seconds_bucket{name=\"NamespaceLifecycle\",operation=\"CREATE\",rejected=\"true\",type=\"validate\",le=\"0.00001\"}",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
    let ctl = |name: &str, rejected: bool, step: &str| {
        count(&format!(
            "apiserver_admission_controller_admission_duration_seconds_count{{name=\"{name}\",operation=\"CREATE\",rejected=\"{rejected}\",type=\"{step}\"}}"
        ))
    };
    assert!(ctl("NamespaceLifecycle", false, "validate") >= 1);
    assert_eq!(ctl("NamespaceLifecycle", true, "validate"), 1, "the create in a missing namespace");
    // Later plugins did not run for the refused create; mutating ones ran for both.
    assert!(ctl("ValidatingAdmissionPolicy", false, "validate") >= 1);
    assert!(!text.contains("name=\"ValidatingAdmissionPolicy\",operation=\"CREATE\",rejected=\"true\""));
    assert!(ctl("MutatingAdmissionWebhook", false, "admit") >= 2);
    let step = |rejected: bool, step: &str| {
        count(&format!(
            "apiserver_admission_step_admission_duration_seconds_count{{operation=\"CREATE\",rejected=\"{rejected}\",type=\"{step}\"}}"
        ))
    };
    assert_eq!(step(true, "validate"), 1);
    assert!(step(false, "admit") >= 2);
    assert!(step(false, "validate") >= 1);
}

struct Up {
    child: Child,
    url: String,
    pki: std::path::PathBuf,
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn up_on_etcd(dir: &std::path::Path, endpoint: &str) -> Up {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kubeward"))
        .args(["up", "--secure-port", "0", "--etcd-servers", endpoint, "--data-dir"])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start kubeward");
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let line = match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(l) => l,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("kubeward did not get ready: {e}");
            }
        };
        if let Some(u) = line.strip_prefix("kubeward is ready at ") {
            return Up { child, url: u.trim().to_string(), pki: dir.join("pki") };
        }
    }
}

impl Up {
    fn get(&self, path: &str) -> (u16, String) {
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "--max-time", "10", "-o", "-", "-w", "\n%{http_code}", "--cacert"])
            .arg(self.pki.join("ca.crt"))
            .arg("--cert")
            .arg(self.pki.join("admin.crt"))
            .arg("--key")
            .arg(self.pki.join("admin.key"))
            .arg(format!("{}{path}", self.url));
        let out = support::run(cmd, support::COMMAND_TIMEOUT);
        let (body, code) = out.stdout.rsplit_once('\n').unwrap_or(("", ""));
        (code.trim().parse().unwrap_or(0), body.to_string())
    }
}

#[test]
fn a_lost_etcd_fails_readiness() {
    if !support::have_program("curl") {
        return support::missing("curl");
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let Some(etcd) = rt.block_on(storage::etcd::TestEtcd::start_or_skip()) else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let up = up_on_etcd(dir.path(), &etcd.endpoint());
    assert_eq!(up.get("/readyz"), (200, "ok".into()));
    drop(etcd);
    let (code, body) = support::eventually(Duration::from_secs(20), || {
        let r = up.get("/readyz");
        (r.0 == 500).then_some(r)
    })
    .expect("readyz fails once etcd is gone");
    let hooks = hook_lines();
    assert_eq!((code, body), (
        500,
        format!("[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\n[-]etcd-readiness failed: reason withheld\n[+]informer-sync ok\n{hooks}readyz check failed\n")
    ));
    let (code, body) = up.get("/readyz/etcd");
    assert_eq!(code, 500);
    assert!(body.starts_with("internal server error: "), "{body}");
    assert_eq!(up.get("/livez").0, 500, "livez has the etcd check too, as kube's");
    assert_eq!(up.get("/readyz?exclude=etcd&exclude=etcd-readiness"), (200, "ok".into()));
}
