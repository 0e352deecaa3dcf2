//! The params a binding evaluates its policy with (kube's `generic.CollectParams`):
//! none without a `paramKind` or a `paramRef`, else the object named by the paramRef or
//! every object its selector selects, in the paramRef's namespace or the request's; with
//! `parameterNotFoundAction: Deny` finding none is an error.

use super::spec::{ParamKind, ParamRef};
use crate::types::{AdmissionContext, AdmissionRequest, KindResource};
use serde_json::Value;

/// The params to evaluate with: `[None]` when the policy takes none; an empty list when
/// none were found and the binding allows that. The error is kube's text.
pub async fn collect(
    param_kind: Option<&ParamKind>,
    param_resource: Option<&KindResource>,
    param_ref: Option<&ParamRef>,
    req: &AdmissionRequest,
    ctx: &dyn AdmissionContext,
) -> Result<Vec<Option<Value>>, String> {
    let (Some(kind), Some(param_ref)) = (param_kind, param_ref) else {
        return Ok(vec![None]);
    };
    let Some(resource) = param_resource else {
        return Err(format!("paramKind kind `{}` not known", kind.go_string()));
    };
    let namespace = if resource.namespaced {
        if !param_ref.namespace.is_empty() {
            param_ref.namespace.as_str()
        } else if !req.namespace.is_empty() {
            req.namespace.as_str()
        } else {
            return Err(
                "cannot use namespaced paramRef in policy binding that matches cluster-scoped resources"
                    .into(),
            );
        }
    } else {
        if !param_ref.namespace.is_empty() {
            return Err("paramRef.namespace must not be provided for a cluster-scoped `paramKind`".into());
        }
        ""
    };
    let found: Vec<Value> = if !param_ref.name.is_empty() {
        if param_ref.selector.is_some() {
            return Err("paramRef.name and paramRef.selector are mutually exclusive".into());
        }
        ctx.get(&resource.group, &resource.resource, namespace, &param_ref.name)
            .await
            .map_err(|e| e.message)?
            .into_iter()
            .collect()
    } else if let Some(selector) = &param_ref.selector {
        let selector = selector.clone()?;
        let mut all =
            ctx.list(&resource.group, &resource.resource, namespace).await.map_err(|e| e.message)?;
        all.retain(|o| selector.matches_json(o.pointer("/metadata/labels")));
        all
    } else {
        return Err("one of name or selector must be provided".into());
    };
    if found.is_empty() && param_ref.deny_if_missing {
        return Err("no params found for policy binding with `Deny` parameterNotFoundAction".into());
    }
    Ok(found
        .into_iter()
        .map(|mut p| {
            // Params carry their type, as kube's wrapped params do.
            if let Some(o) = p.as_object_mut() {
                o.entry("apiVersion").or_insert_with(|| Value::String(kind.api_version.clone()));
                o.entry("kind").or_insert_with(|| Value::String(kind.kind.clone()));
            }
            Some(p)
        })
        .collect())
}
