//! JWS compact serialization (`header.payload.signature`, base64url without padding) and
//! the claim sets of service-account tokens, with kube's JSON names. Claim sets are
//! written with sorted keys, as go-jose's builder writes them.

use super::keys::PrivateKey;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// The issuer of legacy (Secret-based) tokens.
pub const LEGACY_ISSUER: &str = "kubernetes/serviceaccount";

/// A `{"name", "uid"}` reference to a ServiceAccount, Pod, Secret or Node.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ObjectRef {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub uid: String,
}

/// The `kubernetes.io` claim of bound tokens.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KubernetesClaims {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<ObjectRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<ObjectRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<ObjectRef>,
    #[serde(default, rename = "serviceaccount", skip_serializing_if = "Option::is_none")]
    pub service_account: Option<ObjectRef>,
    #[serde(default, rename = "warnafter", skip_serializing_if = "Option::is_none")]
    pub warn_after: Option<i64>,
}

/// Claims of a bound (TokenRequest) token, in go-jose's key order.
#[derive(Serialize)]
pub(crate) struct BoundClaims<'a> {
    pub aud: &'a [String],
    pub exp: i64,
    pub iat: i64,
    pub iss: &'a str,
    pub jti: String,
    #[serde(rename = "kubernetes.io")]
    pub kubernetes: KubernetesClaims,
    pub nbf: i64,
    pub sub: String,
}

/// Claims of a legacy (Secret-based) token, in go-jose's key order.
#[derive(Serialize)]
pub(crate) struct LegacyClaims<'a> {
    pub iss: &'a str,
    #[serde(rename = "kubernetes.io/serviceaccount/namespace")]
    pub namespace: &'a str,
    #[serde(rename = "kubernetes.io/serviceaccount/secret.name")]
    pub secret_name: &'a str,
    #[serde(rename = "kubernetes.io/serviceaccount/service-account.name")]
    pub service_account_name: &'a str,
    #[serde(rename = "kubernetes.io/serviceaccount/service-account.uid")]
    pub service_account_uid: &'a str,
    pub sub: String,
}

/// `aud` is a string or a list of strings.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            Audience::One(a) => vec![a],
            Audience::Many(v) => v,
        }
    }
}

/// Any service-account token's claims as read before validation.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawClaims {
    pub iss: Option<String>,
    pub sub: Option<String>,
    pub aud: Option<Audience>,
    /// NumericDate: JSON numbers, fractions allowed (go-jose reads them as float).
    pub exp: Option<f64>,
    pub nbf: Option<f64>,
    pub iat: Option<f64>,
    pub jti: Option<String>,
    #[serde(rename = "kubernetes.io")]
    pub kubernetes: Option<KubernetesClaims>,
    #[serde(rename = "kubernetes.io/serviceaccount/namespace")]
    pub legacy_namespace: Option<String>,
    #[serde(rename = "kubernetes.io/serviceaccount/secret.name")]
    pub legacy_secret_name: Option<String>,
    #[serde(rename = "kubernetes.io/serviceaccount/service-account.name")]
    pub legacy_service_account_name: Option<String>,
    #[serde(rename = "kubernetes.io/serviceaccount/service-account.uid")]
    pub legacy_service_account_uid: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct Header<'a> {
    #[serde(borrow)]
    pub alg: &'a str,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<&'a str>,
}

/// A token split and decoded, signature not yet checked.
pub(crate) struct Decoded<'a> {
    pub signing_input: &'a str,
    pub alg: String,
    pub kid: Option<String>,
    pub claims: RawClaims,
    pub signature: Vec<u8>,
}

/// Decodes a compact JWS; `None` when the text is not one (kube: not a JWT, not ours).
pub(crate) fn decode(token: &str) -> Option<Decoded<'_>> {
    if token.starts_with('{') {
        return None;
    }
    let (signing_input, sig_b64) = token.rsplit_once('.')?;
    let (header_b64, payload_b64) = signing_input.split_once('.')?;
    if payload_b64.contains('.') || sig_b64.is_empty() {
        return None;
    }
    let header_json = URL_SAFE_NO_PAD.decode(header_b64).ok()?;
    let header: Header<'_> = serde_json::from_slice(&header_json).ok()?;
    let (alg, kid) = (header.alg.to_string(), header.kid.map(str::to_string));
    let payload = URL_SAFE_NO_PAD.decode(payload_b64).ok()?;
    let claims: RawClaims = serde_json::from_slice(&payload).ok()?;
    let signature = URL_SAFE_NO_PAD.decode(sig_b64).ok()?;
    Some(Decoded { signing_input, alg, kid, claims, signature })
}

/// Errors producing a token.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The claims could not be serialized.
    #[error("encoding claims: {0}")]
    Encode(#[from] serde_json::Error),
    /// The signing key failed.
    #[error("signing failed")]
    Sign,
}

/// Signs `claims` with `key`: `{"alg","kid"}` header, compact serialization.
pub(crate) fn encode(key: &PrivateKey, claims: &impl Serialize) -> Result<String, SignError> {
    let public = key.public_key();
    let header = serde_json::to_vec(&Header { alg: public.alg().name(), kid: Some(public.kid()) })?;
    let payload = serde_json::to_vec(claims)?;
    let mut out = URL_SAFE_NO_PAD.encode(header);
    out.push('.');
    out.push_str(&URL_SAFE_NO_PAD.encode(payload));
    let sig = key.sign(out.as_bytes()).map_err(|_| SignError::Sign)?;
    out.push('.');
    out.push_str(&URL_SAFE_NO_PAD.encode(sig));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_rejects_non_jwts() {
        assert!(decode("{\"a\":1}").is_none());
        assert!(decode("abc").is_none());
        assert!(decode("a.b").is_none());
        assert!(decode("a.b.c.d").is_none());
        assert!(decode("eyJhbGciOiJFUzI1NiJ9.e30.").is_none(), "empty signature");
        let t =
            format!("{}.{}.AAAA", URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256"}"#), URL_SAFE_NO_PAD.encode("{}"));
        let d = decode(&t).unwrap();
        assert_eq!((d.alg.as_str(), d.kid.is_none(), d.signature.len()), ("ES256", true, 3));
    }

    #[test]
    fn audience_is_string_or_list() {
        let c: RawClaims = serde_json::from_str(r#"{"aud":"a","exp":1.5}"#).unwrap();
        assert_eq!(c.aud.unwrap().into_vec(), vec!["a"]);
        assert_eq!(c.exp, Some(1.5));
        let c: RawClaims = serde_json::from_str(r#"{"aud":["a","b"]}"#).unwrap();
        assert_eq!(c.aud.unwrap().into_vec(), vec!["a", "b"]);
    }
}
