//! The token cache of `kubeward login`: one JSON file per (issuer, client ID, scopes) under
//! `~/.kube/cache/kubeward-login/`, named by the SHA-256 of that triple; the directory is
//! created with mode 0700 and the file written atomically with mode 0600.

use crate::LoginError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// What is kept between runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedTokens {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// The default cache directory: `$HOME/.kube/cache/kubeward-login`.
pub fn default_cache_dir() -> Result<PathBuf, LoginError> {
    let home = std::env::var_os("HOME").ok_or_else(|| LoginError::Cache("HOME is not set".into()))?;
    Ok(PathBuf::from(home).join(".kube").join("cache").join("kubeward-login"))
}

/// The cache file of one issuer, client and scope set.
pub fn cache_file(dir: &Path, issuer: &str, client_id: &str, scopes: &[String]) -> PathBuf {
    let mut h = Sha256::new();
    for part in [issuer, client_id].into_iter().chain(scopes.iter().map(String::as_str)) {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    dir.join(format!("{}.json", hex::encode(h.finalize())))
}

/// Reads the cache; a missing or unreadable file is an empty cache.
pub fn read(path: &Path) -> CachedTokens {
    std::fs::read(path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
}

/// Writes the cache atomically (temporary file, then rename), mode 0600, directory 0700.
pub fn write(path: &Path, tokens: &CachedTokens) -> Result<(), LoginError> {
    let io = |e: std::io::Error| LoginError::Cache(format!("{}: {e}", path.display()));
    let dir = path.parent().ok_or_else(|| LoginError::Cache("cache path has no directory".into()))?;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(io)?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let body = serde_json::to_vec(tokens).map_err(|e| LoginError::Cache(e.to_string()))?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io)?;
    f.write_all(&body).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Removes the cache file; a missing one is fine.
pub fn remove(path: &Path) -> Result<bool, LoginError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(LoginError::Cache(format!("{}: {e}", path.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn cache_file_is_private_and_keyed() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("kubeward-login");
        let a = cache_file(&d, "https://i", "c", &["openid".into()]);
        assert_ne!(a, cache_file(&d, "https://i", "c", &["openid".into(), "email".into()]));
        assert_ne!(a, cache_file(&d, "https://i", "c2", &["openid".into()]));
        assert_eq!(read(&a), CachedTokens::default());
        let t = CachedTokens { id_token: Some("x".into()), refresh_token: Some("r".into()) };
        write(&a, &t).unwrap();
        assert_eq!(read(&a), t);
        assert_eq!(std::fs::metadata(&a).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(&d).unwrap().permissions().mode() & 0o777, 0o700);
        assert!(remove(&a).unwrap());
        assert!(!remove(&a).unwrap());
    }
}
