//! ResourceQuota (plugin/pkg/admission/resourcequota): charges each create or update against
//! the namespace's ResourceQuota objects and rejects it with kube's `exceeded quota` message.
//!
//! How usage stays consistent: `status.used` is the source of truth, as in kube. A passing
//! request writes `status.used + delta` (and `status.hard` from `spec.hard`) through
//! `AdmissionContext::update_status`, a compare-and-swap on resourceVersion; on a Conflict the
//! whole check is re-run on fresh quotas (up to 5 times). Inside one process a mutex serializes
//! checks so concurrent requests do not burn retries. A quota whose status lacks a tracked
//! resource is first recounted from the store, and [`recalculate`] recounts every quota of a
//! namespace (the quota controller's job: call it after deletes so usage comes back down).

use crate::plugins::quota_usage::{self, parse_list, pretty, quota_selects, Usage};
use crate::quantity::Quantity;
use crate::types::{at, str_at, AdmissionContext, AdmissionRequest, Operation, ValidatingPlugin};
use apimachinery::StatusError;
use async_trait::async_trait;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

pub const NAME: &str = "ResourceQuota";
const MAX_RETRIES: usize = 5;

#[derive(Debug, Default)]
pub struct ResourceQuota {
    lock: tokio::sync::Mutex<()>,
}

fn to_json(list: &Usage) -> Value {
    Value::Object(list.iter().map(|(k, v)| (k.clone(), json!(v.to_string()))).collect::<Map<_, _>>())
}

/// Recounts what a quota's tracked resources use in a namespace, from the stored objects.
pub async fn recount(
    ctx: &dyn AdmissionContext,
    namespace: &str,
    quota: &Value,
) -> Result<Usage, StatusError> {
    let hard = parse_list(at(quota, &["spec", "hard"]));
    let sources: BTreeSet<(String, String)> = hard.keys().filter_map(|k| quota_usage::source_of(k)).collect();
    let mut used: Usage = hard.keys().map(|k| (k.clone(), Quantity::zero())).collect();
    for (group, resource) in sources {
        for obj in ctx.list(&group, &resource, namespace).await? {
            if !quota_selects(quota, &group, &resource, &obj) {
                continue;
            }
            for (k, q) in quota_usage::usage(&group, &resource, &obj) {
                if let Some(u) = used.get_mut(&k) {
                    *u = u.add(&q);
                }
            }
        }
    }
    Ok(used)
}

fn with_status(quota: &Value, hard: &Usage, used: &Usage) -> Value {
    let mut q = quota.clone();
    if let Some(o) = q.as_object_mut() {
        o.insert("status".into(), json!({"hard": to_json(hard), "used": to_json(used)}));
    }
    q
}

/// Recomputes `status.used` of every quota in a namespace from the store.
pub async fn recalculate(ctx: &dyn AdmissionContext, namespace: &str) -> Result<(), StatusError> {
    for quota in ctx.list("", "resourcequotas", namespace).await? {
        let hard = parse_list(at(&quota, &["spec", "hard"]));
        let used = recount(ctx, namespace, &quota).await?;
        ctx.update_status("", "resourcequotas", namespace, with_status(&quota, &hard, &used)).await?;
    }
    Ok(())
}

/// Compute resources a pod must request or limit explicitly when a quota tracks them.
const VALIDATION_SET: &[&str] =
    &["cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"];

fn pod_constraints(pod: &Value, hard: &Usage) -> Option<String> {
    let mut missing: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for list in ["containers", "initContainers"] {
        for c in crate::types::array_at(pod, &["spec", list]) {
            for key in VALIDATION_SET.iter().copied().filter(|k| hard.contains_key(*k)) {
                let (field, name) = match key.split_once('.') {
                    Some(("limits", n)) => ("limits", n),
                    Some((_, n)) => ("requests", n),
                    None => ("requests", key),
                };
                if at(c, &["resources", field, name]).is_none() {
                    missing.entry(key).or_default().insert(str_at(c, &["name"]).unwrap_or("").to_string());
                }
            }
        }
    }
    if missing.is_empty() {
        return None;
    }
    let parts: Vec<String> = missing
        .iter()
        .map(|(k, names)| format!("{k} for: {}", names.iter().cloned().collect::<Vec<_>>().join(", ")))
        .collect();
    Some(format!("must specify {}", parts.join("; ")))
}

impl ResourceQuota {
    /// One pass: check every quota, then write the new usage. `Ok(false)` means a write
    /// conflicted and the caller should retry.
    async fn check_once(
        &self,
        req: &AdmissionRequest,
        ctx: &dyn AdmissionContext,
        obj: &Value,
    ) -> Result<bool, StatusError> {
        let quotas = ctx.list("", "resourcequotas", &req.namespace).await?;
        let mut writes = Vec::new();
        for quota in quotas {
            if !quota_selects(&quota, &req.group, &req.resource, obj) {
                continue;
            }
            let name = str_at(&quota, &["metadata", "name"]).unwrap_or("").to_string();
            let hard = parse_list(at(&quota, &["spec", "hard"]));
            let mut delta = quota_usage::usage(&req.group, &req.resource, obj);
            if let Some(old) = req.old_object.as_ref().filter(|_| req.operation == Operation::Update) {
                if quota_selects(&quota, &req.group, &req.resource, old) {
                    for (k, q) in quota_usage::usage(&req.group, &req.resource, old) {
                        let cur = delta.get(&k).copied().unwrap_or_else(Quantity::zero);
                        delta.insert(k, cur.sub(&q));
                    }
                }
            }
            let requested: Usage =
                delta.into_iter().filter(|(k, q)| hard.contains_key(k) && q.nanos() > 0).collect();
            if req.group.is_empty() && req.resource == "pods" {
                if let Some(msg) = pod_constraints(obj, &hard) {
                    return Err(req.forbidden(format!("failed quota: {name}: {msg}")));
                }
            }
            if requested.is_empty() {
                continue;
            }
            let mut used = parse_list(at(&quota, &["status", "used"]));
            if hard.keys().any(|k| !used.contains_key(k)) {
                used = recount(ctx, &req.namespace, &quota).await?;
            }
            let exceeded: Vec<&String> = requested
                .iter()
                .filter(|(k, q)| used.get(*k).copied().unwrap_or_else(Quantity::zero).add(q) > hard[*k])
                .map(|(k, _)| k)
                .collect();
            if !exceeded.is_empty() {
                let mask = |l: &Usage| -> Usage {
                    exceeded
                        .iter()
                        .map(|k| ((*k).clone(), l.get(*k).copied().unwrap_or_else(Quantity::zero)))
                        .collect()
                };
                return Err(req.forbidden(format!(
                    "exceeded quota: {name}, requested: {}, used: {}, limited: {}",
                    pretty(&mask(&requested)),
                    pretty(&mask(&used)),
                    pretty(&mask(&hard))
                )));
            }
            let mut new_used = used.clone();
            for k in hard.keys() {
                let base = used.get(k).copied().unwrap_or_else(Quantity::zero);
                let add = requested.get(k).copied().unwrap_or_else(Quantity::zero);
                new_used.insert(k.clone(), base.add(&add));
            }
            writes.push(with_status(&quota, &hard, &new_used));
        }
        if req.dry_run {
            return Ok(true);
        }
        for w in writes {
            match ctx.update_status("", "resourcequotas", &req.namespace, w).await {
                Ok(_) => {}
                Err(e) if e.is_conflict() => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }
}

#[async_trait]
impl ValidatingPlugin for ResourceQuota {
    fn name(&self) -> &'static str {
        NAME
    }

    fn handles(&self, op: Operation) -> bool {
        matches!(op, Operation::Create | Operation::Update)
    }

    async fn validate(&self, req: &AdmissionRequest, ctx: &dyn AdmissionContext) -> Result<(), StatusError> {
        if req.namespace.is_empty() || !req.subresource.is_empty() {
            return Ok(());
        }
        let Some(obj) = req.object.as_ref() else { return Ok(()) };
        // Most namespaces have no quota: answer those without serializing on the lock.
        if ctx.list("", "resourcequotas", &req.namespace).await?.is_empty() {
            return Ok(());
        }
        let _guard = self.lock.lock().await;
        for _ in 0..MAX_RETRIES {
            if self.check_once(req, ctx, obj).await? {
                return Ok(());
            }
        }
        Err(req.forbidden("unable to update resource quota status: too many conflicts"))
    }
}

#[cfg(test)]
#[path = "resource_quota_tests.rs"]
mod tests;
