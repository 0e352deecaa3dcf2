//! Custom resources and server-side apply (issue #12), against one running kubeward: installs
//! the Widget CRD and proves its schema and CEL rules run, creates one Deployment per client,
//! then per client count runs ConfigMap creates, Widget creates, strategic merge patches and
//! server-side applies one after the other, `--rounds` times, and prints one record per row
//! (the round of median writes/s) and the section's notes.

use clap::Parser;
use kubeward_bench::cli::{self, TargetArgs};
use kubeward_bench::client::connect;
use kubeward_bench::custom::{self, Op};
use kubeward_bench::procfs;
use kubeward_bench::report::Record;
use kubeward_bench::stats::Summary;
use kubeward_bench::writes::{self, Limit};
use std::time::Duration;

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    target: TargetArgs,
    #[arg(long, default_value = "bench-custom")]
    namespace: String,
    /// Client counts, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16")]
    clients: Vec<usize>,
    /// Length of each row.
    #[arg(long, default_value_t = 3000)]
    duration_ms: u64,
    /// Rounds of the four rows per client count; each row keeps its median round.
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// Only these rows (comma-separated op names, e.g. `custom-create` to profile one path).
    #[arg(long, value_delimiter = ',')]
    ops: Vec<String>,
    /// The server's pid, to report its CPU time per write.
    #[arg(long)]
    server_pid: Option<u32>,
}

fn note(text: String) {
    cli::emit(&Record::Note { text, section: Some("custom".into()) });
}

/// The order of the rows in a round: as listed in even rounds, each pair (row, baseline)
/// swapped in odd ones, so that a drift of the machine's load over a round does not always
/// favour the same side of a pair.
fn round_order(rows: usize, round: u32) -> Vec<usize> {
    let mut order: Vec<usize> = (0..rows).collect();
    if round % 2 == 1 {
        for pair in order.chunks_mut(2) {
            pair.reverse();
        }
    }
    order
}

/// One round of one row: its summary and the server's CPU milliseconds per write.
type Round = (Summary, Option<f64>);

/// The round of median writes/s.
fn median(mut rounds: Vec<Round>) -> Round {
    rounds.sort_by(|a, b| a.0.per_sec.total_cmp(&b.0.per_sec));
    let mid = rounds.len() / 2;
    rounds.into_iter().nth(mid).unwrap_or_default()
}

fn main() -> std::process::ExitCode {
    cli::main_with(async {
        let a = Args::parse();
        let target = a.target.target()?;
        let ns = a.namespace.as_str();
        writes::ensure_namespace(&target, ns).await?;
        custom::install_crd(&target, ns, Duration::from_secs(60)).await?;
        custom::preflight(&target, ns).await?;
        let max_clients = a.clients.iter().copied().max().unwrap_or(1);
        custom::create_deployments(&target, ns, max_clients).await?;
        let (fields, rules) = custom::schema_size(&custom::crd()?);
        note(format!(
            "The CRD (`crates/bench/data/widget-crd.json`): `spec` declares {fields} fields (strings with \
             patterns and lengths, an enum, integers and a number with bounds, a boolean, a date-time, a set \
             list, a map list of objects, nested objects, a string map; six defaults) and {rules} \
             x-kubernetes-validations rules; a status subresource. Before the rows, a created Widget is checked \
             to come back defaulted and one breaking a rule to be refused with the rule's message."
        ));
        let ops: Vec<Op> = Op::ALL
            .into_iter()
            .filter(|op| a.ops.is_empty() || a.ops.iter().any(|o| o == op.name()))
            .collect();
        let pid = std::process::id();
        for &c in &a.clients {
            let mut results: Vec<Vec<Round>> = vec![Vec::new(); ops.len()];
            for round in 0..a.rounds.max(1) {
                for i in round_order(ops.len(), round) {
                    let op = ops[i];
                    let prefix = format!("w{pid}-c{c}-r{round}");
                    eprintln!("custom: {} at {c} clients, round {}", op.name(), round + 1);
                    let make = custom::make_writes(op, ns, &prefix);
                    let limit = Limit::Duration(Duration::from_millis(a.duration_ms));
                    let cpu_before = a.server_pid.map(procfs::cpu_time).transpose()?;
                    let summary = writes::run_load(&target, c, limit, make).await?;
                    let cpu = match (cpu_before, a.server_pid) {
                        (Some(before), Some(pid)) if summary.count > 0 => {
                            let used = procfs::cpu_time(pid)?.saturating_sub(before);
                            Some(used.as_secs_f64() * 1e3 / summary.count as f64)
                        }
                        _ => None,
                    };
                    results[i].push((summary, cpu));
                }
            }
            for (&op, rounds) in ops.iter().zip(results) {
                let rounds_run = rounds.len() as u32;
                let (summary, server_cpu_ms) = median(rounds);
                cli::emit(&Record::Op {
                    op: op.name().into(),
                    clients: c as u32,
                    body_bytes: custom::body_len(op, &format!("w{pid}-c{c}-r0")),
                    rounds: rounds_run,
                    summary,
                    server_cpu_ms,
                });
            }
        }
        let mut conn = connect(&target).await?;
        if custom::apply_recorded(&mut conn, ns).await? {
            note(format!(
                "The server recorded the applies as kube does: `{}` owns its fields by an `Apply` entry in \
                 managedFields (the patches are recorded as `Update` entries of `{}`).",
                custom::APPLY_MANAGER,
                custom::PATCH_MANAGER
            ));
        } else {
            note(format!(
                "This build records no managedFields: the apply row was a strategic merge of the applied \
                 configuration underneath (no `Apply` entry of `{}`), not server-side apply as kube does it.",
                custom::APPLY_MANAGER
            ));
        }
        Ok(())
    })
}
