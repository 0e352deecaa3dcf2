//! Per-namespace defaults, as kube-controller-manager's serviceaccount controller and
//! root-ca-cert-publisher keep them: a `default` ServiceAccount and a `kube-root-ca.crt`
//! ConfigMap (the cluster CA) in every active namespace, recreated at once when deleted.

use super::Controller;
use crate::informer::{name_of, Event, Informer};
use crate::objects::{now_rfc3339, Objects};
use crate::state::State;
use registry::{strategy, ResourceType};
use serde_json::{json, Value};
use std::time::Duration;

const RESYNC: Duration = Duration::from_secs(30);
pub const ROOT_CA_CONFIGMAP: &str = "kube-root-ca.crt";

/// What every namespace gets.
#[derive(Clone)]
struct Defaults {
    objects: Objects,
    namespaces: &'static ResourceType,
    service_accounts: &'static ResourceType,
    config_maps: &'static ResourceType,
    root_ca_pem: Option<String>,
}

impl Defaults {
    async fn create_if_missing(&self, rt: &ResourceType, ns: &str, mut obj: Value) {
        let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string();
        if !matches!(self.objects.find(rt, ns, &name).await, Ok(None)) {
            return;
        }
        strategy::prepare_for_create(rt, &mut obj, &now_rfc3339());
        crate::rest::field_manager::record_internal(rt, &mut obj, "kube-controller-manager");
        obj["metadata"]["namespace"] = json!(ns);
        if let Err(e) = self.objects.create(rt, ns, &name, &obj).await {
            tracing::debug!(namespace = ns, name = %name, error = %e.message, "default object not created");
        }
    }

    async fn ensure(&self, ns: &Value) {
        if ns.pointer("/metadata/deletionTimestamp").is_some() {
            return;
        }
        let Some(name) = ns.pointer("/metadata/name").and_then(Value::as_str) else { return };
        let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}});
        self.create_if_missing(self.service_accounts, name, sa).await;
        if let Some(ca) = &self.root_ca_pem {
            let cm = json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": ROOT_CA_CONFIGMAP, "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."}},
                "data": {"ca.crt": ca},
            });
            self.create_if_missing(self.config_maps, name, cm).await;
        }
    }

    async fn ensure_all(&self) {
        match self.objects.list_all(self.namespaces, "").await {
            Ok((namespaces, _)) => {
                for ns in &namespaces {
                    self.ensure(ns).await;
                }
            }
            Err(e) => tracing::debug!(error = %e.message, "namespace defaults: resync failed"),
        }
    }
}

/// Follows namespaces: each active one gets its defaults; a resync puts back what a
/// failed create left out.
struct NamespaceDefaults(Defaults);

#[async_trait::async_trait]
impl Controller for NamespaceDefaults {
    async fn handle(&mut self, event: Event) {
        if let Event::Apply(ns) | Event::InitApply(ns) = event {
            self.0.ensure(&ns).await;
        }
    }

    fn resync_period(&self) -> Option<Duration> {
        Some(RESYNC)
    }

    async fn resync(&mut self) {
        self.0.ensure_all().await;
    }
}

/// Follows ServiceAccounts and ConfigMaps: a deleted default is put back at once.
struct RecreateDeleted(Defaults);

#[async_trait::async_trait]
impl Controller for RecreateDeleted {
    async fn handle(&mut self, event: Event) {
        let Event::Delete(obj) = event else { return };
        let (ns, name) = name_of(&obj);
        if name != "default" && name != ROOT_CA_CONFIGMAP {
            return;
        }
        if let Ok(Some(ns_obj)) = self.0.objects.find(self.0.namespaces, "", ns).await {
            self.0.ensure(&ns_obj).await;
        }
    }
}

pub async fn start(state: &State, root_ca_pem: Option<String>) -> Result<(), String> {
    let lookup = |r: &str| state.catalog.lookup("", "v1", r).ok_or(format!("the catalog serves no {r}"));
    let defaults = Defaults {
        objects: state.objects.clone(),
        namespaces: lookup("namespaces")?,
        service_accounts: lookup("serviceaccounts")?,
        config_maps: lookup("configmaps")?,
        root_ca_pem,
    };
    let namespaces = Informer::new(state.objects.clone(), "namespace-defaults", vec![defaults.namespaces]);
    super::run(namespaces, NamespaceDefaults(defaults.clone())).await;
    let deleted = Informer::new(
        state.objects.clone(),
        "namespace-defaults-recreate",
        vec![defaults.service_accounts, defaults.config_maps],
    )
    .changes_only();
    super::run(deleted, RecreateDeleted(defaults)).await;
    Ok(())
}
