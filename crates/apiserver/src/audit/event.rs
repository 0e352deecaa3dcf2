//! One request's audit record, from which its `audit.k8s.io/v1` Event is written at each
//! stage (the JSON in `json.rs`), and kube's legacy one-line text form (`EventString`).
//!
//! The record is filled in as the request goes down the handler chain (who, the policy's
//! settings, the decision, the request and response objects) and serialized at each stage
//! as it stands then, as kube's filter serializes the one event it keeps per request.

use super::body::Capture;
use super::policy::{Level, RequestAuditConfig, Stage};
use apimachinery::quote::{go_quote, push_go_quoted};
use apimachinery::{RequestInfo, UserInfo};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::borrow::Cow;
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
    /// The request's RequestInfo, shared with its handler's context.
    pub info: Arc<RequestInfo>,
    pub uri: String,
    pub source_ips: Vec<IpAddr>,
    pub user_agent: String,
    pub received: DateTime<Utc>,
    /// The authenticated user (before impersonation); `None` until authenticated. Shared
    /// between consecutive records of one user ([`Record::set_user`]).
    pub user: Option<Arc<UserInfo>>,
    /// Whom the request acted as, when impersonating.
    pub impersonated: Option<UserInfo>,
    /// Annotations (the authorization decision and reason), written sorted by key; the
    /// decision's fixed words are not copied.
    pub annotations: BTreeMap<&'static str, Cow<'static, str>>,
    /// What the handlers noted: admission's audit annotations join `annotations` (a key
    /// set there wins) and its warnings go out as `Warning` headers.
    pub notes: Arc<crate::context::RequestNotes>,
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
    /// The record of a request as it arrives, under its audit ID (`audit_flow::audit_id`);
    /// who and the decision are filled in later.
    pub fn start<B>(info: &Arc<RequestInfo>, id: &str, req: &http::Request<B>, remote: IpAddr) -> Self {
        let headers = req.headers();
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
            id: id.to_string(),
            info: Arc::clone(info),
            uri: req.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default(),
            source_ips: source_ips(headers, remote),
            user_agent,
            received: Utc::now(),
            user: None,
            impersonated: None,
            annotations: BTreeMap::new(),
            notes: Arc::default(),
            config: None,
            response_status: None,
            capture: None,
            response_object: None,
            authentication_failed: None,
        }
    }

    /// Sets the authenticated user: the copy the last record started on this thread holds
    /// when it is the same user (consecutive requests mostly are: one client, one identity),
    /// else a new one.
    pub fn set_user(&mut self, user: &UserInfo) {
        let shared = LAST_USER.with(|last| {
            let mut last = last.borrow_mut();
            match &*last {
                Some(u) if **u == *user => Arc::clone(u),
                _ => {
                    let u = Arc::new(user.clone());
                    *last = Some(Arc::clone(&u));
                    u
                }
            }
        });
        self.user = Some(shared);
    }

    /// The level the policy gave (None until evaluated).
    pub fn level(&self) -> Level {
        self.config.map(|c| c.level).unwrap_or(Level::None)
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

thread_local! {
    /// The user of the last record on this thread ([`Record::set_user`]).
    static LAST_USER: std::cell::RefCell<Option<Arc<UserInfo>>> = const { std::cell::RefCell::new(None) };
}

/// Go's `%q` of each element, joined by commas (`auditStringSlice`).
fn quoted_list(items: &[String]) -> String {
    items.iter().map(|g| go_quote(g)).collect::<Vec<_>>().join(",")
}

/// kube's `utilnet.SourceIPs`: the `X-Forwarded-For` chain, then `X-Real-Ip` when not in it,
/// then the connection's address unless it is the chain's last.
pub fn source_ips(headers: &http::HeaderMap, remote: IpAddr) -> Vec<IpAddr> {
    // Names, not strings: a lookup by `&str` parses the name first.
    const X_FORWARDED_FOR: http::HeaderName = http::HeaderName::from_static("x-forwarded-for");
    const X_REAL_IP: http::HeaderName = http::HeaderName::from_static("x-real-ip");
    let mut ips: Vec<IpAddr> = Vec::new();
    let parse = |s: &str| s.trim().parse::<IpAddr>().ok();
    if let Some(xff) = headers.get(X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        ips.extend(xff.split(',').filter_map(parse).take(MAX_FORWARDED));
    }
    if let Some(ip) = headers.get(X_REAL_IP).and_then(|v| v.to_str().ok()).and_then(parse) {
        if !ips.contains(&ip) {
            ips.push(ip);
        }
    }
    if ips.last() != Some(&remote) {
        ips.push(remote);
    }
    ips
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

#[cfg(test)]
#[path = "event_tests.rs"]
mod tests;
