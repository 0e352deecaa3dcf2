//! Tests of X.509 v1 client certificates: the authenticator's fallback and real TLS
//! handshakes. v1 certificates are built by hand (rcgen writes only v3): an rcgen leaf's
//! TBSCertificate loses its version and extensions and is signed again with the CA key.
//! One test runs the tutorial's `openssl` commands (RSA keys) when openssl is installed.

use super::*;
use crate::x509::X509Authenticator;
use crate::{AuthOutcome, AuthRequest, Authenticator};
use apimachinery::UserInfo;
use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, Issuer, KeyPair, SigningKey};
use rustls::pki_types::{PrivateKeyDer, ServerName, UnixTime};
use rustls::server::danger::ClientCertVerifier;
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{RootCertStore, SupportedProtocolVersion};
use std::sync::Arc;
use x509_parser::x509::X509Version;

/// A test CA: its certificate and the key that signs leaves.
struct TestCa {
    cert: CertificateDer<'static>,
    key_pem: String,
}

impl TestCa {
    fn new(name: &str) -> Self {
        let ca = pki::Ca::generate(name).unwrap();
        Self { cert: pem_cert(&ca.cert_pem), key_pem: ca.key_pem }
    }

    fn issuer(&self) -> Issuer<'static, KeyPair> {
        Issuer::from_ca_cert_der(&self.cert, KeyPair::from_pem(&self.key_pem).unwrap()).unwrap()
    }

    /// A v1 leaf for `cn` in groups `orgs`, valid in the given years; with its key.
    fn issue_v1(
        &self,
        cn: &str,
        orgs: &[&str],
        years: Option<(i32, i32)>,
    ) -> (CertificateDer<'static>, KeyPair) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        if let Some(o) = orgs.first() {
            params.distinguished_name.push(DnType::OrganizationName, *o);
        }
        if let Some((from, to)) = years {
            params.not_before = rcgen::date_time_ymd(from, 1, 1);
            params.not_after = rcgen::date_time_ymd(to, 1, 1);
        }
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let v3 = params.signed_by(&key, &self.issuer()).unwrap();
        let ca_key = KeyPair::from_pem(&self.key_pem).unwrap();
        (to_v1(v3.der(), &ca_key), key)
    }
}

fn pem_cert(pem: &str) -> CertificateDer<'static> {
    rustls_pemfile::certs(&mut pem.as_bytes()).next().unwrap().unwrap()
}

fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// Splits DER contents into its elements' raw encodings.
fn elements(mut input: &[u8]) -> Vec<(Any<'_>, &[u8])> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let (rest, any) = Any::from_der(input).unwrap();
        out.push((any, &input[..input.len() - rest.len()]));
        input = rest;
    }
    out
}

/// The same certificate as X.509 v1: no version field, no extensions, signed again.
fn to_v1(v3: &[u8], ca_key: &KeyPair) -> CertificateDer<'static> {
    let (_, cert) = Any::from_der(v3).unwrap();
    let parts = elements(cert.data);
    let (tbs, _) = &parts[0];
    let mut tbs_v1 = Vec::new();
    for (field, raw) in elements(tbs.data) {
        let context_specific = field.header.class() == x509_parser::asn1_rs::Class::ContextSpecific;
        // [0] version and [3] extensions go; a v1 certificate has neither.
        if !(context_specific && matches!(field.header.tag().0, 0 | 3)) {
            tbs_v1.extend_from_slice(raw);
        }
    }
    let tbs_v1 = der_tlv(0x30, &tbs_v1);
    let signature = ca_key.sign(&tbs_v1).unwrap();
    let mut bits = vec![0u8];
    bits.extend(signature);
    let mut body = tbs_v1;
    body.extend_from_slice(parts[1].1);
    body.extend(der_tlv(0x03, &bits));
    CertificateDer::from(der_tlv(0x30, &body))
}

fn authenticator(ca: &TestCa) -> X509Authenticator {
    let mut roots = RootCertStore::empty();
    roots.add(ca.cert.clone()).unwrap();
    X509Authenticator::with_ca_certs(roots, std::slice::from_ref(&ca.cert)).unwrap()
}

async fn auth(a: &X509Authenticator, cert: &CertificateDer<'static>) -> AuthOutcome {
    let headers = http::HeaderMap::new();
    let chain = vec![cert.clone()];
    a.authenticate(&AuthRequest::new(&headers, Some(&chain), "/api")).await
}

fn version(cert: &CertificateDer<'_>) -> X509Version {
    x509_parser::parse_x509_certificate(cert.as_ref()).unwrap().1.version()
}

/// `user` with the credential id kube's x509 authenticator gives the holder of `cert`.
fn with_credential(mut user: UserInfo, cert: &CertificateDer<'_>) -> UserInfo {
    let id = crate::x509::credential_id(cert.as_ref());
    user.extra.insert("authentication.kubernetes.io/credential-id".into(), vec![id]);
    user
}

#[tokio::test]
async fn v1_certificate_of_the_ca_authenticates_cn_and_o() {
    let ca = TestCa::new("ca");
    let (cert, _) = ca.issue_v1("jane", &["devs"], None);
    assert_eq!(version(&cert), X509Version::V1);
    assert!(LegacyCert::from_refused(&cert).is_some(), "webpki refuses v1");
    let a = authenticator(&ca);
    let jane = AuthOutcome::Authenticated(with_credential(UserInfo::new("jane", vec!["devs".into()]), &cert));
    assert_eq!(auth(&a, &cert).await, jane);
    assert_eq!(auth(&a, &cert).await, jane, "from the cache");
    // Without the CA certificates (the old constructor) v1 stays refused.
    let mut roots = RootCertStore::empty();
    roots.add(ca.cert.clone()).unwrap();
    let v3_only = X509Authenticator::new(roots).unwrap();
    assert!(matches!(auth(&v3_only, &cert).await, AuthOutcome::Failed(_)));
}

#[tokio::test]
async fn v1_certificate_of_another_ca_fails() {
    let ca = TestCa::new("ca");
    let a = authenticator(&ca);
    let anchors = LegacyAnchor::from_certs(std::slice::from_ref(&ca.cert));
    let algs = rustls::crypto::ring::default_provider().signature_verification_algorithms;
    let now = UnixTime::now().as_secs() as i64;

    // Same subject name as the configured CA, different key.
    let impostor = TestCa::new("ca");
    let (cert, _) = impostor.issue_v1("mallory", &["system:masters"], None);
    let legacy = LegacyCert::from_refused(&cert).unwrap();
    assert_eq!(legacy.verify_issued_by(&anchors, &algs, now), Err(LegacyCertError::BadSignature));
    assert!(matches!(auth(&a, &cert).await, AuthOutcome::Failed(_)));

    let other = TestCa::new("other");
    let (cert, _) = other.issue_v1("mallory", &[], None);
    let legacy = LegacyCert::from_refused(&cert).unwrap();
    assert_eq!(legacy.verify_issued_by(&anchors, &algs, now), Err(LegacyCertError::UnknownIssuer));
    assert!(matches!(auth(&a, &cert).await, AuthOutcome::Failed(_)));
}

#[tokio::test]
async fn tampered_v1_certificate_fails() {
    let ca = TestCa::new("ca");
    let (cert, _) = ca.issue_v1("jane", &["devs"], None);
    let mut bytes = cert.as_ref().to_vec();
    let at = bytes.windows(4).position(|w| w == b"jane").unwrap();
    bytes[at..at + 4].copy_from_slice(b"root");
    let tampered = CertificateDer::from(bytes);
    assert!(matches!(auth(&authenticator(&ca), &tampered).await, AuthOutcome::Failed(_)));
}

#[tokio::test]
async fn v1_certificate_outside_its_validity_fails() {
    let ca = TestCa::new("ca");
    let a = authenticator(&ca);
    let (expired, _) = ca.issue_v1("jane", &["devs"], Some((2020, 2021)));
    assert_eq!(
        auth(&a, &expired).await,
        AuthOutcome::Failed("verifying v1 certificate: certificate is not valid at this time".into())
    );
    let (future, _) = ca.issue_v1("jane", &["devs"], Some((2090, 2091)));
    assert!(matches!(auth(&a, &future).await, AuthOutcome::Failed(_)));
}

#[tokio::test]
async fn v3_server_only_certificate_still_fails() {
    let ca = pki::Ca::generate("ca").unwrap();
    let test_ca = TestCa { cert: pem_cert(&ca.cert_pem), key_pem: ca.key_pem.clone() };
    let server = pem_cert(&ca.issue_serving("srv", &["localhost".into()]).unwrap().cert_pem);
    assert_eq!(version(&server), X509Version::V3);
    assert!(LegacyCert::from_refused(&server).is_none());
    assert!(matches!(auth(&authenticator(&test_ca), &server).await, AuthOutcome::Failed(_)));
}

/// Runs one handshake against a server using `verifier`; the server's view: the client
/// certificates it saw, or why the handshake failed.
async fn handshake(
    verifier: Arc<dyn ClientCertVerifier>,
    client_chain: Vec<CertificateDer<'static>>,
    client_key: PrivateKeyDer<'static>,
    version: &'static SupportedProtocolVersion,
) -> Result<Vec<CertificateDer<'static>>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server_ca = pki::Ca::generate("server-ca").unwrap();
    let serving = server_ca.issue_serving("localhost", &["localhost".into()]).unwrap();
    let server_config = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[version])
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![pem_cert(&serving.cert_pem)],
            rustls_pemfile::private_key(&mut serving.key_pem.as_bytes()).unwrap().unwrap(),
        )
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let tls = acceptor.accept(tcp).await.map_err(|e| e.to_string())?;
        Ok::<_, String>(tls.get_ref().1.peer_certificates().map(<[_]>::to_vec).unwrap_or_default())
    });

    let mut server_roots = RootCertStore::empty();
    server_roots.add(pem_cert(&server_ca.cert_pem)).unwrap();
    // rustls does not validate its own client certificate, so a v1 one is sent as is.
    let signing_key = provider.key_provider.load_private_key(client_key).unwrap();
    let client_cert = SingleCertAndKey::from(CertifiedKey::new(client_chain, signing_key));
    let client_config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[version])
        .unwrap()
        .with_root_certificates(server_roots)
        .with_client_cert_resolver(Arc::new(client_cert));
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let client = connector.connect(ServerName::try_from("localhost").unwrap(), tcp).await;
    let seen = server.await.unwrap();
    drop(client);
    seen
}

fn key_der(key: &KeyPair) -> PrivateKeyDer<'static> {
    PrivateKeyDer::try_from(key.serialize_der()).unwrap()
}

const VERSIONS: [&SupportedProtocolVersion; 2] = [&rustls::version::TLS13, &rustls::version::TLS12];

#[tokio::test]
async fn tls_handshake_accepts_v1_client_certificate_with_its_key() {
    let ca = TestCa::new("ca");
    let a = authenticator(&ca);
    let (cert, key) = ca.issue_v1("jane", &["devs"], None);
    for version in VERSIONS {
        let seen = handshake(a.tls_verifier(), vec![cert.clone()], key_der(&key), version).await;
        assert_eq!(seen, Ok(vec![cert.clone()]), "{version:?}");
    }
}

#[tokio::test]
async fn tls_handshake_refuses_v1_client_certificate_with_another_key() {
    let ca = TestCa::new("ca");
    let a = authenticator(&ca);
    let (cert, _) = ca.issue_v1("jane", &["devs"], None);
    let wrong = KeyPair::generate().unwrap();
    for version in VERSIONS {
        let seen = handshake(a.tls_verifier(), vec![cert.clone()], key_der(&wrong), version).await;
        assert!(seen.is_err(), "{version:?}: {seen:?}");
    }
}

/// The tutorial's commands (RSA keys); None when openssl is not installed.
fn openssl_tutorial(dir: &std::path::Path) -> Option<()> {
    let run = |args: &[&str]| match std::process::Command::new("openssl").args(args).current_dir(dir).output()
    {
        Ok(out) => {
            assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
            Some(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("openssl: {e}"),
    };
    run(&["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt"]
        .into_iter()
        .chain(["-subj", "/CN=tutorial-ca", "-days", "1"])
        .collect::<Vec<_>>())?;
    run(&["genrsa", "-out", "jane.key", "2048"])?;
    run(&["req", "-new", "-key", "jane.key", "-out", "jane.csr", "-subj", "/CN=jane/O=devs"])?;
    run(&[
        "x509",
        "-req",
        "-in",
        "jane.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "jane.crt",
        "-days",
        "1",
    ])
}

#[tokio::test]
async fn openssl_tutorial_certificate_authenticates_and_handshakes() {
    let dir = tempfile::tempdir().unwrap();
    if openssl_tutorial(dir.path()).is_none() {
        testkit::missing("openssl", "Debian: apt-get install openssl");
        return;
    }
    let ca_path = dir.path().join("ca.crt");
    let a = X509Authenticator::from_ca_file(ca_path.to_str().unwrap()).unwrap();
    let cert = pem_cert(&std::fs::read_to_string(dir.path().join("jane.crt")).unwrap());
    // OpenSSL before 3.2 writes v1 here, later versions v3: both must authenticate.
    eprintln!("openssl wrote {:?}", version(&cert));
    let jane = with_credential(UserInfo::new("jane", vec!["devs".into()]), &cert);
    assert_eq!(auth(&a, &cert).await, AuthOutcome::Authenticated(jane));

    let key = std::fs::read(dir.path().join("jane.key")).unwrap();
    let key = rustls_pemfile::private_key(&mut key.as_slice()).unwrap().unwrap();
    for version in VERSIONS {
        let seen = handshake(a.tls_verifier(), vec![cert.clone()], key.clone_key(), version).await;
        assert_eq!(seen, Ok(vec![cert.clone()]), "{version:?}");
    }
    let other = KeyPair::generate().unwrap();
    let seen =
        handshake(a.tls_verifier(), vec![cert.clone()], key_der(&other), &rustls::version::TLS13).await;
    assert!(seen.is_err());
}
