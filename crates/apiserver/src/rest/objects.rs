//! Storage keys, resourceVersion handling, and list/table encoding of objects.

use crate::negotiate::Output;
use crate::response::{self, Body};
use http::Response;
use registry::ResourceType;
use serde_json::{json, Value};
use storage::KeyValue;

fn group_segment(rt: &ResourceType) -> &str {
    if rt.group.is_empty() {
        "core"
    } else {
        rt.group
    }
}

/// `/registry/<group>/<resource>/<namespace>/<name>` (no namespace for cluster scope).
pub fn key(rt: &ResourceType, namespace: &str, name: &str) -> String {
    if rt.namespaced {
        format!("/registry/{}/{}/{namespace}/{name}", group_segment(rt), rt.plural)
    } else {
        format!("/registry/{}/{}/{name}", group_segment(rt), rt.plural)
    }
}

/// The prefix of all objects of a resource, or of those in one namespace.
pub fn prefix(rt: &ResourceType, namespace: &str) -> String {
    if rt.namespaced && !namespace.is_empty() {
        format!("/registry/{}/{}/{namespace}/", group_segment(rt), rt.plural)
    } else {
        format!("/registry/{}/{}/", group_segment(rt), rt.plural)
    }
}

/// The stored object with `metadata.resourceVersion` set from its revision.
pub fn decode_kv(kv: &KeyValue) -> Option<Value> {
    let mut v: Value = serde_json::from_slice(&kv.value).ok()?;
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.insert("resourceVersion".into(), json!(kv.mod_revision.to_string()));
    }
    Some(v)
}

/// Every stored object starts with these bytes: `metadata` is written first, so the
/// resourceVersion can be spliced into the stored bytes on reads without parsing them.
const META_PREFIX: &[u8] = b"{\"metadata\":{";

/// Bytes to store: the object with `metadata` first and without its resourceVersion (the
/// store's revision is it), as compact JSON with Go's HTML escaping (what clients get).
pub fn encode_for_store(v: &Value) -> bytes::Bytes {
    let mut out = serde_json::Map::new();
    let mut meta = v.get("metadata").cloned().unwrap_or_else(|| json!({}));
    if let Some(m) = meta.as_object_mut() {
        m.remove("resourceVersion");
    }
    out.insert("metadata".into(), meta);
    for (k, val) in v.as_object().into_iter().flatten() {
        if k != "metadata" {
            out.insert(k.clone(), val.clone());
        }
    }
    bytes::Bytes::from(apimachinery::status::go_json(&Value::Object(out)))
}

/// The stored object as JSON bytes with its resourceVersion, spliced in without parsing.
/// `None` for a value not in the stored layout (then decode it).
pub fn raw_with_rv(kv: &KeyValue) -> Option<Vec<u8>> {
    let rest = kv.value.strip_prefix(META_PREFIX)?;
    let mut out = Vec::with_capacity(kv.value.len() + 48);
    out.extend_from_slice(META_PREFIX);
    out.extend_from_slice(b"\"resourceVersion\":\"");
    out.extend_from_slice(kv.mod_revision.to_string().as_bytes());
    out.push(b'"');
    if !rest.starts_with(b"}") {
        out.push(b',');
    }
    out.extend_from_slice(rest);
    Some(out)
}

/// The object's JSON bytes with its resourceVersion: spliced when possible, else re-encoded.
pub fn json_bytes(kv: &KeyValue) -> Option<Vec<u8>> {
    raw_with_rv(kv).or_else(|| decode_kv(kv).map(|v| apimachinery::status::go_json(&v).into_bytes()))
}

pub fn now_rfc3339() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// One object in the negotiated output (a one-row Table when a Table was asked for).
pub fn object_response(status: u16, rt: &ResourceType, obj: &Value, out: Output) -> Response<Body> {
    match out {
        Output::Table(v) => {
            let rv = obj.pointer("/metadata/resourceVersion").cloned().unwrap_or(json!(""));
            let mut t = registry::table::table(
                rt,
                std::slice::from_ref(obj),
                json!({"resourceVersion": rv}),
                chrono::Utc::now(),
            );
            t["apiVersion"] = json!(format!("meta.k8s.io/{v}"));
            response::object(status, &t, Output::Json)
        }
        _ => response::object(status, obj, out),
    }
}

/// A JSON list assembled from stored bytes, without parsing the items.
pub fn raw_list_response(
    rt: &ResourceType,
    items: &[KeyValue],
    rv: u64,
    cont: Option<String>,
) -> Response<Body> {
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if let Some(c) = cont {
        meta["continue"] = json!(c);
    }
    let head = json!({"kind": rt.list_kind(), "apiVersion": rt.api_version(), "metadata": meta});
    let head = apimachinery::status::go_json(&head);
    let total: usize = items.iter().map(|kv| kv.value.len() + 48).sum();
    let mut body = Vec::with_capacity(head.len() + total + 16);
    // `{"kind":..,"metadata":{..}` then `,"items":[...]}`.
    body.extend_from_slice(&head.as_bytes()[..head.len() - 1]);
    body.extend_from_slice(b",\"items\":[");
    for (i, kv) in items.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        if let Some(bytes) = json_bytes(kv) {
            body.extend_from_slice(&bytes);
        }
    }
    body.extend_from_slice(b"]}\n");
    response::bytes_response(200, "application/json", body)
}

/// A list in the negotiated output.
pub fn list_response(
    rt: &ResourceType,
    items: Vec<Value>,
    rv: u64,
    cont: Option<String>,
    out: Output,
) -> Response<Body> {
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if let Some(c) = cont {
        meta["continue"] = json!(c);
    }
    match out {
        Output::Table(v) => {
            let mut t = registry::table::table(rt, &items, meta, chrono::Utc::now());
            t["apiVersion"] = json!(format!("meta.k8s.io/{v}"));
            response::object(200, &t, Output::Json)
        }
        _ => {
            let list = json!({"kind": rt.list_kind(), "apiVersion": rt.api_version(), "metadata": meta, "items": items});
            response::object(200, &list, out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(v: &Value, rev: u64) -> KeyValue {
        KeyValue { key: "/k".into(), value: encode_for_store(v), create_revision: rev, mod_revision: rev }
    }

    #[test]
    fn spliced_bytes_equal_the_decoded_object() {
        for v in [
            json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"9"},"data":{"x":"<&>"}}),
            json!({"kind":"X","metadata":{}}),
            json!({"kind":"X"}),
        ] {
            let k = kv(&v, 42);
            let raw = raw_with_rv(&k).unwrap();
            let parsed: Value = serde_json::from_slice(&raw).unwrap();
            assert_eq!(parsed, decode_kv(&k).unwrap());
            assert_eq!(parsed["metadata"]["resourceVersion"], "42");
            assert!(!String::from_utf8(raw).unwrap().contains('<'), "Go-escaped like kube");
        }
    }

    #[test]
    fn values_in_another_layout_fall_back_to_decoding() {
        let k = KeyValue {
            key: "/k".into(),
            value: bytes::Bytes::from_static(br#"{"kind":"X","metadata":{"name":"a"}}"#),
            create_revision: 1,
            mod_revision: 3,
        };
        assert!(raw_with_rv(&k).is_none());
        let v: Value = serde_json::from_slice(&json_bytes(&k).unwrap()).unwrap();
        assert_eq!(v["metadata"]["resourceVersion"], "3");
    }
}
