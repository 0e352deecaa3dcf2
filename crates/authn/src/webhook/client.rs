//! The HTTPS client that POSTs TokenReviews to the webhook: HTTP/1.1 over rustls, one
//! kept-alive connection reused between reviews.

use super::WebhookError;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use outbound::RestConfig;
use rustls::pki_types::ServerName;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// kube's default webhook request timeout.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_RESPONSE_BYTES: usize = 1 << 20;

pub(crate) struct Client {
    target: RestConfig,
    token: Option<String>,
    authority: String,
    port: u16,
    server_name: ServerName<'static>,
    tls: tokio_rustls::TlsConnector,
    idle: Mutex<Option<SendRequest<Full<Bytes>>>>,
}

fn tls_error(e: impl std::fmt::Display) -> WebhookError {
    WebhookError::Tls(e.to_string())
}

impl Client {
    pub fn new(target: RestConfig) -> Result<Self, WebhookError> {
        if target.insecure_skip_tls_verify {
            return Err(WebhookError::Tls("insecure-skip-tls-verify is not supported".into()));
        }
        let token = target.bearer_token().map_err(|e| WebhookError::Tls(e.to_string()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        if let Some(pem) = &target.ca_pem {
            for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
                roots.add(cert.map_err(tls_error)?).map_err(tls_error)?;
            }
        }
        if roots.is_empty() {
            return Err(WebhookError::Tls("no CA certificate to verify the webhook with".into()));
        }
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(tls_error)?
            .with_root_certificates(roots);
        let mut config = match &target.client_cert {
            Some(pem) => {
                let chain = rustls_pemfile::certs(&mut pem.cert.as_slice())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(tls_error)?;
                let key = rustls_pemfile::private_key(&mut pem.key.as_slice())
                    .map_err(tls_error)?
                    .ok_or_else(|| WebhookError::Tls("client key holds no private key".into()))?;
                builder.with_client_auth_cert(chain, key).map_err(tls_error)?
            }
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let host = target.server.host().unwrap_or_default();
        let name = target.tls_server_name.as_deref().unwrap_or(host);
        let server_name =
            ServerName::try_from(name.trim_start_matches('[').trim_end_matches(']').to_string())
                .map_err(tls_error)?;
        let port = target.server.port_u16().unwrap_or(443);
        let authority = target.server.authority().map(|a| a.to_string()).unwrap_or_default();
        Ok(Self {
            target,
            token,
            authority,
            port,
            server_name,
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
            idle: Mutex::new(None),
        })
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, WebhookError> {
        let host = self.target.server.host().unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let tcp = tokio::net::TcpStream::connect((host, self.port))
            .await
            .map_err(|e| WebhookError::Transport(e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        let tls = self
            .tls
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(|e| WebhookError::Transport(e.to_string()))?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| WebhookError::Transport(e.to_string()))?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "webhook connection closed");
            }
        });
        Ok(sender)
    }

    /// POSTs `body` and returns the response body of a 2xx answer.
    pub async fn post(&self, body: Vec<u8>) -> Result<Bytes, WebhookError> {
        tokio::time::timeout(REQUEST_TIMEOUT, self.post_inner(body))
            .await
            .map_err(|_| WebhookError::Timeout)?
    }

    async fn post_inner(&self, body: Vec<u8>) -> Result<Bytes, WebhookError> {
        let reused = self.idle.lock().await.take().filter(|s| !s.is_closed());
        let mut sender = match reused {
            Some(s) => s,
            None => self.connect().await?,
        };
        sender.ready().await.map_err(|e| WebhookError::Transport(e.to_string()))?;
        let path = self.target.server.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let mut req = http::Request::post(path)
            .header(http::header::HOST, &self.authority)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::ACCEPT, "application/json");
        if let Some(token) = &self.token {
            req = req.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let req =
            req.body(Full::new(Bytes::from(body))).map_err(|e| WebhookError::Transport(e.to_string()))?;
        let resp = sender.send_request(req).await.map_err(|e| WebhookError::Transport(e.to_string()))?;
        let status = resp.status();
        let bytes = Limited::new(resp.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|e| WebhookError::Transport(e.to_string()))?
            .to_bytes();
        *self.idle.lock().await = Some(sender);
        if !status.is_success() {
            return Err(WebhookError::Status(status.as_u16()));
        }
        Ok(bytes)
    }
}
