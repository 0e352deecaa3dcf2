//! The Aims table at the head of the report (every aim of the issues, measured or not), and the
//! aims that also close their own sections (kubeward on etcd, the dashboard).

use super::request::{find_request, requests, rps_of};
use super::writes::writes_at;
use super::{custom, failover, mib, ratio, rss_of, verdict, Record};
use std::fmt::Write;

pub(super) fn aims(out: &mut String, r: &[Record]) {
    let _ = writeln!(out, "## Aims\n\n| aim | measured | verdict |\n|---|---|---|");
    // Every GET and LIST row at 64 connections at least 85% of the bare server (issue 19).
    for what in ["get", "list"] {
        let mut worst: Option<(f64, String)> = None;
        for x in requests(r) {
            if let Record::Request { target, object, auth, proto, conc, rps, .. } = x {
                if target != "kubeward" || object != what || *conc != 64 {
                    continue;
                }
                let bare = rps_of(find_request(r, "bare", object, auth, proto, *conc));
                if bare > 0.0 {
                    let q = rps / bare;
                    if worst.as_ref().is_none_or(|(w, _)| q < *w) {
                        worst = Some((q, format!("{auth} {proto}")));
                    }
                }
            }
        }
        let (m, p) = match &worst {
            Some((q, row)) => {
                (format!("worst {what} row at 64 conns: {:.0}% ({row})", q * 100.0), Some(*q >= 0.85))
            }
            None => ("-".into(), None),
        };
        let what = what.to_uppercase();
        let _ = writeln!(out, "| {what} >= 85% of bare hyper+rustls at 64 conns | {m} | {} |", verdict(p));
    }
    let (m, p) = crate::overhead::aim(r, crate::overhead::AUDIT_POLICY, crate::overhead::AUDIT_MAX_COST);
    let _ = writeln!(out, "| audit policy costs <= 5% of GET at 64 conns | {m} | {} |", p.cell());
    let (m, p) = crate::overhead::aim(r, "revocation", crate::overhead::REVOCATION_MAX_COST);
    let _ = writeln!(out, "| revocation check costs <= 3% of GET at 64 conns | {m} | {} |", p.cell());
    let (m, p) = crate::overhead::aim(r, "limits", crate::overhead::LIMITS_MAX_COST);
    let _ = writeln!(out, "| request limits cost <= 3% of GET at 64 conns | {m} | {} |", p.cell());
    // Durable creates at least etcd's puts/s at 1, 16 and 64 clients, p99 no worse (issue 19).
    let mut rows = Vec::new();
    let mut pass = Some(true);
    for c in [1, 16, 64] {
        match (writes_at(r, "embedded", c), writes_at(r, "etcd", c)) {
            (Some(a), Some(b)) => {
                rows.push(format!(
                    "{c}: {:.0} vs {:.0}/s ({}), p99 {:.1} vs {:.1} ms",
                    a.per_sec,
                    b.per_sec,
                    ratio(a.per_sec, b.per_sec),
                    a.p99_ms,
                    b.p99_ms
                ));
                pass = pass.map(|p| p && a.per_sec >= b.per_sec && a.p99_ms <= b.p99_ms);
            }
            _ => pass = None,
        }
    }
    let (m, p) = if rows.is_empty() { ("-".into(), None) } else { (rows.join("; "), pass) };
    let _ = writeln!(
        out,
        "| creates/s >= etcd puts/s and p99 no worse, at 1, 16 and 64 clients | {m} | {} |",
        verdict(p)
    );
    etcd_aims(out, r);
    let f = r.iter().find_map(|x| if let Record::Fanout { result } = x { Some(result) } else { None });
    let (m, p) = match f {
        Some(f) => (
            format!("p99 {:.1} ms with {} watchers", f.all_p99_ms, f.watchers),
            (f.watchers >= 10_000).then_some(f.all_p99_ms < 50.0),
        ),
        None => ("-".into(), None),
    };
    let _ = writeln!(out, "| watch fan-out p99 < 50 ms, 10,000 watchers | {m} | {} |", verdict(p));
    let (m, p) = match f {
        Some(f) => (
            format!("{:.1} KiB per watcher with {} watchers", f.per_watcher_kib, f.watchers),
            (f.watchers >= 10_000).then_some(f.per_watcher_kib <= 8.0),
        ),
        None => ("-".into(), None),
    };
    let _ = writeln!(out, "| memory per watcher <= 8 KiB, 10,000 watchers | {m} | {} |", verdict(p));
    let idle = rss_of(r, "kubeward idle");
    let (m, p) = match idle {
        Some(k) => (mib(k), Some(k < 30 * 1024)),
        None => ("-".into(), None),
    };
    let _ = writeln!(out, "| idle RSS < 30 MiB | {m} | {} |", verdict(p));
    let ready = r
        .iter()
        .filter_map(|x| if let Record::Ready { objects, ms, .. } = x { Some((*objects, *ms)) } else { None })
        .max_by_key(|(o, _)| *o);
    let (m, p) = match ready {
        Some((o, ms)) => (format!("{ms:.0} ms with {o} objects"), (o >= 100_000).then_some(ms < 1000.0)),
        None => ("-".into(), None),
    };
    let _ = writeln!(out, "| ready < 1 s with 100k objects | {m} | {} |", verdict(p));
    if let Some((o, ms)) = ready.filter(|(o, _)| *o >= 1_000_000) {
        let _ = writeln!(
            out,
            "| ready < 2 s with 1M objects | {ms:.0} ms with {o} objects | {} |",
            verdict(Some(ms < 2000.0))
        );
    }
    super::policies::aims(out, r);
    custom::aims(out, r);
    let _ = writeln!(out);
}

/// The aims of kubeward on etcd: creates at etcd's pace, reads from the watch cache at the
/// embedded store's. Rows of the Aims table, and of their own sections (an `--only` run keeps
/// the Aims table of the last full run).
pub(super) fn etcd_aims(out: &mut String, r: &[Record]) {
    let (m, p) = etcd_write_aim(r);
    let _ = writeln!(out, "| {ETCD_WRITE_AIM} | {m} | {} |", verdict(p));
    let (m, p) = etcd_read_aim(r);
    let _ = writeln!(out, "| {ETCD_READ_AIM} | {m} | {} |", verdict(p));
    let (m, p) = failover::aim(r);
    let _ = writeln!(out, "| {} | {m} | {} |", failover::AIM, verdict(p));
}

pub(super) const ETCD_WRITE_AIM: &str =
    "kubeward on etcd creates/s >= 80% of etcd puts/s at 16 and 64 clients";

pub(super) const ETCD_READ_AIM: &str = "GET and LIST on etcd (watch cache) >= 90% of the embedded store";

pub(super) fn etcd_write_aim(r: &[Record]) -> (String, Option<bool>) {
    let mut rows = Vec::new();
    let mut pass = Some(true);
    for c in [16, 64] {
        match (writes_at(r, "kubeward-etcd", c), writes_at(r, "etcd", c)) {
            (Some(k), Some(e)) if e.per_sec > 0.0 => {
                let q = k.per_sec / e.per_sec;
                rows.push(format!("{c} clients: {:.0} vs {:.0} ({:.0}%)", k.per_sec, e.per_sec, q * 100.0));
                pass = pass.map(|p| p && q >= 0.8);
            }
            _ => pass = None,
        }
    }
    if rows.is_empty() {
        return ("-".into(), None);
    }
    (rows.join(", "), pass)
}

pub(super) fn etcd_read_aim(r: &[Record]) -> (String, Option<bool>) {
    let mut worst: Option<(f64, String)> = None;
    for x in requests(r) {
        if let Record::Request { target, object, auth, proto, conc, rps, .. } = x {
            if target != "kubeward-etcd" {
                continue;
            }
            let emb = rps_of(find_request(r, "kubeward-embedded", object, auth, proto, *conc));
            if emb > 0.0 && worst.as_ref().is_none_or(|(w, _)| rps / emb < *w) {
                worst = Some((rps / emb, format!("{object} {auth} {proto} {conc} conns")));
            }
        }
    }
    match worst {
        Some((q, row)) => (format!("worst row: {:.0}% ({row})", q * 100.0), Some(q >= 0.9)),
        None => ("-".into(), None),
    }
}

/// One aim as a table of its own, at the end of its section.
pub(super) fn section_aim(out: &mut String, aim: &str, (m, p): (String, Option<bool>)) {
    let _ = writeln!(out, "| aim | measured | verdict |\n|---|---|---|\n| {aim} | {m} | {} |\n", verdict(p));
}
