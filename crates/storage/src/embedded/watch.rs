//! Watch streams over the embedded store's in-memory history.
//!
//! A watcher is a cursor: the last revision it has scanned. It reads the history in chunks under
//! the state's read lock and, when it has caught up, sleeps until a commit under its prefix
//! wakes it (crate module `wake`). Replay and live delivery are the same code path, so registration
//! cannot lose or repeat an event, and a watcher holds no queue of its own: memory stays bounded
//! however slow it is. A watcher whose cursor falls out of the kept history gets
//! [`StoreError::Compacted`] and the stream ends (the client re-lists), unless none of the
//! events dropped since its cursor were under its prefix ([`State::quiet_since`](crate::memory::State::quiet_since): it slept
//! while other resources' writes moved history on), in which case it goes on.

use std::sync::Arc;

use super::Shared;
use crate::store::{Revision, StoreError, WatchEvent, WatchStream};
use crate::wake::Slot;
use futures::StreamExt;

/// The most history entries scanned per read-lock hold.
const SCAN_CHUNK: usize = 1024;

struct Cursor {
    shared: Arc<Shared>,
    prefix: String,
    last: Revision,
    /// Events scanned and not yet yielded; its buffer is dropped once it is drained, so an
    /// idle watcher holds none (thousands of watchers on one collection each wait here).
    pending: std::vec::IntoIter<WatchEvent>,
    slot: Arc<Slot>,
    done: bool,
}

/// A stream of the events under `prefix` after `after`. Fails at once if `after` is compacted.
pub(crate) fn stream(shared: Arc<Shared>, prefix: &str, after: Revision) -> Result<WatchStream, StoreError> {
    // Registered before the first scan: a commit after it wakes this watcher.
    let slot = shared.wakers.register(prefix);
    {
        let state = shared.read();
        if after < state.compacted {
            return Err(StoreError::Compacted { compacted: state.compacted, current: state.revision });
        }
    }
    let cursor = Cursor {
        shared,
        prefix: prefix.to_owned(),
        last: after,
        pending: Vec::new().into_iter(),
        slot,
        done: false,
    };
    Ok(futures::stream::unfold(cursor, next).boxed())
}

async fn next(mut cursor: Cursor) -> Option<(Result<WatchEvent, StoreError>, Cursor)> {
    loop {
        if cursor.done {
            return None;
        }
        if let Some(event) = cursor.pending.next() {
            if cursor.pending.as_slice().is_empty() {
                cursor.pending = Vec::new().into_iter();
            }
            return Some((Ok(event), cursor));
        }
        let scanned = {
            let state = cursor.shared.read();
            if cursor.last < state.compacted && state.quiet_since(&cursor.prefix, cursor.last) {
                cursor.last = state.compacted;
            }
            state.events_after(&cursor.prefix, cursor.last, SCAN_CHUNK)
        };
        match scanned {
            Err(err) => {
                tracing::debug!(prefix = %cursor.prefix, last = cursor.last, "watcher fell behind compaction");
                cursor.done = true;
                return Some((Err(err), cursor));
            }
            Ok((events, last)) if last > cursor.last => {
                cursor.last = last;
                cursor.pending = events.into_iter();
            }
            Ok(_) => {
                if cursor.shared.wakers.is_closed() {
                    cursor.done = true;
                    return Some((Err(StoreError::Unavailable("store closed".into())), cursor));
                }
                cursor.slot.notify.notified().await;
            }
        }
    }
}
