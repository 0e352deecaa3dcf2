//! The disruption controller (kube-controller-manager's, reduced to what the API needs):
//! every PodDisruptionBudget's status says how many selected Pods are healthy (Ready and
//! not being deleted), how many must stay healthy, and so how many disruptions the
//! eviction subresource may allow now. Recomputed when a budget or a Pod of its namespace
//! changes, and every 30 s (evictions recorded in `disruptedPods` expire after 2 minutes).
//!
//! kube counts the expected Pods from the scale of the controllers that own them; kubeward
//! counts the Pods the budget selects (so a percentage or `maxUnavailable` is taken of
//! those). A budget with neither `minAvailable` nor `maxUnavailable` keeps one Pod healthy.

use super::Controller;
use crate::informer::{name_of, Event, Informer};
use crate::objects::{now_rfc3339, Objects};
use crate::state::State;
use apimachinery::selectors::LabelSelector;
use registry::ResourceType;
use serde_json::{json, Value};
use std::time::Duration;

const RESYNC: Duration = Duration::from_secs(30);
/// How long an eviction counts against a budget before the Pod must be gone.
const DISRUPTED_POD_TIMEOUT: chrono::TimeDelta = chrono::TimeDelta::minutes(2);

struct Disruption {
    objects: Objects,
    pods: &'static ResourceType,
    budgets: &'static ResourceType,
}

fn ready(pod: &Value) -> bool {
    pod.pointer("/metadata/deletionTimestamp").is_none()
        && pod
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// An int-or-percent of `total` (percentages rounded up, as kube's
/// `GetScaledValueFromIntOrPercent(.., true)`).
fn scaled(v: &Value, total: i64) -> Option<i64> {
    if let Some(n) = v.as_i64() {
        return Some(n);
    }
    let pct: i64 = v.as_str()?.strip_suffix('%')?.parse().ok()?;
    Some((pct * total + 99) / 100)
}

/// The status a budget should have, given the Pods of its namespace.
pub(crate) fn status_for(budget: &Value, pods: &[Value], now: chrono::DateTime<chrono::Utc>) -> Value {
    let selector = budget.pointer("/spec/selector").cloned().unwrap_or(Value::Null);
    let selector = LabelSelector::from_label_selector(&selector).unwrap_or(LabelSelector::Nothing);
    let selected: Vec<&Value> = pods
        .iter()
        .filter(|p| !selector.is_empty() && selector.matches_json(p.pointer("/metadata/labels")))
        .collect();
    // Evictions still pending (the Pod exists, recorded less than 2 minutes ago).
    let mut disrupted = serde_json::Map::new();
    for (pod, at) in budget.pointer("/status/disruptedPods").and_then(Value::as_object).into_iter().flatten()
    {
        let fresh = at
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .is_some_and(|t| now.signed_duration_since(t) < DISRUPTED_POD_TIMEOUT);
        let alive = selected
            .iter()
            .any(|p| name_of(p).1 == pod && p.pointer("/metadata/deletionTimestamp").is_none());
        if fresh && alive {
            disrupted.insert(pod.clone(), at.clone());
        }
    }
    let expected = selected.len() as i64;
    let healthy =
        selected.iter().filter(|p| ready(p) && !disrupted.contains_key(name_of(p).1)).count() as i64;
    let spec = budget.get("spec").cloned().unwrap_or(Value::Null);
    let desired = match (spec.get("minAvailable"), spec.get("maxUnavailable")) {
        (_, Some(max)) if !max.is_null() => (expected - scaled(max, expected).unwrap_or(0)).max(0),
        (Some(min), _) if !min.is_null() => scaled(min, expected).unwrap_or(expected),
        _ => 1,
    };
    let allowed = (healthy - desired).max(0);
    let generation = budget.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(1);
    let (cond_status, reason) =
        if allowed > 0 { ("True", "SufficientPods") } else { ("False", "InsufficientPods") };
    let previous = budget
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|c| c.iter().find(|c| c["type"] == "DisruptionAllowed"));
    let since = match previous {
        Some(p) if p["status"] == cond_status => p["lastTransitionTime"].clone(),
        _ => json!(now.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
    };
    let mut status = json!({
        "observedGeneration": generation,
        "disruptionsAllowed": allowed,
        "currentHealthy": healthy,
        "desiredHealthy": desired,
        "expectedPods": expected,
        "conditions": [{
            "type": "DisruptionAllowed",
            "status": cond_status,
            "reason": reason,
            "message": "",
            "observedGeneration": generation,
            "lastTransitionTime": since,
        }],
    });
    // `disruptedPods` is omitempty: no empty map.
    if !disrupted.is_empty() {
        status["disruptedPods"] = Value::Object(disrupted);
    }
    status
}

#[async_trait::async_trait]
impl Controller for Disruption {
    async fn handle(&mut self, event: Event) {
        match event {
            Event::Apply(o) | Event::Delete(o) | Event::InitApply(o) => {
                let ns = name_of(&o).0.to_string();
                self.sync_namespace(&ns).await;
            }
            _ => {}
        }
    }

    fn resync_period(&self) -> Option<Duration> {
        Some(RESYNC)
    }

    async fn resync(&mut self) {
        if let Ok((budgets, _)) = self.objects.list_all(self.budgets, "").await {
            let mut namespaces: Vec<String> = budgets.iter().map(|b| name_of(b).0.to_string()).collect();
            namespaces.dedup();
            for ns in namespaces {
                self.sync_namespace(&ns).await;
            }
        }
    }
}

impl Disruption {
    async fn sync_namespace(&self, ns: &str) {
        let Ok((budgets, _)) = self.objects.list_all(self.budgets, ns).await else { return };
        if budgets.is_empty() {
            return;
        }
        let Ok((pods, _)) = self.objects.list_all(self.pods, ns).await else { return };
        let now = chrono::Utc::now();
        for budget in budgets {
            let status = status_for(&budget, &pods, now);
            let mut unchanged = budget.get("status").cloned().unwrap_or(Value::Null);
            // The transition time alone is no change.
            if let (Some(a), Some(b)) = (unchanged.get_mut("conditions"), status.get("conditions")) {
                *a = b.clone();
            }
            if unchanged == status {
                continue;
            }
            let (ns, name) = name_of(&budget);
            let expected = budget
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .and_then(|r| r.parse().ok());
            let mut updated = budget.clone();
            updated["status"] = status;
            // kube's disruption controller writes the status as kube-controller-manager.
            crate::rest::field_manager::record_internal_update(
                self.budgets,
                &budget,
                &mut updated,
                "kube-controller-manager",
                "status",
            );
            if let Err(e) = self.objects.update(self.budgets, ns, name, &updated, expected).await {
                tracing::debug!(budget = name, error = %e.message, "budget changed meanwhile; recomputed on its event");
            } else {
                tracing::debug!(budget = name, at = %now_rfc3339(), "disruption budget status updated");
            }
        }
    }
}

/// Starts the controller where PodDisruptionBudgets are served.
pub async fn start(state: &State) {
    let (Some(pods), Some(budgets)) = (
        state.catalog.lookup("", "v1", "pods"),
        state.catalog.lookup("policy", "v1", "poddisruptionbudgets"),
    ) else {
        return;
    };
    let informer = Informer::new(state.objects.clone(), "disruption", vec![budgets, pods]);
    super::run(informer, Disruption { objects: state.objects.clone(), pods, budgets }).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, ready: bool) -> Value {
        json!({"metadata": {"name": name, "labels": {"app": "web"}},
            "status": {"conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}})
    }

    #[test]
    fn budgets_count_ready_selected_pods() {
        let now = chrono::Utc::now();
        let pods = vec![pod("a", true), pod("b", true), pod("c", false), json!({"metadata": {"name": "x"}})];
        let budget = |spec: Value| json!({"metadata": {"name": "pdb", "generation": 2}, "spec": spec});
        let sel = json!({"matchLabels": {"app": "web"}});
        let s = status_for(&budget(json!({"selector": sel, "minAvailable": 1})), &pods, now);
        assert_eq!(
            (s["expectedPods"].as_i64(), s["currentHealthy"].as_i64(), s["disruptionsAllowed"].as_i64()),
            (Some(3), Some(2), Some(1))
        );
        assert_eq!(
            (s["observedGeneration"].as_i64(), s["conditions"][0]["reason"].as_str()),
            (Some(2), Some("SufficientPods"))
        );
        let s = status_for(&budget(json!({"selector": sel, "minAvailable": "100%"})), &pods, now);
        assert_eq!((s["desiredHealthy"].as_i64(), s["disruptionsAllowed"].as_i64()), (Some(3), Some(0)));
        let s = status_for(&budget(json!({"selector": sel, "maxUnavailable": 1})), &pods, now);
        assert_eq!((s["desiredHealthy"].as_i64(), s["disruptionsAllowed"].as_i64()), (Some(2), Some(0)));
        // A recorded eviction counts against the budget until the Pod goes.
        let mut spent = budget(json!({"selector": sel, "minAvailable": 1}));
        spent["status"] = json!({"disruptedPods": {"a": now.to_rfc3339()}});
        let s = status_for(&spent, &pods, now);
        assert_eq!((s["currentHealthy"].as_i64(), s["disruptionsAllowed"].as_i64()), (Some(1), Some(0)));
        // An empty selector selects nothing.
        let s = status_for(&budget(json!({"selector": {}, "minAvailable": 0})), &pods, now);
        assert_eq!(s["expectedPods"].as_i64(), Some(0));
    }
}
