//! get and list: single objects, and lists with label/field selectors and
//! limit/continue pagination.

use crate::context::Ctx;
use crate::negotiate::Output;
use crate::objects::{decode_kv, raw_with_rv};
use crate::response::{self, list_response, object_response, raw_list_response, Body};
use apimachinery::selectors::{FieldSelector, LabelSelector};
use apimachinery::StatusError;
use http::Response;
use registry::ResourceType;
use serde_json::Value;

pub async fn get(ctx: &Ctx, rt: &ResourceType) -> Result<Response<Body>, StatusError> {
    let kv = ctx.state.objects.get_raw(rt, &ctx.info.namespace, &ctx.info.name).await?;
    if ctx.output == Output::Json {
        if let Some(mut bytes) = raw_with_rv(&kv) {
            bytes.push(b'\n');
            return Ok(response::bytes_response(200, "application/json", bytes));
        }
    }
    let obj = decode_kv(&kv).ok_or_else(|| StatusError::internal("stored object is not valid JSON"))?;
    Ok(object_response(200, rt, &obj, ctx.output))
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

/// Lists objects under the request's namespace (all namespaces when none).
/// Returns items, the list revision and the continue token.
pub async fn list_objects(
    ctx: &Ctx,
    rt: &ResourceType,
    filter: &Filter,
    limit: usize,
    cont: Option<&str>,
) -> Result<(Vec<Value>, u64, Option<String>), StatusError> {
    let objects = &ctx.state.objects;
    let mut token = cont.map(str::to_string);
    let mut revision = None;
    let mut items = Vec::new();
    loop {
        let want = if limit == 0 { 0 } else { (limit - items.len()).max(1) };
        let page = objects.list(rt, &ctx.info.namespace, token.as_deref(), want).await?;
        revision.get_or_insert(page.revision);
        items.extend(page.items.iter().filter_map(decode_kv).filter(|o| filter.matches(o)));
        let rv = revision.unwrap_or(page.revision);
        match page.continue_token {
            Some(next) if limit > 0 && items.len() >= limit => return Ok((items, rv, Some(next))),
            Some(next) => token = Some(next),
            None => return Ok((items, rv, None)),
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
        let page = ctx.state.objects.list(rt, &ctx.info.namespace, cont, limit).await?;
        return Ok(raw_list_response(rt, &page.items, page.revision, page.continue_token));
    }
    let (items, rv, next) = list_objects(ctx, rt, &filter, limit, cont).await?;
    Ok(list_response(rt, items, rv, next, ctx.output))
}
