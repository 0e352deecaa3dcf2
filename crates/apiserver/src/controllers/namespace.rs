//! Namespace deletion: a namespace marked for deletion (Terminating) is emptied of every
//! namespaced object, then removed (kube's namespace controller and its `kubernetes`
//! finalizer).

use super::RELIST_BACKOFF;
use crate::rest::{decode_kv, prefix};
use crate::state::State;
use futures::StreamExt;
use serde_json::Value;

const PREFIX: &str = "/registry/core/namespaces/";

pub async fn start(state: State) -> Result<(), String> {
    let page = state.store.list(PREFIX, None, 0).await.map_err(|e| e.to_string())?;
    for kv in &page.items {
        if let Some(ns) = decode_kv(kv) {
            finalize_if_terminating(&state, &ns).await;
        }
    }
    tokio::spawn(follow(state, page.revision));
    Ok(())
}

async fn follow(state: State, mut rev: u64) {
    loop {
        if let Ok(mut stream) = state.store.watch(PREFIX, rev).await {
            while let Some(Ok(ev)) = stream.next().await {
                rev = ev.kv.mod_revision;
                if ev.event_type == storage::EventType::Deleted {
                    continue;
                }
                if let Some(ns) = decode_kv(&ev.kv) {
                    finalize_if_terminating(&state, &ns).await;
                }
            }
        }
        tokio::time::sleep(RELIST_BACKOFF).await;
        if let Ok(r) = state.store.current_revision().await {
            // Catch up on namespaces marked while the watch was down.
            if let Ok(page) = state.store.list(PREFIX, None, 0).await {
                for kv in &page.items {
                    if let Some(ns) = decode_kv(kv) {
                        finalize_if_terminating(&state, &ns).await;
                    }
                }
            }
            rev = r;
        }
    }
}

async fn finalize_if_terminating(state: &State, ns: &Value) {
    if ns.pointer("/metadata/deletionTimestamp").is_none() {
        return;
    }
    let Some(name) = ns.pointer("/metadata/name").and_then(Value::as_str) else { return };
    for rt in state.catalog.all().iter().filter(|r| r.namespaced && r.stored) {
        let pfx = prefix(rt, name);
        loop {
            let Ok(page) = state.store.list(&pfx, None, 500).await else { return };
            for kv in &page.items {
                let _ = state.store.delete(&kv.key, None).await;
            }
            if !page.remaining {
                break;
            }
        }
    }
    let key = format!("{PREFIX}{name}");
    if let Err(e) = state.store.delete(&key, None).await {
        tracing::debug!(namespace = name, error = %e, "namespace already gone");
    } else {
        tracing::info!(namespace = name, "namespace deleted");
    }
}
