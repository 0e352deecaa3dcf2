//! Per-kind behaviour around the generic verbs, as kube's per-resource registry strategies
//! (`pkg/registry/<group>/<resource>/strategy.go` and their REST wrappers): the generic
//! create, update and delete in `rest/` call these hooks and never test a kind by name.

mod admission_policy;
mod certificate_signing_request;
mod crd;
mod namespace;
mod priority_class;
mod rbac;
mod resource_quota;
mod service;

use crate::context::Ctx;
use apimachinery::StatusError;
use registry::ResourceType;
use serde_json::Value;

/// What a kind adds to the generic verbs; every hook defaults to nothing.
#[async_trait::async_trait]
pub trait KindHooks: Send + Sync {
    /// On create, after mutating admission and before validation: allocations (a
    /// Service's cluster IP).
    async fn before_create(&self, _ctx: &Ctx, _obj: &mut Value) -> Result<(), StatusError> {
        Ok(())
    }

    /// On create and update, after field validation and before validating admission, for
    /// dry runs too: refusals that depend on who writes (RBAC escalation).
    async fn check_write(&self, _ctx: &Ctx, _rt: &ResourceType, _obj: &Value) -> Result<(), StatusError> {
        Ok(())
    }

    /// Before a delete: objects that may never be deleted.
    fn check_delete(&self, _rt: &ResourceType, _name: &str) -> Result<(), StatusError> {
        Ok(())
    }

    /// Finalizers of the kind's own beside `metadata.finalizers` (a Namespace's
    /// `spec.finalizers`): the object is marked for deletion instead of removed.
    fn has_own_finalizers(&self, _obj: &Value) -> bool {
        false
    }

    /// What marking for deletion changes beside `deletionTimestamp` (a Namespace turns
    /// Terminating).
    fn mark_for_deletion(&self, _obj: &mut Value) {}

    /// Whether a delete answers with the deleted object instead of a Status (kube's
    /// `ReturnDeletedObject` in the kind's registry store).
    fn returns_deleted_object(&self, rt: &ResourceType) -> bool {
        RETURN_DELETED_OBJECT.contains(&(rt.group, rt.kind))
    }

    /// Whether removing an object of this kind frees quota in its namespace.
    fn releases_quota(&self, rt: &ResourceType) -> bool {
        rt.namespaced
    }
}

/// The kinds whose registry sets `ReturnDeletedObject` (their OpenAPI DELETE answers the
/// object; clients generated from it, the Python client among them, decode it as such).
const RETURN_DELETED_OBJECT: &[(&str, &str)] = &[
    ("", "Pod"),
    ("", "PodTemplate"),
    ("", "PersistentVolume"),
    ("", "PersistentVolumeClaim"),
    ("", "ResourceQuota"),
    ("", "Service"),
    ("", "ServiceAccount"),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "VolumeAttachment"),
    ("storage.k8s.io", "VolumeAttributesClass"),
    ("resource.k8s.io", "DeviceClass"),
    ("resource.k8s.io", "ResourceClaim"),
    ("resource.k8s.io", "ResourceClaimTemplate"),
    ("resource.k8s.io", "ResourceSlice"),
];

/// Kinds with nothing of their own.
struct Generic;

impl KindHooks for Generic {}

/// The hooks of `rt`'s kind.
pub fn hooks(rt: &ResourceType) -> &'static dyn KindHooks {
    match (rt.group, rt.kind) {
        ("", "Service") => &service::Service,
        ("", "Namespace") => &namespace::Namespace,
        ("", "ResourceQuota") => &resource_quota::ResourceQuota,
        ("scheduling.k8s.io", "PriorityClass") => &priority_class::PriorityClass,
        (rbac::RBAC_GROUP, _) => &rbac::Rbac,
        ("apiextensions.k8s.io", "CustomResourceDefinition") => &crd::CustomResourceDefinition,
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy") => {
            &admission_policy::ValidatingAdmissionPolicy
        }
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding") => {
            &admission_policy::ValidatingAdmissionPolicyBinding
        }
        ("certificates.k8s.io", "CertificateSigningRequest") => {
            &certificate_signing_request::CertificateSigningRequest
        }
        _ => &Generic,
    }
}
