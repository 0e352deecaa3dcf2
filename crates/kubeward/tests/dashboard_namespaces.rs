//! The namespaces a person can reach (issue 15): kubeward's `reachablenamespaces.kubeward.io`
//! answered by the server's rule resolvers, and the dashboard's namespace picker built on it
//! (no `--namespace` hints given). A reader of one namespace sees exactly that namespace in
//! both; a cluster-wide reader of pods and the admin see every namespace; someone holding
//! nothing sees none, and `get` of a namespace out of reach is 404 like a missing one.

mod support;

use serde_json::Value;
use support::browser::{Browser, Dashboard};
use support::more::Cluster;
use support::{Kubectl, Server};

const PATH: &str = "/apis/kubeward.io/v1alpha1/reachablenamespaces";

/// The names of `reachablenamespaces` as `k` reads it.
fn reachable(k: &Kubectl) -> Vec<String> {
    let out = k.ok(&["get", "--raw", PATH]).stdout;
    let list: Value = serde_json::from_str(&out).expect("a JSON list");
    assert_eq!(list["kind"], "ReachableNamespaceList", "{out}");
    assert_eq!(list["apiVersion"], "kubeward.io/v1alpha1", "{out}");
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["metadata"]["name"].as_str().expect("name").to_string())
        .collect()
}

/// Starts a desktop-mode dashboard with `kubeconfig` and answers the namespaces its picker shows.
fn picker(b: &mut Browser, kubeconfig: &std::path::Path, wait_for: &str) -> (Vec<String>, Dashboard) {
    let d = Dashboard::start(
        &[
            "dashboard",
            "--kubeconfig",
            &kubeconfig.display().to_string(),
            "--listen",
            "127.0.0.1:0",
            "--no-browser",
        ]
        .map(String::from),
    );
    let p = b.person();
    b.goto(p, d.launch.as_deref().expect("launch link"));
    b.text(p, "#whoami-user");
    b.wait_text(p, "#namespaces", wait_for);
    let names = b.texts(p, "#namespaces a.ns");
    (names, d)
}

#[test]
fn people_see_the_namespaces_they_hold_rules_in_from_the_server() {
    let Some(mut b) = Browser::start() else { return };
    let server = Server::start();
    let admin = support::kubectl_or_missing(&server, "").expect("kubectl");
    for ns in ["team-a", "team-b", "team-c"] {
        admin.ok(&["create", "namespace", ns]);
    }
    admin.ok(&["-n", "team-b", "create", "rolebinding", "carol-view", "--clusterrole=view", "--user=carol"]);
    // A binding to a role that does not exist grants nothing.
    admin.ok(&[
        "-n",
        "team-c",
        "create",
        "rolebinding",
        "carol-ghost",
        "--clusterrole=no-such-role",
        "--user=carol",
    ]);
    admin.ok(&["create", "clusterrole", "pod-reader", "--verb=get,list", "--resource=pods"]);
    admin.ok(&["create", "clusterrolebinding", "dave-pods", "--clusterrole=pod-reader", "--user=dave"]);
    // A cluster role naming one namespace reaches that one.
    admin.ok(&[
        "create",
        "clusterrole",
        "see-team-a",
        "--verb=get",
        "--resource=namespaces",
        "--resource-name=team-a",
    ]);
    admin.ok(&["create", "clusterrolebinding", "frank-team-a", "--clusterrole=see-team-a", "--user=frank"]);

    let as_user = |name: &str| {
        let kc = server.user_kubeconfig(name, &[]);
        (server.kubectl_as("", name, &kc).expect("kubectl"), kc)
    };
    let (carol, carol_kc) = as_user("carol");
    let (dave, _) = as_user("dave");
    let (erin, _) = as_user("erin");
    let (frank, _) = as_user("frank");

    // The endpoint.
    assert!(!carol.run(&["get", "namespaces"]).ok(), "carol may not list namespaces");
    assert_eq!(reachable(&carol), ["team-b"]);
    let mut all = reachable(&admin);
    all.sort();
    for ns in ["default", "kube-public", "kube-system", "team-a", "team-b", "team-c"] {
        assert!(all.iter().any(|n| n == ns), "the admin reaches {ns}: {all:?}");
    }
    let mut dave_sees = reachable(&dave);
    dave_sees.sort();
    assert_eq!(dave_sees, all, "reading pods everywhere reaches every namespace");
    assert!(reachable(&erin).is_empty(), "erin holds nothing");
    assert_eq!(reachable(&frank), ["team-a"]);
    // get: the one reached; one out of reach is as missing as one that does not exist.
    let one: Value =
        serde_json::from_str(&carol.ok(&["get", "--raw", &format!("{PATH}/team-b")]).stdout).expect("json");
    assert_eq!(one["kind"], "ReachableNamespace");
    assert_eq!(one["status"]["scope"], "Namespace");
    let hidden = carol.run(&["get", "--raw", &format!("{PATH}/team-a")]);
    let missing = carol.run(&["get", "--raw", &format!("{PATH}/no-such")]);
    assert!(!hidden.ok() && hidden.stderr.contains("NotFound"), "{hidden}");
    assert_eq!(
        hidden.stderr.replace("team-a", "X"),
        missing.stderr.replace("no-such", "X"),
        "out of reach and missing answer alike"
    );
    // Anonymous callers are refused; watch is not served.
    let anon = server.curl(PATH, &[]);
    assert_eq!(anon.status, 401, "{anon}");
    let watch = carol.run(&["get", "--raw", &format!("{PATH}?watch=1")]);
    assert!(!watch.ok(), "{watch}");

    // The dashboard's picker, with no hints.
    let (names, _d) = picker(&mut b, &carol_kc, "team-b");
    assert_eq!(names, ["team-b"], "carol's picker");
    let (mut names, _d2) = picker(&mut b, &server.kubeconfig, "team-c");
    names.sort();
    assert_eq!(names, all, "the admin's picker");
}
