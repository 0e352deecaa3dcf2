//! Static bearer tokens from `--token-auth-file` (kube's `tokenfile`): a CSV of
//! `token,user,uid[,"group1,group2"]`. The file is re-read while the server runs.
//!
//! Tokens are found by a keyed hash and compared in constant time ([`crate::secret`]), so
//! neither a lookup's timing nor a log line reveals a token.

use crate::reload::{self, CredentialFileError, Reloading, Watch};
use crate::secret::SecretMap;
use crate::{bearer_token, AuthOutcome, AuthRequest, Authenticator};
use apimachinery::UserInfo;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// How often a watched file is polled by default.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// The parsed file: users by token key.
pub struct TokenTable {
    users: SecretMap<UserInfo>,
}

impl std::fmt::Debug for TokenTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenTable").field("tokens", &self.users.len()).finish()
    }
}

impl TokenTable {
    /// Parses the file's text (kube's `tokenfile.NewCSV`). An empty token is skipped with a
    /// warning, a duplicate token replaces the earlier line, as in kube.
    pub fn parse(path: &str, text: &str) -> Result<Self, CredentialFileError> {
        let records = crate::csv::parse(text).map_err(|e| reload::syntax(path, e))?;
        let mut users = SecretMap::default();
        for rec in records {
            reload::require_columns(path, rec.line, rec.fields.len(), "token, user name, user uid")?;
            let [token, name, uid, rest @ ..] = rec.fields.as_slice() else { continue };
            if token.is_empty() {
                tracing::warn!(path, line = rec.line, "empty token in token file, line skipped");
                continue;
            }
            let user = UserInfo {
                name: name.clone(),
                uid: uid.clone(),
                groups: reload::split_groups(rest.first()),
                ..Default::default()
            };
            if users.insert(token.as_bytes(), user) {
                tracing::warn!(path, line = rec.line, "duplicate token in token file, the later line wins");
            }
        }
        Ok(Self { users })
    }

    /// The user of a token.
    pub fn lookup(&self, token: &str) -> Option<&UserInfo> {
        self.users.get(token.as_bytes())
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

/// The file's text without the records of `user` (the second column), every other record
/// kept as written; and how many records were removed (`kubeward offboard`). A record
/// spans from its first line to the line before the next record.
pub fn without_user(text: &str, user: &str) -> Result<(String, usize), crate::CsvError> {
    let records = crate::csv::parse(text)?;
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut drop = vec![false; lines.len()];
    let mut removed = 0;
    for (i, rec) in records.iter().enumerate() {
        if rec.fields.get(1).map(String::as_str) != Some(user) {
            continue;
        }
        removed += 1;
        let end = records.get(i + 1).map_or(lines.len(), |next| next.line - 1);
        for d in drop.iter_mut().take(end).skip(rec.line - 1) {
            *d = true;
        }
    }
    let kept = lines.iter().zip(&drop).filter(|(_, d)| !**d).map(|(l, _)| *l).collect();
    Ok((kept, removed))
}

/// The `--token-auth-file` authenticator.
pub struct TokenFileAuthenticator {
    table: Arc<Reloading<TokenTable>>,
    _watch: Option<Watch>,
}

impl TokenFileAuthenticator {
    /// Loads the file once; it is not re-read.
    pub fn load(path: &Path) -> Result<Self, CredentialFileError> {
        Ok(Self { table: Reloading::load(path, TokenTable::parse)?, _watch: None })
    }

    /// Loads the file and polls it every `every` (needs a Tokio runtime). A changed file
    /// that parses replaces the table; a bad one is logged and ignored.
    pub fn load_and_watch(path: &Path, every: Duration) -> Result<Self, CredentialFileError> {
        let table = Reloading::load(path, TokenTable::parse)?;
        let watch = table.watch(every)?;
        Ok(Self { table, _watch: Some(watch) })
    }

    /// Re-reads the file now; `Ok(true)` when a new table took effect.
    pub fn reload(&self) -> Result<bool, CredentialFileError> {
        self.table.reload_from_disk()
    }

    /// Number of tokens in force.
    pub fn len(&self) -> usize {
        self.table.current().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait::async_trait]
impl Authenticator for TokenFileAuthenticator {
    async fn authenticate(&self, req: &AuthRequest<'_>) -> AuthOutcome {
        let Some(token) = bearer_token(req.headers) else { return AuthOutcome::NotApplicable };
        match self.table.current().lookup(token) {
            Some(user) => AuthOutcome::Authenticated(user.clone()),
            // Not one of ours: kube's tokenfile answers (nil, false, nil); the union reports
            // a token nobody knows as `invalid bearer token`.
            None => AuthOutcome::NotApplicable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn auth(a: &TokenFileAuthenticator, header: Option<&str>) -> AuthOutcome {
        let mut headers = http::HeaderMap::new();
        if let Some(h) = header {
            headers.insert(http::header::AUTHORIZATION, h.parse().unwrap());
        }
        a.authenticate(&AuthRequest::new(&headers, None, "/api")).await
    }

    fn user(name: &str, uid: &str, groups: &[&str]) -> AuthOutcome {
        AuthOutcome::Authenticated(UserInfo {
            name: name.into(),
            uid: uid.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            ..Default::default()
        })
    }

    #[test]
    fn a_users_records_are_removed_and_the_rest_kept_as_written() {
        let text = "t1,jane,1\n\nt2,bob,2,\"a,\nb\"\nt3,jane,3,\"dev\"\nt4, bob ,4\n";
        let (kept, n) = without_user(text, "jane").unwrap();
        assert_eq!(n, 2);
        assert_eq!(kept, "t2,bob,2,\"a,\nb\"\nt4, bob ,4\n");
        let table = TokenTable::parse("f", &kept).unwrap();
        assert!(table.lookup("t1").is_none() && table.lookup("t3").is_none());
        assert_eq!(table.lookup("t2").unwrap().name, "bob");
        assert_eq!(without_user(text, "nobody").unwrap(), (text.to_string(), 0));
        assert!(without_user("a\"b,c,d\n", "c").is_err());
    }

    #[test]
    fn parses_kube_format() {
        let t = TokenTable::parse("f", "tok1,alice,1,\"dev,ops\"\n,skipped,2\ntok3,carol,3\ntok3,dave,4\n")
            .unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t.lookup("tok1").unwrap().groups, vec!["dev", "ops"]);
        assert_eq!(t.lookup("tok3").unwrap().name, "dave", "later duplicate wins");
        assert!(t.lookup("tok2").is_none());
        assert!(t.lookup("").is_none());
        assert_eq!(format!("{t:?}"), "TokenTable { tokens: 2 }");
    }

    #[test]
    fn bad_lines_name_the_line_not_the_token() {
        let e = TokenTable::parse("/etc/tokens.csv", "good,a,1\nsupersecret,b\n").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("line 2"), "{msg}");
        assert!(!msg.contains("supersecret"), "{msg}");
        let e = TokenTable::parse("f", "ok,a,1\nsec\"ret,b,2\n").unwrap_err();
        assert!(e.to_string().contains("line 2") && !e.to_string().contains("sec"), "{e}");
    }

    #[tokio::test]
    async fn authenticates_and_rejects() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.csv");
        std::fs::write(&path, "abc123,jane,u-1,\"g1,g2\"\n").unwrap();
        let a = TokenFileAuthenticator::load(&path).unwrap();
        assert_eq!(auth(&a, Some("Bearer abc123")).await, user("jane", "u-1", &["g1", "g2"]));
        assert_eq!(auth(&a, Some("Bearer abc124")).await, AuthOutcome::NotApplicable);
        assert_eq!(auth(&a, Some("Basic abc123")).await, AuthOutcome::NotApplicable);
        assert_eq!(auth(&a, None).await, AuthOutcome::NotApplicable);
    }

    #[tokio::test]
    async fn reloads_good_files_and_keeps_the_last_good_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.csv");
        std::fs::write(&path, "old,jane,1\n").unwrap();
        let a = TokenFileAuthenticator::load_and_watch(&path, Duration::from_millis(20)).unwrap();
        std::fs::write(&path, "new,john,2\n").unwrap();
        let mut ok = false;
        for _ in 0..200 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            if matches!(auth(&a, Some("Bearer new")).await, AuthOutcome::Authenticated(_)) {
                ok = true;
                break;
            }
        }
        assert!(ok, "the poll picked up the new file");
        assert_eq!(auth(&a, Some("Bearer old")).await, AuthOutcome::NotApplicable);

        std::fs::write(&path, "new,john,2\nbroken\n").unwrap();
        assert!(a.reload().is_err());
        assert_eq!(auth(&a, Some("Bearer new")).await, user("john", "2", &[]), "last good file in force");
        assert!(!a.reload().unwrap(), "same bad content is not re-reported");
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(a.reload(), Err(CredentialFileError::Io { .. })));
        assert_eq!(a.len(), 1);
    }

    #[test]
    fn watching_needs_a_runtime() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.csv");
        std::fs::write(&path, "t,u,1\n").unwrap();
        assert!(matches!(
            TokenFileAuthenticator::load_and_watch(&path, DEFAULT_POLL_INTERVAL),
            Err(CredentialFileError::NoRuntime { .. })
        ));
    }
}
