//! X.509 v1 client certificates, which webpki refuses (`UnsupportedCertVersion`) but
//! kube-apiserver (Go's crypto/x509) accepts. OpenSSL before 3.2 writes v1 whenever
//! `openssl x509 -req` runs without an extension file, which is how the usual tutorials
//! make a user's certificate, so these must keep working.
//!
//! This module owns the two checks done for such a certificate, and only once webpki has
//! refused it for its version ([`LegacyCert::from_refused`] is the only way in):
//! - proof of key possession in the TLS handshake: the handshake signature is verified
//!   against the certificate's SubjectPublicKeyInfo, with the algorithms rustls uses;
//! - issuance ([`LegacyCert::verify_issued_by`]): **single-level chains only**, the leaf
//!   must be signed directly by a certificate of the client CA bundle (the tutorial case;
//!   presented intermediates are not used). The CA's subject must equal the leaf's issuer
//!   byte for byte, the CA must be within its validity and carry no name constraints
//!   (not enforced here, so refused), the leaf must be within its validity, and if it has
//!   an extended key usage (a v1 certificate has none) it must allow clientAuth, as Go
//!   checks `ExtKeyUsageClientAuth` only against the usages present.

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, SignatureVerificationAlgorithm, SubjectPublicKeyInfoDer};
use rustls::{CertificateError, DigitallySignedStruct, PeerMisbehaved};
use x509_parser::asn1_rs::{Any, FromDer};
use x509_parser::certificate::X509Certificate;

/// Why a legacy certificate is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LegacyCertError {
    /// The current time is outside the certificate's validity period.
    #[error("certificate is not valid at this time")]
    NotValidNow,
    /// The certificate carries an extended key usage without clientAuth.
    #[error("certificate is not valid for client authentication")]
    NotForClientAuth,
    /// No certificate of the client CA bundle is named as the leaf's issuer (and valid).
    #[error("certificate is not signed directly by a client CA")]
    UnknownIssuer,
    /// A client CA is named as issuer but its key does not verify the leaf's signature.
    #[error("certificate signature does not verify with the client CA's key")]
    BadSignature,
}

/// A client CA certificate, as needed to check the leaves it signs directly.
#[derive(Debug, Clone)]
pub(crate) struct LegacyAnchor {
    subject: Vec<u8>,
    spki: SubjectPublicKeyInfoDer<'static>,
    not_before: i64,
    not_after: i64,
}

impl LegacyAnchor {
    /// Reads the CA certificates of a bundle; those that cannot be parsed or that carry
    /// name constraints are left out (they can still anchor v3 chains through webpki).
    pub(crate) fn from_certs(certs: &[CertificateDer<'_>]) -> Vec<Self> {
        certs
            .iter()
            .filter_map(|der| {
                let (_, ca) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
                if !matches!(ca.name_constraints(), Ok(None)) {
                    tracing::debug!(subject = %ca.subject(), "client CA with name constraints cannot sign v1 certificates");
                    return None;
                }
                let validity = ca.validity();
                Some(Self {
                    subject: ca.subject().as_raw().to_vec(),
                    spki: SubjectPublicKeyInfoDer::from(ca.public_key().raw.to_vec()),
                    not_before: validity.not_before.timestamp(),
                    not_after: validity.not_after.timestamp(),
                })
            })
            .collect()
    }
}

/// A certificate webpki refused for its version (v1 or v2), parsed.
pub(crate) struct LegacyCert<'a> {
    parsed: X509Certificate<'a>,
    /// The contents of the outer signatureAlgorithm, as webpki's algorithm ids are written.
    signature_alg_id: &'a [u8],
}

impl<'a> LegacyCert<'a> {
    /// Some only when webpki refuses `cert` with `UnsupportedCertVersion` and the whole
    /// DER parses as an X.509 certificate.
    pub(crate) fn from_refused(cert: &'a CertificateDer<'_>) -> Option<Self> {
        if !matches!(webpki::EndEntityCert::try_from(cert), Err(webpki::Error::UnsupportedCertVersion)) {
            return None;
        }
        let der: &'a [u8] = cert.as_ref();
        let (rest, parsed) = x509_parser::parse_x509_certificate(der).ok()?;
        if !rest.is_empty() || parsed.signature_algorithm != parsed.tbs_certificate.signature {
            return None;
        }
        Some(Self { parsed, signature_alg_id: outer_signature_alg_id(der)? })
    }

    /// The certificate's public key.
    pub(crate) fn spki(&self) -> SubjectPublicKeyInfoDer<'a> {
        SubjectPublicKeyInfoDer::from(self.parsed.tbs_certificate.subject_pki.raw)
    }

    /// Checks the leaf against the CA bundle at `now` (seconds since the epoch); see the
    /// module documentation for the rules.
    pub(crate) fn verify_issued_by(
        &self,
        anchors: &[LegacyAnchor],
        algs: &WebPkiSupportedAlgorithms,
        now: i64,
    ) -> Result<(), LegacyCertError> {
        let validity = self.parsed.validity();
        if now < validity.not_before.timestamp() || now > validity.not_after.timestamp() {
            return Err(LegacyCertError::NotValidNow);
        }
        match self.parsed.extended_key_usage() {
            Ok(None) => {}
            Ok(Some(eku)) if eku.value.client_auth || eku.value.any => {}
            _ => return Err(LegacyCertError::NotForClientAuth),
        }
        let issuer = self.parsed.issuer().as_raw();
        let candidates: Vec<&'static dyn SignatureVerificationAlgorithm> =
            algs.all.iter().copied().filter(|a| *a.signature_alg_id() == *self.signature_alg_id).collect();
        let mut named = false;
        for anchor in anchors.iter().filter(|a| a.subject == issuer) {
            if now < anchor.not_before || now > anchor.not_after {
                continue;
            }
            named = true;
            let tbs = self.parsed.tbs_certificate.as_ref();
            let signature = self.parsed.signature_value.data.as_ref();
            if verify_with_spki(&candidates, &anchor.spki, tbs, signature).is_ok() {
                return Ok(());
            }
        }
        Err(if named { LegacyCertError::BadSignature } else { LegacyCertError::UnknownIssuer })
    }
}

/// The contents of a Certificate's second element (signatureAlgorithm).
fn outer_signature_alg_id(der: &[u8]) -> Option<&[u8]> {
    let (_, cert) = Any::from_der(der).ok()?;
    let (rest, _tbs) = Any::from_der(cert.data).ok()?;
    let (_, alg) = Any::from_der(rest).ok()?;
    Some(alg.data)
}

/// Verifies `signature` over `message` with the first candidate algorithm that fits the
/// key's type.
fn verify_with_spki(
    candidates: &[&'static dyn SignatureVerificationAlgorithm],
    spki: &SubjectPublicKeyInfoDer<'_>,
    message: &[u8],
    signature: &[u8],
) -> Result<(), rustls::Error> {
    let key = webpki::RawPublicKeyEntity::try_from(spki)
        .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
    let mut mismatch = CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext {
        signature_algorithm_id: Vec::new(),
        public_key_algorithm_id: Vec::new(),
    };
    for alg in candidates {
        match key.verify_signature(*alg, message, signature) {
            Ok(()) => return Ok(()),
            Err(webpki::Error::UnsupportedSignatureAlgorithmForPublicKeyContext(cx)) => {
                mismatch = CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext {
                    signature_algorithm_id: cx.signature_algorithm_id,
                    public_key_algorithm_id: cx.public_key_algorithm_id,
                };
            }
            Err(_) => return Err(rustls::Error::InvalidCertificate(CertificateError::BadSignature)),
        }
    }
    Err(rustls::Error::InvalidCertificate(mismatch))
}

/// The TLS 1.2 handshake signature: every algorithm mapped to the scheme is tried, as
/// rustls does for certificates webpki can parse.
pub(crate) fn verify_tls12_signature(
    message: &[u8],
    spki: &SubjectPublicKeyInfoDer<'_>,
    dss: &DigitallySignedStruct,
    algs: &WebPkiSupportedAlgorithms,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    let candidates = algs
        .mapping
        .iter()
        .find(|(scheme, _)| *scheme == dss.scheme)
        .map(|(_, candidates)| *candidates)
        .ok_or(PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme)?;
    verify_with_spki(candidates, spki, message, dss.signature())
        .map(|()| HandshakeSignatureValid::assertion())
}

/// The TLS 1.3 handshake signature, through rustls's raw-public-key check.
pub(crate) fn verify_tls13_signature(
    message: &[u8],
    spki: &SubjectPublicKeyInfoDer<'_>,
    dss: &DigitallySignedStruct,
    algs: &WebPkiSupportedAlgorithms,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    rustls::crypto::verify_tls13_signature_with_raw_key(message, spki, dss, algs)
}

#[cfg(test)]
#[path = "x509_legacy_tests.rs"]
mod tests;
