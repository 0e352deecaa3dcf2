//! Key mapping between the store's keys and etcd's: the configured key prefix, prefix ranges
//! (`[prefix, prefix_end)`), and where a paged list starts.
//!
//! etcd keys are bytes ordered bytewise, as the store's `str` keys are (UTF-8 preserves byte order),
//! so a store prefix scan is one etcd range.

use crate::store::StoreError;

/// The key prefix of one [`super::EtcdStore`], prepended to every key it sends to etcd.
#[derive(Debug, Clone)]
pub(crate) struct KeySpace {
    prefix: Vec<u8>,
}

/// A half-open etcd key range `[key, end)`. An `end` of `[0]` means "every key from `key` on",
/// etcd's convention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyRange {
    pub key: Vec<u8>,
    pub end: Vec<u8>,
}

impl KeyRange {
    /// True when the range holds no key at all (its start is at or past its end).
    pub fn is_empty(&self) -> bool {
        self.end != [0] && self.key >= self.end
    }
}

impl KeySpace {
    pub fn new(prefix: &str) -> KeySpace {
        KeySpace { prefix: prefix.as_bytes().to_vec() }
    }

    /// The etcd key of a store key.
    pub fn key(&self, key: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.prefix.len() + key.len());
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(key.as_bytes());
        out
    }

    /// Every etcd key that starts with the store prefix `prefix`.
    pub fn prefix_range(&self, prefix: &str) -> KeyRange {
        let key = self.key(prefix);
        if key.is_empty() {
            // etcd has no empty key: "\0" onwards is everything.
            return KeyRange { key: vec![0], end: vec![0] };
        }
        let end = prefix_end(&key);
        KeyRange { key, end }
    }

    /// The keys under `prefix` strictly after `start_after` (which may lie outside the prefix).
    pub fn list_range(&self, prefix: &str, start_after: Option<&str>) -> KeyRange {
        let mut range = self.prefix_range(prefix);
        if let Some(after) = start_after {
            // The smallest key greater than `after` is `after` + "\0".
            let mut next = self.key(after);
            next.push(0);
            if next > range.key {
                range.key = next;
            }
        }
        range
    }

    /// True when the etcd key `key` lies in this key space.
    pub fn contains(&self, key: &[u8]) -> bool {
        key.starts_with(&self.prefix)
    }

    /// One key to read when only a response header is wanted: the first key of the key space.
    pub fn probe_key(&self) -> Vec<u8> {
        self.prefix_range("").key
    }

    /// The store key of an etcd key, which must lie under this prefix and be UTF-8.
    pub fn strip(&self, key: Vec<u8>) -> Result<String, StoreError> {
        let Some(rest) = key.strip_prefix(self.prefix.as_slice()) else {
            return Err(StoreError::Internal(format!(
                "etcd returned the key `{}` outside the prefix `{}`",
                String::from_utf8_lossy(&key),
                String::from_utf8_lossy(&self.prefix)
            )));
        };
        let rest = rest.to_vec();
        String::from_utf8(rest).map_err(|err| {
            StoreError::Internal(format!(
                "etcd holds a key that is not UTF-8: `{}`",
                String::from_utf8_lossy(err.as_bytes())
            ))
        })
    }
}

/// The smallest key greater than every key starting with `prefix`: the prefix with its last byte
/// that is not 0xff incremented and everything after it dropped; `[0]` (no end) when every byte
/// is 0xff.
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn prefix_end_increments_the_last_byte_that_can_be() {
        assert_eq!(prefix_end(b"/a/"), b"/a0".to_vec());
        assert_eq!(prefix_end(b"a\xff"), b"b".to_vec());
        assert_eq!(prefix_end(b"\xff\xff"), vec![0]);
    }

    #[test]
    fn the_key_prefix_is_prepended_and_stripped() {
        let space = KeySpace::new("/kw");
        assert_eq!(space.key("/registry/x"), b"/kw/registry/x".to_vec());
        assert_eq!(space.strip(b"/kw/registry/x".to_vec()).unwrap(), "/registry/x");
        assert!(matches!(space.strip(b"/other".to_vec()), Err(StoreError::Internal(_))));
        assert!(matches!(space.strip(b"/kw\xff".to_vec()), Err(StoreError::Internal(_))));
    }

    #[test]
    fn the_empty_prefix_covers_every_key() {
        let all = KeySpace::new("").prefix_range("");
        assert_eq!(all, KeyRange { key: vec![0], end: vec![0] });
        assert!(!all.is_empty());
        let scoped = KeySpace::new("/kw/").prefix_range("");
        assert_eq!(scoped, KeyRange { key: b"/kw/".to_vec(), end: b"/kw0".to_vec() });
    }

    #[test]
    fn list_starts_after_start_after_but_never_before_the_prefix() {
        let space = KeySpace::new("");
        let r = space.list_range("/a/", Some("/a/m"));
        assert_eq!(r.key, b"/a/m\0".to_vec());
        assert_eq!(r.end, b"/a0".to_vec());
        // Before the prefix: the whole prefix.
        assert_eq!(space.list_range("/a/", Some("/")).key, b"/a/".to_vec());
        // Past the prefix: nothing.
        assert!(space.list_range("/a/", Some("/b")).is_empty());
        assert!(!space.list_range("/a/", Some("/a/z")).is_empty());
    }
}
