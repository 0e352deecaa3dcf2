//! The record of client certificates the cluster handed out: the ConfigMap
//! `kube-system/kubeward-issued-certs`, one data entry per certificate (`s.<SERIAL>` ->
//! JSON with subject, groups, validity and who issued it). The CSR signer, `kubeward
//! kubeconfig` and `kubeward up` (for the admin certificate) write it; `kubeward revoke`
//! and `kubeward offboard` read it to find a person's certificates. Expired entries are
//! dropped whenever an entry is added, so the record holds what is still valid.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Name of the ConfigMap recording issued certificates.
pub const ISSUED_CONFIGMAP: &str = "kubeward-issued-certs";
/// Its namespace.
pub const ISSUED_NAMESPACE: &str = "kube-system";

/// One issued certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedRecord {
    /// [`crate::serial_hex`] form; the data key, not repeated in the value.
    #[serde(skip)]
    pub serial: String,
    /// The subject's common name: the user.
    pub subject: String,
    /// The subject's organizations: the groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// RFC 3339.
    pub not_before: String,
    /// RFC 3339.
    pub not_after: String,
    /// Who issued it: `csr/<name>` (signer), `kubeward kubeconfig`, `kubeward up`, ...
    pub issued_by: String,
}

/// The data key of a serial number.
pub fn record_key(serial: &str) -> String {
    format!("s.{serial}")
}

impl IssuedRecord {
    /// A record of a certificate signed by [`crate::Ca`].
    pub fn of(signed: &crate::Signed, subject: &str, groups: &[String], issued_by: &str) -> Self {
        Self {
            serial: signed.serial.clone(),
            subject: subject.to_string(),
            groups: groups.to_vec(),
            not_before: rfc3339(signed.not_before),
            not_after: rfc3339(signed.not_after),
            issued_by: issued_by.to_string(),
        }
    }

    /// A record read from a PEM certificate (the admin certificate of `kubeward up`).
    pub fn from_pem(cert_pem: &str, issued_by: &str) -> Option<Self> {
        let (_, block) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes()).ok()?;
        let cert = block.parse_x509().ok()?;
        let text = |a: &x509_parser::x509::AttributeTypeAndValue<'_>| a.as_str().ok().map(str::to_string);
        let v = cert.validity();
        Some(Self {
            serial: crate::serial_hex(cert.raw_serial()),
            subject: cert.subject().iter_common_name().filter_map(text).last().unwrap_or_default(),
            groups: cert.subject().iter_organization().filter_map(text).collect(),
            not_before: rfc3339(v.not_before.to_datetime()),
            not_after: rfc3339(v.not_after.to_datetime()),
            issued_by: issued_by.to_string(),
        })
    }

    pub fn value(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Whether it expired before `now` (an unreadable time counts as not expired).
    pub fn expired(&self, now: time::OffsetDateTime) -> bool {
        let format = time::format_description::well_known::Rfc3339;
        time::OffsetDateTime::parse(&self.not_after, &format).is_ok_and(|t| t < now)
    }
}

/// RFC 3339 in UTC to the second, as kube writes times.
pub fn rfc3339(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The records in a ConfigMap's data (entries that do not parse are skipped).
pub fn parse_records(data: &BTreeMap<String, String>) -> Vec<IssuedRecord> {
    data.iter()
        .filter_map(|(k, v)| {
            let serial = k.strip_prefix("s.")?;
            let mut rec: IssuedRecord = serde_json::from_str(v).ok()?;
            rec.serial = serial.to_string();
            Some(rec)
        })
        .collect()
}

/// Adds `record` to ConfigMap data and drops the entries expired at `now`.
pub fn add_record(data: &mut BTreeMap<String, String>, record: &IssuedRecord, now: time::OffsetDateTime) {
    let expired: Vec<String> =
        parse_records(data).into_iter().filter(|r| r.expired(now)).map(|r| record_key(&r.serial)).collect();
    for k in expired {
        data.remove(&k);
    }
    data.insert(record_key(&record.serial), record.value());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_expired_ones_go() {
        let ca = crate::Ca::generate("ca").unwrap();
        let (signed, _) = ca.issue_client_for("jane", &["dev".into()], time::Duration::hours(1)).unwrap();
        let rec = IssuedRecord::of(&signed, "jane", &["dev".into()], "kubeward kubeconfig");
        let from_pem = IssuedRecord::from_pem(&signed.cert_pem, "kubeward kubeconfig").unwrap();
        assert_eq!(rec, from_pem);
        let mut data = BTreeMap::new();
        let old =
            IssuedRecord { serial: "01".into(), not_after: "2000-01-01T00:00:00Z".into(), ..rec.clone() };
        data.insert(record_key(&old.serial), old.value());
        data.insert("junk".into(), "x".into());
        add_record(&mut data, &rec, time::OffsetDateTime::now_utc());
        let parsed = parse_records(&data);
        assert_eq!(parsed, vec![rec.clone()], "the expired one is gone, junk is not a record");
        assert!(data.contains_key("junk"), "what is not a record is left alone");
        assert!(!rec.expired(time::OffsetDateTime::now_utc()));
    }
}
