//! Feeds the RBAC authorizer from the four RBAC kinds in the store (list, then watch;
//! re-list when the watch ends), and keeps aggregated ClusterRoles' rules up to date.

use super::RELIST_BACKOFF;
use crate::rest::{decode_kv, now_rfc3339};
use crate::state::State;
use futures::StreamExt;
use serde_json::Value;
use std::sync::Arc;
use storage::EventType;

const PREFIX: &str = "/registry/rbac.authorization.k8s.io/";
const CLUSTER_ROLES: &str = "/registry/rbac.authorization.k8s.io/clusterroles/";

fn kind_of(key: &str) -> &'static str {
    let rest = key.strip_prefix(PREFIX).unwrap_or_default();
    match rest.split('/').next() {
        Some("clusterroles") => "ClusterRole",
        Some("clusterrolebindings") => "ClusterRoleBinding",
        Some("roles") => "Role",
        _ => "RoleBinding",
    }
}

async fn list_all(state: &State) -> Result<(Vec<Value>, u64), String> {
    let page = state.store.list(PREFIX, None, 0).await.map_err(|e| e.to_string())?;
    Ok((page.items.iter().filter_map(decode_kv).collect(), page.revision))
}

/// Loads the policy once (so the server starts with it), then follows changes.
pub async fn start(state: State, rbac: Arc<authz::RbacAuthorizer>) -> Result<(), String> {
    let (objs, rev) = list_all(&state).await?;
    reconcile_aggregation(&state, &objs).await;
    rbac.replace_all(objs.iter()).map_err(|e| e.to_string())?;
    tokio::spawn(follow(state, rbac, rev));
    Ok(())
}

async fn follow(state: State, rbac: Arc<authz::RbacAuthorizer>, mut rev: u64) {
    loop {
        match state.store.watch(PREFIX, rev).await {
            Ok(mut stream) => {
                while let Some(ev) = stream.next().await {
                    let Ok(ev) = ev else { break };
                    rev = ev.kv.mod_revision;
                    let kind = kind_of(&ev.kv.key);
                    match ev.event_type {
                        EventType::Deleted => {
                            if let Some(obj) = decode_kv(&ev.kv) {
                                let ns = obj
                                    .pointer("/metadata/namespace")
                                    .and_then(Value::as_str)
                                    .unwrap_or_default();
                                let name =
                                    obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
                                let _ = rbac.remove(kind, ns, name);
                            }
                        }
                        _ => {
                            if let Some(obj) = decode_kv(&ev.kv) {
                                if let Err(e) = rbac.upsert(&obj) {
                                    tracing::warn!(key = %ev.kv.key, error = %e, "RBAC object ignored");
                                }
                            }
                        }
                    }
                    if ev.kv.key.starts_with(CLUSTER_ROLES) {
                        if let Ok((objs, _)) = list_all(&state).await {
                            reconcile_aggregation(&state, &objs).await;
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "RBAC watch failed; re-listing"),
        }
        tokio::time::sleep(RELIST_BACKOFF).await;
        match list_all(&state).await {
            Ok((objs, r)) => {
                let _ = rbac.replace_all(objs.iter());
                rev = r;
            }
            Err(e) => tracing::warn!(error = %e, "RBAC re-list failed"),
        }
    }
}

/// Writes the aggregated rules of ClusterRoles with an aggregationRule that changed
/// (kube's clusterrole-aggregation controller).
async fn reconcile_aggregation(state: &State, objs: &[Value]) {
    let roles: Vec<Value> = objs
        .iter()
        .filter(|o| o.get("kind").and_then(Value::as_str) == Some("ClusterRole"))
        .cloned()
        .collect();
    for updated in authz::aggregation::aggregate(&roles) {
        let Some(name) = updated.pointer("/metadata/name").and_then(Value::as_str) else { continue };
        let key = format!("{CLUSTER_ROLES}{name}");
        let expected = updated
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .and_then(|r| r.parse::<u64>().ok());
        let mut obj = updated.clone();
        if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("resourceVersion");
            m.entry("creationTimestamp").or_insert_with(|| Value::String(now_rfc3339()));
        }
        let bytes = crate::rest::encode_for_store(&obj);
        if let Err(e) = state.store.update(&key, bytes, expected).await {
            tracing::debug!(role = name, error = %e, "aggregation update raced; will retry on next change");
        }
    }
}
