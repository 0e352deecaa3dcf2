//! API Priority and Fairness as far as kubeward takes it: every request is classified by the
//! stored FlowSchemas, as kube's APF filter classifies it (`k8s.io/apiserver
//! pkg/util/flowcontrol/rule.go`: the schemas in order of `matchingPrecedence`, then name; the
//! first whose rules match the user and the request wins), and the answer names the
//! FlowSchema and PriorityLevelConfiguration in kube's `X-Kubernetes-PF-FlowSchema-UID` and
//! `X-Kubernetes-PF-PriorityLevel-UID` headers. `/metrics` reports each limited priority
//! level's nominal concurrency limit (its share of the server's in-flight seats) as
//! `apiserver_flowcontrol_nominal_limit_seats`.
//!
//! Requests are not queued by priority level: the seats in flight stay [`super::inflight`]'s
//! fair pools (ARCHITECTURE.md). The snapshot is replaced whole by the flowcontrol controller
//! (`controllers/flowcontrol.rs`) on every change.

use apimachinery::{RequestInfo, UserInfo};
use arc_swap::ArcSwap;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// kube's response headers.
pub const FLOW_SCHEMA_UID_HEADER: &str = "X-Kubernetes-PF-FlowSchema-UID";
pub const PRIORITY_LEVEL_UID_HEADER: &str = "X-Kubernetes-PF-PriorityLevel-UID";

struct Schema {
    name: String,
    uid: String,
    precedence: i64,
    level: String,
    rules: Vec<Value>,
}

struct Level {
    uid: String,
    /// `nominalConcurrencyShares` of a Limited level (None: Exempt).
    shares: Option<u64>,
}

#[derive(Default)]
struct Snapshot {
    schemas: Vec<Schema>,
    levels: HashMap<String, Level>,
}

/// The classification state: FlowSchemas and PriorityLevelConfigurations as last seen.
#[derive(Default)]
pub struct FlowControl {
    snapshot: ArcSwap<Snapshot>,
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(String::from)
        .collect()
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

/// kube's default `nominalConcurrencyShares` of a Limited level that sets none.
const DEFAULT_SHARES: u64 = 30;

impl FlowControl {
    /// Replaces what is known with these objects.
    pub fn replace(&self, flow_schemas: &[Value], priority_levels: &[Value]) {
        let mut schemas: Vec<Schema> = flow_schemas
            .iter()
            .map(|fs| Schema {
                name: str_at(fs, "/metadata/name").to_string(),
                uid: str_at(fs, "/metadata/uid").to_string(),
                precedence: fs.pointer("/spec/matchingPrecedence").and_then(Value::as_i64).unwrap_or(1000),
                level: str_at(fs, "/spec/priorityLevelConfiguration/name").to_string(),
                rules: fs.pointer("/spec/rules").and_then(Value::as_array).cloned().unwrap_or_default(),
            })
            .collect();
        schemas.sort_by(|a, b| a.precedence.cmp(&b.precedence).then_with(|| a.name.cmp(&b.name)));
        let levels = priority_levels
            .iter()
            .map(|pl| {
                let shares = (str_at(pl, "/spec/type") != "Exempt").then(|| {
                    pl.pointer("/spec/limited/nominalConcurrencyShares")
                        .and_then(Value::as_u64)
                        .unwrap_or(DEFAULT_SHARES)
                });
                (
                    str_at(pl, "/metadata/name").to_string(),
                    Level { uid: str_at(pl, "/metadata/uid").to_string(), shares },
                )
            })
            .collect();
        self.snapshot.store(Arc::new(Snapshot { schemas, levels }));
    }

    /// The UIDs of the FlowSchema and PriorityLevelConfiguration `user`'s request goes to;
    /// `None` when no schema matches or its level does not exist (kube then rejects; kubeward
    /// serves the request unclassified).
    pub fn classify(&self, user: &UserInfo, info: &RequestInfo) -> Option<(String, String)> {
        let snapshot = self.snapshot.load();
        let schema = snapshot.schemas.iter().find(|s| s.rules.iter().any(|r| rule_matches(r, user, info)))?;
        let level = snapshot.levels.get(&schema.level)?;
        Some((schema.uid.clone(), level.uid.clone()))
    }

    /// Each Limited level's nominal concurrency limit: its share of `server_limit` seats
    /// (kube's `ceil(serverCL * shares / sum of shares)`), by level name.
    pub fn nominal_limits(&self, server_limit: u64) -> Vec<(String, u64)> {
        let snapshot = self.snapshot.load();
        let total: u64 = snapshot.levels.values().filter_map(|l| l.shares).sum();
        let mut out: Vec<(String, u64)> = snapshot
            .levels
            .iter()
            .filter_map(|(name, l)| {
                let shares = l.shares?;
                let limit = if total == 0 { 0 } else { (server_limit * shares).div_ceil(total) };
                Some((name.clone(), limit))
            })
            .collect();
        out.sort();
        out
    }
}

fn subject_matches(subject: &Value, user: &UserInfo) -> bool {
    match str_at(subject, "/kind") {
        "User" => matches!(str_at(subject, "/user/name"), "*") || str_at(subject, "/user/name") == user.name,
        "Group" => {
            let name = str_at(subject, "/group/name");
            name == "*" || user.groups.iter().any(|g| g == name)
        }
        "ServiceAccount" => {
            let ns = str_at(subject, "/serviceAccount/namespace");
            let name = str_at(subject, "/serviceAccount/name");
            match user.name.strip_prefix("system:serviceaccount:").and_then(|r| r.split_once(':')) {
                Some((user_ns, user_name)) => user_ns == ns && (name == "*" || name == user_name),
                None => false,
            }
        }
        _ => false,
    }
}

fn has(list: &[String], item: &str) -> bool {
    list.iter().any(|x| x == "*" || x == item)
}

fn resource_rule_matches(rule: &Value, info: &RequestInfo) -> bool {
    let resource = if info.subresource.is_empty() {
        info.resource.clone()
    } else {
        format!("{}/{}", info.resource, info.subresource)
    };
    let scope_ok = if info.namespace.is_empty() {
        rule.get("clusterScope").and_then(Value::as_bool).unwrap_or(false)
    } else {
        has(&strings(rule, "namespaces"), &info.namespace)
    };
    has(&strings(rule, "verbs"), &info.verb)
        && has(&strings(rule, "apiGroups"), &info.api_group)
        && has(&strings(rule, "resources"), &resource)
        && scope_ok
}

fn non_resource_rule_matches(rule: &Value, info: &RequestInfo) -> bool {
    has(&strings(rule, "verbs"), &info.verb)
        && strings(rule, "nonResourceURLs").iter().any(|u| {
            u == "*"
                || *u == info.path
                || u.strip_suffix('*').is_some_and(|prefix| info.path.starts_with(prefix))
        })
}

fn rule_matches(rule: &Value, user: &UserInfo, info: &RequestInfo) -> bool {
    let subjects = rule.get("subjects").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    if !subjects.iter().any(|s| subject_matches(s, user)) {
        return false;
    }
    if info.is_resource_request {
        rule.get("resourceRules")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|r| resource_rule_matches(r, info))
    } else {
        rule.get("nonResourceRules")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|r| non_resource_rule_matches(r, info))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fs(name: &str, precedence: i64, level: &str, rules: Value) -> Value {
        json!({"metadata": {"name": name, "uid": format!("fs-{name}")},
            "spec": {"matchingPrecedence": precedence, "priorityLevelConfiguration": {"name": level}, "rules": rules}})
    }

    fn pl(name: &str, shares: Option<u64>) -> Value {
        match shares {
            Some(n) => json!({"metadata": {"name": name, "uid": format!("pl-{name}")},
                "spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": n}}}),
            None => {
                json!({"metadata": {"name": name, "uid": format!("pl-{name}")}, "spec": {"type": "Exempt"}})
            }
        }
    }

    #[test]
    fn the_first_matching_schema_by_precedence_wins() {
        let f = FlowControl::default();
        let everyone = json!([{"subjects": [{"kind": "Group", "group": {"name": "system:authenticated"}}],
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"], "clusterScope": true, "namespaces": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}]}]);
        let noxu = json!([{"subjects": [{"kind": "User", "user": {"name": "noxu"}}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}]}]);
        let masters = json!([{"subjects": [{"kind": "Group", "group": {"name": "system:masters"}}],
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"], "clusterScope": true, "namespaces": ["*"]}]}]);
        f.replace(
            &[
                fs("catch-all", 10000, "catch-all", everyone),
                fs("e2e", 1000, "e2e", noxu),
                fs("exempt", 1, "exempt", masters),
            ],
            &[pl("catch-all", Some(5)), pl("e2e", Some(1)), pl("exempt", None)],
        );
        let version = RequestInfo::new("GET", "/version", None);
        let noxu_user = UserInfo::new("noxu", vec!["system:authenticated".into()]);
        let other = UserInfo::new("foo", vec!["system:authenticated".into()]);
        assert_eq!(f.classify(&noxu_user, &version), Some(("fs-e2e".into(), "pl-e2e".into())));
        assert_eq!(f.classify(&other, &version), Some(("fs-catch-all".into(), "pl-catch-all".into())));
        let pods = RequestInfo::new("GET", "/api/v1/namespaces/x/pods", None);
        assert_eq!(f.classify(&noxu_user, &pods), Some(("fs-catch-all".into(), "pl-catch-all".into())));
        let admin = UserInfo::new("admin", vec!["system:masters".into(), "system:authenticated".into()]);
        assert_eq!(f.classify(&admin, &pods), Some(("fs-exempt".into(), "pl-exempt".into())));
        assert_eq!(f.nominal_limits(600), [("catch-all".to_string(), 500), ("e2e".to_string(), 100)]);
    }

    #[test]
    fn service_accounts_and_url_prefixes() {
        let sa = json!({"kind": "ServiceAccount", "serviceAccount": {"namespace": "ns", "name": "*"}});
        assert!(subject_matches(&sa, &UserInfo::new("system:serviceaccount:ns:robot", vec![])));
        assert!(!subject_matches(&sa, &UserInfo::new("system:serviceaccount:other:robot", vec![])));
        let rule = json!({"verbs": ["get"], "nonResourceURLs": ["/healthz/*"]});
        assert!(non_resource_rule_matches(&rule, &RequestInfo::new("GET", "/healthz/etcd", None)));
        assert!(!non_resource_rule_matches(&rule, &RequestInfo::new("GET", "/version", None)));
    }
}
