//! Paginated LISTs as kube serves them (k8s.io/apiserver `pkg/storage/etcd3/store.go` GetList,
//! `pkg/storage/cacher`): every continue page reads at the first page's revision, so objects
//! created, changed or deleted between pages do not show; once that revision is compacted (here:
//! after a restart, which starts the embedded store's history afresh) the continue token gets
//! kube's 410 with a fresh token; `resourceVersion` / `resourceVersionMatch` as kube reads them.
//! Through curl, kubectl `--chunk-size` and the Python client.

mod support;

use serde_json::Value;
use std::process::Command;
use support::more::{Cluster, Http};
use support::Server;

const NS: &str = "pages";

fn get(server: &Server, query: &str) -> Http {
    server.admin_curl(&format!("/api/v1/namespaces/{NS}/secrets{query}"), &[])
}

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["metadata"]["name"].as_str().map(str::to_string))
        .collect()
}

fn fill(server: &Server) {
    let admin = server.admin();
    admin.ok(&["create", "namespace", NS]);
    for i in 0..6 {
        admin.ok(&["create", "secret", "generic", &format!("s-{i}"), "-n", NS, "--from-literal=v=1"]);
    }
}

#[test]
fn continue_pages_read_the_first_pages_snapshot() {
    let server = Server::start();
    fill(&server);
    let admin = server.admin();

    let first = get(&server, "?limit=2");
    assert_eq!(first.status, 200, "{first}");
    let first = first.json();
    assert_eq!(names(&first), ["s-0", "s-1"]);
    let rv = first["metadata"]["resourceVersion"].as_str().unwrap().to_string();
    let token = first["metadata"]["continue"].as_str().unwrap().to_string();
    // kube counts what follows a page of a list without selectors (Kubernetes' e2e "API
    // chunking" test adds it up), not of one with them, nor of the last page.
    assert_eq!(first["metadata"]["remainingItemCount"], 4, "{first}");
    let table = server.admin_curl(
        &format!("/api/v1/namespaces/{NS}/secrets?limit=4"),
        &["-H", "Accept: application/json;as=Table;v=v1;g=meta.k8s.io"],
    );
    assert_eq!(table.json()["metadata"]["remainingItemCount"], 2, "{table}");
    let selected = get(&server, "?limit=2&labelSelector=v!%3Dx").json();
    assert!(selected["metadata"].get("remainingItemCount").is_none(), "{selected}");
    let all = get(&server, "?limit=6").json();
    assert!(all["metadata"].get("remainingItemCount").is_none(), "{all}");

    // Between the pages: a new Secret, a deleted one, a changed one.
    admin.ok(&["create", "secret", "generic", "s-2a", "-n", NS, "--from-literal=v=1"]);
    admin.ok(&["delete", "secret", "s-3", "-n", NS]);
    admin.ok(&["label", "secret", "s-4", "-n", NS, "changed=yes"]);

    let second = get(&server, &format!("?limit=2&continue={token}")).json();
    assert_eq!(names(&second), ["s-2", "s-3"], "{second}");
    assert_eq!(second["metadata"]["resourceVersion"], rv.as_str());
    let token = second["metadata"]["continue"].as_str().unwrap().to_string();
    assert_eq!(second["metadata"]["remainingItemCount"], 2, "counted at the snapshot: {second}");
    let third = get(&server, &format!("?limit=2&continue={token}")).json();
    assert_eq!(names(&third), ["s-4", "s-5"], "{third}");
    assert!(third["items"][0]["metadata"]["labels"].is_null(), "s-4 as it was: {third}");
    assert!(third["metadata"].get("continue").is_none_or(|c| c == ""), "{third}");
    // With a selector too (the decoding path): the same snapshot.
    let selected = get(&server, &format!("?limit=2&labelSelector=changed!%3Dno&continue={token}")).json();
    assert_eq!(names(&selected), ["s-4", "s-5"], "{selected}");

    // The snapshot, exactly; the present with kubectl's chunks.
    let exact = get(&server, &format!("?resourceVersion={rv}&resourceVersionMatch=Exact")).json();
    assert_eq!(names(&exact), ["s-0", "s-1", "s-2", "s-3", "s-4", "s-5"]);
    assert_eq!(exact["metadata"]["resourceVersion"], rv.as_str());
    let legacy = get(&server, &format!("?resourceVersion={rv}&limit=10")).json();
    assert_eq!(names(&legacy), names(&exact), "a paginated list reads at its resourceVersion");
    let out = admin.ok(&["get", "secrets", "-n", NS, "--chunk-size=2", "-o", "name"]);
    let listed: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        listed,
        ["secret/s-0", "secret/s-1", "secret/s-2", "secret/s-2a", "secret/s-4", "secret/s-5"],
        "{out}"
    );
    let out = admin.ok(&["get", "secrets", "-n", NS, "--chunk-size=2", "-v=6"]);
    assert!(out.stderr.contains("limit=2") && out.stderr.contains("continue="), "kubectl paginated: {out}");

    // kube's answers to options that do not go together.
    let e = get(&server, "?resourceVersionMatch=NotOlderThan");
    assert_eq!(e.status, 422, "{e}");
    assert_eq!(
        e.json()["message"],
        r#"ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"#
    );
    let e = get(&server, &format!("?limit=2&resourceVersion={rv}&continue={token}"));
    assert_eq!(
        (e.status, e.json()["message"].clone()),
        (400, "specifying resource version is not allowed when using continue".into())
    );
    let e = get(&server, "?limit=2&continue=bm90LWEtdG9rZW4");
    assert_eq!(e.status, 400, "{e}");
    assert!(
        e.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid continue token: continue key is not valid"),
        "{e}"
    );
    let future = rv.parse::<u64>().unwrap() + 1000;
    let e = get(&server, &format!("?resourceVersion={future}&resourceVersionMatch=NotOlderThan"));
    assert_eq!(e.status, 504, "{e}");
    let status = e.json();
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("Timeout: Too large resource version: {future}, current: ")),
        "{e}"
    );
    assert_eq!(status["details"]["causes"][0]["reason"], "ResourceVersionTooLarge", "{e}");
    // resourceVersion=0: everything, limit or not.
    let any = get(&server, "?resourceVersion=0&limit=2").json();
    assert_eq!(names(&any).len(), 6, "{any}");
    assert!(any["metadata"].get("continue").is_none_or(|c| c == ""), "{any}");
}

/// Once the first page's revision is compacted the continue token is 410 Expired with kube's
/// message and a token that goes on at the latest revision; an exact list there is 410 too.
#[test]
fn a_compacted_continue_token_is_410_with_a_fresh_token() {
    let mut server = Server::start();
    fill(&server);
    let first = get(&server, "?limit=2").json();
    let rv = first["metadata"]["resourceVersion"].as_str().unwrap().to_string();
    let token = first["metadata"]["continue"].as_str().unwrap().to_string();
    server.admin().ok(&["delete", "secret", "s-2", "-n", NS]);
    // After a restart the embedded store keeps no history: every earlier revision is compacted.
    server.restart();

    let e = get(&server, &format!("?limit=2&continue={token}"));
    assert_eq!(e.status, 410, "{e}");
    let status = e.json();
    assert_eq!(status["reason"], "Expired");
    assert_eq!(
        status["message"],
        "The provided continue parameter is too old to display a consistent list result. You can start a new \
         list without the continue parameter, or use the continue token in this response to retrieve the \
         remainder of the results. Continuing with the provided token results in an inconsistent list - \
         objects that were created, modified, or deleted between the time the first chunk was returned and \
         now may show up in the list."
    );
    let fresh = status["metadata"]["continue"].as_str().expect("a fresh continue token").to_string();
    let rest = get(&server, &format!("?limit=10&continue={fresh}")).json();
    assert_eq!(names(&rest), ["s-3", "s-4", "s-5"], "the remainder, now: {rest}");

    let e = get(&server, &format!("?resourceVersion={rv}&resourceVersionMatch=Exact"));
    assert_eq!(
        (e.status, e.json()["message"].clone()),
        (410, "The resourceVersion for the provided list is too old.".into())
    );
}

#[test]
fn python_client_pages_see_one_snapshot() {
    let mut check = Command::new("python3");
    check.args(["-c", "import kubernetes"]);
    if !(support::have_program("python3") && support::run(check, support::COMMAND_TIMEOUT).ok()) {
        support::missing("python kubernetes client");
        return;
    }
    let server = Server::start();
    fill(&server);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/pagination.py");
    let mut cmd = Command::new("python3");
    cmd.arg(script).arg(&server.kubeconfig).arg(NS);
    let out = support::run(cmd, support::COMMAND_TIMEOUT);
    out.assert_ok();
    out.assert_stdout_contains("names: s-0,s-1,s-2,s-3,s-4,s-5\n");
    let versions = out.stdout.lines().find_map(|l| l.strip_prefix("versions: ")).unwrap_or_default();
    assert!(!versions.contains(','), "every page at one resourceVersion: {out}");
}
