//! The Kubernetes protobuf media type (`application/vnd.kubernetes.protobuf`) both ways: a
//! request body decoded into the JSON object the same request would have carried as JSON, so
//! the server handles both alike ([`decode_to_json`]), and an answer's JSON object encoded as
//! kube-apiserver writes it in protobuf ([`encode_from_json`], [`watch_event_frame`]).
//!
//! kubectl 1.32+ sends its typed-client writes this way: the magic `k8s\0`, then a
//! `runtime.Unknown{typeMeta{apiVersion, kind}, raw, contentEncoding, contentType}` whose `raw` is
//! the object's own message.
//!
//! The messages are those of the `k8s-pb` crate (prost code generated from kube's `.proto`
//! files, Kubernetes 1.35), so no field is lost to a hand-written subset. Their JSON is what
//! kube-apiserver's Go types would write for the decoded object: the conversions in
//! `generated/` are written by `codegen/generate.py` from the Go types' JSON tags (names,
//! pointers, `omitempty`, inlined structs) and cover every field, checked at compile time;
//! `json` holds the rules they apply, `values` the types that write their own JSON (Time,
//! MicroTime, Duration, IntOrString, Quantity, RawExtension, FieldsV1).
//!
//! Fields the messages do not know (from a newer Kubernetes) are skipped, as Go's decoder does;
//! a kind that is not decoded is refused with [`ProtobufError::UnsupportedKind`].
//!
//! Encoding is the inverse (`encode`, `encode_values`, and the `FromFields` halves of
//! `generated/`): the JSON object read as Go's JSON decoder reads it into the Go struct (unknown
//! members dropped), then the message gogo-protobuf writes for that struct. Answers are the
//! envelope again; a watch stream is length-prefixed `WatchEvent` messages whose object is a
//! `RawExtension` holding the enveloped object (kube's raw protobuf stream serializer).

mod apiextensions;
mod encode;
mod encode_values;
mod generated;
mod json;
mod values;

use k8s_pb::apimachinery::pkg::runtime::{TypeMeta, Unknown};
use prost::Message;
use serde_json::{Map, Value};

/// The four bytes every Kubernetes protobuf body starts with.
pub const MAGIC: &[u8; 4] = b"k8s\0";

/// The media type of Kubernetes protobuf bodies.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// Why a protobuf body could not be turned into JSON.
#[derive(Debug, thiserror::Error)]
pub enum ProtobufError {
    /// The body does not start with `k8s\0`.
    #[error("body does not start with the kubernetes protobuf magic")]
    NotProtobuf,
    /// The `runtime.Unknown` envelope is not valid protobuf.
    #[error("malformed protobuf envelope: {0}")]
    Envelope(#[source] prost::DecodeError),
    /// The envelope has no `typeMeta`, or an empty kind.
    #[error("protobuf envelope does not name the object's kind")]
    MissingKind,
    /// The envelope declares a content encoding (e.g. gzip) this decoder does not undo.
    #[error("protobuf content encoding `{0}` is not supported")]
    ContentEncoding(String),
    /// The kind is not one this decoder knows; the server should answer 415.
    #[error("protobuf is not supported for kind `{kind}` in `{api_version}`, send JSON")]
    UnsupportedKind {
        /// `apiVersion` from the envelope.
        api_version: String,
        /// `kind` from the envelope.
        kind: String,
    },
    /// The object's own message is not valid protobuf for its kind.
    #[error("malformed protobuf `{kind}`: {source}")]
    Object {
        /// The kind being decoded.
        kind: String,
        /// What prost reported.
        #[source]
        source: prost::DecodeError,
    },
    /// The JSON object does not fit its kind's message (a member of the wrong JSON type, a time
    /// that is not RFC 3339), as Go's JSON decoder would refuse it.
    #[error("{0}")]
    Encode(String),
    /// The decoded object has no JSON form: a value Go's decoder or JSON encoder refuses (an
    /// unparsable quantity, a RawExtension that is not JSON, an impossible IntOrString type).
    #[error("{0}")]
    Json(String),
}

/// Whether `body` is a Kubernetes protobuf body (starts with `k8s\0`).
pub fn is_protobuf(body: &[u8]) -> bool {
    body.starts_with(MAGIC)
}

/// Wraps an object's message bytes in an envelope, magic included, as kubectl sends it.
pub fn envelope(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
    let unknown = Unknown {
        type_meta: Some(TypeMeta { api_version: Some(api_version.into()), kind: Some(kind.into()) }),
        raw: Some(raw),
        content_encoding: Some(String::new()),
        content_type: Some(String::new()),
    };
    let mut out = MAGIC.to_vec();
    out.extend(unknown.encode_to_vec());
    out
}

/// Whether answers of this kind can be written in protobuf (the built-in kinds, their lists,
/// `v1` Status and meta.k8s.io's PartialObjectMetadata(List) in v1 and v1beta1; not custom
/// resources).
pub fn encodes(api_version: &str, kind: &str) -> bool {
    generated::ENCODED_KINDS.iter().any(|(v, k)| *v == api_version && *k == kind)
}

/// Encodes an answer: the magic, then the envelope naming the object's `apiVersion` and `kind`
/// around the object's own message, as kube-apiserver's protobuf serializer writes it.
pub fn encode_from_json(object: &Value) -> Result<Vec<u8>, ProtobufError> {
    let text = |key: &str| object.get(key).and_then(Value::as_str).unwrap_or_default();
    let (api_version, kind) = (text("apiVersion"), text("kind"));
    if kind.is_empty() {
        return Err(ProtobufError::MissingKind);
    }
    let raw = generated::encode_kind(api_version, kind, object).unwrap_or_else(|| {
        Err(ProtobufError::UnsupportedKind { api_version: api_version.into(), kind: kind.into() })
    })?;
    Ok(envelope(api_version, kind, raw))
}

/// The media type of a protobuf watch stream.
pub const WATCH_CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf;stream=watch";

/// One frame of a protobuf watch stream: the length of the message as four big-endian bytes,
/// then a `WatchEvent{type, object: RawExtension{raw: <enveloped object>}}` (no envelope of its
/// own: kube's stream serializer is the raw one).
pub fn watch_event_frame(event_type: &str, object: &Value) -> Result<Vec<u8>, ProtobufError> {
    use k8s_pb::apimachinery::pkg::apis::meta::v1::WatchEvent;
    use k8s_pb::apimachinery::pkg::runtime::RawExtension;
    let event = WatchEvent {
        r#type: Some(event_type.into()),
        object: Some(RawExtension { raw: Some(encode_from_json(object)?) }),
    };
    let message = event.encode_to_vec();
    let len = u32::try_from(message.len())
        .map_err(|_| ProtobufError::Encode("watch event larger than 4 GiB".into()))?;
    let mut out = Vec::with_capacity(message.len() + 4);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend(message);
    Ok(out)
}

/// Decodes a protobuf body into the JSON object kubectl would have sent as JSON:
/// `kind`, `apiVersion`, then the object's fields.
pub fn decode_to_json(body: &[u8]) -> Result<Value, ProtobufError> {
    let envelope = body.strip_prefix(MAGIC.as_slice()).ok_or(ProtobufError::NotProtobuf)?;
    let unknown = Unknown::decode(envelope).map_err(ProtobufError::Envelope)?;
    if let Some(encoding) = unknown.content_encoding.filter(|e| !e.is_empty()) {
        return Err(ProtobufError::ContentEncoding(encoding));
    }
    let type_meta = unknown.type_meta.unwrap_or_default();
    let api_version = type_meta.api_version.unwrap_or_default();
    let kind = type_meta.kind.filter(|k| !k.is_empty()).ok_or(ProtobufError::MissingKind)?;
    let raw = unknown.raw.unwrap_or_default();
    let object = generated::decode_kind(&api_version, &kind, &raw).unwrap_or_else(|| {
        Err(ProtobufError::UnsupportedKind { api_version: api_version.clone(), kind: kind.clone() })
    })?;

    let mut out = Map::new();
    out.insert("kind".into(), Value::from(kind.as_str()));
    out.insert("apiVersion".into(), Value::from(api_version.as_str()));
    if let Value::Object(fields) = object {
        out.extend(fields);
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_client_go;
#[cfg(test)]
mod tests_encode;
#[cfg(test)]
mod tests_kubectl;
#[cfg(test)]
mod tests_pod;
