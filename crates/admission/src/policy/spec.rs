//! ValidatingAdmissionPolicies and their bindings as the plugin holds them: parsed from
//! the stored objects once, with every expression compiled once per policy generation
//! (an expression that no longer compiles keeps its error, reported when it is
//! evaluated, as kube's filter does).

use apimachinery::selectors::LabelSelector;
use apimachinery::StatusReason;
use kcel::admission::{Environment, ExpressionKind};
use kcel::Program;
use serde_json::Value;

pub(crate) fn str_at<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// One expression, compiled or with kube's compile error detail.
#[derive(Debug)]
pub struct Compiled {
    pub source: String,
    pub program: Result<Program, String>,
}

impl Compiled {
    pub fn new(env: &Environment, source: &str, kind: ExpressionKind) -> Self {
        Self { source: source.to_string(), program: env.compile(source, kind) }
    }
}

/// A rule with operations and optional resource names (`NamedRuleWithOperations`).
#[derive(Debug, Clone, Default)]
pub struct NamedRule {
    pub operations: Vec<String>,
    pub api_groups: Vec<String>,
    pub api_versions: Vec<String>,
    pub resources: Vec<String>,
    pub scope: String,
    pub resource_names: Vec<String>,
}

impl NamedRule {
    /// A `NamedRuleWithOperations` (or a webhook's `RuleWithOperations`).
    pub fn parse(v: &Value) -> Self {
        Self {
            operations: strings(v, "operations"),
            api_groups: strings(v, "apiGroups"),
            api_versions: strings(v, "apiVersions"),
            resources: strings(v, "resources"),
            scope: v.get("scope").and_then(Value::as_str).unwrap_or("*").to_string(),
            resource_names: strings(v, "resourceNames"),
        }
    }
}

/// `MatchResources`, its selectors parsed (a selector that does not parse is an error
/// when the policy is matched).
#[derive(Debug, Clone)]
pub struct MatchResources {
    pub namespace_selector: Result<LabelSelector, String>,
    pub object_selector: Result<LabelSelector, String>,
    /// `matchPolicy: Equivalent` (the default).
    pub equivalent: bool,
    pub resource_rules: Vec<NamedRule>,
    pub exclude_resource_rules: Vec<NamedRule>,
}

/// The selector at `key`; absent or null selects everything (kube defaults it to `{}`).
pub fn selector(v: &Value, key: &str) -> Result<LabelSelector, String> {
    match v.get(key).filter(|s| !s.is_null()) {
        None => Ok(LabelSelector::everything()),
        Some(s) => LabelSelector::from_label_selector(s).map_err(|e| e.0),
    }
}

impl MatchResources {
    pub fn parse(v: &Value) -> Self {
        let rules = |key: &str| {
            v.get(key).and_then(Value::as_array).into_iter().flatten().map(NamedRule::parse).collect()
        };
        Self {
            namespace_selector: selector(v, "namespaceSelector"),
            object_selector: selector(v, "objectSelector"),
            equivalent: v.get("matchPolicy").and_then(Value::as_str) != Some("Exact"),
            resource_rules: rules("resourceRules"),
            exclude_resource_rules: rules("excludeResourceRules"),
        }
    }
}

/// A policy's `paramKind`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamKind {
    pub api_version: String,
    pub kind: String,
}

impl ParamKind {
    /// A policy spec's `paramKind`, if it has one.
    pub fn of_spec(spec: &Value) -> Option<Self> {
        spec.get("paramKind").filter(|p| !p.is_null()).map(|p| ParamKind {
            api_version: str_at(p, "apiVersion").to_string(),
            kind: str_at(p, "kind").to_string(),
        })
    }

    /// Group and version of `apiVersion` (`None` when it does not parse).
    pub fn group_version(&self) -> Option<(&str, &str)> {
        match self.api_version.matches('/').count() {
            0 => Some(("", self.api_version.as_str())),
            1 => self.api_version.split_once('/'),
            _ => None,
        }
    }

    /// Go's `%v` of a `schema.GroupVersionKind` (`v1, Kind=ConfigMap`).
    pub fn gvk_string(&self) -> String {
        format!("{}, Kind={}", self.api_version, self.kind)
    }

    /// The generated `String()` of a `ParamKind`.
    pub fn go_string(&self) -> String {
        format!("&ParamKind{{APIVersion:{},Kind:{},}}", self.api_version, self.kind)
    }
}

/// One `validations[]` entry.
#[derive(Debug)]
pub struct Validation {
    pub expression: Compiled,
    pub message: String,
    pub message_expression: Option<Compiled>,
    /// `Invalid` unless set.
    pub reason: StatusReason,
}

/// A compiled ValidatingAdmissionPolicy.
#[derive(Debug)]
pub struct Policy {
    pub name: String,
    pub uid: String,
    pub generation: i64,
    /// `failurePolicy: Fail` (the default) rather than `Ignore`.
    pub fail: bool,
    pub param_kind: Option<ParamKind>,
    pub match_constraints: Option<MatchResources>,
    /// (name, expression) of each `matchConditions[]` entry.
    pub match_conditions: Vec<(String, Compiled)>,
    /// (name, expression) of each `variables[]` entry, in order.
    pub variables: Vec<(String, Compiled)>,
    pub validations: Vec<Validation>,
    /// (key, valueExpression) of each `auditAnnotations[]` entry.
    pub audit_annotations: Vec<(String, Compiled)>,
    /// Some expression names `namespaceObject` (read from its source text: a mention in a
    /// string literal counts too). The Namespace is read only for such policies.
    pub reads_namespace: bool,
    /// What the expressions read of `object`, `oldObject` and `request`.
    pub reads: super::inputs::InputReads,
}

fn reason(s: &str) -> StatusReason {
    match s {
        "Forbidden" => StatusReason::Forbidden,
        "RequestEntityTooLarge" => StatusReason::RequestEntityTooLarge,
        "Unauthorized" => StatusReason::Unauthorized,
        _ => StatusReason::Invalid,
    }
}

impl super::set::CompiledPolicy for Policy {
    const KIND: &'static str = "ValidatingAdmissionPolicy";

    fn compile(obj: &Value) -> Self {
        Policy::compile(obj)
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn uid(&self) -> &str {
        &self.uid
    }

    fn generation(&self) -> i64 {
        self.generation
    }

    fn reads(&self) -> Option<&super::inputs::InputReads> {
        Some(&self.reads)
    }
}

impl super::plan::PlannedPolicy for Policy {
    fn match_constraints(&self) -> Option<&MatchResources> {
        self.match_constraints.as_ref()
    }

    fn param_kind(&self) -> Option<&ParamKind> {
        self.param_kind.as_ref()
    }
}

impl super::plan::PlannedBinding for Binding {
    fn match_resources(&self) -> Option<&MatchResources> {
        self.match_resources.as_ref()
    }

    fn param_ref(&self) -> Option<&ParamRef> {
        self.param_ref.as_ref()
    }
}

impl super::set::ParsedBinding for Binding {
    const KIND: &'static str = "ValidatingAdmissionPolicyBinding";

    fn parse(obj: &Value) -> Self {
        Binding::parse(obj)
    }

    fn policy_name(&self) -> &str {
        &self.policy_name
    }
}

/// What both admission policy kinds parse and compile alike (kube's `compilePolicy`):
/// the metadata, failure policy, paramKind, match constraints, match conditions, and the
/// variables, in order, each declared for the next with its type.
pub(crate) struct Common {
    pub name: String,
    pub uid: String,
    pub generation: i64,
    pub fail: bool,
    pub param_kind: Option<ParamKind>,
    pub match_constraints: Option<MatchResources>,
    pub match_conditions: Vec<(String, Compiled)>,
    pub variables: Vec<(String, Compiled)>,
    /// The environment of the policy's other expressions: the variables declared.
    pub env: Environment,
}

impl Common {
    pub(crate) fn compile(obj: &Value) -> Self {
        let meta = obj.get("metadata").unwrap_or(&Value::Null);
        let spec = obj.get("spec").unwrap_or(&Value::Null);
        let param_kind = ParamKind::of_spec(spec);
        let has_params = param_kind.is_some();
        let conditions_env = Environment::new(has_params, true);
        let match_conditions = list(spec, "matchConditions")
            .iter()
            .map(|c| {
                let source = str_at(c, "expression").trim();
                (
                    str_at(c, "name").to_string(),
                    Compiled::new(&conditions_env, source, ExpressionKind::Condition),
                )
            })
            .collect();
        let mut env = Environment::new(has_params, true);
        let mut variables = Vec::new();
        for v in list(spec, "variables") {
            let name = str_at(v, "name").to_string();
            let source = str_at(v, "expression");
            let program = env.compile_variable(&name, source);
            variables.push((name, Compiled { source: source.to_string(), program }));
        }
        Self {
            name: str_at(meta, "name").to_string(),
            uid: str_at(meta, "uid").to_string(),
            generation: meta.get("generation").and_then(Value::as_i64).unwrap_or(0),
            fail: str_at(spec, "failurePolicy") != "Ignore",
            param_kind,
            match_constraints: spec
                .get("matchConstraints")
                .filter(|m| !m.is_null())
                .map(MatchResources::parse),
            match_conditions,
            variables,
            env,
        }
    }
}

/// The array at `key` of a spec (empty when absent).
pub(crate) fn list<'a>(spec: &'a Value, key: &str) -> &'a [Value] {
    spec.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default()
}

impl Policy {
    /// Parses and compiles a stored policy.
    pub fn compile(obj: &Value) -> Self {
        let spec = obj.get("spec").unwrap_or(&Value::Null);
        let Common {
            name,
            uid,
            generation,
            fail,
            param_kind,
            match_constraints,
            match_conditions,
            variables,
            env,
        } = Common::compile(obj);
        let messages_env = env.without_authorizer();
        let validations: Vec<Validation> = list(spec, "validations")
            .iter()
            .map(|v| Validation {
                expression: Compiled::new(&env, str_at(v, "expression"), ExpressionKind::Condition),
                message: str_at(v, "message").to_string(),
                message_expression: Some(str_at(v, "messageExpression"))
                    .filter(|m| !m.trim().is_empty())
                    .map(|m| Compiled::new(&messages_env, m, ExpressionKind::Message)),
                reason: reason(str_at(v, "reason")),
            })
            .collect();
        let audit_annotations = list(spec, "auditAnnotations")
            .iter()
            .map(|a| {
                let source = str_at(a, "valueExpression").trim();
                (str_at(a, "key").to_string(), Compiled::new(&env, source, ExpressionKind::AuditAnnotation))
            })
            .collect();
        let sources =
            match_conditions.iter().chain(&variables).chain(&audit_annotations).map(|(_, c)| c).chain(
                validations
                    .iter()
                    .flat_map(|v: &Validation| std::iter::once(&v.expression).chain(&v.message_expression)),
            );
        let sources: Vec<&Compiled> = sources.collect();
        let reads_namespace = sources.iter().any(|c| c.source.contains(kcel::admission::NAMESPACE_OBJECT));
        let decisive = match_conditions
            .iter()
            .chain(&variables)
            .chain(&audit_annotations)
            .map(|(_, c)| c)
            .chain(validations.iter().map(|v| &v.expression));
        let reads = super::inputs::InputReads::of(
            sources.iter().filter_map(|c| c.program.as_ref().ok()),
            decisive.filter_map(|c| c.program.as_ref().ok()),
        );
        Self {
            name,
            uid,
            generation,
            fail,
            param_kind,
            match_constraints,
            match_conditions,
            variables,
            validations,
            audit_annotations,
            reads_namespace,
            reads,
        }
    }
}

/// A binding's `paramRef`.
#[derive(Debug, Clone)]
pub struct ParamRef {
    pub name: String,
    pub namespace: String,
    pub selector: Option<Result<LabelSelector, String>>,
    /// `parameterNotFoundAction: Deny`.
    pub deny_if_missing: bool,
}

impl ParamRef {
    /// A binding's `paramRef`.
    pub fn parse(p: &Value) -> Self {
        Self {
            name: str_at(p, "name").to_string(),
            namespace: str_at(p, "namespace").to_string(),
            selector: p
                .get("selector")
                .filter(|s| !s.is_null())
                .map(|s| LabelSelector::from_label_selector(s).map_err(|e| e.0)),
            deny_if_missing: str_at(p, "parameterNotFoundAction") == "Deny",
        }
    }
}

/// The actions a binding takes on a failed validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Deny,
    Warn,
    Audit,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Deny => "Deny",
            Action::Warn => "Warn",
            Action::Audit => "Audit",
        }
    }
}

/// A ValidatingAdmissionPolicyBinding.
#[derive(Debug)]
pub struct Binding {
    pub name: String,
    pub policy_name: String,
    pub param_ref: Option<ParamRef>,
    pub match_resources: Option<MatchResources>,
    pub actions: Vec<Action>,
}

impl Binding {
    pub fn parse(obj: &Value) -> Self {
        let spec = obj.get("spec").unwrap_or(&Value::Null);
        let param_ref = spec.get("paramRef").filter(|p| !p.is_null()).map(ParamRef::parse);
        let actions = strings(spec, "validationActions")
            .iter()
            .filter_map(|a| match a.as_str() {
                "Deny" => Some(Action::Deny),
                "Warn" => Some(Action::Warn),
                "Audit" => Some(Action::Audit),
                _ => None,
            })
            .collect();
        Self {
            name: obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string(),
            policy_name: str_at(spec, "policyName").to_string(),
            param_ref,
            match_resources: spec.get("matchResources").filter(|m| !m.is_null()).map(MatchResources::parse),
            actions,
        }
    }
}
