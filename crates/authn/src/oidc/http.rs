//! The HTTP client for identity providers, over [`outbound::Client`]: `https://` verified with
//! the issuer's CA bundle (or the system roots), and plain `http://` (for loopback only, used
//! by the login flow's redirect). Connections are pooled; each request has a 30 s timeout and a
//! 3 MiB limit on the answer; nothing is retried (the authenticator retries its first key
//! fetch itself). Shared by the authenticator (discovery, JWKS) and `kubeward-login` (token
//! endpoint, device flow).

use bytes::Bytes;

/// How long one request may take, connection included.
pub const REQUEST_TIMEOUT: std::time::Duration = outbound::DEFAULT_TIMEOUT;

/// Errors of one HTTP exchange or of building the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The CA bundle is unusable.
    #[error("tls configuration: {0}")]
    Tls(String),
    /// The URL cannot be requested.
    #[error("invalid url `{0}`")]
    Url(String),
    /// Connecting, the TLS handshake or the exchange failed.
    #[error("{url}: {reason}")]
    Transport { url: String, reason: String },
    /// No answer within [`REQUEST_TIMEOUT`].
    #[error("{0}: request timed out")]
    Timeout(String),
}

/// A response: status, headers and the whole body.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: http::StatusCode,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Response {
    /// The `Location` header, resolved against `base` when relative.
    pub fn location(&self, base: &str) -> Option<String> {
        let loc = self.headers.get(http::header::LOCATION)?.to_str().ok()?;
        if loc.starts_with("http://") || loc.starts_with("https://") {
            return Some(loc.to_string());
        }
        let uri: http::Uri = base.parse().ok()?;
        let origin = format!("{}://{}", uri.scheme_str()?, uri.authority()?);
        Some(if loc.starts_with('/') { format!("{origin}{loc}") } else { format!("{origin}/{loc}") })
    }
}

/// An HTTP(S) client trusting one CA bundle; clones share its connection pool.
#[derive(Clone, Debug)]
pub struct HttpClient {
    client: outbound::Client,
}

impl HttpClient {
    /// A client trusting the PEM certificates in `ca_pem`, or the system roots when `None`.
    pub fn new(ca_pem: Option<&[u8]>) -> Result<Self, HttpError> {
        let tls_error = |e: outbound::ConfigError| HttpError::Tls(e.to_string());
        let tls = outbound::tls::client_config(ca_pem, None).map_err(tls_error)?;
        let client = outbound::Client::new(tls, None, outbound::Options::default()).map_err(tls_error)?;
        Ok(Self { client })
    }

    /// `GET url` with extra headers.
    pub async fn get(&self, url: &str, headers: &[(&str, &str)]) -> Result<Response, HttpError> {
        self.request(http::Method::GET, url, headers, None).await
    }

    /// `POST url` of an `application/x-www-form-urlencoded` form.
    pub async fn post_form(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        form: &[(&str, &str)],
    ) -> Result<Response, HttpError> {
        let body = form_urlencode(form);
        let mut all = vec![("content-type", "application/x-www-form-urlencoded")];
        all.extend_from_slice(headers);
        self.request(http::Method::POST, url, &all, Some(body.into_bytes())).await
    }

    /// One request; the body of the answer is read whole. Redirects are answers.
    pub async fn request(
        &self,
        method: http::Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Response, HttpError> {
        let uri: http::Uri = url.parse().map_err(|_| HttpError::Url(url.to_string()))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.authority().is_none() {
            return Err(HttpError::Url(url.to_string()));
        }
        let transport =
            |e: &dyn std::fmt::Display| HttpError::Transport { url: url.to_string(), reason: e.to_string() };
        let mut req = http::Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Bytes::from(body.unwrap_or_default())).map_err(|e| transport(&e))?;
        match self.client.send(req).await {
            Ok(r) => Ok(Response { status: r.status, headers: r.headers, body: r.body }),
            Err(e) if e.is_timeout() => Err(HttpError::Timeout(url.to_string())),
            Err(e) => Err(transport(&e.kind)),
        }
    }
}

/// `application/x-www-form-urlencoded` encoding of pairs.
pub fn form_urlencode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes a query string or form body into pairs (`+` is a space).
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_round_trips() {
        let enc = form_urlencode(&[("a b", "x&y=z"), ("redirect_uri", "http://127.0.0.1:1/cb")]);
        assert_eq!(enc, "a%20b=x%26y%3Dz&redirect_uri=http%3A%2F%2F127.0.0.1%3A1%2Fcb");
        let dec = parse_query(&enc);
        assert_eq!(dec[0], ("a b".to_string(), "x&y=z".to_string()));
        assert_eq!(
            parse_query("q=a+b&bad=%zz&e"),
            vec![("q".into(), "a b".into()), ("bad".into(), "%zz".into()), ("e".into(), String::new())]
        );
    }

    #[test]
    fn location_resolves_relative() {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::LOCATION, "/interaction/x".parse().unwrap());
        let r = Response { status: http::StatusCode::SEE_OTHER, headers, body: Bytes::new() };
        assert_eq!(
            r.location("https://127.0.0.1:9/auth?a").as_deref(),
            Some("https://127.0.0.1:9/interaction/x")
        );
    }

    #[test]
    fn empty_ca_is_rejected() {
        assert!(matches!(HttpClient::new(Some(b"nothing")), Err(HttpError::Tls(_))));
    }
}
