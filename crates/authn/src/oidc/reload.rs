//! `--authentication-config` reloading: the file is polled, and a changed file that parses
//! and validates replaces the running configuration; a bad file is logged (field and
//! reason, never token material) and the last good configuration stays in force.

use super::authenticator::{OidcAuthenticator, OidcOptions};
use super::config::{parse_authentication_document, OidcConfigError};
use crate::anonymous::{Anonymous, AnonymousPolicy};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How often kube-apiserver-like reloading polls the file by default.
pub const DEFAULT_RELOAD_INTERVAL: Duration = Duration::from_secs(5);

fn read(path: &Path) -> Result<(String, [u8; 32]), OidcConfigError> {
    let bytes = std::fs::read(path)
        .map_err(|source| OidcConfigError::Io { path: path.display().to_string(), source })?;
    let digest = Sha256::digest(&bytes).into();
    let text = String::from_utf8(bytes).map_err(|_| OidcConfigError::Parse("file is not UTF-8".into()))?;
    Ok((text, digest))
}

/// Loads an AuthenticationConfiguration file into an authenticator.
pub fn load_authentication_config(
    path: &Path,
    options: OidcOptions,
) -> Result<Arc<OidcAuthenticator>, OidcConfigError> {
    load_authentication_document(path, options).map(|(a, _)| a)
}

/// Loads an AuthenticationConfiguration file: its JWT authenticator, and its `anonymous`
/// section's policy when it has one.
pub fn load_authentication_document(
    path: &Path,
    options: OidcOptions,
) -> Result<(Arc<OidcAuthenticator>, Option<AnonymousPolicy>), OidcConfigError> {
    let (text, _) = read(path)?;
    let doc = parse_authentication_document(&text)?;
    Ok((OidcAuthenticator::new(doc.jwt, options)?, doc.anonymous))
}

/// The anonymous authenticator a reloaded file steers: the file's `anonymous` section when
/// it has one, else `fallback`. With `--anonymous-auth` set (`flag_set`), a file that gains
/// an `anonymous` section is refused, as kube refuses both at start.
#[derive(Clone)]
pub struct AnonymousBinding {
    pub target: Anonymous,
    pub fallback: AnonymousPolicy,
    pub flag_set: bool,
}

impl AnonymousBinding {
    fn apply(&self, section: Option<AnonymousPolicy>) -> Result<(), OidcConfigError> {
        match (section, self.flag_set) {
            (Some(_), true) => Err(OidcConfigError::Invalid {
                field: "anonymous".into(),
                reason: "anonymous is configured in the authentication configuration file and by --anonymous-auth; only one may be".into(),
            }),
            (Some(policy), false) => {
                self.target.set_policy(policy);
                Ok(())
            }
            (None, _) => {
                self.target.set_policy(self.fallback.clone());
                Ok(())
            }
        }
    }
}

/// Stops the polling when dropped.
pub struct ConfigWatch(tokio::task::JoinHandle<()>);

impl Drop for ConfigWatch {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl OidcAuthenticator {
    /// Re-reads `path` every `every` and applies changes; needs a running Tokio runtime.
    pub fn watch_config_file(
        self: &Arc<Self>,
        path: &Path,
        every: Duration,
    ) -> Result<ConfigWatch, OidcConfigError> {
        self.watch_config_file_with(path, every, None)
    }

    /// [`OidcAuthenticator::watch_config_file`], also applying the file's `anonymous`
    /// section to `anonymous` on every reload.
    pub fn watch_config_file_with(
        self: &Arc<Self>,
        path: &Path,
        every: Duration,
        anonymous: Option<AnonymousBinding>,
    ) -> Result<ConfigWatch, OidcConfigError> {
        let rt = tokio::runtime::Handle::try_current()
            .map_err(|_| OidcConfigError::Parse("watching the file needs a running Tokio runtime".into()))?;
        let (_, digest) = read(path)?;
        let weak: Weak<Self> = Arc::downgrade(self);
        let path: PathBuf = path.to_path_buf();
        Ok(ConfigWatch(rt.spawn(async move {
            let mut last = digest;
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(this) = weak.upgrade() else { return };
                let file = path.display().to_string();
                match read(&path) {
                    Ok((_, d)) if d == last => {}
                    Ok((text, d)) => {
                        last = d;
                        let applied = parse_authentication_document(&text).and_then(|doc| {
                            // The anonymous section is checked before anything changes.
                            if let (Some(_), Some(b)) = (&doc.anonymous, &anonymous) {
                                if b.flag_set {
                                    return b.apply(doc.anonymous.clone());
                                }
                            }
                            this.replace(doc.jwt)?;
                            match &anonymous {
                                Some(b) => b.apply(doc.anonymous),
                                None => Ok(()),
                            }
                        });
                        match applied {
                            Ok(()) => tracing::info!(%file, "authentication configuration reloaded"),
                            Err(error) => tracing::error!(
                                %file, %error,
                                "authentication configuration rejected; the last good one stays in force"
                            ),
                        }
                    }
                    Err(error) => tracing::debug!(%file, %error, "authentication configuration unreadable"),
                }
            }
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(issuers: &[&str]) -> String {
        let mut s =
            "apiVersion: apiserver.config.k8s.io/v1\nkind: AuthenticationConfiguration\njwt:\n".to_string();
        for i in issuers {
            s.push_str(&format!(
                "- issuer: {{url: '{i}', audiences: [k]}}\n  claimMappings: {{username: {{claim: sub, prefix: ''}}}}\n"
            ));
        }
        s
    }

    #[tokio::test]
    async fn changed_file_is_applied_and_bad_file_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("authn.yaml");
        std::fs::write(&path, doc(&["https://127.0.0.1:1"])).unwrap();
        let a = load_authentication_config(&path, OidcOptions::default()).unwrap();
        let _watch = a.watch_config_file(&path, Duration::from_millis(20)).unwrap();
        std::fs::write(&path, doc(&["https://127.0.0.1:1", "https://127.0.0.1:2"])).unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(a.issuers(), vec!["https://127.0.0.1:1", "https://127.0.0.1:2"]);
        std::fs::write(&path, doc(&["http://insecure"])).unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(a.issuers().len(), 2, "the last good configuration stays");
        assert!(load_authentication_config(&path, OidcOptions::default()).is_err());
    }
}
