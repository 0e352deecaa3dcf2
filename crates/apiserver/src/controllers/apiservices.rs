//! The local part of kube-aggregator's APIService controllers, on every server:
//!
//! - kube's autoregistration (`kube-apiserver-autoregistration`, the autoregister and CRD
//!   registration controllers): one APIService `<version>.<group>` per group-version the
//!   served CustomResourceDefinitions bring (labelled
//!   `kube-aggregator.kubernetes.io/automanaged: "true"`, group priority 1000, version
//!   priority 100, as kube's), created when the CRD is served, put back when deleted, its
//!   spec reset when changed, deleted when no served CRD brings it. The built-in
//!   group-versions' APIServices (`automanaged: onstart`) are created at start only
//!   (bootstrap.rs), as kube syncs them once.
//! - `autoregister-completion`: passes once every built-in APIService exists and is
//!   Available, and stays passed (kube's check).
//! - kube's local availability controller (`apiservice-status-local-available-controller`):
//!   an APIService without `spec.service` is `Available` (`Local`), put back when changed.
//!
//! APIServices with a service stay `Available=False` (`NotProxied`, set when written):
//! kubeward does not proxy to aggregated API servers (no registration, remote availability
//! or OpenAPI aggregation, whose hooks it does not claim).

use super::Controller;
use crate::informer::{name_of, Event, Informer};
use crate::objects::now_rfc3339;
use crate::post_start::Hook;
use crate::state::State;
use registry::ResourceType;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

pub const AUTOMANAGED_LABEL: &str = "kube-aggregator.kubernetes.io/automanaged";
/// How often the served CRDs' group-versions are compared with the APIServices.
const RESYNC: Duration = Duration::from_secs(1);
/// kube's priorities of a CRD's APIService.
const CRD_GROUP_PRIORITY: i64 = 1000;
const CRD_VERSION_PRIORITY: i64 = 100;

struct ApiServices {
    state: State,
    rt: &'static ResourceType,
    known: BTreeMap<String, Value>,
    listing: Option<Vec<String>>,
}

fn local(svc: &Value) -> bool {
    svc.pointer("/spec/service").is_none_or(Value::is_null)
}

fn available(svc: &Value) -> bool {
    svc.pointer("/status/conditions").and_then(Value::as_array).into_iter().flatten().any(|c| {
        c.get("type").and_then(Value::as_str) == Some("Available")
            && c.get("status").and_then(Value::as_str) == Some("True")
    })
}

fn label(svc: &Value) -> Option<&str> {
    svc.pointer("/metadata/labels").and_then(|l| l.get(AUTOMANAGED_LABEL)).and_then(Value::as_str)
}

/// The spec kube registers for a CRD's group-version.
fn crd_spec(group: &str, version: &str) -> Value {
    json!({"group": group, "version": version, "groupPriorityMinimum": CRD_GROUP_PRIORITY,
           "versionPriority": CRD_VERSION_PRIORITY})
}

fn spec_matches(svc: &Value, wanted: &Value) -> bool {
    let spec = svc.get("spec").cloned().unwrap_or_else(|| json!({}));
    ["group", "version", "groupPriorityMinimum", "versionPriority"]
        .iter()
        .all(|k| spec.get(*k) == wanted.get(*k))
        && local(svc)
}

#[async_trait::async_trait]
impl Controller for ApiServices {
    async fn handle(&mut self, event: Event) {
        match event {
            Event::Init => self.listing = Some(Vec::new()),
            Event::InitApply(o) => {
                let name = name_of(&o).1.to_string();
                if let Some(l) = self.listing.as_mut() {
                    l.push(name.clone());
                }
                self.known.insert(name, o);
            }
            Event::InitDone => {
                let listed = self.listing.take().unwrap_or_default();
                self.known.retain(|k, _| listed.contains(k));
                let all: Vec<Value> = self.known.values().cloned().collect();
                for svc in &all {
                    self.keep_local_available(svc).await;
                }
                self.reconcile().await;
            }
            Event::Apply(o) => {
                self.known.insert(name_of(&o).1.to_string(), o.clone());
                self.keep_local_available(&o).await;
                self.reconcile().await;
            }
            Event::Delete(o) => {
                self.known.remove(name_of(&o).1);
                self.reconcile().await;
            }
        }
    }

    fn resync_period(&self) -> Option<Duration> {
        Some(RESYNC)
    }

    async fn resync(&mut self) {
        self.reconcile().await;
    }
}

impl ApiServices {
    /// A local APIService is Available (`Local`), as kube's local availability controller
    /// keeps it.
    async fn keep_local_available(&self, svc: &Value) {
        if !local(svc) || available(svc) {
            return;
        }
        let mut fixed = svc.clone();
        let condition = json!({"type": "Available", "status": "True", "lastTransitionTime": now_rfc3339(),
            "reason": "Local", "message": "Local APIServices are always available"});
        let mut conditions: Vec<Value> = fixed
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .map(|c| c.iter().filter(|c| c.get("type") != Some(&json!("Available"))).cloned().collect())
            .unwrap_or_default();
        conditions.push(condition);
        fixed["status"] = json!({"conditions": conditions});
        let (_, name) = name_of(svc);
        let expected =
            svc.pointer("/metadata/resourceVersion").and_then(Value::as_str).and_then(|r| r.parse().ok());
        if let Err(e) = self.state.objects.update(self.rt, "", name, &fixed, expected).await {
            tracing::debug!(apiservice = name, error = %e.message, "availability not written; its next event retries");
        }
    }

    /// Creates, corrects and deletes the CRDs' APIServices; judges `autoregister-completion`.
    async fn reconcile(&mut self) {
        let wanted: BTreeMap<String, Value> = self
            .state
            .catalog
            .custom()
            .group_versions()
            .into_iter()
            .map(|(g, v)| (format!("{v}.{g}"), crd_spec(g, v)))
            .collect();
        for (name, spec) in &wanted {
            match self.known.get(name) {
                None => self.create(name, spec).await,
                Some(svc) if label(svc) == Some("true") && !spec_matches(svc, spec) => {
                    let mut fixed = svc.clone();
                    fixed["spec"] = spec.clone();
                    let expected = svc
                        .pointer("/metadata/resourceVersion")
                        .and_then(Value::as_str)
                        .and_then(|r| r.parse().ok());
                    if let Err(e) = self.state.objects.update(self.rt, "", name, &fixed, expected).await {
                        tracing::debug!(apiservice = %name, error = %e.message, "spec not reset; retried");
                    }
                }
                // Someone else's (or a built-in one): not ours to manage.
                Some(_) => {}
            }
        }
        let spurious: Vec<Value> = self
            .known
            .iter()
            .filter(|(name, svc)| label(svc) == Some("true") && !wanted.contains_key(*name))
            .map(|(_, svc)| svc.clone())
            .collect();
        for svc in spurious {
            let (_, name) = name_of(&svc);
            let expected =
                svc.pointer("/metadata/resourceVersion").and_then(Value::as_str).and_then(|r| r.parse().ok());
            match self.state.objects.delete(self.rt, "", name, expected).await {
                Ok(_) => tracing::info!(apiservice = name, "APIService of a CRD no longer served deleted"),
                Err(e) => tracing::debug!(apiservice = name, error = %e.message, "not deleted; retried"),
            }
        }
        if !self.state.hooks.is_done(Hook::AutoregisterCompletion) {
            let builtin = registry::bootstrap::local_api_services(self.state.catalog);
            let complete = builtin.iter().all(|b| {
                let name = b.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
                self.known.get(name).is_some_and(available)
            });
            if complete {
                self.state.hooks.finish(Hook::AutoregisterCompletion);
            }
        }
    }

    async fn create(&self, name: &str, spec: &Value) {
        let mut svc = json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
            "metadata": {"name": name, "labels": {AUTOMANAGED_LABEL: "true"}}, "spec": spec});
        crate::rest::field_manager::prepare_internal_create(self.rt, &mut svc, "kube-apiserver");
        match self.state.objects.create(self.rt, "", name, &svc).await {
            Ok(_) => tracing::info!(apiservice = name, "APIService of a served CRD created"),
            Err(e) if e.is_already_exists() => {}
            Err(e) => tracing::debug!(apiservice = name, error = %e.message, "not created; retried"),
        }
    }
}

/// Starts the controller; the APIServices are listed (and the CRDs' registered) before this
/// returns.
pub async fn start(state: &State) -> Result<(), String> {
    let rt = state
        .catalog
        .lookup("apiregistration.k8s.io", "v1", "apiservices")
        .ok_or("the catalog serves no APIServices")?;
    let informer = Informer::new(state.objects.clone(), "apiservices", vec![rt]);
    super::run(informer, ApiServices { state: state.clone(), rt, known: BTreeMap::new(), listing: None })
        .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_availability_and_crd_specs() {
        let svc = json!({"spec": {"group": "example.com", "version": "v1", "groupPriorityMinimum": 1000,
            "versionPriority": 100}, "metadata": {"labels": {AUTOMANAGED_LABEL: "true"}}});
        assert!(local(&svc) && !available(&svc));
        assert_eq!(label(&svc), Some("true"));
        assert!(spec_matches(&svc, &crd_spec("example.com", "v1")));
        assert!(!spec_matches(&svc, &crd_spec("example.com", "v2")));
        let mut remote = svc.clone();
        remote["spec"]["service"] = json!({"namespace": "ns", "name": "api"});
        assert!(!local(&remote) && !spec_matches(&remote, &crd_spec("example.com", "v1")));
        let ok = json!({"status": {"conditions": [{"type": "Available", "status": "True"}]}});
        assert!(available(&ok));
    }
}
