//! The rustls client configuration of a target, built once: the CA bundle it was given, or
//! the system's trust store (read once per process), and an optional client certificate.
//! ALPN offers h2 and http/1.1 (set by the connector).

use crate::error::ConfigError;
use crate::kubeconfig::ClientCertPem;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::RootCertStore;
use std::sync::{Arc, OnceLock};

fn tls_error(e: impl std::fmt::Display) -> ConfigError {
    ConfigError::Tls(e.to_string())
}

/// A client configuration trusting `ca_pem` (PEM certificates) or, when `None`, the system
/// roots, and presenting `client_cert` when given.
pub fn client_config(
    ca_pem: Option<&[u8]>,
    client_cert: Option<&ClientCertPem>,
) -> Result<Arc<rustls::ClientConfig>, ConfigError> {
    let roots = match ca_pem {
        Some(pem) => Arc::new(roots_from_pem(pem)?),
        None => system_roots()?,
    };
    build(roots, client_cert)
}

/// A configuration that trusts nothing, for targets reached over plain `http`.
pub(crate) fn plain_http() -> Result<Arc<rustls::ClientConfig>, ConfigError> {
    build(Arc::new(RootCertStore::empty()), None)
}

fn build(
    roots: Arc<RootCertStore>,
    client_cert: Option<&ClientCertPem>,
) -> Result<Arc<rustls::ClientConfig>, ConfigError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_root_certificates(roots);
    let config = match client_cert {
        Some(pem) => builder.with_client_auth_cert(certs(&pem.cert)?, key(&pem.key)?).map_err(tls_error)?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

fn certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    rustls_pemfile::certs(&mut &pem[..])
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ConfigError::Tls(format!("reading PEM certificates: {e}")))
}

fn key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, ConfigError> {
    rustls_pemfile::private_key(&mut &pem[..])
        .map_err(|e| ConfigError::Tls(format!("reading the PEM private key: {e}")))?
        .ok_or_else(|| ConfigError::Tls("the client key holds no private key".into()))
}

/// A configuration that does not verify the server's certificate (its handshake signature is
/// still checked): kube's `InsecureSkipVerify`, for what the caller explicitly asked to reach
/// unverified (a Pod's log with `insecureSkipTLSVerifyBackend=true`).
pub fn unverified_client_config(
    client_cert: Option<&ClientCertPem>,
) -> Result<Arc<rustls::ClientConfig>, ConfigError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(AnyServerCertificate(provider.clone()));
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let config = match client_cert {
        Some(pem) => builder.with_client_auth_cert(certs(&pem.cert)?, key(&pem.key)?).map_err(tls_error)?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// Accepts any server certificate; checks the handshake's signatures with the provider.
#[derive(Debug)]
struct AnyServerCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyServerCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn roots_from_pem(pem: &[u8]) -> Result<RootCertStore, ConfigError> {
    let mut roots = RootCertStore::empty();
    for cert in certs(pem)? {
        roots.add(cert).map_err(|e| ConfigError::Tls(format!("CA certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(ConfigError::Tls("the CA bundle holds no certificate".into()));
    }
    Ok(roots)
}

/// The system's trust store (`SSL_CERT_FILE`, `SSL_CERT_DIR`, then the platform's usual
/// places, as rustls-native-certs finds them), read on first use and kept for the process, as
/// Go's `x509.SystemCertPool` is.
fn system_roots() -> Result<Arc<RootCertStore>, ConfigError> {
    static ROOTS: OnceLock<Result<Arc<RootCertStore>, String>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let found = rustls_native_certs::load_native_certs();
            let mut roots = RootCertStore::empty();
            let (added, _ignored) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                let why: Vec<String> = found.errors.iter().map(ToString::to_string).collect();
                return Err(if why.is_empty() { "none installed".to_string() } else { why.join("; ") });
            }
            tracing::debug!(certificates = added, "loaded the system trust store");
            Ok(Arc::new(roots))
        })
        .clone()
        .map_err(ConfigError::NoSystemRoots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_and_client_certificates_are_checked() {
        assert_eq!(
            client_config(Some(b"nothing"), None).unwrap_err(),
            ConfigError::Tls("the CA bundle holds no certificate".into())
        );
        let ca = pki::Ca::generate("ca").unwrap();
        assert!(client_config(Some(ca.cert_pem.as_bytes()), None).is_ok());
        let client = ca.issue_client("apiserver", &[]).unwrap();
        let good = ClientCertPem { cert: client.cert_pem.clone().into(), key: client.key_pem.clone().into() };
        let config = client_config(Some(ca.cert_pem.as_bytes()), Some(&good)).unwrap();
        assert!(config.client_auth_cert_resolver.has_certs());
        let keyless = ClientCertPem { key: b"no key".to_vec(), ..good };
        assert_eq!(
            client_config(Some(ca.cert_pem.as_bytes()), Some(&keyless)).unwrap_err(),
            ConfigError::Tls("the client key holds no private key".into())
        );
        assert!(plain_http().is_ok());
    }
}
