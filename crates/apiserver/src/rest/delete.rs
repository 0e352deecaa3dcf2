//! delete and deletecollection: preconditions, finalizers (deletionTimestamp first, the
//! object goes when its last finalizer does), namespaces that drain before they go.

use super::objects::{decode_kv, encode_for_store, key, list_response, now_rfc3339, object_response};
use super::read::{list_objects, Filter};
use super::store_error;
use crate::filters::Ctx;
use crate::response::{self, Body};
use apimachinery::StatusError;
use http::Response;
use registry::ResourceType;
use serde_json::{json, Value};

/// Namespaces kube refuses to delete.
pub const IMMORTAL_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public"];

struct DeleteOptions {
    uid: Option<String>,
    resource_version: Option<String>,
    dry_run: bool,
}

fn options(ctx: &Ctx, bytes: &[u8], ct: &str) -> Result<DeleteOptions, StatusError> {
    let body = if bytes.is_empty() { json!({}) } else { super::decode_object(bytes, ct)? };
    let dry = body.get("dryRun").and_then(Value::as_array).is_some_and(|a| a.iter().any(|v| v == "All"))
        || ctx.info.query_param("dryRun") == Some("All");
    let s = |p: &str| body.pointer(p).and_then(Value::as_str).map(str::to_string);
    Ok(DeleteOptions {
        uid: s("/preconditions/uid"),
        resource_version: s("/preconditions/resourceVersion"),
        dry_run: dry,
    })
}

fn precondition_failed(rt: &ResourceType, name: &str, what: &str, want: &str, got: &str) -> StatusError {
    StatusError::conflict(
        &rt.group_resource(),
        name,
        &format!("Precondition failed: {what} in precondition: {want}, {what} in object meta: {got}"),
    )
}

enum Outcome {
    /// Removed from storage now.
    Gone(Value),
    /// Still present (finalizers pending or namespace draining), now with deletionTimestamp.
    Pending(Value),
}

async fn delete_one(
    ctx: &Ctx,
    rt: &ResourceType,
    ns: &str,
    name: &str,
    opts: &DeleteOptions,
) -> Result<Outcome, StatusError> {
    let k = key(rt, ns, name);
    for _ in 0..5 {
        let Some(kv) = ctx.state.store.get(&k).await.map_err(|e| store_error(rt, name, e))? else {
            return Err(StatusError::not_found(&rt.group_resource(), name));
        };
        let obj = decode_kv(&kv).ok_or_else(|| StatusError::internal("stored object is not valid JSON"))?;
        let uid = obj.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or_default();
        if let Some(want) = opts.uid.as_deref().filter(|u| *u != uid) {
            return Err(precondition_failed(rt, name, "UID", want, uid));
        }
        let rv = kv.mod_revision.to_string();
        if let Some(want) = opts.resource_version.as_deref().filter(|r| *r != rv) {
            return Err(precondition_failed(rt, name, "ResourceVersion", want, &rv));
        }
        let review = crate::admit::request(ctx, rt, admission::Operation::Delete, None, Some(obj.clone()));
        crate::admit::validate(ctx, &review).await?;
        let has_finalizers = obj
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty())
            || (rt.kind == "Namespace"
                && obj.pointer("/spec/finalizers").and_then(Value::as_array).is_some_and(|f| !f.is_empty()));
        if has_finalizers {
            if obj.pointer("/metadata/deletionTimestamp").is_some() || opts.dry_run {
                return Ok(Outcome::Pending(obj));
            }
            let mut marked = obj.clone();
            marked["metadata"]["deletionTimestamp"] = json!(now_rfc3339());
            marked["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            if rt.kind == "Namespace" {
                marked["status"]["phase"] = json!("Terminating");
            }
            match ctx.state.store.update(&k, encode_for_store(&marked), Some(kv.mod_revision)).await {
                Ok(kv) => return Ok(Outcome::Pending(decode_kv(&kv).unwrap_or(marked))),
                Err(storage::StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(store_error(rt, name, e)),
            }
        }
        if opts.dry_run {
            return Ok(Outcome::Gone(obj));
        }
        match ctx.state.store.delete(&k, Some(kv.mod_revision)).await {
            Ok(_) => {
                if rt.namespaced && rt.kind != "ResourceQuota" {
                    crate::admit::release_quota(ctx, ns).await;
                }
                return Ok(Outcome::Gone(obj));
            }
            Err(storage::StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(store_error(rt, name, e)),
        }
    }
    Err(StatusError::stale_update(&rt.group_resource(), name))
}

pub async fn delete(
    ctx: &Ctx,
    rt: &ResourceType,
    bytes: &[u8],
    ct: &str,
) -> Result<Response<Body>, StatusError> {
    let name = ctx.info.name.clone();
    if rt.kind == "Namespace" && IMMORTAL_NAMESPACES.contains(&name.as_str()) {
        return Err(StatusError::forbidden(&rt.group_resource(), &name, "this namespace may not be deleted"));
    }
    let opts = options(ctx, bytes, ct)?;
    match delete_one(ctx, rt, &ctx.info.namespace, &name, &opts).await? {
        Outcome::Pending(obj) => Ok(object_response(200, rt, &obj, ctx.output)),
        Outcome::Gone(obj) => {
            let uid = obj.pointer("/metadata/uid").cloned().unwrap_or(json!(""));
            let mut details = json!({"name": name, "kind": rt.plural, "uid": uid});
            if !rt.group.is_empty() {
                details["group"] = json!(rt.group);
            }
            let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details});
            Ok(response::object(200, &status, ctx.output))
        }
    }
}

pub async fn delete_collection(
    ctx: &Ctx,
    rt: &ResourceType,
    bytes: &[u8],
    ct: &str,
) -> Result<Response<Body>, StatusError> {
    let opts = options(ctx, bytes, ct)?;
    let filter = Filter::from_query(ctx, rt)?;
    let (items, rv, _) = list_objects(ctx, rt, &filter, 0, None).await?;
    let mut deleted = Vec::new();
    for obj in items {
        let ns = obj.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or_default().to_string();
        let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string();
        match delete_one(ctx, rt, &ns, &name, &opts).await {
            Ok(Outcome::Gone(o)) | Ok(Outcome::Pending(o)) => deleted.push(o),
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    Ok(list_response(rt, deleted, rv, None, ctx.output))
}
