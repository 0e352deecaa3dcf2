//! The "kube-apiserver as a peer" section (issue #20): the same GET, LIST and ConfigMap creates
//! against kubeward and against the real kube-apiserver of `scripts/reference` (on the etcd 3.6
//! it builds, and on Debian's etcd 3.4 when installed), rows interleaved, with each server's
//! idle and loaded RSS, so the report says side by side what a user would get from the server
//! they would otherwise pick. Ratios are kubeward / kube-apiserver.

use super::{find_request, ratio, rps_of, section_notes, writes_at, Record};
use std::fmt::Write;

/// The row label of the kubeward measured next to the peers.
pub const KUBEWARD: &str = "kubeward-peer";

/// The peers' row labels and how the report names them.
pub const PEERS: [(&str, &str); 2] =
    [("kube-apiserver", "kube-apiserver (etcd 3.6)"), ("kube-apiserver-etcd34", "kube-apiserver (etcd 3.4)")];

fn has_rows(r: &[Record], t: &str) -> bool {
    r.iter().any(|x| match x {
        Record::Request { target, .. } | Record::Writes { target, .. } => target == t,
        _ => false,
    })
}

fn rss(r: &[Record], w: &str) -> String {
    r.iter()
        .find_map(|x| match x {
            Record::Rss { what, kib } if what == w => Some(super::mib(*kib)),
            _ => None,
        })
        .unwrap_or_else(|| "-".into())
}

pub fn section(out: &mut String, r: &[Record]) {
    let _ = writeln!(out, "## kube-apiserver as a peer\n");
    let _ = writeln!(
        out,
        "The request path's GET and LIST (cert auth) and the durable writes' ConfigMap creates against \
         kubeward (embedded store) and against kube-apiserver built by `scripts/reference` (same version \
         as the conformance run, `--authorization-mode=Node,RBAC`, default admission plugins, its \
         controller manager running kubeward's controllers, on a single-member etcd on the same disk), \
         each seeded with the same objects, rows interleaved. kube-apiserver reads a GET and a LIST from \
         etcd (a quorum read); kubeward from its store. Ratio = kubeward / kube-apiserver.\n"
    );
    let peers: Vec<(&str, &str)> = PEERS.iter().copied().filter(|(t, _)| has_rows(r, t)).collect();
    let missing: Vec<String> = r
        .iter()
        .filter_map(|x| match x {
            Record::Missing { section, what, reason } if section == "peer" => {
                Some(format!("- {what}: n/a ({reason})"))
            }
            _ => None,
        })
        .collect();
    if peers.is_empty() {
        if missing.is_empty() {
            let _ = writeln!(out, "Not run.\n");
        }
    } else {
        requests(out, r, &peers);
        writes(out, r, &peers);
        let mut rows = vec![("kubeward", KUBEWARD)];
        rows.extend(peers.iter().map(|(t, name)| (*name, *t)));
        let _ = writeln!(out, "| server | idle RSS | RSS after the rows |\n|---|---|---|");
        for (name, t) in rows {
            let _ = writeln!(
                out,
                "| {name} | {} | {} |",
                rss(r, &format!("{t} idle")),
                rss(r, &format!("{t} loaded"))
            );
        }
        let _ = writeln!(out);
    }
    for m in &missing {
        let _ = writeln!(out, "{m}");
    }
    if !missing.is_empty() {
        let _ = writeln!(out);
    }
    section_notes(out, r, "peer");
}

fn requests(out: &mut String, r: &[Record], peers: &[(&str, &str)]) {
    let mut head = "| request | proto | conns | kubeward req/s | p99 ms |".to_string();
    let mut rule = "|---|---|---|---|---|".to_string();
    for (_, name) in peers {
        head.push_str(&format!(" {name} req/s | p99 ms | ratio |"));
        rule.push_str("---|---|---|");
    }
    let _ = writeln!(out, "{head}\n{rule}");
    for x in r {
        let Record::Request { target, object, auth, proto, conc, rps, p99_ms, errors, .. } = x else {
            continue;
        };
        if target != KUBEWARD {
            continue;
        }
        let err = if *errors > 0 { format!(" ({errors} errors)") } else { String::new() };
        let mut line = format!("| {object} | {proto} | {conc} | {rps:.0}{err} | {p99_ms:.2} |");
        for (t, _) in peers {
            let peer = find_request(r, t, object, auth, proto, *conc);
            match peer {
                Some(Record::Request { rps: prps, p99_ms: pp99, errors: perr, .. }) => {
                    let err = if *perr > 0 { format!(" ({perr} errors)") } else { String::new() };
                    line.push_str(&format!(" {prps:.0}{err} | {pp99:.2} | {} |", ratio(*rps, rps_of(peer))));
                }
                _ => line.push_str(" - | - | n/a |"),
            }
        }
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out);
}

fn writes(out: &mut String, r: &[Record], peers: &[(&str, &str)]) {
    let mut clients: Vec<u32> = r
        .iter()
        .filter_map(|x| match x {
            Record::Writes { target, clients, .. } if target == KUBEWARD => Some(*clients),
            _ => None,
        })
        .collect();
    if clients.is_empty() {
        return;
    }
    clients.sort_unstable();
    clients.dedup();
    let mut head = "| clients | kubeward creates/s | p99 ms |".to_string();
    let mut rule = "|---|---|---|".to_string();
    for (_, name) in peers {
        head.push_str(&format!(" {name} creates/s | p99 ms | ratio |"));
        rule.push_str("---|---|---|");
    }
    let _ = writeln!(out, "{head}\n{rule}");
    for c in clients {
        let Some(k) = writes_at(r, KUBEWARD, c) else { continue };
        let mut line = format!("| {c} | {:.0} | {:.2} |", k.per_sec, k.p99_ms);
        for (t, _) in peers {
            match writes_at(r, t, c) {
                Some(p) => line.push_str(&format!(
                    " {:.0} | {:.2} | {} |",
                    p.per_sec,
                    p.p99_ms,
                    ratio(k.per_sec, p.per_sec)
                )),
                None => line.push_str(" - | - | n/a |"),
            }
        }
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Summary;

    fn req(target: &str, object: &str, rps: f64) -> Record {
        Record::Request {
            target: target.into(),
            object: object.into(),
            auth: "cert".into(),
            proto: "h2".into(),
            conc: 64,
            rps,
            p50_ms: 1.0,
            p99_ms: 2.0,
            errors: 0,
            tool: "oha".into(),
            server_cpu_us: None,
        }
    }

    fn writes(target: &str, per_sec: f64) -> Record {
        Record::Writes {
            target: target.into(),
            clients: 16,
            value_bytes: 10,
            summary: Summary { count: 1, per_sec, ..Summary::default() },
            server_cpu_ms: Vec::new(),
            admission: None,
        }
    }

    #[test]
    fn ratios_against_each_peer_that_ran() {
        let r = vec![
            req(KUBEWARD, "get", 3000.0),
            req("kube-apiserver", "get", 1500.0),
            writes(KUBEWARD, 900.0),
            writes("kube-apiserver", 300.0),
            Record::Rss { what: "kube-apiserver idle".into(), kib: 204_800 },
            Record::Missing {
                section: "peer".into(),
                what: "kube-apiserver on etcd 3.4".into(),
                reason: "etcd-server not installed".into(),
            },
        ];
        let mut out = String::new();
        section(&mut out, &r);
        assert!(out.contains("| get | h2 | 64 | 3000 | 2.00 | 1500 | 2.00 | 200% |"), "{out}");
        assert!(out.contains("| 16 | 900 | 0.00 | 300 | 0.00 | 300% |"), "{out}");
        assert!(out.contains("| kube-apiserver (etcd 3.6) | 200.0 MiB | - |"), "{out}");
        assert!(!out.contains("etcd 3.4) req/s"), "a peer without rows has no columns: {out}");
        assert!(out.contains("- kube-apiserver on etcd 3.4: n/a (etcd-server not installed)"), "{out}");
    }

    #[test]
    fn a_skipped_peer_is_named_not_silent() {
        let r = vec![Record::Missing {
            section: "peer".into(),
            what: "kube-apiserver rows".into(),
            reason: "kube-apiserver not built".into(),
        }];
        let mut out = String::new();
        section(&mut out, &r);
        assert!(out.contains("kube-apiserver rows: n/a (kube-apiserver not built)"), "{out}");
        assert!(!out.contains("| server |"), "{out}");
    }
}
