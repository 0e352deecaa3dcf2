//! kube's connect subresources, those that reach past the API server: a Pod's `log`, `exec`,
//! `attach` and `portforward` (served by the kubelet of the Pod's node), and the `proxy` of a
//! Pod, a Service or a Node (kube's LogREST, ExecREST, AttachREST, PortForwardREST and the
//! three ProxyREST). As kube-apiserver: the options come from the query (PodLogOptions,
//! PodExecOptions, ...), the object and its node are looked up and checked with kube's errors
//! and texts, and a kubelet is found from its Node object (the first address of
//! `--kubelet-preferred-address-types`, the port the kubelet reports, else 10250).
//!
//! A log is then read from the kubelet (`GET /containerLogs/<ns>/<pod>/<container>` over TLS,
//! presenting `--kubelet-client-certificate`, trusting `--kubelet-certificate-authority` or
//! else the cluster CA) and streamed to the client; a Pod not yet on a node has no log yet
//! (kube's 204). The upgraded streams (exec, attach, port-forward) are relayed to the kubelet
//! as kube's upgrade-aware proxy relays them: the kubelet's answer to the upgrade, then the
//! bytes both ways (SPDY as it is; kube also translates WebSocket v5 to SPDY, kubeward does
//! not, so a kubelet must accept the WebSocket protocol the client offers, v4 for kubelets
//! of 1.30 and later). The proxies to Pods, Services and Nodes relay plain requests (not
//! upgrades, and without kube's rewriting of links in HTML answers).

use crate::context::Ctx;
use crate::objects::decode_kv;
use crate::response::{self, Body};
use apimachinery::field::{forbidden, invalid_number};
use apimachinery::gvr::GroupKind;
use apimachinery::{GroupResource, StatusError};
use bytes::Bytes;
use http::Response;
use http_body_util::BodyExt;
use registry::ResourceType;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;

/// kube-apiserver's `--kubelet-preferred-address-types` default.
pub const DEFAULT_ADDRESS_TYPES: [&str; 5] =
    ["Hostname", "InternalDNS", "InternalIP", "ExternalDNS", "ExternalIP"];
/// The kubelet's port when its Node reports none (kube's `--kubelet-port` default).
const DEFAULT_KUBELET_PORT: i64 = 10250;
/// How much of a kubelet's error answer is read (kube's `maxReadLength`).
const MAX_ERROR_BODY: usize = 50 * 1024;

/// The kubelet flags, as given.
#[derive(Debug, Clone, Default)]
pub struct KubeletConfig {
    pub client_certificate: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub certificate_authority: Option<PathBuf>,
    /// Empty: kube's default order.
    pub preferred_address_types: Vec<String>,
}

/// The clients kubeward reaches kubelets with: one verifying their serving certificates, one
/// that does not (a log asked for with `insecureSkipTLSVerifyBackend=true`, as kube allows).
pub struct KubeletClient {
    /// `Err`: no CA to verify kubelets with (no flag, no cluster CA, no system roots).
    verified: Result<outbound::Client, String>,
    unverified: outbound::Client,
    /// The verifying TLS configuration, for the upgraded streams' own connections.
    tls: Result<Arc<rustls::ClientConfig>, String>,
    address_types: Vec<String>,
}

impl std::fmt::Debug for KubeletClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeletClient").field("address_types", &self.address_types).finish()
    }
}

impl KubeletClient {
    /// Reads the certificate, key and CA; `cluster_ca` (`--client-ca-file`) is trusted when no
    /// `--kubelet-certificate-authority` is given. A file that cannot be used stops the start.
    pub fn new(config: &KubeletConfig, cluster_ca: Option<&str>) -> Result<Self, String> {
        let read = |flag: &str, path: &std::path::Path| {
            std::fs::read(path).map_err(|e| format!("--{flag} {}: {e}", path.display()))
        };
        let client_cert = match (&config.client_certificate, &config.client_key) {
            (Some(cert), Some(key)) => Some(outbound::kubeconfig::ClientCertPem {
                cert: read("kubelet-client-certificate", cert)?,
                key: read("kubelet-client-key", key)?,
            }),
            (None, None) => None,
            _ => {
                return Err(
                    "--kubelet-client-certificate and --kubelet-client-key must be given together".into()
                );
            }
        };
        let ca = match (&config.certificate_authority, cluster_ca) {
            (Some(path), _) => Some(read("kubelet-certificate-authority", path)?),
            (None, Some(path)) => Some(read("client-ca-file", std::path::Path::new(path))?),
            (None, None) => None,
        };
        let options = outbound::Options { timeout: outbound::DEFAULT_TIMEOUT, ..Default::default() };
        let tls = match outbound::tls::client_config(ca.as_deref(), client_cert.as_ref()) {
            Ok(tls) => Ok(tls),
            // A CA that was given but cannot be used stops the start; no CA at all leaves
            // kubelets unreachable unless a request asks not to verify them.
            Err(e) if ca.is_some() => return Err(format!("kubelet client: {e}")),
            Err(e) => Err(format!("no CA to verify kubelets' serving certificates with: {e}")),
        };
        let verified = match &tls {
            Ok(tls) => Ok(outbound::Client::new(tls.clone(), None, options).map_err(|e| e.to_string())?),
            Err(e) => Err(e.clone()),
        };
        let insecure =
            outbound::tls::unverified_client_config(client_cert.as_ref()).map_err(|e| e.to_string())?;
        let unverified = outbound::Client::new(insecure, None, options).map_err(|e| e.to_string())?;
        let mut address_types = config.preferred_address_types.clone();
        address_types.retain(|t| !t.is_empty());
        if address_types.is_empty() {
            address_types = DEFAULT_ADDRESS_TYPES.iter().map(|t| t.to_string()).collect();
        }
        for t in &address_types {
            if !DEFAULT_ADDRESS_TYPES.contains(&t.as_str()) {
                return Err(format!(
                    "--kubelet-preferred-address-types: {t} is not one of {}",
                    DEFAULT_ADDRESS_TYPES.join(", ")
                ));
            }
        }
        Ok(Self { verified, unverified, tls, address_types })
    }
}

/// A kubelet's address: kube's `ConnectionInfo` (the scheme is always https).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Kubelet {
    host: String,
    port: i64,
}

impl Kubelet {
    /// `https://host:port` (IPv6 in brackets, as Go's `net.JoinHostPort`).
    fn base(&self) -> String {
        if self.host.contains(':') {
            format!("https://[{}]:{}", self.host, self.port)
        } else {
            format!("https://{}:{}", self.host, self.port)
        }
    }
}

/// `GET pods/<name>/log`.
pub async fn log(ctx: &Ctx, pods: &ResourceType) -> Result<Response<Body>, StatusError> {
    let info = &ctx.info;
    let name = info.name.as_str();
    let opts = LogOptions::from_query(info)?;
    opts.validate(name)?;
    let pod = get_object(ctx, pods, name).await?;
    let container = pick_container(&pod, &opts.container)?;
    let node = str_at(&pod, "/spec/nodeName");
    if node.is_empty() {
        // kube's LocationStreamer without a location: no stream, 204.
        let mut resp = Response::new(response::empty());
        *resp.status_mut() = http::StatusCode::NO_CONTENT;
        return Ok(resp);
    }
    let kubelet = kubelet_of(ctx, node).await?;
    let url = format!(
        "{}/containerLogs/{}/{}/{container}{}",
        kubelet.base(),
        str_at(&pod, "/metadata/namespace"),
        str_at(&pod, "/metadata/name"),
        opts.kubelet_query()
    );
    let client = ctx.state.kubelet.as_ref().ok_or_else(|| {
        StatusError::service_unavailable("kubeward was started without a kubelet client".to_string())
    })?;
    let client = if opts.insecure_skip_tls_verify_backend {
        &client.unverified
    } else {
        client.verified.as_ref().map_err(|e| StatusError::unknown(500, e.clone()))?
    };
    let req = http::Request::get(&url)
        .body(Bytes::new())
        .map_err(|e| StatusError::unknown(500, format!("failed to construct request for {url}, got {e}")))?;
    let resp = client.send_streaming(req).await.map_err(|e| StatusError::unknown(500, e.to_string()))?;
    let status = resp.status().as_u16();
    if !(200..=206).contains(&status) {
        let body = http_body_util::Limited::new(resp.into_body(), MAX_ERROR_BODY)
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&body);
        return Err(match status {
            500 => StatusError::internal(&text),
            400 => StatusError::bad_request(text.to_string()),
            _ => StatusError::generic_server_response(
                status,
                "",
                &GroupResource::new("", "pods/log"),
                name,
                &text,
            ),
        });
    }
    let body = resp.into_body().map_err(std::io::Error::other).boxed();
    let mut out = Response::new(body);
    out.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain"));
    Ok(out)
}

/// `GET|POST pods/<name>/exec`, `attach` and `portforward`: after kube's checks, the upgrade
/// is relayed to the kubelet (kube's upgrade-aware proxy) and the two connections are joined.
pub async fn stream(
    ctx: &Ctx,
    pods: &ResourceType,
    req: http::Request<hyper::body::Incoming>,
) -> Result<Response<Body>, StatusError> {
    let info = &ctx.info;
    let name = info.name.as_str();
    let sub = info.subresource.as_str();
    let mut ports = Vec::new();
    if sub == "portforward" {
        for v in info.query_params("ports") {
            for p in v.split(',') {
                ports.push(parse_int(p.trim())?);
            }
        }
    }
    let kind = match sub {
        "exec" => "PodExecOptions",
        "attach" => "PodAttachOptions",
        _ => "PodPortForwardOptions",
    };
    admit_connect(ctx, pods, kind, connect_options(info, sub, &ports)).await?;
    let pod = get_object(ctx, pods, name).await?;
    let container = if sub == "portforward" {
        String::new()
    } else {
        pick_container(&pod, info.query_param("container").unwrap_or_default())?
    };
    let node = str_at(&pod, "/spec/nodeName");
    if node.is_empty() {
        return Err(StatusError::bad_request(format!("pod {name} does not have a host assigned")));
    }
    let kubelet = kubelet_of(ctx, node).await?;
    if !is_upgrade_request(req.headers()) {
        // kube's upgrade-aware proxy, which these subresources require.
        return Err(StatusError::bad_request("Upgrade request required"));
    }
    let (ns, pod_name) = (str_at(&pod, "/metadata/namespace"), str_at(&pod, "/metadata/name"));
    let path = match sub {
        "portforward" => format!("/portForward/{ns}/{pod_name}{}", port_query(&ports)),
        _ => format!("/{sub}/{ns}/{pod_name}/{container}{}", stream_query(info)),
    };
    let client = ctx.state.kubelet.as_ref().ok_or_else(|| {
        StatusError::service_unavailable("kubeward was started without a kubelet client".to_string())
    })?;
    let tls = client.tls.as_ref().map_err(|e| StatusError::unknown(500, e.clone()))?;
    relay_upgrade(tls.clone(), &kubelet, &path, req).await
}

/// kube's `streamParams` for exec and attach: the streams asked for as `1`, each command word,
/// keys sorted as Go's `url.Values.Encode` writes them.
fn stream_query(info: &apimachinery::RequestInfo) -> String {
    let flag = |k: &str| info.query_param(k).is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"));
    let mut pairs: Vec<String> = Vec::new();
    if info.subresource == "exec" {
        for c in info.query_params("command") {
            pairs.push(format!("command={}", query_escape(c)));
        }
    }
    for (key, param) in [("error", "stderr"), ("input", "stdin"), ("output", "stdout"), ("tty", "tty")] {
        if flag(param) {
            pairs.push(format!("{key}=1"));
        }
    }
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

fn port_query(ports: &[i64]) -> String {
    if ports.is_empty() {
        return String::new();
    }
    let list: Vec<String> = ports.iter().map(i64::to_string).collect();
    format!("?port={}", query_escape(&list.join(",")))
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Headers of an upgrade that pass to the kubelet and back: the upgrade itself and the
/// stream protocols (SPDY's `X-Stream-Protocol-Version`, WebSocket's `Sec-WebSocket-*`).
/// Never the caller's credentials.
fn relayed(name: &http::HeaderName) -> bool {
    let n = name.as_str();
    matches!(n, "connection" | "upgrade" | "x-stream-protocol-version" | "content-type" | "user-agent")
        || n.starts_with("sec-websocket-")
}

/// Opens a TLS connection to the kubelet, sends the upgrade request, and when the kubelet
/// switches protocols, joins the client's upgraded connection to it byte for byte. Any other
/// answer of the kubelet is passed on as it came.
async fn relay_upgrade(
    tls: Arc<rustls::ClientConfig>,
    kubelet: &Kubelet,
    path: &str,
    mut req: http::Request<hyper::body::Incoming>,
) -> Result<Response<Body>, StatusError> {
    let url = format!("{}{path}", kubelet.base());
    let fail = |e: String| StatusError::unknown(500, format!("error dialing backend: {e}"));
    let connect = tokio::net::TcpStream::connect((kubelet.host.as_str(), kubelet.port as u16));
    let tcp = tokio::time::timeout(outbound::DEFAULT_TIMEOUT, connect)
        .await
        .map_err(|_| fail(format!("dial tcp {}:{}: i/o timeout", kubelet.host, kubelet.port)))?
        .map_err(|e| fail(format!("dial tcp {}:{}: {e}", kubelet.host, kubelet.port)))?;
    let server_name = rustls::pki_types::ServerName::try_from(kubelet.host.clone())
        .map_err(|e| fail(format!("kubelet address {}: {e}", kubelet.host)))?;
    let stream = tokio_rustls::TlsConnector::from(tls)
        .connect(server_name, tcp)
        .await
        .map_err(|e| fail(format!("tls: {e}")))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .map_err(|e| fail(e.to_string()))?;
    tokio::spawn(async move {
        let _ = conn.with_upgrades().await;
    });
    let mut out = http::Request::builder().method(req.method()).uri(path);
    for (name, value) in req.headers() {
        if relayed(name) {
            out = out.header(name, value);
        }
    }
    let authority = if kubelet.host.contains(':') {
        format!("[{}]:{}", kubelet.host, kubelet.port)
    } else {
        format!("{}:{}", kubelet.host, kubelet.port)
    };
    let out = out
        .header(http::header::HOST, authority)
        .body(http_body_util::Empty::<Bytes>::new())
        .map_err(|e| StatusError::unknown(500, format!("failed to construct request for {url}, got {e}")))?;
    let mut answer = sender.send_request(out).await.map_err(|e| fail(e.to_string()))?;
    if answer.status() != http::StatusCode::SWITCHING_PROTOCOLS {
        // kube's proxy writes the backend's answer as it came.
        let (parts, body) = answer.into_parts();
        let body = http_body_util::Limited::new(body, MAX_ERROR_BODY)
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        let mut resp = Response::new(response::full(body));
        *resp.status_mut() = parts.status;
        if let Some(ct) = parts.headers.get(http::header::CONTENT_TYPE) {
            resp.headers_mut().insert(http::header::CONTENT_TYPE, ct.clone());
        }
        return Ok(resp);
    }
    let client_side = hyper::upgrade::on(&mut req);
    let kubelet_side = hyper::upgrade::on(&mut answer);
    tokio::spawn(async move {
        let (Ok(client), Ok(backend)) = tokio::join!(client_side, kubelet_side) else { return };
        let mut client = hyper_util::rt::TokioIo::new(client);
        let mut backend = hyper_util::rt::TokioIo::new(backend);
        if let Err(error) = tokio::io::copy_bidirectional(&mut client, &mut backend).await {
            tracing::debug!(%error, "relayed stream ended");
        }
    });
    let mut resp = Response::new(response::empty());
    *resp.status_mut() = http::StatusCode::SWITCHING_PROTOCOLS;
    for (name, value) in answer.headers() {
        if relayed(name) {
            resp.headers_mut().append(name, value.clone());
        }
    }
    Ok(resp)
}

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
            let host =
                if kubelet.host.contains(':') { format!("[{}]", kubelet.host) } else { kubelet.host.clone() };
            // The kubelet's own port goes through the kubelet client; another port is any
            // server on the node.
            if port.is_empty() || port == kubelet.port.to_string() {
                ("https", format!("{host}:{}", kubelet.port), true)
            } else {
                (scheme, format!("{host}:{port}"), false)
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
    let (body, _) = super::read_body(ctx, req).await?;
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
                    return Ok(if ip.contains(':') {
                        format!("[{ip}]:{port}")
                    } else {
                        format!("{ip}:{port}")
                    });
                }
            }
        }
    }
    Err(StatusError::service_unavailable(format!(
        "no endpoints available for service {}",
        apimachinery::status::quote(id)
    )))
}

/// kube's admission of a connect request (operation CONNECT): the options, as their kind,
/// pass the mutating and the validating plugins before anything is looked up, as kube's
/// connect handler admits them (webhooks and policies on `pods/exec` see them).
async fn admit_connect(
    ctx: &Ctx,
    rt: &ResourceType,
    kind: &str,
    mut options: Value,
) -> Result<(), StatusError> {
    if let Some(o) = options.as_object_mut() {
        o.insert("kind".into(), Value::from(kind));
        o.insert("apiVersion".into(), Value::from("v1"));
    }
    let info = &ctx.info;
    let mut req = admission::AdmissionRequest::new(
        admission::Operation::Connect,
        (rt.group, rt.version, rt.kind),
        rt.plural,
        &info.namespace,
        &info.name,
        ctx.user().clone(),
    )
    .with_kind("", "v1", kind)
    .with_subresource(&info.subresource)
    .with_object(options);
    crate::admit::mutate(ctx, &mut req).await?;
    crate::admit::validate(ctx, &req).await
}

/// The connect options of `pods/<sub>` from the query, as kube's JSON writes them (empty and
/// false members left out, `command` always there for exec).
fn connect_options(info: &apimachinery::RequestInfo, sub: &str, ports: &[i64]) -> Value {
    let flag = |k: &str| info.query_param(k).is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"));
    let mut o = serde_json::Map::new();
    match sub {
        "exec" | "attach" => {
            for k in ["stdin", "stdout", "stderr", "tty"] {
                if flag(k) {
                    o.insert(k.into(), Value::Bool(true));
                }
            }
            if let Some(c) = info.query_param("container").filter(|c| !c.is_empty()) {
                o.insert("container".into(), Value::from(c));
            }
            if sub == "exec" {
                let command: Vec<Value> = info.query_params("command").map(Value::from).collect();
                o.insert("command".into(), Value::Array(command));
            }
        }
        "portforward" => {
            if !ports.is_empty() {
                o.insert("ports".into(), Value::Array(ports.iter().map(|p| Value::from(*p)).collect()));
            }
        }
        _ => {
            let path = if info.parts.is_empty() {
                info.query_param("path").unwrap_or_default().to_string()
            } else {
                info.parts.join("/")
            };
            if !path.is_empty() {
                o.insert("path".into(), Value::from(path));
            }
        }
    }
    Value::Object(o)
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

/// The object `name` of `rt` in the request's namespace (kube's 404 when missing).
async fn get_object(ctx: &Ctx, rt: &ResourceType, name: &str) -> Result<Value, StatusError> {
    let ns = if rt.namespaced { ctx.info.namespace.as_str() } else { "" };
    let kv = ctx.state.objects.get_raw(rt, ns, name).await?;
    decode_kv(&kv).ok_or_else(|| StatusError::internal("stored object is not valid JSON"))
}

/// kube's `GetConnectionInfo`: the Node's preferred address and its kubelet's port.
async fn kubelet_of(ctx: &Ctx, node_name: &str) -> Result<Kubelet, StatusError> {
    let nodes =
        ctx.state.catalog.lookup("", "v1", "nodes").ok_or_else(|| StatusError::internal("no nodes"))?;
    let kv = ctx.state.objects.get_raw(nodes, "", node_name).await?;
    let node = decode_kv(&kv).ok_or_else(|| StatusError::internal("stored object is not valid JSON"))?;
    let defaults: Vec<String> = DEFAULT_ADDRESS_TYPES.iter().map(|t| t.to_string()).collect();
    let types = ctx.state.kubelet.as_ref().map(|k| &k.address_types).unwrap_or(&defaults);
    let host = preferred_address(&node, types)?;
    let port = node
        .pointer("/status/daemonEndpoints/kubeletEndpoint/Port")
        .and_then(Value::as_i64)
        .filter(|p| *p > 0)
        .unwrap_or(DEFAULT_KUBELET_PORT);
    Ok(Kubelet { host, port })
}

/// kube's `GetPreferredNodeAddress`, with its error text (`%v` of the addresses).
fn preferred_address(node: &Value, types: &[String]) -> Result<String, StatusError> {
    let addresses = node.pointer("/status/addresses").and_then(Value::as_array).cloned().unwrap_or_default();
    for t in types {
        if let Some(a) = addresses.iter().find(|a| str_at(a, "/type") == t) {
            return Ok(str_at(a, "/address").to_string());
        }
    }
    let known: Vec<String> =
        addresses.iter().map(|a| format!("{{{} {}}}", str_at(a, "/type"), str_at(a, "/address"))).collect();
    Err(StatusError::unknown(
        500,
        format!("no preferred addresses found; known addresses: [{}]", known.join(" ")),
    ))
}

/// kube's `validateContainer`: the named container must be one of the Pod's (init, regular or
/// ephemeral); none named is the only container, if there is only one.
fn pick_container(pod: &Value, given: &str) -> Result<String, StatusError> {
    let pod_name = str_at(pod, "/metadata/name");
    let names_in = |field: &str| -> Vec<String> {
        pod.pointer(&format!("/spec/{field}"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| str_at(c, "/name").to_string())
            .collect()
    };
    let containers = names_in("containers");
    if given.is_empty() {
        return match containers.len() {
            1 => Ok(containers[0].clone()),
            0 => Err(StatusError::bad_request(format!(
                "a container name must be specified for pod {pod_name}"
            ))),
            _ => {
                let mut all = names_in("initContainers");
                all.extend(containers);
                all.extend(names_in("ephemeralContainers"));
                Err(StatusError::bad_request(format!(
                    "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                    all.join(" ")
                )))
            }
        };
    }
    let known = ["initContainers", "containers", "ephemeralContainers"]
        .iter()
        .any(|f| names_in(f).iter().any(|n| n == given));
    if !known {
        return Err(StatusError::bad_request(format!("container {given} is not valid for pod {pod_name}")));
    }
    Ok(given.to_string())
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

/// Go's `strconv.ParseInt` of a query value, with kube's 400.
fn parse_int(v: &str) -> Result<i64, StatusError> {
    let digits = v.strip_prefix(['-', '+']).unwrap_or(v);
    let why = if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        "invalid syntax"
    } else {
        match v.parse::<i64>() {
            Ok(n) => return Ok(n),
            Err(_) => "value out of range",
        }
    };
    Err(StatusError::bad_request(format!(
        "strconv.ParseInt: parsing {}: {why}",
        apimachinery::status::quote(v)
    )))
}

/// PodLogOptions as kube decodes them from the query.
#[derive(Debug, Default, PartialEq)]
struct LogOptions {
    container: String,
    follow: bool,
    previous: bool,
    timestamps: bool,
    since_seconds: Option<i64>,
    since_time: Option<chrono::DateTime<chrono::Utc>>,
    tail_lines: Option<i64>,
    limit_bytes: Option<i64>,
    insecure_skip_tls_verify_backend: bool,
    stream: Option<String>,
}

impl LogOptions {
    fn from_query(info: &apimachinery::RequestInfo) -> Result<Self, StatusError> {
        // kube's query-to-bool conversion: absent, "0" or "false" (any case) is false.
        let flag =
            |k: &str| info.query_param(k).is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"));
        let int = |k: &str| info.query_param(k).map(parse_int).transpose();
        let since_time = match info.query_param("sinceTime") {
            None | Some("") => None,
            Some(v) => Some(
                chrono::DateTime::parse_from_rfc3339(v)
                    .map_err(|_| {
                        StatusError::bad_request(format!(
                            "parsing time {} as \"2006-01-02T15:04:05Z07:00\": cannot parse {} as an RFC 3339 time",
                            apimachinery::status::quote(v),
                            apimachinery::status::quote(v)
                        ))
                    })?
                    .with_timezone(&chrono::Utc),
            ),
        };
        Ok(Self {
            container: info.query_param("container").unwrap_or_default().to_string(),
            follow: flag("follow"),
            previous: flag("previous"),
            timestamps: flag("timestamps"),
            since_seconds: int("sinceSeconds")?,
            since_time,
            tail_lines: int("tailLines")?,
            limit_bytes: int("limitBytes")?,
            insecure_skip_tls_verify_backend: flag("insecureSkipTLSVerifyBackend"),
            stream: info.query_param("stream").map(str::to_string),
        })
    }

    /// kube's `ValidatePodLogOptions` (PodLogsQuerySplitStreams off, as kube 1.34's default).
    fn validate(&self, name: &str) -> Result<(), StatusError> {
        let mut causes = Vec::new();
        if let Some(n) = self.tail_lines.filter(|n| *n < 0) {
            causes.push(invalid_number("tailLines", n, "must be greater than or equal to 0"));
        }
        if let Some(n) = self.limit_bytes.filter(|n| *n < 1) {
            causes.push(invalid_number("limitBytes", n, "must be greater than 0"));
        }
        match (self.since_seconds, &self.since_time) {
            (Some(_), Some(_)) => {
                causes.push(forbidden("", "at most one of `sinceTime` or `sinceSeconds` may be specified"))
            }
            (Some(n), None) if n < 1 => {
                causes.push(invalid_number("sinceSeconds", n, "must be greater than 0"))
            }
            _ => {}
        }
        if self.stream.is_some() {
            causes.push(forbidden("stream", "may not be specified"));
        }
        if causes.is_empty() {
            return Ok(());
        }
        let kind = GroupKind { group: String::new(), kind: "PodLogOptions".into() };
        Err(StatusError::invalid(&kind, name, causes))
    }

    /// The kubelet's query, keys sorted as Go's `url.Values.Encode` writes them.
    fn kubelet_query(&self) -> String {
        let mut params: Vec<(&str, String)> = Vec::new();
        if self.follow {
            params.push(("follow", "true".into()));
        }
        if let Some(n) = self.limit_bytes {
            params.push(("limitBytes", n.to_string()));
        }
        if self.previous {
            params.push(("previous", "true".into()));
        }
        if let Some(n) = self.since_seconds {
            params.push(("sinceSeconds", n.to_string()));
        }
        if let Some(t) = &self.since_time {
            params.push(("sinceTime", t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)));
        }
        if let Some(n) = self.tail_lines {
            params.push(("tailLines", n.to_string()));
        }
        if self.timestamps {
            params.push(("timestamps", "true".into()));
        }
        if params.is_empty() {
            return String::new();
        }
        // The values are numbers, `true` and an RFC 3339 time in UTC: only `:` needs escaping.
        let pairs: Vec<String> =
            params.iter().map(|(k, v)| format!("{k}={}", v.replace(':', "%3A"))).collect();
        format!("?{}", pairs.join("&"))
    }
}

/// Whether a request asks to switch protocols (`Connection: Upgrade` with an `Upgrade`
/// header), as kube's `httpstream.IsUpgradeRequest`.
pub fn is_upgrade_request(headers: &http::HeaderMap) -> bool {
    let connection_upgrade = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("upgrade")));
    connection_upgrade && headers.contains_key(http::header::UPGRADE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn containers_are_picked_as_kube_picks_them() {
        let pod = json!({"metadata": {"name": "p"}, "spec": {
            "initContainers": [{"name": "init"}],
            "containers": [{"name": "a"}, {"name": "b"}],
            "ephemeralContainers": [{"name": "debug"}]}});
        assert_eq!(
            pick_container(&pod, "").unwrap_err().message,
            "a container name must be specified for pod p, choose one of: [init a b debug]"
        );
        assert_eq!(pick_container(&pod, "debug").unwrap(), "debug");
        assert_eq!(pick_container(&pod, "init").unwrap(), "init");
        assert_eq!(pick_container(&pod, "c").unwrap_err().message, "container c is not valid for pod p");
        let one = json!({"metadata": {"name": "q"}, "spec": {"containers": [{"name": "only"}]}});
        assert_eq!(pick_container(&one, "").unwrap(), "only");
        let none = json!({"metadata": {"name": "r"}, "spec": {}});
        assert_eq!(
            pick_container(&none, "").unwrap_err().message,
            "a container name must be specified for pod r"
        );
    }

    #[test]
    fn log_options_are_validated_and_passed_on_as_kube_does() {
        let info =
            |q: &str| apimachinery::RequestInfo::new("GET", "/api/v1/namespaces/d/pods/p/log", Some(q));
        let opts = LogOptions::from_query(&info(
            "follow=1&timestamps=true&previous=false&tailLines=10&limitBytes=5&sinceTime=2026-01-02T03:04:05%2B01:00",
        ))
        .unwrap();
        assert!(opts.follow && opts.timestamps && !opts.previous);
        assert_eq!(
            opts.kubelet_query(),
            "?follow=true&limitBytes=5&sinceTime=2026-01-02T02%3A04%3A05Z&tailLines=10&timestamps=true"
        );
        opts.validate("p").unwrap();

        let err = LogOptions::from_query(&info("tailLines=-1&limitBytes=0&sinceSeconds=0&stream=Stdout"))
            .unwrap()
            .validate("p")
            .unwrap_err();
        assert_eq!(err.code, 422);
        assert_eq!(
            err.message,
            "PodLogOptions \"p\" is invalid: [tailLines: Invalid value: -1: must be greater than or equal to 0, \
             limitBytes: Invalid value: 0: must be greater than 0, sinceSeconds: Invalid value: 0: must be greater than 0, \
             stream: Forbidden: may not be specified]"
        );
        let both = LogOptions::from_query(&info("sinceSeconds=5&sinceTime=2026-01-02T03:04:05Z")).unwrap();
        assert!(both
            .validate("p")
            .unwrap_err()
            .message
            .contains("at most one of `sinceTime` or `sinceSeconds`"));
        let bad = LogOptions::from_query(&info("tailLines=ten")).unwrap_err();
        assert_eq!(
            (bad.code, bad.message.as_str()),
            (400, "strconv.ParseInt: parsing \"ten\": invalid syntax")
        );
    }

    #[test]
    fn node_addresses_are_preferred_in_order() {
        let node = json!({"status": {"addresses": [
            {"type": "InternalIP", "address": "10.0.0.5"}, {"type": "Hostname", "address": "n1"}]}});
        let types = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(preferred_address(&node, &types(&DEFAULT_ADDRESS_TYPES)).unwrap(), "n1");
        assert_eq!(preferred_address(&node, &types(&["InternalIP", "Hostname"])).unwrap(), "10.0.0.5");
        let err = preferred_address(&node, &types(&["ExternalIP"])).unwrap_err();
        assert_eq!(
            (err.code, err.message.as_str()),
            (500, "no preferred addresses found; known addresses: [{InternalIP 10.0.0.5} {Hostname n1}]")
        );
    }

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

    #[test]
    fn upgrade_requests_are_recognised() {
        let mut h = http::HeaderMap::new();
        assert!(!is_upgrade_request(&h));
        h.insert(http::header::CONNECTION, http::HeaderValue::from_static("keep-alive, Upgrade"));
        assert!(!is_upgrade_request(&h));
        h.insert(http::header::UPGRADE, http::HeaderValue::from_static("websocket"));
        assert!(is_upgrade_request(&h));
    }
}
