//! Watch semantics through the front door: resume from a revision, 410 Expired once the
//! history no longer holds it, and the stream ending at timeoutSeconds.

mod support;

use support::more::Cluster;
use support::Server;

#[test]
fn watch_resumes_then_expires_after_restart() {
    let mut server = Server::start();
    let admin = server.admin();
    admin.ok(&["create", "configmap", "w1"]);
    let rv: u64 = admin
        .ok(&["get", "configmap", "w1", "-o", "jsonpath={.metadata.resourceVersion}"])
        .stdout
        .trim()
        .parse()
        .expect("resourceVersion is a number");
    admin.ok(&["create", "configmap", "w2"]);

    // From a revision still in history: the later write is replayed, then the stream ends.
    let path =
        format!("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds=1");
    let out = server.admin_curl(&path, &[]);
    assert_eq!(out.status, 200, "{}", out.body);
    assert!(out.body.contains(r#""type":"ADDED""#) && out.body.contains(r#""name":"w2""#), "{}", out.body);
    assert!(!out.body.contains(r#""name":"w1""#), "events after {rv} only: {}", out.body);

    // After a restart the history starts empty: an older revision gets 410 Expired.
    server.restart();
    let out = server.admin_curl(&path, &[]);
    assert!(out.body.contains(r#""type":"ERROR""#), "{}", out.body);
    assert!(out.body.contains(r#""reason":"Expired","code":410"#), "{}", out.body);
    assert!(out.body.contains("too old resource version"), "{}", out.body);

    // resourceVersion=0 opens with the current state (ADDED for each object).
    let out = server.admin_curl(
        "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=0&timeoutSeconds=1&allowWatchBookmarks=true",
        &[],
    );
    assert!(out.body.contains(r#""name":"w1""#) && out.body.contains(r#""name":"w2""#), "{}", out.body);
}
