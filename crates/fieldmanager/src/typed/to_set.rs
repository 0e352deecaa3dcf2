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
    walk(schema, Some(node), value).1
}

/// Whether the value is itself a member (a leaf), and the set of paths below it; built
/// bottom-up, each level sorted once.
fn walk(schema: &dyn Schema, node: Option<Node>, value: &Value) -> (bool, Set) {
    let Some(node) = node else { return (true, Set::new()) };
    match resolve(schema, node, Some(value)) {
        Shape::Scalar(_) | Shape::Invalid => (true, Set::new()),
        Shape::List(list) => {
            if matches!(list.kind, ListKind::Atomic) {
                return (true, Set::new());
            }
            let Value::Array(items) = value else { return (false, Set::new()) };
            let pes: Vec<Option<PathElement>> =
                items.iter().map(|item| list_item_element(schema, &list, item).ok()).collect();
            // Items whose key repeats are owned whole, once, and not walked.
            let mut seen: BTreeSet<&PathElement> = BTreeSet::new();
            let mut duplicates: BTreeSet<&PathElement> = BTreeSet::new();
            for pe in pes.iter().flatten() {
                if !seen.insert(pe) {
                    duplicates.insert(pe);
                }
            }
            let mut members: Vec<PathElement> = duplicates.iter().map(|pe| (*pe).clone()).collect();
            let mut children = Vec::new();
            for (item, pe) in items.iter().zip(&pes) {
                let Some(pe) = pe else { continue };
                if duplicates.contains(pe) {
                    continue;
                }
                let (_, below) = walk(schema, Some(list.element), item);
                members.push(pe.clone());
                children.push((pe.clone(), below));
            }
            (false, Set::from_parts(members, children))
        }
        Shape::Map(map) => {
            if map.atomic {
                return (true, Set::new());
            }
            let Value::Object(obj) = value else { return (false, Set::new()) };
            let mut members = Vec::new();
            let mut children = Vec::new();
            for (key, child) in obj {
                let (child_node, declared) = map_entry_node(schema, Some(node), key);
                let (leaf, below) = walk(schema, child_node, child);
                let empty = child.is_null() || child.as_object().is_some_and(|o| o.is_empty());
                if leaf || empty || !declared {
                    members.push(PathElement::Field(key.clone()));
                }
                if !below.is_empty() {
                    children.push((PathElement::Field(key.clone()), below));
                }
            }
            (false, Set::from_parts(members, children))
        }
    }
}
