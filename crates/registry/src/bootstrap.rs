//! Objects derived from the catalog that every cluster starts with, as kube-apiserver creates
//! them at start: the two system PriorityClasses (`pkg/apis/scheduling/v1/defaults.go`,
//! created by the `scheduling/bootstrap-system-priority-classes` post-start hook) and one
//! local APIService per served group-version (the aggregator's auto-registration, with the
//! priorities of `pkg/controlplane/apiserver/aggregator.go`).

use crate::Catalog;
use serde_json::{json, Value};

/// A group-version and its `(groupPriorityMinimum, versionPriority)`.
type Priority = ((&'static str, &'static str), (i64, i64));

/// `(group, version) -> (groupPriorityMinimum, versionPriority)`, kube's table.
const PRIORITIES: &[Priority] = &[
    (("", "v1"), (18000, 1)),
    (("apps", "v1"), (17800, 15)),
    (("events.k8s.io", "v1"), (17750, 15)),
    (("authentication.k8s.io", "v1"), (17700, 15)),
    (("authentication.k8s.io", "v1beta1"), (17700, 9)),
    (("authorization.k8s.io", "v1"), (17600, 15)),
    (("autoscaling", "v1"), (17500, 15)),
    (("autoscaling", "v2"), (17500, 30)),
    (("batch", "v1"), (17400, 15)),
    (("certificates.k8s.io", "v1"), (17300, 15)),
    (("networking.k8s.io", "v1"), (17200, 15)),
    (("policy", "v1"), (17100, 15)),
    (("rbac.authorization.k8s.io", "v1"), (17000, 15)),
    (("storage.k8s.io", "v1"), (16800, 15)),
    (("apiextensions.k8s.io", "v1"), (16700, 15)),
    (("admissionregistration.k8s.io", "v1"), (16700, 15)),
    (("scheduling.k8s.io", "v1"), (16600, 15)),
    (("coordination.k8s.io", "v1"), (16500, 15)),
    (("node.k8s.io", "v1"), (16300, 15)),
    (("discovery.k8s.io", "v1"), (16200, 15)),
    (("resource.k8s.io", "v1"), (16200, 21)),
    (("flowcontrol.apiserver.k8s.io", "v1"), (16100, 21)),
];

/// `system-node-critical` and `system-cluster-critical`.
pub fn system_priority_classes() -> Vec<Value> {
    let describe = [
        ("system-node-critical", "Used for system critical pods that must not be moved from their current node."),
        (
            "system-cluster-critical",
            "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
        ),
    ];
    crate::strategy::SYSTEM_PRIORITY_CLASSES
        .iter()
        .map(|(name, value)| {
            let description = describe.iter().find(|(n, _)| n == name).map(|(_, d)| *d).unwrap_or_default();
            json!({
                "apiVersion": "scheduling.k8s.io/v1",
                "kind": "PriorityClass",
                "metadata": {"name": name},
                "value": value,
                "description": description,
            })
        })
        .collect()
}

/// kube's mandatory API Priority and Fairness configuration (k8s.io/apiserver
/// `pkg/apis/flowcontrol/bootstrap/default.go`), priority levels first as kube's ensurer
/// creates them: the `exempt` and `catch-all` PriorityLevelConfigurations and the FlowSchemas
/// of the same names, with kube's specs and its `apf.kubernetes.io/autoupdate-spec`
/// annotation. kube's suggested objects (`global-default`, `system-nodes`, ...) are not
/// created. kubeward stores them and does not enforce them (see `resources/flowcontrol.rs`).
pub fn mandatory_flow_control() -> Vec<Value> {
    let meta =
        |name: &str| json!({"name": name, "annotations": {"apf.kubernetes.io/autoupdate-spec": "true"}});
    let level = |name: &str, spec: Value| {
        json!({"apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "PriorityLevelConfiguration",
            "metadata": meta(name), "spec": spec})
    };
    let everything = json!([{
        "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"], "clusterScope": true, "namespaces": ["*"]}],
        "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
    }]);
    let schema = |name: &str, precedence: i64, distinguisher: Option<&str>, groups: &[&str]| {
        let mut rules = everything.clone();
        rules[0]["subjects"] =
            groups.iter().map(|g| json!({"kind": "Group", "group": {"name": g}})).collect::<Vec<_>>().into();
        let mut spec = json!({"priorityLevelConfiguration": {"name": name}, "matchingPrecedence": precedence, "rules": rules});
        if let Some(d) = distinguisher {
            spec["distinguisherMethod"] = json!({"type": d});
        }
        json!({"apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "FlowSchema", "metadata": meta(name), "spec": spec})
    };
    vec![
        level(
            "exempt",
            json!({"type": "Exempt", "exempt": {"nominalConcurrencyShares": 0, "lendablePercent": 0}}),
        ),
        level(
            "catch-all",
            json!({"type": "Limited", "limited": {"nominalConcurrencyShares": 5, "lendablePercent": 0,
                "limitResponse": {"type": "Reject"}}}),
        ),
        schema("exempt", 1, None, &["system:masters"]),
        schema("catch-all", 10000, Some("ByUser"), &["system:unauthenticated", "system:authenticated"]),
    ]
}

/// One APIService per served group-version, without `spec.service` (served locally). kube
/// registers none for apiregistration.k8s.io itself, nor for a group-version it has no
/// priority for.
pub fn local_api_services(catalog: &Catalog) -> Vec<Value> {
    catalog
        .group_versions()
        .into_iter()
        .filter_map(|(group, version)| {
            let (_, (gp, vp)) = PRIORITIES.iter().find(|(gv, _)| *gv == (group, version))?;
            Some(json!({
                "apiVersion": "apiregistration.k8s.io/v1",
                "kind": "APIService",
                "metadata": {"name": format!("{version}.{group}"), "labels": {"kube-aggregator.kubernetes.io/automanaged": "onstart"}},
                "spec": {"group": group, "version": version, "groupPriorityMinimum": gp, "versionPriority": vp, "service": null},
            }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy;

    #[test]
    fn bootstrap_objects_are_valid() {
        let c = Catalog::builtin();
        let services = local_api_services(&c);
        let names: Vec<&str> =
            services.iter().filter_map(|s| s.pointer("/metadata/name")?.as_str()).collect();
        assert!(names.contains(&"v1."));
        assert!(names.contains(&"v1.apps"));
        assert!(names.contains(&"v1beta1.authentication.k8s.io"));
        assert!(!names.iter().any(|n| n.ends_with("apiregistration.k8s.io")));
        let rt = c.lookup("apiregistration.k8s.io", "v1", "apiservices").unwrap();
        for s in &services {
            assert!(strategy::validate(rt, s).is_empty(), "{s}");
        }
        let pc = c.lookup("scheduling.k8s.io", "v1", "priorityclasses").unwrap();
        for p in system_priority_classes() {
            assert!(strategy::validate(pc, &p).is_empty(), "{p}");
        }
        for mut o in mandatory_flow_control() {
            let kind = o["kind"].as_str().unwrap_or_default().to_string();
            let rt = c.by_kind("flowcontrol.apiserver.k8s.io", &kind).unwrap();
            let (typed, dropped) = rt.normalize(&o).unwrap();
            assert!(dropped.is_empty(), "{dropped:?}");
            // kube's defaulting changes nothing in them (its internalbootstrap tests say so).
            strategy::prepare_for_create(rt, &mut o, "2026-01-01T00:00:00Z");
            assert_eq!(o["spec"], typed["spec"], "{kind}");
            assert!(strategy::validate(rt, &o).is_empty(), "{o}: {:?}", strategy::validate(rt, &o));
        }
    }
}
