//! The PKI of the etcd kubeward manages, under kubeadm's names: its own CA
//! (`pki/etcd/ca.crt`, `ca.key`), each member's serving certificate (`pki/etcd/server.*`) and
//! peer certificate (`pki/etcd/peer.*`), both for server and client authentication, and the
//! API server's client certificate towards etcd (`pki/apiserver-etcd-client.*`, CN
//! `kube-apiserver-etcd-client`). Keys are 0600; what exists is kept.

use crate::files::{read_to_string, restrict_dir, write_private, write_public};
use crate::{Ca, PkiError};
use std::path::{Path, PathBuf};

/// The common name of the API server's client certificate towards etcd (kubeadm's).
pub const APISERVER_ETCD_CLIENT: &str = "kube-apiserver-etcd-client";

/// Paths of the etcd PKI in a data directory.
#[derive(Debug, Clone)]
pub struct EtcdPki {
    pub dir: PathBuf,
    pub ca_cert: PathBuf,
    pub ca_key: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub peer_cert: PathBuf,
    pub peer_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

impl EtcdPki {
    /// The files under `<data_dir>/pki`.
    pub fn at(data_dir: &Path) -> EtcdPki {
        let pki = data_dir.join("pki");
        let dir = pki.join("etcd");
        EtcdPki {
            ca_cert: dir.join("ca.crt"),
            ca_key: dir.join("ca.key"),
            server_cert: dir.join("server.crt"),
            server_key: dir.join("server.key"),
            peer_cert: dir.join("peer.crt"),
            peer_key: dir.join("peer.key"),
            client_cert: pki.join("apiserver-etcd-client.crt"),
            client_key: pki.join("apiserver-etcd-client.key"),
            dir,
        }
    }

    /// Creates what is missing: the CA (unless it came from the cluster, see
    /// [`EtcdPki::write_ca`]), then this member's server and peer certificates for `node_name`
    /// and `addresses` (with `localhost`, `127.0.0.1` and `::1`), and the API server's client
    /// certificate. Answers whether anything was created.
    pub fn ensure(&self, node_name: &str, addresses: &[String]) -> Result<bool, PkiError> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|source| PkiError::Io { path: self.dir.clone(), source })?;
        restrict_dir(&self.dir)?;
        let mut created = false;
        if !self.ca_cert.exists() || !self.ca_key.exists() {
            let ca = Ca::generate("etcd-ca")?;
            write_public(&self.ca_cert, &ca.cert_pem)?;
            write_private(&self.ca_key, &ca.key_pem)?;
            created = true;
        }
        let ca = Ca::load(&read_to_string(&self.ca_cert)?, &read_to_string(&self.ca_key)?)?;
        let mut sans: Vec<String> =
            vec![node_name.into(), "localhost".into(), "127.0.0.1".into(), "::1".into()];
        for a in addresses {
            if !sans.contains(a) {
                sans.push(a.clone());
            }
        }
        for (cert, key) in [(&self.server_cert, &self.server_key), (&self.peer_cert, &self.peer_key)] {
            if !cert.exists() || !key.exists() {
                let issued = ca.issue_peer(node_name, &sans)?;
                write_public(cert, &issued.cert_pem)?;
                write_private(key, &issued.key_pem)?;
                created = true;
            }
        }
        if !self.client_cert.exists() || !self.client_key.exists() {
            let issued = ca.issue_client(APISERVER_ETCD_CLIENT, &["system:masters".to_string()])?;
            write_public(&self.client_cert, &issued.cert_pem)?;
            write_private(&self.client_key, &issued.key_pem)?;
            created = true;
        }
        Ok(created)
    }

    /// Writes the cluster's etcd CA (a joining member's, fetched from the cluster).
    pub fn write_ca(&self, cert_pem: &str, key_pem: &str) -> Result<(), PkiError> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|source| PkiError::Io { path: self.dir.clone(), source })?;
        restrict_dir(&self.dir)?;
        write_public(&self.ca_cert, cert_pem)?;
        write_private(&self.ca_key, key_pem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use x509_parser::prelude::*;

    #[test]
    fn member_certificates_serve_and_dial_and_keys_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let pki = EtcdPki::at(dir.path());
        assert!(pki.ensure("node-a", &["127.0.0.2".into()]).unwrap());
        assert!(!pki.ensure("node-a", &["127.0.0.2".into()]).unwrap(), "second run keeps everything");
        for key in [&pki.ca_key, &pki.server_key, &pki.peer_key, &pki.client_key] {
            let mode = std::fs::metadata(key).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{key:?}");
        }
        let pem = std::fs::read_to_string(&pki.peer_cert).unwrap();
        let (_, block) = parse_x509_pem(pem.as_bytes()).unwrap();
        let cert = block.parse_x509().unwrap();
        let eku = cert.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.server_auth && eku.client_auth);
        let sans = cert.subject_alternative_name().unwrap().unwrap().value.general_names.clone();
        let ips: Vec<String> = sans
            .iter()
            .filter_map(|n| match n {
                GeneralName::IPAddress(b) if b.len() == 4 => {
                    Some(format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3]))
                }
                _ => None,
            })
            .collect();
        assert!(ips.contains(&"127.0.0.2".to_string()) && ips.contains(&"127.0.0.1".to_string()), "{ips:?}");
        let ca_pem = std::fs::read_to_string(&pki.ca_cert).unwrap();
        let (_, ca_block) = parse_x509_pem(ca_pem.as_bytes()).unwrap();
        cert.verify_signature(Some(ca_block.parse_x509().unwrap().public_key())).unwrap();
    }
}
