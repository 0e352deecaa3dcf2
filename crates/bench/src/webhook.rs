//! The webhook side of the admission comparison (issue 18): the ten checks of the bench's
//! ValidatingAdmissionPolicies ([`crate::writes::POLICY_RULES`]) run by a validating
//! admission webhook on loopback, the shape of Kyverno or OPA Gatekeeper: its own process,
//! HTTPS (hyper + rustls, the bare server's settings), one AdmissionReview per create.
//!
//! The checks are written in Rust against the review's JSON, so the webhook spends as
//! little as a webhook can: the comparison charges it only for what every webhook pays
//! (the review's encoding, the HTTPS round trip, the decoding), never for a policy engine.

use crate::client::{connect, Target};
use crate::BenchError;
use base64::Engine;
use bytes::Bytes;
use http::{header, HeaderValue, Method, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::net::TcpListener;

/// The name of the ValidatingWebhookConfiguration (and of its one webhook, qualified).
pub const CONFIGURATION: &str = "bench-webhook";
const WEBHOOK: &str = "bench.webhook.kubeward.dev";

/// The path the webhook answers.
pub const PATH: &str = "/validate";

/// Largest AdmissionReview read (kube sends about the object's size twice).
const MAX_REVIEW_BYTES: usize = 3 << 20;

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k)).and_then(Value::as_str)
}

/// The ten checks over an AdmissionRequest (`review.request`): `None` when all pass, else
/// the message of the first that fails (the expression it stands for).
pub fn check(request: &Value) -> Option<&'static str> {
    let object = request.get("object").unwrap_or(&Value::Null);
    let meta = object.get("metadata").unwrap_or(&Value::Null);
    let name = meta.get("name").and_then(Value::as_str).unwrap_or_default();
    let labels = meta.get("labels").and_then(Value::as_object);
    let data = object.get("data").and_then(Value::as_object);
    let app = labels.and_then(|l| l.get("app")).and_then(Value::as_str);
    let user = str_at(request, &["userInfo", "username"]).unwrap_or_default();
    let annotations = meta.get("annotations").and_then(Value::as_object).map_or(0, |a| a.len());
    let checks: [(bool, &'static str); 10] = [
        (name.chars().count() <= 63, super::writes::POLICY_RULES[0]),
        (app.is_some(), super::writes::POLICY_RULES[1]),
        (data.is_none_or(|d| d.keys().all(|k| k.chars().count() < 64)), super::writes::POLICY_RULES[2]),
        (
            app.is_some_and(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')),
            super::writes::POLICY_RULES[3],
        ),
        (user != "nobody", super::writes::POLICY_RULES[4]),
        (object.get("binaryData").is_none(), super::writes::POLICY_RULES[5]),
        (data.is_none_or(|d| d.len() <= 16), super::writes::POLICY_RULES[6]),
        (annotations < 10, super::writes::POLICY_RULES[7]),
        (!name.starts_with("forbidden"), super::writes::POLICY_RULES[8]),
        (name != super::writes::PROBE, super::writes::POLICY_RULES[9]),
    ];
    checks.iter().find(|(ok, _)| !ok).map(|(_, rule)| *rule)
}

/// The AdmissionReview answering `review`: allowed, or refused with a 403 Status naming
/// the failed check.
pub fn answer(review: &Value) -> Value {
    let request = review.get("request").unwrap_or(&Value::Null);
    let uid = request.get("uid").cloned().unwrap_or(Value::String(String::new()));
    let response = match check(request) {
        None => json!({"uid": uid, "allowed": true}),
        Some(rule) => json!({"uid": uid, "allowed": false, "status": {
            "code": 403, "reason": "Forbidden", "message": format!("failed expression: {rule}")}}),
    };
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response})
}

fn reply(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

async fn handle(req: http::Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    if req.method() != Method::POST || req.uri().path() != PATH {
        return reply(StatusCode::NOT_FOUND, Bytes::from_static(b"not found"));
    }
    let limited = http_body_util::Limited::new(req.into_body(), MAX_REVIEW_BYTES);
    let body = match limited.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return reply(StatusCode::PAYLOAD_TOO_LARGE, Bytes::from_static(b"too large")),
    };
    match serde_json::from_slice::<Value>(&body) {
        Ok(review) => reply(StatusCode::OK, Bytes::from(answer(&review).to_string())),
        Err(_) => reply(StatusCode::BAD_REQUEST, Bytes::from_static(b"not an AdmissionReview")),
    }
}

/// Serves the webhook until the listener fails; each connection on its own task.
pub async fn serve(listener: TcpListener, tls: Arc<rustls::ServerConfig>) -> std::io::Error {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let tcp = match listener.accept().await {
            Ok((tcp, _)) => tcp,
            Err(e) => return e,
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else { return };
            let service =
                service_fn(|req| async move { Ok::<_, std::convert::Infallible>(handle(req).await) });
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder.http2().timer(TokioTimer::new()).max_concurrent_streams(250);
            let _ = builder.serve_connection(TokioIo::new(tls), service).await;
        });
    }
}

/// The ValidatingWebhookConfiguration calling the webhook at `url` over ConfigMap creates,
/// its server certificate verified against `ca_pem` (the caBundle).
pub fn configuration(url: &str, ca_pem: &[u8]) -> Value {
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": CONFIGURATION},
        "webhooks": [{
            "name": WEBHOOK,
            "clientConfig": {"url": url, "caBundle": base64::engine::general_purpose::STANDARD.encode(ca_pem)},
            "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                "resources": ["configmaps"]}],
            "failurePolicy": "Fail", "sideEffects": "None", "admissionReviewVersions": ["v1"],
            "timeoutSeconds": 10,
        }],
    })
}

/// Installs the webhook at `url` (replacing an older one) after removing the bench's
/// policies, and waits until the webhook, not a policy, refuses the probe (a dry run).
pub async fn install(target: &Target, namespace: &str, url: &str, ca_pem: &[u8]) -> Result<(), BenchError> {
    crate::writes::remove_policies(target).await?;
    let mut conn = connect(target).await?;
    let base = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations";
    let _ = conn.call(Method::DELETE, &format!("{base}/{CONFIGURATION}"), &[], Bytes::new()).await?;
    let body = Bytes::from(configuration(url, ca_pem).to_string());
    conn.expect_ok(Method::POST, base, body, true).await?;
    crate::writes::wait_refused(&mut conn, namespace, "admission webhook").await
}

/// Removes the webhook's configuration (absent is fine).
pub async fn remove(target: &Target) -> Result<(), BenchError> {
    let mut conn = connect(target).await?;
    let path =
        format!("/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/{CONFIGURATION}");
    let _ = conn.call(Method::DELETE, &path, &[], Bytes::new()).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str, labels: Value) -> Value {
        json!({"uid": "u", "userInfo": {"username": "admin"},
            "object": {"metadata": {"name": name, "labels": labels}, "data": {"v": "x"}}})
    }

    #[test]
    fn the_bench_objects_pass_and_each_rule_refuses() {
        assert_eq!(check(&request("w1-0", json!({"app": "bench"}))), None);
        assert_eq!(
            check(&request("vap-probe", json!({"app": "bench"}))),
            Some(crate::writes::POLICY_RULES[9])
        );
        assert_eq!(check(&request("w1-0", json!({}))), Some(crate::writes::POLICY_RULES[1]));
        assert_eq!(check(&request("w1-0", json!({"app": "Bench"}))), Some(crate::writes::POLICY_RULES[3]));
        assert_eq!(check(&request("forbidden-x", json!({"app": "a"}))), Some(crate::writes::POLICY_RULES[8]));
        assert_eq!(
            check(&request(&"a".repeat(64), json!({"app": "a"}))),
            Some(crate::writes::POLICY_RULES[0])
        );
        let mut r = request("w1-0", json!({"app": "a"}));
        r["userInfo"]["username"] = json!("nobody");
        assert_eq!(check(&r), Some(crate::writes::POLICY_RULES[4]));
        let refused = answer(&json!({"request": request("vap-probe", json!({"app": "a"}))}));
        assert_eq!(refused["response"]["allowed"], json!(false));
        assert_eq!(refused["response"]["uid"], json!("u"));
        assert_eq!(refused["response"]["status"]["code"], json!(403));
    }
}
