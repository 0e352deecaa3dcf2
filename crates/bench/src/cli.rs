//! Command-line pieces the binaries share: how to reach the server and as whom.

use crate::client::Target;
use crate::tls::{client_config, Proto};
use crate::BenchError;
use std::sync::Arc;

/// Where the API server is and how to authenticate to it.
#[derive(Clone, Debug, clap::Args)]
pub struct TargetArgs {
    /// `https://127.0.0.1:PORT` (or `http://...` for etcd's cleartext gRPC port).
    #[arg(long)]
    pub server: String,
    /// CA bundle that signed the serving certificate.
    #[arg(long)]
    pub ca: Option<String>,
    /// Client certificate (PEM); with --key.
    #[arg(long)]
    pub cert: Option<String>,
    #[arg(long)]
    pub key: Option<String>,
    /// Bearer token sent on every request.
    #[arg(long)]
    pub token: Option<String>,
    /// Speak HTTP/1.1 instead of HTTP/2.
    #[arg(long)]
    pub http1: bool,
}

impl TargetArgs {
    pub fn target(&self) -> Result<Target, BenchError> {
        let addr = Target::parse_addr(&self.server)?;
        let proto = if self.http1 { Proto::H1 } else { Proto::H2 };
        let tls = if self.server.starts_with("https://") {
            let ca =
                self.ca.as_deref().ok_or_else(|| BenchError::Pem("--ca is required for https".into()))?;
            let pair = match (&self.cert, &self.key) {
                (Some(c), Some(k)) => Some((c.as_str(), k.as_str())),
                _ => None,
            };
            Some(Arc::new(client_config(ca, pair, proto)?))
        } else {
            None
        };
        Ok(Target { addr, tls, proto, bearer: self.token.clone() })
    }
}

/// Prints one result line.
pub fn emit(record: &crate::report::Record) {
    match serde_json::to_string(record) {
        Ok(line) => println!("{line}"),
        Err(e) => eprintln!("cannot encode a record: {e}"),
    }
}

/// Runs `fut` on a multi-threaded runtime and maps the outcome to an exit code.
pub fn main_with<F>(fut: F) -> std::process::ExitCode
where
    F: std::future::Future<Output = Result<(), BenchError>>,
{
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(fut) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}
