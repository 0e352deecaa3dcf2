//! Feeds the Node authorizer's graph (which pods, volumes and attachments relate to which
//! node) from the store: list, then watch, re-list when the watch ends.

use super::RELIST_BACKOFF;
use crate::rest::decode_kv;
use crate::state::State;
use futures::StreamExt;
use serde_json::Value;
use std::sync::Arc;

const PREFIXES: &[&str] = &["/registry/core/pods/", "/registry/core/nodes/"];

fn kind_of(key: &str) -> &'static str {
    if key.starts_with("/registry/core/pods/") {
        "Pod"
    } else {
        "Node"
    }
}

async fn load(state: &State, node: &authz::NodeAuthorizer, prefix: &str) -> Result<u64, String> {
    let page = state.store.list(prefix, None, 0).await.map_err(|e| e.to_string())?;
    for obj in page.items.iter().filter_map(decode_kv) {
        let _ = node.upsert(&obj);
    }
    Ok(page.revision)
}

pub async fn start(state: State, node: Arc<authz::NodeAuthorizer>) -> Result<(), String> {
    for prefix in PREFIXES {
        let mut rev = load(&state, &node, prefix).await?;
        let state = state.clone();
        let node = node.clone();
        tokio::spawn(async move {
            loop {
                if let Ok(mut stream) = state.store.watch(prefix, rev).await {
                    while let Some(Ok(ev)) = stream.next().await {
                        rev = ev.kv.mod_revision;
                        let Some(obj) = decode_kv(&ev.kv) else { continue };
                        if ev.event_type == storage::EventType::Deleted {
                            let s = |p: &str| {
                                obj.pointer(p).and_then(Value::as_str).unwrap_or_default().to_string()
                            };
                            let _ = node.remove(
                                kind_of(&ev.kv.key),
                                &s("/metadata/namespace"),
                                &s("/metadata/name"),
                            );
                        } else if let Err(e) = node.upsert(&obj) {
                            tracing::debug!(key = %ev.kv.key, error = %e, "node graph ignored an object");
                        }
                    }
                }
                tokio::time::sleep(RELIST_BACKOFF).await;
                if let Ok(r) = load(&state, &node, prefix).await {
                    rev = r;
                }
            }
        });
    }
    Ok(())
}
