//! What the certificate revocation check costs on the request path: a client certificate
//! authenticated from the verified cache (a keep-alive client's every request) without a
//! revocation table, with an empty one, and with 10 000 revoked serials and 1 000 revoked
//! subjects. Prints the added time per request; the issue's bound is 3% of an
//! authenticated GET (tens of microseconds), so anything under a microsecond is within it.

#![allow(clippy::unwrap_used)]

use authn::x509::X509Authenticator;
use authn::x509_revocation::{entry_value, serial_key, subject_key, CertRevocations};
use authn::{AuthOutcome, AuthRequest, Authenticator};
use rustls::pki_types::CertificateDer;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn der(pem: &str) -> CertificateDer<'static> {
    rustls_pemfile::certs(&mut pem.as_bytes()).next().unwrap().unwrap()
}

fn authenticator(ca: &pki::Ca, table: Option<Arc<CertRevocations>>) -> X509Authenticator {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der(&ca.cert_pem)).unwrap();
    let a = X509Authenticator::new(roots).unwrap();
    match table {
        Some(t) => a.with_revocations(t),
        None => a,
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
    let mut c = criterion::Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .configure_from_args();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let ca = pki::Ca::generate("ca").unwrap();
    let chain = vec![der(&ca.issue_client("jane", &["dev".into()]).unwrap().cert_pem)];
    let headers = http::HeaderMap::new();
    let empty = Arc::new(CertRevocations::default());
    let full = Arc::new(CertRevocations::default());
    let mut data = BTreeMap::new();
    let t = "2024-01-02T03:04:05Z";
    for i in 0..10_000u32 {
        data.insert(serial_key(&format!("{:032X}", u128::from(i) * 7_919)), entry_value(t, "someone", None));
    }
    for i in 0..1_000 {
        data.insert(subject_key(&format!("user-{i}")), entry_value(t, "someone", None));
    }
    full.update_from_configmap_data(&data);
    let cases = [
        ("no_table", authenticator(&ca, None)),
        ("empty_table", authenticator(&ca, Some(empty))),
        ("10k_serials_1k_subjects", authenticator(&ca, Some(full))),
    ];
    let auth = |a: &X509Authenticator| {
        let req = AuthRequest::new(&headers, Some(&chain), "/api/v1/namespaces/default/pods");
        match rt.block_on(a.authenticate(black_box(&req))) {
            AuthOutcome::Authenticated(u) => drop(u),
            other => panic!("{other:?}"),
        }
    };
    for (_, a) in &cases {
        auth(a); // fills the verified cache
    }
    let mut g = c.benchmark_group("x509_revocation");
    for (name, a) in &cases {
        g.bench_function(*name, |b| b.iter(|| auth(a)));
    }
    g.finish();
    c.final_summary();

    let times: Vec<f64> = cases.iter().map(|(_, a)| median_ns(|| auth(a), 20_000)).collect();
    println!(
        "cached client-certificate authentication: no table {:.0} ns, empty table {:.0} ns, \
         10k serials + 1k subjects {:.0} ns; the revocation check adds {:.0} ns",
        times[0],
        times[1],
        times[2],
        times[2] - times[0]
    );
}
