//! One HTTP/1.1 POST to the webhook (hyper's connection API over TCP, or rustls over TCP).
//!
//! Each call opens its own connection: the decision caches absorb repeated questions, and a
//! fresh connection never inherits a half-closed one.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::config::Target;

/// Why a call failed; `retriable` marks connection failures, 5xx and 429 (kube's rule).
#[derive(Debug)]
pub struct CallError {
    pub message: String,
    pub retriable: bool,
}

fn fail(message: impl Into<String>, retriable: bool) -> CallError {
    CallError { message: message.into(), retriable }
}

/// POSTs `body` (JSON) to the target and returns the response body of a 2xx answer.
pub async fn post(target: &Target, body: Vec<u8>) -> Result<Bytes, CallError> {
    let host = target.uri.host().unwrap_or_default();
    let tls = target.tls.is_some();
    let port = target.uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    // An IPv6 literal keeps its brackets in the URI.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let tcp =
        TcpStream::connect((bare, port)).await.map_err(|e| fail(format!("dial {host}:{port}: {e}"), true))?;
    let _ = tcp.set_nodelay(true);
    match &target.tls {
        Some(config) => {
            let checked = target.server_name.as_deref().unwrap_or(bare);
            let name = rustls::pki_types::ServerName::try_from(checked.to_string())
                .map_err(|e| fail(format!("server name `{checked}`: {e}"), false))?;
            let stream = tokio_rustls::TlsConnector::from(config.clone())
                .connect(name, tcp)
                .await
                .map_err(|e| fail(format!("TLS handshake with {host}:{port}: {e}"), true))?;
            exchange(stream, target, body).await
        }
        None => exchange(tcp, target, body).await,
    }
}

async fn exchange<S>(stream: S, target: &Target, body: Vec<u8>) -> Result<Bytes, CallError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| fail(format!("HTTP handshake: {e}"), true))?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "webhook connection closed");
        }
    });
    let path = target.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let authority = target.uri.authority().map(|a| a.as_str()).unwrap_or_default();
    let mut req = http::Request::post(path)
        .header(http::header::HOST, authority)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::ACCEPT, "application/json");
    if let Some(token) = &target.bearer_token {
        req = req.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let req = req.body(Full::new(Bytes::from(body))).map_err(|e| fail(e.to_string(), false))?;
    let resp = sender.send_request(req).await.map_err(|e| fail(format!("sending the request: {e}"), true))?;
    let status = resp.status();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| fail(format!("reading the response: {e}"), true))?
        .to_bytes();
    if !status.is_success() {
        let retriable = status.is_server_error() || status == http::StatusCode::TOO_MANY_REQUESTS;
        let text = String::from_utf8_lossy(&bytes[..bytes.len().min(256)]).into_owned();
        return Err(fail(format!("the server responded with status {status}: {text}"), retriable));
    }
    Ok(bytes)
}
