//! OIDC revocations (`kubeward oidc revoke`): the ConfigMap
//! `kube-system/kubeward-oidc-revocations` maps users to a time; tokens of that user issued
//! at or before it are refused. Every server follows the ConfigMap, so a revocation takes
//! effect at once everywhere, unexpired tokens included.

use super::RELIST_BACKOFF;
use crate::rest::decode_kv;
use crate::state::State;
use authn::oidc::{RevocationTable, REVOCATION_CONFIGMAP, REVOCATION_NAMESPACE};
use futures::StreamExt;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

fn key() -> String {
    format!("/registry/core/configmaps/{REVOCATION_NAMESPACE}/{REVOCATION_CONFIGMAP}")
}

fn data_of(obj: Option<&Value>) -> BTreeMap<String, String> {
    obj.and_then(|o| o.get("data"))
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
        .collect()
}

async fn load(state: &State, table: &RevocationTable) -> Result<u64, String> {
    let rev = state.store.current_revision().await.map_err(|e| e.to_string())?;
    let obj = state.store.get(&key()).await.map_err(|e| e.to_string())?;
    table.update_from_configmap_data(&data_of(obj.as_ref().and_then(decode_kv).as_ref()));
    Ok(rev)
}

pub async fn start(state: State, table: Arc<RevocationTable>) -> Result<(), String> {
    let mut rev = load(&state, &table).await?;
    tokio::spawn(async move {
        loop {
            if let Ok(mut stream) = state.store.watch(&key(), rev).await {
                while let Some(Ok(ev)) = stream.next().await {
                    rev = ev.kv.mod_revision;
                    if ev.kv.key != key() {
                        continue;
                    }
                    let data = match ev.event_type {
                        storage::EventType::Deleted => BTreeMap::new(),
                        _ => data_of(decode_kv(&ev.kv).as_ref()),
                    };
                    table.update_from_configmap_data(&data);
                    tracing::info!(users = data.len(), "OIDC revocations updated");
                }
            }
            tokio::time::sleep(RELIST_BACKOFF).await;
            if let Ok(r) = load(&state, &table).await {
                rev = r;
            }
        }
    });
    Ok(())
}
