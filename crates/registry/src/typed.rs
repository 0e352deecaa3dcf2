//! Typed checking through the k8s-openapi structs: an object is decoded into its Rust
//! type and encoded again, which checks every field's type and drops unknown fields
//! (reported so `fieldValidation=Strict` can refuse them, as kube does).

use k8s_openapi::api::{
    admissionregistration, apps, authentication, authorization, coordination, core, rbac,
};
use serde_json::Value;

#[derive(Debug, Clone, Copy)]
pub(crate) enum Typed {
    Namespace,
    ConfigMap,
    Secret,
    ServiceAccount,
    Pod,
    Service,
    Endpoints,
    Event,
    Node,
    Deployment,
    ClusterRole,
    ClusterRoleBinding,
    Role,
    RoleBinding,
    Lease,
    LimitRange,
    ResourceQuota,
    MutatingWebhookConfiguration,
    ValidatingWebhookConfiguration,
    TokenReview,
    SelfSubjectReview,
    SubjectAccessReview,
    SelfSubjectAccessReview,
    LocalSubjectAccessReview,
    SelfSubjectRulesReview,
}

fn via<T: serde::de::DeserializeOwned + serde::Serialize>(v: &Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(typed).map_err(|e| e.to_string())
}

pub(crate) fn round_trip(t: Typed, v: &Value) -> Result<(Value, Vec<String>), String> {
    use Typed as T;
    let out = match t {
        T::Namespace => via::<core::v1::Namespace>(v),
        T::ConfigMap => via::<core::v1::ConfigMap>(v),
        T::Secret => via::<core::v1::Secret>(v),
        T::ServiceAccount => via::<core::v1::ServiceAccount>(v),
        T::Pod => via::<core::v1::Pod>(v),
        T::Service => via::<core::v1::Service>(v),
        T::Endpoints => via::<core::v1::Endpoints>(v),
        T::Event => via::<core::v1::Event>(v),
        T::Node => via::<core::v1::Node>(v),
        T::Deployment => via::<apps::v1::Deployment>(v),
        T::ClusterRole => via::<rbac::v1::ClusterRole>(v),
        T::ClusterRoleBinding => via::<rbac::v1::ClusterRoleBinding>(v),
        T::Role => via::<rbac::v1::Role>(v),
        T::RoleBinding => via::<rbac::v1::RoleBinding>(v),
        T::Lease => via::<coordination::v1::Lease>(v),
        T::LimitRange => via::<core::v1::LimitRange>(v),
        T::ResourceQuota => via::<core::v1::ResourceQuota>(v),
        T::MutatingWebhookConfiguration => via::<admissionregistration::v1::MutatingWebhookConfiguration>(v),
        T::ValidatingWebhookConfiguration => {
            via::<admissionregistration::v1::ValidatingWebhookConfiguration>(v)
        }
        T::TokenReview => via::<authentication::v1::TokenReview>(v),
        T::SelfSubjectReview => {
            via::<authentication::v1::SelfSubjectReview>(&with_api_version(v, "authentication.k8s.io/v1"))
        }
        T::SubjectAccessReview => via::<authorization::v1::SubjectAccessReview>(v),
        T::SelfSubjectAccessReview => via::<authorization::v1::SelfSubjectAccessReview>(v),
        T::LocalSubjectAccessReview => via::<authorization::v1::LocalSubjectAccessReview>(v),
        T::SelfSubjectRulesReview => via::<authorization::v1::SelfSubjectRulesReview>(v),
    }?;
    let mut out = out;
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
        let (out, dropped) = round_trip(Typed::Pod, &pod).unwrap();
        assert_eq!(dropped, vec!["metadata.bogus", "spec.containers[0].imagee"]);
        assert_eq!(out["spec"]["containers"][0]["image"], "nginx");
        let bad = json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":"no"}});
        assert!(round_trip(Typed::Pod, &bad).is_err());
    }
}
