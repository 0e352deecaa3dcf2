//! Per-resource strategy: defaults on create, what an update may change, and validation
//! with kube's field-error texts (returned as Status causes for a 422 Invalid).
//!
//! Modules: `defaults` (defaulting and initial status), `common` (names, selectors, pod
//! specs), `meta` (labels, annotations, ConfigMap and Secret data), `workloads`, `kinds`,
//! `cluster` and `flowcontrol` (validation per kind), `cron`
//! (CronJob schedules), `extensions` (CustomResourceDefinitions and custom resources, over
//! the `apiextensions` crate). kube's field-error texts come from `apimachinery::field`.

mod addresses;
mod admission;
mod admission_rules;
mod certificates;
mod cluster;
mod common;
mod cron;
mod defaults;
mod dra;
mod extensions;
mod flowcontrol;
mod kinds;
mod meta;
mod mutating_policy;
mod pod_update;
mod pods;
mod trust_bundles;
mod webhooks;
mod workloads;

pub use cluster::SYSTEM_PRIORITY_CLASSES;
pub use extensions::{default_on_read, prune_and_default};

use crate::ResourceType;
use apimachinery::status::StatusCause;
use serde_json::{json, Value};

/// The endpoint an update comes through: the resource itself, or a subresource that writes
/// one part of the object (kube's per-subresource update strategies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// The resource itself: its status (when it has a status subresource) is kept.
    Main,
    /// `<plural>/status`: only the status changes.
    Status,
    /// `pods/ephemeralcontainers`: only `spec.ephemeralContainers` changes.
    EphemeralContainers,
    /// `certificatesigningrequests/approval`: only the conditions change.
    Approval,
    /// `pods/resize`: only the containers' resources and resize policies change.
    Resize,
}

impl Endpoint {
    /// The endpoint of an update of `subresource` (empty: the resource itself); `None` for
    /// a subresource that is not updated through the generic update.
    pub fn of(subresource: &str) -> Option<Self> {
        match subresource {
            "" => Some(Self::Main),
            "status" | "finalize" => Some(Self::Status),
            "ephemeralcontainers" => Some(Self::EphemeralContainers),
            "approval" => Some(Self::Approval),
            "resize" => Some(Self::Resize),
            _ => None,
        }
    }
}

/// What a change of bumps `metadata.generation`, for the kinds that keep one: `spec`, a
/// PodTemplate's `template`, everything but metadata (`""`: custom resources), or
/// everything but what the server sets on each write (`"*"`: EndpointSlice).
fn generation_source(rt: &ResourceType) -> Option<&'static str> {
    if rt.custom {
        // kube's customresource strategy: any change but metadata (and status, which a
        // main-resource update cannot change when the status subresource is on).
        return Some("");
    }
    match (rt.group, rt.kind) {
        ("apps", "Deployment" | "DaemonSet" | "StatefulSet" | "ReplicaSet")
        | ("", "ReplicationController")
        | ("batch", "Job" | "CronJob")
        | ("policy", "PodDisruptionBudget")
        | ("networking.k8s.io", "NetworkPolicy" | "Ingress" | "IngressClass") => Some("spec"),
        ("", "PodTemplate") => Some("template"),
        // kube 1.34's pod generation (PodObservedGenerationTracking).
        ("", "Pod") => Some("spec"),
        ("scheduling.k8s.io", "PriorityClass") => Some(""),
        (
            "admissionregistration.k8s.io",
            "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration",
        ) => Some("webhooks"),
        // kube's EndpointSlice strategy bumps the generation on any change, labels too.
        ("discovery.k8s.io", "EndpointSlice") => Some("*"),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => Some("spec"),
        ("resource.k8s.io", "DeviceClass" | "ResourceSlice") => Some("spec"),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema" | "PriorityLevelConfiguration") => Some("spec"),
        (
            "admissionregistration.k8s.io",
            "ValidatingAdmissionPolicy"
            | "ValidatingAdmissionPolicyBinding"
            | "MutatingAdmissionPolicy"
            | "MutatingAdmissionPolicyBinding",
        ) => Some("spec"),
        _ => None,
    }
}

fn changed(source: &str, new: &Value, old: &Value) -> bool {
    if source == "*" {
        // Everything, metadata included, but what the server itself sets on every write.
        let strip = |v: &Value| {
            let mut v = v.clone();
            if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
                for k in ["resourceVersion", "managedFields", "generation"] {
                    m.remove(k);
                }
            }
            v
        };
        return strip(new) != strip(old);
    }
    if !source.is_empty() {
        return new.get(source) != old.get(source);
    }
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(o) = v.as_object_mut() {
            o.remove("metadata");
        }
        v
    };
    strip(new) != strip(old)
}

/// Sets server-owned metadata and the defaults kube applies to a new object.
/// kube's autoscaling/v2 HorizontalPodAutoscaler defaults, for an object converted from v1.
pub fn default_hpa_v2(obj: &mut Value) {
    if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
        if !spec.contains_key("minReplicas") {
            spec.insert("minReplicas".into(), serde_json::json!(1));
        }
        defaults::hpa_v2_spec(spec);
    }
    if let Some(o) = obj.as_object_mut() {
        defaults::hpa_v2_status(o);
    }
}

/// The defaults kube applies when it decodes a new object of a built-in kind (before its
/// field manager records the request's fields); [`prepare_for_create`] applies them again
/// with what the strategy itself sets.
pub fn default_new(rt: &ResourceType, obj: &mut Value) {
    if let Some(o) = obj.as_object_mut() {
        if !rt.custom {
            defaults::apply(rt, o);
        }
        if (rt.group, rt.kind) == ("apps", "DaemonSet") {
            defaults::daemonset_generation(o);
        }
    }
    extensions::default_new(rt, obj);
}

pub fn prepare_for_create(rt: &ResourceType, obj: &mut Value, now: &str) {
    let Some(o) = obj.as_object_mut() else { return };
    o.insert("apiVersion".into(), json!(rt.api_version()));
    o.insert("kind".into(), json!(rt.kind));
    let meta = o.entry("metadata").or_insert_with(|| json!({}));
    if let Some(m) = meta.as_object_mut() {
        m.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
        m.insert("creationTimestamp".into(), json!(now));
        for k in [
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
            "managedFields",
        ] {
            m.remove(k);
        }
        if generation_source(rt).is_some() {
            m.insert("generation".into(), json!(1));
        } else {
            m.remove("generation");
        }
        if !rt.namespaced {
            m.remove("namespace");
        }
    }
    // kube resets the status of a new object, but a Namespace's and a Node's (a kubelet
    // registers its node with its status).
    if rt.has_status && !matches!(rt.kind, "Namespace" | "Node") {
        o.remove("status");
    }
    defaults::on_create(rt, o);
    defaults::apply(rt, o);
    defaults::storage_form(rt, o);
    extensions::prepare_for_create(rt, obj);
}

/// Carries over what a client may not change on update through `endpoint`, kube's
/// PrepareForUpdate.
pub fn prepare_for_update(rt: &ResourceType, new: &mut Value, old: &Value, endpoint: Endpoint) {
    if endpoint == Endpoint::EphemeralContainers {
        pods::prepare_ephemeral_containers_update(new, old);
        if let Some(n) = new.as_object_mut() {
            defaults::apply(rt, n);
        }
        return;
    }
    if endpoint == Endpoint::Resize {
        pods::prepare_resize_update(new, old);
        if let Some(n) = new.as_object_mut() {
            defaults::apply(rt, n);
        }
        // kube's updatePodGeneration.
        if changed("spec", new, old) {
            let g = old.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(1);
            if let Some(m) = new.get_mut("metadata").and_then(Value::as_object_mut) {
                m.insert("generation".into(), json!(g + 1));
            }
        }
        return;
    }
    // What is not status comes from the stored object through the status-like endpoints.
    let status_only = matches!(endpoint, Endpoint::Status | Endpoint::Approval);
    let Some(n) = new.as_object_mut() else { return };
    n.insert("apiVersion".into(), json!(rt.api_version()));
    n.insert("kind".into(), json!(rt.kind));
    let old_meta = old.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let meta = n.entry("metadata").or_insert_with(|| json!({}));
    if let Some(m) = meta.as_object_mut() {
        for k in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "namespace",
            "name",
        ] {
            match old_meta.get(k) {
                Some(v) => m.insert(k.into(), v.clone()),
                None => m.remove(k),
            };
        }
        m.remove("managedFields");
        match old_meta.get("generation") {
            Some(g) => m.insert("generation".into(), g.clone()),
            None => m.remove("generation"),
        };
    }
    if status_only {
        // Only status (and metadata) may change through /status.
        for (k, v) in old.as_object().into_iter().flatten() {
            if k != "status" && k != "metadata" {
                n.insert(k.clone(), v.clone());
            }
        }
        n.retain(|k, _| k == "status" || k == "metadata" || old.get(k).is_some());
    } else if rt.has_status {
        match old.get("status") {
            Some(s) => n.insert("status".into(), s.clone()),
            None => n.remove("status"),
        };
    }
    if !status_only && (rt.group, rt.kind) == ("", "Namespace") {
        defaults::namespace_finalizers_kept(n, old);
    }
    if generation_source(rt).is_some_and(|s| !status_only && changed(s, new, old)) {
        let g = old.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(1);
        if let Some(m) = new.get_mut("metadata").and_then(Value::as_object_mut) {
            m.insert("generation".into(), json!(g + 1));
        }
    }
    // An APIService whose backend changed has its availability computed again.
    let service = |v: &Value| v.pointer("/spec/service").filter(|s| !s.is_null()).cloned();
    if rt.kind == "APIService" && !status_only && service(new) != service(old) {
        if let Some(n) = new.as_object_mut() {
            n.remove("status");
        }
    }
    if let Some(n) = new.as_object_mut() {
        defaults::apply(rt, n);
        defaults::storage_form(rt, n);
    }
    extensions::prepare_for_update(rt, new, old, status_only);
    if is_csr(rt) {
        certificates::prepare_for_update(new, old, endpoint);
    }
}

/// An object a mutating admission policy changed, taken back as kube decodes and
/// defaults it: the fields its kind does not have (a typed decode drops them, a custom
/// resource's schema prunes them) are returned, the defaults applied. A value of the
/// wrong type is an error (the decoder's).
pub fn default_mutated(rt: &ResourceType, obj: &mut Value) -> Result<Vec<String>, String> {
    if rt.custom {
        return Ok(extensions::prune_and_default(rt, obj));
    }
    let (_, unknown) = rt.normalize(obj)?;
    if let Some(o) = obj.as_object_mut() {
        defaults::apply(rt, o);
        defaults::storage_form(rt, o);
    }
    Ok(unknown)
}

fn is_csr(rt: &ResourceType) -> bool {
    (rt.group, rt.kind) == ("certificates.k8s.io", "CertificateSigningRequest")
}

fn is_trust_bundle(rt: &ResourceType) -> bool {
    (rt.group, rt.kind) == ("certificates.k8s.io", "ClusterTrustBundle")
}

/// Field errors of a new object about to be stored (empty when valid).
pub fn validate(rt: &ResourceType, obj: &Value) -> Vec<StatusCause> {
    if let Some(errs) = extensions::validate(rt, obj, None, false) {
        return errs;
    }
    let mut errs = validate_object(rt, obj);
    if (rt.group, rt.kind) == ("", "Pod") {
        pods::validate_create(obj, &mut errs);
    }
    if is_csr(rt) {
        errs.extend(certificates::validate(obj, None, Endpoint::Main));
    }
    if is_trust_bundle(rt) {
        trust_bundles::validate(obj, None, &mut errs);
    }
    errs
}

/// Field errors of an object, new or updated.
fn validate_object(rt: &ResourceType, obj: &Value) -> Vec<StatusCause> {
    let mut errs = Vec::new();
    common::validate_name(rt, obj, &mut errs);
    meta::validate(obj, &mut errs);
    meta::validate_data(rt, obj, &mut errs);
    if !workloads::validate(rt.kind, obj, &mut errs) {
        kinds::validate(rt, obj, &mut errs);
    }
    errs
}

/// Field errors of an update: those of the new object, then the fields kube does not let
/// an update change (kube's `ValidateUpdate`).
pub fn validate_update(rt: &ResourceType, new: &Value, old: &Value) -> Vec<StatusCause> {
    if let Some(errs) = extensions::validate(rt, new, Some(old), false) {
        return errs;
    }
    let mut errs = validate_object(rt, new);
    workloads::validate_update(rt.kind, new, old, &mut errs);
    meta::validate_data_update(rt, new, old, &mut errs);
    kinds::validate_update(rt, new, old, &mut errs);
    if is_trust_bundle(rt) {
        trust_bundles::validate(new, Some(old), &mut errs);
    }
    errs
}

/// Field errors of an update through `endpoint`.
pub fn validate_update_via(
    rt: &ResourceType,
    new: &Value,
    old: &Value,
    endpoint: Endpoint,
) -> Vec<StatusCause> {
    if is_csr(rt) {
        let mut errs = validate_object(rt, new);
        errs.extend(certificates::validate(new, Some(old), endpoint));
        return errs;
    }
    match endpoint {
        Endpoint::Main => validate_update(rt, new, old),
        Endpoint::Status | Endpoint::Approval => validate_status_update(rt, new, old),
        Endpoint::EphemeralContainers => {
            let mut errs = validate_object(rt, new);
            pods::validate_ephemeral_containers_update(new, old, &mut errs);
            errs
        }
        Endpoint::Resize => {
            let mut errs = validate_object(rt, new);
            pods::validate_resize(new, old, &mut errs);
            errs
        }
    }
}

/// Field errors of a write through the `status` subresource: a custom resource's status
/// against its status schema, a CRD's accepted names; other kinds as any update.
pub fn validate_status_update(rt: &ResourceType, new: &Value, old: &Value) -> Vec<StatusCause> {
    if let Some(errs) = extensions::validate(rt, new, Some(old), true) {
        return errs;
    }
    if (rt.group, rt.kind) == ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy") {
        // kube validates the status alone here.
        let mut errs = Vec::new();
        admission::validate_status(new, &mut errs);
        return errs;
    }
    validate_update(rt, new, old)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalog;

    #[test]
    fn pod_defaults_and_validation() {
        let c = Catalog::builtin();
        let rt = c.lookup("", "v1", "pods").unwrap();
        let mut pod =
            json!({"metadata":{"name":"web"},"spec":{"containers":[{"name":"c","image":"nginx:1.25"}]}});
        prepare_for_create(rt, &mut pod, "2026-01-01T00:00:00Z");
        assert_eq!(pod["spec"]["restartPolicy"], "Always");
        assert_eq!(pod["spec"]["containers"][0]["imagePullPolicy"], "IfNotPresent");
        assert_eq!(pod["status"]["phase"], "Pending");
        assert!(validate(rt, &pod).is_empty());
        let bad = json!({"metadata":{"name":"Bad_Name"},"spec":{"containers":[{"name":"c"}]}});
        let errs = validate(rt, &bad);
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[1].field, "spec.containers[0].image");
    }

    /// An empty list kube's storage turns into null is there for the field manager
    /// (decoded and defaulted) and null once prepared for storage.
    #[test]
    fn empty_lists_kube_stores_as_none_stay_until_storage() {
        let c = Catalog::builtin();
        let rt = c.lookup("storage.k8s.io", "v1", "csinodes").unwrap();
        let mut node = json!({"metadata": {"name": "n"}, "spec": {"drivers": []}});
        default_new(rt, &mut node);
        assert_eq!(node["spec"]["drivers"], json!([]));
        prepare_for_create(rt, &mut node, "2026-01-01T00:00:00Z");
        assert_eq!(node["spec"]["drivers"], Value::Null);
        let mut new = json!({"metadata": {"name": "n"}, "spec": {"drivers": []}});
        prepare_for_update(rt, &mut new, &node, Endpoint::Main);
        assert_eq!(new["spec"]["drivers"], Value::Null);
        let rt = c.lookup("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations").unwrap();
        // An omitempty field's empty list is gone before (kube's field manager never sees it).
        let mut cfg = json!({"metadata": {"name": "w"}, "webhooks": []});
        default_new(rt, &mut cfg);
        assert!(cfg.get("webhooks").is_none(), "{cfg}");
    }

    #[test]
    fn status_is_kept_on_main_update_and_only_status_on_status_update() {
        let c = Catalog::builtin();
        let rt = c.lookup("apps", "v1", "deployments").unwrap();
        let old = json!({"metadata":{"name":"d","uid":"u","generation":1},"spec":{"replicas":1},"status":{"replicas":1}});
        let mut new = json!({"metadata":{"name":"d"},"spec":{"replicas":3},"status":{"replicas":9}});
        prepare_for_update(rt, &mut new, &old, Endpoint::Main);
        assert_eq!(new["status"]["replicas"], 1);
        assert_eq!(new["metadata"]["generation"], 2);
        assert_eq!(new["metadata"]["uid"], "u");
        let mut st = json!({"metadata":{"name":"d"},"spec":{"replicas":7},"status":{"replicas":5}});
        prepare_for_update(rt, &mut st, &old, Endpoint::Status);
        assert_eq!(st["spec"]["replicas"], 1);
        assert_eq!(st["status"]["replicas"], 5);
    }
}
