//! Patch metadata of the built-in kinds, transcribed from the `patchStrategy` and
//! `patchMergeKey` struct tags of k8s.io/api (v0.34). Fields without tags are omitted:
//! their lists are replaced whole (e.g. `tolerations`, `ServiceAccount.imagePullSecrets`,
//! `Endpoints.subsets`, RBAC `rules` and `subjects`, `Node.spec.taints`).

use super::meta::{FieldDef as F, PatchMeta, StructMeta};

/// `metav1.ObjectMeta`: finalizers merge as a set, ownerReferences by uid.
pub static OBJECT_META: StructMeta =
    StructMeta { fields: &[F::merge_set("finalizers"), F::merge_by("ownerReferences", "uid", None)] };

/// Lists of `type`-keyed conditions (`patchStrategy:"merge" patchMergeKey:"type"`).
static STATUS_CONDITIONS: StructMeta = StructMeta { fields: &[F::merge_by("conditions", "type", None)] };

/// `core/v1.Container` (and the fields `EphemeralContainer` shares with it).
static CONTAINER: StructMeta = StructMeta {
    fields: &[
        F::merge_by("ports", "containerPort", None),
        F::merge_by("env", "name", None),
        F::merge_by("volumeMounts", "mountPath", None),
        F::merge_by("volumeDevices", "devicePath", None),
    ],
};

/// `core/v1.PodSpec`.
pub static POD_SPEC: StructMeta = StructMeta {
    fields: &[
        F::merge_retain_by("volumes", "name"),
        F::merge_by("initContainers", "name", Some(&CONTAINER)),
        F::merge_by("containers", "name", Some(&CONTAINER)),
        F::merge_by("ephemeralContainers", "name", Some(&CONTAINER)),
        F::merge_by("imagePullSecrets", "name", None),
        F::merge_by("hostAliases", "ip", None),
        F::merge_by("topologySpreadConstraints", "topologyKey", None),
        F::merge_by("schedulingGates", "name", None),
        F::merge_retain_by("resourceClaims", "name"),
    ],
};

static POD_STATUS: StructMeta = StructMeta {
    fields: &[
        F::merge_by("conditions", "type", None),
        F::merge_by("podIPs", "ip", None),
        F::merge_by("hostIPs", "ip", None),
        F::merge_retain_by("resourceClaimStatuses", "name"),
    ],
};

static POD: StructMeta = StructMeta {
    fields: &[
        F::nested("metadata", &OBJECT_META),
        F::nested("spec", &POD_SPEC),
        F::nested("status", &POD_STATUS),
    ],
};

/// `core/v1.PodTemplateSpec`.
static POD_TEMPLATE_SPEC: StructMeta =
    StructMeta { fields: &[F::nested("metadata", &OBJECT_META), F::nested("spec", &POD_SPEC)] };

static POD_TEMPLATE: StructMeta =
    StructMeta { fields: &[F::nested("metadata", &OBJECT_META), F::nested("template", &POD_TEMPLATE_SPEC)] };

/// A spec whose only tagged content is its pod template (RC, ReplicaSet, StatefulSet, DaemonSet, Job).
static TEMPLATED_SPEC: StructMeta = StructMeta { fields: &[F::nested("template", &POD_TEMPLATE_SPEC)] };

/// Workloads: `spec.template` is a pod template, `status.conditions` merge by type.
static WORKLOAD: StructMeta = StructMeta {
    fields: &[
        F::nested("metadata", &OBJECT_META),
        F::nested("spec", &TEMPLATED_SPEC),
        F::nested("status", &STATUS_CONDITIONS),
    ],
};

static DEPLOYMENT_SPEC: StructMeta =
    StructMeta { fields: &[F::nested("template", &POD_TEMPLATE_SPEC), F::retain_keys("strategy")] };

static DEPLOYMENT: StructMeta = StructMeta {
    fields: &[
        F::nested("metadata", &OBJECT_META),
        F::nested("spec", &DEPLOYMENT_SPEC),
        F::nested("status", &STATUS_CONDITIONS),
    ],
};

static JOB_TEMPLATE_SPEC: StructMeta =
    StructMeta { fields: &[F::nested("metadata", &OBJECT_META), F::nested("spec", &TEMPLATED_SPEC)] };

static CRON_JOB_SPEC: StructMeta = StructMeta { fields: &[F::nested("jobTemplate", &JOB_TEMPLATE_SPEC)] };

static CRON_JOB: StructMeta =
    StructMeta { fields: &[F::nested("metadata", &OBJECT_META), F::nested("spec", &CRON_JOB_SPEC)] };

static SERVICE_SPEC: StructMeta = StructMeta { fields: &[F::merge_by("ports", "port", None)] };

static SERVICE: StructMeta = StructMeta {
    fields: &[
        F::nested("metadata", &OBJECT_META),
        F::nested("spec", &SERVICE_SPEC),
        F::nested("status", &STATUS_CONDITIONS),
    ],
};

static SERVICE_ACCOUNT: StructMeta =
    StructMeta { fields: &[F::nested("metadata", &OBJECT_META), F::merge_by("secrets", "name", None)] };

static NODE_SPEC: StructMeta = StructMeta { fields: &[F::merge_set("podCIDRs")] };

static NODE_STATUS: StructMeta =
    StructMeta { fields: &[F::merge_by("conditions", "type", None), F::merge_by("addresses", "type", None)] };

static NODE: StructMeta = StructMeta {
    fields: &[
        F::nested("metadata", &OBJECT_META),
        F::nested("spec", &NODE_SPEC),
        F::nested("status", &NODE_STATUS),
    ],
};

/// Kinds whose only tagged fields are `metadata` and `status.conditions`.
static WITH_STATUS_CONDITIONS: StructMeta =
    StructMeta { fields: &[F::nested("metadata", &OBJECT_META), F::nested("status", &STATUS_CONDITIONS)] };

/// Kinds whose only tagged field is `metadata`.
static METADATA_ONLY: StructMeta = StructMeta { fields: &[F::nested("metadata", &OBJECT_META)] };

/// ResourceClaim: `status.reservedFor` merges by `uid` (resource.k8s.io/v1's only patch tag).
static RESOURCE_CLAIM_STATUS: StructMeta = StructMeta { fields: &[F::merge_by("reservedFor", "uid", None)] };
static RESOURCE_CLAIM: StructMeta = StructMeta {
    fields: &[F::nested("metadata", &OBJECT_META), F::nested("status", &RESOURCE_CLAIM_STATUS)],
};

static WEBHOOK_CONFIGURATION: StructMeta =
    StructMeta { fields: &[F::nested("metadata", &OBJECT_META), F::merge_by("webhooks", "name", None)] };

/// The patch metadata of a built-in kind, for strategic merge patch. `None` for kinds
/// kubeward does not know as built-in (custom resources: kube refuses strategic merge
/// patch for them with 415, see [`super::PatchError::StrategicMergeNotSupported`]).
pub fn builtin_patch_meta(group: &str, kind: &str) -> Option<&'static dyn PatchMeta> {
    let meta: &'static StructMeta = match (group, kind) {
        ("", "Pod") => &POD,
        ("", "PodTemplate") => &POD_TEMPLATE,
        ("", "ReplicationController") => &WORKLOAD,
        ("", "Service") => &SERVICE,
        ("", "ServiceAccount") => &SERVICE_ACCOUNT,
        ("", "Node") => &NODE,
        ("", "Namespace" | "PersistentVolumeClaim") => &WITH_STATUS_CONDITIONS,
        (
            "",
            "ConfigMap" | "Secret" | "Endpoints" | "Event" | "LimitRange" | "ResourceQuota"
            | "PersistentVolume" | "ComponentStatus",
        ) => &METADATA_ONLY,
        ("apps", "Deployment") => &DEPLOYMENT,
        ("apps", "ReplicaSet" | "StatefulSet" | "DaemonSet") => &WORKLOAD,
        ("apps", "ControllerRevision") => &METADATA_ONLY,
        ("batch", "Job") => &WORKLOAD,
        ("batch", "CronJob") => &CRON_JOB,
        ("autoscaling", "HorizontalPodAutoscaler") => &WITH_STATUS_CONDITIONS,
        ("policy", "PodDisruptionBudget") => &WITH_STATUS_CONDITIONS,
        ("apiregistration.k8s.io", "APIService") => &WITH_STATUS_CONDITIONS,
        ("networking.k8s.io", "ServiceCIDR") => &WITH_STATUS_CONDITIONS,
        ("resource.k8s.io", "ResourceClaim") => &RESOURCE_CLAIM,
        (
            "admissionregistration.k8s.io",
            "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration",
        ) => &WEBHOOK_CONFIGURATION,
        ("admissionregistration.k8s.io", _)
        | ("coordination.k8s.io", "Lease")
        | ("rbac.authorization.k8s.io", "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding")
        | ("events.k8s.io", "Event")
        | ("discovery.k8s.io", "EndpointSlice")
        | ("networking.k8s.io", "Ingress" | "IngressClass" | "NetworkPolicy")
        | ("networking.k8s.io", "IPAddress")
        | ("resource.k8s.io", "DeviceClass" | "ResourceClaimTemplate" | "ResourceSlice")
        | ("storage.k8s.io", _)
        | ("scheduling.k8s.io", "PriorityClass")
        | ("node.k8s.io", "RuntimeClass")
        | ("certificates.k8s.io", "CertificateSigningRequest" | "ClusterTrustBundle")
        | ("flowcontrol.apiserver.k8s.io", _)
        | ("apiextensions.k8s.io", "CustomResourceDefinition") => &METADATA_ONLY,
        _ => return None,
    };
    Some(meta)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::meta::{lookup_path, PatchStrategy};
    use super::*;

    fn key(group: &str, kind: &str, path: &[&str]) -> Option<&'static str> {
        let m = builtin_patch_meta(group, kind)?;
        let f = lookup_path(m, path)?;
        assert_eq!(f.strategy, PatchStrategy::Merge, "{kind} {path:?}");
        f.merge_key
    }

    #[test]
    fn pod_lists() {
        assert_eq!(key("", "Pod", &["spec", "containers"]), Some("name"));
        assert_eq!(key("", "Pod", &["spec", "initContainers"]), Some("name"));
        assert_eq!(key("", "Pod", &["spec", "ephemeralContainers"]), Some("name"));
        assert_eq!(key("", "Pod", &["spec", "containers", "ports"]), Some("containerPort"));
        assert_eq!(key("", "Pod", &["spec", "containers", "env"]), Some("name"));
        assert_eq!(key("", "Pod", &["spec", "containers", "volumeMounts"]), Some("mountPath"));
        assert_eq!(key("", "Pod", &["spec", "initContainers", "volumeDevices"]), Some("devicePath"));
        assert_eq!(key("", "Pod", &["spec", "volumes"]), Some("name"));
        assert_eq!(key("", "Pod", &["spec", "imagePullSecrets"]), Some("name"));
        assert_eq!(key("", "Pod", &["spec", "hostAliases"]), Some("ip"));
        assert_eq!(key("", "Pod", &["status", "conditions"]), Some("type"));
        assert_eq!(key("", "Pod", &["metadata", "ownerReferences"]), Some("uid"));
        assert_eq!(key("", "Pod", &["metadata", "finalizers"]), None);
        let pod = builtin_patch_meta("", "Pod").unwrap();
        assert!(lookup_path(pod, &["spec", "tolerations"]).is_none(), "tolerations replace");
        assert!(lookup_path(pod, &["spec", "containers", "args"]).is_none());
        assert!(lookup_path(pod, &["spec", "volumes"]).unwrap().retain_keys);
    }

    #[test]
    fn other_kinds() {
        assert_eq!(key("", "Service", &["spec", "ports"]), Some("port"));
        assert_eq!(key("", "ServiceAccount", &["secrets"]), Some("name"));
        let sa = builtin_patch_meta("", "ServiceAccount").unwrap();
        assert!(lookup_path(sa, &["imagePullSecrets"]).is_none(), "no tag on ServiceAccount");
        assert_eq!(key("", "Node", &["status", "conditions"]), Some("type"));
        assert_eq!(key("", "Node", &["status", "addresses"]), Some("type"));
        assert_eq!(key("", "Node", &["spec", "podCIDRs"]), None);
        assert_eq!(key("", "Namespace", &["status", "conditions"]), Some("type"));
        assert_eq!(key("apps", "Deployment", &["spec", "template", "spec", "containers"]), Some("name"));
        assert_eq!(key("apps", "Deployment", &["spec", "template", "metadata", "finalizers"]), None);
        assert_eq!(key("apps", "Deployment", &["status", "conditions"]), Some("type"));
        assert_eq!(key("apps", "StatefulSet", &["spec", "template", "spec", "volumes"]), Some("name"));
        assert_eq!(
            key("batch", "CronJob", &["spec", "jobTemplate", "spec", "template", "spec", "containers"]),
            Some("name")
        );
        assert_eq!(key("rbac.authorization.k8s.io", "Role", &["metadata", "ownerReferences"]), Some("uid"));
        let role = builtin_patch_meta("rbac.authorization.k8s.io", "ClusterRole").unwrap();
        assert!(lookup_path(role, &["rules"]).is_none(), "rules replace");
        for (g, k) in [("", "ConfigMap"), ("", "Secret"), ("", "Endpoints"), ("coordination.k8s.io", "Lease")]
        {
            assert!(builtin_patch_meta(g, k).is_some(), "{k}");
        }
        assert!(builtin_patch_meta("example.com", "Widget").is_none());
        assert!(builtin_patch_meta("apps", "Pod").is_none());
    }
}
