//! The field manager step of create, update and patch (kube's `FieldManager` in the REST
//! handlers): the write options kube checks (`fieldManager`, `force`), who the manager is
//! (`fieldManager`, else the User-Agent's prefix), which endpoint (kind, version,
//! subresource, the fields it resets), and the two calls: record what an update sets, or
//! apply a configuration. The field manager itself is `crates/fieldmanager`.

use crate::context::Ctx;
use crate::objects::now_rfc3339;
use apimachinery::gvr::GroupKind;
use apimachinery::status::{CauseType, StatusCause};
use apimachinery::StatusError;
use fieldmanager::manager::{manager_from_user_agent, validate_field_manager};
use fieldmanager::FieldManager;
use registry::ResourceType;
use serde_json::Value;

/// Which write's options are checked.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Options {
    Create,
    Update,
    Patch { apply: bool },
}

/// kube's `Validate{Create,Update,Patch}Options` for `fieldManager` and `force`: a 422 on
/// `<Verb>Options.meta.k8s.io ""`.
pub(super) fn check_options(ctx: &Ctx, options: Options) -> Result<(), StatusError> {
    let manager = ctx.info.query_param("fieldManager").unwrap_or_default();
    let mut causes = Vec::new();
    if let Options::Patch { apply } = options {
        if apply && manager.is_empty() {
            causes.push(StatusCause {
                reason: CauseType::FieldValueRequired,
                message: "Required value: is required for apply patch".into(),
                field: "fieldManager".into(),
            });
        }
        if !apply && ctx.info.query_param("force").is_some() {
            causes.push(StatusCause {
                reason: CauseType::FieldValueForbidden,
                message: "Forbidden: may not be specified for non-apply patch".into(),
                field: "force".into(),
            });
        }
    }
    causes.extend(validate_field_manager(manager));
    causes.extend(validate_dry_run(ctx));
    if let Some(v) = ctx.info.query_param("fieldValidation") {
        if !matches!(v, "" | "Ignore" | "Strict" | "Warn") {
            causes.push(apimachinery::field::not_supported(
                "fieldValidation",
                v,
                &["", "Ignore", "Strict", "Warn"],
            ));
        }
    }
    if causes.is_empty() {
        return Ok(());
    }
    let kind = match options {
        Options::Create => "CreateOptions",
        Options::Update => "UpdateOptions",
        Options::Patch { .. } => "PatchOptions",
    };
    Err(StatusError::invalid(&GroupKind { group: "meta.k8s.io".into(), kind: kind.into() }, "", causes))
}

/// kube's `ValidateDryRun`: every `dryRun` value is `All`.
pub(super) fn validate_dry_run(ctx: &Ctx) -> Option<StatusCause> {
    let values: Vec<&str> = ctx.info.query_params("dryRun").collect();
    if values.iter().all(|v| *v == "All") {
        return None;
    }
    let rendered = apimachinery::status::go_json(&serde_json::json!(values));
    Some(apimachinery::field::not_supported_rendered("dryRun", &rendered, &["All"]))
}

/// The manager a write is recorded for: `fieldManager`, else the User-Agent's prefix.
fn manager(ctx: &Ctx) -> String {
    match ctx.info.query_param("fieldManager").filter(|m| !m.is_empty()) {
        Some(m) => m.to_string(),
        None => manager_from_user_agent(&ctx.user_agent),
    }
}

/// The field manager of the request's endpoint. The main resource of a kind with a status
/// subresource resets `status`, the `status` subresource resets `spec` (kube's reset
/// fields for its built-in strategies). `pods/ephemeralcontainers` (and `pods/resize`, alike
/// for the containers' resources) resets `status` too:
/// kube resets everything but `spec.ephemeralContainers` there, and the strategy has put
/// back the rest of the pod before an update is recorded, so only an apply's configuration
/// can bring other fields (kubeward records them; kube would not).
/// A custom resource's schema comes from its CRD's structural schema.
fn with_endpoint<R>(ctx: &Ctx, rt: &ResourceType, f: impl FnOnce(FieldManager<'_>) -> R) -> R {
    let sub = ctx.info.subresource.as_str();
    let custom = ctx.state.catalog.custom().version(rt);
    let fm = match &custom {
        Some(v) => FieldManager::new(&*v.ssa_schema, v.ssa_schema.root(), rt.group, rt.version, rt.kind, sub),
        None => FieldManager::for_kind(rt.group, rt.version, rt.kind, sub),
    };
    f(with_reset_fields(fm, rt, sub))
}

/// The fields an endpoint of `rt` resets (see [`with_endpoint`]).
fn with_reset_fields<'a>(fm: FieldManager<'a>, rt: &ResourceType, sub: &str) -> FieldManager<'a> {
    let csr = (rt.group, rt.kind) == ("certificates.k8s.io", "CertificateSigningRequest");
    match sub {
        // kube's CSR strategies: the resource resets spec and status, `status` the spec and
        // the conditions, `approval` the spec and the certificate.
        "" if csr => fm.with_reset_fields(&[&["spec"], &["status"]]),
        "status" if csr => fm.with_reset_fields(&[&["spec"], &["status", "conditions"]]),
        "approval" => fm.with_reset_fields(&[&["spec"], &["status", "certificate"]]),
        "" | "ephemeralcontainers" | "resize" if rt.has_status => fm.with_reset_fields(&[&["status"]]),
        "status" => fm.with_reset_fields(&[&["spec"]]),
        _ => fm,
    }
}

/// Records in `new`'s `metadata.managedFields` what a create (`live` `None`), update or
/// non-apply patch sets.
pub(crate) fn record(ctx: &Ctx, rt: &ResourceType, live: Option<&Value>, new: &mut Value) {
    with_endpoint(ctx, rt, |fm| fm.update(live, new, &manager(ctx), &now_rfc3339()));
}

/// Records an object the server writes itself (its bootstrap objects, its controllers') as
/// kube's do: an Update by `manager` (`kube-apiserver`, `kube-controller-manager`).
pub(crate) fn record_internal(rt: &ResourceType, obj: &mut Value, manager: &str) {
    let fm = FieldManager::for_kind(rt.group, rt.version, rt.kind, "");
    with_reset_fields(fm, rt, "").update(None, obj, manager, &now_rfc3339());
}

/// A new object the server creates itself, made as kube's own clients' creates are: the
/// defaults applied, its fields recorded for `manager`, then the create strategy's preparation
/// (which a field manager does not record).
pub(crate) fn prepare_internal_create(rt: &ResourceType, obj: &mut Value, manager: &str) {
    registry::strategy::default_new(rt, obj);
    record_internal(rt, obj, manager);
    let sent = take_sent(obj);
    registry::strategy::prepare_for_create(rt, obj, &now_rfc3339());
    restore_sent(obj, sent);
}

/// Records an update the server's own controllers make to a built-in object through
/// `subresource` (`status` for a controller's status write), as kube's controllers' writes
/// are recorded: an Update by `manager` (kube-controller-manager's User-Agent prefix).
pub(crate) fn record_internal_update(
    rt: &ResourceType,
    live: &Value,
    obj: &mut Value,
    manager: &str,
    subresource: &str,
) {
    let fm = FieldManager::for_kind(rt.group, rt.version, rt.kind, subresource);
    with_reset_fields(fm, rt, subresource).update(Some(live), obj, manager, &now_rfc3339());
}

/// What a server-side apply by the server's own controllers makes of `live` (kube's
/// clusterrole aggregation and admission policy status controllers apply, forcing): the
/// object to store, or `None` when the configuration does not apply (then the caller writes
/// without a record).
pub(crate) fn record_internal_apply(
    rt: &ResourceType,
    live: &Value,
    applied: &Value,
    manager: &str,
    subresource: &str,
) -> Option<Value> {
    let fm = FieldManager::for_kind(rt.group, rt.version, rt.kind, subresource);
    match with_reset_fields(fm, rt, subresource).apply(
        Some(live.clone()),
        applied,
        manager,
        true,
        &now_rfc3339(),
    ) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(manager, kind = rt.kind, error = %e.to_status().message, "an internal apply failed; written without it");
            None
        }
    }
}

/// Records what a create of a kind with no resource of its own sets (a subresource's request
/// object, such as `serviceaccounts/token`'s TokenRequest), under the request's subresource.
pub(crate) fn record_kind(ctx: &Ctx, group: &str, version: &str, kind: &str, new: &mut Value) {
    let fm = FieldManager::for_kind(group, version, kind, ctx.info.subresource.as_str());
    fm.update(None, new, &manager(ctx), &now_rfc3339());
}

/// Applies the configuration over `live` (`None`: absent); the object to store, its
/// managed fields set, or kube's Status (409 on conflicts).
pub(super) fn apply(
    ctx: &Ctx,
    rt: &ResourceType,
    live: Option<Value>,
    applied: &Value,
) -> Result<Value, StatusError> {
    let force = ctx.info.query_bool("force");
    with_endpoint(ctx, rt, |fm| fm.apply(live, applied, &manager(ctx), force, &now_rfc3339()))
        .map_err(|e| e.to_status())
}

/// Takes the `metadata.managedFields` a write sent, to put back after the strategy's
/// preparation (which drops them) so the field manager sees them as kube's does.
pub(crate) fn take_sent(obj: &mut Value) -> Option<Value> {
    obj.get_mut("metadata").and_then(Value::as_object_mut).and_then(|m| m.remove("managedFields"))
}

/// Puts back what [`take_sent`] took.
pub(crate) fn restore_sent(obj: &mut Value, sent: Option<Value>) {
    if let (Some(v), Some(m)) = (sent, obj.get_mut("metadata").and_then(Value::as_object_mut)) {
        m.insert("managedFields".into(), v);
    }
}
