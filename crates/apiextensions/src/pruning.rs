//! Pruning (kube's `pruning.PruneWithOptions`): fields the schema does not specify are
//! dropped unless `x-kubernetes-preserve-unknown-fields` keeps them; `apiVersion`, `kind`
//! and `metadata` of the resource root and of embedded resources are left to the metadata
//! coercion ([`crate::objectmeta`]). The dropped paths are returned sorted
//! (`spec.foo`, `spec.list[0].bar`), as `fieldValidation=Strict`/`Warn` report them.

use crate::path::{Path, ROOT};
use crate::props::Props;
use serde_json::Value;

const META_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

struct Pruner {
    track: bool,
    unknown: Vec<String>,
}

impl Pruner {
    fn prune(&mut self, x: &mut Value, s: Option<&Props>, embedded: bool, path: &Path<'_>, depth: usize) {
        if depth > crate::MAX_VALUE_DEPTH {
            return;
        }
        if let Some(s) = s.filter(|s| s.preserves_unknown_fields()) {
            self.skip_prune(x, s, embedded, path, depth);
            return;
        }
        match x {
            Value::Object(m) => {
                let Some(s) = s else {
                    if self.track {
                        for k in m.keys() {
                            self.unknown.push(path.child(k).to_string());
                        }
                    }
                    m.clear();
                    return;
                };
                let mut drop = Vec::new();
                for (k, v) in m.iter_mut() {
                    if embedded && META_FIELDS.contains(&k.as_str()) {
                        continue;
                    }
                    if let Some(prop) = s.properties.get(k) {
                        self.prune(v, Some(prop), prop.x_embedded_resource, &path.child(k), depth + 1);
                    } else if let Some(ap) = &s.additional_properties {
                        let sub = ap.schema.as_deref();
                        self.prune(
                            v,
                            sub,
                            sub.is_some_and(|p| p.x_embedded_resource),
                            &path.child(k),
                            depth + 1,
                        );
                    } else {
                        if self.track && (!META_FIELDS.contains(&k.as_str()) || !path.is_empty()) {
                            self.unknown.push(path.child(k).to_string());
                        }
                        drop.push(k.clone());
                    }
                }
                for k in drop {
                    m.remove(&k);
                }
            }
            Value::Array(items) => {
                let item_schema = s.and_then(Props::items_schema);
                for (i, v) in items.iter_mut().enumerate() {
                    let emb = item_schema.is_some_and(|p| p.x_embedded_resource);
                    self.prune(v, item_schema, emb, &path.index(i), depth + 1);
                }
            }
            _ => {}
        }
    }

    fn skip_prune(&mut self, x: &mut Value, s: &Props, embedded: bool, path: &Path<'_>, depth: usize) {
        if depth > crate::MAX_VALUE_DEPTH {
            return;
        }
        match x {
            Value::Object(m) => {
                for (k, v) in m.iter_mut() {
                    if embedded && META_FIELDS.contains(&k.as_str()) {
                        continue;
                    }
                    if let Some(prop) = s.properties.get(k) {
                        self.prune(v, Some(prop), prop.x_embedded_resource, &path.child(k), depth + 1);
                    } else if let Some(ap) = &s.additional_properties {
                        let sub = ap.schema.as_deref();
                        self.prune(
                            v,
                            sub,
                            sub.is_some_and(|p| p.x_embedded_resource),
                            &path.child(k),
                            depth + 1,
                        );
                    }
                }
            }
            Value::Array(items) => {
                if let Some(item_schema) = s.items_schema() {
                    for (i, v) in items.iter_mut().enumerate() {
                        self.skip_prune(
                            v,
                            item_schema,
                            item_schema.x_embedded_resource,
                            &path.index(i),
                            depth + 1,
                        );
                    }
                }
            }
            _ => {}
        }
    }
}

/// Prunes `obj` against `s`; `resource_root` keeps `apiVersion`, `kind` and `metadata`
/// at the top as for a whole object. Returns the dropped paths, sorted.
pub fn prune(obj: &mut Value, s: Option<&Props>, resource_root: bool) -> Vec<String> {
    let mut p = Pruner { track: true, unknown: Vec::new() };
    let embedded = resource_root || s.is_some_and(|s| s.x_embedded_resource);
    match s {
        Some(s) => p.prune(obj, Some(s), embedded, &ROOT, 0),
        None if resource_root => {
            let empty = Props::default();
            p.prune(obj, Some(&empty), true, &ROOT, 0)
        }
        None => p.prune(obj, None, false, &ROOT, 0),
    }
    p.unknown.sort();
    p.unknown
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema(v: Value) -> Props {
        let mut errs = Vec::new();
        Props::parse(&v, "", &mut errs)
    }

    #[test]
    fn prunes_unknown_fields_like_kube() {
        let s = schema(json!({"type": "object", "properties": {
            "spec": {"type": "object", "properties": {
                "a": {"type": "string"},
                "list": {"type": "array", "items": {"type": "object", "properties": {"x": {"type": "integer"}}}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": {"inner": {"type": "object"}}},
                "map": {"type": "object", "additionalProperties": {"type": "object", "properties": {"k": {"type": "string"}}}},
                "emb": {"type": "object", "x-kubernetes-embedded-resource": true, "properties": {"spec": {"type": "object"}}}
            }}
        }}));
        let mut obj = json!({
            "apiVersion": "a/v1", "kind": "K", "metadata": {"name": "n"},
            "status": {"x": 1},
            "spec": {
                "a": "x", "b": 1,
                "list": [{"x": 1, "y": 2}],
                "free": {"anything": true, "inner": {"gone": 1}},
                "map": {"one": {"k": "v", "z": 0}},
                "emb": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"q": 1}, "other": 2}
            }
        });
        let dropped = prune(&mut obj, Some(&s), true);
        assert_eq!(
            dropped,
            vec![
                "spec.b",
                "spec.emb.other",
                "spec.emb.spec.q",
                "spec.free.inner.gone",
                "spec.list[0].y",
                "spec.map.one.z",
                "status"
            ]
        );
        assert_eq!(
            obj,
            json!({
                "apiVersion": "a/v1", "kind": "K", "metadata": {"name": "n"},
                "spec": {
                    "a": "x",
                    "list": [{"x": 1}],
                    "free": {"anything": true, "inner": {}},
                    "map": {"one": {"k": "v"}},
                    "emb": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}}
                }
            })
        );
    }
}
