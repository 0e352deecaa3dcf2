//! The server's shared state: catalog, store, authenticators, authorizers, precomputed
//! discovery and OpenAPI documents, and limits.

use crate::discovery::Discovery;
use arc_swap::ArcSwap;
use registry::Catalog;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
    /// (a CustomResourceDefinition established or removed): discovery at once, OpenAPI
    /// when next asked for (see [`OpenApiDocs`]).
    pub discovery: ArcSwap<Discovery>,
    pub openapi: OpenApiDocs,
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

    /// The OpenAPI documents of the catalog as it is now (built again first when the served
    /// resources changed since they were last built).
    pub async fn openapi(&self) -> Arc<openapi::OpenApi> {
        self.openapi.current(self.catalog).await
    }
}

/// The OpenAPI documents, built again lazily, as kube's OpenAPI v3 handler rebuilds a group
/// version's document on the first request after a change: building every served schema in
/// v3 and v2 takes a while, and the writer that changed the catalog (the CRD controller,
/// about to write a CRD's conditions) does not wait for it.
pub struct OpenApiDocs {
    docs: ArcSwap<openapi::OpenApi>,
    /// Bumped by every change of the served resources.
    wanted: AtomicU64,
    /// The `wanted` value `docs` were built for.
    built: AtomicU64,
    /// One build at a time; readers that find the documents stale wait for it.
    building: tokio::sync::Mutex<()>,
}

impl OpenApiDocs {
    /// The documents of `catalog` as it is at start.
    pub fn new(catalog: &Catalog) -> Self {
        Self {
            docs: ArcSwap::from_pointee(openapi_documents(catalog)),
            wanted: AtomicU64::new(0),
            built: AtomicU64::new(0),
            building: tokio::sync::Mutex::new(()),
        }
    }

    /// Notes that the served resources changed: the next read builds the documents again.
    pub fn invalidate(&self) {
        self.wanted.fetch_add(1, Ordering::SeqCst);
    }

    /// The current documents, built again first when they are stale (a reader that comes
    /// during a build waits for it, so nobody is answered from before a change it saw).
    pub async fn current(&self, catalog: &'static Catalog) -> Arc<openapi::OpenApi> {
        if self.built.load(Ordering::SeqCst) >= self.wanted.load(Ordering::SeqCst) {
            return self.docs.load_full();
        }
        let _one_build = self.building.lock().await;
        loop {
            let wanted = self.wanted.load(Ordering::SeqCst);
            if self.built.load(Ordering::SeqCst) >= wanted {
                break;
            }
            // CPU-bound: off the async workers.
            match tokio::task::spawn_blocking(move || openapi_documents(catalog)).await {
                Ok(docs) => self.docs.store(Arc::new(docs)),
                Err(e) => {
                    tracing::error!(error = %e, "building the OpenAPI documents failed");
                    break;
                }
            }
            self.built.store(wanted, Ordering::SeqCst);
        }
        self.docs.load_full()
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
