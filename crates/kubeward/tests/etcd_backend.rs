//! kubeward on a real etcd: two servers share one etcd cluster; what one writes, the
//! other reads and watches. Reads on etcd come from each server's watch cache: a read on one
//! server right after a write on the other sees it; `resourceVersion=0` and
//! `resourceVersionMatch` read as kube reads them; continue tokens page at their first page's
//! revision across the cache and across servers.

mod support;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, PostParams, VersionMatch};

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

fn configmap(name: &str, value: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
        data: Some([("v".to_owned(), value.to_owned())].into()),
        ..Default::default()
    }
}

/// The test's ConfigMaps in a list (the namespace also gets `kube-root-ca.crt`).
fn names(list: &kube::core::ObjectList<ConfigMap>) -> Vec<String> {
    list.items.iter().filter_map(|cm| cm.metadata.name.clone()).filter(|n| n.starts_with("cm-")).collect()
}

fn rv(list: &kube::core::ObjectList<ConfigMap>) -> u64 {
    list.metadata.resource_version.as_deref().and_then(|rv| rv.parse().ok()).expect("a list resourceVersion")
}

/// A kube-rs client that answers 504 as it comes (kube-rs retries 429, 503 and 504 by default).
async fn client_without_retries(kubeconfig: &std::path::Path) -> kube::Client {
    let kubeconfig = kube::config::Kubeconfig::read_from(kubeconfig).expect("kubeconfig");
    let mut config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.expect("kube-rs config");
    config.default_retry = false;
    kube::Client::try_from(config).expect("kube-rs client")
}

#[test]
fn reads_on_etcd_come_from_the_watch_cache_as_kube_reads_them() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let Some(etcd) = rt.block_on(storage::etcd::TestEtcd::start_or_skip()) else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let a = up_on_etcd(&dir.path().join("a"), &etcd.endpoint());
    let b = up_on_etcd(&dir.path().join("b"), &etcd.endpoint());
    rt.block_on(async {
        let ca = support::kube_client_from(&a.kubeconfig).await;
        let cb = client_without_retries(&b.kubeconfig).await;
        let ns = Namespace { metadata: ObjectMeta { name: Some("cached".into()), ..Default::default() }, ..Default::default() };
        Api::<Namespace>::all(ca.clone()).create(&PostParams::default(), &ns).await.expect("namespace on a");
        // The namespace a created is there for admission on b at once.
        let on_a: Api<ConfigMap> = Api::namespaced(ca, "cached");
        let on_b: Api<ConfigMap> = Api::namespaced(cb, "cached");

        // A write on a, then at once a GET and a LIST on b: both see it (consistent reads from
        // b's cache, after a quorum read of etcd's revision).
        for i in 0..30 {
            let name = format!("cm-{i:02}");
            let created = on_a.create(&PostParams::default(), &configmap(&name, "1")).await.expect("create on a");
            let created_rv: u64 = created.metadata.resource_version.as_deref().and_then(|r| r.parse().ok()).expect("rv");
            let got = on_b.get(&name).await.unwrap_or_else(|e| panic!("b does not see {name} a just created: {e}"));
            assert_eq!(got.metadata.resource_version, created.metadata.resource_version);
            let listed = on_b.list(&ListParams::default()).await.expect("list on b");
            assert!(names(&listed).contains(&name), "b's list misses {name}");
            assert!(rv(&listed) >= created_rv);
            if i % 10 == 9 {
                on_a.delete(&name, &DeleteParams::default()).await.expect("delete on a");
                let gone = on_b.get(&name).await.expect_err("b still sees a deleted object");
                assert!(matches!(gone, kube::Error::Api(ref s) if s.code == 404), "{gone:?}");
            }
        }

        // resourceVersion=0 lists what the cache holds (kube-rs sends no limit with it).
        let any = on_b.list(&ListParams::default().match_any()).await.expect("rv=0 list");
        assert_eq!(names(&any).len(), 27, "{:?}", names(&any));
        assert!(any.metadata.continue_.is_none() && rv(&any) > 0);

        // Pages: a paginated list on b; then a changes things; the next pages, read on a and on
        // b, are still at the first page's revision.
        let first = on_b.list(&ListParams::default().limit(10)).await.expect("first page");
        let at = rv(&first);
        let token = first.metadata.continue_.clone().expect("a continue token");
        on_a.delete("cm-15", &DeleteParams::default()).await.expect("delete");
        on_a.create(&PostParams::default(), &configmap("cm-15a", "new")).await.expect("create");
        let second_b = on_b.list(&ListParams::default().limit(10).continue_token(&token)).await.expect("page 2 on b");
        let second_a = on_a.list(&ListParams::default().limit(10).continue_token(&token)).await.expect("page 2 on a");
        assert_eq!(names(&second_b), names(&second_a));
        assert!(names(&second_b).contains(&"cm-15".to_owned()) && !names(&second_b).contains(&"cm-15a".to_owned()));
        assert_eq!(rv(&second_b), at);
        let token = second_b.metadata.continue_.clone().expect("a third page");
        let third = on_b.list(&ListParams::default().limit(10).continue_token(&token)).await.expect("page 3");
        assert_eq!(names(&first).len() + names(&second_b).len() + names(&third).len(), 27);
        assert!(third.metadata.continue_.is_none());

        // resourceVersionMatch: Exact at the first page's revision lists that state; a revision
        // etcd has not reached is kube's 504 "Too large resource version" for NotOlderThan.
        let exact = ListParams::default().at(&at.to_string()).matching(VersionMatch::Exact);
        let then = on_b.list(&exact).await.expect("Exact list");
        assert!(names(&then).contains(&"cm-15".to_owned()) && !names(&then).contains(&"cm-15a".to_owned()));
        assert_eq!(rv(&then), at);
        let ahead = (at + 1_000_000).to_string();
        let err = on_b.list(&ListParams::default().at(&ahead).matching(VersionMatch::NotOlderThan)).await.unwrap_err();
        assert!(matches!(err, kube::Error::Api(ref s) if s.code == 504 && s.message.contains("Too large resource version")), "{err:?}");
        let now = on_b.list(&ListParams::default().at(&at.to_string()).matching(VersionMatch::NotOlderThan)).await.expect("NotOlderThan");
        assert!(rv(&now) > at && names(&now).contains(&"cm-15a".to_owned()));
    });
    drop(etcd);
}
