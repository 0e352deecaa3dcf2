//! The `kubernetes` Service in `default`, as kube's bootstrap controller and lease endpoint
//! reconciler keep it: ClusterIP the first address of `--service-cluster-ip-range`, port
//! 443 to the secure port, with its Endpoints and EndpointSlice naming the advertise
//! address of every healthy API server. Put back when deleted, corrected when changed,
//! checked every 10 s.
//!
//! Each server keeps its identity Lease `kube-system/apiserver-<hash of its node name>`
//! (kube's, labelled `apiserver.kubernetes.io/identity=kube-apiserver`, holder
//! `apiserver-<hash>_<uuid>`) renewed every 10 s, with its advertise address and port in the
//! annotation `kubeward.io/advertise-address`; a server whose Lease was renewed within the
//! last 15 s (kube's master lease TTL) is listed in the endpoints. Expired identity Leases
//! are collected by `identity_lease_gc`.

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
/// An API server whose identity Lease is older than this leaves the endpoints.
const ENDPOINT_TTL: Duration = Duration::from_secs(15);
pub const IDENTITY_LABEL: &str = "apiserver.kubernetes.io/identity";
pub const ADDRESS_ANNOTATION: &str = "kubeward.io/advertise-address";
pub const LEASE_NAMESPACE: &str = "kube-system";

/// What the three objects must say.
struct Wanted {
    cluster_ip: String,
    /// This server's.
    address: IpAddr,
    port: u16,
    /// Every healthy API server's address and port, this one's included, sorted.
    servers: Vec<(IpAddr, u16)>,
}

/// kube's identity Lease name for a host: `apiserver-` and the base32 (lower case, no
/// padding) of the first 16 bytes of the SHA-256 of its name.
pub fn identity_lease_name(node_name: &str) -> String {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(node_name.as_bytes());
    format!("apiserver-{}", base32_lower(hash.get(..16).unwrap_or_default()))
}

fn base32_lower(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for b in bytes {
        buffer = (buffer << 8) | u32::from(*b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// This server's identity Lease.
struct Identity {
    leases: &'static ResourceType,
    node_name: String,
    name: String,
    holder: String,
    /// Written as `leaseDurationSeconds` (kube: 3600 s).
    duration_seconds: u64,
}

struct KubernetesService {
    objects: Objects,
    identity: Option<Identity>,
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
            Event::InitDone => {
                self.renew_identity().await;
                self.reconcile().await
            }
            Event::Apply(o) | Event::Delete(o) if name_of(&o).1 == NAME => self.reconcile().await,
            _ => {}
        }
    }

    fn resync_period(&self) -> Option<Duration> {
        Some(RESYNC)
    }

    async fn resync(&mut self) {
        self.renew_identity().await;
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
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": self.agreed_port()}],
            },
            "status": {"loadBalancer": {}},
        })
    }

    fn endpoints(&self) -> Value {
        // One subset per port (servers normally share one).
        let mut ports: Vec<u16> = self.wanted.servers.iter().map(|(_, p)| *p).collect();
        ports.dedup();
        let subsets: Vec<Value> = ports
            .iter()
            .map(|port| {
                let addresses: Vec<Value> = self
                    .wanted
                    .servers
                    .iter()
                    .filter(|(_, p)| p == port)
                    .map(|(ip, _)| json!({"ip": ip.to_string()}))
                    .collect();
                json!({"addresses": addresses, "ports": [{"name": "https", "port": port, "protocol": "TCP"}]})
            })
            .collect();
        json!({
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": NAME, "namespace": NAMESPACE,
                "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
            "subsets": subsets,
        })
    }

    /// The one port the Service and its slice name. The servers of a cluster should share
    /// one (kube's masters must); when they do not, every server picks the same one (the
    /// port of the lowest live address of this family), so they agree instead of fighting.
    fn agreed_port(&self) -> u16 {
        let v4 = self.wanted.address.is_ipv4();
        self.wanted.servers.iter().find(|(ip, _)| ip.is_ipv4() == v4).map_or(self.wanted.port, |(_, p)| *p)
    }

    fn endpoint_slice(&self) -> Value {
        let family = if self.wanted.address.is_ipv4() { "IPv4" } else { "IPv6" };
        let port = self.agreed_port();
        // One slice: the servers of the agreed port and this server's address family.
        let endpoints: Vec<Value> = self
            .wanted
            .servers
            .iter()
            .filter(|(ip, p)| *p == port && ip.is_ipv4() == self.wanted.address.is_ipv4())
            .map(|(ip, _)| json!({"addresses": [ip.to_string()], "conditions": {"ready": true}}))
            .collect();
        json!({
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {"name": NAME, "namespace": NAMESPACE,
                "labels": {"kubernetes.io/service-name": NAME}},
            "addressType": family,
            "endpoints": endpoints,
            "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
        })
    }

    /// Renews this server's identity Lease, then reads every server's to know which are
    /// healthy.
    async fn renew_identity(&mut self) {
        let Some(identity) = &self.identity else { return };
        let now = chrono::Utc::now();
        let micro = now.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
        let own = format!("{}:{}", self.wanted.address, self.wanted.port);
        let rt = identity.leases;
        let found = self.objects.find(rt, LEASE_NAMESPACE, &identity.name).await;
        let written = match found {
            Ok(Some(mut lease)) => {
                lease["spec"]["holderIdentity"] = json!(identity.holder);
                lease["spec"]["leaseDurationSeconds"] = json!(identity.duration_seconds);
                lease["spec"]["renewTime"] = json!(micro);
                if !lease["metadata"]["annotations"].is_object() {
                    lease["metadata"]["annotations"] = json!({});
                }
                lease["metadata"]["annotations"][ADDRESS_ANNOTATION] = json!(own);
                let expected = lease
                    .pointer("/metadata/resourceVersion")
                    .and_then(Value::as_str)
                    .and_then(|r| r.parse().ok());
                self.objects.update(rt, LEASE_NAMESPACE, &identity.name, &lease, expected).await.map(|_| ())
            }
            Ok(None) => {
                let mut lease = json!({
                    "apiVersion": "coordination.k8s.io/v1",
                    "kind": "Lease",
                    "metadata": {"name": identity.name, "namespace": LEASE_NAMESPACE,
                        "labels": {IDENTITY_LABEL: "kube-apiserver", "kubernetes.io/hostname": identity.node_name},
                        "annotations": {ADDRESS_ANNOTATION: own}},
                    "spec": {"holderIdentity": identity.holder, "leaseDurationSeconds": identity.duration_seconds,
                        "acquireTime": micro, "renewTime": micro},
                });
                strategy::prepare_for_create(rt, &mut lease, &now_rfc3339());
                self.objects.create(rt, LEASE_NAMESPACE, &identity.name, &lease).await.map(|_| ())
            }
            Err(e) => Err(e),
        };
        if let Err(e) = written {
            tracing::debug!(lease = %identity.name, error = %e.message, "identity lease not renewed");
        }
        let mut servers = vec![(self.wanted.address, self.wanted.port)];
        match self.objects.list_all(rt, LEASE_NAMESPACE).await {
            Ok((leases, _)) => {
                for lease in leases {
                    let is_apiserver = lease
                        .pointer(&format!("/metadata/labels/{}", IDENTITY_LABEL.replace('/', "~1")))
                        .and_then(Value::as_str)
                        == Some("kube-apiserver");
                    let renewed = lease
                        .pointer("/spec/renewTime")
                        .and_then(Value::as_str)
                        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
                    let fresh = renewed.is_some_and(|t| {
                        now.signed_duration_since(t).to_std().map_or(true, |age| age <= ENDPOINT_TTL)
                    });
                    let address = lease
                        .pointer(&format!("/metadata/annotations/{}", ADDRESS_ANNOTATION.replace('/', "~1")))
                        .and_then(Value::as_str)
                        .and_then(|a| a.parse::<std::net::SocketAddr>().ok());
                    if let (true, true, Some(a)) = (is_apiserver, fresh, address) {
                        servers.push((a.ip(), a.port()));
                    }
                }
            }
            Err(e) => tracing::debug!(error = %e.message, "identity leases not readable"),
        }
        servers.sort();
        servers.dedup();
        self.wanted.servers = servers;
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

/// Starts the controller for the server `node_name` listening on `port`, reachable at
/// `address`, and the collector of expired identity Leases.
pub async fn start(
    state: &State,
    node_name: &str,
    address: IpAddr,
    port: u16,
    lease: super::identity_lease_gc::IdentityLeaseConfig,
) -> Result<(), String> {
    let lookup = |g: &str, r: &str| state.catalog.lookup(g, "v1", r);
    let services = lookup("", "services").ok_or("the catalog serves no Services")?;
    let endpoints = lookup("", "endpoints").ok_or("the catalog serves no Endpoints")?;
    let endpoint_slices = lookup("discovery.k8s.io", "endpointslices");
    let types = [Some(services), Some(endpoints), endpoint_slices].into_iter().flatten().collect();
    let identity = state.catalog.lookup("coordination.k8s.io", "v1", "leases").map(|leases| {
        let name = identity_lease_name(node_name);
        Identity {
            leases,
            node_name: node_name.to_string(),
            holder: format!("{name}_{}", uuid::Uuid::new_v4()),
            name,
            duration_seconds: lease.duration_seconds,
        }
    });
    super::identity_lease_gc::start(state, lease);
    let controller = KubernetesService {
        objects: state.objects.clone(),
        identity,
        services,
        endpoints,
        endpoint_slices,
        wanted: Wanted {
            cluster_ip: state.service_ips.first().to_string(),
            address,
            port,
            servers: vec![(address, port)],
        },
    };
    let informer = Informer::new(state.objects.clone(), "kubernetes-service", types).in_namespace(NAMESPACE);
    super::run(informer, controller).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_lease_names_follow_kube() {
        // base32 of 16 bytes: 26 characters.
        let name = identity_lease_name("node-a");
        assert!(name.starts_with("apiserver-") && name.len() == "apiserver-".len() + 26, "{name}");
        assert_eq!(name, identity_lease_name("node-a"));
        assert_ne!(name, identity_lease_name("node-b"));
        assert_eq!(base32_lower(b"foobar"), "mzxw6ytboi");
    }
}
