//! delete and deletecollection: preconditions, finalizers (deletionTimestamp first, the
//! object goes when its last finalizer does), namespaces that drain before they go, and the
//! garbage collector's finalizers (`orphan`, `foregroundDeletion`) that a propagation policy
//! or the kind's default leaves on the object (registry's `gc_policy`).

use super::kinds::hooks;
use super::read::{list_objects, Filter};
use crate::context::Ctx;
use crate::objects::{decode_kv, now_rfc3339};
use crate::response::{self, list_response, object_response, Body};
use apimachinery::StatusError;
use http::Response;
use registry::gc_policy::{self, Cascade, Propagation};
use registry::ResourceType;
use serde_json::{json, Value};

pub(super) struct DeleteOptions {
    uid: Option<String>,
    resource_version: Option<String>,
    pub(super) dry_run: bool,
    cascade: Cascade,
}

fn options(ctx: &Ctx, bytes: &[u8], ct: &str) -> Result<DeleteOptions, StatusError> {
    let body = if bytes.is_empty() { json!({}) } else { super::decode_object(bytes, ct)? };
    validate_options(ctx, &body)?;
    Ok(options_of(ctx, &body))
}

/// kube's `ValidateDeleteOptions`: the propagation policy, and the dry-run values of the
/// query; a 422 on `DeleteOptions.meta.k8s.io ""`.
fn validate_options(ctx: &Ctx, body: &Value) -> Result<(), StatusError> {
    let mut causes = Vec::new();
    let policy = body
        .get("propagationPolicy")
        .and_then(Value::as_str)
        .or_else(|| ctx.info.query_param("propagationPolicy"));
    let orphan = body.get("orphanDependents").is_some_and(|v| !v.is_null())
        || ctx.info.query_param("orphanDependents").is_some();
    if let Some(p) = policy {
        if orphan {
            causes.push(apimachinery::field::invalid(
                "propagationPolicy",
                p,
                "orphanDependents and deletionPropagation cannot be both set",
            ));
        }
        if !matches!(p, "Foreground" | "Background" | "Orphan") {
            causes.push(apimachinery::field::not_supported(
                "propagationPolicy",
                p,
                &["Foreground", "Background", "Orphan", "nil"],
            ));
        }
    }
    causes.extend(super::field_manager::validate_dry_run(ctx));
    if causes.is_empty() {
        return Ok(());
    }
    let kind = apimachinery::gvr::GroupKind { group: "meta.k8s.io".into(), kind: "DeleteOptions".into() };
    Err(StatusError::invalid(&kind, "", causes))
}

/// DeleteOptions from their JSON form (a DELETE body, or an Eviction's `deleteOptions`).
pub(super) fn options_of(ctx: &Ctx, body: &Value) -> DeleteOptions {
    let dry = body.get("dryRun").and_then(Value::as_array).is_some_and(|a| a.iter().any(|v| v == "All"))
        || ctx.info.query_param("dryRun") == Some("All");
    let s = |p: &str| body.pointer(p).and_then(Value::as_str).map(str::to_string);
    let propagation = body
        .get("propagationPolicy")
        .and_then(Value::as_str)
        .or_else(|| ctx.info.query_param("propagationPolicy"))
        .and_then(Propagation::parse);
    let orphan_dependents = body
        .get("orphanDependents")
        .and_then(Value::as_bool)
        .or_else(|| ctx.info.query_param("orphanDependents").and_then(|v| v.parse().ok()));
    DeleteOptions {
        uid: s("/preconditions/uid"),
        resource_version: s("/preconditions/resourceVersion"),
        dry_run: dry,
        cascade: Cascade { propagation, orphan_dependents },
    }
}

/// kube's `BeforeDelete` precondition check: a conflict named by the kind (kube passes the
/// kind where the resource goes), saying what may have happened.
fn precondition_failed(rt: &ResourceType, name: &str, what: &str, want: &str, got: &str) -> StatusError {
    let why = match what {
        "UID" => "The object might have been deleted and then recreated",
        _ => "The object might have been modified",
    };
    StatusError::conflict(
        &apimachinery::GroupResource::new(rt.group, rt.kind),
        name,
        &format!(
            "the {what} in the precondition ({want}) does not match the {what} in record ({got}). {why}"
        ),
    )
}

pub(super) enum Outcome {
    /// Removed from storage now.
    Gone(Value),
    /// Still present (finalizers pending or namespace draining), now with deletionTimestamp.
    Pending(Value),
}

pub(super) async fn delete_one(
    ctx: &Ctx,
    rt: &ResourceType,
    ns: &str,
    name: &str,
    opts: &DeleteOptions,
) -> Result<Outcome, StatusError> {
    let hooks = hooks(rt);
    let objects = &ctx.state.objects;
    for _ in 0..5 {
        let kv = objects.get_raw(rt, ns, name).await?;
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
        match pending_deletion(rt, &obj, opts.cascade) {
            Pending::Already => return Ok(Outcome::Pending(obj)),
            Pending::Mark(_) if opts.dry_run => return Ok(Outcome::Pending(obj)),
            Pending::Mark(marked) => match objects.update(rt, ns, name, &marked, Some(kv.mod_revision)).await
            {
                Ok(stored) => return Ok(Outcome::Pending(stored)),
                Err(e) if e.is_conflict() => continue,
                Err(e) => return Err(e),
            },
            Pending::No => {}
        }
        if opts.dry_run {
            return Ok(Outcome::Gone(obj));
        }
        match objects.delete(rt, ns, name, Some(kv.mod_revision)).await {
            Ok(_) => {
                if hooks.releases_quota(rt) {
                    crate::admit::release_quota(ctx, ns).await;
                }
                return Ok(Outcome::Gone(obj));
            }
            Err(e) if e.is_conflict() => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StatusError::stale_update(&rt.group_resource(), name))
}

/// What a delete does before removing an object.
pub(crate) enum Pending {
    /// Nothing: the object is removed now.
    No,
    /// Already being deleted, and this delete changes nothing.
    Already,
    /// Stored as this first (deletionTimestamp, finalizers): removed when its finalizers go.
    Mark(Value),
}

/// kube's registry store: the garbage collector's finalizers are set per `cascade` (a
/// second delete may change them); an object with finalizers (or its kind's own, a
/// Namespace's) is marked for deletion instead of removed; one already marked stays so,
/// unless this delete leaves it no finalizer at all.
pub(crate) fn pending_deletion(rt: &ResourceType, obj: &Value, cascade: Cascade) -> Pending {
    let hooks = hooks(rt);
    let current: Vec<String> = obj
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|f| f.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    let changed = gc_policy::deletion_finalizers(rt, &current, cascade);
    let marked_already = obj.pointer("/metadata/deletionTimestamp").is_some_and(|t| !t.is_null());
    let has_finalizers = !changed.as_ref().unwrap_or(&current).is_empty() || hooks.has_own_finalizers(obj);
    if !has_finalizers {
        return Pending::No;
    }
    if marked_already && changed.is_none() {
        return Pending::Already;
    }
    let mut marked = obj.clone();
    if let Some(f) = changed {
        marked["metadata"]["finalizers"] = json!(f);
    }
    if !marked_already {
        marked["metadata"]["deletionTimestamp"] = json!(now_rfc3339());
        marked["metadata"]["deletionGracePeriodSeconds"] = json!(0);
        hooks.mark_for_deletion(&mut marked);
    }
    Pending::Mark(marked)
}

/// A delete by the garbage collector (kube's collector deletes through the API with a uid
/// precondition and a propagation policy): the same finalizer handling as a client's
/// delete, without admission, which needs a request. Ok when the object is gone or marked.
pub(crate) async fn delete_for_collector(
    objects: &crate::objects::Objects,
    rt: &ResourceType,
    ns: &str,
    name: &str,
    uid: &str,
    propagation: Propagation,
) -> Result<(), StatusError> {
    for _ in 0..5 {
        let kv = match objects.get_raw(rt, ns, name).await {
            Err(e) if e.is_not_found() => return Ok(()),
            other => other?,
        };
        let obj = decode_kv(&kv).ok_or_else(|| StatusError::internal("stored object is not valid JSON"))?;
        if obj.pointer("/metadata/uid").and_then(Value::as_str) != Some(uid) {
            return Ok(());
        }
        let result = match pending_deletion(rt, &obj, Cascade::policy(propagation)) {
            Pending::Already => return Ok(()),
            Pending::Mark(marked) => {
                objects.update(rt, ns, name, &marked, Some(kv.mod_revision)).await.map(|_| ())
            }
            Pending::No => objects.delete(rt, ns, name, Some(kv.mod_revision)).await.map(|_| ()),
        };
        match result {
            Ok(()) => return Ok(()),
            Err(e) if e.is_conflict() => continue,
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Err(StatusError::stale_update(&rt.group_resource(), name))
}

/// A Pod deleted at once, as kube's graceful deletion returns it when the grace period is
/// zero (a Pod on no node): stamped with the deletion time, a grace period of 0 and the next
/// generation.
fn marked_deleted_now(pod: &mut Value) {
    let Some(meta) = pod.get_mut("metadata").and_then(Value::as_object_mut) else { return };
    meta.insert("deletionTimestamp".into(), json!(now_rfc3339()));
    meta.insert("deletionGracePeriodSeconds".into(), json!(0));
    if let Some(g) = meta.get("generation").and_then(Value::as_i64) {
        meta.insert("generation".into(), json!(g + 1));
    }
}

pub async fn delete(
    ctx: &Ctx,
    rt: &ResourceType,
    bytes: &[u8],
    ct: &str,
) -> Result<Response<Body>, StatusError> {
    let name = ctx.info.name.clone();
    hooks(rt).check_delete(rt, &name)?;
    let opts = options(ctx, bytes, ct)?;
    match delete_one(ctx, rt, &ctx.info.namespace, &name, &opts).await? {
        Outcome::Pending(obj) => Ok(object_response(200, rt, &obj, ctx.output)),
        Outcome::Gone(mut obj) if hooks(rt).returns_deleted_object(rt) => {
            if (rt.group, rt.kind) == ("", "Pod") {
                marked_deleted_now(&mut obj);
            }
            Ok(object_response(200, rt, &obj, ctx.output))
        }
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
    let filter = Filter::from_query(&ctx.info, rt)?;
    let (items, rv, _) = list_objects(ctx, rt, &filter, 0, None).await?;
    let mut deleted = Vec::new();
    for obj in items {
        let ns = obj.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or_default().to_string();
        let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string();
        match delete_one(ctx, rt, &ns, &name, &opts).await {
            Ok(Outcome::Gone(o)) | Ok(Outcome::Pending(o)) => deleted.push(o),
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(list_response(rt, deleted, rv, crate::response::Next::none(), ctx.output))
}
