//! REST handlers for resources: the verbs of kube's generic registry over the `Store`.

mod binding;
mod component_probe;
mod component_status;
pub mod connect;
pub(crate) mod delete;
mod eviction;
pub(crate) mod field_manager;
pub mod kinds;
mod reachable;
mod read;
mod scale;
mod token;
mod watch;
mod write;

use crate::context::Ctx;
use crate::response::{self, Body};
use crate::reviews;
use apimachinery::StatusError;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use registry::strategy::Endpoint;
use serde_json::Value;

/// A list's query as its handlers read it (`labelSelector`, `fieldSelector`, `limit`,
/// `continue`, `resourceVersion`, `resourceVersionMatch`); public for the fuzz targets.
pub use read::{Filter, ListOptions};

pub async fn dispatch(ctx: Ctx, req: Request<Incoming>) -> Response<Body> {
    let out = ctx.output;
    let warning = deprecation_warning(&ctx);
    let notes = std::sync::Arc::clone(&ctx.notes);
    let mut resp = match route(ctx, req).await {
        Ok(resp) => resp,
        Err(e) => response::status_error(&e, out),
    };
    if let Some(v) = warning.and_then(|w| http::HeaderValue::from_str(&w).ok()) {
        resp.headers_mut().append("Warning", v);
    }
    // Admission's warnings, on success and refusal alike (kube writes them as they come),
    // once each.
    for w in notes.warnings() {
        let text = format!("299 - {}", apimachinery::status::quote(&w));
        let Ok(v) = http::HeaderValue::from_str(&text) else { continue };
        if !resp.headers().get_all("Warning").iter().any(|h| *h == v) {
            resp.headers_mut().append("Warning", v);
        }
    }
    resp
}

/// kube's `Warning` for a request to a deprecated resource: core v1 Endpoints (deprecated
/// in 1.33 for EndpointSlices), or a deprecated version of a custom resource.
fn deprecation_warning(ctx: &Ctx) -> Option<String> {
    let info = &ctx.info;
    if info.api_group.is_empty() && info.api_version == "v1" && info.resource == "endpoints" {
        return Some(
            "299 - \"v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice\"".into(),
        );
    }
    let rt = ctx.state.catalog.lookup(&info.api_group, &info.api_version, &info.resource)?;
    let text = ctx.state.catalog.custom().version(rt)?.deprecation_warning.clone()?;
    Some(format!("299 - {}", apimachinery::status::quote(&text)))
}

/// An endpoint without protobuf (custom resources, kubeward's own APIs) negotiates again
/// without it when protobuf was chosen: the next acceptable clause, or kube's 406 (errors stay
/// in the first negotiation's format, as kube writes them).
fn without_protobuf(ctx: &mut Ctx, req: &Request<Incoming>) -> Result<(), StatusError> {
    if ctx.output != crate::negotiate::Output::Protobuf {
        return Ok(());
    }
    let accept = req.headers().get(http::header::ACCEPT).and_then(|v| v.to_str().ok());
    ctx.output = crate::negotiate::output_without_protobuf(accept).ok_or_else(|| {
        StatusError::not_acceptable(format!(
            "only the following media types are accepted: {}",
            crate::negotiate::ACCEPTED_MEDIA_TYPES
        ))
    })?;
    Ok(())
}

/// Whether kube answers this resource's kind in protobuf (the built-in kinds).
fn has_protobuf(rt: &registry::ResourceType) -> bool {
    !rt.custom && kube_protobuf::encodes(&rt.api_version(), rt.kind)
}

async fn route(mut ctx: Ctx, req: Request<Incoming>) -> Result<Response<Body>, StatusError> {
    let state = ctx.state.clone();
    if reachable::serves(&ctx.info.api_group, &ctx.info.api_version, &ctx.info.resource) {
        without_protobuf(&mut ctx, &req)?;
        return reachable::read(&ctx).await;
    }
    let info = &ctx.info;
    if ctx.output == crate::negotiate::Output::Protobuf
        && state
            .catalog
            .lookup(&info.api_group, &info.api_version, &info.resource)
            .is_some_and(|rt| !has_protobuf(rt))
    {
        without_protobuf(&mut ctx, &req)?;
    }
    let info = &ctx.info;
    let Some(rt) = state.catalog.lookup(&info.api_group, &info.api_version, &info.resource) else {
        // An API group no one serves has no handler in kube at all.
        if !info.api_group.is_empty()
            && !state.catalog.group_versions().iter().any(|(g, _)| *g == info.api_group)
        {
            return Ok(response::page_not_found());
        }
        return Err(StatusError::not_found_path());
    };
    // Only a proxy takes a path after its subresource (`pods/x/proxy/a/b`).
    let proxied = info.subresource == "proxy" && rt.subresource("proxy").is_some();
    if !info.parts.is_empty() && !proxied {
        return Err(StatusError::not_found_path());
    }
    if !rt.stored && rt.group.is_empty() && rt.plural == "bindings" {
        // The legacy Binding (kube's LegacyBindingREST): the Pod is the one it names.
        if info.verb != "create" || !info.name.is_empty() || !info.subresource.is_empty() {
            return Err(StatusError::method_not_allowed());
        }
        if info.namespace.is_empty() {
            return Err(StatusError::not_found_path());
        }
        let pods = state.catalog.lookup("", "v1", "pods").ok_or_else(StatusError::not_found_path)?;
        let body = read_object(&ctx, req).await?;
        let name = body.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string();
        return binding::create(&ctx, pods, &name, body).await;
    }
    if !rt.stored {
        let read = matches!(info.verb.as_str(), "get" | "list");
        if read && rt.has_verb(&info.verb) && info.subresource.is_empty() {
            return component_status::read(&ctx, rt).await;
        }
        if info.verb != "create" || !rt.has_verb("create") || !info.subresource.is_empty() {
            return Err(StatusError::method_not_allowed());
        }
        // The review APIs have no Table conversion: kube's negotiation skips a Table clause
        // of Accept for them, and answers 406 before it reads the body when none is left.
        let accept =
            req.headers().get(http::header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let without_tables: Vec<&str> =
            accept.split(',').filter(|c| !c.contains("as=Table") && !c.trim().is_empty()).collect();
        if matches!(ctx.output, crate::negotiate::Output::Table(_))
            && (without_tables.is_empty()
                || crate::negotiate::output(Some(&without_tables.join(","))).is_none())
        {
            // The body is not looked at, but read (within the body limit) before answering:
            // an HTTP/2 answer sent while the client still sends makes hyper reset the stream,
            // which curl sometimes reports as a framing error instead of the 406.
            let _ = read_body(&ctx, req).await;
            return Err(StatusError::not_acceptable(format!(
                "only the following media types are accepted: {}",
                crate::negotiate::ACCEPTED_MEDIA_TYPES
            )));
        }
        let body = read_object(&ctx, req).await?;
        return reviews::create(&ctx, rt, body).await;
    }
    if !info.subresource.is_empty() {
        let Some(sub) = rt.subresource(&info.subresource) else {
            return Err(StatusError::not_found_path());
        };
        if !sub.verbs.contains(&info.verb.as_str()) {
            return Err(StatusError::method_not_allowed());
        }
        match (sub.name, info.verb.as_str()) {
            ("log", "get") => return connect::log(&ctx, rt).await,
            ("exec" | "attach" | "portforward", _) => return connect::stream(&ctx, rt, req).await,
            ("proxy", _) => return connect::proxy(&ctx, rt, req).await,
            _ => {}
        }
        let endpoint = Endpoint::of(sub.name);
        return match (sub.name, info.verb.as_str(), endpoint) {
            ("status" | "ephemeralcontainers" | "resize" | "approval", "get", _) => read::get(&ctx, rt).await,
            (
                "status" | "finalize" | "ephemeralcontainers" | "resize" | "approval",
                "update",
                Some(endpoint),
            ) => {
                let body = read_object(&ctx, req).await?;
                write::update(&ctx, rt, body, endpoint).await
            }
            ("status" | "ephemeralcontainers" | "resize" | "approval", "patch", Some(endpoint)) => {
                let (bytes, ct) = read_patch(&ctx, req).await?;
                write::patch(&ctx, rt, &bytes, &ct, endpoint).await
            }
            ("binding", "create", _) => {
                let body = read_object(&ctx, req).await?;
                binding::create(&ctx, rt, &ctx.info.name, body).await
            }
            ("eviction", "create", _) => {
                let body = read_object(&ctx, req).await?;
                eviction::create(&ctx, rt, body).await
            }
            ("token", "create", _) => {
                let body = read_object(&ctx, req).await?;
                token::create(&ctx, rt, body).await
            }
            ("scale", "get", _) => scale::get(&ctx, rt).await,
            ("scale", "update", _) => {
                let body = read_object(&ctx, req).await?;
                scale::update(&ctx, rt, body).await
            }
            ("scale", "patch", _) => {
                let (bytes, ct) = read_patch(&ctx, req).await?;
                scale::patch(&ctx, rt, &bytes, &ct).await
            }
            _ => Err(StatusError::method_not_allowed()),
        };
    }
    if !rt.has_verb(&info.verb) || !route_takes(&info.verb, &info.name) {
        return Err(StatusError::method_not_allowed());
    }
    if rt.namespaced && info.namespace.is_empty() && !matches!(info.verb.as_str(), "list" | "watch") {
        return Err(StatusError::not_found_path());
    }
    match info.verb.as_str() {
        "get" => read::get(&ctx, rt).await,
        "list" => read::list(&ctx, rt).await,
        "watch" => watch::watch(&ctx, rt).await,
        "create" => {
            let body = read_object(&ctx, req).await?;
            write::create(&ctx, rt, body).await
        }
        "update" => {
            let body = read_object(&ctx, req).await?;
            write::update(&ctx, rt, body, Endpoint::Main).await
        }
        "patch" => {
            let (bytes, ct) = read_patch(&ctx, req).await?;
            write::patch(&ctx, rt, &bytes, &ct, Endpoint::Main).await
        }
        "delete" => {
            let (bytes, ct) = read_delete_options(&ctx, req).await?;
            delete::delete(&ctx, rt, &bytes, &ct).await
        }
        "deletecollection" => {
            let (bytes, ct) = read_delete_options(&ctx, req).await?;
            delete::delete_collection(&ctx, rt, &bytes, &ct).await
        }
        _ => Err(StatusError::method_not_allowed()),
    }
}

/// Whether kube registers a route for `verb` on a collection (no name) or on one object: a
/// POST names no object, a PUT or PATCH names one.
fn route_takes(verb: &str, name: &str) -> bool {
    match verb {
        "create" => name.is_empty(),
        "update" | "patch" => !name.is_empty(),
        _ => true,
    }
}

/// How long a request body may take to arrive (kube's default request timeout).
const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Reads the body up to the size limit (413 past it) and the time limit (504), with its Content-Type.
pub async fn read_body(ctx: &Ctx, req: Request<Incoming>) -> Result<(Bytes, String), StatusError> {
    let ct = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string();
    let limit = ctx.state.max_request_body_bytes;
    let too_large = || StatusError::request_entity_too_large(&format!("limit is {limit}"));
    // A declared length over the limit is refused before any byte is read, so a client that
    // waits for `100 Continue` gets the answer instead of a connection closed mid-upload.
    let declared = req.headers().get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok());
    if declared.and_then(|v| v.parse::<u64>().ok()).is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let read = tokio::time::timeout(BODY_READ_TIMEOUT, Limited::new(req.into_body(), limit).collect());
    let Ok(collected) = read.await else {
        // A client that trickles its body does not hold a request slot forever.
        return Err(StatusError::timeout(
            "request did not complete within requested timeout - context deadline exceeded",
            0,
        ));
    };
    match collected {
        Ok(c) => Ok((c.to_bytes(), ct)),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(e) => Err(StatusError::bad_request(format!("error reading request body: {e}"))),
    }
}

fn media_type(ct: &str) -> String {
    ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// Decodes an object body: JSON, YAML, or the Kubernetes protobuf envelope.
pub fn decode_object(bytes: &[u8], ct: &str) -> Result<Value, StatusError> {
    let v: Value = match media_type(ct).as_str() {
        "application/json" | "" => serde_json::from_slice(bytes)
            .map_err(|e| StatusError::bad_request(format!("error decoding JSON body: {e}")))?,
        "application/yaml" | "application/x-yaml" | "text/yaml" => apimachinery::yaml::from_slice(bytes)
            .map_err(|e| StatusError::bad_request(format!("error decoding YAML body: {e}")))?,
        "application/vnd.kubernetes.protobuf" => kube_protobuf::decode_to_json(bytes)
            .map_err(|e| StatusError::bad_request(format!("error decoding protobuf body: {e}")))?,
        _ => return Err(StatusError::unsupported_media_type()),
    };
    if !v.is_object() {
        return Err(StatusError::bad_request("the request body must be an object"));
    }
    Ok(v)
}

/// Reads and decodes an object body; the audit record gets the object.
async fn read_object(ctx: &Ctx, req: Request<Incoming>) -> Result<Value, StatusError> {
    let (bytes, ct) = read_body(ctx, req).await?;
    if bytes.is_empty() {
        return Err(StatusError::bad_request("the request body is empty"));
    }
    let json = matches!(media_type(&ct).as_str(), "application/json" | "");
    let v = if json && ctx.info.query_param("fieldValidation") != Some("Ignore") {
        // One pass: the object and its repeated keys (kube's strict decoding names them).
        let (v, duplicates) = apimachinery::json_dups::from_slice_with_duplicates(&bytes)
            .map_err(|e| StatusError::bad_request(format!("error decoding JSON body: {e}")))?;
        if !v.is_object() {
            return Err(StatusError::bad_request("the request body must be an object"));
        }
        ctx.notes.set_duplicate_fields(duplicates);
        v
    } else {
        decode_object(&bytes, &ct)?
    };
    if let Some(audit) = &ctx.audit {
        audit.object(&v);
    }
    Ok(v)
}

/// Reads a patch; the audit record gets it as sent.
async fn read_patch(ctx: &Ctx, req: Request<Incoming>) -> Result<(Bytes, String), StatusError> {
    let (bytes, ct) = read_body(ctx, req).await?;
    if let Some(audit) = &ctx.audit {
        audit.patch(&bytes, &ct);
    }
    Ok((bytes, ct))
}

/// Reads a DELETE body (DeleteOptions, often empty); the audit record gets it.
async fn read_delete_options(ctx: &Ctx, req: Request<Incoming>) -> Result<(Bytes, String), StatusError> {
    let (bytes, ct) = read_body(ctx, req).await?;
    if let Some(audit) = &ctx.audit {
        audit.delete_options(&bytes, &ct);
    }
    Ok((bytes, ct))
}
#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    const YAML: &str = "application/yaml";

    #[test]
    fn a_yaml_body_decodes_to_json() {
        let v = decode_object(b"apiVersion: v1\nkind: ConfigMap\ndata:\n  on: yes\n", YAML).unwrap();
        assert_eq!(v, serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"on": "yes"}}));
        let e = decode_object(b"- a\n", YAML).unwrap_err();
        assert_eq!((e.code, e.message.as_str()), (400, "the request body must be an object"));
    }

    #[test]
    fn an_alias_bomb_is_a_bad_request() {
        let mut bomb =
            String::from("kind: ConfigMap\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..12 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let started = Instant::now();
        let e = decode_object(bomb.as_bytes(), YAML).unwrap_err();
        // Unbounded, the bomb expands to 9^12 nodes and never ends; bounded, it is refused at
        // once. The bound is generous: a loaded test machine took 6 s for the bounded work.
        assert!(started.elapsed() < Duration::from_secs(60), "took {:?}", started.elapsed());
        assert_eq!(e.code, 400);
        assert!(e.message.starts_with("error decoding YAML body: "), "{}", e.message);
        let e = write::decode_apply(bomb.as_bytes()).unwrap_err();
        assert_eq!(e.code, 400);
        assert!(e.message.starts_with("error decoding patch: "), "{}", e.message);
    }

    #[test]
    fn deep_yaml_is_a_bad_request() {
        let depth = apimachinery::yaml::MAX_DEPTH;
        let body = |levels: usize| format!("a: {}1{}", "[".repeat(levels), "]".repeat(levels));
        assert!(decode_object(body(depth - 1).as_bytes(), YAML).is_ok());
        for levels in [depth, 100_000] {
            let e = decode_object(body(levels).as_bytes(), YAML).unwrap_err();
            assert_eq!(e.code, 400);
            assert!(e.message.starts_with("error decoding YAML body: "), "{}", e.message);
        }
        let block: String = (0..depth * 2).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
        assert_eq!(decode_object(block.as_bytes(), YAML).unwrap_err().code, 400);
    }
}
