//! The first half of kube's generic policy dispatcher, shared by both policy plugins:
//! for each policy in name order whose `matchConstraints` match the request, its
//! paramKind resolved, each of its bindings in name order whose `matchResources` match,
//! and each param the binding selects, one [`Step::Invoke`]; the configuration errors met
//! on the way (a selector that does not parse, a paramKind that is not served, params
//! that cannot be found) as [`Step::Config`], in the same order. The matching (which may
//! read the namespace and params) is all done before any evaluation.

use super::matching::{self, Matched, NamespaceLabels};
use super::params;
use super::set::{CompiledPolicy, ParsedBinding, Snapshot};
use super::spec::{MatchResources, ParamKind, ParamRef};
use crate::types::{AdmissionContext, AdmissionRequest};
use serde_json::Value;

/// What the planner reads of a policy.
pub trait PlannedPolicy: CompiledPolicy {
    fn match_constraints(&self) -> Option<&MatchResources>;
    fn param_kind(&self) -> Option<&ParamKind>;
}

/// What the planner reads of a binding.
pub trait PlannedBinding: ParsedBinding {
    fn match_resources(&self) -> Option<&MatchResources>;
    fn param_ref(&self) -> Option<&ParamRef>;
}

/// One step of a request's dispatch, in kube's order.
pub enum Step<'s, P, B> {
    /// A configuration error of a policy (no binding) or of one of its bindings: the
    /// error's text, without kube's `failed to configure ...: ` prefix.
    Config { policy: &'s P, binding: Option<&'s B>, message: String },
    /// A policy to apply for a binding and a param, at the kind it matched.
    Invoke { policy: &'s P, binding: &'s B, matched: Matched, param: Option<Value> },
    /// The policy's bindings are done.
    EndPolicy(&'s P),
}

/// kube's `failed to configure policy: ...` / `failed to configure binding: ...`.
pub fn config_message<B>(binding: Option<&B>, err: &str) -> String {
    match binding {
        None => format!("failed to configure policy: {err}"),
        Some(_) => format!("failed to configure binding: {err}"),
    }
}

/// The steps of a request (module docs).
pub async fn plan<'s, P: PlannedPolicy, B: PlannedBinding>(
    snapshot: &'s Snapshot<P, B>,
    req: &AdmissionRequest,
    ctx: &dyn AdmissionContext,
) -> Vec<Step<'s, P, B>> {
    let mut labels = NamespaceLabels::default();
    // Most policies add an invocation and their end.
    let mut steps = Vec::with_capacity(snapshot.policies.len() * 2);
    for (policy, bindings) in snapshot.bound() {
        let Some(constraints) = policy.match_constraints() else { continue };
        let matched = match matching::matches(constraints, req, &mut labels, ctx).await {
            Ok(Some(m)) => m,
            Ok(None) => continue,
            Err(e) => {
                steps.push(Step::Config { policy, binding: None, message: e.message });
                continue;
            }
        };
        let param_resource = match policy.param_kind() {
            None => None,
            Some(kind) => {
                let resolved =
                    kind.group_version().and_then(|(g, v)| ctx.resource_for_kind(g, v, &kind.kind));
                if resolved.is_none() {
                    let message =
                        format!("failed to find resource referenced by paramKind: '{}'", kind.gvk_string());
                    steps.push(Step::Config { policy, binding: None, message });
                    continue;
                }
                resolved
            }
        };
        for binding in bindings {
            let binding: &B = binding;
            if let Some(mr) = binding.match_resources() {
                match matching::matches(mr, req, &mut labels, ctx).await {
                    Ok(Some(_)) => {}
                    Ok(None) => continue,
                    Err(e) => {
                        steps.push(Step::Config { policy, binding: Some(binding), message: e.message });
                        continue;
                    }
                }
            }
            let found =
                params::collect(policy.param_kind(), param_resource.as_ref(), binding.param_ref(), req, ctx)
                    .await;
            match found {
                Ok(params) => steps.extend(params.into_iter().map(|param| Step::Invoke {
                    policy,
                    binding,
                    matched: matched.clone(),
                    param,
                })),
                Err(message) => steps.push(Step::Config { policy, binding: Some(binding), message }),
            }
        }
        steps.push(Step::EndPolicy(policy));
    }
    steps
}
