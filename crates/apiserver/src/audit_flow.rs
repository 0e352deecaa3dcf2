//! The audit events of an answer, as kube's audit filter emits them once the handler chain
//! has answered: the `Audit-Id` header, the response's Status and (at RequestResponse) its
//! object read from the body when it is known whole, then ResponseComplete; for a
//! long-running request ResponseStarted now and ResponseComplete when its stream ends; the
//! one ResponseStarted event of a failed authentication; the Panic stage.

use crate::audit::{body, Auditor, Level, Record, RequestAuditConfig, ResponseStatus, Stage};
use crate::response::{self, Body};
use crate::state::State;
use http::{HeaderValue, Response};
use http_body_util::BodyExt;
use hyper::body::Body as _;
use serde_json::Value;

/// The largest answer read back for its event (larger ones are recorded without it).
const MAX_AUDITED_BODY: u64 = 32 << 20;

/// kube's `Audit-ID` header (a name, not a string: a lookup by `&str` parses the name first).
pub const AUDIT_ID: http::HeaderName = http::HeaderName::from_static("audit-id");

/// The request's audit ID, as kube's `WithAuditInit` takes it whether or not anything is
/// audited: the `Audit-ID` the client sent (visible ASCII, not empty), else a new UUID. Every
/// answer echoes it in its `Audit-ID` header.
pub fn audit_id(headers: &http::HeaderMap) -> HeaderValue {
    match headers.get(AUDIT_ID) {
        Some(v) if !v.is_empty() && v.to_str().is_ok() => v.clone(),
        _ => {
            let mut buf = uuid::Uuid::encode_buffer();
            let text = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buf);
            // A hyphenated UUID is 36 visible ASCII characters: always a valid header value.
            HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("invalid-uuid"))
        }
    }
}

/// Emits the answer's events and returns the answer (its body rebuilt when it was read).
pub async fn respond(state: State, mut rec: Record, resp: Response<Body>) -> Response<Body> {
    let Some(auditor) = state.audit.as_ref() else { return resp };
    let code = resp.status().as_u16();
    if let Some(message) = rec.authentication_failed.take() {
        auditor.evaluate(&mut rec);
        rec.response_status = Some(ResponseStatus { code, message, ..Default::default() });
        auditor.process(&rec, Stage::ResponseStarted).await;
        return resp;
    }
    if rec.config.is_none() {
        // Answered before authentication (406, 429): audited as an anonymous request.
        auditor.evaluate(&mut rec);
        auditor.process(&rec, Stage::RequestReceived).await;
    }
    let config = rec.config.unwrap_or(RequestAuditConfig::NONE);
    if config.level == Level::None {
        return resp;
    }
    let long_running = crate::audit::is_long_running(&rec.info);
    let (parts, body) = resp.into_parts();
    // kube records response objects of resource requests only (its REST handlers log them).
    let resource = rec.info.is_resource_request;
    let wanted = !long_running
        && (code >= 300
            || (resource && config.level == Level::RequestResponse)
            || (resource && matches!(rec.info.verb.as_str(), "delete" | "deletecollection")));
    let whole = body.size_hint().exact().is_some_and(|n| n <= MAX_AUDITED_BODY);
    let (body, parsed) = if wanted && whole {
        read_back(body, parts.headers.get(http::header::CONTENT_TYPE)).await
    } else {
        (body, None)
    };
    let (status, object) = body::response(&config, &rec.info, code, parsed);
    rec.response_status = Some(status);
    rec.response_object = object;
    if long_running {
        auditor.process(&rec, Stage::ResponseStarted).await;
        let done = CompleteWhenDropped { state: state.clone(), rec: Some(rec) };
        let body = body
            .map_frame(move |frame| {
                let _ = &done;
                frame
            })
            .boxed();
        return Response::from_parts(parts, body);
    }
    auditor.process(&rec, Stage::ResponseComplete).await;
    Response::from_parts(parts, body)
}

/// Reads a body known whole (it is in memory) and parses it when it is JSON, YAML or protobuf
/// (kube audits the object it answered, whatever the wire format).
async fn read_back(body: Body, content_type: Option<&HeaderValue>) -> (Body, Option<Value>) {
    let bytes = match body.collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => {
            tracing::error!(error = %e, "reading an answer back for the audit log failed");
            return (response::empty(), None);
        }
    };
    let ct = content_type.and_then(|v| v.to_str().ok()).unwrap_or_default();
    let parsed = if ct.starts_with("application/json") {
        serde_json::from_slice(&bytes).ok()
    } else if ct.starts_with("application/yaml") {
        apimachinery::yaml::from_slice(&bytes).ok()
    } else if ct.starts_with(kube_protobuf::CONTENT_TYPE) {
        kube_protobuf::decode_to_json(&bytes).ok()
    } else {
        None
    };
    (response::full(bytes), parsed)
}

/// Emits ResponseComplete of a long-running request when its answer's stream is dropped
/// (ended, or the client went away).
struct CompleteWhenDropped {
    state: State,
    rec: Option<Record>,
}

impl Drop for CompleteWhenDropped {
    fn drop(&mut self) {
        let Some(rec) = self.rec.take() else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let state = self.state.clone();
        runtime.spawn(async move {
            if let Some(auditor) = &state.audit {
                auditor.process(&rec, Stage::ResponseComplete).await;
            }
        });
    }
}

/// A panic's text.
pub fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// The Panic stage: kube's 500 Status with the panic's text.
pub async fn panicked(auditor: &Auditor, rec: &mut Record, what: String) {
    auditor.evaluate(rec);
    rec.response_status = Some(ResponseStatus {
        code: 500,
        status: "Failure".into(),
        reason: "InternalError".into(),
        message: format!("APIServer panic'd: {what}"),
        details: None,
    });
    auditor.process(rec, Stage::Panic).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn audit_ids_are_kept_or_made() {
        let mut h = http::HeaderMap::new();
        let made = audit_id(&h);
        assert_eq!(made.len(), 36);
        assert!(uuid::Uuid::parse_str(made.to_str().unwrap()).is_ok(), "{made:?}");
        assert_ne!(audit_id(&h), made, "a new UUID per request");
        h.insert("audit-id", HeaderValue::from_static("my-id-1"));
        assert_eq!(audit_id(&h), "my-id-1");
        h.insert("audit-id", HeaderValue::from_static(""));
        assert_eq!(audit_id(&h).len(), 36, "an empty Audit-ID gets a new one");
        h.insert("audit-id", HeaderValue::from_bytes(b"caf\xe9").unwrap());
        assert_eq!(audit_id(&h).len(), 36, "an Audit-ID that is not visible ASCII gets a new one");
    }

    #[tokio::test]
    async fn answers_are_read_back_in_every_format() {
        let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "configmaps \"x\" not found", "reason": "NotFound", "code": 404});
        let pb = kube_protobuf::encode_from_json(&status).expect("a Status encodes");
        for (content_type, bytes) in [
            (kube_protobuf::CONTENT_TYPE, pb.clone()),
            ("application/json", serde_json::to_vec(&status).expect("JSON")),
            ("application/yaml", apimachinery::yaml::to_string(&status).expect("YAML").into_bytes()),
        ] {
            let (body, parsed) =
                read_back(response::full(bytes.clone()), Some(&HeaderValue::from_static(content_type))).await;
            assert_eq!(parsed.as_ref().map(|v| &v["message"]), Some(&status["message"]), "{content_type}");
            let sent = body.collect().await.expect("body").to_bytes();
            assert_eq!(sent.as_ref(), bytes.as_slice(), "{content_type}: the answer goes out unchanged");
        }
        let (_, parsed) = read_back(response::full(pb), Some(&HeaderValue::from_static("text/plain"))).await;
        assert_eq!(parsed, None);
    }
}
