//! `--authorization-webhook-config-file`: a kubeconfig naming the webhook's server, the CA
//! that signs it, and the client credentials (certificate and key, or a bearer token).
//!
//! The current context picks the cluster and user; without one, the first of each is used.
//! File paths are relative to the kubeconfig's directory; `*-data` fields hold base64 PEM.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::Value;

use super::WebhookError;

/// Where a system CA bundle is looked for when the kubeconfig names no CA.
const SYSTEM_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// What the client needs to reach the webhook.
#[derive(Clone)]
pub struct Target {
    pub uri: http::Uri,
    /// TLS settings for `https` servers.
    pub tls: Option<Arc<rustls::ClientConfig>>,
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

fn named<'a>(
    doc: &'a Value,
    list: &str,
    item: &str,
    wanted: Option<&str>,
) -> Result<&'a Value, WebhookError> {
    let entries = doc.get(list).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let entry = match wanted {
        Some(name) => entries.iter().find(|e| e.get("name").and_then(Value::as_str) == Some(name)),
        None => entries.first(),
    };
    match entry {
        Some(e) => Ok(e.get(item).unwrap_or(&Value::Null)),
        None if list == "users" => Ok(&Value::Null),
        None => Err(bad(format!("no {item} `{}` in the kubeconfig", wanted.unwrap_or("(first)")))),
    }
}

fn field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Reads `<key>-data` (base64) or the file `<key>` relative to `dir`.
fn bytes(v: &Value, key: &str, dir: &Path) -> Result<Option<Vec<u8>>, WebhookError> {
    if let Some(data) = field(v, &format!("{key}-data")) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map_err(|e| bad(format!("`{key}-data` is not base64: {e}")))?;
        return Ok(Some(decoded));
    }
    match field(v, key) {
        Some(path) => {
            let path = resolve(dir, path);
            std::fs::read(&path).map(Some).map_err(|e| bad(format!("reading `{}`: {e}", path.display())))
        }
        None => Ok(None),
    }
}

fn resolve(dir: &Path, path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        dir.join(p)
    }
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
    let doc: Value =
        apimachinery::yaml::from_str(text).map_err(|e| bad(format!("parsing the kubeconfig: {e}")))?;
    let context = field(&doc, "current-context")
        .map(|name| named(&doc, "contexts", "context", Some(name)))
        .transpose()?;
    let cluster = named(&doc, "clusters", "cluster", context.and_then(|c| field(c, "cluster")))?;
    let user = named(&doc, "users", "user", context.and_then(|c| field(c, "user")))?;

    let server = field(cluster, "server").ok_or_else(|| bad("the cluster has no `server`"))?;
    let uri: http::Uri = server.parse().map_err(|e| bad(format!("server `{server}`: {e}")))?;
    if uri.host().is_none() {
        return Err(bad(format!("server `{server}` has no host")));
    }
    let tls = match uri.scheme_str() {
        Some("https") => Some(Arc::new(tls_config(cluster, user, dir)?)),
        Some("http") => None,
        _ => return Err(bad(format!("server `{server}` must be an http or https URL"))),
    };
    let bearer_token = match (field(user, "token"), field(user, "tokenFile")) {
        (Some(t), _) => Some(t.to_string()),
        (None, Some(f)) => {
            let path = resolve(dir, f);
            let t = std::fs::read_to_string(&path)
                .map_err(|e| bad(format!("reading `{}`: {e}", path.display())))?;
            Some(t.trim().to_string())
        }
        (None, None) => None,
    };
    Ok(Target { uri, tls, bearer_token })
}

fn tls_config(cluster: &Value, user: &Value, dir: &Path) -> Result<rustls::ClientConfig, WebhookError> {
    if cluster.get("insecure-skip-tls-verify").and_then(Value::as_bool) == Some(true) {
        return Err(bad("`insecure-skip-tls-verify` is not supported: name the webhook's CA"));
    }
    let ca = match bytes(cluster, "certificate-authority", dir)? {
        Some(ca) => ca,
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
    let cert = bytes(user, "client-certificate", dir)?;
    let key_pem = bytes(user, "client-key", dir)?;
    let mut config = match (cert, key_pem) {
        (Some(c), Some(k)) => builder
            .with_client_auth_cert(certs(&c)?, key(&k)?)
            .map_err(|e| bad(format!("client certificate: {e}")))?,
        (None, None) => builder.with_no_client_auth(),
        _ => return Err(bad("`client-certificate` and `client-key` go together")),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Reads the kubeconfig file at `path`.
pub fn load(path: &Path) -> Result<Target, WebhookError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| bad(format!("reading `{}`: {e}", path.display())))?;
    parse(&text, path.parent().unwrap_or(Path::new(".")))
}
