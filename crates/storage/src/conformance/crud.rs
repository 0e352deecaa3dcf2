//! Conformance cases for reads and writes: create, get, update, delete, list, revisions,
//! concurrency.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;

use super::{scope, value};
use crate::store::{Store, StoreError};

/// create, get, AlreadyExists.
pub async fn create_get_already_exists(store: Arc<dyn Store>) {
    let key = format!("{}a", scope("create"));
    assert_eq!(store.get(&key).await.unwrap(), None);
    let kv = store.create(&key, value("1")).await.unwrap();
    assert_eq!(kv.key, key);
    assert_eq!(kv.value, value("1"));
    assert!(kv.create_revision >= 1);
    assert_eq!(kv.create_revision, kv.mod_revision);
    assert_eq!(store.get(&key).await.unwrap(), Some(kv.clone()));
    assert!(store.current_revision().await.unwrap() >= kv.mod_revision);

    let err = store.create(&key, value("2")).await.unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists), "{err:?}");
    assert_eq!(store.get(&key).await.unwrap(), Some(kv));
}

/// update with and without an expected revision; Conflict carries the current value.
pub async fn update_with_and_without_expected(store: Arc<dyn Store>) {
    let key = format!("{}a", scope("update"));
    let err = store.update(&key, value("x"), None).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    let err = store.update(&key, value("x"), Some(1)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");

    let created = store.create(&key, value("1")).await.unwrap();
    let v2 = store.update(&key, value("2"), None).await.unwrap();
    assert_eq!(v2.value, value("2"));
    assert_eq!(v2.create_revision, created.create_revision);
    assert!(v2.mod_revision > created.mod_revision);

    let v3 = store.update(&key, value("3"), Some(v2.mod_revision)).await.unwrap();
    assert_eq!(v3.create_revision, created.create_revision);
    assert!(v3.mod_revision > v2.mod_revision);
    assert_eq!(store.get(&key).await.unwrap(), Some(v3.clone()));

    match store.update(&key, value("stale"), Some(v2.mod_revision)).await {
        Err(StoreError::Conflict { current }) => assert_eq!(current, v3),
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(store.get(&key).await.unwrap(), Some(v3));
}

/// delete with and without a precondition; the deleted value comes back with the deletion's
/// revision.
pub async fn delete_with_precondition(store: Arc<dyn Store>) {
    let prefix = scope("delete");
    let key = format!("{prefix}a");
    let err = store.delete(&key, None).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");

    let created = store.create(&key, value("1")).await.unwrap();
    let updated = store.update(&key, value("2"), None).await.unwrap();
    match store.delete(&key, Some(created.mod_revision)).await {
        Err(StoreError::Conflict { current }) => assert_eq!(current, updated),
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(store.get(&key).await.unwrap(), Some(updated.clone()));

    let deleted = store.delete(&key, Some(updated.mod_revision)).await.unwrap();
    assert_eq!(deleted.key, key);
    assert_eq!(deleted.value, value("2"));
    assert_eq!(deleted.create_revision, created.create_revision);
    assert!(deleted.mod_revision > updated.mod_revision);
    assert!(store.current_revision().await.unwrap() >= deleted.mod_revision);
    assert_eq!(store.get(&key).await.unwrap(), None);
    let err = store.delete(&key, None).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");

    // Deleting without a precondition, and re-creating: a new life, a new create_revision.
    let again = store.create(&key, value("3")).await.unwrap();
    assert!(again.create_revision > deleted.mod_revision);
    let gone = store.delete(&key, None).await.unwrap();
    assert_eq!(gone.value, value("3"));
    assert!(gone.mod_revision > again.mod_revision);
}

/// list: prefix match, key order, start_after, limit, remaining, revision.
pub async fn list_prefix_order_pagination(store: Arc<dyn Store>) {
    let base = scope("list");
    let prefix = format!("{base}a/");
    // Keys just outside the prefix, on both sides of it in key order.
    for outside in [format!("{base}a"), format!("{base}a."), format!("{base}a0"), format!("{base}ab/x")] {
        store.create(&outside, value("outside")).await.unwrap();
    }
    let names = ["m", "c", "x", "a", "b/1", "b", "z", "k"];
    for name in names {
        store.create(&format!("{prefix}{name}"), value(name)).await.unwrap();
    }
    let mut expected: Vec<String> = names.iter().map(|n| format!("{prefix}{n}")).collect();
    expected.sort();

    let before = store.current_revision().await.unwrap();
    let all = store.list(&prefix, None, 0).await.unwrap();
    let keys: Vec<_> = all.items.iter().map(|kv| kv.key.clone()).collect();
    assert_eq!(keys, expected);
    assert!(!all.remaining);
    assert!(all.revision >= before);
    for kv in &all.items {
        assert_eq!(store.get(&kv.key).await.unwrap().as_ref(), Some(kv));
    }

    // Pages of 3: 3 + 3 + 2.
    let mut paged = Vec::new();
    let mut start_after: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = store.list(&prefix, start_after.as_deref(), 3).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= 3);
        paged.extend(page.items.iter().map(|kv| kv.key.clone()));
        // Every key of the prefix after this page, none outside it.
        assert_eq!(page.remaining_count, (expected.len() - paged.len()) as u64, "after {paged:?}");
        if !page.remaining {
            break;
        }
        assert_eq!(page.items.len(), 3, "a page with more after it must be full");
        start_after = page.items.last().map(|kv| kv.key.clone());
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(paged, expected);

    // An exactly full last page has nothing remaining.
    let exact = store.list(&prefix, expected.get(4).map(String::as_str), 3).await.unwrap();
    assert_eq!(exact.items.len(), 3);
    assert!(!exact.remaining);

    // start_after that is not a key, and one before the prefix.
    let mid = store.list(&prefix, Some(&format!("{prefix}l")), 0).await.unwrap();
    assert_eq!(mid.items.first().map(|kv| kv.key.clone()), Some(format!("{prefix}m")));
    let before_prefix = store.list(&prefix, Some(&base), 2).await.unwrap();
    assert_eq!(before_prefix.items.iter().map(|kv| kv.key.clone()).collect::<Vec<_>>(), expected[..2]);
    assert!(before_prefix.remaining);
    let past_end = store.list(&prefix, expected.last().map(String::as_str), 0).await.unwrap();
    assert!(past_end.items.is_empty());
    assert!(!past_end.remaining);

    let empty = store.list(&format!("{base}nothing/"), None, 5).await.unwrap();
    assert!(empty.items.is_empty());
    assert!(!empty.remaining);
}

/// Every write gets a higher revision; the list revision covers the writes before it.
pub async fn revisions_strictly_increase(store: Arc<dyn Store>) {
    let prefix = scope("revisions");
    let start = store.current_revision().await.unwrap();
    let mut last = start;
    for i in 0..20 {
        let key = format!("{prefix}{}", i % 4);
        let kv = match store.get(&key).await.unwrap() {
            None => store.create(&key, value("c")).await.unwrap(),
            Some(_) if i % 3 == 0 => store.delete(&key, None).await.unwrap(),
            Some(_) => store.update(&key, value("u"), None).await.unwrap(),
        };
        assert!(kv.mod_revision > last, "revision {} after {last}", kv.mod_revision);
        last = kv.mod_revision;
        let listed = store.list(&prefix, None, 0).await.unwrap();
        assert!(listed.revision >= last);
        assert!(store.current_revision().await.unwrap() >= last);
    }
    // Failed writes change nothing.
    let key = format!("{prefix}fail");
    assert!(store.update(&key, value("x"), None).await.is_err());
    assert!(store.delete(&key, None).await.is_err());
    assert_eq!(store.get(&key).await.unwrap(), None);
}

/// Values are bytes: empty, binary and large values come back exactly.
pub async fn values_are_opaque(store: Arc<dyn Store>) {
    let prefix = scope("opaque");
    let binary: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
    let large: Vec<u8> = (0..1_500_000u32).map(|i| (i % 251) as u8).collect();
    for (name, bytes) in [("empty", Vec::new()), ("binary", binary), ("large", large)] {
        let key = format!("{prefix}{name}");
        let kv = store.create(&key, Bytes::from(bytes.clone())).await.unwrap();
        assert_eq!(kv.value.as_ref(), bytes.as_slice());
        let got = store.get(&key).await.unwrap().map(|kv| kv.value);
        assert_eq!(got.as_deref(), Some(bytes.as_slice()), "{name}");
    }
}

/// 64 tasks x 50 creates: every acknowledged write is there, revisions are unique.
pub async fn concurrent_writers(store: Arc<dyn Store>) {
    const TASKS: usize = 64;
    const PER_TASK: usize = 50;
    let prefix = scope("concurrent");
    let mut handles = Vec::new();
    for t in 0..TASKS {
        let store = Arc::clone(&store);
        let prefix = prefix.clone();
        handles.push(tokio::spawn(async move {
            let mut out = Vec::with_capacity(PER_TASK);
            for i in 0..PER_TASK {
                let key = format!("{prefix}{t:02}-{i:02}");
                out.push(store.create(&key, value(&key)).await.unwrap());
            }
            out
        }));
    }
    let mut revisions = HashSet::new();
    let mut acked = Vec::new();
    for handle in handles {
        for kv in handle.await.unwrap() {
            assert!(revisions.insert(kv.mod_revision), "revision {} given twice", kv.mod_revision);
            acked.push(kv);
        }
    }
    assert_eq!(acked.len(), TASKS * PER_TASK);
    let listed = store.list(&prefix, None, 0).await.unwrap();
    assert_eq!(listed.items.len(), TASKS * PER_TASK);
    acked.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(listed.items, acked);
    let max = revisions.iter().copied().max().unwrap_or(0);
    assert!(listed.revision >= max);
}

/// Many tasks increment one counter with compare-and-swap; no increment is lost.
pub async fn concurrent_compare_and_swap(store: Arc<dyn Store>) {
    const TASKS: usize = 16;
    const PER_TASK: usize = 10;
    let key = format!("{}counter", scope("cas"));
    store.create(&key, Bytes::from_static(b"0")).await.unwrap();
    let mut handles = Vec::new();
    for _ in 0..TASKS {
        let store = Arc::clone(&store);
        let key = key.clone();
        handles.push(tokio::spawn(async move {
            let mut conflicts = 0usize;
            let mut done = 0;
            while done < PER_TASK {
                let cur = store.get(&key).await.unwrap().unwrap();
                let n: usize = std::str::from_utf8(&cur.value).unwrap().parse().unwrap();
                match store.update(&key, Bytes::from((n + 1).to_string()), Some(cur.mod_revision)).await {
                    Ok(_) => done += 1,
                    Err(StoreError::Conflict { current }) => {
                        assert!(current.mod_revision > cur.mod_revision);
                        conflicts += 1;
                    }
                    Err(err) => panic!("unexpected error {err:?}"),
                }
            }
            conflicts
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
    let fin = store.get(&key).await.unwrap().unwrap();
    assert_eq!(fin.value, Bytes::from((TASKS * PER_TASK).to_string()));
}
