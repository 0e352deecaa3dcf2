//! Write stalls when the etcd leader's node dies (issue #16's aim: at most 2 s at p99):
//! three kubeward control planes on a managed etcd on this machine (`kubeward up
//! --cluster-init`, two `kubeward join`s with the printed command; loopback addresses
//! 127.0.0.2-4 when they answer, else distinct ports on 127.0.0.1), ConfigMap creates from
//! several clients through all three servers (a client whose server fails moves to the next),
//! and N rounds of: `kill -9` of the etcd leader's node (its etcd and its kubeward), the
//! longest gap between acknowledged writes from the kill until the window ends, the node
//! started again from its data directory alone, and a wait until its member is healthy.
//!
//! The stall of a round is the longest time without any acknowledged write in the window
//! after the kill (the first acknowledgement after the kill counts from the kill).

use crate::client::{connect, Conn, Target};
use crate::tls::{client_config, Proto};
use crate::writes::configmap_body;
use crate::BenchError;
use bytes::Bytes;
use http::Method;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a node may take to print its ready line (a join includes etcd's catch-up).
const READY: Duration = Duration::from_secs(180);
/// One write's deadline.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
const NAMESPACE: &str = "default";

/// The longest time without an acknowledgement from `killed` until `until`: the gaps
/// between consecutive acknowledgements after the kill, the first one counted from the kill,
/// and the last one to `until` (a load that never came back stalls for the whole window).
pub fn stall(acks: &[Instant], killed: Instant, until: Instant) -> Duration {
    let mut after: Vec<Instant> = acks.iter().copied().filter(|t| *t > killed && *t <= until).collect();
    after.sort_unstable();
    let mut longest = Duration::ZERO;
    let mut last = killed;
    for t in after {
        longest = longest.max(t.duration_since(last));
        last = t;
    }
    longest.max(until.duration_since(last))
}

/// One control plane: its place, data directory and `kubeward` child.
pub struct Node {
    pub name: String,
    pub dir: PathBuf,
    pub ip: String,
    pub api: u16,
    pub client: u16,
    pub peer: u16,
    child: Option<Child>,
}

fn free_port(ip: &str) -> Result<u16, BenchError> {
    Ok(std::net::TcpListener::bind((ip, 0))?.local_addr()?.port())
}

/// Addresses and ports for `n` nodes: 127.0.0.2.. when they answer (sharing ports, as kube's
/// masters share the secure port), else distinct ports on 127.0.0.1.
fn places(n: usize) -> Result<Vec<(String, u16, u16, u16)>, BenchError> {
    let ips: Vec<String> = (0..n).map(|i| format!("127.0.0.{}", i + 2)).collect();
    let aliases = ips.iter().all(|ip| {
        std::net::TcpListener::bind((ip.as_str(), 0))
            .and_then(|l| std::net::TcpStream::connect_timeout(&l.local_addr()?, Duration::from_secs(1)))
            .is_ok()
    });
    if !aliases {
        let ip = "127.0.0.1".to_string();
        return (0..n).map(|_| Ok((ip.clone(), free_port(&ip)?, free_port(&ip)?, free_port(&ip)?))).collect();
    }
    let shared = || -> Result<u16, BenchError> {
        for _ in 0..50 {
            let p = free_port(&ips[0])?;
            if ips.iter().all(|ip| std::net::TcpListener::bind((ip.as_str(), p)).is_ok()) {
                return Ok(p);
            }
        }
        Err(BenchError::Timeout("no port free on every loopback address".into()))
    };
    let (api, client, peer) = (shared()?, shared()?, shared()?);
    Ok(ips.into_iter().map(|ip| (ip, api, client, peer)).collect())
}

impl Node {
    fn node_flags(&self) -> Vec<String> {
        vec![
            "--data-dir".into(),
            self.dir.display().to_string(),
            "--node-name".into(),
            self.name.clone(),
            "--bind-address".into(),
            self.ip.clone(),
            "--secure-port".into(),
            self.api.to_string(),
            "--etcd-client-port".into(),
            self.client.to_string(),
            "--etcd-peer-port".into(),
            self.peer.to_string(),
        ]
    }

    /// Runs `kubeward ARGS` (its log appended to `<dir>.log`) until its ready line.
    fn start(&mut self, kubeward: &Path, args: &[String]) -> Result<(), BenchError> {
        let log_path = self.dir.with_extension("log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| BenchError::file(&log_path.display().to_string(), e))?;
        let mut child = Command::new(kubeward)
            .args(args)
            .env("KUBEWARD_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()?;
        let stdout = child.stdout.take().ok_or_else(|| BenchError::Timeout("no stdout".into()))?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        self.child = Some(child);
        let deadline = Instant::now() + READY;
        loop {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) if line.starts_with("kubeward is ready at ") => return Ok(()),
                Ok(_) => {}
                Err(_) => {
                    self.kill();
                    return Err(BenchError::Timeout(format!(
                        "node {} did not get ready (log: {})",
                        self.name,
                        log_path.display()
                    )));
                }
            }
        }
    }

    fn etcd_pid(&self) -> Option<u32> {
        let pid: u32 = std::fs::read_to_string(self.dir.join("etcd.pid")).ok()?.trim().parse().ok()?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        String::from_utf8_lossy(&cmdline).contains(&self.dir.display().to_string()).then_some(pid)
    }

    /// `kill -9` of this node's etcd and kubeward, as a dead machine.
    fn kill(&mut self) {
        if let Some(pid) = self.etcd_pid() {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM (kubeward stops its etcd), SIGKILL after 20 s; then any etcd left.
    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline && matches!(c.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(pid) = self.etcd_pid() {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
        }
    }

    fn pki(&self, file: &str) -> String {
        self.dir.join("pki").join(file).display().to_string()
    }

    /// The API server, as the admin.
    fn api_target(&self) -> Result<Target, BenchError> {
        let url = format!("https://{}:{}", self.ip, self.api);
        let tls = client_config(
            &self.pki("ca.crt"),
            Some((&self.pki("admin.crt"), &self.pki("admin.key"))),
            Proto::H2,
        )?;
        Ok(Target {
            addr: Target::parse_addr(&url)?,
            tls: Some(Arc::new(tls)),
            proto: Proto::H2,
            bearer: None,
        })
    }

    /// This node's etcd member's `(member id, leader id)` through etcd's JSON gateway.
    async fn etcd_status(&self) -> Result<(String, String), BenchError> {
        let url = format!("https://{}:{}", self.ip, self.client);
        let pair = (self.pki("apiserver-etcd-client.crt"), self.pki("apiserver-etcd-client.key"));
        let tls = client_config(&self.pki("etcd/ca.crt"), Some((&pair.0, &pair.1)), Proto::H1)?;
        let target = Target {
            addr: Target::parse_addr(&url)?,
            tls: Some(Arc::new(tls)),
            proto: Proto::H1,
            bearer: None,
        };
        let call = async {
            let mut conn = connect(&target).await?;
            conn.expect_ok(Method::POST, "/v3/maintenance/status", Bytes::from_static(b"{}"), false).await
        };
        let body = tokio::time::timeout(Duration::from_secs(2), call)
            .await
            .map_err(|_| BenchError::Timeout(format!("etcd status of {}", self.name)))??;
        let v: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| BenchError::Decode { what: "etcd status".into(), detail: e.to_string() })?;
        let id = |p: &str| v.pointer(p).and_then(|x| x.as_str()).unwrap_or_default().to_string();
        Ok((id("/header/member_id"), id("/leader")))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The cluster the rounds run on.
pub struct Cluster {
    pub nodes: Vec<Node>,
    kubeward: PathBuf,
}

impl Cluster {
    /// Three control planes in `work`: one `up --cluster-init`, two joins.
    pub fn start(kubeward: &Path, work: &Path) -> Result<Cluster, BenchError> {
        let mut cluster = Cluster { nodes: Vec::new(), kubeward: kubeward.to_path_buf() };
        for (i, (ip, api, client, peer)) in places(3)?.into_iter().enumerate() {
            let name = format!("cp{i}");
            let dir = work.join(&name);
            cluster.nodes.push(Node { name, dir, ip, api, client, peer, child: None });
        }
        let first = &mut cluster.nodes[0];
        let mut args = vec!["up".to_string(), "--cluster-init".into()];
        args.extend(first.node_flags());
        first.start(kubeward, &args)?;
        let out = Command::new(kubeward)
            .args(["token", "create", "--print-join-command", "--data-dir"])
            .arg(&first.dir)
            .output()?;
        let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !line.starts_with("kubeward join ") {
            return Err(BenchError::Timeout(format!(
                "token create printed no join command: {line} {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        let join: Vec<String> = line.split_whitespace().skip(1).map(str::to_string).collect();
        for node in cluster.nodes.iter_mut().skip(1) {
            let mut args = join.clone();
            args.extend(node.node_flags());
            node.start(kubeward, &args)?;
        }
        Ok(cluster)
    }

    /// The index of the node whose etcd member leads.
    async fn leader(&self) -> Result<usize, BenchError> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let mut ids = Vec::new();
            let mut leader = String::new();
            for n in &self.nodes {
                match n.etcd_status().await {
                    Ok((id, l)) => {
                        ids.push(id);
                        if l != "0" && !l.is_empty() {
                            leader = l;
                        }
                    }
                    Err(_) => ids.push(String::new()),
                }
            }
            if let Some(i) = ids.iter().position(|id| !leader.is_empty() && *id == leader) {
                return Ok(i);
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        Err(BenchError::Timeout("no etcd leader among the nodes".into()))
    }

    /// Waits until every member answers and follows the same leader.
    async fn healthy(&self) -> Result<(), BenchError> {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            let mut leaders = Vec::new();
            for n in &self.nodes {
                if let Ok((_, l)) = n.etcd_status().await {
                    leaders.push(l);
                }
            }
            if leaders.len() == self.nodes.len() && leaders.iter().all(|l| l != "0" && *l == leaders[0]) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(BenchError::Timeout("the members did not all follow one leader again".into()))
    }
}

/// What the load saw.
#[derive(Default)]
struct Load {
    acks: Mutex<Vec<Instant>>,
    errors: AtomicU64,
}

/// `clients` writers over the servers in turn until `stop`.
fn spawn_load(
    targets: Vec<Target>,
    clients: usize,
    stop: Arc<AtomicBool>,
    load: Arc<Load>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let targets = Arc::new(targets);
    (0..clients)
        .map(|w| {
            let (targets, stop, load) = (targets.clone(), stop.clone(), load.clone());
            tokio::spawn(async move {
                let mut at = w % targets.len();
                let mut conn: Option<Conn> = None;
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    if conn.is_none() {
                        match tokio::time::timeout(Duration::from_secs(1), connect(&targets[at])).await {
                            Ok(Ok(c)) => conn = Some(c),
                            _ => {
                                at = (at + 1) % targets.len();
                                tokio::time::sleep(Duration::from_millis(50)).await;
                                continue;
                            }
                        }
                    }
                    let Some(c) = conn.as_mut() else { continue };
                    n += 1;
                    let body = configmap_body(&format!("fo-{}-{w}-{n}", std::process::id()), 100);
                    let path = format!("/api/v1/namespaces/{NAMESPACE}/configmaps");
                    let sent =
                        tokio::time::timeout(WRITE_TIMEOUT, c.expect_ok(Method::POST, &path, body, false))
                            .await;
                    match sent {
                        Ok(Ok(_)) => load.acks.lock().map(|mut a| a.push(Instant::now())).unwrap_or(()),
                        _ => {
                            load.errors.fetch_add(1, Ordering::Relaxed);
                            conn = None;
                            at = (at + 1) % targets.len();
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                }
            })
        })
        .collect()
}

/// The outcome of the rounds.
#[derive(Debug)]
pub struct Outcome {
    pub stalls: Vec<Duration>,
    pub writes: u64,
    pub errors: u64,
}

/// Runs `rounds` kills of the leader's node under `clients` writers, each observed for
/// `window` after the kill.
pub async fn run(
    cluster: &mut Cluster,
    rounds: usize,
    clients: usize,
    window: Duration,
) -> Result<Outcome, BenchError> {
    let targets = cluster.nodes.iter().map(Node::api_target).collect::<Result<Vec<_>, _>>()?;
    let stop = Arc::new(AtomicBool::new(false));
    let load = Arc::new(Load::default());
    let tasks = spawn_load(targets, clients, stop.clone(), load.clone());
    let mut stalls = Vec::new();
    let result = async {
        for round in 0..rounds {
            cluster.healthy().await?;
            tokio::time::sleep(Duration::from_secs(2)).await;
            let victim = cluster.leader().await?;
            let killed = Instant::now();
            cluster.nodes[victim].kill();
            tokio::time::sleep(window).await;
            let until = Instant::now();
            let acks = load.acks.lock().map(|a| a.clone()).unwrap_or_default();
            let s = stall(&acks, killed, until);
            eprintln!(
                "failover round {}: killed {} (etcd leader), writes stalled {s:?}",
                round + 1,
                cluster.nodes[victim].name
            );
            stalls.push(s);
            let kubeward = cluster.kubeward.clone();
            let node = &mut cluster.nodes[victim];
            let args = vec!["up".to_string(), "--data-dir".into(), node.dir.display().to_string()];
            // Started again from its data directory alone (blocking: the load runs on the
            // runtime's other threads).
            tokio::task::block_in_place(|| node.start(&kubeward, &args))?;
        }
        Ok::<(), BenchError>(())
    }
    .await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    result?;
    let writes = load.acks.lock().map(|a| a.len() as u64).unwrap_or(0);
    Ok(Outcome { stalls, writes, errors: load.errors.load(Ordering::Relaxed) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stall_is_the_longest_silence_after_the_kill() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let killed = at(1000);
        // Before the kill does not count; 1000 -> 1800 is the first gap, 1800 -> 3100 the
        // longest, 3100 -> 3500 the tail.
        let acks = [at(900), at(1800), at(3100), at(3200)];
        assert_eq!(stall(&acks, killed, at(3500)), Duration::from_millis(1300));
        // Nothing after the kill: the whole window.
        assert_eq!(stall(&[at(900)], killed, at(9000)), Duration::from_millis(8000));
        // A quiet tail longer than any gap.
        assert_eq!(stall(&[at(1100)], killed, at(5000)), Duration::from_millis(3900));
    }
}
