//! `POST pods/<name>/eviction` (policy/v1 Eviction), as kube's eviction REST: the Pod is
//! deleted unless a PodDisruptionBudget that selects it allows no disruption now, which is
//! a 429 naming the budget (kubectl drain retries on it). A budget that lets the eviction
//! through records the Pod in `status.disruptedPods` and spends one allowed disruption, so
//! concurrent evictions cannot overrun it. Pods that are not running (Pending, Succeeded,
//! Failed) or already being deleted are evicted without asking a budget.

use super::delete::{delete_one, options_of, Outcome};
use crate::context::Ctx;
use crate::objects::now_rfc3339;
use crate::response::{self, Body};
use apimachinery::selectors::LabelSelector;
use apimachinery::status::{StatusCause, StatusDetails};
use apimachinery::{CauseType, StatusError};
use http::Response;
use registry::ResourceType;
use serde_json::{json, Value};

const TOO_MANY: &str = "Cannot evict pod as it would violate the pod's disruption budget.";

fn budget_refusal(cause: String) -> StatusError {
    let mut e = StatusError::too_many_requests(TOO_MANY, 0);
    let details = e.details.get_or_insert_with(Box::<StatusDetails>::default);
    details.causes.push(StatusCause {
        reason: CauseType::DisruptionBudget,
        message: cause,
        field: String::new(),
    });
    e
}

pub async fn create(ctx: &Ctx, pods: &ResourceType, body: Value) -> Result<Response<Body>, StatusError> {
    let ns = ctx.info.namespace.as_str();
    let name = ctx.info.name.as_str();
    if let Some(given) = body.pointer("/metadata/name").and_then(Value::as_str).filter(|n| !n.is_empty()) {
        if given != name {
            return Err(StatusError::bad_request(format!(
                "name in URL does not match name in Eviction object: {name} vs {given}"
            )));
        }
    }
    let pod = ctx.state.objects.get(pods, ns, name).await?;
    let phase = pod.pointer("/status/phase").and_then(Value::as_str).unwrap_or("Pending");
    let deleting = pod.pointer("/metadata/deletionTimestamp").is_some();
    let opts = options_of(ctx, body.get("deleteOptions").unwrap_or(&Value::Null));
    if !deleting && !matches!(phase, "Pending" | "Succeeded" | "Failed") {
        if let Some(pdbs) = ctx.state.catalog.lookup("policy", "v1", "poddisruptionbudgets") {
            spend_disruption(ctx, pdbs, &pod, opts.dry_run).await?;
        }
    }
    match delete_one(ctx, pods, ns, name, &opts).await? {
        Outcome::Gone(_) | Outcome::Pending(_) => {}
    }
    let status =
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201});
    Ok(response::json(201, &status))
}

/// Checks the one budget that selects `pod` and takes one allowed disruption from it.
async fn spend_disruption(
    ctx: &Ctx,
    pdbs: &ResourceType,
    pod: &Value,
    dry_run: bool,
) -> Result<(), StatusError> {
    let ns = ctx.info.namespace.as_str();
    for _ in 0..5 {
        let (budgets, _) = ctx.state.objects.list_all(pdbs, ns).await?;
        let labels = pod.pointer("/metadata/labels");
        let selecting: Vec<&Value> = budgets
            .iter()
            .filter(|b| {
                let selector = b.pointer("/spec/selector").cloned().unwrap_or(Value::Null);
                // kube: a budget with an empty selector selects nothing here.
                LabelSelector::from_label_selector(&selector)
                    .is_ok_and(|s| !s.is_empty() && s.matches_json(labels))
            })
            .collect();
        let budget = match selecting.as_slice() {
            [] => return Ok(()),
            [one] => *one,
            _ => {
                return Err(StatusError::internal(
                    "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
                ))
            }
        };
        let budget_name = budget.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
        let int = |p: &str| budget.pointer(p).and_then(Value::as_i64).unwrap_or(0);
        if int("/status/observedGeneration") < int("/metadata/generation") {
            return Err(budget_refusal(format!(
                "The disruption budget {budget_name} is still being processed by the server."
            )));
        }
        let allowed = int("/status/disruptionsAllowed");
        if allowed < 0 {
            return Err(StatusError::forbidden(
                &pdbs.group_resource(),
                budget_name,
                "pdb disruptions allowed is negative",
            ));
        }
        if allowed == 0 {
            return Err(budget_refusal(format!(
                "The disruption budget {budget_name} needs {} healthy pods and has {} currently",
                int("/status/desiredHealthy"),
                int("/status/currentHealthy")
            )));
        }
        if dry_run {
            return Ok(());
        }
        let mut spent = budget.clone();
        spent["status"]["disruptionsAllowed"] = json!(allowed - 1);
        let pod_name = pod.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
        spent["status"]["disruptedPods"][pod_name] = json!(now_rfc3339());
        let expected =
            budget.pointer("/metadata/resourceVersion").and_then(Value::as_str).and_then(|r| r.parse().ok());
        match ctx.state.objects.update(pdbs, ns, budget_name, &spent, expected).await {
            Ok(_) => return Ok(()),
            Err(e) if e.is_conflict() => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StatusError::too_many_requests(TOO_MANY, 1))
}
