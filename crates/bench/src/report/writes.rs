//! The durable-writes section (kubeward's creates next to etcd's puts, and kubeward on etcd)
//! (the admission-policies section is policies.rs).

use super::aims::{etcd_write_aim, section_aim, ETCD_WRITE_AIM};
use super::{ratio, Record};
use crate::stats::Summary;
use std::fmt::Write;

pub(super) fn writes_at<'a>(r: &'a [Record], t: &str, c: u32) -> Option<&'a Summary> {
    r.iter().find_map(|x| match x {
        Record::Writes { target, clients, summary, .. } if target == t && *clients == c => Some(summary),
        _ => None,
    })
}

pub(super) fn writes(out: &mut String, r: &[Record]) {
    let _ = writeln!(out, "## Durable writes\n");
    let size = r.iter().find_map(|x| {
        if let Record::Writes { target, value_bytes, .. } = x {
            (target == "etcd").then_some(*value_bytes)
        } else {
            None
        }
    });
    let _ = writeln!(
        out,
        "Each client owns one HTTP/2 connection and sends one write at a time (`writes`). kubeward: \
         ConfigMap creates, acknowledged after commit. etcd 3.4 (Debian), single member on the same disk: \
         KV.Put over its gRPC API{}. Ratio = kubeward creates/s / etcd puts/s.\n",
        size.map(|s| format!(", values of {s} bytes (the size of one stored ConfigMap)")).unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "| clients | embedded creates/s | p99 ms | etcd puts/s | p99 ms | ratio | kubeward on etcd creates/s | p99 ms | ratio to etcd | server CPU ms per write |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|");
    let mut clients: Vec<u32> = r
        .iter()
        .filter_map(|x| if let Record::Writes { clients, .. } = x { Some(*clients) } else { None })
        .collect();
    clients.sort_unstable();
    clients.dedup();
    let cell = |s: Option<&Summary>| match s {
        Some(s) => (format!("{:.0}", s.per_sec), format!("{:.2}", s.p99_ms)),
        None => ("-".into(), "-".into()),
    };
    let rate = |t: &str, c: u32| writes_at(r, t, c).map_or(0.0, |s| s.per_sec);
    for c in clients {
        let (e, ep) = cell(writes_at(r, "embedded", c));
        let (d, dp) = cell(writes_at(r, "etcd", c));
        let (k, kp) = cell(writes_at(r, "kubeward-etcd", c));
        let q = ratio(rate("embedded", c), rate("etcd", c));
        let qk = ratio(rate("kubeward-etcd", c), rate("etcd", c));
        let cpu = write_cpu(r, c);
        let _ = writeln!(out, "| {c} | {e} | {ep} | {d} | {dp} | {q} | {k} | {kp} | {qk} | {cpu} |");
    }
    let _ = writeln!(
        out,
        "\nServer CPU ms per write: CPU time (user + system) of each server process during the row over the \
         writes acknowledged (on a shared machine, time the host takes from a running thread counts): \
         embedded kubeward; kubeward on etcd + the etcd under it; etcd alone for its puts.\n"
    );
    if writes_at(r, "kubeward-etcd", 64).is_some() {
        section_aim(out, ETCD_WRITE_AIM, etcd_write_aim(r));
    }
}

/// The CPU cell of a writes row: what each server spent per write.
pub(super) fn write_cpu(r: &[Record], c: u32) -> String {
    let of = |t: &str| {
        r.iter().find_map(|x| match x {
            Record::Writes { target, clients, server_cpu_ms, .. } if target == t && *clients == c => {
                Some(server_cpu_ms.clone())
            }
            _ => None,
        })
    };
    let join = |v: Option<Vec<(String, f64)>>| {
        v.filter(|v| !v.is_empty())
            .map(|v| v.iter().map(|(n, ms)| format!("{n} {ms:.3}")).collect::<Vec<_>>().join(" + "))
    };
    let parts: Vec<String> = [("embedded", "embedded"), ("on etcd", "kubeward-etcd"), ("etcd alone", "etcd")]
        .iter()
        .filter_map(|(label, t)| join(of(t)).map(|v| format!("{label}: {v}")))
        .collect();
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join("; ")
    }
}
