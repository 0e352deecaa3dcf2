//! kube-controller-manager's bootstrap token cleaner (`tokencleaner`): a bootstrap token
//! Secret in `kube-system` past its `expiration` is deleted; so is `kubeward-certs` (the
//! control-plane keys a join fetches, kubeadm's `kubeadm-certs`) past its own, as kube's
//! garbage collector deletes `kubeadm-certs` with the short-lived token that owns it.
//! Expirations are kept per Secret and checked every 10 s.

use super::Controller;
use crate::informer::{name_of, Event, Informer};
use crate::objects::Objects;
use crate::state::State;
use base64::Engine;
use registry::ResourceType;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

const NAMESPACE: &str = "kube-system";
/// The Secret of encrypted control-plane keys for joins.
pub const CERTS_SECRET: &str = "kubeward-certs";
const RESYNC: Duration = Duration::from_secs(10);

struct TokenCleaner {
    objects: Objects,
    secrets: &'static ResourceType,
    /// Secret name -> its expiration.
    expiring: BTreeMap<String, chrono::DateTime<chrono::FixedOffset>>,
}

/// The expiration a Secret carries, when it is one this controller cleans.
fn expiration(secret: &Value) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    let name = name_of(secret).1;
    let is_token = secret.get("type").and_then(Value::as_str) == Some(authn::bootstrap_token::SECRET_TYPE)
        && name.starts_with(authn::bootstrap_token::SECRET_NAME_PREFIX);
    if !is_token && name != CERTS_SECRET {
        return None;
    }
    let encoded = secret.pointer("/data/expiration").and_then(Value::as_str)?;
    let text = base64::engine::general_purpose::STANDARD.decode(encoded).ok()?;
    chrono::DateTime::parse_from_rfc3339(std::str::from_utf8(&text).ok()?).ok()
}

impl TokenCleaner {
    fn note(&mut self, secret: &Value) {
        let name = name_of(secret).1.to_string();
        match expiration(secret) {
            Some(at) => {
                self.expiring.insert(name, at);
            }
            None => {
                self.expiring.remove(&name);
            }
        }
    }

    async fn clean(&mut self) {
        let now = chrono::Utc::now();
        let expired: Vec<String> =
            self.expiring.iter().filter(|(_, at)| **at <= now).map(|(name, _)| name.clone()).collect();
        for name in expired {
            match self.objects.delete(self.secrets, NAMESPACE, &name, None).await {
                Ok(_) => tracing::info!(secret = %name, "deleted an expired bootstrap Secret"),
                Err(e) if e.code == 404 => {}
                Err(e) => {
                    tracing::warn!(secret = %name, error = %e.message, "an expired bootstrap Secret was not deleted");
                    continue;
                }
            }
            self.expiring.remove(&name);
        }
    }
}

#[async_trait::async_trait]
impl Controller for TokenCleaner {
    async fn handle(&mut self, event: Event) {
        match event {
            Event::Init => self.expiring.clear(),
            Event::InitApply(secret) | Event::Apply(secret) => self.note(&secret),
            Event::Delete(secret) => {
                self.expiring.remove(name_of(&secret).1);
            }
            Event::InitDone => self.clean().await,
        }
    }

    fn resync_period(&self) -> Option<Duration> {
        Some(RESYNC)
    }

    async fn resync(&mut self) {
        self.clean().await;
    }
}

pub async fn start(state: &State) -> Result<(), String> {
    let secrets = state.catalog.lookup("", "v1", "secrets").ok_or("the catalog serves no Secrets")?;
    let informer =
        Informer::new(state.objects.clone(), "token-cleaner", vec![secrets]).in_namespace(NAMESPACE);
    let cleaner = TokenCleaner { objects: state.objects.clone(), secrets, expiring: BTreeMap::new() };
    super::run(informer, cleaner).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn only_bootstrap_tokens_and_the_join_keys_expire() {
        let token = json!({"metadata": {"name": "bootstrap-token-abcdef", "namespace": "kube-system"},
            "type": "bootstrap.kubernetes.io/token", "data": {"expiration": b64("2020-01-01T00:00:00Z")}});
        assert!(expiration(&token).is_some());
        let certs = json!({"metadata": {"name": CERTS_SECRET}, "type": "Opaque",
            "data": {"expiration": b64("2020-01-01T00:00:00Z")}});
        assert!(expiration(&certs).is_some());
        let other = json!({"metadata": {"name": "db"}, "type": "Opaque", "data": {"expiration": b64("2020-01-01T00:00:00Z")}});
        assert_eq!(expiration(&other), None);
        let forever = json!({"metadata": {"name": "bootstrap-token-abcdef"}, "type": "bootstrap.kubernetes.io/token", "data": {}});
        assert_eq!(expiration(&forever), None);
    }
}
