//! The etcd backend's watch cache against a real etcd (started per test by `TestEtcd`): reads
//! answered from the cache see every write acknowledged before them, by this store or another
//! one; lists at a past revision (continue tokens) are answered from its history; writes outside
//! the store's key prefix do not hold reads up; the cache comes back after etcd restarts; and
//! the conformance suite still passes with the cache off. Needs the `etcd` binary (Debian:
//! etcd-server); `KUBEWARD_SKIP_ETCD=1` skips these tests.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use storage::etcd::{CacheStats, TestEtcd};
use storage::{conformance, EtcdOptions, EtcdStore, EventType, Store, StoreError};

/// Waits until the store's cache is ready, and returns its counters then.
async fn ready(store: &EtcdStore) -> CacheStats {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let stats = store.cache_stats().expect("the watch cache is on by default");
        if stats.revision > 0 {
            return stats;
        }
        assert!(Instant::now() < deadline, "the watch cache did not get ready: {stats:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The cache's hits and misses since `before`.
fn since(store: &EtcdStore, before: CacheStats) -> (u64, u64) {
    let now = store.cache_stats().unwrap();
    (now.hits - before.hits, now.misses - before.misses)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn etcd_store_passes_the_conformance_suite_without_the_watch_cache() {
    let Some(etcd) = TestEtcd::start_or_skip().await else { return };
    conformance::run_all_async(|| async { etcd.connect_uncached("/kubeward-u").await.unwrap() }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_from_the_cache_see_every_acknowledged_write_of_any_store() {
    let Some(etcd) = TestEtcd::start_or_skip().await else { return };
    let writer = Arc::new(etcd.connect("/kw").await.unwrap());
    let reader = Arc::new(etcd.connect("/kw").await.unwrap());
    let before = ready(&reader).await;
    ready(&writer).await;

    // Writers on one store, readers on the other: the moment a write is acknowledged, a read
    // that starts after it sees it (or something newer).
    let mut tasks = Vec::new();
    for t in 0..8 {
        let (writer, reader) = (writer.clone(), reader.clone());
        tasks.push(tokio::spawn(async move {
            let key = format!("/objects/{t}");
            let mut last = writer.create(&key, conformance::value("0")).await.unwrap();
            for i in 1..40 {
                let seen = reader.get(&key).await.unwrap().expect("an acknowledged create is readable");
                assert_eq!(seen, last, "a read after the write saw an older value");
                let listed = reader.list("/objects/", None, 0).await.unwrap();
                assert!(listed.revision >= last.mod_revision);
                assert!(listed.items.contains(&last), "a list after the write missed it");
                last = writer
                    .update(&key, conformance::value(&i.to_string()), Some(last.mod_revision))
                    .await
                    .unwrap();
            }
            let gone = writer.delete(&key, None).await.unwrap();
            assert_eq!(reader.get(&key).await.unwrap(), None, "a read after the delete still saw the key");
            assert!(reader.current_revision().await.unwrap() >= gone.mod_revision);
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let (hits, misses) = since(&reader, before);
    eprintln!("reader: {hits} reads from the cache, {misses} from etcd");
    assert_eq!(misses, 0, "a healthy cache answered every read");
    assert!(hits >= 8 * 39 * 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pages_at_a_past_revision_come_from_the_cache_history() {
    let Some(etcd) = TestEtcd::start_or_skip().await else { return };
    let store = etcd.connect("/kw").await.unwrap();
    ready(&store).await;
    let mut created = Vec::new();
    for name in ["a", "b", "c", "d", "e"] {
        created.push(store.create(&format!("/p/{name}"), conformance::value(name)).await.unwrap());
    }
    let first = store.list("/p/", None, 2).await.unwrap();
    assert_eq!((first.items.clone(), first.remaining), (created[..2].to_vec(), true));
    let at = first.revision;

    // Changes after the first page do not show on the next ones.
    store.update("/p/c", conformance::value("c2"), None).await.unwrap();
    store.delete("/p/d", None).await.unwrap();
    store.create("/p/bb", conformance::value("bb")).await.unwrap();
    let before = store.cache_stats().unwrap();
    let second = store.list_at("/p/", Some("/p/b"), 2, at).await.unwrap();
    assert_eq!((second.items, second.remaining, second.revision), (created[2..4].to_vec(), true, at));
    let third = store.list_at("/p/", Some("/p/d"), 2, at).await.unwrap();
    assert_eq!((third.items, third.remaining), (created[4..].to_vec(), false));
    assert_eq!(since(&store, before), (2, 0), "both pages came from the cache");

    // Another store, whose cache started later, reads the same pages (from etcd: its
    // history does not reach back that far).
    let other = etcd.connect("/kw").await.unwrap();
    let before = ready(&other).await;
    let again = other.list_at("/p/", Some("/p/b"), 2, at).await.unwrap();
    assert_eq!(again.items, created[2..4].to_vec());
    assert_eq!(since(&other, before), (0, 1));

    // Below this store's own compaction, etcd answers: Compacted.
    let now = store.current_revision().await.unwrap();
    store.compact(now).await.unwrap();
    match store.list_at("/p/", None, 0, at).await {
        Err(StoreError::Compacted { .. }) => {}
        other => panic!("expected Compacted, got {other:?}"),
    }
    let future = store.list_at("/p/", None, 0, now + 1000).await.unwrap_err();
    assert!(matches!(future, StoreError::FutureRevision { requested, .. } if requested == now + 1000));
}

/// The counters now, to compare later reads with.
fn before_of(store: &EtcdStore) -> CacheStats {
    store.cache_stats().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_outside_the_key_prefix_do_not_hold_reads_up() {
    let Some(etcd) = TestEtcd::start_or_skip().await else { return };
    let store = etcd.connect("/kw").await.unwrap();
    let elsewhere = etcd.connect_uncached("/other").await.unwrap();
    ready(&store).await;
    let mine = store.create("/x", conformance::value("mine")).await.unwrap();
    let before = before_of(&store);
    let began = Instant::now();
    for i in 0..20 {
        // The latest revision is always one this store's key space has no event for.
        let theirs = elsewhere.create(&format!("/y{i}"), conformance::value("theirs")).await.unwrap();
        assert_eq!(store.get("/x").await.unwrap(), Some(mine.clone()));
        let listed = store.list("/", None, 0).await.unwrap();
        assert_eq!((listed.items.len(), listed.revision >= theirs.mod_revision), (1, true));
    }
    let took = began.elapsed();
    assert_eq!(since(&store, before), (40, 0), "every read came from the cache");
    assert!(took < Duration::from_secs(5), "40 reads took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_cache_comes_back_after_etcd_restarts() {
    let Some(mut etcd) = TestEtcd::start_or_skip().await else { return };
    let store = etcd.connect("/kw").await.unwrap();
    ready(&store).await;
    let kept = store.create("/kept", conformance::value("1")).await.unwrap();
    etcd.kill();
    let err = store.get("/kept").await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");

    etcd.restart().await.unwrap();
    // Reads work at once (from etcd while the cache re-lists), then from the cache again.
    let deadline = Instant::now() + Duration::from_secs(30);
    let value = loop {
        match store.get("/kept").await {
            Ok(value) => break value,
            Err(err) if Instant::now() < deadline => eprintln!("while etcd restarts: {err}"),
            Err(err) => panic!("etcd is back but reads fail: {err}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(value, Some(kept.clone()));
    let relisted = ready(&store).await;
    assert!(relisted.lists >= 2, "{relisted:?}");
    let next = store.update("/kept", conformance::value("2"), Some(kept.mod_revision)).await.unwrap();
    let before = before_of(&store);
    assert_eq!(store.get("/kept").await.unwrap(), Some(next));
    assert_eq!(since(&store, before), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn watches_come_from_the_cache_and_go_on_with_etcd_past_its_history() {
    let Some(etcd) = TestEtcd::start_or_skip().await else { return };
    let options = EtcdOptions { watch_cache_history: 5, ..etcd.options("/kw") };
    let store = EtcdStore::connect(&[etcd.endpoint()], options).await.unwrap();
    let writer = etcd.connect_uncached("/kw").await.unwrap();
    let before = ready(&store).await;

    let start = store.current_revision().await.unwrap();
    let mut watch = store.watch("/w/", start).await.unwrap();
    assert_eq!(store.cache_stats().unwrap().watches, before.watches + 1, "served from the cache");
    let first = writer.create("/w/0", conformance::value("0")).await.unwrap();
    let event = conformance::next_event(&mut watch).await;
    assert_eq!((event.event_type, event.kv), (EventType::Added, first.clone()));
    let created_at = first.mod_revision;

    // Twenty more writes while the watcher does not read: the cache keeps five, so the
    // watcher's cursor falls out of its history and it goes on with etcd, missing nothing.
    let mut written = Vec::new();
    let mut last = first;
    for i in 1..=20 {
        last =
            writer.update("/w/0", conformance::value(&i.to_string()), Some(last.mod_revision)).await.unwrap();
        written.push(last.clone());
        writer.create(&format!("/elsewhere/{i}"), conformance::value("x")).await.unwrap();
    }
    for expected in &written {
        let event = conformance::next_event(&mut watch).await;
        assert_eq!((event.event_type, &event.kv), (EventType::Modified, expected));
    }
    assert_eq!(store.cache_stats().unwrap().handed_over, before.handed_over + 1, "went on with etcd");
    conformance::assert_quiet(&mut watch).await;
    let deleted = writer.delete("/w/0", None).await.unwrap();
    let event = conformance::next_event(&mut watch).await;
    assert_eq!((event.event_type, event.kv), (EventType::Deleted, deleted.clone()));

    // A watch from before the kept history is etcd's from the start; one from before etcd's
    // compaction fails as etcd's does.
    let watches = store.cache_stats().unwrap().watches;
    let mut old = store.watch("/w/", start).await.unwrap();
    assert_eq!(store.cache_stats().unwrap().watches, watches, "history too short: etcd's watch");
    assert_eq!(conformance::next_event(&mut old).await.kv.mod_revision, created_at);
    store.compact(deleted.mod_revision).await.unwrap();
    match store.watch("/w/", start).await {
        Err(StoreError::Compacted { compacted, .. }) => assert_eq!(compacted, deleted.mod_revision),
        Ok(_) => panic!("a watch from a compacted revision must fail"),
        Err(err) => panic!("expected Compacted, got {err:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_watcher_of_one_resource_stays_on_the_cache_while_others_move_history_on() {
    let Some(etcd) = TestEtcd::start_or_skip().await else { return };
    let options = EtcdOptions { watch_cache_history: 5, ..etcd.options("/kw") };
    let store = EtcdStore::connect(&[etcd.endpoint()], options).await.unwrap();
    let writer = etcd.connect_uncached("/kw").await.unwrap();
    let before = ready(&store).await;

    let start = store.current_revision().await.unwrap();
    let mut configmaps = store.watch("/registry/core/configmaps/", start).await.unwrap();
    let mut configmaps_a = store.watch("/registry/core/configmaps/a/", start).await.unwrap();
    let mut everything = store.watch("/registry/", start).await.unwrap();
    // Twenty pods while the watchers of configmaps (all, and in namespace `a`) sleep:
    // history (five events) moves past their cursors with none of their events in it. The
    // watcher of everything reads each as it comes.
    for i in 0..20 {
        let pod =
            writer.create(&format!("/registry/core/pods/b/p{i}"), conformance::value("p")).await.unwrap();
        let event = conformance::next_event(&mut everything).await;
        assert_eq!((event.event_type, event.kv), (EventType::Added, pod));
    }
    let configmap = writer.create("/registry/core/configmaps/a/c", conformance::value("c")).await.unwrap();
    let pod = writer.create("/registry/core/pods/a/p", conformance::value("p")).await.unwrap();
    for watch in [&mut configmaps, &mut configmaps_a] {
        let event = conformance::next_event(watch).await;
        assert_eq!((event.event_type, &event.kv), (EventType::Added, &configmap));
    }
    for expected in [&configmap, &pod] {
        assert_eq!(&conformance::next_event(&mut everything).await.kv, expected);
    }
    conformance::assert_quiet(&mut configmaps).await;
    conformance::assert_quiet(&mut configmaps_a).await;
    let stats = store.cache_stats().unwrap();
    assert_eq!(stats.watches, before.watches + 3, "served from the cache");
    assert_eq!(stats.handed_over, before.handed_over, "nobody missed an event: nobody left the cache");

    // A sleeping watcher whose own events fell out of history does leave it, missing nothing.
    let mut pods_c = store.watch("/registry/core/pods/c/", pod.mod_revision).await.unwrap();
    let mut written = Vec::new();
    for i in 0..8 {
        written.push(
            writer.create(&format!("/registry/core/pods/c/p{i}"), conformance::value("p")).await.unwrap(),
        );
    }
    for expected in &written {
        assert_eq!(&conformance::next_event(&mut pods_c).await.kv, expected);
    }
    conformance::assert_quiet(&mut pods_c).await;
    assert_eq!(store.cache_stats().unwrap().handed_over, before.handed_over + 1);
    drop(store);
    // A watcher of a dropped store ends with an error instead of sleeping forever.
    let ended = tokio::time::timeout(Duration::from_secs(5), futures::StreamExt::next(&mut configmaps)).await;
    assert!(matches!(ended, Ok(Some(Err(StoreError::Unavailable(_))))), "got {ended:?}");
}

/// etcd's count of Range requests it answered, from its Prometheus metrics.
fn etcd_ranges(etcd: &TestEtcd) -> u64 {
    use std::io::{Read, Write};
    let address = etcd.endpoint().trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    write!(stream, "GET /metrics HTTP/1.0\r\nHost: {address}\r\n\r\n").unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text.lines()
        .filter(|l| l.starts_with("grpc_server_handled_total{") && l.contains("grpc_method=\"Range\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_consistent_reads_share_etcd_round_trips() {
    let Some(etcd) = TestEtcd::start_or_skip().await else { return };
    let store = Arc::new(etcd.connect("/kw").await.unwrap());
    ready(&store).await;
    let written = store.create("/shared", conformance::value("1")).await.unwrap();
    let before = etcd_ranges(&etcd);
    let mut readers = Vec::new();
    for _ in 0..200 {
        let store = store.clone();
        readers.push(tokio::spawn(async move {
            let rev = store.current_revision().await.unwrap();
            let got = store.get("/shared").await.unwrap();
            (rev, got)
        }));
    }
    for reader in readers {
        let (rev, got) = reader.await.unwrap();
        assert!(rev >= written.mod_revision);
        assert_eq!(got, Some(written.clone()));
    }
    let ranges = etcd_ranges(&etcd) - before;
    eprintln!("400 consistent reads made {ranges} etcd range requests");
    assert!(ranges < 100, "{ranges} etcd reads for 400 consistent reads: they are not shared");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn what_a_starting_store_reads_and_watches_comes_from_the_cache() {
    let Some(etcd) = TestEtcd::start_or_skip().await else { return };
    let writer = etcd.connect_uncached("/kw").await.unwrap();
    for i in 0..100 {
        writer.create(&format!("/s/{i:03}"), conformance::value("v")).await.unwrap();
    }
    // At once after connecting, as a server's informers do: list, then watch from the list.
    let store = etcd.connect("/kw").await.unwrap();
    let listed = store.list("/s/", None, 0).await.unwrap();
    let mut watch = store.watch("/s/", listed.revision).await.unwrap();
    let stats = store.cache_stats().unwrap();
    assert_eq!((listed.items.len(), stats.hits, stats.misses, stats.watches), (100, 1, 0, 1), "{stats:?}");
    let next = writer.create("/s/next", conformance::value("v")).await.unwrap();
    assert_eq!(conformance::next_event(&mut watch).await.kv, next);
}
