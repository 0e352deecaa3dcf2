//! Embedded store write throughput: creates per second with 1, 16 and 64 concurrent clients,
//! each create acknowledged only once durable. After each client count it prints the mean number
//! of writes per commit (one commit = one fsync), which shows group commit at work.
//!
//! `cargo bench -p storage --bench store`

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use storage::{EmbeddedStore, Store};

/// A typical small object: ~600 bytes of JSON.
fn object(name: &str) -> Bytes {
    Bytes::from(format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{{\"name\":\"{name}\",\"namespace\":\"default\",\
         \"labels\":{{\"app\":\"bench\"}}}},\"data\":{{\"payload\":\"{}\"}}}}",
        "x".repeat(480)
    ))
}

fn creates(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut group = c.benchmark_group("embedded_create");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    group.throughput(Throughput::Elements(1));
    for clients in [1usize, 16, 64] {
        let tmp = tempfile::tempdir().unwrap();
        let store = Arc::new(EmbeddedStore::open(tmp.path()).unwrap());
        let counter = Arc::new(AtomicU64::new(0));
        let before = store.stats();
        group.bench_with_input(BenchmarkId::from_parameter(clients), &clients, |b, &clients| {
            b.to_async(&rt).iter_custom(|iters| {
                let store = Arc::clone(&store);
                let counter = Arc::clone(&counter);
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
                    start.elapsed()
                }
            });
        });
        let after = store.stats();
        let commits = after.commits - before.commits;
        let writes = after.writes - before.writes;
        eprintln!(
            "embedded_create/{clients}: {writes} writes in {commits} commits, {:.1} writes per fsync",
            writes as f64 / commits.max(1) as f64
        );
    }
    group.finish();
}

criterion_group!(benches, creates);
criterion_main!(benches);
