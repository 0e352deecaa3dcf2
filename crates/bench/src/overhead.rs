//! What a server feature costs on the request path: the same request against two kubeward
//! servers of one build, one with the feature (`kubeward+<feature>`) and one without
//! (`kubeward-<feature>-off`), in rounds interleaved by `bench/run`; the median req/s of each
//! side is compared. Audit (`kubeward+audit`: a realistic policy and the log backend) is the
//! first such feature.

use crate::report::Record;
use std::fmt::Write;

/// The aim: the feature costs at most this share of GET req/s at 64 connections.
pub const AUDIT_MAX_COST: f64 = 0.05;

/// One compared row: (object, auth, proto, conns), median req/s with and without, rounds.
struct Row {
    key: (String, String, String, u32),
    with: f64,
    without: f64,
    rounds: usize,
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
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
            let of = |t: &str| -> Vec<f64> {
                r.iter()
                    .filter_map(|x| match x {
                        Record::Request { target, object, auth, proto, conc, rps, .. }
                            if target == t
                                && (object, auth, proto, *conc) == (&key.0, &key.1, &key.2, key.3) =>
                        {
                            Some(*rps)
                        }
                        _ => None,
                    })
                    .collect()
            };
            let (w, wo) = (of(&on), of(&off));
            Row { rounds: w.len().min(wo.len()), with: median(w), without: median(wo), key }
        })
        .collect()
}

/// The aims-table cell for a feature: the worst cost among its GET rows at 64 connections,
/// and whether it is within `max_cost`.
pub fn aim(r: &[Record], feature: &str, max_cost: f64) -> (String, Option<bool>) {
    let worst = rows(r, feature)
        .into_iter()
        .filter(|row| row.key.0 == "get" && row.key.3 == 64 && row.without > 0.0)
        .map(|row| (1.0 - row.with / row.without, format!("{} {}", row.key.1, row.key.2)))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match worst {
        Some((cost, row)) => {
            (format!("worst GET row at 64 conns: {:.1}% ({row})", cost * 100.0), Some(cost <= max_cost))
        }
        None => ("-".into(), None),
    }
}

/// The section listing every compared row of a feature.
pub fn section(out: &mut String, r: &[Record], feature: &str, title: &str, what: &str) {
    let rows = rows(r, feature);
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "## {title}\n\n{what} Cost = 1 - with / without (medians).\n");
    let _ = writeln!(out, "| request | auth | proto | conns | with req/s | without req/s | rounds | cost |");
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    for row in rows {
        let cost = if row.without > 0.0 {
            format!("{:.1}%", 100.0 * (1.0 - row.with / row.without))
        } else {
            "n/a".into()
        };
        let (o, a, p, c) = &row.key;
        let _ = writeln!(
            out,
            "| {o} | {a} | {p} | {c} | {:.0} | {:.0} | {} | {cost} |",
            row.with, row.without, row.rounds
        );
    }
    let _ = writeln!(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(target: &str, proto: &str, rps: f64) -> Record {
        Record::Request {
            target: target.into(),
            object: "get".into(),
            auth: "cert".into(),
            proto: proto.into(),
            conc: 64,
            rps,
            p50_ms: 0.5,
            p99_ms: 2.0,
            errors: 0,
            tool: "oha".into(),
        }
    }

    #[test]
    fn medians_and_worst_cost() {
        let r = vec![
            req("kubeward+audit", "h2", 96.0),
            req("kubeward-audit-off", "h2", 100.0),
            req("kubeward+audit", "h2", 90.0),
            req("kubeward-audit-off", "h2", 101.0),
            req("kubeward+audit", "h2", 97.0),
            req("kubeward-audit-off", "h2", 99.0),
            req("kubeward+audit", "h1", 80.0),
            req("kubeward-audit-off", "h1", 100.0),
        ];
        let (text, pass) = aim(&r, "audit", AUDIT_MAX_COST);
        assert_eq!((text.as_str(), pass), ("worst GET row at 64 conns: 20.0% (cert h1)", Some(false)));
        let mut out = String::new();
        section(&mut out, &r, "audit", "Audit cost", "GET with a policy.");
        assert!(out.contains("| get | cert | h2 | 64 | 96 | 100 | 3 | 4.0% |"), "{out}");
        assert_eq!(aim(&[], "audit", AUDIT_MAX_COST), ("-".into(), None));
    }
}
