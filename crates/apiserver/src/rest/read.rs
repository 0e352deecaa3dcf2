//! get and list: single objects, and lists with label/field selectors, limit/continue
//! pagination (every page at the first page's revision) and kube's `resourceVersion` /
//! `resourceVersionMatch` semantics.

use crate::context::Ctx;
use crate::negotiate::{Encoding, Output};
use crate::objects::{decode_kv, raw_with_rv, ListFrom};
use crate::partial;
use crate::response::{
    self, list_response, object_response, raw_list_response, raw_metadata_list_response, Body, Next,
};
use apimachinery::gvr::GroupKind;
use apimachinery::selectors::{FieldSelector, LabelSelector};
use apimachinery::status::StatusCause;
use apimachinery::{CauseType, RequestInfo, StatusError};
use http::Response;
use registry::ResourceType;
use serde_json::Value;

pub async fn get(ctx: &Ctx, rt: &ResourceType) -> Result<Response<Body>, StatusError> {
    let kv = ctx.state.objects.get_raw(rt, &ctx.info.namespace, &ctx.info.name).await?;
    let fast = match ctx.output {
        Output::Json => raw_with_rv(&kv),
        Output::Metadata(m) if !m.list && m.encoding == Encoding::Json => partial::item_bytes(&kv, m),
        _ => None,
    };
    if let Some(mut bytes) = fast {
        bytes.push(b'\n');
        return Ok(response::bytes_response(200, "application/json", bytes));
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
    /// The `labelSelector` and `fieldSelector` of a request's query, checked against the
    /// fields `rt` supports.
    pub fn from_query(info: &RequestInfo, rt: &ResourceType) -> Result<Self, StatusError> {
        let labels = match info.query_param("labelSelector") {
            Some(s) => LabelSelector::parse(s).map_err(|e| e.to_status())?,
            None => LabelSelector::everything(),
        };
        let fields = match info.query_param("fieldSelector") {
            Some(s) => FieldSelector::parse(s).map_err(|e| e.to_status())?,
            None => FieldSelector::everything(),
        };
        let supported = registry::fields::supported(rt);
        let checked = if !rt.custom && supported == ["metadata.name", "metadata.namespace"] {
            fields.check_default_fields()
        } else {
            fields.check_supported(supported)
        };
        checked.map_err(|e| e.to_status())?;
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

/// A LIST's reading options (kube's `metav1.ListOptions` as its handler and storage layer
/// validate them): where the first page reads, the continue token, the page size.
pub struct ListOptions<'a> {
    pub from: ListFrom,
    pub continue_token: Option<&'a str>,
    pub limit: usize,
}

impl ListOptions<'_> {
    /// `limit`, `continue`, `resourceVersion` and `resourceVersionMatch` of the request, with
    /// kube's answers to bad combinations: 422 from `ValidateListOptions`
    /// (k8s.io/apimachinery `apis/meta/internalversion/validation`), 400 from the storage's
    /// `ValidateListOptions` (k8s.io/apiserver `pkg/storage/interfaces.go`), and its choice of
    /// revision; `resourceVersion=0` lists everything from the cache in kube, ignoring `limit`
    /// (`computeListLimit`).
    pub fn from_query(info: &RequestInfo) -> Result<ListOptions<'_>, StatusError> {
        let nonempty = |k: &str| info.query_param(k).filter(|v| !v.is_empty());
        // kube's storage pages only for a positive limit; zero and below list everything.
        let mut limit = info.query_int64("limit")?.map_or(0, |l| usize::try_from(l).unwrap_or(0));
        if info.query_param("timeoutSeconds").is_some() {
            info.query_int64("timeoutSeconds")?;
        }
        let rv = nonempty("resourceVersion");
        let rv_match = nonempty("resourceVersionMatch");
        let continue_token = nonempty("continue");
        validate(rv, rv_match, continue_token, info.query_param("sendInitialEvents").is_some())?;
        if continue_token.is_some() {
            // The token is checked (400) where it is read, before this rule, as in kube.
            if rv.is_some_and(|rv| rv != "0") {
                return Err(StatusError::bad_request(
                    "specifying resource version is not allowed when using continue",
                ));
            }
            return Ok(ListOptions { from: ListFrom::Latest, continue_token, limit });
        }
        let from = match (rv, rv_match) {
            (None, _) => ListFrom::Latest,
            (Some("0"), _) => {
                limit = 0;
                ListFrom::Any
            }
            (Some(rv), m) => {
                let rev = parse_resource_version(rv)?;
                match m {
                    Some("Exact") => ListFrom::Exact(rev),
                    Some(_) => ListFrom::NotOlderThan(rev),
                    // The legacy rule: a paginated list reads exactly at its resourceVersion.
                    None if limit > 0 => ListFrom::Exact(rev),
                    None => ListFrom::NotOlderThan(rev),
                }
            }
        };
        Ok(ListOptions { from, continue_token: None, limit })
    }
}

/// kube's `ValidateListOptions` for a list (not a watch): 422 `ListOptions.meta.k8s.io`.
fn validate(
    rv: Option<&str>,
    rv_match: Option<&str>,
    continue_token: Option<&str>,
    send_initial_events: bool,
) -> Result<(), StatusError> {
    let field = |reason, message: String, field: &str| StatusCause { reason, message, field: field.into() };
    let forbidden = |m: &str, f: &str| field(CauseType::FieldValueForbidden, format!("Forbidden: {m}"), f);
    let mut causes = Vec::new();
    if let Some(m) = rv_match {
        if rv.is_none() {
            causes.push(forbidden(
                "resourceVersionMatch is forbidden unless resourceVersion is provided",
                "resourceVersionMatch",
            ));
        }
        if continue_token.is_some() {
            causes.push(forbidden(
                "resourceVersionMatch is forbidden when continue is provided",
                "resourceVersionMatch",
            ));
        }
        if m != "Exact" && m != "NotOlderThan" {
            causes.push(field(
                CauseType::FieldValueNotSupported,
                format!(
                    "Unsupported value: {}: supported values: \"Exact\", \"NotOlderThan\", \"\"",
                    apimachinery::status::quote(m)
                ),
                "resourceVersionMatch",
            ));
        }
        if m == "Exact" && rv == Some("0") {
            causes.push(forbidden(
                "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
                "resourceVersionMatch",
            ));
        }
    }
    if send_initial_events {
        causes.push(forbidden("sendInitialEvents is forbidden for list", "sendInitialEvents"));
    }
    if causes.is_empty() {
        return Ok(());
    }
    let list_options = GroupKind { group: "meta.k8s.io".into(), kind: "ListOptions".into() };
    Err(StatusError::invalid(&list_options, "", causes))
}

/// A resourceVersion as kube's `APIObjectVersioner.ParseResourceVersion` reads it (Go's
/// `strconv.ParseUint`), with the storage layer's 400.
fn parse_resource_version(rv: &str) -> Result<u64, StatusError> {
    let why = if rv.bytes().all(|b| b.is_ascii_digit()) && !rv.is_empty() {
        match rv.parse::<u64>() {
            Ok(rev) => return Ok(rev),
            Err(_) => "value out of range",
        }
    } else {
        "invalid syntax"
    };
    let q = apimachinery::status::quote(rv);
    Err(StatusError::bad_request(format!(
        "invalid resource version: resourceVersion: Invalid value: {q}: strconv.ParseUint: parsing {q}: {why}"
    )))
}

/// Lists objects under the request's namespace (all namespaces when none), everything at the
/// latest revision unless `limit`/`cont` page it. Returns items, the list revision and the
/// continue token.
pub async fn list_objects(
    ctx: &Ctx,
    rt: &ResourceType,
    filter: &Filter,
    limit: usize,
    cont: Option<&str>,
) -> Result<(Vec<Value>, u64, Option<String>), StatusError> {
    let opts = ListOptions { from: ListFrom::Latest, continue_token: cont, limit };
    let (items, rv, token, _) = list_filtered(ctx, rt, filter, &opts).await?;
    Ok((items, rv, token))
}

/// Lists the objects `filter` selects, pages read at the first page's revision until `limit`
/// objects are found (kube's etcd3 `GetList` loop). Returns the items, the list's revision,
/// the continue token and how many stored objects follow the last page read.
async fn list_filtered(
    ctx: &Ctx,
    rt: &ResourceType,
    filter: &Filter,
    opts: &ListOptions<'_>,
) -> Result<(Vec<Value>, u64, Option<String>, Option<u64>), StatusError> {
    let objects = &ctx.state.objects;
    let limit = opts.limit;
    let mut token = opts.continue_token.map(str::to_string);
    let mut revision = None;
    let mut items = Vec::new();
    loop {
        let want = if limit == 0 { 0 } else { (limit - items.len()).max(1) };
        let page = match (&token, revision) {
            (None, None) => objects.list_from(rt, &ctx.info.namespace, opts.from, want).await?,
            _ => objects.list(rt, &ctx.info.namespace, token.as_deref(), want).await?,
        };
        revision.get_or_insert(page.revision);
        items.extend(page.items.iter().filter_map(decode_kv).filter(|o| filter.matches(o)));
        let rv = revision.unwrap_or(page.revision);
        match page.continue_token {
            Some(next) if limit > 0 && items.len() >= limit => {
                return Ok((items, rv, Some(next), page.remaining))
            }
            Some(next) => token = Some(next),
            None => return Ok((items, rv, None, None)),
        }
    }
}

/// Where a stored page stops, for the list's metadata.
fn next_of(page: &crate::objects::Page) -> Next {
    Next { token: page.continue_token.clone(), remaining: page.remaining }
}

pub async fn list(ctx: &Ctx, rt: &ResourceType) -> Result<Response<Body>, StatusError> {
    let filter = Filter::from_query(&ctx.info, rt)?;
    let opts = ListOptions::from_query(&ctx.info)?;
    let raw_metadata = match ctx.output {
        Output::Metadata(m) if !m.list => return Err(partial::mismatch(rt, m)),
        // JSON from the stored bytes, protobuf from the metadata alone.
        Output::Metadata(m) if m.encoding != Encoding::Yaml => Some(m),
        _ => None,
    };
    if (ctx.output == Output::Json || raw_metadata.is_some()) && filter.is_everything() {
        // The common case: no parsing, the stored bytes are the answer.
        let objects = &ctx.state.objects;
        let ns = &ctx.info.namespace;
        let page = match opts.continue_token {
            Some(token) => objects.list(rt, ns, Some(token), opts.limit).await?,
            None => objects.list_from(rt, ns, opts.from, opts.limit).await?,
        };
        return Ok(match raw_metadata {
            Some(m) => raw_metadata_list_response(&page.items, page.revision, next_of(&page), m),
            None => raw_list_response(rt, &page.items, page.revision, next_of(&page)),
        });
    }
    let (items, rv, token, remaining) = list_filtered(ctx, rt, &filter, &opts).await?;
    // kube counts what follows only for a list without selectors.
    let remaining = remaining.filter(|_| filter.is_everything());
    Ok(list_response(rt, items, rv, Next { token, remaining }, ctx.output))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_options_are_validated_as_kube_does() {
        let msg = |rv, m, c| validate(rv, m, c, false).unwrap_err();
        let e = msg(None, Some("NotOlderThan"), None);
        assert_eq!(e.code, 422);
        assert_eq!(
            e.message,
            r#"ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"#
        );
        assert_eq!(
            msg(Some("5"), Some("Exact"), Some("t")).message,
            r#"ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden when continue is provided"#
        );
        assert_eq!(
            msg(Some("5"), Some("Newest"), None).message,
            r#"ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Unsupported value: "Newest": supported values: "Exact", "NotOlderThan", """#
        );
        assert_eq!(
            msg(Some("0"), Some("Exact"), None).message,
            r#"ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0""#
        );
        let both = msg(None, Some("Newest"), None);
        assert!(both.message.contains("is invalid: [resourceVersionMatch: Forbidden: "), "{}", both.message);
        assert!(validate(Some("5"), Some("NotOlderThan"), None, false).is_ok());
        assert!(validate(None, None, Some("t"), false).is_ok());
    }

    #[test]
    fn resource_versions_parse_as_go_does() {
        assert_eq!(parse_resource_version("42").unwrap(), 42);
        assert_eq!(
            parse_resource_version("abc").unwrap_err().message,
            r#"invalid resource version: resourceVersion: Invalid value: "abc": strconv.ParseUint: parsing "abc": invalid syntax"#
        );
        assert!(parse_resource_version("+5").is_err());
        assert!(parse_resource_version("99999999999999999999")
            .unwrap_err()
            .message
            .ends_with("value out of range"));
    }
}
