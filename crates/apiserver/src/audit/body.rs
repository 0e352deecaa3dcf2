//! Request and response bodies in audit events, and what never goes into them.
//!
//! As kube's `LogRequestObject` / `LogRequestPatch` / `LogResponseObject`: a write's decoded
//! object completes the event's object reference (name, namespace, uid, resourceVersion) at
//! level Metadata and above, and is recorded itself at Request and above; a patch is recorded
//! as sent; the response object at RequestResponse; an error Status's bounded fields at every
//! level; bodies of resource requests only, as kube's REST handlers log them.
//! `omitManagedFields` drops `metadata.managedFields` (of each item of a list too).
//!
//! Never written, whatever the policy: bearer tokens (a TokenReview's `spec.token`, a
//! TokenRequest's `status.token`, the token of a service-account token Secret, the secret of
//! a bootstrap token Secret). A Secret's body is written only when the matching rule names
//! `secrets` ([`RequestAuditConfig::secret_bodies`]); nor, without such a rule, the message
//! and causes of a 400, 422 or 500 answer about a Secret (a decoding or validation error can
//! quote the value sent).

use super::event::ResponseStatus;
use super::policy::{Level, RequestAuditConfig};
use apimachinery::RequestInfo;
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// What a handler hands to the audit record about the request's body; shared between the
/// record and the request context.
#[derive(Debug)]
pub struct Capture {
    /// Bodies are recorded (level Request or above, and not a Secret the rule did not name).
    keep_body: bool,
    omit_managed_fields: bool,
    group: String,
    resource: String,
    subresource: String,
    inner: Mutex<Captured>,
}

/// The request object and the reference fields it completes.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub resource_version: String,
    pub object: Option<Arc<Value>>,
}

/// Whether the bodies of this request may be written under `config`.
pub fn bodies_allowed(config: &RequestAuditConfig, info: &RequestInfo) -> bool {
    config.level >= Level::Request && (config.secret_bodies || !is_secret(&info.api_group, &info.resource))
}

fn is_secret(group: &str, resource: &str) -> bool {
    group.is_empty() && resource == "secrets"
}

impl Capture {
    /// A capture for a write request at `config`, or `None` when nothing would be kept
    /// (level None, or a verb without a body).
    pub fn for_request(config: &RequestAuditConfig, info: &RequestInfo) -> Option<Arc<Capture>> {
        let writes =
            matches!(info.verb.as_str(), "create" | "update" | "patch" | "delete" | "deletecollection");
        if config.level == Level::None || !info.is_resource_request || !writes {
            return None;
        }
        Some(Arc::new(Capture {
            keep_body: bodies_allowed(config, info),
            omit_managed_fields: config.omit_managed_fields,
            group: info.api_group.clone(),
            resource: info.resource.clone(),
            subresource: info.subresource.clone(),
            inner: Mutex::new(Captured::default()),
        }))
    }

    /// A decoded request object (create, update, a subresource write, DeleteOptions).
    pub fn object(&self, v: &Value) {
        let s = |p: &str| v.pointer(p).and_then(Value::as_str).unwrap_or_default().to_string();
        let mut object = None;
        if self.keep_body {
            let mut copy = v.clone();
            self.clean(&mut copy);
            object = Some(Arc::new(copy));
        }
        // A panic elsewhere cannot leave the captured fields half-written: each is one store.
        let mut c = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        c.namespace = s("/metadata/namespace");
        c.name = s("/metadata/name");
        c.uid = s("/metadata/uid");
        c.resource_version = s("/metadata/resourceVersion");
        c.object = object;
    }

    /// A patch, recorded as sent (JSON; a YAML apply patch as its JSON form).
    pub fn patch(&self, bytes: &[u8], content_type: &str) {
        if !self.keep_body || bytes.is_empty() {
            return;
        }
        let parsed: Option<Value> = if content_type.contains("yaml") {
            apimachinery::yaml::from_slice(bytes).ok()
        } else {
            serde_json::from_slice(bytes).ok()
        };
        if let Some(mut v) = parsed {
            self.clean(&mut v);
            self.inner.lock().unwrap_or_else(|e| e.into_inner()).object = Some(Arc::new(v));
        }
    }

    /// A DELETE body (DeleteOptions): recorded at Request and above, no reference fields.
    pub fn delete_options(&self, bytes: &[u8], content_type: &str) {
        if !self.keep_body || bytes.is_empty() {
            return;
        }
        if let Ok(v) = crate::rest::decode_object(bytes, content_type) {
            self.inner.lock().unwrap_or_else(|e| e.into_inner()).object = Some(Arc::new(v));
        }
    }

    pub fn snapshot(&self) -> Captured {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn clean(&self, v: &mut Value) {
        if self.omit_managed_fields {
            remove_managed_fields(v);
        }
        redact_tokens(&self.group, &self.resource, &self.subresource, v);
    }
}

/// Drops `metadata.managedFields` from an object, or from each item of a list.
pub fn remove_managed_fields(v: &mut Value) {
    if let Some(items) = v.get_mut("items").and_then(Value::as_array_mut) {
        for item in items {
            if let Some(m) = item.get_mut("metadata").and_then(Value::as_object_mut) {
                m.remove("managedFields");
            }
        }
    }
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
    }
}

/// Removes every bearer token a body of this resource can carry (see the module docs).
pub fn redact_tokens(group: &str, resource: &str, subresource: &str, v: &mut Value) {
    match (group, resource, subresource) {
        ("authentication.k8s.io", "tokenreviews", _) => {
            if let Some(spec) = v.get_mut("spec").and_then(Value::as_object_mut) {
                spec.remove("token");
            }
        }
        ("", "serviceaccounts", "token") => {
            if let Some(status) = v.get_mut("status").and_then(Value::as_object_mut) {
                status.remove("token");
            }
        }
        ("", "secrets", _) => {
            if let Some(items) = v.get_mut("items").and_then(Value::as_array_mut) {
                items.iter_mut().for_each(redact_secret);
            }
            redact_secret(v);
        }
        _ => {}
    }
}

/// The token of a service-account token Secret, the secret of a bootstrap token: bearer
/// credentials even when the policy asks for Secret bodies.
fn redact_secret(v: &mut Value) {
    let key = match v.get("type").and_then(Value::as_str) {
        Some("kubernetes.io/service-account-token") => "token",
        Some("bootstrap.kubernetes.io/token") => "token-secret",
        _ => return,
    };
    for field in ["data", "stringData"] {
        if let Some(m) = v.get_mut(field).and_then(Value::as_object_mut) {
            m.remove(key);
        }
    }
}

/// The response's Status fields (kube copies them when the answer is a Status) and, at
/// RequestResponse, the response object, from the body as sent. `json` is the body when it
/// was JSON or YAML and known whole.
pub fn response(
    config: &RequestAuditConfig,
    info: &RequestInfo,
    code: u16,
    body: Option<Value>,
) -> (ResponseStatus, Option<Value>) {
    let mut status = ResponseStatus { code, ..Default::default() };
    let Some(mut v) = body else { return (status, None) };
    if v.get("kind").and_then(Value::as_str) == Some("Status") {
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        status.status = s("status");
        status.message = s("message");
        status.reason = s("reason");
        status.details = v.get("details").cloned();
        if let Some(c) = v.get("code").and_then(Value::as_u64).and_then(|c| u16::try_from(c).ok()) {
            status.code = c;
        }
        // A decoding or validation error about a Secret can quote what was sent.
        if is_secret(&info.api_group, &info.resource)
            && !config.secret_bodies
            && matches!(status.code, 400 | 422 | 500)
        {
            status.message.clear();
            if let Some(causes) = status.details.as_mut().and_then(Value::as_object_mut) {
                causes.remove("causes");
            }
        }
    }
    if config.level < Level::RequestResponse || !info.is_resource_request || !bodies_allowed(config, info) {
        return (status, None);
    }
    if config.omit_managed_fields {
        remove_managed_fields(&mut v);
    }
    redact_tokens(&info.api_group, &info.resource, &info.subresource, &mut v);
    (status, Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(level: Level, secret_bodies: bool) -> RequestAuditConfig {
        RequestAuditConfig { level, secret_bodies, ..RequestAuditConfig::NONE }
    }

    #[test]
    fn secrets_need_an_explicit_rule_and_tokens_never_show() {
        let info = RequestInfo::new("POST", "/api/v1/namespaces/d/secrets", None);
        let secret = json!({"kind": "Secret", "type": "kubernetes.io/service-account-token",
            "metadata": {"name": "s", "namespace": "d"}, "data": {"token": "dG9r", "ca.crt": "Y2E="}});
        let c = Capture::for_request(&config(Level::RequestResponse, false), &info).unwrap();
        c.object(&secret);
        let got = c.snapshot();
        assert_eq!((got.name.as_str(), got.object.is_none()), ("s", true), "the reference, not the body");
        let c = Capture::for_request(&config(Level::Request, true), &info).unwrap();
        c.object(&secret);
        let body = c.snapshot().object.unwrap();
        assert_eq!(body["data"], json!({"ca.crt": "Y2E="}), "the token never");
        let (_, resp) = response(&config(Level::RequestResponse, false), &info, 201, Some(secret.clone()));
        assert!(resp.is_none());
        let (_, resp) = response(&config(Level::RequestResponse, true), &info, 201, Some(secret));
        assert!(resp.unwrap()["data"].get("token").is_none());
    }

    #[test]
    fn errors_about_secrets_do_not_quote_them() {
        let info = RequestInfo::new("POST", "/api/v1/namespaces/d/secrets", None);
        let st = json!({"kind": "Status", "status": "Failure", "reason": "BadRequest", "code": 400,
            "message": "invalid type: string \"hunter2\"", "details": {"causes": [{"message": "hunter2"}]}});
        let (s, _) = response(&config(Level::Metadata, false), &info, 400, Some(st.clone()));
        assert_eq!((s.code, s.reason.as_str(), s.message.as_str()), (400, "BadRequest", ""));
        assert_eq!(s.details, Some(json!({})));
        let (s, _) = response(&config(Level::Request, true), &info, 400, Some(st));
        assert!(s.message.contains("hunter2"), "a rule naming secrets keeps it");
    }

    #[test]
    fn token_reviews_and_requests_lose_their_tokens() {
        let info = RequestInfo::new("POST", "/apis/authentication.k8s.io/v1/tokenreviews", None);
        let c = Capture::for_request(&config(Level::RequestResponse, false), &info).unwrap();
        c.object(&json!({"kind": "TokenReview", "spec": {"token": "abc", "audiences": ["x"]}}));
        assert_eq!(c.snapshot().object.unwrap()["spec"], json!({"audiences": ["x"]}));
        let info = RequestInfo::new("POST", "/api/v1/namespaces/d/serviceaccounts/sa/token", None);
        let body = json!({"kind": "TokenRequest", "status": {"token": "abc", "expirationTimestamp": "t"}});
        let (_, resp) = response(&config(Level::RequestResponse, false), &info, 201, Some(body));
        assert_eq!(resp.unwrap()["status"], json!({"expirationTimestamp": "t"}));
    }

    #[test]
    fn status_fields_at_metadata_and_managed_fields_omitted() {
        let info = RequestInfo::new("GET", "/api/v1/namespaces/d/pods", None);
        let st = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "pods \"x\" not found", "reason": "NotFound", "details": {"name": "x", "kind": "pods"}, "code": 404});
        let (s, resp) = response(&config(Level::Metadata, false), &info, 404, Some(st));
        assert_eq!((s.code, s.reason.as_str(), resp), (404, "NotFound", None));
        let list = json!({"kind": "PodList", "items": [{"metadata": {"name": "a", "managedFields": []}}]});
        let cfg = RequestAuditConfig { omit_managed_fields: true, ..config(Level::RequestResponse, false) };
        let (s, resp) = response(&cfg, &info, 200, Some(list));
        assert_eq!((s.code, s.status.as_str()), (200, ""));
        assert_eq!(resp.unwrap()["items"][0]["metadata"], json!({"name": "a"}));
        assert!(Capture::for_request(&cfg, &info).is_none(), "a list has no request body");
    }
}
