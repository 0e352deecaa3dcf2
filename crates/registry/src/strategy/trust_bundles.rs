//! ClusterTrustBundles, as kube's strategy (`pkg/registry/certificates/clustertrustbundle`)
//! and validation (`ValidateClusterTrustBundle` in `pkg/apis/certificates/validation`, the
//! name rule in `pkg/apis/core/validation/names.go`): a bundle with a signer is named
//! `<signer with / as :>:<name>`, one without has no `:` in its name; the signer name
//! follows the CSR rules and never changes; `spec.trustBundle` is at most 1 MiB of
//! `CERTIFICATE` PEM blocks without headers, each an X.509 CA certificate, at least one,
//! none twice. An update that leaves the bundle as it was does not parse it again.

use super::common::{is_subdomain_chars, str_at, DNS1123_SUBDOMAIN_MSG};
use apimachinery::field::{immutable, invalid, too_long, Errors};
use serde_json::Value;

/// kube's `MaxTrustBundleSize`.
const MAX_TRUST_BUNDLE_SIZE: usize = 1024 * 1024;
const BUNDLE_FIELD: &str = "spec.trustBundle";
/// kube's bad value for bundle errors.
const OMITTED: &str = "<value omitted>";

/// The messages of kube's `ValidateClusterTrustBundleName(signerName)` for `name`.
pub(super) fn name_errors(name: &str, signer: &str) -> Vec<String> {
    if signer.is_empty() {
        if name.contains(':') {
            return vec!["ClusterTrustBundle without signer name must not have \":\" in its name".into()];
        }
        return subdomain_errors(name);
    }
    let prefix = format!("{}:", signer.replace('/', ":"));
    match name.strip_prefix(&prefix) {
        Some(rest) => subdomain_errors(rest),
        None => {
            vec![format!("ClusterTrustBundle for signerName {signer} must be named with prefix {prefix}")]
        }
    }
}

/// apimachinery's `NameIsDNSSubdomain` messages.
fn subdomain_errors(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    if name.len() > 253 {
        out.push("must be no more than 253 characters".to_string());
    }
    if !is_subdomain_chars(name) {
        out.push(DNS1123_SUBDOMAIN_MSG.to_string());
    }
    out
}

/// Field errors of a bundle, new (`old` is `None`) or updated, beyond its metadata.
pub(super) fn validate(new: &Value, old: Option<&Value>, errs: &mut Errors) {
    let signer = str_at(new, "/spec/signerName");
    if !signer.is_empty() {
        super::certificates::validate_signer_name("spec.signerName", signer, errs);
    }
    let bundle = str_at(new, "/spec/trustBundle");
    // kube does not parse a bundle an update leaves as it was.
    if old.is_none_or(|o| str_at(o, "/spec/trustBundle") != bundle) {
        validate_trust_bundle(bundle, errs);
    }
    if let Some(old) = old {
        immutable(new, old, "/spec/signerName", "spec.signerName", errs);
    }
}

/// kube's `validateTrustBundle`.
fn validate_trust_bundle(bundle: &str, errs: &mut Errors) {
    if bundle.len() > MAX_TRUST_BUNDLE_SIZE {
        errs.push(too_long(BUNDLE_FIELD, MAX_TRUST_BUNDLE_SIZE as i64));
        return;
    }
    let before = errs.len();
    // Each anchor's DER with the indices of the blocks that hold it, in order of first sight.
    let mut anchors: Vec<(Vec<u8>, Vec<usize>)> = Vec::new();
    let mut rest = bundle;
    let mut i = 0;
    while let Some(block) = super::certificates::pem_decode(rest) {
        rest = block.rest;
        let entry = i;
        i += 1;
        if block.label != "CERTIFICATE" {
            let msg = format!("entry {entry} has bad block type: {}", block.label);
            errs.push(invalid(BUNDLE_FIELD, OMITTED, &msg));
            continue;
        }
        if block.has_headers {
            errs.push(invalid(BUNDLE_FIELD, OMITTED, &format!("entry {entry} has PEM block headers")));
            continue;
        }
        let cert = match x509_parser::parse_x509_certificate(&block.bytes) {
            Ok(([], cert)) => cert,
            _ => {
                let msg = format!("entry {entry} does not parse as X.509");
                errs.push(invalid(BUNDLE_FIELD, OMITTED, &msg));
                continue;
            }
        };
        match cert.basic_constraints() {
            Ok(Some(bc)) if bc.value.ca => {}
            Ok(Some(_) | None) => {
                let msg = format!("entry {entry} does not have the CA bit set");
                errs.push(invalid(BUNDLE_FIELD, OMITTED, &msg));
                continue;
            }
            Err(_) => {
                let msg = format!("entry {entry} has invalid basic constraints");
                errs.push(invalid(BUNDLE_FIELD, OMITTED, &msg));
                continue;
            }
        }
        match anchors.iter_mut().find(|(der, _)| *der == block.bytes) {
            Some((_, indices)) => indices.push(entry),
            None => anchors.push((block.bytes, vec![entry])),
        }
    }
    // A malformed block is reported alone, without the duplicate and missing anchors.
    if errs.len() != before {
        return;
    }
    if anchors.is_empty() {
        errs.push(invalid(BUNDLE_FIELD, OMITTED, "at least one trust anchor must be provided"));
    }
    for (_, indices) in anchors.iter().filter(|(_, ix)| ix.len() > 1) {
        let list: Vec<String> = indices.iter().map(usize::to_string).collect();
        let msg = format!("duplicate trust anchor (indices [{}])", list.join(" "));
        errs.push(invalid(BUNDLE_FIELD, OMITTED, &msg));
    }
}

#[cfg(test)]
#[path = "trust_bundles_tests.rs"]
mod tests;
