//! The kubeward binary: subcommands wire the crates together.

mod admission_explain;
mod audit_cmd;
mod audit_flags;
mod cert_cmds;
mod cis;
mod cli;
mod cluster;
mod cluster_data;
mod dashboard_cmd;
mod flags;
mod offboard;
mod oidc_cmds;
mod pki_cmds;
mod rbac_tools;
mod table;

fn main() -> std::process::ExitCode {
    let args = cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KUBEWARD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("kubeward: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kubeward: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
