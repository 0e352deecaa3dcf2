//! Validation of cluster-wide configuration kinds, each after its kube validation file:
//! `pkg/apis/storage/validation`, `pkg/apis/scheduling/validation`,
//! `pkg/apis/node/validation` and kube-aggregator's `apiregistration/validation`.

use super::common::{array, is_label, is_subdomain, str_at, DNS1123_LABEL_MSG};
use crate::ResourceType;
use apimachinery::field::{
    forbidden, immutable, invalid, invalid_number, invalid_rendered, not_supported, required,
    required_because, Errors,
};
use serde_json::Value;

/// kube's `HighestUserDefinablePriority`.
const HIGHEST_USER_PRIORITY: i64 = 1_000_000_000;
/// The system PriorityClasses kube creates at start, with their values.
pub const SYSTEM_PRIORITY_CLASSES: [(&str, i64); 2] =
    [("system-node-critical", 2_000_001_000), ("system-cluster-critical", 2_000_000_000)];

/// Field errors of the kinds in this file.
pub(super) fn validate(rt: &ResourceType, obj: &Value, errs: &mut Errors) {
    match (rt.group, rt.kind) {
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
        ("storage.k8s.io", "CSIStorageCapacity") => validate_storage_capacity(obj, errs),
        ("storage.k8s.io", "VolumeAttributesClass") => validate_volume_attributes_class(obj, errs),
        ("networking.k8s.io", kind @ ("IPAddress" | "ServiceCIDR")) => {
            super::addresses::validate(kind, obj, errs)
        }
        ("resource.k8s.io", kind) => super::dra::validate(kind, obj, errs),
        ("scheduling.k8s.io", "PriorityClass") => validate_priority_class(obj, errs),
        ("node.k8s.io", "RuntimeClass") => {
            let handler = str_at(obj, "/handler");
            if !is_label(handler) {
                errs.push(invalid("handler", handler, DNS1123_LABEL_MSG));
            }
        }
        ("apiregistration.k8s.io", "APIService") => validate_api_service(obj, errs),
        ("flowcontrol.apiserver.k8s.io", kind) => super::flowcontrol::validate(kind, obj, errs),
        ("admissionregistration.k8s.io", kind) => super::admission::validate(kind, obj, errs),
        _ => {}
    }
}

/// Field errors of an update beyond those of the new object alone.
pub(super) fn validate_update(rt: &ResourceType, new: &Value, old: &Value, errs: &mut Errors) {
    match (rt.group, rt.kind) {
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
        ("storage.k8s.io", "VolumeAttributesClass") => {
            for f in ["driverName", "parameters"] {
                if new.get(f) != old.get(f) {
                    errs.push(forbidden(f, &format!("updates to {f} are forbidden.")));
                }
            }
        }
        ("networking.k8s.io", kind @ ("IPAddress" | "ServiceCIDR")) => {
            super::addresses::validate_update(kind, new, old, errs)
        }
        ("resource.k8s.io", kind) => super::dra::validate_update(kind, new, old, errs),
        ("scheduling.k8s.io", "PriorityClass") => {
            if new.get("value") != old.get("value") {
                errs.push(forbidden("value", "may not be changed in an update."));
            }
            immutable(new, old, "/preemptionPolicy", "preemptionPolicy", errs);
        }
        ("node.k8s.io", "RuntimeClass") => immutable(new, old, "/handler", "handler", errs),
        _ => {}
    }
}

/// `ValidateCSIStorageCapacity`: its topology selector, a class name, no negative capacity.
fn validate_storage_capacity(obj: &Value, errs: &mut Errors) {
    if let Some(topology) = obj.get("nodeTopology").filter(|t| !t.is_null()) {
        super::admission_rules::validate_label_selector(topology, "nodeTopology", errs);
    }
    let class = str_at(obj, "/storageClassName");
    if !is_subdomain(class) {
        errs.push(invalid("storageClassName", class, super::common::DNS1123_SUBDOMAIN_MSG));
    }
    let capacity = str_at(obj, "/capacity");
    if capacity.starts_with('-')
        && capacity.trim_start_matches(['-', '0', '.']).chars().next().is_some_and(|c| c.is_ascii_digit())
    {
        errs.push(invalid("capacity", capacity, "must be greater than or equal to 0"));
    }
}

/// `ValidateVolumeAttributesClass`: a CSI driver name and at least one parameter.
fn validate_volume_attributes_class(obj: &Value, errs: &mut Errors) {
    let driver = str_at(obj, "/driverName");
    if driver.is_empty() {
        errs.push(required("driverName"));
    } else if driver.len() > 63 {
        errs.push(apimachinery::field::too_long("driverName", 63));
    } else {
        // kube checks (and shows) the lower-cased name as a qualified name.
        let lower = driver.to_lowercase();
        for msg in super::common::qualified_name_errors(&lower) {
            errs.push(invalid("driverName", &lower, &msg));
        }
    }
    match obj.get("parameters").and_then(Value::as_object) {
        Some(p) if !p.is_empty() => {
            if p.contains_key("") {
                errs.push(invalid("parameters", "", "field can not be empty."));
            }
        }
        _ => errs.push(required_because("parameters", "must contain at least one key/value pair")),
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
    fn storage_classes() {
        let sc = json!({"provisioner": "", "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"});
        assert_eq!(
            errors("storage.k8s.io", "storageclasses", sc),
            vec![("provisioner".into(), "Required value".into())]
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
