use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use super::*;

struct Server {
    addr: std::net::SocketAddr,
    ca_pem: String,
    calls: Arc<AtomicUsize>,
}

/// Calls of `slow*` users being answered now, and the most at once.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static MAX_IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// Answers by user name (`slow*` users after 200 ms): alice allowed, mallory denied, both both, broken 500, garbage bad
/// JSON, anyone else no opinion. Requests without the bearer token get 401.
async fn answer(
    req: http::Request<hyper::body::Incoming>,
) -> Result<http::Response<Full<Bytes>>, hyper::Error> {
    let authorized =
        req.headers().get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer s3cret");
    let body = req.into_body().collect().await?.to_bytes();
    let review: Value = serde_json::from_slice(&body).unwrap_or_default();
    let user = review["spec"]["user"].as_str().unwrap_or_default().to_string();
    if user.starts_with("slow") {
        let now = IN_FLIGHT.fetch_add(1, Ordering::SeqCst) + 1;
        MAX_IN_FLIGHT.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(200)).await;
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    }
    let (code, text) = match (authorized, user.as_str()) {
        (false, _) => (401, "{}".to_string()),
        (_, "broken") => (500, "oops".to_string()),
        (_, "garbage") => (200, "not json".to_string()),
        (_, u) => {
            let status = match u {
                "alice" => json!({"allowed": true, "reason": "alice may"}),
                "mallory" => json!({"allowed": false, "denied": true, "reason": "never mallory"}),
                "both" => json!({"allowed": true, "denied": true, "reason": "confused"}),
                _ => json!({"allowed": false, "reason": "not mine"}),
            };
            let verb = &review["spec"]["resourceAttributes"]["verb"];
            assert_eq!(review["apiVersion"], "authorization.k8s.io/v1");
            assert!(verb.is_string() || review["spec"]["nonResourceAttributes"].is_object());
            (200, json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "status": status}).to_string())
        }
    };
    let mut resp = http::Response::new(Full::new(Bytes::from(text)));
    *resp.status_mut() = http::StatusCode::from_u16(code).unwrap();
    Ok(resp)
}

async fn start() -> Server {
    let ca = pki::Ca::generate("webhook-ca").unwrap();
    let serving = ca.issue_serving("webhook", &["127.0.0.1".to_string()]).unwrap();
    let certs =
        rustls_pemfile::certs(&mut serving.cert_pem.as_bytes()).collect::<Result<Vec<_>, _>>().unwrap();
    let key = rustls_pemfile::private_key(&mut serving.key_pem.as_bytes()).unwrap().unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let acceptor = acceptor.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let svc = service_fn(move |req| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    answer(req)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    Server { addr, ca_pem: ca.cert_pem.clone(), calls }
}

fn kubeconfig(server: &Server, dir: &Path) -> std::path::PathBuf {
    std::fs::write(dir.join("ca.crt"), &server.ca_pem).unwrap();
    std::fs::write(dir.join("token"), "s3cret\n").unwrap();
    let text = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: webhook\nclusters:\n- name: other\n  cluster:\n    server: https://192.0.2.1\n- name: authz\n  cluster:\n    server: https://{}/authorize\n    certificate-authority: ca.crt\nusers:\n- name: apiserver\n  user:\n    tokenFile: token\ncontexts:\n- name: webhook\n  context:\n    cluster: authz\n    user: apiserver\n",
        server.addr
    );
    let path = dir.join("webhook.kubeconfig");
    std::fs::write(&path, text).unwrap();
    path
}

fn fast() -> WebhookOptions {
    WebhookOptions {
        attempts: 2,
        initial_backoff: Duration::from_millis(10),
        timeout: Duration::from_secs(5),
        ..Default::default()
    }
}

fn attrs(user: &str, verb: &str) -> Attributes {
    Attributes {
        user: UserInfo::new(user, vec!["system:authenticated".into()]),
        verb: verb.into(),
        resource_request: true,
        namespace: "prod".into(),
        api_version: "v1".into(),
        resource: "pods".into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_and_caches() {
    let server = start().await;
    let dir = tempfile::tempdir().unwrap();
    let authz = WebhookAuthorizer::from_kubeconfig(&kubeconfig(&server, dir.path()), fast()).unwrap();

    let v = authz.authorize_async(&attrs("alice", "get")).await;
    assert_eq!(v, Verdict::new(Decision::Allow("alice may".into())));
    let v = authz.authorize_async(&attrs("mallory", "get")).await;
    assert_eq!(v, Verdict::new(Decision::Deny("never mallory".into())));
    let v = authz.authorize_async(&attrs("bob", "get")).await;
    assert_eq!(v, Verdict::new(Decision::NoOpinion("not mine".into())));
    let v = authz.authorize_async(&attrs("both", "get")).await;
    assert_eq!(v.decision, Decision::Deny("confused".into()));
    assert_eq!(v.errors, vec![BOTH_ALLOW_AND_DENY.to_string()]);
    assert_eq!(server.calls.load(Ordering::SeqCst), 4);

    // Repeated questions are answered from the caches.
    for u in ["alice", "mallory", "bob", "both"] {
        authz.authorize_async(&attrs(u, "get")).await;
    }
    assert_eq!(server.calls.load(Ordering::SeqCst), 4);
    assert_eq!(authz.cached(), 4);
    // Another verb is another question.
    authz.authorize_async(&attrs("alice", "delete")).await;
    assert_eq!(server.calls.load(Ordering::SeqCst), 5);

    // Questions asked at once are sent at once: no single worker serialises them.
    let authz = Arc::new(authz);
    let calls: Vec<_> = (0..4)
        .map(|i| {
            let authz = authz.clone();
            tokio::spawn(async move { authz.authorize_async(&attrs(&format!("slow{i}"), "get")).await })
        })
        .collect();
    for c in calls {
        assert_eq!(c.await.unwrap().decision, Decision::NoOpinion("not mine".into()));
    }
    assert!(MAX_IN_FLIGHT.load(Ordering::SeqCst) >= 2, "webhook calls were serialised");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_no_opinion_with_an_error_and_not_cached() {
    let server = start().await;
    let dir = tempfile::tempdir().unwrap();
    let authz = WebhookAuthorizer::from_kubeconfig(&kubeconfig(&server, dir.path()), fast()).unwrap();
    let v = authz.authorize_async(&attrs("broken", "get")).await;
    assert!(matches!(&v.decision, Decision::NoOpinion(r) if r.contains("500")), "{v:?}");
    assert_eq!(v.errors.len(), 1);
    // A 500 is retried (two attempts), and nothing is cached.
    assert_eq!(server.calls.load(Ordering::SeqCst), 2);
    assert_eq!(authz.cached(), 0);
    let v = authz.authorize_async(&attrs("garbage", "get")).await;
    assert!(v.errors[0].contains("decoding the review"), "{v:?}");
    assert_eq!(server.calls.load(Ordering::SeqCst), 3);

    // Without the token the webhook answers 401: not retried.
    let mut config = outbound::kubeconfig::load(&kubeconfig(&server, dir.path())).unwrap();
    config.token_file = None;
    let anonymous = WebhookAuthorizer::new(fast().target(&config).unwrap(), fast());
    let v = anonymous.authorize_async(&attrs("alice", "get")).await;
    assert!(v.errors[0].contains("401"), "{v:?}");
    assert_eq!(server.calls.load(Ordering::SeqCst), 4);

    // A CA that did not sign the server's certificate.
    let other = pki::Ca::generate("other").unwrap();
    std::fs::write(dir.path().join("ca.crt"), other.cert_pem).unwrap();
    let text = std::fs::read_to_string(dir.path().join("webhook.kubeconfig")).unwrap();
    let wrong = WebhookAuthorizer::new(parse(&text, dir.path()).unwrap(), fast());
    let v = wrong.authorize_async(&attrs("alice", "get")).await;
    assert!(v.errors[0].contains("TLS handshake"), "{v:?}");

    // Nobody listening.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let target =
        parse(&format!("clusters: [{{name: a, cluster: {{server: 'http://{closed}/'}}}}]"), dir.path());
    let v = WebhookAuthorizer::new(target.unwrap(), fast()).authorize_async(&attrs("alice", "get")).await;
    assert!(v.errors[0].contains("dial"), "{v:?}");
    assert_eq!(v.decision.reason(), v.errors[0]);
}

/// The webhook's target from kubeconfig text, with the test options.
fn parse(text: &str, dir: &Path) -> Result<Target, WebhookError> {
    let config = outbound::kubeconfig::parse(text, dir).map_err(|e| WebhookError::Config(e.to_string()))?;
    fast().target(&config)
}

#[test]
fn config_errors() {
    let dir = tempfile::tempdir().unwrap();
    let bad = |text: &str| parse(text, dir.path()).unwrap_err().to_string();
    assert!(bad("clusters: []").contains("no cluster"));
    assert!(bad("clusters:\n- name: a\n  cluster: {}\n").contains("no server found for cluster"));
    assert!(bad("clusters:\n- name: a\n  cluster:\n    server: ftp://x\n").contains("http or https"));
    assert!(bad(
        "clusters:\n- name: a\n  cluster:\n    server: https://x\n    certificate-authority: missing.crt\n"
    )
    .contains("missing.crt"));
    assert!(bad(
        "clusters:\n- name: a\n  cluster:\n    server: https://x\n    insecure-skip-tls-verify: true\n"
    )
    .contains("insecure-skip-tls-verify"));
    assert!(bad(": :").starts_with("invalid webhook config: parsing"));
    let ok =
        parse("clusters:\n- name: a\n  cluster:\n    server: http://127.0.0.1:9/x\n", dir.path()).unwrap();
    assert_eq!(ok.url().path(), "/x");
    let authz = WebhookAuthorizer::new(ok, WebhookOptions::default());
    let rules = authz.rules_for(&UserInfo::new("a", vec![]), "ns");
    assert!(rules.incomplete);
    assert_eq!(rules.evaluation_error(), RULES_UNSUPPORTED);
}

#[test]
fn client_certificates_from_data_fields() {
    use base64::Engine;
    let ca = pki::Ca::generate("ca").unwrap();
    let client = ca.issue_client("apiserver", &[]).unwrap();
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let text = format!(
        "clusters:\n- name: a\n  cluster:\n    server: https://127.0.0.1:1\n    certificate-authority-data: {}\nusers:\n- name: u\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\n    token: t0k\n",
        b64(&ca.cert_pem),
        b64(&client.cert_pem),
        b64(&client.key_pem)
    );
    let config = outbound::kubeconfig::parse(&text, Path::new("/")).unwrap();
    assert!(config.client_cert.is_some());
    assert_eq!(config.token.as_deref(), Some("t0k"));
    let t = fast().target(&config).unwrap();
    assert!(!format!("{t:?} {config:?}").contains("t0k"));
    let key_only = text.replace("client-certificate-data", "other");
    assert!(parse(&key_only, Path::new("/")).unwrap_err().to_string().contains("client-cert"));
}
