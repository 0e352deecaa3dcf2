//! `--authorization-mode` and its files: validation with kube's messages, then the chain.
//!
//! Modes: `Node`, `RBAC`, `ABAC` (needs `--authorization-policy-file`), `Webhook` (needs
//! `--authorization-webhook-config-file`), `AlwaysAllow` (logs a warning: every request is
//! allowed from that link on), `AlwaysDeny`. The default is `Node,RBAC`. The authorizers that
//! are fed from the store (RBAC, Node) come back beside the chain so the server can feed them.

use std::path::PathBuf;
use std::sync::Arc;

use crate::abac::{AbacAuthorizer, AbacError};
use crate::chain::AuthorizerChain;
use crate::node::NodeAuthorizer;
use crate::quote;
use crate::rbac::RbacAuthorizer;
use crate::union::{AlwaysAllow, AlwaysDeny};
use crate::webhook::{WebhookAuthorizer, WebhookError, WebhookOptions};

pub const MODE_ALWAYS_ALLOW: &str = "AlwaysAllow";
pub const MODE_ALWAYS_DENY: &str = "AlwaysDeny";
pub const MODE_ABAC: &str = "ABAC";
pub const MODE_WEBHOOK: &str = "Webhook";
pub const MODE_RBAC: &str = "RBAC";
pub const MODE_NODE: &str = "Node";
/// Every mode kube knows, in its order.
pub const ALL_MODES: &[&str] =
    &[MODE_ALWAYS_ALLOW, MODE_ALWAYS_DENY, MODE_ABAC, MODE_WEBHOOK, MODE_RBAC, MODE_NODE];

/// The default `--authorization-mode`.
pub fn default_modes() -> Vec<String> {
    vec![MODE_NODE.into(), MODE_RBAC.into()]
}

/// The files and settings the modes read.
#[derive(Debug, Clone, Default)]
pub struct ModeConfig {
    /// `--authorization-policy-file` (ABAC).
    pub policy_file: Option<PathBuf>,
    /// `--authorization-webhook-config-file` (Webhook).
    pub webhook_config_file: Option<PathBuf>,
    /// Cache lifetimes and retries of the webhook.
    pub webhook: WebhookOptions,
}

/// Why the chain could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ModesError {
    /// The flags are inconsistent; kube's messages, aggregated as kube prints them.
    #[error("{}", quote::aggregate(.0))]
    Invalid(Vec<String>),
    /// The ABAC policy file could not be loaded.
    #[error(transparent)]
    Abac(#[from] AbacError),
    /// The webhook kubeconfig could not be used.
    #[error(transparent)]
    Webhook(#[from] WebhookError),
}

/// The chain and the authorizers the server keeps feeding or asking.
#[derive(Clone, Default)]
pub struct Authorization {
    pub chain: AuthorizerChain,
    pub rbac: Option<Arc<RbacAuthorizer>>,
    pub node: Option<Arc<NodeAuthorizer>>,
    pub abac: Option<Arc<AbacAuthorizer>>,
    pub webhook: Option<Arc<WebhookAuthorizer>>,
}

/// kube's `BuiltInAuthorizationOptions.Validate` for the modes and their files.
pub fn validate(modes: &[String], config: &ModeConfig) -> Result<(), ModesError> {
    let mut errors = Vec::new();
    if modes.is_empty() {
        errors.push("at least one authorization-mode must be passed".to_string());
    }
    let has = |m: &str| modes.iter().any(|x| x == m);
    for mode in modes {
        if !ALL_MODES.contains(&mode.as_str()) {
            errors.push(format!("authorization-mode {} is not a valid mode", quote::go_quote(mode)));
        }
    }
    if has(MODE_ABAC) && config.policy_file.is_none() {
        errors.push("authorization-mode ABAC's authorization policy file not passed".into());
    }
    if has(MODE_WEBHOOK) && config.webhook_config_file.is_none() {
        errors.push("authorization-mode Webhook's authorization config file not passed".into());
    }
    if config.policy_file.is_some() && !has(MODE_ABAC) {
        errors.push("cannot specify --authorization-policy-file without mode ABAC".into());
    }
    if config.webhook_config_file.is_some() && !has(MODE_WEBHOOK) {
        errors.push("cannot specify --authorization-webhook-config-file without mode Webhook".into());
    }
    let mut distinct: Vec<&String> = modes.iter().collect();
    distinct.sort();
    distinct.dedup();
    if distinct.len() != modes.len() {
        errors.push(format!(
            "authorization-mode {} has mode specified more than once",
            quote::go_quote_list(modes)
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ModesError::Invalid(errors))
    }
}

/// Allows members of `system:masters` (kube's `authorizerfactory.NewPrivilegedGroups`).
pub struct PrivilegedGroups;

impl crate::Authorizer for PrivilegedGroups {
    fn authorize(&self, attrs: &crate::Attributes) -> crate::Decision {
        if attrs.user.groups.iter().any(|g| g == apimachinery::user::SYSTEM_MASTERS) {
            crate::Decision::Allow(String::new())
        } else {
            crate::Decision::NoOpinion(String::new())
        }
    }
}

/// Validates `modes` and builds the chain in their order (see the module docs).
pub fn build_chain(modes: &[String], config: &ModeConfig) -> Result<Authorization, ModesError> {
    validate(modes, config)?;
    let mut out = Authorization::default();
    // kube-apiserver puts the privileged group in front of every chain: members of
    // `system:masters` are allowed without asking any authorizer.
    out.chain.push(Arc::new(PrivilegedGroups));
    for mode in modes {
        match mode.as_str() {
            MODE_NODE => {
                let node = Arc::new(NodeAuthorizer::new());
                out.chain.push(node.clone());
                out.chain.push_resolver(node.clone());
                out.node = Some(node);
            }
            MODE_RBAC => {
                let rbac = Arc::new(RbacAuthorizer::new());
                out.chain.push(rbac.clone());
                out.chain.push_resolver(rbac.clone());
                out.rbac = Some(rbac);
            }
            MODE_ABAC => {
                let path = config.policy_file.as_deref().unwrap_or_else(|| std::path::Path::new(""));
                let abac = Arc::new(AbacAuthorizer::from_file(path)?);
                out.chain.push(abac.clone());
                out.chain.push_resolver(abac.clone());
                out.abac = Some(abac);
            }
            MODE_WEBHOOK => {
                let path = config.webhook_config_file.as_deref().unwrap_or_else(|| std::path::Path::new(""));
                let webhook = Arc::new(WebhookAuthorizer::from_kubeconfig(path, config.webhook.clone())?);
                out.chain.push_async(webhook.clone());
                out.chain.push_resolver(webhook.clone());
                out.webhook = Some(webhook);
            }
            MODE_ALWAYS_ALLOW => {
                tracing::warn!(
                    "authorization mode AlwaysAllow: every request reaching it is allowed; use it only for tests"
                );
                out.chain.push(Arc::new(AlwaysAllow));
                out.chain.push_resolver(Arc::new(AlwaysAllow));
            }
            MODE_ALWAYS_DENY => {
                out.chain.push(Arc::new(AlwaysDeny));
                out.chain.push_resolver(Arc::new(AlwaysDeny));
            }
            // validate() refused every other name.
            other => {
                return Err(ModesError::Invalid(vec![format!(
                    "authorization-mode {other:?} is not a valid mode"
                )]))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use apimachinery::{Attributes, Decision, UserInfo};

    fn modes(list: &[&str]) -> Vec<String> {
        list.iter().map(|m| m.to_string()).collect()
    }

    fn invalid(list: &[&str], config: &ModeConfig) -> String {
        match build_chain(&modes(list), config) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{list:?} accepted"),
        }
    }

    #[test]
    fn kube_validation_messages() {
        let none = ModeConfig::default();
        assert_eq!(invalid(&[], &none), "at least one authorization-mode must be passed");
        assert_eq!(invalid(&["rbac"], &none), "authorization-mode \"rbac\" is not a valid mode");
        assert_eq!(
            invalid(&["ABAC"], &none),
            "authorization-mode ABAC's authorization policy file not passed"
        );
        assert_eq!(
            invalid(&["Webhook"], &none),
            "authorization-mode Webhook's authorization config file not passed"
        );
        let files = ModeConfig {
            policy_file: Some("/p".into()),
            webhook_config_file: Some("/w".into()),
            ..Default::default()
        };
        assert_eq!(
            invalid(&["RBAC", "RBAC"], &files),
            "[cannot specify --authorization-policy-file without mode ABAC, cannot specify --authorization-webhook-config-file without mode Webhook, authorization-mode [\"RBAC\" \"RBAC\"] has mode specified more than once]"
        );
        assert!(matches!(
            build_chain(
                &modes(&["ABAC"]),
                &ModeConfig { policy_file: Some("/nonexistent".into()), ..Default::default() }
            ),
            Err(ModesError::Abac(_))
        ));
        assert!(matches!(
            build_chain(
                &modes(&["Webhook"]),
                &ModeConfig { webhook_config_file: Some("/nonexistent".into()), ..Default::default() }
            ),
            Err(ModesError::Webhook(_))
        ));
    }

    #[tokio::test]
    async fn default_chain_is_node_then_rbac() {
        let auth = build_chain(&default_modes(), &ModeConfig::default()).unwrap();
        // The privileged group (system:masters), then Node, then RBAC.
        assert_eq!(auth.chain.len(), 3);
        assert!(auth.node.is_some() && auth.rbac.is_some() && auth.abac.is_none() && auth.webhook.is_none());
        assert!(!auth.chain.has_async());
        let node = UserInfo::new("system:node:n1", vec!["system:nodes".into()]);
        let secret = Attributes {
            user: node,
            verb: "get".into(),
            resource_request: true,
            resource: "secrets".into(),
            namespace: "ns".into(),
            name: "s".into(),
            ..Default::default()
        };
        assert_eq!(
            auth.chain.authorize_async(&secret).await.decision,
            Decision::NoOpinion("no relationship found between node 'n1' and this object".into())
        );
    }

    #[tokio::test]
    async fn abac_and_fixed_modes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("policy.jsonl");
        std::fs::write(&file, "{\"user\": \"admin\"}\n").unwrap();
        let config = ModeConfig { policy_file: Some(file), ..Default::default() };
        let auth = build_chain(&modes(&["AlwaysDeny", "ABAC", "AlwaysAllow"]), &config).unwrap();
        let admin = Attributes {
            user: UserInfo::new("admin", vec![]),
            verb: "get".into(),
            path: "/x".into(),
            ..Default::default()
        };
        assert_eq!(auth.chain.authorize_async(&admin).await.decision, Decision::Allow(String::new()));
        assert!(auth.abac.is_some());
        let rules = crate::RuleResolver::rules_for(&auth.chain, &UserInfo::new("admin", vec![]), "ns");
        // AlwaysDeny lists nothing, ABAC one policy (resource and path), AlwaysAllow everything.
        assert_eq!((rules.resource_rules.len(), rules.non_resource_rules.len()), (2, 2));
    }
}
