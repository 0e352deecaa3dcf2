//! The server's settings, named after kube-apiserver's flags, and why it may fail to start.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

/// The issuer of service-account tokens when `--service-account-issuer` is not given.
pub const DEFAULT_SERVICE_ACCOUNT_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// kube-apiserver's default --max-request-body-bytes (3 MiB).
pub const DEFAULT_MAX_REQUEST_BODY_BYTES: usize = 3 * 1024 * 1024;

/// Server settings, named after kube-apiserver's flags.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind_address: IpAddr,
    /// `--advertise-address`: the address the `kubernetes` Service's endpoints name (the
    /// bind address when not given).
    pub advertise_address: Option<IpAddr>,
    /// `--service-cluster-ip-range`: where Services get their ClusterIP.
    pub service_cluster_ip_range: String,
    pub secure_port: u16,
    pub tls_cert_file: String,
    pub tls_private_key_file: String,
    pub client_ca_file: Option<String>,
    /// `--token-auth-file`: static bearer tokens (CSV), reloaded on change.
    pub token_auth_file: Option<PathBuf>,
    /// `--basic-auth-file`: legacy passwords (CSV), reloaded on change.
    pub basic_auth_file: Option<PathBuf>,
    /// `--service-account-key-file`: public (or private) keys that verify SA tokens.
    pub service_account_key_files: Vec<PathBuf>,
    /// `--service-account-signing-key-file`: signs TokenRequest and legacy tokens.
    pub service_account_signing_key_file: Option<PathBuf>,
    /// `--service-account-issuer` (the first one signs).
    pub service_account_issuers: Vec<String>,
    /// `--service-account-jwks-uri`: the discovery document's `jwks_uri`.
    pub service_account_jwks_uri: Option<String>,
    /// `--api-audiences` (default: the issuer).
    pub api_audiences: Vec<String>,
    /// `--enable-bootstrap-token-auth`.
    pub enable_bootstrap_token_auth: bool,
    /// `--authentication-token-webhook-config-file` and its cache TTL.
    pub authentication_token_webhook_config_file: Option<PathBuf>,
    pub authentication_token_webhook_cache_ttl: std::time::Duration,
    /// `--requestheader-client-ca-file` and `--requestheader-allowed-names` (front proxy).
    pub requestheader_client_ca_file: Option<String>,
    pub requestheader_allowed_names: Vec<String>,
    /// How kubeward reaches kubelets: `--kubelet-client-certificate`, `--kubelet-client-key`,
    /// `--kubelet-certificate-authority`, `--kubelet-preferred-address-types`.
    pub kubelet: crate::rest::connect::KubeletConfig,
    /// `--oidc-*` flags (an OpenID issuer whose id_tokens are accepted).
    pub oidc: authn::oidc::OidcFlags,
    /// `--authentication-config`: kube's AuthenticationConfiguration (JWT issuers), reloaded.
    pub authentication_config: Option<PathBuf>,
    /// `--enable-admission-plugins` / `--disable-admission-plugins` (kube's default set when empty).
    pub enable_admission_plugins: Vec<String>,
    pub disable_admission_plugins: Vec<String>,
    /// `--audit-policy-file`, the log backend (`--audit-log-*`) and the webhook backend
    /// (`--audit-webhook-*`).
    pub audit: crate::audit::AuditOptions,
    /// `--authorization-policy-file` (ABAC, one JSON policy per line).
    pub authorization_policy_file: Option<PathBuf>,
    /// `--authorization-webhook-config-file` (SubjectAccessReview webhook, kubeconfig format).
    pub authorization_webhook_config_file: Option<PathBuf>,
    /// `--authorization-mode` as given, in order: Node, RBAC, ABAC, Webhook, AlwaysAllow,
    /// AlwaysDeny; `None`: not given (`Node,RBAC` unless `--authorization-config`).
    pub authorization_modes: Option<Vec<String>>,
    /// `--authorization-config`: kube's AuthorizationConfiguration, reloaded on change.
    pub authorization_config: Option<PathBuf>,
    /// `--anonymous-auth`: unset, anonymous requests reach the health checks only; `true`,
    /// everywhere (authorization decides, as kube); `false`, nowhere.
    pub anonymous_auth: Option<bool>,
    /// In-flight seats, deadlines, watch and connection caps and timeouts.
    pub limits: crate::limits::LimitsConfig,
    pub max_request_body_bytes: usize,
    /// The cluster CA published as `kube-root-ca.crt` in every namespace.
    pub root_ca_file: Option<String>,
    /// A user bound to cluster-admin at start (the admin of `kubeward up`).
    pub bootstrap_admin_user: Option<String>,
    /// The user of kubeward's own client certificate to kubelets, bound to
    /// `system:kubelet-api-admin` at start (`kubeward up`).
    pub bootstrap_kubelet_client_user: Option<String>,
    /// kube-controller-manager's `--cluster-signing-cert-file`, `--cluster-signing-key-file`
    /// and `--cluster-signing-duration`: CertificateSigningRequests are signed when set.
    pub cluster_signing: Option<crate::controllers::csr_signing::SigningConfig>,
    /// This control plane's name: its API server identity Lease (kube's host name).
    pub node_name: String,
    /// Leader election of kube-controller-manager's controllers (`--leader-elect*`).
    pub leader_election: crate::controllers::leader_election::LeaderElectionConfig,
    /// The identity Leases' duration and garbage-collection period (kube's 3600 s each).
    pub identity_lease: crate::controllers::identity_lease_gc::IdentityLeaseConfig,
    /// How often the system namespaces are looked for (kube's one minute).
    pub system_namespaces_interval: std::time::Duration,
    /// How often the CRD controller looks again at CRDs being deleted whose objects are still
    /// going ([`crate::controllers::crd::RESYNC`], one second).
    pub crd_resync: std::time::Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Tls(#[from] crate::server::TlsSetupError),
    #[error(transparent)]
    ClientCa(#[from] authn::AuthnConfigError),
    #[error("authorization: {0}")]
    AuthorizationMode(String),
    #[error("binding {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("authentication: {0}")]
    Authentication(String),
    #[error("admission: {0}")]
    Admission(String),
    #[error("{0}")]
    ServiceIpRange(String),
    #[error("bootstrap: {0}")]
    Bootstrap(String),
    /// The audit policy or a backend cannot be used (the text names the file and line).
    #[error("{0}")]
    Audit(String),
    /// The kubelet client's certificate, key or CA cannot be used.
    #[error("{0}")]
    Kubelet(String),
}
