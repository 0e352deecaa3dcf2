//! kube's apiserver lease garbage collector (`pkg/controlplane/controller/apiserverleasegc`):
//! every server, once per check period (kube: one hour), deletes the identity Leases in
//! `kube-system` labelled `apiserver.kubernetes.io/identity=kube-apiserver` whose
//! `renewTime + leaseDurationSeconds` is past (or that lack either field), so a dead or
//! removed server's Lease does not stay forever. As kube, a Lease found expired in the
//! cached list is read again from the store and deleted only if still expired; the delete
//! is conditional on the revision read, so a Lease renewed in between is kept. Every server
//! runs it (no leader election, as kube): a Lease another server deleted first is skipped.
//!
//! The timings are kube's package variables `IdentityLeaseDurationSeconds` (3600 s) and
//! `IdentityLeaseGCPeriod` (3600 s), which kube has no flag for; [`IdentityLeaseConfig`]
//! carries them so tests can shorten them.

use super::kubernetes_service::{IDENTITY_LABEL, LEASE_NAMESPACE};
use crate::objects::Objects;
use crate::state::State;
use registry::ResourceType;
use serde_json::Value;
use std::time::Duration;

/// kube's `IdentityLeaseDurationSeconds`.
pub const IDENTITY_LEASE_SECONDS: u64 = 3600;
/// kube's `IdentityLeaseGCPeriod`.
pub const GC_PERIOD: Duration = Duration::from_secs(3600);

/// The identity Leases' duration and how often expired ones are collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdentityLeaseConfig {
    /// Written as each identity Lease's `leaseDurationSeconds`.
    pub duration_seconds: u64,
    /// How often the collector looks for expired Leases.
    pub gc_period: Duration,
}

impl Default for IdentityLeaseConfig {
    fn default() -> Self {
        IdentityLeaseConfig { duration_seconds: IDENTITY_LEASE_SECONDS, gc_period: GC_PERIOD }
    }
}

/// kube's `isLeaseExpired`: no renew time, no duration, or renewed longer than its duration
/// ago.
pub fn is_expired(lease: &Value, now: chrono::DateTime<chrono::Utc>) -> bool {
    let renewed = lease
        .pointer("/spec/renewTime")
        .and_then(Value::as_str)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    let duration = lease.pointer("/spec/leaseDurationSeconds").and_then(Value::as_i64);
    match (renewed, duration) {
        (Some(renewed), Some(seconds)) => {
            renewed.with_timezone(&chrono::Utc) + chrono::Duration::seconds(seconds) < now
        }
        _ => true,
    }
}

fn is_identity_lease(lease: &Value) -> bool {
    lease.pointer(&format!("/metadata/labels/{}", IDENTITY_LABEL.replace('/', "~1"))).and_then(Value::as_str)
        == Some("kube-apiserver")
}

/// One pass: deletes the expired identity Leases; returns the names deleted.
pub async fn collect(objects: &Objects, leases: &ResourceType) -> Vec<String> {
    let listed = match objects.list_all_cached(leases, LEASE_NAMESPACE).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e.message, "apiserver lease garbage collector: listing leases failed");
            return Vec::new();
        }
    };
    let mut deleted = Vec::new();
    for lease in listed {
        if !is_identity_lease(&lease) || !is_expired(&lease, chrono::Utc::now()) {
            continue;
        }
        let Some(name) = lease.pointer("/metadata/name").and_then(Value::as_str) else { continue };
        // Read again from the store before deleting, as kube does.
        let fresh = match objects.find(leases, LEASE_NAMESPACE, name).await {
            Ok(Some(f)) => f,
            // Another server's collector deleted it first.
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(lease = name, error = %e.message, "apiserver lease garbage collector: reading a lease failed");
                continue;
            }
        };
        if !is_identity_lease(&fresh) || !is_expired(&fresh, chrono::Utc::now()) {
            continue;
        }
        let revision =
            fresh.pointer("/metadata/resourceVersion").and_then(Value::as_str).and_then(|r| r.parse().ok());
        match objects.delete(leases, LEASE_NAMESPACE, name, revision).await {
            Ok(_) => {
                tracing::info!(lease = name, "deleted an expired apiserver identity lease");
                deleted.push(name.to_string());
            }
            // Gone (another server's collector) or renewed meanwhile: kept as it is.
            Err(e) if e.code == 404 || e.code == 409 => {}
            Err(e) => {
                tracing::warn!(lease = name, error = %e.message, "apiserver lease garbage collector: deleting a lease failed")
            }
        }
    }
    deleted
}

/// Starts the collector on its own task: the first pass after one period, as kube's
/// `wait.Until` after the informer synced (a server just started does not judge the others
/// before they had a period to renew).
pub fn start(state: &State, config: IdentityLeaseConfig) {
    let Some(leases) = state.catalog.lookup("coordination.k8s.io", "v1", "leases") else { return };
    let objects = state.objects.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(config.gc_period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            collect(&objects, leases).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn expiry_follows_kube() {
        let now =
            chrono::DateTime::parse_from_rfc3339("2026-01-01T12:00:00Z").unwrap().with_timezone(&chrono::Utc);
        let lease = |renew: Option<&str>, seconds: Option<i64>| {
            let mut spec = json!({});
            if let Some(r) = renew {
                spec["renewTime"] = json!(r);
            }
            if let Some(s) = seconds {
                spec["leaseDurationSeconds"] = json!(s);
            }
            json!({"spec": spec})
        };
        assert!(!is_expired(&lease(Some("2026-01-01T11:30:00.000000Z"), Some(3600)), now));
        assert!(is_expired(&lease(Some("2026-01-01T10:59:59.000000Z"), Some(3600)), now));
        // Exactly at the end is not yet past it (Go's Before).
        assert!(!is_expired(&lease(Some("2026-01-01T11:00:00.000000Z"), Some(3600)), now));
        assert!(is_expired(&lease(None, Some(3600)), now));
        assert!(is_expired(&lease(Some("2026-01-01T11:30:00Z"), None), now));
        assert!(is_expired(&lease(Some("not a time"), Some(3600)), now));
    }

    #[test]
    fn only_identity_leases_are_collected() {
        assert!(is_identity_lease(&json!({"metadata": {"labels": {IDENTITY_LABEL: "kube-apiserver"}}})));
        assert!(!is_identity_lease(&json!({"metadata": {"labels": {IDENTITY_LABEL: "other"}}})));
        assert!(!is_identity_lease(&json!({"metadata": {}})));
    }
}
