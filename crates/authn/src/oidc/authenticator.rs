//! [`OidcAuthenticator`]: bearer ID tokens from one or more issuers, with the semantics of
//! kube's JWT authenticator (go-oidc verification, then claim rules, mappings and user
//! rules), a cache of verified tokens, and a revocation list kube does not have.
//!
//! Order for a token: the unverified `iss` picks the issuer (no issuer: not ours); a cache
//! hit skips to the per-request checks; otherwise the algorithm, the signature (keys of
//! the issuer, refetched on a miss), the audience, `exp`/`nbf`, the claim validation rules,
//! the mappings and the user validation rules. On every request, cached or not, the
//! expiry and the revocation list are checked again, so a revoked user is rejected at
//! once. Tokens are only held as SHA-256 keys and never logged.

use super::cel::{Expression, Vars};
use super::config::{ClaimRule, JwtAuthenticatorSpec, Mapping, OidcConfigError};
use super::http::HttpClient;
use super::jwt::{self, SigningAlg};
use super::keyset::{
    DiscoverySource, JwksSource, KeyLookupError, RemoteKeySet, DEFAULT_MIN_REFETCH_INTERVAL,
};
use crate::cache::TokenCache;
use crate::{bearer_token, AuthOutcome, AuthRequest, Authenticator};
use apimachinery::quote::go_quote;
use apimachinery::UserInfo;
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

/// Who is revoked since when: tokens of `username` (the mapped name, prefix included)
/// issued (`iat`) at or before the returned Unix time are rejected even if unexpired.
pub trait RevocationList: Send + Sync {
    fn revoked_before(&self, username: &str) -> Option<i64>;
}

/// A fixed revocation list (tests, or a server without a cluster-backed one).
#[derive(Debug, Default)]
pub struct StaticRevocations(pub RwLock<std::collections::HashMap<String, i64>>);

impl StaticRevocations {
    pub fn revoke(&self, username: &str, at: i64) {
        self.0.write().unwrap_or_else(|p| p.into_inner()).insert(username.to_string(), at);
    }
}

impl RevocationList for StaticRevocations {
    fn revoked_before(&self, username: &str) -> Option<i64> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).get(username).copied()
    }
}

/// Why a token of a configured issuer was rejected; the text is what the log shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcTokenError {
    /// The token fails verification or the claim rules (kube's message).
    #[error("{0}")]
    Invalid(String),
    /// The issuer's keys have never been fetched (the provider is unreachable).
    #[error("oidc: authenticator for issuer {} is not initialized: {reason}", go_quote(issuer))]
    NotInitialized { issuer: String, reason: String },
    /// The user was revoked after the token was issued.
    #[error(
        "oidc: token of user {} issued at {iat} was revoked (revoked before {revoked_before})",
        go_quote(user)
    )]
    Revoked { user: String, iat: i64, revoked_before: i64 },
}

fn invalid(reason: impl Into<String>) -> OidcTokenError {
    OidcTokenError::Invalid(reason.into())
}

/// Tunables that are not part of kube's configuration.
#[derive(Debug, Clone)]
pub struct OidcOptions {
    /// How long a verified token is remembered (bounded by its `exp`); zero disables.
    pub cache_ttl: Duration,
    pub cache_entries: usize,
    /// Leeway on `exp`, in seconds (go-oidc: none).
    pub exp_leeway: i64,
    /// Leeway on `nbf`, in seconds (go-oidc: 5 minutes).
    pub nbf_leeway: i64,
    /// Minimum time between two key fetches triggered by unknown key IDs.
    pub jwks_min_refetch_interval: Duration,
    /// Retry period of the initial key fetch while the issuer is unreachable.
    pub initial_fetch_retry: Duration,
}

impl Default for OidcOptions {
    fn default() -> Self {
        Self {
            cache_ttl: Duration::from_secs(60),
            cache_entries: 16_384,
            exp_leeway: 0,
            nbf_leeway: 300,
            jwks_min_refetch_interval: DEFAULT_MIN_REFETCH_INTERVAL,
            initial_fetch_retry: Duration::from_secs(10),
        }
    }
}

struct Issuer {
    spec: JwtAuthenticatorSpec,
    keys: Arc<RemoteKeySet>,
}

struct Generation {
    id: u64,
    issuers: Vec<Arc<Issuer>>,
}

#[derive(Clone)]
struct Verified {
    user: UserInfo,
    exp: i64,
    iat: Option<i64>,
    /// When the user last signed in at the provider; kept by refreshed tokens, so a
    /// revocation also stops tokens a refresh issued after it (OIDC Core 12.2).
    auth_time: Option<i64>,
    generation: u64,
}

/// Builds the key source of an issuer (the default one fetches discovery and JWKS).
pub type KeySourceFactory =
    Box<dyn Fn(&JwtAuthenticatorSpec) -> Result<Box<dyn JwksSource>, OidcConfigError> + Send + Sync>;

/// The discovery-and-JWKS key source over TLS with the issuer's CA.
pub fn discovery_key_source(spec: &JwtAuthenticatorSpec) -> Result<Box<dyn JwksSource>, OidcConfigError> {
    let client = HttpClient::new(spec.ca_pem.as_deref()).map_err(|e| OidcConfigError::Invalid {
        field: format!("issuer {} certificateAuthority", spec.issuer_url),
        reason: e.to_string(),
    })?;
    Ok(Box::new(DiscoverySource::new(&spec.issuer_url, spec.discovery_url.as_deref(), client)))
}

/// The OIDC (JWT) bearer-token authenticator.
pub struct OidcAuthenticator {
    sources: KeySourceFactory,
    current: RwLock<Arc<Generation>>,
    generations: AtomicU64,
    cache: Option<TokenCache<Arc<Verified>>>,
    revocations: RwLock<Option<Arc<dyn RevocationList>>>,
    options: OidcOptions,
}

impl OidcAuthenticator {
    /// Builds the authenticator and starts fetching every issuer's keys in the background
    /// (when a Tokio runtime is running); an unreachable issuer does not block this.
    pub fn new(specs: Vec<JwtAuthenticatorSpec>, options: OidcOptions) -> Result<Arc<Self>, OidcConfigError> {
        Self::with_key_sources(specs, options, Box::new(discovery_key_source))
    }

    /// As [`Self::new`] with another way of getting each issuer's keys.
    pub fn with_key_sources(
        specs: Vec<JwtAuthenticatorSpec>,
        options: OidcOptions,
        sources: KeySourceFactory,
    ) -> Result<Arc<Self>, OidcConfigError> {
        let this = Arc::new(Self {
            sources,
            current: RwLock::new(Arc::new(Generation { id: 0, issuers: Vec::new() })),
            generations: AtomicU64::new(0),
            cache: (!options.cache_ttl.is_zero())
                .then(|| TokenCache::new(options.cache_ttl, options.cache_entries.max(1))),
            revocations: RwLock::new(None),
            options,
        });
        this.replace(specs)?;
        Ok(this)
    }

    /// Installs the revocation list consulted on every request.
    pub fn set_revocation_list(&self, list: Arc<dyn RevocationList>) {
        *self.revocations.write().unwrap_or_else(|p| p.into_inner()) = Some(list);
    }

    /// Swaps in a new configuration (a reloaded file). Issuers whose URL, discovery URL
    /// and CA are unchanged keep their fetched keys; cached verifications are dropped.
    pub fn replace(self: &Arc<Self>, specs: Vec<JwtAuthenticatorSpec>) -> Result<(), OidcConfigError> {
        let old = self.generation();
        let mut issuers = Vec::with_capacity(specs.len());
        let mut fresh = Vec::new();
        for spec in specs {
            let reuse = old.issuers.iter().find(|i| {
                i.spec.issuer_url == spec.issuer_url
                    && i.spec.discovery_url == spec.discovery_url
                    && i.spec.ca_pem == spec.ca_pem
            });
            let keys = match reuse {
                Some(i) => i.keys.clone(),
                None => {
                    let source = (self.sources)(&spec)?;
                    let keys = Arc::new(RemoteKeySet::new(source, self.options.jwks_min_refetch_interval));
                    fresh.push((spec.issuer_url.clone(), Arc::downgrade(&keys)));
                    keys
                }
            };
            issuers.push(Arc::new(Issuer { spec, keys }));
        }
        let id = self.generations.fetch_add(1, Ordering::SeqCst) + 1;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(Generation { id, issuers });
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            for (issuer, keys) in fresh {
                rt.spawn(initial_fetch(issuer, keys, self.options.initial_fetch_retry));
            }
        }
        Ok(())
    }

    fn generation(&self) -> Arc<Generation> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The configured issuer URLs.
    pub fn issuers(&self) -> Vec<String> {
        self.generation().issuers.iter().map(|i| i.spec.issuer_url.clone()).collect()
    }

    /// Whether the keys of `issuer` have been fetched.
    pub fn is_ready(&self, issuer: &str) -> bool {
        self.generation().issuers.iter().any(|i| i.spec.issuer_url == issuer && i.keys.is_ready())
    }

    /// Authenticates one token: `Ok(None)` when no configured issuer claims it.
    pub async fn authenticate_token(&self, token: &str) -> Result<Option<UserInfo>, OidcTokenError> {
        self.authenticate_token_at(token, chrono::Utc::now().timestamp()).await
    }

    /// As [`Self::authenticate_token`] at Unix time `now`.
    pub async fn authenticate_token_at(
        &self,
        token: &str,
        now: i64,
    ) -> Result<Option<UserInfo>, OidcTokenError> {
        let generation = self.generation();
        let key = token.as_bytes();
        if let Some(hit) = self.cache.as_ref().and_then(|c| c.get(key)) {
            if hit.generation == generation.id {
                self.per_request_checks(&hit, now)?;
                return Ok(Some(hit.user.clone()));
            }
        }
        let Some(iss) = jwt::peek_issuer(token) else { return Ok(None) };
        let Some(issuer) = generation.issuers.iter().find(|i| i.spec.issuer_url == iss) else {
            return Ok(None);
        };
        let verified = verify(issuer, token, now, &self.options, generation.id).await?;
        self.per_request_checks(&verified, now)?;
        if let Some(cache) = &self.cache {
            let left =
                u64::try_from(verified.exp.saturating_add(self.options.exp_leeway).saturating_sub(now))
                    .unwrap_or(0);
            cache.insert(key, Arc::new(verified.clone()), Some(Duration::from_secs(left)));
        }
        Ok(Some(verified.user))
    }

    fn per_request_checks(&self, v: &Verified, now: i64) -> Result<(), OidcTokenError> {
        if now > v.exp.saturating_add(self.options.exp_leeway) {
            return Err(expired(v.exp));
        }
        let list = self.revocations.read().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(before) = list.and_then(|l| l.revoked_before(&v.user.name)) {
            // The sign-in time when the provider states it, else the issue time.
            let iat = v.auth_time.or(v.iat).unwrap_or(i64::MIN);
            if iat <= before {
                return Err(OidcTokenError::Revoked {
                    user: v.user.name.clone(),
                    iat,
                    revoked_before: before,
                });
            }
        }
        Ok(())
    }
}

async fn initial_fetch(issuer: String, keys: Weak<RemoteKeySet>, retry: Duration) {
    let mut logged = false;
    loop {
        let Some(set) = keys.upgrade() else { return };
        if set.is_ready() {
            return;
        }
        match set.refresh(true).await {
            Ok(()) => {
                tracing::info!(%issuer, "oidc: issuer keys fetched");
                return;
            }
            Err(error) if !logged => {
                logged = true;
                tracing::warn!(%issuer, %error, "oidc: issuer unreachable; its tokens fail until keys can be fetched");
            }
            Err(error) => tracing::debug!(%issuer, %error, "oidc: issuer still unreachable"),
        }
        drop(set);
        tokio::time::sleep(retry).await;
    }
}

fn expired(exp: i64) -> OidcTokenError {
    let at =
        chrono::DateTime::from_timestamp(exp, 0).map(|t| t.to_rfc3339()).unwrap_or_else(|| exp.to_string());
    invalid(format!("oidc: verify token: oidc: token is expired (Token Expiry: {at})"))
}

fn numeric(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, OidcTokenError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64().map(|f| f as i64)),
        Some(_) => {
            Err(invalid(format!("oidc: malformed jwt payload: claim {} is not a number", go_quote(name))))
        }
    }
}

async fn verify(
    issuer: &Issuer,
    token: &str,
    now: i64,
    opts: &OidcOptions,
    generation: u64,
) -> Result<Verified, OidcTokenError> {
    let spec = &issuer.spec;
    let d = jwt::decode(token).map_err(|e| invalid(e.to_string()))?;
    let alg = SigningAlg::parse(&d.alg).filter(|a| spec.signing_algs.contains(a)).ok_or_else(|| {
        let names: Vec<&str> = spec.signing_algs.iter().map(|a| a.name()).collect();
        invalid(format!(
            "oidc: id token signed with unsupported algorithm, expected {names:?} got {:?}",
            d.alg
        ))
    })?;
    match issuer.keys.verify(d.kid.as_deref(), alg, d.signing_input.as_bytes(), &d.signature).await {
        Ok(()) => {}
        Err(KeyLookupError::NotInitialized(reason)) => {
            return Err(OidcTokenError::NotInitialized { issuer: spec.issuer_url.clone(), reason })
        }
        Err(KeyLookupError::NoMatch) => {
            return Err(invalid(
                "oidc: verify token: failed to verify signature: failed to verify id token signature",
            ))
        }
    }
    let c = &d.claims;
    let auds: Vec<&str> = match c.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !spec.audiences.iter().any(|want| auds.contains(&want.as_str())) {
        return Err(invalid(format!(
            "oidc: verify token: oidc: expected audience {:?} got {auds:?}",
            spec.audiences
        )));
    }
    let exp = numeric(c, "exp")?.ok_or_else(|| expired(0))?;
    // The claims are the token's: the sums saturate rather than overflow.
    if now > exp.saturating_add(opts.exp_leeway) {
        return Err(expired(exp));
    }
    if let Some(nbf) = numeric(c, "nbf")? {
        if now.saturating_add(opts.nbf_leeway) < nbf {
            return Err(invalid(format!(
                "oidc: verify token: oidc: current time {now} before the nbf (not before) time: {nbf}"
            )));
        }
    }
    let iat = numeric(c, "iat")?;
    let auth_time = numeric(c, "auth_time")?;
    let claims = Value::Object(d.claims);
    let user = map_user(spec, &claims)?;
    Ok(Verified { user, exp, iat, auth_time, generation })
}

fn claim_str<'a>(claims: &'a Value, name: &str, what: &str) -> Result<&'a str, OidcTokenError> {
    match claims.get(name) {
        Some(Value::String(s)) => Ok(s),
        None => Err(invalid(format!("oidc: parse {what} claims {}: claim not present", go_quote(name)))),
        Some(_) => {
            Err(invalid(format!("oidc: parse {what} claims {}: claim is not a string", go_quote(name))))
        }
    }
}

fn eval(e: &Expression, vars: &Vars, what: &str) -> Result<Value, OidcTokenError> {
    e.eval(vars)
        .map_err(|err| invalid(format!("oidc: error evaluating {what} expression `{}`: {err}", e.source())))
}

/// The claims bound once for all of a token's expressions (none if it has none).
fn claim_vars<'a>(
    spec: &JwtAuthenticatorSpec,
    claims: &'a Value,
) -> Result<Option<Vars<'a>>, OidcTokenError> {
    let uses = spec.claim_rules.iter().any(|r| matches!(r, ClaimRule::Expression { .. }))
        || [Some(&spec.username), spec.groups.as_ref(), spec.uid.as_ref()]
            .into_iter()
            .any(|m| matches!(m, Some(Mapping::Expression(_))))
        || !spec.extra.is_empty();
    if !uses {
        return Ok(None);
    }
    Vars::claims(claims).map(Some).map_err(|e| invalid(format!("oidc: claims: {e}")))
}

fn strings(v: Value, what: &str) -> Result<Vec<String>, OidcTokenError> {
    match v {
        Value::String(s) => Ok(vec![s]),
        Value::Array(items) => items
            .into_iter()
            .map(|i| match i {
                Value::String(s) => Ok(s),
                _ => Err(invalid(format!("oidc: {what}: expected a string or a list of strings"))),
            })
            .collect(),
        Value::Null => Ok(Vec::new()),
        _ => Err(invalid(format!("oidc: {what}: expected a string or a list of strings"))),
    }
}

fn map_user(spec: &JwtAuthenticatorSpec, claims: &Value) -> Result<UserInfo, OidcTokenError> {
    let vars = claim_vars(spec, claims)?;
    // Bound whenever an expression exists (claim_vars), so never missing where used.
    let vars = || vars.as_ref().ok_or_else(|| invalid("oidc: claims not bound"));
    for rule in &spec.claim_rules {
        match rule {
            ClaimRule::Required { claim, value } => {
                let got = match claims.get(claim) {
                    Some(Value::String(s)) => s,
                    None => {
                        return Err(invalid(format!("oidc: required claim {claim} not present in ID token")))
                    }
                    Some(_) => {
                        return Err(invalid(format!("oidc: parse claim {claim}: claim is not a string")))
                    }
                };
                if got != value {
                    return Err(invalid(format!(
                        "oidc: required claim {claim} value does not match. Got = {got}, want = {value}"
                    )));
                }
            }
            ClaimRule::Expression { expr, message } => {
                if eval(expr, vars()?, "claim validation")? != Value::Bool(true) {
                    let why = if message.is_empty() {
                        format!("expression `{}` is false", expr.source())
                    } else {
                        message.clone()
                    };
                    return Err(invalid(format!(
                        "oidc: error evaluating claim validation expression: {why}"
                    )));
                }
            }
        }
    }
    let name = match &spec.username {
        Mapping::Claim { claim, prefix } => {
            let name = claim_str(claims, claim, "username")?;
            if claim == "email" {
                match claims.get("email_verified") {
                    None => {}
                    Some(Value::Bool(true)) => {}
                    Some(Value::Bool(false)) => return Err(invalid("oidc: email not verified")),
                    Some(_) => return Err(invalid("oidc: parse 'email_verified' claim: not a boolean")),
                }
            }
            if name.is_empty() {
                return Err(invalid(format!("oidc: empty username via claim {}", go_quote(claim))));
            }
            format!("{prefix}{name}")
        }
        Mapping::Expression(e) => match eval(e, vars()?, "username")? {
            Value::String(s) if !s.is_empty() => s,
            Value::String(_) => {
                return Err(invalid("oidc: empty username via CEL expression is not allowed"))
            }
            _ => return Err(invalid("oidc: username expression must return a string")),
        },
    };
    let groups = match &spec.groups {
        None => Vec::new(),
        Some(Mapping::Claim { claim, prefix }) => match claims.get(claim) {
            None => Vec::new(),
            Some(v) => strings(v.clone(), &format!("parse groups claim {}", go_quote(claim)))?
                .into_iter()
                .map(|g| format!("{prefix}{g}"))
                .collect(),
        },
        Some(Mapping::Expression(e)) => strings(eval(e, vars()?, "groups")?, "groups expression")?,
    };
    let uid = match &spec.uid {
        None => String::new(),
        Some(Mapping::Claim { claim, .. }) => claim_str(claims, claim, "uid")?.to_string(),
        Some(Mapping::Expression(e)) => match eval(e, vars()?, "uid")? {
            Value::String(s) => s,
            _ => return Err(invalid("oidc: uid expression must return a string")),
        },
    };
    let mut user = UserInfo { name, uid, groups, ..Default::default() };
    for (key, e) in &spec.extra {
        let values: Vec<String> = strings(eval(e, vars()?, "extra")?, "extra mapping")?
            .into_iter()
            .filter(|v| !v.is_empty())
            .collect();
        if !values.is_empty() {
            user.extra.insert(key.clone(), values);
        }
    }
    if !spec.user_rules.is_empty() {
        let as_value = serde_json::json!({
            "username": user.name, "uid": user.uid, "groups": user.groups, "extra": user.extra,
        });
        let user_vars = Vars::user(&as_value).map_err(|e| invalid(format!("oidc: user: {e}")))?;
        for (e, message) in &spec.user_rules {
            if eval(e, &user_vars, "user validation")? != Value::Bool(true) {
                let why = if message.is_empty() {
                    format!("expression `{}` is false", e.source())
                } else {
                    message.clone()
                };
                return Err(invalid(format!("oidc: error evaluating user info validation rule: {why}")));
            }
        }
    }
    Ok(user)
}

#[async_trait::async_trait]
impl Authenticator for OidcAuthenticator {
    async fn authenticate(&self, req: &AuthRequest<'_>) -> AuthOutcome {
        let Some(token) = bearer_token(req.headers) else { return AuthOutcome::NotApplicable };
        match self.authenticate_token(token).await {
            Ok(Some(user)) => AuthOutcome::Authenticated(user),
            Ok(None) => AuthOutcome::NotApplicable,
            Err(e) => AuthOutcome::Failed(e.to_string()),
        }
    }
}

/// An [`OidcAuthenticator`] shared with its reload watch, as a boxed [`Authenticator`] for
/// the union (`Box::new(SharedOidcAuthenticator(oidc.clone()))`).
pub struct SharedOidcAuthenticator(pub Arc<OidcAuthenticator>);

#[async_trait::async_trait]
impl Authenticator for SharedOidcAuthenticator {
    async fn authenticate(&self, req: &AuthRequest<'_>) -> AuthOutcome {
        self.0.authenticate(req).await
    }
}

#[cfg(test)]
#[path = "authenticator_tests.rs"]
mod tests;
