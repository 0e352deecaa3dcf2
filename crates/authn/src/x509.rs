//! x509 client-certificate authentication: the chain must verify against the client CA
//! for client use (extended key usage clientAuth) and be within its validity; the user is
//! the subject's CN, the groups its O values. TLS accepts any certificate whose key the
//! client proves it holds (see [`RequestClientCert`]), so a bad certificate gets a
//! Kubernetes 401 here, as kube-apiserver gives, rather than a TLS alert.
//!
//! X.509 v1 certificates, which webpki refuses, are accepted as kube-apiserver accepts
//! them, through [`crate::x509_legacy`] (single-level chains: the leaf signed directly by
//! a CA of the bundle; needs the CA certificates, see [`X509Authenticator::with_ca_certs`]).
//!
//! A certificate on the cluster's revocation list ([`crate::x509_revocation`]) is refused,
//! checked on every request (cached verifications included). The CA bundle is reloaded
//! when its file changes ([`X509Authenticator::watch_ca_file`], kube's dynamic CA): the
//! new bundle verifies the next request, and what was verified before is forgotten.

use crate::x509_legacy::{self, LegacyAnchor, LegacyCert};
use crate::x509_revocation::CertRevocations;
use crate::{AuthOutcome, AuthRequest, Authenticator, AuthnConfigError};
use apimachinery::UserInfo;
use arc_swap::ArcSwap;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{VerifierBuilderError, WebPkiClientVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// Loads a PEM bundle of CA certificates.
pub fn load_ca_file(path: &str) -> Result<RootCertStore, AuthnConfigError> {
    read_ca_bundle(path).map(|(roots, _)| roots)
}

/// The CA bundle as a root store and as the certificates themselves.
fn read_ca_bundle(path: &str) -> Result<(RootCertStore, Vec<CertificateDer<'static>>), AuthnConfigError> {
    let pem =
        std::fs::read(path).map_err(|source| AuthnConfigError::ClientCa { path: path.into(), source })?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut pem.as_slice()).flatten().collect();
    let mut roots = RootCertStore::empty();
    for cert in &certs {
        let _ = roots.add(cert.clone());
    }
    if roots.is_empty() {
        return Err(AuthnConfigError::NoCaCertificate(path.into()));
    }
    Ok((roots, certs))
}

/// Verifies client certificate chains against a CA bundle.
pub struct X509Authenticator {
    trust: ArcSwap<Trust>,
    /// Chains already verified, by the leaf's DER: the identity and validity window, so a
    /// keep-alive client pays for chain verification once, not per request.
    verified: Mutex<HashMap<Vec<u8>, Verified>>,
    algs: WebPkiSupportedAlgorithms,
    /// The cluster's certificate revocations, when followed.
    revocations: Option<Arc<CertRevocations>>,
}

/// What chains are verified against: replaced whole when the CA file changes.
struct Trust {
    verifier: Arc<dyn ClientCertVerifier>,
    /// The CAs that may sign v1 leaves directly; empty when built with [`X509Authenticator::new`].
    legacy_anchors: Vec<LegacyAnchor>,
}

#[derive(Clone)]
struct Verified {
    user: UserInfo,
    /// The leaf's serial number, upper-case hex without leading zero bytes.
    serial: String,
    not_before: i64,
    not_after: i64,
}

/// Bound on remembered certificates; the map is cleared when it is reached.
const MAX_VERIFIED: usize = 4096;

impl X509Authenticator {
    /// Verifies v3 chains only: X.509 v1 certificates are refused (they need the CA
    /// certificates, see [`Self::with_ca_certs`]).
    pub fn new(roots: RootCertStore) -> Result<Self, VerifierBuilderError> {
        Self::with_ca_certs(roots, &[])
    }

    /// Verifies v3 chains against `roots`, and v1 leaves signed directly by one of
    /// `ca_certs` (normally the same bundle as `roots`).
    pub fn with_ca_certs(
        roots: RootCertStore,
        ca_certs: &[CertificateDer<'_>],
    ) -> Result<Self, VerifierBuilderError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let algs = provider.signature_verification_algorithms;
        Ok(Self {
            trust: ArcSwap::from_pointee(Trust::new(roots, ca_certs)?),
            verified: Mutex::new(HashMap::new()),
            algs,
            revocations: None,
        })
    }

    /// Refuses the certificates `revocations` lists.
    pub fn with_revocations(mut self, revocations: Arc<CertRevocations>) -> Self {
        self.revocations = Some(revocations);
        self
    }

    /// Verifies against a new CA bundle from now on (what was verified before is forgotten).
    fn replace_ca(
        &self,
        roots: RootCertStore,
        ca_certs: &[CertificateDer<'_>],
    ) -> Result<(), VerifierBuilderError> {
        self.trust.store(Arc::new(Trust::new(roots, ca_certs)?));
        if let Ok(mut m) = self.verified.lock() {
            m.clear();
        }
        Ok(())
    }

    /// Re-reads the CA bundle at `path` every `every` while `this` lives, and verifies with
    /// the new bundle once it reads and holds a certificate (a broken file is reported once
    /// and the bundle in force stays). Needs a Tokio runtime.
    pub fn watch_ca_file(this: &Arc<Self>, path: &str, every: Duration) {
        let weak: Weak<Self> = Arc::downgrade(this);
        let path = PathBuf::from(path);
        let mut last = std::fs::read(&path).ok();
        tokio::spawn(async move {
            let mut failing = false;
            loop {
                tokio::time::sleep(every).await;
                let Some(this) = weak.upgrade() else { return };
                let now = std::fs::read(&path).ok();
                if now.is_none() || now == last {
                    continue;
                }
                let ca_path = path.display().to_string();
                match read_ca_bundle(&ca_path).and_then(|(roots, certs)| {
                    this.replace_ca(roots, &certs).map_err(|source| AuthnConfigError::ClientCaVerifier {
                        path: ca_path.clone(),
                        source,
                    })
                }) {
                    Ok(()) => {
                        tracing::info!(path = %ca_path, "client CA bundle reloaded");
                        last = now;
                        failing = false;
                    }
                    Err(e) if !failing => {
                        tracing::warn!(error = %e, "client CA bundle not reloaded; the previous one stays in force");
                        failing = true;
                    }
                    Err(_) => {}
                }
            }
        });
    }

    /// Reads the PEM CA bundle at `path` (`--client-ca-file`), v1 leaves included.
    pub fn from_ca_file(path: &str) -> Result<Self, AuthnConfigError> {
        let (roots, certs) = read_ca_bundle(path)?;
        Self::with_ca_certs(roots, &certs)
            .map_err(|source| AuthnConfigError::ClientCaVerifier { path: path.into(), source })
    }

    /// The TLS-level verifier to install in the server config for this CA. Its CA hints
    /// are those of the bundle at this call (client-go sends its certificate whatever the
    /// hints say).
    pub fn tls_verifier(&self) -> Arc<dyn ClientCertVerifier> {
        Arc::new(RequestClientCert { inner: self.trust.load().verifier.clone(), algs: self.algs })
    }

    /// The full check: webpki for v3 chains, [`x509_legacy`] for a v1 leaf it refuses.
    fn verify_chain(
        &self,
        leaf: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<(), String> {
        let trust = self.trust.load();
        let Err(e) = trust.verifier.verify_client_cert(leaf, intermediates, now) else {
            return Ok(());
        };
        match LegacyCert::from_refused(leaf) {
            Some(cert) if !trust.legacy_anchors.is_empty() => cert
                .verify_issued_by(&trust.legacy_anchors, &self.algs, now.as_secs() as i64)
                .map_err(|e| format!("verifying v1 certificate: {e}")),
            _ => Err(format!("verifying certificate: {e}")),
        }
    }

    fn revoked(&self, v: &Verified) -> bool {
        self.revocations.as_ref().is_some_and(|r| r.is_revoked(&v.serial, &v.user.name, v.not_before))
    }
}

impl Trust {
    fn new(roots: RootCertStore, ca_certs: &[CertificateDer<'_>]) -> Result<Self, VerifierBuilderError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider).build()?;
        Ok(Self { verifier, legacy_anchors: LegacyAnchor::from_certs(ca_certs) })
    }
}

/// Reads CN and O values of a certificate's subject.
pub fn subject_identity(cert: &CertificateDer<'_>) -> Result<(String, Vec<String>), String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref())
        .map_err(|e| format!("unparsable certificate: {e}"))?;
    let subject = parsed.subject();
    let cn = subject.iter_common_name().next().and_then(|a| a.as_str().ok()).unwrap_or_default().to_string();
    let groups = subject.iter_organization().filter_map(|a| a.as_str().ok()).map(str::to_string).collect();
    Ok((cn, groups))
}

/// kube's x509 user conversion names the credential: `X509SHA256=` and the leaf
/// certificate's SHA-256 fingerprint, in the user's `authentication.kubernetes.io/credential-id`.
pub(crate) fn credential_id(leaf_der: &[u8]) -> String {
    format!("X509SHA256={}", hex::encode(<sha2::Sha256 as sha2::Digest>::digest(leaf_der)))
}

/// The serial number (upper-case hex without leading zero bytes, `0` for zero) and the
/// validity window of a certificate.
fn serial_and_validity(cert: &CertificateDer<'_>) -> Option<(String, i64, i64)> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let v = parsed.validity();
    let raw = parsed.raw_serial();
    let start = raw.iter().take_while(|b| **b == 0).count();
    let mut serial: String =
        raw.get(start..).unwrap_or_default().iter().map(|b| format!("{b:02X}")).collect();
    if serial.is_empty() {
        serial.push('0');
    }
    Some((serial, v.not_before.timestamp(), v.not_after.timestamp()))
}

/// Why a revoked certificate is refused (never shown to the client: a 401 says nothing).
const REVOKED: &str = "certificate has been revoked";

#[async_trait::async_trait]
impl Authenticator for X509Authenticator {
    async fn authenticate(&self, req: &AuthRequest<'_>) -> AuthOutcome {
        let Some((leaf, intermediates)) = req.peer_certificates.and_then(|c| c.split_first()) else {
            return AuthOutcome::NotApplicable;
        };
        let now = UnixTime::now();
        let secs = now.as_secs() as i64;
        if intermediates.is_empty() {
            let hit = self.verified.lock().ok().and_then(|m| m.get(leaf.as_ref()).cloned());
            if let Some(v) = hit.filter(|v| v.not_before <= secs && secs <= v.not_after) {
                if self.revoked(&v) {
                    return AuthOutcome::Failed(REVOKED.into());
                }
                return AuthOutcome::Authenticated(v.user);
            }
        }
        if let Err(e) = self.verify_chain(leaf, intermediates, now) {
            return AuthOutcome::Failed(e);
        }
        let (cn, groups) = match subject_identity(leaf) {
            Ok((cn, _)) if cn.is_empty() => {
                return AuthOutcome::Failed("certificate has no common name".into())
            }
            Ok(id) => id,
            Err(e) => return AuthOutcome::Failed(e),
        };
        let mut user = UserInfo::new(cn, groups);
        user.extra.insert(
            crate::serviceaccount::authenticator::EXTRA_CREDENTIAL_ID.into(),
            vec![credential_id(leaf.as_ref())],
        );
        let Some((serial, not_before, not_after)) = serial_and_validity(leaf) else {
            return AuthOutcome::Failed("unparsable certificate".into());
        };
        let verified = Verified { user, serial, not_before, not_after };
        if self.revoked(&verified) {
            return AuthOutcome::Failed(REVOKED.into());
        }
        if intermediates.is_empty() {
            if let Ok(mut m) = self.verified.lock() {
                if m.len() >= MAX_VERIFIED {
                    m.clear();
                }
                m.insert(leaf.as_ref().to_vec(), verified.clone());
            }
        }
        AuthOutcome::Authenticated(verified.user)
    }
}

/// An [`X509Authenticator`] shared with whatever reloads its CA bundle.
pub struct SharedX509Authenticator(pub Arc<X509Authenticator>);

#[async_trait::async_trait]
impl Authenticator for SharedX509Authenticator {
    async fn authenticate(&self, req: &AuthRequest<'_>) -> AuthOutcome {
        self.0.authenticate(req).await
    }
}

/// TLS client-certificate policy: ask for a certificate (hinting the client CA), accept
/// any, and verify only the handshake signature (proof the client holds the key).
/// Chain validation happens in [`X509Authenticator`], per request. A v1 certificate,
/// which the webpki verifier cannot parse, has its handshake signature verified against
/// its public key by [`x509_legacy`].
#[derive(Debug)]
struct RequestClientCert {
    inner: Arc<dyn ClientCertVerifier>,
    algs: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for RequestClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss).or_else(|e| {
            match LegacyCert::from_refused(cert) {
                Some(legacy) => x509_legacy::verify_tls12_signature(message, &legacy.spki(), dss, &self.algs),
                None => Err(e),
            }
        })
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss).or_else(|e| {
            match LegacyCert::from_refused(cert) {
                Some(legacy) => x509_legacy::verify_tls13_signature(message, &legacy.spki(), dss, &self.algs),
                None => Err(e),
            }
        })
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn der(pem: &str) -> CertificateDer<'static> {
        rustls_pemfile::certs(&mut pem.as_bytes()).next().unwrap().unwrap()
    }

    async fn auth(a: &X509Authenticator, chain: Vec<CertificateDer<'static>>) -> AuthOutcome {
        let headers = http::HeaderMap::new();
        a.authenticate(&AuthRequest::new(&headers, Some(&chain), "/api")).await
    }

    #[tokio::test]
    async fn accepts_client_cert_of_the_ca_and_rejects_others() {
        let ca = pki::Ca::generate("ca").unwrap();
        let other = pki::Ca::generate("other").unwrap();
        let mut roots = RootCertStore::empty();
        roots.add(der(&ca.cert_pem)).unwrap();
        let a = X509Authenticator::new(roots).unwrap();

        let good = ca.issue_client("jane", &["devs".into(), "ops".into()]).unwrap();
        let mut jane = UserInfo::new("jane", vec!["devs".into(), "ops".into()]);
        jane.extra.insert(
            "authentication.kubernetes.io/credential-id".into(),
            vec![credential_id(der(&good.cert_pem).as_ref())],
        );
        assert_eq!(auth(&a, vec![der(&good.cert_pem)]).await, AuthOutcome::Authenticated(jane.clone()));
        // Second time from the cache: same answer.
        assert_eq!(auth(&a, vec![der(&good.cert_pem)]).await, AuthOutcome::Authenticated(jane));
        let foreign = other.issue_client("mallory", &[]).unwrap();
        assert!(matches!(auth(&a, vec![der(&foreign.cert_pem)]).await, AuthOutcome::Failed(_)));
        let server = ca.issue_serving("srv", &["localhost".into()]).unwrap();
        assert!(
            matches!(auth(&a, vec![der(&server.cert_pem)]).await, AuthOutcome::Failed(_)),
            "server-only EKU"
        );
        let headers = http::HeaderMap::new();
        let none = a.authenticate(&AuthRequest::new(&headers, None, "/")).await;
        assert_eq!(none, AuthOutcome::NotApplicable);
    }

    fn serial_of(pem: &str) -> String {
        serial_and_validity(&der(pem)).unwrap().0
    }

    #[tokio::test]
    async fn revoked_certificates_are_refused_cached_or_not() {
        let ca = pki::Ca::generate("ca").unwrap();
        let mut roots = RootCertStore::empty();
        roots.add(der(&ca.cert_pem)).unwrap();
        let table = Arc::new(CertRevocations::default());
        let a = X509Authenticator::new(roots).unwrap().with_revocations(table.clone());
        let jane = ca.issue_client("jane", &[]).unwrap();
        let jane2 = ca.issue_client("jane", &[]).unwrap();
        let bob = ca.issue_client("bob", &[]).unwrap();
        for c in [&jane, &jane2, &bob] {
            assert!(matches!(auth(&a, vec![der(&c.cert_pem)]).await, AuthOutcome::Authenticated(_)));
        }
        let serial = serial_of(&jane.cert_pem);
        assert_eq!(serial, pki::normalize_serial(&serial).unwrap(), "the form pki names serials in");
        let mut data = std::collections::BTreeMap::new();
        data.insert(crate::x509_revocation::serial_key(&serial), "{}".to_string());
        table.update_from_configmap_data(&data);
        assert_eq!(auth(&a, vec![der(&jane.cert_pem)]).await, AuthOutcome::Failed(REVOKED.into()), "cached");
        assert!(matches!(auth(&a, vec![der(&jane2.cert_pem)]).await, AuthOutcome::Authenticated(_)));
        // Every certificate of bob's issued up to now.
        let now = chrono::Utc::now().to_rfc3339();
        data.insert(
            crate::x509_revocation::subject_key("bob"),
            crate::x509_revocation::entry_value(&now, "bob", None),
        );
        table.update_from_configmap_data(&data);
        assert_eq!(auth(&a, vec![der(&bob.cert_pem)]).await, AuthOutcome::Failed(REVOKED.into()));
        // A fresh verifier (as after a restart) refuses it too.
        let mut roots = RootCertStore::empty();
        roots.add(der(&ca.cert_pem)).unwrap();
        let fresh = X509Authenticator::new(roots).unwrap().with_revocations(table.clone());
        assert_eq!(auth(&fresh, vec![der(&jane.cert_pem)]).await, AuthOutcome::Failed(REVOKED.into()));
        table.update_from_configmap_data(&Default::default());
        assert!(matches!(auth(&a, vec![der(&jane.cert_pem)]).await, AuthOutcome::Authenticated(_)));
    }

    #[tokio::test]
    async fn a_changed_ca_file_is_used_for_the_next_request() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.crt");
        let old = pki::Ca::generate("old").unwrap();
        let new = pki::Ca::generate("new").unwrap();
        std::fs::write(&path, &old.cert_pem).unwrap();
        let a = Arc::new(X509Authenticator::from_ca_file(path.to_str().unwrap()).unwrap());
        X509Authenticator::watch_ca_file(&a, path.to_str().unwrap(), Duration::from_millis(20));
        let by_old = old.issue_client("jane", &[]).unwrap();
        let by_new = new.issue_client("jane", &[]).unwrap();
        assert!(matches!(auth(&a, vec![der(&by_old.cert_pem)]).await, AuthOutcome::Authenticated(_)));
        assert!(matches!(auth(&a, vec![der(&by_new.cert_pem)]).await, AuthOutcome::Failed(_)));
        std::fs::write(&path, "garbage").unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(matches!(auth(&a, vec![der(&by_old.cert_pem)]).await, AuthOutcome::Authenticated(_)), "kept");
        std::fs::write(&path, &new.cert_pem).unwrap();
        let mut switched = false;
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if matches!(auth(&a, vec![der(&by_new.cert_pem)]).await, AuthOutcome::Authenticated(_)) {
                switched = true;
                break;
            }
        }
        assert!(switched, "the new CA verifies");
        assert!(
            matches!(auth(&a, vec![der(&by_old.cert_pem)]).await, AuthOutcome::Failed(_)),
            "cache forgotten"
        );
    }
}
