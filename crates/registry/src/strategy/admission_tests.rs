//! Tests of the admission policy kinds' defaults and validation: kube's texts.

use super::*;
use crate::strategy::{prepare_for_create, validate};
use crate::Catalog;

fn policy(spec: Value) -> Value {
    json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "demo.example.com"}, "spec": spec})
}

fn errors(kind: &str, obj: Value) -> Vec<String> {
    let c = Catalog::builtin();
    let plural = if kind == "ValidatingAdmissionPolicy" {
        "validatingadmissionpolicies"
    } else {
        "validatingadmissionpolicybindings"
    };
    let rt = c.lookup("admissionregistration.k8s.io", "v1", plural).unwrap();
    let mut obj = obj;
    prepare_for_create(rt, &mut obj, "2026-01-01T00:00:00Z");
    validate(rt, &obj).into_iter().map(|c| format!("{}: {}", c.field, c.message)).collect()
}

fn rules() -> Value {
    json!({"resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["deployments"]}]})
}

#[test]
fn a_good_policy_is_defaulted_and_valid() {
    let c = Catalog::builtin();
    let rt = c.lookup("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies").unwrap();
    let mut p = policy(
        json!({"matchConstraints": rules(), "validations": [{"expression": "object.spec.replicas <= 5"}]}),
    );
    prepare_for_create(rt, &mut p, "2026-01-01T00:00:00Z");
    assert_eq!(p["spec"]["failurePolicy"], "Fail");
    assert_eq!(p["spec"]["matchConstraints"]["matchPolicy"], "Equivalent");
    assert_eq!(p["spec"]["matchConstraints"]["namespaceSelector"], json!({}));
    assert_eq!(p["spec"]["matchConstraints"]["resourceRules"][0]["scope"], "*");
    assert_eq!(p["metadata"]["generation"], 1);
    assert!(validate(rt, &p).is_empty(), "{:?}", validate(rt, &p));
}

#[test]
fn expressions_that_do_not_compile_are_refused_with_kubes_detail() {
    let errs = errors(
        "ValidatingAdmissionPolicy",
        policy(json!({"matchConstraints": rules(), "validations": [
            {"expression": "object.spec.replicas <"},
            {"expression": "'x'"},
            {"expression": "true", "messageExpression": "1"},
            {"expression": "true", "message": "a\nb", "reason": "Teapot"}
        ]})),
    );
    assert_eq!(errs.len(), 5, "{errs:#?}");
    assert!(
        errs[0].starts_with(
            "spec.validations[0].expression: Invalid value: \"object.spec.replicas <\": compilation failed: ERROR: <input>:1:"
        ),
        "{}",
        errs[0]
    );
    assert_eq!(
        errs[1],
        "spec.validations[1].expression: Invalid value: \"'x'\": must evaluate to bool but got string"
    );
    assert_eq!(
        errs[2],
        "spec.validations[2].messageExpression: Invalid value: \"1\": must evaluate to string but got int"
    );
    assert_eq!(
        errs[3],
        "spec.validations[3].message: Invalid value: \"a\\nb\": message must not contain line breaks"
    );
    assert_eq!(
        errs[4],
        "spec.validations[3].reason: Unsupported value: \"Teapot\": supported values: \"Forbidden\", \"Invalid\", \"RequestEntityTooLarge\""
    );
}

#[test]
fn structure_errors_as_kube() {
    let errs = errors(
        "ValidatingAdmissionPolicy",
        policy(json!({"failurePolicy": "Maybe", "paramKind": {"apiVersion": "v1"}})),
    );
    assert_eq!(
        errs,
        vec![
            "spec.failurePolicy: Unsupported value: \"Maybe\": supported values: \"Fail\", \"Ignore\"",
            "spec.paramKind.kind: Required value",
            "spec.matchConstraints: Required value",
            "spec.validations: Required value: validations or auditAnnotations must contain at least one item",
            "spec.auditAnnotations: Required value: validations or auditAnnotations must contain at least one item",
        ]
    );
    let errs = errors(
        "ValidatingAdmissionPolicy",
        policy(json!({
            "matchConstraints": {"resourceRules": [{"apiGroups": ["*", "apps"], "apiVersions": ["v1"], "operations": ["*", "CREATE"], "resources": ["*", "pods"]}]},
            "variables": [{"name": "1x", "expression": "object"}, {"name": "ok", "expression": "variables.nope"}],
            "auditAnnotations": [{"key": "k", "valueExpression": "1"}, {"key": "k", "valueExpression": "'v'"}]
        })),
    );
    assert_eq!(errs[0], "spec.matchConstraints.resourceRules[0].operations: Invalid value: []admissionregistration.OperationType{\"*\", \"CREATE\"}: if '*' is present, must not specify other operations");
    assert_eq!(errs[1], "spec.matchConstraints.resourceRules[0].apiGroups: Invalid value: []string{\"*\", \"apps\"}: if '*' is present, must not specify other API groups");
    assert_eq!(errs[2], "spec.matchConstraints.resourceRules[0].resources: Invalid value: []string{\"*\", \"pods\"}: if '*' is present, must not specify other resources without subresources");
    assert_eq!(errs[3], "spec.variables[0].name: Invalid value: \"1x\": name is not a valid CEL identifier");
    assert!(errs[4].starts_with("spec.variables[1].expression: Invalid value: \"variables.nope\": compilation failed: ERROR: <input>:1:10: undefined field 'nope'"), "{}", errs[4]);
    assert_eq!(errs[5], "spec.auditAnnotations[0].valueExpression: Invalid value: \"1\": must evaluate to one of [string null_type] but got int");
    assert_eq!(errs[6], "spec.auditAnnotations[1].key: Duplicate value: \"k\"");
    assert_eq!(errs.len(), 7, "{errs:#?}");
}

#[test]
fn bindings_as_kube() {
    let binding = |spec: Value| {
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": "b"}, "spec": spec})
    };
    assert!(errors(
        "ValidatingAdmissionPolicyBinding",
        binding(json!({"policyName": "p", "validationActions": ["Deny"]}))
    )
    .is_empty());
    let errs = errors(
        "ValidatingAdmissionPolicyBinding",
        binding(json!({
            "policyName": "Bad_Name",
            "paramRef": {"name": "a/b", "selector": {}},
            "matchResources": {"matchPolicy": "Fuzzy"},
            "validationActions": ["Deny", "Warn", "Deny"]
        })),
    );
    assert_eq!(errs[0], "spec.policyName: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
    assert_eq!(errs[1], "spec.paramRef.name: Invalid value: \"a/b\": may not contain '/'");
    assert_eq!(errs[2], "spec.paramRef.name: Forbidden: name and selector are mutually exclusive");
    assert_eq!(errs[3], "spec.paramRef.selector: Forbidden: name and selector are mutually exclusive");
    assert_eq!(errs[4], "spec.paramRef.parameterNotFoundAction: Required value");
    assert_eq!(errs[5], "spec.matchResouces.matchPolicy: Unsupported value: \"Fuzzy\": supported values: \"Equivalent\", \"Exact\"");
    assert_eq!(errs[6], "spec.validationActions[2]: Duplicate value: \"Deny\"");
    assert_eq!(errs[7], "spec.validationActions: Invalid value: []admissionregistration.ValidationAction{\"Deny\", \"Warn\", \"Deny\"}: must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)");
    assert_eq!(errs.len(), 8, "{errs:#?}");
}

#[test]
fn webhook_configurations_are_defaulted_and_their_conditions_compiled() {
    let c = Catalog::builtin();
    let rt = c.lookup("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations").unwrap();
    let mut cfg = json!({"metadata": {"name": "m"}, "webhooks": [{"name": "a.example.com",
        "clientConfig": {"service": {"namespace": "ns", "name": "s"}},
        "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
        "sideEffects": "None", "admissionReviewVersions": ["v1"],
        "matchConditions": [{"name": "ok", "expression": "object != null"}, {"name": "bad", "expression": "params.x"}]}]});
    prepare_for_create(rt, &mut cfg, "2026-01-01T00:00:00Z");
    let wh = &cfg["webhooks"][0];
    assert_eq!(
        (&wh["failurePolicy"], &wh["matchPolicy"], &wh["timeoutSeconds"], &wh["reinvocationPolicy"]),
        (&json!("Fail"), &json!("Equivalent"), &json!(10), &json!("Never"))
    );
    assert_eq!(wh["rules"][0]["scope"], "*");
    assert_eq!(wh["clientConfig"]["service"]["port"], 443);
    let errs: Vec<String> =
        validate(rt, &cfg).into_iter().map(|c| format!("{}: {}", c.field, c.message)).collect();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("webhooks[0].matchConditions[1].expression: Invalid value: \"params.x\": compilation failed: ERROR: <input>:1:1: undeclared reference to 'params'"),
        "{}",
        errs[0]
    );
}
