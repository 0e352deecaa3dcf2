//! Leader election over a coordination.k8s.io/v1 Lease, as client-go's `leaderelection`
//! does it for kube-controller-manager: so that the servers sharing a store run each group
//! of controllers once, and another server takes over when the holder dies.
//!
//! - A candidate reads the Lease every retry period (with 20% jitter); it takes a Lease that
//!   is absent, released (no holder), its own, or not renewed for `leaseDurationSeconds` as
//!   this server measured it (the time the record was last seen to change, on the local
//!   clock: clocks of different servers are never compared).
//! - A holder renews every retry period; one that has not renewed within the renew deadline
//!   stops its controllers and becomes a candidate again.
//! - Every write carries the revision it read, so two candidates never both win.
//!
//! The controllers of a group are started inside [`scope`]: every task
//! [`super::run`] spawns there is recorded and aborted when leadership is lost.

use crate::objects::Objects;
use registry::{strategy, ResourceType};
use serde_json::{json, Value};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::AbortHandle;

/// The Lease of kube-controller-manager's controllers.
pub const CONTROLLER_MANAGER: &str = "kube-controller-manager";

/// kube-controller-manager's `--leader-elect*` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderElectionConfig {
    /// Off: every server runs every controller (a store no other server shares).
    pub enabled: bool,
    pub lease_duration: Duration,
    pub renew_deadline: Duration,
    pub retry_period: Duration,
    /// Where the Leases live (`kube-system`).
    pub namespace: String,
    /// This server's identity in `holderIdentity`.
    pub identity: String,
}

impl Default for LeaderElectionConfig {
    fn default() -> Self {
        LeaderElectionConfig {
            enabled: true,
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
            namespace: "kube-system".into(),
            identity: format!("kubeward_{}", uuid::Uuid::new_v4()),
        }
    }
}

impl LeaderElectionConfig {
    /// client-go's checks: leaseDuration > renewDeadline > retryPeriod * 1.2.
    pub fn validate(&self) -> Result<(), String> {
        if self.lease_duration <= self.renew_deadline {
            return Err("leaseDuration must be greater than renewDeadline".into());
        }
        if self.renew_deadline.as_secs_f64() <= 1.2 * self.retry_period.as_secs_f64() {
            return Err("renewDeadline must be greater than retryPeriod*JitterFactor".into());
        }
        if self.retry_period.is_zero() {
            return Err("retryPeriod must be greater than zero".into());
        }
        if self.identity.is_empty() {
            return Err("leader election requires an identity".into());
        }
        Ok(())
    }
}

tokio::task_local! {
    static GROUP: Arc<Mutex<Vec<AbortHandle>>>;
}

/// Records a task of the group being started (a no-op outside [`scope`]).
pub(crate) fn record(handle: AbortHandle) {
    let _ = GROUP.try_with(|group| {
        // A poisoned lock only means another recorder panicked; the list is still usable.
        group.lock().unwrap_or_else(|p| p.into_inner()).push(handle);
    });
}

/// Runs `start` and answers the tasks it spawned through [`record`].
async fn scope(start: impl Future<Output = ()>) -> Vec<AbortHandle> {
    let group = Arc::new(Mutex::new(Vec::new()));
    GROUP.scope(group.clone(), start).await;
    let handles = std::mem::take(&mut *group.lock().unwrap_or_else(|p| p.into_inner()));
    handles
}

/// Starts a group's controllers (again, after each election won).
pub type StartGroup = Box<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// The MicroTime format of a Lease's times.
fn micro_time() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// One Lease's election.
struct Elector {
    objects: Objects,
    leases: &'static ResourceType,
    name: String,
    config: LeaderElectionConfig,
    /// The spec last read and when it was first seen (client-go's observedRecord/Time).
    observed: Option<(Value, Instant)>,
}

impl Elector {
    /// One try to take or keep the Lease; answers whether this server holds it.
    async fn try_acquire_or_renew(&mut self) -> bool {
        let now = micro_time();
        let id = self.config.identity.clone();
        let id = id.as_str();
        let duration = self.config.lease_duration.as_secs().max(1);
        let current = match self.objects.find(self.leases, &self.config.namespace, &self.name).await {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(lease = %self.name, error = %e.message, "reading the leader lease failed");
                return false;
            }
        };
        let Some(mut lease) = current else {
            let mut lease = json!({
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.config.namespace},
                "spec": {"holderIdentity": id, "leaseDurationSeconds": duration,
                         "acquireTime": now, "renewTime": now, "leaseTransitions": 0},
            });
            strategy::prepare_for_create(self.leases, &mut lease, &crate::objects::now_rfc3339());
            return match self.objects.create(self.leases, &self.config.namespace, &self.name, &lease).await {
                Ok(created) => {
                    self.observe(&created);
                    true
                }
                Err(_) => false,
            };
        };
        let spec = lease.get("spec").cloned().unwrap_or_else(|| json!({}));
        self.observe(&lease);
        let holder = spec.get("holderIdentity").and_then(Value::as_str).unwrap_or_default();
        let held_by_us = holder == id;
        if !holder.is_empty() && !held_by_us {
            let seconds = spec.get("leaseDurationSeconds").and_then(Value::as_u64).unwrap_or(duration);
            let seen = self.observed.as_ref().map(|(_, at)| *at).unwrap_or_else(Instant::now);
            if seen.elapsed() < Duration::from_secs(seconds) {
                return false;
            }
        }
        let transitions = spec.get("leaseTransitions").and_then(Value::as_u64).unwrap_or(0);
        let (acquire_time, transitions) = if held_by_us {
            (spec.get("acquireTime").cloned().unwrap_or_else(|| json!(now)), transitions)
        } else {
            (json!(now), transitions + 1)
        };
        lease["spec"] = json!({
            "holderIdentity": id, "leaseDurationSeconds": duration,
            "acquireTime": acquire_time, "renewTime": now, "leaseTransitions": transitions,
        });
        let expected =
            lease.pointer("/metadata/resourceVersion").and_then(Value::as_str).and_then(|r| r.parse().ok());
        match self.objects.update(self.leases, &self.config.namespace, &self.name, &lease, expected).await {
            Ok(updated) => {
                self.observe(&updated);
                true
            }
            Err(e) => {
                tracing::debug!(lease = %self.name, error = %e.message, "writing the leader lease failed");
                false
            }
        }
    }

    fn observe(&mut self, lease: &Value) {
        let spec = lease.get("spec").cloned().unwrap_or_else(|| json!({}));
        if self.observed.as_ref().is_none_or(|(seen, _)| *seen != spec) {
            self.observed = Some((spec, Instant::now()));
        }
    }

    /// Gives the Lease up (client-go's release: no holder, a one-second duration).
    async fn release(&mut self) {
        let Ok(Some(mut lease)) = self.objects.find(self.leases, &self.config.namespace, &self.name).await
        else {
            return;
        };
        if lease.pointer("/spec/holderIdentity").and_then(Value::as_str)
            != Some(self.config.identity.as_str())
        {
            return;
        }
        let now = micro_time();
        let transitions = lease.pointer("/spec/leaseTransitions").cloned().unwrap_or(json!(0));
        lease["spec"] = json!({"leaseDurationSeconds": 1, "acquireTime": now, "renewTime": now, "leaseTransitions": transitions});
        let expected =
            lease.pointer("/metadata/resourceVersion").and_then(Value::as_str).and_then(|r| r.parse().ok());
        let _ = self.objects.update(self.leases, &self.config.namespace, &self.name, &lease, expected).await;
    }

    fn jittered_retry(&self) -> Duration {
        let jitter = rand::random::<f64>() * 0.2;
        self.config.retry_period.mul_f64(1.0 + jitter)
    }
}

/// A running election; [`Election::release`] gives the Lease up at shutdown.
#[derive(Clone)]
pub struct Election {
    inner: Arc<tokio::sync::Mutex<Elector>>,
    task: Arc<Mutex<Option<AbortHandle>>>,
}

impl Election {
    /// Stops electing without a word, as a server that dies (its controllers' tasks are
    /// left to the process's end).
    pub fn abandon(&self) {
        if let Some(task) = self.task.lock().unwrap_or_else(|p| p.into_inner()).take() {
            task.abort();
        }
    }

    /// Stops electing and, when this server holds the Lease, releases it so another server
    /// takes over at once.
    pub async fn release(&self) {
        if let Some(task) = self.task.lock().unwrap_or_else(|p| p.into_inner()).take() {
            task.abort();
        }
        self.inner.lock().await.release().await;
    }
}

/// Elects a leader for the controllers `start` starts, on the Lease `name`. One try is made
/// before this returns: when it wins, the group starts here (its first lists handled before
/// the server serves, as without election); otherwise the group starts when this server
/// wins later. Disabled, the group just starts.
pub async fn run(
    objects: Objects,
    leases: &'static ResourceType,
    name: &str,
    config: LeaderElectionConfig,
    start: StartGroup,
) -> Election {
    let enabled = config.enabled;
    let elector = Elector { objects, leases, name: name.to_string(), config, observed: None };
    let election = Election { inner: Arc::new(tokio::sync::Mutex::new(elector)), task: Default::default() };
    if !enabled {
        start().await;
        return election;
    }
    let won = election.inner.lock().await.try_acquire_or_renew().await;
    let running = if won {
        tracing::info!(lease = %name, "became leader; starting its controllers");
        Some(scope(start()).await)
    } else {
        tracing::info!(lease = %name, "another server leads; waiting to take over");
        None
    };
    let inner = election.inner.clone();
    let name = name.to_string();
    let task = tokio::spawn(async move { lead_or_wait(inner, name, start, running).await });
    *election.task.lock().unwrap_or_else(|p| p.into_inner()) = Some(task.abort_handle());
    election
}

async fn lead_or_wait(
    elector: Arc<tokio::sync::Mutex<Elector>>,
    name: String,
    start: StartGroup,
    mut running: Option<Vec<AbortHandle>>,
) {
    let mut last_renew = Instant::now();
    loop {
        let wait = elector.lock().await.jittered_retry();
        let deadline = elector.lock().await.config.renew_deadline;
        tokio::time::sleep(if running.is_some() { elector.lock().await.config.retry_period } else { wait })
            .await;
        let held = {
            let mut e = elector.lock().await;
            // A renewal may not take longer than what is left of the renew deadline.
            let left = deadline.saturating_sub(last_renew.elapsed()).max(Duration::from_millis(100));
            tokio::time::timeout(left, e.try_acquire_or_renew()).await.unwrap_or(false)
        };
        match (&running, held) {
            (Some(_), true) | (None, false) => {
                if held {
                    last_renew = Instant::now();
                }
            }
            (None, true) => {
                tracing::info!(lease = %name, "became leader; starting its controllers");
                last_renew = Instant::now();
                running = Some(scope(start()).await);
            }
            (Some(_), false) => {
                if last_renew.elapsed() >= deadline {
                    tracing::warn!(lease = %name, "leader lease not renewed within the renew deadline; stopping its controllers");
                    if let Some(tasks) = running.take() {
                        for t in tasks {
                            t.abort();
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn config(identity: &str) -> LeaderElectionConfig {
        LeaderElectionConfig {
            enabled: true,
            lease_duration: Duration::from_secs(2),
            renew_deadline: Duration::from_millis(1000),
            retry_period: Duration::from_millis(200),
            namespace: "kube-system".into(),
            identity: identity.into(),
        }
    }

    /// A group that counts its starts and runs one task ticking a counter.
    fn group(starts: Arc<AtomicUsize>, ticks: Arc<AtomicUsize>) -> StartGroup {
        Box::new(move || {
            let (starts, ticks) = (starts.clone(), ticks.clone());
            Box::pin(async move {
                starts.fetch_add(1, Ordering::SeqCst);
                let task = tokio::spawn(async move {
                    loop {
                        ticks.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                });
                record(task.abort_handle());
            })
        })
    }

    async fn holder(objects: &Objects, leases: &'static ResourceType) -> String {
        let lease = objects.get(leases, "kube-system", "test").await.unwrap();
        lease.pointer("/spec/holderIdentity").and_then(Value::as_str).unwrap_or_default().to_string()
    }

    async fn eventually(what: &str, within: Duration, mut f: impl AsyncFnMut() -> bool) {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if f().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("not within {within:?}: {what}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_leader_runs_the_group_and_another_takes_over_when_it_dies() {
        let dir = tempfile::tempdir().unwrap();
        let objects = Objects::new(Arc::new(storage::EmbeddedStore::open(dir.path()).unwrap()));
        let leases = registry::Catalog::global().lookup("coordination.k8s.io", "v1", "leases").unwrap();
        let counters = || (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let ((a_starts, a_ticks), (b_starts, b_ticks), (c_starts, c_ticks)) =
            (counters(), counters(), counters());

        let a =
            run(objects.clone(), leases, "test", config("a"), group(a_starts.clone(), a_ticks.clone())).await;
        let b = run(objects.clone(), leases, "test", config("b"), group(b_starts.clone(), b_ticks)).await;
        assert_eq!((a_starts.load(Ordering::SeqCst), b_starts.load(Ordering::SeqCst)), (1, 0), "one leader");
        assert_eq!(holder(&objects, leases).await, "a");
        // Renewed while alive: b never takes over.
        tokio::time::sleep(Duration::from_millis(3000)).await;
        assert_eq!(b_starts.load(Ordering::SeqCst), 0, "b took a lease that was being renewed");

        // a dies without a word: b takes over once the lease expires as b saw it.
        let died = Instant::now();
        a.abandon();
        eventually("b leads", Duration::from_secs(5), async || b_starts.load(Ordering::SeqCst) == 1).await;
        // The last renewal was at most a retry period (with jitter) before the death.
        assert!(died.elapsed() >= Duration::from_millis(1500), "taken over before the lease expired");
        assert_eq!(holder(&objects, leases).await, "b");
        let lease = objects.get(leases, "kube-system", "test").await.unwrap();
        assert_eq!(lease.pointer("/spec/leaseTransitions"), Some(&json!(1)), "{lease}");

        // b releases at shutdown: c takes over at once, without waiting for expiry.
        b.release().await;
        let c =
            run(objects.clone(), leases, "test", config("c"), group(c_starts.clone(), c_ticks.clone())).await;
        assert_eq!(c_starts.load(Ordering::SeqCst), 1, "a released lease is taken at once");

        // c's lease is taken from it (another writer): c stops its group after the renew deadline.
        let mut lease = objects.get(leases, "kube-system", "test").await.unwrap();
        lease["spec"]["holderIdentity"] = json!("intruder");
        lease["spec"]["leaseDurationSeconds"] = json!(60);
        lease["spec"]["renewTime"] = json!(micro_time());
        objects.update(leases, "kube-system", "test", &lease, None).await.unwrap();
        let frozen = async || {
            let before = c_ticks.load(Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(200)).await;
            c_ticks.load(Ordering::SeqCst) == before
        };
        eventually("c's group stops", Duration::from_secs(5), frozen).await;
        c.abandon();
    }
}
