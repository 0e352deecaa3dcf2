//! The anonymous authenticator: `system:anonymous` in `system:unauthenticated` for a request
//! that carries no credential, where anonymous access applies ([`AnonymousPolicy`]).
//!
//! kubeward's default lets anonymous requests reach only the health checks (`/healthz`,
//! `/livez`, `/readyz`): `/version` and discovery need a credential, so nothing about the
//! server leaks to a stranger. `--anonymous-auth=true` is kube's anonymous access everywhere
//! (authorization then decides, as in kube: `system:public-info-viewer` lets it read
//! `/version`); kube's `anonymous` section of the AuthenticationConfiguration chooses exact
//! paths (`conditions`) and is reloaded with the file.

use crate::{AuthOutcome, AuthRequest, Authenticator};
use apimachinery::UserInfo;
use std::sync::{Arc, RwLock};

/// Paths an unauthenticated client may reach with the default settings: the health checks,
/// and kubeadm's discovery ConfigMap (`kube-public/cluster-info`: the cluster's CA and URL,
/// signed for each join token; what a joining node reads before it trusts the server; RBAC
/// still decides, and only `kubeward token create --print-join-command` grants it).
pub const DEFAULT_ANONYMOUS_PATHS: &[&str] =
    &["/healthz", "/livez", "/readyz", "/api/v1/namespaces/kube-public/configmaps/cluster-info"];

/// Where anonymous requests are accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnonymousPolicy {
    /// Nowhere (`--anonymous-auth=false`, or `anonymous.enabled: false`).
    Off,
    /// Everywhere; authorization decides (`--anonymous-auth=true`, or enabled without
    /// conditions).
    Everywhere,
    /// At these exact paths (`anonymous.conditions[*].path`, or the default health checks).
    Paths(Vec<String>),
}

impl AnonymousPolicy {
    /// kubeward's default: the health checks only.
    pub fn health_checks() -> Self {
        Self::Paths(DEFAULT_ANONYMOUS_PATHS.iter().map(|p| p.to_string()).collect())
    }

    fn applies(&self, path: &str) -> bool {
        match self {
            Self::Off => false,
            Self::Everywhere => true,
            Self::Paths(paths) => paths.iter().any(|p| p == path),
        }
    }
}

/// The anonymous authenticator; clones share one policy, so a reloaded configuration
/// changes it for the server at once.
#[derive(Clone)]
pub struct Anonymous {
    policy: Arc<RwLock<AnonymousPolicy>>,
}

impl Anonymous {
    pub fn new(policy: AnonymousPolicy) -> Self {
        Self { policy: Arc::new(RwLock::new(policy)) }
    }

    /// Anonymous for the given exact paths only (kube's AnonymousAuthConfig conditions).
    pub fn for_paths(paths: &[&str]) -> Self {
        Self::new(AnonymousPolicy::Paths(paths.iter().map(|p| p.to_string()).collect()))
    }

    pub fn applies(&self, path: &str) -> bool {
        self.read().applies(path)
    }

    /// The policy in force.
    pub fn policy(&self) -> AnonymousPolicy {
        self.read().clone()
    }

    /// Replaces the policy (a reloaded AuthenticationConfiguration).
    pub fn set_policy(&self, policy: AnonymousPolicy) {
        // A policy is replaced whole: a poisoned lock still holds a whole one.
        *self.policy.write().unwrap_or_else(|e| e.into_inner()) = policy;
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, AnonymousPolicy> {
        self.policy.read().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait::async_trait]
impl Authenticator for Anonymous {
    async fn authenticate(&self, req: &AuthRequest<'_>) -> AuthOutcome {
        if self.applies(req.path) {
            AuthOutcome::Authenticated(UserInfo::anonymous())
        } else {
            AuthOutcome::NotApplicable
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_match_exact_paths() {
        let a = Anonymous::new(AnonymousPolicy::health_checks());
        assert!(a.applies("/readyz") && a.applies("/livez") && a.applies("/healthz"));
        assert!(!a.applies("/version") && !a.applies("/readyz/etcd") && !a.applies("/api"));
        let shared = a.clone();
        shared.set_policy(AnonymousPolicy::Everywhere);
        assert!(a.applies("/version"));
        a.set_policy(AnonymousPolicy::Off);
        assert!(!shared.applies("/healthz"));
    }
}
