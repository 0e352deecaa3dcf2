//! Store write throughput: creates per second with 1, 16 and 64 concurrent clients, each create
//! acknowledged only once durable, on the embedded store and (when the `etcd` binary is there) on
//! the etcd store against a local single-member etcd with default fsync, in the same run. After
//! each embedded client count it prints the mean number of writes per commit (one commit = one
//! fsync), which shows group commit at work; at the end, creates/s of both and their ratio.
//!
//! `cargo bench -p storage --bench store` (`KUBEWARD_SKIP_ETCD=1` leaves etcd out)

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, Throughput};
use storage::etcd::TestEtcd;
use storage::{EmbeddedStore, Store};
use tokio::runtime::Runtime;

const CLIENTS: [usize; 3] = [1, 16, 64];

/// Creates and time spent, per (backend, clients), over every timed run.
type Totals = Arc<Mutex<BTreeMap<(&'static str, usize), (u64, Duration)>>>;

/// A typical small object: ~600 bytes of JSON.
fn object(name: &str) -> Bytes {
    Bytes::from(format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{{\"name\":\"{name}\",\"namespace\":\"default\",\
         \"labels\":{{\"app\":\"bench\"}}}},\"data\":{{\"payload\":\"{}\"}}}}",
        "x".repeat(480)
    ))
}

/// Benchmarks `clients` concurrent creators on `store`, adding what it timed to `totals`.
fn bench_creates<M: criterion::measurement::Measurement<Value = Duration>>(
    group: &mut BenchmarkGroup<'_, M>,
    rt: &Runtime,
    backend: &'static str,
    store: Arc<dyn Store>,
    clients: usize,
    totals: &Totals,
) {
    let counter = Arc::new(AtomicU64::new(0));
    group.bench_with_input(BenchmarkId::from_parameter(clients), &clients, |b, &clients| {
        b.to_async(rt).iter_custom(|iters| {
            let store = Arc::clone(&store);
            let counter = Arc::clone(&counter);
            let totals = Arc::clone(totals);
            async move {
                let start = Instant::now();
                let mut tasks = Vec::with_capacity(clients);
                for client in 0..clients as u64 {
                    // Spread `iters` creates over the clients.
                    let n = iters / clients as u64 + u64::from(client < iters % clients as u64);
                    let store = Arc::clone(&store);
                    let counter = Arc::clone(&counter);
                    tasks.push(tokio::spawn(async move {
                        for _ in 0..n {
                            let i = counter.fetch_add(1, Ordering::Relaxed);
                            let key = format!("/registry/configmaps/default/cm-{i:010}");
                            store.create(&key, object(&key)).await.unwrap();
                        }
                    }));
                }
                for task in tasks {
                    task.await.unwrap();
                }
                let elapsed = start.elapsed();
                let mut totals = totals.lock().unwrap();
                let entry = totals.entry((backend, clients)).or_default();
                entry.0 += iters;
                entry.1 += elapsed;
                elapsed
            }
        });
    });
}

fn creates(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let totals = Totals::default();

    let mut group = c.benchmark_group("embedded_create");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    group.throughput(Throughput::Elements(1));
    for clients in CLIENTS {
        let tmp = tempfile::tempdir().unwrap();
        let store = Arc::new(EmbeddedStore::open(tmp.path()).unwrap());
        let before = store.stats();
        bench_creates(&mut group, &rt, "embedded", store.clone(), clients, &totals);
        let after = store.stats();
        let commits = after.commits - before.commits;
        let writes = after.writes - before.writes;
        eprintln!(
            "embedded_create/{clients}: {writes} writes in {commits} commits, {:.1} writes per fsync",
            writes as f64 / commits.max(1) as f64
        );
    }
    group.finish();

    let etcd = if TestEtcd::skip_requested() || TestEtcd::binary().is_none() {
        eprintln!("note: no etcd binary (or KUBEWARD_SKIP_ETCD=1): the etcd store is not benchmarked");
        None
    } else {
        rt.block_on(TestEtcd::start_or_skip())
    };
    if let Some(etcd) = &etcd {
        let mut group = c.benchmark_group("etcd_create");
        group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
        group.throughput(Throughput::Elements(1));
        for clients in CLIENTS {
            let store = rt.block_on(etcd.connect(&format!("/bench-{clients}"))).unwrap();
            bench_creates(&mut group, &rt, "etcd", Arc::new(store), clients, &totals);
        }
        group.finish();
    }

    let totals = totals.lock().unwrap();
    let rate = |backend, clients| {
        totals.get(&(backend, clients)).map(|(n, t): &(u64, Duration)| *n as f64 / t.as_secs_f64().max(1e-9))
    };
    eprintln!("\ncreates/s      embedded        etcd   embedded/etcd");
    for clients in CLIENTS {
        let embedded = rate("embedded", clients).unwrap_or(0.0);
        match rate("etcd", clients) {
            Some(etcd) => eprintln!(
                "{clients:>3} clients  {embedded:>10.0}  {etcd:>10.0}  {:>14.2}",
                embedded / etcd.max(1e-9)
            ),
            None => eprintln!("{clients:>3} clients  {embedded:>10.0}           -               -"),
        }
    }
}

criterion_group!(benches, creates);
criterion_main!(benches);
