//! The report section of a feature's cost rows: the instruction table with the A/A rows
//! it is calibrated by, then the CPU-time table.

use super::*;

/// The section of a feature under `heading` (its `## ` or `### ` line): its instruction rows
/// with the A/A rows they are calibrated by, then its CPU-time rows; judged against
/// `max_cost`, or shown without a verdict when the feature has no aim (`None`).
pub fn section(
    out: &mut String,
    r: &[Record],
    feature: &str,
    heading: &str,
    what: &str,
    max_cost: Option<f64>,
) {
    let instr = rows(r, feature, Measure::Instructions);
    let cpu = rows(r, feature, Measure::CpuTime);
    if instr.is_empty() && cpu.is_empty() {
        return;
    }
    let judged = match max_cost {
        Some(m) => format!(
            "Verdict against the aim of {:.0}%: pass when the whole interval is within it, miss when the whole \
             interval is above it, else within noise.",
            m * 100.0
        ),
        None => "No aim: the rows say what the feature costs, without a verdict.".into(),
    };
    let _ = writeln!(
        out,
        "{heading}\n\n{what} Two fresh servers started alike from one pristine store (same seed objects, same flags \
         but the one under test), both warmed, then rounds in ABBA order; cost = with / without - 1 per round; the \
         median of the rounds, its 90% confidence interval (order statistics of the rounds) and their range. \
         {judged}\n"
    );
    if !instr.is_empty() {
        instr_table(out, r, &instr, max_cost);
    }
    if !cpu.is_empty() {
        cpu_table(out, &cpu, max_cost, !instr.is_empty());
    }
    crate::report::section_notes(out, r, feature);
}

/// A row's verdict cell: against the aim, or none when there is no aim.
fn verdict_cell(row: &Row, max_cost: Option<f64>, aa: Option<Calibration>) -> String {
    match max_cost {
        Some(m) => row.verdict(m, aa).cell(),
        None => "no aim".into(),
    }
}

fn instr_table(out: &mut String, r: &[Record], instr: &[Row], max_cost: Option<f64>) {
    let _ = writeln!(
        out,
        "**Instructions per request**{}: both servers under valgrind's callgrind \
         (`--tool=callgrind`), which counts every instruction the server's threads execute; each side of a \
         round opens 64 connections and warms them, then runs of n GETs over them as fast as the server answers \
         (one outstanding per connection), the server's counter zeroed before each run and dumped after it; the \
         median run over n is one request's (no handshake, teardown or start-up counted; the server's background \
         work during the runs is, alike on both sides, but a burst of it in one run is left out by the median). \
         Instructions are a proxy for CPU time that this shared machine's load hardly moves; they miss what an \
         instruction costs: cache and TLB misses, branch mispredictions, lock waits and contention between cores \
         (valgrind runs one thread at a time), and the kernel's work (system calls are not counted). The A/A rows \
         calibrate the measure: two servers started alike with nothing different (no audit, the empty revocation \
         list, the default limits, the client certificate); their median must be within ±{:.1}% (the same \
         server costs nothing), and each feature's interval below is widened by its protocol's A/A interval's \
         largest deviation from zero before the verdict (the column shows the widened interval).\n",
        if max_cost.is_some() { " (the verdict)" } else { "" },
        AA_MAX * 100.0
    );
    let _ = writeln!(
        out,
        "| request | auth | proto | conns | rate/s | n | with instr/req | without | cost (median) | 90% CI (± A/A) | \
         range | with req/s | rounds | verdict |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut protos: Vec<&str> = Vec::new();
    for row in instr {
        if !protos.contains(&row.proto.as_str()) {
            protos.push(&row.proto);
        }
    }
    for proto in protos {
        if let Some(row) = rows(r, AA, Measure::Instructions).into_iter().find(|row| row.proto == proto) {
            let c = calibration(r, proto);
            let cell = match c {
                Some(c) if c.holds() => format!("calibrated (median within ±{:.1}%)", AA_MAX * 100.0),
                Some(_) if row.diffs().len() < MIN_ROUNDS => {
                    format!("no calibration: fewer than {MIN_ROUNDS} rounds")
                }
                Some(c) => {
                    format!("**not calibrated** (median beyond ±{:.1}%: {})", AA_MAX * 100.0, pct2(c.median))
                }
                None => format!("no calibration: {} requests failed", row.errors()),
            };
            instr_line(out, &row, "get (A/A)", None, cell);
        }
    }
    for row in instr {
        let aa = calibration(r, &row.proto);
        instr_line(out, row, "get", aa, verdict_cell(row, max_cost, aa));
    }
    let _ = writeln!(out);
}

fn instr_line(out: &mut String, row: &Row, request: &str, aa: Option<Calibration>, verdict: String) {
    let d = row.diffs();
    let ci = match row.interval(aa) {
        Some((lo, hi)) => format!("{} .. {}", pct2(lo), pct2(hi)),
        None => "-".into(),
    };
    let range = match (d.first(), d.last()) {
        (Some(min), Some(max)) => format!("{} .. {}", pct2(*min), pct2(*max)),
        _ => "-".into(),
    };
    let n = row.pairs.iter().map(|(w, wo)| w.requests.min(wo.requests)).min().unwrap_or(0);
    let errors = row.errors();
    let _ = writeln!(
        out,
        "| {request} | {} | {} | {} | {} | {n}{} | {:.0} | {:.0} | {} | {ci} | {range} | {:.0} | {} | {verdict} |",
        row.auth,
        row.proto,
        row.conc,
        if row.rate > 0.0 { format!("{:.0}", row.rate) } else { "max".into() },
        if errors > 0 { format!(" ({errors} errors)") } else { String::new() },
        row.side_median(|p| p.0.value),
        row.side_median(|p| p.1.value),
        median(&d).map(pct2).unwrap_or_else(|| "-".into()),
        row.side_median(|p| p.0.rps),
        d.len(),
    );
}

fn cpu_table(out: &mut String, cpu: &[Row], max_cost: Option<f64>, secondary: bool) {
    let _ = writeln!(
        out,
        "**Server CPU time per request**{}: the servers run natively at a fixed rate (busy, not saturated), a fixed \
         request count per run; the measure is the server's CPU time per request (user + system, /proc/PID/stat), \
         which counts what instructions miss but swings by several percent between rounds on this shared \
         machine.\n",
        if secondary { " (shown, not judged: the instruction rows decide)" } else { "" }
    );
    let _ = writeln!(
        out,
        "| request | auth | proto | conns | rate/s | requests/run | with CPU µs/req | without | cost (median) | 90% CI | \
         range | with p99 ms | without p99 ms | rounds | verdict |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for row in cpu {
        let d = row.diffs();
        let (ci, range) = match (median_interval(&d, CONFIDENCE), d.first().zip(d.last())) {
            (Some((lo, hi)), Some((min, max))) => {
                (format!("{} .. {}", pct(lo), pct(hi)), format!("{} .. {}", pct(*min), pct(*max)))
            }
            _ => ("-".into(), "-".into()),
        };
        let requests = row.pairs.iter().map(|(w, wo)| w.requests.min(wo.requests)).min().unwrap_or(0);
        let errors = row.errors();
        let verdict = verdict_cell(row, max_cost, None);
        let _ = writeln!(
            out,
            "| get | {} | {} | {} | {:.0} | {requests}{} | {:.1} | {:.1} | {} | {ci} | {range} | {:.2} | {:.2} | {} | {} |",
            row.auth,
            row.proto,
            row.conc,
            row.rate,
            if errors > 0 { format!(" ({errors} errors)") } else { String::new() },
            row.side_median(|p| p.0.value),
            row.side_median(|p| p.1.value),
            median(&d).map(pct).unwrap_or_else(|| "-".into()),
            row.side_median(|p| p.0.p99_ms),
            row.side_median(|p| p.1.p99_ms),
            d.len(),
            if secondary { format!("({verdict})") } else { verdict },
        );
    }
    let _ = writeln!(out);
}
