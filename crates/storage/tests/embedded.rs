//! Behaviour specific to the embedded store: bounded history for slow watchers, watches ending
//! when the store closes, and group commit.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use storage::{EmbeddedOptions, EmbeddedStore, Store, StoreError};

#[tokio::test]
async fn a_watcher_that_falls_out_of_history_gets_compacted_and_ends() {
    let tmp = tempfile::tempdir().unwrap();
    let options = EmbeddedOptions { history_events: 10, ..EmbeddedOptions::default() };
    let store = EmbeddedStore::open_with(tmp.path(), options).unwrap();
    let mut slow = store.watch("/", 0).await.unwrap();
    let mut keeping_up = store.watch("/", 0).await.unwrap();
    for i in 0..25 {
        store.create(&format!("/k/{i:02}"), Bytes::from("v")).await.unwrap();
        let event = tokio::time::timeout(Duration::from_secs(5), keeping_up.next()).await.unwrap();
        assert_eq!(event.unwrap().unwrap().kv.mod_revision, i + 1);
    }
    assert_eq!(store.compacted_revision(), 15);
    match slow.next().await {
        Some(Err(StoreError::Compacted { compacted: 15, current: 25 })) => {}
        other => panic!("expected Compacted, got {other:?}"),
    }
    assert!(slow.next().await.is_none());
    // A new watch from inside the kept history works.
    let mut resumed = store.watch("/", 15).await.unwrap();
    assert_eq!(resumed.next().await.unwrap().unwrap().kv.mod_revision, 16);
}

/// Watchers are woken only by commits under their resource; one that slept while other
/// resources' writes moved history past it missed nothing and goes on, while one behind on
/// its own resource's events still gets Compacted.
#[tokio::test]
async fn an_idle_watcher_outlives_history_moved_by_other_resources() {
    let tmp = tempfile::tempdir().unwrap();
    let options = EmbeddedOptions { history_events: 10, ..EmbeddedOptions::default() };
    let store = EmbeddedStore::open_with(tmp.path(), options).unwrap();
    let mut pods = store.watch("/registry/core/pods/", 0).await.unwrap();
    let mut pods_in_a = store.watch("/registry/core/pods/a/", 0).await.unwrap();
    let mut slow_configmaps = store.watch("/registry/core/configmaps/", 0).await.unwrap();
    for i in 0..25 {
        store.create(&format!("/registry/core/configmaps/a/{i:02}"), Bytes::from("v")).await.unwrap();
    }
    assert_eq!(store.compacted_revision(), 15);
    store.create("/registry/core/pods/a/web", Bytes::from("v")).await.unwrap();
    for watch in [&mut pods, &mut pods_in_a] {
        let event = tokio::time::timeout(Duration::from_secs(5), watch.next()).await.unwrap();
        let event = event.unwrap().unwrap();
        assert_eq!((event.kv.key.as_str(), event.kv.mod_revision), ("/registry/core/pods/a/web", 26));
    }
    match tokio::time::timeout(Duration::from_secs(5), slow_configmaps.next()).await.unwrap() {
        Some(Err(StoreError::Compacted { compacted: 16, current: 26 })) => {}
        other => panic!("expected Compacted, got {other:?}"),
    }
    // A watch opened at a compacted revision is refused, whatever its resource saw since.
    assert!(matches!(
        store.watch("/registry/core/pods/", 3).await,
        Err(StoreError::Compacted { compacted: 16, .. })
    ));
}

#[tokio::test]
async fn watches_end_when_the_store_is_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(tmp.path()).unwrap();
    let mut watch = store.watch("/", 0).await.unwrap();
    store.create("/a", Bytes::from("v")).await.unwrap();
    drop(store);
    assert_eq!(watch.next().await.unwrap().unwrap().kv.key, "/a");
    match tokio::time::timeout(Duration::from_secs(5), watch.next()).await.unwrap() {
        Some(Err(StoreError::Unavailable(_))) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(watch.next().await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_share_commits() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(tmp.path()).unwrap());
    let mut tasks = Vec::new();
    for t in 0..64 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            for i in 0..20 {
                store.create(&format!("/g/{t}/{i}"), Bytes::from("v")).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let stats = store.stats();
    assert_eq!(stats.writes, 64 * 20);
    assert!(stats.commits < stats.writes / 2, "no group commit: {stats:?}");
}

#[tokio::test]
async fn failed_preconditions_do_not_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(tmp.path()).unwrap();
    store.create("/a", Bytes::from("v")).await.unwrap();
    let before = store.stats();
    assert!(store.create("/a", Bytes::from("v")).await.is_err());
    assert!(store.update("/b", Bytes::from("v"), None).await.is_err());
    assert!(store.delete("/a", Some(99)).await.is_err());
    assert_eq!(store.stats(), before);
    assert_eq!(store.current_revision().await.unwrap(), 1);
}
