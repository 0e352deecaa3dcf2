//! The health probe behind ComponentStatus, as kube's `componentstatus.HttpServer` does it:
//! `GET https://<addr>/healthz` with kube's prober (no certificate verification, as kube's
//! `InsecureSkipVerify`; 20 s timeout; body read up to 10 KiB), turned into a `Healthy`
//! condition with the texts kube's HTTP prober and Go's HTTP client give.
//!
//! Nothing is sent but the request line and kube-probe's headers: no credential goes out.

use http_body_util::{BodyExt, Empty};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, IpAddr, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// kube's `probeTimeOut` for component probes.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(20);
/// kube's prober reads at most this much of a body (`maxRespBodyLength`).
const MAX_BODY: usize = 10 << 10;
/// The User-Agent of kube's prober at kubeward's API level.
const USER_AGENT: &str = "kube-probe/1.33";

/// The `Healthy` condition of the component serving HTTPS at `addr`.
pub async fn healthy_condition(addr: SocketAddr, timeout: Duration) -> Value {
    let url = format!("https://{addr}/healthz");
    let (status, message) = match tokio::time::timeout(timeout, get(addr)).await {
        Ok(Ok((code, body))) => match code {
            200..=299 => ("True", body),
            // kube's prober: a redirect it does not follow is a Warning, which the
            // condition shows as Unknown.
            300..=399 => ("Unknown", format!("Probe terminated redirects, Response body: {body}")),
            _ => ("False", format!("HTTP probe failed with statuscode: {code}")),
        },
        Ok(Err(e)) => ("False", format!("Get {}: {e}", apimachinery::quote::go_quote(&url))),
        Err(_) => (
            "False",
            format!(
                "Get {}: context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
                apimachinery::quote::go_quote(&url)
            ),
        ),
    };
    json!({"type": "Healthy", "status": status, "message": message})
}

/// One GET of `/healthz` over TLS: the status code and the body (cut at [`MAX_BODY`]), or
/// the error as Go's HTTP client words it (without the `Get "<url>": ` prefix).
async fn get(addr: SocketAddr) -> Result<(u16, String), String> {
    let tcp = tokio::net::TcpStream::connect(addr).await.map_err(|e| dial_error(addr, &e))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls_config().map_err(|e| e.to_string())?));
    let name = ServerName::IpAddress(IpAddr::from(addr.ip()));
    let tls = connector.connect(name, tcp).await.map_err(|e| tls_error(&e))?;
    let io = hyper_util::rt::TokioIo::new(tls);
    let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Empty<bytes::Bytes>>(io)
        .await
        .map_err(|e| e.to_string())?;
    let driver = tokio::spawn(conn);
    let request = http::Request::get("/healthz")
        .header(http::header::HOST, addr.to_string())
        .header(http::header::USER_AGENT, USER_AGENT)
        .header(http::header::ACCEPT, "*/*")
        .body(Empty::new())
        .map_err(|e| e.to_string())?;
    let result = async {
        let resp = sender.send_request(request).await.map_err(|e| e.to_string())?;
        let code = resp.status().as_u16();
        // A body past the limit is cut, as kube's prober does (not an error).
        let mut body = Vec::new();
        let mut stream = resp.into_body();
        while let Some(frame) = stream.frame().await {
            let Ok(frame) = frame else { break };
            if let Ok(data) = frame.into_data() {
                body.extend_from_slice(&data);
            }
            if body.len() >= MAX_BODY {
                body.truncate(MAX_BODY);
                break;
            }
        }
        Ok((code, String::from_utf8_lossy(&body).into_owned()))
    }
    .await;
    driver.abort();
    result
}

/// Go's `dial tcp <addr>: connect: <errno text>`.
fn dial_error(addr: SocketAddr, e: &std::io::Error) -> String {
    let text = match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
        std::io::ErrorKind::TimedOut => "connection timed out".to_string(),
        std::io::ErrorKind::HostUnreachable => "no route to host".to_string(),
        std::io::ErrorKind::NetworkUnreachable => "network is unreachable".to_string(),
        _ => e.to_string(),
    };
    format!("dial tcp {addr}: connect: {text}")
}

/// A handshake failure in Go's words where they are known (a plain HTTP server answering).
fn tls_error(e: &std::io::Error) -> String {
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    match inner {
        Some(rustls::Error::InvalidMessage(_)) => {
            "tls: first record does not look like a TLS handshake".into()
        }
        Some(other) => format!("tls: {other}"),
        None => e.to_string(),
    }
}

fn tls_config() -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(AnyServerCertificate(provider.clone()));
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(config)
}

/// kube probes components with `InsecureSkipVerify`: any certificate is accepted, while the
/// handshake's signatures are still checked against the certificate presented (as Go does).
#[derive(Debug)]
struct AnyServerCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyServerCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn free_port() -> SocketAddr {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    }

    /// A one-shot HTTPS server answering `response` (raw HTTP) to the first request.
    async fn serve_once(response: &'static str) -> SocketAddr {
        let ca = pki::Ca::generate("probe-test").unwrap();
        let issued = ca.issue_serving("scheduler", &["127.0.0.1".to_string()]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
        std::fs::write(&cert, &issued.cert_pem).unwrap();
        std::fs::write(&key, &issued.key_pem).unwrap();
        let config = crate::server::tls_config(cert.to_str().unwrap(), key.to_str().unwrap(), None).unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut tls = acceptor.accept(tcp).await.unwrap();
            let mut buf = vec![0u8; 4096];
            let n = tls.read(&mut buf).await.unwrap();
            let head = String::from_utf8_lossy(&buf[..n]).to_string();
            assert!(head.starts_with("GET /healthz HTTP/1.1\r\n"), "{head}");
            assert!(head.contains("user-agent: kube-probe/1.33\r\n"), "{head}");
            tls.write_all(response.as_bytes()).await.unwrap();
            tls.shutdown().await.ok();
        });
        addr
    }

    #[tokio::test]
    async fn nothing_listening_is_unhealthy_with_gos_dial_error() {
        let addr = free_port();
        let c = healthy_condition(addr, PROBE_TIMEOUT).await;
        assert_eq!(
            c,
            json!({"type": "Healthy", "status": "False",
                "message": format!("Get \"https://{addr}/healthz\": dial tcp {addr}: connect: connection refused")})
        );
    }

    #[tokio::test]
    async fn a_healthy_component_answers_ok() {
        let addr = serve_once("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok").await;
        let c = healthy_condition(addr, PROBE_TIMEOUT).await;
        assert_eq!(c, json!({"type": "Healthy", "status": "True", "message": "ok"}));
    }

    #[tokio::test]
    async fn an_error_status_is_unhealthy_without_the_body() {
        let addr = serve_once(
            "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 6\r\nConnection: close\r\n\r\nsecret",
        )
        .await;
        let c = healthy_condition(addr, PROBE_TIMEOUT).await;
        assert_eq!(
            c,
            json!({"type": "Healthy", "status": "False", "message": "HTTP probe failed with statuscode: 500"})
        );
    }

    #[tokio::test]
    async fn plain_http_and_silence_have_gos_texts() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            tcp.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await.ok();
            // The second connection gets no answer at all.
            let (_silent, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        let c = healthy_condition(addr, PROBE_TIMEOUT).await;
        assert_eq!(
            c["message"],
            format!("Get \"https://{addr}/healthz\": tls: first record does not look like a TLS handshake")
        );
        let c = healthy_condition(addr, Duration::from_millis(300)).await;
        assert_eq!(c["status"], "False");
        assert_eq!(
            c["message"],
            format!(
                "Get \"https://{addr}/healthz\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
            )
        );
    }
}
