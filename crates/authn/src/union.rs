//! The union authenticator: first success wins; a presented-but-invalid credential fails
//! the request unless a later authenticator accepts another credential.

use crate::anonymous::Anonymous;
use crate::{AuthOutcome, AuthRequest, Authenticator};

pub struct Union {
    authenticators: Vec<Box<dyn Authenticator>>,
    anonymous: Option<Anonymous>,
}

impl Union {
    pub fn new(authenticators: Vec<Box<dyn Authenticator>>, anonymous: Option<Anonymous>) -> Self {
        Self { authenticators, anonymous }
    }

    /// Authenticated user with `system:authenticated` added, or the aggregated failure.
    pub async fn authenticate(&self, req: &AuthRequest<'_>) -> AuthOutcome {
        let mut failures: Vec<String> = Vec::new();
        for a in &self.authenticators {
            match a.authenticate(req).await {
                AuthOutcome::Authenticated(user) => {
                    return AuthOutcome::Authenticated(user.with_authenticated_group())
                }
                AuthOutcome::Failed(why) => failures.push(why),
                AuthOutcome::NotApplicable => {}
            }
        }
        if !failures.is_empty() {
            return AuthOutcome::Failed(failures.join(", "));
        }
        match &self.anonymous {
            Some(anon) => anon.authenticate(req).await,
            None => AuthOutcome::NotApplicable,
        }
    }
}
