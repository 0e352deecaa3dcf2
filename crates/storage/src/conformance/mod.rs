//! The conformance suite: what every [`Store`] backend must do, as async test cases.
//!
//! Compiled with the `testing` feature. A backend's tests call [`run_all`] with a factory, or run
//! single cases from [`CASES`]. Cases panic (assert) on failure.
//!
//! Every case writes only under its own fresh key prefix and compares revisions relative to what
//! it observed, so the cases also hold on a store shared with other writers (one etcd cluster),
//! except that [`compaction`] compacts the whole store.

// This is test code: a panic is how a case reports a failing backend.
#![allow(clippy::unwrap_used, clippy::panic)]

mod crud;
mod history;
mod watch;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::StreamExt;

use crate::store::{Store, WatchEvent, WatchStream};

pub use self::crud::{
    concurrent_compare_and_swap, concurrent_writers, create_get_already_exists, delete_with_precondition,
    list_prefix_order_pagination, revisions_strictly_increase, update_with_and_without_expected,
    values_are_opaque,
};
pub use self::history::list_at_past_revisions;
pub use self::watch::{
    compaction, deleted_event_carries_last_value, watch_from_current_sees_only_new, watch_prefix_filtering,
    watch_replays_history_then_live, watch_sees_concurrent_writes_in_order,
};

/// A case: takes a store, panics on failure.
pub type Case = fn(Arc<dyn Store>) -> BoxFuture<'static, ()>;

/// Every case, by name.
pub const CASES: &[(&str, Case)] = &[
    ("create_get_already_exists", |s| Box::pin(create_get_already_exists(s))),
    ("update_with_and_without_expected", |s| Box::pin(update_with_and_without_expected(s))),
    ("delete_with_precondition", |s| Box::pin(delete_with_precondition(s))),
    ("list_prefix_order_pagination", |s| Box::pin(list_prefix_order_pagination(s))),
    ("revisions_strictly_increase", |s| Box::pin(revisions_strictly_increase(s))),
    ("values_are_opaque", |s| Box::pin(values_are_opaque(s))),
    ("list_at_past_revisions", |s| Box::pin(list_at_past_revisions(s))),
    ("concurrent_writers", |s| Box::pin(concurrent_writers(s))),
    ("concurrent_compare_and_swap", |s| Box::pin(concurrent_compare_and_swap(s))),
    ("watch_replays_history_then_live", |s| Box::pin(watch_replays_history_then_live(s))),
    ("watch_prefix_filtering", |s| Box::pin(watch_prefix_filtering(s))),
    ("deleted_event_carries_last_value", |s| Box::pin(deleted_event_carries_last_value(s))),
    ("watch_from_current_sees_only_new", |s| Box::pin(watch_from_current_sees_only_new(s))),
    ("watch_sees_concurrent_writes_in_order", |s| Box::pin(watch_sees_concurrent_writes_in_order(s))),
    ("compaction", |s| Box::pin(compaction(s))),
];

/// Runs every case, each on a store from `make`.
pub async fn run_all<S: Store>(make: impl Fn() -> S) {
    run_all_async(|| std::future::ready(make())).await;
}

/// Runs every case, each on a store from the async factory `make` (for backends that connect).
pub async fn run_all_async<S: Store, F: Future<Output = S>>(make: impl Fn() -> F) {
    for (name, case) in CASES {
        tracing::info!(case = name, "storage conformance");
        eprintln!("storage conformance: {name}");
        let store: Arc<dyn Store> = Arc::new(make().await);
        case(store).await;
    }
}

/// How long a case waits for an expected event before failing.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

/// A key prefix no earlier run has used: `/kubeward-conformance/<case>/<nonce>/`.
pub fn scope(case: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("/kubeward-conformance/{case}/{nanos:x}-{n}/")
}

/// A JSON-looking value.
pub fn value(s: &str) -> Bytes {
    Bytes::from(format!("{{\"v\":\"{s}\"}}"))
}

/// The next event, failing the case on a timeout, an error item or the end of the stream.
pub async fn next_event(stream: &mut WatchStream) -> WatchEvent {
    match tokio::time::timeout(EVENT_TIMEOUT, stream.next()).await {
        Ok(Some(Ok(event))) => event,
        Ok(Some(Err(err))) => panic!("watch failed: {err}"),
        Ok(None) => panic!("watch ended"),
        Err(_) => panic!("no watch event within {EVENT_TIMEOUT:?}"),
    }
}

/// Asserts that no event arrives within a short while.
pub async fn assert_quiet(stream: &mut WatchStream) {
    if let Ok(item) = tokio::time::timeout(Duration::from_millis(200), stream.next()).await {
        panic!("expected no watch event, got {item:?}");
    }
}
