//! Which webhooks a request reaches (k8s.io/apiserver `admission/plugin/webhook/predicates`):
//! rules (operations, apiGroups, apiVersions, resources with subresources, scope) and the
//! namespace and object label selectors.

use crate::types::{array_at, at, AdmissionRequest};
use apimachinery::selectors::LabelSelector;
use serde_json::Value;

fn list_has(v: &Value, key: &str, want: &str) -> bool {
    array_at(v, &[key]).iter().filter_map(Value::as_str).any(|s| s == "*" || s == want)
}

fn resource_matches(rule: &Value, resource: &str, subresource: &str) -> bool {
    array_at(rule, &["resources"]).iter().filter_map(Value::as_str).any(|r| {
        let (res, sub) = r.split_once('/').unwrap_or((r, ""));
        (res == "*" || res == resource) && (sub == "*" || sub == subresource)
    })
}

fn scope_matches(rule: &Value, namespace: &str) -> bool {
    match at(rule, &["scope"]).and_then(Value::as_str).unwrap_or("*") {
        "Cluster" => namespace.is_empty(),
        "Namespaced" => !namespace.is_empty(),
        _ => true,
    }
}

/// Whether one `RuleWithOperations` covers the request.
pub fn rule_matches(rule: &Value, req: &AdmissionRequest) -> bool {
    list_has(rule, "operations", req.operation.as_str())
        && list_has(rule, "apiGroups", &req.group)
        && list_has(rule, "apiVersions", &req.version)
        && resource_matches(rule, &req.resource, &req.subresource)
        && scope_matches(rule, &req.namespace)
}

/// Whether any of a webhook's rules covers the request.
pub fn rules_match(webhook: &Value, req: &AdmissionRequest) -> bool {
    array_at(webhook, &["rules"]).iter().any(|r| rule_matches(r, req))
}

/// A webhook selector; absent or null selects everything (the API defaults it to `{}`).
pub fn selector(webhook: &Value, key: &str) -> Result<LabelSelector, String> {
    match at(webhook, &[key]) {
        None => Ok(LabelSelector::everything()),
        Some(v) => LabelSelector::from_label_selector(v).map_err(|e| e.0),
    }
}

/// `objectSelector`: matches when the new or the old object's labels match.
pub fn object_selected(sel: &LabelSelector, req: &AdmissionRequest) -> bool {
    if sel.is_empty() {
        return true;
    }
    // an absent object never matches (kube's matchObject on nil)
    [&req.object, &req.old_object]
        .iter()
        .filter_map(|o| o.as_ref())
        .any(|o| sel.matches_json(at(o, &["metadata", "labels"])))
}

/// Webhook configurations never go through webhooks themselves
/// (`IsExemptAdmissionConfigurationResource`).
pub fn exempt(req: &AdmissionRequest) -> bool {
    req.group == "admissionregistration.k8s.io"
        && matches!(
            req.resource.as_str(),
            "validatingwebhookconfigurations"
                | "mutatingwebhookconfigurations"
                | "validatingadmissionpolicies"
                | "validatingadmissionpolicybindings"
                | "mutatingadmissionpolicies"
                | "mutatingadmissionpolicybindings"
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Operation;
    use apimachinery::UserInfo;
    use serde_json::json;

    fn req(op: Operation, group: &str, resource: &str, sub: &str, ns: &str) -> AdmissionRequest {
        AdmissionRequest::new(op, (group, "v1", "X"), resource, ns, "n", UserInfo::default())
            .with_subresource(sub)
    }

    #[test]
    fn rules_follow_kube_semantics() {
        let rule = json!({"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]});
        assert!(rule_matches(&rule, &req(Operation::Create, "", "pods", "", "ns")));
        assert!(!rule_matches(&rule, &req(Operation::Update, "", "pods", "", "ns")));
        assert!(!rule_matches(&rule, &req(Operation::Create, "", "pods", "status", "ns")));
        assert!(!rule_matches(&rule, &req(Operation::Create, "apps", "pods", "", "ns")));
        let sub = json!({"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["pods/*", "*/scale"], "scope": "Namespaced"});
        assert!(rule_matches(&sub, &req(Operation::Update, "", "pods", "status", "ns")));
        assert!(rule_matches(&sub, &req(Operation::Update, "", "pods", "", "ns")));
        assert!(rule_matches(&sub, &req(Operation::Update, "apps", "deployments", "scale", "ns")));
        assert!(!rule_matches(&sub, &req(Operation::Update, "apps", "deployments", "", "ns")));
        assert!(!rule_matches(&sub, &req(Operation::Update, "", "pods", "", "")));
        let star = json!({"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"], "scope": "Cluster"});
        assert!(rule_matches(&star, &req(Operation::Delete, "", "nodes", "", "")));
        assert!(!rule_matches(&star, &req(Operation::Delete, "", "nodes", "status", "")));
    }

    #[test]
    fn object_selector_uses_new_or_old_labels() {
        let sel = LabelSelector::from_label_selector(
            &json!({"matchExpressions": [{"key": "team", "operator": "In", "values": ["a"]}]}),
        )
        .unwrap();
        let r = req(Operation::Update, "", "pods", "", "ns")
            .with_object(json!({"metadata": {"labels": {"team": "b"}}}))
            .with_old_object(json!({"metadata": {"labels": {"team": "a"}}}));
        assert!(object_selected(&sel, &r));
        let r = req(Operation::Create, "", "pods", "", "ns").with_object(json!({"metadata": {}}));
        assert!(!object_selected(&sel, &r));
        assert!(selector(&json!({}), "objectSelector").unwrap().is_empty());
    }
}
