//! The kubeconfig reader: client-go's `clientcmd` v1 format (`clusters`, `users`,
//! `contexts`, `current-context`) read into the [`RestConfig`] of one server, as
//! kube-apiserver reads its webhook configuration files
//! (`k8s.io/apiserver/pkg/util/webhook` loads them with `clientcmd`).
//!
//! kube's rules, from `clientcmd` (`client_config.go`, `validation.go`, `loader.go`):
//! - `current-context` picks the context, which names the cluster and the user; a named
//!   context, cluster or user that is missing is an error. Without a `current-context`,
//!   kubeward takes the first cluster and the first user (kube would refuse the file).
//! - Relative file paths (`certificate-authority`, `client-certificate`, `client-key`,
//!   `tokenFile`) are relative to the kubeconfig's directory.
//! - A `*-data` field and its file field together are an error; so is a client certificate
//!   without its key. `token` and `tokenFile` may both be set: the file, re-read while the
//!   client runs, wins (client-go's `NewBearerAuthWithRefreshRoundTripper`).
//! - `insecure-skip-tls-verify` together with a CA is an error (client-go's transport).
//!
//! Authentication by exec plugin, auth provider or basic auth, and `proxy-url`, are refused
//! rather than silently ignored.

use apimachinery::quote::go_quote;
use base64::Engine;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Why a kubeconfig cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    /// The kubeconfig file itself could not be read.
    #[error("reading `{}`: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    /// The text is not a kubeconfig (YAML or JSON of the wrong shape).
    #[error("parsing the kubeconfig: {0}")]
    Parse(String),
    /// The kubeconfig is readable but names nothing usable; the text is kube's where kube has
    /// one.
    #[error("{0}")]
    Invalid(String),
}

/// What a kubeconfig says about reaching one server: the subset of client-go's `rest.Config`
/// that kubeward's clients use. Secrets stay out of `Debug`.
#[derive(Clone, Default)]
pub struct RestConfig {
    /// `cluster.server`: an `http` or `https` URL with a host; its path is kept.
    pub server: http::Uri,
    /// PEM CA bundle (`certificate-authority-data`, or the `certificate-authority` file);
    /// `None`: the system's roots.
    pub ca_pem: Option<Vec<u8>>,
    /// `insecure-skip-tls-verify`.
    pub insecure_skip_tls_verify: bool,
    /// `tls-server-name`: the name checked in the server's certificate (and sent as SNI)
    /// instead of the URL's host.
    pub tls_server_name: Option<String>,
    /// PEM client certificate chain and key (`client-certificate[-data]`,
    /// `client-key[-data]`).
    pub client_cert: Option<ClientCertPem>,
    /// `token`.
    pub token: Option<String>,
    /// `tokenFile`, resolved against the kubeconfig's directory; read by
    /// [`crate::Target`], which prefers it to `token` while it can be read.
    pub token_file: Option<PathBuf>,
}

/// A client certificate chain and its private key, PEM.
#[derive(Clone)]
pub struct ClientCertPem {
    pub cert: Vec<u8>,
    pub key: Vec<u8>,
}

impl std::fmt::Debug for RestConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestConfig")
            .field("server", &self.server)
            .field("ca", &self.ca_pem.is_some())
            .field("insecure_skip_tls_verify", &self.insecure_skip_tls_verify)
            .field("tls_server_name", &self.tls_server_name)
            .field("client_cert", &self.client_cert.is_some())
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("token_file", &self.token_file)
            .finish()
    }
}

/// Reads the kubeconfig file at `path`.
pub fn load(path: &Path) -> Result<RestConfig, KubeconfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| KubeconfigError::Read { path: path.to_path_buf(), source })?;
    parse(&text, path.parent().unwrap_or(Path::new(".")))
}

/// Reads kubeconfig text; `dir` is the directory relative file paths start from.
pub fn parse(text: &str, dir: &Path) -> Result<RestConfig, KubeconfigError> {
    let file: File = apimachinery::yaml::from_str(text).map_err(|e| KubeconfigError::Parse(e.to_string()))?;
    let (cluster_name, cluster, user_name, user) = select(&file)?;
    let server = server(&cluster_name, &cluster)?;
    let ca_pem = pem(
        &cluster.certificate_authority_data,
        &cluster.certificate_authority,
        dir,
        Field {
            data: "certificate-authority-data",
            file: "certificate-authority",
            owner: &cluster_name,
            both: "certificate-authority-data and certificate-authority are both specified for {}. certificate-authority-data will override.",
        },
    )?;
    let insecure_skip_tls_verify = cluster.insecure_skip_tls_verify.unwrap_or(false);
    if insecure_skip_tls_verify && ca_pem.is_some() {
        return Err(invalid("specifying a root certificates file with the insecure flag is not allowed"));
    }
    if non_empty(&cluster.proxy_url).is_some() {
        return Err(invalid(format!("cluster {}: proxy-url is not supported", go_quote(&cluster_name))));
    }
    let unsupported = [
        ("exec", user.exec.is_some()),
        ("auth-provider", user.auth_provider.is_some()),
        ("username", non_empty(&user.username).is_some()),
        ("password", non_empty(&user.password).is_some()),
    ];
    if let Some((what, _)) = unsupported.iter().find(|(_, set)| *set) {
        return Err(invalid(format!("user {}: {what} is not supported", go_quote(&user_name))));
    }
    let cert = pem(
        &user.client_certificate_data,
        &user.client_certificate,
        dir,
        Field {
            data: "client-cert-data",
            file: "client-cert",
            owner: &user_name,
            both:
                "client-cert-data and client-cert are both specified for {}. client-cert-data will override.",
        },
    )?;
    let key = pem(
        &user.client_key_data,
        &user.client_key,
        dir,
        Field {
            data: "client-key-data",
            file: "client-key",
            owner: &user_name,
            both: "client-key-data and client-key are both specified for {}; client-key-data will override",
        },
    )?;
    let client_cert = match (cert, key) {
        (Some(cert), Some(key)) => Some(ClientCertPem { cert, key }),
        (None, None) => None,
        (Some(_), None) => {
            return Err(invalid(format!(
                "client-key-data or client-key must be specified for {user_name} to use the clientCert authentication method."
            )))
        }
        (None, Some(_)) => {
            return Err(invalid(format!(
                "client-cert-data or client-cert must be specified for {user_name} to use the clientCert authentication method."
            )))
        }
    };
    Ok(RestConfig {
        server,
        ca_pem,
        insecure_skip_tls_verify,
        tls_server_name: non_empty(&cluster.tls_server_name).map(str::to_string),
        client_cert,
        token: non_empty(&user.token).map(str::to_string),
        token_file: non_empty(&user.token_file).map(|f| resolve(dir, f)),
    })
}

fn invalid(message: impl Into<String>) -> KubeconfigError {
    KubeconfigError::Invalid(message.into())
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

/// The cluster and user the kubeconfig selects, with their names.
fn select(file: &File) -> Result<(String, Cluster, String, User), KubeconfigError> {
    let clusters = named(&file.clusters, "clusters", |c| (&c.name, &c.cluster))?;
    let users = named(&file.users, "users", |u| (&u.name, &u.user))?;
    let contexts = named(&file.contexts, "contexts", |c| (&c.name, &c.context))?;
    let Some(current) = non_empty(&file.current_context) else {
        let (name, cluster) = clusters.first().ok_or_else(|| invalid("no cluster in the kubeconfig"))?;
        let (user_name, user) = users.first().cloned().unwrap_or_default();
        return Ok((name.clone(), cluster.clone(), user_name, user));
    };
    let context = contexts
        .iter()
        .find(|(n, _)| n == current)
        .map(|(_, c)| c.clone())
        .ok_or_else(|| invalid(format!("context was not found for specified context: {current}")))?;
    let cluster_name = non_empty(&context.cluster).unwrap_or_default().to_string();
    let cluster = clusters
        .iter()
        .find(|(n, _)| *n == cluster_name)
        .map(|(_, c)| c.clone())
        .ok_or_else(|| invalid(format!("cluster {} does not exist", go_quote(&cluster_name))))?;
    let user = match non_empty(&context.user) {
        Some(name) => (
            name.to_string(),
            users
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, u)| u.clone())
                .ok_or_else(|| invalid(format!("auth info {} does not exist", go_quote(name))))?,
        ),
        None => (String::new(), User::default()),
    };
    Ok((cluster_name, cluster, user.0, user.1))
}

/// The entries of a named list, refusing duplicate names as clientcmd's conversion does.
fn named<E, T: Clone + Default>(
    list: &Option<Vec<E>>,
    what: &str,
    split: impl Fn(&E) -> (&Option<String>, &Option<T>),
) -> Result<Vec<(String, T)>, KubeconfigError> {
    let mut out: Vec<(String, T)> = Vec::new();
    for entry in list.iter().flatten() {
        let (name, value) = split(entry);
        let name = name.clone().unwrap_or_default();
        if out.iter().any(|(n, _)| *n == name) {
            return Err(invalid(format!("duplicate name {} in {what}", go_quote(&name))));
        }
        out.push((name, value.clone().unwrap_or_default()));
    }
    Ok(out)
}

fn server(name: &str, cluster: &Cluster) -> Result<http::Uri, KubeconfigError> {
    let Some(text) = non_empty(&cluster.server) else {
        return Err(invalid(if name.is_empty() {
            "default cluster has no server defined".to_string()
        } else {
            format!("no server found for cluster {}", go_quote(name))
        }));
    };
    let uri: http::Uri = text.parse().map_err(|e| invalid(format!("server `{text}`: {e}")))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(invalid(format!("server `{text}` must be an http or https URL")));
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(invalid(format!("server `{text}` has no host")));
    }
    Ok(uri)
}

/// Names of a `*-data` field and its file field, for messages.
struct Field<'a> {
    data: &'a str,
    file: &'a str,
    /// The cluster or user name.
    owner: &'a str,
    /// kube's message when both are set, `{}` standing for the owner.
    both: &'a str,
}

/// The PEM bytes of a `*-data` field (base64) or of its file field.
fn pem(
    data: &Option<String>,
    file: &Option<String>,
    dir: &Path,
    field: Field<'_>,
) -> Result<Option<Vec<u8>>, KubeconfigError> {
    let Field { data: data_name, file: file_name, owner, both } = field;
    match (non_empty(data), non_empty(file)) {
        (Some(_), Some(_)) => Err(invalid(both.replace("{}", owner))),
        (Some(d), None) => base64::engine::general_purpose::STANDARD
            .decode(d.trim())
            .map(Some)
            .map_err(|e| invalid(format!("{data_name} for {owner} is not base64: {e}"))),
        (None, Some(f)) => {
            let path = resolve(dir, f);
            std::fs::read(&path).map(Some).map_err(|e| {
                invalid(format!("unable to read {file_name} {} for {owner} due to {e}", path.display()))
            })
        }
        (None, None) => Ok(None),
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

/// The file as written (`clientcmd/api/v1`); absent and `null` fields read as empty.
#[derive(Deserialize, Default)]
struct File {
    #[serde(default)]
    clusters: Option<Vec<NamedCluster>>,
    #[serde(default)]
    users: Option<Vec<NamedUser>>,
    #[serde(default)]
    contexts: Option<Vec<NamedContext>>,
    #[serde(default, rename = "current-context")]
    current_context: Option<String>,
}

#[derive(Deserialize)]
struct NamedCluster {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    cluster: Option<Cluster>,
}

#[derive(Deserialize)]
struct NamedUser {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    user: Option<User>,
}

#[derive(Deserialize)]
struct NamedContext {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    context: Option<Context>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default, rename_all = "kebab-case")]
struct Cluster {
    server: Option<String>,
    certificate_authority: Option<String>,
    certificate_authority_data: Option<String>,
    insecure_skip_tls_verify: Option<bool>,
    tls_server_name: Option<String>,
    proxy_url: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default, rename_all = "kebab-case")]
struct User {
    client_certificate: Option<String>,
    client_certificate_data: Option<String>,
    client_key: Option<String>,
    client_key_data: Option<String>,
    token: Option<String>,
    #[serde(rename = "tokenFile")]
    token_file: Option<String>,
    username: Option<String>,
    password: Option<String>,
    exec: Option<serde_json::Value>,
    auth_provider: Option<serde_json::Value>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct Context {
    cluster: Option<String>,
    user: Option<String>,
}

#[cfg(test)]
mod tests;
