//! Test support for the end-to-end tests of the `kubeward` binary.
//!
//! Owns three things: a running `kubeward up` server in its own temporary data directory
//! ([`Server`], stopped on drop, even when the test panics), a way to run external programs
//! with a deadline and capture what they print ([`run`], [`Output`]), and kubectl
//! invocations bound to one kubeconfig and one discovery cache ([`Kubectl`]).
//!
//! Every test gets its own server, data directory, port (the server picks a free one) and
//! kubectl cache directory, so tests can run in parallel under nextest without sharing state.

#![allow(dead_code)]
pub mod browser;
pub mod more;
pub mod oidc;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long `kubeward up` may take to print its ready line.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long any single external command (kubectl, curl, python) may run.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Where this machine keeps the versioned kubectl binaries (`kubectl.1.27` ...).
pub const KUBECTL_DIR: &str = "/usr/lib/google-cloud-sdk/bin";
/// The kubectl minor versions the e2e suite covers.
pub const KUBECTL_VERSIONS: [&str; 7] = ["1.27", "1.28", "1.29", "1.30", "1.31", "1.32", "1.33"];

/// Keep at most this much of a server's stderr (the tail is what explains a failure).
const STDERR_KEEP: usize = 256 * 1024;

/// What a finished (or killed) command left behind.
#[derive(Debug, Clone)]
pub struct Output {
    /// The command line, for messages.
    pub command: String,
    /// Exit code; `None` when killed by a signal (including our own timeout kill).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

impl Output {
    pub fn ok(&self) -> bool {
        self.code == Some(0) && !self.timed_out
    }

    /// Panics with everything the command printed unless it exited 0.
    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        assert!(self.ok(), "command failed: {self}");
        self
    }

    /// Panics unless the command exited with exactly this code.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert!(!self.timed_out && self.code == Some(code), "expected exit code {code}: {self}");
        self
    }

    #[track_caller]
    pub fn assert_stdout_contains(&self, needle: &str) -> &Self {
        assert!(self.stdout.contains(needle), "stdout lacks {needle:?}: {self}");
        self
    }

    #[track_caller]
    pub fn assert_stderr_contains(&self, needle: &str) -> &Self {
        assert!(self.stderr.contains(needle), "stderr lacks {needle:?}: {self}");
        self
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` exit={:?} timed_out={}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command, self.code, self.timed_out, self.stdout, self.stderr
        )
    }
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

fn drain<R: Read + Send + 'static>(mut r: R) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Runs `cmd` to completion or until `timeout`, whichever comes first (then SIGKILL).
/// stdin is closed; stdout and stderr are captured.
pub fn run(mut cmd: Command, timeout: Duration) -> Output {
    let command = describe(&cmd);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => panic!("cannot start `{command}`: {e}"),
    };
    let out = drain(child.stdout.take().expect("stdout is piped"));
    let err = drain(child.stderr.take().expect("stderr is piped"));
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                timed_out = true;
                let _ = child.kill();
                break child.wait().ok();
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("waiting for `{command}`: {e}"),
        }
    };
    Output {
        command,
        code: status.and_then(|s| s.code()),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        timed_out,
    }
}

/// Whether a program can be found on PATH.
pub fn have_program(name: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false)
}

/// Retries `f` every 100 ms until it returns `Some` or `within` has passed.
pub fn eventually<T>(within: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// A live `kubeward up` process.
struct Process {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl Process {
    fn stderr_tail(&self, max: usize) -> String {
        let s = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        let mut start = s.len().saturating_sub(max);
        while !s.is_char_boundary(start) {
            start += 1;
        }
        s[start..].to_string()
    }

    /// SIGTERM, up to 5 s to exit, then SIGKILL.
    fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).stderr(Stdio::null()).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        self.kill_hard();
    }

    fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A kubeward server started with `kubeward up` in a fresh temporary data directory.
pub struct Server {
    dir: tempfile::TempDir,
    process: Option<Process>,
    /// `https://127.0.0.1:<port>` as printed on the ready line.
    pub url: String,
    /// The admin kubeconfig the server wrote.
    pub kubeconfig: PathBuf,
}

impl Server {
    /// Starts `kubeward up --secure-port 0` in a new temporary directory and waits for it.
    pub fn start() -> Server {
        let dir = tempfile::Builder::new().prefix("kubeward-e2e-").tempdir().expect("temp dir");
        let mut server = Server { dir, process: None, url: String::new(), kubeconfig: PathBuf::new() };
        server.spawn();
        server
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn pki_dir(&self) -> PathBuf {
        self.dir.path().join("pki")
    }

    /// A scratch directory for the test (manifests, caches, kubeconfigs), inside the temp dir.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let p = self.dir.path().join("scratch").join(name);
        std::fs::create_dir_all(&p).expect("scratch dir");
        p
    }

    fn spawn(&mut self) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubeward"));
        cmd.arg("up")
            .arg("--data-dir")
            .arg(self.dir.path())
            .args(["--secure-port", "0", "--bind-address", "127.0.0.1"])
            .env("KUBEWARD_LOG", std::env::var("KUBEWARD_LOG").unwrap_or_else(|_| "info".into()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start kubeward up");
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr_pipe = child.stderr.take().expect("stderr is piped");
        let stderr = Arc::new(Mutex::new(String::new()));
        {
            let stderr = stderr.clone();
            thread::spawn(move || {
                let mut lines = BufReader::new(stderr_pipe);
                let mut line = String::new();
                while matches!(lines.read_line(&mut line), Ok(n) if n > 0) {
                    if let Ok(mut s) = stderr.lock() {
                        s.push_str(&line);
                        if s.len() > STDERR_KEEP * 2 {
                            let cut = s.len() - STDERR_KEEP;
                            let cut = (cut..s.len()).find(|i| s.is_char_boundary(*i)).unwrap_or(0);
                            s.drain(..cut);
                        }
                    }
                    line.clear();
                }
            });
        }
        let (tx, rx) = mpsc::channel::<String>();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // The receiver goes away after the ready lines; keep draining regardless.
                let _ = tx.send(line);
            }
        });
        let mut process = Process { child, stderr };
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut url = None;
        let mut kubeconfig = None;
        let mut seen = Vec::new();
        while url.is_none() || kubeconfig.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(u) = line.strip_prefix("kubeward is ready at ") {
                        url = Some(u.trim().to_string());
                    } else if let Some(k) = line.strip_prefix("admin kubeconfig: ") {
                        kubeconfig = Some(PathBuf::from(k.trim()));
                    }
                    seen.push(line);
                }
                Err(e) => {
                    // Give stderr a moment to be read if the process died.
                    let exited =
                        eventually(Duration::from_millis(500), || process.child.try_wait().ok().flatten());
                    let why = match e {
                        mpsc::RecvTimeoutError::Timeout => format!("no ready line within {READY_TIMEOUT:?}"),
                        mpsc::RecvTimeoutError::Disconnected => format!("exited early ({exited:?})"),
                    };
                    let tail = process.stderr_tail(16 * 1024);
                    process.kill_hard();
                    panic!("kubeward up {why}\n--- stdout ---\n{}\n--- stderr ---\n{tail}", seen.join("\n"));
                }
            }
        }
        self.url = url.expect("loop exits with a url");
        self.kubeconfig = kubeconfig.expect("loop exits with a kubeconfig");
        self.process = Some(process);
    }

    /// `kill -9` the server, as a crash would.
    pub fn kill_hard(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.kill_hard();
        }
    }

    /// SIGTERM and wait (then SIGKILL after 5 s).
    pub fn stop(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.stop();
        }
    }

    /// Starts `kubeward up` again on the same data directory (new port, rewritten kubeconfig).
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// The last `max` bytes the server logged.
    pub fn stderr_tail(&self, max: usize) -> String {
        self.process.as_ref().map(|p| p.stderr_tail(max)).unwrap_or_default()
    }

    /// Issues a client certificate for `user` in `groups` (at most 2) from the cluster CA
    /// and writes a kubeconfig for it; returns the kubeconfig's path.
    pub fn user_kubeconfig(&self, user: &str, groups: &[&str]) -> PathBuf {
        let (cert, key) = self.issue_client(user, groups);
        let ca_pem = std::fs::read_to_string(self.pki_dir().join("ca.crt")).expect("ca.crt");
        self.write_kubeconfig(user, &ca_pem, &cert, &key)
    }

    /// A client certificate and key (PEM) for `user` in `groups`, signed by the cluster CA.
    pub fn issue_client(&self, user: &str, groups: &[&str]) -> (String, String) {
        let pki = self.pki_dir();
        let ca_pem = std::fs::read_to_string(pki.join("ca.crt")).expect("ca.crt");
        let ca_key = std::fs::read_to_string(pki.join("ca.key")).expect("ca.key");
        let ca = pki::Ca::load(&ca_pem, &ca_key).expect("load the cluster CA");
        let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        let cert = ca.issue_client(user, &groups).expect("issue a client certificate");
        (cert.cert_pem, cert.key_pem)
    }

    /// Writes a kubeconfig for this server with the given client certificate and key.
    pub fn write_kubeconfig(&self, user: &str, ca_pem: &str, cert_pem: &str, key_pem: &str) -> PathBuf {
        self.kubeconfig_file(user, ca_pem, Some((cert_pem, key_pem)), None)
    }

    /// Writes a kubeconfig for this server that authenticates with a bearer token.
    pub fn token_kubeconfig(&self, name: &str, token: &str) -> PathBuf {
        let ca_pem = std::fs::read_to_string(self.pki_dir().join("ca.crt")).expect("ca.crt");
        self.kubeconfig_file(name, &ca_pem, None, Some(token))
    }

    fn kubeconfig_file(
        &self,
        name: &str,
        ca_pem: &str,
        cert: Option<(&str, &str)>,
        token: Option<&str>,
    ) -> PathBuf {
        let kc = pki::Kubeconfig {
            cluster_name: "kubeward".into(),
            server: self.url.clone(),
            ca_pem: ca_pem.to_string(),
            user_name: name.to_string(),
            client_cert_pem: cert.map(|c| c.0.to_string()),
            client_key_pem: cert.map(|c| c.1.to_string()),
            token: token.map(str::to_string),
        };
        let path = self.scratch("kubeconfigs").join(format!("{name}.kubeconfig"));
        std::fs::write(&path, kc.to_yaml()).expect("write kubeconfig");
        path
    }

    /// kubectl of the given version ("1.27" .. "1.33", or "" for the default `kubectl`)
    /// with the admin kubeconfig and a cache dir of its own.
    pub fn kubectl(&self, version: &str) -> Option<Kubectl> {
        Kubectl::find(version)
            .map(|bin| Kubectl::new(bin, &self.kubeconfig, &self.cache_dir(version, "admin")))
    }

    /// kubectl of the given version acting with another kubeconfig (own cache dir per user).
    pub fn kubectl_as(&self, version: &str, user: &str, kubeconfig: &Path) -> Option<Kubectl> {
        Kubectl::find(version).map(|bin| Kubectl::new(bin, kubeconfig, &self.cache_dir(version, user)))
    }

    fn cache_dir(&self, version: &str, user: &str) -> PathBuf {
        let v = if version.is_empty() { "default" } else { version };
        self.scratch(&format!("kube-cache-{user}-{v}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if thread::panicking() {
            let tail = self.stderr_tail(8 * 1024);
            if !tail.is_empty() {
                eprintln!("--- kubeward stderr (tail) ---\n{tail}");
            }
        }
        self.stop();
    }
}

/// One kubectl binary bound to one kubeconfig and one cache directory.
#[derive(Debug, Clone)]
pub struct Kubectl {
    pub bin: PathBuf,
    kubeconfig: PathBuf,
    cache_dir: PathBuf,
}

impl Kubectl {
    /// The binary for a version, if installed. The directory can be moved with `KUBECTL_DIR`.
    pub fn find(version: &str) -> Option<PathBuf> {
        let dir = std::env::var("KUBECTL_DIR").unwrap_or_else(|_| KUBECTL_DIR.into());
        let name = if version.is_empty() { "kubectl".to_string() } else { format!("kubectl.{version}") };
        let p = Path::new(&dir).join(&name);
        if p.is_file() {
            return Some(p);
        }
        if version.is_empty() && have_program("kubectl") {
            return Some(PathBuf::from("kubectl"));
        }
        None
    }

    pub fn new(bin: PathBuf, kubeconfig: &Path, cache_dir: &Path) -> Kubectl {
        Kubectl { bin, kubeconfig: kubeconfig.to_path_buf(), cache_dir: cache_dir.to_path_buf() }
    }

    /// Runs `kubectl --kubeconfig K --cache-dir C <args>` with [`COMMAND_TIMEOUT`].
    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache_dir)
            .args(args)
            .env_remove("KUBECONFIG")
            .env("HOME", self.cache_dir.parent().unwrap_or(&self.cache_dir));
        run(cmd, COMMAND_TIMEOUT)
    }

    /// Runs and panics with all output unless exit 0.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        out.assert_ok();
        out
    }
}

/// Notes that a check was skipped (`SKIPPED:` on stderr, and a line of the skip log that
/// scripts/test counts; see the `testkit` crate).
pub fn skip(why: &str) {
    testkit::skip(why);
}

/// A tool this check needs is missing: fails the test saying what provides it, unless
/// `KUBEWARD_ALLOW_SKIP` allows skipping it (then noted and counted). The caller returns after.
/// `tool` is `kubectl 1.27` (a version), `kubectl` (the default one), `curl`, `openssl`,
/// `node` or `python kubernetes client`.
#[track_caller]
pub fn missing(tool: &str) {
    let dir = std::env::var("KUBECTL_DIR").unwrap_or_else(|_| KUBECTL_DIR.into());
    let provides = match tool {
        "curl" => "Debian: apt-get install curl".to_string(),
        "openssl" => "Debian: apt-get install openssl".to_string(),
        "node" => "Node.js; Debian: apt-get install nodejs npm".to_string(),
        "python kubernetes client" => "python3 -m pip install kubernetes".to_string(),
        kubectl if kubectl.starts_with("kubectl") => format!(
            "looked for as kubectl.1.27 ... kubectl.1.33 in {dir} (KUBECTL_DIR); the default kubectl also on PATH"
        ),
        _ => "see scripts/test".to_string(),
    };
    testkit::missing(tool, &provides);
}

/// kubectl `version` for the admin of `server`, or `None` (recorded as missing) when that
/// version is not installed.
pub fn kubectl_or_missing(server: &Server, version: &str) -> Option<Kubectl> {
    let k = server.kubectl(version);
    if k.is_none() {
        missing(&format!("kubectl {version}"));
    }
    k
}

/// The words of each line, so column alignment does not matter.
pub fn words(text: &str) -> Vec<String> {
    text.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect()
}

/// `kubectl get ARGS -o json`, parsed.
pub fn get_json(k: &Kubectl, args: &[&str]) -> serde_json::Value {
    get_json_with(k, args, &[])
}

/// [`get_json`] with the objects' `managedFields` (kubectl hides them by default).
pub fn get_json_managed(k: &Kubectl, args: &[&str]) -> serde_json::Value {
    get_json_with(k, args, &["--show-managed-fields"])
}

fn get_json_with(k: &Kubectl, args: &[&str], extra: &[&str]) -> serde_json::Value {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "json"]);
    all.extend_from_slice(extra);
    let out = k.ok(&all);
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// Runs `f` on a fresh two-worker tokio runtime (the kube-rs tests are plain `#[test]`s).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f)
}

/// A kube-rs client from a kubeconfig file.
pub async fn kube_client_from(path: &Path) -> kube::Client {
    let kubeconfig = kube::config::Kubeconfig::read_from(path).expect("kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .expect("kube-rs config from the kubeconfig");
    kube::Client::try_from(config).expect("kube-rs client")
}

/// A kube-rs client from the admin kubeconfig `kubeward up` wrote.
pub async fn kube_client(server: &Server) -> kube::Client {
    kube_client_from(more::Cluster::admin_kubeconfig(server)).await
}
