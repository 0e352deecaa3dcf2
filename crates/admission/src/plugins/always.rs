//! The trivial plugins: AlwaysAdmit, AlwaysDeny (both deprecated in kube) and NamespaceExists.

use crate::types::{AdmissionContext, AdmissionRequest, Operation, ValidatingPlugin};
use apimachinery::{GroupResource, StatusError};
use async_trait::async_trait;

/// Admits everything.
#[derive(Debug, Default)]
pub struct AlwaysAdmit;

/// Rejects every write.
#[derive(Debug, Default)]
pub struct AlwaysDeny;

/// Rejects writes into a namespace that does not exist (without the lifecycle rules).
#[derive(Debug, Default)]
pub struct NamespaceExists;

#[async_trait]
impl ValidatingPlugin for AlwaysAdmit {
    fn name(&self) -> &'static str {
        "AlwaysAdmit"
    }
    fn handles(&self, _op: Operation) -> bool {
        true
    }
    async fn validate(
        &self,
        _req: &AdmissionRequest,
        _ctx: &dyn AdmissionContext,
    ) -> Result<(), StatusError> {
        Ok(())
    }
}

#[async_trait]
impl ValidatingPlugin for AlwaysDeny {
    fn name(&self) -> &'static str {
        "AlwaysDeny"
    }
    fn handles(&self, _op: Operation) -> bool {
        true
    }
    async fn validate(&self, req: &AdmissionRequest, _ctx: &dyn AdmissionContext) -> Result<(), StatusError> {
        Err(req.forbidden("admission control is denying all modifications"))
    }
}

#[async_trait]
impl ValidatingPlugin for NamespaceExists {
    fn name(&self) -> &'static str {
        "NamespaceExists"
    }
    fn handles(&self, op: Operation) -> bool {
        matches!(op, Operation::Create | Operation::Update | Operation::Delete)
    }
    async fn validate(&self, req: &AdmissionRequest, ctx: &dyn AdmissionContext) -> Result<(), StatusError> {
        if req.namespace.is_empty() || req.is("", "namespaces") {
            return Ok(());
        }
        match ctx.get("", "namespaces", "", &req.namespace).await? {
            Some(_) => Ok(()),
            None => Err(StatusError::not_found(&GroupResource::new("", "namespaces"), &req.namespace)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryContext;
    use apimachinery::UserInfo;
    use serde_json::json;

    #[tokio::test]
    async fn deny_and_exists() {
        let ctx = MemoryContext::new();
        let req = AdmissionRequest::new(
            Operation::Update,
            ("", "v1", "Secret"),
            "secrets",
            "gone",
            "s",
            UserInfo::default(),
        );
        assert_eq!(
            AlwaysDeny.validate(&req, &ctx).await.unwrap_err().message,
            "secrets \"s\" is forbidden: admission control is denying all modifications"
        );
        AlwaysAdmit.validate(&req, &ctx).await.unwrap();
        assert_eq!(NamespaceExists.validate(&req, &ctx).await.unwrap_err().code, 404);
        ctx.put_namespace("gone", json!({}), "Active");
        NamespaceExists.validate(&req, &ctx).await.unwrap();
    }
}
