//! What changed between two objects of one type (structured-merge-diff's `Compare`):
//! the paths removed, modified and added. Atomic values and empty lists and maps compare
//! as one leaf; granular ones item by item; a path present on one side only is added or
//! removed as a whole.

use super::{items_by_key, list_item_element, map_entry_node, owned_path, Seg};
use crate::path::{values_equal, PathElement};
use crate::schema::{resolve, ListKind, Node, Schema, Shape};
use crate::set::Set;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The paths that differ between two objects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    pub removed: Set,
    pub modified: Set,
    pub added: Set,
}

impl Comparison {
    pub fn is_same(&self) -> bool {
        self.removed.is_empty() && self.modified.is_empty() && self.added.is_empty()
    }

    /// Drops the paths of `fields` and everything below them (the fields an endpoint resets).
    pub fn exclude(&mut self, fields: &Set) {
        self.removed = self.removed.recursive_difference(fields);
        self.modified = self.modified.recursive_difference(fields);
        self.added = self.added.recursive_difference(fields);
    }
}

/// Compares `lhs` (before) with `rhs` (after), both objects of the type `node`.
pub fn compare(schema: &dyn Schema, node: Node, lhs: &Value, rhs: &Value) -> Comparison {
    let mut c = Comparison::default();
    let mut w = Walker { schema, path: Vec::new(), out: &mut c };
    w.compare(Some(node), Some(lhs), Some(rhs));
    c
}

struct Walker<'a, 'v> {
    schema: &'a dyn Schema,
    path: Vec<Seg<'v>>,
    out: &'a mut Comparison,
}

fn same_form(a: &Shape<'_>, b: &Shape<'_>) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

impl<'v> Walker<'_, 'v> {
    fn compare(&mut self, node: Option<Node>, lhs: Option<&'v Value>, rhs: Option<&'v Value>) {
        if lhs.is_none() && rhs.is_none() {
            return;
        }
        let in_leaf = match node {
            None => self.leaf(lhs, rhs),
            Some(node) => {
                let l = resolve(self.schema, node, lhs);
                let r = resolve(self.schema, node, rhs);
                if rhs.is_none() {
                    self.handle(node, l, lhs, rhs)
                } else if lhs.is_none() || same_form(&l, &r) {
                    self.handle(node, r, lhs, rhs)
                } else {
                    self.handle(node, l, lhs, rhs);
                    self.handle(node, r, lhs, rhs)
                }
            }
        };
        if !in_leaf {
            if lhs.is_none() {
                self.out.added.insert(&owned_path(&self.path));
            } else if rhs.is_none() {
                self.out.removed.insert(&owned_path(&self.path));
            }
        }
    }

    /// Returns whether the value was compared as one leaf.
    fn handle(
        &mut self,
        node: Node,
        shape: Shape<'_>,
        lhs: Option<&'v Value>,
        rhs: Option<&'v Value>,
    ) -> bool {
        match shape {
            Shape::Scalar(_) | Shape::Invalid => self.leaf(lhs, rhs),
            Shape::List(list) => {
                let l = lhs.and_then(Value::as_array);
                let r = rhs.and_then(Value::as_array);
                let empty = l.is_none_or(|x| x.is_empty()) && r.is_none_or(|x| x.is_empty());
                if matches!(list.kind, ListKind::Atomic) || empty {
                    return self.leaf(lhs, rhs);
                }
                self.list_items(
                    &list,
                    l.map(Vec::as_slice).unwrap_or(&[]),
                    r.map(Vec::as_slice).unwrap_or(&[]),
                );
                false
            }
            Shape::Map(map) => {
                let l = lhs.and_then(Value::as_object);
                let r = rhs.and_then(Value::as_object);
                let empty = l.is_none_or(Map::is_empty) && r.is_none_or(Map::is_empty);
                if map.atomic || empty {
                    return self.leaf(lhs, rhs);
                }
                self.map_items(node, l, r);
                false
            }
        }
    }

    fn leaf(&mut self, lhs: Option<&Value>, rhs: Option<&Value>) -> bool {
        match (lhs, rhs) {
            (None, Some(_)) => self.out.added.insert(&owned_path(&self.path)),
            (Some(_), None) => self.out.removed.insert(&owned_path(&self.path)),
            (Some(a), Some(b)) if !values_equal(a, b) => self.out.modified.insert(&owned_path(&self.path)),
            _ => {}
        }
        true
    }

    fn map_items(
        &mut self,
        node: Node,
        lhs: Option<&'v Map<String, Value>>,
        rhs: Option<&'v Map<String, Value>>,
    ) {
        let in_lhs = |k: &str| lhs.is_some_and(|m| m.contains_key(k));
        let keys = lhs
            .into_iter()
            .flat_map(|m| m.keys())
            .chain(rhs.into_iter().flat_map(|m| m.keys()).filter(|k| !in_lhs(k)));
        for key in keys {
            let (child, _) = map_entry_node(self.schema, Some(node), key);
            self.path.push(Seg::Field(key));
            self.compare(child, lhs.and_then(|m| m.get(key)), rhs.and_then(|m| m.get(key)));
            self.path.pop();
        }
    }

    fn list_items(&mut self, list: &crate::schema::ListShape<'_>, lhs: &'v [Value], rhs: &'v [Value]) {
        let mut order: Vec<PathElement> = Vec::new();
        let mut l_values: BTreeMap<PathElement, Vec<&'v Value>> = BTreeMap::new();
        for item in lhs {
            let Ok(pe) = list_item_element(self.schema, list, item) else { continue };
            match l_values.get_mut(&pe) {
                Some(v) => v.push(item),
                None => {
                    order.push(pe.clone());
                    l_values.insert(pe, vec![item]);
                }
            }
        }
        let mut r_values: BTreeMap<PathElement, Vec<&'v Value>> = BTreeMap::new();
        for item in rhs {
            let Ok(pe) = list_item_element(self.schema, list, item) else { continue };
            match r_values.get_mut(&pe) {
                Some(v) => v.push(item),
                None => {
                    if !l_values.contains_key(&pe) {
                        order.push(pe.clone());
                    }
                    r_values.insert(pe, vec![item]);
                }
            }
        }
        for pe in order {
            let l: Vec<&'v Value> = l_values.get(&pe).cloned().unwrap_or_default();
            let r: Vec<&'v Value> = r_values.get(&pe).cloned().unwrap_or_default();
            self.path.push(Seg::Elem(pe));
            match (l.len(), r.len()) {
                (0..=1, 0..=1) => self.compare(Some(list.element), l.first().copied(), r.first().copied()),
                (2.., 2..) => {
                    if l.len() != r.len() || l.iter().zip(&r).any(|(a, b)| !values_equal(a, b)) {
                        self.out.modified.insert(&owned_path(&self.path));
                    }
                }
                (2.., _) => {
                    if let Some(first) = r.first() {
                        self.compare(Some(list.element), None, Some(first));
                    }
                    self.out.removed.insert(&owned_path(&self.path));
                }
                (_, _) => {
                    if let Some(first) = l.first() {
                        self.compare(Some(list.element), Some(first), None);
                    }
                    self.out.added.insert(&owned_path(&self.path));
                }
            }
            self.path.pop();
        }
    }
}

/// What [`compare`] finds added when `lhs` is an empty object and `rhs` is `value`, an
/// object of the type `node` (a create: every path of the object, struct fields and
/// granular maps and lists included, an item whose key repeats once and whole), built
/// bottom-up in one walk instead of inserting each path from the root. `None` when the
/// object is not a granular map, where only [`compare`] says.
pub fn added_to_empty(schema: &dyn Schema, node: Node, value: &Value) -> Option<Set> {
    let empty = Value::Object(Map::new());
    match (resolve(schema, node, Some(&empty)), resolve(schema, node, Some(value))) {
        (Shape::Map(l), Shape::Map(r)) if !l.atomic && !r.atomic && value.is_object() => {
            Some(below(schema, Some(node), value))
        }
        _ => None,
    }
}

/// The paths strictly below one that `compare` adds with nothing on its left.
fn below(schema: &dyn Schema, node: Option<Node>, value: &Value) -> Set {
    let Some(node) = node else { return Set::new() };
    match resolve(schema, node, Some(value)) {
        Shape::Scalar(_) | Shape::Invalid => Set::new(),
        Shape::List(list) => {
            let items = match value.as_array() {
                Some(items) if !items.is_empty() && !matches!(list.kind, ListKind::Atomic) => items,
                _ => return Set::new(),
            };
            let order = items_by_key(schema, &list, items);
            let mut members = Vec::with_capacity(order.len());
            let mut children = Vec::new();
            for (pe, item, count) in order {
                if count == 1 {
                    children.push((pe.clone(), below(schema, Some(list.element), item)));
                }
                members.push(pe);
            }
            Set::from_parts(members, children)
        }
        Shape::Map(map) => {
            let obj = match value.as_object() {
                Some(obj) if !obj.is_empty() && !map.atomic => obj,
                _ => return Set::new(),
            };
            let mut members = Vec::with_capacity(obj.len());
            let mut children = Vec::new();
            for (key, child) in obj {
                let (child_node, _) = map_entry_node(schema, Some(node), key);
                members.push(PathElement::Field(key.clone()));
                children.push((PathElement::Field(key.clone()), below(schema, child_node, child)));
            }
            Set::from_parts(members, children)
        }
    }
}
