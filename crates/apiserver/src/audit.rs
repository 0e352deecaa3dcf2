//! Audit log: one `audit.k8s.io/v1` Event per request (level Metadata, stage
//! ResponseComplete) as a JSON line: who (user, groups, impersonation), what (verb,
//! resource, namespace, name), from where, the answer's code and why it was allowed.
//! Never request or response bodies, never credentials. Lines are buffered in memory
//! (bounded) and written every 50 ms; if the disk falls behind, records are dropped and
//! counted rather than slowing requests.

use apimachinery::{RequestInfo, UserInfo};
#[cfg(test)]
use serde_json::json;
use serde_json::Value;
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub struct AuditLog {
    buf: Arc<Mutex<Vec<u8>>>,
    dropped: AtomicU64,
}

/// What the handler chain learned about one request.
pub struct Record {
    pub id: String,
    pub info: RequestInfo,
    pub uri: String,
    pub source: IpAddr,
    pub user_agent: String,
    pub received: chrono::DateTime<chrono::Utc>,
    /// The authenticated user (before impersonation).
    pub user: Option<UserInfo>,
    /// Whom the request acted as, when impersonating.
    pub impersonated: Option<UserInfo>,
    /// The authorization decision and its reason.
    pub decision: Option<(bool, String)>,
    /// What the handler noted (admission's audit annotations).
    pub notes: Arc<crate::context::RequestNotes>,
}

#[cfg(test)]
fn user_json(u: &UserInfo) -> Value {
    let mut v = json!({"username": u.name, "groups": u.groups});
    if !u.uid.is_empty() {
        v["uid"] = json!(u.uid);
    }
    if !u.extra.is_empty() {
        v["extra"] = json!(u.extra);
    }
    v
}

fn ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

#[derive(serde::Serialize)]
struct UserOut<'a> {
    username: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    uid: &'a str,
    groups: &'a [String],
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    extra: &'a std::collections::BTreeMap<String, Vec<String>>,
}

impl<'a> UserOut<'a> {
    fn of(u: &'a UserInfo) -> Self {
        Self { username: &u.name, uid: &u.uid, groups: &u.groups, extra: &u.extra }
    }
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ObjectRefOut<'a> {
    resource: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    namespace: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    api_group: &'a str,
    api_version: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    subresource: &'a str,
}

#[derive(serde::Serialize)]
struct StatusOut {
    metadata: Empty,
    code: u16,
}

#[derive(serde::Serialize)]
struct Empty {}

/// `user` is `{}` for requests that never authenticated, as kube writes it.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum MaybeUser<'a> {
    Known(UserOut<'a>),
    Unknown(Empty),
}

/// The event's annotations: the authorization decision and reason, and admission's.
type Annotations = std::collections::BTreeMap<String, String>;

#[derive(serde::Serialize)]
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
    user: MaybeUser<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    impersonated_user: Option<UserOut<'a>>,
    #[serde(rename = "sourceIPs")]
    source_ips: [String; 1],
    user_agent: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    object_ref: Option<ObjectRefOut<'a>>,
    response_status: StatusOut,
    request_received_timestamp: String,
    stage_timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    annotations: Option<Annotations>,
}

impl Record {
    /// The record of a request as it arrives; who and the decision are filled in later.
    pub fn start<B>(info: &RequestInfo, req: &http::Request<B>, source: IpAddr) -> Self {
        Record {
            id: uuid::Uuid::new_v4().to_string(),
            info: info.clone(),
            uri: req.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default(),
            source,
            user_agent: req
                .headers()
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string(),
            received: chrono::Utc::now(),
            user: None,
            impersonated: None,
            decision: None,
            notes: Arc::default(),
        }
    }

    /// The event as one compact JSON line (without the newline).
    pub fn to_line(&self, code: u16) -> Vec<u8> {
        let info = &self.info;
        let ev = EventOut {
            kind: "Event",
            api_version: "audit.k8s.io/v1",
            level: "Metadata",
            audit_id: &self.id,
            stage: "ResponseComplete",
            request_uri: &self.uri,
            verb: &info.verb,
            user: match &self.user {
                Some(u) => MaybeUser::Known(UserOut::of(u)),
                None => MaybeUser::Unknown(Empty {}),
            },
            impersonated_user: self.impersonated.as_ref().map(UserOut::of),
            source_ips: [self.source.to_string()],
            user_agent: &self.user_agent,
            object_ref: info.is_resource_request.then(|| ObjectRefOut {
                resource: &info.resource,
                namespace: &info.namespace,
                name: &info.name,
                api_group: &info.api_group,
                api_version: &info.api_version,
                subresource: &info.subresource,
            }),
            response_status: StatusOut { metadata: Empty {}, code },
            request_received_timestamp: ts(self.received),
            stage_timestamp: ts(chrono::Utc::now()),
            annotations: self.annotations(),
        };
        serde_json::to_vec(&ev).unwrap_or_default()
    }

    fn annotations(&self) -> Option<Annotations> {
        let mut out = Annotations::new();
        if let Some((allowed, reason)) = &self.decision {
            out.insert(
                "authorization.k8s.io/decision".into(),
                if *allowed { "allow" } else { "forbid" }.into(),
            );
            out.insert("authorization.k8s.io/reason".into(), reason.clone());
        }
        out.extend(self.notes.annotations());
        (!out.is_empty()).then_some(out)
    }

    pub fn to_event(&self, code: u16) -> Value {
        serde_json::from_slice(&self.to_line(code)).unwrap_or(Value::Null)
    }

    #[cfg(test)]
    fn to_event_reference(&self, code: u16) -> Value {
        let mut ev = json!({
            "kind": "Event",
            "apiVersion": "audit.k8s.io/v1",
            "level": "Metadata",
            "auditID": self.id,
            "stage": "ResponseComplete",
            "requestURI": self.uri,
            "verb": self.info.verb,
            "user": self.user.as_ref().map(user_json).unwrap_or_else(|| json!({})),
            "sourceIPs": [self.source.to_string()],
            "userAgent": self.user_agent,
            "responseStatus": {"metadata": {}, "code": code},
            "requestReceivedTimestamp": ts(self.received),
            "stageTimestamp": ts(chrono::Utc::now()),
        });
        if let Some(i) = &self.impersonated {
            ev["impersonatedUser"] = user_json(i);
        }
        if self.info.is_resource_request {
            let mut obj = json!({"resource": self.info.resource, "apiVersion": self.info.api_version});
            for (k, v) in [
                ("namespace", &self.info.namespace),
                ("name", &self.info.name),
                ("apiGroup", &self.info.api_group),
                ("subresource", &self.info.subresource),
            ] {
                if !v.is_empty() {
                    obj[k] = json!(v);
                }
            }
            ev["objectRef"] = obj;
        }
        if let Some((allowed, reason)) = &self.decision {
            ev["annotations"] = json!({
                "authorization.k8s.io/decision": if *allowed { "allow" } else { "forbid" },
                "authorization.k8s.io/reason": reason,
            });
        }
        ev
    }
}

/// How often buffered events are written out, and the buffer's bound.
const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(50);
const MAX_BUFFER: usize = 16 * 1024 * 1024;

impl AuditLog {
    /// Opens (appends to) `path`, mode 0600, and starts the flusher. Events are appended to
    /// an in-memory buffer that is written every 50 ms, so a request never wakes a thread
    /// (a wake-up per request cost more than the rest of a GET).
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path)?;
        let mut file = tokio::fs::File::from_std(file);
        let buf = Arc::new(Mutex::new(Vec::<u8>::with_capacity(64 * 1024)));
        let weak = Arc::downgrade(&buf);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(FLUSH_EVERY);
            loop {
                tick.tick().await;
                let Some(buf) = weak.upgrade() else { return };
                let chunk = match buf.lock() {
                    Ok(mut b) if !b.is_empty() => std::mem::take(&mut *b),
                    _ => continue,
                };
                drop(buf);
                use tokio::io::AsyncWriteExt;
                let written = match file.write_all(&chunk).await {
                    Ok(()) => file.flush().await,
                    Err(e) => Err(e),
                };
                if let Err(e) = written {
                    tracing::error!(error = %e, "audit log write failed");
                }
            }
        });
        Ok(Self { buf, dropped: AtomicU64::new(0) })
    }

    pub fn emit(&self, rec: &Record, code: u16) {
        let mut line = rec.to_line(code);
        line.push(b'\n');
        let Ok(mut b) = self.buf.lock() else { return };
        if b.len() + line.len() > MAX_BUFFER {
            drop(b);
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(dropped = n, "audit log is behind; records dropped");
            }
            return;
        }
        b.extend_from_slice(&line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_who_what_and_why() {
        let rec = Record {
            id: "id".into(),
            info: RequestInfo::new("GET", "/api/v1/namespaces/d/pods/web", None),
            uri: "/api/v1/namespaces/d/pods/web".into(),
            source: "127.0.0.1".parse().unwrap(),
            user_agent: "kubectl".into(),
            received: chrono::Utc::now(),
            user: Some(UserInfo::new("admin", vec!["g".into()])),
            impersonated: Some(UserInfo::new("jane", vec![])),
            decision: Some((true, "RBAC: allowed by ClusterRoleBinding \"x\"".into())),
            notes: Arc::default(),
        };
        let ev = rec.to_event(200);
        let (mut a, mut b) = (ev.clone(), rec.to_event_reference(200));
        for v in [&mut a, &mut b] {
            v.as_object_mut().unwrap().remove("stageTimestamp");
        }
        assert_eq!(a, b, "the fast encoding equals the reference");
        // Admission's annotations join the decision's.
        rec.notes.annotate([("p/k".to_string(), "v".to_string())]);
        let noted = rec.to_event(200);
        assert_eq!(noted["annotations"]["p/k"], "v");
        assert_eq!(noted["annotations"]["authorization.k8s.io/decision"], "allow");
        let anon = Record { user: None, impersonated: None, decision: None, ..rec };
        assert_eq!(anon.to_event(401)["user"], json!({}));
        assert_eq!(ev["user"]["username"], "admin");
        assert_eq!(ev["impersonatedUser"]["username"], "jane");
        assert_eq!(ev["objectRef"]["name"], "web");
        assert_eq!(ev["objectRef"]["namespace"], "d");
        assert_eq!(ev["verb"], "get");
        assert_eq!(ev["responseStatus"]["code"], 200);
        assert_eq!(ev["annotations"]["authorization.k8s.io/decision"], "allow");
    }
}
