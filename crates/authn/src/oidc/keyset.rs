//! A provider's signing keys: fetched from its discovery document and `jwks_uri` over TLS
//! ([`DiscoverySource`]), kept in memory, and fetched again when a token names a key ID not
//! in the set or no key verifies it (at most once per `min_refetch_interval`, so a flood of
//! tokens with made-up key IDs cannot make the server hammer the provider).

use super::http::HttpClient;
use super::jwt::{JwkSet, SigningAlg, VerifyKey};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often an unknown key ID may trigger a fetch, by default.
pub const DEFAULT_MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(10);

/// Where keys come from; the real one reads discovery and JWKS, tests substitute their own.
#[async_trait::async_trait]
pub trait JwksSource: Send + Sync {
    /// The current key set, or why it could not be fetched.
    async fn fetch(&self) -> Result<Vec<VerifyKey>, String>;
}

/// Discovery (`<issuer>/.well-known/openid-configuration`, or an explicit discovery URL)
/// then the JWK set at its `jwks_uri`.
pub struct DiscoverySource {
    pub issuer: String,
    pub discovery_url: String,
    pub client: HttpClient,
}

impl DiscoverySource {
    pub fn new(issuer: &str, discovery_url: Option<&str>, client: HttpClient) -> Self {
        let discovery_url = discovery_url
            .map(str::to_string)
            .unwrap_or_else(|| format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/')));
        Self { issuer: issuer.to_string(), discovery_url, client }
    }
}

#[derive(serde::Deserialize)]
struct Discovery {
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    jwks_uri: String,
}

#[async_trait::async_trait]
impl JwksSource for DiscoverySource {
    async fn fetch(&self) -> Result<Vec<VerifyKey>, String> {
        let accept = [("accept", "application/json")];
        let resp = self.client.get(&self.discovery_url, &accept).await.map_err(|e| e.to_string())?;
        if !resp.status.is_success() {
            return Err(format!("{}: {}", self.discovery_url, resp.status));
        }
        let doc: Discovery =
            serde_json::from_slice(&resp.body).map_err(|e| format!("{}: {e}", self.discovery_url))?;
        if doc.issuer != self.issuer {
            return Err(format!(
                "oidc: issuer did not match the issuer returned by provider, expected {:?} got {:?}",
                self.issuer, doc.issuer
            ));
        }
        if doc.jwks_uri.is_empty() {
            return Err(format!("{}: no jwks_uri", self.discovery_url));
        }
        let resp = self.client.get(&doc.jwks_uri, &accept).await.map_err(|e| e.to_string())?;
        if !resp.status.is_success() {
            return Err(format!("{}: {}", doc.jwks_uri, resp.status));
        }
        let set: JwkSet = serde_json::from_slice(&resp.body).map_err(|e| format!("{}: {e}", doc.jwks_uri))?;
        Ok(set.keys.iter().filter_map(VerifyKey::from_jwk).collect())
    }
}

struct State {
    keys: Option<Arc<Vec<VerifyKey>>>,
    last_attempt: Option<Instant>,
    last_error: Option<String>,
    fetches: u64,
}

/// The cached keys of one issuer.
pub struct RemoteKeySet {
    source: Box<dyn JwksSource>,
    min_refetch_interval: Duration,
    state: std::sync::Mutex<State>,
    fetching: tokio::sync::Mutex<()>,
}

/// Why no key verified a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyLookupError {
    /// Keys have never been fetched successfully.
    NotInitialized(String),
    /// No key (after a refetch when allowed) verifies the signature.
    NoMatch,
}

impl RemoteKeySet {
    pub fn new(source: Box<dyn JwksSource>, min_refetch_interval: Duration) -> Self {
        Self {
            source,
            min_refetch_interval,
            state: std::sync::Mutex::new(State {
                keys: None,
                last_attempt: None,
                last_error: None,
                fetches: 0,
            }),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many fetches were attempted (for tests and metrics).
    pub fn fetches(&self) -> u64 {
        self.state().fetches
    }

    /// Whether keys are loaded.
    pub fn is_ready(&self) -> bool {
        self.state().keys.is_some()
    }

    /// Fetches now unless another fetch finished less than the minimum interval ago (or
    /// `force`). Returns the fetch error, if a fetch was made and failed.
    pub async fn refresh(&self, force: bool) -> Result<(), String> {
        let started = Instant::now();
        let _guard = self.fetching.lock().await;
        {
            let st = self.state();
            if let Some(last) = st.last_attempt {
                // Someone fetched while we waited for the lock: use their result.
                if last >= started {
                    return st.last_error.clone().map_or(Ok(()), Err);
                }
                if !force && last.elapsed() < self.min_refetch_interval {
                    return Ok(());
                }
            }
        }
        let result = self.source.fetch().await;
        let mut st = self.state();
        st.last_attempt = Some(Instant::now());
        st.fetches += 1;
        match result {
            Ok(keys) => {
                st.keys = Some(Arc::new(keys));
                st.last_error = None;
                Ok(())
            }
            Err(e) => {
                st.last_error = Some(e.clone());
                Err(e)
            }
        }
    }

    fn try_verify(&self, kid: Option<&str>, alg: SigningAlg, input: &[u8], sig: &[u8]) -> Option<bool> {
        let keys = self.state().keys.clone()?;
        let mut candidates = keys.iter().filter(|k| k.fits(alg)).filter(|k| match kid {
            Some(kid) => k.kid() == Some(kid),
            None => true,
        });
        Some(candidates.any(|k| k.verify(alg, input, sig)))
    }

    /// Verifies a signature with the key named `kid` (any fitting key when the token names
    /// none); on a miss the set is fetched again (rate-limited) and the check repeated.
    pub async fn verify(
        &self,
        kid: Option<&str>,
        alg: SigningAlg,
        input: &[u8],
        sig: &[u8],
    ) -> Result<(), KeyLookupError> {
        if self.try_verify(kid, alg, input, sig) == Some(true) {
            return Ok(());
        }
        let fetched = self.refresh(false).await;
        match self.try_verify(kid, alg, input, sig) {
            Some(true) => Ok(()),
            Some(false) => Err(KeyLookupError::NoMatch),
            None => Err(KeyLookupError::NotInitialized(
                fetched.err().or_else(|| self.state().last_error.clone()).unwrap_or_default(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Serves key sets from a list, one more of them on each fetch.
    struct Rotating {
        sets: Vec<Vec<VerifyKey>>,
        calls: AtomicUsize,
    }

    #[async_trait::async_trait]
    impl JwksSource for Rotating {
        async fn fetch(&self) -> Result<Vec<VerifyKey>, String> {
            let i = self.calls.fetch_add(1, Ordering::SeqCst);
            self.sets.get(i).cloned().ok_or_else(|| "provider down".to_string())
        }
    }

    fn ec_key(kid: &str) -> (ring::signature::EcdsaKeyPair, VerifyKey) {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING as ALG};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ALG, &rng).unwrap();
        let kp = EcdsaKeyPair::from_pkcs8(&ALG, pkcs8.as_ref(), &rng).unwrap();
        let p = kp.public_key().as_ref().to_vec();
        let jwk = super::super::jwt::Jwk {
            kty: "EC".into(),
            crv: Some("P-256".into()),
            x: Some(URL_SAFE_NO_PAD.encode(&p[1..33])),
            y: Some(URL_SAFE_NO_PAD.encode(&p[33..])),
            kid: Some(kid.into()),
            ..Default::default()
        };
        (kp, VerifyKey::from_jwk(&jwk).unwrap())
    }

    fn sign(kp: &ring::signature::EcdsaKeyPair, m: &[u8]) -> Vec<u8> {
        kp.sign(&ring::rand::SystemRandom::new(), m).unwrap().as_ref().to_vec()
    }

    #[tokio::test]
    async fn unknown_kid_refetches_at_most_once_per_interval() {
        let (k1, v1) = ec_key("k1");
        let (k2, v2) = ec_key("k2");
        let src = Rotating { sets: vec![vec![v1.clone()], vec![v1, v2]], calls: AtomicUsize::new(0) };
        let set = RemoteKeySet::new(Box::new(src), Duration::from_millis(200));
        assert!(!set.is_ready());
        let s1 = sign(&k1, b"a");
        assert_eq!(set.verify(Some("k1"), SigningAlg::ES256, b"a", &s1).await, Ok(()));
        assert_eq!(set.fetches(), 1);
        let s2 = sign(&k2, b"b");
        // Rotation happened but the last fetch is too recent: no refetch yet.
        assert_eq!(set.verify(Some("k2"), SigningAlg::ES256, b"b", &s2).await, Err(KeyLookupError::NoMatch));
        assert_eq!(set.fetches(), 1);
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(set.verify(Some("k2"), SigningAlg::ES256, b"b", &s2).await, Ok(()));
        assert_eq!(set.fetches(), 2);
        // Known kid: no fetch at all.
        assert_eq!(set.verify(Some("k1"), SigningAlg::ES256, b"a", &s1).await, Ok(()));
        assert_eq!(set.verify(None, SigningAlg::ES256, b"a", &s1).await, Ok(()));
        assert_eq!(set.fetches(), 2);
    }

    #[tokio::test]
    async fn unreachable_provider_is_not_initialized() {
        let set = RemoteKeySet::new(
            Box::new(Rotating { sets: vec![], calls: AtomicUsize::new(0) }),
            Duration::ZERO,
        );
        let e = set.verify(Some("k"), SigningAlg::RS256, b"a", b"s").await;
        assert_eq!(e, Err(KeyLookupError::NotInitialized("provider down".into())));
    }
}
