//! Roles and bindings (rbac.authorization.k8s.io): escalation prevention on every write,
//! dry runs included, as kube's RBAC REST storage does: a role may only grant what its author holds (unless the author may
//! `escalate`), a binding may only bind a role whose rules its author holds (unless the
//! author may `bind` that role).

use crate::context::Ctx;
use apimachinery::{Attributes, StatusError};
use authz::{PolicyRule, RuleResolver};
use registry::ResourceType;
use serde_json::Value;

pub(super) const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// The hooks of Role, ClusterRole, RoleBinding and ClusterRoleBinding.
pub struct Rbac;

#[async_trait::async_trait]
impl super::KindHooks for Rbac {
    async fn check_write(&self, ctx: &Ctx, rt: &ResourceType, obj: &Value) -> Result<(), StatusError> {
        check(ctx, rt, obj).await
    }
}

async fn may(ctx: &Ctx, verb: &str, resource: &str, namespace: &str, name: &str) -> bool {
    let attrs = Attributes {
        user: ctx.user().clone(),
        verb: verb.into(),
        resource_request: true,
        namespace: namespace.into(),
        api_group: RBAC_GROUP.into(),
        resource: resource.into(),
        name: name.into(),
        ..Default::default()
    };
    ctx.state.authorizer.authorize_async(&attrs).await.decision.is_allowed()
}

fn rules_in(v: &Value) -> Vec<PolicyRule> {
    v.get("rules").cloned().and_then(|r| serde_json::from_value(r).ok()).unwrap_or_default()
}

/// Fails with kube's Forbidden message when the write would grant what its author lacks.
async fn check(ctx: &Ctx, rt: &ResourceType, obj: &Value) -> Result<(), StatusError> {
    let Some(rbac) = ctx.state.rbac.as_ref() else { return Ok(()) };
    let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    let ns = if rt.namespaced { ctx.info.namespace.as_str() } else { "" };
    let requested = match rt.kind {
        "Role" | "ClusterRole" => {
            if may(ctx, "escalate", rt.plural, ns, name).await {
                return Ok(());
            }
            rules_in(obj)
        }
        _ => {
            let role_kind = obj.pointer("/roleRef/kind").and_then(Value::as_str).unwrap_or_default();
            let role_name = obj.pointer("/roleRef/name").and_then(Value::as_str).unwrap_or_default();
            let (role_resource, role_ns) =
                if role_kind == "Role" { ("roles", ns) } else { ("clusterroles", "") };
            if may(ctx, "bind", role_resource, role_ns, role_name).await {
                return Ok(());
            }
            let catalog = ctx.state.catalog;
            let Some(role_rt) = catalog.lookup(RBAC_GROUP, "v1", role_resource) else { return Ok(()) };
            match ctx.state.objects.get(role_rt, role_ns, role_name).await {
                Ok(role) => rules_in(&role),
                Err(e) if e.is_not_found() => {
                    let msg = authz::escalation::missing_role_message(ctx.user(), role_resource, role_name);
                    return Err(StatusError::forbidden(&rt.group_resource(), name, &msg));
                }
                Err(e) => return Err(e),
            }
        }
    };
    let held = rbac.rules_for(ctx.user(), ns);
    let mut owner: Vec<PolicyRule> = held
        .resource_rules
        .iter()
        .map(|r| PolicyRule {
            verbs: r.verbs.clone(),
            api_groups: r.api_groups.clone(),
            resources: r.resources.clone(),
            resource_names: r.resource_names.clone(),
            non_resource_urls: Vec::new(),
        })
        .collect();
    owner.extend(held.non_resource_rules.iter().map(|r| PolicyRule {
        verbs: r.verbs.clone(),
        non_resource_urls: r.non_resource_urls.clone(),
        ..Default::default()
    }));
    match authz::escalation::confirm_no_escalation(ctx.user(), &owner, &requested, &held.evaluation_errors) {
        None => Ok(()),
        Some(msg) => Err(StatusError::forbidden(&rt.group_resource(), name, &msg)),
    }
}
