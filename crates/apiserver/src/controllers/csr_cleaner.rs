//! kube-controller-manager's CSR cleaner (`csrcleaner`, `pkg/controller/certificates/
//! cleaner`): CertificateSigningRequests do not pile up. A request is deleted when
//! - it was approved and issued, and its `Approved` condition's `lastUpdateTime` is more
//!   than an hour old;
//! - its `Denied` or `Failed` condition's `lastUpdateTime` is more than an hour old;
//! - it is pending (no condition at all) and was created more than 24 hours ago;
//! - it was approved and issued, and the certificate (the first PEM block of
//!   `status.certificate`) has expired.
//!
//! These are kube 1.34's rules; an approved request its signer never issued stays, as there.
//! kube lists every request once an hour; here each request's deadline is worked out when
//! it changes and kept, and the deadlines are looked at every [`POLL`] (a request already
//! past one is deleted at once), so a request goes within a minute of its deadline rather
//! than within the hour. A deletion is made at the revision the cleaner saw: a request
//! changed meanwhile is judged again by its new version.
//!
//! It runs once per cluster, under the controllers' Lease. The time comes from a [`Clock`]
//! so that tests can move it.

use super::Controller;
use crate::informer::{name_of, Event, Informer};
use crate::objects::Objects;
use crate::state::State;
use base64::Engine as _;
use chrono::{DateTime, Duration as TimeDelta, Utc};
use registry::ResourceType;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// How often the kept deadlines are looked at.
pub const POLL: Duration = Duration::from_secs(60);
/// kube's `approvedExpiration`.
const APPROVED_EXPIRATION: TimeDelta = TimeDelta::hours(1);
/// kube's `deniedExpiration`, for denied and failed requests.
const DENIED_EXPIRATION: TimeDelta = TimeDelta::hours(1);
/// kube's `pendingExpiration`.
const PENDING_EXPIRATION: TimeDelta = TimeDelta::hours(24);

/// Where the cleaner reads the time.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Why a request goes, with the time after which it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Approved and issued, an hour after the approval.
    Issued,
    Denied,
    Failed,
    /// No condition, a day after its creation.
    Pending,
    /// Approved and issued, once the certificate has expired.
    CertificateExpired,
}

impl Reason {
    fn text(self) -> &'static str {
        match self {
            Reason::Issued => "approved and issued more than an hour ago",
            Reason::Denied => "denied more than an hour ago",
            Reason::Failed => "failed more than an hour ago",
            Reason::Pending => "pending and more than 24 hours old",
            Reason::CertificateExpired => "its certificate has expired",
        }
    }
}

fn time_at(v: &Value, key: &str) -> Option<DateTime<Utc>> {
    let text = v.get(key).and_then(Value::as_str)?;
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

/// The first certificate's `notAfter` in a CSR's `status.certificate` (base64 of PEM).
fn certificate_not_after(csr: &Value) -> Option<DateTime<Utc>> {
    let encoded = csr.pointer("/status/certificate").and_then(Value::as_str)?;
    let pem = base64::engine::general_purpose::STANDARD.decode(encoded).ok()?;
    let (_, not_after) = pki::certificate_expiries(std::str::from_utf8(&pem).ok()?).into_iter().next()?;
    DateTime::from_timestamp(not_after.unix_timestamp(), not_after.nanosecond())
}

/// The earliest moment after which kube's cleaner deletes `csr`, and why; `None` when it
/// never does (approved but not issued, or conditions without times).
pub fn deadline(csr: &Value) -> Option<(DateTime<Utc>, Reason)> {
    let conditions: &[Value] =
        csr.pointer("/status/conditions").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let issued = csr.pointer("/status/certificate").and_then(Value::as_str).is_some_and(|c| !c.is_empty());
    let mut due: Vec<(DateTime<Utc>, Reason)> = Vec::new();
    for c in conditions {
        let updated = time_at(c, "lastUpdateTime");
        match c.get("type").and_then(Value::as_str) {
            Some("Approved") if issued => {
                due.extend(updated.map(|t| (t + APPROVED_EXPIRATION, Reason::Issued)));
                due.extend(certificate_not_after(csr).map(|t| (t, Reason::CertificateExpired)));
            }
            Some("Denied") => due.extend(updated.map(|t| (t + DENIED_EXPIRATION, Reason::Denied))),
            Some("Failed") => due.extend(updated.map(|t| (t + DENIED_EXPIRATION, Reason::Failed))),
            _ => {}
        }
    }
    if conditions.is_empty() {
        let created = csr.get("metadata").and_then(|m| time_at(m, "creationTimestamp"));
        due.extend(created.map(|t| (t + PENDING_EXPIRATION, Reason::Pending)));
    }
    due.into_iter().min_by_key(|(t, _)| *t)
}

/// A request the cleaner will delete: when, why, and the revision it was judged at.
struct Due {
    at: DateTime<Utc>,
    reason: Reason,
    revision: Option<u64>,
}

struct CsrCleaner {
    objects: Objects,
    csrs: &'static ResourceType,
    clock: Clock,
    /// Request name -> its deadline.
    due: BTreeMap<String, Due>,
}

impl CsrCleaner {
    fn note(&mut self, csr: &Value) {
        let name = name_of(csr).1.to_string();
        match deadline(csr) {
            Some((at, reason)) => {
                let revision = csr.pointer("/metadata/resourceVersion").and_then(Value::as_str);
                let revision = revision.and_then(|r| r.parse().ok());
                self.due.insert(name, Due { at, reason, revision });
            }
            None => {
                self.due.remove(&name);
            }
        }
    }

    /// Deletes every request past its deadline (kube's `isOlderThan`: strictly after).
    async fn clean(&mut self) {
        let now = (self.clock)();
        let past: Vec<String> = self.due.iter().filter(|(_, d)| now > d.at).map(|(n, _)| n.clone()).collect();
        for name in past {
            let Some(due) = self.due.get(&name) else { continue };
            let (reason, revision) = (due.reason, due.revision);
            match self.objects.delete(self.csrs, "", &name, revision).await {
                Ok(_) => {
                    tracing::info!(csr = %name, reason = reason.text(), "cleaned a CertificateSigningRequest")
                }
                // Gone already, or changed since: its next event judges it again.
                Err(e) if e.code == 404 || e.code == 409 => {}
                Err(e) => {
                    tracing::warn!(csr = %name, error = %e.message, "a CertificateSigningRequest was not cleaned; will retry");
                    continue;
                }
            }
            self.due.remove(&name);
        }
    }
}

#[async_trait::async_trait]
impl Controller for CsrCleaner {
    async fn handle(&mut self, event: Event) {
        match event {
            Event::Init => self.due.clear(),
            Event::InitApply(csr) => self.note(&csr),
            Event::Apply(csr) => {
                self.note(&csr);
                // A request already past its deadline (its times lie in the past) goes now.
                let now = (self.clock)();
                if self.due.get(name_of(&csr).1).is_some_and(|d| now > d.at) {
                    self.clean().await;
                }
            }
            Event::Delete(csr) => {
                self.due.remove(name_of(&csr).1);
            }
            Event::InitDone => self.clean().await,
        }
    }

    fn resync_period(&self) -> Option<Duration> {
        Some(POLL)
    }

    async fn resync(&mut self) {
        self.clean().await;
    }
}

/// Starts the cleaner on `state`'s store with `clock` (the system clock in the server).
pub async fn start(state: &State, clock: Clock) -> Result<(), String> {
    let csrs = state
        .catalog
        .lookup("certificates.k8s.io", "v1", "certificatesigningrequests")
        .ok_or("the catalog serves no CertificateSigningRequests")?;
    run(state.objects.clone(), csrs, clock).await;
    Ok(())
}

async fn run(objects: Objects, csrs: &'static ResourceType, clock: Clock) {
    let informer = Informer::new(objects.clone(), "csr-cleaner", vec![csrs]);
    let cleaner = CsrCleaner { objects, csrs, clock, due: BTreeMap::new() };
    super::run(informer, cleaner).await;
}

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

#[cfg(test)]
#[path = "csr_cleaner_tests.rs"]
mod tests;
