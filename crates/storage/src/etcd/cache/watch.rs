//! Watches served from the cache's history, as the embedded store serves them (one etcd watch
//! for every watcher of the store, as kube's cacher does).
//!
//! A watcher is a cursor: the last revision it has scanned. It reads the history in chunks under
//! the read lock and, when it has caught up, sleeps until the reflector applies an event under
//! its prefix (crate module `wake`: its slot is registered before its first scan, and the
//! reflector wakes after publishing, so no event can slip between a scan and the sleep); replay
//! and live delivery are the same code path, and a watcher holds no queue of its own. Events of
//! other resources wake nobody but their own watchers, as in the embedded store.
//!
//! A sleeping watcher's cursor stays where it was while other resources' events move history
//! on; when history has dropped events past it, none of them under its prefix
//! ([`State::quiet_since`](crate::memory::State::quiet_since)), it goes on from the oldest kept
//! revision instead of leaving the cache.
//!
//! The cursor belongs to one list of the cache. When the cache stops following etcd or has
//! re-listed since (the events in between are not known here), or the cursor falls out of the
//! kept history, the watcher goes on with an etcd watch from its cursor, so it ends only where
//! an etcd watch would: compaction, or etcd unreachable.

use std::collections::VecDeque;
use std::sync::Arc;

use futures::StreamExt;

use super::Shared;
use crate::etcd::Conn;
use crate::store::{Revision, StoreError, WatchEvent, WatchStream};
use crate::wake::Slot;

/// The most history entries scanned per read-lock hold.
const SCAN_CHUNK: usize = 1024;

struct Cursor {
    shared: Arc<Shared>,
    conn: Conn,
    /// Set once the watcher left the cache for etcd.
    etcd: Option<WatchStream>,
    generation: u64,
    prefix: String,
    last: Revision,
    pending: VecDeque<WatchEvent>,
    slot: Arc<Slot>,
    done: bool,
}

/// A stream of the events under `prefix` after `after`, or `None` when the cache is not ready
/// or its history does not reach back to `after`.
pub(super) fn stream(shared: Arc<Shared>, conn: Conn, prefix: &str, after: Revision) -> Option<WatchStream> {
    // Registered before the first scan: an event applied after it wakes this watcher.
    let slot = shared.wakers.register(prefix);
    let generation = {
        let guard = shared.read();
        let listed = guard.as_ref()?;
        if after < listed.state.compacted {
            return None;
        }
        listed.generation
    };
    let cursor = Cursor {
        shared,
        conn,
        etcd: None,
        generation,
        prefix: prefix.to_owned(),
        last: after,
        pending: VecDeque::new(),
        slot,
        done: false,
    };
    Some(futures::stream::unfold(cursor, next).boxed())
}

async fn next(mut cursor: Cursor) -> Option<(Result<WatchEvent, StoreError>, Cursor)> {
    loop {
        if cursor.done {
            return None;
        }
        if let Some(event) = cursor.pending.pop_front() {
            return Some((Ok(event), cursor));
        }
        if let Some(etcd) = cursor.etcd.as_mut() {
            let item = etcd.next().await;
            cursor.done = !matches!(item, Some(Ok(_)));
            return item.map(|item| (item, cursor));
        }
        let scanned = {
            let guard = cursor.shared.read();
            match guard.as_ref() {
                Some(listed) if listed.generation == cursor.generation => {
                    let state = &listed.state;
                    if cursor.last < state.compacted && state.quiet_since(&cursor.prefix, cursor.last) {
                        cursor.last = state.compacted;
                    }
                    state.events_after(&cursor.prefix, cursor.last, SCAN_CHUNK).ok()
                }
                _ => None,
            }
        };
        match scanned {
            None => {
                tracing::debug!(prefix = %cursor.prefix, last = cursor.last, "a cache watcher goes on with etcd");
                cursor.shared.handed_over.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                match crate::etcd::watch::open(cursor.conn.clone(), &cursor.prefix, cursor.last).await {
                    Ok(etcd) => cursor.etcd = Some(etcd),
                    Err(err) => {
                        cursor.done = true;
                        return Some((Err(err), cursor));
                    }
                }
            }
            Some((events, last)) if last > cursor.last => {
                cursor.last = last;
                cursor.pending.extend(events);
            }
            Some(_) => {
                if cursor.shared.wakers.is_closed() {
                    cursor.done = true;
                    return Some((Err(StoreError::Unavailable("the etcd store was dropped".into())), cursor));
                }
                cursor.slot.notify.notified().await;
            }
        }
    }
}
