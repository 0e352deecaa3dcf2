//! Write stalls when the etcd leader's node dies: three kubeward control planes on a managed
//! etcd, a write load, `--rounds` kills of the leader's node (see `kubeward_bench::failover`).
//! Prints one `failover` record.

use clap::Parser;
use kubeward_bench::cli;
use kubeward_bench::failover::{self, Cluster};
use kubeward_bench::report::Record;
use kubeward_bench::stats::quantile;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
struct Args {
    /// The kubeward binary.
    #[arg(long)]
    kubeward: PathBuf,
    /// An empty directory for the three data directories and their logs.
    #[arg(long)]
    work: PathBuf,
    #[arg(long, default_value_t = 10)]
    rounds: usize,
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// How long each kill is observed.
    #[arg(long, default_value_t = 8000)]
    window_ms: u64,
}

fn main() -> std::process::ExitCode {
    cli::main_with(async {
        let a = Args::parse();
        std::fs::create_dir_all(&a.work)?;
        let kubeward = a.kubeward.clone();
        let work = a.work.clone();
        let mut cluster = tokio::task::spawn_blocking(move || Cluster::start(&kubeward, &work))
            .await
            .map_err(|e| kubeward_bench::BenchError::Timeout(format!("starting the cluster: {e}")))??;
        let outcome =
            failover::run(&mut cluster, a.rounds, a.clients, Duration::from_millis(a.window_ms)).await?;
        let mut sorted = outcome.stalls.clone();
        sorted.sort_unstable();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        cli::emit(&Record::Failover {
            clients: a.clients as u32,
            stalls_ms: outcome.stalls.iter().map(|d| ms(*d)).collect(),
            p50_ms: ms(quantile(&sorted, 0.5)),
            p99_ms: ms(quantile(&sorted, 0.99)),
            max_ms: ms(sorted.last().copied().unwrap_or_default()),
            writes: outcome.writes,
            errors: outcome.errors,
        });
        drop(cluster);
        Ok(())
    })
}
