//! `kubeward check cis` through the binary: kube-bench's API-server controls (CIS section
//! 1.2) for a default `kubeward up`, for flags that break them, and for a running server's
//! command line (`--pid`).

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::run;

/// `kubeward check cis <args>`: control id -> (state, source).
fn check(args: &[&str]) -> BTreeMap<String, (String, String)> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubeward"));
    cmd.args(["check", "cis"]).args(args);
    let out = run(cmd, Duration::from_secs(30));
    out.assert_ok();
    assert!(out.stdout.starts_with("[INFO] 1.2 API Server"), "{out}");
    let mut rows = BTreeMap::new();
    for line in out.stdout.lines().filter(|l| l.starts_with("1.2.")) {
        let mut parts = line.split_whitespace();
        let (id, state) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let source =
            line.split("  ").map(str::trim).filter(|s| !s.is_empty()).last().unwrap_or("").to_string();
        rows.insert(id.to_string(), (state.to_string(), source));
    }
    assert_eq!(rows.len(), 30, "every control of section 1.2: {out}");
    rows
}

fn state(rows: &BTreeMap<String, (String, String)>, id: &str) -> String {
    rows.get(id).map(|r| r.0.clone()).unwrap_or_default()
}

#[test]
fn a_default_up_holds_the_scored_controls_that_apply() {
    let rows = check(&[]);
    for id in [
        "1.2.2", "1.2.6", "1.2.7", "1.2.8", "1.2.10", "1.2.12", "1.2.13", "1.2.14", "1.2.15", "1.2.16",
        "1.2.21", "1.2.22", "1.2.24", "1.2.25", "1.2.30",
    ] {
        assert_eq!(state(&rows, id), "PASS", "{id}: {:?}", rows.get(id));
    }
    // Manual controls kubeward meets by default.
    for id in ["1.2.1", "1.2.3", "1.2.20", "1.2.29"] {
        assert_eq!(state(&rows, id), "PASS", "{id}: {:?}", rows.get(id));
    }
    for id in ["1.2.23", "1.2.26"] {
        assert_eq!(state(&rows, id), "N/A", "{id}");
    }
    // `up` makes kubeward's client certificate to kubelets and verifies them with its CA.
    for id in ["1.2.4", "1.2.5"] {
        assert_eq!(state(&rows, id), "PASS", "{id}: {:?}", rows.get(id));
    }
    assert!(rows["1.2.4"].1.contains("apiserver-kubelet-client.crt"), "{:?}", rows["1.2.4"]);
    assert!(rows["1.2.16"].1.starts_with("--audit-log-path="), "{:?}", rows["1.2.16"]);
    assert_eq!(rows["1.2.6"].1, "--authorization-mode=Node,RBAC");
}

#[test]
fn flags_that_break_controls_fail_them() {
    let rows = check(&[
        "--",
        "up",
        "--authorization-mode",
        "AlwaysAllow",
        "--token-auth-file",
        "/tmp/tokens.csv",
        "--anonymous-auth",
        "true",
        "--enable-admission-plugins",
        "AlwaysAdmit,AlwaysPullImages",
        "--disable-admission-plugins",
        "ServiceAccount",
        "--etcd-servers",
        "https://127.0.0.1:2379",
    ]);
    for id in ["1.2.2", "1.2.6", "1.2.7", "1.2.8", "1.2.10", "1.2.12", "1.2.14", "1.2.23", "1.2.26"] {
        assert_eq!(state(&rows, id), "FAIL", "{id}: {:?}", rows.get(id));
    }
    assert_eq!(state(&rows, "1.2.1"), "WARN");
    assert_eq!(state(&rows, "1.2.11"), "PASS", "AlwaysPullImages enabled");
    assert_eq!(state(&rows, "1.2.3"), "WARN", "DenyServiceExternalIPs left out of the explicit list");
    assert_eq!(rows["1.2.2"].1, "--token-auth-file=/tmp/tokens.csv");
    // `server` mode: no audit log unless asked for.
    let rows = check(&[
        "--",
        "server",
        "--data-dir",
        "/tmp/x",
        "--tls-cert-file",
        "c",
        "--tls-private-key-file",
        "k",
    ]);
    assert_eq!(state(&rows, "1.2.16"), "FAIL");
    assert_eq!(state(&rows, "1.2.25"), "FAIL", "no --client-ca-file");
}

#[test]
fn a_running_server_is_judged_by_its_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kubeward"))
        .args(["up", "--secure-port", "0", "--data-dir"])
        .arg(dir.path())
        .args(["--authorization-mode", "RBAC"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start kubeward");
    let stdout = child.stdout.take().expect("piped");
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        match lines.next() {
            Some(Ok(l)) if l.starts_with("kubeward is ready") => break,
            Some(Ok(_)) => continue,
            _ => break,
        }
    }
    let rows = check(&["--pid", &child.id().to_string()]);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(state(&rows, "1.2.7"), "FAIL", "Node left out: {:?}", rows.get("1.2.7"));
    assert_eq!(state(&rows, "1.2.8"), "PASS");
    let audit = &rows["1.2.16"].1;
    assert!(audit.contains(&dir.path().canonicalize().expect("dir").display().to_string()), "{audit}");
}
