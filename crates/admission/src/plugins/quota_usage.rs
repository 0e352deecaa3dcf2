//! What one object charges against a ResourceQuota (kube's quota evaluators): object counts
//! (`pods`, `count/deployments.apps`, ...), pod compute (`requests.cpu`, `limits.memory`, ...),
//! service node ports and load balancers, PVC storage, ResourceClaim devices by device class;
//! plus pod scope matching.

use crate::plugins::limit_ranger::pod_total;
use crate::quantity::{self, Quantity};
use crate::types::{array_at, at, str_at};
use serde_json::Value;
use std::collections::BTreeMap;

pub type Usage = BTreeMap<String, Quantity>;

/// Core resources that also have a legacy un-prefixed count name.
const LEGACY_COUNTS: &[&str] = &[
    "pods",
    "services",
    "configmaps",
    "secrets",
    "replicationcontrollers",
    "resourcequotas",
    "persistentvolumeclaims",
];

/// `count/<resource>` or `count/<resource>.<group>`.
pub fn count_name(group: &str, resource: &str) -> String {
    if group.is_empty() {
        format!("count/{resource}")
    } else {
        format!("count/{resource}.{group}")
    }
}

/// The (group, resource) whose objects a quota key is charged by, for recounting.
pub fn source_of(key: &str) -> Option<(String, String)> {
    if let Some(rest) = key.strip_prefix("count/") {
        return Some(match rest.split_once('.') {
            Some((r, g)) => (g.to_string(), r.to_string()),
            None => (String::new(), rest.to_string()),
        });
    }
    if LEGACY_COUNTS.contains(&key) {
        return Some((String::new(), key.to_string()));
    }
    if key.starts_with("services.") {
        return Some((String::new(), "services".into()));
    }
    if key.ends_with(DEVICES_PER_CLASS) {
        return Some((RESOURCE_GROUP.into(), "resourceclaims".into()));
    }
    if key == "requests.storage" || key.contains(".storageclass.storage.k8s.io/") {
        return Some((String::new(), "persistentvolumeclaims".into()));
    }
    let compute = ["requests.", "limits.", "cpu", "memory", "ephemeral-storage", "hugepages-"];
    if compute.iter().any(|p| key.starts_with(p)) {
        return Some((String::new(), "pods".into()));
    }
    None
}

fn is_terminal(pod: &Value) -> bool {
    matches!(str_at(pod, &["status", "phase"]), Some("Succeeded" | "Failed"))
}

fn pod_usage(pod: &Value, out: &mut Usage) {
    if is_terminal(pod) {
        return;
    }
    out.insert("pods".into(), Quantity::from_int(1));
    for (field, prefix) in [("requests", "requests."), ("limits", "limits.")] {
        for (name, q) in pod_total(pod, field) {
            out.insert(format!("{prefix}{name}"), q);
            let plain = matches!(name.as_str(), "cpu" | "memory" | "ephemeral-storage")
                || name.starts_with("hugepages-");
            if field == "requests" && plain {
                out.insert(name, q);
            }
        }
    }
}

fn service_usage(svc: &Value, out: &mut Usage) {
    out.insert("services".into(), Quantity::from_int(1));
    let ports = array_at(svc, &["spec", "ports"]).len() as i64;
    match str_at(svc, &["spec", "type"]) {
        Some("NodePort") => {
            out.insert("services.nodeports".into(), Quantity::from_int(ports));
        }
        Some("LoadBalancer") => {
            out.insert("services.loadbalancers".into(), Quantity::from_int(1));
            out.insert("services.nodeports".into(), Quantity::from_int(ports));
        }
        _ => {}
    }
}

fn pvc_usage(pvc: &Value, out: &mut Usage) {
    out.insert("persistentvolumeclaims".into(), Quantity::from_int(1));
    let storage = at(pvc, &["spec", "resources", "requests", "storage"]).and_then(quantity::from_json);
    if let Some(s) = storage {
        out.insert("requests.storage".into(), s);
    }
    if let Some(sc) = str_at(pvc, &["spec", "storageClassName"]).filter(|s| !s.is_empty()) {
        out.insert(format!("{sc}.storageclass.storage.k8s.io/persistentvolumeclaims"), Quantity::from_int(1));
        if let Some(s) = storage {
            out.insert(format!("{sc}.storageclass.storage.k8s.io/requests.storage"), s);
        }
    }
}

/// The group of the dynamic resource allocation kinds.
const RESOURCE_GROUP: &str = "resource.k8s.io";
/// The suffix of a per-device-class quota (kube's `ResourceClaimsPerClass`).
const DEVICES_PER_CLASS: &str = ".deviceclass.resource.k8s.io/devices";
/// What an `All` request counts as (kube's `AllocationResultsMaxSize`).
const ALLOCATION_RESULTS_MAX_SIZE: i64 = 32;

/// The devices one exact request or subrequest asks for: its count for `ExactCount`, the most
/// an allocation holds for `All`, none for another (unset) mode.
fn requested_devices(request: &Value) -> i64 {
    match str_at(request, &["allocationMode"]) {
        Some("ExactCount") => at(request, &["count"]).and_then(Value::as_i64).unwrap_or(0),
        Some("All") => ALLOCATION_RESULTS_MAX_SIZE,
        _ => 0,
    }
}

/// kube's ResourceClaim evaluator: `<class>.deviceclass.resource.k8s.io/devices` per device
/// class of each request; a request with alternatives (`firstAvailable`) charges, per class,
/// the most any of its subrequests asks for.
fn claim_usage(claim: &Value, out: &mut Usage) {
    for request in array_at(claim, &["spec", "devices", "requests"]) {
        let mut charged: BTreeMap<String, i64> = BTreeMap::new();
        let alternatives = array_at(request, &["firstAvailable"]);
        if !alternatives.is_empty() {
            for sub in alternatives {
                let class = format!("{}{DEVICES_PER_CLASS}", str_at(sub, &["deviceClassName"]).unwrap_or(""));
                // As kube's evaluator: a class enters only with a count above zero.
                let n = requested_devices(sub);
                if n > charged.get(&class).copied().unwrap_or(0) {
                    charged.insert(class, n);
                }
            }
        } else if let Some(exactly) = at(request, &["exactly"]).filter(|e| e.is_object()) {
            let class = format!("{}{DEVICES_PER_CLASS}", str_at(exactly, &["deviceClassName"]).unwrap_or(""));
            charged.insert(class, requested_devices(exactly));
        }
        for (class, n) in charged {
            let total = out.entry(class).or_insert_with(Quantity::zero);
            *total = total.add(&Quantity::from_int(n));
        }
    }
}

/// Everything `obj` of `group`/`resource` charges.
pub fn usage(group: &str, resource: &str, obj: &Value) -> Usage {
    let mut out = Usage::new();
    out.insert(count_name(group, resource), Quantity::from_int(1));
    if group.is_empty() {
        match resource {
            "pods" => pod_usage(obj, &mut out),
            "services" => service_usage(obj, &mut out),
            "persistentvolumeclaims" => pvc_usage(obj, &mut out),
            r if LEGACY_COUNTS.contains(&r) => {
                out.insert(r.to_string(), Quantity::from_int(1));
            }
            _ => {}
        }
    } else if (group, resource) == (RESOURCE_GROUP, "resourceclaims") {
        claim_usage(obj, &mut out);
    }
    out
}

fn best_effort(pod: &Value) -> bool {
    ["initContainers", "containers"].iter().flat_map(|l| array_at(pod, &["spec", l])).all(|c| {
        ["requests", "limits"]
            .iter()
            .all(|f| at(c, &["resources", f]).and_then(Value::as_object).is_none_or(|m| m.is_empty()))
    })
}

fn scope_matches(scope: &str, pod: &Value) -> bool {
    let terminating = at(pod, &["spec", "activeDeadlineSeconds"]).is_some();
    match scope {
        "Terminating" => terminating,
        "NotTerminating" => !terminating,
        "BestEffort" => best_effort(pod),
        "NotBestEffort" => !best_effort(pod),
        "CrossNamespacePodAffinity" => cross_namespace_affinity(pod),
        _ => false,
    }
}

/// kube's `usesCrossNamespacePodAffinity`: a pod (anti-)affinity term, required or
/// preferred, that names other namespaces or selects them.
fn cross_namespace_affinity(pod: &Value) -> bool {
    let crosses = |term: &Value| {
        !array_at(term, &["namespaces"]).is_empty()
            || at(term, &["namespaceSelector"]).is_some_and(|s| !s.is_null())
    };
    ["podAffinity", "podAntiAffinity"].iter().any(|kind| {
        let affinity = at(pod, &["spec", "affinity", kind]);
        let required = affinity.map(|a| array_at(a, &["requiredDuringSchedulingIgnoredDuringExecution"]));
        let preferred = affinity.map(|a| array_at(a, &["preferredDuringSchedulingIgnoredDuringExecution"]));
        required.into_iter().flatten().any(crosses)
            || preferred.into_iter().flatten().filter_map(|w| at(w, &["podAffinityTerm"])).any(crosses)
    })
}

fn selector_matches(expr: &Value, pod: &Value) -> bool {
    let scope = str_at(expr, &["scopeName"]).unwrap_or("");
    let op = str_at(expr, &["operator"]).unwrap_or("");
    let values: Vec<&str> = array_at(expr, &["values"]).iter().filter_map(Value::as_str).collect();
    if scope == "PriorityClass" {
        let pc = str_at(pod, &["spec", "priorityClassName"]);
        return match op {
            "In" => pc.is_some_and(|p| values.contains(&p)),
            "NotIn" => pc.is_none_or(|p| !values.contains(&p)),
            "Exists" => pc.is_some(),
            "DoesNotExist" => pc.is_none(),
            _ => false,
        };
    }
    match op {
        "Exists" => scope_matches(scope, pod),
        "DoesNotExist" => !scope_matches(scope, pod),
        _ => false,
    }
}

/// Whether a quota's scopes select this object (scoped quotas only ever select pods).
pub fn quota_selects(quota: &Value, group: &str, resource: &str, obj: &Value) -> bool {
    let scopes = array_at(quota, &["spec", "scopes"]);
    let exprs = array_at(quota, &["spec", "scopeSelector", "matchExpressions"]);
    if scopes.is_empty() && exprs.is_empty() {
        return true;
    }
    match (group, resource) {
        ("", "pods") => {
            scopes.iter().filter_map(Value::as_str).all(|s| scope_matches(s, obj))
                && exprs.iter().all(|e| selector_matches(e, obj))
        }
        // A claim is in scope of VolumeAttributesClass selectors only (kube's PVC evaluator).
        ("", "persistentvolumeclaims") => {
            scopes.is_empty() && exprs.iter().all(|e| claim_selector_matches(e, obj))
        }
        _ => false,
    }
}

/// The volume attributes classes a claim refers to: the one it asks for, the current one and
/// the one being moved to (kube's `getReferencedVolumeAttributesClassNames`).
fn claim_classes(pvc: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = [
        str_at(pvc, &["spec", "volumeAttributesClassName"]),
        str_at(pvc, &["status", "currentVolumeAttributesClassName"]),
        str_at(pvc, &["status", "modifyVolumeStatus", "targetVolumeAttributesClassName"]),
    ]
    .into_iter()
    .flatten()
    .filter(|n| !n.is_empty())
    .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// A `VolumeAttributesClass` scope selector against a claim, as a label selector on
/// `VolumeAttributesClass=<name>` for each class it refers to (or on no labels).
fn claim_selector_matches(expr: &Value, pvc: &Value) -> bool {
    if str_at(expr, &["scopeName"]) != Some("VolumeAttributesClass") {
        return false;
    }
    let values: Vec<&str> = array_at(expr, &["values"]).iter().filter_map(Value::as_str).collect();
    let names = claim_classes(pvc);
    let matches = |name: Option<&str>| match str_at(expr, &["operator"]).unwrap_or("") {
        "In" => name.is_some_and(|n| values.contains(&n)),
        "NotIn" => name.is_none_or(|n| !values.contains(&n)),
        "Exists" => name.is_some(),
        "DoesNotExist" => name.is_none(),
        _ => false,
    };
    if names.is_empty() {
        matches(None)
    } else {
        names.into_iter().any(|n| matches(Some(n)))
    }
}

/// Resource list of a JSON map (`spec.hard`, `status.used`).
pub fn parse_list(v: Option<&Value>) -> Usage {
    v.and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, q)| Some((k.clone(), quantity::from_json(q)?))).collect())
        .unwrap_or_default()
}

/// kube's `prettyPrint`: sorted `name=value` pairs joined by commas.
pub fn pretty(list: &Usage) -> String {
    list.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pod_usage_counts_compute_and_skips_terminal_pods() {
        let pod = json!({"spec": {"containers": [
            {"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m"}}},
            {"name": "b", "resources": {"requests": {"cpu": "150m"}}}]}});
        let u = usage("", "pods", &pod);
        assert_eq!(
            pretty(&u),
            "count/pods=1,cpu=250m,limits.cpu=200m,memory=64Mi,pods=1,requests.cpu=250m,requests.memory=64Mi"
        );
        let done = json!({"spec": {"containers": []}, "status": {"phase": "Succeeded"}});
        assert_eq!(pretty(&usage("", "pods", &done)), "count/pods=1");
    }

    #[test]
    fn other_resources() {
        let svc = json!({"spec": {"type": "LoadBalancer", "ports": [{"port": 80}, {"port": 443}]}});
        assert_eq!(
            pretty(&usage("", "services", &svc)),
            "count/services=1,services=1,services.loadbalancers=1,services.nodeports=2"
        );
        assert_eq!(pretty(&usage("apps", "deployments", &json!({}))), "count/deployments.apps=1");
        let pvc =
            json!({"spec": {"storageClassName": "fast", "resources": {"requests": {"storage": "5Gi"}}}});
        assert_eq!(
            pretty(&usage("", "persistentvolumeclaims", &pvc)),
            "count/persistentvolumeclaims=1,fast.storageclass.storage.k8s.io/persistentvolumeclaims=1,fast.storageclass.storage.k8s.io/requests.storage=5Gi,persistentvolumeclaims=1,requests.storage=5Gi"
        );
        assert_eq!(source_of("count/deployments.apps"), Some(("apps".into(), "deployments".into())));
        let claim = json!({"spec": {"devices": {"requests": [
            {"name": "a", "exactly": {"deviceClassName": "gold", "allocationMode": "ExactCount", "count": 2}},
            {"name": "b", "exactly": {"deviceClassName": "gold", "allocationMode": "All"}},
            {"name": "c", "firstAvailable": [
                {"name": "x", "deviceClassName": "silver", "allocationMode": "ExactCount", "count": 3},
                {"name": "y", "deviceClassName": "silver", "allocationMode": "ExactCount", "count": 1},
                {"name": "z", "deviceClassName": "gold", "allocationMode": "ExactCount", "count": 1},
                {"name": "w", "deviceClassName": "bronze", "allocationMode": "ExactCount", "count": 0}]},
            {"name": "d", "exactly": {"deviceClassName": "iron"}}]}}});
        assert_eq!(
            pretty(&usage("resource.k8s.io", "resourceclaims", &claim)),
            "count/resourceclaims.resource.k8s.io=1,gold.deviceclass.resource.k8s.io/devices=35,\
             iron.deviceclass.resource.k8s.io/devices=0,silver.deviceclass.resource.k8s.io/devices=3"
        );
        assert_eq!(
            source_of("gold.deviceclass.resource.k8s.io/devices"),
            Some(("resource.k8s.io".into(), "resourceclaims".into()))
        );
        assert_eq!(
            source_of("count/resourceclaims.resource.k8s.io"),
            Some(("resource.k8s.io".into(), "resourceclaims".into()))
        );
        let cross = json!({"spec": {"scopeSelector": {"matchExpressions": [
            {"scopeName": "CrossNamespacePodAffinity", "operator": "Exists"}]}}});
        let plain = json!({"spec": {"containers": []}});
        let named = json!({"spec": {"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": "zone", "namespaces": ["other"]}]}}}});
        let selected = json!({"spec": {"affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 1, "podAffinityTerm": {"topologyKey": "zone", "namespaceSelector": {}}}]}}}});
        assert!(!quota_selects(&cross, "", "pods", &plain));
        assert!(quota_selects(&cross, "", "pods", &named));
        assert!(quota_selects(&cross, "", "pods", &selected));
        let gold = json!({"spec": {"scopeSelector": {"matchExpressions": [
            {"scopeName": "VolumeAttributesClass", "operator": "In", "values": ["gold"]}]}}});
        let claim = |class: &str| json!({"spec": {"volumeAttributesClassName": class}});
        assert!(quota_selects(&gold, "", "persistentvolumeclaims", &claim("gold")));
        assert!(!quota_selects(&gold, "", "persistentvolumeclaims", &claim("silver")));
        assert!(!quota_selects(&gold, "", "pods", &claim("gold")));
        let moving = json!({"spec": {"volumeAttributesClassName": "silver"},
            "status": {"currentVolumeAttributesClassName": "gold"}});
        assert!(quota_selects(&gold, "", "persistentvolumeclaims", &moving), "the current class counts too");
        assert_eq!(source_of("limits.memory"), Some(("".into(), "pods".into())));
    }

    #[test]
    fn scopes_select_pods_only() {
        let q = json!({"spec": {"scopes": ["BestEffort"]}});
        assert!(quota_selects(&q, "", "pods", &json!({"spec": {"containers": [{"name": "a"}]}})));
        assert!(!quota_selects(
            &q,
            "",
            "pods",
            &json!({"spec": {"containers": [{"name": "a", "resources": {"requests": {"cpu": "1"}}}]}})
        ));
        assert!(!quota_selects(&q, "", "configmaps", &json!({})));
        let pc = json!({"spec": {"scopeSelector": {"matchExpressions": [{"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}]}}});
        assert!(quota_selects(&pc, "", "pods", &json!({"spec": {"priorityClassName": "high"}})));
        assert!(!quota_selects(&pc, "", "pods", &json!({"spec": {}})));
    }
}
