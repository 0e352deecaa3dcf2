//! `reachablenamespaces.kubeward.io/v1alpha1`: the namespaces the caller can do something in,
//! answered from the server's rule resolvers (the RBAC index) so that people who may not list
//! namespaces still find theirs. A kubeward extension (COMPATIBILITY.md), computed on each
//! request and never stored; `get` and `list` only, readable by every authenticated user
//! (`authz::self_service`). It never names a namespace the caller holds nothing in: a
//! namespace unknown and one out of reach are both 404 to `get`.
//!
//! A namespace is reached when:
//! - the authorizers allow the caller `list namespaces` cluster-wide: every namespace;
//! - a cluster-wide rule (a ClusterRoleBinding's) grants a read verb (`get`, `list`, `watch`,
//!   `*`) on a namespaced resource: every namespace;
//! - a cluster-wide rule grants a read verb on `namespaces` with `resourceNames`: those;
//! - the rules in the namespace (its RoleBindings naming the user or a group of theirs) are
//!   more than the cluster-wide ones.
//!
//! Each item's `status.scope` says which: `Cluster` (a cluster-wide grant) or `Namespace`
//! (rules held in the namespace). When an authorizer cannot list its rules (a webhook), the
//! answer may miss namespaces it grants, and says so in a `Warning` header.

use crate::context::Ctx;
use crate::negotiate::Output;
use crate::response::{self, Body};
use apimachinery::{Attributes, GroupResource, StatusError};
use authz::self_service::{GROUP, REACHABLE_NAMESPACES, VERSION};
use authz::{ResourceRule, RuleResolver};
use http::Response;
use registry::ResourceType;
use serde_json::{json, Value};
use std::collections::BTreeSet;

const KIND: &str = "ReachableNamespace";
const READ_VERBS: [&str; 4] = ["get", "list", "watch", "*"];
const INCOMPLETE_WARNING: &str =
    "an authorizer cannot list its rules: namespaces it grants access in may be missing";

/// How a namespace is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Cluster,
    Namespace,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Scope::Cluster => "Cluster",
            Scope::Namespace => "Namespace",
        }
    }
}

/// Whether this request is for the resource (any verb; the handler refuses other verbs).
pub fn serves(group: &str, version: &str, resource: &str) -> bool {
    group == GROUP && version == VERSION && resource == REACHABLE_NAMESPACES
}

fn group_resource() -> GroupResource {
    GroupResource::new(GROUP, REACHABLE_NAMESPACES)
}

fn reads(rule: &ResourceRule) -> bool {
    rule.verbs.iter().any(|v| READ_VERBS.contains(&v.as_str()))
}

fn group_matches(rule: &ResourceRule, group: &str) -> bool {
    rule.api_groups.iter().any(|g| g == "*" || g == group)
}

/// Whether a cluster-wide `rule` reads one of the `namespaced` resources (group, plural) in
/// every namespace.
pub fn reads_everywhere(rule: &ResourceRule, namespaced: &[(&str, &str)]) -> bool {
    if !reads(rule) || !rule.resource_names.is_empty() {
        return false;
    }
    rule.resources.iter().any(|r| {
        let base = r.split('/').next().unwrap_or_default();
        namespaced.iter().any(|(g, plural)| group_matches(rule, g) && (base == "*" || base == *plural))
    })
}

/// The namespaces a cluster-wide `rule` names for reading (`get namespaces` with
/// `resourceNames`).
fn named_namespaces(rule: &ResourceRule) -> impl Iterator<Item = &String> {
    let applies = reads(rule)
        && group_matches(rule, "")
        && rule.resources.iter().any(|r| r == "namespaces" || r == "*");
    rule.resource_names.iter().filter(move |_| applies)
}

/// The reached namespaces among `existing`, by the rules above; `in_namespace(ns)` counts
/// the caller's resource rules in `ns` (cluster-wide ones included).
pub fn reached(
    existing: &[String],
    may_list: bool,
    cluster_rules: &[ResourceRule],
    namespaced: &[(&str, &str)],
    mut in_namespace: impl FnMut(&str) -> usize,
) -> Vec<(String, Scope)> {
    let everywhere = may_list || cluster_rules.iter().any(|r| reads_everywhere(r, namespaced));
    let named: BTreeSet<&String> = cluster_rules.iter().flat_map(named_namespaces).collect();
    existing
        .iter()
        .filter_map(|ns| {
            if everywhere || named.contains(ns) {
                Some((ns.clone(), Scope::Cluster))
            } else if in_namespace(ns) > cluster_rules.len() {
                Some((ns.clone(), Scope::Namespace))
            } else {
                None
            }
        })
        .collect()
}

fn item(name: &str, scope: Scope) -> Value {
    json!({"kind": KIND, "apiVersion": format!("{GROUP}/{VERSION}"),
        "metadata": {"name": name}, "status": {"scope": scope.as_str()}})
}

/// `get` and `list` of `reachablenamespaces`.
pub async fn read(ctx: &Ctx) -> Result<Response<Body>, StatusError> {
    let info = &ctx.info;
    if !info.subresource.is_empty() || !info.parts.is_empty() {
        return Err(StatusError::not_found_path());
    }
    if !matches!(info.verb.as_str(), "get" | "list") {
        return Err(StatusError::method_not_allowed());
    }
    if !matches!(ctx.output, Output::Json | Output::Yaml) {
        return Err(StatusError::not_acceptable(
            "only the following media types are accepted: application/json, application/yaml",
        ));
    }
    let state = &ctx.state;
    let user = ctx.user();
    let ns_rt: &ResourceType = state
        .catalog
        .lookup("", "v1", "namespaces")
        .ok_or_else(|| StatusError::internal("the catalog serves no namespaces"))?;
    let list_attrs = Attributes {
        user: user.clone(),
        verb: "list".into(),
        resource_request: true,
        api_version: "v1".into(),
        resource: "namespaces".into(),
        ..Default::default()
    };
    let may_list = state.authorizer.authorize_async(&list_attrs).await.decision.is_allowed();
    let cluster = state.authorizer.rules_for(user, "");
    let (objects, revision) = state.objects.list_all(ns_rt, "").await?;
    let mut existing: Vec<String> = objects
        .iter()
        .filter_map(|o| o.pointer("/metadata/name").and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    if info.verb == "get" {
        existing.retain(|n| *n == info.name);
    }
    let catalog = state.catalog.all();
    let namespaced: Vec<(&str, &str)> =
        catalog.iter().filter(|r| r.namespaced).map(|r| (r.group, r.plural)).collect();
    let found = reached(&existing, may_list, &cluster.resource_rules, &namespaced, |ns| {
        state.authorizer.rules_for(user, ns).resource_rules.len()
    });
    if cluster.incomplete {
        ctx.notes.warn([INCOMPLETE_WARNING.to_string()]);
    }
    if info.verb == "get" {
        let (name, scope) =
            found.first().ok_or_else(|| StatusError::not_found(&group_resource(), &info.name))?;
        return Ok(response::object(200, &item(name, *scope), ctx.output));
    }
    let items: Vec<Value> = found.iter().map(|(n, s)| item(n, *s)).collect();
    let list = json!({"kind": format!("{KIND}List"), "apiVersion": format!("{GROUP}/{VERSION}"),
        "metadata": {"resourceVersion": revision.to_string()}, "items": items});
    Ok(response::object(200, &list, ctx.output))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(verbs: &[&str], groups: &[&str], resources: &[&str], names: &[&str]) -> ResourceRule {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect();
        ResourceRule {
            verbs: s(verbs),
            api_groups: s(groups),
            resources: s(resources),
            resource_names: s(names),
        }
    }

    const NAMESPACED: [(&str, &str); 2] = [("", "pods"), ("apps", "deployments")];

    fn names(v: Vec<(String, Scope)>) -> Vec<String> {
        v.into_iter().map(|(n, _)| n).collect()
    }

    #[test]
    fn only_namespaces_with_rules_of_their_own_are_reached() {
        let existing: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        // system:basic-user's self-reviews are cluster-scoped: they reach nothing.
        let basic = vec![rule(&["create"], &["authorization.k8s.io"], &["selfsubjectrulesreviews"], &[])];
        let got = reached(&existing, false, &basic, &NAMESPACED, |ns| if ns == "b" { 3 } else { 1 });
        assert_eq!(got, vec![("b".to_string(), Scope::Namespace)]);
        assert!(reached(&existing, false, &basic, &NAMESPACED, |_| 1).is_empty());
    }

    #[test]
    fn listing_namespaces_or_reading_a_namespaced_resource_everywhere_reaches_all() {
        let existing: Vec<String> = ["a", "b"].map(String::from).to_vec();
        assert_eq!(names(reached(&existing, true, &[], &NAMESPACED, |_| 0)), ["a", "b"]);
        let pods = vec![rule(&["list"], &[""], &["pods"], &[])];
        assert_eq!(reached(&existing, false, &pods, &NAMESPACED, |_| 1)[0].1, Scope::Cluster);
        let logs = vec![rule(&["get"], &[""], &["pods/log"], &[])];
        assert_eq!(reached(&existing, false, &logs, &NAMESPACED, |_| 1).len(), 2);
        let star = vec![rule(&["*"], &["apps"], &["*"], &[])];
        assert_eq!(reached(&existing, false, &star, &NAMESPACED, |_| 1).len(), 2);
        // Writing only, a cluster-scoped resource, or a group without it: not everywhere.
        for r in [
            rule(&["create"], &[""], &["pods"], &[]),
            rule(&["get"], &[""], &["nodes"], &[]),
            rule(&["get"], &["batch"], &["pods"], &[]),
            rule(&["get"], &[""], &["pods"], &["one"]),
        ] {
            assert!(
                reached(&existing, false, std::slice::from_ref(&r), &NAMESPACED, |_| 1).is_empty(),
                "{r:?}"
            );
        }
    }

    #[test]
    fn a_cluster_rule_naming_namespaces_reaches_those() {
        let existing: Vec<String> = ["a", "b"].map(String::from).to_vec();
        let named = vec![rule(&["get"], &[""], &["namespaces"], &["b", "gone"])];
        assert_eq!(reached(&existing, false, &named, &NAMESPACED, |_| 1), vec![("b".into(), Scope::Cluster)]);
    }
}
