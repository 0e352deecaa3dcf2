//! `k8s.io.api.core.v1` Pod, PodSpec and PodTemplateSpec (the template inside Deployments, Jobs
//! and CronJobs), with the scheduling pieces a spec carries (tolerations, DNS config, topology
//! spread) and the simple parts of PodStatus. Field numbers are those of k8s.io/api
//! `core/v1/generated.proto`.

use std::collections::BTreeMap;

use prost::Message;
use serde_json::Value;

use crate::affinity::Affinity;
use crate::container::Container;
use crate::core::LocalObjectReference;
use crate::json::{Obj, ToJson};
use crate::meta::{time_json, LabelSelector, ObjectMeta, Time};
use crate::security::PodSecurityContext;
use crate::values::Quantity;
use crate::volume::Volume;

/// `core.v1.Pod`.
#[derive(Clone, PartialEq, Message)]
pub struct Pod {
    #[prost(message, optional, tag = "1")]
    pub metadata: Option<ObjectMeta>,
    #[prost(message, optional, tag = "2")]
    pub spec: Option<PodSpec>,
    #[prost(message, optional, tag = "3")]
    pub status: Option<PodStatus>,
}

impl ToJson for Pod {
    fn to_json(&self) -> Value {
        Obj::new().msg("metadata", &self.metadata).msg("spec", &self.spec).msg("status", &self.status).build()
    }
}

/// `core.v1.PodTemplateSpec`.
#[derive(Clone, PartialEq, Message)]
pub struct PodTemplateSpec {
    #[prost(message, optional, tag = "1")]
    pub metadata: Option<ObjectMeta>,
    #[prost(message, optional, tag = "2")]
    pub spec: Option<PodSpec>,
}

impl ToJson for PodTemplateSpec {
    fn to_json(&self) -> Value {
        Obj::new().msg("metadata", &self.metadata).msg("spec", &self.spec).build()
    }
}

/// `core.v1.PodSpec`.
#[derive(Clone, PartialEq, Message)]
pub struct PodSpec {
    #[prost(message, repeated, tag = "1")]
    pub volumes: Vec<Volume>,
    #[prost(message, repeated, tag = "2")]
    pub containers: Vec<Container>,
    #[prost(string, optional, tag = "3")]
    pub restart_policy: Option<String>,
    #[prost(int64, optional, tag = "4")]
    pub termination_grace_period_seconds: Option<i64>,
    #[prost(int64, optional, tag = "5")]
    pub active_deadline_seconds: Option<i64>,
    #[prost(string, optional, tag = "6")]
    pub dns_policy: Option<String>,
    #[prost(btree_map = "string, string", tag = "7")]
    pub node_selector: BTreeMap<String, String>,
    #[prost(string, optional, tag = "8")]
    pub service_account_name: Option<String>,
    /// Deprecated alias of `serviceAccountName`.
    #[prost(string, optional, tag = "9")]
    pub service_account: Option<String>,
    #[prost(string, optional, tag = "10")]
    pub node_name: Option<String>,
    #[prost(bool, optional, tag = "11")]
    pub host_network: Option<bool>,
    #[prost(bool, optional, tag = "12")]
    pub host_pid: Option<bool>,
    #[prost(bool, optional, tag = "13")]
    pub host_ipc: Option<bool>,
    #[prost(message, optional, tag = "14")]
    pub security_context: Option<PodSecurityContext>,
    #[prost(message, repeated, tag = "15")]
    pub image_pull_secrets: Vec<LocalObjectReference>,
    #[prost(string, optional, tag = "16")]
    pub hostname: Option<String>,
    #[prost(string, optional, tag = "17")]
    pub subdomain: Option<String>,
    #[prost(message, optional, tag = "18")]
    pub affinity: Option<Affinity>,
    #[prost(string, optional, tag = "19")]
    pub scheduler_name: Option<String>,
    #[prost(message, repeated, tag = "20")]
    pub init_containers: Vec<Container>,
    #[prost(bool, optional, tag = "21")]
    pub automount_service_account_token: Option<bool>,
    #[prost(message, repeated, tag = "22")]
    pub tolerations: Vec<Toleration>,
    #[prost(message, repeated, tag = "23")]
    pub host_aliases: Vec<HostAlias>,
    #[prost(string, optional, tag = "24")]
    pub priority_class_name: Option<String>,
    #[prost(int32, optional, tag = "25")]
    pub priority: Option<i32>,
    #[prost(message, optional, tag = "26")]
    pub dns_config: Option<PodDnsConfig>,
    #[prost(bool, optional, tag = "27")]
    pub share_process_namespace: Option<bool>,
    #[prost(message, repeated, tag = "28")]
    pub readiness_gates: Vec<PodReadinessGate>,
    #[prost(string, optional, tag = "29")]
    pub runtime_class_name: Option<String>,
    #[prost(bool, optional, tag = "30")]
    pub enable_service_links: Option<bool>,
    #[prost(string, optional, tag = "31")]
    pub preemption_policy: Option<String>,
    #[prost(btree_map = "string, message", tag = "32")]
    pub overhead: BTreeMap<String, Quantity>,
    #[prost(message, repeated, tag = "33")]
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    #[prost(bool, optional, tag = "35")]
    pub set_hostname_as_fqdn: Option<bool>,
}

impl ToJson for PodSpec {
    fn to_json(&self) -> Value {
        Obj::new()
            .list("volumes", &self.volumes)
            .list("initContainers", &self.init_containers)
            .list("containers", &self.containers)
            .str("restartPolicy", &self.restart_policy)
            .int_opt("terminationGracePeriodSeconds", self.termination_grace_period_seconds)
            .int_opt("activeDeadlineSeconds", self.active_deadline_seconds)
            .str("dnsPolicy", &self.dns_policy)
            .str_map("nodeSelector", &self.node_selector)
            .str("serviceAccountName", &self.service_account_name)
            .str("serviceAccount", &self.service_account)
            .bool_opt("automountServiceAccountToken", self.automount_service_account_token)
            .str("nodeName", &self.node_name)
            .bool_true("hostNetwork", self.host_network)
            .bool_true("hostPID", self.host_pid)
            .bool_true("hostIPC", self.host_ipc)
            .bool_opt("shareProcessNamespace", self.share_process_namespace)
            .msg("securityContext", &self.security_context)
            .list("imagePullSecrets", &self.image_pull_secrets)
            .str("hostname", &self.hostname)
            .str("subdomain", &self.subdomain)
            .msg("affinity", &self.affinity)
            .str("schedulerName", &self.scheduler_name)
            .list("tolerations", &self.tolerations)
            .list("hostAliases", &self.host_aliases)
            .str("priorityClassName", &self.priority_class_name)
            .int_opt("priority", self.priority)
            .msg("dnsConfig", &self.dns_config)
            .list("readinessGates", &self.readiness_gates)
            .str("runtimeClassName", &self.runtime_class_name)
            .bool_opt("enableServiceLinks", self.enable_service_links)
            .str("preemptionPolicy", &self.preemption_policy)
            .msg_map("overhead", &self.overhead)
            .list("topologySpreadConstraints", &self.topology_spread_constraints)
            .bool_opt("setHostnameAsFQDN", self.set_hostname_as_fqdn)
            .build()
    }
}

/// `core.v1.Toleration`.
#[derive(Clone, PartialEq, Message)]
pub struct Toleration {
    #[prost(string, optional, tag = "1")]
    pub key: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub operator: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub value: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub effect: Option<String>,
    #[prost(int64, optional, tag = "5")]
    pub toleration_seconds: Option<i64>,
}

impl ToJson for Toleration {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("key", &self.key)
            .str("operator", &self.operator)
            .str("value", &self.value)
            .str("effect", &self.effect)
            .int_opt("tolerationSeconds", self.toleration_seconds)
            .build()
    }
}

/// `core.v1.HostAlias`.
#[derive(Clone, PartialEq, Message)]
pub struct HostAlias {
    #[prost(string, optional, tag = "1")]
    pub ip: Option<String>,
    #[prost(string, repeated, tag = "2")]
    pub hostnames: Vec<String>,
}

impl ToJson for HostAlias {
    fn to_json(&self) -> Value {
        Obj::new().str("ip", &self.ip).strs("hostnames", &self.hostnames).build()
    }
}

/// `core.v1.PodDNSConfig`.
#[derive(Clone, PartialEq, Message)]
pub struct PodDnsConfig {
    #[prost(string, repeated, tag = "1")]
    pub nameservers: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    pub searches: Vec<String>,
    #[prost(message, repeated, tag = "3")]
    pub options: Vec<PodDnsConfigOption>,
}

impl ToJson for PodDnsConfig {
    fn to_json(&self) -> Value {
        Obj::new()
            .strs("nameservers", &self.nameservers)
            .strs("searches", &self.searches)
            .list("options", &self.options)
            .build()
    }
}

/// `core.v1.PodDNSConfigOption`.
#[derive(Clone, PartialEq, Message)]
pub struct PodDnsConfigOption {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub value: Option<String>,
}

impl ToJson for PodDnsConfigOption {
    fn to_json(&self) -> Value {
        Obj::new().str("name", &self.name).str("value", &self.value).build()
    }
}

/// `core.v1.PodReadinessGate`.
#[derive(Clone, PartialEq, Message)]
pub struct PodReadinessGate {
    #[prost(string, optional, tag = "1")]
    pub condition_type: Option<String>,
}

impl ToJson for PodReadinessGate {
    fn to_json(&self) -> Value {
        Obj::new().str("conditionType", &self.condition_type).build()
    }
}

/// `core.v1.TopologySpreadConstraint`.
#[derive(Clone, PartialEq, Message)]
pub struct TopologySpreadConstraint {
    #[prost(int32, optional, tag = "1")]
    pub max_skew: Option<i32>,
    #[prost(string, optional, tag = "2")]
    pub topology_key: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub when_unsatisfiable: Option<String>,
    #[prost(message, optional, tag = "4")]
    pub label_selector: Option<LabelSelector>,
}

impl ToJson for TopologySpreadConstraint {
    fn to_json(&self) -> Value {
        Obj::new()
            .int_nonzero("maxSkew", self.max_skew)
            .str("topologyKey", &self.topology_key)
            .str("whenUnsatisfiable", &self.when_unsatisfiable)
            .msg("labelSelector", &self.label_selector)
            .build()
    }
}

/// `core.v1.PodStatus`, without the container statuses (a client never sends them).
#[derive(Clone, PartialEq, Message)]
pub struct PodStatus {
    #[prost(string, optional, tag = "1")]
    pub phase: Option<String>,
    #[prost(message, repeated, tag = "2")]
    pub conditions: Vec<PodCondition>,
    #[prost(string, optional, tag = "3")]
    pub message: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub reason: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub host_ip: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub pod_ip: Option<String>,
    #[prost(message, optional, tag = "7")]
    pub start_time: Option<Time>,
    #[prost(string, optional, tag = "9")]
    pub qos_class: Option<String>,
    #[prost(string, optional, tag = "11")]
    pub nominated_node_name: Option<String>,
    #[prost(message, repeated, tag = "12")]
    pub pod_ips: Vec<PodIp>,
}

impl ToJson for PodStatus {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("phase", &self.phase)
            .list("conditions", &self.conditions)
            .str("message", &self.message)
            .str("reason", &self.reason)
            .str("nominatedNodeName", &self.nominated_node_name)
            .str("hostIP", &self.host_ip)
            .str("podIP", &self.pod_ip)
            .list("podIPs", &self.pod_ips)
            .value("startTime", time_json(&self.start_time))
            .str("qosClass", &self.qos_class)
            .build()
    }
}

/// `core.v1.PodCondition`.
#[derive(Clone, PartialEq, Message)]
pub struct PodCondition {
    #[prost(string, optional, tag = "1")]
    pub r#type: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub status: Option<String>,
    #[prost(message, optional, tag = "3")]
    pub last_probe_time: Option<Time>,
    #[prost(message, optional, tag = "4")]
    pub last_transition_time: Option<Time>,
    #[prost(string, optional, tag = "5")]
    pub reason: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub message: Option<String>,
}

impl ToJson for PodCondition {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("type", &self.r#type)
            .str("status", &self.status)
            .value("lastProbeTime", time_json(&self.last_probe_time))
            .value("lastTransitionTime", time_json(&self.last_transition_time))
            .str("reason", &self.reason)
            .str("message", &self.message)
            .build()
    }
}

/// `core.v1.PodIP`.
#[derive(Clone, PartialEq, Message)]
pub struct PodIp {
    #[prost(string, optional, tag = "1")]
    pub ip: Option<String>,
}

impl ToJson for PodIp {
    fn to_json(&self) -> Value {
        Obj::new().str("ip", &self.ip).build()
    }
}
