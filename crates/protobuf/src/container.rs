//! `k8s.io.api.core.v1` container messages: Container and what it holds (ports, env, resources,
//! volume mounts, probes, lifecycle hooks, security context). Field numbers are those of
//! k8s.io/api `core/v1/generated.proto`.

use std::collections::BTreeMap;

use prost::Message;
use serde_json::Value;

use crate::core::LocalObjectReference;
use crate::json::{Obj, ToJson};
use crate::security::SecurityContext;
use crate::values::{IntOrString, Quantity};

/// `core.v1.Container` (also the shape of init containers).
#[derive(Clone, PartialEq, Message)]
pub struct Container {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub image: Option<String>,
    #[prost(string, repeated, tag = "3")]
    pub command: Vec<String>,
    #[prost(string, repeated, tag = "4")]
    pub args: Vec<String>,
    #[prost(string, optional, tag = "5")]
    pub working_dir: Option<String>,
    #[prost(message, repeated, tag = "6")]
    pub ports: Vec<ContainerPort>,
    #[prost(message, repeated, tag = "7")]
    pub env: Vec<EnvVar>,
    #[prost(message, optional, tag = "8")]
    pub resources: Option<ResourceRequirements>,
    #[prost(message, repeated, tag = "9")]
    pub volume_mounts: Vec<VolumeMount>,
    #[prost(message, optional, tag = "10")]
    pub liveness_probe: Option<Probe>,
    #[prost(message, optional, tag = "11")]
    pub readiness_probe: Option<Probe>,
    #[prost(message, optional, tag = "12")]
    pub lifecycle: Option<Lifecycle>,
    #[prost(string, optional, tag = "13")]
    pub termination_message_path: Option<String>,
    #[prost(string, optional, tag = "14")]
    pub image_pull_policy: Option<String>,
    #[prost(message, optional, tag = "15")]
    pub security_context: Option<SecurityContext>,
    #[prost(bool, optional, tag = "16")]
    pub stdin: Option<bool>,
    #[prost(bool, optional, tag = "17")]
    pub stdin_once: Option<bool>,
    #[prost(bool, optional, tag = "18")]
    pub tty: Option<bool>,
    #[prost(message, repeated, tag = "19")]
    pub env_from: Vec<EnvFromSource>,
    #[prost(string, optional, tag = "20")]
    pub termination_message_policy: Option<String>,
    #[prost(message, repeated, tag = "21")]
    pub volume_devices: Vec<VolumeDevice>,
    #[prost(message, optional, tag = "22")]
    pub startup_probe: Option<Probe>,
    /// Only for init containers (`Always` makes a sidecar).
    #[prost(string, optional, tag = "24")]
    pub restart_policy: Option<String>,
}

impl ToJson for Container {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("name", &self.name)
            .str("image", &self.image)
            .strs("command", &self.command)
            .strs("args", &self.args)
            .str("workingDir", &self.working_dir)
            .list("ports", &self.ports)
            .list("envFrom", &self.env_from)
            .list("env", &self.env)
            .msg("resources", &self.resources)
            .str("restartPolicy", &self.restart_policy)
            .list("volumeMounts", &self.volume_mounts)
            .list("volumeDevices", &self.volume_devices)
            .msg("livenessProbe", &self.liveness_probe)
            .msg("readinessProbe", &self.readiness_probe)
            .msg("startupProbe", &self.startup_probe)
            .msg("lifecycle", &self.lifecycle)
            .str("terminationMessagePath", &self.termination_message_path)
            .str("terminationMessagePolicy", &self.termination_message_policy)
            .str("imagePullPolicy", &self.image_pull_policy)
            .msg("securityContext", &self.security_context)
            .bool_true("stdin", self.stdin)
            .bool_true("stdinOnce", self.stdin_once)
            .bool_true("tty", self.tty)
            .build()
    }
}

/// `core.v1.ContainerPort`.
#[derive(Clone, PartialEq, Message)]
pub struct ContainerPort {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(int32, optional, tag = "2")]
    pub host_port: Option<i32>,
    #[prost(int32, optional, tag = "3")]
    pub container_port: Option<i32>,
    #[prost(string, optional, tag = "4")]
    pub protocol: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub host_ip: Option<String>,
}

impl ToJson for ContainerPort {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("name", &self.name)
            .int_nonzero("hostPort", self.host_port)
            .int_nonzero("containerPort", self.container_port)
            .str("protocol", &self.protocol)
            .str("hostIP", &self.host_ip)
            .build()
    }
}

/// `core.v1.EnvVar`.
#[derive(Clone, PartialEq, Message)]
pub struct EnvVar {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub value: Option<String>,
    #[prost(message, optional, tag = "3")]
    pub value_from: Option<EnvVarSource>,
}

impl ToJson for EnvVar {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("name", &self.name)
            .str("value", &self.value)
            .msg("valueFrom", &self.value_from)
            .build()
    }
}

/// `core.v1.EnvVarSource`.
#[derive(Clone, PartialEq, Message)]
pub struct EnvVarSource {
    #[prost(message, optional, tag = "1")]
    pub field_ref: Option<ObjectFieldSelector>,
    #[prost(message, optional, tag = "2")]
    pub resource_field_ref: Option<ResourceFieldSelector>,
    #[prost(message, optional, tag = "3")]
    pub config_map_key_ref: Option<KeySelector>,
    #[prost(message, optional, tag = "4")]
    pub secret_key_ref: Option<KeySelector>,
}

impl ToJson for EnvVarSource {
    fn to_json(&self) -> Value {
        Obj::new()
            .msg("fieldRef", &self.field_ref)
            .msg("resourceFieldRef", &self.resource_field_ref)
            .msg("configMapKeyRef", &self.config_map_key_ref)
            .msg("secretKeyRef", &self.secret_key_ref)
            .build()
    }
}

/// `core.v1.ObjectFieldSelector`.
#[derive(Clone, PartialEq, Message)]
pub struct ObjectFieldSelector {
    #[prost(string, optional, tag = "1")]
    pub api_version: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub field_path: Option<String>,
}

impl ToJson for ObjectFieldSelector {
    fn to_json(&self) -> Value {
        Obj::new().str("apiVersion", &self.api_version).str("fieldPath", &self.field_path).build()
    }
}

/// `core.v1.ResourceFieldSelector`.
#[derive(Clone, PartialEq, Message)]
pub struct ResourceFieldSelector {
    #[prost(string, optional, tag = "1")]
    pub container_name: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub resource: Option<String>,
    #[prost(message, optional, tag = "3")]
    pub divisor: Option<Quantity>,
}

impl ToJson for ResourceFieldSelector {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("containerName", &self.container_name)
            .str("resource", &self.resource)
            .msg("divisor", &self.divisor)
            .build()
    }
}

/// `core.v1.ConfigMapKeySelector` and `core.v1.SecretKeySelector` (same layout; the embedded
/// LocalObjectReference is inlined as `name`).
#[derive(Clone, PartialEq, Message)]
pub struct KeySelector {
    #[prost(message, optional, tag = "1")]
    pub local_object_reference: Option<LocalObjectReference>,
    #[prost(string, optional, tag = "2")]
    pub key: Option<String>,
    #[prost(bool, optional, tag = "3")]
    pub optional: Option<bool>,
}

impl ToJson for KeySelector {
    fn to_json(&self) -> Value {
        Obj::new()
            .inline(&self.local_object_reference)
            .str("key", &self.key)
            .bool_opt("optional", self.optional)
            .build()
    }
}

/// `core.v1.EnvFromSource`.
#[derive(Clone, PartialEq, Message)]
pub struct EnvFromSource {
    #[prost(string, optional, tag = "1")]
    pub prefix: Option<String>,
    #[prost(message, optional, tag = "2")]
    pub config_map_ref: Option<EnvSource>,
    #[prost(message, optional, tag = "3")]
    pub secret_ref: Option<EnvSource>,
}

impl ToJson for EnvFromSource {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("prefix", &self.prefix)
            .msg("configMapRef", &self.config_map_ref)
            .msg("secretRef", &self.secret_ref)
            .build()
    }
}

/// `core.v1.ConfigMapEnvSource` and `core.v1.SecretEnvSource` (same layout).
#[derive(Clone, PartialEq, Message)]
pub struct EnvSource {
    #[prost(message, optional, tag = "1")]
    pub local_object_reference: Option<LocalObjectReference>,
    #[prost(bool, optional, tag = "2")]
    pub optional: Option<bool>,
}

impl ToJson for EnvSource {
    fn to_json(&self) -> Value {
        Obj::new().inline(&self.local_object_reference).bool_opt("optional", self.optional).build()
    }
}

/// `core.v1.ResourceRequirements`.
#[derive(Clone, PartialEq, Message)]
pub struct ResourceRequirements {
    #[prost(btree_map = "string, message", tag = "1")]
    pub limits: BTreeMap<String, Quantity>,
    #[prost(btree_map = "string, message", tag = "2")]
    pub requests: BTreeMap<String, Quantity>,
}

impl ToJson for ResourceRequirements {
    fn to_json(&self) -> Value {
        Obj::new().msg_map("limits", &self.limits).msg_map("requests", &self.requests).build()
    }
}

/// `core.v1.VolumeMount`.
#[derive(Clone, PartialEq, Message)]
pub struct VolumeMount {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(bool, optional, tag = "2")]
    pub read_only: Option<bool>,
    #[prost(string, optional, tag = "3")]
    pub mount_path: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub sub_path: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub mount_propagation: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub sub_path_expr: Option<String>,
}

impl ToJson for VolumeMount {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("name", &self.name)
            .bool_true("readOnly", self.read_only)
            .str("mountPath", &self.mount_path)
            .str("subPath", &self.sub_path)
            .str("mountPropagation", &self.mount_propagation)
            .str("subPathExpr", &self.sub_path_expr)
            .build()
    }
}

/// `core.v1.VolumeDevice`.
#[derive(Clone, PartialEq, Message)]
pub struct VolumeDevice {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub device_path: Option<String>,
}

impl ToJson for VolumeDevice {
    fn to_json(&self) -> Value {
        Obj::new().str("name", &self.name).str("devicePath", &self.device_path).build()
    }
}

/// `core.v1.Probe`; its handler (field 1) is inlined in JSON.
#[derive(Clone, PartialEq, Message)]
pub struct Probe {
    #[prost(message, optional, tag = "1")]
    pub handler: Option<Handler>,
    #[prost(int32, optional, tag = "2")]
    pub initial_delay_seconds: Option<i32>,
    #[prost(int32, optional, tag = "3")]
    pub timeout_seconds: Option<i32>,
    #[prost(int32, optional, tag = "4")]
    pub period_seconds: Option<i32>,
    #[prost(int32, optional, tag = "5")]
    pub success_threshold: Option<i32>,
    #[prost(int32, optional, tag = "6")]
    pub failure_threshold: Option<i32>,
    #[prost(int64, optional, tag = "7")]
    pub termination_grace_period_seconds: Option<i64>,
}

impl ToJson for Probe {
    fn to_json(&self) -> Value {
        Obj::new()
            .inline(&self.handler)
            .int_nonzero("initialDelaySeconds", self.initial_delay_seconds)
            .int_nonzero("timeoutSeconds", self.timeout_seconds)
            .int_nonzero("periodSeconds", self.period_seconds)
            .int_nonzero("successThreshold", self.success_threshold)
            .int_nonzero("failureThreshold", self.failure_threshold)
            .int_opt("terminationGracePeriodSeconds", self.termination_grace_period_seconds)
            .build()
    }
}

/// `core.v1.ProbeHandler` / `LifecycleHandler` (formerly `Handler`): exec, httpGet, tcpSocket.
#[derive(Clone, PartialEq, Message)]
pub struct Handler {
    #[prost(message, optional, tag = "1")]
    pub exec: Option<ExecAction>,
    #[prost(message, optional, tag = "2")]
    pub http_get: Option<HttpGetAction>,
    #[prost(message, optional, tag = "3")]
    pub tcp_socket: Option<TcpSocketAction>,
}

impl ToJson for Handler {
    fn to_json(&self) -> Value {
        Obj::new()
            .msg("exec", &self.exec)
            .msg("httpGet", &self.http_get)
            .msg("tcpSocket", &self.tcp_socket)
            .build()
    }
}

/// `core.v1.ExecAction`.
#[derive(Clone, PartialEq, Message)]
pub struct ExecAction {
    #[prost(string, repeated, tag = "1")]
    pub command: Vec<String>,
}

impl ToJson for ExecAction {
    fn to_json(&self) -> Value {
        Obj::new().strs("command", &self.command).build()
    }
}

/// `core.v1.HTTPGetAction`.
#[derive(Clone, PartialEq, Message)]
pub struct HttpGetAction {
    #[prost(string, optional, tag = "1")]
    pub path: Option<String>,
    #[prost(message, optional, tag = "2")]
    pub port: Option<IntOrString>,
    #[prost(string, optional, tag = "3")]
    pub host: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub scheme: Option<String>,
    #[prost(message, repeated, tag = "5")]
    pub http_headers: Vec<HttpHeader>,
}

impl ToJson for HttpGetAction {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("path", &self.path)
            .msg("port", &self.port)
            .str("host", &self.host)
            .str("scheme", &self.scheme)
            .list("httpHeaders", &self.http_headers)
            .build()
    }
}

/// `core.v1.HTTPHeader`.
#[derive(Clone, PartialEq, Message)]
pub struct HttpHeader {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub value: Option<String>,
}

impl ToJson for HttpHeader {
    fn to_json(&self) -> Value {
        Obj::new().str("name", &self.name).str("value", &self.value).build()
    }
}

/// `core.v1.TCPSocketAction`.
#[derive(Clone, PartialEq, Message)]
pub struct TcpSocketAction {
    #[prost(message, optional, tag = "1")]
    pub port: Option<IntOrString>,
    #[prost(string, optional, tag = "2")]
    pub host: Option<String>,
}

impl ToJson for TcpSocketAction {
    fn to_json(&self) -> Value {
        Obj::new().msg("port", &self.port).str("host", &self.host).build()
    }
}

/// `core.v1.Lifecycle`.
#[derive(Clone, PartialEq, Message)]
pub struct Lifecycle {
    #[prost(message, optional, tag = "1")]
    pub post_start: Option<Handler>,
    #[prost(message, optional, tag = "2")]
    pub pre_stop: Option<Handler>,
}

impl ToJson for Lifecycle {
    fn to_json(&self) -> Value {
        Obj::new().msg("postStart", &self.post_start).msg("preStop", &self.pre_stop).build()
    }
}
