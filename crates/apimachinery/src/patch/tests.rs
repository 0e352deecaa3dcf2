use serde_json::{json, Value};

use super::*;

fn cm() -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "labels": {"a": "1"}},
           "data": {"k": "v"}})
}

#[test]
fn content_types() {
    assert_eq!(PatchType::from_content_type("application/json-patch+json"), Some(PatchType::Json));
    assert_eq!(
        PatchType::from_content_type("application/merge-patch+json; charset=utf-8"),
        Some(PatchType::Merge)
    );
    assert_eq!(
        PatchType::from_content_type("Application/Strategic-Merge-Patch+JSON"),
        Some(PatchType::StrategicMerge)
    );
    assert_eq!(PatchType::from_content_type("application/apply-patch+yaml"), None);
    assert_eq!(PatchType::from_content_type("application/json"), None);
    for t in [PatchType::Json, PatchType::Merge, PatchType::StrategicMerge] {
        assert_eq!(PatchType::from_content_type(t.content_type()), Some(t));
    }
}

#[test]
fn json_patch_operations() {
    let got = apply_json_patch(
        &cm(),
        &json!([
            {"op": "test", "path": "/data/k", "value": "v"},
            {"op": "add", "path": "/data/n", "value": "new"},
            {"op": "replace", "path": "/metadata/labels/a", "value": "2"},
            {"op": "remove", "path": "/data/k"},
            {"op": "copy", "from": "/data/n", "path": "/data/m"},
            {"op": "move", "from": "/data/m", "path": "/data/o"},
            {"op": "add", "path": "/metadata/finalizers", "value": []},
            {"op": "add", "path": "/metadata/finalizers/-", "value": "f"}
        ]),
    )
    .unwrap();
    assert_eq!(got["data"], json!({"n": "new", "o": "new"}));
    assert_eq!(got["metadata"]["labels"]["a"], "2");
    assert_eq!(got["metadata"]["finalizers"], json!(["f"]));
    assert_eq!(apply_json_patch(&cm(), &json!([])).unwrap(), cm());
    assert_eq!(apply_json_patch(&cm(), &Value::Null).unwrap(), cm());
}

#[test]
fn json_patch_failures_are_422() {
    for patch in [
        json!([{"op": "remove", "path": "/data/missing"}]),
        json!([{"op": "test", "path": "/data/k", "value": "other"}]),
        json!([{"op": "replace", "path": "/nope/x", "value": 1}]),
        json!([{"op": "frobnicate", "path": "/data"}]),
        json!([{"op": "add", "value": 1}]),
    ] {
        let e = apply_json_patch(&cm(), &patch).unwrap_err();
        assert!(matches!(e, PatchError::JsonPatchFailed(_)), "{patch}: {e:?}");
        let s = e.to_status();
        assert_eq!(
            (s.code, s.reason, s.message.as_str()),
            (422, crate::StatusReason::Invalid, GENERIC_INVALID)
        );
    }
    let e = apply_json_patch(&cm(), &json!([{"op": "test", "path": "/data/k", "value": "x"}])).unwrap_err();
    assert_eq!(e.to_string(), "operation 0 failed at path '/data/k': value did not match");
}

#[test]
fn json_patch_test_reads_an_absent_member_as_null() {
    // kube-rs's finalizer helper: test that there are no finalizers, then add the first.
    let first = json!([
        {"op": "test", "path": "/metadata/finalizers", "value": null},
        {"op": "add", "path": "/metadata/finalizers", "value": ["f"]},
    ]);
    let got = apply_json_patch(&cm(), &first).unwrap();
    assert_eq!(got["metadata"]["finalizers"], json!(["f"]));
    // Once there is one, the same patch fails, so two writers cannot both add "the first".
    let e = apply_json_patch(&got, &first).unwrap_err();
    assert!(matches!(e, PatchError::JsonPatchFailed(_)), "{e:?}");
    // A present null is null too; escaped keys are read as keys.
    let with_null = json!({"metadata": {"name": "n", "a/b~c": 1, "z": null}});
    for path in ["/metadata/z", "/metadata/missing", "/metadata/x~1y~0"] {
        let patch = json!([{"op": "test", "path": path, "value": null}]);
        assert_eq!(apply_json_patch(&with_null, &patch).unwrap(), with_null, "{path}");
    }
    let present = json!([{"op": "test", "path": "/metadata/a~1b~0c", "value": null}]);
    assert!(apply_json_patch(&with_null, &present).is_err(), "a present member is not null");
    // The parent must exist, and an array index must be in range, as kube's patch requires.
    for path in ["/nope/finalizers", "/metadata/name/x", "/data/k/0"] {
        let patch = json!([{"op": "test", "path": path, "value": null}]);
        assert!(apply_json_patch(&cm(), &patch).is_err(), "{path}");
    }
    let list = json!({"l": [1]});
    assert!(apply_json_patch(&list, &json!([{"op": "test", "path": "/l/3", "value": null}])).is_err());
}

#[test]
fn json_patch_decode_errors_are_400() {
    let e = apply_json_patch(&cm(), &json!({"op": "add"})).unwrap_err();
    assert_eq!(
        e,
        PatchError::Decode("json: cannot unmarshal object into Go value of type jsonpatch.Patch".into())
    );
    assert_eq!(e.to_status().code, 400);
    let e = apply_json_patch(&cm(), &json!(["add"])).unwrap_err();
    assert_eq!(
        e,
        PatchError::Decode("json: cannot unmarshal string into Go value of type jsonpatch.Operation".into())
    );
}

#[test]
fn json_patch_operation_limit() {
    let ops: Vec<Value> =
        (0..=MAX_JSON_PATCH_OPERATIONS).map(|_| json!({"op": "test", "path": "", "value": 1})).collect();
    let e = apply_json_patch(&cm(), &Value::Array(ops)).unwrap_err();
    assert_eq!(e, PatchError::TooManyOperations { max: 10_000, got: 10_001 });
    assert_eq!(e.to_status().code, 413);
}

#[test]
fn json_patch_copy_growth_is_bounded() {
    // Each copy doubles the document; 64 of them would need 2^64 times the memory.
    let mut ops = vec![json!({"op": "add", "path": "/x", "value": "0123456789".repeat(100)})];
    for _ in 0..64 {
        ops.push(json!({"op": "copy", "from": "/x", "path": "/y"}));
        ops.push(json!({"op": "add", "path": "/x", "value": []}));
        ops.push(json!({"op": "copy", "from": "/y", "path": "/x/-"}));
        ops.push(json!({"op": "copy", "from": "/y", "path": "/x/-"}));
    }
    let e = apply_json_patch(&json!({}), &Value::Array(ops)).unwrap_err();
    assert!(e.to_string().contains("copies of this patch add more than"), "{e}");
}

#[test]
fn json_patch_depth_is_bounded() {
    // Moving a value inside copies of itself deepens the document each time.
    let mut ops = vec![json!({"op": "add", "path": "/a", "value": {}})];
    for _ in 0..200 {
        ops.push(json!({"op": "copy", "from": "/a", "path": "/b"}));
        ops.push(json!({"op": "move", "from": "/b", "path": "/a/n"}));
    }
    let e = apply_json_patch(&json!({}), &Value::Array(ops)).unwrap_err();
    assert_eq!(e, PatchError::TooDeep { limit: MAX_PATCH_DEPTH });
}

#[test]
fn apply_patch_dispatches_and_decodes() {
    let o = cm();
    let got = apply_patch(PatchType::Merge, &o, br#"{"data":{"k":null,"x":"y"}}"#, None).unwrap();
    assert_eq!(got["data"], json!({"x": "y"}));
    let got =
        apply_patch(PatchType::Json, &o, br#"[{"op":"add","path":"/data/z","value":"1"}]"#, None).unwrap();
    assert_eq!(got["data"]["z"], "1");
    let meta = builtin_patch_meta("", "ConfigMap");
    let got =
        apply_patch(PatchType::StrategicMerge, &o, br#"{"metadata":{"labels":{"a":null}}}"#, meta).unwrap();
    assert_eq!(got["metadata"]["labels"], json!({}));
    assert_eq!(apply_patch(PatchType::Merge, &o, b"null", None).unwrap(), o);

    assert_eq!(
        apply_patch(PatchType::Merge, &o, b"{not json", None),
        Err(PatchError::Decode("Invalid JSON Patch".into()))
    );
    assert_eq!(
        apply_patch(PatchType::Merge, &o, b"\"str\"", None),
        Err(PatchError::Decode("Invalid JSON Patch".into()))
    );
    let e = apply_patch(PatchType::Json, &o, b"[", None).unwrap_err();
    assert!(matches!(e, PatchError::Decode(_)));
    assert_eq!(e.to_status().code, 400);
    let e = apply_patch(PatchType::StrategicMerge, &o, b"{", meta).unwrap_err();
    assert!(matches!(e, PatchError::Decode(_)));
    // Custom resources have no patch metadata: 415, as kube.
    let e = apply_patch(PatchType::StrategicMerge, &o, b"{}", None).unwrap_err();
    assert_eq!(e, PatchError::StrategicMergeNotSupported);
    assert_eq!(e.to_status().code, 415);
}

/// `kubectl patch --type=merge` replaces lists entirely where a strategic patch merges.
#[test]
fn merge_patch_replaces_lists_where_strategic_merges() {
    let pod = json!({"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}});
    let body = br#"{"spec":{"containers":[{"name":"b","image":"z"}]}}"#;
    let merged = apply_patch(PatchType::Merge, &pod, body, None).unwrap();
    assert_eq!(merged["spec"]["containers"], json!([{"name": "b", "image": "z"}]));
    let strategic =
        apply_patch(PatchType::StrategicMerge, &pod, body, builtin_patch_meta("", "Pod")).unwrap();
    assert_eq!(
        strategic["spec"]["containers"],
        json!([{"name": "a", "image": "x"}, {"name": "b", "image": "z"}])
    );
}
