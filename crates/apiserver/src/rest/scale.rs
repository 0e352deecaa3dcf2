//! The `scale` subresource (autoscaling/v1 Scale) of workloads and of custom resources with
//! a scale subresource, as kube's `ScaleREST`: a view of the parent's replica count and
//! selector; a write changes the parent's `spec.replicas` (its generation moves on) and
//! goes through the parent's update path: defaults, validation, admission, optimistic
//! concurrency.

use super::write::{self, decode_apply};
use crate::context::Ctx;
use crate::objects::decode_kv;
use crate::response::{object_response, Body};
use apimachinery::gvr::GroupKind;
use apimachinery::status::{CauseType, StatusCause};
use apimachinery::StatusError;
use http::Response;
use registry::strategy::Endpoint;
use registry::ResourceType;
use serde_json::{json, Value};

/// Where a kind keeps its replica counts and selector, as JSON pointers.
struct Paths {
    spec_replicas: String,
    status_replicas: String,
    selector: Option<String>,
    /// The selector is a LabelSelector (or a map) to print, not a string to copy.
    structured_selector: bool,
}

fn paths(rt: &ResourceType) -> Option<Paths> {
    if let Some(v) = rt.custom.then(|| registry::Catalog::global().custom().version(rt)).flatten() {
        let s = v.scale.as_ref()?;
        return Some(Paths {
            spec_replicas: s.spec_replicas.clone(),
            status_replicas: s.status_replicas.clone(),
            selector: s.label_selector.clone(),
            structured_selector: false,
        });
    }
    rt.subresource("scale")?;
    Some(Paths {
        spec_replicas: "/spec/replicas".into(),
        status_replicas: "/status/replicas".into(),
        selector: Some("/spec/selector".into()),
        structured_selector: true,
    })
}

fn scale_of(rt: &ResourceType, paths: &Paths, obj: &Value) -> Value {
    let meta = obj.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let mut m = serde_json::Map::new();
    for k in ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"] {
        if let Some(v) = meta.get(k) {
            m.insert(k.into(), v.clone());
        }
    }
    let replicas = |p: &str| obj.pointer(p).and_then(Value::as_i64).unwrap_or(0);
    let mut status = json!({"replicas": replicas(&paths.status_replicas)});
    let selector = match &paths.selector {
        Some(p) if paths.structured_selector => registry::table::selector_string(obj, p),
        Some(p) => obj.pointer(p).and_then(Value::as_str).unwrap_or_default().to_string(),
        None => String::new(),
    };
    if !selector.is_empty() {
        status["selector"] = json!(selector);
    }
    let _ = rt;
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": Value::Object(m),
        "spec": {"replicas": replicas(&paths.spec_replicas)},
        "status": status,
    })
}

fn scale_gk() -> GroupKind {
    GroupKind { group: "autoscaling".into(), kind: "Scale".into() }
}

/// Sets `value` at a JSON pointer, creating the objects on the way.
fn set_at(obj: &mut Value, pointer: &str, value: Value) {
    let mut cur = obj;
    let segs: Vec<String> =
        pointer.split('/').skip(1).map(|s| s.replace("~1", "/").replace("~0", "~")).collect();
    for (i, seg) in segs.iter().enumerate() {
        if !cur.is_object() {
            *cur = json!({});
        }
        let Some(o) = cur.as_object_mut() else { return };
        if i + 1 == segs.len() {
            o.insert(seg.clone(), value);
            return;
        }
        cur = o.entry(seg.clone()).or_insert_with(|| json!({}));
    }
}

fn not_found(_rt: &ResourceType) -> StatusError {
    StatusError::not_found_path()
}

pub async fn get(ctx: &Ctx, rt: &ResourceType) -> Result<Response<Body>, StatusError> {
    let paths = paths(rt).ok_or_else(|| not_found(rt))?;
    let obj = ctx.state.objects.get(rt, &ctx.info.namespace, &ctx.info.name).await?;
    Ok(object_response(200, rt, &scale_of(rt, &paths, &obj), ctx.output))
}

/// PUT of a Scale.
pub async fn update(ctx: &Ctx, rt: &ResourceType, body: Value) -> Result<Response<Body>, StatusError> {
    write_scale(ctx, rt, |_| Ok(body.clone())).await
}

/// PATCH of a Scale: the patch applies to the current Scale, the result is written as a PUT.
pub async fn patch(
    ctx: &Ctx,
    rt: &ResourceType,
    bytes: &[u8],
    ct: &str,
) -> Result<Response<Body>, StatusError> {
    use apimachinery::patch::{self, PatchType};
    let kind = PatchType::from_content_type(ct);
    let applied = match kind {
        Some(_) => None,
        None if ct.starts_with("application/apply-patch+yaml") => {
            Some(serde_json::to_vec(&decode_apply(bytes)?).unwrap_or_default())
        }
        None => return Err(StatusError::unsupported_patch_type()),
    };
    write_scale(ctx, rt, |current| {
        let (t, body) = match (&kind, &applied) {
            (Some(PatchType::StrategicMerge), _) | (None, Some(_)) => {
                (PatchType::Merge, applied.as_deref().unwrap_or(bytes))
            }
            (Some(t), _) => (*t, bytes),
            (None, None) => (PatchType::Merge, bytes),
        };
        patch::apply_patch(t, current, body, None).map_err(|e| e.to_status())
    })
    .await
}

async fn write_scale(
    ctx: &Ctx,
    rt: &ResourceType,
    make: impl Fn(&Value) -> Result<Value, StatusError>,
) -> Result<Response<Body>, StatusError> {
    let paths = paths(rt).ok_or_else(|| not_found(rt))?;
    let name = ctx.info.name.clone();
    for _ in 0..5 {
        let current = ctx.state.objects.get_raw(rt, &ctx.info.namespace, &name).await?;
        let obj =
            decode_kv(&current).ok_or_else(|| StatusError::internal("stored object is not valid JSON"))?;
        let scale = make(&scale_of(rt, &paths, &obj))?;
        if let Some(k) = scale.get("kind").and_then(Value::as_str).filter(|k| *k != "Scale") {
            return Err(StatusError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind (Scale)"
            )));
        }
        let replicas = match scale.pointer("/spec/replicas") {
            None | Some(Value::Null) => 0,
            Some(v) => v.as_i64().ok_or_else(|| {
                StatusError::bad_request(
                    "Scale in version \"v1\" cannot be handled as a Scale: spec.replicas is not an integer",
                )
            })?,
        };
        if replicas < 0 {
            let cause = StatusCause {
                reason: CauseType::FieldValueInvalid,
                message: format!("Invalid value: {replicas}: must be greater than or equal to 0"),
                field: "spec.replicas".into(),
            };
            return Err(StatusError::invalid(&scale_gk(), &name, vec![cause]));
        }
        if let Some(rv) =
            scale.pointer("/metadata/resourceVersion").and_then(Value::as_str).filter(|r| !r.is_empty())
        {
            if rv != current.mod_revision.to_string() {
                return Err(StatusError::stale_update(&rt.group_resource(), &name));
            }
        }
        let mut new = obj.clone();
        set_at(&mut new, &paths.spec_replicas, json!(replicas));
        match write::persist_update(ctx, rt, &current, new, Endpoint::Main, write::Fields::Record).await {
            Err(e) if e.is_conflict() => continue,
            Err(e) => return Err(e),
            Ok(stored) => return Ok(object_response(200, rt, &scale_of(rt, &paths, &stored), ctx.output)),
        }
    }
    Err(StatusError::stale_update(&rt.group_resource(), &name))
}
