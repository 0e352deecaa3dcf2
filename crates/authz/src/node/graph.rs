//! The node authorizer's relationship graph (kube's `node/graph.go`), kept as reverse
//! lookups: for each object a pod references, how many pods on each node reference it.
//!
//! "Related" means a path from the object to the node: `pod -> node` (spec.nodeName);
//! `secret | configmap | serviceaccount | pvc | resourceclaim -> pod`; `pv -> pvc`
//! (the PV's claimRef); `secret -> pv`; `volumeattachment -> node`; `resourceslice -> node`;
//! `configmap -> node` (the Node's config source). Each question is a few hash lookups.

use std::collections::HashMap;

use serde_json::Value;

use super::refs::{pod_node, pod_refs, pv_refs, str_at};

/// The kinds of objects the graph answers for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VertexKind {
    ConfigMap,
    Pod,
    PersistentVolumeClaim,
    PersistentVolume,
    ResourceClaim,
    ResourceSlice,
    Secret,
    ServiceAccount,
    VolumeAttachment,
}

type NsName = (String, String);
type RefKey = (VertexKind, String, String);

/// Per object: node name -> number of pods on that node referencing it.
type Counts = HashMap<String, u32>;

#[derive(Debug, Clone)]
struct PodRecord {
    node: String,
    refs: Vec<RefKey>,
}

#[derive(Debug, Clone)]
struct PvRecord {
    claim: Option<NsName>,
    secrets: Vec<NsName>,
}

/// The graph; see the module docs.
#[derive(Debug, Default)]
pub struct Graph {
    pods: HashMap<NsName, PodRecord>,
    pod_refs: HashMap<RefKey, Counts>,
    pvs: HashMap<String, PvRecord>,
    pvs_by_secret: HashMap<NsName, Vec<String>>,
    volume_attachments: HashMap<String, String>,
    resource_slices: HashMap<String, String>,
    node_config_maps: HashMap<String, NsName>,
}

fn meta(obj: &Value) -> (String, String) {
    let ns = str_at(obj, &["metadata", "namespace"]).unwrap_or_default().to_string();
    let name = str_at(obj, &["metadata", "name"]).unwrap_or_default().to_string();
    (ns, name)
}

impl Graph {
    /// Adds or replaces a Pod; an unscheduled pod (no spec.nodeName) relates to nothing.
    pub fn set_pod(&mut self, pod: &Value) {
        let key = meta(pod);
        self.remove_pod(&key.0, &key.1);
        let Some(node) = pod_node(pod) else { return };
        let r = pod_refs(pod);
        let ns = &key.0;
        let mut refs: Vec<RefKey> = Vec::new();
        let mut add = |kind: VertexKind, names: &[String]| {
            refs.extend(names.iter().map(|n| (kind, ns.clone(), n.clone())));
        };
        add(VertexKind::Secret, &r.secrets);
        add(VertexKind::ConfigMap, &r.config_maps);
        add(VertexKind::PersistentVolumeClaim, &r.pvcs);
        add(VertexKind::ResourceClaim, &r.resource_claims);
        add(VertexKind::ServiceAccount, r.service_account.as_slice());
        for k in &refs {
            *self.pod_refs.entry(k.clone()).or_default().entry(node.to_string()).or_default() += 1;
        }
        self.pods.insert(key, PodRecord { node: node.to_string(), refs });
    }

    pub fn remove_pod(&mut self, namespace: &str, name: &str) -> bool {
        let Some(old) = self.pods.remove(&(namespace.to_string(), name.to_string())) else { return false };
        for k in &old.refs {
            if let Some(counts) = self.pod_refs.get_mut(k) {
                if let Some(c) = counts.get_mut(&old.node) {
                    *c -= 1;
                    if *c == 0 {
                        counts.remove(&old.node);
                    }
                }
                if counts.is_empty() {
                    self.pod_refs.remove(k);
                }
            }
        }
        true
    }

    pub fn set_pv(&mut self, pv: &Value) {
        let (_, name) = meta(pv);
        self.remove_pv(&name);
        let (claim, secrets) = pv_refs(pv);
        for s in &secrets {
            self.pvs_by_secret.entry(s.clone()).or_default().push(name.clone());
        }
        self.pvs.insert(name, PvRecord { claim, secrets });
    }

    pub fn remove_pv(&mut self, name: &str) -> bool {
        let Some(old) = self.pvs.remove(name) else { return false };
        for s in &old.secrets {
            if let Some(list) = self.pvs_by_secret.get_mut(s) {
                list.retain(|p| p != name);
                if list.is_empty() {
                    self.pvs_by_secret.remove(s);
                }
            }
        }
        true
    }

    /// Sets the node a named object of a node-scoped kind points at (VolumeAttachment
    /// `spec.nodeName`, ResourceSlice `spec.nodeName`); `None` removes it.
    pub fn set_node_edge(&mut self, kind: VertexKind, name: &str, node: Option<&str>) -> bool {
        let map = match kind {
            VertexKind::VolumeAttachment => &mut self.volume_attachments,
            VertexKind::ResourceSlice => &mut self.resource_slices,
            _ => return false,
        };
        match node {
            Some(n) => map.insert(name.to_string(), n.to_string()).is_none(),
            None => map.remove(name).is_some(),
        }
    }

    /// Names (namespace, name) of the objects of `kind` the graph holds.
    pub fn names_of(&self, kind: &str) -> Vec<NsName> {
        let cluster = |m: &HashMap<String, String>| m.keys().map(|n| (String::new(), n.clone())).collect();
        match kind {
            "Pod" => self.pods.keys().cloned().collect(),
            "PersistentVolume" => self.pvs.keys().map(|n| (String::new(), n.clone())).collect(),
            "VolumeAttachment" => cluster(&self.volume_attachments),
            "ResourceSlice" => cluster(&self.resource_slices),
            "Node" => self.node_config_maps.keys().map(|n| (String::new(), n.clone())).collect(),
            _ => Vec::new(),
        }
    }

    /// Sets (or clears) the ConfigMap a Node names as its config source.
    pub fn set_node_config_map(&mut self, node: &str, config_map: Option<NsName>) -> bool {
        match config_map {
            Some(cm) => self.node_config_maps.insert(node.to_string(), cm).is_none(),
            None => self.node_config_maps.remove(node).is_some(),
        }
    }

    fn referenced_on(&self, kind: VertexKind, namespace: &str, name: &str, node: &str) -> bool {
        // A borrowed lookup would need a custom key type; the key is built once per decision.
        let key = (kind, namespace.to_string(), name.to_string());
        self.pod_refs.get(&key).is_some_and(|c| c.contains_key(node))
    }

    fn pv_related(&self, pv: &str, node: &str) -> bool {
        self.pvs
            .get(pv)
            .and_then(|p| p.claim.as_ref())
            .is_some_and(|(ns, claim)| self.referenced_on(VertexKind::PersistentVolumeClaim, ns, claim, node))
    }

    /// Whether a path leads from the object to the node.
    pub fn has_path(&self, node: &str, kind: VertexKind, namespace: &str, name: &str) -> bool {
        match kind {
            VertexKind::Pod => {
                self.pods.get(&(namespace.to_string(), name.to_string())).is_some_and(|p| p.node == node)
            }
            VertexKind::PersistentVolume => self.pv_related(name, node),
            VertexKind::VolumeAttachment => self.volume_attachments.get(name).is_some_and(|n| n == node),
            VertexKind::ResourceSlice => self.resource_slices.get(name).is_some_and(|n| n == node),
            VertexKind::Secret => {
                self.referenced_on(kind, namespace, name, node)
                    || self
                        .pvs_by_secret
                        .get(&(namespace.to_string(), name.to_string()))
                        .is_some_and(|pvs| pvs.iter().any(|pv| self.pv_related(pv, node)))
            }
            VertexKind::ConfigMap => {
                self.referenced_on(kind, namespace, name, node)
                    || self.node_config_maps.get(node).is_some_and(|(ns, n)| ns == namespace && n == name)
            }
            VertexKind::PersistentVolumeClaim | VertexKind::ResourceClaim | VertexKind::ServiceAccount => {
                self.referenced_on(kind, namespace, name, node)
            }
        }
    }

    /// Number of pods held (scheduled ones only).
    pub fn pods(&self) -> usize {
        self.pods.len()
    }
}
