//! Impersonation (`Impersonate-User`, `-Group`, `-Uid`, `-Extra-<key>`): each requested
//! attribute is authorized with the `impersonate` verb for the requesting user, as kube's
//! WithImpersonation filter does; then the request proceeds as the impersonated user.

use apimachinery::user::{ALL_AUTHENTICATED, ANONYMOUS};
use apimachinery::{Attributes, GroupResource, StatusError, UserInfo};
use std::collections::BTreeMap;

const USER: &str = "impersonate-user";
const GROUP: &str = "impersonate-group";
const UID: &str = "impersonate-uid";
const EXTRA_PREFIX: &str = "impersonate-extra-";
const SA_PREFIX: &str = "system:serviceaccount:";

/// The identity asked for in the request's headers, if any.
struct Requested {
    user: String,
    groups: Vec<String>,
    uid: Option<String>,
    extra: BTreeMap<String, Vec<String>>,
}

fn requested(headers: &http::HeaderMap) -> Result<Option<Requested>, StatusError> {
    let text = |v: &http::HeaderValue| {
        v.to_str()
            .map(str::to_string)
            .map_err(|_| StatusError::bad_request("impersonation headers must be valid text"))
    };
    let mut user = None;
    let mut groups = Vec::new();
    let mut uid = None;
    let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut any = false;
    for (name, value) in headers {
        let n = name.as_str();
        if n == USER {
            user = Some(text(value)?);
            any = true;
        } else if n == GROUP {
            groups.push(text(value)?);
            any = true;
        } else if n == UID {
            uid = Some(text(value)?);
            any = true;
        } else if let Some(key) = n.strip_prefix(EXTRA_PREFIX) {
            // Extra keys are percent-encoded in header names; kube lower-cases and unescapes them.
            let key = authn::request_header::unescape_extra_key(key);
            extra.entry(key).or_default().push(text(value)?);
            any = true;
        }
    }
    if !any {
        return Ok(None);
    }
    let Some(user) = user.filter(|u| !u.is_empty()) else {
        return Err(StatusError::bad_request(
            "requested [Impersonate-Group Impersonate-Uid Impersonate-Extra] without impersonating a user",
        ));
    };
    Ok(Some(Requested { user, groups, uid, extra }))
}

fn check(
    authorizer: &dyn authz::Authorizer,
    actor: &UserInfo,
    group: &str,
    resource: &str,
    subresource: &str,
    namespace: &str,
    name: &str,
) -> Result<(), StatusError> {
    let attrs = Attributes {
        user: actor.clone(),
        verb: "impersonate".into(),
        resource_request: true,
        namespace: namespace.into(),
        api_group: group.into(),
        resource: resource.into(),
        subresource: subresource.into(),
        name: name.into(),
        ..Default::default()
    };
    let d = authorizer.authorize(&attrs);
    if d.is_allowed() {
        return Ok(());
    }
    let mut msg = authz::forbidden::forbidden_message(&attrs);
    if !d.reason().is_empty() {
        msg = format!("{msg}: {}", d.reason());
    }
    Err(StatusError::forbidden(&GroupResource::new(group, resource), name, &msg))
}

/// The user the request acts as: the authenticated one, or whom it may impersonate.
pub fn apply(
    authorizer: &dyn authz::Authorizer,
    headers: &http::HeaderMap,
    actor: UserInfo,
) -> Result<UserInfo, StatusError> {
    let Some(req) = requested(headers)? else { return Ok(actor) };
    let mut groups = req.groups.clone();
    if let Some(sa) = req.user.strip_prefix(SA_PREFIX) {
        let (ns, name) = sa.split_once(':').unwrap_or(("", sa));
        check(authorizer, &actor, "", "serviceaccounts", "", ns, name)?;
        if groups.is_empty() {
            groups = vec!["system:serviceaccounts".into(), format!("system:serviceaccounts:{ns}")];
        }
    } else {
        check(authorizer, &actor, "", "users", "", "", &req.user)?;
    }
    for g in &req.groups {
        check(authorizer, &actor, "", "groups", "", "", g)?;
    }
    if let Some(uid) = &req.uid {
        check(authorizer, &actor, "authentication.k8s.io", "uids", "", "", uid)?;
    }
    for (key, values) in &req.extra {
        for v in values {
            check(authorizer, &actor, "authentication.k8s.io", "userextras", key, "", v)?;
        }
    }
    if req.user != ANONYMOUS && !groups.iter().any(|g| g == ALL_AUTHENTICATED) {
        groups.push(ALL_AUTHENTICATED.into());
    }
    tracing::debug!(actor = %actor.name, user = %req.user, "impersonating");
    Ok(UserInfo { name: req.user, uid: req.uid.unwrap_or_default(), groups, extra: req.extra })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_keys_are_unescaped() {
        assert_eq!(authn::request_header::unescape_extra_key("scopes"), "scopes");
        assert_eq!(authn::request_header::unescape_extra_key("example.com%2fteam"), "example.com/team");
    }

    #[test]
    fn refused_impersonation_has_kube_message() {
        let mut h = http::HeaderMap::new();
        h.insert(USER, http::HeaderValue::from_static("jane"));
        let e = apply(&authz::AlwaysDeny, &h, UserInfo::new("bob", vec![])).unwrap_err();
        assert_eq!(e.code, 403);
        assert!(e.message.starts_with("users \"jane\" is forbidden: User \"bob\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope"), "{}", e.message);
        let ok = apply(&authz::AlwaysAllow, &h, UserInfo::new("bob", vec![])).unwrap();
        assert_eq!(ok.name, "jane");
        assert_eq!(ok.groups, vec!["system:authenticated"]);
    }
}
