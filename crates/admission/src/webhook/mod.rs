//! MutatingAdmissionWebhook and ValidatingAdmissionWebhook: read the Mutating/Validating
//! WebhookConfiguration objects from the context, pick the webhooks whose rules (with
//! `matchPolicy: Equivalent`, those of equivalent resources too), selectors and CEL
//! `matchConditions` match, POST an AdmissionReview to each `clientConfig.url` or the Service a
//! `clientConfig.service` names, resolved through its endpoints ([`service`]) (at the
//! resource and kind matched), and apply the answer (a denial becomes kube's Status; a
//! mutating webhook's base64 JSONPatch is applied to the object). Mutating webhooks with
//! `reinvocationPolicy: IfNeeded` are called again when a later webhook changed the object
//! (the chain's second round, kube's reinvocation).
//! Calls go through the plugin's [`ClientManager`]: one outbound target per `clientConfig`.

pub mod clients;
pub mod matching;
pub mod review;
pub mod service;
pub mod source;

use crate::policy::{
    self,
    matching::Matched,
    spec::{self, Compiled, MatchResources, NamedRule},
};
use crate::types::{
    at, str_at, AdmissionContext, AdmissionRequest, KindResource, MutatingPlugin, Operation, ValidatingPlugin,
};
use apimachinery::quote::go_quote;
use apimachinery::StatusError;
use async_trait::async_trait;
use base64::Engine;
pub use clients::ClientManager;
use serde_json::Value;
pub use source::WebhookSource;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const MUTATING: &str = "MutatingAdmissionWebhook";
pub const VALIDATING: &str = "ValidatingAdmissionWebhook";
const GROUP: &str = "admissionregistration.k8s.io";

/// Default `timeoutSeconds`.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 10;

/// MutatingAdmissionWebhook; its targets and compiled match conditions are kept across
/// requests, its configurations read from its [`WebhookSource`].
#[derive(Debug)]
pub struct MutatingWebhook {
    clients: ClientManager,
    conditions: ConditionCache,
    source: Arc<WebhookSource>,
}

impl Default for MutatingWebhook {
    fn default() -> Self {
        Self {
            clients: ClientManager::default(),
            conditions: ConditionCache::default(),
            source: Arc::new(WebhookSource::new("MutatingWebhookConfiguration")),
        }
    }
}

/// ValidatingAdmissionWebhook; its targets and compiled match conditions are kept across
/// requests, its configurations read from its [`WebhookSource`].
#[derive(Debug)]
pub struct ValidatingWebhook {
    clients: ClientManager,
    conditions: ConditionCache,
    source: Arc<WebhookSource>,
}

impl Default for ValidatingWebhook {
    fn default() -> Self {
        Self {
            clients: ClientManager::default(),
            conditions: ConditionCache::default(),
            source: Arc::new(WebhookSource::new("ValidatingWebhookConfiguration")),
        }
    }
}

impl MutatingWebhook {
    /// The configurations this plugin reads, for the server's informer to keep current.
    pub fn source(&self) -> Arc<WebhookSource> {
        Arc::clone(&self.source)
    }
}

impl ValidatingWebhook {
    /// The configurations this plugin reads, for the server's informer to keep current.
    pub fn source(&self) -> Arc<WebhookSource> {
        Arc::clone(&self.source)
    }
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

/// A webhook that applies to a request, the resource it matched the request as, and the
/// id its reinvocation is tracked by.
struct Invocation {
    hook: Arc<source::Hook>,
    matched: Matched,
}

/// The webhook's rules and selectors as the policy matcher reads them.
fn match_resources(wh: &Value) -> MatchResources {
    MatchResources {
        namespace_selector: spec::selector(wh, "namespaceSelector"),
        object_selector: spec::selector(wh, "objectSelector"),
        // kube defaults `matchPolicy` to Equivalent.
        equivalent: str_at(wh, &["matchPolicy"]) != Some("Exact"),
        resource_rules: crate::types::array_at(wh, &["rules"]).iter().map(NamedRule::parse).collect(),
        exclude_resource_rules: Vec::new(),
    }
}

/// The webhooks of every configuration of `resource` that apply to the request, in order
/// (configurations sorted by name, as kube does): rules (with `matchPolicy: Equivalent`,
/// those of equivalent resources too) and selectors, then match conditions (kube's
/// `ShouldCallHook`). The configurations come from `source` once the server fed it, else
/// from a list of the context.
async fn matching_webhooks(
    resource: &str,
    source: &WebhookSource,
    req: &AdmissionRequest,
    ctx: &dyn AdmissionContext,
    conditions: &ConditionCache,
) -> Result<Vec<Invocation>, StatusError> {
    if matching::exempt(req) {
        return Ok(Vec::new());
    }
    let hooks: source::Snapshot = match source.current() {
        Some(snapshot) => snapshot,
        None => source::hooks_in_order(&ctx.list(GROUP, resource, "").await?).into(),
    };
    if hooks.is_empty() {
        return Ok(Vec::new());
    }
    let mut labels = policy::matching::NamespaceLabels::default();
    let mut out = Vec::new();
    for hook in hooks.iter() {
        if let Some(matched) = policy::matching::matches(&hook.rules, req, &mut labels, ctx).await? {
            out.push(Invocation { hook: Arc::clone(hook), matched });
        }
    }
    filter_by_conditions(out, req, ctx, conditions).await
}

/// Compiled match conditions by expression, kept across requests (bounded).
#[derive(Default)]
pub struct ConditionCache {
    compiled: Mutex<HashMap<String, Arc<Compiled>>>,
}

impl std::fmt::Debug for ConditionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConditionCache")
    }
}

/// At most this many compiled conditions are kept; past it the cache starts again.
const MAX_CACHED_CONDITIONS: usize = 4096;

impl ConditionCache {
    fn get(&self, expression: &str) -> Arc<Compiled> {
        let mut cache = self.compiled.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = cache.get(expression) {
            return Arc::clone(c);
        }
        if cache.len() >= MAX_CACHED_CONDITIONS {
            cache.clear();
        }
        // kube's webhook conditions: object, oldObject, request, authorizer; no params.
        let env = kcel::admission::Environment::new(false, true);
        let c = Arc::new(Compiled::new(&env, expression, kcel::admission::ExpressionKind::Condition));
        cache.insert(expression.to_string(), Arc::clone(&c));
        c
    }
}

/// Drops the invocations whose match conditions do not hold; a condition that fails to
/// evaluate under `failurePolicy: Fail` refuses the request (kube's Forbidden).
async fn filter_by_conditions(
    invocations: Vec<Invocation>,
    req: &AdmissionRequest,
    ctx: &dyn AdmissionContext,
    cache: &ConditionCache,
) -> Result<Vec<Invocation>, StatusError> {
    let has_conditions =
        |i: &Invocation| !crate::types::array_at(&i.hook.value, &["matchConditions"]).is_empty();
    if !invocations.iter().any(has_conditions) {
        return Ok(invocations);
    }
    let mut kinds: Vec<Matched> = Vec::new();
    for i in invocations.iter().filter(|i| has_conditions(i)) {
        if !kinds.contains(&i.matched) {
            kinds.push(i.matched.clone());
        }
    }
    let mut values = Vec::with_capacity(kinds.len());
    for m in &kinds {
        match policy::inputs::Values::build(req, m, None, ctx, &kcel::Reads::WHOLE).await {
            Ok(v) => values.push(v),
            Err(policy::inputs::InputError::Status(e)) => return Err(e),
            Err(policy::inputs::InputError::Config(message)) => return Err(StatusError::internal(&message)),
        }
    }
    let activations = values
        .iter()
        .map(|v| v.activation(req))
        .collect::<Result<Vec<_>, String>>()
        .map_err(|e| StatusError::internal(&e))?;
    let mut authz = policy::evaluate::Authz {
        answers: Default::default(),
        user: std::borrow::Cow::Borrowed(&req.user),
        ctx,
    };
    let empty = kcel::Activation::new();
    let mut out = Vec::with_capacity(invocations.len());
    for inv in invocations {
        let conditions: Vec<Arc<Compiled>> = crate::types::array_at(&inv.hook.value, &["matchConditions"])
            .iter()
            .map(|c| cache.get(str_at(c, &["expression"]).unwrap_or("").trim()))
            .collect();
        if conditions.is_empty() {
            out.push(inv);
            continue;
        }
        let Some(base) = kinds.iter().position(|k| *k == inv.matched).and_then(|i| activations.get(i)) else {
            continue;
        };
        let fail = fail_closed(&inv.hook.value);
        match policy::evaluate::conditions_match(
            conditions.iter().map(|c| c.as_ref()),
            fail,
            &[base, &empty],
            &mut authz,
        )
        .await
        {
            Ok(true) => out.push(inv),
            Ok(false) => {}
            Err(message) => {
                let name = str_at(&inv.hook.value, &["name"]).unwrap_or("");
                tracing::warn!(webhook = name, error = %message, "failed evaluating match conditions, failing closed");
                return Err(StatusError::forbidden(&req.group_resource(), &req.name, &message));
            }
        }
    }
    Ok(out)
}

/// The object and old object converted to an equivalent resource.
type Converted = (Option<Value>, Option<Value>);

/// The objects as a webhook sees them: the request's, or converted to the equivalent
/// resource the webhook matched (500 when they cannot be).
fn objects_for(
    inv: &Invocation,
    req: &AdmissionRequest,
    ctx: &dyn AdmissionContext,
) -> Result<Option<Converted>, StatusError> {
    if inv.matched.is_own() {
        return Ok(None);
    }
    let to = inv.matched.kind_resource(req);
    let convert = |o: &Option<Value>| -> Result<Option<Value>, StatusError> {
        match o {
            None => Ok(None),
            Some(o) => ctx.convert(o, &to).map(Some).ok_or_else(|| {
                StatusError::internal(&format!(
                    "unable to convert to {}/{}, Kind={}",
                    to.group, to.version, to.kind
                ))
            }),
        }
    };
    Ok(Some((convert(&req.object)?, convert(&req.old_object)?)))
}

/// Calls one webhook: `Ok(response)` or a failure to be handled by failurePolicy.
async fn call(
    wh: &Value,
    req: &AdmissionRequest,
    equivalent: Option<&review::Equivalent<'_>>,
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
    let body = serde_json::to_vec(&review::review_as(req, &uid, api_version, equivalent))
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
    equivalent: Option<&review::Equivalent<'_>>,
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
    match call(wh, req, equivalent, clients, ctx).await {
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

/// Applies a mutating webhook's patch to `obj`; returns whether it changed.
fn apply_patch(obj: &mut Value, name: &str, resp: &Value) -> Result<bool, StatusError> {
    let Some(patch) = str_at(resp, &["patch"]) else { return Ok(false) };
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
    let mut patched = obj.clone();
    json_patch::patch(&mut patched, &patch).map_err(|e| bad(e.to_string()))?;
    let changed = patched != *obj;
    *obj = patched;
    Ok(changed)
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
        let invocations =
            matching_webhooks("mutatingwebhookconfigurations", &self.source, req, ctx, &self.conditions)
                .await?;
        // kube's reinvocation: in the second round only the webhooks asked to be
        // reinvoked are called (those with `reinvocationPolicy: IfNeeded` that ran before
        // a later change of the object).
        let reinvoking = req.reinvocation.is_reinvoke;
        // Only `IfNeeded` webhooks called before are concerned by a change since (with none,
        // the comparison would change nothing, and no copy of the object was kept for it).
        if reinvoking
            && !req.reinvocation.previously_invoked.is_empty()
            && req.reinvocation.last_webhook_output.as_ref() != req.object.as_ref()
        {
            req.reinvocation.require_reinvoking_previously_invoked();
        }
        for inv in invocations {
            if reinvoking && !req.reinvocation.reinvoke.contains(&inv.hook.id) {
                continue;
            }
            let name = str_at(&inv.hook.value, &["name"]).unwrap_or("").to_string();
            let converted = objects_for(&inv, req, ctx)?;
            let changed = match converted {
                None => {
                    let Some(resp) = dispatch(&inv.hook.value, req, None, &self.clients, ctx).await? else {
                        continue;
                    };
                    match req.object.as_mut() {
                        Some(obj) => apply_patch(obj, &name, &resp)?,
                        None => false,
                    }
                }
                Some((object, old)) => {
                    let (group, version, resource, kind) = inv.matched.gvrk(req);
                    let eq = review::Equivalent {
                        group,
                        version,
                        resource,
                        kind,
                        object: object.as_ref(),
                        old_object: old.as_ref(),
                    };
                    let Some(resp) = dispatch(&inv.hook.value, req, Some(&eq), &self.clients, ctx).await?
                    else {
                        continue;
                    };
                    let mut patched = object.unwrap_or(Value::Null);
                    if !apply_patch(&mut patched, &name, &resp)? {
                        false
                    } else {
                        // Back to the request's own version.
                        let own = KindResource {
                            group: req.group.clone(),
                            version: req.version.clone(),
                            resource: req.resource.clone(),
                            kind: req.kind.clone(),
                            namespaced: !req.namespace.is_empty(),
                        };
                        let back = ctx.convert(&patched, &own).ok_or_else(|| {
                            StatusError::internal(&format!(
                                "unable to convert to {}/{}, Kind={}",
                                own.group, own.version, own.kind
                            ))
                        })?;
                        req.object = Some(back);
                        true
                    }
                }
            };
            if changed {
                req.reinvocation.require_reinvoking_previously_invoked();
                req.reinvocation.should_reinvoke = true;
            }
            if str_at(&inv.hook.value, &["reinvocationPolicy"]) == Some("IfNeeded") {
                req.reinvocation.previously_invoked.push(inv.hook.id.clone());
            }
        }
        // The object as the webhooks left it, for the second round's comparison: kept only
        // when an `IfNeeded` webhook was called (a copy of every object written otherwise).
        req.reinvocation.last_webhook_output =
            if req.reinvocation.previously_invoked.is_empty() { None } else { req.object.clone() };
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
        let invocations =
            matching_webhooks("validatingwebhookconfigurations", &self.source, req, ctx, &self.conditions)
                .await?;
        for inv in invocations {
            match objects_for(&inv, req, ctx)? {
                None => {
                    dispatch(&inv.hook.value, req, None, &self.clients, ctx).await?;
                }
                Some((object, old)) => {
                    let (group, version, resource, kind) = inv.matched.gvrk(req);
                    let eq = review::Equivalent {
                        group,
                        version,
                        resource,
                        kind,
                        object: object.as_ref(),
                        old_object: old.as_ref(),
                    };
                    dispatch(&inv.hook.value, req, Some(&eq), &self.clients, ctx).await?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
