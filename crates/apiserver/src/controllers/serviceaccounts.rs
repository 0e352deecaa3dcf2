//! Per-namespace defaults, as kube-controller-manager's serviceaccount controller and
//! root-ca-cert-publisher keep them: a `default` ServiceAccount and a `kube-root-ca.crt`
//! ConfigMap (the cluster CA) in every active namespace, recreated when deleted.

use super::RELIST_BACKOFF;
use crate::rest::{decode_kv, key, now_rfc3339};
use crate::state::State;
use futures::StreamExt;
use registry::strategy;
use serde_json::{json, Value};
use std::time::Duration;

const NAMESPACES: &str = "/registry/core/namespaces/";
const RESYNC: Duration = Duration::from_secs(30);
pub const ROOT_CA_CONFIGMAP: &str = "kube-root-ca.crt";

pub async fn start(state: State, root_ca_pem: Option<String>) -> Result<(), String> {
    let rev = sync_all(&state, root_ca_pem.as_deref()).await?;
    for prefix in ["/registry/core/serviceaccounts/", "/registry/core/configmaps/"] {
        tokio::spawn(recreate_deleted(state.clone(), root_ca_pem.clone(), prefix, rev));
    }
    tokio::spawn(follow(state, root_ca_pem, rev));
    Ok(())
}

/// Puts back a deleted `default` ServiceAccount or `kube-root-ca.crt` at once.
async fn recreate_deleted(state: State, ca: Option<String>, prefix: &'static str, mut rev: u64) {
    loop {
        if let Ok(mut stream) = state.store.watch(prefix, rev).await {
            while let Some(Ok(ev)) = stream.next().await {
                rev = ev.kv.mod_revision;
                if ev.event_type != storage::EventType::Deleted {
                    continue;
                }
                let rest = ev.kv.key.strip_prefix(prefix).unwrap_or_default();
                let Some((ns, name)) = rest.split_once('/') else { continue };
                if name != "default" && name != ROOT_CA_CONFIGMAP {
                    continue;
                }
                let ns_key = format!("{NAMESPACES}{ns}");
                if let Some(ns_obj) =
                    state.store.get(&ns_key).await.ok().flatten().as_ref().and_then(decode_kv)
                {
                    ensure(&state, &ns_obj, ca.as_deref()).await;
                }
            }
        }
        tokio::time::sleep(RELIST_BACKOFF).await;
        if let Ok(r) = state.store.current_revision().await {
            rev = r;
        }
    }
}

async fn sync_all(state: &State, ca: Option<&str>) -> Result<u64, String> {
    let page = state.store.list(NAMESPACES, None, 0).await.map_err(|e| e.to_string())?;
    for kv in &page.items {
        if let Some(ns) = decode_kv(kv) {
            ensure(state, &ns, ca).await;
        }
    }
    Ok(page.revision)
}

async fn follow(state: State, ca: Option<String>, mut rev: u64) {
    let mut resync = tokio::time::interval(RESYNC);
    resync.tick().await;
    loop {
        let Ok(mut stream) = state.store.watch(NAMESPACES, rev).await else {
            tokio::time::sleep(RELIST_BACKOFF).await;
            if let Ok(r) = sync_all(&state, ca.as_deref()).await {
                rev = r;
            }
            continue;
        };
        loop {
            tokio::select! {
                ev = stream.next() => {
                    let Some(Ok(ev)) = ev else { break };
                    rev = ev.kv.mod_revision;
                    if ev.event_type != storage::EventType::Deleted {
                        if let Some(ns) = decode_kv(&ev.kv) {
                            ensure(&state, &ns, ca.as_deref()).await;
                        }
                    }
                }
                _ = resync.tick() => {
                    // Recreate defaults that were deleted since.
                    let _ = sync_all(&state, ca.as_deref()).await;
                }
            }
        }
        tokio::time::sleep(RELIST_BACKOFF).await;
        if let Ok(r) = sync_all(&state, ca.as_deref()).await {
            rev = r;
        }
    }
}

async fn create_if_missing(state: &State, group: &str, plural: &str, ns: &str, mut obj: Value) {
    let Some(rt) = state.catalog.lookup(group, "v1", plural) else { return };
    let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string();
    let k = key(rt, ns, &name);
    if matches!(state.store.get(&k).await, Ok(Some(_)) | Err(_)) {
        return;
    }
    strategy::prepare_for_create(rt, &mut obj, &now_rfc3339());
    obj["metadata"]["namespace"] = json!(ns);
    let bytes = crate::rest::encode_for_store(&obj);
    if let Err(e) = state.store.create(&k, bytes).await {
        tracing::debug!(namespace = ns, name = %name, error = %e, "default object not created");
    }
}

async fn ensure(state: &State, ns: &Value, ca: Option<&str>) {
    if ns.pointer("/metadata/deletionTimestamp").is_some() {
        return;
    }
    let Some(name) = ns.pointer("/metadata/name").and_then(Value::as_str) else { return };
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}});
    create_if_missing(state, "", "serviceaccounts", name, sa).await;
    if let Some(ca) = ca {
        let cm = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": ROOT_CA_CONFIGMAP, "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."}},
            "data": {"ca.crt": ca},
        });
        create_if_missing(state, "", "configmaps", name, cm).await;
    }
}
