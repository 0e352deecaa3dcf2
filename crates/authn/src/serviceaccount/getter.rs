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

/// namespace → name → value, so that lookups by `&str` allocate nothing.
type Namespaced<V> = RwLock<HashMap<String, HashMap<String, V>>>;

/// A [`ServiceAccountGetter`] over maps.
#[derive(Default)]
pub struct InMemoryGetter {
    service_accounts: Namespaced<String>,
    secrets: Namespaced<SecretInfo>,
    pods: Namespaced<String>,
    nodes: RwLock<HashMap<String, String>>,
}

impl InMemoryGetter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets (or with `None` deletes) a ServiceAccount.
    pub fn set_service_account(&self, ns: &str, name: &str, uid: Option<&str>) {
        set(&self.service_accounts, ns, name, uid.map(str::to_string));
    }

    pub fn set_secret(&self, ns: &str, name: &str, secret: Option<SecretInfo>) {
        set(&self.secrets, ns, name, secret);
    }

    pub fn set_pod(&self, ns: &str, name: &str, uid: Option<&str>) {
        set(&self.pods, ns, name, uid.map(str::to_string));
    }

    pub fn set_node(&self, name: &str, uid: Option<&str>) {
        let mut nodes = self.nodes.write().unwrap_or_else(|p| p.into_inner());
        match uid {
            Some(uid) => nodes.insert(name.to_string(), uid.to_string()),
            None => nodes.remove(name),
        };
    }
}

fn set<V>(map: &Namespaced<V>, ns: &str, name: &str, v: Option<V>) {
    let mut m = map.write().unwrap_or_else(|p| p.into_inner());
    match v {
        Some(v) => {
            m.entry(ns.to_string()).or_default().insert(name.to_string(), v);
        }
        None => {
            if let Some(names) = m.get_mut(ns) {
                names.remove(name);
            }
        }
    }
}

fn get<V: Clone>(map: &Namespaced<V>, ns: &str, name: &str) -> Option<V> {
    map.read().unwrap_or_else(|p| p.into_inner()).get(ns)?.get(name).cloned()
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
