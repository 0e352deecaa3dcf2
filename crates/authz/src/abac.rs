//! The ABAC authorizer (`--authorization-mode=ABAC`, `--authorization-policy-file`), as kube's
//! `pkg/auth/authorizer/abac`.
//!
//! The policy file holds one JSON object per line: `abac.authorization.kubernetes.io/v1beta1`
//! `Policy` objects (`{"apiVersion":..., "kind":"Policy", "spec":{...}}`), or the legacy
//! unversioned form (the spec fields at the top level, read with v0's defaults). Blank lines
//! and lines starting with `#` are skipped. A request is allowed when any policy matches;
//! otherwise the answer is `NoOpinion` with kube's reason `No policy matched.` ABAC never denies.
//!
//! Matching is kube's: the subject matches when the policy's user (if set) is the request's
//! user and its group (if set) is one of the request's groups, and at least one is set; `*`
//! (in either) is read as the group `system:authenticated`. Read-only requests (get, list,
//! watch) pass the verb check of every policy; others need `readonly: false`. Namespace,
//! resource and apiGroup match exactly or by `*`; `nonResourcePath` matches exactly, by `*`,
//! or as a prefix when it ends in `*`. Policies are filed by user and group, so a decision
//! only looks at the policies naming the requester.

use std::collections::HashMap;
use std::path::Path;

use apimachinery::user::ALL_AUTHENTICATED;
use apimachinery::{Attributes, Decision, UserInfo};
use serde::Deserialize;
use serde_json::Value;

use crate::policy::{NonResourceRule, ResourceRule, ALL};
use crate::{Authorizer, RuleResolver, SubjectRules};

/// The versioned policy's group/version.
pub const API_VERSION_V1BETA1: &str = "abac.authorization.kubernetes.io/v1beta1";
/// The v0 group/version (also what unversioned lines are read as).
pub const API_VERSION_V0: &str = "abac.authorization.kubernetes.io/v0";
/// kube's reason when no policy matched.
pub const NO_POLICY_MATCHED: &str = "No policy matched.";

/// Why a policy file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum AbacError {
    /// The file could not be opened or read.
    #[error("open {path}: {source}")]
    Open { path: String, source: std::io::Error },
    /// One line is not a policy; kube's `policyLoadError` text with the 1-based line number.
    #[error("error reading policy file {path}, line {line}: {data}: {message}")]
    Line { path: String, line: usize, data: String, message: String },
}

/// One policy in kube's internal form (after version conversion).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PolicySpec {
    pub user: String,
    pub group: String,
    pub readonly: bool,
    pub api_group: String,
    pub resource: String,
    pub namespace: String,
    pub non_resource_path: String,
}

/// The legacy (v0) fields.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct V0Policy {
    user: String,
    group: String,
    readonly: bool,
    resource: String,
    namespace: String,
}

impl PolicySpec {
    /// kube's v1beta1 conversion: a `*` user or group means every authenticated subject.
    fn from_v1beta1(mut spec: PolicySpec) -> Self {
        if spec.user == ALL || spec.group == ALL {
            spec.group = ALL_AUTHENTICATED.into();
            spec.user.clear();
        }
        spec
    }

    /// kube's v0 conversion: empty subject or `*` means authenticated subjects, empty
    /// namespace or resource means all, every API group, and an empty namespace and resource
    /// also allow every non-resource path.
    fn from_v0(p: V0Policy) -> Self {
        let mut spec = PolicySpec {
            user: p.user.clone(),
            group: p.group.clone(),
            readonly: p.readonly,
            api_group: ALL.into(),
            resource: if p.resource.is_empty() { ALL.into() } else { p.resource.clone() },
            namespace: if p.namespace.is_empty() { ALL.into() } else { p.namespace.clone() },
            non_resource_path: String::new(),
        };
        if (p.user.is_empty() && p.group.is_empty()) || p.user == ALL || p.group == ALL {
            spec.group = ALL_AUTHENTICATED.into();
            spec.user.clear();
        }
        if p.namespace.is_empty() && p.resource.is_empty() {
            spec.non_resource_path = ALL.into();
        }
        spec
    }

    /// kube's `subjectMatches`.
    pub fn subject_matches(&self, user: &UserInfo) -> bool {
        let mut matched = false;
        if !self.user.is_empty() {
            if self.user != ALL && self.user != user.name {
                return false;
            }
            matched = true;
        }
        if !self.group.is_empty() {
            if self.group == ALL {
                matched = true;
            } else {
                matched = user.groups.contains(&self.group);
                if !matched {
                    return false;
                }
            }
        }
        matched
    }

    /// kube's `matches`: subject, verb, then the resource or non-resource part.
    pub fn matches(&self, attrs: &Attributes) -> bool {
        if !self.subject_matches(&attrs.user) {
            return false;
        }
        if !is_read_only(&attrs.verb) && self.readonly {
            return false;
        }
        if attrs.resource_request {
            wild_eq(&self.namespace, &attrs.namespace)
                && wild_eq(&self.resource, &attrs.resource)
                && wild_eq(&self.api_group, &attrs.api_group)
        } else {
            let p = &self.non_resource_path;
            p == ALL
                || *p == attrs.path
                || (p.ends_with('*') && attrs.path.starts_with(p.trim_end_matches('*')))
        }
    }

    fn verbs(&self) -> Vec<String> {
        if self.readonly {
            vec!["get".into(), "list".into(), "watch".into()]
        } else {
            vec![ALL.into()]
        }
    }
}

fn wild_eq(pattern: &str, value: &str) -> bool {
    pattern == ALL || pattern == value
}

/// kube's `IsReadOnly`: get, list and watch.
fn is_read_only(verb: &str) -> bool {
    matches!(verb, "get" | "list" | "watch")
}

/// Reads one non-blank, non-comment line as a policy (kube's decode, then the v0 fallback for
/// lines without a registered apiVersion/kind). The flag tells whether the line was versioned.
fn parse_line(line: &str) -> Result<(PolicySpec, bool), String> {
    let value: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let Value::Object(obj) = &value else {
        return Err("a policy must be a JSON object".into());
    };
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    match (api_version, kind) {
        (API_VERSION_V1BETA1, "Policy") => {
            let spec = obj.get("spec").cloned().unwrap_or(Value::Null);
            let spec = if spec.is_null() {
                PolicySpec::default()
            } else {
                serde_json::from_value(spec).map_err(|e| e.to_string())?
            };
            Ok((PolicySpec::from_v1beta1(spec), true))
        }
        (API_VERSION_V0, "Policy") => v0(value, true),
        _ => v0(value, false),
    }
}

fn v0(value: Value, versioned: bool) -> Result<(PolicySpec, bool), String> {
    let policy: V0Policy = serde_json::from_value(value).map_err(|e| e.to_string())?;
    Ok((PolicySpec::from_v0(policy), versioned))
}

/// kube's ABAC `PolicyList`, filed by subject; see the module docs.
#[derive(Debug, Clone, Default)]
pub struct AbacAuthorizer {
    policies: Vec<PolicySpec>,
    by_user: HashMap<String, Vec<usize>>,
    by_group: HashMap<String, Vec<usize>>,
    /// Policies that name `*` (kept for completeness; conversion removes them).
    wildcard: Vec<usize>,
}

impl AbacAuthorizer {
    /// Builds the authorizer from policies in file order.
    pub fn new(policies: Vec<PolicySpec>) -> Self {
        let mut authz = Self { policies, ..Default::default() };
        for (i, p) in authz.policies.iter().enumerate() {
            if p.user == ALL || p.group == ALL {
                authz.wildcard.push(i);
            } else if !p.user.is_empty() {
                authz.by_user.entry(p.user.clone()).or_default().push(i);
            } else if !p.group.is_empty() {
                authz.by_group.entry(p.group.clone()).or_default().push(i);
            }
            // A policy naming neither user nor group matches no one.
        }
        authz
    }

    /// Loads `--authorization-policy-file`.
    pub fn from_file(path: &Path) -> Result<Self, AbacError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|source| AbacError::Open { path: shown.clone(), source })?;
        Self::parse(&text, &shown)
    }

    /// Parses policy-file text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &str) -> Result<Self, AbacError> {
        let mut policies = Vec::new();
        let mut unversioned = 0usize;
        for (i, line) in text.lines().enumerate() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let (spec, versioned) = parse_line(line).map_err(|message| AbacError::Line {
                path: path.to_string(),
                line: i + 1,
                data: line.to_string(),
                message,
            })?;
            unversioned += usize::from(!versioned);
            policies.push(spec);
        }
        if unversioned > 0 {
            tracing::warn!(path, unversioned, "policy file contains unversioned (v0) ABAC rules");
        }
        Ok(Self::new(policies))
    }

    /// The policies, converted, in file order.
    pub fn policies(&self) -> &[PolicySpec] {
        &self.policies
    }

    fn candidates<'a>(&'a self, user: &'a UserInfo) -> impl Iterator<Item = &'a PolicySpec> + 'a {
        let by_user = self.by_user.get(&user.name).into_iter().flatten();
        let by_group = user.groups.iter().filter_map(|g| self.by_group.get(g)).flatten();
        by_user.chain(by_group).chain(self.wildcard.iter()).filter_map(|&i| self.policies.get(i))
    }
}

impl Authorizer for AbacAuthorizer {
    fn authorize(&self, attrs: &Attributes) -> Decision {
        if self.candidates(&attrs.user).any(|p| p.matches(attrs)) {
            Decision::Allow(String::new())
        } else {
            Decision::NoOpinion(NO_POLICY_MATCHED.into())
        }
    }
}

impl RuleResolver for AbacAuthorizer {
    /// kube's `PolicyList.RulesFor`: the rules of every policy whose subject matches and whose
    /// namespace is `*` or `namespace`, in file order; never incomplete.
    fn rules_for(&self, user: &UserInfo, namespace: &str) -> SubjectRules {
        let mut out = SubjectRules::default();
        for p in &self.policies {
            if !p.subject_matches(user) || !wild_eq(&p.namespace, namespace) {
                continue;
            }
            if !p.resource.is_empty() {
                out.resource_rules.push(ResourceRule {
                    verbs: p.verbs(),
                    api_groups: vec![p.api_group.clone()],
                    resources: vec![p.resource.clone()],
                    resource_names: Vec::new(),
                });
            }
            if !p.non_resource_path.is_empty() {
                out.non_resource_rules.push(NonResourceRule {
                    verbs: p.verbs(),
                    non_resource_urls: vec![p.non_resource_path.clone()],
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
