//! Caps on long-lived things counted per key and in total: watches per user and in all,
//! connections per client address and in all. Taking one is a lock on a small map (once per
//! watch or connection, never per request); the returned [`Slot`] gives it back on drop.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// Counts held per key, bounded per key and in total.
pub struct Counted<K: Eq + Hash + Clone> {
    per_key: usize,
    total: usize,
    held: Mutex<(usize, HashMap<K, usize>)>,
}

/// Which cap refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    /// The key holds its most already.
    PerKey,
    /// All keys together hold the most.
    Total,
}

/// One held count; dropping it gives it back.
pub struct Slot<K: Eq + Hash + Clone> {
    owner: Arc<Counted<K>>,
    key: K,
}

impl<K: Eq + Hash + Clone> Counted<K> {
    pub fn new(per_key: usize, total: usize) -> Arc<Self> {
        Arc::new(Self { per_key: per_key.max(1), total: total.max(1), held: Mutex::default() })
    }

    /// One count for `key`, or which cap it would pass.
    pub fn take(self: &Arc<Self>, key: K) -> Result<Slot<K>, Over> {
        let mut held = self.lock();
        if held.0 >= self.total {
            return Err(Over::Total);
        }
        let n = held.1.entry(key.clone()).or_insert(0);
        if *n >= self.per_key {
            return Err(Over::PerKey);
        }
        *n += 1;
        held.0 += 1;
        Ok(Slot { owner: self.clone(), key })
    }

    /// Counts held in all.
    pub fn total_held(&self) -> usize {
        self.lock().0
    }

    /// Counts `key` holds.
    pub fn held_by(&self, key: &K) -> usize {
        self.lock().1.get(key).copied().unwrap_or(0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (usize, HashMap<K, usize>)> {
        // Both counts change together under the lock, before anything that could panic.
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<K: Eq + Hash + Clone> Drop for Slot<K> {
    fn drop(&mut self) {
        let mut held = self.owner.lock();
        held.0 = held.0.saturating_sub(1);
        if let Some(n) = held.1.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                held.1.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_key_and_in_total() {
        let c = Counted::<String>::new(2, 3);
        let a1 = c.take("a".into()).unwrap();
        let _a2 = c.take("a".into()).unwrap();
        assert_eq!(c.take("a".into()).err(), Some(Over::PerKey));
        let _b1 = c.take("b".into()).unwrap();
        assert_eq!(c.take("c".into()).err(), Some(Over::Total));
        drop(a1);
        assert_eq!(c.held_by(&"a".to_string()), 1);
        let _c1 = c.take("c".into()).unwrap();
        assert_eq!(c.total_held(), 3);
    }
}
