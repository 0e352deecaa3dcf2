//! Writing and signing a certificate from a [`Template`], as Go's `x509.CreateCertificate`
//! writes the template kube's CSR signer fills in: v3, a random 128-bit serial, the CA's
//! subject as issuer, the subject and public key as given, and the extensions key usage
//! (critical), extended key usage, basic constraints (critical, not a CA), authority key
//! identifier and subject alternative names (critical when the subject is empty).

use crate::der;
use crate::PkiError;
use rcgen::{PublicKeyData, SigningKey};
use std::net::IpAddr;
use time::OffsetDateTime;

/// A subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum San {
    Dns(String),
    Email(String),
    Uri(String),
    Ip(IpAddr),
}

/// kube's extended key usages (`x509.ExtKeyUsage`), in Go's order, which is the order
/// they are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExtKeyUsage {
    Any,
    ServerAuth,
    ClientAuth,
    CodeSigning,
    EmailProtection,
    IpsecEndSystem,
    IpsecTunnel,
    IpsecUser,
    TimeStamping,
    OcspSigning,
    MicrosoftServerGatedCrypto,
    NetscapeServerGatedCrypto,
}

impl ExtKeyUsage {
    fn oid(self) -> &'static [u64] {
        match self {
            Self::Any => &[2, 5, 29, 37, 0],
            Self::ServerAuth => &[1, 3, 6, 1, 5, 5, 7, 3, 1],
            Self::ClientAuth => &[1, 3, 6, 1, 5, 5, 7, 3, 2],
            Self::CodeSigning => &[1, 3, 6, 1, 5, 5, 7, 3, 3],
            Self::EmailProtection => &[1, 3, 6, 1, 5, 5, 7, 3, 4],
            Self::IpsecEndSystem => &[1, 3, 6, 1, 5, 5, 7, 3, 5],
            Self::IpsecTunnel => &[1, 3, 6, 1, 5, 5, 7, 3, 6],
            Self::IpsecUser => &[1, 3, 6, 1, 5, 5, 7, 3, 7],
            Self::TimeStamping => &[1, 3, 6, 1, 5, 5, 7, 3, 8],
            Self::OcspSigning => &[1, 3, 6, 1, 5, 5, 7, 3, 9],
            Self::MicrosoftServerGatedCrypto => &[1, 3, 6, 1, 4, 1, 311, 10, 3, 3],
            Self::NetscapeServerGatedCrypto => &[2, 16, 840, 1, 113730, 4, 1],
        }
    }
}

/// Key usage bits as Go numbers them (`x509.KeyUsage`): bit 0 is digitalSignature.
pub mod key_usage {
    pub const DIGITAL_SIGNATURE: u16 = 1 << 0;
    pub const CONTENT_COMMITMENT: u16 = 1 << 1;
    pub const KEY_ENCIPHERMENT: u16 = 1 << 2;
    pub const DATA_ENCIPHERMENT: u16 = 1 << 3;
    pub const KEY_AGREEMENT: u16 = 1 << 4;
    pub const CERT_SIGN: u16 = 1 << 5;
    pub const CRL_SIGN: u16 = 1 << 6;
    pub const ENCIPHER_ONLY: u16 = 1 << 7;
    pub const DECIPHER_ONLY: u16 = 1 << 8;
}

/// What the issued certificate says besides its issuer and serial.
#[derive(Debug, Clone)]
pub struct Template {
    /// The subject Name, DER (copied from a request, or built by [`subject_der`]).
    pub subject_der: Vec<u8>,
    /// The SubjectPublicKeyInfo, DER.
    pub spki_der: Vec<u8>,
    pub sans: Vec<San>,
    /// [`key_usage`] bits.
    pub key_usage: u16,
    pub ext_key_usages: Vec<ExtKeyUsage>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

/// A signed certificate and what a record of it needs.
#[derive(Debug, Clone)]
pub struct Signed {
    pub cert_pem: String,
    /// The serial number in [`crate::serial_hex`] form.
    pub serial: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

/// The Name `CN=<common_name>, O=<org>...` (one RDN per attribute, UTF8String values).
pub fn subject_der(common_name: &str, organizations: &[String]) -> Vec<u8> {
    let attribute = |arcs: &[u64], value: &str| {
        der::tlv(0x31, &der::sequence(&[&der::oid(arcs), &der::tlv(0x0c, value.as_bytes())]))
    };
    let mut rdns = Vec::new();
    for o in organizations {
        rdns.push(attribute(&[2, 5, 4, 10], o));
    }
    rdns.push(attribute(&[2, 5, 4, 3], common_name));
    der::tlv(0x30, &rdns.concat())
}

/// The AlgorithmIdentifier of a signature made with `key`.
fn signature_algorithm(key: &impl SigningKey) -> Result<Vec<u8>, PkiError> {
    let alg = key.algorithm();
    let id = if alg == &rcgen::PKCS_ECDSA_P256_SHA256 {
        der::sequence(&[&der::oid(&[1, 2, 840, 10045, 4, 3, 2])])
    } else if alg == &rcgen::PKCS_ECDSA_P384_SHA384 {
        der::sequence(&[&der::oid(&[1, 2, 840, 10045, 4, 3, 3])])
    } else if alg == &rcgen::PKCS_ED25519 {
        der::sequence(&[&der::oid(&[1, 3, 101, 112])])
    } else if alg == &rcgen::PKCS_RSA_SHA256 {
        der::sequence(&[&der::oid(&[1, 2, 840, 113549, 1, 1, 11]), &der::null()])
    } else if alg == &rcgen::PKCS_RSA_SHA384 {
        der::sequence(&[&der::oid(&[1, 2, 840, 113549, 1, 1, 12]), &der::null()])
    } else if alg == &rcgen::PKCS_RSA_SHA512 {
        der::sequence(&[&der::oid(&[1, 2, 840, 113549, 1, 1, 13]), &der::null()])
    } else {
        return Err(PkiError::UnsupportedCaKey(format!("{alg:?}")));
    };
    Ok(id)
}

fn extension(arcs: &[u64], critical: bool, value: &[u8]) -> Vec<u8> {
    let id = der::oid(arcs);
    let wrapped = der::octet_string(value);
    if critical {
        der::sequence(&[&id, &der::boolean(true), &wrapped])
    } else {
        der::sequence(&[&id, &wrapped])
    }
}

fn extensions(t: &Template, authority_key_id: Option<&[u8]>) -> Vec<u8> {
    let mut exts = Vec::new();
    if t.key_usage != 0 {
        // Go writes bit 0 (digitalSignature) as the first bit of the first byte.
        let lo = (t.key_usage as u8).reverse_bits();
        let hi = ((t.key_usage >> 8) as u8).reverse_bits();
        exts.push(extension(&[2, 5, 29, 15], true, &der::named_bits(&[lo, hi])));
    }
    if !t.ext_key_usages.is_empty() {
        let mut ekus = t.ext_key_usages.clone();
        ekus.sort();
        ekus.dedup();
        let oids: Vec<Vec<u8>> = ekus.iter().map(|e| der::oid(e.oid())).collect();
        let parts: Vec<&[u8]> = oids.iter().map(Vec::as_slice).collect();
        exts.push(extension(&[2, 5, 29, 37], false, &der::sequence(&parts)));
    }
    exts.push(extension(&[2, 5, 29, 19], true, &der::sequence(&[])));
    if let Some(id) = authority_key_id {
        exts.push(extension(&[2, 5, 29, 35], false, &der::sequence(&[&der::implicit(0, id)])));
    }
    if !t.sans.is_empty() {
        let names: Vec<Vec<u8>> = t
            .sans
            .iter()
            .map(|s| match s {
                San::Email(v) => der::implicit(1, v.as_bytes()),
                San::Dns(v) => der::implicit(2, v.as_bytes()),
                San::Uri(v) => der::implicit(6, v.as_bytes()),
                San::Ip(IpAddr::V4(ip)) => der::implicit(7, &ip.octets()),
                San::Ip(IpAddr::V6(ip)) => der::implicit(7, &ip.octets()),
            })
            .collect();
        let parts: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
        // An empty subject makes the names the only identity: critical (RFC 5280 4.2.1.6).
        let empty_subject = t.subject_der == [0x30, 0x00];
        exts.push(extension(&[2, 5, 29, 17], empty_subject, &der::sequence(&parts)));
    }
    let parts: Vec<&[u8]> = exts.iter().map(Vec::as_slice).collect();
    der::explicit(3, &der::sequence(&parts))
}

/// A fresh serial number: 128 random bits, as kube's signer draws them.
fn random_serial() -> Result<[u8; 16], PkiError> {
    let mut serial = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut serial)
        .map_err(|_| PkiError::Random)?;
    Ok(serial)
}

/// Signs `t` with `key` as the CA whose subject is `issuer_der`.
pub(crate) fn sign(
    t: &Template,
    issuer_der: &[u8],
    authority_key_id: Option<&[u8]>,
    key: &impl SigningKey,
) -> Result<Signed, PkiError> {
    let serial = random_serial()?;
    let alg = signature_algorithm(key)?;
    let tbs = der::sequence(&[
        &der::explicit(0, &der::small_integer(2)),
        &der::unsigned_integer(&serial),
        &alg,
        issuer_der,
        &der::sequence(&[&der::time(t.not_before), &der::time(t.not_after)]),
        &t.subject_der,
        &t.spki_der,
        &extensions(t, authority_key_id),
    ]);
    let signature = key.sign(&tbs)?;
    let cert = der::sequence(&[&tbs, &alg, &der::bit_string(&signature)]);
    Ok(Signed {
        cert_pem: pem("CERTIFICATE", &cert),
        serial: crate::serial_hex(&serial),
        not_before: t.not_before,
        not_after: t.not_after,
    })
}

/// The SubjectPublicKeyInfo of a key pair.
pub(crate) fn spki_of(key: &impl PublicKeyData) -> Vec<u8> {
    key.subject_public_key_info()
}

/// PEM with 64-character lines, as Go's `pem.Encode` writes it.
pub fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
