//! The server-side apply schema of a custom resource: its structural schema as the type
//! tree the field manager walks (kube builds the same from a CRD with
//! `managedfields.NewTypeConverter` over the published OpenAPI): `x-kubernetes-list-type`
//! and `x-kubernetes-list-map-keys` give lists their identity, `x-kubernetes-map-type:
//! atomic` makes maps and structs owned whole, `x-kubernetes-preserve-unknown-fields`
//! and `additionalProperties` give maps their element, int-or-string is a scalar of any
//! kind. `metadata` is ObjectMeta's (labels and annotations granular, finalizers a set,
//! ownerReferences a map keyed by uid); parts with no type are deduced (maps granular,
//! lists atomic).

use apiextensions::props::{Items, Props};
use fieldmanager::schema::{Keys, ListKind, ListShape, MapShape, Scalar};
use fieldmanager::{Node, Schema};
use serde_json::Value;
use std::collections::BTreeMap;

/// How deep a schema is followed; deeper parts are deduced.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone)]
enum List {
    Atomic,
    Set,
    Map(Vec<String>),
}

#[derive(Debug, Default, Clone)]
struct NodeData {
    scalar: Option<Scalar>,
    list: Option<(List, u32)>,
    map: Option<(bool, Option<u32>)>,
    fields: BTreeMap<String, u32>,
    defaults: BTreeMap<String, Value>,
}

/// A custom resource version's type tree.
#[derive(Debug)]
pub struct CrdSchema {
    nodes: Vec<NodeData>,
}

const ROOT: u32 = 0;
/// Untyped, granular maps: kube's deduced type.
const DEDUCED: u32 = 1;
/// Untyped, owned whole.
const ATOMIC: u32 = 2;

impl CrdSchema {
    /// The tree of a version's structural schema (`None`: no schema, everything deduced).
    pub fn new(schema: Option<&Props>) -> CrdSchema {
        let untyped = |atomic: bool, me: u32| NodeData {
            scalar: Some(Scalar::Any),
            list: Some((List::Atomic, ATOMIC)),
            map: Some((atomic, Some(me))),
            ..Default::default()
        };
        let mut s =
            CrdSchema { nodes: vec![NodeData::default(), untyped(false, DEDUCED), untyped(true, ATOMIC)] };
        let root = match schema {
            Some(p) => s.build(p, 0),
            None => DEDUCED,
        };
        let mut data = s.nodes[root as usize].clone();
        if data.map.is_none() {
            data = s.nodes[DEDUCED as usize].clone();
        }
        s.add_type_meta(&mut data);
        s.nodes[ROOT as usize] = data;
        s
    }

    /// The root node (the custom resource itself).
    pub fn root(&self) -> Node {
        Node(ROOT)
    }

    fn push(&mut self, data: NodeData) -> u32 {
        self.nodes.push(data);
        u32::try_from(self.nodes.len() - 1).unwrap_or(DEDUCED)
    }

    fn scalar(&mut self, kind: Scalar) -> u32 {
        self.push(NodeData { scalar: Some(kind), ..Default::default() })
    }

    /// `apiVersion`, `kind` and ObjectMeta's `metadata` (the root and embedded resources).
    fn add_type_meta(&mut self, data: &mut NodeData) {
        let string = self.scalar(Scalar::String);
        data.fields.insert("apiVersion".into(), string);
        data.fields.insert("kind".into(), string);
        let meta = self.object_meta();
        data.fields.insert("metadata".into(), meta);
    }

    fn object_meta(&mut self) -> u32 {
        let string = self.scalar(Scalar::String);
        let boolean = self.scalar(Scalar::Boolean);
        let strings = self.push(NodeData { map: Some((false, Some(string))), ..Default::default() });
        let finalizers = self.push(NodeData { list: Some((List::Set, string)), ..Default::default() });
        let mut owner = NodeData { map: Some((false, None)), ..Default::default() };
        for f in ["apiVersion", "kind", "name", "uid"] {
            owner.fields.insert(f.into(), string);
        }
        for f in ["controller", "blockOwnerDeletion"] {
            owner.fields.insert(f.into(), boolean);
        }
        let owner = self.push(owner);
        let owners =
            self.push(NodeData { list: Some((List::Map(vec!["uid".into()]), owner)), ..Default::default() });
        // ObjectMeta's fields and no others: an unknown one is kube's `field not declared in
        // schema` (its type converter reads ObjectMeta's OpenAPI schema).
        let number = self.scalar(Scalar::Numeric);
        let mut meta = NodeData { map: Some((false, None)), ..Default::default() };
        meta.fields.insert("labels".into(), strings);
        meta.fields.insert("annotations".into(), strings);
        meta.fields.insert("finalizers".into(), finalizers);
        meta.fields.insert("ownerReferences".into(), owners);
        meta.fields.insert("managedFields".into(), ATOMIC);
        for f in ["name", "generateName", "namespace", "selfLink", "uid", "resourceVersion"] {
            meta.fields.insert(f.into(), string);
        }
        for f in ["creationTimestamp", "deletionTimestamp"] {
            meta.fields.insert(f.into(), self.scalar(Scalar::Any));
        }
        for f in ["generation", "deletionGracePeriodSeconds"] {
            meta.fields.insert(f.into(), number);
        }
        self.push(meta)
    }

    fn build(&mut self, p: &Props, depth: usize) -> u32 {
        if depth > MAX_DEPTH {
            return DEDUCED;
        }
        if p.x_int_or_string {
            return self.scalar(Scalar::Any);
        }
        let preserve = p.x_preserve_unknown_fields == Some(true);
        match p.type_.as_str() {
            "string" => self.scalar(Scalar::String),
            "integer" | "number" => self.scalar(Scalar::Numeric),
            "boolean" => self.scalar(Scalar::Boolean),
            "array" => {
                let element = match &p.items {
                    Some(Items::Schema(item)) => self.build(item, depth + 1),
                    _ => DEDUCED,
                };
                let kind = match p.x_list_type.as_deref() {
                    Some("set") => List::Set,
                    Some("map") => List::Map(p.x_list_map_keys.clone()),
                    _ => List::Atomic,
                };
                self.push(NodeData { list: Some((kind, element)), ..Default::default() })
            }
            "object" => {
                let atomic = p.x_map_type.as_deref() == Some("atomic");
                let mut data = NodeData::default();
                for (name, prop) in &p.properties {
                    let child = self.build(prop, depth + 1);
                    data.fields.insert(name.clone(), child);
                    if let Some(d) = &prop.default {
                        data.defaults.insert(name.clone(), d.clone());
                    }
                }
                let element = match &p.additional_properties {
                    Some(ap) => match &ap.schema {
                        Some(s) => Some(self.build(s, depth + 1)),
                        None if ap.allows => Some(DEDUCED),
                        None => None,
                    },
                    None if preserve => Some(if atomic { ATOMIC } else { DEDUCED }),
                    None => None,
                };
                data.map = Some((atomic, element));
                if p.x_embedded_resource {
                    self.add_type_meta(&mut data);
                }
                self.push(data)
            }
            _ if preserve => DEDUCED,
            _ => self.push(NodeData {
                scalar: Some(Scalar::Any),
                list: Some((List::Atomic, ATOMIC)),
                map: Some((false, Some(DEDUCED))),
                ..Default::default()
            }),
        }
    }

    fn node(&self, n: Node) -> &NodeData {
        self.nodes.get(n.0 as usize).unwrap_or(&self.nodes[DEDUCED as usize])
    }
}

impl Schema for CrdSchema {
    fn scalar(&self, node: Node) -> Option<Scalar> {
        self.node(node).scalar
    }

    fn list(&self, node: Node) -> Option<ListShape<'_>> {
        let (kind, element) = self.node(node).list.as_ref()?;
        let kind = match kind {
            List::Atomic => ListKind::Atomic,
            List::Set => ListKind::Set,
            List::Map(keys) => ListKind::Map(Keys::Owned(keys)),
        };
        Some(ListShape { kind, element: Node(*element) })
    }

    fn map(&self, node: Node) -> Option<MapShape> {
        let (atomic, element) = self.node(node).map?;
        Some(MapShape { atomic, element: element.map(Node) })
    }

    fn field(&self, node: Node, name: &str) -> Option<Node> {
        self.node(node).fields.get(name).copied().map(Node)
    }

    fn field_default(&self, node: Node, name: &str) -> Option<Value> {
        self.node(node).defaults.get(name).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn list_types_and_map_types_come_from_the_schema() {
        let mut errs = Vec::new();
        let schema = Props::parse(
            &json!({"type": "object", "properties": {
            "spec": {"type": "object", "properties": {
                "ports": {"type": "array", "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    "items": {"type": "object", "properties": {"name": {"type": "string"}, "port": {"type": "integer", "default": 80}}}},
                "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                "selector": {"type": "object", "x-kubernetes-map-type": "atomic", "additionalProperties": {"type": "string"}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}),
            "",
            &mut errs,
        );
        assert!(errs.is_empty(), "{errs:?}");
        let s = CrdSchema::new(Some(&schema));
        let spec = s.field(s.root(), "spec").expect("spec");
        let ports = s.list(s.field(spec, "ports").expect("ports")).expect("list");
        assert!(matches!(ports.kind, ListKind::Map(k) if k.iter().collect::<Vec<_>>() == ["name"]));
        assert_eq!(s.field_default(ports.element, "port"), Some(json!(80)));
        assert!(matches!(s.list(s.field(spec, "tags").expect("tags")).map(|l| l.kind), Some(ListKind::Set)));
        assert!(s.map(s.field(spec, "selector").expect("selector")).is_some_and(|m| m.atomic));
        let free = s.map(s.field(spec, "free").expect("free")).expect("map");
        assert!(!free.atomic && free.element.is_some());
        let meta = s.field(s.root(), "metadata").expect("metadata");
        assert!(matches!(
            s.list(s.field(meta, "finalizers").expect("finalizers")).map(|l| l.kind),
            Some(ListKind::Set)
        ));
        // ObjectMeta declares its fields, and only those.
        assert!(s.field(meta, "creationTimestamp").is_some() && s.field(meta, "managedFields").is_some());
        assert!(s.field(meta, "unknownMeta").is_none());
        assert!(s.map(meta).is_some_and(|m| m.element.is_none()));
    }

    /// The `managedFields` of a create (the field manager's one walk) are those of an update
    /// from an empty object (the general path's comparison), for custom resources of schemas
    /// with map, set and atomic lists, atomic maps, free-form and int-or-string fields, with
    /// the main resource's reset `status` and without.
    #[test]
    fn a_create_records_what_an_update_from_nothing_does() {
        let bench: Value = serde_json::from_str(include_str!("../../bench/data/widget-crd.json")).unwrap();
        let widget_schema = bench.pointer("/spec/versions/0/schema/openAPIV3Schema").unwrap().clone();
        let other_schema = json!({"type": "object", "properties": {
            "spec": {"type": "object", "properties": {
                "pairs": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["a", "b"],
                    "items": {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer", "default": 1},
                        "inner": {"type": "array", "items": {"type": "string"}}}}},
                "nums": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "integer"}},
                "long": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                "atomic": {"type": "array", "items": {"type": "object", "properties": {"x": {"type": "string"}}}},
                "selector": {"type": "object", "x-kubernetes-map-type": "atomic", "additionalProperties": {"type": "string"}},
                "struct": {"type": "object", "x-kubernetes-map-type": "atomic", "properties": {"x": {"type": "string"}}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "ios": {"x-kubernetes-int-or-string": true},
                "deep": {"type": "object", "additionalProperties": {"type": "object", "additionalProperties": {"type": "array",
                    "x-kubernetes-list-type": "set", "items": {"type": "string"}}}}}},
            "status": {"type": "object", "properties": {"phase": {"type": "string"}}}}});
        let widget = json!({"apiVersion": "bench.kubeward.io/v1", "kind": "Widget",
            "metadata": {"name": "w", "namespace": "n", "labels": {"app": "x", "tier": "y"}, "finalizers": ["a", "b"],
                "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "c", "uid": "u"}]},
            "spec": {"image": "i", "owner": "o", "description": "<&>\"quoted\"", "mode": "Passive", "paused": false,
                "replicas": 3, "minReplicas": 1, "maxReplicas": 5, "ratio": 0.25, "tags": ["alpha", "beta", "alpha"],
                "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}, {"name": "metrics", "port": 9090},
                    {"name": "http", "port": 1}, {"port": 2}],
                "resources": {"cpu": "250m", "memory": "512Mi"}, "schedule": {"start": "2026-01-01T00:00:00Z"},
                "env": {"A": "1", "B": ""}, "empty": {}, "nothing": null},
            "status": {"phase": "Ready", "observedGeneration": 2}});
        // Longer than the lists whose repeats are found by a scan.
        let long: Vec<String> = (0..40).map(|i| format!("s{}", (i * 7) % 23)).collect();
        let other = json!({"apiVersion": "example.com/v1", "kind": "Other", "metadata": {"name": "o"},
            "spec": {"pairs": [{"a": "x"}, {"a": "x", "b": 2, "inner": ["p", "q"]}, {"a": "x", "b": 1}, {"b": 3}, "bad"],
                "nums": [3, 1, 2, 1.5], "long": long, "atomic": [{"x": "1"}], "selector": {"k": "v"}, "struct": {"x": "y"},
                "free": {"a": {"b": [1, {"c": 2}]}, "d": []}, "ios": 3,
                "deep": {"one": {"two": ["z", "y"], "three": []}, "empty": {}}},
            "status": {"phase": "P"}});
        let cases = [(widget_schema, widget), (other_schema, other)];
        for (schema, obj) in cases {
            let mut errs = Vec::new();
            let props = Props::parse(&schema, "", &mut errs);
            assert!(errs.is_empty(), "{errs:?}");
            let s = CrdSchema::new(Some(&props));
            let (group, version) = ("example.com", "v1");
            let plain = || fieldmanager::FieldManager::new(&s, s.root(), group, version, "K", "");
            // The one walk is what a create takes here (else both sides below are the same path).
            let created = fieldmanager::typed::created::created_fields_v1(
                &s,
                s.root(),
                &obj,
                None,
                &fieldmanager::Set::new(),
            );
            assert!(created.is_some(), "{obj}");
            for fm in [plain(), plain().with_reset_fields(&[&["status"]])] {
                let mut fast = obj.clone();
                fm.update(None, &mut fast, "creator", "2026-01-01T00:00:00Z");
                let mut general = obj.clone();
                fm.update(Some(&json!({})), &mut general, "creator", "2026-01-01T00:00:00Z");
                let entries = fast.pointer("/metadata/managedFields").cloned();
                assert!(entries.as_ref().and_then(Value::as_array).is_some_and(|e| e.len() == 1), "{fast}");
                assert_eq!(entries, general.pointer("/metadata/managedFields").cloned(), "{obj}");
                assert_eq!(fast, general);
            }
        }
    }
}
