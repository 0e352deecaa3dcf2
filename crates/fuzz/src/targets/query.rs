//! What a request's line and query carry: RequestInfo from the method and the URL, every
//! query parameter the list, watch and deadline paths read (`limit`, `timeoutSeconds`,
//! `timeout` as a Go duration, `resourceVersion(Match)`, `continue` tokens, label and field
//! selectors), the Accept header's negotiation; label and field selectors alone; Go
//! durations alone.

use super::{sections, text};
use apimachinery::selectors::{FieldSelector, LabelSelector};
use apimachinery::RequestInfo;
use apiserver::limits::{Limits, LimitsConfig};
use apiserver::rest::{Filter, ListOptions};
use registry::Catalog;
use serde_json::Value;
use std::collections::BTreeMap;

pub(super) const SELECTOR_WORDS: &[&str] = &[
    " in ",
    " notin ",
    "!",
    "=",
    "==",
    "!=",
    ">",
    "<",
    "(",
    ")",
    ",",
    "\\",
    "\\,",
    "\\=",
    "app",
    "example.com/tier",
    "metadata.name",
    "metadata.namespace",
    "spec.nodeName",
    "status.phase",
    "matchLabels",
    "matchExpressions",
    "\"operator\"",
    "\"Exists\"",
    "\"DoesNotExist\"",
    "\"In\"",
    "\"NotIn\"",
    "\"key\"",
    "\"values\"",
];

pub(super) const QUERY_WORDS: &[&str] = &[
    "GET",
    "POST",
    "PUT",
    "PATCH",
    "DELETE",
    "/api/v1/",
    "/apis/apps/v1/",
    "namespaces/",
    "pods",
    "/status",
    "?",
    "&",
    "=",
    "%",
    "%2F",
    "%00",
    "%zz",
    "+",
    "limit=",
    "timeoutSeconds=",
    "timeout=",
    "continue=",
    "resourceVersion=",
    "resourceVersionMatch=Exact",
    "resourceVersionMatch=NotOlderThan",
    "sendInitialEvents=true",
    "allowWatchBookmarks=true",
    "watch=true",
    "labelSelector=",
    "fieldSelector=",
    "dryRun=All",
    "fieldManager=",
    "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6Nywic3RhcnQiOiJhXHUwMDAwIn0",
    "application/json;as=Table;v=v1;g=meta.k8s.io",
    "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io",
    "application/yaml",
    "application/vnd.kubernetes.protobuf",
    ";q=0.5",
    "*/*",
];

pub(super) const DURATION_WORDS: &[&str] = &[
    "ns",
    "us",
    "µs",
    "μs",
    "ms",
    "s",
    "m",
    "h",
    "d",
    ".",
    "-",
    "+",
    "0",
    "9223372036854775807",
    "2562047h",
];

pub(super) fn label_selector(data: &[u8]) {
    let t = text(data);
    if let Ok(sel) = LabelSelector::parse(&t) {
        let labels: BTreeMap<String, String> =
            [("app".into(), "web".into()), ("example.com/tier".into(), "".into())].into();
        sel.matches(&labels);
        sel.requires_exact_match("app");
        let _ = LabelSelector::parse(&sel.to_string());
    }
    // A metav1.LabelSelector in an object (a Deployment's selector, a NetworkPolicy's).
    if let Ok(v) = serde_json::from_slice::<Value>(data) {
        if let Ok(sel) = LabelSelector::from_label_selector(&v) {
            sel.matches_json(Some(&serde_json::json!({"app": "web"})));
        }
    }
}

pub(super) fn field_selector(data: &[u8]) {
    let t = text(data);
    let Ok(sel) = FieldSelector::parse(&t) else { return };
    let _ = sel.check_default_fields();
    let _ = sel.check_supported(&["metadata.name", "metadata.namespace", "spec.nodeName", "status.phase"]);
    sel.matches(|f| (f == "metadata.name").then(|| "a".to_string()));
    sel.requires_exact_match("metadata.name");
    let _ = sel.transform(|f, v| Ok((f.to_string(), v.to_string())));
    let _ = FieldSelector::parse(&sel.to_string());
    for r in sel.requirements() {
        let _ = apimachinery::selectors::fields::unescape_value(&r.value);
    }
}

pub(super) fn request_info(data: &[u8]) {
    let parts = sections(data, 3);
    let method = parts.first().map(|m| text(m)).unwrap_or_default();
    let target = parts.get(1).map(|t| text(t)).unwrap_or_default();
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (&*target, None),
    };
    let info = RequestInfo::new(&method, path, query);
    for key in ["limit", "timeoutSeconds", "gracePeriodSeconds"] {
        let _ = info.query_int64(key);
    }
    info.query_bool("watch");
    let _ = Limits::new(LimitsConfig::default()).deadline(&info);
    let _ = ListOptions::from_query(&info);
    if let Some(rt) = Catalog::global().lookup(&info.api_group, &info.api_version, &info.resource) {
        let _ = Filter::from_query(&info, rt);
    }
    if let Some(token) = info.query_param("continue") {
        let _ = apiserver::objects::decode_continue(token, "/registry/core/pods/");
    }
    let accept = parts.get(2).map(|a| text(a));
    let _ = apiserver::negotiate::output(accept.as_deref());
    let _ = apiserver::negotiate::discovery_output(accept.as_deref());
}

pub(super) fn go_duration(data: &[u8]) {
    let t = text(data);
    if let Ok(d) = apimachinery::duration::parse_go_duration(&t) {
        d.to_std();
        apimachinery::duration::human_duration(d.0 / 1_000_000_000);
    }
    let _ = kcel::duration::parse_go_duration(&t);
    // Ages printed from timestamps an object carries.
    if let Some(bytes) = data.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
        apimachinery::duration::human_duration(i64::from_le_bytes(bytes));
    }
}
