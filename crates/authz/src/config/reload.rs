//! The authorizer chain of an AuthorizationConfiguration, reloaded without a restart
//! (kube's `reloadableAuthorizerResolver`, since 1.30).
//!
//! The server's chain is `system:masters`, then one [`Configured`] link whose chain of
//! configured authorizers is swapped whole. Node, RBAC and ABAC authorizers are made once,
//! at start, for the types the first file names (the server keeps feeding them), and
//! reused by every later configuration, which may not drop those types (`missing required
//! types`) nor add them (`... is not allowed if it was not enabled at initial server
//! startup`); webhooks are built anew from each file. The file is polled; a changed file
//! that reads, decodes and validates replaces the chain, any other is logged and the chain
//! in force stays.

use super::{load, AuthorizationConfig, ConfigError, WebhookConfig, WEBHOOK};
use crate::chain::{AsyncAuthorizer, AuthorizerChain, Verdict};
use crate::modes::{Authorization, PrivilegedGroups};
use crate::webhook::review::Version;
use crate::webhook::{WebhookAuthorizer, WebhookOptions};
use crate::{
    AbacAuthorizer, AlwaysAllow, AlwaysDeny, NodeAuthorizer, RbacAuthorizer, RuleResolver, SubjectRules,
};
use apimachinery::{Attributes, UserInfo};
use arc_swap::ArcSwap;
use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// How often the file is looked at (kube watches it; a read of a small file a second
/// costs nothing).
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// The authorizers made once and reused by every configuration.
#[derive(Clone, Default)]
struct Persistent {
    node: Option<Arc<NodeAuthorizer>>,
    rbac: Option<Arc<RbacAuthorizer>>,
    abac: Option<Arc<AbacAuthorizer>>,
}

fn not_at_start(kind: &str) -> ConfigError {
    ConfigError::Build(format!(
        "authorizer type {kind} is not allowed if it was not enabled at initial server startup"
    ))
}

/// A webhook's options from its configuration (kube's `newForConfig`): a TTL of zero when
/// its cache is off.
fn webhook_options(name: &str, w: &WebhookConfig) -> Result<WebhookOptions, ConfigError> {
    let to_std = |d: apimachinery::duration::GoDuration| d.to_std().unwrap_or_default();
    let match_conditions = if w.match_conditions.is_empty() {
        None
    } else {
        Some(Arc::new(super::matcher::Matcher::compile(&w.match_conditions).map_err(ConfigError::Build)?))
    };
    Ok(WebhookOptions {
        authorized_ttl: if w.cache_authorized_requests { to_std(w.authorized_ttl) } else { Duration::ZERO },
        unauthorized_ttl: if w.cache_unauthorized_requests {
            to_std(w.unauthorized_ttl)
        } else {
            Duration::ZERO
        },
        timeout: to_std(w.timeout),
        deny_on_error: w.failure_policy == "Deny",
        review_version: if w.subject_access_review_version == "v1beta1" {
            Version::V1Beta1
        } else {
            Version::V1
        },
        match_conditions,
        name: name.to_string(),
        ..WebhookOptions::default()
    })
}

/// The chain of the configured authorizers (without `system:masters`).
fn build(config: &AuthorizationConfig, persistent: &Persistent) -> Result<AuthorizerChain, ConfigError> {
    let mut chain = AuthorizerChain::new();
    for a in &config.authorizers {
        match a.kind.as_str() {
            "Node" => {
                let node = persistent.node.clone().ok_or_else(|| not_at_start("Node"))?;
                chain.push(node.clone());
                chain.push_resolver(node);
            }
            "RBAC" => {
                let rbac = persistent.rbac.clone().ok_or_else(|| not_at_start("RBAC"))?;
                chain.push(rbac.clone());
                chain.push_resolver(rbac);
            }
            "ABAC" => {
                let abac = persistent.abac.clone().ok_or_else(|| not_at_start("ABAC"))?;
                chain.push(abac.clone());
                chain.push_resolver(abac);
            }
            "AlwaysAllow" => {
                chain.push(Arc::new(AlwaysAllow));
                chain.push_resolver(Arc::new(AlwaysAllow));
            }
            "AlwaysDeny" => {
                chain.push(Arc::new(AlwaysDeny));
                chain.push_resolver(Arc::new(AlwaysDeny));
            }
            WEBHOOK => {
                let Some(w) = &a.webhook else {
                    return Err(ConfigError::Build("webhook: required when type=Webhook".into()));
                };
                let file = w.connection_info.kubeconfig_file.as_deref().unwrap_or_default();
                let options = webhook_options(&a.name, w)?;
                let webhook = WebhookAuthorizer::from_kubeconfig(Path::new(file), options)
                    .map_err(|e| ConfigError::Build(e.to_string()))?;
                let webhook = Arc::new(webhook);
                chain.push_async(webhook.clone());
                chain.push_resolver(webhook);
            }
            other => return Err(ConfigError::Build(format!("unknown authorization mode {other} specified"))),
        }
    }
    Ok(chain)
}

/// What the file last held.
struct Seen {
    /// SHA-256 of the bytes last read.
    digest: [u8; 32],
    /// The configuration in force.
    config: AuthorizationConfig,
}

/// The configured authorizers, one link of the server's chain; see the module docs.
pub struct Configured {
    path: PathBuf,
    persistent: Persistent,
    /// The non-webhook types of the first configuration: every later one keeps them.
    required: Vec<String>,
    current: ArcSwap<AuthorizerChain>,
    seen: Mutex<Seen>,
}

#[async_trait]
impl AsyncAuthorizer for Configured {
    async fn authorize_async(&self, attrs: &Attributes) -> Verdict {
        let chain = self.current.load_full();
        chain.authorize_async(attrs).await
    }
}

impl RuleResolver for Configured {
    fn rules_for(&self, user: &UserInfo, namespace: &str) -> SubjectRules {
        self.current.load().rules_for(user, namespace)
    }
}

impl Configured {
    /// Reads the file again: `Ok(true)` when a new chain is in force, `Ok(false)` when the
    /// file or its configuration did not change; on error the chain in force stays.
    pub fn reload(&self) -> Result<bool, ConfigError> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let bytes = std::fs::read(&self.path)
            .map_err(|e| ConfigError::Read(format!("{}: {e}", self.path.display())))?;
        let digest: [u8; 32] = Sha256::digest(&bytes).into();
        if digest == seen.digest {
            return Ok(false);
        }
        seen.digest = digest;
        tracing::info!(path = %self.path.display(), "found new authorization config data");
        let (config, _) = load(&self.path, &self.required)?;
        if config == seen.config {
            return Ok(false);
        }
        let chain = build(&config, &self.persistent)?;
        self.current.store(Arc::new(chain));
        seen.config = config;
        Ok(true)
    }

    /// Polls the file every `every` while the authorizer lives.
    pub fn watch(self: &Arc<Self>, every: Duration) -> Result<(), ConfigError> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| {
            ConfigError::Build("watching the authorization config needs a running Tokio runtime".into())
        })?;
        let weak: Weak<Self> = Arc::downgrade(self);
        handle.spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(this) = weak.upgrade() else { break };
                // Reading and building (a webhook's kubeconfig) touch the disk.
                let result = tokio::task::spawn_blocking(move || this.reload()).await;
                match result {
                    Ok(Ok(true)) => tracing::info!("reloaded authz config"),
                    Ok(Ok(false)) => {}
                    Ok(Err(e)) => tracing::error!(error = %e, "reloading authorization config; the configuration in force stays"),
                    Err(e) => tracing::error!(error = %e, "reloading authorization config"),
                }
            }
        });
        Ok(())
    }
}

/// The server's authorization from `--authorization-config` (with `--authorization-policy-file`
/// for ABAC): the chain (`system:masters`, then the configured authorizers), the
/// authorizers the server feeds, and the [`Configured`] link to watch.
pub fn from_file(
    path: &Path,
    policy_file: Option<&Path>,
) -> Result<(Authorization, Arc<Configured>), ConfigError> {
    let (config, bytes) = load(path, &[])?;
    let mut persistent = Persistent::default();
    let mut required = Vec::new();
    for a in config.authorizers.iter().filter(|a| a.kind != WEBHOOK) {
        required.push(a.kind.clone());
        match a.kind.as_str() {
            "Node" => persistent.node = Some(Arc::new(NodeAuthorizer::new())),
            "RBAC" => persistent.rbac = Some(Arc::new(RbacAuthorizer::new())),
            "ABAC" => {
                let file = policy_file.ok_or_else(|| {
                    ConfigError::Build("authorizer type ABAC needs --authorization-policy-file".into())
                })?;
                persistent.abac = Some(Arc::new(
                    AbacAuthorizer::from_file(file).map_err(|e| ConfigError::Build(e.to_string()))?,
                ));
            }
            _ => {}
        }
    }
    let chain = build(&config, &persistent)?;
    let configured = Arc::new(Configured {
        path: path.to_path_buf(),
        persistent: persistent.clone(),
        required,
        current: ArcSwap::from_pointee(chain),
        seen: Mutex::new(Seen { digest: Sha256::digest(&bytes).into(), config }),
    });
    let mut out = Authorization::default();
    out.chain.push(Arc::new(PrivilegedGroups));
    out.chain.push_async(configured.clone());
    out.chain.push_resolver(configured.clone());
    out.node = persistent.node;
    out.rbac = persistent.rbac;
    out.abac = persistent.abac;
    Ok((out, configured))
}
