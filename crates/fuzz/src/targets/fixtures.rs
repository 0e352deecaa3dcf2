//! The keys, authenticators and configuration the credential targets verify against, built
//! once per process from the constant files of `crates/fuzz/data` (a P-256 key for
//! service-account and OIDC tokens, a CA for client certificates), so that seeds made with
//! them (`kubeward-fuzz seeds`) pass every check and mutants start from valid credentials.

use authn::oidc::jwt::{Jwk, VerifyKey};
use authn::oidc::{JwksSource, OidcAuthenticator, OidcOptions};
use authn::serviceaccount::{
    keys, AuthenticatorConfig, InMemoryGetter, PrivateKey, SecretInfo, ServiceAccountAuthenticator,
};
use authn::x509::X509Authenticator;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use rustls::pki_types::CertificateDer;
use std::sync::{Arc, OnceLock};

/// The PKCS#8 P-256 key that signs service-account and OIDC tokens.
pub const SIGNING_KEY_PEM: &str = include_str!("../../data/sa.key");
/// The CA of client certificates, and two client certificates it signed (v3 and v1).
pub const CA_PEM: &str = include_str!("../../data/ca.crt");
pub const CLIENT_V3_DER: &[u8] = include_bytes!("../../data/client-v3.der");
pub const CLIENT_V1_DER: &[u8] = include_bytes!("../../data/client-v1.der");

/// The service-account issuer, and the OIDC issuers of [`AUTHENTICATION_CONFIG`].
pub const SA_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";
pub const OIDC_ISSUER: &str = "https://idp.example.com";
pub const OIDC_ISSUER_PLAIN: &str = "https://plain.example.com";
/// The time OIDC tokens are verified at (service-account seeds expire in 2100).
pub const NOW: i64 = 1_700_000_000;

/// Two issuers: one mapping claims with CEL (validation rules, user rules, extra), one with
/// claims, prefixes and required claims.
pub const AUTHENTICATION_CONFIG: &str = r#"
apiVersion: apiserver.config.k8s.io/v1
kind: AuthenticationConfiguration
jwt:
- issuer:
    url: https://idp.example.com
    audiences: [kubeward, other]
    audienceMatchPolicy: MatchAny
  claimValidationRules:
  - expression: "claims.email_verified == true"
    message: email must be verified
  - expression: "!has(claims.tenant) || claims.tenant.size() < 64"
  claimMappings:
    username:
      expression: "'sso:' + claims.email"
    groups:
      expression: "has(claims.groups) ? claims.groups.map(g, 'team:' + g) : []"
    uid:
      claim: sub
    extra:
    - key: example.com/tenant
      valueExpression: "has(claims.tenant) ? claims.tenant : ''"
  userValidationRules:
  - expression: "!user.username.startsWith('system:')"
    message: no system users
- issuer:
    url: https://plain.example.com
    audiences: [k8s]
  claimValidationRules:
  - claim: hd
    requiredValue: example.com
  claimMappings:
    username:
      claim: sub
      prefix: "plain:"
    groups:
      claim: groups
      prefix: "plain:"
"#;

fn pkcs8_der() -> Vec<u8> {
    let body: String = SIGNING_KEY_PEM.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD.decode(body).expect("data/sa.key is PEM")
}

/// The service-account signing key.
pub fn sa_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| keys::parse_private_key_pem("sa.key", SIGNING_KEY_PEM).expect("data/sa.key is a key"))
}

/// The service-account authenticator: legacy tokens on, with lookup; the objects the seeds
/// name exist (`default/builder`, its pod and secret); no cache, so every input is verified.
pub fn sa_authenticator() -> &'static ServiceAccountAuthenticator {
    static SA: OnceLock<ServiceAccountAuthenticator> = OnceLock::new();
    SA.get_or_init(|| {
        let public =
            keys::parse_public_keys_pem("sa.key", SIGNING_KEY_PEM).expect("data/sa.key has a public key");
        let getter = Arc::new(InMemoryGetter::new());
        getter.set_service_account("default", "builder", Some("sa-uid"));
        getter.set_pod("default", "web-0", Some("pod-uid"));
        getter.set_node("node-1", Some("node-uid"));
        getter.set_secret(
            "default",
            "builder-token",
            Some(SecretInfo { uid: "secret-uid".into(), token: None, invalid_since: None }),
        );
        let mut config = AuthenticatorConfig::new(vec![SA_ISSUER.into()], public);
        config.cache_ttl = None;
        ServiceAccountAuthenticator::new(config, getter)
    })
}

/// The OIDC signing key (the same P-256 key).
pub fn oidc_signer() -> &'static EcdsaKeyPair {
    static SIGNER: OnceLock<EcdsaKeyPair> = OnceLock::new();
    SIGNER.get_or_init(|| {
        let rng = ring::rand::SystemRandom::new();
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8_der(), &rng)
            .expect("data/sa.key is a P-256 PKCS#8 key")
    })
}

/// The key ID OIDC tokens name.
pub const OIDC_KID: &str = "fuzz";

struct Fixed(Vec<VerifyKey>);

#[async_trait::async_trait]
impl JwksSource for Fixed {
    async fn fetch(&self) -> Result<Vec<VerifyKey>, String> {
        Ok(self.0.clone())
    }
}

/// The OIDC authenticator of [`AUTHENTICATION_CONFIG`], its keys served by no network.
pub fn oidc_authenticator() -> &'static OidcAuthenticator {
    static OIDC: OnceLock<Arc<OidcAuthenticator>> = OnceLock::new();
    OIDC.get_or_init(|| {
        let p = oidc_signer().public_key().as_ref();
        let jwk = Jwk {
            kty: "EC".into(),
            crv: Some("P-256".into()),
            x: p.get(1..33).map(|x| URL_SAFE_NO_PAD.encode(x)),
            y: p.get(33..).map(|y| URL_SAFE_NO_PAD.encode(y)),
            kid: Some(OIDC_KID.into()),
            ..Default::default()
        };
        let key = VerifyKey::from_jwk(&jwk).expect("the fixture's JWK is a P-256 key");
        let specs = authn::oidc::parse_authentication_configuration(AUTHENTICATION_CONFIG)
            .expect("the fixture's AuthenticationConfiguration is valid");
        let options = OidcOptions { cache_ttl: std::time::Duration::ZERO, ..OidcOptions::default() };
        OidcAuthenticator::with_key_sources(
            specs,
            options,
            Box::new(move |_| Ok(Box::new(Fixed(vec![key.clone()])))),
        )
        .expect("the fixture's issuers build")
    })
}

/// Signs `header.payload` with the OIDC key: a compact JWS.
pub fn oidc_token(header: &[u8], payload: &[u8]) -> String {
    let mut t = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(payload));
    let rng = ring::rand::SystemRandom::new();
    if let Ok(sig) = oidc_signer().sign(&rng, t.as_bytes()) {
        t.push('.');
        t.push_str(&URL_SAFE_NO_PAD.encode(sig.as_ref()));
    }
    t
}

/// Signs `header.payload` with the service-account key.
pub fn sa_token(header: &[u8], payload: &[u8]) -> String {
    let mut t = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(payload));
    if let Ok(sig) = sa_key().sign(t.as_bytes()) {
        t.push('.');
        t.push_str(&URL_SAFE_NO_PAD.encode(sig));
    }
    t
}

/// The header service-account tokens carry.
pub fn sa_header() -> String {
    format!(r#"{{"alg":"ES256","kid":"{}"}}"#, sa_key().public_key().kid())
}

/// The client-certificate authenticator: the fixture CA for v3 chains and v1 leaves.
pub fn x509_authenticator() -> &'static X509Authenticator {
    static X509: OnceLock<X509Authenticator> = OnceLock::new();
    X509.get_or_init(|| {
        let der: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut CA_PEM.as_bytes())
            .collect::<Result<_, _>>()
            .expect("data/ca.crt is PEM");
        let mut roots = rustls::RootCertStore::empty();
        for c in &der {
            roots.add(c.clone()).expect("data/ca.crt is a CA certificate");
        }
        X509Authenticator::with_ca_certs(roots, &der).expect("the fixture CA builds a verifier")
    })
}
