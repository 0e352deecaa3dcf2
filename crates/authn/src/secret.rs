//! Secrets (bearer tokens) as keys of tables, found without hashing them cryptographically.
//!
//! A cache hit used to cost a SHA-256 of the token (about 450 ns for a 1 KB service-account
//! JWT, most of an authenticated request's authentication). Here a token is found by a keyed
//! hash (aHash with a random per-process key, so nobody outside can aim tokens at one bucket)
//! and then confirmed by comparing the whole token in constant time: a 1 KB token costs tens of
//! nanoseconds either way.
//!
//! The price is that a table holds the tokens themselves, not their hashes. The security
//! argument: the process that holds them also holds what mints them (the service-account
//! signing key, the CA keys, the token file's own plain text), so reading its memory already
//! gives away more than the cached tokens; the tokens live only for the cache's TTL (the
//! token's own expiry at most), never leave the process, are never logged (`Debug` prints no
//! byte of them), and are wiped from memory when an entry goes. The comparison that decides
//! is constant-time; the bucket lookup before it depends only on the keyed hash.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

/// Whether `a` and `b` are the same bytes, in time that depends only on their lengths.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (a_words, a_rest) = a.as_chunks::<8>();
    let (b_words, b_rest) = b.as_chunks::<8>();
    let mut acc = 0u64;
    for (x, y) in a_words.iter().zip(b_words) {
        acc |= u64::from_ne_bytes(*x) ^ u64::from_ne_bytes(*y);
    }
    for (x, y) in a_rest.iter().zip(b_rest) {
        acc |= u64::from(x ^ y);
    }
    acc.ct_eq(&0).into()
}

/// A token held as a key: wiped when dropped, never printed.
pub struct Secret(Box<[u8]>);

impl Secret {
    pub fn new(bytes: &[u8]) -> Self {
        Self(bytes.into())
    }

    /// Constant-time comparison with a presented token.
    pub fn matches(&self, presented: &[u8]) -> bool {
        ct_eq(&self.0, presented)
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// The keyed hash that places secrets in tables (one random key per table).
#[derive(Clone, Default)]
pub struct SecretHasher(ahash::RandomState);

impl SecretHasher {
    pub fn hash(&self, secret: &[u8]) -> u64 {
        self.0.hash_one(secret)
    }
}

/// Hashes of secrets are already uniformly distributed: the buckets use them as they are.
#[derive(Default)]
pub struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Entries by the keyed hash of their secret (almost always one per hash).
pub type Buckets<V> = HashMap<u64, Vec<(Secret, V)>, BuildHasherDefault<IdentityHasher>>;

/// The entry of `secret` in its bucket, compared in constant time with every entry there.
pub fn find<'a, V>(buckets: &'a Buckets<V>, hash: u64, secret: &[u8]) -> Option<&'a V> {
    let mut found = None;
    for (s, v) in buckets.get(&hash)? {
        if s.matches(secret) {
            found = Some(v);
        }
    }
    found
}

/// A fixed table of secrets (the token file's tokens).
pub struct SecretMap<V> {
    hasher: SecretHasher,
    buckets: Buckets<V>,
    len: usize,
}

impl<V> Default for SecretMap<V> {
    fn default() -> Self {
        Self { hasher: SecretHasher::default(), buckets: Buckets::default(), len: 0 }
    }
}

impl<V> SecretMap<V> {
    /// Adds or replaces the value of `secret`; returns whether it replaced one.
    pub fn insert(&mut self, secret: &[u8], value: V) -> bool {
        let bucket = self.buckets.entry(self.hasher.hash(secret)).or_default();
        if let Some(slot) = bucket.iter_mut().find(|(s, _)| s.matches(secret)) {
            slot.1 = value;
            return true;
        }
        bucket.push((Secret::new(secret), value));
        self.len += 1;
        false
    }

    pub fn get(&self, secret: &[u8]) -> Option<&V> {
        find(&self.buckets, self.hasher.hash(secret), secret)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_equality_is_equality() {
        let long: Vec<u8> = (0..1031u32).map(|i| (i % 251) as u8).collect();
        assert!(ct_eq(&long, &long.clone()));
        for at in [0, 7, 8, 500, 1024, 1030] {
            let mut other = long.clone();
            other[at] ^= 1;
            assert!(!ct_eq(&long, &other), "differs at {at}");
        }
        assert!(!ct_eq(&long, &long[..1030]));
        assert!(ct_eq(b"", b""));
        assert!(!ct_eq(b"a", b""));
    }

    #[test]
    fn maps_find_their_secrets_only() {
        let mut m = SecretMap::default();
        assert!(!m.insert(b"token-a", 1));
        assert!(!m.insert(b"token-b", 2));
        assert!(m.insert(b"token-a", 3), "a second insert replaces");
        assert_eq!(m.len(), 2);
        assert_eq!(m.get(b"token-a"), Some(&3));
        assert_eq!(m.get(b"token-b"), Some(&2));
        assert_eq!(m.get(b"token-c"), None);
        assert_eq!(m.get(b"token-"), None);
        assert_eq!(format!("{:?}", Secret::new(b"token-a")), "Secret(..)");
    }

    #[test]
    fn one_bucket_holds_colliding_secrets_apart() {
        // Two secrets forced into one bucket: each still finds only its own value.
        let mut b: Buckets<u32> = Buckets::default();
        b.entry(7).or_default().push((Secret::new(b"one"), 1));
        b.entry(7).or_default().push((Secret::new(b"two"), 2));
        assert_eq!(find(&b, 7, b"one"), Some(&1));
        assert_eq!(find(&b, 7, b"two"), Some(&2));
        assert_eq!(find(&b, 7, b"three"), None);
        assert_eq!(find(&b, 8, b"one"), None);
    }
}
