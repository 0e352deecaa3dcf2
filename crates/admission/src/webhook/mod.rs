//! MutatingAdmissionWebhook and ValidatingAdmissionWebhook: read the Mutating/Validating
//! WebhookConfiguration objects from the context, pick the webhooks whose rules and selectors
//! match, POST an AdmissionReview to each `clientConfig.url` (or the Service a
//! `clientConfig.service` names, resolved through its endpoints: [`service`]), and apply the answer (a denial
//! becomes kube's Status; a mutating webhook's base64 JSONPatch is applied to the object).
//! Calls go through the plugin's [`ClientManager`]: one outbound target per `clientConfig`.

pub mod clients;
pub mod matching;
pub mod review;
pub mod service;

use crate::types::{
    at, str_at, AdmissionContext, AdmissionRequest, MutatingPlugin, Operation, ValidatingPlugin,
};
use apimachinery::quote::go_quote;
use apimachinery::StatusError;
use async_trait::async_trait;
use base64::Engine;
pub use clients::ClientManager;
use serde_json::Value;
use std::time::Duration;

pub const MUTATING: &str = "MutatingAdmissionWebhook";
pub const VALIDATING: &str = "ValidatingAdmissionWebhook";
const GROUP: &str = "admissionregistration.k8s.io";

/// Default `timeoutSeconds`.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 10;

/// MutatingAdmissionWebhook; its targets are kept across requests.
#[derive(Debug, Default)]
pub struct MutatingWebhook {
    clients: ClientManager,
}

/// ValidatingAdmissionWebhook; its targets are kept across requests.
#[derive(Debug, Default)]
pub struct ValidatingWebhook {
    clients: ClientManager,
}

/// Why one webhook could not be used; with failurePolicy Ignore these are skipped.
#[derive(Debug, thiserror::Error)]
enum CallFailure {
    #[error("failed to call webhook: {0}")]
    Call(#[from] outbound::Error),
    #[error("failed to call webhook: {0}")]
    Client(#[from] outbound::ConfigError),
    #[error("{0}")]
    Other(String),
}

async fn namespace_labels(
    req: &AdmissionRequest,
    ctx: &dyn AdmissionContext,
) -> Result<Option<Value>, StatusError> {
    if req.group.is_empty() && req.resource == "namespaces" {
        return Ok(req.labels().cloned());
    }
    let ns = ctx.get("", "namespaces", "", &req.namespace).await?;
    Ok(ns.and_then(|n| at(&n, &["metadata", "labels"]).cloned()))
}

/// The webhooks of every configuration of `resource` that apply to the request, in order
/// (configurations sorted by name, as kube does).
async fn matching_webhooks(
    resource: &str,
    req: &AdmissionRequest,
    ctx: &dyn AdmissionContext,
) -> Result<Vec<Value>, StatusError> {
    if matching::exempt(req) {
        return Ok(Vec::new());
    }
    let mut configs = ctx.list(GROUP, resource, "").await?;
    if configs.is_empty() {
        return Ok(Vec::new());
    }
    configs.sort_by(|a, b| str_at(a, &["metadata", "name"]).cmp(&str_at(b, &["metadata", "name"])));
    let cluster_scoped_other =
        req.namespace.is_empty() && !(req.group.is_empty() && req.resource == "namespaces");
    let mut ns_labels: Option<Option<Value>> = None;
    let mut out = Vec::new();
    for cfg in &configs {
        for wh in crate::types::array_at(cfg, &["webhooks"]) {
            if !matching::rules_match(wh, req) {
                continue;
            }
            let name = str_at(wh, &["name"]).unwrap_or("");
            let bad_selector = |e: String| {
                StatusError::internal(&format!("webhook {}: invalid selector: {e}", go_quote(name)))
            };
            let obj_sel = matching::selector(wh, "objectSelector").map_err(bad_selector)?;
            if !matching::object_selected(&obj_sel, req) {
                continue;
            }
            let ns_sel = matching::selector(wh, "namespaceSelector").map_err(bad_selector)?;
            if !ns_sel.is_empty() && !cluster_scoped_other {
                if ns_labels.is_none() {
                    ns_labels = Some(namespace_labels(req, ctx).await?);
                }
                if !ns_sel.matches_json(ns_labels.as_ref().and_then(Option::as_ref)) {
                    continue;
                }
            }
            out.push(wh.clone());
        }
    }
    Ok(out)
}

/// Calls one webhook: `Ok(response)` or a failure to be handled by failurePolicy.
async fn call(
    wh: &Value,
    req: &AdmissionRequest,
    clients: &ClientManager,
    ctx: &dyn AdmissionContext,
) -> Result<Value, CallFailure> {
    let versions: Vec<&str> =
        crate::types::array_at(wh, &["admissionReviewVersions"]).iter().filter_map(Value::as_str).collect();
    let api_version = if versions.is_empty() || versions.contains(&"v1") {
        "admission.k8s.io/v1"
    } else if versions.contains(&"v1beta1") {
        "admission.k8s.io/v1beta1"
    } else {
        return Err(CallFailure::Other(format!(
            "webhook does not accept known AdmissionReview versions: {versions:?}"
        )));
    };
    let (url, server_name) =
        match (str_at(wh, &["clientConfig", "url"]), at(wh, &["clientConfig", "service"])) {
            (Some(u), _) => (u.to_string(), None),
            (None, Some(svc)) => {
                let r = service::resolve(svc, ctx).await.map_err(CallFailure::Other)?;
                (r.url, Some(r.server_name))
            }
            (None, None) => return Err(CallFailure::Other("webhook has no clientConfig.url".into())),
        };
    let ca = match str_at(wh, &["clientConfig", "caBundle"]) {
        Some(b) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(b)
                .map_err(|e| CallFailure::Other(format!("invalid caBundle: {e}")))?,
        ),
        None => None,
    };
    let timeout = at(wh, &["timeoutSeconds"]).and_then(Value::as_u64).unwrap_or(DEFAULT_TIMEOUT_SECONDS);
    let uid = uuid::Uuid::new_v4().to_string();
    let body = serde_json::to_vec(&review::review(req, &uid, api_version))
        .map_err(|e| CallFailure::Other(e.to_string()))?;
    // Validation keeps timeoutSeconds within 1-30; a stored object from before is bounded too.
    let timeout = timeout.clamp(1, 30);
    let target = clients.target(&url, server_name.as_deref(), ca.as_deref(), Duration::from_secs(timeout))?;
    let resp = target.post_json(body).await?;
    let (status, bytes) = (resp.status.as_u16(), resp.body);
    if !(200..300).contains(&status) {
        return Err(CallFailure::Other(format!(
            "received invalid webhook response status code {status} from {url}"
        )));
    }
    let answer: Value = serde_json::from_slice(&bytes)
        .map_err(|e| CallFailure::Other(format!("received invalid webhook response: {e}")))?;
    review::response(&answer, &uid, api_version).cloned().map_err(CallFailure::Other)
}

fn fail_closed(wh: &Value) -> bool {
    str_at(wh, &["failurePolicy"]) != Some("Ignore")
}

/// Runs one webhook up to the point of a usable response: `Ok(None)` when it failed and its
/// failure policy says to ignore it.
async fn dispatch(
    wh: &Value,
    req: &AdmissionRequest,
    clients: &ClientManager,
    ctx: &dyn AdmissionContext,
) -> Result<Option<Value>, StatusError> {
    let name = str_at(wh, &["name"]).unwrap_or("");
    if req.dry_run && !matches!(str_at(wh, &["sideEffects"]), Some("None" | "NoneOnDryRun")) {
        return Err(StatusError::bad_request(format!(
            "admission webhook {} does not support dry run",
            go_quote(name)
        )));
    }
    match call(wh, req, clients, ctx).await {
        Ok(resp) => {
            for w in crate::types::array_at(&resp, &["warnings"]).iter().filter_map(Value::as_str) {
                req.add_warning(w);
            }
            if resp.get("allowed").and_then(Value::as_bool) != Some(true) {
                return Err(review::denial(name, &resp));
            }
            Ok(Some(resp))
        }
        Err(e) if fail_closed(wh) => {
            Err(StatusError::internal(&format!("failed calling webhook {}: {e}", go_quote(name))))
        }
        Err(e) => {
            tracing::warn!(webhook = name, error = %e, "failed calling webhook, failing open");
            Ok(None)
        }
    }
}

fn apply_patch(req: &mut AdmissionRequest, name: &str, resp: &Value) -> Result<(), StatusError> {
    let Some(patch) = str_at(resp, &["patch"]) else { return Ok(()) };
    let bad = |m: String| {
        StatusError::internal(&format!("admission webhook {} returned an invalid patch: {m}", go_quote(name)))
    };
    if let Some(t) = str_at(resp, &["patchType"]) {
        if t != "JSONPatch" {
            return Err(bad(format!("unsupported patch type {}", go_quote(t))));
        }
    }
    let bytes = base64::engine::general_purpose::STANDARD.decode(patch).map_err(|e| bad(e.to_string()))?;
    let patch: json_patch::Patch = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    let Some(obj) = req.object.as_mut() else { return Ok(()) };
    let mut patched = obj.clone();
    json_patch::patch(&mut patched, &patch).map_err(|e| bad(e.to_string()))?;
    *obj = patched;
    Ok(())
}

fn webhook_ops(op: Operation) -> bool {
    matches!(op, Operation::Create | Operation::Update | Operation::Delete | Operation::Connect)
}

#[async_trait]
impl MutatingPlugin for MutatingWebhook {
    fn name(&self) -> &'static str {
        MUTATING
    }
    fn handles(&self, op: Operation) -> bool {
        webhook_ops(op)
    }
    async fn admit(&self, req: &mut AdmissionRequest, ctx: &dyn AdmissionContext) -> Result<(), StatusError> {
        for wh in matching_webhooks("mutatingwebhookconfigurations", req, ctx).await? {
            if let Some(resp) = dispatch(&wh, req, &self.clients, ctx).await? {
                apply_patch(req, str_at(&wh, &["name"]).unwrap_or(""), &resp)?;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl ValidatingPlugin for ValidatingWebhook {
    fn name(&self) -> &'static str {
        VALIDATING
    }
    fn handles(&self, op: Operation) -> bool {
        webhook_ops(op)
    }
    async fn validate(&self, req: &AdmissionRequest, ctx: &dyn AdmissionContext) -> Result<(), StatusError> {
        for wh in matching_webhooks("validatingwebhookconfigurations", req, ctx).await? {
            dispatch(&wh, req, &self.clients, ctx).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
