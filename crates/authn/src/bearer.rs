//! Reading credentials out of the `Authorization` header, with the rules of kube's
//! `request/bearertoken` and Go's `Request.BasicAuth`: a header that is missing, empty or
//! not of the expected scheme means "no credential of this kind" (not a failure).

use base64::Engine;

/// The bearer token of `Authorization: Bearer <token>`.
///
/// As kube-apiserver: the value is trimmed, split on single spaces into at most three
/// parts, the scheme compared case-insensitively, and an empty token (for example
/// `Bearer  x`, two spaces) is no token at all. Only the first `Authorization` header
/// counts.
pub fn bearer_token(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?.trim();
    let mut parts = value.splitn(3, ' ');
    let scheme = parts.next()?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = parts.next()?;
    (!token.is_empty()).then_some(token)
}

/// User name and password of `Authorization: Basic base64(user:password)`.
///
/// As Go's `Request.BasicAuth`: the scheme `Basic ` is case-insensitive, the rest must be
/// standard base64 of `user:password` (split at the first colon); anything else is
/// no credential.
pub fn basic_credentials(headers: &http::HeaderMap) -> Option<(String, String)> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_at_checked(6)?;
    if !scheme.eq_ignore_ascii_case("basic ") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(rest).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, value.parse().unwrap());
        h
    }

    #[test]
    fn bearer_follows_kube_rules() {
        assert_eq!(bearer_token(&headers("Bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&headers("bEaReR abc")), Some("abc"));
        assert_eq!(bearer_token(&headers("  Bearer abc  ")), Some("abc"));
        assert_eq!(bearer_token(&headers("Bearer abc def")), Some("abc"));
        assert_eq!(bearer_token(&headers("Bearer  abc")), None, "space before the token");
        assert_eq!(bearer_token(&headers("Bearer")), None);
        assert_eq!(bearer_token(&headers("Bearer ")), None);
        assert_eq!(bearer_token(&headers("Basic abc")), None);
        assert_eq!(bearer_token(&http::HeaderMap::new()), None);
    }

    #[test]
    fn basic_follows_go_rules() {
        let enc = base64::engine::general_purpose::STANDARD.encode("jane:pa:ss");
        assert_eq!(
            basic_credentials(&headers(&format!("basic {enc}"))),
            Some(("jane".into(), "pa:ss".into()))
        );
        assert_eq!(basic_credentials(&headers("Basic !!!")), None);
        let no_colon = base64::engine::general_purpose::STANDARD.encode("jane");
        assert_eq!(basic_credentials(&headers(&format!("Basic {no_colon}"))), None);
        assert_eq!(basic_credentials(&headers("Bearer abc")), None);
    }
}
