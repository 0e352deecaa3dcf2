//! The etcd backend against a real etcd (started per test by `TestEtcd`): the conformance suite,
//! two stores sharing one etcd (several kubeward servers), etcd dying under a watch, acknowledged
//! writes surviving `kill -9` of etcd, and connection failures. Needs the `etcd` binary (Debian: etcd-server); `KUBEWARD_SKIP_ETCD=1`
//! skips these tests.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use storage::etcd::TestEtcd;
use storage::{conformance, EtcdOptions, EtcdStore, EtcdTls, EventType, Store, StoreError};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn etcd_store_passes_the_conformance_suite() {
    let Some(etcd) = TestEtcd::start_or_skip().await else { return };
    // A fresh client per case, all under one key prefix, as one of several servers would be.
    conformance::run_all_async(|| async { etcd.connect("/kubeward-a").await.unwrap() }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_etcd_see_each_others_writes_and_watches() {
    let Some(etcd) = TestEtcd::start_or_skip().await else { return };
    let a = etcd.connect("/kw").await.unwrap();
    let b = etcd.connect("/kw").await.unwrap();
    let elsewhere = etcd.connect("/other").await.unwrap();

    let start = b.list("/pods/", None, 0).await.unwrap().revision;
    let mut b_watch = b.watch("/pods/", start).await.unwrap();
    let created = a.create("/pods/web", conformance::value("1")).await.unwrap();
    assert_eq!(b.get("/pods/web").await.unwrap(), Some(created.clone()));
    let event = conformance::next_event(&mut b_watch).await;
    assert_eq!((event.event_type, event.kv), (EventType::Added, created.clone()));

    // One revision counter: b's write comes after a's, and a's compare-and-swap sees it.
    let updated = b.update("/pods/web", conformance::value("2"), Some(created.mod_revision)).await.unwrap();
    assert!(updated.mod_revision > created.mod_revision);
    match a.update("/pods/web", conformance::value("stale"), Some(created.mod_revision)).await {
        Err(StoreError::Conflict { current }) => assert_eq!(current, updated),
        other => panic!("expected Conflict, got {other:?}"),
    }
    let err = a.create("/pods/web", conformance::value("again")).await.unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists), "{err:?}");
    assert_eq!(conformance::next_event(&mut b_watch).await.kv, updated);

    // a watches what b deletes.
    let mut a_watch = a.watch("/pods/", updated.mod_revision).await.unwrap();
    let deleted = b.delete("/pods/web", None).await.unwrap();
    let event = conformance::next_event(&mut a_watch).await;
    assert_eq!(event.event_type, EventType::Deleted);
    assert_eq!(event.kv, deleted);
    assert_eq!(conformance::next_event(&mut b_watch).await.kv, deleted);
    assert_eq!(a.current_revision().await.unwrap(), b.current_revision().await.unwrap());

    // Another key prefix is another key space on the same revision counter.
    assert!(elsewhere.list("/pods/", None, 0).await.unwrap().items.is_empty());
    let other = elsewhere.create("/pods/web", conformance::value("x")).await.unwrap();
    assert!(other.mod_revision > deleted.mod_revision);
    assert_eq!(a.get("/pods/web").await.unwrap(), None);
    conformance::assert_quiet(&mut a_watch).await;

    // A compaction by one server is seen by the other, with etcd's compacted revision.
    a.compact(deleted.mod_revision).await.unwrap();
    match b.watch("/pods/", created.mod_revision).await {
        Err(StoreError::Compacted { compacted, current }) => {
            assert_eq!(compacted, deleted.mod_revision);
            assert!(current >= other.mod_revision);
        }
        Ok(_) => panic!("watch from a compacted revision must fail"),
        Err(err) => panic!("expected Compacted, got {err:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_watch_ends_with_unavailable_when_etcd_dies() {
    let Some(mut etcd) = TestEtcd::start_or_skip().await else { return };
    let store = etcd.connect("").await.unwrap();
    let start = store.current_revision().await.unwrap();
    let mut watch = store.watch("/w/", start).await.unwrap();
    let kv = store.create("/w/a", conformance::value("a")).await.unwrap();
    assert_eq!(conformance::next_event(&mut watch).await.kv, kv);

    etcd.kill();
    let began = Instant::now();
    match tokio::time::timeout(Duration::from_secs(20), watch.next()).await {
        Ok(Some(Err(StoreError::Unavailable(message)))) => {
            eprintln!("the watch ended with: {message}");
            assert!(message.contains("etcd"), "{message}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    match tokio::time::timeout(Duration::from_secs(5), watch.next()).await {
        Ok(None) => {}
        other => panic!("expected the end of the stream, got {other:?}"),
    }
    // Requests fail too, within the request timeout, and so does a new watch.
    let err = store.get("/w/a").await.unwrap_err();
    eprintln!("a get then fails with: {err}");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let err = store.watch("/w/", kv.mod_revision).await.err().unwrap();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(began.elapsed() < Duration::from_secs(30), "took {:?}", began.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_a_kill_9_of_etcd() {
    let Some(mut etcd) = TestEtcd::start_or_skip().await else { return };
    let store = Arc::new(etcd.connect("/durable").await.unwrap());
    let mut writers = Vec::new();
    for t in 0..8 {
        let store = Arc::clone(&store);
        writers.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0.. {
                match store.create(&format!("/k/{t}-{i}"), conformance::value("v")).await {
                    Ok(kv) => acked.push(kv),
                    Err(_) => break,
                }
            }
            acked
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    etcd.kill();
    let mut acked = Vec::new();
    for writer in writers {
        acked.extend(tokio::time::timeout(Duration::from_secs(20), writer).await.unwrap().unwrap());
    }
    assert!(!acked.is_empty(), "no write was acknowledged before the kill");

    etcd.restart().await.unwrap();
    let store = etcd.connect("/durable").await.unwrap();
    for kv in &acked {
        assert_eq!(store.get(&kv.key).await.unwrap().as_ref(), Some(kv), "lost an acknowledged write");
    }
    let max = acked.iter().map(|kv| kv.mod_revision).max().unwrap_or(0);
    assert!(store.current_revision().await.unwrap() >= max);
    eprintln!("{} acknowledged writes survived kill -9", acked.len());
}

#[tokio::test]
async fn connection_failures_are_unavailable_with_the_reason() {
    let quick = || EtcdOptions { dial_timeout: Duration::from_secs(1), ..EtcdOptions::default() };
    // Nothing listens on a port just freed.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let began = Instant::now();
    let err = EtcdStore::connect(&[format!("http://127.0.0.1:{port}")], quick()).await.err().unwrap();
    assert!(began.elapsed() < Duration::from_secs(5), "took {:?}", began.elapsed());
    eprintln!("connecting to nothing fails with: {err}");
    match err {
        StoreError::Unavailable(message) => assert!(message.contains(&port.to_string()), "{message}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }

    let err = EtcdStore::connect(&[], quick()).await.err().unwrap();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let err = EtcdStore::connect(&["http://bad host:1".to_owned()], quick()).await.err().unwrap();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");

    let tls = EtcdTls { ca_file: "/nonexistent/ca.pem".into(), cert_file: None, key_file: None };
    let err = EtcdStore::connect(&["127.0.0.1:1".to_owned()], EtcdOptions { tls: Some(tls), ..quick() })
        .await
        .err()
        .unwrap();
    match err {
        StoreError::Unavailable(message) => assert!(message.contains("/nonexistent/ca.pem"), "{message}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}
