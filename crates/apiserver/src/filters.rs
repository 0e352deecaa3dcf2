//! The handler chain, one small async step per filter in kube-apiserver's order
//! (`DefaultBuildHandlerChain`): panic recovery, RequestInfo, audit record, content
//! negotiation, in-flight limit, authentication, impersonation, authorization, then the
//! REST or non-resource handlers. Each step either passes on what the next one needs or
//! ends the request with a Status; [`chain`] reads top to bottom in request order.

use crate::audit::Record;
use crate::context::{ConnInfo, RequestContext};
use crate::negotiate::{self, Output};
use crate::response::{self, Body};
use crate::state::{ApiState, State};
use crate::{nonresource, rest};
use apimachinery::{Attributes, GroupResource, RequestInfo, StatusError};
use futures::FutureExt;
use http::{Request, Response};
use hyper::body::Incoming;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::SemaphorePermit;

/// Serves one request: the chain under panic recovery, then the audit event.
pub async fn handle(state: State, conn: Arc<ConnInfo>, req: Request<Incoming>) -> Response<Body> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let audit_state = state.clone();
    let result = AssertUnwindSafe(chain(state, conn, req)).catch_unwind().await;
    let (resp, record) = match result {
        Ok(r) => r,
        Err(_) => {
            tracing::error!(%method, %path, "handler panicked");
            let e = StatusError::internal("the server hit an unexpected error");
            (response::status_error(&e, Output::Json), None)
        }
    };
    let code = resp.status().as_u16();
    if let Some(rec) = record {
        if let Some(log) = &audit_state.audit {
            log.emit(&rec, code);
        }
        let user = rec.user.as_ref().map(|u| u.name.as_str()).unwrap_or_default();
        tracing::debug!(%method, %path, %user, code, micros = started.elapsed().as_micros() as u64, "request");
    }
    resp
}

/// The filters in request order; an `Err` from a step is answered at once.
async fn chain(
    state: State,
    conn: Arc<ConnInfo>,
    req: Request<Incoming>,
) -> (Response<Body>, Option<Record>) {
    let info = RequestInfo::new(req.method().as_str(), req.uri().path(), req.uri().query());
    let mut rec = Record::start(&info, &req, conn.remote.ip());
    let output = match negotiate(&info, &req) {
        Ok(o) => o,
        Err(e) => return early(req, &e, Output::Json, rec).await,
    };
    let limiter = state.clone();
    let _permit = match max_in_flight(&limiter, &info) {
        Ok(p) => p,
        Err(e) => return early(req, &e, output, rec).await,
    };
    let who = match authenticate(&state, &conn, &req).await {
        Ok(w) => w,
        Err(e) => return early(req, &e, output, rec).await,
    };
    rec.user = Some(who.user().clone());
    let who = match impersonate(&state, &req, who).await {
        Ok(w) => w,
        Err(e) => return early(req, &e, output, rec).await,
    };
    if who.impersonator().is_some() {
        rec.impersonated = Some(who.user().clone());
    }
    let authorized = match authorize(&state, &who, &info, &mut rec).await {
        Ok(a) => a,
        Err(e) => return early(req, &e, output, rec).await,
    };
    let user_agent =
        req.headers().get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let ctx = RequestContext::new(state, info, output, authorized)
        .with_user_agent(user_agent)
        .with_notes(Arc::clone(&rec.notes));
    let resp = if ctx.info.is_resource_request {
        rest::dispatch(ctx, req).await
    } else {
        nonresource::dispatch(ctx, req).await
    };
    (resp, Some(rec))
}

/// The response format asked for in `Accept`; 406 when none can be served. Non-resource
/// documents (OpenAPI v2 protobuf, discovery) negotiate for themselves.
fn negotiate(info: &RequestInfo, req: &Request<Incoming>) -> Result<Output, StatusError> {
    let accept = req.headers().get(http::header::ACCEPT).and_then(|v| v.to_str().ok());
    negotiate::output(accept).or((!info.is_resource_request).then_some(Output::Json)).ok_or_else(|| {
        StatusError::not_acceptable(format!(
            "only the following media types are accepted: {}",
            negotiate::ACCEPTED_MEDIA_TYPES
        ))
    })
}

/// kube's `--max-requests-inflight`: a slot for every request but long-running ones (watch).
fn max_in_flight<'a>(
    state: &'a ApiState,
    info: &RequestInfo,
) -> Result<Option<SemaphorePermit<'a>>, StatusError> {
    if info.verb == "watch" {
        return Ok(None);
    }
    state
        .inflight
        .try_acquire()
        .map(Some)
        .map_err(|_| StatusError::too_many_requests("Too many requests, please try again later.", 1))
}

/// The authenticator union: a verified identity, or 401.
async fn authenticate(
    state: &ApiState,
    conn: &ConnInfo,
    req: &Request<Incoming>,
) -> Result<authn::Authenticated, StatusError> {
    let auth_req =
        authn::AuthRequest::new(req.headers(), conn.peer_certificates.as_deref(), req.uri().path());
    state.authn.authenticate(&auth_req).await.map_err(|why| {
        if let authn::Unauthenticated::Failed(reason) = why {
            tracing::info!(remote = %conn.remote, %reason, "authentication failed");
        }
        StatusError::unauthorized("Unauthorized")
    })
}

/// `Impersonate-*` headers: each attribute authorized (awaited like every authorization).
async fn impersonate(
    state: &ApiState,
    req: &Request<Incoming>,
    who: authn::Authenticated,
) -> Result<authn::Authenticated, StatusError> {
    authn::impersonation::impersonate(&ChainChecks(&state.authorizer), req.headers(), who).await
}

/// The authorizer chain: the proof that the request may proceed, or kube's 403 (500 when
/// an authorizer failed and none allowed). The decision goes to the audit record.
async fn authorize(
    state: &ApiState,
    who: &authn::Authenticated,
    info: &RequestInfo,
    rec: &mut Record,
) -> Result<authz::Authorized, StatusError> {
    match state.authorizer.authorize_request(who, info).await {
        Ok(authorized) => {
            rec.decision = Some((true, authorized.reason().to_string()));
            Ok(authorized)
        }
        Err(verdict) => {
            rec.decision = Some((false, verdict.decision.reason().to_string()));
            let attrs = Attributes::from_request(who.user().clone(), info);
            Err(refusal(&attrs, &verdict))
        }
    }
}

/// The Status for a request the chain did not allow.
fn refusal(attrs: &Attributes, verdict: &authz::Verdict) -> StatusError {
    if let Some(err) = verdict.error() {
        // An authorizer failed and none allowed: kube answers 500, not 403.
        tracing::warn!(error = %err, "authorization failed");
        return StatusError::internal(&err);
    }
    forbidden(attrs, verdict.decision.reason())
}

/// The impersonation checks, asked of the server's authorizer chain.
struct ChainChecks<'a>(&'a authz::AuthorizerChain);

#[async_trait::async_trait]
impl authn::impersonation::ImpersonationAuthorizer for ChainChecks<'_> {
    async fn check(&self, attrs: &Attributes) -> Result<(), StatusError> {
        let verdict = self.0.authorize_async(attrs).await;
        if verdict.decision.is_allowed() {
            return Ok(());
        }
        Err(refusal(attrs, &verdict))
    }
}

/// Largest body read and discarded before an early error answer.
const DRAIN_LIMIT: usize = 64 * 1024;
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Answers before the handler ran (401, 403, 429, ...). A small request body is read and
/// discarded first (bounded in size and time), so an HTTP/2 client receives the answer
/// instead of a stream reset while it is still sending.
async fn early(
    req: Request<Incoming>,
    err: &StatusError,
    output: Output,
    rec: Record,
) -> (Response<Body>, Option<Record>) {
    use http_body_util::BodyExt;
    use hyper::body::Body as _;
    if !req.body().is_end_stream() {
        let small = req.body().size_hint().upper().is_some_and(|n| n as usize <= DRAIN_LIMIT);
        if small {
            let body = http_body_util::Limited::new(req.into_body(), DRAIN_LIMIT);
            let _ = tokio::time::timeout(DRAIN_TIMEOUT, body.collect()).await;
        }
    }
    (response::status_error(err, output), Some(rec))
}

/// kube's Forbidden Status for a refused request; the authorizers' reason follows `: `.
pub fn forbidden(attrs: &Attributes, reason: &str) -> StatusError {
    let mut msg = authz::forbidden::forbidden_message(attrs);
    if !reason.is_empty() {
        msg = format!("{msg}: {reason}");
    }
    if attrs.resource_request {
        StatusError::forbidden(
            &GroupResource::new(attrs.api_group.clone(), attrs.resource.clone()),
            &attrs.name,
            &msg,
        )
    } else {
        StatusError::forbidden(&GroupResource::default(), "", &msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use authn::impersonation::ImpersonationAuthorizer;

    #[tokio::test]
    async fn refused_impersonation_has_kube_message() {
        let mut deny = authz::AuthorizerChain::new();
        deny.push(Arc::new(authz::AlwaysDeny));
        let attrs = Attributes {
            user: apimachinery::UserInfo::new("bob", vec![]),
            verb: "impersonate".into(),
            resource_request: true,
            resource: "users".into(),
            name: "jane".into(),
            ..Default::default()
        };
        let e = ChainChecks(&deny).check(&attrs).await.unwrap_err();
        assert_eq!(e.code, 403);
        assert!(e.message.starts_with("users \"jane\" is forbidden: User \"bob\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope"), "{}", e.message);
        let mut allow = authz::AuthorizerChain::new();
        allow.push(Arc::new(authz::AlwaysAllow));
        assert!(ChainChecks(&allow).check(&attrs).await.is_ok());
    }
}
