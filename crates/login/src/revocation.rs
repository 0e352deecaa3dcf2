//! `kubeward oidc revoke --user NAME`: the edits of the revocation ConfigMap
//! (`kube-system/kubeward-oidc-revocations`, see `authn::oidc::revocations`) that make
//! every server reject that user's tokens issued at or before now.

use authn::oidc::{revocation_key, REVOCATION_CONFIGMAP, REVOCATION_NAMESPACE};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

/// A JSON merge patch (`application/merge-patch+json`) recording the revocation of `user`
/// (the mapped user name, prefix included) at `now`.
pub fn revocation_configmap_patch(user: &str, now: DateTime<Utc>) -> Value {
    json!({ "data": { revocation_key(user): now.to_rfc3339_opts(SecondsFormat::Secs, true) } })
}

/// A merge patch lifting the revocation of `user` (tokens issued afterwards were never
/// affected; this only forgets the entry).
pub fn unrevoke_configmap_patch(user: &str) -> Value {
    json!({ "data": { revocation_key(user): null } })
}

/// The whole ConfigMap with one revocation, to create it when it does not exist yet.
pub fn revocation_configmap(user: &str, now: DateTime<Utc>) -> Value {
    let mut cm = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": { "name": REVOCATION_CONFIGMAP, "namespace": REVOCATION_NAMESPACE },
    });
    cm["data"] = revocation_configmap_patch(user, now)["data"].clone();
    cm
}

#[cfg(test)]
mod tests {
    use super::*;
    use authn::oidc::{RevocationList, RevocationTable};

    #[test]
    fn patch_round_trips_through_the_server_table() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let user = "https://127.0.0.1:9443#alice";
        let cm = revocation_configmap(user, now);
        assert_eq!(cm["metadata"]["name"], "kubeward-oidc-revocations");
        let data: std::collections::BTreeMap<String, String> =
            serde_json::from_value(cm["data"].clone()).unwrap();
        let table = RevocationTable::default();
        table.update_from_configmap_data(&data);
        assert_eq!(table.revoked_before(user), Some(1_700_000_000));
        assert_eq!(revocation_configmap_patch(user, now)["data"], cm["data"]);
        assert!(unrevoke_configmap_patch(user)["data"].as_object().unwrap().values().all(Value::is_null));
    }
}
