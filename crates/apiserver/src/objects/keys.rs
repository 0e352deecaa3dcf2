//! The storage key scheme, as kube's etcd3 store lays it out:
//! `/registry/<group or core>/<resource>/<namespace>/<name>` (no namespace segment for
//! cluster-scoped resources), and kube's continue tokens over those keys. A resource stored
//! as another (events.k8s.io Events as core Events) uses that resource's keys.

use apimachinery::StatusError;
use base64::Engine;
use registry::ResourceType;
use serde_json::{json, Value};

fn group_segment(rt: &ResourceType) -> &str {
    match rt.storage_group() {
        "" => "core",
        group => group,
    }
}

/// The key of one object.
pub(crate) fn key(rt: &ResourceType, namespace: &str, name: &str) -> String {
    if rt.namespaced {
        format!("/registry/{}/{}/{namespace}/{name}", group_segment(rt), rt.storage_plural())
    } else {
        format!("/registry/{}/{}/{name}", group_segment(rt), rt.storage_plural())
    }
}

/// The prefix of all objects of a resource, or of those in one namespace.
pub(crate) fn prefix(rt: &ResourceType, namespace: &str) -> String {
    if rt.namespaced && !namespace.is_empty() {
        format!("/registry/{}/{}/{namespace}/", group_segment(rt), rt.storage_plural())
    } else {
        format!("/registry/{}/{}/", group_segment(rt), rt.storage_plural())
    }
}

/// The namespace and name a key of `rt` names (`("", name)` for cluster scope).
pub(crate) fn split(rt: &ResourceType, key: &str) -> Option<(String, String)> {
    let rest = key.strip_prefix(&prefix(rt, ""))?;
    if rt.namespaced {
        let (ns, name) = rest.split_once('/')?;
        Some((ns.to_string(), name.to_string()))
    } else {
        Some((String::new(), rest.to_string()))
    }
}

/// kube's continue token: base64 of `{"v":"meta.k8s.io/v1","rv":N,"start":"<key>"}`.
pub(crate) fn encode_continue(rv: u64, start_after: &str) -> String {
    let doc = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": start_after});
    base64::engine::general_purpose::URL_SAFE.encode(doc.to_string())
}

/// The revision and the key to continue after; the key must lie under `prefix`.
pub(crate) fn decode_continue(token: &str, prefix: &str) -> Result<(u64, String), StatusError> {
    let bad = || StatusError::bad_request("continue key is not valid: the continue token is malformed");
    let raw = base64::engine::general_purpose::URL_SAFE.decode(token).map_err(|_| bad())?;
    let doc: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    let rv = doc.get("rv").and_then(Value::as_u64).ok_or_else(bad)?;
    let start = doc.get("start").and_then(Value::as_str).ok_or_else(bad)?;
    if !start.starts_with(prefix) {
        return Err(bad());
    }
    Ok((rv, start.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_split_back_into_namespace_and_name() {
        let catalog = registry::Catalog::global();
        let pods = catalog.lookup("", "v1", "pods").unwrap();
        let nodes = catalog.lookup("", "v1", "nodes").unwrap();
        assert_eq!(key(pods, "ns", "p"), "/registry/core/pods/ns/p");
        assert_eq!(split(pods, "/registry/core/pods/ns/p"), Some(("ns".into(), "p".into())));
        assert_eq!(split(nodes, &key(nodes, "", "n1")), Some((String::new(), "n1".into())));
        assert_eq!(split(nodes, "/registry/core/pods/ns/p"), None);
    }

    #[test]
    fn continue_tokens_round_trip_and_stay_under_their_prefix() {
        let t = encode_continue(7, "/registry/core/pods/ns/a");
        assert_eq!(
            decode_continue(&t, "/registry/core/pods/").unwrap(),
            (7, "/registry/core/pods/ns/a".into())
        );
        assert_eq!(decode_continue(&t, "/registry/core/secrets/").unwrap_err().code, 400);
        assert_eq!(decode_continue("%%%", "/").unwrap_err().code, 400);
    }
}
