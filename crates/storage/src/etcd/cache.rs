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
//! When the cache is not ready (starting, re-listing after a broken or compacted watch), or
//! does not reach the revision in time, the read goes to etcd, as before the cache: answers
//! never depend on the cache being healthy. A watch the cluster refuses (etcd RBAC restricting
//! this client to its prefix) leaves the cache off, with one warning.
//!
//! Lists at a past revision (continue tokens, `resourceVersionMatch=Exact`) are served from the
//! kept history when it reaches back far enough and no compaction this store asked etcd for is
//! above the revision; otherwise etcd answers, `Compacted` included.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use etcd_proto::etcdserverpb::{RangeRequest, WatchCreateRequest, WatchResponse};
use etcd_proto::mvccpb::event::EventType as EtcdEventType;
use etcd_proto::mvccpb::Event;
use futures::TryFutureExt;
use tokio::sync::watch;

use super::client::{self, WatchStream as EtcdWatch};
use super::convert::{etcd_revision, header_revision, revision};
use super::Conn;
use crate::memory::{Entry, HistoryLimits, State};
use crate::store::{EventType, KeyValue, Revision, StoreError, WatchEvent};

/// How long a consistent read waits for the cache to reach its revision before etcd answers it.
/// The events of an acknowledged write are on their way when its answer is: this is only hit
/// when the watch lags or is broken.
const FRESH_WAIT: Duration = Duration::from_secs(1);

/// Keys per range request of the initial list.
const LIST_PAGE: i64 = 10_000;

/// Re-list backoff after a failure.
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// History kept for lists at a past revision.
const HISTORY: HistoryLimits = HistoryLimits { events: 100_000, bytes: 128 << 20 };

/// What the reflector and the readers share.
struct Shared {
    /// `None` while (re)listing.
    state: RwLock<Option<State>>,
    /// Every event up to this revision is applied; 0 while the cache is not ready.
    seen: watch::Sender<Revision>,
    /// The highest compaction this store asked etcd for: no list below it is served here.
    compacted: AtomicU64,
    /// Reads answered here, and reads handed to etcd.
    hits: AtomicU64,
    misses: AtomicU64,
    /// Lists of the key space done (the first and every re-list).
    lists: AtomicU64,
}

impl Shared {
    /// The state for reading. Updates are whole (applied under the write lock without a panic
    /// path), so a poisoned lock still holds a consistent state.
    fn read(&self) -> RwLockReadGuard<'_, Option<State>> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Option<State>> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks the cache not ready: readers go to etcd until the next list is in.
    fn unready(&self) {
        self.seen.send_replace(0);
        *self.write() = None;
    }
}

/// The watch cache of one [`super::EtcdStore`]; its reflector task ends when this is dropped.
pub(crate) struct Cache {
    shared: Arc<Shared>,
    reflector: tokio::task::AbortHandle,
}

impl Drop for Cache {
    fn drop(&mut self) {
        self.reflector.abort();
    }
}

impl Cache {
    /// Starts the reflector: reads go to etcd until its first list is in.
    pub(crate) fn start(conn: Conn) -> Cache {
        let (seen, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            state: RwLock::new(None),
            seen,
            compacted: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            lists: AtomicU64::new(0),
        });
        let reflector = tokio::spawn(reflect(conn, shared.clone())).abort_handle();
        Cache { shared, reflector }
    }

    /// `read` on the cached state once it holds every event up to `rev`; `None` when the cache
    /// is not ready or does not get there within [`FRESH_WAIT`] (etcd answers then).
    pub(crate) async fn read<T>(&self, rev: Revision, read: impl FnOnce(&State) -> T) -> Option<T> {
        let answer = self.try_read(rev, read).await;
        self.count(answer.is_some());
        answer
    }

    async fn try_read<T>(&self, rev: Revision, read: impl FnOnce(&State) -> T) -> Option<T> {
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
        let state = guard.as_ref()?;
        (state.revision >= rev).then(|| read(state))
    }

    /// True when the cache is ready and has applied every event up to `rev`.
    pub(crate) fn holds(&self, rev: Revision) -> bool {
        *self.shared.seen.borrow() >= rev.max(1)
    }

    /// [`Cache::read`] for a read at the past revision `rev`: `None` also when history does not
    /// reach back to it, or this store compacted etcd above it.
    pub(crate) async fn read_at<T>(&self, rev: Revision, read: impl FnOnce(&State) -> T) -> Option<T> {
        let answer = if rev < self.shared.compacted.load(Ordering::Acquire) {
            None
        } else {
            self.try_read(rev, |state| (rev >= state.compacted).then(|| read(state))).await.flatten()
        };
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
        }
    }

    /// Notes a compaction of etcd at `rev`: history at or below it is dropped here too.
    pub(crate) fn compacted(&self, rev: Revision) {
        self.shared.compacted.fetch_max(rev, Ordering::AcqRel);
        if let Some(state) = self.shared.write().as_mut() {
            state.compact(rev);
        }
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
}

/// Why the cache stopped following etcd.
enum Stop {
    /// Worth another list after a backoff.
    Retry(StoreError),
    /// The cluster refuses the watch this cache needs: reads stay on etcd.
    Refused(String),
}

/// Lists and watches until the store is dropped, re-listing with backoff after every failure.
async fn reflect(conn: Conn, shared: Arc<Shared>) {
    let mut backoff = MIN_BACKOFF;
    let mut failing = false;
    loop {
        let began = Instant::now();
        let stop = follow(&conn, &shared).await;
        shared.unready();
        match stop {
            Stop::Refused(reason) => {
                tracing::warn!(endpoints = %conn.endpoints, %reason,
                    "etcd refused the watch cache's watch; every read goes to etcd");
                return;
            }
            Stop::Retry(err) => {
                // One warning per outage; a compacted watch is routine (the cache fell behind).
                if matches!(err, StoreError::Compacted { .. }) {
                    tracing::info!(error = %err, "etcd watch cache re-lists");
                } else if !failing {
                    tracing::warn!(error = %err, "etcd watch cache stopped; reads go to etcd until it re-lists");
                }
                failing = !matches!(err, StoreError::Compacted { .. });
            }
        }
        if began.elapsed() > MAX_BACKOFF * 6 {
            backoff = MIN_BACKOFF;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One list and the watch after it, until the watch fails.
async fn follow(conn: &Conn, shared: &Shared) -> Stop {
    shared.lists.fetch_add(1, Ordering::Relaxed);
    let (objects, listed) = match list(conn).await {
        Ok(listed) => listed,
        Err(err) => return Stop::Retry(err),
    };
    let start = match etcd_revision(listed) {
        Ok(rev) => rev.saturating_add(1),
        Err(err) => return Stop::Retry(err),
    };
    // Every key of etcd ("\0" onwards), for every revision; no previous values (the cache has
    // them).
    let create = WatchCreateRequest {
        key: vec![0],
        range_end: vec![0],
        start_revision: start,
        ..WatchCreateRequest::default()
    };
    let mut stream = match conn.request("watch", EtcdWatch::open(&conn.watch, create)).await {
        Ok(stream) => stream,
        Err(err) => return refused_or_retry(err),
    };
    match conn.request("watch", stream.message()).await {
        Ok(Some(response)) if response.compact_revision != 0 => {
            return Stop::Retry(StoreError::Compacted { compacted: listed, current: listed });
        }
        Ok(Some(response)) if response.canceled => return Stop::Refused(response.cancel_reason),
        Ok(Some(response)) if response.created && response.events.is_empty() => {}
        Ok(Some(_)) => {
            return Stop::Retry(StoreError::Internal("etcd sent events before confirming the watch".into()))
        }
        Ok(None) => return Stop::Retry(StoreError::Unavailable("the watch stream closed".into())),
        Err(err) => return refused_or_retry(err),
    }
    *shared.write() = Some(State::new(objects, listed, HISTORY));
    shared.seen.send_replace(listed.max(1));
    tracing::debug!(revision = listed, "etcd watch cache ready");
    loop {
        let response = match stream.message().await {
            Ok(Some(response)) => response,
            Ok(None) => return Stop::Retry(StoreError::Unavailable("the watch stream closed".into())),
            Err(err) => {
                let endpoints = &conn.endpoints;
                return Stop::Retry(
                    super::convert::fault("watch", endpoints, err).into_store_error("watch", endpoints),
                );
            }
        };
        if response.compact_revision != 0 {
            let compacted = revision(response.compact_revision).unwrap_or(listed);
            return Stop::Retry(StoreError::Compacted { compacted, current: compacted });
        }
        if response.canceled {
            return Stop::Retry(StoreError::Unavailable(format!(
                "the watch was cancelled: {}",
                response.cancel_reason
            )));
        }
        match apply(conn, shared, response) {
            Ok(Some(rev)) => {
                shared.seen.send_replace(rev);
            }
            Ok(None) => {}
            Err(err) => return Stop::Retry(err),
        }
    }
}

/// A refused watch (permission denied) turns the cache off; anything else is retried.
fn refused_or_retry(err: StoreError) -> Stop {
    match err {
        StoreError::Unavailable(message) if message.contains("permission denied") => Stop::Refused(message),
        err => Stop::Retry(err),
    }
}

/// Every key of the key space at one revision, in pages.
async fn list(conn: &Conn) -> Result<(BTreeMap<String, Entry>, Revision), StoreError> {
    let range = conn.keys.prefix_range("");
    let mut objects = BTreeMap::new();
    let mut at = 0;
    let mut from = range.key;
    loop {
        let request =
            RangeRequest { limit: LIST_PAGE, revision: at, ..client::range(from, range.end.clone()) };
        let mut kv = conn.kv.clone();
        let answer =
            conn.request("list the key space", kv.range(request).map_ok(tonic::Response::into_inner)).await?;
        if at == 0 {
            at = etcd_revision(header_revision(answer.header.as_ref())?)?;
        }
        let mut last = None;
        for item in answer.kvs {
            last = Some(item.key.clone());
            let entry = Entry {
                value: Bytes::from(item.value),
                create_revision: revision(item.create_revision)?,
                mod_revision: revision(item.mod_revision)?,
            };
            objects.insert(conn.keys.strip(item.key)?, entry);
        }
        match last {
            Some(mut key) if answer.more => {
                key.push(0);
                from = key;
            }
            _ => return Ok((objects, revision(at)?)),
        }
    }
}

/// Applies one watch response; returns the revision now reached, if it moved. On a failure
/// the state is dropped (it may be half updated): the cache re-lists.
fn apply(conn: &Conn, shared: &Shared, response: WatchResponse) -> Result<Option<Revision>, StoreError> {
    if response.events.is_empty() {
        // A progress notification or an empty answer: nothing is learned from it (see the
        // module docs).
        return Ok(None);
    }
    let mut guard = shared.write();
    let Some(state) = guard.as_mut() else {
        return Err(StoreError::Internal("the watch cache lost its state".into()));
    };
    let applied = apply_events(conn, state, response.events);
    if applied.is_err() {
        *guard = None;
    }
    applied.map(Some)
}

/// Applies `events` (in revision order) to `state`; returns the revision reached.
fn apply_events(conn: &Conn, state: &mut State, events: Vec<Event>) -> Result<Revision, StoreError> {
    let mut changes = Vec::new();
    let mut last = state.revision;
    for event in events {
        let kind = event.r#type();
        let Some(kv) = event.kv else {
            return Err(StoreError::Internal("etcd sent a watch event without a key".into()));
        };
        let rev = revision(kv.mod_revision)?;
        if rev <= state.revision || rev < last {
            return Err(StoreError::Internal(format!("etcd sent revision {rev} after {last}")));
        }
        last = rev;
        if !conn.keys.contains(&kv.key) {
            continue;
        }
        let key = conn.keys.strip(kv.key)?;
        let prev = state.objects.get(&key).map(|entry| entry.to_kv(&key));
        let change = match kind {
            EtcdEventType::Put => {
                let entry = Entry {
                    value: Bytes::from(kv.value),
                    create_revision: revision(kv.create_revision)?,
                    mod_revision: rev,
                };
                let kv = entry.to_kv(&key);
                state.objects.insert(key, entry);
                match prev {
                    None => WatchEvent { event_type: EventType::Added, kv, prev: None },
                    Some(prev) => WatchEvent { event_type: EventType::Modified, kv, prev: Some(prev) },
                }
            }
            EtcdEventType::Delete => {
                state.objects.remove(&key);
                let Some(prev) = prev else {
                    // The cache missed the key's creation: it is out of step with etcd.
                    return Err(StoreError::Internal(format!(
                        "etcd deleted `{key}`, which the watch cache does not hold"
                    )));
                };
                let kv = KeyValue { mod_revision: rev, ..prev.clone() };
                WatchEvent { event_type: EventType::Deleted, kv, prev: Some(prev) }
            }
        };
        changes.push(change);
    }
    state.push_events(changes);
    state.advance(last);
    Ok(state.revision)
}
