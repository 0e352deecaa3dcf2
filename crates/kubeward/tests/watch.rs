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
    // The server's own list (kubectl's `get -o jsonpath` prints a List it builds itself, with
    // no resourceVersion).
    // Waits for the namespace's `kube-root-ca.crt` (its controller's), so the namespace holds
    // the N objects and that one.
    let mut listed = serde_json::Value::Null;
    for _ in 0..100 {
        listed = server.admin_curl("/api/v1/namespaces/wl/configmaps", &[]).json();
        if listed["items"].as_array().map_or(0, Vec::len) == N + 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(listed["items"].as_array().map_or(0, Vec::len), N + 1, "the objects and kube-root-ca.crt");
    let rv_now: u64 = listed["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .expect("list resourceVersion");

    for (selector, want) in [("", N + 1), ("&labelSelector=tier%3Deven", N.div_ceil(2))] {
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

/// The namespace's resourceVersion now, from a list of its ConfigMaps.
fn list_rv(server: &Server, ns: &str) -> u64 {
    let listed = server.admin_curl(&format!("/api/v1/namespaces/{ns}/configmaps"), &[]).json();
    listed["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|rv| rv.parse().ok())
        .expect("list resourceVersion")
}

/// `(type, name)` of each event about one of `names` (the namespace's `kube-root-ca.crt`
/// comes and goes as its controller pleases).
fn typed_names(
    evs: &[serde_json::Value],
    name_of: impl Fn(&serde_json::Value) -> Option<String>,
    names: &[&str],
) -> Vec<(String, String)> {
    evs.iter()
        .filter_map(|e| Some((e["type"].as_str()?.to_owned(), name_of(e)?)))
        .filter(|(_, n)| names.contains(&n.as_str()))
        .collect()
}

fn pairs(want: &[(&str, &str)]) -> Vec<(String, String)> {
    want.iter().map(|(t, n)| ((*t).to_owned(), (*n).to_owned())).collect()
}

/// Watchers of different wire shapes on one collection share each event's encoding per shape
/// (the event's cache); each still gets its own shape: JSON objects, and Tables whose first
/// event carries the column definitions (a Table watcher that starts later gets them in its
/// own first event, although an earlier watcher of that shape already took the same event
/// without them).
#[test]
fn watchers_of_different_formats_each_get_their_own_encoding() {
    let server = Server::start();
    let admin = server.admin();
    admin.ok(&["create", "namespace", "fmt"]);
    let rv0 = list_rv(&server, "fmt");
    const TABLE: &str = "Accept: application/json;as=Table;v=v1;g=meta.k8s.io";
    let watch = |rv: u64, secs: u64, accept: Option<&str>| {
        let path =
            format!("/api/v1/namespaces/fmt/configmaps?watch=1&resourceVersion={rv}&timeoutSeconds={secs}");
        let args: Vec<&str> = accept.map(|a| vec!["-H", a]).unwrap_or_default();
        server.admin_curl(&path, &args)
    };
    let (json, table, late_table) = std::thread::scope(|s| {
        let json = s.spawn(|| watch(rv0, 5, None));
        let table = s.spawn(|| watch(rv0, 5, Some(TABLE)));
        std::thread::sleep(std::time::Duration::from_millis(500));
        admin.ok(&["create", "configmap", "a", "-n", "fmt", "--from-literal=k=1"]);
        let rv1 = list_rv(&server, "fmt");
        let late_table = s.spawn(move || watch(rv1, 4, Some(TABLE)));
        std::thread::sleep(std::time::Duration::from_millis(500));
        admin.ok(&["patch", "configmap", "a", "-n", "fmt", "-p", r#"{"data":{"k":"2"}}"#]);
        admin.ok(&["delete", "configmap", "a", "-n", "fmt"]);
        let join = |h: std::thread::ScopedJoinHandle<'_, support::more::Http>| h.join().expect("watcher");
        (join(json), join(table), join(late_table))
    });
    for out in [&json, &table, &late_table] {
        assert_eq!(out.status, 200, "{out}");
    }

    let json = events(&json.body);
    let json_name = |e: &serde_json::Value| e["object"]["metadata"]["name"].as_str().map(str::to_owned);
    assert_eq!(
        typed_names(&json, json_name, &["a"]),
        pairs(&[("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]),
        "{json:?}"
    );
    let json_a: Vec<_> = json.iter().filter(|e| e["object"]["metadata"]["name"] == "a").collect();
    assert!(json_a.iter().all(|e| e["object"]["kind"] == "ConfigMap" && e["object"]["apiVersion"] == "v1"));
    assert_eq!(json_a[0]["object"]["data"]["k"], "1");
    assert_eq!(json_a[1]["object"]["data"]["k"], "2");

    let row_name = |e: &serde_json::Value| e["object"]["rows"][0]["cells"][0].as_str().map(str::to_owned);
    let table = events(&table.body);
    assert_eq!(
        typed_names(&table, row_name, &["a"]),
        pairs(&[("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]),
        "{table:?}"
    );
    assert!(table.iter().all(|e| e["object"]["kind"] == "Table"), "{table:?}");
    assert!(table[0]["object"]["columnDefinitions"].as_array().is_some_and(|c| !c.is_empty()), "{table:?}");
    assert!(table[1..].iter().all(|e| e["object"]["columnDefinitions"].is_null()), "{table:?}");
    let data_cells: Vec<_> = table.iter().map(|e| e["object"]["rows"][0]["cells"][1].clone()).collect();
    assert_eq!(
        data_cells[..3],
        [serde_json::json!(1), serde_json::json!(1), serde_json::json!(1)],
        "{table:?}"
    );

    // The later Table watcher's first event is the MODIFIED the first one sent without columns.
    let late = events(&late_table.body);
    assert_eq!(
        typed_names(&late, row_name, &["a"]),
        pairs(&[("MODIFIED", "a"), ("DELETED", "a")]),
        "{late:?}"
    );
    assert!(late[0]["object"]["columnDefinitions"].as_array().is_some_and(|c| !c.is_empty()), "{late:?}");
    assert!(late[1]["object"]["columnDefinitions"].is_null(), "{late:?}");
}

/// A watcher with a label selector beside one without: the shared encodings change nothing
/// of what each sees. An object entering the selector is ADDED for it, one leaving it DELETED.
#[test]
fn a_label_selector_watcher_sees_only_its_objects() {
    let server = Server::start();
    let admin = server.admin();
    admin.ok(&["create", "namespace", "sel"]);
    let rv0 = list_rv(&server, "sel");
    let watch = |selector: &str| {
        let path = format!(
            "/api/v1/namespaces/sel/configmaps?watch=1&resourceVersion={rv0}&timeoutSeconds=2{selector}"
        );
        server.admin_curl(&path, &[])
    };
    // The writes first: the watchers replay them from `rv0` at once, each event's cache shared
    // by the three (a slow machine cannot make the writes outlast the watches).
    for (name, tier) in [("a", "front"), ("b", "back")] {
        admin.ok(&["create", "configmap", name, "-n", "sel", "--from-literal=k=v"]);
        admin.ok(&["label", "configmap", name, "-n", "sel", &format!("tier={tier}")]);
    }
    admin.ok(&["label", "configmap", "b", "-n", "sel", "tier=front", "--overwrite"]);
    admin.ok(&["label", "configmap", "a", "-n", "sel", "tier=back", "--overwrite"]);
    admin.ok(&["delete", "configmap", "b", "-n", "sel"]);
    let (all, front) = std::thread::scope(|s| {
        let all = s.spawn(|| watch(""));
        let front = s.spawn(|| watch("&labelSelector=tier%3Dfront"));
        let plain = s.spawn(|| watch("&labelSelector=tier%3Dfront"));
        let join = |h: std::thread::ScopedJoinHandle<'_, support::more::Http>| h.join().expect("watcher");
        let (all, front, plain) = (join(all), join(front), join(plain));
        assert_eq!(front.body, plain.body, "two watchers of one selector and shape send the same bytes");
        (all, front)
    });
    let name = |e: &serde_json::Value| e["object"]["metadata"]["name"].as_str().map(str::to_owned);
    let all = events(&all.body);
    assert_eq!(
        typed_names(&all, name, &["a", "b"]),
        pairs(&[
            ("ADDED", "a"),
            ("MODIFIED", "a"),
            ("ADDED", "b"),
            ("MODIFIED", "b"),
            ("MODIFIED", "b"),
            ("MODIFIED", "a"),
            ("DELETED", "b"),
        ]),
        "{all:?}"
    );
    let front = events(&front.body);
    assert_eq!(
        typed_names(&front, name, &["a", "b", "kube-root-ca.crt"]),
        pairs(&[("ADDED", "a"), ("ADDED", "b"), ("DELETED", "a"), ("DELETED", "b")]),
        "{front:?}"
    );
    let labels: Vec<_> = front.iter().map(|e| e["object"]["metadata"]["labels"]["tier"].clone()).collect();
    // What left the selector is the object as it was before (kube's watch sends the previous
    // object, at the event's resourceVersion).
    assert_eq!(labels, ["front", "front", "front", "front"], "{front:?}");
    let left = &front[2]["object"]["metadata"];
    let all_a_last =
        all.iter().rev().find(|e| e["object"]["metadata"]["name"] == "a").expect("a's last event");
    assert_eq!(left["resourceVersion"], all_a_last["object"]["metadata"]["resourceVersion"], "{front:?}");
}
