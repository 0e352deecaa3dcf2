//! The reference model: kube's RBAC walk written plainly over all objects.
//!
//! It visits every ClusterRoleBinding, then every RoleBinding of the request's namespace,
//! exactly as `DefaultRuleResolver.VisitRulesFor` does, and evaluates rules with the plain
//! [`PolicyRule::allows`]. It shares no code with the index in [`crate::rbac`] beyond subject
//! matching, so property tests compare the two, and benches use it as the linear baseline.

use std::collections::BTreeMap;

use apimachinery::{Attributes, Decision, UserInfo};
use serde_json::Value;

use crate::error::AuthzError;
use crate::policy::PolicyRule;
use crate::rbac::objects::{
    allowed_reason, first_applicable_subject, missing_role_error, BindingKind, BindingObject, RbacObject,
    RoleKind, RoleObject,
};
use crate::{quote, SubjectRules};

type Key = (String, String);

/// All RBAC objects in sorted maps; every question scans them.
#[derive(Debug, Clone, Default)]
pub struct NaiveRbac {
    roles: BTreeMap<(RoleKind, String, String), RoleObject>,
    bindings: BTreeMap<(BindingKind, String, String), BindingObject>,
}

impl NaiveRbac {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn upsert(&mut self, obj: &Value) -> Result<(), AuthzError> {
        match RbacObject::parse(obj)? {
            RbacObject::Role(r) => {
                self.roles.insert((r.kind, r.namespace.clone(), r.name.clone()), r);
            }
            RbacObject::Binding(b) => {
                self.bindings.insert((b.kind, b.namespace.clone(), b.name.clone()), b);
            }
        }
        Ok(())
    }

    pub fn remove(&mut self, kind: &str, namespace: &str, name: &str) {
        let key: Key = (namespace.to_string(), name.to_string());
        match kind {
            "Role" => self.roles.remove(&(RoleKind::Role, key.0, key.1)).map(|_| ()),
            "ClusterRole" => self.roles.remove(&(RoleKind::ClusterRole, String::new(), key.1)).map(|_| ()),
            "RoleBinding" => self.bindings.remove(&(BindingKind::RoleBinding, key.0, key.1)).map(|_| ()),
            "ClusterRoleBinding" => {
                self.bindings.remove(&(BindingKind::ClusterRoleBinding, String::new(), key.1)).map(|_| ())
            }
            _ => None,
        };
    }

    fn role_rules(&self, binding: &BindingObject) -> Result<&[PolicyRule], String> {
        let key = match binding.role_ref.kind.as_str() {
            "Role" => (RoleKind::Role, binding.namespace.clone()),
            "ClusterRole" => (RoleKind::ClusterRole, String::new()),
            _ => return Err(missing_role_error(&binding.role_ref)),
        };
        self.roles
            .get(&(key.0, key.1, binding.role_ref.name.clone()))
            .map(|r| r.rules.as_slice())
            .ok_or_else(|| missing_role_error(&binding.role_ref))
    }

    /// `VisitRulesFor`: calls `visit` with each applicable binding and its rules (or the error
    /// resolving them), ClusterRoleBindings first, then RoleBindings of `namespace`.
    fn visit<'a>(
        &'a self,
        user: &UserInfo,
        namespace: &str,
        mut visit: impl FnMut(&'a BindingObject, Result<&'a [PolicyRule], String>),
    ) {
        for binding in self.bindings.values() {
            let in_scope = match binding.kind {
                BindingKind::ClusterRoleBinding => true,
                BindingKind::RoleBinding => !namespace.is_empty() && binding.namespace == namespace,
            };
            if in_scope && first_applicable_subject(user, binding).is_some() {
                visit(binding, self.role_rules(binding));
            }
        }
    }

    /// Every reason kube could give for allowing `attrs` (one per allowing binding).
    pub fn allowing_reasons(&self, attrs: &Attributes) -> Vec<String> {
        let mut out = Vec::new();
        self.visit(&attrs.user, &attrs.namespace, |binding, rules| {
            if rules.is_ok_and(|rules| rules.iter().any(|r| r.allows(attrs))) {
                if let Some(i) = first_applicable_subject(&attrs.user, binding) {
                    out.push(allowed_reason(binding, &binding.subjects[i]));
                }
            }
        });
        out
    }

    /// kube's RBAC decision: the first allowing binding, else NoOpinion with the resolution
    /// errors (sorted, deduplicated) as reason.
    pub fn authorize(&self, attrs: &Attributes) -> Decision {
        if let Some(reason) = self.allowing_reasons(attrs).into_iter().next() {
            return Decision::Allow(reason);
        }
        let mut errors = Vec::new();
        self.visit(&attrs.user, &attrs.namespace, |_, rules| {
            if let Err(e) = rules {
                errors.push(e);
            }
        });
        errors.sort();
        errors.dedup();
        if errors.is_empty() {
            Decision::NoOpinion(String::new())
        } else {
            Decision::NoOpinion(format!("RBAC: {}", quote::aggregate(&errors)))
        }
    }

    /// All rules that apply to `user` in `namespace`, as SelfSubjectRulesReview lists them.
    pub fn rules_for(&self, user: &UserInfo, namespace: &str) -> SubjectRules {
        let mut out = SubjectRules::default();
        self.visit(user, namespace, |_, rules| match rules {
            Ok(rules) => {
                for rule in rules {
                    let (r, n) = rule.split();
                    out.resource_rules.extend(r);
                    out.non_resource_rules.extend(n);
                }
            }
            Err(e) => out.evaluation_errors.push(e),
        });
        out.evaluation_errors.sort();
        out.evaluation_errors.dedup();
        out
    }
}
