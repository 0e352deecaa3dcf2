//! Feeds the RBAC authorizer from an informer over the four RBAC kinds (every re-list
//! replaces the whole policy), and keeps aggregated ClusterRoles' rules up to date (kube's
//! clusterrole-aggregation controller).

use super::Controller;
use crate::informer::{name_of, Event, Informer, InitBuffer};
use crate::objects::{now_rfc3339, Objects};
use crate::state::State;
use registry::ResourceType;
use serde_json::Value;
use std::sync::Arc;

const GROUP: &str = "rbac.authorization.k8s.io";
const RESOURCES: &[&str] = &["clusterroles", "clusterrolebindings", "roles", "rolebindings"];

struct Rbac {
    objects: Objects,
    cluster_roles: &'static ResourceType,
    rbac: Arc<authz::RbacAuthorizer>,
    init: InitBuffer,
}

fn is_cluster_role(obj: &Value) -> bool {
    obj.get("kind").and_then(Value::as_str) == Some("ClusterRole")
}

#[async_trait::async_trait]
impl Controller for Rbac {
    async fn handle(&mut self, event: Event) {
        if let Some(listed) = self.init.feed(&event) {
            if let Err(e) = self.rbac.replace_all(listed.iter()) {
                tracing::warn!(error = %e, "RBAC policy: re-list not applied");
            }
            self.reconcile_aggregation().await;
            return;
        }
        match event {
            Event::Apply(obj) => {
                if let Err(e) = self.rbac.upsert(&obj) {
                    tracing::warn!(error = %e, "RBAC object ignored");
                }
                if is_cluster_role(&obj) {
                    self.reconcile_aggregation().await;
                }
            }
            Event::Delete(obj) => {
                let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
                let (ns, name) = name_of(&obj);
                let _ = self.rbac.remove(kind, ns, name);
                if is_cluster_role(&obj) {
                    self.reconcile_aggregation().await;
                }
            }
            _ => {}
        }
    }
}

impl Rbac {
    /// Writes the aggregated rules of ClusterRoles with an aggregationRule that changed.
    async fn reconcile_aggregation(&self) {
        let roles = match self.objects.list_all(self.cluster_roles, "").await {
            Ok((roles, _)) => roles,
            Err(e) => {
                tracing::warn!(error = %e.message, "aggregation: cannot list ClusterRoles");
                return;
            }
        };
        for updated in authz::aggregation::aggregate(&roles) {
            let Some(name) = updated.pointer("/metadata/name").and_then(Value::as_str) else { continue };
            let expected = updated
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .and_then(|r| r.parse::<u64>().ok());
            // kube's clusterrole aggregation controller applies the rules it computed, forcing.
            let applied = serde_json::json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": name},
                "rules": updated.get("rules").cloned().unwrap_or_else(|| serde_json::json!([])),
            });
            let live =
                roles.iter().find(|r| r.pointer("/metadata/name").and_then(Value::as_str) == Some(name));
            let mut obj = live
                .and_then(|live| {
                    crate::rest::field_manager::record_internal_apply(
                        self.cluster_roles,
                        live,
                        &applied,
                        "clusterrole-aggregation-controller",
                        "",
                    )
                })
                .unwrap_or_else(|| updated.clone());
            if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                m.remove("resourceVersion");
                m.entry("creationTimestamp").or_insert_with(|| Value::String(now_rfc3339()));
            }
            if let Err(e) = self.objects.update(self.cluster_roles, "", name, &obj, expected).await {
                tracing::debug!(role = name, error = %e.message, "aggregation update raced; will retry on next change");
            }
        }
    }
}

/// Loads the policy (the server starts with it), then follows changes.
pub async fn start(state: &State, rbac: Arc<authz::RbacAuthorizer>) -> Result<(), String> {
    let types: Vec<_> = RESOURCES.iter().filter_map(|r| state.catalog.lookup(GROUP, "v1", r)).collect();
    let cluster_roles = types.first().copied().ok_or("the catalog serves no ClusterRoles")?;
    let informer = Informer::new(state.objects.clone(), "rbac", types);
    let controller =
        Rbac { objects: state.objects.clone(), cluster_roles, rbac, init: InitBuffer::default() };
    super::run(informer, controller).await;
    Ok(())
}
