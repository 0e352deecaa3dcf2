//! The `kubernetes` Service in `default`, as kube's bootstrap controller and lease endpoint
//! reconciler keep it: ClusterIP the first address of `--service-cluster-ip-range`, port
//! 443 to the secure port, with its Endpoints and EndpointSlice naming this server's
//! advertise address. Put back when deleted, corrected when changed, checked every 10 s.

use super::Controller;
use crate::informer::{name_of, Event, Informer};
use crate::objects::{now_rfc3339, Objects};
use crate::state::State;
use registry::{strategy, ResourceType};
use serde_json::{json, Value};
use std::net::IpAddr;
use std::time::Duration;

pub const NAME: &str = "kubernetes";
const NAMESPACE: &str = "default";
const RESYNC: Duration = Duration::from_secs(10);

/// What the three objects must say.
struct Wanted {
    cluster_ip: String,
    address: IpAddr,
    port: u16,
}

struct KubernetesService {
    objects: Objects,
    services: &'static ResourceType,
    endpoints: &'static ResourceType,
    /// Not every catalog serves discovery.k8s.io.
    endpoint_slices: Option<&'static ResourceType>,
    wanted: Wanted,
}

#[async_trait::async_trait]
impl Controller for KubernetesService {
    async fn handle(&mut self, event: Event) {
        match event {
            Event::InitDone => self.reconcile().await,
            Event::Apply(o) | Event::Delete(o) if name_of(&o).1 == NAME => self.reconcile().await,
            _ => {}
        }
    }

    fn resync_period(&self) -> Option<Duration> {
        Some(RESYNC)
    }

    async fn resync(&mut self) {
        self.reconcile().await;
    }
}

impl KubernetesService {
    fn service(&self) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": NAME, "namespace": NAMESPACE,
                "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {
                "type": "ClusterIP",
                "clusterIP": self.wanted.cluster_ip,
                "clusterIPs": [self.wanted.cluster_ip],
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack",
                "internalTrafficPolicy": "Cluster",
                "sessionAffinity": "None",
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": self.wanted.port}],
            },
            "status": {"loadBalancer": {}},
        })
    }

    fn endpoints(&self) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": NAME, "namespace": NAMESPACE,
                "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
            "subsets": [{
                "addresses": [{"ip": self.wanted.address.to_string()}],
                "ports": [{"name": "https", "port": self.wanted.port, "protocol": "TCP"}],
            }],
        })
    }

    fn endpoint_slice(&self) -> Value {
        let family = if self.wanted.address.is_ipv4() { "IPv4" } else { "IPv6" };
        json!({
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {"name": NAME, "namespace": NAMESPACE,
                "labels": {"kubernetes.io/service-name": NAME}},
            "addressType": family,
            "endpoints": [{"addresses": [self.wanted.address.to_string()], "conditions": {"ready": true}}],
            "ports": [{"name": "https", "port": self.wanted.port, "protocol": "TCP"}],
        })
    }

    async fn reconcile(&self) {
        // The Service's ClusterIP is immutable: an existing one keeps its own.
        let service = self.service();
        self.ensure(self.services, service, &["/spec/ports", "/metadata/labels"]).await;
        self.ensure(self.endpoints, self.endpoints(), &["/subsets"]).await;
        if let Some(slices) = self.endpoint_slices {
            self.ensure(slices, self.endpoint_slice(), &["/endpoints", "/ports", "/addressType"]).await;
        }
    }

    /// Creates `wanted` when missing; when it differs at any of `owned`, writes those fields.
    async fn ensure(&self, rt: &'static ResourceType, mut wanted: Value, owned: &[&str]) {
        match self.objects.find(rt, NAMESPACE, NAME).await {
            Ok(None) => {
                // prepare_for_create resets the status of kinds that have one; keep ours.
                let status = wanted.get("status").cloned();
                strategy::prepare_for_create(rt, &mut wanted, &now_rfc3339());
                if let Some(status) = status {
                    wanted["status"] = status;
                }
                match self.objects.create(rt, NAMESPACE, NAME, &wanted).await {
                    Ok(_) => tracing::info!(kind = rt.kind, "created the kubernetes {}", rt.kind),
                    Err(e) => {
                        tracing::debug!(kind = rt.kind, error = %e.message, "kubernetes object not created")
                    }
                }
            }
            Ok(Some(mut current)) => {
                let differs = owned.iter().any(|p| current.pointer(p) != wanted.pointer(p));
                if !differs {
                    return;
                }
                for p in owned {
                    if let Some(v) = wanted.pointer(p) {
                        set_at(&mut current, p, v.clone());
                    }
                }
                let revision = current.pointer("/metadata/resourceVersion").and_then(Value::as_str);
                let expected = revision.and_then(|r| r.parse::<u64>().ok());
                if let Err(e) = self.objects.update(rt, NAMESPACE, NAME, &current, expected).await {
                    tracing::debug!(kind = rt.kind, error = %e.message, "kubernetes object changed meanwhile");
                } else {
                    tracing::info!(kind = rt.kind, "corrected the kubernetes {}", rt.kind);
                }
            }
            Err(e) => tracing::debug!(kind = rt.kind, error = %e.message, "kubernetes object not readable"),
        }
    }
}

/// Sets the value at a JSON pointer of plain keys, making the objects on the way.
fn set_at(obj: &mut Value, pointer: &str, value: Value) {
    let mut at = obj;
    let keys: Vec<&str> = pointer.split('/').skip(1).collect();
    for (i, key) in keys.iter().enumerate() {
        if !at.is_object() {
            *at = json!({});
        }
        let Some(map) = at.as_object_mut() else { return };
        if i + 1 == keys.len() {
            map.insert(key.to_string(), value);
            return;
        }
        at = map.entry(key.to_string()).or_insert_with(|| json!({}));
    }
}

/// Starts the controller for a server listening on `port`, reachable at `address`.
pub async fn start(state: &State, address: IpAddr, port: u16) -> Result<(), String> {
    let lookup = |g: &str, r: &str| state.catalog.lookup(g, "v1", r);
    let services = lookup("", "services").ok_or("the catalog serves no Services")?;
    let endpoints = lookup("", "endpoints").ok_or("the catalog serves no Endpoints")?;
    let endpoint_slices = lookup("discovery.k8s.io", "endpointslices");
    let types = [Some(services), Some(endpoints), endpoint_slices].into_iter().flatten().collect();
    let controller = KubernetesService {
        objects: state.objects.clone(),
        services,
        endpoints,
        endpoint_slices,
        wanted: Wanted { cluster_ip: state.service_ips.first().to_string(), address, port },
    };
    let informer = Informer::new(state.objects.clone(), "kubernetes-service", types).in_namespace(NAMESPACE);
    super::run(informer, controller).await;
    Ok(())
}
