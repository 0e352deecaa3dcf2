//! A webhook's `clientConfig.service`, resolved as kube-apiserver resolves it with endpoint
//! routing (`ResolveEndpoint` in k8s.io/apiserver `pkg/util/proxy`): the Service must exist
//! and be of type ClusterIP, NodePort or LoadBalancer, have the referenced port, and have a
//! ready endpoint for that port (its EndpointSlices, else its Endpoints); one of them is
//! picked at random and called at `https://<ip>:<port><path>`, the server's certificate
//! checked against `<service>.<namespace>.svc`, the name kube's webhooks are served under.

use crate::types::{array_at, str_at, AdmissionContext};
use rand::seq::IndexedRandom;
use serde_json::Value;

/// Where a service reference is called: the URL, and the name the certificate must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub url: String,
    pub server_name: String,
}

/// Resolves `clientConfig.service`; the error says why it cannot be called (kube's texts).
pub async fn resolve(service: &Value, ctx: &dyn AdmissionContext) -> Result<Resolved, String> {
    let namespace = str_at(service, &["namespace"]).unwrap_or("");
    let name = str_at(service, &["name"]).unwrap_or("");
    let port = service.get("port").and_then(Value::as_i64).unwrap_or(443);
    let path = str_at(service, &["path"]).unwrap_or("");
    let not_found = || format!("service {}/{} not found", namespace, name);
    let svc = ctx.get("", "services", namespace, name).await.map_err(|e| e.message)?.ok_or_else(not_found)?;
    let kind = str_at(&svc, &["spec", "type"]).unwrap_or("ClusterIP");
    if !matches!(kind, "ClusterIP" | "NodePort" | "LoadBalancer") {
        return Err(format!("unsupported service type {}", apimachinery::quote::go_quote(kind)));
    }
    let svc_port = array_at(&svc, &["spec", "ports"])
        .iter()
        .find(|p| p.get("port").and_then(Value::as_i64) == Some(port))
        .ok_or_else(|| {
            format!("no service port {port} found for service {}", apimachinery::quote::go_quote(name))
        })?;
    let port_name = str_at(svc_port, &["name"]).unwrap_or("");
    let mut addresses = slice_addresses(ctx, namespace, name, port_name).await?;
    if addresses.is_empty() {
        addresses = endpoints_addresses(ctx, namespace, name, port_name).await?;
    }
    let Some((ip, port)) = addresses.choose(&mut rand::rng()) else {
        return Err(format!("service {namespace}/{name} has no endpoints"));
    };
    let host = if ip.contains(':') { format!("[{ip}]") } else { ip.clone() };
    let path = if path.is_empty() || path.starts_with('/') { path.to_string() } else { format!("/{path}") };
    Ok(Resolved {
        url: format!("https://{host}:{port}{path}"),
        server_name: format!("{name}.{namespace}.svc"),
    })
}

/// Ready addresses of the Service's EndpointSlices (label `kubernetes.io/service-name`) with
/// the port named `port_name`.
async fn slice_addresses(
    ctx: &dyn AdmissionContext,
    namespace: &str,
    name: &str,
    port_name: &str,
) -> Result<Vec<(String, i64)>, String> {
    let slices = ctx.list("discovery.k8s.io", "endpointslices", namespace).await.map_err(|e| e.message)?;
    let mut out = Vec::new();
    for slice in slices
        .iter()
        .filter(|s| str_at(s, &["metadata", "labels", "kubernetes.io/service-name"]) == Some(name))
    {
        let Some(port) = array_at(slice, &["ports"])
            .iter()
            .find(|p| str_at(p, &["name"]).unwrap_or("") == port_name)
            .and_then(|p| p.get("port").and_then(Value::as_i64))
        else {
            continue;
        };
        for ep in array_at(slice, &["endpoints"]) {
            // A missing `ready` condition means ready, as kube reads it.
            if ep.pointer("/conditions/ready").and_then(Value::as_bool) == Some(false) {
                continue;
            }
            if let Some(ip) = array_at(ep, &["addresses"]).first().and_then(Value::as_str) {
                out.push((ip.to_string(), port));
            }
        }
    }
    Ok(out)
}

/// Ready addresses of the Service's Endpoints with the port named `port_name`.
async fn endpoints_addresses(
    ctx: &dyn AdmissionContext,
    namespace: &str,
    name: &str,
    port_name: &str,
) -> Result<Vec<(String, i64)>, String> {
    let Some(eps) = ctx.get("", "endpoints", namespace, name).await.map_err(|e| e.message)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for subset in array_at(&eps, &["subsets"]) {
        for port in array_at(subset, &["ports"]) {
            if str_at(port, &["name"]).unwrap_or("") != port_name {
                continue;
            }
            let Some(number) = port.get("port").and_then(Value::as_i64) else { continue };
            for addr in array_at(subset, &["addresses"]) {
                if let Some(ip) = str_at(addr, &["ip"]) {
                    out.push((ip.to_string(), number));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryContext;
    use serde_json::json;

    fn reference() -> Value {
        json!({"namespace": "hooks", "name": "checker", "path": "/validate", "port": 443})
    }

    #[tokio::test]
    async fn resolved_through_endpoints_or_refused_with_a_reason() {
        let ctx = MemoryContext::new();
        assert_eq!(resolve(&reference(), &ctx).await, Err("service hooks/checker not found".into()));
        ctx.put(
            "",
            "services",
            json!({"metadata": {"name": "checker", "namespace": "hooks"},
            "spec": {"type": "ExternalName", "ports": [{"port": 443}]}}),
        );
        assert_eq!(
            resolve(&reference(), &ctx).await,
            Err("unsupported service type \"ExternalName\"".into())
        );
        ctx.put(
            "",
            "services",
            json!({"metadata": {"name": "checker", "namespace": "hooks"},
            "spec": {"ports": [{"name": "https", "port": 443, "targetPort": 8443}]}}),
        );
        let other_port = json!({"namespace": "hooks", "name": "checker", "port": 8080});
        assert_eq!(
            resolve(&other_port, &ctx).await,
            Err("no service port 8080 found for service \"checker\"".into())
        );
        assert_eq!(resolve(&reference(), &ctx).await, Err("service hooks/checker has no endpoints".into()));
        ctx.put(
            "",
            "endpoints",
            json!({"metadata": {"name": "checker", "namespace": "hooks"},
            "subsets": [{"addresses": [{"ip": "10.0.0.7"}], "ports": [{"name": "https", "port": 8443}]}]}),
        );
        let r = resolve(&reference(), &ctx).await.unwrap();
        assert_eq!(
            r,
            Resolved {
                url: "https://10.0.0.7:8443/validate".into(),
                server_name: "checker.hooks.svc".into()
            }
        );
        // EndpointSlices come first; an endpoint not ready is skipped.
        ctx.put("discovery.k8s.io", "endpointslices", json!({"metadata": {"name": "checker-x", "namespace": "hooks",
            "labels": {"kubernetes.io/service-name": "checker"}}, "addressType": "IPv6",
            "ports": [{"name": "https", "port": 9443}],
            "endpoints": [{"addresses": ["fd00::1"], "conditions": {"ready": true}}, {"addresses": ["fd00::2"], "conditions": {"ready": false}}]}));
        assert_eq!(resolve(&reference(), &ctx).await.unwrap().url, "https://[fd00::1]:9443/validate");
    }
}
