//! Certificate authorities and the certificates they issue (ECDSA P-256 keys). CAs and
//! serving certificates are written by rcgen; client certificates and certificates for
//! CertificateSigningRequests by [`crate::sign`], which writes any number of groups.

use crate::sign::{self, ExtKeyUsage, Signed, Template};
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
    /// The CA certificate's subject (DER): the issuer of what it signs.
    subject_der: Vec<u8>,
    /// Its subject key identifier: the authority key identifier of what it signs.
    key_id: Option<Vec<u8>>,
    /// Nothing it signs outlives it.
    pub not_after: OffsetDateTime,
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
        let (_, block) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes())
            .map_err(|e| PkiError::BadCertificate(e.to_string()))?;
        let cert = block.parse_x509().map_err(|e| PkiError::BadCertificate(e.to_string()))?;
        let key_id = cert.extensions().iter().find_map(|e| match e.parsed_extension() {
            x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
            _ => None,
        });
        let not_after = cert.validity().not_after.to_datetime();
        Ok(Self {
            cert_pem: cert_pem.to_string(),
            key_pem: key_pem.to_string(),
            subject_der: cert.subject().as_raw().to_vec(),
            key_id,
            not_after,
            issuer,
        })
    }

    /// Signs a certificate as [`crate::sign`] writes it.
    pub fn sign(&self, template: &Template) -> Result<Signed, PkiError> {
        sign::sign(template, &self.subject_der, self.key_id.as_deref(), self.issuer.key())
    }

    /// A client certificate for `user` in `groups` (any number) with a new key, valid from
    /// five minutes ago for `ttl` (not beyond the CA).
    pub fn issue_client_for(
        &self,
        user: &str,
        groups: &[String],
        ttl: Duration,
    ) -> Result<(Signed, String), PkiError> {
        let now = OffsetDateTime::now_utc();
        // A lifetime beyond what a date can hold ends with the CA.
        let end = now.checked_add(ttl).unwrap_or(self.not_after);
        self.issue_client_between(user, groups, now - Duration::minutes(5), end)
    }

    /// A client certificate for `user` in `groups` with a new key, valid between the two
    /// times (the end not beyond the CA): what `kubeward kubeconfig` hands out.
    pub fn issue_client_between(
        &self,
        user: &str,
        groups: &[String],
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<(Signed, String), PkiError> {
        let key = KeyPair::generate()?;
        let template = Template {
            subject_der: sign::subject_der(user, groups),
            spki_der: sign::spki_of(&key),
            sans: Vec::new(),
            key_usage: sign::key_usage::DIGITAL_SIGNATURE | sign::key_usage::KEY_ENCIPHERMENT,
            ext_key_usages: vec![ExtKeyUsage::ClientAuth],
            not_before,
            not_after: not_after.min(self.not_after),
        };
        Ok((self.sign(&template)?, key.serialize_pem()))
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

    /// A certificate for both ends of TLS (server and client authentication) for the given
    /// DNS names and IP addresses (1 year): an etcd member's, which serves and dials peers.
    pub fn issue_peer(&self, common_name: &str, sans: &[String]) -> Result<IssuedCert, PkiError> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, common_name);
        for san in sans {
            let entry = match san.parse::<IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName(san.clone().try_into()?),
            };
            params.subject_alt_names.push(entry);
        }
        params.extended_key_usages =
            vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(params, 365)
    }

    /// A client certificate: CN is the user name, each O a group, valid 1 year.
    pub fn issue_client(&self, user: &str, groups: &[String]) -> Result<IssuedCert, PkiError> {
        let (signed, key_pem) = self.issue_client_for(user, groups, Duration::days(365))?;
        Ok(IssuedCert { cert_pem: signed.cert_pem, key_pem })
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

    #[test]
    fn short_lived_client_cert_with_many_groups_verifies_against_its_ca() {
        let ca = Ca::generate("test-ca").unwrap();
        let groups: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        let (signed, _key) = ca.issue_client_for("jane", &groups, Duration::hours(8)).unwrap();
        let (_, pem) = parse_x509_pem(signed.cert_pem.as_bytes()).unwrap();
        let cert = pem.parse_x509().unwrap();
        let o: Vec<_> = cert.subject().iter_organization().map(|a| a.as_str().unwrap()).collect();
        assert_eq!(o, ["a", "b", "c", "d"]);
        assert_eq!(crate::serial_hex(cert.raw_serial()), signed.serial);
        let lifetime = cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp();
        assert_eq!(lifetime, 8 * 3600 + 300, "8h from now, backdated 5 minutes");
        let (_, ca_pem) = parse_x509_pem(ca.cert_pem.as_bytes()).unwrap();
        let ca_cert = ca_pem.parse_x509().unwrap();
        cert.verify_signature(Some(ca_cert.public_key())).unwrap();
        let eku = cert.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.client_auth && !eku.server_auth);
        assert!(!cert.basic_constraints().unwrap().unwrap().value.ca);
        let aki = cert.extensions().iter().any(|e| {
            matches!(
                e.parsed_extension(),
                x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(_)
            )
        });
        assert!(aki, "authority key identifier written");
    }
}
