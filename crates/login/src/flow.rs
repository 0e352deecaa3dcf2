//! The OAuth 2.0 / OpenID Connect exchanges of `kubeward login`: discovery, the
//! authorization-code flow with PKCE (S256) on a loopback redirect (RFC 8252), the device
//! authorization grant (RFC 8628) and the refresh-token grant.

use crate::{LoginError, LoginOptions, Prompt};
use authn::oidc::http::{self as oidc_http, HttpClient};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The provider endpoints the login needs.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub device_authorization_endpoint: Option<String>,
}

/// A token endpoint answer.
#[derive(Deserialize)]
pub struct TokenResponse {
    #[serde(default)]
    pub id_token: Option<String>,
    #[serde(default)]
    pub refresh_token: Option<String>,
}

#[derive(Deserialize)]
struct OAuthError {
    error: String,
    #[serde(default)]
    error_description: String,
}

pub async fn discover(client: &HttpClient, issuer: &str) -> Result<Discovery, LoginError> {
    let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
    let resp = client.get(&url, &[("accept", "application/json")]).await?;
    if !resp.status.is_success() {
        return Err(LoginError::Provider { error: format!("discovery: {}", resp.status), description: url });
    }
    let d: Discovery = serde_json::from_slice(&resp.body)
        .map_err(|e| LoginError::Provider { error: "discovery".into(), description: e.to_string() })?;
    if d.issuer != issuer {
        return Err(LoginError::Provider {
            error: "discovery".into(),
            description: format!("issuer mismatch: expected {issuer:?} got {:?}", d.issuer),
        });
    }
    Ok(d)
}

fn random_b64(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

fn oauth_error(body: &[u8], status: ::http::StatusCode) -> LoginError {
    match serde_json::from_slice::<OAuthError>(body) {
        Ok(e) => LoginError::Provider { error: e.error, description: e.error_description },
        Err(_) => {
            LoginError::Provider { error: format!("token endpoint: {status}"), description: String::new() }
        }
    }
}

async fn token_request(
    client: &HttpClient,
    d: &Discovery,
    opts: &LoginOptions,
    mut form: Vec<(&str, &str)>,
) -> Result<TokenResponse, LoginError> {
    form.push(("client_id", &opts.client_id));
    if let Some(secret) = &opts.client_secret {
        form.push(("client_secret", secret));
    }
    let resp = client.post_form(&d.token_endpoint, &[("accept", "application/json")], &form).await?;
    if !resp.status.is_success() {
        return Err(oauth_error(&resp.body, resp.status));
    }
    serde_json::from_slice(&resp.body)
        .map_err(|e| LoginError::Provider { error: "token response".into(), description: e.to_string() })
}

/// The refresh-token grant.
pub async fn refresh(
    client: &HttpClient,
    d: &Discovery,
    opts: &LoginOptions,
    refresh_token: &str,
) -> Result<TokenResponse, LoginError> {
    token_request(client, d, opts, vec![("grant_type", "refresh_token"), ("refresh_token", refresh_token)])
        .await
}

/// The authorization-code flow with PKCE on `http://127.0.0.1:<port><redirect_path>`.
pub async fn auth_code(
    client: &HttpClient,
    d: &Discovery,
    opts: &LoginOptions,
) -> Result<(TokenResponse, String), LoginError> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", opts.listen_port))
        .await
        .map_err(|e| LoginError::Loopback(e.to_string()))?;
    let port = listener.local_addr().map_err(|e| LoginError::Loopback(e.to_string()))?.port();
    let redirect_uri = format!("http://127.0.0.1:{port}{}", opts.redirect_path);
    let (state, nonce, verifier) = (random_b64(32), random_b64(32), random_b64(32));
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let scope = opts.scopes().join(" ");
    let query = oidc_http::form_urlencode(&[
        ("response_type", "code"),
        ("client_id", &opts.client_id),
        ("redirect_uri", &redirect_uri),
        ("scope", &scope),
        ("state", &state),
        ("nonce", &nonce),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
        // Asks the provider to state `auth_time` in id_tokens (refreshed ones keep it), which
        // is what a server-side revocation compares; a day-old sign-in is renewed.
        ("max_age", "86400"),
    ]);
    let sep = if d.authorization_endpoint.contains('?') { '&' } else { '?' };
    let url = format!("{}{sep}{query}", d.authorization_endpoint);
    (opts.prompt)(Prompt::Browser { url: url.clone() });
    if opts.open_browser {
        open_browser(&url);
    }
    let code = tokio::time::timeout(opts.auth_timeout, receive_code(&listener, &opts.redirect_path, &state))
        .await
        .map_err(|_| LoginError::Timeout)??;
    let tokens = token_request(
        client,
        d,
        opts,
        vec![
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect_uri),
            ("code_verifier", &verifier),
        ],
    )
    .await?;
    Ok((tokens, nonce))
}

fn open_browser(url: &str) {
    let spawned = std::process::Command::new("xdg-open")
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if spawned.is_err() {
        eprintln!("kubeward login: could not open a browser; open the URL above yourself");
    }
}

/// Serves the loopback redirect until a request carries our `state`; returns the code.
async fn receive_code(
    listener: &tokio::net::TcpListener,
    path: &str,
    state: &str,
) -> Result<String, LoginError> {
    loop {
        let (mut sock, _) = listener.accept().await.map_err(|e| LoginError::Loopback(e.to_string()))?;
        let mut buf = Vec::with_capacity(2048);
        let mut chunk = [0u8; 2048];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
            match sock.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            }
        }
        let text = String::from_utf8_lossy(&buf);
        let target = text.lines().next().and_then(|l| l.split(' ').nth(1)).unwrap_or_default().to_string();
        let (req_path, query) = target.split_once('?').unwrap_or((&target, ""));
        let params = oidc_http::parse_query(query);
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let outcome = if req_path != path || get("state").as_deref() != Some(state) {
            None
        } else if let Some(code) = get("code") {
            Some(Ok(code))
        } else {
            let error = get("error").unwrap_or_else(|| "missing code".into());
            Some(Err(LoginError::Provider {
                error,
                description: get("error_description").unwrap_or_default(),
            }))
        };
        let (status, body) = match &outcome {
            Some(Ok(_)) => ("200 OK", "Signed in. You can close this window and return to the terminal."),
            Some(Err(_)) => ("400 Bad Request", "Sign-in failed; see the terminal."),
            None => ("404 Not Found", "Not found."),
        };
        let reply = format!(
            "HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = sock.write_all(reply.as_bytes()).await;
        let _ = sock.shutdown().await;
        if let Some(result) = outcome {
            return result;
        }
    }
}

#[derive(Deserialize)]
struct DeviceAuthorization {
    device_code: String,
    user_code: String,
    verification_uri: String,
    #[serde(default)]
    verification_uri_complete: Option<String>,
    #[serde(default)]
    interval: Option<u64>,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// The device authorization grant: show the code, poll the token endpoint.
pub async fn device_code(
    client: &HttpClient,
    d: &Discovery,
    opts: &LoginOptions,
) -> Result<TokenResponse, LoginError> {
    let endpoint = d.device_authorization_endpoint.as_deref().ok_or(LoginError::DeviceFlowUnsupported)?;
    let scope = opts.scopes().join(" ");
    let mut form = vec![("client_id", opts.client_id.as_str()), ("scope", scope.as_str())];
    if let Some(secret) = &opts.client_secret {
        form.push(("client_secret", secret));
    }
    let resp = client.post_form(endpoint, &[("accept", "application/json")], &form).await?;
    if !resp.status.is_success() {
        return Err(oauth_error(&resp.body, resp.status));
    }
    let auth: DeviceAuthorization = serde_json::from_slice(&resp.body).map_err(|e| LoginError::Provider {
        error: "device authorization".into(),
        description: e.to_string(),
    })?;
    (opts.prompt)(Prompt::Device {
        verification_uri: auth.verification_uri.clone(),
        verification_uri_complete: auth.verification_uri_complete.clone(),
        user_code: auth.user_code.clone(),
    });
    let mut interval = Duration::from_secs(auth.interval.unwrap_or(5).max(1));
    let deadline = tokio::time::Instant::now()
        + Duration::from_secs(auth.expires_in.unwrap_or(600)).min(opts.auth_timeout);
    loop {
        tokio::time::sleep(interval).await;
        if tokio::time::Instant::now() > deadline {
            return Err(LoginError::Timeout);
        }
        let form = vec![
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", auth.device_code.as_str()),
        ];
        match token_request(client, d, opts, form).await {
            Ok(t) => return Ok(t),
            Err(LoginError::Provider { error, .. }) if error == "authorization_pending" => {}
            Err(LoginError::Provider { error, .. }) if error == "slow_down" => {
                interval += Duration::from_secs(5)
            }
            Err(e) => return Err(e),
        }
    }
}
