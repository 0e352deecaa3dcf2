//! Removal of the fields of a set from an object (structured-merge-diff's `RemoveItems`):
//! list items and map entries whose path is a member go; those with members below them
//! are walked. A list or map left empty on the way is dropped, as kube's typed object
//! drops it.

use super::{list_item_element, map_entry_node};
use crate::path::PathElement;
use crate::schema::{resolve, ListKind, Node, Schema, Shape};
use crate::set::Set;
use serde_json::{Map, Value};

/// `value` without the fields of `to_remove`; `None` when nothing is left.
pub fn remove_items(schema: &dyn Schema, node: Node, value: &Value, to_remove: &Set) -> Option<Value> {
    remove(schema, Some(node), value, to_remove)
}

fn remove(schema: &dyn Schema, node: Option<Node>, value: &Value, to_remove: &Set) -> Option<Value> {
    let Some(node) = node else { return Some(value.clone()) };
    match resolve(schema, node, Some(value)) {
        Shape::Scalar(_) | Shape::Invalid => Some(value.clone()),
        Shape::List(list) => {
            let items = value.as_array().filter(|a| !a.is_empty())?;
            if matches!(list.kind, ListKind::Atomic) {
                return None;
            }
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let Ok(pe) = list_item_element(schema, &list, item) else {
                    out.push(item.clone());
                    continue;
                };
                if to_remove.has_member(&pe) {
                    continue;
                }
                match to_remove.with_prefix(&pe).filter(|s| !s.is_empty()) {
                    Some(sub) => {
                        out.push(remove(schema, Some(list.element), item, sub).unwrap_or(Value::Null))
                    }
                    None => out.push(item.clone()),
                }
            }
            (!out.is_empty()).then_some(Value::Array(out))
        }
        Shape::Map(map) => {
            let obj = value.as_object().filter(|o| !o.is_empty())?;
            if map.atomic {
                return None;
            }
            let mut out = Map::new();
            for (key, child) in obj {
                let pe = PathElement::Field(key.clone());
                if to_remove.has_member(&pe) {
                    continue;
                }
                match to_remove.with_prefix(&pe).filter(|s| !s.is_empty()) {
                    Some(sub) => {
                        let (child_node, _) = map_entry_node(schema, Some(node), key);
                        if let Some(v) = remove(schema, child_node, child, sub) {
                            out.insert(key.clone(), v);
                        }
                    }
                    None => {
                        out.insert(key.clone(), child.clone());
                    }
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
    }
}
