//! PATCH bodies and server-side apply, as the patch handler runs them: the stored object
//! (the first section; `{}` when it does not decode) patched by the body (the second), then
//! the patched object through the write path of its kind ([`super::body::object`]).
//!
//! Server-side apply: live object, applied configuration (JSON, else YAML, as the handler
//! decodes it) and options (`kubectl` applies as kubectl, `force` forces), then the field
//! manager's apply and, over its result, the update path that records managed fields.

use super::{body, sections};
use apimachinery::patch::{apply_patch, builtin_patch_meta, PatchType};
use fieldmanager::FieldManager;
use serde_json::Value;

pub(super) fn json_patch(data: &[u8]) {
    patch(data, PatchType::Json);
}

pub(super) fn merge_patch(data: &[u8]) {
    patch(data, PatchType::Merge);
}

pub(super) fn strategic_merge_patch(data: &[u8]) {
    patch(data, PatchType::StrategicMerge);
}

fn group_kind(obj: &Value) -> (&str, &str, &str) {
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    (group, version, obj.get("kind").and_then(Value::as_str).unwrap_or_default())
}

fn patch(data: &[u8], patch_type: PatchType) {
    let parts = sections(data, 2);
    let original: Value =
        parts.first().and_then(|o| serde_json::from_slice(o).ok()).unwrap_or_else(|| serde_json::json!({}));
    let body = parts.get(1).copied().unwrap_or_default();
    let (group, _, kind) = group_kind(&original);
    // A kind without patch metadata would only get the 415; Pod's keeps the merge code busy.
    let meta = builtin_patch_meta(group, kind).or_else(|| builtin_patch_meta("", "Pod"));
    let Ok(patched) = apply_patch(patch_type, &original, body, meta) else { return };
    body::object(&patched);
}

pub(super) fn apply(data: &[u8]) {
    let parts = sections(data, 3);
    let live: Option<Value> = parts.first().and_then(|l| serde_json::from_slice(l).ok());
    let Some(config) = parts.get(1) else { return };
    let config: Value = match serde_json::from_slice(config) {
        Ok(v) => v,
        Err(_) => match apimachinery::yaml::from_slice(config) {
            Ok(v) => v,
            Err(_) => return,
        },
    };
    let options = parts.get(2).map(|o| String::from_utf8_lossy(o)).unwrap_or_default();
    let manager = if options.contains("kubectl") { "kubectl" } else { "fuzz" };
    let force = options.contains("force");
    let (group, version, kind) = group_kind(&config);
    let fm = FieldManager::for_kind(group, version, kind, "");
    let now = "2024-01-01T00:00:00Z";
    let Ok(mut applied) = fm.apply(live.clone(), &config, manager, force, now) else { return };
    let before = applied.clone();
    fm.update(live.as_ref(), &mut applied, "other", now);
    // An update by another manager over the applied object, then through a subresource.
    let status = FieldManager::for_kind(group, version, kind, "status");
    let mut again = before.clone();
    status.update(Some(&before), &mut again, "status-writer", now);
    body::object(&applied);
}
