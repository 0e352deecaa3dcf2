//! The defaults kube applies (`pkg/apis/<group>/<version>/defaults.go`) and the status a new
//! object starts with (the strategies' `PrepareForCreate`, serialized as kube writes it).

use crate::ResourceType;
use serde_json::{json, Map, Value};

fn set_default(m: &mut Map<String, Value>, key: &str, v: Value) {
    if m.get(key).is_none_or(Value::is_null) {
        m.insert(key.into(), v);
    }
}

/// `Value::pointer` on a map.
fn at<'a>(m: &'a Map<String, Value>, pointer: &str) -> Option<&'a Value> {
    let mut parts = pointer.trim_start_matches('/').split('/');
    let first = m.get(parts.next()?)?;
    parts.try_fold(first, |v, p| v.get(p))
}

fn obj<'a>(m: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Map<String, Value>> {
    m.get_mut(key).and_then(Value::as_object_mut)
}

fn objects<'a>(m: &'a mut Map<String, Value>, key: &str) -> impl Iterator<Item = &'a mut Map<String, Value>> {
    m.get_mut(key).and_then(Value::as_array_mut).into_iter().flatten().filter_map(Value::as_object_mut)
}

/// The current time as kube writes it in objects (RFC 3339, seconds).
fn now_seconds() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The status a new object of the kind starts with, when kube writes one.
fn initial_status(rt: &ResourceType) -> Option<Value> {
    Some(match (rt.group, rt.kind) {
        ("", "Service") | ("networking.k8s.io", "Ingress") => json!({"loadBalancer": {}}),
        // kube's PV strategy stamps the phase's transition time (its own clock, as here).
        ("", "PersistentVolume") => json!({"phase": "Pending", "lastPhaseTransitionTime": now_seconds()}),
        ("", "PersistentVolumeClaim") => json!({"phase": "Pending"}),
        ("", "ResourceQuota")
        | ("networking.k8s.io", "ServiceCIDR")
        | ("resource.k8s.io", "ResourceClaim")
        | ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy") => json!({}),
        ("storage.k8s.io", "VolumeAttachment") => json!({"attached": false}),
        ("", "ReplicationController") | ("apps", "ReplicaSet") => json!({"replicas": 0}),
        ("apps", "StatefulSet") => json!({"replicas": 0, "availableReplicas": 0}),
        ("apps", "DaemonSet") => json!({
            "currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0, "numberReady": 0,
        }),
        ("apps", "Deployment")
        | ("batch", "Job" | "CronJob")
        | ("flowcontrol.apiserver.k8s.io", _)
        | ("certificates.k8s.io", "CertificateSigningRequest") => json!({}),
        ("policy", "PodDisruptionBudget") => {
            json!({"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0})
        }
        _ => return None,
    })
}

/// What only a create sets, after the field manager has recorded the request's fields: a
/// Job's generated selector and pod labels (kube's `generateSelector` in
/// `pkg/registry/batch/job/strategy.go`), a DaemonSet's template generation, a Namespace's
/// `kubernetes` finalizer.
pub(super) fn on_create(rt: &ResourceType, o: &mut Map<String, Value>) {
    if (rt.group, rt.kind) == ("", "Namespace") {
        // kube's namespace strategy, not its defaults: the `kubernetes` finalizer is added on
        // create (so a field manager does not record it), and kept from the stored object on
        // update ([`namespace_finalizers_kept`]).
        let spec = o.entry("spec").or_insert_with(|| json!({}));
        if let Some(s) = spec.as_object_mut() {
            let finalizers = s.entry("finalizers").or_insert_with(|| json!([]));
            if let Some(f) = finalizers.as_array_mut() {
                if !f.iter().any(|x| x == "kubernetes") {
                    f.push(json!("kubernetes"));
                }
            } else {
                *finalizers = json!(["kubernetes"]);
            }
        }
        return;
    }
    if (rt.group, rt.kind) == ("apps", "DaemonSet") {
        daemonset_generation(o);
        return;
    }
    if (rt.group, rt.kind) != ("batch", "Job") {
        return;
    }
    let name = at(o, "/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string();
    let uid = at(o, "/metadata/uid").and_then(Value::as_str).unwrap_or_default().to_string();
    let Some(spec) = obj(o, "spec") else { return };
    if spec.get("manualSelector") == Some(&Value::Bool(true)) {
        return;
    }
    let template = spec.entry("template").or_insert_with(|| json!({}));
    if let Some(t) = template.as_object_mut() {
        let meta = t.entry("metadata").or_insert_with(|| json!({}));
        if let Some(m) = meta.as_object_mut() {
            let labels = m.entry("labels").or_insert_with(|| json!({}));
            if let Some(l) = labels.as_object_mut() {
                for key in ["controller-uid", "batch.kubernetes.io/controller-uid"] {
                    set_default(l, key, json!(uid));
                }
                if !name.is_empty() {
                    for key in ["job-name", "batch.kubernetes.io/job-name"] {
                        set_default(l, key, json!(name));
                    }
                }
            }
        }
    }
    let selector = spec.entry("selector").or_insert_with(|| json!({}));
    if let Some(s) = selector.as_object_mut() {
        let labels = s.entry("matchLabels").or_insert_with(|| json!({}));
        if let Some(l) = labels.as_object_mut() {
            set_default(l, "batch.kubernetes.io/controller-uid", json!(uid));
        }
    }
}

/// Defaults of the kind, on create and update (fields already set are kept).
/// What kube's storage (protobuf) makes of a value it stores, which its field manager,
/// running before, does not see. Applied when an object is prepared for storage, after the
/// field manager has recorded the request.
pub(super) fn storage_form(rt: &ResourceType, o: &mut Map<String, Value>) {
    // A CSINode's `drivers` has no omitempty: kube's field manager sees (and records) an
    // empty list, which its storage then turns into null. (An empty list in an omitempty
    // field is gone before the field manager: `apply` drops it.)
    if (rt.group, rt.kind) == ("storage.k8s.io", "CSINode") {
        if let Some(spec) = obj(o, "spec") {
            if spec.get("drivers").and_then(Value::as_array).is_some_and(Vec::is_empty) {
                spec.insert("drivers".into(), Value::Null);
            }
        }
    }
}

pub(super) fn apply(rt: &ResourceType, o: &mut Map<String, Value>) {
    if let Some(status) = initial_status(rt) {
        set_default(o, "status", status);
    }
    match (rt.group, rt.kind) {
        ("resource.k8s.io", kind) => super::dra::apply_defaults(kind, o),
        ("networking.k8s.io", "IPAddress") => {
            // ParentReference's group and namespace are omitempty strings in kube.
            if let Some(r) = obj(o, "spec").and_then(|s| obj(s, "parentRef")) {
                r.retain(|k, v| !(matches!(k.as_str(), "group" | "namespace") && v == ""));
            }
        }
        ("", "Namespace") => {
            // SetDefaults_Namespace: the namespace's name as a label.
            let name = at(o, "/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string();
            if !name.is_empty() {
                if let Some(meta) = obj(o, "metadata") {
                    let labels = meta.entry("labels").or_insert_with(|| json!({}));
                    if let Some(l) = labels.as_object_mut() {
                        l.insert("kubernetes.io/metadata.name".into(), json!(name));
                    }
                }
            }
            o.entry("spec").or_insert_with(|| json!({}));
            let status = o.entry("status").or_insert_with(|| json!({}));
            if let Some(s) = status.as_object_mut() {
                set_default(s, "phase", json!("Active"));
            }
        }
        ("", "Secret") => {
            set_default(o, "type", json!("Opaque"));
            if let Some(Value::Object(sd)) = o.remove("stringData") {
                use base64::Engine as _;
                let data = o.entry("data").or_insert_with(|| json!({}));
                if let Some(d) = data.as_object_mut() {
                    for (k, v) in sd {
                        let s = v.as_str().unwrap_or_default();
                        d.insert(k, json!(base64::engine::general_purpose::STANDARD.encode(s)));
                    }
                }
            }
        }
        ("autoscaling", "HorizontalPodAutoscaler") => {
            if let Some(spec) = obj(o, "spec") {
                set_default(spec, "minReplicas", json!(1));
                if rt.version == "v2" {
                    hpa_v2_spec(spec);
                }
            }
            if rt.version == "v2" {
                hpa_v2_status(o);
            }
        }
        ("", "Pod") => {
            if let Some(spec) = obj(o, "spec") {
                pod_spec(spec);
                set_default(spec, "enableServiceLinks", json!(true));
                service_account_alias(spec);
            }
            // kube's PrepareForCreate computes the class from the containers' resources.
            let unclassified = o.get("status").and_then(|s| s.get("qosClass")).is_none();
            let class = if unclassified { super::pods::qos_class(&Value::Object(o.clone())) } else { "" };
            let status = o.entry("status").or_insert_with(|| json!({}));
            if let Some(s) = status.as_object_mut() {
                set_default(s, "phase", json!("Pending"));
                if unclassified {
                    s.insert("qosClass".into(), json!(class));
                }
                // PodCondition's times are structs: written as null when unset.
                for c in objects(s, "conditions") {
                    set_default(c, "lastProbeTime", Value::Null);
                    set_default(c, "lastTransitionTime", Value::Null);
                }
            }
        }
        ("", "Service") => service(o),
        ("", "Endpoints") => {
            for subset in objects(o, "subsets") {
                for p in objects(subset, "ports") {
                    set_default(p, "protocol", json!("TCP"));
                }
            }
        }
        ("", "Event") => {
            // Fields of v1.Event without omitempty: kube writes them even when unset.
            for key in ["firstTimestamp", "lastTimestamp", "eventTime"] {
                set_default(o, key, Value::Null);
            }
            for key in ["reportingComponent", "reportingInstance"] {
                set_default(o, key, json!(""));
            }
            set_default(o, "source", json!({}));
        }
        ("", "LimitRange") => {
            if let Some(spec) = obj(o, "spec") {
                for item in objects(spec, "limits") {
                    limit_range_item(item);
                }
            }
        }
        ("", "Node") => {
            // v1 to internal conversion: podCIDRs from podCIDR.
            if let Some(spec) = obj(o, "spec") {
                let cidr =
                    spec.get("podCIDR").and_then(Value::as_str).filter(|c| !c.is_empty()).map(str::to_string);
                if let Some(cidr) = cidr {
                    if spec.get("podCIDRs").and_then(Value::as_array).is_none_or(Vec::is_empty) {
                        spec.insert("podCIDRs".into(), json!([cidr]));
                    }
                }
            }
            // NodeStatus's struct fields without omitempty, written even when empty.
            let status = o.entry("status").or_insert_with(|| json!({}));
            if let Some(s) = status.as_object_mut() {
                set_default(s, "daemonEndpoints", json!({"kubeletEndpoint": {"Port": 0}}));
                set_default(
                    s,
                    "nodeInfo",
                    json!({"machineID": "", "systemUUID": "", "bootID": "", "kernelVersion": "", "osImage": "",
                        "containerRuntimeVersion": "", "kubeletVersion": "", "kubeProxyVersion": "",
                        "operatingSystem": "", "architecture": ""}),
                );
            }
        }
        ("", "ReplicationController") => replication_controller(o),
        ("", "PodTemplate") => pod_template(o.get_mut("template")),
        ("", "PersistentVolume") => {
            if let Some(spec) = obj(o, "spec") {
                set_default(spec, "persistentVolumeReclaimPolicy", json!("Retain"));
                set_default(spec, "volumeMode", json!("Filesystem"));
                host_path(spec);
            }
        }
        ("", "PersistentVolumeClaim") => pvc(o),
        ("apps", "Deployment") => {
            if let Some(spec) = obj(o, "spec") {
                set_default(spec, "replicas", json!(1));
                set_default(spec, "revisionHistoryLimit", json!(10));
                set_default(spec, "progressDeadlineSeconds", json!(600));
                // Field by field, as kube's SetDefaults_Deployment: a strategy naming only its
                // type still gets its rolling update bounds (kube-controller-manager's deployment
                // controller dereferences them).
                set_default(spec, "strategy", json!({}));
                if let Some(strategy) = obj(spec, "strategy") {
                    set_default(strategy, "type", json!("RollingUpdate"));
                    if strategy.get("type") == Some(&json!("RollingUpdate")) {
                        set_default(strategy, "rollingUpdate", json!({}));
                        if let Some(u) = obj(strategy, "rollingUpdate") {
                            set_default(u, "maxUnavailable", json!("25%"));
                            set_default(u, "maxSurge", json!("25%"));
                        }
                    }
                }
                pod_template(spec.get_mut("template"));
            }
        }
        ("apps", "DaemonSet") => {
            if let Some(spec) = obj(o, "spec") {
                set_default(spec, "revisionHistoryLimit", json!(10));
                set_default(spec, "updateStrategy", json!({"type": "RollingUpdate"}));
                if let Some(u) =
                    obj(spec, "updateStrategy").filter(|u| u.get("type") == Some(&json!("RollingUpdate")))
                {
                    set_default(u, "rollingUpdate", json!({"maxUnavailable": 1, "maxSurge": 0}));
                }
                pod_template(spec.get_mut("template"));
            }
        }
        ("apps", "StatefulSet") => {
            if let Some(spec) = obj(o, "spec") {
                set_default(spec, "replicas", json!(1));
                set_default(spec, "podManagementPolicy", json!("OrderedReady"));
                set_default(spec, "revisionHistoryLimit", json!(10));
                set_default(spec, "updateStrategy", json!({"type": "RollingUpdate"}));
                if let Some(u) =
                    obj(spec, "updateStrategy").filter(|u| u.get("type") == Some(&json!("RollingUpdate")))
                {
                    set_default(u, "rollingUpdate", json!({"partition": 0}));
                }
                set_default(
                    spec,
                    "persistentVolumeClaimRetentionPolicy",
                    json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
                );
                for claim in objects(spec, "volumeClaimTemplates") {
                    pvc(claim);
                }
                pod_template(spec.get_mut("template"));
            }
        }
        ("apps", "ReplicaSet") => {
            if let Some(spec) = obj(o, "spec") {
                set_default(spec, "replicas", json!(1));
                pod_template(spec.get_mut("template"));
            }
        }
        ("batch", "Job") => {
            if let Some(spec) = obj(o, "spec") {
                job_spec(spec);
                // SetDefaults_Job: a Job (not a CronJob's template) says its selector is generated.
                set_default(spec, "manualSelector", json!(false));
            }
        }
        ("batch", "CronJob") => {
            if let Some(spec) = obj(o, "spec") {
                set_default(spec, "concurrencyPolicy", json!("Allow"));
                set_default(spec, "suspend", json!(false));
                set_default(spec, "successfulJobsHistoryLimit", json!(3));
                set_default(spec, "failedJobsHistoryLimit", json!(1));
                if let Some(template) = obj(spec, "jobTemplate") {
                    set_default(template, "metadata", json!({}));
                }
                if let Some(job) = obj(spec, "jobTemplate").and_then(|t| obj(t, "spec")) {
                    pod_template(job.get_mut("template"));
                }
            }
        }
        ("networking.k8s.io", "NetworkPolicy") => network_policy(o),
        ("storage.k8s.io", "StorageClass") => {
            set_default(o, "reclaimPolicy", json!("Delete"));
            set_default(o, "volumeBindingMode", json!("Immediate"));
        }
        ("storage.k8s.io", "CSIDriver") => {
            let spec = o.entry("spec").or_insert_with(|| json!({}));
            if let Some(s) = spec.as_object_mut() {
                set_default(s, "attachRequired", json!(true));
                set_default(s, "podInfoOnMount", json!(false));
                set_default(s, "storageCapacity", json!(false));
                set_default(s, "fsGroupPolicy", json!("ReadWriteOnceWithFSType"));
                set_default(s, "requiresRepublish", json!(false));
                set_default(s, "volumeLifecycleModes", json!(["Persistent"]));
                set_default(s, "seLinuxMount", json!(false));
            }
        }
        ("scheduling.k8s.io", "PriorityClass") => {
            set_default(o, "preemptionPolicy", json!("PreemptLowerPriority"))
        }
        ("discovery.k8s.io", "EndpointSlice") => {
            for e in objects(o, "endpoints") {
                set_default(e, "conditions", json!({}));
            }
            for p in objects(o, "ports") {
                set_default(p, "name", json!(""));
                set_default(p, "protocol", json!("TCP"));
            }
        }
        ("apiregistration.k8s.io", "APIService") => api_service(o),
        // An empty list in an omitempty field: gone when kube's typed decoder writes it out.
        (
            "admissionregistration.k8s.io",
            "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration",
        ) if o.get("webhooks").and_then(Value::as_array).is_some_and(Vec::is_empty) => {
            o.shift_remove("webhooks");
        }
        ("flowcontrol.apiserver.k8s.io", kind) => super::flowcontrol::defaults(kind, o),
        ("admissionregistration.k8s.io", kind) => super::admission::defaults(kind, o),
        _ => {}
    }
}

fn service(o: &mut Map<String, Value>) {
    // SetDefaults_Service: a load balancer's ingress point with an IP is a VIP.
    if let Some(lb) = obj(o, "status").and_then(|s| obj(s, "loadBalancer")) {
        for ingress in objects(lb, "ingress") {
            if ingress.get("ip").and_then(Value::as_str).is_some_and(|ip| !ip.is_empty()) {
                set_default(ingress, "ipMode", json!("VIP"));
            }
        }
    }
    if let Some(spec) = obj(o, "spec") {
        set_default(spec, "type", json!("ClusterIP"));
        set_default(spec, "sessionAffinity", json!("None"));
        let service_type = spec.get("type").and_then(Value::as_str).unwrap_or_default().to_string();
        if service_type != "ExternalName" {
            set_default(spec, "internalTrafficPolicy", json!("Cluster"));
        }
        if matches!(service_type.as_str(), "NodePort" | "LoadBalancer") {
            set_default(spec, "externalTrafficPolicy", json!("Cluster"));
        }
        if service_type == "LoadBalancer" {
            set_default(spec, "allocateLoadBalancerNodePorts", json!(true));
        }
        for p in objects(spec, "ports") {
            set_default(p, "protocol", json!("TCP"));
            if let Some(port) = p.get("port").cloned() {
                set_default(p, "targetPort", port);
            }
        }
    }
}

/// SetDefaults_ReplicationController: selector and labels from the template's labels.
fn replication_controller(o: &mut Map<String, Value>) {
    let labels = at(o, "/spec/template/metadata/labels")
        .filter(|l| l.as_object().is_some_and(|m| !m.is_empty()))
        .cloned();
    if let Some(labels) = labels {
        if let Some(spec) = obj(o, "spec") {
            if spec.get("selector").and_then(Value::as_object).is_none_or(Map::is_empty) {
                spec.insert("selector".into(), labels.clone());
            }
        }
        if let Some(meta) = obj(o, "metadata") {
            if meta.get("labels").and_then(Value::as_object).is_none_or(Map::is_empty) {
                meta.insert("labels".into(), labels);
            }
        }
    }
    if let Some(spec) = obj(o, "spec") {
        set_default(spec, "replicas", json!(1));
        pod_template(spec.get_mut("template"));
    }
}

fn pvc(o: &mut Map<String, Value>) {
    if let Some(spec) = obj(o, "spec") {
        set_default(spec, "volumeMode", json!("Filesystem"));
    }
}

/// SetDefaults_Job (batch/v1).
fn job_spec(spec: &mut Map<String, Value>) {
    if spec.get("completions").is_none_or(Value::is_null)
        && spec.get("parallelism").is_none_or(Value::is_null)
    {
        spec.insert("completions".into(), json!(1));
    }
    set_default(spec, "parallelism", json!(1));
    let per_index = spec.get("backoffLimitPerIndex").is_some_and(|v| !v.is_null());
    set_default(spec, "backoffLimit", json!(if per_index { i32::MAX } else { 6 }));
    set_default(spec, "completionMode", json!("NonIndexed"));
    set_default(spec, "suspend", json!(false));
    let failure_policy = spec.get("podFailurePolicy").is_some_and(|v| !v.is_null());
    set_default(
        spec,
        "podReplacementPolicy",
        json!(if failure_policy { "Failed" } else { "TerminatingOrFailed" }),
    );
    pod_template(spec.get_mut("template"));
}

fn network_policy(o: &mut Map<String, Value>) {
    let Some(spec) = obj(o, "spec") else { return };
    let has_egress = spec.get("egress").and_then(Value::as_array).is_some_and(|e| !e.is_empty());
    let types = if has_egress { json!(["Ingress", "Egress"]) } else { json!(["Ingress"]) };
    if spec.get("policyTypes").and_then(Value::as_array).is_none_or(Vec::is_empty) {
        spec.insert("policyTypes".into(), types);
    }
    for rules in ["ingress", "egress"] {
        for rule in objects(spec, rules) {
            for p in objects(rule, "ports") {
                set_default(p, "protocol", json!("TCP"));
            }
        }
    }
}

/// An APIService's availability as kube's controller reports it: a local one (no
/// `spec.service`) is always available; kubeward does not proxy to aggregated servers, so
/// any other is reported unavailable, saying why.
fn api_service(o: &mut Map<String, Value>) {
    // `group` is omitempty: the core group's local APIService has none.
    if let Some(spec) = obj(o, "spec") {
        if spec.get("group").and_then(Value::as_str) == Some("") {
            spec.shift_remove("group");
        }
    }
    let local = at(o, "/spec/service").is_none_or(Value::is_null);
    if local {
        // `service` is a pointer with omitempty: a local APIService has none.
        if let Some(spec) = obj(o, "spec") {
            spec.shift_remove("service");
        }
    }
    let has_condition = at(o, "/status/conditions").and_then(Value::as_array).is_some_and(|c| !c.is_empty());
    if has_condition {
        return;
    }
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let condition = if local {
        json!({"type": "Available", "status": "True", "lastTransitionTime": now, "reason": "Local",
            "message": "Local APIServices are always available"})
    } else {
        json!({"type": "Available", "status": "False", "lastTransitionTime": now, "reason": "NotProxied",
            "message": "kubeward stores APIServices but does not proxy to aggregated API servers"})
    };
    o.insert("status".into(), json!({"conditions": [condition]}));
}

fn pod_template(template: Option<&mut Value>) {
    if let Some(spec) = template.and_then(Value::as_object_mut).and_then(|t| obj(t, "spec")) {
        pod_spec(spec);
    }
}

/// SetDefaults_HostPathVolumeSource: an unset type is `""` (HostPathUnset).
fn host_path(source: &mut Map<String, Value>) {
    if let Some(h) = obj(source, "hostPath") {
        set_default(h, "type", json!(""));
    }
}

/// v1 Pod conversion: `serviceAccount` is the deprecated alias of `serviceAccountName`, filled
/// from it (and it from the alias when only the alias is set).
/// kube's autoscaling/v2 defaults beyond `minReplicas`: an 80% CPU target when no metric is
/// given, and a behavior's unset scaling rules filled in (`SetDefaults_HorizontalPodAutoscaler`).
pub(crate) fn hpa_v2_spec(spec: &mut Map<String, Value>) {
    let no_metrics = spec.get("metrics").and_then(Value::as_array).is_none_or(|m| m.is_empty());
    if no_metrics {
        spec.insert(
            "metrics".into(),
            json!([{"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": crate::convert_hpa::DEFAULT_CPU_UTILIZATION}}}]),
        );
    }
    let Some(behavior) = spec.get_mut("behavior").and_then(Value::as_object_mut) else { return };
    let rules = |given: Option<&Value>, defaults: Value| -> Value {
        let mut out = defaults;
        if let (Some(Value::Object(given)), Some(o)) = (given, out.as_object_mut()) {
            for k in ["selectPolicy", "stabilizationWindowSeconds", "policies", "tolerance"] {
                if let Some(v) = given.get(k).filter(|v| !v.is_null()) {
                    o.insert(k.into(), v.clone());
                }
            }
        }
        out
    };
    let up = rules(
        behavior.get("scaleUp"),
        json!({"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
            {"type": "Pods", "value": 4, "periodSeconds": 15}, {"type": "Percent", "value": 100, "periodSeconds": 15}]}),
    );
    let down = rules(
        behavior.get("scaleDown"),
        json!({"selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}),
    );
    behavior.insert("scaleUp".into(), up);
    behavior.insert("scaleDown".into(), down);
}

/// autoscaling/v2's status as Go writes the struct: always there, `desiredReplicas` and
/// `currentMetrics` (no omitempty) written even when zero or null, in the struct's order.
pub(crate) fn hpa_v2_status(o: &mut Map<String, Value>) {
    let mut given = match o.remove("status") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let mut status = Map::new();
    for key in ["observedGeneration", "lastScaleTime", "currentReplicas"] {
        if let Some(v) = given.remove(key) {
            status.insert(key.into(), v);
        }
    }
    status.insert("desiredReplicas".into(), given.remove("desiredReplicas").unwrap_or(json!(0)));
    status.insert("currentMetrics".into(), given.remove("currentMetrics").unwrap_or(Value::Null));
    status.extend(given);
    o.insert("status".into(), Value::Object(status));
}

pub(crate) fn service_account_alias(spec: &mut Map<String, Value>) {
    let name =
        spec.get("serviceAccountName").and_then(Value::as_str).filter(|n| !n.is_empty()).map(str::to_string);
    let alias =
        spec.get("serviceAccount").and_then(Value::as_str).filter(|n| !n.is_empty()).map(str::to_string);
    match (name, alias) {
        (Some(n), _) => {
            spec.insert("serviceAccount".into(), json!(n));
        }
        (None, Some(a)) => {
            spec.insert("serviceAccountName".into(), json!(a));
        }
        (None, None) => {}
    }
}

/// SetDefaults_LimitRangeItem: for containers, `default` from `max`, `defaultRequest` from
/// `default` and then from `min`, resource by resource.
fn limit_range_item(item: &mut Map<String, Value>) {
    if item.get("type").and_then(Value::as_str) != Some("Container") {
        return;
    }
    let copy_missing = |item: &mut Map<String, Value>, from: &str, to: &str| {
        let Some(source) = item.get(from).and_then(Value::as_object).cloned() else { return };
        let target = item.entry(to).or_insert_with(|| json!({}));
        if let Some(t) = target.as_object_mut() {
            for (k, v) in source {
                t.entry(k).or_insert(v);
            }
        }
    };
    copy_missing(item, "max", "default");
    copy_missing(item, "default", "defaultRequest");
    copy_missing(item, "min", "defaultRequest");
}

/// SetDefaults_PodSpec and SetDefaults_Container (SetDefaults_EphemeralContainer too), the
/// fields kube always fills.
pub(crate) fn pod_spec(spec: &mut Map<String, Value>) {
    for v in objects(spec, "volumes") {
        host_path(v);
    }
    set_default(spec, "restartPolicy", json!("Always"));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    set_default(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default(spec, "schedulerName", json!("default-scheduler"));
    set_default(spec, "securityContext", json!({}));
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        for c in objects(spec, list) {
            let image = c.get("image").and_then(Value::as_str).unwrap_or_default();
            let last = image.rsplit('/').next().unwrap_or_default();
            let policy =
                if !last.contains(':') || last.ends_with(":latest") { "Always" } else { "IfNotPresent" };
            set_default(c, "imagePullPolicy", json!(policy));
            set_default(c, "terminationMessagePath", json!("/dev/termination-log"));
            set_default(c, "terminationMessagePolicy", json!("File"));
            set_default(c, "resources", json!({}));
            for p in objects(c, "ports") {
                set_default(p, "protocol", json!("TCP"));
            }
        }
    }
}

/// kube's namespace strategy on update: `spec.finalizers` changes only through
/// `namespaces/finalize`; the resource itself keeps the stored ones.
pub(super) fn namespace_finalizers_kept(new: &mut Map<String, Value>, old: &Value) {
    let spec = new.entry("spec").or_insert_with(|| json!({}));
    if let Some(s) = spec.as_object_mut() {
        match old.pointer("/spec/finalizers") {
            Some(f) => s.insert("finalizers".into(), f.clone()),
            None => s.remove("finalizers"),
        };
    }
}

/// kube's DaemonSet strategy: template generation 1, kept in this annotation. kube's field
/// manager sees it already on a create's object (it comes back from the internal type's
/// conversion), so it is set before recording too ([`super::default_new`]).
pub(super) fn daemonset_generation(o: &mut Map<String, Value>) {
    if let Some(meta) = obj(o, "metadata") {
        let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
        if let Some(a) = annotations.as_object_mut() {
            a.insert("deprecated.daemonset.template.generation".into(), json!("1"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalog;

    fn defaulted(group: &str, plural: &str, v: Value) -> Value {
        let c = Catalog::builtin();
        let rt = c.lookup(group, "v1", plural).unwrap();
        let mut v = v;
        if let Some(o) = v.as_object_mut() {
            on_create(rt, o);
            apply(rt, o);
        }
        v
    }

    #[test]
    fn a_deployment_strategy_naming_its_type_gets_its_bounds() {
        let tpl = json!({"spec": {"containers": [{"name": "c", "image": "a:1"}]}});
        let rolling =
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}});
        let d = defaulted("apps", "deployments", json!({"spec": {"template": tpl.clone()}}));
        assert_eq!(d["spec"]["strategy"], rolling);
        let d = defaulted(
            "apps",
            "deployments",
            json!({"spec": {"strategy": {"type": "RollingUpdate"}, "template": tpl.clone()}}),
        );
        assert_eq!(d["spec"]["strategy"], rolling);
        let d = defaulted(
            "apps",
            "deployments",
            json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}, "template": tpl.clone()}),
        );
        assert_eq!(d["spec"]["strategy"]["rollingUpdate"], json!({"maxSurge": 1, "maxUnavailable": "25%"}));
        let d = defaulted(
            "apps",
            "deployments",
            json!({"spec": {"strategy": {"type": "Recreate"}, "template": tpl}}),
        );
        assert_eq!(d["spec"]["strategy"], json!({"type": "Recreate"}));
    }

    #[test]
    fn workloads_get_kube_defaults() {
        let ds = defaulted(
            "apps",
            "daemonsets",
            json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "a:1"}]}}}}),
        );
        assert_eq!(
            ds["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
        );
        assert_eq!(ds["status"]["numberReady"], 0);
        let job = defaulted(
            "batch",
            "jobs",
            json!({"metadata": {"name": "pi", "uid": "u1"}, "spec": {"template": {"spec": {}}}}),
        );
        assert_eq!(
            job["spec"]["selector"],
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}})
        );
        assert_eq!(job["spec"]["template"]["metadata"]["labels"]["job-name"], "pi");
        assert_eq!(
            (job["spec"]["completions"].clone(), job["spec"]["backoffLimit"].clone()),
            (json!(1), json!(6))
        );
        let svc = defaulted("", "services", json!({"spec": {}}));
        assert_eq!(svc["status"], json!({"loadBalancer": {}}));
    }

    #[test]
    fn local_api_services_are_available() {
        let a = defaulted(
            "apiregistration.k8s.io",
            "apiservices",
            json!({"spec": {"group": "apps", "version": "v1"}}),
        );
        assert_eq!(a["spec"]["service"], Value::Null);
        assert_eq!(a["status"]["conditions"][0]["reason"], "Local");
        let b = defaulted(
            "apiregistration.k8s.io",
            "apiservices",
            json!({"spec": {"service": {"name": "m", "namespace": "n"}}}),
        );
        assert_eq!(b["status"]["conditions"][0]["status"], "False");
    }
}
