//! RuntimeClass (plugin/pkg/admission/runtimeclass/admission.go), on Pod create.
//!
//! A Pod naming `spec.runtimeClassName` must name a node.k8s.io/v1 RuntimeClass. Mutating: the
//! class's `overhead.podFixed` becomes `spec.overhead` (a Pod that set a different one is
//! refused), its `scheduling.nodeSelector` is merged into the Pod's (a key the Pod sets to
//! another value is refused) and its `scheduling.tolerations` merged with the Pod's.
//! Validating: a Pod's `spec.overhead` must equal its class's, and needs a class defining one.

use super::tolerations;
use crate::quantity;
use crate::types::{
    array_at, at, AdmissionContext, AdmissionRequest, MutatingPlugin, Operation, ValidatingPlugin,
};
use apimachinery::quote::go_quote;
use apimachinery::StatusError;
use async_trait::async_trait;
use serde_json::{json, Map, Value};

pub const NAME: &str = "RuntimeClass";
pub const GROUP: &str = "node.k8s.io";
pub const RESOURCE: &str = "runtimeclasses";

const OVERHEAD_MISMATCH: &str = "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead";

#[derive(Debug, Default)]
pub struct RuntimeClass;

/// The Pod's RuntimeClass (`prepareObjects`): none when the Pod names none; a 403 when the named
/// one does not exist; a failed lookup as it came.
async fn runtime_class(
    req: &AdmissionRequest,
    ctx: &dyn AdmissionContext,
) -> Result<Option<Value>, StatusError> {
    let Some(name) = req.object.as_ref().and_then(|p| at(p, &["spec", "runtimeClassName"])) else {
        return Ok(None);
    };
    let name = name.as_str().unwrap_or("");
    match ctx.get(GROUP, RESOURCE, "", name).await? {
        Some(rc) => Ok(Some(rc)),
        None => Err(req.forbidden(format!("pod rejected: RuntimeClass {} not found", go_quote(name)))),
    }
}

/// `apiequality.Semantic.DeepEqual` of two ResourceLists: the same names, equal quantities
/// (`1` equals `1000m`); absent and empty are equal.
fn same_resources(a: Option<&Value>, b: Option<&Value>) -> bool {
    let empty = Map::new();
    let a = a.and_then(Value::as_object).unwrap_or(&empty);
    let b = b.and_then(Value::as_object).unwrap_or(&empty);
    a.len() == b.len()
        && a.iter().all(|(k, va)| {
            b.get(k).is_some_and(|vb| match (quantity::from_json(va), quantity::from_json(vb)) {
                (Some(qa), Some(qb)) => qa == qb,
                _ => va == vb,
            })
        })
}

fn has_overhead(pod: &Value) -> bool {
    at(pod, &["spec", "overhead"]).and_then(Value::as_object).is_some_and(|m| !m.is_empty())
}

/// Sets `spec.<field>`, or removes it when `value` is `None` (a nil Go field is left out).
fn set_spec(pod: &mut Value, field: &str, value: Option<Value>) {
    let Some(obj) = pod.as_object_mut() else { return };
    let spec = obj.entry("spec").or_insert_with(|| json!({}));
    let Some(spec) = spec.as_object_mut() else { return };
    match value {
        Some(v) => {
            spec.insert(field.into(), v);
        }
        None => {
            spec.remove(field);
        }
    }
}

/// `setOverhead`.
fn set_overhead(req: &mut AdmissionRequest, rc: &Value) -> Result<(), StatusError> {
    let Some(overhead) = at(rc, &["overhead"]) else { return Ok(()) };
    let pod_fixed = at(overhead, &["podFixed"]);
    let Some(pod) = req.object.as_ref() else { return Ok(()) };
    if has_overhead(pod) && !same_resources(pod_fixed, at(pod, &["spec", "overhead"])) {
        return Err(req.forbidden(OVERHEAD_MISMATCH));
    }
    let pod_fixed = pod_fixed.cloned();
    if let Some(pod) = req.object.as_mut() {
        set_spec(pod, "overhead", pod_fixed);
    }
    Ok(())
}

/// `setScheduling`.
fn set_scheduling(req: &mut AdmissionRequest, rc: &Value) -> Result<(), StatusError> {
    let Some(scheduling) = at(rc, &["scheduling"]) else { return Ok(()) };
    let Some(pod) = req.object.as_ref() else { return Ok(()) };
    let class_selector = at(scheduling, &["nodeSelector"]).and_then(Value::as_object);
    let selector = match at(pod, &["spec", "nodeSelector"]).and_then(Value::as_object) {
        None => class_selector.cloned(),
        Some(own) => {
            let mut merged = own.clone();
            for (key, class_value) in class_selector.into_iter().flatten() {
                if let Some(pod_value) = own.get(key).filter(|v| *v != class_value) {
                    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
                    return Err(req.forbidden(format!(
                        "conflict: runtimeClass.scheduling.nodeSelector[{key}] = {}; pod.spec.nodeSelector[{key}] = {}",
                        text(class_value),
                        text(pod_value)
                    )));
                }
                merged.insert(key.clone(), class_value.clone());
            }
            Some(merged)
        }
    };
    let merged =
        tolerations::merge(array_at(pod, &["spec", "tolerations"]), array_at(scheduling, &["tolerations"]));
    let merged = (!merged.is_empty()).then_some(Value::Array(merged));
    if let Some(pod) = req.object.as_mut() {
        set_spec(pod, "nodeSelector", selector.map(Value::Object));
        set_spec(pod, "tolerations", merged);
    }
    Ok(())
}

/// `validateOverhead`.
fn validate_overhead(req: &AdmissionRequest, rc: Option<&Value>) -> Result<(), StatusError> {
    let Some(pod) = req.object.as_ref() else { return Ok(()) };
    if !has_overhead(pod) {
        return Ok(());
    }
    match rc.and_then(|rc| at(rc, &["overhead"])) {
        Some(overhead) => {
            if !same_resources(at(overhead, &["podFixed"]), at(pod, &["spec", "overhead"])) {
                return Err(req.forbidden(OVERHEAD_MISMATCH));
            }
            Ok(())
        }
        None => Err(req
            .forbidden("pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead")),
    }
}

#[async_trait]
impl MutatingPlugin for RuntimeClass {
    fn name(&self) -> &'static str {
        NAME
    }

    fn handles(&self, op: Operation) -> bool {
        op == Operation::Create
    }

    async fn admit(&self, req: &mut AdmissionRequest, ctx: &dyn AdmissionContext) -> Result<(), StatusError> {
        if !req.is("", "pods") {
            return Ok(());
        }
        let Some(rc) = runtime_class(req, ctx).await? else { return Ok(()) };
        set_overhead(req, &rc)?;
        set_scheduling(req, &rc)
    }
}

#[async_trait]
impl ValidatingPlugin for RuntimeClass {
    fn name(&self) -> &'static str {
        NAME
    }

    fn handles(&self, op: Operation) -> bool {
        op == Operation::Create
    }

    async fn validate(&self, req: &AdmissionRequest, ctx: &dyn AdmissionContext) -> Result<(), StatusError> {
        if !req.is("", "pods") {
            return Ok(());
        }
        let rc = runtime_class(req, ctx).await?;
        validate_overhead(req, rc.as_ref())
    }
}

#[cfg(test)]
#[path = "runtime_class_tests.rs"]
mod tests;
