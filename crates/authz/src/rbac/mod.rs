//! The RBAC authorizer (kube's `plugin/pkg/auth/authorizer/rbac`), indexed by subject.
//!
//! Fed with Role, ClusterRole, RoleBinding and ClusterRoleBinding objects as stored
//! ([`RbacAuthorizer::upsert`], [`RbacAuthorizer::remove`], [`RbacAuthorizer::replace_all`]),
//! callable while other threads authorize. Semantics are kube's: ClusterRoleBindings grant
//! everywhere, RoleBindings in their namespace (to a Role there or a ClusterRole); a binding
//! whose role is missing grants nothing and, on a miss, its error becomes the reason. RBAC
//! never denies: a miss is `NoOpinion`.

mod index;
pub mod objects;
mod table;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use apimachinery::{Attributes, Decision, UserInfo};
use arc_swap::ArcSwap;
use serde_json::Value;

use crate::error::AuthzError;
use crate::policy::PolicyRule;
use crate::{quote, Authorizer, RuleResolver, SubjectRules};
use index::{Grant, Index, IndexedBinding, RoleRules};
use objects::{
    first_applicable_subject, missing_role_error, BindingKind, BindingObject, RbacObject, Subject,
};

/// Identifies a role as a binding's roleRef names it: (kind as written, namespace, name);
/// a roleRef of another kind names a role that never exists.
type RoleKey = (String, String, String);
type BindingKey = (BindingKind, String, String);

/// Writer-side state: every role and binding, and which bindings name each role, to find
/// what an update touches.
#[derive(Default)]
struct Sources {
    roles: HashMap<RoleKey, Arc<RoleRules>>,
    bindings: HashMap<BindingKey, Arc<IndexedBinding>>,
    by_role: HashMap<RoleKey, Vec<Arc<IndexedBinding>>>,
    /// Shared "role not found" rules.
    missing: Arc<RoleRules>,
}

impl Sources {
    fn rules_for_key(&self, key: &RoleKey) -> Arc<RoleRules> {
        self.roles.get(key).cloned().unwrap_or_else(|| self.missing.clone())
    }

    /// Sets (or, with `None`, deletes) a role and repoints the bindings that name it.
    fn set_role(&mut self, index: &mut Index, key: RoleKey, rules: Option<Vec<PolicyRule>>) -> bool {
        let rules = match rules {
            Some(rules) => {
                let rules = Arc::new(RoleRules::new(rules));
                self.roles.insert(key.clone(), rules.clone());
                rules
            }
            None => {
                if self.roles.remove(&key).is_none() {
                    return false;
                }
                self.missing.clone()
            }
        };
        for binding in self.by_role.get(&key).into_iter().flatten() {
            index.set_rules(binding, &rules);
        }
        true
    }

    fn remove_binding(&mut self, index: &mut Index, key: &BindingKey) -> bool {
        let Some(old) = self.bindings.remove(key) else { return false };
        index.remove(&old);
        let role_key = role_key_of(&old);
        if let Some(list) = self.by_role.get_mut(&role_key) {
            list.retain(|b| !Arc::ptr_eq(b, &old));
            if list.is_empty() {
                self.by_role.remove(&role_key);
            }
        }
        true
    }

    fn apply(&mut self, index: &mut Index, obj: RbacObject) {
        match obj {
            RbacObject::Role(r) => {
                self.set_role(index, (r.kind.as_str().to_string(), r.namespace, r.name), Some(r.rules));
            }
            RbacObject::Binding(b) => {
                let key = (b.kind, b.namespace.clone(), b.name.clone());
                self.remove_binding(index, &key);
                let role_key = role_key_of(&b);
                let binding = Arc::new(IndexedBinding::new(b));
                index.add(&binding, &self.rules_for_key(&role_key));
                self.by_role.entry(role_key).or_default().push(binding.clone());
                self.bindings.insert(key, binding);
            }
        }
    }
}

fn role_key_of(b: &BindingObject) -> RoleKey {
    let ns = if b.role_ref.kind == "ClusterRole" { String::new() } else { b.namespace.clone() };
    (b.role_ref.kind.clone(), ns, b.role_ref.name.clone())
}

/// Why a request was allowed (or not): the answer of `kubeward explain`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Explanation {
    pub allowed: bool,
    /// The reason RBAC gives (`RBAC: allowed by ...`, or the resolution errors on a miss).
    pub reason: String,
    pub binding_kind: Option<BindingKind>,
    pub binding_namespace: String,
    pub binding_name: String,
    /// The roleRef kind as written (`Role` or `ClusterRole`).
    pub role_kind: String,
    pub role_name: String,
    /// The first subject of the binding that names the user.
    pub subject: Option<Subject>,
    /// Index of the allowing rule in the role's rules.
    pub rule_index: Option<usize>,
    pub rule: Option<PolicyRule>,
    /// Bindings that apply to the user but name a missing role.
    pub errors: Vec<String>,
}

/// kube's RBAC authorizer over a subject index; see the module docs.
pub struct RbacAuthorizer {
    index: ArcSwap<Index>,
    sources: Mutex<Sources>,
}

impl Default for RbacAuthorizer {
    fn default() -> Self {
        Self::new()
    }
}

impl RbacAuthorizer {
    pub fn new() -> Self {
        Self { index: ArcSwap::from_pointee(Index::default()), sources: Mutex::new(Sources::default()) }
    }

    /// Builds an authorizer holding `objs`.
    pub fn from_objects<'a>(objs: impl IntoIterator<Item = &'a Value>) -> Result<Self, AuthzError> {
        let authz = Self::new();
        authz.replace_all(objs)?;
        Ok(authz)
    }

    fn sources(&self) -> MutexGuard<'_, Sources> {
        // A panic while holding the lock leaves consistent data: each step is a whole
        // insertion or removal, and the index is only published after it.
        self.sources.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds or replaces one Role, ClusterRole, RoleBinding or ClusterRoleBinding.
    pub fn upsert(&self, obj: &Value) -> Result<(), AuthzError> {
        self.upsert_many(std::iter::once(obj))
    }

    /// Adds or replaces several objects, publishing one new snapshot. Nothing is applied if
    /// any object is malformed.
    pub fn upsert_many<'a>(&self, objs: impl IntoIterator<Item = &'a Value>) -> Result<(), AuthzError> {
        let parsed = objs.into_iter().map(RbacObject::parse).collect::<Result<Vec<_>, _>>()?;
        let mut sources = self.sources();
        let mut index = Index::clone(&self.index.load());
        for obj in parsed {
            sources.apply(&mut index, obj);
        }
        self.index.store(Arc::new(index));
        Ok(())
    }

    /// Replaces the whole policy with `objs`.
    pub fn replace_all<'a>(&self, objs: impl IntoIterator<Item = &'a Value>) -> Result<(), AuthzError> {
        let parsed = objs.into_iter().map(RbacObject::parse).collect::<Result<Vec<_>, _>>()?;
        let mut sources = self.sources();
        let mut fresh = Sources::default();
        let mut index = Index::default();
        for obj in parsed {
            fresh.apply(&mut index, obj);
        }
        *sources = fresh;
        self.index.store(Arc::new(index));
        Ok(())
    }

    /// Removes an object by kind (`Role`, `ClusterRole`, `RoleBinding`,
    /// `ClusterRoleBinding`), namespace (ignored for cluster kinds) and name.
    /// Returns whether it was present.
    pub fn remove(&self, kind: &str, namespace: &str, name: &str) -> Result<bool, AuthzError> {
        let mut sources = self.sources();
        let mut index = Index::clone(&self.index.load());
        let removed = match kind {
            "Role" => sources.set_role(&mut index, (kind.into(), namespace.into(), name.into()), None),
            "ClusterRole" => sources.set_role(&mut index, (kind.into(), String::new(), name.into()), None),
            "RoleBinding" => {
                sources.remove_binding(&mut index, &(BindingKind::RoleBinding, namespace.into(), name.into()))
            }
            "ClusterRoleBinding" => sources
                .remove_binding(&mut index, &(BindingKind::ClusterRoleBinding, String::new(), name.into())),
            other => return Err(AuthzError::UnsupportedKind(other.to_string())),
        };
        if removed {
            self.index.store(Arc::new(index));
        }
        Ok(removed)
    }

    /// Number of bindings held.
    pub fn bindings(&self) -> usize {
        self.index.load().bindings
    }

    /// Number of distinct users and groups the index files bindings under.
    pub fn subjects(&self) -> usize {
        let index = self.index.load();
        index.users.subjects() + index.groups.subjects()
    }

    /// Number of roles held (stored roles, not bindings' dangling references).
    pub fn roles(&self) -> usize {
        self.sources().roles.len()
    }

    /// The decision without its reason: the cheapest question.
    pub fn is_allowed(&self, attrs: &Attributes) -> bool {
        let index = self.index.load();
        let user = &attrs.user;
        index.walk(&user.name, &user.groups, &attrs.namespace, |g| {
            g.rules.compiled.iter().any(|r| r.allows(attrs))
        })
    }

    /// Walks the grants for `attrs` and returns the allowing one with its rule index.
    fn find(&self, index: &Index, attrs: &Attributes, missing: &mut bool) -> Option<(Grant, usize)> {
        let user = &attrs.user;
        let mut hit = None;
        index.walk(&user.name, &user.groups, &attrs.namespace, |g| {
            let rules = &g.rules;
            if !rules.exists {
                *missing = true;
                return false;
            }
            match rules.compiled.iter().position(|r| r.allows(attrs)) {
                Some(i) => {
                    hit = Some((g.clone(), i));
                    true
                }
                None => false,
            }
        });
        hit
    }

    fn errors(index: &Index, user: &UserInfo, namespace: &str) -> Vec<String> {
        let mut errors = Vec::new();
        index.walk(&user.name, &user.groups, namespace, |g| {
            if !g.rules.exists {
                errors.push(missing_role_error(&g.binding.role_ref));
            }
            false
        });
        errors.sort();
        errors.dedup();
        errors
    }

    fn subject_of(user: &UserInfo, binding: &BindingObject) -> Subject {
        first_applicable_subject(user, binding)
            .and_then(|i| binding.subjects.get(i))
            .cloned()
            .unwrap_or_default()
    }

    /// Explains the decision for `attrs`: which binding, role and rule allowed it.
    pub fn explain(&self, attrs: &Attributes) -> Explanation {
        let index = self.index.load();
        let mut missing = false;
        match self.find(&index, attrs, &mut missing) {
            Some((grant, rule_index)) => {
                let b = &grant.binding;
                let subject = Self::subject_of(&attrs.user, b);
                Explanation {
                    allowed: true,
                    reason: b.reason_for(&attrs.user),
                    binding_kind: Some(b.kind),
                    binding_namespace: b.namespace.clone(),
                    binding_name: b.name.clone(),
                    role_kind: b.role_ref.kind.clone(),
                    role_name: b.role_ref.name.clone(),
                    subject: Some(subject),
                    rule_index: Some(rule_index),
                    rule: grant.rules.rules.get(rule_index).cloned(),
                    errors: Vec::new(),
                }
            }
            None => {
                let errors =
                    if missing { Self::errors(&index, &attrs.user, &attrs.namespace) } else { Vec::new() };
                let reason = if errors.is_empty() {
                    String::new()
                } else {
                    format!("RBAC: {}", quote::aggregate(&errors))
                };
                Explanation { reason, errors, ..Default::default() }
            }
        }
    }
}

impl Authorizer for RbacAuthorizer {
    fn authorize(&self, attrs: &Attributes) -> Decision {
        let index = self.index.load();
        let mut missing = false;
        if let Some((grant, _)) = self.find(&index, attrs, &mut missing) {
            return Decision::Allow(grant.binding.reason_for(&attrs.user));
        }
        if !missing {
            return Decision::NoOpinion(String::new());
        }
        let errors = Self::errors(&index, &attrs.user, &attrs.namespace);
        Decision::NoOpinion(format!("RBAC: {}", quote::aggregate(&errors)))
    }
}

impl RuleResolver for RbacAuthorizer {
    /// kube's `RBACAuthorizer.RulesFor`: every rule of every applicable binding (duplicates
    /// kept, as kube does); `incomplete` stays false, errors go to `evaluation_errors`.
    fn rules_for(&self, user: &UserInfo, namespace: &str) -> SubjectRules {
        let index = self.index.load();
        let mut out = SubjectRules::default();
        let mut seen: HashSet<*const IndexedBinding> = HashSet::new();
        index.walk(&user.name, &user.groups, namespace, |g| {
            if !seen.insert(Arc::as_ptr(&g.binding)) {
                return false;
            }
            let rules = &g.rules;
            if !rules.exists {
                out.evaluation_errors.push(missing_role_error(&g.binding.role_ref));
            }
            for rule in &rules.rules {
                let (r, n) = rule.split();
                out.resource_rules.extend(r);
                out.non_resource_rules.extend(n);
            }
            false
        });
        out.evaluation_errors.sort();
        out.evaluation_errors.dedup();
        out
    }
}

#[cfg(test)]
mod tests;
