//! The HTTPS listener: rustls (TLS 1.2/1.3, ALPN h2 and http/1.1, client certificates
//! requested but verified per request by the x509 authenticator), one task per
//! connection within the connection caps; handshake, first-request, header-read and idle
//! timeouts and HTTP/2 keepalive pings, so slow or silent clients cannot pin resources.

use crate::context::ConnInfo;
use crate::filters;
use crate::state::ApiState;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// kube's `ReadHeaderTimeout` (32 s, just shy of the request timeout's upper bound).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(32);

pub use crate::cert_files::{load_certs, load_key, TlsSetupError};

/// The TLS cipher suites the server offers, with the names kube's `--tls-cipher-suites`
/// uses (`TLS_AES_128_GCM_SHA256`, `TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256`).
pub fn cipher_suite_names() -> Vec<String> {
    rustls::crypto::ring::default_provider()
        .cipher_suites
        .iter()
        .map(|s| {
            let name = format!("{:?}", s.suite());
            match name.strip_prefix("TLS13_") {
                Some(rest) => format!("TLS_{rest}"),
                None => name,
            }
        })
        .collect()
}

/// The TLS configuration for a certificate and key file, read once.
pub fn tls_config(
    cert_file: &str,
    key_file: &str,
    client_verifier: Option<Arc<dyn rustls::server::danger::ClientCertVerifier>>,
) -> Result<rustls::ServerConfig, TlsSetupError> {
    tls_config_with(crate::cert_files::ServingCert::load(cert_file, key_file)?, client_verifier)
}

/// The TLS configuration serving whatever certificate `serving` holds at each handshake.
pub fn tls_config_with(
    serving: Arc<crate::cert_files::ServingCert>,
    client_verifier: Option<Arc<dyn rustls::server::danger::ClientCertVerifier>>,
) -> Result<rustls::ServerConfig, TlsSetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?;
    let builder = match client_verifier {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    };
    let mut cfg = builder.with_cert_resolver(serving);
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(cfg)
}

/// Accepts connections until the listener fails; each connection runs on its own task,
/// within the connection caps (per client address and in total; over them the connection
/// is closed at once).
pub async fn serve(listener: TcpListener, tls: Arc<rustls::ServerConfig>, state: Arc<ApiState>) {
    let acceptor = TlsAcceptor::from(tls);
    loop {
        let (tcp, remote) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let slot = match state.limits.connections.take(remote.ip()) {
            Ok(slot) => slot,
            Err(over) => {
                tracing::info!(%remote, ?over, "connection refused: too many connections");
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let state = state.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(%remote, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%remote, "TLS handshake timed out");
                    return;
                }
            };
            serve_connection(tls, remote, state).await;
        });
    }
}

/// Serves one TLS connection until it ends, is idle too long, or sends no first request in
/// time.
async fn serve_connection(
    tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    remote: std::net::SocketAddr,
    state: Arc<ApiState>,
) {
    let peer_certificates = tls.get_ref().1.peer_certificates().map(|c| c.to_vec());
    let conn = Arc::new(ConnInfo { remote, peer_certificates });
    let activity = Arc::new(Activity::new());
    let service = {
        let activity = activity.clone();
        let state = state.clone();
        service_fn(move |req| {
            let state = state.clone();
            let conn = conn.clone();
            let busy = activity.begin();
            // Boxed: hyper keeps a stream's service future inline in the stream's task until
            // the stream ends, so an unboxed handler (the whole chain's state, several KiB)
            // would stay allocated for as long as a watch streams; boxed, it is freed once
            // the answer's head is out.
            Box::pin(async move {
                let (resp, seat) = filters::handle(state, conn, req).await;
                // The connection is busy, and the seat taken, until the answer is sent.
                Ok::<_, std::convert::Infallible>(crate::response::hold(resp, (busy, seat)))
            })
        })
    };
    let limits = &state.limits.config;
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(250)
        .keep_alive_interval(Some(limits.keepalive_interval))
        .keep_alive_timeout(limits.keepalive_timeout);
    // With upgrades: a Pod's exec, attach and port-forward streams switch protocols (rest/connect.rs).
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
    tokio::pin!(connection);
    // The timer lives on a task of its own, so serving a request polls no timer.
    let idle = Arc::new(tokio::sync::Notify::new());
    let timeouts = (limits.first_request_timeout, limits.idle_timeout);
    tokio::spawn(watchdog(Arc::downgrade(&activity), idle.clone(), timeouts));
    tokio::select! {
        biased;
        res = connection.as_mut() => {
            if let Err(e) = res {
                tracing::debug!(%remote, error = %e, "connection closed with error");
            }
            return;
        }
        _ = idle.notified() => {}
    }
    tracing::debug!(%remote, "closing an idle connection");
    connection.as_mut().graceful_shutdown();
    // Nothing is in flight: the shutdown is quick; a peer that stalls it is dropped.
    let _ = tokio::time::timeout(HANDSHAKE_TIMEOUT, connection.as_mut()).await;
}

/// Wakes the connection's task once it has been silent or idle too long; ends when the
/// connection does.
async fn watchdog(
    activity: std::sync::Weak<Activity>,
    idle: Arc<tokio::sync::Notify>,
    timeouts: (Duration, Duration),
) {
    loop {
        let Some(wait) = activity.upgrade().map(|a| a.time_left(timeouts.0, timeouts.1)) else { return };
        if wait.is_zero() {
            idle.notify_one();
            return;
        }
        tokio::time::sleep(wait).await;
    }
}

/// What a connection is doing: requests in flight (until their answers are sent), and
/// since when it has been idle.
struct Activity {
    started: Instant,
    active: AtomicUsize,
    /// Milliseconds from `started` to the last change of `active`.
    changed: AtomicU64,
    served: AtomicBool,
}

/// One request in flight on a connection.
struct Busy(Arc<Activity>);

impl Activity {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            active: AtomicUsize::new(0),
            changed: AtomicU64::new(0),
            served: AtomicBool::new(false),
        }
    }

    fn begin(self: &Arc<Self>) -> Busy {
        self.served.store(true, Ordering::Relaxed);
        self.active.fetch_add(1, Ordering::SeqCst);
        self.touch();
        Busy(self.clone())
    }

    fn touch(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.changed.store(ms, Ordering::Relaxed);
    }

    /// How long until the connection should close: before its first request, the
    /// first-request timeout from the handshake; after, the idle timeout from the last
    /// request's end (never while a request is in flight). Zero: close now.
    fn time_left(&self, first: Duration, idle: Duration) -> Duration {
        let now = self.started.elapsed();
        if !self.served.load(Ordering::Relaxed) {
            return first.saturating_sub(now);
        }
        if self.active.load(Ordering::SeqCst) > 0 {
            return idle;
        }
        let since = Duration::from_millis(self.changed.load(Ordering::Relaxed));
        (since + idle).saturating_sub(now)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
        self.0.touch();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_close_when_silent_or_idle_never_while_busy() {
        let (first, idle) = (Duration::from_millis(200), Duration::from_millis(400));
        let a = Arc::new(Activity::new());
        // Before any request: the first-request timeout from the handshake.
        assert!(a.time_left(first, idle) <= first);
        std::thread::sleep(Duration::from_millis(250));
        assert!(a.time_left(first, idle).is_zero(), "silent past the first-request timeout");
        let busy = a.begin();
        // A request in flight keeps the connection, however long it takes.
        std::thread::sleep(Duration::from_millis(450));
        assert_eq!(a.time_left(first, idle), idle);
        drop(busy);
        // Idle time counts from the end of the last request.
        let left = a.time_left(first, idle);
        assert!(left > Duration::from_millis(300) && left <= idle, "{left:?}");
        std::thread::sleep(Duration::from_millis(450));
        assert!(a.time_left(first, idle).is_zero(), "idle past the idle timeout");
    }

    #[test]
    fn offered_suites_carry_kube_names() {
        let suites = cipher_suite_names();
        assert!(suites.iter().any(|s| s == "TLS_AES_128_GCM_SHA256"), "{suites:?}");
        assert!(suites.iter().any(|s| s == "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"), "{suites:?}");
    }
}
