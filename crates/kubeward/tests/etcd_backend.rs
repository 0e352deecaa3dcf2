//! kubeward on a real etcd: two servers share one etcd cluster; what one writes, the
//! other reads and watches.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::Kubectl;

struct Up {
    child: Child,
    kubeconfig: std::path::PathBuf,
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn up_on_etcd(dir: &std::path::Path, endpoint: &str) -> Up {
    let child = Command::new(env!("CARGO_BIN_EXE_kubeward"))
        .args(["up", "--secure-port", "0", "--etcd-servers", endpoint, "--data-dir"])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start kubeward");
    let mut up = Up { child, kubeconfig: Default::default() };
    let stdout = up.child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // On a timeout `up` is dropped, which kills and waits for the child.
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("kubeward did not get ready");
        if let Some(k) = line.strip_prefix("admin kubeconfig: ") {
            up.kubeconfig = k.trim().into();
            return up;
        }
    }
}

#[test]
fn two_servers_share_one_etcd() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let Some(etcd) = rt.block_on(storage::etcd::TestEtcd::start_or_skip()) else { return };
    let Some(bin) = Kubectl::find("1.32") else { return support::missing("kubectl 1.32") };
    let dir = tempfile::tempdir().expect("tempdir");
    let a = up_on_etcd(&dir.path().join("a"), &etcd.endpoint());
    let b = up_on_etcd(&dir.path().join("b"), &etcd.endpoint());
    let ka = Kubectl::new(bin.clone(), &a.kubeconfig, &dir.path().join("cache-a"));
    let kb = Kubectl::new(bin, &b.kubeconfig, &dir.path().join("cache-b"));
    ka.ok(&["create", "configmap", "shared", "--from-literal=x=1"]);
    kb.ok(&["get", "configmap", "shared", "-o", "jsonpath={.data.x}"]).assert_stdout_contains("1");
    kb.ok(&["delete", "configmap", "shared"]);
    ka.run(&["get", "configmap", "shared"]).assert_code(1).assert_stderr_contains("NotFound");
    // Both bootstrapped the same default objects without conflict.
    ka.ok(&["get", "clusterrole", "cluster-admin"]);
    drop(etcd);
}
