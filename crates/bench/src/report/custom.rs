//! The report's custom-resource and server-side-apply section (issue #12): each measured write
//! next to its baseline, the cost ratio and its aim, and the two rows of the Aims table.

use super::{verdict, Record};
use crate::stats::Summary;
use std::fmt::Write;

/// The section's heading, as `--only custom` finds it in an existing report.
pub const HEADING: &str = "## Custom resources and server-side apply";

/// A measured write, its baseline and the largest cost ratio it may have.
struct Pair {
    what: &'static str,
    op: &'static str,
    baseline_what: &'static str,
    baseline: &'static str,
    aim: f64,
}

const PAIRS: [Pair; 2] = [
    Pair {
        what: "custom resource create",
        op: "custom-create",
        baseline_what: "ConfigMap create",
        baseline: "configmap-create",
        aim: 1.5,
    },
    Pair {
        what: "server-side apply",
        op: "server-side-apply",
        baseline_what: "strategic merge patch",
        baseline: "strategic-merge-patch",
        aim: 2.0,
    },
];

/// One measured row: its summary, body length, rounds and server CPU ms per write.
struct Row<'a> {
    summary: &'a Summary,
    body_bytes: usize,
    rounds: u32,
    cpu_ms: Option<f64>,
}

fn op_at<'a>(r: &'a [Record], name: &str, c: u32) -> Option<Row<'a>> {
    r.iter().find_map(|x| match x {
        Record::Op { op, clients, body_bytes, rounds, summary, server_cpu_ms }
            if op == name && *clients == c =>
        {
            Some(Row { summary, body_bytes: *body_bytes, rounds: *rounds, cpu_ms: *server_cpu_ms })
        }
        _ => None,
    })
}

fn client_counts(r: &[Record]) -> Vec<u32> {
    let mut c: Vec<u32> = r
        .iter()
        .filter_map(|x| if let Record::Op { clients, .. } = x { Some(*clients) } else { None })
        .collect();
    c.sort_unstable();
    c.dedup();
    c
}

/// Baseline writes/s over measured writes/s: what one write costs next to its baseline.
fn cost(row: &Summary, base: &Summary) -> Option<f64> {
    (row.per_sec > 0.0 && base.per_sec > 0.0).then(|| base.per_sec / row.per_sec)
}

/// The Aims table's rows: the worst cost ratio over the client counts measured.
pub fn aims(out: &mut String, r: &[Record]) {
    for p in &PAIRS {
        let mut worst: Option<(f64, u32)> = None;
        for c in client_counts(r) {
            if let (Some(row), Some(base)) = (op_at(r, p.op, c), op_at(r, p.baseline, c)) {
                if let Some(q) = cost(row.summary, base.summary) {
                    if worst.is_none_or(|(w, _)| q > w) {
                        worst = Some((q, c));
                    }
                }
            }
        }
        let (m, pass) = match worst {
            Some((q, c)) => (format!("worst: {q:.2}x at {c} clients"), Some(q <= p.aim)),
            None => ("-".into(), None),
        };
        let _ =
            writeln!(out, "| {} cost <= {}x {} | {m} | {} |", p.what, p.aim, p.baseline_what, verdict(pass));
    }
}

/// The section.
pub fn section(out: &mut String, r: &[Record]) {
    let _ = writeln!(out, "{HEADING}\n");
    let size = |op| op_at_any(r, op).map(|row| row.body_bytes);
    let rounds = op_at_any(r, "custom-create").map_or(1, |row| row.rounds);
    let _ = writeln!(
        out,
        "One kubeward on the embedded store, started for this section from a fresh cluster. Each client owns one \
         HTTP/2 connection and sends one write at a time (`custom-writes`); the four rows of a client count run \
         one after the other, {}. Creates: custom resources of the `widgets.bench.kubeward.io` CRD (see the \
         notes below; bodies of {} bytes) next to ConfigMaps whose bodies have the same length ({} bytes). \
         Patches: each client changes its own Deployment (replicas and one label, alternating between two \
         states) by a strategic merge patch ({} bytes, `fieldManager={}`) and by a server-side apply of the \
         same change (`application/apply-patch+yaml`, {} bytes, `fieldManager={}&force=true`). Cost ratio = \
         baseline writes/s / writes/s (the aim bounds it; throughput ratio in brackets). CPU = the \
         server's CPU time (user + system) per acknowledged write in that round (the load generator's is not \
         in it; on a shared virtual machine, time the host takes away from a running thread is).\n",
        if rounds > 1 {
            format!(
                "repeated {rounds} times with each pair's order swapped every other round, and each row keeps \
                 its round of median writes/s"
            )
        } else {
            "once".to_string()
        },
        num(size("custom-create")),
        num(size("configmap-create")),
        num(size("strategic-merge-patch")),
        crate::custom::PATCH_MANAGER,
        num(size("server-side-apply")),
        crate::custom::APPLY_MANAGER,
    );
    let _ = writeln!(
        out,
        "| write | clients | writes/s | p50 ms | p99 ms | CPU ms | baseline | writes/s | p50 ms | p99 ms | CPU ms | cost ratio | aim | verdict |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for p in &PAIRS {
        for c in client_counts(r) {
            let row = op_at(r, p.op, c);
            let base = op_at(r, p.baseline, c);
            let q = match (&row, &base) {
                (Some(a), Some(b)) => cost(a.summary, b.summary),
                _ => None,
            };
            let ratio = q.map_or("n/a".into(), |q| format!("{q:.2}x ({:.0}%)", 100.0 / q));
            let _ = writeln!(
                out,
                "| {} | {c} | {} | {} | {} | {ratio} | <= {}x | {} |",
                p.what,
                cells(row.as_ref()),
                p.baseline_what,
                cells(base.as_ref()),
                p.aim,
                verdict(q.map(|q| q <= p.aim))
            );
        }
    }
    let _ = writeln!(out);
    for x in r {
        match x {
            Record::Note { text, section: Some(s) } if s == "custom" => {
                let _ = writeln!(out, "- {text}");
            }
            Record::Missing { section, what, reason } if section == "custom" => {
                let _ = writeln!(out, "- {what}: n/a ({reason})");
            }
            _ => {}
        }
    }
    let _ = writeln!(out);
}

fn op_at_any<'a>(r: &'a [Record], name: &str) -> Option<Row<'a>> {
    client_counts(r).into_iter().find_map(|c| op_at(r, name, c))
}

fn num(n: Option<usize>) -> String {
    n.map_or("?".into(), |n| n.to_string())
}

fn cells(row: Option<&Row<'_>>) -> String {
    match row {
        Some(Row { summary: s, cpu_ms, .. }) => {
            let err = if s.errors > 0 { format!(" ({} errors)", s.errors) } else { String::new() };
            let cpu = cpu_ms.map_or("-".into(), |c| format!("{c:.2}"));
            format!("{:.0}{err} | {:.2} | {:.2} | {cpu}", s.per_sec, s.p50_ms, s.p99_ms)
        }
        None => "- | - | - | -".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(name: &str, clients: u32, per_sec: f64) -> Record {
        Record::Op {
            op: name.into(),
            clients,
            body_bytes: 700,
            rounds: 3,
            summary: Summary { count: 10, per_sec, p50_ms: 1.0, p99_ms: 2.0, ..Summary::default() },
            server_cpu_ms: Some(1000.0 / per_sec),
        }
    }

    #[test]
    fn cost_ratios_against_their_aims() {
        let r = vec![
            op("configmap-create", 1, 1000.0),
            op("custom-create", 1, 800.0),
            op("configmap-create", 16, 3000.0),
            op("custom-create", 16, 1500.0),
            op("strategic-merge-patch", 1, 900.0),
            op("server-side-apply", 1, 600.0),
            Record::Note { text: "the CRD has 23 fields".into(), section: Some("custom".into()) },
            Record::Note { text: "elsewhere".into(), section: None },
        ];
        let mut md = String::new();
        section(&mut md, &r);
        assert!(md.contains("| custom resource create | 1 | 800 | 1.00 | 2.00 | 1.25 | ConfigMap create | 1000 | 1.00 | 2.00 | 1.00 | 1.25x (80%) | <= 1.5x | pass |"), "{md}");
        assert!(md.contains("| custom resource create | 16 | 1500 | 1.00 | 2.00 | 0.67 | ConfigMap create | 3000 | 1.00 | 2.00 | 0.33 | 2.00x (50%) | <= 1.5x | **miss** |"), "{md}");
        assert!(md.contains("| server-side apply | 1 | 600 |"), "{md}");
        assert!(md.contains("1.50x (67%) | <= 2x | pass |"), "{md}");
        // No apply rows at 16 clients: not measured.
        assert!(md.contains("| server-side apply | 16 | - | - | - | - | strategic merge patch | - | - | - | - | n/a | <= 2x | not measured at this size |"), "{md}");
        assert!(md.contains("repeated 3 times"), "{md}");
        assert!(md.contains("- the CRD has 23 fields"), "{md}");
        assert!(!md.contains("elsewhere"), "{md}");
        let mut a = String::new();
        aims(&mut a, &r);
        assert!(a.contains("| custom resource create cost <= 1.5x ConfigMap create | worst: 2.00x at 16 clients | **miss** |"), "{a}");
        assert!(
            a.contains(
                "| server-side apply cost <= 2x strategic merge patch | worst: 1.50x at 1 clients | pass |"
            ),
            "{a}"
        );
    }
}
