//! The liveness lookups of service-account token validation: is the ServiceAccount (and
//! the Pod, Secret or Node a token is bound to) still there with the same UID?
//!
//! The server implements [`ServiceAccountGetter`] over its store; [`InMemoryGetter`] is a
//! map-backed one for tests and benchmarks.

use std::collections::HashMap;
use std::sync::RwLock;

/// What validation needs of a Secret.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecretInfo {
    pub uid: String,
    /// `data["token"]`, decoded: a legacy token must still be this value.
    pub token: Option<Vec<u8>>,
    /// The `kubernetes.io/legacy-token-invalid-since` label, when set.
    pub invalid_since: Option<String>,
}

/// Reads objects for token validation. Return `None` for an object that does not exist
/// or is being deleted (kube treats objects deleted more than a minute ago as gone).
#[async_trait::async_trait]
pub trait ServiceAccountGetter: Send + Sync {
    /// The UID of ServiceAccount `namespace/name`.
    async fn service_account(&self, namespace: &str, name: &str) -> Option<String>;
    /// Secret `namespace/name`.
    async fn secret(&self, namespace: &str, name: &str) -> Option<SecretInfo>;
    /// The UID of Pod `namespace/name`.
    async fn pod(&self, namespace: &str, name: &str) -> Option<String>;
    /// The UID of Node `name`. Without it, node-bound tokens are rejected.
    async fn node(&self, _name: &str) -> Option<String> {
        None
    }
}

type Key = (String, String);

/// A [`ServiceAccountGetter`] over maps.
#[derive(Default)]
pub struct InMemoryGetter {
    service_accounts: RwLock<HashMap<Key, String>>,
    secrets: RwLock<HashMap<Key, SecretInfo>>,
    pods: RwLock<HashMap<Key, String>>,
    nodes: RwLock<HashMap<String, String>>,
}

fn key(ns: &str, name: &str) -> Key {
    (ns.to_string(), name.to_string())
}

impl InMemoryGetter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets (or with `None` deletes) a ServiceAccount.
    pub fn set_service_account(&self, ns: &str, name: &str, uid: Option<&str>) {
        set(&self.service_accounts, key(ns, name), uid.map(str::to_string));
    }

    pub fn set_secret(&self, ns: &str, name: &str, secret: Option<SecretInfo>) {
        set(&self.secrets, key(ns, name), secret);
    }

    pub fn set_pod(&self, ns: &str, name: &str, uid: Option<&str>) {
        set(&self.pods, key(ns, name), uid.map(str::to_string));
    }

    pub fn set_node(&self, name: &str, uid: Option<&str>) {
        set(&self.nodes, name.to_string(), uid.map(str::to_string));
    }
}

fn set<K: std::hash::Hash + Eq, V>(map: &RwLock<HashMap<K, V>>, k: K, v: Option<V>) {
    let mut m = map.write().unwrap_or_else(|p| p.into_inner());
    match v {
        Some(v) => m.insert(k, v),
        None => m.remove(&k),
    };
}

fn get<V: Clone>(map: &RwLock<HashMap<Key, V>>, ns: &str, name: &str) -> Option<V> {
    let m = map.read().unwrap_or_else(|p| p.into_inner());
    m.get(&key(ns, name)).cloned()
}

#[async_trait::async_trait]
impl ServiceAccountGetter for InMemoryGetter {
    async fn service_account(&self, namespace: &str, name: &str) -> Option<String> {
        get(&self.service_accounts, namespace, name)
    }
    async fn secret(&self, namespace: &str, name: &str) -> Option<SecretInfo> {
        get(&self.secrets, namespace, name)
    }
    async fn pod(&self, namespace: &str, name: &str) -> Option<String> {
        get(&self.pods, namespace, name)
    }
    async fn node(&self, name: &str) -> Option<String> {
        self.nodes.read().unwrap_or_else(|p| p.into_inner()).get(name).cloned()
    }
}
