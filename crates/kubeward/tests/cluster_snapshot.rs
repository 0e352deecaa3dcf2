//! `kubeward snapshot save|restore` (issue #16): a single-machine cluster on the embedded
//! store moves, in place, onto a managed etcd without losing an object; the managed etcd
//! then saves etcd's own snapshot.

mod support;

use std::process::Command;
use std::time::Duration;
use support::{kubectl_or_missing, Server};

fn kubeward(args: &[&str]) -> support::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubeward"));
    cmd.args(args);
    support::run(cmd, Duration::from_secs(120))
}

fn free_port() -> String {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port().to_string())
        .expect("a port")
}

#[test]
fn an_embedded_cluster_moves_onto_a_managed_etcd_without_losing_an_object() {
    if !support::have_program("etcd") && std::env::var_os("KUBEWARD_ETCD_BIN").is_none() {
        return testkit::missing("etcd", "Debian: apt-get install etcd-server");
    }
    let mut server = Server::start();
    let Some(k) = kubectl_or_missing(&server, "1.33") else { return };
    k.ok(&["create", "namespace", "moving"]);
    for i in 0..40 {
        k.ok(&["create", "configmap", &format!("c{i}"), "-n", "moving", &format!("--from-literal=i={i}")]);
    }
    k.ok(&["create", "secret", "generic", "s", "-n", "moving", "--from-literal=password=hunter2"]);
    let before = k.ok(&["get", "configmaps,secrets", "-n", "moving", "-o", "name"]).stdout;
    let dir = server.data_dir().display().to_string();
    let snap = server.scratch("snap").join("embedded.snapshot").display().to_string();

    // Saving the embedded store needs its server stopped (one writer).
    kubeward(&["snapshot", "save", &snap, "--data-dir", &dir])
        .assert_code(1)
        .assert_stderr_contains("stop its kubeward first");
    server.stop();
    kubeward(&["snapshot", "save", &snap, "--data-dir", &dir])
        .assert_ok()
        .assert_stdout_contains("objects at revision");

    // `up --cluster-init` would leave the embedded objects behind: refused, with the way.
    kubeward(&["up", "--data-dir", &dir, "--secure-port", "0", "--cluster-init"])
        .assert_code(1)
        .assert_stderr_contains("kubeward snapshot restore FILE --cluster-init");

    // Restored in place into a new managed etcd member; a plain `up` then runs it.
    let (client, peer) = (free_port(), free_port());
    let restored = kubeward(&[
        "snapshot",
        "restore",
        &snap,
        "--data-dir",
        &dir,
        "--cluster-init",
        "--node-name",
        "solo",
        "--bind-address",
        "127.0.0.1",
        "--etcd-client-port",
        &client,
        "--etcd-peer-port",
        &peer,
    ]);
    restored.assert_ok().assert_stdout_contains("into the managed etcd member `solo`");
    server.restart();
    assert!(server.stderr_tail(64 * 1024).contains("storing objects in the managed etcd"), "not on etcd");
    let k = server.kubectl("1.33").expect("kubectl");
    let after = k.ok(&["get", "configmaps,secrets", "-n", "moving", "-o", "name"]).stdout;
    assert_eq!(before, after, "objects lost in the move");
    k.ok(&["get", "secret", "s", "-n", "moving", "-o", "jsonpath={.data.password}"])
        .assert_stdout_contains("aHVudGVyMg==");
    k.ok(&["create", "configmap", "after-the-move", "-n", "moving"]);

    // The managed etcd saves etcd's own snapshot (while serving).
    let native = server.scratch("snap").join("etcd.snapshot");
    kubeward(&["snapshot", "save", &native.display().to_string(), "--data-dir", &dir])
        .assert_ok()
        .assert_stdout_contains("saved etcd's snapshot of member `solo`");
    let size = std::fs::metadata(&native).map(|m| m.len()).unwrap_or(0);
    assert!(size > 16 * 1024, "an etcd snapshot of {size} bytes");
    // A restore refuses a target that already runs a managed etcd.
    kubeward(&["snapshot", "restore", &snap, "--data-dir", &dir, "--cluster-init"])
        .assert_code(1)
        .assert_stderr_contains("already runs a managed etcd");
    server.stop();

    // etcd's snapshot restores (by etcdctl) into a new member elsewhere, beside the PKI.
    if !support::have_program("etcdctl") {
        return testkit::missing("etcdctl", "Debian: apt-get install etcd-client");
    }
    let elsewhere = server.scratch("restored");
    let copied = Command::new("cp").arg("-a").arg(server.pki_dir()).arg(&elsewhere).status().expect("cp");
    assert!(copied.success());
    let target = elsewhere.display().to_string();
    let (client, peer) = (free_port(), free_port());
    kubeward(&[
        "snapshot",
        "restore",
        &native.display().to_string(),
        "--data-dir",
        &target,
        "--cluster-init",
        "--node-name",
        "again",
        "--bind-address",
        "127.0.0.1",
        "--etcd-client-port",
        &client,
        "--etcd-peer-port",
        &peer,
    ])
    .assert_ok()
    .assert_stdout_contains("restored etcd's snapshot into the managed etcd member `again`");
    let mut up = Up::start(&target);
    let k = support::Kubectl::new(
        support::Kubectl::find("1.33").expect("kubectl"),
        &up.kubeconfig,
        &elsewhere.join("cache"),
    );
    let restored = k.ok(&["get", "configmaps,secrets", "-n", "moving", "-o", "name"]).stdout;
    assert!(restored.contains("configmap/after-the-move"), "{restored}");
    assert!(restored.contains("configmap/c39") && restored.contains("secret/s"), "{restored}");
    up.stop();
}

/// A `kubeward up` on a data directory, stopped by its pid.
struct Up {
    child: Option<std::process::Child>,
    kubeconfig: std::path::PathBuf,
}

impl Up {
    fn start(dir: &str) -> Up {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_kubeward"))
            .args(["up", "--data-dir", dir, "--secure-port", "0", "--bind-address", "127.0.0.1"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start kubeward");
        let stdout = child.stdout.take().expect("piped");
        let mut up = Up { child: Some(child), kubeconfig: Default::default() };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let line = rx.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()));
            match line {
                Ok(l) if l.starts_with("admin kubeconfig: ") => {
                    up.kubeconfig = l.trim_start_matches("admin kubeconfig: ").trim().into();
                    return up;
                }
                Ok(_) => {}
                Err(e) => panic!("the restored kubeward did not get ready: {e:?}"),
            }
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            while std::time::Instant::now() < deadline && matches!(c.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        self.stop();
    }
}
