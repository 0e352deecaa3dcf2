//! `k8s.io.api.core.v1` and `k8s.io.api.rbac.v1` objects kubectl creates with its typed client:
//! Namespace, ServiceAccount, Secret, ConfigMap, Role, ClusterRole, RoleBinding, ClusterRoleBinding.
//! Field numbers are those of k8s.io/api `core/v1/generated.proto` and `rbac/v1/generated.proto`.

use std::collections::BTreeMap;

use prost::Message;
use serde_json::Value;

use crate::json::{Obj, ToJson};
use crate::meta::{time_json, LabelSelector, ObjectMeta, Time};

/// `core.v1.Namespace`.
#[derive(Clone, PartialEq, Message)]
pub struct Namespace {
    #[prost(message, optional, tag = "1")]
    pub metadata: Option<ObjectMeta>,
    #[prost(message, optional, tag = "2")]
    pub spec: Option<NamespaceSpec>,
    #[prost(message, optional, tag = "3")]
    pub status: Option<NamespaceStatus>,
}

/// `core.v1.NamespaceSpec`.
#[derive(Clone, PartialEq, Message)]
pub struct NamespaceSpec {
    #[prost(string, repeated, tag = "1")]
    pub finalizers: Vec<String>,
}

/// `core.v1.NamespaceStatus`.
#[derive(Clone, PartialEq, Message)]
pub struct NamespaceStatus {
    #[prost(string, optional, tag = "1")]
    pub phase: Option<String>,
    #[prost(message, repeated, tag = "2")]
    pub conditions: Vec<NamespaceCondition>,
}

/// `core.v1.NamespaceCondition`.
#[derive(Clone, PartialEq, Message)]
pub struct NamespaceCondition {
    #[prost(string, optional, tag = "1")]
    pub r#type: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub status: Option<String>,
    #[prost(message, optional, tag = "4")]
    pub last_transition_time: Option<Time>,
    #[prost(string, optional, tag = "5")]
    pub reason: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub message: Option<String>,
}

impl ToJson for Namespace {
    fn to_json(&self) -> Value {
        Obj::new().msg("metadata", &self.metadata).msg("spec", &self.spec).msg("status", &self.status).build()
    }
}

impl ToJson for NamespaceSpec {
    fn to_json(&self) -> Value {
        Obj::new().strs("finalizers", &self.finalizers).build()
    }
}

impl ToJson for NamespaceStatus {
    fn to_json(&self) -> Value {
        Obj::new().str("phase", &self.phase).list("conditions", &self.conditions).build()
    }
}

impl ToJson for NamespaceCondition {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("type", &self.r#type)
            .str("status", &self.status)
            .value("lastTransitionTime", time_json(&self.last_transition_time))
            .str("reason", &self.reason)
            .str("message", &self.message)
            .build()
    }
}

/// `core.v1.ServiceAccount`.
#[derive(Clone, PartialEq, Message)]
pub struct ServiceAccount {
    #[prost(message, optional, tag = "1")]
    pub metadata: Option<ObjectMeta>,
    #[prost(message, repeated, tag = "2")]
    pub secrets: Vec<ObjectReference>,
    #[prost(message, repeated, tag = "3")]
    pub image_pull_secrets: Vec<LocalObjectReference>,
    #[prost(bool, optional, tag = "4")]
    pub automount_service_account_token: Option<bool>,
}

impl ToJson for ServiceAccount {
    fn to_json(&self) -> Value {
        Obj::new()
            .msg("metadata", &self.metadata)
            .list("secrets", &self.secrets)
            .list("imagePullSecrets", &self.image_pull_secrets)
            .bool_opt("automountServiceAccountToken", self.automount_service_account_token)
            .build()
    }
}

/// `core.v1.ObjectReference`.
#[derive(Clone, PartialEq, Message)]
pub struct ObjectReference {
    #[prost(string, optional, tag = "1")]
    pub kind: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub namespace: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub name: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub uid: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub api_version: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub resource_version: Option<String>,
    #[prost(string, optional, tag = "7")]
    pub field_path: Option<String>,
}

impl ToJson for ObjectReference {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("kind", &self.kind)
            .str("namespace", &self.namespace)
            .str("name", &self.name)
            .str("uid", &self.uid)
            .str("apiVersion", &self.api_version)
            .str("resourceVersion", &self.resource_version)
            .str("fieldPath", &self.field_path)
            .build()
    }
}

/// `core.v1.LocalObjectReference`.
#[derive(Clone, PartialEq, Message)]
pub struct LocalObjectReference {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
}

impl ToJson for LocalObjectReference {
    fn to_json(&self) -> Value {
        Obj::new().str("name", &self.name).build()
    }
}

/// `core.v1.Secret`.
#[derive(Clone, PartialEq, Message)]
pub struct Secret {
    #[prost(message, optional, tag = "1")]
    pub metadata: Option<ObjectMeta>,
    #[prost(btree_map = "string, bytes", tag = "2")]
    pub data: BTreeMap<String, Vec<u8>>,
    #[prost(string, optional, tag = "3")]
    pub r#type: Option<String>,
    #[prost(btree_map = "string, string", tag = "4")]
    pub string_data: BTreeMap<String, String>,
    #[prost(bool, optional, tag = "5")]
    pub immutable: Option<bool>,
}

impl ToJson for Secret {
    fn to_json(&self) -> Value {
        Obj::new()
            .msg("metadata", &self.metadata)
            .bool_opt("immutable", self.immutable)
            .bytes_map("data", &self.data)
            .str_map("stringData", &self.string_data)
            .str("type", &self.r#type)
            .build()
    }
}

/// `core.v1.ConfigMap`.
#[derive(Clone, PartialEq, Message)]
pub struct ConfigMap {
    #[prost(message, optional, tag = "1")]
    pub metadata: Option<ObjectMeta>,
    #[prost(btree_map = "string, string", tag = "2")]
    pub data: BTreeMap<String, String>,
    #[prost(btree_map = "string, bytes", tag = "3")]
    pub binary_data: BTreeMap<String, Vec<u8>>,
    #[prost(bool, optional, tag = "4")]
    pub immutable: Option<bool>,
}

impl ToJson for ConfigMap {
    fn to_json(&self) -> Value {
        Obj::new()
            .msg("metadata", &self.metadata)
            .bool_opt("immutable", self.immutable)
            .str_map("data", &self.data)
            .bytes_map("binaryData", &self.binary_data)
            .build()
    }
}

/// `rbac.v1.Role` and `rbac.v1.ClusterRole` (a Role never carries field 3).
#[derive(Clone, PartialEq, Message)]
pub struct ClusterRole {
    #[prost(message, optional, tag = "1")]
    pub metadata: Option<ObjectMeta>,
    #[prost(message, repeated, tag = "2")]
    pub rules: Vec<PolicyRule>,
    #[prost(message, optional, tag = "3")]
    pub aggregation_rule: Option<AggregationRule>,
}

impl ToJson for ClusterRole {
    fn to_json(&self) -> Value {
        Obj::new()
            .msg("metadata", &self.metadata)
            .list("rules", &self.rules)
            .msg("aggregationRule", &self.aggregation_rule)
            .build()
    }
}

/// `rbac.v1.PolicyRule`.
#[derive(Clone, PartialEq, Message)]
pub struct PolicyRule {
    #[prost(string, repeated, tag = "1")]
    pub verbs: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    pub api_groups: Vec<String>,
    #[prost(string, repeated, tag = "3")]
    pub resources: Vec<String>,
    #[prost(string, repeated, tag = "4")]
    pub resource_names: Vec<String>,
    #[prost(string, repeated, tag = "5")]
    pub non_resource_urls: Vec<String>,
}

impl ToJson for PolicyRule {
    fn to_json(&self) -> Value {
        Obj::new()
            .strs("verbs", &self.verbs)
            .strs("apiGroups", &self.api_groups)
            .strs("resources", &self.resources)
            .strs("resourceNames", &self.resource_names)
            .strs("nonResourceURLs", &self.non_resource_urls)
            .build()
    }
}

/// `rbac.v1.AggregationRule`.
#[derive(Clone, PartialEq, Message)]
pub struct AggregationRule {
    #[prost(message, repeated, tag = "1")]
    pub cluster_role_selectors: Vec<LabelSelector>,
}

impl ToJson for AggregationRule {
    fn to_json(&self) -> Value {
        Obj::new().list("clusterRoleSelectors", &self.cluster_role_selectors).build()
    }
}

/// `rbac.v1.RoleBinding` and `rbac.v1.ClusterRoleBinding`.
#[derive(Clone, PartialEq, Message)]
pub struct RoleBinding {
    #[prost(message, optional, tag = "1")]
    pub metadata: Option<ObjectMeta>,
    #[prost(message, repeated, tag = "2")]
    pub subjects: Vec<Subject>,
    #[prost(message, optional, tag = "3")]
    pub role_ref: Option<RoleRef>,
}

impl ToJson for RoleBinding {
    fn to_json(&self) -> Value {
        Obj::new()
            .msg("metadata", &self.metadata)
            .list("subjects", &self.subjects)
            .msg("roleRef", &self.role_ref)
            .build()
    }
}

/// `rbac.v1.Subject`.
#[derive(Clone, PartialEq, Message)]
pub struct Subject {
    #[prost(string, optional, tag = "1")]
    pub kind: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub api_group: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub name: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub namespace: Option<String>,
}

impl ToJson for Subject {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("kind", &self.kind)
            .str("apiGroup", &self.api_group)
            .str("name", &self.name)
            .str("namespace", &self.namespace)
            .build()
    }
}

/// `rbac.v1.RoleRef`.
#[derive(Clone, PartialEq, Message)]
pub struct RoleRef {
    #[prost(string, optional, tag = "1")]
    pub api_group: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub kind: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub name: Option<String>,
}

impl ToJson for RoleRef {
    fn to_json(&self) -> Value {
        Obj::new().str("apiGroup", &self.api_group).str("kind", &self.kind).str("name", &self.name).build()
    }
}
