//! Test support for the dashboard's end-to-end tests: a running `kubeward dashboard` or
//! `kubeward auth-proxy` ([`Dashboard`], stopped on drop) and Debian's chromium driven
//! headless through npm's `playwright-core` ([`Browser`]: `tests/browser/driver.mjs`, one JSON
//! command a line; each [`Browser::person`] is a browser profile of its own).
//!
//! The npm package is installed once per target directory (as the test OpenID provider is),
//! in a staging directory renamed into place under a file lock.

use super::{eventually, run};
use serde_json::{json, Value};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Where Debian's chromium is.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// A running `kubeward dashboard` or `kubeward auth-proxy`.
pub struct Dashboard {
    child: Option<Child>,
    /// `https://127.0.0.1:<port>/` (the proxy's `http://` URL for the proxy).
    pub url: String,
    /// The launch link of desktop mode.
    pub launch: Option<String>,
    log: Arc<Mutex<String>>,
}

impl Dashboard {
    /// Starts `kubeward ARGS` and waits for its ready line (`<prefix> is ready at URL`).
    pub fn start(args: &[String]) -> Dashboard {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubeward"));
        cmd.args(args)
            .env("KUBEWARD_LOG", "info")
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start kubeward dashboard");
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Ok(mut s) = sink.lock() {
                    if s.len() < 4 << 20 {
                        s.push_str(&line);
                        s.push('\n');
                    }
                }
            }
        });
        let (tx, rx) = mpsc::channel::<String>();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let mut d = Dashboard { child: Some(child), url: String::new(), launch: None, log };
        let deadline = Instant::now() + Duration::from_secs(30);
        let desktop_expected = !args.iter().any(|a| a == "auth-proxy");
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(u) = line.split(" is ready at ").nth(1) {
                        d.url = u.trim().to_string();
                        // Desktop mode prints the launch link next; sign-in mode does not.
                        if !desktop_expected {
                            break;
                        }
                        if let Ok(next) = rx.recv_timeout(Duration::from_millis(500)) {
                            d.launch = next.strip_prefix("open (once) ").map(str::to_string);
                        }
                        break;
                    }
                }
                Err(e) => {
                    thread::sleep(Duration::from_millis(200));
                    let log = d.log();
                    d.stop();
                    panic!("kubeward {args:?} did not get ready ({e:?}):\n{log}");
                }
            }
        }
        d
    }

    /// Everything it logged so far.
    pub fn log(&self) -> String {
        self.log.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// SIGTERM; answers whether it exited by itself within 5 s (with status 0).
    pub fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else { return true };
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        let pid = child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).stderr(Stdio::null()).status();
        match eventually(Duration::from_secs(5), || child.try_wait().ok().flatten()) {
            Some(status) => status.success(),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                false
            }
        }
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        if thread::panicking() {
            let log = self.log();
            let start = log.len().saturating_sub(8 * 1024);
            let start = (start..log.len()).find(|i| log.is_char_boundary(*i)).unwrap_or(0);
            eprintln!("--- dashboard stderr (tail) ---\n{}", &log[start..]);
        }
        self.stop();
    }
}

/// Headless chromium behind the driver script.
pub struct Browser {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next: u64,
}

/// One person: a browser profile of its own with one page.
#[derive(Clone, Copy, Debug)]
pub struct Person(u64);

fn browser_source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("browser")
}

/// Installs `playwright-core` once per lock file under the target's temp directory.
fn installed_driver() -> PathBuf {
    let src = browser_source();
    let read = |name: &str| std::fs::read(src.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let (package, lock, driver) = (read("package.json"), read("package-lock.json"), read("driver.mjs"));
    let mut h = DefaultHasher::new();
    (&package, &lock).hash(&mut h);
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kubeward-browser");
    std::fs::create_dir_all(&root).expect("browser driver root");
    let dest = root.join(format!("{:016x}", h.finish()));
    let ready = |d: &Path| d.join("node_modules").join("playwright-core").join("package.json").is_file();
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
            assert!(out.ok(), "npm ci for the browser driver failed: {out}");
            let _ = std::fs::remove_dir_all(&dest);
            std::fs::rename(&staging, &dest).expect("move the driver into place");
        }
    }
    static COPIES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let copy = COPIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dest.join(format!(".driver-{}-{copy}.mjs", std::process::id()));
    std::fs::write(&tmp, &driver).expect("copy driver.mjs");
    std::fs::rename(&tmp, dest.join("driver.mjs")).expect("place driver.mjs");
    dest
}

impl Browser {
    /// Starts chromium. Without `node` or chromium, fails the test, or answers `None` when
    /// `KUBEWARD_ALLOW_SKIP` allows the skip.
    pub fn start() -> Option<Browser> {
        if Command::new("node").arg("--version").output().is_err() {
            super::missing("node");
            return None;
        }
        if !Path::new(CHROMIUM).is_file() {
            testkit::missing(
                "chromium",
                "Debian: apt-get install chromium chromium-driver (scripts/test installs them)",
            );
            return None;
        }
        let dir = installed_driver();
        let mut child = Command::new("node")
            .arg(dir.join("driver.mjs"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the browser driver");
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        Some(Browser { child, stdin, stdout, next: 1 })
    }

    /// Sends one command; its value, or the driver's error.
    pub fn call(&mut self, mut cmd: Value) -> Result<Value, String> {
        let id = self.next;
        self.next += 1;
        cmd["id"] = json!(id);
        writeln!(self.stdin, "{cmd}").map_err(|e| format!("driver gone: {e}"))?;
        let mut line = String::new();
        self.stdout.read_line(&mut line).map_err(|e| format!("driver gone: {e}"))?;
        let v: Value = serde_json::from_str(&line).map_err(|e| format!("driver said {line:?}: {e}"))?;
        if v["ok"] == json!(true) {
            Ok(v["value"].clone())
        } else {
            Err(v["error"].as_str().unwrap_or("driver failed").to_string())
        }
    }

    #[track_caller]
    fn must(&mut self, cmd: Value) -> Value {
        let what = cmd.to_string();
        self.call(cmd).unwrap_or_else(|e| panic!("browser: {what}: {e}"))
    }

    /// A new person (browser profile).
    pub fn person(&mut self) -> Person {
        Person(self.must(json!({"op": "newContext"})).as_u64().expect("context id"))
    }

    pub fn goto(&mut self, p: Person, url: &str) {
        self.must(json!({"op": "goto", "ctx": p.0, "url": url}));
    }

    pub fn click(&mut self, p: Person, selector: &str) {
        self.must(json!({"op": "click", "ctx": p.0, "selector": selector}));
    }

    pub fn fill(&mut self, p: Person, selector: &str, value: &str) {
        self.must(json!({"op": "fill", "ctx": p.0, "selector": selector, "value": value}));
    }

    /// The text of the first element matching `selector` once it shows.
    pub fn text(&mut self, p: Person, selector: &str) -> String {
        self.must(json!({"op": "text", "ctx": p.0, "selector": selector}))
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits until an element matching `selector` contains `text`; its text.
    pub fn wait_text(&mut self, p: Person, selector: &str, text: &str) -> String {
        match self.call(json!({"op": "waitText", "ctx": p.0, "selector": selector, "contains": text})) {
            Ok(v) => v.as_str().unwrap_or_default().to_string(),
            Err(e) => {
                let main = self.call(json!({"op": "text", "ctx": p.0, "selector": "body", "timeout": 1000}));
                panic!("waiting for {text:?} in {selector}: {e}\npage: {main:?}")
            }
        }
    }

    pub fn count(&mut self, p: Person, selector: &str) -> u64 {
        self.must(json!({"op": "count", "ctx": p.0, "selector": selector})).as_u64().unwrap_or(0)
    }

    pub fn texts(&mut self, p: Person, selector: &str) -> Vec<String> {
        let v = self.must(json!({"op": "texts", "ctx": p.0, "selector": selector}));
        v.as_array().into_iter().flatten().filter_map(|s| s.as_str().map(str::to_string)).collect()
    }

    pub fn value(&mut self, p: Person, selector: &str) -> String {
        self.must(json!({"op": "value", "ctx": p.0, "selector": selector}))
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn url(&mut self, p: Person) -> String {
        self.must(json!({"op": "url", "ctx": p.0})).as_str().unwrap_or_default().to_string()
    }

    pub fn wait_url(&mut self, p: Person, contains: &str) -> String {
        self.must(json!({"op": "waitUrl", "ctx": p.0, "contains": contains}))
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Runs a JavaScript expression in the page (a promise is awaited); its JSON value.
    pub fn evaluate(&mut self, p: Person, expression: &str) -> Value {
        self.must(json!({"op": "evaluate", "ctx": p.0, "expression": expression}))
    }

    /// The person's cookies (HttpOnly ones too), as the browser holds them.
    pub fn cookies(&mut self, p: Person) -> Vec<Value> {
        self.must(json!({"op": "cookies", "ctx": p.0})).as_array().cloned().unwrap_or_default()
    }

    /// Console errors and warnings the page logged (CSP violations show here).
    pub fn console(&mut self, p: Person) -> Vec<String> {
        let v = self.must(json!({"op": "console", "ctx": p.0}));
        v.as_array().into_iter().flatten().filter_map(|s| s.as_str().map(str::to_string)).collect()
    }

    /// A full-page PNG at `path`.
    pub fn screenshot(&mut self, p: Person, path: &Path) {
        self.must(json!({"op": "screenshot", "ctx": p.0, "path": path.display().to_string()}));
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where screenshots go when `KUBEWARD_DASHBOARD_SCREENSHOTS` names a directory (the
/// repository's `docs/dashboard` is made that way); `None` otherwise.
pub fn screenshot_dir() -> Option<PathBuf> {
    std::env::var_os("KUBEWARD_DASHBOARD_SCREENSHOTS").map(PathBuf::from)
}
