//! Service: a ClusterIP allocated on create from `--service-cluster-ip-range` (kube's
//! service IP allocator), unless one was given or the Service is an ExternalName; a new
//! Service's status is `{loadBalancer: {}}` as kube answers.

use crate::context::Ctx;
use apimachinery::StatusError;
use rand::Rng;
use serde_json::{json, Value};

pub struct Service;

#[async_trait::async_trait]
impl super::KindHooks for Service {
    async fn before_create(&self, ctx: &Ctx, obj: &mut Value) -> Result<(), StatusError> {
        if let Some(o) = obj.as_object_mut() {
            o.entry("status").or_insert_with(|| json!({"loadBalancer": {}}));
        }
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
    let range = ctx.state.service_ips;
    let start: u32 = rand::rng().random_range(0..range.capacity());
    for n in 0..range.capacity().min(4096) {
        let ip = range.nth_for_services(start.wrapping_add(n)).to_string();
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
    Err(StatusError::internal(&format!("failed to allocate a serviceIP: range {range} is full")))
}
