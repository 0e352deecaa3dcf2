//! The HTTPS listener: rustls (TLS 1.2/1.3, ALPN h2 and http/1.1, client certificates
//! requested but verified per request by the x509 authenticator), one task per
//! connection, handshake and header-read timeouts so slow clients cannot pin resources.

use crate::context::ConnInfo;
use crate::filters;
use crate::state::ApiState;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

pub use crate::cert_files::{load_certs, load_key, TlsSetupError};

/// The TLS configuration for a certificate and key file, read once.
pub fn tls_config(
    cert_file: &str,
    key_file: &str,
    client_verifier: Option<Arc<dyn rustls::server::danger::ClientCertVerifier>>,
) -> Result<rustls::ServerConfig, TlsSetupError> {
    tls_config_with(crate::cert_files::ServingCert::load(cert_file, key_file)?, client_verifier)
}

/// The TLS configuration serving whatever certificate `serving` holds at each handshake.
pub fn tls_config_with(
    serving: Arc<crate::cert_files::ServingCert>,
    client_verifier: Option<Arc<dyn rustls::server::danger::ClientCertVerifier>>,
) -> Result<rustls::ServerConfig, TlsSetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?;
    let builder = match client_verifier {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    };
    let mut cfg = builder.with_cert_resolver(serving);
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(cfg)
}

/// Accepts connections until the listener fails; each connection runs on its own task.
pub async fn serve(listener: TcpListener, tls: Arc<rustls::ServerConfig>, state: Arc<ApiState>) {
    let acceptor = TlsAcceptor::from(tls);
    loop {
        let (tcp, remote) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let state = state.clone();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(%remote, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%remote, "TLS handshake timed out");
                    return;
                }
            };
            let peer_certificates = tls.get_ref().1.peer_certificates().map(|c| c.to_vec());
            let conn = Arc::new(ConnInfo { remote, peer_certificates });
            let service = service_fn(move |req| {
                let state = state.clone();
                let conn = conn.clone();
                async move { Ok::<_, std::convert::Infallible>(filters::handle(state, conn, req).await) }
            });
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder.http1().timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
            builder.http2().timer(TokioTimer::new()).max_concurrent_streams(250);
            if let Err(e) = builder.serve_connection(TokioIo::new(tls), service).await {
                tracing::debug!(%remote, error = %e, "connection closed with error");
            }
        });
    }
}
