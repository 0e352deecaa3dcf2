//! Object bodies as a create or update decodes them: the server's `decode_object` for each
//! Content-Type (JSON, YAML, the protobuf envelope), then what follows for a kind the
//! catalog serves: the typed round trip, defaults, `prepare_for_create` and validation (of a
//! create, and of an update onto itself).

use apiserver::rest::decode_object;
use registry::{strategy, Catalog};
use serde_json::Value;

pub(super) const YAML_WORDS: &[&str] = &[
    "apiVersion: v1\n",
    "kind: Pod\n",
    "metadata:\n  name: a\n",
    "---\n",
    "&a ",
    "*a",
    "<<: *a\n",
    "!!binary ",
    "!!str ",
    "!!int ",
    "!!float ",
    "!!map ",
    "!!seq ",
    "? ",
    ": ",
    "- ",
    "|\n",
    ">-\n",
    "'",
    "\"",
    "\\x00",
    "~",
    "null",
    "yes",
    "on",
    "0x1F",
    "0o17",
    ".inf",
    "1e400",
    "%YAML 1.1\n",
    "%TAG ! tag:x:\n",
    "{",
    "[",
    "#",
    "\t",
];

/// Tags and lengths of the envelope: field 1 (TypeMeta: apiVersion, kind), 2 (raw), 3
/// (contentEncoding), 4 (contentType).
pub(super) const PROTOBUF_WORDS: &[&str] =
    &["k8s\0", "\n", "\u{12}", "\u{1a}", "\"", "\u{7f}", "v1", "Pod", "apps/v1", "Deployment", "ConfigMap"];

pub(super) fn json_body(data: &[u8]) {
    body(data, "application/json");
}

pub(super) fn yaml_body(data: &[u8]) {
    body(data, "application/yaml");
}

pub(super) fn protobuf_body(data: &[u8]) {
    body(data, "application/vnd.kubernetes.protobuf");
}

fn body(data: &[u8], content_type: &str) {
    let Ok(obj) = decode_object(data, content_type) else { return };
    object(&obj);
}

/// What the write path does to a decoded object of a served kind.
pub(super) fn object(obj: &Value) {
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    let Some(rt) = Catalog::global().by_kind(group, kind) else { return };
    let Ok((mut typed, _dropped)) = rt.normalize(obj) else { return };
    strategy::prune_and_default(rt, &mut typed);
    strategy::prepare_for_create(rt, &mut typed, "2024-01-01T00:00:00Z");
    let _ = strategy::validate(rt, &typed);
    let _ = strategy::validate_update(rt, &typed, &typed);
}
