//! The webhooks' outbound targets, built once per `clientConfig` and kept, as kube's
//! `webhookutil.ClientManager` keeps one client per configuration (at most 200, the least
//! recently used dropped first): the TLS configuration is built, and the system roots read,
//! once per webhook rather than on every call, and connections are pooled.

use outbound::{Backoff, ConfigError, Options, Target};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// kube's `defaultCacheSize`.
const CAPACITY: usize = 200;

/// What makes two webhooks share a target.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    url: String,
    server_name: Option<String>,
    ca_bundle: Option<Vec<u8>>,
    timeout: Duration,
}

/// The targets of the webhooks called so far.
#[derive(Default)]
pub struct ClientManager {
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    targets: HashMap<Key, (Arc<Target>, u64)>,
    clock: u64,
}

impl std::fmt::Debug for ClientManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientManager").field("targets", &self.len()).finish()
    }
}

impl ClientManager {
    /// The target for an `https` `url` trusting `ca_bundle` (PEM; the system roots when
    /// `None`), its certificate checked for `server_name` instead of the URL's host when
    /// given (a Service's endpoint), each call bounded by `timeout`. Admission webhooks are
    /// called once per request, as kube's dispatchers do: no retries.
    pub fn target(
        &self,
        url: &str,
        server_name: Option<&str>,
        ca_bundle: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<Arc<Target>, ConfigError> {
        let key = Key {
            url: url.to_string(),
            server_name: server_name.map(str::to_string),
            ca_bundle: ca_bundle.map(<[u8]>::to_vec),
            timeout,
        };
        if let Some(found) = self.lock().touch(&key) {
            return Ok(found);
        }
        let options = Options { timeout, ..Options::default() };
        let target = Target::from_url_for(url, server_name, ca_bundle, options, Backoff::NONE)?;
        let target = Arc::new(target);
        let mut entries = self.lock();
        if entries.targets.len() >= CAPACITY {
            entries.evict_oldest();
        }
        entries.clock += 1;
        let now = entries.clock;
        entries.targets.insert(key, (target.clone(), now));
        Ok(target)
    }

    /// Targets kept.
    pub fn len(&self) -> usize {
        self.lock().targets.len()
    }

    /// Whether no target is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // Entries are inserted whole; a panic elsewhere cannot leave one half-written.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Entries {
    fn touch(&mut self, key: &Key) -> Option<Arc<Target>> {
        self.clock += 1;
        let now = self.clock;
        let (target, used) = self.targets.get_mut(key)?;
        *used = now;
        Some(target.clone())
    }

    fn evict_oldest(&mut self) {
        let oldest = self.targets.iter().min_by_key(|(_, (_, used))| *used).map(|(k, _)| k.clone());
        if let Some(key) = oldest {
            self.targets.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_target_per_client_config_and_bounded() {
        let clients = ClientManager::default();
        let t = Duration::from_secs(10);
        let a = clients.target("https://a.example/x", None, Some(b"-"), t);
        assert!(a.is_err(), "a bundle without certificates is refused");
        let ca = pki::Ca::generate("ca").unwrap();
        let pem = ca.cert_pem.as_bytes();
        let a = clients.target("https://a.example/x", None, Some(pem), t).unwrap();
        let again = clients.target("https://a.example/x", None, Some(pem), t).unwrap();
        assert!(Arc::ptr_eq(&a, &again));
        clients.target("https://a.example/x", None, Some(pem), Duration::from_secs(1)).unwrap();
        assert_eq!(clients.len(), 2);
        for i in 0..CAPACITY {
            clients.target(&format!("https://h{i}.example/"), None, Some(pem), t).unwrap();
        }
        assert_eq!(clients.len(), CAPACITY);
        let e = clients.target("http://a.example/", None, Some(pem), t).unwrap_err();
        assert_eq!(e.to_string(), "invalid url \"http://a.example/\": scheme must be https");
    }
}
