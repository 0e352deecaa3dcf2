//! kubeward's OIDC pieces against a real certified OpenID provider (npm `oidc-provider`)
//! on loopback: the login library signs in by the authorization-code flow with PKCE
//! (the test drives the provider's login form over HTTP while `get_token` waits on its
//! loopback redirect), caches and refreshes tokens, and `authn::oidc::OidcAuthenticator`
//! verifies them with discovery and JWKS fetched over TLS.

#![allow(clippy::unwrap_used)]

mod support;

use authn::oidc::{OidcAuthenticator, OidcFlags, OidcOptions, OidcTokenError, RevocationTable};
use kubeward_login::{get_token, logout, LoginOptions, Prompt};
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::{start_idp, Browser, Idp};

/// Login options whose prompt signs `user` in with the test browser.
fn login_options(idp: &Idp, user: &'static str, prompts: Arc<AtomicUsize>) -> LoginOptions {
    let mut o = LoginOptions::new(&idp.issuer, "kubeward");
    o.extra_scopes = vec!["email".into(), "groups".into(), "offline_access".into()];
    o.ca_file = Some(idp.ca_file.clone());
    o.cache_dir = Some(idp.dir.path().join("cache").join(user));
    o.open_browser = false;
    o.min_validity = Duration::from_secs(3);
    o.auth_timeout = Duration::from_secs(30);
    let ca = idp.ca_pem.clone();
    o.prompt = Arc::new(move |p| {
        prompts.fetch_add(1, Ordering::SeqCst);
        let Prompt::Browser { url } = p else { panic!("unexpected prompt {p:?}") };
        let ca = ca.clone();
        tokio::spawn(async move {
            let page = Browser::new(&ca).sign_in(&url, user).await;
            assert!(page.contains("Signed in"), "loopback answered {page:?}");
        });
    });
    o
}

fn token_of(exec_credential: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(exec_credential).unwrap();
    assert_eq!(v["apiVersion"], "client.authentication.k8s.io/v1");
    assert!(v["status"]["expirationTimestamp"].is_string());
    v["status"]["token"].as_str().unwrap().to_string()
}

fn flags(idp: &Idp) -> OidcFlags {
    OidcFlags {
        issuer_url: idp.issuer.clone(),
        client_id: "kubeward".into(),
        groups_claim: "groups".into(),
        groups_prefix: "oidc:".into(),
        ca_file: Some(idp.ca_file.clone()),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authenticator_verifies_provider_tokens() {
    let Some(idp) = start_idp(30) else { return };
    let prompts = Arc::new(AtomicUsize::new(0));
    let alice = token_of(&get_token(&login_options(&idp, "alice", prompts.clone())).await.unwrap());
    let bob = token_of(&get_token(&login_options(&idp, "bob", prompts.clone())).await.unwrap());
    assert_eq!(prompts.load(Ordering::SeqCst), 2);

    let a = OidcAuthenticator::new(vec![flags(&idp).to_spec().unwrap()], OidcOptions::default()).unwrap();
    let user = a.authenticate_token(&alice).await.unwrap().unwrap();
    assert_eq!(user.name, format!("{}#alice", idp.issuer), "kube's issuer prefix for non-email claims");
    assert_eq!(user.groups, vec!["oidc:devs"]);
    let user = a.authenticate_token(&bob).await.unwrap().unwrap();
    assert_eq!(user.groups, vec!["oidc:others"]);

    // Email as the user name: no prefix (email_verified is true at this provider).
    let email = OidcFlags { username_claim: "email".into(), ..flags(&idp) };
    let a2 = OidcAuthenticator::new(vec![email.to_spec().unwrap()], OidcOptions::default()).unwrap();
    assert_eq!(a2.authenticate_token(&alice).await.unwrap().unwrap().name, "alice@example.com");

    // Wrong audience.
    let other = OidcFlags { client_id: "someone-else".into(), ..flags(&idp) };
    let a3 = OidcAuthenticator::new(vec![other.to_spec().unwrap()], OidcOptions::default()).unwrap();
    let e = a3.authenticate_token(&alice).await.unwrap_err().to_string();
    assert!(e.contains("oidc: expected audience [\"someone-else\"] got [\"kubeward\"]"), "{e}");

    // Expired (evaluated at a time past its exp, so the test does not wait).
    let exp = kubeward_login::id_token_expiry(&alice).unwrap();
    let e = a.authenticate_token_at(&alice, exp + 1).await.unwrap_err().to_string();
    assert!(e.contains("token is expired"), "{e}");

    // Same issuer and key ID, but signed by a key the provider does not publish.
    let forged = forge(&alice);
    let e = a.authenticate_token(&forged).await.unwrap_err().to_string();
    assert!(e.contains("failed to verify signature"), "{e}");

    // Through the Authenticator trait: 401 reasons never contain the token.
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::AUTHORIZATION, format!("Bearer {forged}").parse().unwrap());
    let req = authn::AuthRequest::new(&headers, None, "/api");
    match authn::Authenticator::authenticate(a.as_ref(), &req).await {
        authn::AuthOutcome::Failed(why) => assert!(!why.contains(&forged[..20])),
        other => panic!("{other:?}"),
    }

    // Revocation: alice's tokens issued until now are rejected at once, cached or not.
    let table = Arc::new(RevocationTable::default());
    a.set_revocation_list(table.clone());
    let alice_name = format!("{}#alice", idp.issuer);
    let patch = kubeward_login::revocation_configmap_patch(&alice_name, chrono::Utc::now());
    table.update_from_configmap_data(&serde_json::from_value(patch["data"].clone()).unwrap());
    let e = a.authenticate_token(&alice).await.unwrap_err();
    assert!(matches!(e, OidcTokenError::Revoked { ref user, .. } if *user == alice_name), "{e}");
    assert!(a.authenticate_token(&bob).await.unwrap().is_some(), "bob is not affected");
    // A token issued after the revocation works again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut o = login_options(&idp, "alice", prompts.clone());
    o.cache_dir = Some(idp.dir.path().join("cache").join("alice-again"));
    let fresh = token_of(&get_token(&o).await.unwrap());
    assert!(a.authenticate_token(&fresh).await.unwrap().is_some());
}

/// Re-signs a token's header and payload with a fresh RSA key.
fn forge(token: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let pem = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../authn/testdata/rsa-2048.pem"))
        .unwrap();
    let key = authn::serviceaccount::keys::parse_private_key_pem("k", &pem).unwrap();
    let input = token.rsplit_once('.').unwrap().0;
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()).unwrap()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_caches_refreshes_and_logs_out() {
    let Some(idp) = start_idp(6) else { return };
    let prompts = Arc::new(AtomicUsize::new(0));
    let opts = login_options(&idp, "alice", prompts.clone());
    let first = token_of(&get_token(&opts).await.unwrap());
    assert_eq!(prompts.load(Ordering::SeqCst), 1);
    let path = opts.cache_path().unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
    let cached: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert!(cached["refresh_token"].is_string());

    // Still valid for more than min_validity: the cached token, no sign-in.
    assert_eq!(token_of(&get_token(&opts).await.unwrap()), first);

    // Past min_validity: refreshed with the refresh token, still no sign-in.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let second = token_of(&get_token(&opts).await.unwrap());
    assert_ne!(second, first);
    assert_eq!(prompts.load(Ordering::SeqCst), 1, "refresh must not prompt");
    let a = OidcAuthenticator::new(vec![flags(&idp).to_spec().unwrap()], OidcOptions::default()).unwrap();
    assert!(a.authenticate_token(&second).await.unwrap().is_some());
    // The first token is expired by now.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(a.authenticate_token(&first).await.unwrap_err().to_string().contains("token is expired"));

    // Logout drops the cache: the next call signs in again.
    assert!(logout(&opts).unwrap());
    assert!(!path.exists());
    assert!(!logout(&opts).unwrap());
    token_of(&get_token(&opts).await.unwrap());
    assert_eq!(prompts.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_flow_signs_in() {
    let Some(idp) = start_idp(30) else { return };
    let mut o = login_options(&idp, "alice", Arc::new(AtomicUsize::new(0)));
    o.grant_type = kubeward_login::GrantType::DeviceCode;
    let ca = idp.ca_pem.clone();
    o.prompt = Arc::new(move |p| {
        let Prompt::Device { verification_uri_complete: Some(url), user_code, .. } = p else {
            panic!("unexpected prompt {p:?}")
        };
        assert!(!user_code.is_empty());
        let ca = ca.clone();
        tokio::spawn(async move {
            let page = Browser::new(&ca).sign_in(&url, "alice").await;
            assert!(page.contains("Sign-in Success"), "device flow ended on {page:?}");
        });
    });
    let token = token_of(&get_token(&o).await.unwrap());
    let a = OidcAuthenticator::new(vec![flags(&idp).to_spec().unwrap()], OidcOptions::default()).unwrap();
    assert_eq!(a.authenticate_token(&token).await.unwrap().unwrap().groups, vec!["oidc:devs"]);
}
