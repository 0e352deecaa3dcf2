//! Opt-in Pod restrictions of kube's plugin/pkg/admission, on Pods proper (no subresource):
//! - AlwaysPullImages (`alwayspullimages`): every container (init, regular, ephemeral) gets
//!   `imagePullPolicy: Always` on create and on an update that brings a new image, and the
//!   validating half refuses any other policy (so a later mutating webhook cannot undo it);
//! - PodNodeSelector (`podnodeselector`): the namespace's
//!   `scheduler.alpha.kubernetes.io/node-selector` annotation merged into `spec.nodeSelector`
//!   on create, a conflicting key refused (kubeward reads no `--admission-control-config-file`,
//!   so there is no cluster default or per-namespace whitelist, as kube without one);
//! - PodTolerationRestriction (`podtolerationrestriction`): the namespace's
//!   `scheduler.alpha.kubernetes.io/defaultTolerations` merged in on create, the
//!   memory-pressure toleration added to Pods that are not BestEffort, and every toleration
//!   checked against the namespace's `scheduler.alpha.kubernetes.io/tolerationsWhitelist`.

use super::tolerations;
use crate::types::{
    array_at, at, plain_error, str_at, AdmissionContext, AdmissionRequest, MutatingPlugin, Operation,
    ValidatingPlugin,
};
use apimachinery::quote::{aggregate, go_quote};
use apimachinery::StatusError;
use async_trait::async_trait;
use serde_json::{json, Map, Value};

pub const ALWAYS_PULL_IMAGES: &str = "AlwaysPullImages";
pub const POD_NODE_SELECTOR: &str = "PodNodeSelector";
pub const POD_TOLERATION_RESTRICTION: &str = "PodTolerationRestriction";

const NODE_SELECTOR_ANNOTATION: &str = "scheduler.alpha.kubernetes.io/node-selector";
const DEFAULT_TOLERATIONS: &str = "scheduler.alpha.kubernetes.io/defaultTolerations";
const TOLERATIONS_WHITELIST: &str = "scheduler.alpha.kubernetes.io/tolerationsWhitelist";

/// The container lists of a Pod spec, in kube's `VisitContainersWithPath` order.
const CONTAINER_LISTS: [&str; 3] = ["initContainers", "containers", "ephemeralContainers"];

fn is_pod(req: &AdmissionRequest) -> bool {
    req.is("", "pods") && req.object.is_some()
}

/// Every container of the Pod with its field path (`spec.containers[0]`).
fn containers(pod: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    for list in CONTAINER_LISTS {
        for (i, c) in array_at(pod, &["spec", list]).iter().enumerate() {
            out.push((format!("spec.{list}[{i}]"), c));
        }
    }
    out
}

/// The Pod's namespace, or kube's 404 for it.
async fn namespace(req: &AdmissionRequest, ctx: &dyn AdmissionContext) -> Result<Value, StatusError> {
    ctx.get("", "namespaces", "", &req.namespace).await?.ok_or_else(|| {
        StatusError::not_found(&apimachinery::GroupResource::new("", "namespaces"), &req.namespace)
    })
}

fn annotation<'a>(ns: &'a Value, key: &str) -> Option<&'a str> {
    str_at(ns, &["metadata", "annotations", key])
}

// ---------------------------------------------------------------- AlwaysPullImages

#[derive(Debug, Default)]
pub struct AlwaysPullImages;

/// `shouldIgnore`: not a Pod, or an update that brings no image the old Pod did not have.
fn pull_ignored(req: &AdmissionRequest) -> bool {
    if !is_pod(req) {
        return true;
    }
    let (Operation::Update, Some(new), Some(old)) = (req.operation, &req.object, &req.old_object) else {
        return false;
    };
    let old_images: Vec<&str> = containers(old).iter().filter_map(|(_, c)| str_at(c, &["image"])).collect();
    containers(new).iter().all(|(_, c)| old_images.contains(&str_at(c, &["image"]).unwrap_or("")))
}

#[async_trait]
impl MutatingPlugin for AlwaysPullImages {
    fn name(&self) -> &'static str {
        ALWAYS_PULL_IMAGES
    }
    fn handles(&self, op: Operation) -> bool {
        matches!(op, Operation::Create | Operation::Update)
    }
    async fn admit(&self, req: &mut AdmissionRequest, _: &dyn AdmissionContext) -> Result<(), StatusError> {
        if pull_ignored(req) {
            return Ok(());
        }
        let Some(spec) = req.object.as_mut().and_then(|p| p.get_mut("spec")) else { return Ok(()) };
        for list in CONTAINER_LISTS {
            if let Some(items) = spec.get_mut(list).and_then(Value::as_array_mut) {
                for c in items.iter_mut().filter_map(Value::as_object_mut) {
                    c.insert("imagePullPolicy".into(), json!("Always"));
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl ValidatingPlugin for AlwaysPullImages {
    fn name(&self) -> &'static str {
        ALWAYS_PULL_IMAGES
    }
    fn handles(&self, op: Operation) -> bool {
        matches!(op, Operation::Create | Operation::Update)
    }
    async fn validate(&self, req: &AdmissionRequest, _: &dyn AdmissionContext) -> Result<(), StatusError> {
        if pull_ignored(req) {
            return Ok(());
        }
        let Some(pod) = &req.object else { return Ok(()) };
        let errors: Vec<String> = containers(pod)
            .into_iter()
            .filter_map(|(path, c)| {
                let policy = str_at(c, &["imagePullPolicy"]).unwrap_or("");
                (policy != "Always").then(|| {
                    let cause = apimachinery::field::not_supported(
                        &format!("{path}.imagePullPolicy"),
                        policy,
                        &["Always"],
                    );
                    req.forbidden(format!("{}: {}", cause.field, cause.message)).message
                })
            })
            .collect();
        if errors.is_empty() {
            return Ok(());
        }
        // kube returns the Forbidden errors as an aggregate, which is no Status: a 500.
        Err(plain_error(aggregate(&errors)))
    }
}

// ---------------------------------------------------------------- PodNodeSelector

#[derive(Debug, Default)]
pub struct PodNodeSelector;

/// `labels.ConvertSelectorToLabelsMap`: `k=v,k2=v2` with kube's key and value checks.
fn selector_map(selector: &str) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    if selector.is_empty() {
        return Ok(out);
    }
    for term in selector.split(',') {
        let parts: Vec<&str> = term.split('=').collect();
        let [k, v] = parts.as_slice() else {
            return Err(format!("invalid selector: [{}]", parts.join(" ")));
        };
        let (k, v) = (k.trim(), v.trim());
        let key_errs = apimachinery::selectors::validation::qualified_name_errors(k);
        if !key_errs.is_empty() {
            return Err(format!(": Invalid value: {}: {}", go_quote(k), key_errs.join("; ")));
        }
        let value_errs = apimachinery::selectors::validation::label_value_errors(v);
        if !value_errs.is_empty() {
            return Err(format!(": Invalid value: {}: {}", go_quote(v), value_errs.join("; ")));
        }
        out.insert(k.to_string(), json!(v));
    }
    Ok(out)
}

/// `labels.Conflicts`: a key both set to different values.
fn conflicts(a: &Map<String, Value>, b: &Map<String, Value>) -> bool {
    a.iter().any(|(k, v)| b.get(k).is_some_and(|w| w != v))
}

/// The namespace's node selector (`getNodeSelectorMap`); errors are kube's plain ones (500).
async fn namespace_node_selector(
    req: &AdmissionRequest,
    ctx: &dyn AdmissionContext,
) -> Result<Map<String, Value>, StatusError> {
    let ns = namespace(req, ctx).await?;
    match annotation(&ns, NODE_SELECTOR_ANNOTATION) {
        Some(sel) => selector_map(sel).map_err(plain_error),
        None => Ok(Map::new()),
    }
}

fn pod_node_selector(pod: &Value) -> Map<String, Value> {
    at(pod, &["spec", "nodeSelector"]).and_then(Value::as_object).cloned().unwrap_or_default()
}

fn node_selector_conflict(req: &AdmissionRequest) -> StatusError {
    req.forbidden("pod node label selector conflicts with its namespace node label selector")
}

#[async_trait]
impl MutatingPlugin for PodNodeSelector {
    fn name(&self) -> &'static str {
        POD_NODE_SELECTOR
    }
    fn handles(&self, op: Operation) -> bool {
        op == Operation::Create
    }
    async fn admit(&self, req: &mut AdmissionRequest, ctx: &dyn AdmissionContext) -> Result<(), StatusError> {
        if !is_pod(req) {
            return Ok(());
        }
        let ns_selector = namespace_node_selector(req, ctx).await?;
        let Some(pod) = req.object.as_ref() else { return Ok(()) };
        let mut merged = pod_node_selector(pod);
        if conflicts(&ns_selector, &merged) {
            return Err(node_selector_conflict(req));
        }
        if ns_selector.is_empty() {
            return Ok(());
        }
        for (k, v) in ns_selector {
            merged.entry(k).or_insert(v);
        }
        if let Some(spec) = req.object.as_mut().and_then(|p| p.get_mut("spec")).and_then(Value::as_object_mut)
        {
            spec.insert("nodeSelector".into(), Value::Object(merged));
        }
        Ok(())
    }
}

#[async_trait]
impl ValidatingPlugin for PodNodeSelector {
    fn name(&self) -> &'static str {
        POD_NODE_SELECTOR
    }
    fn handles(&self, op: Operation) -> bool {
        op == Operation::Create
    }
    async fn validate(&self, req: &AdmissionRequest, ctx: &dyn AdmissionContext) -> Result<(), StatusError> {
        if !is_pod(req) {
            return Ok(());
        }
        let ns_selector = namespace_node_selector(req, ctx).await?;
        let pod = req.object.as_ref().map(pod_node_selector).unwrap_or_default();
        if conflicts(&ns_selector, &pod) {
            return Err(node_selector_conflict(req));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- PodTolerationRestriction

#[derive(Debug, Default)]
pub struct PodTolerationRestriction;

/// `extractNSTolerations`: `None` when the annotation is absent, the tolerations otherwise
/// (an empty value is an empty list); kube's plain error for JSON it cannot read.
fn namespace_tolerations(ns: &Value, key: &str) -> Result<Option<Vec<Value>>, StatusError> {
    let Some(text) = annotation(ns, key) else { return Ok(None) };
    if text.is_empty() {
        return Ok(Some(Vec::new()));
    }
    // kube unmarshals into []v1.Toleration: a list of objects whose fields are strings
    // (tolerationSeconds a number).
    let parsed: Vec<Map<String, Value>> =
        serde_json::from_str(text).map_err(|e| plain_error(e.to_string()))?;
    for t in &parsed {
        for (k, v) in t {
            let ok = match k.as_str() {
                "tolerationSeconds" => v.is_i64() || v.is_null(),
                _ => v.is_string() || v.is_null(),
            };
            if !ok {
                return Err(plain_error(format!(
                    "json: cannot unmarshal {} into Go struct field Toleration.{k} of type {}",
                    json_kind(v),
                    if k == "tolerationSeconds" { "int64" } else { "string" }
                )));
            }
        }
    }
    Ok(Some(parsed.into_iter().map(Value::Object).collect()))
}

/// Go's name for a JSON value's type in unmarshal errors.
fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// kube's `GetPodQOS` is BestEffort: no container asks for or limits cpu or memory.
fn best_effort(pod: &Value) -> bool {
    containers(pod).iter().filter(|(path, _)| !path.starts_with("spec.ephemeralContainers")).all(|(_, c)| {
        ["requests", "limits"].iter().all(|part| {
            at(c, &["resources", part]).and_then(Value::as_object).is_none_or(|m| {
                ["cpu", "memory"]
                    .iter()
                    .all(|r| m.get(*r).and_then(crate::quantity::from_json).is_none_or(|q| q.is_zero()))
            })
        })
    })
}

#[async_trait]
impl MutatingPlugin for PodTolerationRestriction {
    fn name(&self) -> &'static str {
        POD_TOLERATION_RESTRICTION
    }
    fn handles(&self, op: Operation) -> bool {
        matches!(op, Operation::Create | Operation::Update)
    }
    async fn admit(&self, req: &mut AdmissionRequest, ctx: &dyn AdmissionContext) -> Result<(), StatusError> {
        if !is_pod(req) {
            return Ok(());
        }
        let mut extra = Vec::new();
        if req.operation == Operation::Create {
            let ns = namespace(req, ctx).await?;
            extra = namespace_tolerations(&ns, DEFAULT_TOLERATIONS)?.unwrap_or_default();
        }
        let Some(pod) = req.object.as_mut() else { return Ok(()) };
        if !best_effort(pod) {
            extra.push(json!({"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"}));
        }
        if extra.is_empty() {
            return Ok(());
        }
        let merged = tolerations::merge(array_at(pod, &["spec", "tolerations"]), &extra);
        if let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) {
            spec.insert("tolerations".into(), Value::Array(merged));
        }
        Ok(())
    }
}

#[async_trait]
impl ValidatingPlugin for PodTolerationRestriction {
    fn name(&self) -> &'static str {
        POD_TOLERATION_RESTRICTION
    }
    fn handles(&self, op: Operation) -> bool {
        matches!(op, Operation::Create | Operation::Update)
    }
    async fn validate(&self, req: &AdmissionRequest, ctx: &dyn AdmissionContext) -> Result<(), StatusError> {
        if !is_pod(req) {
            return Ok(());
        }
        let Some(pod) = &req.object else { return Ok(()) };
        let tolerations_of_pod = array_at(pod, &["spec", "tolerations"]);
        if tolerations_of_pod.is_empty() {
            return Ok(());
        }
        let ns = namespace(req, ctx).await?;
        let whitelist = namespace_tolerations(&ns, TOLERATIONS_WHITELIST)?.unwrap_or_default();
        if !tolerations::allowed_by(tolerations_of_pod, &whitelist) {
            return Err(plain_error(
                "pod tolerations (possibly merged with namespace default tolerations) conflict with its namespace whitelist",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "pod_restrictions_tests.rs"]
mod tests;
