//! The garbage collector's work items (kube's `attemptToDeleteItem`,
//! `processDeletingDependentsItem` and `attemptToOrphanWorker`): owners read live to tell
//! solid from dangling references, dependents deleted with the policy their state asks,
//! references removed or unblocked, and the collector's finalizers removed from owners.
//! Every write is made at the revision read, for the uid read (kube's uid preconditions).

use super::graph::{self, Identity, Node, OwnerRef, Work};
use super::Collector;
use crate::rest::delete::delete_for_collector;
use apimachinery::StatusError;
use registry::gc_policy::{Propagation, FOREGROUND_FINALIZER, ORPHAN_FINALIZER};
use serde_json::{json, Value};

/// How an owner reference stands.
enum Standing {
    /// The owner exists and is not waiting for its dependents.
    Solid,
    /// The owner is gone (or was replaced by another object of the same name).
    Dangling,
    /// The owner is being deleted in the foreground.
    Waiting,
}

impl Collector {
    /// kube's `attemptToDeleteItem`.
    pub(super) async fn attempt_to_delete(&mut self, uid: &str) -> Result<(), StatusError> {
        let Some(node) = self.graph.node(uid).cloned() else { return Ok(()) };
        if node.being_deleted && !node.deleting_dependents {
            return Ok(());
        }
        let Some(latest) = self.latest(&node.identity).await? else {
            // Gone while the graph still had it: as if its delete event had come.
            let work = self.graph.forget(uid);
            self.enqueue(work);
            return Ok(());
        };
        let Some(latest) = Node::of(node.identity.rt, &latest) else { return Ok(()) };
        if latest.deleting_dependents {
            return self.process_deleting_dependents(&latest).await;
        }
        if latest.being_deleted || latest.owners.is_empty() {
            return Ok(());
        }
        let (mut solid, mut dangling, mut waiting) = (Vec::new(), Vec::new(), Vec::new());
        for owner in &latest.owners {
            match self.standing(&latest.identity, owner).await? {
                Standing::Solid => solid.push(owner.uid.clone()),
                Standing::Dangling => dangling.push(owner.uid.clone()),
                Standing::Waiting => waiting.push(owner.uid.clone()),
            }
        }
        let id = &latest.identity;
        if !solid.is_empty() {
            if dangling.is_empty() && waiting.is_empty() {
                return Ok(());
            }
            // Owners remain: only the references to the gone and the going are dropped.
            tracing::info!(namespace = %id.namespace, name = %id.name, kind = id.rt.kind, "garbage collector: removing dangling owner references");
            let drop: Vec<String> = dangling.into_iter().chain(waiting).collect();
            return self
                .edit_owner_refs(id, |refs| {
                    refs.retain(|r| !drop.iter().any(|u| ref_uid(r) == Some(u.as_str())))
                })
                .await;
        }
        if !waiting.is_empty() && !self.graph.dependents(uid).is_empty() {
            // Its owner waits for it and it has dependents itself: delete it in the
            // foreground too, unblocking its owners first when one of its dependents is
            // already waiting for its own (a cycle must not block).
            let cycle = self.graph.dependents(uid).iter().any(|d| d.deleting_dependents);
            if cycle {
                self.edit_owner_refs(id, |refs| unblock(refs)).await?;
            }
            tracing::info!(namespace = %id.namespace, name = %id.name, kind = id.rt.kind, "garbage collector: deleting in the foreground");
            return delete_for_collector(
                &self.objects,
                id.rt,
                &id.namespace,
                &id.name,
                &id.uid,
                Propagation::Foreground,
            )
            .await;
        }
        // No owner left: collected, with the policy its finalizers already name.
        let finalizers = self.finalizers_of(id).await?;
        let policy = if finalizers.iter().any(|f| f == ORPHAN_FINALIZER) {
            Propagation::Orphan
        } else if finalizers.iter().any(|f| f == FOREGROUND_FINALIZER) {
            Propagation::Foreground
        } else {
            Propagation::Background
        };
        tracing::info!(namespace = %id.namespace, name = %id.name, kind = id.rt.kind, ?policy, "garbage collector: deleting an object whose owners are gone");
        delete_for_collector(&self.objects, id.rt, &id.namespace, &id.name, &id.uid, policy).await
    }

    /// kube's `processDeletingDependentsItem`: the `foregroundDeletion` finalizer goes
    /// once no dependent blocks the owner; until then the blocking ones are deleted.
    async fn process_deleting_dependents(&mut self, owner: &Node) -> Result<(), StatusError> {
        let uid = &owner.identity.uid;
        let blocking: Vec<String> = self
            .graph
            .blocking_dependents(uid)
            .iter()
            .filter(|d| !d.deleting_dependents)
            .map(|d| d.identity.uid.clone())
            .collect();
        if self.graph.blocking_dependents(uid).is_empty() {
            return self.remove_finalizer(&owner.identity, FOREGROUND_FINALIZER).await;
        }
        self.enqueue(blocking.into_iter().map(Work::AttemptToDelete).collect());
        Ok(())
    }

    /// kube's `attemptToOrphanWorker`: every dependent loses its reference to the owner,
    /// then the owner its `orphan` finalizer.
    pub(super) async fn orphan(&mut self, uid: &str) -> Result<(), StatusError> {
        let Some(owner) = self.graph.node(uid).cloned() else { return Ok(()) };
        let dependents: Vec<Identity> =
            self.graph.dependents(uid).iter().map(|d| d.identity.clone()).collect();
        for dep in &dependents {
            self.edit_owner_refs(dep, |refs| refs.retain(|r| ref_uid(r) != Some(uid))).await?;
        }
        self.remove_finalizer(&owner.identity, ORPHAN_FINALIZER).await
    }

    /// How `owner` stands for `dependent`: read from what the store holds now, and live
    /// when that says absent (kube's graph, then its live `isDangling` lookup).
    async fn standing(&self, dependent: &Identity, owner: &OwnerRef) -> Result<Standing, StatusError> {
        let Some(rt) = self.catalog.by_kind(owner.group(), &owner.kind) else {
            // A kind not (yet) served: kube's collector retries until the mapping exists.
            return Err(StatusError::internal(&format!(
                "the owner's kind {}/{} is not served",
                owner.api_version, owner.kind
            )));
        };
        if rt.namespaced && dependent.namespace.is_empty() {
            // A cluster-scoped dependent naming a namespaced owner: unresolvable, never
            // collected (kube 1.20+).
            tracing::warn!(name = %dependent.name, kind = dependent.rt.kind, owner = %owner.name, "garbage collector: a cluster-scoped object names a namespaced owner");
            return Ok(Standing::Solid);
        }
        // A namespaced owner is looked for in the dependent's namespace only: one in another
        // namespace counts as absent.
        let ns = if rt.namespaced { dependent.namespace.as_str() } else { "" };
        let same = |o: &Option<Value>| o.as_ref().and_then(graph::uid_of) == Some(owner.uid.as_str());
        let mut found = self.objects.find_cached(rt, ns, &owner.name).await?;
        if !same(&found) {
            found = self.objects.find(rt, ns, &owner.name).await?;
        }
        let Some(obj) = found.filter(|o| graph::uid_of(o) == Some(owner.uid.as_str())) else {
            return Ok(Standing::Dangling);
        };
        let waiting = obj.pointer("/metadata/deletionTimestamp").is_some_and(|t| !t.is_null())
            && graph::finalizers(&obj).iter().any(|f| f == FOREGROUND_FINALIZER);
        Ok(if waiting { Standing::Waiting } else { Standing::Solid })
    }

    /// The object as stored now, if it is still the one with this uid.
    async fn latest(&self, id: &Identity) -> Result<Option<Value>, StatusError> {
        let obj = self.objects.find(id.rt, &id.namespace, &id.name).await?;
        Ok(obj.filter(|o| graph::uid_of(o) == Some(id.uid.as_str())))
    }

    async fn finalizers_of(&self, id: &Identity) -> Result<Vec<String>, StatusError> {
        Ok(self.latest(id).await?.map(|o| graph::finalizers(&o)).unwrap_or_default())
    }

    /// Changes the object's `metadata.ownerReferences` at the revision read (again on a
    /// conflict); nothing when it is gone or unchanged.
    async fn edit_owner_refs(
        &self,
        id: &Identity,
        edit: impl Fn(&mut Vec<Value>),
    ) -> Result<(), StatusError> {
        self.rewrite(id, |obj| {
            let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else { return false };
            let Some(refs) = meta.get_mut("ownerReferences").and_then(Value::as_array_mut) else {
                return false;
            };
            let before = refs.clone();
            edit(refs);
            if *refs == before {
                return false;
            }
            if refs.is_empty() {
                meta.shift_remove("ownerReferences");
            }
            true
        })
        .await
    }

    /// Removes one finalizer; an object being deleted that is left with none goes.
    async fn remove_finalizer(&self, id: &Identity, finalizer: &str) -> Result<(), StatusError> {
        tracing::info!(namespace = %id.namespace, name = %id.name, kind = id.rt.kind, finalizer, "garbage collector: removing a finalizer");
        self.rewrite(id, |obj| {
            let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else { return false };
            let Some(f) = meta.get_mut("finalizers").and_then(Value::as_array_mut) else { return false };
            let before = f.len();
            f.retain(|x| x.as_str() != Some(finalizer));
            if f.len() == before {
                return false;
            }
            if f.is_empty() {
                meta.shift_remove("finalizers");
            }
            true
        })
        .await
    }

    /// Reads the object, applies `change` (false: nothing to write) and writes it at the
    /// revision read; an object being deleted whose finalizers are all gone is deleted, as
    /// an update removing the last finalizer does.
    async fn rewrite(&self, id: &Identity, change: impl Fn(&mut Value) -> bool) -> Result<(), StatusError> {
        let hooks = crate::rest::kinds::hooks(id.rt);
        for _ in 0..5 {
            let kv = match self.objects.get_raw(id.rt, &id.namespace, &id.name).await {
                Err(e) if e.is_not_found() => return Ok(()),
                other => other?,
            };
            let Some(mut obj) = crate::objects::decode_kv(&kv) else {
                return Err(StatusError::internal("stored object is not valid JSON"));
            };
            if graph::uid_of(&obj) != Some(id.uid.as_str()) || !change(&mut obj) {
                return Ok(());
            }
            let deleting = obj.pointer("/metadata/deletionTimestamp").is_some_and(|t| !t.is_null());
            let result = if deleting && graph::finalizers(&obj).is_empty() && !hooks.has_own_finalizers(&obj)
            {
                self.objects.delete(id.rt, &id.namespace, &id.name, Some(kv.mod_revision)).await.map(|_| ())
            } else {
                self.objects
                    .update(id.rt, &id.namespace, &id.name, &obj, Some(kv.mod_revision))
                    .await
                    .map(|_| ())
            };
            match result {
                Err(e) if e.is_conflict() => continue,
                Err(e) if e.is_not_found() => return Ok(()),
                other => return other,
            }
        }
        Err(StatusError::stale_update(&id.rt.group_resource(), &id.name))
    }
}

fn ref_uid(r: &Value) -> Option<&str> {
    r.get("uid").and_then(Value::as_str)
}

/// kube's `unblockOwnerReferences`: every reference stops blocking its owner.
fn unblock(refs: &mut [Value]) {
    for r in refs.iter_mut() {
        if r.get("blockOwnerDeletion").and_then(Value::as_bool) == Some(true) {
            r["blockOwnerDeletion"] = json!(false);
        }
    }
}
