//! What a kubeconfig says about one person: where the API server is and which CA to trust
//! (read by `outbound`'s kubeconfig reader), and the credential of the selected user, of any
//! kind client-go knows: a client certificate, a token or token file, an exec credential
//! plugin (`kubeward login`, aws-iam-authenticator, ...) or the legacy `oidc` auth provider.
//!
//! [`TokenSource`] yields the bearer token of a token-bearing credential when asked, as
//! client-go does: a token file is read again every minute, an exec plugin is run again when
//! its token is within [`REFRESH_BEFORE`] of its `expirationTimestamp` (or after the server
//! refused it), and the `oidc` auth provider's id-token is refreshed at its issuer.

use base64::Engine;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A token is renewed this long before it expires.
pub const REFRESH_BEFORE: Duration = Duration::from_secs(60);
/// How often a `tokenFile` is read again (client-go's period).
const TOKEN_FILE_PERIOD: Duration = Duration::from_secs(60);
/// The most an exec plugin may print.
const MAX_PLUGIN_OUTPUT: usize = 1 << 20;

/// Why a kubeconfig or its credential cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// The file cannot be read or parsed, or names nothing usable.
    #[error("{0}")]
    Kubeconfig(String),
    /// The exec plugin could not run or printed no usable ExecCredential.
    #[error("exec plugin `{command}`: {reason}")]
    Exec { command: String, reason: String },
    /// The token file cannot be read.
    #[error("token file `{path}`: {reason}")]
    TokenFile { path: String, reason: String },
    /// The `oidc` auth provider could not refresh its id-token.
    #[error("oidc auth provider: {0}")]
    Oidc(String),
}

/// The kubeconfig of one person, read once.
pub struct Kubeconfig {
    /// Server, CA, TLS server name, and the client certificate when the user has one.
    pub rest: outbound::RestConfig,
    /// How a bearer token is obtained, when the user has a token-bearing credential.
    pub tokens: Option<TokenSource>,
    /// The context's namespace, if any.
    pub namespace: Option<String>,
}

impl Kubeconfig {
    /// Whether the user entry holds any credential at all (desktop mode).
    pub fn has_credential(&self) -> bool {
        self.rest.client_cert.is_some() || self.tokens.is_some()
    }

    /// What kind of credential, for the who-am-I page.
    pub fn credential_kind(&self) -> &'static str {
        match (&self.tokens, &self.rest.client_cert) {
            (Some(t), _) => t.kind(),
            (None, Some(_)) => "client certificate from the kubeconfig",
            (None, None) => "none",
        }
    }
}

/// Reads the kubeconfig at `path`, selecting `context` (else the current context).
pub fn load(path: &Path, context: Option<&str>) -> Result<Kubeconfig, CredentialError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CredentialError::Kubeconfig(format!("reading `{}`: {e}", path.display())))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    parse(&text, dir, context)
}

/// Reads kubeconfig text; `dir` is where relative paths start.
pub fn parse(text: &str, dir: &Path, context: Option<&str>) -> Result<Kubeconfig, CredentialError> {
    let bad = |e: String| CredentialError::Kubeconfig(e);
    let mut file: Value =
        apimachinery::yaml::from_str(text).map_err(|e| bad(format!("parsing the kubeconfig: {e}")))?;
    if !file.is_object() {
        return Err(bad("parsing the kubeconfig: not a mapping".into()));
    }
    if let Some(c) = context {
        file["current-context"] = Value::from(c);
    }
    let current = file.get("current-context").and_then(Value::as_str).unwrap_or_default().to_string();
    let ctx = named(&file, "contexts", &current).and_then(|c| c.get("context")).cloned();
    if context.is_some() && ctx.is_none() {
        return Err(bad(format!("context was not found for specified context: {current}")));
    }
    let namespace = ctx
        .as_ref()
        .and_then(|c| c.get("namespace"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let user_name = ctx.as_ref().and_then(|c| c.get("user")).and_then(Value::as_str).unwrap_or_default();
    let user_name = if current.is_empty() {
        // outbound takes the first user without a current context.
        file.pointer("/users/0/name").and_then(Value::as_str).unwrap_or_default().to_string()
    } else {
        user_name.to_string()
    };
    // Take exec and auth-provider out: outbound reads the rest (and refuses them).
    let mut exec = None;
    let mut auth_provider = None;
    if let Some(users) = file.get_mut("users").and_then(Value::as_array_mut) {
        for u in users {
            if u.get("name").and_then(Value::as_str) != Some(user_name.as_str()) {
                continue;
            }
            if let Some(user) = u.get_mut("user").and_then(Value::as_object_mut) {
                exec = user.remove("exec").filter(|v| !v.is_null());
                auth_provider = user.remove("auth-provider").filter(|v| !v.is_null());
            }
        }
    }
    let rest_text = serde_json::to_string(&file).map_err(|e| bad(e.to_string()))?;
    let rest = outbound::kubeconfig::parse(&rest_text, dir).map_err(|e| bad(e.to_string()))?;
    let tokens = match (exec, auth_provider) {
        (Some(e), _) => Some(TokenSource::exec(&e, dir, &rest)?),
        (None, Some(p)) => Some(TokenSource::auth_provider(&p)?),
        (None, None) => match (&rest.token_file, &rest.token) {
            (Some(f), t) => Some(TokenSource::file(f.clone(), t.clone())),
            (None, Some(t)) => Some(TokenSource::Static(t.clone())),
            (None, None) => None,
        },
    };
    Ok(Kubeconfig { rest, tokens, namespace })
}

fn named<'a>(file: &'a Value, list: &str, name: &str) -> Option<&'a Value> {
    file.get(list)?.as_array()?.iter().find(|e| e.get("name").and_then(Value::as_str) == Some(name))
}

/// A token and when it stops being usable.
#[derive(Clone)]
pub struct Cached {
    token: String,
    /// `None`: no stated expiry (kept until the server refuses it).
    expires: Option<Instant>,
}

/// Where bearer tokens come from; see the module docs. Tokens never reach `Debug` or logs.
pub enum TokenSource {
    /// `token`.
    Static(String),
    /// `tokenFile` (re-read every minute), `token` as its fallback.
    File { path: PathBuf, fallback: Option<String>, cached: Mutex<Option<(String, Instant)>> },
    /// An exec credential plugin.
    Exec { plugin: ExecPlugin, cached: tokio::sync::Mutex<Option<Cached>> },
    /// The legacy `oidc` auth provider: its id-token, refreshed at the issuer.
    OidcProvider { provider: OidcProvider, cached: tokio::sync::Mutex<Option<Cached>> },
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind())
    }
}

impl TokenSource {
    fn file(path: PathBuf, fallback: Option<String>) -> Self {
        TokenSource::File { path, fallback, cached: Mutex::new(None) }
    }

    fn exec(v: &Value, dir: &Path, rest: &outbound::RestConfig) -> Result<Self, CredentialError> {
        let plugin = ExecPlugin::from_value(v, dir, rest)?;
        Ok(TokenSource::Exec { plugin, cached: tokio::sync::Mutex::new(None) })
    }

    fn auth_provider(v: &Value) -> Result<Self, CredentialError> {
        let name = v.get("name").and_then(Value::as_str).unwrap_or_default();
        if name != "oidc" {
            return Err(CredentialError::Kubeconfig(format!(
                "auth-provider `{name}` is not supported (oidc is; use an exec plugin for the others)"
            )));
        }
        let provider = OidcProvider::from_value(v)?;
        let cached = provider.id_token.clone().map(|token| Cached { expires: jwt_expiry(&token), token });
        Ok(TokenSource::OidcProvider { provider, cached: tokio::sync::Mutex::new(cached) })
    }

    /// What kind of credential this is, for the who-am-I page and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            TokenSource::Static(_) => "bearer token from the kubeconfig",
            TokenSource::File { .. } => "token file from the kubeconfig",
            TokenSource::Exec { .. } => "exec credential plugin from the kubeconfig",
            TokenSource::OidcProvider { .. } => "oidc auth provider from the kubeconfig",
        }
    }

    /// The token to send now, renewed first when it is about to expire.
    pub async fn token(&self) -> Result<String, CredentialError> {
        match self {
            TokenSource::Static(t) => Ok(t.clone()),
            TokenSource::File { path, fallback, cached } => {
                // The cache holds one whole value; a panic elsewhere cannot leave it half-written.
                let mut c = cached.lock().unwrap_or_else(|e| e.into_inner());
                if let Some((t, at)) = c.as_ref() {
                    if at.elapsed() < TOKEN_FILE_PERIOD {
                        return Ok(t.clone());
                    }
                }
                match std::fs::read_to_string(path).map(|t| t.trim().to_string()) {
                    Ok(t) if !t.is_empty() => {
                        *c = Some((t.clone(), Instant::now()));
                        Ok(t)
                    }
                    other => {
                        let reason = match other {
                            Err(e) => e.to_string(),
                            Ok(_) => "the file is empty".into(),
                        };
                        if let Some((t, _)) = c.as_ref() {
                            tracing::warn!(path = %path.display(), %reason, "cannot re-read the token file; keeping the last token");
                            return Ok(t.clone());
                        }
                        fallback
                            .clone()
                            .ok_or(CredentialError::TokenFile { path: path.display().to_string(), reason })
                    }
                }
            }
            TokenSource::Exec { plugin, cached } => {
                let mut c = cached.lock().await;
                if let Some(t) = c.as_ref().filter(|t| fresh(t)) {
                    return Ok(t.token.clone());
                }
                let got = plugin.run().await?;
                let token = got.token.clone();
                *c = Some(got);
                Ok(token)
            }
            TokenSource::OidcProvider { provider, cached } => {
                let mut c = cached.lock().await;
                if let Some(t) = c.as_ref().filter(|t| fresh(t)) {
                    return Ok(t.token.clone());
                }
                let token = provider.refresh().await?;
                *c = Some(Cached { expires: jwt_expiry(&token), token: token.clone() });
                Ok(token)
            }
        }
    }

    /// The server refused the last token: the next [`TokenSource::token`] renews it (exec
    /// plugins and the oidc provider), as client-go does after a 401.
    pub async fn refused(&self) {
        match self {
            TokenSource::Exec { cached, .. } | TokenSource::OidcProvider { cached, .. } => {
                *cached.lock().await = None;
            }
            TokenSource::File { cached, .. } => {
                *cached.lock().unwrap_or_else(|e| e.into_inner()) = None;
            }
            TokenSource::Static(_) => {}
        }
    }

    /// When the current token expires, if known (the auth proxy renews ahead of it).
    pub async fn expires(&self) -> Option<Instant> {
        match self {
            TokenSource::Exec { cached, .. } | TokenSource::OidcProvider { cached, .. } => {
                cached.lock().await.as_ref().and_then(|c| c.expires)
            }
            _ => None,
        }
    }
}

fn fresh(c: &Cached) -> bool {
    c.expires.is_none_or(|e| e.saturating_duration_since(Instant::now()) > REFRESH_BEFORE)
}

/// The `exp` of a JWT, as an instant (no verification: the API server verifies).
pub fn jwt_expiry(token: &str) -> Option<Instant> {
    let exp = kubeward_login::id_token_expiry(token)?;
    let left = exp - chrono::Utc::now().timestamp();
    Some(Instant::now() + Duration::from_secs(u64::try_from(left).unwrap_or(0)))
}

/// A client-go exec credential plugin (`users[].user.exec`).
pub struct ExecPlugin {
    command: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    api_version: String,
    /// `provideClusterInfo`: the cluster's server and CA go into `KUBERNETES_EXEC_INFO`.
    cluster: Option<Value>,
}

impl ExecPlugin {
    fn from_value(v: &Value, dir: &Path, rest: &outbound::RestConfig) -> Result<Self, CredentialError> {
        let bad = |m: &str| CredentialError::Kubeconfig(format!("exec: {m}"));
        let command = v.get("command").and_then(Value::as_str).filter(|c| !c.is_empty());
        let command = command.ok_or_else(|| bad("command is required"))?;
        // client-go: a relative path with a separator is relative to the kubeconfig.
        let command = if command.contains('/') && !Path::new(command).is_absolute() {
            dir.join(command).display().to_string()
        } else {
            command.to_string()
        };
        let strings = |k: &str| -> Vec<String> {
            v.get(k)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default()
        };
        let env = v
            .get("env")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|e| {
                        Some((e.get("name")?.as_str()?.to_string(), e.get("value")?.as_str()?.to_string()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let api_version = v.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
        if !matches!(api_version, "client.authentication.k8s.io/v1" | "client.authentication.k8s.io/v1beta1")
        {
            return Err(bad(&format!("apiVersion `{api_version}` is not supported")));
        }
        let cluster = v.get("provideClusterInfo").and_then(Value::as_bool).unwrap_or(false).then(|| {
            let mut c = serde_json::json!({ "server": rest.server.to_string() });
            if let Some(ca) = &rest.ca_pem {
                c["certificate-authority-data"] = base64::engine::general_purpose::STANDARD.encode(ca).into();
            }
            c
        });
        Ok(Self { command, args: strings("args"), env, api_version: api_version.to_string(), cluster })
    }

    /// Runs the plugin (stdin closed, stderr shown to the person who started us) and reads
    /// its ExecCredential.
    async fn run(&self) -> Result<Cached, CredentialError> {
        let fail = |reason: String| CredentialError::Exec { command: self.command.clone(), reason };
        let mut spec = serde_json::json!({ "interactive": false });
        if let Some(c) = &self.cluster {
            spec["cluster"] = c.clone();
        }
        let info =
            serde_json::json!({ "kind": "ExecCredential", "apiVersion": self.api_version, "spec": spec });
        let mut cmd = std::process::Command::new(&self.command);
        cmd.args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("KUBERNETES_EXEC_INFO", info.to_string())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit());
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .map_err(|e| fail(e.to_string()))?
            .map_err(|e| fail(e.to_string()))?;
        if !out.status.success() {
            return Err(fail(format!("exited with {}", out.status)));
        }
        if out.stdout.len() > MAX_PLUGIN_OUTPUT {
            return Err(fail("printed more than 1 MiB".into()));
        }
        let v: Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| fail(format!("printed no ExecCredential JSON: {e}")))?;
        if v.get("apiVersion").and_then(Value::as_str) != Some(self.api_version.as_str()) {
            return Err(fail(format!("answered with apiVersion other than {}", self.api_version)));
        }
        let status = v.get("status").ok_or_else(|| fail("the ExecCredential has no status".into()))?;
        let Some(token) = status.get("token").and_then(Value::as_str).filter(|t| !t.is_empty()) else {
            return Err(fail(
                "gave no token (a client certificate from a plugin is not supported here)".into(),
            ));
        };
        let expires = status
            .get("expirationTimestamp")
            .and_then(Value::as_str)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| {
                let left = t.timestamp() - chrono::Utc::now().timestamp();
                Instant::now() + Duration::from_secs(u64::try_from(left).unwrap_or(0))
            });
        Ok(Cached { token: token.to_string(), expires })
    }
}

/// The legacy `oidc` auth provider's configuration (`auth-provider.config`).
pub struct OidcProvider {
    issuer: String,
    client_id: String,
    client_secret: Option<String>,
    refresh_token: Mutex<Option<String>>,
    ca_pem: Option<Vec<u8>>,
    id_token: Option<String>,
}

impl OidcProvider {
    fn from_value(v: &Value) -> Result<Self, CredentialError> {
        let cfg = v.get("config").cloned().unwrap_or_default();
        let s = |k: &str| cfg.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
        let issuer =
            s("idp-issuer-url").ok_or_else(|| CredentialError::Oidc("idp-issuer-url is required".into()))?;
        let client_id =
            s("client-id").ok_or_else(|| CredentialError::Oidc("client-id is required".into()))?;
        let ca_pem = match (s("idp-certificate-authority-data"), s("idp-certificate-authority")) {
            (Some(d), _) => Some(
                base64::engine::general_purpose::STANDARD
                    .decode(d)
                    .map_err(|e| CredentialError::Oidc(format!("idp-certificate-authority-data: {e}")))?,
            ),
            (None, Some(f)) => {
                Some(std::fs::read(&f).map_err(|e| CredentialError::Oidc(format!("{f}: {e}")))?)
            }
            (None, None) => None,
        };
        Ok(Self {
            issuer,
            client_id,
            client_secret: s("client-secret"),
            refresh_token: Mutex::new(s("refresh-token")),
            ca_pem,
            id_token: s("id-token"),
        })
    }

    async fn refresh(&self) -> Result<String, CredentialError> {
        let fail = |e: String| CredentialError::Oidc(e);
        let Some(rt) = self.refresh_token.lock().unwrap_or_else(|e| e.into_inner()).clone() else {
            return Err(fail("the id-token expired and there is no refresh-token".into()));
        };
        let client =
            authn::oidc::http::HttpClient::new(self.ca_pem.as_deref()).map_err(|e| fail(e.to_string()))?;
        let d =
            kubeward_login::flow::discover(&client, &self.issuer).await.map_err(|e| fail(e.to_string()))?;
        let mut opts = kubeward_login::LoginOptions::new(&self.issuer, &self.client_id);
        opts.client_secret = self.client_secret.clone();
        let resp =
            kubeward_login::flow::refresh(&client, &d, &opts, &rt).await.map_err(|e| fail(e.to_string()))?;
        let id = resp.id_token.ok_or_else(|| fail("the refresh gave no id_token".into()))?;
        if let Some(new_rt) = resp.refresh_token {
            *self.refresh_token.lock().unwrap_or_else(|e| e.into_inner()) = Some(new_rt);
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const CA: &str = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJrVENCK3dJSkFLSE==";

    fn kc(user: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:6443\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n    namespace: team-a\ncurrent-context: x\nusers:\n- name: u\n  user:\n{user}"
        )
    }

    #[tokio::test]
    async fn token_exec_and_none_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let k = parse(&kc("    token: abc\n"), dir.path(), None).unwrap();
        assert!(k.has_credential());
        assert_eq!(k.namespace.as_deref(), Some("team-a"));
        assert_eq!(k.tokens.as_ref().unwrap().token().await.unwrap(), "abc");
        let k = parse(&kc("    {}\n"), dir.path(), None).unwrap();
        assert!(!k.has_credential());
        assert_eq!(k.credential_kind(), "none");
        let e = parse(&kc("    {}\n"), dir.path(), Some("nope")).err().unwrap();
        assert_eq!(e.to_string(), "context was not found for specified context: nope");
        let e = parse(&kc("    auth-provider:\n      name: gcp\n"), dir.path(), None).err().unwrap();
        assert!(e.to_string().contains("auth-provider `gcp` is not supported"), "{e}");
        let _ = CA;
    }

    #[tokio::test]
    async fn exec_plugin_tokens_are_cached_until_near_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("plugin.sh");
        let count = dir.path().join("count");
        let soon = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc3339();
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho x >> {}\necho \"$KUBERNETES_EXEC_INFO\" | grep -q '\"interactive\":false' || exit 3\nprintf '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"tok-%s\",\"expirationTimestamp\":\"{soon}\"}}}}' \"$GREETING\"\n",
                count.display()
            ),
        )
        .unwrap();
        std::process::Command::new("chmod").arg("+x").arg(&script).status().unwrap();
        let user = "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: ./plugin.sh\n      env:\n      - name: GREETING\n        value: hi\n";
        let k = parse(&kc(user), dir.path(), None).unwrap();
        let src = k.tokens.unwrap();
        assert_eq!(src.token().await.unwrap(), "tok-hi");
        // Expires within REFRESH_BEFORE: run again.
        assert_eq!(src.token().await.unwrap(), "tok-hi");
        assert_eq!(std::fs::read_to_string(&count).unwrap().lines().count(), 2);
        assert!(src.expires().await.is_some());
    }

    #[tokio::test]
    async fn a_failing_plugin_is_an_error_not_a_token() {
        let dir = tempfile::tempdir().unwrap();
        let user =
            "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /bin/false\n";
        let k = parse(&kc(user), dir.path(), None).unwrap();
        let e = k.tokens.unwrap().token().await.err().unwrap();
        assert!(e.to_string().starts_with("exec plugin `/bin/false`: exited with"), "{e}");
    }
}
