//! The revocation table kept in the cluster: a ConfigMap `kubeward-oidc-revocations` in
//! `kube-system` whose `data` maps an encoded user name to the RFC 3339 time before which
//! (inclusive, to the second) that user's tokens are rejected. ConfigMap keys only allow
//! `[-._a-zA-Z0-9]`, so a key is `u.` + base64url (no padding) of the user name.
//! [`RevocationTable`] is the in-memory [`RevocationList`] the server refreshes from the
//! watched ConfigMap.

use super::authenticator::RevocationList;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

/// Name of the ConfigMap holding revocations.
pub const REVOCATION_CONFIGMAP: &str = "kubeward-oidc-revocations";
/// Its namespace.
pub const REVOCATION_NAMESPACE: &str = "kube-system";

/// The ConfigMap data key of a user name.
pub fn revocation_key(username: &str) -> String {
    format!("u.{}", URL_SAFE_NO_PAD.encode(username))
}

/// The user name of a data key, if it is one.
pub fn username_of_key(key: &str) -> Option<String> {
    let b = URL_SAFE_NO_PAD.decode(key.strip_prefix("u.")?).ok()?;
    String::from_utf8(b).ok()
}

/// Parses ConfigMap data into user -> Unix seconds; malformed entries are skipped with a
/// warning (never fail the whole table).
pub fn parse_revocations(data: &BTreeMap<String, String>) -> HashMap<String, i64> {
    let mut out = HashMap::new();
    for (k, v) in data {
        let parsed = username_of_key(k).zip(chrono::DateTime::parse_from_rfc3339(v).ok());
        match parsed {
            Some((user, at)) => {
                out.insert(user, at.timestamp());
            }
            None => tracing::warn!(key = %k, "oidc revocations: entry ignored (bad key or time)"),
        }
    }
    out
}

/// The revocation list in force, replaced whole on each ConfigMap change.
#[derive(Debug, Default)]
pub struct RevocationTable(RwLock<HashMap<String, i64>>);

impl RevocationTable {
    /// Replaces the table from the ConfigMap's `data` (an absent ConfigMap: empty data).
    pub fn update_from_configmap_data(&self, data: &BTreeMap<String, String>) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = parse_revocations(data);
    }
}

impl RevocationList for RevocationTable {
    fn revoked_before(&self, username: &str) -> Option<i64> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).get(username).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_table_parses() {
        let user = "https://127.0.0.1:8443#alice";
        let key = revocation_key(user);
        assert!(key.chars().all(|c| c.is_ascii_alphanumeric() || "-._".contains(c)), "{key}");
        assert_eq!(username_of_key(&key).as_deref(), Some(user));
        let mut data = BTreeMap::new();
        data.insert(key, "2024-01-02T03:04:05Z".to_string());
        data.insert("junk".into(), "2024-01-02T03:04:05Z".into());
        data.insert(revocation_key("bob"), "yesterday".into());
        let t = RevocationTable::default();
        t.update_from_configmap_data(&data);
        assert_eq!(t.revoked_before(user), Some(1_704_164_645));
        assert_eq!(t.revoked_before("bob"), None);
        t.update_from_configmap_data(&BTreeMap::new());
        assert_eq!(t.revoked_before(user), None);
    }
}
