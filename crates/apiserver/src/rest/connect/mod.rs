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

mod log;
mod proxy;
mod stream;

pub use log::log;
pub use proxy::proxy;
pub use stream::stream;

use crate::context::Ctx;
use crate::objects::decode_kv;
use apimachinery::StatusError;
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
        format!("https://{}", join_host_port(&self.host, &self.port.to_string()))
    }
}

/// Go's `net.JoinHostPort`: `host:port`, an IPv6 host in brackets.
fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
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
    let mut o = serde_json::Map::new();
    match sub {
        "exec" | "attach" => {
            for k in ["stdin", "stdout", "stderr", "tty"] {
                if info.query_bool(k) {
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
    fn upgrade_requests_are_recognised() {
        let mut h = http::HeaderMap::new();
        assert!(!is_upgrade_request(&h));
        h.insert(http::header::CONNECTION, http::HeaderValue::from_static("keep-alive, Upgrade"));
        assert!(!is_upgrade_request(&h));
        h.insert(http::header::UPGRADE, http::HeaderValue::from_static("websocket"));
        assert!(is_upgrade_request(&h));
    }
}
