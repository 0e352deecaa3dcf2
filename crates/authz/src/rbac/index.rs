//! The subject index behind [`super::RbacAuthorizer`].
//!
//! Bindings are filed under each subject they name: users (ServiceAccounts as their user
//! name `system:serviceaccount:<ns>:<name>`) and groups, and within a subject under
//! "cluster" (ClusterRoleBindings) or the RoleBinding's namespace. A decision looks up the
//! user's name and each of its groups, never scanning unrelated bindings.
//!
//! Readers load an immutable [`Index`] snapshot; writers copy only the shards they touch
//! (copy-on-write through `Arc::make_mut`) and publish a new snapshot. Each grant holds its
//! role's compiled rules directly (one pointer, no atomic load per binding on the request
//! path); a role edit rewrites the grants of the bindings naming it.

use std::hash::BuildHasher;
use std::sync::Arc;

use foldhash::fast::RandomState;

use crate::policy::{CompiledRule, PolicyRule};
use apimachinery::UserInfo;

use crate::rbac::objects::{
    allowed_reason, first_applicable_subject, BindingObject, Subject, SERVICE_ACCOUNT_USERNAME_PREFIX,
};
use crate::rbac::table::StrTable;

const SHARDS: usize = 64;

/// A role's rules as currently stored, or "missing" (a binding may name a role not yet created).
#[derive(Debug, Default)]
pub(crate) struct RoleRules {
    pub exists: bool,
    pub compiled: Box<[CompiledRule]>,
    pub rules: Vec<PolicyRule>,
}

impl RoleRules {
    pub fn new(rules: Vec<PolicyRule>) -> Self {
        Self { exists: true, compiled: rules.iter().map(CompiledRule::new).collect(), rules }
    }
}

/// A binding with its allow reasons prepared, one per subject (the reason names the first
/// subject that applies to the user), so an allow costs one string copy.
#[derive(Debug)]
pub(crate) struct IndexedBinding {
    pub object: BindingObject,
    reasons: Box<[Box<str>]>,
}

impl IndexedBinding {
    pub fn new(object: BindingObject) -> Self {
        let reasons = object.subjects.iter().map(|s| allowed_reason(&object, s).into()).collect();
        Self { object, reasons }
    }

    /// kube's allow reason for `user`, who must be named by one of the subjects.
    pub fn reason_for(&self, user: &UserInfo) -> String {
        match first_applicable_subject(user, &self.object).and_then(|i| self.reasons.get(i)) {
            Some(reason) => reason.to_string(),
            None => allowed_reason(&self.object, &Subject::default()),
        }
    }
}

impl std::ops::Deref for IndexedBinding {
    type Target = BindingObject;
    fn deref(&self) -> &BindingObject {
        &self.object
    }
}

/// One binding as seen from one of its subjects.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub binding: Arc<IndexedBinding>,
    pub rules: Arc<RoleRules>,
}

/// The bindings naming one subject: cluster-wide, and per namespace (keyed by the
/// namespace's hash from the index's hasher).
#[derive(Debug, Clone, Default)]
pub(crate) struct SubjectGrants {
    pub cluster: Vec<Grant>,
    pub namespaced: StrTable<Vec<Grant>>,
}

impl SubjectGrants {
    fn is_empty(&self) -> bool {
        self.cluster.is_empty() && self.namespaced.is_empty()
    }
}

type Shard = StrTable<Arc<SubjectGrants>>;

/// A map from subject name to its grants, split in shards that are copied on write.
#[derive(Debug, Clone)]
pub(crate) struct Sharded {
    shards: Box<[Arc<Shard>]>,
}

impl Default for Sharded {
    fn default() -> Self {
        Self { shards: (0..SHARDS).map(|_| Arc::default()).collect() }
    }
}

#[inline]
fn shard_of(hash: u64) -> usize {
    // Middle bits: the table uses the low bits for buckets and the top 7 for tags.
    (hash >> 32) as usize % SHARDS
}

impl Sharded {
    #[inline]
    pub fn get(&self, hash: u64, key: &str) -> Option<&SubjectGrants> {
        self.shards.get(shard_of(hash))?.get(hash, key).map(|g| &**g)
    }

    fn insert(&mut self, hash: u64, key: &str, ns_hash: u64, grant: Grant) {
        let Some(shard) = self.shards.get_mut(shard_of(hash)) else { return };
        let entry = Arc::make_mut(Arc::make_mut(shard).get_or_insert_with(hash, key, Arc::default));
        let list = match grant.binding.namespace.as_str() {
            "" => &mut entry.cluster,
            ns => entry.namespaced.get_or_insert_with(ns_hash, ns, Vec::new),
        };
        // Sorted by binding name: the walk order does not depend on insertion order.
        let at = list.partition_point(|g| g.binding.name < grant.binding.name);
        list.insert(at, grant);
    }

    fn remove(&mut self, hash: u64, key: &str, ns_hash: u64, binding: &Arc<IndexedBinding>) {
        let Some(shard) = self.shards.get_mut(shard_of(hash)) else { return };
        if shard.get(hash, key).is_none() {
            return;
        }
        let shard = Arc::make_mut(shard);
        let Some(entry) = shard.get_mut(hash, key).map(Arc::make_mut) else { return };
        let ns = binding.namespace.as_str();
        if ns.is_empty() {
            entry.cluster.retain(|g| !Arc::ptr_eq(&g.binding, binding));
        } else if let Some(list) = entry.namespaced.get_mut(ns_hash, ns) {
            list.retain(|g| !Arc::ptr_eq(&g.binding, binding));
            if list.is_empty() {
                entry.namespaced.remove(ns_hash, ns);
            }
        }
        if entry.is_empty() {
            shard.remove(hash, key);
        }
    }

    fn set_rules(
        &mut self,
        hash: u64,
        key: &str,
        ns_hash: u64,
        binding: &Arc<IndexedBinding>,
        rules: &Arc<RoleRules>,
    ) {
        let Some(shard) = self.shards.get_mut(shard_of(hash)) else { return };
        let Some(entry) = Arc::make_mut(shard).get_mut(hash, key).map(Arc::make_mut) else { return };
        let ns = binding.namespace.as_str();
        let list =
            if ns.is_empty() { Some(&mut entry.cluster) } else { entry.namespaced.get_mut(ns_hash, ns) };
        for grant in list.into_iter().flatten() {
            if Arc::ptr_eq(&grant.binding, binding) {
                grant.rules = rules.clone();
            }
        }
    }

    pub fn subjects(&self) -> usize {
        self.shards.iter().map(|s| s.len()).sum()
    }
}

/// Where a binding is filed: user names and group names, deduplicated.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct SubjectKeys {
    pub users: Vec<String>,
    pub groups: Vec<String>,
}

/// The index keys of a binding's subjects. A ServiceAccount subject without a namespace
/// takes the binding's; in a ClusterRoleBinding it then matches no one (as in kube), and
/// subjects of unknown kinds never match.
pub(crate) fn subject_keys(binding: &BindingObject) -> SubjectKeys {
    let mut keys = SubjectKeys::default();
    for s in &binding.subjects {
        let (list, key) = match s.kind.as_str() {
            "User" => (&mut keys.users, s.name.clone()),
            "Group" => (&mut keys.groups, s.name.clone()),
            "ServiceAccount" => {
                let ns = if s.namespace.is_empty() { &binding.namespace } else { &s.namespace };
                if ns.is_empty() {
                    continue;
                }
                (&mut keys.users, format!("{SERVICE_ACCOUNT_USERNAME_PREFIX}{ns}:{}", s.name))
            }
            _ => continue,
        };
        if !list.contains(&key) {
            list.push(key);
        }
    }
    keys
}

/// An immutable view of all bindings, by subject.
#[derive(Debug, Clone, Default)]
pub(crate) struct Index {
    hasher: RandomState,
    pub users: Sharded,
    pub groups: Sharded,
    pub bindings: usize,
}

impl Index {
    #[inline]
    fn hash(&self, s: &str) -> u64 {
        self.hasher.hash_one(s)
    }

    pub fn add(&mut self, binding: &Arc<IndexedBinding>, rules: &Arc<RoleRules>) {
        let keys = subject_keys(binding);
        let ns_hash = self.hash(&binding.namespace);
        for u in &keys.users {
            let grant = Grant { binding: binding.clone(), rules: rules.clone() };
            self.users.insert(self.hasher.hash_one(u.as_str()), u, ns_hash, grant);
        }
        for g in &keys.groups {
            let grant = Grant { binding: binding.clone(), rules: rules.clone() };
            self.groups.insert(self.hasher.hash_one(g.as_str()), g, ns_hash, grant);
        }
        self.bindings += 1;
    }

    /// Points every grant of `binding` at `rules` (its role was created, edited or deleted).
    pub fn set_rules(&mut self, binding: &Arc<IndexedBinding>, rules: &Arc<RoleRules>) {
        let keys = subject_keys(binding);
        let ns_hash = self.hash(&binding.namespace);
        for u in &keys.users {
            self.users.set_rules(self.hasher.hash_one(u.as_str()), u, ns_hash, binding, rules);
        }
        for g in &keys.groups {
            self.groups.set_rules(self.hasher.hash_one(g.as_str()), g, ns_hash, binding, rules);
        }
    }

    pub fn remove(&mut self, binding: &Arc<IndexedBinding>) {
        let keys = subject_keys(binding);
        let ns_hash = self.hash(&binding.namespace);
        for u in &keys.users {
            self.users.remove(self.hasher.hash_one(u.as_str()), u, ns_hash, binding);
        }
        for g in &keys.groups {
            self.groups.remove(self.hasher.hash_one(g.as_str()), g, ns_hash, binding);
        }
        self.bindings = self.bindings.saturating_sub(1);
    }

    /// Calls `visit` with every grant that applies to a user named `user` with `groups` in
    /// `namespace`, until it returns true: ClusterRoleBindings first, then RoleBindings of
    /// `namespace`, as kube walks them. A binding naming the user in several ways is visited
    /// once per way.
    #[inline]
    pub fn walk<'a>(
        &'a self,
        user: &str,
        groups: &[String],
        namespace: &str,
        mut visit: impl FnMut(&'a Grant) -> bool,
    ) -> bool {
        // The subjects found in the cluster pass, kept for the namespace pass so each name
        // is hashed once (users rarely have more groups than this).
        const KEPT: usize = 8;
        let mut kept: [Option<&'a SubjectGrants>; KEPT] = [None; KEPT];
        let own = self.users.get(self.hash(user), user);
        if own.is_some_and(|g| g.cluster.iter().any(&mut visit)) {
            return true;
        }
        for (i, group) in groups.iter().enumerate() {
            let found = self.groups.get(self.hash(group), group);
            if let Some(slot) = kept.get_mut(i) {
                *slot = found;
            }
            if found.is_some_and(|g| g.cluster.iter().any(&mut visit)) {
                return true;
            }
        }
        if namespace.is_empty() {
            return false;
        }
        let ns_hash = self.hash(namespace);
        let mut in_namespace = |g: &'a SubjectGrants| {
            g.namespaced.get(ns_hash, namespace).is_some_and(|list| list.iter().any(&mut visit))
        };
        if own.is_some_and(&mut in_namespace) {
            return true;
        }
        groups.iter().enumerate().any(|(i, group)| {
            let found = if i < KEPT {
                kept.get(i).copied().flatten()
            } else {
                self.groups.get(self.hash(group), group)
            };
            found.is_some_and(&mut in_namespace)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rbac::objects::{BindingKind, RoleRef, Subject};

    fn binding(kind: BindingKind, ns: &str, subjects: &[(&str, &str, &str)]) -> BindingObject {
        BindingObject {
            kind,
            namespace: ns.into(),
            name: "b".into(),
            role_ref: RoleRef::default(),
            subjects: subjects
                .iter()
                .map(|(k, n, ns)| Subject {
                    kind: k.to_string(),
                    name: n.to_string(),
                    namespace: ns.to_string(),
                    ..Default::default()
                })
                .collect(),
        }
    }

    #[test]
    fn keys_of_subjects() {
        let b = binding(
            BindingKind::RoleBinding,
            "ns1",
            &[
                ("User", "a", ""),
                ("User", "a", ""),
                ("Group", "g", ""),
                ("ServiceAccount", "sa", ""),
                ("ServiceAccount", "sb", "ns2"),
                ("Other", "x", ""),
            ],
        );
        assert_eq!(
            subject_keys(&b),
            SubjectKeys {
                users: vec![
                    "a".into(),
                    "system:serviceaccount:ns1:sa".into(),
                    "system:serviceaccount:ns2:sb".into()
                ],
                groups: vec!["g".into()],
            }
        );
        let crb = binding(BindingKind::ClusterRoleBinding, "", &[("ServiceAccount", "sa", "")]);
        assert_eq!(subject_keys(&crb), SubjectKeys::default());
    }

    #[test]
    fn add_walk_remove() {
        let mut idx = Index::default();
        let b = Arc::new(IndexedBinding::new(binding(
            BindingKind::RoleBinding,
            "ns1",
            &[("User", "a", ""), ("Group", "g", "")],
        )));
        let role = Arc::new(RoleRules::default());
        idx.add(&b, &role);
        let published = idx.clone();
        let count = |idx: &Index, user: &str, groups: &[String], ns: &str| {
            let mut n = 0;
            idx.walk(user, groups, ns, |_| {
                n += 1;
                false
            });
            n
        };
        assert_eq!(count(&idx, "a", &["g".into()], "ns1"), 2);
        assert_eq!(count(&idx, "a", &[], "ns2"), 0);
        assert_eq!(count(&idx, "a", &[], ""), 0);
        idx.remove(&b);
        assert_eq!(count(&idx, "a", &["g".into()], "ns1"), 0);
        assert_eq!((idx.users.subjects(), idx.groups.subjects()), (0, 0));
        // The published snapshot is untouched by later writes.
        assert_eq!(count(&published, "a", &["g".into()], "ns1"), 2);
    }
}
