//! Decoding of the Kubernetes protobuf request body (`application/vnd.kubernetes.protobuf`) into the
//! JSON object the same request would have carried as JSON, so the server handles both alike.
//!
//! kubectl 1.32+ sends its typed-client writes this way: the magic `k8s\0`, then a
//! `runtime.Unknown{1 typeMeta{1 apiVersion, 2 kind}, 2 raw, 3 contentEncoding, 4 contentType}`
//! whose `raw` is the object's own message. gogo writes every non-pointer field, so empty
//! strings, zero integers and the zero `Time` are read as unset and left out of the JSON.
//!
//! Modules: `json` (the JSON builder), `meta` (ObjectMeta, Time, MicroTime and friends), `values`
//! (IntOrString, Quantity), `core` (namespaces, secrets, config maps, RBAC kinds), `review`
//! (access reviews, token reviews and requests), `workloads` (Deployment, Job, CronJob), `pod`
//! (Pod, PodSpec, PodTemplateSpec), `container`, `security`, `volume` and `affinity` (what a
//! PodSpec holds), `service` (Service, Endpoints), `cluster` (Node, Event, Lease).
//!
//! Fields a message does not model are skipped, as protobuf decoders do; a kind it does not
//! model is refused with [`ProtobufError::UnsupportedKind`].

pub mod affinity;
pub mod cluster;
pub mod container;
pub mod core;
mod json;
pub mod meta;
pub mod pod;
pub mod review;
pub mod security;
pub mod service;
pub mod values;
pub mod volume;
pub mod workloads;

use prost::Message;
use serde_json::{Map, Value};

use crate::json::ToJson;

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
}

/// `runtime.TypeMeta` as carried by the envelope.
#[derive(Clone, PartialEq, Message)]
pub struct TypeMeta {
    #[prost(string, optional, tag = "1")]
    pub api_version: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub kind: Option<String>,
}

/// `runtime.Unknown`: the envelope after the magic.
#[derive(Clone, PartialEq, Message)]
pub struct Unknown {
    #[prost(message, optional, tag = "1")]
    pub type_meta: Option<TypeMeta>,
    #[prost(bytes = "vec", optional, tag = "2")]
    pub raw: Option<Vec<u8>>,
    #[prost(string, optional, tag = "3")]
    pub content_encoding: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub content_type: Option<String>,
}

impl Unknown {
    /// Wraps an object's message bytes in an envelope, magic included (as kubectl sends it).
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
}

/// Whether `body` is a Kubernetes protobuf body (starts with `k8s\0`).
pub fn is_protobuf(body: &[u8]) -> bool {
    body.starts_with(MAGIC)
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
    let object = decode_object(&api_version, &kind, &raw)?;

    let mut out = Map::new();
    out.insert("kind".into(), Value::from(kind.as_str()));
    out.insert("apiVersion".into(), Value::from(api_version.as_str()));
    if let Value::Object(fields) = object {
        out.extend(fields);
    }
    Ok(Value::Object(out))
}

fn decode_as<T: Message + Default + ToJson>(kind: &str, raw: &[u8]) -> Result<Value, ProtobufError> {
    T::decode(raw)
        .map(|m| m.to_json())
        .map_err(|source| ProtobufError::Object { kind: kind.to_owned(), source })
}

/// The object's own fields as JSON, chosen by apiVersion and kind.
fn decode_object(api_version: &str, kind: &str, raw: &[u8]) -> Result<Value, ProtobufError> {
    use crate::cluster as cl;
    use crate::core as c;
    use crate::review as r;
    use crate::workloads as w;
    match (api_version, kind) {
        ("v1", "Pod") => decode_as::<crate::pod::Pod>(kind, raw),
        ("v1", "Service") => decode_as::<crate::service::Service>(kind, raw),
        ("v1", "Endpoints") => decode_as::<crate::service::Endpoints>(kind, raw),
        ("v1", "Node") => decode_as::<cl::Node>(kind, raw),
        ("v1", "Event") => decode_as::<cl::Event>(kind, raw),
        ("coordination.k8s.io/v1", "Lease") => decode_as::<cl::Lease>(kind, raw),
        ("v1", "ResourceQuota") => decode_as::<cl::ResourceQuota>(kind, raw),
        ("apps/v1", "Deployment") => decode_as::<w::Deployment>(kind, raw),
        ("batch/v1", "Job") => decode_as::<w::Job>(kind, raw),
        ("batch/v1", "CronJob") => decode_as::<w::CronJob>(kind, raw),
        ("v1", "Namespace") => decode_as::<c::Namespace>(kind, raw),
        ("v1", "ServiceAccount") => decode_as::<c::ServiceAccount>(kind, raw),
        ("v1", "Secret") => decode_as::<c::Secret>(kind, raw),
        ("v1", "ConfigMap") => decode_as::<c::ConfigMap>(kind, raw),
        ("rbac.authorization.k8s.io/v1", "Role" | "ClusterRole") => decode_as::<c::ClusterRole>(kind, raw),
        ("rbac.authorization.k8s.io/v1", "RoleBinding" | "ClusterRoleBinding") => {
            decode_as::<c::RoleBinding>(kind, raw)
        }
        (
            "authorization.k8s.io/v1",
            "SelfSubjectAccessReview" | "SubjectAccessReview" | "LocalSubjectAccessReview",
        ) => decode_as::<r::SubjectAccessReview>(kind, raw),
        ("authorization.k8s.io/v1", "SelfSubjectRulesReview") => {
            decode_as::<r::SelfSubjectRulesReview>(kind, raw)
        }
        (
            "authentication.k8s.io/v1" | "authentication.k8s.io/v1beta1" | "authentication.k8s.io/v1alpha1",
            "SelfSubjectReview",
        ) => decode_as::<r::SelfSubjectReview>(kind, raw),
        ("authentication.k8s.io/v1" | "authentication.k8s.io/v1beta1", "TokenReview") => {
            decode_as::<r::TokenReview>(kind, raw)
        }
        ("authentication.k8s.io/v1", "TokenRequest") => decode_as::<r::TokenRequest>(kind, raw),
        _ => {
            Err(ProtobufError::UnsupportedKind { api_version: api_version.to_owned(), kind: kind.to_owned() })
        }
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_kubectl;
#[cfg(test)]
mod tests_objects;
#[cfg(test)]
mod tests_pod;
