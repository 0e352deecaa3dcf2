//! Control planes coming back and joins that fail, on a managed etcd (issue #16): a
//! restarted member needs only `--data-dir` (its node name, addresses, etcd ports and API
//! port are in `cluster.json`, mode 0600; an explicit `--secure-port` overrides the saved
//! one, an etcd port that would move the member is refused); a join whose node fails to
//! start after its etcd member was added removes that member again, so the cluster is left
//! as it was and the same node can join later.

mod cluster_nodes;
mod support;

use cluster_nodes::{free_port, member_rows, places, three_healthy_voters, wait_for, Node, KUBEWARD};
use std::process::Command;
use std::time::Duration;

fn have_etcd() -> bool {
    support::have_program("etcd") || std::env::var_os("KUBEWARD_ETCD_BIN").is_some()
}

/// The printed join command's arguments (after `kubeward`).
fn join_command(from: &Node) -> Vec<String> {
    let out = from.kubeward(&["token", "create", "--print-join-command"]);
    out.assert_ok();
    out.stdout.split_whitespace().skip(1).map(str::to_string).collect()
}

/// `member list`'s rows as (name, etcd member id), sorted.
fn members(node: &Node) -> Vec<(String, String)> {
    let out = node.kubeward(&["member", "list"]);
    out.assert_ok();
    let mut rows: Vec<(String, String)> = member_rows(&out.stdout)
        .into_iter()
        .filter_map(|r| Some((r.first()?.clone(), r.get(1)?.clone())))
        .collect();
    rows.sort();
    rows
}

fn only_data_dir(node: &Node) -> Vec<String> {
    vec!["up".into(), "--data-dir".into(), node.dir.display().to_string()]
}

#[test]
fn a_restarted_control_plane_needs_only_its_data_directory() {
    if !have_etcd() {
        return testkit::missing("etcd", "Debian: apt-get install etcd-server");
    }
    let tmp = tempfile::Builder::new().prefix("kubeward-restart-").tempdir().expect("tempdir");
    let spots = places(2);
    let mut a = Node::start("a", &tmp.path().join("a"), &spots[0], &["up".into(), "--cluster-init".into()]);
    let mut b = Node::start("b", &tmp.path().join("b"), &spots[1], &join_command(&a));
    wait_for("two healthy voters", Duration::from_secs(60), || three_healthy_voters(&a, &["a", "b"]));
    let before = members(&a);
    let (a_url, b_url) = (a.url.clone(), b.url.clone());
    for node in [&a, &b] {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(node.dir.join("cluster.json")).expect("cluster.json");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{} cluster.json mode", node.name);
        let saved: serde_json::Value =
            serde_json::from_slice(&std::fs::read(node.dir.join("cluster.json")).expect("read"))
                .expect("json");
        assert_eq!(saved["securePort"], u64::from(node.place.api), "{saved}");
    }

    // Both stop; each comes back with only its data directory (together: one member alone
    // has no quorum, so it is not ready before the other starts): same URL, same members.
    a.stop();
    b.stop();
    let (a_dir, b_dir) = (a.dir.clone(), b.dir.clone());
    let (a_args, b_args) = (only_data_dir(&a), only_data_dir(&b));
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| Node::start_exactly("a", &a_dir, &spots[0], &a_args));
        let b = Node::start_exactly("b", &b_dir, &spots[1], &b_args);
        (a.join().expect("a restarted"), b)
    });
    assert_eq!(a.url, a_url, "a came back elsewhere");
    assert_eq!(b.url, b_url, "b came back elsewhere");
    wait_for("two healthy voters after the restart", Duration::from_secs(60), || {
        three_healthy_voters(&b, &["a", "b"])
    });
    assert_eq!(members(&b), before, "the membership changed across the restart");

    // An explicit --secure-port overrides the saved one, says so, and is kept.
    let mut b = b;
    b.stop();
    let other = free_port(&spots[1].ip);
    let mut args = only_data_dir(&b);
    args.extend(["--secure-port".into(), other.to_string()]);
    let mut b = Node::start_exactly("b", &b_dir, &spots[1], &args);
    assert!(b.url.ends_with(&format!(":{other}")), "{} does not serve on {other}", b.url);
    assert!(b.log().contains("--secure-port overrides the port saved"), "{}", b.log_tail());
    b.stop();
    let b = Node::start_exactly("b", &b_dir, &spots[1], &only_data_dir(&b));
    assert!(b.url.ends_with(&format!(":{other}")), "the overriding port was not kept: {}", b.url);

    // An etcd port that would move the member is refused before anything starts.
    let mut moved = Command::new(KUBEWARD);
    moved.args(only_data_dir(&a)).args(["--etcd-peer-port", &free_port(&spots[0].ip).to_string()]);
    support::run(moved, Duration::from_secs(30))
        .assert_code(1)
        .assert_stderr_contains("has its etcd member on port");
    drop(b);
    drop(a);
}

#[test]
fn a_join_that_fails_after_adding_its_member_rolls_back() {
    if !have_etcd() {
        return testkit::missing("etcd", "Debian: apt-get install etcd-server");
    }
    let tmp = tempfile::Builder::new().prefix("kubeward-rollback-").tempdir().expect("tempdir");
    let spots = places(2);
    let a = Node::start("a", &tmp.path().join("a"), &spots[0], &["up".into(), "--cluster-init".into()]);
    let cmd = join_command(&a);
    let alone = members(&a);
    assert_eq!(alone.len(), 1, "{alone:?}");

    // b's API port is taken: its etcd member is added (and promoted once caught up), then
    // its API server cannot listen.
    let taken = std::net::TcpListener::bind((spots[1].ip.as_str(), spots[1].api)).expect("take b's port");
    let mut join = Command::new(KUBEWARD);
    join.args(&cmd).args(cluster_nodes::node_args("b", &tmp.path().join("b"), &spots[1]));
    let failed = support::run(join, Duration::from_secs(180));
    failed.assert_code(1).assert_stderr_contains("The join was rolled back");
    assert!(failed.stderr.contains("added this node's etcd member"), "{failed}");
    assert_eq!(members(&a), alone, "the failed join left a member behind");
    drop(taken);

    // The cluster is as it was: the same node joins (a fresh directory) and both serve.
    let b = Node::start("b", &tmp.path().join("b2"), &spots[1], &cmd);
    wait_for("two healthy voters", Duration::from_secs(60), || three_healthy_voters(&a, &["a", "b"]));
    drop(b);
    drop(a);
}
