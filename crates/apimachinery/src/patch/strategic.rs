//! Strategic merge patch (k8s.io/apimachinery `util/strategicpatch`, the apply half):
//! maps merge recursively and `null` deletes; lists follow the field's patch metadata.
//!
//! Directives: `$patch: replace|delete` in maps and list items, `$retainKeys`,
//! `$deleteFromPrimitiveList/<field>`, `$setElementOrder/<field>`.
//!
//! Deliberate differences from kube, all where kube would store directive debris or
//! behave oddly: values taken whole from the patch (a new key, a replaced list) are
//! cleaned of nulls *and* of every directive (kube strips only `$patch`); a new map
//! carrying `$patch: replace` is kept (kube drops it); `$deleteFromPrimitiveList` on a
//! list without merge strategy deletes the values (kube stores the deletion list).

use serde_json::{Map, Value};

use super::error::{BAD_PRIMITIVE_LIST, BAD_RETAIN_KEYS, BAD_SET_ELEMENT_ORDER};
use super::go_text::go_value;
use super::limits::{depth, MAX_PATCH_DEPTH};
use super::lists::{bad_arg_type, enforce_order, merge_list, no_merge_key, validate_with_order, KeyMode};
use super::meta::{field_or_default, PatchMeta, PatchStrategy};
use super::PatchError;

pub(crate) const DIRECTIVE: &str = "$patch";
pub(crate) const RETAIN_KEYS: &str = "$retainKeys";
pub(crate) const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";
pub(crate) const SET_ELEMENT_ORDER: &str = "$setElementOrder";

/// Applies a strategic merge patch to `original` (an object, or `null` for none).
/// `meta` describes the object's type (see [`super::builtin_patch_meta`]).
pub fn strategic_merge_patch(
    original: &Value,
    patch: &Value,
    meta: &dyn PatchMeta,
) -> Result<Value, PatchError> {
    let Value::Object(p) = patch else {
        return Err(PatchError::Decode(format!(
            "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            json_kind(patch)
        )));
    };
    if depth(patch) > MAX_PATCH_DEPTH || depth(original) > MAX_PATCH_DEPTH {
        return Err(PatchError::TooDeep { limit: MAX_PATCH_DEPTH });
    }
    let o = match original {
        Value::Object(o) => o.clone(),
        Value::Null => Map::new(),
        other => {
            return Err(PatchError::StrategicMergeFailed(format!(
                "the object to patch is a {}, not an object",
                json_kind(other)
            )))
        }
    };
    Ok(Value::Object(merge_map(o, p.clone(), meta)?))
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The JSON container kind, which decides whether two values merge or the patch replaces.
fn same_container(a: &Value, b: &Value) -> bool {
    matches!((a, b), (Value::Object(_), Value::Object(_)) | (Value::Array(_), Value::Array(_)))
}

/// `mergeMap`: merges `patch` into `original`. Recursion depth is bounded by the patch's.
pub(crate) fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    meta: &dyn PatchMeta,
) -> Result<Map<String, Value>, PatchError> {
    if let Some(d) = patch.get(DIRECTIVE) {
        return match d.as_str() {
            Some("replace") => {
                patch.shift_remove(DIRECTIVE);
                Ok(clean_map(patch))
            }
            Some("delete") => Ok(Map::new()),
            _ => Err(PatchError::StrategicMergeFailed(format!(
                "unknown patch type: {} in map: {}",
                go_value(d),
                go_value(&Value::Object(patch.clone()))
            ))),
        };
    }
    apply_retain_keys(&mut original, &mut patch)?;
    merge_set_element_order(&mut original, &mut patch, meta)?;

    for (k, pv) in patch {
        let (key, delete_list) = match k.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) {
            Some(rest) => match rest.strip_prefix('/') {
                Some(field) => (field.to_string(), true),
                None => return Err(PatchError::BadPatchFormat(BAD_PRIMITIVE_LIST)),
            },
            None => (k, false),
        };
        if pv.is_null() {
            original.shift_remove(&key);
            continue;
        }
        let Some(ov) = original.get_mut(&key) else {
            if !delete_list {
                if let Some(v) = clean(pv) {
                    original.insert(key, v);
                }
            }
            continue;
        };
        if !same_container(ov, &pv) {
            if !delete_list {
                match clean(pv) {
                    Some(v) => *ov = v,
                    None => {
                        original.shift_remove(&key);
                    }
                }
            }
            continue;
        }
        let field = field_or_default(meta, &key);
        let merged = match (ov.take(), pv) {
            (Value::Object(o), Value::Object(p)) => {
                if field.strategy == PatchStrategy::Replace {
                    Value::Object(clean_map(p))
                } else {
                    Value::Object(merge_map(o, p, field.schema)?)
                }
            }
            (Value::Array(o), Value::Array(p)) => Value::Array(merge_list(o, p, &key, field, delete_list)?),
            (_, p) => p,
        };
        *ov = merged;
    }
    Ok(original)
}

/// `applyRetainKeysDirective`: drop the original's keys missing from `$retainKeys`; every
/// non-null key of the patch must be listed.
fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<(), PatchError> {
    let Some(list) = patch.shift_remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let Value::Array(list) = list else {
        return Err(PatchError::BadPatchFormat(BAD_RETAIN_KEYS));
    };
    let keep: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
    for (k, v) in patch.iter() {
        if v.is_null() || k.starts_with(DELETE_FROM_PRIMITIVE_LIST) || k.starts_with(SET_ELEMENT_ORDER) {
            continue;
        }
        if !keep.contains(&k.as_str()) {
            return Err(PatchError::BadPatchFormat(BAD_RETAIN_KEYS));
        }
    }
    original.retain(|k, _| keep.contains(&k.as_str()));
    Ok(())
}

/// `mergePatchIntoOriginal`: merges each list that has a `$setElementOrder/<field>`
/// directive and puts its items in that order (then patch order, then original order).
fn merge_set_element_order(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    meta: &dyn PatchMeta,
) -> Result<(), PatchError> {
    let keys: Vec<String> = patch.keys().filter(|k| k.starts_with(SET_ELEMENT_ORDER)).cloned().collect();
    for key in keys {
        let Some(order) = patch.shift_remove(&key) else { continue };
        let Value::Array(order) = order else {
            return Err(bad_arg_type("slice", &order));
        };
        let Some(field_name) = key.strip_prefix(SET_ELEMENT_ORDER).and_then(|r| r.strip_prefix('/')) else {
            return Err(PatchError::BadPatchFormat(BAD_SET_ELEMENT_ORDER));
        };
        let field = field_or_default(meta, field_name);
        if field.strategy != PatchStrategy::Merge {
            // Ordering applies to merging lists only; a replaced list keeps the patch's order.
            continue;
        }
        for list in [original.get(field_name), patch.get(field_name)].into_iter().flatten() {
            if !list.is_array() {
                return Err(bad_arg_type("slice", list));
            }
        }
        let empty = Vec::new();
        let patch_list = patch.get(field_name).and_then(Value::as_array).unwrap_or(&empty);
        validate_with_order(patch_list, &order, field.merge_key)?;
        let orig_list = match original.get(field_name) {
            Some(Value::Array(o)) => Some(o.clone()),
            _ => None,
        };
        let merged = match (orig_list.clone(), patch.shift_remove(field_name)) {
            (Some(o), None) => o,
            (None, Some(Value::Array(p))) => clean_list(p),
            (Some(o), Some(Value::Array(p))) => merge_list(o, p, field_name, field, false)?,
            _ => continue,
        };
        let mode = match field.merge_key {
            Some(k) => KeyMode::MergeKey(k),
            None => KeyMode::Value,
        };
        let server_order = orig_list.unwrap_or_default();
        if let KeyMode::MergeKey(k) = mode {
            if let Some(item) = order.iter().find(|i| i.get(k).is_none()) {
                return Err(no_merge_key(item, k));
            }
        }
        let ordered = enforce_order(merged, &order, &server_order, mode)?;
        original.insert(field_name.to_string(), Value::Array(ordered));
    }
    Ok(())
}

/// A value taken whole from the patch: `None` when it is a `$patch: delete` (or otherwise
/// directive-only) map, else the value without nulls in maps and without directives.
pub(crate) fn clean(v: Value) -> Option<Value> {
    match v {
        Value::Object(mut m) => match m.get(DIRECTIVE).and_then(Value::as_str) {
            Some("replace") => {
                m.shift_remove(DIRECTIVE);
                Some(Value::Object(clean_map(m)))
            }
            Some(_) => None,
            None if m.contains_key(DIRECTIVE) => None,
            None => Some(Value::Object(clean_map(m))),
        },
        Value::Array(items) => Some(Value::Array(clean_list(items))),
        other => Some(other),
    }
}

pub(crate) fn clean_map(m: Map<String, Value>) -> Map<String, Value> {
    m.into_iter()
        .filter(|(k, v)| !v.is_null() && !is_directive_key(k))
        .filter_map(|(k, v)| clean(v).map(|v| (k, v)))
        .collect()
}

pub(crate) fn clean_list(items: Vec<Value>) -> Vec<Value> {
    items.into_iter().filter_map(clean).collect()
}

fn is_directive_key(k: &str) -> bool {
    k == DIRECTIVE
        || k == RETAIN_KEYS
        || k.starts_with(DELETE_FROM_PRIMITIVE_LIST)
        || k.starts_with(SET_ELEMENT_ORDER)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "strategic_tests.rs"]
mod tests;
