//! kube-apiserver's flags, with their names and meanings, shared by `up` and `server`.

use clap::Args;
use std::net::IpAddr;
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct ApiServerFlags {
    /// The port to serve HTTPS on (0 picks a free port).
    #[arg(long, default_value_t = 6443)]
    pub secure_port: u16,
    /// The address to listen on; loopback unless told otherwise.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind_address: IpAddr,
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
    /// Write one JSON audit event per request here (`-` is not supported).
    #[arg(long)]
    pub audit_log_path: Option<PathBuf>,
    /// Ordered authorizers: RBAC, AlwaysAllow, AlwaysDeny.
    #[arg(long, default_value = "RBAC", value_delimiter = ',')]
    pub authorization_mode: Vec<String>,
    /// Admission plugins to enable besides the default set.
    #[arg(long, value_delimiter = ',')]
    pub enable_admission_plugins: Vec<String>,
    /// Admission plugins to disable.
    #[arg(long, value_delimiter = ',')]
    pub disable_admission_plugins: Vec<String>,
    /// Allow anonymous requests to the health and version endpoints.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub anonymous_auth: bool,
    #[arg(long, default_value_t = 400)]
    pub max_requests_inflight: usize,
    #[arg(long, default_value_t = apiserver::DEFAULT_MAX_REQUEST_BODY_BYTES)]
    pub max_request_body_bytes: usize,
}

impl ApiServerFlags {
    pub fn config(self, tls_cert_file: String, tls_private_key_file: String) -> apiserver::Config {
        apiserver::Config {
            bind_address: self.bind_address,
            secure_port: self.secure_port,
            tls_cert_file,
            tls_private_key_file,
            client_ca_file: self.client_ca_file.clone(),
            token_auth_file: self.token_auth_file,
            basic_auth_file: self.basic_auth_file,
            service_account_key_files: self.service_account_key_file,
            service_account_signing_key_file: self.service_account_signing_key_file,
            service_account_issuers: self.service_account_issuer,
            api_audiences: self.api_audiences,
            enable_bootstrap_token_auth: self.enable_bootstrap_token_auth,
            authentication_token_webhook_config_file: self.authentication_token_webhook_config_file,
            authentication_token_webhook_cache_ttl: std::time::Duration::from_secs(
                self.authentication_token_webhook_cache_ttl,
            ),
            requestheader_client_ca_file: self.requestheader_client_ca_file,
            requestheader_allowed_names: self.requestheader_allowed_names,
            enable_admission_plugins: self.enable_admission_plugins,
            disable_admission_plugins: self.disable_admission_plugins,
            audit_log_path: self.audit_log_path,
            authorization_modes: self.authorization_mode,
            anonymous_auth: self.anonymous_auth,
            max_requests_inflight: self.max_requests_inflight,
            max_request_body_bytes: self.max_request_body_bytes,
            root_ca_file: self.client_ca_file,
            bootstrap_admin_user: None,
        }
    }
}
