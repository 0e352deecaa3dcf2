//! HorizontalPodAutoscalers: autoscaling/v2 (stored) and autoscaling/v1 served as one object,
//! as kube does (Kubernetes' e2e discovery tests expect both): kubectl autoscale, the v1 view
//! (its CPU target, the rest in kube's round-trip annotations), a v1 write read back as v2,
//! kube's defaults (an 80% CPU target, minReplicas 1), printer columns and validation.

mod support;

use serde_json::{json, Value};
use support::more::Cluster;
use support::{get_json, words, Server};

fn hpa(server: &Server, version: &str, name: &str) -> Value {
    server
        .admin_curl(
            &format!("/apis/autoscaling/{version}/namespaces/default/horizontalpodautoscalers/{name}"),
            &[],
        )
        .json()
}

#[test]
fn v2_and_v1_are_one_object() {
    let server = Server::start();
    let Some(k) = support::kubectl_or_missing(&server, "1.33") else { return };
    let group = server.admin_curl("/apis/autoscaling", &[]).json();
    assert_eq!(group["preferredVersion"]["version"], "v2", "{group}");
    assert_eq!(group["versions"].as_array().map(Vec::len), Some(2), "{group}");

    k.ok(&["create", "deployment", "web", "--image=nginx"]);
    k.ok(&["autoscale", "deployment", "web", "--max=5", "--cpu-percent=60"]);
    let table = k.ok(&["get", "hpa", "web"]);
    assert_eq!(
        words(&table.stdout),
        [
            "NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS AGE",
            &format!(
                "web Deployment/web cpu: <unknown>/60% 1 5 0 {}",
                words(&table.stdout)[1].rsplit(' ').next().unwrap_or_default()
            )
        ],
        "{table}"
    );
    let v1 = hpa(&server, "v1", "web");
    assert_eq!(v1["apiVersion"], "autoscaling/v1");
    assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 60, "{v1}");
    assert_eq!(v1["status"], json!({"currentReplicas": 0, "desiredReplicas": 0}), "{v1}");

    // A v2 object with more than v1 can say: the rest travels in annotations and comes back.
    let rich = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "rich"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "maxReplicas": 4,
            "metrics": [{"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "100Mi"}}}],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}}});
    let path = server.file("rich.json", &rich.to_string());
    k.ok(&["create", "-f", path.to_str().unwrap_or_default()]);
    let v2 = get_json(&k, &["hpa.v2.autoscaling", "rich"]);
    // kube's defaults: minReplicas, and the behavior's unset rules filled in.
    assert_eq!(v2["spec"]["minReplicas"], 1, "{v2}");
    assert_eq!(v2["spec"]["behavior"]["scaleDown"]["selectPolicy"], "Max", "{v2}");
    assert_eq!(v2["spec"]["behavior"]["scaleUp"]["policies"].as_array().map(Vec::len), Some(2), "{v2}");
    let mut v1 = hpa(&server, "v1", "rich");
    let annotations = &v1["metadata"]["annotations"];
    assert!(
        annotations["autoscaling.alpha.kubernetes.io/metrics"].as_str().is_some_and(|m| m.contains("100Mi")),
        "{v1}"
    );
    assert!(v1["spec"].get("targetCPUUtilizationPercentage").is_none(), "{v1}");
    // Written back through v1 (a label added): v2 keeps its memory metric and behavior.
    v1["metadata"]["labels"] = json!({"via": "v1"});
    let put = server.admin_curl(
        "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers/rich",
        &["-X", "PUT", "-H", "Content-Type: application/json", "--data", &v1.to_string()],
    );
    assert_eq!(put.status, 200, "{put}");
    let again = hpa(&server, "v2", "rich");
    assert_eq!(again["spec"]["metrics"], v2["spec"]["metrics"], "{again}");
    assert_eq!(again["spec"]["behavior"], v2["spec"]["behavior"], "{again}");
    assert_eq!(again["metadata"]["labels"], json!({"via": "v1"}));
    assert!(again["metadata"].get("annotations").is_none(), "round-trip annotations are not stored: {again}");

    // A v1 object without a CPU target: kube's implicit 80%.
    let bare = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "bare"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 3}});
    let made = server.admin_curl(
        "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers",
        &["-X", "POST", "-H", "Content-Type: application/json", "--data", &bare.to_string()],
    );
    assert_eq!(made.status, 201, "{made}");
    assert_eq!(made.json()["spec"]["minReplicas"], 1);
    let v2 = hpa(&server, "v2", "bare");
    assert_eq!(v2["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"], 80, "{v2}");

    // kube's validation.
    let bad = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "bad"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 3, "maxReplicas": 2}});
    let path = server.file("bad.json", &bad.to_string());
    let out = k.run(&["create", "-f", path.to_str().unwrap_or_default()]);
    out.assert_code(1).assert_stderr_contains(
        r#"spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`"#,
    );
}
