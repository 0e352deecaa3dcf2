//! The type tree the field manager walks an object along: structured-merge-diff's schema.
//!
//! A node of the tree may be a scalar, a list and a map at once (an untyped node is all
//! three); the value decides which form applies ([`resolve`], structured-merge-diff's
//! `deduceAtom`). Lists are atomic (replaced whole), sets (items are their own identity)
//! or maps (items identified by key fields); maps and structs are granular (each field
//! owned on its own) or atomic.
//!
//! Implementations: [`builtin`] (every built-in kind, generated from kube's OpenAPI),
//! [`Deduced`] (kube's deduced schema for kinds with no schema: maps granular, lists
//! atomic). CustomResourceDefinitions bring their own from their structural schemas.

pub mod builtin;
mod generated;

use serde_json::Value;

/// A node of a schema's type tree; what the number means is the schema's business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Node(pub u32);

/// What a scalar node accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    /// Anything (`int-or-string`, `Quantity`, times, untyped nodes).
    Any,
    String,
    /// Integers and floats.
    Numeric,
    Boolean,
}

/// The key field names of a list-map.
#[derive(Debug, Clone, Copy)]
pub enum Keys<'a> {
    Static(&'static [&'static str]),
    Owned(&'a [String]),
}

impl<'a> Keys<'a> {
    pub fn len(&self) -> usize {
        match self {
            Self::Static(k) => k.len(),
            Self::Owned(k) => k.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a str> + '_ {
        let (a, b): (&'a [&'static str], &'a [String]) = match *self {
            Self::Static(k) => (k, &[]),
            Self::Owned(k) => (&[], k),
        };
        a.iter().copied().chain(b.iter().map(String::as_str))
    }
}

/// How a list's items are identified.
#[derive(Debug, Clone, Copy)]
pub enum ListKind<'a> {
    /// Replaced whole, owned as one field (`x-kubernetes-list-type: atomic`, the default).
    Atomic,
    /// Items are scalars that are their own identity (`set`).
    Set,
    /// Items are maps identified by these key fields (`map`).
    Map(Keys<'a>),
}

/// The list form of a node.
#[derive(Debug, Clone, Copy)]
pub struct ListShape<'a> {
    pub kind: ListKind<'a>,
    pub element: Node,
}

/// The map form of a node: declared fields (through [`Schema::field`]) and, for other
/// keys, an element type.
#[derive(Debug, Clone, Copy)]
pub struct MapShape {
    /// `x-kubernetes-map-type: atomic`: the map or struct is owned as one field.
    pub atomic: bool,
    /// The type of keys that are not declared fields; `None` when only fields are allowed.
    pub element: Option<Node>,
}

/// A type tree. Small and object-safe: the walkers only ask what a node can be and what
/// its declared fields are.
pub trait Schema: Send + Sync {
    /// The node's scalar form, if it has one.
    fn scalar(&self, node: Node) -> Option<Scalar>;
    /// The node's list form, if it has one.
    fn list(&self, node: Node) -> Option<ListShape<'_>>;
    /// The node's map form, if it has one.
    fn map(&self, node: Node) -> Option<MapShape>;
    /// A declared field of the node's map form.
    fn field(&self, node: Node, name: &str) -> Option<Node>;
    /// The default of a declared field, for list-map items that leave a key field out.
    fn field_default(&self, node: Node, name: &str) -> Option<Value>;
    /// The type's empty object as kube-apiserver encodes its Go zero value (what a create
    /// is compared against); `None` where there is no Go type: the empty JSON object.
    fn zero(&self, _node: Node) -> Option<Value> {
        None
    }
}

/// The form that applies to a node for a value (`None` when the value is absent).
#[derive(Debug, Clone, Copy)]
pub enum Shape<'a> {
    Scalar(Scalar),
    List(ListShape<'a>),
    Map(MapShape),
    /// The node has no form at all (a schema error); treated as a leaf.
    Invalid,
}

/// structured-merge-diff's `deduceAtom` then `handleAtom`: the form matching the value's
/// kind when the node has it, else the map form, then the scalar, then the list.
pub fn resolve<'s>(schema: &'s dyn Schema, node: Node, value: Option<&Value>) -> Shape<'s> {
    match value {
        Some(Value::Object(_)) => {
            if let Some(m) = schema.map(node) {
                return Shape::Map(m);
            }
        }
        Some(Value::Array(_)) => {
            if let Some(l) = schema.list(node) {
                return Shape::List(l);
            }
        }
        Some(Value::String(_) | Value::Number(_) | Value::Bool(_)) => {
            if let Some(s) = schema.scalar(node) {
                return Shape::Scalar(s);
            }
        }
        _ => {}
    }
    if let Some(m) = schema.map(node) {
        Shape::Map(m)
    } else if let Some(s) = schema.scalar(node) {
        Shape::Scalar(s)
    } else if let Some(l) = schema.list(node) {
        Shape::List(l)
    } else {
        Shape::Invalid
    }
}

/// A map key's node: the declared field's, else the element type's. Returns both
/// (declared, element) so callers can tell struct fields from map keys.
pub fn resolve_map_field(schema: &dyn Schema, node: Node, name: &str) -> (Option<Node>, Option<Node>) {
    let declared = schema.field(node, name);
    let elem = if declared.is_some() { None } else { schema.map(node).and_then(|m| m.element) };
    (declared, elem)
}

/// kube's deduced schema, for objects of kinds with no schema: maps are granular and
/// their values deduced again, lists atomic, scalars anything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Deduced;

impl Deduced {
    /// The root (and only granular) node.
    pub const ROOT: Node = Node(0);
    /// The untyped atomic node: lists and maps under it are owned whole.
    pub const ATOMIC: Node = Node(1);
}

impl Schema for Deduced {
    fn scalar(&self, _: Node) -> Option<Scalar> {
        Some(Scalar::Any)
    }

    fn list(&self, _: Node) -> Option<ListShape<'_>> {
        Some(ListShape { kind: ListKind::Atomic, element: Self::ATOMIC })
    }

    fn map(&self, node: Node) -> Option<MapShape> {
        Some(MapShape { atomic: node == Self::ATOMIC, element: Some(node) })
    }

    fn field(&self, _: Node, _: &str) -> Option<Node> {
        None
    }

    fn field_default(&self, _: Node, _: &str) -> Option<Value> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deduced_maps_are_granular_and_lists_atomic() {
        let s = Deduced;
        assert!(matches!(
            resolve(&s, Deduced::ROOT, Some(&json!({}))),
            Shape::Map(MapShape { atomic: false, .. })
        ));
        assert!(matches!(
            resolve(&s, Deduced::ROOT, Some(&json!([]))),
            Shape::List(ListShape { kind: ListKind::Atomic, .. })
        ));
        assert!(matches!(resolve(&s, Deduced::ROOT, Some(&json!(1))), Shape::Scalar(Scalar::Any)));
        assert!(matches!(resolve(&s, Deduced::ROOT, None), Shape::Map(_)));
    }

    #[test]
    fn keys_iterate_either_form() {
        let owned = vec!["a".to_string(), "b".to_string()];
        assert_eq!(Keys::Owned(&owned).iter().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(Keys::Static(&["x"]).iter().collect::<Vec<_>>(), ["x"]);
        assert!(Keys::Static(&[]).is_empty());
    }
}
