//! Watch fan-out: N watchers, ack-to-delivery latency, server memory per watcher.

use clap::Parser;
use kubeward_bench::cli::{self, TargetArgs};
use kubeward_bench::fanout::{self, FanoutConfig};
use kubeward_bench::report::Record;
use std::time::Duration;

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    target: TargetArgs,
    #[arg(long, default_value = "bench-watch")]
    namespace: String,
    #[arg(long, default_value_t = 1000)]
    watchers: usize,
    #[arg(long, default_value_t = 100)]
    streams_per_conn: usize,
    #[arg(long, default_value_t = 50)]
    writes: usize,
    #[arg(long, default_value_t = 20)]
    interval_ms: u64,
    #[arg(long, default_value_t = 1024)]
    data_bytes: usize,
    /// The server's pid, for its RSS before and after the watches open.
    #[arg(long)]
    server_pid: Option<u32>,
    #[arg(long, default_value_t = 60)]
    timeout_s: u64,
}

fn main() -> std::process::ExitCode {
    cli::main_with(async {
        let a = Args::parse();
        let target = a.target.target()?;
        let cfg = FanoutConfig {
            namespace: a.namespace,
            watchers: a.watchers,
            streams_per_conn: a.streams_per_conn,
            writes: a.writes,
            interval: Duration::from_millis(a.interval_ms),
            data_bytes: a.data_bytes,
            server_pid: a.server_pid,
            timeout: Duration::from_secs(a.timeout_s),
        };
        let result = fanout::run(&target, &cfg).await?;
        cli::emit(&Record::Fanout { result });
        Ok(())
    })
}
