//! The server's shared state: catalog, store, authenticators, authorizers, precomputed
//! discovery and OpenAPI documents, and limits.

use crate::discovery::Discovery;
use arc_swap::ArcSwap;
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
    /// Discovery and OpenAPI documents, built again whenever the served resources change
    /// (a CustomResourceDefinition established or removed).
    pub discovery: ArcSwap<Discovery>,
    pub openapi: ArcSwap<openapi::OpenApi>,
    pub ready: AtomicBool,
    /// Non-long-running requests in flight (kube's --max-requests-inflight).
    pub inflight: Semaphore,
    pub max_request_body_bytes: usize,
    /// `--service-cluster-ip-range`.
    pub service_ips: crate::service_ip::ServiceIpRange,
    pub server_address: String,
}

pub type State = Arc<ApiState>;

impl ApiState {
    /// Builds the discovery documents again from the catalog (cheap).
    pub fn refresh_discovery(&self) {
        self.discovery.store(Arc::new(Discovery::new(self.catalog, &self.server_address)));
    }

    /// Builds the OpenAPI documents again from the catalog: every served schema, v3 and v2,
    /// which takes a while.
    pub fn refresh_openapi(&self) {
        self.openapi.store(Arc::new(openapi_documents(self.catalog)));
    }
}

/// The OpenAPI documents of every resource the catalog serves now.
pub fn openapi_documents(catalog: &Catalog) -> openapi::OpenApi {
    let specs: Vec<openapi::ResourceSpec> = catalog
        .all()
        .into_iter()
        .map(|r| openapi::ResourceSpec {
            group: r.group.into(),
            version: r.version.into(),
            kind: r.kind.into(),
            plural: r.plural.into(),
            namespaced: r.namespaced,
            verbs: r.verbs.iter().map(|v| v.to_string()).collect(),
            subresources: r.subresources.iter().map(|s| s.name.to_string()).collect(),
            custom: catalog.custom().version(r).map(|v| openapi::CustomSchemas {
                v3: v.structural.openapi_v3(),
                v2: v.structural.openapi_v2(),
            }),
        })
        .collect();
    openapi::OpenApi::new(&specs)
}
