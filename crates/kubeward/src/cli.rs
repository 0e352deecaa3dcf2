//! Command line: `kubeward up` (safe defaults, PKI and admin kubeconfig in one go) and
//! `kubeward server` (kube-apiserver's flags and meanings).

use crate::flags::ApiServerFlags;
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
    /// OIDC sign-in for kubectl: an exec credential plugin (`get-token`) and its `setup`.
    Login(crate::oidc_cmds::LoginArgs),
    /// OIDC administration: `revoke --user NAME`.
    Oidc(crate::oidc_cmds::OidcArgs),
    /// Write a kubeconfig with a short-lived client certificate from the client CA
    /// (recorded in the cluster before it is handed out).
    Kubeconfig(crate::cert_cmds::KubeconfigArgs),
    /// Revoke credentials: `cert --serial S | --subject CN`.
    Revoke(RevokeArgs),
    /// End everything USER could use: bindings, client certificates, OIDC sign-ins, tokens.
    Offboard(crate::offboard::OffboardArgs),
    /// The server's certificates: `check-expiration`, `renew NAME|all`, `issued`.
    Certs(crate::pki_cmds::CertsArgs),
    /// Security checks of a server's configuration.
    #[command(subcommand)]
    Check(CheckCommand),
    /// Who did what: the audit log as a table (filters, `--follow`, `-o json`).
    Audit(crate::audit_cmd::AuditArgs),
    /// A web UI that acts only as the signed-in person (desktop mode with a kubeconfig
    /// credential; token, OIDC or auth-proxy sign-in otherwise).
    Dashboard(crate::dashboard_cmd::DashboardArgs),
    /// A loopback reverse proxy adding your kubeconfig's bearer token to every request.
    AuthProxy(crate::dashboard_cmd::AuthProxyArgs),
    /// Bootstrap tokens: `create [--print-join-command]` (kubeadm's).
    Token(crate::cluster::join::TokenArgs),
    /// Join this machine to a cluster as a control plane (the command `token create
    /// --print-join-command` prints).
    Join(crate::cluster::join::JoinArgs),
    /// The control planes of a managed-etcd cluster: `list`, `remove NAME`.
    Member(crate::cluster::members::MemberArgs),
    /// Save or restore the store: `save FILE`, `restore FILE [--cluster-init]`.
    Snapshot(crate::cluster::snapshot::SnapshotArgs),
}

#[derive(Subcommand)]
enum CheckCommand {
    /// The API-server controls of the CIS Kubernetes Benchmark (section 1.2), each with its
    /// state and the flag or file it comes from, for the server these arguments start
    /// (`-- up ...` or `-- server ...`; a default `kubeward up` when none), or for a running
    /// kubeward (`--pid`).
    Cis(CisArgs),
}

#[derive(Args)]
struct CisArgs {
    /// A running kubeward process whose command line is checked.
    #[arg(long, conflicts_with = "args")]
    pid: Option<u32>,
    /// The server's arguments after `--`: `up [FLAGS]` or `server [FLAGS]`.
    #[arg(last = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

#[derive(Args)]
struct RevokeArgs {
    #[command(subcommand)]
    what: RevokeWhat,
}

#[derive(Subcommand)]
enum RevokeWhat {
    /// Put a client certificate on the cluster's revocation list: every server refuses it.
    Cert(crate::cert_cmds::RevokeCertArgs),
}

/// The token file `kubeward up` reads when it exists in the data directory (the server
/// owns it: `kubeward offboard` removes a user's tokens from it).
pub const TOKEN_FILE: &str = "tokens.csv";

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
    /// The object of a create or update: admission's answer too (a dry run as the user),
    /// naming the admission policy and the validation that refused it.
    #[arg(short = 'f', long = "filename")]
    filename: Option<PathBuf>,
    #[arg(long)]
    kubeconfig: Option<String>,
}

#[derive(Args)]
pub struct UpArgs {
    /// Where the store, PKI and kubeconfigs live.
    #[arg(long, default_value = ".kubeward", env = "KUBEWARD_DATA_DIR")]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub cluster: ClusterFlags,
    #[command(flatten)]
    pub flags: ApiServerFlags,
    /// Which of the flags a saved control plane keeps were given on the command line.
    #[arg(skip)]
    pub explicit: Explicit,
}

/// Flags given on the command line (not defaulted) among those `cluster.json` remembers:
/// given, they override the saved value (with a note in the log).
#[derive(Clone, Copy, Debug, Default)]
pub struct Explicit {
    pub secure_port: bool,
    pub etcd_client_port: bool,
    pub etcd_peer_port: bool,
}

impl Explicit {
    fn of(m: &clap::ArgMatches) -> Explicit {
        let given = |id: &str| {
            m.try_get_raw(id).is_ok_and(|v| v.is_some())
                && m.value_source(id) == Some(clap::parser::ValueSource::CommandLine)
        };
        Explicit {
            secure_port: given("secure_port"),
            etcd_client_port: given("etcd_client_port"),
            etcd_peer_port: given("etcd_peer_port"),
        }
    }
}

/// Parses the command line, noting which remembered flags were given (see [`Explicit`]).
pub fn parse() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().get_matches();
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    match &mut cli.command {
        Command::Up(a) => {
            if let Some(m) = matches.subcommand_matches("up") {
                a.explicit = Explicit::of(m);
            }
        }
        Command::Join(a) => {
            if let Some(m) = matches.subcommand_matches("join") {
                a.up.explicit = Explicit::of(m);
            }
        }
        _ => {}
    }
    cli
}

/// The managed etcd of `up` (and `join`).
#[derive(Args, Clone, Default)]
pub struct ClusterFlags {
    /// Start a new cluster of control planes: run an etcd member as a supervised child (on
    /// the advertise address, with certificates from the cluster's etcd CA) and store
    /// objects in it. Remembered in the data directory: later `up`s run the member again.
    #[arg(long)]
    pub cluster_init: bool,
    /// After the cluster lost quorum: make this node's etcd a one-member cluster from its own
    /// data (k3s's `--cluster-reset`) and serve; the other control planes wipe and join again.
    #[arg(long)]
    pub cluster_reset: bool,
    /// The etcd binary (default: `$KUBEWARD_ETCD_BIN`, else `etcd` on PATH).
    #[arg(long)]
    pub etcd_binary: Option<PathBuf>,
    /// This control plane's name (its etcd member's and its API server identity's); the
    /// host name by default.
    #[arg(long)]
    pub node_name: Option<String>,
    /// The managed etcd's client port.
    #[arg(long, default_value_t = crate::cluster::DEFAULT_CLIENT_PORT)]
    pub etcd_client_port: u16,
    /// The managed etcd's peer port.
    #[arg(long, default_value_t = crate::cluster::DEFAULT_PEER_PORT)]
    pub etcd_peer_port: u16,
}

#[derive(Args)]
struct ServerArgs {
    /// Embedded store directory.
    #[arg(long)]
    data_dir: PathBuf,
    #[arg(long)]
    tls_cert_file: String,
    #[arg(long)]
    tls_private_key_file: String,
    /// CA bundle published as the kube-root-ca.crt ConfigMap (default: --client-ca-file).
    #[arg(long)]
    root_ca_file: Option<String>,
    #[command(flatten)]
    flags: ApiServerFlags,
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
        Command::Login(a) => crate::oidc_cmds::login(a).await,
        Command::Oidc(a) => crate::oidc_cmds::oidc(a).await,
        Command::Kubeconfig(a) => crate::cert_cmds::kubeconfig(a).await,
        Command::Revoke(RevokeArgs { what: RevokeWhat::Cert(a) }) => crate::cert_cmds::revoke_cert(a).await,
        Command::Offboard(a) => crate::offboard::offboard(a).await,
        Command::Certs(a) => crate::pki_cmds::certs(a).await,
        Command::Check(CheckCommand::Cis(a)) => check_cis(a),
        Command::Audit(a) => crate::audit_cmd::run(a).await,
        Command::Dashboard(a) => crate::dashboard_cmd::dashboard(a).await,
        Command::AuthProxy(a) => crate::dashboard_cmd::auth_proxy(a).await,
        Command::Token(a) => crate::cluster::join::token(a).await,
        Command::Join(a) => crate::cluster::join::join(a).await,
        Command::Member(a) => crate::cluster::members::member(a).await,
        Command::Snapshot(a) => crate::cluster::snapshot::snapshot(a).await,
    }
}

/// The managed etcd member this data directory runs, if any: its saved settings, or new
/// ones with `--cluster-init`.
pub fn managed_node(data_dir: &Path, a: &UpArgs) -> Result<Option<crate::cluster::NodeConfig>, CliError> {
    let saved = crate::cluster::NodeConfig::load(data_dir)?;
    let node = match saved {
        Some(node) => Some(node),
        None if a.cluster.cluster_init => {
            let address = match a.flags.advertise_address.unwrap_or(a.flags.bind_address) {
                ip if ip.is_unspecified() => {
                    return Err(CliError(
                        "--cluster-init needs --advertise-address when --bind-address is unspecified: etcd's peers must reach it".into(),
                    ))
                }
                ip => ip,
            };
            let name = a.cluster.node_name.clone().unwrap_or_else(crate::cluster::hostname);
            let node = crate::cluster::NodeConfig::first(
                name,
                address,
                a.cluster.etcd_client_port,
                a.cluster.etcd_peer_port,
            );
            node.save(data_dir)?;
            Some(node)
        }
        None => None,
    };
    if let Some(node) = &node {
        for (given, flag, port, saved) in [
            (a.explicit.etcd_client_port, "--etcd-client-port", a.cluster.etcd_client_port, node.client_port),
            (a.explicit.etcd_peer_port, "--etcd-peer-port", a.cluster.etcd_peer_port, node.peer_port),
        ] {
            if given && port != saved {
                // The member's URLs are in every peer's membership: they do not move.
                return Err(CliError(format!(
                    "{flag} {port}: control plane `{}` in {} has its etcd member on port {saved} (its peers know it there); \
                     leave {flag} out, or remove the member and join again to move it",
                    node.node_name,
                    data_dir.display()
                )));
            }
        }
        if !a.flags.etcd_servers.is_empty() {
            return Err(CliError(format!(
                "{} runs a managed etcd member (`{}`): --etcd-servers cannot be given as well",
                data_dir.display(),
                node.node_name
            )));
        }
        if let Some(name) = &a.cluster.node_name {
            if name != &node.node_name {
                return Err(CliError(format!(
                    "{} belongs to control plane `{}`, not `{name}`",
                    data_dir.display(),
                    node.node_name
                )));
            }
        }
    } else if a.cluster.cluster_reset {
        return Err(CliError(format!("--cluster-reset: {} runs no managed etcd", data_dir.display())));
    }
    Ok(node)
}

async fn open_store(data_dir: &Path, flags: &ApiServerFlags) -> Result<Arc<dyn storage::Store>, CliError> {
    if !flags.etcd_servers.is_empty() {
        let tls = flags.etcd_cafile.clone().map(|ca_file| storage::etcd::EtcdTls {
            ca_file,
            cert_file: flags.etcd_certfile.clone(),
            key_file: flags.etcd_keyfile.clone(),
        });
        let options =
            storage::etcd::EtcdOptions { prefix: flags.etcd_prefix.clone(), tls, ..Default::default() };
        let store = storage::etcd::EtcdStore::connect(&flags.etcd_servers, options)
            .await
            .map_err(|e| CliError(format!("connecting to etcd {}: {e}", flags.etcd_servers.join(","))))?;
        tracing::info!(endpoints = %flags.etcd_servers.join(","), "storing objects in etcd");
        return Ok(Arc::new(store));
    }
    let store = storage::EmbeddedStore::open(&data_dir.join("store"))
        .map_err(|e| CliError(format!("opening the store in {}: {e}", data_dir.display())))?;
    Ok(Arc::new(store))
}

pub async fn wait_for_shutdown() {
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

pub async fn up(a: UpArgs) -> Result<(), CliError> {
    up_serving(a, None).await
}

/// `up` for `join`: `guard` learns whether the node ever served, and removes the join's etcd
/// member when the API server fails to start (while this node's etcd still runs: a cluster
/// of two voters needs it for quorum).
pub async fn up_serving(a: UpArgs, guard: Option<&crate::cluster::join::JoinGuard>) -> Result<(), CliError> {
    a.flags.validate().map_err(err)?;
    std::fs::create_dir_all(&a.data_dir).map_err(|e| CliError(format!("{}: {e}", a.data_dir.display())))?;
    let data_dir = a.data_dir.canonicalize().map_err(err)?;
    if a.cluster.cluster_init
        && !data_dir.join(crate::cluster::NODE_FILE).exists()
        && data_dir.join("store").exists()
    {
        // Its objects would be left behind, unseen: they move with a snapshot.
        return Err(CliError(format!(
            "{} already holds an embedded store: move it onto a managed etcd with `kubeward snapshot save FILE` \
             then `kubeward snapshot restore FILE --cluster-init` (same data directory), or use a new data directory",
            data_dir.display()
        )));
    }
    let node = managed_node(&data_dir, &a)?;
    let cluster = pki::ClusterPki::at(&data_dir);
    let mut hostnames = Vec::new();
    if let Ok(h) = std::fs::read_to_string("/etc/hostname") {
        let h = h.trim();
        if !h.is_empty() {
            hostnames.push(h.to_string());
        }
    }
    let bind = a.flags.bind_address;
    if !bind.is_loopback() && !bind.is_unspecified() {
        hostnames.push(bind.to_string());
    }
    if let Some(node) = &node {
        let address = node.address.to_string();
        if !hostnames.contains(&address) {
            hostnames.push(address);
        }
    }
    if cluster.ensure(&hostnames).map_err(err)? {
        tracing::info!(dir = %cluster.dir.display(), "created cluster PKI");
    }
    let (store, mut member): (Arc<dyn storage::Store>, _) = match node {
        Some(node) => {
            let binary = crate::cluster::etcd_binary(a.cluster.etcd_binary.as_deref())?;
            let started =
                crate::cluster::member::start(&data_dir, node, binary, a.cluster.cluster_reset).await?;
            (Arc::new(started.store), Some((started.supervisor, started.node)))
        }
        None => (open_store(&data_dir, &a.flags).await?, None),
    };
    let mut flags = a.flags;
    if let Some((_, node)) = &member {
        match node.secure_port {
            Some(saved) if a.explicit.secure_port && saved != flags.secure_port => tracing::info!(
                saved,
                port = flags.secure_port,
                "--secure-port overrides the port saved in {}",
                crate::cluster::NODE_FILE
            ),
            Some(saved) if !a.explicit.secure_port => flags.secure_port = saved,
            _ => {}
        }
        flags.advertise_address.get_or_insert(node.address);
        // A control plane serves where its etcd member is, unless told otherwise: the
        // default loopback bind becomes the node's address.
        if flags.bind_address == IpAddr::from([127, 0, 0, 1]) && node.address != IpAddr::from([127, 0, 0, 1])
        {
            flags.bind_address = node.address;
        }
    }
    up_defaults(&mut flags, &cluster, &data_dir);
    let node_name = match &member {
        Some((_, node)) => node.node_name.clone(),
        None => a.cluster.node_name.clone().unwrap_or_else(crate::cluster::hostname),
    };
    let identity = format!("{node_name}_{}", stable_id(&data_dir)?);
    let leader_election = flags.leader_election(&identity);
    let mut config = flags
        .config(cluster.serving_cert.display().to_string(), cluster.serving_key.display().to_string())
        .map_err(err)?;
    config.node_name = node_name;
    config.leader_election = leader_election;
    config.root_ca_file = Some(cluster.ca_cert.display().to_string());
    config.bootstrap_admin_user = Some(pki::ADMIN_USER.into());
    if config.kubelet.client_certificate.as_deref() == Some(cluster.kubelet_client_cert.as_path()) {
        config.bootstrap_kubelet_client_user = Some(pki::KUBELET_CLIENT.into());
    }
    let running = match apiserver::start(config, store).await {
        Ok(r) => r,
        Err(e) => {
            if let Some(guard) = guard {
                guard.remove_member().await;
            }
            if let Some((supervisor, _)) = member.take() {
                supervisor.stop().await;
            }
            return Err(err(e));
        }
    };
    // The admin certificate is revocable like any other: it is in the record.
    let admin_pem = pki::read_to_string(&cluster.admin_cert).map_err(err)?;
    match pki::records::IssuedRecord::from_pem(&admin_pem, "kubeward up") {
        Some(record) => {
            if let Err(e) =
                apiserver::controllers::issued_certs::record(&running.state.objects, &record).await
            {
                tracing::warn!(error = %e.message, "the admin certificate is not recorded");
            }
        }
        None => tracing::warn!(path = %cluster.admin_cert.display(), "the admin certificate does not parse"),
    }
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
    if let Some((_, node)) = &mut member {
        // The port served (a `--secure-port 0` picked one) is this node's from now on;
        // saved before the ready line, so whoever saw that line finds it saved.
        if node.secure_port != Some(running.addr.port()) {
            node.secure_port = Some(running.addr.port());
            if let Err(e) = node.save(&data_dir) {
                tracing::warn!(error = %e, "the secure port is not saved");
            }
        }
    }
    if let Some(guard) = guard {
        guard.served.store(true, std::sync::atomic::Ordering::Release);
    }
    println!("kubeward is ready at {server}");
    println!("admin kubeconfig: {}", kubeconfig.display());
    println!("  export KUBECONFIG={}", kubeconfig.display());
    println!("  kubectl get namespaces");
    if let Some((_, node)) = &member {
        let api_server = match node.address {
            IpAddr::V6(ip) => format!("https://[{ip}]:{}", running.addr.port()),
            IpAddr::V4(ip) => format!("https://{ip}:{}", running.addr.port()),
        };
        crate::cluster::members::watch(data_dir.clone(), api_server);
    }
    let Some((mut supervisor, node)) = member else {
        wait_for_shutdown().await;
        running.election.release().await;
        return Ok(());
    };
    let outcome = tokio::select! {
        _ = wait_for_shutdown() => Ok(()),
        exit = supervisor.exits.recv() => match exit {
            Some(crate::cluster::etcd_child::Exit::Removed) => {
                Err(CliError(crate::cluster::member::removed_message(&data_dir, &node)))
            }
            None => Ok(()),
        },
    };
    running.election.release().await;
    supervisor.stop().await;
    outcome
}

/// A random id kept in the data directory, so a restarted server is the same leader
/// election candidate (and takes back its own Lease at once).
fn stable_id(data_dir: &Path) -> Result<String, CliError> {
    let path = data_dir.join("identity");
    if let Ok(id) = std::fs::read_to_string(&path) {
        let id = id.trim();
        if !id.is_empty() {
            return Ok(id.to_string());
        }
    }
    let id = crate::flags::random_id();
    pki::write_public(&path, &id).map_err(err)?;
    Ok(id)
}

/// Safe defaults `up` gives what the user left unset: the cluster PKI for client
/// certificates, service-account tokens, the front proxy and kubeward's client certificate to
/// kubelets, kube's default admission
/// plugins with NodeRestriction and DenyServiceExternalIPs (kubeward proxies no Service
/// traffic, and a Service's externalIPs are CVE-2020-8554), bootstrap tokens, an audit log.
fn up_defaults(flags: &mut ApiServerFlags, cluster: &pki::ClusterPki, data_dir: &Path) {
    flags.client_ca_file.get_or_insert_with(|| cluster.ca_cert.display().to_string());
    flags.service_account_signing_key_file.get_or_insert_with(|| cluster.sa_key.clone());
    flags
        .requestheader_client_ca_file
        .get_or_insert_with(|| cluster.front_proxy_ca_cert.display().to_string());
    if flags.requestheader_allowed_names.is_empty() {
        flags.requestheader_allowed_names = vec!["front-proxy-client".into()];
    }
    if flags.kubelet_client_certificate.is_none() && flags.kubelet_client_key.is_none() {
        flags.kubelet_client_certificate = Some(cluster.kubelet_client_cert.clone());
        flags.kubelet_client_key = Some(cluster.kubelet_client_key.clone());
    }
    if flags.enable_admission_plugins.is_empty() {
        flags.enable_admission_plugins = vec!["NodeRestriction".into(), "DenyServiceExternalIPs".into()];
    }
    flags.enable_bootstrap_token_auth = true;
    if flags.cluster_signing_cert_file.is_none() && flags.cluster_signing_key_file.is_none() {
        flags.cluster_signing_cert_file = Some(cluster.ca_cert.clone());
        flags.cluster_signing_key_file = Some(cluster.ca_key.clone());
    }
    flags.audit_log_path.get_or_insert_with(|| data_dir.join("audit.log"));
    if flags.token_auth_file.is_none() && data_dir.join(TOKEN_FILE).exists() {
        flags.token_auth_file = Some(data_dir.join(TOKEN_FILE));
    }
}

/// `kubeward check cis`: the server's configuration from its arguments (or a process's
/// command line), evaluated and printed as a table.
fn check_cis(a: CisArgs) -> Result<(), CliError> {
    let args = match a.pid {
        Some(pid) => {
            let raw = std::fs::read(format!("/proc/{pid}/cmdline"))
                .map_err(|e| CliError(format!("reading the command line of process {pid}: {e}")))?;
            let mut args: Vec<String> = raw
                .split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            if args.is_empty() {
                return Err(CliError(format!("process {pid} has no command line")));
            }
            args.remove(0);
            args
        }
        None if a.args.is_empty() => vec!["up".into()],
        None => a.args,
    };
    let parsed = Cli::try_parse_from(std::iter::once("kubeward".to_string()).chain(args.iter().cloned()))
        .map_err(|e| CliError(format!("the server's arguments: {e}")))?;
    let effective = match parsed.command {
        Command::Up(mut up) => {
            let data_dir = up.data_dir.canonicalize().unwrap_or(up.data_dir.clone());
            let cluster = pki::ClusterPki::at(&data_dir);
            up_defaults(&mut up.flags, &cluster, &data_dir);
            crate::cis::Effective {
                mode: crate::cis::Mode::Up,
                flags: up.flags,
                tls_cert_file: cluster.serving_cert.display().to_string(),
                tls_private_key_file: cluster.serving_key.display().to_string(),
                raw: args,
            }
        }
        Command::Server(s) => crate::cis::Effective {
            mode: crate::cis::Mode::Server,
            flags: s.flags,
            tls_cert_file: s.tls_cert_file,
            tls_private_key_file: s.tls_private_key_file,
            raw: args,
        },
        _ => return Err(CliError("check cis judges `up` or `server` arguments".into())),
    };
    print!("{}", crate::cis::table(&effective, &crate::cis::evaluate(&effective)));
    Ok(())
}

async fn server(a: ServerArgs) -> Result<(), CliError> {
    a.flags.validate().map_err(err)?;
    let store = open_store(&a.data_dir, &a.flags).await?;
    let root_ca = a.root_ca_file.clone();
    let mut config = a.flags.config(a.tls_cert_file, a.tls_private_key_file).map_err(err)?;
    if root_ca.is_some() {
        config.root_ca_file = root_ca;
    }
    let running = apiserver::start(config, store).await.map_err(err)?;
    println!("kubeward is ready at https://{}", running.addr);
    wait_for_shutdown().await;
    running.election.release().await;
    Ok(())
}

async fn who_can(a: WhoCanArgs) -> Result<(), CliError> {
    use crate::rbac_tools;
    let client = rbac_tools::client(a.kubeconfig.as_deref()).await?;
    let target = rbac_tools::resolve(&client, &a.resource).await?;
    let policy = rbac_tools::fetch_policy(&client, &a.namespace).await?;
    let grants =
        rbac_tools::who_can(&policy, &a.verb, &target, &a.namespace, a.name.as_deref().unwrap_or(""))
            .map_err(err)?;
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
    println!(
        "rbac: {}",
        rbac_tools::explain(&policy, user, &a.verb, &target, &a.namespace, name).map_err(err)?
    );
    if let Some(file) = &a.filename {
        let acting =
            crate::admission_explain::impersonating(a.kubeconfig.as_deref(), &a.as_user, &a.as_groups)
                .await?;
        println!(
            "{}",
            crate::admission_explain::explain(&acting, &client, &a.verb, &a.namespace, file).await?
        );
    }
    Ok(())
}
