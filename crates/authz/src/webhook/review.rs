//! The `authorization.k8s.io/v1` SubjectAccessReview the webhook receives, and its answer.

use apimachinery::Attributes;
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// The part of the answer that decides.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReviewStatus {
    pub allowed: bool,
    pub denied: bool,
    pub reason: String,
    pub evaluation_error: String,
}

fn put(map: &mut Map<String, Value>, key: &str, value: &str) {
    if !value.is_empty() {
        map.insert(key.into(), Value::String(value.into()));
    }
}

/// The SubjectAccessReview version a webhook speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Version {
    #[default]
    V1,
    /// authorization.k8s.io/v1beta1: the same review, its groups under `group`.
    V1Beta1,
}

impl Version {
    fn api_version(self) -> &'static str {
        match self {
            Version::V1 => "authorization.k8s.io/v1",
            Version::V1Beta1 => "authorization.k8s.io/v1beta1",
        }
    }
}

/// The review's `spec` for `attrs` (empty fields left out, as kube's `omitempty`).
pub fn spec(attrs: &Attributes) -> Value {
    spec_as(attrs, Version::V1)
}

/// The review's `spec` at `version`.
pub fn spec_as(attrs: &Attributes, version: Version) -> Value {
    let mut spec = Map::new();
    if attrs.resource_request {
        let mut r = Map::new();
        put(&mut r, "namespace", &attrs.namespace);
        put(&mut r, "verb", &attrs.verb);
        put(&mut r, "group", &attrs.api_group);
        put(&mut r, "version", &attrs.api_version);
        put(&mut r, "resource", &attrs.resource);
        put(&mut r, "subresource", &attrs.subresource);
        put(&mut r, "name", &attrs.name);
        spec.insert("resourceAttributes".into(), Value::Object(r));
    } else {
        let mut n = Map::new();
        put(&mut n, "path", &attrs.path);
        put(&mut n, "verb", &attrs.verb);
        spec.insert("nonResourceAttributes".into(), Value::Object(n));
    }
    let user = &attrs.user;
    put(&mut spec, "user", &user.name);
    if !user.groups.is_empty() {
        let key = if version == Version::V1Beta1 { "group" } else { "groups" };
        spec.insert(key.into(), json!(user.groups));
    }
    if !user.extra.is_empty() {
        spec.insert("extra".into(), json!(user.extra));
    }
    put(&mut spec, "uid", &user.uid);
    Value::Object(spec)
}

/// The cache key (the spec's JSON, as kube keys its cache) and the request body.
pub fn request(attrs: &Attributes, version: Version) -> (String, Vec<u8>) {
    let spec = spec_as(attrs, version);
    let key = spec.to_string();
    let body = json!({
        "apiVersion": version.api_version(),
        "kind": "SubjectAccessReview",
        "metadata": {"creationTimestamp": null},
        "spec": spec,
        "status": {"allowed": false},
    });
    (key, body.to_string().into_bytes())
}

/// Reads the webhook's answer.
pub fn parse_response(body: &[u8]) -> Result<ReviewStatus, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("decoding the review: {e}"))?;
    match value.get("status") {
        Some(status) if !status.is_null() => {
            serde_json::from_value(status.clone()).map_err(|e| format!("decoding the review status: {e}"))
        }
        _ => Ok(ReviewStatus::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apimachinery::UserInfo;

    #[test]
    fn review_shapes() {
        let mut user = UserInfo::new("alice", vec!["dev".into()]);
        user.extra.insert("scopes".into(), vec!["a".into()]);
        let attrs = Attributes {
            user,
            verb: "get".into(),
            resource_request: true,
            namespace: "prod".into(),
            api_version: "v1".into(),
            resource: "pods".into(),
            name: "web".into(),
            ..Default::default()
        };
        let (key, body) = request(&attrs, Version::V1);
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body["spec"],
            json!({"resourceAttributes": {"namespace": "prod", "verb": "get", "version": "v1", "resource": "pods", "name": "web"},
                   "user": "alice", "groups": ["dev"], "extra": {"scopes": ["a"]}})
        );
        assert_eq!(body["kind"], "SubjectAccessReview");
        assert_eq!(key, body["spec"].to_string());
        let (_, beta) = request(&attrs, Version::V1Beta1);
        let beta: Value = serde_json::from_slice(&beta).unwrap();
        assert_eq!(
            (beta["apiVersion"].as_str(), &beta["spec"]["group"]),
            (Some("authorization.k8s.io/v1beta1"), &json!(["dev"]))
        );
        let path = Attributes { verb: "get".into(), path: "/healthz".into(), ..Default::default() };
        assert_eq!(spec(&path), json!({"nonResourceAttributes": {"path": "/healthz", "verb": "get"}}));
    }

    #[test]
    fn parses_answers() {
        let s = parse_response(br#"{"status": {"allowed": true, "reason": "ok"}}"#).unwrap();
        assert_eq!((s.allowed, s.denied, s.reason.as_str()), (true, false, "ok"));
        assert_eq!(parse_response(b"{}").unwrap(), ReviewStatus::default());
        assert!(parse_response(b"nope").is_err());
        assert!(parse_response(br#"{"status": {"allowed": "yes"}}"#).is_err());
    }
}
