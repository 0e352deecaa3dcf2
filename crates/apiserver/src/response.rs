//! Building responses: objects in the negotiated format, Status errors, streaming bodies.

use crate::negotiate::{Encoding, Metadata, Output};
use crate::partial;
use apimachinery::status::go_json_into;
use apimachinery::StatusError;
use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use registry::ResourceType;
use serde_json::{json, Value};
use storage::KeyValue;

pub type Body = BoxBody<Bytes, std::io::Error>;

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed()
}

pub fn empty() -> Body {
    full(Bytes::new())
}

fn with_type(status: u16, content_type: &str, body: Body) -> Response<Body> {
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp
}

pub fn bytes_response(status: u16, content_type: &str, bytes: impl Into<Bytes>) -> Response<Body> {
    with_type(status, content_type, full(bytes))
}

/// Serializes a value in the negotiated format (Tables are built by the caller). Protobuf is
/// negotiated only for kinds that have it (and metadata-only answers); a value that still
/// cannot be encoded (a server bug, logged) goes out as JSON, which every Kubernetes client
/// reads by its Content-Type.
pub fn encode(v: &Value, out: Output) -> (&'static str, Vec<u8>) {
    match out {
        out if out.is_protobuf() => match kube_protobuf::encode_from_json(v) {
            Ok(bytes) => (kube_protobuf::CONTENT_TYPE, bytes),
            Err(error) => {
                tracing::warn!(%error, kind = ?v.get("kind"), "answer has no protobuf form, sent as JSON");
                encode(v, Output::Json)
            }
        },
        out if out.is_yaml() => {
            ("application/yaml", apimachinery::yaml::to_string(v).unwrap_or_default().into_bytes())
        }
        _ => {
            let mut out = Vec::with_capacity(512);
            go_json_into(v, &mut out);
            out.push(b'\n');
            ("application/json", out)
        }
    }
}

pub fn object(status: u16, v: &Value, out: Output) -> Response<Body> {
    let (ct, bytes) = encode(v, out);
    bytes_response(status, ct, bytes)
}

/// Go's `http.NotFound`: what kube answers for a path no handler serves (an unknown API
/// group, a path outside the API), plain text rather than a Status.
pub fn page_not_found() -> Response<Body> {
    bytes_response(404, "text/plain; charset=utf-8", "404 page not found\n")
}

pub fn json(status: u16, v: &Value) -> Response<Body> {
    object(status, v, Output::Json)
}

/// The response with `guard` kept alive until its body has been sent (or dropped).
pub fn hold<G: Send + Sync + Unpin + 'static>(resp: Response<Body>, guard: G) -> Response<Body> {
    resp.map(|body| Held { body, _guard: guard }.boxed())
}

/// A body that keeps something alive as long as it lives.
struct Held<G> {
    body: Body,
    _guard: G,
}

impl<G: Unpin> hyper::body::Body for Held<G> {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, std::io::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// A Status error as kube writes it (in the negotiated format, protobuf included; for a
/// metadata-only answer, the format its errors negotiated): HTTP code = Status code,
/// Retry-After when set.
pub fn status_error(err: &StatusError, out: Output) -> Response<Body> {
    let out = match out {
        Output::Metadata(m) => match m.errors {
            Encoding::Json => Output::Json,
            Encoding::Yaml => Output::Yaml,
            Encoding::Protobuf => Output::Protobuf,
        },
        out => out,
    };
    let mut resp = if out.is_yaml() || out.is_protobuf() {
        object(err.code, &err.to_value(), out)
    } else {
        bytes_response(err.code, "application/json", err.to_json())
    };
    if let Some(d) = &err.details {
        if d.retry_after_seconds > 0 {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(d.retry_after_seconds));
        }
    }
    resp
}

/// One object in the negotiated output (a one-row Table when a Table was asked for, its
/// metadata alone for `PartialObjectMetadata`, kube's 406 for `PartialObjectMetadataList`).
pub fn object_response(status: u16, rt: &ResourceType, obj: &Value, out: Output) -> Response<Body> {
    match out {
        Output::Metadata(m) if m.list => status_error(&partial::mismatch(rt, m), out),
        Output::Metadata(m) => object(status, &partial::item_value(obj, m), out),
        Output::Table(v) => {
            let rv = obj.pointer("/metadata/resourceVersion").cloned().unwrap_or(json!(""));
            let mut t = registry::table::table_with(
                rt,
                std::slice::from_ref(obj),
                json!({"resourceVersion": rv}),
                chrono::Utc::now(),
                v.include,
            );
            t["apiVersion"] = json!(format!("meta.k8s.io/{}", v.version));
            object(status, &t, Output::Json)
        }
        _ => object(status, &crate::objects::kube_field_order(obj), out),
    }
}

/// Where a list stops: the continue token of the next page and, for a list without
/// selectors, how many objects follow (kube's `remainingItemCount`).
#[derive(Debug, Default)]
pub struct Next {
    pub token: Option<String>,
    pub remaining: Option<u64>,
}

impl Next {
    /// The last page.
    pub fn none() -> Next {
        Next::default()
    }
}

/// A list's metadata: its revision, the continue token of the next page and the count of
/// what follows.
fn list_meta(rv: u64, next: Next) -> Value {
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if let Some(c) = next.token {
        meta["continue"] = json!(c);
        if let Some(n) = next.remaining {
            meta["remainingItemCount"] = json!(n);
        }
    }
    meta
}

/// The metadata of a list of `rt`: a custom resource's (kube's unstructured list) always
/// names its continue token, empty on the last page.
fn list_meta_of(rt: &ResourceType, rv: u64, next: Next) -> Value {
    let mut meta = list_meta(rv, next);
    if rt.custom && meta.get("continue").is_none() {
        meta["continue"] = json!("");
    }
    meta
}

/// A JSON list assembled from stored bytes, without parsing the items.
pub fn raw_list_response(rt: &ResourceType, items: &[KeyValue], rv: u64, next: Next) -> Response<Body> {
    let meta = list_meta_of(rt, rv, next);
    let head = json!({"kind": rt.list_kind(), "apiVersion": rt.api_version(), "metadata": meta});
    let head = apimachinery::status::go_json(&head);
    let total: usize = items.iter().map(|kv| kv.value.len() + 48).sum();
    let mut body = Vec::with_capacity(head.len() + total + 16);
    // `{"kind":..,"metadata":{..}` then `,"items":[...]}`.
    body.extend_from_slice(&head.as_bytes()[..head.len() - 1]);
    body.extend_from_slice(b",\"items\":[");
    // kube's typed lists carry no kind and apiVersion in their items; custom resources'
    // (unstructured) lists do.
    let type_meta =
        (!rt.custom).then(|| format!("{{\"kind\":\"{}\",\"apiVersion\":\"{}\",", rt.kind, rt.api_version()));
    for (i, kv) in items.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        // The stored layout: spliced straight into the body, no copy per item.
        if crate::objects::append_raw_with_rv(kv, type_meta.as_deref().map(str::as_bytes), &mut body) {
            continue;
        }
        if let Some(bytes) = crate::objects::json_bytes(kv) {
            match &type_meta {
                Some(prefix) => body.extend_from_slice(&item_without_type_meta(bytes, prefix)),
                None => body.extend_from_slice(&bytes),
            }
        }
    }
    body.extend_from_slice(b"]}\n");
    bytes_response(200, "application/json", body)
}

/// An object's JSON bytes without their leading `kind` and `apiVersion` members (`prefix`, as
/// the stored layout puts them first); other layouts are decoded and re-encoded without them.
fn item_without_type_meta(bytes: Vec<u8>, prefix: &str) -> Vec<u8> {
    if let Some(rest) = bytes.strip_prefix(prefix.as_bytes()) {
        let mut out = Vec::with_capacity(rest.len() + 1);
        out.push(b'{');
        out.extend_from_slice(rest);
        return out;
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(mut v) => {
            strip_type_meta(&mut v);
            apimachinery::status::go_json(&v).into_bytes()
        }
        Err(_) => bytes,
    }
}

/// Removes `kind` and `apiVersion` from an item of a typed list.
fn strip_type_meta(item: &mut Value) {
    if let Some(o) = item.as_object_mut() {
        o.shift_remove("kind");
        o.shift_remove("apiVersion");
    }
}

/// A `PartialObjectMetadataList` from stored bytes: only each item's metadata is read. JSON
/// is assembled from the bytes as they are; protobuf is encoded from the parsed metadata.
pub fn raw_metadata_list_response(items: &[KeyValue], rv: u64, next: Next, m: Metadata) -> Response<Body> {
    if m.encoding == Encoding::Json {
        let mut body = partial::list_bytes(items, &list_meta(rv, next), m);
        body.push(b'\n');
        return bytes_response(200, "application/json", body);
    }
    object(200, &partial::stored_list_value(items, list_meta(rv, next), m), Output::Metadata(m))
}

/// A list in the negotiated output (kube's 406 for `PartialObjectMetadata`).
pub fn list_response(
    rt: &ResourceType,
    items: Vec<Value>,
    rv: u64,
    next: Next,
    out: Output,
) -> Response<Body> {
    let meta = list_meta_of(rt, rv, next);
    match out {
        Output::Metadata(m) if !m.list => status_error(&partial::mismatch(rt, m), out),
        Output::Metadata(m) => object(200, &partial::list_value(&items, meta, m), out),
        Output::Table(v) => {
            // A Table's metadata is a typed ListMeta: an empty continue token is left out.
            let mut meta = meta;
            if meta.get("continue").is_some_and(|c| c == "") {
                if let Some(m) = meta.as_object_mut() {
                    m.shift_remove("continue");
                }
            }
            let mut t = registry::table::table_with(rt, &items, meta, chrono::Utc::now(), v.include);
            t["apiVersion"] = json!(format!("meta.k8s.io/{}", v.version));
            object(200, &t, Output::Json)
        }
        _ => {
            let mut items = items;
            if !rt.custom {
                items.iter_mut().for_each(strip_type_meta);
            }
            let list = json!({"kind": rt.list_kind(), "apiVersion": rt.api_version(), "metadata": meta, "items": items});
            object(200, &list, out)
        }
    }
}
