//! One request's audit record and its `audit.k8s.io/v1` Event, written as kube writes it:
//! fields in the Go struct's order and with its `omitempty` rules, MicroTime timestamps,
//! Go's HTML-safe JSON escaping; and kube's legacy one-line text form (`EventString`).
//!
//! The record is filled in as the request goes down the handler chain (who, the policy's
//! settings, the decision, the request and response objects) and serialized at each stage
//! as it stands then, as kube's filter serializes the one event it keeps per request.

use super::body::Capture;
use super::policy::{Level, RequestAuditConfig, Stage};
use apimachinery::quote::{go_quote, push_go_quoted};
use apimachinery::{RequestInfo, UserInfo};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

/// kube's `maxUserAgentLength` and the suffix of a truncated User-Agent.
const MAX_USER_AGENT: usize = 1024;
const USER_AGENT_TRUNCATED: &str = "...TRUNCATED";
/// The most `X-Forwarded-For` addresses kept (kube keeps all; a bound keeps events small).
const MAX_FORWARDED: usize = 16;

/// The `authorization.k8s.io` annotations kube's authorization filter adds.
pub const DECISION_ANNOTATION: &str = "authorization.k8s.io/decision";
pub const REASON_ANNOTATION: &str = "authorization.k8s.io/reason";

/// The Status kube copies into `responseStatus` (its bounded fields).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResponseStatus {
    pub code: u16,
    pub status: String,
    pub message: String,
    pub reason: String,
    pub details: Option<Value>,
}

/// What the handler chain learned about one request.
pub struct Record {
    /// The `Audit-ID` the client sent, else a new UUID.
    pub id: String,
    pub info: RequestInfo,
    pub uri: String,
    pub source_ips: Vec<IpAddr>,
    pub user_agent: String,
    pub received: DateTime<Utc>,
    /// The authenticated user (before impersonation); `None` until authenticated.
    pub user: Option<UserInfo>,
    /// Whom the request acted as, when impersonating.
    pub impersonated: Option<UserInfo>,
    /// Annotations (the authorization decision and reason), written sorted by key.
    pub annotations: BTreeMap<&'static str, String>,
    /// The policy's answer for this request, once evaluated.
    pub config: Option<RequestAuditConfig>,
    pub response_status: Option<ResponseStatus>,
    /// The request object and the object reference it completes, filled by the handlers.
    pub capture: Option<Arc<Capture>>,
    pub response_object: Option<Value>,
    /// Why authentication failed (`Authentication failed, attempted: x509`), for the one
    /// ResponseStarted event kube writes for such a request.
    pub authentication_failed: Option<String>,
}

impl Record {
    /// The record of a request as it arrives; who and the decision are filled in later.
    pub fn start<B>(info: &RequestInfo, req: &http::Request<B>, remote: IpAddr) -> Self {
        let headers = req.headers();
        let id = headers
            .get("audit-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let mut user_agent = headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        if user_agent.len() > MAX_USER_AGENT {
            let mut cut = MAX_USER_AGENT;
            while !user_agent.is_char_boundary(cut) {
                cut -= 1;
            }
            user_agent.truncate(cut);
            user_agent.push_str(USER_AGENT_TRUNCATED);
        }
        Record {
            id,
            info: info.clone(),
            uri: req.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default(),
            source_ips: source_ips(headers, remote),
            user_agent,
            received: Utc::now(),
            user: None,
            impersonated: None,
            annotations: BTreeMap::new(),
            config: None,
            response_status: None,
            capture: None,
            response_object: None,
            authentication_failed: None,
        }
    }

    /// The level the policy gave (None until evaluated).
    pub fn level(&self) -> Level {
        self.config.map(|c| c.level).unwrap_or(Level::None)
    }

    /// The event at `stage` as one JSON line (without the newline), as kube's JSON encoder
    /// writes it.
    pub fn to_json(&self, stage: Stage, at: DateTime<Utc>) -> Vec<u8> {
        let mut out = Vec::with_capacity(1024);
        self.write_json(stage, at, &mut out);
        out
    }

    /// [`Record::to_json`] appended to `out` (a buffer reused across events).
    pub fn write_json(&self, stage: Stage, at: DateTime<Utc>, out: &mut Vec<u8>) {
        let captured = self.capture.as_ref().map(|c| c.snapshot());
        let info = &self.info;
        let (mut name, mut namespace, mut uid, mut rv) =
            (info.name.as_str(), info.namespace.as_str(), "", "");
        if let Some(c) = &captured {
            if name.is_empty() {
                name = &c.name;
            }
            if namespace.is_empty() {
                namespace = &c.namespace;
            }
            uid = &c.uid;
            rv = &c.resource_version;
        }
        let ev = EventOut {
            kind: "Event",
            api_version: "audit.k8s.io/v1",
            level: self.level().as_str(),
            audit_id: &self.id,
            stage: stage.as_str(),
            request_uri: &self.uri,
            verb: &info.verb,
            user: match &self.user {
                Some(u) => UserOut::of(u),
                None => UserOut::default(),
            },
            impersonated_user: self.impersonated.as_ref().map(UserOut::of),
            source_ips: Ips(&self.source_ips),
            user_agent: &self.user_agent,
            object_ref: info.is_resource_request.then_some(ObjectRefOut {
                resource: &info.resource,
                namespace,
                name,
                uid,
                api_group: &info.api_group,
                api_version: &info.api_version,
                resource_version: rv,
                subresource: &info.subresource,
            }),
            response_status: self.response_status.as_ref().map(|s| StatusOut {
                metadata: Empty {},
                status: &s.status,
                message: &s.message,
                reason: &s.reason,
                details: s.details.as_ref(),
                code: s.code,
            }),
            request_object: captured.as_ref().and_then(|c| c.object.as_deref()),
            response_object: self.response_object.as_ref(),
            request_received_timestamp: MicroTime(self.received),
            stage_timestamp: MicroTime(if stage == Stage::RequestReceived { self.received } else { at }),
            annotations: (!self.annotations.is_empty()).then_some(&self.annotations),
        };
        let start = out.len();
        if serde_json::to_writer(&mut *out, &ev).is_err() {
            out.truncate(start);
            return;
        }
        go_html_escape(out, start);
    }

    /// kube's legacy text form of the event at `stage` (`audit.EventString`).
    pub fn to_legacy(&self, stage: Stage) -> String {
        let (mut user, mut groups) = ("<none>".to_string(), "<none>".to_string());
        if let Some(u) = self.user.as_ref().filter(|u| !u.name.is_empty()) {
            user = u.name.clone();
            if !u.groups.is_empty() {
                groups = quoted_list(&u.groups);
            }
        }
        let (mut as_user, mut as_groups) = ("<self>".to_string(), "<lookup>".to_string());
        if let Some(i) = &self.impersonated {
            as_user = i.name.clone();
            as_groups = quoted_list(&i.groups);
        }
        let namespace = match self.info.namespace.as_str() {
            "" if self.info.is_resource_request => {
                self.capture.as_ref().map(|c| c.snapshot().namespace).filter(|n| !n.is_empty())
            }
            "" => None,
            ns => Some(ns.to_string()),
        }
        .unwrap_or_else(|| "<none>".into());
        let response =
            self.response_status.as_ref().map(|s| s.code.to_string()).unwrap_or_else(|| "<deferred>".into());
        let ip = self.source_ips.first().map(IpAddr::to_string).unwrap_or_else(|| "<unknown>".into());
        let mut s = String::with_capacity(256);
        s.push_str(&rfc3339_nano(self.received));
        s.push_str(" AUDIT: id=");
        for (i, (key, value)) in [
            ("id", self.id.as_str()),
            ("stage", stage.as_str()),
            ("ip", &ip),
            ("method", &self.info.verb),
            ("user", &user),
            ("groups", &groups),
            ("as", &as_user),
            ("asgroups", &as_groups),
            ("user-agent", &self.user_agent),
            ("namespace", &namespace),
            ("uri", &self.uri),
        ]
        .into_iter()
        .enumerate()
        {
            if i > 0 {
                s.push(' ');
                s.push_str(key);
                s.push('=');
            }
            push_go_quoted(&mut s, value);
        }
        s.push_str(" response=\"");
        s.push_str(&response);
        s.push('"');
        s
    }
}

/// Go's `%q` of each element, joined by commas (`auditStringSlice`).
fn quoted_list(items: &[String]) -> String {
    items.iter().map(|g| go_quote(g)).collect::<Vec<_>>().join(",")
}

/// kube's `utilnet.SourceIPs`: the `X-Forwarded-For` chain, then `X-Real-Ip` when not in it,
/// then the connection's address unless it is the chain's last.
pub fn source_ips(headers: &http::HeaderMap, remote: IpAddr) -> Vec<IpAddr> {
    let mut ips: Vec<IpAddr> = Vec::new();
    let parse = |s: &str| s.trim().parse::<IpAddr>().ok();
    if let Some(xff) = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        ips.extend(xff.split(',').filter_map(parse).take(MAX_FORWARDED));
    }
    if let Some(ip) = headers.get("x-real-ip").and_then(|v| v.to_str().ok()).and_then(parse) {
        if !ips.contains(&ip) {
            ips.push(ip);
        }
    }
    if ips.last() != Some(&remote) {
        ips.push(remote);
    }
    ips
}

/// metav1.MicroTime as JSON: `2006-01-02T15:04:05.000000Z`, written without allocating.
struct MicroTime(DateTime<Utc>);

impl Serialize for MicroTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use chrono::{Datelike, Timelike};
        let t = &self.0;
        let mut b = *b"0000-00-00T00:00:00.000000Z";
        let mut put = |at: usize, width: usize, mut n: u32| {
            for i in (at..at + width).rev() {
                b[i] = b'0' + (n % 10) as u8;
                n /= 10;
            }
        };
        put(0, 4, t.year().clamp(0, 9999) as u32);
        put(5, 2, t.month());
        put(8, 2, t.day());
        put(11, 2, t.hour());
        put(14, 2, t.minute());
        put(17, 2, t.second());
        put(20, 6, (t.nanosecond() % 1_000_000_000) / 1000);
        s.serialize_str(std::str::from_utf8(&b).unwrap_or_default())
    }
}

/// Source addresses as JSON strings, written without allocating each.
struct Ips<'a>(&'a [IpAddr]);

impl Ips<'_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Ips<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(DisplayStr))
    }
}

struct DisplayStr<'a, T: std::fmt::Display>(&'a T);

impl<T: std::fmt::Display> Serialize for DisplayStr<'_, T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self.0)
    }
}

/// Go's `time.RFC3339Nano`: nanoseconds with trailing zeros dropped.
fn rfc3339_nano(t: DateTime<Utc>) -> String {
    let mut s = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.timestamp_subsec_nanos();
    if nanos > 0 {
        let digits = format!("{nanos:09}");
        s.push('.');
        s.push_str(digits.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Go's `encoding/json` escapes `<`, `>`, `&`, U+2028 and U+2029 inside strings; outside
/// strings they cannot occur in JSON, so the bytes of `buf[start..]` are rewritten wholesale.
fn go_html_escape(buf: &mut Vec<u8>, start: usize) {
    let special = |b: &u8| matches!(b, b'<' | b'>' | b'&' | 0xE2);
    if !buf[start..].iter().any(special) {
        return;
    }
    let bytes = buf.split_off(start);
    let out = buf;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'<' => out.extend_from_slice(b"\\u003c"),
            b'>' => out.extend_from_slice(b"\\u003e"),
            b'&' => out.extend_from_slice(b"\\u0026"),
            0xE2 if bytes.get(i + 1) == Some(&0x80) && matches!(bytes.get(i + 2), Some(0xA8 | 0xA9)) => {
                out.extend_from_slice(if bytes[i + 2] == 0xA8 { b"\\u2028" } else { b"\\u2029" });
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
}

#[derive(Serialize, Default)]
struct UserOut<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    username: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    uid: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    groups: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    extra: Option<&'a BTreeMap<String, Vec<String>>>,
}

impl<'a> UserOut<'a> {
    fn of(u: &'a UserInfo) -> Self {
        UserOut {
            username: &u.name,
            uid: &u.uid,
            groups: &u.groups,
            extra: (!u.extra.is_empty()).then_some(&u.extra),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ObjectRefOut<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    resource: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    namespace: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    uid: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    api_group: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    api_version: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    resource_version: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    subresource: &'a str,
}

#[derive(Serialize)]
struct Empty {}

/// metav1.Status with only the fields kube copies (kind and apiVersion stay empty).
#[derive(Serialize)]
struct StatusOut<'a> {
    metadata: Empty,
    #[serde(skip_serializing_if = "str::is_empty")]
    status: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    message: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    reason: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a Value>,
    #[serde(skip_serializing_if = "is_zero")]
    code: u16,
}

fn is_zero(n: &u16) -> bool {
    *n == 0
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventOut<'a> {
    kind: &'static str,
    api_version: &'static str,
    level: &'static str,
    #[serde(rename = "auditID")]
    audit_id: &'a str,
    stage: &'static str,
    #[serde(rename = "requestURI")]
    request_uri: &'a str,
    verb: &'a str,
    user: UserOut<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    impersonated_user: Option<UserOut<'a>>,
    #[serde(rename = "sourceIPs", skip_serializing_if = "Ips::is_empty")]
    source_ips: Ips<'a>,
    #[serde(skip_serializing_if = "str::is_empty")]
    user_agent: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    object_ref: Option<ObjectRefOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_status: Option<StatusOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_object: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_object: Option<&'a Value>,
    request_received_timestamp: MicroTime,
    stage_timestamp: MicroTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    annotations: Option<&'a BTreeMap<&'static str, String>>,
}

#[cfg(test)]
#[path = "event_tests.rs"]
mod tests;
