//! Credentials a client presents: the Authorization header (bearer, basic, bootstrap token
//! form), service-account and OIDC tokens as sent (`*_token`: the whole compact JWS), their
//! claims and header behind a valid signature (`*_claims`: the harness signs what the
//! mutator made, so claim checks, CEL mappings and the lookups behind them are reached), and
//! client certificate chains (DER, leaf first) through the x509 authenticator.

use super::fixtures::{self, NOW, OIDC_KID};
use super::{block_on, sections, text};
use authn::{AuthRequest, Authenticator};
use rustls::pki_types::CertificateDer;

pub(super) const HEADER_WORDS: &[&str] = &[
    "Bearer ",
    "bearer ",
    "Basic ",
    "basic ",
    "Bearer  ",
    " ",
    "\t",
    ":",
    "=",
    "abcdef.0123456789abcdef",
    "YWRtaW46c2VjcmV0",
    "\\x",
    "%2C",
];

pub(super) const JWT_WORDS: &[&str] = &[
    ".",
    "..",
    "eyJhbGciOiJFUzI1NiJ9",
    "eyJhbGciOiJub25lIn0",
    "eyJhbGciOiJSUzI1NiIsImtpZCI6ImZ1enoifQ",
    "eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlLmNvbSJ9",
    "eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50In0",
    "=",
    "+",
    "/",
    "-",
    "_",
];

pub(super) fn bearer_header(data: &[u8]) {
    let Ok(value) = http::HeaderValue::from_bytes(data) else { return };
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::AUTHORIZATION, value);
    if let Some(token) = authn::bearer_token(&headers) {
        let _ = authn::bootstrap_token::parse_token(token);
    }
    let _ = authn::bearer::basic_credentials(&headers);
    let _ = authn::request_header::unescape_extra_key(&text(data));
}

pub(super) fn sa_token(data: &[u8]) {
    let token = text(data);
    let _ = block_on(fixtures::sa_authenticator().authenticate_token(&token));
}

/// Sections: payload, then an optional header (the key's header when absent).
pub(super) fn sa_claims(data: &[u8]) {
    let parts = sections(data, 2);
    let payload = parts.first().copied().unwrap_or_default();
    let header = fixtures::sa_header();
    let header = parts.get(1).copied().unwrap_or(header.as_bytes());
    let token = fixtures::sa_token(header, payload);
    let authn = fixtures::sa_authenticator();
    let _ = block_on(authn.authenticate_token(&token));
    let audiences = vec!["vault".to_string(), fixtures::SA_ISSUER.to_string()];
    let _ = block_on(authn.authenticate_token_for(&token, Some(&audiences)));
}

pub(super) fn oidc_token(data: &[u8]) {
    let token = text(data);
    let _ = block_on(fixtures::oidc_authenticator().authenticate_token_at(&token, NOW));
}

/// Sections: claims, then an optional header (`{"alg":"ES256","kid":"fuzz"}` when absent).
pub(super) fn oidc_claims(data: &[u8]) {
    let parts = sections(data, 2);
    let payload = parts.first().copied().unwrap_or_default();
    let header = format!(r#"{{"alg":"ES256","kid":"{OIDC_KID}"}}"#);
    let header = parts.get(1).copied().unwrap_or(header.as_bytes());
    let token = fixtures::oidc_token(header, payload);
    let _ = block_on(fixtures::oidc_authenticator().authenticate_token_at(&token, NOW));
}

/// The length of the DER element at the start of `der` (tag, length, contents), so a chain
/// of concatenated certificates splits where a TLS stack would have split it.
fn der_len(der: &[u8]) -> Option<usize> {
    let first = *der.get(1)?;
    if first < 0x80 {
        return Some(2 + usize::from(first));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 4 {
        return None;
    }
    let len = der.get(2..2 + n)?.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
    Some(2 + n + len)
}

/// Concatenated DER certificates, leaf first (at most 4; the rest, if any, is one more).
pub(super) fn x509_chain(data: &[u8]) {
    let mut chain: Vec<CertificateDer<'static>> = Vec::new();
    let mut rest = data;
    while !rest.is_empty() && chain.len() < 4 {
        let n = der_len(rest).unwrap_or(rest.len()).clamp(1, rest.len());
        let (cert, tail) = rest.split_at(n);
        chain.push(CertificateDer::from(cert.to_vec()));
        rest = tail;
    }
    if !rest.is_empty() {
        chain.push(CertificateDer::from(rest.to_vec()));
    }
    if let Some(leaf) = chain.first() {
        let _ = authn::x509::subject_identity(leaf);
    }
    let headers = http::HeaderMap::new();
    let req = AuthRequest::new(&headers, Some(&chain), "/api");
    let _ = block_on(fixtures::x509_authenticator().authenticate(&req));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed(target: &str, name: &str) -> String {
        std::fs::read_to_string(crate::corpus_root().join(target).join(name)).unwrap()
    }

    /// The seeds pass every check, so mutants start from credentials the server accepts.
    #[test]
    fn the_token_seeds_authenticate() {
        let sa = fixtures::sa_authenticator();
        for name in ["bound.jwt", "bound-pod.jwt", "bound-secret.jwt"] {
            let user = block_on(sa.authenticate_token(&seed("sa_token", name))).unwrap();
            assert_eq!(user.name, "system:serviceaccount:default:builder", "{name}");
        }
        let oidc = fixtures::oidc_authenticator();
        let user =
            block_on(oidc.authenticate_token_at(&seed("oidc_token", "cel.jwt"), NOW)).unwrap().unwrap();
        assert_eq!(user.name, "sso:alice@example.com");
        assert_eq!(user.groups, vec!["team:devs", "team:ops"]);
        let user =
            block_on(oidc.authenticate_token_at(&seed("oidc_token", "plain.jwt"), NOW)).unwrap().unwrap();
        assert_eq!(user.name, "plain:bob");
    }

    #[test]
    fn the_certificate_seeds_authenticate() {
        for leaf in [fixtures::CLIENT_V3_DER, fixtures::CLIENT_V1_DER] {
            let chain = vec![CertificateDer::from(leaf.to_vec())];
            let headers = http::HeaderMap::new();
            let req = AuthRequest::new(&headers, Some(&chain), "/api");
            match block_on(fixtures::x509_authenticator().authenticate(&req)) {
                authn::AuthOutcome::Authenticated(u) => {
                    assert_eq!((u.name.as_str(), u.groups), ("jane", vec!["devs".into(), "ops".into()]))
                }
                other => panic!("{:?}", std::mem::discriminant(&other)),
            }
        }
    }

    #[test]
    fn der_lengths_split_a_chain() {
        assert_eq!(der_len(&[0x30, 0x03, 1, 2, 3]), Some(5));
        assert_eq!(der_len(&[0x30, 0x82, 0x01, 0x00]), Some(4 + 256));
        assert_eq!(der_len(&[0x30, 0x80]), None);
        assert_eq!(der_len(&[0x30]), None);
        assert_eq!(der_len(fixtures::CLIENT_V3_DER), Some(fixtures::CLIENT_V3_DER.len()));
    }
}
