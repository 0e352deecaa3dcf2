//! The core group, `/api/v1`.

use super::{r, status, status_and_scale};
use crate::catalog::{ResourceType, Subresource, STATUS_VERBS};
use crate::typed::via;
use k8s_openapi::api::core::v1 as core;

/// The methods kube's upgrading connect subresources take (GET and POST).
const UPGRADE_VERBS: &[&str] = &["create", "get"];
/// The methods kube's proxy subresources take (GET, POST, PUT, PATCH, DELETE; HEAD is a get).
const PROXY_VERBS: &[&str] = &["create", "delete", "get", "patch", "update"];

pub(super) fn resources() -> Vec<ResourceType> {
    vec![
        ResourceType {
            subresources: &[
                Subresource {
                    name: "status",
                    group: "",
                    version: "v1",
                    kind: "Namespace",
                    verbs: STATUS_VERBS,
                },
                Subresource {
                    name: "finalize",
                    group: "",
                    version: "v1",
                    kind: "Namespace",
                    verbs: &["update"],
                },
            ],
            has_status: true,
            verbs: &["create", "delete", "get", "list", "patch", "update", "watch"],
            ..r("", "v1", "Namespace", "namespaces", "namespace", false, &["ns"], via::<core::Namespace>)
        },
        r("", "v1", "ConfigMap", "configmaps", "configmap", true, &["cm"], via::<core::ConfigMap>),
        r("", "v1", "Secret", "secrets", "secret", true, &[], via::<core::Secret>),
        ResourceType {
            subresources: &[Subresource {
                name: "token",
                group: "authentication.k8s.io",
                version: "v1",
                kind: "TokenRequest",
                verbs: &["create"],
            }],
            ..r(
                "",
                "v1",
                "ServiceAccount",
                "serviceaccounts",
                "serviceaccount",
                true,
                &["sa"],
                via::<core::ServiceAccount>,
            )
        },
        ResourceType {
            // pods/eviction: policy/v1 Eviction, create only (kube's eviction REST).
            subresources: &[
                crate::catalog::Subresource {
                    name: "status",
                    group: "",
                    version: "v1",
                    kind: "Pod",
                    verbs: crate::catalog::STATUS_VERBS,
                },
                crate::catalog::Subresource {
                    name: "eviction",
                    group: "policy",
                    version: "v1",
                    kind: "Eviction",
                    verbs: &["create"],
                },
                // pods/binding: core v1 Binding, create only (kube's BindingREST).
                crate::catalog::Subresource {
                    name: "binding",
                    group: "",
                    version: "v1",
                    kind: "Binding",
                    verbs: &["create"],
                },
                // pods/ephemeralcontainers: the Pod, whose spec.ephemeralContainers alone
                // changes (kube's podEphemeralContainersStrategy).
                crate::catalog::Subresource {
                    name: "ephemeralcontainers",
                    group: "",
                    version: "v1",
                    kind: "Pod",
                    verbs: crate::catalog::STATUS_VERBS,
                },
                // The kubelet's streams (kube's LogREST, ExecREST, AttachREST,
                // PortForwardREST) and the proxy to the Pod's IP (ProxyREST): connect
                // subresources, answered by the apiserver's `rest::kubelet`.
                crate::catalog::Subresource {
                    name: "attach",
                    group: "",
                    version: "v1",
                    kind: "PodAttachOptions",
                    verbs: UPGRADE_VERBS,
                },
                crate::catalog::Subresource {
                    name: "exec",
                    group: "",
                    version: "v1",
                    kind: "PodExecOptions",
                    verbs: UPGRADE_VERBS,
                },
                crate::catalog::Subresource {
                    name: "log",
                    group: "",
                    version: "v1",
                    kind: "Pod",
                    verbs: &["get"],
                },
                crate::catalog::Subresource {
                    name: "portforward",
                    group: "",
                    version: "v1",
                    kind: "PodPortForwardOptions",
                    verbs: UPGRADE_VERBS,
                },
                crate::catalog::Subresource {
                    name: "proxy",
                    group: "",
                    version: "v1",
                    kind: "PodProxyOptions",
                    verbs: PROXY_VERBS,
                },
                // In-place resize: the containers' resources (kube's ResizeREST).
                crate::catalog::Subresource {
                    name: "resize",
                    group: "",
                    version: "v1",
                    kind: "Pod",
                    verbs: crate::catalog::STATUS_VERBS,
                },
            ],
            ..r("", "v1", "Pod", "pods", "pod", true, &["po"], via::<core::Pod>)
                .with_status(status!("", "v1", "Pod"))
                .in_all()
        },
        ResourceType {
            subresources: &[
                crate::catalog::Subresource {
                    name: "proxy",
                    group: "",
                    version: "v1",
                    kind: "ServiceProxyOptions",
                    verbs: PROXY_VERBS,
                },
                crate::catalog::Subresource {
                    name: "status",
                    group: "",
                    version: "v1",
                    kind: "Service",
                    verbs: crate::catalog::STATUS_VERBS,
                },
            ],
            ..r("", "v1", "Service", "services", "service", true, &["svc"], via::<core::Service>)
                .with_status(status!("", "v1", "Service"))
                .in_all()
        },
        r("", "v1", "Endpoints", "endpoints", "endpoints", true, &["ep"], via::<core::Endpoints>),
        r("", "v1", "Event", "events", "event", true, &["ev"], via::<core::Event>),
        ResourceType {
            subresources: &[
                crate::catalog::Subresource {
                    name: "proxy",
                    group: "",
                    version: "v1",
                    kind: "NodeProxyOptions",
                    verbs: PROXY_VERBS,
                },
                crate::catalog::Subresource {
                    name: "status",
                    group: "",
                    version: "v1",
                    kind: "Node",
                    verbs: crate::catalog::STATUS_VERBS,
                },
            ],
            ..r("", "v1", "Node", "nodes", "node", false, &["no"], via::<core::Node>)
                .with_status(status!("", "v1", "Node"))
        },
        // The legacy way to bind a Pod, `POST namespaces/<ns>/bindings` (kube's
        // LegacyBindingREST): the Binding names the Pod. Never stored.
        ResourceType {
            verbs: &["create"],
            stored: false,
            ..r("", "v1", "Binding", "bindings", "binding", true, &[], via::<core::Binding>)
        },
        r("", "v1", "LimitRange", "limitranges", "limitrange", true, &["limits"], via::<core::LimitRange>),
        r(
            "",
            "v1",
            "ResourceQuota",
            "resourcequotas",
            "resourcequota",
            true,
            &["quota"],
            via::<core::ResourceQuota>,
        )
        .with_status(status!("", "v1", "ResourceQuota")),
        r(
            "",
            "v1",
            "ReplicationController",
            "replicationcontrollers",
            "replicationcontroller",
            true,
            &["rc"],
            via::<core::ReplicationController>,
        )
        .with_status(status_and_scale!("", "v1", "ReplicationController"))
        .in_all(),
        r(
            "",
            "v1",
            "PersistentVolume",
            "persistentvolumes",
            "persistentvolume",
            false,
            &["pv"],
            via::<core::PersistentVolume>,
        )
        .with_status(status!("", "v1", "PersistentVolume")),
        r(
            "",
            "v1",
            "PersistentVolumeClaim",
            "persistentvolumeclaims",
            "persistentvolumeclaim",
            true,
            &["pvc"],
            via::<core::PersistentVolumeClaim>,
        )
        .with_status(status!("", "v1", "PersistentVolumeClaim")),
        r("", "v1", "PodTemplate", "podtemplates", "podtemplate", true, &[], via::<core::PodTemplate>),
        // Deprecated in v1.19 and read-only: answered from the server's own health, never stored
        // (kube's `pkg/registry/core/componentstatus`).
        ResourceType {
            verbs: &["get", "list"],
            stored: false,
            ..r(
                "",
                "v1",
                "ComponentStatus",
                "componentstatuses",
                "componentstatus",
                false,
                &["cs"],
                via::<core::ComponentStatus>,
            )
        },
    ]
}
