//! Admission inside the REST handlers, as kube runs it: mutating plugins on the decoded,
//! defaulted object, then validation, then validating plugins, then storage. The plugins
//! read the cluster through [`StoreContext`].

use crate::context::Ctx;
use crate::objects::Objects;
use admission::{AdmissionContext, AdmissionRequest, KindResource, Operation};
use apimachinery::Meta;
use apimachinery::StatusError;
use registry::{Catalog, ResourceType};
use serde_json::Value;
use std::sync::Arc;

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
        let name = object.meta("name").and_then(Value::as_str).unwrap_or_default().to_string();
        let expected =
            object.meta("resourceVersion").and_then(Value::as_str).and_then(|r| r.parse::<u64>().ok());
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
    async fn authorize_verdict(&self, attrs: &apimachinery::Attributes) -> admission::AuthzVerdict {
        let verdict = self.authorizer.authorize_async(attrs).await;
        admission::AuthzVerdict {
            allowed: verdict.decision.is_allowed(),
            reason: verdict.decision.reason().to_string(),
            error: verdict.error(),
        }
    }

    fn resource_for_kind(&self, group: &str, version: &str, kind: &str) -> Option<KindResource> {
        self.catalog
            .all()
            .into_iter()
            .find(|r| r.group == group && r.version == version && r.kind == kind && r.stored)
            .map(kind_resource)
    }

    fn equivalent_resources(&self, group: &str, resource: &str) -> Vec<KindResource> {
        let all = self.catalog.all();
        let Some(own) = all.iter().find(|r| r.group == group && r.plural == resource && r.stored) else {
            return Vec::new();
        };
        let storage = (own.storage_group(), own.storage_plural());
        all.iter()
            .filter(|r| r.stored && (r.storage_group(), r.storage_plural()) == storage)
            .map(|r| kind_resource(r))
            .collect()
    }

    fn convert(&self, object: &Value, to: &KindResource) -> Option<Value> {
        let all = self.catalog.all();
        let api_version = object.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let kind = object.get("kind").and_then(Value::as_str).unwrap_or_default();
        let from =
            all.iter().find(|r| r.group == group && r.version == version && r.kind == kind && r.stored)?;
        let to =
            all.iter().find(|r| r.group == to.group && r.version == to.version && r.plural == to.resource)?;
        if (from.storage_group(), from.storage_plural()) != (to.storage_group(), to.storage_plural()) {
            return None;
        }
        Some(registry::convert::from_storage(to, registry::convert::to_storage(from, object.clone())))
    }

    fn object_schema(&self, group: &str, version: &str, kind: &str) -> Option<admission::ObjectSchema> {
        let rt = self
            .catalog
            .all()
            .into_iter()
            .find(|r| r.group == group && r.version == version && r.kind == kind)?;
        match self.catalog.custom().version(rt) {
            Some(v) => {
                let root = v.ssa_schema.root();
                Some(admission::ObjectSchema { schema: v.ssa_schema.clone(), root })
            }
            None if rt.custom => None,
            None => {
                let root = fieldmanager::schema::builtin::Builtin::root(group, version, kind)?;
                Some(admission::ObjectSchema {
                    schema: Arc::new(fieldmanager::schema::builtin::Builtin),
                    root,
                })
            }
        }
    }

    fn admit_mutated(&self, kind: &KindResource, object: Value, strict: bool) -> Result<Value, StatusError> {
        let rt = self.rt(&kind.group, &kind.resource)?;
        let rt = self.catalog.lookup(&kind.group, &kind.version, &kind.resource).unwrap_or(rt);
        let mut object = object;
        let unknown =
            registry::strategy::default_mutated(rt, &mut object).map_err(|e| StatusError::internal(&e))?;
        // kube decodes a JSON patch's result strictly into the kind's Go type; a custom
        // resource decodes into an unstructured object, which takes any field, and is
        // pruned along its schema (the fields `unknown` names are dropped).
        if strict && !rt.custom && !unknown.is_empty() {
            let fields: Vec<String> =
                unknown.iter().map(|f| format!("unknown field {}", apimachinery::status::quote(f))).collect();
            return Err(StatusError::internal(&format!("strict decoding error: {}", fields.join(", "))));
        }
        Ok(object)
    }
}

fn kind_resource(r: &ResourceType) -> KindResource {
    KindResource {
        group: r.group.to_string(),
        version: r.version.to_string(),
        resource: r.plural.to_string(),
        kind: r.kind.to_string(),
        namespaced: r.namespaced,
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
        .and_then(|o| o.meta("name"))
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
    let result = ctx.state.admission.admit(req, &context(ctx)).await;
    note(ctx, req);
    result
}

/// The validating phase.
pub async fn validate(ctx: &Ctx, req: &AdmissionRequest) -> Result<(), StatusError> {
    let result = ctx.state.admission.validate(req, &context(ctx)).await;
    note(ctx, req);
    result
}

/// Passes the plugins' warnings and audit annotations on to the answer and the audit event.
fn note(ctx: &Ctx, req: &AdmissionRequest) {
    ctx.notes.warn(req.warnings());
    ctx.notes.annotate(req.annotations());
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
