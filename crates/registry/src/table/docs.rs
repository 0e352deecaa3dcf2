//! The `description` of each Table column, as kube's printers give it: most columns show a
//! field and take that field's API doc (Go's `SwaggerDoc()`, the same comment the OpenAPI
//! description comes from), the others a text of their own.
//!
//! [`DOCS`] says, per kind and column, which field or text it is; field docs are read from
//! `k8s-openapi`'s schemas (kube's OpenAPI descriptions), all at once on first use, and kept.
//! Where kube's printer names a field of a version kube no longer serves (extensions/v1beta1,
//! rbac/v1beta1, ...) whose doc has since changed, the row holds that version's doc as text.

use std::collections::HashMap;
use std::sync::OnceLock;

use k8s_openapi::api::{
    apps::v1 as apps, autoscaling::v2 as autoscaling, batch::v1 as batch, certificates::v1 as certificates,
    certificates::v1beta1 as certificates_beta, coordination::v1 as coordination, core::v1 as core,
    discovery::v1 as discovery, flowcontrol::v1 as flowcontrol, networking::v1 as networking,
    resource::v1 as resource, scheduling::v1 as scheduling, storage::v1 as storage,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use schemars::{JsonSchema, Schema, SchemaGenerator};

/// Where a column's description comes from.
#[derive(Clone, Copy)]
pub(super) enum Doc {
    /// The API doc of a field: the type's schema and the field's JSON name.
    Field(fn(&mut SchemaGenerator) -> Schema, &'static str),
    /// A text of the printer's own.
    Text(&'static str),
}

/// The doc of `field` of `T`.
const fn field<T: JsonSchema>(field: &'static str) -> Doc {
    Doc::Field(T::json_schema, field)
}

const fn text(text: &'static str) -> Doc {
    Doc::Text(text)
}

/// Columns every printer describes alike, by name.
const COMMON: &[(&str, Doc)] = &[
    ("Name", field::<meta::ObjectMeta>("name")),
    ("Age", field::<meta::ObjectMeta>("creationTimestamp")),
    // kube's default table convertor (kinds without a printer).
    ("Created At", field::<meta::ObjectMeta>("creationTimestamp")),
    ("Containers", text("Names of each container in the template.")),
    ("Images", text("Images referenced by each container in the template.")),
];

/// kube's printers.go (and kube-aggregator's APIService table): `(group, kind, column, doc)`
/// for every column not in [`COMMON`].
#[rustfmt::skip]
pub(super) const DOCS: &[(&str, &str, &str, Doc)] = &[
    ("", "Namespace", "Status", text("The status of the namespace")),
    ("", "ConfigMap", "Data", field::<core::ConfigMap>("data")),
    ("", "Secret", "Type", field::<core::Secret>("type")),
    ("", "Secret", "Data", field::<core::Secret>("data")),
    ("", "ServiceAccount", "Secrets", field::<core::ServiceAccount>("secrets")),
    ("", "Pod", "Ready", text("The aggregate readiness state of this pod for accepting traffic.")),
    ("", "Pod", "Status", text("The aggregate status of the containers in this pod.")),
    ("", "Pod", "Restarts", text("The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.")),
    ("", "Pod", "IP", field::<core::PodStatus>("podIP")),
    ("", "Pod", "Node", field::<core::PodSpec>("nodeName")),
    ("", "Pod", "Nominated Node", field::<core::PodStatus>("nominatedNodeName")),
    ("", "Pod", "Readiness Gates", field::<core::PodSpec>("readinessGates")),
    ("", "Service", "Type", field::<core::ServiceSpec>("type")),
    ("", "Service", "Cluster-IP", field::<core::ServiceSpec>("clusterIP")),
    ("", "Service", "External-IP", field::<core::ServiceSpec>("externalIPs")),
    ("", "Service", "Port(s)", field::<core::ServiceSpec>("ports")),
    ("", "Service", "Selector", field::<core::ServiceSpec>("selector")),
    ("", "Endpoints", "Endpoints", field::<core::Endpoints>("subsets")),
    ("", "Event", "Last Seen", field::<core::Event>("lastTimestamp")),
    ("", "Event", "Type", field::<core::Event>("type")),
    ("", "Event", "Reason", field::<core::Event>("reason")),
    ("", "Event", "Object", field::<core::Event>("involvedObject")),
    ("", "Event", "Subobject", field::<core::ObjectReference>("fieldPath")),
    ("", "Event", "Source", field::<core::Event>("source")),
    ("", "Event", "Message", field::<core::Event>("message")),
    ("", "Event", "First Seen", field::<core::Event>("firstTimestamp")),
    ("", "Event", "Count", field::<core::Event>("count")),
    ("", "Node", "Status", text("The status of the node")),
    ("", "Node", "Roles", text("The roles of the node")),
    ("", "Node", "Version", field::<core::NodeSystemInfo>("kubeletVersion")),
    ("", "Node", "Internal-IP", field::<core::NodeStatus>("addresses")),
    ("", "Node", "External-IP", field::<core::NodeStatus>("addresses")),
    ("", "Node", "OS-Image", field::<core::NodeSystemInfo>("osImage")),
    ("", "Node", "Kernel-Version", field::<core::NodeSystemInfo>("kernelVersion")),
    ("", "Node", "Container-Runtime", field::<core::NodeSystemInfo>("containerRuntimeVersion")),
    ("", "ReplicationController", "Desired", field::<core::ReplicationControllerSpec>("replicas")),
    ("", "ReplicationController", "Current", field::<core::ReplicationControllerStatus>("replicas")),
    ("", "ReplicationController", "Ready", field::<core::ReplicationControllerStatus>("readyReplicas")),
    ("", "ReplicationController", "Selector", field::<core::ReplicationControllerSpec>("selector")),
    ("", "PersistentVolume", "Capacity", field::<core::PersistentVolumeSpec>("capacity")),
    ("", "PersistentVolume", "Access Modes", field::<core::PersistentVolumeSpec>("accessModes")),
    ("", "PersistentVolume", "Reclaim Policy", field::<core::PersistentVolumeSpec>("persistentVolumeReclaimPolicy")),
    ("", "PersistentVolume", "Status", field::<core::PersistentVolumeStatus>("phase")),
    ("", "PersistentVolume", "Claim", field::<core::PersistentVolumeSpec>("claimRef")),
    ("", "PersistentVolume", "StorageClass", text("StorageClass of the pv")),
    ("", "PersistentVolume", "VolumeAttributesClass", text("VolumeAttributesClass of the pv")),
    ("", "PersistentVolume", "Reason", field::<core::PersistentVolumeStatus>("reason")),
    ("", "PersistentVolume", "VolumeMode", field::<core::PersistentVolumeSpec>("volumeMode")),
    ("", "PersistentVolumeClaim", "Status", field::<core::PersistentVolumeClaimStatus>("phase")),
    ("", "PersistentVolumeClaim", "Volume", field::<core::PersistentVolumeClaimSpec>("volumeName")),
    ("", "PersistentVolumeClaim", "Capacity", field::<core::PersistentVolumeClaimStatus>("capacity")),
    ("", "PersistentVolumeClaim", "Access Modes", field::<core::PersistentVolumeClaimStatus>("accessModes")),
    ("", "PersistentVolumeClaim", "StorageClass", text("StorageClass of the pvc")),
    ("", "PersistentVolumeClaim", "VolumeAttributesClass", text("VolumeAttributesClass of the pvc")),
    ("", "PersistentVolumeClaim", "VolumeMode", field::<core::PersistentVolumeClaimSpec>("volumeMode")),
    ("", "PodTemplate", "Pod Labels", text("The labels for the pod template.")),
    ("", "ComponentStatus", "Status", text("Status of the component conditions")),
    ("", "ComponentStatus", "Message", text("Message of the component conditions")),
    ("", "ComponentStatus", "Error", text("Error of the component conditions")),
    ("", "ResourceQuota", "Request", text("Request represents a minimum amount of cpu/memory that a container may consume.")),
    ("", "ResourceQuota", "Limit", text("Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.")),
    ("apps", "Deployment", "Ready", text("Number of the pod with ready state")),
    ("apps", "Deployment", "Up-to-date", field::<apps::DeploymentStatus>("updatedReplicas")),
    ("apps", "Deployment", "Available", field::<apps::DeploymentStatus>("availableReplicas")),
    // extensions/v1beta1 DeploymentSpec's `selector`.
    ("apps", "Deployment", "Selector", text("Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.")),
    ("apps", "DaemonSet", "Desired", field::<apps::DaemonSetStatus>("desiredNumberScheduled")),
    ("apps", "DaemonSet", "Current", field::<apps::DaemonSetStatus>("currentNumberScheduled")),
    // extensions/v1beta1 DaemonSetStatus's `numberReady`.
    ("apps", "DaemonSet", "Ready", text("The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.")),
    ("apps", "DaemonSet", "Up-to-date", field::<apps::DaemonSetStatus>("updatedNumberScheduled")),
    ("apps", "DaemonSet", "Available", field::<apps::DaemonSetStatus>("numberAvailable")),
    ("apps", "DaemonSet", "Node Selector", field::<core::PodSpec>("nodeSelector")),
    // extensions/v1beta1 DaemonSetSpec's `selector`.
    ("apps", "DaemonSet", "Selector", text("A label query over pods that are managed by the daemon set. Must match in order to be controlled. If empty, defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors")),
    ("apps", "StatefulSet", "Ready", text("Number of the pod with ready state")),
    ("apps", "ReplicaSet", "Desired", field::<apps::ReplicaSetSpec>("replicas")),
    ("apps", "ReplicaSet", "Current", field::<apps::ReplicaSetStatus>("replicas")),
    ("apps", "ReplicaSet", "Ready", field::<apps::ReplicaSetStatus>("readyReplicas")),
    // extensions/v1beta1 ReplicaSetSpec's `selector`.
    ("apps", "ReplicaSet", "Selector", text("Selector is a label query over pods that should match the replica count. If the selector is empty, it is defaulted to the labels present on the pod template. Label keys and values that must match in order to be controlled by this replica set. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors")),
    ("apps", "ControllerRevision", "Controller", text("Controller of the object")),
    // apps/v1beta1 ControllerRevision's `revision`.
    ("apps", "ControllerRevision", "Revision", text("revision indicates the revision of the state represented by Data.")),
    ("autoscaling", "HorizontalPodAutoscaler", "Reference", field::<autoscaling::HorizontalPodAutoscalerSpec>("scaleTargetRef")),
    // autoscaling/v2beta1 HorizontalPodAutoscalerSpec's `metrics`.
    ("autoscaling", "HorizontalPodAutoscaler", "Targets", text("metrics contains the specifications for which to use to calculate the desired replica count (the maximum replica count across all metrics will be used).  The desired replica count is calculated multiplying the ratio between the target value and the current value by the current number of pods.  Ergo, metrics used must decrease as the pod count is increased, and vice-versa.  See the individual metric source types for more information about how each type of metric must respond.")),
    ("autoscaling", "HorizontalPodAutoscaler", "MinPods", field::<autoscaling::HorizontalPodAutoscalerSpec>("minReplicas")),
    ("autoscaling", "HorizontalPodAutoscaler", "MaxPods", field::<autoscaling::HorizontalPodAutoscalerSpec>("maxReplicas")),
    ("autoscaling", "HorizontalPodAutoscaler", "Replicas", field::<autoscaling::HorizontalPodAutoscalerStatus>("currentReplicas")),
    ("batch", "Job", "Status", text("Status of the job.")),
    ("batch", "Job", "Completions", field::<batch::JobStatus>("succeeded")),
    ("batch", "Job", "Duration", text("Time required to complete the job.")),
    ("batch", "Job", "Selector", field::<batch::JobSpec>("selector")),
    ("batch", "CronJob", "Schedule", field::<batch::CronJobSpec>("schedule")),
    ("batch", "CronJob", "Timezone", field::<batch::CronJobSpec>("timeZone")),
    ("batch", "CronJob", "Suspend", field::<batch::CronJobSpec>("suspend")),
    ("batch", "CronJob", "Active", field::<batch::CronJobStatus>("active")),
    ("batch", "CronJob", "Last Schedule", field::<batch::CronJobStatus>("lastScheduleTime")),
    ("batch", "CronJob", "Selector", field::<batch::JobSpec>("selector")),
    ("policy", "PodDisruptionBudget", "Min Available", text("The minimum number of pods that must be available.")),
    ("policy", "PodDisruptionBudget", "Max Unavailable", text("The maximum number of pods that may be unavailable.")),
    ("policy", "PodDisruptionBudget", "Allowed Disruptions", text("Calculated number of pods that may be disrupted at this time.")),
    // rbac/v1beta1 RoleBinding's and ClusterRoleBinding's `roleRef`.
    ("rbac.authorization.k8s.io", "RoleBinding", "Role", text("RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error.")),
    ("rbac.authorization.k8s.io", "RoleBinding", "Users", text("Users in the roleBinding")),
    ("rbac.authorization.k8s.io", "RoleBinding", "Groups", text("Groups in the roleBinding")),
    ("rbac.authorization.k8s.io", "RoleBinding", "ServiceAccounts", text("ServiceAccounts in the roleBinding")),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding", "Role", text("RoleRef can only reference a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error.")),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding", "Users", text("Users in the clusterRoleBinding")),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding", "Groups", text("Groups in the clusterRoleBinding")),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding", "ServiceAccounts", text("ServiceAccounts in the clusterRoleBinding")),
    // certificates/v1beta1 CertificateSigningRequestSpec's `signerName` and `request`, and
    // CertificateSigningRequestStatus's `conditions`.
    ("certificates.k8s.io", "CertificateSigningRequest", "SignerName", text("Requested signer for the request. It is a qualified name in the form: `scope-hostname.io/name`. If empty, it will be defaulted:\n 1. If it's a kubelet client certificate, it is assigned\n    \"kubernetes.io/kube-apiserver-client-kubelet\".\n 2. If it's a kubelet serving certificate, it is assigned\n    \"kubernetes.io/kubelet-serving\".\n 3. Otherwise, it is assigned \"kubernetes.io/legacy-unknown\".\nDistribution of trust for signers happens out of band. You can select on this field using `spec.signerName`.")),
    ("certificates.k8s.io", "CertificateSigningRequest", "Requestor", text("Base64-encoded PKCS#10 CSR data")),
    ("certificates.k8s.io", "CertificateSigningRequest", "RequestedDuration", field::<certificates::CertificateSigningRequestSpec>("expirationSeconds")),
    ("certificates.k8s.io", "CertificateSigningRequest", "Condition", text("Conditions applied to the request, such as approval or denial.")),
    ("certificates.k8s.io", "ClusterTrustBundle", "SignerName", field::<certificates_beta::ClusterTrustBundleSpec>("signerName")),
    ("coordination.k8s.io", "Lease", "Holder", field::<coordination::LeaseSpec>("holderIdentity")),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration", "Webhooks", text("Webhooks indicates the number of webhooks registered in this configuration")),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration", "Webhooks", text("Webhooks indicates the number of webhooks registered in this configuration")),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy", "Validations", text("Validations indicates the number of validation rules defined in this configuration")),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy", "ParamKind", text("ParamKind specifies the kind of resources used to parameterize this policy")),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy", "Mutations", text("Mutation indicates the number of mutations rules defined in this configuration")),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy", "ParamKind", text("ParamKind specifies the kind of resources used to parameterize this policy")),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding", "PolicyName", text("PolicyName indicates the policy definition which the policy binding binded to")),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding", "ParamRef", text("ParamRef indicates the param resource which sets the configration param")),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding", "PolicyName", text("PolicyName indicates the policy definition which the policy binding binded to")),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding", "ParamRef", text("ParamRef indicates the param resource which sets the configration param")),
    // extensions/v1beta1 NetworkPolicySpec's `podSelector`.
    ("networking.k8s.io", "NetworkPolicy", "Pod-Selector", text("Selects the pods to which this NetworkPolicy object applies.  The array of ingress rules is applied to any pods selected by this field. Multiple network policies can select the same set of pods.  In this case, the ingress rules for each are combined additively. This field is NOT optional and follows standard label selector semantics. An empty podSelector matches all pods in this namespace.")),
    ("networking.k8s.io", "Ingress", "Class", text("The name of the IngressClass resource that should be used for additional configuration")),
    ("networking.k8s.io", "Ingress", "Hosts", text("Hosts that incoming requests are matched against before the ingress rule")),
    ("networking.k8s.io", "Ingress", "Address", text("Address is a list containing ingress points for the load-balancer")),
    ("networking.k8s.io", "Ingress", "Ports", text("Ports of TLS configurations that open")),
    ("networking.k8s.io", "IngressClass", "Controller", text("Controller that is responsible for handling this class")),
    ("networking.k8s.io", "IngressClass", "Parameters", text("A reference to a resource with additional parameters")),
    ("networking.k8s.io", "IPAddress", "ParentRef", field::<networking::IPAddressSpec>("parentRef")),
    ("networking.k8s.io", "ServiceCIDR", "CIDRs", field::<networking::ServiceCIDRSpec>("cidrs")),
    ("storage.k8s.io", "StorageClass", "Provisioner", field::<storage::StorageClass>("provisioner")),
    ("storage.k8s.io", "StorageClass", "ReclaimPolicy", field::<storage::StorageClass>("reclaimPolicy")),
    ("storage.k8s.io", "StorageClass", "VolumeBindingMode", field::<storage::StorageClass>("volumeBindingMode")),
    ("storage.k8s.io", "StorageClass", "AllowVolumeExpansion", field::<storage::StorageClass>("allowVolumeExpansion")),
    ("storage.k8s.io", "CSIDriver", "AttachRequired", field::<storage::CSIDriverSpec>("attachRequired")),
    ("storage.k8s.io", "CSIDriver", "PodInfoOnMount", field::<storage::CSIDriverSpec>("podInfoOnMount")),
    ("storage.k8s.io", "CSIDriver", "StorageCapacity", field::<storage::CSIDriverSpec>("storageCapacity")),
    ("storage.k8s.io", "CSIDriver", "TokenRequests", field::<storage::CSIDriverSpec>("tokenRequests")),
    ("storage.k8s.io", "CSIDriver", "RequiresRepublish", field::<storage::CSIDriverSpec>("requiresRepublish")),
    ("storage.k8s.io", "CSIDriver", "Modes", field::<storage::CSIDriverSpec>("volumeLifecycleModes")),
    ("storage.k8s.io", "CSINode", "Drivers", text("Drivers indicates the number of CSI drivers registered on the node")),
    ("storage.k8s.io", "VolumeAttachment", "Attacher", field::<storage::VolumeAttachmentSpec>("attacher")),
    ("storage.k8s.io", "VolumeAttachment", "PV", field::<storage::VolumeAttachmentSource>("persistentVolumeName")),
    ("storage.k8s.io", "VolumeAttachment", "Node", field::<storage::VolumeAttachmentSpec>("nodeName")),
    ("storage.k8s.io", "VolumeAttachment", "Attached", field::<storage::VolumeAttachmentStatus>("attached")),
    ("storage.k8s.io", "VolumeAttributesClass", "DriverName", field::<storage::VolumeAttributesClass>("driverName")),
    ("scheduling.k8s.io", "PriorityClass", "Value", field::<scheduling::PriorityClass>("value")),
    ("scheduling.k8s.io", "PriorityClass", "Global-Default", field::<scheduling::PriorityClass>("globalDefault")),
    ("scheduling.k8s.io", "PriorityClass", "PreemptionPolicy", field::<scheduling::PriorityClass>("preemptionPolicy")),
    // kube's printer names ObjectMeta's `handler`, which has no doc: kube's text is empty.
    ("node.k8s.io", "RuntimeClass", "Handler", text("")),
    // discovery/v1beta1 EndpointSlice's `addressType` and `ports`.
    ("discovery.k8s.io", "EndpointSlice", "AddressType", text("addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type. This field is immutable after creation. The following address types are currently supported: * IPv4: Represents an IPv4 Address. * IPv6: Represents an IPv6 Address. * FQDN: Represents a Fully Qualified Domain Name.")),
    ("discovery.k8s.io", "EndpointSlice", "Ports", text("ports specifies the list of network ports exposed by each endpoint in this slice. Each port must have a unique name. When ports is empty, it indicates that there are no defined ports. When a port is defined with a nil port value, it indicates \"all ports\". Each slice may include a maximum of 100 ports.")),
    ("discovery.k8s.io", "EndpointSlice", "Endpoints", field::<discovery::EndpointSlice>("endpoints")),
    ("resource.k8s.io", "ResourceClaim", "State", text("A summary of the current state (allocated, pending, reserved, etc.).")),
    ("resource.k8s.io", "ResourceSlice", "Node", field::<resource::ResourceSliceSpec>("nodeName")),
    ("resource.k8s.io", "ResourceSlice", "Driver", field::<resource::ResourceSliceSpec>("driver")),
    ("resource.k8s.io", "ResourceSlice", "Pool", field::<resource::ResourcePool>("name")),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema", "PriorityLevel", field::<flowcontrol::PriorityLevelConfigurationReference>("name")),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema", "MatchingPrecedence", field::<flowcontrol::FlowSchemaSpec>("matchingPrecedence")),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema", "DistinguisherMethod", field::<flowcontrol::FlowSchemaSpec>("distinguisherMethod")),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema", "MissingPL", text("references a broken or non-existent PriorityLevelConfiguration")),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration", "Type", field::<flowcontrol::PriorityLevelConfigurationSpec>("type")),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration", "NominalConcurrencyShares", field::<flowcontrol::LimitedPriorityLevelConfiguration>("nominalConcurrencyShares")),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration", "Queues", field::<flowcontrol::QueuingConfiguration>("queues")),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration", "HandSize", field::<flowcontrol::QueuingConfiguration>("handSize")),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration", "QueueLengthLimit", field::<flowcontrol::QueuingConfiguration>("queueLengthLimit")),
    ("apiregistration.k8s.io", "APIService", "Service", text("The reference to the service that hosts this API endpoint.")),
    ("apiregistration.k8s.io", "APIService", "Available", text("Whether this service is available.")),
];

type Key = (&'static str, &'static str, &'static str);

/// Every description of [`DOCS`] and [`COMMON`] (with an empty group and kind), read once.
fn resolved() -> &'static HashMap<Key, String> {
    static RESOLVED: OnceLock<HashMap<Key, String>> = OnceLock::new();
    RESOLVED.get_or_init(|| {
        // One generator for every row: a type referenced by many is generated once.
        let mut generator = SchemaGenerator::default();
        let common = COMMON.iter().map(|(column, doc)| (("", "", *column), *doc));
        let rows = DOCS.iter().map(|(group, kind, column, doc)| ((*group, *kind, *column), *doc));
        common.chain(rows).map(|(key, doc)| (key, resolve(doc, &mut generator))).collect()
    })
}

fn resolve(doc: Doc, generator: &mut SchemaGenerator) -> String {
    match doc {
        Doc::Text(text) => text.to_string(),
        Doc::Field(schema, field) => schema(generator)
            .get("properties")
            .and_then(|p| p.get(field))
            .and_then(|f| f.get("description"))
            .and_then(|d| d.as_str())
            .unwrap_or_default()
            .to_string(),
    }
}

/// The description of `column` in the Table of `group`'s `kind`.
pub(super) fn description(group: &'static str, kind: &'static str, column: &'static str) -> &'static str {
    // kube prints events.k8s.io Events with the core Event printer.
    let group = if (group, kind) == ("events.k8s.io", "Event") { "" } else { group };
    let docs = resolved();
    docs.get(&(group, kind, column)).or_else(|| docs.get(&("", "", column))).map_or("", String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalog;

    /// Every column of every built-in kind has kube's description; the one kube leaves empty
    /// is RuntimeClass's Handler.
    #[test]
    fn every_column_is_described() {
        for rt in Catalog::builtin().all() {
            for c in super::super::columns(rt) {
                let empty_in_kube = (rt.kind, c.name) == ("RuntimeClass", "Handler");
                assert_eq!(c.description.is_empty(), empty_in_kube, "{}/{} {}", rt.group, rt.kind, c.name);
            }
        }
    }

    /// Every row names a column of its kind's printer and every field row finds its doc.
    #[test]
    fn every_row_is_used_and_resolves() {
        let catalog = Catalog::builtin();
        for (group, kind, column, doc) in DOCS {
            let rt = catalog.all().into_iter().find(|rt| rt.group == *group && rt.kind == *kind);
            let rt = rt.unwrap_or_else(|| panic!("{group}/{kind} is not served"));
            let names: Vec<&str> = super::super::columns(rt).iter().map(|c| c.name).collect();
            assert!(names.contains(column), "{kind} has no column {column}: {names:?}");
            if let Doc::Field(..) = doc {
                assert!(!description(group, kind, column).is_empty(), "{kind} {column}");
            }
        }
        for (column, _) in COMMON {
            assert!(!description("", "", column).is_empty(), "{column}");
        }
    }

    /// The texts are kube's, byte for byte (kube 1.34.12's answers to the differential corpus).
    #[test]
    fn texts_are_kubes() {
        assert!(description("", "ConfigMap", "Data").starts_with(
            "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with"
        ));
        assert_eq!(description("", "Namespace", "Age"), "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata");
        assert_eq!(description("", "Node", "Version"), "Kubelet Version reported by the node.");
        // Custom resources' Name and default Age columns carry the same texts.
        assert_eq!(description("", "", "Name"), apiextensions::printer::NAME_DESCRIPTION);
        assert_eq!(description("", "", "Age"), apiextensions::printer::CREATION_TIMESTAMP_DESCRIPTION);
        assert_eq!(description("events.k8s.io", "Event", "Subobject"), description("", "Event", "Subobject"));
        assert!(description("", "Event", "Subobject").starts_with("If referring to a piece of an object"));
        assert_eq!(
            description("apps", "StatefulSet", "Images"),
            "Images referenced by each container in the template."
        );
    }
}
