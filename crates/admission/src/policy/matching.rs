//! Which requests a policy's `matchConstraints` or a binding's `matchResources` cover
//! (k8s.io/apiserver `admission/plugin/policy/matching` over the webhook predicates):
//! the namespace selector, the object selector, the exclude rules, then the resource
//! rules with their resource names, and with `matchPolicy: Equivalent` the same objects
//! served under another resource or version (answered at that resource and kind).

use super::spec::{MatchResources, NamedRule};
use crate::types::{at, AdmissionContext, AdmissionRequest, KindResource};
use apimachinery::selectors::LabelSelector;
use apimachinery::{GroupResource, StatusError};
use serde_json::Value;

/// The resource a request was matched as: its own, or an equivalent one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matched {
    /// The request's own resource and kind.
    Own,
    /// Another resource serving the same objects (`matchPolicy: Equivalent`), answered
    /// at its kind.
    Equivalent(Box<Equivalent>),
}

/// The resource and kind of [`Matched::Equivalent`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Equivalent {
    pub group: String,
    pub version: String,
    pub resource: String,
    pub kind: String,
}

impl Matched {
    fn equivalent(k: &KindResource) -> Self {
        Self::Equivalent(Box::new(Equivalent {
            group: k.group.clone(),
            version: k.version.clone(),
            resource: k.resource.clone(),
            kind: k.kind.clone(),
        }))
    }

    /// Whether this is the request's own resource and kind.
    pub fn is_own(&self) -> bool {
        matches!(self, Self::Own)
    }

    /// Group, version, resource and kind of what `req` was matched as.
    pub fn gvrk<'a>(&'a self, req: &'a AdmissionRequest) -> (&'a str, &'a str, &'a str, &'a str) {
        match self {
            Self::Own => (&req.group, &req.version, &req.resource, &req.kind),
            Self::Equivalent(e) => (&e.group, &e.version, &e.resource, &e.kind),
        }
    }

    /// What `req` was matched as, as a served resource (its objects converted to it).
    pub fn kind_resource(&self, req: &AdmissionRequest) -> KindResource {
        let (group, version, resource, kind) = self.gvrk(req);
        KindResource {
            group: group.to_string(),
            version: version.to_string(),
            resource: resource.to_string(),
            kind: kind.to_string(),
            namespaced: !req.namespace.is_empty(),
        }
    }
}

/// Whether the request is about a Namespace object itself.
fn is_namespace(req: &AdmissionRequest) -> bool {
    req.group.is_empty() && req.resource == "namespaces"
}

/// The namespace labels of a request, read at most once per request.
#[derive(Default)]
pub struct NamespaceLabels {
    labels: Option<Option<Value>>,
}

impl NamespaceLabels {
    /// kube's `GetNamespaceLabels`: a Namespace being created or updated has its own
    /// labels; otherwise the stored Namespace's (404 when there is none).
    async fn get(
        &mut self,
        req: &AdmissionRequest,
        ctx: &dyn AdmissionContext,
    ) -> Result<Option<&Value>, StatusError> {
        if self.labels.is_none() {
            let own = is_namespace(req)
                && req.subresource.is_empty()
                && matches!(req.operation, crate::Operation::Create | crate::Operation::Update);
            let labels = if own {
                req.object.as_ref().and_then(|o| at(o, &["metadata", "labels"])).cloned()
            } else {
                let name = if is_namespace(req) { &req.name } else { &req.namespace };
                match ctx.get("", "namespaces", "", name).await? {
                    Some(ns) => at(&ns, &["metadata", "labels"]).cloned(),
                    None => return Err(StatusError::not_found(&GroupResource::new("", "namespaces"), name)),
                }
            };
            self.labels = Some(labels);
        }
        Ok(self.labels.as_ref().and_then(Option::as_ref))
    }
}

fn has(list: &[String], want: &str) -> bool {
    list.iter().any(|s| s == "*" || s == want)
}

/// kube's rule matcher (`predicates/rules`) against a group, version and resource.
fn rule_matches(
    rule: &NamedRule,
    req: &AdmissionRequest,
    (group, version, resource): (&str, &str, &str),
) -> bool {
    let scope = match rule.scope.as_str() {
        "" | "*" => true,
        "Namespaced" => !is_namespace(req) && !req.namespace.is_empty(),
        "Cluster" => is_namespace(req) || req.namespace.is_empty(),
        _ => false,
    };
    let resource_matches = rule.resources.iter().any(|r| {
        let (res, sub) = r.split_once('/').unwrap_or((r, ""));
        (res == "*" || res == resource) && (sub == "*" || sub == req.subresource)
    });
    scope
        && has(&rule.operations, req.operation.as_str())
        && has(&rule.api_groups, group)
        && has(&rule.api_versions, version)
        && resource_matches
}

fn named(rule: &NamedRule, req: &AdmissionRequest) -> bool {
    rule.resource_names.is_empty() || rule.resource_names.contains(&req.name)
}

/// kube's `matchesResourceRules`: the resource the request matched as, if any.
fn matches_rules(
    rules: &[NamedRule],
    equivalent: bool,
    req: &AdmissionRequest,
    ctx: &dyn AdmissionContext,
) -> Option<Matched> {
    if rules.is_empty() {
        return None;
    }
    let own = (req.group.as_str(), req.version.as_str(), req.resource.as_str());
    if rules.iter().any(|r| rule_matches(r, req, own) && named(r, req)) {
        return Some(Matched::Own);
    }
    if !equivalent {
        return None;
    }
    let others = ctx.equivalent_resources(&req.group, &req.resource);
    for rule in rules {
        for other in &others {
            if other.group == req.group && other.version == req.version && other.resource == req.resource {
                continue;
            }
            let target = (other.group.as_str(), other.version.as_str(), other.resource.as_str());
            if rule_matches(rule, req, target) && named(rule, req) {
                return Some(Matched::equivalent(other));
            }
        }
    }
    None
}

/// Whether `mr` covers the request: the resource it matched as, `None` when it does not
/// apply. Errors are kube's: a selector that does not parse (500), a missing namespace
/// (404).
pub async fn matches(
    mr: &MatchResources,
    req: &AdmissionRequest,
    labels: &mut NamespaceLabels,
    ctx: &dyn AdmissionContext,
) -> Result<Option<Matched>, StatusError> {
    let ns_selector = mr.namespace_selector.as_ref().map_err(|e| StatusError::internal(e))?;
    let cluster_scoped_other = req.namespace.is_empty() && !is_namespace(req);
    if !cluster_scoped_other && !ns_selector.is_empty() {
        let l = labels.get(req, ctx).await?;
        if !ns_selector.matches_json(l) {
            return Ok(None);
        }
    }
    let obj_selector: &LabelSelector = mr.object_selector.as_ref().map_err(|e| StatusError::internal(e))?;
    if !crate::webhook::matching::object_selected(obj_selector, req) {
        return Ok(None);
    }
    if matches_rules(&mr.exclude_resource_rules, mr.equivalent, req, ctx).is_some() {
        return Ok(None);
    }
    if mr.resource_rules.is_empty() {
        return Ok(Some(Matched::Own));
    }
    Ok(matches_rules(&mr.resource_rules, mr.equivalent, req, ctx))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryContext;
    use crate::Operation;
    use apimachinery::UserInfo;
    use serde_json::json;

    fn req(op: Operation, group: &str, resource: &str, ns: &str, name: &str) -> AdmissionRequest {
        AdmissionRequest::new(op, (group, "v1", "Kind"), resource, ns, name, UserInfo::default())
            .with_object(json!({"metadata": {"name": name, "labels": {"team": "a"}}}))
    }

    fn mr(v: Value) -> MatchResources {
        MatchResources::parse(&v)
    }

    #[tokio::test]
    async fn rules_names_excludes_and_selectors() {
        let ctx = MemoryContext::new();
        ctx.put_namespace("dev", json!({"env": "dev"}), "Active");
        let rules = json!({"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"], "resourceNames": ["a", "b"]}],
            "excludeResourceRules": [{"apiGroups": [""], "apiVersions": ["*"], "operations": ["*"], "resources": ["pods"], "resourceNames": ["b"]}],
            "namespaceSelector": {"matchLabels": {"env": "dev"}}, "objectSelector": {"matchLabels": {"team": "a"}}});
        let m = mr(rules);
        let mut l = NamespaceLabels::default();
        let hit = matches(&m, &req(Operation::Create, "", "pods", "dev", "a"), &mut l, &ctx).await.unwrap();
        assert_eq!(hit, Some(Matched::Own));
        let mut l = NamespaceLabels::default();
        assert!(matches(&m, &req(Operation::Create, "", "pods", "dev", "b"), &mut l, &ctx)
            .await
            .unwrap()
            .is_none());
        let mut l = NamespaceLabels::default();
        assert!(matches(&m, &req(Operation::Create, "", "pods", "dev", "c"), &mut l, &ctx)
            .await
            .unwrap()
            .is_none());
        let mut l = NamespaceLabels::default();
        assert!(matches(&m, &req(Operation::Update, "", "pods", "dev", "a"), &mut l, &ctx)
            .await
            .unwrap()
            .is_none());
        // A missing namespace is kube's 404.
        let mut l = NamespaceLabels::default();
        let e =
            matches(&m, &req(Operation::Create, "", "pods", "gone", "a"), &mut l, &ctx).await.unwrap_err();
        assert_eq!((e.code, e.message.as_str()), (404, "namespaces \"gone\" not found"));
        // Cluster-scoped resources pass any namespace selector.
        let cluster = mr(json!({"namespaceSelector": {"matchLabels": {"env": "x"}}}));
        let mut l = NamespaceLabels::default();
        assert!(matches(&cluster, &req(Operation::Create, "", "nodes", "", "n"), &mut l, &ctx)
            .await
            .unwrap()
            .is_some());
    }
}
