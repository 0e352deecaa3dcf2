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
use std::sync::{Arc, Mutex};

/// What the server knows of the connection a request came on.
pub struct ConnInfo {
    pub remote: SocketAddr,
    /// The client certificate chain as presented (leaf first), verified per request.
    pub peer_certificates: Option<Vec<CertificateDer<'static>>>,
}

/// What handlers add to a request's answer and audit event beside the response itself:
/// `Warning` headers (admission's), and audit annotations (admission policies').
#[derive(Debug, Default)]
pub struct RequestNotes {
    warnings: Mutex<Vec<String>>,
    annotations: Mutex<Vec<(String, String)>>,
    /// The repeated keys of a JSON body (kube's strict decoding reports them beside the
    /// unknown fields), found when the body is read.
    duplicate_fields: Mutex<Vec<String>>,
}

impl RequestNotes {
    /// Adds warnings not already there.
    pub fn warn(&self, warnings: impl IntoIterator<Item = String>) {
        let mut w = self.warnings.lock().unwrap_or_else(|e| e.into_inner());
        for text in warnings {
            if !w.contains(&text) {
                w.push(text);
            }
        }
    }

    /// Adds audit annotations; a key already set keeps its first value (kube's).
    pub fn annotate(&self, annotations: impl IntoIterator<Item = (String, String)>) {
        let mut a = self.annotations.lock().unwrap_or_else(|e| e.into_inner());
        for (k, v) in annotations {
            if !a.iter().any(|(key, _)| *key == k) {
                a.push((k, v));
            }
        }
    }

    pub fn warnings(&self) -> Vec<String> {
        self.warnings.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn annotations(&self) -> Vec<(String, String)> {
        self.annotations.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Records the body's repeated keys.
    pub fn set_duplicate_fields(&self, fields: Vec<String>) {
        *self.duplicate_fields.lock().unwrap_or_else(|e| e.into_inner()) = fields;
    }

    /// The body's repeated keys (paths, in document order).
    pub fn duplicate_fields(&self) -> Vec<String> {
        self.duplicate_fields.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Everything a handler needs about the request being served; see the module docs.
pub struct RequestContext {
    pub state: State,
    /// Shared with the request's audit record (no copy per request).
    pub info: Arc<RequestInfo>,
    pub output: Output,
    /// The request's `User-Agent` (the default field manager of writes is its prefix).
    pub user_agent: String,
    /// Where the handlers hand the request object to the audit record (`None` when the
    /// request is not audited or has no body).
    pub audit: Option<Arc<crate::audit::Capture>>,
    /// Warnings and audit annotations for the answer and the audit event.
    pub notes: Arc<RequestNotes>,
    authorized: authz::Authorized,
}

/// The short name handlers use.
pub type Ctx = RequestContext;

impl RequestContext {
    pub fn new(state: State, info: Arc<RequestInfo>, output: Output, authorized: authz::Authorized) -> Self {
        Self {
            state,
            info,
            output,
            user_agent: String::new(),
            audit: None,
            notes: Arc::default(),
            authorized,
        }
    }

    /// The request's audit capture.
    pub fn with_audit(mut self, audit: Option<Arc<crate::audit::Capture>>) -> Self {
        self.audit = audit;
        self
    }

    /// Shares `notes` with the audit record.
    pub fn with_notes(mut self, notes: Arc<RequestNotes>) -> Self {
        self.notes = notes;
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
