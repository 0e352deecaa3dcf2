//! Cluster PKI: the CA that signs serving and client certificates, the front-proxy CA,
//! the service-account signing key, and kubeconfig files. Everything a fresh
//! `kubeward up` needs, created once in the data directory and reused afterwards.

mod cert;
pub mod csr;
mod der;
pub mod etcd;
mod files;
pub mod join;
mod kubeconfig;
pub mod records;
pub mod sign;

pub use cert::{Ca, IssuedCert};
pub use files::{read_to_string, write_private, write_public};
pub use kubeconfig::Kubeconfig;
pub use sign::{Signed, Template};
/// The time crate pki's API speaks in (validity bounds).
pub use time;

use std::path::{Path, PathBuf};

/// Errors of certificate generation and PKI files.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// rcgen refused parameters or a key (message from rcgen).
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    /// A CA certificate that does not parse.
    #[error("unparsable CA certificate: {0}")]
    BadCertificate(String),
    /// A CA key of an algorithm kubeward does not sign with.
    #[error("unsupported CA key algorithm {0}")]
    UnsupportedCaKey(String),
    /// The system's random source failed.
    #[error("no random serial number: the system random source failed")]
    Random,
    /// A PKI file could not be read or written.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// A serial number as kubeward names it: upper-case hex of its bytes without leading zero
/// bytes, as `openssl x509 -serial` prints it (`0` for zero).
pub fn serial_hex(bytes: &[u8]) -> String {
    let start = bytes.iter().take_while(|b| **b == 0).count();
    let hex: String = bytes.get(start..).unwrap_or_default().iter().map(|b| format!("{b:02X}")).collect();
    if hex.is_empty() {
        "0".into()
    } else {
        hex
    }
}

/// A serial number typed by a person (`0x` prefix, colons, either case, leading zeros) in
/// [`serial_hex`] form; `None` when it is not hex.
pub fn normalize_serial(input: &str) -> Option<String> {
    let s = input.trim();
    let s = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s);
    let digits: String = s.chars().filter(|c| *c != ':').collect();
    if digits.is_empty() || digits.len() > 128 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let digits = digits.trim_start_matches('0').to_ascii_uppercase();
    Some(match digits.len() {
        0 => "0".into(),
        n if n % 2 == 1 => format!("0{digits}"),
        _ => digits,
    })
}

/// The common name and expiry of every certificate in a PEM bundle (blocks that do not
/// parse are skipped).
pub fn certificate_expiries(pem: &str) -> Vec<(String, time::OffsetDateTime)> {
    x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes())
        .flatten()
        .filter(|p| p.label == "CERTIFICATE")
        .filter_map(|p| {
            let cert = p.parse_x509().ok()?;
            let cn =
                cert.subject().iter_common_name().last().and_then(|a| a.as_str().ok()).unwrap_or_default();
            Some((cn.to_string(), cert.validity().not_after.to_datetime()))
        })
        .collect()
}

/// The CA bundles `bundles` joined as kube's cluster-authentication-trust controller joins
/// them: every certificate in order, those expired more than five minutes before `now` left
/// out, each certificate once, written again as PEM (Go's `pem.Encode`). Blocks that are not
/// certificates, or do not parse, are skipped.
pub fn combine_ca_bundles(bundles: &[&str], now: time::OffsetDateTime) -> String {
    let cutoff = now - time::Duration::minutes(5);
    let mut seen: Vec<Vec<u8>> = Vec::new();
    let mut out = String::new();
    for bundle in bundles {
        for block in x509_parser::pem::Pem::iter_from_buffer(bundle.as_bytes()).flatten() {
            if block.label != "CERTIFICATE" {
                continue;
            }
            let Ok(cert) = block.parse_x509() else { continue };
            if cert.validity().not_after.to_datetime() <= cutoff || seen.contains(&block.contents) {
                continue;
            }
            out.push_str(&sign::pem("CERTIFICATE", &block.contents));
            seen.push(block.contents.clone());
        }
    }
    out
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
    /// The front proxy's client certificate (kubeadm's `front-proxy-client`).
    pub front_proxy_client_cert: PathBuf,
    pub front_proxy_client_key: PathBuf,
    /// The certificate kubeward presents to kubelets (kubeadm's `apiserver-kubelet-client`).
    pub kubelet_client_cert: PathBuf,
    pub kubelet_client_key: PathBuf,
    pub sa_key: PathBuf,
    pub admin_cert: PathBuf,
    pub admin_key: PathBuf,
}

/// The admin identity `kubeward up` creates: bound to cluster-admin by a
/// ClusterRoleBinding rather than through the unrevocable `system:masters` group.
pub const ADMIN_USER: &str = "kubeward-admin";
pub const ADMIN_GROUP: &str = "kubeward:admins";
/// The common name of the front proxy's client certificate (`--requestheader-allowed-names`).
pub const FRONT_PROXY_CLIENT: &str = "front-proxy-client";
/// The user kubeward is to kubelets (kubeadm's `apiserver-kubelet-client` common name),
/// bound to `system:kubelet-api-admin` by `kubeward up`.
pub const KUBELET_CLIENT: &str = "kube-apiserver-kubelet-client";

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
            front_proxy_client_cert: dir.join("front-proxy-client.crt"),
            front_proxy_client_key: dir.join("front-proxy-client.key"),
            kubelet_client_cert: dir.join("apiserver-kubelet-client.crt"),
            kubelet_client_key: dir.join("apiserver-kubelet-client.key"),
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
        if !self.front_proxy_client_cert.exists() || !self.front_proxy_client_key.exists() {
            let fp = Ca::load(
                &read_to_string(&self.front_proxy_ca_cert)?,
                &read_to_string(&self.front_proxy_ca_key)?,
            )?;
            let issued = fp.issue_client(FRONT_PROXY_CLIENT, &[])?;
            write_public(&self.front_proxy_client_cert, &issued.cert_pem)?;
            write_private(&self.front_proxy_client_key, &issued.key_pem)?;
            created = true;
        }
        if !self.kubelet_client_cert.exists() || !self.kubelet_client_key.exists() {
            let issued = ca.issue_client(KUBELET_CLIENT, &[])?;
            write_public(&self.kubelet_client_cert, &issued.cert_pem)?;
            write_private(&self.kubelet_client_key, &issued.key_pem)?;
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
    fn serials_are_named_as_openssl_prints_them() {
        assert_eq!(serial_hex(&[0, 0x0a, 0xff]), "0AFF");
        assert_eq!(serial_hex(&[0, 0]), "0");
        assert_eq!(normalize_serial("0x0aff").as_deref(), Some("0AFF"));
        assert_eq!(normalize_serial("0a:ff").as_deref(), Some("0AFF"));
        assert_eq!(normalize_serial("aff").as_deref(), Some("0AFF"));
        assert_eq!(normalize_serial("000").as_deref(), Some("0"));
        assert_eq!(normalize_serial("jane"), None);
        assert_eq!(normalize_serial(""), None);
    }

    #[test]
    fn ca_bundles_combine_without_duplicates_or_expired_certificates() {
        let a = Ca::generate("a").unwrap();
        let b = Ca::generate("b").unwrap();
        let now = time::OffsetDateTime::now_utc();
        // Each certificate once, in order, re-encoded as Go writes PEM.
        let both = format!("{}{}", a.cert_pem, b.cert_pem);
        let combined = combine_ca_bundles(&[&a.cert_pem, &both, "not pem"], now);
        let names: Vec<String> = certificate_expiries(&combined).into_iter().map(|(cn, _)| cn).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(combine_ca_bundles(&[&combined], now), combined, "already combined");
        assert!(combined.lines().all(|l| l.len() <= 64), "{combined}");
        // Ten years on, both expired: nothing left.
        assert_eq!(combine_ca_bundles(&[&combined], now + time::Duration::days(3651)), "");
        // Within five minutes of their expiry they are kept.
        let edge = a.not_after + time::Duration::minutes(4);
        assert_eq!(certificate_expiries(&combine_ca_bundles(&[&a.cert_pem], edge)).len(), 1);
    }

    #[test]
    fn ensure_creates_once_and_keys_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let pki = ClusterPki::at(dir.path());
        assert!(pki.ensure(&[]).unwrap());
        let ca_before = std::fs::read(&pki.ca_cert).unwrap();
        assert!(!pki.ensure(&[]).unwrap(), "second run reuses everything");
        assert_eq!(ca_before, std::fs::read(&pki.ca_cert).unwrap());
        assert!(pki.front_proxy_client_cert.exists());
        for key in [
            &pki.ca_key,
            &pki.serving_key,
            &pki.sa_key,
            &pki.admin_key,
            &pki.front_proxy_ca_key,
            &pki.front_proxy_client_key,
        ] {
            let mode = std::fs::metadata(key).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{key:?}");
        }
    }
}
