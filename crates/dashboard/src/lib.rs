//! `kubeward dashboard`: a web UI that holds no credential of its own. Every call it makes to
//! the API server carries the signed-in person's credential, so the server authorizes and
//! audits that person. `kubeward auth-proxy`: a loopback reverse proxy that adds the person's
//! bearer token from their kubeconfig (kauthproxy's job).
//!
//! How a person is signed in, in this order:
//! 1. the kubeconfig holds a credential: desktop mode, one person on loopback; the browser is
//!    let in once through the launch link printed at start ([`app::Mode::Desktop`]);
//! 2. an `Authorization: Bearer` header (from the auth proxy): that request only, never stored;
//! 3. a bearer token pasted once: a session;
//! 4. OpenID Connect (authorization code + PKCE, refreshed here): a session ([`oidc`]).
//!
//! Modules, outside in: [`serve`] (HTTP(S) serving, the serving certificate), [`app`]
//! (headers, Host and CSRF checks, sign-in, sessions' end), [`api`] and [`admin`] (the JSON
//! endpoints), [`access`] (discovery joined with the rules a person holds), [`session`],
//! [`oidc`], [`upstream`] (the API server with a person's credential), [`credentials`]
//! (kubeconfig credentials: certificates, tokens, exec plugins), [`proxy`], [`assets`].

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod access;
pub mod admin;
pub mod api;
pub mod app;
pub mod assets;
pub mod credentials;
pub mod oidc;
pub mod proxy;
pub mod serve;
pub mod session;
pub mod upstream;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Why the dashboard or the proxy cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The kubeconfig or its credential is unusable.
    #[error(transparent)]
    Credential(#[from] credentials::CredentialError),
    /// The flags do not fit together.
    #[error("{0}")]
    Flags(String),
    /// The listener, the serving certificate or a client could not be set up.
    #[error("{0}")]
    Setup(String),
}

/// `kubeward dashboard`'s settings.
#[derive(Debug, Clone)]
pub struct DashboardOptions {
    pub kubeconfig: PathBuf,
    pub context: Option<String>,
    pub listen: SocketAddr,
    /// `--tls-cert-file` and `--tls-private-key-file`; a self-signed certificate otherwise.
    pub tls_files: Option<(PathBuf, PathBuf)>,
    /// Other host names the dashboard answers to (and names in its self-signed certificate).
    pub hosts: Vec<String>,
    pub session: session::Limits,
    pub oidc: Option<oidc::OidcConfig>,
    pub audit_log: Option<PathBuf>,
    /// Namespaces offered to people who cannot list namespaces.
    pub namespaces: Vec<String>,
    /// Refuse the kubeconfig's credential: people sign in even when it holds one.
    pub no_desktop: bool,
}

/// A started dashboard: where it listens, and the launch link of desktop mode.
pub struct Started {
    pub url: String,
    pub launch_url: Option<String>,
}

/// Starts the dashboard; `on_ready` is told where it listens, then it serves until
/// `shutdown` completes.
pub async fn run_dashboard(
    opts: DashboardOptions,
    on_ready: impl FnOnce(&Started),
    shutdown: impl Future<Output = ()>,
) -> Result<(), StartError> {
    let kc = Arc::new(credentials::load(&opts.kubeconfig, opts.context.as_deref())?);
    let desktop = kc.has_credential() && !opts.no_desktop;
    if desktop && !opts.listen.ip().is_loopback() {
        return Err(StartError::Flags(format!(
            "the kubeconfig holds a credential (desktop mode): the dashboard listens on loopback only, not {}; \
             use --no-desktop to have people sign in",
            opts.listen
        )));
    }
    let upstream = upstream::Upstream::new(kc.clone(), desktop).map_err(StartError::Setup)?;
    let tls =
        serve::server_tls(opts.tls_files.as_ref().map(|(c, k)| (c.as_path(), k.as_path())), &opts.hosts)
            .map_err(StartError::Setup)?;
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|e| StartError::Setup(format!("listening on {}: {e}", opts.listen)))?;
    let addr = listener.local_addr().map_err(|e| StartError::Setup(e.to_string()))?;
    let host = match addr.ip() {
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip if ip.is_unspecified() => "127.0.0.1".to_string(),
        ip => ip.to_string(),
    };
    let origin = format!("https://{host}:{}", addr.port());
    let oidc = match opts.oidc {
        Some(c) => Some(
            oidc::Oidc::new(c, format!("{origin}/oidc/callback"))
                .map_err(|e| StartError::Setup(e.to_string()))?,
        ),
        None => None,
    };
    let (launch, launch_url) = if desktop {
        let code = session::random_token();
        let digest: [u8; 32] =
            sha2::Digest::finalize(sha2::Digest::chain_update(sha2::Sha256::default(), code.as_bytes()))
                .into();
        (Some(digest), Some(format!("{origin}/#launch={code}")))
    } else {
        (None, None)
    };
    let app = Arc::new(app::App {
        upstream,
        kubeconfig: kc,
        mode: if desktop { app::Mode::Desktop } else { app::Mode::SignIn },
        sessions: session::Store::new(opts.session),
        oidc,
        launch: Mutex::new(launch),
        csrf_key: rand::random(),
        origin: origin.clone(),
        listen: addr,
        hosts: opts.hosts,
        audit_log: opts.audit_log,
        namespace_hints: opts.namespaces,
        discovery: tokio::sync::Mutex::new(None),
    });
    on_ready(&Started { url: format!("{origin}/"), launch_url });
    tracing::info!(%addr, desktop, "dashboard serving");
    let handler = move |req, remote| app.clone().handle(req, remote);
    serve::serve(listener, Some(tls), handler, shutdown).await;
    tracing::info!("dashboard stopped");
    Ok(())
}

pub use proxy::{run_auth_proxy, ProxyOptions};
