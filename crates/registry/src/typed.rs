//! Typed checking through the k8s-openapi structs: an object is decoded into its Rust
//! type and encoded again, which checks every field's type and drops unknown fields
//! (reported so `fieldValidation=Strict` can refuse them, as kube does).

use serde_json::Value;

/// Decodes a JSON object into one k8s-openapi struct and encodes it again.
pub(crate) type RoundTrip = fn(&Value) -> Result<Value, String>;

/// The round trip through `T`.
pub(crate) fn via<T: serde::de::DeserializeOwned + serde::Serialize>(v: &Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(typed).map_err(|e| e.to_string())
}

/// authentication.k8s.io/v1beta1 SelfSubjectReview shares v1's shape.
pub(crate) fn self_subject_review(v: &Value) -> Result<Value, String> {
    via::<k8s_openapi::api::authentication::v1::SelfSubjectReview>(&with_api_version(
        v,
        "authentication.k8s.io/v1",
    ))
}

pub(crate) fn round_trip(typed: RoundTrip, v: &Value) -> Result<(Value, Vec<String>), String> {
    let mut out = typed(v)?;
    // Keep the version the client used (v1beta1 SelfSubjectReview shares v1's shape).
    if let (Some(orig), Some(obj)) = (v.get("apiVersion"), out.as_object_mut()) {
        obj.insert("apiVersion".into(), orig.clone());
    }
    let mut dropped = Vec::new();
    unknown_fields(v, &out, "", &mut dropped);
    Ok((out, dropped))
}

fn with_api_version(v: &Value, api_version: &str) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.insert("apiVersion".into(), Value::String(api_version.into()));
    }
    v
}

/// Paths present (non-null) in `input` but absent from `output`.
fn unknown_fields(input: &Value, output: &Value, path: &str, out: &mut Vec<String>) {
    match (input, output) {
        (Value::Object(i), Value::Object(o)) => {
            for (k, iv) in i {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                match o.get(k) {
                    Some(ov) => unknown_fields(iv, ov, &p, out),
                    None if !iv.is_null() && !is_empty_container(iv) => out.push(p),
                    None => {}
                }
            }
        }
        (Value::Array(i), Value::Array(o)) if i.len() == o.len() => {
            for (n, (iv, ov)) in i.iter().zip(o).enumerate() {
                unknown_fields(iv, ov, &format!("{path}[{n}]"), out);
            }
        }
        _ => {}
    }
}

fn is_empty_container(v: &Value) -> bool {
    matches!(v, Value::Object(m) if m.is_empty()) || matches!(v, Value::Array(a) if a.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_fields_are_reported_and_types_checked() {
        let pod = json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","bogus":1},
            "spec":{"containers":[{"name":"c","image":"nginx","imagee":"x"}]}});
        let pod_rt: RoundTrip = via::<k8s_openapi::api::core::v1::Pod>;
        let (out, dropped) = round_trip(pod_rt, &pod).unwrap();
        assert_eq!(dropped, vec!["metadata.bogus", "spec.containers[0].imagee"]);
        assert_eq!(out["spec"]["containers"][0]["image"], "nginx");
        let bad = json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":"no"}});
        assert!(round_trip(pod_rt, &bad).is_err());
    }
}
