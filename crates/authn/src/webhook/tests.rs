//! Against a real HTTPS TokenReview server on 127.0.0.1 that requires a client certificate.

use super::*;
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Server {
    url: String,
    calls: Arc<AtomicUsize>,
    ca: pki::Ca,
}

fn der_certs(pem: &str) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    rustls_pemfile::certs(&mut pem.as_bytes()).map(|c| c.unwrap()).collect()
}

async fn answer(body: Bytes) -> (u16, serde_json::Value) {
    let review: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(review["apiVersion"], "authentication.k8s.io/v1");
    assert_eq!(review["kind"], "TokenReview");
    match review["spec"]["token"].as_str().unwrap() {
        "good-token" => (
            201,
            json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "status": {
                "authenticated": true,
                "user": {"username": "jane", "uid": "42", "groups": ["devs"], "extra": {"scopes": ["a", "b"]}},
                "audiences": review["spec"]["audiences"].clone(),
            }}),
        ),
        "quiet-token" => (201, json!({"status": {"authenticated": true, "user": {"username": "quiet"}}})),
        "broken-token" => (500, json!({})),
        _ => (200, json!({"status": {"authenticated": false, "error": "unknown token"}})),
    }
}

async fn start_server() -> Server {
    let ca = pki::Ca::generate("webhook-ca").unwrap();
    let serving = ca.issue_serving("webhook", &["127.0.0.1".into()]).unwrap();
    let key = rustls_pemfile::private_key(&mut serving.key_pem.as_bytes()).unwrap().unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der_certs(&ca.cert_pem).remove(0)).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(der_certs(&serving.cert_pem), key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://127.0.0.1:{}/authenticate", listener.local_addr().unwrap().port());
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let service = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let counter = counter.clone();
                    async move {
                        counter.fetch_add(1, Ordering::SeqCst);
                        assert_eq!(req.uri().path(), "/authenticate");
                        let body = req.into_body().collect().await?.to_bytes();
                        let (status, json) = answer(body).await;
                        let resp = http::Response::builder()
                            .status(status)
                            .body(Full::new(Bytes::from(json.to_string())))
                            .unwrap();
                        Ok::<_, hyper::Error>(resp)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    Server { url, calls, ca }
}

fn kubeconfig(server: &Server, with_client_cert: bool) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let client = server.ca.issue_client("kube-apiserver", &[]).unwrap();
    let user = if with_client_cert {
        format!(
            "{{client-certificate-data: {}, client-key-data: {}}}",
            b64(&client.cert_pem),
            b64(&client.key_pem)
        )
    } else {
        "{}".into()
    };
    format!(
        "clusters:\n- name: w\n  cluster: {{server: \"{}\", certificate-authority-data: {}}}\n\
         users:\n- name: u\n  user: {user}\n\
         contexts:\n- name: c\n  context: {{cluster: w, user: u}}\ncurrent-context: c\n",
        server.url,
        b64(&server.ca.cert_pem)
    )
}

#[tokio::test]
async fn reviews_tokens_and_caches_answers() {
    let server = start_server().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("webhook.kubeconfig");
    std::fs::write(&path, kubeconfig(&server, true)).unwrap();
    let a = WebhookTokenAuthenticator::from_config_file(&path, DEFAULT_CACHE_TTL, Vec::new())
        .unwrap()
        .with_retry_backoff(Backoff { initial: Duration::from_millis(1), ..Backoff::webhook_default() });

    let user = a.authenticate_token("good-token").await.unwrap();
    assert_eq!((user.name.as_str(), user.uid.as_str()), ("jane", "42"));
    assert_eq!(user.groups, vec!["devs"]);
    assert_eq!(user.extra["scopes"], vec!["a", "b"]);
    assert_eq!(a.authenticate_token("good-token").await.unwrap(), user);
    assert_eq!(server.calls.load(Ordering::SeqCst), 1, "second review came from the cache");

    assert_eq!(a.authenticate_token("bad-token").await, Err("unknown token".into()));
    assert_eq!(a.authenticate_token("bad-token").await, Err("unknown token".into()));
    assert_eq!(server.calls.load(Ordering::SeqCst), 2, "denials are cached too");

    // A 500 is retried (kube's five steps), then reported; errors are not cached.
    let err = a.authenticate_token("broken-token").await.unwrap_err();
    assert!(err.contains("500"), "{err}");
    assert_eq!(server.calls.load(Ordering::SeqCst), 7);
    let _ = a.authenticate_token("broken-token").await;
    assert_eq!(server.calls.load(Ordering::SeqCst), 12, "errors are not cached");

    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::AUTHORIZATION, "Bearer good-token".parse().unwrap());
    let req = AuthRequest::new(&headers, None, "/api");
    assert!(matches!(a.authenticate(&req).await, AuthOutcome::AuthenticatedFor(_, auds) if auds.is_empty()));
}

#[tokio::test]
async fn audiences_and_no_cache() {
    let server = start_server().await;
    let target = outbound::kubeconfig::parse(&kubeconfig(&server, true), Path::new(".")).unwrap();
    let a = WebhookTokenAuthenticator::new(target, Duration::ZERO, vec!["api".into()]).unwrap();
    assert_eq!(a.authenticate_token("good-token").await.unwrap().name, "jane");
    assert!(a.authenticate_token("good-token").await.is_ok());
    assert_eq!(server.calls.load(Ordering::SeqCst), 2, "TTL zero: no cache");
    // The test webhook answers the audiences it was asked for.
    let vault = ["vault".to_string()];
    let (user, auds) = a.authenticate_token_for("good-token", Some(&vault)).await.unwrap().unwrap();
    assert_eq!((user.name.as_str(), auds), ("jane", vault.to_vec()));
    assert_eq!(a.authenticate_token_for("bad-token", Some(&vault)).await, Err("unknown token".into()));
}

/// kube's `WebhookTokenAuthenticator`: a webhook that answers no audiences speaks for the API
/// audiences, so a token it accepts is not good for another audience.
#[tokio::test]
async fn a_webhook_without_audiences_answers_for_the_api_audiences() {
    let server = start_server().await;
    let target = outbound::kubeconfig::parse(&kubeconfig(&server, true), Path::new(".")).unwrap();
    let a = WebhookTokenAuthenticator::new(target, DEFAULT_CACHE_TTL, vec!["api".into()]).unwrap();
    // `quiet-token` is accepted without audiences in the answer.
    let (_, auds) = a.authenticate_token_for("quiet-token", None).await.unwrap().unwrap();
    assert_eq!(auds, vec!["api".to_string()]);
    let vault = ["vault".to_string()];
    assert_eq!(a.authenticate_token_for("quiet-token", Some(&vault)).await, Ok(None));
}

#[tokio::test]
async fn server_refuses_a_client_without_certificate() {
    let server = start_server().await;
    let target = outbound::kubeconfig::parse(&kubeconfig(&server, false), Path::new(".")).unwrap();
    let a = WebhookTokenAuthenticator::new(target, DEFAULT_CACHE_TTL, Vec::new()).unwrap();
    let err = a.authenticate_token("good-token").await.unwrap_err();
    assert!(err.contains("webhook request failed"), "{err}");
}

#[test]
fn config_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("webhook.kubeconfig");
    std::fs::write(&path, "clusters: [{name: a, cluster: {server: 'http://x'}}]").unwrap();
    let e = WebhookTokenAuthenticator::from_config_file(&path, DEFAULT_CACHE_TTL, Vec::new()).err().unwrap();
    assert_eq!(e.to_string(), "webhook server `http://x/` is not an https URL");
    std::fs::write(&path, "clusters: []").unwrap();
    let e = WebhookTokenAuthenticator::from_config_file(&path, DEFAULT_CACHE_TTL, Vec::new()).err().unwrap();
    assert_eq!(e.to_string(), format!("{}: no cluster in the kubeconfig", path.display()));
}
