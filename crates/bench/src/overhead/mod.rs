//! What a server feature costs on the request path, and whether that cost is within its aim.
//!
//! `bench/run` starts two fresh kubeward servers of one build per feature, alike (copies of one
//! pristine store, the same seed objects, the same flags) but for the feature: one with it
//! (`with`) and one without. Both are warmed, then the same GET runs against each at a fixed
//! rate for a fixed number of requests, in rounds whose order alternates (ABBA: with, without;
//! without, with; ...). Each round gives one paired difference `with / without - 1` of a
//! per-request measure; a row shows their median, the 90% confidence interval of that median
//! (distribution-free, from the order statistics of the rounds) and their range, and a verdict:
//! `pass` when the whole interval is within the aim, `miss` when the whole interval is above it,
//! else `within noise` with the interval: the run cannot tell.
//!
//! Two measures, [`Measure`]:
//! - **Instructions per request** ([`Record::InstrRound`]), the one the verdicts come from: both
//!   servers run under valgrind's callgrind, which counts the instructions every thread of the
//!   server executes (`crate::callgrind`); a side of a round opens 64 connections, warms them,
//!   then counts runs of `n` requests over them as fast as the server answers (one request
//!   outstanding per connection), and the median run over `n` is one request's
//!   (`callgrind::per_request`): no handshake, teardown or start-up is counted, and a burst of
//!   background work in one run is left out. At a fixed modest rate the server's background work (timers, controllers),
//!   which grows with the run's length, spread the figure by ±7%; answered as fast as possible
//!   it is a small, steady share. Instruction counts hardly depend on what else the machine
//!   runs, where CPU time on this shared VM swings by ±8% between rounds; hardware counters
//!   (`perf stat -e instructions`) are not readable here. An A/A pair
//!   (feature `aa`: two servers started alike, nothing different) calibrates the measure: its
//!   median must be within ±[`AA_MAX`] (the same server costs nothing), and a feature's
//!   interval is widened by the A/A interval's largest deviation from zero before it is read
//!   against the aim (two servers differ in what the pair cannot see round to round: hash
//!   seeds, allocation addresses; and the A/A's spread is the measure's own).
//! - **CPU time per request** ([`Record::CostRound`]): user + system of all the server's
//!   threads from /proc/PID/stat over a run at a rate where the server is busy but not
//!   saturated. What instructions miss (cache misses, lock waits, the kernel's share), and too
//!   noisy here to resolve 3%; a verdict from it only when no instruction rows were measured.

use crate::report::Record;
use std::fmt::Write;

/// The aim of issue 14: the audit policy evaluation costs at most 5% of a GET at 64 connections.
pub const AUDIT_MAX_COST: f64 = 0.05;
/// The aim of issue 14: the revocation check costs at most 3% of a GET at 64 connections.
pub const REVOCATION_MAX_COST: f64 = 0.03;
/// The aim of issue 17: the request limits cost at most 3% of a GET at 64 connections.
pub const LIMITS_MAX_COST: f64 = 0.03;
/// The feature of the audit row issue 14's aim names: the policy evaluation alone (a
/// 15-rule policy against a one-rule policy giving the same events, both servers logging).
pub const AUDIT_POLICY: &str = "audit-policy";
/// The feature of the informational audit row: the log and policy against no audit.
pub const AUDIT_LOG: &str = "audit-log";
/// The A/A pair's interval must be within ± this for the instruction rows to give a verdict.
pub const AA_MAX: f64 = 0.005;
/// The feature name of the A/A calibration pair.
pub const AA: &str = "aa";

/// The confidence of the interval the verdict is read from.
const CONFIDENCE: f64 = 0.90;
/// Fewer paired rounds than this give no verdict.
const MIN_ROUNDS: usize = 5;
/// A fixed-rate run held its rate when it reached this share of it.
const HELD_RATE: f64 = 0.9;

/// What a row's rounds say about the aim.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// The whole confidence interval is within the aim.
    Pass,
    /// The whole confidence interval is above the aim.
    Miss,
    /// The interval straddles the aim: this run cannot tell.
    WithinNoise { lo: f64, hi: f64 },
    /// No verdict: too few rounds, a run below its rate, no calibration, or nothing measured.
    NoVerdict(String),
}

impl Verdict {
    /// The verdict cell of a table.
    pub fn cell(&self) -> String {
        match self {
            Verdict::Pass => "pass".into(),
            Verdict::Miss => "**miss**".into(),
            Verdict::WithinNoise { lo, hi } => format!("within noise (spread {} .. {})", pct(*lo), pct(*hi)),
            Verdict::NoVerdict(why) => format!("no verdict: {why}"),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Verdict::Pass => 0,
            Verdict::WithinNoise { .. } => 1,
            Verdict::NoVerdict(_) => 2,
            Verdict::Miss => 3,
        }
    }
}

/// The per-request measure of a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    /// Instructions per request under callgrind ([`Record::InstrRound`]).
    Instructions,
    /// Server CPU time per request ([`Record::CostRound`]).
    CpuTime,
}

/// One measured side of a round.
#[derive(Clone, Copy, Debug)]
struct Side {
    rps: f64,
    p99_ms: f64,
    /// Instructions or CPU µs per request; 0 when the run gave none.
    value: f64,
    requests: u64,
    errors: u64,
}

/// The compared rounds of one (auth, proto, conns, rate) of a feature.
struct Row {
    measure: Measure,
    auth: String,
    proto: String,
    conc: u32,
    rate: f64,
    /// (with, without) of each round that has both sides, in round order.
    pairs: Vec<(Side, Side)>,
}

/// The A/A pair's median difference and its interval for one protocol.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Calibration {
    median: f64,
    lo: f64,
    hi: f64,
    rounds: usize,
}

impl Calibration {
    /// The largest deviation from no difference the A/A interval allows.
    fn width(&self) -> f64 {
        self.lo.abs().max(self.hi.abs())
    }

    /// The same server on both sides costs nothing: |median| within [`AA_MAX`].
    fn holds(&self) -> bool {
        self.rounds >= MIN_ROUNDS && self.median.abs() <= AA_MAX
    }
}

impl Row {
    /// The per-round differences of the measure, `with / without - 1`, sorted.
    fn diffs(&self) -> Vec<f64> {
        let mut d: Vec<f64> = self
            .pairs
            .iter()
            .filter(|(w, wo)| wo.value > 0.0 && w.value > 0.0)
            .map(|(w, wo)| w.value / wo.value - 1.0)
            .collect();
        d.sort_by(|a, b| a.total_cmp(b));
        d
    }

    fn held_its_rate(&self) -> bool {
        self.pairs.iter().all(|(w, wo)| w.rps >= HELD_RATE * self.rate && wo.rps >= HELD_RATE * self.rate)
    }

    fn errors(&self) -> u64 {
        self.pairs.iter().map(|(w, wo)| w.errors + wo.errors).sum()
    }

    /// The interval of the median difference, widened by the calibration's deviation.
    fn interval(&self, aa: Option<Calibration>) -> Option<(f64, f64)> {
        let (lo, hi) = median_interval(&self.diffs(), CONFIDENCE)?;
        let w = aa.map_or(0.0, |c| c.width());
        Some((lo - w, hi + w))
    }

    fn verdict(&self, max_cost: f64, aa: Option<Calibration>) -> Verdict {
        let d = self.diffs();
        match self.measure {
            Measure::CpuTime if !self.held_its_rate() => {
                return Verdict::NoVerdict(format!("a run fell below {:.0}% of its rate", HELD_RATE * 100.0));
            }
            Measure::Instructions if self.errors() > 0 => {
                return Verdict::NoVerdict(format!("{} requests failed", self.errors()));
            }
            Measure::Instructions => match aa {
                None => return Verdict::NoVerdict(format!("no A/A calibration for {}", self.proto)),
                Some(c) if c.rounds < MIN_ROUNDS => {
                    return Verdict::NoVerdict(format!(
                        "the A/A pair has {} rounds (fewer than {MIN_ROUNDS})",
                        c.rounds
                    ))
                }
                Some(c) if !c.holds() => {
                    return Verdict::NoVerdict(format!(
                        "the A/A median ({}, {} rounds) is not within ±{:.1}%",
                        pct2(c.median),
                        c.rounds,
                        AA_MAX * 100.0
                    ))
                }
                Some(_) => {}
            },
            Measure::CpuTime => {}
        }
        if d.len() < MIN_ROUNDS {
            return Verdict::NoVerdict(format!("{} rounds (fewer than {MIN_ROUNDS})", d.len()));
        }
        let Some((lo, hi)) = self.interval(aa) else {
            return Verdict::NoVerdict("no interval".into());
        };
        if hi <= max_cost {
            Verdict::Pass
        } else if lo > max_cost {
            Verdict::Miss
        } else {
            Verdict::WithinNoise { lo, hi }
        }
    }

    fn side_median(&self, f: impl Fn(&(Side, Side)) -> f64) -> f64 {
        median(&self.pairs.iter().map(f).collect::<Vec<_>>()).unwrap_or(0.0)
    }

    fn label(&self) -> String {
        format!("{} {} {}", self.auth, self.proto, rate_text(self.rate))
    }
}

/// A run's rate: requests/s, or 0 for as fast as the server answers.
fn rate_text(rate: f64) -> String {
    if rate > 0.0 {
        format!("at {rate:.0}/s")
    } else {
        "as fast as answered".into()
    }
}

fn pct(x: f64) -> String {
    format!("{:+.1}%", x * 100.0)
}

/// Percentages with two decimals, for the A/A rows and instruction costs near zero.
fn pct2(x: f64) -> String {
    format!("{:+.2}%", x * 100.0)
}

fn median(v: &[f64]) -> Option<f64> {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

/// The distribution-free confidence interval of the median of `sorted` (ascending): the order
/// statistics `[x(k), x(n+1-k)]` for the largest `k` whose coverage, `1 - 2 P(B <= k-1)` with
/// `B ~ Binomial(n, 1/2)`, is at least `confidence`; `[min, max]` when even that falls short.
fn median_interval(sorted: &[f64], confidence: f64) -> Option<(f64, f64)> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    // P(B <= j) for j = 0.., accumulated from the binomial coefficients (n is a few rounds).
    let total = 2f64.powi(i32::try_from(n).ok()?);
    let mut coefficient = 1f64; // C(n, j)
    let mut below = 0f64; // P(B <= j - 1)
    let mut k = 1;
    for j in 0..n.div_ceil(2) - 1 {
        below += coefficient / total; // now P(B <= j)
                                      // Widening to k = j + 2 keeps coverage 1 - 2 P(B <= j + 1) only if that holds.
        coefficient = coefficient * (n - j) as f64 / (j + 1) as f64;
        if 1.0 - 2.0 * (below + coefficient / total) >= confidence {
            k = j + 2;
        } else {
            break;
        }
    }
    Some((sorted[k - 1], sorted[n - k]))
}

/// One side of a round as (feature, with, auth, proto, conc, round, rate, side), or `None` for
/// records of the other measure.
type Run<'a> = (&'a str, bool, &'a str, &'a str, u32, u32, f64, Side);

fn run_of(x: &Record, measure: Measure) -> Option<Run<'_>> {
    match (x, measure) {
        (
            Record::CostRound {
                feature,
                with,
                auth,
                proto,
                conc,
                round,
                rate,
                requests,
                rps,
                p99_ms,
                errors,
                server_cpu_us,
                ..
            },
            Measure::CpuTime,
        ) => {
            let side = Side {
                rps: *rps,
                p99_ms: *p99_ms,
                value: *server_cpu_us,
                requests: *requests,
                errors: *errors,
            };
            Some((feature, *with, auth, proto, *conc, *round, *rate, side))
        }
        (
            Record::InstrRound {
                feature,
                with,
                auth,
                proto,
                conc,
                round,
                rate,
                requests,
                runs_ir,
                errors,
                rps,
                p99_ms,
                ..
            },
            Measure::Instructions,
        ) => {
            let value = crate::callgrind::per_request(runs_ir, *requests).unwrap_or(0.0);
            let side = Side { rps: *rps, p99_ms: *p99_ms, value, requests: *requests, errors: *errors };
            Some((feature, *with, auth, proto, *conc, *round, *rate, side))
        }
        _ => None,
    }
}

/// Every compared row of a feature by one measure, in the order of their first record.
fn rows(r: &[Record], feature: &str, measure: Measure) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    let mut sides: Vec<(usize, u32, bool, Side)> = Vec::new(); // (row, round, with, side)
    for (f, with, auth, proto, conc, round, rate, side) in r.iter().filter_map(|x| run_of(x, measure)) {
        if f != feature {
            continue;
        }
        let at = match rows.iter().position(|row| {
            (row.auth.as_str(), row.proto.as_str(), row.conc, row.rate) == (auth, proto, conc, rate)
        }) {
            Some(at) => at,
            None => {
                rows.push(Row {
                    measure,
                    auth: auth.to_string(),
                    proto: proto.to_string(),
                    conc,
                    rate,
                    pairs: Vec::new(),
                });
                rows.len() - 1
            }
        };
        sides.push((at, round, with, side));
    }
    let mut rounds: Vec<(usize, u32)> = sides.iter().map(|(at, round, ..)| (*at, *round)).collect();
    rounds.sort_unstable();
    rounds.dedup();
    for (at, round) in rounds {
        let find = |with: bool| {
            sides.iter().find(|(a, r, w, _)| (*a, *r, *w) == (at, round, with)).map(|(.., side)| *side)
        };
        if let (Some(w), Some(wo), Some(row)) = (find(true), find(false), rows.get_mut(at)) {
            row.pairs.push((w, wo));
        }
    }
    rows
}

/// The A/A calibration of instruction rows of `proto`: the first A/A row of that protocol.
fn calibration(r: &[Record], proto: &str) -> Option<Calibration> {
    let row =
        rows(r, AA, Measure::Instructions).into_iter().find(|row| row.proto == proto && row.errors() == 0)?;
    let d = row.diffs();
    let (lo, hi) = median_interval(&d, CONFIDENCE)?;
    Some(Calibration { median: median(&d)?, lo, hi, rounds: d.len() })
}

/// The rows of a feature the verdict is read from: the instruction rows when there are any,
/// else the CPU-time rows.
fn judged_rows(r: &[Record], feature: &str) -> Vec<Row> {
    let instr = rows(r, feature, Measure::Instructions);
    if instr.is_empty() {
        rows(r, feature, Measure::CpuTime)
    } else {
        instr
    }
}

fn calibration_for(r: &[Record], row: &Row) -> Option<Calibration> {
    match row.measure {
        Measure::Instructions => calibration(r, &row.proto),
        Measure::CpuTime => None,
    }
}

/// Whether the records hold any cost rows of a feature.
pub fn has_rows(r: &[Record], feature: &str) -> bool {
    !rows(r, feature, Measure::Instructions).is_empty() || !rows(r, feature, Measure::CpuTime).is_empty()
}

/// The Aims-table cell of a feature: its worst GET row at 64 connections (miss, then no
/// verdict, then within noise, then pass) with its median cost and interval.
pub fn aim(r: &[Record], feature: &str, max_cost: f64) -> (String, Verdict) {
    let worst = judged_rows(r, feature)
        .into_iter()
        .filter(|row| row.conc == 64)
        .map(|row| {
            let aa = calibration_for(r, &row);
            (row.verdict(max_cost, aa), row, aa)
        })
        .max_by_key(|(v, ..)| v.rank());
    match worst {
        None => ("-".into(), Verdict::NoVerdict("not measured".into())),
        Some((v, row, aa)) => {
            let d = row.diffs();
            let what = match row.measure {
                Measure::Instructions => "instructions",
                Measure::CpuTime => "CPU",
            };
            let calibrated = aa.map(|c| format!(", A/A ±{:.2}%", c.width() * 100.0)).unwrap_or_default();
            let measured = match (median(&d), row.interval(aa)) {
                (Some(m), Some((lo, hi))) => format!(
                    "worst GET row at 64 conns: {} {what} per request, 90% CI {} .. {}{calibrated} ({}, {} rounds)",
                    pct(m),
                    pct(lo),
                    pct(hi),
                    row.label(),
                    d.len()
                ),
                _ => format!("no paired rounds ({})", row.label()),
            };
            (measured, v)
        }
    }
}

mod render;
pub use render::section;

#[cfg(test)]
mod tests;
