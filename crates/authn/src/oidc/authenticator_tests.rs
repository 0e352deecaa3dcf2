use super::*;
use crate::oidc::config::{parse_authentication_configuration, OidcFlags};
use crate::oidc::jwt::{Jwk, VerifyKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING as ES256};
use serde_json::json;

const ISS: &str = "https://idp.example.com";
const NOW: i64 = 1_700_000_000;

struct Fixed(Vec<VerifyKey>);

#[async_trait::async_trait]
impl JwksSource for Fixed {
    async fn fetch(&self) -> Result<Vec<VerifyKey>, String> {
        Ok(self.0.clone())
    }
}

struct Down;

#[async_trait::async_trait]
impl JwksSource for Down {
    async fn fetch(&self) -> Result<Vec<VerifyKey>, String> {
        Err("connection refused".into())
    }
}

struct Signer(EcdsaKeyPair, &'static str);

impl Signer {
    fn new(kid: &'static str) -> Self {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ES256, &rng).unwrap();
        Self(EcdsaKeyPair::from_pkcs8(&ES256, pkcs8.as_ref(), &rng).unwrap(), kid)
    }
    fn jwk(&self) -> VerifyKey {
        let p = self.0.public_key().as_ref();
        VerifyKey::from_jwk(&Jwk {
            kty: "EC".into(),
            crv: Some("P-256".into()),
            x: Some(URL_SAFE_NO_PAD.encode(&p[1..33])),
            y: Some(URL_SAFE_NO_PAD.encode(&p[33..])),
            kid: Some(self.1.into()),
            ..Default::default()
        })
        .unwrap()
    }
    fn sign(&self, claims: Value) -> String {
        let header = json!({"alg": "ES256", "kid": self.1});
        let mut t = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = self.0.sign(&ring::rand::SystemRandom::new(), t.as_bytes()).unwrap();
        t.push('.');
        t.push_str(&URL_SAFE_NO_PAD.encode(sig.as_ref()));
        t
    }
}

fn claims(extra: Value) -> Value {
    let mut c = json!({"iss": ISS, "aud": "kubeward", "sub": "alice", "iat": NOW - 10, "exp": NOW + 600,
                       "email": "alice@example.com", "email_verified": true, "groups": ["devs"]});
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

fn flags() -> OidcFlags {
    OidcFlags {
        issuer_url: ISS.into(),
        client_id: "kubeward".into(),
        groups_claim: "groups".into(),
        groups_prefix: "oidc:".into(),
        signing_algs: vec!["ES256".into()],
        ..Default::default()
    }
}

fn authn(specs: Vec<JwtAuthenticatorSpec>, keys: Vec<VerifyKey>) -> Arc<OidcAuthenticator> {
    OidcAuthenticator::with_key_sources(
        specs,
        OidcOptions::default(),
        Box::new(move |_| Ok(Box::new(Fixed(keys.clone())) as Box<dyn JwksSource>)),
    )
    .unwrap()
}

async fn check(a: &OidcAuthenticator, token: &str) -> Result<Option<UserInfo>, OidcTokenError> {
    a.authenticate_token_at(token, NOW).await
}

#[tokio::test]
async fn flags_follow_kube_username_and_group_rules() {
    let s = Signer::new("k1");
    let a = authn(vec![flags().to_spec().unwrap()], vec![s.jwk()]);
    let user = check(&a, &s.sign(claims(json!({})))).await.unwrap().unwrap();
    assert_eq!(user.name, format!("{ISS}#alice"));
    assert_eq!(user.groups, vec!["oidc:devs"]);

    // email claim: no prefix by default, email_verified must not be false.
    let f = OidcFlags { username_claim: "email".into(), ..flags() };
    let a = authn(vec![f.to_spec().unwrap()], vec![s.jwk()]);
    let user = check(&a, &s.sign(claims(json!({"groups": "solo"})))).await.unwrap().unwrap();
    assert_eq!((user.name.as_str(), user.groups), ("alice@example.com", vec!["oidc:solo".to_string()]));
    let e = check(&a, &s.sign(claims(json!({"email_verified": false})))).await.unwrap_err();
    assert_eq!(e.to_string(), "oidc: email not verified");

    // "-" disables the prefix; an explicit prefix is used as is.
    let f = OidcFlags { username_prefix: Some("-".into()), ..flags() };
    let a = authn(vec![f.to_spec().unwrap()], vec![s.jwk()]);
    assert_eq!(check(&a, &s.sign(claims(json!({})))).await.unwrap().unwrap().name, "alice");
    let f = OidcFlags { username_prefix: Some("corp:".into()), ..flags() };
    let a = authn(vec![f.to_spec().unwrap()], vec![s.jwk()]);
    assert_eq!(check(&a, &s.sign(claims(json!({})))).await.unwrap().unwrap().name, "corp:alice");
}

#[tokio::test]
async fn rejects_bad_tokens_with_reasons() {
    let s = Signer::new("k1");
    let mut f = flags();
    f.required_claims.insert("hd".into(), "example.com".into());
    let a = authn(vec![f.to_spec().unwrap()], vec![s.jwk()]);
    let ok = claims(json!({"hd": "example.com"}));
    assert!(check(&a, &s.sign(ok.clone())).await.unwrap().is_some());
    let cases = [
        (
            json!({"exp": NOW - 1}),
            "oidc: verify token: oidc: token is expired (Token Expiry: 2023-11-14T22:13:19+00:00)",
        ),
        (json!({"exp": null}), "token is expired"),
        (json!({"aud": ["other"]}), "oidc: expected audience [\"kubeward\"] got [\"other\"]"),
        (json!({"nbf": NOW + 301}), "before the nbf (not before) time"),
        (
            json!({"hd": "evil.com"}),
            "oidc: required claim hd value does not match. Got = evil.com, want = example.com",
        ),
        (json!({"hd": null}), "oidc: required claim hd not present in ID token"),
        (json!({"sub": 7}), "oidc: parse username claims \"sub\": claim is not a string"),
        (json!({"groups": [1]}), "parse groups claim \"groups\""),
    ];
    for (patch, want) in cases {
        let mut c = ok.clone();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        let e = check(&a, &s.sign(c)).await.unwrap_err().to_string();
        assert!(e.contains(want), "{patch}: {e}");
    }
    // Signed by a key the provider does not publish.
    let stranger = Signer::new("k1");
    let e = check(&a, &stranger.sign(ok.clone())).await.unwrap_err();
    assert!(e.to_string().contains("failed to verify signature"), "{e}");
    // A tampered payload.
    let t = s.sign(ok.clone());
    let mut parts: Vec<&str> = t.split('.').collect();
    let evil = URL_SAFE_NO_PAD.encode(claims(json!({"sub": "root", "hd": "example.com"})).to_string());
    parts[1] = &evil;
    assert!(check(&a, &parts.join(".")).await.is_err());
    // RS256-only authenticator refuses ES256.
    let a = authn(vec![OidcFlags { signing_algs: vec![], ..flags() }.to_spec().unwrap()], vec![s.jwk()]);
    let e = check(&a, &s.sign(ok)).await.unwrap_err().to_string();
    assert_eq!(e, "oidc: id token signed with unsupported algorithm, expected [\"RS256\"] got \"ES256\"");
}

#[tokio::test]
async fn other_issuers_and_non_jwts_are_not_ours() {
    let s = Signer::new("k1");
    let a = authn(vec![flags().to_spec().unwrap()], vec![s.jwk()]);
    assert_eq!(check(&a, &s.sign(claims(json!({"iss": "https://other"})))).await, Ok(None));
    assert_eq!(check(&a, "abcdef.ghijkl").await, Ok(None));
    assert_eq!(check(&a, "31ada4fd-adec-460c-809a-9e56ceb75269").await, Ok(None));
}

#[tokio::test]
async fn unreachable_issuer_fails_its_tokens_only() {
    let s = Signer::new("k1");
    let spec = flags().to_spec().unwrap();
    let a = OidcAuthenticator::with_key_sources(
        vec![spec],
        OidcOptions::default(),
        Box::new(|_| Ok(Box::new(Down) as Box<dyn JwksSource>)),
    )
    .unwrap();
    let e = check(&a, &s.sign(claims(json!({})))).await.unwrap_err();
    assert!(
        matches!(&e, OidcTokenError::NotInitialized { reason, .. } if reason == "connection refused"),
        "{e}"
    );
}

#[tokio::test]
async fn cache_hits_still_check_expiry_and_revocation() {
    let s = Signer::new("k1");
    let a = authn(vec![flags().to_spec().unwrap()], vec![s.jwk()]);
    let t = s.sign(claims(json!({"exp": NOW + 30})));
    assert!(check(&a, &t).await.unwrap().is_some());
    assert!(a.authenticate_token_at(&t, NOW + 30).await.unwrap().is_some());
    let e = a.authenticate_token_at(&t, NOW + 31).await.unwrap_err();
    assert!(e.to_string().contains("token is expired"));

    let revocations = Arc::new(StaticRevocations::default());
    a.set_revocation_list(revocations.clone());
    let user = format!("{ISS}#alice");
    revocations.revoke(&user, NOW - 10);
    let e = check(&a, &t).await.unwrap_err();
    assert_eq!(e, OidcTokenError::Revoked { user: user.clone(), iat: NOW - 10, revoked_before: NOW - 10 });
    // A token issued after the revocation is accepted; another user is unaffected.
    assert!(check(&a, &s.sign(claims(json!({"iat": NOW - 9})))).await.unwrap().is_some());
    assert!(check(&a, &s.sign(claims(json!({"sub": "bob"})))).await.unwrap().is_some());
}

#[tokio::test]
async fn structured_config_mappings_and_rules() {
    let s = Signer::new("k1");
    let yaml = format!(
        r#"
apiVersion: apiserver.config.k8s.io/v1
kind: AuthenticationConfiguration
jwt:
- issuer:
    url: {ISS}
    audiences: [kubeward, other]
    audienceMatchPolicy: MatchAny
  claimValidationRules:
  - claim: hd
    requiredValue: example.com
  - expression: "claims.email_verified == true"
    message: email must be verified
  claimMappings:
    username:
      expression: "'sso:' + claims.email"
    groups:
      expression: "claims.groups.map(g, 'team:' + g)"
    uid:
      claim: sub
    extra:
    - key: example.com/tenant
      valueExpression: "has(claims.tenant) ? claims.tenant : ''"
  userValidationRules:
  - expression: "!user.username.startsWith('system:')"
    message: no system users
  - expression: "user.groups.all(g, !g.startsWith('team:system:'))"
- issuer:
    url: https://second.example.com
    audiences: [k8s]
  claimMappings:
    username:
      claim: sub
      prefix: ""
"#
    );
    let specs = parse_authentication_configuration(&yaml).unwrap();
    let a = authn(specs, vec![s.jwk()]);
    let user = check(&a, &s.sign(claims(json!({"hd": "example.com", "aud": "other", "tenant": "t1"}))))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.name, "sso:alice@example.com");
    assert_eq!(user.uid, "alice");
    assert_eq!(user.groups, vec!["team:devs"]);
    assert_eq!(user.extra.get("example.com/tenant"), Some(&vec!["t1".to_string()]));
    let e =
        check(&a, &s.sign(claims(json!({"hd": "example.com", "email_verified": false})))).await.unwrap_err();
    assert_eq!(e.to_string(), "oidc: error evaluating claim validation expression: email must be verified");
    let e = check(&a, &s.sign(claims(json!({"hd": "example.com", "groups": ["system:masters"]}))))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("user info validation rule: expression `user.groups.all"), "{e}");
    // The second issuer: no prefix, its own audience.
    let t = s.sign(claims(json!({"iss": "https://second.example.com", "aud": "k8s"})));
    assert_eq!(check(&a, &t).await.unwrap().unwrap().name, "alice");
    // Reload without the second issuer: its tokens are no longer ours (cache dropped too).
    let first_only = parse_authentication_configuration(&yaml.replace("https://second.example.com", ISS));
    assert!(first_only.is_err(), "duplicate issuer rejected");
    a.replace(parse_authentication_configuration(&yaml).unwrap().into_iter().take(1).collect()).unwrap();
    assert_eq!(check(&a, &t).await, Ok(None));
}

#[tokio::test]
async fn authenticator_trait_reads_the_bearer_header() {
    let s = Signer::new("k1");
    let a = authn(
        vec![OidcFlags { username_prefix: Some("-".into()), ..flags() }.to_spec().unwrap()],
        vec![s.jwk()],
    );
    let mut c = claims(json!({}));
    let now = chrono::Utc::now().timestamp();
    c["iat"] = json!(now);
    c["exp"] = json!(now + 60);
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::AUTHORIZATION, format!("Bearer {}", s.sign(c)).parse().unwrap());
    let req = AuthRequest::new(&headers, None, "/api");
    assert!(matches!(a.authenticate(&req).await, AuthOutcome::Authenticated(u) if u.name == "alice"));
    let empty = http::HeaderMap::new();
    let req = AuthRequest::new(&empty, None, "/api");
    assert_eq!(a.authenticate(&req).await, AuthOutcome::NotApplicable);
}

/// Found by the `oidc_claims` fuzz target's sibling `sa_claims`: time claims at the edges of
/// i64 with a leeway set once overflowed `exp + leeway` (a panic in debug builds).
#[tokio::test]
async fn time_claims_at_the_edges_do_not_overflow() {
    let s = Signer::new("k1");
    let options = OidcOptions { exp_leeway: 60, nbf_leeway: 300, ..OidcOptions::default() };
    let keys = vec![s.jwk()];
    let a = OidcAuthenticator::with_key_sources(
        vec![flags().to_spec().unwrap()],
        options,
        Box::new(move |_| Ok(Box::new(Fixed(keys.clone())) as Box<dyn JwksSource>)),
    )
    .unwrap();
    // 2^64 reads as the largest time there is: valid, and cached, without overflowing.
    let far = s.sign(claims(json!({"exp": 18446744073709551615u64})));
    assert_eq!(check(&a, &far).await.unwrap().unwrap().name, format!("{ISS}#alice"));
    assert_eq!(check(&a, &far).await.unwrap().unwrap().name, format!("{ISS}#alice"));
    let e = check(&a, &s.sign(claims(json!({"exp": -1e300})))).await.unwrap_err();
    assert!(e.to_string().contains("expired"), "{e}");
    let e = check(&a, &s.sign(claims(json!({"nbf": 1e300})))).await.unwrap_err();
    assert!(e.to_string().contains("before the nbf"), "{e}");
    assert!(a.authenticate_token_at(&far, i64::MAX).await.is_ok());
}
