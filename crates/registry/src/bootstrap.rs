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
    }
}
