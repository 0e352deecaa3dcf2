//! kubeward's API server: TLS -> authentication -> authorization -> REST handlers ->
//! storage, answering as kube-apiserver does. [`start`] builds it from a [`Config`].

// In request order: the listener, the filter chain, the context it builds, the handlers,
// the object layer under them; then what runs beside requests.
pub mod admit;
pub mod audit;
pub mod audit_flow;
pub mod authn_setup;
pub mod bootstrap;
pub mod cert_files;
pub mod config;
pub mod context;
pub mod controllers;
pub mod discovery;
pub mod filters;
pub mod getters;
pub mod health;
pub mod informer;
pub mod limits;
pub mod metrics;
pub mod negotiate;
pub mod nonresource;
pub mod objects;
pub mod partial;
pub mod post_start;
pub mod response;
pub mod rest;
pub mod reviews;
pub mod server;
pub mod service_ip;
pub mod state;

use post_start::Hook;
use state::ApiState;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use storage::Store;

pub use config::{Config, StartError, DEFAULT_MAX_REQUEST_BODY_BYTES, DEFAULT_SERVICE_ACCOUNT_ISSUER};
pub use rest::connect::KubeletConfig;

/// The admission plugins a pair of `--enable-admission-plugins` /
/// `--disable-admission-plugins` values run, in kube's order (for `kubeward check cis`).
pub fn admission_plugin_names(enable: &[String], disable: &[String]) -> Result<Vec<&'static str>, String> {
    admission::enabled_plugin_names(enable, disable).map_err(|e| e.to_string())
}

/// A started server: its address and state; it runs until the process ends.
pub struct Running {
    pub addr: SocketAddr,
    pub state: state::State,
    /// The controllers' leader election: released at shutdown so another server takes over.
    pub election: controllers::leader_election::Election,
}

pub async fn start(config: Config, store: Arc<dyn Store>) -> Result<Running, StartError> {
    let objects = objects::Objects::new(store);
    let service_ips = service_ip::ServiceIpRange::parse(&config.service_cluster_ip_range)
        .map_err(StartError::ServiceIpRange)?;
    let authn_setup::Authentication {
        authenticators,
        api_audiences,
        client_verifier,
        issuer,
        service_account_keys,
        revocations,
        cert_revocations,
        config_watch,
        anonymous,
    } = authn_setup::build(&config, &objects)?;
    let admission =
        admission::Chain::from_flags(&config.enable_admission_plugins, &config.disable_admission_plugins)
            .map_err(|e| StartError::Admission(e.to_string()))?;
    if !admission.not_implemented().is_empty() {
        // Said at start rather than left unsaid: these act only on what kubeward does not
        // serve, or behind feature gates kube leaves off, so they admit everything here.
        tracing::info!(
            plugins = %admission.not_implemented().join(","),
            "enabled admission plugins with nothing to act on in kubeward admit every request"
        );
    }

    let mode_config = authz::ModeConfig {
        policy_file: config.authorization_policy_file.clone(),
        webhook_config_file: config.authorization_webhook_config_file.clone(),
        webhook: Default::default(),
    };
    let authz::Authorization { chain: authorizer, rbac, node, .. } = authorization(&config, &mode_config)?;

    let serving = cert_files::ServingCert::load(&config.tls_cert_file, &config.tls_private_key_file)?;
    // kube-apiserver's dynamic serving certificate: a renewed pair serves the next handshake.
    cert_files::ServingCert::watch(&serving, cert_files::SERVING_POLL);
    let tls = server::tls_config_with(serving, client_verifier)?;
    let mut expiring = vec![("serving certificate", std::path::PathBuf::from(&config.tls_cert_file))];
    expiring.extend(config.client_ca_file.iter().map(|f| ("client CA", f.into())));
    expiring.extend(config.requestheader_client_ca_file.iter().map(|f| ("front-proxy CA", f.into())));
    expiring.extend(config.cluster_signing.iter().map(|s| ("cluster signing CA", s.ca_cert_file.clone())));
    cert_files::watch_expiry(expiring);
    let addr = SocketAddr::new(config.bind_address, config.secure_port);
    let listener =
        tokio::net::TcpListener::bind(addr).await.map_err(|source| StartError::Bind { addr, source })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind { addr, source })?;
    let catalog = registry::Catalog::global();
    let server_address = addr.to_string();
    let advertise = advertise_address(&config);
    let openid_metadata = service_account_keys.and_then(|(issuer, keys)| {
        let external = SocketAddr::new(advertise, addr.port()).to_string();
        let jwks_uri = config.service_account_jwks_uri.as_deref();
        match authn::serviceaccount::discovery::OpenIdMetadata::new(&issuer, jwks_uri, &external, &keys) {
            Ok(md) => Some(md),
            Err(error) => {
                // kube leaves the endpoints off and starts: the issuer may be a plain name.
                let explicit = !config.service_account_issuers.is_empty();
                let msg = "ServiceAccount issuer discovery endpoints not served";
                if explicit {
                    tracing::error!(%error, "{msg}");
                } else {
                    tracing::info!(%error, "{msg}");
                }
                None
            }
        }
    });
    let kubelet = rest::connect::KubeletClient::new(&config.kubelet, config.client_ca_file.as_deref())
        .map_err(StartError::Kubelet)?;
    let metrics = metrics::Metrics::default();
    let admission = admission.with_observer(metrics.admission_observer());
    let state = Arc::new(ApiState {
        catalog,
        objects,
        authn: authn::Union::new(authenticators, Some(anonymous)).with_api_audiences(api_audiences),
        authorizer,
        rbac: rbac.clone(),
        token_issuer: issuer.clone(),
        openid_metadata,
        authentication_config_watch: config_watch,
        audit: audit::Auditor::start(&config.audit).map_err(StartError::Audit)?,
        admission,
        discovery: arc_swap::ArcSwap::from_pointee(discovery::Discovery::new(catalog, &server_address)),
        openapi: arc_swap::ArcSwapOption::empty(),
        openapi_rebuilds: Default::default(),
        openapi_base: Default::default(),
        ready: AtomicBool::new(false),
        hooks: Default::default(),
        limits: limits::Limits::new(config.limits.clone()),
        flowcontrol: Default::default(),
        metrics,
        max_request_body_bytes: config.max_request_body_bytes,
        service_ips,
        server_address,
        kubelet: Some(Arc::new(kubelet)),
    });

    bootstrap::ensure(
        &state,
        config.bootstrap_admin_user.as_deref(),
        config.bootstrap_kubelet_client_user.as_deref(),
    )
    .await
    .map_err(StartError::Bootstrap)?;
    state.hooks.finish(Hook::RbacBootstrapRoles);
    state.hooks.finish(Hook::SystemPriorityClasses);
    controllers::system_namespaces::start(&state, config.system_namespaces_interval)
        .await
        .map_err(StartError::Bootstrap)?;
    state.hooks.finish(Hook::SystemNamespaces);
    if let Some(r) = rbac {
        controllers::rbac::start(&state, r).await.map_err(StartError::Bootstrap)?;
    }
    if let Some(n) = node {
        controllers::node_graph::start(&state, n).await;
    }
    controllers::crd::start(&state, config.crd_resync).await.map_err(StartError::Bootstrap)?;
    // The CRD informer listed (and watching), the controller running, the stored CRDs served.
    state.hooks.finish(Hook::ApiextensionsInformers);
    state.hooks.finish(Hook::ApiextensionsControllers);
    state.hooks.finish(Hook::CrdInformerSynced);
    controllers::admission_policies::start(&state).await.map_err(StartError::Bootstrap)?;
    controllers::mutating_policies::start(&state).await.map_err(StartError::Bootstrap)?;
    controllers::webhook_configurations::start(&state).await.map_err(StartError::Bootstrap)?;
    state.hooks.finish(Hook::AdmissionInitializer);
    controllers::cluster_authentication::start(&state, authn_setup::cluster_trust(&config))
        .await
        .map_err(StartError::Bootstrap)?;
    state.hooks.finish(Hook::ClusterAuthenticationInfo);
    controllers::apiservices::start(&state).await.map_err(StartError::Bootstrap)?;
    state.hooks.finish(Hook::AggregatorInformers);
    state.hooks.finish(Hook::LocalAvailable);
    state.hooks.finish(Hook::Autoregistration);
    let root_ca = match &config.root_ca_file {
        Some(path) => {
            Some(std::fs::read_to_string(path).map_err(|e| StartError::Bootstrap(format!("{path}: {e}")))?)
        }
        None => None,
    };
    controllers::compaction::start(state.clone());
    controllers::flowcontrol::start(&state).await;
    state.hooks.finish(Hook::PriorityAndFairnessConfigConsumer);
    controllers::kubernetes_service::start(
        &state,
        &config.node_name,
        advertise,
        addr.port(),
        config.identity_lease,
    )
    .await
    .map_err(StartError::Bootstrap)?;
    // The Service and endpoints, this server's identity Lease and the collector of expired ones.
    state.hooks.finish(Hook::BootstrapController);
    state.hooks.finish(Hook::IdentityLease);
    state.hooks.finish(Hook::IdentityLeaseGc);
    if let Some(table) = revocations {
        controllers::revocations::start(&state, table).await.map_err(StartError::Bootstrap)?;
    }
    if let Some(table) = &cert_revocations {
        controllers::cert_revocations::start(&state, table.clone()).await.map_err(StartError::Bootstrap)?;
    }
    let election = controller_manager(&state, &config, issuer, root_ca, cert_revocations).await?;
    // Their controllers run under the election this server has joined (post_start.rs).
    state.hooks.finish(Hook::ServiceIpRepair);
    state.hooks.finish(Hook::ServiceCidr);
    // Every informer of the server's own is started by now.
    state.hooks.finish(Hook::StartInformers);

    metrics::start_storage_counter(&state);
    state.hooks.finish(Hook::StorageObjectCountTracker);
    state.ready.store(true, Ordering::Release);
    tokio::spawn(server::serve(listener, Arc::new(tls), state.clone()));
    tracing::info!(%addr, "kubeward API server listening");
    Ok(Running { addr, state, election })
}

/// kube-controller-manager's controllers, once per cluster: started under the leader
/// Lease `kube-system/kube-controller-manager` (see controllers/leader_election.rs).
async fn controller_manager(
    state: &state::State,
    config: &Config,
    issuer: Option<Arc<authn::serviceaccount::TokenIssuer>>,
    root_ca: Option<String>,
    cert_revocations: Option<Arc<authn::x509_revocation::CertRevocations>>,
) -> Result<controllers::leader_election::Election, StartError> {
    let leases = state
        .catalog
        .lookup("coordination.k8s.io", "v1", "leases")
        .ok_or_else(|| StartError::Bootstrap("the catalog serves no Leases".into()))?;
    config.leader_election.validate().map_err(StartError::Bootstrap)?;
    let group_state = state.clone();
    let signing = config.cluster_signing.clone();
    let start: controllers::leader_election::StartGroup = Box::new(move || {
        let state = group_state.clone();
        let (issuer, root_ca, signing, cert_revocations) =
            (issuer.clone(), root_ca.clone(), signing.clone(), cert_revocations.clone());
        Box::pin(async move {
            let failed = |what: &str, e: String| tracing::error!(controller = what, error = %e, "controller not started");
            if let Err(e) = controllers::namespace::start(&state).await {
                failed("namespace", e);
            }
            if let Some(issuer) = issuer {
                if let Err(e) = controllers::tokens::start(&state, issuer, root_ca.clone()).await {
                    failed("tokens", e);
                }
            }
            if let Err(e) = controllers::serviceaccounts::start(&state, root_ca).await {
                failed("serviceaccounts", e);
            }
            if let Err(e) = controllers::token_cleaner::start(&state).await {
                failed("token-cleaner", e);
            }
            controllers::volume_protection::start(&state).await;
            controllers::service_cidr::start(&state).await;
            controllers::disruption::start(&state).await;
            controllers::resource_quota::start(&state).await;
            controllers::garbage_collector::start(&state).await;
            if let Err(e) =
                controllers::csr_cleaner::start(&state, controllers::csr_cleaner::system_clock()).await
            {
                failed("csr-cleaner", e);
            }
            if let Some(signing) = signing {
                if let Err(e) = controllers::csr_signing::start(&state, signing, cert_revocations).await {
                    failed("csr-signing", e);
                }
            }
        })
    });
    Ok(controllers::leader_election::run(
        state.objects.clone(),
        leases,
        controllers::leader_election::CONTROLLER_MANAGER,
        config.leader_election.clone(),
        start,
    )
    .await)
}

/// The authorizer chain: `--authorization-config` (watched for changes from now on), else
/// `--authorization-mode` (`Node,RBAC` when not given). Both at once is kube's error.
fn authorization(
    config: &Config,
    mode_config: &authz::ModeConfig,
) -> Result<authz::Authorization, StartError> {
    let Some(path) = &config.authorization_config else {
        let modes = config.authorization_modes.clone().unwrap_or_else(authz::modes::default_modes);
        return authz::build_chain(&modes, mode_config)
            .map_err(|e| StartError::AuthorizationMode(e.to_string()));
    };
    if config.authorization_modes.is_some() || config.authorization_webhook_config_file.is_some() {
        return Err(StartError::AuthorizationMode(
            "--authorization-config can not be specified when --authorization-mode or --authorization-webhook-* flags are defined".into(),
        ));
    }
    let (authorization, configured) =
        authz::config::reload::from_file(path, config.authorization_policy_file.as_deref())
            .map_err(|e| StartError::AuthorizationMode(e.to_string()))?;
    configured
        .watch(authz::config::reload::RELOAD_INTERVAL)
        .map_err(|e| StartError::AuthorizationMode(e.to_string()))?;
    Ok(authorization)
}

/// `--advertise-address`, else the bind address; 127.0.0.1 when that is unspecified.
fn advertise_address(config: &Config) -> std::net::IpAddr {
    match config.advertise_address.unwrap_or(config.bind_address) {
        a if a.is_unspecified() => {
            tracing::warn!("no --advertise-address: the kubernetes Service's endpoints name 127.0.0.1");
            std::net::IpAddr::from([127, 0, 0, 1])
        }
        a => a,
    }
}
