//! Token keys and the TTL cache of token results.
//!
//! [`TokenCache`] maps presented tokens to results for a bounded time (kube's `tokencache`,
//! which kube-apiserver puts in front of its token authenticators and the webhook). A token is
//! found by a keyed hash and confirmed in constant time ([`crate::secret`], which says why the
//! cache holds tokens rather than their SHA-256). Lookups are sharded so that concurrent
//! requests rarely contend. [`TokenKey`] (a SHA-256) remains for passwords, which are compared,
//! never cached.

use crate::secret::{find, Buckets, Secret, SecretHasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// The SHA-256 of a secret: the form in which passwords are held and compared.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenKey([u8; 32]);

impl TokenKey {
    pub fn of(token: &str) -> Self {
        let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
        let mut key = [0u8; 32];
        key.copy_from_slice(digest.as_ref());
        Self(key)
    }

    /// Constant-time equality.
    pub fn ct_eq(&self, other: &TokenKey) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

const SHARDS: usize = 16;

/// A TTL cache of results keyed by token, with at most `max_entries` entries.
pub struct TokenCache<V> {
    hasher: SecretHasher,
    shards: Vec<Mutex<Buckets<(Instant, V)>>>,
    ttl: Duration,
    max_per_shard: usize,
}

impl<V: Clone> TokenCache<V> {
    /// Entries live for `ttl` unless inserted with a shorter one.
    pub fn new(ttl: Duration, max_entries: usize) -> Self {
        Self {
            hasher: SecretHasher::default(),
            shards: (0..SHARDS).map(|_| Mutex::new(Buckets::default())).collect(),
            ttl,
            max_per_shard: max_entries.div_ceil(SHARDS).max(1),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The shard of a hash: its top bits (the buckets inside use all of it).
    fn shard(&self, hash: u64) -> Option<&Mutex<Buckets<(Instant, V)>>> {
        self.shards.get((hash >> 60) as usize % SHARDS)
    }

    /// The cached value of `token`, if present and not expired.
    pub fn get(&self, token: &[u8]) -> Option<V> {
        let hash = self.hasher.hash(token);
        let map = self.shard(hash)?.lock().unwrap_or_else(|p| p.into_inner());
        let (deadline, value) = find(&map, hash, token)?;
        (Instant::now() < *deadline).then(|| value.clone())
    }

    /// Stores a value for the cache's TTL, or for `ttl` when that is shorter (a token that
    /// expires sooner must not outlive its expiry here).
    pub fn insert(&self, token: &[u8], value: V, ttl: Option<Duration>) {
        let ttl = ttl.map_or(self.ttl, |t| t.min(self.ttl));
        if ttl.is_zero() {
            return;
        }
        let hash = self.hasher.hash(token);
        let Some(shard) = self.shard(hash) else { return };
        let mut map = shard.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if let Some(slot) = map.get_mut(&hash).and_then(|b| b.iter_mut().find(|(s, _)| s.matches(token))) {
            slot.1 = (now + ttl, value);
            return;
        }
        if entries(&map) >= self.max_per_shard {
            map.retain(|_, bucket| {
                bucket.retain(|(_, (deadline, _))| *deadline > now);
                !bucket.is_empty()
            });
            if entries(&map) >= self.max_per_shard {
                // Still full of live entries: drop the one closest to expiry.
                let victim = map
                    .iter()
                    .flat_map(|(h, b)| b.iter().enumerate().map(move |(i, (_, (d, _)))| (*d, *h, i)))
                    .min();
                if let Some((_, h, i)) = victim {
                    if let Some(bucket) = map.get_mut(&h) {
                        bucket.swap_remove(i);
                        if bucket.is_empty() {
                            map.remove(&h);
                        }
                    }
                }
            }
        }
        map.entry(hash).or_default().push((Secret::new(token), (now + ttl, value)));
    }

    /// Forgets one token's result.
    pub fn remove(&self, token: &[u8]) {
        let hash = self.hasher.hash(token);
        if let Some(shard) = self.shard(hash) {
            let mut map = shard.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(bucket) = map.get_mut(&hash) {
                bucket.retain(|(s, _)| !s.matches(token));
                if bucket.is_empty() {
                    map.remove(&hash);
                }
            }
        }
    }

    /// Number of entries, expired ones included until they are swept.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| entries(&s.lock().unwrap_or_else(|p| p.into_inner()))).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn entries<V>(map: &Buckets<V>) -> usize {
    map.values().map(Vec::len).sum()
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
        c.insert(b"a", 1, None);
        c.insert(b"b", 2, Some(Duration::from_millis(1)));
        c.insert(b"z", 3, Some(Duration::ZERO));
        assert_eq!(c.get(b"a"), Some(1));
        assert_eq!(c.get(b"z"), None, "zero ttl is not stored");
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(c.get(b"b"), None);
        assert_eq!(c.get(b"a"), Some(1));
        assert_eq!(c.get(b"a\0"), None);
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(c.get(b"a"), None);
        c.remove(b"a");
        assert_eq!(c.len(), 1, "the expired entry of b stays until it is swept");
    }

    #[test]
    fn a_second_insert_replaces_and_remove_forgets() {
        let c = TokenCache::new(Duration::from_secs(60), 100);
        c.insert(b"token", 1, None);
        c.insert(b"token", 2, None);
        assert_eq!((c.get(b"token"), c.len()), (Some(2), 1));
        c.insert(b"other", 3, None);
        c.remove(b"token");
        assert_eq!((c.get(b"token"), c.get(b"other"), c.len()), (None, Some(3), 1));
    }

    #[test]
    fn size_is_bounded() {
        let c = TokenCache::new(Duration::from_secs(60), 32);
        for i in 0..1000 {
            c.insert(i.to_string().as_bytes(), i, None);
        }
        assert!(c.len() <= 32, "{}", c.len());
        assert_eq!(c.get(b"999"), Some(999), "the newest entry is kept");
    }
}
