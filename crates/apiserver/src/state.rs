//! The server's shared state: catalog, store, authenticators, authorizers, precomputed
//! discovery and OpenAPI documents, and limits.

use crate::discovery::Discovery;
use arc_swap::{ArcSwap, ArcSwapOption};
use registry::Catalog;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

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
    /// ServiceAccount issuer discovery's two documents, when served (nonresource.rs).
    pub openid_metadata: Option<authn::serviceaccount::discovery::OpenIdMetadata>,
    pub admission: admission::Chain,
    /// Polls `--authentication-config` for changes while the server lives.
    pub authentication_config_watch: Option<authn::oidc::ConfigWatch>,
    /// The audit policy and backends (`None`: nothing is audited).
    pub audit: Option<crate::audit::Auditor>,
    /// Discovery and OpenAPI documents, built again whenever the served resources change
    /// (a CustomResourceDefinition established or removed). The OpenAPI documents are built
    /// when first asked for ([`openapi`]), as kube builds its v3 documents: most servers
    /// are never asked, and they take megabytes.
    pub discovery: ArcSwap<Discovery>,
    pub openapi: ArcSwapOption<openapi::OpenApi>,
    pub openapi_rebuilds: OpenApiRebuilds,
    /// The built-in resources' OpenAPI documents, built once, with the first documents.
    pub openapi_base: std::sync::OnceLock<openapi::OpenApiBase>,
    pub ready: AtomicBool,
    /// kube's post-start hooks kubeward does the job of, and which are done (health checks).
    pub hooks: crate::post_start::PostStartHooks,
    /// Requests in flight, deadlines, watches and connections (limits/).
    pub limits: crate::limits::Limits,
    /// API Priority and Fairness's classification (FlowSchemas and priority levels).
    pub flowcontrol: crate::limits::flowcontrol::FlowControl,
    /// What `/metrics` reports.
    pub metrics: crate::metrics::Metrics,
    pub max_request_body_bytes: usize,
    /// `--service-cluster-ip-range`.
    pub service_ips: crate::service_ip::ServiceIpRange,
    pub server_address: String,
    /// How kubelets are reached (a Pod's log; rest/connect.rs).
    pub kubelet: Option<Arc<crate::rest::connect::KubeletClient>>,
}

pub type State = Arc<ApiState>;

/// Rebuilds of the OpenAPI documents: the newest catalog change wins, whichever build
/// finishes last.
#[derive(Default)]
pub struct OpenApiRebuilds {
    /// Bumped on every catalog change.
    requested: AtomicU64,
    /// The change the served documents reflect.
    stored: std::sync::Mutex<u64>,
    /// Held while the first documents are built (the requests that need them wait).
    first: tokio::sync::Mutex<()>,
}

impl ApiState {
    /// The built-in resources' documents, built on first use.
    fn openapi_base(&self) -> &openapi::OpenApiBase {
        self.openapi_base.get_or_init(|| {
            openapi::OpenApiBase::new(&openapi_specs(self.catalog, false))
                .with_issuer_discovery(self.openid_metadata.is_some())
        })
    }
}

/// The OpenAPI documents of what the server serves now, built on first use (on a blocking
/// thread; concurrent first requests wait for the one build); `None` only if building them
/// failed (a panic, logged).
pub async fn openapi(state: &State) -> Option<Arc<openapi::OpenApi>> {
    if let Some(documents) = state.openapi.load_full() {
        return Some(documents);
    }
    let _first = state.openapi_rebuilds.first.lock().await;
    if let Some(documents) = state.openapi.load_full() {
        return Some(documents);
    }
    let generation = state.openapi_rebuilds.requested.load(Ordering::SeqCst);
    let s = state.clone();
    let built =
        tokio::task::spawn_blocking(move || Arc::new(openapi_documents(s.openapi_base(), s.catalog))).await;
    let documents = match built {
        Ok(documents) => documents,
        Err(e) => {
            tracing::error!(error = %e, "building the OpenAPI documents failed");
            return None;
        }
    };
    store_documents(state, generation, Arc::clone(&documents));
    // The served resources changed while they were built: build again, in the background.
    if state.openapi_rebuilds.requested.load(Ordering::SeqCst) != generation {
        rebuild_openapi(state, state.openapi_rebuilds.requested.load(Ordering::SeqCst));
    }
    Some(documents)
}

/// Serves `documents`, built for catalog change `generation`, unless newer ones are served.
fn store_documents(state: &State, generation: u64, documents: Arc<openapi::OpenApi>) {
    let mut stored = state.openapi_rebuilds.stored.lock().unwrap_or_else(|e| e.into_inner());
    if *stored < generation || state.openapi.load().is_none() {
        *stored = generation.max(*stored);
        state.openapi.store(Some(documents));
    }
}

/// Builds the discovery documents again from the catalog at once (cheap: clients find a
/// new resource through them), and the OpenAPI documents on a blocking thread (their
/// schemas take long to build; the server keeps answering meanwhile).
pub fn refresh_documents(state: &State) {
    state.discovery.store(Arc::new(Discovery::new(state.catalog, &state.server_address)));
    let generation = state.openapi_rebuilds.requested.fetch_add(1, Ordering::SeqCst) + 1;
    // Not built yet: the first use builds them from the catalog as it is then.
    if state.openapi.load().is_none() {
        return;
    }
    rebuild_openapi(state, generation);
}

/// Builds the OpenAPI documents again on a blocking thread, for catalog change `generation`.
fn rebuild_openapi(state: &State, generation: u64) {
    let state = state.clone();
    tokio::task::spawn_blocking(move || {
        // A newer change already asked for another build: leave it to that one.
        if state.openapi_rebuilds.requested.load(Ordering::SeqCst) != generation {
            return;
        }
        let documents = Arc::new(openapi_documents(state.openapi_base(), state.catalog));
        store_documents(&state, generation, documents);
    });
}

/// The specs of the catalog's resources: the built-in ones, or the custom ones.
pub fn openapi_specs(catalog: &Catalog, custom: bool) -> Vec<openapi::ResourceSpec> {
    catalog
        .all()
        .into_iter()
        .filter(|r| r.custom == custom)
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
        .collect()
}

/// The OpenAPI documents of every resource the catalog serves now.
pub fn openapi_documents(base: &openapi::OpenApiBase, catalog: &Catalog) -> openapi::OpenApi {
    openapi::OpenApi::with_custom(base, &openapi_specs(catalog, true))
}
