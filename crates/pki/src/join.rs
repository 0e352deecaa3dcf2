//! What joining a control plane needs, in kubeadm's formats:
//!
//! - bootstrap tokens `[a-z0-9]{6}.[a-z0-9]{16}` ([`BootstrapToken`]);
//! - the CA pin `sha256:<hex>`: SHA-256 over the CA certificate's DER
//!   SubjectPublicKeyInfo ([`ca_cert_hash`], kubeadm's `pubkeypin.Hash`);
//! - the detached JWS (HS256, `kid` the token id, key the token secret) that signs the
//!   `kube-public/cluster-info` kubeconfig for each token ([`jws_sign`], [`jws_verify`],
//!   kube's bootstrap signer);
//! - the certificate key: 32 random bytes as 64 hex digits, the AES-256-GCM key under which
//!   the control-plane keys are uploaded, each value `nonce || ciphertext+tag` as kubeadm's
//!   `EncryptBytes` ([`CertificateKey`]).

use crate::PkiError;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

const TOKEN_CHARS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

fn random_bytes(n: usize) -> Result<Vec<u8>, PkiError> {
    let mut out = vec![0u8; n];
    SystemRandom::new().fill(&mut out).map_err(|_| PkiError::Random)?;
    Ok(out)
}

/// `n` characters of `[a-z0-9]`, uniformly (bytes past the last whole multiple of 36 are
/// drawn again).
fn random_token_part(n: usize) -> Result<String, PkiError> {
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in random_bytes(n * 2)? {
            // 252 = 7 * 36: the bytes below it map evenly onto the 36 characters.
            if b < 252 && out.len() < n {
                out.push(char::from(TOKEN_CHARS[usize::from(b) % TOKEN_CHARS.len()]));
            }
        }
    }
    Ok(out)
}

/// A bootstrap token.
#[derive(Clone, PartialEq, Eq)]
pub struct BootstrapToken {
    pub id: String,
    pub secret: String,
}

impl std::fmt::Debug for BootstrapToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        write!(f, "BootstrapToken({}.<redacted>)", self.id)
    }
}

impl BootstrapToken {
    /// A new random token.
    pub fn generate() -> Result<BootstrapToken, PkiError> {
        Ok(BootstrapToken { id: random_token_part(6)?, secret: random_token_part(16)? })
    }

    /// `<id>.<secret>` in the bootstrap-token form, or `None`.
    pub fn parse(token: &str) -> Option<BootstrapToken> {
        let (id, secret) = token.split_once('.')?;
        let ok = |s: &str, n: usize| {
            s.len() == n && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        };
        (ok(id, 6) && ok(secret, 16)).then(|| BootstrapToken { id: id.into(), secret: secret.into() })
    }

    /// `<id>.<secret>`.
    pub fn text(&self) -> String {
        format!("{}.{}", self.id, self.secret)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `sha256:<hex>` of the first certificate's SubjectPublicKeyInfo in `ca_pem`.
pub fn ca_cert_hash(ca_pem: &str) -> Result<String, PkiError> {
    let (_, block) = x509_parser::pem::parse_x509_pem(ca_pem.as_bytes())
        .map_err(|e| PkiError::BadCertificate(e.to_string()))?;
    let cert = block.parse_x509().map_err(|e| PkiError::BadCertificate(e.to_string()))?;
    let digest = ring::digest::digest(&ring::digest::SHA256, cert.public_key().raw);
    Ok(format!("sha256:{}", hex(digest.as_ref())))
}

/// Whether a `--discovery-token-ca-cert-hash` value is in kubeadm's form (`sha256:` and 64
/// hex digits).
pub fn valid_ca_cert_hash(pin: &str) -> bool {
    pin.strip_prefix("sha256:").is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn hs256(secret: &str, signing_input: &str) -> ring::hmac::Tag {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    ring::hmac::sign(&key, signing_input.as_bytes())
}

/// The detached JWS of `payload` with `token`: `<header>..<signature>`.
pub fn jws_sign(payload: &str, token: &BootstrapToken) -> String {
    let header = b64url(format!(r#"{{"alg":"HS256","kid":"{}"}}"#, token.id).as_bytes());
    let tag = hs256(&token.secret, &format!("{header}.{}", b64url(payload.as_bytes())));
    format!("{header}..{}", b64url(tag.as_ref()))
}

/// Whether `jws` (detached) signs `payload` with `token`: the header names HS256 and the
/// token's id, and the signature verifies (in constant time).
pub fn jws_verify(jws: &str, payload: &str, token: &BootstrapToken) -> bool {
    let mut parts = jws.split('.');
    let (Some(header), Some(""), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let Ok(header_json) = engine.decode(header) else { return false };
    let Ok(header_value) = serde_json::from_slice::<serde_json::Value>(&header_json) else { return false };
    if header_value.get("alg").and_then(|a| a.as_str()) != Some("HS256")
        || header_value.get("kid").and_then(|k| k.as_str()) != Some(token.id.as_str())
    {
        return false;
    }
    let Ok(signature) = engine.decode(signature) else { return false };
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, token.secret.as_bytes());
    let input = format!("{header}.{}", b64url(payload.as_bytes()));
    ring::hmac::verify(&key, input.as_bytes(), &signature).is_ok()
}

/// The key that encrypts the control-plane keys for a join.
#[derive(Clone)]
pub struct CertificateKey([u8; 32]);

impl std::fmt::Debug for CertificateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CertificateKey(<redacted>)")
    }
}

/// Why a certificate key is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CertificateKeyError {
    #[error("the certificate key must be 64 hexadecimal digits (32 bytes)")]
    Malformed,
    #[error("the certificate key does not decrypt the uploaded keys (message authentication failed)")]
    WrongKey,
}

impl CertificateKey {
    pub fn generate() -> Result<CertificateKey, PkiError> {
        let mut key = [0u8; 32];
        SystemRandom::new().fill(&mut key).map_err(|_| PkiError::Random)?;
        Ok(CertificateKey(key))
    }

    /// From 64 hex digits.
    pub fn parse(text: &str) -> Result<CertificateKey, CertificateKeyError> {
        let text = text.trim();
        if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(CertificateKeyError::Malformed);
        }
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            let pair = text.get(2 * i..2 * i + 2).ok_or(CertificateKeyError::Malformed)?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| CertificateKeyError::Malformed)?;
        }
        Ok(CertificateKey(key))
    }

    /// The 64 hex digits.
    pub fn text(&self) -> String {
        hex(&self.0)
    }

    fn key(&self) -> LessSafeKey {
        // 32 bytes is AES-256's key length, so this cannot fail.
        #[allow(clippy::expect_used)]
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &self.0).expect("a 32-byte AES-256 key"))
    }

    /// `nonce || ciphertext || tag`, a fresh random nonce each time.
    pub fn encrypt(&self, plain: &[u8]) -> Result<Vec<u8>, PkiError> {
        let nonce_bytes = random_bytes(NONCE_LEN)?;
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&nonce_bytes);
        let mut sealed = plain.to_vec();
        self.key()
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut sealed)
            .map_err(|_| PkiError::Random)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The plain text of what [`CertificateKey::encrypt`] made with this key.
    pub fn decrypt(&self, sealed: &[u8]) -> Result<Vec<u8>, CertificateKeyError> {
        if sealed.len() < NONCE_LEN {
            return Err(CertificateKeyError::WrongKey);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let mut nonce_array = [0u8; NONCE_LEN];
        nonce_array.copy_from_slice(nonce);
        let mut body = body.to_vec();
        let plain = self
            .key()
            .open_in_place(Nonce::assume_unique_for_key(nonce_array), Aad::empty(), &mut body)
            .map_err(|_| CertificateKeyError::WrongKey)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_the_bootstrap_form() {
        for _ in 0..50 {
            let t = BootstrapToken::generate().unwrap();
            assert_eq!(BootstrapToken::parse(&t.text()), Some(t.clone()));
        }
        assert_eq!(BootstrapToken::parse("abcdef.0123456789ABCDEF"), None);
        assert_eq!(BootstrapToken::parse("abcde.0123456789abcdef"), None);
        assert!(!format!("{:?}", BootstrapToken::parse("abcdef.0123456789abcdef").unwrap()).contains("0123"));
    }

    #[test]
    fn jws_signs_the_payload_with_the_token() {
        let t = BootstrapToken::parse("abcdef.0123456789abcdef").unwrap();
        let jws = jws_sign("kubeconfig", &t);
        assert!(jws.contains(".."), "detached: {jws}");
        assert!(jws_verify(&jws, "kubeconfig", &t));
        assert!(!jws_verify(&jws, "kubeconfig!", &t), "another payload");
        let other = BootstrapToken::parse("abcdef.0123456789abcdeg").unwrap();
        assert!(!jws_verify(&jws, "kubeconfig", &other), "another secret");
        let other_id = BootstrapToken::parse("abcdeg.0123456789abcdef").unwrap();
        assert!(!jws_verify(&jws, "kubeconfig", &other_id), "another id");
        // RFC 7515 HS256 with a known key and input: the signature is the HMAC-SHA256.
        let header = b64url(br#"{"alg":"HS256","kid":"abcdef"}"#);
        assert_eq!(jws.split('.').next(), Some(header.as_str()));
    }

    #[test]
    fn certificate_key_round_trips_and_refuses_another_key() {
        let k = CertificateKey::generate().unwrap();
        let again = CertificateKey::parse(&k.text()).unwrap();
        let sealed = k.encrypt(b"ca.key contents").unwrap();
        assert_eq!(again.decrypt(&sealed).unwrap(), b"ca.key contents");
        let other = CertificateKey::generate().unwrap();
        assert_eq!(other.decrypt(&sealed), Err(CertificateKeyError::WrongKey));
        assert_eq!(CertificateKey::parse("abc").err(), Some(CertificateKeyError::Malformed));
        assert_ne!(k.encrypt(b"x").unwrap(), k.encrypt(b"x").unwrap(), "fresh nonce");
    }

    #[test]
    fn ca_hash_is_over_the_public_key() {
        let ca = crate::Ca::generate("test").unwrap();
        let pin = ca_cert_hash(&ca.cert_pem).unwrap();
        assert!(valid_ca_cert_hash(&pin), "{pin}");
        let (_, block) = x509_parser::pem::parse_x509_pem(ca.cert_pem.as_bytes()).unwrap();
        let cert = block.parse_x509().unwrap();
        let spki = cert.tbs_certificate.subject_pki.raw;
        let expected = ring::digest::digest(&ring::digest::SHA256, spki);
        assert_eq!(pin, format!("sha256:{}", hex(expected.as_ref())));
        assert!(!valid_ca_cert_hash("sha256:abc"));
    }
}
