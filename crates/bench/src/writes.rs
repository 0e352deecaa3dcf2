//! Durable write load: `clients` connections, each sending one write at a time. The writes are
//! built per request by a [`MakeWrite`]: ConfigMap creates through the Kubernetes API, puts of
//! the same size into etcd ([`WriteKind`]), or any other API write (custom resources, patches,
//! server-side applies: `custom.rs`).

use crate::client::{connect, Target};
use crate::stats::{summarize, Summary};
use crate::{etcd, BenchError};
use bytes::Bytes;
use http::Method;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one write is, for the ConfigMap and etcd loads.
#[derive(Clone, Debug)]
pub enum WriteKind {
    /// POST a ConfigMap whose `data.v` holds `data_bytes` characters.
    KubeCreate { namespace: String, data_bytes: usize },
    /// etcd Put of a `value_bytes` value under /registry/configmaps/NAMESPACE/NAME.
    EtcdPut { namespace: String, value_bytes: usize },
}

/// When the load stops.
#[derive(Clone, Copy, Debug)]
pub enum Limit {
    Count(u64),
    Duration(Duration),
}

/// One request a client sends.
#[derive(Clone, Debug)]
pub enum Write {
    /// A Kubernetes API request that must answer 2xx.
    Api { method: Method, path: String, content_type: &'static str, body: Bytes },
    /// An etcd KV.Put.
    EtcdPut { key: String, value: Bytes },
}

/// Where a write falls in the load.
#[derive(Clone, Copy, Debug)]
pub struct Slot {
    /// The client (0-based) sending it.
    pub client: usize,
    /// How many writes this client sent before it.
    pub step: u64,
    /// Load-wide sequence number, unique across clients.
    pub seq: u64,
}

/// Builds each write of a load from its slot.
pub type MakeWrite = Arc<dyn Fn(Slot) -> Write + Send + Sync>;

/// The body of a ConfigMap create.
pub fn configmap_body(name: &str, data_bytes: usize) -> Bytes {
    let value = "x".repeat(data_bytes);
    let obj = serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {"app": "kubeward-bench"}},
        "data": {"v": value},
    });
    Bytes::from(obj.to_string())
}

/// Creates a namespace (an existing one is fine).
pub async fn ensure_namespace(target: &Target, name: &str) -> Result<(), BenchError> {
    let mut conn = connect(target).await?;
    let body = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
    conn.expect_ok(Method::POST, "/api/v1/namespaces", Bytes::from(body.to_string()), true).await?;
    Ok(())
}

/// The validations of the policies [`install_policies`] creates: each passes for the
/// bench's ConfigMaps; the last also refuses the probe that tells when they are enforced.
pub const POLICY_RULES: [&str; 10] = [
    "object.metadata.name.size() <= 63",
    "has(object.metadata.labels) && 'app' in object.metadata.labels",
    "!has(object.data) || object.data.all(k, k.size() < 64)",
    "object.metadata.labels.app.matches('^[a-z-]+$')",
    "request.userInfo.username != 'nobody'",
    "!has(object.binaryData)",
    "!has(object.data) || size(object.data) <= 16",
    "object.metadata.?annotations.orValue({}).size() < 10",
    "!object.metadata.name.startsWith('forbidden')",
    "object.metadata.name != 'vap-probe'",
];

/// The ConfigMap the last policy refuses: created with a dry run until it is refused.
pub const PROBE: &str = "vap-probe";

const POLICIES: &str = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies";
const BINDINGS: &str = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings";

/// Creates `n` (at most 10) ValidatingAdmissionPolicies over ConfigMap creates, each with
/// a binding and one validation the bench's writes pass, after removing the bench's
/// webhook ([`crate::webhook`]), and waits until they are enforced (the last one's probe
/// is refused by a policy; the server's informer applies them in order).
pub async fn install_policies(target: &Target, namespace: &str, n: usize) -> Result<(), BenchError> {
    if n == 0 {
        return Ok(());
    }
    crate::webhook::remove(target).await?;
    let mut conn = connect(target).await?;
    let rules = &POLICY_RULES[POLICY_RULES.len() - n.min(POLICY_RULES.len())..];
    for (i, rule) in rules.iter().enumerate() {
        let name = format!("bench-policy-{i}");
        let policy = serde_json::json!({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": name},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                    "operations": ["CREATE"], "resources": ["configmaps"]}]},
                "validations": [{"expression": rule}],
            },
        });
        let binding = serde_json::json!({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": name},
            "spec": {"policyName": name, "validationActions": ["Deny"]},
        });
        conn.expect_ok(Method::POST, POLICIES, Bytes::from(policy.to_string()), true).await?;
        conn.expect_ok(Method::POST, BINDINGS, Bytes::from(binding.to_string()), true).await?;
    }
    wait_refused(&mut conn, namespace, "ValidatingAdmissionPolicy").await
}

/// Deletes the bench's policies and bindings (absent ones are fine).
pub async fn remove_policies(target: &Target) -> Result<(), BenchError> {
    let mut conn = connect(target).await?;
    for i in 0..POLICY_RULES.len() {
        for base in [BINDINGS, POLICIES] {
            let _ = conn.call(Method::DELETE, &format!("{base}/bench-policy-{i}"), &[], Bytes::new()).await?;
        }
    }
    Ok(())
}

/// Removes the bench's policies and webhook configuration, and waits until the probe (a
/// dry run) is accepted again, for at most 20 s: the rows without admission checks run on
/// the same server between the rows with them.
pub async fn clear_admission(target: &Target, namespace: &str) -> Result<(), BenchError> {
    remove_policies(target).await?;
    crate::webhook::remove(target).await?;
    let mut conn = connect(target).await?;
    let what = "the probe was still refused 20 s after the admission checks were removed";
    probe_until(&mut conn, namespace, what, |status, _| status.is_success()).await
}

/// Creates the probe ConfigMap with a dry run until it is refused with a message holding
/// `by` (who must refuse it), for at most 20 s.
pub async fn wait_refused(
    conn: &mut crate::client::Conn,
    namespace: &str,
    by: &str,
) -> Result<(), BenchError> {
    let what = format!("the probe was not refused by {by} within 20 s");
    probe_until(conn, namespace, &what, |status, body| {
        status.is_client_error() && String::from_utf8_lossy(body).contains(by)
    })
    .await
}

/// Creates the probe ConfigMap with a dry run every 50 ms until `done` holds for the
/// answer; after 20 s, the error `what` with the last answer.
async fn probe_until(
    conn: &mut crate::client::Conn,
    namespace: &str,
    what: &str,
    done: impl Fn(http::StatusCode, &[u8]) -> bool,
) -> Result<(), BenchError> {
    let path = format!("/api/v1/namespaces/{namespace}/configmaps?dryRun=All");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = conn
            .call(Method::POST, &path, &[("content-type", "application/json")], configmap_body(PROBE, 8))
            .await?;
        if done(status, &body) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(BenchError::Status {
                what: what.to_string(),
                status: status.as_u16(),
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs a ConfigMap-create or etcd-put load and summarises acknowledged writes.
pub async fn run(
    target: &Target,
    kind: &WriteKind,
    clients: usize,
    limit: Limit,
    prefix: &str,
) -> Result<Summary, BenchError> {
    let prefix = prefix.to_string();
    let make: MakeWrite = match kind.clone() {
        WriteKind::KubeCreate { namespace, data_bytes } => {
            let path = format!("/api/v1/namespaces/{namespace}/configmaps");
            Arc::new(move |s: Slot| Write::Api {
                method: Method::POST,
                path: path.clone(),
                content_type: "application/json",
                body: configmap_body(&format!("{prefix}-{}", s.seq), data_bytes),
            })
        }
        WriteKind::EtcdPut { namespace, value_bytes } => {
            let value = Bytes::from(vec![b'x'; value_bytes]);
            Arc::new(move |s: Slot| Write::EtcdPut {
                key: format!("/registry/configmaps/{namespace}/{prefix}-{}", s.seq),
                value: value.clone(),
            })
        }
    };
    run_load(target, clients, limit, make).await
}

/// Runs `clients` connections, each sending the writes `make` builds one at a time until
/// `limit`, and summarises the acknowledged ones.
pub async fn run_load(
    target: &Target,
    clients: usize,
    limit: Limit,
    make: MakeWrite,
) -> Result<Summary, BenchError> {
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = match limit {
        Limit::Duration(d) => Some(start + d),
        Limit::Count(_) => None,
    };
    let max = match limit {
        Limit::Count(n) => n,
        Limit::Duration(_) => u64::MAX,
    };
    let mut tasks = Vec::with_capacity(clients);
    for client in 0..clients.max(1) {
        let (target, make, next) = (target.clone(), make.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = connect(&target).await?;
            let mut samples = Vec::new();
            let mut errors = 0u64;
            for step in 0.. {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let seq = next.fetch_add(1, Ordering::Relaxed);
                if seq >= max {
                    break;
                }
                let write = make(Slot { client, step, seq });
                let t = Instant::now();
                let ok = match &write {
                    Write::Api { method, path, content_type, body } => conn
                        .expect_ok_as(method.clone(), path, content_type, body.clone(), false)
                        .await
                        .map(|_| ()),
                    Write::EtcdPut { key, value } => etcd::put(&mut conn, key.as_bytes(), value).await,
                };
                match ok {
                    Ok(()) => samples.push(t.elapsed()),
                    Err(BenchError::Http(_) | BenchError::Io(_)) => {
                        errors += 1;
                        conn = connect(&target).await?;
                    }
                    Err(e) if errors < 3 => {
                        eprintln!("write {seq}: {e}");
                        errors += 1;
                    }
                    Err(_) => errors += 1,
                }
            }
            Ok::<_, BenchError>((samples, errors))
        }));
    }
    let mut samples = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (s, e) = t
            .await
            .map_err(|e| BenchError::Decode { what: "write task".into(), detail: e.to_string() })??;
        samples.extend(s);
        errors += e;
    }
    Ok(summarize(samples, errors, start.elapsed()))
}
