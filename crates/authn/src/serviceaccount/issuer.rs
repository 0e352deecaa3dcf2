//! Issuing service-account tokens: bound tokens for the TokenRequest API and legacy
//! Secret-based tokens, with kube's lifetime rules.

use super::jwt::{self, BoundClaims, KubernetesClaims, LegacyClaims, ObjectRef, SignError, LEGACY_ISSUER};
use super::keys::PrivateKey;
use super::username;

/// Shortest lifetime a TokenRequest may ask for (10 minutes).
pub const MIN_EXPIRATION_SECONDS: i64 = 600;
/// Lifetime when a TokenRequest names none.
pub const DEFAULT_EXPIRATION_SECONDS: i64 = 3600;
/// Longest lifetime a TokenRequest may ask for (2^32 seconds).
pub const MAX_EXPIRATION_SECONDS: i64 = 1 << 32;
/// The lifetime kubelet asks for on projected tokens; such tokens may be extended.
pub const WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS: i64 = 60 * 60 + 7;
/// The extended lifetime (one year) given with `--service-account-extend-token-expiration`.
pub const EXPIRATION_EXTENSION_SECONDS: i64 = 24 * 365 * 60 * 60;

/// The object a bound token is tied to: the token dies with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoundObject {
    /// A Pod, and the Node it runs on when known.
    Pod {
        name: String,
        uid: String,
        node: Option<ObjectRef>,
    },
    Secret {
        name: String,
        uid: String,
    },
    Node {
        name: String,
        uid: String,
    },
}

/// Errors of a TokenRequest, with kube's validation texts.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// `spec.expirationSeconds` under 10 minutes.
    #[error("spec.expirationSeconds: Invalid value: {0}: may not specify a duration less than 10 minutes")]
    TooShort(i64),
    /// `spec.expirationSeconds` over 2^32.
    #[error(
        "spec.expirationSeconds: Invalid value: {0}: may not specify a duration larger than 2^32 seconds"
    )]
    TooLong(i64),
    /// Signing failed.
    #[error(transparent)]
    Sign(#[from] SignError),
}

/// Settings of the token issuer (kube-apiserver flags).
#[derive(Debug, Clone, Default)]
pub struct IssuerConfig {
    /// The first `--service-account-issuer`: the `iss` of bound tokens.
    pub issuer: String,
    /// `--api-audiences`: the audiences of a TokenRequest that names none (default: the issuer).
    pub api_audiences: Vec<String>,
    /// `--service-account-max-token-expiration` in seconds (`None`: no cap).
    pub max_expiration_seconds: Option<i64>,
    /// `--service-account-extend-token-expiration`.
    pub extend_expiration: bool,
}

/// Signs service-account tokens with the `--service-account-signing-key-file` key.
pub struct TokenIssuer {
    key: PrivateKey,
    config: IssuerConfig,
}

impl TokenIssuer {
    pub fn new(key: PrivateKey, mut config: IssuerConfig) -> Self {
        if config.api_audiences.is_empty() {
            config.api_audiences = vec![config.issuer.clone()];
        }
        Self { key, config }
    }

    pub fn key(&self) -> &PrivateKey {
        &self.key
    }

    /// A bound token for ServiceAccount `namespace/name` (TokenRequest). Returns the token
    /// and its `exp` (Unix seconds, for `status.expirationTimestamp`).
    pub fn issue_bound(
        &self,
        namespace: &str,
        sa_name: &str,
        sa_uid: &str,
        audiences: &[String],
        expiration_seconds: Option<i64>,
        bound: Option<BoundObject>,
    ) -> Result<(String, i64), IssueError> {
        self.issue_bound_at(
            chrono::Utc::now().timestamp(),
            namespace,
            sa_name,
            sa_uid,
            audiences,
            expiration_seconds,
            bound,
        )
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn issue_bound_at(
        &self,
        now: i64,
        namespace: &str,
        sa_name: &str,
        sa_uid: &str,
        audiences: &[String],
        expiration_seconds: Option<i64>,
        bound: Option<BoundObject>,
    ) -> Result<(String, i64), IssueError> {
        let requested = expiration_seconds.unwrap_or(DEFAULT_EXPIRATION_SECONDS);
        if requested < MIN_EXPIRATION_SECONDS {
            return Err(IssueError::TooShort(requested));
        }
        if requested > MAX_EXPIRATION_SECONDS {
            return Err(IssueError::TooLong(requested));
        }
        let audiences = if audiences.is_empty() { &self.config.api_audiences[..] } else { audiences };
        let mut lifetime = match self.config.max_expiration_seconds {
            Some(max) if max > 0 && requested > max => max,
            _ => requested,
        };
        let mut warn_after = None;
        let pod_bound = matches!(bound, Some(BoundObject::Pod { .. }));
        if self.config.extend_expiration
            && pod_bound
            && lifetime == WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS
            && audiences.iter().all(|a| self.config.api_audiences.contains(a))
        {
            warn_after = Some(now + lifetime);
            lifetime = EXPIRATION_EXTENSION_SECONDS.max(self.config.max_expiration_seconds.unwrap_or(0));
        }
        let exp = now + lifetime;
        let mut kube = KubernetesClaims {
            namespace: namespace.to_string(),
            service_account: Some(ObjectRef { name: sa_name.to_string(), uid: sa_uid.to_string() }),
            warn_after,
            ..Default::default()
        };
        match bound {
            Some(BoundObject::Pod { name, uid, node }) => {
                kube.pod = Some(ObjectRef { name, uid });
                kube.node = node;
            }
            Some(BoundObject::Secret { name, uid }) => kube.secret = Some(ObjectRef { name, uid }),
            Some(BoundObject::Node { name, uid }) => kube.node = Some(ObjectRef { name, uid }),
            None => {}
        }
        let claims = BoundClaims {
            aud: audiences,
            exp,
            iat: now,
            iss: &self.config.issuer,
            jti: uuid::Uuid::new_v4().to_string(),
            kubernetes: kube,
            nbf: now,
            sub: username(namespace, sa_name),
        };
        Ok((jwt::encode(&self.key, &claims)?, exp))
    }

    /// A legacy token for the token Secret `namespace/secret_name` of ServiceAccount
    /// `namespace/sa_name`. It never expires; it dies with the Secret.
    pub fn issue_legacy(
        &self,
        namespace: &str,
        sa_name: &str,
        sa_uid: &str,
        secret_name: &str,
    ) -> Result<String, IssueError> {
        let claims = LegacyClaims {
            iss: LEGACY_ISSUER,
            namespace,
            secret_name,
            service_account_name: sa_name,
            service_account_uid: sa_uid,
            sub: username(namespace, sa_name),
        };
        Ok(jwt::encode(&self.key, &claims)?)
    }
}
