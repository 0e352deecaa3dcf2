//! The token cache on the hot path: hashing a ~1 KB service-account JWT and finding its
//! entry, against an uncached ES256 service-account verification. Prints the ratio.

#![allow(clippy::unwrap_used)]

use authn::cache::TokenCache;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

#[path = "sa_token.rs"]
#[allow(dead_code)]
mod sa;

fn main() {
    let mut c = criterion::Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .configure_from_args();
    let pem = rcgen::KeyPair::generate().unwrap().serialize_pem();
    let uncached = sa::setup(&pem, false);
    let cached = sa::setup(&pem, true);
    let token = uncached.token.clone();
    let cache: TokenCache<Arc<String>> = TokenCache::new(Duration::from_secs(60), 16_384);
    for i in 0..10_000 {
        cache.insert(format!("other-token-{i}").as_bytes(), Arc::new(i.to_string()), None);
    }
    cache.insert(token.as_bytes(), Arc::new("user".into()), None);
    assert!(cache.get(token.as_bytes()).is_some());

    let mut g = c.benchmark_group("token_cache");
    g.bench_function("hot_lookup_hash_and_get", |b| {
        b.iter(|| cache.get(black_box(token.as_bytes())).unwrap())
    });
    g.bench_function("sa_authenticate_cached_signature", |b| {
        b.iter(|| cached.rt.block_on(cached.authn.authenticate_token(black_box(&token))).unwrap())
    });
    g.bench_function("sa_verify_uncached", |b| {
        b.iter(|| uncached.rt.block_on(uncached.authn.authenticate_token(black_box(&token))).unwrap())
    });
    g.bench_function("sha256_only_sha2", |b| {
        b.iter(|| <sha2::Sha256 as sha2::Digest>::digest(black_box(token.as_bytes())))
    });
    g.bench_function("sha256_only_ring", |b| {
        b.iter(|| ring::digest::digest(&ring::digest::SHA256, black_box(token.as_bytes())))
    });
    g.finish();
    c.final_summary();

    let hot = sa::median_ns(|| drop(cache.get(black_box(token.as_bytes())).unwrap()), 20_000);
    let cached_sa = sa::median_ns(
        || drop(cached.rt.block_on(cached.authn.authenticate_token(black_box(&token))).unwrap()),
        2_000,
    );
    let cold = sa::median_ns(
        || drop(uncached.rt.block_on(uncached.authn.authenticate_token(black_box(&token))).unwrap()),
        200,
    );
    println!(
        "token of {} bytes: cache hit {:.0} ns, SA with cached signature (lookups included) {:.0} ns, \
         uncached SA verify {:.1} us; uncached/hit = {:.0}x",
        token.len(),
        hot,
        cached_sa,
        cold / 1000.0,
        cold / hot
    );
}
