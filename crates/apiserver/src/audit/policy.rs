//! The audit policy (`--audit-policy-file`): kube's `audit.k8s.io/v1` Policy read, checked
//! and compiled once at start, then evaluated per request as kube's policy rule evaluator
//! does (`k8s.io/apiserver/pkg/audit/policy/checker.go`): the first matching rule gives the
//! level, the stages to omit (the policy's `omitStages` joined to the rule's) and whether
//! `managedFields` are left out; no matching rule means level None.
//!
//! Reading follows kube's `LoadPolicyFromBytes` and `ValidatePolicy`: apiVersion
//! `audit.k8s.io/v1` and kind `Policy`, valid levels and stages, group names that are DNS
//! subdomains, `resourceNames` only with `resources`, non-resource URLs that begin with `/`
//! and have `*` only at the end, never both resources and non-resource URLs in one rule, and
//! at least one rule. Every problem names its line. Unknown fields are ignored, as kube's
//! decoder ignores them, with a warning.
//!
//! kubeward adds one safety rule kube lacks: a Secret's body is written only when the rule
//! that matched names `secrets` of the core group explicitly
//! ([`RequestAuditConfig::secret_bodies`]); a wildcard rule at level Request does not reveal
//! Secrets.

use apimachinery::field;
use apimachinery::quote::go_quote;
use apimachinery::yaml::Spanned;
use apimachinery::{RequestInfo, UserInfo};
use serde::Deserialize;
use std::path::Path;

/// How much of a request is recorded (kube's `audit.Level`), in increasing order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    None,
    Metadata,
    Request,
    RequestResponse,
}

impl Level {
    pub const ALL: [&'static str; 4] = ["None", "Metadata", "Request", "RequestResponse"];

    pub fn as_str(self) -> &'static str {
        Self::ALL[self as usize]
    }

    fn parse(s: &str) -> Option<Level> {
        [Level::None, Level::Metadata, Level::Request, Level::RequestResponse]
            .into_iter()
            .find(|l| l.as_str() == s)
    }
}

/// The stages at which kube emits an event for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    RequestReceived,
    ResponseStarted,
    ResponseComplete,
    Panic,
}

impl Stage {
    pub const ALL: [&'static str; 4] = ["RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"];

    pub fn as_str(self) -> &'static str {
        Self::ALL[self as usize]
    }

    fn parse(s: &str) -> Option<Stage> {
        [Stage::RequestReceived, Stage::ResponseStarted, Stage::ResponseComplete, Stage::Panic]
            .into_iter()
            .find(|st| st.as_str() == s)
    }
}

/// A set of stages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stages(u8);

impl Stages {
    pub fn contains(self, s: Stage) -> bool {
        self.0 & (1 << s as u8) != 0
    }

    pub fn with(self, s: Stage) -> Stages {
        Stages(self.0 | (1 << s as u8))
    }

    fn union(self, other: Stages) -> Stages {
        Stages(self.0 | other.0)
    }
}

/// What the policy says about one request (kube's `RequestAuditConfig`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestAuditConfig {
    pub level: Level,
    pub omit_stages: Stages,
    pub omit_managed_fields: bool,
    /// The matching rule names `secrets` of the core group, so a Secret's body may be
    /// written at level Request or above (kubeward's rule; see the module docs).
    pub secret_bodies: bool,
}

impl RequestAuditConfig {
    /// Nothing recorded.
    pub const NONE: RequestAuditConfig = RequestAuditConfig {
        level: Level::None,
        omit_stages: Stages(0),
        omit_managed_fields: false,
        secret_bodies: false,
    };
}

/// A compiled policy; see the module docs.
#[derive(Debug, Clone)]
pub struct Policy {
    rules: Vec<Rule>,
    /// When no rule matches: level None with the policy's own omissions.
    fallback: RequestAuditConfig,
}

#[derive(Debug, Clone)]
struct Rule {
    config: RequestAuditConfig,
    users: Vec<String>,
    user_groups: Vec<String>,
    verbs: Vec<String>,
    namespaces: Vec<String>,
    resources: Vec<GroupResources>,
    non_resource_urls: Vec<UrlSpec>,
}

#[derive(Debug, Clone)]
struct GroupResources {
    group: String,
    resources: Vec<ResourcePattern>,
    resource_names: Vec<String>,
}

/// kube's resource patterns, parsed once: `*`, `resource`, `resource/subresource`,
/// `*/subresource`, `resource/*` (which also matches the resource itself).
#[derive(Debug, Clone)]
enum ResourcePattern {
    Any,
    Resource(String),
    ResourceSub(String, String),
    AnySub(String),
    ResourceAnySub(String),
}

impl ResourcePattern {
    fn parse(p: &str) -> ResourcePattern {
        if p == "*" {
            ResourcePattern::Any
        } else if let Some(sub) = p.strip_prefix("*/") {
            ResourcePattern::AnySub(sub.to_string())
        } else if let Some(r) = p.strip_suffix("/*") {
            ResourcePattern::ResourceAnySub(r.to_string())
        } else if let Some((r, sub)) = p.split_once('/') {
            ResourcePattern::ResourceSub(r.to_string(), sub.to_string())
        } else {
            ResourcePattern::Resource(p.to_string())
        }
    }

    fn matches(&self, resource: &str, sub: &str) -> bool {
        match self {
            ResourcePattern::Any => true,
            ResourcePattern::Resource(r) => sub.is_empty() && r == resource,
            ResourcePattern::ResourceSub(r, s) => r == resource && s == sub,
            ResourcePattern::AnySub(s) => !sub.is_empty() && s == sub,
            ResourcePattern::ResourceAnySub(r) => r == resource,
        }
    }
}

#[derive(Debug, Clone)]
enum UrlSpec {
    Any,
    Exact(String),
    Prefix(String),
}

impl Policy {
    /// kubeward's policy when no file is given: Metadata for every request (so never a body).
    pub fn default_metadata() -> Policy {
        let config = RequestAuditConfig { level: Level::Metadata, ..RequestAuditConfig::NONE };
        Policy {
            rules: vec![Rule {
                config,
                users: vec![],
                user_groups: vec![],
                verbs: vec![],
                namespaces: vec![],
                resources: vec![],
                non_resource_urls: vec![],
            }],
            fallback: RequestAuditConfig::NONE,
        }
    }

    /// Reads and compiles a policy file; warnings name ignored fields.
    pub fn load(path: &Path) -> Result<(Policy, Vec<String>), PolicyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| PolicyError::Read { path: path.display().to_string(), source })?;
        Policy::parse(&text)
            .map_err(|problems| PolicyError::Invalid { path: path.display().to_string(), problems })
    }

    /// Reads and compiles a policy's text (YAML or JSON).
    pub fn parse(text: &str) -> Result<(Policy, Vec<String>), Vec<Problem>> {
        let raw: RawPolicy = apimachinery::yaml::from_str(text)
            .map_err(|e| vec![Problem { line: yaml_error_line(&e.to_string()), message: e.to_string() }])?;
        let warnings = match apimachinery::yaml::from_str::<serde_json::Value>(text) {
            Ok(v) => unknown_fields(&v),
            Err(_) => vec![],
        };
        compile(raw).map(|p| (p, warnings))
    }

    /// The first matching rule's settings (kube's `EvaluatePolicyRule`). `user` is `None`
    /// for a request that did not authenticate.
    pub fn evaluate(&self, user: Option<&UserInfo>, info: &RequestInfo) -> RequestAuditConfig {
        self.rules.iter().find(|r| r.matches(user, info)).map(|r| r.config).unwrap_or(self.fallback)
    }
}

impl Rule {
    fn matches(&self, user: Option<&UserInfo>, info: &RequestInfo) -> bool {
        // Every condition must hold; the cheapest are looked at first.
        let about_resources = !self.namespaces.is_empty() || !self.resources.is_empty();
        if about_resources && !info.is_resource_request {
            return false;
        }
        if !about_resources && !self.non_resource_urls.is_empty() && info.is_resource_request {
            return false;
        }
        if !self.verbs.is_empty() && !has(&self.verbs, &info.verb) {
            return false;
        }
        if !self.users.is_empty() && !user.is_some_and(|u| has(&self.users, &u.name)) {
            return false;
        }
        if !self.user_groups.is_empty()
            && !user.is_some_and(|u| u.groups.iter().any(|g| has(&self.user_groups, g)))
        {
            return false;
        }
        if about_resources {
            return self.matches_resource(info);
        }
        if !self.non_resource_urls.is_empty() {
            return !info.is_resource_request && self.non_resource_urls.iter().any(|u| u.matches(&info.path));
        }
        true
    }

    fn matches_resource(&self, info: &RequestInfo) -> bool {
        if !info.is_resource_request {
            return false;
        }
        if !self.namespaces.is_empty() && !has(&self.namespaces, &info.namespace) {
            return false;
        }
        if self.resources.is_empty() {
            return true;
        }
        let (resource, sub) = (info.resource.as_str(), info.subresource.as_str());
        self.resources.iter().filter(|gr| gr.group == info.api_group).any(|gr| {
            if gr.resources.is_empty() {
                return true;
            }
            if !gr.resource_names.is_empty() && !has(&gr.resource_names, &info.name) {
                return false;
            }
            gr.resources.iter().any(|r| r.matches(resource, sub))
        })
    }
}

impl UrlSpec {
    fn parse(s: &str) -> UrlSpec {
        match s {
            "*" => UrlSpec::Any,
            s if s.ends_with('*') => UrlSpec::Prefix(s.trim_end_matches('*').to_string()),
            s => UrlSpec::Exact(s.to_string()),
        }
    }

    fn matches(&self, path: &str) -> bool {
        match self {
            UrlSpec::Any => true,
            UrlSpec::Exact(s) => s == path,
            UrlSpec::Prefix(p) => path.starts_with(p.as_str()),
        }
    }
}

fn has(list: &[String], s: &str) -> bool {
    list.iter().any(|x| x == s)
}

/// Why a policy file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read.
    #[error("reading the audit policy {path}: {source}")]
    Read { path: String, source: std::io::Error },
    /// The file is not a valid policy; each problem names its line.
    #[error("invalid audit policy {path}:{}", problems.iter().map(|p| format!("\n  {p}")).collect::<String>())]
    Invalid { path: String, problems: Vec<Problem> },
}

/// One thing wrong with a policy, at a line (0 when unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: u32,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            0 => f.write_str(&self.message),
            n => write!(f, "line {n}: {}", self.message),
        }
    }
}

/// The line a YAML parser error names (`... line N ...`), else 0.
fn yaml_error_line(message: &str) -> u32 {
    let mut words = message.split(|c: char| !c.is_ascii_alphanumeric());
    while let Some(w) = words.next() {
        if w == "line" {
            if let Some(n) = words.find(|w| !w.is_empty()).and_then(|n| n.parse().ok()) {
                return n;
            }
        }
    }
    0
}

// ------------------------------------------------------------------ reading

/// A list that may be written as `null` or left out.
type List<T> = Option<Vec<T>>;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPolicy {
    api_version: Option<Spanned<String>>,
    kind: Option<Spanned<String>>,
    rules: List<Spanned<RawRule>>,
    omit_stages: List<Spanned<String>>,
    omit_managed_fields: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRule {
    level: Option<Spanned<String>>,
    users: List<String>,
    user_groups: List<String>,
    verbs: List<String>,
    resources: List<Spanned<RawGroupResources>>,
    namespaces: List<String>,
    #[serde(rename = "nonResourceURLs")]
    non_resource_urls: List<Spanned<String>>,
    omit_stages: List<Spanned<String>>,
    omit_managed_fields: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawGroupResources {
    group: Option<String>,
    resources: List<String>,
    resource_names: List<String>,
}

fn line_of<T>(s: &Spanned<T>) -> u32 {
    u32::try_from(s.referenced.line()).unwrap_or(u32::MAX)
}

/// Checks the policy as kube's `LoadPolicyFromBytes` and `ValidatePolicy` do, and compiles it.
fn compile(raw: RawPolicy) -> Result<Policy, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut problem = |line: u32, cause: apimachinery::status::StatusCause| {
        let message = if cause.field.is_empty() {
            cause.message
        } else {
            format!("{}: {}", cause.field, cause.message)
        };
        problems.push(Problem { line, message });
    };
    match &raw.kind {
        Some(k) if k.value == "Policy" => {}
        Some(k) => problem(line_of(k), field::not_supported("kind", &k.value, &["Policy"])),
        None => problem(1, field::required("kind")),
    }
    match &raw.api_version {
        Some(v) if v.value == "audit.k8s.io/v1" => {}
        Some(v) => problem(line_of(v), field::not_supported("apiVersion", &v.value, &["audit.k8s.io/v1"])),
        None => problem(1, field::required("apiVersion")),
    }
    let policy_omit = stages(raw.omit_stages.as_deref().unwrap_or_default(), "omitStages", &mut problem);
    let policy_omit_managed = raw.omit_managed_fields.unwrap_or(false);
    let raw_rules = raw.rules.unwrap_or_default();
    let mut rules = Vec::with_capacity(raw_rules.len());
    for (i, spanned) in raw_rules.iter().enumerate() {
        let path = format!("rules[{i}]");
        let rule = &spanned.value;
        let level = match &rule.level {
            Some(l) => match Level::parse(&l.value) {
                Some(level) => level,
                None if l.value.is_empty() => {
                    problem(line_of(l), field::required(&format!("{path}.level")));
                    Level::None
                }
                None => {
                    problem(
                        line_of(l),
                        field::not_supported(&format!("{path}.level"), &l.value, &Level::ALL),
                    );
                    Level::None
                }
            },
            None => {
                problem(line_of(spanned), field::required(&format!("{path}.level")));
                Level::None
            }
        };
        let urls = rule.non_resource_urls.as_deref().unwrap_or_default();
        for (j, u) in urls.iter().enumerate() {
            let f = format!("{path}.nonResourceURLs[{j}]");
            if u.value == "*" {
                continue;
            }
            if !u.value.starts_with('/') {
                problem(
                    line_of(u),
                    field::invalid(&f, &u.value, "non-resource URL rules must begin with a '/' character"),
                );
            }
            if u.value.len() > 1 && u.value[..u.value.len() - 1].contains('*') {
                problem(
                    line_of(u),
                    field::invalid(
                        &f,
                        &u.value,
                        "non-resource URL wildcards '*' must be the final character of the rule",
                    ),
                );
            }
        }
        let resources = rule.resources.as_deref().unwrap_or_default();
        for gr in resources {
            let g = gr.value.group.as_deref().unwrap_or_default();
            if !g.is_empty() {
                let errs = apimachinery::selectors::validation::dns1123_subdomain_errors(g);
                if !errs.is_empty() {
                    problem(
                        line_of(gr),
                        field::invalid(&format!("{path}.resources.group"), g, &errs.join(",")),
                    );
                }
            }
            let names = gr.value.resource_names.as_deref().unwrap_or_default();
            if !names.is_empty() && gr.value.resources.as_deref().unwrap_or_default().is_empty() {
                problem(
                    line_of(gr),
                    field::invalid_rendered(
                        &format!("{path}.resources.resourceNames"),
                        &format!(
                            "[]string{{{}}}",
                            names.iter().map(|n| go_quote(n)).collect::<Vec<_>>().join(", ")
                        ),
                        "using resourceNames requires at least one resource",
                    ),
                );
            }
        }
        let namespaces = rule.namespaces.clone().unwrap_or_default();
        if !urls.is_empty() && (!resources.is_empty() || !namespaces.is_empty()) {
            problem(
                line_of(spanned),
                field::invalid_rendered(
                    &format!("{path}.nonResourceURLs"),
                    &format!(
                        "[]string{{{}}}",
                        urls.iter().map(|u| go_quote(&u.value)).collect::<Vec<_>>().join(", ")
                    ),
                    "rules cannot apply to both regular resources and non-resource URLs",
                ),
            );
        }
        let omit = stages(
            rule.omit_stages.as_deref().unwrap_or_default(),
            &format!("{path}.omitStages"),
            &mut problem,
        );
        let secret_bodies = resources.iter().any(|gr| {
            gr.value.group.as_deref().unwrap_or_default().is_empty()
                && gr.value.resources.iter().flatten().any(|r| r == "secrets")
        });
        let resources: Vec<GroupResources> = resources
            .iter()
            .map(|gr| GroupResources {
                group: gr.value.group.clone().unwrap_or_default(),
                resources: gr.value.resources.iter().flatten().map(|r| ResourcePattern::parse(r)).collect(),
                resource_names: gr.value.resource_names.clone().unwrap_or_default(),
            })
            .collect();
        rules.push(Rule {
            config: RequestAuditConfig {
                level,
                omit_stages: policy_omit.union(omit),
                omit_managed_fields: rule.omit_managed_fields.unwrap_or(policy_omit_managed),
                secret_bodies,
            },
            users: rule.users.clone().unwrap_or_default(),
            user_groups: rule.user_groups.clone().unwrap_or_default(),
            verbs: rule.verbs.clone().unwrap_or_default(),
            namespaces,
            resources,
            non_resource_urls: urls.iter().map(|u| UrlSpec::parse(&u.value)).collect(),
        });
    }
    if problems.is_empty() && rules.is_empty() {
        problems.push(Problem { line: 0, message: "loaded illegal policy with 0 rules".into() });
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let fallback = RequestAuditConfig {
        omit_stages: policy_omit,
        omit_managed_fields: policy_omit_managed,
        ..RequestAuditConfig::NONE
    };
    Ok(Policy { rules, fallback })
}

fn stages(
    list: &[Spanned<String>],
    path: &str,
    problem: &mut impl FnMut(u32, apimachinery::status::StatusCause),
) -> Stages {
    let mut set = Stages::default();
    for (i, s) in list.iter().enumerate() {
        match Stage::parse(&s.value) {
            Some(stage) => set = set.with(stage),
            None => problem(
                line_of(s),
                field::invalid(
                    &format!("{path}[{i}]"),
                    &s.value,
                    &format!("allowed stages are {}", Stage::ALL.join(",")),
                ),
            ),
        }
    }
    set
}

/// Fields kube's decoder would ignore, as `path.field` (warned about, not refused).
fn unknown_fields(v: &serde_json::Value) -> Vec<String> {
    const POLICY: &[&str] = &["apiVersion", "kind", "metadata", "rules", "omitStages", "omitManagedFields"];
    const RULE: &[&str] = &[
        "level",
        "users",
        "userGroups",
        "verbs",
        "resources",
        "namespaces",
        "nonResourceURLs",
        "omitStages",
        "omitManagedFields",
    ];
    const GROUP: &[&str] = &["group", "resources", "resourceNames"];
    let mut out = Vec::new();
    let mut check = |obj: &serde_json::Value, known: &[&str], path: &str| {
        if let Some(m) = obj.as_object() {
            out.extend(m.keys().filter(|k| !known.contains(&k.as_str())).map(|k| format!("{path}{k}")));
        }
    };
    check(v, POLICY, "");
    for (i, rule) in v.get("rules").and_then(|r| r.as_array()).into_iter().flatten().enumerate() {
        check(rule, RULE, &format!("rules[{i}]."));
        for (j, gr) in rule.get("resources").and_then(|r| r.as_array()).into_iter().flatten().enumerate() {
            check(gr, GROUP, &format!("rules[{i}].resources[{j}]."));
        }
    }
    out
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
