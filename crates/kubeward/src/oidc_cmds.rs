//! `kubeward login` (a client-go exec credential plugin for OIDC sign-in, as kubelogin)
//! and `kubeward oidc revoke` (reject a user's tokens issued before now, cluster-wide).

use crate::cli::CliError;
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Args)]
pub struct LoginArgs {
    #[command(subcommand)]
    command: LoginCommand,
}

#[derive(Args, Clone)]
struct Provider {
    #[arg(long)]
    oidc_issuer_url: String,
    #[arg(long)]
    oidc_client_id: String,
    #[arg(long)]
    oidc_client_secret: Option<String>,
    /// Scopes besides `openid` (e.g. `email`, `groups`, `offline_access`).
    #[arg(long = "oidc-extra-scope")]
    oidc_extra_scopes: Vec<String>,
    /// CA of the provider's serving certificate.
    #[arg(long)]
    certificate_authority: Option<PathBuf>,
}

#[derive(Subcommand)]
enum LoginCommand {
    /// Print an ExecCredential with a valid id_token (cached, refreshed, or signed in anew).
    GetToken {
        #[command(flatten)]
        provider: Provider,
        /// `authcode` (browser, PKCE, loopback redirect) or `device-code`.
        #[arg(long, default_value = "authcode")]
        grant_type: String,
        #[arg(long)]
        token_cache_dir: Option<PathBuf>,
        /// Print the sign-in URL instead of opening a browser.
        #[arg(long)]
        no_browser: bool,
        /// Loopback port for the redirect (0: any free port).
        #[arg(long, default_value_t = 0)]
        listen_port: u16,
        /// Drop the cached tokens instead.
        #[arg(long)]
        logout: bool,
    },
    /// Print the kubeconfig user entry and the RBAC binding for a group.
    Setup {
        #[command(flatten)]
        provider: Provider,
        #[arg(long, default_value = "oidc")]
        user_name: String,
        #[arg(long)]
        group: String,
        #[arg(long, default_value = "view")]
        cluster_role: String,
        #[arg(long, default_value = "")]
        groups_prefix: String,
        #[arg(long, default_value = "groups")]
        groups_claim: String,
    },
}

fn options(p: &Provider) -> kubeward_login::LoginOptions {
    let mut o = kubeward_login::LoginOptions::new(p.oidc_issuer_url.clone(), p.oidc_client_id.clone());
    o.client_secret = p.oidc_client_secret.clone();
    o.extra_scopes = p.oidc_extra_scopes.clone();
    o.ca_file = p.certificate_authority.clone();
    o
}

pub async fn login(a: LoginArgs) -> Result<(), CliError> {
    match a.command {
        LoginCommand::GetToken { provider, grant_type, token_cache_dir, no_browser, listen_port, logout } => {
            let mut o = options(&provider);
            o.grant_type = grant_type.parse().map_err(|e| CliError(format!("--grant-type: {e}")))?;
            if token_cache_dir.is_some() {
                o.cache_dir = token_cache_dir;
            }
            o.open_browser = !no_browser;
            o.listen_port = listen_port;
            if logout {
                let removed = kubeward_login::logout(&o).map_err(|e| CliError(e.to_string()))?;
                eprintln!("{}", if removed { "logged out" } else { "no cached token" });
                return Ok(());
            }
            let cred = kubeward_login::get_token(&o).await.map_err(|e| CliError(e.to_string()))?;
            println!("{cred}");
            Ok(())
        }
        LoginCommand::Setup { provider, user_name, group, cluster_role, groups_prefix, groups_claim } => {
            let o = options(&provider);
            let s =
                kubeward_login::SetupOptions { user_name, group, groups_prefix, groups_claim, cluster_role };
            print!("{}", kubeward_login::setup(&o, &s));
            Ok(())
        }
    }
}

#[derive(Args)]
pub struct OidcArgs {
    #[command(subcommand)]
    command: OidcCommand,
}

#[derive(Subcommand)]
enum OidcCommand {
    /// Reject every token of USER issued before now, on every server, at once.
    Revoke {
        /// The user name as the server maps it (with its prefix, e.g. `https://issuer#alice`).
        #[arg(long)]
        user: String,
        #[arg(long)]
        kubeconfig: Option<String>,
    },
    /// Lift a revocation.
    Unrevoke {
        #[arg(long)]
        user: String,
        #[arg(long)]
        kubeconfig: Option<String>,
    },
}

pub async fn oidc(a: OidcArgs) -> Result<(), CliError> {
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::{Api, Patch, PatchParams, PostParams};
    let (user, kubeconfig, revoke) = match a.command {
        OidcCommand::Revoke { user, kubeconfig } => (user, kubeconfig, true),
        OidcCommand::Unrevoke { user, kubeconfig } => (user, kubeconfig, false),
    };
    let client = crate::rbac_tools::client(kubeconfig.as_deref()).await?;
    let api: Api<ConfigMap> = Api::namespaced(client, authn::oidc::REVOCATION_NAMESPACE);
    let now = chrono::Utc::now();
    let patch = if revoke {
        kubeward_login::revocation_configmap_patch(&user, now)
    } else {
        kubeward_login::unrevoke_configmap_patch(&user)
    };
    match api.patch(authn::oidc::REVOCATION_CONFIGMAP, &PatchParams::default(), &Patch::Merge(&patch)).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 404 && revoke => {
            let cm: ConfigMap = serde_json::from_value(kubeward_login::revocation_configmap(&user, now))
                .map_err(|e| CliError(e.to_string()))?;
            api.create(&PostParams::default(), &cm).await.map_err(|e| CliError(e.to_string()))?;
        }
        Err(e) => return Err(CliError(e.to_string())),
    }
    if revoke {
        println!(
            "revoked: tokens of {user} issued at or before {} are refused",
            now.format("%Y-%m-%dT%H:%M:%SZ")
        );
    } else {
        println!("revocation of {user} lifted");
    }
    Ok(())
}
