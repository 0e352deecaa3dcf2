//! Certificate authorities and the certificates they issue (ECDSA P-256 keys).

use crate::PkiError;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use std::net::IpAddr;
use time::{Duration, OffsetDateTime};

/// A CA as PEM texts, able to issue certificates.
pub struct Ca {
    pub cert_pem: String,
    pub key_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// A certificate and its private key, as PEM.
pub struct IssuedCert {
    pub cert_pem: String,
    pub key_pem: String,
}

pub(crate) fn generate_key_pem() -> Result<String, PkiError> {
    Ok(KeyPair::generate()?.serialize_pem())
}

fn validity(params: &mut CertificateParams, days: i64) {
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::minutes(5);
    params.not_after = now + Duration::days(days);
}

impl Ca {
    /// A new self-signed CA valid for 10 years.
    pub fn generate(common_name: &str) -> Result<Self, PkiError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        validity(&mut params, 3650);
        let cert = params.self_signed(&key)?;
        let cert_pem = cert.pem();
        let key_pem = key.serialize_pem();
        Self::load(&cert_pem, &key_pem)
    }

    pub fn load(cert_pem: &str, key_pem: &str) -> Result<Self, PkiError> {
        let key = KeyPair::from_pem(key_pem)?;
        let issuer = Issuer::from_ca_cert_pem(cert_pem, key)?;
        Ok(Self { cert_pem: cert_pem.to_string(), key_pem: key_pem.to_string(), issuer })
    }

    fn issue(&self, mut params: CertificateParams, days: i64) -> Result<IssuedCert, PkiError> {
        let key = KeyPair::generate()?;
        validity(&mut params, days);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(IssuedCert { cert_pem: cert.pem(), key_pem: key.serialize_pem() })
    }

    /// A TLS server certificate for the given DNS names and IP addresses (1 year).
    pub fn issue_serving(&self, common_name: &str, sans: &[String]) -> Result<IssuedCert, PkiError> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, common_name);
        for san in sans {
            let entry = match san.parse::<IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName(san.clone().try_into()?),
            };
            params.subject_alt_names.push(entry);
        }
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(params, 365)
    }

    /// A client certificate: CN is the user name, each O a group (at most two), valid 1 year.
    pub fn issue_client(&self, user: &str, groups: &[String]) -> Result<IssuedCert, PkiError> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, user);
        // rcgen keys a distinguished name by attribute type, so a second O is written under
        // the same OID spelled as a custom type; a third cannot be expressed.
        match groups {
            [] => {}
            [a] => params.distinguished_name.push(DnType::OrganizationName, a.as_str()),
            [a, b] => {
                params.distinguished_name.push(DnType::OrganizationName, a.as_str());
                params.distinguished_name.push(DnType::CustomDnType(vec![2, 5, 4, 10]), b.as_str());
            }
            _ => return Err(PkiError::TooManyGroups(groups.len())),
        }
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(params, 365)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::prelude::*;

    #[test]
    fn client_cert_carries_user_and_groups() {
        let ca = Ca::generate("test-ca").unwrap();
        let c = ca.issue_client("jane", &["devs".into(), "ops".into()]).unwrap();
        let (_, pem) = parse_x509_pem(c.cert_pem.as_bytes()).unwrap();
        let cert = pem.parse_x509().unwrap();
        let cn: Vec<_> = cert.subject().iter_common_name().map(|a| a.as_str().unwrap().to_string()).collect();
        let o: Vec<_> = cert.subject().iter_organization().map(|a| a.as_str().unwrap().to_string()).collect();
        assert_eq!(cn, vec!["jane"]);
        assert_eq!(o, vec!["devs", "ops"]);
        assert_eq!(cert.issuer().iter_common_name().next().unwrap().as_str().unwrap(), "test-ca");
    }
}
