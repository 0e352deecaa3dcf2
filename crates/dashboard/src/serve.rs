//! Serving HTTP for the dashboard (HTTPS) and the auth proxy (plain HTTP on loopback): the
//! accept loop with a graceful stop, the dashboard's serving certificate (files, or a
//! self-signed one made at start with rcgen), the response body type and its builders, and
//! the Host check against DNS rebinding.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Errors of a response body (a relayed stream may fail midway).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// Every response body: whole, or relayed as it comes.
pub type Body = http_body_util::combinators::BoxBody<Bytes, BoxError>;
/// A response.
pub type Response = http::Response<Body>;

/// How long a client may take to send a request's headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A whole body.
pub fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into()).map_err(|never| match never {}).boxed()
}

/// A streamed body relayed from the API server.
pub fn relay(b: Incoming) -> Body {
    b.map_err(|e| Box::new(e) as BoxError).boxed()
}

/// A response with a status, a content type and a whole body.
pub fn respond(status: u16, content_type: &str, body: impl Into<Bytes>) -> Response {
    let mut r = http::Response::new(full(body));
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    r
}

/// A JSON answer.
pub fn json(status: u16, v: &serde_json::Value) -> Response {
    respond(status, "application/json", v.to_string())
}

/// A kube Status answer.
pub fn status(e: &apimachinery::status::StatusError) -> Response {
    respond(e.code, "application/json", e.to_json())
}

/// The dashboard's serving certificate: the given files, or a self-signed certificate for
/// `localhost`, `127.0.0.1`, `::1` and `extra_names` made now (kept in memory only).
pub fn server_tls(
    files: Option<(&std::path::Path, &std::path::Path)>,
    extra_names: &[String],
) -> Result<Arc<rustls::ServerConfig>, String> {
    let (certs, key) = match files {
        Some((cert, key)) => {
            let read = |p: &std::path::Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
            let cert_pem = read(cert)?;
            let key_pem = read(key)?;
            let certs = rustls_pemfile::certs(&mut &cert_pem[..])
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("{}: {e}", cert.display()))?;
            let key = rustls_pemfile::private_key(&mut &key_pem[..])
                .map_err(|e| format!("{}: {e}", key.display()))?
                .ok_or_else(|| format!("{}: no private key", key.display()))?;
            (certs, key)
        }
        None => {
            let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
            names.extend(extra_names.iter().cloned());
            let made = rcgen::generate_simple_self_signed(names).map_err(|e| e.to_string())?;
            let key = rustls::pki_types::PrivateKeyDer::try_from(made.signing_key.serialize_der())
                .map_err(|e| e.to_string())?;
            (vec![made.cert.der().clone()], key)
        }
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("the serving certificate: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves connections from `listener` (over TLS when `tls` is given) with `handler` until
/// `shutdown` completes; then stops accepting and gives open connections a moment to finish.
pub async fn serve<H, F>(
    listener: tokio::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    handler: H,
    shutdown: impl Future<Output = ()>,
) where
    H: Fn(http::Request<Incoming>, SocketAddr) -> F + Send + Sync + Clone + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (tcp, remote) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let handler = handler.clone();
        let acceptor = acceptor.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let handler = handler.clone();
                async move { Ok::<_, std::convert::Infallible>(handler(req, remote).await) }
            });
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder.http1().timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
            builder.http2().timer(TokioTimer::new());
            match acceptor {
                Some(acceptor) => {
                    let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
                    else {
                        return;
                    };
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
                    tokio::pin!(conn);
                    tokio::select! {
                        _ = conn.as_mut() => {}
                        _ = stop.changed() => {
                            conn.as_mut().graceful_shutdown();
                            let _ = tokio::time::timeout(Duration::from_secs(2), conn).await;
                        }
                    }
                }
                None => {
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(tcp), service);
                    tokio::pin!(conn);
                    tokio::select! {
                        _ = conn.as_mut() => {}
                        _ = stop.changed() => {
                            conn.as_mut().graceful_shutdown();
                            let _ = tokio::time::timeout(Duration::from_secs(2), conn).await;
                        }
                    }
                }
            }
        });
    }
    let _ = stop_tx.send(true);
    // Open connections (a watch, say) get a moment to end.
    tokio::time::sleep(Duration::from_millis(200)).await;
}

/// Whether `host` (a Host header or `:authority`) names this loopback listener: a page on
/// another name that resolves to 127.0.0.1 (DNS rebinding) is refused.
pub fn host_allowed(host: Option<&str>, listen: SocketAddr, extra: &[String]) -> bool {
    let Some(host) = host else { return false };
    if !listen.ip().is_loopback() && !listen.ip().is_unspecified() && host == listen.to_string() {
        return true;
    }
    let port = listen.port();
    let names = ["127.0.0.1".to_string(), "localhost".to_string(), "[::1]".to_string()];
    names.iter().chain(extra.iter()).any(|n| host == format!("{n}:{port}") || (port == 443 && host == n))
        || (!listen.ip().is_loopback() && extra.iter().any(|n| n == host))
}

/// Opens `url` in the person's browser (`xdg-open`), quietly.
pub fn open_browser(url: &str) {
    let spawned = std::process::Command::new("xdg-open")
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if spawned.is_err() {
        eprintln!("could not open a browser; open {url} yourself");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_our_own_names_are_hosts() {
        let listen: SocketAddr = "127.0.0.1:8443".parse().unwrap();
        assert!(host_allowed(Some("127.0.0.1:8443"), listen, &[]));
        assert!(host_allowed(Some("localhost:8443"), listen, &[]));
        assert!(!host_allowed(Some("evil.example:8443"), listen, &[]));
        assert!(!host_allowed(Some("127.0.0.1:9999"), listen, &[]));
        assert!(!host_allowed(None, listen, &[]));
        assert!(host_allowed(Some("dash.local:8443"), listen, &["dash.local".into()]));
    }

    #[test]
    fn a_self_signed_certificate_is_made() {
        assert!(server_tls(None, &[]).is_ok());
    }
}
