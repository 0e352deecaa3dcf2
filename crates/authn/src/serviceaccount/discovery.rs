//! ServiceAccount issuer discovery (kube's `ServiceAccountIssuerDiscovery`, GA since 1.21): the
//! OpenID Connect discovery document at [`OPENID_CONFIG_PATH`] and the JSON Web Key Set of
//! the verification keys at [`JWKS_PATH`], so that a relying party outside the cluster (a
//! cloud's workload identity federation, Vault, another cluster) can verify the cluster's
//! ServiceAccount tokens without calling the API.
//!
//! Both documents are rendered once at start from the issuer and the keys, as kube's
//! `pkg/serviceaccount/openidmetadata.go`: the same checks (an https issuer without query or
//! fragment; an https `--service-account-jwks-uri`, or `https://<external address>/openid/v1/jwks`),
//! the same fields in go-jose's order and encoding.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bytes::Bytes;
use serde_json::{json, Value};

use super::keys::{Algorithm, PublicKey};

/// Where the discovery document is served.
pub const OPENID_CONFIG_PATH: &str = "/.well-known/openid-configuration";
/// Where the key set is served.
pub const JWKS_PATH: &str = "/openid/v1/jwks";
/// The media type of the key set.
pub const JWKS_CONTENT_TYPE: &str = "application/jwk-set+json";
/// Both documents' `Cache-Control` (kube: the static key getter's 3600 s).
pub const CACHE_CONTROL: &str = "public, max-age=3600";

/// The two rendered documents.
#[derive(Debug, Clone)]
pub struct OpenIdMetadata {
    /// The discovery document (`application/json`).
    pub config_json: Bytes,
    /// The key set ([`JWKS_CONTENT_TYPE`]).
    pub keyset_json: Bytes,
}

impl OpenIdMetadata {
    /// kube's `NewOpenIDMetadataProvider`: an error (kube's text) means the endpoints stay off.
    pub fn new(
        issuer: &str,
        jwks_uri: Option<&str>,
        external_address: &str,
        keys: &[PublicKey],
    ) -> Result<Self, String> {
        if issuer.is_empty() {
            return Err("empty issuer URL".into());
        }
        let (scheme, query, fragment) = url_parts(issuer);
        if scheme != Some("https") {
            return Err(format!("issuer URL must use https scheme, got: {issuer}"));
        }
        if query {
            return Err(format!("issuer URL may not include a query, got: {issuer}"));
        }
        if fragment {
            return Err(format!("issuer URL may not include a fragment, got: {issuer}"));
        }
        let jwks_uri = match jwks_uri.filter(|u| !u.is_empty()) {
            Some(uri) => {
                if url_parts(uri).0 != Some("https") {
                    return Err(format!("jwksURI requires https scheme, parsed as: {uri}"));
                }
                uri.to_string()
            }
            None if external_address.is_empty() => {
                return Err("either the JWKS URI or the default external address, or both, must be set".into())
            }
            None => format!("https://{external_address}{JWKS_PATH}"),
        };
        if keys.is_empty() {
            return Err("no keys provided for validating keyset".into());
        }
        let jwks: Vec<String> = keys.iter().map(jwk).collect::<Result<_, _>>()?;
        // Go's sets.String: sorted, without repeats.
        let mut algs: Vec<&str> = keys.iter().map(|k| k.alg().name()).collect();
        algs.sort_unstable();
        algs.dedup();
        let config = object(&[
            ("issuer", json!(issuer)),
            ("jwks_uri", json!(jwks_uri)),
            ("response_types_supported", json!(["id_token"])),
            ("subject_types_supported", json!(["public"])),
            ("id_token_signing_alg_values_supported", json!(algs)),
        ]);
        let keyset = format!("{{\"keys\":[{}]}}", jwks.join(","));
        Ok(Self { config_json: Bytes::from(config), keyset_json: Bytes::from(keyset) })
    }
}

/// A URL's scheme and whether it has a query or a fragment (what kube checks of `url.Parse`).
fn url_parts(url: &str) -> (Option<&str>, bool, bool) {
    let scheme = url.split_once("://").map(|(s, _)| s).filter(|s| !s.is_empty());
    let (before_fragment, fragment) = match url.split_once('#') {
        Some((b, _)) => (b, true),
        None => (url, false),
    };
    (scheme, before_fragment.contains('?'), fragment)
}

/// A JSON object with its fields in the given order (Go's struct order), Go's escapes.
fn object(fields: &[(&str, Value)]) -> String {
    let fields: Vec<String> =
        fields.iter().map(|(k, v)| format!("\"{k}\":{}", apimachinery::gofmt::go_json(v))).collect();
    format!("{{{}}}", fields.join(","))
}

/// go-jose's `JSONWebKey` of a public key: `use`, `kty`, `kid`, `crv`, `alg`, then `x`/`y`
/// (fixed size) or `n`/`e` (no leading zeros), base64url without padding.
fn jwk(key: &PublicKey) -> Result<String, String> {
    let raw = key.raw();
    let b64 = |b: &[u8]| Value::String(URL_SAFE_NO_PAD.encode(b));
    let mut m: Vec<(&str, Value)> = vec![("use", "sig".into())];
    match key.alg() {
        Algorithm::RS256 => {
            use x509_parser::prelude::FromDer;
            let (_, rsa) = x509_parser::public_key::RSAPublicKey::from_der(raw)
                .map_err(|e| format!("error constructing JWK for key {}: {e}", key.kid()))?;
            m.push(("kty", "RSA".into()));
            m.push(("kid", key.kid().into()));
            m.push(("alg", key.alg().name().into()));
            m.push(("n", b64(strip_zeros(rsa.modulus))));
            m.push(("e", b64(strip_zeros(rsa.exponent))));
        }
        alg @ (Algorithm::ES256 | Algorithm::ES384) => {
            let (crv, size) = if alg == Algorithm::ES256 { ("P-256", 32) } else { ("P-384", 48) };
            // The uncompressed point: 0x04, X, Y.
            if raw.len() != 1 + 2 * size || raw[0] != 4 {
                return Err(format!(
                    "error constructing JWK for key {}: not an uncompressed {crv} point",
                    key.kid()
                ));
            }
            m.push(("kty", "EC".into()));
            m.push(("kid", key.kid().into()));
            m.push(("crv", crv.into()));
            m.push(("alg", alg.name().into()));
            m.push(("x", b64(&raw[1..1 + size])));
            m.push(("y", b64(&raw[1 + size..])));
        }
    }
    Ok(object(&m))
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[start..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serviceaccount::keys::parse_private_key_pem;

    const ISS: &str = "https://kubernetes.default.svc.cluster.local";

    /// The object keys of a JSON text in the order written.
    fn field_order(json: &[u8]) -> Vec<String> {
        let text = std::str::from_utf8(json).unwrap();
        text.split('"')
            .collect::<Vec<_>>()
            .windows(2)
            .filter(|w| w[1].starts_with(':'))
            .map(|w| w[0].to_string())
            .collect()
    }

    fn rsa_key() -> PublicKey {
        let pem =
            std::fs::read_to_string(format!("{}/testdata/rsa-2048.pem", env!("CARGO_MANIFEST_DIR"))).unwrap();
        parse_private_key_pem("rsa", &pem).unwrap().public_key().clone()
    }

    fn ec_key() -> PublicKey {
        let pem = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap().serialize_pem();
        parse_private_key_pem("ec", &pem).unwrap().public_key().clone()
    }

    #[test]
    fn documents_as_kube_renders_them() {
        let ec = ec_key();
        let md = OpenIdMetadata::new(ISS, None, "127.0.0.1:6443", std::slice::from_ref(&ec)).unwrap();
        let config: Value = serde_json::from_slice(&md.config_json).unwrap();
        assert_eq!(
            std::str::from_utf8(&md.config_json).unwrap(),
            format!(
                "{{\"issuer\":\"{ISS}\",\"jwks_uri\":\"https://127.0.0.1:6443/openid/v1/jwks\",\
                 \"response_types_supported\":[\"id_token\"],\"subject_types_supported\":[\"public\"],\
                 \"id_token_signing_alg_values_supported\":[\"ES256\"]}}"
            )
        );
        assert_eq!(config["jwks_uri"], "https://127.0.0.1:6443/openid/v1/jwks");
        let keyset: Value = serde_json::from_slice(&md.keyset_json).unwrap();
        let k = &keyset["keys"][0];
        assert_eq!(field_order(&md.keyset_json), ["keys", "use", "kty", "kid", "crv", "alg", "x", "y"]);
        assert_eq!(
            (k["kty"].as_str(), k["crv"].as_str(), k["kid"].as_str()),
            (Some("EC"), Some("P-256"), Some(ec.kid()))
        );
        let x = URL_SAFE_NO_PAD.decode(k["x"].as_str().unwrap()).unwrap();
        let y = URL_SAFE_NO_PAD.decode(k["y"].as_str().unwrap()).unwrap();
        assert_eq!([&[4u8][..], &x, &y].concat(), ec.raw());
    }

    #[test]
    fn rsa_keys_carry_modulus_and_exponent() {
        let rsa = rsa_key();
        let ec = ec_key();
        let md =
            OpenIdMetadata::new(ISS, Some("https://keys.example.com/jwks"), "", &[rsa.clone(), ec]).unwrap();
        let config: Value = serde_json::from_slice(&md.config_json).unwrap();
        assert_eq!(config["jwks_uri"], "https://keys.example.com/jwks");
        assert_eq!(config["id_token_signing_alg_values_supported"], json!(["ES256", "RS256"]));
        let keyset: Value = serde_json::from_slice(&md.keyset_json).unwrap();
        let k = &keyset["keys"][0];
        assert_eq!(field_order(&md.keyset_json)[..7], ["keys", "use", "kty", "kid", "alg", "n", "e"]);
        assert_eq!(k["e"], "AQAB");
        let n = URL_SAFE_NO_PAD.decode(k["n"].as_str().unwrap()).unwrap();
        assert_eq!(n.len(), 256, "a 2048-bit modulus without its leading zero");
        assert_ne!(n[0], 0);
    }

    #[test]
    fn refuses_what_kube_refuses() {
        let keys = [ec_key()];
        let err = |iss: &str, jwks: Option<&str>, ext: &str, keys: &[PublicKey]| {
            OpenIdMetadata::new(iss, jwks, ext, keys).unwrap_err()
        };
        assert_eq!(err("", None, "a:1", &keys), "empty issuer URL");
        assert_eq!(err("http://x", None, "a:1", &keys), "issuer URL must use https scheme, got: http://x");
        assert_eq!(
            err("kubernetes/serviceaccount", None, "a:1", &keys),
            "issuer URL must use https scheme, got: kubernetes/serviceaccount"
        );
        assert_eq!(
            err("https://x?a=b", None, "a:1", &keys),
            "issuer URL may not include a query, got: https://x?a=b"
        );
        assert_eq!(
            err("https://x#f", None, "a:1", &keys),
            "issuer URL may not include a fragment, got: https://x#f"
        );
        assert_eq!(
            err("https://x", Some("http://k/jwks"), "a:1", &keys),
            "jwksURI requires https scheme, parsed as: http://k/jwks"
        );
        assert_eq!(
            err("https://x", None, "", &keys),
            "either the JWKS URI or the default external address, or both, must be set"
        );
        assert_eq!(err("https://x", None, "a:1", &[]), "no keys provided for validating keyset");
    }
}
