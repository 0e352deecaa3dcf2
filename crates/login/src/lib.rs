//! `kubeward login`: an OpenID Connect client for kubectl, run as a client-go exec
//! credential plugin (`client.authentication.k8s.io/v1` ExecCredential), as kubelogin is.
//!
//! [`get_token`] answers with a cached ID token while it has more than
//! [`LoginOptions::min_validity`] left, otherwise refreshes it with the refresh token, and
//! only then signs in interactively: the authorization-code flow with PKCE on a loopback
//! redirect (the URL is printed, and opened in a browser unless disabled) or the device
//! flow. [`logout`] drops the cache, [`setup()`] prints the kubeconfig user entry, server
//! flags and a ClusterRoleBinding, and [`revocation`] builds the ConfigMap edits behind
//! `kubeward oidc revoke`.
//!
//! Modules: [`cache`] (the 0600 token file), [`flow`] (the OAuth exchanges), [`setup`]
//! (texts for the operator), [`revocation`].

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod cache;
pub mod flow;
pub mod revocation;
pub mod setup;

use authn::oidc::http::{HttpClient, HttpError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use revocation::{revocation_configmap, revocation_configmap_patch, unrevoke_configmap_patch};
pub use setup::{setup, SetupOptions};

/// The ExecCredential API version written and expected.
pub const EXEC_CREDENTIAL_API_VERSION: &str = "client.authentication.k8s.io/v1";

/// Errors of the login plugin; printed to stderr by the CLI, never with token material.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Talking to the provider failed.
    #[error("identity provider: {0}")]
    Http(#[from] HttpError),
    /// The provider answered with an OAuth error.
    #[error("identity provider: {error}{}", if description.is_empty() { String::new() } else { format!(": {description}") })]
    Provider { error: String, description: String },
    /// The loopback redirect server could not run.
    #[error("loopback redirect: {0}")]
    Loopback(String),
    /// The user did not finish signing in in time.
    #[error("timed out waiting for the sign-in to complete")]
    Timeout,
    /// `--grant-type device-code` but the provider has no device authorization endpoint.
    #[error("the identity provider does not offer the device flow (no device_authorization_endpoint)")]
    DeviceFlowUnsupported,
    /// The provider returned no usable ID token.
    #[error("the identity provider returned no valid id_token: {0}")]
    IdToken(String),
    /// The token cache could not be written or removed.
    #[error("token cache: {0}")]
    Cache(String),
    /// A CA file could not be read.
    #[error("{path}: {source}")]
    CaFile { path: String, source: std::io::Error },
}

/// How to sign in when no cached or refreshable token is available.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GrantType {
    /// Authorization code with PKCE on a loopback redirect.
    #[default]
    AuthCode,
    /// The device authorization grant.
    DeviceCode,
}

impl std::str::FromStr for GrantType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" | "authcode" | "auth-code" => Ok(GrantType::AuthCode),
            "device-code" | "devicecode" => Ok(GrantType::DeviceCode),
            other => Err(format!("unknown grant type `{other}` (authcode, device-code)")),
        }
    }
}

/// What the user must do to sign in, shown by [`LoginOptions::prompt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    /// Open this URL in a browser.
    Browser { url: String },
    /// Visit the URL and enter the code.
    Device { verification_uri: String, verification_uri_complete: Option<String>, user_code: String },
}

/// Prints a prompt to stderr (stdout carries the ExecCredential).
pub fn print_prompt(p: Prompt) {
    match p {
        Prompt::Browser { url } => eprintln!("Open this URL in your browser to sign in:\n\n    {url}\n"),
        Prompt::Device { verification_uri, verification_uri_complete, user_code } => {
            eprintln!("Visit {verification_uri} and enter the code {user_code}");
            if let Some(u) = verification_uri_complete {
                eprintln!("or open {u}");
            }
        }
    }
}

/// Options of `kubeward login get-token` (flag names as kubelogin's).
#[derive(Clone)]
pub struct LoginOptions {
    /// `--oidc-issuer-url`.
    pub issuer_url: String,
    /// `--oidc-client-id`.
    pub client_id: String,
    /// `--oidc-client-secret` (public clients have none).
    pub client_secret: Option<String>,
    /// `--oidc-extra-scope`, repeated; `openid` is always asked for.
    pub extra_scopes: Vec<String>,
    /// `--certificate-authority`: PEM file trusted for the provider (else the system roots).
    pub ca_file: Option<PathBuf>,
    /// `--grant-type`.
    pub grant_type: GrantType,
    /// `--token-cache-dir` (default `~/.kube/cache/kubeward-login`).
    pub cache_dir: Option<PathBuf>,
    /// Open the URL with `xdg-open` (`--no-browser` clears it).
    pub open_browser: bool,
    /// `--listen-port` of the loopback redirect (0: any free port).
    pub listen_port: u16,
    /// Path of the loopback redirect URI (registered at the provider as
    /// `http://127.0.0.1<path>`; loopback ports may vary, RFC 8252).
    pub redirect_path: String,
    /// A cached ID token is used only while it has more than this left.
    pub min_validity: Duration,
    /// How long to wait for an interactive sign-in.
    pub auth_timeout: Duration,
    /// Shows the sign-in prompt (default: [`print_prompt`] to stderr).
    pub prompt: Arc<dyn Fn(Prompt) + Send + Sync>,
}

impl std::fmt::Debug for LoginOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginOptions")
            .field("issuer_url", &self.issuer_url)
            .field("client_id", &self.client_id)
            .field("extra_scopes", &self.extra_scopes)
            .field("grant_type", &self.grant_type)
            .finish_non_exhaustive()
    }
}

impl LoginOptions {
    /// Defaults for an issuer and client: auth-code flow, browser, 1 minute validity.
    pub fn new(issuer_url: impl Into<String>, client_id: impl Into<String>) -> Self {
        Self {
            issuer_url: issuer_url.into(),
            client_id: client_id.into(),
            client_secret: None,
            extra_scopes: Vec::new(),
            ca_file: None,
            grant_type: GrantType::AuthCode,
            cache_dir: None,
            open_browser: true,
            listen_port: 0,
            redirect_path: "/callback".into(),
            min_validity: Duration::from_secs(60),
            auth_timeout: Duration::from_secs(300),
            prompt: Arc::new(print_prompt),
        }
    }

    /// `openid` and the extra scopes, in order, without duplicates.
    pub fn scopes(&self) -> Vec<String> {
        let mut s = vec!["openid".to_string()];
        for e in &self.extra_scopes {
            if !s.contains(e) {
                s.push(e.clone());
            }
        }
        s
    }

    /// The token cache file of these options.
    pub fn cache_path(&self) -> Result<PathBuf, LoginError> {
        let dir = match &self.cache_dir {
            Some(d) => d.clone(),
            None => cache::default_cache_dir()?,
        };
        Ok(cache::cache_file(&dir, &self.issuer_url, &self.client_id, &self.scopes()))
    }

    fn client(&self) -> Result<HttpClient, LoginError> {
        let pem = match &self.ca_file {
            Some(p) => Some(
                std::fs::read(p)
                    .map_err(|source| LoginError::CaFile { path: p.display().to_string(), source })?,
            ),
            None => None,
        };
        Ok(HttpClient::new(pem.as_deref())?)
    }
}

/// The claims `get_token` reads from an ID token (without verifying it: the API server does).
#[derive(serde::Deserialize)]
struct IdClaims {
    #[serde(default)]
    exp: Option<f64>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    iss: Option<String>,
}

fn id_claims(token: &str) -> Option<IdClaims> {
    let payload = token.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

/// The expiry of an ID token, if readable.
pub fn id_token_expiry(token: &str) -> Option<i64> {
    id_claims(token)?.exp.map(|e| e as i64)
}

/// The ExecCredential JSON for a token (expiration = the token's `exp`).
pub fn exec_credential(token: &str) -> String {
    let mut status = serde_json::json!({ "token": token });
    if let Some(t) = id_token_expiry(token).and_then(|e| chrono::DateTime::from_timestamp(e, 0)) {
        status["expirationTimestamp"] = t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true).into();
    }
    serde_json::json!({
        "kind": "ExecCredential",
        "apiVersion": EXEC_CREDENTIAL_API_VERSION,
        "spec": { "interactive": false },
        "status": status,
    })
    .to_string()
}

fn usable(token: &str, opts: &LoginOptions, now: i64) -> bool {
    let min = i64::try_from(opts.min_validity.as_secs()).unwrap_or(i64::MAX);
    id_token_expiry(token).is_some_and(|exp| exp - now > min)
}

/// The body of the exec plugin: an ExecCredential JSON string for stdout.
pub async fn get_token(opts: &LoginOptions) -> Result<String, LoginError> {
    let path = opts.cache_path()?;
    let mut cached = cache::read(&path);
    let now = chrono::Utc::now().timestamp();
    if let Some(t) = cached.id_token.as_deref().filter(|t| usable(t, opts, now)) {
        return Ok(exec_credential(t));
    }
    let client = opts.client()?;
    let discovery = flow::discover(&client, &opts.issuer_url).await?;
    if let Some(rt) = cached.refresh_token.clone() {
        match flow::refresh(&client, &discovery, opts, &rt).await {
            Ok(resp) => {
                let id_token =
                    resp.id_token.ok_or_else(|| LoginError::IdToken("refresh gave no id_token".into()))?;
                check_id_token(&id_token, opts, None)?;
                cached.refresh_token = resp.refresh_token.or(Some(rt));
                cached.id_token = Some(id_token.clone());
                cache::write(&path, &cached)?;
                return Ok(exec_credential(&id_token));
            }
            Err(e @ LoginError::Http(_)) => return Err(e),
            Err(e) => eprintln!("kubeward login: refresh failed ({e}); signing in again"),
        }
    }
    let (resp, nonce) = match opts.grant_type {
        GrantType::AuthCode => {
            let (r, n) = flow::auth_code(&client, &discovery, opts).await?;
            (r, Some(n))
        }
        GrantType::DeviceCode => (flow::device_code(&client, &discovery, opts).await?, None),
    };
    let id_token =
        resp.id_token.ok_or_else(|| LoginError::IdToken("token response has no id_token".into()))?;
    check_id_token(&id_token, opts, nonce.as_deref())?;
    let tokens = cache::CachedTokens { id_token: Some(id_token.clone()), refresh_token: resp.refresh_token };
    cache::write(&path, &tokens)?;
    Ok(exec_credential(&id_token))
}

fn check_id_token(token: &str, opts: &LoginOptions, nonce: Option<&str>) -> Result<(), LoginError> {
    let c = id_claims(token).ok_or_else(|| LoginError::IdToken("not a JWT".into()))?;
    if c.iss.as_deref() != Some(opts.issuer_url.as_str()) {
        return Err(LoginError::IdToken("issuer mismatch".into()));
    }
    if let Some(n) = nonce {
        if c.nonce.as_deref() != Some(n) {
            return Err(LoginError::IdToken("nonce mismatch".into()));
        }
    }
    Ok(())
}

/// `--logout`: removes the cached tokens; `Ok(true)` when there were some.
pub fn logout(opts: &LoginOptions) -> Result<bool, LoginError> {
    cache::remove(&opts.cache_path()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: serde_json::Value) -> String {
        format!("e30.{}.c2ln", URL_SAFE_NO_PAD.encode(claims.to_string()))
    }

    #[test]
    fn exec_credential_shape() {
        let t = jwt(serde_json::json!({"exp": 1_700_000_000}));
        let v: serde_json::Value = serde_json::from_str(&exec_credential(&t)).unwrap();
        assert_eq!(v["apiVersion"], EXEC_CREDENTIAL_API_VERSION);
        assert_eq!(v["kind"], "ExecCredential");
        assert_eq!(v["status"]["token"], t.as_str());
        assert_eq!(v["status"]["expirationTimestamp"], "2023-11-14T22:13:20Z");
    }

    #[test]
    fn validity_and_scopes() {
        let mut o = LoginOptions::new("https://i", "c");
        o.extra_scopes = vec!["email".into(), "openid".into(), "groups".into()];
        assert_eq!(o.scopes(), vec!["openid", "email", "groups"]);
        let now = 1_000_000;
        assert!(usable(&jwt(serde_json::json!({"exp": now + 61})), &o, now));
        assert!(!usable(&jwt(serde_json::json!({"exp": now + 60})), &o, now));
        assert!(!usable("garbage", &o, now));
        let ok = jwt(serde_json::json!({"iss": "https://i", "nonce": "n"}));
        assert!(check_id_token(&ok, &o, Some("n")).is_ok());
        assert!(check_id_token(&ok, &o, Some("m")).is_err());
        assert!("device-code".parse::<GrantType>() == Ok(GrantType::DeviceCode));
        assert!("x".parse::<GrantType>().is_err());
    }
}
