//! OIDC ID-token verification cost: a cached token (hash, cache lookup, expiry and
//! revocation checks) and an uncached one (decode, signature, claims, mapping) against the
//! bare RS256 signature check with the pre-parsed JWK. Prints both ratios.

#![allow(clippy::unwrap_used)]

use authn::oidc::jwt::{Jwk, VerifyKey};
use authn::oidc::{JwksSource, OidcAuthenticator, OidcFlags, OidcOptions, RevocationTable, SigningAlg};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use criterion::Criterion;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ISS: &str = "https://idp.example.com";

struct Fixed(Vec<VerifyKey>);

#[async_trait::async_trait]
impl JwksSource for Fixed {
    async fn fetch(&self) -> Result<Vec<VerifyKey>, String> {
        Ok(self.0.clone())
    }
}

fn median_ns(mut f: impl FnMut(), per_batch: u32) -> f64 {
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

fn main() {
    let pem = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/rsa-2048.pem")).unwrap();
    let der = rustls_pemfile::private_key(&mut pem.as_bytes()).unwrap().unwrap();
    let kp =
        RsaKeyPair::from_pkcs8(der.secret_der()).or_else(|_| RsaKeyPair::from_der(der.secret_der())).unwrap();
    let parts: ring::rsa::PublicKeyComponents<Vec<u8>> = kp.public().into();
    let jwk = Jwk {
        kty: "RSA".into(),
        kid: Some("k1".into()),
        n: Some(URL_SAFE_NO_PAD.encode(&parts.n)),
        e: Some(URL_SAFE_NO_PAD.encode(&parts.e)),
        ..Default::default()
    };
    let key = VerifyKey::from_jwk(&jwk).unwrap();
    let now = chrono::Utc::now().timestamp();
    let claims = serde_json::json!({"iss": ISS, "aud": "kubeward", "sub": "alice", "iat": now, "exp": now + 3600,
        "email": "alice@example.com", "email_verified": true, "groups": ["devs", "ops"]});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"k1"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut sig = vec![0; kp.public().modulus_len()];
    kp.sign(&RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), input.as_bytes(), &mut sig).unwrap();
    let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(&sig));

    let flags = OidcFlags {
        issuer_url: ISS.into(),
        client_id: "kubeward".into(),
        groups_claim: "groups".into(),
        groups_prefix: "oidc:".into(),
        ..Default::default()
    };
    let make = |cache_ttl: Duration| {
        let k = key.clone();
        let a = OidcAuthenticator::with_key_sources(
            vec![flags.to_spec().unwrap()],
            OidcOptions { cache_ttl, ..Default::default() },
            Box::new(move |_| Ok(Box::new(Fixed(vec![k.clone()])) as Box<dyn JwksSource>)),
        )
        .unwrap();
        a.set_revocation_list(Arc::new(RevocationTable::default()));
        a
    };
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let cached = rt.block_on(async { make(Duration::from_secs(60)) });
    let uncached = rt.block_on(async { make(Duration::ZERO) });
    assert!(rt.block_on(cached.authenticate_token(&token)).unwrap().is_some());
    assert!(rt.block_on(uncached.authenticate_token(&token)).unwrap().is_some());

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .configure_from_args();
    let mut g = c.benchmark_group("oidc/RS256");
    g.bench_function("raw_verify_preparsed_jwk", |b| {
        b.iter(|| assert!(key.verify(SigningAlg::RS256, black_box(input.as_bytes()), black_box(&sig))))
    });
    g.bench_function("authenticate_cached", |b| {
        b.iter(|| rt.block_on(cached.authenticate_token(black_box(&token))).unwrap())
    });
    g.bench_function("authenticate_uncached", |b| {
        b.iter(|| rt.block_on(uncached.authenticate_token(black_box(&token))).unwrap())
    });
    g.finish();
    c.final_summary();

    let raw = median_ns(
        || assert!(key.verify(SigningAlg::RS256, black_box(input.as_bytes()), black_box(&sig))),
        200,
    );
    let hit = median_ns(|| drop(rt.block_on(cached.authenticate_token(black_box(&token))).unwrap()), 2000);
    let full = median_ns(|| drop(rt.block_on(uncached.authenticate_token(black_box(&token))).unwrap()), 200);
    println!(
        "RS256: raw verify {:.2} us; cached id_token {:.2} us (ratio {:.3}x); uncached {:.2} us (ratio {:.3}x)",
        raw / 1000.0,
        hit / 1000.0,
        hit / raw,
        full / 1000.0,
        full / raw
    );
}
