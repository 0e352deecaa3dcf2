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

/// kube's `Invalid` for a review: its internal object has no kind, so the message names
/// `.<group>` alone.
fn invalid_review(rt: &ResourceType, causes: Vec<apimachinery::status::StatusCause>) -> StatusError {
    let gk = apimachinery::gvr::GroupKind { group: rt.group.to_string(), kind: String::new() };
    StatusError::invalid(&gk, "", causes)
}

/// Go's `%v` of a NonResourceAttributes struct in a field error: `{"Path":"/","Verb":"get"}`.
fn non_resource_rendered(spec: &Value) -> String {
    match spec.get("nonResourceAttributes") {
        Some(n) if !n.is_null() => {
            apimachinery::status::go_json(&json!({"Path": s(n, "/path"), "Verb": s(n, "/verb")}))
        }
        _ => "null".into(),
    }
}

/// kube's `ValidateSubjectAccessReviewSpec` (and the Self form, which has no user check).
fn validate_spec(rt: &ResourceType, spec: &Value, needs_user: bool) -> Result<(), StatusError> {
    use apimachinery::field::invalid_rendered;
    let resource = spec.get("resourceAttributes").is_some_and(|r| !r.is_null());
    let non_resource = spec.get("nonResourceAttributes").is_some_and(|r| !r.is_null());
    let mut causes = Vec::new();
    if resource && non_resource {
        causes.push(invalid_rendered(
            "spec.nonResourceAttributes",
            &non_resource_rendered(spec),
            "cannot be specified in combination with resourceAttributes",
        ));
    }
    if !resource && !non_resource {
        causes.push(invalid_rendered(
            "spec.resourceAttributes",
            &non_resource_rendered(spec),
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        ));
    }
    if needs_user && s(spec, "/user").is_empty() && strings(spec.get("groups")).is_empty() {
        causes.push(apimachinery::field::invalid(
            "spec.user",
            "",
            "at least one of user or group must be specified",
        ));
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(invalid_review(rt, causes))
    }
}

/// The spec as kube writes it back: empty strings and lists of its omitempty fields left out.
fn without_empty(spec: &mut Value) {
    let Some(m) = spec.as_object_mut() else { return };
    for key in ["resourceAttributes", "nonResourceAttributes"] {
        if let Some(a) = m.get_mut(key).and_then(Value::as_object_mut) {
            a.retain(|_, v| v != "");
        }
    }
    m.retain(|k, v| match k.as_str() {
        "user" | "uid" => v != "",
        "groups" => v.as_array().is_none_or(|a| !a.is_empty()),
        "extra" => v.as_object().is_none_or(|e| !e.is_empty()),
        _ => true,
    });
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

/// The review with its status, as kube answers it: a SelfSubjectReview stamped with the
/// time, a SelfSubjectRulesReview as a new object with an empty spec, the other reviews with
/// the request's fields recorded in `managedFields` (kube's create handler runs the field
/// manager on them as on any object).
fn answer(ctx: &Ctx, rt: &ResourceType, mut body: Value, status: Value) -> Response<Body> {
    match rt.kind {
        "SelfSubjectReview" => {
            body["metadata"] = json!({"creationTimestamp": crate::objects::now_rfc3339()});
        }
        "SelfSubjectRulesReview" => {
            body["metadata"] = json!({});
            body["spec"] = json!({});
        }
        _ => {
            if let Some(spec) = body.get_mut("spec") {
                without_empty(spec);
            }
            if let Some(m) = body.get_mut("metadata").and_then(Value::as_object_mut) {
                m.shift_remove("creationTimestamp");
            }
            crate::rest::field_manager::record(ctx, rt, None, &mut body);
        }
    }
    if let Some(o) = body.as_object_mut() {
        o.insert("status".into(), status);
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
        "SelfSubjectReview" => Ok(answer(ctx, rt, body, json!({"userInfo": user_json(ctx.user())}))),
        "SelfSubjectAccessReview" => {
            validate_spec(rt, &spec, false)?;
            let attrs = attributes(&spec, ctx.user().clone())?;
            Ok(answer(ctx, rt, body, access_status(ctx, &attrs).await))
        }
        "SubjectAccessReview" | "LocalSubjectAccessReview" => {
            validate_spec(rt, &spec, true)?;
            if rt.kind == "LocalSubjectAccessReview" {
                // kube's ValidateLocalSubjectAccessReview beyond the spec's rules.
                use apimachinery::field::{invalid, invalid_rendered};
                let mut causes = Vec::new();
                let ns = s(&spec, "/resourceAttributes/namespace");
                if spec.get("resourceAttributes").is_some_and(|r| !r.is_null()) && ns != ctx.info.namespace {
                    causes.push(invalid(
                        "spec.resourceAttributes.namespace",
                        &ns,
                        "must match metadata.namespace",
                    ));
                }
                if spec.get("nonResourceAttributes").is_some_and(|r| !r.is_null()) {
                    causes.push(invalid_rendered(
                        "spec.nonResourceAttributes",
                        &non_resource_rendered(&spec),
                        "disallowed on this kind of request",
                    ));
                }
                if !causes.is_empty() {
                    return Err(invalid_review(rt, causes));
                }
            }
            let user_name = s(&spec, "/user");
            let groups = strings(spec.get("groups"));
            let mut extra = BTreeMap::new();
            for (k, v) in spec.get("extra").and_then(Value::as_object).into_iter().flatten() {
                extra.insert(k.clone(), strings(Some(v)));
            }
            let user = UserInfo { name: user_name, uid: s(&spec, "/uid"), groups, extra };
            let attrs = attributes(&spec, user)?;
            Ok(answer(ctx, rt, body, access_status(ctx, &attrs).await))
        }
        "SelfSubjectRulesReview" => {
            let ns = s(&spec, "/namespace");
            if ns.is_empty() {
                return Err(StatusError::bad_request("no namespace on request"));
            }
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
            Ok(answer(ctx, rt, body, status))
        }
        "TokenReview" => {
            let status = token_review(ctx, &spec).await?;
            Ok(answer(ctx, rt, body, status))
        }
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
