//! What is computed from one watch event once and shared by every watcher that receives it:
//! kube's watch cache wraps each event's object in a `cachingObject`, which serializes it once
//! per encoder and hands the same bytes to every watcher asking for that encoding. Here the
//! store gives each event an [`EventCache`]; every copy of the event (one per watcher, as the
//! history hands it out) shares it, and the caller keeps in it whatever it derives from the
//! event (a wire encoding, a decoded or converted object) under a key of its own.
//!
//! Bounded: at most [`MAX_ENTRIES`] results per event, and the history keeps results only for
//! its newest events (`memory.rs` retires the cache of older ones: a watcher replaying old
//! history computes for itself, as it did before, and nothing is kept for it).

use std::any::Any;
use std::sync::{Arc, Mutex, PoisonError};

/// The most results one event keeps (each wire format, shape and version watched at once takes
/// one); past it, results are computed and not kept.
pub const MAX_ENTRIES: usize = 16;

/// What a cached result is, as the caller names it. Equal keys must mean equal results for the
/// same event: `owner` says for what the result is computed (kubeward's apiserver uses its
/// resource type, so two versions of one resource never share), `shape` which result it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// Whose result: an identity the caller chooses.
    pub owner: usize,
    /// Which result of that owner.
    pub shape: u64,
}

type Slot = (CacheKey, Arc<dyn Any + Send + Sync>);

#[derive(Default)]
struct Slots {
    entries: Vec<Slot>,
    /// Set once the history no longer keeps results for this event.
    retired: bool,
}

/// The results derived from one event, shared by every copy of it. Cloning shares; it never
/// makes two events differ (`PartialEq` ignores it).
#[derive(Clone, Default)]
pub struct EventCache(Arc<Mutex<Slots>>);

impl EventCache {
    /// A new, empty cache.
    pub fn new() -> EventCache {
        EventCache::default()
    }

    /// The result under `key`, computed by `make` the first time it is asked for. `make` runs
    /// outside the cache's lock (it may itself read this cache); when two watchers compute the
    /// same result at once, the first one stored wins and both get it.
    pub fn get_or_insert_with<T, F>(&self, key: CacheKey, make: F) -> Arc<T>
    where
        T: Any + Send + Sync,
        F: FnOnce() -> T,
    {
        if let Some(found) = self.get::<T>(key) {
            return found;
        }
        let made = Arc::new(make());
        let mut slots = self.lock();
        if let Some(found) = find::<T>(&slots.entries, key) {
            return found;
        }
        if !slots.retired && slots.entries.len() < MAX_ENTRIES {
            slots.entries.push((key, made.clone()));
        }
        made
    }

    /// The result under `key`, if one of type `T` is kept.
    pub fn get<T: Any + Send + Sync>(&self, key: CacheKey) -> Option<Arc<T>> {
        find(&self.lock().entries, key)
    }

    /// How many results are kept.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether no result is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every result and keeps none from now on (the history retires an older event).
    pub(crate) fn retire(&self) {
        let mut slots = self.lock();
        slots.retired = true;
        slots.entries = Vec::new();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        // A panic while the lock was held left the slots as they were before or after one push:
        // both are consistent, so a poisoned lock is used as is.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn find<T: Any + Send + Sync>(entries: &[Slot], key: CacheKey) -> Option<Arc<T>> {
    entries.iter().find(|(k, _)| *k == key).and_then(|(_, v)| Arc::clone(v).downcast::<T>().ok())
}

impl PartialEq for EventCache {
    /// Always equal: the cache holds only what is derived from the event itself.
    fn eq(&self, _: &EventCache) -> bool {
        true
    }
}

impl std::fmt::Debug for EventCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventCache").field("entries", &self.len()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const A: CacheKey = CacheKey { owner: 1, shape: 1 };
    const B: CacheKey = CacheKey { owner: 1, shape: 2 };

    #[test]
    fn a_result_is_computed_once_and_shared_by_every_copy() {
        let cache = EventCache::new();
        let copy = cache.clone();
        let calls = AtomicUsize::new(0);
        let make = || {
            calls.fetch_add(1, Ordering::Relaxed);
            bytes::Bytes::from_static(b"line")
        };
        let first = cache.get_or_insert_with(A, make);
        let second = copy.get_or_insert_with(A, make);
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(calls.load(Ordering::Relaxed), 1);
        assert_eq!(copy.get_or_insert_with(B, || bytes::Bytes::from_static(b"other")).as_ref(), "other");
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn a_key_holding_another_type_is_computed_not_confused() {
        let cache = EventCache::new();
        cache.get_or_insert_with(A, || 7u32);
        assert_eq!(*cache.get_or_insert_with(A, || String::from("s")), "s");
        assert_eq!(*cache.get_or_insert_with(A, || 9u32), 7);
    }

    #[test]
    fn entries_are_bounded_and_a_retired_cache_keeps_nothing() {
        let cache = EventCache::new();
        for shape in 0..(MAX_ENTRIES as u64 + 5) {
            assert_eq!(*cache.get_or_insert_with(CacheKey { owner: 0, shape }, || shape), shape);
        }
        assert_eq!(cache.len(), MAX_ENTRIES);
        cache.retire();
        assert!(cache.is_empty());
        assert_eq!(*cache.get_or_insert_with(A, || 3u8), 3);
        assert!(cache.is_empty());
    }
}
