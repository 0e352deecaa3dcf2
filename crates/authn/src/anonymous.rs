//! The anonymous authenticator: `system:anonymous` in `system:unauthenticated`, used
//! only where anonymous access is allowed (by default the health and version endpoints).

use crate::{AuthOutcome, AuthRequest, Authenticator};
use apimachinery::UserInfo;

/// Paths an unauthenticated client may reach with the default settings.
pub const DEFAULT_ANONYMOUS_PATHS: &[&str] = &["/healthz", "/livez", "/readyz", "/version"];

pub struct Anonymous {
    paths: Vec<String>,
}

impl Anonymous {
    /// Anonymous for the given exact paths only (kube's AnonymousAuthConfig conditions).
    pub fn for_paths(paths: &[&str]) -> Self {
        Self { paths: paths.iter().map(|p| p.to_string()).collect() }
    }

    pub fn applies(&self, path: &str) -> bool {
        let path = path.trim_end_matches('/');
        self.paths.iter().any(|p| p == path)
    }
}

#[async_trait::async_trait]
impl Authenticator for Anonymous {
    async fn authenticate(&self, req: &AuthRequest<'_>) -> AuthOutcome {
        if self.applies(req.path) {
            AuthOutcome::Authenticated(UserInfo::anonymous())
        } else {
            AuthOutcome::NotApplicable
        }
    }
}
