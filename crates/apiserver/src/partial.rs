//! Metadata-only answers: meta.k8s.io `PartialObjectMetadata` and
//! `PartialObjectMetadataList`, as kube's `asPartialObjectMetadata(List)`
//! (k8s.io/apiserver `endpoints/handlers/response.go`) builds them: the kind and apiVersion
//! of the meta.k8s.io version asked for, and the object's whole metadata. A list keeps its
//! list metadata (resourceVersion, continue) and its items carry their own kind; an empty
//! one has `"items":null`, as kube's (it appends to a nil slice).
//!
//! JSON is written from the stored bytes: each object's metadata is cut out of them
//! (`objects::metadata_bytes`), the rest of the object is skipped without being parsed.
//! Protobuf (and YAML) answers are encoded from the same values, the metadata alone parsed.

use crate::negotiate::Metadata;
use crate::objects::metadata_bytes;
use apimachinery::status::go_json;
use apimachinery::StatusError;
use registry::ResourceType;
use serde_json::{json, Value};
use storage::KeyValue;

/// kube's 406 when the conversion asked for does not fit the answer: a
/// `PartialObjectMetadata` of a list, or a `PartialObjectMetadataList` of one object. The
/// message names the Go type of the answer, as kube's `%T` does.
pub fn mismatch(rt: &ResourceType, m: Metadata) -> StatusError {
    let message = if m.list {
        format!(
            "you requested {}, but the requested object is not a list ({})",
            Metadata::LIST_KIND,
            go_type(rt, false)
        )
    } else {
        format!(
            "you requested {}, but the requested object is a list ({})",
            Metadata::ITEM_KIND,
            go_type(rt, true)
        )
    };
    StatusError::not_acceptable(message)
}

/// The Go type kube-apiserver holds an object of `rt` in when it converts it: the internal
/// type of its API group's package (`*core.Pod`, `*apps.DeploymentList`); events.k8s.io
/// Events are core Events there, internal.apiserver.k8s.io is `apiserverinternal`.
fn go_type(rt: &ResourceType, list: bool) -> String {
    let package = match rt.group {
        "" | "events.k8s.io" => "core",
        "internal.apiserver.k8s.io" => "apiserverinternal",
        group => group.split('.').next().unwrap_or(group),
    };
    let suffix = if list { "List" } else { "" };
    format!("*{package}.{}{suffix}", rt.kind)
}

/// `{"kind":..,"apiVersion":..,"metadata":` for one item.
fn item_head(m: Metadata) -> String {
    format!(r#"{{"kind":"{}","apiVersion":"{}","metadata":"#, Metadata::ITEM_KIND, m.api_version())
}

/// One stored object as a `PartialObjectMetadata`, in JSON.
pub fn item_bytes(kv: &KeyValue, m: Metadata) -> Option<Vec<u8>> {
    let meta = metadata_bytes(kv)?;
    let head = item_head(m);
    let mut out = Vec::with_capacity(head.len() + meta.len() + 1);
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(&meta);
    out.push(b'}');
    Some(out)
}

/// One object as a `PartialObjectMetadata`.
pub fn item_value(obj: &Value, m: Metadata) -> Value {
    let meta = obj.get("metadata").cloned().unwrap_or_else(|| json!({}));
    json!({"kind": Metadata::ITEM_KIND, "apiVersion": m.api_version(), "metadata": meta})
}

/// Stored objects as a `PartialObjectMetadataList` in JSON, with the list's metadata.
pub fn list_bytes(items: &[KeyValue], list_meta: &Value, m: Metadata) -> Vec<u8> {
    let head =
        go_json(&json!({"kind": Metadata::LIST_KIND, "apiVersion": m.api_version(), "metadata": list_meta}));
    let head_open = head.strip_suffix('}').unwrap_or(&head);
    let item_head = item_head(m);
    let total: usize = items.iter().map(|kv| kv.value.len().min(1024) + item_head.len() + 2).sum();
    let mut body = Vec::with_capacity(head.len() + total + 16);
    body.extend_from_slice(head_open.as_bytes());
    let mut written = 0;
    for meta in items.iter().filter_map(metadata_bytes) {
        body.extend_from_slice(if written == 0 { b",\"items\":[" } else { b"," });
        body.extend_from_slice(item_head.as_bytes());
        body.extend_from_slice(&meta);
        body.push(b'}');
        written += 1;
    }
    body.extend_from_slice(if written == 0 { b",\"items\":null}" } else { b"]}" });
    body
}

/// Stored objects as a `PartialObjectMetadataList`, with the list's metadata: only each
/// item's metadata is parsed (for the encodings not written from the bytes).
pub fn stored_list_value(items: &[KeyValue], list_meta: Value, m: Metadata) -> Value {
    let items: Vec<Value> = items
        .iter()
        .filter_map(metadata_bytes)
        .filter_map(|meta| serde_json::from_slice::<Value>(&meta).ok())
        .map(|meta| json!({"kind": Metadata::ITEM_KIND, "apiVersion": m.api_version(), "metadata": meta}))
        .collect();
    let items = if items.is_empty() { Value::Null } else { Value::from(items) };
    json!({"kind": Metadata::LIST_KIND, "apiVersion": m.api_version(), "metadata": list_meta, "items": items})
}

/// Objects as a `PartialObjectMetadataList`, with the list's metadata.
pub fn list_value(items: &[Value], list_meta: Value, m: Metadata) -> Value {
    let items: Value = if items.is_empty() {
        Value::Null
    } else {
        items.iter().map(|o| item_value(o, m)).collect::<Vec<_>>().into()
    };
    json!({"kind": Metadata::LIST_KIND, "apiVersion": m.api_version(), "metadata": list_meta, "items": items})
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: Metadata = Metadata {
        list: false,
        version: "v1",
        encoding: crate::negotiate::Encoding::Json,
        errors: crate::negotiate::Encoding::Json,
    };

    fn stored(v: &Value, rev: u64) -> KeyValue {
        // The stored layout: metadata first, no resourceVersion.
        let mut v = v.clone();
        let meta = v.as_object_mut().and_then(|o| o.shift_remove("metadata")).unwrap_or(json!({}));
        let mut out = serde_json::Map::new();
        out.insert("metadata".into(), meta);
        out.extend(v.as_object().cloned().unwrap_or_default());
        KeyValue {
            key: "/registry/configmaps/d/a".into(),
            value: go_json(&Value::Object(out)).into(),
            create_revision: rev,
            mod_revision: rev,
        }
    }

    fn rt(group: &str, kind: &str) -> &'static ResourceType {
        registry::Catalog::global()
            .all()
            .iter()
            .find(|r| r.group == group && r.kind == kind)
            .unwrap_or_else(|| panic!("{group} {kind} is served"))
    }

    #[test]
    fn an_object_keeps_its_whole_metadata_and_nothing_else() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "namespace": "d", "labels": {"x": "<y>"}, "finalizers": ["f"],
                "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": "u"}]},
            "data": {"secret-ish": "v"}});
        let bytes = item_bytes(&stored(&cm, 7), V1).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with(r#"{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"7","#), "{text}");
        assert!(!text.contains("secret-ish") && !text.contains('<'), "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        let mut want = cm["metadata"].clone();
        want["resourceVersion"] = json!("7");
        assert_eq!(v["metadata"], want);
        assert_eq!(
            item_value(&cm, Metadata { version: "v1beta1", ..V1 })["apiVersion"],
            "meta.k8s.io/v1beta1"
        );
    }

    #[test]
    fn a_list_keeps_its_list_metadata_and_writes_null_items_when_empty() {
        let list = Metadata { list: true, ..V1 };
        let meta = json!({"resourceVersion": "9", "continue": "tok"});
        let kvs: Vec<KeyValue> = (1..=2)
            .map(|i| stored(&json!({"kind": "ConfigMap", "metadata": {"name": format!("c{i}")}}), i))
            .collect();
        let v: Value = serde_json::from_slice(&list_bytes(&kvs, &meta, list)).unwrap();
        assert_eq!(v["kind"], "PartialObjectMetadataList");
        assert_eq!(v["metadata"], meta);
        assert_eq!(
            v["items"][1],
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": "2", "name": "c2"}})
        );
        let values: Vec<Value> = kvs.iter().filter_map(crate::objects::decode_kv).collect();
        assert_eq!(list_value(&values, meta.clone(), list), v);
        assert_eq!(stored_list_value(&kvs, meta.clone(), list), v);
        assert_eq!(stored_list_value(&[], meta.clone(), list)["items"], Value::Null);
        let empty = String::from_utf8(list_bytes(&[], &json!({"resourceVersion": "9"}), list)).unwrap();
        assert_eq!(
            empty,
            r#"{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"9"},"items":null}"#
        );
        assert_eq!(list_value(&[], json!({"resourceVersion": "9"}), list)["items"], Value::Null);
    }

    #[test]
    fn a_mismatched_conversion_is_kubes_406() {
        let e = mismatch(rt("", "Pod"), V1);
        assert!(e.is_not_acceptable() && e.code == 406);
        assert_eq!(
            e.message,
            "you requested PartialObjectMetadata, but the requested object is a list (*core.PodList)"
        );
        let e = mismatch(rt("apps", "Deployment"), Metadata { list: true, ..V1 });
        assert_eq!(e.message, "you requested PartialObjectMetadataList, but the requested object is not a list (*apps.Deployment)");
        assert_eq!(go_type(rt("events.k8s.io", "Event"), false), "*core.Event");
        assert_eq!(go_type(rt("rbac.authorization.k8s.io", "Role"), true), "*rbac.RoleList");
    }
}
