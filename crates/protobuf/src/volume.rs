//! `k8s.io.api.core.v1` pod volumes: Volume with the common sources (emptyDir, hostPath, secret,
//! configMap, persistentVolumeClaim, downwardAPI, projected, nfs, csi). Other sources are
//! skipped like any unknown field. Field numbers are those of k8s.io/api `core/v1/generated.proto`.

use std::collections::BTreeMap;

use prost::Message;
use serde_json::Value;

use crate::container::{ObjectFieldSelector, ResourceFieldSelector};
use crate::core::LocalObjectReference;
use crate::json::{Obj, ToJson};
use crate::values::Quantity;

/// `core.v1.Volume`; its VolumeSource (field 2) is inlined in JSON.
#[derive(Clone, PartialEq, Message)]
pub struct Volume {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(message, optional, tag = "2")]
    pub volume_source: Option<VolumeSource>,
}

impl ToJson for Volume {
    fn to_json(&self) -> Value {
        Obj::new().str("name", &self.name).inline(&self.volume_source).build()
    }
}

/// `core.v1.VolumeSource` (the common members).
#[derive(Clone, PartialEq, Message)]
pub struct VolumeSource {
    #[prost(message, optional, tag = "1")]
    pub host_path: Option<HostPathVolumeSource>,
    #[prost(message, optional, tag = "2")]
    pub empty_dir: Option<EmptyDirVolumeSource>,
    #[prost(message, optional, tag = "6")]
    pub secret: Option<SecretVolumeSource>,
    #[prost(message, optional, tag = "7")]
    pub nfs: Option<NfsVolumeSource>,
    #[prost(message, optional, tag = "10")]
    pub persistent_volume_claim: Option<PersistentVolumeClaimVolumeSource>,
    #[prost(message, optional, tag = "16")]
    pub downward_api: Option<DownwardApiVolumeSource>,
    #[prost(message, optional, tag = "19")]
    pub config_map: Option<ConfigMapVolumeSource>,
    #[prost(message, optional, tag = "26")]
    pub projected: Option<ProjectedVolumeSource>,
    #[prost(message, optional, tag = "28")]
    pub csi: Option<CsiVolumeSource>,
}

impl ToJson for VolumeSource {
    fn to_json(&self) -> Value {
        Obj::new()
            .msg("hostPath", &self.host_path)
            .msg("emptyDir", &self.empty_dir)
            .msg("secret", &self.secret)
            .msg("nfs", &self.nfs)
            .msg("persistentVolumeClaim", &self.persistent_volume_claim)
            .msg("downwardAPI", &self.downward_api)
            .msg("configMap", &self.config_map)
            .msg("projected", &self.projected)
            .msg("csi", &self.csi)
            .build()
    }
}

/// `core.v1.HostPathVolumeSource`.
#[derive(Clone, PartialEq, Message)]
pub struct HostPathVolumeSource {
    #[prost(string, optional, tag = "1")]
    pub path: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub r#type: Option<String>,
}

impl ToJson for HostPathVolumeSource {
    fn to_json(&self) -> Value {
        Obj::new().str("path", &self.path).str("type", &self.r#type).build()
    }
}

/// `core.v1.EmptyDirVolumeSource`.
#[derive(Clone, PartialEq, Message)]
pub struct EmptyDirVolumeSource {
    #[prost(string, optional, tag = "1")]
    pub medium: Option<String>,
    #[prost(message, optional, tag = "2")]
    pub size_limit: Option<Quantity>,
}

impl ToJson for EmptyDirVolumeSource {
    fn to_json(&self) -> Value {
        Obj::new().str("medium", &self.medium).msg("sizeLimit", &self.size_limit).build()
    }
}

/// `core.v1.SecretVolumeSource`.
#[derive(Clone, PartialEq, Message)]
pub struct SecretVolumeSource {
    #[prost(string, optional, tag = "1")]
    pub secret_name: Option<String>,
    #[prost(message, repeated, tag = "2")]
    pub items: Vec<KeyToPath>,
    #[prost(int32, optional, tag = "3")]
    pub default_mode: Option<i32>,
    #[prost(bool, optional, tag = "4")]
    pub optional: Option<bool>,
}

impl ToJson for SecretVolumeSource {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("secretName", &self.secret_name)
            .list("items", &self.items)
            .int_opt("defaultMode", self.default_mode)
            .bool_opt("optional", self.optional)
            .build()
    }
}

/// `core.v1.ConfigMapVolumeSource`; the embedded LocalObjectReference is inlined as `name`.
#[derive(Clone, PartialEq, Message)]
pub struct ConfigMapVolumeSource {
    #[prost(message, optional, tag = "1")]
    pub local_object_reference: Option<LocalObjectReference>,
    #[prost(message, repeated, tag = "2")]
    pub items: Vec<KeyToPath>,
    #[prost(int32, optional, tag = "3")]
    pub default_mode: Option<i32>,
    #[prost(bool, optional, tag = "4")]
    pub optional: Option<bool>,
}

impl ToJson for ConfigMapVolumeSource {
    fn to_json(&self) -> Value {
        Obj::new()
            .inline(&self.local_object_reference)
            .list("items", &self.items)
            .int_opt("defaultMode", self.default_mode)
            .bool_opt("optional", self.optional)
            .build()
    }
}

/// `core.v1.KeyToPath`.
#[derive(Clone, PartialEq, Message)]
pub struct KeyToPath {
    #[prost(string, optional, tag = "1")]
    pub key: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub path: Option<String>,
    #[prost(int32, optional, tag = "3")]
    pub mode: Option<i32>,
}

impl ToJson for KeyToPath {
    fn to_json(&self) -> Value {
        Obj::new().str("key", &self.key).str("path", &self.path).int_opt("mode", self.mode).build()
    }
}

/// `core.v1.NFSVolumeSource`.
#[derive(Clone, PartialEq, Message)]
pub struct NfsVolumeSource {
    #[prost(string, optional, tag = "1")]
    pub server: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub path: Option<String>,
    #[prost(bool, optional, tag = "3")]
    pub read_only: Option<bool>,
}

impl ToJson for NfsVolumeSource {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("server", &self.server)
            .str("path", &self.path)
            .bool_true("readOnly", self.read_only)
            .build()
    }
}

/// `core.v1.PersistentVolumeClaimVolumeSource`.
#[derive(Clone, PartialEq, Message)]
pub struct PersistentVolumeClaimVolumeSource {
    #[prost(string, optional, tag = "1")]
    pub claim_name: Option<String>,
    #[prost(bool, optional, tag = "2")]
    pub read_only: Option<bool>,
}

impl ToJson for PersistentVolumeClaimVolumeSource {
    fn to_json(&self) -> Value {
        Obj::new().str("claimName", &self.claim_name).bool_true("readOnly", self.read_only).build()
    }
}

/// `core.v1.DownwardAPIVolumeSource`.
#[derive(Clone, PartialEq, Message)]
pub struct DownwardApiVolumeSource {
    #[prost(message, repeated, tag = "1")]
    pub items: Vec<DownwardApiVolumeFile>,
    #[prost(int32, optional, tag = "2")]
    pub default_mode: Option<i32>,
}

impl ToJson for DownwardApiVolumeSource {
    fn to_json(&self) -> Value {
        Obj::new().list("items", &self.items).int_opt("defaultMode", self.default_mode).build()
    }
}

/// `core.v1.DownwardAPIVolumeFile`.
#[derive(Clone, PartialEq, Message)]
pub struct DownwardApiVolumeFile {
    #[prost(string, optional, tag = "1")]
    pub path: Option<String>,
    #[prost(message, optional, tag = "2")]
    pub field_ref: Option<ObjectFieldSelector>,
    #[prost(message, optional, tag = "3")]
    pub resource_field_ref: Option<ResourceFieldSelector>,
    #[prost(int32, optional, tag = "4")]
    pub mode: Option<i32>,
}

impl ToJson for DownwardApiVolumeFile {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("path", &self.path)
            .msg("fieldRef", &self.field_ref)
            .msg("resourceFieldRef", &self.resource_field_ref)
            .int_opt("mode", self.mode)
            .build()
    }
}

/// `core.v1.ProjectedVolumeSource`.
#[derive(Clone, PartialEq, Message)]
pub struct ProjectedVolumeSource {
    #[prost(message, repeated, tag = "1")]
    pub sources: Vec<VolumeProjection>,
    #[prost(int32, optional, tag = "2")]
    pub default_mode: Option<i32>,
}

impl ToJson for ProjectedVolumeSource {
    fn to_json(&self) -> Value {
        Obj::new().list("sources", &self.sources).int_opt("defaultMode", self.default_mode).build()
    }
}

/// `core.v1.VolumeProjection`.
#[derive(Clone, PartialEq, Message)]
pub struct VolumeProjection {
    #[prost(message, optional, tag = "1")]
    pub secret: Option<KeysProjection>,
    #[prost(message, optional, tag = "2")]
    pub downward_api: Option<DownwardApiProjection>,
    #[prost(message, optional, tag = "3")]
    pub config_map: Option<KeysProjection>,
    #[prost(message, optional, tag = "4")]
    pub service_account_token: Option<ServiceAccountTokenProjection>,
}

impl ToJson for VolumeProjection {
    fn to_json(&self) -> Value {
        Obj::new()
            .msg("secret", &self.secret)
            .msg("downwardAPI", &self.downward_api)
            .msg("configMap", &self.config_map)
            .msg("serviceAccountToken", &self.service_account_token)
            .build()
    }
}

/// `core.v1.SecretProjection` and `core.v1.ConfigMapProjection` (same layout, `optional` is 4).
#[derive(Clone, PartialEq, Message)]
pub struct KeysProjection {
    #[prost(message, optional, tag = "1")]
    pub local_object_reference: Option<LocalObjectReference>,
    #[prost(message, repeated, tag = "2")]
    pub items: Vec<KeyToPath>,
    #[prost(bool, optional, tag = "4")]
    pub optional: Option<bool>,
}

impl ToJson for KeysProjection {
    fn to_json(&self) -> Value {
        Obj::new()
            .inline(&self.local_object_reference)
            .list("items", &self.items)
            .bool_opt("optional", self.optional)
            .build()
    }
}

/// `core.v1.DownwardAPIProjection`.
#[derive(Clone, PartialEq, Message)]
pub struct DownwardApiProjection {
    #[prost(message, repeated, tag = "1")]
    pub items: Vec<DownwardApiVolumeFile>,
}

impl ToJson for DownwardApiProjection {
    fn to_json(&self) -> Value {
        Obj::new().list("items", &self.items).build()
    }
}

/// `core.v1.ServiceAccountTokenProjection`.
#[derive(Clone, PartialEq, Message)]
pub struct ServiceAccountTokenProjection {
    #[prost(string, optional, tag = "1")]
    pub audience: Option<String>,
    #[prost(int64, optional, tag = "2")]
    pub expiration_seconds: Option<i64>,
    #[prost(string, optional, tag = "3")]
    pub path: Option<String>,
}

impl ToJson for ServiceAccountTokenProjection {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("audience", &self.audience)
            .int_opt("expirationSeconds", self.expiration_seconds)
            .str("path", &self.path)
            .build()
    }
}

/// `core.v1.CSIVolumeSource`.
#[derive(Clone, PartialEq, Message)]
pub struct CsiVolumeSource {
    #[prost(string, optional, tag = "1")]
    pub driver: Option<String>,
    #[prost(bool, optional, tag = "2")]
    pub read_only: Option<bool>,
    #[prost(string, optional, tag = "3")]
    pub fs_type: Option<String>,
    #[prost(btree_map = "string, string", tag = "4")]
    pub volume_attributes: BTreeMap<String, String>,
    #[prost(message, optional, tag = "5")]
    pub node_publish_secret_ref: Option<LocalObjectReference>,
}

impl ToJson for CsiVolumeSource {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("driver", &self.driver)
            .bool_opt("readOnly", self.read_only)
            .str("fsType", &self.fs_type)
            .str_map("volumeAttributes", &self.volume_attributes)
            .msg("nodePublishSecretRef", &self.node_publish_secret_ref)
            .build()
    }
}
