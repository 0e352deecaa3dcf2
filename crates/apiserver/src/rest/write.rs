//! create, update and patch: decode, check fields (fieldValidation), default, validate,
//! then write with optimistic concurrency on resourceVersion.

use super::field_manager::{self, Options};
use super::kinds::hooks;
use crate::admit;
use crate::context::Ctx;
use crate::negotiate::Output;
use crate::objects::{decode_kv, now_rfc3339};
use crate::response::{object_response, Body};
use admission::Operation;
use apimachinery::Meta;
use apimachinery::StatusError;
use http::{HeaderValue, Response};
use rand::Rng;
use registry::strategy::{self, Endpoint};
use registry::ResourceType;
use serde_json::{json, Value};
use storage::KeyValue;

const GENERATE_NAME_CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
/// How often a patch, or an update without a resourceVersion, reads the object again when
/// another writer came between its read and its write (kube retries these without a bound;
/// a bound keeps a hot object from holding a request for ever).
const MAX_PATCH_ATTEMPTS: usize = 5;
const MAX_UNCONDITIONAL_UPDATE_ATTEMPTS: usize = 20;

/// Warnings to return in `Warning` headers (fieldValidation=Warn).
type Warnings = Vec<String>;

fn field_validation(ctx: &Ctx) -> &str {
    ctx.info.query_param("fieldValidation").unwrap_or("Warn")
}

fn dry_run(ctx: &Ctx) -> bool {
    ctx.info.query_param("dryRun") == Some("All")
}

/// Type-checks through the typed struct; unknown fields are refused (Strict), warned
/// about (Warn) or dropped (Ignore).
/// A custom resource has no typed form: it is taken as sent (no copy to compare with).
fn normalize(
    ctx: &Ctx,
    rt: &ResourceType,
    obj: Value,
    warnings: &mut Warnings,
) -> Result<Value, StatusError> {
    let (mut out, mut unknown) = if rt.custom {
        (obj, Vec::new())
    } else {
        let (mut out, unknown) = rt
            .normalize(&obj)
            .map_err(|e| StatusError::bad_request(format!("error decoding {} object: {e}", rt.kind)))?;
        undo_round_trip(&mut out, &obj, 0);
        (out, unknown)
    };
    unknown.extend(strategy::prune_and_default(rt, &mut out));
    // kube's strict decoder reports unknown fields, then repeated ones.
    let mut problems: Vec<String> =
        unknown.iter().map(|f| format!("unknown field {}", apimachinery::status::quote(f))).collect();
    problems.extend(
        ctx.notes
            .duplicate_fields()
            .iter()
            .map(|f| format!("duplicate field {}", apimachinery::status::quote(f))),
    );
    if !problems.is_empty() {
        match field_validation(ctx) {
            "Strict" => {
                let msgs = &problems;
                // kube's decoder names the kind and version it could not decode into.
                return Err(StatusError::bad_request(format!(
                    "{kind} in version {version} cannot be handled as a {kind}: strict decoding error: {}",
                    msgs.join(", "),
                    kind = rt.kind,
                    version = apimachinery::status::quote(rt.version),
                )));
            }
            "Ignore" => {}
            _ => warnings.extend(problems),
        }
    }
    Ok(out)
}

/// What the typed round trip changes that kube's decoding does not: `{}` written for a
/// required struct field the client left out (a Deployment's `spec.selector`; kube leaves it
/// unset and its validation says so), and integers turned into floats (`minimum: 0` of a
/// CRD schema printed `0.0`; Go prints an integral float64 as an integer). Both are undone.
fn undo_round_trip(out: &mut Value, sent: &Value, depth: usize) {
    if depth > 64 {
        return;
    }
    match (out, sent) {
        (Value::Object(o), Value::Object(s)) => {
            o.retain(|k, v| s.contains_key(k) || v.as_object().is_none_or(|m| !m.is_empty()));
            for (k, v) in o.iter_mut() {
                if let Some(sv) = s.get(k) {
                    undo_round_trip(v, sv, depth + 1);
                }
            }
        }
        (Value::Array(o), Value::Array(s)) if o.len() == s.len() => {
            for (v, sv) in o.iter_mut().zip(s) {
                undo_round_trip(v, sv, depth + 1);
            }
        }
        (out @ Value::Number(_), Value::Number(sent)) => {
            let same = out.as_f64().is_some_and(|f| sent.as_f64() == Some(f));
            if same && out.is_f64() && !sent.is_f64() {
                *out = Value::Number(sent.clone());
            }
        }
        _ => {}
    }
}

fn check_type_meta(rt: &ResourceType, obj: &mut Value) -> Result<(), StatusError> {
    let api_version = rt.api_version();
    if let Some(v) = obj.get("apiVersion").and_then(Value::as_str) {
        if v != api_version {
            return Err(StatusError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({api_version})"
            )));
        }
    }
    if let Some(k) = obj.get("kind").and_then(Value::as_str) {
        if k != rt.kind {
            return Err(StatusError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                rt.kind
            )));
        }
    }
    if let Some(o) = obj.as_object_mut() {
        o.insert("apiVersion".into(), json!(api_version));
        o.insert("kind".into(), json!(rt.kind));
    }
    Ok(())
}

fn set_namespace(ctx: &Ctx, rt: &ResourceType, obj: &mut Value) -> Result<(), StatusError> {
    if !rt.namespaced {
        return Ok(());
    }
    let ns = &ctx.info.namespace;
    let meta = obj.as_object_mut().map(|o| o.entry("metadata").or_insert_with(|| json!({})));
    if let Some(Value::Object(m)) = meta {
        match m.get("namespace").and_then(Value::as_str) {
            Some(given) if !given.is_empty() && given != ns => {
                return Err(StatusError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ))
            }
            _ => {
                m.insert("namespace".into(), json!(ns));
            }
        }
    }
    Ok(())
}

fn with_warnings(mut resp: Response<Body>, warnings: &Warnings) -> Response<Body> {
    for w in warnings {
        let text = format!("299 - {}", apimachinery::status::quote(w));
        if let Ok(v) = HeaderValue::from_str(&text) {
            resp.headers_mut().append("Warning", v);
        }
    }
    resp
}

/// 422 with kube's causes when the object is invalid; `old` is the stored object on an
/// update through `endpoint`.
fn invalid(rt: &ResourceType, obj: &Value, old: Option<(&Value, Endpoint)>) -> Result<(), StatusError> {
    let causes = match old {
        Some((old, endpoint)) => strategy::validate_update_via(rt, obj, old, endpoint),
        None => strategy::validate(rt, obj),
    };
    if causes.is_empty() {
        return Ok(());
    }
    let name = obj.meta("name").and_then(Value::as_str).unwrap_or_default();
    Err(StatusError::invalid(&rt.group_kind(), name, causes))
}

pub async fn create(ctx: &Ctx, rt: &ResourceType, mut body: Value) -> Result<Response<Body>, StatusError> {
    field_manager::check_options(ctx, Options::Create)?;
    check_type_meta(rt, &mut body)?;
    set_namespace(ctx, rt, &mut body)?;
    let mut warnings = Vec::new();
    let mut obj = normalize(ctx, rt, body, &mut warnings)?;
    let created = create_object(ctx, rt, &mut obj, Fields::Record, &mut warnings).await?;
    Ok(with_warnings(object_response(201, rt, &created, ctx.output), &warnings))
}

/// Whether a write records its fields for its manager, or brings managed fields an apply
/// computed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Fields {
    Record,
    Applied,
}

/// Defaults, validates and stores a new object (generateName handled); returns it as stored.
pub async fn create_object(
    ctx: &Ctx,
    rt: &ResourceType,
    obj: &mut Value,
    fields: Fields,
    warnings: &mut Warnings,
) -> Result<Value, StatusError> {
    // As kube: the field manager records the object as decoded and defaulted, before the
    // strategy sets what it sets on create (a Job's selector, a Namespace's finalizer).
    if fields == Fields::Record {
        strategy::default_new(rt, obj);
        field_manager::record(ctx, rt, None, obj);
    }
    let sent = field_manager::take_sent(obj);
    strategy::prepare_for_create(rt, obj, &now_rfc3339());
    field_manager::restore_sent(obj, sent);
    // The object moves into the review and back out (no copy of a tree of many small values).
    let mut review = admit::request(ctx, rt, Operation::Create, Some(std::mem::take(obj)), None);
    let mutated = admit::mutate(ctx, &mut review).await;
    warnings.extend(review.warnings());
    if let Some(o) = review.object.take() {
        *obj = o;
    }
    mutated?;
    let generate = obj.meta("generateName").and_then(Value::as_str).map(str::to_string);
    let has_name = obj.meta("name").and_then(Value::as_str).is_some_and(|n| !n.is_empty());
    let attempts = if has_name { 1 } else { 8 };
    let hooks = hooks(rt);
    hooks.before_create(ctx, obj).await?;
    for _ in 0..attempts {
        if !has_name {
            if let Some(base) = &generate {
                let mut rng = rand::rng();
                let suffix: String = (0..5)
                    .map(|_| GENERATE_NAME_CHARS[rng.random_range(0..GENERATE_NAME_CHARS.len())] as char)
                    .collect();
                obj["metadata"]["name"] = json!(format!("{base}{suffix}"));
            }
        }
        invalid(rt, obj, None)?;
        hooks.check_write(ctx, rt, obj).await?;
        review.object = Some(std::mem::take(obj));
        let validated = admit::validate(ctx, &review).await;
        warnings.extend(review.warnings());
        if let Some(o) = review.object.take() {
            *obj = o;
        }
        validated?;
        let name = obj.meta("name").and_then(Value::as_str).unwrap_or_default().to_string();
        if dry_run(ctx) {
            return Ok(obj.clone());
        }
        match ctx.state.objects.create_from(rt, &ctx.info.namespace, &name, obj).await {
            Err(e) if e.is_already_exists() && !has_name && generate.is_some() => continue,
            result => return result,
        }
    }
    let name = obj.meta("name").and_then(Value::as_str).unwrap_or_default().to_string();
    let mut e = StatusError::already_exists(&rt.group_resource(), &name);
    e.message.push_str(", the server was not able to generate a unique name for the object");
    if let Some(d) = e.details.as_mut() {
        d.retry_after_seconds = 1;
    }
    Err(e)
}

fn check_name(ctx: &Ctx, obj: &Value) -> Result<(), StatusError> {
    let body_name = obj.meta("name").and_then(Value::as_str).unwrap_or_default();
    if body_name != ctx.info.name {
        return Err(StatusError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({})",
            ctx.info.name
        )));
    }
    Ok(())
}

pub async fn update(
    ctx: &Ctx,
    rt: &ResourceType,
    mut body: Value,
    endpoint: Endpoint,
) -> Result<Response<Body>, StatusError> {
    field_manager::check_options(ctx, Options::Update)?;
    check_type_meta(rt, &mut body)?;
    set_namespace(ctx, rt, &mut body)?;
    check_name(ctx, &body)?;
    let mut warnings = Vec::new();
    let obj = normalize(ctx, rt, body, &mut warnings)?;
    let name = ctx.info.name.clone();
    let precondition =
        obj.meta("resourceVersion").and_then(Value::as_str).filter(|s| !s.is_empty()).map(String::from);
    // Without a resourceVersion the update is unconditional: like kube's GuaranteedUpdate it
    // is tried again on the newer object when another writer (a controller writing status)
    // came between the read and the write.
    for _ in 0..MAX_UNCONDITIONAL_UPDATE_ATTEMPTS {
        let current = ctx.state.objects.get_raw(rt, &ctx.info.namespace, &name).await?;
        if precondition.as_deref().is_some_and(|rv| rv != current.mod_revision.to_string()) {
            return Err(StatusError::stale_update(&rt.group_resource(), &name));
        }
        match persist_update(ctx, rt, &current, obj.clone(), endpoint, Fields::Record).await {
            Err(e) if e.is_conflict() && precondition.is_none() => continue,
            Err(e) => return Err(e),
            Ok(stored) => return Ok(with_warnings(object_response(200, rt, &stored, ctx.output), &warnings)),
        }
    }
    Err(StatusError::stale_update(&rt.group_resource(), &name))
}

/// Applies the update rules of `endpoint` and writes `new` over `current` (compare-and-swap
/// on its revision). An object being deleted whose last finalizer is removed is deleted
/// instead.
pub async fn persist_update(
    ctx: &Ctx,
    rt: &ResourceType,
    current: &KeyValue,
    mut new: Value,
    endpoint: Endpoint,
    fields: Fields,
) -> Result<Value, StatusError> {
    let name = ctx.info.name.clone();
    let old = decode_kv(current).ok_or_else(|| StatusError::internal("stored object is not valid JSON"))?;
    let sent = field_manager::take_sent(&mut new);
    strategy::prepare_for_update(rt, &mut new, &old, endpoint);
    field_manager::restore_sent(&mut new, sent);
    if fields == Fields::Record {
        field_manager::record(ctx, rt, Some(&old), &mut new);
    }
    if let Some(m) = new.get_mut("metadata").and_then(Value::as_object_mut) {
        m.insert("resourceVersion".into(), json!(current.mod_revision.to_string()));
    }
    let mut review = admit::request(ctx, rt, Operation::Update, Some(new), Some(old.clone()));
    admit::mutate(ctx, &mut review).await?;
    let new = review.object.take().unwrap_or_default();
    invalid(rt, &new, Some((&old, endpoint)))?;
    hooks(rt).check_write(ctx, rt, &new).await?;
    review.object = Some(new.clone());
    admit::validate(ctx, &review).await?;
    // A dry run has taken every step of a real write; only storage is left out.
    if new == old || dry_run(ctx) {
        return Ok(new);
    }
    let ns = &ctx.info.namespace;
    let finalizers_empty = new.meta("finalizers").and_then(Value::as_array).is_none_or(|f| f.is_empty());
    if old.meta("deletionTimestamp").is_some() && finalizers_empty {
        let rv = ctx.state.objects.delete(rt, ns, &name, Some(current.mod_revision)).await?;
        let mut gone = new;
        gone["metadata"]["resourceVersion"] = json!(rv.to_string());
        return Ok(gone);
    }
    ctx.state.objects.update(rt, ns, &name, &new, Some(current.mod_revision)).await
}

/// The PATCH flavours kube accepts, by Content-Type; server-side apply goes through the
/// field manager.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PatchKind {
    Patch(apimachinery::patch::PatchType),
    Apply,
}

fn patch_kind(ct: &str) -> Result<PatchKind, StatusError> {
    if let Some(t) = apimachinery::patch::PatchType::from_content_type(ct) {
        return Ok(PatchKind::Patch(t));
    }
    match ct.split(';').next().unwrap_or_default().trim() {
        "application/apply-patch+yaml" => Ok(PatchKind::Apply),
        _ => Err(StatusError::unsupported_patch_type()),
    }
}

pub(super) fn decode_apply(bytes: &[u8]) -> Result<Value, StatusError> {
    serde_json::from_slice(bytes)
        .or_else(|_| apimachinery::yaml::from_slice(bytes))
        .map_err(|e| StatusError::bad_request(format!("error decoding patch: {e}")))
}

/// The patched object: a patch applied to `original`, or a server-side apply of the
/// configuration over it (its managed fields computed).
/// kube reads a merge or strategic merge patch into a map to look for unknown fields (unless
/// `fieldValidation=Ignore`): a patch that is not a JSON object is a 400 with Go's text.
fn check_patch_is_object(body: &[u8]) -> Result<(), StatusError> {
    let what = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(_)) => "array",
        Ok(Value::String(_)) => "string",
        Ok(Value::Number(_)) => "number",
        Ok(Value::Bool(_)) => "bool",
        _ => return Ok(()),
    };
    Err(StatusError::bad_request(format!(
        "error decoding patch: json: cannot unmarshal {what} into Go value of type map[string]interface {{}}"
    )))
}

fn apply_patch(
    ctx: &Ctx,
    rt: &ResourceType,
    kind: PatchKind,
    original: Value,
    body: &[u8],
) -> Result<Value, StatusError> {
    use apimachinery::patch;
    match kind {
        PatchKind::Patch(t) => {
            if t != patch::PatchType::Json && field_validation(ctx) != "Ignore" {
                check_patch_is_object(body)?;
            }
            let meta = patch::builtin_patch_meta(rt.group, rt.kind);
            patch::apply_patch(t, &original, body, meta).map_err(|e| e.to_status())
        }
        PatchKind::Apply => {
            let mut config = decode_apply(body)?;
            set_namespace(ctx, rt, &mut config)?;
            field_manager::apply(ctx, rt, Some(original), &config)
        }
    }
}

pub async fn patch(
    ctx: &Ctx,
    rt: &ResourceType,
    bytes: &[u8],
    ct: &str,
    endpoint: Endpoint,
) -> Result<Response<Body>, StatusError> {
    let kind = patch_kind(ct)?;
    field_manager::check_options(ctx, Options::Patch { apply: kind == PatchKind::Apply })?;
    let name = ctx.info.name.clone();
    let mut warnings = Vec::new();
    for _ in 0..MAX_PATCH_ATTEMPTS {
        let current = match ctx.state.objects.get_raw(rt, &ctx.info.namespace, &name).await {
            Ok(kv) => Some(kv),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e),
        };
        let Some(current) = current else {
            if kind == PatchKind::Apply {
                // Server-side apply creates what is absent.
                let mut config = decode_apply(bytes)?;
                set_namespace(ctx, rt, &mut config)?;
                let mut body = field_manager::apply(ctx, rt, None, &config)?;
                check_type_meta(rt, &mut body)?;
                check_name(ctx, &body)?;
                let mut obj = normalize(ctx, rt, body, &mut warnings)?;
                let created = create_object(ctx, rt, &mut obj, Fields::Applied, &mut warnings).await?;
                return Ok(with_warnings(object_response(201, rt, &created, ctx.output), &warnings));
            }
            return Err(StatusError::not_found(&rt.group_resource(), &name));
        };
        let original =
            decode_kv(&current).ok_or_else(|| StatusError::internal("stored object is not valid JSON"))?;
        let patched = apply_patch(ctx, rt, kind, original, bytes)?;
        let precondition = patched
            .meta("resourceVersion")
            .and_then(Value::as_str)
            .filter(|rv| *rv != current.mod_revision.to_string());
        if precondition.is_some() {
            return Err(StatusError::stale_update(&rt.group_resource(), &name));
        }
        check_name(ctx, &patched)?;
        let obj = normalize(ctx, rt, patched, &mut warnings)?;
        let fields = if kind == PatchKind::Apply { Fields::Applied } else { Fields::Record };
        match persist_update(ctx, rt, &current, obj, endpoint, fields).await {
            Err(e) if e.is_conflict() => continue,
            Err(e) => return Err(e),
            Ok(stored) => {
                let out = if ctx.output == Output::Yaml { Output::Yaml } else { ctx.output };
                return Ok(with_warnings(object_response(200, rt, &stored, out), &warnings));
            }
        }
    }
    Err(StatusError::stale_update(&rt.group_resource(), &name))
}
