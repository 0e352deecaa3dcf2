//! Cluster PKI: the CA that signs serving and client certificates, the front-proxy CA,
//! the service-account signing key, and kubeconfig files. Everything a fresh
//! `kubeward up` needs, created once in the data directory and reused afterwards.

mod cert;
mod files;
mod kubeconfig;

pub use cert::{Ca, IssuedCert};
pub use files::{read_to_string, write_private, write_public};
pub use kubeconfig::Kubeconfig;

use std::path::{Path, PathBuf};

/// Errors of certificate generation and PKI files.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// rcgen refused parameters or a key (message from rcgen).
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    /// A client certificate was asked for more organizations (groups) than can be encoded.
    #[error("at most 2 groups fit in a client certificate, got {0}")]
    TooManyGroups(usize),
    /// A PKI file could not be read or written.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// Paths of the cluster's PKI under `<data-dir>/pki`.
#[derive(Debug, Clone)]
pub struct ClusterPki {
    pub dir: PathBuf,
    pub ca_cert: PathBuf,
    pub ca_key: PathBuf,
    pub serving_cert: PathBuf,
    pub serving_key: PathBuf,
    pub front_proxy_ca_cert: PathBuf,
    pub front_proxy_ca_key: PathBuf,
    pub sa_key: PathBuf,
    pub admin_cert: PathBuf,
    pub admin_key: PathBuf,
}

/// The admin identity `kubeward up` creates: bound to cluster-admin by a
/// ClusterRoleBinding rather than through the unrevocable `system:masters` group.
pub const ADMIN_USER: &str = "kubeward-admin";
pub const ADMIN_GROUP: &str = "kubeward:admins";

impl ClusterPki {
    pub fn at(data_dir: &Path) -> Self {
        let dir = data_dir.join("pki");
        Self {
            ca_cert: dir.join("ca.crt"),
            ca_key: dir.join("ca.key"),
            serving_cert: dir.join("apiserver.crt"),
            serving_key: dir.join("apiserver.key"),
            front_proxy_ca_cert: dir.join("front-proxy-ca.crt"),
            front_proxy_ca_key: dir.join("front-proxy-ca.key"),
            sa_key: dir.join("sa.key"),
            admin_cert: dir.join("admin.crt"),
            admin_key: dir.join("admin.key"),
            dir,
        }
    }

    /// Creates whatever is missing; existing files are kept as they are.
    /// Returns true when anything was created.
    pub fn ensure(&self, hostnames: &[String]) -> Result<bool, PkiError> {
        let mut created = false;
        std::fs::create_dir_all(&self.dir)
            .map_err(|source| PkiError::Io { path: self.dir.clone(), source })?;
        files::restrict_dir(&self.dir)?;
        if !self.ca_cert.exists() || !self.ca_key.exists() {
            let ca = Ca::generate("kubeward-ca")?;
            write_public(&self.ca_cert, &ca.cert_pem)?;
            write_private(&self.ca_key, &ca.key_pem)?;
            created = true;
        }
        let ca = Ca::load(&read_to_string(&self.ca_cert)?, &read_to_string(&self.ca_key)?)?;
        if !self.serving_cert.exists() || !self.serving_key.exists() {
            let mut sans: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
            for h in hostnames {
                if !sans.contains(h) {
                    sans.push(h.clone());
                }
            }
            let issued = ca.issue_serving("kube-apiserver", &sans)?;
            write_public(&self.serving_cert, &issued.cert_pem)?;
            write_private(&self.serving_key, &issued.key_pem)?;
            created = true;
        }
        if !self.front_proxy_ca_cert.exists() || !self.front_proxy_ca_key.exists() {
            let fp = Ca::generate("kubeward-front-proxy-ca")?;
            write_public(&self.front_proxy_ca_cert, &fp.cert_pem)?;
            write_private(&self.front_proxy_ca_key, &fp.key_pem)?;
            created = true;
        }
        if !self.sa_key.exists() {
            write_private(&self.sa_key, &cert::generate_key_pem()?)?;
            created = true;
        }
        if !self.admin_cert.exists() || !self.admin_key.exists() {
            let issued = ca.issue_client(ADMIN_USER, &[ADMIN_GROUP.to_string()])?;
            write_public(&self.admin_cert, &issued.cert_pem)?;
            write_private(&self.admin_key, &issued.key_pem)?;
            created = true;
        }
        Ok(created)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn ensure_creates_once_and_keys_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let pki = ClusterPki::at(dir.path());
        assert!(pki.ensure(&[]).unwrap());
        let ca_before = std::fs::read(&pki.ca_cert).unwrap();
        assert!(!pki.ensure(&[]).unwrap(), "second run reuses everything");
        assert_eq!(ca_before, std::fs::read(&pki.ca_cert).unwrap());
        for key in [&pki.ca_key, &pki.serving_key, &pki.sa_key, &pki.admin_key, &pki.front_proxy_ca_key] {
            let mode = std::fs::metadata(key).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{key:?}");
        }
    }
}
