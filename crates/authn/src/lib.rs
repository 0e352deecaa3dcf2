//! Authentication: turning a request's credentials into a [`UserInfo`].
//!
//! Mirrors k8s.io/apiserver `pkg/authentication`: each [`Authenticator`] answers
//! authenticated / not mine / failed; [`Union`] asks them in order, first success wins,
//! and a credential that was presented but rejected makes the request fail (401).
//!
//! Request authenticators: [`x509`] (client certificates), [`request_header`] (front
//! proxy), [`basic_auth`] (legacy passwords), [`anonymous`]. Bearer-token authenticators
//! ([`bearer_token`] reads the header): [`token_file`], [`serviceaccount`],
//! [`bootstrap_token`], [`webhook`], [`oidc`]. Tokens are only ever held or cached as SHA-256 keys
//! ([`cache`]), compared in constant time, and never logged.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod anonymous;
pub mod basic_auth;
pub mod bearer;
pub mod bootstrap_token;
pub mod cache;
mod csv;
pub mod impersonation;
pub mod oidc;
mod reload;
pub mod request_header;
pub mod secret;
pub mod serviceaccount;
pub mod token_file;
pub mod union;
pub mod webhook;
pub mod x509;
mod x509_legacy;
pub mod x509_revocation;

use apimachinery::UserInfo;
pub use bearer::bearer_token;
pub use csv::CsvError;
pub use reload::CredentialFileError;
pub use union::Union;

/// What an authenticator sees of a request.
pub struct AuthRequest<'a> {
    pub headers: &'a http::HeaderMap,
    /// The TLS client certificate chain as presented (leaf first), not yet verified.
    pub peer_certificates: Option<&'a [rustls::pki_types::CertificateDer<'static>]>,
    pub path: &'a str,
    /// The audiences the credential must be good for (kube's `authenticator.WithAudiences`,
    /// set by TokenReview); `None`: this API server's own audiences.
    pub audiences: Option<&'a [String]>,
}

impl<'a> AuthRequest<'a> {
    /// A request for this API server (its own audiences).
    pub fn new(
        headers: &'a http::HeaderMap,
        peer_certificates: Option<&'a [rustls::pki_types::CertificateDer<'static>]>,
        path: &'a str,
    ) -> Self {
        Self { headers, peer_certificates, path, audiences: None }
    }
}

/// kube's `Audiences.Intersect`: the members of `targets` that `audiences` has, in the order
/// of `targets`.
pub fn intersect_audiences(audiences: &[String], targets: &[String]) -> Vec<String> {
    targets.iter().filter(|t| audiences.contains(t)).cloned().collect()
}

/// Proof that a request's identity was established: a verified credential, anonymous
/// access where it is allowed, or an impersonation every attribute of which was
/// authorized. Only this crate builds one (as rustls's `ClientCertVerified`), so a
/// handler that needs it cannot run before authentication did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    user: UserInfo,
    /// The authenticated user when the request acts as someone else.
    impersonator: Option<UserInfo>,
    /// The audiences the credential was accepted for (kube's `authenticator.Response.Audiences`).
    audiences: Vec<String>,
}

impl Authenticated {
    pub(crate) fn new(user: UserInfo) -> Self {
        Self { user, impersonator: None, audiences: Vec::new() }
    }

    /// The audiences the credential was accepted for: those requested (or this server's own)
    /// that the credential is good for. Empty for credentials without audiences (anonymous,
    /// and every credential when no API audiences are configured).
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }

    /// The identity the request acts as.
    pub fn user(&self) -> &UserInfo {
        &self.user
    }

    /// The authenticated user behind an impersonation, if any.
    pub fn impersonator(&self) -> Option<&UserInfo> {
        self.impersonator.as_ref()
    }
}

/// Why a request has no identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unauthenticated {
    /// No credential was presented and anonymous access does not apply.
    NoCredential,
    /// A credential was presented and refused; the reason goes to the log only.
    Failed(String),
}

/// The answer of one authenticator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    /// The request proves this identity.
    Authenticated(UserInfo),
    /// The request proves this identity for these audiences: the answer of an audience-aware
    /// authenticator ([`Authenticator::audience_aware`]).
    AuthenticatedFor(UserInfo, Vec<String>),
    /// No credential of this authenticator's kind is present.
    NotApplicable,
    /// A credential of this kind is present but invalid; the reason goes to the log only.
    Failed(String),
}

#[async_trait::async_trait]
pub trait Authenticator: Send + Sync {
    async fn authenticate(&self, req: &AuthRequest<'_>) -> AuthOutcome;

    /// Whether this authenticator checks a credential's audiences against
    /// [`AuthRequest::audiences`] itself and answers [`AuthOutcome::AuthenticatedFor`] (kube's
    /// service-account and webhook token authenticators). The others are audience-agnostic:
    /// the union lets them answer only for this server's own audiences, as kube's
    /// `authenticator.WrapAudienceAgnosticToken` does.
    fn audience_aware(&self) -> bool {
        false
    }
}

/// Errors building authenticators from their configuration.
#[derive(Debug, thiserror::Error)]
pub enum AuthnConfigError {
    /// The client CA file could not be read.
    #[error("client CA file {path}: {source}")]
    ClientCa { path: String, source: std::io::Error },
    /// The client CA file holds no usable certificate.
    #[error("client CA file {0}: no CA certificate could be loaded")]
    NoCaCertificate(String),
    /// The client CA certificates could not be made into a verifier.
    #[error("client CA file {path}: {source}")]
    ClientCaVerifier { path: String, source: rustls::server::VerifierBuilderError },
}
