//! Token keys and the TTL cache of token results.
//!
//! A token is never kept: what is stored and compared is its SHA-256 ([`TokenKey`]).
//! [`TokenCache`] maps keys to results for a bounded time (kube's `tokencache`, which
//! kube-apiserver puts in front of its token authenticators and the webhook). Lookups are
//! sharded so that concurrent requests rarely contend.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// The SHA-256 of a token: the only form in which a token is held or compared.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenKey([u8; 32]);

impl TokenKey {
    pub fn of(token: &str) -> Self {
        // ring's SHA-256 uses the CPU's SHA extensions where present: this is the whole
        // cost of a cache hit for a ~1 KB JWT.
        let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
        let mut key = [0u8; 32];
        key.copy_from_slice(digest.as_ref());
        Self(key)
    }

    /// Constant-time equality, for the final check after a table lookup.
    pub fn ct_eq(&self, other: &TokenKey) -> bool {
        self.0.ct_eq(&other.0).into()
    }

    /// The first 8 bytes, for indexing tables of keys (uniformly distributed).
    pub fn prefix(&self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.0[..8]);
        u64::from_le_bytes(b)
    }

    fn shard(&self) -> usize {
        usize::from(self.0[0]) % SHARDS
    }
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

const SHARDS: usize = 16;

/// A TTL cache of results keyed by token hash, with at most `max_entries` entries.
pub struct TokenCache<V> {
    shards: Vec<Mutex<HashMap<TokenKey, (Instant, V)>>>,
    ttl: Duration,
    max_per_shard: usize,
}

impl<V: Clone> TokenCache<V> {
    /// Entries live for `ttl` unless inserted with a shorter one.
    pub fn new(ttl: Duration, max_entries: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            ttl,
            max_per_shard: max_entries.div_ceil(SHARDS).max(1),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The cached value, if present and not expired.
    pub fn get(&self, key: &TokenKey) -> Option<V> {
        let shard = self.shards.get(key.shard())?;
        let map = shard.lock().unwrap_or_else(|p| p.into_inner());
        let (deadline, value) = map.get(key)?;
        (Instant::now() < *deadline).then(|| value.clone())
    }

    /// Stores a value for the cache's TTL, or for `ttl` when that is shorter (a token that
    /// expires sooner must not outlive its expiry here).
    pub fn insert(&self, key: TokenKey, value: V, ttl: Option<Duration>) {
        let ttl = ttl.map_or(self.ttl, |t| t.min(self.ttl));
        if ttl.is_zero() {
            return;
        }
        let Some(shard) = self.shards.get(key.shard()) else { return };
        let mut map = shard.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if map.len() >= self.max_per_shard && !map.contains_key(&key) {
            map.retain(|_, (deadline, _)| *deadline > now);
            if map.len() >= self.max_per_shard {
                // Still full of live entries: drop the one closest to expiry.
                if let Some(victim) = map.iter().min_by_key(|(_, (d, _))| *d).map(|(k, _)| *k) {
                    map.remove(&victim);
                }
            }
        }
        map.insert(key, (now + ttl, value));
    }

    /// Forgets one token's result.
    pub fn remove(&self, key: &TokenKey) {
        if let Some(shard) = self.shards.get(key.shard()) {
            shard.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
        }
    }

    /// Number of entries, expired ones included until they are swept.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_a_hash_and_debug_hides_it() {
        let k = TokenKey::of("secret-token");
        assert_eq!(k, TokenKey::of("secret-token"));
        assert_ne!(k, TokenKey::of("secret-tokeN"));
        assert!(k.ct_eq(&TokenKey::of("secret-token")));
        assert_eq!(format!("{k:?}"), "TokenKey(..)");
    }

    #[test]
    fn entries_expire_and_shorter_ttl_wins() {
        let c = TokenCache::new(Duration::from_millis(200), 100);
        c.insert(TokenKey::of("a"), 1, None);
        c.insert(TokenKey::of("b"), 2, Some(Duration::from_millis(1)));
        c.insert(TokenKey::of("z"), 3, Some(Duration::ZERO));
        assert_eq!(c.get(&TokenKey::of("a")), Some(1));
        assert_eq!(c.get(&TokenKey::of("z")), None, "zero ttl is not stored");
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(c.get(&TokenKey::of("b")), None);
        assert_eq!(c.get(&TokenKey::of("a")), Some(1));
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(c.get(&TokenKey::of("a")), None);
        c.remove(&TokenKey::of("a"));
    }

    #[test]
    fn size_is_bounded() {
        let c = TokenCache::new(Duration::from_secs(60), 32);
        for i in 0..1000 {
            c.insert(TokenKey::of(&i.to_string()), i, None);
        }
        assert!(c.len() <= 32, "{}", c.len());
        assert_eq!(c.get(&TokenKey::of("999")), Some(999), "the newest entry is kept");
    }
}
