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

fn flow_control_meta(name: &str) -> Value {
    json!({"name": name, "annotations": {"apf.kubernetes.io/autoupdate-spec": "true"}})
}

fn priority_level(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "PriorityLevelConfiguration",
        "metadata": flow_control_meta(name), "spec": spec})
}

/// A Limited level that queues (kube's suggested levels).
fn queuing_level(name: &str, shares: i64, lendable: i64, queues: i64, hand_size: i64) -> Value {
    priority_level(
        name,
        json!({"type": "Limited", "limited": {"nominalConcurrencyShares": shares, "lendablePercent": lendable,
            "limitResponse": {"type": "Queue", "queuing": {"queues": queues, "handSize": hand_size, "queueLengthLimit": 50}}}}),
    )
}

fn flow_schema(name: &str, level: &str, precedence: i64, distinguisher: Option<&str>, rules: Value) -> Value {
    let mut spec = json!({"priorityLevelConfiguration": {"name": level}, "matchingPrecedence": precedence, "rules": [rules]});
    if let Some(d) = distinguisher {
        spec["distinguisherMethod"] = json!({"type": d});
    }
    json!({"apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "FlowSchema", "metadata": flow_control_meta(name), "spec": spec})
}

fn groups(names: &[&str]) -> Value {
    names.iter().map(|g| json!({"kind": "Group", "group": {"name": g}})).collect()
}

fn users(names: &[&str]) -> Value {
    names.iter().map(|u| json!({"kind": "User", "user": {"name": u}})).collect()
}

/// Every kube-system service account.
fn kube_system_service_accounts() -> Value {
    json!([{"kind": "ServiceAccount", "serviceAccount": {"namespace": "kube-system", "name": "*"}}])
}

/// A rule over every verb, group, resource and namespace, and every non-resource URL.
fn everything(subjects: Value) -> Value {
    json!({"subjects": subjects,
        "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"], "clusterScope": true, "namespaces": ["*"]}],
        "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}]})
}

/// kube's mandatory API Priority and Fairness configuration (k8s.io/apiserver
/// `pkg/apis/flowcontrol/bootstrap/default.go`), priority levels first as kube's ensurer
/// creates them: the `exempt` and `catch-all` PriorityLevelConfigurations and the FlowSchemas
/// of the same names, with kube's specs and its `apf.kubernetes.io/autoupdate-spec`
/// annotation. Requests are classified by them (`apiserver/src/limits/flowcontrol.rs`).
pub fn mandatory_flow_control() -> Vec<Value> {
    vec![
        priority_level(
            "exempt",
            json!({"type": "Exempt", "exempt": {"nominalConcurrencyShares": 0, "lendablePercent": 0}}),
        ),
        priority_level(
            "catch-all",
            json!({"type": "Limited", "limited": {"nominalConcurrencyShares": 5, "lendablePercent": 0,
                "limitResponse": {"type": "Reject"}}}),
        ),
        flow_schema("exempt", "exempt", 1, None, everything(groups(&["system:masters"]))),
        flow_schema(
            "catch-all",
            "catch-all",
            10000,
            Some("ByUser"),
            everything(groups(&["system:unauthenticated", "system:authenticated"])),
        ),
    ]
}

/// kube's suggested API Priority and Fairness configuration (the same file's `Suggested*`),
/// in the order kube's ensurer creates it (before the mandatory objects): the levels
/// `system`, `node-high`, `leader-election`, `workload-high`, `workload-low` and
/// `global-default`, and the FlowSchemas that send nodes, probes, leader election,
/// kube-controller-manager, kube-scheduler, service accounts and everyone else to them.
pub fn suggested_flow_control() -> Vec<Value> {
    let nodes = || groups(&["system:nodes"]);
    let controller_manager = "system:kube-controller-manager";
    let scheduler = "system:kube-scheduler";
    let mut election_subjects = users(&[controller_manager, scheduler]);
    if let (Some(subjects), Value::Array(accounts)) =
        (election_subjects.as_array_mut(), kube_system_service_accounts())
    {
        subjects.extend(accounts);
    }
    vec![
        queuing_level("system", 30, 33, 64, 6),
        queuing_level("node-high", 40, 25, 64, 6),
        queuing_level("leader-election", 10, 0, 16, 4),
        queuing_level("workload-high", 40, 50, 128, 6),
        queuing_level("workload-low", 100, 90, 128, 6),
        queuing_level("global-default", 20, 50, 128, 6),
        flow_schema("system-nodes", "system", 500, Some("ByUser"), everything(nodes())),
        flow_schema(
            "system-node-high",
            "node-high",
            400,
            Some("ByUser"),
            json!({"subjects": nodes(), "resourceRules": [
                {"verbs": ["*"], "apiGroups": [""], "resources": ["nodes", "nodes/status"], "clusterScope": true, "namespaces": ["*"]},
                {"verbs": ["*"], "apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "namespaces": ["*"]}]}),
        ),
        flow_schema(
            "probes",
            "exempt",
            2,
            None,
            json!({"subjects": groups(&["system:unauthenticated", "system:authenticated"]),
                "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": ["/healthz", "/readyz", "/livez"]}]}),
        ),
        flow_schema(
            "system-leader-election",
            "leader-election",
            100,
            Some("ByUser"),
            json!({"subjects": election_subjects, "resourceRules": [
                {"verbs": ["get", "create", "update"], "apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "namespaces": ["*"]}]}),
        ),
        flow_schema(
            "kube-controller-manager",
            "workload-high",
            800,
            Some("ByNamespace"),
            everything(users(&[controller_manager])),
        ),
        flow_schema(
            "kube-scheduler",
            "workload-high",
            800,
            Some("ByNamespace"),
            everything(users(&[scheduler])),
        ),
        flow_schema(
            "kube-system-service-accounts",
            "workload-high",
            900,
            Some("ByNamespace"),
            everything(kube_system_service_accounts()),
        ),
        flow_schema(
            "service-accounts",
            "workload-low",
            9000,
            Some("ByUser"),
            everything(groups(&["system:serviceaccounts"])),
        ),
        flow_schema(
            "global-default",
            "global-default",
            9900,
            Some("ByUser"),
            everything(groups(&["system:unauthenticated", "system:authenticated"])),
        ),
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
        for mut o in suggested_flow_control().into_iter().chain(mandatory_flow_control()) {
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
