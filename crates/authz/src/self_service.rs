//! kubeward's self-service API: `reachablenamespaces.kubeward.io`, the namespaces the caller
//! holds some access in (OpenShift's `projects` answer the same question). Like the
//! self-reviews kube grants everyone through `system:basic-user`, its answer only ever covers
//! the caller, so every authenticated user may read it; kubeward allows that here rather than
//! in a bootstrap role, which keeps the default RBAC policy exactly kube's.
//!
//! The chain applies [`allows`] last: an authorizer that denies still wins, and with no
//! opinion from any of them `get` and `list` of the resource are allowed to members of
//! `system:authenticated` with [`REASON`].

use apimachinery::user::ALL_AUTHENTICATED;
use apimachinery::Attributes;

/// The API group of kubeward's extensions.
pub const GROUP: &str = "kubeward.io";
/// Its version.
pub const VERSION: &str = "v1alpha1";
/// The namespaces the caller can reach.
pub const REACHABLE_NAMESPACES: &str = "reachablenamespaces";
/// The allow reason (audit's `authorization.k8s.io/reason`).
pub const REASON: &str = "kubeward: reachablenamespaces answers for the caller only";

/// Whether `attrs` reads the caller's own reachable namespaces as an authenticated user.
pub fn allows(attrs: &Attributes) -> bool {
    attrs.resource_request
        && attrs.api_group == GROUP
        && attrs.resource == REACHABLE_NAMESPACES
        && attrs.subresource.is_empty()
        && matches!(attrs.verb.as_str(), "get" | "list")
        && attrs.user.groups.iter().any(|g| g == ALL_AUTHENTICATED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use apimachinery::UserInfo;

    fn attrs(verb: &str, groups: &[&str]) -> Attributes {
        Attributes {
            user: UserInfo::new("carol", groups.iter().map(|g| g.to_string()).collect()),
            verb: verb.into(),
            resource_request: true,
            api_group: GROUP.into(),
            resource: REACHABLE_NAMESPACES.into(),
            ..Default::default()
        }
    }

    #[test]
    fn authenticated_users_read_only_their_own_answer() {
        assert!(allows(&attrs("list", &[ALL_AUTHENTICATED])));
        assert!(allows(&attrs("get", &[ALL_AUTHENTICATED])));
        assert!(!allows(&attrs("watch", &[ALL_AUTHENTICATED])));
        assert!(!allows(&attrs("create", &[ALL_AUTHENTICATED])));
        assert!(!allows(&attrs("list", &["system:unauthenticated"])), "anonymous callers are not");
        let mut other = attrs("list", &[ALL_AUTHENTICATED]);
        other.api_group = "project.openshift.io".into();
        assert!(!allows(&other));
    }
}
