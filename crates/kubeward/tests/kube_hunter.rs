//! kube-hunter 0.6.8 (PyPI) against a default `kubeward up` on port 6443 (kube-hunter scans
//! only its fixed ports): passively it finds nothing (no version disclosure to strangers:
//! KHV002 was found before anonymous requests were limited to the health checks); actively,
//! with a default ServiceAccount's token, it finds only what every authenticated identity is
//! given by kube's bootstrap policy, as on any Kubernetes cluster: discovery
//! (`system:discovery`, KHV005) and `/version` (`system:public-info-viewer`, KHV002); none of
//! its attempts to list, create, patch or delete succeeds.
//!
//! kube-hunter pins an old Python client, so `scripts/test` installs it in a virtualenv of its
//! own and names it in `KUBEWARD_KUBE_HUNTER`; `kube-hunter` on PATH is used otherwise.

mod support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn kube_hunter() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("KUBEWARD_KUBE_HUNTER").map(PathBuf::from).filter(|p| p.is_file()) {
        return Some(p);
    }
    support::have_program("kube-hunter").then(|| PathBuf::from("kube-hunter"))
}

/// The vulnerability IDs (`KHV...`) of a plain kube-hunter report.
fn findings(report: &str) -> Vec<String> {
    let mut ids: Vec<String> = report
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| w.len() == 6 && w.starts_with("KHV") && w[3..].bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_string)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

fn hunt(bin: &PathBuf, extra: &[&str]) -> String {
    let mut cmd = Command::new(bin);
    cmd.args(["--remote", "127.0.0.1", "--report", "plain", "--log", "none"]).args(extra);
    // The machine's CA bundle variables make `requests` verify despite kube-hunter's
    // verify=False; kube-hunter never finds a self-signed server with them set.
    cmd.env_remove("REQUESTS_CA_BUNDLE").env_remove("CURL_CA_BUNDLE");
    let out = support::run(cmd, Duration::from_secs(300));
    assert!(out.ok(), "kube-hunter failed: {out}");
    assert!(out.stdout.contains("127.0.0.1:6443"), "kube-hunter did not find the API server: {out}");
    out.stdout
}

#[test]
fn kube_hunter_finds_nothing_anonymous_and_nothing_beyond_kube_bootstrap_with_a_token() {
    let Some(bin) = kube_hunter() else {
        return support::missing("kube-hunter");
    };
    assert!(
        std::net::TcpListener::bind("127.0.0.1:6443").is_ok(),
        "port 6443 is in use: kube-hunter scans only its fixed ports, so this check needs it free"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Command::new(env!("CARGO_BIN_EXE_kubeward"))
        .args(["up", "--secure-port", "6443", "--data-dir"])
        .arg(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start kubeward");
    let stdout = server.stdout.take().expect("piped");
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut ready = false;
    while Instant::now() < deadline && !ready {
        match lines.next() {
            Some(Ok(l)) => ready = l.starts_with("kubeward is ready"),
            _ => break,
        }
    }
    let result = std::panic::catch_unwind(|| {
        assert!(ready, "kubeward did not get ready");
        let passive = hunt(&bin, &[]);
        assert!(passive.contains("No vulnerabilities were found"), "passive hunt: {passive}");
        assert_eq!(findings(&passive), Vec::<String>::new());

        let kubeconfig = dir.path().join("admin.kubeconfig");
        let kubectl = support::Kubectl::find("").expect("kubectl");
        let mut cmd = Command::new(kubectl);
        cmd.arg("--kubeconfig").arg(&kubeconfig).args(["create", "token", "default", "-n", "default"]);
        let token = support::run(cmd, support::COMMAND_TIMEOUT);
        token.assert_ok();
        let active = hunt(&bin, &["--active", "--service-account-token", token.stdout.trim()]);
        assert_eq!(findings(&active), ["KHV002", "KHV005"], "active hunt with a token: {active}");
    });
    let _ = server.kill();
    let _ = server.wait();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
