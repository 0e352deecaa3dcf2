//! Conformance cases for reads at a past revision ([`Store::list_at`]), which serve kube's
//! consistent pagination (continue tokens read at the first page's revision) and
//! `resourceVersionMatch=Exact`.

use std::sync::Arc;

use super::{scope, value};
use crate::store::{Store, StoreError};

/// A list at a past revision shows the keys as they were then: later creations absent, later
/// updates and deletions undone, revisions as they were; pages continue at that revision; the
/// current revision reads as `list`; a future one is refused.
pub async fn list_at_past_revisions(store: Arc<dyn Store>) {
    let base = scope("list-at");
    let prefix = format!("{base}in/");
    let key = |name: &str| format!("{prefix}{name}");
    let a = store.create(&key("a"), value("a1")).await.unwrap();
    let b = store.create(&key("b"), value("b1")).await.unwrap();
    let c = store.create(&key("c"), value("c1")).await.unwrap();
    let snapshot = c.mod_revision;

    let a2 = store.update(&key("a"), value("a2"), None).await.unwrap();
    let between = a2.mod_revision;
    store.delete(&key("b"), None).await.unwrap();
    let d = store.create(&key("d"), value("d1")).await.unwrap();
    store.create(&key("bb"), value("gone")).await.unwrap();
    store.delete(&key("bb"), None).await.unwrap();
    store.update(&key("c"), value("c2"), None).await.unwrap();
    store.create(&format!("{base}out"), value("outside")).await.unwrap();

    let then = store.list_at(&prefix, None, 0, snapshot).await.unwrap();
    assert_eq!(then.items, vec![a.clone(), b.clone(), c.clone()]);
    assert_eq!(then.revision, snapshot);
    assert!(!then.remaining);

    // Pages of 2 at the snapshot, whatever happened since.
    let first = store.list_at(&prefix, None, 2, snapshot).await.unwrap();
    assert_eq!((first.items, first.remaining, first.remaining_count), (vec![a.clone(), b.clone()], true, 1));
    let second = store.list_at(&prefix, Some(&b.key), 2, snapshot).await.unwrap();
    assert_eq!((second.items, second.remaining, second.remaining_count), (vec![c.clone()], false, 0));
    let exact = store.list_at(&prefix, None, 3, snapshot).await.unwrap();
    assert_eq!((exact.items.len(), exact.remaining), (3, false));

    // After the update of `a`, before the deletion of `b`.
    let mid = store.list_at(&prefix, None, 0, between).await.unwrap();
    assert_eq!(mid.items, vec![a2, b, c]);

    // At the current revision: what `list` says.
    let now = store.current_revision().await.unwrap();
    let at_now = store.list_at(&prefix, None, 0, now).await.unwrap();
    let listed = store.list(&prefix, None, 0).await.unwrap();
    assert_eq!(at_now.items, listed.items);
    assert_eq!(at_now.revision, now);
    assert_eq!(
        at_now.items.iter().map(|kv| kv.key.clone()).collect::<Vec<_>>(),
        vec![key("a"), key("c"), d.key]
    );

    // Nothing under a prefix, or past the last key: an empty page at that revision.
    let none = store.list_at(&format!("{base}nothing/"), None, 0, snapshot).await.unwrap();
    assert_eq!((none.items.len(), none.revision, none.remaining), (0, snapshot, false));

    match store.list_at(&prefix, None, 0, now + 1_000_000).await {
        Err(StoreError::FutureRevision { requested, current }) => {
            assert_eq!(requested, now + 1_000_000);
            assert!(current >= now);
        }
        other => panic!("expected FutureRevision, got {other:?}"),
    }
}
