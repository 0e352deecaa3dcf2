//! `POST serviceaccounts/<name>/token` (TokenRequest): a bound token for the ServiceAccount,
//! optionally bound to a Pod or Secret, so it dies with that object (kube's
//! `pkg/registry/core/serviceaccount/storage/token.go`).

use crate::context::Ctx;
use crate::response::{self, Body};
use apimachinery::status::{CauseType, StatusCause};
use apimachinery::StatusError;
use authn::serviceaccount::BoundObject;
use http::Response;
use registry::ResourceType;
use serde_json::{json, Value};

fn invalid(field: &str, message: String) -> StatusError {
    let gk =
        apimachinery::gvr::GroupKind { group: "authentication.k8s.io".into(), kind: "TokenRequest".into() };
    StatusError::invalid(
        &gk,
        "",
        vec![StatusCause { reason: CauseType::FieldValueInvalid, message, field: field.into() }],
    )
}

pub async fn create(ctx: &Ctx, sa_rt: &ResourceType, body: Value) -> Result<Response<Body>, StatusError> {
    let Some(issuer) = ctx.state.token_issuer.clone() else {
        return Err(StatusError::not_found_path());
    };
    let ns = ctx.info.namespace.clone();
    let sa = ctx.state.objects.get(sa_rt, &ns, &ctx.info.name).await?;
    let sa_uid = sa.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or_default().to_string();
    let spec = body.get("spec").cloned().unwrap_or_else(|| json!({}));
    let audiences: Vec<String> = spec
        .get("audiences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    let expiration = spec.get("expirationSeconds").and_then(Value::as_i64);
    let bound = match spec.get("boundObjectRef").filter(|b| !b.is_null()) {
        None => None,
        Some(b) => {
            let kind = b.get("kind").and_then(Value::as_str).unwrap_or_default();
            let name = b.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
            let want_uid = b.get("uid").and_then(Value::as_str).unwrap_or_default();
            let plural = match kind {
                "Pod" => "pods",
                "Secret" => "secrets",
                other => {
                    return Err(invalid(
                        "spec.boundObjectRef.kind",
                        format!(
                            "Unsupported value: {}: supported values: \"Pod\", \"Secret\"",
                            apimachinery::status::quote(other)
                        ),
                    ))
                }
            };
            let rt = ctx
                .state
                .catalog
                .lookup("", "v1", plural)
                .ok_or_else(|| StatusError::internal("no bound kind"))?;
            let obj = ctx.state.objects.get(rt, &ns, &name).await?;
            let uid = obj.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or_default().to_string();
            if !want_uid.is_empty() && want_uid != uid {
                return Err(StatusError::conflict(
                    &rt.group_resource(),
                    &name,
                    &format!("the UID in the bound object reference ({want_uid}) does not match the UID in record. The object might have been deleted and then recreated"),
                ));
            }
            Some(match kind {
                "Pod" => BoundObject::Pod { name, uid, node: None },
                _ => BoundObject::Secret { name, uid },
            })
        }
    };
    let (token, exp) = issuer
        .issue_bound(&ns, &ctx.info.name, &sa_uid, &audiences, expiration, bound)
        .map_err(|e| match e {
            authn::serviceaccount::issuer::IssueError::TooShort(_)
            | authn::serviceaccount::issuer::IssueError::TooLong(_) => {
                let text = e.to_string();
                let (field, msg) = text.split_once(": ").unwrap_or(("spec.expirationSeconds", &text));
                invalid(field, msg.to_string())
            }
            other => StatusError::internal(&other.to_string()),
        })?;
    let expires =
        chrono::DateTime::from_timestamp(exp, 0).map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string());
    // kube answers the request as it went through its create handler: named after the
    // ServiceAccount with a new uid, the fields the client set recorded in managedFields, the
    // audiences defaulted to the API's and no bound object as null.
    let mut out = body.clone();
    out["apiVersion"] = json!("authentication.k8s.io/v1");
    out["kind"] = json!("TokenRequest");
    out["metadata"] = json!({"name": ctx.info.name, "namespace": ns});
    super::field_manager::record_kind(ctx, "authentication.k8s.io", "v1", "TokenRequest", &mut out);
    out["metadata"]["uid"] = json!(uuid::Uuid::new_v4().to_string());
    out["metadata"]["creationTimestamp"] = json!(crate::objects::now_rfc3339());
    let spec = out.as_object_mut().map(|o| o.entry("spec").or_insert_with(|| json!({})));
    if let Some(Value::Object(spec)) = spec {
        if spec.get("audiences").and_then(Value::as_array).is_none_or(Vec::is_empty) {
            spec.insert("audiences".into(), json!(ctx.state.authn.api_audiences()));
        }
        spec.entry("boundObjectRef").or_insert(Value::Null);
    }
    out["status"] = json!({"token": token, "expirationTimestamp": expires});
    tracing::info!(namespace = %ns, serviceaccount = %ctx.info.name, user = %ctx.user().name, "token issued");
    Ok(response::json(201, &out))
}
