//! The union authenticator: first success wins; a presented-but-invalid credential fails
//! the request unless a later authenticator accepts another credential.

use crate::anonymous::Anonymous;
use crate::{AuthOutcome, AuthRequest, Authenticated, Authenticator, Unauthenticated};

pub struct Union {
    authenticators: Vec<Box<dyn Authenticator>>,
    anonymous: Option<Anonymous>,
}

impl Union {
    pub fn new(authenticators: Vec<Box<dyn Authenticator>>, anonymous: Option<Anonymous>) -> Self {
        Self { authenticators, anonymous }
    }

    /// The authenticated user with `system:authenticated` added, or why there is none
    /// (the aggregated failures of presented credentials, or no credential at all).
    pub async fn authenticate(&self, req: &AuthRequest<'_>) -> Result<Authenticated, Unauthenticated> {
        let mut failures: Vec<String> = Vec::new();
        for a in &self.authenticators {
            match a.authenticate(req).await {
                AuthOutcome::Authenticated(user) => {
                    return Ok(Authenticated::new(user.with_authenticated_group()))
                }
                AuthOutcome::Failed(why) => failures.push(why),
                AuthOutcome::NotApplicable => {}
            }
        }
        if !failures.is_empty() {
            return Err(Unauthenticated::Failed(failures.join(", ")));
        }
        let anonymous = match &self.anonymous {
            Some(anon) => anon.authenticate(req).await,
            None => AuthOutcome::NotApplicable,
        };
        match anonymous {
            AuthOutcome::Authenticated(user) => Ok(Authenticated::new(user)),
            AuthOutcome::Failed(why) => Err(Unauthenticated::Failed(why)),
            AuthOutcome::NotApplicable => Err(Unauthenticated::NoCredential),
        }
    }
}
