//! Feeds the Node authorizer's graph (which pods and volumes relate to which node) from
//! an informer over Pods and Nodes; every (re-)list replaces what the graph held of both,
//! so a pod deleted while the watch was down stops granting its node access.

use super::Controller;
use crate::informer::{name_of, Event, Informer, InitBuffer};
use crate::objects::Objects;
use crate::state::State;
use serde_json::Value;
use std::sync::Arc;

const KINDS: &[&str] = &["Pod", "Node"];

struct NodeGraph {
    node: Arc<authz::NodeAuthorizer>,
    init: InitBuffer,
}

fn kind(obj: &Value) -> &str {
    obj.get("kind").and_then(Value::as_str).unwrap_or_default()
}

#[async_trait::async_trait]
impl Controller for NodeGraph {
    async fn handle(&mut self, event: Event) {
        if let Some(listed) = self.init.feed(&event) {
            for k in KINDS {
                let of_kind: Vec<Value> = listed.iter().filter(|o| kind(o) == *k).cloned().collect();
                if let Err(e) = self.node.replace_all(k, &of_kind) {
                    tracing::warn!(kind = k, error = %e, "node graph: re-list not applied");
                }
            }
            return;
        }
        match event {
            Event::Apply(obj) => {
                if let Err(e) = self.node.upsert(&obj) {
                    tracing::debug!(error = %e, "node graph ignored an object");
                }
            }
            Event::Delete(obj) => {
                let (ns, name) = name_of(&obj);
                let _ = self.node.remove(kind(&obj), ns, name);
            }
            _ => {}
        }
    }
}

pub async fn start(state: &State, node: Arc<authz::NodeAuthorizer>) {
    run(state.objects.clone(), state.catalog, node).await
}

async fn run(objects: Objects, catalog: &'static registry::Catalog, node: Arc<authz::NodeAuthorizer>) {
    let mut types: Vec<_> = ["pods", "nodes"].iter().filter_map(|r| catalog.lookup("", "v1", r)).collect();
    // A node may read the ResourceSlices of its own name (kube's graph populator).
    types.extend(catalog.lookup("resource.k8s.io", "v1", "resourceslices"));
    let informer = Informer::new(objects, "node-graph", types);
    super::run(informer, NodeGraph { node, init: InitBuffer::default() }).await;
}

#[cfg(test)]
mod tests;
