//! ValidatingAdmissionPolicy and its binding: a policy with a `paramKind` may only be
//! written by a user who may `get` every object of that kind, a binding with a `paramRef`
//! by one who may `get` the object it names (kube's `authz.go` of both registries), so
//! neither can be used to read objects its author cannot. Members of `system:masters` skip
//! the checks (kube's `EscalationAllowed`).

use crate::context::Ctx;
use apimachinery::field::forbidden;
use apimachinery::{Attributes, StatusError, UserInfo};
use registry::ResourceType;
use serde_json::Value;

pub struct ValidatingAdmissionPolicy;

pub struct ValidatingAdmissionPolicyBinding;

/// Group, version and resource of a paramKind: `*` where it does not resolve.
fn param_resource(ctx: &Ctx, param_kind: Option<&Value>) -> (String, String, String) {
    let (mut group, mut version, mut resource) = ("*".to_string(), "*".to_string(), "*".to_string());
    let Some(pk) = param_kind else { return (group, version, resource) };
    let api_version = pk.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    let kind = pk.get("kind").and_then(Value::as_str).unwrap_or_default();
    let parsed = match api_version.matches('/').count() {
        0 => Some(("", api_version)),
        1 => api_version.split_once('/'),
        _ => None,
    };
    if let Some((g, v)) = parsed {
        group = g.to_string();
        version = v.to_string();
        if let Some(r) =
            ctx.state.catalog.all().into_iter().find(|r| r.group == g && r.version == v && r.kind == kind)
        {
            resource = r.plural.to_string();
        }
    }
    (group, version, resource)
}

#[async_trait::async_trait]
impl super::KindHooks for ValidatingAdmissionPolicyBinding {
    async fn check_write(&self, ctx: &Ctx, rt: &ResourceType, obj: &Value) -> Result<(), StatusError> {
        let Some(param_ref) = obj.pointer("/spec/paramRef").filter(|p| !p.is_null()) else {
            return Ok(());
        };
        let user = ctx.user();
        if user.groups.iter().any(|g| g == "system:masters") {
            return Ok(());
        }
        let policy_name = obj.pointer("/spec/policyName").and_then(Value::as_str).unwrap_or_default();
        let policies = ctx.state.catalog.lookup(rt.group, rt.version, "validatingadmissionpolicies");
        let policy = match policies {
            Some(p) => ctx.state.objects.find(p, "", policy_name).await.ok().flatten(),
            None => None,
        };
        let param_kind = policy.as_ref().and_then(|p| p.pointer("/spec/paramKind")).filter(|p| !p.is_null());
        let (api_group, api_version, resource) = param_resource(ctx, param_kind);
        let attrs = Attributes {
            user: user.clone(),
            verb: "get".into(),
            resource_request: true,
            namespace: param_ref.get("namespace").and_then(Value::as_str).unwrap_or_default().into(),
            name: param_ref.get("name").and_then(Value::as_str).unwrap_or_default().into(),
            api_group,
            api_version,
            resource,
            ..Default::default()
        };
        if ctx.state.authorizer.authorize_async(&attrs).await.decision.is_allowed() {
            return Ok(());
        }
        let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
        let detail = format!(
            "user {} does not have \"get\" permission on the object referenced by paramRef",
            go_user(user)
        );
        Err(StatusError::invalid(&rt.group_kind(), name, vec![forbidden("spec.paramRef", &detail)]))
    }
}

#[async_trait::async_trait]
impl super::KindHooks for ValidatingAdmissionPolicy {
    async fn check_write(&self, ctx: &Ctx, rt: &ResourceType, obj: &Value) -> Result<(), StatusError> {
        let Some(param_kind) = obj.pointer("/spec/paramKind").filter(|p| !p.is_null()) else {
            return Ok(());
        };
        let user = ctx.user();
        if user.groups.iter().any(|g| g == "system:masters") {
            return Ok(());
        }
        let api_version = param_kind.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
        let kind = param_kind.get("kind").and_then(Value::as_str).unwrap_or_default();
        // Every group, version and resource unless the kind resolves.
        let (group, version, resource) = param_resource(ctx, Some(param_kind));
        let attrs = Attributes {
            user: user.clone(),
            verb: "get".into(),
            resource_request: true,
            namespace: "*".into(),
            name: "*".into(),
            api_group: group,
            api_version: version,
            resource,
            ..Default::default()
        };
        if ctx.state.authorizer.authorize_async(&attrs).await.decision.is_allowed() {
            return Ok(());
        }
        let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
        let detail = format!(
            "user {} must have \"get\" permission on all objects of the referenced paramKind (kind={kind}, apiVersion={api_version})",
            go_user(user)
        );
        Err(StatusError::invalid(&rt.group_kind(), name, vec![forbidden("spec.paramKind", &detail)]))
    }
}

/// Go's `%v` of a `*user.DefaultInfo`: `&{name uid [groups] map[key:[values]]}`.
fn go_user(u: &UserInfo) -> String {
    let extra: Vec<String> = u.extra.iter().map(|(k, v)| format!("{k}:[{}]", v.join(" "))).collect();
    format!("&{{{} {} [{}] map[{}]}}", u.name, u.uid, u.groups.join(" "), extra.join(" "))
}
