//! The Webhook authorizer (`--authorization-mode=Webhook`, `--authorization-webhook-config-file`),
//! as kube's `plugin/pkg/authorizer/webhook`.
//!
//! Each question is POSTed as an `authorization.k8s.io/v1` SubjectAccessReview; the answer's
//! `status` decides: `denied` -> Deny, `allowed` -> Allow, otherwise NoOpinion, each with the
//! webhook's reason (both set -> Deny plus an error, as kube). Answers are cached by the
//! review's spec: allowed ones for `authorized_ttl` (default 5m), others for
//! `unauthorized_ttl` (default 30s). Calls go through an [`outbound::Target`] built once from
//! the kubeconfig (pooled connections, `timeout` per attempt, 3 MiB answer cap); a failure kube
//! would retry (connection reset, 5xx but 503, 429, Retry-After) is retried with kube's
//! backoff, and a failed call (connection, TLS, non-2xx, bad JSON) is answered with NoOpinion
//! and the error, which the chain reports in [`Verdict::errors`].
//!
//! Calls happen on the caller's task ([`AsyncAuthorizer::authorize_async`]), so concurrent
//! requests make concurrent calls; nothing blocks a thread.

pub mod review;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apimachinery::{Attributes, Decision, UserInfo};
use async_trait::async_trait;

use crate::chain::{AsyncAuthorizer, Verdict};
use crate::{RuleResolver, SubjectRules};
pub use outbound::Target;
use review::ReviewStatus;

/// kube's `RulesFor` error for the webhook.
pub const RULES_UNSUPPORTED: &str = "webhook authorizer does not support user rule resolution";
/// kube's error when a review both allows and denies.
pub const BOTH_ALLOW_AND_DENY: &str = "webhook subject access review returned both allow and deny response";

/// Why the webhook authorizer could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The kubeconfig is unreadable or names an unusable server or credential.
    #[error("invalid webhook config: {0}")]
    Config(String),
}

/// Cache lifetimes, timeout and retry policy.
#[derive(Debug, Clone)]
pub struct WebhookOptions {
    /// `--authorization-webhook-cache-authorized-ttl` (5m).
    pub authorized_ttl: Duration,
    /// `--authorization-webhook-cache-unauthorized-ttl` (30s).
    pub unauthorized_ttl: Duration,
    /// Limit for one attempt (connect, TLS, request, response).
    pub timeout: Duration,
    /// Attempts in all, at least 1 (kube's backoff has 5 steps).
    pub attempts: u32,
    /// Wait before the second attempt; each later wait is 1.5 times longer (plus up to 20%
    /// jitter, as kube).
    pub initial_backoff: Duration,
    /// Cached answers kept at most (expired ones are dropped first).
    pub cache_capacity: usize,
    /// AuthorizationConfiguration's `failurePolicy: Deny`: a failed call (or a match
    /// condition's error) denies; otherwise it is no opinion (`NoOpinion`, the default of
    /// `--authorization-webhook-config-file`). Either way the request fails with 500 when
    /// no authorizer allows it, as kube's.
    pub deny_on_error: bool,
    /// The SubjectAccessReview version sent (`subjectAccessReviewVersion`).
    pub review_version: review::Version,
    /// The `matchConditions`: the webhook is asked only when they hold.
    pub match_conditions: Option<Arc<crate::config::matcher::Matcher>>,
    /// The authorizer's name (AuthorizationConfiguration's), for logs.
    pub name: String,
}

impl WebhookOptions {
    /// The webhook's [`Target`]: `timeout` per attempt, `attempts` steps of kube's backoff
    /// starting at `initial_backoff` (`DefaultRetryBackoffWithInitialDelay`).
    pub fn target(&self, config: &outbound::RestConfig) -> Result<Target, WebhookError> {
        let options = outbound::Options { timeout: self.timeout, ..Default::default() };
        let backoff = outbound::Backoff {
            steps: self.attempts.max(1),
            ..outbound::Backoff::with_initial_delay(self.initial_backoff)
        };
        Target::new(config, options, backoff).map_err(|e| WebhookError::Config(e.to_string()))
    }
}

impl Default for WebhookOptions {
    fn default() -> Self {
        Self {
            authorized_ttl: Duration::from_secs(300),
            unauthorized_ttl: Duration::from_secs(30),
            timeout: Duration::from_secs(30),
            attempts: 5,
            initial_backoff: Duration::from_millis(500),
            cache_capacity: 10_000,
            deny_on_error: false,
            review_version: review::Version::V1,
            match_conditions: None,
            name: "webhook".into(),
        }
    }
}

struct Shared {
    target: Target,
    options: WebhookOptions,
    cache: Mutex<HashMap<String, (ReviewStatus, Instant)>>,
}

/// kube's webhook authorizer; see the module docs.
pub struct WebhookAuthorizer {
    shared: Arc<Shared>,
}

impl WebhookAuthorizer {
    pub fn new(target: Target, options: WebhookOptions) -> Self {
        let shared = Shared { target, options, cache: Mutex::new(HashMap::new()) };
        Self { shared: Arc::new(shared) }
    }

    /// Builds the authorizer from `--authorization-webhook-config-file`.
    pub fn from_kubeconfig(path: &Path, options: WebhookOptions) -> Result<Self, WebhookError> {
        let config = outbound::kubeconfig::load(path).map_err(|e| WebhookError::Config(e.to_string()))?;
        Ok(Self::new(options.target(&config)?, options))
    }

    /// Number of cached answers (expired ones included until purged).
    pub fn cached(&self) -> usize {
        self.shared.lock().len()
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (ReviewStatus, Instant)>> {
        // The map holds whole entries only; a panic elsewhere cannot leave one half-written.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn cached(&self, key: &str) -> Option<ReviewStatus> {
        let mut cache = self.lock();
        match cache.get(key) {
            Some((status, expires)) if *expires > Instant::now() => Some(status.clone()),
            Some(_) => {
                cache.remove(key);
                None
            }
            None => None,
        }
    }

    fn remember(&self, key: String, status: &ReviewStatus) {
        let ttl = if status.allowed { self.options.authorized_ttl } else { self.options.unauthorized_ttl };
        if ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut cache = self.lock();
        if cache.len() >= self.options.cache_capacity {
            cache.retain(|_, (_, expires)| *expires > now);
            if cache.len() >= self.options.cache_capacity {
                cache.clear();
            }
        }
        cache.insert(key, (status.clone(), now + ttl));
    }

    async fn call(&self, body: &[u8]) -> Result<ReviewStatus, String> {
        let resp = self.target.post_json(body.to_vec()).await.map_err(|e| e.to_string())?;
        if !resp.status.is_success() {
            let text = String::from_utf8_lossy(&resp.body[..resp.body.len().min(256)]).into_owned();
            return Err(format!("the server responded with status {}: {text}", resp.status));
        }
        review::parse_response(&resp.body)
    }

    /// kube's `decisionOnError`: Deny under `failurePolicy: Deny`, else no opinion; the
    /// error goes with it.
    fn on_error(&self, error: String) -> Verdict {
        let decision = if self.options.deny_on_error {
            Decision::Deny(String::new())
        } else {
            Decision::NoOpinion(error.clone())
        };
        Verdict { decision, errors: vec![error] }
    }

    async fn authorize(&self, attrs: &Attributes) -> Verdict {
        if let Some(conditions) = &self.options.match_conditions {
            match conditions.matches(attrs) {
                Ok(true) => {}
                Ok(false) => return Verdict::new(Decision::NoOpinion(String::new())),
                Err(e) => {
                    tracing::warn!(authorizer = %self.options.name, error = %e, "authorization webhook match conditions failed");
                    return self.on_error(e);
                }
            }
        }
        let (key, body) = review::request(attrs, self.options.review_version);
        let status = match self.cached(&key) {
            Some(s) => s,
            None => match self.call(&body).await {
                Ok(s) => {
                    self.remember(key, &s);
                    s
                }
                Err(e) => {
                    tracing::error!(authorizer = %self.options.name, error = %e, "failed to make webhook authorizer request");
                    return self.on_error(format!("webhook authorizer: {e}"));
                }
            },
        };
        decide(status)
    }
}

fn decide(status: ReviewStatus) -> Verdict {
    match (status.allowed, status.denied) {
        (true, true) => {
            Verdict { decision: Decision::Deny(status.reason), errors: vec![BOTH_ALLOW_AND_DENY.into()] }
        }
        (_, true) => Verdict::new(Decision::Deny(status.reason)),
        (true, false) => Verdict::new(Decision::Allow(status.reason)),
        (false, false) => Verdict::new(Decision::NoOpinion(status.reason)),
    }
}

#[async_trait]
impl AsyncAuthorizer for WebhookAuthorizer {
    async fn authorize_async(&self, attrs: &Attributes) -> Verdict {
        self.shared.authorize(attrs).await
    }
}

impl RuleResolver for WebhookAuthorizer {
    /// kube's answer: rules behind a webhook cannot be listed.
    fn rules_for(&self, _: &UserInfo, _: &str) -> SubjectRules {
        SubjectRules {
            incomplete: true,
            evaluation_errors: vec![RULES_UNSUPPORTED.into()],
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests;
