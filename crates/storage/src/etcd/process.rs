//! A throwaway single-member etcd for tests (feature `testing`): its own data directory, free
//! loopback ports for clients and peers, default durability (every write fsync'd; never
//! `--unsafe-no-fsync`), a bounded wait for health, restart on the same data, and `SIGKILL` on
//! drop.
//!
//! The binary is `$KUBEWARD_ETCD_BIN`, else `etcd` on `PATH` (Debian: `apt-get install
//! etcd-server`). [`TestEtcd::start_or_skip`] fails a test loudly when it is missing, unless
//! `KUBEWARD_SKIP_ETCD=1` (which skips etcd tests) or `KUBEWARD_ALLOW_SKIP` covers `etcd`; a
//! skip is noted and counted (the `testkit` crate).

// Test support: a panic is how a missing etcd fails the calling test.
#![allow(clippy::panic)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{EtcdOptions, EtcdStore};
use crate::store::Store;

/// How long etcd may take to answer after it is started.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(30);

/// A running etcd, killed when dropped.
pub struct TestEtcd {
    child: Option<Child>,
    binary: PathBuf,
    dir: tempfile::TempDir,
    client: SocketAddr,
    peer: SocketAddr,
}

impl TestEtcd {
    /// The etcd binary to run, if any.
    pub fn binary() -> Option<PathBuf> {
        if let Some(path) = std::env::var_os("KUBEWARD_ETCD_BIN") {
            return Some(PathBuf::from(path));
        }
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path).map(|dir| dir.join("etcd")).find(|candidate| candidate.is_file())
    }

    /// True when `KUBEWARD_SKIP_ETCD=1`.
    pub fn skip_requested() -> bool {
        std::env::var("KUBEWARD_SKIP_ETCD").is_ok_and(|v| v == "1")
    }

    /// Starts an etcd for a test. Returns `None` (after noting and counting the skip, see the
    /// `testkit` crate) when `KUBEWARD_SKIP_ETCD=1`, or when etcd is missing and
    /// `KUBEWARD_ALLOW_SKIP` allows it; otherwise panics with what to install when etcd is
    /// missing, or with its log when it does not come up.
    pub async fn start_or_skip() -> Option<TestEtcd> {
        if Self::skip_requested() {
            testkit::skip("KUBEWARD_SKIP_ETCD=1: a test that needs etcd");
            return None;
        }
        let Some(binary) = Self::binary() else {
            testkit::missing(
                "etcd",
                "the `etcd` binary on PATH, Debian: `apt-get install etcd-server`, or KUBEWARD_ETCD_BIN; \
                 KUBEWARD_SKIP_ETCD=1 skips etcd tests even when it is installed",
            );
            return None;
        };
        match Self::start(&binary).await {
            Ok(etcd) => Some(etcd),
            Err(err) => panic!("{err}"),
        }
    }

    /// Starts `binary` as a one-member cluster on free loopback ports and waits until it answers.
    /// Ports are picked free and then released, so another process can grab one in between:
    /// such a start is retried.
    pub async fn start(binary: &Path) -> Result<TestEtcd, String> {
        let mut last = String::new();
        for _ in 0..3 {
            match Self::start_once(binary).await {
                Ok(etcd) => return Ok(etcd),
                Err(err) => last = err,
            }
        }
        Err(last)
    }

    async fn start_once(binary: &Path) -> Result<TestEtcd, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("cannot create a directory for etcd: {e}"))?;
        // Both held until etcd starts, so they are two different ports.
        let (client_socket, peer_socket) = (free_port()?, free_port()?);
        let (client, peer) = (address(&client_socket)?, address(&peer_socket)?);
        drop((client_socket, peer_socket));
        let mut etcd = TestEtcd { child: None, binary: binary.to_owned(), dir, client, peer };
        etcd.spawn()?;
        etcd.wait_healthy().await?;
        Ok(etcd)
    }

    /// Starts etcd again on the same data directory and ports (after [`TestEtcd::kill`]) and
    /// waits until it answers: what it acknowledged before must still be there.
    pub async fn restart(&mut self) -> Result<(), String> {
        self.kill();
        self.spawn()?;
        self.wait_healthy().await
    }

    fn spawn(&mut self) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("etcd.log"))
            .map_err(|e| format!("cannot open the etcd log: {e}"))?;
        let client_url = format!("http://{}", self.client);
        let peer_url = format!("http://{}", self.peer);
        // Default durability: etcd fsyncs its log before it acknowledges (no --unsafe-no-fsync).
        let child = Command::new(&self.binary)
            .arg("--name=test")
            .arg(format!("--data-dir={}", self.data_dir().display()))
            .arg(format!("--listen-client-urls={client_url}"))
            .arg(format!("--advertise-client-urls={client_url}"))
            .arg(format!("--listen-peer-urls={peer_url}"))
            .arg(format!("--initial-advertise-peer-urls={peer_url}"))
            .arg(format!("--initial-cluster=test={peer_url}"))
            .arg("--initial-cluster-state=new")
            .arg("--logger=zap")
            .arg("--log-level=warn")
            .arg("--log-outputs=stderr")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start etcd `{}`: {e}", self.binary.display()))?;
        self.child = Some(child);
        Ok(())
    }

    async fn wait_healthy(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + HEALTH_TIMEOUT;
        let mut last = String::from("no answer yet");
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!("etcd exited with {status} while starting: {}", self.log_tail()));
                }
            }
            if TcpStream::connect_timeout(&self.client, Duration::from_millis(200)).is_ok() {
                let options = EtcdOptions {
                    dial_timeout: Duration::from_secs(2),
                    watch_cache: false,
                    ..EtcdOptions::default()
                };
                match EtcdStore::connect(&[self.endpoint()], options).await {
                    Ok(store) => match store.current_revision().await {
                        Ok(_) => return Ok(()),
                        Err(err) => last = err.to_string(),
                    },
                    Err(err) => last = err.to_string(),
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!("etcd did not answer within {HEALTH_TIMEOUT:?} ({last}): {}", self.log_tail()))
    }

    /// The client endpoint, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.client)
    }

    /// A store on this etcd under `prefix`, with its watch cache.
    pub async fn connect(&self, prefix: &str) -> Result<EtcdStore, crate::store::StoreError> {
        self.connect_with(prefix, true).await
    }

    /// A store on this etcd under `prefix` whose reads all go to etcd (no watch cache).
    pub async fn connect_uncached(&self, prefix: &str) -> Result<EtcdStore, crate::store::StoreError> {
        self.connect_with(prefix, false).await
    }

    async fn connect_with(
        &self,
        prefix: &str,
        watch_cache: bool,
    ) -> Result<EtcdStore, crate::store::StoreError> {
        let options = EtcdOptions { watch_cache, ..self.options(prefix) };
        EtcdStore::connect(&[self.endpoint()], options).await
    }

    /// The options [`TestEtcd::connect`] uses, to change some and connect with
    /// `EtcdStore::connect(&[etcd.endpoint()], options)`.
    pub fn options(&self, prefix: &str) -> EtcdOptions {
        EtcdOptions {
            prefix: prefix.to_owned(),
            dial_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            ..EtcdOptions::default()
        }
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Kills etcd with `SIGKILL` and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Already exited is fine; there is nothing else to do about a failed kill.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The end of etcd's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("etcd.log")).unwrap_or_default();
        let start = log.len().saturating_sub(2000);
        let start = (start..log.len()).find(|&i| log.is_char_boundary(i)).unwrap_or(log.len());
        format!("etcd log: {}", &log[start..])
    }
}

impl Drop for TestEtcd {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A listener on a free loopback port.
fn free_port() -> Result<TcpListener, String> {
    TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot find a free port: {e}"))
}

fn address(listener: &TcpListener) -> Result<SocketAddr, String> {
    listener.local_addr().map_err(|e| format!("cannot find a free port: {e}"))
}
