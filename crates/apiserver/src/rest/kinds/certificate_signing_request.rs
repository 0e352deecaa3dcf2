//! CertificateSigningRequest: who asked is the request's user, as kube's CSR strategy
//! `PrepareForCreate` sets it (`spec.username`, `uid`, `groups`, `extra`), whatever the
//! client sent there.

use crate::context::Ctx;
use apimachinery::StatusError;
use serde_json::{json, Value};

pub struct CertificateSigningRequest;

#[async_trait::async_trait]
impl super::KindHooks for CertificateSigningRequest {
    async fn before_create(&self, ctx: &Ctx, obj: &mut Value) -> Result<(), StatusError> {
        let user = ctx.user();
        if !obj["spec"].is_object() {
            obj["spec"] = json!({});
        }
        if let Some(spec) = obj["spec"].as_object_mut() {
            for k in ["username", "uid", "groups", "extra"] {
                spec.remove(k);
            }
            spec.insert("username".into(), json!(user.name));
            if !user.uid.is_empty() {
                spec.insert("uid".into(), json!(user.uid));
            }
            if !user.groups.is_empty() {
                spec.insert("groups".into(), json!(user.groups));
            }
            if !user.extra.is_empty() {
                spec.insert("extra".into(), json!(user.extra));
            }
        }
        Ok(())
    }
}
