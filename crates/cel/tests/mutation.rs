//! kube's patch types in a MutatingAdmissionPolicy's expressions: `Object` apply
//! configurations and `JSONPatch` lists, their result type checks and kube's texts.
#![allow(clippy::unwrap_used)] // test helpers: a failure is a failed test

use kcel::admission::{Environment, ExpressionKind, OBJECT};
use kcel::limits::PER_CALL_LIMIT;
use kcel::{mutation, Activation, Shape};
use serde_json::{json, Value};

fn env() -> Environment {
    Environment::new(false, false).with_patch_types()
}

fn run(src: &str, kind: ExpressionKind, object: &Value) -> Result<Value, String> {
    let p = env().compile(src, kind)?;
    let mut vars = Activation::new();
    vars.bind(OBJECT, object, &Shape::Any).map_err(|e| e.to_string())?;
    let out = p.evaluate(&vars, PER_CALL_LIMIT).map_err(|e| e.to_string())?;
    match kind {
        ExpressionKind::ApplyConfiguration => mutation::apply_configuration(&out),
        _ => mutation::json_patch(&out),
    }
}

fn apply(src: &str, object: &Value) -> Result<Value, String> {
    run(src, ExpressionKind::ApplyConfiguration, object)
}

fn patch(src: &str, object: &Value) -> Result<Value, String> {
    run(src, ExpressionKind::JsonPatch, object)
}

#[test]
fn apply_configurations_are_objects_of_their_fields() {
    let pod = json!({"metadata": {"name": "web"}, "spec": {"containers": [{"name": "app"}]}});
    assert_eq!(
        apply(r#"Object{metadata: Object.metadata{labels: {"team": object.metadata.name}}}"#, &pod),
        Ok(json!({"metadata": {"labels": {"team": "web"}}}))
    );
    let sidecar = r#"Object{spec: Object.spec{containers: [Object.spec.containers{name: "proxy", image: "proxy:1", args: ["-v"]}]}}"#;
    assert_eq!(
        apply(sidecar, &pod),
        Ok(json!({"spec": {"containers": [{"name": "proxy", "image": "proxy:1", "args": ["-v"]}]}}))
    );
    // Optional fields are left out when absent.
    assert_eq!(
        apply("Object{?spec: optional.none(), metadata: Object.metadata{}}", &pod),
        Ok(json!({"metadata": {}}))
    );
    // A nested type must be named by its field path (kube's check).
    assert_eq!(
        apply("Object{spec: Object.spec{selector: Object.spec.wrong{}}}", &pod),
        Err("type mismatch: unexpected type name \"Object.spec.wrong\", expected \"Object.spec.selector\", which matches field name path from root Object type".into())
    );
    // A struct's fields read back.
    let p =
        env().compile("Object{spec: Object.spec{replicas: 2}}.spec.replicas == 2", ExpressionKind::Condition);
    assert_eq!(p.unwrap().evaluate(&Activation::new(), PER_CALL_LIMIT).unwrap().as_bool(), Some(true));
}

#[test]
fn json_patches_are_lists_of_operations() {
    let obj = json!({"metadata": {"name": "web", "labels": {"a": "b"}}});
    assert_eq!(
        patch(
            r#"[JSONPatch{op: "add", path: "/metadata/labels/" + jsonpatch.escapeKey("example.com/team"), value: "x"}, JSONPatch{op: "remove", path: "/metadata/labels/a"}]"#,
            &obj
        ),
        Ok(json!([
            {"op": "add", "path": "/metadata/labels/example.com~1team", "value": "x"},
            {"op": "remove", "path": "/metadata/labels/a"}
        ]))
    );
    assert_eq!(
        patch(r#"[JSONPatch{op: "move", from: "/a", path: "/b"}]"#, &obj),
        Ok(json!([{"op": "move", "path": "/b", "from": "/a"}]))
    );
    // An Object value is JSON, its type names checked.
    assert_eq!(
        patch(r#"[JSONPatch{op: "add", path: "/spec", value: Object.spec{replicas: 1}}]"#, &obj),
        Ok(json!([{"op": "add", "path": "/spec", "value": {"replicas": 1}}]))
    );
    // Built by a macro over the object.
    assert_eq!(
        patch(
            r#"object.metadata.labels.map(k, JSONPatch{op: "replace", path: "/metadata/labels/" + k, value: "z"})"#,
            &obj
        ),
        Ok(json!([{"op": "replace", "path": "/metadata/labels/a", "value": "z"}]))
    );
    // kube's errors of a bad field.
    let e = patch(r#"[JSONPatch{op: 1, path: "/x"}]"#, &obj).unwrap_err();
    assert!(e.contains("unexpected type int64 for JSONPatchType 'op' field"), "{e}");
    let e = patch(r#"[JSONPatch{op: "add", path: "/x", nope: 1}]"#, &obj).unwrap_err();
    assert!(e.contains("unexpected JSONPatchType field: nope"), "{e}");
}

#[test]
fn result_types_are_checked_at_compile_time() {
    let e = |src: &str, kind| env().compile(src, kind).unwrap_err();
    assert_eq!(e("'x'", ExpressionKind::ApplyConfiguration), "must evaluate to Object but got string");
    assert_eq!(
        e("Object.spec{replicas: 1}", ExpressionKind::ApplyConfiguration),
        "must evaluate to Object but got Object.spec"
    );
    assert_eq!(e("object.spec", ExpressionKind::ApplyConfiguration), "must evaluate to Object but got dyn");
    assert_eq!(
        e("{'a': 1}", ExpressionKind::JsonPatch),
        "must evaluate to list(JSONPatch) but got map(string, int)"
    );
    assert_eq!(e("[]", ExpressionKind::JsonPatch), "must evaluate to list(JSONPatch) but got list(dyn)");
    assert_eq!(
        e("object.spec.x == 1 ? object : object", ExpressionKind::ApplyConfiguration),
        "must evaluate to Object but got dyn"
    );
    assert_eq!(
        e("[Object{}]", ExpressionKind::JsonPatch),
        "must evaluate to list(JSONPatch) but got list(Object)"
    );
    assert_eq!(
        e("JSONPatch{op: 'add', path: '/a'}", ExpressionKind::JsonPatch),
        "must evaluate to list(JSONPatch) but got JSONPatch"
    );
    // Other struct types stay undeclared; without patch types so do these.
    let other = e("Foo{a: 1}", ExpressionKind::ApplyConfiguration);
    assert!(other.contains("undeclared reference to 'Foo'"), "{other}");
    let plain = Environment::new(false, false).compile("Object{}", ExpressionKind::Any).unwrap_err();
    assert!(plain.contains("undeclared reference to 'Object'"), "{plain}");
    // Conditionals and variables pass, checked when evaluated.
    env()
        .compile("true ? Object{} : Object{spec: Object.spec{}}", ExpressionKind::ApplyConfiguration)
        .unwrap();
    env().compile("[JSONPatch{op: 'add', path: '/a', value: 1}]", ExpressionKind::JsonPatch).unwrap();
}

#[test]
fn the_wrong_result_at_run_time_is_an_error() {
    let obj = json!({"spec": {"x": 1}});
    // Compiled as any expression: kube refuses this one at compile time (see above);
    // a result whose type only the run shows gets these errors.
    let p = env().compile("object.spec.x == 1 ? object : object", ExpressionKind::Any).unwrap();
    let mut vars = Activation::new();
    vars.bind(OBJECT, &obj, &Shape::Any).unwrap();
    let out = p.evaluate(&vars, PER_CALL_LIMIT).unwrap();
    assert_eq!(
        mutation::apply_configuration(&out),
        Err("unsupported return type from ApplyConfiguration expression: map".into())
    );
    assert_eq!(
        mutation::json_patch(&out),
        Err("type mismatch: JSONPatchType.expression should evaluate to array".into())
    );
}
