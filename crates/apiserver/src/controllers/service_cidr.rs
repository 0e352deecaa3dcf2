//! The Service address objects of networking.k8s.io/v1 as kube-apiserver keeps them since
//! 1.33 (MultiCIDRServiceAllocator):
//!
//! - the default ServiceCIDR `kubernetes`, holding `--service-cluster-ip-range`, with its
//!   `Ready` condition (kube's `kubernetes-service-cidr-controller`);
//! - one IPAddress per Service cluster IP, named by the address, labelled as kube's
//!   allocator labels them and pointing at its Service; an IPAddress of the allocator whose
//!   Service is gone or no longer has that address is deleted (kube's IPAddress repair
//!   loop). The allocator (rest/kinds/service.rs) treats every IPAddress as taken.
//!
//! kubeward writes the IPAddress after the Service (within milliseconds, on the Service's
//! event) where kube writes it just before; a Service is never refused for it.

use super::Controller;
use crate::informer::{name_of, Event, Informer};
use crate::objects::{now_rfc3339, Objects};
use crate::state::State;
use registry::ResourceType;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

pub const DEFAULT_NAME: &str = "kubernetes";
pub const MANAGED_BY_LABEL: &str = "ipaddress.kubernetes.io/managed-by";
pub const FAMILY_LABEL: &str = "ipaddress.kubernetes.io/ip-family";
pub const ALLOCATOR: &str = "ipallocator.k8s.io";
const RESYNC: Duration = Duration::from_secs(60);

struct ServiceAddresses {
    objects: Objects,
    services: &'static ResourceType,
    addresses: &'static ResourceType,
    cidrs: &'static ResourceType,
    range: String,
}

/// The cluster IPs a Service holds (none for a headless or ExternalName Service).
fn cluster_ips(service: &Value) -> Vec<String> {
    let mut ips: Vec<String> = service
        .pointer("/spec/clusterIPs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    if ips.is_empty() {
        ips.extend(service.pointer("/spec/clusterIP").and_then(Value::as_str).map(str::to_string));
    }
    ips.retain(|ip| ip.parse::<std::net::IpAddr>().is_ok());
    ips
}

/// The IPAddress kube's allocator writes for `ip` of the Service `namespace/name`.
fn address_object(ip: &str, namespace: &str, name: &str) -> Value {
    let family = if ip.contains(':') { "IPv6" } else { "IPv4" };
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IPAddress",
        "metadata": {"name": ip, "labels": {FAMILY_LABEL: family, MANAGED_BY_LABEL: ALLOCATOR}},
        "spec": {"parentRef": {"resource": "services", "namespace": namespace, "name": name}},
    })
}

fn managed_by_allocator(address: &Value) -> bool {
    address.pointer("/metadata/labels").and_then(|l| l.get(MANAGED_BY_LABEL)).and_then(Value::as_str)
        == Some(ALLOCATOR)
}

#[async_trait::async_trait]
impl Controller for ServiceAddresses {
    async fn handle(&mut self, event: Event) {
        match event {
            Event::InitDone => self.resync().await,
            Event::Apply(o) if o.get("kind").and_then(Value::as_str) == Some("Service") => {
                let (ns, name) = name_of(&o);
                for ip in cluster_ips(&o) {
                    self.ensure_address(&ip, ns, name).await;
                }
            }
            Event::Delete(o) if o.get("kind").and_then(Value::as_str) == Some("Service") => {
                let (ns, name) = name_of(&o);
                for ip in cluster_ips(&o) {
                    self.release(&ip, ns, name).await;
                }
            }
            Event::Delete(o)
                if o.get("kind").and_then(Value::as_str) == Some("ServiceCIDR")
                    && name_of(&o).1 == DEFAULT_NAME =>
            {
                self.ensure_default_cidr().await
            }
            _ => {}
        }
    }

    fn resync_period(&self) -> Option<Duration> {
        Some(RESYNC)
    }

    async fn resync(&mut self) {
        self.ensure_default_cidr().await;
        self.repair().await;
    }
}

impl ServiceAddresses {
    async fn ensure_default_cidr(&self) {
        let rt = self.cidrs;
        match self.objects.find(rt, "", DEFAULT_NAME).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                // kube-apiserver creates it, then its kubernetes-service-cidr-controller applies
                // the Ready condition to the status.
                let mut cidr = json!({
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "ServiceCIDR",
                    "metadata": {"name": DEFAULT_NAME},
                    "spec": {"cidrs": [self.range]},
                });
                crate::rest::field_manager::prepare_internal_create(rt, &mut cidr, "kube-apiserver");
                match self.objects.create(rt, "", DEFAULT_NAME, &cidr).await {
                    Ok(created) => {
                        tracing::info!(range = %self.range, "created the default ServiceCIDR");
                        self.set_ready(&created).await;
                    }
                    Err(e) => tracing::debug!(error = %e.message, "default ServiceCIDR not created"),
                }
            }
            Err(e) => tracing::debug!(error = %e.message, "default ServiceCIDR not readable"),
        }
    }

    /// The default ServiceCIDR's Ready condition, applied as kube's controller applies it.
    async fn set_ready(&self, cidr: &Value) {
        let rt = self.cidrs;
        let condition = json!({"type": "Ready", "status": "True", "lastTransitionTime": now_rfc3339(),
            "message": "Kubernetes default Service CIDR is ready"});
        let applied = json!({"apiVersion": "networking.k8s.io/v1", "kind": "ServiceCIDR",
            "metadata": {"name": DEFAULT_NAME}, "status": {"conditions": [condition]}});
        let manager = "kubernetes-service-cidr-controller";
        let Some(mut updated) =
            crate::rest::field_manager::record_internal_apply(rt, cidr, &applied, manager, "status")
        else {
            return;
        };
        // The condition's reason, which kube's controller leaves unset, is stored as Go
        // writes a string it did not set: empty (and owned by no manager).
        let conditions = updated.pointer_mut("/status/conditions").and_then(Value::as_array_mut);
        for c in conditions.into_iter().flatten().filter_map(Value::as_object_mut) {
            c.entry("reason").or_insert_with(|| json!(""));
        }
        let expected =
            cidr.pointer("/metadata/resourceVersion").and_then(Value::as_str).and_then(|r| r.parse().ok());
        if let Some(m) = updated.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("resourceVersion");
        }
        if let Err(e) = self.objects.update(rt, "", DEFAULT_NAME, &updated, expected).await {
            tracing::debug!(error = %e.message, "default ServiceCIDR status not written");
        }
    }

    async fn ensure_address(&self, ip: &str, namespace: &str, name: &str) {
        match self.objects.find(self.addresses, "", ip).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                let mut address = address_object(ip, namespace, name);
                // kube's allocator writes it as kube-apiserver.
                crate::rest::field_manager::prepare_internal_create(
                    self.addresses,
                    &mut address,
                    "kube-apiserver",
                );
                if let Err(e) = self.objects.create(self.addresses, "", ip, &address).await {
                    tracing::debug!(ip, error = %e.message, "IPAddress not created");
                }
            }
            Err(e) => tracing::debug!(ip, error = %e.message, "IPAddress not readable"),
        }
    }

    /// Deletes the allocator's IPAddress `ip` if it still points at `namespace/name`.
    async fn release(&self, ip: &str, namespace: &str, name: &str) {
        let Ok(Some(address)) = self.objects.find(self.addresses, "", ip).await else { return };
        let parent = address.pointer("/spec/parentRef");
        let points_here = parent.and_then(|p| p.get("namespace")).and_then(Value::as_str) == Some(namespace)
            && parent.and_then(|p| p.get("name")).and_then(Value::as_str) == Some(name);
        if managed_by_allocator(&address) && points_here {
            self.delete(&address).await;
        }
    }

    async fn delete(&self, address: &Value) {
        let name = name_of(address).1;
        let expected =
            address.pointer("/metadata/resourceVersion").and_then(Value::as_str).and_then(|r| r.parse().ok());
        if let Err(e) = self.objects.delete(self.addresses, "", name, expected).await {
            tracing::debug!(ip = name, error = %e.message, "IPAddress not deleted");
        }
    }

    /// Every Service's addresses exist; the allocator's addresses of no Service go.
    async fn repair(&self) {
        let Ok((services, _)) = self.objects.list_all(self.services, "").await else { return };
        let Ok((addresses, _)) = self.objects.list_all(self.addresses, "").await else { return };
        let mut wanted: BTreeMap<String, (String, String)> = BTreeMap::new();
        for s in &services {
            let (ns, name) = name_of(s);
            for ip in cluster_ips(s) {
                wanted.insert(ip, (ns.to_string(), name.to_string()));
            }
        }
        let existing: BTreeSet<&str> = addresses.iter().map(|a| name_of(a).1).collect();
        for (ip, (ns, name)) in &wanted {
            if !existing.contains(ip.as_str()) {
                self.ensure_address(ip, ns, name).await;
            }
        }
        for a in addresses.iter().filter(|a| managed_by_allocator(a)) {
            if !wanted.contains_key(name_of(a).1) {
                self.delete(a).await;
            }
        }
    }
}

/// Starts the controller when the catalog serves Services, IPAddresses and ServiceCIDRs.
pub async fn start(state: &State) {
    let lookup = |g: &str, r: &str| state.catalog.lookup(g, "v1", r);
    let (Some(services), Some(addresses), Some(cidrs)) = (
        lookup("", "services"),
        lookup("networking.k8s.io", "ipaddresses"),
        lookup("networking.k8s.io", "servicecidrs"),
    ) else {
        return;
    };
    let informer = Informer::new(state.objects.clone(), "service-addresses", vec![services, cidrs]);
    let controller = ServiceAddresses {
        objects: state.objects.clone(),
        services,
        addresses,
        cidrs,
        range: state.service_ips.to_string(),
    };
    super::run(informer, controller).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_hold_their_cluster_ips() {
        let svc = json!({"spec": {"clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"]}});
        assert_eq!(cluster_ips(&svc), ["10.96.0.10"]);
        assert!(cluster_ips(&json!({"spec": {"clusterIP": "None", "clusterIPs": ["None"]}})).is_empty());
        assert!(cluster_ips(&json!({"spec": {"type": "ExternalName"}})).is_empty());
        let a = address_object("10.96.0.10", "default", "dns");
        assert!(managed_by_allocator(&a));
        assert_eq!(a["metadata"]["labels"][FAMILY_LABEL], "IPv4");
        assert_eq!(a["spec"]["parentRef"]["resource"], "services");
    }
}
