//! kube-apiserver's flags, with their names and meanings, shared by `up` and `server`.

use clap::Args;
use std::net::IpAddr;
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct ApiServerFlags {
    /// etcd v3 endpoints (`https://host:2379,...`): store objects there instead of the
    /// embedded store, so several servers can share one cluster.
    #[arg(long, value_delimiter = ',')]
    pub etcd_servers: Vec<String>,
    /// Key prefix in etcd (kubeward's keys already start with `/registry`).
    #[arg(long, default_value = "")]
    pub etcd_prefix: String,
    /// CA, client certificate and key for TLS to etcd.
    #[arg(long)]
    pub etcd_cafile: Option<PathBuf>,
    #[arg(long)]
    pub etcd_certfile: Option<PathBuf>,
    #[arg(long)]
    pub etcd_keyfile: Option<PathBuf>,
    /// The port to serve HTTPS on (0 picks a free port).
    #[arg(long, default_value_t = 6443)]
    pub secure_port: u16,
    /// The address to listen on; loopback unless told otherwise.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind_address: IpAddr,
    /// The address the `kubernetes` Service's endpoints name (default: --bind-address).
    #[arg(long)]
    pub advertise_address: Option<IpAddr>,
    /// The IPv4 range Services take their ClusterIP from; its first address is the
    /// `kubernetes` Service's.
    #[arg(long, default_value = apiserver::service_ip::DEFAULT_SERVICE_CLUSTER_IP_RANGE)]
    pub service_cluster_ip_range: String,
    /// CA bundle that client certificates must chain to (x509 authentication).
    #[arg(long)]
    pub client_ca_file: Option<String>,
    /// Static bearer tokens: CSV `token,user,uid,"group1,group2"`, reloaded on change.
    #[arg(long)]
    pub token_auth_file: Option<PathBuf>,
    /// Legacy passwords: CSV `password,user,uid,"groups"`, reloaded on change. Off unless set.
    #[arg(long)]
    pub basic_auth_file: Option<PathBuf>,
    /// Keys that verify service-account tokens (repeatable).
    #[arg(long)]
    pub service_account_key_file: Vec<PathBuf>,
    /// The key that signs service-account tokens.
    #[arg(long)]
    pub service_account_signing_key_file: Option<PathBuf>,
    /// Issuer of service-account tokens (repeatable; the first signs).
    #[arg(long)]
    pub service_account_issuer: Vec<String>,
    /// The `jwks_uri` of the ServiceAccount issuer discovery document (default:
    /// https://<advertise address>:<secure port>/openid/v1/jwks).
    #[arg(long)]
    pub service_account_jwks_uri: Option<String>,
    /// Audiences the API accepts in tokens (default: the issuer).
    #[arg(long, value_delimiter = ',')]
    pub api_audiences: Vec<String>,
    /// Accept bootstrap tokens (Secrets of type bootstrap.kubernetes.io/token in kube-system).
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set)]
    pub enable_bootstrap_token_auth: bool,
    /// kubeconfig naming a TokenReview webhook.
    #[arg(long)]
    pub authentication_token_webhook_config_file: Option<PathBuf>,
    /// How long webhook token answers are cached, in seconds.
    #[arg(long, default_value_t = 120)]
    pub authentication_token_webhook_cache_ttl: u64,
    /// CA of the front proxy allowed to assert users in request headers.
    #[arg(long)]
    pub requestheader_client_ca_file: Option<String>,
    /// Common names the front proxy's certificate may have (empty: any).
    #[arg(long, value_delimiter = ',')]
    pub requestheader_allowed_names: Vec<String>,
    /// Client certificate kubeward presents to kubelets (a Pod's log), with its key.
    #[arg(long)]
    pub kubelet_client_certificate: Option<PathBuf>,
    /// Key of --kubelet-client-certificate.
    #[arg(long)]
    pub kubelet_client_key: Option<PathBuf>,
    /// CA that signs the kubelets' serving certificates (default: --client-ca-file's CA).
    #[arg(long)]
    pub kubelet_certificate_authority: Option<PathBuf>,
    /// Which of a Node's addresses reaches its kubelet, in order of preference.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "Hostname,InternalDNS,InternalIP,ExternalDNS,ExternalIP"
    )]
    pub kubelet_preferred_address_types: Vec<String>,
    /// OpenID issuer whose id_tokens are accepted (https).
    #[arg(long)]
    pub oidc_issuer_url: Option<String>,
    /// The client id tokens must be issued for (their audience).
    #[arg(long)]
    pub oidc_client_id: Option<String>,
    /// The claim naming the user (default `sub`; non-email claims get the issuer as prefix).
    #[arg(long)]
    pub oidc_username_claim: Option<String>,
    /// Prefix of OIDC user names (`-` for none).
    #[arg(long)]
    pub oidc_username_prefix: Option<String>,
    /// The claim listing the user's groups.
    #[arg(long)]
    pub oidc_groups_claim: Option<String>,
    /// Prefix of OIDC group names.
    #[arg(long)]
    pub oidc_groups_prefix: Option<String>,
    /// CA that signed the issuer's serving certificate.
    #[arg(long)]
    pub oidc_ca_file: Option<PathBuf>,
    /// `key=value` a token must carry (repeatable).
    #[arg(long)]
    pub oidc_required_claim: Vec<String>,
    /// Accepted signing algorithms (default RS256).
    #[arg(long, value_delimiter = ',')]
    pub oidc_signing_algs: Vec<String>,
    /// kube's AuthenticationConfiguration file (several JWT issuers), reloaded on change.
    #[arg(long)]
    pub authentication_config: Option<PathBuf>,
    /// Write the audit events here, one a line (`-` is not supported).
    #[arg(long)]
    pub audit_log_path: Option<PathBuf>,
    #[command(flatten)]
    pub audit: crate::audit_flags::AuditFlags,
    /// Ordered authorizers: Node, RBAC, ABAC, Webhook, AlwaysAllow (warns), AlwaysDeny
    /// (default `Node,RBAC`). Not with --authorization-config.
    #[arg(long, value_delimiter = ',')]
    pub authorization_mode: Option<Vec<String>>,
    /// kube's AuthorizationConfiguration file (ordered, named authorizers, webhooks with
    /// match conditions), reloaded on change. Not with --authorization-mode or
    /// --authorization-webhook-*.
    #[arg(long)]
    pub authorization_config: Option<PathBuf>,
    /// ABAC policy file: one JSON policy per line.
    #[arg(long)]
    pub authorization_policy_file: Option<PathBuf>,
    /// kubeconfig naming a SubjectAccessReview webhook.
    #[arg(long)]
    pub authorization_webhook_config_file: Option<PathBuf>,
    /// Admission plugins to enable besides the default set.
    #[arg(long, value_delimiter = ',')]
    pub enable_admission_plugins: Vec<String>,
    /// Admission plugins to disable.
    #[arg(long, value_delimiter = ',')]
    pub disable_admission_plugins: Vec<String>,
    /// kube-controller-manager's: the CA certificate that signs CertificateSigningRequests of
    /// the `kubernetes.io/kube-apiserver-client`, `-client-kubelet` and `kubelet-serving`
    /// signers (`kubeward up`: the cluster CA).
    #[arg(long)]
    pub cluster_signing_cert_file: Option<PathBuf>,
    /// Its private key.
    #[arg(long)]
    pub cluster_signing_key_file: Option<PathBuf>,
    /// The longest certificate the signers hand out (`spec.expirationSeconds` shortens it).
    #[arg(long, default_value = "8760h0m0s", value_parser = parse_duration)]
    pub cluster_signing_duration: std::time::Duration,
    /// Anonymous requests: unset, they reach only /healthz, /livez and /readyz; `true`,
    /// they reach everything authorization allows (kube's default); `false`, nothing.
    #[arg(long, action = clap::ArgAction::Set)]
    pub anonymous_auth: Option<bool>,
    /// Read-only requests in flight at once, shared fairly between users (0: no limit).
    #[arg(long, default_value_t = 400)]
    pub max_requests_inflight: usize,
    /// Mutating requests in flight at once, shared fairly between users (0: no limit).
    #[arg(long, default_value_t = 200)]
    pub max_mutating_requests_inflight: usize,
    /// The longest a non-long-running request may take (a Go duration); past it, 504.
    #[arg(long, default_value = "1m0s")]
    pub request_timeout: String,
    /// The shortest default length of a watch, in seconds (randomised up to twice it).
    #[arg(long, default_value_t = 1800)]
    pub min_request_timeout: u64,
    /// Watches open at once.
    #[arg(long, default_value_t = 10_000)]
    pub max_watches: usize,
    /// Watches one user may have open at once.
    #[arg(long, default_value_t = 1_000)]
    pub max_watches_per_user: usize,
    /// Connections open at once.
    #[arg(long, default_value_t = 10_000)]
    pub max_connections: usize,
    /// Connections one client address may have open at once.
    #[arg(long, default_value_t = 2_000)]
    pub max_connections_per_ip: usize,
    #[arg(long, default_value_t = apiserver::DEFAULT_MAX_REQUEST_BODY_BYTES)]
    pub max_request_body_bytes: usize,
    /// kube-controller-manager's: run the controllers only while holding the Lease
    /// `kube-controller-manager` (one server per cluster runs them).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_elect: bool,
    /// How long a holder's Lease lasts without renewal before another server takes it.
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    pub leader_elect_lease_duration: std::time::Duration,
    /// How long the holder keeps trying to renew before it stops its controllers.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub leader_elect_renew_deadline: std::time::Duration,
    /// How often to try to take or renew the Lease.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub leader_elect_retry_period: std::time::Duration,
    /// The namespace of the leader Leases.
    #[arg(long, default_value = "kube-system")]
    pub leader_elect_resource_namespace: String,
}

/// A flag whose value the server cannot honour: refused at start, never dropped.
#[derive(Debug, thiserror::Error)]
#[error("invalid argument {value:?} for \"--{flag}\" flag: {reason}")]
pub struct FlagError {
    pub flag: &'static str,
    pub value: String,
    pub reason: String,
}

impl ApiServerFlags {
    /// `--oidc-required-claim key=value` pairs; one without `=` is an error (kube's
    /// `mapStringString` flag refuses it: a required claim must never vanish).
    fn required_claims(&self) -> Result<std::collections::BTreeMap<String, String>, FlagError> {
        let mut claims = std::collections::BTreeMap::new();
        for kv in &self.oidc_required_claim {
            for pair in kv.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let Some((k, v)) = pair.split_once('=') else {
                    return Err(FlagError {
                        flag: "oidc-required-claim",
                        value: kv.clone(),
                        reason: format!("malformed pair, expect string=string: {pair:?}"),
                    });
                };
                claims.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
        Ok(claims)
    }

    /// The authorizer types in force: those of `--authorization-config` (an unreadable
    /// file gives none; the server refuses it at start), else `--authorization-mode` or its
    /// default.
    pub fn authorizer_types(&self) -> Vec<String> {
        match &self.authorization_config {
            Some(path) => std::fs::read_to_string(path)
                .ok()
                .and_then(|text| authz::config::parse(&text).ok())
                .map(|c| c.authorizers.into_iter().map(|a| a.kind).collect())
                .unwrap_or_default(),
            None => self.authorization_mode.clone().unwrap_or_else(authz::modes::default_modes),
        }
    }

    /// Checks every flag value before anything is created or opened.
    pub fn validate(&self) -> Result<(), FlagError> {
        self.required_claims()?;
        self.limits()?;
        self.leader_election("checked").validate().map_err(|reason| FlagError {
            flag: "leader-elect-renew-deadline",
            value: format!("{:?}", self.leader_elect_renew_deadline),
            reason,
        })?;
        Ok(())
    }

    /// The leader election these flags ask for, as `identity`.
    pub fn leader_election(
        &self,
        identity: &str,
    ) -> apiserver::controllers::leader_election::LeaderElectionConfig {
        apiserver::controllers::leader_election::LeaderElectionConfig {
            enabled: self.leader_elect,
            lease_duration: self.leader_elect_lease_duration,
            renew_deadline: self.leader_elect_renew_deadline,
            retry_period: self.leader_elect_retry_period,
            namespace: self.leader_elect_resource_namespace.clone(),
            identity: identity.to_string(),
        }
    }

    /// The limits these flags ask for.
    fn limits(&self) -> Result<apiserver::limits::LimitsConfig, FlagError> {
        let request_timeout = apimachinery::duration::parse_go_duration(&self.request_timeout)
            .map_err(|reason| FlagError {
                flag: "request-timeout",
                value: self.request_timeout.clone(),
                reason,
            })?
            .to_std()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| FlagError {
                flag: "request-timeout",
                value: self.request_timeout.clone(),
                reason: "must be positive".into(),
            })?;
        Ok(apiserver::limits::LimitsConfig {
            max_requests_inflight: self.max_requests_inflight,
            max_mutating_requests_inflight: self.max_mutating_requests_inflight,
            request_timeout,
            min_request_timeout: std::time::Duration::from_secs(self.min_request_timeout),
            max_watches: self.max_watches,
            max_watches_per_user: self.max_watches_per_user,
            max_connections: self.max_connections,
            max_connections_per_ip: self.max_connections_per_ip,
            ..Default::default()
        })
    }

    pub fn config(
        self,
        tls_cert_file: String,
        tls_private_key_file: String,
    ) -> Result<apiserver::Config, FlagError> {
        let required_claims = self.required_claims()?;
        let limits = self.limits()?;
        let node_name = crate::cluster::hostname();
        let leader_election = self.leader_election(&format!("{node_name}_{}", random_id()));
        Ok(apiserver::Config {
            node_name,
            leader_election,
            identity_lease: identity_lease_from_env(),
            system_namespaces_interval: system_namespaces_interval_from_env(),
            crd_resync: crd_resync_from_env(),
            bind_address: self.bind_address,
            advertise_address: self.advertise_address,
            service_cluster_ip_range: self.service_cluster_ip_range.clone(),
            secure_port: self.secure_port,
            tls_cert_file,
            tls_private_key_file,
            client_ca_file: self.client_ca_file.clone(),
            token_auth_file: self.token_auth_file,
            basic_auth_file: self.basic_auth_file,
            service_account_key_files: self.service_account_key_file,
            service_account_signing_key_file: self.service_account_signing_key_file,
            service_account_issuers: self.service_account_issuer,
            service_account_jwks_uri: self.service_account_jwks_uri,
            api_audiences: self.api_audiences,
            enable_bootstrap_token_auth: self.enable_bootstrap_token_auth,
            authentication_token_webhook_config_file: self.authentication_token_webhook_config_file,
            authentication_token_webhook_cache_ttl: std::time::Duration::from_secs(
                self.authentication_token_webhook_cache_ttl,
            ),
            requestheader_client_ca_file: self.requestheader_client_ca_file,
            requestheader_allowed_names: self.requestheader_allowed_names,
            kubelet: apiserver::KubeletConfig {
                client_certificate: self.kubelet_client_certificate,
                client_key: self.kubelet_client_key,
                certificate_authority: self.kubelet_certificate_authority,
                preferred_address_types: self.kubelet_preferred_address_types,
            },
            enable_admission_plugins: self.enable_admission_plugins,
            disable_admission_plugins: self.disable_admission_plugins,
            audit: self.audit.options(self.audit_log_path),
            oidc: authn::oidc::OidcFlags {
                issuer_url: self.oidc_issuer_url.unwrap_or_default(),
                client_id: self.oidc_client_id.unwrap_or_default(),
                username_claim: self.oidc_username_claim.unwrap_or_default(),
                username_prefix: self.oidc_username_prefix,
                groups_claim: self.oidc_groups_claim.unwrap_or_default(),
                groups_prefix: self.oidc_groups_prefix.unwrap_or_default(),
                ca_file: self.oidc_ca_file,
                required_claims,
                signing_algs: self.oidc_signing_algs,
            },
            authentication_config: self.authentication_config,
            authorization_modes: self.authorization_mode,
            authorization_config: self.authorization_config,
            authorization_policy_file: self.authorization_policy_file,
            authorization_webhook_config_file: self.authorization_webhook_config_file,
            anonymous_auth: self.anonymous_auth,
            limits,
            max_request_body_bytes: self.max_request_body_bytes,
            root_ca_file: self.client_ca_file,
            bootstrap_admin_user: None,
            bootstrap_kubelet_client_user: None,
            cluster_signing: match (self.cluster_signing_cert_file, self.cluster_signing_key_file) {
                (Some(ca_cert_file), Some(ca_key_file)) => {
                    Some(apiserver::controllers::csr_signing::SigningConfig {
                        ca_cert_file,
                        ca_key_file,
                        duration: self.cluster_signing_duration,
                    })
                }
                _ => None,
            },
        })
    }
}

/// Test-only: kube's identity Lease timings are package variables without a flag
/// (`IdentityLeaseDurationSeconds`, `IdentityLeaseGCPeriod`, both 3600 s), which kube's own
/// integration tests shorten. These environment variables do the same for kubeward's tests
/// and are not an interface: `KUBEWARD_TEST_IDENTITY_LEASE_DURATION_SECONDS` and
/// `KUBEWARD_TEST_IDENTITY_LEASE_GC_PERIOD_SECONDS` (whole seconds, at least 1).
fn identity_lease_from_env() -> apiserver::controllers::identity_lease_gc::IdentityLeaseConfig {
    let mut config = apiserver::controllers::identity_lease_gc::IdentityLeaseConfig::default();
    if let Some(s) = test_seconds("KUBEWARD_TEST_IDENTITY_LEASE_DURATION_SECONDS") {
        tracing::warn!(seconds = s, "test setting: identity lease duration shortened");
        config.duration_seconds = s;
    }
    if let Some(s) = test_seconds("KUBEWARD_TEST_IDENTITY_LEASE_GC_PERIOD_SECONDS") {
        tracing::warn!(seconds = s, "test setting: identity lease garbage collection period shortened");
        config.gc_period = std::time::Duration::from_secs(s);
    }
    config
}

/// Test-only, as [`identity_lease_from_env`]: kube's system namespaces controller looks every
/// minute (a constant); `KUBEWARD_TEST_SYSTEM_NAMESPACES_INTERVAL_SECONDS` (whole seconds, 1 to
/// 86400) shortens it for tests and is not an interface.
fn system_namespaces_interval_from_env() -> std::time::Duration {
    match test_seconds("KUBEWARD_TEST_SYSTEM_NAMESPACES_INTERVAL_SECONDS") {
        Some(s) => {
            tracing::warn!(seconds = s, "test setting: system namespaces interval shortened");
            std::time::Duration::from_secs(s)
        }
        None => apiserver::controllers::system_namespaces::INTERVAL,
    }
}

/// Test-only, as [`identity_lease_from_env`]: `KUBEWARD_TEST_CRD_RESYNC_SECONDS` (whole seconds,
/// 1 to 86400) lengthens the CRD controller's one-second look at CRDs being deleted, so a test
/// can show that a CRD with no objects goes on its own event, not on that look. Not an
/// interface.
fn crd_resync_from_env() -> std::time::Duration {
    match test_seconds("KUBEWARD_TEST_CRD_RESYNC_SECONDS") {
        Some(s) => {
            tracing::warn!(seconds = s, "test setting: CRD controller resync changed");
            std::time::Duration::from_secs(s)
        }
        None => apiserver::controllers::crd::RESYNC,
    }
}

/// The whole seconds (1 to 86400) a test-only environment variable gives, if set and valid
/// (an invalid value is ignored with a warning).
fn test_seconds(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    match value.trim().parse::<u64>() {
        Ok(s) if (1..=86_400).contains(&s) => Some(s),
        _ => {
            tracing::warn!(variable = name, %value, "ignored: not a number of seconds from 1 to 86400");
            None
        }
    }
}

/// 16 random characters for an identity (the uuid kube appends).
pub fn random_id() -> String {
    pki::join::BootstrapToken::generate().map(|t| t.secret).unwrap_or_else(|_| "0".repeat(16))
}

/// A Go duration (`8760h0m0s`, `90m`, `30s`), positive.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    match apimachinery::duration::parse_go_duration(s).ok().and_then(|d| d.to_std()) {
        Some(d) if !d.is_zero() => Ok(d),
        _ => Err(format!("invalid duration {s:?} (e.g. 8760h, 90m, 1h30m)")),
    }
}
