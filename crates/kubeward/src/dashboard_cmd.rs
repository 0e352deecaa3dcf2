//! `kubeward dashboard` and `kubeward auth-proxy`: their flags, read into the `dashboard`
//! crate's options, and the run until SIGINT or SIGTERM.

use crate::audit_flags::go_duration;
use crate::cli::CliError;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args)]
pub struct DashboardArgs {
    /// The kubeconfig naming the API server and its CA; when it holds a credential, the
    /// dashboard runs as that one person on loopback (desktop mode).
    #[arg(long, env = "KUBECONFIG")]
    kubeconfig: PathBuf,
    /// The kubeconfig context to use (default: its current context).
    #[arg(long)]
    context: Option<String>,
    /// Where to serve HTTPS.
    #[arg(long, default_value = "127.0.0.1:8444")]
    listen: SocketAddr,
    /// The serving certificate (PEM); a self-signed one is made at start without it.
    #[arg(long, requires = "tls_private_key_file")]
    tls_cert_file: Option<PathBuf>,
    #[arg(long, requires = "tls_cert_file")]
    tls_private_key_file: Option<PathBuf>,
    /// Another host name the dashboard answers to (repeatable).
    #[arg(long = "host")]
    hosts: Vec<String>,
    /// A session ends after this long without activity (sliding).
    #[arg(long, default_value = "8h", value_parser = go_duration)]
    session_idle_timeout: Duration,
    /// A session ends after this long whatever the activity.
    #[arg(long, default_value = "24h", value_parser = go_duration)]
    session_max_lifetime: Duration,
    /// OpenID Connect sign-in: the issuer the API server trusts.
    #[arg(long, requires = "oidc_client_id")]
    oidc_issuer_url: Option<String>,
    /// The client id at the issuer (the audience the API server expects).
    #[arg(long)]
    oidc_client_id: Option<String>,
    /// A file holding the client secret, for confidential clients.
    #[arg(long)]
    oidc_client_secret_file: Option<PathBuf>,
    /// The CA bundle (PEM) trusted for the issuer (default: the system roots).
    #[arg(long)]
    oidc_ca_file: Option<PathBuf>,
    /// Scopes asked for besides `openid` (repeatable).
    #[arg(long = "oidc-extra-scope")]
    oidc_extra_scopes: Vec<String>,
    /// The API server's audit log (JSON), for the audit trail page.
    #[arg(long)]
    audit_log: Option<PathBuf>,
    /// A namespace offered to people who may not list namespaces (repeatable).
    #[arg(long = "namespace")]
    namespaces: Vec<String>,
    /// Have people sign in even when the kubeconfig holds a credential.
    #[arg(long)]
    no_desktop: bool,
    /// Do not open the launch link in a browser.
    #[arg(long)]
    no_browser: bool,
}

#[derive(Args)]
pub struct AuthProxyArgs {
    /// The kubeconfig whose credential (exec plugin, token, OIDC) is added to requests.
    #[arg(long, env = "KUBECONFIG")]
    kubeconfig: PathBuf,
    #[arg(long)]
    context: Option<String>,
    /// Where requests go, e.g. https://127.0.0.1:8444 (the dashboard).
    #[arg(long)]
    upstream: String,
    /// The CA bundle (PEM) trusted for the upstream (default: the system roots).
    #[arg(long)]
    upstream_ca_file: Option<PathBuf>,
    /// Where to listen (loopback only).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Do not open the browser.
    #[arg(long)]
    no_browser: bool,
}

pub async fn dashboard(a: DashboardArgs) -> Result<(), CliError> {
    let read = |p: &PathBuf| std::fs::read(p).map_err(|e| CliError(format!("{}: {e}", p.display())));
    let oidc = match (&a.oidc_issuer_url, &a.oidc_client_id) {
        (Some(issuer), Some(client_id)) => Some(dashboard::oidc::OidcConfig {
            issuer: issuer.clone(),
            client_id: client_id.clone(),
            client_secret: match &a.oidc_client_secret_file {
                Some(p) => Some(String::from_utf8_lossy(&read(p)?).trim().to_string()),
                None => None,
            },
            ca_pem: a.oidc_ca_file.as_ref().map(read).transpose()?,
            extra_scopes: a.oidc_extra_scopes.clone(),
        }),
        _ => None,
    };
    let opts = dashboard::DashboardOptions {
        kubeconfig: a.kubeconfig,
        context: a.context,
        listen: a.listen,
        tls_files: a.tls_cert_file.zip(a.tls_private_key_file),
        hosts: a.hosts,
        session: dashboard::session::Limits { idle: a.session_idle_timeout, max: a.session_max_lifetime },
        oidc,
        audit_log: a.audit_log,
        namespaces: a.namespaces,
        no_desktop: a.no_desktop,
    };
    let open = !a.no_browser;
    dashboard::run_dashboard(
        opts,
        |s| {
            println!("dashboard is ready at {}", s.url);
            if let Some(l) = &s.launch_url {
                // The launch link lets one browser in, once (desktop mode).
                println!("open (once) {l}");
                if open {
                    dashboard::serve::open_browser(l);
                }
            }
        },
        crate::cli::wait_for_shutdown(),
    )
    .await
    .map_err(|e| CliError(e.to_string()))
}

pub async fn auth_proxy(a: AuthProxyArgs) -> Result<(), CliError> {
    let opts = dashboard::ProxyOptions {
        kubeconfig: a.kubeconfig,
        context: a.context,
        upstream: a.upstream,
        upstream_ca_file: a.upstream_ca_file,
        listen: a.listen,
        open_browser: !a.no_browser,
    };
    dashboard::run_auth_proxy(
        opts,
        |url| println!("auth-proxy is ready at {url}"),
        crate::cli::wait_for_shutdown(),
    )
    .await
    .map_err(|e| CliError(e.to_string()))
}
