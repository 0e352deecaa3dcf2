//! get and list: single objects, and lists with label/field selectors and
//! limit/continue pagination.

use super::objects::{
    decode_kv, key, list_response, object_response, prefix, raw_list_response, raw_with_rv,
};
use super::store_error;
use crate::filters::Ctx;
use crate::negotiate::Output;
use crate::response;
use crate::response::Body;
use apimachinery::selectors::{FieldSelector, LabelSelector};
use apimachinery::StatusError;
use base64::Engine;
use http::Response;
use registry::ResourceType;
use serde_json::{json, Value};

pub async fn get(ctx: &Ctx, rt: &ResourceType) -> Result<Response<Body>, StatusError> {
    let name = &ctx.info.name;
    let kv = ctx
        .state
        .store
        .get(&key(rt, &ctx.info.namespace, name))
        .await
        .map_err(|e| store_error(rt, name, e))?
        .ok_or_else(|| StatusError::not_found(&rt.group_resource(), name))?;
    if ctx.output == Output::Json {
        if let Some(mut bytes) = raw_with_rv(&kv) {
            bytes.push(b'\n');
            return Ok(response::bytes_response(200, "application/json", bytes));
        }
    }
    let obj = decode_kv(&kv).ok_or_else(|| StatusError::internal("stored object is not valid JSON"))?;
    Ok(object_response(200, rt, &obj, ctx.output))
}

pub async fn get_object(ctx: &Ctx, rt: &ResourceType, ns: &str, name: &str) -> Result<Value, StatusError> {
    let kv = ctx
        .state
        .store
        .get(&key(rt, ns, name))
        .await
        .map_err(|e| store_error(rt, name, e))?
        .ok_or_else(|| StatusError::not_found(&rt.group_resource(), name))?;
    decode_kv(&kv).ok_or_else(|| StatusError::internal("stored object is not valid JSON"))
}

/// Parsed label and field selectors of a list, watch or deletecollection.
pub struct Filter {
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filter {
    pub fn from_query(ctx: &Ctx, rt: &ResourceType) -> Result<Self, StatusError> {
        let labels = match ctx.info.query_param("labelSelector") {
            Some(s) => LabelSelector::parse(s).map_err(|e| e.to_status())?,
            None => LabelSelector::everything(),
        };
        let fields = match ctx.info.query_param("fieldSelector") {
            Some(s) => FieldSelector::parse(s).map_err(|e| e.to_status())?,
            None => FieldSelector::everything(),
        };
        fields.check_supported(registry::fields::supported(rt)).map_err(|e| e.to_status())?;
        Ok(Self { labels, fields })
    }

    pub fn is_everything(&self) -> bool {
        self.labels.is_empty() && self.fields.is_empty()
    }

    pub fn matches(&self, obj: &Value) -> bool {
        if !self.labels.is_empty() {
            let empty = serde_json::Map::new();
            let labels = obj.pointer("/metadata/labels").and_then(Value::as_object).unwrap_or(&empty);
            if !self.labels.matches(labels) {
                return false;
            }
        }
        self.fields.is_empty() || self.fields.matches(|f| registry::fields::value(obj, f))
    }
}

/// kube's continue token: base64 of `{"v":"meta.k8s.io/v1","rv":N,"start":"<key>"}`.
fn encode_continue(rv: u64, start_after: &str) -> String {
    let doc = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": start_after});
    base64::engine::general_purpose::URL_SAFE.encode(doc.to_string())
}

fn decode_continue(token: &str, prefix: &str) -> Result<(u64, String), StatusError> {
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

/// Lists objects under the request's namespace (all namespaces when none).
/// Returns items, the list revision and the continue token.
pub async fn list_objects(
    ctx: &Ctx,
    rt: &ResourceType,
    filter: &Filter,
    limit: usize,
    cont: Option<&str>,
) -> Result<(Vec<Value>, u64, Option<String>), StatusError> {
    let pfx = prefix(rt, &ctx.info.namespace);
    let (mut rv, mut start_after) = match cont {
        Some(c) if !c.is_empty() => {
            let (rv, start) = decode_continue(c, &pfx)?;
            (Some(rv), Some(start))
        }
        _ => (None, None),
    };
    let mut items = Vec::new();
    loop {
        let want = if limit == 0 { 0 } else { (limit - items.len()).max(1) };
        let page = ctx
            .state
            .store
            .list(&pfx, start_after.as_deref(), want)
            .await
            .map_err(|e| store_error(rt, "", e))?;
        rv.get_or_insert(page.revision);
        let last_key = page.items.last().map(|kv| kv.key.clone());
        for kv in &page.items {
            if let Some(obj) = decode_kv(kv) {
                if filter.matches(&obj) {
                    items.push(obj);
                }
            }
        }
        let revision = rv.unwrap_or(page.revision);
        match (page.remaining, last_key) {
            (true, Some(k)) if limit > 0 && items.len() >= limit => {
                return Ok((items, revision, Some(encode_continue(revision, &k))));
            }
            (true, Some(k)) => start_after = Some(k),
            _ => return Ok((items, revision, None)),
        }
    }
}

pub async fn list(ctx: &Ctx, rt: &ResourceType) -> Result<Response<Body>, StatusError> {
    let filter = Filter::from_query(ctx, rt)?;
    let limit = match ctx.info.query_param("limit") {
        Some(l) => l.parse::<usize>().map_err(|_| StatusError::bad_request(format!("invalid limit: {l}")))?,
        None => 0,
    };
    let cont = ctx.info.query_param("continue");
    if ctx.output == Output::Json && filter.is_everything() {
        // The common case: no parsing, the stored bytes are the answer.
        let pfx = prefix(rt, &ctx.info.namespace);
        let (rv, start_after) = match cont.filter(|c| !c.is_empty()) {
            Some(c) => {
                let (rv, start) = decode_continue(c, &pfx)?;
                (Some(rv), Some(start))
            }
            None => (None, None),
        };
        let page = ctx
            .state
            .store
            .list(&pfx, start_after.as_deref(), limit)
            .await
            .map_err(|e| store_error(rt, "", e))?;
        let revision = rv.unwrap_or(page.revision);
        let next = match (page.remaining, page.items.last()) {
            (true, Some(last)) => Some(encode_continue(revision, &last.key)),
            _ => None,
        };
        return Ok(raw_list_response(rt, &page.items, revision, next));
    }
    let (items, rv, next) = list_objects(ctx, rt, &filter, limit, cont).await?;
    Ok(list_response(rt, items, rv, next, ctx.output))
}
