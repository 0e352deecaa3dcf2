//! Non-resource endpoints: health (health.rs), metrics (metrics/), version, discovery and
//! OpenAPI.

use crate::context::Ctx;
use crate::discovery::{self, Doc};
use crate::negotiate::{self, DiscoveryOutput};
use crate::response::{self, Body};
use apimachinery::StatusError;
use authn::serviceaccount::discovery::{CACHE_CONTROL, JWKS_CONTENT_TYPE, JWKS_PATH, OPENID_CONFIG_PATH};
use http::{header, HeaderValue, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::json;

const OPENAPI_V2_PROTO: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

fn not_found(ctx: &Ctx) -> Response<Body> {
    response::status_error(&StatusError::not_found_path(), ctx.output)
}

/// A path without a handler: kube's API paths (`/api`, `/apis/<served group>`, OpenAPI)
/// answer a 404 Status, anything else Go's plain-text 404.
fn unknown_path(ctx: &Ctx, path: &str) -> Response<Body> {
    let served_group = path.strip_prefix("/apis/").is_some_and(|rest| {
        let group = rest.split('/').next().unwrap_or_default();
        ctx.state.catalog.group_versions().iter().any(|(g, _)| *g == group)
    });
    if served_group || path == "/api" || path.starts_with("/api/") || path.starts_with("/openapi/") {
        not_found(ctx)
    } else {
        response::page_not_found()
    }
}

/// A cached document with ETag / If-None-Match handling.
fn doc_response(req: &Request<Incoming>, doc: &Doc, content_type: &str) -> Response<Body> {
    etag_response(req, || doc.bytes.clone(), &doc.etag, content_type)
}

/// `bytes` with its quoted `etag`, or 304 when the client's If-None-Match names it.
fn etag_response<B: Into<bytes::Bytes>>(
    req: &Request<Incoming>,
    bytes: impl FnOnce() -> B,
    etag: &str,
    content_type: &str,
) -> Response<Body> {
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut resp = if matches {
        let mut r = Response::new(response::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        response::bytes_response(200, content_type, bytes())
    };
    if let Ok(v) = HeaderValue::from_str(etag) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp
}

/// go-restful's `matchesAccept` for a route that produces one media type: `*/*` or that type
/// among the Accept header's ranges (no `application/*`); no header accepts anything.
fn restful_accepts(accept: Option<&str>, produces: &str) -> bool {
    let accept = accept.unwrap_or_default();
    accept.is_empty()
        || accept.split(',').any(|range| {
            let media = range.split(';').next().unwrap_or_default().trim();
            media == "*/*" || media == produces
        })
}

/// `GET /`: the paths the server serves, sorted, as kube's index lists them.
fn root_paths(discovery: &discovery::Discovery, issuer_discovery: bool) -> Vec<String> {
    let mut paths: Vec<String> = [
        "/api",
        "/apis",
        "/apis/",
        "/healthz",
        "/healthz/etcd",
        "/healthz/log",
        "/healthz/ping",
        "/livez",
        "/livez/etcd",
        "/livez/log",
        "/livez/ping",
        "/openapi/v2",
        "/openapi/v3",
        "/openapi/v3/",
        "/readyz",
        "/readyz/etcd",
        "/readyz/log",
        "/readyz/ping",
        "/version",
    ]
    .iter()
    .map(|p| p.to_string())
    .collect();
    paths.extend(discovery.by_path.keys().map(|k| format!("/{k}")));
    if issuer_discovery {
        paths.extend([OPENID_CONFIG_PATH, JWKS_PATH].map(String::from));
    }
    paths.sort();
    paths
}

/// The answer when the OpenAPI documents could not be built (logged where it failed).
fn openapi_unavailable() -> Response<Body> {
    let e = StatusError::internal("the OpenAPI documents could not be built");
    response::status_error(&e, crate::negotiate::Output::Json)
}

pub async fn dispatch(ctx: Ctx, req: Request<Incoming>) -> Response<Body> {
    if req.method() != http::Method::GET && req.method() != http::Method::HEAD {
        let e = StatusError::method_not_supported(&Default::default(), req.method().as_str());
        return response::status_error(&e, ctx.output);
    }
    let discovery = ctx.state.discovery.load();
    let path = req.uri().path().trim_end_matches('/');
    let state = &ctx.state;
    if let Some((endpoint, one)) = crate::health::route(path) {
        return crate::health::serve(state, &ctx.info, endpoint, one).await;
    }
    match path {
        "/metrics" => response::bytes_response(
            200,
            "text/plain; version=0.0.4; charset=utf-8",
            crate::metrics::render(state),
        ),
        "" => response::json(200, &json!({"paths": root_paths(&discovery, state.openid_metadata.is_some())})),
        OPENID_CONFIG_PATH | JWKS_PATH => {
            // Off (kube's check of the issuer failed): an unknown path, as in kube.
            let Some(md) = &state.openid_metadata else { return unknown_path(&ctx, path) };
            let (body, content_type) = if path == JWKS_PATH {
                (md.keyset_json.clone(), JWKS_CONTENT_TYPE)
            } else {
                (md.config_json.clone(), "application/json")
            };
            let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok());
            if !restful_accepts(accept, content_type) {
                return response::status_error(&StatusError::route_not_acceptable(content_type), ctx.output);
            }
            let mut resp = response::bytes_response(200, content_type, body);
            resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL));
            resp
        }
        "/version" => response::json(200, &discovery::version()),
        "/api" | "/apis" => {
            let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok());
            match negotiate::discovery_output(accept) {
                DiscoveryOutput::Aggregated(v) => {
                    let Some(doc) = discovery.aggregated.get(&(path == "/api", v)) else {
                        return not_found(&ctx);
                    };
                    let ct = format!("application/json;g=apidiscovery.k8s.io;v={v};as=APIGroupDiscoveryList");
                    doc_response(&req, doc, &ct)
                }
                DiscoveryOutput::Legacy => {
                    let doc = if path == "/api" { &discovery.api } else { &discovery.apis };
                    doc_response(&req, doc, "application/json")
                }
            }
        }
        "/openapi/v2" => {
            // kube-openapi's negotiation: protobuf when asked for (kubectl), else JSON.
            let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
            let Some(openapi) = crate::state::openapi(state).await else {
                return openapi_unavailable();
            };
            if accept.contains("com.github.proto-openapi.spec.v2") {
                let etag = format!("\"{}\"", openapi.v2_hash());
                etag_response(&req, || openapi.v2_protobuf(), &etag, OPENAPI_V2_PROTO)
            } else {
                let etag = format!("\"{}\"", openapi.v2_json_hash());
                etag_response(&req, || openapi.v2_json(), &etag, "application/json")
            }
        }
        // kube's aggregator writes the index without a Content-Type, so Go sniffs it as text.
        "/openapi/v3" => match crate::state::openapi(state).await {
            Some(openapi) => response::bytes_response(200, "text/plain; charset=utf-8", openapi.v3_index()),
            None => openapi_unavailable(),
        },
        _ => {
            if let Some(gv) = path.strip_prefix("/openapi/v3/") {
                let Some(openapi) = crate::state::openapi(state).await else {
                    return openapi_unavailable();
                };
                return match openapi.v3_document(gv) {
                    Some((bytes, etag)) => {
                        let doc = Doc { bytes: bytes.to_vec(), etag: format!("\"{etag}\"") };
                        doc_response(&req, &doc, "application/json")
                    }
                    // kube's OpenAPI v3 service answers an unknown group-version with a bare 404.
                    None => {
                        let mut r = Response::new(response::empty());
                        *r.status_mut() = StatusCode::NOT_FOUND;
                        r
                    }
                };
            }
            match discovery.by_path.get(path.trim_start_matches('/')) {
                Some(doc) => doc_response(&req, doc, "application/json"),
                None => unknown_path(&ctx, path),
            }
        }
    }
}
