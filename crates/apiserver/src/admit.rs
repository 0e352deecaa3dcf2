//! Admission inside the REST handlers, as kube runs it: mutating plugins on the decoded,
//! defaulted object, then validation, then validating plugins, then storage. The plugins
//! read the cluster through [`StoreContext`].

use crate::context::Ctx;
use crate::objects::Objects;
use admission::{AdmissionContext, AdmissionRequest, Operation};
use apimachinery::StatusError;
use registry::{Catalog, ResourceType};
use serde_json::Value;

/// Plugin lookups served from the stored objects, and the server's authorizer chain.
pub struct StoreContext {
    pub objects: Objects,
    pub catalog: &'static Catalog,
    pub authorizer: authz::AuthorizerChain,
}

impl StoreContext {
    fn rt(&self, group: &str, resource: &str) -> Result<&'static ResourceType, StatusError> {
        self.catalog
            .all()
            .into_iter()
            .find(|r| r.group == group && r.plural == resource && r.stored)
            .ok_or_else(|| {
                StatusError::internal(&format!("admission asked for unknown resource {resource}.{group}"))
            })
    }
}

#[async_trait::async_trait]
impl AdmissionContext for StoreContext {
    async fn get(
        &self,
        group: &str,
        resource: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Value>, StatusError> {
        // As kube's plugins read their informers' listers, and look an object up in storage
        // when the lister does not have it (NamespaceLifecycle's live lookup): a namespace
        // created moments before is found, even on another server.
        let rt = self.rt(group, resource)?;
        match self.objects.find_cached(rt, namespace, name).await? {
            Some(found) => Ok(Some(found)),
            None => self.objects.find(rt, namespace, name).await,
        }
    }

    async fn list(&self, group: &str, resource: &str, namespace: &str) -> Result<Vec<Value>, StatusError> {
        // kube's plugins list their informers' listers: what the store holds now.
        self.objects.list_all_cached(self.rt(group, resource)?, namespace).await
    }

    async fn update_status(
        &self,
        group: &str,
        resource: &str,
        namespace: &str,
        object: Value,
    ) -> Result<Value, StatusError> {
        let rt = self.rt(group, resource)?;
        let name = object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string();
        let expected = object
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .and_then(|r| r.parse::<u64>().ok());
        let current = self.objects.get_raw(rt, namespace, &name).await?;
        if expected.is_some_and(|e| e != current.mod_revision) {
            return Err(StatusError::stale_update(&rt.group_resource(), &name));
        }
        let mut stored = crate::objects::decode_kv(&current)
            .ok_or_else(|| StatusError::internal("stored object is not valid JSON"))?;
        stored["status"] = object.get("status").cloned().unwrap_or(Value::Null);
        self.objects.update(rt, namespace, &name, &stored, Some(current.mod_revision)).await
    }

    async fn authorize(&self, attrs: &apimachinery::Attributes) -> bool {
        self.authorizer.authorize_async(attrs).await.decision.is_allowed()
    }

    fn resources_for_kind(&self, group: &str, version: &str, kind: &str) -> Vec<String> {
        self.catalog
            .all()
            .into_iter()
            .filter(|r| r.group == group && r.version == version && r.kind == kind)
            .map(|r| r.plural.to_string())
            .collect()
    }
}

/// Builds the admission request for a write of `rt` by the request's user.
pub fn request(
    ctx: &Ctx,
    rt: &ResourceType,
    op: Operation,
    obj: Option<Value>,
    old: Option<Value>,
) -> AdmissionRequest {
    let name = obj
        .as_ref()
        .or(old.as_ref())
        .and_then(|o| o.pointer("/metadata/name"))
        .and_then(Value::as_str)
        .unwrap_or(&ctx.info.name)
        .to_string();
    let mut req = AdmissionRequest::new(
        op,
        (rt.group, rt.version, rt.kind),
        rt.plural,
        &ctx.info.namespace,
        &name,
        ctx.user().clone(),
    )
    .with_subresource(&ctx.info.subresource)
    .with_dry_run(ctx.info.query_param("dryRun") == Some("All"));
    if let Some(o) = obj {
        req = req.with_object(o);
    }
    if let Some(o) = old {
        req = req.with_old_object(o);
    }
    req
}

fn context(ctx: &Ctx) -> StoreContext {
    StoreContext {
        objects: ctx.state.objects.clone(),
        catalog: ctx.state.catalog,
        authorizer: ctx.state.authorizer.clone(),
    }
}

/// The mutating phase; returns the (possibly changed) object.
pub async fn mutate(ctx: &Ctx, req: &mut AdmissionRequest) -> Result<(), StatusError> {
    ctx.state.admission.admit(req, &context(ctx)).await
}

/// The validating phase.
pub async fn validate(ctx: &Ctx, req: &AdmissionRequest) -> Result<(), StatusError> {
    ctx.state.admission.validate(req, &context(ctx)).await
}

/// Recounts quota usage in a namespace after objects left it (kube's quota controller).
pub async fn release_quota(ctx: &Ctx, namespace: &str) {
    if namespace.is_empty() || !ctx.state.admission.enabled().contains(&"ResourceQuota") {
        return;
    }
    if let Err(e) = admission::plugins::resource_quota::recalculate(&context(ctx), namespace).await {
        tracing::debug!(namespace, error = %e.message, "quota recount failed");
    }
}
