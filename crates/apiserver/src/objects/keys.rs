//! The storage key scheme, as kube's etcd3 store lays it out:
//! `/registry/<group or core>/<resource>/<namespace>/<name>` (no namespace segment for
//! cluster-scoped resources), and kube's continue tokens over those keys. A resource stored
//! as another (events.k8s.io Events as core Events) uses that resource's keys.

use apimachinery::StatusError;
use base64::Engine;
use registry::ResourceType;
use serde_json::json;

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

/// The name a key ends with (its last segment: names hold no `/`).
pub(crate) fn name_in_key(key: &str) -> &str {
    key.rsplit_once('/').map_or(key, |(_, name)| name)
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

/// kube's continue token (k8s.io/apiserver `pkg/storage/continue.go`): unpadded URL-safe
/// base64 of `{"v":"meta.k8s.io/v1","rv":N,"start":"<key after the list prefix>\u0000"}`, the
/// start being the first key the next page may hold (the last key read and a NUL). `rv` is the
/// revision every page reads at; -1 asks for the latest.
pub(crate) fn encode_continue(rv: i64, last_key: &str, prefix: &str) -> String {
    let start = format!("{}\0", last_key.strip_prefix(prefix).unwrap_or(last_key));
    let doc = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": start});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(apimachinery::status::go_json(&doc))
}

/// The revision of a continue token and the key its page starts after, which lies under
/// `prefix`; kube's 400 `invalid continue token: ...` otherwise.
pub fn decode_continue(token: &str, prefix: &str) -> Result<(i64, String), StatusError> {
    let invalid = |why: String| {
        StatusError::bad_request(format!("invalid continue token: continue key is not valid{why}"))
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).map_err(|e| {
        let at = match e {
            base64::DecodeError::InvalidByte(at, _) | base64::DecodeError::InvalidLastSymbol(at, _) => at,
            _ => token.len(),
        };
        invalid(format!(": illegal base64 data at input byte {at}"))
    })?;
    #[derive(serde::Deserialize)]
    struct Token {
        #[serde(default)]
        v: String,
        #[serde(default)]
        rv: i64,
        #[serde(default)]
        start: String,
    }
    let doc: Token = serde_json::from_slice(&raw).map_err(|e| invalid(format!(": {e}")))?;
    if doc.v != "meta.k8s.io/v1" {
        return Err(invalid(format!(": server does not recognize this encoded version {}", doc.v)));
    }
    if doc.rv == 0 {
        return Err(invalid(": incorrect encoded start resourceVersion (version meta.k8s.io/v1)".into()));
    }
    if doc.start.is_empty() {
        return Err(invalid(": encoded start key empty (version meta.k8s.io/v1)".into()));
    }
    // As kube: the start, made absolute, must be a clean path, so it cannot climb out of the
    // prefix; every token this server writes ends with the NUL that makes it "after" a key.
    let absolute = if doc.start.starts_with('/') { doc.start.clone() } else { format!("/{}", doc.start) };
    let after = absolute.strip_suffix('\0').filter(|_| is_clean_path(&absolute));
    let Some(after) = after else { return Err(invalid(format!(": {}", doc.start))) };
    Ok((doc.rv, format!("{prefix}{}", &after[1..])))
}

/// Whether Go's `path.Clean` leaves `p` (absolute) as it is: no empty, `.` or `..` segment and
/// no trailing slash.
fn is_clean_path(p: &str) -> bool {
    p == "/" || p.split('/').skip(1).all(|seg| !seg.is_empty() && seg != "." && seg != "..")
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
    fn continue_tokens_are_kubes() {
        let pods = "/registry/core/pods/";
        let t = encode_continue(7, "/registry/core/pods/ns/a", pods);
        // What kube-apiserver writes for the same page (EncodeContinue).
        let doc = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&t).unwrap();
        assert_eq!(String::from_utf8(doc).unwrap(), r#"{"v":"meta.k8s.io/v1","rv":7,"start":"ns/a\u0000"}"#);
        assert_eq!(decode_continue(&t, pods).unwrap(), (7, "/registry/core/pods/ns/a".into()));
        let latest = encode_continue(-1, "/registry/core/pods/ns/a", pods);
        assert_eq!(decode_continue(&latest, pods).unwrap().0, -1);
    }

    #[test]
    fn bad_continue_tokens_get_kubes_messages() {
        let enc = |doc: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(doc);
        let msg = |token: &str| decode_continue(token, "/registry/core/pods/").unwrap_err();
        let e = msg("%%%");
        assert_eq!(e.code, 400);
        assert_eq!(
            e.message,
            "invalid continue token: continue key is not valid: illegal base64 data at input byte 0"
        );
        assert_eq!(
            msg(&enc(r#"{"v":"meta.k8s.io/v1","rv":0,"start":"a\u0000"}"#)).message,
            "invalid continue token: continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"
        );
        assert_eq!(
            msg(&enc(r#"{"v":"meta.k8s.io/v1","rv":3,"start":""}"#)).message,
            "invalid continue token: continue key is not valid: encoded start key empty (version meta.k8s.io/v1)"
        );
        assert_eq!(
            msg(&enc(r#"{"v":"v2","rv":3,"start":"a"}"#)).message,
            "invalid continue token: continue key is not valid: server does not recognize this encoded version v2"
        );
        // No climbing out of the prefix.
        assert_eq!(
            msg(&enc(r#"{"v":"meta.k8s.io/v1","rv":3,"start":"../secrets/x\u0000"}"#)).message,
            "invalid continue token: continue key is not valid: ../secrets/x\u{0}"
        );
        assert!(msg(&enc(r#"{"v":"meta.k8s.io/v1","rv":3,"start":"ns//a\u0000"}"#))
            .message
            .ends_with("ns//a\u{0}"));
    }
}
