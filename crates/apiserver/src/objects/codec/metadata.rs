//! What a metadata informer reads of a stored object (kube's garbage collector watches
//! metadata only): `kind`, `apiVersion` and the identity and lifecycle part of `metadata`,
//! read from the stored bytes without building the rest.

use serde_json::{json, Map, Value};
use storage::KeyValue;

/// The object's `kind`, `apiVersion` and the part of its `metadata` that says who it is and
/// where it is in its life (`name`, `namespace`, `uid`, `resourceVersion` from the revision,
/// `deletionTimestamp`, `finalizers`, `ownerReferences`): what a metadata informer hands out
/// (kube's garbage collector watches metadata only). The body, labels, annotations and
/// managedFields are skipped without being built, so a large object costs a scan, not a tree.
pub(crate) fn decode_kv_metadata(kv: &KeyValue) -> Option<Value> {
    let head = read_head(&kv.value)?;
    let mut meta = Map::new();
    meta.insert("resourceVersion".into(), json!(kv.mod_revision.to_string()));
    if let Some(m) = head.metadata {
        let fields = [
            ("name", m.name),
            ("namespace", m.namespace),
            ("uid", m.uid),
            ("deletionTimestamp", m.deletion_timestamp),
            ("finalizers", m.finalizers),
            ("ownerReferences", m.owner_references),
        ];
        for (k, v) in fields {
            if let Some(v) = v.filter(|v| !v.is_null()) {
                meta.insert(k.into(), v);
            }
        }
    }
    let mut out = Map::with_capacity(3);
    for (k, v) in [("kind", head.kind), ("apiVersion", head.api_version)] {
        if let Some(v) = v {
            out.insert(k.into(), v);
        }
    }
    out.insert("metadata".into(), Value::Object(meta));
    Some(Value::Object(out))
}

#[derive(Default)]
struct Head {
    kind: Option<Value>,
    api_version: Option<Value>,
    metadata: Option<Meta>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    name: Option<Value>,
    namespace: Option<Value>,
    uid: Option<Value>,
    deletion_timestamp: Option<Value>,
    finalizers: Option<Value>,
    owner_references: Option<Value>,
}

/// `kind`, `apiVersion` and `metadata` of a stored object (`None`: not a JSON object). The
/// read stops once it has the three: [`encode_for_store`](super::encode_for_store) writes them first, so the rest of
/// the object (its spec, data, status) is not even scanned; bytes in another order are read
/// to their end.
fn read_head(bytes: &[u8]) -> Option<Head> {
    use serde::Deserializer as _;
    let mut head = None;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let read = de.deserialize_map(HeadVisitor(&mut head));
    // Stopping early leaves the rest of the object unread, which the reader reports as an
    // error; what was read is the answer. Otherwise the whole document must be one object.
    match head {
        Some(Stop::Early(h)) => Some(h),
        Some(Stop::AtEnd(h)) => (read.is_ok() && de.end().is_ok()).then_some(h),
        None => None,
    }
}

enum Stop {
    /// All three read before the object's end.
    Early(Head),
    /// The object read whole.
    AtEnd(Head),
}

#[derive(serde::Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum HeadKey {
    Kind,
    ApiVersion,
    Metadata,
    #[serde(other)]
    Other,
}

struct HeadVisitor<'a>(&'a mut Option<Stop>);

impl<'de> serde::de::Visitor<'de> for HeadVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut head = Head::default();
        let mut seen = (false, false, false);
        while let Some(key) = map.next_key::<HeadKey>()? {
            match key {
                HeadKey::Kind => {
                    head.kind = map.next_value()?;
                    seen.0 = true;
                }
                HeadKey::ApiVersion => {
                    head.api_version = map.next_value()?;
                    seen.1 = true;
                }
                HeadKey::Metadata => {
                    head.metadata = map.next_value()?;
                    seen.2 = true;
                }
                HeadKey::Other => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
            if seen == (true, true, true) {
                *self.0 = Some(Stop::Early(head));
                return Ok(());
            }
        }
        *self.0 = Some(Stop::AtEnd(head));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::codec::{decode_kv, encode_for_store};

    fn kv(v: &Value, rev: u64) -> KeyValue {
        KeyValue { key: "/k".into(), value: encode_for_store(v), create_revision: rev, mod_revision: rev }
    }

    #[test]
    fn metadata_decode_keeps_identity_and_lifecycle_and_skips_the_rest() {
        let obj = json!({
            "apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {
                "name": "w", "namespace": "ns", "uid": "u-1", "labels": {"a": "b"},
                "deletionTimestamp": "2026-12-07T00:00:00Z",
                "finalizers": ["foregroundDeletion"],
                "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": "u-0"}],
                "managedFields": [{"manager": "m", "fieldsV1": {"f:spec": {}}}]
            },
            "spec": {"deep": [[{"x": 1}]], "s": "<&>"}
        });
        let full = decode_kv(&kv(&obj, 7)).unwrap();
        let head = decode_kv_metadata(&kv(&obj, 7)).unwrap();
        assert_eq!(
            head,
            json!({
                "kind": "Widget", "apiVersion": "example.com/v1",
                "metadata": {
                    "resourceVersion": "7", "name": "w", "namespace": "ns", "uid": "u-1",
                    "deletionTimestamp": "2026-12-07T00:00:00Z",
                    "finalizers": ["foregroundDeletion"],
                    "ownerReferences": full["metadata"]["ownerReferences"].clone()
                }
            })
        );
        // An object without metadata still gets its resourceVersion; bytes that are not an
        // object are skipped, as decode_kv skips them.
        let bare = decode_kv_metadata(&kv(&json!({"kind": "X"}), 2)).unwrap();
        assert_eq!(bare, json!({"kind": "X", "metadata": {"resourceVersion": "2"}}));
        let junk = KeyValue { key: "/k".into(), value: "[1]".into(), create_revision: 1, mod_revision: 1 };
        assert!(decode_kv_metadata(&junk).is_none());
    }

    /// The metadata read stops after `kind`, `apiVersion` and `metadata` (the stored order):
    /// what follows them is not read; in another order the whole object is read, and must be
    /// one JSON object.
    #[test]
    fn metadata_decode_stops_after_the_head() {
        let raw = |s: &str| KeyValue {
            key: "/k".into(),
            value: s.as_bytes().to_vec().into(),
            create_revision: 1,
            mod_revision: 3,
        };
        let want =
            json!({"kind": "W", "apiVersion": "a/v1", "metadata": {"resourceVersion": "3", "name": "n"}});
        let head = r#"{"kind":"W","apiVersion":"a/v1","metadata":{"name":"n","labels":{"x":"y"}}"#;
        assert_eq!(
            decode_kv_metadata(&raw(&format!("{head},\"spec\":{{\"a\":[1,2]}}}}"))),
            Some(want.clone())
        );
        // Not read at all: a tail the parser would refuse.
        assert_eq!(decode_kv_metadata(&raw(&format!("{head},\"spec\":{{\"a\" 1"))), Some(want.clone()));
        // Another order: read until the three are read.
        let reordered = r#"{"spec":{"a":1},"metadata":{"name":"n"},"apiVersion":"a/v1","kind":"W"}"#;
        assert_eq!(decode_kv_metadata(&raw(reordered)), Some(want.clone()));
        // One of them missing: read to the end, which must end the one JSON object.
        let no_api_version = r#"{"spec":{"a":1},"metadata":{"name":"n"},"kind":"W"}"#;
        assert_eq!(decode_kv_metadata(&raw(no_api_version)).unwrap()["metadata"], want["metadata"]);
        assert!(decode_kv_metadata(&raw(&format!("{no_api_version} x"))).is_none());
        assert!(decode_kv_metadata(&raw(r#"{"spec":{"a" 1},"kind":"W"}"#)).is_none());
        assert!(decode_kv_metadata(&raw(r#"{"kind":"W","apiVersion":"a/v1","metadata":{"name":3"#)).is_none());
        // A null metadata reads as none; the head is still read.
        let no_meta =
            decode_kv_metadata(&raw(r#"{"kind":"W","apiVersion":"a/v1","metadata":null,"x":1}"#)).unwrap();
        assert_eq!(no_meta["metadata"], json!({"resourceVersion": "3"}));
    }
}
