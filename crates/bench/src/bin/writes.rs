//! Durable write throughput: kubeward creates or etcd puts, C clients, a fixed duration;
//! optionally with ValidatingAdmissionPolicies over the creates (`--policies`).

use clap::Parser;
use kubeward_bench::cli::{self, TargetArgs};
use kubeward_bench::report::Record;
use kubeward_bench::writes::{self, Limit, WriteKind};
use std::time::Duration;

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    target: TargetArgs,
    /// Row label: embedded, etcd, kubeward-etcd.
    #[arg(long)]
    label: String,
    /// Put into etcd instead of creating through the Kubernetes API.
    #[arg(long)]
    etcd: bool,
    #[arg(long, default_value = "bench-writes")]
    namespace: String,
    #[arg(long)]
    clients: usize,
    #[arg(long, default_value_t = 5000)]
    duration_ms: u64,
    /// ConfigMap data characters (kubeward) or value bytes (etcd).
    #[arg(long, default_value_t = 1024)]
    bytes: usize,
    /// Install this many ValidatingAdmissionPolicies (at most 10) over the creates first.
    #[arg(long, default_value_t = 0)]
    policies: usize,
}

fn main() -> std::process::ExitCode {
    cli::main_with(async {
        let a = Args::parse();
        let target = a.target.target()?;
        let kind = if a.etcd {
            WriteKind::EtcdPut { namespace: a.namespace.clone(), value_bytes: a.bytes }
        } else {
            writes::ensure_namespace(&target, &a.namespace).await?;
            writes::install_policies(&target, &a.namespace, a.policies).await?;
            WriteKind::KubeCreate { namespace: a.namespace.clone(), data_bytes: a.bytes }
        };
        let prefix = format!("w{}-{}-{}", std::process::id(), a.label, a.clients);
        let limit = Limit::Duration(Duration::from_millis(a.duration_ms));
        let summary = writes::run(&target, &kind, a.clients, limit, &prefix).await?;
        cli::emit(&Record::Writes {
            target: a.label,
            clients: a.clients as u32,
            value_bytes: a.bytes,
            summary,
        });
        Ok(())
    })
}
