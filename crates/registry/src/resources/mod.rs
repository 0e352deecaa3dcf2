//! The built-in resources, one file per family of API groups, in the order discovery lists
//! them: the core group first, then the groups in kube's APIService priority order
//! (`pkg/controlplane/apiserver/aggregator.go`, highest `groupPriorityMinimum` first).

mod core;
mod flowcontrol;
mod groups;
mod workloads;

use crate::catalog::{ResourceType, Subresource, CREATE_ONLY, STANDARD_VERBS};
use crate::typed::RoundTrip;

/// A stored resource with the standard verbs, no status, no subresources.
#[allow(clippy::too_many_arguments)]
pub(crate) const fn r(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    singular: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    round_trip: RoundTrip,
) -> ResourceType {
    ResourceType {
        group,
        version,
        kind,
        plural,
        singular,
        namespaced,
        short_names,
        categories: &[],
        verbs: STANDARD_VERBS,
        subresources: &[],
        stored: true,
        has_status: false,
        stored_as: None,
        custom: false,
        storage_version: "",
        selectable_fields: &[],
        round_trip,
    }
}

/// A create-only review kind, answered and never stored.
pub(crate) const fn review(
    group: &'static str,
    kind: &'static str,
    plural: &'static str,
    singular: &'static str,
    namespaced: bool,
    round_trip: RoundTrip,
) -> ResourceType {
    ResourceType {
        verbs: CREATE_ONLY,
        stored: false,
        ..r(group, "v1", kind, plural, singular, namespaced, &[], round_trip)
    }
}

impl ResourceType {
    /// With a `status` subresource (the only subresource); the main resource keeps status.
    pub(crate) const fn with_status(self, status: &'static [Subresource]) -> Self {
        ResourceType { subresources: status, has_status: true, ..self }
    }

    /// In kube's `api-extensions` category (the admission webhook configurations).
    pub(crate) const fn in_api_extensions(self) -> Self {
        ResourceType { categories: &["api-extensions"], ..self }
    }

    /// In the `all` category (`kubectl get all`).
    pub(crate) const fn in_all(self) -> Self {
        ResourceType { categories: &["all"], ..self }
    }
}

/// The `status` subresource of a kind.
macro_rules! status {
    ($g:expr, $v:expr, $k:expr) => {
        &[crate::catalog::Subresource {
            name: "status",
            group: $g,
            version: $v,
            kind: $k,
            verbs: crate::catalog::STATUS_VERBS,
        }]
    };
}
pub(crate) use status;

/// The `status` and `scale` subresources of a workload kind.
macro_rules! status_and_scale {
    ($g:expr, $v:expr, $k:expr) => {
        &[
            crate::catalog::Subresource {
                name: "status",
                group: $g,
                version: $v,
                kind: $k,
                verbs: crate::catalog::STATUS_VERBS,
            },
            crate::catalog::Subresource {
                name: "scale",
                group: "autoscaling",
                version: "v1",
                kind: "Scale",
                verbs: crate::catalog::STATUS_VERBS,
            },
        ]
    };
}
pub(crate) use status_and_scale;

/// Every built-in resource, in discovery order.
pub(crate) fn builtin() -> Vec<ResourceType> {
    [
        core::resources(),
        groups::apiregistration(),
        workloads::apps(),
        groups::events(),
        groups::authentication(),
        groups::authorization(),
        workloads::autoscaling(),
        workloads::batch(),
        groups::certificates(),
        groups::networking(),
        workloads::policy(),
        groups::rbac(),
        groups::storage(),
        groups::admissionregistration(),
        groups::apiextensions(),
        groups::scheduling(),
        groups::coordination(),
        groups::node(),
        groups::discovery(),
        groups::resource(),
        flowcontrol::flowcontrol(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::STATUS_VERBS;

    #[test]
    fn status_subresources_match_has_status() {
        for rt in builtin() {
            assert_eq!(rt.subresource("status").is_some(), rt.has_status, "{}", rt.kind);
            if let Some(s) = rt.subresource("status") {
                assert_eq!(
                    (s.group, s.version, s.kind, s.verbs),
                    (rt.group, rt.version, rt.kind, STATUS_VERBS)
                );
            }
        }
    }

    #[test]
    fn every_stored_kind_round_trips_a_minimal_object() {
        for rt in builtin().iter().filter(|r| r.stored) {
            let obj = serde_json::json!({"apiVersion": rt.api_version(), "kind": rt.kind, "metadata": {"name": "x"}});
            let (out, dropped) = rt.normalize(&obj).unwrap_or_else(|e| panic!("{}: {e}", rt.kind));
            assert!(dropped.is_empty(), "{}: {dropped:?}", rt.kind);
            assert_eq!(out["metadata"]["name"], "x", "{}", rt.kind);
        }
    }
}
