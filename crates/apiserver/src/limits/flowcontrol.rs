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
//! (`controllers/flowcontrol.rs`) on every change; each FlowSchema's rules are read into
//! typed matchers and its answer headers built then, so classifying a request reads no JSON
//! and allocates nothing (it runs on every request).

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
    precedence: i64,
    level: String,
    rules: Vec<Rule>,
    /// The answer's headers: this schema's UID, and its level's (None: no such level).
    headers: Option<Classified>,
}

/// One `spec.rules[]` entry of a FlowSchema, read once when the snapshot is built so that
/// classifying a request reads no JSON and allocates nothing.
struct Rule {
    subjects: Vec<Subject>,
    resource_rules: Vec<ResourceRule>,
    non_resource_rules: Vec<NonResourceRule>,
}

enum Subject {
    User(String),
    Group(String),
    ServiceAccount {
        namespace: String,
        name: String,
    },
    /// A kind kube does not know: matches nobody.
    Other,
}

struct ResourceRule {
    verbs: Vec<String>,
    api_groups: Vec<String>,
    resources: Vec<String>,
    cluster_scope: bool,
    namespaces: Vec<String>,
}

struct NonResourceRule {
    verbs: Vec<String>,
    urls: Vec<String>,
}

struct Level {
    uid: String,
    /// `nominalConcurrencyShares` of a Limited level (None: Exempt).
    shares: Option<u64>,
}

/// What a request was classified to: kube's two response headers, built once per snapshot
/// (cloning a `HeaderValue` shares its bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classified {
    pub flow_schema_uid: http::HeaderValue,
    pub priority_level_uid: http::HeaderValue,
}

impl Classified {
    /// Names the FlowSchema and priority level in `headers`.
    pub fn apply(&self, headers: &mut http::HeaderMap) {
        headers.insert(FLOW_SCHEMA_UID_HEADER_NAME.clone(), self.flow_schema_uid.clone());
        headers.insert(PRIORITY_LEVEL_UID_HEADER_NAME.clone(), self.priority_level_uid.clone());
    }
}

static FLOW_SCHEMA_UID_HEADER_NAME: http::HeaderName =
    http::HeaderName::from_static("x-kubernetes-pf-flowschema-uid");
static PRIORITY_LEVEL_UID_HEADER_NAME: http::HeaderName =
    http::HeaderName::from_static("x-kubernetes-pf-prioritylevel-uid");

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

fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map_or(&[][..], Vec::as_slice)
}

/// kube's default `nominalConcurrencyShares` of a Limited level that sets none.
const DEFAULT_SHARES: u64 = 30;

impl FlowControl {
    /// Replaces what is known with these objects.
    pub fn replace(&self, flow_schemas: &[Value], priority_levels: &[Value]) {
        let levels: HashMap<String, Level> = priority_levels
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
        let mut schemas: Vec<Schema> = flow_schemas
            .iter()
            .map(|fs| {
                let level = str_at(fs, "/spec/priorityLevelConfiguration/name").to_string();
                let headers = levels.get(&level).and_then(|l| {
                    Some(Classified {
                        flow_schema_uid: http::HeaderValue::from_str(str_at(fs, "/metadata/uid")).ok()?,
                        priority_level_uid: http::HeaderValue::from_str(&l.uid).ok()?,
                    })
                });
                Schema {
                    name: str_at(fs, "/metadata/name").to_string(),
                    precedence: fs
                        .pointer("/spec/matchingPrecedence")
                        .and_then(Value::as_i64)
                        .unwrap_or(1000),
                    level,
                    rules: fs
                        .pointer("/spec/rules")
                        .map_or(&[][..], |r| r.as_array().map_or(&[][..], Vec::as_slice))
                        .iter()
                        .map(Rule::read)
                        .collect(),
                    headers,
                }
            })
            .collect();
        schemas.sort_by(|a, b| a.precedence.cmp(&b.precedence).then_with(|| a.name.cmp(&b.name)));
        self.snapshot.store(Arc::new(Snapshot { schemas, levels }));
    }

    /// The FlowSchema and PriorityLevelConfiguration `user`'s request goes to, as kube's
    /// response headers; `None` when no schema matches or its level does not exist (kube
    /// then rejects; kubeward serves the request unclassified).
    pub fn classify(&self, user: &UserInfo, info: &RequestInfo) -> Option<Classified> {
        let snapshot = self.snapshot.load();
        let schema = snapshot.schemas.iter().find(|s| s.rules.iter().any(|r| r.matches(user, info)))?;
        schema.headers.clone()
    }

    /// The names of the FlowSchema and priority level `user`'s request goes to (for tests
    /// and tools; the request path uses [`FlowControl::classify`]).
    pub fn classify_names(&self, user: &UserInfo, info: &RequestInfo) -> Option<(String, String)> {
        let snapshot = self.snapshot.load();
        let schema = snapshot.schemas.iter().find(|s| s.rules.iter().any(|r| r.matches(user, info)))?;
        snapshot.levels.contains_key(&schema.level).then(|| (schema.name.clone(), schema.level.clone()))
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

impl Rule {
    fn read(rule: &Value) -> Self {
        Rule {
            subjects: array(rule, "subjects").iter().map(Subject::read).collect(),
            resource_rules: array(rule, "resourceRules")
                .iter()
                .map(|r| ResourceRule {
                    verbs: strings(r, "verbs"),
                    api_groups: strings(r, "apiGroups"),
                    resources: strings(r, "resources"),
                    cluster_scope: r.get("clusterScope").and_then(Value::as_bool).unwrap_or(false),
                    namespaces: strings(r, "namespaces"),
                })
                .collect(),
            non_resource_rules: array(rule, "nonResourceRules")
                .iter()
                .map(|r| NonResourceRule { verbs: strings(r, "verbs"), urls: strings(r, "nonResourceURLs") })
                .collect(),
        }
    }

    /// kube's `matchesPolicyRuleWithSubjects`: a subject matches and a rule of the request's
    /// kind does.
    fn matches(&self, user: &UserInfo, info: &RequestInfo) -> bool {
        if !self.subjects.iter().any(|s| s.matches(user)) {
            return false;
        }
        if info.is_resource_request {
            self.resource_rules.iter().any(|r| r.matches(info))
        } else {
            self.non_resource_rules.iter().any(|r| r.matches(info))
        }
    }
}

impl Subject {
    fn read(subject: &Value) -> Self {
        match str_at(subject, "/kind") {
            "User" => Subject::User(str_at(subject, "/user/name").to_string()),
            "Group" => Subject::Group(str_at(subject, "/group/name").to_string()),
            "ServiceAccount" => Subject::ServiceAccount {
                namespace: str_at(subject, "/serviceAccount/namespace").to_string(),
                name: str_at(subject, "/serviceAccount/name").to_string(),
            },
            _ => Subject::Other,
        }
    }

    fn matches(&self, user: &UserInfo) -> bool {
        match self {
            Subject::User(name) => name == "*" || *name == user.name,
            Subject::Group(name) => name == "*" || user.groups.iter().any(|g| g == name),
            Subject::ServiceAccount { namespace, name } => {
                match user.name.strip_prefix("system:serviceaccount:").and_then(|r| r.split_once(':')) {
                    Some((user_ns, user_name)) => user_ns == namespace && (name == "*" || name == user_name),
                    None => false,
                }
            }
            Subject::Other => false,
        }
    }
}

fn has(list: &[String], item: &str) -> bool {
    list.iter().any(|x| x == "*" || x == item)
}

impl ResourceRule {
    fn matches(&self, info: &RequestInfo) -> bool {
        // `resource/subresource` compared without building it.
        let resource_ok = self.resources.iter().any(|r| {
            r == "*"
                || if info.subresource.is_empty() {
                    *r == info.resource
                } else {
                    r.strip_prefix(info.resource.as_str()).and_then(|rest| rest.strip_prefix('/'))
                        == Some(info.subresource.as_str())
                }
        });
        let scope_ok = if info.namespace.is_empty() {
            self.cluster_scope
        } else {
            has(&self.namespaces, &info.namespace)
        };
        has(&self.verbs, &info.verb) && has(&self.api_groups, &info.api_group) && resource_ok && scope_ok
    }
}

impl NonResourceRule {
    fn matches(&self, info: &RequestInfo) -> bool {
        has(&self.verbs, &info.verb)
            && self.urls.iter().any(|u| {
                u == "*"
                    || *u == info.path
                    || u.strip_suffix('*').is_some_and(|prefix| info.path.starts_with(prefix))
            })
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
        assert_eq!(f.classify_names(&noxu_user, &version), Some(("e2e".into(), "e2e".into())));
        assert_eq!(f.classify_names(&other, &version), Some(("catch-all".into(), "catch-all".into())));
        let pods = RequestInfo::new("GET", "/api/v1/namespaces/x/pods", None);
        assert_eq!(f.classify_names(&noxu_user, &pods), Some(("catch-all".into(), "catch-all".into())));
        let admin = UserInfo::new("admin", vec!["system:masters".into(), "system:authenticated".into()]);
        assert_eq!(f.classify_names(&admin, &pods), Some(("exempt".into(), "exempt".into())));
        let headers = f.classify(&admin, &pods).unwrap();
        assert_eq!(headers.flow_schema_uid, "fs-exempt");
        assert_eq!(headers.priority_level_uid, "pl-exempt");
        let mut map = http::HeaderMap::new();
        headers.apply(&mut map);
        assert_eq!(map.get(FLOW_SCHEMA_UID_HEADER).unwrap(), "fs-exempt");
        assert_eq!(map.get(PRIORITY_LEVEL_UID_HEADER).unwrap(), "pl-exempt");
        let status = RequestInfo::new("GET", "/api/v1/namespaces/x/pods/p/status", None);
        assert_eq!(f.classify_names(&admin, &status), Some(("exempt".into(), "exempt".into())));
        assert_eq!(f.nominal_limits(600), [("catch-all".to_string(), 500), ("e2e".to_string(), 100)]);
    }

    #[test]
    fn service_accounts_and_url_prefixes() {
        let sa = Subject::read(
            &json!({"kind": "ServiceAccount", "serviceAccount": {"namespace": "ns", "name": "*"}}),
        );
        assert!(sa.matches(&UserInfo::new("system:serviceaccount:ns:robot", vec![])));
        assert!(!sa.matches(&UserInfo::new("system:serviceaccount:other:robot", vec![])));
        let rule = json!({"subjects": [{"kind": "User", "user": {"name": "*"}}],
            "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": ["/healthz/*"]}]});
        let rule = Rule::read(&rule);
        let anyone = UserInfo::new("x", vec![]);
        assert!(rule.matches(&anyone, &RequestInfo::new("GET", "/healthz/etcd", None)));
        assert!(!rule.matches(&anyone, &RequestInfo::new("GET", "/version", None)));
    }

    #[test]
    fn subresources_match_resource_slash_subresource_only() {
        let rule = |resources: Value| {
            Rule::read(&json!({"subjects": [{"kind": "Group", "group": {"name": "*"}}],
                "resourceRules": [{"verbs": ["*"], "apiGroups": [""], "resources": resources, "namespaces": ["*"]}]}))
        };
        let u = UserInfo::new("x", vec![]);
        let status = RequestInfo::new("GET", "/api/v1/namespaces/x/pods/p/status", None);
        let pods = RequestInfo::new("GET", "/api/v1/namespaces/x/pods/p", None);
        assert!(rule(json!(["pods/status"])).matches(&u, &status));
        assert!(!rule(json!(["pods"])).matches(&u, &status));
        assert!(!rule(json!(["pods/status"])).matches(&u, &pods));
        assert!(!rule(json!(["podsXstatus", "pods/statusX", "pod/status"])).matches(&u, &status));
        assert!(rule(json!(["*"])).matches(&u, &status));
        // Cluster-scoped requests need clusterScope.
        let nodes = RequestInfo::new("GET", "/api/v1/nodes/n", None);
        assert!(!rule(json!(["nodes"])).matches(&u, &nodes));
    }
}
