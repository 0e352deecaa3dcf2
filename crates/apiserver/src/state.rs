//! The server's shared state: catalog, store, authenticators, authorizers, precomputed
//! discovery and OpenAPI documents, and limits.

use crate::discovery::Discovery;
use registry::Catalog;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use tokio::sync::Semaphore;

pub struct ApiState {
    pub catalog: &'static Catalog,
    /// Stored objects, by resource type, namespace and name.
    pub objects: crate::objects::Objects,
    pub authn: authn::Union,
    /// The authorizer chain (`--authorization-mode`); may wait on a webhook.
    pub authorizer: authz::AuthorizerChain,
    /// The RBAC authorizer when RBAC is in the chain: rules for SelfSubjectRulesReview.
    pub rbac: Option<Arc<authz::RbacAuthorizer>>,
    /// Signs TokenRequest and legacy Secret tokens (when a signing key is configured).
    pub token_issuer: Option<Arc<authn::serviceaccount::TokenIssuer>>,
    pub admission: admission::Chain,
    /// Polls `--authentication-config` for changes while the server lives.
    pub authentication_config_watch: Option<authn::oidc::ConfigWatch>,
    pub audit: Option<crate::audit::AuditLog>,
    pub discovery: Discovery,
    pub openapi: openapi::OpenApi,
    pub ready: AtomicBool,
    /// Non-long-running requests in flight (kube's --max-requests-inflight).
    pub inflight: Semaphore,
    pub max_request_body_bytes: usize,
    /// `--service-cluster-ip-range`.
    pub service_ips: crate::service_ip::ServiceIpRange,
    pub server_address: String,
}

pub type State = Arc<ApiState>;
