//! The `scale` subresource of a custom resource (kube's `customresource.ScaleREST`): an
//! `autoscaling/v1` Scale read from `specReplicasPath`, `statusReplicasPath` and
//! `labelSelectorPath`, and a Scale's `spec.replicas` written back into the object.

use crate::crd::types::ScalePaths;
use apimachinery::status::StatusError;
use serde_json::{json, Map, Value};

fn segments(path: &str) -> Vec<&str> {
    path.trim_start_matches('.').split('.').collect()
}

fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_i64() => "int64",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

fn go_v(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<nil>".into(),
        Value::Number(n) => apimachinery::gofmt::go_number(n),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

/// `unstructured.NestedFieldNoCopy`: the value at the path, None when absent, Err with
/// kube's accessor error when a step is not an object.
fn nested<'a>(obj: &'a Value, path: &str) -> Result<Option<&'a Value>, String> {
    let segs = segments(path);
    let mut v = obj;
    for (i, seg) in segs.iter().enumerate() {
        match v {
            Value::Object(m) => match m.get(*seg) {
                Some(x) => v = x,
                None => return Ok(None),
            },
            other => {
                return Err(format!(
                    ".{} accessor error: {} is of the type {}, expected map[string]interface{{}}",
                    segs[..i].join("."),
                    go_v(other),
                    go_type(other)
                ))
            }
        }
    }
    Ok(Some(v))
}

/// `unstructured.NestedInt64`: 0 when absent; Err with the rendered value kube reports (0)
/// and its accessor error when not an integer.
pub fn nested_int(obj: &Value, path: &str) -> Result<i64, (String, String)> {
    match nested(obj, path) {
        Err(e) => Err(("0".into(), e)),
        Ok(None) => Ok(0),
        Ok(Some(v)) => v.as_i64().filter(|_| v.is_i64()).ok_or_else(|| {
            (
                "0".into(),
                format!(
                    ".{} accessor error: {} is of the type {}, expected int64",
                    segments(path).join("."),
                    go_v(v),
                    go_type(v)
                ),
            )
        }),
    }
}

/// `unstructured.NestedString`: "" when absent.
pub fn nested_string(obj: &Value, path: &str) -> Result<String, String> {
    match nested(obj, path)? {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v) => Err(format!(
            ".{} accessor error: {} is of the type {}, expected string",
            segments(path).join("."),
            go_v(v),
            go_type(v)
        )),
    }
}

fn found_int(obj: &Value, path: &str) -> Result<Option<i64>, StatusError> {
    match nested(obj, path).map_err(|e| StatusError::internal(&e))? {
        None => Ok(None),
        Some(v) if v.is_i64() => Ok(v.as_i64()),
        Some(v) => Err(StatusError::internal(&format!(
            ".{} accessor error: {} is of the type {}, expected int64",
            segments(path).join("."),
            go_v(v),
            go_type(v)
        ))),
    }
}

/// The Scale of a custom resource (GET .../scale): kube's 500 when the spec replicas
/// field is absent or a path does not hold the expected type.
pub fn get_scale(cr: &Value, paths: &ScalePaths) -> Result<Value, StatusError> {
    let spec = found_int(cr, &paths.spec_replicas_path)?;
    let Some(spec) = spec else {
        return Err(StatusError::internal(&format!(
            "the spec replicas field {} does not exist",
            apimachinery::quote::go_quote(&paths.spec_replicas_path)
        )));
    };
    scale_value(cr, paths, spec)
}

fn scale_value(cr: &Value, paths: &ScalePaths, spec: i64) -> Result<Value, StatusError> {
    let status = found_int(cr, &paths.status_replicas_path)?.unwrap_or(0);
    let selector = match paths.label_selector_path.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => nested_string(cr, p).map_err(|e| StatusError::internal(&e))?,
        None => String::new(),
    };
    let mut meta = Map::new();
    for k in ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"] {
        if let Some(v) = cr.pointer(&format!("/metadata/{k}")).filter(|v| !v.is_null()) {
            meta.insert(k.into(), v.clone());
        }
    }
    if !meta.contains_key("creationTimestamp") {
        meta.insert("creationTimestamp".into(), Value::Null);
    }
    let mut status_obj = json!({"replicas": status as i32});
    if !selector.is_empty() {
        status_obj["selector"] = Value::String(selector);
    }
    Ok(json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": meta,
        "spec": {"replicas": spec as i32},
        "status": status_obj,
    }))
}

/// The Scale an update of the scale subresource starts from; `spec.replicas` is
/// `i32::MIN` when the object has no spec replicas yet (kube's "not set" marker).
pub fn old_scale_for_update(cr: &Value, paths: &ScalePaths) -> Result<Value, StatusError> {
    let spec = found_int(cr, &paths.spec_replicas_path)?;
    scale_value(cr, paths, spec.unwrap_or(i32::MIN as i64))
}

/// Writes a Scale's `spec.replicas` (and its resourceVersion, when set) into a copy of
/// the custom resource (PUT/PATCH .../scale). kube's 400 when replicas are missing.
pub fn apply_scale(cr: &Value, scale: &Value, paths: &ScalePaths) -> Result<Value, StatusError> {
    let replicas = scale.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(0);
    if replicas == i32::MIN as i64
        || (scale.pointer("/spec/replicas").is_none() && found_int(cr, &paths.spec_replicas_path)?.is_none())
    {
        return Err(StatusError::bad_request(format!(
            "the spec replicas field {} cannot be empty",
            apimachinery::quote::go_quote(&paths.spec_replicas_path)
        )));
    }
    let mut out = cr.clone();
    let segs = segments(&paths.spec_replicas_path);
    let mut v = &mut out;
    for seg in &segs[..segs.len().saturating_sub(1)] {
        if !v.get(*seg).is_some_and(Value::is_object) {
            let Some(m) = v.as_object_mut() else {
                return Err(StatusError::internal(&format!(
                    "value cannot be set because {} is not a map",
                    go_v(v)
                )));
            };
            m.insert(seg.to_string(), Value::Object(Map::new()));
        }
        v = v.get_mut(*seg).ok_or_else(|| StatusError::internal("unreachable path"))?;
    }
    if let (Some(last), Some(m)) = (segs.last(), v.as_object_mut()) {
        m.insert(last.to_string(), Value::from(replicas as i32));
    }
    if let Some(rv) =
        scale.pointer("/metadata/resourceVersion").and_then(Value::as_str).filter(|s| !s.is_empty())
    {
        if let Some(meta) = out.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), Value::String(rv.into()));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> ScalePaths {
        ScalePaths {
            spec_replicas_path: ".spec.replicas".into(),
            status_replicas_path: ".status.replicas".into(),
            label_selector_path: Some(".status.labelSelector".into()),
        }
    }

    #[test]
    fn reads_and_writes_scale() {
        let cr = json!({"apiVersion": "a/v1", "kind": "K", "metadata": {"name": "n", "namespace": "d", "resourceVersion": "5"},
                        "spec": {"replicas": 3}, "status": {"replicas": 2, "labelSelector": "app=x"}});
        let sc = get_scale(&cr, &paths()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sc["spec"], json!({"replicas": 3}));
        assert_eq!(sc["status"], json!({"replicas": 2, "selector": "app=x"}));
        assert_eq!(sc["metadata"]["name"], json!("n"));
        let updated = apply_scale(
            &cr,
            &json!({"spec": {"replicas": 7}, "metadata": {"resourceVersion": "5"}}),
            &paths(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(updated["spec"]["replicas"], json!(7));

        let missing = json!({"metadata": {"name": "n"}, "spec": {}});
        let e = get_scale(&missing, &paths()).err().map(|e| e.message);
        assert_eq!(
            e.as_deref(),
            Some(r#"Internal error occurred: the spec replicas field ".spec.replicas" does not exist"#)
        );
        let bad = json!({"metadata": {"name": "n"}, "spec": {"replicas": "x"}});
        let e = get_scale(&bad, &paths()).err().map(|e| e.message);
        assert_eq!(e.as_deref(), Some("Internal error occurred: .spec.replicas accessor error: x is of the type string, expected int64"));
        assert_eq!(
            nested_int(&bad, ".spec.replicas").err().map(|e| e.1).as_deref(),
            Some(".spec.replicas accessor error: x is of the type string, expected int64")
        );
    }
}
