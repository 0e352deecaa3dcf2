//! "Why can't I?" and the admins' views, all with the caller's own credential:
//!
//! - `POST /api/explain`: for a refused request, the server's verdict (SelfSubjectAccessReview
//!   with its reason), the person's rules on that resource in that namespace
//!   (SelfSubjectRulesReview), the admission plugin or webhook named by the refusal, and, when
//!   the person may read the RBAC policy, `kubeward explain`'s answer and the bindings that
//!   name them ([`authz::tools`]);
//! - `GET /api/whocan`: `kubeward who-can` over the policy the caller may read;
//! - `GET /api/audit`: the audit trail of a user or an object from `--audit-log`, for those
//!   allowed `get` on the non-resource path `/kubeward/audit`.

use crate::api::{access_review, param, rules_review, self_subject_review};
use crate::app::{read_request, App, Caller};
use crate::upstream::Who;
use apimachinery::status::StatusError;
use hyper::body::Incoming;
use serde_json::{json, Value};
use std::io::{Read, Seek, SeekFrom};

/// The non-resource path whose `get` opens the audit trail.
pub const AUDIT_PATH: &str = "/kubeward/audit";
/// The most of the audit log read (its end).
const AUDIT_TAIL: u64 = 16 << 20;
/// The most audit rows answered.
const AUDIT_ROWS: usize = 200;

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or_default()
}

/// The RBAC policy the caller may read (namespaced kinds of `namespace`); `None` when any
/// part is refused.
async fn policy(app: &App, who: &Who, namespace: &str) -> Result<Option<Vec<Value>>, StatusError> {
    let mut out = Vec::new();
    let base = "/apis/rbac.authorization.k8s.io/v1";
    for (kind, plural, namespaced) in [
        ("ClusterRole", "clusterroles", false),
        ("ClusterRoleBinding", "clusterrolebindings", false),
        ("Role", "roles", true),
        ("RoleBinding", "rolebindings", true),
    ] {
        let path = if namespaced && !namespace.is_empty() {
            format!("{base}/namespaces/{namespace}/{plural}")
        } else {
            format!("{base}/{plural}")
        };
        match app.upstream.json(who, http::Method::GET, &path, None).await {
            Ok(list) => {
                for mut item in list.get("items").and_then(Value::as_array).cloned().unwrap_or_default() {
                    item["apiVersion"] = Value::from("rbac.authorization.k8s.io/v1");
                    item["kind"] = Value::from(kind);
                    out.push(item);
                }
            }
            Err(e) if e.code == 403 => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    Ok(Some(out))
}

/// The admission plugin or webhook a refusal's message names, if any.
pub fn admission_source(message: &str) -> Option<String> {
    if let Some(rest) = message.split("admission webhook \"").nth(1) {
        return rest.split('"').next().map(|w| format!("admission webhook {w}"));
    }
    let known = [
        ("violates PodSecurity", "PodSecurity admission"),
        ("exceeded quota", "ResourceQuota admission"),
        ("because it is being terminated", "NamespaceLifecycle admission"),
        ("is attempting to grant RBAC permissions not currently held", "RBAC escalation check"),
        ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicy"),
        ("node(s) ", "NodeRestriction admission"),
    ];
    known.iter().find(|(needle, _)| message.contains(needle)).map(|(_, who)| who.to_string())
}

/// `POST /api/explain` with `{verb, group, resource, subresource, namespace, name, message}`.
pub async fn explain(app: &App, caller: &Caller, req: http::Request<Incoming>) -> Result<Value, StatusError> {
    let (_, body) = read_request(req).await?;
    let a: Value = serde_json::from_slice(&body).map_err(|e| StatusError::bad_request(e.to_string()))?;
    let (verb, group, resource, sub, ns, name) = (
        s(&a, "verb"),
        s(&a, "group"),
        s(&a, "resource"),
        s(&a, "subresource"),
        s(&a, "namespace"),
        s(&a, "name"),
    );
    if verb.is_empty() || resource.is_empty() {
        return Err(StatusError::bad_request("verb and resource are required"));
    }
    let attrs = json!({"verb": verb, "group": group, "resource": resource, "subresource": sub, "namespace": ns, "name": name});
    let verdict = access_review(app, &caller.who, "resourceAttributes", attrs).await?;
    let status = verdict.get("status").cloned().unwrap_or_default();
    let rules = if ns.is_empty() { json!({}) } else { rules_review(app, &caller.who, ns).await? };
    let on_resource: Vec<Value> = rules
        .pointer("/status/resourceRules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|r| {
            let has = |k: &str, want: &str| {
                r.get(k).and_then(Value::as_array).into_iter().flatten().any(|x| x == "*" || x == want)
            };
            has("apiGroups", group) && has("resources", resource)
        })
        .cloned()
        .collect();
    let me = self_subject_review(app, &caller.who).await?;
    let user = me.pointer("/status/userInfo").cloned().unwrap_or_default();
    let mut out = json!({
        "allowed": status.get("allowed").cloned().unwrap_or(Value::Bool(false)),
        "denied": status.get("denied").cloned().unwrap_or(Value::Bool(false)),
        "reason": status.get("reason").cloned().unwrap_or_default(),
        "evaluationError": status.get("evaluationError").cloned().unwrap_or_default(),
        "rulesHere": on_resource,
        "rulesIncomplete": rules.pointer("/status/incomplete").cloned().unwrap_or(Value::Bool(false)),
        "admission": admission_source(s(&a, "message")),
        "user": user,
    });
    match policy(app, &caller.who, ns).await? {
        None => {
            out["rbac"] = Value::Null;
            out["rbacUnreadable"] = Value::from(
                "You may not read the RBAC policy, so the bindings cannot be shown here. An admin can run \
                 `kubeward explain` or use the Who can page.",
            );
        }
        Some(p) => {
            let name_s = s(&user, "username").to_string();
            let mut groups: Vec<String> = user
                .get("groups")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
            if !groups.iter().any(|g| g == apimachinery::user::ALL_AUTHENTICATED) {
                groups.push(apimachinery::user::ALL_AUTHENTICATED.to_string());
            }
            let target = authz::tools::Target {
                group: group.into(),
                resource: resource.into(),
                subresource: sub.into(),
                non_resource_path: None,
            };
            let u = apimachinery::UserInfo::new(name_s.clone(), groups.clone());
            let text = authz::tools::explain(&p, u, verb, &target, ns, name)
                .map_err(|e| StatusError::internal(&e.to_string()))?;
            out["rbac"] = Value::from(text);
            out["bindings"] = Value::from(bindings_naming(&p, &name_s, &groups, ns));
        }
    }
    Ok(out)
}

/// The bindings (in `namespace` and cluster-wide) naming the user or one of their groups, with
/// the role each grants: the ones that "come close".
fn bindings_naming(policy: &[Value], user: &str, groups: &[String], namespace: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for b in policy {
        let kind = s(b, "kind");
        if kind != "RoleBinding" && kind != "ClusterRoleBinding" {
            continue;
        }
        let bns = b.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or_default();
        if kind == "RoleBinding" && bns != namespace {
            continue;
        }
        let names_me = b.get("subjects").and_then(Value::as_array).into_iter().flatten().any(|sub| {
            let n = s(sub, "name");
            match s(sub, "kind") {
                "User" => n == user,
                "Group" => groups.iter().any(|g| g == n),
                "ServiceAccount" => {
                    let sns = sub.get("namespace").and_then(Value::as_str).unwrap_or(bns);
                    user == format!("system:serviceaccount:{sns}:{n}")
                }
                _ => false,
            }
        });
        if names_me {
            let rk = b.pointer("/roleRef/kind").and_then(Value::as_str).unwrap_or_default();
            let rn = b.pointer("/roleRef/name").and_then(Value::as_str).unwrap_or_default();
            let bn = b.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
            out.push(json!({"binding": if bns.is_empty() { format!("{kind}/{bn}") } else { format!("{kind}/{bns}/{bn}") },
                "role": format!("{rk}/{rn}")}));
        }
    }
    out
}

/// `GET /api/whocan?verb=&group=&resource=&namespace=&name=`.
pub async fn who_can(app: &App, caller: &Caller, query: &str) -> Result<Value, StatusError> {
    let q = |k: &str| param(query, k).unwrap_or_default();
    let (verb, resource, ns) = (q("verb"), q("resource"), q("namespace"));
    if verb.is_empty() || resource.is_empty() {
        return Err(StatusError::bad_request("verb and resource are required"));
    }
    let Some(p) = policy(app, &caller.who, &ns).await? else {
        return Err(crate::app::forbidden(
            "Who can needs permission to list Roles, ClusterRoles and their bindings.",
        ));
    };
    let target = authz::tools::Target {
        group: q("group"),
        resource,
        subresource: q("subresource"),
        non_resource_path: None,
    };
    let grants = authz::tools::who_can(&p, &verb, &target, &ns, &q("name"))
        .map_err(|e| StatusError::internal(&e.to_string()))?;
    let rows: Vec<Value> = grants
        .into_iter()
        .map(|g| json!({"kind": g.subject_kind, "subject": g.subject, "binding": g.binding, "role": g.role}))
        .collect();
    Ok(json!({"items": rows}))
}

/// `GET /api/audit?user=&namespace=&resource=&name=`: newest first.
pub async fn audit(app: &App, caller: &Caller, query: &str) -> Result<Value, StatusError> {
    let verdict =
        access_review(app, &caller.who, "nonResourceAttributes", json!({"path": AUDIT_PATH, "verb": "get"}))
            .await?;
    if verdict.pointer("/status/allowed").and_then(Value::as_bool) != Some(true) {
        return Err(crate::app::forbidden(&format!(
            "The audit trail is for those allowed `get` on the non-resource path {AUDIT_PATH}."
        )));
    }
    let Some(path) = app.audit_log.clone() else {
        return Err(StatusError::service_unavailable("the dashboard was started without --audit-log"));
    };
    let q = |k: &str| param(query, k).filter(|v| !v.is_empty());
    let filter = (q("user"), q("namespace"), q("resource"), q("name"));
    let rows = tokio::task::spawn_blocking(move || read_audit(&path, &filter))
        .await
        .map_err(|e| StatusError::internal(&e.to_string()))??;
    Ok(json!({"items": rows}))
}

type AuditFilter = (Option<String>, Option<String>, Option<String>, Option<String>);

fn read_audit(path: &std::path::Path, f: &AuditFilter) -> Result<Vec<Value>, StatusError> {
    let mut file = std::fs::File::open(path)
        .map_err(|e| StatusError::service_unavailable(format!("the audit log {}: {e}", path.display())))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(AUDIT_TAIL);
    file.seek(SeekFrom::Start(start)).map_err(|e| StatusError::internal(&e.to_string()))?;
    let mut text = String::new();
    file.take(AUDIT_TAIL).read_to_string(&mut text).map_err(|e| StatusError::internal(&e.to_string()))?;
    let mut rows = Vec::new();
    for line in text.lines().rev() {
        let Ok(e) = serde_json::from_str::<Value>(line) else { continue };
        if s(&e, "stage") != "ResponseComplete" {
            continue;
        }
        let user = e.pointer("/user/username").and_then(Value::as_str).unwrap_or_default();
        let as_user = e.pointer("/impersonatedUser/username").and_then(Value::as_str).unwrap_or_default();
        let obj = e.get("objectRef").cloned().unwrap_or_default();
        let keep = f.0.as_ref().is_none_or(|u| u == user || u == as_user)
            && f.1.as_ref().is_none_or(|n| n == s(&obj, "namespace"))
            && f.2.as_ref().is_none_or(|r| r == s(&obj, "resource"))
            && f.3.as_ref().is_none_or(|n| n == s(&obj, "name"));
        if !keep {
            continue;
        }
        rows.push(json!({
            "time": e.get("requestReceivedTimestamp").cloned().unwrap_or_default(),
            "user": user, "impersonatedUser": as_user,
            "verb": s(&e, "verb"),
            "resource": s(&obj, "resource"), "namespace": s(&obj, "namespace"), "name": s(&obj, "name"),
            "code": e.pointer("/responseStatus/code").cloned().unwrap_or_default(),
            "decision": e.pointer("/annotations/authorization.k8s.io~1decision").cloned().unwrap_or_default(),
            "reason": e.pointer("/annotations/authorization.k8s.io~1reason").cloned().unwrap_or_default(),
            "userAgent": s(&e, "userAgent"),
        }));
        if rows.len() >= AUDIT_ROWS {
            break;
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn admission_refusals_are_named() {
        assert_eq!(
            admission_source("admission webhook \"deny.example.com\" denied the request: no").as_deref(),
            Some("admission webhook deny.example.com")
        );
        assert_eq!(
            admission_source("pods \"p\" is forbidden: violates PodSecurity \"restricted:latest\"")
                .as_deref(),
            Some("PodSecurity admission")
        );
        assert_eq!(admission_source("configmaps \"x\" is forbidden: User \"bob\" cannot update"), None);
    }

    #[test]
    fn the_audit_trail_is_filtered_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("audit.log");
        let ev = |user: &str, name: &str, stage: &str| {
            json!({"stage": stage, "verb": "update", "user": {"username": user},
                "objectRef": {"resource": "configmaps", "namespace": "team-a", "name": name},
                "responseStatus": {"code": 403}, "annotations": {"authorization.k8s.io/decision": "forbid"}})
            .to_string()
        };
        let text = [
            ev("bob", "a", "RequestReceived"),
            ev("bob", "a", "ResponseComplete"),
            ev("alice", "b", "ResponseComplete"),
            ev("bob", "c", "ResponseComplete"),
        ]
        .join("\n");
        std::fs::write(&p, text).unwrap();
        let rows = read_audit(&p, &(Some("bob".into()), None, None, None)).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["name"], "c");
        assert_eq!(rows[0]["decision"], "forbid");
        let rows = read_audit(&p, &(None, None, None, Some("b".into()))).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["user"], "alice");
    }
}
