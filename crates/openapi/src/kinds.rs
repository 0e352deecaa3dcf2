//! The table of Kubernetes kinds whose schemas this crate knows, mapped to their `k8s-openapi` types.
//!
//! Registering a kind puts its schema (and everything it references) into the schemars generator and
//! yields the kube definition name (`io.k8s.api.core.v1.Pod`).

use k8s_openapi::api::{
    admissionregistration, apps, authentication, authorization, autoscaling, batch, certificates,
    coordination, core, discovery, events, flowcontrol, networking, node, policy, rbac, resource, scheduling,
    storage,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;
use k8s_openapi::kube_aggregator::pkg::apis::apiregistration;
use schemars::{JsonSchema, SchemaGenerator};

/// Puts `T`'s schema into `generator` and returns its definition name.
fn register<T: JsonSchema>(generator: &mut SchemaGenerator) -> String {
    generator.subschema_for::<T>();
    T::schema_name().into_owned()
}

macro_rules! kind_table {
    ($generator:ident, $key:expr; $( ($group:literal, $version:literal, $kind:literal) => $ty:ty ),* $(,)?) => {
        match $key {
            $( ($group, $version, $kind) => Some(register::<$ty>($generator)), )*
            _ => None,
        }
    };
}

/// Registers the schema of `group/version, kind` and returns its definition name, or `None` when
/// `k8s-openapi` has no such kind.
pub(crate) fn register_kind(
    generator: &mut SchemaGenerator,
    group: &str,
    version: &str,
    kind: &str,
) -> Option<String> {
    kind_table!(generator, (group, version, kind);
        ("", "v1", "Namespace") => core::v1::Namespace,
        ("", "v1", "ConfigMap") => core::v1::ConfigMap,
        ("", "v1", "Secret") => core::v1::Secret,
        ("", "v1", "ServiceAccount") => core::v1::ServiceAccount,
        ("", "v1", "Pod") => core::v1::Pod,
        ("", "v1", "Service") => core::v1::Service,
        ("", "v1", "Endpoints") => core::v1::Endpoints,
        ("", "v1", "Event") => core::v1::Event,
        ("", "v1", "Node") => core::v1::Node,
        ("", "v1", "PersistentVolume") => core::v1::PersistentVolume,
        ("", "v1", "PersistentVolumeClaim") => core::v1::PersistentVolumeClaim,
        ("", "v1", "LimitRange") => core::v1::LimitRange,
        ("", "v1", "ResourceQuota") => core::v1::ResourceQuota,
        ("", "v1", "ReplicationController") => core::v1::ReplicationController,
        ("", "v1", "Binding") => core::v1::Binding,
        ("", "v1", "PodTemplate") => core::v1::PodTemplate,
        ("", "v1", "ComponentStatus") => core::v1::ComponentStatus,
        ("apps", "v1", "Deployment") => apps::v1::Deployment,
        ("apps", "v1", "ReplicaSet") => apps::v1::ReplicaSet,
        ("apps", "v1", "StatefulSet") => apps::v1::StatefulSet,
        ("apps", "v1", "DaemonSet") => apps::v1::DaemonSet,
        ("apps", "v1", "ControllerRevision") => apps::v1::ControllerRevision,
        ("batch", "v1", "Job") => batch::v1::Job,
        ("batch", "v1", "CronJob") => batch::v1::CronJob,
        ("rbac.authorization.k8s.io", "v1", "Role") => rbac::v1::Role,
        ("rbac.authorization.k8s.io", "v1", "ClusterRole") => rbac::v1::ClusterRole,
        ("rbac.authorization.k8s.io", "v1", "RoleBinding") => rbac::v1::RoleBinding,
        ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding") => rbac::v1::ClusterRoleBinding,
        ("coordination.k8s.io", "v1", "Lease") => coordination::v1::Lease,
        ("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration") => admissionregistration::v1::MutatingWebhookConfiguration,
        ("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration") => admissionregistration::v1::ValidatingWebhookConfiguration,
        ("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicy") => admissionregistration::v1::ValidatingAdmissionPolicy,
        ("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicyBinding") => admissionregistration::v1::ValidatingAdmissionPolicyBinding,
        ("admissionregistration.k8s.io", "v1beta1", "MutatingAdmissionPolicy") => admissionregistration::v1beta1::MutatingAdmissionPolicy,
        ("admissionregistration.k8s.io", "v1beta1", "MutatingAdmissionPolicyBinding") => admissionregistration::v1beta1::MutatingAdmissionPolicyBinding,
        ("admissionregistration.k8s.io", "v1alpha1", "MutatingAdmissionPolicy") => admissionregistration::v1alpha1::MutatingAdmissionPolicy,
        ("admissionregistration.k8s.io", "v1alpha1", "MutatingAdmissionPolicyBinding") => admissionregistration::v1alpha1::MutatingAdmissionPolicyBinding,
        ("authentication.k8s.io", "v1", "TokenReview") => authentication::v1::TokenReview,
        ("authentication.k8s.io", "v1", "SelfSubjectReview") => authentication::v1::SelfSubjectReview,
        ("authentication.k8s.io", "v1", "TokenRequest") => authentication::v1::TokenRequest,
        ("authorization.k8s.io", "v1", "SubjectAccessReview") => authorization::v1::SubjectAccessReview,
        ("authorization.k8s.io", "v1", "SelfSubjectAccessReview") => authorization::v1::SelfSubjectAccessReview,
        ("authorization.k8s.io", "v1", "LocalSubjectAccessReview") => authorization::v1::LocalSubjectAccessReview,
        ("authorization.k8s.io", "v1", "SelfSubjectRulesReview") => authorization::v1::SelfSubjectRulesReview,
        ("events.k8s.io", "v1", "Event") => events::v1::Event,
        ("certificates.k8s.io", "v1", "CertificateSigningRequest") => certificates::v1::CertificateSigningRequest,
        ("certificates.k8s.io", "v1beta1", "ClusterTrustBundle") => certificates::v1beta1::ClusterTrustBundle,
        ("discovery.k8s.io", "v1", "EndpointSlice") => discovery::v1::EndpointSlice,
        ("networking.k8s.io", "v1", "NetworkPolicy") => networking::v1::NetworkPolicy,
        ("networking.k8s.io", "v1", "Ingress") => networking::v1::Ingress,
        ("networking.k8s.io", "v1", "IngressClass") => networking::v1::IngressClass,
        ("networking.k8s.io", "v1", "IPAddress") => networking::v1::IPAddress,
        ("networking.k8s.io", "v1", "ServiceCIDR") => networking::v1::ServiceCIDR,
        ("policy", "v1", "PodDisruptionBudget") => policy::v1::PodDisruptionBudget,
        ("policy", "v1", "Eviction") => policy::v1::Eviction,
        ("autoscaling", "v1", "Scale") => autoscaling::v1::Scale,
        ("autoscaling", "v1", "HorizontalPodAutoscaler") => autoscaling::v1::HorizontalPodAutoscaler,
        ("autoscaling", "v2", "HorizontalPodAutoscaler") => autoscaling::v2::HorizontalPodAutoscaler,
        ("storage.k8s.io", "v1", "StorageClass") => storage::v1::StorageClass,
        ("storage.k8s.io", "v1", "CSIDriver") => storage::v1::CSIDriver,
        ("storage.k8s.io", "v1", "CSINode") => storage::v1::CSINode,
        ("storage.k8s.io", "v1", "VolumeAttachment") => storage::v1::VolumeAttachment,
        ("storage.k8s.io", "v1", "CSIStorageCapacity") => storage::v1::CSIStorageCapacity,
        ("storage.k8s.io", "v1", "VolumeAttributesClass") => storage::v1::VolumeAttributesClass,
        ("resource.k8s.io", "v1", "DeviceClass") => resource::v1::DeviceClass,
        ("resource.k8s.io", "v1", "ResourceClaim") => resource::v1::ResourceClaim,
        ("resource.k8s.io", "v1", "ResourceClaimTemplate") => resource::v1::ResourceClaimTemplate,
        ("resource.k8s.io", "v1", "ResourceSlice") => resource::v1::ResourceSlice,
        ("scheduling.k8s.io", "v1", "PriorityClass") => scheduling::v1::PriorityClass,
        ("node.k8s.io", "v1", "RuntimeClass") => node::v1::RuntimeClass,
        ("apiregistration.k8s.io", "v1", "APIService") => apiregistration::v1::APIService,
        ("apiextensions.k8s.io", "v1", "CustomResourceDefinition") => apiextensions::CustomResourceDefinition,
        ("flowcontrol.apiserver.k8s.io", "v1", "FlowSchema") => flowcontrol::v1::FlowSchema,
        ("flowcontrol.apiserver.k8s.io", "v1", "PriorityLevelConfiguration") => flowcontrol::v1::PriorityLevelConfiguration,
    )
}

/// The definition name kube gives a kind: `io.k8s.api.<first group label>.<version>.<Kind>`
/// (`rbac.authorization.k8s.io` lives in package `rbac`).
pub(crate) fn definition_name(group: &str, version: &str, kind: &str) -> String {
    let short = match group {
        "" => "core",
        g => g.split('.').next().unwrap_or(g),
    };
    format!("io.k8s.api.{short}.{version}.{kind}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use schemars::generate::SchemaSettings;

    #[test]
    fn registered_names_follow_kube_naming() {
        let mut generator = SchemaSettings::openapi3().into_generator();
        for (g, v, k) in [
            ("", "v1", "Pod"),
            ("rbac.authorization.k8s.io", "v1", "ClusterRole"),
            ("authentication.k8s.io", "v1", "TokenRequest"),
            ("apps", "v1", "Deployment"),
        ] {
            let name = register_kind(&mut generator, g, v, k);
            assert_eq!(name.as_deref(), Some(definition_name(g, v, k).as_str()));
        }
        assert_eq!(register_kind(&mut generator, "example.com", "v1", "Widget"), None);
    }
}
