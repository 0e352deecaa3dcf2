//! Loops that keep derived state current, each fed by one [`Informer`]: the RBAC
//! authorizer's policy and ClusterRole aggregation, the Node authorizer's graph, namespace
//! deletion, per-namespace defaults, the default ServiceCIDR and the Services' IPAddresses,
//! legacy token Secrets, OIDC and client-certificate revocations, CSR signing and cleaning,
//! the `kubernetes` Service and its endpoints, the admission policies (and their type
//! checking status), the webhook configurations, ResourceQuota status, API Priority and
//! Fairness's configuration, the garbage collector, the system namespaces, the
//! `extension-apiserver-authentication` ConfigMap, the CRDs' APIServices and local
//! APIServices' availability; and compaction of the store's history.

pub mod admission_policies;
pub mod apiservices;
pub mod cert_revocations;
pub mod cluster_authentication;
pub mod compaction;
pub mod crd;
pub mod csr_cleaner;
pub mod csr_signing;
pub mod disruption;
pub mod flowcontrol;
pub mod garbage_collector;
pub mod identity_lease_gc;
pub mod issued_certs;
pub mod kubernetes_service;
pub mod leader_election;
pub mod mutating_policies;
pub mod namespace;
pub mod node_graph;
pub mod rbac;
pub mod resource_quota;
pub mod revocations;
pub mod service_cidr;
pub mod serviceaccounts;
pub mod system_namespaces;
pub mod token_cleaner;
pub mod tokens;
pub mod volume_protection;
pub mod webhook_configurations;

use crate::informer::{Event, Informer};
use std::time::Duration;

/// A consumer of one informer's events.
#[async_trait::async_trait]
pub trait Controller: Send + 'static {
    /// Handles one event (see [`Event`] for the order they come in).
    async fn handle(&mut self, event: Event);

    /// How often [`Controller::resync`] runs, if at all.
    fn resync_period(&self) -> Option<Duration> {
        None
    }

    /// Periodic work beside the events.
    async fn resync(&mut self) {}
}

/// Runs `controller` on `informer`'s events: the first list is handled before this returns
/// (so the server starts with it), the rest on a task of its own.
pub async fn run<C: Controller>(mut informer: Informer, mut controller: C) {
    loop {
        let event = informer.next().await;
        let done = event == Event::InitDone;
        controller.handle(event).await;
        if done {
            break;
        }
    }
    let task = tokio::spawn(async move {
        let period = controller.resync_period();
        // Without a resync the tick branch is disabled; its interval is never awaited.
        let mut resync = tokio::time::interval(period.unwrap_or(Duration::from_secs(3600)));
        resync.tick().await;
        loop {
            tokio::select! {
                event = informer.next() => controller.handle(event).await,
                _ = resync.tick(), if period.is_some() => controller.resync().await,
            }
        }
    });
    // Under leader election, stopped when leadership is lost.
    leader_election::record(task.abort_handle());
}
