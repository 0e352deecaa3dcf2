//! MutatingAdmissionPolicies and their bindings as the plugin holds them (kube's
//! `compilePolicy`): match conditions, variables and each mutation's expression compiled
//! once per policy generation, the mutations with kube's patch types; an expression that
//! no longer compiles keeps its error, reported when the policy runs.

use crate::policy::set::{CompiledPolicy, ParsedBinding};
use crate::policy::spec::{str_at, Compiled, MatchResources, ParamKind, ParamRef};
use kcel::admission::{Environment, ExpressionKind};
use serde_json::Value;

/// How a mutation's result changes the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// An `Object` merged as server-side apply merges (structured merge).
    ApplyConfiguration,
    /// A list of `JSONPatch` operations (RFC 6902).
    JsonPatch,
}

/// One `mutations[]` entry; `expression` is `None` when the entry lacks the field its
/// patch type names (kube compiles no patcher for it).
#[derive(Debug)]
pub struct Mutation {
    pub patch_type: PatchType,
    pub expression: Option<Compiled>,
}

/// A compiled MutatingAdmissionPolicy.
#[derive(Debug)]
pub struct MutatingPolicy {
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
    pub mutations: Vec<Mutation>,
    /// `reinvocationPolicy: IfNeeded`.
    pub reinvoke_if_needed: bool,
}

impl MutatingPolicy {
    /// Parses and compiles a stored policy.
    pub fn compile(obj: &Value) -> Self {
        let meta = obj.get("metadata").unwrap_or(&Value::Null);
        let spec = obj.get("spec").unwrap_or(&Value::Null);
        let param_kind = ParamKind::of_spec(spec);
        let has_params = param_kind.is_some();
        let list = |key: &str| spec.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        let conditions_env = Environment::new(has_params, true);
        let match_conditions = list("matchConditions")
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
        for v in list("variables") {
            let name = str_at(v, "name").to_string();
            let source = str_at(v, "expression");
            let program = env.compile_variable(&name, source);
            variables.push((name, Compiled { source: source.to_string(), program }));
        }
        let patch_env = env.with_patch_types();
        let mutations = list("mutations")
            .iter()
            .filter_map(|m| {
                let (patch_type, key, kind) = match str_at(m, "patchType") {
                    "JSONPatch" => (PatchType::JsonPatch, "jsonPatch", ExpressionKind::JsonPatch),
                    "ApplyConfiguration" => (
                        PatchType::ApplyConfiguration,
                        "applyConfiguration",
                        ExpressionKind::ApplyConfiguration,
                    ),
                    _ => return None,
                };
                let expression = m
                    .get(key)
                    .filter(|e| !e.is_null())
                    .map(|e| Compiled::new(&patch_env, str_at(e, "expression"), kind));
                Some(Mutation { patch_type, expression })
            })
            .collect();
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
            mutations,
            reinvoke_if_needed: str_at(spec, "reinvocationPolicy") == "IfNeeded",
        }
    }
}

impl CompiledPolicy for MutatingPolicy {
    const KIND: &'static str = "MutatingAdmissionPolicy";

    fn compile(obj: &Value) -> Self {
        MutatingPolicy::compile(obj)
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
}

/// A MutatingAdmissionPolicyBinding.
#[derive(Debug)]
pub struct MutatingBinding {
    pub name: String,
    pub policy_name: String,
    pub param_ref: Option<ParamRef>,
    pub match_resources: Option<MatchResources>,
}

impl ParsedBinding for MutatingBinding {
    const KIND: &'static str = "MutatingAdmissionPolicyBinding";

    fn parse(obj: &Value) -> Self {
        let spec = obj.get("spec").unwrap_or(&Value::Null);
        Self {
            name: obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string(),
            policy_name: str_at(spec, "policyName").to_string(),
            param_ref: spec.get("paramRef").filter(|p| !p.is_null()).map(ParamRef::parse),
            match_resources: spec.get("matchResources").filter(|m| !m.is_null()).map(MatchResources::parse),
        }
    }

    fn policy_name(&self) -> &str {
        &self.policy_name
    }
}
