//! The RBAC questions kube has no command for, answered over a policy given as objects
//! (Roles, ClusterRoles and their bindings, as read through the API with the asker's own
//! credential): who may make a request ([`who_can`]) and why one user may or may not
//! ([`explain`]), judged by the same [`RbacAuthorizer`] the server runs. Behind
//! `kubeward who-can`, `kubeward explain` and the dashboard's "why" and "who can" panels.

use crate::{Authorizer, AuthzError, RbacAuthorizer};
use apimachinery::{Attributes, UserInfo};
use serde_json::Value;
use std::collections::HashMap;

/// What a request is about: a resource (with group) or a non-resource path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    pub group: String,
    pub resource: String,
    pub subresource: String,
    pub non_resource_path: Option<String>,
}

fn attrs(user: UserInfo, verb: &str, target: &Target, namespace: &str, name: &str) -> Attributes {
    match &target.non_resource_path {
        Some(path) => Attributes { user, verb: verb.into(), path: path.clone(), ..Default::default() },
        None => Attributes {
            user,
            verb: verb.into(),
            resource_request: true,
            namespace: namespace.into(),
            api_group: target.group.clone(),
            resource: target.resource.clone(),
            subresource: target.subresource.clone(),
            name: name.into(),
            ..Default::default()
        },
    }
}

/// One subject allowed to do the thing, and through what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub subject_kind: String,
    pub subject: String,
    pub binding: String,
    pub role: String,
}

/// Subjects (users, groups, service accounts) named by bindings that allow the request.
/// Each binding is judged alone with its own role, so every allowing binding is listed.
pub fn who_can(
    policy: &[Value],
    verb: &str,
    target: &Target,
    namespace: &str,
    name: &str,
) -> Result<Vec<Grant>, AuthzError> {
    let meta = |v: &Value, f: &str| {
        v.pointer(&format!("/metadata/{f}")).and_then(Value::as_str).unwrap_or_default().to_string()
    };
    let roles: HashMap<(String, String, String), &Value> = policy
        .iter()
        .filter_map(|r| {
            let kind = r.get("kind").and_then(Value::as_str)?;
            matches!(kind, "Role" | "ClusterRole")
                .then(|| ((kind.to_string(), meta(r, "namespace"), meta(r, "name")), r))
        })
        .collect();
    let mut grants: Vec<Grant> = Vec::new();
    for b in policy {
        let kind = b.get("kind").and_then(Value::as_str).unwrap_or_default();
        if kind != "RoleBinding" && kind != "ClusterRoleBinding" {
            continue;
        }
        let b_ns = meta(b, "namespace");
        if kind == "RoleBinding" && b_ns != namespace {
            continue;
        }
        let role_kind = b.pointer("/roleRef/kind").and_then(Value::as_str).unwrap_or_default().to_string();
        let role_name = b.pointer("/roleRef/name").and_then(Value::as_str).unwrap_or_default().to_string();
        let role_ns = if role_kind == "Role" { b_ns.clone() } else { String::new() };
        let Some(role) = roles.get(&(role_kind.clone(), role_ns, role_name.clone())) else { continue };
        let single = RbacAuthorizer::from_objects([*role, b])?;
        let b_name = meta(b, "name");
        for s in b.get("subjects").and_then(Value::as_array).into_iter().flatten() {
            let s_kind = s.get("kind").and_then(Value::as_str).unwrap_or_default();
            let s_name = s.get("name").and_then(Value::as_str).unwrap_or_default();
            let (user, shown) = match s_kind {
                "User" => (UserInfo::new(s_name, vec![]), s_name.to_string()),
                "Group" => (UserInfo::new("", vec![s_name.to_string()]), s_name.to_string()),
                "ServiceAccount" => {
                    let sa_ns = s.get("namespace").and_then(Value::as_str).unwrap_or(&b_ns);
                    (
                        UserInfo::new(format!("system:serviceaccount:{sa_ns}:{s_name}"), vec![]),
                        format!("{sa_ns}/{s_name}"),
                    )
                }
                _ => continue,
            };
            if single.authorize(&attrs(user, verb, target, namespace, name)).is_allowed() {
                let binding = if b_ns.is_empty() {
                    format!("{kind}/{b_name}")
                } else {
                    format!("{kind}/{b_ns}/{b_name}")
                };
                grants.push(Grant {
                    subject_kind: s_kind.to_string(),
                    subject: shown,
                    binding,
                    role: format!("{role_kind}/{role_name}"),
                });
            }
        }
    }
    Ok(grants)
}

/// The local explanation of one user's request: the binding, role and rule that allow
/// it, or why nothing does.
pub fn explain(
    policy: &[Value],
    user: UserInfo,
    verb: &str,
    target: &Target,
    namespace: &str,
    name: &str,
) -> Result<String, AuthzError> {
    let rbac = RbacAuthorizer::from_objects(policy.iter())?;
    let a = attrs(user, verb, target, namespace, name);
    let ex = rbac.explain(&a);
    if ex.allowed {
        let rule = ex.rule.as_ref().map(|r| serde_json::to_string(r).unwrap_or_default()).unwrap_or_default();
        let binding = if ex.binding_namespace.is_empty() {
            ex.binding_name.clone()
        } else {
            format!("{}/{}", ex.binding_namespace, ex.binding_name)
        };
        let kind = ex.binding_kind.map(|k| k.as_str()).unwrap_or_default();
        return Ok(format!(
            "allowed by {kind} {binding:?} -> {} {:?}, rule #{}: {rule}",
            ex.role_kind,
            ex.role_name,
            ex.rule_index.unwrap_or_default()
        ));
    }
    let decision = rbac.authorize(&a);
    let mut text = format!("denied: no RBAC binding allows it ({})", crate::forbidden::forbidden_message(&a));
    if !decision.reason().is_empty() {
        text.push_str(&format!("\n{}", decision.reason()));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn policy() -> Vec<Value> {
        vec![
            json!({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"reader","namespace":"dev"},
                "rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get","list"]}]}),
            json!({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"rb","namespace":"dev"},
                "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"reader"},
                "subjects":[{"kind":"User","name":"jane"},{"kind":"Group","name":"devs"},{"kind":"ServiceAccount","name":"ci"}]}),
            json!({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"all"},
                "rules":[{"apiGroups":["*"],"resources":["*"],"verbs":["*"]}]}),
            json!({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"root"},
                "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"all"},
                "subjects":[{"kind":"User","name":"root"}]}),
        ]
    }

    fn pods() -> Target {
        Target {
            group: String::new(),
            resource: "pods".into(),
            subresource: String::new(),
            non_resource_path: None,
        }
    }

    #[test]
    fn who_can_lists_every_allowing_subject() {
        let g = who_can(&policy(), "list", &pods(), "dev", "").unwrap();
        let names: Vec<&str> = g.iter().map(|g| g.subject.as_str()).collect();
        assert_eq!(names, vec!["jane", "devs", "dev/ci", "root"]);
        let g = who_can(&policy(), "delete", &pods(), "dev", "").unwrap();
        assert_eq!(g.iter().map(|g| g.subject.as_str()).collect::<Vec<_>>(), vec!["root"]);
        let g = who_can(&policy(), "list", &pods(), "prod", "").unwrap();
        assert_eq!(g.len(), 1, "the RoleBinding in dev grants nothing in prod");
    }

    #[test]
    fn explain_names_binding_role_and_rule() {
        let text = explain(&policy(), UserInfo::new("jane", vec![]), "get", &pods(), "dev", "x").unwrap();
        assert!(text.contains("RoleBinding \"dev/rb\" -> Role \"reader\", rule #0"), "{text}");
        let text = explain(&policy(), UserInfo::new("jane", vec![]), "delete", &pods(), "dev", "x").unwrap();
        assert!(
            text.starts_with(
                "denied: no RBAC binding allows it (User \"jane\" cannot delete resource \"pods\""
            ),
            "{text}"
        );
    }
}
