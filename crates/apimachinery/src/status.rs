//! `metav1.Status` errors with kube-apiserver's exact reasons, codes and message
//! templates (k8s.io/apimachinery `api/errors`). Every error a client sees is one of these.

use crate::gvr::{GroupKind, GroupResource};
use crate::quote::go_quote;
pub use crate::reason::{CauseType, StatusReason};
use serde_json::{json, Map, Value};

/// One field error inside an Invalid Status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCause {
    pub reason: CauseType,
    pub message: String,
    pub field: String,
}

/// `details` of a Status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusDetails {
    pub name: String,
    pub group: String,
    pub kind: String,
    pub causes: Vec<StatusCause>,
    pub retry_after_seconds: u32,
}

/// A failed request as kube reports it: HTTP code, reason, message, details.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StatusError {
    pub code: u16,
    pub reason: StatusReason,
    pub message: String,
    /// Boxed: most errors carry none, and a small error keeps `Result`s small.
    pub details: Option<Box<StatusDetails>>,
    /// `metadata.continue`: a token to go on with, as a LIST whose continue token expired
    /// answers (kube's `handleCompactedErrorForPaging`).
    pub continue_token: Option<String>,
}

fn details_for(gr: &GroupResource, name: &str) -> Option<StatusDetails> {
    Some(StatusDetails {
        name: name.to_string(),
        group: gr.group.clone(),
        kind: gr.resource.clone(),
        ..Default::default()
    })
}

/// Go's `%q` ([`crate::quote::go_quote`]) under its former name, which apiserver's handlers use.
pub use crate::quote::go_quote as quote;

impl StatusError {
    fn new(code: u16, reason: StatusReason, message: String, details: Option<StatusDetails>) -> Self {
        Self { code, reason, message, details: details.map(Box::new), continue_token: None }
    }

    pub fn not_found(gr: &GroupResource, name: &str) -> Self {
        Self::new(
            404,
            StatusReason::NotFound,
            format!("{gr} {} not found", go_quote(name)),
            details_for(gr, name),
        )
    }

    pub fn already_exists(gr: &GroupResource, name: &str) -> Self {
        Self::new(
            409,
            StatusReason::AlreadyExists,
            format!("{gr} {} already exists", go_quote(name)),
            details_for(gr, name),
        )
    }

    pub fn conflict(gr: &GroupResource, name: &str, err: &str) -> Self {
        Self::new(
            409,
            StatusReason::Conflict,
            format!("Operation cannot be fulfilled on {gr} {}: {err}", go_quote(name)),
            details_for(gr, name),
        )
    }

    /// The usual optimistic-concurrency conflict on update.
    pub fn stale_update(gr: &GroupResource, name: &str) -> Self {
        Self::conflict(
            gr,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// `NewForbidden(gr, name, err)`.
    pub fn forbidden(gr: &GroupResource, name: &str, err: &str) -> Self {
        let message = if gr.group.is_empty() && gr.resource.is_empty() {
            format!("forbidden: {err}")
        } else if name.is_empty() {
            format!("{gr} is forbidden: {err}")
        } else {
            format!("{gr} {} is forbidden: {err}", go_quote(name))
        };
        let details = if gr.group.is_empty() && gr.resource.is_empty() && name.is_empty() {
            Some(StatusDetails::default())
        } else {
            details_for(gr, name)
        };
        Self::new(403, StatusReason::Forbidden, message, details)
    }

    pub fn unauthorized(message: &str) -> Self {
        let m = if message.is_empty() { "not authorized" } else { message };
        Self::new(401, StatusReason::Unauthorized, m.to_string(), None)
    }

    pub fn invalid(gk: &GroupKind, name: &str, causes: Vec<StatusCause>) -> Self {
        let mut texts: Vec<String> = Vec::new();
        for c in &causes {
            let t =
                if c.field.is_empty() { c.message.clone() } else { format!("{}: {}", c.field, c.message) };
            if !texts.contains(&t) {
                texts.push(t);
            }
        }
        let message = match texts.len() {
            0 => format!("{gk} {} is invalid", go_quote(name)),
            1 => format!("{gk} {} is invalid: {}", go_quote(name), texts[0]),
            _ => format!("{gk} {} is invalid: [{}]", go_quote(name), texts.join(", ")),
        };
        let details = StatusDetails {
            name: name.to_string(),
            group: gk.group.clone(),
            kind: gk.kind.clone(),
            causes,
            retry_after_seconds: 0,
        };
        Self::new(422, StatusReason::Invalid, message, Some(details))
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, StatusReason::BadRequest, message.into(), None)
    }

    pub fn method_not_supported(gr: &GroupResource, action: &str) -> Self {
        let details =
            StatusDetails { group: gr.group.clone(), kind: gr.resource.clone(), ..Default::default() };
        Self::new(
            405,
            StatusReason::MethodNotAllowed,
            format!("{action} is not supported on resources of kind {}", go_quote(&gr.to_string())),
            Some(details),
        )
    }

    /// kube's answer to a method no route of the path takes (go-restful's 405: a POST to an
    /// object, a PUT to a collection, a verb the resource does not serve).
    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            StatusReason::MethodNotAllowed,
            "the server does not allow this method on the requested resource".into(),
            Some(StatusDetails::default()),
        )
    }

    pub fn resource_expired(message: impl Into<String>) -> Self {
        Self::new(410, StatusReason::Expired, message.into(), None)
    }

    /// This error with `metadata.continue` set.
    pub fn with_continue(mut self, token: impl Into<String>) -> Self {
        self.continue_token = Some(token.into());
        self
    }

    /// `storage.NewTooLargeResourceVersionError`: a read asked for a revision the store has
    /// not reached (504, cause `ResourceVersionTooLarge`).
    pub fn too_large_resource_version(requested: u64, current: u64, retry_after_seconds: u32) -> Self {
        let details = StatusDetails {
            causes: vec![StatusCause {
                reason: CauseType::ResourceVersionTooLarge,
                message: "Too large resource version".into(),
                field: String::new(),
            }],
            retry_after_seconds,
            ..Default::default()
        };
        Self::new(
            504,
            StatusReason::Timeout,
            format!("Timeout: Too large resource version: {requested}, current: {current}"),
            Some(details),
        )
    }

    pub fn too_many_requests(message: impl Into<String>, retry_after_seconds: u32) -> Self {
        let details = StatusDetails { retry_after_seconds, ..Default::default() };
        Self::new(429, StatusReason::TooManyRequests, message.into(), Some(details))
    }

    pub fn request_entity_too_large(message: &str) -> Self {
        Self::new(
            413,
            StatusReason::RequestEntityTooLarge,
            format!("Request entity too large: {message}"),
            None,
        )
    }

    /// kube's decoder refusing a body's Content-Type (kube's text does not name it).
    pub fn unsupported_media_type() -> Self {
        Self::new(415, StatusReason::UnsupportedMediaType, "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf".into(), None)
    }

    /// go-restful's 415 for a PATCH whose Content-Type is no patch type.
    pub fn unsupported_patch_type() -> Self {
        Self::new(
            415,
            StatusReason::UnsupportedMediaType,
            "415: Unsupported Media Type".into(),
            Some(StatusDetails::default()),
        )
    }

    /// go-restful's 406 for a route whose one media type the Accept header does not name.
    pub fn route_not_acceptable(available: &str) -> Self {
        Self::new(
            406,
            StatusReason::NotAcceptable,
            format!("406: Not Acceptable\n\nAvailable representations: {available}"),
            Some(StatusDetails::default()),
        )
    }

    pub fn not_acceptable(message: impl Into<String>) -> Self {
        Self::new(406, StatusReason::NotAcceptable, message.into(), None)
    }

    pub fn internal(err: &str) -> Self {
        let details = StatusDetails {
            causes: vec![StatusCause {
                reason: CauseType::Unspecified,
                message: err.to_string(),
                field: String::new(),
            }],
            ..Default::default()
        };
        Self::new(500, StatusReason::InternalError, format!("Internal error occurred: {err}"), Some(details))
    }

    pub fn timeout(message: &str, retry_after_seconds: u32) -> Self {
        let details = StatusDetails { retry_after_seconds, ..Default::default() };
        Self::new(504, StatusReason::Timeout, format!("Timeout: {message}"), Some(details))
    }

    pub fn service_unavailable(message: impl Into<String>) -> Self {
        Self::new(503, StatusReason::ServiceUnavailable, message.into(), None)
    }

    /// An error that is not a Status, as kube's `ErrorToAPIStatus` reports one: its code
    /// (500 unless a storage conflict), no reason, the error's own text.
    pub fn unknown(code: u16, message: impl Into<String>) -> Self {
        Self::new(code, StatusReason::Unknown, message.into(), None)
    }

    /// kube's `NewGenericServerResponse`: an answer of another server (a kubelet) with
    /// `code`, described by kube's text for that code and naming the resource asked for.
    pub fn generic_server_response(
        code: u16,
        verb: &str,
        gr: &GroupResource,
        name: &str,
        server_message: &str,
    ) -> Self {
        let (reason, message) = match code {
            409 if verb == "POST" => (StatusReason::AlreadyExists, "the server reported a conflict".to_string()),
            409 => (StatusReason::Conflict, "the server reported a conflict".into()),
            404 => (StatusReason::NotFound, "the server could not find the requested resource".into()),
            400 => (StatusReason::BadRequest, "the server rejected our request for an unknown reason".into()),
            401 => (StatusReason::Unauthorized, "the server has asked for the client to provide credentials".into()),
            403 => (StatusReason::Forbidden, server_message.to_string()),
            406 => (
                StatusReason::NotAcceptable,
                "the server was unable to respond with a content type that the client supports".into(),
            ),
            415 => (
                StatusReason::UnsupportedMediaType,
                "the server was unable to respond with a content type that the client supports".into(),
            ),
            405 => (
                StatusReason::MethodNotAllowed,
                "the server does not allow this method on the requested resource".into(),
            ),
            422 => (
                StatusReason::Invalid,
                "the server rejected our request due to an error in our request".into(),
            ),
            503 => (StatusReason::ServiceUnavailable, "the server is currently unable to handle the request".into()),
            504 => (
                StatusReason::Timeout,
                "the server was unable to return a response in the time allotted, but may still be processing the request"
                    .into(),
            ),
            429 => (
                StatusReason::TooManyRequests,
                "the server has received too many requests and has asked us to try again later".into(),
            ),
            c if c >= 500 => (
                StatusReason::InternalError,
                format!("an error on the server ({}) has prevented the request from succeeding", go_quote(server_message)),
            ),
            c => (StatusReason::Unknown, format!("the server responded with the status code {c} but did not return more information")),
        };
        let resource =
            if gr.group.is_empty() { gr.resource.clone() } else { format!("{}.{}", gr.resource, gr.group) };
        let message = if resource.is_empty() {
            message
        } else if name.is_empty() {
            format!("{message} ({} {resource})", verb.to_lowercase())
        } else {
            format!("{message} ({} {resource} {name})", verb.to_lowercase())
        };
        Self::new(code, reason, message, details_for(gr, name))
    }

    pub fn not_found_path() -> Self {
        Self::new(
            404,
            StatusReason::NotFound,
            "the server could not find the requested resource".into(),
            Some(StatusDetails::default()),
        )
    }

    /// `reason`, or, when the reason is not one kube names, whether the code is `code`: the
    /// test behind most of kube's `errors.IsXxx` (k8s.io/apimachinery `pkg/api/errors`).
    fn reason_or_code(&self, reason: StatusReason, code: u16) -> bool {
        self.reason == reason || (!self.reason.is_known() && self.code == code)
    }

    /// `errors.IsNotFound`.
    pub fn is_not_found(&self) -> bool {
        self.reason_or_code(StatusReason::NotFound, 404)
    }

    /// `errors.IsAlreadyExists` (the reason only: a 409 may also be a Conflict).
    pub fn is_already_exists(&self) -> bool {
        self.reason == StatusReason::AlreadyExists
    }

    /// `errors.IsConflict`.
    pub fn is_conflict(&self) -> bool {
        self.reason_or_code(StatusReason::Conflict, 409)
    }

    /// `errors.IsInvalid`.
    pub fn is_invalid(&self) -> bool {
        self.reason_or_code(StatusReason::Invalid, 422)
    }

    /// `errors.IsGone`.
    pub fn is_gone(&self) -> bool {
        self.reason_or_code(StatusReason::Gone, 410)
    }

    /// `errors.IsResourceExpired` (the reason only).
    pub fn is_resource_expired(&self) -> bool {
        self.reason == StatusReason::Expired
    }

    /// `errors.IsNotAcceptable`.
    pub fn is_not_acceptable(&self) -> bool {
        self.reason_or_code(StatusReason::NotAcceptable, 406)
    }

    /// `errors.IsUnsupportedMediaType`.
    pub fn is_unsupported_media_type(&self) -> bool {
        self.reason_or_code(StatusReason::UnsupportedMediaType, 415)
    }

    /// `errors.IsMethodNotSupported`.
    pub fn is_method_not_supported(&self) -> bool {
        self.reason_or_code(StatusReason::MethodNotAllowed, 405)
    }

    /// `errors.IsServiceUnavailable`.
    pub fn is_service_unavailable(&self) -> bool {
        self.reason_or_code(StatusReason::ServiceUnavailable, 503)
    }

    /// `errors.IsBadRequest`.
    pub fn is_bad_request(&self) -> bool {
        self.reason_or_code(StatusReason::BadRequest, 400)
    }

    /// `errors.IsUnauthorized`.
    pub fn is_unauthorized(&self) -> bool {
        self.reason_or_code(StatusReason::Unauthorized, 401)
    }

    /// `errors.IsForbidden`.
    pub fn is_forbidden(&self) -> bool {
        self.reason_or_code(StatusReason::Forbidden, 403)
    }

    /// `errors.IsTimeout`.
    pub fn is_timeout(&self) -> bool {
        self.reason_or_code(StatusReason::Timeout, 504)
    }

    /// `errors.IsServerTimeout` (the reason only: no HTTP code means it).
    pub fn is_server_timeout(&self) -> bool {
        self.reason == StatusReason::ServerTimeout
    }

    /// `errors.IsInternalError`.
    pub fn is_internal_error(&self) -> bool {
        self.reason_or_code(StatusReason::InternalError, 500)
    }

    /// `errors.IsTooManyRequests`: the reason, or code 429 whatever the reason (as kube).
    pub fn is_too_many_requests(&self) -> bool {
        self.reason == StatusReason::TooManyRequests || self.code == 429
    }

    /// `errors.IsRequestEntityTooLargeError`: the reason, or code 413 whatever the reason.
    pub fn is_request_entity_too_large(&self) -> bool {
        self.reason == StatusReason::RequestEntityTooLarge || self.code == 413
    }

    /// The Status object, fields in kube's order, empty fields omitted.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("kind".into(), json!("Status"));
        m.insert("apiVersion".into(), json!("v1"));
        m.insert(
            "metadata".into(),
            match &self.continue_token {
                Some(c) => json!({"continue": c}),
                None => json!({}),
            },
        );
        m.insert("status".into(), json!("Failure"));
        m.insert("message".into(), json!(self.message));
        if self.reason.is_known() {
            m.insert("reason".into(), json!(self.reason.as_str()));
        }
        if let Some(d) = &self.details {
            let mut dm = Map::new();
            for (k, v) in [("name", &d.name), ("group", &d.group), ("kind", &d.kind)] {
                if !v.is_empty() {
                    dm.insert(k.into(), json!(v));
                }
            }
            if !d.causes.is_empty() {
                let causes: Vec<Value> = d
                    .causes
                    .iter()
                    .map(|c| {
                        let mut cm = Map::new();
                        let fields =
                            [("reason", c.reason.as_str()), ("message", &c.message), ("field", &c.field)];
                        for (k, v) in fields {
                            if !v.is_empty() {
                                cm.insert(k.into(), json!(v));
                            }
                        }
                        Value::Object(cm)
                    })
                    .collect();
                dm.insert("causes".into(), Value::Array(causes));
            }
            if d.retry_after_seconds > 0 {
                dm.insert("retryAfterSeconds".into(), json!(d.retry_after_seconds));
            }
            m.insert("details".into(), Value::Object(dm));
        }
        m.insert("code".into(), json!(self.code));
        Value::Object(m)
    }

    /// Compact JSON as Go's encoder writes it (HTML characters escaped, trailing newline).
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        go_json_into(&self.to_value(), &mut out);
        out.push(b'\n');
        out
    }
}

/// Compact JSON with `<`, `>`, `&`, U+2028 and U+2029 escaped as Go's `encoding/json` does.
pub fn go_json(v: &Value) -> String {
    if let Value::Object(_) | Value::Array(_) = v {
        let mut out = Vec::with_capacity(128);
        go_json_into(v, &mut out);
        // The serializer writes UTF-8 only (it escapes nothing else into bytes).
        return String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    }
    let mut out = String::new();
    go_json_push(&mut out, v);
    out
}

/// [`go_json`] appended to `out`: strings with nothing to escape, integers and booleans
/// written directly (the keys of field paths and most of their values are such scalars),
/// anything else through the serializer.
pub fn go_json_push(out: &mut String, v: &Value) {
    match v {
        Value::String(s) => go_json_push_str(out, s),
        Value::Number(n) if n.is_i64() || n.is_u64() => out.push_str(&n.to_string()),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        _ => push_serialized(out, v),
    }
}

/// A string as [`go_json_push`] writes it.
pub fn go_json_push_str(out: &mut String, s: &str) {
    let plain =
        s.bytes().all(|b| (0x20..0x7f).contains(&b) && !matches!(b, b'"' | b'\\' | b'<' | b'>' | b'&'));
    if plain {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        push_serialized(out, s);
    }
}

fn push_serialized(out: &mut String, x: &(impl serde::Serialize + ?Sized)) {
    let mut bytes = Vec::with_capacity(128);
    serialize_go(x, &mut bytes);
    // The serializer writes UTF-8 only (it escapes nothing else into bytes).
    out.push_str(&String::from_utf8_lossy(&bytes));
}

/// [`go_json`] appended to `out`: serialized straight into the buffer, the HTML characters
/// escaped as the strings are written (no second pass over the text).
pub fn go_json_into(v: &Value, out: &mut Vec<u8>) {
    serialize_go(v, out);
}

fn serialize_go(x: &(impl serde::Serialize + ?Sized), out: &mut Vec<u8>) {
    let mut ser = serde_json::Serializer::with_formatter(out, GoFormatter);
    // Writing a Value or a string to a Vec cannot fail: keys are strings and the Vec grows.
    let _ = x.serialize(&mut ser);
}

/// serde_json's compact form with Go's escapes in strings (and keys): `<`, `>`, `&` and the
/// line and paragraph separators U+2028 and U+2029.
struct GoFormatter;

impl serde_json::ser::Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let bytes = fragment.as_bytes();
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            let (escaped, len): (&[u8], usize) = match bytes[i] {
                b'<' => (b"\\u003c", 1),
                b'>' => (b"\\u003e", 1),
                b'&' => (b"\\u0026", 1),
                // U+2028 and U+2029 (E2 80 A8 / A9), which Go escapes too.
                0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA8) => (b"\\u2028", 3),
                0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA9) => (b"\\u2029", 3),
                _ => {
                    i += 1;
                    continue;
                }
            };
            w.write_all(&bytes[start..i])?;
            w.write_all(escaped)?;
            i += len;
            start = i;
        }
        w.write_all(&bytes[start..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_json_escapes_html_characters_in_keys_and_strings_only() {
        let v = json!({"a<b": "x>&y", "n": 1.5, "l": ["<", "plain", "\u{2028}"], "e": "", "p": "a\u{2029}é"});
        assert_eq!(
            go_json(&v),
            r#"{"a\u003cb":"x\u003e\u0026y","n":1.5,"l":["\u003c","plain","\u2028"],"e":"","p":"a\u2029é"}"#
        );
        let mut out = b"[".to_vec();
        go_json_into(&json!("&&"), &mut out);
        assert_eq!(out, br#"["\u0026\u0026""#);
    }

    /// The scalars written without the serializer are the serializer's text.
    #[test]
    fn scalars_pushed_directly_are_what_the_serializer_writes() {
        for v in [
            json!("plain-text_1.2/x:y"),
            json!("<&>"),
            json!("q\"b\\"),
            json!("tab\t"),
            json!("é\u{2028}"),
            json!(""),
            json!(-12),
            json!(18446744073709551615_u64),
            json!(1.5),
            json!(true),
            json!(false),
            json!(null),
            json!({"b": 1, "a": [1, "<x>"]}),
        ] {
            let mut serialized = Vec::new();
            go_json_into(&v, &mut serialized);
            let serialized = String::from_utf8(serialized).unwrap();
            let mut pushed = String::from("[");
            go_json_push(&mut pushed, &v);
            assert_eq!(pushed, format!("[{serialized}"), "{v}");
            assert_eq!(go_json(&v), serialized, "{v}");
            if let Value::String(s) = &v {
                let mut pushed = String::new();
                go_json_push_str(&mut pushed, s);
                assert_eq!(pushed, serialized);
            }
        }
    }

    #[test]
    fn forbidden_list_pods_matches_kube() {
        let e = StatusError::forbidden(
            &GroupResource::new("", "pods"),
            "",
            "User \"alice\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\"",
        );
        assert_eq!(
            String::from_utf8_lossy(&e.to_json()).trim_end(),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods is forbidden: User \"alice\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\"","reason":"Forbidden","details":{"kind":"pods"},"code":403}"#
        );
    }

    #[test]
    fn non_resource_forbidden_has_empty_details() {
        let e = StatusError::forbidden(
            &GroupResource::default(),
            "",
            "User \"system:anonymous\" cannot get path \"/metrics\"",
        );
        assert_eq!(
            String::from_utf8_lossy(&e.to_json()).trim_end(),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"forbidden: User \"system:anonymous\" cannot get path \"/metrics\"","reason":"Forbidden","details":{},"code":403}"#
        );
    }

    #[test]
    fn unauthorized_and_not_found() {
        assert_eq!(
            String::from_utf8_lossy(&StatusError::unauthorized("Unauthorized").to_json()).trim_end(),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#
        );
        assert_eq!(
            String::from_utf8_lossy(
                &StatusError::not_found(&GroupResource::new("apps", "deployments"), "web").to_json()
            )
            .trim_end(),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"deployments.apps \"web\" not found","reason":"NotFound","details":{"name":"web","group":"apps","kind":"deployments"},"code":404}"#
        );
    }

    #[test]
    fn causes_keep_kube_wire_strings() {
        let cause = StatusCause {
            reason: CauseType::FieldValueRequired,
            message: "Required value: name or generateName is required".into(),
            field: "metadata.name".into(),
        };
        let e = StatusError::invalid(
            &GroupKind { group: String::new(), kind: "ConfigMap".into() },
            "",
            vec![cause],
        );
        assert_eq!(
            String::from_utf8_lossy(&e.to_json()).trim_end(),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"ConfigMap \"\" is invalid: metadata.name: Required value: name or generateName is required","reason":"Invalid","details":{"kind":"ConfigMap","causes":[{"reason":"FieldValueRequired","message":"Required value: name or generateName is required","field":"metadata.name"}]},"code":422}"#
        );
        // kube's internal error cause has no type: `reason` is left out.
        assert_eq!(
            String::from_utf8_lossy(&StatusError::internal("boom").to_json()).trim_end(),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Internal error occurred: boom","reason":"InternalError","details":{"causes":[{"message":"boom"}]},"code":500}"#
        );
    }

    #[test]
    fn reason_checks_mirror_kube() {
        let gr = GroupResource::new("", "configmaps");
        let conflict = StatusError::stale_update(&gr, "cfg");
        assert!(conflict.is_conflict() && !conflict.is_already_exists());
        let exists = StatusError::already_exists(&gr, "cfg");
        assert!(exists.is_already_exists() && !exists.is_conflict(), "a known reason wins over the code");
        assert!(StatusError::not_found(&gr, "x").is_not_found());
        assert!(StatusError::not_found_path().is_not_found());
        assert!(StatusError::forbidden(&gr, "x", "no").is_forbidden());
        assert!(StatusError::internal("boom").is_internal_error());
        assert!(StatusError::resource_expired("old").is_resource_expired());
        assert!(StatusError::timeout("slow", 0).is_timeout());
        // A reason kube does not name: the code decides, as in kube's IsXxx.
        let bare = |code| StatusError {
            code,
            reason: StatusReason::Unknown,
            message: String::new(),
            details: None,
            continue_token: None,
        };
        assert!(bare(409).is_conflict() && !bare(409).is_already_exists());
        assert!(bare(404).is_not_found() && bare(403).is_forbidden() && bare(500).is_internal_error());
        assert!(!bare(500).is_server_timeout());
        // 429 and 413 count whatever the reason.
        let mut e = StatusError::bad_request("x");
        e.code = 429;
        assert!(e.is_too_many_requests() && e.is_bad_request());
    }

    #[test]
    fn conflict_message() {
        let e = StatusError::stale_update(&GroupResource::new("", "configmaps"), "cfg");
        assert_eq!(e.message, "Operation cannot be fulfilled on configmaps \"cfg\": the object has been modified; please apply your changes to the latest version and try again");
    }
}
