//! The MutatingAdmissionPolicy plugin (k8s.io/apiserver `admission/plugin/policy/mutating`):
//! policies and bindings fed by the server's informer into a [`MutatingPolicySet`],
//! applied to every create, update and connect they match.
//!
//! Per request, for each policy in name order whose `matchConstraints` match, each of its
//! bindings in name order whose `matchResources` match, and each param the binding
//! selects (an invocation): the policy's match conditions are evaluated over the object
//! as the mutations before left it, then its mutations in order, each an
//! ApplyConfiguration merged along the kind's schema or a JSON patch ([`patch`]); the
//! object is decoded and defaulted again after each. In the chain's second round only the
//! invocations of `reinvocationPolicy: IfNeeded` policies made before a later change run
//! again (kube's `policyReinvokeContext`).
//!
//! Errors are collected as kube's dispatcher collects them (`policy 'p' with binding 'b'
//! denied request: ...`); those of policies with `failurePolicy: Ignore` are dropped, the
//! first other one refuses the request: 403 with the reason of the error (`Invalid` for an
//! evaluation's), every message a cause.
//!
//! - `spec`: the compiled policies and bindings;
//! - `patch`: ApplyConfiguration and JSON patch.

pub mod patch;
pub mod spec;

use super::evaluate::{self, Authz};
use super::inputs::{NamespaceCache, Values};
use super::matching::Matched;
use super::{is_policy_resource, plan, set};
use crate::types::{AdmissionContext, AdmissionRequest, KindResource, MutatingPlugin, Operation};
use apimachinery::status::StatusCause;
use apimachinery::{CauseType, StatusError, StatusReason};
use async_trait::async_trait;
use kcel::limits::{PER_CALL_LIMIT, RUNTIME_CEL_COST_BUDGET};
use serde_json::Value;
use spec::{MutatingBinding, MutatingPolicy, PatchType};
use std::sync::Arc;

pub const MUTATING: &str = "MutatingAdmissionPolicy";

/// The MutatingAdmissionPolicies and their bindings the plugin applies.
pub type MutatingPolicySet = set::PolicySet<MutatingPolicy, MutatingBinding>;

type Snapshot = set::Snapshot<MutatingPolicy, MutatingBinding>;

/// The MutatingAdmissionPolicy admission plugin over a shared [`MutatingPolicySet`].
#[derive(Debug, Default, Clone)]
pub struct MutatingAdmissionPolicy {
    policies: Arc<MutatingPolicySet>,
}

impl MutatingAdmissionPolicy {
    pub fn new(policies: Arc<MutatingPolicySet>) -> Self {
        Self { policies }
    }

    /// The set the server's informer keeps current.
    pub fn policies(&self) -> Arc<MutatingPolicySet> {
        Arc::clone(&self.policies)
    }
}

#[async_trait]
impl MutatingPlugin for MutatingAdmissionPolicy {
    fn name(&self) -> &'static str {
        MUTATING
    }

    /// A delete has no object to mutate.
    fn handles(&self, op: Operation) -> bool {
        matches!(op, Operation::Create | Operation::Update | Operation::Connect)
    }

    async fn admit(&self, req: &mut AdmissionRequest, ctx: &dyn AdmissionContext) -> Result<(), StatusError> {
        if is_policy_resource(req) {
            return Ok(());
        }
        let snapshot = self.policies.current();
        if snapshot.is_idle() {
            return Ok(());
        }
        dispatch(&snapshot, req, ctx).await
    }
}

/// One policy error, as kube's `PolicyError`.
struct PolicyError<'s> {
    policy: &'s MutatingPolicy,
    binding: Option<&'s MutatingBinding>,
    message: String,
    reason: StatusReason,
}

impl PolicyError<'_> {
    /// kube's `PolicyError.Error()`.
    fn text(&self) -> String {
        match self.binding {
            Some(b) => format!(
                "policy '{}' with binding '{}' denied request: {}",
                self.policy.name, b.name, self.message
            ),
            None => format!(
                "policy {} denied request: {}",
                apimachinery::quote::go_quote(&self.policy.name),
                self.message
            ),
        }
    }
}

/// One policy, binding and param to apply, at the kind the policy matched.
struct Invocation<'s> {
    policy: &'s MutatingPolicy,
    binding: &'s MutatingBinding,
    matched: Matched,
    param: Option<Value>,
}

impl Invocation<'_> {
    /// kube's invocation key: policy, binding and the param's namespace and name.
    fn key(&self) -> String {
        let param = self.param.as_ref().map_or(String::new(), |p| {
            let ns = p.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or_default();
            let name = p.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
            format!("{ns}/{name}")
        });
        format!("{}/{}/{param}", self.policy.name, self.binding.name)
    }
}

/// kube's generic dispatcher ([`plan::plan`]): the invocations of the request, and the
/// configuration errors met finding them (`failed to configure policy/binding: ...`).
async fn invocations<'s>(
    snapshot: &'s Snapshot,
    req: &AdmissionRequest,
    ctx: &dyn AdmissionContext,
    errors: &mut Vec<PolicyError<'s>>,
) -> Vec<Invocation<'s>> {
    let mut out = Vec::new();
    for step in plan::plan(snapshot, req, ctx).await {
        match step {
            plan::Step::Config { policy, binding, message } => errors.push(PolicyError {
                policy,
                binding,
                message: plan::config_message(binding, &message),
                reason: StatusReason::Forbidden,
            }),
            plan::Step::Invoke { policy, binding, matched, param } => {
                out.push(Invocation { policy, binding, matched, param })
            }
            plan::Step::EndPolicy(_) => {}
        }
    }
    out
}

/// The request's own resource and kind.
fn own_kind(req: &AdmissionRequest) -> KindResource {
    KindResource {
        group: req.group.clone(),
        version: req.version.clone(),
        resource: req.resource.clone(),
        kind: req.kind.clone(),
        namespaced: !req.namespace.is_empty(),
    }
}

async fn dispatch(
    snapshot: &Snapshot,
    req: &mut AdmissionRequest,
    ctx: &dyn AdmissionContext,
) -> Result<(), StatusError> {
    let mut errors = Vec::new();
    let invocations = invocations(snapshot, req, ctx, &mut errors).await;
    if !invocations.is_empty() {
        invoke(&invocations, req, ctx, &mut errors).await?;
    }
    refuse(req, errors)
}

/// kube's mutating dispatcher over the invocations.
async fn invoke<'s>(
    invocations: &[Invocation<'s>],
    req: &mut AdmissionRequest,
    ctx: &dyn AdmissionContext,
    errors: &mut Vec<PolicyError<'s>>,
) -> Result<(), StatusError> {
    if req.reinvocation.is_reinvoke && req.reinvocation.policies.last_output.as_ref() != Some(&req.object) {
        // Plugins after this one changed the object: every IfNeeded policy runs again.
        req.reinvocation.policies.require_reinvoking_previously_invoked();
    }
    let mut namespaces = NamespaceCache::default();
    let mut authz =
        Authz { answers: Default::default(), user: std::borrow::Cow::Owned(req.user.clone()), ctx };
    let result = async {
        for inv in invocations {
            invoke_one(inv, req, ctx, &mut namespaces, &mut authz, errors).await?;
        }
        Ok(())
    }
    .await;
    req.reinvocation.policies.last_output = Some(req.object.clone());
    result
}

/// One invocation: its match conditions, then its mutations in order.
async fn invoke_one<'s>(
    inv: &Invocation<'s>,
    req: &mut AdmissionRequest,
    ctx: &dyn AdmissionContext,
    namespaces: &mut NamespaceCache,
    authz: &mut Authz<'_>,
    errors: &mut Vec<PolicyError<'s>>,
) -> Result<(), StatusError> {
    let (policy, binding) = (inv.policy, inv.binding);
    let error = |message: String| PolicyError {
        policy,
        binding: Some(binding),
        message,
        reason: StatusReason::Invalid,
    };
    let values = match Values::build(req, &inv.matched, Some(namespaces), ctx, &kcel::Reads::WHOLE).await {
        Ok(v) => v,
        Err(super::inputs::InputError::Status(e)) => return Err(e),
        Err(super::inputs::InputError::Config(message)) => {
            errors.push(error(message));
            return Ok(());
        }
    };
    // The object as this invocation sees it: at the kind the policy matched.
    let Some(before) = values.converted_object().cloned().or_else(|| req.object.clone()) else {
        return Ok(());
    };
    let param = inv.param.clone().unwrap_or(Value::Null);
    {
        let base = match values.activation_for(req, &before) {
            Ok(a) => a,
            Err(message) => {
                errors.push(error(message));
                return Ok(());
            }
        };
        let mut layer = kcel::Activation::new();
        if let Err(e) = layer.bind(kcel::admission::PARAMS, &param, &kcel::Shape::Any) {
            errors.push(error(e.to_string()));
            return Ok(());
        }
        let conditions = policy.match_conditions.iter().map(|(_, c)| c);
        match evaluate::conditions_match(conditions, policy.fail, &[&base, &layer], authz).await {
            Ok(true) => {}
            Ok(false) => return Ok(()),
            Err(message) => {
                errors.push(error(message));
                return Ok(());
            }
        }
    }
    let key = inv.key();
    if req.reinvocation.is_reinvoke && !req.reinvocation.policies.reinvoke.contains(&key) {
        return Ok(());
    }
    let kind = inv.matched.kind_resource(req);
    let mut current = before.clone();
    for mutation in &policy.mutations {
        let outcome = {
            let base = values.activation_for(req, &current);
            mutate(policy, mutation, &kind, &current, base, &param, ctx, authz).await
        };
        match outcome {
            Ok(next) => current = next,
            Err(Failure::Status(e)) => return Err(e),
            Err(Failure::Policy(message)) => errors.push(error(message)),
        }
    }
    if current != before {
        req.object = Some(if inv.matched.is_own() {
            current
        } else {
            ctx.convert(&current, &own_kind(req)).ok_or_else(|| {
                StatusError::internal(&format!(
                    "failed to convert object: no conversion to {}/{}, Kind={}",
                    req.group, req.version, req.kind
                ))
            })?
        });
        req.reinvocation.policies.require_reinvoking_previously_invoked();
        req.reinvocation.should_reinvoke = true;
    }
    if policy.reinvoke_if_needed && !req.reinvocation.policies.previously_invoked.contains(&key) {
        req.reinvocation.policies.previously_invoked.push(key);
    }
    Ok(())
}

/// Why a mutation did not apply.
enum Failure {
    /// The request fails with this Status (kube returns these at once).
    Status(StatusError),
    /// A policy error, kept or dropped by the failure policy.
    Policy(String),
}

/// Evaluates one mutation over `object` and applies it: the object it leaves.
#[allow(clippy::too_many_arguments)]
async fn mutate(
    policy: &MutatingPolicy,
    mutation: &spec::Mutation,
    kind: &KindResource,
    object: &Value,
    base: Result<kcel::Activation<'_>, String>,
    param: &Value,
    ctx: &dyn AdmissionContext,
    authz: &mut Authz<'_>,
) -> Result<Value, Failure> {
    let Some(expression) = &mutation.expression else {
        return Err(Failure::Status(StatusError::internal(&format!(
            "expected {} compiled evaluators for policy {}, got fewer",
            policy.mutations.len(),
            policy.name
        ))));
    };
    let Some(schema) = ctx.object_schema(&kind.group, &kind.version, &kind.kind) else {
        let gvk = format!("{}/{}, Kind={}", kind.group, kind.version, kind.kind);
        return Err(Failure::Status(StatusError::service_unavailable(format!(
            "Resource kind {gvk} not found. There can be a delay between when CustomResourceDefinitions are created and when they are available."
        ))));
    };
    let program = expression.program.as_ref().map_err(|detail| Failure::Policy(detail.clone()))?;
    let base = base.map_err(Failure::Policy)?;
    let mut layer = kcel::Activation::new();
    layer
        .bind(kcel::admission::PARAMS, param, &kcel::Shape::Any)
        .map_err(|e| Failure::Policy(e.to_string()))?;
    // The variables are bound per mutation (kube's composition context of one patcher):
    // evaluated when read, at most once, each mutation with kube's whole budget.
    evaluate::bind_variables(&policy.variables, &mut layer);
    let result = evaluate::run(program, &[&base, &layer], Some(authz)).await;
    let variables_cost = layer.take_lazy_cost();
    let cost = match &result {
        Ok(v) => v.cost,
        Err(kcel::EvalError::CostLimitExceeded) => PER_CALL_LIMIT,
        Err(_) => 0,
    };
    if cost.saturating_add(variables_cost) > RUNTIME_CEL_COST_BUDGET {
        return Err(Failure::Policy(evaluate::OUT_OF_BUDGET.to_string()));
    }
    let evaluated = result.map_err(|e| Failure::Policy(evaluate::eval_error(&expression.source, &e)))?;
    match mutation.patch_type {
        PatchType::ApplyConfiguration => {
            let configuration = kcel::mutation::apply_configuration(&evaluated).map_err(Failure::Policy)?;
            let merged =
                patch::apply_configuration(&schema, object, configuration).map_err(Failure::Policy)?;
            ctx.admit_mutated(kind, merged, false).map_err(Failure::Status)
        }
        PatchType::JsonPatch => {
            let ops = kcel::mutation::json_patch(&evaluated).map_err(Failure::Policy)?;
            let patched = patch::json_patch(object, ops).map_err(Failure::Policy)?;
            if patched == *object {
                return Ok(patched);
            }
            ctx.admit_mutated(kind, patched, true).map_err(Failure::Status)
        }
    }
}

/// kube's generic dispatcher's answer: the errors of `failurePolicy: Ignore` policies
/// dropped, the first other one refuses the request.
fn refuse(req: &AdmissionRequest, errors: Vec<PolicyError>) -> Result<(), StatusError> {
    let kept: Vec<&PolicyError> = errors
        .iter()
        .filter(|e| {
            if !e.policy.fail {
                tracing::debug!(policy = %e.policy.name, error = %e.message, "mutating admission policy error ignored");
            }
            e.policy.fail
        })
        .collect();
    let Some(first) = kept.first() else { return Ok(()) };
    let mut status = req.forbidden("admission request denied by policy");
    status.message = first.text();
    status.reason = first.reason;
    if let Some(details) = status.details.as_mut() {
        details.causes.extend(kept.iter().map(|e| StatusCause {
            reason: CauseType::Unspecified,
            message: e.text(),
            field: String::new(),
        }));
    }
    Err(status)
}

#[cfg(test)]
mod tests;
