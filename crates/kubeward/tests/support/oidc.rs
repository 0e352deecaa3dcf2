//! Test support for the OIDC end-to-end tests: a real OpenID provider on loopback and
//! commands (kubectl, `kubeward login get-token`) that stop to ask for a sign-in.
//!
//! Owns: [`start_provider`] (the npm `oidc-provider` IdP of the login crate's tests, installed
//! once per target directory in a staging directory renamed into place under a file lock, so
//! concurrent test processes never see a half-installed `node_modules`; the login crate's own
//! copy is never touched), the `kubeward up` flags pointing at it ([`Provider::server_flags`]),
//! kubeconfigs whose user is an exec entry ([`exec_kubeconfig`]), and [`run_signing_in`], which
//! runs a command, watches its stderr for the sign-in URL and signs in with the login
//! crate's form-driving [`Browser`].

use super::{run, Output, COMMAND_TIMEOUT};
use serde_json::{json, Value};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

#[path = "../../../login/tests/support/mod.rs"]
mod login_support;

pub use login_support::Browser;

/// The client id the test provider knows.
pub const CLIENT_ID: &str = "kubeward";
/// The scopes the plugin asks for besides `openid`.
pub const SCOPES: [&str; 3] = ["email", "groups", "offline_access"];

/// A running test OpenID provider, killed on drop.
pub struct Provider {
    /// `https://127.0.0.1:<port>`.
    pub issuer: String,
    /// The CA that signed the provider's serving certificate.
    pub ca_file: PathBuf,
    pub ca_pem: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Provider {
    /// `kubeward up` flags trusting this provider: audience `kubeward`, user name from the
    /// `email` claim (no prefix, as kube does for email), groups prefixed `oidc:`.
    pub fn server_flags(&self, client_id: &str) -> Vec<String> {
        vec![
            format!("--oidc-issuer-url={}", self.issuer),
            format!("--oidc-client-id={client_id}"),
            format!("--oidc-ca-file={}", self.ca_file.display()),
            "--oidc-username-claim=email".into(),
            "--oidc-groups-claim=groups".into(),
            "--oidc-groups-prefix=oidc:".into(),
        ]
    }

    /// The arguments of `kubeward login get-token` for this provider (no cache dir).
    pub fn get_token_args(&self) -> Vec<String> {
        let mut args = vec![
            "login".to_string(),
            "get-token".into(),
            format!("--oidc-issuer-url={}", self.issuer),
            format!("--oidc-client-id={CLIENT_ID}"),
            format!("--certificate-authority={}", self.ca_file.display()),
            "--no-browser".into(),
        ];
        args.extend(SCOPES.iter().map(|s| format!("--oidc-extra-scope={s}")));
        args
    }
}

fn idp_source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("login").join("tests").join("idp")
}

/// Installs the provider's npm packages once per lock file in the target's temp directory
/// and returns that directory (with a fresh copy of `server.js`).
fn installed_idp() -> PathBuf {
    let src = idp_source();
    let read = |name: &str| std::fs::read(src.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let (package, lock, server) = (read("package.json"), read("package-lock.json"), read("server.js"));
    let mut h = DefaultHasher::new();
    (&package, &lock).hash(&mut h);
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kubeward-oidc-idp");
    std::fs::create_dir_all(&root).expect("idp install root");
    let dest = root.join(format!("{:016x}", h.finish()));
    let ready = |d: &Path| d.join("node_modules").join("oidc-provider").join("package.json").is_file();
    if !ready(&dest) {
        let lock_file = std::fs::File::create(root.join(".install.lock")).expect("install lock file");
        lock_file.lock().expect("take the install lock");
        if !ready(&dest) {
            let staging = root.join(format!("staging-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&staging);
            std::fs::create_dir_all(&staging).expect("staging dir");
            std::fs::write(staging.join("package.json"), &package).expect("package.json");
            std::fs::write(staging.join("package-lock.json"), &lock).expect("package-lock.json");
            let mut npm = Command::new("npm");
            npm.args(["ci", "--silent", "--no-audit", "--no-fund"]).current_dir(&staging);
            let out = run(npm, Duration::from_secs(300));
            assert!(out.ok(), "npm ci for the test OpenID provider failed: {out}");
            let _ = std::fs::remove_dir_all(&dest);
            std::fs::rename(&staging, &dest).expect("move the installed provider into place");
        }
        // Dropping the file releases the lock.
    }
    // Atomic replace, so a provider starting meanwhile reads either copy whole. The temporary
    // name is unique per call: tests of one binary run as threads of one process.
    static COPIES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let copy = COPIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dest.join(format!(".server-{}-{copy}.js", std::process::id()));
    std::fs::write(&tmp, &server).expect("copy server.js");
    std::fs::rename(&tmp, dest.join("server.js")).expect("place server.js");
    dest
}

/// Starts the test provider with this id_token (and access token) lifetime in seconds. Without
/// `node`, fails the test, or answers `None` when `KUBEWARD_ALLOW_SKIP` allows the skip.
pub fn start_provider(id_token_ttl: u32) -> Option<Provider> {
    start_provider_env(id_token_ttl, &[])
}

/// [`start_provider`] with environment variables for `server.js` (`IDP_EXTRA_REDIRECT_URIS`).
pub fn start_provider_env(id_token_ttl: u32, env: &[(&str, &str)]) -> Option<Provider> {
    if Command::new("node").arg("--version").output().is_err() {
        super::missing("node");
        return None;
    }
    let idp = installed_idp();
    let dir = tempfile::Builder::new().prefix("kubeward-oidc-idp-").tempdir().expect("temp dir");
    let ca = pki::Ca::generate("oidc-e2e-idp-ca").expect("idp CA");
    let serving = ca.issue_serving("127.0.0.1", &["127.0.0.1".to_string()]).expect("idp serving cert");
    let ca_file = dir.path().join("idp-ca.pem");
    let (cert, key) = (dir.path().join("idp.crt"), dir.path().join("idp.key"));
    std::fs::write(&ca_file, &ca.cert_pem).expect("write idp ca");
    std::fs::write(&cert, &serving.cert_pem).expect("write idp cert");
    std::fs::write(&key, &serving.key_pem).expect("write idp key");
    let mut child = Command::new("node")
        .arg(idp.join("server.js"))
        .arg(&cert)
        .arg(&key)
        .arg(id_token_ttl.to_string())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(if std::env::var_os("IDP_DEBUG").is_some() { Stdio::inherit() } else { Stdio::null() })
        .spawn()
        .expect("start node");
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        if let Some(Ok(first)) = lines.next() {
            let _ = tx.send(first);
        }
        // Keep draining, so that the provider never writes into a closed pipe.
        for _ in lines {}
    });
    let line = match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(l) => l,
        Err(e) => {
            let _ = child.kill();
            panic!("the OpenID provider printed no issuer line ({e:?}); rerun with IDP_DEBUG=1");
        }
    };
    let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("provider said {line:?}: {e}"));
    let issuer = v["issuer"].as_str().expect("issuer").to_string();
    Some(Provider { issuer, ca_file, ca_pem: ca.cert_pem, child, _dir: dir })
}

/// Drives the provider's login and consent pages for `url` as `login`; panics unless the
/// loopback redirect of the plugin answered that the sign-in is done.
pub fn sign_in(ca_pem: &str, url: &str, login: &str) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let page = rt.block_on(async { Browser::new(ca_pem).sign_in(url, login).await });
    assert!(page.contains("Signed in"), "the plugin's loopback answered {page:?}");
}

/// What [`run_signing_in`] saw.
#[derive(Debug)]
pub struct Interactive {
    pub out: Output,
    /// The sign-in URLs the command printed, in order.
    pub prompts: Vec<String>,
}

/// Runs `cmd` (stdin closed) and signs in as `login` each time it prints a sign-in URL on
/// stderr. With `login` = `None` a sign-in is not expected: the command is killed at the
/// first URL (the plugin would otherwise wait minutes), and the URL is reported.
pub fn run_signing_in(mut cmd: Command, ca_pem: &str, login: Option<&str>) -> Interactive {
    let command = format!("{cmd:?}");
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {command}: {e}"));
    let mut stdout = child.stdout.take().expect("piped");
    let out = thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let stderr = child.stderr.take().expect("piped");
    let (tx, rx) = mpsc::channel::<String>();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let (mut err, mut prompts, mut timed_out) = (String::new(), Vec::new(), false);
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                err.push_str(&line);
                err.push('\n');
                let t = line.trim();
                if t.starts_with("https://") && t.contains("code_challenge=") {
                    prompts.push(t.to_string());
                    match login {
                        Some(user) => sign_in(ca_pem, t, user),
                        None => {
                            let _ = child.kill();
                        }
                    }
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                timed_out = true;
                let _ = child.kill();
                break;
            }
        }
    }
    let status = child.wait().ok();
    let out = Output {
        command,
        code: status.and_then(|s| s.code()),
        stdout: out.join().unwrap_or_default(),
        stderr: err,
        timed_out,
    };
    Interactive { out, prompts }
}

/// Writes a kubeconfig for `server_url` (trusting `ca_file`) whose user is `user_entry`
/// (a kubeconfig `users:` item: `{name, user: {exec: ...}}`); returns its path.
pub fn exec_kubeconfig(path: &Path, server_url: &str, ca_file: &Path, user_entry: &Value) -> PathBuf {
    let user = user_entry["name"].as_str().expect("user entry has a name");
    let kc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{ "name": "kubeward", "cluster": {
            "server": server_url,
            "certificate-authority": ca_file.display().to_string(),
        }}],
        "users": [user_entry],
        "contexts": [{ "name": "oidc", "context": { "cluster": "kubeward", "user": user } }],
        "current-context": "oidc",
    });
    std::fs::write(path, apimachinery::yaml::to_string(&kc).expect("kubeconfig yaml"))
        .expect("write kubeconfig");
    path.to_path_buf()
}

/// A kubeconfig `users:` entry running `command args` as a client-go exec plugin.
pub fn exec_user(name: &str, command: &str, args: &[String]) -> Value {
    json!({ "name": name, "user": { "exec": {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": command,
        "args": args,
        "interactiveMode": "Never",
        "provideClusterInfo": false,
    }}})
}

/// A kubectl command of the given version with this kubeconfig, a cache dir of its own,
/// and the kubeward binary's directory first on PATH (so `command: kubeward` resolves).
pub fn kubectl_command(bin: &Path, kubeconfig: &Path, cache_dir: &Path, args: &[&str]) -> Command {
    let kubeward_dir = Path::new(env!("CARGO_BIN_EXE_kubeward")).parent().expect("bin dir").to_path_buf();
    let mut path = vec![kubeward_dir];
    if let Some(p) = std::env::var_os("PATH") {
        path.extend(std::env::split_paths(&p));
    }
    let mut cmd = Command::new(bin);
    cmd.arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--cache-dir")
        .arg(cache_dir)
        .args(args)
        .env_remove("KUBECONFIG")
        .env("HOME", cache_dir)
        .env("PATH", std::env::join_paths(path).expect("PATH"));
    cmd
}

/// The `status.token` of an ExecCredential printed by the plugin, after checking its shape.
pub fn exec_credential_token(stdout: &str) -> String {
    let v: Value =
        serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not an ExecCredential ({e}): {stdout}"));
    assert_eq!(v["apiVersion"], "client.authentication.k8s.io/v1", "{v}");
    assert_eq!(v["kind"], "ExecCredential", "{v}");
    assert!(v["status"]["expirationTimestamp"].is_string(), "{v}");
    v["status"]["token"].as_str().expect("status.token").to_string()
}

/// A JWT's claims, decoded without verification.
pub fn jwt_claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// The id_token held in the single token cache file under `dir`.
pub fn cached_id_token(dir: &Path) -> String {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("token cache dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    assert_eq!(files.len(), 1, "one cache file expected in {}: {files:?}", dir.display());
    let v: Value =
        serde_json::from_slice(&std::fs::read(&files[0]).expect("read cache")).expect("cache JSON");
    v["id_token"].as_str().expect("cached id_token").to_string()
}
