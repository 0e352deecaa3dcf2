//! Control planes on a managed etcd (issue #16): each `kubeward up --cluster-init` or
//! `kubeward join` runs an etcd member as a supervised child and kubeward on it.
//!
//! - this file: the node's settings (`<data-dir>/cluster.json`, mode 0600, as kubeadm keeps
//!   its config: node name, addresses, etcd ports, the API server's secure port, etcd member
//!   id, the peers last seen), kept so a plain `kubeward up --data-dir DIR` runs the same
//!   member on the same port again;
//! - `etcd_child`: the etcd process (started, restarted when it dies, stopped with kubeward);
//! - `member`: starting this node's member (PKI, the removed-member check, health) and the
//!   store on it;
//! - `join`: `kubeward token create --print-join-command` and `kubeward join`;
//! - `members`: `kubeward member list|remove` and the watch for unreachable members
//!   (`--cluster-reset` is `member`'s `--force-new-cluster` start);
//! - `snapshot`: `kubeward snapshot save|restore` for both stores, and the move from the
//!   embedded store onto a managed etcd.

pub mod etcd_child;
pub mod join;
pub mod member;
pub mod members;
pub mod snapshot;

use crate::cli::CliError;
use serde_json::{json, Value};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// The file that makes a data directory a managed-etcd control plane.
pub const NODE_FILE: &str = "cluster.json";

/// etcd's default ports.
pub const DEFAULT_CLIENT_PORT: u16 = 2379;
pub const DEFAULT_PEER_PORT: u16 = 2380;

/// A control plane's settings, as saved in its data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeConfig {
    pub node_name: String,
    /// Where etcd listens and what it advertises (and kubeward's advertise address).
    pub address: IpAddr,
    pub client_port: u16,
    pub peer_port: u16,
    /// etcd's `--initial-cluster` for the first start (ignored by etcd afterwards).
    pub initial_cluster: String,
    /// `new` (the first member) or `existing` (a joining one).
    pub initial_cluster_state: String,
    /// This node's etcd member id, once known.
    pub member_id: Option<u64>,
    /// The client URLs of the other members, as last seen.
    pub peers: Vec<String>,
    /// The API server's secure port, once it served (`--secure-port` overrides it).
    pub secure_port: Option<u16>,
}

fn url(address: IpAddr, port: u16) -> String {
    match address {
        IpAddr::V6(ip) => format!("https://[{ip}]:{port}"),
        IpAddr::V4(ip) => format!("https://{ip}:{port}"),
    }
}

impl NodeConfig {
    /// The settings of a first member.
    pub fn first(node_name: String, address: IpAddr, client_port: u16, peer_port: u16) -> NodeConfig {
        let initial_cluster = format!("{node_name}={}", url(address, peer_port));
        NodeConfig {
            node_name,
            address,
            client_port,
            peer_port,
            initial_cluster,
            initial_cluster_state: "new".into(),
            member_id: None,
            peers: Vec::new(),
            secure_port: None,
        }
    }

    pub fn client_url(&self) -> String {
        url(self.address, self.client_port)
    }

    pub fn peer_url(&self) -> String {
        url(self.address, self.peer_port)
    }

    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(NODE_FILE)
    }

    /// The saved settings, `None` when the directory is not a managed-etcd control plane.
    pub fn load(data_dir: &Path) -> Result<Option<NodeConfig>, CliError> {
        let path = Self::path(data_dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(CliError(format!("reading {}: {e}", path.display()))),
        };
        let bad = |what: &str| CliError(format!("{}: {what}", path.display()));
        let v: Value = serde_json::from_str(&text).map_err(|e| bad(&e.to_string()))?;
        let s = |k: &str| {
            v.get(k).and_then(Value::as_str).map(str::to_string).ok_or_else(|| bad(&format!("no `{k}`")))
        };
        let port = |k: &str| {
            v.get(k)
                .and_then(Value::as_u64)
                .and_then(|p| u16::try_from(p).ok())
                .ok_or_else(|| bad(&format!("no `{k}`")))
        };
        Ok(Some(NodeConfig {
            node_name: s("nodeName")?,
            address: s("address")?.parse().map_err(|_| bad("`address` is not an IP address"))?,
            client_port: port("clientPort")?,
            peer_port: port("peerPort")?,
            initial_cluster: s("initialCluster")?,
            initial_cluster_state: s("initialClusterState")?,
            member_id: v
                .get("memberID")
                .and_then(Value::as_str)
                .and_then(|h| u64::from_str_radix(h, 16).ok()),
            peers: v
                .get("peers")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default(),
            secure_port: v.get("securePort").and_then(Value::as_u64).and_then(|p| u16::try_from(p).ok()),
        }))
    }

    pub fn save(&self, data_dir: &Path) -> Result<(), CliError> {
        let v = json!({
            "nodeName": self.node_name,
            "address": self.address.to_string(),
            "clientPort": self.client_port,
            "peerPort": self.peer_port,
            "initialCluster": self.initial_cluster,
            "initialClusterState": self.initial_cluster_state,
            "memberID": self.member_id.map(member_id),
            "peers": self.peers,
            "securePort": self.secure_port,
        });
        let text = serde_json::to_string_pretty(&v).map_err(|e| CliError(e.to_string()))?;
        // 0600: the node's settings are the operator's, as kubeadm's config.
        pki::write_private(&Self::path(data_dir), &text).map_err(|e| CliError(e.to_string()))
    }
}

/// etcd's way of writing a member id: hex.
pub fn member_id(id: u64) -> String {
    format!("{id:x}")
}

/// This machine's host name (the default node name).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// The etcd binary: the flag, else `$KUBEWARD_ETCD_BIN`, else `etcd` on `PATH`.
pub fn etcd_binary(flag: Option<&Path>) -> Result<PathBuf, CliError> {
    if let Some(p) = flag {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(CliError(format!("--etcd-binary {}: no such file", p.display())))
        };
    }
    if let Some(p) = std::env::var_os("KUBEWARD_ETCD_BIN") {
        return Ok(PathBuf::from(p));
    }
    std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).map(|d| d.join("etcd")).find(|c| c.is_file()))
        .ok_or_else(|| {
            CliError(
                "no etcd binary: install Debian's etcd-server (`apt-get install etcd-server`) or name one with --etcd-binary"
                    .into(),
            )
        })
}

/// The etcd client TLS of a control plane: the etcd CA and the API server's client
/// certificate.
pub fn etcd_tls(data_dir: &Path) -> storage::etcd::EtcdTls {
    let p = pki::etcd::EtcdPki::at(data_dir);
    storage::etcd::admin::tls(p.ca_cert, p.client_cert, p.client_key)
}

/// An administrative etcd client of `endpoints` with this control plane's credentials.
pub fn admin(
    data_dir: &Path,
    endpoints: &[String],
    timeout: std::time::Duration,
) -> Result<storage::etcd::admin::EtcdAdmin, CliError> {
    let options = storage::etcd::EtcdOptions {
        tls: Some(etcd_tls(data_dir)),
        dial_timeout: timeout,
        request_timeout: timeout,
        ..Default::default()
    };
    storage::etcd::admin::EtcdAdmin::new(endpoints, &options).map_err(|e| CliError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(NodeConfig::load(dir.path()).unwrap(), None);
        let mut n = NodeConfig::first("a".into(), "127.0.0.2".parse().unwrap(), 2379, 2380);
        n.member_id = Some(0x8e9e05c52164694d);
        n.peers = vec!["https://127.0.0.3:2379".into()];
        n.secure_port = Some(6443);
        n.save(dir.path()).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(NodeConfig::path(dir.path())).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(NodeConfig::load(dir.path()).unwrap(), Some(n.clone()));
        assert_eq!(n.initial_cluster, "a=https://127.0.0.2:2380");
        assert_eq!(n.client_url(), "https://127.0.0.2:2379");
    }
}
