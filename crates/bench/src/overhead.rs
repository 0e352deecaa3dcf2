//! What a server feature costs on the request path: the same request against two kubeward
//! servers of one build, one with the feature (`kubeward+<feature>`) and one without
//! (`kubeward-<feature>-off`), in rounds interleaved by `bench/run`; the medians of each
//! side are compared. The features: audit (`kubeward+audit`: a realistic policy and the log
//! backend), the client-certificate revocation check (`kubeward+revocation`: a non-empty
//! revocation list) and the request limits (`kubeward+limits`: kube's in-flight pools).
//!
//! Two measures per row: req/s at saturation, and the server's CPU time per request. On a
//! shared machine req/s swings by tens of percent between identical rounds; CPU time per
//! request at a fixed request rate (rows `get@<rate>/s`, oha's `-q`) moves little, and a
//! saturated server's throughput is bound by it. So the aim's verdict is the extra CPU per
//! request at a fixed rate when those rows exist, else the req/s cost.

use crate::report::Record;
use std::fmt::Write;

/// The aim: the feature costs at most this share of a GET at 64 connections.
pub const AUDIT_MAX_COST: f64 = 0.05;
/// The aim for the revocation check (issue #14): at most 3% of a GET at 64 connections.
pub const REVOCATION_MAX_COST: f64 = 0.03;

/// The aim of issue 17: the request limits cost at most this share of a GET at 64 connections.
pub const LIMITS_MAX_COST: f64 = 0.03;

/// One compared row: (object, auth, proto, conns) and the medians with and without.
struct Row {
    key: (String, String, String, u32),
    rps: (f64, f64),
    cpu_us: Option<(f64, f64)>,
    rounds: usize,
}

impl Row {
    fn rps_cost(&self) -> Option<f64> {
        (self.rps.1 > 0.0).then(|| 1.0 - self.rps.0 / self.rps.1)
    }

    fn cpu_cost(&self) -> Option<f64> {
        self.cpu_us.filter(|c| c.1 > 0.0).map(|(with, without)| with / without - 1.0)
    }

    /// The rate of a `get@<rate>/s` row.
    fn rate(&self) -> Option<f64> {
        self.key.0.split_once('@')?.1.strip_suffix("/s")?.parse().ok()
    }

    /// A fixed-rate row whose both sides held their rate (a smoke run's 100 requests do not).
    fn held_its_rate(&self) -> bool {
        self.rate().is_some_and(|rate| self.rps.0 >= 0.9 * rate && self.rps.1 >= 0.9 * rate)
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}

fn rows(r: &[Record], feature: &str) -> Vec<Row> {
    let (on, off) = (format!("kubeward+{feature}"), format!("kubeward-{feature}-off"));
    let mut keys: Vec<(String, String, String, u32)> = Vec::new();
    for x in r {
        if let Record::Request { target, object, auth, proto, conc, .. } = x {
            let key = (object.clone(), auth.clone(), proto.clone(), *conc);
            if *target == on && !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    keys.into_iter()
        .map(|key| {
            let of = |t: &str| -> Vec<(f64, Option<f64>)> {
                r.iter()
                    .filter_map(|x| match x {
                        Record::Request { target, object, auth, proto, conc, rps, server_cpu_us, .. }
                            if target == t
                                && (object, auth, proto, *conc) == (&key.0, &key.1, &key.2, key.3) =>
                        {
                            Some((*rps, *server_cpu_us))
                        }
                        _ => None,
                    })
                    .collect()
            };
            let (w, wo) = (of(&on), of(&off));
            let rps = |v: &[(f64, Option<f64>)]| median(v.iter().map(|x| x.0).collect()).unwrap_or(0.0);
            let cpu = |v: &[(f64, Option<f64>)]| median(v.iter().filter_map(|x| x.1).collect());
            Row {
                rounds: w.len().min(wo.len()),
                rps: (rps(&w), rps(&wo)),
                cpu_us: cpu(&w).zip(cpu(&wo)),
                key,
            }
        })
        .collect()
}

/// The aims-table cell for a feature: the worst cost among its GET rows at 64 connections
/// (CPU per request at a fixed rate when measured, else req/s), and whether it is within
/// `max_cost`.
pub fn aim(r: &[Record], feature: &str, max_cost: f64) -> (String, Option<bool>) {
    let gets: Vec<Row> =
        rows(r, feature).into_iter().filter(|row| row.key.0.starts_with("get") && row.key.3 == 64).collect();
    if gets.iter().any(|row| row.rate().is_some() && !row.held_its_rate()) {
        return ("fixed-rate rows did not hold their rate".into(), None);
    }
    let by_cpu: Vec<(f64, String)> = gets
        .iter()
        .filter(|row| row.held_its_rate())
        .filter_map(|row| row.cpu_cost().map(|c| (c, format!("{} {} {}", row.key.0, row.key.1, row.key.2))))
        .collect();
    let (what, costs) = if by_cpu.is_empty() {
        let by_rps = gets
            .iter()
            .filter_map(|row| row.rps_cost().map(|c| (c, format!("{} {}", row.key.1, row.key.2))))
            .collect();
        ("req/s", by_rps)
    } else {
        ("CPU per request", by_cpu)
    };
    match costs.into_iter().max_by(|a, b| a.0.total_cmp(&b.0)) {
        Some((cost, row)) => (
            format!("worst GET row at 64 conns: {:.1}% more {what} ({row})", cost * 100.0),
            Some(cost <= max_cost),
        ),
        None => ("-".into(), None),
    }
}

/// The section listing every compared row of a feature.
pub fn section(out: &mut String, r: &[Record], feature: &str, title: &str, what: &str) {
    let rows = rows(r, feature);
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "## {title}\n\n{what} Medians of the rounds; `get@N/s` rows run at a fixed rate, where the server's CPU \
         time per request is the steady measure (the aim's verdict); req/s at saturation swings with the machine's load.\n"
    );
    let _ = writeln!(
        out,
        "| request | auth | proto | conns | with req/s | without req/s | req/s cost | with CPU µs/req | without | CPU cost | rounds |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|");
    let pct = |c: Option<f64>| c.map(|c| format!("{:.1}%", c * 100.0)).unwrap_or_else(|| "n/a".into());
    for row in &rows {
        let (o, a, p, c) = &row.key;
        let (cw, cwo) = match row.cpu_us {
            Some((w, wo)) => (format!("{w:.1}"), format!("{wo:.1}")),
            None => ("-".into(), "-".into()),
        };
        let _ = writeln!(
            out,
            "| {o} | {a} | {p} | {c} | {:.0} | {:.0} | {} | {cw} | {cwo} | {} | {} |",
            row.rps.0,
            row.rps.1,
            pct(row.rps_cost()),
            pct(row.cpu_cost()),
            row.rounds
        );
    }
    let _ = writeln!(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(target: &str, object: &str, proto: &str, rps: f64, cpu: Option<f64>) -> Record {
        Record::Request {
            target: target.into(),
            object: object.into(),
            auth: "cert".into(),
            proto: proto.into(),
            conc: 64,
            rps,
            p50_ms: 0.5,
            p99_ms: 2.0,
            errors: 0,
            tool: "oha".into(),
            server_cpu_us: cpu,
        }
    }

    #[test]
    fn medians_and_worst_cost() {
        let mut r = vec![
            req("kubeward+audit", "get", "h2", 96.0, Some(30.0)),
            req("kubeward-audit-off", "get", "h2", 100.0, Some(29.0)),
            req("kubeward+audit", "get", "h2", 90.0, None),
            req("kubeward-audit-off", "get", "h2", 101.0, None),
            req("kubeward+audit", "get", "h2", 97.0, None),
            req("kubeward-audit-off", "get", "h2", 99.0, None),
            req("kubeward+audit", "get", "h1", 80.0, None),
            req("kubeward-audit-off", "get", "h1", 100.0, None),
        ];
        let (text, pass) = aim(&r, "audit", AUDIT_MAX_COST);
        assert_eq!(
            (text.as_str(), pass),
            ("worst GET row at 64 conns: 20.0% more req/s (cert h1)", Some(false))
        );
        let mut out = String::new();
        section(&mut out, &r, "audit", "Audit cost", "GET with a policy.");
        assert!(out.contains("| get | cert | h2 | 64 | 96 | 100 | 4.0% | 30.0 | 29.0 | 3.4% | 3 |"), "{out}");
        // Fixed-rate rows decide by CPU per request.
        r.push(req("kubeward+audit", "get@3000/s", "h1", 3000.0, Some(41.6)));
        r.push(req("kubeward-audit-off", "get@3000/s", "h1", 3000.0, Some(40.0)));
        let (text, pass) = aim(&r, "audit", AUDIT_MAX_COST);
        assert_eq!(
            (text.as_str(), pass),
            ("worst GET row at 64 conns: 4.0% more CPU per request (get@3000/s cert h1)", Some(true))
        );
        assert_eq!(aim(&[], "audit", AUDIT_MAX_COST), ("-".into(), None));
        r.push(req("kubeward+audit", "get@3000/s", "h2", 700.0, Some(41.6)));
        r.push(req("kubeward-audit-off", "get@3000/s", "h2", 3000.0, Some(40.0)));
        assert_eq!(aim(&r, "audit", AUDIT_MAX_COST).1, None, "a row that did not hold its rate");
    }

    #[test]
    fn each_feature_is_judged_on_its_own_rows_and_aim() {
        let r = vec![
            req("kubeward+audit", "get@3000/s", "h2", 3000.0, Some(44.0)),
            req("kubeward-audit-off", "get@3000/s", "h2", 3000.0, Some(40.0)),
            req("kubeward+revocation", "get@3000/s", "h2", 3000.0, Some(40.8)),
            req("kubeward-revocation-off", "get@3000/s", "h2", 3000.0, Some(40.0)),
        ];
        assert_eq!(
            aim(&r, "revocation", REVOCATION_MAX_COST),
            ("worst GET row at 64 conns: 2.0% more CPU per request (get@3000/s cert h2)".into(), Some(true))
        );
        assert_eq!(aim(&r, "audit", AUDIT_MAX_COST).1, Some(false), "10% is over audit's 5%");
        let r = [
            req("kubeward+revocation", "get@3000/s", "h1", 3000.0, Some(41.6)),
            req("kubeward-revocation-off", "get@3000/s", "h1", 3000.0, Some(40.0)),
        ];
        assert_eq!(aim(&r, "revocation", REVOCATION_MAX_COST).1, Some(false), "4% is over 3%");
    }
}
