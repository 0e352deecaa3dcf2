//! OpenID Connect sign-in on the dashboard's side: the authorization-code flow with PKCE
//! (S256), a `state` bound to the browser that started it by a short-lived cookie, a `nonce`
//! checked in the id_token, and the refresh-token grant run here before the id_token expires.
//! The id_token is what the API server verifies (its `--oidc-*` flags or
//! AuthenticationConfiguration name the same issuer and client); the browser never sees it.

use crate::session::{ct_eq, random_token};
use authn::oidc::http::{self as oidc_http, HttpClient};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use kubeward_login::flow::Discovery;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The cookie binding a pending sign-in to the browser that started it. `SameSite=Lax`: it
/// must come back on the identity provider's redirect, a cross-site navigation.
pub const STATE_COOKIE: &str = "__Host-kubeward-oidc";
/// A sign-in not finished within this long is forgotten.
const PENDING_FOR: Duration = Duration::from_secs(600);
/// At most this many sign-ins pending at once.
const MAX_PENDING: usize = 1000;

/// The dashboard's OIDC client settings.
#[derive(Clone)]
pub struct OidcConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    /// PEM bundle trusted for the issuer (else the system roots).
    pub ca_pem: Option<Vec<u8>>,
    /// Scopes besides `openid`.
    pub extra_scopes: Vec<String>,
}

impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish()
    }
}

/// A session's tokens. Never in `Debug` or logs.
pub struct Tokens {
    pub id_token: String,
    pub refresh_token: Option<String>,
    pub expires: Option<Instant>,
}

struct Pending {
    binding: [u8; 32],
    verifier: String,
    nonce: String,
    started: Instant,
}

/// The OIDC client; see the module docs.
pub struct Oidc {
    config: OidcConfig,
    redirect_uri: String,
    http: HttpClient,
    discovery: tokio::sync::Mutex<Option<Discovery>>,
    pending: Mutex<HashMap<String, Pending>>,
}

/// Why a sign-in or refresh failed, in words for the person.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OidcError(pub String);

impl Oidc {
    pub fn new(config: OidcConfig, redirect_uri: String) -> Result<Self, OidcError> {
        let http = HttpClient::new(config.ca_pem.as_deref()).map_err(|e| OidcError(e.to_string()))?;
        Ok(Self {
            config,
            redirect_uri,
            http,
            discovery: tokio::sync::Mutex::new(None),
            pending: Mutex::new(HashMap::new()),
        })
    }

    async fn discovery(&self) -> Result<Discovery, OidcError> {
        let mut d = self.discovery.lock().await;
        if let Some(d) = d.as_ref() {
            return Ok(d.clone());
        }
        let found = kubeward_login::flow::discover(&self.http, &self.config.issuer)
            .await
            .map_err(|e| OidcError(format!("the identity provider cannot be reached: {e}")))?;
        *d = Some(found.clone());
        Ok(found)
    }

    /// Starts a sign-in: the provider's URL to send the browser to, and the value of the
    /// binding cookie to set.
    pub async fn start(&self) -> Result<(String, String), OidcError> {
        let d = self.discovery().await?;
        let (state, nonce, verifier, binding) =
            (random_token(), random_token(), random_token(), random_token());
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let mut scopes = vec!["openid".to_string()];
        for s in &self.config.extra_scopes {
            if !scopes.contains(s) {
                scopes.push(s.clone());
            }
        }
        let scope = scopes.join(" ");
        let query = oidc_http::form_urlencode(&[
            ("response_type", "code"),
            ("client_id", &self.config.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("scope", &scope),
            ("state", &state),
            ("nonce", &nonce),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ]);
        let sep = if d.authorization_endpoint.contains('?') { '&' } else { '?' };
        let url = format!("{}{sep}{query}", d.authorization_endpoint);
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.retain(|_, p| p.started.elapsed() < PENDING_FOR);
        if pending.len() >= MAX_PENDING {
            return Err(OidcError("too many sign-ins in progress; try again in a few minutes".into()));
        }
        let binding_digest = Sha256::digest(binding.as_bytes()).into();
        pending.insert(state, Pending { binding: binding_digest, verifier, nonce, started: Instant::now() });
        Ok((url, binding))
    }

    /// Finishes a sign-in from the provider's redirect (`query`) and the binding cookie.
    pub async fn finish(&self, query: &str, binding: Option<&str>) -> Result<Tokens, OidcError> {
        let params = oidc_http::parse_query(query);
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let state = get("state").ok_or_else(|| OidcError("the sign-in answer has no state".into()))?;
        let pending = self.pending.lock().unwrap_or_else(|e| e.into_inner()).remove(&state);
        let Some(p) = pending.filter(|p| p.started.elapsed() < PENDING_FOR) else {
            return Err(OidcError("this sign-in is unknown or too old; start again".into()));
        };
        let presented: [u8; 32] = Sha256::digest(binding.unwrap_or_default().as_bytes()).into();
        if !ct_eq(&presented, &p.binding) {
            return Err(OidcError("this sign-in was started in another browser; start again".into()));
        }
        if let Some(error) = get("error") {
            let d = get("error_description").unwrap_or_default();
            return Err(OidcError(format!("the identity provider refused the sign-in: {error} {d}")));
        }
        let code = get("code").ok_or_else(|| OidcError("the sign-in answer has no code".into()))?;
        let d = self.discovery().await?;
        let resp = self
            .token_request(
                &d,
                vec![
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", &self.redirect_uri),
                    ("code_verifier", &p.verifier),
                ],
            )
            .await?;
        let id_token = resp.id_token.ok_or_else(|| OidcError("the provider returned no id_token".into()))?;
        self.check(&id_token, Some(&p.nonce))?;
        let expires = crate::credentials::jwt_expiry(&id_token);
        Ok(Tokens { id_token, refresh_token: resp.refresh_token, expires })
    }

    /// Refreshes `tokens` when the id_token expires within [`crate::credentials::REFRESH_BEFORE`];
    /// answers whether it did.
    pub async fn refresh_if_needed(&self, tokens: &mut Tokens) -> Result<bool, OidcError> {
        let soon = tokens.expires.is_some_and(|e| {
            e.saturating_duration_since(Instant::now()) <= crate::credentials::REFRESH_BEFORE
        });
        if !soon {
            return Ok(false);
        }
        let Some(rt) = tokens.refresh_token.clone() else {
            return Err(OidcError("your sign-in expired and cannot be refreshed; sign in again".into()));
        };
        let d = self.discovery().await?;
        let resp = self
            .token_request(&d, vec![("grant_type", "refresh_token"), ("refresh_token", &rt)])
            .await
            .map_err(|e| {
                OidcError(format!(
                    "the identity provider refused to refresh your sign-in ({e}); sign in again"
                ))
            })?;
        let id_token =
            resp.id_token.ok_or_else(|| OidcError("the refresh gave no id_token; sign in again".into()))?;
        self.check(&id_token, None)?;
        tokens.expires = crate::credentials::jwt_expiry(&id_token);
        tokens.id_token = id_token;
        if resp.refresh_token.is_some() {
            tokens.refresh_token = resp.refresh_token;
        }
        Ok(true)
    }

    async fn token_request(
        &self,
        d: &Discovery,
        mut form: Vec<(&str, &str)>,
    ) -> Result<kubeward_login::flow::TokenResponse, OidcError> {
        form.push(("client_id", &self.config.client_id));
        if let Some(s) = &self.config.client_secret {
            form.push(("client_secret", s));
        }
        let resp = self
            .http
            .post_form(&d.token_endpoint, &[("accept", "application/json")], &form)
            .await
            .map_err(|e| OidcError(format!("the identity provider cannot be reached: {e}")))?;
        if !resp.status.is_success() {
            let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap_or_default();
            let error = v.get("error").and_then(|e| e.as_str()).unwrap_or("error");
            let desc = v.get("error_description").and_then(|e| e.as_str()).unwrap_or_default();
            return Err(OidcError(format!("{error}: {desc} ({})", resp.status)));
        }
        serde_json::from_slice(&resp.body).map_err(|e| OidcError(format!("the token answer: {e}")))
    }

    fn check(&self, id_token: &str, nonce: Option<&str>) -> Result<(), OidcError> {
        let payload = id_token.split('.').nth(1).unwrap_or_default();
        let claims: serde_json::Value = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| OidcError("the id_token is not a JWT".into()))?;
        if claims.get("iss").and_then(|v| v.as_str()) != Some(self.config.issuer.as_str()) {
            return Err(OidcError("the id_token's issuer is not the configured one".into()));
        }
        if let Some(n) = nonce {
            if claims.get("nonce").and_then(|v| v.as_str()) != Some(n) {
                return Err(OidcError("the id_token's nonce does not match this sign-in".into()));
            }
        }
        Ok(())
    }
}
