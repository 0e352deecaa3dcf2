//! structured-merge-diff's `Updater`: how a write changes who owns what.
//!
//! - An update takes every field it set (modified or added) from the other managers and
//!   removes from every manager the fields it removed ([`Updater::update`]).
//! - An apply merges the configuration into the live object; the applier then owns
//!   exactly the configuration's fields; fields it applied last time but no longer applies
//!   are removed from the object unless another manager owns them; changing a field another
//!   manager owns is a conflict unless forced, and forcing takes the field from it
//!   ([`Updater::apply`]).
//!
//! kubeward serves one version of each resource, so every manager's fields are compared
//! at the version of the request (kube converts the objects to each manager's version).

use crate::managed::{ManagedFields, ManagerId, VersionedSet};
use crate::path::Path;
use crate::schema::{Node, Schema};
use crate::set::Set;
use crate::typed::compare::{compare, Comparison};
use crate::typed::merge::merge_into;
use crate::typed::remove::remove_items;
use crate::typed::to_set::to_field_set;
use crate::typed::validate::join_errors;
use serde_json::{Map, Value};

/// One field another manager owns that a write changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub manager: ManagerId,
    pub path: Path,
}

/// The updater over one type.
pub struct Updater<'s> {
    pub schema: &'s dyn Schema,
    pub root: Node,
    /// Fields the endpoint resets (e.g. `status` through the main resource): never owned.
    pub ignored: Option<&'s Set>,
}

/// Why an apply did not go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateError {
    Conflicts(Vec<Conflict>),
    /// The merge failed (a repeated key in the configuration and the like).
    Merge(String),
}

impl Updater<'_> {
    fn filter(&self, set: Set) -> Set {
        match self.ignored {
            Some(ignored) => set.recursive_difference(ignored),
            None => set,
        }
    }

    /// Compares `old` and `new`, takes from every manager but `workflow` the fields the
    /// change sets or removes; with `force` false, a manager losing a set field is a
    /// conflict instead.
    fn diff(
        &self,
        old: &Value,
        new: &Value,
        managers: &mut ManagedFields,
        workflow: Option<&ManagerId>,
        force: bool,
    ) -> Result<Comparison, Vec<Conflict>> {
        let mut cmp = compare(self.schema, self.root, old, new);
        if let Some(ignored) = self.ignored {
            cmp.exclude(ignored);
        }
        let changed = cmp.modified.union(&cmp.added);
        let mut conflicts: Vec<(ManagerId, Set)> = Vec::new();
        for (id, vs) in managers.iter() {
            if Some(id) == workflow {
                continue;
            }
            let c = vs.set.intersection(&changed);
            if !c.is_empty() {
                conflicts.push((id.clone(), c));
            }
        }
        if !force && !conflicts.is_empty() {
            let mut out = Vec::new();
            for (id, set) in conflicts {
                for path in set.paths() {
                    out.push(Conflict { manager: id.clone(), path });
                }
            }
            return Err(out);
        }
        for (id, c) in &conflicts {
            if let Some(vs) = managers.get_mut(id) {
                vs.set_fields(vs.set.difference(c));
            }
        }
        if !cmp.removed.is_empty() {
            for (id, vs) in managers.iter_mut() {
                if Some(id) != workflow {
                    vs.set_fields(vs.set.difference(&cmp.removed));
                }
            }
        }
        managers.retain(|_, vs| !vs.set.is_empty());
        Ok(cmp)
    }

    /// An update from `live` to `new` by a manager with no fields yet (kube's field manager
    /// updates as a fresh "current operation", then merges the result into the manager's
    /// entry): takes the fields it sets from the others; returns them.
    pub fn update(&self, live: &Value, new: &Value, managers: &mut ManagedFields) -> Set {
        match self.diff(live, new, managers, None, true) {
            Ok(cmp) => self.filter(cmp.modified.union(&cmp.added)),
            // Forced: no conflicts are reported.
            Err(_) => Set::new(),
        }
    }

    /// Applies `config` over `live` for `manager` at `version`; returns the new object, or
    /// `None` when the apply changes nothing.
    pub fn apply(
        &self,
        live: &Value,
        config: &Value,
        version: &str,
        managers: &mut ManagedFields,
        manager: &ManagerId,
        force: bool,
    ) -> Result<Option<Value>, UpdateError> {
        let mut merged = live.clone();
        merge_into(self.schema, self.root, &mut merged, config)
            .map_err(|e| UpdateError::Merge(join_errors(&e)))?;
        let last = managers.get(manager).cloned();
        let set = self.filter(to_field_set(self.schema, self.root, config));
        managers.insert(manager.clone(), VersionedSet::new(set, version, true));
        let new = self.prune(merged, managers, manager, last.as_ref());
        self.diff(live, &new, managers, Some(manager), force).map_err(UpdateError::Conflicts)?;
        if crate::path::values_equal(live, &new) {
            return Ok(None);
        }
        Ok(Some(new))
    }

    fn remove(&self, value: &Value, set: &Set) -> Value {
        remove_items(self.schema, self.root, value, set).unwrap_or_else(|| Value::Object(Map::new()))
    }

    fn named(&self, set: &Set) -> Set {
        set.ensure_named_fields_are_members(self.schema, Some(self.root))
    }

    /// Removes what the applier owned last time and no longer applies, but keeps what
    /// another manager owns and what the applier never owned.
    fn prune(
        &self,
        merged: Value,
        managers: &ManagedFields,
        manager: &ManagerId,
        last: Option<&VersionedSet>,
    ) -> Value {
        let Some(last) = last.filter(|l| !l.set.is_empty()) else { return merged };
        // Nothing to prune when the applier still applies every field it applied before:
        // what the pruning takes away is added back as owned.
        if managers.get(manager).is_some_and(|now| last.set.difference(&now.set).is_empty()) {
            return merged;
        }
        let pruned = self.remove(&merged, &self.named(&last.set));
        // Add back what any manager (the applier's new set included) owns.
        let owned = managers.values().fold(Set::new(), |acc, vs| acc.union(&vs.set));
        let merged_set = self.named(&to_field_set(self.schema, self.root, &merged));
        let pruned_set = self.named(&to_field_set(self.schema, self.root, &pruned));
        let pruned = self.remove(&merged, &merged_set.difference(&pruned_set.union(&self.named(&owned))));
        // Add back what was removed on the way without being in the last applied set.
        let pruned_set = self.named(&to_field_set(self.schema, self.root, &pruned));
        self.remove(&merged, &merged_set.difference(&pruned_set).intersection(&self.named(&last.set)))
    }
}
