//! What a person may do, from the server's own answers: the resources of discovery (kube's
//! aggregated discovery, `apidiscovery.k8s.io/v2`) joined with the rules of a
//! SelfSubjectRulesReview, giving per resource the verbs held (for every name, or only for
//! some names). The dashboard shows controls only for verbs held; the API server still
//! decides every request.

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// One served resource (its preferred version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    pub group: String,
    pub version: String,
    pub resource: String,
    pub kind: String,
    pub namespaced: bool,
    /// The verbs the server serves for it.
    pub verbs: Vec<String>,
}

/// A resource and what the person holds on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Access {
    #[serde(flatten)]
    pub resource: Resource,
    /// Verbs held for every object.
    pub held: Vec<String>,
    /// Verbs held only for the named objects.
    pub named: BTreeMap<String, Vec<String>>,
}

/// The resources of aggregated discovery documents (`/api` and `/apis` answered as
/// `APIGroupDiscoveryList`), preferred version of each group first, subresources left out.
pub fn resources(docs: &[Value]) -> Vec<Resource> {
    let mut out = Vec::new();
    for doc in docs {
        for group in doc.get("items").and_then(Value::as_array).into_iter().flatten() {
            let name = group.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
            // Versions are listed in preference order: the first is the preferred one.
            let Some(version) = group.get("versions").and_then(Value::as_array).and_then(|v| v.first())
            else {
                continue;
            };
            let v = version.get("version").and_then(Value::as_str).unwrap_or_default();
            for r in version.get("resources").and_then(Value::as_array).into_iter().flatten() {
                let resource = r.get("resource").and_then(Value::as_str).unwrap_or_default();
                if resource.is_empty() {
                    continue;
                }
                out.push(Resource {
                    group: name.to_string(),
                    version: v.to_string(),
                    resource: resource.to_string(),
                    kind: r
                        .pointer("/responseKind/kind")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    namespaced: r.get("scope").and_then(Value::as_str) == Some("Namespaced"),
                    verbs: strings(r.get("verbs")),
                });
            }
        }
    }
    out
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

/// Joins resources with a SelfSubjectRulesReview's `status.resourceRules`.
pub fn join(resources: &[Resource], rules: &[Value]) -> Vec<Access> {
    resources
        .iter()
        .map(|r| {
            let mut held: Vec<String> = Vec::new();
            let mut named: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for rule in rules {
                let groups = strings(rule.get("apiGroups"));
                let res = strings(rule.get("resources"));
                if !groups.iter().any(|g| g == "*" || *g == r.group)
                    || !res.iter().any(|x| x == "*" || *x == r.resource)
                {
                    continue;
                }
                let verbs = strings(rule.get("verbs"));
                let verbs: Vec<String> = if verbs.iter().any(|v| v == "*") { r.verbs.clone() } else { verbs };
                let names = strings(rule.get("resourceNames"));
                for v in verbs {
                    if names.is_empty() {
                        if !held.contains(&v) {
                            held.push(v);
                        }
                    } else {
                        let entry = named.entry(v).or_default();
                        for n in &names {
                            if !entry.contains(n) {
                                entry.push(n.clone());
                            }
                        }
                    }
                }
            }
            named.retain(|v, _| !held.contains(v));
            held.sort();
            Access { resource: r.clone(), held, named }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn discovery() -> Vec<Value> {
        vec![
            json!({"items":[{"metadata":{"name":""},"versions":[{"version":"v1","resources":[
                {"resource":"pods","responseKind":{"kind":"Pod"},"scope":"Namespaced","verbs":["get","list","watch","create","delete"]},
                {"resource":"configmaps","responseKind":{"kind":"ConfigMap"},"scope":"Namespaced","verbs":["get","list","update"]},
                {"resource":"namespaces","responseKind":{"kind":"Namespace"},"scope":"Cluster","verbs":["get","list"]}]}]}]}),
            json!({"items":[{"metadata":{"name":"apps"},"versions":[{"version":"v1","resources":[
                {"resource":"deployments","responseKind":{"kind":"Deployment"},"scope":"Namespaced","verbs":["get","list"]}]},
                {"version":"v1beta1","resources":[{"resource":"old","scope":"Namespaced"}]}]}]}),
        ]
    }

    #[test]
    fn discovery_gives_preferred_versions() {
        let r = resources(&discovery());
        let names: Vec<String> =
            r.iter().map(|r| format!("{}/{}/{}", r.group, r.version, r.resource)).collect();
        assert_eq!(names, ["/v1/pods", "/v1/configmaps", "/v1/namespaces", "apps/v1/deployments"]);
        assert!(r[0].namespaced && !r[2].namespaced);
        assert_eq!(r[0].kind, "Pod");
    }

    #[test]
    fn rules_give_verbs_held_and_named() {
        let rules = vec![
            json!({"verbs":["get","list"],"apiGroups":[""],"resources":["pods","configmaps"]}),
            json!({"verbs":["update"],"apiGroups":[""],"resources":["configmaps"],"resourceNames":["app"]}),
            json!({"verbs":["*"],"apiGroups":["apps"],"resources":["*"]}),
            json!({"verbs":["create"],"apiGroups":["authorization.k8s.io"],"resources":["selfsubjectaccessreviews"]}),
        ];
        let a = join(&resources(&discovery()), &rules);
        assert_eq!(a[0].held, ["get", "list"]);
        assert_eq!(a[1].named.get("update").unwrap(), &["app"]);
        assert!(a[2].held.is_empty());
        assert_eq!(a[3].held, ["get", "list"], "`*` is every verb the resource serves");
    }
}
