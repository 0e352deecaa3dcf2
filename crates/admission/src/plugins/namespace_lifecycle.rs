//! NamespaceLifecycle (plugin/pkg/admission/namespace/lifecycle): no writes into a namespace
//! that does not exist, no new content in a terminating namespace, and the system namespaces
//! (`default`, `kube-system`, `kube-public`) may not be deleted.

use crate::types::{str_at, AdmissionContext, AdmissionRequest, Operation, ValidatingPlugin};
use apimachinery::status::{CauseType, StatusCause};
use apimachinery::{GroupResource, StatusError};
use async_trait::async_trait;

pub const NAME: &str = "NamespaceLifecycle";

/// Namespaces that can never be deleted.
pub const IMMORTAL_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public"];

#[derive(Debug, Default)]
pub struct NamespaceLifecycle;

#[async_trait]
impl ValidatingPlugin for NamespaceLifecycle {
    fn name(&self) -> &'static str {
        NAME
    }

    fn handles(&self, op: Operation) -> bool {
        matches!(op, Operation::Create | Operation::Update | Operation::Delete)
    }

    async fn validate(&self, req: &AdmissionRequest, ctx: &dyn AdmissionContext) -> Result<(), StatusError> {
        if req.is("", "namespaces") {
            if req.operation == Operation::Delete && IMMORTAL_NAMESPACES.contains(&req.name.as_str()) {
                return Err(req.forbidden("this namespace may not be deleted"));
            }
            return Ok(());
        }
        // cluster-scoped objects, deletions, and namespaced access reviews are always allowed
        if req.namespace.is_empty()
            || req.operation == Operation::Delete
            || (req.group == "authorization.k8s.io" && req.resource == "localsubjectaccessreviews")
        {
            return Ok(());
        }
        let Some(ns) = ctx.get("", "namespaces", "", &req.namespace).await? else {
            return Err(StatusError::not_found(&GroupResource::new("", "namespaces"), &req.namespace));
        };
        if req.operation == Operation::Create && str_at(&ns, &["status", "phase"]) == Some("Terminating") {
            let cause = StatusCause {
                reason: CauseType::NamespaceTerminating,
                message: format!("namespace {} is being terminated", req.namespace),
                field: "metadata.namespace".into(),
            };
            return Err(req.forbidden_with_cause(
                &format!(
                    "unable to create new content in namespace {} because it is being terminated",
                    req.namespace
                ),
                cause,
            ));
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

    fn create_cm(ns: &str) -> AdmissionRequest {
        AdmissionRequest::new(
            Operation::Create,
            ("", "v1", "ConfigMap"),
            "configmaps",
            ns,
            "",
            UserInfo::default(),
        )
        .with_object(json!({"metadata": {"name": "cfg", "namespace": ns}}))
    }

    #[tokio::test]
    async fn missing_namespace_is_not_found() {
        let ctx = MemoryContext::new();
        let e = NamespaceLifecycle.validate(&create_cm("nope"), &ctx).await.unwrap_err();
        assert_eq!(e.code, 404);
        assert_eq!(e.message, "namespaces \"nope\" not found");
    }

    #[tokio::test]
    async fn terminating_namespace_rejects_creates_only() {
        let ctx = MemoryContext::new();
        ctx.put_namespace("dying", json!({}), "Terminating");
        let e = NamespaceLifecycle.validate(&create_cm("dying"), &ctx).await.unwrap_err();
        assert_eq!(e.code, 403);
        assert_eq!(
            e.message,
            "configmaps \"cfg\" is forbidden: unable to create new content in namespace dying because it is being terminated"
        );
        let v = e.to_value();
        assert_eq!(v["details"]["causes"][0]["reason"], "NamespaceTerminating");
        assert_eq!(v["details"]["causes"][0]["field"], "metadata.namespace");
        let mut upd = create_cm("dying");
        upd.operation = Operation::Update;
        upd.name = "cfg".into();
        NamespaceLifecycle.validate(&upd, &ctx).await.unwrap();
        ctx.put_namespace("live", json!({}), "Active");
        NamespaceLifecycle.validate(&create_cm("live"), &ctx).await.unwrap();
    }

    #[tokio::test]
    async fn system_namespaces_cannot_be_deleted() {
        let ctx = MemoryContext::new();
        for ns in IMMORTAL_NAMESPACES {
            let req = AdmissionRequest::new(
                Operation::Delete,
                ("", "v1", "Namespace"),
                "namespaces",
                "",
                ns,
                UserInfo::default(),
            );
            let e = NamespaceLifecycle.validate(&req, &ctx).await.unwrap_err();
            assert_eq!(
                e.message,
                format!("namespaces \"{ns}\" is forbidden: this namespace may not be deleted")
            );
        }
        let req = AdmissionRequest::new(
            Operation::Delete,
            ("", "v1", "Namespace"),
            "namespaces",
            "",
            "team",
            UserInfo::default(),
        );
        NamespaceLifecycle.validate(&req, &ctx).await.unwrap();
    }
}
