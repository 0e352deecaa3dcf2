//! `--authorization-webhook-config-file`: a kubeconfig ([`outbound::kubeconfig`]) naming the
//! webhook's server, the CA that signs it, and the client credentials (certificate and key, or
//! a bearer token).

use std::path::Path;
use std::sync::Arc;

use outbound::RestConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::WebhookError;

/// Where a system CA bundle is looked for when the kubeconfig names no CA.
const SYSTEM_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// What the client needs to reach the webhook.
#[derive(Clone)]
pub struct Target {
    pub uri: http::Uri,
    /// TLS settings for `https` servers.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// The name the server's certificate is checked against (`tls-server-name`, else the host).
    pub server_name: Option<String>,
    pub bearer_token: Option<String>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token stays out of logs.
        f.debug_struct("Target").field("uri", &self.uri).field("tls", &self.tls.is_some()).finish()
    }
}

fn bad(message: impl Into<String>) -> WebhookError {
    WebhookError::Config(message.into())
}

fn certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, WebhookError> {
    rustls_pemfile::certs(&mut &pem[..])
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("reading PEM certificates: {e}")))
}

fn key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, WebhookError> {
    rustls_pemfile::private_key(&mut &pem[..])
        .map_err(|e| bad(format!("reading the PEM private key: {e}")))?
        .ok_or_else(|| bad("no private key in `client-key`"))
}

/// Parses kubeconfig text; `dir` resolves relative file paths.
pub fn parse(text: &str, dir: &Path) -> Result<Target, WebhookError> {
    target(outbound::kubeconfig::parse(text, dir).map_err(|e| bad(e.to_string()))?)
}

/// Reads the kubeconfig file at `path`.
pub fn load(path: &Path) -> Result<Target, WebhookError> {
    target(outbound::kubeconfig::load(path).map_err(|e| bad(e.to_string()))?)
}

fn target(config: RestConfig) -> Result<Target, WebhookError> {
    let tls = match config.server.scheme_str() {
        Some("https") => Some(Arc::new(tls_config(&config)?)),
        _ => None,
    };
    let bearer_token = config.bearer_token().map_err(|e| bad(e.to_string()))?;
    Ok(Target { uri: config.server, tls, server_name: config.tls_server_name, bearer_token })
}

fn tls_config(config: &RestConfig) -> Result<rustls::ClientConfig, WebhookError> {
    if config.insecure_skip_tls_verify {
        return Err(bad("`insecure-skip-tls-verify` is not supported: name the webhook's CA"));
    }
    let ca = match &config.ca_pem {
        Some(ca) => ca.clone(),
        None => std::fs::read(SYSTEM_BUNDLE).map_err(|e| {
            bad(format!("no certificate-authority and no system bundle ({SYSTEM_BUNDLE}): {e}"))
        })?,
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs(&ca)? {
        roots.add(cert).map_err(|e| bad(format!("certificate-authority: {e}")))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?
        .with_root_certificates(roots);
    let mut tls = match &config.client_cert {
        Some(pem) => builder
            .with_client_auth_cert(certs(&pem.cert)?, key(&pem.key)?)
            .map_err(|e| bad(format!("client certificate: {e}")))?,
        None => builder.with_no_client_auth(),
    };
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tls)
}
