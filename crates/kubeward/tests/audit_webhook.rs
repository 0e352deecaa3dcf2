//! The audit webhook backend end to end (issue 14): a receiver on loopback gets EventLists
//! in batch mode, each event before the answer in blocking mode; blocking-strict fails the
//! request when the receiver is down; a full batch buffer drops events counted and logged,
//! never blocking a request.

mod support;

use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};
use support::eventually;
use support::more::webhook::Webhook;
use support::more::{b64_encode, Cluster, FlagServer};

/// A kubeconfig naming the receiver at `url` (its CA when https).
fn receiver_kubeconfig(dir: &Path, url: &str, ca_pem: Option<&str>) -> String {
    let ca =
        ca_pem.map(|c| format!("\n    certificate-authority-data: {}", b64_encode(c))).unwrap_or_default();
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: audit\n  cluster:\n    server: {url}{ca}\nusers:\n- name: kubeward\n  user: {{}}\ncontexts:\n- name: audit\n  context:\n    cluster: audit\n    user: kubeward\ncurrent-context: audit\n"
    );
    let path = dir.join("audit-webhook.kubeconfig");
    std::fs::write(&path, text).expect("write the webhook kubeconfig");
    path.display().to_string()
}

fn server_with(url: String, ca_pem: Option<String>, flags: &[&str]) -> FlagServer {
    let flags: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
    FlagServer::start(move |dir| {
        let kc = receiver_kubeconfig(dir, &url, ca_pem.as_deref());
        let mut all = vec!["--audit-webhook-config-file".to_string(), kc];
        all.extend(flags);
        all
    })
}

/// Every event the receiver got, with the size of the list it came in.
fn received(hook: &Webhook) -> Vec<(usize, Value)> {
    let calls = hook.calls.lock().map(|c| c.clone()).unwrap_or_default();
    let mut out = Vec::new();
    for list in calls {
        assert_eq!(
            (list["kind"].as_str(), list["apiVersion"].as_str()),
            (Some("EventList"), Some("audit.k8s.io/v1"))
        );
        let items = list["items"].as_array().cloned().unwrap_or_default();
        let n = items.len();
        out.extend(items.into_iter().map(|e| (n, e)));
    }
    out
}

fn stages_of(events: &[(usize, Value)], id: &str) -> Vec<String> {
    events
        .iter()
        .filter(|(_, e)| e["auditID"] == id)
        .map(|(_, e)| e["stage"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn batch_mode_sends_event_lists() {
    let hook = Webhook::start_raw("/audit", |_| json!({}));
    let server = server_with(
        hook.url.clone(),
        Some(hook.ca_pem.clone()),
        &["--audit-webhook-batch-max-wait", "300ms", "--audit-webhook-batch-max-size", "50"],
    );
    for i in 0..5 {
        let r = server.admin_curl("/api/v1/namespaces", &["-H", &format!("Audit-ID: batch-{i}")]);
        assert_eq!(r.status, 200, "{r}");
    }
    let events = eventually(Duration::from_secs(15), || {
        let got = received(&hook);
        (0..5).all(|i| stages_of(&got, &format!("batch-{i}")).len() == 2).then_some(got)
    })
    .unwrap_or_else(|| panic!("the receiver got: {:#?}", received(&hook)));
    assert_eq!(stages_of(&events, "batch-0"), ["RequestReceived", "ResponseComplete"]);
    assert!(events.iter().any(|(n, _)| *n > 1), "events are batched");
    let done =
        events.iter().find(|(_, e)| e["auditID"] == "batch-3" && e["stage"] == "ResponseComplete").unwrap();
    assert_eq!(done.1["annotations"]["authorization.k8s.io/decision"], "allow");
    assert_eq!(done.1["responseStatus"]["code"], 200);
    // The log backend runs beside the webhook.
    let log = std::fs::read_to_string(server.data_path().join("audit.log")).unwrap_or_default();
    assert!(log.contains("\"auditID\":\"batch-3\""));
}

#[test]
fn blocking_mode_sends_before_answering() {
    let hook = Webhook::start_raw("/audit", |_| json!({}));
    let server =
        server_with(hook.url.clone(), Some(hook.ca_pem.clone()), &["--audit-webhook-mode", "blocking"]);
    let r = server.admin_curl("/api/v1/namespaces/default/configmaps", &["-H", "Audit-ID: blocking-1"]);
    assert_eq!(r.status, 200, "{r}");
    // No waiting: both events were taken before the answer was sent.
    let got = received(&hook);
    assert_eq!(stages_of(&got, "blocking-1"), ["RequestReceived", "ResponseComplete"], "{got:#?}");
    assert!(got.iter().all(|(n, _)| *n == 1), "one event per call in blocking mode");
}

#[test]
fn blocking_strict_fails_requests_when_the_receiver_is_down() {
    // Nothing listens on the receiver's port.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let server = server_with(
        format!("http://127.0.0.1:{port}/audit"),
        None,
        &["--audit-webhook-mode", "blocking-strict", "--audit-webhook-initial-backoff", "10ms"],
    );
    let r = server.admin_curl("/api/v1/namespaces", &[]);
    assert_eq!(r.status, 500, "{r}");
    let status = r.json();
    assert_eq!(status["message"], "Internal error occurred: failed to store audit event");
    assert_eq!(status["reason"], "InternalError");
    assert!(server.log().contains("audit webhook failed"), "the failure is logged");
}

#[test]
fn a_full_batch_buffer_drops_counted_and_logged_never_blocking() {
    // A receiver that accepts connections and never answers: every send hangs.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    let server = server_with(
        format!("http://127.0.0.1:{port}/audit"),
        None,
        &[
            "--audit-webhook-batch-buffer-size",
            "1",
            "--audit-webhook-batch-max-size",
            "1",
            "--audit-webhook-batch-throttle-enable=false",
        ],
    );
    for _ in 0..15 {
        let started = Instant::now();
        let r = server.admin_curl("/api/v1/namespaces", &[]);
        assert_eq!(r.status, 200, "{r}");
        assert!(started.elapsed() < Duration::from_secs(5), "a full buffer never holds a request");
    }
    let logged = eventually(Duration::from_secs(5), || {
        let log = server.log();
        log.contains("audit webhook buffer is full: event dropped").then_some(log)
    })
    .unwrap_or_else(|| panic!("no drop logged:\n{}", server.log()));
    assert!(logged.contains("dropped_total"), "the running count is logged");
}
