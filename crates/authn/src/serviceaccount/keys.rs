//! Service-account signing and verification keys, parsed once.
//!
//! Accepted PEM blocks (as kube's `keyutil`): `PRIVATE KEY` (PKCS#8 RSA or ECDSA),
//! `RSA PRIVATE KEY` (PKCS#1), `EC PRIVATE KEY` (SEC1), `PUBLIC KEY` (PKIX),
//! `RSA PUBLIC KEY` (PKCS#1) and `CERTIFICATE` (its public key). A verification file that
//! holds a private key contributes that key's public half. RSA signs RS256, ECDSA P-256
//! ES256 and P-384 ES384 (P-521 is not supported by the crypto provider).
//!
//! The key ID is kube's: base64url (no padding) of SHA-256 over the PKIX DER public key.

use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair, UnparsedPublicKey};
use sha2::{Digest, Sha256};
use std::path::Path;

/// Errors loading keys.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key file could not be read.
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    /// A PEM block is malformed.
    #[error("{path}: malformed PEM: {reason}")]
    Pem { path: String, reason: &'static str },
    /// The file holds no key of a supported kind.
    #[error("{path}: no supported key found")]
    NoKey { path: String },
    /// A key block could not be used.
    #[error("{path}: `{label}` block rejected: {reason}")]
    Rejected { path: String, label: String, reason: String },
}

/// JWS signature algorithms used for service-account tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    RS256,
    ES256,
    ES384,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::RS256 => "RS256",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
        }
    }

    fn verification(self) -> &'static dyn signature::VerificationAlgorithm {
        match self {
            Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
            Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED,
        }
    }
}

/// A verification key with its algorithm and key ID.
#[derive(Clone)]
pub struct PublicKey {
    alg: Algorithm,
    kid: String,
    key: UnparsedPublicKey<Vec<u8>>,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKey").field("alg", &self.alg).field("kid", &self.kid).finish()
    }
}

impl PublicKey {
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key's bytes: PKCS#1 `RSAPublicKey` DER, or the uncompressed EC point.
    pub fn raw(&self) -> &[u8] {
        self.key.as_ref()
    }

    /// Checks a JWS signature over `message`.
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        self.key.verify(message, sig).is_ok()
    }

    fn new(alg: Algorithm, raw: Vec<u8>, spki: &[u8]) -> Self {
        Self { alg, kid: key_id(spki), key: UnparsedPublicKey::new(alg.verification(), raw) }
    }

    fn from_spki(spki_der: &[u8]) -> Result<Self, String> {
        use x509_parser::prelude::FromDer;
        let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(spki_der)
            .map_err(|e| format!("invalid public key: {e}"))?;
        let raw = spki.subject_public_key.data.to_vec();
        let alg = spki.algorithm.algorithm.to_id_string();
        let params =
            spki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok()).map(|o| o.to_id_string());
        let alg = match (alg.as_str(), params.as_deref()) {
            (OID_RSA, _) => Algorithm::RS256,
            (OID_EC, Some(OID_P256)) => Algorithm::ES256,
            (OID_EC, Some(OID_P384)) => Algorithm::ES384,
            (a, p) => return Err(format!("unsupported public key algorithm {a} {}", p.unwrap_or(""))),
        };
        Ok(Self::new(alg, raw, spki_der))
    }
}

const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_EC: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const DER_OID_RSA: &[u8] = &[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const DER_OID_EC: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const DER_OID_P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const DER_OID_P384: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];

/// kube's `keyIDFromPublicKey`.
pub fn key_id(spki_der: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(spki_der))
}

/// A signing key; keeps its public half for the key ID.
pub struct PrivateKey {
    inner: Signer,
    public: PublicKey,
}

enum Signer {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateKey").field("alg", &self.public.alg).field("kid", &self.public.kid).finish()
    }
}

impl PrivateKey {
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// A JWS signature over `message`.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, ring::error::Unspecified> {
        let rng = SystemRandom::new();
        match &self.inner {
            Signer::Rsa(k) => {
                let mut sig = vec![0u8; k.public().modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut sig)?;
                Ok(sig)
            }
            Signer::Ec(k) => Ok(k.sign(&rng, message)?.as_ref().to_vec()),
        }
    }

    fn rsa(k: RsaKeyPair) -> Self {
        let pkcs1 = k.public().as_ref().to_vec();
        let spki = spki_rsa(&pkcs1);
        Self { public: PublicKey::new(Algorithm::RS256, pkcs1, &spki), inner: Signer::Rsa(k) }
    }

    fn ec(k: EcdsaKeyPair, alg: Algorithm) -> Self {
        let point = k.public_key().as_ref().to_vec();
        let curve = if alg == Algorithm::ES384 { DER_OID_P384 } else { DER_OID_P256 };
        let spki = der(0x30, &[&der(0x30, &[DER_OID_EC, curve]), &bit_string(&point)]);
        Self { public: PublicKey::new(alg, point, &spki), inner: Signer::Ec(k) }
    }

    fn from_pkcs8(doc: &[u8]) -> Result<Self, String> {
        let rng = SystemRandom::new();
        if let Ok(k) = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, doc, &rng) {
            return Ok(Self::ec(k, Algorithm::ES256));
        }
        if let Ok(k) = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P384_SHA384_FIXED_SIGNING, doc, &rng) {
            return Ok(Self::ec(k, Algorithm::ES384));
        }
        RsaKeyPair::from_pkcs8(doc).map(Self::rsa).map_err(|e| e.to_string())
    }

    fn from_sec1(sec1: &[u8]) -> Result<Self, String> {
        // ring reads EC keys as PKCS#8 only: wrap the SEC1 structure for each curve.
        for curve in [DER_OID_P256, DER_OID_P384] {
            let pkcs8 =
                der(0x30, &[&[0x02, 0x01, 0x00], &der(0x30, &[DER_OID_EC, curve]), &der(0x04, &[sec1])]);
            if let Ok(k) = Self::from_pkcs8(&pkcs8) {
                return Ok(k);
            }
        }
        Err("unsupported EC key (P-256 and P-384 only, public key must be included)".into())
    }
}

fn spki_rsa(pkcs1: &[u8]) -> Vec<u8> {
    der(0x30, &[&der(0x30, &[DER_OID_RSA, &[0x05, 0x00]]), &bit_string(pkcs1)])
}

fn bit_string(bits: &[u8]) -> Vec<u8> {
    der(0x03, &[&[0x00], bits])
}

/// One DER TLV whose content is the concatenation of `parts`.
fn der(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = vec![tag];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

/// One PEM block: label and decoded body.
struct Block {
    label: String,
    der: Vec<u8>,
}

fn pem_blocks(path: &str, text: &str) -> Result<Vec<Block>, KeyError> {
    let mut blocks = Vec::new();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(label) = line.strip_prefix("-----BEGIN ").and_then(|l| l.strip_suffix("-----")) else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut body = String::new();
        let mut closed = false;
        for l in lines.by_ref() {
            if l == end {
                closed = true;
                break;
            }
            if l.contains(':') {
                return Err(KeyError::Pem { path: path.into(), reason: "encrypted or annotated PEM" });
            }
            body.push_str(l);
        }
        if !closed {
            return Err(KeyError::Pem { path: path.into(), reason: "missing END line" });
        }
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|_| KeyError::Pem { path: path.into(), reason: "invalid base64" })?;
        blocks.push(Block { label: label.to_string(), der });
    }
    Ok(blocks)
}

fn rejected(path: &str, label: &str, reason: impl ToString) -> KeyError {
    KeyError::Rejected { path: path.into(), label: label.into(), reason: reason.to_string() }
}

fn private_from_block(path: &str, b: &Block) -> Option<Result<PrivateKey, KeyError>> {
    let parsed = match b.label.as_str() {
        "PRIVATE KEY" => PrivateKey::from_pkcs8(&b.der),
        "RSA PRIVATE KEY" => RsaKeyPair::from_der(&b.der).map(PrivateKey::rsa).map_err(|e| e.to_string()),
        "EC PRIVATE KEY" => PrivateKey::from_sec1(&b.der),
        _ => return None,
    };
    Some(parsed.map_err(|e| rejected(path, &b.label, e)))
}

/// Parses the signing key (`--service-account-signing-key-file`): the first private key.
pub fn parse_private_key_pem(path: &str, pem: &str) -> Result<PrivateKey, KeyError> {
    let blocks = pem_blocks(path, pem)?;
    blocks
        .iter()
        .find_map(|b| private_from_block(path, b))
        .unwrap_or_else(|| Err(KeyError::NoKey { path: path.into() }))
}

/// Parses verification keys (`--service-account-key-file`): a private key's public half,
/// or else every public key and certificate in the file.
pub fn parse_public_keys_pem(path: &str, pem: &str) -> Result<Vec<PublicKey>, KeyError> {
    let blocks = pem_blocks(path, pem)?;
    if let Some(private) = blocks.iter().find_map(|b| private_from_block(path, b)) {
        return Ok(vec![private?.public]);
    }
    let mut keys = Vec::new();
    for b in &blocks {
        let key = match b.label.as_str() {
            "PUBLIC KEY" => PublicKey::from_spki(&b.der),
            "RSA PUBLIC KEY" => Ok(PublicKey::new(Algorithm::RS256, b.der.clone(), &spki_rsa(&b.der))),
            "CERTIFICATE" => x509_parser::parse_x509_certificate(&b.der)
                .map_err(|e| format!("invalid certificate: {e}"))
                .and_then(|(_, c)| PublicKey::from_spki(c.tbs_certificate.subject_pki.raw)),
            _ => continue,
        };
        keys.push(key.map_err(|e| rejected(path, &b.label, e))?);
    }
    if keys.is_empty() {
        return Err(KeyError::NoKey { path: path.into() });
    }
    Ok(keys)
}

/// Reads the signing key file.
pub fn load_private_key(path: &Path) -> Result<PrivateKey, KeyError> {
    let display = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|source| KeyError::Io { path: display.clone(), source })?;
    parse_private_key_pem(&display, &text)
}

/// Reads every verification key file (`--service-account-key-file`, repeatable).
pub fn load_public_keys<P: AsRef<Path>>(paths: &[P]) -> Result<Vec<PublicKey>, KeyError> {
    let mut keys = Vec::new();
    for p in paths {
        let display = p.as_ref().display().to_string();
        let text = std::fs::read_to_string(p.as_ref())
            .map_err(|source| KeyError::Io { path: display.clone(), source })?;
        keys.extend(parse_public_keys_pem(&display, &text)?);
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA_KID: &str = "UZ41QBiullmpxGtt8f11BFFOB-qSZJE24NOSNVIt49I";
    const EC_KID: &str = "hAHVt72yFSYTF0NfxGAvOoHd_du3a5ZkpDPWsBixz30";

    fn testdata(name: &str) -> String {
        std::fs::read_to_string(format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn key_ids_match_openssl() {
        // Expected IDs computed with `openssl pkey -pubout -outform DER | sha256 | base64url`.
        let rsa = parse_private_key_pem("k", &testdata("rsa-2048.pem")).unwrap();
        assert_eq!((rsa.public_key().kid(), rsa.public_key().alg()), (RSA_KID, Algorithm::RS256));
        for f in ["rsa-2048.pub.pem", "rsa-2048.pkcs1.pub.pem", "rsa-2048.pem"] {
            let keys = parse_public_keys_pem(f, &testdata(f)).unwrap();
            assert_eq!(keys.len(), 1);
            assert_eq!(keys[0].kid(), RSA_KID, "{f}");
        }
        let ec = parse_private_key_pem("k", &testdata("ec-p256.sec1.pem")).unwrap();
        assert_eq!((ec.public_key().kid(), ec.public_key().alg()), (EC_KID, Algorithm::ES256));
    }

    #[test]
    fn rcgen_pkcs8_key_signs_and_verifies() {
        let kp = rcgen::KeyPair::generate().unwrap();
        let key = parse_private_key_pem("sa.key", &kp.serialize_pem()).unwrap();
        assert_eq!(key.public_key().kid(), key_id(&rcgen::PublicKeyData::subject_public_key_info(&kp)));
        let sig = key.sign(b"hello").unwrap();
        assert!(key.public_key().verify(b"hello", &sig));
        assert!(!key.public_key().verify(b"hellp", &sig));
        let public = parse_public_keys_pem("p", &kp.public_key_pem()).unwrap();
        assert!(public[0].verify(b"hello", &sig));

        let rsa = parse_private_key_pem("k", &testdata("rsa-2048.pem")).unwrap();
        let sig = rsa.sign(b"msg").unwrap();
        let public = parse_public_keys_pem("p", &testdata("rsa-2048.pkcs1.pub.pem")).unwrap();
        assert!(public[0].verify(b"msg", &sig));
        assert!(!public[0].verify(b"msh", &sig));
    }

    #[test]
    fn certificates_and_errors() {
        let ca = pki::Ca::generate("ca").unwrap();
        let keys = parse_public_keys_pem("c", &ca.cert_pem).unwrap();
        let kp = rcgen::KeyPair::from_pem(&ca.key_pem).unwrap();
        assert_eq!(keys[0].kid(), key_id(&rcgen::PublicKeyData::subject_public_key_info(&kp)));
        assert!(matches!(parse_public_keys_pem("x", "nothing here"), Err(KeyError::NoKey { .. })));
        assert!(matches!(
            parse_private_key_pem("x", "-----BEGIN PRIVATE KEY-----\nAAAA\n"),
            Err(KeyError::Pem { .. })
        ));
        let e = parse_private_key_pem("x", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        assert!(matches!(e, Err(KeyError::Rejected { .. })));
        assert!(load_public_keys(&["/nonexistent/key"]).is_err());
    }
}
