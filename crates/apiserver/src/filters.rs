//! The handler chain, one small async step per filter in kube-apiserver's order
//! (`DefaultBuildHandlerChain`): panic recovery, RequestInfo, audit record, content
//! negotiation, the request deadline, authentication, impersonation, a seat in flight
//! (limits/), authorization, then the REST or non-resource handlers. Each step either passes
//! on what the next one needs or ends the request with a Status; [`chain`] reads top to
//! bottom in request order. The audit record rides along (`audit_flow.rs` emits its events).

use crate::audit::Record;
use crate::audit_flow;
use crate::context::{ConnInfo, RequestContext};
use crate::negotiate::{self, Output};
use crate::response::{self, Body};
use crate::state::{ApiState, State};
use crate::{limits, nonresource, rest};
use apimachinery::{Attributes, GroupResource, RequestInfo, StatusError};
use futures::FutureExt;
use http::{Request, Response};
use hyper::body::Incoming;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

/// Serves one request: the chain under panic recovery, then the audit event and metrics.
/// Returns the answer and the seat in flight it took, which the caller holds until the
/// answer has been sent (kube holds it while writing).
///
/// The audit record exists only when an audit backend is configured: without one the chain
/// builds nothing for auditing (no record, no copies of the request's or user's data); what
/// the answer's bookkeeping needs (metric labels, the Audit-ID) is taken before the chain.
pub async fn handle(
    state: State,
    conn: Arc<ConnInfo>,
    req: Request<Incoming>,
) -> (Response<Body>, Option<limits::inflight::Seat>) {
    let started = Instant::now();
    let info = Arc::new(RequestInfo::new(req.method().as_str(), req.uri().path(), req.uri().query()));
    let audit_id = audit_flow::audit_id(req.headers());
    let apply = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/apply-patch"));
    let labels = crate::metrics::request_labels(&state, &info, req.method(), apply);
    let long_running = crate::limits::Limits::is_long_running(&info);
    let mut trail = Trail {
        seat: None,
        audit: state
            .audit
            .as_ref()
            .map(|_| Record::start(&info, audit_id.to_str().unwrap_or_default(), &req, conn.remote.ip())),
        user: None,
    };
    // Kept for the log line of a panic (the RequestInfo goes to the handler); shares the bytes.
    let uri = req.uri().clone();
    let result = AssertUnwindSafe(chain(&state, &conn, req, info, &mut trail)).catch_unwind().await;
    let Trail { seat, audit, user } = trail;
    let mut resp = match result {
        Ok(r) => r,
        Err(panic) => {
            tracing::error!(verb = labels.verb, path = uri.path(), "handler panicked");
            let what = audit_flow::panic_text(panic.as_ref());
            drop(panic);
            if let (Some(auditor), Some(mut rec)) = (&state.audit, audit) {
                audit_flow::panicked(auditor, &mut rec, what).await;
            }
            let e = StatusError::internal("the server hit an unexpected error");
            let mut resp = response::status_error(&e, Output::Json);
            resp.headers_mut().insert(audit_flow::AUDIT_ID, audit_id);
            state.metrics.observe(labels, 500, started.elapsed(), false);
            return (resp, seat);
        }
    };
    resp.headers_mut().insert(audit_flow::AUDIT_ID, audit_id);
    let code = resp.status().as_u16();
    state.metrics.observe(labels, code, started.elapsed(), long_running);
    tracing::debug!(
        verb = labels.verb,
        path = uri.path(),
        user = user.as_deref().unwrap_or_default(),
        code,
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    if let Some(rec) = audit {
        return (audit_flow::respond(state, rec, resp).await, seat);
    }
    (resp, seat)
}

/// What the chain leaves for the answer's bookkeeping.
struct Trail {
    /// The seat in flight taken, held until the answer has been sent.
    seat: Option<limits::inflight::Seat>,
    /// The audit record; `None` when no audit backend is configured.
    audit: Option<Record>,
    /// The authenticated user's name, kept only while the debug log is on.
    user: Option<String>,
}

/// The filters in request order; an `Err` from a step is answered at once. The deadline
/// (`--request-timeout`, or a shorter `?timeout=`) covers everything from authentication
/// to the handler's answer; past it the request gets kube's 504.
async fn chain(
    state: &State,
    conn: &ConnInfo,
    req: Request<Incoming>,
    info: Arc<RequestInfo>,
    trail: &mut Trail,
) -> Response<Body> {
    let output = match negotiate(&info, &req) {
        Ok(o) => o,
        Err(e) => return early(req, &e, Output::Json).await,
    };
    let deadline = match state.limits.deadline(&info) {
        Ok(d) => d,
        Err(e) => return early(req, &e, output).await,
    };
    let serving = serve(state, conn, req, info, output, trail);
    match deadline {
        None => serving.await,
        Some(d) => match tokio::time::timeout(d, serving).await {
            Ok(resp) => resp,
            Err(_) => response::status_error(&limits::deadline_exceeded(), output),
        },
    }
}

/// Authentication, impersonation, a seat in flight (left in the trail with the answer),
/// authorization, then the handler.
async fn serve(
    state: &State,
    conn: &ConnInfo,
    req: Request<Incoming>,
    info: Arc<RequestInfo>,
    output: Output,
    trail: &mut Trail,
) -> Response<Body> {
    let who = match authenticate(state, conn, &req).await {
        Ok(w) => w,
        Err(e) => {
            if let Some(rec) = &mut trail.audit {
                let has_cert = conn.peer_certificates.as_ref().is_some_and(|c| !c.is_empty());
                rec.authentication_failed =
                    Some(crate::audit::attempted_auth_methods(req.headers(), &info.query, has_cert));
            }
            return early(req, &e, output).await;
        }
    };
    if tracing::enabled!(tracing::Level::DEBUG) {
        trail.user = Some(who.user().name.clone());
    }
    if let (Some(auditor), Some(rec)) = (&state.audit, &mut trail.audit) {
        rec.set_user(who.user());
        if !auditor.received(rec).await {
            return early(req, &StatusError::internal("failed to store audit event"), output).await;
        }
    }
    let who = match impersonate(state, &req, who).await {
        Ok(w) => w,
        Err(e) => return early(req, &e, output).await,
    };
    if let Some(rec) = trail.audit.as_mut().filter(|_| who.impersonator().is_some()) {
        rec.impersonated = Some(who.user().clone());
    }
    // API Priority and Fairness's classification, named in the answer's headers.
    let classified = state.flowcontrol.classify(who.user(), &info);
    // In flight only now: the user is known, so its seat is weighed against other users',
    // and a request that fails authentication never holds one.
    let seat = match state.limits.seat(&info, who.user()).await {
        Ok(s) => s,
        Err(e) => return with_classification(early(req, &e, output).await, classified),
    };
    let authorized = match authorize(state, &who, &info, trail.audit.as_mut()).await {
        Ok(a) => a,
        Err(e) => return with_classification(early(req, &e, output).await, classified),
    };
    let user_agent =
        req.headers().get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mut ctx = RequestContext::new(state.clone(), info, output, authorized).with_user_agent(user_agent);
    if let Some(rec) = &mut trail.audit {
        rec.capture = rec.config.and_then(|c| crate::audit::Capture::for_request(&c, &ctx.info));
        ctx = ctx.with_audit(rec.capture.clone()).with_notes(Arc::clone(&rec.notes));
    }
    let resp = if ctx.info.is_resource_request {
        rest::dispatch(ctx, req).await
    } else {
        nonresource::dispatch(ctx, req).await
    };
    trail.seat = seat;
    with_classification(resp, classified)
}

/// Names the FlowSchema and priority level a request was classified to, as kube's APF
/// filter does on every answer past it (refusals by authorization included).
fn with_classification(
    mut resp: Response<Body>,
    classified: Option<limits::flowcontrol::Classified>,
) -> Response<Body> {
    if let Some(c) = classified {
        c.apply(resp.headers_mut());
    }
    resp
}

/// The response format asked for in `Accept`; 406 when none can be served. Non-resource
/// documents (OpenAPI v2 protobuf, discovery) negotiate for themselves.
fn negotiate(info: &RequestInfo, req: &Request<Incoming>) -> Result<Output, StatusError> {
    let accept = req.headers().get(http::header::ACCEPT).and_then(|v| v.to_str().ok());
    let mut out = negotiate::output(accept)
        .or((!info.is_resource_request).then_some(Output::Json))
        .ok_or_else(|| {
            StatusError::not_acceptable(format!(
                "only the following media types are accepted: {}",
                negotiate::ACCEPTED_MEDIA_TYPES
            ))
        })?;
    if let Output::Table(t) = &mut out {
        if let Some(include) =
            info.query_param("includeObject").and_then(registry::table::IncludeObject::parse)
        {
            t.include = include;
        }
    }
    Ok(out)
}

/// The authenticator union: a verified identity, or 401.
async fn authenticate(
    state: &ApiState,
    conn: &ConnInfo,
    req: &Request<Incoming>,
) -> Result<authn::Authenticated, StatusError> {
    let auth_req =
        authn::AuthRequest::new(req.headers(), conn.peer_certificates.as_deref(), req.uri().path());
    let result = state.authn.authenticate(&auth_req).await;
    let outcome = match &result {
        Ok(_) => crate::metrics::AuthnResult::Success,
        Err(authn::Unauthenticated::Failed(_)) => crate::metrics::AuthnResult::Error,
        Err(_) => crate::metrics::AuthnResult::Failure,
    };
    state.metrics.authentication(outcome);
    result.map_err(|why| {
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
    rec: Option<&mut Record>,
) -> Result<authz::Authorized, StatusError> {
    use crate::audit::event::{DECISION_ANNOTATION, REASON_ANNOTATION};
    let result = state.authorizer.authorize_request(who, info).await;
    state.metrics.authorization(result.is_ok());
    match result {
        Ok(authorized) => {
            if let Some(rec) = rec {
                rec.annotations.insert(DECISION_ANNOTATION, "allow".into());
                rec.annotations.insert(REASON_ANNOTATION, authorized.reason().to_string().into());
            }
            Ok(authorized)
        }
        Err(verdict) => {
            if let Some(rec) = rec {
                if verdict.error().is_some() {
                    // kube's authorization filter: no decision, the reason says what happened.
                    rec.annotations.insert(REASON_ANNOTATION, "internal error".into());
                } else {
                    rec.annotations.insert(DECISION_ANNOTATION, "forbid".into());
                    rec.annotations.insert(REASON_ANNOTATION, verdict.decision.reason().to_string().into());
                }
            }
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
async fn early(req: Request<Incoming>, err: &StatusError, output: Output) -> Response<Body> {
    use http_body_util::BodyExt;
    use hyper::body::Body as _;
    if !req.body().is_end_stream() {
        let small = req.body().size_hint().upper().is_some_and(|n| n as usize <= DRAIN_LIMIT);
        if small {
            let body = http_body_util::Limited::new(req.into_body(), DRAIN_LIMIT);
            let _ = tokio::time::timeout(DRAIN_TIMEOUT, body.collect()).await;
        }
    }
    response::status_error(err, output)
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
