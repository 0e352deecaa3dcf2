//! MutatingAdmissionPolicies and their bindings as the plugin holds them (kube's
//! `compilePolicy`): match conditions, variables and each mutation's expression compiled
//! once per policy generation, the mutations with kube's patch types; an expression that
//! no longer compiles keeps its error, reported when the policy runs.

use crate::policy::plan::{PlannedBinding, PlannedPolicy};
use crate::policy::set::{CompiledPolicy, ParsedBinding};
use crate::policy::spec::{list, str_at, Common, Compiled, MatchResources, ParamKind, ParamRef};
use kcel::admission::ExpressionKind;
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
        let patch_env = env.with_patch_types();
        let mutations = list(spec, "mutations")
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
            name,
            uid,
            generation,
            fail,
            param_kind,
            match_constraints,
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

impl PlannedPolicy for MutatingPolicy {
    fn match_constraints(&self) -> Option<&MatchResources> {
        self.match_constraints.as_ref()
    }

    fn param_kind(&self) -> Option<&ParamKind> {
        self.param_kind.as_ref()
    }
}

impl PlannedBinding for MutatingBinding {
    fn match_resources(&self) -> Option<&MatchResources> {
        self.match_resources.as_ref()
    }

    fn param_ref(&self) -> Option<&ParamRef> {
        self.param_ref.as_ref()
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
