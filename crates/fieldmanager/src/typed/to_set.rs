//! The fields an object sets (structured-merge-diff's `ToFieldSet`): every scalar and
//! atomic value, every list item and map entry of a granular list or map; struct fields
//! only when they hold nothing (null or `{}`), their children standing for them otherwise.

use super::{list_item_element, map_entry_node};
use crate::path::PathElement;
use crate::schema::{resolve, ListKind, Node, Schema, Shape};
use crate::set::Set;
use serde_json::Value;
use std::collections::BTreeSet;

/// The field set of `value`, an object of the type `node`.
pub fn to_field_set(schema: &dyn Schema, node: Node, value: &Value) -> Set {
    let mut set = Set::new();
    walk(schema, Some(node), value, &mut Vec::new(), &mut set);
    set
}

fn walk(schema: &dyn Schema, node: Option<Node>, value: &Value, path: &mut Vec<PathElement>, set: &mut Set) {
    let Some(node) = node else {
        set.insert(path);
        return;
    };
    match resolve(schema, node, Some(value)) {
        Shape::Scalar(_) | Shape::Invalid => set.insert(path),
        Shape::List(list) => {
            if matches!(list.kind, ListKind::Atomic) {
                set.insert(path);
                return;
            }
            let Value::Array(items) = value else { return };
            let pes: Vec<Option<PathElement>> =
                items.iter().map(|item| list_item_element(schema, &list, item).ok()).collect();
            // Items whose key repeats are owned whole, once, and not walked.
            let mut seen: BTreeSet<&PathElement> = BTreeSet::new();
            let mut duplicates: BTreeSet<&PathElement> = BTreeSet::new();
            for pe in pes.iter().flatten() {
                if !seen.insert(pe) && duplicates.insert(pe) {
                    path.push(pe.clone());
                    set.insert(path);
                    path.pop();
                }
            }
            for (item, pe) in items.iter().zip(&pes) {
                let Some(pe) = pe else { continue };
                if duplicates.contains(&pe) {
                    continue;
                }
                path.push(pe.clone());
                walk(schema, Some(list.element), item, path, set);
                set.insert(path);
                path.pop();
            }
        }
        Shape::Map(map) => {
            if map.atomic {
                set.insert(path);
                return;
            }
            let Value::Object(obj) = value else { return };
            for (key, child) in obj {
                let (child_node, declared) = map_entry_node(schema, Some(node), key);
                path.push(PathElement::Field(key.clone()));
                walk(schema, child_node, child, path, set);
                let empty = child.is_null() || child.as_object().is_some_and(|o| o.is_empty());
                if empty || !declared {
                    set.insert(path);
                }
                path.pop();
            }
        }
    }
}
