//! `PolicyRule` and kube's rule-matching semantics (`rbac/v1` evaluation helpers).
//!
//! Two forms of the same rule live here: [`PolicyRule`], the API shape (what is stored and
//! returned), and [`CompiledRule`], the form the indexed authorizer evaluates on every
//! request. `CompiledRule` never compares two possibly-empty strings with `==`: on glibc 2.36
//! with AVX-512 that costs ~130 ns (see [`str_eq`]).

use apimachinery::Attributes;
use serde::{Deserialize, Deserializer, Serialize};

/// `rbacv1.VerbAll`, `APIGroupAll`, `ResourceAll`, `NonResourceAll`.
pub const ALL: &str = "*";

/// One rule of a Role or ClusterRole (`rbac.authorization.k8s.io/v1` `PolicyRule`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRule {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub verbs: Vec<String>,
    #[serde(default, deserialize_with = "null_as_empty", skip_serializing_if = "Vec::is_empty")]
    pub api_groups: Vec<String>,
    #[serde(default, deserialize_with = "null_as_empty", skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    #[serde(default, deserialize_with = "null_as_empty", skip_serializing_if = "Vec::is_empty")]
    pub resource_names: Vec<String>,
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty",
        rename = "nonResourceURLs"
    )]
    pub non_resource_urls: Vec<String>,
}

/// A resource rule as SelfSubjectRulesReview returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRule {
    pub verbs: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_names: Vec<String>,
}

/// A non-resource rule as SelfSubjectRulesReview returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NonResourceRule {
    pub verbs: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", rename = "nonResourceURLs")]
    pub non_resource_urls: Vec<String>,
}

fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// String equality that does not go through glibc's `memcmp` for short strings.
///
/// Empty `&str`s share a dangling pointer, and glibc 2.36's AVX-512 `memcmp` takes a slow
/// path on it (~130 ns on the project's machines); its call overhead also dominates the
/// short names RBAC compares (verbs, groups, resources). Strings up to 32 bytes are compared
/// eight bytes at a time in plain code; longer ones use `memcmp`.
#[inline(always)]
pub fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    if a.len() > 32 {
        return a == b;
    }
    let (mut ca, mut cb) = (a.chunks_exact(8), b.chunks_exact(8));
    for (x, y) in (&mut ca).zip(&mut cb) {
        if <[u8; 8]>::try_from(x).ok() != <[u8; 8]>::try_from(y).ok() {
            return false;
        }
    }
    ca.remainder().iter().zip(cb.remainder()).all(|(x, y)| x == y)
}

/// Whether `s` equals `resource + "/" + subresource` (or `resource` when there is no
/// subresource), without building the combined string.
#[inline]
fn equals_combined(s: &str, resource: &str, subresource: &str) -> bool {
    if subresource.is_empty() {
        return str_eq(s, resource);
    }
    let (r, sub) = (resource.len(), subresource.len());
    s.len() == r + 1 + sub
        && s.as_bytes().get(r) == Some(&b'/')
        && str_eq(&s[..r], resource)
        && s.get(r + 1..).is_some_and(|rest| str_eq(rest, subresource))
}

/// One value list of a rule (verbs, apiGroups, resourceNames): `*` or a set of strings.
#[derive(Debug, Clone, Default)]
struct Values {
    all: bool,
    values: Box<[Box<str>]>,
}

impl Values {
    fn new(list: &[String], star_means_all: bool) -> Self {
        Self {
            all: star_means_all && list.iter().any(|v| v == ALL),
            values: list.iter().map(|v| v.as_str().into()).collect(),
        }
    }

    #[inline]
    fn contains(&self, requested: &str) -> bool {
        self.all || self.values.iter().any(|v| str_eq(v, requested))
    }
}

/// A non-resource URL pattern: `*`, an exact path, or a prefix (`/healthz/*`).
#[derive(Debug, Clone)]
enum UrlPattern {
    All,
    Exact(Box<str>),
    Prefix(Box<str>),
}

/// A [`PolicyRule`] prepared for evaluation on the request path.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    verbs: Values,
    api_groups: Values,
    resources_all: bool,
    resources: Box<[Box<str>]>,
    resource_names: Values,
    urls: Box<[UrlPattern]>,
}

impl CompiledRule {
    pub fn new(rule: &PolicyRule) -> Self {
        let urls = rule
            .non_resource_urls
            .iter()
            .map(|u| {
                if u == ALL {
                    UrlPattern::All
                } else if u.ends_with('*') {
                    UrlPattern::Prefix(u.trim_end_matches('*').into())
                } else {
                    UrlPattern::Exact(u.as_str().into())
                }
            })
            .collect();
        Self {
            verbs: Values::new(&rule.verbs, true),
            api_groups: Values::new(&rule.api_groups, true),
            resources_all: rule.resources.iter().any(|r| r == ALL),
            resources: rule.resources.iter().map(|r| r.as_str().into()).collect(),
            resource_names: Values::new(&rule.resource_names, false),
            urls,
        }
    }

    /// kube's `RuleAllows`: does this rule allow the request?
    #[inline]
    pub fn allows(&self, attrs: &Attributes) -> bool {
        if !self.verbs.contains(&attrs.verb) {
            return false;
        }
        if attrs.resource_request {
            self.api_groups.contains(&attrs.api_group)
                && self.resource_matches(&attrs.resource, &attrs.subresource)
                && (self.resource_names.values.is_empty() || self.resource_names.contains(&attrs.name))
        } else {
            self.urls.iter().any(|p| match p {
                UrlPattern::All => true,
                UrlPattern::Exact(u) => str_eq(u, &attrs.path),
                UrlPattern::Prefix(p) => attrs.path.starts_with(&**p),
            })
        }
    }

    /// kube's `ResourceMatches`: `*`, `resource[/subresource]`, or `*/subresource`.
    #[inline]
    fn resource_matches(&self, resource: &str, subresource: &str) -> bool {
        if self.resources_all {
            return true;
        }
        self.resources.iter().any(|r| {
            equals_combined(r, resource, subresource)
                || (!subresource.is_empty()
                    && r.len() == subresource.len() + 2
                    && r.starts_with("*/")
                    && r.ends_with(subresource))
        })
    }
}

impl PolicyRule {
    /// Shorthand for tests and bootstrap code: a resource rule.
    pub fn resource(verbs: &[&str], groups: &[&str], resources: &[&str]) -> Self {
        Self {
            verbs: strings(verbs),
            api_groups: strings(groups),
            resources: strings(resources),
            ..Default::default()
        }
    }

    /// Shorthand: a non-resource rule.
    pub fn non_resource(verbs: &[&str], urls: &[&str]) -> Self {
        Self { verbs: strings(verbs), non_resource_urls: strings(urls), ..Default::default() }
    }

    /// Restricts the rule to the given resource names.
    pub fn with_names(mut self, names: &[&str]) -> Self {
        self.resource_names = strings(names);
        self
    }

    /// kube's `RuleAllows`, written plainly over the API form (the reference model).
    pub fn allows(&self, attrs: &Attributes) -> bool {
        let verb = self.verbs.iter().any(|v| v == ALL || *v == attrs.verb);
        if !verb {
            return false;
        }
        if attrs.resource_request {
            let combined = if attrs.subresource.is_empty() {
                attrs.resource.clone()
            } else {
                format!("{}/{}", attrs.resource, attrs.subresource)
            };
            let group = self.api_groups.iter().any(|g| g == ALL || *g == attrs.api_group);
            let resource = self.resources.iter().any(|r| {
                r == ALL
                    || *r == combined
                    || (!attrs.subresource.is_empty()
                        && r.len() == attrs.subresource.len() + 2
                        && r.starts_with("*/")
                        && r.ends_with(&attrs.subresource))
            });
            let name = self.resource_names.is_empty() || self.resource_names.contains(&attrs.name);
            group && resource && name
        } else {
            self.non_resource_urls.iter().any(|u| {
                u == ALL
                    || *u == attrs.path
                    || (u.ends_with('*') && attrs.path.starts_with(u.trim_end_matches('*')))
            })
        }
    }

    /// The SelfSubjectRulesReview forms of this rule (a rule may carry both).
    pub fn split(&self) -> (Option<ResourceRule>, Option<NonResourceRule>) {
        let resource = (!self.resources.is_empty()).then(|| ResourceRule {
            verbs: self.verbs.clone(),
            api_groups: self.api_groups.clone(),
            resources: self.resources.clone(),
            resource_names: self.resource_names.clone(),
        });
        let non_resource = (!self.non_resource_urls.is_empty()).then(|| NonResourceRule {
            verbs: self.verbs.clone(),
            non_resource_urls: self.non_resource_urls.clone(),
        });
        (resource, non_resource)
    }
}

pub(crate) fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(verb: &str, group: &str, resource: &str, sub: &str, name: &str) -> Attributes {
        Attributes {
            verb: verb.into(),
            resource_request: true,
            api_group: group.into(),
            resource: resource.into(),
            subresource: sub.into(),
            name: name.into(),
            namespace: "ns".into(),
            ..Default::default()
        }
    }

    fn path(verb: &str, p: &str) -> Attributes {
        Attributes { verb: verb.into(), path: p.into(), ..Default::default() }
    }

    fn both(rule: &PolicyRule, attrs: &Attributes) -> bool {
        let plain = rule.allows(attrs);
        assert_eq!(plain, CompiledRule::new(rule).allows(attrs), "{rule:?} {attrs:?}");
        plain
    }

    #[test]
    fn str_eq_matches_eq() {
        let long = "x".repeat(40);
        let long2 = format!("{}y", "x".repeat(39));
        let cases = [
            ("", ""),
            ("", "a"),
            ("a", ""),
            ("ab", "ab"),
            ("ab", "ac"),
            ("system:authenticated", "system:authenticated"),
            ("system:authenticated", "system:authenticatex"),
            ("system:authenticated", "xystem:authenticated"),
            ("12345678", "12345678"),
            ("12345678", "12345679"),
            (long.as_str(), long.as_str()),
            (long.as_str(), long2.as_str()),
        ];
        for (a, b) in cases {
            assert_eq!(str_eq(a, b), a == b, "{a:?} {b:?}");
        }
    }

    #[test]
    fn verbs_groups_resources() {
        let r = PolicyRule::resource(&["get", "list"], &[""], &["pods"]);
        assert!(both(&r, &res("get", "", "pods", "", "")));
        assert!(!both(&r, &res("delete", "", "pods", "", "")));
        assert!(!both(&r, &res("get", "apps", "pods", "", "")));
        assert!(!both(&r, &res("get", "", "pods", "log", "")));
        let star = PolicyRule::resource(&["*"], &["*"], &["*"]);
        assert!(both(&star, &res("escalate", "rbac.authorization.k8s.io", "roles", "", "x")));
        assert!(both(&star, &res("get", "", "pods", "exec", "")));
    }

    #[test]
    fn subresources() {
        let exact = PolicyRule::resource(&["create"], &[""], &["pods/exec"]);
        assert!(both(&exact, &res("create", "", "pods", "exec", "p")));
        assert!(!both(&exact, &res("create", "", "pods", "", "p")));
        assert!(!both(&exact, &res("create", "", "pods", "attach", "p")));
        let any = PolicyRule::resource(&["get"], &[""], &["*/status"]);
        assert!(both(&any, &res("get", "", "pods", "status", "")));
        assert!(both(&any, &res("get", "", "nodes", "status", "")));
        assert!(!both(&any, &res("get", "", "nodes", "", "")));
        assert!(!both(&any, &res("get", "", "nodes", "xstatus", "")));
        // A resource named "a/b" (no subresource) equals the rule string "a/b", as in kube.
        let odd = PolicyRule::resource(&["get"], &[""], &["a/b"]);
        assert!(both(&odd, &res("get", "", "a/b", "", "")));
        assert!(both(&odd, &res("get", "", "a", "b", "")));
    }

    #[test]
    fn resource_names_need_a_named_request() {
        let r = PolicyRule::resource(&["get", "list", "update"], &[""], &["configmaps"]).with_names(&["cfg"]);
        assert!(both(&r, &res("get", "", "configmaps", "", "cfg")));
        assert!(!both(&r, &res("get", "", "configmaps", "", "other")));
        assert!(!both(&r, &res("list", "", "configmaps", "", "")));
    }

    #[test]
    fn non_resource_urls() {
        let r = PolicyRule::non_resource(&["get"], &["/healthz", "/apis/*", "/version"]);
        assert!(both(&r, &path("get", "/healthz")));
        assert!(!both(&r, &path("get", "/healthz/ping")));
        assert!(both(&r, &path("get", "/apis/")));
        assert!(both(&r, &path("get", "/apis/apps/v1")));
        assert!(!both(&r, &path("get", "/apis")));
        assert!(!both(&r, &path("post", "/version")));
        let all = PolicyRule::non_resource(&["*"], &["*"]);
        assert!(both(&all, &path("delete", "/anything")));
        let stars = PolicyRule::non_resource(&["get"], &["**"]);
        assert!(both(&stars, &path("get", "/x")));
        // A resource rule never grants a path, and a path rule never grants a resource.
        assert!(!both(&PolicyRule::resource(&["*"], &["*"], &["*"]), &path("get", "/healthz")));
        assert!(!both(&all, &res("get", "", "pods", "", "")));
    }

    #[test]
    fn parses_null_lists() {
        let r: PolicyRule =
            serde_json::from_value(serde_json::json!({"verbs": ["get"], "apiGroups": null})).unwrap();
        assert_eq!(r, PolicyRule { verbs: vec!["get".into()], ..Default::default() });
        let json = serde_json::to_value(PolicyRule::non_resource(&["get"], &["/x"])).unwrap();
        assert_eq!(json, serde_json::json!({"verbs": ["get"], "nonResourceURLs": ["/x"]}));
    }
}
