//! `kubeward auth-proxy`: kauthproxy's job. A reverse proxy on loopback in front of the
//! dashboard (or any upstream that takes a bearer token) that adds the person's
//! `Authorization: Bearer` header from their kubeconfig's credential (exec plugin, token,
//! token file, the `oidc` auth provider), renews the token before it expires, opens the
//! browser unless told not to, and stops cleanly on SIGINT/SIGTERM.
//!
//! Only its own host names are served (a page whose name resolves to 127.0.0.1 would
//! otherwise ride on the person's credential: DNS rebinding), and a state-changing request
//! from another origin is refused before the token is added.

use crate::credentials::{self, TokenSource, REFRESH_BEFORE};
use crate::serve::{self, Response};
use crate::StartError;
use apimachinery::status::StatusError;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Headers that belong to one connection, not passed on (RFC 9110 §7.6.1).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// `kubeward auth-proxy`'s settings.
#[derive(Debug, Clone)]
pub struct ProxyOptions {
    pub kubeconfig: PathBuf,
    pub context: Option<String>,
    /// Where requests go (`https://127.0.0.1:8443`, say).
    pub upstream: String,
    /// PEM CA bundle trusted for the upstream (else the system roots).
    pub upstream_ca_file: Option<PathBuf>,
    pub listen: SocketAddr,
    pub open_browser: bool,
}

struct Proxy {
    base: String,
    client: outbound::Client,
    tokens: Arc<TokenSource>,
    listen: SocketAddr,
    origin: String,
}

/// Runs the proxy until `shutdown` completes; `on_ready` gets its URL.
pub async fn run_auth_proxy(
    opts: ProxyOptions,
    on_ready: impl FnOnce(&str),
    shutdown: impl Future<Output = ()>,
) -> Result<(), StartError> {
    if !opts.listen.ip().is_loopback() {
        return Err(StartError::Flags(format!(
            "the auth proxy adds your credential to every request: it listens on loopback only, not {}",
            opts.listen
        )));
    }
    let kc = credentials::load(&opts.kubeconfig, opts.context.as_deref())?;
    let Some(tokens) = kc.tokens else {
        // A client certificate proves its holder only on a TLS connection signed with its key.
        // Kubernetes offers no way for another party to act as that user without the key:
        // impersonation (`Impersonate-User`) and the authenticating front proxy
        // (`--requestheader-*`) both need the dashboard to hold a credential of its own that
        // may become anyone, and no API exchanges a client certificate for a bearer token of
        // the same user (TokenRequest issues tokens for service accounts only). So the person
        // runs the dashboard itself with the kubeconfig (desktop mode).
        let why = if kc.rest.client_cert.is_some() {
            "the kubeconfig's credential is a client certificate, which cannot be put in a header \
             (Kubernetes has no way to lend it without its key); run `kubeward dashboard --kubeconfig` \
             with it instead (desktop mode)"
        } else {
            "the kubeconfig's user has no credential"
        };
        return Err(StartError::Flags(why.into()));
    };
    let tokens = Arc::new(tokens);
    // The first token now: a plugin that cannot sign in fails the start, not the first page.
    tokens.token().await?;
    let upstream: http::Uri =
        opts.upstream.parse().map_err(|e| StartError::Flags(format!("--upstream: {e}")))?;
    let ca = match &opts.upstream_ca_file {
        Some(p) => Some(std::fs::read(p).map_err(|e| StartError::Setup(format!("{}: {e}", p.display())))?),
        None => None,
    };
    let tls = match upstream.scheme_str() {
        Some("https") => {
            outbound::tls::client_config(ca.as_deref(), None).map_err(|e| StartError::Setup(e.to_string()))?
        }
        Some("http") if upstream.host().is_some_and(is_loopback_host) => {
            outbound::tls::client_config(ca.as_deref(), None).map_err(|e| StartError::Setup(e.to_string()))?
        }
        _ => return Err(StartError::Flags("--upstream must be an https URL (or http on loopback)".into())),
    };
    let options =
        outbound::Options { timeout: Duration::from_secs(30), max_response_bytes: crate::upstream::MAX_BODY };
    let client = outbound::Client::new(tls, None, options).map_err(|e| StartError::Setup(e.to_string()))?;
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|e| StartError::Setup(format!("listening on {}: {e}", opts.listen)))?;
    let addr = listener.local_addr().map_err(|e| StartError::Setup(e.to_string()))?;
    let origin = format!("http://127.0.0.1:{}", addr.port());
    let proxy = Arc::new(Proxy {
        base: opts.upstream.trim_end_matches('/').to_string(),
        client,
        tokens: tokens.clone(),
        listen: addr,
        origin: origin.clone(),
    });
    let renew = tokio::spawn(renew_ahead(tokens));
    let url = format!("{origin}/");
    on_ready(&url);
    if opts.open_browser {
        serve::open_browser(&url);
    }
    let handler = move |req, _remote| proxy.clone().handle(req);
    serve::serve(listener, None, handler, shutdown).await;
    renew.abort();
    tracing::info!("auth proxy stopped");
    Ok(())
}

fn is_loopback_host(h: &str) -> bool {
    h == "localhost"
        || h.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Renews the token ahead of its expiry, so no request waits on the plugin.
async fn renew_ahead(tokens: Arc<TokenSource>) {
    loop {
        let wait = match tokens.expires().await {
            Some(at) => at.saturating_duration_since(Instant::now()).saturating_sub(REFRESH_BEFORE),
            None => Duration::from_secs(30),
        };
        tokio::time::sleep(wait.max(Duration::from_secs(1))).await;
        if let Err(e) = tokens.token().await {
            tracing::warn!(error = %e, "renewing the token failed; retrying");
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    }
}

impl Proxy {
    async fn handle(self: Arc<Self>, req: http::Request<Incoming>) -> Response {
        let host = req.headers().get(http::header::HOST).and_then(|h| h.to_str().ok()).map(str::to_string);
        if !serve::host_allowed(host.as_deref(), self.listen, &[]) {
            tracing::warn!(
                host = host.as_deref().unwrap_or_default(),
                "refused a request for another host name"
            );
            return serve::respond(403, "text/plain", "this proxy answers to its loopback address only\n");
        }
        let safe = matches!(*req.method(), http::Method::GET | http::Method::HEAD | http::Method::OPTIONS);
        let origin = req.headers().get(http::header::ORIGIN).and_then(|o| o.to_str().ok());
        if !safe
            && origin.is_some_and(|o| o != self.origin && o != self.origin.replace("127.0.0.1", "localhost"))
        {
            tracing::warn!(
                origin = origin.unwrap_or_default(),
                "refused a state-changing request from another origin"
            );
            return serve::respond(403, "text/plain", "cross-origin request refused\n");
        }
        match self.forward(req).await {
            Ok(r) => r,
            Err(e) => serve::status(&e),
        }
    }

    async fn forward(&self, req: http::Request<Incoming>) -> Result<Response, StatusError> {
        let (parts, body) = req.into_parts();
        let body = http_body_util::Limited::new(body, crate::app::MAX_REQUEST)
            .collect()
            .await
            .map_err(|_| StatusError::request_entity_too_large("the request is larger than 3 MiB"))?
            .to_bytes();
        let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let mut out = http::Request::new(body);
        *out.method_mut() = parts.method;
        *out.uri_mut() =
            format!("{}{path}", self.base).parse().map_err(|_| StatusError::bad_request("invalid path"))?;
        for (name, value) in parts.headers.iter() {
            let n = name.as_str();
            if HOP_BY_HOP.contains(&n) || n == "host" || n == "authorization" {
                continue;
            }
            out.headers_mut().append(name.clone(), value.clone());
        }
        let token = self.tokens.token().await.map_err(|e| {
            tracing::warn!(error = %e, "no token to add");
            StatusError::unauthorized(&format!("the auth proxy has no token: {e}"))
        })?;
        let mut auth = http::HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| StatusError::unauthorized("the token is not a header value"))?;
        auth.set_sensitive(true);
        out.headers_mut().insert(http::header::AUTHORIZATION, auth);
        let resp =
            self.client.send_streaming(out).await.map_err(|e| {
                StatusError::service_unavailable(format!("the upstream cannot be reached: {e}"))
            })?;
        if resp.status() == http::StatusCode::UNAUTHORIZED {
            self.tokens.refused().await;
        }
        let (mut parts, body) = resp.into_parts();
        for h in HOP_BY_HOP {
            parts.headers.remove(h);
        }
        Ok(http::Response::from_parts(parts, serve::relay(body)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_upstreams_are_loopback_only() {
        assert!(is_loopback_host("127.0.0.1"));
        assert!(is_loopback_host("localhost"));
        assert!(is_loopback_host("[::1]"));
        assert!(!is_loopback_host("10.0.0.1"));
        assert!(!is_loopback_host("example.com"));
    }
}
