//! Type checking of a policy's expressions against the schemas of the kinds it matches
//! (kube's `TypeChecker`, run by the validatingadmissionpolicy-status controller): the
//! warnings go to `status.typeChecking.expressionWarnings`, and never change what the
//! policy does.
//!
//! The kinds are those of the resource rules without wildcards (`*` in a group or
//! version skips the rule, `*` or a subresource skips the resource), at most ten, sorted;
//! `object` and `oldObject` are typed by each kind's schema in turn, `params` by the
//! paramKind's (and left undeclared when it has none, as kube does).

use kcel::admission::Environment;
use kcel::Shape;
use serde_json::{json, Value};

/// kube's `maxTypesToCheck`.
const MAX_TYPES: usize = 10;

/// A group, version and kind.
pub type Gvk = (String, String, String);

/// What the checker needs of the server: kinds of a resource, schemas of a kind.
pub trait SchemaResolver {
    /// The kinds served as `group/version/resource` (kube's RESTMapper `KindsFor`).
    fn kinds_for(&self, group: &str, version: &str, resource: &str) -> Vec<Gvk>;
    /// The schema of a kind, if known.
    fn shape_of(&self, gvk: &Gvk) -> Option<Shape>;
}

/// Go's `%v` of a `schema.GroupVersionKind`.
fn gvk_string((g, v, k): &Gvk) -> String {
    format!("{g}/{v}, Kind={k}")
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

/// The kinds to check a policy against, sorted.
fn types_to_check(policy: &Value, resolver: &dyn SchemaResolver) -> Vec<Gvk> {
    let mut gvks: Vec<Gvk> = Vec::new();
    let rules = policy.pointer("/spec/matchConstraints/resourceRules").and_then(Value::as_array);
    'rules: for rule in rules.into_iter().flatten() {
        let mut groups = strings(rule, "apiGroups");
        let mut versions = strings(rule, "apiVersions");
        if groups.iter().chain(&versions).any(|s| s.contains('*')) {
            continue;
        }
        let mut resources: Vec<String> =
            strings(rule, "resources").into_iter().filter(|r| !r.contains(['*', '/'])).collect();
        groups.sort();
        versions.sort();
        resources.sort();
        for g in &groups {
            for v in &versions {
                for r in &resources {
                    for gvk in resolver.kinds_for(g, v, r) {
                        if !gvks.contains(&gvk) {
                            gvks.push(gvk);
                        }
                        if gvks.len() == MAX_TYPES {
                            break 'rules;
                        }
                    }
                }
            }
        }
    }
    gvks.sort();
    gvks
}

/// The type checking warnings of `policy` (`fieldRef`, `warning`), in kube's order.
pub fn check(policy: &Value, resolver: &dyn SchemaResolver) -> Vec<(String, String)> {
    let types: Vec<(Gvk, Shape)> = types_to_check(policy, resolver)
        .into_iter()
        .filter_map(|gvk| resolver.shape_of(&gvk).map(|s| (gvk, s)))
        .collect();
    let params = policy.pointer("/spec/paramKind").filter(|p| !p.is_null()).and_then(|p| {
        let api_version = p.get("apiVersion").and_then(Value::as_str)?;
        let (g, v) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        let kind = p.get("kind").and_then(Value::as_str)?;
        resolver.shape_of(&(g.to_string(), v.to_string(), kind.to_string()))
    });
    let variables: Vec<String> = policy
        .pointer("/spec/variables")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    let envs: Vec<(String, Environment)> = types
        .into_iter()
        .map(|(gvk, shape)| {
            let mut env =
                Environment::new(params.is_some(), true).with_object(shape).with_variables(variables.clone());
            if let Some(p) = &params {
                env = env.with_params(p.clone());
            }
            (gvk_string(&gvk), env)
        })
        .collect();
    let check_one = |expression: &str| -> Option<String> {
        let messages: Vec<String> = envs
            .iter()
            .filter_map(|(gvk, env)| env.type_check(expression).map(|issues| format!("{gvk}: {issues}\n")))
            .collect();
        (!messages.is_empty()).then(|| messages.join("\n"))
    };
    let mut warnings = Vec::new();
    let validations = policy.pointer("/spec/validations").and_then(Value::as_array);
    for (i, v) in validations.into_iter().flatten().enumerate() {
        let expression = v.get("expression").and_then(Value::as_str).unwrap_or_default();
        if let Some(w) = check_one(expression) {
            warnings.push((format!("spec.validations[{i}].expression"), w));
        }
        let message = v.get("messageExpression").and_then(Value::as_str).unwrap_or_default();
        if message.is_empty() {
            continue;
        }
        if let Some(w) = check_one(message) {
            warnings.push((format!("spec.validations[{i}].messageExpression"), w));
        }
    }
    warnings
}

/// The status the controller writes: the generation checked and the warnings.
pub fn status(policy: &Value, warnings: &[(String, String)]) -> Value {
    let generation = policy.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(0);
    let mut type_checking = json!({});
    if !warnings.is_empty() {
        type_checking["expressionWarnings"] =
            warnings.iter().map(|(f, w)| json!({"fieldRef": f, "warning": w})).collect();
    }
    let mut status = policy.get("status").cloned().filter(Value::is_object).unwrap_or_else(|| json!({}));
    status["observedGeneration"] = json!(generation);
    status["typeChecking"] = type_checking;
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Deployments;

    impl SchemaResolver for Deployments {
        fn kinds_for(&self, group: &str, version: &str, resource: &str) -> Vec<Gvk> {
            match (group, version, resource) {
                ("apps", "v1", "deployments") => vec![("apps".into(), "v1".into(), "Deployment".into())],
                _ => Vec::new(),
            }
        }
        fn shape_of(&self, gvk: &Gvk) -> Option<Shape> {
            (gvk.2 == "Deployment").then(|| {
                Shape::from_openapi_schema(&json!({"type": "object", "properties": {
                    "metadata": {"type": "object", "properties": {"name": {"type": "string"}}},
                    "spec": {"type": "object", "properties": {"replicas": {"type": "integer"}}}}}))
            })
        }
    }

    #[test]
    fn undefined_fields_are_reported_per_kind() {
        let policy = json!({"metadata": {"generation": 2}, "spec": {
            "matchConstraints": {"resourceRules": [
                {"apiGroups": ["apps"], "apiVersions": ["v1"], "resources": ["deployments", "deployments/scale"]},
                {"apiGroups": ["*"], "apiVersions": ["v1"], "resources": ["pods"]}]},
            "validations": [
                {"expression": "object.spec.replicas > 1"},
                {"expression": "object.spec.replicass > 1", "messageExpression": "object.metadata.nam"}]}});
        let warnings = check(&policy, &Deployments);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert_eq!(warnings[0].0, "spec.validations[1].expression");
        assert_eq!(
            warnings[0].1,
            "apps/v1, Kind=Deployment: ERROR: <input>:1:12: undefined field 'replicass'\n | object.spec.replicass > 1\n | ...........^\n"
        );
        assert_eq!(warnings[1].0, "spec.validations[1].messageExpression");
        let status = status(&policy, &warnings);
        assert_eq!(status["observedGeneration"], 2);
        assert_eq!(
            status["typeChecking"]["expressionWarnings"][1]["fieldRef"],
            "spec.validations[1].messageExpression"
        );
        let clean = super::status(&policy, &[]);
        assert_eq!(clean["typeChecking"], json!({}));
    }
}
