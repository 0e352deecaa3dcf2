//! A string-keyed hash table for the RBAC index: the hash is computed once by the caller
//! (and stored, so growth never rehashes a key), and keys are compared with
//! [`str_eq`], never through glibc's `memcmp` (slow on these machines, see `policy`).

use std::sync::Arc;

use hashbrown::hash_table::{Entry, HashTable};

use crate::policy::str_eq;

#[derive(Debug, Clone)]
struct Slot<V> {
    hash: u64,
    key: Arc<str>,
    value: V,
}

/// A map from strings to `V`, looked up by (precomputed hash, key).
#[derive(Debug, Clone)]
pub(crate) struct StrTable<V> {
    table: HashTable<Slot<V>>,
}

impl<V> Default for StrTable<V> {
    fn default() -> Self {
        Self { table: HashTable::new() }
    }
}

impl<V> StrTable<V> {
    #[inline]
    pub fn get(&self, hash: u64, key: &str) -> Option<&V> {
        self.table.find(hash, |s| s.hash == hash && str_eq(&s.key, key)).map(|s| &s.value)
    }

    pub fn get_mut(&mut self, hash: u64, key: &str) -> Option<&mut V> {
        self.table.find_mut(hash, |s| s.hash == hash && str_eq(&s.key, key)).map(|s| &mut s.value)
    }

    pub fn get_or_insert_with(&mut self, hash: u64, key: &str, make: impl FnOnce() -> V) -> &mut V {
        let entry = self.table.entry(hash, |s| s.hash == hash && str_eq(&s.key, key), |s| s.hash);
        match entry {
            Entry::Occupied(e) => &mut e.into_mut().value,
            Entry::Vacant(e) => &mut e.insert(Slot { hash, key: key.into(), value: make() }).into_mut().value,
        }
    }

    pub fn remove(&mut self, hash: u64, key: &str) -> Option<V> {
        let found = self.table.find_entry(hash, |s| s.hash == hash && str_eq(&s.key, key)).ok()?;
        Some(found.remove().0.value)
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_get_remove() {
        let mut t: StrTable<u32> = StrTable::default();
        *t.get_or_insert_with(1, "a", || 0) += 5;
        *t.get_or_insert_with(1, "b", || 7) += 1; // same hash, other key
        *t.get_or_insert_with(1, "a", || 0) += 1;
        *t.get_or_insert_with(2, "", || 9) += 0;
        assert_eq!(
            (t.get(1, "a"), t.get(1, "b"), t.get(2, ""), t.get(1, "c")),
            (Some(&6), Some(&8), Some(&9), None)
        );
        assert_eq!(t.get(2, "a"), None);
        if let Some(v) = t.get_mut(1, "b") {
            *v = 1;
        }
        assert_eq!(t.remove(1, "b"), Some(1));
        assert_eq!(t.remove(1, "b"), None);
        assert_eq!(t.len(), 2);
        assert!(!t.is_empty());
    }
}
