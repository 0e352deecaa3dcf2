//! The legacy token controller (kube-controller-manager's tokens controller): a Secret of
//! type `kubernetes.io/service-account-token` annotated with a ServiceAccount name gets
//! `token`, `ca.crt` and `namespace` filled in, and the ServiceAccount's uid annotated.

use super::Controller;
use crate::informer::{Event, Informer};
use crate::objects::Objects;
use crate::state::State;
use authn::serviceaccount::TokenIssuer;
use base64::Engine;
use registry::ResourceType;
use serde_json::{json, Value};
use std::sync::Arc;

pub const SA_TOKEN_TYPE: &str = "kubernetes.io/service-account-token";
const NAME_ANNOTATION: &str = "kubernetes.io/service-account.name";
const UID_ANNOTATION: &str = "kubernetes.io/service-account.uid";

struct Tokens {
    objects: Objects,
    secrets: &'static ResourceType,
    service_accounts: &'static ResourceType,
    issuer: Arc<TokenIssuer>,
    ca: Option<String>,
}

#[async_trait::async_trait]
impl Controller for Tokens {
    async fn handle(&mut self, event: Event) {
        if let Event::Apply(secret) | Event::InitApply(secret) = event {
            self.fill(secret).await;
        }
    }
}

pub async fn start(state: &State, issuer: Arc<TokenIssuer>, ca: Option<String>) -> Result<(), String> {
    let lookup = |r: &str| state.catalog.lookup("", "v1", r).ok_or(format!("the catalog serves no {r}"));
    let secrets = lookup("secrets")?;
    let controller = Tokens {
        objects: state.objects.clone(),
        secrets,
        service_accounts: lookup("serviceaccounts")?,
        issuer,
        ca,
    };
    super::run(Informer::new(state.objects.clone(), "tokens", vec![secrets]), controller).await;
    Ok(())
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
}

impl Tokens {
    async fn fill(&self, mut secret: Value) {
        if secret.get("type").and_then(Value::as_str) != Some(SA_TOKEN_TYPE)
            || secret.pointer("/metadata/deletionTimestamp").is_some()
            || secret.pointer("/data/token").is_some()
        {
            return;
        }
        let s = |p: &str| secret.pointer(p).and_then(Value::as_str).unwrap_or_default().to_string();
        let ns = s("/metadata/namespace");
        let name = s("/metadata/name");
        let sa_name = s("/metadata/annotations/kubernetes.io~1service-account.name");
        if sa_name.is_empty() {
            return;
        }
        let Ok(Some(sa)) = self.objects.find(self.service_accounts, &ns, &sa_name).await else {
            tracing::debug!(namespace = %ns, secret = %name, serviceaccount = %sa_name, "token secret names a missing ServiceAccount");
            return;
        };
        let sa_uid = sa.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or_default().to_string();
        let wanted_uid = s("/metadata/annotations/kubernetes.io~1service-account.uid");
        if !wanted_uid.is_empty() && wanted_uid != sa_uid {
            return;
        }
        let token = match self.issuer.issue_legacy(&ns, &sa_name, &sa_uid, &name) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(namespace = %ns, secret = %name, error = %e, "cannot sign legacy token");
                return;
            }
        };
        let revision = s("/metadata/resourceVersion").parse::<u64>().ok();
        let data = secret.as_object_mut().map(|o| o.entry("data").or_insert_with(|| json!({})));
        if let Some(Value::Object(d)) = data {
            d.insert("token".into(), json!(b64(&token)));
            d.insert("namespace".into(), json!(b64(&ns)));
            if let Some(ca) = &self.ca {
                d.insert("ca.crt".into(), json!(b64(ca)));
            }
        }
        if let Some(meta) = secret.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("resourceVersion");
            let ann = meta.entry("annotations").or_insert_with(|| json!({}));
            if let Some(a) = ann.as_object_mut() {
                a.insert(UID_ANNOTATION.into(), json!(sa_uid));
                a.insert(NAME_ANNOTATION.into(), json!(sa_name));
            }
        }
        match self.objects.update(self.secrets, &ns, &name, &secret, revision).await {
            Ok(_) => {
                tracing::info!(namespace = %ns, secret = %name, serviceaccount = %sa_name, "legacy token filled in")
            }
            Err(e) => {
                tracing::debug!(secret = %name, error = %e.message, "token secret changed meanwhile; will retry on its event")
            }
        }
    }
}
