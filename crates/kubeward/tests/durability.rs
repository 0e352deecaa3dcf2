//! Acknowledged writes survive a crash: 200 ConfigMaps created with kubectl, `kill -9`, a
//! second `kubeward up` on the same data directory, and every object is back with the same
//! PKI (the cluster CA is created once, never again).

mod support;

use std::collections::BTreeSet;
use support::Server;

const COUNT: usize = 200;

fn configmap_names(k: &support::Kubectl) -> BTreeSet<String> {
    let out = k.ok(&["get", "configmaps", "-n", "durable", "-o", "name"]);
    out.stdout
        .lines()
        .filter_map(|l| l.strip_prefix("configmap/"))
        .filter(|n| n.starts_with("cm-"))
        .map(str::to_string)
        .collect()
}

#[test]
fn writes_survive_kill_9_and_pki_is_reused() {
    let mut server = Server::start();
    let Some(k) = server.kubectl("") else {
        support::missing("kubectl");
        return;
    };
    let pki = server.pki_dir();
    let read = |name: &str| std::fs::read(pki.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let ca_before = read("ca.crt");
    let ca_key_before = read("ca.key");
    let admin_before = read("admin.crt");

    k.ok(&["create", "namespace", "durable"]);
    let mut manifest = String::new();
    for i in 0..COUNT {
        manifest.push_str(&format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i:03}\n  namespace: durable\ndata:\n  index: \"{i}\"\n---\n"
        ));
    }
    let file = server.scratch("manifests").join("many.yaml");
    std::fs::write(&file, manifest).expect("write manifest");
    let out = k.ok(&["create", "-f", file.to_str().expect("utf-8 path")]);
    assert_eq!(out.stdout.lines().filter(|l| l.ends_with(" created")).count(), COUNT, "{out}");
    let expected: BTreeSet<String> = (0..COUNT).map(|i| format!("cm-{i:03}")).collect();
    assert_eq!(configmap_names(&k), expected);

    // Crash: no SIGTERM, no chance to flush anything not already durable.
    server.kill_hard();
    let url_before = server.url.clone();
    server.restart();

    // The restarted server rewrote the admin kubeconfig with its new port.
    assert_ne!(server.url, "", "restarted server printed no url (was {url_before})");
    let k = server.kubectl("").expect("kubectl found above");
    let after = configmap_names(&k);
    let missing: Vec<_> = expected.difference(&after).collect();
    assert!(missing.is_empty(), "{} ConfigMaps lost after kill -9: {missing:?}", missing.len());
    let out = k.ok(&["get", "configmap", "cm-123", "-n", "durable", "-o", "jsonpath={.data.index}"]);
    assert_eq!(out.stdout, "123");

    assert_eq!(read("ca.crt"), ca_before, "the CA certificate changed on restart");
    assert_eq!(read("ca.key"), ca_key_before, "the CA key changed on restart");
    assert_eq!(read("admin.crt"), admin_before, "the admin certificate changed on restart");

    // Writes still work after recovery, and resourceVersions keep increasing.
    let rv_of = |name: &str| {
        let out =
            k.ok(&["get", "configmap", name, "-n", "durable", "-o", "jsonpath={.metadata.resourceVersion}"]);
        out.stdout.parse::<u64>().unwrap_or_else(|e| panic!("resourceVersion {e}: {out}"))
    };
    let old_rv = rv_of("cm-199");
    k.ok(&["create", "configmap", "after-restart", "-n", "durable", "--from-literal=k=v"]);
    assert!(rv_of("after-restart") > old_rv, "resourceVersion went backwards after restart");

    // A clean stop and start keeps everything too.
    server.restart();
    let k = server.kubectl("").expect("kubectl");
    assert_eq!(configmap_names(&k), expected);
    k.ok(&["get", "configmap", "after-restart", "-n", "durable"]);
}
