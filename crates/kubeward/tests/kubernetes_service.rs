//! The `kubernetes` Service in `default` (what in-cluster clients and kube-rs's event
//! recorder look up), kept by the server as kube's bootstrap controller keeps it; and a
//! created Service's ClusterIP and status. Through kubectl.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::more::{retry, Cluster, FlagServer};

fn json(k: &support::Kubectl, args: &[&str]) -> Value {
    let out = k.ok(args);
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

fn port_of(url: &str) -> u64 {
    url.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("no port in {url}"))
}

#[test]
fn the_kubernetes_service_points_at_this_server_and_comes_back() {
    let server = FlagServer::start(|_| vec![]);
    let k = server.admin();
    let port = port_of(server.url());

    let svc = json(&k, &["get", "service", "kubernetes", "-n", "default", "-o", "json"]);
    assert_eq!(svc["spec"]["clusterIP"], "10.96.0.1", "{svc}");
    assert_eq!(svc["spec"]["type"], "ClusterIP", "{svc}");
    let p = &svc["spec"]["ports"][0];
    assert_eq!(
        (p["name"].as_str(), p["port"].as_u64(), p["targetPort"].as_u64()),
        (Some("https"), Some(443), Some(port)),
        "{svc}"
    );
    assert_eq!(svc["metadata"]["labels"]["component"], "apiserver", "{svc}");
    assert_eq!(svc["status"], serde_json::json!({"loadBalancer": {}}), "{svc}");

    let ep = json(&k, &["get", "endpoints", "kubernetes", "-n", "default", "-o", "json"]);
    let subset = &ep["subsets"][0];
    assert_eq!(subset["addresses"][0]["ip"], "127.0.0.1", "{ep}");
    assert_eq!(
        (subset["ports"][0]["name"].as_str(), subset["ports"][0]["port"].as_u64()),
        (Some("https"), Some(port)),
        "{ep}"
    );

    // Deleted, it is put back with the same address; a changed port is corrected.
    k.ok(&["delete", "service", "kubernetes", "-n", "default"]);
    let (back, last) = retry(Duration::from_secs(20), || {
        let out =
            k.run(&["get", "service", "kubernetes", "-n", "default", "-o", "jsonpath={.spec.clusterIP}"]);
        (out.ok() && out.stdout == "10.96.0.1", out.to_string())
    });
    assert!(back, "the kubernetes Service did not come back: {last}");
    k.ok(&[
        "patch",
        "endpoints",
        "kubernetes",
        "-n",
        "default",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/subsets/0/ports/0/port","value":1}]"#,
    ]);
    let (fixed, last) = retry(Duration::from_secs(30), || {
        let out = k.run(&[
            "get",
            "endpoints",
            "kubernetes",
            "-n",
            "default",
            "-o",
            "jsonpath={.subsets[0].ports[0].port}",
        ]);
        (out.ok() && out.stdout == port.to_string(), out.to_string())
    });
    assert!(fixed, "the kubernetes Endpoints were not corrected: {last}");

    // Other Services get another address of the range, and kube's status.
    k.ok(&["create", "service", "clusterip", "web", "--tcp=80:8080"]);
    let web = json(&k, &["get", "service", "web", "-o", "json"]);
    let ip: std::net::Ipv4Addr =
        web["spec"]["clusterIP"].as_str().unwrap_or_default().parse().expect("an IPv4 ClusterIP");
    let o = ip.octets();
    assert!(o[0] == 10 && (96..112).contains(&o[1]) && ip.to_string() != "10.96.0.1", "{web}");
    assert_eq!(web["status"], serde_json::json!({"loadBalancer": {}}), "{web}");
}

#[test]
fn the_service_range_is_a_flag_and_a_bad_one_refuses_to_start() {
    let server = FlagServer::start(|_| vec!["--service-cluster-ip-range".into(), "10.100.0.0/16".into()]);
    let k = server.admin();
    let svc = json(&k, &["get", "service", "kubernetes", "-n", "default", "-o", "json"]);
    assert_eq!(svc["spec"]["clusterIP"], "10.100.0.1", "{svc}");
    k.ok(&["create", "service", "clusterip", "api", "--tcp=80:8080"]);
    let ip = json(&k, &["get", "service", "api", "-o", "json"])["spec"]["clusterIP"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(ip.starts_with("10.100.") && ip != "10.100.0.1", "{ip}");

    let dir = tempfile::tempdir().expect("temp dir");
    for (range, why) in
        [("fd00::/108", "IPv6 service ranges are not supported yet"), ("10.0.0.0/30", "between 8 and 29")]
    {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_kubeward"));
        cmd.args(["up", "--secure-port", "0", "--service-cluster-ip-range", range])
            .arg("--data-dir")
            .arg(dir.path());
        let out = support::run(cmd, Duration::from_secs(60));
        assert!(!out.ok(), "started with {range}: {out}");
        assert!(out.stderr.contains(why) && out.stderr.contains(range), "{out}");
    }
}

/// kube's apiserver lease garbage collector: an identity Lease that stopped being renewed
/// (its server died) for longer than its duration is deleted; the live server's own Lease,
/// renewed every 10 s, stays; a Lease without the identity label is not touched. The
/// timings are shortened through the test-only variables (kube's are package variables its
/// integration tests shorten the same way).
#[test]
fn expired_identity_leases_of_dead_servers_are_collected() {
    let server = FlagServer::start_env(
        |_| vec![],
        &[
            ("KUBEWARD_TEST_IDENTITY_LEASE_DURATION_SECONDS", "20"),
            ("KUBEWARD_TEST_IDENTITY_LEASE_GC_PERIOD_SECONDS", "1"),
        ],
    );
    let k = server.admin();
    let selector = "apiserver.kubernetes.io/identity=kube-apiserver";
    let live = json(&k, &["get", "leases", "-n", "kube-system", "-l", selector, "-o", "json"]);
    let live = &live["items"][0];
    assert_eq!(live["spec"]["leaseDurationSeconds"], 20, "{live}");
    let (live_name, live_uid) =
        (live["metadata"]["name"].as_str().unwrap_or_default(), live["metadata"]["uid"].clone());
    assert!(live_name.starts_with("apiserver-"), "{live}");

    // A dead server's Lease, as kube-apiserver writes them, last renewed long ago; and an
    // old Lease that is no server's identity.
    let lease = |name: &str, labels: Value| {
        serde_json::json!({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": "kube-system", "labels": labels},
            "spec": {"holderIdentity": format!("{name}_0d5e0f6a"), "leaseDurationSeconds": 20,
                     "acquireTime": "2020-01-01T00:00:00.000000Z", "renewTime": "2020-01-01T00:00:00.000000Z"},
        })
    };
    let file = server.data_path().join("leases.json");
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
        lease("apiserver-deadserver", serde_json::json!({"apiserver.kubernetes.io/identity": "kube-apiserver",
            "kubernetes.io/hostname": "dead"})),
        lease("someone-elses", serde_json::json!({"app": "other"})),
    ]});
    std::fs::write(&file, list.to_string()).expect("write leases");
    k.ok(&["create", "-f", &file.display().to_string()]);

    let (gone, last) = retry(Duration::from_secs(20), || {
        let out = k.run(&["get", "lease", "apiserver-deadserver", "-n", "kube-system"]);
        (!out.ok() && out.stderr.contains("NotFound"), out.to_string())
    });
    assert!(gone, "the dead server's identity Lease was not collected: {last}");
    assert!(server.log().contains("deleted an expired apiserver identity lease"), "{}", server.log());
    k.ok(&["get", "lease", "someone-elses", "-n", "kube-system"]);

    // Longer than the duration: the live Lease is renewed, never collected (same object).
    std::thread::sleep(Duration::from_secs(25));
    let still = json(&k, &["get", "lease", live_name, "-n", "kube-system", "-o", "json"]);
    assert_eq!(still["metadata"]["uid"], live_uid, "the live server's Lease was deleted: {still}");
    k.ok(&["get", "lease", "someone-elses", "-n", "kube-system"]);
}
