//! Authorization for kubeward, named as in k8s.io/apiserver and kube's RBAC plugin.
//!
//! - [`Authorizer`] and [`RuleResolver`]: the two questions an authorizer answers
//!   ("may this request proceed?" and "what may this user do here?", SelfSubjectRulesReview).
//! - [`union`]: the synchronous authorizer chain, [`AlwaysAllow`], [`AlwaysDeny`].
//! - [`chain`]: [`AuthorizerChain`], the `--authorization-mode` chain the server calls
//!   (`authorize_async`), which also holds authorizers that await ([`AsyncAuthorizer`]).
//! - [`modes`]: `--authorization-mode` validation with kube's messages, [`build_chain`].
//! - [`config`]: `--authorization-config` (AuthorizationConfiguration): ordered, named
//!   authorizers, webhooks with their own connection, caches, failure policy and CEL
//!   match conditions, reloaded when the file changes.
//! - [`node`]: the Node authorizer and its relationship graph; [`abac`]: the ABAC policy file;
//!   [`webhook`]: SubjectAccessReview webhooks with allow/deny caches.
//! - [`rbac`]: the RBAC authorizer, fed with Role/ClusterRole/RoleBinding/ClusterRoleBinding
//!   objects and indexed by subject so a decision never scans all bindings.
//! - [`policy`]: `PolicyRule` and kube's rule-matching helpers (one place for the semantics).
//! - [`bootstrap`]: kube's default roles and bindings; [`aggregation`]: ClusterRole aggregation;
//!   [`escalation`]: the "cannot grant what you do not hold" check; [`forbidden`]: the 403 text.
//! - [`self_service`]: `reachablenamespaces.kubeward.io`, readable by every authenticated user.
//! - [`tools`]: `who-can` and `explain` over a policy read through the API.
//! - [`naive`]: a plain scan over all objects, kept as the reference model for tests and benches.
//!
//! Nothing here knows about HTTP: the server turns a [`Decision`] into a response.

pub mod abac;
pub mod aggregation;
pub mod bootstrap;
pub mod chain;
pub mod config;
pub mod error;
pub mod escalation;
pub mod forbidden;
pub mod modes;
pub mod naive;
pub mod node;
pub mod policy;
/// Go's `%q` and error aggregation, shared with the other crates.
use apimachinery::quote;
pub mod rbac;
pub mod self_service;
pub mod tools;
pub mod union;
pub mod webhook;

pub use abac::AbacAuthorizer;
pub use apimachinery::{Attributes, Decision, UserInfo};
pub use chain::{AsyncAuthorizer, Authorized, AuthorizerChain, Verdict};
pub use error::AuthzError;
pub use modes::{build_chain, Authorization, ModeConfig};
pub use node::NodeAuthorizer;
pub use policy::{NonResourceRule, PolicyRule, ResourceRule};
pub use rbac::{Explanation, RbacAuthorizer};
pub use union::{AlwaysAllow, AlwaysDeny, Union};
pub use webhook::{WebhookAuthorizer, WebhookOptions};

/// Decides whether a request may proceed (kube's `authorizer.Authorizer`).
///
/// `Allow` and `Deny` end a chain; `NoOpinion` lets the next authorizer decide.
/// The reason explains the answer (audit, the 403 text, `kubeward explain`).
pub trait Authorizer: Send + Sync {
    fn authorize(&self, attrs: &Attributes) -> Decision;
}

/// A shared authorizer is one too, so the chain can hold what the server keeps feeding.
impl<A: Authorizer + ?Sized> Authorizer for std::sync::Arc<A> {
    fn authorize(&self, attrs: &Attributes) -> Decision {
        (**self).authorize(attrs)
    }
}

/// Lists what a user may do in a namespace (kube's `authorizer.RuleResolver`).
pub trait RuleResolver: Send + Sync {
    fn rules_for(&self, user: &UserInfo, namespace: &str) -> SubjectRules;
}

/// The answer of a [`RuleResolver`], shaped like `SelfSubjectRulesReview.status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubjectRules {
    pub resource_rules: Vec<ResourceRule>,
    pub non_resource_rules: Vec<NonResourceRule>,
    /// True when the list may miss rules (an authorizer that cannot enumerate them).
    pub incomplete: bool,
    /// Errors met while resolving rules (e.g. a binding whose role does not exist);
    /// kube reports them as `status.evaluationError`.
    pub evaluation_errors: Vec<String>,
}

impl SubjectRules {
    /// `status.evaluationError` text: the errors aggregated the way kube prints them.
    pub fn evaluation_error(&self) -> String {
        quote::aggregate(&self.evaluation_errors)
    }
}
