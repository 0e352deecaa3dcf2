//! What a handler knows of its request, as kube's request context (`request.Context` with
//! its RequestInfo and User): the connection it came on, the RequestInfo, the negotiated
//! output and the identity it was authorized as. A [`RequestContext`] is built only from
//! an [`authz::Authorized`] proof (which only authz builds, from the proof of
//! authentication only authn builds), so no REST or non-resource handler can run before
//! the filter chain has authenticated and authorized the request.

use crate::negotiate::Output;
use crate::state::State;
use apimachinery::{RequestInfo, UserInfo};
use rustls::pki_types::CertificateDer;
use std::net::SocketAddr;

/// What the server knows of the connection a request came on.
pub struct ConnInfo {
    pub remote: SocketAddr,
    /// The client certificate chain as presented (leaf first), verified per request.
    pub peer_certificates: Option<Vec<CertificateDer<'static>>>,
}

/// Everything a handler needs about the request being served; see the module docs.
pub struct RequestContext {
    pub state: State,
    pub info: RequestInfo,
    pub output: Output,
    /// The request's `User-Agent` (the default field manager of writes is its prefix).
    pub user_agent: String,
    /// Where the handlers hand the request object to the audit record (`None` when the
    /// request is not audited or has no body).
    pub audit: Option<std::sync::Arc<crate::audit::Capture>>,
    authorized: authz::Authorized,
}

/// The short name handlers use.
pub type Ctx = RequestContext;

impl RequestContext {
    pub fn new(state: State, info: RequestInfo, output: Output, authorized: authz::Authorized) -> Self {
        Self { state, info, output, user_agent: String::new(), audit: None, authorized }
    }

    /// The request's audit capture.
    pub fn with_audit(mut self, audit: Option<std::sync::Arc<crate::audit::Capture>>) -> Self {
        self.audit = audit;
        self
    }

    /// The request's `User-Agent`, as sent.
    pub fn with_user_agent(mut self, user_agent: &str) -> Self {
        self.user_agent = user_agent.to_string();
        self
    }

    /// The identity the request acts as (after impersonation).
    pub fn user(&self) -> &UserInfo {
        self.authorized.user()
    }

    /// What the authorizer chain allowed, and why.
    pub fn authorized(&self) -> &authz::Authorized {
        &self.authorized
    }
}
