//! The official Python `kubernetes` client against a real server (tests/python/).
//! Needs `python3 -c 'import kubernetes'` to work (scripts/test installs the client); fails
//! otherwise, unless `KUBEWARD_ALLOW_SKIP` allows the skip.

mod support;

use std::process::Command;
use support::Server;

fn python_client_available() -> bool {
    let mut cmd = Command::new("python3");
    cmd.args(["-c", "import kubernetes"]);
    support::have_program("python3") && support::run(cmd, support::COMMAND_TIMEOUT).ok()
}

#[test]
fn python_client_lists_creates_reads() {
    if !python_client_available() {
        support::missing("python kubernetes client");
        return;
    }
    let server = Server::start();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/client_smoke.py");
    let mut cmd = Command::new("python3");
    cmd.arg(script).arg(&server.kubeconfig).arg("from-python");
    let out = support::run(cmd, support::COMMAND_TIMEOUT);
    out.assert_ok();
    out.assert_stdout_contains("kubernetes service: 10.96.0.1:443")
        .assert_stdout_contains("configmap: hello from python")
        .assert_stdout_contains("watch: ADDED from-python")
        .assert_stdout_contains("deleted: 404");
    let namespaces = out.stdout.lines().find_map(|l| l.strip_prefix("namespaces: ")).unwrap_or_default();
    assert!(namespaces.split(',').any(|n| n == "kube-system"), "{out}");
}
