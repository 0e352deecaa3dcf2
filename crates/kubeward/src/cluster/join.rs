//! Joining a control plane in one command, in kubeadm's words and formats.
//!
//! `kubeward token create --print-join-command` (on a control plane, with its data
//! directory): a bootstrap token Secret, the `kube-public/cluster-info` ConfigMap (the
//! cluster's kubeconfig without credentials) signed for that token (`jws-kubeconfig-<id>`),
//! the RBAC that lets strangers read cluster-info and the token's holders read the
//! control-plane keys, and those keys uploaded encrypted under a new certificate key in
//! `kube-system/kubeward-certs` (kubeadm's `kubeadm-certs`), expiring after 2 h.
//!
//! `kubeward join URL --token T --discovery-token-ca-cert-hash sha256:H --control-plane
//! --certificate-key K`: fetches cluster-info without trusting the server, checks the
//! token's signature and the CA pin, then (trusting that CA) fetches and decrypts the keys
//! with the token, writes them, adds its etcd member as a learner and runs `up`, which
//! promotes the learner once it has caught up and serves.

use super::{admin, member_id, NodeConfig};
use crate::cli::{CliError, UpArgs};
use base64::Engine;
use clap::Args;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, PostParams};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// kubeadm's group of the tokens it creates, granted the control-plane keys.
pub const TOKEN_GROUP: &str = "system:bootstrappers:kubeadm:default-node-token";
/// The Secret with the encrypted control-plane keys (kubeadm's `kubeadm-certs`).
pub const CERTS_SECRET: &str = apiserver::controllers::token_cleaner::CERTS_SECRET;
/// How long uploaded keys may be fetched (kubeadm's certificate key TTL).
pub const CERTS_TTL: Duration = Duration::from_secs(2 * 3600);
/// The records of the control planes (`kube-system`), one data key per node.
pub const RECORDS: &str = "kubeward-control-planes";
const CLUSTER_INFO: &str = "cluster-info";
/// How long a join waits for etcd to accept a new member.
const ADD_RETRY: Duration = Duration::from_secs(30);

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn rfc3339_in(d: Duration) -> String {
    let t = chrono::Utc::now() + chrono::Duration::from_std(d).unwrap_or_else(|_| chrono::Duration::hours(2));
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[derive(Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(clap::Subcommand)]
enum TokenCommand {
    /// Create a bootstrap token (kubeadm's `token create`).
    Create(TokenCreateArgs),
}

#[derive(Args)]
struct TokenCreateArgs {
    /// Print the whole `kubeward join` command of a new control plane (and upload the
    /// control-plane keys for it, encrypted with a new certificate key, for 2 h).
    #[arg(long)]
    print_join_command: bool,
    /// How long the token is valid (a Go duration).
    #[arg(long, default_value = "24h", value_parser = crate::flags::parse_duration)]
    ttl: Duration,
    /// This control plane's data directory (its CA and keys, its admin kubeconfig).
    #[arg(long, default_value = ".kubeward", env = "KUBEWARD_DATA_DIR")]
    data_dir: PathBuf,
}

fn err(e: impl std::fmt::Display) -> CliError {
    CliError(e.to_string())
}

/// A client of a server with the admin kubeconfig of a data directory.
pub async fn admin_client(data_dir: &Path) -> Result<(kube::Client, String), CliError> {
    let path = data_dir.join("admin.kubeconfig");
    let kc = kube::config::Kubeconfig::read_from(&path)
        .map_err(|e| CliError(format!("{}: {e}", path.display())))?;
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .map_err(|e| CliError(format!("{}: {e}", path.display())))?;
    let server = config.cluster_url.to_string().trim_end_matches('/').to_string();
    Ok((kube::Client::try_from(config).map_err(err)?, server))
}

pub async fn token(a: TokenArgs) -> Result<(), CliError> {
    let TokenCommand::Create(a) = a.command;
    let data_dir =
        a.data_dir.canonicalize().map_err(|e| CliError(format!("{}: {e}", a.data_dir.display())))?;
    let (client, server) = admin_client(&data_dir).await?;
    let token = pki::join::BootstrapToken::generate().map_err(err)?;
    create_token_secret(&client, &token, a.ttl).await?;
    if !a.print_join_command {
        println!("{}", token.text());
        return Ok(());
    }
    let cluster = pki::ClusterPki::at(&data_dir);
    let ca_pem = pki::read_to_string(&cluster.ca_cert).map_err(err)?;
    sign_cluster_info(&client, &server, &ca_pem, &token).await?;
    ensure_rbac(&client).await?;
    let key = pki::join::CertificateKey::generate().map_err(err)?;
    upload_certs(&client, &data_dir, &key).await?;
    let hash = pki::join::ca_cert_hash(&ca_pem).map_err(err)?;
    println!(
        "kubeward join {server} --token {} --discovery-token-ca-cert-hash {hash} --control-plane --certificate-key {}",
        token.text(),
        key.text()
    );
    Ok(())
}

async fn create_token_secret(
    client: &kube::Client,
    token: &pki::join::BootstrapToken,
    ttl: Duration,
) -> Result<(), CliError> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "kube-system");
    let secret: Secret = serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": format!("bootstrap-token-{}", token.id), "namespace": "kube-system"},
        "type": "bootstrap.kubernetes.io/token",
        "data": {
            "description": b64(b"kubeward join"),
            "token-id": b64(token.id.as_bytes()),
            "token-secret": b64(token.secret.as_bytes()),
            "expiration": b64(rfc3339_in(ttl).as_bytes()),
            "usage-bootstrap-authentication": b64(b"true"),
            "usage-bootstrap-signing": b64(b"true"),
            "auth-extra-groups": b64(TOKEN_GROUP.as_bytes()),
        },
    }))
    .map_err(err)?;
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .map_err(|e| CliError(format!("creating the bootstrap token: {e}")))?;
    Ok(())
}

/// The kubeconfig cluster-info publishes: the server and its CA, no credentials.
fn cluster_info_kubeconfig(server: &str, ca_pem: &str) -> String {
    format!(
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {}\n    server: {server}\n  name: \"\"\ncontexts: null\ncurrent-context: \"\"\nkind: Config\npreferences: {{}}\nusers: null\n",
        b64(ca_pem.as_bytes())
    )
}

/// Puts the token's signature of the cluster-info kubeconfig into the ConfigMap (made
/// with this server's URL when absent), retried on conflict.
async fn sign_cluster_info(
    client: &kube::Client,
    server: &str,
    ca_pem: &str,
    token: &pki::join::BootstrapToken,
) -> Result<(), CliError> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "kube-public");
    for _ in 0..8 {
        let current =
            api.get_opt(CLUSTER_INFO).await.map_err(|e| CliError(format!("reading cluster-info: {e}")))?;
        let mut cm = current.clone().unwrap_or_else(|| ConfigMap {
            metadata: kube::api::ObjectMeta {
                name: Some(CLUSTER_INFO.into()),
                namespace: Some("kube-public".into()),
                ..Default::default()
            },
            ..Default::default()
        });
        let mut data = cm.data.take().unwrap_or_default();
        let kubeconfig = data
            .entry("kubeconfig".into())
            .or_insert_with(|| cluster_info_kubeconfig(server, ca_pem))
            .clone();
        data.insert(format!("jws-kubeconfig-{}", token.id), pki::join::jws_sign(&kubeconfig, token));
        cm.data = Some(data);
        let written = match current {
            Some(_) => api.replace(CLUSTER_INFO, &PostParams::default(), &cm).await,
            None => api.create(&PostParams::default(), &cm).await,
        };
        match written {
            Ok(_) => return Ok(()),
            Err(kube::Error::Api(e)) if e.code == 409 => continue,
            Err(e) => return Err(CliError(format!("writing cluster-info: {e}"))),
        }
    }
    Err(CliError("writing cluster-info: conflicting writers".into()))
}

/// kubeadm's RBAC for discovery and for the keys: anyone may read cluster-info; the
/// token's group may read the uploaded keys.
async fn ensure_rbac(client: &kube::Client) -> Result<(), CliError> {
    let objects = [
        (
            "roles",
            "kube-public",
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "kubeadm:bootstrap-signer-clusterinfo", "namespace": "kube-public"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [CLUSTER_INFO], "verbs": ["get"]}]}),
        ),
        (
            "rolebindings",
            "kube-public",
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "kubeadm:bootstrap-signer-clusterinfo", "namespace": "kube-public"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "kubeadm:bootstrap-signer-clusterinfo"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "system:anonymous"}]}),
        ),
        (
            "roles",
            "kube-system",
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "kubeward:kubeward-certs", "namespace": "kube-system"},
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "resourceNames": [CERTS_SECRET], "verbs": ["get"]}]}),
        ),
        (
            "rolebindings",
            "kube-system",
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "kubeward:kubeward-certs", "namespace": "kube-system"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "kubeward:kubeward-certs"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": TOKEN_GROUP}]}),
        ),
    ];
    for (plural, ns, obj) in objects {
        let ar = kube::api::ApiResource {
            group: "rbac.authorization.k8s.io".into(),
            version: "v1".into(),
            api_version: "rbac.authorization.k8s.io/v1".into(),
            kind: obj["kind"].as_str().unwrap_or_default().into(),
            plural: plural.into(),
        };
        let api: Api<kube::api::DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
        let obj: kube::api::DynamicObject = serde_json::from_value(obj).map_err(err)?;
        match api.create(&PostParams::default(), &obj).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 409 => {}
            Err(e) => return Err(CliError(format!("creating {plural} in {ns}: {e}"))),
        }
    }
    Ok(())
}

/// The control-plane keys a joining node needs: kubeadm's names, and where they live.
fn shared_files(data_dir: &Path) -> Vec<(&'static str, PathBuf)> {
    let c = pki::ClusterPki::at(data_dir);
    let e = pki::etcd::EtcdPki::at(data_dir);
    vec![
        ("ca.crt", c.ca_cert),
        ("ca.key", c.ca_key),
        ("sa.key", c.sa_key),
        ("front-proxy-ca.crt", c.front_proxy_ca_cert),
        ("front-proxy-ca.key", c.front_proxy_ca_key),
        ("etcd-ca.crt", e.ca_cert),
        ("etcd-ca.key", e.ca_key),
    ]
}

async fn upload_certs(
    client: &kube::Client,
    data_dir: &Path,
    key: &pki::join::CertificateKey,
) -> Result<(), CliError> {
    let mut data = serde_json::Map::new();
    for (name, path) in shared_files(data_dir) {
        // A cluster without a managed etcd has no etcd CA (a join then says so).
        if name.starts_with("etcd-") && !path.exists() {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|e| CliError(format!("{}: {e}", path.display())))?;
        data.insert(name.into(), json!(b64(&key.encrypt(&bytes).map_err(err)?)));
    }
    data.insert("expiration".into(), json!(b64(rfc3339_in(CERTS_TTL).as_bytes())));
    let secret: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": CERTS_SECRET, "namespace": "kube-system"},
        "type": "Opaque",
        "data": data,
    }))
    .map_err(err)?;
    let api: Api<Secret> = Api::namespaced(client.clone(), "kube-system");
    match api.create(&PostParams::default(), &secret).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 409 => {
            let mut current = api.get(CERTS_SECRET).await.map_err(err)?;
            current.data = secret.data;
            api.replace(CERTS_SECRET, &PostParams::default(), &current).await.map_err(err).map(|_| ())
        }
        Err(e) => Err(CliError(format!("uploading the control-plane keys: {e}"))),
    }
}

#[derive(Args)]
pub struct JoinArgs {
    /// The API server to join through (`https://HOST:PORT`).
    pub server: String,
    /// The bootstrap token (`kubeward token create`).
    #[arg(long)]
    pub token: String,
    /// The cluster CA's public key pin, `sha256:<hex>`.
    #[arg(long)]
    pub discovery_token_ca_cert_hash: String,
    /// Join as a control plane (the only kind of node kubeward has).
    #[arg(long)]
    pub control_plane: bool,
    /// The key that decrypts the uploaded control-plane keys.
    #[arg(long)]
    pub certificate_key: Option<String>,
    #[command(flatten)]
    pub up: UpArgs,
}

/// A client of `server`: trusting `ca_pem`, or (discovery only) any certificate; with a
/// bearer token or anonymous.
async fn kube_client(
    server: &str,
    ca_pem: Option<&str>,
    token: Option<&str>,
) -> Result<kube::Client, CliError> {
    let trust = match ca_pem {
        Some(pem) => format!("certificate-authority-data: {}", b64(pem.as_bytes())),
        None => "insecure-skip-tls-verify: true".into(),
    };
    let user = match token {
        Some(t) => format!("{{token: {t}}}"),
        None => "{}".into(),
    };
    let yaml = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n    {trust}\nusers:\n- name: u\n  user: {user}\ncontexts:\n- name: c\n  context: {{cluster: c, user: u}}\ncurrent-context: c\n"
    );
    let kc = kube::config::Kubeconfig::from_yaml(&yaml).map_err(|e| CliError(format!("`{server}`: {e}")))?;
    let mut config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .map_err(|e| CliError(format!("`{server}`: {e}")))?;
    config.connect_timeout = Some(Duration::from_secs(10));
    config.read_timeout = Some(Duration::from_secs(30));
    kube::Client::try_from(config).map_err(err)
}

/// Discovery as kubeadm's token discovery: the CA of the cluster at `server`, trusted only
/// once the token's signature and the CA pin check out.
async fn discover(server: &str, token: &pki::join::BootstrapToken, pin: &str) -> Result<String, CliError> {
    let insecure = kube_client(server, None, None).await?;
    let api: Api<ConfigMap> = Api::namespaced(insecure, "kube-public");
    let cm = api.get(CLUSTER_INFO).await.map_err(|e| match e {
        kube::Error::Api(s) if s.code == 403 || s.code == 404 || s.code == 401 => CliError(format!(
            "{server} publishes no kube-public/cluster-info ({}): create a join command with `kubeward token create --print-join-command` on a control plane",
            s.message
        )),
        e => CliError(format!("fetching cluster-info from {server}: {e}")),
    })?;
    let data = cm.data.unwrap_or_default();
    let kubeconfig =
        data.get("kubeconfig").ok_or_else(|| CliError("cluster-info has no kubeconfig".into()))?;
    let Some(jws) = data.get(&format!("jws-kubeconfig-{}", token.id)) else {
        return Err(CliError(format!(
            "wrong --token: token id `{}` is invalid for this cluster or it has expired; create a new one with `kubeward token create --print-join-command` on a control plane",
            token.id
        )));
    };
    if !pki::join::jws_verify(jws, kubeconfig, token) {
        return Err(CliError(
            "wrong --token: its secret does not verify the JWS signature of cluster-info, so this API server cannot be trusted".into(),
        ));
    }
    let kc = kube::config::Kubeconfig::from_yaml(kubeconfig)
        .map_err(|e| CliError(format!("cluster-info's kubeconfig: {e}")))?;
    let ca_b64 = kc
        .clusters
        .first()
        .and_then(|c| c.cluster.as_ref())
        .and_then(|c| c.certificate_authority_data.clone())
        .ok_or_else(|| CliError("cluster-info's kubeconfig has no CA".into()))?;
    let ca_pem = base64::engine::general_purpose::STANDARD
        .decode(ca_b64.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| CliError("cluster-info's CA is not base64 PEM".into()))?;
    let found = pki::join::ca_cert_hash(&ca_pem).map_err(err)?;
    if !found.eq_ignore_ascii_case(pin) {
        return Err(CliError(format!(
            "wrong --discovery-token-ca-cert-hash: the cluster CA's public key is {found}, not the pinned {pin}"
        )));
    }
    Ok(ca_pem)
}

/// The uploaded control-plane keys, decrypted.
async fn fetch_certs(
    server: &str,
    ca_pem: &str,
    token: &pki::join::BootstrapToken,
    key: &pki::join::CertificateKey,
) -> Result<BTreeMap<String, Vec<u8>>, CliError> {
    let client = kube_client(server, Some(ca_pem), Some(&token.text())).await?;
    let api: Api<Secret> = Api::namespaced(client, "kube-system");
    let secret = api.get(CERTS_SECRET).await.map_err(|e| match e {
        kube::Error::Api(s) if s.code == 401 => {
            CliError("wrong --token: the API server does not accept it (unknown or expired)".into())
        }
        kube::Error::Api(s) if s.code == 404 || s.code == 403 => CliError(format!(
            "no control-plane keys to fetch (kube-system/{CERTS_SECRET}: {}): they expire 2h after `kubeward token create --print-join-command`; run it again",
            s.message
        )),
        e => CliError(format!("fetching kube-system/{CERTS_SECRET}: {e}")),
    })?;
    let data = secret.data.unwrap_or_default();
    if let Some(exp) = data.get("expiration").and_then(|e| String::from_utf8(e.0.clone()).ok()) {
        if chrono::DateTime::parse_from_rfc3339(&exp).is_ok_and(|t| t < chrono::Utc::now()) {
            return Err(CliError(format!(
                "the control-plane keys in kube-system/{CERTS_SECRET} expired at {exp}: run `kubeward token create --print-join-command` again"
            )));
        }
    }
    let mut out = BTreeMap::new();
    for (name, value) in data {
        if name == "expiration" {
            continue;
        }
        let plain = key.decrypt(&value.0).map_err(|e| {
            CliError(format!(
                "wrong --certificate-key: {e} (kube-system/{CERTS_SECRET}, `{name}`); use the key printed with this join command"
            ))
        })?;
        out.insert(name, plain);
    }
    Ok(out)
}

/// `kubeward join`.
pub async fn join(a: JoinArgs) -> Result<(), CliError> {
    let started = std::time::Instant::now();
    if !a.control_plane {
        return Err(CliError(
            "kubeward joins control planes only: add --control-plane and --certificate-key".into(),
        ));
    }
    let token = pki::join::BootstrapToken::parse(&a.token).ok_or_else(|| {
        CliError("wrong --token: a bootstrap token has the form [a-z0-9]{6}.[a-z0-9]{16}".into())
    })?;
    if !pki::join::valid_ca_cert_hash(&a.discovery_token_ca_cert_hash) {
        return Err(CliError(
            "wrong --discovery-token-ca-cert-hash: it has the form sha256:<64 hex digits>".into(),
        ));
    }
    let key_text = a
        .certificate_key
        .as_deref()
        .ok_or_else(|| CliError("--control-plane needs --certificate-key".into()))?;
    let key = pki::join::CertificateKey::parse(key_text)
        .map_err(|e| CliError(format!("wrong --certificate-key: {e}")))?;
    let server = a.server.trim_end_matches('/').to_string();
    let server = if server.starts_with("https://") { server } else { format!("https://{server}") };
    std::fs::create_dir_all(&a.up.data_dir)
        .map_err(|e| CliError(format!("{}: {e}", a.up.data_dir.display())))?;
    let data_dir = a.up.data_dir.canonicalize().map_err(err)?;
    if NodeConfig::load(&data_dir)?.is_some() || pki::ClusterPki::at(&data_dir).ca_cert.exists() {
        return Err(CliError(format!(
            "{} already holds a control plane: join into an empty data directory (or run `kubeward up` on it)",
            data_dir.display()
        )));
    }
    let ca_pem = discover(&server, &token, &a.discovery_token_ca_cert_hash).await?;
    tracing::info!(%server, "cluster CA pinned and cluster-info verified with the token");
    let certs = fetch_certs(&server, &ca_pem, &token, &key).await?;
    for (name, path) in shared_files(&data_dir) {
        let Some(bytes) = certs.get(name) else {
            if name.starts_with("etcd-") {
                return Err(CliError(format!(
                    "{server} runs no managed etcd: `kubeward join` adds control planes to a `kubeward up --cluster-init` cluster"
                )));
            }
            return Err(CliError(format!("kube-system/{CERTS_SECRET} lacks `{name}`")));
        };
        let text = String::from_utf8_lossy(bytes);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| CliError(format!("{}: {e}", dir.display())))?;
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
        if name.ends_with(".key") {
            pki::write_private(&path, &text).map_err(err)?;
        } else {
            pki::write_public(&path, &text).map_err(err)?;
        }
    }
    // This node's own certificates, from the cluster's CAs.
    let address = match a.up.flags.advertise_address.unwrap_or(a.up.flags.bind_address) {
        ip if ip.is_unspecified() => {
            return Err(CliError("join needs --advertise-address when --bind-address is unspecified".into()))
        }
        ip => ip,
    };
    let node_name = a.up.cluster.node_name.clone().unwrap_or_else(super::hostname);
    let cluster = pki::ClusterPki::at(&data_dir);
    cluster.ensure(&[address.to_string()]).map_err(err)?;
    pki::etcd::EtcdPki::at(&data_dir).ensure(&node_name, &[address.to_string()]).map_err(err)?;
    // The cluster's etcd members, from the control planes' records (read as admin).
    let admin_client = {
        let kc = pki::Kubeconfig {
            cluster_name: "kubeward".into(),
            server: server.clone(),
            ca_pem: ca_pem.clone(),
            user_name: pki::ADMIN_USER.into(),
            client_cert_pem: Some(pki::read_to_string(&cluster.admin_cert).map_err(err)?),
            client_key_pem: Some(pki::read_to_string(&cluster.admin_key).map_err(err)?),
            token: None,
        };
        let kc = kube::config::Kubeconfig::from_yaml(&kc.to_yaml()).map_err(err)?;
        let config = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await.map_err(err)?;
        kube::Client::try_from(config).map_err(err)?
    };
    let records = read_records(&admin_client).await?;
    if records.iter().any(|r| r.name == node_name) {
        return Err(CliError(format!(
            "a control plane named `{node_name}` is already in the cluster: choose another --node-name, or remove it first with `kubeward member remove {node_name}`"
        )));
    }
    let endpoints: Vec<String> = records.iter().map(|r| r.client_url.clone()).collect();
    if endpoints.is_empty() {
        return Err(CliError(format!("{server} names no managed etcd members (kube-system/{RECORDS}): is it a `kubeward up --cluster-init` cluster?")));
    }
    let mut node = NodeConfig::first(
        node_name.clone(),
        address,
        a.up.cluster.etcd_client_port,
        a.up.cluster.etcd_peer_port,
    );
    let etcd = admin(&data_dir, &endpoints, Duration::from_secs(10))?;
    // etcd's strict reconfiguration check refuses a change until every member has been
    // connected for 5 s (a member that just joined, or one that is down): retried a while.
    let add_deadline = std::time::Instant::now() + ADD_RETRY;
    let (added, members) = loop {
        match etcd.add(&node.peer_url(), true).await {
            Ok(done) => break done,
            Err(e) if e.to_string().contains("unhealthy cluster") && std::time::Instant::now() < add_deadline => {
                tracing::info!(error = %e, "etcd does not take a new member yet (a member is unreachable or joined just now); retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => {
                return Err(CliError(format!(
                    "etcd refused to add this member: {e}. If a control plane is gone, remove it first with `kubeward member remove NAME` on a healthy one (`kubeward member list` shows them)"
                )))
            }
        }
    };
    tracing::info!(member = %member_id(added.id), peer = %node.peer_url(), "added this node's etcd member as a learner");
    node.initial_cluster = members
        .iter()
        .filter_map(|m| {
            let name = if m.id == added.id { node_name.clone() } else { m.name.clone() };
            let peer = m.peer_urls.first()?;
            (!name.is_empty()).then(|| format!("{name}={peer}"))
        })
        .collect::<Vec<_>>()
        .join(",");
    node.initial_cluster_state = "existing".into();
    node.member_id = Some(added.id);
    node.peers =
        members.iter().filter(|m| m.id != added.id).flat_map(|m| m.client_urls.iter().cloned()).collect();
    node.save(&data_dir)?;
    tracing::info!(after = ?started.elapsed(), "joined; starting the control plane");
    let mut up = a.up;
    up.data_dir = data_dir.clone();
    let guard = JoinGuard {
        served: std::sync::atomic::AtomicBool::new(false),
        etcd,
        id: added.id,
        removal: tokio::sync::Mutex::new(None),
    };
    match crate::cli::up_serving(up, Some(&guard)).await {
        Err(e) if !guard.served.load(std::sync::atomic::Ordering::Acquire) => {
            Err(CliError(format!("{e}. {}", guard.roll_back(&data_dir, &node_name).await)))
        }
        outcome => outcome,
    }
}

/// How many times the rollback's member removal is tried (etcd's strict reconfiguration
/// check can refuse a removal for a few seconds after a member went away).
const ROLLBACK_ATTEMPTS: u32 = 15;

/// A join until its node serves: a failure before then removes the etcd member the join
/// added (a learner, or a voter once promoted), so the cluster is not left with a member
/// that never serves.
pub struct JoinGuard {
    /// Set by `up` once the API server is ready.
    pub served: std::sync::atomic::AtomicBool,
    /// The other members.
    etcd: storage::etcd::admin::EtcdAdmin,
    id: u64,
    /// The removal's outcome, once tried.
    removal: tokio::sync::Mutex<Option<Result<(), String>>>,
}

impl JoinGuard {
    /// Removes the join's member (once; retried through etcd's strict reconfiguration window).
    pub async fn remove_member(&self) {
        let mut removal = self.removal.lock().await;
        if removal.is_some() {
            return;
        }
        let mut last = String::new();
        for attempt in 0..ROLLBACK_ATTEMPTS {
            match self.etcd.remove(self.id).await {
                Ok(_) => {
                    *removal = Some(Ok(()));
                    return;
                }
                Err(e) if e.to_string().contains("member not found") => {
                    *removal = Some(Ok(()));
                    return;
                }
                Err(e) => last = e.to_string(),
            }
            if attempt + 1 < ROLLBACK_ATTEMPTS {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        *removal = Some(Err(last));
    }

    /// Rolls the join back after its node failed before serving: the member removed (unless
    /// `up` did it already), this member's settings and etcd data (only this join wrote
    /// them) forgotten. Says what it did, for the error.
    async fn roll_back(&self, data_dir: &Path, node_name: &str) -> String {
        self.remove_member().await;
        let outcome = self.removal.lock().await.clone().unwrap_or_else(|| Err("not tried".into()));
        let id = member_id(self.id);
        let dir = data_dir.display();
        match outcome {
            Ok(()) => {
                tracing::info!(member = %id, "join rolled back: removed this node's etcd member");
                let _ = std::fs::remove_file(NodeConfig::path(data_dir));
                let _ = std::fs::remove_dir_all(super::etcd_child::EtcdCommand::etcd_data(data_dir));
                format!(
                    "The join was rolled back: etcd member {id} (`{node_name}`) was removed from the cluster. \
                     To try again, wipe {dir} (`rm -rf {dir}`) and run a `kubeward join` command again"
                )
            }
            Err(last) => {
                tracing::error!(member = %id, error = %last, "the join's etcd member could not be removed");
                format!(
                    "The join was not rolled back: etcd member {id} stays in the cluster ({last}); \
                     remove it with `kubeward member remove {node_name}` on a healthy control plane"
                )
            }
        }
    }
}

/// One control plane as recorded in `kube-system/kubeward-control-planes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub name: String,
    pub member_id: String,
    pub client_url: String,
    pub peer_url: String,
    pub api_server: String,
}

impl Record {
    pub fn of(node: &NodeConfig, api_server: &str) -> Record {
        Record {
            name: node.node_name.clone(),
            member_id: node.member_id.map(member_id).unwrap_or_default(),
            client_url: node.client_url(),
            peer_url: node.peer_url(),
            api_server: api_server.to_string(),
        }
    }

    fn value(&self) -> String {
        json!({"etcdMemberID": self.member_id, "etcdClientURL": self.client_url,
               "etcdPeerURL": self.peer_url, "apiServer": self.api_server})
        .to_string()
    }

    fn parse(name: &str, value: &str) -> Option<Record> {
        let v: serde_json::Value = serde_json::from_str(value).ok()?;
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or_default().to_string();
        Some(Record {
            name: name.to_string(),
            member_id: s("etcdMemberID"),
            client_url: s("etcdClientURL"),
            peer_url: s("etcdPeerURL"),
            api_server: s("apiServer"),
        })
    }
}

/// Every recorded control plane.
pub async fn read_records(client: &kube::Client) -> Result<Vec<Record>, CliError> {
    let data = crate::cluster_data::read(client, "kube-system", RECORDS).await?;
    Ok(data.iter().filter_map(|(k, v)| Record::parse(k, v)).collect())
}

/// Records (or, with `None`, forgets) control plane `name`.
pub async fn write_record(
    client: &kube::Client,
    name: &str,
    record: Option<&Record>,
) -> Result<(), CliError> {
    crate::cluster_data::edit(client, "kube-system", RECORDS, false, |data| match record {
        Some(r) => data.insert(name.to_string(), r.value()).as_deref() != Some(r.value().as_str()),
        None => data.remove(name).is_some(),
    })
    .await
}
