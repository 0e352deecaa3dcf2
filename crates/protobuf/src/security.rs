//! `k8s.io.api.core.v1` security settings: the container SecurityContext, the pod-level
//! PodSecurityContext, and what both hold (capabilities, SELinux, seccomp, Windows options,
//! sysctls). Field numbers are those of k8s.io/api `core/v1/generated.proto`.

use prost::Message;
use serde_json::Value;

use crate::json::{Obj, ToJson};

/// `core.v1.SecurityContext` (container level).
#[derive(Clone, PartialEq, Message)]
pub struct SecurityContext {
    #[prost(message, optional, tag = "1")]
    pub capabilities: Option<Capabilities>,
    #[prost(bool, optional, tag = "2")]
    pub privileged: Option<bool>,
    #[prost(message, optional, tag = "3")]
    pub se_linux_options: Option<SeLinuxOptions>,
    #[prost(int64, optional, tag = "4")]
    pub run_as_user: Option<i64>,
    #[prost(bool, optional, tag = "5")]
    pub run_as_non_root: Option<bool>,
    #[prost(bool, optional, tag = "6")]
    pub read_only_root_filesystem: Option<bool>,
    #[prost(bool, optional, tag = "7")]
    pub allow_privilege_escalation: Option<bool>,
    #[prost(int64, optional, tag = "8")]
    pub run_as_group: Option<i64>,
    #[prost(string, optional, tag = "9")]
    pub proc_mount: Option<String>,
    #[prost(message, optional, tag = "10")]
    pub windows_options: Option<WindowsSecurityContextOptions>,
    #[prost(message, optional, tag = "11")]
    pub seccomp_profile: Option<SeccompProfile>,
}

impl ToJson for SecurityContext {
    fn to_json(&self) -> Value {
        Obj::new()
            .msg("capabilities", &self.capabilities)
            .bool_opt("privileged", self.privileged)
            .msg("seLinuxOptions", &self.se_linux_options)
            .msg("windowsOptions", &self.windows_options)
            .int_opt("runAsUser", self.run_as_user)
            .int_opt("runAsGroup", self.run_as_group)
            .bool_opt("runAsNonRoot", self.run_as_non_root)
            .bool_opt("readOnlyRootFilesystem", self.read_only_root_filesystem)
            .bool_opt("allowPrivilegeEscalation", self.allow_privilege_escalation)
            .str("procMount", &self.proc_mount)
            .msg("seccompProfile", &self.seccomp_profile)
            .build()
    }
}

/// `core.v1.Capabilities`.
#[derive(Clone, PartialEq, Message)]
pub struct Capabilities {
    #[prost(string, repeated, tag = "1")]
    pub add: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    pub drop: Vec<String>,
}

impl ToJson for Capabilities {
    fn to_json(&self) -> Value {
        Obj::new().strs("add", &self.add).strs("drop", &self.drop).build()
    }
}

/// `core.v1.SELinuxOptions`.
#[derive(Clone, PartialEq, Message)]
pub struct SeLinuxOptions {
    #[prost(string, optional, tag = "1")]
    pub user: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub role: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub r#type: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub level: Option<String>,
}

impl ToJson for SeLinuxOptions {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("user", &self.user)
            .str("role", &self.role)
            .str("type", &self.r#type)
            .str("level", &self.level)
            .build()
    }
}

/// `core.v1.SeccompProfile`.
#[derive(Clone, PartialEq, Message)]
pub struct SeccompProfile {
    #[prost(string, optional, tag = "1")]
    pub r#type: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub localhost_profile: Option<String>,
}

impl ToJson for SeccompProfile {
    fn to_json(&self) -> Value {
        Obj::new().str("type", &self.r#type).str("localhostProfile", &self.localhost_profile).build()
    }
}

/// `core.v1.WindowsSecurityContextOptions`.
#[derive(Clone, PartialEq, Message)]
pub struct WindowsSecurityContextOptions {
    #[prost(string, optional, tag = "1")]
    pub gmsa_credential_spec_name: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub gmsa_credential_spec: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub run_as_user_name: Option<String>,
}

impl ToJson for WindowsSecurityContextOptions {
    fn to_json(&self) -> Value {
        Obj::new()
            .str("gmsaCredentialSpecName", &self.gmsa_credential_spec_name)
            .str("gmsaCredentialSpec", &self.gmsa_credential_spec)
            .str("runAsUserName", &self.run_as_user_name)
            .build()
    }
}

/// `core.v1.PodSecurityContext`.
#[derive(Clone, PartialEq, Message)]
pub struct PodSecurityContext {
    #[prost(message, optional, tag = "1")]
    pub se_linux_options: Option<SeLinuxOptions>,
    #[prost(int64, optional, tag = "2")]
    pub run_as_user: Option<i64>,
    #[prost(bool, optional, tag = "3")]
    pub run_as_non_root: Option<bool>,
    #[prost(int64, repeated, packed = "false", tag = "4")]
    pub supplemental_groups: Vec<i64>,
    #[prost(int64, optional, tag = "5")]
    pub fs_group: Option<i64>,
    #[prost(int64, optional, tag = "6")]
    pub run_as_group: Option<i64>,
    #[prost(message, repeated, tag = "7")]
    pub sysctls: Vec<Sysctl>,
    #[prost(message, optional, tag = "8")]
    pub windows_options: Option<WindowsSecurityContextOptions>,
    #[prost(string, optional, tag = "9")]
    pub fs_group_change_policy: Option<String>,
    #[prost(message, optional, tag = "10")]
    pub seccomp_profile: Option<SeccompProfile>,
}

impl ToJson for PodSecurityContext {
    fn to_json(&self) -> Value {
        Obj::new()
            .msg("seLinuxOptions", &self.se_linux_options)
            .msg("windowsOptions", &self.windows_options)
            .int_opt("runAsUser", self.run_as_user)
            .int_opt("runAsGroup", self.run_as_group)
            .bool_opt("runAsNonRoot", self.run_as_non_root)
            .ints("supplementalGroups", &self.supplemental_groups)
            .int_opt("fsGroup", self.fs_group)
            .list("sysctls", &self.sysctls)
            .str("fsGroupChangePolicy", &self.fs_group_change_policy)
            .msg("seccompProfile", &self.seccomp_profile)
            .build()
    }
}

/// `core.v1.Sysctl`.
#[derive(Clone, PartialEq, Message)]
pub struct Sysctl {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub value: Option<String>,
}

impl ToJson for Sysctl {
    fn to_json(&self) -> Value {
        Obj::new().str("name", &self.name).str("value", &self.value).build()
    }
}
