//! The bare server: hyper 1 + rustls with kubeward's TLS settings, answering GET of fixed paths
//! with fixed bytes and nothing else (no authentication, authorization or encoding).

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Path to response body.
pub type Routes = HashMap<String, Bytes>;

fn respond(body: Option<Bytes>) -> Response<Full<Bytes>> {
    let mut resp = match body {
        Some(b) => Response::new(Full::new(b)),
        None => {
            let mut r = Response::new(Full::new(Bytes::from_static(b"not found")));
            *r.status_mut() = StatusCode::NOT_FOUND;
            r
        }
    };
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// Serves until the listener fails; each connection runs on its own task.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    routes: Arc<Routes>,
) -> std::io::Error {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let tcp = match listener.accept().await {
            Ok((tcp, _)) => tcp,
            Err(e) => return e,
        };
        let _ = tcp.set_nodelay(true);
        let (acceptor, routes) = (acceptor.clone(), routes.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else { return };
            let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                let body = routes.get(req.uri().path()).cloned();
                async move { Ok::<_, std::convert::Infallible>(respond(body)) }
            });
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder.http2().timer(TokioTimer::new()).max_concurrent_streams(250);
            let _ = builder.serve_connection(TokioIo::new(tls), service).await;
        });
    }
}
