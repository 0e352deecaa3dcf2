//! The records `bench/run`'s programs emit, one JSON object a line of results.jsonl, and the
//! report reads back.

use crate::fanout::FanoutResult;
use crate::stats::Summary;
use serde::{Deserialize, Serialize};

/// One line of results.jsonl.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    Machine {
        nproc: String,
        cpu: String,
        memory: String,
        kernel: String,
        date: String,
        commit: String,
    },
    Tool {
        name: String,
        version: String,
    },
    /// One load-generator run on the request path.
    Request {
        target: String,
        object: String,
        auth: String,
        proto: String,
        conc: u32,
        rps: f64,
        p50_ms: f64,
        p99_ms: f64,
        errors: u64,
        tool: String,
        /// The server's CPU time per request during the run, when it was measured.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        server_cpu_us: Option<f64>,
    },
    /// A measurement that could not run, and why.
    Missing {
        section: String,
        what: String,
        reason: String,
    },
    Writes {
        target: String,
        clients: u32,
        value_bytes: usize,
        summary: Summary,
        /// CPU time (user + system) per acknowledged write of the server processes named by
        /// `writes --server-pid NAME=PID`, in ms, when measured.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        server_cpu_ms: Vec<(String, f64)>,
        /// One admission plugin's own time over the run, from the server's metrics
        /// (`writes --admission-plugin NAME`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        admission: Option<crate::admission_time::PluginTime>,
    },
    Fanout {
        result: FanoutResult,
    },
    Rss {
        what: String,
        kib: u64,
    },
    Ready {
        objects: u64,
        ms: f64,
        rss_kib: u64,
    },
    ListLatency {
        objects: u64,
        p50_ms: f64,
        p99_ms: f64,
        requests: u64,
    },
    /// One row of the custom-resource and apply section: `op` (`custom::Op::name`) measured at
    /// `clients` clients, the round of median writes/s out of `rounds`.
    Op {
        op: String,
        clients: u32,
        body_bytes: usize,
        rounds: u32,
        summary: Summary,
        /// The server's CPU time (user + system) per acknowledged write in that round.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        server_cpu_ms: Option<f64>,
    },
    /// Write stalls after killing the etcd leader's node, one per round (`failover`).
    Failover {
        clients: u32,
        stalls_ms: Vec<f64>,
        p50_ms: f64,
        p99_ms: f64,
        max_ms: f64,
        writes: u64,
        errors: u64,
    },
    /// The dashboard's first list page loaded in headless chromium against a release build
    /// (bench/dashboard/first-page.mjs): time from navigation start to the first table row.
    DashboardFirstPage {
        /// ConfigMaps in the listed namespace (the server holds these and its bootstrap objects).
        objects: u64,
        /// Timed loads (after one warm-up load).
        loads: u32,
        /// Rows on the page.
        rows: u32,
        median_ms: f64,
        p95_ms: f64,
        max_ms: f64,
    },
    /// One run of a feature's cost pair (`overhead.rs`): the same GET at a fixed rate for a
    /// fixed request count against the server with the feature (`with`) or the one without,
    /// in round `round` (the two sides of a round run back to back, their order alternating).
    CostRound {
        /// `audit-policy`, `audit-log`, `revocation` or `limits`.
        feature: String,
        with: bool,
        auth: String,
        proto: String,
        conc: u32,
        round: u32,
        /// Whether this side ran first in its round.
        first: bool,
        /// The rate asked of the load generator, requests/s.
        rate: f64,
        /// Requests answered.
        requests: u64,
        rps: f64,
        p50_ms: f64,
        p99_ms: f64,
        errors: u64,
        /// The server's CPU time (user + system, all threads) per answered request, µs.
        server_cpu_us: f64,
    },
    /// One side of a round of a feature's instruction-count pair (`overhead.rs`): the server ran
    /// under valgrind's callgrind; over connections opened and warmed before, runs of `requests`
    /// GETs each, the instructions of each run (all the server's threads, from a zeroed counter
    /// to a dump); the median run over `requests` is one request's.
    InstrRound {
        /// `audit-policy`, `audit-log`, `revocation`, `limits`, or `aa` (the A/A calibration: both sides alike).
        feature: String,
        with: bool,
        auth: String,
        proto: String,
        conc: u32,
        round: u32,
        /// Whether this side ran first in its round.
        first: bool,
        /// The rate asked of the load, requests/s (0: as fast as answered).
        rate: f64,
        /// Requests of each run.
        requests: u64,
        /// Instructions the server executed during each run.
        runs_ir: Vec<u64>,
        /// Failed or non-2xx requests over the runs.
        errors: u64,
        /// Requests/s and p99 latency of the last run.
        rps: f64,
        p99_ms: f64,
    },
    /// Free text: under Notes, or in its section's text when `section` is set.
    Note {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        section: Option<String>,
    },
}
