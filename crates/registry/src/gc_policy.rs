//! Garbage collection on delete: each kind's default policy (kube's
//! `GarbageCollectionDeleteStrategy.DefaultGarbageCollectionPolicy`) and the finalizers a
//! delete leaves on the object for the garbage collector (kube's generic registry store,
//! `deletionFinalizersForGarbageCollection`): `orphan` to orphan the dependents first,
//! `foregroundDeletion` to delete them first.

use crate::ResourceType;

/// The finalizer by which the garbage collector orphans an object's dependents.
pub const ORPHAN_FINALIZER: &str = "orphan";
/// The finalizer by which the garbage collector deletes an object's dependents first.
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";

/// kube's `rest.GarbageCollectionPolicy`: what a delete without a policy does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultPolicy {
    /// Dependents are deleted in the background.
    DeleteDependents,
    /// Dependents are orphaned (the kinds that did so before the server-side collector).
    OrphanDependents,
    /// No garbage-collection finalizer is ever added (Events).
    Unsupported,
}

/// `DeleteOptions.propagationPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    Foreground,
    Background,
    Orphan,
}

impl Propagation {
    /// The policy named by `propagationPolicy` (validated before).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Foreground" => Some(Self::Foreground),
            "Background" => Some(Self::Background),
            "Orphan" => Some(Self::Orphan),
            _ => None,
        }
    }
}

/// What a delete asks of the garbage collector: `propagationPolicy` and the older
/// `orphanDependents` (validation refuses both at once).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cascade {
    pub propagation: Option<Propagation>,
    pub orphan_dependents: Option<bool>,
}

impl Cascade {
    /// An explicit policy, as the garbage collector deletes.
    pub fn policy(p: Propagation) -> Self {
        Self { propagation: Some(p), orphan_dependents: None }
    }
}

/// kube's default policy for `rt` as served (one version per resource in kubeward):
/// core/v1 ReplicationControllers and batch/v1 Jobs orphan for backward compatibility,
/// Events are not collected, every other kind deletes its dependents.
pub fn default_policy(rt: &ResourceType) -> DefaultPolicy {
    match (rt.group, rt.version, rt.kind) {
        ("", "v1", "ReplicationController") | ("batch", "v1", "Job") => DefaultPolicy::OrphanDependents,
        // The same strategy serves both Event APIs.
        ("", _, "Event") | ("events.k8s.io", _, "Event") => DefaultPolicy::Unsupported,
        // Versions kube keeps orphaning for (not served by kubeward today).
        ("extensions", "v1beta1", _) | ("apps", "v1beta1" | "v1beta2", _) => DefaultPolicy::OrphanDependents,
        ("batch", "v1beta1" | "v2alpha1", "CronJob") => DefaultPolicy::OrphanDependents,
        _ => DefaultPolicy::DeleteDependents,
    }
}

fn should_orphan(default: DefaultPolicy, finalizers: &[String], cascade: Cascade) -> bool {
    if default == DefaultPolicy::Unsupported {
        return false;
    }
    if let Some(orphan) = cascade.orphan_dependents {
        return orphan;
    }
    if let Some(p) = cascade.propagation {
        return p == Propagation::Orphan;
    }
    // A finalizer already on the object overrides the kind's default.
    for f in finalizers {
        match f.as_str() {
            ORPHAN_FINALIZER => return true,
            FOREGROUND_FINALIZER => return false,
            _ => {}
        }
    }
    default == DefaultPolicy::OrphanDependents
}

fn should_delete_dependents(default: DefaultPolicy, finalizers: &[String], cascade: Cascade) -> bool {
    if default == DefaultPolicy::Unsupported || cascade.orphan_dependents.is_some() {
        return false;
    }
    if let Some(p) = cascade.propagation {
        return p == Propagation::Foreground;
    }
    for f in finalizers {
        match f.as_str() {
            FOREGROUND_FINALIZER => return true,
            ORPHAN_FINALIZER => return false,
            _ => {}
        }
    }
    false
}

/// The object's finalizers after a delete with `cascade`, when they change: the two
/// garbage-collection finalizers removed, then the one the policy wants added back.
pub fn deletion_finalizers(
    rt: &ResourceType,
    finalizers: &[String],
    cascade: Cascade,
) -> Option<Vec<String>> {
    let default = default_policy(rt);
    let orphan = should_orphan(default, finalizers, cascade);
    let foreground = should_delete_dependents(default, finalizers, cascade);
    let mut out: Vec<String> = finalizers
        .iter()
        .filter(|f| f.as_str() != ORPHAN_FINALIZER && f.as_str() != FOREGROUND_FINALIZER)
        .cloned()
        .collect();
    if orphan {
        out.push(ORPHAN_FINALIZER.to_string());
    }
    if foreground {
        out.push(FOREGROUND_FINALIZER.to_string());
    }
    let same = {
        let a: std::collections::BTreeSet<&String> = finalizers.iter().collect();
        let b: std::collections::BTreeSet<&String> = out.iter().collect();
        a == b
    };
    (!same).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalog;

    fn rt(group: &str, plural: &str) -> &'static ResourceType {
        let c = Catalog::global();
        c.all().into_iter().find(|r| r.group == group && r.plural == plural).expect("served")
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn defaults_per_kind() {
        assert_eq!(default_policy(rt("", "configmaps")), DefaultPolicy::DeleteDependents);
        assert_eq!(default_policy(rt("", "replicationcontrollers")), DefaultPolicy::OrphanDependents);
        assert_eq!(default_policy(rt("batch", "jobs")), DefaultPolicy::OrphanDependents);
        assert_eq!(default_policy(rt("apps", "replicasets")), DefaultPolicy::DeleteDependents);
        assert_eq!(default_policy(rt("", "events")), DefaultPolicy::Unsupported);
    }

    #[test]
    fn policies_set_finalizers() {
        let cm = rt("", "configmaps");
        let fg = Cascade::policy(Propagation::Foreground);
        assert_eq!(deletion_finalizers(cm, &[], fg), Some(s(&["foregroundDeletion"])));
        assert_eq!(deletion_finalizers(cm, &[], Cascade::policy(Propagation::Orphan)), Some(s(&["orphan"])));
        assert_eq!(deletion_finalizers(cm, &[], Cascade::policy(Propagation::Background)), None);
        assert_eq!(deletion_finalizers(cm, &[], Cascade::default()), None);
        let old = Cascade { propagation: None, orphan_dependents: Some(true) };
        assert_eq!(deletion_finalizers(cm, &s(&["x"]), old), Some(s(&["x", "orphan"])));
        // A second delete switches the policy; Background drops both.
        assert_eq!(deletion_finalizers(cm, &s(&["orphan", "x"]), fg), Some(s(&["x", "foregroundDeletion"])));
        let bg = Cascade::policy(Propagation::Background);
        assert_eq!(deletion_finalizers(cm, &s(&["orphan"]), bg), Some(vec![]));
        // Without a policy, a finalizer already there stays.
        assert_eq!(deletion_finalizers(cm, &s(&["foregroundDeletion"]), Cascade::default()), None);
    }

    #[test]
    fn orphaning_kinds_and_events() {
        let rc = rt("", "replicationcontrollers");
        assert_eq!(deletion_finalizers(rc, &[], Cascade::default()), Some(s(&["orphan"])));
        assert_eq!(deletion_finalizers(rc, &[], Cascade::policy(Propagation::Background)), None);
        let ev = rt("", "events");
        assert_eq!(deletion_finalizers(ev, &[], Cascade::policy(Propagation::Orphan)), None);
    }
}
