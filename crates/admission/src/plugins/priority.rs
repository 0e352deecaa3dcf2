//! Priority (plugin/pkg/admission/priority/admission.go).
//!
//! Mutating, on Pod create: `spec.priorityClassName` resolves to its PriorityClass
//! (scheduling.k8s.io/v1), whose `value` and `preemptionPolicy` become `spec.priority` and
//! `spec.preemptionPolicy`. A Pod without a class name takes the global default class (its name
//! too); with none, priority 0 and `PreemptLowerPriority`. A Pod that already carries a priority
//! or policy different from the computed one is refused. On Pod update, a priority or policy
//! the new object lacks is kept from the stored one.
//!
//! Validating, on PriorityClass create and update: only one class may be `globalDefault`.
//!
//! Since kube 1.17 the two system classes (`system-node-critical`, `system-cluster-critical`)
//! resolve like any other class in every namespace; limiting them to `kube-system` is left to a
//! ResourceQuota admission configuration, as in kube.

use crate::types::{
    at, plain_error, str_at, AdmissionContext, AdmissionRequest, MutatingPlugin, Operation, ValidatingPlugin,
};
use apimachinery::StatusError;
use async_trait::async_trait;
use serde_json::{json, Value};

pub const NAME: &str = "Priority";
pub const GROUP: &str = "scheduling.k8s.io";
pub const RESOURCE: &str = "priorityclasses";
/// The policy of a Pod when no class is named and none is the global default.
pub const PREEMPT_LOWER_PRIORITY: &str = "PreemptLowerPriority";

#[derive(Debug, Default)]
pub struct Priority;

/// A PriorityClass's `value` (an int32 in the API).
fn class_value(pc: &Value) -> i64 {
    at(pc, &["value"]).and_then(Value::as_i64).unwrap_or(0)
}

fn class_name(pc: &Value) -> &str {
    str_at(pc, &["metadata", "name"]).unwrap_or("")
}

/// The global default class; when several claim it (a race kube also tolerates), the lowest
/// value wins (`getDefaultPriorityClass`).
async fn default_class(ctx: &dyn AdmissionContext) -> Result<Option<Value>, StatusError> {
    let classes = ctx
        .list(GROUP, RESOURCE, "")
        .await
        .map_err(|e| plain_error(format!("failed to get default priority class: {}", e.message)))?;
    let mut best: Option<Value> = None;
    for pc in classes {
        let is_default = at(&pc, &["globalDefault"]).and_then(Value::as_bool) == Some(true);
        if is_default && best.as_ref().is_none_or(|b| class_value(b) > class_value(&pc)) {
            best = Some(pc);
        }
    }
    Ok(best)
}

/// What a new Pod gets: the class name to write (only when taken from the default), the
/// priority, and the preemption policy (none when the class has none).
struct Resolved {
    default_name: Option<String>,
    priority: i64,
    policy: Option<String>,
}

async fn resolve(
    req: &AdmissionRequest,
    pod: &Value,
    ctx: &dyn AdmissionContext,
) -> Result<Resolved, StatusError> {
    let name = str_at(pod, &["spec", "priorityClassName"]).unwrap_or("");
    let policy_of = |pc: &Value| str_at(pc, &["preemptionPolicy"]).map(str::to_string);
    if name.is_empty() {
        return Ok(match default_class(ctx).await? {
            Some(pc) => Resolved {
                default_name: Some(class_name(&pc).to_string()),
                priority: class_value(&pc),
                policy: policy_of(&pc),
            },
            None => Resolved { default_name: None, priority: 0, policy: Some(PREEMPT_LOWER_PRIORITY.into()) },
        });
    }
    match ctx.get(GROUP, RESOURCE, "", name).await {
        Ok(Some(pc)) => {
            Ok(Resolved { default_name: None, priority: class_value(&pc), policy: policy_of(&pc) })
        }
        Ok(None) => Err(req.forbidden(format!("no PriorityClass with name {name} was found"))),
        Err(e) => Err(plain_error(format!("failed to get PriorityClass with name {name}: {}", e.message))),
    }
}

/// The `spec` object of a Pod, created if missing.
fn spec_mut(pod: &mut Value) -> Option<&mut serde_json::Map<String, Value>> {
    pod.as_object_mut()?.entry("spec").or_insert_with(|| json!({})).as_object_mut()
}

async fn admit_create(req: &mut AdmissionRequest, ctx: &dyn AdmissionContext) -> Result<(), StatusError> {
    let Some(pod) = req.object.as_ref() else { return Ok(()) };
    let resolved = resolve(req, pod, ctx).await?;
    if let Some(given) = at(pod, &["spec", "priority"]).and_then(Value::as_i64) {
        if given != resolved.priority {
            return Err(req.forbidden(format!(
                "the integer value of priority ({given}) must not be provided in pod spec; priority admission controller computed {} from the given PriorityClass name",
                resolved.priority
            )));
        }
    }
    if let (Some(policy), Some(given)) = (&resolved.policy, str_at(pod, &["spec", "preemptionPolicy"])) {
        if given != policy {
            return Err(req.forbidden(format!(
                "the string value of PreemptionPolicy ({given}) must not be provided in pod spec; priority admission controller computed {policy} from the given PriorityClass name"
            )));
        }
    }
    let Some(spec) = req.object.as_mut().and_then(spec_mut) else { return Ok(()) };
    if let Some(name) = resolved.default_name {
        spec.insert("priorityClassName".into(), json!(name));
    }
    spec.insert("priority".into(), json!(resolved.priority));
    if let Some(policy) = resolved.policy {
        spec.insert("preemptionPolicy".into(), json!(policy));
    }
    Ok(())
}

/// On update the values set at creation stay: validation forbids changing them, so a new object
/// that merely omits them keeps the stored ones.
fn admit_update(req: &mut AdmissionRequest) {
    let Some(old) = req.old_object.as_ref() else { return };
    let kept: Vec<(&str, Value)> = ["priority", "preemptionPolicy"]
        .into_iter()
        .filter(|f| req.object.as_ref().is_some_and(|o| at(o, &["spec", f]).is_none()))
        .filter_map(|f| Some((f, at(old, &["spec", f])?.clone())))
        .collect();
    if kept.is_empty() {
        return;
    }
    if let Some(spec) = req.object.as_mut().and_then(spec_mut) {
        for (f, v) in kept {
            spec.insert(f.into(), v);
        }
    }
}

#[async_trait]
impl MutatingPlugin for Priority {
    fn name(&self) -> &'static str {
        NAME
    }

    fn handles(&self, op: Operation) -> bool {
        matches!(op, Operation::Create | Operation::Update)
    }

    async fn admit(&self, req: &mut AdmissionRequest, ctx: &dyn AdmissionContext) -> Result<(), StatusError> {
        if !req.is("", "pods") {
            return Ok(());
        }
        match req.operation {
            Operation::Create => admit_create(req, ctx).await,
            Operation::Update => {
                admit_update(req);
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl ValidatingPlugin for Priority {
    fn name(&self) -> &'static str {
        NAME
    }

    fn handles(&self, op: Operation) -> bool {
        matches!(op, Operation::Create | Operation::Update)
    }

    /// `validatePriorityClass`: a class may become the global default only when no other is.
    async fn validate(&self, req: &AdmissionRequest, ctx: &dyn AdmissionContext) -> Result<(), StatusError> {
        if !req.is(GROUP, RESOURCE) {
            return Ok(());
        }
        let Some(pc) = req.object.as_ref() else { return Ok(()) };
        if at(pc, &["globalDefault"]).and_then(Value::as_bool) != Some(true) {
            return Ok(());
        }
        let Some(current) = default_class(ctx).await? else { return Ok(()) };
        let current = class_name(&current);
        if req.operation == Operation::Create || current != class_name(pc) {
            return Err(req.forbidden(format!(
                "PriorityClass {current} is already marked as default. Only one default can exist"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "priority_tests.rs"]
mod tests;
