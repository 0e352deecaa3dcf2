//! OwnerReferencesPermissionEnforcement (plugin/pkg/admission/gc/gc_admission.go), on create
//! and update of every resource (but `pods/status`, whose strategy keeps owner references):
//! changing `metadata.ownerReferences` of an existing object needs the right to delete it,
//! and making a reference block its owner's deletion (`blockOwnerDeletion: true`, newly
//! added or newly set) needs `update` on the owner's `finalizers` subresource, so that no one
//! can hold back the deletion of an object they could not otherwise touch.

use crate::types::{array_at, AdmissionContext, AdmissionRequest, Operation, ValidatingPlugin};
use apimachinery::{Attributes, StatusError};
use async_trait::async_trait;
use serde_json::Value;

pub const NAME: &str = "OwnerReferencesPermissionEnforcement";

#[derive(Debug, Default)]
pub struct OwnerReferencesPermissionEnforcement;

fn owner_refs(obj: Option<&Value>) -> &[Value] {
    obj.map(|o| array_at(o, &["metadata", "ownerReferences"])).unwrap_or(&[])
}

/// `isChangingOwnerReference`: a create with references, or an update that changes them.
fn changing(req: &AdmissionRequest) -> bool {
    let new = owner_refs(req.object.as_ref());
    match &req.old_object {
        None => !new.is_empty(),
        Some(old) => owner_refs(Some(old)) != new,
    }
}

fn blocking(r: &Value) -> bool {
    r.get("blockOwnerDeletion").and_then(Value::as_bool) == Some(true)
}

/// `newBlockingOwnerDeletionRefs`: blocking references that are new (by uid) or were not
/// blocking before.
fn new_blocking_refs(req: &AdmissionRequest) -> Vec<&Value> {
    let old = owner_refs(req.old_object.as_ref());
    owner_refs(req.object.as_ref())
        .iter()
        .filter(|r| blocking(r))
        .filter(|r| {
            let uid = r.get("uid");
            !old.iter().any(|o| o.get("uid") == uid && blocking(o))
        })
        .collect()
}

/// `schema.ParseGroupVersion`.
fn group_version(api_version: &str) -> Result<(&str, &str), String> {
    match api_version.split('/').collect::<Vec<_>>().as_slice() {
        [""] => Ok(("", "")),
        [v] => Ok(("", v)),
        [g, v] => Ok((g, v)),
        _ => Err(format!("unexpected GroupVersion string: {api_version}")),
    }
}

impl OwnerReferencesPermissionEnforcement {
    fn attrs(req: &AdmissionRequest, verb: &str) -> Attributes {
        Attributes {
            user: req.user.clone(),
            verb: verb.into(),
            resource_request: true,
            namespace: req.namespace.clone(),
            ..Default::default()
        }
    }
}

#[async_trait]
impl ValidatingPlugin for OwnerReferencesPermissionEnforcement {
    fn name(&self) -> &'static str {
        NAME
    }
    fn handles(&self, op: Operation) -> bool {
        matches!(op, Operation::Create | Operation::Update)
    }
    async fn validate(&self, req: &AdmissionRequest, ctx: &dyn AdmissionContext) -> Result<(), StatusError> {
        if req.group.is_empty() && req.resource == "pods" && req.subresource == "status" {
            return Ok(());
        }
        if !changing(req) {
            return Ok(());
        }
        // Whoever may create an object could have left it out: only a change needs delete.
        if req.operation != Operation::Create {
            let delete = Attributes {
                api_group: req.group.clone(),
                api_version: req.version.clone(),
                resource: req.resource.clone(),
                subresource: req.subresource.clone(),
                name: req.name.clone(),
                ..Self::attrs(req, "delete")
            };
            if !ctx.authorize(&delete).await {
                // The RBAC authorizer gives no reason for a refusal, and no error.
                return Err(req.forbidden("cannot set an ownerRef on a resource you can't delete: , <nil>"));
            }
        }
        let refs = new_blocking_refs(req);
        if refs.is_empty() {
            return Ok(());
        }
        let finalize_anything = Attributes {
            api_group: "*".into(),
            resource: "*".into(),
            subresource: "finalizers".into(),
            namespace: String::new(),
            ..Self::attrs(req, "update")
        };
        if ctx.authorize(&finalize_anything).await {
            return Ok(());
        }
        for r in refs {
            let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("");
            let (api_version, kind) = (s("apiVersion"), s("kind"));
            let no_mapping = |why: String| {
                req.forbidden(format!(
                    "cannot set blockOwnerDeletion in this case because cannot find RESTMapping for APIVersion {api_version} Kind {kind}: {why}"
                ))
            };
            let (group, version) = group_version(api_version).map_err(no_mapping)?;
            let resources = ctx.resources_for_kind(group, version, kind);
            if resources.is_empty() {
                return Err(no_mapping(format!(
                    "no matches for kind {} in version {}",
                    apimachinery::quote::go_quote(kind),
                    apimachinery::quote::go_quote(api_version)
                )));
            }
            for resource in resources {
                let finalize = Attributes {
                    api_group: group.into(),
                    api_version: version.into(),
                    resource,
                    subresource: "finalizers".into(),
                    name: s("name").into(),
                    ..Self::attrs(req, "update")
                };
                if !ctx.authorize(&finalize).await {
                    return Err(req.forbidden(
                        "cannot set blockOwnerDeletion if an ownerReference refers to a resource you can't set finalizers on: , <nil>",
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryContext;
    use apimachinery::UserInfo;
    use serde_json::json;

    fn cm(refs: Value) -> Value {
        json!({"metadata": {"name": "c", "namespace": "ns", "ownerReferences": refs}})
    }

    fn req(op: Operation, new: Value, old: Option<Value>) -> AdmissionRequest {
        let r = AdmissionRequest::new(
            op,
            ("", "v1", "ConfigMap"),
            "configmaps",
            "ns",
            "c",
            UserInfo::new("u", vec![]),
        )
        .with_object(new);
        match old {
            Some(o) => r.with_old_object(o),
            None => r,
        }
    }

    const OWNER: &str = r#"{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "1"}"#;

    fn owner(block: bool) -> Value {
        let mut o: Value = serde_json::from_str(OWNER).unwrap();
        if block {
            o["blockOwnerDeletion"] = json!(true);
        }
        o
    }

    #[tokio::test]
    async fn changing_owner_references_needs_delete_and_blocking_needs_finalizers() {
        let p = OwnerReferencesPermissionEnforcement;
        let ctx = MemoryContext::new();
        ctx.serve_kind("apps", "v1", "Deployment", "deployments");
        // A create may set plain references; an update that changes them needs delete.
        p.validate(&req(Operation::Create, cm(json!([owner(false)])), None), &ctx).await.unwrap();
        let update = req(Operation::Update, cm(json!([owner(false)])), Some(cm(json!([]))));
        let e = p.validate(&update, &ctx).await.unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (403, "configmaps \"c\" is forbidden: cannot set an ownerRef on a resource you can't delete: , <nil>")
        );
        ctx.allow("u", "delete", "", "configmaps", "c");
        p.validate(&update, &ctx).await.unwrap();
        // An unchanged update needs nothing.
        let same = req(Operation::Update, cm(json!([owner(true)])), Some(cm(json!([owner(true)]))));
        MemoryContext::new();
        p.validate(&same, &MemoryContext::new()).await.unwrap();

        // Blocking the owner's deletion needs update on deployments/finalizers of the owner.
        let block = req(Operation::Create, cm(json!([owner(true)])), None);
        let e = p.validate(&block, &ctx).await.unwrap_err();
        assert_eq!(e.message, "configmaps \"c\" is forbidden: cannot set blockOwnerDeletion if an ownerReference refers to a resource you can't set finalizers on: , <nil>");
        ctx.allow("u", "update", "apps", "deployments/finalizers", "web");
        p.validate(&block, &ctx).await.unwrap();

        // An owner kind nobody serves.
        let mut odd = owner(true);
        odd["kind"] = json!("Nope");
        let e = p.validate(&req(Operation::Create, cm(json!([odd])), None), &ctx).await.unwrap_err();
        assert!(e.message.ends_with("cannot find RESTMapping for APIVersion apps/v1 Kind Nope: no matches for kind \"Nope\" in version \"apps/v1\""), "{}", e.message);
    }
}
