//! The authenticated identity of a request (k8s.io/apiserver `user.Info`).

use std::collections::BTreeMap;

pub const ANONYMOUS: &str = "system:anonymous";
pub const ALL_UNAUTHENTICATED: &str = "system:unauthenticated";
pub const ALL_AUTHENTICATED: &str = "system:authenticated";
pub const SYSTEM_MASTERS: &str = "system:masters";

/// Who made a request: name, uid, groups and extra attributes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserInfo {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
    pub extra: BTreeMap<String, Vec<String>>,
}

impl UserInfo {
    pub fn new(name: impl Into<String>, groups: Vec<String>) -> Self {
        Self { name: name.into(), groups, ..Default::default() }
    }

    /// The anonymous user, as kube's anonymous authenticator builds it.
    pub fn anonymous() -> Self {
        Self::new(ANONYMOUS, vec![ALL_UNAUTHENTICATED.to_string()])
    }

    /// Adds `system:authenticated` unless present (kube's AuthenticatedGroupAdder).
    pub fn with_authenticated_group(mut self) -> Self {
        if self.name != ANONYMOUS && !self.groups.iter().any(|g| g == ALL_AUTHENTICATED) {
            self.groups.push(ALL_AUTHENTICATED.to_string());
        }
        self
    }
}
