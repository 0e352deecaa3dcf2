//! Durable write throughput: kubeward creates or etcd puts, C clients, a fixed duration;
//! optionally with ValidatingAdmissionPolicies over the creates (`--policies`), or the same
//! checks through a validating admission webhook (`--webhook`).

use clap::Parser;
use kubeward_bench::admission_time::PluginTime;
use kubeward_bench::cli::{self, TargetArgs};
use kubeward_bench::procfs;
use kubeward_bench::report::Record;
use kubeward_bench::webhook;
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
    /// Instead of policies, the same ten checks through the validating admission webhook
    /// at this URL (`admission-webhook`), its certificate verified against `--webhook-ca`.
    #[arg(long, requires = "webhook_ca", conflicts_with = "policies")]
    webhook: Option<String>,
    /// PEM file of the webhook's CA: the configuration's caBundle.
    #[arg(long)]
    webhook_ca: Option<String>,
    /// Remove the bench's policies and webhook configuration first (rows without them,
    /// interleaved with rows with them on the same server).
    #[arg(long, conflicts_with_all = ["policies", "webhook"])]
    no_admission: bool,
    /// `NAME=PID` of a server process whose CPU time per acknowledged write is recorded
    /// (repeatable: kubeward and the etcd under it).
    #[arg(long = "server-pid", value_parser = parse_named_pid)]
    server_pids: Vec<(String, u32)>,
    /// An admission plugin (`ValidatingAdmissionPolicy`) whose own time over the run is
    /// recorded, from the server's `apiserver_admission_controller_admission_duration_seconds`.
    #[arg(long)]
    admission_plugin: Option<String>,
}

fn parse_named_pid(s: &str) -> Result<(String, u32), String> {
    let (name, pid) = s.split_once('=').ok_or_else(|| format!("`{s}`: expected NAME=PID"))?;
    let pid = pid.parse().map_err(|e| format!("`{s}`: {e}"))?;
    Ok((name.to_owned(), pid))
}

fn main() -> std::process::ExitCode {
    cli::main_with(async {
        let a = Args::parse();
        let target = a.target.target()?;
        let kind = if a.etcd {
            WriteKind::EtcdPut { namespace: a.namespace.clone(), value_bytes: a.bytes }
        } else {
            writes::ensure_namespace(&target, &a.namespace).await?;
            if a.no_admission {
                writes::clear_admission(&target, &a.namespace).await?;
            }
            writes::install_policies(&target, &a.namespace, a.policies).await?;
            if let (Some(url), Some(ca)) = (&a.webhook, &a.webhook_ca) {
                let pem = std::fs::read(ca).map_err(|e| kubeward_bench::BenchError::file(ca, e))?;
                webhook::install(&target, &a.namespace, url, &pem).await?;
            }
            WriteKind::KubeCreate { namespace: a.namespace.clone(), data_bytes: a.bytes }
        };
        let prefix = format!("w{}-{}-{}", std::process::id(), a.label, a.clients);
        let limit = Limit::Duration(Duration::from_millis(a.duration_ms));
        let plugin_before = match &a.admission_plugin {
            Some(p) => Some(PluginTime::scrape(&target, p).await?),
            None => None,
        };
        let before =
            a.server_pids.iter().map(|(_, pid)| procfs::cpu_time(*pid)).collect::<Result<Vec<_>, _>>()?;
        let summary = writes::run(&target, &kind, a.clients, limit, &prefix).await?;
        let mut server_cpu_ms = Vec::new();
        for ((name, pid), before) in a.server_pids.iter().zip(before) {
            let used = procfs::cpu_time(*pid)?.saturating_sub(before);
            server_cpu_ms.push((name.clone(), used.as_secs_f64() * 1e3 / summary.count.max(1) as f64));
        }
        let admission = match (&a.admission_plugin, plugin_before) {
            (Some(p), Some(before)) => Some(PluginTime::scrape(&target, p).await?.since(&before)),
            _ => None,
        };
        cli::emit(&Record::Writes {
            target: a.label,
            clients: a.clients as u32,
            value_bytes: a.bytes,
            summary,
            server_cpu_ms,
            admission,
        });
        Ok(())
    })
}
