//! CertificateSigningRequests, as kube's CSR strategies (`pkg/registry/certificates/
//! certificates/strategy.go`) and validation (`pkg/apis/certificates/validation`): the
//! request is a signed PKCS#10 CSR in PEM, the spec never changes after create, `approval`
//! writes the conditions only, `status` the rest of the status but the Approved/Denied
//! conditions; conditions get their timestamps; an issued certificate is never replaced.
//! Who asked (`spec.username`, ...) is set by the server from the request's user.

use super::Endpoint;
use apimachinery::field::{
    duplicate, forbidden, invalid, invalid_number, invalid_rendered, not_supported, required,
};
use apimachinery::field::{too_long, Errors};
use base64::Engine as _;
use serde_json::{json, Value};
use x509_parser::prelude::FromDer;

const APPROVED: &str = "Approved";
const DENIED: &str = "Denied";
const FAILED: &str = "Failed";
const LEGACY_UNKNOWN_SIGNER: &str = "kubernetes.io/legacy-unknown";

/// kube's `allValidUsages`, sorted as `sets.String.List()` prints them.
const VALID_USAGES: &[&str] = &[
    "any",
    "cert sign",
    "client auth",
    "code signing",
    "content commitment",
    "crl sign",
    "data encipherment",
    "decipher only",
    "digital signature",
    "email protection",
    "encipher only",
    "ipsec end system",
    "ipsec tunnel",
    "ipsec user",
    "key agreement",
    "key encipherment",
    "microsoft sgc",
    "netscape sgc",
    "ocsp signing",
    "s/mime",
    "server auth",
    "signing",
    "timestamping",
];

/// kube's `metav1.Now()` as JSON (seconds).
fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn conditions(csr: &Value) -> Vec<Value> {
    csr.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default()
}

fn of_type<'a>(conds: &'a [Value], t: &str) -> Vec<&'a Value> {
    conds.iter().filter(|c| c.get("type").and_then(Value::as_str) == Some(t)).collect()
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// What an update through `endpoint` may change, after the generic preparation has carried
/// over what is not status (for `status` and `approval`) or the status (for the resource).
pub(super) fn prepare_for_update(new: &mut Value, old: &Value, endpoint: Endpoint) {
    let old_spec = old.get("spec").cloned().unwrap_or_else(|| json!({}));
    let old_status = old.get("status").cloned().unwrap_or_else(|| json!({}));
    match endpoint {
        // The spec never changes; the status only through its subresources.
        Endpoint::Main | Endpoint::EphemeralContainers | Endpoint::Resize => {
            new["spec"] = old_spec;
            new["status"] = old_status;
        }
        // Everything in the status but the Approved/Denied conditions, kept as they were
        // (an added or removed one is left for validation to refuse).
        Endpoint::Status => {
            new["spec"] = old_spec;
            let old_conds = conditions(old);
            let mut new_conds = conditions(new);
            for t in [APPROVED, DENIED] {
                let old_at: Vec<usize> = positions(&old_conds, t);
                let new_at: Vec<usize> = positions(&new_conds, t);
                if old_at.len() == new_at.len() {
                    for (o, n) in old_at.into_iter().zip(new_at) {
                        new_conds[n] = old_conds[o].clone();
                    }
                }
            }
            stamp(&mut new_conds, &old_conds);
            set_conditions(new, new_conds);
        }
        // The conditions only.
        Endpoint::Approval => {
            let mut new_conds = conditions(new);
            stamp(&mut new_conds, &conditions(old));
            new["spec"] = old_spec;
            new["status"] = old_status;
            set_conditions(new, new_conds);
        }
    }
}

fn positions(conds: &[Value], t: &str) -> Vec<usize> {
    conds.iter().enumerate().filter(|(_, c)| text(c, "type") == t).map(|(i, _)| i).collect()
}

fn set_conditions(csr: &mut Value, conds: Vec<Value>) {
    if !csr["status"].is_object() {
        csr["status"] = json!({});
    }
    if let Some(s) = csr["status"].as_object_mut() {
        if conds.is_empty() {
            s.remove("conditions");
        } else {
            s.insert("conditions".into(), Value::Array(conds));
        }
    }
}

/// `populateConditionTimestamps`: `lastUpdateTime` now when unset; `lastTransitionTime` that
/// of the stored condition of the same type and status, else now.
fn stamp(conds: &mut [Value], old: &[Value]) {
    let now = now();
    for c in conds.iter_mut() {
        if text(c, "lastUpdateTime").is_empty() {
            c["lastUpdateTime"] = json!(now);
        }
        if text(c, "lastTransitionTime").is_empty() {
            let kept = old.iter().find(|o| {
                text(o, "type") == text(c, "type")
                    && text(o, "status") == text(c, "status")
                    && !text(o, "lastTransitionTime").is_empty()
            });
            c["lastTransitionTime"] =
                json!(kept.map_or(now.clone(), |o| text(o, "lastTransitionTime").to_string()));
        }
    }
}

/// kube's `certificateValidationOptions`: what the endpoint may set, and what is tolerated
/// because the stored object already has it.
#[derive(Default)]
struct Options {
    setting_approval_conditions: bool,
    setting_certificate: bool,
    both_approved_and_denied: bool,
    legacy_signer_name: bool,
    duplicate_condition_types: bool,
    empty_condition_type: bool,
    arbitrary_certificate: bool,
    unknown_usages: bool,
    duplicate_usages: bool,
}

fn options(new: &Value, old: Option<&Value>, endpoint: Endpoint) -> Options {
    let Some(old) = old else { return Options::default() };
    let old_conds = conditions(old);
    let types: Vec<&str> = old_conds.iter().map(|c| text(c, "type")).collect();
    let usages = usages(old);
    Options {
        setting_approval_conditions: endpoint == Endpoint::Approval,
        setting_certificate: endpoint == Endpoint::Status,
        both_approved_and_denied: types.contains(&APPROVED) && types.contains(&DENIED),
        legacy_signer_name: old.pointer("/spec/signerName").and_then(Value::as_str)
            == Some(LEGACY_UNKNOWN_SIGNER),
        duplicate_condition_types: types.iter().enumerate().any(|(i, t)| types[..i].contains(t)),
        empty_condition_type: types.contains(&""),
        arbitrary_certificate: certificate(new) == certificate(old)
            || certificate_error(&certificate(old)).is_some(),
        unknown_usages: usages.iter().any(|u| !VALID_USAGES.contains(&u.as_str())),
        duplicate_usages: usages.iter().enumerate().any(|(i, u)| usages[..i].contains(u)),
    }
}

fn usages(csr: &Value) -> Vec<String> {
    csr.pointer("/spec/usages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|u| u.as_str().unwrap_or_default().to_string())
        .collect()
}

/// Bytes of a `[]byte` field (base64 in JSON); empty when absent or not base64.
fn bytes_at(csr: &Value, pointer: &str) -> Vec<u8> {
    let s = csr.pointer(pointer).and_then(Value::as_str).unwrap_or_default();
    base64::engine::general_purpose::STANDARD.decode(s).unwrap_or_default()
}

fn certificate(csr: &Value) -> Vec<u8> {
    bytes_at(csr, "/status/certificate")
}

/// Field errors of a CSR created (`old` `None`) or updated through `endpoint`.
pub(super) fn validate(new: &Value, old: Option<&Value>, endpoint: Endpoint) -> Errors {
    let opts = options(new, old, endpoint);
    let mut errs = validate_csr(new, &opts);
    let Some(old) = old else { return errs };
    let (old_conds, new_conds) = (conditions(old), conditions(new));
    for t in [APPROVED, DENIED, FAILED] {
        if of_type(&new_conds, t).len() < of_type(&old_conds, t).len() {
            errs.push(forbidden(
                "status.conditions",
                &format!("updates may not remove a condition of type {}", apimachinery::quote::go_quote(t)),
            ));
        }
    }
    if !opts.setting_approval_conditions {
        for t in [APPROVED, DENIED] {
            let (o, n) = (of_type(&old_conds, t), of_type(&new_conds, t));
            let quoted = apimachinery::quote::go_quote(t);
            if n.len() > o.len() {
                errs.push(forbidden(
                    "status.conditions",
                    &format!("updates may not add a condition of type {quoted}"),
                ));
            } else if n.len() == o.len() && n != o {
                // kube appends a diff of the conditions.
                errs.push(forbidden(
                    "status.conditions",
                    &format!("updates may not modify a condition of type {quoted}\n"),
                ));
            }
        }
    }
    let (old_cert, new_cert) = (certificate(old), certificate(new));
    if new_cert != old_cert {
        if !opts.setting_certificate {
            errs.push(forbidden("status.certificate", "updates may not set certificate content"));
        } else if !old_cert.is_empty() {
            errs.push(forbidden("status.certificate", "updates may not modify existing certificate content"));
        }
    }
    errs
}

/// `validateCertificateSigningRequest`.
fn validate_csr(csr: &Value, opts: &Options) -> Errors {
    let mut errs = Errors::new();
    let request = bytes_at(csr, "/spec/request");
    if let Err(e) = check_request(&request) {
        errs.push(invalid_rendered("spec.request", &go_bytes(&request), &e));
    }
    let usages = usages(csr);
    if usages.is_empty() {
        errs.push(required("spec.usages"));
    }
    if !opts.unknown_usages {
        for (i, u) in usages.iter().enumerate() {
            if !VALID_USAGES.contains(&u.as_str()) {
                errs.push(not_supported(&format!("spec.usages[{i}]"), u, VALID_USAGES));
            }
        }
    }
    if !opts.duplicate_usages {
        for (i, u) in usages.iter().enumerate() {
            if usages[..i].contains(u) {
                errs.push(duplicate(&format!("spec.usages[{i}]"), u));
            }
        }
    }
    let signer = csr.pointer("/spec/signerName").and_then(Value::as_str).unwrap_or_default();
    if !opts.legacy_signer_name && signer == LEGACY_UNKNOWN_SIGNER {
        errs.push(invalid(
            "spec.signerName",
            signer,
            "the legacy signerName is not allowed via this API version",
        ));
    } else {
        validate_signer_name("spec.signerName", signer, &mut errs);
    }
    if let Some(secs) = csr.pointer("/spec/expirationSeconds").and_then(Value::as_i64) {
        if secs < 600 {
            errs.push(invalid_number(
                "spec.expirationSeconds",
                secs,
                "may not specify a duration less than 600 seconds (10 minutes)",
            ));
        }
    }
    validate_conditions(csr, opts, &mut errs);
    if !opts.arbitrary_certificate {
        if let Some(e) = certificate_error(&certificate(csr)) {
            errs.push(invalid("status.certificate", "<certificate data>", &e));
        }
    }
    errs
}

fn validate_conditions(csr: &Value, opts: &Options, errs: &mut Errors) {
    let (mut approved, mut denied) = (false, false);
    let mut seen: Vec<&str> = Vec::new();
    let conds = conditions(csr);
    for (i, c) in conds.iter().enumerate() {
        let at = format!("status.conditions[{i}]");
        let (t, status) = (text(c, "type"), text(c, "status"));
        if !opts.empty_condition_type && t.is_empty() {
            errs.push(required(&format!("{at}.type")));
        }
        let allowed: &[&str] =
            if [APPROVED, DENIED, FAILED].contains(&t) { &["True"] } else { &["False", "True", "Unknown"] };
        if status.is_empty() {
            errs.push(required(&format!("{at}.status")));
        } else if !allowed.contains(&status) {
            errs.push(not_supported(&format!("{at}.status"), status, allowed));
        }
        if !opts.both_approved_and_denied {
            let clash = match t {
                APPROVED => {
                    approved = true;
                    denied
                }
                DENIED => {
                    denied = true;
                    approved
                }
                _ => false,
            };
            if clash {
                errs.push(invalid(
                    &format!("{at}.type"),
                    t,
                    "Approved and Denied conditions are mutually exclusive",
                ));
            }
        }
        if !opts.duplicate_condition_types {
            if seen.contains(&t) {
                errs.push(duplicate(&format!("{at}.type"), t));
            }
            seen.push(t);
        }
    }
}

/// kube's `ValidateSignerName`: `<domain>/<path>` with DNS labels in the domain (two at
/// least) and DNS subdomains in the path.
pub(super) fn validate_signer_name(field: &str, signer: &str, errs: &mut Errors) {
    use super::common::{DNS1123_LABEL_MSG, DNS1123_SUBDOMAIN_MSG};
    if signer.is_empty() {
        errs.push(required(field));
        return;
    }
    let segments: Vec<&str> = signer.split('/').collect();
    let [domain, path] = segments[..] else {
        errs.push(invalid(
            field,
            signer,
            "must be a fully qualified domain and path of the form 'example.com/signer-name'",
        ));
        return;
    };
    if domain.len() > 253 {
        errs.push(too_long(field, 253));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let label_errors = |label: &str, max: usize, pattern: &str| {
        let mut found = Vec::new();
        if label.len() > max {
            found.push(format!("must be no more than {max} characters"));
        }
        if !label_pattern(label) {
            found.push(pattern.to_string());
        }
        found
    };
    for label in &labels {
        let found = label_errors(label, 63, DNS1123_LABEL_MSG);
        if !found.is_empty() {
            let q = apimachinery::quote::go_quote(label);
            errs.extend(found.iter().map(|m| invalid(field, domain, &format!("validating label {q}: {m}"))));
            break;
        }
    }
    if labels.len() < 2 {
        errs.push(invalid(field, domain, "should be a domain with at least two segments separated by dots"));
    }
    // Split at the dots, each part is one label, checked as kube checks a subdomain.
    for label in path.split('.') {
        let found = label_errors(label, 253, DNS1123_SUBDOMAIN_MSG);
        if !found.is_empty() {
            let q = apimachinery::quote::go_quote(label);
            errs.extend(found.iter().map(|m| invalid(field, path, &format!("validating label {q}: {m}"))));
            break;
        }
    }
    // kube's limit: a domain, and a path that holds a namespace, a dot and a name.
    if signer.len() > 253 + (253 + 63 + 1) + 1 {
        errs.push(too_long(field, 571));
    }
}

/// kube's DNS-1123 label pattern, length aside: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`.
fn label_pattern(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A `[]byte` bad value as kube's field errors print it: JSON, so base64 in quotes.
fn go_bytes(b: &[u8]) -> String {
    apimachinery::gofmt::go_json(&json!(base64::engine::general_purpose::STANDARD.encode(b)))
}

/// One PEM block: its type, whether it had headers, its bytes, and what follows it.
pub(super) struct PemBlock<'a> {
    pub label: &'a str,
    pub has_headers: bool,
    pub bytes: Vec<u8>,
    pub rest: &'a str,
}

/// Go's `pem.Decode` in the part kube relies on: the first well-formed block, anything
/// before it skipped.
pub(super) fn pem_decode(data: &str) -> Option<PemBlock<'_>> {
    let mut from = 0;
    loop {
        let begin = from + data.get(from..)?.find("-----BEGIN ")?;
        let after = data.get(begin + "-----BEGIN ".len()..)?;
        let (label, body) = after.split_once("-----")?;
        let end_marker = format!("-----END {label}-----");
        if label.contains('\n') {
            from = begin + 1;
            continue;
        }
        let Some(end) = body.find(&end_marker) else {
            from = begin + 1;
            continue;
        };
        let inner = body.get(..end)?;
        let rest = body.get(end + end_marker.len()..)?;
        let (has_headers, encoded) = match inner.split_once("\n\n") {
            Some((head, b)) if head.contains(':') => (true, b),
            _ => (false, inner),
        };
        let compact: String = encoded.chars().filter(|c| !c.is_whitespace()).collect();
        match base64::engine::general_purpose::STANDARD.decode(compact) {
            Ok(bytes) => return Some(PemBlock { label, has_headers, bytes, rest }),
            Err(_) => from = begin + 1,
        }
    }
}

/// kube's `validateCSR`: a `CERTIFICATE REQUEST` PEM block holding a PKCS#10 request whose
/// signature verifies with its own key; Go's error text otherwise.
fn check_request(pem: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(pem);
    let block = pem_decode(&text).filter(|b| b.label == "CERTIFICATE REQUEST");
    let Some(block) = block else {
        return Err("PEM block type must be CERTIFICATE REQUEST".into());
    };
    let csr = parse_csr(&block.bytes)?;
    csr.verify_signature().map_err(|_| {
        let key = csr.certification_request_info.subject_pki.algorithm.algorithm.to_id_string();
        match key.as_str() {
            "1.2.840.10045.2.1" => "x509: ECDSA verification failure".to_string(),
            "1.3.101.112" => "x509: Ed25519 verification failure".to_string(),
            _ => "crypto/rsa: verification error".to_string(),
        }
    })
}

fn parse_csr(der: &[u8]) -> Result<x509_parser::certification_request::X509CertificationRequest<'_>, String> {
    match x509_parser::certification_request::X509CertificationRequest::from_der(der) {
        Ok(([], csr)) => Ok(csr),
        Ok(_) => Err("x509: trailing data after certificate request".into()),
        Err(_) => Err("x509: malformed certificate request".into()),
    }
}

/// kube's `validateCertificate`: nothing, or `CERTIFICATE` PEM blocks without headers each
/// holding a certificate.
fn certificate_error(pem: &[u8]) -> Option<String> {
    if pem.is_empty() {
        return None;
    }
    let text = String::from_utf8_lossy(pem);
    let mut rest: &str = &text;
    let mut blocks = 0;
    while let Some(block) = pem_decode(rest) {
        if block.label != "CERTIFICATE" {
            return Some(format!(
                "only CERTIFICATE PEM blocks are allowed, found {}",
                apimachinery::quote::go_quote(block.label)
            ));
        }
        if block.has_headers {
            return Some("no PEM block headers are permitted".into());
        }
        blocks += 1;
        if x509_parser::parse_x509_certificate(&block.bytes).is_err() {
            return Some("x509: malformed certificate".into());
        }
        rest = block.rest;
    }
    (blocks == 0).then(|| "must contain at least one CERTIFICATE PEM block".into())
}

#[cfg(test)]
#[path = "certificates_tests.rs"]
mod tests;
