//! API Priority and Fairness's configuration, as far as kubeward takes it: requests are
//! classified by the FlowSchemas and the answer names the FlowSchema and priority level in
//! kube's headers, each FlowSchema's `Dangling` status says whether its level exists, and
//! `/metrics` reports each level's nominal seats (Kubernetes' e2e "API priority and fairness
//! should ensure that requests can be classified").

mod support;

use serde_json::json;
use std::time::Duration;
use support::more::{retry, Cluster};
use support::Server;

fn header<'a>(headers: &'a str, name: &str) -> Option<&'a str> {
    headers.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[test]
fn requests_are_classified_by_flow_schemas() {
    let server = Server::start();
    let post = |path: &str, body: serde_json::Value| {
        server.admin_curl(
            path,
            &["-X", "POST", "-H", "Content-Type: application/json", "--data", &body.to_string()],
        )
    };
    let level = post(
        "/apis/flowcontrol.apiserver.k8s.io/v1/prioritylevelconfigurations",
        json!({"apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "PriorityLevelConfiguration",
            "metadata": {"name": "e2e-level"},
            "spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 1, "limitResponse": {"type": "Reject"}}}}),
    );
    assert_eq!(level.status, 201, "{level}");
    let schema = post(
        "/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas",
        json!({"apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "FlowSchema", "metadata": {"name": "e2e-schema"},
            "spec": {"matchingPrecedence": 1000, "priorityLevelConfiguration": {"name": "e2e-level"},
                "distinguisherMethod": {"type": "ByUser"},
                "rules": [{"subjects": [{"kind": "User", "user": {"name": "noxu"}}],
                    "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}]}]}}),
    );
    assert_eq!(schema.status, 201, "{schema}");
    let (level_uid, schema_uid) =
        (level.json()["metadata"]["uid"].clone(), schema.json()["metadata"]["uid"].clone());

    let (ok, last) = retry(Duration::from_secs(10), || {
        let fs =
            server.admin_curl("/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas/e2e-schema", &[]).json();
        let dangling = fs["status"]["conditions"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["type"] == "Dangling").cloned());
        (dangling.is_some_and(|d| d["status"] == "False" && d["reason"] == "Found"), fs.to_string())
    });
    assert!(ok, "no Dangling=False condition: {last}");

    let scratch = server.scratch("apf");
    let headers_as = |user: &str, groups: &[&str], name: &str| {
        let file = scratch.join(format!("{name}.txt"));
        let mut args = vec!["-H".to_string(), format!("Impersonate-User: {user}")];
        for g in groups {
            args.extend(["-H".to_string(), format!("Impersonate-Group: {g}")]);
        }
        args.extend(["-D".to_string(), file.to_str().unwrap_or_default().to_string()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let h = server.admin_curl("/version", &args);
        assert_eq!(h.status, 200, "{h}");
        std::fs::read_to_string(&file).unwrap_or_default()
    };
    let headers_of = |user: &str, name: &str| headers_as(user, &["system:authenticated"], name);
    let noxu = headers_of("noxu", "noxu");
    assert_eq!(header(&noxu, "X-Kubernetes-PF-FlowSchema-UID"), schema_uid.as_str(), "{noxu}");
    assert_eq!(header(&noxu, "X-Kubernetes-PF-PriorityLevel-UID"), level_uid.as_str(), "{noxu}");
    // Anyone else authenticated: kube's suggested global-default schema and level.
    let fs_uid = |name: &str| {
        let path = format!("/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas/{name}");
        server.admin_curl(&path, &[]).json()["metadata"]["uid"].as_str().unwrap_or_default().to_string()
    };
    let level_uid = |name: &str| {
        let path = format!("/apis/flowcontrol.apiserver.k8s.io/v1/prioritylevelconfigurations/{name}");
        server.admin_curl(&path, &[]).json()["metadata"]["uid"].as_str().unwrap_or_default().to_string()
    };
    let other = headers_of("foo", "foo");
    let global = (fs_uid("global-default"), level_uid("global-default"));
    assert!(!global.0.is_empty() && !global.1.is_empty(), "no global-default objects");
    assert_eq!(header(&other, "X-Kubernetes-PF-FlowSchema-UID"), Some(global.0.as_str()), "{other}");
    assert_eq!(header(&other, "X-Kubernetes-PF-PriorityLevel-UID"), Some(global.1.as_str()), "{other}");
    // A node: the suggested system-nodes schema.
    let node = headers_as("system:node:n1", &["system:nodes", "system:authenticated"], "node");
    assert!(node.contains(&fs_uid("system-nodes")), "{node}");

    // Created by kube's APF configuration producer, their status applied by its consumer.
    let (ok, last) = retry(Duration::from_secs(10), || {
        let fs = server
            .admin_curl("/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas/service-accounts", &[])
            .json();
        let managers: Vec<(String, String, String)> = fs["metadata"]["managedFields"]
            .as_array()
            .map(|m| {
                m.iter()
                    .map(|e| {
                        let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
                        (s("manager"), s("operation"), s("subresource"))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let want = [
            ("api-priority-and-fairness-config-producer-v1", "Update", ""),
            ("api-priority-and-fairness-config-consumer-v1", "Apply", "status"),
        ];
        let found = want.iter().all(|(m, o, s)| {
            managers.iter().any(|e| (e.0.as_str(), e.1.as_str(), e.2.as_str()) == (*m, *o, *s))
        });
        (found && fs["spec"]["matchingPrecedence"] == 9000, fs.to_string())
    });
    assert!(ok, "service-accounts is not kube's: {last}");

    let metrics = server.admin_curl("/metrics", &[]);
    assert!(
        metrics.body.lines().any(
            |l| l.starts_with(r#"apiserver_flowcontrol_nominal_limit_seats{priority_level="e2e-level"}"#)
        ) && metrics
            .body
            .contains(r#"apiserver_flowcontrol_nominal_limit_seats{priority_level="workload-low"}"#),
        "{}",
        metrics.body.lines().filter(|l| l.contains("nominal_limit")).collect::<Vec<_>>().join("\n")
    );
}
