//! The etcd member as kubeward's child: started with the node's settings and certificates,
//! its output appended to `<data-dir>/etcd.log`, its pid in `<data-dir>/etcd.pid`; started
//! again (with backoff) when it dies, and stopped (SIGTERM, then SIGKILL after 10 s) with
//! kubeward. An etcd left running by a kubeward that was killed is found by its pid file
//! and stopped before a new one starts on the same data.
//!
//! etcd's own words decide one case: a member removed from its cluster exits saying so, and
//! is not started again ([`Exit::Removed`]).

use super::NodeConfig;
use crate::cli::CliError;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// How long etcd may take to stop after SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// The longest wait between two restarts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// What etcd logs when it finds it was removed from the cluster.
const REMOVED_TEXT: &str = "has been permanently removed from the cluster";

/// Why the supervised etcd stopped for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// etcd found this member removed from its cluster.
    Removed,
}

/// How to run this node's etcd.
#[derive(Debug, Clone)]
pub struct EtcdCommand {
    pub binary: PathBuf,
    pub data_dir: PathBuf,
    pub node: NodeConfig,
    /// `--force-new-cluster` on the first start only (`--cluster-reset`).
    pub force_new_cluster: bool,
}

impl EtcdCommand {
    pub fn etcd_data(data_dir: &Path) -> PathBuf {
        data_dir.join("etcd")
    }

    pub fn pid_file(data_dir: &Path) -> PathBuf {
        data_dir.join("etcd.pid")
    }

    pub fn log_file(data_dir: &Path) -> PathBuf {
        data_dir.join("etcd.log")
    }

    fn args(&self, first: bool) -> Vec<String> {
        let p = pki::etcd::EtcdPki::at(&self.data_dir);
        let n = &self.node;
        let path = |p: &Path| p.display().to_string();
        let mut args = vec![
            format!("--name={}", n.node_name),
            format!("--data-dir={}", path(&Self::etcd_data(&self.data_dir))),
            format!("--listen-client-urls={}", n.client_url()),
            format!("--advertise-client-urls={}", n.client_url()),
            format!("--listen-peer-urls={}", n.peer_url()),
            format!("--initial-advertise-peer-urls={}", n.peer_url()),
            format!("--initial-cluster={}", n.initial_cluster),
            format!("--initial-cluster-state={}", n.initial_cluster_state),
            "--initial-cluster-token=kubeward".into(),
            "--client-cert-auth=true".into(),
            format!("--trusted-ca-file={}", path(&p.ca_cert)),
            format!("--cert-file={}", path(&p.server_cert)),
            format!("--key-file={}", path(&p.server_key)),
            "--peer-client-cert-auth=true".into(),
            format!("--peer-trusted-ca-file={}", path(&p.ca_cert)),
            format!("--peer-cert-file={}", path(&p.peer_cert)),
            format!("--peer-key-file={}", path(&p.peer_key)),
            // kubeadm's: a snapshot every 10000 entries.
            "--snapshot-count=10000".into(),
            "--strict-reconfig-check=true".into(),
            "--logger=zap".into(),
            "--log-outputs=stderr".into(),
        ];
        if first && self.force_new_cluster {
            args.push("--force-new-cluster".into());
        }
        args
    }
}

/// A running supervisor; [`Supervisor::stop`] ends etcd.
pub struct Supervisor {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    /// Says once why etcd stopped for good.
    pub exits: mpsc::Receiver<Exit>,
}

impl Supervisor {
    /// Stops any etcd a previous kubeward left on this data, then starts etcd and keeps it
    /// running.
    pub async fn start(command: EtcdCommand) -> Result<Supervisor, CliError> {
        stop_leftover(&command.data_dir).await;
        std::fs::create_dir_all(EtcdCommand::etcd_data(&command.data_dir))
            .map_err(|e| CliError(format!("creating etcd's data directory: {e}")))?;
        let first = spawn(&command, true)?;
        let (stop, stop_rx) = watch::channel(false);
        let (exit_tx, exits) = mpsc::channel(1);
        let task = tokio::spawn(supervise(command, first, stop_rx, exit_tx));
        Ok(Supervisor { stop, task, exits })
    }

    /// Stops etcd (SIGTERM, SIGKILL after the grace period) and waits for it.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Starts etcd; answers the child and where its output starts in the log.
fn spawn(command: &EtcdCommand, first: bool) -> Result<(tokio::process::Child, u64), CliError> {
    let log_path = EtcdCommand::log_file(&command.data_dir);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| CliError(format!("opening {}: {e}", log_path.display())))?;
    let offset = log.metadata().map(|m| m.len()).unwrap_or(0);
    let child = tokio::process::Command::new(&command.binary)
        .args(command.args(first))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| CliError(format!("starting etcd `{}`: {e}", command.binary.display())))?;
    if let Some(pid) = child.id() {
        let _ = std::fs::write(EtcdCommand::pid_file(&command.data_dir), pid.to_string());
        tracing::info!(pid, node = %command.node.node_name, client = %command.node.client_url(), "etcd started");
    }
    Ok((child, offset))
}

async fn supervise(
    command: EtcdCommand,
    first: (tokio::process::Child, u64),
    mut stop: watch::Receiver<bool>,
    exits: mpsc::Sender<Exit>,
) {
    let mut running = Some(first);
    let mut backoff = Duration::from_secs(1);
    loop {
        let Some((mut child, offset)) = running.take() else {
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop.changed() => return,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
            match spawn(&command, false) {
                Ok(started) => running = Some(started),
                Err(e) => tracing::error!(error = %e, "etcd could not be started again"),
            }
            continue;
        };
        let started = Instant::now();
        tokio::select! {
            status = child.wait() => {
                let status = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                let _ = std::fs::remove_file(EtcdCommand::pid_file(&command.data_dir));
                if log_since(&command.data_dir, offset).contains(REMOVED_TEXT) {
                    tracing::error!(node = %command.node.node_name, "etcd exited: this member was removed from the cluster");
                    let _ = exits.send(Exit::Removed).await;
                    return;
                }
                if started.elapsed() > Duration::from_secs(60) {
                    backoff = Duration::from_secs(1);
                }
                tracing::warn!(%status, retry_in = ?backoff, log = %EtcdCommand::log_file(&command.data_dir).display(), "etcd exited; starting it again");
            }
            _ = stop.changed() => {
                terminate(&mut child).await;
                let _ = std::fs::remove_file(EtcdCommand::pid_file(&command.data_dir));
                tracing::info!("etcd stopped");
                return;
            }
        }
    }
}

/// SIGTERM by pid (through kill(1): this crate has no unsafe code), then SIGKILL.
async fn terminate(child: &mut tokio::process::Child) {
    if let Some(pid) = child.id() {
        signal(pid, "TERM");
        if tokio::time::timeout(STOP_GRACE, child.wait()).await.is_ok() {
            return;
        }
    }
    let _ = child.kill().await;
}

fn signal(pid: u32, name: &str) {
    let _ = std::process::Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// An etcd that a killed kubeward left running on this data directory (its pid file names
/// a live etcd whose command line has this data directory): stopped, so the new one can
/// take the ports and the data.
async fn stop_leftover(data_dir: &Path) {
    let Ok(text) = std::fs::read_to_string(EtcdCommand::pid_file(data_dir)) else { return };
    let Ok(pid) = text.trim().parse::<u32>() else { return };
    let ours = |pid: u32| {
        std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
            let c = String::from_utf8_lossy(&c);
            c.contains("etcd") && c.contains(&EtcdCommand::etcd_data(data_dir).display().to_string())
        })
    };
    if !ours(pid) {
        return;
    }
    tracing::warn!(pid, "stopping the etcd a previous kubeward left running on this data directory");
    signal(pid, "TERM");
    let deadline = Instant::now() + STOP_GRACE;
    while ours(pid) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if ours(pid) {
        signal(pid, "KILL");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What etcd logged from `offset` on (at most the last 64 KiB of it).
fn log_since(data_dir: &Path, offset: u64) -> String {
    let log = std::fs::read(EtcdCommand::log_file(data_dir)).unwrap_or_default();
    let from = usize::try_from(offset).unwrap_or(usize::MAX).max(log.len().saturating_sub(64 << 10));
    String::from_utf8_lossy(log.get(from..).unwrap_or_default()).into_owned()
}
