//! The gRPC plumbing towards etcd, over the generated clients of the `etcd-proto` crate: the
//! channel (endpoints balanced, TLS, keep-alive, connect timeout), the `hasleader` metadata on
//! every request, transaction operations, and watch streams.
//!
//! It does what the etcd-client crate did for kubeward, and no more: etcd-client's build script
//! needs `protoc`, and the part kubeward uses is this small.

use std::time::Duration;

use etcd_proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use etcd_proto::etcdserverpb::kv_client::KvClient;
use etcd_proto::etcdserverpb::maintenance_client::MaintenanceClient;
use etcd_proto::etcdserverpb::request_op::Request as Op;
use etcd_proto::etcdserverpb::watch_client::WatchClient;
use etcd_proto::etcdserverpb::watch_request::RequestUnion;
use etcd_proto::etcdserverpb::{
    Compare, DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, WatchCreateRequest, WatchRequest,
    WatchResponse,
};
use futures::channel::mpsc;
use tonic::metadata::AsciiMetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use super::{EtcdOptions, EtcdTls};

/// The largest gRPC message accepted from etcd (etcd itself sends up to 2 GiB); a list of many
/// large objects can pass tonic's default of 4 MiB.
const MAX_MESSAGE: usize = i32::MAX as usize;

/// HTTP/2 keep-alive pings, so a watch on a silently dead connection fails instead of hanging.
/// etcd refuses pings more often than every 5 s (`--grpc-keepalive-min-time`).
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// Adds `hasleader: true` to every request, as etcd's Go client does with
/// `clientv3.WithRequireLeader`: a member cut off from its cluster then fails requests and
/// watches (`etcdserver: no leader`) instead of serving stale reads or going silent.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RequireLeader;

impl tonic::service::Interceptor for RequireLeader {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        request.metadata_mut().insert("hasleader", AsciiMetadataValue::from_static("true"));
        Ok(request)
    }
}

pub(crate) type Kv = KvClient<InterceptedService<Channel, RequireLeader>>;
pub(crate) type Watch = WatchClient<InterceptedService<Channel, RequireLeader>>;
/// Without `hasleader`: a member's status must answer while it has no leader, to say so.
pub(crate) type Maintenance = MaintenanceClient<Channel>;

/// The KV, Watch and Maintenance clients over one channel balanced across `endpoints`. Connections are made
/// lazily, on the first request; an endpoint that cannot be parsed, or TLS that cannot be set
/// up, is an error here.
pub(crate) fn connect(
    endpoints: &[String],
    options: &EtcdOptions,
) -> Result<(Kv, Watch, Maintenance), String> {
    let tls = options.tls.as_ref().map(tls_config).transpose()?;
    let endpoints =
        endpoints.iter().map(|url| endpoint(url, tls.as_ref(), options)).collect::<Result<Vec<_>, _>>()?;
    let channel = Channel::balance_list(endpoints.into_iter());
    let kv = KvClient::with_interceptor(channel.clone(), RequireLeader)
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE);
    let watch =
        WatchClient::with_interceptor(channel.clone(), RequireLeader).max_decoding_message_size(MAX_MESSAGE);
    Ok((kv, watch, MaintenanceClient::new(channel)))
}

/// One endpoint: `host:port` takes `https` with TLS and `http` without; an explicit scheme must
/// agree with the TLS settings.
fn endpoint(url: &str, tls: Option<&ClientTlsConfig>, options: &EtcdOptions) -> Result<Endpoint, String> {
    let url = match (url.split_once("://").map(|(scheme, _)| scheme), tls) {
        (Some("https"), _) | (Some("http"), None) => url.to_owned(),
        (Some("http"), Some(_)) => return Err(format!("`{url}`: TLS is configured, so use https")),
        (Some(other), _) => return Err(format!("`{url}`: unsupported scheme `{other}`")),
        (None, Some(_)) => format!("https://{url}"),
        (None, None) => format!("http://{url}"),
    };
    let mut endpoint = Endpoint::from_shared(url.clone())
        .map_err(|err| format!("`{url}`: {err}"))?
        .connect_timeout(options.dial_timeout)
        .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_timeout(KEEPALIVE_TIMEOUT)
        .keep_alive_while_idle(true);
    if url.starts_with("https://") {
        let config = tls.cloned().unwrap_or_default();
        endpoint = endpoint.tls_config(config).map_err(|err| format!("`{url}`: TLS: {err}"))?;
    }
    Ok(endpoint)
}

/// Reads the TLS files.
pub(crate) fn tls_config(tls: &EtcdTls) -> Result<ClientTlsConfig, String> {
    let read = |what: &str, path: &std::path::Path| {
        std::fs::read(path).map_err(|err| format!("cannot read the etcd {what} `{}`: {err}", path.display()))
    };
    let mut config =
        ClientTlsConfig::new().ca_certificate(Certificate::from_pem(read("CA file", &tls.ca_file)?));
    match (&tls.cert_file, &tls.key_file) {
        (Some(cert), Some(key)) => {
            config = config
                .identity(Identity::from_pem(read("client certificate", cert)?, read("client key", key)?));
        }
        (None, None) => {}
        _ => return Err("the etcd client certificate and key must be given together".into()),
    }
    Ok(config)
}

/// A range read of `[key, end)`; an empty `end` reads the one key.
pub(crate) fn range(key: Vec<u8>, end: Vec<u8>) -> RangeRequest {
    RangeRequest { key, range_end: end, ..RangeRequest::default() }
}

/// A transaction compare of one key's create or mod revision.
pub(crate) fn compare(key: &[u8], target: CompareTarget, result: CompareResult, revision: i64) -> Compare {
    let target_union = match target {
        CompareTarget::Mod => TargetUnion::ModRevision(revision),
        _ => TargetUnion::CreateRevision(revision),
    };
    Compare {
        result: result.into(),
        target: target.into(),
        key: key.to_vec(),
        range_end: Vec::new(),
        target_union: Some(target_union),
    }
}

/// A transaction operation that puts `value` at `key` (`prev_kv`: answer the value replaced).
pub(crate) fn put(key: Vec<u8>, value: Vec<u8>, prev_kv: bool) -> RequestOp {
    RequestOp { request: Some(Op::RequestPut(PutRequest { key, value, prev_kv, ..PutRequest::default() })) }
}

/// A transaction operation that deletes `key`, answering the deleted value.
pub(crate) fn delete(key: Vec<u8>) -> RequestOp {
    let delete = DeleteRangeRequest { key, prev_kv: true, ..DeleteRangeRequest::default() };
    RequestOp { request: Some(Op::RequestDeleteRange(delete)) }
}

/// A transaction operation that reads `key`.
pub(crate) fn get(key: Vec<u8>) -> RequestOp {
    RequestOp { request: Some(Op::RequestRange(range(key, Vec::new()))) }
}

/// One etcd watch: its gRPC stream, open until this is dropped.
pub(crate) struct WatchStream {
    /// Keeps the request half open: etcd watches while it is, and dropping it (with the
    /// response stream) ends the gRPC stream, which cancels the watch in etcd.
    _requests: mpsc::UnboundedSender<WatchRequest>,
    responses: tonic::Streaming<WatchResponse>,
}

impl WatchStream {
    /// Opens a gRPC watch stream and asks etcd for one watch on it.
    pub(crate) async fn open(
        client: &Watch,
        create: WatchCreateRequest,
    ) -> Result<WatchStream, tonic::Status> {
        let (requests, receiver) = mpsc::unbounded();
        requests
            .unbounded_send(WatchRequest { request_union: Some(RequestUnion::CreateRequest(create)) })
            .map_err(|err| tonic::Status::internal(format!("queueing the watch request: {err}")))?;
        let mut client = client.clone();
        let responses = client.watch(receiver).await?.into_inner();
        Ok(WatchStream { _requests: requests, responses })
    }

    /// The next response; `None` when etcd closed the stream.
    pub(crate) async fn message(&mut self) -> Result<Option<WatchResponse>, tonic::Status> {
        self.responses.message().await
    }
}
