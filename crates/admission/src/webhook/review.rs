//! `admission.k8s.io/v1` AdmissionReview: the request kube sends and the checks it applies to
//! the answer, including turning a denial into kube's Status (`webhookerrors.ToStatusErr`).

use crate::types::AdmissionRequest;
use apimachinery::quote::go_quote;
use apimachinery::{StatusError, StatusReason};
use serde_json::{json, Map, Value};

/// The AdmissionReview body for a request, at the request's own resource and kind.
pub fn review(req: &AdmissionRequest, uid: &str, api_version: &str) -> Value {
    review_as(req, uid, api_version, None)
}

/// The resource and kind a webhook matched a request as (another version of the same
/// objects, under `matchPolicy: Equivalent`), with the objects converted to it.
pub struct Equivalent<'a> {
    pub group: &'a str,
    pub version: &'a str,
    pub resource: &'a str,
    pub kind: &'a str,
    pub object: Option<&'a Value>,
    pub old_object: Option<&'a Value>,
}

/// The AdmissionReview body; `kind`/`resource` and the objects are the equivalent
/// resource's when given, `requestKind`/`requestResource` always the request's.
pub fn review_as(
    req: &AdmissionRequest,
    uid: &str,
    api_version: &str,
    equivalent: Option<&Equivalent>,
) -> Value {
    let mut r = Map::new();
    r.insert("uid".into(), json!(uid));
    let kind = json!({"group": req.kind_group, "version": req.kind_version, "kind": req.kind});
    let resource = json!({"group": req.group, "version": req.version, "resource": req.resource});
    match equivalent {
        Some(e) => {
            r.insert("kind".into(), json!({"group": e.group, "version": e.version, "kind": e.kind}));
            r.insert(
                "resource".into(),
                json!({"group": e.group, "version": e.version, "resource": e.resource}),
            );
        }
        None => {
            r.insert("kind".into(), kind.clone());
            r.insert("resource".into(), resource.clone());
        }
    }
    if !req.subresource.is_empty() {
        r.insert("subResource".into(), json!(req.subresource));
    }
    r.insert("requestKind".into(), kind);
    r.insert("requestResource".into(), resource);
    if !req.subresource.is_empty() {
        r.insert("requestSubResource".into(), json!(req.subresource));
    }
    if !req.name.is_empty() {
        r.insert("name".into(), json!(req.name));
    }
    if !req.namespace.is_empty() {
        r.insert("namespace".into(), json!(req.namespace));
    }
    r.insert("operation".into(), json!(req.operation.as_str()));
    r.insert("userInfo".into(), user_info(&req.user, true));
    let (object, old) = match equivalent {
        Some(e) => (e.object, e.old_object),
        None => (req.object.as_ref(), req.old_object.as_ref()),
    };
    r.insert("object".into(), object.cloned().unwrap_or(Value::Null));
    r.insert("oldObject".into(), old.cloned().unwrap_or(Value::Null));
    r.insert("dryRun".into(), json!(req.dry_run));
    r.insert("options".into(), req.options.clone());
    json!({"kind": "AdmissionReview", "apiVersion": api_version, "request": Value::Object(r)})
}

/// An authentication/v1 UserInfo as JSON: empty fields left out, the username too unless
/// `username_always` (an AdmissionReview always carries it; CEL's `request.userInfo` not).
pub(crate) fn user_info(user: &apimachinery::UserInfo, username_always: bool) -> Value {
    let mut out = Map::new();
    if username_always || !user.name.is_empty() {
        out.insert("username".into(), json!(user.name));
    }
    if !user.uid.is_empty() {
        out.insert("uid".into(), json!(user.uid));
    }
    if !user.groups.is_empty() {
        out.insert("groups".into(), json!(user.groups));
    }
    if !user.extra.is_empty() {
        out.insert("extra".into(), json!(user.extra));
    }
    Value::Object(out)
}

/// The `response` of an answer after kube's sanity checks.
pub fn response<'a>(answer: &'a Value, uid: &str, api_version: &str) -> Result<&'a Value, String> {
    if answer.get("apiVersion").and_then(Value::as_str) != Some(api_version)
        || answer.get("kind").and_then(Value::as_str) != Some("AdmissionReview")
    {
        return Err(format!(
            "expected webhook response of {api_version}, Kind=AdmissionReview, got {}, Kind={}",
            answer.get("apiVersion").and_then(Value::as_str).unwrap_or(""),
            answer.get("kind").and_then(Value::as_str).unwrap_or("")
        ));
    }
    let resp = answer.get("response").filter(|r| r.is_object()).ok_or("webhook response was absent")?;
    let got = resp.get("uid").and_then(Value::as_str).unwrap_or("");
    if got != uid {
        return Err(format!("expected response.uid={}, got {}", go_quote(uid), go_quote(got)));
    }
    Ok(resp)
}

/// A denial as the Status kube returns (`ToStatusErr`).
pub fn denial(webhook: &str, resp: &Value) -> StatusError {
    let status = resp.get("result").or_else(|| resp.get("status")).unwrap_or(&Value::Null);
    let code = status.get("code").and_then(Value::as_u64).unwrap_or(0);
    let code = if code < 400 { 400 } else { code.min(599) as u16 };
    let message = status.get("message").and_then(Value::as_str).unwrap_or("");
    let reason = status.get("reason").and_then(Value::as_str).unwrap_or("");
    let denied = format!("admission webhook {} denied the request", go_quote(webhook));
    let text = if !message.is_empty() {
        format!("{denied}: {message}")
    } else if !reason.is_empty() {
        format!("{denied}: {reason}")
    } else {
        format!("{denied} without explanation")
    };
    StatusError {
        code,
        reason: StatusReason::from_wire(reason),
        message: text,
        details: None,
        continue_token: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Operation;
    use apimachinery::UserInfo;

    #[test]
    fn review_shape() {
        let req = AdmissionRequest::new(
            Operation::Create,
            ("", "v1", "Eviction"),
            "pods",
            "ns",
            "p",
            UserInfo::new("alice", vec!["g".into()]),
        )
        .with_kind("policy", "v1", "Eviction")
        .with_subresource("eviction")
        .with_object(json!({"a": 1}));
        let v = review(&req, "u-1", "admission.k8s.io/v1");
        assert_eq!(v["request"]["kind"], json!({"group": "policy", "version": "v1", "kind": "Eviction"}));
        assert_eq!(v["request"]["resource"], json!({"group": "", "version": "v1", "resource": "pods"}));
        assert_eq!(v["request"]["subResource"], "eviction");
        assert_eq!(v["request"]["userInfo"], json!({"username": "alice", "groups": ["g"]}));
        assert_eq!(v["request"]["oldObject"], Value::Null);
    }

    #[test]
    fn denial_messages() {
        let e = denial(
            "w.example.com",
            &json!({"allowed": false, "status": {"message": "no way", "code": 403, "reason": "Forbidden"}}),
        );
        assert_eq!(
            (e.code, e.reason, e.message.as_str()),
            (403, StatusReason::Forbidden, "admission webhook \"w.example.com\" denied the request: no way")
        );
        let e = denial("w", &json!({"allowed": false}));
        assert_eq!(
            (e.code, e.message.as_str()),
            (400, "admission webhook \"w\" denied the request without explanation")
        );
        assert!(response(&json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": {"uid": "x"}}), "y", "admission.k8s.io/v1").is_err());
    }
}
