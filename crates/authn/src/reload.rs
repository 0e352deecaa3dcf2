//! Credential files that are re-read while the server runs (`--token-auth-file`,
//! `--basic-auth-file`): a poll compares the file's SHA-256 with the last one seen, parses
//! a changed file, and swaps the table in only when the whole file is good. A bad file is
//! reported once (line number, never content) and the last good table stays in force.

use crate::csv::CsvError;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

/// Errors reading a credential CSV file.
#[derive(Debug, thiserror::Error)]
pub enum CredentialFileError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    /// The file is not valid UTF-8 text.
    #[error("{path}: not UTF-8 text")]
    NotText { path: String },
    /// The CSV syntax is broken at a position.
    #[error("{path}: {source}")]
    Syntax { path: String, source: CsvError },
    /// A record has fewer columns than required.
    #[error("{path}: line {line}: must have at least 3 columns ({columns}), found {found}")]
    Columns { path: String, line: usize, columns: &'static str, found: usize },
    /// Watching for changes needs a Tokio runtime and none is running.
    #[error("{path}: watching for changes needs a running Tokio runtime")]
    NoRuntime { path: String },
}

/// Parses a file's text into its table; `path` is for error messages.
pub(crate) type Parser<T> = fn(path: &str, text: &str) -> Result<T, CredentialFileError>;

/// A table loaded from a file, replaced when the file changes and parses.
pub(crate) struct Reloading<T> {
    path: PathBuf,
    parse: Parser<T>,
    current: RwLock<Arc<T>>,
    /// SHA-256 of the last content seen (good or bad), and whether the last read failed.
    seen: Mutex<([u8; 32], bool)>,
}

impl<T: Send + Sync + 'static> Reloading<T> {
    pub fn load(path: &Path, parse: Parser<T>) -> Result<Arc<Self>, CredentialFileError> {
        let display = path.display().to_string();
        let bytes = std::fs::read(path)
            .map_err(|source| CredentialFileError::Io { path: display.clone(), source })?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| CredentialFileError::NotText { path: display.clone() })?;
        let table = parse(&display, text)?;
        Ok(Arc::new(Self {
            path: path.to_path_buf(),
            parse,
            current: RwLock::new(Arc::new(table)),
            seen: Mutex::new((Sha256::digest(&bytes).into(), false)),
        }))
    }

    pub fn current(&self) -> Arc<T> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Re-reads the file. `Ok(true)` when a new table is in force, `Ok(false)` when the
    /// content did not change; on error the previous table stays.
    pub fn reload(&self, bytes: std::io::Result<Vec<u8>>) -> Result<bool, CredentialFileError> {
        let display = self.path.display().to_string();
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let bytes = match bytes {
            Ok(b) => b,
            Err(source) => {
                seen.1 = true;
                return Err(CredentialFileError::Io { path: display, source });
            }
        };
        let digest: [u8; 32] = Sha256::digest(&bytes).into();
        if digest == seen.0 && !seen.1 {
            return Ok(false);
        }
        seen.0 = digest;
        seen.1 = false;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| CredentialFileError::NotText { path: display.clone() })?;
        let table = (self.parse)(&display, text)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(table);
        Ok(true)
    }

    /// Re-reads the file now.
    pub fn reload_from_disk(&self) -> Result<bool, CredentialFileError> {
        self.reload(std::fs::read(&self.path))
    }

    /// Polls the file every `every` until the returned guard is dropped.
    pub fn watch(self: &Arc<Self>, every: Duration) -> Result<Watch, CredentialFileError> {
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| CredentialFileError::NoRuntime { path: self.path.display().to_string() })?;
        let weak: Weak<Self> = Arc::downgrade(self);
        let path = self.path.clone();
        let task = handle.spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let bytes = tokio::fs::read(&path).await;
                let Some(this) = weak.upgrade() else { break };
                let was_failing = this.seen.lock().map(|s| s.1).unwrap_or(false);
                match this.reload(bytes) {
                    Ok(true) => tracing::info!(path = %path.display(), "credential file reloaded"),
                    Ok(false) => {}
                    Err(e @ CredentialFileError::Io { .. }) if was_failing => {
                        tracing::debug!(error = %e, "credential file still unreadable")
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "credential file rejected; the last good one stays in force")
                    }
                }
            }
        });
        Ok(Watch(task))
    }
}

/// Stops the polling task when dropped.
pub(crate) struct Watch(tokio::task::JoinHandle<()>);

impl Drop for Watch {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Checks the column count of a record (kube requires token/password, user, uid).
pub(crate) fn require_columns(
    path: &str,
    line: usize,
    found: usize,
    columns: &'static str,
) -> Result<(), CredentialFileError> {
    if found < 3 {
        return Err(CredentialFileError::Columns { path: path.to_string(), line, columns, found });
    }
    Ok(())
}

/// The groups column: comma-separated, as kube splits it (empty names dropped).
pub(crate) fn split_groups(column: Option<&String>) -> Vec<String> {
    column.map(|g| g.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect()).unwrap_or_default()
}

/// Wraps a CSV syntax error with the file's path.
pub(crate) fn syntax(path: &str, source: CsvError) -> CredentialFileError {
    CredentialFileError::Syntax { path: path.to_string(), source }
}
