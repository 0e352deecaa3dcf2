//! Cases of kube's `pkg/apiserver/validation/validation_test.go`, with its expected texts.

use super::*;
use crate::path::error_string;
use serde_json::json;

fn errs(schema: Value, obj: Value) -> Vec<String> {
    errs_update(schema, obj, None)
}

fn errs_update(schema: Value, obj: Value, old: Option<Value>) -> Vec<String> {
    let mut e = Vec::new();
    let s = Props::parse(&schema, "", &mut e);
    assert!(e.is_empty());
    let p = Patterns::of(&s);
    let mut out: Vec<String> =
        validate_value(&s, &p, &obj, old.as_ref(), "").iter().map(error_string).collect();
    out.sort();
    out
}

fn sorted(v: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    out.sort();
    out
}

#[test]
fn types() {
    let s = json!({"type": "object", "properties": {"field": {"type": "object"}}});
    for (v, t) in [
        (json!("foo"), "string"),
        (json!(42), "integer"),
        (json!(true), "boolean"),
        (json!(1.2), "number"),
        (json!([]), "array"),
        (json!(null), "null"),
    ] {
        assert_eq!(
            errs(s.clone(), json!({"field": v})),
            vec![format!(r#"field: Invalid value: "{t}": field in body must be of type object: "{t}""#)]
        );
    }
    let s = json!({"type": "object", "properties": {"field": {"type": "integer"}}});
    assert!(errs(s.clone(), json!({"field": 1.0})).is_empty());
    let s = json!({"type": "object", "properties": {"field": {"type": "object", "nullable": true}}});
    assert!(errs(s, json!({"field": null})).is_empty());
}

#[test]
fn int_or_string() {
    let s = json!({"type": "object", "properties": {"field": {"x-kubernetes-int-or-string": true}}});
    assert!(errs(s.clone(), json!({"field": 42})).is_empty());
    assert!(errs(s.clone(), json!({"field": "foo"})).is_empty());
    assert_eq!(
        errs(s.clone(), json!({"field": null})),
        vec![r#"field: Invalid value: "null": field in body must be of type integer,string: "null""#]
    );
    assert_eq!(
        errs(s, json!({"field": true})),
        vec![r#"field: Invalid value: "boolean": field in body must be of type integer,string: "boolean""#]
    );
    let s = json!({"type": "object", "properties": {"field": {"nullable": true, "x-kubernetes-int-or-string": true,
        "anyOf": [{"type": "integer"}, {"type": "string"}]}}});
    assert!(errs(s.clone(), json!({"field": null})).is_empty());
    assert_eq!(
        errs(s.clone(), json!({"field": true})),
        sorted(&[
            r#"<nil>: Invalid value: "": "field" must validate at least one schema (anyOf)"#,
            r#"field: Invalid value: "boolean": field in body must be of type integer,string: "boolean""#,
            r#"field: Invalid value: "boolean": field in body must be of type integer: "boolean""#,
        ])
    );
    assert_eq!(
        errs(s, json!({"field": 1.2})),
        sorted(&[
            r#"<nil>: Invalid value: "": "field" must validate at least one schema (anyOf)"#,
            r#"field: Invalid value: "number": field in body must be of type integer,string: "number""#,
            r#"field: Invalid value: "number": field in body must be of type integer: "number""#,
            r#"<nil>: Invalid value: "": Checked value must be of type integer (default format) in field"#,
        ])
    );
}

#[test]
fn invalid_pattern_required_enum() {
    let s = json!({"type": "object", "properties": {"field": {"type": "string", "pattern": "+"}}});
    assert_eq!(
        errs(s, json!({"field": "foo"})),
        vec!["field: Invalid value: \"foo\": field in body should match '+, but pattern is invalid: error parsing regexp: missing argument to repetition operator: `+`'"]
    );
    let s = json!({"type": "object", "required": ["field"], "properties": {"field": {"type": "object", "required": ["nested"], "properties": {"nested": {}}}}});
    assert_eq!(errs(s.clone(), json!({"test": "a"})), vec!["field: Required value"]);
    assert_eq!(errs(s, json!({"field": {}})), vec!["field.nested: Required value"]);
    let s = json!({"type": "object", "properties": {"field": {"type": "object", "required": ["nestedint", "nestedstring"], "properties": {
        "nestedint": {"type": "integer", "enum": [1, 2]},
        "nestedstring": {"type": "string", "enum": ["a", "b"]}
    }}}});
    assert_eq!(
        errs(s.clone(), json!({"field": {}})),
        vec!["field.nestedint: Required value", "field.nestedstring: Required value"]
    );
    assert_eq!(
        errs(s, json!({"field": {"nestedint": "x", "nestedstring": true}})),
        sorted(&[
            r#"field.nestedint: Invalid value: "string": field.nestedint in body must be of type integer: "string""#,
            r#"field.nestedint: Unsupported value: "x": supported values: "1", "2""#,
            r#"field.nestedstring: Invalid value: "boolean": field.nestedstring in body must be of type string: "boolean""#,
            r#"field.nestedstring: Unsupported value: true: supported values: "a", "b""#,
        ])
    );
}

#[test]
fn sizes_and_formats() {
    let s = json!({"type": "object", "properties": {
        "mp": {"type": "object", "maxProperties": 2},
        "mi": {"type": "array", "maxItems": 2},
        "ml": {"type": "string", "maxLength": 2},
        "long": {"type": "string", "format": "k8s-long-name"},
        "short": {"type": "string", "format": "k8s-short-name"},
    }});
    assert_eq!(
        errs(
            s,
            json!({"mp": {"a": true, "b": true, "c": true}, "mi": ["a", "b", "c"], "ml": "abc", "long": "a.-", "short": "a-"})
        ),
        sorted(&[
            "mp: Too many: 3: must have at most 2 items",
            "mi: Too many: 3: must have at most 2 items",
            "ml: Too long: may not be more than 2 bytes",
            r#"long: Invalid value: "a.-": long in body must be of type k8s-long-name: "a.-""#,
            r#"short: Invalid value: "a-": short in body must be of type k8s-short-name: "a-""#,
        ])
    );
}

#[test]
fn numbers() {
    let s = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "replicas": {"type": "integer", "minimum": 0, "maximum": 10},
        "ratio": {"type": "number", "exclusiveMaximum": true, "maximum": 1, "multipleOf": 0.25},
        "i32": {"type": "integer", "format": "int32"},
        "even": {"type": "integer", "multipleOf": 2},
        "color": {"type": "string", "enum": ["red", "blue"]},
        "min": {"type": "string", "minLength": 3},
        "items": {"type": "array", "minItems": 2, "items": {"type": "integer"}}
    }}}});
    assert_eq!(
        errs(s.clone(), json!({"spec": {"replicas": "string"}})),
        vec![
            r#"spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string""#
        ]
    );
    assert_eq!(
        errs(
            s,
            json!({"spec": {"replicas": 15, "ratio": 1.1, "i32": 3000000000i64, "even": 3, "color": "pink", "min": "ab", "items": [1]}})
        ),
        sorted(&[
            "spec.replicas: Invalid value: 15: spec.replicas in body should be less than or equal to 10",
            "spec.ratio: Invalid value: 1.1: spec.ratio in body should be a multiple of 0.25",
            "spec.ratio: Invalid value: 1.1: spec.ratio in body should be less than 1",
            r#"<nil>: Invalid value: "": Checked value must be of type integer with format int32 in spec.i32"#,
            "spec.even: Invalid value: 3: spec.even in body should be a multiple of 2",
            r#"spec.color: Unsupported value: "pink": supported values: "red", "blue""#,
            r#"spec.min: Invalid value: "ab": spec.min in body should be at least 3 chars long"#,
            "spec.items: Invalid value: 1: spec.items in body should have at least 2 items",
        ])
    );
}

#[test]
fn status_prefix_and_additional_properties() {
    let mut e = Vec::new();
    let s = Props::parse(
        &json!({"type": "object", "properties": {"num": {"type": "integer", "maximum": 10}}}),
        "",
        &mut e,
    );
    let got: Vec<String> = validate_value(&s, &Patterns::of(&s), &json!({"num": 15}), None, "status")
        .iter()
        .map(error_string)
        .collect();
    assert_eq!(got, vec!["status.num: Invalid value: 15: num in body should be less than or equal to 10"]);
    let s = json!({"type": "object", "properties": {"labels": {"type": "object", "additionalProperties": {"type": "string"}}, "none": {"type": "object", "additionalProperties": false}}});
    assert_eq!(
        errs(s, json!({"labels": {"a": 1}, "none": {"x": 1}})),
        sorted(&[
            r#"labels.a: Invalid value: "integer": labels.a in body must be of type string: "integer""#,
            r#"none: Invalid value: "x": none.x in body is a forbidden property"#,
        ])
    );
}

#[test]
fn ratcheting_keeps_unchanged_invalid_parts() {
    let s = json!({"type": "object", "properties": {
        "a": {"type": "string", "maxLength": 2},
        "b": {"type": "string", "maxLength": 2},
        "list": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["k"],
                 "items": {"type": "object", "properties": {"k": {"type": "string"}, "v": {"type": "string", "maxLength": 1}}}}
    }});
    let old = json!({"a": "long", "b": "ok", "list": [{"k": "x", "v": "long"}]});
    assert!(errs_update(s.clone(), old.clone(), Some(old.clone())).is_empty());
    let new = json!({"a": "long", "b": "longer", "list": [{"k": "y", "v": "zz"}, {"k": "x", "v": "long"}]});
    assert_eq!(
        errs_update(s.clone(), new.clone(), Some(old)),
        sorted(&[
            "b: Too long: may not be more than 2 bytes",
            "list[0].v: Too long: may not be more than 1 byte"
        ])
    );
    assert_eq!(errs(s, new).len(), 4);
}

/// kube correlates only `map` lists' items: a changed set or atomic list is validated whole,
/// its unchanged items included; an unchanged one ratchets (Kubernetes' e2e
/// CRDValidationRatcheting 'errors on unchanged uncorrelatable fields').
#[test]
fn ratcheting_does_not_correlate_set_or_atomic_items() {
    let item = json!({"type": "string", "enum": ["notfoo"]});
    let s = json!({"type": "object", "properties": {
        "setArray": {"type": "array", "x-kubernetes-list-type": "set", "items": item},
        "atomicArray": {"type": "array", "items": item}
    }});
    let old = json!({"setArray": ["foo"], "atomicArray": ["foo"]});
    assert!(errs_update(s.clone(), old.clone(), Some(old.clone())).is_empty());
    let new = json!({"setArray": ["foo", "notfoo"], "atomicArray": ["foo", "notfoo"]});
    let got = errs_update(s, new, Some(old));
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].starts_with("atomicArray[0]: Unsupported value: \"foo\""), "{got:?}");
    assert!(got[1].starts_with("setArray[0]: Unsupported value: \"foo\""), "{got:?}");
}

/// Errors come in the order of the declared properties whatever the object's field order,
/// whether the object has fewer fields than the schema declares or more.
#[test]
fn errors_follow_the_declared_property_order() {
    let mut e = Vec::new();
    let schema = json!({"type": "object", "properties": {
        "a": {"type": "integer"}, "b": {"type": "string", "maxLength": 1}, "c": {"type": "integer", "minimum": 5},
        "d": {"type": "boolean"}, "e": {"type": "string"}}});
    let s = Props::parse(&schema, "", &mut e);
    let p = Patterns::of(&s);
    let in_order = |obj: Value| -> Vec<String> {
        validate_value(&s, &p, &obj, None, "").iter().map(error_string).collect()
    };
    let want = vec![
        r#"a: Invalid value: "string": a in body must be of type integer: "string""#.to_string(),
        "b: Too long: may not be more than 1 byte".to_string(),
        "c: Invalid value: 1: c in body should be greater than or equal to 5".to_string(),
    ];
    // Fewer fields than properties.
    assert_eq!(in_order(json!({"c": 1, "b": "xyz", "a": "x"})), want);
    // More fields than properties (undeclared ones are not validated here).
    assert_eq!(
        in_order(json!({"z": 1, "y": 2, "x": 3, "w": 4, "c": 1, "v": 5, "b": "xyz", "a": "x", "u": 0})),
        want
    );
}
