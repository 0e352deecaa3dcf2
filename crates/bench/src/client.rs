//! A small HTTP client over hyper's connection API: one connection per load client, over TLS
//! (kubeward, the bare server) or cleartext HTTP/2 (etcd's gRPC port).

use crate::tls::Proto;
use crate::BenchError;
use bytes::Bytes;
use http::{header, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpStream;

/// Where and how to connect.
#[derive(Clone)]
pub struct Target {
    pub addr: SocketAddr,
    /// `None` means cleartext (HTTP/2 with prior knowledge when `proto` is H2).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    pub proto: Proto,
    /// Sent as `Authorization: Bearer ...` on every request when set.
    pub bearer: Option<String>,
}

impl Target {
    /// Parses `https://127.0.0.1:PORT` or `http://127.0.0.1:PORT` (loopback only: the harness never
    /// sends load anywhere else).
    pub fn parse_addr(url: &str) -> Result<SocketAddr, BenchError> {
        let rest = url.trim_start_matches("https://").trim_start_matches("http://");
        let hostport = rest.split('/').next().unwrap_or(rest).replace("localhost", "127.0.0.1");
        let addr: SocketAddr = hostport
            .parse()
            .map_err(|e| BenchError::Decode { what: format!("address {url}"), detail: format!("{e}") })?;
        if !addr.ip().is_loopback() {
            return Err(BenchError::Decode {
                what: format!("address {url}"),
                detail: "the harness only targets loopback".into(),
            });
        }
        Ok(addr)
    }
}

enum Sender {
    H1(hyper::client::conn::http1::SendRequest<Full<Bytes>>),
    H2(hyper::client::conn::http2::SendRequest<Full<Bytes>>),
}

/// One open connection.
pub struct Conn {
    sender: Sender,
    bearer: Option<String>,
    authority: String,
}

/// Opens one connection to `target`.
pub async fn connect(target: &Target) -> Result<Conn, BenchError> {
    let tcp = TcpStream::connect(target.addr).await?;
    tcp.set_nodelay(true)?;
    let sender = match &target.tls {
        Some(cfg) => {
            let name = rustls::pki_types::ServerName::IpAddress(target.addr.ip().into());
            let tls = tokio_rustls::TlsConnector::from(cfg.clone()).connect(name, tcp).await?;
            handshake(TokioIo::new(tls), target.proto).await?
        }
        None => handshake(TokioIo::new(tcp), target.proto).await?,
    };
    Ok(Conn { sender, bearer: target.bearer.clone(), authority: target.addr.to_string() })
}

async fn handshake<T>(io: TokioIo<T>, proto: Proto) -> Result<Sender, BenchError>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    Ok(match proto {
        Proto::H1 => {
            let (send, conn) = hyper::client::conn::http1::handshake(io).await?;
            tokio::spawn(conn);
            Sender::H1(send)
        }
        Proto::H2 => {
            let (send, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
                .initial_stream_window_size(4 << 20)
                .initial_connection_window_size(16 << 20)
                .handshake(io)
                .await?;
            tokio::spawn(conn);
            Sender::H2(send)
        }
    })
}

impl Conn {
    /// Another handle on the same HTTP/2 connection (streams multiplex); `None` for HTTP/1.1.
    pub fn share(&self) -> Option<Conn> {
        match &self.sender {
            Sender::H2(s) => Some(Conn {
                sender: Sender::H2(s.clone()),
                bearer: self.bearer.clone(),
                authority: self.authority.clone(),
            }),
            Sender::H1(_) => None,
        }
    }

    /// Sends a request and returns the response with its body still streaming.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&'static str, &str)],
        body: Bytes,
    ) -> Result<http::Response<Incoming>, BenchError> {
        let mut req = Request::builder().method(method).uri(path);
        req = match self.sender {
            Sender::H1(_) => req.header(header::HOST, &self.authority),
            Sender::H2(_) => req.uri(format!("https://{}{path}", self.authority)),
        };
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(token) = &self.bearer {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let req = req.body(Full::new(body))?;
        Ok(match &mut self.sender {
            Sender::H1(s) => {
                s.ready().await?;
                s.send_request(req).await?
            }
            Sender::H2(s) => {
                s.ready().await?;
                s.send_request(req).await?
            }
        })
    }

    /// Sends a request and collects the whole body.
    pub async fn call(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&'static str, &str)],
        body: Bytes,
    ) -> Result<(StatusCode, Bytes), BenchError> {
        let resp = self.send(method, path, headers, body).await?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    /// A JSON call that must answer 2xx (or 409 when `conflict_ok`).
    pub async fn expect_ok(
        &mut self,
        method: Method,
        path: &str,
        body: Bytes,
        conflict_ok: bool,
    ) -> Result<Bytes, BenchError> {
        self.expect_ok_as(method, path, "application/json", body, conflict_ok).await
    }

    /// A call with a body of `content_type` that must answer 2xx (or 409 when `conflict_ok`).
    pub async fn expect_ok_as(
        &mut self,
        method: Method,
        path: &str,
        content_type: &str,
        body: Bytes,
        conflict_ok: bool,
    ) -> Result<Bytes, BenchError> {
        let (status, body) = self.call(method.clone(), path, &[("content-type", content_type)], body).await?;
        if status.is_success() || (conflict_ok && status == StatusCode::CONFLICT) {
            return Ok(body);
        }
        Err(BenchError::Status {
            what: format!("{method} {path}"),
            status: status.as_u16(),
            body: String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned(),
        })
    }
}
