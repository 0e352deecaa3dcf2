//! ID tokens as compact JWS (`header.payload.signature`), their signature algorithms, and
//! verification keys built from a provider's JWK set (RSA `n`/`e`, EC P-256/P-384 `x`/`y`).
//! Keys are parsed once when the JWKS is fetched.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::signature::{self, UnparsedPublicKey};
use serde::Deserialize;
use serde_json::{Map, Value};

/// JWS algorithms an ID token may be signed with (asymmetric only, as kube).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlg {
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
}

impl SigningAlg {
    /// Every supported algorithm (what an `AuthenticationConfiguration` issuer accepts).
    pub const ALL: [SigningAlg; 8] = [
        SigningAlg::RS256,
        SigningAlg::RS384,
        SigningAlg::RS512,
        SigningAlg::PS256,
        SigningAlg::PS384,
        SigningAlg::PS512,
        SigningAlg::ES256,
        SigningAlg::ES384,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SigningAlg::RS256 => "RS256",
            SigningAlg::RS384 => "RS384",
            SigningAlg::RS512 => "RS512",
            SigningAlg::PS256 => "PS256",
            SigningAlg::PS384 => "PS384",
            SigningAlg::PS512 => "PS512",
            SigningAlg::ES256 => "ES256",
            SigningAlg::ES384 => "ES384",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    fn verification(self) -> &'static dyn signature::VerificationAlgorithm {
        match self {
            SigningAlg::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            SigningAlg::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            SigningAlg::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
            SigningAlg::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
            SigningAlg::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
            SigningAlg::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
            SigningAlg::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
            SigningAlg::ES384 => &signature::ECDSA_P384_SHA384_FIXED,
        }
    }

    fn is_rsa(self) -> bool {
        !matches!(self, SigningAlg::ES256 | SigningAlg::ES384)
    }
}

/// One key of a provider's JWK set, as published.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Jwk {
    #[serde(default)]
    pub kty: String,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default, rename = "use")]
    pub use_: Option<String>,
    #[serde(default)]
    pub alg: Option<String>,
    #[serde(default)]
    pub n: Option<String>,
    #[serde(default)]
    pub e: Option<String>,
    #[serde(default)]
    pub crv: Option<String>,
    #[serde(default)]
    pub x: Option<String>,
    #[serde(default)]
    pub y: Option<String>,
}

/// A JWK set document.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct JwkSet {
    #[serde(default)]
    pub keys: Vec<Jwk>,
}

/// The public material of a key, in ring's input form.
#[derive(Debug, Clone)]
enum KeyMaterial {
    /// PKCS#1 `RSAPublicKey` DER.
    Rsa(Vec<u8>),
    /// Uncompressed EC point, and whether the curve is P-384.
    Ec { point: Vec<u8>, p384: bool },
}

/// A verification key from a JWK set.
#[derive(Debug, Clone)]
pub struct VerifyKey {
    kid: Option<String>,
    material: KeyMaterial,
}

impl VerifyKey {
    /// Builds a key from a JWK; `None` for keys that cannot verify signatures here
    /// (symmetric, encryption-only, unknown curve).
    pub fn from_jwk(jwk: &Jwk) -> Option<Self> {
        if jwk.use_.as_deref().is_some_and(|u| u != "sig") {
            return None;
        }
        let b64 = |v: &Option<String>| v.as_deref().and_then(|s| URL_SAFE_NO_PAD.decode(s).ok());
        let material = match jwk.kty.as_str() {
            "RSA" => {
                let (n, e) = (b64(&jwk.n)?, b64(&jwk.e)?);
                KeyMaterial::Rsa(der(0x30, &[&der_uint(&n), &der_uint(&e)]))
            }
            "EC" => {
                let p384 = match jwk.crv.as_deref() {
                    Some("P-256") => false,
                    Some("P-384") => true,
                    _ => return None,
                };
                let (x, y) = (b64(&jwk.x)?, b64(&jwk.y)?);
                let mut point = Vec::with_capacity(1 + x.len() + y.len());
                point.push(4);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                KeyMaterial::Ec { point, p384 }
            }
            _ => return None,
        };
        Some(Self { kid: jwk.kid.clone(), material })
    }

    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Whether this key can check signatures of `alg`.
    pub fn fits(&self, alg: SigningAlg) -> bool {
        match &self.material {
            KeyMaterial::Rsa(_) => alg.is_rsa(),
            KeyMaterial::Ec { p384, .. } => {
                (alg == SigningAlg::ES256 && !p384) || (alg == SigningAlg::ES384 && *p384)
            }
        }
    }

    /// Checks a JWS signature over `message`.
    pub fn verify(&self, alg: SigningAlg, message: &[u8], sig: &[u8]) -> bool {
        if !self.fits(alg) {
            return false;
        }
        let raw = match &self.material {
            KeyMaterial::Rsa(der) => der.as_slice(),
            KeyMaterial::Ec { point, .. } => point.as_slice(),
        };
        UnparsedPublicKey::new(alg.verification(), raw).verify(message, sig).is_ok()
    }
}

fn der_uint(bytes: &[u8]) -> Vec<u8> {
    let trimmed = match bytes.iter().position(|b| *b != 0) {
        Some(i) => bytes.get(i..).unwrap_or_default(),
        None => &[0],
    };
    let mut v = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_some_and(|b| b & 0x80 != 0) {
        v.push(0);
    }
    v.extend_from_slice(trimmed);
    der(0x02, &[&v])
}

fn der(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = vec![tag];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let be = len.to_be_bytes();
        let skip = be.iter().take_while(|b| **b == 0).count();
        let digits = be.get(skip..).unwrap_or_default();
        out.push(0x80 | digits.len() as u8);
        out.extend_from_slice(digits);
    }
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

/// A token split and decoded; the signature is not yet checked.
#[derive(Debug)]
pub struct Decoded<'a> {
    pub signing_input: &'a str,
    pub alg: String,
    pub kid: Option<String>,
    pub claims: Map<String, Value>,
    pub signature: Vec<u8>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

/// Why a text is not a JWT (go-oidc's "malformed jwt").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("oidc: malformed jwt: {0}")]
pub struct Malformed(&'static str);

/// Decodes a compact JWS with a JSON object payload.
pub fn decode(token: &str) -> Result<Decoded<'_>, Malformed> {
    let (signing_input, sig_b64) = token.rsplit_once('.').ok_or(Malformed("expected 3 parts"))?;
    let (header_b64, payload_b64) = signing_input.split_once('.').ok_or(Malformed("expected 3 parts"))?;
    if payload_b64.contains('.') {
        return Err(Malformed("expected 3 parts"));
    }
    let header_json = URL_SAFE_NO_PAD.decode(header_b64).map_err(|_| Malformed("header is not base64url"))?;
    let header: Header = serde_json::from_slice(&header_json).map_err(|_| Malformed("header is not JSON"))?;
    let payload = URL_SAFE_NO_PAD.decode(payload_b64).map_err(|_| Malformed("payload is not base64url"))?;
    let claims: Map<String, Value> =
        serde_json::from_slice(&payload).map_err(|_| Malformed("payload is not a JSON object"))?;
    let signature = URL_SAFE_NO_PAD.decode(sig_b64).map_err(|_| Malformed("signature is not base64url"))?;
    Ok(Decoded { signing_input, alg: header.alg, kid: header.kid, claims, signature })
}

/// The `iss` claim of a token, read without any check (to pick the authenticator).
pub fn peek_issuer(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    #[derive(Deserialize)]
    struct Iss {
        iss: Option<String>,
    }
    serde_json::from_slice::<Iss>(&bytes).ok()?.iss
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, RsaKeyPair};

    #[test]
    fn ec_jwk_verifies() {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let kp = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let point = kp.public_key().as_ref();
        let jwk = Jwk {
            kty: "EC".into(),
            crv: Some("P-256".into()),
            x: Some(URL_SAFE_NO_PAD.encode(&point[1..33])),
            y: Some(URL_SAFE_NO_PAD.encode(&point[33..])),
            kid: Some("k1".into()),
            ..Default::default()
        };
        let key = VerifyKey::from_jwk(&jwk).unwrap();
        let sig = kp.sign(&rng, b"msg").unwrap();
        assert!(key.verify(SigningAlg::ES256, b"msg", sig.as_ref()));
        assert!(!key.verify(SigningAlg::ES256, b"msh", sig.as_ref()));
        assert!(!key.verify(SigningAlg::RS256, b"msg", sig.as_ref()));
        assert_eq!(key.kid(), Some("k1"));
    }

    #[test]
    fn rsa_jwk_verifies() {
        let pem =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/rsa-2048.pem")).unwrap();
        let der = rustls_pemfile::private_key(&mut pem.as_bytes()).unwrap().unwrap();
        let kp = RsaKeyPair::from_pkcs8(der.secret_der())
            .or_else(|_| RsaKeyPair::from_der(der.secret_der()))
            .unwrap();
        let n = kp.public().modulus_len();
        let components: ring::rsa::PublicKeyComponents<Vec<u8>> = kp.public().into();
        assert_eq!(components.n.len(), n);
        let jwk = Jwk {
            kty: "RSA".into(),
            n: Some(URL_SAFE_NO_PAD.encode(&components.n)),
            e: Some(URL_SAFE_NO_PAD.encode(&components.e)),
            ..Default::default()
        };
        let key = VerifyKey::from_jwk(&jwk).unwrap();
        let mut sig = vec![0; n];
        kp.sign(&signature::RSA_PKCS1_SHA256, &SystemRandom::new(), b"m", &mut sig).unwrap();
        assert!(key.verify(SigningAlg::RS256, b"m", &sig));
        assert!(!key.verify(SigningAlg::RS384, b"m", &sig));
        assert!(VerifyKey::from_jwk(&Jwk { kty: "oct".into(), ..Default::default() }).is_none());
        assert!(VerifyKey::from_jwk(&Jwk { use_: Some("enc".into()), ..jwk }).is_none());
    }

    #[test]
    fn decode_and_peek() {
        let t = format!(
            "{}.{}.AAAA",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"a"}"#),
            URL_SAFE_NO_PAD.encode(r#"{"iss":"https://x","sub":"s"}"#)
        );
        let d = decode(&t).unwrap();
        assert_eq!((d.alg.as_str(), d.kid.as_deref()), ("RS256", Some("a")));
        assert_eq!(peek_issuer(&t).as_deref(), Some("https://x"));
        assert!(decode("a.b").is_err());
        assert!(decode("a.b.c.d").is_err());
        assert_eq!(SigningAlg::parse("ES384"), Some(SigningAlg::ES384));
        assert_eq!(SigningAlg::parse("HS256"), None);
    }
}
