//! Impersonation (`Impersonate-User`, `-Group`, `-Uid`, `-Extra-<key>`): each requested
//! attribute is authorized with the `impersonate` verb for the requesting user, as kube's
//! WithImpersonation filter does; then the request proceeds as the impersonated user.
//!
//! The checks are asked of an [`ImpersonationAuthorizer`] (the server's authorizer chain,
//! awaited like every other authorization); the new identity is an [`Authenticated`] that
//! only this module builds, and it remembers who impersonates.

use crate::Authenticated;
use apimachinery::user::{ALL_AUTHENTICATED, ANONYMOUS};
use apimachinery::{Attributes, StatusError, UserInfo};
use std::collections::BTreeMap;

/// Decides the `impersonate` checks: `Ok` when allowed, else the Status to answer (kube's
/// 403, or 500 when an authorizer failed).
#[async_trait::async_trait]
pub trait ImpersonationAuthorizer: Send + Sync {
    async fn check(&self, attrs: &Attributes) -> Result<(), StatusError>;
}

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
            let key = crate::request_header::unescape_extra_key(key);
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

async fn check(
    authorizer: &dyn ImpersonationAuthorizer,
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
    authorizer.check(&attrs).await
}

/// The identity the request acts as: the authenticated one, or whom it may impersonate.
pub async fn impersonate(
    authorizer: &dyn ImpersonationAuthorizer,
    headers: &http::HeaderMap,
    authenticated: Authenticated,
) -> Result<Authenticated, StatusError> {
    let Some(req) = requested(headers)? else { return Ok(authenticated) };
    let Authenticated { user: actor, audiences, .. } = authenticated;
    let mut groups = req.groups.clone();
    if let Some(sa) = req.user.strip_prefix(SA_PREFIX) {
        let (ns, name) = sa.split_once(':').unwrap_or(("", sa));
        check(authorizer, &actor, "", "serviceaccounts", "", ns, name).await?;
        if groups.is_empty() {
            groups = vec!["system:serviceaccounts".into(), format!("system:serviceaccounts:{ns}")];
        }
    } else {
        check(authorizer, &actor, "", "users", "", "", &req.user).await?;
    }
    for g in &req.groups {
        check(authorizer, &actor, "", "groups", "", "", g).await?;
    }
    if let Some(uid) = &req.uid {
        check(authorizer, &actor, "authentication.k8s.io", "uids", "", "", uid).await?;
    }
    for (key, values) in &req.extra {
        for v in values {
            check(authorizer, &actor, "authentication.k8s.io", "userextras", key, "", v).await?;
        }
    }
    if req.user != ANONYMOUS && !groups.iter().any(|g| g == ALL_AUTHENTICATED) {
        groups.push(ALL_AUTHENTICATED.into());
    }
    tracing::debug!(actor = %actor.name, user = %req.user, "impersonating");
    let user = UserInfo { name: req.user, uid: req.uid.unwrap_or_default(), groups, extra: req.extra };
    Ok(Authenticated { user, impersonator: Some(actor), audiences })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_keys_are_unescaped() {
        assert_eq!(crate::request_header::unescape_extra_key("scopes"), "scopes");
        assert_eq!(crate::request_header::unescape_extra_key("example.com%2fteam"), "example.com/team");
    }

    /// Allows only what `allowed` names (resource/name), refusing the rest with 403.
    struct Only(&'static [&'static str]);

    #[async_trait::async_trait]
    impl ImpersonationAuthorizer for Only {
        async fn check(&self, a: &Attributes) -> Result<(), StatusError> {
            assert_eq!(a.verb, "impersonate");
            if self.0.contains(&format!("{}/{}", a.resource, a.name).as_str()) {
                return Ok(());
            }
            let gr = apimachinery::GroupResource::new(a.api_group.clone(), a.resource.clone());
            Err(StatusError::forbidden(&gr, &a.name, "no"))
        }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, http::HeaderValue::from_static(v));
        }
        h
    }

    #[tokio::test]
    async fn every_attribute_is_checked_and_the_impersonator_remembered() {
        let bob = Authenticated::new(UserInfo::new("bob", vec![]));
        let h = headers(&[(USER, "jane"), (GROUP, "dev")]);
        let e = impersonate(&Only(&["users/jane"]), &h, bob.clone()).await.unwrap_err();
        assert_eq!((e.code, e.message.as_str()), (403, "groups \"dev\" is forbidden: no"));
        let ok = impersonate(&Only(&["users/jane", "groups/dev"]), &h, bob.clone()).await.unwrap();
        assert_eq!(ok.user().name, "jane");
        assert_eq!(ok.user().groups, vec!["dev", "system:authenticated"]);
        assert_eq!(ok.impersonator().map(|u| u.name.as_str()), Some("bob"));
        let sa = headers(&[(USER, "system:serviceaccount:ns:sa")]);
        let ok = impersonate(&Only(&["serviceaccounts/sa"]), &sa, bob.clone()).await.unwrap();
        assert_eq!(
            ok.user().groups,
            vec!["system:serviceaccounts", "system:serviceaccounts:ns", "system:authenticated"]
        );
        let none = impersonate(&Only(&[]), &http::HeaderMap::new(), bob.clone()).await.unwrap();
        assert_eq!(none, bob);
        let e = impersonate(&Only(&[]), &headers(&[(GROUP, "dev")]), bob).await.unwrap_err();
        assert_eq!(e.code, 400);
    }
}
