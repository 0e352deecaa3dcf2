//! The authorizer chain of `--authorization-mode`, with room for authorizers that wait on
//! the network (the webhook).
//!
//! [`AuthorizerChain::authorize_async`] is what the server calls per request: it asks each
//! link in order, the first `Allow` or `Deny` wins; when none decides, kubeward's
//! self-service read is allowed ([`crate::self_service`]), and otherwise the answer is
//! `NoOpinion` with the non-empty reasons joined by `"\n"` and the links' errors collected in
//! [`Verdict::errors`]. kube answers such a request with 500 (an internal error naming the
//! errors) instead of 403, and so should the server. Synchronous authorizers (RBAC, Node,
//! ABAC, AlwaysAllow, AlwaysDeny) are called inline; only webhook links await.
//!
//! Every caller awaits the chain (requests, impersonation checks, escalation checks, the
//! review APIs): there is no blocking path. [`AuthorizerChain::authorize_request`] turns an
//! allowed answer for an authenticated user into an [`Authorized`] proof that only this
//! crate builds, so a REST handler cannot run before both authentication and authorization.

use std::sync::Arc;

use apimachinery::{Attributes, Decision, UserInfo};
use async_trait::async_trait;

use crate::{quote, Authorizer, RuleResolver, SubjectRules};

/// A decision and the errors met while reaching it (kube's `(decision, reason, err)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub decision: Decision,
    pub errors: Vec<String>,
}

impl Verdict {
    pub fn new(decision: Decision) -> Self {
        Self { decision, errors: Vec::new() }
    }

    /// The errors aggregated as kube prints them (`[a, b]` for several).
    pub fn error(&self) -> Option<String> {
        (!self.errors.is_empty()).then(|| quote::aggregate(&self.errors))
    }
}

/// An authorizer that may wait (kube's `Authorizer` with a context): the webhook.
#[async_trait]
pub trait AsyncAuthorizer: Send + Sync {
    async fn authorize_async(&self, attrs: &Attributes) -> Verdict;
}

/// Proof that the chain allowed a request of an authenticated user; see the module docs.
#[derive(Debug, Clone)]
pub struct Authorized {
    attrs: Attributes,
    reason: String,
}

impl Authorized {
    /// What was allowed, the user included.
    pub fn attributes(&self) -> &Attributes {
        &self.attrs
    }

    /// The identity the request acts as.
    pub fn user(&self) -> &UserInfo {
        &self.attrs.user
    }

    /// The allowing authorizer's reason (the RBAC binding, for the audit log).
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// One link of the chain.
#[derive(Clone)]
pub enum Link {
    Sync(Arc<dyn Authorizer>),
    Async(Arc<dyn AsyncAuthorizer>),
}

/// The `--authorization-mode` chain; see the module docs.
#[derive(Clone, Default)]
pub struct AuthorizerChain {
    links: Vec<Link>,
    resolvers: Vec<Arc<dyn RuleResolver>>,
}

impl AuthorizerChain {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a synchronous authorizer.
    pub fn push(&mut self, authorizer: Arc<dyn Authorizer>) {
        self.links.push(Link::Sync(authorizer));
    }

    /// Appends an authorizer that awaits.
    pub fn push_async(&mut self, authorizer: Arc<dyn AsyncAuthorizer>) {
        self.links.push(Link::Async(authorizer));
    }

    /// Appends a rule resolver (SelfSubjectRulesReview), in mode order.
    pub fn push_resolver(&mut self, resolver: Arc<dyn RuleResolver>) {
        self.resolvers.push(resolver);
    }

    /// Number of links.
    pub fn len(&self) -> usize {
        self.links.len()
    }

    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }

    /// Whether any link may wait on the network.
    pub fn has_async(&self) -> bool {
        self.links.iter().any(|l| matches!(l, Link::Async(_)))
    }

    /// The decision for `attrs`: what the server calls for every request.
    pub async fn authorize_async(&self, attrs: &Attributes) -> Verdict {
        let mut acc = Accumulator::default();
        for link in &self.links {
            let verdict = match link {
                Link::Sync(a) => Verdict::new(a.authorize(attrs)),
                Link::Async(a) => a.authorize_async(attrs).await,
            };
            if let Some(done) = acc.add(verdict) {
                return done;
            }
        }
        // kubeward's self-service read, when no authorizer decided (see `self_service`).
        if crate::self_service::allows(attrs) {
            return Verdict {
                decision: Decision::Allow(crate::self_service::REASON.to_string()),
                errors: acc.errors,
            };
        }
        acc.finish()
    }

    /// The decision for the request `info` of `who`: an [`Authorized`] proof when allowed,
    /// else the verdict (a denial, or no opinion with the errors met).
    pub async fn authorize_request(
        &self,
        who: &authn::Authenticated,
        info: &apimachinery::RequestInfo,
    ) -> Result<Authorized, Verdict> {
        let attrs = Attributes::from_request(who.user().clone(), info);
        let verdict = self.authorize_async(&attrs).await;
        match verdict.decision {
            Decision::Allow(reason) => Ok(Authorized { attrs, reason }),
            _ => Err(verdict),
        }
    }
}

#[derive(Default)]
struct Accumulator {
    reasons: Vec<String>,
    errors: Vec<String>,
}

impl Accumulator {
    /// Returns the final verdict when `v` decides.
    fn add(&mut self, v: Verdict) -> Option<Verdict> {
        self.errors.extend(v.errors);
        match v.decision {
            Decision::NoOpinion(reason) => {
                if !reason.is_empty() {
                    self.reasons.push(reason);
                }
                None
            }
            decided => Some(Verdict { decision: decided, errors: std::mem::take(&mut self.errors) }),
        }
    }

    fn finish(self) -> Verdict {
        Verdict { decision: Decision::NoOpinion(self.reasons.join("\n")), errors: self.errors }
    }
}

impl RuleResolver for AuthorizerChain {
    fn rules_for(&self, user: &UserInfo, namespace: &str) -> SubjectRules {
        let mut out = SubjectRules::default();
        for r in &self.resolvers {
            let rules = r.rules_for(user, namespace);
            out.resource_rules.extend(rules.resource_rules);
            out.non_resource_rules.extend(rules.non_resource_rules);
            out.incomplete |= rules.incomplete;
            out.evaluation_errors.extend(rules.evaluation_errors);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AlwaysAllow, AlwaysDeny};

    struct Fixed(Verdict);

    #[async_trait]
    impl AsyncAuthorizer for Fixed {
        async fn authorize_async(&self, _: &Attributes) -> Verdict {
            self.0.clone()
        }
    }

    fn failing() -> Arc<dyn AsyncAuthorizer> {
        Arc::new(Fixed(Verdict { decision: Decision::NoOpinion(String::new()), errors: vec!["boom".into()] }))
    }

    #[tokio::test]
    async fn first_decision_wins_and_errors_are_kept() {
        let a = Attributes::default();
        let mut chain = AuthorizerChain::new();
        chain.push(Arc::new(AlwaysDeny));
        chain.push_async(failing());
        let v = chain.authorize_async(&a).await;
        assert_eq!(v.decision, Decision::NoOpinion("Everything is forbidden.".into()));
        assert_eq!(v.error().as_deref(), Some("boom"));
        chain.push(Arc::new(AlwaysAllow));
        let v = chain.authorize_async(&a).await;
        assert_eq!(v.decision, Decision::Allow(String::new()));
        assert_eq!(v.errors, vec!["boom".to_string()]);
        assert!(chain.authorize_async(&a).await.decision.is_allowed());
        assert!(chain.has_async());
        chain.push_async(failing());
        let mut two = AuthorizerChain::new();
        two.push_async(failing());
        two.push_async(failing());
        let v = two.authorize_async(&a).await;
        // kube's aggregate drops duplicates.
        assert_eq!((v.errors.len(), v.error().as_deref()), (2, Some("boom")));
    }

    #[tokio::test]
    async fn deny_stops_the_walk() {
        let mut chain = AuthorizerChain::new();
        chain.push_async(Arc::new(Fixed(Verdict::new(Decision::Deny("no".into())))));
        chain.push(Arc::new(AlwaysAllow));
        assert_eq!(chain.authorize_async(&Attributes::default()).await.decision, Decision::Deny("no".into()));
        assert_eq!(
            AuthorizerChain::new().authorize_async(&Attributes::default()).await.decision,
            Decision::NoOpinion(String::new())
        );
    }

    #[tokio::test]
    async fn an_authorized_proof_only_for_an_allowed_request() {
        let anonymous = authn::anonymous::Anonymous::for_paths(&["/healthz"]);
        let union = authn::Union::new(vec![], Some(anonymous));
        let headers = http::HeaderMap::new();
        let req = authn::AuthRequest::new(&headers, None, "/healthz");
        let who = union.authenticate(&req).await.unwrap();
        let info = apimachinery::RequestInfo::new("GET", "/healthz", None);
        let mut chain = AuthorizerChain::new();
        chain.push(Arc::new(AlwaysDeny));
        let refused = chain.authorize_request(&who, &info).await.unwrap_err();
        assert!(!refused.decision.is_allowed());
        chain = AuthorizerChain::new();
        chain.push_async(Arc::new(Fixed(Verdict::new(Decision::Allow("bound".into())))));
        let ok = chain.authorize_request(&who, &info).await.unwrap();
        assert_eq!(
            (ok.user().name.as_str(), ok.reason(), ok.attributes().path.as_str()),
            ("system:anonymous", "bound", "/healthz")
        );
    }
}
