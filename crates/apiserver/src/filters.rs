//! The handler chain, in kube-apiserver's order: panic recovery, RequestInfo, in-flight
//! limit, authentication, authorization, then the REST or non-resource handlers.

use crate::audit::Record;
use crate::negotiate::{self, Output};
use crate::response::{self, Body};
use crate::server::ConnInfo;
use crate::state::State;
use crate::{nonresource, rest};
use apimachinery::{Attributes, GroupResource, RequestInfo, StatusError, UserInfo};
use futures::FutureExt;
use http::{Request, Response};
use hyper::body::Incoming;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

/// Everything a handler needs about the request being served.
pub struct Ctx {
    pub state: State,
    pub info: RequestInfo,
    pub user: UserInfo,
    pub output: Output,
}

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

async fn chain(
    state: State,
    conn: Arc<ConnInfo>,
    req: Request<Incoming>,
) -> (Response<Body>, Option<Record>) {
    let info = RequestInfo::new(req.method().as_str(), req.uri().path(), req.uri().query());
    let mut rec = Record {
        id: uuid::Uuid::new_v4().to_string(),
        info: info.clone(),
        uri: req.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default(),
        source: conn.remote.ip(),
        user_agent: req
            .headers()
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
        received: chrono::Utc::now(),
        user: None,
        impersonated: None,
        decision: None,
    };
    let accept = req.headers().get(http::header::ACCEPT).and_then(|v| v.to_str().ok()).map(str::to_string);
    // Non-resource documents (OpenAPI v2 protobuf, discovery) negotiate for themselves.
    let negotiated =
        negotiate::output(accept.as_deref()).or((!info.is_resource_request).then_some(Output::Json));
    let Some(output) = negotiated else {
        let e = StatusError::not_acceptable(format!(
            "only the following media types are accepted: application/json, application/yaml, application/json;as=Table;v=v1;g=meta.k8s.io; got {}",
            accept.unwrap_or_default()
        ));
        return early(req, response::status_error(&e, Output::Json), rec).await;
    };
    let long_running = info.verb == "watch";
    let limiter = state.clone();
    let _permit = if long_running {
        None
    } else {
        match limiter.inflight.try_acquire() {
            Ok(p) => Some(p),
            Err(_) => {
                let e = StatusError::too_many_requests("Too many requests, please try again later.", 1);
                return early(req, response::status_error(&e, output), rec).await;
            }
        }
    };

    let auth_req = authn::AuthRequest {
        headers: req.headers(),
        peer_certificates: conn.peer_certificates.as_deref(),
        path: req.uri().path(),
    };
    let user = match state.authn.authenticate(&auth_req).await {
        authn::AuthOutcome::Authenticated(u) => u,
        authn::AuthOutcome::Failed(why) => {
            tracing::info!(remote = %conn.remote, reason = %why, "authentication failed");
            return early(
                req,
                response::status_error(&StatusError::unauthorized("Unauthorized"), output),
                rec,
            )
            .await;
        }
        authn::AuthOutcome::NotApplicable => {
            return early(
                req,
                response::status_error(&StatusError::unauthorized("Unauthorized"), output),
                rec,
            )
            .await;
        }
    };
    rec.user = Some(user.clone());
    let actor = user.name.clone();
    let user = match crate::impersonation::apply(&state.authorizer, req.headers(), user) {
        Ok(u) => u,
        Err(e) => return early(req, response::status_error(&e, output), rec).await,
    };
    if user.name != actor {
        rec.impersonated = Some(user.clone());
    }

    let attrs = Attributes::from_request(user.clone(), &info);
    let verdict = state.authorizer.authorize_async(&attrs).await;
    let decision = verdict.decision.clone();
    rec.decision = Some((decision.is_allowed(), decision.reason().to_string()));
    if !decision.is_allowed() {
        if let Some(err) = verdict.error() {
            // An authorizer failed and none allowed: kube answers 500, not 403.
            tracing::warn!(error = %err, "authorization failed");
            return early(req, response::status_error(&StatusError::internal(&err), output), rec).await;
        }
        return early(req, response::status_error(&forbidden(&attrs, decision.reason()), output), rec).await;
    }
    let ctx = Ctx { state, info, user, output };
    let resp = if ctx.info.is_resource_request {
        rest::dispatch(ctx, req).await
    } else {
        nonresource::dispatch(ctx, req).await
    };
    (resp, Some(rec))
}

/// Largest body read and discarded before an early error answer.
const DRAIN_LIMIT: usize = 64 * 1024;
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Answers before the handler ran (401, 403, 429, ...). A small request body is read and
/// discarded first (bounded in size and time), so an HTTP/2 client receives the answer
/// instead of a stream reset while it is still sending.
async fn early(
    req: Request<Incoming>,
    resp: Response<Body>,
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
    (resp, Some(rec))
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
