//! `pods|services|nodes/<id>/proxy[/<path>]`: the target looked up as kube looks it up
//! (`[scheme:]name[:port]`, global unicast addresses, a Service's endpoints backed by Pods),
//! then a plain request relayed and its answer streamed back.

use super::{
    admit_connect, connect_options, get_object, is_upgrade_request, join_host_port, kubelet_of, str_at,
};
use crate::context::Ctx;
use crate::objects::decode_kv;
use crate::response::Body;
use apimachinery::StatusError;
use http::Response;
use http_body_util::BodyExt;
use registry::ResourceType;
use serde_json::Value;

/// Any method on `pods|services|nodes/<id>/proxy[/<path>]`: the target looked up as kube
/// does (`[scheme:]name[:port]`, with its errors), then the request relayed to it and the
/// answer streamed back (kube's proxy, without its rewriting of links in HTML answers).
pub async fn proxy(
    ctx: &Ctx,
    rt: &ResourceType,
    req: http::Request<hyper::body::Incoming>,
) -> Result<Response<Body>, StatusError> {
    let id = ctx.info.name.as_str();
    let kind = format!("{}ProxyOptions", rt.kind);
    admit_connect(ctx, rt, &kind, connect_options(&ctx.info, "proxy", &[])).await?;
    let Some((scheme, name, port)) = split_scheme_name_port(id) else {
        let what = match rt.plural {
            "pods" => "pod",
            "services" => "service",
            _ => "node",
        };
        return Err(StatusError::bad_request(format!(
            "invalid {what} request {}",
            apimachinery::status::quote(id)
        )));
    };
    let scheme = if scheme.is_empty() { "http" } else { scheme };
    // (scheme, host:port, whether kubeward's verified kubelet client carries it)
    let (scheme, authority, kubelet_client) = match rt.plural {
        "pods" => {
            let pod = get_object(ctx, rt, name).await?;
            (scheme, pod_target(&pod, port)?, false)
        }
        "services" => (scheme, service_target(ctx, rt, id, name, port).await?, false),
        _ => {
            let kubelet = kubelet_of(ctx, name).await?;
            proxyable_hostname(&kubelet.host).await?;
            // The kubelet's own port goes through the kubelet client; another port is any
            // server on the node.
            if port.is_empty() || port == kubelet.port.to_string() {
                ("https", join_host_port(&kubelet.host, &kubelet.port.to_string()), true)
            } else {
                (scheme, join_host_port(&kubelet.host, port), false)
            }
        }
    };
    if is_upgrade_request(req.headers()) {
        return Err(StatusError::service_unavailable(format!(
            "kubeward does not relay upgraded connections through {}/proxy yet",
            rt.plural
        )));
    }
    let client = ctx.state.kubelet.as_ref().ok_or_else(|| {
        StatusError::service_unavailable("kubeward was started without a kubelet client".to_string())
    })?;
    // kube's proxy transport does not verify the certificates of Pods and Services (it has
    // no CA for them); a kubelet's is verified.
    let client = if kubelet_client {
        client.verified.as_ref().map_err(|e| StatusError::unknown(500, e.clone()))?
    } else {
        &client.unverified
    };
    let path = proxied_path(req.uri().path(), id, ctx.info.query_param("path"));
    let query = req.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
    let url = format!("{scheme}://{authority}{path}{query}");
    relay_http(ctx, client, &url, req).await
}

/// The path a proxy request goes on with: what follows `<id>/proxy` in the request's own path
/// (its trailing slash kept), else the `path` parameter (kube's `JoinPreservingTrailingSlash`).
fn proxied_path(request_path: &str, id: &str, path_param: Option<&str>) -> String {
    let marker = format!("/{id}/proxy");
    let rest = request_path.find(&marker).map(|i| &request_path[i + marker.len()..]).unwrap_or_default();
    let rest = if rest.is_empty() || rest == "/" { path_param.unwrap_or(rest) } else { rest };
    if rest.is_empty() {
        "/".into()
    } else if rest.starts_with('/') {
        rest.to_string()
    } else {
        format!("/{rest}")
    }
}

/// Headers that belong to one hop (RFC 9110) or to the caller's credentials: never relayed.
fn hop_or_credential(name: &http::HeaderName) -> bool {
    let n = name.as_str();
    matches!(
        n,
        "connection"
            | "keep-alive"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "host"
            | "authorization"
            | "content-length"
    ) || n.starts_with("impersonate-")
}

/// Sends the request (its body read within the body limit) to `url` and streams the answer.
async fn relay_http(
    ctx: &Ctx,
    client: &outbound::Client,
    url: &str,
    req: http::Request<hyper::body::Incoming>,
) -> Result<Response<Body>, StatusError> {
    let method = req.method().clone();
    let headers = req.headers().clone();
    let (body, _) = crate::rest::read_body(ctx, req).await?;
    let mut out = http::Request::builder().method(method).uri(url);
    for (name, value) in &headers {
        if !hop_or_credential(name) {
            out = out.header(name, value);
        }
    }
    let out = out
        .body(body)
        .map_err(|e| StatusError::unknown(500, format!("failed to construct request for {url}, got {e}")))?;
    let answer = client.send_streaming(out).await.map_err(|e| StatusError::unknown(503, e.to_string()))?;
    let (parts, body) = answer.into_parts();
    let mut resp = Response::new(body.map_err(std::io::Error::other).boxed());
    *resp.status_mut() = parts.status;
    for (name, value) in &parts.headers {
        if !hop_or_credential(name) || name == http::header::CONTENT_LENGTH {
            resp.headers_mut().append(name, value.clone());
        }
    }
    Ok(resp)
}

/// The address kube's pod ResourceLocation picks: the Pod's first IP (which must be a global
/// unicast address) and the given port, else the first declared container port.
fn pod_target(pod: &Value, port: &str) -> Result<String, StatusError> {
    let mut port = port.to_string();
    if port.is_empty() {
        let containers = pod.pointer("/spec/containers").and_then(Value::as_array);
        if let Some(p) = containers
            .into_iter()
            .flatten()
            .find_map(|c| c.pointer("/ports/0/containerPort").and_then(Value::as_i64))
        {
            port = p.to_string();
        }
    }
    let ip = str_at(pod, "/status/podIPs/0/ip");
    match ip.parse::<std::net::IpAddr>() {
        Ok(addr) if is_global_unicast(&addr) => {}
        _ => return Err(StatusError::bad_request("address not allowed")),
    }
    Ok(if port.is_empty() { ip.to_string() } else { format!("{ip}:{port}") })
}

/// kube's service ResourceLocation: a numeric port must be one of the Service's; then an
/// endpoint address backed by an existing Pod with that IP.
async fn service_target(
    ctx: &Ctx,
    services: &ResourceType,
    id: &str,
    name: &str,
    port: &str,
) -> Result<String, StatusError> {
    let mut port_name = port.to_string();
    if let Ok(n) = port.parse::<i64>() {
        let svc = get_object(ctx, services, name).await?;
        let ports = svc.pointer("/spec/ports").and_then(Value::as_array);
        match ports.into_iter().flatten().find(|p| p.get("port").and_then(Value::as_i64) == Some(n)) {
            Some(p) => port_name = str_at(p, "/name").to_string(),
            None => {
                return Err(StatusError::service_unavailable(format!(
                    "no service port {n} found for service {}",
                    apimachinery::status::quote(name)
                )))
            }
        }
    }
    let catalog = ctx.state.catalog;
    let endpoints =
        catalog.lookup("", "v1", "endpoints").ok_or_else(|| StatusError::internal("no endpoints"))?;
    let eps = get_object(ctx, endpoints, name).await?;
    let subsets = eps.get("subsets").and_then(Value::as_array).cloned().unwrap_or_default();
    if subsets.is_empty() {
        return Err(StatusError::service_unavailable(format!(
            "no endpoints available for service {}",
            apimachinery::status::quote(name)
        )));
    }
    let pods = catalog.lookup("", "v1", "pods").ok_or_else(|| StatusError::internal("no pods"))?;
    for ss in &subsets {
        let addresses = ss.get("addresses").and_then(Value::as_array).cloned().unwrap_or_default();
        let ports = ss.get("ports").and_then(Value::as_array).cloned().unwrap_or_default();
        for p in ports.iter().filter(|p| str_at(p, "/name") == port_name) {
            for addr in &addresses {
                // kube's isValidAddress: the address names a Pod that exists and has this IP.
                let ip = str_at(addr, "/ip");
                if str_at(addr, "/targetRef/kind") != "Pod" {
                    continue;
                }
                let ns = str_at(addr, "/targetRef/namespace");
                let pod_name = str_at(addr, "/targetRef/name");
                let Ok(kv) = ctx.state.objects.get_raw(pods, ns, pod_name).await else { continue };
                let Some(pod) = decode_kv(&kv) else { continue };
                let ips = pod.pointer("/status/podIPs").and_then(Value::as_array);
                if ips.into_iter().flatten().any(|i| str_at(i, "/ip") == ip) {
                    let port = p.get("port").and_then(Value::as_i64).unwrap_or_default();
                    return Ok(join_host_port(ip, &port.to_string()));
                }
            }
        }
    }
    Err(StatusError::service_unavailable(format!(
        "no endpoints available for service {}",
        apimachinery::status::quote(id)
    )))
}

/// kube's `isProxyableHostname`: the name resolves, and only to global unicast addresses.
async fn proxyable_hostname(host: &str) -> Result<(), StatusError> {
    let resolved =
        tokio::time::timeout(std::time::Duration::from_secs(5), tokio::net::lookup_host((host, 0)))
            .await
            .map_err(|_| StatusError::bad_request(format!("lookup {host}: i/o timeout")))?
            .map_err(|e| StatusError::bad_request(format!("lookup {host}: {e}")))?;
    let addrs: Vec<std::net::IpAddr> = resolved.map(|a| a.ip()).collect();
    if addrs.is_empty() {
        return Err(StatusError::bad_request("no addresses for hostname"));
    }
    if addrs.iter().any(|a| !is_global_unicast(a)) {
        return Err(StatusError::bad_request("address not allowed"));
    }
    Ok(())
}

/// Go's `net.IP.IsGlobalUnicast`: not unspecified, loopback, multicast, link-local or the
/// IPv4 broadcast address (private ranges are global unicast).
fn is_global_unicast(ip: &std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            !(v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_multicast()
                || v4.is_link_local()
                || v4.is_broadcast())
        }
        std::net::IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_global_unicast(&std::net::IpAddr::V4(v4));
            }
            let link_local = (v6.segments()[0] & 0xffc0) == 0xfe80;
            !(v6.is_unspecified() || v6.is_loopback() || v6.is_multicast() || link_local)
        }
    }
}

/// kube's `SplitSchemeNamePort`: `name`, `name:port` or `scheme:name:port` (scheme http or
/// https, or empty); `None` when malformed.
fn split_scheme_name_port(id: &str) -> Option<(&str, &str, &str)> {
    let parts: Vec<&str> = id.split(':').collect();
    let (scheme, name, port) = match parts.as_slice() {
        [name] => ("", *name, ""),
        [name, port] => ("", *name, *port),
        [scheme, name, port] => (*scheme, *name, *port),
        _ => return None,
    };
    if name.is_empty() || !(scheme.is_empty() || scheme == "http" || scheme == "https") {
        return None;
    }
    Some((scheme, name, port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    #[test]
    fn proxy_ids_and_addresses_follow_kube() {
        assert_eq!(split_scheme_name_port("web"), Some(("", "web", "")));
        assert_eq!(split_scheme_name_port("web:8080"), Some(("", "web", "8080")));
        assert_eq!(split_scheme_name_port("https:web:443"), Some(("https", "web", "443")));
        assert_eq!(split_scheme_name_port("ftp:web:21"), None);
        assert_eq!(split_scheme_name_port(":80"), None);
        assert_eq!(split_scheme_name_port("a:b:c:d"), None);
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        assert!(is_global_unicast(&ip("10.1.2.3")));
        assert!(is_global_unicast(&ip("2001:db8::1")));
        for no in
            ["127.0.0.1", "0.0.0.0", "169.254.1.1", "224.0.0.1", "255.255.255.255", "::1", "fe80::1", "::"]
        {
            assert!(!is_global_unicast(&ip(no)), "{no}");
        }
        let pod = json!({"spec": {"containers": [{"name": "a"}, {"name": "b", "ports": [{"containerPort": 8080}]}]},
            "status": {"podIPs": [{"ip": "10.0.0.9"}]}});
        assert_eq!(pod_target(&pod, "").unwrap(), "10.0.0.9:8080");
        assert_eq!(pod_target(&pod, "9000").unwrap(), "10.0.0.9:9000");
        let local = json!({"status": {"podIPs": [{"ip": "127.0.0.1"}]}});
        assert_eq!(pod_target(&local, "").unwrap_err().message, "address not allowed");
    }

    #[test]
    fn proxied_paths_and_headers_follow_kube() {
        let p = |path: &str, param: Option<&str>| proxied_path(path, "web:80", param);
        assert_eq!(p("/api/v1/namespaces/d/services/web:80/proxy/a/b/", None), "/a/b/");
        assert_eq!(p("/api/v1/namespaces/d/services/web:80/proxy", None), "/");
        assert_eq!(p("/api/v1/namespaces/d/services/web:80/proxy/", Some("metrics")), "/metrics");
        assert_eq!(p("/api/v1/namespaces/d/services/web:80/proxy/x", Some("metrics")), "/x");
        for h in
            ["authorization", "impersonate-user", "impersonate-extra-scopes", "connection", "upgrade", "host"]
        {
            assert!(hop_or_credential(&http::HeaderName::from_static(h)), "{h}");
        }
        for h in ["accept", "content-type", "x-request-id"] {
            assert!(!hop_or_credential(&http::HeaderName::from_static(h)), "{h}");
        }
    }
}
