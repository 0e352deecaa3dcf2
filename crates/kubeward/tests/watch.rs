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

/// The events of a watch body, one JSON value per line.
fn events(body: &str) -> Vec<serde_json::Value> {
    body.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("event line {l:?}: {e}")))
        .collect()
}

/// client-go's WatchList (kube 1.34's streaming list): `sendInitialEvents=true` with
/// `resourceVersionMatch=NotOlderThan` gives every object as ADDED, then one BOOKMARK
/// carrying `k8s.io/initial-events-end` at the list's revision, then live events. More objects
/// than one page of the server's initial events, with and without a label selector.
#[test]
fn streaming_list_sends_initial_events_then_the_end_bookmark() {
    let server = Server::start();
    let admin = server.admin();
    const N: usize = 1203;
    let items: Vec<serde_json::Value> = (0..N)
        .map(|i| {
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": format!("cm-{i:04}"), "namespace": "wl",
                    "labels": {"tier": if i % 2 == 0 { "even" } else { "odd" }}},
                "data": {"i": i.to_string()}})
        })
        .collect();
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
    let file = server.file("many.json", &list.to_string());
    admin.ok(&["create", "namespace", "wl"]);
    admin.ok(&["create", "-f", file.to_str().expect("utf-8 path")]);
    let rv_now: u64 = admin
        .ok(&["get", "configmaps", "-n", "wl", "-o", "jsonpath={.metadata.resourceVersion}"])
        .stdout
        .trim()
        .parse()
        .expect("list resourceVersion");

    for (selector, want) in [("", N), ("&labelSelector=tier%3Deven", N.div_ceil(2))] {
        let path = format!(
            "/api/v1/namespaces/wl/configmaps?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan\
             &allowWatchBookmarks=true&timeoutSeconds=2{selector}"
        );
        let out = server.admin_curl(&path, &[]);
        assert_eq!(out.status, 200, "{}", out.body);
        let evs = events(&out.body);
        let (added, rest) = evs.split_at(want.min(evs.len()));
        assert!(added.iter().all(|e| e["type"] == "ADDED"), "{selector}: the first {want} are ADDED");
        let mut names: Vec<&str> =
            added.iter().map(|e| e["object"]["metadata"]["name"].as_str().expect("name")).collect();
        names.dedup();
        assert_eq!(names.len(), want, "{selector}: each object once, in key order");
        if !selector.is_empty() {
            assert!(added.iter().all(|e| e["object"]["metadata"]["labels"]["tier"] == "even"));
        }
        let end = rest.first().unwrap_or_else(|| panic!("{selector}: no bookmark after the initial events"));
        assert_eq!(end["type"], "BOOKMARK", "{end}");
        assert_eq!(end["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"], "true", "{end}");
        let end_rv: u64 =
            end["object"]["metadata"]["resourceVersion"].as_str().expect("rv").parse().expect("rv");
        assert!(end_rv >= rv_now, "the bookmark is at the list's revision: {end_rv} < {rv_now}");
        assert!(rest[1..].iter().all(|e| e["type"] == "BOOKMARK"), "nothing changed: no other event");
    }

    // NotOlderThan a revision the store has not reached: kube's 504 "Too large resource version".
    let path = format!(
        "/api/v1/namespaces/wl/configmaps?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan\
         &allowWatchBookmarks=true&resourceVersion={}",
        rv_now + 1000
    );
    let out = server.admin_curl(&path, &[]);
    assert_eq!(out.status, 504, "{}", out.body);
    assert!(out.body.contains("Too large resource version"), "{}", out.body);
}
