//! Service-account token verification cost: a full bound-token authentication (decode,
//! signature, claims, liveness lookups in an in-memory getter; no cache) against the bare
//! signature check with the pre-parsed key, for ES256 (kubeward's key) and RS256.
//! Prints the ratio; the target is <= 1.2x (see shared/ref/peer-figures.md).

#![allow(clippy::unwrap_used)]

use authn::serviceaccount::{keys, AuthenticatorConfig, BoundObject, InMemoryGetter, IssuerConfig};
use authn::serviceaccount::{ServiceAccountAuthenticator, TokenIssuer};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use criterion::Criterion;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ISS: &str = "https://kubernetes.default.svc.cluster.local";

pub struct Setup {
    pub token: String,
    pub public: keys::PublicKey,
    pub authn: ServiceAccountAuthenticator,
    pub rt: tokio::runtime::Runtime,
}

pub fn setup(key_pem: &str, cache: bool) -> Setup {
    let signing = keys::parse_private_key_pem("sa.key", key_pem).unwrap();
    let mut public = keys::parse_public_keys_pem("sa.key", key_pem).unwrap();
    let issuer = TokenIssuer::new(signing, IssuerConfig { issuer: ISS.into(), ..Default::default() });
    let getter = Arc::new(InMemoryGetter::new());
    getter.set_service_account("default", "builder", Some("3b0c8a7e-6f1d-4c1e-9a59-1b6f0c2d9e11"));
    getter.set_pod("default", "web-0", Some("9c2d7e14-3b5a-4f60-a1c8-2e7f9b0d4a55"));
    let pod = BoundObject::Pod {
        name: "web-0".into(),
        uid: "9c2d7e14-3b5a-4f60-a1c8-2e7f9b0d4a55".into(),
        node: None,
    };
    let (token, _) = issuer
        .issue_bound("default", "builder", "3b0c8a7e-6f1d-4c1e-9a59-1b6f0c2d9e11", &[], Some(3600), Some(pod))
        .unwrap();
    let mut config =
        AuthenticatorConfig::new(vec![ISS.into()], keys::parse_public_keys_pem("k", key_pem).unwrap());
    if !cache {
        config.cache_ttl = None;
    }
    let authn = ServiceAccountAuthenticator::new(config, getter);
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    Setup { token, public: public.remove(0), authn, rt }
}

/// The signing input and signature of a compact JWS.
pub fn split(token: &str) -> (Vec<u8>, Vec<u8>) {
    let (input, sig) = token.rsplit_once('.').unwrap();
    (input.as_bytes().to_vec(), URL_SAFE_NO_PAD.decode(sig).unwrap())
}

/// Median time per call over a few batches (for the printed ratio).
pub fn median_ns(mut f: impl FnMut(), per_batch: u32) -> f64 {
    let mut samples: Vec<f64> = (0..21)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..per_batch {
                f();
            }
            start.elapsed().as_nanos() as f64 / f64::from(per_batch)
        })
        .collect();
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[samples.len() / 2]
}

fn rsa_pem() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/rsa-2048.pem")).unwrap()
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .configure_from_args();
    let ec = rcgen::KeyPair::generate().unwrap().serialize_pem();
    let mut ratios = Vec::new();
    for (alg, pem) in [("ES256", ec), ("RS256", rsa_pem())] {
        let s = setup(&pem, false);
        let (input, sig) = split(&s.token);
        assert!(s.rt.block_on(s.authn.authenticate_token(&s.token)).is_ok());
        let mut g = c.benchmark_group(format!("sa_token/{alg}"));
        g.bench_function("raw_verify_preparsed_key", |b| {
            b.iter(|| assert!(s.public.verify(black_box(&input), black_box(&sig))))
        });
        g.bench_function("authenticate_bound_uncached", |b| {
            b.iter(|| s.rt.block_on(s.authn.authenticate_token(black_box(&s.token))).unwrap())
        });
        g.finish();
        let raw = median_ns(|| assert!(s.public.verify(black_box(&input), black_box(&sig))), 200);
        let full =
            median_ns(|| drop(s.rt.block_on(s.authn.authenticate_token(black_box(&s.token))).unwrap()), 200);
        ratios.push((alg, raw, full));
    }
    c.final_summary();
    for (alg, raw, full) in ratios {
        println!(
            "{alg}: raw verify {:.1} us, full bound-token authentication {:.1} us, ratio {:.3}x (target <= 1.2x)",
            raw / 1000.0,
            full / 1000.0,
            full / raw
        );
    }
}
