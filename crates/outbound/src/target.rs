//! One endpoint, built once: its URL, a [`Client`] with the endpoint's TLS configuration and
//! connection pool, its bearer token, and the retry policy of its calls. What kube's
//! `GenericWebhook` is to a webhook kubeconfig.

use crate::client::{Client, Options, Response};
use crate::error::{ConfigError, Error};
use crate::kubeconfig::RestConfig;
use crate::retry::{with_backoff, Backoff};
use crate::tls;
use bytes::Bytes;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a `tokenFile` is read again (client-go's `CachedFileTokenSource` period).
const TOKEN_FILE_PERIOD: Duration = Duration::from_secs(60);

/// A server the API server calls; see the module docs.
pub struct Target {
    url: http::Uri,
    /// The URL as configured, for messages.
    url_text: String,
    client: Client,
    bearer: Option<Bearer>,
    backoff: Backoff,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token stays out of logs.
        f.debug_struct("Target")
            .field("url", &self.url_text)
            .field("bearer", &self.bearer.is_some())
            .field("backoff", &self.backoff)
            .finish()
    }
}

impl Target {
    /// The target a kubeconfig describes: `server`, verified with its CA (or the system
    /// roots), with its client certificate and bearer token. `insecure-skip-tls-verify` is
    /// refused.
    pub fn new(config: &RestConfig, options: Options, backoff: Backoff) -> Result<Self, ConfigError> {
        if config.insecure_skip_tls_verify {
            return Err(ConfigError::InsecureSkipTlsVerify);
        }
        let url_text = config.server.to_string();
        let tls = match config.server.scheme_str() {
            Some("https") => tls::client_config(config.ca_pem.as_deref(), config.client_cert.as_ref())?,
            Some("http") => tls::plain_http()?,
            _ => {
                return Err(ConfigError::Url { url: url_text, reason: "scheme must be http or https".into() })
            }
        };
        let client = Client::new(tls, config.tls_server_name.as_deref(), options)?;
        let bearer = Bearer::new(config.token.clone(), config.token_file.clone(), TOKEN_FILE_PERIOD)?;
        Ok(Self { url: config.server.clone(), url_text, client, bearer, backoff })
    }

    /// An `https` URL verified with `ca_pem` (else the system roots), no client credentials:
    /// an admission webhook's `clientConfig`.
    pub fn from_url(
        url: &str,
        ca_pem: Option<&[u8]>,
        options: Options,
        backoff: Backoff,
    ) -> Result<Self, ConfigError> {
        Self::from_url_for(url, None, ca_pem, options, backoff)
    }

    /// [`Target::from_url`], the server's certificate checked for `server_name` (and that
    /// name sent as SNI) instead of the URL's host: a webhook Service called at one of its
    /// endpoints' addresses.
    pub fn from_url_for(
        url: &str,
        server_name: Option<&str>,
        ca_pem: Option<&[u8]>,
        options: Options,
        backoff: Backoff,
    ) -> Result<Self, ConfigError> {
        let bad = |reason: String| ConfigError::Url { url: url.to_string(), reason };
        let uri: http::Uri = url.parse().map_err(|e: http::uri::InvalidUri| bad(e.to_string()))?;
        if uri.scheme_str() != Some("https") {
            return Err(bad("scheme must be https".into()));
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(bad("missing host".into()));
        }
        let client = Client::new(tls::client_config(ca_pem, None)?, server_name, options)?;
        Ok(Self { url: uri, url_text: url.to_string(), client, bearer: None, backoff })
    }

    /// The same target, its calls retried with `backoff`.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The URL called.
    pub fn url(&self) -> &http::Uri {
        &self.url
    }

    /// POSTs a JSON body, retried per the target's [`Backoff`] while kube would retry; the
    /// last answer is returned whatever its status.
    pub async fn post_json(&self, body: impl Into<Bytes>) -> Result<Response, Error> {
        let body = body.into();
        with_backoff(self.backoff, || self.client.send_as(self.request(body.clone()), &self.url_text)).await
    }

    fn request(&self, body: Bytes) -> http::Request<Bytes> {
        let mut req = http::Request::new(body);
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = self.url.clone();
        let headers = req.headers_mut();
        headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
        headers.insert(http::header::ACCEPT, http::HeaderValue::from_static("application/json"));
        if let Some(token) = self.bearer.as_ref().and_then(Bearer::current) {
            if let Ok(mut value) = http::HeaderValue::try_from(format!("Bearer {token}")) {
                value.set_sensitive(true);
                headers.insert(http::header::AUTHORIZATION, value);
            }
        }
        req
    }
}

/// The bearer token: `token`, or `tokenFile` read again every period, the last value read
/// kept when a read fails (client-go's refreshing bearer round tripper).
struct Bearer {
    fallback: Option<String>,
    file: Option<TokenFile>,
}

struct TokenFile {
    path: PathBuf,
    period: Duration,
    /// The last token read and when.
    cached: Mutex<(Option<String>, Instant)>,
}

impl Bearer {
    fn new(
        token: Option<String>,
        file: Option<PathBuf>,
        period: Duration,
    ) -> Result<Option<Self>, ConfigError> {
        let Some(path) = file else { return Ok(token.map(|t| Self { fallback: Some(t), file: None })) };
        let first = match read_token(&path) {
            Ok(t) => Some(t),
            Err(_) if token.is_some() => None,
            Err(reason) => return Err(ConfigError::TokenFile { path: path.display().to_string(), reason }),
        };
        let file = TokenFile { path, period, cached: Mutex::new((first, Instant::now())) };
        Ok(Some(Self { fallback: token, file: Some(file) }))
    }

    fn current(&self) -> Option<String> {
        let Some(file) = &self.file else { return self.fallback.clone() };
        // The cache holds one whole value; a panic elsewhere cannot leave it half-written.
        let mut cached = file.cached.lock().unwrap_or_else(|e| e.into_inner());
        if cached.1.elapsed() >= file.period {
            match read_token(&file.path) {
                Ok(t) => cached.0 = Some(t),
                Err(reason) => {
                    tracing::warn!(path = %file.path.display(), %reason, "cannot re-read the token file; keeping the last token")
                }
            }
            cached.1 = Instant::now();
        }
        cached.0.clone().or_else(|| self.fallback.clone())
    }
}

fn read_token(path: &std::path::Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let token = text.trim();
    if token.is_empty() {
        return Err("the file is empty".into());
    }
    Ok(token.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_file_is_reread_and_survives_failures() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "one\n").unwrap();
        let b = Bearer::new(Some("fallback".into()), Some(path.clone()), Duration::ZERO).unwrap().unwrap();
        assert_eq!(b.current().as_deref(), Some("one"));
        std::fs::write(&path, "two").unwrap();
        assert_eq!(b.current().as_deref(), Some("two"));
        std::fs::remove_file(&path).unwrap();
        assert_eq!(b.current().as_deref(), Some("two"), "the last token read is kept");

        let slow = Bearer::new(None, Some(dir.path().join("t2")), Duration::ZERO);
        assert!(matches!(slow, Err(ConfigError::TokenFile { .. })), "no file and no token");
        let b = Bearer::new(Some("fallback".into()), Some(dir.path().join("t3")), Duration::from_secs(60))
            .unwrap()
            .unwrap();
        assert_eq!(b.current().as_deref(), Some("fallback"));
        let b = Bearer::new(Some("static".into()), None, Duration::ZERO).unwrap().unwrap();
        assert_eq!(b.current().as_deref(), Some("static"));
        assert!(Bearer::new(None, None, Duration::ZERO).unwrap().is_none());
    }

    #[test]
    fn insecure_and_bad_urls_are_refused() {
        let config = RestConfig {
            server: "https://127.0.0.1:1/x".parse().unwrap(),
            insecure_skip_tls_verify: true,
            ..Default::default()
        };
        let e = Target::new(&config, Options::default(), Backoff::NONE).unwrap_err();
        assert_eq!(e.to_string(), "insecure-skip-tls-verify is not supported: name the server's CA");
        let e = Target::from_url("http://x/", None, Options::default(), Backoff::NONE).unwrap_err();
        assert_eq!(e.to_string(), "invalid url \"http://x/\": scheme must be https");
    }
}
