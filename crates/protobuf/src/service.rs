//! `k8s.io.api.core.v1` Service (what `kubectl create service …` sends) and Endpoints. Field
//! numbers are those of k8s.io/api `core/v1/generated.proto`.

use std::collections::BTreeMap;

use prost::Message;
use serde_json::Value;

use crate::core::ObjectReference;
use crate::json::{Obj, ToJson};
use crate::meta::ObjectMeta;
use crate::values::IntOrString;

/// `core.v1.Service`.
#[derive(Clone, PartialEq, Message)]
pub struct Service {
    #[prost(message, optional, tag = "1")]
    pub metadata: Option<ObjectMeta>,
    #[prost(message, optional, tag = "2")]
    pub spec: Option<ServiceSpec>,
    #[prost(message, optional, tag = "3")]
    pub status: Option<ServiceStatus>,
}

impl ToJson for Service {
    fn to_json(&self) -> Value {
        Obj::new().msg("metadata", &self.metadata).msg("spec", &self.spec).msg("status", &self.status).build()
    }
}

/// `core.v1.ServiceSpec`.
#[derive(Clone, PartialEq, Message)]
pub struct ServiceSpec {
    #[prost(message, repeated, tag = "1")]
    pub ports: Vec<ServicePort>,
    #[prost(btree_map = "string, string", tag = "2")]
    pub selector: BTreeMap<String, String>,
    #[prost(string, optional, tag = "3")]
    pub cluster_ip: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub r#type: Option<String>,
    #[prost(string, repeated, tag = "5")]
    pub external_ips: Vec<String>,
    #[prost(string, optional, tag = "7")]
    pub session_affinity: Option<String>,
    #[prost(string, optional, tag = "8")]
    pub load_balancer_ip: Option<String>,
    #[prost(string, repeated, tag = "9")]
    pub load_balancer_source_ranges: Vec<String>,
    #[prost(string, optional, tag = "10")]
    pub external_name: Option<String>,
    #[prost(string, optional, tag = "11")]
    pub external_traffic_policy: Option<String>,
    #[prost(int32, optional, tag = "12")]
    pub health_check_node_port: Option<i32>,
    #[prost(bool, optional, tag = "13")]
    pub publish_not_ready_addresses: Option<bool>,
    #[prost(message, optional, tag = "14")]
    pub session_affinity_config: Option<SessionAffinityConfig>,
    #[prost(string, optional, tag = "17")]
    pub ip_family_policy: Option<String>,
    #[prost(string, repeated, tag = "18")]
    pub cluster_ips: Vec<String>,
    #[prost(string, repeated, tag = "19")]
    pub ip_families: Vec<String>,
    #[prost(bool, optional, tag = "20")]
    pub allocate_load_balancer_node_ports: Option<bool>,
    #[prost(string, optional, tag = "21")]
    pub load_balancer_class: Option<String>,
    #[prost(string, optional, tag = "22")]
    pub internal_traffic_policy: Option<String>,
}

impl ToJson for ServiceSpec {
    fn to_json(&self) -> Value {
        Obj::new()
            .list("ports", &self.ports)
            .str_map("selector", &self.selector)
            .str("clusterIP", &self.cluster_ip)
            .strs("clusterIPs", &self.cluster_ips)
            .str("type", &self.r#type)
            .strs("externalIPs", &self.external_ips)
            .str("sessionAffinity", &self.session_affinity)
            .str("loadBalancerIP", &self.load_balancer_ip)
            .strs("loadBalancerSourceRanges", &self.load_balancer_source_ranges)
            .str("externalName", &self.external_name)
            .str("externalTrafficPolicy", &self.external_traffic_policy)
            .int_nonzero("healthCheckNodePort", self.health_check_node_port)
            .bool_true("publishNotReadyAddresses", self.publish_not_ready_addresses)
            .msg("sessionAffinityConfig", &self.session_affinity_config)
            .strs("ipFamilies", &self.ip_families)
            .str("ipFamilyPolicy", &self.ip_family_policy)
            .bool_opt("allocateLoadBalancerNodePorts", self.allocate_load_balancer_node_ports)
            .str("loadBalancerClass", &self.load_balancer_class)
            .str("internalTrafficPolicy", &self.internal_traffic_policy)
            .build()
    }
}

/// `core.v1.ServicePort`.
#[derive(Clone, PartialEq, Message)]
pub struct ServicePort {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub protocol: Option<String>,
    #[prost(int32, optional, tag = "3")]
    pub port: Option<i32>,
    #[prost(message, optional, tag = "4")]
    pub target_port: Option<IntOrString>,
    #[prost(int32, optional, tag = "5")]
    pub node_port: Option<i32>,
    #[prost(string, optional, tag = "6")]
    pub app_protocol: Option<String>,
}

impl ToJson for ServicePort {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("name", &self.name)
            .str("protocol", &self.protocol)
            .str("appProtocol", &self.app_protocol)
            .int_nonzero("port", self.port)
            .msg("targetPort", &self.target_port)
            .int_nonzero("nodePort", self.node_port)
            .build()
    }
}

/// `core.v1.SessionAffinityConfig`.
#[derive(Clone, PartialEq, Message)]
pub struct SessionAffinityConfig {
    #[prost(message, optional, tag = "1")]
    pub client_ip: Option<ClientIpConfig>,
}

impl ToJson for SessionAffinityConfig {
    fn to_json(&self) -> Value {
        Obj::new().msg("clientIP", &self.client_ip).build()
    }
}

/// `core.v1.ClientIPConfig`.
#[derive(Clone, PartialEq, Message)]
pub struct ClientIpConfig {
    #[prost(int32, optional, tag = "1")]
    pub timeout_seconds: Option<i32>,
}

impl ToJson for ClientIpConfig {
    fn to_json(&self) -> Value {
        Obj::new().int_opt("timeoutSeconds", self.timeout_seconds).build()
    }
}

/// `core.v1.ServiceStatus` (conditions are skipped: the server owns them).
#[derive(Clone, PartialEq, Message)]
pub struct ServiceStatus {
    #[prost(message, optional, tag = "1")]
    pub load_balancer: Option<LoadBalancerStatus>,
}

impl ToJson for ServiceStatus {
    fn to_json(&self) -> Value {
        Obj::new().msg("loadBalancer", &self.load_balancer).build()
    }
}

/// `core.v1.LoadBalancerStatus`.
#[derive(Clone, PartialEq, Message)]
pub struct LoadBalancerStatus {
    #[prost(message, repeated, tag = "1")]
    pub ingress: Vec<LoadBalancerIngress>,
}

impl ToJson for LoadBalancerStatus {
    fn to_json(&self) -> Value {
        Obj::new().list("ingress", &self.ingress).build()
    }
}

/// `core.v1.LoadBalancerIngress`.
#[derive(Clone, PartialEq, Message)]
pub struct LoadBalancerIngress {
    #[prost(string, optional, tag = "1")]
    pub ip: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub hostname: Option<String>,
    #[prost(message, repeated, tag = "4")]
    pub ports: Vec<PortStatus>,
}

impl ToJson for LoadBalancerIngress {
    fn to_json(&self) -> Value {
        Obj::new().str("ip", &self.ip).str("hostname", &self.hostname).list("ports", &self.ports).build()
    }
}

/// `core.v1.PortStatus`.
#[derive(Clone, PartialEq, Message)]
pub struct PortStatus {
    #[prost(int32, optional, tag = "1")]
    pub port: Option<i32>,
    #[prost(string, optional, tag = "2")]
    pub protocol: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub error: Option<String>,
}

impl ToJson for PortStatus {
    fn to_json(&self) -> Value {
        Obj::new()
            .int_nonzero("port", self.port)
            .str("protocol", &self.protocol)
            .str("error", &self.error)
            .build()
    }
}

/// `core.v1.Endpoints`.
#[derive(Clone, PartialEq, Message)]
pub struct Endpoints {
    #[prost(message, optional, tag = "1")]
    pub metadata: Option<ObjectMeta>,
    #[prost(message, repeated, tag = "2")]
    pub subsets: Vec<EndpointSubset>,
}

impl ToJson for Endpoints {
    fn to_json(&self) -> Value {
        Obj::new().msg("metadata", &self.metadata).list("subsets", &self.subsets).build()
    }
}

/// `core.v1.EndpointSubset`.
#[derive(Clone, PartialEq, Message)]
pub struct EndpointSubset {
    #[prost(message, repeated, tag = "1")]
    pub addresses: Vec<EndpointAddress>,
    #[prost(message, repeated, tag = "2")]
    pub not_ready_addresses: Vec<EndpointAddress>,
    #[prost(message, repeated, tag = "3")]
    pub ports: Vec<EndpointPort>,
}

impl ToJson for EndpointSubset {
    fn to_json(&self) -> Value {
        Obj::new()
            .list("addresses", &self.addresses)
            .list("notReadyAddresses", &self.not_ready_addresses)
            .list("ports", &self.ports)
            .build()
    }
}

/// `core.v1.EndpointAddress`.
#[derive(Clone, PartialEq, Message)]
pub struct EndpointAddress {
    #[prost(string, optional, tag = "1")]
    pub ip: Option<String>,
    #[prost(message, optional, tag = "2")]
    pub target_ref: Option<ObjectReference>,
    #[prost(string, optional, tag = "3")]
    pub hostname: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub node_name: Option<String>,
}

impl ToJson for EndpointAddress {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("ip", &self.ip)
            .str("hostname", &self.hostname)
            .str("nodeName", &self.node_name)
            .msg("targetRef", &self.target_ref)
            .build()
    }
}

/// `core.v1.EndpointPort`.
#[derive(Clone, PartialEq, Message)]
pub struct EndpointPort {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(int32, optional, tag = "2")]
    pub port: Option<i32>,
    #[prost(string, optional, tag = "3")]
    pub protocol: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub app_protocol: Option<String>,
}

impl ToJson for EndpointPort {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("name", &self.name)
            .int_nonzero("port", self.port)
            .str("protocol", &self.protocol)
            .str("appProtocol", &self.app_protocol)
            .build()
    }
}
