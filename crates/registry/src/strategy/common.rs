//! Validation shared by many kinds (kube's `pkg/apis/core/validation` and apimachinery's
//! `validation` helpers): names, label selectors and their match against a template, pod
//! specs and pod templates.

use crate::ResourceType;
use apimachinery::field::{
    duplicate, go_string_map, invalid, invalid_rendered, not_supported, required, Errors,
};
use serde_json::{Map, Value};

pub(crate) const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
pub(crate) const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const QUALIFIED_NAME_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

pub(crate) fn is_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// The characters of `IsDNS1123Subdomain`'s regex, without its length limit.
pub(crate) fn is_subdomain_chars(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|l| {
            let b = l.as_bytes();
            let end = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
            b.first().is_some_and(end) && b.last().is_some_and(end) && b.iter().all(|c| end(c) || *c == b'-')
        })
}

/// apimachinery's `IsDNS1123Subdomain`: at most 253 characters matching its regex; a part
/// between dots may be longer than a label's 63 (`a-69-character-name` is a valid name).
pub(crate) fn is_subdomain(s: &str) -> bool {
    s.len() <= 253 && is_subdomain_chars(s)
}

/// The messages of apimachinery's `IsQualifiedName` (`[prefix/]name`), empty when valid.
pub(crate) fn qualified_name_errors(s: &str) -> Vec<String> {
    let (prefix, name) = match s.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    let mut out = Vec::new();
    if let Some(p) = prefix {
        if p.is_empty() {
            out.push("prefix part must be non-empty".to_string());
        } else if !is_subdomain(p) {
            out.push(format!("prefix part {DNS1123_SUBDOMAIN_MSG}"));
        }
    }
    let ok_char = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.';
    if name.is_empty() {
        out.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        out.push("name part must be no more than 63 characters".to_string());
    } else if !name.bytes().all(ok_char)
        || !name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        || !name.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
    {
        out.push(QUALIFIED_NAME_MSG.to_string());
    }
    out
}

/// The array at `pointer`, empty when absent.
pub(crate) fn array<'a>(obj: &'a Value, pointer: &str) -> &'a [Value] {
    obj.pointer(pointer).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default()
}

pub(crate) fn str_at<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

/// `metadata.name`: required, then the name rule of the kind.
pub(crate) fn validate_name(rt: &ResourceType, obj: &Value, errs: &mut Errors) {
    let name = str_at(obj, "/metadata/name");
    if name.is_empty() {
        errs.push(apimachinery::field::required_because("metadata.name", "name or generateName is required"));
    } else if rt.group.is_empty() && matches!(rt.kind, "Namespace" | "Service") {
        if !is_label(name) {
            errs.push(invalid("metadata.name", name, DNS1123_LABEL_MSG));
        }
    } else if (rt.group, rt.kind) == ("certificates.k8s.io", "ClusterTrustBundle") {
        let signer = str_at(obj, "/spec/signerName");
        for msg in super::trust_bundles::name_errors(name, signer) {
            errs.push(invalid("metadata.name", name, &msg));
        }
    } else if rt.group == "rbac.authorization.k8s.io"
        || rt.kind == "APIService"
        || rt.kind == "CertificateSigningRequest"
    {
        // Path segment names: anything but `..`, `.`, or containing `/` or `%`.
        if name == "." || name == ".." || name.contains(['/', '%']) {
            errs.push(invalid("metadata.name", name, "may not contain '/' or '%'"));
        }
    } else if !is_subdomain(name) {
        errs.push(invalid("metadata.name", name, DNS1123_SUBDOMAIN_MSG));
    }
}

/// Whether a `metav1.LabelSelector` matches `labels` (matchLabels and matchExpressions).
/// An absent selector matches nothing; an empty one matches everything.
pub(crate) fn selector_matches(selector: Option<&Value>, labels: Option<&Value>) -> bool {
    let Some(sel) = selector.filter(|s| !s.is_null()) else { return false };
    let empty = Map::new();
    let labels = labels.and_then(Value::as_object).unwrap_or(&empty);
    let label = |k: &str| labels.get(k).and_then(Value::as_str);
    let by_labels = sel
        .get("matchLabels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .all(|(k, v)| label(k) == v.as_str());
    let by_expressions =
        sel.get("matchExpressions").and_then(Value::as_array).into_iter().flatten().all(|e| {
            let key = str_at(e, "/key");
            let values: Vec<&str> = e
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            match str_at(e, "/operator") {
                "In" => label(key).is_some_and(|v| values.contains(&v)),
                "NotIn" => label(key).is_none_or(|v| !values.contains(&v)),
                "Exists" => label(key).is_some(),
                "DoesNotExist" => label(key).is_none(),
                _ => false,
            }
        });
    by_labels && by_expressions
}

/// A selector with neither matchLabels nor matchExpressions.
pub(crate) fn selector_is_empty(selector: &Value) -> bool {
    let none = |k: &str| match selector.get(k) {
        Some(Value::Object(m)) => m.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => true,
    };
    none("matchLabels") && none("matchExpressions")
}

/// The apps/v1 rules for `spec.selector` against `spec.template` (kube's
/// `ValidateDaemonSetSpec`, `ValidateStatefulSetSpec`, `ValidateReplicaSetSpec`,
/// `ValidateDeploymentSpec`): required, not empty, matching the template's labels.
pub(crate) fn validate_selector_and_template(obj: &Value, kind: &str, errs: &mut Errors) {
    match obj.pointer("/spec/selector").filter(|s| !s.is_null()) {
        None => {
            // A missing selector is also kube's `labels.Nothing()`, which no template matches.
            errs.push(required("spec.selector"));
            errs.push(invalid_rendered(
                "spec.template.metadata.labels",
                &go_string_map(obj.pointer("/spec/template/metadata/labels")),
                "`selector` does not match template `labels`",
            ));
        }
        Some(sel) if selector_is_empty(sel) => errs.push(invalid_rendered(
            "spec.selector",
            &apimachinery::status::go_json(sel),
            &format!("empty selector is invalid for {kind}"),
        )),
        Some(sel) => {
            let labels = obj.pointer("/spec/template/metadata/labels");
            if !selector_matches(Some(sel), labels) {
                errs.push(invalid_rendered(
                    "spec.template.metadata.labels",
                    &go_string_map(labels),
                    "`selector` does not match template `labels`",
                ));
            }
        }
    }
}

/// `ValidatePodTemplateSpec` plus the restart policies the controller allows.
pub(crate) fn validate_pod_template(
    template: Option<&Value>,
    path: &str,
    policies: &[&str],
    errs: &mut Errors,
) {
    let spec = template.and_then(|t| t.get("spec"));
    validate_pod_spec(spec, &format!("{path}.spec"), errs);
    let policy = spec.map(|s| str_at(s, "/restartPolicy")).unwrap_or_default();
    if !policy.is_empty() && !policies.contains(&policy) {
        errs.push(not_supported(&format!("{path}.spec.restartPolicy"), policy, policies));
    }
}

/// The part of `ValidatePodSpec` kubeward checks: containers present, named uniquely, with
/// an image; a known restart policy.
pub(crate) fn validate_pod_spec(spec: Option<&Value>, path: &str, errs: &mut Errors) {
    let containers = spec.and_then(|s| s.get("containers")).and_then(Value::as_array);
    match containers {
        None => errs.push(required(&format!("{path}.containers"))),
        Some(cs) if cs.is_empty() => errs.push(required(&format!("{path}.containers"))),
        Some(cs) => {
            let mut seen = Vec::new();
            for (i, c) in cs.iter().enumerate() {
                let cname = str_at(c, "/name");
                let field = format!("{path}.containers[{i}]");
                if cname.is_empty() {
                    errs.push(required(&format!("{field}.name")));
                } else if seen.contains(&cname) {
                    errs.push(duplicate(&format!("{field}.name"), cname));
                } else {
                    if !is_label(cname) {
                        errs.push(invalid(&format!("{field}.name"), cname, DNS1123_LABEL_MSG));
                    }
                    seen.push(cname);
                }
                if str_at(c, "/image").is_empty() {
                    errs.push(required(&format!("{field}.image")));
                }
            }
        }
    }
    let policy = spec.map(|s| str_at(s, "/restartPolicy")).unwrap_or_default();
    if !policy.is_empty() && !["Always", "OnFailure", "Never"].contains(&policy) {
        errs.push(not_supported(&format!("{path}.restartPolicy"), policy, &["Always", "OnFailure", "Never"]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomains_are_not_limited_per_part() {
        assert!(is_subdomain("quota-fake-volume-resourcequota-volumeattributesclass-7754-test-claim"));
        assert!(is_subdomain("a.b-c.d"));
        assert!(!is_subdomain(&"a".repeat(254)));
        assert!(!is_subdomain("a..b") && !is_subdomain("-a") && !is_subdomain("A") && !is_subdomain(""));
    }
    use serde_json::json;

    #[test]
    fn selectors_match_like_kube() {
        let labels = json!({"app": "web", "tier": "front"});
        assert!(selector_matches(Some(&json!({"matchLabels": {"app": "web"}})), Some(&labels)));
        assert!(!selector_matches(Some(&json!({"matchLabels": {"app": "db"}})), Some(&labels)));
        let exprs = json!({"matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["front", "back"]},
            {"key": "env", "operator": "DoesNotExist"}]});
        assert!(selector_matches(Some(&exprs), Some(&labels)));
        assert!(!selector_matches(None, Some(&labels)));
        assert!(selector_is_empty(&json!({})));
    }

    #[test]
    fn qualified_names() {
        assert!(qualified_name_errors("kubeward.io/recorder").is_empty());
        assert_eq!(qualified_name_errors("bad name").len(), 1);
        assert_eq!(qualified_name_errors("/x"), vec!["prefix part must be non-empty"]);
    }
}
