//! Store-backed lookups for token validation: is the ServiceAccount, Secret, Pod or Node a
//! token names still there, with the same UID? Objects being deleted count as gone.

use crate::objects::Objects;
use authn::serviceaccount::{SecretInfo, ServiceAccountGetter};
use base64::Engine;
use registry::Catalog;
use serde_json::Value;

pub struct StoreGetter {
    pub objects: Objects,
    pub catalog: &'static Catalog,
}

impl StoreGetter {
    async fn live(&self, resource: &str, namespace: &str, name: &str) -> Option<Value> {
        let rt = self.catalog.lookup("", "v1", resource)?;
        let obj = self.objects.find(rt, namespace, name).await.ok()??;
        obj.pointer("/metadata/deletionTimestamp").is_none().then_some(obj)
    }

    async fn uid(&self, resource: &str, namespace: &str, name: &str) -> Option<String> {
        let obj = self.live(resource, namespace, name).await?;
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
        self.uid("serviceaccounts", namespace, name).await
    }

    async fn secret(&self, namespace: &str, name: &str) -> Option<SecretInfo> {
        let obj = self.live("secrets", namespace, name).await?;
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
        self.uid("pods", namespace, name).await
    }

    async fn node(&self, name: &str) -> Option<String> {
        self.uid("nodes", "", name).await
    }
}

#[async_trait::async_trait]
impl authn::bootstrap_token::BootstrapSecretGetter for StoreGetter {
    async fn bootstrap_secret(&self, token_id: &str) -> Option<Value> {
        self.live("secrets", "kube-system", &format!("bootstrap-token-{token_id}")).await
    }
}
