//! The etcd store through a leader failure: three etcd members on loopback, the store on a
//! follower, creates in flight while the leader is killed (`kill -9`). A proposal the follower
//! forwarded to the dead leader is lost, and etcd answers it only after its request timeout
//! (7 s with the default election timeout); the store must notice the election and send the
//! write again (module `etcd::writes`), so writes stall about as long as the election, and no
//! acknowledged create is missing or holds other bytes afterwards.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use storage::etcd::admin::EtcdAdmin;
use storage::etcd::{EtcdOptions, EtcdStore, TestEtcd};
use storage::{Store, StoreError};

struct Member {
    name: String,
    client: String,
    child: Option<Child>,
}

impl Drop for Member {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Three members of one new cluster, started.
fn start_cluster(binary: &Path, dir: &Path) -> Vec<Member> {
    let ports: Vec<(u16, u16)> = (0..3).map(|_| (free_port(), free_port())).collect();
    let initial = ports
        .iter()
        .enumerate()
        .map(|(i, (_, peer))| format!("m{i}=http://127.0.0.1:{peer}"))
        .collect::<Vec<_>>()
        .join(",");
    ports
        .iter()
        .enumerate()
        .map(|(i, (client, peer))| {
            let name = format!("m{i}");
            let client = format!("http://127.0.0.1:{client}");
            let peer = format!("http://127.0.0.1:{peer}");
            let log = std::fs::File::create(dir.join(format!("{name}.log"))).expect("log file");
            let child = Command::new(binary)
                .args([
                    format!("--name={name}"),
                    format!("--data-dir={}", dir.join(&name).display()),
                    format!("--listen-client-urls={client}"),
                    format!("--advertise-client-urls={client}"),
                    format!("--listen-peer-urls={peer}"),
                    format!("--initial-advertise-peer-urls={peer}"),
                    format!("--initial-cluster={initial}"),
                    "--initial-cluster-state=new".into(),
                    "--initial-cluster-token=failover-test".into(),
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start etcd");
            Member { name, client, child: Some(child) }
        })
        .collect()
}

/// The leader's id and each member's own id, once every member follows one leader; `None`
/// when a member's process has exited (it could not bind a port picked for it: another
/// process may take a free port between the pick and etcd's bind).
async fn leader(members: &mut [Member]) -> Option<(u64, Vec<u64>)> {
    let options = EtcdOptions { request_timeout: Duration::from_secs(2), ..EtcdOptions::default() };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        for m in members.iter_mut() {
            if let Some(child) = m.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    eprintln!("{} exited at start ({status}); starting the cluster again", m.name);
                    return None;
                }
            }
        }
        let mut ids = Vec::new();
        let mut leaders = Vec::new();
        for m in members.iter() {
            let admin = EtcdAdmin::new(std::slice::from_ref(&m.client), &options).expect("admin client");
            if let Ok(status) = admin.status().await {
                ids.push(status.member_id);
                leaders.push(status.leader);
            }
        }
        if ids.len() == members.len() && leaders[0] != 0 && leaders.iter().all(|l| *l == leaders[0]) {
            return Some((leaders[0], ids));
        }
        assert!(Instant::now() < deadline, "the three members did not agree on a leader");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The last lines of each member's log in `dir`.
fn member_logs(dir: &Path) -> String {
    (0..3)
        .map(|i| {
            let log = std::fs::read_to_string(dir.join(format!("m{i}.log"))).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(15).collect();
            format!("m{i}:\n{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The longest time without an acknowledgement from `from` until `until`.
fn longest_gap(acks: &[Instant], from: Instant, until: Instant) -> Duration {
    let mut after: Vec<Instant> = acks.iter().copied().filter(|t| *t > from).collect();
    after.sort_unstable();
    let mut last = from;
    let mut longest = Duration::ZERO;
    for t in after {
        longest = longest.max(t.duration_since(last));
        last = t;
    }
    longest.max(until.saturating_duration_since(last))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_go_on_after_the_leader_dies_without_loss_or_duplicates() {
    if TestEtcd::skip_requested() {
        return;
    }
    let Some(binary) = TestEtcd::binary() else {
        // TestEtcd says what to install (and counts the skip) the same way.
        let _ = TestEtcd::start_or_skip().await;
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let mut attempt = 0;
    let (mut members, leader_id, ids, sub) = loop {
        attempt += 1;
        let sub = dir.path().join(format!("attempt-{attempt}"));
        std::fs::create_dir_all(&sub).expect("attempt dir");
        let mut members = start_cluster(&binary, &sub);
        if let Some((leader_id, ids)) = leader(&mut members).await {
            break (members, leader_id, ids, sub);
        }
        assert!(attempt < 3, "the cluster did not start in 3 attempts:\n{}", member_logs(&sub));
    };
    let leader_at = ids.iter().position(|id| *id == leader_id).expect("the leader is a member");
    let follower = (leader_at + 1) % members.len();
    let store = Arc::new(
        EtcdStore::connect(std::slice::from_ref(&members[follower].client), EtcdOptions::default())
            .await
            .expect("the store connects to a follower"),
    );

    // Writers: unique keys and values, one create at a time each.
    let acks = Arc::new(Mutex::new(Vec::<Instant>::new()));
    let done = Arc::new(Mutex::new(Vec::<(String, Bytes, Result<u64, String>)>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..6 {
        let (store, acks, done, stop) = (store.clone(), acks.clone(), done.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let key = format!("/failover/{w}/{n}");
                let value = Bytes::from(format!("{{\"uid\":\"{w}-{n}\"}}"));
                let answer = store.create(&key, value.clone()).await;
                if answer.is_ok() {
                    acks.lock().expect("acks").push(Instant::now());
                }
                let answer = answer.map(|kv| kv.mod_revision).map_err(|e| match e {
                    StoreError::Timeout(m) => format!("timeout: {m}"),
                    other => format!("other: {other}"),
                });
                done.lock().expect("done").push((key, value, answer));
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let killed = Instant::now();
    if let Some(mut child) = members[leader_at].child.take() {
        child.kill().expect("kill -9 the leader");
        let _ = child.wait();
    }
    tokio::time::sleep(Duration::from_secs(9)).await;
    let until = Instant::now();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.await.expect("writer");
    }
    let gap = longest_gap(&acks.lock().expect("acks"), killed, until);
    let logs = || member_logs(&sub);
    eprintln!("writes stalled {gap:?} after the leader died");
    // etcd alone answers a lost proposal after 7 s; an election takes 1-2 s (plus a loaded
    // machine's delays).
    assert!(gap < Duration::from_millis(5000), "writes stalled {gap:?} after the leader died\n{}", logs());

    let done = done.lock().expect("done").clone();
    let acknowledged = done.iter().filter(|(_, _, a)| a.is_ok()).count();
    assert!(acknowledged > 20, "only {acknowledged} creates acknowledged");
    for (key, value, answer) in &done {
        let stored = store.get(key).await.expect("read back");
        match answer {
            // Every acknowledged create is there, with its bytes, at the revision answered.
            Ok(rev) => {
                let kv = stored.unwrap_or_else(|| panic!("acknowledged create {key} is missing"));
                assert_eq!(&kv.value, value, "{key}");
                assert_eq!(kv.create_revision, *rev, "{key}: created at another revision than answered");
            }
            // An unknown outcome: there with its own bytes, or not at all.
            Err(message) if message.starts_with("timeout") => {
                if let Some(kv) = stored {
                    assert_eq!(&kv.value, value, "{key}");
                }
            }
            Err(message) => panic!("{key}: a create failed with {message}"),
        }
    }
}
