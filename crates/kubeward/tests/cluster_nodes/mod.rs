//! Control planes on this machine for the cluster tests: addresses and ports, a node
//! (`kubeward up` / `join` as a child, stopped by its pid), `member list` rows, bounded waits.
#![allow(dead_code)]

use super::support;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const KUBEWARD: &str = env!("CARGO_BIN_EXE_kubeward");
/// How long a node may take to print its ready line (a join includes etcd's catch-up).
pub const READY: Duration = Duration::from_secs(120);

/// Addresses and ports of one control plane.
#[derive(Clone, Debug)]
pub struct Place {
    pub ip: String,
    pub api: u16,
    pub client: u16,
    pub peer: u16,
}

/// A free port on `ip` (bound and released: another process may take it in between, which
/// the node's start would then report).
pub fn free_port(ip: &str) -> u16 {
    std::net::TcpListener::bind((ip, 0)).and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// Places for `n` nodes: 127.0.0.2.. when those addresses answer, else 127.0.0.1 with
/// distinct ports.
pub fn places(n: usize) -> Vec<Place> {
    let aliases = (0..n).all(|i| {
        let ip = format!("127.0.0.{}", i + 2);
        std::net::TcpListener::bind((ip.as_str(), 0))
            .and_then(|l| {
                let addr = l.local_addr()?;
                std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1))
            })
            .is_ok()
    });
    if !aliases {
        return (0..n)
            .map(|_| {
                let ip = "127.0.0.1".to_string();
                Place { api: free_port(&ip), client: free_port(&ip), peer: free_port(&ip), ip }
            })
            .collect();
    }
    // The API servers share one port, as kube's masters must (the kubernetes Service has one
    // target port).
    let ips: Vec<String> = (0..n).map(|i| format!("127.0.0.{}", i + 2)).collect();
    let shared = || {
        (0..50)
            .map(|_| free_port(&ips[0]))
            .find(|p| ips.iter().all(|ip| std::net::TcpListener::bind((ip.as_str(), *p)).is_ok()))
            .expect("a port free on every address")
    };
    let (api, client, peer) = (shared(), shared(), shared());
    ips.into_iter().map(|ip| Place { ip, api, client, peer }).collect()
}

/// One control plane: a `kubeward up` or `kubeward join` child.
pub struct Node {
    pub name: String,
    pub dir: PathBuf,
    pub place: Place,
    child: Option<Child>,
    stderr: Arc<Mutex<String>>,
    pub url: String,
}

pub fn node_args(name: &str, dir: &Path, p: &Place) -> Vec<String> {
    vec![
        "--data-dir".into(),
        dir.display().to_string(),
        "--node-name".into(),
        name.into(),
        "--bind-address".into(),
        p.ip.clone(),
        "--secure-port".into(),
        p.api.to_string(),
        "--etcd-client-port".into(),
        p.client.to_string(),
        "--etcd-peer-port".into(),
        p.peer.to_string(),
    ]
}

impl Node {
    /// Starts `kubeward <args...> <node flags>` and waits for its ready line.
    pub fn start(name: &str, dir: &Path, place: &Place, args: &[String]) -> Node {
        let mut all = args.to_vec();
        all.extend(node_args(name, dir, place));
        Self::start_exactly(name, dir, place, &all)
    }

    /// Starts `kubeward <args...>` (no node flags added) and waits for its ready line.
    pub fn start_exactly(name: &str, dir: &Path, place: &Place, args: &[String]) -> Node {
        let mut cmd = Command::new(KUBEWARD);
        cmd.args(args)
            .env("KUBEWARD_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start kubeward");
        let stdout = child.stdout.take().expect("piped");
        let stderr_pipe = child.stderr.take().expect("piped");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr_pipe).lines().map_while(Result::ok) {
                if let Ok(mut s) = sink.lock() {
                    if s.len() > 4 << 20 {
                        let cut = s.len() - (2 << 20);
                        let cut = (cut..s.len()).find(|i| s.is_char_boundary(*i)).unwrap_or(0);
                        s.drain(..cut);
                    }
                    s.push_str(&line);
                    s.push('\n');
                }
            }
        });
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut node = Node {
            name: name.into(),
            dir: dir.to_path_buf(),
            place: place.clone(),
            child: Some(child),
            stderr,
            url: String::new(),
        };
        let deadline = Instant::now() + READY;
        loop {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix("kubeward is ready at ") {
                        node.url = url.trim().to_string();
                        return node;
                    }
                }
                Err(e) => panic!("node {name} did not get ready ({e:?}):\n{}", node.log_tail()),
            }
        }
    }

    pub fn log_tail(&self) -> String {
        let s = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        let start = s.len().saturating_sub(6000);
        let start = (start..s.len()).find(|i| s.is_char_boundary(*i)).unwrap_or(0);
        s[start..].to_string()
    }

    pub fn log(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn etcd_pid(&self) -> Option<u32> {
        let pid: u32 = std::fs::read_to_string(self.dir.join("etcd.pid")).ok()?.trim().parse().ok()?;
        // Only the etcd of this data directory.
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        String::from_utf8_lossy(&cmdline).contains(&self.dir.display().to_string()).then_some(pid)
    }

    /// `kill -9` of this node's etcd and kubeward, as a dead machine.
    pub fn kill_hard(&mut self) {
        if let Some(pid) = self.etcd_pid() {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM (kubeward stops its etcd), SIGKILL after 20 s; then any etcd left.
    pub fn stop(&mut self) {
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

    pub fn client(&self, rt: &tokio::runtime::Runtime) -> kube::Client {
        let path = self.dir.join("admin.kubeconfig");
        rt.block_on(async {
            let kc = kube::config::Kubeconfig::read_from(&path).expect("admin kubeconfig");
            let mut config =
                kube::Config::from_custom_kubeconfig(kc, &Default::default()).await.expect("kubeconfig");
            config.connect_timeout = Some(Duration::from_secs(2));
            config.read_timeout = Some(Duration::from_secs(5));
            kube::Client::try_from(config).expect("client")
        })
    }

    pub fn kubeward(&self, args: &[&str]) -> support::Output {
        let mut cmd = Command::new(KUBEWARD);
        cmd.args(args).arg("--data-dir").arg(&self.dir);
        support::run(cmd, Duration::from_secs(60))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- {} (tail) ---\n{}", self.name, self.log_tail());
        }
        self.stop();
    }
}

/// The words of `member list`'s rows, by node name.
pub fn member_rows(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .skip(1)
        .filter(|l| !l.starts_with("control plane"))
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

pub fn three_healthy_voters(node: &Node, names: &[&str]) -> Result<(), String> {
    let out = node.kubeward(&["member", "list"]);
    let rows = member_rows(&out.stdout);
    let ok = out.ok()
        && rows.len() == names.len()
        && names.iter().all(|n| {
            rows.iter().any(|r| {
                r.first().map(String::as_str) == Some(*n)
                    && r.contains(&"voter".into())
                    && r.contains(&"healthy".into())
            })
        });
    if ok {
        Ok(())
    } else {
        Err(out.to_string())
    }
}

pub fn wait_for(what: &str, within: Duration, mut f: impl FnMut() -> Result<(), String>) {
    let deadline = Instant::now() + within;
    let mut last;
    loop {
        match f() {
            Ok(()) => return,
            Err(e) => last = e,
        }
        if Instant::now() >= deadline {
            panic!("{what} within {within:?}: {last}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}
