//! The owner graph of the garbage collector (kube's `GraphBuilder` and its `uidToNode`),
//! kept for what the collector acts on: every object with ownerReferences, and every
//! object whose deletion waits on the collector (`orphan` or `foregroundDeletion` with a
//! deletionTimestamp), by uid; and for each owner uid, its dependents. An owner that is
//! neither (most owners) has no node: the collector reads it live when a dependent needs
//! it, as kube reads a virtual node's object.
//!
//! Observing a change returns the work it causes, as kube's `processGraphChanges` queues
//! items for `attemptToDelete` and `attemptToOrphan`; the work is idempotent, so a state
//! seen again (a re-list) queues it again harmlessly.

use apimachinery::Meta;
use registry::gc_policy::{FOREGROUND_FINALIZER, ORPHAN_FINALIZER};
use registry::ResourceType;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap, HashSet};

/// One `metadata.ownerReferences` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
    pub block_owner_deletion: bool,
}

impl OwnerRef {
    /// The API group of the owner's kind.
    pub fn group(&self) -> &str {
        self.api_version.rsplit_once('/').map_or("", |(g, _)| g)
    }
}

/// What identifies an object for reads and writes.
#[derive(Debug, Clone)]
pub struct Identity {
    pub rt: &'static ResourceType,
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

/// One object the collector follows.
#[derive(Debug, Clone)]
pub struct Node {
    pub identity: Identity,
    pub owners: Vec<OwnerRef>,
    /// Has a deletionTimestamp.
    pub being_deleted: bool,
    /// Being deleted with `foregroundDeletion`: waits for its blocking dependents.
    pub deleting_dependents: bool,
    /// Being deleted with `orphan`: its dependents lose their references to it first.
    pub orphaning: bool,
}

/// Work for the collector's queue.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Work {
    /// kube's `attemptToDeleteItem` for the node with this uid.
    AttemptToDelete(String),
    /// kube's `attemptToOrphan` for the node with this uid.
    Orphan(String),
}

/// The graph; see the module docs.
#[derive(Default)]
pub struct Graph {
    nodes: HashMap<String, Node>,
    dependents: HashMap<String, BTreeSet<String>>,
}

/// The most ownerReferences read from one object (kube validates no bound; this one keeps
/// the graph's cost per object bounded).
const MAX_OWNERS: usize = 256;

/// The owner references of an object (entries without a uid or name are skipped).
pub fn owner_refs(obj: &Value) -> Vec<OwnerRef> {
    let Some(refs) = obj.meta("ownerReferences").and_then(Value::as_array) else {
        return Vec::new();
    };
    let s = |r: &Value, f: &str| r.get(f).and_then(Value::as_str).unwrap_or_default().to_string();
    refs.iter()
        .take(MAX_OWNERS)
        .map(|r| OwnerRef {
            api_version: s(r, "apiVersion"),
            kind: s(r, "kind"),
            name: s(r, "name"),
            uid: s(r, "uid"),
            block_owner_deletion: r.get("blockOwnerDeletion").and_then(Value::as_bool) == Some(true),
        })
        .filter(|r| !r.uid.is_empty() && !r.name.is_empty())
        .collect()
}

/// The object's `metadata.finalizers`.
pub fn finalizers(obj: &Value) -> Vec<String> {
    obj.meta("finalizers")
        .and_then(Value::as_array)
        .map(|f| f.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

pub fn uid_of(obj: &Value) -> Option<&str> {
    obj.meta("uid").and_then(Value::as_str).filter(|u| !u.is_empty())
}

impl Node {
    /// The node of an object as stored now, or `None` without a uid.
    pub fn of(rt: &'static ResourceType, obj: &Value) -> Option<Node> {
        let uid = uid_of(obj)?.to_string();
        let (namespace, name) = crate::informer::name_of(obj);
        let being_deleted = obj.meta("deletionTimestamp").is_some_and(|t| !t.is_null());
        let f = finalizers(obj);
        Some(Node {
            identity: Identity { rt, namespace: namespace.to_string(), name: name.to_string(), uid },
            owners: owner_refs(obj),
            being_deleted,
            deleting_dependents: being_deleted && f.iter().any(|x| x == FOREGROUND_FINALIZER),
            orphaning: being_deleted && f.iter().any(|x| x == ORPHAN_FINALIZER),
        })
    }

    fn followed(&self) -> bool {
        !self.owners.is_empty() || self.deleting_dependents || self.orphaning
    }
}

impl Graph {
    pub fn node(&self, uid: &str) -> Option<&Node> {
        self.nodes.get(uid)
    }

    #[cfg(test)]
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The nodes whose ownerReferences name `owner`.
    pub fn dependents(&self, owner: &str) -> Vec<&Node> {
        self.dependents.get(owner).into_iter().flatten().filter_map(|d| self.nodes.get(d)).collect()
    }

    /// The dependents of `owner` whose reference to it has `blockOwnerDeletion: true`.
    pub fn blocking_dependents(&self, owner: &str) -> Vec<&Node> {
        self.dependents(owner)
            .into_iter()
            .filter(|d| d.owners.iter().any(|o| o.uid == owner && o.block_owner_deletion))
            .collect()
    }

    /// An object was added or changed: its node replaced, and the work that follows.
    pub fn observe(&mut self, node: Node) -> Vec<Work> {
        let uid = node.identity.uid.clone();
        let old = self.remove(&uid);
        let mut work = Vec::new();
        let old_owners = old.as_ref().map(|o| o.owners.as_slice()).unwrap_or_default();
        // An owner waiting for its dependents is looked at again when one stops blocking it.
        for gone in old_owners.iter().filter(|o| o.block_owner_deletion) {
            let still = node.owners.iter().any(|n| n.uid == gone.uid && n.block_owner_deletion);
            if !still && self.nodes.get(&gone.uid).is_some_and(|n| n.deleting_dependents) {
                work.push(Work::AttemptToDelete(gone.uid.clone()));
            }
        }
        // A new owner may be absent already (kube's virtual node, checked live).
        if node.owners.iter().any(|n| !old_owners.iter().any(|o| o.uid == n.uid)) {
            work.push(Work::AttemptToDelete(uid.clone()));
        }
        if node.orphaning {
            work.push(Work::Orphan(uid.clone()));
        }
        if node.deleting_dependents {
            work.extend(self.dependents(&uid).iter().map(|d| Work::AttemptToDelete(d.identity.uid.clone())));
            work.push(Work::AttemptToDelete(uid.clone()));
        }
        if node.followed() {
            for o in &node.owners {
                self.dependents.entry(o.uid.clone()).or_default().insert(uid.clone());
            }
            self.nodes.insert(uid, node);
        }
        work
    }

    /// An object with this uid is gone: its node removed; its dependents, and the owners
    /// that waited for it, looked at again.
    pub fn forget(&mut self, uid: &str) -> Vec<Work> {
        let mut work: Vec<Work> =
            self.dependents(uid).iter().map(|d| Work::AttemptToDelete(d.identity.uid.clone())).collect();
        if let Some(old) = self.remove(uid) {
            for o in &old.owners {
                if self.nodes.get(&o.uid).is_some_and(|n| n.deleting_dependents) {
                    work.push(Work::AttemptToDelete(o.uid.clone()));
                }
            }
        }
        work
    }

    /// A (re-)list of `rt` is complete with the objects of `listed` uids: nodes of that
    /// type not listed are gone, and dependents of owners of that kind not listed are
    /// looked at again (their owner may have gone while the watch was down).
    pub fn relisted(&mut self, rt: &ResourceType, listed: &HashSet<String>) -> Vec<Work> {
        let same_type = |n: &Node| n.identity.rt.group == rt.group && n.identity.rt.kind == rt.kind;
        let gone: Vec<String> = self
            .nodes
            .values()
            .filter(|n| same_type(n) && !listed.contains(&n.identity.uid))
            .map(|n| n.identity.uid.clone())
            .collect();
        let mut work = Vec::new();
        for uid in gone {
            work.extend(self.forget(&uid));
        }
        for n in self.nodes.values() {
            let missing_owner = n
                .owners
                .iter()
                .any(|o| o.group() == rt.group && o.kind == rt.kind && !listed.contains(&o.uid));
            if missing_owner {
                work.push(Work::AttemptToDelete(n.identity.uid.clone()));
            }
        }
        work
    }

    fn remove(&mut self, uid: &str) -> Option<Node> {
        let old = self.nodes.remove(uid)?;
        for o in &old.owners {
            if let Some(set) = self.dependents.get_mut(&o.uid) {
                set.remove(uid);
                if set.is_empty() {
                    self.dependents.remove(&o.uid);
                }
            }
        }
        Some(old)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cm() -> &'static ResourceType {
        registry::Catalog::global().lookup("", "v1", "configmaps").expect("served")
    }

    fn obj(uid: &str, owners: &[(&str, bool)], finalizers: &[&str], deleting: bool) -> Value {
        let refs: Vec<Value> = owners
            .iter()
            .map(|(u, b)| json!({"apiVersion": "v1", "kind": "ConfigMap", "name": format!("n-{u}"), "uid": u, "blockOwnerDeletion": b}))
            .collect();
        let mut v = json!({"metadata": {"name": format!("n-{uid}"), "namespace": "ns", "uid": uid,
            "ownerReferences": refs, "finalizers": finalizers}});
        if deleting {
            v["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        }
        v
    }

    fn observe(g: &mut Graph, o: Value) -> Vec<Work> {
        g.observe(Node::of(cm(), &o).expect("uid"))
    }

    fn del(uid: &str) -> Work {
        Work::AttemptToDelete(uid.into())
    }

    #[test]
    fn a_new_dependent_is_checked_and_indexed() {
        let mut g = Graph::default();
        assert_eq!(observe(&mut g, obj("d", &[("o", false)], &[], false)), vec![del("d")]);
        assert_eq!(g.dependents("o").len(), 1);
        // The same owners again: nothing to check.
        assert!(observe(&mut g, obj("d", &[("o", false)], &[], false)).is_empty());
        // An object without owners is not followed.
        assert!(observe(&mut g, obj("x", &[], &[], false)).is_empty());
        assert!(g.node("x").is_none());
    }

    #[test]
    fn an_owner_gone_wakes_its_dependents() {
        let mut g = Graph::default();
        observe(&mut g, obj("d1", &[("o", false)], &[], false));
        observe(&mut g, obj("d2", &[("o", true), ("p", false)], &[], false));
        let mut w = g.forget("o");
        w.sort();
        assert_eq!(w, vec![del("d1"), del("d2")]);
        // The dependent's own deletion unlinks it.
        g.forget("d1");
        assert_eq!(g.dependents("o").len(), 1);
        assert_eq!(g.dependents("p").len(), 1);
    }

    #[test]
    fn foreground_waits_for_blocking_dependents() {
        let mut g = Graph::default();
        observe(&mut g, obj("d1", &[("o", true)], &[], false));
        observe(&mut g, obj("d2", &[("o", false)], &[], false));
        let mut w = observe(&mut g, obj("o", &[], &["foregroundDeletion"], true));
        w.sort();
        assert_eq!(w, vec![del("d1"), del("d2"), del("o")]);
        let blocking: Vec<&str> =
            g.blocking_dependents("o").iter().map(|n| n.identity.uid.as_str()).collect();
        assert_eq!(blocking, vec!["d1"]);
        // The blocking dependent going wakes the owner; so does one dropping the block.
        assert_eq!(g.forget("d1"), vec![del("o")]);
        observe(&mut g, obj("d3", &[("o", true)], &[], false));
        assert_eq!(observe(&mut g, obj("d3", &[("o", false)], &[], false)), vec![del("o")]);
        // The owner gone: it is forgotten, its dependents woken.
        let mut w = g.forget("o");
        w.sort();
        assert_eq!(w, vec![del("d2"), del("d3")]);
        assert!(g.node("o").is_none());
    }

    #[test]
    fn orphaning_is_queued() {
        let mut g = Graph::default();
        assert_eq!(observe(&mut g, obj("o", &[], &["orphan"], true)), vec![Work::Orphan("o".into())]);
        // Without a deletionTimestamp the finalizer does nothing yet.
        assert!(observe(&mut g, obj("p", &[], &["orphan"], false)).is_empty());
        assert!(g.node("p").is_none());
    }

    #[test]
    fn a_relist_forgets_the_unlisted() {
        let mut g = Graph::default();
        observe(&mut g, obj("d", &[("o", false)], &[], false));
        observe(&mut g, obj("e", &[("d", false)], &[], false));
        let listed: HashSet<String> = ["e".to_string()].into();
        let mut w = g.relisted(cm(), &listed);
        w.sort();
        w.dedup();
        // d is gone (its dependent e woken), and e's owner d was not listed.
        assert_eq!(w, vec![del("e")]);
        assert!(g.node("d").is_none());
        assert_eq!(g.node_count(), 1);
    }
}
