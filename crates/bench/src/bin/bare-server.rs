//! The limit of our stack: hyper 1 + rustls 0.23 (ring) with kubeward's TLS settings, serving
//! fixed bytes captured from kubeward's responses, with no authentication or authorization.

use bytes::Bytes;
use clap::Parser;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use kubeward_bench::{cli, tls, BenchError};
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Parser)]
struct Args {
    #[arg(long)]
    cert: String,
    #[arg(long)]
    key: String,
    /// Verify client certificates against this CA (not required, as in kubeward).
    #[arg(long)]
    client_ca: Option<String>,
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// `PATH=FILE`: answer GET PATH with FILE's bytes (repeatable).
    #[arg(long = "route")]
    routes: Vec<String>,
}

fn main() -> std::process::ExitCode {
    cli::main_with(serve(Args::parse()))
}

async fn serve(args: Args) -> Result<(), BenchError> {
    let mut routes = HashMap::new();
    for r in &args.routes {
        let (path, file) = r.split_once('=').ok_or_else(|| BenchError::Decode {
            what: format!("--route {r}"),
            detail: "expected PATH=FILE".into(),
        })?;
        let body = std::fs::read(file).map_err(|e| BenchError::File { path: file.into(), source: e })?;
        routes.insert(path.to_string(), Bytes::from(body));
    }
    let routes = Arc::new(routes);
    let cfg = tls::server_config(&args.cert, &args.key, args.client_ca.as_deref())?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    println!("bare-server listening on {}", listener.local_addr()?);
    loop {
        let (tcp, _) = listener.accept().await?;
        let _ = tcp.set_nodelay(true);
        let (acceptor, routes) = (acceptor.clone(), routes.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else { return };
            let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                let body = routes.get(req.uri().path()).cloned();
                async move {
                    let mut resp = match body {
                        Some(b) => Response::new(Full::new(b)),
                        None => {
                            let mut r = Response::new(Full::new(Bytes::from_static(b"not found")));
                            *r.status_mut() = StatusCode::NOT_FOUND;
                            r
                        }
                    };
                    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                    Ok::<_, std::convert::Infallible>(resp)
                }
            });
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder.http2().timer(TokioTimer::new()).max_concurrent_streams(250);
            let _ = builder.serve_connection(TokioIo::new(tls), service).await;
        });
    }
}
