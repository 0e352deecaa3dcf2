//! kube-apiserver's post-start hooks that kubeward has a real equivalent for, so that
//! `/healthz`, `/livez` and `/readyz` list them under kube's names
//! (`poststarthook/<name>`). Each hook is marked done by the start-up step that does its
//! job, when that step has finished; until then its check fails, as kube's check of a hook
//! that has not returned. `autoregister-completion` (a check of kube's aggregator, not a
//! hook) passes once every built-in APIService exists and is available. A hook kubeward does
//! not run is never listed: kube-aggregator's registration of proxies, remote availability,
//! discovery and OpenAPI aggregation (kubeward does not proxy to extension API servers),
//! the legacy service account token tracking and the API Priority and Fairness filter and
//! config producer (kubeward keeps neither the tracking ConfigMap nor kube's suggested
//! configuration). COMPATIBILITY.md names what is missing.
//!
//! A hook whose controller runs under the controllers' leader election
//! (`start-service-ip-repair-controllers`, `start-kubernetes-service-cidr-controller`) is
//! done once this server has joined the election that runs them, as kube's hooks of
//! leader-elected controllers return once the election runs: a server that is not the
//! leader is ready too.

use std::sync::atomic::{AtomicBool, Ordering};

/// One post-start hook, by kube's name.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Hook {
    /// The admission plugins' sources (admission policies, webhook configurations) listed.
    AdmissionInitializer,
    /// The server's informers started.
    StartInformers,
    /// API Priority and Fairness's configuration followed (controllers/flowcontrol.rs).
    PriorityAndFairnessConfigConsumer,
    /// The stored objects counted (`apiserver_storage_objects`).
    StorageObjectCountTracker,
    /// The CustomResourceDefinition informer started.
    ApiextensionsInformers,
    /// The CustomResourceDefinition controllers (names, establishing, cleanup) started.
    ApiextensionsControllers,
    /// The CustomResourceDefinitions stored at start are served.
    CrdInformerSynced,
    /// `kube-system`, `kube-public` and `kube-node-lease` kept (controllers/system_namespaces.rs).
    SystemNamespaces,
    /// `kube-system/extension-apiserver-authentication` written
    /// (controllers/cluster_authentication.rs).
    ClusterAuthenticationInfo,
    /// This server's identity Lease kept (controllers/kubernetes_service.rs).
    IdentityLease,
    /// Expired identity Leases collected (controllers/identity_lease_gc.rs).
    IdentityLeaseGc,
    /// Services' IPAddresses repaired (controllers/service_cidr.rs, leader-elected).
    ServiceIpRepair,
    /// kube's default roles and bindings created (bootstrap.rs).
    RbacBootstrapRoles,
    /// The system PriorityClasses created (bootstrap.rs).
    SystemPriorityClasses,
    /// The `kubernetes` Service and its endpoints kept (controllers/kubernetes_service.rs).
    BootstrapController,
    /// The default ServiceCIDR kept (controllers/service_cidr.rs, leader-elected).
    ServiceCidr,
    /// The APIService informer started (controllers/apiservices.rs).
    AggregatorInformers,
    /// Local APIServices kept Available (controllers/apiservices.rs).
    LocalAvailable,
    /// The CRDs' APIServices kept (controllers/apiservices.rs).
    Autoregistration,
    /// Every built-in APIService exists and is available (a check, not a hook).
    AutoregisterCompletion,
}

/// Every hook, in the order kube-apiserver lists them.
pub const HOOKS: &[Hook] = &[
    Hook::AdmissionInitializer,
    Hook::StartInformers,
    Hook::PriorityAndFairnessConfigConsumer,
    Hook::StorageObjectCountTracker,
    Hook::ApiextensionsInformers,
    Hook::ApiextensionsControllers,
    Hook::CrdInformerSynced,
    Hook::SystemNamespaces,
    Hook::ClusterAuthenticationInfo,
    Hook::IdentityLease,
    Hook::IdentityLeaseGc,
    Hook::ServiceIpRepair,
    Hook::RbacBootstrapRoles,
    Hook::SystemPriorityClasses,
    Hook::BootstrapController,
    Hook::ServiceCidr,
    Hook::AggregatorInformers,
    Hook::LocalAvailable,
    Hook::Autoregistration,
    Hook::AutoregisterCompletion,
];

impl Hook {
    /// The health check's name: `poststarthook/` and kube's hook name (kube's check name for
    /// `autoregister-completion`).
    pub fn check_name(self) -> &'static str {
        match self {
            Self::AdmissionInitializer => "poststarthook/start-apiserver-admission-initializer",
            Self::StartInformers => "poststarthook/generic-apiserver-start-informers",
            Self::PriorityAndFairnessConfigConsumer => "poststarthook/priority-and-fairness-config-consumer",
            Self::StorageObjectCountTracker => "poststarthook/storage-object-count-tracker-hook",
            Self::ApiextensionsInformers => "poststarthook/start-apiextensions-informers",
            Self::ApiextensionsControllers => "poststarthook/start-apiextensions-controllers",
            Self::CrdInformerSynced => "poststarthook/crd-informer-synced",
            Self::SystemNamespaces => "poststarthook/start-system-namespaces-controller",
            Self::ClusterAuthenticationInfo => "poststarthook/start-cluster-authentication-info-controller",
            Self::IdentityLease => "poststarthook/start-kube-apiserver-identity-lease-controller",
            Self::IdentityLeaseGc => "poststarthook/start-kube-apiserver-identity-lease-garbage-collector",
            Self::ServiceIpRepair => "poststarthook/start-service-ip-repair-controllers",
            Self::RbacBootstrapRoles => "poststarthook/rbac/bootstrap-roles",
            Self::SystemPriorityClasses => "poststarthook/scheduling/bootstrap-system-priority-classes",
            Self::BootstrapController => "poststarthook/bootstrap-controller",
            Self::ServiceCidr => "poststarthook/start-kubernetes-service-cidr-controller",
            Self::AggregatorInformers => "poststarthook/start-kube-aggregator-informers",
            Self::LocalAvailable => "poststarthook/apiservice-status-local-available-controller",
            Self::Autoregistration => "poststarthook/kube-apiserver-autoregistration",
            Self::AutoregisterCompletion => "autoregister-completion",
        }
    }

    fn index(self) -> usize {
        HOOKS.iter().position(|h| *h == self).unwrap_or_default()
    }
}

/// Which hooks are done.
pub struct PostStartHooks {
    done: Vec<AtomicBool>,
}

impl Default for PostStartHooks {
    fn default() -> Self {
        Self { done: HOOKS.iter().map(|_| AtomicBool::new(false)).collect() }
    }
}

impl PostStartHooks {
    /// Marks `hook` done (for good: kube's hooks do not fail again once returned).
    pub fn finish(&self, hook: Hook) {
        if let Some(d) = self.done.get(hook.index()) {
            d.store(true, Ordering::Release);
        }
    }

    pub fn is_done(&self, hook: Hook) -> bool {
        self.done.get(hook.index()).is_some_and(|d| d.load(Ordering::Acquire))
    }

    /// The hook a check name names.
    pub fn by_check_name(name: &str) -> Option<Hook> {
        HOOKS.iter().copied().find(|h| h.check_name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hooks_start_pending_and_stay_done() {
        let hooks = PostStartHooks::default();
        assert!(HOOKS.iter().all(|h| !hooks.is_done(*h)));
        hooks.finish(Hook::CrdInformerSynced);
        assert!(hooks.is_done(Hook::CrdInformerSynced));
        assert!(!hooks.is_done(Hook::ApiextensionsControllers));
        assert_eq!(
            PostStartHooks::by_check_name("poststarthook/crd-informer-synced"),
            Some(Hook::CrdInformerSynced)
        );
        assert_eq!(PostStartHooks::by_check_name("crd-informer-synced"), None);
        // Every hook has its own name.
        let mut names: Vec<&str> = HOOKS.iter().map(|h| h.check_name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), HOOKS.len());
    }
}
