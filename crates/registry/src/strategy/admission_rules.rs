//! What the admissionregistration kinds share in kube's validation
//! (`pkg/apis/admissionregistration/validation`): `MatchResources`, rules with operations
//! and their resources, label selectors (`metav1validation.ValidateLabelSelector`), and the
//! name checks they use.

use super::common::{array, str_at};
use apimachinery::field::{
    duplicate, forbidden, invalid, invalid_rendered, not_supported, required, required_because, Errors,
};
use apimachinery::quote::go_quote;
use apimachinery::selectors::validation::{label_value_errors, qualified_name_errors};
use serde_json::Value;

const MATCH_POLICIES: &[&str] = &["Equivalent", "Exact"];
const OPERATIONS: &[&str] = &["*", "CONNECT", "CREATE", "DELETE", "UPDATE"];
const SCOPES: &[&str] = &["*", "Cluster", "Namespaced"];

/// Go's `%#v` of a slice of strings of type `ty` (`[]string{"a", "b"}`).
pub(super) fn go_strings(ty: &str, items: &[&str]) -> String {
    let inner: Vec<String> = items.iter().map(|s| go_quote(s)).collect();
    format!("[]{ty}{{{}}}", inner.join(", "))
}

fn strings<'a>(v: &'a Value, key: &str) -> Vec<&'a str> {
    array(v, &format!("/{key}")).iter().map(|s| s.as_str().unwrap_or_default()).collect()
}

/// kube's `IsDNS1123Subdomain`.
pub(super) fn dns1123_subdomain_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 253 {
        errs.push("must be no more than 253 characters".to_string());
    }
    if !super::common::is_subdomain_chars(s) {
        errs.push(super::common::DNS1123_SUBDOMAIN_MSG.to_string());
    }
    errs
}

/// kube's `IsValidPathSegmentName`.
pub(super) fn path_segment_errors(name: &str) -> Vec<String> {
    if name == "." || name == ".." {
        return vec![format!("may not be '{name}'")];
    }
    ["/", "%"].iter().filter(|c| name.contains(**c)).map(|c| format!("may not contain '{c}'")).collect()
}

/// `metav1validation.ValidateLabelSelector` (strict label values).
pub(super) fn validate_label_selector(sel: &Value, path: &str, errs: &mut Errors) {
    if let Some(labels) = sel.get("matchLabels").and_then(Value::as_object) {
        let at = format!("{path}.matchLabels");
        let mut keys: Vec<&String> = labels.keys().collect();
        keys.sort();
        for k in keys {
            for msg in qualified_name_errors(k) {
                errs.push(invalid(&at, k, &msg));
            }
            let v = labels.get(k).and_then(Value::as_str).unwrap_or_default();
            for msg in label_value_errors(v) {
                errs.push(invalid(&at, v, &msg));
            }
        }
    }
    for (i, e) in array(sel, "/matchExpressions").iter().enumerate() {
        let at = format!("{path}.matchExpressions[{i}]");
        let values = strings(e, "values");
        match str_at(e, "/operator") {
            "In" | "NotIn" => {
                if values.is_empty() {
                    errs.push(required_because(
                        &format!("{at}.values"),
                        "must be specified when `operator` is 'In' or 'NotIn'",
                    ));
                }
            }
            "Exists" | "DoesNotExist" => {
                if !values.is_empty() {
                    errs.push(forbidden(
                        &format!("{at}.values"),
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    ));
                }
            }
            other => errs.push(invalid(&format!("{at}.operator"), other, "not a valid selector operator")),
        }
        let key = str_at(e, "/key");
        for msg in qualified_name_errors(key) {
            errs.push(invalid(&format!("{at}.key"), key, &msg));
        }
        for (j, v) in values.iter().enumerate() {
            for msg in label_value_errors(v) {
                errs.push(invalid(&format!("{at}.values[{j}]"), v, &msg));
            }
        }
    }
}

/// kube's `validateMatchResources`.
pub(super) fn validate_match_resources(mr: &Value, path: &str, errs: &mut Errors) {
    match mr.get("matchPolicy").and_then(Value::as_str) {
        None => errs.push(required(&format!("{path}.matchPolicy"))),
        Some(p) if !MATCH_POLICIES.contains(&p) => {
            errs.push(not_supported(&format!("{path}.matchPolicy"), p, MATCH_POLICIES))
        }
        Some(_) => {}
    }
    for key in ["namespaceSelector", "objectSelector"] {
        match mr.get(key).filter(|s| !s.is_null()) {
            None => errs.push(required(&format!("{path}.{key}"))),
            Some(sel) => validate_label_selector(sel, &format!("{path}.{key}"), errs),
        }
    }
    for key in ["resourceRules", "excludeResourceRules"] {
        for (i, rule) in array(mr, &format!("/{key}")).iter().enumerate() {
            validate_named_rule(rule, &format!("{path}.{key}[{i}]"), errs);
        }
    }
}

fn validate_named_rule(rule: &Value, path: &str, errs: &mut Errors) {
    let mut seen: Vec<&str> = Vec::new();
    for (i, name) in strings(rule, "resourceNames").into_iter().enumerate() {
        let at = format!("{path}.resourceNames[{i}]");
        for msg in path_segment_errors(name) {
            errs.push(invalid(&at, name, &msg));
        }
        if seen.contains(&name) {
            errs.push(duplicate(&at, name));
        } else {
            seen.push(name);
        }
    }
    validate_rule_with_operations(rule, path, errs);
}

/// kube's `validateRuleWithOperations` (subresources allowed).
pub(super) fn validate_rule_with_operations(rule: &Value, path: &str, errs: &mut Errors) {
    let ops = strings(rule, "operations");
    if ops.is_empty() {
        errs.push(required(&format!("{path}.operations")));
    }
    if ops.len() > 1 && ops.contains(&"*") {
        errs.push(invalid_rendered(
            &format!("{path}.operations"),
            &go_strings("admissionregistration.OperationType", &ops),
            "if '*' is present, must not specify other operations",
        ));
    }
    for (i, op) in ops.iter().enumerate() {
        if !OPERATIONS.contains(op) {
            errs.push(not_supported(&format!("{path}.operations[{i}]"), op, OPERATIONS));
        }
    }
    let groups = strings(rule, "apiGroups");
    if groups.is_empty() {
        errs.push(required(&format!("{path}.apiGroups")));
    }
    if groups.len() > 1 && groups.contains(&"*") {
        errs.push(invalid_rendered(
            &format!("{path}.apiGroups"),
            &go_strings("string", &groups),
            "if '*' is present, must not specify other API groups",
        ));
    }
    let versions = strings(rule, "apiVersions");
    if versions.is_empty() {
        errs.push(required(&format!("{path}.apiVersions")));
    }
    if versions.len() > 1 && versions.contains(&"*") {
        errs.push(invalid_rendered(
            &format!("{path}.apiVersions"),
            &go_strings("string", &versions),
            "if '*' is present, must not specify other API versions",
        ));
    }
    for (i, v) in versions.iter().enumerate() {
        if v.is_empty() {
            errs.push(required(&format!("{path}.apiVersions[{i}]")));
        }
    }
    validate_resources(&strings(rule, "resources"), &format!("{path}.resources"), errs);
    if let Some(scope) = rule.get("scope").and_then(Value::as_str) {
        if !SCOPES.contains(&scope) {
            errs.push(not_supported(&format!("{path}.scope"), scope, SCOPES));
        }
    }
}

/// kube's `validateResources`: `x/*`, `*/x`, `*/*` and `*` combinations.
fn validate_resources(resources: &[&str], path: &str, errs: &mut Errors) {
    if resources.is_empty() {
        errs.push(required(path));
    }
    let mut with_wildcard_sub: Vec<&str> = Vec::new();
    let mut sub_with_wildcard_res: Vec<&str> = Vec::new();
    let (mut double, mut single, mut plain) = (false, false, false);
    for (i, rs) in resources.iter().enumerate() {
        if rs.is_empty() {
            errs.push(required(&format!("{path}[{i}]")));
            continue;
        }
        if *rs == "*/*" {
            double = true;
        }
        if *rs == "*" {
            single = true;
        }
        let Some((res, sub)) = rs.split_once('/') else {
            plain = *rs != "*";
            continue;
        };
        if with_wildcard_sub.contains(&res) {
            errs.push(invalid(
                &format!("{path}[{i}]"),
                rs,
                &format!("if '{res}/*' is present, must not specify {rs}"),
            ));
        }
        if sub_with_wildcard_res.contains(&sub) {
            errs.push(invalid(
                &format!("{path}[{i}]"),
                rs,
                &format!("if '*/{sub}' is present, must not specify {rs}"),
            ));
        }
        if sub == "*" {
            with_wildcard_sub.push(res);
        }
        if res == "*" {
            sub_with_wildcard_res.push(sub);
        }
    }
    if resources.len() > 1 && double {
        errs.push(invalid_rendered(
            path,
            &go_strings("string", resources),
            "if '*/*' is present, must not specify other resources",
        ));
    }
    if single && plain {
        errs.push(invalid_rendered(
            path,
            &go_strings("string", resources),
            "if '*' is present, must not specify other resources without subresources",
        ));
    }
}
