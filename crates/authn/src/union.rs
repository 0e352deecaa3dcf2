//! The union authenticator: first success wins; a presented-but-invalid credential fails
//! the request unless a later authenticator accepts another credential.
//!
//! Audiences follow kube: a request is for the audiences in [`AuthRequest::audiences`], or for
//! this server's own (`--api-audiences`). Audience-aware authenticators check them themselves;
//! the others answer only when the requested audiences include one of this server's, and their
//! identity is good for that intersection (`authenticator.WrapAudienceAgnosticToken`).
//! Failures are reported as kube's error aggregate (`[a, b]` for several), and a bearer token
//! that no authenticator recognized is kube's `invalid bearer token`
//! (`pkg/authentication/request/bearertoken`).

use crate::anonymous::Anonymous;
use crate::{
    bearer_token, intersect_audiences, AuthOutcome, AuthRequest, Authenticated, Authenticator,
    Unauthenticated,
};

/// kube's error for a bearer token that no token authenticator accepted or refused.
pub const INVALID_BEARER_TOKEN: &str = "invalid bearer token";

pub struct Union {
    authenticators: Vec<Box<dyn Authenticator>>,
    anonymous: Option<Anonymous>,
    api_audiences: Vec<String>,
}

impl Union {
    pub fn new(authenticators: Vec<Box<dyn Authenticator>>, anonymous: Option<Anonymous>) -> Self {
        Self { authenticators, anonymous, api_audiences: Vec::new() }
    }

    /// This server's own audiences (`--api-audiences`): what a credential is checked for when
    /// a request names none.
    pub fn with_api_audiences(mut self, audiences: Vec<String>) -> Self {
        self.api_audiences = audiences;
        self
    }

    /// This server's own audiences.
    pub fn api_audiences(&self) -> &[String] {
        &self.api_audiences
    }

    /// The authenticated user with `system:authenticated` added and the audiences it was
    /// accepted for, or why there is none (the aggregated failures of presented credentials,
    /// or no credential at all).
    pub async fn authenticate(&self, req: &AuthRequest<'_>) -> Result<Authenticated, Unauthenticated> {
        // kube puts the API audiences on every request's context when there are any.
        let targets = req.audiences.or((!self.api_audiences.is_empty()).then_some(&self.api_audiences[..]));
        let mut failures: Vec<String> = Vec::new();
        for a in &self.authenticators {
            let agnostic = !a.audience_aware();
            // An audience-agnostic authenticator only speaks for this server's audiences.
            let agnostic_audiences = match targets {
                Some(t) if agnostic => {
                    let auds = intersect_audiences(&self.api_audiences, t);
                    if auds.is_empty() {
                        continue;
                    }
                    auds
                }
                _ => Vec::new(),
            };
            match a.authenticate(req).await {
                AuthOutcome::Authenticated(user) => {
                    let audiences = if agnostic { agnostic_audiences } else { Vec::new() };
                    return Ok(authenticated(user, audiences));
                }
                AuthOutcome::AuthenticatedFor(user, audiences) => return Ok(authenticated(user, audiences)),
                AuthOutcome::Failed(why) => failures.push(why),
                AuthOutcome::NotApplicable => {}
            }
        }
        if !failures.is_empty() {
            return Err(Unauthenticated::Failed(aggregate(&failures)));
        }
        if bearer_token(req.headers).is_some() {
            return Err(Unauthenticated::Failed(INVALID_BEARER_TOKEN.into()));
        }
        let anonymous = match &self.anonymous {
            Some(anon) => anon.authenticate(req).await,
            None => AuthOutcome::NotApplicable,
        };
        match anonymous {
            AuthOutcome::Authenticated(user) | AuthOutcome::AuthenticatedFor(user, _) => {
                Ok(Authenticated::new(user))
            }
            AuthOutcome::Failed(why) => Err(Unauthenticated::Failed(why)),
            AuthOutcome::NotApplicable => Err(Unauthenticated::NoCredential),
        }
    }
}

fn authenticated(user: apimachinery::UserInfo, audiences: Vec<String>) -> Authenticated {
    let mut who = Authenticated::new(user.with_authenticated_group());
    who.audiences = audiences;
    who
}

/// Go's `utilerrors.NewAggregate(errs).Error()`: one message alone, several deduplicated in
/// brackets.
fn aggregate(messages: &[String]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for m in messages {
        if !seen.contains(&m.as_str()) {
            seen.push(m);
        }
    }
    match seen.as_slice() {
        [one] => (*one).to_string(),
        many => format!("[{}]", many.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apimachinery::UserInfo;

    /// Accepts the token `good` as `user`, refuses `bad` with `why`; audience-aware when
    /// `aware` is set, good then for `aud`.
    struct Fixed {
        user: &'static str,
        aware: Option<&'static str>,
    }

    #[async_trait::async_trait]
    impl Authenticator for Fixed {
        async fn authenticate(&self, req: &AuthRequest<'_>) -> AuthOutcome {
            match bearer_token(req.headers) {
                Some("good") => {
                    let user = UserInfo::new(self.user, vec![]);
                    match self.aware {
                        Some(aud) => {
                            let wanted = req.audiences.map(<[String]>::to_vec).unwrap_or(vec!["api".into()]);
                            let auds = intersect_audiences(&[aud.to_string()], &wanted);
                            if auds.is_empty() {
                                AuthOutcome::Failed(format!("not for {wanted:?}"))
                            } else {
                                AuthOutcome::AuthenticatedFor(user, auds)
                            }
                        }
                        None => AuthOutcome::Authenticated(user),
                    }
                }
                Some("bad") => AuthOutcome::Failed(format!("{} says no", self.user)),
                _ => AuthOutcome::NotApplicable,
            }
        }

        fn audience_aware(&self) -> bool {
            self.aware.is_some()
        }
    }

    fn headers(token: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        h
    }

    fn union(list: Vec<Fixed>) -> Union {
        let boxed = list.into_iter().map(|f| Box::new(f) as Box<dyn Authenticator>).collect();
        Union::new(boxed, None).with_api_audiences(vec!["api".into()])
    }

    async fn run(
        u: &Union,
        token: &str,
        audiences: Option<&[String]>,
    ) -> Result<Authenticated, Unauthenticated> {
        let h = headers(token);
        u.authenticate(&AuthRequest { audiences, ..AuthRequest::new(&h, None, "/api") }).await
    }

    #[tokio::test]
    async fn agnostic_authenticators_answer_only_for_the_api_audiences() {
        let u = union(vec![Fixed { user: "file", aware: None }]);
        let who = run(&u, "good", None).await.unwrap();
        assert_eq!((who.user().name.as_str(), who.audiences()), ("file", &["api".to_string()][..]));
        let both = ["vault".to_string(), "api".to_string()];
        assert_eq!(run(&u, "good", Some(&both)).await.unwrap().audiences(), &["api".to_string()]);
        let vault = ["vault".to_string()];
        assert_eq!(
            run(&u, "good", Some(&vault)).await.unwrap_err(),
            Unauthenticated::Failed(INVALID_BEARER_TOKEN.into())
        );
        // Skipped, not asked: its refusal does not count either.
        assert_eq!(
            run(&u, "bad", Some(&vault)).await.unwrap_err(),
            Unauthenticated::Failed(INVALID_BEARER_TOKEN.into())
        );
    }

    #[tokio::test]
    async fn aware_authenticators_check_the_requested_audiences() {
        let u = union(vec![Fixed { user: "file", aware: None }, Fixed { user: "sa", aware: Some("vault") }]);
        let vault = ["vault".to_string()];
        let who = run(&u, "good", Some(&vault)).await.unwrap();
        assert_eq!((who.user().name.as_str(), who.audiences()), ("sa", &vault[..]));
        assert!(who.user().groups.iter().any(|g| g == "system:authenticated"));
    }

    #[tokio::test]
    async fn failures_aggregate_as_go_does() {
        let u = union(vec![Fixed { user: "a", aware: None }, Fixed { user: "b", aware: None }]);
        assert_eq!(
            run(&u, "bad", None).await.unwrap_err(),
            Unauthenticated::Failed("[a says no, b says no]".into())
        );
        let one = union(vec![Fixed { user: "a", aware: None }]);
        assert_eq!(run(&one, "bad", None).await.unwrap_err(), Unauthenticated::Failed("a says no".into()));
        assert_eq!(
            run(&one, "unknown", None).await.unwrap_err(),
            Unauthenticated::Failed(INVALID_BEARER_TOKEN.into())
        );
        let h = http::HeaderMap::new();
        assert_eq!(
            one.authenticate(&AuthRequest::new(&h, None, "/api")).await.unwrap_err(),
            Unauthenticated::NoCredential
        );
    }
}
