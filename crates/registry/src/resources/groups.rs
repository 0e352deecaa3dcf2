//! The other API groups: API registration, events, authentication and authorization
//! reviews, certificates, networking, RBAC, storage, admission registration, API extensions,
//! scheduling, coordination, node and discovery.

use super::{r, review, status};
use crate::catalog::ResourceType;
use crate::typed::{self, via};
use k8s_openapi::api::admissionregistration::{
    v1alpha1 as admissionregistration_v1alpha1, v1beta1 as admissionregistration_v1beta1,
};
use k8s_openapi::api::certificates::v1beta1 as certificates_v1beta1;
use k8s_openapi::api::{
    admissionregistration::v1 as admissionregistration, authentication::v1 as authentication,
    authorization::v1 as authorization, certificates::v1 as certificates, coordination::v1 as coordination,
    discovery::v1 as discovery, events::v1 as events, networking::v1 as networking, node::v1 as node,
    rbac::v1 as rbac, resource::v1 as resource, scheduling::v1 as scheduling, storage::v1 as storage,
};
use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1 as apiregistration;

const RBAC: &str = "rbac.authorization.k8s.io";

/// apiregistration.k8s.io/v1: stored and listed; kubeward does not proxy to aggregated servers.
pub(super) fn apiregistration() -> Vec<ResourceType> {
    vec![ResourceType {
        categories: &["api-extensions"],
        ..r(
            "apiregistration.k8s.io",
            "v1",
            "APIService",
            "apiservices",
            "apiservice",
            false,
            &[],
            via::<apiregistration::APIService>,
        )
        .with_status(status!("apiregistration.k8s.io", "v1", "APIService"))
    }]
}

/// events.k8s.io/v1: another serialization of the core v1 Events, kept under their keys.
pub(super) fn events() -> Vec<ResourceType> {
    vec![ResourceType {
        stored_as: Some(("", "events")),
        ..r("events.k8s.io", "v1", "Event", "events", "event", true, &["ev"], via::<events::Event>)
    }]
}

pub(super) fn authentication() -> Vec<ResourceType> {
    let g = "authentication.k8s.io";
    vec![
        review(g, "TokenReview", "tokenreviews", "tokenreview", false, via::<authentication::TokenReview>),
        review(
            g,
            "SelfSubjectReview",
            "selfsubjectreviews",
            "selfsubjectreview",
            false,
            via::<authentication::SelfSubjectReview>,
        ),
        ResourceType {
            version: "v1beta1",
            ..review(
                g,
                "SelfSubjectReview",
                "selfsubjectreviews",
                "selfsubjectreview",
                false,
                typed::self_subject_review,
            )
        },
    ]
}

pub(super) fn authorization() -> Vec<ResourceType> {
    let g = "authorization.k8s.io";
    vec![
        review(
            g,
            "SubjectAccessReview",
            "subjectaccessreviews",
            "subjectaccessreview",
            false,
            via::<authorization::SubjectAccessReview>,
        ),
        review(
            g,
            "SelfSubjectAccessReview",
            "selfsubjectaccessreviews",
            "selfsubjectaccessreview",
            false,
            via::<authorization::SelfSubjectAccessReview>,
        ),
        review(
            g,
            "LocalSubjectAccessReview",
            "localsubjectaccessreviews",
            "localsubjectaccessreview",
            true,
            via::<authorization::LocalSubjectAccessReview>,
        ),
        review(
            g,
            "SelfSubjectRulesReview",
            "selfsubjectrulesreviews",
            "selfsubjectrulesreview",
            false,
            via::<authorization::SelfSubjectRulesReview>,
        ),
    ]
}

/// certificates.k8s.io: v1 CertificateSigningRequests, with `status` (the issued
/// certificate, conditions other than approval) and `approval` (Approved/Denied) written
/// apart, as kube's CSR registry serves them; v1beta1 ClusterTrustBundles.
///
/// kube 1.34 serves ClusterTrustBundles (v1beta1, and v1alpha1) only with the
/// `ClusterTrustBundle` feature gate and their API version turned on; kubeward has neither
/// switch and serves v1beta1, the version kube's gate is beta at. v1alpha1 is not served.
pub(super) fn certificates() -> Vec<ResourceType> {
    let g = "certificates.k8s.io";
    const KIND: &str = "CertificateSigningRequest";
    vec![
        ResourceType {
            subresources: &[
                crate::catalog::Subresource {
                    name: "status",
                    group: "certificates.k8s.io",
                    version: "v1",
                    kind: KIND,
                    verbs: crate::catalog::STATUS_VERBS,
                },
                crate::catalog::Subresource {
                    name: "approval",
                    group: "certificates.k8s.io",
                    version: "v1",
                    kind: KIND,
                    verbs: crate::catalog::STATUS_VERBS,
                },
            ],
            has_status: true,
            ..r(
                g,
                "v1",
                KIND,
                "certificatesigningrequests",
                "certificatesigningrequest",
                false,
                &["csr"],
                via::<certificates::CertificateSigningRequest>,
            )
        },
        r(
            g,
            "v1beta1",
            "ClusterTrustBundle",
            "clustertrustbundles",
            "clustertrustbundle",
            false,
            &[],
            via::<certificates_v1beta1::ClusterTrustBundle>,
        ),
    ]
}

pub(super) fn networking() -> Vec<ResourceType> {
    let g = "networking.k8s.io";
    vec![
        r(
            g,
            "v1",
            "NetworkPolicy",
            "networkpolicies",
            "networkpolicy",
            true,
            &["netpol"],
            via::<networking::NetworkPolicy>,
        ),
        r(g, "v1", "Ingress", "ingresses", "ingress", true, &["ing"], via::<networking::Ingress>)
            .with_status(status!("networking.k8s.io", "v1", "Ingress")),
        r(
            g,
            "v1",
            "IngressClass",
            "ingressclasses",
            "ingressclass",
            false,
            &[],
            via::<networking::IngressClass>,
        ),
        r(g, "v1", "IPAddress", "ipaddresses", "ipaddress", false, &["ip"], via::<networking::IPAddress>),
        r(g, "v1", "ServiceCIDR", "servicecidrs", "servicecidr", false, &[], via::<networking::ServiceCIDR>)
            .with_status(status!("networking.k8s.io", "v1", "ServiceCIDR")),
    ]
}

pub(super) fn rbac() -> Vec<ResourceType> {
    vec![
        r(RBAC, "v1", "ClusterRole", "clusterroles", "clusterrole", false, &[], via::<rbac::ClusterRole>),
        r(
            RBAC,
            "v1",
            "ClusterRoleBinding",
            "clusterrolebindings",
            "clusterrolebinding",
            false,
            &[],
            via::<rbac::ClusterRoleBinding>,
        ),
        r(RBAC, "v1", "Role", "roles", "role", true, &[], via::<rbac::Role>),
        r(RBAC, "v1", "RoleBinding", "rolebindings", "rolebinding", true, &[], via::<rbac::RoleBinding>),
    ]
}

pub(super) fn storage() -> Vec<ResourceType> {
    let g = "storage.k8s.io";
    vec![
        r(
            g,
            "v1",
            "StorageClass",
            "storageclasses",
            "storageclass",
            false,
            &["sc"],
            via::<storage::StorageClass>,
        ),
        r(g, "v1", "CSIDriver", "csidrivers", "csidriver", false, &[], via::<storage::CSIDriver>),
        r(g, "v1", "CSINode", "csinodes", "csinode", false, &[], via::<storage::CSINode>),
        r(
            g,
            "v1",
            "VolumeAttachment",
            "volumeattachments",
            "volumeattachment",
            false,
            &[],
            via::<storage::VolumeAttachment>,
        )
        .with_status(status!("storage.k8s.io", "v1", "VolumeAttachment")),
        r(
            g,
            "v1",
            "CSIStorageCapacity",
            "csistoragecapacities",
            "csistoragecapacity",
            true,
            &[],
            via::<storage::CSIStorageCapacity>,
        ),
        r(
            g,
            "v1",
            "VolumeAttributesClass",
            "volumeattributesclasses",
            "volumeattributesclass",
            false,
            &["vac"],
            via::<storage::VolumeAttributesClass>,
        ),
    ]
}

/// resource.k8s.io/v1 (dynamic resource allocation, GA in kube 1.34): stored, validated and
/// printed as kube does; kubeward runs no scheduler or driver that allocates claims.
pub(super) fn resource() -> Vec<ResourceType> {
    let g = "resource.k8s.io";
    vec![
        r(g, "v1", "DeviceClass", "deviceclasses", "deviceclass", false, &[], via::<resource::DeviceClass>),
        r(
            g,
            "v1",
            "ResourceClaim",
            "resourceclaims",
            "resourceclaim",
            true,
            &[],
            via::<resource::ResourceClaim>,
        )
        .with_status(status!("resource.k8s.io", "v1", "ResourceClaim")),
        r(
            g,
            "v1",
            "ResourceClaimTemplate",
            "resourceclaimtemplates",
            "resourceclaimtemplate",
            true,
            &[],
            via::<resource::ResourceClaimTemplate>,
        ),
        r(
            g,
            "v1",
            "ResourceSlice",
            "resourceslices",
            "resourceslice",
            false,
            &[],
            via::<resource::ResourceSlice>,
        ),
    ]
}

/// admissionregistration.k8s.io: webhook configurations and ValidatingAdmissionPolicies
/// with their bindings (v1), MutatingAdmissionPolicies with theirs (v1beta1, and v1alpha1
/// as kube 1.34 serves it when asked), all in kube's `api-extensions` category.
///
/// kube 1.34 serves the mutating policies only with the `MutatingAdmissionPolicy` feature
/// gate and their API versions turned on; kubeward has neither switch and serves them.
pub(super) fn admissionregistration() -> Vec<ResourceType> {
    let g = "admissionregistration.k8s.io";
    let ext = ResourceType::in_api_extensions;
    vec![
        ext(r(
            g,
            "v1",
            "MutatingWebhookConfiguration",
            "mutatingwebhookconfigurations",
            "mutatingwebhookconfiguration",
            false,
            &[],
            via::<admissionregistration::MutatingWebhookConfiguration>,
        )),
        ext(r(
            g,
            "v1",
            "ValidatingAdmissionPolicy",
            "validatingadmissionpolicies",
            "validatingadmissionpolicy",
            false,
            &[],
            via::<admissionregistration::ValidatingAdmissionPolicy>,
        )
        .with_status(status!("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicy"))),
        ext(r(
            g,
            "v1",
            "ValidatingAdmissionPolicyBinding",
            "validatingadmissionpolicybindings",
            "validatingadmissionpolicybinding",
            false,
            &[],
            via::<admissionregistration::ValidatingAdmissionPolicyBinding>,
        )),
        ext(r(
            g,
            "v1",
            "ValidatingWebhookConfiguration",
            "validatingwebhookconfigurations",
            "validatingwebhookconfiguration",
            false,
            &[],
            via::<admissionregistration::ValidatingWebhookConfiguration>,
        )),
        ext(r(
            g,
            "v1beta1",
            "MutatingAdmissionPolicy",
            "mutatingadmissionpolicies",
            "mutatingadmissionpolicy",
            false,
            &[],
            via::<admissionregistration_v1beta1::MutatingAdmissionPolicy>,
        )),
        ext(r(
            g,
            "v1beta1",
            "MutatingAdmissionPolicyBinding",
            "mutatingadmissionpolicybindings",
            "mutatingadmissionpolicybinding",
            false,
            &[],
            via::<admissionregistration_v1beta1::MutatingAdmissionPolicyBinding>,
        )),
        ext(stored_as_v1beta1(r(
            g,
            "v1alpha1",
            "MutatingAdmissionPolicy",
            "mutatingadmissionpolicies",
            "mutatingadmissionpolicy",
            false,
            &[],
            via::<admissionregistration_v1alpha1::MutatingAdmissionPolicy>,
        ))),
        ext(stored_as_v1beta1(r(
            g,
            "v1alpha1",
            "MutatingAdmissionPolicyBinding",
            "mutatingadmissionpolicybindings",
            "mutatingadmissionpolicybinding",
            false,
            &[],
            via::<admissionregistration_v1alpha1::MutatingAdmissionPolicyBinding>,
        ))),
    ]
}

/// A v1alpha1 MutatingAdmissionPolicy kind: the same objects as v1beta1's (kube 1.34
/// serves both, of one shape, stored as v1beta1), under v1beta1's keys.
const fn stored_as_v1beta1(rt: ResourceType) -> ResourceType {
    ResourceType { stored_as: Some((rt.group, rt.plural)), storage_version: "v1beta1", ..rt }
}

/// apiextensions.k8s.io/v1: CustomResourceDefinitions; what they define is served by
/// `crate::custom`.
pub(super) fn apiextensions() -> Vec<ResourceType> {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    vec![ResourceType {
        categories: &["api-extensions"],
        ..r(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
            "customresourcedefinition",
            false,
            &["crd", "crds"],
            via::<CustomResourceDefinition>,
        )
        .with_status(status!("apiextensions.k8s.io", "v1", "CustomResourceDefinition"))
    }]
}

pub(super) fn scheduling() -> Vec<ResourceType> {
    vec![r(
        "scheduling.k8s.io",
        "v1",
        "PriorityClass",
        "priorityclasses",
        "priorityclass",
        false,
        &["pc"],
        via::<scheduling::PriorityClass>,
    )]
}

pub(super) fn coordination() -> Vec<ResourceType> {
    vec![r("coordination.k8s.io", "v1", "Lease", "leases", "lease", true, &[], via::<coordination::Lease>)]
}

pub(super) fn node() -> Vec<ResourceType> {
    vec![r(
        "node.k8s.io",
        "v1",
        "RuntimeClass",
        "runtimeclasses",
        "runtimeclass",
        false,
        &[],
        via::<node::RuntimeClass>,
    )]
}

pub(super) fn discovery() -> Vec<ResourceType> {
    vec![r(
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        "endpointslices",
        "endpointslice",
        true,
        &[],
        via::<discovery::EndpointSlice>,
    )]
}
