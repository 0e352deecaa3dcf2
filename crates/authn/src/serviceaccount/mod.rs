//! ServiceAccount tokens: signing ([`TokenIssuer`]) and verification
//! ([`ServiceAccountAuthenticator`]) of the JWTs kube-apiserver issues, legacy
//! (Secret-based, issuer `kubernetes/serviceaccount`) and bound (TokenRequest, with
//! audiences, expiry and an optional Pod/Secret/Node binding). Claim layout, key IDs and
//! validation messages follow `pkg/serviceaccount` of kubernetes/kubernetes.
//!
//! Keys are parsed once at start ([`keys`]); the signature check uses them directly.

pub mod authenticator;
pub mod discovery;
pub mod getter;
pub mod issuer;
pub mod jwt;
pub mod keys;

pub use authenticator::{AuthenticatorConfig, ServiceAccountAuthenticator};
pub use getter::{InMemoryGetter, SecretInfo, ServiceAccountGetter};
pub use issuer::{BoundObject, IssueError, IssuerConfig, TokenIssuer};
pub use jwt::{ObjectRef, LEGACY_ISSUER};
pub use keys::{KeyError, PrivateKey, PublicKey};

/// The prefix of ServiceAccount user names.
pub const SERVICE_ACCOUNT_USERNAME_PREFIX: &str = "system:serviceaccount:";
/// The group of all ServiceAccounts.
pub const ALL_SERVICE_ACCOUNTS_GROUP: &str = "system:serviceaccounts";

/// `system:serviceaccount:<namespace>:<name>`.
pub fn username(namespace: &str, name: &str) -> String {
    format!("{SERVICE_ACCOUNT_USERNAME_PREFIX}{namespace}:{name}")
}

/// `system:serviceaccounts:<namespace>`.
pub fn namespace_group(namespace: &str) -> String {
    format!("{ALL_SERVICE_ACCOUNTS_GROUP}:{namespace}")
}

/// Why a token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaTokenError {
    /// Not a JWT, or not of an accepted issuer: another authenticator may own it.
    #[error("not a service account token")]
    NotServiceAccountToken,
    /// A service-account token that fails validation; the text is kube's.
    #[error("{0}")]
    Invalid(String),
}

#[cfg(test)]
mod tests;
