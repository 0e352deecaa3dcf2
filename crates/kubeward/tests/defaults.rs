//! Kube's default roles as kubectl shows them, and deletecollection.

mod support;

use support::more::Cluster;
use support::Server;

#[test]
fn describe_view_shows_pods_get_list_watch() {
    let server = Server::start();
    let out = server.admin().ok(&["describe", "clusterrole", "view"]);
    let line = out
        .stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some("pods"))
        .unwrap_or_else(|| panic!("no pods rule in:\n{}", out.stdout));
    assert!(line.trim_end().ends_with("[get list watch]"), "{line}");
    // Aggregated from system:aggregate-to-view by the aggregation controller.
    server
        .admin()
        .ok(&["get", "clusterrole", "view", "-o", "jsonpath={.aggregationRule}"])
        .assert_stdout_contains("rbac.authorization.k8s.io/aggregate-to-view");
}

#[test]
fn deletecollection_removes_what_the_selector_matches() {
    let server = Server::start();
    let admin = server.admin();
    admin.ok(&["create", "configmap", "keep"]);
    for name in ["drop-1", "drop-2"] {
        admin.ok(&["create", "configmap", name]);
        admin.ok(&["label", "configmap", name, "purge=yes"]);
    }
    let out = server
        .admin_curl("/api/v1/namespaces/default/configmaps?labelSelector=purge%3Dyes", &["-X", "DELETE"]);
    assert_eq!(out.status, 200, "{}", out.body);
    assert!(out.body.contains(r#""kind":"ConfigMapList""#), "{}", out.body);
    let names = admin.ok(&["get", "configmaps", "-o", "name"]).stdout.clone();
    assert!(names.contains("configmap/keep"), "{names}");
    assert!(!names.contains("drop-"), "{names}");
}
