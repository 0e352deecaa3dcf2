//! The resource quota controller (kube-controller-manager's `resourcequota-controller`, the
//! part the API needs): a ResourceQuota's `status` says what its namespace uses of what its
//! `spec.hard` limits. A quota is synced when it is created and when its `spec.hard` changes
//! (a change of its status alone is left as written, as kube does), and every quota every five
//! minutes (kube's `--resource-quota-sync-period`), which also puts back a status someone
//! changed by hand.
//!
//! A sync recounts the usage from the stored objects (the ResourceQuota admission plugin's
//! [`recount`]) and writes `status.hard` (the spec's) and `status.used` when they differ from
//! what is stored. Between syncs the admission plugin charges each create and update, and the
//! delete path recounts the namespace when an object leaves it (`admit::release_quota`).

use super::Controller;
use crate::admit::StoreContext;
use crate::informer::{name_of, Event, Informer};
use crate::state::State;
use admission::plugins::resource_quota::recount;
use registry::ResourceType;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::time::Duration;

/// kube-controller-manager's default `--resource-quota-sync-period`.
const FULL_RESYNC: Duration = Duration::from_secs(300);

struct ResourceQuotas {
    context: StoreContext,
    quotas: &'static ResourceType,
    /// The `spec.hard` last seen per quota, so that a status-only change is not a sync.
    seen: HashMap<(String, String), Value>,
}

/// The status a quota should have for `used`: the spec's hard limits (as kube writes
/// quantities) and the usage of each.
fn status_for(quota: &Value, used: &admission::plugins::quota_usage::Usage) -> Value {
    let hard = admission::plugins::quota_usage::parse_list(quota.pointer("/spec/hard"));
    let list = |l: &admission::plugins::quota_usage::Usage| {
        Value::Object(l.iter().map(|(k, v)| (k.clone(), json!(v.to_string()))).collect::<Map<_, _>>())
    };
    json!({"hard": list(&hard), "used": list(used)})
}

/// Whether two ResourceLists hold the same quantities (`1000m` is `1`).
fn same_list(a: Option<&Value>, b: Option<&Value>) -> bool {
    let parse = admission::plugins::quota_usage::parse_list;
    parse(a) == parse(b)
}

#[async_trait::async_trait]
impl Controller for ResourceQuotas {
    async fn handle(&mut self, event: Event) {
        match event {
            Event::Apply(quota) | Event::InitApply(quota) => {
                let (ns, name) = name_of(&quota);
                let key = (ns.to_string(), name.to_string());
                let hard = quota.pointer("/spec/hard").cloned().unwrap_or(Value::Null);
                let changed = self.seen.get(&key).is_none_or(|seen| !same_list(Some(seen), Some(&hard)));
                self.seen.insert(key, hard);
                if changed {
                    self.sync(&quota).await;
                }
            }
            Event::Delete(quota) => {
                let (ns, name) = name_of(&quota);
                self.seen.remove(&(ns.to_string(), name.to_string()));
            }
            Event::Init => self.seen.clear(),
            Event::InitDone => {}
        }
    }

    fn resync_period(&self) -> Option<Duration> {
        Some(FULL_RESYNC)
    }

    async fn resync(&mut self) {
        let Ok((quotas, _)) = self.context.objects.list_all(self.quotas, "").await else { return };
        for quota in quotas {
            self.sync(&quota).await;
        }
    }
}

impl ResourceQuotas {
    /// Recounts one quota and writes its status if it changed.
    async fn sync(&self, quota: &Value) {
        let (ns, name) = name_of(quota);
        let used = match recount(&self.context, ns, quota).await {
            Ok(used) => used,
            Err(e) => {
                tracing::debug!(quota = name, namespace = ns, error = %e.message, "quota recount failed");
                return;
            }
        };
        let status = status_for(quota, &used);
        let current = quota.get("status");
        let unchanged = current.is_some_and(|c| {
            same_list(c.get("hard"), status.get("hard")) && same_list(c.get("used"), status.get("used"))
        });
        if unchanged {
            return;
        }
        let expected =
            quota.pointer("/metadata/resourceVersion").and_then(Value::as_str).and_then(|r| r.parse().ok());
        let mut updated = quota.clone();
        updated["status"] = status;
        // kube's resource quota controller writes through `status` as kube-controller-manager.
        crate::rest::field_manager::record_internal_update(
            self.quotas,
            quota,
            &mut updated,
            "kube-controller-manager",
            "status",
        );
        if let Err(e) = self.context.objects.update(self.quotas, ns, name, &updated, expected).await {
            // A newer version has an event of its own (or the next full resync comes).
            tracing::debug!(quota = name, namespace = ns, error = %e.message, "quota status not written");
        }
    }
}

/// Starts the controller where ResourceQuotas are served.
pub async fn start(state: &State) {
    let Some(quotas) = state.catalog.lookup("", "v1", "resourcequotas") else { return };
    let context = StoreContext {
        objects: state.objects.clone(),
        catalog: state.catalog,
        authorizer: state.authorizer.clone(),
    };
    let informer = Informer::new(state.objects.clone(), "resourcequota", vec![quotas]);
    super::run(informer, ResourceQuotas { context, quotas, seen: HashMap::new() }).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use admission::Quantity;

    #[test]
    fn status_copies_the_spec_and_writes_quantities_as_kube() {
        let quota = json!({"spec": {"hard": {"pods": "10", "requests.cpu": "1000m", "secrets": "5"}}});
        let used =
            [("pods".to_string(), Quantity::from_int(2)), ("requests.cpu".to_string(), Quantity::zero())]
                .into_iter()
                .chain([("secrets".to_string(), Quantity::from_int(1))])
                .collect();
        let status = status_for(&quota, &used);
        assert_eq!(
            status,
            json!({"hard": {"pods": "10", "requests.cpu": "1", "secrets": "5"},
                   "used": {"pods": "2", "requests.cpu": "0", "secrets": "1"}})
        );
    }

    #[test]
    fn lists_compare_by_quantity() {
        assert!(same_list(Some(&json!({"cpu": "1000m"})), Some(&json!({"cpu": "1"}))));
        assert!(!same_list(Some(&json!({"cpu": "2"})), Some(&json!({"cpu": "1"}))));
        assert!(!same_list(None, Some(&json!({"cpu": "1"}))));
    }
}
