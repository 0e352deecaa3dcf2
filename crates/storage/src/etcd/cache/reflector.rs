//! The cache's reflector: one list of the key space, then one watch of every key of etcd,
//! applied to the shared state; re-listed with backoff after every failure.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use etcd_proto::etcdserverpb::{RangeRequest, WatchCreateRequest, WatchResponse};
use etcd_proto::mvccpb::event::EventType as EtcdEventType;
use etcd_proto::mvccpb::Event;
use futures::TryFutureExt;

use super::{Listed, Shared, LIST_PAGE, MAX_BACKOFF, MIN_BACKOFF};
use crate::etcd::client::{self, WatchStream as EtcdWatch};
use crate::etcd::convert::{etcd_revision, fault, header_revision, revision};
use crate::etcd::Conn;
use crate::memory::{Entry, State};
use crate::store::{EventType, KeyValue, Revision, StoreError, WatchEvent};

/// Why the cache stopped following etcd.
enum Stop {
    /// Worth another list after a backoff.
    Retry(StoreError),
    /// The cluster refuses the watch this cache needs: reads stay on etcd.
    Refused(String),
}

/// Lists and watches until the store is dropped, re-listing with backoff after every failure.
pub(super) async fn reflect(conn: Conn, shared: Arc<Shared>) {
    let mut backoff = MIN_BACKOFF;
    let mut failing = false;
    loop {
        let began = Instant::now();
        let stop = follow(&conn, &shared).await;
        shared.unready();
        match stop {
            Stop::Refused(reason) => {
                shared.off.store(true, Ordering::Release);
                // Wake whoever waits for the first list.
                shared.seen.send_replace(0);
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
    let generation = shared.lists.load(Ordering::Relaxed);
    *shared.write() = Some(Listed { state: State::new(objects, listed, shared.history), generation });
    // Ready before the revision is announced: a reader woken by `seen` checks `ever_ready`.
    shared.ever_ready.store(true, Ordering::Release);
    shared.seen.send_replace(listed.max(1));
    tracing::debug!(revision = listed, "etcd watch cache ready");
    loop {
        let response = match stream.message().await {
            Ok(Some(response)) => response,
            Ok(None) => return Stop::Retry(StoreError::Unavailable("the watch stream closed".into())),
            Err(err) => {
                let endpoints = &conn.endpoints;
                return Stop::Retry(fault("watch", endpoints, err).into_store_error("watch", endpoints));
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
            // Published (the write lock is released): readers waiting for the revision, and
            // the watchers of the keys changed, may look.
            Ok(Some((rev, keys))) => {
                shared.seen.send_replace(rev);
                if !keys.is_empty() {
                    shared.wakers.wake(keys.iter().map(String::as_str));
                }
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

/// Applies one watch response; returns the revision now reached, if it moved, and the keys of
/// the key space it changed. On a failure the state is dropped (it may be half updated): the
/// cache re-lists.
fn apply(
    conn: &Conn,
    shared: &Shared,
    response: WatchResponse,
) -> Result<Option<(Revision, Vec<String>)>, StoreError> {
    if response.events.is_empty() {
        // A progress notification or an empty answer: nothing is learned from it (see the
        // module docs).
        return Ok(None);
    }
    let mut guard = shared.write();
    let Some(Listed { state, .. }) = guard.as_mut() else {
        return Err(StoreError::Internal("the watch cache lost its state".into()));
    };
    let applied = apply_events(conn, state, response.events);
    if applied.is_err() {
        *guard = None;
    }
    applied.map(Some)
}

/// Applies `events` (in revision order) to `state`; returns the revision reached and the keys
/// of the key space changed.
fn apply_events(
    conn: &Conn,
    state: &mut State,
    events: Vec<Event>,
) -> Result<(Revision, Vec<String>), StoreError> {
    let mut changes: Vec<WatchEvent> = Vec::new();
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
                    None => WatchEvent::new(EventType::Added, kv, None),
                    Some(prev) => WatchEvent::new(EventType::Modified, kv, Some(prev)),
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
                WatchEvent::new(EventType::Deleted, kv, Some(prev))
            }
        };
        changes.push(change);
    }
    let keys = changes.iter().map(|change| change.kv.key.clone()).collect();
    state.push_events(changes);
    state.advance(last);
    Ok((state.revision, keys))
}
