//! flowcontrol.apiserver.k8s.io/v1: FlowSchemas and PriorityLevelConfigurations, kube's API
//! Priority and Fairness configuration, stored and served with their `status` subresources;
//! kube's mandatory `exempt` and `catch-all` objects are created at start when absent
//! (`bootstrap.rs`).
//!
//! kubeward does not enforce them: API Priority and Fairness is not implemented (requests are
//! limited by the in-flight limit alone), no status is written (kube's APF controller marks a
//! FlowSchema whose priority level is missing as `Dangling`), and responses carry no
//! `X-Kubernetes-PF-FlowSchema-UID` / `X-Kubernetes-PF-PriorityLevel-UID` headers. Clients
//! that read or edit the configuration (kubectl, client-go) find it as kube serves it.

use super::{r, status};
use crate::catalog::ResourceType;
use crate::typed::via;
use k8s_openapi::api::flowcontrol::v1 as flowcontrol;

const GROUP: &str = "flowcontrol.apiserver.k8s.io";

pub(super) fn flowcontrol() -> Vec<ResourceType> {
    vec![
        r(GROUP, "v1", "FlowSchema", "flowschemas", "flowschema", false, &[], via::<flowcontrol::FlowSchema>)
            .with_status(status!(GROUP, "v1", "FlowSchema")),
        r(
            GROUP,
            "v1",
            "PriorityLevelConfiguration",
            "prioritylevelconfigurations",
            "prioritylevelconfiguration",
            false,
            &[],
            via::<flowcontrol::PriorityLevelConfiguration>,
        )
        .with_status(status!(GROUP, "v1", "PriorityLevelConfiguration")),
    ]
}
