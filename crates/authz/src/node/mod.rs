//! The Node authorizer (`--authorization-mode=Node`, kube's
//! `plugin/pkg/auth/authorizer/node`): a kubelet reads only what the pods bound to its node
//! need.
//!
//! A request is a node's when the user is `system:node:<name>` in the group `system:nodes`;
//! every other request gets `NoOpinion` with an empty reason. Secrets, ConfigMaps, PVCs, PVs,
//! ResourceClaims, VolumeAttachments, ResourceSlices and ServiceAccount tokens are allowed
//! only for objects related to the node in the [`graph`]; leases and CSINodes only under the
//! node's own name; everything else is checked against the static node rules (the
//! `system:node` ClusterRole). The authorizer never denies; refusals are `NoOpinion` with
//! kube's reasons, which end up in the 403 text.
//!
//! The graph is fed like RBAC: [`NodeAuthorizer::upsert`] and [`NodeAuthorizer::remove`] with
//! Pods, PersistentVolumes, VolumeAttachments, ResourceSlices and Nodes (PVCs are accepted and
//! change nothing: as in kube, the PV's claimRef binds a claim to its volume). Writers take a
//! write lock for one object; decisions share a read lock.
//!
//! `AuthorizeNodeWithSelectors` for nodes is applied: a node reads only its own Node object
//! (a list or watch must select it by `metadata.name`, which RequestInfo turns into the
//! request's name). `Attributes` carries no other selectors, so the pod rules of that gate
//! and `AuthorizeWithSelectors` (ResourceSlices by node) are not applied: pods fall to the
//! static rules and a node may list ResourceSlices, as kube does with those gates off.

pub mod graph;
pub mod refs;

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use apimachinery::{Attributes, Decision, UserInfo};
use serde_json::Value;

use crate::error::AuthzError;
use crate::policy::{CompiledRule, PolicyRule};
use crate::{bootstrap, Authorizer, RuleResolver, SubjectRules};
use graph::{Graph, VertexKind};
use refs::str_at;

/// The user-name prefix of node identities.
pub const NODE_USER_PREFIX: &str = "system:node:";
/// The group every node identity carries.
pub const NODES_GROUP: &str = "system:nodes";
/// The namespace of node leases.
pub const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";
/// kube's `RulesFor` error for node users.
pub const RULES_UNSUPPORTED: &str = "node authorizer does not support user rule resolution";

/// kube's `NodeIdentity`: the node name when `user` is a node (possibly empty), else `None`.
pub fn node_identity(user: &UserInfo) -> Option<&str> {
    let name = user.name.strip_prefix(NODE_USER_PREFIX)?;
    user.groups.iter().any(|g| g == NODES_GROUP).then_some(name)
}

/// The `system:node` ClusterRole's rules from the bootstrap policy.
pub fn node_rules() -> Vec<PolicyRule> {
    bootstrap::cluster_roles()
        .iter()
        .find(|r| str_at(r, &["metadata", "name"]) == Some("system:node"))
        .and_then(|r| r.get("rules").cloned())
        .and_then(|rules| serde_json::from_value(rules).ok())
        .unwrap_or_default()
}

/// kube's Node authorizer; see the module docs.
pub struct NodeAuthorizer {
    graph: RwLock<Graph>,
    rules: Vec<CompiledRule>,
}

impl Default for NodeAuthorizer {
    fn default() -> Self {
        Self::new()
    }
}

fn no(reason: impl Into<String>) -> Decision {
    Decision::NoOpinion(reason.into())
}

fn allow() -> Decision {
    Decision::Allow(String::new())
}

impl NodeAuthorizer {
    /// An authorizer with an empty graph and the bootstrap node rules.
    pub fn new() -> Self {
        Self::with_rules(&node_rules())
    }

    /// An authorizer with other static node rules.
    pub fn with_rules(rules: &[PolicyRule]) -> Self {
        Self { graph: RwLock::new(Graph::default()), rules: rules.iter().map(CompiledRule::new).collect() }
    }

    // A panic while a writer holds the lock leaves a consistent graph: each change is one
    // insertion or removal of a whole object.
    fn read(&self) -> RwLockReadGuard<'_, Graph> {
        self.graph.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Graph> {
        self.graph.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds or replaces a Pod, PersistentVolume, VolumeAttachment, ResourceSlice or Node
    /// (`kind` read from the object). A PersistentVolumeClaim is accepted and ignored.
    pub fn upsert(&self, obj: &Value) -> Result<(), AuthzError> {
        let kind = str_at(obj, &["kind"]).ok_or(AuthzError::MissingField("kind"))?;
        let name = str_at(obj, &["metadata", "name"]).ok_or(AuthzError::MissingField("metadata.name"))?;
        let node = str_at(obj, &["spec", "nodeName"]);
        match kind {
            "Pod" => self.write().set_pod(obj),
            "PersistentVolume" => self.write().set_pv(obj),
            "PersistentVolumeClaim" => {}
            "VolumeAttachment" => {
                self.write().set_node_edge(VertexKind::VolumeAttachment, name, node);
            }
            "ResourceSlice" => {
                self.write().set_node_edge(VertexKind::ResourceSlice, name, node);
            }
            "Node" => {
                let cm = |f: &str| str_at(obj, &["spec", "configSource", "configMap", f]);
                let source =
                    cm("name").map(|n| (cm("namespace").unwrap_or_default().to_string(), n.to_string()));
                self.write().set_node_config_map(name, source);
            }
            other => return Err(AuthzError::UnsupportedKind(other.to_string())),
        }
        Ok(())
    }

    /// Removes an object by kind, namespace (for Pods) and name; returns whether it was held.
    pub fn remove(&self, kind: &str, namespace: &str, name: &str) -> Result<bool, AuthzError> {
        let mut g = self.write();
        Ok(match kind {
            "Pod" => g.remove_pod(namespace, name),
            "PersistentVolume" => g.remove_pv(name),
            "PersistentVolumeClaim" => false,
            "VolumeAttachment" => g.set_node_edge(VertexKind::VolumeAttachment, name, None),
            "ResourceSlice" => g.set_node_edge(VertexKind::ResourceSlice, name, None),
            "Node" => g.set_node_config_map(name, None),
            other => return Err(AuthzError::UnsupportedKind(other.to_string())),
        })
    }

    /// Makes the objects of `kind` exactly `objs` (after a re-list, as an informer's
    /// replace): objects of that kind not among them leave the graph, so a pod deleted
    /// while the watch was down no longer grants its node anything.
    pub fn replace_all(&self, kind: &str, objs: &[Value]) -> Result<(), AuthzError> {
        let listed: std::collections::HashSet<(String, String)> = objs
            .iter()
            .map(|o| {
                let s = |f: &str| str_at(o, &["metadata", f]).unwrap_or_default().to_string();
                (if kind == "Pod" { s("namespace") } else { String::new() }, s("name"))
            })
            .collect();
        let gone: Vec<_> = self.read().names_of(kind).into_iter().filter(|k| !listed.contains(k)).collect();
        for (ns, name) in gone {
            self.remove(kind, &ns, &name)?;
        }
        for o in objs {
            self.upsert(o)?;
        }
        Ok(())
    }

    /// Number of scheduled pods in the graph.
    pub fn pods(&self) -> usize {
        self.read().pods()
    }

    fn related(&self, node: &str, kind: VertexKind, attrs: &Attributes) -> Decision {
        if attrs.name.is_empty() {
            return no("No Object name found");
        }
        if self.read().has_path(node, kind, &attrs.namespace, &attrs.name) {
            allow()
        } else {
            tracing::debug!(node, ?kind, namespace = %attrs.namespace, name = %attrs.name, "node authorizer: no relationship");
            no(format!("no relationship found between node '{node}' and this object"))
        }
    }

    fn read_namespaced(&self, node: &str, kind: VertexKind, attrs: &Attributes) -> Decision {
        if !matches!(attrs.verb.as_str(), "get" | "list" | "watch") {
            return no("can only read resources of this type");
        }
        if !attrs.subresource.is_empty() {
            return no("cannot read subresource");
        }
        if attrs.namespace.is_empty() {
            return no("can only read namespaced object of this type");
        }
        self.related(node, kind, attrs)
    }

    fn get(&self, node: &str, kind: VertexKind, attrs: &Attributes) -> Decision {
        if attrs.verb != "get" {
            return no("can only get individual resources of this type");
        }
        if !attrs.subresource.is_empty() {
            return no("cannot get subresource");
        }
        self.related(node, kind, attrs)
    }

    fn status_update(&self, node: &str, kind: VertexKind, attrs: &Attributes) -> Decision {
        if !matches!(attrs.verb.as_str(), "update" | "patch") {
            return no("can only get/update/patch this type");
        }
        if attrs.subresource != "status" {
            return no("can only update status subresource");
        }
        self.related(node, kind, attrs)
    }

    fn create_token(&self, node: &str, attrs: &Attributes) -> Decision {
        if attrs.verb != "create" || attrs.name.is_empty() {
            return no("can only create tokens for individual service accounts");
        }
        if attrs.subresource != "token" {
            return no("can only create token subresource of serviceaccount");
        }
        self.related(node, VertexKind::ServiceAccount, attrs)
    }

    fn own_named(node: &str, attrs: &Attributes, what: &str, subresource_reason: Option<&str>) -> Decision {
        if !matches!(attrs.verb.as_str(), "get" | "create" | "update" | "patch" | "delete") {
            return no(format!("can only get, create, update, patch, or delete a {what}"));
        }
        if let Some(reason) = subresource_reason {
            if !attrs.subresource.is_empty() {
                return no(reason);
            }
        }
        // On create the name is not known here; NodeRestriction checks it.
        if attrs.verb != "create" && attrs.name != node {
            return no(format!("can only access {what} with the same name as the requesting node"));
        }
        allow()
    }

    fn lease(node: &str, attrs: &Attributes) -> Decision {
        if !matches!(attrs.verb.as_str(), "get" | "create" | "update" | "patch" | "delete") {
            return no("can only get, create, update, patch, or delete a node lease");
        }
        if attrs.namespace != NODE_LEASE_NAMESPACE {
            return no(format!("can only access leases in the \"{NODE_LEASE_NAMESPACE}\" system namespace"));
        }
        Self::own_named(node, attrs, "node lease", None)
    }

    fn resource_slice(&self, node: &str, attrs: &Attributes) -> Decision {
        if !attrs.subresource.is_empty() {
            return no("cannot authorize ResourceSlice subresources");
        }
        match attrs.verb.as_str() {
            // NodeRestriction checks the new object's node name.
            "create" => allow(),
            "get" | "update" | "patch" | "delete" => self.related(node, VertexKind::ResourceSlice, attrs),
            "watch" | "list" | "deletecollection" => allow(),
            _ => no("only the following verbs are allowed for a ResourceSlice: get, watch, list, create, update, patch, delete, deletecollection"),
        }
    }

    fn decide(&self, node: &str, attrs: &Attributes) -> Option<Decision> {
        let kind = match (attrs.api_group.as_str(), attrs.resource.as_str()) {
            ("", "secrets") => return Some(self.read_namespaced(node, VertexKind::Secret, attrs)),
            ("", "configmaps") => return Some(self.read_namespaced(node, VertexKind::ConfigMap, attrs)),
            ("", "persistentvolumeclaims") if attrs.subresource == "status" => {
                return Some(self.status_update(node, VertexKind::PersistentVolumeClaim, attrs))
            }
            ("", "persistentvolumeclaims") => VertexKind::PersistentVolumeClaim,
            ("", "persistentvolumes") => VertexKind::PersistentVolume,
            ("resource.k8s.io", "resourceclaims") => VertexKind::ResourceClaim,
            ("storage.k8s.io", "volumeattachments") => VertexKind::VolumeAttachment,
            ("", "serviceaccounts") => return Some(self.create_token(node, attrs)),
            // AuthorizeNodeWithSelectors (on by default since 1.32): a node reads only its own
            // Node object (lists must select it by `metadata.name`).
            ("", "nodes")
                if matches!(attrs.verb.as_str(), "get" | "list" | "watch")
                    && attrs.subresource.is_empty() =>
            {
                return Some(if attrs.name == node {
                    allow()
                } else if attrs.name.is_empty() {
                    no(format!("node '{node}' cannot read all nodes, only its own Node object"))
                } else {
                    no(format!("node '{node}' cannot read '{}', only its own Node object", attrs.name))
                });
            }
            ("coordination.k8s.io", "leases") => return Some(Self::lease(node, attrs)),
            ("storage.k8s.io", "csinodes") => {
                return Some(Self::own_named(
                    node,
                    attrs,
                    "CSINode",
                    Some("cannot authorize CSINode subresources"),
                ))
            }
            ("resource.k8s.io", "resourceslices") => return Some(self.resource_slice(node, attrs)),
            _ => return None,
        };
        Some(self.get(node, kind, attrs))
    }
}

impl Authorizer for NodeAuthorizer {
    fn authorize(&self, attrs: &Attributes) -> Decision {
        let Some(node) = node_identity(&attrs.user) else { return no("") };
        if node.is_empty() {
            return no(format!("unknown node for user {}", crate::quote::go_quote(&attrs.user.name)));
        }
        if attrs.resource_request {
            if let Some(d) = self.decide(node, attrs) {
                return d;
            }
        }
        if self.rules.iter().any(|r| r.allows(attrs)) {
            allow()
        } else {
            no("")
        }
    }
}

impl RuleResolver for NodeAuthorizer {
    /// kube's answer: nodes' permissions cannot be enumerated (incomplete, with an error);
    /// other users get nothing from this authorizer.
    fn rules_for(&self, user: &UserInfo, _namespace: &str) -> SubjectRules {
        if node_identity(user).is_some() {
            SubjectRules {
                incomplete: true,
                evaluation_errors: vec![RULES_UNSUPPORTED.into()],
                ..Default::default()
            }
        } else {
            SubjectRules::default()
        }
    }
}

#[cfg(test)]
mod tests;
