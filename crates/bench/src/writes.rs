//! Durable write load: `clients` connections, each sending one write at a time, either creating
//! ConfigMaps through the Kubernetes API or putting keys of the same size into etcd.

use crate::client::{connect, Target};
use crate::stats::{summarize, Summary};
use crate::{etcd, BenchError};
use bytes::Bytes;
use http::Method;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one write is.
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

/// Runs the load and summarises acknowledged writes.
pub async fn run(
    target: &Target,
    kind: &WriteKind,
    clients: usize,
    limit: Limit,
    prefix: &str,
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
    for _ in 0..clients.max(1) {
        let (target, kind, next, prefix) = (target.clone(), kind.clone(), next.clone(), prefix.to_string());
        tasks.push(tokio::spawn(async move {
            let mut conn = connect(&target).await?;
            let mut samples = Vec::new();
            let mut errors = 0u64;
            let etcd_value = match &kind {
                WriteKind::EtcdPut { value_bytes, .. } => vec![b'x'; *value_bytes],
                WriteKind::KubeCreate { .. } => Vec::new(),
            };
            loop {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= max {
                    break;
                }
                let name = format!("{prefix}-{i}");
                let t = Instant::now();
                let ok = match &kind {
                    WriteKind::KubeCreate { namespace, data_bytes } => {
                        let path = format!("/api/v1/namespaces/{namespace}/configmaps");
                        conn.expect_ok(Method::POST, &path, configmap_body(&name, *data_bytes), false).await
                    }
                    WriteKind::EtcdPut { namespace, .. } => {
                        let key = format!("/registry/configmaps/{namespace}/{name}");
                        etcd::put(&mut conn, key.as_bytes(), &etcd_value).await.map(|_| Bytes::new())
                    }
                };
                match ok {
                    Ok(_) => samples.push(t.elapsed()),
                    Err(BenchError::Http(_) | BenchError::Io(_)) => {
                        errors += 1;
                        conn = connect(&target).await?;
                    }
                    Err(e) if errors < 3 => {
                        eprintln!("write {name}: {e}");
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
