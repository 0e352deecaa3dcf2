//! The custom-resource and server-side-apply loads (issue #12): custom resources of a CRD with
//! a structural schema and CEL rules (`data/widget-crd.json`) created next to ConfigMaps of
//! the same JSON size, and one Deployment change sent as a strategic merge patch and as a
//! server-side apply. Owns the objects, the per-write builders for `writes::run_load`, the
//! set-up (CRD established, rules proven to run, Deployments created) and the check that an
//! apply was recorded in managedFields.

use crate::client::{connect, Conn, Target};
use crate::writes::{configmap_body, MakeWrite, Slot, Write};
use crate::BenchError;
use bytes::Bytes;
use http::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The CRD every custom resource of the section belongs to.
pub const CRD_JSON: &str = include_str!("../data/widget-crd.json");
/// Its API group, version and plural.
pub const GROUP_VERSION: &str = "bench.kubeward.io/v1";
pub const PLURAL: &str = "widgets";
/// The field managers of the two patch rows.
pub const PATCH_MANAGER: &str = "bench-patch";
pub const APPLY_MANAGER: &str = "bench-apply";

/// The writes the section measures, as named in its records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// POST a ConfigMap whose body is as long as a Widget's.
    ConfigMapCreate,
    /// POST a Widget custom resource.
    CustomCreate,
    /// PATCH a Deployment with `application/strategic-merge-patch+json`.
    StrategicMergePatch,
    /// PATCH a Deployment with `application/apply-patch+yaml`, fieldManager set, force.
    ServerSideApply,
}

impl Op {
    /// Every op, in the order rows are run (each pair baseline first).
    pub const ALL: [Op; 4] =
        [Op::ConfigMapCreate, Op::CustomCreate, Op::StrategicMergePatch, Op::ServerSideApply];

    /// The name in records.
    pub fn name(self) -> &'static str {
        match self {
            Op::ConfigMapCreate => "configmap-create",
            Op::CustomCreate => "custom-create",
            Op::StrategicMergePatch => "strategic-merge-patch",
            Op::ServerSideApply => "server-side-apply",
        }
    }
}

/// The CRD as JSON.
pub fn crd() -> Result<Value, BenchError> {
    serde_json::from_str(CRD_JSON)
        .map_err(|e| BenchError::Decode { what: "data/widget-crd.json".into(), detail: e.to_string() })
}

/// How many properties `spec`'s schema declares (nested ones and list items' included) and
/// how many CEL rules it carries, read from the CRD itself.
pub fn schema_size(crd: &Value) -> (usize, usize) {
    fn walk(s: &Value, depth: usize) -> (usize, usize) {
        if depth > 32 {
            return (0, 0);
        }
        let mut fields = 0;
        let mut rules = s.get("x-kubernetes-validations").and_then(Value::as_array).map_or(0, Vec::len);
        let props = s.get("properties").and_then(Value::as_object).into_iter().flatten();
        for child in props.map(|(_, v)| v).chain(s.get("items")).chain(s.get("additionalProperties")) {
            let (f, r) = walk(child, depth + 1);
            fields += f;
            rules += r;
        }
        fields += s.get("properties").and_then(Value::as_object).map_or(0, |p| p.len());
        (fields, rules)
    }
    let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
    walk(spec, 0)
}

/// A Widget that sets most fields and leaves five to the schema's defaults.
pub fn widget(name: &str) -> Value {
    json!({
        "apiVersion": GROUP_VERSION, "kind": "Widget",
        "metadata": {"name": name, "labels": {"app": "kubeward-bench"}},
        "spec": {
            "image": "registry.example/team/widget:1.4.2",
            "owner": "team-a",
            "description": "a widget created by kubeward-bench",
            "mode": "Passive",
            "replicas": 3, "minReplicas": 1, "maxReplicas": 5,
            "ratio": 0.25,
            "tags": ["alpha", "beta", "gamma"],
            "ports": [{"name": "http", "port": 8080}, {"name": "metrics", "port": 9090, "protocol": "TCP"}],
            "resources": {"cpu": "250m", "memory": "512Mi"},
            "schedule": {"start": "2026-01-01T00:00:00Z"},
            "env": {"LOG_LEVEL": "info", "REGION": "eu-west-1"},
        },
    })
}

/// A ConfigMap body exactly as long as the Widget body of the same name.
pub fn configmap_like_widget(name: &str) -> Bytes {
    let want = widget(name).to_string().len();
    let bare = configmap_body(name, 0).len();
    configmap_body(name, want.saturating_sub(bare))
}

fn collection(namespace: &str, resource: &str) -> String {
    match resource {
        "configmaps" => format!("/api/v1/namespaces/{namespace}/configmaps"),
        "deployments" => format!("/apis/apps/v1/namespaces/{namespace}/deployments"),
        _ => format!("/apis/{GROUP_VERSION}/namespaces/{namespace}/{resource}"),
    }
}

/// The Deployment client `client` changes.
pub fn deployment_name(client: usize) -> String {
    format!("bench-d{client}")
}

/// A Deployment of one nginx container.
pub fn deployment(name: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name, "bench-rev": "r0"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
            },
        },
    })
}

/// The change of a client's `step`th write: replicas and the `bench-rev` label alternate
/// between two states, so every write changes the object.
fn change(step: u64) -> (u64, String) {
    (2 + step % 2, format!("r{}", 1 + step % 2))
}

/// The strategic merge patch of a step's change.
pub fn patch_body(step: u64) -> Bytes {
    let (replicas, rev) = change(step);
    Bytes::from(
        json!({"metadata": {"labels": {"bench-rev": rev}}, "spec": {"replicas": replicas}}).to_string(),
    )
}

/// The applied configuration of the same change: the fields the applier owns, nothing else
/// (JSON, which is YAML, as client-go and kubectl send it).
pub fn apply_body(name: &str, step: u64) -> Bytes {
    let (replicas, rev) = change(step);
    Bytes::from(
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "labels": {"bench-rev": rev}},
            "spec": {"replicas": replicas},
        })
        .to_string(),
    )
}

/// Builds the writes of one op; creates are named `{prefix}-{seq}`.
pub fn make_writes(op: Op, namespace: &str, prefix: &str) -> MakeWrite {
    let (ns, prefix) = (namespace.to_string(), prefix.to_string());
    match op {
        Op::ConfigMapCreate => {
            let path = collection(&ns, "configmaps");
            Arc::new(move |s: Slot| Write::Api {
                method: Method::POST,
                path: path.clone(),
                content_type: "application/json",
                body: configmap_like_widget(&format!("{prefix}-{}", s.seq)),
            })
        }
        Op::CustomCreate => {
            let path = collection(&ns, PLURAL);
            Arc::new(move |s: Slot| Write::Api {
                method: Method::POST,
                path: path.clone(),
                content_type: "application/json",
                body: Bytes::from(widget(&format!("{prefix}-{}", s.seq)).to_string()),
            })
        }
        Op::StrategicMergePatch => {
            let base = collection(&ns, "deployments");
            Arc::new(move |s: Slot| Write::Api {
                method: Method::PATCH,
                path: format!("{base}/{}?fieldManager={PATCH_MANAGER}", deployment_name(s.client)),
                content_type: "application/strategic-merge-patch+json",
                body: patch_body(s.step),
            })
        }
        Op::ServerSideApply => {
            let base = collection(&ns, "deployments");
            Arc::new(move |s: Slot| {
                let name = deployment_name(s.client);
                Write::Api {
                    method: Method::PATCH,
                    path: format!("{base}/{name}?fieldManager={APPLY_MANAGER}&force=true"),
                    content_type: "application/apply-patch+yaml",
                    body: apply_body(&name, s.step),
                }
            })
        }
    }
}

/// The request body length of one op's write (creates: named as the load names them).
pub fn body_len(op: Op, prefix: &str) -> usize {
    let name = format!("{prefix}-0");
    match op {
        Op::ConfigMapCreate => configmap_like_widget(&name).len(),
        Op::CustomCreate => widget(&name).to_string().len(),
        Op::StrategicMergePatch => patch_body(0).len(),
        Op::ServerSideApply => apply_body(&deployment_name(0), 0).len(),
    }
}

/// Creates the CRD (an existing one is fine) and waits until its resource is served.
pub async fn install_crd(target: &Target, namespace: &str, timeout: Duration) -> Result<(), BenchError> {
    let mut conn = connect(target).await?;
    let body = Bytes::from(crd()?.to_string());
    conn.expect_ok(Method::POST, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body, true)
        .await?;
    let path = format!("{}?limit=1", collection(namespace, PLURAL));
    let start = Instant::now();
    loop {
        let (status, _) = conn.call(Method::GET, &path, &[], Bytes::new()).await?;
        if status.is_success() {
            return Ok(());
        }
        if start.elapsed() > timeout {
            return Err(BenchError::Timeout(format!(
                "{PLURAL}.{GROUP_VERSION} not served after {timeout:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn preflight_error(detail: String) -> BenchError {
    BenchError::Decode { what: "custom resource preflight".into(), detail }
}

/// Proves the schema and the CEL rules run on custom-resource creates, so the rows measure
/// them: a created Widget comes back with the schema's defaults, and one that breaks the first
/// rule is refused with its message.
pub async fn preflight(target: &Target, namespace: &str) -> Result<(), BenchError> {
    let mut conn = connect(target).await?;
    let path = collection(namespace, PLURAL);
    let created =
        conn.expect_ok(Method::POST, &path, Bytes::from(widget("preflight").to_string()), true).await?;
    let created: Value = serde_json::from_slice(&created).map_err(|e| preflight_error(e.to_string()))?;
    if created["metadata"]["name"] == "preflight" {
        let spec = &created["spec"];
        let defaulted = spec["paused"] == false
            && spec["priority"] == 0
            && spec["ports"][0]["protocol"] == "TCP"
            && spec["schedule"]["timezone"] == "UTC"
            && spec["schedule"]["windowMinutes"] == 60;
        if !defaulted {
            return Err(preflight_error(format!("schema defaults not applied: {spec}")));
        }
    }
    let mut bad = widget("preflight-bad");
    bad["spec"]["minReplicas"] = json!(6);
    let (status, body) = conn
        .call(Method::POST, &path, &[("content-type", "application/json")], Bytes::from(bad.to_string()))
        .await?;
    let text = String::from_utf8_lossy(&body);
    if status != StatusCode::UNPROCESSABLE_ENTITY || !text.contains("minReplicas must not exceed maxReplicas")
    {
        return Err(preflight_error(format!("a Widget breaking a CEL rule got {status}: {text}")));
    }
    Ok(())
}

/// Creates the Deployments `bench-d0..` the patch rows change (existing ones are fine).
pub async fn create_deployments(target: &Target, namespace: &str, count: usize) -> Result<(), BenchError> {
    let mut conn = connect(target).await?;
    let path = collection(namespace, "deployments");
    for client in 0..count {
        let body = Bytes::from(deployment(&deployment_name(client)).to_string());
        conn.expect_ok(Method::POST, &path, body, true).await?;
    }
    Ok(())
}

/// Whether the server recorded the apply rows as kube does: an `Apply` entry of the apply
/// manager in the Deployment's managedFields (a server that applies by strategic merge
/// underneath records none).
pub async fn apply_recorded(conn: &mut Conn, namespace: &str) -> Result<bool, BenchError> {
    let path = format!("{}/{}", collection(namespace, "deployments"), deployment_name(0));
    let body = conn.expect_ok(Method::GET, &path, Bytes::new(), false).await?;
    let obj: Value = serde_json::from_slice(&body)
        .map_err(|e| BenchError::Decode { what: path.clone(), detail: e.to_string() })?;
    let entries = obj["metadata"]["managedFields"].as_array().cloned().unwrap_or_default();
    Ok(entries.iter().any(|e| e["manager"] == APPLY_MANAGER && e["operation"] == "Apply"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crd_has_about_twenty_fields_and_three_rules() {
        let crd = crd().unwrap();
        assert_eq!(schema_size(&crd), (23, 3));
        assert_eq!(crd["spec"]["group"].as_str().map(|g| format!("{g}/v1")).as_deref(), Some(GROUP_VERSION));
    }

    #[test]
    fn configmaps_are_as_long_as_widgets() {
        for name in ["cm-c1-0", "cm-c16-123456"] {
            assert_eq!(configmap_like_widget(name).len(), widget(name).to_string().len());
        }
        assert_eq!(body_len(Op::ConfigMapCreate, "x"), body_len(Op::CustomCreate, "x"));
    }

    #[test]
    fn every_step_changes_the_deployment_and_both_rows_send_the_same_change() {
        for step in 0..4 {
            let patch: Value = serde_json::from_slice(&patch_body(step)).unwrap();
            let apply: Value = serde_json::from_slice(&apply_body("bench-d0", step)).unwrap();
            assert_eq!(patch["spec"], apply["spec"]);
            assert_eq!(patch["metadata"]["labels"], apply["metadata"]["labels"]);
            assert_ne!(patch_body(step), patch_body(step + 1));
            // The first change differs from the Deployment as created.
            assert_ne!(
                apply["metadata"]["labels"]["bench-rev"],
                deployment("bench-d0")["metadata"]["labels"]["bench-rev"]
            );
        }
    }

    #[test]
    fn writes_go_to_the_client_s_own_deployment() {
        let make = make_writes(Op::ServerSideApply, "ns", "p");
        match make(Slot { client: 3, step: 1, seq: 9 }) {
            Write::Api { method, path, content_type, .. } => {
                assert_eq!(method, Method::PATCH);
                assert_eq!(
                    path,
                    "/apis/apps/v1/namespaces/ns/deployments/bench-d3?fieldManager=bench-apply&force=true"
                );
                assert_eq!(content_type, "application/apply-patch+yaml");
            }
            other => panic!("{other:?}"),
        }
        match make_writes(Op::CustomCreate, "ns", "p")(Slot { client: 0, step: 0, seq: 7 }) {
            Write::Api { path, body, .. } => {
                assert_eq!(path, "/apis/bench.kubeward.io/v1/namespaces/ns/widgets");
                assert!(std::str::from_utf8(&body).unwrap().contains("\"name\":\"p-7\""));
            }
            other => panic!("{other:?}"),
        }
    }
}
