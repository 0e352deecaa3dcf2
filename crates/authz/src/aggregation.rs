//! ClusterRole aggregation (kube's `clusterrole-aggregation` controller).
//!
//! A ClusterRole with `aggregationRule.clusterRoleSelectors` gets as rules the union of the
//! rules of every other ClusterRole whose labels match any selector: selectors in order,
//! matching roles sorted by name, rules in their order, exact duplicates dropped. Aggregated
//! roles can feed each other (`view` → `edit` → `admin`), so [`aggregate`] repeats until
//! nothing changes, as the controller does by re-queueing on every update.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::policy::PolicyRule;

/// One `metav1.LabelSelector`, parsed. An invalid selector is rejected (kube's controller
/// then leaves the role unchanged).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    match_labels: Vec<(String, String)>,
    expressions: Vec<Requirement>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

impl LabelSelector {
    /// Parses `{matchLabels: {...}, matchExpressions: [{key, operator, values}]}`;
    /// `None` when malformed (unknown operator, In/NotIn without values, Exists with values).
    pub fn parse(v: &Value) -> Option<Self> {
        let mut sel = LabelSelector::default();
        if let Some(labels) = v.get("matchLabels").filter(|l| !l.is_null()) {
            for (k, val) in labels.as_object()? {
                sel.match_labels.push((k.clone(), val.as_str()?.to_string()));
            }
        }
        if let Some(exprs) = v.get("matchExpressions").filter(|e| !e.is_null()) {
            for e in exprs.as_array()? {
                let key = e.get("key")?.as_str()?.to_string();
                let values: Vec<String> = match e.get("values") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(vals) => vals
                        .as_array()?
                        .iter()
                        .map(|x| x.as_str().map(str::to_string))
                        .collect::<Option<_>>()?,
                };
                let req = match e.get("operator")?.as_str()? {
                    "In" if !values.is_empty() => Requirement::In(key, values),
                    "NotIn" if !values.is_empty() => Requirement::NotIn(key, values),
                    "Exists" if values.is_empty() => Requirement::Exists(key),
                    "DoesNotExist" if values.is_empty() => Requirement::DoesNotExist(key),
                    _ => return None,
                };
                sel.expressions.push(req);
            }
        }
        Some(sel)
    }

    /// Whether `labels` satisfy every requirement (an empty selector matches everything).
    pub fn matches(&self, labels: &serde_json::Map<String, Value>) -> bool {
        let get = |k: &str| labels.get(k).and_then(Value::as_str);
        self.match_labels.iter().all(|(k, v)| get(k) == Some(v.as_str()))
            && self.expressions.iter().all(|r| match r {
                Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
                Requirement::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
                Requirement::Exists(k) => get(k).is_some(),
                Requirement::DoesNotExist(k) => get(k).is_none(),
            })
    }
}

fn name_of(role: &Value) -> &str {
    role.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("")
}

fn rules_of(role: &Value) -> Vec<PolicyRule> {
    match role.get("rules") {
        Some(v) if !v.is_null() => Vec::<PolicyRule>::deserialize(v).unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// The selectors of an aggregated role; `None` if the role is not aggregated or a selector
/// is malformed.
fn selectors_of(role: &Value) -> Option<Vec<LabelSelector>> {
    let selectors = role.pointer("/aggregationRule/clusterRoleSelectors")?;
    match selectors {
        Value::Null => Some(Vec::new()),
        Value::Array(list) => list.iter().map(LabelSelector::parse).collect(),
        _ => None,
    }
}

/// The rules an aggregated role should have, given the other roles' current rules.
fn aggregated_rules(
    name: &str,
    selectors: &[LabelSelector],
    by_name: &BTreeMap<String, (serde_json::Map<String, Value>, Vec<PolicyRule>)>,
) -> Vec<PolicyRule> {
    let mut out: Vec<PolicyRule> = Vec::new();
    for sel in selectors {
        for (other, (labels, rules)) in by_name {
            if other == name || !sel.matches(labels) {
                continue;
            }
            for rule in rules {
                if !out.contains(rule) {
                    out.push(rule.clone());
                }
            }
        }
    }
    out
}

/// Computes aggregated rules for every ClusterRole in `roles` that has an aggregation rule,
/// and returns the roles whose rules changed, updated (in input order).
pub fn aggregate(roles: &[Value]) -> Vec<Value> {
    let mut by_name: BTreeMap<String, (serde_json::Map<String, Value>, Vec<PolicyRule>)> = BTreeMap::new();
    for role in roles {
        let labels = role.pointer("/metadata/labels").and_then(Value::as_object).cloned().unwrap_or_default();
        by_name.insert(name_of(role).to_string(), (labels, rules_of(role)));
    }
    let aggregated: Vec<(String, Vec<LabelSelector>)> =
        roles.iter().filter_map(|r| Some((name_of(r).to_string(), selectors_of(r)?))).collect();
    let mut changed: BTreeMap<String, Vec<PolicyRule>> = BTreeMap::new();
    // Each round can only add rules that flow one step further along a chain of aggregated
    // roles, so the number of such roles plus one bounds the rounds.
    for _ in 0..=aggregated.len() {
        let mut any = false;
        for (name, selectors) in &aggregated {
            let rules = aggregated_rules(name, selectors, &by_name);
            if let Some(entry) = by_name.get_mut(name) {
                if entry.1 != rules {
                    entry.1 = rules.clone();
                    changed.insert(name.clone(), rules);
                    any = true;
                }
            }
        }
        if !any {
            break;
        }
    }
    roles
        .iter()
        .filter_map(|role| {
            let rules = changed.get(name_of(role))?;
            if *rules == rules_of(role) {
                return None;
            }
            let mut updated = role.clone();
            updated["rules"] = serde_json::to_value(rules).ok()?;
            Some(updated)
        })
        .collect()
}

/// `roles` with the aggregated roles replaced by their updated versions.
pub fn aggregated(roles: &[Value]) -> Vec<Value> {
    let updated = aggregate(roles);
    roles.iter().map(|r| updated.iter().find(|u| name_of(u) == name_of(r)).unwrap_or(r).clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn role(name: &str, labels: Value, rules: Value) -> Value {
        json!({"kind": "ClusterRole", "metadata": {"name": name, "labels": labels}, "rules": rules})
    }

    fn labels(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn selector_semantics() {
        let s = LabelSelector::parse(&json!({"matchLabels": {"a": "1"}, "matchExpressions": [
            {"key": "b", "operator": "In", "values": ["x", "y"]},
            {"key": "c", "operator": "NotIn", "values": ["z"]},
            {"key": "d", "operator": "Exists"},
            {"key": "e", "operator": "DoesNotExist"}]}))
        .unwrap();
        assert!(s.matches(&labels(json!({"a": "1", "b": "y", "d": ""}))));
        assert!(s.matches(&labels(json!({"a": "1", "b": "x", "c": "w", "d": "q"}))));
        assert!(!s.matches(&labels(json!({"a": "2", "b": "y", "d": ""}))));
        assert!(!s.matches(&labels(json!({"a": "1", "b": "q", "d": ""}))));
        assert!(!s.matches(&labels(json!({"a": "1", "b": "y", "c": "z", "d": ""}))));
        assert!(!s.matches(&labels(json!({"a": "1", "b": "y"}))));
        assert!(!s.matches(&labels(json!({"a": "1", "b": "y", "d": "", "e": "1"}))));
        assert!(LabelSelector::parse(&json!({})).unwrap().matches(&labels(json!({}))));
        for bad in [
            json!({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}),
            json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}),
            json!({"matchExpressions": [{"key": "a", "operator": "Near"}]}),
            json!({"matchLabels": {"a": 1}}),
        ] {
            assert_eq!(LabelSelector::parse(&bad), None, "{bad}");
        }
    }

    #[test]
    fn unions_sorted_deduplicated_and_chained() {
        let get = json!({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]});
        let list = json!({"verbs": ["list"], "apiGroups": [""], "resources": ["pods"]});
        let del = json!({"verbs": ["delete"], "apiGroups": [""], "resources": ["pods"]});
        let mut view = role("view", json!({"agg-edit": "true"}), Value::Null);
        view["aggregationRule"] = json!({"clusterRoleSelectors": [{"matchLabels": {"agg-view": "true"}}]});
        let mut edit = role("edit", json!({}), json!([]));
        edit["aggregationRule"] = json!({"clusterRoleSelectors": [{"matchLabels": {"agg-edit": "true"}}]});
        let roles = vec![
            edit,
            view,
            role("z-view", json!({"agg-view": "true"}), json!([list, get])),
            role("a-view", json!({"agg-view": "true"}), json!([get])),
            role("to-edit", json!({"agg-edit": "true"}), json!([del, get])),
            role("other", json!({}), json!([del])),
        ];
        let updated = aggregate(&roles);
        assert_eq!(updated.len(), 2);
        assert_eq!(name_of(&updated[0]), "edit");
        assert_eq!(updated[0]["rules"], json!([del, get, list]));
        assert_eq!(updated[1]["rules"], json!([get, list]));
        // Already up to date: nothing to write.
        assert!(aggregate(&aggregated(&roles)).is_empty());
        // A malformed selector leaves the role alone.
        let mut bad = role("bad", json!({}), Value::Null);
        bad["aggregationRule"] =
            json!({"clusterRoleSelectors": [{"matchExpressions": [{"key": "a", "operator": "?"}]}]});
        assert!(aggregate(&[bad, role("x", json!({}), json!([get]))]).is_empty());
    }

    #[test]
    fn a_role_never_aggregates_itself() {
        let mut me = role("me", json!({"agg": "true"}), json!([{"verbs": ["get"], "resources": ["x"]}]));
        me["aggregationRule"] = json!({"clusterRoleSelectors": [{"matchLabels": {"agg": "true"}}]});
        let updated = aggregate(&[me]);
        assert_eq!(updated.len(), 1);
        assert_eq!(updated[0]["rules"], json!([]));
    }
}
