//! The client against real local HTTPS servers: pooling, HTTP/2, the size cap, the timeout,
//! retries, credentials and the TLS and dial failures.

use super::*;
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the test server answers.
#[derive(Clone)]
struct Reply {
    status: u16,
    body: Vec<u8>,
    /// Sent without Content-Length (chunked).
    chunked: bool,
    delay: Duration,
    retry_after: Option<&'static str>,
}

impl Reply {
    fn ok(body: &str) -> Self {
        Self { status: 200, body: body.into(), chunked: false, delay: Duration::ZERO, retry_after: None }
    }
    fn status(status: u16) -> Self {
        Self { status, ..Self::ok("{}") }
    }
}

/// What the server saw of a request.
#[derive(Debug, Clone)]
struct Seen {
    version: http::Version,
    authorization: Option<String>,
    content_type: Option<String>,
    body: Bytes,
}

type Handler = Arc<dyn Fn(usize) -> Reply + Send + Sync>;

struct Server {
    url: String,
    ca: pki::Ca,
    connections: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    fn requests(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    fn config(&self, path: &str) -> RestConfig {
        RestConfig {
            server: format!("{}{path}", self.url).parse().unwrap(),
            ca_pem: Some(self.ca.cert_pem.clone().into_bytes()),
            ..Default::default()
        }
    }
}

fn certs(pem: &str) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    rustls_pemfile::certs(&mut pem.as_bytes()).map(|c| c.unwrap()).collect()
}

/// An HTTPS server on 127.0.0.1 answering the n-th request (from 0) with `handler(n)`.
/// `h2`: it offers h2 and http/1.1 by ALPN; otherwise HTTP/1.1 only.
async fn serve(h2: bool, handler: Handler) -> Server {
    let ca = pki::Ca::generate("outbound-test-ca").unwrap();
    let serving = ca.issue_serving("localhost", &["127.0.0.1".into()]).unwrap();
    let key = rustls_pemfile::private_key(&mut serving.key_pem.as_bytes()).unwrap().unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs(&serving.cert_pem), key)
        .unwrap();
    if h2 {
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    }
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let connections = Arc::new(AtomicUsize::new(0));
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let (conns, log) = (connections.clone(), seen.clone());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            conns.fetch_add(1, Ordering::SeqCst);
            let (acceptor, handler, log) = (acceptor.clone(), handler.clone(), log.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let svc = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let (handler, log) = (handler.clone(), log.clone());
                    async move {
                        let header = |n: http::header::HeaderName| {
                            req.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_string)
                        };
                        let (authorization, content_type) =
                            (header(http::header::AUTHORIZATION), header(http::header::CONTENT_TYPE));
                        let version = req.version();
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        let n = {
                            let mut log = log.lock().unwrap();
                            log.push(Seen { version, authorization, content_type, body });
                            log.len() - 1
                        };
                        let reply = handler(n);
                        tokio::time::sleep(reply.delay).await;
                        let full = Full::new(Bytes::from(reply.body));
                        let body: BoxBody<Bytes, Infallible> =
                            if reply.chunked { full.map_frame(|f| f).boxed() } else { full.boxed() };
                        let mut resp = http::Response::new(body);
                        *resp.status_mut() = http::StatusCode::from_u16(reply.status).unwrap();
                        if let Some(v) = reply.retry_after {
                            resp.headers_mut().insert(http::header::RETRY_AFTER, v.parse().unwrap());
                        }
                        Ok::<_, Infallible>(resp)
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    Server { url, ca, connections, seen }
}

fn fast_retries() -> Backoff {
    Backoff { initial: Duration::from_millis(5), ..Backoff::webhook_default() }
}

#[tokio::test]
async fn two_calls_share_one_kept_alive_connection() {
    let server = serve(false, Arc::new(|_| Reply::ok(r#"{"ok":true}"#))).await;
    let target = Target::new(&server.config("/hook"), Options::default(), Backoff::NONE).unwrap();
    for _ in 0..2 {
        let resp = target.post_json(r#"{"a":1}"#).await.unwrap();
        assert_eq!((resp.status.as_u16(), &resp.body[..]), (200, &br#"{"ok":true}"#[..]));
        assert_eq!(resp.version, http::Version::HTTP_11);
    }
    assert_eq!(server.requests(), 2);
    assert_eq!(server.connections.load(Ordering::SeqCst), 1, "the second call reused the connection");
    let seen = server.seen.lock().unwrap()[0].clone();
    assert_eq!(seen.content_type.as_deref(), Some("application/json"));
    assert_eq!(&seen.body[..], br#"{"a":1}"#);
    assert_eq!(seen.authorization, None);
}

#[tokio::test]
async fn http2_by_alpn_multiplexes_one_connection() {
    let server = serve(true, Arc::new(|_| Reply::ok("{}"))).await;
    let target = Target::new(&server.config("/"), Options::default(), Backoff::NONE).unwrap();
    // The first call learns by ALPN that the server speaks h2; later ones, even concurrent,
    // share its connection.
    assert_eq!(target.post_json("{}").await.unwrap().version, http::Version::HTTP_2);
    let (a, b) = tokio::join!(target.post_json("{}"), target.post_json("{}"));
    assert_eq!(a.unwrap().version, http::Version::HTTP_2);
    assert_eq!(b.unwrap().version, http::Version::HTTP_2);
    assert!(server.seen.lock().unwrap().iter().all(|s| s.version == http::Version::HTTP_2));
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn bodies_over_the_cap_fail_with_or_without_a_length() {
    let big = "x".repeat(4096);
    let handler: Handler = Arc::new(move |n| Reply { chunked: n % 2 == 1, ..Reply::ok(&big) });
    let server = serve(false, handler).await;
    let options = Options { max_response_bytes: 1024, ..Options::default() };
    let target = Target::new(&server.config("/"), options, Backoff::NONE).unwrap();
    let url = format!("{}/", server.url);
    for _ in 0..2 {
        let e = target.post_json("{}").await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::TooLarge { limit: 1024 });
        assert_eq!(e.to_string(), format!("Post \"{url}\": response body larger than 1024 bytes"));
    }
    let roomy = Target::new(&server.config("/"), Options::default(), Backoff::NONE).unwrap();
    assert_eq!(roomy.post_json("{}").await.unwrap().body.len(), 4096);
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_not_retried() {
    let handler: Handler = Arc::new(|_| Reply { delay: Duration::from_secs(5), ..Reply::ok("{}") });
    let server = serve(false, handler).await;
    let options = Options { timeout: Duration::from_millis(200), ..Options::default() };
    let target = Target::new(&server.config("/slow"), options, fast_retries()).unwrap();
    let started = std::time::Instant::now();
    let e = target.post_json("{}").await.unwrap_err();
    assert!(e.is_timeout(), "{e}");
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    assert_eq!(e.to_string(), format!("Post \"{}/slow\": context deadline exceeded", server.url));
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn a_500_is_retried_until_success_and_a_400_is_not() {
    let handler: Handler = Arc::new(|n| if n == 0 { Reply::status(500) } else { Reply::ok("done") });
    let server = serve(false, handler).await;
    let target = Target::new(&server.config("/"), Options::default(), fast_retries()).unwrap();
    let resp = target.post_json("{}").await.unwrap();
    assert_eq!((resp.status.as_u16(), &resp.body[..]), (200, &b"done"[..]));
    assert_eq!(server.requests(), 2);

    let server = serve(false, Arc::new(|_| Reply::status(400))).await;
    let target = Target::new(&server.config("/"), Options::default(), fast_retries()).unwrap();
    assert_eq!(target.post_json("{}").await.unwrap().status.as_u16(), 400);
    assert_eq!(server.requests(), 1);

    // A 503 only with Retry-After; every step spent, the last answer is returned.
    let handler: Handler = Arc::new(|_| Reply { retry_after: Some("1"), ..Reply::status(503) });
    let server = serve(false, handler).await;
    let target = Target::new(&server.config("/"), Options::default(), fast_retries()).unwrap();
    assert_eq!(target.post_json("{}").await.unwrap().status.as_u16(), 503);
    assert_eq!(server.requests(), 5);
}

#[tokio::test]
async fn bearer_token_from_the_config() {
    let server = serve(false, Arc::new(|_| Reply::ok("{}"))).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "from-file\n").unwrap();
    let config = RestConfig {
        token: Some("s3cret".into()),
        token_file: Some(dir.path().join("token")),
        ..server.config("/")
    };
    let target = Target::new(&config, Options::default(), Backoff::NONE).unwrap();
    target.post_json("{}").await.unwrap();
    let seen = server.seen.lock().unwrap()[0].clone();
    assert_eq!(seen.authorization.as_deref(), Some("Bearer from-file"));
    assert!(!format!("{target:?}").contains("from-file"));
}

#[tokio::test]
async fn tls_and_dial_failures_are_told_apart() {
    let server = serve(false, Arc::new(|_| Reply::ok("{}"))).await;
    let other = pki::Ca::generate("other").unwrap();
    let config = RestConfig { ca_pem: Some(other.cert_pem.into_bytes()), ..server.config("/x") };
    let target = Target::new(&config, Options::default(), fast_retries()).unwrap();
    let e = target.post_json("{}").await.unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Tls { .. }), "{e:?}");
    let authority = server.url.trim_start_matches("https://");
    assert!(
        e.to_string().starts_with(&format!("Post \"{}/x\": TLS handshake with {authority}: ", server.url)),
        "{e}"
    );
    assert_eq!(server.requests(), 0);

    // Nobody listening: refused, which kube does not retry.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let config = RestConfig { server: format!("http://{closed}/").parse().unwrap(), ..Default::default() };
    let target = Target::new(&config, Options::default(), fast_retries()).unwrap();
    let e = target.post_json("{}").await.unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Dial { .. }), "{e:?}");
    assert!(e.to_string().starts_with(&format!("Post \"http://{closed}/\": dial tcp {closed}: ")), "{e}");
}

#[tokio::test]
async fn the_client_alone_requests_any_url() {
    let server = serve(false, Arc::new(|_| Reply::status(302))).await;
    let tls = tls::client_config(Some(server.ca.cert_pem.as_bytes()), None).unwrap();
    let client = Client::new(tls, None, Options::default()).unwrap();
    let req = http::Request::get(format!("{}/.well-known/openid-configuration", server.url))
        .body(Bytes::new())
        .unwrap();
    assert_eq!(client.send(req).await.unwrap().status.as_u16(), 302, "redirects are answers");
    // tls-server-name: the certificate is checked against another name.
    let tls = tls::client_config(Some(server.ca.cert_pem.as_bytes()), None).unwrap();
    let named = Client::new(tls, Some("elsewhere.example"), Options::default()).unwrap();
    let req = http::Request::get(format!("{}/", server.url)).body(Bytes::new()).unwrap();
    assert!(matches!(named.send(req).await.unwrap_err().kind, ErrorKind::Tls { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_opened_from_another_runtime_stays_usable() {
    let server = serve(false, Arc::new(|_| Reply::ok("{}"))).await;
    let options = Options { timeout: Duration::from_secs(2), ..Options::default() };
    let target = Arc::new(Target::new(&server.config("/"), options, Backoff::NONE).unwrap());
    // A call from a current-thread runtime that stops running once the call is done...
    let t = target.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(t.post_json("{}")).unwrap();
    })
    .join()
    .unwrap();
    // ...leaves a pooled connection that this runtime can still use. The connection goes
    // back to the pool on the client's own runtime once the first response has ended; give
    // that a moment so the second call finds it idle rather than racing its return.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(target.post_json("{}").await.unwrap().status.as_u16(), 200);
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}
