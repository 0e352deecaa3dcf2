//! List merging for strategic merge patch (`mergeSlice` and the ordering rules of
//! `normalizeElementOrder`): lists of objects merge by merge key, lists of primitives
//! merge as sets, and the result is ordered as kube orders it.
//!
//! Items are matched through hash maps keyed by the merge-key value's JSON text, so a
//! merge is linear in the list sizes (kube's is quadratic).

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::go_text::{go_lists, go_value};
use super::meta::{FieldMeta, PatchStrategy};
use super::strategic::{clean_list, clean_map, merge_map, DIRECTIVE, SET_ELEMENT_ORDER};
use super::PatchError;

/// How list items are identified.
#[derive(Debug, Clone, Copy)]
pub(crate) enum KeyMode<'a> {
    /// Objects, by the value of this field.
    MergeKey(&'a str),
    /// Primitives, by value.
    Value,
}

/// kube's `ErrNoMergeKey`.
pub(crate) fn no_merge_key(item: &Value, key: &str) -> PatchError {
    PatchError::StrategicMergeFailed(format!(
        "map: {} does not contain declared merge key: {key}",
        go_value(item)
    ))
}

/// kube's `ErrBadArgType`, naming Go's kinds.
pub(crate) fn bad_arg_type(expected: &str, got: &Value) -> PatchError {
    let kind = match got {
        Value::Null => "invalid",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int64",
        Value::String(_) => "string",
        Value::Array(_) => "slice",
        Value::Object(_) => "map",
    };
    PatchError::StrategicMergeFailed(format!("expected a {expected}, but received a {kind}"))
}

fn item_key(item: &Value, mode: KeyMode<'_>) -> Result<String, PatchError> {
    match mode {
        KeyMode::Value => Ok(item.to_string()),
        KeyMode::MergeKey(k) => match item {
            Value::Object(m) => m.get(k).map(Value::to_string).ok_or_else(|| no_merge_key(item, k)),
            other => Err(bad_arg_type("map", other)),
        },
    }
}

/// Go's dynamic type of a list item, which must be the same across a merged list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ElemKind {
    Null,
    Bool,
    Int,
    Float,
    Str,
    List,
    Map,
}

fn elem_kind(v: &Value) -> ElemKind {
    match v {
        Value::Null => ElemKind::Null,
        Value::Bool(_) => ElemKind::Bool,
        Value::Number(n) if n.is_f64() => ElemKind::Float,
        Value::Number(_) => ElemKind::Int,
        Value::String(_) => ElemKind::Str,
        Value::Array(_) => ElemKind::List,
        Value::Object(_) => ElemKind::Map,
    }
}

/// `sliceElementType`: the common item kind of both lists (at least one is non-empty).
fn element_kind(original: &[Value], patch: &[Value]) -> Result<ElemKind, PatchError> {
    let mut prev = None;
    for v in original.iter().chain(patch) {
        let k = elem_kind(v);
        match prev {
            None if k == ElemKind::List => return Err(PatchError::ListOfLists),
            None => prev = Some(k),
            Some(p) if p != k => {
                return Err(PatchError::StrategicMergeFailed(format!(
                    "list element types are not identical: {}",
                    go_lists(&[original, patch])
                )))
            }
            Some(_) => {}
        }
    }
    Ok(prev.unwrap_or(ElemKind::Null))
}

/// Merges the list `field_name` per its metadata; `delete_list` means `patch` came from
/// `$deleteFromPrimitiveList/<field>`.
pub(crate) fn merge_list(
    original: Vec<Value>,
    patch: Vec<Value>,
    field_name: &str,
    field: FieldMeta<'_>,
    delete_list: bool,
) -> Result<Vec<Value>, PatchError> {
    if field.strategy != PatchStrategy::Merge {
        return Ok(if delete_list { delete_from(original, &patch) } else { clean_list(patch) });
    }
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    if element_kind(&original, &patch)? != ElemKind::Map {
        if delete_list {
            return Ok(delete_from(original, &patch));
        }
        let mut seen = HashSet::new();
        let merged: Vec<Value> =
            original.iter().chain(&patch).filter(|v| seen.insert(v.to_string())).cloned().collect();
        return enforce_order(merged, &patch, &original, KeyMode::Value);
    }
    if delete_list {
        return Err(PatchError::BadPatchFormat(super::error::BAD_PRIMITIVE_LIST));
    }
    let Some(mk) = field.merge_key else {
        return Err(PatchError::StrategicMergeFailed(format!(
            "cannot merge lists without merge key for {field_name}"
        )));
    };
    merge_by_key(original, patch, mk, field)
}

/// `mergeSliceWithSpecialElements` then `mergeSliceWithoutSpecialElements`, then ordering.
fn merge_by_key(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    mk: &str,
    field: FieldMeta<'_>,
) -> Result<Vec<Value>, PatchError> {
    let mut rest = Vec::with_capacity(patch.len());
    let mut replace = false;
    for item in patch {
        let directive = item.get(DIRECTIVE);
        match directive.map(|d| (d, d.as_str())) {
            None => rest.push(item),
            Some((_, Some("delete"))) => {
                let Some(v) = item.get(mk) else {
                    return Err(no_merge_key(&item, mk));
                };
                original.retain(|o| o.get(mk) != Some(v));
            }
            Some((_, Some("replace"))) => replace = true,
            Some((_, Some("merge"))) => {
                return Err(PatchError::StrategicMergeFailed(
                    "merging lists cannot yet be specified in the patch".into(),
                ))
            }
            Some((d, _)) => {
                return Err(PatchError::StrategicMergeFailed(format!(
                    "unknown patch type: {} in map: {}",
                    go_value(d),
                    go_value(&item)
                )))
            }
        }
    }
    if replace {
        original = clean_list(rest);
        rest = Vec::new();
    }
    let server_keys =
        original.iter().map(|i| item_key(i, KeyMode::MergeKey(mk))).collect::<Result<Vec<_>, _>>()?;
    let mut index: HashMap<String, usize> = HashMap::with_capacity(original.len() + rest.len());
    for (i, k) in server_keys.iter().enumerate() {
        index.entry(k.clone()).or_insert(i);
    }
    let mut merged = original;
    let mut patch_keys = Vec::with_capacity(rest.len());
    for item in rest {
        let k = item_key(&item, KeyMode::MergeKey(mk))?;
        let Value::Object(p) = item else { continue };
        match index.get(&k) {
            Some(&i) => {
                let o = match merged.get_mut(i).map(Value::take) {
                    Some(Value::Object(o)) => o,
                    _ => Map::new(),
                };
                if let Some(slot) = merged.get_mut(i) {
                    *slot = Value::Object(merge_map(o, p, field.schema)?);
                }
            }
            None => {
                index.insert(k.clone(), merged.len());
                merged.push(Value::Object(clean_map(p)));
            }
        }
        patch_keys.push(k);
    }
    order_by_keys(merged, &patch_keys, &server_keys, KeyMode::MergeKey(mk))
}

/// `$deleteFromPrimitiveList`: drops every item equal to one of `to_delete`.
fn delete_from(mut current: Vec<Value>, to_delete: &[Value]) -> Vec<Value> {
    let gone: HashSet<String> = to_delete.iter().map(Value::to_string).collect();
    current.retain(|v| !gone.contains(&v.to_string()));
    current
}

/// Orders `merged`: items named in `order` first in that order, interleaved with the rest
/// ("server-only" items, in `server` order) the way kube's `mergeSortedSlice` does.
pub(crate) fn enforce_order(
    merged: Vec<Value>,
    order: &[Value],
    server: &[Value],
    mode: KeyMode<'_>,
) -> Result<Vec<Value>, PatchError> {
    let order_keys = order.iter().map(|i| item_key(i, mode)).collect::<Result<Vec<_>, _>>()?;
    let server_keys = server.iter().map(|i| item_key(i, mode)).collect::<Result<Vec<_>, _>>()?;
    order_by_keys(merged, &order_keys, &server_keys, mode)
}

fn first_index(keys: &[String]) -> HashMap<&str, usize> {
    let mut idx = HashMap::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        idx.entry(k.as_str()).or_insert(i);
    }
    idx
}

fn order_by_keys(
    merged: Vec<Value>,
    order_keys: &[String],
    server_keys: &[String],
    mode: KeyMode<'_>,
) -> Result<Vec<Value>, PatchError> {
    let order_idx = first_index(order_keys);
    let server_idx = first_index(server_keys);
    // (position in order or server list, position in server list, item)
    let mut from_patch: Vec<(usize, Option<usize>, Value)> = Vec::new();
    let mut server_only: Vec<(usize, Option<usize>, Value)> = Vec::new();
    for item in merged {
        let k = item_key(&item, mode)?;
        let srv = server_idx.get(k.as_str()).copied();
        match order_idx.get(k.as_str()) {
            Some(&i) => from_patch.push((i, srv, item)),
            None => server_only.push((srv.unwrap_or(usize::MAX), srv, item)),
        }
    }
    from_patch.sort_by_key(|(i, _, _)| *i);
    server_only.sort_by_key(|(i, _, _)| *i);
    let mut out = Vec::with_capacity(from_patch.len() + server_only.len());
    let mut left = server_only.into_iter().peekable();
    let mut right = from_patch.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some((_, l, _)), Some((_, r, _))) => matches!((l, r), (Some(l), Some(r)) if l < r),
        };
        let next = if take_left { left.next() } else { right.next() };
        if let Some((_, _, item)) = next {
            out.push(item);
        }
    }
    Ok(out)
}

/// `validatePatchWithSetOrderList`: the patch's items must appear in the
/// `$setElementOrder` list, in the same relative order.
pub(crate) fn validate_with_order(
    patch_list: &[Value],
    order: &[Value],
    merge_key: Option<&str>,
) -> Result<(), PatchError> {
    if order.is_empty() || patch_list.is_empty() {
        return Ok(());
    }
    let mut non_delete = Vec::with_capacity(patch_list.len());
    for item in patch_list {
        if merge_key.is_some() {
            if !item.is_object() {
                return Err(bad_arg_type("map", item));
            }
            if item.get(DIRECTIVE).and_then(Value::as_str) == Some("delete") {
                continue;
            }
        }
        non_delete.push(item);
    }
    let (mut pi, mut oi) = (0, 0);
    while pi < non_delete.len() && oi < order.len() {
        let p = non_delete[pi];
        if p.get(DIRECTIVE).is_some() {
            pi += 1;
            continue;
        }
        let equal = match merge_key {
            None => p == &order[oi],
            Some(k) => {
                let o = &order[oi];
                if !o.is_object() {
                    return Err(bad_arg_type("map", o));
                }
                let pv = p.get(k).ok_or_else(|| no_merge_key(p, k))?;
                let ov = o.get(k).ok_or_else(|| no_merge_key(o, k))?;
                pv == ov
            }
        };
        if equal {
            pi += 1;
        }
        oi += 1;
    }
    if pi < non_delete.len() && oi >= order.len() {
        return Err(PatchError::StrategicMergeFailed(format!(
            "the order in patch list:\n{}\n doesn't match {SET_ELEMENT_ORDER} list:\n{}",
            go_value(&Value::Array(patch_list.to_vec())),
            go_value(&Value::Array(order.to_vec()))
        )));
    }
    Ok(())
}
