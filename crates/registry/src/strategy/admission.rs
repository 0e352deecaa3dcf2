//! admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy and
//! ValidatingAdmissionPolicyBinding: kube's defaults (`pkg/apis/admissionregistration/v1`)
//! and validation (`pkg/apis/admissionregistration/validation`); the webhook
//! configurations' defaults and their enumerations and `matchConditions`; with every CEL
//! expression compiled in kube's admission environment ([`kcel::admission`]) so that an
//! expression that does not compile is refused at create with kube's detail. The rules,
//! match resources and selectors they share are in `admission_rules`.

use super::admission_rules::{
    dns1123_subdomain_errors, go_strings, path_segment_errors, validate_label_selector,
    validate_match_resources,
};
use super::common::{array, str_at};
use apimachinery::field::{
    duplicate, forbidden, invalid, invalid_rendered, not_supported, required, required_because, too_many,
    Errors,
};
use apimachinery::selectors::validation::qualified_name_errors;
use kcel::admission::{Environment, ExpressionKind};
use serde_json::{json, Map, Value};

/// kube's `maxAuditAnnotations`.
const MAX_AUDIT_ANNOTATIONS: usize = 20;
/// kube's `maxAuditAnnotationValueExpressionLength`.
const MAX_AUDIT_ANNOTATION_VALUE_EXPRESSION_LENGTH: usize = 5 * 1024;
/// kube allows at most 64 match conditions.
const MAX_MATCH_CONDITIONS: usize = 64;

const FAILURE_POLICIES: &[&str] = &["Fail", "Ignore"];
const REASONS: &[&str] = &["Forbidden", "Invalid", "RequestEntityTooLarge"];
const ACTIONS: &[&str] = &["Audit", "Deny", "Warn"];

/// Defaults of the admission policy kinds (`SetDefaults_ValidatingAdmissionPolicySpec`,
/// `SetDefaults_MatchResources`, `SetDefaults_Rule`).
pub(super) fn defaults(kind: &str, o: &mut Map<String, Value>) {
    if kind.ends_with("WebhookConfiguration") {
        return webhook_defaults(kind, o);
    }
    let Some(spec) = o.get_mut("spec").and_then(Value::as_object_mut) else { return };
    match kind {
        "ValidatingAdmissionPolicy" => {
            spec.entry("failurePolicy").or_insert_with(|| json!("Fail"));
            if let Some(m) = spec.get_mut("matchConstraints").and_then(Value::as_object_mut) {
                match_resources_defaults(m);
            }
        }
        "ValidatingAdmissionPolicyBinding" => {
            if let Some(m) = spec.get_mut("matchResources").and_then(Value::as_object_mut) {
                match_resources_defaults(m);
            }
        }
        "MutatingAdmissionPolicy" | "MutatingAdmissionPolicyBinding" => {
            super::mutating_policy::defaults(kind, spec)
        }
        _ => {}
    }
}

/// Defaults of the webhooks of a webhook configuration (`SetDefaults_ValidatingWebhook`,
/// `SetDefaults_MutatingWebhook`, `SetDefaults_Rule`, `SetDefaults_ServiceReference`).
fn webhook_defaults(kind: &str, o: &mut Map<String, Value>) {
    for wh in o.get_mut("webhooks").and_then(Value::as_array_mut).into_iter().flatten() {
        let Some(w) = wh.as_object_mut() else { continue };
        w.entry("failurePolicy").or_insert_with(|| json!("Fail"));
        w.entry("matchPolicy").or_insert_with(|| json!("Equivalent"));
        w.entry("namespaceSelector").or_insert_with(|| json!({}));
        w.entry("objectSelector").or_insert_with(|| json!({}));
        w.entry("timeoutSeconds").or_insert_with(|| json!(10));
        if kind == "MutatingWebhookConfiguration" {
            w.entry("reinvocationPolicy").or_insert_with(|| json!("Never"));
        }
        for rule in w.get_mut("rules").and_then(Value::as_array_mut).into_iter().flatten() {
            if let Some(r) = rule.as_object_mut() {
                r.entry("scope").or_insert_with(|| json!("*"));
            }
        }
        if let Some(svc) =
            w.get_mut("clientConfig").and_then(|c| c.get_mut("service")).and_then(Value::as_object_mut)
        {
            svc.entry("port").or_insert_with(|| json!(443));
        }
    }
}

/// Part of kube's webhook configuration validation: the enumerations and the
/// `matchConditions` (compiled, as at policy create).
/// The webhooks' CEL `matchConditions` (the rest of a webhook configuration is checked by
/// [`super::webhooks`]).
fn validate_webhook_match_conditions(obj: &Value, errs: &mut Errors) {
    for (i, wh) in array(obj, "/webhooks").iter().enumerate() {
        validate_match_conditions(
            array(wh, "/matchConditions"),
            false,
            &format!("webhooks[{i}].matchConditions"),
            errs,
        );
    }
}

pub(super) fn match_resources_defaults(m: &mut Map<String, Value>) {
    m.entry("matchPolicy").or_insert_with(|| json!("Equivalent"));
    m.entry("namespaceSelector").or_insert_with(|| json!({}));
    m.entry("objectSelector").or_insert_with(|| json!({}));
    for key in ["resourceRules", "excludeResourceRules"] {
        for rule in m.get_mut(key).and_then(Value::as_array_mut).into_iter().flatten() {
            if let Some(r) = rule.as_object_mut() {
                r.entry("scope").or_insert_with(|| json!("*"));
            }
        }
    }
}

/// Field errors of a ValidatingAdmissionPolicy or a binding (the metadata is checked by
/// the caller).
pub(super) fn validate(kind: &str, obj: &Value, errs: &mut Errors) {
    match kind {
        "ValidatingAdmissionPolicy" => validate_policy(obj, errs),
        "ValidatingAdmissionPolicyBinding" => validate_binding(obj, errs),
        "MutatingAdmissionPolicy" | "MutatingAdmissionPolicyBinding" => {
            super::mutating_policy::validate(kind, obj, errs)
        }
        "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration" => {
            super::webhooks::validate(obj, kind.starts_with("Mutating"), errs);
            validate_webhook_match_conditions(obj, errs);
        }
        _ => {}
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
        // Later expressions may read it, compiled or not (kube's composited compiler);
        // a compiled one is declared with its type.
        if expression.trim().is_empty() {
            env.push_variable(name);
        }
    }
    let validations = array(spec, "/validations");
    let audit = array(spec, "/auditAnnotations");
    if validations.is_empty() && audit.is_empty() {
        let detail = "validations or auditAnnotations must contain at least one item";
        errs.push(required_because("spec.validations", detail));
        errs.push(required_because("spec.auditAnnotations", detail));
        return;
    }
    for (i, v) in validations.iter().enumerate() {
        validate_validation(v, &env, &format!("spec.validations[{i}]"), errs);
    }
    if audit.len() > MAX_AUDIT_ANNOTATIONS {
        errs.push(invalid_rendered(
            "spec.auditAnnotations",
            &apimachinery::gofmt::go_json(spec.get("auditAnnotations").unwrap_or(&Value::Null)),
            &format!("must not have more than {MAX_AUDIT_ANNOTATIONS} auditAnnotations"),
        ));
    }
    let policy = str_at(obj, "/metadata/name");
    let mut keys: Vec<&str> = Vec::new();
    for (i, a) in audit.iter().enumerate() {
        let path = format!("spec.auditAnnotations[{i}]");
        validate_audit_annotation(a, policy, &env, &path, errs);
        let key = str_at(a, "/key");
        if keys.contains(&key) {
            errs.push(duplicate(&format!("{path}.key"), key));
        }
        keys.push(key);
    }
}

pub(super) fn validate_param_kind(pk: &Value, errs: &mut Errors) {
    let api_version = str_at(pk, "/apiVersion");
    if api_version.is_empty() {
        errs.push(required("spec.paramKind.apiVersion"));
    } else {
        let parsed = match api_version.matches('/').count() {
            0 => Some(("", api_version)),
            1 => api_version.split_once('/'),
            _ => None,
        };
        match parsed {
            None => errs.push(invalid(
                "spec.paramKind.apiVersion",
                api_version,
                &format!("unexpected GroupVersion string: {api_version}"),
            )),
            Some((group, version)) => {
                if !group.is_empty() {
                    let e = dns1123_subdomain_errors(group);
                    if !e.is_empty() {
                        errs.push(invalid("spec.paramKind.apiVersion", group, &e.join(",")));
                    }
                }
                if version.is_empty() {
                    errs.push(invalid("spec.paramKind.apiVersion", api_version, "version must be specified"));
                } else {
                    let e = dns1035_label_errors(version);
                    if !e.is_empty() {
                        errs.push(invalid("spec.paramKind.apiVersion", version, &e.join(",")));
                    }
                }
            }
        }
    }
    let kind = str_at(pk, "/kind");
    if kind.is_empty() {
        errs.push(required("spec.paramKind.kind"));
    } else {
        let e = dns1035_label_errors(&kind.to_lowercase());
        if !e.is_empty() {
            errs.push(invalid(
                "spec.paramKind.kind",
                kind,
                &format!("may have mixed case, but should otherwise match: {}", e.join(",")),
            ));
        }
    }
}

/// kube's `validateMatchConditions` (shared with the webhook configurations).
pub(super) fn validate_match_conditions(
    conditions: &[Value],
    has_params: bool,
    path: &str,
    errs: &mut Errors,
) {
    if conditions.len() > MAX_MATCH_CONDITIONS {
        errs.push(too_many(path, conditions.len() as i64, MAX_MATCH_CONDITIONS as i64));
    }
    let env = Environment::new(has_params, true);
    let mut names: Vec<&str> = Vec::new();
    for (i, c) in conditions.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let expression = str_at(c, "/expression").trim();
        if expression.is_empty() {
            errs.push(required(&format!("{at}.expression")));
        } else if let Err(detail) = env.compile(expression, ExpressionKind::Condition) {
            errs.push(invalid(&format!("{at}.expression"), expression, &detail));
        }
        let name = str_at(c, "/name");
        if name.is_empty() {
            errs.push(required(&format!("{at}.name")));
        } else {
            for msg in qualified_name_errors(name) {
                errs.push(invalid(&format!("{at}.name"), name, &msg));
            }
            if names.contains(&name) {
                errs.push(duplicate(&format!("{at}.name"), name));
            } else {
                names.push(name);
            }
        }
    }
}

fn validate_validation(v: &Value, env: &Environment, path: &str, errs: &mut Errors) {
    let expression = str_at(v, "/expression");
    if expression.trim().is_empty() {
        errs.push(required_because(&format!("{path}.expression"), "expression is not specified"));
    } else if let Err(detail) = env.compile(expression, ExpressionKind::Condition) {
        errs.push(invalid(&format!("{path}.expression"), expression, &detail));
    }
    let message_expression = str_at(v, "/messageExpression");
    if !message_expression.is_empty() && message_expression.trim().is_empty() {
        errs.push(invalid(
            &format!("{path}.messageExpression"),
            message_expression,
            "must be non-empty if specified",
        ));
    } else if !message_expression.trim().is_empty() {
        if let Err(detail) = env.without_authorizer().compile(message_expression, ExpressionKind::Message) {
            errs.push(invalid(&format!("{path}.messageExpression"), message_expression, &detail));
        }
    }
    let message = str_at(v, "/message");
    if !message.is_empty() && message.trim().is_empty() {
        errs.push(invalid(&format!("{path}.message"), message, "message must be non-empty if specified"));
    } else if message.trim().contains(['\n', '\r']) {
        errs.push(invalid(&format!("{path}.message"), message, "message must not contain line breaks"));
    }
    if let Some(reason) = v.get("reason").and_then(Value::as_str) {
        if !REASONS.contains(&reason) {
            errs.push(not_supported(&format!("{path}.reason"), reason, REASONS));
        }
    }
}

fn validate_audit_annotation(a: &Value, policy: &str, env: &Environment, path: &str, errs: &mut Errors) {
    let key = str_at(a, "/key");
    if policy.is_empty() {
        errs.push(invalid(&format!("{path}.key"), key, "requires metadata.name be non-empty"));
    } else {
        let qualified = format!("{policy}/{key}");
        for msg in qualified_name_errors(&qualified) {
            errs.push(invalid(&format!("{path}.key"), &qualified, &msg));
        }
    }
    let value_expression = str_at(a, "/valueExpression");
    let trimmed = value_expression.trim();
    if trimmed.is_empty() {
        errs.push(required_because(&format!("{path}.valueExpression"), "valueExpression is not specified"));
    } else if trimmed.len() > MAX_AUDIT_ANNOTATION_VALUE_EXPRESSION_LENGTH {
        errs.push(required_because(
            &format!("{path}.valueExpression"),
            &format!("must not exceed {MAX_AUDIT_ANNOTATION_VALUE_EXPRESSION_LENGTH} bytes in length"),
        ));
    } else if let Err(detail) = env.compile(trimmed, ExpressionKind::AuditAnnotation) {
        errs.push(invalid(&format!("{path}.valueExpression"), value_expression, &detail));
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
        // kube reports these under `spec.matchResouces` (sic).
        validate_match_resources(mr, "spec.matchResouces", errs);
    }
    validate_validation_actions(array(spec, "/validationActions"), errs);
}

pub(super) fn validate_param_ref(pr: &Value, errs: &mut Errors) {
    let name = str_at(pr, "/name");
    let selector = pr.get("selector").filter(|s| !s.is_null());
    if !name.is_empty() {
        for msg in path_segment_errors(name) {
            errs.push(invalid("spec.paramRef.name", name, &msg));
        }
        if selector.is_some() {
            errs.push(forbidden("spec.paramRef.name", "name and selector are mutually exclusive"));
        }
    }
    if let Some(sel) = selector {
        validate_label_selector(sel, "spec.paramRef.selector", errs);
        if !name.is_empty() {
            errs.push(forbidden("spec.paramRef.selector", "name and selector are mutually exclusive"));
        }
    }
    if name.is_empty() && selector.is_none() {
        errs.push(required_because("spec.paramRef", "one of name or selector must be specified"));
    }
    match pr.get("parameterNotFoundAction").and_then(Value::as_str) {
        None | Some("") => errs.push(required("spec.paramRef.parameterNotFoundAction")),
        Some(a) if a != "Deny" && a != "Allow" => {
            errs.push(not_supported("spec.paramRef.parameterNotFoundAction", a, &["Deny", "Allow"]))
        }
        Some(_) => {}
    }
}

fn validate_validation_actions(actions: &[Value], errs: &mut Errors) {
    let path = "spec.validationActions";
    let mut seen: Vec<&str> = Vec::new();
    for (i, a) in actions.iter().enumerate() {
        let a = a.as_str().unwrap_or_default();
        if !ACTIONS.contains(&a) {
            errs.push(not_supported(&format!("{path}[{i}]"), a, ACTIONS));
        }
        if seen.contains(&a) {
            errs.push(duplicate(&format!("{path}[{i}]"), a));
        }
        seen.push(a);
    }
    if seen.contains(&"Deny") && seen.contains(&"Warn") {
        let rendered = go_strings("admissionregistration.ValidationAction", &seen);
        errs.push(invalid_rendered(path, &rendered, "must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)"));
    }
    if seen.is_empty() {
        errs.push(required_because(path, "at least one validation action is required"));
    }
}

/// Field errors of a policy's status (kube's `validateValidatingAdmissionPolicyStatus`).
pub(super) fn validate_status(obj: &Value, errs: &mut Errors) {
    for (i, w) in array(obj, "/status/typeChecking/expressionWarnings").iter().enumerate() {
        let path = format!("status.typeChecking.expressionWarnings[{i}]");
        if str_at(w, "/warning").is_empty() {
            errs.push(required(&format!("{path}.warning")));
        }
        if str_at(w, "/fieldRef").trim().is_empty() {
            errs.push(required(&format!("{path}.fieldRef")));
        }
    }
}

/// `^[_a-zA-Z][_a-zA-Z0-9]*$`, not one of CEL's reserved words.
pub(super) fn is_cel_identifier(name: &str) -> bool {
    const RESERVED: &[&str] = &[
        "true",
        "false",
        "null",
        "in",
        "as",
        "break",
        "const",
        "continue",
        "else",
        "for",
        "function",
        "if",
        "import",
        "let",
        "loop",
        "package",
        "namespace",
        "return",
        "var",
        "void",
        "while",
    ];
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
        && !RESERVED.contains(&name)
}

/// kube's `IsDNS1035Label`.
fn dns1035_label_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push("must be no more than 63 characters".to_string());
    }
    let b = s.as_bytes();
    let ok = b.first().is_some_and(u8::is_ascii_lowercase)
        && b.last().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-');
    if !ok {
        errs.push("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')".to_string());
    }
    errs
}

#[cfg(test)]
#[path = "admission_tests.rs"]
mod tests;
