//! The pooled HTTP(S) client: hyper-util's client over hyper-rustls, one rustls
//! configuration, connections kept alive and reused (HTTP/1.1, or HTTP/2 when the server
//! picks it by ALPN). One call is one attempt, bounded by a timeout that covers connecting,
//! the exchange and the whole body, and by a limit on the body's size.

use crate::error::{classify, ConfigError, Error, ErrorKind};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioTimer;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// kube's webhook request timeout (`defaultRequestTimeout`), also used for OIDC providers.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest response body read by default (kube's limit for admission webhook answers).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 3 * 1024 * 1024;
/// How long an idle connection stays in the pool (Go's `http.Transport` default).
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Limits of each call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// For one attempt: connecting, TLS, request, response and its whole body.
    pub timeout: Duration,
    /// A larger response body fails the call.
    pub max_response_bytes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self { timeout: DEFAULT_TIMEOUT, max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES }
    }
}

/// An answer, body read whole.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: http::StatusCode,
    pub version: http::Version,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

type Pool = hyper_util::client::legacy::Client<OnRuntime<HttpsConnector<HttpConnector>>, Full<Bytes>>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Pooled connections belong to the runtime the client was built on (else to the caller's):
/// they are opened (sockets register with that runtime's reactor) and driven there. A pooled
/// connection opened by a call from another runtime, one that runs only while it waits on a
/// call, is then still usable from every runtime. As the pool's executor (`inner: ()`) it
/// spawns the connection tasks; as its connector, it runs the connect.
#[derive(Clone)]
struct OnRuntime<C> {
    inner: C,
    runtime: Option<tokio::runtime::Handle>,
}

impl<F> hyper::rt::Executor<F> for OnRuntime<()>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        match &self.runtime {
            Some(handle) => drop(handle.spawn(fut)),
            None => drop(tokio::spawn(fut)),
        }
    }
}

impl<C> tower_service::Service<http::Uri> for OnRuntime<C>
where
    C: tower_service::Service<http::Uri>,
    C::Future: Send + 'static,
    C::Response: Send + 'static,
    C::Error: Into<BoxError>,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<C::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let connecting = self.inner.call(uri);
        match &self.runtime {
            Some(handle) => {
                let task = handle.spawn(async move { connecting.await.map_err(Into::into) });
                Box::pin(async move { task.await.map_err(|e| Box::new(e) as BoxError)? })
            }
            None => Box::pin(async move { connecting.await.map_err(Into::into) }),
        }
    }
}

/// A pooled client with one TLS configuration; cheap to clone (clones share the pool).
#[derive(Clone)]
pub struct Client {
    pool: Pool,
    options: Options,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("options", &self.options).finish()
    }
}

impl Client {
    /// A client for `http` and `https` URLs, verifying servers with `tls`. `server_name`
    /// replaces the URL's host as the name checked in the certificate (and sent as SNI).
    pub fn new(
        tls: Arc<rustls::ClientConfig>,
        server_name: Option<&str>,
        options: Options,
    ) -> Result<Self, ConfigError> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        let mut builder =
            hyper_rustls::HttpsConnectorBuilder::new().with_tls_config((*tls).clone()).https_or_http();
        if let Some(name) = server_name {
            let name = rustls::pki_types::ServerName::try_from(name.to_string())
                .map_err(|e| ConfigError::Tls(format!("tls-server-name `{name}`: {e}")))?;
            builder = builder.with_server_name_resolver(hyper_rustls::FixedServerNameResolver::new(name));
        }
        let connector = builder.enable_http1().enable_http2().wrap_connector(http);
        let runtime = tokio::runtime::Handle::try_current().ok();
        let connector = OnRuntime { inner: connector, runtime: runtime.clone() };
        let pool = hyper_util::client::legacy::Client::builder(OnRuntime { inner: (), runtime })
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .timer(TokioTimer::new())
            .build(connector);
        Ok(Self { pool, options })
    }

    /// The limits of each call.
    pub fn options(&self) -> Options {
        self.options
    }

    /// One attempt of `req` (absolute URL), no retry; any HTTP status is an answer.
    pub async fn send(&self, req: http::Request<Bytes>) -> Result<Response, Error> {
        let url = req.uri().to_string();
        self.send_as(req, &url).await
    }

    /// [`Client::send`], naming the URL as `url` in errors.
    pub(crate) async fn send_as(&self, req: http::Request<Bytes>, url: &str) -> Result<Response, Error> {
        let method = req.method().clone();
        let fail = |kind| Error::new(&method, url, kind);
        let attempt = self.exchange(req.map(Full::new));
        match tokio::time::timeout(self.options.timeout, attempt).await {
            Ok(outcome) => outcome.map_err(fail),
            Err(_) => Err(fail(ErrorKind::Timeout)),
        }
    }

    /// One attempt of `req` (absolute URL), no retry, whose body the caller reads as it
    /// comes (a watch, a long list): the timeout covers the answer's head only, and the
    /// body has no size limit.
    pub async fn send_streaming(
        &self,
        req: http::Request<Bytes>,
    ) -> Result<http::Response<hyper::body::Incoming>, Error> {
        let url = req.uri().to_string();
        let method = req.method().clone();
        let authority = req.uri().authority().map(|a| a.to_string()).unwrap_or_default();
        let fail = |kind| Error::new(&method, &url, kind);
        match tokio::time::timeout(self.options.timeout, self.pool.request(req.map(Full::new))).await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(e)) => Err(fail(classify(&e, &authority))),
            Err(_) => Err(fail(ErrorKind::Timeout)),
        }
    }

    async fn exchange(&self, req: http::Request<Full<Bytes>>) -> Result<Response, ErrorKind> {
        let authority = req.uri().authority().map(|a| a.to_string()).unwrap_or_default();
        let resp = self.pool.request(req).await.map_err(|e| classify(&e, &authority))?;
        let limit = self.options.max_response_bytes;
        let too_large = ErrorKind::TooLarge { limit };
        let declared = resp.headers().get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok());
        if declared.and_then(|v| v.parse::<u64>().ok()).is_some_and(|n| n > limit as u64) {
            return Err(too_large);
        }
        let (parts, body) = resp.into_parts();
        let body = match Limited::new(body, limit).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => return Err(too_large),
            Err(e) => {
                let reset = e
                    .downcast_ref::<hyper::Error>()
                    .and_then(|h| std::error::Error::source(h))
                    .and_then(|s| s.downcast_ref::<std::io::Error>())
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionReset);
                return Err(ErrorKind::Transport { cause: format!("reading the response: {e}"), reset });
            }
        };
        tracing::trace!(status = %parts.status, version = ?parts.version, bytes = body.len(), "outbound answer");
        Ok(Response { status: parts.status, version: parts.version, headers: parts.headers, body })
    }
}
