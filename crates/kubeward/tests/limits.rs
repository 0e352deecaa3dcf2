//! Limits under abuse, through the real binary, each bounded in time:
//! - one user's flood of requests does not starve another user's (fair in-flight seats per
//!   user, read-only and mutating pools; the flooding user gets kube's 429 with Retry-After);
//! - watches are capped per user; connections per client address;
//! - a request past `--request-timeout` gets kube's 504; a connection that sends no request
//!   after its TLS handshake is closed.
//!
//! `flood_figures` (ignored; run by hand) prints the flood's figures for this binary, or for
//! another one named by `KUBEWARD_FLOOD_BIN` (the figures in the report: main's debug build
//! before, this branch's after).

mod support;

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::more::webhook::Webhook;
use support::more::{b64_encode, load_ca, Cluster, FlagServer};

/// A `kubeward up` of any binary, stopped on drop.
struct Up {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn up(bin: &Path, flags: &[&str]) -> Up {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(bin)
        .args(["up", "--secure-port", "0", "--data-dir"])
        .arg(dir.path())
        .args(flags)
        .env("KUBEWARD_LOG", "warn")
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
        let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("kubeward {flags:?} did not get ready");
        };
        if let Some(u) = line.strip_prefix("kubeward is ready at ") {
            return Up { child, url: u.trim().to_string(), dir };
        }
    }
}

/// A kube-rs client for `user` (a certificate from the cluster CA), without kube-rs's
/// retries of 429 so that every refusal is seen.
async fn client(url: &str, pki: &Path, user: &str, groups: &[&str]) -> kube::Client {
    let ca = load_ca(pki, "ca");
    let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
    let cert = ca.issue_client(user, &groups).expect("client cert");
    let kc = pki::Kubeconfig {
        cluster_name: "kubeward".into(),
        server: url.to_string(),
        ca_pem: std::fs::read_to_string(pki.join("ca.crt")).expect("ca"),
        user_name: user.into(),
        client_cert_pem: Some(cert.cert_pem),
        client_key_pem: Some(cert.key_pem),
        token: None,
    };
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&kc.to_yaml()).expect("kubeconfig");
    let mut config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.expect("config");
    config.default_retry = false;
    kube::Client::try_from(config).expect("client")
}

/// One request: its HTTP status and body.
async fn call(c: &kube::Client, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("Content-Type", "application/json")
        .body(body.map(|b| b.to_string().into_bytes()).unwrap_or_default())
        .expect("request");
    match c.send(req.map(kube::client::Body::from)).await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let retry_after = resp.headers().get("retry-after").is_some();
            let body =
                resp.into_body().collect_bytes().await.map(|b| String::from_utf8_lossy(&b).into_owned());
            let body = body.unwrap_or_default();
            if status == 429 {
                assert!(retry_after, "a 429 carries Retry-After: {body}");
            }
            (status, body)
        }
        Err(e) => (0, e.to_string()),
    }
}

#[derive(Debug, Default)]
struct Figures {
    flood_ok: u64,
    flood_refused: u64,
    other_writes_ok: u64,
    other_writes_refused: u64,
    other_reads_ok: u64,
    other_reads_refused: u64,
    other_write_p50: Duration,
    other_write_p99: Duration,
    other_read_p99: Duration,
}

/// Takes 300 ms to allow each request: a write that holds its seat while costing little CPU.
fn slow_allow(_: &Value) -> Value {
    std::thread::sleep(Duration::from_millis(300));
    json!({"allowed": true})
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let i = ((sorted.len() as f64 * q) as usize).min(sorted.len().saturating_sub(1));
    sorted.get(i).copied().unwrap_or_default()
}

/// User `flood` sends `clients` concurrent creates into namespace `slow`, each held 300 ms
/// by a validating webhook, for `length`; user `steady` meanwhile creates ConfigMaps in
/// `default` (no webhook) and reads one, one request at a time on a runtime of its own
/// (so the test's own load does not delay it).
fn flood(url: &str, pki: &Path, clients: usize, length: Duration) -> Figures {
    let hook = Webhook::start("/slow", slow_allow);
    let setup = async {
        let admin = client(url, pki, "kubeward-admin", &[]).await;
        let webhook = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": "slow"}, "webhooks": [{"name": "slow.limits.example.com", "sideEffects": "None",
            "admissionReviewVersions": ["v1"], "timeoutSeconds": 10, "failurePolicy": "Fail",
            "namespaceSelector": {"matchLabels": {"flood": "yes"}},
            "clientConfig": {"url": hook.url, "caBundle": b64_encode(&hook.ca_pem)},
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["configmaps"]}]}]});
        for (path, body) in [
            (
                "/api/v1/namespaces",
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "slow", "labels": {"flood": "yes"}}}),
            ),
            (
                "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "limits-edit"},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
                    "subjects": [{"kind": "User", "name": "flood"}, {"kind": "User", "name": "steady"}]}),
            ),
            (
                "/api/v1/namespaces/default/configmaps",
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "probe"}}),
            ),
            ("/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations", webhook),
        ] {
            let (code, body) = call(&admin, "POST", path, Some(&body)).await;
            assert_eq!(code, 201, "{path}: {body}");
        }
    };
    support::block_on(setup);
    let stop = Instant::now() + length;
    let (url2, pki2) = (url.to_string(), pki.to_path_buf());
    let steady = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async move {
            let c = client(&url2, &pki2, "steady", &[]).await;
            // RBAC has the binding once its informer saw it.
            for _ in 0..100 {
                if call(&c, "GET", "/api/v1/namespaces/default/configmaps/probe", None).await.0 == 200 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            // Let the flood fill the seats first.
            tokio::time::sleep(Duration::from_millis(1000)).await;
            let mut f = Figures::default();
            let (mut writes, mut reads) = (Vec::new(), Vec::new());
            let cm =
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "steady-"}});
            while Instant::now() < stop {
                let started = Instant::now();
                match call(&c, "POST", "/api/v1/namespaces/default/configmaps", Some(&cm)).await {
                    (201, _) => {
                        f.other_writes_ok += 1;
                        writes.push(started.elapsed());
                    }
                    (429, _) => f.other_writes_refused += 1,
                    (code, body) => panic!("steady write got {code}: {body}"),
                }
                let started = Instant::now();
                match call(&c, "GET", "/api/v1/namespaces/default/configmaps/probe", None).await {
                    (200, _) => {
                        f.other_reads_ok += 1;
                        reads.push(started.elapsed());
                    }
                    (429, _) => f.other_reads_refused += 1,
                    (code, body) => panic!("steady read got {code}: {body}"),
                }
            }
            writes.sort();
            reads.sort();
            f.other_write_p50 = percentile(&writes, 0.5);
            f.other_write_p99 = percentile(&writes, 0.99);
            f.other_read_p99 = percentile(&reads, 0.99);
            f
        })
    });
    let flooding = async {
        let c = client(url, pki, "flood", &[]).await;
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let c = c.clone();
            tasks.push(tokio::spawn(async move {
                let (mut ok, mut refused) = (0u64, 0u64);
                let cm =
                    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "flood-"}});
                while Instant::now() < stop {
                    match call(&c, "POST", "/api/v1/namespaces/slow/configmaps", Some(&cm)).await {
                        (201, _) => ok += 1,
                        (429, _) => refused += 1,
                        // Before RBAC saw the binding.
                        (403, _) => tokio::time::sleep(Duration::from_millis(50)).await,
                        (code, body) => panic!("flood got {code}: {body}"),
                    }
                }
                (ok, refused)
            }));
        }
        let mut totals = (0, 0);
        for t in tasks {
            let (ok, refused) = t.await.expect("flood task");
            totals.0 += ok;
            totals.1 += refused;
        }
        totals
    };
    let (flood_ok, flood_refused) = support::block_on(flooding);
    let mut f = steady.join().expect("steady thread");
    f.flood_ok = flood_ok;
    f.flood_refused = flood_refused;
    drop(hook);
    f
}

#[test]
fn one_users_flood_does_not_starve_another() {
    let server = up(
        Path::new(env!("CARGO_BIN_EXE_kubeward")),
        &["--max-requests-inflight", "4", "--max-mutating-requests-inflight", "2"],
    );
    let pki = server.dir.path().join("pki");
    let f = flood(&server.url, &pki, 64, Duration::from_secs(8));
    eprintln!("flood figures: {f:?}");
    assert!(f.flood_refused > 0, "the flooding user is refused past its queue: {f:?}");
    assert!(f.flood_ok > 0, "{f:?}");
    assert_eq!(
        (f.other_writes_refused, f.other_reads_refused),
        (0, 0),
        "the other user is never refused: {f:?}"
    );
    assert!(f.other_writes_ok >= 3 && f.other_reads_ok >= 3, "the other user gets through: {f:?}");
    // A write waits for one of the flood's two seats to free (300 ms each), not for the flood.
    assert!(f.other_write_p99 < Duration::from_secs(3), "{f:?}");
}

/// Prints the flood's figures for `KUBEWARD_FLOOD_BIN` (default: this binary), with 2
/// mutating seats (a binary without `--max-mutating-requests-inflight` gets
/// `--max-requests-inflight 2`). Run with
/// `cargo test -p kubeward --test limits flood_figures -- --ignored --nocapture`.
#[test]
#[ignore]
fn flood_figures() {
    let bin = std::env::var_os("KUBEWARD_FLOOD_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_kubeward").into());
    let help = Command::new(&bin).args(["up", "--help"]).output().expect("help");
    let flags: &[&str] = if String::from_utf8_lossy(&help.stdout).contains("max-mutating-requests-inflight") {
        &["--max-requests-inflight", "4", "--max-mutating-requests-inflight", "2"]
    } else {
        &["--max-requests-inflight", "2"]
    };
    let server = up(&bin, flags);
    let pki = server.dir.path().join("pki");
    let f = flood(&server.url, &pki, 64, Duration::from_secs(15));
    println!("{} {flags:?}: {f:?}", bin.display());
}

#[test]
fn watches_are_capped_per_user() {
    let server = FlagServer::start(|_| vec!["--max-watches-per-user".into(), "2".into()]);
    let pki = server.pki();
    support::block_on(async {
        let admin = client(server.url(), &pki, "kubeward-admin", &[]).await;
        let watch = || {
            http::Request::builder()
                .uri("/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=60")
                .body(kube::client::Body::empty())
                .expect("request")
        };
        let first = admin.send(watch()).await.expect("first watch");
        let second = admin.send(watch()).await.expect("second watch");
        assert_eq!((first.status().as_u16(), second.status().as_u16()), (200, 200));
        let (code, body) =
            call(&admin, "GET", "/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=60", None)
                .await;
        assert_eq!(code, 429, "{body}");
        let status: Value = serde_json::from_str(&body).expect("Status");
        assert_eq!(status["message"], "Too many requests: user \"kubeward-admin\" has too many watches open");
        assert_eq!(status["details"]["retryAfterSeconds"], 1);
        // Another user's watches are counted apart; a watch that ends gives its place back.
        let other = client(server.url(), &pki, "other", &["system:masters"]).await;
        assert_eq!(other.send(watch()).await.expect("other's watch").status().as_u16(), 200);
        drop(first);
        let mut reopened = 0;
        for _ in 0..50 {
            if let Ok(r) = admin.send(watch()).await {
                if r.status().as_u16() == 200 {
                    reopened = 200;
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(reopened, 200, "a closed watch frees its place");
        drop(second);
    });
}

#[test]
fn connections_are_capped_per_client_address() {
    if !support::have_program("curl") {
        return support::missing("curl");
    }
    let server = FlagServer::start(|_| vec!["--max-connections-per-ip".into(), "3".into()]);
    let addr = server.url().trim_start_matches("https://").to_string();
    let held: Vec<std::net::TcpStream> =
        (0..3).map(|_| std::net::TcpStream::connect(&addr).expect("connect")).collect();
    std::thread::sleep(Duration::from_millis(300));
    let h = server.admin_curl("/readyz", &[]);
    assert_eq!(h.status, 0, "a fourth connection is closed at once: {h}");
    drop(held);
    let ok = support::eventually(Duration::from_secs(5), || {
        (server.admin_curl("/readyz", &[]).status == 200).then_some(())
    });
    assert!(ok.is_some(), "connections given back");
}

/// Answers after 3 s: longer than the request timeout below.
fn slow(_: &Value) -> Value {
    std::thread::sleep(Duration::from_secs(3));
    json!({"allowed": true})
}

#[test]
fn requests_past_the_request_timeout_get_504_and_silent_connections_are_closed() {
    if !support::have_program("curl") {
        return support::missing("curl");
    }
    let server = FlagServer::start(|_| vec!["--request-timeout".into(), "1s".into()]);
    let hook = Webhook::start("/slow", slow);
    let config = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "slow"}, "webhooks": [{"name": "slow.limits.example.com", "sideEffects": "None",
        "admissionReviewVersions": ["v1"], "timeoutSeconds": 10,
        "clientConfig": {"url": hook.url, "caBundle": b64_encode(&hook.ca_pem)},
        "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["configmaps"]}]}]});
    let body = config.to_string();
    let post = |path: &str, body: &str| {
        server.admin_curl(path, &["-X", "POST", "-H", "Content-Type: application/json", "--data", body])
    };
    assert_eq!(
        post("/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations", &body).status,
        201
    );
    let cm = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"generateName":"late-"}}"#;
    let timed_out = support::eventually(Duration::from_secs(15), || {
        let started = Instant::now();
        let h = post("/api/v1/namespaces/default/configmaps", cm);
        (h.status == 504).then(|| (h, started.elapsed()))
    });
    let (h, took) = timed_out.expect("a 504 once the webhook applies");
    assert!(took < Duration::from_millis(2500), "answered at the deadline, not after the webhook: {took:?}");
    let v = h.json();
    assert_eq!(
        (v["reason"].as_str(), v["message"].as_str()),
        (
            Some("Timeout"),
            Some("Timeout: request did not complete within requested timeout - context deadline exceeded")
        )
    );
    // A shorter ?timeout= is honoured too.
    let h = server.admin_curl("/api/v1/namespaces?timeout=1ms", &[]);
    assert!(h.status == 200 || h.status == 504, "{h}");

    // A TLS connection that never sends a request is closed (10 s after the handshake).
    let addr = server.url().trim_start_matches("https://").to_string();
    let tcp = std::net::TcpStream::connect(&addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pemfile::certs(&mut server.ca_pem().as_bytes()) {
        roots.add(c.expect("ca")).expect("root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("name");
    let conn = rustls::ClientConnection::new(Arc::new(config), name).expect("tls");
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let started = Instant::now();
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).expect("handshake");
    }
    let mut buf = [0u8; 16];
    let read = std::io::Read::read(&mut tls, &mut buf);
    let waited = started.elapsed();
    assert!(matches!(read, Ok(0) | Err(_)), "the server closes the silent connection: {read:?}");
    assert!(
        waited >= Duration::from_secs(9) && waited < Duration::from_secs(19),
        "closed after ~10 s: {waited:?}"
    );
    drop(hook);
}
