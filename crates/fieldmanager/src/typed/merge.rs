//! The merge of an applied configuration (rhs) into the live object (lhs), as
//! structured-merge-diff's `Merge`: leaves and atomic values are taken from the
//! configuration; granular maps merge key by key; list-maps and sets merge item by item,
//! the configuration's items in its order with the live object's other items kept around
//! them.

use super::{list_item_element, map_entry_node, segs_string, Seg};
use crate::path::PathElement;
use crate::schema::{resolve, ListKind, ListShape, Node, Schema, Shape};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Merges `rhs` into `lhs`, both objects of the type `node`. Errors name the path of a
/// list the configuration repeats a key in, or of an item without keys.
pub fn merge(schema: &dyn Schema, node: Node, lhs: &Value, rhs: &Value) -> Result<Value, Vec<String>> {
    let mut w = Walker { schema, path: Vec::new(), errors: Vec::new(), prefix: String::new() };
    let out = w.merge(Some(node), Some(lhs), Some(rhs));
    if !w.errors.is_empty() {
        return Err(w.errors);
    }
    Ok(out.unwrap_or_else(|| Value::Object(Map::new())))
}

/// The item indexed under `pe`; a duplicated live item stands as `null`.
fn lookup<'v>(m: &BTreeMap<PathElement, Option<&'v Value>>, pe: &PathElement) -> Option<&'v Value> {
    static NULL: Value = Value::Null;
    m.get(pe).map(|v| v.unwrap_or(&NULL))
}

/// [`merge`] into `lhs` itself: granular maps are merged in place, key by key, so what the
/// configuration does not touch is neither copied nor rebuilt; other values (lists,
/// atomic values, scalars) are merged as [`merge`] does and replaced.
pub fn merge_into(schema: &dyn Schema, node: Node, lhs: &mut Value, rhs: &Value) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    in_place(schema, Some(node), lhs, rhs, &mut String::new(), &mut errors);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn in_place(
    schema: &dyn Schema,
    node: Option<Node>,
    lhs: &mut Value,
    rhs: &Value,
    path: &mut String,
    errors: &mut Vec<String>,
) {
    let Some(n) = node else {
        *lhs = rhs.clone();
        return;
    };
    if let (Shape::Map(map), Value::Object(r), Value::Object(l)) =
        (resolve(schema, n, Some(rhs)), rhs, &mut *lhs)
    {
        if !(map.atomic || l.is_empty() && r.is_empty()) {
            for (key, rv) in r {
                let (child, _) = map_entry_node(schema, Some(n), key);
                let len = path.len();
                path.push('.');
                path.push_str(key);
                match l.get_mut(key) {
                    Some(lv) => in_place(schema, child, lv, rv, path, errors),
                    None => {
                        let mut w =
                            Walker { schema, path: Vec::new(), errors: Vec::new(), prefix: path.clone() };
                        if let Some(v) = w.merge(child, None, Some(rv)) {
                            l.insert(key.clone(), v);
                        }
                        errors.append(&mut w.errors);
                    }
                }
                path.truncate(len);
            }
            return;
        }
    }
    let mut w = Walker { schema, path: Vec::new(), errors: Vec::new(), prefix: path.clone() };
    let out = w.merge(Some(n), Some(&*lhs), Some(rhs));
    errors.append(&mut w.errors);
    if let Some(v) = out {
        *lhs = v;
    }
}

impl Walker<'_, '_> {
    /// The path walked so far, for messages.
    fn where_(&self) -> String {
        format!("{}{}", self.prefix, segs_string(&self.path))
    }
}

struct Walker<'a, 'v> {
    schema: &'a dyn Schema,
    path: Vec<Seg<'v>>,
    errors: Vec<String>,
    /// The path down to where this walk started, for messages.
    prefix: String,
}

/// The configuration's value where it has one, else the live one.
fn keep_rhs(lhs: Option<&Value>, rhs: Option<&Value>) -> Option<Value> {
    rhs.or(lhs).cloned()
}

impl<'v> Walker<'_, 'v> {
    fn merge(&mut self, node: Option<Node>, lhs: Option<&'v Value>, rhs: Option<&'v Value>) -> Option<Value> {
        if lhs.is_none() && rhs.is_none() {
            return None;
        }
        let Some(node) = node else { return keep_rhs(lhs, rhs) };
        let l = resolve(self.schema, node, lhs);
        let r = resolve(self.schema, node, rhs);
        // When the two sides take different forms, the configuration's form decides.
        if rhs.is_none() {
            self.handle(node, l, lhs, rhs)
        } else {
            self.handle(node, r, lhs, rhs)
        }
    }

    fn handle(
        &mut self,
        node: Node,
        shape: Shape<'_>,
        lhs: Option<&'v Value>,
        rhs: Option<&'v Value>,
    ) -> Option<Value> {
        match shape {
            Shape::Scalar(_) | Shape::Invalid => keep_rhs(lhs, rhs),
            Shape::List(list) => {
                let l = lhs.and_then(Value::as_array);
                let r = rhs.and_then(Value::as_array);
                let empty = l.is_none_or(|x| x.is_empty()) && r.is_none_or(|x| x.is_empty());
                if matches!(list.kind, ListKind::Atomic) || empty {
                    return keep_rhs(lhs, rhs);
                }
                if l.is_none() && r.is_none() {
                    return None;
                }
                self.list_items(
                    &list,
                    l.map(Vec::as_slice).unwrap_or(&[]),
                    r.map(Vec::as_slice).unwrap_or(&[]),
                )
            }
            Shape::Map(map) => {
                let l = lhs.and_then(Value::as_object);
                let r = rhs.and_then(Value::as_object);
                let empty = l.is_none_or(Map::is_empty) && r.is_none_or(Map::is_empty);
                if map.atomic || empty {
                    return keep_rhs(lhs, rhs);
                }
                if l.is_none() && r.is_none() {
                    return None;
                }
                let in_l = |k: &str| l.is_some_and(|m| m.contains_key(k));
                let keys = l
                    .into_iter()
                    .flat_map(|m| m.keys())
                    .chain(r.into_iter().flat_map(|m| m.keys()).filter(|k| !in_l(k)));
                let mut out = Map::new();
                for key in keys {
                    let (child, _) = map_entry_node(self.schema, Some(node), key);
                    self.path.push(Seg::Field(key));
                    if let Some(v) = self.merge(child, l.and_then(|m| m.get(key)), r.and_then(|m| m.get(key)))
                    {
                        out.insert(key.clone(), v);
                    }
                    self.path.pop();
                }
                (!out.is_empty()).then_some(Value::Object(out))
            }
        }
    }

    /// Indexes a list by path element; duplicates are an error on the configuration side
    /// and stand as `null` on the live side.
    fn index(
        &mut self,
        list: &ListShape<'_>,
        items: &'v [Value],
        allow_duplicates: bool,
    ) -> (Vec<PathElement>, BTreeMap<PathElement, Option<&'v Value>>) {
        let mut pes = Vec::with_capacity(items.len());
        let mut observed: BTreeMap<PathElement, Option<&'v Value>> = BTreeMap::new();
        for (i, item) in items.iter().enumerate() {
            let pe = match list_item_element(self.schema, list, item) {
                Ok(pe) => pe,
                Err(e) => {
                    self.errors.push(format!("{}: element {i}: {e}", self.where_()));
                    continue;
                }
            };
            if observed.contains_key(&pe) {
                if !allow_duplicates {
                    self.errors.push(format!("{}: duplicate entries for key {pe}", self.where_()));
                    continue;
                }
                observed.insert(pe.clone(), None);
            } else {
                observed.insert(pe.clone(), Some(item));
            }
            pes.push(pe);
        }
        (pes, observed)
    }

    fn item(
        &mut self,
        list: &ListShape<'_>,
        pe: &PathElement,
        lhs: Option<&'v Value>,
        rhs: Option<&'v Value>,
    ) -> Option<Value> {
        self.path.push(Seg::Elem(pe.clone()));
        let out = self.merge(Some(list.element), lhs, rhs);
        self.path.pop();
        out
    }

    fn list_items(&mut self, list: &ListShape<'_>, lhs: &'v [Value], rhs: &'v [Value]) -> Option<Value> {
        let before = self.errors.len();
        let (rhs_pes, observed_rhs) = self.index(list, rhs, false);
        let (lhs_pes, observed_lhs) = self.index(list, lhs, true);
        if self.errors.len() > before {
            return None;
        }
        let shared: Vec<&PathElement> = rhs_pes.iter().filter(|pe| observed_lhs.contains_key(*pe)).collect();
        let mut shared = shared.into_iter();
        let mut next_shared = shared.next();
        let mut merged_rhs: BTreeSet<PathElement> = BTreeSet::new();
        let mut out = Vec::with_capacity(lhs.len().max(rhs.len()));
        let (mut li, mut ri) = (0, 0);
        while li < lhs_pes.len() || ri < rhs_pes.len() {
            if li < lhs_pes.len() && ri < rhs_pes.len() {
                let pe = &lhs_pes[li];
                if *pe == rhs_pes[ri] {
                    merged_rhs.insert(pe.clone());
                    let l = lookup(&observed_lhs, pe);
                    let r = lookup(&observed_rhs, pe);
                    out.extend(self.item(list, pe, l, r));
                    li += 1;
                    ri += 1;
                    next_shared = shared.next();
                    continue;
                }
                if observed_rhs.contains_key(pe) && next_shared.is_some_and(|n| n != pe) {
                    // A shared item out of the configuration's order: taken when the
                    // configuration reaches it.
                    li += 1;
                    continue;
                }
            }
            if li < lhs_pes.len() {
                let pe = &lhs_pes[li];
                if !observed_rhs.contains_key(pe) {
                    // Every live item has an element here (an error returned above otherwise).
                    out.extend(self.item(list, pe, lhs.get(li), None));
                    li += 1;
                    continue;
                } else if merged_rhs.contains(pe) {
                    li += 1;
                }
            }
            if ri < rhs_pes.len() {
                let pe = &rhs_pes[ri];
                merged_rhs.insert(pe.clone());
                let l = lookup(&observed_lhs, pe);
                let r = lookup(&observed_rhs, pe);
                out.extend(self.item(list, pe, l, r));
                ri += 1;
                if next_shared.is_some_and(|n| n == pe) {
                    next_shared = shared.next();
                }
            }
        }
        (!out.is_empty()).then_some(Value::Array(out))
    }
}
