//! The request-path section: GET and LIST next to the bare hyper+rustls server, and the same
//! on a kubeward over etcd next to the embedded store.

use super::aims::{etcd_read_aim, section_aim, ETCD_READ_AIM};
use super::{ratio, Record};
use std::fmt::Write;

pub(super) fn requests(r: &[Record]) -> Vec<&Record> {
    r.iter().filter(|x| matches!(x, Record::Request { .. })).collect()
}

pub(super) fn find_request<'a>(
    r: &'a [Record],
    t: &str,
    o: &str,
    a: &str,
    p: &str,
    c: u32,
) -> Option<&'a Record> {
    r.iter().find(|x| {
        matches!(x, Record::Request { target, object, auth, proto, conc, .. }
            if target == t && object == o && auth == a && proto == p && *conc == c)
    })
}

pub(super) fn rps_of(x: Option<&Record>) -> f64 {
    match x {
        Some(Record::Request { rps, .. }) => *rps,
        _ => 0.0,
    }
}

pub(super) fn request(out: &mut String, r: &[Record]) {
    let _ = writeln!(out, "## Request path\n");
    let _ = writeln!(
        out,
        "Authenticated GET of one ConfigMap and LIST of a whole namespace (size in the notes), over TLS, next to a bare \
         hyper+rustls server (`bare-server`) returning the same bytes with the same TLS settings. \
         Ratio = kubeward req/s / bare req/s.\n"
    );
    let _ = writeln!(
        out,
        "| request | auth | proto | conns | kubeward req/s | p50 ms | p99 ms | bare req/s | p50 ms | p99 ms | ratio | tool |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|");
    for x in requests(r) {
        if let Record::Request {
            target, object, auth, proto, conc, rps, p50_ms, p99_ms, errors, tool, ..
        } = x
        {
            if target != "kubeward" {
                continue;
            }
            let bare = find_request(r, "bare", object, auth, proto, *conc);
            let (brps, bp50, bp99) = match bare {
                Some(Record::Request { rps, p50_ms, p99_ms, .. }) => {
                    (format!("{rps:.0}"), format!("{p50_ms:.2}"), format!("{p99_ms:.2}"))
                }
                _ => ("-".into(), "-".into(), "-".into()),
            };
            let err = if *errors > 0 { format!(" ({errors} errors)") } else { String::new() };
            let _ = writeln!(
                out,
                "| {object} | {auth} | {proto} | {conc} | {rps:.0}{err} | {p50_ms:.2} | {p99_ms:.2} | {brps} | {bp50} | {bp99} | {} | {tool} |",
                ratio(*rps, rps_of(bare))
            );
        }
    }
    for x in r {
        if let Record::Missing { section, what, reason } = x {
            if section == "request" {
                let _ = writeln!(out, "| {what} | | | | n/a ({reason}) | | | | | | | |");
            }
        }
    }
    let _ = writeln!(out);
    request_on_etcd(out, r);
}

/// GET and LIST on a kubeward over etcd (its watch cache) next to the embedded store.
pub(super) fn request_on_etcd(out: &mut String, r: &[Record]) {
    let on_etcd: Vec<&Record> = requests(r)
        .into_iter()
        .filter(|x| matches!(x, Record::Request { target, .. } if target == "kubeward-etcd"))
        .collect();
    if on_etcd.is_empty() {
        return;
    }
    let _ = writeln!(out, "### On etcd\n");
    let _ = writeln!(
        out,
        "The same GET and LIST against a kubeward on etcd (single member, same disk; reads from its watch cache, \
         consistent: each waits for a quorum read of etcd's revision, shared by concurrent reads) next to the \
         embedded store's kubeward, rows interleaved. Ratio = on etcd / embedded.\n"
    );
    let _ = writeln!(out, "| request | auth | proto | conns | on etcd req/s | p50 ms | p99 ms | embedded req/s | p50 ms | p99 ms | ratio |");
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|");
    for x in on_etcd {
        if let Record::Request { object, auth, proto, conc, rps, p50_ms, p99_ms, errors, .. } = x {
            let emb = find_request(r, "kubeward-embedded", object, auth, proto, *conc);
            let (erps, ep50, ep99) = match emb {
                Some(Record::Request { rps, p50_ms, p99_ms, .. }) => {
                    (format!("{rps:.0}"), format!("{p50_ms:.2}"), format!("{p99_ms:.2}"))
                }
                _ => ("-".into(), "-".into(), "-".into()),
            };
            let err = if *errors > 0 { format!(" ({errors} errors)") } else { String::new() };
            let _ = writeln!(
                out,
                "| {object} | {auth} | {proto} | {conc} | {rps:.0}{err} | {p50_ms:.2} | {p99_ms:.2} | {erps} | {ep50} | {ep99} | {} |",
                ratio(*rps, rps_of(emb))
            );
        }
    }
    let _ = writeln!(out);
    section_aim(out, ETCD_READ_AIM, etcd_read_aim(r));
}
