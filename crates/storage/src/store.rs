//! The storage contract: the [`Store`] trait every backend implements, the values it trades in
//! ([`KeyValue`], [`WatchEvent`], [`ListResult`]) and its one error enum, [`StoreError`].
//!
//! Semantics follow etcd v3, which kube-apiserver was written against: one global revision
//! counter, bumped by every successful write, so a key's `mod_revision` doubles as the object's
//! `metadata.resourceVersion`. Values are opaque bytes; the store never parses them.

use bytes::Bytes;
use futures::stream::BoxStream;

/// A point in the store's history. Global across keys and strictly increasing: every write
/// that succeeds gets the next revision. The first write gets revision 1 or higher.
pub type Revision = u64;

/// One key as stored at some revision.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyValue {
    /// The full key, e.g. `/registry/core/pods/default/web-0`.
    pub key: String,
    /// The object's JSON, opaque to the store.
    pub value: Bytes,
    /// The revision of the write that created the key (kept across updates).
    pub create_revision: Revision,
    /// The revision of the write that last changed the key.
    pub mod_revision: Revision,
}

/// What happened to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// The key was created.
    Added,
    /// The key's value was replaced.
    Modified,
    /// The key was deleted.
    Deleted,
}

/// One change, as delivered by [`Store::watch`].
#[derive(Debug, Clone, PartialEq)]
pub struct WatchEvent {
    /// What happened.
    pub event_type: EventType,
    /// The key after the change. For [`EventType::Deleted`]: the last value the key held, with
    /// `mod_revision` set to the revision of the deletion.
    pub kv: KeyValue,
    /// The key before the change; `None` for [`EventType::Added`].
    pub prev: Option<KeyValue>,
    /// What watchers derive from this event (its encodings), shared by every copy of it: the
    /// history hands each watcher a copy, and the first watcher to encode the event for a wire
    /// format leaves the bytes here for the others (kube's `cachingObject`).
    pub cache: crate::EventCache,
}

impl WatchEvent {
    /// An event with an empty cache of its own.
    pub fn new(event_type: EventType, kv: KeyValue, prev: Option<KeyValue>) -> WatchEvent {
        WatchEvent { event_type, kv, prev, cache: crate::EventCache::new() }
    }

    /// The revision at which this change happened.
    pub fn revision(&self) -> Revision {
        self.kv.mod_revision
    }
}

/// One page of [`Store::list`].
#[derive(Debug, Clone, PartialEq)]
pub struct ListResult {
    /// Matching keys in key order.
    pub items: Vec<KeyValue>,
    /// The store revision this list reflects: a watch from it misses nothing and repeats nothing.
    pub revision: Revision,
    /// True when more matching keys follow the last item (list again with `start_after`).
    pub remaining: bool,
    /// How many matching keys follow the last item (0 when none do): kube's
    /// `remainingItemCount` of a paged list without selectors.
    pub remaining_count: u64,
}

/// Everything a store operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The key does not exist (update, delete).
    #[error("key not found")]
    NotFound,
    /// The key exists already (create).
    #[error("key already exists")]
    AlreadyExists,
    /// The expected revision did not match; `current` is the key as it is now.
    #[error("revision conflict: the key is at revision {}", current.mod_revision)]
    Conflict {
        /// The key's current value and revisions.
        current: KeyValue,
    },
    /// The requested revision is no longer in history (a watch from it, or a watcher that fell
    /// too far behind). Kube answers this with 410 Gone; the client re-lists.
    #[error("revision has been compacted: oldest available is after {compacted}, current is {current}")]
    Compacted {
        /// History at or below this revision is gone.
        compacted: Revision,
        /// The store's current revision.
        current: Revision,
    },
    /// A revision after the current one was asked for where only past revisions make sense
    /// (compaction).
    #[error("revision {requested} is in the future: current is {current}")]
    FutureRevision {
        /// The revision asked for.
        requested: Revision,
        /// The store's current revision.
        current: Revision,
    },
    /// The backend cannot serve the request now (I/O failure, closed store, unreachable
    /// cluster). The write, if any, was not acknowledged; retrying may succeed.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A write was sent but its outcome is unknown (the etcd leader failed while it was in
    /// flight and the store could not tell whether it was applied). Kube answers 504 Timeout;
    /// the client reads the object to learn what happened.
    #[error("request did not complete within requested timeout - {0}")]
    Timeout(String),
    /// The backend found something it cannot make sense of (a corrupt record, a broken
    /// invariant). Not retryable.
    #[error("storage internal error: {0}")]
    Internal(String),
}

/// A watch: events in revision order until dropped. An `Err` item ends the stream.
pub type WatchStream = BoxStream<'static, Result<WatchEvent, StoreError>>;

/// A key-value store with global revisions, compare-and-swap writes and resumable watches.
///
/// Every write that returns `Ok` is durable: a crash at any moment loses no acknowledged write.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// The key's current value, or `None`.
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError>;

    /// Keys starting with `prefix`, in key order, strictly after `start_after` when given, at most
    /// `limit` (0 = no limit).
    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<ListResult, StoreError>;

    /// [`Store::get`] from what the store holds in memory now, without making sure first that
    /// it is the latest: it can miss writes acknowledged moments before (by any server), never
    /// show one that was not acknowledged. kube serves `resourceVersion="0"` reads and its
    /// admission plugins' lookups (informer listers) this way. A backend without a cache
    /// answers as [`Store::get`].
    async fn get_cached(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        self.get(key).await
    }

    /// [`Store::list`] from what the store holds in memory now; see [`Store::get_cached`]. The
    /// result's `revision` is the one the answer reflects.
    async fn list_cached(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<ListResult, StoreError> {
        self.list(prefix, start_after, limit).await
    }

    /// [`Store::list`] as the keys were at revision `rev` (etcd's range at a revision): keys
    /// created after `rev` are absent, keys changed or deleted after it have their value and
    /// revisions at `rev`. The result's `revision` is `rev`. [`StoreError::Compacted`] when
    /// `rev` is below the compacted revision (`rev` = the compacted revision still reads);
    /// [`StoreError::FutureRevision`] when it is after the current revision. Revision 0 comes
    /// before every write and is always compacted.
    async fn list_at(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
        rev: Revision,
    ) -> Result<ListResult, StoreError>;

    /// Create the key; [`StoreError::AlreadyExists`] if it exists.
    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue, StoreError>;

    /// Replace the key's value; [`StoreError::NotFound`] if it does not exist. When `expected` is
    /// `Some(rev)` the current `mod_revision` must equal it, else [`StoreError::Conflict`].
    async fn update(
        &self,
        key: &str,
        value: Bytes,
        expected: Option<Revision>,
    ) -> Result<KeyValue, StoreError>;

    /// Delete the key; same precondition rule as [`Store::update`]. Returns the deleted value with
    /// `mod_revision` = the deletion's revision.
    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<KeyValue, StoreError>;

    /// Events for keys under `prefix` with revision > `after`, in revision order, then live
    /// events, until dropped. [`StoreError::Compacted`] if `after` is older than the history kept
    /// (`after` == the current revision is always fine).
    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream, StoreError>;

    /// The revision of the latest write.
    async fn current_revision(&self) -> Result<Revision, StoreError>;

    /// Drop history at or below `rev`: watches from older revisions then get
    /// [`StoreError::Compacted`]. Compacting below an earlier compaction does nothing;
    /// [`StoreError::FutureRevision`] if `rev` is after the current revision.
    async fn compact(&self, rev: Revision) -> Result<(), StoreError>;
}
