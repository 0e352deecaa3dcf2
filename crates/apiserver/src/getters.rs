//! Store-backed lookups for token validation: is the ServiceAccount, Secret, Pod or Node a
//! token names still there, with the same UID? Objects being deleted count as gone.

use crate::rest::decode_kv;
use authn::serviceaccount::{SecretInfo, ServiceAccountGetter};
use base64::Engine;
use serde_json::Value;
use std::sync::Arc;
use storage::Store;

pub struct StoreGetter {
    pub store: Arc<dyn Store>,
}

impl StoreGetter {
    async fn live(&self, key: &str) -> Option<Value> {
        let kv = self.store.get(key).await.ok()??;
        let obj = decode_kv(&kv)?;
        obj.pointer("/metadata/deletionTimestamp").is_none().then_some(obj)
    }

    async fn uid(&self, key: &str) -> Option<String> {
        let obj = self.live(key).await?;
        obj.pointer("/metadata/uid").and_then(Value::as_str).map(str::to_string)
    }
}

fn b64(obj: &Value, field: &str) -> Option<Vec<u8>> {
    let s = obj.pointer(&format!("/data/{field}")).and_then(Value::as_str)?;
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

#[async_trait::async_trait]
impl ServiceAccountGetter for StoreGetter {
    async fn service_account(&self, namespace: &str, name: &str) -> Option<String> {
        self.uid(&format!("/registry/core/serviceaccounts/{namespace}/{name}")).await
    }

    async fn secret(&self, namespace: &str, name: &str) -> Option<SecretInfo> {
        let obj = self.live(&format!("/registry/core/secrets/{namespace}/{name}")).await?;
        Some(SecretInfo {
            uid: obj.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or_default().to_string(),
            token: b64(&obj, "token"),
            invalid_since: obj
                .pointer("/metadata/labels/kubernetes.io~1legacy-token-invalid-since")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
    }

    async fn pod(&self, namespace: &str, name: &str) -> Option<String> {
        self.uid(&format!("/registry/core/pods/{namespace}/{name}")).await
    }

    async fn node(&self, name: &str) -> Option<String> {
        self.uid(&format!("/registry/core/nodes/{name}")).await
    }
}

#[async_trait::async_trait]
impl authn::bootstrap_token::BootstrapSecretGetter for StoreGetter {
    async fn bootstrap_secret(&self, token_id: &str) -> Option<Value> {
        self.live(&format!("/registry/core/secrets/kube-system/bootstrap-token-{token_id}")).await
    }
}
