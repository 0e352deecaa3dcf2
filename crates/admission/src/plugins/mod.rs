//! The built-in plugins and the registry that builds one by its kube name.

pub mod always;
pub mod certificates;
pub mod default_class;
pub mod external_ips;
pub mod limit_ranger;
pub mod namespace_lifecycle;
pub mod node_restriction;
pub mod node_taints;
pub mod owner_references;
pub mod pod_restrictions;
pub mod priority;
pub mod quota_usage;
pub mod resource_quota;
pub mod runtime_class;
pub mod service_account;
pub mod storage;
pub mod tolerations;

use crate::types::{MutatingPlugin, ValidatingPlugin};
use std::sync::Arc;

/// The phases one named plugin takes part in.
#[derive(Default)]
pub struct Built {
    pub mutating: Option<Arc<dyn MutatingPlugin>>,
    pub validating: Option<Arc<dyn ValidatingPlugin>>,
    /// The policies ValidatingAdmissionPolicy enforces, for the server to keep current.
    pub policies: Option<Arc<crate::policy::PolicySet>>,
    /// The policies MutatingAdmissionPolicy applies, for the server to keep current.
    pub mutating_policies: Option<Arc<crate::policy::mutating::MutatingPolicySet>>,
    /// The configurations a webhook plugin reads, for the server to keep current.
    pub webhooks: Option<Arc<crate::webhook::WebhookSource>>,
}

fn validating(p: impl ValidatingPlugin + 'static) -> Option<Built> {
    Some(Built { validating: Some(Arc::new(p)), ..Built::default() })
}

fn mutating(p: impl MutatingPlugin + 'static) -> Option<Built> {
    Some(Built { mutating: Some(Arc::new(p)), ..Built::default() })
}

/// A plugin in both phases (one instance serves both).
fn both<P: MutatingPlugin + ValidatingPlugin + 'static>(p: P) -> Option<Built> {
    let p = Arc::new(p);
    Some(Built { mutating: Some(p.clone()), validating: Some(p), ..Built::default() })
}

fn validating_admission_policy() -> Option<Built> {
    let plugin = crate::policy::ValidatingAdmissionPolicy::default();
    let policies = plugin.policies();
    Some(Built { validating: Some(Arc::new(plugin)), policies: Some(policies), ..Built::default() })
}

fn mutating_admission_policy() -> Option<Built> {
    let plugin = crate::policy::mutating::MutatingAdmissionPolicy::default();
    let policies = plugin.policies();
    Some(Built { mutating: Some(Arc::new(plugin)), mutating_policies: Some(policies), ..Built::default() })
}

fn mutating_webhook() -> Option<Built> {
    let plugin = crate::webhook::MutatingWebhook::default();
    let webhooks = Some(plugin.source());
    Some(Built { mutating: Some(Arc::new(plugin)), webhooks, ..Built::default() })
}

fn validating_webhook() -> Option<Built> {
    let plugin = crate::webhook::ValidatingWebhook::default();
    let webhooks = Some(plugin.source());
    Some(Built { validating: Some(Arc::new(plugin)), webhooks, ..Built::default() })
}

/// The plugin registered under `name`, or `None` when kubeward does not implement it.
pub fn build(name: &str) -> Option<Built> {
    match name {
        "AlwaysAdmit" => validating(always::AlwaysAdmit),
        "AlwaysDeny" => validating(always::AlwaysDeny),
        "NamespaceLifecycle" => validating(namespace_lifecycle::NamespaceLifecycle),
        "NamespaceExists" => validating(always::NamespaceExists),
        "LimitRanger" => both(limit_ranger::LimitRanger),
        "PodSecurity" => validating(crate::pod_security::PodSecurity),
        "ResourceQuota" => validating(resource_quota::ResourceQuota::default()),
        "NodeRestriction" => validating(node_restriction::NodeRestriction),
        "MutatingAdmissionWebhook" => mutating_webhook(),
        "ValidatingAdmissionWebhook" => validating_webhook(),
        "ValidatingAdmissionPolicy" => validating_admission_policy(),
        "MutatingAdmissionPolicy" => mutating_admission_policy(),
        "ServiceAccount" => mutating(service_account::ServiceAccount),
        "TaintNodesByCondition" => mutating(node_taints::TaintNodesByCondition),
        "DefaultTolerationSeconds" => mutating(node_taints::DefaultTolerationSeconds::default()),
        "Priority" => both(priority::Priority),
        "DefaultStorageClass" => mutating(default_class::DefaultStorageClass),
        "DefaultIngressClass" => mutating(default_class::DefaultIngressClass),
        "StorageObjectInUseProtection" => mutating(storage::StorageObjectInUseProtection),
        "PersistentVolumeClaimResize" => validating(storage::PersistentVolumeClaimResize),
        "RuntimeClass" => both(runtime_class::RuntimeClass),
        "CertificateApproval" => validating(certificates::CertificateApproval),
        "CertificateSigning" => validating(certificates::CertificateSigning),
        "ClusterTrustBundleAttest" => validating(certificates::ClusterTrustBundleAttest),
        "CertificateSubjectRestriction" => validating(certificates::CertificateSubjectRestriction),
        "AlwaysPullImages" => both(pod_restrictions::AlwaysPullImages),
        "PodNodeSelector" => both(pod_restrictions::PodNodeSelector),
        "PodTolerationRestriction" => both(pod_restrictions::PodTolerationRestriction),
        "DenyServiceExternalIPs" => validating(external_ips::DenyServiceExternalIPs),
        "OwnerReferencesPermissionEnforcement" => {
            validating(owner_references::OwnerReferencesPermissionEnforcement)
        }
        _ => None,
    }
}
