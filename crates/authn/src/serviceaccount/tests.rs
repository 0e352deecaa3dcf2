use super::authenticator::{EXTRA_CREDENTIAL_ID, EXTRA_NODE_NAME, EXTRA_POD_NAME, EXTRA_POD_UID};
use super::issuer::{EXPIRATION_EXTENSION_SECONDS, WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS};
use super::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::sync::Arc;

const ISS: &str = "https://kubernetes.default.svc.cluster.local";
const NOW: i64 = 1_800_000_000;

fn ec_key() -> PrivateKey {
    keys::parse_private_key_pem("sa.key", &rcgen::KeyPair::generate().unwrap().serialize_pem()).unwrap()
}

fn rsa_pem() -> String {
    std::fs::read_to_string(format!("{}/testdata/rsa-2048.pem", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

struct Fixture {
    issuer: TokenIssuer,
    getter: Arc<InMemoryGetter>,
    authn: ServiceAccountAuthenticator,
}

fn fixture_with(key_pem: &str, cache: bool) -> Fixture {
    let signing = keys::parse_private_key_pem("k", key_pem).unwrap();
    let public = keys::parse_public_keys_pem("k", key_pem).unwrap();
    let issuer = TokenIssuer::new(signing, IssuerConfig { issuer: ISS.into(), ..Default::default() });
    let getter = Arc::new(InMemoryGetter::new());
    getter.set_service_account("default", "builder", Some("sa-uid"));
    let mut config = AuthenticatorConfig::new(vec![ISS.into()], public);
    if !cache {
        config.cache_ttl = None;
    }
    let authn = ServiceAccountAuthenticator::new(config, getter.clone());
    Fixture { issuer, getter, authn }
}

fn fixture() -> Fixture {
    fixture_with(&rcgen::KeyPair::generate().unwrap().serialize_pem(), true)
}

fn payload(token: &str) -> serde_json::Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn header(token: &str) -> String {
    String::from_utf8(URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap()).unwrap()
}

fn invalid(msg: &str) -> Result<apimachinery::UserInfo, SaTokenError> {
    Err(SaTokenError::Invalid(msg.into()))
}

#[test]
fn bound_claims_layout_matches_kube() {
    let f = fixture();
    let pod = BoundObject::Pod {
        name: "web-0".into(),
        uid: "pod-uid".into(),
        node: Some(ObjectRef { name: "n1".into(), uid: "node-uid".into() }),
    };
    let (token, exp) =
        f.issuer.issue_bound_at(NOW, "default", "builder", "sa-uid", &[], None, Some(pod)).unwrap();
    assert_eq!(exp, NOW + 3600);
    let kid = f.issuer.key().public_key().kid();
    assert_eq!(header(&token), format!(r#"{{"alg":"ES256","kid":"{kid}"}}"#));
    let p = payload(&token);
    let keys: Vec<&String> = p.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["aud", "exp", "iat", "iss", "jti", "kubernetes.io", "nbf", "sub"]);
    assert_eq!(p["aud"], serde_json::json!([ISS]), "audiences default to the API audiences");
    assert_eq!((p["iat"].as_i64(), p["nbf"].as_i64()), (Some(NOW), Some(NOW)));
    assert_eq!(p["sub"], "system:serviceaccount:default:builder");
    assert_eq!(
        p["kubernetes.io"],
        serde_json::json!({"namespace": "default", "node": {"name": "n1", "uid": "node-uid"},
            "pod": {"name": "web-0", "uid": "pod-uid"}, "serviceaccount": {"name": "builder", "uid": "sa-uid"}})
    );
    assert!(uuid::Uuid::parse_str(p["jti"].as_str().unwrap()).is_ok());
}

#[test]
fn legacy_claims_layout_matches_kube() {
    let f = fixture();
    let token = f.issuer.issue_legacy("default", "builder", "sa-uid", "builder-token").unwrap();
    let p = payload(&token);
    assert_eq!(
        serde_json::to_string(&p).unwrap(),
        r#"{"iss":"kubernetes/serviceaccount","kubernetes.io/serviceaccount/namespace":"default","kubernetes.io/serviceaccount/secret.name":"builder-token","kubernetes.io/serviceaccount/service-account.name":"builder","kubernetes.io/serviceaccount/service-account.uid":"sa-uid","sub":"system:serviceaccount:default:builder"}"#
    );
}

#[test]
fn token_request_lifetime_rules() {
    let f = fixture();
    let issue = |secs| f.issuer.issue_bound_at(NOW, "default", "builder", "sa-uid", &[], Some(secs), None);
    assert!(matches!(issue(599), Err(IssueError::TooShort(599))));
    assert_eq!(issue(600).unwrap().1, NOW + 600);
    assert!(matches!(issue((1 << 32) + 1), Err(IssueError::TooLong(_))));
    assert!(issue(599).unwrap_err().to_string().contains("may not specify a duration less than 10 minutes"));

    let key = keys::parse_private_key_pem("k", &rcgen::KeyPair::generate().unwrap().serialize_pem()).unwrap();
    let capped = TokenIssuer::new(
        key,
        IssuerConfig {
            issuer: ISS.into(),
            max_expiration_seconds: Some(7200),
            extend_expiration: true,
            ..Default::default()
        },
    );
    let (_, exp) = capped.issue_bound_at(NOW, "d", "s", "u", &[], Some(86400), None).unwrap();
    assert_eq!(exp, NOW + 7200, "capped to the max");
    let pod = BoundObject::Pod { name: "p".into(), uid: "pu".into(), node: None };
    let (t, exp) = capped
        .issue_bound_at(NOW, "d", "s", "u", &[], Some(WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS), Some(pod))
        .unwrap();
    assert_eq!(exp, NOW + EXPIRATION_EXTENSION_SECONDS, "kubelet's projected token is extended");
    assert_eq!(payload(&t)["kubernetes.io"]["warnafter"], NOW + 3607);
    let (t, exp) = capped
        .issue_bound_at(NOW, "d", "s", "u", &[], Some(WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS), None)
        .unwrap();
    assert_eq!(exp, NOW + 3607, "only pod-bound tokens are extended");
    assert!(payload(&t)["kubernetes.io"].get("warnafter").is_none());
}

#[tokio::test]
async fn bound_token_authenticates_with_kube_identity() {
    for cache in [false, true] {
        let f = fixture_with(&rcgen::KeyPair::generate().unwrap().serialize_pem(), cache);
        f.getter.set_pod("default", "web-0", Some("pod-uid"));
        let pod = BoundObject::Pod {
            name: "web-0".into(),
            uid: "pod-uid".into(),
            node: Some(ObjectRef { name: "n1".into(), uid: "nu".into() }),
        };
        let (token, _) =
            f.issuer.issue_bound_at(NOW, "default", "builder", "sa-uid", &[], None, Some(pod)).unwrap();
        let jti = payload(&token)["jti"].as_str().unwrap().to_string();
        for _ in 0..2 {
            let user = f.authn.authenticate_token_at(&token, NOW + 10).await.unwrap();
            assert_eq!(user.name, "system:serviceaccount:default:builder");
            assert_eq!(user.uid, "sa-uid");
            assert_eq!(user.groups, vec!["system:serviceaccounts", "system:serviceaccounts:default"]);
            assert_eq!(user.extra[EXTRA_POD_NAME], vec!["web-0"]);
            assert_eq!(user.extra[EXTRA_POD_UID], vec!["pod-uid"]);
            assert_eq!(user.extra[EXTRA_NODE_NAME], vec!["n1"]);
            assert_eq!(user.extra[EXTRA_CREDENTIAL_ID], vec![format!("JTI={jti}")]);
        }
        // The pod goes: the token dies at once, even when its signature is cached.
        f.getter.set_pod("default", "web-0", Some("other"));
        assert_eq!(
            f.authn.authenticate_token_at(&token, NOW + 10).await,
            invalid("pod UID (other) does not match service account pod ref claim (pod-uid)")
        );
        f.getter.set_pod("default", "web-0", None);
        assert_eq!(
            f.authn.authenticate_token_at(&token, NOW + 10).await,
            invalid("service account token has been invalidated")
        );
        f.getter.set_pod("default", "web-0", Some("pod-uid"));
        f.getter.set_service_account("default", "builder", Some("new-uid"));
        assert_eq!(
            f.authn.authenticate_token_at(&token, NOW + 10).await,
            invalid("service account UID (new-uid) does not match claim (sa-uid)")
        );
        f.getter.set_service_account("default", "builder", None);
        assert_eq!(
            f.authn.authenticate_token_at(&token, NOW + 10).await,
            invalid("serviceaccounts \"builder\" not found")
        );
    }
}

#[tokio::test]
async fn time_checks_use_the_leeway() {
    let f = fixture();
    let (token, exp) = f.issuer.issue_bound_at(NOW, "default", "builder", "sa-uid", &[], None, None).unwrap();
    assert!(f.authn.authenticate_token_at(&token, exp + 59).await.is_ok(), "within the leeway");
    assert_eq!(
        f.authn.authenticate_token_at(&token, exp + 60).await,
        invalid("service account token has expired")
    );
    assert!(f.authn.authenticate_token_at(&token, NOW - 60).await.is_ok());
    assert_eq!(
        f.authn.authenticate_token_at(&token, NOW - 61).await,
        invalid("service account token is not valid yet")
    );
}

#[tokio::test]
async fn secret_bound_and_node_bound_tokens() {
    let f = fixture();
    let secret = BoundObject::Secret { name: "s".into(), uid: "s-uid".into() };
    let (token, _) =
        f.issuer.issue_bound_at(NOW, "default", "builder", "sa-uid", &[], None, Some(secret)).unwrap();
    assert_eq!(
        f.authn.authenticate_token_at(&token, NOW).await,
        invalid("service account token has been invalidated")
    );
    f.getter.set_secret("default", "s", Some(SecretInfo { uid: "x".into(), ..Default::default() }));
    assert_eq!(
        f.authn.authenticate_token_at(&token, NOW).await,
        invalid("secret UID (x) does not match service account secret ref claim (s-uid)")
    );
    f.getter.set_secret("default", "s", Some(SecretInfo { uid: "s-uid".into(), ..Default::default() }));
    let user = f.authn.authenticate_token_at(&token, NOW).await.unwrap();
    assert!(!user.extra.contains_key(EXTRA_POD_NAME));

    let node = BoundObject::Node { name: "n1".into(), uid: "n-uid".into() };
    let (token, _) =
        f.issuer.issue_bound_at(NOW, "default", "builder", "sa-uid", &[], None, Some(node)).unwrap();
    assert!(f.authn.authenticate_token_at(&token, NOW).await.is_err(), "node unknown");
    f.getter.set_node("n1", Some("n-uid"));
    let user = f.authn.authenticate_token_at(&token, NOW).await.unwrap();
    assert_eq!(user.extra[EXTRA_NODE_NAME], vec!["n1"]);
}

#[tokio::test]
async fn legacy_token_lives_with_its_secret() {
    let f = fixture_with(&rsa_pem(), true);
    let token = f.issuer.issue_legacy("default", "builder", "sa-uid", "builder-token").unwrap();
    assert!(header(&token).starts_with(r#"{"alg":"RS256","kid":"#));
    assert_eq!(f.authn.authenticate_token_at(&token, NOW).await, invalid("Token has been invalidated"));
    let secret =
        |t: &str| SecretInfo { uid: "su".into(), token: Some(t.as_bytes().to_vec()), invalid_since: None };
    f.getter.set_secret("default", "builder-token", Some(secret("another-token")));
    assert_eq!(
        f.authn.authenticate_token_at(&token, NOW).await,
        invalid("Token does not match server's copy")
    );
    f.getter.set_secret("default", "builder-token", Some(secret(&token)));
    let user = f.authn.authenticate_token_at(&token, NOW).await.unwrap();
    assert_eq!((user.name.as_str(), user.uid.as_str()), ("system:serviceaccount:default:builder", "sa-uid"));
    assert!(user.extra.is_empty());
    f.getter.set_service_account("default", "builder", Some("other"));
    assert_eq!(
        f.authn.authenticate_token_at(&token, NOW).await,
        invalid("ServiceAccount UID (other) does not match claim (sa-uid)")
    );
    f.getter.set_service_account("default", "builder", Some("sa-uid"));
    let mut marked = secret(&token);
    marked.invalid_since = Some("2024-01-01".into());
    f.getter.set_secret("default", "builder-token", Some(marked));
    let err = f.authn.authenticate_token_at(&token, NOW).await.unwrap_err().to_string();
    assert!(err.contains("has been marked invalid"), "{err}");
}

#[tokio::test]
async fn foreign_tokens_signatures_and_audiences() {
    let f = fixture();
    assert_eq!(
        f.authn.authenticate_token_at("not-a-jwt", NOW).await,
        Err(SaTokenError::NotServiceAccountToken)
    );
    // Another issuer: not ours.
    let other =
        TokenIssuer::new(ec_key(), IssuerConfig { issuer: "https://elsewhere".into(), ..Default::default() });
    let (t, _) = other.issue_bound_at(NOW, "default", "builder", "sa-uid", &[], None, None).unwrap();
    assert_eq!(f.authn.authenticate_token_at(&t, NOW).await, Err(SaTokenError::NotServiceAccountToken));
    // Our issuer, someone else's key: the kid matches nothing.
    let forger = TokenIssuer::new(ec_key(), IssuerConfig { issuer: ISS.into(), ..Default::default() });
    let (t, _) = forger.issue_bound_at(NOW, "default", "builder", "sa-uid", &[], None, None).unwrap();
    assert_eq!(f.authn.authenticate_token_at(&t, NOW).await, invalid("invalid signature, no keys found"));
    // Our kid, tampered payload.
    let (good, _) = f.issuer.issue_bound_at(NOW, "default", "builder", "sa-uid", &[], None, None).unwrap();
    let parts: Vec<&str> = good.split('.').collect();
    let mut p = payload(&good);
    p["kubernetes.io"]["serviceaccount"]["name"] = "admin".into();
    let forged = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(p.to_string()), parts[2]);
    assert_eq!(f.authn.authenticate_token_at(&forged, NOW).await, invalid("invalid signature"));
    // Wrong audience.
    let (t, _) = f
        .issuer
        .issue_bound_at(NOW, "default", "builder", "sa-uid", &["vault".into(), "x".into()], None, None)
        .unwrap();
    assert_eq!(
        f.authn.authenticate_token_at(&t, NOW).await,
        invalid(&format!(
            "token audiences [\"vault\" \"x\"] is invalid for the target audiences [\"{ISS}\"]"
        ))
    );
}

#[tokio::test]
async fn authenticator_trait_maps_outcomes() {
    use crate::{AuthOutcome, AuthRequest, Authenticator};
    let f = fixture();
    let (token, _) = f.issuer.issue_bound("default", "builder", "sa-uid", &[], None, None).unwrap();
    let mut headers = http::HeaderMap::new();
    fn req(h: &http::HeaderMap) -> AuthRequest<'_> {
        AuthRequest::new(h, None, "/api")
    }
    assert_eq!(f.authn.authenticate(&req(&headers)).await, AuthOutcome::NotApplicable);
    headers.insert(http::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
    assert!(matches!(
        f.authn.authenticate(&req(&headers)).await,
        AuthOutcome::AuthenticatedFor(_, auds) if auds == [ISS]
    ));
    // Not a JWT: another authenticator's, as kube's (nil, false, nil).
    headers.insert(http::header::AUTHORIZATION, "Bearer nope".parse().unwrap());
    assert_eq!(f.authn.authenticate(&req(&headers)).await, AuthOutcome::NotApplicable);
}

/// kube's `jwtTokenAuthenticator`: the token's audiences intersected with the requested ones
/// (the API audiences when none are requested), in the requested order.
#[tokio::test]
async fn requested_audiences_are_intersected_with_the_tokens() {
    use crate::{AuthOutcome, AuthRequest, Authenticator};
    let f = fixture();
    let (vault, _) =
        f.issuer.issue_bound("default", "builder", "sa-uid", &["vault".into()], None, None).unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::AUTHORIZATION, format!("Bearer {vault}").parse().unwrap());
    let ask = |auds: &'static [&'static str]| {
        let auds: Vec<String> = auds.iter().map(|a| a.to_string()).collect();
        let headers = headers.clone();
        let authn = &f.authn;
        async move {
            let req = AuthRequest { audiences: Some(&auds), ..AuthRequest::new(&headers, None, "/api") };
            authn.authenticate(&req).await
        }
    };
    assert!(matches!(ask(&["other", "vault"]).await, AuthOutcome::AuthenticatedFor(u, a)
        if u.name == "system:serviceaccount:default:builder" && a == ["vault"]));
    assert_eq!(
        ask(&["consul"]).await,
        AuthOutcome::Failed(
            "token audiences [\"vault\"] is invalid for the target audiences [\"consul\"]".into()
        )
    );
    // No audiences requested: the API audiences, which a vault token is not for.
    let req = AuthRequest::new(&headers, None, "/api");
    assert_eq!(
        f.authn.authenticate(&req).await,
        AuthOutcome::Failed(format!(
            "token audiences [\"vault\"] is invalid for the target audiences [\"{ISS}\"]"
        ))
    );
}

/// Found by the `sa_claims` fuzz target: a signed bound token whose `exp` is 2^64 (read as
/// i64::MAX) overflowed `exp + leeway` in the time checks, a panic in debug builds.
#[tokio::test]
async fn time_claims_at_the_edges_do_not_overflow() {
    let f = fixture();
    let sign = |exp: serde_json::Value, nbf: serde_json::Value| {
        let claims = serde_json::json!({
            "aud": [ISS], "exp": exp, "iat": NOW, "iss": ISS, "jti": "j",
            "kubernetes.io": {"namespace": "default", "serviceaccount": {"name": "builder", "uid": "sa-uid"}},
            "nbf": nbf, "sub": "system:serviceaccount:default:builder"});
        jwt::encode(f.issuer.key(), &claims).unwrap()
    };
    let far = sign(serde_json::json!(18446744073709551615u64), serde_json::json!(NOW));
    // Valid until the end of time; verified twice (the second time from the cache).
    for _ in 0..2 {
        let user = f.authn.authenticate_token_at(&far, NOW).await.unwrap();
        assert_eq!(user.name, "system:serviceaccount:default:builder");
    }
    // At the last representable second even that has expired (exp + leeway saturates).
    assert_eq!(
        f.authn.authenticate_token_at(&far, i64::MAX).await,
        invalid("service account token has expired")
    );
    let past = sign(serde_json::json!(-1e300), serde_json::json!(NOW));
    assert_eq!(f.authn.authenticate_token_at(&past, NOW).await, invalid("service account token has expired"));
    let future = sign(serde_json::json!(NOW + 3600), serde_json::json!(1e300));
    assert_eq!(
        f.authn.authenticate_token_at(&future, NOW).await,
        invalid("service account token is not valid yet")
    );
}
