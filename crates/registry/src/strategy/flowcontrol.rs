//! FlowSchemas and PriorityLevelConfigurations (flowcontrol.apiserver.k8s.io/v1): kube's
//! defaults (`pkg/apis/flowcontrol/v1/defaults.go`) and validation
//! (`pkg/apis/flowcontrol/validation/validation.go`), including the rule that the mandatory
//! `exempt` and `catch-all` objects keep kube's fixed specs.

use super::common::{array, is_label, is_subdomain, str_at, DNS1123_LABEL_MSG, DNS1123_SUBDOMAIN_MSG};
use crate::bootstrap::mandatory_flow_control;
use apimachinery::field::{
    forbidden, invalid, invalid_number, invalid_rendered, not_supported, required_because, Errors,
};
use serde_json::{json, Map, Value};

/// kube's `FlowSchemaMaxMatchingPrecedence`.
const MAX_MATCHING_PRECEDENCE: i64 = 10000;
/// kube's `priorityLevelConfigurationQueuingMaxQueues`.
const MAX_QUEUES: i64 = 10_000_000;
/// shufflesharding's `MaxHashBits`.
const MAX_HASH_BITS: f64 = 60.0;
const SUPPORTED_VERBS: [&str; 9] =
    ["create", "delete", "deletecollection", "get", "list", "patch", "proxy", "update", "watch"];
const NS_ERR_INTRO: &str = "each member of this list must be '*' or a DNS-1123 label; ";

fn int(obj: &Value, pointer: &str) -> Option<i64> {
    obj.pointer(pointer).and_then(Value::as_i64)
}

fn set_default(m: &mut Map<String, Value>, key: &str, v: Value) {
    if m.get(key).is_none_or(|x| x.is_null() || x == &json!(0)) {
        m.insert(key.into(), v);
    }
}

fn set_if_absent(m: &mut Map<String, Value>, key: &str, v: Value) {
    if m.get(key).is_none_or(Value::is_null) {
        m.insert(key.into(), v);
    }
}

/// kube's v1 defaults: matchingPrecedence 1000; a limited level's nominalConcurrencyShares 30
/// and lendablePercent 0; an exempt level's 0 and 0; queuing 64 queues, hand size 8, queue
/// length limit 50.
pub(super) fn defaults(kind: &str, o: &mut Map<String, Value>) {
    let Some(spec) = o.get_mut("spec").and_then(Value::as_object_mut) else { return };
    match kind {
        "FlowSchema" => set_default(spec, "matchingPrecedence", json!(1000)),
        "PriorityLevelConfiguration" => {
            if let Some(exempt) = spec.get_mut("exempt").and_then(Value::as_object_mut) {
                set_if_absent(exempt, "nominalConcurrencyShares", json!(0));
                set_if_absent(exempt, "lendablePercent", json!(0));
            }
            if let Some(limited) = spec.get_mut("limited").and_then(Value::as_object_mut) {
                set_if_absent(limited, "nominalConcurrencyShares", json!(30));
                set_if_absent(limited, "lendablePercent", json!(0));
                let queuing = limited.get_mut("limitResponse").and_then(|r| r.get_mut("queuing"));
                if let Some(q) = queuing.and_then(Value::as_object_mut) {
                    set_default(q, "handSize", json!(8));
                    set_default(q, "queues", json!(64));
                    set_default(q, "queueLengthLimit", json!(50));
                }
            }
        }
        _ => {}
    }
}

/// Field errors of a FlowSchema or PriorityLevelConfiguration.
pub(super) fn validate(kind: &str, obj: &Value, errs: &mut Errors) {
    match kind {
        "FlowSchema" => flow_schema(obj, errs),
        "PriorityLevelConfiguration" => priority_level(obj, errs),
        _ => {}
    }
    let name = str_at(obj, "/metadata/name");
    let mandatory =
        mandatory_flow_control().into_iter().find(|m| m["kind"] == kind && m["metadata"]["name"] == name);
    if let Some(m) = mandatory {
        if obj.get("spec") != m.get("spec") {
            let rendered = obj.get("spec").map(Value::to_string).unwrap_or_else(|| "null".into());
            errs.push(invalid_rendered(
                "spec",
                &rendered,
                &format!("spec of '{name}' must equal the fixed value"),
            ));
        }
    }
}

fn flow_schema(obj: &Value, errs: &mut Errors) {
    let name = str_at(obj, "/metadata/name");
    let precedence = int(obj, "/spec/matchingPrecedence").unwrap_or(0);
    let field = "spec.matchingPrecedence";
    if precedence <= 0 {
        errs.push(invalid_number(field, precedence, "must be a positive value"));
    }
    if precedence > MAX_MATCHING_PRECEDENCE {
        errs.push(invalid_number(
            field,
            precedence,
            &format!("must not be greater than {MAX_MATCHING_PRECEDENCE}"),
        ));
    }
    if precedence == 1 && name != "exempt" {
        errs.push(invalid_number(
            field,
            precedence,
            "only the schema named 'exempt' may have matchingPrecedence 1",
        ));
    }
    if let Some(method) = obj.pointer("/spec/distinguisherMethod").filter(|m| !m.is_null()) {
        let t = str_at(method, "/type");
        if t != "ByNamespace" && t != "ByUser" {
            errs.push(not_supported("spec.distinguisherMethod.type", t, &["ByNamespace", "ByUser"]));
        }
    }
    let level = str_at(obj, "/spec/priorityLevelConfiguration/name");
    if level.is_empty() {
        errs.push(required_because(
            "spec.priorityLevelConfiguration.name",
            "must reference a priority level",
        ));
    } else if !is_subdomain(level) {
        errs.push(invalid("spec.priorityLevelConfiguration.name", level, DNS1123_SUBDOMAIN_MSG));
    }
    for (i, rule) in array(obj, "/spec/rules").iter().enumerate() {
        policy_rules(rule, &format!("spec.rules[{i}]"), errs);
    }
}

fn policy_rules(rule: &Value, path: &str, errs: &mut Errors) {
    let subjects = array(rule, "/subjects");
    if subjects.is_empty() {
        errs.push(required_because(&format!("{path}.subjects"), "subjects must contain at least one value"));
    }
    for (i, s) in subjects.iter().enumerate() {
        subject(s, &format!("{path}.subjects[{i}]"), errs);
    }
    let (resource, non_resource) = (array(rule, "/resourceRules"), array(rule, "/nonResourceRules"));
    if resource.is_empty() && non_resource.is_empty() {
        errs.push(required_because(
            path,
            "at least one of resourceRules and nonResourceRules has to be non-empty",
        ));
    }
    for (i, r) in resource.iter().enumerate() {
        resource_rule(r, &format!("{path}.resourceRules[{i}]"), errs);
    }
    for (i, r) in non_resource.iter().enumerate() {
        non_resource_rule(r, &format!("{path}.nonResourceRules[{i}]"), errs);
    }
}

fn subject(s: &Value, path: &str, errs: &mut Errors) {
    let present = |k: &str| s.get(k).is_some_and(|v| !v.is_null());
    let kind = str_at(s, "/kind");
    let (own, others): (&str, [(&str, &str); 2]) = match kind {
        "ServiceAccount" => ("serviceAccount", [("user", "User"), ("group", "Group")]),
        "User" => ("user", [("serviceAccount", "ServiceAccount"), ("group", "Group")]),
        "Group" => ("group", [("serviceAccount", "ServiceAccount"), ("user", "User")]),
        _ => {
            errs.push(not_supported(&format!("{path}.kind"), kind, &["Group", "ServiceAccount", "User"]));
            return;
        }
    };
    match s.get(own).filter(|v| !v.is_null()) {
        None => errs.push(required_because(
            &format!("{path}.{own}"),
            &format!("{own} is required when subject kind is '{kind}'"),
        )),
        Some(v) if str_at(v, "/name").is_empty() => {
            errs.push(apimachinery::field::required(&format!("{path}.{own}.name")));
        }
        Some(v) if own == "serviceAccount" => {
            let name = str_at(v, "/name");
            if name != "*" && !is_subdomain(name) {
                errs.push(invalid(&format!("{path}.serviceAccount.name"), name, DNS1123_SUBDOMAIN_MSG));
            }
        }
        Some(_) => {}
    }
    if own == "serviceAccount" {
        if let Some(sa) = s.get(own).filter(|v| !v.is_null()) {
            let ns = str_at(sa, "/namespace");
            if ns.is_empty() {
                errs.push(required_because(
                    &format!("{path}.serviceAccount.namespace"),
                    "must specify namespace for service account",
                ));
            } else if !is_label(ns) {
                errs.push(invalid(&format!("{path}.serviceAccount.namespace"), ns, DNS1123_LABEL_MSG));
            }
        }
    }
    for (field, needs) in others {
        if present(field) {
            errs.push(forbidden(
                &format!("{path}.{field}"),
                &format!("{field} is forbidden when subject kind is not '{needs}'"),
            ));
        }
    }
}

fn strings(v: &Value, pointer: &str) -> Vec<String> {
    array(v, pointer).iter().filter_map(Value::as_str).map(str::to_string).collect()
}

/// A list printed as Go's `%#v` of a `[]string`.
fn go_strings(list: &[String]) -> String {
    let quoted: Vec<String> = list.iter().map(|s| apimachinery::quote::go_quote(s)).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

fn verbs(rule: &Value, path: &str, errs: &mut Errors) {
    let verbs = strings(rule, "/verbs");
    let field = format!("{path}.verbs");
    if verbs.is_empty() {
        errs.push(required_because(&field, "verbs must contain at least one value"));
    } else if verbs.iter().any(|v| v == "*") {
        if verbs.len() > 1 {
            errs.push(invalid_rendered(
                &field,
                &go_strings(&verbs),
                "if '*' is present, must not specify other verbs",
            ));
        }
    } else if !verbs.iter().all(|v| SUPPORTED_VERBS.contains(&v.as_str())) {
        let list =
            SUPPORTED_VERBS.iter().map(|s| apimachinery::quote::go_quote(s)).collect::<Vec<_>>().join(", ");
        errs.push(apimachinery::field::cause(
            apimachinery::CauseType::FieldValueNotSupported,
            &field,
            format!("Unsupported value: {}: supported values: {list}", go_strings(&verbs)),
        ));
    }
}

/// A list that must be non-empty and may hold `*` only alone.
fn wildcard_list(rule: &Value, key: &str, path: &str, required: &str, what: &str, errs: &mut Errors) {
    let list = strings(rule, &format!("/{key}"));
    let field = format!("{path}.{key}");
    if list.is_empty() {
        errs.push(required_because(&field, required));
    } else if list.len() > 1 && list.iter().any(|v| v == "*") {
        errs.push(invalid_rendered(
            &field,
            &go_strings(&list),
            &format!("if '*' is present, must not specify other {what}"),
        ));
    }
}

fn resource_rule(rule: &Value, path: &str, errs: &mut Errors) {
    verbs(rule, path, errs);
    wildcard_list(
        rule,
        "apiGroups",
        path,
        "resource rules must supply at least one api group",
        "api groups",
        errs,
    );
    wildcard_list(
        rule,
        "resources",
        path,
        "resource rules must supply at least one resource",
        "resources",
        errs,
    );
    let namespaces = strings(rule, "/namespaces");
    let cluster_scope = rule.get("clusterScope") == Some(&Value::Bool(true));
    let field = format!("{path}.namespaces");
    if namespaces.is_empty() && !cluster_scope {
        errs.push(required_because(
            &field,
            "resource rules that are not cluster scoped must supply at least one namespace",
        ));
    } else if namespaces.iter().any(|n| n == "*") {
        if namespaces.len() > 1 {
            let detail = "if '*' is present, must not specify other namespaces";
            errs.push(invalid_rendered(&field, &go_strings(&namespaces), detail));
        }
    } else {
        for (i, ns) in namespaces.iter().enumerate() {
            if !is_label(ns) {
                errs.push(invalid(
                    &format!("{field}[{i}]"),
                    ns,
                    &format!("{NS_ERR_INTRO}{DNS1123_LABEL_MSG}"),
                ));
            }
        }
    }
}

fn non_resource_rule(rule: &Value, path: &str, errs: &mut Errors) {
    verbs(rule, path, errs);
    let urls = strings(rule, "/nonResourceURLs");
    let field = format!("{path}.nonResourceURLs");
    if urls.is_empty() {
        errs.push(required_because(&field, "nonResourceURLs must contain at least one value"));
    } else if urls.iter().any(|u| u == "*") {
        if urls.len() > 1 {
            let detail = "if '*' is present, must not specify other non-resource URLs";
            errs.push(invalid_rendered(&field, &go_strings(&urls), detail));
        }
    } else {
        for (i, url) in urls.iter().enumerate() {
            if let Some(why) = bad_url_path(url) {
                errs.push(invalid(&format!("{field}[{i}]"), url, why));
            }
        }
    }
}

/// kube's `ValidateNonResourceURLPath`.
fn bad_url_path(path: &str) -> Option<&'static str> {
    if path.is_empty() {
        return Some("must not be empty");
    }
    if path == "/" {
        return None;
    }
    if !path.starts_with('/') {
        return Some("must start with slash");
    }
    if path.contains(' ') {
        return Some("must not contain white-space");
    }
    if path.contains("//") {
        return Some("must not contain double slash");
    }
    let stars = path.matches('*').count();
    if stars > 1 || (stars == 1 && !path.ends_with("/*")) {
        return Some("wildcard can only do suffix matching");
    }
    None
}

fn priority_level(obj: &Value, errs: &mut Errors) {
    let name = str_at(obj, "/metadata/name");
    let t = str_at(obj, "/spec/type");
    let present = |k: &str| obj.pointer(&format!("/spec/{k}")).is_some_and(|v| !v.is_null());
    if (name == "exempt") != (t == "Exempt") {
        errs.push(invalid("spec.type", t, "type must be 'Exempt' if and only if name is 'exempt'"));
    }
    match t {
        "Exempt" => {
            if present("limited") {
                errs.push(forbidden("spec.limited", "must be nil if the type is not Limited"));
            }
            if let Some(exempt) = obj.pointer("/spec/exempt").filter(|v| !v.is_null()) {
                shares_and_percents(exempt, "spec.exempt", errs);
            }
        }
        "Limited" => {
            if present("exempt") {
                errs.push(forbidden("spec.exempt", "must be nil if the type is Limited"));
            }
            match obj.pointer("/spec/limited").filter(|v| !v.is_null()) {
                None => errs.push(required_because("spec.limited", "must not be empty when type is Limited")),
                Some(limited) => {
                    shares_and_percents(limited, "spec.limited", errs);
                    limit_response(limited.get("limitResponse").unwrap_or(&Value::Null), errs);
                }
            }
        }
        _ => errs.push(not_supported("spec.type", t, &["Exempt", "Limited"])),
    }
}

fn shares_and_percents(config: &Value, path: &str, errs: &mut Errors) {
    if let Some(n) = int(config, "/nominalConcurrencyShares").filter(|n| *n < 0) {
        errs.push(invalid_number(
            &format!("{path}.nominalConcurrencyShares"),
            n,
            "must be a non-negative integer",
        ));
    }
    if let Some(p) = int(config, "/lendablePercent").filter(|p| !(0..=100).contains(p)) {
        errs.push(invalid_number(
            &format!("{path}.lendablePercent"),
            p,
            "must be between 0 and 100, inclusive",
        ));
    }
    if let Some(p) = int(config, "/borrowingLimitPercent").filter(|p| *p < 0) {
        let detail = "if specified, must be a non-negative integer";
        errs.push(invalid_number(&format!("{path}.borrowingLimitPercent"), p, detail));
    }
}

fn limit_response(response: &Value, errs: &mut Errors) {
    let path = "spec.limited.limitResponse";
    let queuing = response.get("queuing").filter(|q| !q.is_null());
    match str_at(response, "/type") {
        "Reject" => {
            if queuing.is_some() {
                errs.push(forbidden(
                    &format!("{path}.queuing"),
                    "must be nil if limited.limitResponse.type is not Limited",
                ));
            }
        }
        "Queue" => match queuing {
            None => errs.push(required_because(
                &format!("{path}.queuing"),
                "must not be empty if limited.limitResponse.type is Limited",
            )),
            Some(q) => queuing_config(q, &format!("{path}.queuing"), errs),
        },
        t => errs.push(not_supported(&format!("{path}.type"), t, &["Queue", "Reject"])),
    }
}

fn queuing_config(q: &Value, path: &str, errs: &mut Errors) {
    let limit = int(q, "/queueLengthLimit").unwrap_or(0);
    if limit <= 0 {
        errs.push(invalid_number(&format!("{path}.queueLengthLimit"), limit, "must be positive"));
    }
    let queues = int(q, "/queues").unwrap_or(0);
    if queues <= 0 {
        errs.push(invalid_number(&format!("{path}.queues"), queues, "must be positive"));
    } else if queues > MAX_QUEUES {
        errs.push(invalid_number(
            &format!("{path}.queues"),
            queues,
            &format!("must not be greater than {MAX_QUEUES}"),
        ));
    }
    let hand = int(q, "/handSize").unwrap_or(0);
    let field = format!("{path}.handSize");
    if hand <= 0 {
        errs.push(invalid_number(&field, hand, "must be positive"));
    } else if hand > queues {
        errs.push(invalid_number(&field, hand, &format!("should not be greater than queues ({queues})")));
    } else if ((queues as f64).log2() * hand as f64).ceil() > MAX_HASH_BITS {
        let detail = format!(
            "required entropy bits of deckSize {queues} and handSize {hand} should not be greater than {MAX_HASH_BITS}"
        );
        errs.push(invalid_number(&field, hand, &detail));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(kind: &str, obj: Value) -> Vec<(String, String)> {
        let mut errs = Vec::new();
        validate(kind, &obj, &mut errs);
        errs.into_iter().map(|c| (c.field, c.message)).collect()
    }

    fn rules() -> Value {
        json!([{"subjects": [{"kind": "Group", "group": {"name": "g"}}],
            "resourceRules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"], "namespaces": ["default"]}]}])
    }

    #[test]
    fn flow_schemas() {
        let fs = |name: &str, precedence: i64| {
            json!({"metadata": {"name": name}, "spec": {"priorityLevelConfiguration": {"name": "global-default"},
                "matchingPrecedence": precedence, "rules": rules()}})
        };
        assert!(errors("FlowSchema", fs("mine", 500)).is_empty());
        assert_eq!(
            errors("FlowSchema", fs("mine", 1)),
            vec![(
                "spec.matchingPrecedence".into(),
                "Invalid value: 1: only the schema named 'exempt' may have matchingPrecedence 1".into()
            )]
        );
        assert_eq!(
            errors("FlowSchema", fs("mine", 10001))[0].1,
            "Invalid value: 10001: must not be greater than 10000"
        );
        let bad = json!({"metadata": {"name": "b"}, "spec": {"matchingPrecedence": 5, "distinguisherMethod": {"type": "ByHost"},
            "rules": [{"subjects": [{"kind": "User", "group": {"name": "g"}}],
                "nonResourceRules": [{"verbs": ["*", "get"], "nonResourceURLs": ["/a/*/b"]}]}]}});
        assert_eq!(
            errors("FlowSchema", bad),
            vec![
                (
                    "spec.distinguisherMethod.type".into(),
                    r#"Unsupported value: "ByHost": supported values: "ByNamespace", "ByUser""#.into()
                ),
                (
                    "spec.priorityLevelConfiguration.name".into(),
                    "Required value: must reference a priority level".into()
                ),
                (
                    "spec.rules[0].subjects[0].user".into(),
                    "Required value: user is required when subject kind is 'User'".into()
                ),
                (
                    "spec.rules[0].subjects[0].group".into(),
                    "Forbidden: group is forbidden when subject kind is not 'Group'".into()
                ),
                (
                    "spec.rules[0].nonResourceRules[0].verbs".into(),
                    r#"Invalid value: []string{"*", "get"}: if '*' is present, must not specify other verbs"#
                        .into()
                ),
                (
                    "spec.rules[0].nonResourceRules[0].nonResourceURLs[0]".into(),
                    r#"Invalid value: "/a/*/b": wildcard can only do suffix matching"#.into()
                ),
            ]
        );
    }

    #[test]
    fn priority_levels() {
        let limited = |queuing: Value| {
            json!({"metadata": {"name": "mine"}, "spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 10,
                "lendablePercent": 0, "limitResponse": {"type": "Queue", "queuing": queuing}}}})
        };
        assert!(errors(
            "PriorityLevelConfiguration",
            limited(json!({"queues": 64, "handSize": 6, "queueLengthLimit": 50}))
        )
        .is_empty());
        assert_eq!(
            errors(
                "PriorityLevelConfiguration",
                limited(json!({"queues": 4, "handSize": 6, "queueLengthLimit": 0}))
            ),
            vec![
                (
                    "spec.limited.limitResponse.queuing.queueLengthLimit".into(),
                    "Invalid value: 0: must be positive".into()
                ),
                (
                    "spec.limited.limitResponse.queuing.handSize".into(),
                    "Invalid value: 6: should not be greater than queues (4)".into()
                ),
            ]
        );
        let exempt_named_wrong = json!({"metadata": {"name": "mine"}, "spec": {"type": "Exempt", "exempt": {"lendablePercent": 101}}});
        assert_eq!(
            errors("PriorityLevelConfiguration", exempt_named_wrong),
            vec![
                (
                    "spec.type".into(),
                    r#"Invalid value: "Exempt": type must be 'Exempt' if and only if name is 'exempt'"#
                        .into()
                ),
                (
                    "spec.exempt.lendablePercent".into(),
                    "Invalid value: 101: must be between 0 and 100, inclusive".into()
                ),
            ]
        );
    }

    #[test]
    fn mandatory_objects_keep_kubes_specs() {
        let mut catch_all = mandatory_flow_control()
            .into_iter()
            .find(|o| o["kind"] == "PriorityLevelConfiguration" && o["metadata"]["name"] == "catch-all")
            .unwrap_or_default();
        assert!(errors("PriorityLevelConfiguration", catch_all.clone()).is_empty());
        catch_all["spec"]["limited"]["nominalConcurrencyShares"] = json!(50);
        let errs = errors("PriorityLevelConfiguration", catch_all);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].1.ends_with(": spec of 'catch-all' must equal the fixed value"), "{errs:?}");
    }

    #[test]
    fn defaults_are_kubes() {
        let mut fs = json!({"spec": {}});
        defaults("FlowSchema", fs.as_object_mut().unwrap());
        assert_eq!(fs["spec"]["matchingPrecedence"], 1000);
        let mut pl = json!({"spec": {"type": "Limited", "limited": {"limitResponse": {"type": "Queue", "queuing": {}}}}});
        defaults("PriorityLevelConfiguration", pl.as_object_mut().unwrap());
        assert_eq!(
            pl["spec"]["limited"],
            json!({"nominalConcurrencyShares": 30, "lendablePercent": 0,
                "limitResponse": {"type": "Queue", "queuing": {"handSize": 8, "queues": 64, "queueLengthLimit": 50}}})
        );
    }
}
