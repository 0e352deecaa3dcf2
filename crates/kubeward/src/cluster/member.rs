//! Starting this control plane's etcd member and the store on it: the member's certificates,
//! the check that a restarted member was not removed meanwhile, etcd as a supervised child,
//! the wait until it follows a leader, the promotion of a learner once it has caught up,
//! and the object store over TLS with the API server's etcd client certificate.

use super::etcd_child::{EtcdCommand, Supervisor};
use super::{admin, member_id, NodeConfig};
use crate::cli::CliError;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long etcd may take to follow a leader after it starts.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a learner may take to catch up before its promotion is given up.
const PROMOTE_TIMEOUT: Duration = Duration::from_secs(300);

/// This node's etcd, running, and the store on it.
pub struct Started {
    pub supervisor: Supervisor,
    pub store: storage::etcd::EtcdStore,
    pub node: NodeConfig,
}

/// Starts the member of `node` (settings saved in `data_dir`) and connects the store.
pub async fn start(
    data_dir: &Path,
    mut node: NodeConfig,
    binary: std::path::PathBuf,
    reset: bool,
) -> Result<Started, CliError> {
    let etcd_pki = pki::etcd::EtcdPki::at(data_dir);
    if etcd_pki.ensure(&node.node_name, &[node.address.to_string()]).map_err(|e| CliError(e.to_string()))? {
        tracing::info!(dir = %etcd_pki.dir.display(), "created the etcd PKI");
    }
    if !reset {
        refuse_if_removed(data_dir, &node).await?;
    }
    let command = EtcdCommand {
        binary,
        data_dir: data_dir.to_path_buf(),
        node: node.clone(),
        force_new_cluster: reset,
    };
    let mut supervisor = Supervisor::start(command).await?;
    let ready = tokio::select! {
        ready = wait_ready(data_dir, &node) => ready,
        exit = supervisor.exits.recv() => match exit {
            Some(super::etcd_child::Exit::Removed) => Err(CliError(removed_message(data_dir, &node))),
            None => Err(CliError("etcd's supervisor ended".into())),
        },
    };
    let status = match ready {
        Ok(s) => s,
        Err(e) => {
            supervisor.stop().await;
            return Err(e);
        }
    };
    if status.is_learner {
        if let Err(e) = promote(data_dir, &node, status.member_id).await {
            supervisor.stop().await;
            return Err(e);
        }
    }
    node.member_id = Some(status.member_id);
    if reset {
        // etcd forgot the other members: so does this node.
        node.peers.clear();
        tracing::warn!(
            node = %node.node_name,
            "the cluster was reset to this one member; the other control planes must wipe their data and join again"
        );
    }
    if let Ok(members) = admin(data_dir, &[node.client_url()], Duration::from_secs(5))?.members().await {
        node.peers = members
            .iter()
            .filter(|m| m.id != status.member_id)
            .flat_map(|m| m.client_urls.iter().cloned())
            .collect();
    }
    node.save(data_dir)?;
    let options = storage::etcd::EtcdOptions { tls: Some(super::etcd_tls(data_dir)), ..Default::default() };
    let store = match storage::etcd::EtcdStore::connect(&[node.client_url()], options).await {
        Ok(s) => s,
        Err(e) => {
            supervisor.stop().await;
            return Err(CliError(format!("connecting to this node's etcd at {}: {e}", node.client_url())));
        }
    };
    tracing::info!(node = %node.node_name, member = %member_id(status.member_id), client = %node.client_url(), "storing objects in the managed etcd");
    Ok(Started { supervisor, store, node })
}

/// Waits until the local member answers and follows a leader.
async fn wait_ready(
    data_dir: &Path,
    node: &NodeConfig,
) -> Result<storage::etcd::admin::MemberStatus, CliError> {
    let local = admin(data_dir, &[node.client_url()], Duration::from_secs(2))?;
    let deadline = Instant::now() + READY_TIMEOUT;
    let mut last = String::from("no answer yet");
    let mut said = Instant::now();
    while Instant::now() < deadline {
        match local.status().await {
            Ok(s) if s.leader != 0 => return Ok(s),
            Ok(_) => last = "no leader yet".into(),
            Err(e) => last = e.to_string(),
        }
        if said.elapsed() > Duration::from_secs(10) {
            tracing::info!(reason = %last, "waiting for etcd");
            said = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(CliError(format!(
        "etcd at {} did not follow a leader within {READY_TIMEOUT:?} ({last}); its log: {}",
        node.client_url(),
        EtcdCommand::log_file(data_dir).display()
    )))
}

/// Promotes this learner once it has caught up (etcd refuses before), asking the other
/// members.
async fn promote(data_dir: &Path, node: &NodeConfig, id: u64) -> Result<(), CliError> {
    let mut endpoints = node.peers.clone();
    if endpoints.is_empty() {
        endpoints.push(node.client_url());
    }
    let cluster = admin(data_dir, &endpoints, Duration::from_secs(5))?;
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < PROMOTE_TIMEOUT {
        match cluster.promote(id).await {
            Ok(()) => {
                tracing::info!(member = %member_id(id), after = ?started.elapsed(), "learner promoted to voting member");
                return Ok(());
            }
            Err(e) if e.to_string().contains("not a learner") => return Ok(()),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    Err(CliError(format!("this learner was not promoted within {PROMOTE_TIMEOUT:?}: {last}")))
}

/// A restarted member that the cluster removed meanwhile refuses to start on its stale data.
async fn refuse_if_removed(data_dir: &Path, node: &NodeConfig) -> Result<(), CliError> {
    let (Some(id), false) = (node.member_id, node.peers.is_empty()) else { return Ok(()) };
    let others = admin(data_dir, &node.peers, Duration::from_secs(3))?;
    match others.members().await {
        Ok(members) if !members.iter().any(|m| m.id == id) => Err(CliError(removed_message(data_dir, node))),
        // Listed, or nobody answers (then etcd itself says whether it still belongs).
        _ => Ok(()),
    }
}

/// What a removed member says, and how to come back.
pub fn removed_message(data_dir: &Path, node: &NodeConfig) -> String {
    let dir = data_dir.display();
    format!(
        "this control plane `{}` (etcd member {}) was removed from the cluster: its data in {dir} is stale and is not served. \
         To join again: on a healthy member run `kubeward token create --print-join-command`; here wipe the old data \
         (`rm -rf {dir}`) and run the printed `kubeward join` command with `--data-dir {dir}`",
        node.node_name,
        node.member_id.map(member_id).unwrap_or_else(|| "?".into()),
    )
}
