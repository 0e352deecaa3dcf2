//! The `FieldsV1` a create records, written straight from the object: what
//! [`compare::added_to_empty`](super::compare::added_to_empty) would find, less the fields an
//! endpoint resets and those never tracked, as [`crate::fieldsv1::to_fields_v1`] would write
//! that set, without building the set, its two differences and then the JSON (a create of
//! an object of many small fields spent most of its field manager time copying those).

use super::{items_by_key, map_entry_node};
use crate::path::PathElement;
use crate::schema::{resolve, ListKind, Node, Schema, Shape};
use crate::set::Set;
use serde_json::{Map, Value};

/// The fields `value` (an object of the type `node`) sets, as `FieldsV1`, less `reset` and
/// everything below its members (as [`Set::recursive_difference`] removes) and less `strip`
/// (as [`Set::difference`] removes). `None` where `added_to_empty` is `None`.
pub fn created_fields_v1(
    schema: &dyn Schema,
    node: Node,
    value: &Value,
    reset: Option<&Set>,
    strip: &Set,
) -> Option<Map<String, Value>> {
    let empty = Value::Object(Map::new());
    match (resolve(schema, node, Some(&empty)), resolve(schema, node, Some(value))) {
        (Shape::Map(l), Shape::Map(r)) if !l.atomic && !r.atomic && value.is_object() => {
            Some(below(schema, Some(node), value, Less { reset, strip: Some(strip) }, false))
        }
        _ => None,
    }
}

/// What is taken away at one level: the parts of the reset and strip sets under it.
#[derive(Clone, Copy)]
struct Less<'a> {
    reset: Option<&'a Set>,
    strip: Option<&'a Set>,
}

impl<'a> Less<'a> {
    fn none(&self) -> bool {
        self.reset.is_none() && self.strip.is_none()
    }

    /// Whether `pe` stays a member, and what is taken away below it (`None`: everything).
    fn at(&self, pe: &PathElement) -> (bool, Option<Less<'a>>) {
        let reset_member = self.reset.is_some_and(|r| r.has_member(pe));
        let strip_member = self.strip.is_some_and(|s| s.has_member(pe));
        let below = (!reset_member).then(|| Less {
            reset: self.reset.and_then(|r| r.with_prefix(pe)),
            strip: self.strip.and_then(|s| s.with_prefix(pe)),
        });
        (!reset_member && !strip_member, below)
    }
}

/// The `FieldsV1` entries strictly below a value (`compare`'s paths added with nothing on
/// their left), keys in the set's order; with `dot` (the value is a member itself) they
/// come after the `.` entry, which is there only when some entry follows: the entries of a
/// member are written in their place (no shift of an entry in front of them).
fn below(
    schema: &dyn Schema,
    node: Option<Node>,
    value: &Value,
    less: Less<'_>,
    dot: bool,
) -> Map<String, Value> {
    let Some(node) = node else { return Map::new() };
    match resolve(schema, node, Some(value)) {
        Shape::Scalar(_) | Shape::Invalid => Map::new(),
        Shape::List(list) => {
            let items = match value.as_array() {
                Some(items) if !items.is_empty() && !matches!(list.kind, ListKind::Atomic) => items,
                _ => return Map::new(),
            };
            let mut order = items_by_key(schema, &list, items);
            order.sort_by(|a, b| a.0.cmp(&b.0));
            let mut out = with_dot(order.len(), dot);
            for (pe, item, count) in &order {
                let child = (*count == 1).then_some((Some(list.element), *item));
                entry(schema, &mut out, pe.to_key(), pe, child, less);
            }
            without_lone_dot(out, dot)
        }
        Shape::Map(map) => {
            let obj = match value.as_object() {
                Some(obj) if !obj.is_empty() && !map.atomic => obj,
                _ => return Map::new(),
            };
            let mut fields: Vec<(&String, &Value)> = obj.iter().collect();
            fields.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            let mut out = with_dot(fields.len(), dot);
            for (name, child) in fields {
                let mut key = String::with_capacity(name.len() + 2);
                key.push_str("f:");
                key.push_str(name);
                // A leaf (nothing below a value that is neither an object nor a list, whatever
                // its type): a member with no entries, its type not even looked up.
                if less.none() && !matches!(child, Value::Object(_) | Value::Array(_)) {
                    out.insert(key, Value::Object(Map::new()));
                    continue;
                }
                let (child_node, _) = map_entry_node(schema, Some(node), name);
                if less.none() {
                    entry_kept(schema, &mut out, key, true, Some((child_node, child)), None);
                } else {
                    let pe = PathElement::Field(name.clone());
                    entry(schema, &mut out, key, &pe, Some((child_node, child)), less);
                }
            }
            without_lone_dot(out, dot)
        }
    }
}

/// An entry map for `n` entries, starting with `.` when `dot`.
fn with_dot(n: usize, dot: bool) -> Map<String, Value> {
    let mut out = Map::with_capacity(n + usize::from(dot));
    if dot {
        out.insert(".".into(), Value::Object(Map::new()));
    }
    out
}

/// Empty when the map holds nothing but the `.` that [`with_dot`] put first.
fn without_lone_dot(out: Map<String, Value>, dot: bool) -> Map<String, Value> {
    if dot && out.len() == 1 {
        return Map::new();
    }
    out
}

/// Writes the entry of element `pe` (a member, with `child` below it when it has one).
fn entry(
    schema: &dyn Schema,
    out: &mut Map<String, Value>,
    key: String,
    pe: &PathElement,
    child: Option<(Option<Node>, &Value)>,
    less: Less<'_>,
) {
    let (member, below_less) = less.at(pe);
    let Some(below_less) = below_less else {
        // A reset field: nothing of it or below it is recorded.
        return;
    };
    entry_kept(schema, out, key, member, child, Some(below_less));
}

fn entry_kept(
    schema: &dyn Schema,
    out: &mut Map<String, Value>,
    key: String,
    member: bool,
    child: Option<(Option<Node>, &Value)>,
    less: Option<Less<'_>>,
) {
    let less = less.unwrap_or(Less { reset: None, strip: None });
    // A member's entries come with their `.` in front already (none when it has none).
    let sub = match child {
        Some((node, v)) => below(schema, node, v, less, member),
        None => Map::new(),
    };
    if member || !sub.is_empty() {
        out.insert(key, Value::Object(sub));
    }
}
