//! Cluster bookkeeping kinds that agents write: `core/v1` Node and Event, and
//! `coordination.k8s.io/v1` Lease. Field numbers are those of k8s.io/api
//! `core/v1/generated.proto` and `coordination/v1/generated.proto`.

use std::collections::BTreeMap;

use prost::Message;
use serde_json::Value;

use crate::core::ObjectReference;
use crate::json::{Obj, ToJson};
use crate::meta::{micro_time_json, time_json, MicroTime, ObjectMeta, Time};
use crate::values::Quantity;

/// `core.v1.Node`.
#[derive(Clone, PartialEq, Message)]
pub struct Node {
    #[prost(message, optional, tag = "1")]
    pub metadata: Option<ObjectMeta>,
    #[prost(message, optional, tag = "2")]
    pub spec: Option<NodeSpec>,
    #[prost(message, optional, tag = "3")]
    pub status: Option<NodeStatus>,
}

impl ToJson for Node {
    fn to_json(&self) -> Value {
        Obj::new().msg("metadata", &self.metadata).msg("spec", &self.spec).msg("status", &self.status).build()
    }
}

/// `core.v1.NodeSpec` (the deprecated config source is skipped).
#[derive(Clone, PartialEq, Message)]
pub struct NodeSpec {
    #[prost(string, optional, tag = "1")]
    pub pod_cidr: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub external_id: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub provider_id: Option<String>,
    #[prost(bool, optional, tag = "4")]
    pub unschedulable: Option<bool>,
    #[prost(message, repeated, tag = "5")]
    pub taints: Vec<Taint>,
    #[prost(string, repeated, tag = "7")]
    pub pod_cidrs: Vec<String>,
}

impl ToJson for NodeSpec {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("podCIDR", &self.pod_cidr)
            .strs("podCIDRs", &self.pod_cidrs)
            .str("providerID", &self.provider_id)
            .bool_true("unschedulable", self.unschedulable)
            .list("taints", &self.taints)
            .str("externalID", &self.external_id)
            .build()
    }
}

/// `core.v1.Taint`.
#[derive(Clone, PartialEq, Message)]
pub struct Taint {
    #[prost(string, optional, tag = "1")]
    pub key: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub value: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub effect: Option<String>,
    #[prost(message, optional, tag = "4")]
    pub time_added: Option<Time>,
}

impl ToJson for Taint {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("key", &self.key)
            .str("value", &self.value)
            .str("effect", &self.effect)
            .value("timeAdded", time_json(&self.time_added))
            .build()
    }
}

/// `core.v1.NodeStatus` (the deprecated config status is skipped).
#[derive(Clone, PartialEq, Message)]
pub struct NodeStatus {
    #[prost(btree_map = "string, message", tag = "1")]
    pub capacity: BTreeMap<String, Quantity>,
    #[prost(btree_map = "string, message", tag = "2")]
    pub allocatable: BTreeMap<String, Quantity>,
    #[prost(string, optional, tag = "3")]
    pub phase: Option<String>,
    #[prost(message, repeated, tag = "4")]
    pub conditions: Vec<NodeCondition>,
    #[prost(message, repeated, tag = "5")]
    pub addresses: Vec<NodeAddress>,
    #[prost(message, optional, tag = "6")]
    pub daemon_endpoints: Option<NodeDaemonEndpoints>,
    #[prost(message, optional, tag = "7")]
    pub node_info: Option<NodeSystemInfo>,
    #[prost(message, repeated, tag = "8")]
    pub images: Vec<ContainerImage>,
    #[prost(string, repeated, tag = "9")]
    pub volumes_in_use: Vec<String>,
    #[prost(message, repeated, tag = "10")]
    pub volumes_attached: Vec<AttachedVolume>,
}

impl ToJson for NodeStatus {
    fn to_json(&self) -> Value {
        Obj::new()
            .msg_map("capacity", &self.capacity)
            .msg_map("allocatable", &self.allocatable)
            .str("phase", &self.phase)
            .list("conditions", &self.conditions)
            .list("addresses", &self.addresses)
            .msg("daemonEndpoints", &self.daemon_endpoints)
            .msg("nodeInfo", &self.node_info)
            .list("images", &self.images)
            .strs("volumesInUse", &self.volumes_in_use)
            .list("volumesAttached", &self.volumes_attached)
            .build()
    }
}

/// `core.v1.NodeCondition`.
#[derive(Clone, PartialEq, Message)]
pub struct NodeCondition {
    #[prost(string, optional, tag = "1")]
    pub r#type: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub status: Option<String>,
    #[prost(message, optional, tag = "3")]
    pub last_heartbeat_time: Option<Time>,
    #[prost(message, optional, tag = "4")]
    pub last_transition_time: Option<Time>,
    #[prost(string, optional, tag = "5")]
    pub reason: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub message: Option<String>,
}

impl ToJson for NodeCondition {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("type", &self.r#type)
            .str("status", &self.status)
            .value("lastHeartbeatTime", time_json(&self.last_heartbeat_time))
            .value("lastTransitionTime", time_json(&self.last_transition_time))
            .str("reason", &self.reason)
            .str("message", &self.message)
            .build()
    }
}

/// `core.v1.NodeAddress`.
#[derive(Clone, PartialEq, Message)]
pub struct NodeAddress {
    #[prost(string, optional, tag = "1")]
    pub r#type: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub address: Option<String>,
}

impl ToJson for NodeAddress {
    fn to_json(&self) -> Value {
        Obj::new().str("type", &self.r#type).str("address", &self.address).build()
    }
}

/// `core.v1.NodeDaemonEndpoints`.
#[derive(Clone, PartialEq, Message)]
pub struct NodeDaemonEndpoints {
    #[prost(message, optional, tag = "1")]
    pub kubelet_endpoint: Option<DaemonEndpoint>,
}

impl ToJson for NodeDaemonEndpoints {
    fn to_json(&self) -> Value {
        Obj::new().msg("kubeletEndpoint", &self.kubelet_endpoint).build()
    }
}

/// `core.v1.DaemonEndpoint` (its JSON key is the capitalised `Port`).
#[derive(Clone, PartialEq, Message)]
pub struct DaemonEndpoint {
    #[prost(int32, optional, tag = "1")]
    pub port: Option<i32>,
}

impl ToJson for DaemonEndpoint {
    fn to_json(&self) -> Value {
        Obj::new().value("Port", Some(Value::from(self.port.unwrap_or(0)))).build()
    }
}

/// `core.v1.NodeSystemInfo`.
#[derive(Clone, PartialEq, Message)]
pub struct NodeSystemInfo {
    #[prost(string, optional, tag = "1")]
    pub machine_id: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub system_uuid: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub boot_id: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub kernel_version: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub os_image: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub container_runtime_version: Option<String>,
    #[prost(string, optional, tag = "7")]
    pub kubelet_version: Option<String>,
    #[prost(string, optional, tag = "8")]
    pub kube_proxy_version: Option<String>,
    #[prost(string, optional, tag = "9")]
    pub operating_system: Option<String>,
    #[prost(string, optional, tag = "10")]
    pub architecture: Option<String>,
}

impl ToJson for NodeSystemInfo {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("machineID", &self.machine_id)
            .str("systemUUID", &self.system_uuid)
            .str("bootID", &self.boot_id)
            .str("kernelVersion", &self.kernel_version)
            .str("osImage", &self.os_image)
            .str("containerRuntimeVersion", &self.container_runtime_version)
            .str("kubeletVersion", &self.kubelet_version)
            .str("kubeProxyVersion", &self.kube_proxy_version)
            .str("operatingSystem", &self.operating_system)
            .str("architecture", &self.architecture)
            .build()
    }
}

/// `core.v1.ContainerImage`.
#[derive(Clone, PartialEq, Message)]
pub struct ContainerImage {
    #[prost(string, repeated, tag = "1")]
    pub names: Vec<String>,
    #[prost(int64, optional, tag = "2")]
    pub size_bytes: Option<i64>,
}

impl ToJson for ContainerImage {
    fn to_json(&self) -> Value {
        Obj::new().strs("names", &self.names).int_nonzero("sizeBytes", self.size_bytes).build()
    }
}

/// `core.v1.AttachedVolume`.
#[derive(Clone, PartialEq, Message)]
pub struct AttachedVolume {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub device_path: Option<String>,
}

impl ToJson for AttachedVolume {
    fn to_json(&self) -> Value {
        Obj::new().str("name", &self.name).str("devicePath", &self.device_path).build()
    }
}

/// `core.v1.Event`.
#[derive(Clone, PartialEq, Message)]
pub struct Event {
    #[prost(message, optional, tag = "1")]
    pub metadata: Option<ObjectMeta>,
    #[prost(message, optional, tag = "2")]
    pub involved_object: Option<ObjectReference>,
    #[prost(string, optional, tag = "3")]
    pub reason: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub message: Option<String>,
    #[prost(message, optional, tag = "5")]
    pub source: Option<EventSource>,
    #[prost(message, optional, tag = "6")]
    pub first_timestamp: Option<Time>,
    #[prost(message, optional, tag = "7")]
    pub last_timestamp: Option<Time>,
    #[prost(int32, optional, tag = "8")]
    pub count: Option<i32>,
    #[prost(string, optional, tag = "9")]
    pub r#type: Option<String>,
    #[prost(message, optional, tag = "10")]
    pub event_time: Option<MicroTime>,
    #[prost(message, optional, tag = "11")]
    pub series: Option<EventSeries>,
    #[prost(string, optional, tag = "12")]
    pub action: Option<String>,
    #[prost(message, optional, tag = "13")]
    pub related: Option<ObjectReference>,
    #[prost(string, optional, tag = "14")]
    pub reporting_component: Option<String>,
    #[prost(string, optional, tag = "15")]
    pub reporting_instance: Option<String>,
}

impl ToJson for Event {
    fn to_json(&self) -> Value {
        Obj::new()
            .msg("metadata", &self.metadata)
            .msg("involvedObject", &self.involved_object)
            .str("reason", &self.reason)
            .str("message", &self.message)
            .msg("source", &self.source)
            .value("firstTimestamp", time_json(&self.first_timestamp))
            .value("lastTimestamp", time_json(&self.last_timestamp))
            .int_nonzero("count", self.count)
            .str("type", &self.r#type)
            .value("eventTime", micro_time_json(&self.event_time))
            .msg("series", &self.series)
            .str("action", &self.action)
            .msg("related", &self.related)
            .str("reportingComponent", &self.reporting_component)
            .str("reportingInstance", &self.reporting_instance)
            .build()
    }
}

/// `core.v1.EventSource`.
#[derive(Clone, PartialEq, Message)]
pub struct EventSource {
    #[prost(string, optional, tag = "1")]
    pub component: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub host: Option<String>,
}

impl ToJson for EventSource {
    fn to_json(&self) -> Value {
        Obj::new().str("component", &self.component).str("host", &self.host).build()
    }
}

/// `core.v1.EventSeries`.
#[derive(Clone, PartialEq, Message)]
pub struct EventSeries {
    #[prost(int32, optional, tag = "1")]
    pub count: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub last_observed_time: Option<MicroTime>,
}

impl ToJson for EventSeries {
    fn to_json(&self) -> Value {
        Obj::new()
            .int_nonzero("count", self.count)
            .value("lastObservedTime", micro_time_json(&self.last_observed_time))
            .build()
    }
}

/// `coordination.v1.Lease`.
#[derive(Clone, PartialEq, Message)]
pub struct Lease {
    #[prost(message, optional, tag = "1")]
    pub metadata: Option<ObjectMeta>,
    #[prost(message, optional, tag = "2")]
    pub spec: Option<LeaseSpec>,
}

impl ToJson for Lease {
    fn to_json(&self) -> Value {
        Obj::new().msg("metadata", &self.metadata).msg("spec", &self.spec).build()
    }
}

/// `coordination.v1.LeaseSpec`.
#[derive(Clone, PartialEq, Message)]
pub struct LeaseSpec {
    #[prost(string, optional, tag = "1")]
    pub holder_identity: Option<String>,
    #[prost(int32, optional, tag = "2")]
    pub lease_duration_seconds: Option<i32>,
    #[prost(message, optional, tag = "3")]
    pub acquire_time: Option<MicroTime>,
    #[prost(message, optional, tag = "4")]
    pub renew_time: Option<MicroTime>,
    #[prost(int32, optional, tag = "5")]
    pub lease_transitions: Option<i32>,
    #[prost(string, optional, tag = "6")]
    pub strategy: Option<String>,
    #[prost(string, optional, tag = "7")]
    pub preferred_holder: Option<String>,
}

impl ToJson for LeaseSpec {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("holderIdentity", &self.holder_identity)
            .int_opt("leaseDurationSeconds", self.lease_duration_seconds)
            .value("acquireTime", micro_time_json(&self.acquire_time))
            .value("renewTime", micro_time_json(&self.renew_time))
            .int_opt("leaseTransitions", self.lease_transitions)
            .str("strategy", &self.strategy)
            .str("preferredHolder", &self.preferred_holder)
            .build()
    }
}

/// `core.v1.ResourceQuota` (`kubectl create quota`).
#[derive(Clone, PartialEq, Message)]
pub struct ResourceQuota {
    #[prost(message, optional, tag = "1")]
    pub metadata: Option<ObjectMeta>,
    #[prost(message, optional, tag = "2")]
    pub spec: Option<ResourceQuotaSpec>,
    #[prost(message, optional, tag = "3")]
    pub status: Option<ResourceQuotaStatus>,
}

impl ToJson for ResourceQuota {
    fn to_json(&self) -> Value {
        Obj::new().msg("metadata", &self.metadata).msg("spec", &self.spec).msg("status", &self.status).build()
    }
}

/// `core.v1.ResourceQuotaSpec`.
#[derive(Clone, PartialEq, Message)]
pub struct ResourceQuotaSpec {
    #[prost(btree_map = "string, message", tag = "1")]
    pub hard: BTreeMap<String, Quantity>,
    #[prost(string, repeated, tag = "2")]
    pub scopes: Vec<String>,
    #[prost(message, optional, tag = "3")]
    pub scope_selector: Option<ScopeSelector>,
}

impl ToJson for ResourceQuotaSpec {
    fn to_json(&self) -> Value {
        Obj::new()
            .msg_map("hard", &self.hard)
            .strs("scopes", &self.scopes)
            .msg("scopeSelector", &self.scope_selector)
            .build()
    }
}

/// `core.v1.ScopeSelector`.
#[derive(Clone, PartialEq, Message)]
pub struct ScopeSelector {
    #[prost(message, repeated, tag = "1")]
    pub match_expressions: Vec<ScopedResourceSelectorRequirement>,
}

impl ToJson for ScopeSelector {
    fn to_json(&self) -> Value {
        Obj::new().list("matchExpressions", &self.match_expressions).build()
    }
}

/// `core.v1.ScopedResourceSelectorRequirement`.
#[derive(Clone, PartialEq, Message)]
pub struct ScopedResourceSelectorRequirement {
    #[prost(string, optional, tag = "1")]
    pub scope_name: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub operator: Option<String>,
    #[prost(string, repeated, tag = "3")]
    pub values: Vec<String>,
}

impl ToJson for ScopedResourceSelectorRequirement {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("scopeName", &self.scope_name)
            .str("operator", &self.operator)
            .strs("values", &self.values)
            .build()
    }
}

/// `core.v1.ResourceQuotaStatus`.
#[derive(Clone, PartialEq, Message)]
pub struct ResourceQuotaStatus {
    #[prost(btree_map = "string, message", tag = "1")]
    pub hard: BTreeMap<String, Quantity>,
    #[prost(btree_map = "string, message", tag = "2")]
    pub used: BTreeMap<String, Quantity>,
}

impl ToJson for ResourceQuotaStatus {
    fn to_json(&self) -> Value {
        Obj::new().msg_map("hard", &self.hard).msg_map("used", &self.used).build()
    }
}

#[cfg(test)]
mod quota_tests {
    use super::*;

    #[test]
    fn resource_quota_decodes_like_kubectl_json() {
        let q = ResourceQuota {
            metadata: Some(ObjectMeta { name: Some("q".into()), ..Default::default() }),
            spec: Some(ResourceQuotaSpec {
                hard: [("pods".to_string(), Quantity::new("1"))].into_iter().collect(),
                scopes: vec![],
                scope_selector: None,
            }),
            status: Some(ResourceQuotaStatus::default()),
        };
        let body = crate::Unknown::envelope("v1", "ResourceQuota", q.encode_to_vec());
        let v = crate::decode_to_json(&body).unwrap();
        assert_eq!(v["kind"], "ResourceQuota");
        assert_eq!(v["metadata"]["name"], "q");
        assert_eq!(v["spec"]["hard"]["pods"], "1");
    }
}
