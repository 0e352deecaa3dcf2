//! More test support for the authentication, service-account, admission and RBAC-tool
//! end-to-end tests.
//!
//! Owns: a `kubeward up` server started with extra kube-apiserver flags ([`FlagServer`],
//! whose data directory the test can fill before the start), the [`Cluster`] view shared by
//! it and [`super::Server`], raw HTTP through curl ([`Cluster::curl`]), token-only kubectl
//! ([`Cluster::kubectl_token`]), certificates the cluster CA would never issue (expired,
//! from another CA, server-auth only), and a tiny HTTPS webhook server ([`webhook`]).

pub mod webhook;

use super::{eventually, run, Kubectl, Output, Server, COMMAND_TIMEOUT, READY_TIMEOUT};
use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, Issuer, KeyPair, KeyUsagePurpose};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// What the tests need from a running server, whichever way it was started.
pub trait Cluster {
    fn url(&self) -> &str;
    fn admin_kubeconfig(&self) -> &Path;
    fn data_path(&self) -> &Path;
    /// Everything the server wrote to stderr so far (bounded).
    fn log(&self) -> String;

    fn pki(&self) -> PathBuf {
        self.data_path().join("pki")
    }

    fn ca_pem(&self) -> String {
        std::fs::read_to_string(self.pki().join("ca.crt")).expect("ca.crt")
    }

    /// A scratch directory (manifests, caches, kubeconfigs) inside the data directory.
    fn scratch_dir(&self, name: &str) -> PathBuf {
        let p = self.data_path().join("scratch").join(name);
        std::fs::create_dir_all(&p).expect("scratch dir");
        p
    }

    /// Writes `text` to a scratch file and returns its path.
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.scratch_dir("files").join(name);
        std::fs::write(&p, text).expect("write scratch file");
        p
    }

    /// kubectl (default version) as the admin.
    fn admin(&self) -> Kubectl {
        self.kubectl_with("", "admin", self.admin_kubeconfig())
    }

    /// kubectl of a version acting with a kubeconfig, with a cache dir per (label, version).
    fn kubectl_with(&self, version: &str, label: &str, kubeconfig: &Path) -> Kubectl {
        let bin = Kubectl::find(version).unwrap_or_else(|| panic!("kubectl {version:?} is not installed"));
        let v = if version.is_empty() { "default" } else { version };
        Kubectl::new(bin, kubeconfig, &self.scratch_dir(&format!("kube-cache-{label}-{v}")))
    }

    /// A kubeconfig that trusts the cluster CA and holds no credentials at all, so that
    /// `--token` / `--username` given on the command line are the only ones sent.
    fn anonymous_kubeconfig(&self) -> PathBuf {
        let kc = pki::Kubeconfig {
            cluster_name: "kubeward".into(),
            server: self.url().to_string(),
            ca_pem: self.ca_pem(),
            user_name: "nobody".into(),
            client_cert_pem: None,
            client_key_pem: None,
            token: None,
        };
        let path = self.scratch_dir("kubeconfigs").join("anonymous.kubeconfig");
        std::fs::write(&path, kc.to_yaml()).expect("write kubeconfig");
        path
    }

    /// kubectl with a credential-less kubeconfig; pass `--token` yourself.
    fn kubectl_bare(&self, label: &str) -> Kubectl {
        let kc = self.anonymous_kubeconfig();
        self.kubectl_with("", label, &kc)
    }

    /// kubectl whose kubeconfig carries exactly this bearer token.
    fn kubectl_token(&self, label: &str, token: &str) -> Kubectl {
        let kc = pki::Kubeconfig {
            cluster_name: "kubeward".into(),
            server: self.url().to_string(),
            ca_pem: self.ca_pem(),
            user_name: label.into(),
            client_cert_pem: None,
            client_key_pem: None,
            token: Some(token.to_string()),
        };
        let path = self.scratch_dir("kubeconfigs").join(format!("{label}.token.kubeconfig"));
        std::fs::write(&path, kc.to_yaml()).expect("write kubeconfig");
        self.kubectl_with("", label, &path)
    }

    /// kubectl with a client certificate for `user` in `groups`, signed by the cluster CA.
    fn kubectl_user(&self, user: &str, groups: &[&str]) -> Kubectl {
        let ca = load_ca(&self.pki(), "ca");
        let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        let c = ca.issue_client(user, &groups).expect("issue client cert");
        let kc = pki::Kubeconfig {
            cluster_name: "kubeward".into(),
            server: self.url().to_string(),
            ca_pem: self.ca_pem(),
            user_name: user.into(),
            client_cert_pem: Some(c.cert_pem),
            client_key_pem: Some(c.key_pem),
            token: None,
        };
        let path = self.scratch_dir("kubeconfigs").join(format!("{user}.cert.kubeconfig"));
        std::fs::write(&path, kc.to_yaml()).expect("write kubeconfig");
        self.kubectl_with("", user, &path)
    }

    /// `curl -sS --cacert CA <args> URL+path`; answers (HTTP status, body). Status 0 means
    /// no HTTP answer at all (TLS failure, refused connection).
    fn curl(&self, path: &str, args: &[&str]) -> Http {
        let ca = self.pki().join("ca.crt");
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "--max-time", "20", "-o", "-", "-w", "\n%{http_code}", "--cacert"])
            .arg(&ca)
            .args(args)
            .arg(format!("{}{path}", self.url()));
        Http::from(run(cmd, COMMAND_TIMEOUT))
    }

    /// [`Cluster::curl`] with the admin's client certificate.
    fn admin_curl(&self, path: &str, args: &[&str]) -> Http {
        let cert = self.pki().join("admin.crt");
        let key = self.pki().join("admin.key");
        let (cert, key) = (cert.display().to_string(), key.display().to_string());
        let mut all = vec!["--cert", cert.as_str(), "--key", key.as_str()];
        all.extend_from_slice(args);
        self.curl(path, &all)
    }

    /// POSTs a SelfSubjectReview with the given curl credentials.
    fn self_subject_review(&self, args: &[&str]) -> Http {
        let body = r#"{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}"#;
        let mut all = vec!["-X", "POST", "-H", "Content-Type: application/json", "--data", body];
        all.extend_from_slice(args);
        self.curl("/apis/authentication.k8s.io/v1/selfsubjectreviews", &all)
    }
}

impl Cluster for Server {
    fn url(&self) -> &str {
        &self.url
    }
    fn admin_kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }
    fn data_path(&self) -> &Path {
        self.data_dir()
    }
    fn log(&self) -> String {
        self.stderr_tail(usize::MAX)
    }
}

/// One raw HTTP exchange.
#[derive(Debug)]
pub struct Http {
    pub status: u16,
    pub body: String,
    pub out: Output,
}

impl From<Output> for Http {
    fn from(out: Output) -> Http {
        let (body, code) = out.stdout.rsplit_once('\n').unwrap_or(("", out.stdout.as_str()));
        Http { status: code.trim().parse().unwrap_or(0), body: body.to_string(), out }
    }
}

impl Http {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.out))
    }
}

impl std::fmt::Display for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}: {}\n{}", self.status, self.body, self.out)
    }
}

/// `kubectl auth whoami -o json` through `k` with extra args: (username, groups).
pub fn whoami(k: &Kubectl, extra: &[&str]) -> Result<(String, Vec<String>), Output> {
    let mut args = vec!["auth", "whoami", "-o", "json"];
    args.extend_from_slice(extra);
    let out = k.run(&args);
    if !out.ok() {
        return Err(out);
    }
    let v: Value = serde_json::from_str(&out.stdout).map_err(|_| out.clone())?;
    let info = &v["status"]["userInfo"];
    let name = info["username"].as_str().unwrap_or_default().to_string();
    let groups = info["groups"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).map(String::from).collect())
        .unwrap_or_default();
    Ok((name, groups))
}

/// Runs `f` until it reports success or `within` passes; returns the last output and
/// whether it succeeded.
pub fn retry(within: Duration, mut f: impl FnMut() -> (bool, String)) -> (bool, String) {
    let mut last = String::new();
    let ok = eventually(within, || {
        let (ok, text) = f();
        last = text;
        ok.then_some(())
    })
    .is_some();
    (ok, last)
}

/// Decodes one base64 value of a Secret's `data`.
pub fn b64_decode(s: &str) -> String {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD.decode(s.trim()).expect("base64");
    String::from_utf8(bytes).expect("utf-8")
}

pub fn b64_encode(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
}

// ---------------------------------------------------------------- certificates

/// Loads `<pki>/<name>.crt` and `.key` as a CA.
pub fn load_ca(pki_dir: &Path, name: &str) -> pki::Ca {
    let cert = std::fs::read_to_string(pki_dir.join(format!("{name}.crt"))).expect("ca cert");
    let key = std::fs::read_to_string(pki_dir.join(format!("{name}.key"))).expect("ca key");
    pki::Ca::load(&cert, &key).expect("load CA")
}

/// A client certificate for `cn` valid in 2020 only, signed by `ca` (cert, key PEM).
pub fn expired_client_cert(ca: &pki::Ca, cn: &str) -> (String, String) {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name.push(DnType::CommonName, cn);
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2020, 12, 31);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let issuer = Issuer::from_ca_cert_pem(&ca.cert_pem, KeyPair::from_pem(&ca.key_pem).expect("ca key"))
        .expect("issuer");
    let cert = params.signed_by(&key, &issuer).expect("sign");
    (cert.pem(), key.serialize_pem())
}

/// Writes a certificate and key into `dir` as `<name>.crt` / `<name>.key`; returns the paths
/// as strings for curl.
pub fn write_pair(dir: &Path, name: &str, cert: &str, key: &str) -> (String, String) {
    let c = dir.join(format!("{name}.crt"));
    let k = dir.join(format!("{name}.key"));
    std::fs::write(&c, cert).expect("write cert");
    std::fs::write(&k, key).expect("write key");
    (c.display().to_string(), k.display().to_string())
}

// ---------------------------------------------------------------- server with flags

struct Process {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

/// `kubeward up --secure-port 0` with extra flags, in a temporary data directory the test
/// may fill first. Stopped (SIGTERM, then SIGKILL) on drop.
pub struct FlagServer {
    dir: tempfile::TempDir,
    process: Option<Process>,
    pub url: String,
    pub kubeconfig: PathBuf,
}

impl FlagServer {
    /// Creates the data directory, lets `prepare` write files into it and return the extra
    /// flags, then starts the server and waits for its ready line.
    pub fn start(prepare: impl FnOnce(&Path) -> Vec<String>) -> FlagServer {
        Self::start_env(prepare, &[])
    }

    /// [`FlagServer::start`] with extra environment variables (e.g. `KUBEWARD_LOG`).
    pub fn start_env(prepare: impl FnOnce(&Path) -> Vec<String>, env: &[(&str, &str)]) -> FlagServer {
        let dir = tempfile::Builder::new().prefix("kubeward-e2e2-").tempdir().expect("temp dir");
        let flags = prepare(dir.path());
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubeward"));
        cmd.arg("up")
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--secure-port", "0", "--bind-address", "127.0.0.1"])
            .args(&flags)
            .env("KUBEWARD_LOG", std::env::var("KUBEWARD_LOG").unwrap_or_else(|_| "info".into()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start kubeward up");
        let stdout = child.stdout.take().expect("piped");
        let stderr_pipe = child.stderr.take().expect("piped");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        thread::spawn(move || {
            let mut r = BufReader::new(stderr_pipe);
            let mut line = String::new();
            while matches!(r.read_line(&mut line), Ok(n) if n > 0) {
                if let Ok(mut s) = sink.lock() {
                    // Tests grep the whole log; keep up to 4 MiB.
                    if s.len() < 4 << 20 {
                        s.push_str(&line);
                    }
                }
                line.clear();
            }
        });
        let (tx, rx) = mpsc::channel::<String>();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let mut server = FlagServer {
            dir,
            process: Some(Process { child, stderr }),
            url: String::new(),
            kubeconfig: PathBuf::new(),
        };
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut seen = Vec::new();
        while server.url.is_empty() || server.kubeconfig.as_os_str().is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(u) = line.strip_prefix("kubeward is ready at ") {
                        server.url = u.trim().to_string();
                    } else if let Some(k) = line.strip_prefix("admin kubeconfig: ") {
                        server.kubeconfig = PathBuf::from(k.trim());
                    }
                    seen.push(line);
                }
                Err(e) => {
                    thread::sleep(Duration::from_millis(300));
                    let log = server.log();
                    server.stop();
                    panic!(
                        "kubeward up {flags:?} did not get ready ({e:?})\n--- stdout ---\n{}\n--- stderr ---\n{log}",
                        seen.join("\n")
                    );
                }
            }
        }
        server
    }

    pub fn stop(&mut self) {
        let Some(mut p) = self.process.take() else { return };
        if let Ok(Some(_)) = p.child.try_wait() {
            return;
        }
        let pid = p.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).stderr(Stdio::null()).status();
        if eventually(Duration::from_secs(5), || p.child.try_wait().ok().flatten()).is_none() {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
    }
}

impl Cluster for FlagServer {
    fn url(&self) -> &str {
        &self.url
    }
    fn admin_kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }
    fn data_path(&self) -> &Path {
        self.dir.path()
    }
    fn log(&self) -> String {
        self.process.as_ref().and_then(|p| p.stderr.lock().ok().map(|s| s.clone())).unwrap_or_default()
    }
}

impl Drop for FlagServer {
    fn drop(&mut self) {
        if thread::panicking() {
            let log = self.log();
            let start = log.len().saturating_sub(8 * 1024);
            let start = (start..log.len()).find(|i| log.is_char_boundary(*i)).unwrap_or(0);
            eprintln!("--- kubeward stderr (tail) ---\n{}", &log[start..]);
        }
        self.stop();
    }
}
