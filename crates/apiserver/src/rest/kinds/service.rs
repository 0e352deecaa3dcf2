//! Service: a ClusterIP allocated on create (kube's service IP allocator over
//! 10.96.0.0/12), unless one was given or the Service is an ExternalName.

use crate::context::Ctx;
use apimachinery::StatusError;
use rand::Rng;
use serde_json::{json, Value};

pub struct Service;

#[async_trait::async_trait]
impl super::KindHooks for Service {
    async fn before_create(&self, ctx: &Ctx, obj: &mut Value) -> Result<(), StatusError> {
        allocate_cluster_ip(ctx, obj).await
    }
}

async fn allocate_cluster_ip(ctx: &Ctx, obj: &mut Value) -> Result<(), StatusError> {
    let has_ip = obj.pointer("/spec/clusterIP").and_then(Value::as_str).is_some_and(|s| !s.is_empty());
    if has_ip || obj.pointer("/spec/type").and_then(Value::as_str) == Some("ExternalName") {
        return Ok(());
    }
    let Some(services) = ctx.state.catalog.lookup("", "v1", "services") else { return Ok(()) };
    // Random and checked against the services that exist.
    let (existing, _) = ctx.state.objects.list_all(services, "").await?;
    let used: std::collections::HashSet<&str> =
        existing.iter().filter_map(|v| v.pointer("/spec/clusterIP").and_then(Value::as_str)).collect();
    let mut rng = rand::rng();
    for _ in 0..64 {
        let n: u32 = rng.random_range(10..(1 << 20) - 1);
        let ip = format!("10.{}.{}.{}", 96 + (n >> 16), (n >> 8) & 0xff, n & 0xff);
        if !used.contains(ip.as_str()) {
            if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
                spec.insert("clusterIP".into(), json!(ip));
                spec.insert("clusterIPs".into(), json!([ip]));
                spec.insert("ipFamilies".into(), json!(["IPv4"]));
                spec.insert("ipFamilyPolicy".into(), json!("SingleStack"));
                spec.insert("internalTrafficPolicy".into(), json!("Cluster"));
            }
            return Ok(());
        }
    }
    Ok(())
}
