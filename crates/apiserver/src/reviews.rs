//! The review APIs: answered, never stored. SelfSubjectReview (`kubectl auth whoami`),
//! TokenReview, SubjectAccessReview and its Local/Self forms (`kubectl auth can-i`),
//! SelfSubjectRulesReview (`kubectl auth can-i --list`).

use crate::context::Ctx;
use crate::response::{self, Body};
use apimachinery::{Attributes, StatusError, UserInfo};
use http::Response;
use registry::ResourceType;
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn s(v: &Value, p: &str) -> String {
    v.pointer(p).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect()
}

fn user_json(u: &UserInfo) -> Value {
    let mut j = json!({"username": u.name, "groups": u.groups});
    if !u.uid.is_empty() {
        j["uid"] = json!(u.uid);
    }
    if !u.extra.is_empty() {
        j["extra"] = json!(u.extra);
    }
    j
}

/// Attributes from a SubjectAccessReviewSpec for `user`.
fn attributes(spec: &Value, user: UserInfo) -> Result<Attributes, StatusError> {
    if let Some(r) = spec.get("resourceAttributes") {
        Ok(Attributes {
            user,
            verb: s(r, "/verb"),
            resource_request: true,
            namespace: s(r, "/namespace"),
            api_group: s(r, "/group"),
            api_version: s(r, "/version"),
            resource: s(r, "/resource"),
            subresource: s(r, "/subresource"),
            name: s(r, "/name"),
            path: String::new(),
        })
    } else if let Some(n) = spec.get("nonResourceAttributes") {
        Ok(Attributes { user, verb: s(n, "/verb"), path: s(n, "/path"), ..Default::default() })
    } else {
        Err(StatusError::bad_request(
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        ))
    }
}

async fn access_status(ctx: &Ctx, attrs: &Attributes) -> Value {
    let verdict = ctx.state.authorizer.authorize_async(attrs).await;
    let d = verdict.decision;
    let mut st = json!({"allowed": d.is_allowed()});
    if matches!(d, apimachinery::Decision::Deny(_)) {
        st["denied"] = json!(true);
    }
    if !d.reason().is_empty() {
        st["reason"] = json!(d.reason());
    }
    if let Some(err) = verdict.errors.first() {
        st["evaluationError"] = json!(err);
    }
    st
}

fn answer(mut body: Value, status: Value) -> Response<Body> {
    if let Some(o) = body.as_object_mut() {
        o.insert("status".into(), status);
        let meta = o.entry("metadata").or_insert_with(|| json!({}));
        if let Some(m) = meta.as_object_mut() {
            m.insert("creationTimestamp".into(), Value::Null);
        }
    }
    response::json(201, &body)
}

pub async fn create(ctx: &Ctx, rt: &ResourceType, body: Value) -> Result<Response<Body>, StatusError> {
    let (mut body, _) = rt
        .normalize(&body)
        .map_err(|e| StatusError::bad_request(format!("error decoding {}: {e}", rt.kind)))?;
    body["apiVersion"] = json!(rt.api_version());
    body["kind"] = json!(rt.kind);
    let spec = body.get("spec").cloned().unwrap_or_else(|| json!({}));
    match rt.kind {
        "SelfSubjectReview" => Ok(answer(body, json!({"userInfo": user_json(ctx.user())}))),
        "SelfSubjectAccessReview" => {
            let attrs = attributes(&spec, ctx.user().clone())?;
            Ok(answer(body, access_status(ctx, &attrs).await))
        }
        "SubjectAccessReview" | "LocalSubjectAccessReview" => {
            if rt.kind == "LocalSubjectAccessReview" {
                let ns = s(&spec, "/resourceAttributes/namespace");
                if ns != ctx.info.namespace || spec.get("nonResourceAttributes").is_some() {
                    let name = rt.group_kind();
                    let cause = apimachinery::status::StatusCause {
                        reason: apimachinery::CauseType::FieldValueInvalid,
                        message: format!(
                            "Invalid value: {}: must match metadata.namespace",
                            apimachinery::status::quote(&ns)
                        ),
                        field: "spec.resourceAttributes.namespace".into(),
                    };
                    return Err(StatusError::invalid(&name, "", vec![cause]));
                }
            }
            let user_name = s(&spec, "/user");
            let groups = strings(spec.get("groups"));
            if user_name.is_empty() && groups.is_empty() {
                let cause = apimachinery::status::StatusCause {
                    reason: apimachinery::CauseType::FieldValueRequired,
                    message: "Required value: at least one of user or group must be specified".into(),
                    field: "spec.user".into(),
                };
                return Err(StatusError::invalid(&rt.group_kind(), "", vec![cause]));
            }
            let mut extra = BTreeMap::new();
            for (k, v) in spec.get("extra").and_then(Value::as_object).into_iter().flatten() {
                extra.insert(k.clone(), strings(Some(v)));
            }
            let user = UserInfo { name: user_name, uid: s(&spec, "/uid"), groups, extra };
            let attrs = attributes(&spec, user)?;
            Ok(answer(body, access_status(ctx, &attrs).await))
        }
        "SelfSubjectRulesReview" => {
            let ns = s(&spec, "/namespace");
            // Every authorizer of the chain answers; those that cannot enumerate rules
            // (Node, Webhook) mark the list incomplete with an evaluation error, as in kube.
            use authz::RuleResolver;
            let rules = ctx.state.authorizer.rules_for(ctx.user(), &ns);
            let resource_rules: Vec<Value> = rules
                .resource_rules
                .iter()
                .map(|r| {
                    let mut j =
                        json!({"verbs": r.verbs, "apiGroups": r.api_groups, "resources": r.resources});
                    if !r.resource_names.is_empty() {
                        j["resourceNames"] = json!(r.resource_names);
                    }
                    j
                })
                .collect();
            let non_resource_rules: Vec<Value> = rules
                .non_resource_rules
                .iter()
                .map(|r| json!({"verbs": r.verbs, "nonResourceURLs": r.non_resource_urls}))
                .collect();
            let mut status = json!({"resourceRules": resource_rules, "nonResourceRules": non_resource_rules, "incomplete": rules.incomplete});
            let err = rules.evaluation_error();
            if !err.is_empty() {
                status["evaluationError"] = json!(err);
            }
            Ok(answer(body, status))
        }
        "TokenReview" => Ok(answer(body, token_review(ctx, &spec).await?)),
        _ => Err(StatusError::method_not_supported(&rt.group_resource(), "create")),
    }
}

/// TokenReview's status (kube's `pkg/registry/authentication/tokenreview`): the token is
/// authenticated as a request for `spec.audiences` (this server's own when none are given),
/// and the answer names the audiences it was accepted for. Go leaves `authenticated: false`
/// out and always writes `user`.
async fn token_review(ctx: &Ctx, spec: &Value) -> Result<Value, StatusError> {
    let token = s(spec, "/token");
    if token.is_empty() {
        return Err(StatusError::bad_request("token is required for TokenReview in authentication"));
    }
    let mut audiences = strings(spec.get("audiences"));
    if audiences.is_empty() {
        audiences = ctx.state.authn.api_audiences().to_vec();
    }
    let mut headers = http::HeaderMap::new();
    if let Ok(v) = http::HeaderValue::from_str(&format!("Bearer {token}")) {
        headers.insert(http::header::AUTHORIZATION, v);
    }
    let req = authn::AuthRequest {
        audiences: (!audiences.is_empty()).then_some(&audiences[..]),
        ..authn::AuthRequest::new(&headers, None, "")
    };
    let status = match ctx.state.authn.authenticate(&req).await {
        Ok(who) if who.user().name != apimachinery::user::ANONYMOUS => {
            if !audiences.is_empty() && authn::intersect_audiences(&audiences, who.audiences()).is_empty() {
                tracing::error!(want = ?audiences, got = ?who.audiences(), "error validating audience");
                return Err(StatusError::internal("error validating audiences"));
            }
            let mut status = json!({"authenticated": true, "user": user_json(who.user())});
            if !who.audiences().is_empty() {
                status["audiences"] = json!(who.audiences());
            }
            status
        }
        Err(authn::Unauthenticated::Failed(why)) => json!({"user": {}, "error": why}),
        _ => json!({"user": {}}),
    };
    Ok(status)
}
