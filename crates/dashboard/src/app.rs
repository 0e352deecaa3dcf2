//! The dashboard's request handling: security headers on every answer, the Host check, the
//! static assets, sign-in and sign-out, and for every `/api/` request the caller (a session
//! cookie, or an `Authorization: Bearer` header from the auth proxy, used for that request
//! only), the CSRF check of state-changing requests, and the end of a session whose
//! credential the API server refused. The JSON endpoints themselves are in [`crate::api`].

use crate::credentials::Kubeconfig;
use crate::oidc::Oidc;
use crate::serve::{self, Body, Response};
use crate::session::{self, Credential, Session};
use crate::upstream::{Upstream, Who};
use apimachinery::status::{StatusError, StatusReason};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The largest request body taken (YAML of one object).
pub const MAX_REQUEST: usize = 3 << 20;
/// The CSRF header.
pub const CSRF_HEADER: &str = "x-csrf-token";

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// How the dashboard signs people in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The kubeconfig holds a credential: one person, on loopback.
    Desktop,
    /// People sign in (token, OIDC) or come through the auth proxy.
    SignIn,
}

/// Everything a request may need.
pub struct App {
    pub upstream: Upstream,
    pub kubeconfig: Arc<Kubeconfig>,
    pub mode: Mode,
    pub sessions: session::Store,
    pub oidc: Option<Oidc>,
    /// The launch code of desktop mode (its digest), until used.
    pub launch: Mutex<Option<[u8; 32]>>,
    /// Keys the CSRF tokens of requests that carry a bearer header.
    pub csrf_key: [u8; 32],
    /// `https://host:port` of the dashboard.
    pub origin: String,
    pub listen: SocketAddr,
    /// Other host names the dashboard answers to.
    pub hosts: Vec<String>,
    pub audit_log: Option<PathBuf>,
    /// Namespaces offered to everyone (`--namespace`), besides the context's.
    pub namespace_hints: Vec<String>,
    pub discovery: tokio::sync::Mutex<Option<(std::time::Instant, Arc<Vec<crate::access::Resource>>)>>,
}

/// Who is asking, for one request.
pub struct Caller {
    pub who: Who,
    pub session: Option<Arc<Session>>,
    /// The CSRF token the caller must send back.
    pub csrf: String,
    /// How the caller signed in.
    pub kind: &'static str,
}

impl App {
    /// Handles one request; never fails (errors are Status answers).
    pub async fn handle(self: Arc<Self>, req: http::Request<Incoming>, _remote: SocketAddr) -> Response {
        let host = req
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
            .or_else(|| req.uri().authority().map(|a| a.to_string()));
        let mut resp = if !serve::host_allowed(host.as_deref(), self.listen, &self.hosts) {
            tracing::warn!(
                host = host.as_deref().unwrap_or_default(),
                "refused a request for another host name"
            );
            serve::status(&forbidden("the Host header does not name this dashboard"))
        } else {
            self.route(req).await
        };
        secure_headers(resp.headers_mut());
        resp
    }

    async fn route(self: &Arc<Self>, req: http::Request<Incoming>) -> Response {
        let path = req.uri().path().to_string();
        let method = req.method().clone();
        if !path.starts_with("/api/") && !path.starts_with("/oidc/") {
            return if method == http::Method::GET || method == http::Method::HEAD {
                crate::assets::serve(&path)
            } else {
                serve::status(&StatusError::method_not_allowed())
            };
        }
        match (method.as_str(), path.as_str()) {
            ("GET", "/oidc/start") => return self.oidc_start().await,
            ("GET", "/oidc/callback") => return self.oidc_callback(&req).await,
            ("GET", "/api/config") => return self.config(&req).await,
            ("POST", "/api/signin/token") | ("POST", "/api/signin/launch") => {
                if let Err(e) = self.same_origin_json(&req) {
                    return serve::status(&e);
                }
                let body = match read_request(req).await {
                    Ok((_, b)) => b,
                    Err(e) => return serve::status(&e),
                };
                return if path.ends_with("token") {
                    self.signin_token(&body).await
                } else {
                    self.signin_launch(&body)
                };
            }
            _ => {}
        }
        let caller = match self.caller(req.headers()).await {
            Ok(c) => c,
            Err(resp) => return drain_then(req, resp).await,
        };
        if !matches!(method, http::Method::GET | http::Method::HEAD) {
            let presented = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
            if !session::ct_eq(presented.as_bytes(), caller.csrf.as_bytes()) {
                tracing::warn!(%method, %path, session = caller.session.as_ref().map(|s| s.label()).unwrap_or_default(), "refused a request without its CSRF token (value not logged)");
                let refusal = serve::status(&forbidden(
                    "the request's CSRF token is missing or wrong; reload the page",
                ));
                return drain_then(req, refusal).await;
            }
            if caller.session.is_some() {
                if let Err(e) = self.same_origin(&req) {
                    return drain_then(req, serve::status(&e)).await;
                }
            }
        }
        if (method.as_str(), path.as_str()) == ("POST", "/api/signout") {
            return self.signout(&caller);
        }
        let resp = crate::api::dispatch(self, &caller, req).await;
        self.after(&caller, resp)
    }

    /// A session whose credential the API server refused (401) ends: the person signs in again.
    fn after(&self, caller: &Caller, mut resp: Response) -> Response {
        if resp.status() == http::StatusCode::UNAUTHORIZED {
            if let Some(s) =
                caller.session.as_ref().filter(|s| !matches!(s.credential, Credential::Kubeconfig))
            {
                tracing::info!(session = %s.label(), "the API server refused the session's credential; session ended");
                let why = "The API server refused your credential (expired or revoked). Sign in again.";
                self.sessions.end(s, why);
                let e = unauthorized(why);
                resp = serve::status(&e);
                set_header(&mut resp, http::header::SET_COOKIE, &session::clear_cookie());
            }
        }
        resp
    }

    /// The caller of an `/api/` request, or the 401 to answer.
    async fn caller(&self, headers: &http::HeaderMap) -> Result<Caller, Response> {
        if let Some(token) = bearer(headers) {
            let csrf = self.header_csrf(token);
            return Ok(Caller {
                who: Who::Bearer(token.into()),
                session: None,
                csrf,
                kind: "bearer token (auth proxy)",
            });
        }
        let Some(id) = session::cookie(headers, session::COOKIE) else {
            return Err(serve::status(&unauthorized("Sign in first.")));
        };
        let s = match self.sessions.get(id) {
            Ok(s) => s,
            Err(miss) => {
                let message = match &miss {
                    session::Miss::Ended(why) => why.to_string(),
                    _ => {
                        tracing::warn!(why = ?miss, "refused a session cookie that names no live session (value not logged)");
                        "Your session has ended. Sign in again.".to_string()
                    }
                };
                let mut r = serve::status(&unauthorized(&message));
                set_header(&mut r, http::header::SET_COOKIE, &session::clear_cookie());
                return Err(r);
            }
        };
        let who = match &s.credential {
            Credential::Kubeconfig => Who::Kubeconfig,
            Credential::Token(t) => Who::Bearer(t.clone()),
            Credential::Oidc(tokens) => {
                let mut t = tokens.lock().await;
                let refreshed = match &self.oidc {
                    Some(o) => o.refresh_if_needed(&mut t).await.map_err(|e| e.to_string()),
                    None => Err("OpenID Connect is not configured".to_string()),
                };
                if let Ok(true) = refreshed {
                    tracing::info!(session = %s.label(), "refreshed an OIDC sign-in");
                }
                if let Err(message) = refreshed {
                    tracing::info!(session = %s.label(), "the OIDC refresh failed; session ended");
                    self.sessions.end(&s, &message);
                    let mut r = serve::status(&unauthorized(&message));
                    set_header(&mut r, http::header::SET_COOKIE, &session::clear_cookie());
                    return Err(r);
                }
                Who::Bearer(t.id_token.as_str().into())
            }
        };
        Ok(Caller { who, csrf: s.csrf().to_string(), kind: s.credential.kind(), session: Some(s) })
    }

    /// The CSRF token of a bearer-header caller: a keyed digest of the token, so the proxy's
    /// page can be given it and a forged cross-site request cannot know it.
    fn header_csrf(&self, token: &str) -> String {
        let mut h = Sha256::new();
        h.update(self.csrf_key);
        h.update(Sha256::digest(token.as_bytes()));
        let d = h.finalize();
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn same_origin(&self, req: &http::Request<Incoming>) -> Result<(), StatusError> {
        match req.headers().get(http::header::ORIGIN).and_then(|o| o.to_str().ok()) {
            Some(o) if o != self.origin => {
                tracing::warn!(origin = o, "refused a state-changing request from another origin");
                Err(forbidden("the request comes from another origin"))
            }
            _ => Ok(()),
        }
    }

    /// Sign-in requests: same origin (an `Origin` header naming us) and JSON, which a form on
    /// another site cannot send without a CORS preflight the dashboard never grants.
    fn same_origin_json(&self, req: &http::Request<Incoming>) -> Result<(), StatusError> {
        let origin = req.headers().get(http::header::ORIGIN).and_then(|o| o.to_str().ok());
        if origin != Some(self.origin.as_str()) {
            tracing::warn!(origin = origin.unwrap_or_default(), "refused a sign-in from another origin");
            return Err(forbidden("sign-in requests must come from the dashboard's own page"));
        }
        let ct =
            req.headers().get(http::header::CONTENT_TYPE).and_then(|c| c.to_str().ok()).unwrap_or_default();
        if !ct.starts_with("application/json") {
            return Err(StatusError::unsupported_media_type());
        }
        Ok(())
    }

    async fn config(&self, req: &http::Request<Incoming>) -> Response {
        let mut v = serde_json::json!({
            "mode": match self.mode { Mode::Desktop => "desktop", Mode::SignIn => "signin" },
            "oidc": self.oidc.is_some(),
            "signedIn": false,
        });
        if bearer(req.headers()).is_some() || session::cookie(req.headers(), session::COOKIE).is_some() {
            match self.caller(req.headers()).await {
                Ok(c) => {
                    v["signedIn"] = true.into();
                    v["csrfToken"] = c.csrf.into();
                    v["credential"] = c.kind.into();
                    v["proxied"] = c.session.is_none().into();
                }
                Err(r) => {
                    // The session ended: say so, and clear the cookie.
                    let mut out = serve::json(200, &v);
                    if let Some(c) = r.headers().get(http::header::SET_COOKIE) {
                        out.headers_mut().insert(http::header::SET_COOKIE, c.clone());
                    }
                    let body = r.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                    let msg: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                    v["ended"] = msg.get("message").cloned().unwrap_or_default();
                    *out.body_mut() = serve::full(v.to_string());
                    return out;
                }
            }
        }
        serve::json(200, &v)
    }

    async fn signin_token(&self, body: &Bytes) -> Response {
        let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let token = v.get("token").and_then(|t| t.as_str()).map(str::trim).unwrap_or_default();
        if token.is_empty() || token.len() > 16 << 10 || token.chars().any(|c| c.is_control() || c == ' ') {
            return serve::status(&StatusError::bad_request("paste a bearer token"));
        }
        let who = Who::Bearer(token.into());
        match crate::api::self_subject_review(self, &who).await {
            Ok(review) => {
                let (s, id) = self.sessions.create(Credential::Token(token.into()));
                tracing::info!(session = %s.label(), user = review.pointer("/status/userInfo/username").and_then(|u| u.as_str()).unwrap_or_default(), "signed in with a token");
                let mut r = serve::json(200, &serde_json::json!({"signedIn": true}));
                set_header(&mut r, http::header::SET_COOKIE, &session::set_cookie(&id));
                r
            }
            Err(e) if e.code == 401 => {
                serve::status(&unauthorized("The API server did not accept this token."))
            }
            Err(e) => serve::status(&e),
        }
    }

    fn signin_launch(&self, body: &Bytes) -> Response {
        let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let code = v.get("code").and_then(|t| t.as_str()).unwrap_or_default();
        let digest: [u8; 32] = Sha256::digest(code.as_bytes()).into();
        let mut launch = self.launch.lock().unwrap_or_else(|e| e.into_inner());
        let ok = self.mode == Mode::Desktop && launch.as_ref().is_some_and(|d| session::ct_eq(d, &digest));
        if !ok {
            tracing::warn!("refused a launch code (used already, or wrong; value not logged)");
            return serve::status(&unauthorized(
                "This launch link was used already or is wrong. Restart `kubeward dashboard` for a new one.",
            ));
        }
        *launch = None;
        let (s, id) = self.sessions.create(Credential::Kubeconfig);
        tracing::info!(session = %s.label(), "signed in with the launch link");
        let mut r = serve::json(200, &serde_json::json!({"signedIn": true}));
        set_header(&mut r, http::header::SET_COOKIE, &session::set_cookie(&id));
        r
    }

    fn signout(&self, caller: &Caller) -> Response {
        if let Some(s) = &caller.session {
            self.sessions.remove(s);
            tracing::info!(session = %s.label(), "signed out");
        }
        let mut r = serve::json(200, &serde_json::json!({"signedIn": false}));
        set_header(&mut r, http::header::SET_COOKIE, &session::clear_cookie());
        r
    }

    async fn oidc_start(&self) -> Response {
        let Some(oidc) = &self.oidc else { return serve::status(&StatusError::not_found_path()) };
        match oidc.start().await {
            Ok((url, binding)) => {
                let mut r = serve::respond(303, "text/plain", "");
                set_header(&mut r, http::header::LOCATION, &url);
                let cookie = format!(
                    "{}={binding}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=600",
                    crate::oidc::STATE_COOKIE
                );
                set_header(&mut r, http::header::SET_COOKIE, &cookie);
                r
            }
            Err(e) => signin_page_error(&e.to_string()),
        }
    }

    async fn oidc_callback(&self, req: &http::Request<Incoming>) -> Response {
        let Some(oidc) = &self.oidc else { return serve::status(&StatusError::not_found_path()) };
        let binding = session::cookie(req.headers(), crate::oidc::STATE_COOKIE);
        let query = req.uri().query().unwrap_or_default();
        match oidc.finish(query, binding).await {
            Ok(tokens) => {
                let who = Who::Bearer(tokens.id_token.as_str().into());
                if let Err(e) = crate::api::self_subject_review(self, &who).await {
                    return signin_page_error(&format!(
                        "The API server did not accept the sign-in: {}",
                        e.message
                    ));
                }
                let (s, id) = self.sessions.create(Credential::Oidc(tokio::sync::Mutex::new(tokens)));
                tracing::info!(session = %s.label(), "signed in with OpenID Connect");
                let mut r = serve::respond(303, "text/plain", "");
                set_header(&mut r, http::header::LOCATION, "/");
                r.headers_mut().append(
                    http::header::SET_COOKIE,
                    http::HeaderValue::from_str(&session::set_cookie(&id))
                        .unwrap_or(http::HeaderValue::from_static("")),
                );
                r.headers_mut().append(
                    http::header::SET_COOKIE,
                    http::HeaderValue::from_str(&format!(
                        "{}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0",
                        crate::oidc::STATE_COOKIE
                    ))
                    .unwrap_or(http::HeaderValue::from_static("")),
                );
                r
            }
            Err(e) => {
                tracing::warn!(error = %e, "an OIDC sign-in failed");
                signin_page_error(&e.to_string())
            }
        }
    }
}

/// The bearer token of an `Authorization` header.
pub fn bearer(headers: &http::HeaderMap) -> Option<&str> {
    let v = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Reads a request's body whole (at most [`MAX_REQUEST`]).
/// Answers `resp` to a request refused before its body was read, after reading that body
/// (at most [`MAX_REQUEST`] bytes, for at most 2 s): a server that closes a connection with
/// unread bytes makes the kernel reset it, and the client may then lose the refusal itself
/// (curl saw no status at all under load).
async fn drain_then(req: http::Request<Incoming>, resp: Response) -> Response {
    let mut body = req.into_body();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async {
        let mut seen = 0usize;
        while let Some(Ok(frame)) = body.frame().await {
            seen += frame.data_ref().map_or(0, |d| d.len());
            if seen > MAX_REQUEST {
                break;
            }
        }
    })
    .await;
    resp
}

pub async fn read_request(
    req: http::Request<Incoming>,
) -> Result<(http::request::Parts, Bytes), StatusError> {
    let (parts, body) = req.into_parts();
    let bytes = http_body_util::Limited::new(body, MAX_REQUEST)
        .collect()
        .await
        .map_err(|_| StatusError::request_entity_too_large("the request is larger than 3 MiB"))?
        .to_bytes();
    Ok((parts, bytes))
}

pub fn unauthorized(message: &str) -> StatusError {
    let mut e = StatusError::unauthorized(message);
    e.message = message.to_string();
    e
}

pub fn forbidden(message: &str) -> StatusError {
    let mut e = StatusError::bad_request(message);
    e.code = 403;
    e.reason = StatusReason::Forbidden;
    e
}

pub fn set_header(r: &mut Response, name: http::HeaderName, value: &str) {
    if let Ok(v) = http::HeaderValue::from_str(value) {
        r.headers_mut().insert(name, v);
    }
}

fn secure_headers(h: &mut http::HeaderMap) {
    let set = |h: &mut http::HeaderMap, k: &'static str, v: &'static str| {
        h.insert(http::HeaderName::from_static(k), http::HeaderValue::from_static(v));
    };
    set(h, "content-security-policy", CSP);
    set(h, "x-frame-options", "DENY");
    set(h, "x-content-type-options", "nosniff");
    set(h, "referrer-policy", "no-referrer");
    set(h, "cross-origin-opener-policy", "same-origin");
    set(h, "cross-origin-resource-policy", "same-origin");
    if !h.contains_key(http::header::CACHE_CONTROL) {
        set(h, "cache-control", "no-store");
    }
}

fn signin_page_error(message: &str) -> Response {
    // Back to the page, which shows the message (no script or style inline).
    let mut r = serve::respond(303, "text/plain", "");
    let q = authn::oidc::http::form_urlencode(&[("signin-error", message)]);
    set_header(&mut r, http::header::LOCATION, &format!("/#{q}"));
    r
}

/// A body for a request passed on, read whole.
pub fn body_of(b: Bytes) -> Body {
    serve::full(b)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bearer_headers_are_read_strictly() {
        let mut h = http::HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(http::header::AUTHORIZATION, "Bearer abc".parse().unwrap());
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(http::header::AUTHORIZATION, "bearer  xyz ".parse().unwrap());
        assert_eq!(bearer(&h), Some("xyz"));
        h.insert(http::header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&h), None);
        h.insert(http::header::AUTHORIZATION, "Bearer ".parse().unwrap());
        assert_eq!(bearer(&h), None);
    }

    #[test]
    fn every_answer_gets_the_security_headers() {
        let mut h = http::HeaderMap::new();
        secure_headers(&mut h);
        let csp = h.get("content-security-policy").unwrap().to_str().unwrap();
        for part in ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"]
        {
            assert!(csp.contains(part), "{csp}");
        }
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
        assert_eq!(h.get("x-frame-options").unwrap(), "DENY");
        assert_eq!(h.get("cache-control").unwrap(), "no-store");
    }
}
