//! The stored form of an object: compact JSON in kube's field order (`kind`, `apiVersion`,
//! `metadata`, then the rest, as Go writes its API structs), without its resourceVersion (the
//! store's revision is it, set on every read as kube's etcd3 store does), Go-escaped so reads
//! can splice the resourceVersion into the stored bytes.

use serde_json::{json, Map, Value};
use storage::KeyValue;

mod metadata;
pub(crate) use metadata::decode_kv_metadata;

/// The stored object with `metadata.resourceVersion` set from its revision (first in
/// `metadata`, where the spliced bytes have it).
pub(crate) fn decode_kv(kv: &KeyValue) -> Option<Value> {
    let mut v: Value = serde_json::from_slice(&kv.value).ok()?;
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.shift_insert(0, "resourceVersion".into(), json!(kv.mod_revision.to_string()));
    }
    Some(v)
}

/// Whether stored bytes begin as [`encode_for_store`] writes an object of `api_version`:
/// `{"kind":<string>,"apiVersion":"<api_version>"` then `,` or `}`. A `false` says nothing.
pub(crate) fn starts_with_api_version(bytes: &[u8], api_version: &str) -> bool {
    let Some(rest) = bytes.strip_prefix(br#"{"kind":""#.as_slice()) else { return false };
    // The kind's literal: up to its closing quote (none is escaped in a kind, so the first
    // unescaped quote ends it; a backslash makes the check give up).
    let Some(end) = rest.iter().position(|&b| b == b'"' || b == b'\\') else { return false };
    let Some((b'"', rest)) = rest.get(end..).and_then(<[u8]>::split_first) else { return false };
    let Some(rest) = rest.strip_prefix(br#","apiVersion":""#.as_slice()) else { return false };
    let Some(rest) = rest.strip_prefix(api_version.as_bytes()) else { return false };
    matches!(rest, [b'"', b',' | b'}', ..])
}

/// An object as [`decode_kv`] reads it back from the bytes [`encode_for_store`] wrote for it
/// at `revision`, built by moving `v`'s members (nothing is copied or parsed): `kind`,
/// `apiVersion`, `metadata` (present, its resourceVersion first and set to `revision`), then
/// the rest in order. A `v` that is not an object is returned as is.
pub(crate) fn into_stored_form(v: Value, revision: u64) -> Value {
    let Value::Object(mut obj) = v else { return v };
    let mut out = Map::with_capacity(obj.len() + 1);
    for k in ["kind", "apiVersion"] {
        if let Some(val) = obj.shift_remove(k) {
            out.insert(k.into(), val);
        }
    }
    let mut meta = obj.shift_remove("metadata").unwrap_or_else(|| Value::Object(Map::new()));
    if let Some(m) = meta.as_object_mut() {
        m.shift_remove("resourceVersion");
        m.shift_insert(0, "resourceVersion".into(), json!(revision.to_string()));
    }
    out.insert("metadata".into(), meta);
    out.extend(obj);
    Value::Object(out)
}

/// `v` with `kind`, `apiVersion` and `metadata` first, as kube-apiserver writes objects (Go's
/// encoding/json follows the struct's field order); the other fields keep their order.
/// Borrowed when `v` already is in that order.
pub fn kube_field_order(v: &Value) -> std::borrow::Cow<'_, Value> {
    match v.as_object() {
        Some(obj) if !in_kube_order(obj) => {
            std::borrow::Cow::Owned(Value::Object(ordered(obj, obj.get("metadata").cloned())))
        }
        _ => std::borrow::Cow::Borrowed(v),
    }
}

/// Whether those of `kind`, `apiVersion` and `metadata` that `obj` has come first, in order.
fn in_kube_order(obj: &Map<String, Value>) -> bool {
    let leading = ["kind", "apiVersion", "metadata"].into_iter().filter(|k| obj.contains_key(*k));
    leading.zip(obj.keys()).all(|(want, have)| want == have)
}

/// `obj`'s members with `kind`, `apiVersion` and `metadata` (when given) first.
fn ordered(obj: &Map<String, Value>, metadata: Option<Value>) -> Map<String, Value> {
    let mut out = Map::with_capacity(obj.len() + 1);
    for k in ["kind", "apiVersion"] {
        if let Some(val) = obj.get(k) {
            out.insert(k.into(), val.clone());
        }
    }
    if let Some(meta) = metadata {
        out.insert("metadata".into(), meta);
    }
    for (k, val) in obj {
        if !matches!(k.as_str(), "kind" | "apiVersion" | "metadata") {
            out.insert(k.clone(), val.clone());
        }
    }
    out
}

/// Bytes to store: the object in kube's field order, with `metadata` present and without its
/// resourceVersion (the store's revision is it), as compact JSON with Go's HTML escaping
/// (what clients get). Written member by member from the borrowed object: nothing of it is
/// copied (a custom resource is many small values, each a copy and a free otherwise).
pub(crate) fn encode_for_store(v: &Value) -> bytes::Bytes {
    let empty = Map::new();
    let obj = v.as_object().unwrap_or(&empty);
    let mut out = Vec::with_capacity(512);
    out.push(b'{');
    for k in ["kind", "apiVersion"] {
        if let Some(val) = obj.get(k) {
            member(&mut out, k, val);
        }
    }
    match obj.get("metadata") {
        Some(meta @ Value::Object(m)) if !m.contains_key("resourceVersion") => {
            member(&mut out, "metadata", meta)
        }
        Some(Value::Object(m)) => {
            member(&mut out, "metadata", &Value::Object(Map::new()));
            out.pop();
            for (k, val) in m.iter().filter(|(k, _)| k.as_str() != "resourceVersion") {
                member(&mut out, k, val);
            }
            out.push(b'}');
        }
        Some(other) => member(&mut out, "metadata", other),
        None => member(&mut out, "metadata", &Value::Object(Map::new())),
    }
    for (k, val) in obj {
        if !matches!(k.as_str(), "kind" | "apiVersion" | "metadata") {
            member(&mut out, k, val);
        }
    }
    out.push(b'}');
    bytes::Bytes::from(go_escape(out))
}

/// Appends `"key":value` to a JSON object being written, after a comma unless it is the
/// object's first member.
fn member(out: &mut Vec<u8>, key: &str, val: &Value) {
    if !matches!(out.last(), Some(b'{')) {
        out.push(b',');
    }
    // Writing to a Vec cannot fail, and a Value always serializes.
    let _ = serde_json::to_writer(&mut *out, key);
    out.push(b':');
    let _ = serde_json::to_writer(&mut *out, val);
}

/// `<`, `>` and `&` escaped as Go's encoder does (they only appear inside strings).
fn go_escape(bytes: Vec<u8>) -> Vec<u8> {
    if !bytes.iter().any(|b| matches!(b, b'<' | b'>' | b'&')) {
        return bytes;
    }
    let mut out = Vec::with_capacity(bytes.len() + 16);
    for b in bytes {
        match b {
            b'<' => out.extend_from_slice(b"\\u003c"),
            b'>' => out.extend_from_slice(b"\\u003e"),
            b'&' => out.extend_from_slice(b"\\u0026"),
            b => out.push(b),
        }
    }
    out
}

/// Where the `metadata` object's members start in stored bytes: just after the `{` of
/// `"metadata":{`, which follows the optional `"kind":"…",` and `"apiVersion":"…",`
/// members at the very start. `None` for bytes not in the stored layout.
fn metadata_members(value: &[u8]) -> Option<usize> {
    let mut at = 1;
    if value.first() != Some(&b'{') {
        return None;
    }
    for key in [&b"\"kind\":"[..], &b"\"apiVersion\":"[..]] {
        if value.get(at..)?.starts_with(key) {
            at = skip_string(value, at + key.len())?;
            if value.get(at) != Some(&b',') {
                return None;
            }
            at += 1;
        }
    }
    let prefix = b"\"metadata\":{";
    value.get(at..)?.starts_with(prefix).then_some(at + prefix.len())
}

/// The offset just past the JSON string that starts at `at` (with its quotes).
fn skip_string(value: &[u8], at: usize) -> Option<usize> {
    if value.get(at) != Some(&b'"') {
        return None;
    }
    let mut i = at + 1;
    loop {
        match value.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

/// The stored object as JSON bytes with its resourceVersion, spliced in without parsing.
/// `None` for a value not in the stored layout (then decode it).
pub(crate) fn raw_with_rv(kv: &KeyValue) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(kv.value.len() + 48);
    append_raw_with_rv(kv, None, &mut out).then_some(out)
}

/// Appends the stored object as JSON with its resourceVersion to `out`, spliced in without
/// parsing or an intermediate copy; with `type_meta` (the `{"kind":"…","apiVersion":"…",`
/// the stored layout starts with) those two members are left out. False, with nothing
/// appended, for a value not in the stored layout or not starting with `type_meta`.
pub(crate) fn append_raw_with_rv(kv: &KeyValue, type_meta: Option<&[u8]>, out: &mut Vec<u8>) -> bool {
    let Some(members) = metadata_members(&kv.value) else { return false };
    let (head, rest) = kv.value.split_at(members);
    let head = match type_meta {
        None => head,
        Some(prefix) => match head.strip_prefix(prefix) {
            Some(after) => {
                out.push(b'{');
                after
            }
            None => return false,
        },
    };
    out.extend_from_slice(head);
    out.extend_from_slice(b"\"resourceVersion\":\"");
    out.extend_from_slice(itoa::Buffer::new().format(kv.mod_revision).as_bytes());
    out.push(b'"');
    if !rest.starts_with(b"}") {
        out.push(b',');
    }
    out.extend_from_slice(rest);
    true
}

/// The stored object's `metadata` alone as JSON bytes, with its resourceVersion spliced in:
/// the rest of the object is skipped, not parsed into values. `None` for a value not in the
/// stored layout.
pub(crate) fn metadata_with_rv(kv: &KeyValue) -> Option<Vec<u8>> {
    // The metadata object starts at the `{` just before its members.
    let start = metadata_members(&kv.value)? - 1;
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
    raw_with_rv(kv)
        .or_else(|| decode_kv(kv).map(|v| apimachinery::status::go_json(&kube_field_order(&v)).into_bytes()))
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
    use apimachinery::status::go_json;

    fn kv(v: &Value, rev: u64) -> KeyValue {
        KeyValue { key: "/k".into(), value: encode_for_store(v), create_revision: rev, mod_revision: rev }
    }

    /// The stored bytes as a copy of the object in kube's order would encode them.
    fn encoded_by_copy(v: &Value) -> Vec<u8> {
        let empty = Map::new();
        let obj = v.as_object().unwrap_or(&empty);
        let mut meta = obj.get("metadata").cloned().unwrap_or_else(|| json!({}));
        if let Some(m) = meta.as_object_mut() {
            m.remove("resourceVersion");
        }
        go_json(&Value::Object(ordered(obj, Some(meta)))).into_bytes()
    }

    #[test]
    fn the_api_version_prefix_of_stored_bytes() {
        let stored = |v: Value| encode_for_store(&v);
        let w =
            stored(json!({"apiVersion": "g.io/v1", "kind": "Widget", "metadata": {"name": "a"}, "spec": {}}));
        assert!(starts_with_api_version(&w, "g.io/v1"));
        for other in ["g.io/v1beta1", "g.io/v", "g.io", "x/v1", ""] {
            assert!(!starts_with_api_version(&w, other), "{other}");
        }
        // Only kind and apiVersion: the object ends after it.
        assert!(starts_with_api_version(&stored(json!({"kind": "W", "apiVersion": "a/v1"})), "a/v1"));
        assert!(starts_with_api_version(br#"{"kind":"W","apiVersion":"a/v1"}"#, "a/v1"));
        // Anything else says nothing.
        for bytes in [
            br#"{"apiVersion":"a/v1","kind":"W"}"#.as_slice(),
            br#"{"kind":"W\"","apiVersion":"a/v1"}"#,
            br#"{"kind":"W","apiVersion":"a/v1\u0000"}"#,
            br#"{"kind":"W","apiVersion":"a/v1"#,
            br#"{"kind":"W""#,
            b"",
        ] {
            assert!(!starts_with_api_version(bytes, "a/v1"), "{}", String::from_utf8_lossy(bytes));
        }
    }

    #[test]
    fn appended_items_match_the_spliced_copy() {
        let v = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","labels":{"x":"y"}},"data":{"x":"<&>"}});
        for rev in [0u64, 7, 10, 1234567890123, u64::MAX] {
            let k = kv(&v, rev);
            let mut out = b"[".to_vec();
            assert!(append_raw_with_rv(&k, None, &mut out));
            assert_eq!(out[1..], raw_with_rv(&k).unwrap()[..]);
            let mut stripped = Vec::new();
            assert!(append_raw_with_rv(
                &k,
                Some(br#"{"kind":"ConfigMap","apiVersion":"v1","#),
                &mut stripped
            ));
            let parsed: Value = serde_json::from_slice(&stripped).unwrap();
            assert_eq!(
                parsed,
                json!({"metadata":{"name":"a","labels":{"x":"y"},"resourceVersion":rev.to_string()},"data":{"x":"<&>"}})
            );
            let mut other = b"x".to_vec();
            assert!(!append_raw_with_rv(&k, Some(br#"{"kind":"Secret","apiVersion":"v1","#), &mut other));
            assert_eq!(other, b"x", "nothing appended when the prefix differs");
        }
    }

    #[test]
    fn stored_bytes_are_written_in_kube_order_without_copying() {
        for v in [
            json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"9","labels":{"x":"y"}},"data":{"x":"<&>"}}),
            json!({"spec":{"a":[1,2.5,{"b":null}]},"metadata":{"resourceVersion":"9"},"kind":"X","apiVersion":"e.io/v1"}),
            json!({"metadata":{"name":"n"},"apiVersion":"v1","status":{}}),
            json!({"kind":"X"}),
            json!({"kind":"X","metadata":null,"z":true}),
            json!({}),
            json!([1]),
        ] {
            assert_eq!(encode_for_store(&v).to_vec(), encoded_by_copy(&v), "{v}");
        }
    }

    #[test]
    fn the_stored_form_of_a_value_is_what_its_stored_bytes_decode_to() {
        for v in [
            json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"9","labels":{"x":"y"}},"data":{"x":"<&>"}}),
            json!({"spec":{"a":[1,2.5,-0.1,1e300,{"b":null}],"n":18446744073709551615u64,"i":-3},"metadata":{"uid":"u","resourceVersion":"9"},"kind":"X","apiVersion":"e.io/v1"}),
            json!({"metadata":{"name":"n"},"apiVersion":"v1","status":{}}),
            json!({"kind":"X"}),
            json!({"kind":"X","metadata":null,"z":true}),
            json!({"z":"\u{2028}\"","kind":"X","metadata":{"name":"a","resourceVersion":""}}),
            json!({}),
        ] {
            let want = decode_kv(&kv(&v, 42)).unwrap();
            let got = into_stored_form(v.clone(), 42);
            assert_eq!(go_json(&got), go_json(&want), "{v}");
            assert_eq!(got, want, "{v}");
        }
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
    fn stored_bytes_and_reads_are_in_kube_field_order() {
        let v = json!({"data":{"x":"1"},"metadata":{"name":"a","resourceVersion":"9"},"apiVersion":"v1","kind":"ConfigMap"});
        let k = kv(&v, 42);
        assert!(k.value.starts_with(br#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a"}"#));
        let raw = String::from_utf8(raw_with_rv(&k).unwrap()).unwrap();
        assert_eq!(
            raw,
            r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"resourceVersion":"42","name":"a"},"data":{"x":"1"}}"#
        );
        let decoded = decode_kv(&k).unwrap();
        assert_eq!(go_json(&decoded), raw, "decoding keeps the order of the spliced bytes");
        // a kind with escapes and no apiVersion; an object without metadata gets an empty one
        for (v, prefix) in [
            (
                json!({"metadata":{},"kind":"a\"b\\"}),
                r#"{"kind":"a\"b\\","metadata":{"resourceVersion":"42"}}"#,
            ),
            (
                json!({"spec":1,"apiVersion":"x/v1"}),
                r#"{"apiVersion":"x/v1","metadata":{"resourceVersion":"42"},"spec":1}"#,
            ),
        ] {
            assert_eq!(String::from_utf8(raw_with_rv(&kv(&v, 42)).unwrap()).unwrap(), prefix);
        }
        assert_eq!(
            go_json(&kube_field_order(&v)),
            r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a","resourceVersion":"9"},"data":{"x":"1"}}"#
        );
        assert!(matches!(kube_field_order(&decoded), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn the_former_metadata_first_layout_is_still_spliced() {
        let k = KeyValue {
            key: "/k".into(),
            value: bytes::Bytes::from_static(
                br#"{"metadata":{"name":"a"},"apiVersion":"v1","kind":"ConfigMap"}"#,
            ),
            create_revision: 1,
            mod_revision: 3,
        };
        let raw: Value = serde_json::from_slice(&raw_with_rv(&k).unwrap()).unwrap();
        assert_eq!(raw, decode_kv(&k).unwrap());
        assert_eq!(raw["metadata"]["resourceVersion"], "3");
        let meta: Value = serde_json::from_slice(&metadata_with_rv(&k).unwrap()).unwrap();
        assert_eq!(meta, json!({"name":"a","resourceVersion":"3"}));
    }

    #[test]
    fn values_in_another_layout_fall_back_to_decoding() {
        let k = KeyValue {
            key: "/k".into(),
            value: bytes::Bytes::from_static(br#"{"data":{},"metadata":{"name":"a"}}"#),
            create_revision: 1,
            mod_revision: 3,
        };
        assert!(raw_with_rv(&k).is_none());
        let v: Value = serde_json::from_slice(&json_bytes(&k).unwrap()).unwrap();
        assert_eq!(v["metadata"]["resourceVersion"], "3");
    }
}
