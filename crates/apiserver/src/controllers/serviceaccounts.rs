//! Per-namespace defaults, as kube-controller-manager's serviceaccount controller and
//! root-ca-cert-publisher keep them: a `default` ServiceAccount and a `kube-root-ca.crt`
//! ConfigMap (the cluster CA) in every active namespace, recreated at once when deleted.

use super::Controller;
use crate::informer::{name_of, Event, Informer};
use crate::objects::Objects;
use crate::state::State;
use registry::ResourceType;
use serde_json::{json, Value};
use std::time::Duration;

const RESYNC: Duration = Duration::from_secs(30);
pub const ROOT_CA_CONFIGMAP: &str = "kube-root-ca.crt";
const DESCRIPTION_ANNOTATION: &str = "kubernetes.io/description";
const ROOT_CA_DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

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
        crate::rest::field_manager::prepare_internal_create(rt, &mut obj, "kube-controller-manager");
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
                "metadata": {"name": ROOT_CA_CONFIGMAP, "annotations": {DESCRIPTION_ANNOTATION: ROOT_CA_DESCRIPTION}},
                "data": {"ca.crt": ca},
            });
            self.create_if_missing(self.config_maps, name, cm).await;
        }
    }

    /// A `kube-root-ca.crt` someone changed gets the cluster CA (and its description) back, as
    /// kube's root-ca-cert-publisher reconciles it.
    async fn reconcile_root_ca(&self, cm: &Value) {
        let Some(ca) = &self.root_ca_pem else { return };
        let data_ok = cm.get("data") == Some(&json!({"ca.crt": ca}));
        let described = cm
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(DESCRIPTION_ANNOTATION))
            .and_then(Value::as_str)
            .is_some_and(|d| !d.is_empty());
        if data_ok && described {
            return;
        }
        let (ns, name) = name_of(cm);
        let mut fixed = cm.clone();
        fixed["data"] = json!({"ca.crt": ca});
        if !fixed.pointer("/metadata/annotations").is_some_and(Value::is_object) {
            fixed["metadata"]["annotations"] = json!({});
        }
        fixed["metadata"]["annotations"][DESCRIPTION_ANNOTATION] = json!(ROOT_CA_DESCRIPTION);
        let expected =
            cm.pointer("/metadata/resourceVersion").and_then(Value::as_str).and_then(|r| r.parse().ok());
        if let Err(e) = self.objects.update(self.config_maps, ns, name, &fixed, expected).await {
            tracing::debug!(namespace = ns, error = %e.message, "kube-root-ca.crt not reconciled; its next event retries");
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

/// Follows ServiceAccounts and ConfigMaps: a deleted default is put back at once, a changed
/// `kube-root-ca.crt` reconciled.
struct RecreateDeleted(Defaults);

#[async_trait::async_trait]
impl Controller for RecreateDeleted {
    async fn handle(&mut self, event: Event) {
        let obj = match event {
            Event::Delete(obj) => obj,
            Event::Apply(obj) => {
                let is_root_ca = obj.get("kind").and_then(Value::as_str) == Some("ConfigMap")
                    && name_of(&obj).1 == ROOT_CA_CONFIGMAP;
                if is_root_ca {
                    self.0.reconcile_root_ca(&obj).await;
                }
                return;
            }
            _ => return,
        };
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
    .changes_only()
    .named(&["default", ROOT_CA_CONFIGMAP]);
    super::run(deleted, RecreateDeleted(defaults)).await;
    Ok(())
}
