//! Watch streams over etcd watches.
//!
//! [`open`] first checks that `after` is still in etcd's history (a linearizable read at that
//! revision), so a compacted start fails at once with [`StoreError::Compacted`], as the trait
//! asks; etcd itself would report it only asynchronously, inside the watch. Then it opens an etcd
//! watch on the prefix range from `after + 1` with previous values and waits for etcd to confirm
//! it. Each etcd event becomes a [`WatchEvent`]: a PUT whose `create_revision` is its
//! `mod_revision` is `Added`, another PUT `Modified`, a DELETE `Deleted` with the last value at
//! the deletion's revision.
//!
//! The stream ends after one error item: `Compacted` when etcd cancels the watch for compaction
//! (the watcher fell behind), `Unavailable` when etcd cancels it otherwise, closes the stream or
//! the connection breaks. Dropping the stream closes the gRPC stream, which cancels the watch in
//! etcd.

use std::collections::VecDeque;
use std::time::Duration;

use etcd_proto::etcdserverpb::{WatchCreateRequest, WatchResponse};
use etcd_proto::mvccpb::event::EventType as EtcdEventType;
use futures::StreamExt;

use super::client::WatchStream as EtcdWatch;
use super::convert::{etcd_revision, fault, key_value, revision, Fault};
use super::Conn;
use crate::store::{EventType, KeyValue, Revision, StoreError, WatchEvent, WatchStream};

/// The most time spent learning the exact compacted revision once a start is known compacted.
const COMPACTED_LOOKUP: Duration = Duration::from_secs(5);

struct Cursor {
    stream: EtcdWatch,
    conn: Conn,
    pending: VecDeque<WatchEvent>,
    done: bool,
}

/// Fails with `Compacted` (etcd's compacted revision in it) when the events after `after` are
/// no longer all in etcd's history; a future `after` is fine (the watch waits for it).
pub(super) async fn check_start(conn: &Conn, after: Revision) -> Result<(), StoreError> {
    // `after` = 0 asks for everything, which is still there unless revision 1 is compacted.
    let check = etcd_revision(after.max(1))?;
    match conn.probe(Some(check)).await {
        Ok(_) | Err(Fault::FutureRevision) => Ok(()),
        Err(Fault::Compacted) => Err(compacted(conn, after).await),
        Err(Fault::Other(err)) => Err(err),
    }
}

/// Opens a watch on `prefix` for the events after `after`.
pub(super) async fn open(conn: Conn, prefix: &str, after: Revision) -> Result<WatchStream, StoreError> {
    check_start(&conn, after).await?;

    let range = conn.keys.prefix_range(prefix);
    let create = WatchCreateRequest {
        key: range.key,
        range_end: range.end,
        start_revision: etcd_revision(after)?.saturating_add(1),
        prev_kv: true,
        ..WatchCreateRequest::default()
    };
    let mut stream = conn.request("watch", EtcdWatch::open(&conn.watch, create)).await?;
    confirm(&conn, &mut stream).await?;
    let cursor = Cursor { stream, conn, pending: VecDeque::new(), done: false };
    Ok(futures::stream::unfold(cursor, next).boxed())
}

/// Waits for etcd to confirm a new watch, which it does before sending anything else. A start
/// compacted since the check shows up here or as the stream's first error.
async fn confirm(conn: &Conn, stream: &mut EtcdWatch) -> Result<(), StoreError> {
    let first = conn.request("watch", stream.message()).await?;
    match first {
        Some(response) if response.compact_revision != 0 => {
            Err(compacted_at(conn, response.compact_revision).await)
        }
        Some(response) if response.canceled => Err(StoreError::Unavailable(format!(
            "etcd at {}: watch refused: {}",
            conn.endpoints, response.cancel_reason
        ))),
        Some(response) if response.created && response.events.is_empty() => Ok(()),
        Some(_) => Err(StoreError::Internal("etcd sent events before confirming the watch".into())),
        None => Err(StoreError::Unavailable(format!(
            "etcd at {}: the watch stream closed before the watch was created",
            conn.endpoints
        ))),
    }
}

async fn next(mut cursor: Cursor) -> Option<(Result<WatchEvent, StoreError>, Cursor)> {
    loop {
        if cursor.done {
            return None;
        }
        if let Some(event) = cursor.pending.pop_front() {
            return Some((Ok(event), cursor));
        }
        let failure = match cursor.stream.message().await {
            Ok(Some(response)) if response.compact_revision != 0 => {
                // The watcher fell behind a compaction.
                compacted_at(&cursor.conn, response.compact_revision).await
            }
            Ok(Some(response)) => match absorb(&mut cursor, response) {
                Ok(()) => continue,
                Err(err) => err,
            },
            Ok(None) => {
                StoreError::Unavailable(format!("etcd at {}: the watch stream closed", cursor.conn.endpoints))
            }
            Err(err) => {
                let endpoints = &cursor.conn.endpoints;
                fault("watch", endpoints, err).into_store_error("watch", endpoints)
            }
        };
        tracing::debug!(error = %failure, "etcd watch ended");
        cursor.done = true;
        return Some((Err(failure), cursor));
    }
}

/// Queues the events of one response; an error ends the stream.
fn absorb(cursor: &mut Cursor, response: WatchResponse) -> Result<(), StoreError> {
    for event in response.events {
        let kind = event.r#type();
        let Some(kv) = event.kv else {
            return Err(StoreError::Internal("etcd sent a watch event without a key".into()));
        };
        let kv = key_value(&cursor.conn.keys, kv)?;
        let prev = event.prev_kv.map(|prev| key_value(&cursor.conn.keys, prev)).transpose()?;
        cursor.pending.push_back(watch_event(kind, kv, prev));
    }
    if response.canceled {
        return Err(StoreError::Unavailable(format!(
            "etcd at {}: the watch was cancelled: {}",
            cursor.conn.endpoints, response.cancel_reason
        )));
    }
    Ok(())
}

/// One etcd event as the store's. A DELETE's `kv` holds only the key and the deletion's
/// revision; the store's carries the last value, from `prev`.
fn watch_event(kind: EtcdEventType, kv: KeyValue, prev: Option<KeyValue>) -> WatchEvent {
    match kind {
        EtcdEventType::Put if kv.create_revision == kv.mod_revision => {
            WatchEvent::new(EventType::Added, kv, None)
        }
        EtcdEventType::Put => WatchEvent::new(EventType::Modified, kv, prev),
        EtcdEventType::Delete => {
            let last = match &prev {
                Some(prev) => KeyValue { mod_revision: kv.mod_revision, ..prev.clone() },
                None => {
                    // Only when the previous value was compacted away before etcd read it.
                    tracing::warn!(key = %kv.key, "etcd sent a deletion without the previous value");
                    kv
                }
            };
            WatchEvent::new(EventType::Deleted, last, prev)
        }
    }
}

/// `Compacted` at etcd's compacted revision. etcd's compaction notice carries no current
/// revision, so it is read (and taken as the compacted one if etcd does not answer).
async fn compacted_at(conn: &Conn, compact_revision: i64) -> StoreError {
    let compacted = match revision(compact_revision) {
        Ok(rev) => rev,
        Err(err) => return err,
    };
    let current = conn.current_revision().await.unwrap_or(compacted);
    StoreError::Compacted { compacted, current }
}

/// The `Compacted` error for a start known to be compacted. etcd's read only says "compacted";
/// a watch from revision 1 makes etcd name the compacted revision. Should that not answer in
/// time, the start itself is reported (history is gone at least up to it).
pub(super) async fn compacted(conn: &Conn, after: Revision) -> StoreError {
    let lookup = async {
        let create = WatchCreateRequest {
            key: conn.keys.probe_key(),
            start_revision: 1,
            ..WatchCreateRequest::default()
        };
        let mut stream = EtcdWatch::open(&conn.watch, create).await.ok()?;
        while let Ok(Some(response)) = stream.message().await {
            if response.compact_revision != 0 {
                return Some(response.compact_revision);
            }
            if response.canceled {
                return None;
            }
        }
        None
    };
    match tokio::time::timeout(COMPACTED_LOOKUP, lookup).await {
        Ok(Some(compact_revision)) => compacted_at(conn, compact_revision).await,
        _ => {
            let current = conn.current_revision().await.unwrap_or(after);
            StoreError::Compacted { compacted: after.saturating_add(1), current }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(key: &str, value: &str, create: Revision, modified: Revision) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: value.to_owned().into(),
            create_revision: create,
            mod_revision: modified,
        }
    }

    #[test]
    fn puts_map_to_added_or_modified() {
        let added = watch_event(EtcdEventType::Put, kv("a", "1", 5, 5), None);
        assert_eq!(added.event_type, EventType::Added);
        assert_eq!(added.prev, None);
        let modified = watch_event(EtcdEventType::Put, kv("a", "2", 5, 7), Some(kv("a", "1", 5, 5)));
        assert_eq!(modified.event_type, EventType::Modified);
        assert_eq!(modified.kv, kv("a", "2", 5, 7));
        assert_eq!(modified.prev, Some(kv("a", "1", 5, 5)));
    }

    #[test]
    fn a_delete_carries_the_last_value_at_the_deletion_revision() {
        let deleted = watch_event(EtcdEventType::Delete, kv("a", "", 0, 9), Some(kv("a", "2", 5, 7)));
        assert_eq!(deleted.event_type, EventType::Deleted);
        assert_eq!(deleted.kv, kv("a", "2", 5, 9));
        assert_eq!(deleted.prev, Some(kv("a", "2", 5, 7)));
        let bare = watch_event(EtcdEventType::Delete, kv("a", "", 0, 9), None);
        assert_eq!(bare.kv, kv("a", "", 0, 9));
    }
}
