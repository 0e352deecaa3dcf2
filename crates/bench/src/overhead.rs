//! What a server feature costs on the request path, and whether that cost is within its aim.
//!
//! `bench/run` starts two fresh kubeward servers of one build per feature, alike (copies of one
//! pristine store, the same seed objects, the same flags) but for the feature: one with it
//! (`with`) and one without. Both are warmed, then the same GET runs against each at a fixed
//! rate for a fixed number of requests, in rounds whose order alternates (ABBA: with, without;
//! without, with; ...), so a drift of the shared machine falls on both sides alike. Each run is
//! a [`Record::CostRound`] holding the server's CPU time per request (user + system of all its
//! threads, from /proc/PID/stat, over the run).
//!
//! The measure is CPU per request at a rate where the server is busy but not saturated: req/s
//! at saturation on a shared machine swings by tens of percent between identical runs, and
//! at a low rate the CPU per request is mostly idle wakeups. (Instructions per request, steadier
//! still, need hardware counters this VM's perf cannot read.) Each round gives one paired
//! difference `with / without - 1`; a row shows their median, the 90% confidence interval of
//! that median (distribution-free, from the order statistics of the rounds) and their range,
//! and a verdict: `pass` when the whole interval is within the aim, `miss` when the whole
//! interval is above it, else `within noise` with the interval: the run cannot tell.

use crate::report::Record;
use std::fmt::Write;

/// The aim of issue 14: the audit policy evaluation costs at most 5% of a GET at 64 connections.
pub const AUDIT_MAX_COST: f64 = 0.05;
/// The aim of issue 14: the revocation check costs at most 3% of a GET at 64 connections.
pub const REVOCATION_MAX_COST: f64 = 0.03;
/// The aim of issue 17: the request limits cost at most 3% of a GET at 64 connections.
pub const LIMITS_MAX_COST: f64 = 0.03;

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
    /// No verdict: too few rounds, a run below its rate, or nothing measured.
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

/// One measured side of a round.
#[derive(Clone, Copy, Debug)]
struct Side {
    rps: f64,
    p99_ms: f64,
    cpu_us: f64,
    requests: u64,
    errors: u64,
}

/// The compared rounds of one (auth, proto, conns, rate) of a feature.
struct Row {
    auth: String,
    proto: String,
    conc: u32,
    rate: f64,
    /// (with, without) of each round that has both sides, in round order.
    pairs: Vec<(Side, Side)>,
}

impl Row {
    /// The per-round differences of CPU per request, `with / without - 1`, sorted.
    fn diffs(&self) -> Vec<f64> {
        let mut d: Vec<f64> = self
            .pairs
            .iter()
            .filter(|(_, wo)| wo.cpu_us > 0.0)
            .map(|(w, wo)| w.cpu_us / wo.cpu_us - 1.0)
            .collect();
        d.sort_by(|a, b| a.total_cmp(b));
        d
    }

    fn held_its_rate(&self) -> bool {
        self.pairs.iter().all(|(w, wo)| w.rps >= HELD_RATE * self.rate && wo.rps >= HELD_RATE * self.rate)
    }

    fn verdict(&self, max_cost: f64) -> Verdict {
        let d = self.diffs();
        if !self.held_its_rate() {
            return Verdict::NoVerdict(format!("a run fell below {:.0}% of its rate", HELD_RATE * 100.0));
        }
        if d.len() < MIN_ROUNDS {
            return Verdict::NoVerdict(format!("{} rounds (fewer than {MIN_ROUNDS})", d.len()));
        }
        let Some((lo, hi)) = median_interval(&d, CONFIDENCE) else {
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
        format!("{} {} at {:.0}/s", self.auth, self.proto, self.rate)
    }
}

fn pct(x: f64) -> String {
    format!("{:+.1}%", x * 100.0)
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

/// Every compared row of a feature, in the order of their first record.
fn rows(r: &[Record], feature: &str) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    let mut sides: Vec<(usize, u32, bool, Side)> = Vec::new(); // (row, round, with, side)
    for x in r {
        let Record::CostRound {
            feature: f,
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
        } = x
        else {
            continue;
        };
        if f != feature {
            continue;
        }
        let at = match rows
            .iter()
            .position(|row| (&row.auth, &row.proto, row.conc, row.rate) == (auth, proto, *conc, *rate))
        {
            Some(at) => at,
            None => {
                rows.push(Row {
                    auth: auth.clone(),
                    proto: proto.clone(),
                    conc: *conc,
                    rate: *rate,
                    pairs: Vec::new(),
                });
                rows.len() - 1
            }
        };
        let side =
            Side { rps: *rps, p99_ms: *p99_ms, cpu_us: *server_cpu_us, requests: *requests, errors: *errors };
        sides.push((at, *round, *with, side));
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

/// The Aims-table cell of a feature: its worst GET row at 64 connections (miss, then no
/// verdict, then within noise, then pass) with its median cost and interval.
pub fn aim(r: &[Record], feature: &str, max_cost: f64) -> (String, Verdict) {
    let worst = rows(r, feature)
        .into_iter()
        .filter(|row| row.conc == 64)
        .map(|row| {
            let v = row.verdict(max_cost);
            (v, row)
        })
        .max_by_key(|(v, _)| v.rank());
    match worst {
        None => ("-".into(), Verdict::NoVerdict("not measured".into())),
        Some((v, row)) => {
            let d = row.diffs();
            let measured = match (median(&d), median_interval(&d, CONFIDENCE)) {
                (Some(m), Some((lo, hi))) => format!(
                    "worst GET row at 64 conns: {} CPU per request, 90% CI {} .. {} ({}, {} rounds)",
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

/// The section listing every compared row of a feature.
pub fn section(out: &mut String, r: &[Record], feature: &str, title: &str, what: &str, max_cost: f64) {
    let rows = rows(r, feature);
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "## {title}\n\n{what} Two fresh servers started alike from one pristine store (same seed objects, same flags \
         but the one under test), both warmed, then rounds of a fixed request count at a fixed rate (busy, not \
         saturated) in ABBA order. The measure is the server's CPU time per request (user + system, /proc/PID/stat); \
         cost = with / without - 1 per round; the median of the rounds, its 90% confidence interval (order \
         statistics of the rounds) and their range. Verdict against the aim of {:.0}%: pass when the whole interval is \
         within it, miss when the whole interval is above it, else within noise.\n",
        max_cost * 100.0
    );
    let _ = writeln!(
        out,
        "| request | auth | proto | conns | rate/s | requests/run | with CPU µs/req | without | cost (median) | 90% CI | \
         range | with p99 ms | without p99 ms | rounds | verdict |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for row in &rows {
        let d = row.diffs();
        let (ci, range) = match (median_interval(&d, CONFIDENCE), d.first().zip(d.last())) {
            (Some((lo, hi)), Some((min, max))) => {
                (format!("{} .. {}", pct(lo), pct(hi)), format!("{} .. {}", pct(*min), pct(*max)))
            }
            _ => ("-".into(), "-".into()),
        };
        let requests = row.pairs.iter().map(|(w, wo)| w.requests.min(wo.requests)).min().unwrap_or(0);
        let errors: u64 = row.pairs.iter().map(|(w, wo)| w.errors + wo.errors).sum();
        let _ = writeln!(
            out,
            "| get | {} | {} | {} | {:.0} | {requests}{} | {:.1} | {:.1} | {} | {ci} | {range} | {:.2} | {:.2} | {} | {} |",
            row.auth,
            row.proto,
            row.conc,
            row.rate,
            if errors > 0 { format!(" ({errors} errors)") } else { String::new() },
            row.side_median(|p| p.0.cpu_us),
            row.side_median(|p| p.1.cpu_us),
            median(&d).map(pct).unwrap_or_else(|| "-".into()),
            row.side_median(|p| p.0.p99_ms),
            row.side_median(|p| p.1.p99_ms),
            d.len(),
            row.verdict(max_cost).cell(),
        );
    }
    let _ = writeln!(out);
    crate::report::section_notes(out, r, feature);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(feature: &str, with: bool, proto: &str, round: u32, rps: f64, cpu: f64) -> Record {
        Record::CostRound {
            feature: feature.into(),
            with,
            auth: "cert".into(),
            proto: proto.into(),
            conc: 64,
            round,
            first: (round % 2 == 1) == with,
            rate: 10000.0,
            requests: 50000,
            rps,
            p50_ms: 0.4,
            p99_ms: 2.0,
            errors: 0,
            server_cpu_us: cpu,
        }
    }

    /// Rounds 1..=n of a feature whose "with" side costs `costs[i]` more than 40 µs.
    fn rounds(feature: &str, costs: &[f64]) -> Vec<Record> {
        let mut r = Vec::new();
        for (i, c) in costs.iter().enumerate() {
            let round = i as u32 + 1;
            r.push(run(feature, true, "h1", round, 10000.0, 40.0 * (1.0 + c)));
            r.push(run(feature, false, "h1", round, 10000.0, 40.0));
        }
        r
    }

    #[test]
    fn median_interval_follows_the_binomial_order_statistics() {
        let v: Vec<f64> = (1..=8).map(f64::from).collect();
        // n = 8: [x(2), x(7)] covers 93%, [x(3), x(6)] only 71%.
        assert_eq!(median_interval(&v, 0.90), Some((2.0, 7.0)));
        // n = 7: [x(2), x(6)] covers 87.5%, short of 90%: the range.
        assert_eq!(median_interval(&v[..7], 0.90), Some((1.0, 7.0)));
        // n = 9: [x(2), x(8)] covers 96%, [x(3), x(7)] 82%.
        let v: Vec<f64> = (1..=9).map(f64::from).collect();
        assert_eq!(median_interval(&v, 0.90), Some((2.0, 8.0)));
        assert_eq!(median_interval(&[], 0.90), None);
        assert_eq!(median_interval(&[1.0], 0.90), Some((1.0, 1.0)));
        // n = 20: [x(6), x(15)] covers 95.9%, [x(7), x(14)] 88.5%.
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(median_interval(&v, 0.90), Some((6.0, 15.0)));
    }

    #[test]
    fn verdicts_read_the_interval_against_the_aim() {
        let pass = rounds("audit", &[0.01, 0.02, 0.00, 0.01, 0.03, 0.01, 0.025, 0.02]);
        let (text, v) = aim(&pass, "audit", AUDIT_MAX_COST);
        assert_eq!(v, Verdict::Pass, "{text}");
        assert!(text.contains("+1.5% CPU per request, 90% CI +1.0% .. +2.5%"), "{text}");
        assert!(text.contains("cert h1 at 10000/s, 8 rounds"), "{text}");

        let miss = rounds("audit", &[0.07, 0.08, 0.06, 0.09, 0.07, 0.06, 0.2, 0.055]);
        assert_eq!(aim(&miss, "audit", AUDIT_MAX_COST).1, Verdict::Miss);

        let noisy = rounds("audit", &[-0.04, 0.08, 0.01, -0.02, 0.07, 0.03, 0.0, 0.06]);
        let (_, v) = aim(&noisy, "audit", AUDIT_MAX_COST);
        match v {
            Verdict::WithinNoise { lo, hi } => {
                assert!((lo + 0.02).abs() < 1e-9 && (hi - 0.07).abs() < 1e-9, "{lo} {hi}");
                assert_eq!(v.cell(), "within noise (spread -2.0% .. +7.0%)");
            }
            other => panic!("{other:?}"),
        }
        // Each feature against its own aim: 4% passes audit's 5%, misses the revocation's 3%.
        let four = rounds("revocation", &[0.04; 8]);
        assert_eq!(aim(&four, "revocation", REVOCATION_MAX_COST).1, Verdict::Miss);
        assert_eq!(aim(&four, "audit", AUDIT_MAX_COST).1, Verdict::NoVerdict("not measured".into()));
    }

    #[test]
    fn no_verdict_from_few_rounds_or_a_run_below_its_rate() {
        let few = rounds("limits", &[0.0, 0.01, 0.0]);
        assert_eq!(
            aim(&few, "limits", LIMITS_MAX_COST).1,
            Verdict::NoVerdict("3 rounds (fewer than 5)".into())
        );
        let mut slow = rounds("limits", &[0.0; 8]);
        slow.push(run("limits", true, "h1", 9, 7000.0, 40.0));
        slow.push(run("limits", false, "h1", 9, 10000.0, 40.0));
        assert!(
            matches!(aim(&slow, "limits", LIMITS_MAX_COST).1, Verdict::NoVerdict(w) if w.contains("rate"))
        );
        // A round with one side only is not paired.
        let mut lone = rounds("limits", &[0.0; 5]);
        lone.push(run("limits", true, "h1", 6, 10000.0, 80.0));
        assert_eq!(rows(&lone, "limits")[0].pairs.len(), 5);
    }

    #[test]
    fn the_worst_row_decides_and_the_section_shows_each() {
        let mut r = rounds("audit", &[0.0; 8]);
        for round in 1..=8 {
            r.push(run("audit", true, "h2", round, 10000.0, 50.0));
            r.push(run("audit", false, "h2", round, 10000.0, 40.0));
        }
        let (text, v) = aim(&r, "audit", AUDIT_MAX_COST);
        assert_eq!(v, Verdict::Miss);
        assert!(text.contains("+25.0%") && text.contains("cert h2"), "{text}");
        let mut out = String::new();
        section(&mut out, &r, "audit", "Audit cost", "GET with a policy.", AUDIT_MAX_COST);
        assert!(out.starts_with("## Audit cost\n\nGET with a policy. Two fresh servers"), "{out}");
        assert!(
            out.contains(
                "| get | cert | h1 | 64 | 10000 | 50000 | 40.0 | 40.0 | +0.0% | +0.0% .. +0.0% | +0.0% .. +0.0% | 2.00 | 2.00 | 8 | pass |"
            ),
            "{out}"
        );
        assert!(out.contains("| 50.0 | 40.0 | +25.0% |") && out.ends_with("| 8 | **miss** |\n\n"), "{out}");
        let mut empty = String::new();
        section(&mut empty, &[], "audit", "Audit cost", "-", AUDIT_MAX_COST);
        assert!(empty.is_empty());
    }
}
