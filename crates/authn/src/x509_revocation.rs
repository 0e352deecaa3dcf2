//! Client-certificate revocation, which kube lacks (kubernetes/kubernetes#18982): the
//! ConfigMap `kube-system/kubeward-cert-revocations` lists revoked certificates by serial
//! number and, for certificates nobody recorded, by subject. Every server follows it
//! through an informer and refuses a revoked certificate with a 401 at once, restarts
//! included (the informer lists before the server serves).
//!
//! Data keys (ConfigMap keys allow `[-._a-zA-Z0-9]`):
//! - `s.<SERIAL>`: the certificate with this serial (`pki::serial_hex` form, upper-case
//!   hex) is revoked, whatever the value says (a value that does not parse still revokes);
//! - `u.<base64url(CN)>`: certificates with this common name valid from (`notBefore`) at or
//!   before the value's `revokedAt` are revoked (an unreadable value revokes them all).
//!
//! Values are JSON: `{"revokedAt": RFC 3339, "subject": CN, "notAfter": RFC 3339}` (the last
//! two for a person reading the ConfigMap; only `revokedAt` of a subject entry is read).
//! [`CertRevocations`] is the in-memory table; the request path does one hash lookup by
//! serial and one by subject, and nothing when the table is empty.

use arc_swap::ArcSwap;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// Name of the ConfigMap holding certificate revocations.
pub const CERT_REVOCATION_CONFIGMAP: &str = "kubeward-cert-revocations";
/// Its namespace.
pub const CERT_REVOCATION_NAMESPACE: &str = "kube-system";

/// The data key revoking one serial number (already in `pki::serial_hex` form).
pub fn serial_key(serial: &str) -> String {
    format!("s.{serial}")
}

/// The data key revoking a subject's certificates issued up to a time.
pub fn subject_key(common_name: &str) -> String {
    format!("u.{}", URL_SAFE_NO_PAD.encode(common_name))
}

/// What a data key names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevocationKey {
    Serial(String),
    Subject(String),
}

/// Parses a data key; `None` for a key of neither form.
pub fn parse_key(key: &str) -> Option<RevocationKey> {
    if let Some(serial) = key.strip_prefix("s.") {
        return (!serial.is_empty() && serial.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| RevocationKey::Serial(serial.to_ascii_uppercase()));
    }
    let b = URL_SAFE_NO_PAD.decode(key.strip_prefix("u.")?).ok()?;
    String::from_utf8(b).ok().map(RevocationKey::Subject)
}

/// The value of an entry: when it was revoked and, for the reader, what.
pub fn entry_value(revoked_at: &str, subject: &str, not_after: Option<&str>) -> String {
    let mut v = serde_json::json!({"revokedAt": revoked_at, "subject": subject});
    if let Some(t) = not_after {
        v["notAfter"] = serde_json::json!(t);
    }
    v.to_string()
}

/// Drops the serial entries of certificates expired before `now` (Unix seconds): an expired
/// certificate is refused anyway, and the ConfigMap stays small. Subject entries stay.
pub fn drop_expired(data: &mut BTreeMap<String, String>, now: i64) {
    data.retain(|k, v| {
        if !matches!(parse_key(k), Some(RevocationKey::Serial(_))) {
            return true;
        }
        let not_after = serde_json::from_str::<serde_json::Value>(v)
            .ok()
            .and_then(|v| v.get("notAfter")?.as_str().map(str::to_string))
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok());
        not_after.is_none_or(|t| t.timestamp() >= now)
    });
}

/// `revokedAt` of an entry's value, as Unix seconds.
fn revoked_at(value: &str) -> Option<i64> {
    let v: serde_json::Value = serde_json::from_str(value).ok()?;
    let t = v.get("revokedAt")?.as_str()?;
    chrono::DateTime::parse_from_rfc3339(t).ok().map(|t| t.timestamp())
}

/// The revocations in force.
#[derive(Debug, Default)]
struct Table {
    serials: HashSet<String>,
    /// Common name -> certificates valid from at or before this time (Unix seconds) are revoked.
    subjects: HashMap<String, i64>,
}

impl Table {
    fn from_data(data: &BTreeMap<String, String>) -> Self {
        let mut t = Table::default();
        for (k, v) in data {
            match parse_key(k) {
                Some(RevocationKey::Serial(s)) => {
                    t.serials.insert(s);
                }
                Some(RevocationKey::Subject(cn)) => {
                    let at = revoked_at(v).unwrap_or_else(|| {
                        tracing::warn!(key = %k, "certificate revocations: unreadable time, every certificate of the subject is refused");
                        i64::MAX
                    });
                    t.subjects.insert(cn, at);
                }
                None => tracing::warn!(key = %k, "certificate revocations: entry ignored (bad key)"),
            }
        }
        t
    }
}

/// The revocation table, replaced whole on each ConfigMap change.
#[derive(Debug, Default)]
pub struct CertRevocations(ArcSwap<Table>);

impl CertRevocations {
    /// Replaces the table from the ConfigMap's `data` (an absent ConfigMap: empty data).
    pub fn update_from_configmap_data(&self, data: &BTreeMap<String, String>) {
        self.0.store(Arc::new(Table::from_data(data)));
    }

    /// Whether the certificate with this serial (`pki::serial_hex` form), common name and
    /// start of validity (Unix seconds) is revoked.
    pub fn is_revoked(&self, serial: &str, common_name: &str, not_before: i64) -> bool {
        let t = self.0.load();
        if t.serials.is_empty() && t.subjects.is_empty() {
            return false;
        }
        t.serials.contains(serial) || t.subjects.get(common_name).is_some_and(|at| not_before <= *at)
    }

    /// Up to when (Unix seconds) certificates of this common name are revoked, if they are.
    pub fn subject_revoked_at(&self, common_name: &str) -> Option<i64> {
        self.0.load().subjects.get(common_name).copied()
    }

    /// How many serials and subjects are revoked.
    pub fn len(&self) -> (usize, usize) {
        let t = self.0.load();
        (t.serials.len(), t.subjects.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_the_table_decides() {
        assert_eq!(parse_key(&serial_key("0AFF")), Some(RevocationKey::Serial("0AFF".into())));
        assert_eq!(parse_key("s.0aff"), Some(RevocationKey::Serial("0AFF".into())));
        assert_eq!(parse_key("s.zz"), None);
        let k = subject_key("jane@example.com");
        assert!(k.chars().all(|c| c.is_ascii_alphanumeric() || "-._".contains(c)), "{k}");
        assert_eq!(parse_key(&k), Some(RevocationKey::Subject("jane@example.com".into())));
        assert_eq!(parse_key("junk"), None);

        let r = CertRevocations::default();
        assert!(!r.is_revoked("0AFF", "jane", 0));
        let mut data = BTreeMap::new();
        data.insert(serial_key("0AFF"), "not json at all".into());
        data.insert(subject_key("bob"), entry_value("2024-01-02T03:04:05Z", "bob", None));
        data.insert(subject_key("eve"), "garbled".into());
        data.insert("junk".into(), "x".into());
        r.update_from_configmap_data(&data);
        assert!(r.is_revoked("0AFF", "jane", 0), "a serial entry revokes whatever its value");
        assert!(!r.is_revoked("0B00", "jane", 0));
        assert!(r.is_revoked("01", "bob", 1_704_164_645), "issued at the revocation time");
        assert!(!r.is_revoked("01", "bob", 1_704_164_646), "issued after it");
        assert!(r.is_revoked("01", "eve", i64::MAX - 1), "unreadable time: all of eve's");
        assert_eq!(r.len(), (1, 2));
        assert_eq!(r.subject_revoked_at("bob"), Some(1_704_164_645));
        assert_eq!(r.subject_revoked_at("jane"), None);
        r.update_from_configmap_data(&BTreeMap::new());
        assert!(!r.is_revoked("0AFF", "jane", 0));
    }

    #[test]
    fn expired_serials_are_dropped_and_nothing_else() {
        let mut data = BTreeMap::new();
        let t = "2024-01-02T03:04:05Z";
        data.insert(serial_key("01"), entry_value(t, "a", Some("2024-01-01T00:00:00Z")));
        data.insert(serial_key("02"), entry_value(t, "b", Some("2030-01-01T00:00:00Z")));
        data.insert(serial_key("03"), entry_value(t, "c", None));
        data.insert(serial_key("04"), "garbled".into());
        data.insert(subject_key("d"), entry_value(t, "d", None));
        drop_expired(&mut data, 1_704_164_645);
        let keys: Vec<&str> = data.keys().map(String::as_str).collect();
        assert_eq!(keys, ["s.02", "s.03", "s.04", subject_key("d").as_str()]);
    }
}
