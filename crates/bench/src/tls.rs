//! TLS configuration for both sides: the bare server (the same settings kubeward uses: TLS 1.3
//! and 1.2 on ring, ALPN h2 then http/1.1, optional client certificates) and the clients.

use crate::BenchError;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

/// Reads every certificate in a PEM file.
pub fn load_certs(path: &str) -> Result<Vec<CertificateDer<'static>>, BenchError> {
    let pem = std::fs::read(path).map_err(|e| BenchError::file(path, e))?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| BenchError::file(path, e))?;
    if certs.is_empty() {
        return Err(BenchError::Pem(path.to_string()));
    }
    Ok(certs)
}

/// Reads the first private key in a PEM file.
pub fn load_key(path: &str) -> Result<PrivateKeyDer<'static>, BenchError> {
    let pem = std::fs::read(path).map_err(|e| BenchError::file(path, e))?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|e| BenchError::file(path, e))?
        .ok_or_else(|| BenchError::Pem(path.to_string()))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn roots(ca_file: &str) -> Result<rustls::RootCertStore, BenchError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in load_certs(ca_file)? {
        roots.add(cert)?;
    }
    Ok(roots)
}

/// The server side: when `client_ca` is set, client certificates are verified against it but
/// not required (kubeward also accepts bearer tokens and anonymous requests).
pub fn server_config(
    cert_file: &str,
    key_file: &str,
    client_ca: Option<&str>,
) -> Result<rustls::ServerConfig, BenchError> {
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?;
    let builder = match client_ca {
        Some(ca) => {
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots(ca)?), provider())
                    .allow_unauthenticated()
                    .build()
                    .map_err(|e| BenchError::Verifier(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut cfg = builder.with_single_cert(load_certs(cert_file)?, load_key(key_file)?)?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(cfg)
}

/// Which HTTP version a client speaks (announced through ALPN).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    H1,
    H2,
}

/// The client side: trusts `ca_file`, presents a client certificate when given.
pub fn client_config(
    ca_file: &str,
    client_cert: Option<(&str, &str)>,
    proto: Proto,
) -> Result<rustls::ClientConfig, BenchError> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_root_certificates(roots(ca_file)?);
    let mut cfg = match client_cert {
        Some((cert, key)) => builder.with_client_auth_cert(load_certs(cert)?, load_key(key)?)?,
        None => builder.with_no_client_auth(),
    };
    cfg.alpn_protocols = match proto {
        Proto::H1 => vec![b"http/1.1".to_vec()],
        Proto::H2 => vec![b"h2".to_vec()],
    };
    Ok(cfg)
}
