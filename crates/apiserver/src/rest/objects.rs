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

/// Bytes to store: the object without its resourceVersion (the store's revision is it).
pub fn encode_for_store(v: &Value) -> bytes::Bytes {
    let mut v = v.clone();
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
    }
    bytes::Bytes::from(serde_json::to_vec(&v).unwrap_or_default())
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
