//! The legacy token controller (kube-controller-manager's tokens controller): a Secret of
//! type `kubernetes.io/service-account-token` annotated with a ServiceAccount name gets
//! `token`, `ca.crt` and `namespace` filled in, and the ServiceAccount's uid annotated.

use super::RELIST_BACKOFF;
use crate::rest::{decode_kv, encode_for_store};
use crate::state::State;
use authn::serviceaccount::TokenIssuer;
use base64::Engine;
use futures::StreamExt;
use serde_json::{json, Value};
use std::sync::Arc;
use storage::KeyValue;

const SECRETS: &str = "/registry/core/secrets/";
pub const SA_TOKEN_TYPE: &str = "kubernetes.io/service-account-token";
const NAME_ANNOTATION: &str = "kubernetes.io/service-account.name";
const UID_ANNOTATION: &str = "kubernetes.io/service-account.uid";

pub async fn start(state: State, issuer: Arc<TokenIssuer>, ca: Option<String>) -> Result<(), String> {
    let page = state.store.list(SECRETS, None, 0).await.map_err(|e| e.to_string())?;
    for kv in &page.items {
        fill(&state, &issuer, ca.as_deref(), kv).await;
    }
    tokio::spawn(follow(state, issuer, ca, page.revision));
    Ok(())
}

async fn follow(state: State, issuer: Arc<TokenIssuer>, ca: Option<String>, mut rev: u64) {
    loop {
        if let Ok(mut stream) = state.store.watch(SECRETS, rev).await {
            while let Some(Ok(ev)) = stream.next().await {
                rev = ev.kv.mod_revision;
                if ev.event_type != storage::EventType::Deleted {
                    fill(&state, &issuer, ca.as_deref(), &ev.kv).await;
                }
            }
        }
        tokio::time::sleep(RELIST_BACKOFF).await;
        if let Ok(page) = state.store.list(SECRETS, None, 0).await {
            for kv in &page.items {
                fill(&state, &issuer, ca.as_deref(), kv).await;
            }
            rev = page.revision;
        }
    }
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
}

async fn fill(state: &State, issuer: &TokenIssuer, ca: Option<&str>, kv: &KeyValue) {
    let Some(mut secret) = decode_kv(kv) else { return };
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
    let sa_key = format!("/registry/core/serviceaccounts/{ns}/{sa_name}");
    let Some(sa) = state.store.get(&sa_key).await.ok().flatten().as_ref().and_then(decode_kv) else {
        tracing::debug!(namespace = %ns, secret = %name, serviceaccount = %sa_name, "token secret names a missing ServiceAccount");
        return;
    };
    let sa_uid = sa.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or_default().to_string();
    let wanted_uid = s("/metadata/annotations/kubernetes.io~1service-account.uid");
    if !wanted_uid.is_empty() && wanted_uid != sa_uid {
        return;
    }
    let token = match issuer.issue_legacy(&ns, &sa_name, &sa_uid, &name) {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(namespace = %ns, secret = %name, error = %e, "cannot sign legacy token");
            return;
        }
    };
    let data = secret.as_object_mut().map(|o| o.entry("data").or_insert_with(|| json!({})));
    if let Some(Value::Object(d)) = data {
        d.insert("token".into(), json!(b64(&token)));
        d.insert("namespace".into(), json!(b64(&ns)));
        if let Some(ca) = ca {
            d.insert("ca.crt".into(), json!(b64(ca)));
        }
    }
    if let Some(meta) = secret.get_mut("metadata").and_then(Value::as_object_mut) {
        let ann = meta.entry("annotations").or_insert_with(|| json!({}));
        if let Some(a) = ann.as_object_mut() {
            a.insert(UID_ANNOTATION.into(), json!(sa_uid));
            a.insert(NAME_ANNOTATION.into(), json!(sa_name));
        }
    }
    match state.store.update(&kv.key, encode_for_store(&secret), Some(kv.mod_revision)).await {
        Ok(_) => {
            tracing::info!(namespace = %ns, secret = %name, serviceaccount = %sa_name, "legacy token filled in")
        }
        Err(e) => {
            tracing::debug!(secret = %name, error = %e, "token secret changed meanwhile; will retry on its event")
        }
    }
}
