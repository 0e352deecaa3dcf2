//! Legacy static passwords from `--basic-auth-file` (kube's `passwordfile`, removed from
//! kube-apiserver in 1.19 and kept here for old setups): a CSV of
//! `password,user,uid[,"group1,group2"]`, checked against `Authorization: Basic`.
//!
//! Passwords are held only as SHA-256 digests and compared in constant time; an unknown
//! user costs the same comparison as a known one. The file is re-read while the server runs.

use crate::bearer::basic_credentials;
use crate::cache::TokenKey;
use crate::reload::{self, CredentialFileError, Reloading, Watch};
use crate::{AuthOutcome, AuthRequest, Authenticator};
use apimachinery::UserInfo;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The parsed file: password digest and user by user name.
pub struct PasswordTable {
    users: HashMap<String, (TokenKey, UserInfo)>,
}

impl std::fmt::Debug for PasswordTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordTable").field("users", &self.users.len()).finish()
    }
}

impl PasswordTable {
    /// Parses the file's text (kube's `passwordfile.NewCSV`): a later line for the same
    /// user name replaces the earlier one.
    pub fn parse(path: &str, text: &str) -> Result<Self, CredentialFileError> {
        let records = crate::csv::parse(text).map_err(|e| reload::syntax(path, e))?;
        let mut users = HashMap::new();
        for rec in records {
            reload::require_columns(path, rec.line, rec.fields.len(), "password, user name, user uid")?;
            let [password, name, uid, rest @ ..] = rec.fields.as_slice() else { continue };
            let user = UserInfo {
                name: name.clone(),
                uid: uid.clone(),
                groups: reload::split_groups(rest.first()),
                ..Default::default()
            };
            if users.insert(name.clone(), (TokenKey::of(password), user)).is_some() {
                tracing::warn!(path, line = rec.line, user = %name, "duplicate user name in password file");
            }
        }
        Ok(Self { users })
    }

    /// The user whose name and password match.
    pub fn check(&self, name: &str, password: &str) -> Option<&UserInfo> {
        let presented = TokenKey::of(password);
        match self.users.get(name) {
            Some((digest, user)) => digest.ct_eq(&presented).then_some(user),
            None => {
                // Same work as a known user, so that timing does not tell which users exist.
                let _ = UNKNOWN_USER.ct_eq(&presented);
                None
            }
        }
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

static UNKNOWN_USER: std::sync::LazyLock<TokenKey> = std::sync::LazyLock::new(|| TokenKey::of(""));

/// The `--basic-auth-file` authenticator.
pub struct BasicAuthAuthenticator {
    table: Arc<Reloading<PasswordTable>>,
    _watch: Option<Watch>,
}

fn warn_legacy(path: &Path) {
    tracing::warn!(
        path = %path.display(),
        "basic authentication is deprecated and insecure (static passwords sent on every request); \
         use client certificates or tokens instead"
    );
}

impl BasicAuthAuthenticator {
    /// Loads the file once; it is not re-read.
    pub fn load(path: &Path) -> Result<Self, CredentialFileError> {
        warn_legacy(path);
        Ok(Self { table: Reloading::load(path, PasswordTable::parse)?, _watch: None })
    }

    /// Loads the file and polls it every `every` (needs a Tokio runtime).
    pub fn load_and_watch(path: &Path, every: Duration) -> Result<Self, CredentialFileError> {
        warn_legacy(path);
        let table = Reloading::load(path, PasswordTable::parse)?;
        let watch = table.watch(every)?;
        Ok(Self { table, _watch: Some(watch) })
    }

    /// Re-reads the file now; `Ok(true)` when a new table took effect.
    pub fn reload(&self) -> Result<bool, CredentialFileError> {
        self.table.reload_from_disk()
    }
}

#[async_trait::async_trait]
impl Authenticator for BasicAuthAuthenticator {
    async fn authenticate(&self, req: &AuthRequest<'_>) -> AuthOutcome {
        let Some((name, password)) = basic_credentials(req.headers) else {
            return AuthOutcome::NotApplicable;
        };
        match self.table.current().check(&name, &password) {
            Some(user) => AuthOutcome::Authenticated(user.clone()),
            None => AuthOutcome::Failed("invalid username/password combination".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    async fn auth(a: &BasicAuthAuthenticator, user: &str, password: &str) -> AuthOutcome {
        let mut headers = http::HeaderMap::new();
        let enc = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        headers.insert(http::header::AUTHORIZATION, format!("Basic {enc}").parse().unwrap());
        a.authenticate(&AuthRequest::new(&headers, None, "/api")).await
    }

    #[tokio::test]
    async fn checks_passwords_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("passwords.csv");
        std::fs::write(&path, "s3cret,admin,1,\"system:masters\"\nother,bob,2\n").unwrap();
        let a = BasicAuthAuthenticator::load(&path).unwrap();
        let AuthOutcome::Authenticated(u) = auth(&a, "admin", "s3cret").await else { panic!() };
        assert_eq!(
            (u.name.as_str(), u.uid.as_str(), u.groups),
            ("admin", "1", vec!["system:masters".into()])
        );
        assert!(matches!(auth(&a, "admin", "other").await, AuthOutcome::Failed(_)));
        assert!(matches!(auth(&a, "nobody", "s3cret").await, AuthOutcome::Failed(_)));
        let empty = http::HeaderMap::new();
        let none = a.authenticate(&AuthRequest::new(&empty, None, "/")).await;
        assert_eq!(none, AuthOutcome::NotApplicable);

        std::fs::write(&path, "n3w,admin,1\n").unwrap();
        assert!(a.reload().unwrap());
        assert!(matches!(auth(&a, "admin", "n3w").await, AuthOutcome::Authenticated(_)));
        std::fs::write(&path, "only-two,columns\n").unwrap();
        let e = a.reload().unwrap_err().to_string();
        assert!(e.contains("line 1") && !e.contains("only-two"), "{e}");
        assert!(matches!(auth(&a, "admin", "n3w").await, AuthOutcome::Authenticated(_)));
    }

    #[test]
    fn debug_shows_no_secret() {
        let t = PasswordTable::parse("f", "pw,admin,1\n").unwrap();
        assert_eq!(format!("{t:?}"), "PasswordTable { users: 1 }");
        assert!(t.check("admin", "pw").is_some());
    }
}
