//! admissionregistration.k8s.io MutatingAdmissionPolicy and MutatingAdmissionPolicyBinding
//! (v1beta1, and v1alpha1 of the same shape): kube's defaults
//! (`SetDefaults_MutatingAdmissionPolicySpec`, `SetDefaults_MatchResources`) and
//! validation (`validateMutatingAdmissionPolicySpec`, `validateMutation`,
//! `validateMutatingAdmissionPolicyBindingSpec`), every CEL expression compiled in kube's
//! admission environment, the mutations' with kube's patch types ([`kcel::mutation`]).

use super::admission::{
    is_cel_identifier, validate_match_conditions, validate_param_kind, validate_param_ref,
};
use super::admission_rules::{dns1123_subdomain_errors, validate_match_resources};
use super::common::{array, str_at};
use apimachinery::field::{invalid, not_supported, required, required_because, Errors};
use kcel::admission::{Environment, ExpressionKind};
use serde_json::{json, Map, Value};

const FAILURE_POLICIES: &[&str] = &["Fail", "Ignore"];
const REINVOCATION_POLICIES: &[&str] = &["IfNeeded", "Never"];
const PATCH_TYPES: &[&str] = &["ApplyConfiguration", "JSONPatch"];
/// kube's `supportedMutatingOperations`: a delete has no object to mutate.
const MUTATING_OPERATIONS: &[&str] = &["*", "CONNECT", "CREATE", "UPDATE"];

/// Defaults of a policy or a binding.
pub(super) fn defaults(kind: &str, spec: &mut Map<String, Value>) {
    let key = match kind {
        "MutatingAdmissionPolicy" => {
            spec.entry("failurePolicy").or_insert_with(|| json!("Fail"));
            "matchConstraints"
        }
        _ => "matchResources",
    };
    if let Some(m) = spec.get_mut(key).and_then(Value::as_object_mut) {
        super::admission::match_resources_defaults(m);
    }
}

/// Field errors of a policy or a binding (the metadata is checked by the caller).
pub(super) fn validate(kind: &str, obj: &Value, errs: &mut Errors) {
    match kind {
        "MutatingAdmissionPolicy" => validate_policy(obj, errs),
        _ => validate_binding(obj, errs),
    }
}

/// The operations of `resourceRules` must be mutable ones (kube reports them at
/// `<path>.resourceRules.operations`, without an index).
fn validate_operations(mr: &Value, path: &str, errs: &mut Errors) {
    let at = format!("{path}.resourceRules.operations");
    for rule in array(mr, "/resourceRules") {
        for op in array(rule, "/operations") {
            let op = op.as_str().unwrap_or_default();
            if !MUTATING_OPERATIONS.contains(&op) {
                errs.push(not_supported(&at, op, MUTATING_OPERATIONS));
            }
        }
    }
}

fn validate_policy(obj: &Value, errs: &mut Errors) {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    match spec.get("failurePolicy").and_then(Value::as_str) {
        None => errs.push(required("spec.failurePolicy")),
        Some(p) if !FAILURE_POLICIES.contains(&p) => {
            errs.push(not_supported("spec.failurePolicy", p, FAILURE_POLICIES))
        }
        Some(_) => {}
    }
    let has_params = spec.get("paramKind").is_some_and(|p| !p.is_null());
    if let Some(pk) = spec.get("paramKind").filter(|p| !p.is_null()) {
        validate_param_kind(pk, errs);
    }
    match spec.get("matchConstraints").filter(|m| !m.is_null()) {
        None => errs.push(required("spec.matchConstraints")),
        Some(mc) => {
            validate_match_resources(mc, "spec.matchConstraints", errs);
            if array(mc, "/resourceRules").is_empty() {
                errs.push(required("spec.matchConstraints.resourceRules"));
            }
            validate_operations(mc, "spec.matchConstraints", errs);
        }
    }
    validate_match_conditions(array(spec, "/matchConditions"), has_params, "spec.matchConditions", errs);
    let mut env = Environment::new(has_params, true);
    for (i, v) in array(spec, "/variables").iter().enumerate() {
        let path = format!("spec.variables[{i}]");
        let name = str_at(v, "/name");
        if name.trim().is_empty() {
            errs.push(required_because(&format!("{path}.name"), "name is not specified"));
        } else if !is_cel_identifier(name) {
            errs.push(invalid(&format!("{path}.name"), name, "name is not a valid CEL identifier"));
        }
        let expression = str_at(v, "/expression");
        if expression.trim().is_empty() {
            errs.push(required_because(&format!("{path}.expression"), "expression is not specified"));
        } else if let Err(detail) = env.compile_variable(name, expression) {
            errs.push(invalid(&format!("{path}.expression"), expression, &detail));
        }
        if expression.trim().is_empty() {
            env.push_variable(name);
        }
    }
    let mutations = array(spec, "/mutations");
    if mutations.is_empty() {
        errs.push(required_because("spec.mutations", "mutations must contain at least one item"));
    }
    let patch_env = env.with_patch_types();
    for (i, m) in mutations.iter().enumerate() {
        validate_mutation(m, &patch_env, &format!("spec.mutations[{i}]"), errs);
    }
    match spec.get("reinvocationPolicy").and_then(Value::as_str) {
        None | Some("") => errs.push(required("spec.reinvocationPolicy")),
        Some(p) if !REINVOCATION_POLICIES.contains(&p) => {
            errs.push(not_supported("spec.reinvocationPolicy", p, REINVOCATION_POLICIES))
        }
        Some(_) => {}
    }
}

/// kube's `validateMutation`: the `patchType` union and its expression.
fn validate_mutation(m: &Value, env: &Environment, path: &str, errs: &mut Errors) {
    let apply = m.get("applyConfiguration").filter(|a| !a.is_null());
    let patch = m.get("jsonPatch").filter(|a| !a.is_null());
    let (own, own_kind, other, other_key) = match m.get("patchType").and_then(Value::as_str).unwrap_or("") {
        "" => return errs.push(required(&format!("{path}.patchType"))),
        "JSONPatch" => (("jsonPatch", patch), ExpressionKind::JsonPatch, apply, "applyConfiguration"),
        "ApplyConfiguration" => {
            (("applyConfiguration", apply), ExpressionKind::ApplyConfiguration, patch, "jsonPatch")
        }
        t => return errs.push(not_supported(&format!("{path}.patchType"), t, PATCH_TYPES)),
    };
    let patch_type = m.get("patchType").and_then(Value::as_str).unwrap_or_default();
    let (key, value) = own;
    match value {
        None => errs.push(required_because(
            &format!("{path}.{key}"),
            &format!("must be specified when patchType is {patch_type}"),
        )),
        Some(v) => {
            let expression = str_at(v, "/expression");
            let at = format!("{path}.{key}.expression");
            if expression.trim().is_empty() {
                errs.push(required(&at));
            } else if let Err(detail) = env.compile(expression, own_kind) {
                errs.push(invalid(&at, expression, &detail));
            }
        }
    }
    if other.is_some() {
        errs.push(invalid(
            &format!("{path}.{other_key}"),
            &format!("{{{other_key}}}"),
            &format!("must not be specified when patchType is {patch_type}"),
        ));
    }
}

fn validate_binding(obj: &Value, errs: &mut Errors) {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let policy = str_at(spec, "/policyName");
    if policy.is_empty() {
        errs.push(required("spec.policyName"));
    } else {
        for msg in dns1123_subdomain_errors(policy) {
            errs.push(invalid("spec.policyName", policy, &msg));
        }
    }
    if let Some(pr) = spec.get("paramRef").filter(|p| !p.is_null()) {
        validate_param_ref(pr, errs);
    }
    if let Some(mr) = spec.get("matchResources").filter(|m| !m.is_null()) {
        validate_match_resources(mr, "spec.matchResources", errs);
        validate_operations(mr, "spec.matchResources", errs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(kind: &str, obj: Value) -> Vec<String> {
        let mut o = obj;
        if let Some(spec) = o.get_mut("spec").and_then(Value::as_object_mut) {
            defaults(kind, spec);
        }
        let mut errs = Vec::new();
        validate(kind, &o, &mut errs);
        errs.iter().map(|c| format!("{}: {}", c.field, c.message)).collect()
    }

    fn policy(mutations: Value) -> Value {
        json!({"metadata": {"name": "p"}, "spec": {
            "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}]},
            "reinvocationPolicy": "Never",
            "mutations": mutations}})
    }

    #[test]
    fn a_valid_policy_and_binding_pass() {
        let ok = policy(json!([
            {"patchType": "ApplyConfiguration", "applyConfiguration": {"expression": "Object{metadata: Object.metadata{labels: {'a': 'b'}}}"}},
            {"patchType": "JSONPatch", "jsonPatch": {"expression": "[JSONPatch{op: 'add', path: '/metadata/labels/x', value: 'y'}]"}}
        ]));
        assert_eq!(errors("MutatingAdmissionPolicy", ok), Vec::<String>::new());
        let binding = json!({"metadata": {"name": "b"}, "spec": {"policyName": "p"}});
        assert_eq!(errors("MutatingAdmissionPolicyBinding", binding), Vec::<String>::new());
    }

    #[test]
    fn kube_causes_of_bad_policies() {
        let e = errors("MutatingAdmissionPolicy", json!({"metadata": {"name": "p"}, "spec": {}}));
        assert_eq!(
            e,
            vec![
                "spec.matchConstraints: Required value",
                "spec.mutations: Required value: mutations must contain at least one item",
                "spec.reinvocationPolicy: Required value",
            ]
        );
        let mut bad = policy(json!([
            {"patchType": "JSONPatch", "applyConfiguration": {"expression": "Object{}"}},
            {"patchType": "ApplyConfiguration", "applyConfiguration": {"expression": "'x'"}},
            {"patchType": "Merge"},
            {"patchType": "ApplyConfiguration", "applyConfiguration": {"expression": " "}}
        ]));
        bad["spec"]["reinvocationPolicy"] = json!("Always");
        bad["spec"]["matchConstraints"]["resourceRules"][0]["operations"] = json!(["DELETE"]);
        assert_eq!(
            errors("MutatingAdmissionPolicy", bad),
            vec![
                "spec.matchConstraints.resourceRules.operations: Unsupported value: \"DELETE\": supported values: \"*\", \"CONNECT\", \"CREATE\", \"UPDATE\"",
                "spec.mutations[0].jsonPatch: Required value: must be specified when patchType is JSONPatch",
                "spec.mutations[0].applyConfiguration: Invalid value: \"{applyConfiguration}\": must not be specified when patchType is JSONPatch",
                "spec.mutations[1].applyConfiguration.expression: Invalid value: \"'x'\": must evaluate to Object but got string",
                "spec.mutations[2].patchType: Unsupported value: \"Merge\": supported values: \"ApplyConfiguration\", \"JSONPatch\"",
                "spec.mutations[3].applyConfiguration.expression: Required value",
                "spec.reinvocationPolicy: Unsupported value: \"Always\": supported values: \"IfNeeded\", \"Never\"",
            ]
        );
        // A compile error, with params only where the policy has a paramKind.
        let e = errors(
            "MutatingAdmissionPolicy",
            policy(
                json!([{"patchType": "JSONPatch", "jsonPatch": {"expression": "[JSONPatch{op: 'add', path: params.p}]"}}]),
            ),
        );
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("spec.mutations[0].jsonPatch.expression: Invalid value: \"[JSONPatch{op: 'add', path: params.p}]\": compilation failed: ERROR: <input>:1:"), "{e:?}");
        assert!(e[0].contains("undeclared reference to 'params'"), "{e:?}");
    }

    #[test]
    fn kube_causes_of_bad_bindings() {
        let e = errors(
            "MutatingAdmissionPolicyBinding",
            json!({"metadata": {"name": "b"}, "spec": {
                "paramRef": {"name": "x"},
                "matchResources": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["DELETE"], "resources": ["pods"]}]}}}),
        );
        assert_eq!(
            e,
            vec![
                "spec.policyName: Required value",
                "spec.paramRef.parameterNotFoundAction: Required value",
                "spec.matchResources.resourceRules.operations: Unsupported value: \"DELETE\": supported values: \"*\", \"CONNECT\", \"CREATE\", \"UPDATE\"",
            ]
        );
    }
}
