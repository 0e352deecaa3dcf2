//! Audit log: one `audit.k8s.io/v1` Event per request (level Metadata, stage
//! ResponseComplete) as a JSON line: who (user, groups, impersonation), what (verb,
//! resource, namespace, name), from where, the answer's code and why it was allowed.
//! Never request or response bodies, never credentials. Lines go through a bounded
//! channel to one writer task; if the writer falls behind, records are dropped and counted
//! rather than slowing requests.

use apimachinery::{RequestInfo, UserInfo};
use serde_json::{json, Value};
use std::io::Write;
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc;

const QUEUE: usize = 8192;

pub struct AuditLog {
    tx: mpsc::Sender<String>,
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
}

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
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

impl Record {
    pub fn to_event(&self, code: u16) -> Value {
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

impl AuditLog {
    /// Opens (appends to) `path`, mode 0600, and starts the writer task.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let mut file = std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path)?;
        let (tx, mut rx) = mpsc::channel::<String>(QUEUE);
        tokio::task::spawn_blocking(move || {
            while let Some(line) = rx.blocking_recv() {
                let mut buf = line;
                buf.push('\n');
                // Drain whatever else is queued before one write.
                while let Ok(more) = rx.try_recv() {
                    buf.push_str(&more);
                    buf.push('\n');
                }
                if let Err(e) = file.write_all(buf.as_bytes()) {
                    tracing::error!(error = %e, "audit log write failed");
                }
            }
        });
        Ok(Self { tx, dropped: AtomicU64::new(0) })
    }

    pub fn emit(&self, rec: &Record, code: u16) {
        let line = rec.to_event(code).to_string();
        if self.tx.try_send(line).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(dropped = n, "audit log is behind; records dropped");
            }
        }
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
        };
        let ev = rec.to_event(200);
        assert_eq!(ev["user"]["username"], "admin");
        assert_eq!(ev["impersonatedUser"]["username"], "jane");
        assert_eq!(ev["objectRef"]["name"], "web");
        assert_eq!(ev["objectRef"]["namespace"], "d");
        assert_eq!(ev["verb"], "get");
        assert_eq!(ev["responseStatus"]["code"], 200);
        assert_eq!(ev["annotations"]["authorization.k8s.io/decision"], "allow");
    }
}
