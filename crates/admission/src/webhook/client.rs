//! The HTTPS client that calls webhooks: one TLS connection per call (rustls, trusting the
//! configuration's `caBundle`, else the system CA file), HTTP/1.1 POST of a JSON body, bounded by
//! the webhook's timeout.

use bytes::Bytes;
use http::{Request, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// System trust store used when a webhook has no `caBundle`.
pub const SYSTEM_CA_FILE: &str = "/etc/ssl/certs/ca-certificates.crt";
/// Largest response body accepted (kube reads at most 3 MiB of a webhook's answer).
pub const MAX_RESPONSE_BYTES: usize = 3 * 1024 * 1024;

/// Why a call failed (the text follows kube's `Post "<url>": <cause>` shape).
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("invalid url {0:?}: {1}")]
    BadUrl(String, String),
    #[error("Post \"{url}\": {cause}")]
    Transport { url: String, cause: String },
    #[error("Post \"{url}\": context deadline exceeded")]
    Timeout { url: String },
}

fn root_store(ca_pem: Option<&[u8]>) -> Result<rustls::RootCertStore, String> {
    let system;
    let pem: &[u8] = match ca_pem {
        Some(p) if !p.is_empty() => p,
        _ => {
            system = std::fs::read(SYSTEM_CA_FILE).map_err(|e| format!("reading {SYSTEM_CA_FILE}: {e}"))?;
            &system
        }
    };
    let mut store = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut &pem[..]) {
        let cert = cert.map_err(|e| format!("parsing caBundle: {e}"))?;
        store.add(cert).map_err(|e| format!("parsing caBundle: {e}"))?;
    }
    if store.is_empty() {
        return Err("caBundle holds no certificates".into());
    }
    Ok(store)
}

async fn exchange(
    uri: &Uri,
    url: &str,
    ca_pem: Option<&[u8]>,
    body: Vec<u8>,
) -> Result<(u16, Vec<u8>), String> {
    let host = uri.host().ok_or("missing host")?.trim_start_matches('[').trim_end_matches(']').to_string();
    let port = uri.port_u16().unwrap_or(443);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(root_store(ca_pem)?)
        .with_no_client_auth();
    let name = ServerName::try_from(host.clone()).map_err(|e| e.to_string())?;
    let tcp = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| format!("dial tcp {host}:{port}: {e}"))?;
    let tls =
        TlsConnector::from(Arc::new(config)).connect(name, tcp).await.map_err(|e| format!("tls: {e}"))?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "webhook connection closed");
        }
    });
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or(&host).to_string();
    let req = Request::post(path)
        .header(http::header::HOST, authority)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::ACCEPT, "application/json")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let body =
        Limited::new(resp.into_body(), MAX_RESPONSE_BYTES).collect().await.map_err(|e| e.to_string())?;
    tracing::debug!(url, status, "webhook answered");
    Ok((status, body.to_bytes().to_vec()))
}

/// POSTs `body` to an `https://` URL and returns the status code and body.
pub async fn post(
    url: &str,
    ca_pem: Option<&[u8]>,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<(u16, Vec<u8>), CallError> {
    let uri: Uri =
        url.parse().map_err(|e: http::uri::InvalidUri| CallError::BadUrl(url.into(), e.to_string()))?;
    if uri.scheme_str() != Some("https") {
        return Err(CallError::BadUrl(url.into(), "scheme must be https".into()));
    }
    match tokio::time::timeout(timeout, exchange(&uri, url, ca_pem, body)).await {
        Err(_) => Err(CallError::Timeout { url: url.into() }),
        Ok(Err(cause)) => Err(CallError::Transport { url: url.into(), cause }),
        Ok(Ok(r)) => Ok(r),
    }
}
