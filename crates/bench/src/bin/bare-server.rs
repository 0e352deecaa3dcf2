//! The limit of our stack: hyper 1 + rustls 0.23 (ring) with kubeward's TLS settings, serving
//! fixed bytes captured from kubeward's responses, with no authentication or authorization.

use bytes::Bytes;
use clap::Parser;
use kubeward_bench::bare::{self, Routes};
use kubeward_bench::{cli, tls, BenchError};
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
    cli::main_with(async {
        let args = Args::parse();
        let mut routes = Routes::new();
        for r in &args.routes {
            let (path, file) = r.split_once('=').ok_or_else(|| BenchError::Decode {
                what: format!("--route {r}"),
                detail: "expected PATH=FILE".into(),
            })?;
            let body = std::fs::read(file).map_err(|e| BenchError::File { path: file.into(), source: e })?;
            routes.insert(path.to_string(), Bytes::from(body));
        }
        let cfg = tls::server_config(&args.cert, &args.key, args.client_ca.as_deref())?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
        println!("bare-server listening on {}", listener.local_addr()?);
        Err(bare::serve(listener, Arc::new(cfg), Arc::new(routes)).await.into())
    })
}
