//! Bootstrap tokens (kube's `plugin/pkg/auth/authenticator/token/bootstrap`): bearer
//! tokens `<id>.<secret>` (`[a-z0-9]{6}.[a-z0-9]{16}`) backed by Secrets of type
//! `bootstrap.kubernetes.io/token` named `bootstrap-token-<id>` in `kube-system`.
//!
//! The Secret must be marked `usage-bootstrap-authentication: "true"`, must not be past
//! its `expiration`, and its `token-secret` is compared in constant time. The user is
//! `system:bootstrap:<id>` in `system:bootstrappers` plus the Secret's
//! `auth-extra-groups`.

use crate::{bearer_token, AuthOutcome, AuthRequest, Authenticator};
use apimachinery::UserInfo;
use base64::Engine;
use std::sync::Arc;
use subtle::ConstantTimeEq;

pub const SECRET_TYPE: &str = "bootstrap.kubernetes.io/token";
pub const SECRET_NAME_PREFIX: &str = "bootstrap-token-";
pub const USER_PREFIX: &str = "system:bootstrap:";
pub const DEFAULT_GROUP: &str = "system:bootstrappers";
const KEY_TOKEN_ID: &str = "token-id";
const KEY_TOKEN_SECRET: &str = "token-secret";
const KEY_EXPIRATION: &str = "expiration";
const KEY_USAGE_AUTHENTICATION: &str = "usage-bootstrap-authentication";
const KEY_EXTRA_GROUPS: &str = "auth-extra-groups";

/// Reads bootstrap-token Secrets from `kube-system`.
#[async_trait::async_trait]
pub trait BootstrapSecretGetter: Send + Sync {
    /// The Secret `bootstrap-token-<token_id>` as JSON (`data` values base64), or `None`
    /// when it does not exist or is being deleted.
    async fn bootstrap_secret(&self, token_id: &str) -> Option<serde_json::Value>;
}

/// Splits `<id>.<secret>` when it has the bootstrap-token form.
pub fn parse_token(token: &str) -> Option<(&str, &str)> {
    let (id, secret) = token.split_once('.')?;
    let ok =
        |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    (ok(id, 6) && ok(secret, 16)).then_some((id, secret))
}

/// The bootstrap-token authenticator.
pub struct BootstrapTokenAuthenticator {
    getter: Arc<dyn BootstrapSecretGetter>,
}

impl BootstrapTokenAuthenticator {
    pub fn new(getter: Arc<dyn BootstrapSecretGetter>) -> Self {
        Self { getter }
    }

    /// The user of a token, or why it is refused (for the log; the client sees only 401).
    pub async fn authenticate_token(&self, token: &str) -> Result<UserInfo, String> {
        let (id, secret) = parse_token(token).ok_or("not a bootstrap token")?;
        let name = format!("{SECRET_NAME_PREFIX}{id}");
        let obj = self.getter.bootstrap_secret(id).await.ok_or_else(|| format!("secret {name} not found"))?;
        let refuse = |why: &str| Err(format!("bootstrap token secret kube-system/{name} {why}"));
        if obj.pointer("/metadata/deletionTimestamp").is_some_and(|v| !v.is_null()) {
            return refuse("is deleted and awaiting removal");
        }
        let data = obj.get("data").and_then(|d| d.as_object());
        let (Some(data), Some(SECRET_TYPE)) = (data, obj.get("type").and_then(|t| t.as_str())) else {
            return refuse(&format!("has invalid type, expected {SECRET_TYPE}"));
        };
        let get = |key: &str| -> String {
            data.get(key)
                .and_then(|v| v.as_str())
                .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .unwrap_or_default()
        };
        let stored = get(KEY_TOKEN_SECRET);
        if !bool::from(stored.as_bytes().ct_eq(secret.as_bytes())) {
            return refuse(&format!("has invalid value for key {KEY_TOKEN_SECRET}"));
        }
        if get(KEY_TOKEN_ID) != id {
            return refuse(&format!("has invalid value for key {KEY_TOKEN_ID}"));
        }
        let expiration = get(KEY_EXPIRATION);
        if !expiration.is_empty() {
            match chrono::DateTime::parse_from_rfc3339(&expiration) {
                Ok(t) if t > chrono::Utc::now() => {}
                Ok(_) => return refuse("has expired"),
                Err(_) => return refuse("has an unparsable expiration time"),
            }
        }
        if get(KEY_USAGE_AUTHENTICATION) != "true" {
            return refuse(&format!("not marked {KEY_USAGE_AUTHENTICATION}=true"));
        }
        let groups = groups(&get(KEY_EXTRA_GROUPS))
            .map_err(|g| format!("bootstrap token secret kube-system/{name} has invalid group `{g}`"))?;
        Ok(UserInfo { name: format!("{USER_PREFIX}{id}"), groups, ..Default::default() })
    }
}

/// `system:bootstrappers` plus the extra groups, each of which must be
/// `system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]`; sorted and de-duplicated as kube does.
fn groups(extra: &str) -> Result<Vec<String>, String> {
    let mut groups = std::collections::BTreeSet::from([DEFAULT_GROUP.to_string()]);
    if !extra.is_empty() {
        for g in extra.split(',') {
            let rest = g.strip_prefix("system:bootstrappers:").unwrap_or_default();
            let valid = !rest.is_empty()
                && rest.len() <= 256
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b':' || b == b'-')
                && rest.bytes().last().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
            if !valid {
                return Err(g.to_string());
            }
            groups.insert(g.to_string());
        }
    }
    Ok(groups.into_iter().collect())
}

#[async_trait::async_trait]
impl Authenticator for BootstrapTokenAuthenticator {
    async fn authenticate(&self, req: &AuthRequest<'_>) -> AuthOutcome {
        let Some(token) = bearer_token(req.headers) else { return AuthOutcome::NotApplicable };
        match self.authenticate_token(token).await {
            Ok(user) => AuthOutcome::Authenticated(user),
            Err(why) => {
                // kube's bootstrap authenticator logs the reason and answers (nil, false, nil).
                tracing::debug!(reason = %why, "bootstrap token rejected");
                AuthOutcome::NotApplicable
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Secrets(Mutex<HashMap<String, serde_json::Value>>);

    #[async_trait::async_trait]
    impl BootstrapSecretGetter for Secrets {
        async fn bootstrap_secret(&self, token_id: &str) -> Option<serde_json::Value> {
            self.0.lock().unwrap().get(token_id).cloned()
        }
    }

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    fn secret(data: &[(&str, &str)]) -> serde_json::Value {
        let data: serde_json::Map<String, serde_json::Value> =
            data.iter().map(|(k, v)| (k.to_string(), json!(b64(v)))).collect();
        json!({"apiVersion": "v1", "kind": "Secret", "type": SECRET_TYPE,
               "metadata": {"name": "bootstrap-token-abcdef", "namespace": "kube-system"}, "data": data})
    }

    const GOOD: &[(&str, &str)] = &[
        ("token-id", "abcdef"),
        ("token-secret", "0123456789abcdef"),
        ("usage-bootstrap-authentication", "true"),
        ("auth-extra-groups", "system:bootstrappers:kubeadm:default-node-token"),
    ];

    fn authn(s: serde_json::Value) -> BootstrapTokenAuthenticator {
        let secrets = Secrets::default();
        secrets.0.lock().unwrap().insert("abcdef".into(), s);
        BootstrapTokenAuthenticator::new(Arc::new(secrets))
    }

    #[test]
    fn token_form() {
        assert_eq!(parse_token("abcdef.0123456789abcdef"), Some(("abcdef", "0123456789abcdef")));
        for bad in [
            "abcdef.0123456789abcde",
            "ABCDEF.0123456789abcdef",
            "abcdef0123456789abcdef",
            "abcde.0123456789abcdefg",
        ] {
            assert_eq!(parse_token(bad), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn accepts_a_valid_token() {
        let a = authn(secret(GOOD));
        let user = a.authenticate_token("abcdef.0123456789abcdef").await.unwrap();
        assert_eq!(user.name, "system:bootstrap:abcdef");
        assert_eq!(
            user.groups,
            vec!["system:bootstrappers", "system:bootstrappers:kubeadm:default-node-token"]
        );
        assert!(a.authenticate_token("abcdef.0123456789abcdee").await.is_err(), "wrong secret");
        assert!(a.authenticate_token("zzzzzz.0123456789abcdef").await.is_err(), "no secret");
    }

    #[tokio::test]
    async fn refuses_unusable_secrets() {
        let with = |k: &str, v: &str| {
            let mut s = secret(GOOD);
            s["data"][k] = json!(b64(v));
            s
        };
        let token = "abcdef.0123456789abcdef";
        let past = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
        let future = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
        assert!(authn(with("expiration", &future)).authenticate_token(token).await.is_ok());
        let cases = [
            (with("expiration", &past), "has expired"),
            (with("expiration", "tomorrow"), "unparsable"),
            (with("usage-bootstrap-authentication", "false"), "usage-bootstrap-authentication=true"),
            (with("auth-extra-groups", "system:masters"), "invalid group"),
            (with("token-id", "bcdefa"), "token-id"),
        ];
        for (s, why) in cases {
            let err = authn(s).authenticate_token(token).await.unwrap_err();
            assert!(err.contains(why), "{err} / {why}");
        }
        let mut wrong_type = secret(GOOD);
        wrong_type["type"] = json!("Opaque");
        assert!(authn(wrong_type).authenticate_token(token).await.unwrap_err().contains("invalid type"));
        let mut deleted = secret(GOOD);
        deleted["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
        assert!(authn(deleted).authenticate_token(token).await.unwrap_err().contains("deleted"));
    }

    #[tokio::test]
    async fn outcomes() {
        let a = authn(secret(GOOD));
        let mut h = http::HeaderMap::new();
        fn req(h: &http::HeaderMap) -> AuthRequest<'_> {
            AuthRequest::new(h, None, "/")
        }
        assert_eq!(a.authenticate(&req(&h)).await, AuthOutcome::NotApplicable);
        h.insert(http::header::AUTHORIZATION, "Bearer abcdef.0123456789abcdef".parse().unwrap());
        assert!(matches!(a.authenticate(&req(&h)).await, AuthOutcome::Authenticated(_)));
        h.insert(http::header::AUTHORIZATION, "Bearer abcdef.0123456789abcdeX".parse().unwrap());
        assert_eq!(a.authenticate(&req(&h)).await, AuthOutcome::NotApplicable);
    }
}
