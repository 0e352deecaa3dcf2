//! Command line: `kubeward up` (safe defaults, PKI and admin kubeconfig in one go) and
//! `kubeward server` (kube-apiserver's flags and meanings).

use clap::{Args, Parser, Subcommand};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Parser)]
#[command(name = "kubeward", version, about = "A secure Kubernetes-API-compatible control plane")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create what is missing (CA, certificates, keys, admin kubeconfig) in the data
    /// directory and run a secure server on the embedded store.
    Up(UpArgs),
    /// Run the API server with kube-apiserver's flags.
    Server(ServerArgs),
    /// List the users, groups and service accounts allowed to do VERB on RESOURCE.
    WhoCan(WhoCanArgs),
    /// Say which binding, role and rule allow a user's request, or that none does.
    Explain(ExplainArgs),
}

#[derive(Args)]
struct WhoCanArgs {
    verb: String,
    /// `pods`, `deployments.apps`, `pods/log`, or a non-resource path like `/metrics`.
    resource: String,
    name: Option<String>,
    #[arg(short, long, default_value = "default")]
    namespace: String,
    #[arg(long)]
    kubeconfig: Option<String>,
}

#[derive(Args)]
struct ExplainArgs {
    verb: String,
    resource: String,
    name: Option<String>,
    #[arg(short, long, default_value = "default")]
    namespace: String,
    /// The user to explain for.
    #[arg(long = "as")]
    as_user: String,
    #[arg(long = "as-group")]
    as_groups: Vec<String>,
    #[arg(long)]
    kubeconfig: Option<String>,
}

#[derive(Args)]
struct UpArgs {
    /// Where the store, PKI and kubeconfigs live.
    #[arg(long, default_value = ".kubeward", env = "KUBEWARD_DATA_DIR")]
    data_dir: PathBuf,
    /// The port to serve HTTPS on (0 picks a free port).
    #[arg(long, default_value_t = 6443)]
    secure_port: u16,
    /// The address to listen on; loopback unless told otherwise.
    #[arg(long, default_value = "127.0.0.1")]
    bind_address: IpAddr,
}

#[derive(Args)]
struct ServerArgs {
    /// Embedded store directory.
    #[arg(long)]
    data_dir: PathBuf,
    #[arg(long, default_value_t = 6443)]
    secure_port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    bind_address: IpAddr,
    #[arg(long)]
    tls_cert_file: String,
    #[arg(long)]
    tls_private_key_file: String,
    /// CA bundle that client certificates must chain to (x509 authentication).
    #[arg(long)]
    client_ca_file: Option<String>,
    /// Ordered authorizers: RBAC, AlwaysAllow, AlwaysDeny.
    #[arg(long, default_value = "RBAC", value_delimiter = ',')]
    authorization_mode: Vec<String>,
    /// Allow anonymous requests to the health and version endpoints.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    anonymous_auth: bool,
    #[arg(long, default_value_t = 400)]
    max_requests_inflight: usize,
    /// CA bundle published as the kube-root-ca.crt ConfigMap (default: --client-ca-file).
    #[arg(long)]
    root_ca_file: Option<String>,
    #[arg(long, default_value_t = apiserver::DEFAULT_MAX_REQUEST_BODY_BYTES)]
    max_request_body_bytes: usize,
}

#[derive(Debug)]
pub struct CliError(pub String);

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn err(e: impl std::fmt::Display) -> CliError {
    CliError(e.to_string())
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Up(a) => up(a).await,
        Command::Server(a) => server(a).await,
        Command::WhoCan(a) => who_can(a).await,
        Command::Explain(a) => explain(a).await,
    }
}

fn open_store(data_dir: &Path) -> Result<Arc<dyn storage::Store>, CliError> {
    let store = storage::EmbeddedStore::open(&data_dir.join("store"))
        .map_err(|e| CliError(format!("opening the store in {}: {e}", data_dir.display())))?;
    Ok(Arc::new(store))
}

async fn wait_for_shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

async fn up(a: UpArgs) -> Result<(), CliError> {
    std::fs::create_dir_all(&a.data_dir).map_err(|e| CliError(format!("{}: {e}", a.data_dir.display())))?;
    let data_dir = a.data_dir.canonicalize().map_err(err)?;
    let cluster = pki::ClusterPki::at(&data_dir);
    let mut hostnames = Vec::new();
    if let Ok(h) = std::fs::read_to_string("/etc/hostname") {
        let h = h.trim();
        if !h.is_empty() {
            hostnames.push(h.to_string());
        }
    }
    if !a.bind_address.is_loopback() && !a.bind_address.is_unspecified() {
        hostnames.push(a.bind_address.to_string());
    }
    if cluster.ensure(&hostnames).map_err(err)? {
        tracing::info!(dir = %cluster.dir.display(), "created cluster PKI");
    }
    let store = open_store(&data_dir)?;
    let config = apiserver::Config {
        bind_address: a.bind_address,
        secure_port: a.secure_port,
        tls_cert_file: cluster.serving_cert.display().to_string(),
        tls_private_key_file: cluster.serving_key.display().to_string(),
        client_ca_file: Some(cluster.ca_cert.display().to_string()),
        authorization_modes: vec!["RBAC".into()],
        anonymous_auth: true,
        max_requests_inflight: 400,
        max_request_body_bytes: apiserver::DEFAULT_MAX_REQUEST_BODY_BYTES,
        root_ca_file: Some(cluster.ca_cert.display().to_string()),
        bootstrap_admin_user: Some(pki::ADMIN_USER.into()),
    };
    let running = apiserver::start(config, store).await.map_err(err)?;
    let host = match running.addr.ip() {
        IpAddr::V6(ip) => format!("[{ip}]"),
        IpAddr::V4(ip) if ip.is_unspecified() => "127.0.0.1".into(),
        ip => ip.to_string(),
    };
    let server = format!("https://{host}:{}", running.addr.port());
    let kubeconfig = data_dir.join("admin.kubeconfig");
    let read = |p: &Path| pki::read_to_string(p).map_err(err);
    let kc = pki::Kubeconfig {
        cluster_name: "kubeward".into(),
        server: server.clone(),
        ca_pem: read(&cluster.ca_cert)?,
        user_name: pki::ADMIN_USER.into(),
        client_cert_pem: Some(read(&cluster.admin_cert)?),
        client_key_pem: Some(read(&cluster.admin_key)?),
        token: None,
    };
    pki::write_private(&kubeconfig, &kc.to_yaml()).map_err(err)?;
    println!("kubeward is ready at {server}");
    println!("admin kubeconfig: {}", kubeconfig.display());
    println!("  export KUBECONFIG={}", kubeconfig.display());
    println!("  kubectl get namespaces");
    wait_for_shutdown().await;
    Ok(())
}

async fn server(a: ServerArgs) -> Result<(), CliError> {
    let store = open_store(&a.data_dir)?;
    let config = apiserver::Config {
        bind_address: a.bind_address,
        secure_port: a.secure_port,
        tls_cert_file: a.tls_cert_file,
        tls_private_key_file: a.tls_private_key_file,
        client_ca_file: a.client_ca_file.clone(),
        authorization_modes: a.authorization_mode,
        anonymous_auth: a.anonymous_auth,
        max_requests_inflight: a.max_requests_inflight,
        max_request_body_bytes: a.max_request_body_bytes,
        root_ca_file: a.root_ca_file.or_else(|| a.client_ca_file.clone()),
        bootstrap_admin_user: None,
    };
    let running = apiserver::start(config, store).await.map_err(err)?;
    println!("kubeward is ready at https://{}", running.addr);
    wait_for_shutdown().await;
    Ok(())
}

async fn who_can(a: WhoCanArgs) -> Result<(), CliError> {
    use crate::rbac_tools;
    let client = rbac_tools::client(a.kubeconfig.as_deref()).await?;
    let target = rbac_tools::resolve(&client, &a.resource).await?;
    let policy = rbac_tools::fetch_policy(&client, &a.namespace).await?;
    let grants =
        rbac_tools::who_can(&policy, &a.verb, &target, &a.namespace, a.name.as_deref().unwrap_or(""))?;
    if grants.is_empty() {
        println!("No subjects found with permission to {} {}", a.verb, a.resource);
        return Ok(());
    }
    let w = grants.iter().map(|g| g.subject.len()).max().unwrap_or(0).max(7);
    let wb = grants.iter().map(|g| g.binding.len()).max().unwrap_or(0).max(7);
    println!("{:<14} {:<w$} {:<wb$} ROLE", "KIND", "SUBJECT", "BINDING");
    for g in grants {
        println!("{:<14} {:<w$} {:<wb$} {}", g.subject_kind, g.subject, g.binding, g.role);
    }
    Ok(())
}

async fn explain(a: ExplainArgs) -> Result<(), CliError> {
    use crate::rbac_tools;
    let client = rbac_tools::client(a.kubeconfig.as_deref()).await?;
    let target = rbac_tools::resolve(&client, &a.resource).await?;
    let name = a.name.as_deref().unwrap_or("");
    // The server's own verdict, through every authorizer it runs.
    let sar = serde_json::json!({
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": match &target.non_resource_path {
            Some(p) => serde_json::json!({"user": a.as_user, "groups": a.as_groups, "nonResourceAttributes": {"path": p, "verb": a.verb}}),
            None => serde_json::json!({"user": a.as_user, "groups": a.as_groups, "resourceAttributes": {
                "namespace": a.namespace, "verb": a.verb, "group": target.group, "resource": target.resource,
                "subresource": target.subresource, "name": name}}),
        },
    });
    let sar: k8s_openapi::api::authorization::v1::SubjectAccessReview =
        serde_json::from_value(sar).map_err(err)?;
    let api: kube::Api<k8s_openapi::api::authorization::v1::SubjectAccessReview> =
        kube::Api::all(client.clone());
    let answer = api.create(&Default::default(), &sar).await.map_err(err)?;
    let status = answer.status.unwrap_or_default();
    println!(
        "server: {}{}",
        if status.allowed { "allowed" } else { "denied" },
        status.reason.map(|r| format!(" ({r})")).unwrap_or_default()
    );
    let policy = rbac_tools::fetch_policy(&client, &a.namespace).await?;
    let mut groups = a.as_groups.clone();
    groups.push(apimachinery::user::ALL_AUTHENTICATED.to_string());
    let user = apimachinery::UserInfo::new(a.as_user.clone(), groups);
    println!("rbac: {}", rbac_tools::explain(&policy, user, &a.verb, &target, &a.namespace, name)?);
    Ok(())
}
