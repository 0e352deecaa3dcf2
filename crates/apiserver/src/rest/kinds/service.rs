//! Service: a ClusterIP allocated on create from `--service-cluster-ip-range` (kube's
//! service IP allocator), or the one asked for checked against the range and the Services
//! that exist; node ports for NodePort and LoadBalancer Services; nothing for an
//! ExternalName. A new Service's status is `{loadBalancer: {}}` as kube answers.

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

/// kube's 422 for a requested cluster IP the allocator refuses.
fn ip_refused(obj: &Value, ip: &str, why: &str) -> StatusError {
    let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    let cause = apimachinery::field::invalid_rendered(
        "spec.clusterIPs",
        &apimachinery::status::go_json(&json!([ip])),
        &format!("failed to allocate IP {ip}: {why}"),
    );
    StatusError::invalid(
        &apimachinery::gvr::GroupKind { group: String::new(), kind: "Service".into() },
        name,
        vec![cause],
    )
}

/// The cluster IP of a new Service (kube's service IP allocator and its `ipFamilies` and
/// `ipFamilyPolicy` defaults for a single-stack IPv4 cluster), and the node ports of a
/// NodePort or LoadBalancer Service.
async fn allocate_cluster_ip(ctx: &Ctx, obj: &mut Value) -> Result<(), StatusError> {
    let service_type = obj.pointer("/spec/type").and_then(Value::as_str).unwrap_or("ClusterIP").to_string();
    if service_type == "ExternalName" {
        return Ok(());
    }
    let Some(services) = ctx.state.catalog.lookup("", "v1", "services") else { return Ok(()) };
    let (existing, _) = ctx.state.objects.list_all(services, "").await?;
    // Every IPAddress holds its address, the allocator's and anyone else's (kube 1.33+).
    let mut addresses = Vec::new();
    if let Some(rt) = ctx.state.catalog.lookup("networking.k8s.io", "v1", "ipaddresses") {
        let (objs, _) = ctx.state.objects.list_all(rt, "").await?;
        addresses.extend(
            objs.iter()
                .filter_map(|a| a.pointer("/metadata/name").and_then(Value::as_str))
                .map(str::to_string),
        );
    }
    let requested = obj.pointer("/spec/clusterIP").and_then(Value::as_str).unwrap_or_default().to_string();
    let headless = requested == "None";
    let ip = if headless {
        requested
    } else if !requested.is_empty() {
        let range = ctx.state.service_ips;
        match requested.parse::<std::net::Ipv4Addr>() {
            Ok(addr) if range.contains(addr) => {}
            _ => {
                return Err(ip_refused(
                    obj,
                    &requested,
                    "the provided network does not match the current range",
                ))
            }
        }
        let taken = addresses.contains(&requested)
            || existing
                .iter()
                .any(|v| v.pointer("/spec/clusterIP").and_then(Value::as_str) == Some(requested.as_str()));
        if taken {
            return Err(ip_refused(obj, &requested, "provided IP is already allocated"));
        }
        requested
    } else {
        free_cluster_ip(ctx, &existing, &addresses)?
    };
    // A headless Service without a selector serves every family the cluster could have.
    let selectorless = obj.pointer("/spec/selector").and_then(Value::as_object).is_none_or(|s| s.is_empty());
    let (families, policy) = if headless && selectorless {
        (json!(["IPv4", "IPv6"]), "RequireDualStack")
    } else {
        (json!(["IPv4"]), "SingleStack")
    };
    let node_ports = matches!(service_type.as_str(), "NodePort" | "LoadBalancer");
    let used_ports: std::collections::HashSet<i64> = existing
        .iter()
        .flat_map(|v| v.pointer("/spec/ports").and_then(Value::as_array).into_iter().flatten())
        .filter_map(|p| p.get("nodePort").and_then(Value::as_i64))
        .collect();
    if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
        spec.insert("clusterIP".into(), json!(ip));
        spec.insert("clusterIPs".into(), json!([ip]));
        spec.entry("ipFamilies").or_insert(families);
        spec.entry("ipFamilyPolicy").or_insert(json!(policy));
        if node_ports {
            let mut taken = used_ports;
            for port in spec.get_mut("ports").and_then(Value::as_array_mut).into_iter().flatten() {
                if port.get("nodePort").and_then(Value::as_i64).is_none_or(|n| n == 0) {
                    let n = free_node_port(&taken)?;
                    taken.insert(n);
                    port["nodePort"] = json!(n);
                }
            }
        }
    }
    Ok(())
}

/// A random free address of `--service-cluster-ip-range`, checked against the Services and
/// IPAddresses that exist.
fn free_cluster_ip(ctx: &Ctx, existing: &[Value], addresses: &[String]) -> Result<String, StatusError> {
    let mut used: std::collections::HashSet<&str> =
        existing.iter().filter_map(|v| v.pointer("/spec/clusterIP").and_then(Value::as_str)).collect();
    used.extend(addresses.iter().map(String::as_str));
    let range = ctx.state.service_ips;
    let start: u32 = rand::rng().random_range(0..range.capacity());
    for n in 0..range.capacity().min(4096) {
        let ip = range.nth_for_services(start.wrapping_add(n)).to_string();
        if !used.contains(ip.as_str()) {
            return Ok(ip);
        }
    }
    Err(StatusError::internal(&format!("failed to allocate a serviceIP: range {range} is full")))
}

/// kube's default `--service-node-port-range`.
const NODE_PORTS: std::ops::RangeInclusive<i64> = 30000..=32767;

/// A random free node port.
fn free_node_port(taken: &std::collections::HashSet<i64>) -> Result<i64, StatusError> {
    let size = NODE_PORTS.end() - NODE_PORTS.start() + 1;
    let start = rand::rng().random_range(0..size);
    (0..size)
        .map(|i| NODE_PORTS.start() + (start + i) % size)
        .find(|p| !taken.contains(p))
        .ok_or_else(|| StatusError::internal("failed to allocate a nodePort: range 30000-32767 is full"))
}
