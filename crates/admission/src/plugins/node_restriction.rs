//! NodeRestriction (plugin/pkg/admission/noderestriction): a kubelet (`system:node:<name>` in
//! group `system:nodes`) may only create mirror pods bound to itself, delete or evict pods bound
//! to itself, update its own pods' status, modify its own Node (not its taints, config source or
//! protected labels), update PVC status only, request tokens bound to its own pods, and touch
//! its own Lease and CSINode.

use crate::types::{array_at, at, str_at, AdmissionContext, AdmissionRequest, Operation, ValidatingPlugin};
use apimachinery::{StatusError, UserInfo};
use async_trait::async_trait;
use serde_json::Value;
use std::collections::BTreeSet;

pub const NAME: &str = "NodeRestriction";
pub const NODE_USER_PREFIX: &str = "system:node:";
pub const NODES_GROUP: &str = "system:nodes";
const MIRROR: &str = "kubernetes.io/config.mirror";
const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";

/// Labels a kubelet may set on its Node (`kubeletapis.IsKubeletLabel`).
const KUBELET_LABELS: &[&str] = &[
    "kubernetes.io/hostname",
    "topology.kubernetes.io/zone",
    "topology.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/region",
    "beta.kubernetes.io/instance-type",
    "node.kubernetes.io/instance-type",
    "kubernetes.io/os",
    "kubernetes.io/arch",
    "beta.kubernetes.io/os",
    "beta.kubernetes.io/arch",
];
const KUBELET_LABEL_NAMESPACES: &[&str] = &["kubelet.kubernetes.io", "node.kubernetes.io"];

#[derive(Debug, Default)]
pub struct NodeRestriction;

/// The node a user is, if any (`NodeIdentity`): `Some("")` for the bare prefix.
pub fn node_identity(user: &UserInfo) -> Option<&str> {
    let name = user.name.strip_prefix(NODE_USER_PREFIX)?;
    user.groups.iter().any(|g| g == NODES_GROUP).then_some(name)
}

fn label_namespace(key: &str) -> &str {
    key.split_once('/').map(|(ns, _)| ns).unwrap_or("")
}

fn in_namespace(ns: &str, domain: &str) -> bool {
    ns == domain || ns.ends_with(&format!(".{domain}"))
}

fn is_kubelet_label(key: &str) -> bool {
    KUBELET_LABELS.contains(&key)
        || KUBELET_LABEL_NAMESPACES.iter().any(|d| in_namespace(label_namespace(key), d))
}

/// Modified label keys a node may not touch, sorted.
fn forbidden_labels(new: Option<&Value>, old: Option<&Value>) -> Vec<String> {
    let get = |m: Option<&Value>, k: &str| m.and_then(|m| m.get(k)).cloned();
    let keys = |m: Option<&Value>| -> Vec<String> {
        m.and_then(Value::as_object).map(|o| o.keys().cloned().collect()).unwrap_or_default()
    };
    let mut out = BTreeSet::new();
    for k in keys(new).into_iter().chain(keys(old)) {
        if get(new, &k) == get(old, &k) {
            continue;
        }
        let ns = label_namespace(&k);
        let restricted = in_namespace(ns, "node-restriction.kubernetes.io");
        let kube = in_namespace(ns, "kubernetes.io") || in_namespace(ns, "k8s.io");
        if restricted || (kube && !is_kubelet_label(&k)) {
            out.insert(k);
        }
    }
    out.into_iter().collect()
}

/// Missing, null, `{}` and `[]` compare equal (kube's semantic equality).
fn norm(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| match v {
        Value::Null => false,
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    })
}

fn references(pod: &Value, ref_keys: &[&str], volume_key: &str, env_key: &str, env_from_key: &str) -> bool {
    let spec = pod.get("spec").unwrap_or(&Value::Null);
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        for c in array_at(spec, &[list]) {
            if array_at(c, &["env"]).iter().any(|e| at(e, &["valueFrom", env_key]).is_some())
                || array_at(c, &["envFrom"]).iter().any(|e| at(e, &[env_from_key]).is_some())
            {
                return true;
            }
        }
    }
    array_at(spec, &["volumes"]).iter().any(|v| {
        at(v, &[volume_key]).is_some()
            || array_at(v, &["projected", "sources"]).iter().any(|s| at(s, &[volume_key]).is_some())
            || v.as_object()
                .into_iter()
                .flatten()
                .any(|(_, src)| ref_keys.iter().any(|k| at(src, &[k]).is_some()))
    })
}

fn references_secrets(pod: &Value) -> bool {
    !array_at(pod, &["spec", "imagePullSecrets"]).is_empty()
        || references(
            pod,
            &["secretRef", "nodePublishSecretRef", "controllerPublishSecretRef"],
            "secret",
            "secretKeyRef",
            "secretRef",
        )
}

fn references_configmaps(pod: &Value) -> bool {
    references(pod, &[], "configMap", "configMapKeyRef", "configMapRef")
}

impl NodeRestriction {
    async fn existing_pod(
        &self,
        req: &AdmissionRequest,
        ctx: &dyn AdmissionContext,
        name: &str,
    ) -> Result<Value, StatusError> {
        match ctx.get("", "pods", &req.namespace, name).await {
            Ok(Some(p)) => Ok(p),
            Ok(None) => Err(StatusError::not_found(&apimachinery::GroupResource::new("", "pods"), name)),
            Err(e) => Err(req.forbidden_from(e)),
        }
    }

    async fn pod_create(
        &self,
        node: &str,
        req: &AdmissionRequest,
        ctx: &dyn AdmissionContext,
    ) -> Result<(), StatusError> {
        let pod = req.object.as_ref().unwrap_or(&Value::Null);
        let f = |m: String| Err(req.forbidden(m));
        if at(pod, &["metadata", "annotations", MIRROR]).is_none() {
            return f(format!(
                "pod does not have \"{MIRROR}\" annotation, node \"{node}\" can only create mirror pods"
            ));
        }
        if str_at(pod, &["spec", "nodeName"]).unwrap_or("") != node {
            return f(format!("node \"{node}\" can only create pods with spec.nodeName set to itself"));
        }
        let owners = array_at(pod, &["metadata", "ownerReferences"]);
        match owners {
            [] => {
                return f(format!(
                    "node \"{node}\" can only create pods with an owner reference set to itself"
                ))
            }
            [owner] => {
                if str_at(owner, &["apiVersion"]) != Some("v1")
                    || str_at(owner, &["kind"]) != Some("Node")
                    || str_at(owner, &["name"]) != Some(node)
                {
                    return f(format!(
                        "node \"{node}\" can only create pods with an owner reference set to itself"
                    ));
                }
                if at(owner, &["controller"]).and_then(Value::as_bool) != Some(true) {
                    return f(format!("node \"{node}\" can only create pods with a controller owner reference set to itself"));
                }
                if at(owner, &["blockOwnerDeletion"]).and_then(Value::as_bool) == Some(true) {
                    return f(format!(
                        "node \"{node}\" must not set blockOwnerDeletion on an owner reference"
                    ));
                }
                let node_obj = match ctx.get("", "nodes", "", node).await {
                    Ok(Some(n)) => n,
                    Ok(None) => {
                        return Err(StatusError::not_found(
                            &apimachinery::GroupResource::new("", "nodes"),
                            node,
                        ))
                    }
                    Err(e) => return f(format!("error looking up node {node} to verify uid: {}", e.message)),
                };
                let (want, got) = (
                    str_at(&node_obj, &["metadata", "uid"]).unwrap_or(""),
                    str_at(owner, &["uid"]).unwrap_or(""),
                );
                if want != got {
                    return f(format!("node {node} UID mismatch: expected {got} got {want}"));
                }
            }
            _ => {
                return f(format!(
                    "node \"{node}\" can only create pods with a single owner reference set to itself"
                ))
            }
        }
        if !str_at(pod, &["spec", "serviceAccountName"]).unwrap_or("").is_empty() {
            return f(format!("node \"{node}\" can not create pods that reference a service account"));
        }
        if references_secrets(pod) {
            return f(format!("node \"{node}\" can not create pods that reference secrets"));
        }
        if references_configmaps(pod) {
            return f(format!("node \"{node}\" can not create pods that reference configmaps"));
        }
        let volumes = array_at(pod, &["spec", "volumes"]);
        if volumes.iter().any(|v| {
            array_at(v, &["projected", "sources"]).iter().any(|s| at(s, &["clusterTrustBundle"]).is_some())
        }) {
            return f(format!("node \"{node}\" can not create pods that reference clustertrustbundles"));
        }
        if volumes.iter().any(|v| at(v, &["persistentVolumeClaim"]).is_some()) {
            return f(format!("node \"{node}\" can not create pods that reference persistentvolumeclaims"));
        }
        Ok(())
    }

    async fn pods(
        &self,
        node: &str,
        req: &AdmissionRequest,
        ctx: &dyn AdmissionContext,
    ) -> Result<(), StatusError> {
        let op = req.operation;
        match req.subresource.as_str() {
            "" => match op {
                Operation::Create => self.pod_create(node, req, ctx).await,
                Operation::Delete => {
                    let pod = self.existing_pod(req, ctx, &req.name).await?;
                    if str_at(&pod, &["spec", "nodeName"]) != Some(node) {
                        return Err(req.forbidden(format!(
                            "node \"{node}\" can only delete pods with spec.nodeName set to itself"
                        )));
                    }
                    Ok(())
                }
                _ => Err(req.forbidden(format!(
                    "unexpected operation \"{op}\", node \"{node}\" can only create and delete mirror pods"
                ))),
            },
            "status" => {
                if op != Operation::Update {
                    return Err(req.forbidden(format!("unexpected operation \"{op}\"")));
                }
                let old = req.old_object.as_ref().unwrap_or(&Value::Null);
                let new = req.object.as_ref().unwrap_or(&Value::Null);
                if str_at(old, &["spec", "nodeName"]) != Some(node) {
                    return Err(req.forbidden(format!(
                        "node \"{node}\" can only update pod status for pods with spec.nodeName set to itself"
                    )));
                }
                if norm(at(old, &["metadata", "labels"])) != norm(at(new, &["metadata", "labels"])) {
                    return Err(
                        req.forbidden(format!("node \"{node}\" cannot update labels through pod status"))
                    );
                }
                if norm(at(old, &["status", "resourceClaimStatuses"]))
                    != norm(at(new, &["status", "resourceClaimStatuses"]))
                {
                    return Err(
                        req.forbidden(format!("node \"{node}\" cannot update resource claim statues"))
                    );
                }
                Ok(())
            }
            "eviction" => {
                if op != Operation::Create {
                    return Err(req.forbidden(format!("unexpected operation {op}")));
                }
                let mut pod_name = req.name.clone();
                if pod_name.is_empty() {
                    pod_name = req
                        .object
                        .as_ref()
                        .and_then(|o| str_at(o, &["metadata", "name"]))
                        .unwrap_or("")
                        .to_string();
                }
                if pod_name.is_empty() {
                    return Err(req.forbidden("could not determine pod from request data"));
                }
                let pod = self.existing_pod(req, ctx, &pod_name).await?;
                if str_at(&pod, &["spec", "nodeName"]) != Some(node) {
                    return Err(req.forbidden(format!(
                        "node {node} can only evict pods with spec.nodeName set to itself"
                    )));
                }
                Ok(())
            }
            other => Err(req.forbidden(format!(
                "unexpected pod subresource \"{other}\", only 'status' and 'eviction' are allowed"
            ))),
        }
    }

    fn node(&self, node: &str, req: &AdmissionRequest) -> Result<(), StatusError> {
        let new = req.object.as_ref().unwrap_or(&Value::Null);
        let mut requested = req.name.clone();
        if requested.is_empty() && req.operation == Operation::Create {
            requested = str_at(new, &["metadata", "name"]).unwrap_or("").to_string();
        }
        if requested != node {
            return Err(
                req.forbidden(format!("node \"{node}\" is not allowed to modify node \"{requested}\""))
            );
        }
        match req.operation {
            Operation::Create => {
                if norm(at(new, &["spec", "configSource"])).is_some() {
                    return Err(req.forbidden(format!(
                        "node \"{node}\" is not allowed to create pods with a non-nil configSource"
                    )));
                }
                let bad = forbidden_labels(at(new, &["metadata", "labels"]), None);
                if !bad.is_empty() {
                    return Err(req.forbidden(format!(
                        "node \"{node}\" is not allowed to set the following labels: {}",
                        bad.join(", ")
                    )));
                }
            }
            Operation::Update => {
                let old = req.old_object.as_ref().unwrap_or(&Value::Null);
                let cs = norm(at(new, &["spec", "configSource"]));
                if cs.is_some() && cs != norm(at(old, &["spec", "configSource"])) {
                    return Err(req.forbidden(format!(
                        "node \"{node}\" is not allowed to update configSource to a new non-nil configSource"
                    )));
                }
                if norm(at(new, &["spec", "taints"])) != norm(at(old, &["spec", "taints"])) {
                    return Err(req.forbidden(format!("node \"{node}\" is not allowed to modify taints")));
                }
                let bad =
                    forbidden_labels(at(new, &["metadata", "labels"]), at(old, &["metadata", "labels"]));
                if !bad.is_empty() {
                    return Err(req.forbidden(format!("is not allowed to modify labels: {}", bad.join(", "))));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn pvc(&self, node: &str, req: &AdmissionRequest) -> Result<(), StatusError> {
        if req.subresource != "status" {
            return Err(req.forbidden("may only update PVC status"));
        }
        if req.operation != Operation::Update {
            return Err(req.forbidden(format!("unexpected operation \"{}\"", req.operation)));
        }
        let strip = |v: Option<&Value>| {
            let mut v = v.cloned().unwrap_or(Value::Null);
            if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
                m.remove("resourceVersion");
                m.remove("managedFields");
            }
            if let Some(s) = v.get_mut("status").and_then(Value::as_object_mut) {
                for k in ["capacity", "conditions", "allocatedResourceStatuses", "allocatedResources"] {
                    s.remove(k);
                }
            }
            v
        };
        let (old, new) = (strip(req.old_object.as_ref()), strip(req.object.as_ref()));
        if old != new {
            let changed: Vec<&str> =
                ["metadata", "spec", "status"].into_iter().filter(|k| old.get(k) != new.get(k)).collect();
            return Err(req.forbidden(format!(
                "node \"{node}\" is not allowed to update fields other than status.capacity and status.conditions: {}",
                changed.join(", ")
            )));
        }
        Ok(())
    }

    async fn token(
        &self,
        node: &str,
        req: &AdmissionRequest,
        ctx: &dyn AdmissionContext,
    ) -> Result<(), StatusError> {
        if req.operation != Operation::Create || req.subresource != "token" {
            return Ok(());
        }
        let tr = req.object.as_ref().unwrap_or(&Value::Null);
        let r = at(tr, &["spec", "boundObjectRef"]).unwrap_or(&Value::Null);
        let name = str_at(r, &["name"]).unwrap_or("");
        if str_at(r, &["apiVersion"]) != Some("v1") || str_at(r, &["kind"]) != Some("Pod") || name.is_empty()
        {
            return Err(req.forbidden("node requested token not bound to a pod"));
        }
        let uid = str_at(r, &["uid"]).unwrap_or("");
        if uid.is_empty() {
            return Err(req.forbidden("node requested token with a pod binding without a uid"));
        }
        let pod = self.existing_pod(req, ctx, name).await?;
        if str_at(&pod, &["metadata", "uid"]) != Some(uid) {
            return Err(req.forbidden(format!("the UID in the bound object reference ({uid}) does not match the UID in record. The object might have been deleted and then recreated")));
        }
        if str_at(&pod, &["spec", "nodeName"]) != Some(node) {
            return Err(req.forbidden("node requested token bound to a pod scheduled on a different node"));
        }
        Ok(())
    }

    /// Leases and CSINodes: the object must be named after the node.
    fn own_named(&self, node: &str, req: &AdmissionRequest, what: &str) -> Result<(), StatusError> {
        let name = if req.operation == Operation::Create {
            req.object.as_ref().and_then(|o| str_at(o, &["metadata", "name"])).unwrap_or("").to_string()
        } else {
            req.name.clone()
        };
        if name != node {
            return Err(
                req.forbidden(format!("can only access {what} with the same name as the requesting node"))
            );
        }
        Ok(())
    }
}

/// kube's `admitResourceSlice`: a node creates and deletes only the ResourceSlices of its
/// own `spec.nodeName` (the Node authorizer checks the other verbs).
fn resource_slice(node: &str, req: &AdmissionRequest) -> Result<(), StatusError> {
    let (verb, obj) = match req.operation {
        Operation::Create => ("create", req.object.as_ref()),
        Operation::Delete => ("delete", req.old_object.as_ref()),
        _ => return Ok(()),
    };
    if obj.and_then(|o| str_at(o, &["spec", "nodeName"])) != Some(node) {
        return Err(req.forbidden(format!(
            "can only {verb} ResourceSlice with the same NodeName as the requesting node"
        )));
    }
    Ok(())
}

#[async_trait]
impl ValidatingPlugin for NodeRestriction {
    fn name(&self) -> &'static str {
        NAME
    }

    fn handles(&self, op: Operation) -> bool {
        matches!(op, Operation::Create | Operation::Update | Operation::Delete)
    }

    async fn validate(&self, req: &AdmissionRequest, ctx: &dyn AdmissionContext) -> Result<(), StatusError> {
        let Some(node) = node_identity(&req.user) else { return Ok(()) };
        if node.is_empty() {
            return Err(req.forbidden(format!("could not determine node from user \"{}\"", req.user.name)));
        }
        match (req.group.as_str(), req.resource.as_str()) {
            ("", "pods") => self.pods(node, req, ctx).await,
            ("", "nodes") => self.node(node, req),
            ("", "persistentvolumeclaims") => self.pvc(node, req),
            ("", "serviceaccounts") => self.token(node, req, ctx).await,
            ("coordination.k8s.io", "leases") => {
                if req.namespace != NODE_LEASE_NAMESPACE {
                    return Err(req.forbidden(format!(
                        "can only access leases in the \"{NODE_LEASE_NAMESPACE}\" system namespace"
                    )));
                }
                self.own_named(node, req, "node lease")
            }
            ("storage.k8s.io", "csinodes") => self.own_named(node, req, "CSINode"),
            ("resource.k8s.io", "resourceslices") => resource_slice(node, req),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
#[path = "node_restriction_tests.rs"]
mod tests;
