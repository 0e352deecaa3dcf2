//! A small HTTP/1.1 client for talking to identity providers: `https://` over rustls with a
//! given CA bundle (or the system bundle), and plain `http://` (for loopback only, used by
//! the login flow's redirect). One connection per request, a response size limit and a
//! timeout. Shared by the authenticator (discovery, JWKS) and `kubeward-login` (token
//! endpoint, device flow).

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use std::sync::Arc;
use std::time::Duration;

/// How long one request may take, connection included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_RESPONSE_BYTES: usize = 1 << 20;
/// Where the system CA bundle is looked for when no CA is given (`SSL_CERT_FILE` first).
const SYSTEM_BUNDLES: &[&str] =
    &["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"];

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

/// An HTTP(S) client trusting one CA bundle.
#[derive(Clone)]
pub struct HttpClient {
    tls: tokio_rustls::TlsConnector,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HttpClient")
    }
}

fn tls_error(e: impl std::fmt::Display) -> HttpError {
    HttpError::Tls(e.to_string())
}

impl HttpClient {
    /// A client trusting the PEM certificates in `ca_pem`, or the system bundle when `None`.
    pub fn new(ca_pem: Option<&[u8]>) -> Result<Self, HttpError> {
        let system;
        let pem = match ca_pem {
            Some(p) => p,
            None => {
                system = system_bundle()?;
                &system
            }
        };
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_pemfile::certs(&mut &pem[..]) {
            roots.add(cert.map_err(tls_error)?).map_err(tls_error)?;
        }
        if roots.is_empty() {
            return Err(HttpError::Tls("the CA bundle holds no certificate".into()));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(tls_error)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self { tls: tokio_rustls::TlsConnector::from(Arc::new(config)) })
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

    /// One request; the body of the answer is read whole (at most 1 MiB).
    pub async fn request(
        &self,
        method: http::Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Response, HttpError> {
        tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(method, url, headers, body))
            .await
            .map_err(|_| HttpError::Timeout(url.to_string()))?
    }

    async fn exchange(
        &self,
        method: http::Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Response, HttpError> {
        let uri: http::Uri = url.parse().map_err(|_| HttpError::Url(url.to_string()))?;
        let bad_url = || HttpError::Url(url.to_string());
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(bad_url()),
        };
        let authority = uri.authority().ok_or_else(bad_url)?.clone();
        let host = authority.host().trim_start_matches('[').trim_end_matches(']').to_string();
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let transport =
            |e: &dyn std::fmt::Display| HttpError::Transport { url: url.to_string(), reason: e.to_string() };
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port)).await.map_err(|e| transport(&e))?;
        let _ = tcp.set_nodelay(true);
        let mut req = http::Request::builder()
            .method(method)
            .uri(uri.path_and_query().map_or("/", |p| p.as_str()))
            .header(http::header::HOST, authority.as_str());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(Bytes::from(body.unwrap_or_default()))).map_err(|e| transport(&e))?;
        let resp = if https {
            let name = ServerName::try_from(host).map_err(|e| transport(&e))?;
            let tls = self.tls.connect(name, tcp).await.map_err(|e| transport(&e))?;
            send(TokioIo::new(tls), req).await
        } else {
            send(TokioIo::new(tcp), req).await
        };
        resp.map_err(|e| transport(&e))
    }
}

async fn send<I>(io: I, req: http::Request<Full<Bytes>>) -> Result<Response, String>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.map_err(|e| e.to_string())?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let (parts, body) = resp.into_parts();
    let body = Limited::new(body, MAX_RESPONSE_BYTES).collect().await.map_err(|e| e.to_string())?.to_bytes();
    driver.abort();
    Ok(Response { status: parts.status, headers: parts.headers, body })
}

fn system_bundle() -> Result<Vec<u8>, HttpError> {
    let from_env = std::env::var("SSL_CERT_FILE").ok();
    for path in from_env.iter().map(String::as_str).chain(SYSTEM_BUNDLES.iter().copied()) {
        if let Ok(b) = std::fs::read(path) {
            return Ok(b);
        }
    }
    Err(HttpError::Tls("no CA given and no system CA bundle found".into()))
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
