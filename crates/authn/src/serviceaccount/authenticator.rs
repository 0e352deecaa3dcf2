//! Verifying service-account tokens (kube's `jwtTokenAuthenticator` with the bound and
//! legacy validators).
//!
//! Order: decode; unknown issuer → not ours; signature with the keys of the token's
//! `kid`; then on every request the audiences, the time checks and the liveness lookups. A
//! verified token is cached by its SHA-256 (never the token) so that the signature is
//! checked once; the lookups are not cached, so a deleted ServiceAccount, Pod or Secret
//! ends its tokens at once.
//!
//! Audiences as kube's `jwtTokenAuthenticator`: the token's `aud` (for a legacy token, which
//! has none, the API audiences) intersected with the requested audiences (by default the API
//! audiences); an empty intersection refuses the token, and the intersection is what the
//! token was accepted for.

use super::getter::ServiceAccountGetter;
use super::jwt::{self, ObjectRef, RawClaims, LEGACY_ISSUER};
use super::keys::PublicKey;
use super::{username, SaTokenError};
use crate::cache::TokenCache;
use crate::{bearer_token, intersect_audiences, AuthOutcome, AuthRequest, Authenticator};
use apimachinery::quote::go_quote_list;
use apimachinery::UserInfo;
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;

/// go-jose's default leeway for `exp`, `nbf` and `iat`.
pub const LEEWAY_SECONDS: i64 = 60;
/// How long a verified signature is remembered by default.
pub const DEFAULT_VERIFIED_CACHE_TTL: Duration = Duration::from_secs(60);
const CACHE_ENTRIES: usize = 16_384;

pub const EXTRA_POD_NAME: &str = "authentication.kubernetes.io/pod-name";
pub const EXTRA_POD_UID: &str = "authentication.kubernetes.io/pod-uid";
pub const EXTRA_NODE_NAME: &str = "authentication.kubernetes.io/node-name";
pub const EXTRA_NODE_UID: &str = "authentication.kubernetes.io/node-uid";
pub const EXTRA_CREDENTIAL_ID: &str = "authentication.kubernetes.io/credential-id";
const LEGACY_INVALID_SINCE_LABEL: &str = "kubernetes.io/legacy-token-invalid-since";

/// Settings of the authenticator (kube-apiserver flags).
#[derive(Debug, Default)]
pub struct AuthenticatorConfig {
    /// `--service-account-issuer` values: all are accepted.
    pub issuers: Vec<String>,
    /// `--api-audiences` (default: the issuers).
    pub api_audiences: Vec<String>,
    /// `--service-account-key-file` keys.
    pub keys: Vec<PublicKey>,
    /// Accept legacy (`kubernetes/serviceaccount`) tokens.
    pub legacy: bool,
    /// `--service-account-lookup` for legacy tokens (kube's default: true).
    pub lookup: bool,
    /// TTL of the verified-signature cache (`None`: no cache).
    pub cache_ttl: Option<Duration>,
}

impl AuthenticatorConfig {
    /// kube-apiserver's defaults for one issuer and its keys.
    pub fn new(issuers: Vec<String>, keys: Vec<PublicKey>) -> Self {
        Self {
            issuers,
            api_audiences: Vec::new(),
            keys,
            legacy: true,
            lookup: true,
            cache_ttl: Some(DEFAULT_VERIFIED_CACHE_TTL),
        }
    }
}

/// What a token says, once its signature and claims are checked.
#[derive(Debug, Clone)]
enum Verified {
    Legacy { namespace: String, name: String, uid: String, secret: String },
    Bound(Box<Bound>),
}

#[derive(Debug, Clone)]
struct Bound {
    /// The token's `aud`.
    audiences: Vec<String>,
    namespace: String,
    sa: ObjectRef,
    pod: Option<ObjectRef>,
    secret: Option<ObjectRef>,
    node: Option<ObjectRef>,
    jti: Option<String>,
    exp: Option<i64>,
    nbf: Option<i64>,
    iat: Option<i64>,
}

/// The ServiceAccount token authenticator.
pub struct ServiceAccountAuthenticator {
    issuers: Vec<String>,
    api_audiences: Vec<String>,
    keys: Vec<PublicKey>,
    legacy: bool,
    lookup: bool,
    getter: Arc<dyn ServiceAccountGetter>,
    cache: Option<TokenCache<Arc<Verified>>>,
}

impl ServiceAccountAuthenticator {
    pub fn new(config: AuthenticatorConfig, getter: Arc<dyn ServiceAccountGetter>) -> Self {
        let api_audiences =
            if config.api_audiences.is_empty() { config.issuers.clone() } else { config.api_audiences };
        Self {
            issuers: config.issuers,
            api_audiences,
            keys: config.keys,
            legacy: config.legacy,
            lookup: config.lookup,
            getter,
            cache: config.cache_ttl.map(|ttl| TokenCache::new(ttl, CACHE_ENTRIES)),
        }
    }

    /// Authenticates one token for the API audiences.
    pub async fn authenticate_token(&self, token: &str) -> Result<UserInfo, SaTokenError> {
        self.authenticate_token_for(token, None).await.map(|(user, _)| user)
    }

    /// Authenticates one token for `audiences` (`None`: the API audiences); returns the user
    /// and the audiences the token is good for among them.
    pub async fn authenticate_token_for(
        &self,
        token: &str,
        audiences: Option<&[String]>,
    ) -> Result<(UserInfo, Vec<String>), SaTokenError> {
        self.authenticate_at(token, audiences, chrono::Utc::now().timestamp()).await
    }

    /// [`Self::authenticate_token`] at time `now`.
    #[cfg(test)]
    pub(crate) async fn authenticate_token_at(
        &self,
        token: &str,
        now: i64,
    ) -> Result<UserInfo, SaTokenError> {
        self.authenticate_at(token, None, now).await.map(|(user, _)| user)
    }

    async fn authenticate_at(
        &self,
        token: &str,
        audiences: Option<&[String]>,
        now: i64,
    ) -> Result<(UserInfo, Vec<String>), SaTokenError> {
        let verified = match &self.cache {
            Some(cache) => {
                let key = token.as_bytes();
                match cache.get(key) {
                    Some(v) => v,
                    None => {
                        let v = Arc::new(self.verify(token)?);
                        let ttl = match &*v {
                            Verified::Bound(b) => {
                                b.exp.map(|e| Duration::from_secs(e.saturating_sub(now).max(0) as u64))
                            }
                            Verified::Legacy { .. } => None,
                        };
                        cache.insert(key, v.clone(), ttl);
                        v
                    }
                }
            }
            None => Arc::new(self.verify(token)?),
        };
        let token_audiences = match &*verified {
            Verified::Bound(b) if !b.audiences.is_empty() => &b.audiences[..],
            _ => &self.api_audiences[..],
        };
        let requested = audiences.unwrap_or(&self.api_audiences);
        let accepted = intersect_audiences(token_audiences, requested);
        if accepted.is_empty() && !self.api_audiences.is_empty() {
            return Err(SaTokenError::Invalid(format!(
                "token audiences {} is invalid for the target audiences {}",
                go_quote_list(token_audiences),
                go_quote_list(requested)
            )));
        }
        let user = match &*verified {
            Verified::Legacy { namespace, name, uid, secret } => {
                self.check_legacy(token, namespace, name, uid, secret).await?;
                service_account_user(namespace, name, uid)
            }
            Verified::Bound(b) => {
                check_times(b, now)?;
                self.check_bound(b).await?;
                bound_user(b)
            }
        };
        Ok((user, accepted))
    }

    /// Signature, issuer and claim structure: everything that depends on the token only.
    fn verify(&self, token: &str) -> Result<Verified, SaTokenError> {
        let decoded = jwt::decode(token).ok_or(SaTokenError::NotServiceAccountToken)?;
        let iss = decoded.claims.iss.as_deref().unwrap_or_default();
        let legacy = iss == LEGACY_ISSUER;
        let accepted = (legacy && self.legacy) || self.issuers.iter().any(|i| i == iss);
        if !accepted {
            return Err(SaTokenError::NotServiceAccountToken);
        }
        let mut candidates =
            self.keys.iter().filter(|k| decoded.kid.as_deref().is_none_or(|kid| kid == k.kid())).peekable();
        if candidates.peek().is_none() {
            return Err(SaTokenError::Invalid("invalid signature, no keys found".into()));
        }
        let ok = candidates.any(|k| {
            k.alg().name() == decoded.alg && k.verify(decoded.signing_input.as_bytes(), &decoded.signature)
        });
        if !ok {
            return Err(SaTokenError::Invalid("invalid signature".into()));
        }
        if legacy {
            return legacy_claims(decoded.claims);
        }
        bound_claims(decoded.claims)
    }

    async fn check_legacy(
        &self,
        token: &str,
        ns: &str,
        name: &str,
        uid: &str,
        secret_name: &str,
    ) -> Result<(), SaTokenError> {
        if !self.lookup {
            return Ok(());
        }
        let secret = self
            .getter
            .secret(ns, secret_name)
            .await
            .ok_or_else(|| SaTokenError::Invalid("Token has been invalidated".into()))?;
        let matches: bool = secret.token.as_deref().unwrap_or_default().ct_eq(token.as_bytes()).into();
        if !matches {
            return Err(SaTokenError::Invalid("Token does not match server's copy".into()));
        }
        let sa_uid = self.getter.service_account(ns, name).await.ok_or_else(|| not_found(name))?;
        if sa_uid != uid {
            return Err(SaTokenError::Invalid(format!(
                "ServiceAccount UID ({sa_uid}) does not match claim ({uid})"
            )));
        }
        if secret.invalid_since.is_some() {
            return Err(SaTokenError::Invalid(format!(
                "the token in secret {ns}/{secret_name} for service account {ns}/{name} has been marked \
                 invalid. Use tokens from the TokenRequest API or manually created secret-based tokens, or \
                 remove the '{LEGACY_INVALID_SINCE_LABEL}' label from the secret to temporarily allow use \
                 of this token"
            )));
        }
        Ok(())
    }

    async fn check_bound(&self, b: &Bound) -> Result<(), SaTokenError> {
        let ns = &b.namespace;
        let sa_uid =
            self.getter.service_account(ns, &b.sa.name).await.ok_or_else(|| not_found(&b.sa.name))?;
        if sa_uid != b.sa.uid {
            return Err(SaTokenError::Invalid(format!(
                "service account UID ({sa_uid}) does not match claim ({})",
                b.sa.uid
            )));
        }
        let invalidated = || SaTokenError::Invalid("service account token has been invalidated".into());
        if let Some(secret) = &b.secret {
            let found = self.getter.secret(ns, &secret.name).await.ok_or_else(invalidated)?;
            if found.uid != secret.uid {
                return Err(SaTokenError::Invalid(format!(
                    "secret UID ({}) does not match service account secret ref claim ({})",
                    found.uid, secret.uid
                )));
            }
        }
        if let Some(pod) = &b.pod {
            let uid = self.getter.pod(ns, &pod.name).await.ok_or_else(invalidated)?;
            if uid != pod.uid {
                return Err(SaTokenError::Invalid(format!(
                    "pod UID ({uid}) does not match service account pod ref claim ({})",
                    pod.uid
                )));
            }
        } else if let Some(node) = &b.node {
            let uid = self.getter.node(&node.name).await.ok_or_else(invalidated)?;
            if uid != node.uid {
                return Err(SaTokenError::Invalid(format!(
                    "node UID ({uid}) does not match service account node ref claim ({})",
                    node.uid
                )));
            }
        }
        Ok(())
    }
}

fn not_found(name: &str) -> SaTokenError {
    SaTokenError::Invalid(format!("serviceaccounts \"{name}\" not found"))
}

/// Go's `%q` of a string slice: `["a" "b"]`.
fn legacy_claims(c: RawClaims) -> Result<Verified, SaTokenError> {
    let missing = |what: &str| SaTokenError::Invalid(format!("{what} claim is missing"));
    let non_empty = |v: Option<String>, what: &str| v.filter(|s| !s.is_empty()).ok_or_else(|| missing(what));
    let sub = non_empty(c.sub, "sub")?;
    let namespace = non_empty(c.legacy_namespace, "namespace")?;
    let secret = non_empty(c.legacy_secret_name, "secretName")?;
    let name = non_empty(c.legacy_service_account_name, "serviceAccountName")?;
    let uid = non_empty(c.legacy_service_account_uid, "serviceAccountUID")?;
    if sub != username(&namespace, &name) {
        return Err(SaTokenError::Invalid("sub claim is invalid".into()));
    }
    Ok(Verified::Legacy { namespace, name, uid, secret })
}

fn bound_claims(mut c: RawClaims) -> Result<Verified, SaTokenError> {
    let audiences = c.aud.take().map(|a| a.into_vec()).unwrap_or_default();
    let kube = c.kubernetes.unwrap_or_default();
    let sa = kube.service_account.unwrap_or_default();
    if kube.namespace.is_empty() || sa.name.is_empty() {
        return Err(SaTokenError::Invalid("token has no service account claims".into()));
    }
    let time = |t: Option<f64>| t.map(|v| v as i64);
    Ok(Verified::Bound(Box::new(Bound {
        audiences,
        namespace: kube.namespace,
        sa,
        pod: kube.pod,
        secret: kube.secret,
        node: kube.node,
        jti: c.jti.filter(|j| !j.is_empty()),
        exp: time(c.exp),
        nbf: time(c.nbf),
        iat: time(c.iat),
    })))
}

/// go-jose's `ValidateWithLeeway` with the default leeway. Claims are the token's: the sums
/// saturate (an `exp` of 2^64 once overflowed here).
fn check_times(b: &Bound, now: i64) -> Result<(), SaTokenError> {
    let now_plus_leeway = now.saturating_add(LEEWAY_SECONDS);
    if b.exp.is_some_and(|exp| now >= exp.saturating_add(LEEWAY_SECONDS)) {
        return Err(SaTokenError::Invalid("service account token has expired".into()));
    }
    if b.nbf.is_some_and(|nbf| now_plus_leeway < nbf) {
        return Err(SaTokenError::Invalid("service account token is not valid yet".into()));
    }
    if b.iat.is_some_and(|iat| now_plus_leeway < iat) {
        return Err(SaTokenError::Invalid("service account token is issued in the future".into()));
    }
    Ok(())
}

fn service_account_user(ns: &str, name: &str, uid: &str) -> UserInfo {
    UserInfo {
        name: username(ns, name),
        uid: uid.to_string(),
        groups: vec![super::ALL_SERVICE_ACCOUNTS_GROUP.to_string(), super::namespace_group(ns)],
        ..Default::default()
    }
}

fn bound_user(b: &Bound) -> UserInfo {
    let mut user = service_account_user(&b.namespace, &b.sa.name, &b.sa.uid);
    if let Some(pod) = &b.pod {
        user.extra.insert(EXTRA_POD_NAME.into(), vec![pod.name.clone()]);
        user.extra.insert(EXTRA_POD_UID.into(), vec![pod.uid.clone()]);
    }
    if let Some(node) = b.node.as_ref().filter(|n| !n.name.is_empty()) {
        user.extra.insert(EXTRA_NODE_NAME.into(), vec![node.name.clone()]);
        if !node.uid.is_empty() {
            user.extra.insert(EXTRA_NODE_UID.into(), vec![node.uid.clone()]);
        }
    }
    if let Some(jti) = &b.jti {
        user.extra.insert(EXTRA_CREDENTIAL_ID.into(), vec![format!("JTI={jti}")]);
    }
    user
}

#[async_trait::async_trait]
impl Authenticator for ServiceAccountAuthenticator {
    async fn authenticate(&self, req: &AuthRequest<'_>) -> AuthOutcome {
        let Some(token) = bearer_token(req.headers) else { return AuthOutcome::NotApplicable };
        match self.authenticate_token_for(token, req.audiences).await {
            Ok((user, audiences)) => AuthOutcome::AuthenticatedFor(user, audiences),
            Err(SaTokenError::NotServiceAccountToken) => AuthOutcome::NotApplicable,
            Err(e) => AuthOutcome::Failed(e.to_string()),
        }
    }

    fn audience_aware(&self) -> bool {
        true
    }
}
