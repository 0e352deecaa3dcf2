//! Validation of the kinds that are not workloads, each after its kube validation file:
//! `pkg/apis/core/validation` (Pod, PersistentVolume(Claim), Event),
//! `pkg/apis/core/validation/events.go` (events.k8s.io), `pkg/apis/rbac/validation`,
//! `pkg/apis/networking/validation`, `pkg/apis/storage/validation`,
//! `pkg/apis/scheduling/validation`, `pkg/apis/node/validation`,
//! `pkg/apis/discovery/validation` and kube-aggregator's `apiregistration/validation`.

use super::causes::{
    cause, forbidden, immutable, invalid, invalid_number, invalid_rendered, not_supported, required,
    required_because, Errors,
};
use super::common::{
    is_label, is_subdomain, qualified_name_errors, str_at, validate_pod_spec, DNS1123_LABEL_MSG,
};
use crate::ResourceType;
use apimachinery::status::CauseType;
use serde_json::Value;

/// kube's `HighestUserDefinablePriority`.
const HIGHEST_USER_PRIORITY: i64 = 1_000_000_000;
/// The system PriorityClasses kube creates at start, with their values.
pub const SYSTEM_PRIORITY_CLASSES: [(&str, i64); 2] =
    [("system-node-critical", 2_000_001_000), ("system-cluster-critical", 2_000_000_000)];

/// Field errors of the kinds in this file.
pub(super) fn validate(rt: &ResourceType, obj: &Value, errs: &mut Errors) {
    match (rt.group, rt.kind) {
        ("", "Pod") => validate_pod_spec(obj.get("spec"), "spec", errs),
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
            validate_binding(rt, obj, errs)
        }
        ("", "PersistentVolume") => validate_pv(obj, errs),
        ("", "PersistentVolumeClaim") => validate_pvc(obj, errs),
        ("", "Event") => validate_event_legacy(obj, errs),
        ("events.k8s.io", "Event") => validate_event_v1(obj, errs),
        ("networking.k8s.io", "NetworkPolicy") => {
            for (i, t) in array(obj, "/spec/policyTypes").iter().enumerate() {
                let t = t.as_str().unwrap_or_default();
                if t != "Ingress" && t != "Egress" {
                    errs.push(not_supported(&format!("spec.policyTypes[{i}]"), t, &["Egress", "Ingress"]));
                }
            }
        }
        ("networking.k8s.io", "Ingress") => validate_ingress(obj, errs),
        ("networking.k8s.io", "IngressClass") => {
            let controller = str_at(obj, "/spec/controller");
            if controller.is_empty() {
                errs.push(required("spec.controller"));
            } else if controller.len() > 250 {
                errs.push(cause(
                    CauseType::FieldValueTooLong,
                    "spec.controller",
                    "Too long: may not be more than 250 bytes".into(),
                ));
            }
        }
        ("storage.k8s.io", "StorageClass") => {
            if str_at(obj, "/provisioner").is_empty() {
                errs.push(required("provisioner"));
            }
            let policy = str_at(obj, "/reclaimPolicy");
            if !["Delete", "Retain"].contains(&policy) {
                errs.push(not_supported("reclaimPolicy", policy, &["Delete", "Retain"]));
            }
            let mode = str_at(obj, "/volumeBindingMode");
            if !["Immediate", "WaitForFirstConsumer"].contains(&mode) {
                errs.push(not_supported("volumeBindingMode", mode, &["Immediate", "WaitForFirstConsumer"]));
            }
        }
        ("storage.k8s.io", "CSINode") => {
            for (i, d) in array(obj, "/spec/drivers").iter().enumerate() {
                if str_at(d, "/name").is_empty() {
                    errs.push(required(&format!("spec.drivers[{i}].name")));
                }
                if str_at(d, "/nodeID").is_empty() {
                    errs.push(required_because(
                        &format!("spec.drivers[{i}].nodeID"),
                        "nodeID cannot be empty",
                    ));
                }
            }
        }
        ("storage.k8s.io", "VolumeAttachment") => validate_volume_attachment(obj, errs),
        ("scheduling.k8s.io", "PriorityClass") => validate_priority_class(obj, errs),
        ("node.k8s.io", "RuntimeClass") => {
            let handler = str_at(obj, "/handler");
            if !is_label(handler) {
                errs.push(invalid("handler", handler, DNS1123_LABEL_MSG));
            }
        }
        ("discovery.k8s.io", "EndpointSlice") => validate_endpoint_slice(obj, errs),
        ("apiregistration.k8s.io", "APIService") => validate_api_service(obj, errs),
        _ => {}
    }
}

/// Field errors of an update beyond those of the new object alone.
pub(super) fn validate_update(rt: &ResourceType, new: &Value, old: &Value, errs: &mut Errors) {
    match (rt.group, rt.kind) {
        ("", "PersistentVolumeClaim") => {
            let strip = |v: &Value| {
                let mut spec = v.get("spec").cloned().unwrap_or(Value::Null);
                if let Some(m) = spec.as_object_mut() {
                    m.remove("volumeAttributesClassName");
                    if let Some(r) = m.get_mut("resources").and_then(Value::as_object_mut) {
                        r.remove("requests");
                    }
                    // Binding sets the volume name of a claim that had none.
                    if old.pointer("/spec/volumeName").is_none_or(|v| v.as_str() == Some("")) {
                        m.remove("volumeName");
                    }
                }
                spec
            };
            if strip(new) != strip(old) {
                errs.push(forbidden("spec", "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"));
            }
        }
        ("events.k8s.io", "Event") => {
            for f in [
                "regarding",
                "reason",
                "note",
                "deprecatedSource",
                "deprecatedFirstTimestamp",
                "deprecatedLastTimestamp",
                "deprecatedCount",
                "type",
                "eventTime",
                "action",
                "related",
                "reportingController",
                "reportingInstance",
            ] {
                immutable(new, old, &format!("/{f}"), f, errs);
            }
        }
        ("networking.k8s.io", "IngressClass") => {
            immutable(new, old, "/spec/controller", "spec.controller", errs)
        }
        ("storage.k8s.io", "StorageClass") => {
            for (f, what) in [
                ("parameters", "parameters"),
                ("provisioner", "provisioner"),
                ("reclaimPolicy", "reclaimPolicy"),
            ] {
                if new.get(f) != old.get(f) {
                    errs.push(forbidden(f, &format!("updates to {what} are forbidden.")));
                }
            }
            immutable(new, old, "/volumeBindingMode", "volumeBindingMode", errs);
        }
        ("storage.k8s.io", "CSIDriver") => {
            for f in ["attachRequired", "fsGroupPolicy", "volumeLifecycleModes"] {
                immutable(new, old, &format!("/spec/{f}"), &format!("spec.{f}"), errs);
            }
        }
        ("storage.k8s.io", "VolumeAttachment") => immutable(new, old, "/spec", "spec", errs),
        ("scheduling.k8s.io", "PriorityClass") => {
            if new.get("value") != old.get("value") {
                errs.push(forbidden("value", "may not be changed in an update."));
            }
            immutable(new, old, "/preemptionPolicy", "preemptionPolicy", errs);
        }
        ("node.k8s.io", "RuntimeClass") => immutable(new, old, "/handler", "handler", errs),
        ("discovery.k8s.io", "EndpointSlice") => immutable(new, old, "/addressType", "addressType", errs),
        _ => {}
    }
}

fn array<'a>(obj: &'a Value, pointer: &str) -> &'a [Value] {
    obj.pointer(pointer).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default()
}

fn validate_binding(rt: &ResourceType, obj: &Value, errs: &mut Errors) {
    if str_at(obj, "/roleRef/name").is_empty() {
        errs.push(required("roleRef.name"));
    }
    let kind = str_at(obj, "/roleRef/kind");
    let allowed: &[&str] = if rt.kind == "RoleBinding" { &["Role", "ClusterRole"] } else { &["ClusterRole"] };
    if !allowed.contains(&kind) {
        errs.push(not_supported("roleRef.kind", kind, allowed));
    }
}

const VOLUME_SOURCES: &[&str] = &[
    "awsElasticBlockStore",
    "azureDisk",
    "azureFile",
    "cephfs",
    "cinder",
    "csi",
    "fc",
    "flexVolume",
    "flocker",
    "gcePersistentDisk",
    "glusterfs",
    "hostPath",
    "iscsi",
    "local",
    "nfs",
    "photonPersistentDisk",
    "portworxVolume",
    "quobyte",
    "rbd",
    "scaleIO",
    "storageos",
    "vsphereVolume",
];
const ACCESS_MODES: &[&str] = &["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"];

fn validate_access_modes(obj: &Value, path: &str, errs: &mut Errors) {
    for m in array(obj, &format!("/{}", path.replace('.', "/"))) {
        let m = m.as_str().unwrap_or_default();
        if !ACCESS_MODES.contains(&m) {
            errs.push(not_supported(path, m, ACCESS_MODES));
        }
    }
}

/// kube's `ValidatePersistentVolumeSpec`, the common part.
fn validate_pv(obj: &Value, errs: &mut Errors) {
    if array(obj, "/spec/accessModes").is_empty() {
        errs.push(required("spec.accessModes"));
    }
    validate_access_modes(obj, "spec.accessModes", errs);
    match obj.pointer("/spec/capacity").and_then(Value::as_object) {
        None => errs.push(required("spec.capacity")),
        Some(c) if !c.contains_key("storage") || c.len() > 1 => errs.push(cause(
            CauseType::FieldValueNotSupported,
            "spec.capacity",
            format!("Unsupported value: {}: supported values: \"storage\"", Value::Object(c.clone())),
        )),
        Some(_) => {}
    }
    let sources = VOLUME_SOURCES.iter().filter(|s| obj.pointer(&format!("/spec/{s}")).is_some()).count();
    if sources == 0 {
        errs.push(required_because("spec", "must specify a volume type"));
    } else if sources > 1 {
        errs.push(forbidden("spec", "may not specify more than 1 volume type"));
    }
    let policy = str_at(obj, "/spec/persistentVolumeReclaimPolicy");
    if !["Delete", "Recycle", "Retain"].contains(&policy) {
        errs.push(not_supported(
            "spec.persistentVolumeReclaimPolicy",
            policy,
            &["Delete", "Recycle", "Retain"],
        ));
    }
}

/// kube's `ValidatePersistentVolumeClaimSpec`, the common part.
fn validate_pvc(obj: &Value, errs: &mut Errors) {
    if array(obj, "/spec/accessModes").is_empty() {
        errs.push(required_because("spec.accessModes", "at least 1 access mode is required"));
    }
    validate_access_modes(obj, "spec.accessModes", errs);
    if obj.pointer("/spec/resources/requests/storage").is_none() {
        errs.push(required("spec.resources[storage]"));
    }
    let mode = str_at(obj, "/spec/volumeMode");
    if !mode.is_empty() && !["Block", "Filesystem"].contains(&mode) {
        errs.push(not_supported("spec.volumeMode", mode, &["Block", "Filesystem"]));
    }
}

/// `legacyValidateEvent`: a core v1 Event's namespace agrees with its involved object's.
fn validate_event_legacy(obj: &Value, errs: &mut Errors) {
    let ns = str_at(obj, "/metadata/namespace");
    let involved = str_at(obj, "/involvedObject/namespace");
    let mismatch = if involved.is_empty() { !ns.is_empty() && ns != "default" } else { ns != involved };
    if str_at(obj, "/eventTime").is_empty() && mismatch {
        errs.push(invalid("involvedObject.namespace", involved, "does not match event.namespace"));
    }
}

/// `ValidateEventCreate` for events.k8s.io/v1, on the events.k8s.io field names (kube reports
/// the core names where they differ; kubeward reports the ones the client sent).
fn validate_event_v1(obj: &Value, errs: &mut Errors) {
    let ns = str_at(obj, "/metadata/namespace");
    if str_at(obj, "/regarding/namespace").is_empty() && ns != "default" && ns != "kube-system" {
        errs.push(invalid("regarding.namespace", "", "does not match event.namespace"));
    }
    let controller = str_at(obj, "/reportingController");
    if controller.is_empty() {
        errs.push(required("reportingController"));
    }
    if !controller.is_empty() {
        for msg in qualified_name_errors(controller) {
            errs.push(invalid("reportingController", controller, &msg));
        }
    }
    for (f, limit) in [("reportingInstance", 128), ("action", 128), ("reason", 128)] {
        let v = str_at(obj, &format!("/{f}"));
        if v.is_empty() {
            errs.push(required(f));
        } else if v.len() > limit {
            errs.push(invalid(f, "", &format!("can have at most {limit} characters")));
        }
    }
    if str_at(obj, "/note").len() > 1024 {
        errs.push(invalid("note", "", "can have at most 1024 characters"));
    }
    if let Some(series) = obj.get("series").filter(|s| !s.is_null()) {
        if series.get("count").and_then(Value::as_i64).unwrap_or(0) < 2 {
            errs.push(invalid("series.count", "", "should be at least 2"));
        }
        if str_at(series, "/lastObservedTime").is_empty() {
            errs.push(required("series.lastObservedTime"));
        }
    }
    if str_at(obj, "/eventTime").is_empty() {
        errs.push(required("eventTime"));
    }
    let t = str_at(obj, "/type");
    if t != "Normal" && t != "Warning" {
        errs.push(invalid("type", "", &format!("has invalid value: {t}")));
    }
    for f in ["deprecatedFirstTimestamp", "deprecatedLastTimestamp", "deprecatedCount", "deprecatedSource"] {
        if obj.get(f).is_some_and(|v| !v.is_null() && v != &Value::from(0) && v != &serde_json::json!({})) {
            errs.push(invalid(f, "", "needs to be unset"));
        }
    }
}

/// `ValidateIngressSpec`, the part that rejects what no controller could serve.
fn validate_ingress(obj: &Value, errs: &mut Errors) {
    let rules = array(obj, "/spec/rules");
    if rules.is_empty() && obj.pointer("/spec/defaultBackend").is_none() {
        errs.push(invalid_rendered(
            "spec",
            "[]networking.IngressRule(nil)",
            "either `defaultBackend` or `rules` must be specified",
        ));
    }
    for (i, rule) in rules.iter().enumerate() {
        let host = str_at(rule, "/host");
        if !host.is_empty() && !is_subdomain(host.strip_prefix("*.").unwrap_or(host)) {
            errs.push(invalid(&format!("spec.rules[{i}].host"), host, super::common::DNS1123_SUBDOMAIN_MSG));
        }
        for (j, path) in array(rule, "/http/paths").iter().enumerate() {
            let at = format!("spec.rules[{i}].http.paths[{j}]");
            match str_at(path, "/pathType") {
                "" => errs.push(required_because(&format!("{at}.pathType"), "pathType must be specified")),
                "Exact" | "Prefix" | "ImplementationSpecific" => {}
                other => errs.push(not_supported(
                    &format!("{at}.pathType"),
                    other,
                    &["Exact", "ImplementationSpecific", "Prefix"],
                )),
            }
            let backend = path.get("backend").map(Value::to_string).unwrap_or_else(|| "null".into());
            let (service, resource) = (path.pointer("/backend/service"), path.pointer("/backend/resource"));
            match (service, resource) {
                (Some(_), Some(_)) => errs.push(invalid_rendered(
                    &format!("{at}.backend"),
                    &backend,
                    "cannot set both service and resource backends",
                )),
                (None, None) => errs.push(invalid_rendered(
                    &format!("{at}.backend"),
                    &backend,
                    "resource or service backend is required",
                )),
                (Some(s), None) if str_at(s, "/name").is_empty() => {
                    errs.push(required(&format!("{at}.backend.service.name")))
                }
                _ => {}
            }
        }
    }
}

fn validate_volume_attachment(obj: &Value, errs: &mut Errors) {
    if str_at(obj, "/spec/attacher").is_empty() {
        errs.push(required("spec.attacher"));
    }
    if str_at(obj, "/spec/nodeName").is_empty() {
        errs.push(required("spec.nodeName"));
    }
    let pv = !str_at(obj, "/spec/source/persistentVolumeName").is_empty();
    let inline = obj.pointer("/spec/source/inlineVolumeSpec").is_some_and(|v| !v.is_null());
    if pv == inline {
        errs.push(required_because(
            "spec.source",
            "must specify exactly one of inlineVolumeSpec and persistentVolumeName",
        ));
    }
}

/// `ValidatePriorityClass`: `system-` names are reserved for the two system classes.
fn validate_priority_class(obj: &Value, errs: &mut Errors) {
    let name = str_at(obj, "/metadata/name");
    let value = obj.get("value").and_then(Value::as_i64).unwrap_or(0);
    let global_default = obj.get("globalDefault") == Some(&Value::Bool(true));
    if name.starts_with("system-") {
        let known = SYSTEM_PRIORITY_CLASSES.iter().find(|(n, _)| *n == name);
        let why = match known {
            None => format!("{name} is not a known system priority class"),
            Some((_, v)) if *v != value => format!("value of {name} PriorityClass must be {v}"),
            Some(_) if global_default => format!("globalDefault of {name} PriorityClass must be false"),
            Some(_) => String::new(),
        };
        if !why.is_empty() {
            errs.push(forbidden(
                "metadata.name",
                &format!("priority class names with 'system-' prefix are reserved for system use only. error: {why}"),
            ));
        }
    } else if value > HIGHEST_USER_PRIORITY {
        errs.push(forbidden(
            "value",
            &format!("maximum allowed value of a user defined priority is {HIGHEST_USER_PRIORITY}"),
        ));
    }
    let policy = str_at(obj, "/preemptionPolicy");
    if !policy.is_empty() && policy != "Never" && policy != "PreemptLowerPriority" {
        errs.push(not_supported("preemptionPolicy", policy, &["Never", "PreemptLowerPriority"]));
    }
}

fn validate_endpoint_slice(obj: &Value, errs: &mut Errors) {
    let types = ["FQDN", "IPv4", "IPv6"];
    match str_at(obj, "/addressType") {
        "" => errs.push(required("addressType")),
        t if !types.contains(&t) => errs.push(not_supported("addressType", t, &types)),
        _ => {}
    }
    for (i, e) in array(obj, "/endpoints").iter().enumerate() {
        let n = array(e, "/addresses").len();
        if n == 0 {
            errs.push(required_because(
                &format!("endpoints[{i}].addresses"),
                "must contain at least 1 address",
            ));
        } else if n > 100 {
            errs.push(cause(
                CauseType::FieldValueTooMany,
                &format!("endpoints[{i}].addresses"),
                format!("Too many: {n}: must have at most 100 items"),
            ));
        }
    }
    for (i, p) in array(obj, "/ports").iter().enumerate() {
        let proto = str_at(p, "/protocol");
        if !["SCTP", "TCP", "UDP"].contains(&proto) {
            errs.push(not_supported(&format!("ports[{i}].protocol"), proto, &["SCTP", "TCP", "UDP"]));
        }
    }
}

/// kube-aggregator's `ValidateAPIService`: named `<version>.<group>`, priorities in range, a
/// service reference complete when given.
fn validate_api_service(obj: &Value, errs: &mut Errors) {
    let name = str_at(obj, "/metadata/name");
    let (group, version) = (str_at(obj, "/spec/group"), str_at(obj, "/spec/version"));
    if !name.is_empty() && name != format!("{version}.{group}") {
        errs.push(invalid("metadata.name", name, "must be `spec.version+\".\"+spec.group`"));
    }
    if !group.is_empty() && !is_subdomain(group) {
        errs.push(invalid("spec.group", group, super::common::DNS1123_SUBDOMAIN_MSG));
    }
    if version.is_empty() {
        errs.push(required("spec.version"));
    } else if !is_label(version) {
        errs.push(invalid("spec.version", version, DNS1123_LABEL_MSG));
    }
    let gp = obj.pointer("/spec/groupPriorityMinimum").and_then(Value::as_i64).unwrap_or(0);
    if gp <= 0 || gp > 20000 {
        errs.push(invalid_number("spec.groupPriorityMinimum", gp, "must be positive and less than 20000"));
    }
    let vp = obj.pointer("/spec/versionPriority").and_then(Value::as_i64).unwrap_or(0);
    if vp <= 0 || vp > 1000 {
        errs.push(invalid_number("spec.versionPriority", vp, "must be positive and less than 1000"));
    }
    let has_ca = !str_at(obj, "/spec/caBundle").is_empty();
    let insecure = obj.pointer("/spec/insecureSkipTLSVerify") == Some(&Value::Bool(true));
    match obj.pointer("/spec/service").filter(|s| !s.is_null()) {
        None => {
            if has_ca {
                errs.push(invalid("spec.caBundle", "", "local APIServices may not have a caBundle"));
            }
            if insecure {
                errs.push(invalid_rendered(
                    "spec.insecureSkipTLSVerify",
                    "true",
                    "local APIServices may not have insecureSkipTLSVerify",
                ));
            }
        }
        Some(s) => {
            if str_at(s, "/namespace").is_empty() {
                errs.push(required("spec.service.namespace"));
            }
            if str_at(s, "/name").is_empty() {
                errs.push(required("spec.service.name"));
            }
            if insecure && has_ca {
                errs.push(invalid_rendered(
                    "spec.insecureSkipTLSVerify",
                    "true",
                    "may not be true if caBundle is present",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalog;
    use serde_json::json;

    fn errors(group: &str, plural: &str, obj: Value) -> Vec<(String, String)> {
        let catalog = Catalog::builtin();
        let rt = catalog.lookup(group, "v1", plural).unwrap();
        let mut errs = Vec::new();
        validate(rt, &obj, &mut errs);
        errs.into_iter().map(|c| (c.field, c.message)).collect()
    }

    #[test]
    fn system_priority_classes_are_reserved() {
        let pc = json!({"metadata": {"name": "system-mine"}, "value": 10});
        assert_eq!(
            errors("scheduling.k8s.io", "priorityclasses", pc),
            vec![("metadata.name".into(), "Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority class".into())]
        );
        let ok = json!({"metadata": {"name": "system-node-critical"}, "value": 2_000_001_000});
        assert!(errors("scheduling.k8s.io", "priorityclasses", ok).is_empty());
        let high = json!({"metadata": {"name": "mine"}, "value": 1_000_000_001});
        assert_eq!(errors("scheduling.k8s.io", "priorityclasses", high)[0].0, "value");
    }

    #[test]
    fn storage_and_claims() {
        let sc = json!({"provisioner": "", "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"});
        assert_eq!(
            errors("storage.k8s.io", "storageclasses", sc),
            vec![("provisioner".into(), "Required value".into())]
        );
        let pvc = json!({"spec": {"accessModes": ["ReadWriteOnce"], "resources": {}}});
        assert_eq!(
            errors("", "persistentvolumeclaims", pvc),
            vec![("spec.resources[storage]".into(), "Required value".into())]
        );
        let pv = json!({"spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain"}});
        assert_eq!(
            errors("", "persistentvolumes", pv),
            vec![("spec".into(), "Required value: must specify a volume type".into())]
        );
    }

    #[test]
    fn api_service_names_follow_version_and_group() {
        let svc = json!({"metadata": {"name": "v1.wrong"}, "spec": {"group": "metrics.k8s.io", "version": "v1",
            "groupPriorityMinimum": 100, "versionPriority": 100, "service": {"namespace": "kube-system"}}});
        let errs = errors("apiregistration.k8s.io", "apiservices", svc);
        assert_eq!(
            errs[0],
            (
                "metadata.name".into(),
                "Invalid value: \"v1.wrong\": must be `spec.version+\".\"+spec.group`".into()
            )
        );
        assert_eq!(errs[1], ("spec.service.name".into(), "Required value".into()));
    }
}
