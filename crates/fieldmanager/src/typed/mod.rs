//! Walks of an object along its schema, structured-merge-diff's `typed` package:
//! [`to_set::to_field_set`] (the fields an object sets), [`compare::compare`] (what
//! changed between two objects), [`created::created_fields_v1`] (the `FieldsV1` a create
//! records), [`merge::merge`] (an applied configuration over the live
//! object), [`remove::remove_items`] (drop the fields of a set) and
//! [`validate::validate`] (the checks an applied configuration must pass).
//!
//! Values are plain JSON. A node is `None` where the schema has no type for a field (an
//! undeclared field of a struct): such a value is one leaf. Recursion follows the value,
//! whose depth JSON decoding already bounds.

pub mod compare;
pub mod created;
pub mod merge;
pub mod remove;
pub mod to_set;
pub mod validate;

use crate::path::PathElement;
use crate::schema::{resolve_map_field, ListKind, ListShape, Node, Schema};
use serde_json::Value;

/// A list's items by their path element in order of first appearance, with how often each
/// appears (a repeated key is one member, whole); items without a valid key are left out.
pub(crate) fn items_by_key<'v>(
    schema: &dyn Schema,
    list: &ListShape<'_>,
    items: &'v [Value],
) -> Vec<(PathElement, &'v Value, usize)> {
    let mut order: Vec<(PathElement, &Value, usize)> = Vec::with_capacity(items.len());
    // Short lists (the usual ones) find a repeated key by a scan, long ones by an index.
    if items.len() <= 16 {
        for item in items {
            let Ok(pe) = list_item_element(schema, list, item) else { continue };
            match order.iter_mut().find(|(seen, _, _)| *seen == pe) {
                Some(seen) => seen.2 += 1,
                None => order.push((pe, item, 1)),
            }
        }
        return order;
    }
    let mut index: std::collections::BTreeMap<PathElement, usize> = std::collections::BTreeMap::new();
    for item in items {
        let Ok(pe) = list_item_element(schema, list, item) else { continue };
        match index.get(&pe) {
            Some(&i) => order[i].2 += 1,
            None => {
                index.insert(pe.clone(), order.len());
                order.push((pe, item, 1));
            }
        }
    }
    order
}

/// The path element of an item of an associative list: its key fields (with schema
/// defaults for the ones it leaves out) or, for a set, its value.
pub(crate) fn list_item_element(
    schema: &dyn Schema,
    list: &ListShape<'_>,
    item: &Value,
) -> Result<PathElement, String> {
    match list.kind {
        ListKind::Atomic => Err("invalid indexing of non-associative list".into()),
        ListKind::Map(keys) if !keys.is_empty() => {
            let obj = match item {
                Value::Null => return Err("associative list with keys may not have a null element".into()),
                Value::Object(o) => o,
                _ => return Err("associative list with keys may not have non-map elements".into()),
            };
            let mut fields = Vec::with_capacity(keys.len());
            for k in keys.iter() {
                if let Some(v) = obj.get(k) {
                    fields.push((k.to_string(), v.clone()));
                } else if let Some(d) = schema.field_default(list.element, k) {
                    fields.push((k.to_string(), d));
                }
            }
            if fields.is_empty() {
                let names: Vec<String> = keys.iter().map(apimachinery::status::quote).collect();
                return Err(format!(
                    "associative list with keys has an element that omits all key fields [{}] (and doesn't have default values for any key fields)",
                    names.join(" ")
                ));
            }
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(PathElement::Key(fields))
        }
        _ => match item {
            Value::Object(_) => Err("associative list without keys has an element that's a map type".into()),
            Value::Array(_) => Err("not supported: associative list with lists as elements".into()),
            Value::Null => Err("associative list without keys has an element that's an explicit null".into()),
            v => Ok(PathElement::Value(v.clone())),
        },
    }
}

/// A path being walked, borrowing field names from the value walked: turned into a
/// [`PathElement`] path only where one is recorded.
#[derive(Debug, Clone)]
pub(crate) enum Seg<'v> {
    Field(&'v str),
    Elem(PathElement),
}

pub(crate) fn owned_path(segs: &[Seg<'_>]) -> Vec<PathElement> {
    segs.iter()
        .map(|s| match s {
            Seg::Field(f) => PathElement::Field((*f).to_string()),
            Seg::Elem(pe) => pe.clone(),
        })
        .collect()
}

pub(crate) fn segs_string(segs: &[Seg<'_>]) -> String {
    segs.iter()
        .map(|s| match s {
            Seg::Field(f) => format!(".{f}"),
            Seg::Elem(pe) => pe.to_string(),
        })
        .collect()
}

/// The node of a map entry: the declared field's, else the map's element type.
pub(crate) fn map_entry_node(schema: &dyn Schema, node: Option<Node>, key: &str) -> (Option<Node>, bool) {
    match node {
        Some(n) => {
            let (declared, elem) = resolve_map_field(schema, n, key);
            (declared.or(elem), declared.is_some())
        }
        None => (None, false),
    }
}
