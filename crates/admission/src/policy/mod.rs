//! The ValidatingAdmissionPolicy plugin (k8s.io/apiserver
//! `admission/plugin/policy/validating`): policies and their bindings, fed by the
//! server's informer into a [`PolicySet`] (each policy compiled once per generation),
//! evaluated for every write they match.
//!
//! Per request, for each policy in name order whose `matchConstraints` match, each of its
//! bindings in name order whose `matchResources` match, and each param the binding
//! selects: the policy is evaluated ([`evaluate`]) and its failed validations act as the
//! binding's `validationActions` say: `Deny` refuses the request with kube's message and
//! the validation's reason, `Warn` adds a `Warning` header, `Audit` an audit annotation.
//! Configuration errors (a paramKind that is not served, params that cannot be found)
//! refuse the request under `failurePolicy: Fail` and are ignored under `Ignore`.
//!
//! - `spec`: the parsed and compiled policies and bindings;
//! - `matching`: match constraints and match resources;
//! - `plan`: which policies, bindings and params apply (shared with `mutating`);
//! - `params`: the params of a binding;
//! - `evaluate`: one policy, binding and param;
//! - `inputs`: the variables of a request (`object`, `request`, `namespaceObject`, ...);
//! - `typecheck`: the warnings of `status.typeChecking`.

pub mod evaluate;
pub mod inputs;
pub mod matching;
pub mod mutating;
pub mod params;
pub mod plan;
pub mod set;
pub mod spec;
pub mod typecheck;

use crate::types::{AdmissionContext, AdmissionRequest, Operation, ValidatingPlugin};
use apimachinery::{StatusError, StatusReason};
use async_trait::async_trait;
use evaluate::{AuditResult, Authz, Decision};
use serde_json::Value;
use spec::{Binding, Policy};
use std::sync::Arc;

/// The ValidatingAdmissionPolicies and their bindings the plugin enforces.
pub type PolicySet = set::PolicySet<Policy, Binding>;

type Snapshot = set::Snapshot<Policy, Binding>;

pub const VALIDATING: &str = "ValidatingAdmissionPolicy";

/// kube's limit on an audit annotation's value.
const MAX_AUDIT_ANNOTATION_VALUE_LENGTH: usize = 10 * 1024;

/// kube's key of the audit annotation of a failed validation under `Audit`.
pub const VALIDATION_FAILURE_KEY: &str = "validation.policy.admission.k8s.io/validation_failure";

/// The ValidatingAdmissionPolicy admission plugin over a shared [`PolicySet`].
#[derive(Debug, Default, Clone)]
pub struct ValidatingAdmissionPolicy {
    policies: Arc<PolicySet>,
}

impl ValidatingAdmissionPolicy {
    pub fn new(policies: Arc<PolicySet>) -> Self {
        Self { policies }
    }

    /// The set the server's informer keeps current.
    pub fn policies(&self) -> Arc<PolicySet> {
        Arc::clone(&self.policies)
    }
}

/// Policies and bindings never go through policies themselves (kube's `isPolicyResource`).
pub(crate) fn is_policy_resource(req: &AdmissionRequest) -> bool {
    req.group == "admissionregistration.k8s.io"
        && matches!(
            req.resource.as_str(),
            "validatingadmissionpolicies"
                | "validatingadmissionpolicybindings"
                | "mutatingadmissionpolicies"
                | "mutatingadmissionpolicybindings"
        )
}

/// A refusal: the decision and who made it.
struct Denied<'a> {
    policy: &'a Policy,
    binding: Option<&'a Binding>,
    message: String,
    reason: StatusReason,
}

#[async_trait]
impl ValidatingPlugin for ValidatingAdmissionPolicy {
    fn name(&self) -> &'static str {
        VALIDATING
    }

    fn handles(&self, _op: Operation) -> bool {
        true
    }

    async fn validate(&self, req: &AdmissionRequest, ctx: &dyn AdmissionContext) -> Result<(), StatusError> {
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

/// Go's `%v` of a `[]ValidationAction` inside JSON, as the audit annotation holds them.
fn failure_annotation(policy: &str, binding: &Binding, index: usize, message: &str) -> String {
    let s = |v: &str| apimachinery::gofmt::go_json(&Value::String(v.to_string()));
    let actions: Vec<String> = binding.actions.iter().map(|a| s(a.as_str())).collect();
    format!(
        "[{{\"message\":{},\"policy\":{},\"binding\":{},\"expressionIndex\":{index},\"validationActions\":[{}]}}]",
        s(message),
        s(policy),
        s(&binding.name),
        actions.join(",")
    )
}

/// Cuts `s` to at most `max` bytes on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// One step of a request's dispatch, in kube's order.
enum Step<'s> {
    /// A configuration error of a policy or binding.
    Config { policy: &'s Policy, binding: Option<&'s Binding>, message: String },
    /// An evaluation of a policy for a binding and a param, at a matched kind.
    Evaluate { policy: &'s Policy, binding: &'s Binding, matched: usize, param: Option<Value> },
    /// The policy's bindings are done: its audit annotations are published.
    EndPolicy(&'s Policy),
}

/// Plans the request's steps ([`plan::plan`]), each matched kind numbered so that its
/// variables are built once.
async fn steps<'s>(
    snapshot: &'s Snapshot,
    req: &AdmissionRequest,
    ctx: &dyn AdmissionContext,
    kinds: &mut Vec<matching::Matched>,
) -> Vec<Step<'s>> {
    let planned = plan::plan(snapshot, req, ctx).await;
    planned
        .into_iter()
        .map(|step| match step {
            plan::Step::Config { policy, binding, message } => Step::Config { policy, binding, message },
            plan::Step::EndPolicy(policy) => Step::EndPolicy(policy),
            plan::Step::Invoke { policy, binding, matched, param } => {
                let index = match kinds.iter().position(|k| *k == matched) {
                    Some(i) => i,
                    None => {
                        kinds.push(matched);
                        kinds.len() - 1
                    }
                };
                Step::Evaluate { policy, binding, matched: index, param }
            }
        })
        .collect()
}

async fn dispatch(
    snapshot: &Snapshot,
    req: &AdmissionRequest,
    ctx: &dyn AdmissionContext,
) -> Result<(), StatusError> {
    let mut kinds = Vec::new();
    let steps = steps(snapshot, req, ctx, &mut kinds).await;
    if !steps.iter().any(|s| !matches!(s, Step::EndPolicy(_))) {
        return Ok(());
    }
    // The variables of each matched kind, converted once; the Namespace read only when an
    // expression to evaluate names it (`namespaceObject` is null otherwise, never seen).
    let reads_namespace =
        steps.iter().any(|s| matches!(s, Step::Evaluate { policy, .. } if policy.reads_namespace));
    let mut namespaces = inputs::NamespaceCache::default();
    let mut values = Vec::with_capacity(kinds.len());
    for matched in &kinds {
        if !steps
            .iter()
            .any(|s| matches!(s, Step::Evaluate { matched: m, .. } if kinds.get(*m) == Some(matched)))
        {
            values.push(Err(String::new()));
            continue;
        }
        let namespaces = reads_namespace.then_some(&mut namespaces);
        match inputs::Values::build(req, matched, namespaces, ctx, &snapshot.reads.request).await {
            Ok(v) => values.push(Ok(v)),
            Err(inputs::InputError::Status(e)) => return Err(e),
            Err(inputs::InputError::Config(message)) => values.push(Err(message)),
        }
    }
    // Only what the policies' expressions can read of the variables is converted.
    let activations: Vec<Result<kcel::Activation, String>> = values
        .iter()
        .map(|v| v.as_ref().map_err(Clone::clone).and_then(|v| v.activation_reading(req, &snapshot.reads)))
        .collect();

    let mut authz = Authz { answers: Default::default(), user: std::borrow::Cow::Borrowed(&req.user), ctx };
    // `params` is null where a binding selects none; variables are bound per policy.
    const NULL: &Value = &Value::Null;
    let mut no_params = kcel::Activation::new();
    no_params
        .bind(kcel::admission::PARAMS, NULL, &kcel::Shape::Any)
        .map_err(|e| StatusError::internal(&e.to_string()))?;
    let mut denied: Vec<Denied> = Vec::new();
    let mut collector: Vec<(String, Vec<String>)> = Vec::new();
    for step in steps {
        match step {
            Step::Config { policy, binding, message } => config_error(&mut denied, policy, binding, message),
            Step::EndPolicy(policy) => {
                for (key, values) in std::mem::take(&mut collector) {
                    let _ = req.add_annotation(&format!("{}/{key}", policy.name), values.join(", "));
                }
            }
            Step::Evaluate { policy, binding, matched, param } => {
                let base = match activations.get(matched) {
                    Some(Ok(a)) => a,
                    Some(Err(message)) => {
                        config_error(&mut denied, policy, Some(binding), message.clone());
                        continue;
                    }
                    None => continue,
                };
                let outcome = match param {
                    // Nothing of the policy's own to bind: the layer without params.
                    None if policy.variables.is_empty() => {
                        evaluate::evaluate(policy, base, &mut no_params, &mut authz).await
                    }
                    param => {
                        let param = param.unwrap_or(Value::Null);
                        let mut layer = kcel::Activation::new();
                        if let Err(e) = layer.bind(kcel::admission::PARAMS, &param, &kcel::Shape::Any) {
                            config_error(&mut denied, policy, Some(binding), e.to_string());
                            continue;
                        }
                        evaluate::evaluate(policy, base, &mut layer, &mut authz).await
                    }
                };
                act(req, policy, binding, &outcome.decisions, &mut denied);
                for a in outcome.audit {
                    match a {
                        AuditResult::Publish { key, value } => {
                            let value = truncate(&value, MAX_AUDIT_ANNOTATION_VALUE_LENGTH).to_string();
                            match collector.iter_mut().find(|(k, _)| *k == key) {
                                Some((_, values)) if values.contains(&value) => {}
                                Some((_, values)) => values.push(value),
                                None => collector.push((key, vec![value])),
                            }
                        }
                        AuditResult::Error(message) => denied.push(Denied {
                            policy,
                            binding: Some(binding),
                            message,
                            reason: StatusReason::Invalid,
                        }),
                    }
                }
            }
        }
    }
    match denied.first() {
        None => Ok(()),
        Some(d) => Err(refusal(req, d)),
    }
}

/// What a binding does with one evaluation's decisions.
fn act<'a>(
    req: &AdmissionRequest,
    policy: &'a Policy,
    binding: &'a Binding,
    decisions: &[Decision],
    denied: &mut Vec<Denied<'a>>,
) {
    for (index, d) in decisions.iter().enumerate().filter(|(_, d)| d.deny) {
        for action in &binding.actions {
            match action {
                spec::Action::Deny => denied.push(Denied {
                    policy,
                    binding: Some(binding),
                    message: d.message.clone(),
                    reason: d.reason,
                }),
                spec::Action::Audit => {
                    let value = failure_annotation(&policy.name, binding, index, &d.message);
                    let _ = req.add_annotation(VALIDATION_FAILURE_KEY, value);
                }
                spec::Action::Warn => req.add_warning(format!(
                    "Validation failed for ValidatingAdmissionPolicy '{}' with binding '{}': {}",
                    policy.name, binding.name, d.message
                )),
            }
        }
    }
}

/// kube's `addConfigError`: refuse under `failurePolicy: Fail`, ignore under `Ignore`.
fn config_error<'a>(
    denied: &mut Vec<Denied<'a>>,
    policy: &'a Policy,
    binding: Option<&'a Binding>,
    err: String,
) {
    if !policy.fail {
        tracing::debug!(policy = %policy.name, error = %err, "policy configuration error ignored");
        return;
    }
    let message = plan::config_message(binding, &err);
    denied.push(Denied { policy, binding, message, reason: StatusReason::Invalid });
}

/// The Status of the first refusal: kube's Forbidden text with the decision's reason and
/// its code, the message repeated as a cause.
fn refusal(req: &AdmissionRequest, d: &Denied) -> StatusError {
    let message = match d.binding {
        Some(b) => format!(
            "ValidatingAdmissionPolicy '{}' with binding '{}' denied request: {}",
            d.policy.name, b.name, d.message
        ),
        None => format!("ValidatingAdmissionPolicy '{}' denied request: {}", d.policy.name, d.message),
    };
    let mut e = req.forbidden(&message);
    e.reason = d.reason;
    e.code = match d.reason {
        StatusReason::Forbidden => 403,
        StatusReason::RequestEntityTooLarge => 413,
        _ => 422,
    };
    if let Some(details) = e.details.as_mut() {
        details.causes.push(apimachinery::status::StatusCause {
            reason: apimachinery::CauseType::Unspecified,
            message,
            field: String::new(),
        });
    }
    e
}

#[cfg(test)]
mod tests;
