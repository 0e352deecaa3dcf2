//! The `--authentication-token-webhook-config-file`: a kubeconfig whose current context
//! (or only cluster and user) names the webhook's URL, the CA that signs its serving
//! certificate, and optionally a client certificate or a bearer token for it.

use super::WebhookError;
use base64::Engine;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// What the webhook client needs from the kubeconfig.
#[derive(Clone)]
pub struct WebhookTarget {
    pub server: http::Uri,
    /// PEM of the CA bundle (`certificate-authority[-data]`); `None`: none configured.
    pub ca_pem: Option<Vec<u8>>,
    /// PEM of the client certificate and key, when the webhook wants one.
    pub client_cert_pem: Option<Vec<u8>>,
    pub client_key_pem: Option<Vec<u8>>,
    /// A bearer token for the webhook itself.
    pub token: Option<String>,
}

impl std::fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("server", &self.server)
            .field("client_cert", &self.client_cert_pem.is_some())
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

#[derive(Deserialize)]
struct Kubeconfig {
    #[serde(default)]
    clusters: Vec<Named<Cluster>>,
    #[serde(default)]
    users: Vec<Named<User>>,
    #[serde(default)]
    contexts: Vec<Named<Context>>,
    #[serde(default, rename = "current-context")]
    current_context: String,
}

#[derive(Deserialize)]
struct Named<T> {
    name: String,
    #[serde(alias = "cluster", alias = "user", alias = "context")]
    value: T,
}

#[derive(Deserialize)]
struct Cluster {
    server: String,
    #[serde(default, rename = "certificate-authority")]
    ca_file: Option<String>,
    #[serde(default, rename = "certificate-authority-data")]
    ca_data: Option<String>,
}

#[derive(Deserialize, Default)]
struct User {
    #[serde(default, rename = "client-certificate")]
    cert_file: Option<String>,
    #[serde(default, rename = "client-certificate-data")]
    cert_data: Option<String>,
    #[serde(default, rename = "client-key")]
    key_file: Option<String>,
    #[serde(default, rename = "client-key-data")]
    key_data: Option<String>,
    #[serde(default)]
    token: Option<String>,
}

#[derive(Deserialize)]
struct Context {
    cluster: String,
    #[serde(default)]
    user: String,
}

impl WebhookTarget {
    /// Reads the kubeconfig; relative file paths are relative to its directory.
    pub fn from_kubeconfig_file(path: &Path) -> Result<Self, WebhookError> {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|source| WebhookError::ConfigIo { path: display.clone(), source })?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::from_kubeconfig(&display, &text, &dir)
    }

    pub fn from_kubeconfig(path: &str, text: &str, dir: &Path) -> Result<Self, WebhookError> {
        let bad = |reason: String| WebhookError::Config { path: path.to_string(), reason };
        let kc: Kubeconfig = apimachinery::yaml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let context = kc.contexts.iter().find(|c| c.name == kc.current_context).map(|c| &c.value);
        let cluster = match context {
            Some(ctx) => kc.clusters.iter().find(|c| c.name == ctx.cluster),
            None => kc.clusters.first(),
        }
        .ok_or_else(|| bad("no cluster".into()))?;
        let user = match context {
            Some(ctx) => kc.users.iter().find(|u| u.name == ctx.user),
            None => kc.users.first(),
        }
        .map(|u| &u.value);
        let server: http::Uri = cluster.value.server.parse().map_err(|_| bad("invalid server URL".into()))?;
        if server.scheme_str() != Some("https") || server.host().is_none() {
            return Err(bad(format!("server `{}` is not an https URL", cluster.value.server)));
        }
        let read = |data: &Option<String>,
                    file: &Option<String>,
                    what: &str|
         -> Result<Option<Vec<u8>>, WebhookError> {
            if let Some(d) = data {
                return base64::engine::general_purpose::STANDARD
                    .decode(d.trim())
                    .map(Some)
                    .map_err(|_| bad(format!("{what}-data is not base64")));
            }
            match file {
                Some(f) => {
                    let p = resolve(dir, f);
                    std::fs::read(&p).map(Some).map_err(|e| bad(format!("{what} {}: {e}", p.display())))
                }
                None => Ok(None),
            }
        };
        let empty = User::default();
        let user = user.unwrap_or(&empty);
        Ok(Self {
            server,
            ca_pem: read(&cluster.value.ca_data, &cluster.value.ca_file, "certificate-authority")?,
            client_cert_pem: read(&user.cert_data, &user.cert_file, "client-certificate")?,
            client_key_pem: read(&user.key_data, &user.key_file, "client-key")?,
            token: user.token.clone(),
        })
    }
}

fn resolve(dir: &Path, file: &str) -> PathBuf {
    let p = Path::new(file);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        dir.join(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_current_context_and_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), "CA").unwrap();
        let text = r#"
apiVersion: v1
kind: Config
clusters:
- name: other
  cluster: {server: "https://other:1"}
- name: authn
  cluster: {server: "https://127.0.0.1:8443/authenticate", certificate-authority: ca.pem}
users:
- name: apiserver
  user: {client-certificate-data: Q0VSVA==, client-key-data: S0VZ, token: s3cret}
contexts:
- name: webhook
  context: {cluster: authn, user: apiserver}
current-context: webhook
"#;
        let t = WebhookTarget::from_kubeconfig("k", text, dir.path()).unwrap();
        assert_eq!(t.server, "https://127.0.0.1:8443/authenticate");
        assert_eq!(t.ca_pem.as_deref(), Some(&b"CA"[..]));
        assert_eq!(t.client_cert_pem.as_deref(), Some(&b"CERT"[..]));
        assert_eq!(t.client_key_pem.as_deref(), Some(&b"KEY"[..]));
        assert!(!format!("{t:?}").contains("s3cret"));

        let e = WebhookTarget::from_kubeconfig(
            "k",
            "clusters: [{name: a, cluster: {server: 'http://x'}}]",
            dir.path(),
        );
        assert!(e.unwrap_err().to_string().contains("not an https URL"));
        assert!(WebhookTarget::from_kubeconfig("k", "clusters: []", dir.path()).is_err());
    }
}
