//! Workload groups: apps/v1, batch/v1, policy/v1.

use super::{r, status, status_and_scale};
use crate::catalog::ResourceType;
use crate::typed::via;
use k8s_openapi::api::{
    apps::v1 as apps, autoscaling::v1 as autoscaling_v1, autoscaling::v2 as autoscaling_v2,
    batch::v1 as batch, policy::v1 as policy,
};

pub(super) fn apps() -> Vec<ResourceType> {
    vec![
        r(
            "apps",
            "v1",
            "Deployment",
            "deployments",
            "deployment",
            true,
            &["deploy"],
            via::<apps::Deployment>,
        )
        .with_status(status_and_scale!("apps", "v1", "Deployment"))
        .in_all(),
        r("apps", "v1", "DaemonSet", "daemonsets", "daemonset", true, &["ds"], via::<apps::DaemonSet>)
            .with_status(status!("apps", "v1", "DaemonSet"))
            .in_all(),
        r(
            "apps",
            "v1",
            "StatefulSet",
            "statefulsets",
            "statefulset",
            true,
            &["sts"],
            via::<apps::StatefulSet>,
        )
        .with_status(status_and_scale!("apps", "v1", "StatefulSet"))
        .in_all(),
        r("apps", "v1", "ReplicaSet", "replicasets", "replicaset", true, &["rs"], via::<apps::ReplicaSet>)
            .with_status(status_and_scale!("apps", "v1", "ReplicaSet"))
            .in_all(),
        r(
            "apps",
            "v1",
            "ControllerRevision",
            "controllerrevisions",
            "controllerrevision",
            true,
            &[],
            via::<apps::ControllerRevision>,
        ),
    ]
}

/// batch/v1, after the authentication and authorization groups in discovery.
pub(super) fn batch() -> Vec<ResourceType> {
    vec![
        r("batch", "v1", "Job", "jobs", "job", true, &[], via::<batch::Job>)
            .with_status(status!("batch", "v1", "Job"))
            .in_all(),
        r("batch", "v1", "CronJob", "cronjobs", "cronjob", true, &["cj"], via::<batch::CronJob>)
            .with_status(status!("batch", "v1", "CronJob"))
            .in_all(),
    ]
}

/// autoscaling/v2 and v1 HorizontalPodAutoscalers: one object, stored as v2 (kube's storage
/// version), served as v1 through [`crate::convert_hpa`].
pub(super) fn autoscaling() -> Vec<ResourceType> {
    let v2 = r(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        "horizontalpodautoscaler",
        true,
        &["hpa"],
        via::<autoscaling_v2::HorizontalPodAutoscaler>,
    )
    .with_status(status!("autoscaling", "v2", "HorizontalPodAutoscaler"))
    .in_all();
    let v1 = ResourceType {
        stored_as: Some(("autoscaling", "horizontalpodautoscalers")),
        ..r(
            "autoscaling",
            "v1",
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
            "horizontalpodautoscaler",
            true,
            &["hpa"],
            via::<autoscaling_v1::HorizontalPodAutoscaler>,
        )
        .with_status(status!("autoscaling", "v1", "HorizontalPodAutoscaler"))
        .in_all()
    };
    vec![v2, v1]
}

/// policy/v1.
pub(super) fn policy() -> Vec<ResourceType> {
    vec![r(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        "poddisruptionbudget",
        true,
        &["pdb"],
        via::<policy::PodDisruptionBudget>,
    )
    .with_status(status!("policy", "v1", "PodDisruptionBudget"))]
}
