//! The four RBAC kinds parsed from stored Kubernetes JSON, and kube's subject matching and
//! descriptions (`appliesToUser`, `describeSubject`, the binding describers).

use apimachinery::UserInfo;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::AuthzError;
use crate::policy::{str_eq, PolicyRule};
use crate::quote::push_go_quoted;

pub const SERVICE_ACCOUNT_USERNAME_PREFIX: &str = "system:serviceaccount:";

/// Role or ClusterRole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RoleKind {
    Role,
    ClusterRole,
}

impl RoleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RoleKind::Role => "Role",
            RoleKind::ClusterRole => "ClusterRole",
        }
    }
}

/// RoleBinding or ClusterRoleBinding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BindingKind {
    ClusterRoleBinding,
    RoleBinding,
}

impl BindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BindingKind::RoleBinding => "RoleBinding",
            BindingKind::ClusterRoleBinding => "ClusterRoleBinding",
        }
    }
}

/// A Role (namespaced) or ClusterRole (`namespace` empty) with its rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleObject {
    pub kind: RoleKind,
    pub namespace: String,
    pub name: String,
    pub rules: Vec<PolicyRule>,
}

/// `rbacv1.Subject`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_group: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
}

/// `rbacv1.RoleRef`. The kind is kept as written: kube reports an unknown kind as an error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleRef {
    #[serde(default)]
    pub api_group: String,
    pub kind: String,
    pub name: String,
}

/// A RoleBinding (namespaced) or ClusterRoleBinding (`namespace` empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingObject {
    pub kind: BindingKind,
    pub namespace: String,
    pub name: String,
    pub role_ref: RoleRef,
    pub subjects: Vec<Subject>,
}

/// One parsed RBAC object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RbacObject {
    Role(RoleObject),
    Binding(BindingObject),
}

fn str_field<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn list_field<T: for<'de> Deserialize<'de>>(
    obj: &Value,
    key: &str,
    field: &'static str,
) -> Result<Vec<T>, AuthzError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(v) => {
            Vec::<T>::deserialize(v).map_err(|e| AuthzError::InvalidField { field, message: e.to_string() })
        }
    }
}

impl RbacObject {
    /// Parses a Role, ClusterRole, RoleBinding or ClusterRoleBinding as stored.
    pub fn parse(obj: &Value) -> Result<Self, AuthzError> {
        let kind = str_field(obj, "/kind");
        let name = str_field(obj, "/metadata/name");
        if name.is_empty() {
            return Err(AuthzError::MissingField("metadata.name"));
        }
        let namespace = str_field(obj, "/metadata/namespace");
        let namespaced = matches!(kind, "Role" | "RoleBinding");
        if namespaced && namespace.is_empty() {
            return Err(AuthzError::MissingField("metadata.namespace"));
        }
        let namespace = if namespaced { namespace.to_string() } else { String::new() };
        match kind {
            "Role" | "ClusterRole" => Ok(RbacObject::Role(RoleObject {
                kind: if namespaced { RoleKind::Role } else { RoleKind::ClusterRole },
                namespace,
                name: name.to_string(),
                rules: list_field(obj, "rules", "rules")?,
            })),
            "RoleBinding" | "ClusterRoleBinding" => {
                let role_ref = obj.get("roleRef").ok_or(AuthzError::MissingField("roleRef"))?;
                let role_ref = RoleRef::deserialize(role_ref)
                    .map_err(|e| AuthzError::InvalidField { field: "roleRef", message: e.to_string() })?;
                Ok(RbacObject::Binding(BindingObject {
                    kind: if namespaced { BindingKind::RoleBinding } else { BindingKind::ClusterRoleBinding },
                    namespace,
                    name: name.to_string(),
                    role_ref,
                    subjects: list_field(obj, "subjects", "subjects")?,
                }))
            }
            other => Err(AuthzError::UnsupportedKind(other.to_string())),
        }
    }
}

/// kube's `appliesToUser`: does `subject` of a binding in `binding_namespace` name `user`?
/// A ServiceAccount subject without a namespace takes the binding's namespace.
pub fn applies_to_user(user: &UserInfo, subject: &Subject, binding_namespace: &str) -> bool {
    match subject.kind.as_str() {
        "User" => str_eq(&user.name, &subject.name),
        "Group" => user.groups.iter().any(|g| str_eq(g, &subject.name)),
        "ServiceAccount" => {
            let ns = if subject.namespace.is_empty() { binding_namespace } else { &subject.namespace };
            !ns.is_empty() && matches_service_account(&user.name, ns, &subject.name)
        }
        _ => false,
    }
}

/// `serviceaccount.MatchesUsername`: `username == "system:serviceaccount:<ns>:<name>"`.
pub fn matches_service_account(username: &str, namespace: &str, name: &str) -> bool {
    username
        .strip_prefix(SERVICE_ACCOUNT_USERNAME_PREFIX)
        .and_then(|rest| rest.strip_prefix(namespace))
        .and_then(|rest| rest.strip_prefix(':'))
        .is_some_and(|rest| str_eq(rest, name))
}

/// Index of the first subject that applies (kube's `appliesTo`).
pub fn first_applicable_subject(user: &UserInfo, binding: &BindingObject) -> Option<usize> {
    binding.subjects.iter().position(|s| applies_to_user(user, s, &binding.namespace))
}

/// `RBAC: allowed by <binding description>`, exactly as kube's describers print it:
/// `ClusterRoleBinding "crb" of ClusterRole "r" to User "u"` or
/// `RoleBinding "rb/ns" of Role "r" to ServiceAccount "sa/ns"`.
pub fn allowed_reason(binding: &BindingObject, subject: &Subject) -> String {
    let mut s = String::with_capacity(64 + binding.name.len() + binding.role_ref.name.len());
    s.push_str("RBAC: allowed by ");
    s.push_str(binding.kind.as_str());
    s.push(' ');
    match binding.kind {
        BindingKind::ClusterRoleBinding => push_go_quoted(&mut s, &binding.name),
        BindingKind::RoleBinding => {
            push_go_quoted(&mut s, &format!("{}/{}", binding.name, binding.namespace))
        }
    }
    s.push_str(" of ");
    s.push_str(&binding.role_ref.kind);
    s.push(' ');
    push_go_quoted(&mut s, &binding.role_ref.name);
    s.push_str(" to ");
    s.push_str(&subject.kind);
    s.push(' ');
    if subject.kind == "ServiceAccount" {
        let ns = if subject.namespace.is_empty() { &binding.namespace } else { &subject.namespace };
        push_go_quoted(&mut s, &format!("{}/{}", subject.name, ns));
    } else {
        push_go_quoted(&mut s, &subject.name);
    }
    s
}

/// The error kube's role getters give for a binding whose role is missing.
pub fn missing_role_error(role_ref: &RoleRef) -> String {
    let resource = match role_ref.kind.as_str() {
        "Role" => "role",
        "ClusterRole" => "clusterrole",
        other => return format!("unsupported role reference kind: {}", crate::quote::go_quote(other)),
    };
    format!("{resource}.rbac.authorization.k8s.io {} not found", crate::quote::go_quote(&role_ref.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(name: &str, groups: &[&str]) -> UserInfo {
        UserInfo::new(name, groups.iter().map(|g| g.to_string()).collect())
    }

    fn subject(kind: &str, name: &str, ns: &str) -> Subject {
        Subject { kind: kind.into(), name: name.into(), namespace: ns.into(), ..Default::default() }
    }

    #[test]
    fn parses_the_four_kinds() {
        let role = json!({"kind": "Role", "metadata": {"name": "r", "namespace": "ns"},
            "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]});
        let RbacObject::Role(r) = RbacObject::parse(&role).unwrap() else { panic!("not a role") };
        assert_eq!((r.kind, r.namespace.as_str(), r.rules.len()), (RoleKind::Role, "ns", 1));
        let cr = json!({"kind": "ClusterRole", "metadata": {"name": "c"}, "rules": null});
        let RbacObject::Role(c) = RbacObject::parse(&cr).unwrap() else { panic!("not a role") };
        assert_eq!((c.kind, c.rules.len()), (RoleKind::ClusterRole, 0));
        let crb = json!({"kind": "ClusterRoleBinding", "metadata": {"name": "b"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "c"},
            "subjects": [{"kind": "User", "name": "alice"}]});
        let RbacObject::Binding(b) = RbacObject::parse(&crb).unwrap() else { panic!("not a binding") };
        assert_eq!((b.kind, b.subjects.len()), (BindingKind::ClusterRoleBinding, 1));
    }

    #[test]
    fn rejects_malformed_objects() {
        assert_eq!(
            RbacObject::parse(&json!({"kind": "Pod", "metadata": {"name": "p"}})),
            Err(AuthzError::UnsupportedKind("Pod".into()))
        );
        assert_eq!(
            RbacObject::parse(&json!({"kind": "Role", "metadata": {"name": "p"}})),
            Err(AuthzError::MissingField("metadata.namespace"))
        );
        assert_eq!(
            RbacObject::parse(&json!({"kind": "RoleBinding", "metadata": {"name": "b", "namespace": "n"}})),
            Err(AuthzError::MissingField("roleRef"))
        );
        assert!(matches!(
            RbacObject::parse(&json!({"kind": "ClusterRole", "metadata": {"name": "c"}, "rules": 3})),
            Err(AuthzError::InvalidField { field: "rules", .. })
        ));
    }

    #[test]
    fn subjects_apply_like_kube() {
        let alice = user("alice", &["devs"]);
        assert!(applies_to_user(&alice, &subject("User", "alice", ""), ""));
        assert!(!applies_to_user(&alice, &subject("User", "bob", ""), ""));
        assert!(applies_to_user(&alice, &subject("Group", "devs", ""), ""));
        assert!(!applies_to_user(&alice, &subject("Group", "alice", ""), ""));
        assert!(!applies_to_user(&alice, &subject("Robot", "alice", ""), ""));
        let sa = user("system:serviceaccount:ns1:builder", &[]);
        assert!(applies_to_user(&sa, &subject("ServiceAccount", "builder", "ns1"), ""));
        assert!(applies_to_user(&sa, &subject("ServiceAccount", "builder", ""), "ns1"));
        assert!(!applies_to_user(&sa, &subject("ServiceAccount", "builder", ""), "ns2"));
        assert!(!applies_to_user(&sa, &subject("ServiceAccount", "builder", ""), ""));
        assert!(!applies_to_user(&sa, &subject("ServiceAccount", "build", "ns1"), ""));
    }

    #[test]
    fn describes_like_kube() {
        let b = BindingObject {
            kind: BindingKind::RoleBinding,
            namespace: "ns1".into(),
            name: "rb".into(),
            role_ref: RoleRef { kind: "Role".into(), name: "r".into(), ..Default::default() },
            subjects: vec![],
        };
        assert_eq!(
            allowed_reason(&b, &subject("ServiceAccount", "sa", "")),
            r#"RBAC: allowed by RoleBinding "rb/ns1" of Role "r" to ServiceAccount "sa/ns1""#
        );
        let crb = BindingObject { kind: BindingKind::ClusterRoleBinding, namespace: String::new(), ..b };
        assert_eq!(
            allowed_reason(&crb, &subject("User", "z", "")),
            r#"RBAC: allowed by ClusterRoleBinding "rb" of Role "r" to User "z""#
        );
        assert_eq!(
            missing_role_error(&RoleRef {
                kind: "ClusterRole".into(),
                name: "x".into(),
                ..Default::default()
            }),
            r#"clusterrole.rbac.authorization.k8s.io "x" not found"#
        );
        assert_eq!(
            missing_role_error(&RoleRef { kind: "Foo".into(), name: "x".into(), ..Default::default() }),
            r#"unsupported role reference kind: "Foo""#
        );
    }
}
