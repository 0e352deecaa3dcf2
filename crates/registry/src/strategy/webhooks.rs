//! Validation of ValidatingWebhookConfiguration and MutatingWebhookConfiguration, after kube's
//! `pkg/apis/admissionregistration/validation` (v1 rules: `sideEffects` None or NoneOnDryRun,
//! `admissionReviewVersions` required) and `k8s.io/apiserver/pkg/util/webhook/validation.go`
//! (client configurations), with kube's texts: fully qualified unique names, rules
//! (operations, groups, versions, resources and subresources, scope), policies,
//! `timeoutSeconds` between 1 and 30, selectors, exactly one of an `https` URL or a Service
//! reference. kubeward checks one thing more: a `caBundle` must hold at least one PEM
//! certificate, so a configuration that can never be called is refused when written rather
//! than failing every request it matches.

use super::common::{array, is_subdomain, str_at, DNS1123_SUBDOMAIN_MSG};
use apimachinery::field::{
    cause, invalid, invalid_number, invalid_rendered, not_supported, required, Errors,
};
use apimachinery::quote::go_quote;
use apimachinery::CauseType;
use base64::Engine;
use serde_json::Value;

const OPERATIONS: [&str; 5] = ["*", "CONNECT", "CREATE", "DELETE", "UPDATE"];
const SCOPES: [&str; 3] = ["*", "Cluster", "Namespaced"];
const FAILURE_POLICIES: [&str; 2] = ["Fail", "Ignore"];
const MATCH_POLICIES: [&str; 2] = ["Equivalent", "Exact"];
const SIDE_EFFECTS: [&str; 2] = ["None", "NoneOnDryRun"];
const REINVOCATION_POLICIES: [&str; 2] = ["IfNeeded", "Never"];
const REVIEW_VERSIONS: [&str; 2] = ["v1", "v1beta1"];
const URL_FORM: &str = "; desired format: https://host[/path]";

/// Field errors of a webhook configuration (`mutating` for MutatingWebhookConfiguration).
pub(super) fn validate(obj: &Value, mutating: bool, errs: &mut Errors) {
    let mut names: Vec<&str> = Vec::new();
    for (i, hook) in array(obj, "/webhooks").iter().enumerate() {
        let at = format!("webhooks[{i}]");
        let name = str_at(hook, "/name");
        if names.contains(&name) {
            errs.push(cause(
                CauseType::FieldValueDuplicate,
                &format!("{at}.name"),
                format!("Duplicate value: {}", go_quote(name)),
            ));
        }
        validate_webhook(hook, &at, mutating, errs);
        validate_review_versions(hook, &format!("{at}.admissionReviewVersions"), errs);
        if !name.is_empty() {
            names.push(name);
        }
    }
}

/// Go's `%#v` of a slice of strings of a named type (`[]string{"a", "b"}`).
fn go_slice(type_name: &str, items: &[Value]) -> String {
    let quoted: Vec<String> = items.iter().map(|v| go_quote(v.as_str().unwrap_or(""))).collect();
    format!("[]{type_name}{{{}}}", quoted.join(", "))
}

fn has_wildcard(items: &[Value]) -> bool {
    items.iter().any(|v| v.as_str() == Some("*"))
}

fn validate_webhook(hook: &Value, at: &str, mutating: bool, errs: &mut Errors) {
    fully_qualified_name(str_at(hook, "/name"), &format!("{at}.name"), errs);
    for (j, rule) in array(hook, "/rules").iter().enumerate() {
        validate_rule(rule, &format!("{at}.rules[{j}]"), errs);
    }
    let one_of = |field: &str, supported: &[&str], errs: &mut Errors| {
        if let Some(v) = hook.get(field).and_then(Value::as_str) {
            if !supported.contains(&v) {
                errs.push(not_supported(&format!("{at}.{field}"), v, supported));
            }
        }
    };
    one_of("failurePolicy", &FAILURE_POLICIES, errs);
    one_of("matchPolicy", &MATCH_POLICIES, errs);
    match hook.get("sideEffects").and_then(Value::as_str) {
        None => errs.push(apimachinery::field::required_because(
            &format!("{at}.sideEffects"),
            &format!("must specify one of {}", SIDE_EFFECTS.join(", ")),
        )),
        Some(_) => one_of("sideEffects", &SIDE_EFFECTS, errs),
    }
    if let Some(t) = hook.get("timeoutSeconds").and_then(Value::as_i64) {
        if !(1..=30).contains(&t) {
            errs.push(invalid_number(
                &format!("{at}.timeoutSeconds"),
                t,
                "the timeout value must be between 1 and 30 seconds",
            ));
        }
    }
    for field in ["namespaceSelector", "objectSelector"] {
        if let Some(sel) = hook.get(field).filter(|s| !s.is_null()) {
            if let Err(e) = apimachinery::selectors::LabelSelector::from_label_selector(sel) {
                errs.push(invalid_rendered(
                    &format!("{at}.{field}"),
                    &apimachinery::gofmt::go_json(sel),
                    &e.0,
                ));
            }
        }
    }
    if mutating {
        one_of("reinvocationPolicy", &REINVOCATION_POLICIES, errs);
    }
    validate_client_config(
        hook.get("clientConfig").unwrap_or(&Value::Null),
        &format!("{at}.clientConfig"),
        errs,
    );
}

/// `utilvalidation.IsFullyQualifiedName`.
fn fully_qualified_name(name: &str, at: &str, errs: &mut Errors) {
    if name.is_empty() {
        errs.push(required(at));
        return;
    }
    let name = name.strip_suffix('.').unwrap_or(name);
    if !is_subdomain(name) {
        errs.push(invalid(at, name, DNS1123_SUBDOMAIN_MSG));
    } else if name.split('.').count() < 3 {
        errs.push(invalid(at, name, "should be a domain with at least three segments separated by dots"));
    }
}

/// `validateRuleWithOperations` with subresources allowed.
fn validate_rule(rule: &Value, at: &str, errs: &mut Errors) {
    let operations = array(rule, "/operations");
    if operations.is_empty() {
        errs.push(required(&format!("{at}.operations")));
    }
    if operations.len() > 1 && has_wildcard(operations) {
        errs.push(invalid_rendered(
            &format!("{at}.operations"),
            &go_slice("admissionregistration.OperationType", operations),
            "if '*' is present, must not specify other operations",
        ));
    }
    for (i, op) in operations.iter().enumerate() {
        let op = op.as_str().unwrap_or("");
        if !OPERATIONS.contains(&op) {
            errs.push(not_supported(&format!("{at}.operations[{i}]"), op, &OPERATIONS));
        }
    }
    let groups = array(rule, "/apiGroups");
    if groups.is_empty() {
        errs.push(required(&format!("{at}.apiGroups")));
    }
    if groups.len() > 1 && has_wildcard(groups) {
        errs.push(invalid_rendered(
            &format!("{at}.apiGroups"),
            &go_slice("string", groups),
            "if '*' is present, must not specify other API groups",
        ));
    }
    let versions = array(rule, "/apiVersions");
    if versions.is_empty() {
        errs.push(required(&format!("{at}.apiVersions")));
    }
    if versions.len() > 1 && has_wildcard(versions) {
        errs.push(invalid_rendered(
            &format!("{at}.apiVersions"),
            &go_slice("string", versions),
            "if '*' is present, must not specify other API versions",
        ));
    }
    for (i, v) in versions.iter().enumerate() {
        if v.as_str().is_none_or(str::is_empty) {
            errs.push(required(&format!("{at}.apiVersions[{i}]")));
        }
    }
    validate_resources(array(rule, "/resources"), &format!("{at}.resources"), errs);
    if let Some(scope) = rule.get("scope").and_then(Value::as_str) {
        if !SCOPES.contains(&scope) {
            errs.push(not_supported(&format!("{at}.scope"), scope, &SCOPES));
        }
    }
}

/// `validateResources`: wildcards of resources and subresources that do not overlap.
fn validate_resources(resources: &[Value], at: &str, errs: &mut Errors) {
    if resources.is_empty() {
        errs.push(required(at));
    }
    let (mut wild_subs, mut wild_res): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    let (mut double, mut single, mut plain) = (false, false, false);
    for (i, r) in resources.iter().enumerate() {
        let r = r.as_str().unwrap_or("");
        if r.is_empty() {
            errs.push(required(&format!("{at}[{i}]")));
            continue;
        }
        double |= r == "*/*";
        single |= r == "*";
        let Some((res, sub)) = r.split_once('/') else {
            plain = r != "*";
            continue;
        };
        if wild_subs.contains(&res) {
            errs.push(invalid(
                &format!("{at}[{i}]"),
                r,
                &format!("if '{res}/*' is present, must not specify {r}"),
            ));
        }
        if wild_res.contains(&sub) {
            errs.push(invalid(
                &format!("{at}[{i}]"),
                r,
                &format!("if '*/{sub}' is present, must not specify {r}"),
            ));
        }
        if sub == "*" {
            wild_subs.push(res);
        }
        if res == "*" {
            wild_res.push(sub);
        }
    }
    if resources.len() > 1 && double {
        errs.push(invalid_rendered(
            at,
            &go_slice("string", resources),
            "if '*/*' is present, must not specify other resources",
        ));
    }
    if single && plain {
        errs.push(invalid_rendered(
            at,
            &go_slice("string", resources),
            "if '*' is present, must not specify other resources without subresources",
        ));
    }
}

/// `validateAdmissionReviewVersions`, a recognized version required (v1).
fn validate_review_versions(hook: &Value, at: &str, errs: &mut Errors) {
    let versions = array(hook, "/admissionReviewVersions");
    if versions.is_empty() {
        errs.push(apimachinery::field::required_because(
            at,
            &format!("must specify one of {}", REVIEW_VERSIONS.join(", ")),
        ));
        return;
    }
    let mut seen: Vec<&str> = Vec::new();
    for (i, v) in versions.iter().enumerate() {
        let v = v.as_str().unwrap_or("");
        if seen.contains(&v) {
            errs.push(invalid(&format!("{at}[{i}]"), v, "duplicate version"));
            continue;
        }
        seen.push(v);
        if let Some(why) = dns1035_label_error(v) {
            errs.push(invalid(&format!("{at}[{i}]"), v, why));
        }
    }
    if !seen.iter().any(|v| REVIEW_VERSIONS.contains(v)) {
        errs.push(invalid_rendered(
            at,
            &go_slice("string", versions),
            &format!("must include at least one of {}", REVIEW_VERSIONS.join(", ")),
        ));
    }
}

fn dns1035_label_error(v: &str) -> Option<&'static str> {
    let ok = !v.is_empty()
        && v.len() <= 63
        && v.starts_with(|c: char| c.is_ascii_lowercase())
        && v.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && v.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    (!ok).then_some(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
    )
}

/// `ValidateWebhookClientConfig`: exactly one of `url` (https) and `service`, and a
/// `caBundle` holding PEM certificates.
fn validate_client_config(cc: &Value, at: &str, errs: &mut Errors) {
    let url = cc.get("url").and_then(Value::as_str);
    let service = cc.get("service").filter(|s| !s.is_null());
    match (url, service) {
        (Some(u), None) => validate_url(u, &format!("{at}.url"), errs),
        (None, Some(s)) => validate_service(s, &format!("{at}.service"), errs),
        _ => {
            errs.push(apimachinery::field::required_because(at, "exactly one of url or service is required"))
        }
    }
    if let Some(bundle) = cc.get("caBundle").and_then(Value::as_str).filter(|b| !b.is_empty()) {
        let pem = base64::engine::general_purpose::STANDARD.decode(bundle).unwrap_or_default();
        let certs = x509_parser::pem::Pem::iter_from_buffer(&pem)
            .filter_map(Result::ok)
            .filter(|p| p.label == "CERTIFICATE" && p.parse_x509().is_ok())
            .count();
        if certs == 0 {
            errs.push(invalid_rendered(
                &format!("{at}.caBundle"),
                "\"<bytes>\"",
                "must hold at least one PEM-encoded CERTIFICATE",
            ));
        }
    }
}

/// `ValidateWebhookURL` with https forced (the URL read as Go's `url.Parse` splits it:
/// scheme, user information, host, path, query, fragment).
fn validate_url(url: &str, at: &str, errs: &mut Errors) {
    let (rest, fragment) = match url.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (url, None),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let (scheme, authority) = match rest.split_once("://") {
        Some((s, after))
            if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            (s.to_ascii_lowercase(), after.split('/').next().unwrap_or(""))
        }
        _ => (String::new(), ""),
    };
    let (user, host) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    if scheme != "https" {
        errs.push(invalid(at, &scheme, &format!("'https' is the only allowed URL scheme{URL_FORM}")));
    }
    if host.is_empty() {
        errs.push(invalid(at, host, &format!("host must be specified{URL_FORM}")));
    }
    if let Some(u) = user {
        errs.push(invalid(at, u, "user information is not permitted in the URL"));
    }
    if let Some(f) = fragment.filter(|f| !f.is_empty()) {
        errs.push(invalid(at, f, "fragments are not permitted in the URL"));
    }
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        errs.push(invalid(at, q, "query parameters are not permitted in the URL"));
    }
}

/// `ValidateWebhookService`.
fn validate_service(svc: &Value, at: &str, errs: &mut Errors) {
    if str_at(svc, "/name").is_empty() {
        errs.push(apimachinery::field::required_because(&format!("{at}.name"), "service name is required"));
    }
    if str_at(svc, "/namespace").is_empty() {
        errs.push(apimachinery::field::required_because(
            &format!("{at}.namespace"),
            "service namespace is required",
        ));
    }
    let port = svc.get("port").and_then(Value::as_i64).unwrap_or(443);
    if !(1..=65535).contains(&port) {
        errs.push(invalid_number(
            &format!("{at}.port"),
            port,
            "port is not valid: must be between 1 and 65535, inclusive",
        ));
    }
    let Some(path) = svc.get("path").and_then(Value::as_str) else { return };
    if path.is_empty() || path == "/" {
        return;
    }
    let field = format!("{at}.path");
    if path == "//" {
        errs.push(invalid(&field, path, "segment[0] may not be empty"));
        return;
    }
    if !path.starts_with('/') {
        errs.push(invalid(&field, path, "must start with a '/'"));
    }
    let rest = path.get(1..).unwrap_or("");
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    for (i, step) in rest.split('/').enumerate() {
        if step.is_empty() {
            errs.push(invalid(&field, path, &format!("segment[{i}] may not be empty")));
        } else if !is_subdomain(step) {
            errs.push(invalid(&field, path, &format!("segment[{i}]: {DNS1123_SUBDOMAIN_MSG}")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn messages(obj: Value, mutating: bool) -> Vec<String> {
        let mut errs = Vec::new();
        validate(&obj, mutating, &mut errs);
        errs.into_iter().map(|c| format!("{}: {}", c.field, c.message)).collect()
    }

    fn hook(extra: Value) -> Value {
        let mut h = json!({"name": "check.example.com", "sideEffects": "None", "admissionReviewVersions": ["v1"],
            "clientConfig": {"url": "https://hook.example.com/validate"},
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]});
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            h[k] = v;
        }
        h
    }

    #[test]
    fn a_good_configuration_passes() {
        assert!(messages(json!({"webhooks": [hook(json!({}))]}), false).is_empty());
        let svc = hook(
            json!({"clientConfig": {"service": {"namespace": "hooks", "name": "checker", "path": "/validate", "port": 8443}}}),
        );
        assert!(messages(json!({"webhooks": [svc]}), true).is_empty());
    }

    #[test]
    fn kube_refusals_with_kube_texts() {
        let bad = hook(json!({
            "name": "short.name",
            "timeoutSeconds": 31,
            "sideEffects": "Some",
            "failurePolicy": "Maybe",
            "clientConfig": {"url": "http://hook.example.com/x?y=1"},
            "rules": [{"operations": ["*", "CREATE"], "apiGroups": [], "apiVersions": ["v1"], "resources": ["*/*", "pods"], "scope": "Everywhere"}],
            "admissionReviewVersions": ["v2"]}));
        assert_eq!(
            messages(json!({"webhooks": [bad]}), false),
            [
                "webhooks[0].name: Invalid value: \"short.name\": should be a domain with at least three segments separated by dots",
                "webhooks[0].rules[0].operations: Invalid value: []admissionregistration.OperationType{\"*\", \"CREATE\"}: if '*' is present, must not specify other operations",
                "webhooks[0].rules[0].apiGroups: Required value",
                "webhooks[0].rules[0].resources: Invalid value: []string{\"*/*\", \"pods\"}: if '*/*' is present, must not specify other resources",
                "webhooks[0].rules[0].scope: Unsupported value: \"Everywhere\": supported values: \"*\", \"Cluster\", \"Namespaced\"",
                "webhooks[0].failurePolicy: Unsupported value: \"Maybe\": supported values: \"Fail\", \"Ignore\"",
                "webhooks[0].sideEffects: Unsupported value: \"Some\": supported values: \"None\", \"NoneOnDryRun\"",
                "webhooks[0].timeoutSeconds: Invalid value: 31: the timeout value must be between 1 and 30 seconds",
                "webhooks[0].clientConfig.url: Invalid value: \"http\": 'https' is the only allowed URL scheme; desired format: https://host[/path]",
                "webhooks[0].clientConfig.url: Invalid value: \"y=1\": query parameters are not permitted in the URL",
                "webhooks[0].admissionReviewVersions: Invalid value: []string{\"v2\"}: must include at least one of v1, v1beta1",
            ]
        );
        let twice = json!({"webhooks": [hook(json!({"timeoutSeconds": 0})), hook(json!({"clientConfig": {}, "caBundle": "x"}))]});
        assert_eq!(
            messages(twice, false),
            [
                "webhooks[0].timeoutSeconds: Invalid value: 0: the timeout value must be between 1 and 30 seconds",
                "webhooks[1].name: Duplicate value: \"check.example.com\"",
                "webhooks[1].clientConfig: Required value: exactly one of url or service is required",
            ]
        );
    }

    #[test]
    fn ca_bundles_must_hold_certificates_and_service_paths_be_clean() {
        let not_pem = base64::engine::general_purpose::STANDARD.encode("not a certificate");
        let h = hook(json!({"clientConfig": {"caBundle": not_pem,
            "service": {"namespace": "", "name": "checker", "path": "validate//x", "port": 0}}}));
        assert_eq!(
            messages(json!({"webhooks": [h]}), true),
            [
                "webhooks[0].clientConfig.service.namespace: Required value: service namespace is required",
                "webhooks[0].clientConfig.service.port: Invalid value: 0: port is not valid: must be between 1 and 65535, inclusive",
                "webhooks[0].clientConfig.service.path: Invalid value: \"validate//x\": must start with a '/'",
                "webhooks[0].clientConfig.service.path: Invalid value: \"validate//x\": segment[1] may not be empty",
                "webhooks[0].clientConfig.caBundle: Invalid value: \"<bytes>\": must hold at least one PEM-encoded CERTIFICATE",
            ]
        );
    }
}
