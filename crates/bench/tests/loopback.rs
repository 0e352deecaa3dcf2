//! The client, TLS settings and bare server against each other on loopback: client
//! certificates verified, both HTTP versions negotiated, fixed bytes returned.

#![allow(clippy::unwrap_used)] // test set-up: a failure here is a failed test

use bytes::Bytes;
use http::Method;
use kubeward_bench::bare::{self, Routes};
use kubeward_bench::client::{connect, Target};
use kubeward_bench::tls::{client_config, server_config, Proto};
use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};
use std::sync::Arc;

struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    std::fs::write(dir.path().join("ca.crt"), ca_cert.pem()).unwrap();
    let issuer = Issuer::from_ca_cert_pem(&ca_cert.pem(), ca_key).unwrap();
    for (name, sans, usage) in [
        ("server", vec!["127.0.0.1".to_string()], ExtendedKeyUsagePurpose::ServerAuth),
        ("client", vec![], ExtendedKeyUsagePurpose::ClientAuth),
    ] {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(sans).unwrap();
        p.extended_key_usages = vec![usage];
        let cert = p.signed_by(&key, &issuer).unwrap();
        std::fs::write(dir.path().join(format!("{name}.crt")), cert.pem()).unwrap();
        std::fs::write(dir.path().join(format!("{name}.key")), key.serialize_pem()).unwrap();
    }
    Pki { dir }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_server_answers_both_protocols_with_and_without_client_certs() {
    let pki = pki();
    let cfg =
        server_config(&pki.path("server.crt"), &pki.path("server.key"), Some(&pki.path("ca.crt"))).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut routes = Routes::new();
    routes
        .insert("/api/v1/namespaces/a/configmaps/x".into(), Bytes::from_static(b"{\"kind\":\"ConfigMap\"}"));
    tokio::spawn(bare::serve(listener, Arc::new(cfg), Arc::new(routes)));

    let (crt, key) = (pki.path("client.crt"), pki.path("client.key"));
    for proto in [Proto::H1, Proto::H2] {
        for client_cert in [Some((crt.as_str(), key.as_str())), None] {
            let tls = client_config(&pki.path("ca.crt"), client_cert, proto).unwrap();
            let target = Target { addr, tls: Some(Arc::new(tls)), proto, bearer: Some("t".into()) };
            let mut conn = connect(&target).await.unwrap();
            let (status, body) =
                conn.call(Method::GET, "/api/v1/namespaces/a/configmaps/x", &[], Bytes::new()).await.unwrap();
            assert_eq!(status, 200, "{proto:?}");
            assert_eq!(&body[..], b"{\"kind\":\"ConfigMap\"}");
            let (status, _) = conn.call(Method::GET, "/nope", &[], Bytes::new()).await.unwrap();
            assert_eq!(status, 404);
            assert_eq!(conn.share().is_some(), proto == Proto::H2);
        }
    }
}

#[tokio::test]
async fn a_client_certificate_from_another_ca_is_refused() {
    let pki = pki();
    let other = self::pki();
    let cfg =
        server_config(&pki.path("server.crt"), &pki.path("server.key"), Some(&pki.path("ca.crt"))).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(bare::serve(listener, Arc::new(cfg), Arc::new(Routes::new())));
    let pair = (other.path("client.crt"), other.path("client.key"));
    let tls = client_config(&pki.path("ca.crt"), Some((&pair.0, &pair.1)), Proto::H2).unwrap();
    let target = Target { addr, tls: Some(Arc::new(tls)), proto: Proto::H2, bearer: None };
    let outcome = match connect(&target).await {
        Ok(mut conn) => conn.call(Method::GET, "/", &[], Bytes::new()).await.map(|_| ()),
        Err(e) => Err(e),
    };
    assert!(outcome.is_err());
}

#[test]
fn only_loopback_targets() {
    assert!(Target::parse_addr("https://127.0.0.1:6443").is_ok());
    assert!(Target::parse_addr("https://localhost:6443/api").is_ok());
    assert!(Target::parse_addr("https://10.0.0.1:6443").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fixed_rate_load_sends_exactly_its_count_and_counts_failures() {
    let pki = pki();
    let cfg = server_config(&pki.path("server.crt"), &pki.path("server.key"), None).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut routes = Routes::new();
    routes.insert("/ok".into(), Bytes::from_static(b"{}"));
    tokio::spawn(bare::serve(listener, Arc::new(cfg), Arc::new(routes)));
    for proto in [Proto::H1, Proto::H2] {
        let tls = client_config(&pki.path("ca.crt"), None, proto).unwrap();
        let target = Target { addr, tls: Some(Arc::new(tls)), proto, bearer: None };
        // 40 requests at 200/s over 8 connections: the last may start 195 ms after the first.
        let start = std::time::Instant::now();
        let s = kubeward_bench::load::run_gets(&target, "/ok", 8, 40, 200.0).await.unwrap();
        assert_eq!((s.count, s.errors), (40, 0), "{proto:?}");
        assert!(start.elapsed() >= std::time::Duration::from_millis(190), "{:?}", start.elapsed());
        let s = kubeward_bench::load::run_gets(&target, "/missing", 4, 10, 0.0).await.unwrap();
        assert_eq!((s.count, s.errors), (0, 10), "{proto:?}: a 404 is a failed request");
        // Open connections are reused and handed back.
        let open = kubeward_bench::load::open(&target, 3).await.unwrap();
        let (s, open) = kubeward_bench::load::run_gets_on(&target, "/ok", open, 9, 0.0).await.unwrap();
        assert_eq!((s.count, open.len()), (9, 3), "{proto:?}");
    }
}
