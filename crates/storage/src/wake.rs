//! Which watchers a commit wakes: only those whose prefix covers one of its keys. Both
//! backends use it: the embedded store's writer after each commit, the etcd watch cache's
//! reflector after each batch of etcd's events it applied.
//!
//! A server runs a watcher per informer and per client watch (the garbage collector alone
//! follows every served resource), and nearly every commit touches one resource. Waking every
//! watcher on every commit made each write pay for all of them: a task wake-up, the state's
//! read lock and a scan each. Watchers are kept by the resource part of their prefix
//! ([`memory::wake_bucket`]: `/registry/<group>/<resource>/`), so a commit looks at the
//! watchers of the resources it touched and wakes those whose prefix matches one of its keys;
//! the few watchers with a broader prefix are looked at on every commit.
//!
//! A watcher registers its [`Slot`] before its first scan and the writer (or reflector) picks
//! the slots to wake after publishing the commit, so a commit either finds the slot or is seen by that
//! scan. [`tokio::sync::Notify`] keeps a wake-up that comes while its watcher is busy.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use tokio::sync::Notify;

use crate::memory;

/// One watcher's wake-up.
pub(crate) struct Slot {
    prefix: String,
    pub(crate) notify: Notify,
}

#[derive(Default)]
struct Registry {
    /// Slots by the resource part of their prefix.
    buckets: HashMap<String, Vec<Weak<Slot>>>,
    /// Slots whose prefix is broader than one resource.
    broad: Vec<Weak<Slot>>,
}

/// The watchers of one store, and whether the store has closed.
#[derive(Default)]
pub(crate) struct Wakers {
    registry: Mutex<Registry>,
    closed: AtomicBool,
}

impl Wakers {
    /// A slot for a watcher of `prefix`, woken by commits under it from now on.
    pub(crate) fn register(&self, prefix: &str) -> Arc<Slot> {
        let slot = Arc::new(Slot { prefix: prefix.to_owned(), notify: Notify::new() });
        let mut reg = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        let list = match memory::wake_bucket(prefix) {
            Some(bucket) => reg.buckets.entry(bucket.to_owned()).or_default(),
            None => &mut reg.broad,
        };
        // Watchers that ended leave their slots here until a commit under them or a
        // registration sweeps them: at every power of two, so a sweep costs O(1) amortized.
        if list.len().is_power_of_two() {
            list.retain(|w| w.strong_count() > 0);
        }
        list.push(Arc::downgrade(&slot));
        slot
    }

    /// Wakes the watchers whose prefix covers one of `keys` (the keys of a commit that is
    /// already visible to readers), each once.
    pub(crate) fn wake<'a>(&self, keys: impl Iterator<Item = &'a str>) {
        let mut by_bucket: HashMap<&str, Vec<&str>> = HashMap::new();
        let mut all: Vec<&str> = Vec::new();
        for key in keys {
            if let Some(bucket) = memory::wake_bucket(key) {
                by_bucket.entry(bucket).or_default().push(key);
            }
            all.push(key);
        }
        let mut woken: Vec<Arc<Slot>> = Vec::new();
        {
            let mut reg = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
            let Registry { buckets, broad } = &mut *reg;
            for (bucket, keys) in &by_bucket {
                if let Some(list) = buckets.get_mut(*bucket) {
                    pick(list, keys, &mut woken);
                }
            }
            if !broad.is_empty() {
                pick(broad, &all, &mut woken);
            }
        }
        for slot in woken {
            slot.notify.notify_one();
        }
    }

    /// The store is closing: every watcher is woken to find it closed.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.wake_all();
    }

    /// Wakes every watcher, whatever its prefix: the state they read changed as a whole (the
    /// etcd cache dropped it to re-list).
    pub(crate) fn wake_all(&self) {
        let reg = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        for w in reg.buckets.values().flatten().chain(reg.broad.iter()) {
            if let Some(slot) = w.upgrade() {
                slot.notify.notify_one();
            }
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Slots held (live and not yet swept), and the live ones.
    #[cfg(test)]
    fn held(&self) -> (usize, usize) {
        let reg = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        let all: Vec<_> = reg.buckets.values().flatten().chain(reg.broad.iter()).collect();
        (all.len(), all.iter().filter(|w| w.strong_count() > 0).count())
    }
}

/// Adds to `woken` the live slots of `list` whose prefix covers one of `keys`, and drops the
/// dead ones.
fn pick(list: &mut Vec<Weak<Slot>>, keys: &[&str], woken: &mut Vec<Arc<Slot>>) {
    list.retain(|w| {
        let Some(slot) = w.upgrade() else { return false };
        if keys.iter().any(|k| k.starts_with(&slot.prefix)) {
            woken.push(slot);
        }
        true
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn woken(slot: &Slot) -> bool {
        tokio::time::timeout(Duration::from_millis(50), slot.notify.notified()).await.is_ok()
    }

    #[tokio::test]
    async fn a_commit_wakes_only_the_watchers_its_keys_fall_under() {
        let wakers = Wakers::default();
        let pods = wakers.register("/registry/core/pods/");
        let pods_ns = wakers.register("/registry/core/pods/a/");
        let pods_other_ns = wakers.register("/registry/core/pods/b/");
        let configmaps = wakers.register("/registry/core/configmaps/");
        let everything = wakers.register("/registry/");
        wakers.wake(["/registry/core/pods/a/web"].into_iter());
        assert!(woken(&pods).await);
        assert!(woken(&pods_ns).await);
        assert!(!woken(&pods_other_ns).await);
        assert!(!woken(&configmaps).await);
        assert!(woken(&everything).await);
        // A wake-up while the watcher is busy is kept for its next wait.
        wakers.wake(["/registry/core/configmaps/a/x", "/registry/core/configmaps/a/y"].into_iter());
        assert!(woken(&configmaps).await);
        assert!(!woken(&configmaps).await, "woken once per commit");
    }

    #[tokio::test]
    async fn ended_watchers_are_swept_and_close_wakes_the_rest() {
        let wakers = Wakers::default();
        let kept = wakers.register("/registry/core/pods/");
        for _ in 0..100 {
            drop(wakers.register("/registry/core/pods/"));
        }
        let (held, live) = wakers.held();
        assert_eq!(live, 1);
        assert!(held <= 2, "ended watchers' slots are swept: {held} held");
        wakers.wake(["/registry/core/pods/a/web"].into_iter());
        assert!(woken(&kept).await);
        assert!(!wakers.is_closed());
        wakers.close();
        assert!(wakers.is_closed());
        assert!(woken(&kept).await);
    }
}
