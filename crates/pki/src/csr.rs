//! Signing CertificateSigningRequests as kube-controller-manager's CSR signer does
//! (`pkg/controller/certificates/signer`): which signer names it serves, each signer's
//! checks of the request's subject, names and usages (kube's texts, which become the
//! `Failed` condition's message), and kube's `PermissiveSigningPolicy` (usages to key
//! usages, the TTL capped by `--cluster-signing-duration`, five minutes of backdating,
//! the CA's own expiry as a bound).

use crate::sign::{key_usage, ExtKeyUsage, San, Template};
use std::net::IpAddr;
use time::{Duration, OffsetDateTime};
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;

pub const KUBE_APISERVER_CLIENT: &str = "kubernetes.io/kube-apiserver-client";
pub const KUBE_APISERVER_CLIENT_KUBELET: &str = "kubernetes.io/kube-apiserver-client-kubelet";
pub const KUBELET_SERVING: &str = "kubernetes.io/kubelet-serving";
pub const LEGACY_UNKNOWN: &str = "kubernetes.io/legacy-unknown";

/// kube-controller-manager's `--cluster-signing-duration` default (one year).
pub const DEFAULT_SIGNING_DURATION: std::time::Duration = std::time::Duration::from_secs(8760 * 3600);

/// How far back a certificate's validity starts, for clocks a little behind.
const BACKDATE: Duration = Duration::minutes(5);
/// Certificates shorter than this do not lose the backdate at their end.
const SHORT: Duration = Duration::hours(8);
/// The shortest `spec.expirationSeconds` honoured (twice the backdate).
const MIN_DURATION: Duration = Duration::minutes(10);

/// A parsed, signature-checked PKCS#10 request: what signing and the signers' checks read.
#[derive(Debug, Clone)]
pub struct CertificateRequest {
    pub subject_der: Vec<u8>,
    pub spki_der: Vec<u8>,
    /// The subject's CN (the last one, as Go's `pkix.Name` keeps it).
    pub common_name: String,
    /// The subject's O values, in order.
    pub organizations: Vec<String>,
    pub dns_names: Vec<String>,
    pub emails: Vec<String>,
    pub ips: Vec<IpAddr>,
    pub uris: Vec<String>,
}

/// kube's `ParseCSR` then `CheckSignature`: the first PEM block must be a `CERTIFICATE
/// REQUEST` whose signature verifies with its own key.
pub fn parse_request(pem: &[u8]) -> Result<CertificateRequest, String> {
    let block = match x509_parser::pem::parse_x509_pem(pem) {
        Ok((_, block)) if block.label == "CERTIFICATE REQUEST" => block,
        _ => return Err("PEM block type must be CERTIFICATE REQUEST".into()),
    };
    let (_, csr) = x509_parser::certification_request::X509CertificationRequest::from_der(&block.contents)
        .map_err(|e| format!("unable to parse certificate request: {e}"))?;
    csr.verify_signature().map_err(|e| format!("unable to verify certificate request signature: {e}"))?;
    let info = &csr.certification_request_info;
    let text = |a: &x509_parser::x509::AttributeTypeAndValue<'_>| a.as_str().ok().map(str::to_string);
    let mut req = CertificateRequest {
        subject_der: info.subject.as_raw().to_vec(),
        spki_der: info.subject_pki.raw.to_vec(),
        common_name: info.subject.iter_common_name().filter_map(text).last().unwrap_or_default(),
        organizations: info.subject.iter_organization().filter_map(text).collect(),
        dns_names: Vec::new(),
        emails: Vec::new(),
        ips: Vec::new(),
        uris: Vec::new(),
    };
    for ext in csr.requested_extensions().into_iter().flatten() {
        let ParsedExtension::SubjectAlternativeName(san) = ext else { continue };
        for name in &san.general_names {
            match name {
                GeneralName::DNSName(n) => req.dns_names.push(n.to_string()),
                GeneralName::RFC822Name(n) => req.emails.push(n.to_string()),
                GeneralName::URI(n) => req.uris.push(n.to_string()),
                GeneralName::IPAddress(b) => match *b {
                    [a, b, c, d] => req.ips.push(IpAddr::from([*a, *b, *c, *d])),
                    _ => match <[u8; 16]>::try_from(*b) {
                        Ok(v6) => req.ips.push(IpAddr::from(v6)),
                        Err(_) => return Err("x509: invalid IP address length in SAN".into()),
                    },
                },
                // Other name forms are not copied, as Go's parser keeps none of them.
                _ => {}
            }
        }
    }
    Ok(req)
}

fn usage_set(usages: &[String]) -> Vec<&str> {
    let mut set: Vec<&str> = usages.iter().map(String::as_str).collect();
    set.sort_unstable();
    set.dedup();
    set
}

/// Go's `%v` of a sorted string list: `[a b c]`.
fn go_list(items: &[&str]) -> String {
    format!("[{}]", items.join(" "))
}

/// kube's `ValidateKubeletServingCSR` and `ValidateKubeletClientCSR`, in kube's order.
fn validate_kubelet(req: &CertificateRequest, usages: &[String], serving: bool) -> Result<(), String> {
    if req.organizations != ["system:nodes"] {
        return Err("subject organization is not system:nodes".into());
    }
    let set = usage_set(usages);
    let node_cn = || {
        if req.common_name.starts_with("system:node:") {
            Ok(())
        } else {
            Err("subject common name does not begin with system:node:".to_string())
        }
    };
    let key_usage_name = if serving { "server auth" } else { "client auth" };
    let with_rsa = {
        let mut s = vec!["digital signature", "key encipherment", key_usage_name];
        s.sort_unstable();
        s
    };
    let mut without_rsa = vec!["digital signature", key_usage_name];
    without_rsa.sort_unstable();
    let usages_ok = set == with_rsa || set == without_rsa;
    let usages_err = || format!("usages did not match {}", go_list(&with_rsa));
    if serving {
        if req.dns_names.is_empty() && req.ips.is_empty() {
            return Err("DNS or IP subjectAltName is required".into());
        }
        if !req.emails.is_empty() {
            return Err("Email subjectAltNames are not allowed".into());
        }
        if !req.uris.is_empty() {
            return Err("URI subjectAltNames are not allowed".into());
        }
        if !usages_ok {
            return Err(usages_err());
        }
        return node_cn();
    }
    if !req.dns_names.is_empty() {
        return Err("DNS subjectAltNames are not allowed".into());
    }
    if !req.emails.is_empty() {
        return Err("Email subjectAltNames are not allowed".into());
    }
    if !req.ips.is_empty() {
        return Err("IP subjectAltNames are not allowed".into());
    }
    if !req.uris.is_empty() {
        return Err("URI subjectAltNames are not allowed".into());
    }
    node_cn()?;
    if !usages_ok {
        return Err(usages_err());
    }
    Ok(())
}

/// kube's `validAPIServerClientUsages`.
fn validate_apiserver_client(usages: &[String]) -> Result<(), String> {
    let mut client_auth = false;
    for u in usages {
        match u.as_str() {
            "digital signature" | "key encipherment" => {}
            "client auth" => client_auth = true,
            other => return Err(format!("invalid usage for client certificate: {other}")),
        }
    }
    if !client_auth {
        return Err("missing required usage for client certificate: client auth".into());
    }
    Ok(())
}

/// Whether this signer signs the request: `Ok(true)` to sign, `Ok(false)` for a signer
/// name it does not serve (left alone), `Err` with kube's reason for a request of a served
/// signer that it refuses (the `Failed` condition, reason `SignerValidationFailure`).
/// `kubernetes.io/legacy-unknown` is never signed.
pub fn check_for_signer(signer: &str, req: &CertificateRequest, usages: &[String]) -> Result<bool, String> {
    match signer {
        KUBE_APISERVER_CLIENT => validate_apiserver_client(usages).map(|()| true),
        KUBE_APISERVER_CLIENT_KUBELET => validate_kubelet(req, usages, false).map(|()| true),
        KUBELET_SERVING => validate_kubelet(req, usages, true).map(|()| true),
        _ => Ok(false),
    }
}

/// kube's `keyUsagesFromStrings`.
fn usages_to_x509(usages: &[String]) -> Result<(u16, Vec<ExtKeyUsage>), String> {
    let mut bits = 0u16;
    let mut ekus = Vec::new();
    let mut unrecognized = Vec::new();
    for u in usages {
        let bit = match u.as_str() {
            "signing" | "digital signature" => Some(key_usage::DIGITAL_SIGNATURE),
            "content commitment" => Some(key_usage::CONTENT_COMMITMENT),
            "key encipherment" => Some(key_usage::KEY_ENCIPHERMENT),
            "key agreement" => Some(key_usage::KEY_AGREEMENT),
            "data encipherment" => Some(key_usage::DATA_ENCIPHERMENT),
            "cert sign" => Some(key_usage::CERT_SIGN),
            "crl sign" => Some(key_usage::CRL_SIGN),
            "encipher only" => Some(key_usage::ENCIPHER_ONLY),
            "decipher only" => Some(key_usage::DECIPHER_ONLY),
            _ => None,
        };
        let eku = match u.as_str() {
            "any" => Some(ExtKeyUsage::Any),
            "server auth" => Some(ExtKeyUsage::ServerAuth),
            "client auth" => Some(ExtKeyUsage::ClientAuth),
            "code signing" => Some(ExtKeyUsage::CodeSigning),
            "email protection" | "s/mime" => Some(ExtKeyUsage::EmailProtection),
            "ipsec end system" => Some(ExtKeyUsage::IpsecEndSystem),
            "ipsec tunnel" => Some(ExtKeyUsage::IpsecTunnel),
            "ipsec user" => Some(ExtKeyUsage::IpsecUser),
            "timestamping" => Some(ExtKeyUsage::TimeStamping),
            "ocsp signing" => Some(ExtKeyUsage::OcspSigning),
            "microsoft sgc" => Some(ExtKeyUsage::MicrosoftServerGatedCrypto),
            "netscape sgc" => Some(ExtKeyUsage::NetscapeServerGatedCrypto),
            _ => None,
        };
        match (bit, eku) {
            (Some(b), _) => bits |= b,
            (None, Some(e)) => ekus.push(e),
            (None, None) => unrecognized.push(apimachinery::quote::go_quote(u)),
        }
    }
    if !unrecognized.is_empty() {
        return Err(format!("unrecognized usage values: [{}]", unrecognized.join(" ")));
    }
    ekus.sort();
    ekus.dedup();
    Ok((bits, ekus))
}

/// The lifetime of a certificate for `spec.expirationSeconds`: the signer's maximum when
/// absent or longer, at least ten minutes (kube's `signer.duration`).
pub fn duration_for(expiration_seconds: Option<i64>, max: std::time::Duration) -> Duration {
    let max = Duration::try_from(max).unwrap_or(Duration::MAX);
    match expiration_seconds {
        None => max,
        Some(s) => {
            let requested = Duration::seconds(s);
            if requested > max {
                max
            } else if requested < MIN_DURATION {
                MIN_DURATION
            } else {
                requested
            }
        }
    }
}

/// kube's `PermissiveSigningPolicy.apply`: the template for `req` with these usages and
/// lifetime, signed at `now` by a CA that expires at `ca_not_after`.
pub fn template(
    req: &CertificateRequest,
    usages: &[String],
    ttl: Duration,
    now: OffsetDateTime,
    ca_not_after: OffsetDateTime,
) -> Result<Template, String> {
    let (key_usage, ext_key_usages) = usages_to_x509(usages)?;
    let not_before = now - BACKDATE;
    // A lifetime beyond what a date can hold ends with the CA.
    let end = if ttl < SHORT { now.checked_add(ttl) } else { now.checked_add(ttl - BACKDATE) };
    let mut not_after = end.unwrap_or(ca_not_after);
    if not_after >= ca_not_after {
        not_after = ca_not_after;
    }
    if not_before >= ca_not_after {
        return Err(format!("the signer has expired: NotAfter={}", go_time(ca_not_after)));
    }
    if now >= ca_not_after {
        return Err(format!(
            "refusing to sign a certificate that expired in the past: NotAfter={}",
            go_time(ca_not_after)
        ));
    }
    let mut sans: Vec<San> = req.dns_names.iter().cloned().map(San::Dns).collect();
    sans.extend(req.emails.iter().cloned().map(San::Email));
    sans.extend(req.ips.iter().copied().map(San::Ip));
    sans.extend(req.uris.iter().cloned().map(San::Uri));
    Ok(Template {
        subject_der: req.subject_der.clone(),
        spki_der: req.spki_der.clone(),
        sans,
        key_usage,
        ext_key_usages,
        not_before,
        not_after,
    })
}

/// Go's `time.Time` `%v` in UTC: `2006-01-02 15:04:05 +0000 UTC`.
fn go_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} +0000 UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
#[path = "csr_tests.rs"]
mod tests;
