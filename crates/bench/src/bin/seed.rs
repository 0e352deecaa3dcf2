//! Creates N ConfigMaps fast, over the API, from several concurrent connections.

use clap::Parser;
use kubeward_bench::cli::{self, TargetArgs};
use kubeward_bench::writes::{self, Limit, WriteKind};
use kubeward_bench::BenchError;

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    target: TargetArgs,
    #[arg(long)]
    namespace: String,
    #[arg(long)]
    count: u64,
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Characters in each ConfigMap's data.
    #[arg(long, default_value_t = 64)]
    data_bytes: usize,
    /// Object names are PREFIX-INDEX.
    #[arg(long, default_value = "cm")]
    prefix: String,
}

fn main() -> std::process::ExitCode {
    cli::main_with(async {
        let a = Args::parse();
        let target = a.target.target()?;
        writes::ensure_namespace(&target, &a.namespace).await?;
        let kind = WriteKind::KubeCreate { namespace: a.namespace.clone(), data_bytes: a.data_bytes };
        let s = writes::run(&target, &kind, a.clients, Limit::Count(a.count), &a.prefix).await?;
        eprintln!(
            "seeded {} objects into {} ({:.0}/s, {} errors)",
            s.count, a.namespace, s.per_sec, s.errors
        );
        if s.errors > 0 {
            return Err(BenchError::Decode {
                what: "seeding".into(),
                detail: format!("{} creates failed", s.errors),
            });
        }
        Ok(())
    })
}
