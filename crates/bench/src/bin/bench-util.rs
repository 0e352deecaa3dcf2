//! Small helpers `bench/run` needs: free ports, RSS, launching a server and timing /readyz,
//! capturing response bytes, turning oha's JSON into records, describing the machine.

use bytes::Bytes;
use clap::{Parser, Subcommand};
use http::Method;
use kubeward_bench::cli::{self, TargetArgs};
use kubeward_bench::client::connect;
use kubeward_bench::report::Record;
use kubeward_bench::{callgrind, load, procfs, BenchError};
use serde::Deserialize;
use std::collections::HashMap;
use std::process::{Command as Proc, Stdio};
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Prints a free TCP port on 127.0.0.1.
    FreePort,
    /// Emits the RSS of a process.
    Rss {
        #[arg(long)]
        pid: u32,
        #[arg(long)]
        what: String,
    },
    /// Starts a server, waits for /readyz to answer 200, emits the time it took and the RSS;
    /// leaves the server running and writes its pid to --pidfile.
    Launch {
        #[command(flatten)]
        target: TargetArgs,
        #[arg(long)]
        pidfile: String,
        #[arg(long)]
        log: String,
        /// Stored objects, for the record (omit to emit nothing).
        #[arg(long)]
        objects: Option<u64>,
        #[arg(long, default_value_t = 120)]
        timeout_s: u64,
        /// The path that answers 2xx once the server is ready.
        #[arg(long, default_value = "/readyz")]
        ready_path: String,
        #[arg(trailing_var_arg = true, required = true)]
        command: Vec<String>,
    },
    /// Saves the body of one GET.
    Fetch {
        #[command(flatten)]
        target: TargetArgs,
        #[arg(long)]
        path: String,
        #[arg(long)]
        out: String,
    },
    /// Turns oha's JSON output into a request (or list-latency) record.
    OhaRecord {
        #[arg(long)]
        file: String,
        #[arg(long)]
        target: String,
        #[arg(long)]
        object: String,
        #[arg(long)]
        auth: String,
        #[arg(long)]
        proto: String,
        #[arg(long)]
        conc: u32,
        /// Emit a list-latency record for this many stored objects instead.
        #[arg(long)]
        list_objects: Option<u64>,
        /// CPU ticks the server used during the run (`cpu-ticks` before and after): recorded
        /// as CPU time per request.
        #[arg(long)]
        server_cpu_ticks: Option<u64>,
        /// Clock ticks per second (`getconf CLK_TCK`).
        #[arg(long, default_value_t = 100)]
        ticks_per_sec: u64,
    },
    /// Turns oha's JSON output of one side of a cost round (`overhead.rs`) into a record,
    /// with the server's CPU ticks over the run.
    CostRecord {
        #[arg(long)]
        file: String,
        /// audit, revocation or limits.
        #[arg(long)]
        feature: String,
        /// The server with the feature (`with`) or the one without (`without`).
        #[arg(long, value_parser = ["with", "without"])]
        side: String,
        #[arg(long)]
        auth: String,
        #[arg(long)]
        proto: String,
        #[arg(long)]
        conc: u32,
        #[arg(long)]
        round: u32,
        /// This side ran first in its round.
        #[arg(long)]
        first: bool,
        /// The rate asked of oha (`-q`).
        #[arg(long)]
        rate: f64,
        /// CPU ticks the server used during the run (`cpu-ticks` before and after).
        #[arg(long)]
        server_cpu_ticks: u64,
        /// Clock ticks per second (`getconf CLK_TCK`).
        #[arg(long, default_value_t = 100)]
        ticks_per_sec: u64,
    },
    /// A fixed-count GET load at a fixed rate over fresh connections (`load.rs`); prints
    /// nothing but failures. The warm-up of the instruction cost rows.
    GetLoad {
        #[command(flatten)]
        target: TargetArgs,
        #[arg(long)]
        path: String,
        #[arg(long, default_value_t = 64)]
        conns: usize,
        #[arg(long)]
        requests: u64,
        /// Requests/s (0: as fast as answered).
        #[arg(long, default_value_t = 0.0)]
        rate: f64,
    },
    /// One side of a round of an instruction cost pair (`overhead.rs`): against a server under
    /// callgrind (`--pid`, dumps to `--dump-prefix.N`), opens `--conns` connections and warms
    /// them with `--requests` GETs; then `--runs` times zeroes the server's counters, sends
    /// `--requests` GETs over them and dumps; emits each run's instruction count.
    InstrRun {
        #[command(flatten)]
        target: TargetArgs,
        #[arg(long)]
        path: String,
        #[arg(long)]
        pid: u32,
        /// The server's `--callgrind-out-file`.
        #[arg(long)]
        dump_prefix: String,
        /// Keep the dump files (callgrind_annotate reads them); by default they are removed.
        #[arg(long)]
        keep_dumps: bool,
        /// audit-policy, audit-log, revocation, limits or aa.
        #[arg(long)]
        feature: String,
        #[arg(long, value_parser = ["with", "without"])]
        side: String,
        /// The credential's name for the record (cert or token).
        #[arg(long)]
        auth: String,
        #[arg(long)]
        round: u32,
        #[arg(long)]
        first: bool,
        #[arg(long, default_value_t = 64)]
        conns: usize,
        /// Requests of each counted run.
        #[arg(long)]
        requests: u64,
        /// Counted runs (the median one is the side's figure).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        #[arg(long)]
        rate: f64,
    },
    /// Prints the CPU time a process has used so far, in clock ticks.
    CpuTicks {
        #[arg(long)]
        pid: u32,
    },
    /// Describes the machine and the commit.
    Machine,
    Tool {
        #[arg(long)]
        name: String,
        #[arg(long)]
        version: String,
    },
    Note {
        #[arg(long)]
        text: String,
        /// Shown in this section's text instead of under Notes.
        #[arg(long)]
        section: Option<String>,
    },
    Missing {
        #[arg(long)]
        section: String,
        #[arg(long)]
        what: String,
        #[arg(long)]
        reason: String,
    },
}

fn main() -> std::process::ExitCode {
    cli::main_with(async {
        match Args::parse().command {
            Command::FreePort => {
                let l = std::net::TcpListener::bind("127.0.0.1:0")?;
                println!("{}", l.local_addr()?.port());
            }
            Command::Rss { pid, what } => cli::emit(&Record::Rss { what, kib: procfs::rss_kib(pid)? }),
            Command::Launch { target, pidfile, log, objects, timeout_s, ready_path, command } => {
                let timeout = Duration::from_secs(timeout_s);
                launch(&target, &pidfile, &log, objects, timeout, &ready_path, &command).await?
            }
            Command::Fetch { target, path, out } => {
                let mut conn = connect(&target.target()?).await?;
                let body = conn.expect_ok(Method::GET, &path, Bytes::new(), false).await?;
                std::fs::write(&out, &body).map_err(|e| BenchError::File { path: out, source: e })?;
            }
            Command::OhaRecord {
                file,
                target,
                object,
                auth,
                proto,
                conc,
                list_objects,
                server_cpu_ticks,
                ticks_per_sec,
            } => {
                let mut rec = oha_record(&file, target, object, auth, proto, conc, list_objects)?;
                if let (Record::Request { server_cpu_us, .. }, Some(ticks)) = (&mut rec, server_cpu_ticks) {
                    let requests = oha_requests(&file)?;
                    *server_cpu_us =
                        Some(ticks as f64 * 1e6 / ticks_per_sec.max(1) as f64 / requests.max(1) as f64);
                }
                cli::emit(&rec)
            }
            Command::CostRecord {
                file,
                feature,
                side,
                auth,
                proto,
                conc,
                round,
                first,
                rate,
                server_cpu_ticks,
                ticks_per_sec,
            } => {
                let Record::Request { rps, p50_ms, p99_ms, errors, .. } =
                    oha_record(&file, String::new(), String::new(), auth.clone(), proto.clone(), conc, None)?
                else {
                    return Err(BenchError::Decode { what: file, detail: "not a request record".into() });
                };
                let requests = oha_requests(&file)?;
                let cpu_s = server_cpu_ticks as f64 / ticks_per_sec.max(1) as f64;
                cli::emit(&Record::CostRound {
                    feature,
                    with: side == "with",
                    auth,
                    proto,
                    conc,
                    round,
                    first,
                    rate,
                    requests,
                    rps,
                    p50_ms,
                    p99_ms,
                    errors,
                    server_cpu_us: cpu_s * 1e6 / requests.max(1) as f64,
                })
            }
            Command::GetLoad { target, path, conns, requests, rate } => {
                let s = load::run_gets(&target.target()?, &path, conns, requests, rate).await?;
                if s.errors > 0 {
                    return Err(BenchError::Decode {
                        what: format!("GET {path}"),
                        detail: format!("{} of {requests} requests failed", s.errors),
                    });
                }
            }
            Command::InstrRun {
                target,
                path,
                pid,
                dump_prefix,
                keep_dumps,
                feature,
                side,
                auth,
                round,
                first,
                conns,
                requests,
                runs,
                rate,
            } => {
                let proto = if target.http1 { "h1" } else { "h2" };
                let target = target.target()?;
                // The connections are opened and warmed before the counted runs and closed
                // after them: no handshake or teardown falls into a counted run.
                let mut open = load::open(&target, conns).await?;
                (_, open) = load::run_gets_on(&target, &path, open, requests, rate).await?;
                let mut runs_ir = Vec::with_capacity(runs);
                let mut errors = 0;
                let mut last = None;
                for _ in 0..runs.max(1) {
                    callgrind::zero(pid)?;
                    let (summary, still_open) =
                        load::run_gets_on(&target, &path, open, requests, rate).await?;
                    let (ir, dump) = callgrind::dump(pid, &dump_prefix)?;
                    open = still_open;
                    if !keep_dumps {
                        let _ = std::fs::remove_file(&dump);
                    }
                    runs_ir.push(ir);
                    errors += summary.errors;
                    last = Some(summary);
                }
                drop(open);
                let last = last.unwrap_or_default();
                cli::emit(&Record::InstrRound {
                    feature,
                    with: side == "with",
                    auth,
                    proto: proto.into(),
                    conc: u32::try_from(conns).unwrap_or(u32::MAX),
                    round,
                    first,
                    rate,
                    requests,
                    runs_ir,
                    errors,
                    rps: last.per_sec,
                    p99_ms: last.p99_ms,
                })
            }
            Command::CpuTicks { pid } => println!("{}", procfs::cpu_ticks(pid)?),
            Command::Machine => cli::emit(&machine()),
            Command::Tool { name, version } => cli::emit(&Record::Tool { name, version }),
            Command::Note { text, section } => cli::emit(&Record::Note { text, section }),
            Command::Missing { section, what, reason } => {
                cli::emit(&Record::Missing { section, what, reason })
            }
        }
        Ok(())
    })
}

async fn launch(
    target: &TargetArgs,
    pidfile: &str,
    log: &str,
    objects: Option<u64>,
    timeout: Duration,
    ready_path: &str,
    command: &[String],
) -> Result<(), BenchError> {
    let target = target.target()?;
    let log_file =
        std::fs::File::create(log).map_err(|e| BenchError::File { path: log.into(), source: e })?;
    let err_file = log_file.try_clone()?;
    let start = Instant::now();
    let child = Proc::new(&command[0])
        .args(&command[1..])
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(err_file)
        .spawn()
        .map_err(|e| BenchError::File { path: command[0].clone(), source: e })?;
    let pid = child.id();
    std::fs::write(pidfile, pid.to_string())
        .map_err(|e| BenchError::File { path: pidfile.into(), source: e })?;
    loop {
        if start.elapsed() > timeout {
            return Err(BenchError::Timeout(format!("{} not ready after {timeout:?}", command[0])));
        }
        if std::fs::metadata(format!("/proc/{pid}")).is_err() {
            return Err(BenchError::Timeout(format!(
                "{} exited before it was ready (see {log})",
                command[0]
            )));
        }
        if let Ok(mut conn) = connect(&target).await {
            if let Ok((status, _)) = conn.call(Method::GET, ready_path, &[], Bytes::new()).await {
                if status.is_success() {
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let ms = start.elapsed().as_secs_f64() * 1e3;
    eprintln!("{} ready in {ms:.0} ms (pid {pid})", command[0]);
    if let Some(objects) = objects {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        cli::emit(&Record::Ready { objects, ms, rss_kib: procfs::rss_kib(pid)? });
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OhaOut {
    summary: OhaSummary,
    latency_percentiles: HashMap<String, Option<f64>>,
    #[serde(default)]
    status_code_distribution: HashMap<String, u64>,
    #[serde(default)]
    error_distribution: HashMap<String, u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OhaSummary {
    requests_per_sec: f64,
}

fn oha_record(
    file: &str,
    target: String,
    object: String,
    auth: String,
    proto: String,
    conc: u32,
    list_objects: Option<u64>,
) -> Result<Record, BenchError> {
    let text = std::fs::read(file).map_err(|e| BenchError::File { path: file.into(), source: e })?;
    let out: OhaOut = serde_json::from_slice(&text)
        .map_err(|e| BenchError::Decode { what: format!("oha output {file}"), detail: e.to_string() })?;
    let pct = |k: &str| out.latency_percentiles.get(k).copied().flatten().unwrap_or(0.0) * 1e3;
    let ok: u64 =
        out.status_code_distribution.iter().filter(|(c, _)| c.starts_with('2')).map(|(_, n)| n).sum();
    let bad: u64 =
        out.status_code_distribution.iter().filter(|(c, _)| !c.starts_with('2')).map(|(_, n)| n).sum();
    // With -z, requests still in flight at the deadline are reported as aborted: not errors.
    let errors = bad
        + out.error_distribution.iter().filter(|(e, _)| !e.contains("deadline")).map(|(_, n)| n).sum::<u64>();
    if ok == 0 {
        return Err(BenchError::Decode {
            what: format!("oha output {file}"),
            detail: format!(
                "no successful request: {:?} {:?}",
                out.status_code_distribution, out.error_distribution
            ),
        });
    }
    Ok(match list_objects {
        Some(objects) => {
            Record::ListLatency { objects, p50_ms: pct("p50"), p99_ms: pct("p99"), requests: ok }
        }
        None => Record::Request {
            target,
            object,
            auth,
            proto,
            conc,
            rps: out.summary.requests_per_sec,
            p50_ms: pct("p50"),
            p99_ms: pct("p99"),
            errors,
            tool: "oha".into(),
            server_cpu_us: None,
        },
    })
}

/// How many requests oha got an answer to.
fn oha_requests(file: &str) -> Result<u64, BenchError> {
    let text = std::fs::read(file).map_err(|e| BenchError::File { path: file.into(), source: e })?;
    let out: OhaOut = serde_json::from_slice(&text)
        .map_err(|e| BenchError::Decode { what: format!("oha output {file}"), detail: e.to_string() })?;
    Ok(out.status_code_distribution.values().sum())
}

fn first_line_with(path: &str, key: &str) -> String {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with(key))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn run_text(cmd: &str, args: &[&str]) -> String {
    Proc::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn machine() -> Record {
    Record::Machine {
        nproc: run_text("nproc", &[]),
        cpu: first_line_with("/proc/cpuinfo", "model name"),
        memory: first_line_with("/proc/meminfo", "MemTotal"),
        kernel: run_text("uname", &["-srvm"]),
        date: run_text("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"]),
        commit: run_text("git", &["rev-parse", "HEAD"]),
    }
}
