//! The schema of kube's built-in kinds: a static table of nodes generated from kube's
//! OpenAPI by `codegen/generate.py` (see its doc for the source and the rules), read
//! through [`Builtin`].

use super::generated::{KINDS, NODES};
use super::{Keys, ListKind, ListShape, MapShape, Node, Scalar, Schema};
use serde_json::Value;

/// No element type.
pub(super) const NONE: u32 = u32::MAX;

/// A node's scalar form (`No`: none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum S {
    No,
    Any,
    Str,
    Num,
    Bool,
}

/// A list form's kind.
#[derive(Debug)]
pub(super) enum L {
    Atomic,
    Set,
    Map(&'static [&'static str]),
}

/// A declared field: name, node, default (JSON text), required.
#[derive(Debug)]
pub(super) struct F(pub &'static str, pub u32, pub Option<&'static str>, pub bool);

/// A map form: fields sorted by name, element node (`NONE`: none), atomic.
#[derive(Debug)]
pub(super) struct M {
    pub f: &'static [F],
    pub e: u32,
    pub a: bool,
}

/// A node: its scalar, list (kind, element) and map forms.
#[derive(Debug)]
pub(super) struct N {
    pub s: S,
    pub l: Option<(L, u32)>,
    pub m: Option<M>,
}

/// The built-in kinds' schema.
#[derive(Debug, Clone, Copy, Default)]
pub struct Builtin;

impl Builtin {
    /// The root node of a built-in kind, if kube 1.34 has it.
    pub fn root(group: &str, version: &str, kind: &str) -> Option<Node> {
        KINDS
            .binary_search_by(|(g, v, k, _)| (*g, *v, *k).cmp(&(group, version, kind)))
            .ok()
            .map(|i| Node(KINDS[i].3))
    }

    fn node(n: Node) -> Option<&'static N> {
        NODES.get(n.0 as usize)
    }

    fn map_def(n: Node) -> Option<&'static M> {
        Self::node(n).and_then(|d| d.m.as_ref())
    }

    fn field_def(n: Node, name: &str) -> Option<&'static F> {
        let m = Self::map_def(n)?;
        m.f.binary_search_by(|f| f.0.cmp(name)).ok().map(|i| &m.f[i])
    }
}

fn opt(id: u32) -> Option<Node> {
    (id != NONE).then_some(Node(id))
}

impl Schema for Builtin {
    fn scalar(&self, node: Node) -> Option<Scalar> {
        match Self::node(node)?.s {
            S::No => None,
            S::Any => Some(Scalar::Any),
            S::Str => Some(Scalar::String),
            S::Num => Some(Scalar::Numeric),
            S::Bool => Some(Scalar::Boolean),
        }
    }

    fn list(&self, node: Node) -> Option<ListShape<'_>> {
        let (kind, elem) = Self::node(node)?.l.as_ref()?;
        let kind = match kind {
            L::Atomic => ListKind::Atomic,
            L::Set => ListKind::Set,
            L::Map(keys) => ListKind::Map(Keys::Static(keys)),
        };
        Some(ListShape { kind, element: Node(*elem) })
    }

    fn map(&self, node: Node) -> Option<MapShape> {
        let m = Self::map_def(node)?;
        Some(MapShape { atomic: m.a, element: opt(m.e) })
    }

    fn field(&self, node: Node, name: &str) -> Option<Node> {
        Self::field_def(node, name).map(|f| Node(f.1))
    }

    fn field_default(&self, node: Node, name: &str) -> Option<Value> {
        Self::field_def(node, name)?.2.and_then(|text| serde_json::from_str(text).ok())
    }

    fn zero(&self, node: Node) -> Option<Value> {
        let mut zero = zero_value(node, 0);
        if let Some(fix) = zero_fix(node) {
            fix.apply(&mut zero);
        }
        Some(zero)
    }
}

/// Where Go's empty object differs from what the documents say: they tell neither pointers
/// from structs nor omitempty fields, so a few kinds' empty objects are corrected.
enum ZeroFix {
    /// Top-level `metav1.Time` / `MicroTime` fields that are not pointers: Go writes them `null`.
    NullTimes(&'static [&'static str]),
    /// A spec field required in the documents, yet an omitempty pointer in Go: absent.
    NoSpecField(&'static str),
    /// A spec that is a struct in Go with no defaults in the documents: kube's encoding of it.
    Spec(&'static str),
}

impl ZeroFix {
    fn apply(&self, zero: &mut Value) {
        let Some(o) = zero.as_object_mut() else { return };
        match self {
            ZeroFix::NullTimes(fields) => {
                for f in *fields {
                    o.insert((*f).to_string(), Value::Null);
                }
            }
            ZeroFix::NoSpecField(field) => {
                if let Some(spec) = o.get_mut("spec").and_then(Value::as_object_mut) {
                    spec.remove(*field);
                }
            }
            ZeroFix::Spec(text) => {
                o.insert("spec".into(), serde_json::from_str(text).unwrap_or(Value::Null));
            }
        }
    }
}

/// The corrections, by group and kind (every version).
const ZERO_FIXES: &[(&str, &str, ZeroFix)] = &[
    ("", "Event", ZeroFix::NullTimes(&["eventTime", "firstTimestamp", "lastTimestamp"])),
    (
        "events.k8s.io",
        "Event",
        ZeroFix::NullTimes(&["deprecatedFirstTimestamp", "deprecatedLastTimestamp", "eventTime"]),
    ),
    ("networking.k8s.io", "IPAddress", ZeroFix::NoSpecField("parentRef")),
    (
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        ZeroFix::Spec(r#"{"group": "", "names": {"plural": "", "kind": ""}, "scope": "", "versions": null}"#),
    ),
    (
        "apiregistration.k8s.io",
        "APIService",
        ZeroFix::Spec(r#"{"groupPriorityMinimum": 0, "versionPriority": 0}"#),
    ),
    ("storage.k8s.io", "CSINode", ZeroFix::Spec(r#"{"drivers": null}"#)),
];

/// The correction of a root node's empty object, if any: the fixes' root nodes are found in
/// `KINDS` once, not on every create.
fn zero_fix(node: Node) -> Option<&'static ZeroFix> {
    static ROOTS: std::sync::OnceLock<Vec<(u32, &'static ZeroFix)>> = std::sync::OnceLock::new();
    let roots = ROOTS.get_or_init(|| {
        KINDS
            .iter()
            .filter_map(|(g, _, k, n)| {
                ZERO_FIXES.iter().find(|(fg, fk, _)| (fg, fk) == (g, k)).map(|(_, _, fix)| (*n, fix))
            })
            .collect()
    });
    roots.iter().find(|(n, _)| *n == node.0).map(|(_, fix)| *fix)
}

/// Whether a field's default is also its Go zero value (`""`, `0`, `false`, `{}`), so that
/// kube-apiserver writes it in an empty object. Other defaults (a ReplicationController's
/// `replicas: 1`, a toleration's `operator: "Equal"`) come from defaulting, which an empty
/// object has not been through.
fn is_go_zero(text: &str) -> bool {
    matches!(text, "\"\"" | "0" | "false" | "{}" | "[]" | "null")
}

/// Deepest struct nesting followed for a zero value; built-in types are far shallower,
/// and a recursive type (none has a non-pointer cycle) stops here.
const ZERO_DEPTH: usize = 32;

/// The Go zero value of a struct type as kube-apiserver encodes it: fields whose default is a
/// Go zero (`{}` for non-pointer structs, `""`, `0`, `false`) and required fields without one
/// (`null`: lists, maps and pointers Go writes even when empty).
fn zero_value(node: Node, depth: usize) -> Value {
    let mut out = serde_json::Map::new();
    let Some(m) = Builtin::map_def(node) else { return Value::Object(out) };
    for f in m.f {
        let v = match f.2 {
            Some("{}") if depth < ZERO_DEPTH => zero_value(Node(f.1), depth + 1),
            Some(text) if is_go_zero(text) => serde_json::from_str(text).unwrap_or(Value::Null),
            Some(_) => continue,
            None if f.3 => Value::Null,
            None => continue,
        };
        out.insert(f.0.to_string(), v);
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{resolve, Shape};
    use serde_json::json;

    fn path(schema: &Builtin, mut n: Node, fields: &[&str]) -> Node {
        for f in fields {
            n = match schema.field(n, f) {
                Some(c) => c,
                None => schema
                    .list(n)
                    .map(|l| l.element)
                    .or_else(|| schema.map(n).and_then(|m| m.element))
                    .unwrap(),
            };
        }
        n
    }

    #[test]
    fn table_is_consistent() {
        for (i, n) in NODES.iter().enumerate() {
            if let Some((_, e)) = &n.l {
                assert!((*e as usize) < NODES.len(), "node {i}");
            }
            if let Some(m) = &n.m {
                assert!(m.e == NONE || (m.e as usize) < NODES.len(), "node {i}");
                assert!(m.f.windows(2).all(|w| w[0].0 < w[1].0), "fields of node {i} unsorted");
                for f in m.f {
                    assert!((f.1 as usize) < NODES.len());
                    if let Some(d) = f.2 {
                        serde_json::from_str::<Value>(d).unwrap();
                    }
                }
            }
        }
        assert!(KINDS.windows(2).all(|w| (w[0].0, w[0].1, w[0].2) < (w[1].0, w[1].1, w[1].2)));
    }

    #[test]
    fn deployment_shapes_match_kube() {
        let s = Builtin;
        let root = Builtin::root("apps", "v1", "Deployment").unwrap();
        let containers = path(&s, root, &["spec", "template", "spec", "containers"]);
        match s.list(containers).unwrap().kind {
            ListKind::Map(k) => assert_eq!(k.iter().collect::<Vec<_>>(), ["name"]),
            other => panic!("{other:?}"),
        }
        let ports = path(&s, containers, &["x", "ports"]);
        match s.list(ports).unwrap().kind {
            ListKind::Map(k) => assert_eq!(k.iter().collect::<Vec<_>>(), ["containerPort", "protocol"]),
            other => panic!("{other:?}"),
        }
        let port = s.list(ports).unwrap().element;
        assert_eq!(s.field_default(port, "protocol"), Some(json!("TCP")));
        assert_eq!(s.field_default(port, "hostIP"), None);
        let selector = path(&s, root, &["spec", "selector"]);
        assert!(s.map(selector).unwrap().atomic);
        let labels = path(&s, root, &["metadata", "labels"]);
        assert!(!s.map(labels).unwrap().atomic);
        assert_eq!(s.scalar(path(&s, root, &["spec", "replicas"])), Some(Scalar::Numeric));
        let finalizers = path(&s, root, &["metadata", "finalizers"]);
        assert!(matches!(s.list(finalizers).unwrap().kind, ListKind::Set));
        let tolerations = path(&s, root, &["spec", "template", "spec", "tolerations"]);
        assert!(matches!(s.list(tolerations).unwrap().kind, ListKind::Atomic));
        let zero = s.zero(root).unwrap();
        assert_eq!(
            zero,
            json!({"metadata": {}, "spec": {"selector": null, "strategy": {},
                "template": {"metadata": {}, "spec": {"containers": null}}}, "status": {}})
        );
        let quantity = path(&s, containers, &["x", "resources", "limits", "cpu"]);
        assert!(matches!(resolve(&s, quantity, Some(&json!("1"))), Shape::Scalar(Scalar::Any)));
        assert!(Builtin::root("apps", "v1", "Nope").is_none());
        assert!(Builtin::root("", "v1", "ConfigMap").is_some());
    }

    #[test]
    fn zero_values_hold_go_zeros_only() {
        let s = Builtin;
        // A ReplicationController's `replicas: 1` is a default of kube's defaulting, not of
        // Go's empty object (a pointer there).
        let rc = Builtin::root("", "v1", "ReplicationController").unwrap();
        let zero = s.zero(rc).unwrap();
        assert_eq!(zero["spec"].get("replicas"), None, "{zero}");
        // An Event's times are structs, not pointers: Go writes them as null.
        let event = Builtin::root("", "v1", "Event").unwrap();
        let zero = s.zero(event).unwrap();
        for f in ["eventTime", "firstTimestamp", "lastTimestamp"] {
            assert_eq!(zero.get(f), Some(&Value::Null), "{f}: {zero}");
        }
        assert_eq!(zero["reportingComponent"], json!(""));
        let event = Builtin::root("events.k8s.io", "v1", "Event").unwrap();
        assert_eq!(s.zero(event).unwrap().get("deprecatedLastTimestamp"), Some(&Value::Null));
        let address = Builtin::root("networking.k8s.io", "v1", "IPAddress").unwrap();
        assert_eq!(s.zero(address).unwrap()["spec"], json!({}));
        let crd = Builtin::root("apiextensions.k8s.io", "v1", "CustomResourceDefinition").unwrap();
        assert_eq!(s.zero(crd).unwrap()["spec"]["names"], json!({"plural": "", "kind": ""}));
    }

    #[test]
    fn field_level_map_type_overrides_the_type() {
        let s = Builtin;
        let pv = Builtin::root("", "v1", "PersistentVolume").unwrap();
        let claim_ref = path(&s, pv, &["spec", "claimRef"]);
        assert!(!s.map(claim_ref).unwrap().atomic);
        let pod = Builtin::root("", "v1", "Pod").unwrap();
        let secret_key_ref =
            path(&s, pod, &["spec", "containers", "x", "env", "x", "valueFrom", "secretKeyRef"]);
        assert!(s.map(secret_key_ref).unwrap().atomic);
    }
}
