//! Webhook token authentication (`--authentication-token-webhook-config-file`): the
//! bearer token is sent in an `authentication.k8s.io/v1` TokenReview to a remote service,
//! whose answer is cached for `--authentication-token-webhook-cache-ttl` (default 2m),
//! authenticated or not, under the token's SHA-256. Transport errors are not cached. The
//! configuration file is a kubeconfig ([`outbound::kubeconfig`]) naming an `https` server;
//! reviews go through an [`outbound::Target`]: pooled connections, 30 s per attempt, kube's
//! webhook retry policy (`DefaultAuthWebhookRetryBackoff`).
//!
//! Audiences as kube's `WebhookTokenAuthenticator`: the requested audiences (by default the
//! API audiences) go into `spec.audiences`; the token is good for those of them the webhook
//! answers in `status.audiences` (the API audiences when it answers none); none in common is
//! "not authenticated" without an error. Answers are cached per token and audiences.

use crate::cache::TokenCache;
use crate::{bearer_token, intersect_audiences, AuthOutcome, AuthRequest, Authenticator};
use apimachinery::UserInfo;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

pub use outbound::RestConfig;
use outbound::{Backoff, Options, Target};

/// kube's default webhook request timeout, for one attempt.
pub const REQUEST_TIMEOUT: Duration = outbound::DEFAULT_TIMEOUT;

/// kube-apiserver's default `--authentication-token-webhook-cache-ttl`.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(120);
const CACHE_ENTRIES: usize = 16_384;

/// Errors of the webhook: its configuration, or one review.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The kubeconfig is unreadable or unusable.
    #[error("{path}: {source}")]
    Config { path: String, source: outbound::KubeconfigError },
    /// The kubeconfig's server is not an `https` URL.
    #[error("webhook server `{0}` is not an https URL")]
    NotHttps(String),
    /// The client cannot be built (CA, client certificate, token file).
    #[error("webhook client: {0}")]
    Client(#[from] outbound::ConfigError),
    /// Connecting or talking to the webhook failed, or it did not answer in time.
    #[error("webhook request failed: {0}")]
    Call(#[from] outbound::Error),
    /// The webhook answered with a non-2xx status.
    #[error("webhook returned HTTP status {0}")]
    Status(u16),
    /// The webhook's answer is not a TokenReview.
    #[error("webhook returned an invalid TokenReview: {0}")]
    Decode(String),
}

/// A cached review result.
#[derive(Debug, Clone)]
enum Review {
    /// The user, and the audiences the webhook answered.
    Authenticated(UserInfo, Vec<String>),
    /// Not authenticated, with the webhook's error if it gave one.
    Denied(Option<String>),
}

/// The TokenReview webhook authenticator.
pub struct WebhookTokenAuthenticator {
    target: Target,
    /// The API audiences (kube's implicit audiences).
    audiences: Vec<String>,
    cache: TokenCache<Arc<Review>>,
}

#[derive(Deserialize)]
struct TokenReview {
    #[serde(default, deserialize_with = "nullable")]
    status: ReviewStatus,
}

#[derive(Deserialize, Default)]
struct ReviewStatus {
    #[serde(default, deserialize_with = "nullable")]
    authenticated: bool,
    #[serde(default, deserialize_with = "nullable")]
    user: ReviewUser,
    #[serde(default, deserialize_with = "nullable")]
    audiences: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    error: String,
}

#[derive(Deserialize, Default)]
struct ReviewUser {
    #[serde(default, deserialize_with = "nullable")]
    username: String,
    #[serde(default, deserialize_with = "nullable")]
    uid: String,
    #[serde(default, deserialize_with = "nullable")]
    groups: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    extra: BTreeMap<String, Vec<String>>,
}

/// Go writes nil slices and maps as `null`: read it as empty.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

impl WebhookTokenAuthenticator {
    /// From the webhook kubeconfig file, with a cache TTL (zero disables the cache) and the
    /// API audiences.
    pub fn from_config_file(
        path: &Path,
        cache_ttl: Duration,
        audiences: Vec<String>,
    ) -> Result<Self, WebhookError> {
        let config = outbound::kubeconfig::load(path)
            .map_err(|source| WebhookError::Config { path: path.display().to_string(), source })?;
        Self::new(config, cache_ttl, audiences)
    }

    /// `audiences` are the API audiences: what a token is reviewed for when a request names
    /// none, and what it is good for when the webhook answers no audiences.
    pub fn new(
        target: RestConfig,
        cache_ttl: Duration,
        audiences: Vec<String>,
    ) -> Result<Self, WebhookError> {
        if target.server.scheme_str() != Some("https") {
            return Err(WebhookError::NotHttps(target.server.to_string()));
        }
        Ok(Self {
            target: Target::new(&target, Options::default(), Backoff::webhook_default())?,
            audiences,
            cache: TokenCache::new(cache_ttl, CACHE_ENTRIES),
        })
    }

    /// Retries failed reviews with `backoff` instead of kube's default.
    pub fn with_retry_backoff(mut self, backoff: Backoff) -> Self {
        self.target = self.target.with_backoff(backoff);
        self
    }

    /// Reviews one token for the API audiences (from the cache when it was reviewed within
    /// the TTL).
    pub async fn authenticate_token(&self, token: &str) -> Result<UserInfo, String> {
        match self.authenticate_token_for(token, None).await? {
            Some((user, _)) => Ok(user),
            None => Err(crate::union::INVALID_BEARER_TOKEN.into()),
        }
    }

    /// Reviews one token for `audiences` (`None`: the API audiences): the user and the
    /// audiences it is good for, `None` when the webhook did not authenticate it without
    /// saying why (or for other audiences), or the webhook's error.
    pub async fn authenticate_token_for(
        &self,
        token: &str,
        audiences: Option<&[String]>,
    ) -> Result<Option<(UserInfo, Vec<String>)>, String> {
        let wanted = audiences.unwrap_or(&self.audiences);
        // The audiences are part of the question, so of the cache key.
        let key = if wanted.is_empty() {
            Zeroizing::new(token.as_bytes().to_vec())
        } else {
            Zeroizing::new(format!("{token}\0{}", wanted.join("\0")).into_bytes())
        };
        let review = match self.cache.get(&key) {
            Some(r) => r,
            None => {
                let r = Arc::new(self.review(token, wanted).await.map_err(|e| e.to_string())?);
                self.cache.insert(&key, r.clone(), None);
                r
            }
        };
        match &*review {
            Review::Authenticated(user, answered) => {
                if wanted.is_empty() {
                    return Ok(Some((user.clone(), Vec::new())));
                }
                let got = if answered.is_empty() { &self.audiences } else { answered };
                let accepted = intersect_audiences(wanted, got);
                Ok((!accepted.is_empty()).then(|| (user.clone(), accepted)))
            }
            Review::Denied(Some(why)) => Err(why.clone()),
            Review::Denied(None) => Ok(None),
        }
    }

    async fn review(&self, token: &str, audiences: &[String]) -> Result<Review, WebhookError> {
        let mut spec = json!({"token": token});
        if !audiences.is_empty() {
            spec["audiences"] = json!(audiences);
        }
        let body = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": spec});
        let resp = self.target.post_json(body.to_string()).await?;
        if !resp.status.is_success() {
            return Err(WebhookError::Status(resp.status.as_u16()));
        }
        let review: TokenReview =
            serde_json::from_slice(&resp.body).map_err(|e| WebhookError::Decode(e.to_string()))?;
        let status = review.status;
        if !status.authenticated {
            return Ok(Review::Denied(Some(status.error).filter(|e| !e.is_empty())));
        }
        let u = status.user;
        if u.username.is_empty() {
            return Err(WebhookError::Decode("authenticated without a user name".into()));
        }
        let user = UserInfo { name: u.username, uid: u.uid, groups: u.groups, extra: u.extra };
        Ok(Review::Authenticated(user, status.audiences))
    }
}

#[async_trait::async_trait]
impl Authenticator for WebhookTokenAuthenticator {
    async fn authenticate(&self, req: &AuthRequest<'_>) -> AuthOutcome {
        let Some(token) = bearer_token(req.headers) else { return AuthOutcome::NotApplicable };
        match self.authenticate_token_for(token, req.audiences).await {
            Ok(Some((user, audiences))) => AuthOutcome::AuthenticatedFor(user, audiences),
            Ok(None) => AuthOutcome::NotApplicable,
            Err(why) => AuthOutcome::Failed(why),
        }
    }

    fn audience_aware(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests;
