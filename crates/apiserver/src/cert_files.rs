//! The server's own certificate files while it runs: kube-apiserver's dynamic serving
//! certificate (the `--tls-cert-file` / `--tls-private-key-file` pair is re-read when it
//! changes, and a new handshake gets the new certificate once the pair matches) and the
//! expiry watch (a warning in the log from 30 days before the serving certificate, a CA
//! bundle or the signing CA expires, at start and twice a day). The client CA bundle is
//! reloaded by the x509 authenticator itself (`authn::x509`).

use arc_swap::ArcSwap;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How often the serving pair is looked at.
pub const SERVING_POLL: Duration = Duration::from_secs(1);
/// Warn this long before a certificate expires.
pub const EXPIRY_WARNING: Duration = Duration::from_secs(30 * 86_400);
/// How often expiry is checked after the start.
const EXPIRY_CHECK: Duration = Duration::from_secs(12 * 3600);

/// Why the serving certificate or its key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("reading {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{0}: no certificate found")]
    NoCertificate(String),
    #[error("{0}: no private key found")]
    NoKey(String),
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

pub fn load_certs(path: &str) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let pem = std::fs::read(path).map_err(|source| TlsSetupError::Read { path: path.into(), source })?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut pem.as_slice()).flatten().collect();
    if certs.is_empty() {
        return Err(TlsSetupError::NoCertificate(path.into()));
    }
    Ok(certs)
}

pub fn load_key(path: &str) -> Result<PrivateKeyDer<'static>, TlsSetupError> {
    let pem = std::fs::read(path).map_err(|source| TlsSetupError::Read { path: path.into(), source })?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .ok()
        .flatten()
        .ok_or_else(|| TlsSetupError::NoKey(path.into()))
}

/// The serving certificate in force, swapped whole when the files change.
#[derive(Debug)]
pub struct ServingCert {
    current: ArcSwap<CertifiedKey>,
    cert_file: String,
    key_file: String,
}

/// The pair as a rustls certified key; refused unless the key is the certificate's.
fn load_pair(cert_file: &str, key_file: &str) -> Result<CertifiedKey, TlsSetupError> {
    let provider = rustls::crypto::ring::default_provider();
    let key = provider.key_provider.load_private_key(load_key(key_file)?)?;
    let certified = CertifiedKey::new(load_certs(cert_file)?, key);
    certified.keys_match()?;
    Ok(certified)
}

impl ServingCert {
    pub fn load(cert_file: &str, key_file: &str) -> Result<Arc<Self>, TlsSetupError> {
        Ok(Arc::new(Self {
            current: ArcSwap::from_pointee(load_pair(cert_file, key_file)?),
            cert_file: cert_file.to_string(),
            key_file: key_file.to_string(),
        }))
    }

    /// Re-reads the pair every `every` while `this` lives; a pair that does not load (a
    /// half-written renewal, a key of another certificate) is reported once and the one in
    /// force stays.
    pub fn watch(this: &Arc<Self>, every: Duration) {
        let weak: Weak<Self> = Arc::downgrade(this);
        let files = (PathBuf::from(&this.cert_file), PathBuf::from(&this.key_file));
        let read = move || (std::fs::read(&files.0).ok(), std::fs::read(&files.1).ok());
        let mut last = read();
        tokio::spawn(async move {
            let mut failing = false;
            loop {
                tokio::time::sleep(every).await;
                let Some(this) = weak.upgrade() else { return };
                let now = read();
                if now == last || now.0.is_none() || now.1.is_none() {
                    continue;
                }
                match load_pair(&this.cert_file, &this.key_file) {
                    Ok(pair) => {
                        this.current.store(Arc::new(pair));
                        tracing::info!(cert = %this.cert_file, "serving certificate reloaded");
                        last = now;
                        failing = false;
                    }
                    Err(e) if !failing => {
                        tracing::warn!(error = %e, "serving certificate not reloaded; the previous one stays in force");
                        failing = true;
                    }
                    Err(_) => {}
                }
            }
        });
    }
}

impl ResolvesServerCert for ServingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// Warns about every certificate in `files` (name, path) that expires within
/// [`EXPIRY_WARNING`]; at once, then every twelve hours.
pub fn watch_expiry(files: Vec<(&'static str, PathBuf)>) {
    check_expiry(&files);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(EXPIRY_CHECK).await;
            check_expiry(&files);
        }
    });
}

fn check_expiry(files: &[(&'static str, PathBuf)]) {
    let now = pki::time::OffsetDateTime::now_utc();
    for (name, path) in files {
        let Ok(pem) = std::fs::read_to_string(path) else { continue };
        for (subject, not_after) in pki::certificate_expiries(&pem) {
            let left = not_after - now;
            if left.is_negative() {
                tracing::warn!(certificate = name, %subject, path = %path.display(), expired = %pki::records::rfc3339(not_after), "certificate has expired");
            } else if left.unsigned_abs() <= EXPIRY_WARNING {
                tracing::warn!(
                    certificate = name,
                    %subject,
                    path = %path.display(),
                    expires = %pki::records::rfc3339(not_after),
                    days_left = left.whole_days(),
                    "certificate expires within 30 days; renew it (kubeward certs renew)"
                );
            }
        }
    }
}
