//! The stored form of an object: compact JSON with `metadata` first and without its
//! resourceVersion (the store's revision is it, set on every read as kube's etcd3 store
//! does), Go-escaped so reads can splice the resourceVersion into the stored bytes.

use serde_json::{json, Value};
use storage::KeyValue;

/// The stored object with `metadata.resourceVersion` set from its revision.
pub(crate) fn decode_kv(kv: &KeyValue) -> Option<Value> {
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
pub(crate) fn encode_for_store(v: &Value) -> bytes::Bytes {
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
pub(crate) fn raw_with_rv(kv: &KeyValue) -> Option<Vec<u8>> {
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

/// The stored object's `metadata` alone as JSON bytes, with its resourceVersion spliced in:
/// the rest of the object is skipped, not parsed into values. `None` for a value not in the
/// stored layout.
pub(crate) fn metadata_with_rv(kv: &KeyValue) -> Option<Vec<u8>> {
    // The metadata object starts at the `{` that ends META_PREFIX.
    let start = META_PREFIX.len() - 1;
    let from_meta = kv.value.get(start..)?;
    let mut values = serde_json::Deserializer::from_slice(from_meta).into_iter::<serde::de::IgnoredAny>();
    values.next()?.ok()?;
    let meta = from_meta.get(..values.byte_offset())?;
    let rest = meta.get(1..)?;
    let mut out = Vec::with_capacity(meta.len() + 32);
    out.extend_from_slice(b"{\"resourceVersion\":\"");
    out.extend_from_slice(kv.mod_revision.to_string().as_bytes());
    out.push(b'"');
    if !rest.starts_with(b"}") {
        out.push(b',');
    }
    out.extend_from_slice(rest);
    Some(out)
}

/// The object's JSON bytes with its resourceVersion: spliced when possible, else re-encoded.
pub(crate) fn json_bytes(kv: &KeyValue) -> Option<Vec<u8>> {
    raw_with_rv(kv).or_else(|| decode_kv(kv).map(|v| apimachinery::status::go_json(&v).into_bytes()))
}

/// The object's `metadata` as JSON bytes with its resourceVersion: cut from the stored bytes
/// when possible, else decoded and re-encoded (`{}` for an object without metadata).
pub(crate) fn metadata_bytes(kv: &KeyValue) -> Option<Vec<u8>> {
    metadata_with_rv(kv).or_else(|| {
        let v = decode_kv(kv)?;
        let meta = v.get("metadata").cloned().unwrap_or_else(|| json!({}));
        Some(apimachinery::status::go_json(&meta).into_bytes())
    })
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
    fn metadata_alone_is_cut_from_the_stored_bytes() {
        for v in [
            json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","labels":{"x":"}{\"\\"},"resourceVersion":"9"},"data":{"x":"<&>"}}),
            json!({"kind":"X","metadata":{},"spec":{"metadata":{"name":"inner"}}}),
            json!({"kind":"X"}),
        ] {
            let k = kv(&v, 42);
            let meta: Value = serde_json::from_slice(&metadata_with_rv(&k).unwrap()).unwrap();
            assert_eq!(meta, decode_kv(&k).unwrap()["metadata"]);
        }
        let not_stored = KeyValue {
            key: "/k".into(),
            value: bytes::Bytes::from_static(br#"{"metadata":{"name":"a""#),
            create_revision: 1,
            mod_revision: 3,
        };
        assert!(metadata_with_rv(&not_stored).is_none());
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
