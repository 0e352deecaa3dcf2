//! Validation of the namespaced kinds that are not workloads (and PersistentVolumes), each
//! after its kube validation file: `pkg/apis/core/validation` (Pod, PersistentVolume(Claim),
//! Event), `pkg/apis/core/validation/events.go` (events.k8s.io), `pkg/apis/rbac/validation`,
//! `pkg/apis/networking/validation` and `pkg/apis/discovery/validation`. The cluster-wide
//! configuration kinds are in `cluster`.

use super::common::{array, is_subdomain, qualified_name_errors, str_at, validate_pod_spec};
use crate::ResourceType;
use apimachinery::field::{
    cause, forbidden, immutable, invalid, invalid_rendered, not_supported, required, required_because, Errors,
};
use apimachinery::status::CauseType;
use serde_json::Value;

/// Field errors of the kinds in this file.
pub(super) fn validate(rt: &ResourceType, obj: &Value, errs: &mut Errors) {
    match (rt.group, rt.kind) {
        ("", "Pod") => {
            validate_pod_spec(obj.get("spec"), "spec", errs);
            super::pods::validate_ephemeral_containers(obj.get("spec"), "spec", errs);
        }
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
            validate_binding(rt, obj, errs)
        }
        ("autoscaling", "HorizontalPodAutoscaler") => validate_hpa(obj, errs),
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
        ("discovery.k8s.io", "EndpointSlice") => validate_endpoint_slice(obj, errs),
        ("", "Service") => validate_service_ports(obj, errs),
        _ => super::cluster::validate(rt, obj, errs),
    }
}

/// The port rules of kube's `ValidateService`: ports required unless headless or an
/// ExternalName, names required when several and unique, numbers and protocols valid.
fn validate_service_ports(obj: &Value, errs: &mut Errors) {
    use apimachinery::field::{duplicate, invalid_number};
    const PORT_RANGE: &str = "must be between 1 and 65535, inclusive";
    let ports = array(obj, "/spec/ports");
    let service_type = obj.pointer("/spec/type").and_then(Value::as_str).unwrap_or("ClusterIP");
    let headless = str_at(obj, "/spec/clusterIP") == "None";
    if ports.is_empty() && service_type != "ExternalName" && !headless {
        errs.push(required("spec.ports"));
    }
    let mut names = Vec::new();
    for (i, p) in ports.iter().enumerate() {
        let path = format!("spec.ports[{i}]");
        let name = str_at(p, "/name");
        if ports.len() > 1 && name.is_empty() {
            errs.push(required(&format!("{path}.name")));
        } else if !name.is_empty() {
            if names.contains(&name) {
                errs.push(duplicate(&format!("{path}.name"), name));
            }
            names.push(name);
        }
        match p.get("port").and_then(Value::as_i64) {
            Some(n) if !(1..=65535).contains(&n) => {
                errs.push(invalid_number(&format!("{path}.port"), n, PORT_RANGE))
            }
            _ => {}
        }
        let protocol = str_at(p, "/protocol");
        if !protocol.is_empty() && !matches!(protocol, "TCP" | "UDP" | "SCTP") {
            errs.push(not_supported(&format!("{path}.protocol"), protocol, &["SCTP", "TCP", "UDP"]));
        }
        if let Some(n) = p.get("targetPort").and_then(Value::as_i64) {
            if !(1..=65535).contains(&n) {
                errs.push(invalid_number(&format!("{path}.targetPort"), n, PORT_RANGE));
            }
        }
    }
}

/// Field errors of an update beyond those of the new object alone.
pub(super) fn validate_update(rt: &ResourceType, new: &Value, old: &Value, errs: &mut Errors) {
    match (rt.group, rt.kind) {
        ("", "Pod") => super::pod_update::validate(new, old, errs),
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
        ("discovery.k8s.io", "EndpointSlice") => immutable(new, old, "/addressType", "addressType", errs),
        _ => super::cluster::validate_update(rt, new, old, errs),
    }
}

/// kube's `validateHorizontalPodAutoscalerSpec`: replica bounds and the scale target (the
/// metrics and behavior are checked by their types only).
fn validate_hpa(obj: &Value, errs: &mut Errors) {
    let min = obj.pointer("/spec/minReplicas").and_then(Value::as_i64);
    let max = obj.pointer("/spec/maxReplicas").and_then(Value::as_i64).unwrap_or(0);
    if let Some(m) = min.filter(|m| *m < 1) {
        errs.push(apimachinery::field::invalid_number(
            "spec.minReplicas",
            m,
            "must be greater than or equal to 1",
        ));
    }
    if max < 1 {
        errs.push(apimachinery::field::invalid_number("spec.maxReplicas", max, "must be greater than 0"));
    }
    if min.is_some_and(|m| max < m) {
        errs.push(apimachinery::field::invalid_number(
            "spec.maxReplicas",
            max,
            "must be greater than or equal to `minReplicas`",
        ));
    }
    for f in ["kind", "name"] {
        let v = str_at(obj, &format!("/spec/scaleTargetRef/{f}"));
        let field = format!("spec.scaleTargetRef.{f}");
        if v.is_empty() {
            errs.push(required(&field));
        } else if v == "." || v == ".." {
            errs.push(invalid(&field, v, &format!("may not be '{v}'")));
        } else if v.contains(['/', '%']) {
            let c = if v.contains('/') { "/" } else { "%" };
            errs.push(invalid(&field, v, &format!("may not contain '{c}'")));
        }
    }
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
}
