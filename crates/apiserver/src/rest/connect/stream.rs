//! `pods/<name>/exec`, `attach` and `portforward`: admitted as CONNECT, checked as kube
//! checks them, then the upgrade relayed to the kubelet and the two connections joined (kube's
//! upgrade-aware proxy, without its WebSocket to SPDY translation).

use super::{
    admit_connect, connect_options, get_object, is_upgrade_request, kubelet_of, pick_container, str_at,
};
use super::{join_host_port, Kubelet, MAX_ERROR_BODY};
use crate::context::Ctx;
use crate::response::{self, Body};
use apimachinery::request_info::parse_int64;
use apimachinery::StatusError;
use bytes::Bytes;
use http::Response;
use http_body_util::BodyExt;
use registry::ResourceType;
use std::sync::Arc;

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
                ports.push(parse_int64(p.trim())?);
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
    let mut pairs: Vec<String> = Vec::new();
    if info.subresource == "exec" {
        for c in info.query_params("command") {
            pairs.push(format!("command={}", query_escape(c)));
        }
    }
    for (key, param) in [("error", "stderr"), ("input", "stdin"), ("output", "stdout"), ("tty", "tty")] {
        if info.query_bool(param) {
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
    let authority = join_host_port(&kubelet.host, &kubelet.port.to_string());
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
