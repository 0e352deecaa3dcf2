//! The embedded backend: one data directory, one redb file, every current object and the recent
//! history in memory, and one writer thread that group-commits concurrent writes.
//!
//! - Reads (`get`, `list`, `current_revision`) are served from memory under a read lock; a list
//!   at a past revision (`list_at`) undoes, key by key, the kept history after it.
//! - Writes go over a bounded channel to the writer (module `writer`), which folds all waiting
//!   requests into one durable redb transaction, then publishes to memory and answers. A write
//!   is visible to readers only once it is on disk.
//! - Watches (module `watch`) read the in-memory history, which keeps the last
//!   [`EmbeddedOptions::history_events`] events (and at most
//!   [`EmbeddedOptions::history_bytes`]); older revisions are compacted as new ones arrive.
//! - History is not persisted: after a restart it starts empty with the compacted revision equal
//!   to the current one, so watches resume from the current revision onwards and older ones get
//!   [`StoreError::Compacted`] (the client re-lists, as after an etcd compaction).

mod disk;
mod watch;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use self::disk::Disk;
use self::writer::{Op, Request};
use crate::memory::{HistoryLimits, State};
use crate::store::{KeyValue, ListResult, Revision, Store, StoreError, WatchStream};

pub use self::disk::DB_FILE as DATABASE_FILE_NAME;

/// Tunables of the embedded store.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedOptions {
    /// The most events kept in memory for watch resume.
    pub history_events: usize,
    /// The most bytes (keys and values, roughly) of events kept in memory for watch resume.
    pub history_bytes: usize,
    /// redb's page cache. Reads are served from the in-memory map, so redb reads pages only
    /// to write and once at open; a cache the size of the file (redb's default is 1 GiB)
    /// would keep every page read at open, a second copy of every object, for nothing.
    pub cache_bytes: usize,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        EmbeddedOptions { history_events: 100_000, history_bytes: 256 << 20, cache_bytes: 16 << 20 }
    }
}

/// Counters of the writer, for benchmarks and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddedStats {
    /// Transactions committed (one fsync each).
    pub commits: u64,
    /// Writes acknowledged by those commits.
    pub writes: u64,
}

/// What the store's handles share with the writer and the watchers.
pub(crate) struct Shared {
    state: RwLock<State>,
    wakers: crate::wake::Wakers,
    commits: AtomicU64,
    writes: AtomicU64,
}

impl Shared {
    /// The state for reading. A panic elsewhere never leaves it half-updated (updates are plain
    /// inserts after the commit), so a poisoned lock is still usable.
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The embedded store. Dropping it stops the writer after it has answered every queued write;
/// open watches then end with [`StoreError::Unavailable`].
pub struct EmbeddedStore {
    dir: PathBuf,
    shared: Arc<Shared>,
    tx: Option<mpsc::Sender<Request>>,
    writer: Option<JoinHandle<()>>,
}

impl EmbeddedStore {
    /// Opens the store in `dir` (created with mode 0700 if missing) with default options.
    pub fn open(dir: &Path) -> Result<EmbeddedStore, StoreError> {
        Self::open_with(dir, EmbeddedOptions::default())
    }

    /// Opens the store in `dir` with `options`. Loads every object into memory.
    pub fn open_with(dir: &Path, options: EmbeddedOptions) -> Result<EmbeddedStore, StoreError> {
        let (disk, loaded) = Disk::open(dir, options.cache_bytes)?;
        let limits = HistoryLimits { events: options.history_events.max(1), bytes: options.history_bytes };
        let revision = loaded.revision;
        tracing::info!(dir = %dir.display(), objects = loaded.objects.len(), revision, "storage opened");
        let shared = Arc::new(Shared {
            state: RwLock::new(State::new(loaded.objects, revision, limits)),
            wakers: crate::wake::Wakers::default(),
            commits: AtomicU64::new(0),
            writes: AtomicU64::new(0),
        });
        let (tx, rx) = mpsc::channel(writer::MAX_BATCH);
        let writer_shared = Arc::clone(&shared);
        let writer = std::thread::Builder::new()
            .name("storage-writer".into())
            .spawn(move || writer::run(disk, writer_shared, rx))
            .map_err(|e| StoreError::Unavailable(format!("cannot start the writer thread: {e}")))?;
        Ok(EmbeddedStore { dir: dir.to_owned(), shared, tx: Some(tx), writer: Some(writer) })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Commits and writes so far; `writes / commits` is the mean group-commit size.
    pub fn stats(&self) -> EmbeddedStats {
        EmbeddedStats {
            commits: self.shared.commits.load(Ordering::Relaxed),
            writes: self.shared.writes.load(Ordering::Relaxed),
        }
    }

    /// The oldest revision a watch can start after.
    pub fn compacted_revision(&self) -> Revision {
        self.shared.read().compacted
    }

    async fn submit(&self, op: Op) -> Result<Option<KeyValue>, StoreError> {
        let closed = || StoreError::Unavailable("store closed".into());
        let tx = self.tx.as_ref().ok_or_else(closed)?;
        let (reply, answer) = oneshot::channel();
        tx.send(Request { op, reply }).await.map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }

    async fn submit_write(&self, op: Op) -> Result<KeyValue, StoreError> {
        self.submit(op)
            .await?
            .ok_or_else(|| StoreError::Internal("the writer answered a write without a value".into()))
    }
}

impl Drop for EmbeddedStore {
    fn drop(&mut self) {
        // Closing the channel lets the writer drain it and exit; joining releases the database
        // file so the directory can be reopened at once.
        self.tx.take();
        if let Some(writer) = self.writer.take() {
            if writer.join().is_err() {
                tracing::error!("storage writer panicked");
            }
        }
    }
}

#[async_trait::async_trait]
impl Store for EmbeddedStore {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        Ok(self.shared.read().get(key))
    }

    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<ListResult, StoreError> {
        Ok(self.shared.read().list(prefix, start_after, limit))
    }

    async fn list_at(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
        rev: Revision,
    ) -> Result<ListResult, StoreError> {
        self.shared.read().list_at(prefix, start_after, limit, rev)
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue, StoreError> {
        self.submit_write(Op::Create { key: key.to_owned(), value }).await
    }

    async fn update(
        &self,
        key: &str,
        value: Bytes,
        expected: Option<Revision>,
    ) -> Result<KeyValue, StoreError> {
        self.submit_write(Op::Update { key: key.to_owned(), value, expected }).await
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<KeyValue, StoreError> {
        self.submit_write(Op::Delete { key: key.to_owned(), expected }).await
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream, StoreError> {
        watch::stream(Arc::clone(&self.shared), prefix, after)
    }

    async fn current_revision(&self) -> Result<Revision, StoreError> {
        Ok(self.shared.read().revision)
    }

    async fn compact(&self, rev: Revision) -> Result<(), StoreError> {
        self.submit(Op::Compact { rev }).await.map(|_| ())
    }
}
