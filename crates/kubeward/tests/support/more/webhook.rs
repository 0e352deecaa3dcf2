//! A small HTTPS webhook server for the tests: admission webhooks (AdmissionReview in,
//! AdmissionReview out) and token webhooks (TokenReview), one thread per connection.

use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// What a webhook answers: the whole response body for the whole request body.
type Answer = Arc<dyn Fn(&Value) -> Value + Send + Sync>;

/// A small HTTPS server on 127.0.0.1 answering JSON POSTs (keep-alive, HTTP/1.1), for
/// admission webhooks ([`Webhook::start`]) and token webhooks ([`Webhook::start_raw`]).
pub struct Webhook {
    pub url: String,
    /// The CA that signed the webhook's serving certificate (for `caBundle`).
    pub ca_pem: String,
    /// Every request body (for admission: its `request` object), in order.
    pub calls: Arc<Mutex<Vec<Value>>>,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl Webhook {
    /// An admission webhook: `decide` gets the AdmissionReview's `request` and returns the
    /// `response` fields besides `uid`.
    pub fn start(path: &str, decide: fn(&Value) -> Value) -> Webhook {
        Self::start_for(path, decide, &[])
    }

    /// [`Webhook::start`] with a serving certificate also valid for `names` (the
    /// `<service>.<namespace>.svc` name a Service-backed webhook is called under).
    pub fn start_for(path: &str, decide: fn(&Value) -> Value, names: &[&str]) -> Webhook {
        Self::serve(
            path,
            Arc::new(move |review: &Value| {
                let request = review.get("request").cloned().unwrap_or(Value::Null);
                let mut response = decide(&request);
                response["uid"] = request.get("uid").cloned().unwrap_or(Value::Null);
                serde_json::json!({
                    "apiVersion": review.get("apiVersion").cloned().unwrap_or_else(|| "admission.k8s.io/v1".into()),
                    "kind": "AdmissionReview",
                    "response": response,
                })
            }),
            true,
            names,
        )
    }

    /// Any JSON webhook: `answer` gets the request body and returns the response body.
    pub fn start_raw(path: &str, answer: fn(&Value) -> Value) -> Webhook {
        Self::serve(path, Arc::new(answer), false, &[])
    }

    fn serve(path: &str, answer: Answer, admission: bool, names: &[&str]) -> Webhook {
        let ca = pki::Ca::generate("e2e-webhook-ca").expect("webhook CA");
        let mut sans = vec!["127.0.0.1".to_string()];
        sans.extend(names.iter().map(|n| n.to_string()));
        let serving = ca.issue_serving("e2e-webhook", &sans).expect("serving cert");
        let certs: Vec<_> = rustls_pemfile::certs(&mut serving.cert_pem.as_bytes())
            .collect::<Result<_, _>>()
            .expect("cert pem");
        let key =
            rustls_pemfile::private_key(&mut serving.key_pem.as_bytes()).expect("key pem").expect("a key");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("server config");
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind webhook");
        let port = listener.local_addr().expect("addr").port();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (calls2, stop2) = (calls.clone(), stop.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(tcp) = conn else { continue };
                let (config, calls, answer, stop) =
                    (config.clone(), calls2.clone(), answer.clone(), stop2.clone());
                thread::spawn(move || {
                    let _ = serve_connection(config, tcp, &*answer, admission, &calls, &stop);
                });
            }
        });
        Webhook { url: format!("https://127.0.0.1:{port}{path}"), ca_pem: ca.cert_pem, calls, stop, port }
    }

    pub fn call_count(&self) -> usize {
        self.calls.lock().map(|c| c.len()).unwrap_or(0)
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Serves requests on one connection until the peer closes it or the webhook stops.
fn serve_connection(
    config: Arc<rustls::ServerConfig>,
    tcp: std::net::TcpStream,
    answer: &(dyn Fn(&Value) -> Value + Send + Sync),
    admission: bool,
    calls: &Mutex<Vec<Value>>,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    tcp.set_read_timeout(Some(Duration::from_millis(200)))?;
    let conn = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        // One request: headers, then Content-Length bytes of body.
        let (head_end, length) = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                break (i + 4, length);
            }
            match tls.read(&mut chunk) {
                Ok(0) => return Ok(()),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) =>
                {
                    if stop.load(Ordering::SeqCst) {
                        return Ok(());
                    }
                }
                Err(e) => return Err(e),
            }
        };
        while buf.len() < head_end + length {
            match tls.read(&mut chunk) {
                Ok(0) => return Ok(()),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(e) => return Err(e),
            }
        }
        // A stopped webhook answers nothing more, also on connections a client keeps alive.
        if stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        let request: Value = serde_json::from_slice(&buf[head_end..head_end + length]).unwrap_or(Value::Null);
        buf.drain(..head_end + length);
        let body = answer(&request).to_string();
        if let Ok(mut c) = calls.lock() {
            c.push(if admission { request.get("request").cloned().unwrap_or(Value::Null) } else { request });
        }
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        tls.write_all(head.as_bytes())?;
        tls.write_all(body.as_bytes())?;
        tls.flush()?;
    }
}
