//! CRD validation with kube's messages (the texts kube-apiserver answers for the same CRDs).

use super::*;
use crate::path::error_string;
use serde_json::{json, Value};

fn crd(versions: Value) -> Value {
    let mut c = json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": versions
        }
    });
    prepare_for_create(&mut c);
    c
}

fn schema() -> Value {
    json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {"replicas": {"type": "integer"}}}}})
}

fn errors(c: &Value) -> Vec<String> {
    validate_crd(c, None).iter().map(error_string).collect()
}

#[test]
fn a_valid_crd_has_no_errors() {
    let c = crd(
        json!([{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": schema()},
        "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}},
        "additionalPrinterColumns": [{"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"}],
        "selectableFields": [{"jsonPath": ".spec.replicas"}]}]),
    );
    assert_eq!(errors(&c), Vec::<String>::new());
}

#[test]
fn schema_errors_of_one_version_are_under_spec_validation() {
    let c = crd(json!([{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema":
        {"type": "object", "properties": {"spec": {"properties": {"replicas": {"type": "integer"}}}}}}}]));
    assert_eq!(
        errors(&c),
        vec!["spec.validation.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields"]
    );
}

#[test]
fn schema_errors_of_differing_versions_are_per_version() {
    let c = crd(json!([
        {"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema":
            {"type": "object", "properties": {"spec": {"properties": {"replicas": {"type": "integer"}}}}}}},
        {"name": "v2", "served": true, "storage": false, "schema": {"openAPIV3Schema": schema()}}
    ]));
    assert_eq!(
        errors(&c),
        vec!["spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields"]
    );
}

#[test]
fn names_group_and_versions() {
    let mut c = crd(
        json!([{"name": "V1", "served": true, "storage": false, "schema": {"openAPIV3Schema": schema()}}]),
    );
    c["spec"]["group"] = json!("example");
    c["spec"]["names"]["kind"] = json!("Widget_");
    c["spec"]["names"]["shortNames"] = json!(["w1", "W"]);
    c["metadata"]["name"] = json!("widgets.example.com");
    c["status"] = json!({"storedVersions": ["V1"]});
    let got = errors(&c);
    let versions = r#"[{"Name":"V1","Served":true,"Storage":false,"Deprecated":false,"DeprecationWarning":null,"Schema":null,"Subresources":null,"AdditionalPrinterColumns":null,"SelectableFields":null}]"#;
    assert_eq!(
        got,
        vec![
            r#"metadata.name: Invalid value: "widgets.example.com": must be spec.names.plural+"."+spec.group"#.to_string(),
            r#"spec.group: Invalid value: "example": should be a domain with at least one dot"#.to_string(),
            r#"spec.versions[0].name: Invalid value: "V1": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"#.to_string(),
            format!("spec.versions: Invalid value: {versions}: must have exactly one version marked as storage version"),
            r#"spec.version: Invalid value: "V1": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"#.to_string(),
            r#"spec.names.kind: Invalid value: "Widget_": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"#.to_string(),
            r#"spec.names.shortNames[1]: Invalid value: "W": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"#.to_string(),
        ]
    );
}

#[test]
fn every_version_needs_a_schema_and_unique_names() {
    let c = crd(json!([
        {"name": "v1", "served": true, "storage": true},
        {"name": "v1", "served": true, "storage": false, "schema": {"openAPIV3Schema": schema()}}
    ]));
    let got = errors(&c);
    assert_eq!(got[0], "spec.versions[0].schema.openAPIV3Schema: Required value");
    assert!(got[1].starts_with("spec.versions: Invalid value: [{\"Name\":\"v1\""), "{got:?}");
    assert!(got[1].ends_with(": must contain unique version names"), "{got:?}");
}

#[test]
fn columns_subresources_conversion() {
    let c = crd(
        json!([{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": schema()},
        "subresources": {"scale": {"specReplicasPath": "spec.replicas", "statusReplicasPath": ".spec.replicas"}},
        "additionalPrinterColumns": [{"name": "", "type": "float", "format": "x", "jsonPath": "spec"}]}]),
    );
    let mut c2 = c.clone();
    c2["spec"]["conversion"] = json!({"strategy": "Webhook", "webhook": {"conversionReviewVersions": ["v1"], "clientConfig": {"url": "https://x"}}});
    assert_eq!(
        errors(&c),
        vec![
            r#"spec.subresources.scale.specReplicasPath: Invalid value: "spec.replicas": must be a simple json path starting with ."#,
            r#"spec.subresources.scale.statusReplicasPath: Invalid value: ".spec.replicas": should be a json path under .status"#,
            "spec.additionalPrinterColumns[0].name: Required value",
            r#"spec.additionalPrinterColumns[0].type: Invalid value: "float": must be one of boolean,date,integer,number,string"#,
            r#"spec.additionalPrinterColumns[0].format: Invalid value: "x": must be one of byte,date,date-time,double,float,int32,int64,password"#,
            r#"spec.additionalPrinterColumns[0].JSONPath: Invalid value: "spec": must be a simple json path starting with ."#,
        ]
    );
    assert_eq!(
        errors(&c2).last().map(String::as_str),
        Some("spec.conversion.strategy: Forbidden: Webhook conversion is not supported by this server; use None (all versions must share one schema shape)")
    );
}

#[test]
fn selectable_fields() {
    let s = json!({"type": "object", "properties": {
        "spec": {"type": "object", "properties": {"color": {"type": "string", "enum": ["red"]}, "list": {"type": "array", "items": {"type": "string"}}}},
        "metadata": {"type": "object"}
    }});
    let c = crd(json!([{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": s},
        "selectableFields": [{"jsonPath": ".spec.color"}, {"jsonPath": ".spec.list"}, {"jsonPath": ".spec.nope"}, {"jsonPath": ".spec.color"}, {"jsonPath": ""}]}]));
    assert_eq!(
        errors(&c),
        vec![
            r#"spec.selectableFields[1].jsonPath: Invalid value: ".spec.list": must point to a field of type string, boolean or integer. Enum string fields and strings with formats are allowed."#,
            r#"spec.selectableFields[2].jsonPath: Invalid value: ".spec.nope": is an invalid path: does not refer to a valid field"#,
            r#"spec.selectableFields[3].jsonPath: Duplicate value: ".spec.color""#,
            "spec.selectableFields[4].jsonPath: Required value",
        ]
    );
    let many: Vec<Value> = (0..9).map(|i| json!({"jsonPath": format!(".spec.f{i}")})).collect();
    let props: serde_json::Map<String, Value> =
        (0..9).map(|i| (format!("f{i}"), json!({"type": "integer"}))).collect();
    let c = crd(json!([{"name": "v1", "served": true, "storage": true,
        "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object", "properties": props}}}},
        "selectableFields": many}]));
    assert_eq!(errors(&c), vec!["spec.selectableFields: Too many: 9: must have at most 8 items"]);
}

#[test]
fn status_subresource_restricts_the_root() {
    let c = crd(json!([{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
        "schema": {"openAPIV3Schema": {"type": "object", "minProperties": 1, "properties": {"spec": {"type": "object"}}}}}]));
    let got = errors(&c);
    assert_eq!(got.len(), 1);
    assert!(got[0].starts_with("spec.validation.openAPIV3Schema: Invalid value: {\"ID\":\"\""), "{got:?}");
    assert!(got[0].ends_with(": only [Description Type Format Title Maximum ExclusiveMaximum Minimum ExclusiveMinimum MaxLength MinLength Pattern MaxItems MinItems UniqueItems MultipleOf Required Items Properties ExternalDocs Example XPreserveUnknownFields XValidations] fields are allowed at the root of the schema if the status subresource is enabled"));
}

#[test]
fn updates_keep_group_and_plural() {
    let old = crd(
        json!([{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": schema()}}]),
    );
    let mut new = old.clone();
    new["spec"]["names"]["plural"] = json!("gadgets");
    new["metadata"]["name"] = json!("gadgets.example.com");
    prepare_for_update(&mut new, &old);
    let got: Vec<String> = validate_crd(&new, Some(&old)).iter().map(error_string).collect();
    assert_eq!(got, vec![r#"spec.names.plural: Invalid value: "gadgets": field is immutable"#]);
    assert_eq!(new["metadata"]["generation"], json!(2));
}

#[test]
fn protected_groups_need_approval() {
    let mut c = crd(
        json!([{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": schema()}}]),
    );
    c["spec"]["group"] = json!("x.k8s.io");
    c["metadata"]["name"] = json!("widgets.x.k8s.io");
    assert_eq!(
        errors(&c),
        vec![
            r#"metadata.annotations[api-approved.kubernetes.io]: Required value: protected groups must have approval annotation "api-approved.kubernetes.io", see https://github.com/kubernetes/enhancements/pull/1111"#
        ]
    );
    c["metadata"]["annotations"] =
        json!({"api-approved.kubernetes.io": "https://github.com/kubernetes/kubernetes/pull/1"});
    assert!(errors(&c).is_empty());
}

#[test]
fn huge_schemas_are_bounded() {
    let mut deep = json!({"type": "string"});
    for _ in 0..150 {
        deep = json!({"type": "object", "properties": {"a": deep}});
    }
    let c =
        crd(json!([{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": deep}}]));
    let got = errors(&c);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].ends_with("Forbidden: must not nest schemas more than 100 levels deep"), "{got:?}");
}

#[test]
fn cel_rules_are_compiled_and_costed() {
    let bad = json!({"type": "object", "properties": {"spec": {"type": "object",
        "x-kubernetes-validations": [{"rule": "self.replicas >"}],
        "properties": {"replicas": {"type": "integer"}}}}});
    let got = errors(&crd(
        json!([{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": bad}}]),
    ));
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].starts_with(r#"spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: Invalid value: {"Rule":"self.replicas \u003e","Message":"","#),
        "{got:?}"
    );
    assert!(got[0].contains(": compilation failed: ERROR: <input>:1:"), "{got:?}");
    let costly = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "items": {"type": "array", "items": {"type": "string"},
                  "x-kubernetes-validations": [{"rule": "self.all(x, self.all(y, x != y || x == y))"}]}}}}});
    let got = errors(&crd(
        json!([{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": costly}}]),
    ));
    assert!(got.iter().any(|e| e.starts_with(
        "spec.validation.openAPIV3Schema.properties[spec].properties[items].x-kubernetes-validations[0].rule: Forbidden: estimated rule cost exceeds budget by factor of"
    )), "{got:?}");
}

#[test]
fn status_writes_check_accepted_names() {
    let mut c = crd(
        json!([{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": schema()}}]),
    );
    c["status"]["acceptedNames"] = json!({"plural": "Widgets", "kind": "Widget", "listKind": "Widget"});
    let got: Vec<String> = validate_crd_status(&c).iter().map(error_string).collect();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        got[0].starts_with(r#"status.acceptedNames.plural: Invalid value: "Widgets": a DNS-1035 label"#),
        "{got:?}"
    );
    assert_eq!(
        got[1],
        r#"status.acceptedNames.listKind: Invalid value: "Widget": kind and listKind may not be the same"#
    );
}
