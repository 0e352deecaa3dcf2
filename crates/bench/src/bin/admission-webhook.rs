//! The validating admission webhook of the admission comparison ([`kubeward_bench::webhook`]):
//! HTTPS on 127.0.0.1, answering AdmissionReviews at `/validate` with the ten checks of the
//! bench's policies.

use clap::Parser;
use kubeward_bench::{cli, tls, webhook};
use std::sync::Arc;

#[derive(Parser)]
struct Args {
    /// Serving certificate (its names must cover 127.0.0.1) and key.
    #[arg(long)]
    cert: String,
    #[arg(long)]
    key: String,
    #[arg(long, default_value_t = 0)]
    port: u16,
}

fn main() -> std::process::ExitCode {
    cli::main_with(async {
        let args = Args::parse();
        let cfg = tls::server_config(&args.cert, &args.key, None)?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
        println!("admission-webhook listening on https://{}{}", listener.local_addr()?, webhook::PATH);
        Err(webhook::serve(listener, Arc::new(cfg)).await.into())
    })
}
