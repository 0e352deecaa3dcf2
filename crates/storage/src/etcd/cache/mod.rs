//! The watch cache (kube-apiserver's cacher): every key of the store's key space and the recent
//! history in memory, kept by one list and one watch, so reads do not go to etcd.
//!
//! A reflector task lists the key space at one revision, then watches *every* key of etcd from
//! the next revision on: the events of the key space update the objects and the history, the
//! others only the revision. Since every revision etcd hands out has at least one event, the
//! cache reaches any revision etcd has answered, whatever else writes to the cluster. That is
//! what makes a consistent read from the cache sound without etcd's progress notifications,
//! which etcd before 3.4.25 / 3.5.8 can send ahead of the events they cover (etcd#15220): a
//! consistent read takes a revision from a quorum read (`fresh`, kube's
//! `ConsistentListFromCache`) and is answered once the cache has applied every event up to it.
//!
//! Reads and watches wait (up to 5 s) for the cache's first list, as kube's wait for its
//! cacher to initialize, so a starting server's informers are served by it too. When the cache
//! is not ready after that (re-listing after a broken or compacted watch), or does not reach
//! the revision in time, the read goes to etcd, as before the cache: answers never depend on
//! the cache being healthy. A watch the cluster refuses (etcd RBAC restricting this client to
//! its prefix) turns the cache off, with one warning.
//!
//! Lists at a past revision (continue tokens, `resourceVersionMatch=Exact`) and watches are
//! served from the kept history when it reaches back far enough (module `watch` for watches);
//! the store asks etcd first whether the revision is still in etcd's own history, so `Compacted`
//! and `FutureRevision` come exactly when they would without the cache, whoever compacted.

mod reflector;
mod watch;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use super::Conn;
use crate::memory::{HistoryLimits, State};
use crate::store::{Revision, WatchStream};
use crate::wake::Wakers;

/// How long a consistent read waits for the cache to reach its revision before etcd answers it.
/// The events of an acknowledged write are on their way when its answer is: this is only hit
/// when the watch lags or is broken. kube's cacher waits 3 s (`blockTimeout` of
/// `waitUntilFreshAndBlock`); 1 s was missed on a loaded machine by a cache that was only slow.
const FRESH_WAIT: Duration = Duration::from_secs(3);

/// How long reads and watches wait for the cache's first list before etcd answers them.
const STARTUP_WAIT: Duration = Duration::from_secs(5);

/// Keys per range request of the initial list.
const LIST_PAGE: i64 = 10_000;

/// Re-list backoff after a failure.
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The most bytes of history kept (keys and values, roughly).
const HISTORY_BYTES: usize = 128 << 20;

/// One list's state, and which list it came from: a watcher that started on one list's
/// history cannot go on in the next (the events in between are not known).
pub(crate) struct Listed {
    pub state: State,
    pub generation: u64,
}

/// What the reflector, the readers and the watchers share.
pub(crate) struct Shared {
    /// `None` while (re)listing.
    state: RwLock<Option<Listed>>,
    /// Every event up to this revision is applied; 0 while the cache is not ready. Consistent
    /// reads wait on it.
    seen: tokio::sync::watch::Sender<Revision>,
    /// The watchers, woken by the events under their prefix (crate module `wake`), all of them
    /// when the state is dropped, and closed with the cache.
    wakers: Wakers,
    /// Reads answered here, and reads handed to etcd.
    hits: AtomicU64,
    misses: AtomicU64,
    /// Lists of the key space done (the first and every re-list).
    lists: AtomicU64,
    /// Watches served from the cache.
    watches: AtomicU64,
    /// Of those, the ones that went on with an etcd watch (module `watch`).
    handed_over: AtomicU64,
    /// Set once the first list is in.
    ever_ready: AtomicBool,
    /// Set when etcd refused the cache's watch: every read goes to etcd.
    off: AtomicBool,
    /// History kept for watches and lists at a past revision.
    history: HistoryLimits,
}

impl Shared {
    /// The state for reading. Updates are whole (applied under the write lock without a panic
    /// path), so a poisoned lock still holds a consistent state.
    fn read(&self) -> RwLockReadGuard<'_, Option<Listed>> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Option<Listed>> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks the cache not ready: readers go to etcd until the next list is in.
    fn unready(&self) {
        *self.write() = None;
        self.seen.send_replace(0);
        self.wakers.wake_all();
    }
}

/// The watch cache of one [`super::EtcdStore`]; its reflector task ends when this is dropped.
pub(crate) struct Cache {
    shared: Arc<Shared>,
    conn: Conn,
    reflector: tokio::task::AbortHandle,
}

impl Drop for Cache {
    fn drop(&mut self) {
        self.reflector.abort();
        // Watchers hold the shared state, not the cache: they end with an error.
        self.shared.wakers.close();
    }
}

impl Cache {
    /// Starts the reflector: reads go to etcd until its first list is in.
    pub(crate) fn start(conn: Conn, history_events: usize) -> Cache {
        let (seen, _) = tokio::sync::watch::channel(0);
        let shared = Arc::new(Shared {
            state: RwLock::new(None),
            seen,
            wakers: Wakers::default(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            lists: AtomicU64::new(0),
            watches: AtomicU64::new(0),
            handed_over: AtomicU64::new(0),
            ever_ready: AtomicBool::new(false),
            off: AtomicBool::new(false),
            history: HistoryLimits { events: history_events, bytes: HISTORY_BYTES },
        });
        let reflector = tokio::spawn(reflector::reflect(conn.clone(), shared.clone())).abort_handle();
        Cache { shared, conn, reflector }
    }

    /// `read` on the cached state once it holds every event up to `rev`; `None` when the cache
    /// is not ready or does not get there within [`FRESH_WAIT`] (etcd answers then).
    pub(crate) async fn read<T>(&self, rev: Revision, read: impl FnOnce(&State) -> T) -> Option<T> {
        let answer = self.try_read(rev, read).await;
        self.count(answer.is_some());
        answer
    }

    async fn try_read<T>(&self, rev: Revision, read: impl FnOnce(&State) -> T) -> Option<T> {
        if !self.started().await {
            return None;
        }
        let mut seen = self.shared.seen.subscribe();
        let now = *seen.borrow_and_update();
        if now == 0 {
            return None;
        }
        if now < rev {
            let reached = seen.wait_for(|seen| *seen >= rev || *seen == 0);
            match tokio::time::timeout(FRESH_WAIT, reached).await {
                Ok(Ok(seen)) if *seen != 0 => {}
                _ => return None,
            }
        }
        let guard = self.shared.read();
        let state = &guard.as_ref()?.state;
        (state.revision >= rev).then(|| read(state))
    }

    /// Whether the cache is ready, after waiting up to [`STARTUP_WAIT`] for its first list when
    /// it has never been: what a server reads and watches as it starts (its informers) then
    /// comes from the cache too (a watch from a revision before the cache's first list could
    /// never be served by it). Once the cache has been ready, a re-list is not waited for.
    async fn started(&self) -> bool {
        if self.shared.ever_ready.load(Ordering::Acquire) {
            return true;
        }
        if self.shared.off.load(Ordering::Acquire) {
            return false;
        }
        let shared = &self.shared;
        let mut seen = shared.seen.subscribe();
        let first = seen.wait_for(|seen| *seen != 0 || shared.off.load(Ordering::Acquire));
        let _ = tokio::time::timeout(STARTUP_WAIT, first).await;
        shared.ever_ready.load(Ordering::Acquire)
    }

    /// [`Cache::read`] for a read at the past revision `rev`: `None` also when history does not
    /// reach back to it.
    pub(crate) async fn read_at<T>(&self, rev: Revision, read: impl FnOnce(&State) -> T) -> Option<T> {
        let answer =
            self.try_read(rev, |state| (rev >= state.compacted).then(|| read(state))).await.flatten();
        self.count(answer.is_some());
        answer
    }

    fn count(&self, hit: bool) {
        let counter = if hit { &self.shared.hits } else { &self.shared.misses };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The cache's counters.
    pub(crate) fn stats(&self) -> CacheStats {
        let shared = &self.shared;
        CacheStats {
            revision: *shared.seen.borrow(),
            hits: shared.hits.load(Ordering::Relaxed),
            misses: shared.misses.load(Ordering::Relaxed),
            lists: shared.lists.load(Ordering::Relaxed),
            watches: shared.watches.load(Ordering::Relaxed),
            handed_over: shared.handed_over.load(Ordering::Relaxed),
        }
    }

    /// Notes a compaction of etcd at `rev`: history at or below it is dropped here too.
    pub(crate) fn compacted(&self, rev: Revision) {
        if let Some(listed) = self.shared.write().as_mut() {
            listed.state.compact(rev);
        }
    }

    /// The events under `prefix` after `after`, from the cache's history; `None` when the
    /// cache is not ready, or its history does not reach back to `after`. A watcher the cache
    /// cannot serve any more goes on with an etcd watch (module `watch`).
    pub(crate) async fn watch(&self, prefix: &str, after: Revision) -> Option<WatchStream> {
        if !self.started().await {
            return None;
        }
        let stream = watch::stream(self.shared.clone(), self.conn.clone(), prefix, after)?;
        self.shared.watches.fetch_add(1, Ordering::Relaxed);
        Some(stream)
    }
}

/// What the watch cache did so far (`EtcdStore::cache_stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    /// Every event up to this revision is applied; 0 while the cache is not ready.
    pub revision: Revision,
    /// Reads answered from the cache.
    pub hits: u64,
    /// Reads handed to etcd: the cache was not ready, or did not reach the read's revision in
    /// time, or (lists at a past revision) its history did not reach back far enough.
    pub misses: u64,
    /// Lists of the key space: the first, and one after every broken or compacted watch.
    pub lists: u64,
    /// Watches served from the cache's history (each may go on with etcd later).
    pub watches: u64,
    /// Watches served from the cache that went on with an etcd watch: the cache re-listed, or
    /// history dropped events under the watch's prefix before it read them.
    pub handed_over: u64,
}
