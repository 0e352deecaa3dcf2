//! `kubeward who-can` and `kubeward explain`: answers kube lacks. Both fetch the RBAC
//! policy through the API with the caller's own kubeconfig (so they show only what the
//! caller may read) and evaluate it with the same authorizer the server runs.

use crate::cli::CliError;
use apimachinery::{Attributes, UserInfo};
use authz::{Authorizer, RbacAuthorizer};
use kube::api::{Api, DynamicObject, ListParams};
use kube::discovery::{ApiResource, Discovery};
use kube::Client;
use serde_json::Value;
use std::collections::HashMap;

fn err(e: impl std::fmt::Display) -> CliError {
    CliError(e.to_string())
}

pub async fn client(kubeconfig: Option<&str>) -> Result<Client, CliError> {
    let config = match kubeconfig {
        Some(path) => {
            let kc = kube::config::Kubeconfig::read_from(path).map_err(err)?;
            kube::Config::from_custom_kubeconfig(kc, &Default::default()).await.map_err(err)?
        }
        None => kube::Config::infer().await.map_err(err)?,
    };
    Client::try_from(config).map_err(err)
}

/// What a request is about: a resource (with group) or a non-resource path.
pub struct Target {
    pub group: String,
    pub resource: String,
    pub subresource: String,
    pub non_resource_path: Option<String>,
}

/// Resolves `pods`, `pod`, `deployments.apps`, `pods/log` or `/healthz` as kubectl does.
pub async fn resolve(client: &Client, spec: &str) -> Result<Target, CliError> {
    if spec.starts_with('/') {
        return Ok(Target {
            group: String::new(),
            resource: String::new(),
            subresource: String::new(),
            non_resource_path: Some(spec.to_string()),
        });
    }
    let (res, sub) = spec.split_once('/').unwrap_or((spec, ""));
    let (name, group) = res.split_once('.').map(|(n, g)| (n, Some(g))).unwrap_or((res, None));
    let name = name.to_ascii_lowercase();
    let discovery = Discovery::new(client.clone()).run().await.map_err(err)?;
    for g in discovery.groups() {
        if group.is_some_and(|want| want != g.name()) {
            continue;
        }
        for (ar, _) in g.recommended_resources() {
            if ar.plural == name || ar.kind.to_ascii_lowercase() == name {
                return Ok(Target {
                    group: ar.group.clone(),
                    resource: ar.plural.clone(),
                    subresource: sub.to_string(),
                    non_resource_path: None,
                });
            }
        }
    }
    Err(CliError(format!("the server doesn't have a resource type `{spec}`")))
}

fn rbac_resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: "rbac.authorization.k8s.io".into(),
        version: "v1".into(),
        api_version: "rbac.authorization.k8s.io/v1".into(),
        kind: kind.into(),
        plural: plural.into(),
    }
}

/// Every Role/ClusterRole/RoleBinding/ClusterRoleBinding the caller can list
/// (namespaced kinds in `namespace`, or all namespaces when empty).
pub async fn fetch_policy(client: &Client, namespace: &str) -> Result<Vec<Value>, CliError> {
    let mut out = Vec::new();
    for (kind, plural, namespaced) in [
        ("ClusterRole", "clusterroles", false),
        ("ClusterRoleBinding", "clusterrolebindings", false),
        ("Role", "roles", true),
        ("RoleBinding", "rolebindings", true),
    ] {
        let ar = rbac_resource(kind, plural);
        let api: Api<DynamicObject> = if namespaced && !namespace.is_empty() {
            Api::namespaced_with(client.clone(), namespace, &ar)
        } else {
            Api::all_with(client.clone(), &ar)
        };
        let list =
            api.list(&ListParams::default()).await.map_err(|e| CliError(format!("listing {plural}: {e}")))?;
        for item in list.items {
            let mut v = serde_json::to_value(&item).map_err(err)?;
            v["apiVersion"] = Value::from("rbac.authorization.k8s.io/v1");
            v["kind"] = Value::from(kind);
            out.push(v);
        }
    }
    Ok(out)
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
) -> Result<Vec<Grant>, CliError> {
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
        let single = RbacAuthorizer::from_objects([*role, b]).map_err(err)?;
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
) -> Result<String, CliError> {
    let rbac = RbacAuthorizer::from_objects(policy.iter()).map_err(err)?;
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
    let mut text = format!("denied: no RBAC binding allows it ({})", authz::forbidden::forbidden_message(&a));
    if !decision.reason().is_empty() {
        text.push_str(&format!("\n{}", decision.reason()));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
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
