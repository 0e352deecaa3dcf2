//! Conformance cases for watch and compaction.

use std::sync::Arc;

use super::{assert_quiet, next_event, scope, value};
use crate::store::{EventType, Store, StoreError};

/// A watch from a past revision replays history in order, then delivers live events.
pub async fn watch_replays_history_then_live(store: Arc<dyn Store>) {
    let prefix = scope("watch-replay");
    let a = format!("{prefix}a");
    let start = store.current_revision().await.unwrap();
    let created = store.create(&a, value("1")).await.unwrap();
    let updated = store.update(&a, value("2"), None).await.unwrap();
    let deleted = store.delete(&a, None).await.unwrap();

    let mut watch = store.watch(&prefix, start).await.unwrap();
    let e1 = next_event(&mut watch).await;
    assert_eq!(e1.event_type, EventType::Added);
    assert_eq!(e1.kv, created);
    assert_eq!(e1.prev, None);
    let e2 = next_event(&mut watch).await;
    assert_eq!(e2.event_type, EventType::Modified);
    assert_eq!(e2.kv, updated);
    assert_eq!(e2.prev.as_ref(), Some(&created));
    let e3 = next_event(&mut watch).await;
    assert_eq!(e3.event_type, EventType::Deleted);
    assert_eq!(e3.kv, deleted);
    assert_eq!(e3.prev.as_ref(), Some(&updated));

    // Live, after the replay.
    let b = store.create(&format!("{prefix}b"), value("b")).await.unwrap();
    let e4 = next_event(&mut watch).await;
    assert_eq!(e4.event_type, EventType::Added);
    assert_eq!(e4.kv, b);
    assert_quiet(&mut watch).await;

    // From the middle of history: only what came after.
    let mut mid = store.watch(&prefix, created.mod_revision).await.unwrap();
    let revisions: Vec<_> = [
        next_event(&mut mid).await.kv.mod_revision,
        next_event(&mut mid).await.kv.mod_revision,
        next_event(&mut mid).await.kv.mod_revision,
    ]
    .into();
    assert_eq!(revisions, vec![updated.mod_revision, deleted.mod_revision, b.mod_revision]);
    assert_quiet(&mut mid).await;
}

/// A watch sees only keys under its prefix.
pub async fn watch_prefix_filtering(store: Arc<dyn Store>) {
    let base = scope("watch-prefix");
    let start = store.current_revision().await.unwrap();
    let mut watch = store.watch(&format!("{base}x/"), start).await.unwrap();
    for key in ["y/1", "x/1", "x", "xy/1", "y/2", "x/2/deep"] {
        store.create(&format!("{base}{key}"), value(key)).await.unwrap();
    }
    assert_eq!(next_event(&mut watch).await.kv.key, format!("{base}x/1"));
    assert_eq!(next_event(&mut watch).await.kv.key, format!("{base}x/2/deep"));
    assert_quiet(&mut watch).await;
}

/// A Deleted event carries the last value, with the deletion's revision.
pub async fn deleted_event_carries_last_value(store: Arc<dyn Store>) {
    let prefix = scope("watch-deleted");
    let key = format!("{prefix}k");
    let created = store.create(&key, value("first")).await.unwrap();
    let last = store.update(&key, value("last"), None).await.unwrap();
    let mut watch = store.watch(&prefix, last.mod_revision).await.unwrap();
    let deleted = store.delete(&key, Some(last.mod_revision)).await.unwrap();
    let event = next_event(&mut watch).await;
    assert_eq!(event.event_type, EventType::Deleted);
    assert_eq!(event.kv.key, key);
    assert_eq!(event.kv.value, value("last"));
    assert_eq!(event.kv.create_revision, created.create_revision);
    assert_eq!(event.kv.mod_revision, deleted.mod_revision);
    assert!(event.kv.mod_revision > last.mod_revision);
    assert_eq!(event.prev, Some(last));
}

/// A watch from the current revision replays nothing and delivers what comes next.
pub async fn watch_from_current_sees_only_new(store: Arc<dyn Store>) {
    let prefix = scope("watch-current");
    store.create(&format!("{prefix}old"), value("old")).await.unwrap();
    let listed = store.list(&prefix, None, 0).await.unwrap();
    let mut watch = store.watch(&prefix, listed.revision).await.unwrap();
    assert_quiet(&mut watch).await;
    let new = store.create(&format!("{prefix}new"), value("new")).await.unwrap();
    let event = next_event(&mut watch).await;
    assert_eq!(event.kv, new);
}

/// A watch started before concurrent writers sees every write once, in revision order.
pub async fn watch_sees_concurrent_writes_in_order(store: Arc<dyn Store>) {
    const TASKS: usize = 16;
    const PER_TASK: usize = 25;
    let prefix = scope("watch-concurrent");
    let start = store.current_revision().await.unwrap();
    let mut watch = store.watch(&prefix, start).await.unwrap();
    let mut handles = Vec::new();
    for t in 0..TASKS {
        let store = Arc::clone(&store);
        let prefix = prefix.clone();
        handles.push(tokio::spawn(async move {
            for i in 0..PER_TASK {
                store.create(&format!("{prefix}{t}-{i}"), value("v")).await.unwrap();
            }
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
    let mut last = start;
    let mut keys = std::collections::HashSet::new();
    for _ in 0..TASKS * PER_TASK {
        let event = next_event(&mut watch).await;
        assert!(event.kv.mod_revision > last);
        last = event.kv.mod_revision;
        assert!(keys.insert(event.kv.key), "event repeated");
    }
    assert_quiet(&mut watch).await;
}

/// After compact(rev), a watch from before rev and a list below rev fail with Compacted; from rev
/// on both work.
pub async fn compaction(store: Arc<dyn Store>) {
    let prefix = scope("compaction");
    let start = store.current_revision().await.unwrap();
    let mut revs = Vec::new();
    for i in 0..5 {
        revs.push(store.create(&format!("{prefix}{i}"), value("v")).await.unwrap().mod_revision);
    }
    let at = revs[2];
    store.compact(at).await.unwrap();
    match store.watch(&prefix, start).await {
        Err(StoreError::Compacted { compacted, current }) => {
            assert!(compacted >= at);
            assert!(current >= revs[4]);
        }
        Ok(_) => panic!("watch from a compacted revision must fail"),
        Err(err) => panic!("expected Compacted, got {err:?}"),
    }
    // A list below the compaction point is refused; at it, it still reads.
    match store.list_at(&prefix, None, 0, at - 1).await {
        Err(StoreError::Compacted { compacted, current }) => {
            assert!(compacted >= at - 1);
            assert!(current >= revs[4]);
        }
        other => panic!("expected Compacted, got {other:?}"),
    }
    let listed = store.list_at(&prefix, None, 0, at).await.unwrap();
    assert_eq!(listed.items.iter().map(|kv| kv.mod_revision).collect::<Vec<_>>(), revs[..3].to_vec());
    // From the compaction point on, history is still there.
    let mut watch = store.watch(&prefix, at).await.unwrap();
    assert_eq!(next_event(&mut watch).await.kv.mod_revision, revs[3]);
    assert_eq!(next_event(&mut watch).await.kv.mod_revision, revs[4]);

    // Compacting again lower is harmless; compacting the future is refused.
    store.compact(revs[1]).await.unwrap();
    let current = store.current_revision().await.unwrap();
    store.compact(current).await.unwrap();
    let mut live = store.watch(&prefix, current).await.unwrap();
    let err = store.compact(current + 1_000_000).await.unwrap_err();
    assert!(matches!(err, StoreError::FutureRevision { .. }), "{err:?}");
    let next = store.create(&format!("{prefix}after"), value("v")).await.unwrap();
    assert_eq!(next_event(&mut live).await.kv, next);
}
