//! The seed story of issue #16, on this machine: three control planes on a managed etcd
//! (127.0.0.2-4, each its own data directory; distinct ports on 127.0.0.1 when the loopback
//! aliases do not answer), a write load, `kill -9` of the etcd leader's node (its etcd and
//! its kubeward), no acknowledged write lost, writes going on, a watch resuming from its
//! resourceVersion on another server without a relist, `member remove` of the dead one, a
//! fresh node joining with the printed command, three healthy members again; then the
//! refusals (wrong token, CA hash, certificate key; unknown member; the removed member's
//! restart on stale data).
//!
//! Every loop is bounded; every process is stopped by its pid at the end (kubeward by its
//! child handle, etcd by the pid file kubeward writes), even when the test fails.

mod cluster_nodes;
mod support;

use cluster_nodes::{member_rows, node_args, places, three_healthy_voters, wait_for, Node, KUBEWARD};
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the write load saw.
#[derive(Default)]
struct Load {
    /// Names acknowledged (201) and when.
    acked: Vec<(String, Instant)>,
    failed: usize,
}

/// Writes ConfigMaps through the servers in turn from several tasks until `stop`; a writer
/// whose server fails moves to the next server.
async fn write_load(
    clients: Vec<kube::Client>,
    writers: usize,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> Load {
    let load = Arc::new(Mutex::new(Load::default()));
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (clients, load, stop) = (clients.clone(), load.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut target = w % clients.len();
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let name = format!("load-{w}-{n}");
                n += 1;
                let api: Api<ConfigMap> = Api::namespaced(clients[target].clone(), "default");
                let cm: ConfigMap = serde_json::from_value(serde_json::json!({
                    "metadata": {"name": name, "labels": {"load": "yes"}}, "data": {"n": n.to_string()}
                }))
                .expect("configmap");
                match tokio::time::timeout(Duration::from_secs(5), api.create(&PostParams::default(), &cm))
                    .await
                {
                    Ok(Ok(_)) => load.lock().expect("load").acked.push((name, Instant::now())),
                    _ => {
                        load.lock().expect("load").failed += 1;
                        target = (target + 1) % clients.len();
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let mut out = load.lock().expect("load");
    std::mem::take(&mut *out)
}

/// What the watcher saw: names added, reconnects, and whether it ever had to relist (410).
#[derive(Default, Debug)]
struct Watched {
    added: std::collections::BTreeSet<String>,
    resumed: usize,
    expired: bool,
}

/// Watches ConfigMaps labelled `load=yes` from `rv` through the servers in turn: when a
/// server goes away the watch resumes on the next one from the last resourceVersion seen.
async fn watch_load(
    clients: Vec<kube::Client>,
    rv: String,
    stop: Arc<std::sync::atomic::AtomicBool>,
    seen: Arc<Mutex<Watched>>,
) {
    let mut rv = rv;
    let mut target = 0;
    let mut first = true;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let api: Api<ConfigMap> = Api::namespaced(clients[target].clone(), "default");
        let params = WatchParams::default().labels("load=yes").timeout(60);
        if !first {
            seen.lock().expect("watched").resumed += 1;
        }
        first = false;
        let stream = match api.watch(&params, &rv).await {
            Ok(s) => s,
            Err(_) => {
                target = (target + 1) % clients.len();
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        futures::pin_mut!(stream);
        loop {
            let next = tokio::time::timeout(Duration::from_millis(500), stream.next()).await;
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                return;
            }
            match next {
                Err(_) => continue,
                Ok(Some(Ok(WatchEvent::Added(cm)))) => {
                    rv = cm.metadata.resource_version.clone().unwrap_or(rv);
                    seen.lock().expect("watched").added.insert(cm.metadata.name.unwrap_or_default());
                }
                Ok(Some(Ok(WatchEvent::Modified(cm) | WatchEvent::Deleted(cm)))) => {
                    rv = cm.metadata.resource_version.unwrap_or(rv);
                }
                Ok(Some(Ok(WatchEvent::Bookmark(b)))) => rv = b.metadata.resource_version,
                Ok(Some(Ok(WatchEvent::Error(e)))) => {
                    if e.code == 410 {
                        seen.lock().expect("watched").expired = true;
                        return;
                    }
                    break;
                }
                Ok(Some(Err(_))) | Ok(None) => {
                    target = (target + 1) % clients.len();
                    break;
                }
            }
        }
    }
}

#[test]
fn three_control_planes_survive_a_dead_member_and_replace_it() {
    if support::have_program("etcd") || std::env::var_os("KUBEWARD_ETCD_BIN").is_some() {
    } else {
        return testkit::missing("etcd", "Debian: apt-get install etcd-server");
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let tmp = tempfile::Builder::new().prefix("kubeward-cluster-").tempdir().expect("tempdir");
    let spots = places(5);
    let dir = |n: &str| tmp.path().join(n);

    // Three control planes: one cluster-init, two joins with the printed command.
    let a = Node::start("a", &dir("a"), &spots[0], &["up".into(), "--cluster-init".into()]);
    let join_command = |from: &Node| -> Vec<String> {
        let out = from.kubeward(&["token", "create", "--print-join-command"]);
        out.assert_ok();
        let line = out.stdout.trim().to_string();
        assert!(line.starts_with("kubeward join https://"), "{out}");
        assert!(line.contains(" --control-plane --certificate-key "), "{out}");
        line.split_whitespace().skip(1).map(str::to_string).collect()
    };
    let cmd = join_command(&a);
    let joined = Instant::now();
    let b = Node::start("b", &dir("b"), &spots[1], &cmd);
    let join_time = joined.elapsed();
    let c = Node::start("c", &dir("c"), &spots[2], &cmd);
    wait_for("three healthy voters", Duration::from_secs(60), || three_healthy_voters(&a, &["a", "b", "c"]));

    // The victim: the node of etcd's leader (the worst case for a write stall).
    let leader = rt.block_on(async {
        let p = |f: &str| dir("a").join("pki").join(f);
        let tls = storage::etcd::admin::tls(
            p("etcd/ca.crt"),
            p("apiserver-etcd-client.crt"),
            p("apiserver-etcd-client.key"),
        );
        let options = storage::etcd::EtcdOptions { tls: Some(tls), ..Default::default() };
        let url = format!("https://{}:{}", spots[0].ip, spots[0].client);
        let admin = storage::etcd::admin::EtcdAdmin::new(&[url], &options).expect("etcd admin");
        let status = admin.status().await.expect("etcd status");
        let members = admin.members().await.expect("members");
        members.into_iter().find(|m| m.id == status.leader).map(|m| m.name).expect("a leader")
    });
    let mut nodes = vec![a, b, c];
    let victim_index = nodes.iter().position(|n| n.name == leader).expect("leader is a node");
    let mut victim = nodes.remove(victim_index);
    let survivors = nodes;

    // A watch through the victim first, then the survivors; writers through all three.
    let victim_client = victim.client(&rt);
    let survivor_clients: Vec<kube::Client> = survivors.iter().map(|n| n.client(&rt)).collect();
    let rv = rt.block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(survivor_clients[0].clone(), "default");
        api.list(&ListParams::default().labels("load=yes"))
            .await
            .expect("list")
            .metadata
            .resource_version
            .expect("rv")
    });
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop_watch = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watched = Arc::new(Mutex::new(Watched::default()));
    let mut watch_clients = vec![victim_client.clone()];
    watch_clients.extend(survivor_clients.iter().cloned());
    let watcher = rt.spawn(watch_load(watch_clients, rv, stop_watch.clone(), watched.clone()));
    let mut write_clients = vec![victim_client];
    write_clients.extend(survivor_clients.iter().cloned());
    let writers = rt.spawn(write_load(write_clients, 6, stop.clone()));
    std::thread::sleep(Duration::from_secs(4));

    let kcm_lease = || -> Option<k8s_openapi::api::coordination::v1::LeaseSpec> {
        let leases: Api<k8s_openapi::api::coordination::v1::Lease> =
            Api::namespaced(survivor_clients[0].clone(), "kube-system");
        rt.block_on(leases.get("kube-controller-manager")).ok()?.spec
    };
    let kcm_holder = || kcm_lease().and_then(|s| s.holder_identity).unwrap_or_default();
    let held_before = kcm_holder();
    assert!(
        ["a_", "b_", "c_"].iter().any(|p| held_before.starts_with(p)),
        "kube-controller-manager's Lease is not held by a control plane: {held_before:?}"
    );
    let killed = Instant::now();
    let killed_at = std::time::SystemTime::now();
    victim.kill_hard();
    std::thread::sleep(Duration::from_secs(10));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let load = rt.block_on(writers).expect("writers");
    // The controllers run on a live server (taken over when the victim held them).
    wait_for("kube-controller-manager's Lease held by a survivor", Duration::from_secs(40), || {
        let holder = kcm_holder();
        if survivors.iter().any(|n| holder.starts_with(&format!("{}_", n.name))) {
            Ok(())
        } else {
            Err(format!("held by {holder:?}"))
        }
    });
    let acquired = kcm_lease().and_then(|s| s.acquire_time).map(|t| std::time::SystemTime::from(t.0));
    let controllers_failover = held_before
        .starts_with(&format!("{}_", victim.name))
        .then(|| acquired.and_then(|t| t.duration_since(killed_at).ok()))
        .flatten();
    // The watch catches up with the last writes (bounded), then stops.
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let w = watched.lock().expect("watched");
        if w.expired || load.acked.iter().all(|(n, _)| w.added.contains(n)) {
            break;
        }
        drop(w);
        std::thread::sleep(Duration::from_millis(200));
    }
    stop_watch.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = rt.block_on(watcher);
    let watched = std::mem::take(&mut *watched.lock().expect("watched"));

    // No acknowledged write lost; writes went on after the kill; the stall is measured.
    let after: Vec<Instant> = load.acked.iter().map(|(_, t)| *t).filter(|t| *t > killed).collect();
    assert!(after.len() > 10, "writes did not continue after the kill: {} acknowledged after", after.len());
    let mut stall = after.first().map(|t| t.duration_since(killed)).unwrap_or_default();
    for pair in after.windows(2) {
        stall = stall.max(pair[1].duration_since(pair[0]));
    }
    let stored: std::collections::BTreeSet<String> = rt.block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(survivor_clients[0].clone(), "default");
        let list = api.list(&ListParams::default().labels("load=yes")).await.expect("list after the kill");
        list.items.into_iter().filter_map(|c| c.metadata.name).collect()
    });
    // The aim is 2 s at p99 (bench/run); on a shared 2-core machine the bound here
    // is looser, the figure is printed below.
    assert!(stall < Duration::from_secs(10), "writes stalled for {stall:?} after the kill");
    let lost: Vec<&String> = load.acked.iter().map(|(n, _)| n).filter(|n| !stored.contains(*n)).collect();
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    assert!(!watched.expired, "the watch had to relist (410) instead of resuming");
    assert!(watched.resumed >= 1, "the watch never had to resume: {watched:?}");
    let unseen: Vec<&String> =
        load.acked.iter().map(|(n, _)| n).filter(|n| !watched.added.contains(*n)).collect();
    assert!(unseen.is_empty(), "the resumed watch missed acknowledged writes: {unseen:?}");
    eprintln!(
        "FIGURES: join {join_time:?}; {} writes acknowledged ({} after the kill, {} failed); longest write stall after killing the etcd leader's node: {stall:?}; watch resumed {} time(s) without relist; controllers taken over after {controllers_failover:?} (None: the victim did not hold them)",
        load.acked.len(),
        after.len(),
        load.failed,
        watched.resumed
    );

    // The survivors name the dead member, in their logs (after 30 s unreachable) and in
    // `member list`, with the command that removes it; it is removed from one of them.
    let s0 = &survivors[0];
    let remedy = format!("kubeward member remove {}", victim.name);
    wait_for("a survivor to log the dead member with its remedy", Duration::from_secs(60), || {
        if survivors.iter().any(|n| n.log().contains(&remedy)) {
            Ok(())
        } else {
            Err(format!("no survivor logged `{remedy}`"))
        }
    });
    let listed = s0.kubeward(&["member", "list"]);
    listed.assert_ok();
    assert!(
        listed.stdout.contains(&format!("kubeward member remove {}", victim.name)),
        "member list does not name the dead member with its remedy: {listed}"
    );
    s0.kubeward(&["member", "remove", "nosuch"])
        .assert_code(1)
        .assert_stderr_contains("no control plane named `nosuch`");
    let removed = s0.kubeward(&["member", "remove", &victim.name]);
    removed.assert_ok().assert_stdout_contains("removed etcd member");
    removed.assert_stdout_contains("identity Lease");

    // A fresh node joins with a new printed command; three healthy members again.
    let cmd = join_command(s0);
    let bad = |args: Vec<String>, dir_name: &str| {
        let mut command = Command::new(KUBEWARD);
        command.args(&args).args(node_args("x", &dir(dir_name), &spots[4]));
        support::run(command, Duration::from_secs(60))
    };
    let swap = |flag: &str, f: &dyn Fn(&str) -> String| -> Vec<String> {
        let mut args = cmd.clone();
        let i = args.iter().position(|a| a == flag).expect("flag") + 1;
        args[i] = f(&args[i]);
        args
    };
    let flip = |s: &str| {
        let last = s.chars().last().expect("non-empty");
        format!("{}{}", &s[..s.len() - 1], if last == '0' { '1' } else { '0' })
    };
    bad(swap("--token", &flip), "bad-token").assert_code(1).assert_stderr_contains("wrong --token");
    bad(swap("--discovery-token-ca-cert-hash", &flip), "bad-hash")
        .assert_code(1)
        .assert_stderr_contains("wrong --discovery-token-ca-cert-hash");
    bad(swap("--certificate-key", &flip), "bad-key")
        .assert_code(1)
        .assert_stderr_contains("wrong --certificate-key");
    let joined = Instant::now();
    let d = Node::start("d", &dir("d"), &spots[3], &cmd);
    let second_join = joined.elapsed();
    let mut names: Vec<&str> = survivors.iter().map(|n| n.name.as_str()).collect();
    names.push("d");
    wait_for("three healthy voters after the join", Duration::from_secs(60), || {
        three_healthy_voters(s0, &names)
    });

    // The kubernetes Service's endpoints list exactly the three live API servers.
    let mut wanted: Vec<String> = survivors.iter().chain([&d]).map(|n| n.place.ip.clone()).collect();
    wanted.sort();
    wait_for("the kubernetes endpoints to list the live servers", Duration::from_secs(40), || {
        let slices: Api<k8s_openapi::api::discovery::v1::EndpointSlice> =
            Api::namespaced(s0.client(&rt), "default");
        let slice = rt.block_on(slices.get("kubernetes")).map_err(|e| e.to_string())?;
        let mut ips: Vec<String> = slice.endpoints.iter().flat_map(|e| e.addresses.clone()).collect();
        ips.sort();
        if ips == wanted {
            Ok(())
        } else {
            Err(format!("{ips:?} != {wanted:?}"))
        }
    });

    // The removed member, restarted on its stale data, refuses and says how to come back.
    let mut restart = Command::new(KUBEWARD);
    restart.arg("up").args(node_args(&victim.name, &victim.dir, &victim.place));
    let refused = support::run(restart, Duration::from_secs(60));
    refused.assert_code(1).assert_stderr_contains("was removed from the cluster");
    refused.assert_stderr_contains("rm -rf");
    eprintln!("FIGURES: second join {second_join:?}");
    drop(d);
    drop(survivors);
}

/// Quorum loss and the way back: a two-member cluster loses one member, so it has no
/// quorum; `member remove` refuses and names `--cluster-reset`; `up --cluster-reset` on the
/// survivor serves its data as a one-member cluster. The supervised etcd, killed alone,
/// is started again while kubeward goes on.
#[test]
fn a_survivor_resets_the_cluster_after_quorum_loss() {
    if !support::have_program("etcd") && std::env::var_os("KUBEWARD_ETCD_BIN").is_none() {
        return testkit::missing("etcd", "Debian: apt-get install etcd-server");
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let tmp = tempfile::Builder::new().prefix("kubeward-reset-").tempdir().expect("tempdir");
    let spots = places(2);
    let a = Node::start("a", &tmp.path().join("a"), &spots[0], &["up".into(), "--cluster-init".into()]);
    let out = a.kubeward(&["token", "create", "--print-join-command"]);
    out.assert_ok();
    let cmd: Vec<String> = out.stdout.split_whitespace().skip(1).map(str::to_string).collect();
    let mut b = Node::start("b", &tmp.path().join("b"), &spots[1], &cmd);
    wait_for("two healthy voters", Duration::from_secs(60), || three_healthy_voters(&a, &["a", "b"]));
    let create = |node: &Node, name: &str| -> Result<(), String> {
        let api: Api<ConfigMap> = Api::namespaced(node.client(&rt), "default");
        let cm: ConfigMap =
            serde_json::from_value(serde_json::json!({"metadata": {"name": name}})).expect("cm");
        rt.block_on(api.create(&PostParams::default(), &cm)).map(|_| ()).map_err(|e| e.to_string())
    };
    create(&a, "before-the-loss").expect("a write");

    // etcd alone dies: its supervisor starts it again, kubeward goes on.
    let pid = a.etcd_pid().expect("a's etcd");
    let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
    wait_for("a's etcd started again", Duration::from_secs(30), || match a.etcd_pid() {
        Some(p) if p != pid => Ok(()),
        other => Err(format!("etcd pid {other:?}")),
    });
    wait_for("writes through a again", Duration::from_secs(30), || create(&a, "after-etcd-restart"));

    // b dies: no quorum. Removing it is refused with the way back.
    b.kill_hard();
    let refused = a.kubeward(&["member", "remove", "b"]);
    refused.assert_code(1).assert_stderr_contains("lost quorum").assert_stderr_contains("--cluster-reset");

    // The survivor resets the cluster to itself and serves its data.
    let mut a = a;
    a.stop();
    let reset_dir = a.dir.clone();
    let reset = Node::start("a", &reset_dir, &spots[0], &["up".into(), "--cluster-reset".into()]);
    let listed = reset.kubeward(&["member", "list"]);
    listed.assert_ok();
    let rows = member_rows(&listed.stdout);
    assert_eq!(rows.len(), 1, "one member after the reset: {listed}");
    let api: Api<ConfigMap> = Api::namespaced(reset.client(&rt), "default");
    rt.block_on(api.get("before-the-loss")).expect("the data survived the reset");
    rt.block_on(api.get("after-etcd-restart")).expect("the data survived the reset");
    create(&reset, "after-the-reset").expect("writes after the reset");
    drop(b);
}
